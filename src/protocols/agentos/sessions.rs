//! AgentOS session routes (spec §7): list with filters and pages, detail
//! with chat history, a session's runs, create, update, rename and delete.
//!
//! Sessions and runs are the engine's (any protocol may have started them);
//! this module only maps query parameters (parsed in `session_query`) and
//! JSON bodies onto store filters and renders AgentOS shapes. It never
//! reaches into another protocol's adapter.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{AgentOsError, ErrorBody};
use super::session_query::{
    ListSessionsParams, Query, RunStatusName, SESSION_TYPES, SessionParams, SessionRunsParams,
    SessionType, SortBy, SortOrder, one_of,
};
use super::wire;
use crate::engine::{Principal, RunRecord, SessionDeletion, SessionRecord, Usage, now_ms};
use crate::engine::{RunFilter, SessionFilter, SessionSort};
use crate::web::AppState;
use crate::web::time::{self, rfc3339};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sessions, create_session, delete_sessions))
        .routes(routes!(get_session, update_session, delete_session))
        .routes(routes!(session_runs))
        .routes(routes!(session_run))
        .routes(routes!(rename_session))
}

/// A JSON body; an empty body reads as `{}` where every field is optional.
fn json_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, AgentOsError> {
    let text: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(text).map_err(|e| {
        let kind = if e.is_data() {
            "model_attributes_type"
        } else {
            "json_invalid"
        };
        AgentOsError::validation(kind, &["body"], e.to_string(), Value::Null)
    })
}

fn total_usage(runs: &[RunRecord]) -> Usage {
    let mut usage = Usage::default();
    for run in runs {
        usage.add(&run.usage);
    }
    usage
}

fn session_metrics(usage: &Usage) -> Value {
    let mut m = Map::new();
    for (k, v) in [
        ("input_tokens", usage.input_tokens),
        ("output_tokens", usage.output_tokens),
        ("total_tokens", usage.total_tokens),
        ("reasoning_tokens", usage.reasoning_tokens),
    ] {
        if v > 0 {
            m.insert(k.into(), json!(v));
        }
    }
    Value::Object(m)
}

async fn session_runs_of(
    state: &AppState,
    who: &Principal,
    session_id: &str,
) -> Result<Vec<RunRecord>, AgentOsError> {
    Ok(state
        .engine
        .list_runs(
            who,
            &RunFilter {
                session_id: Some(session_id.to_string()),
                ..Default::default()
            },
        )
        .await?)
}

/// A session as `GET /sessions` lists it.
async fn session_summary(
    state: &AppState,
    who: &Principal,
    s: &SessionRecord,
) -> Result<Value, AgentOsError> {
    let usage = total_usage(&session_runs_of(state, who, &s.session_id).await?);
    Ok(json!({
        "session_id": s.session_id,
        "session_name": s.name,
        "session_state": s.state,
        "created_at": rfc3339(s.created_at, time::AGENTOS),
        "updated_at": rfc3339(s.updated_at, time::AGENTOS),
        "session_type": "agent",
        "user_id": s.user_id,
        "agent_id": s.agent_id,
        "session_summary": null,
        "metrics": session_metrics(&usage),
        "total_tokens": usage.total_tokens,
        "metadata": s.metadata,
    }))
}

/// An agent session's detail, with the messages of all its runs.
async fn session_detail(
    state: &AppState,
    who: &Principal,
    s: &SessionRecord,
) -> Result<Value, AgentOsError> {
    let runs = session_runs_of(state, who, &s.session_id).await?;
    let usage = total_usage(&runs);
    let agent_data = s
        .agent_id
        .as_deref()
        .and_then(|id| state.engine.agent(id))
        .map(|agent| {
            let (model, provider) = state
                .engine
                .agent_model(agent)
                .map(|m| (m.name().to_string(), m.provider().to_string()))
                .unwrap_or_default();
            json!({
                "agent_id": agent.id,
                "name": agent.display_name(),
                "model": {"name": agent.model, "model": model, "provider": provider},
            })
        });
    let chat_history: Vec<Value> = runs
        .iter()
        .flat_map(|r| &r.messages)
        .map(wire::message_json)
        .collect();
    Ok(json!({
        "user_id": s.user_id,
        "agent_session_id": s.session_id,
        "session_id": s.session_id,
        "session_name": s.name,
        "session_summary": null,
        "session_state": s.state,
        "agent_id": s.agent_id,
        "total_tokens": usage.total_tokens,
        "agent_data": agent_data,
        "metrics": session_metrics(&usage),
        "metadata": s.metadata,
        "chat_history": chat_history,
        "created_at": rfc3339(s.created_at, time::AGENTOS),
        "updated_at": rfc3339(s.updated_at, time::AGENTOS),
    }))
}

/// The session, if it exists and matches the optional `type` and `user_id`.
async fn find_session(
    state: &AppState,
    who: &Principal,
    session_id: &str,
    params: &SessionParams,
    not_found: impl Fn() -> String,
) -> Result<SessionRecord, AgentOsError> {
    let session = state
        .engine
        .session(who, session_id)
        .await?
        .filter(|_| params.r#type.is_none_or(|k| k == SessionType::Agent))
        .filter(|s| {
            params
                .user_id
                .as_deref()
                .is_none_or(|u| s.user_id.as_deref() == Some(u))
        });
    session.ok_or_else(|| AgentOsError::SessionNotFound(not_found()))
}

/// List sessions, newest first by default, one page at a time.
#[utoipa::path(get, path = "/sessions", tag = "agentos", params(ListSessionsParams),
    responses((status = 200, description = "`{data: [session], meta: {page, limit, total_pages, total_count, search_time_ms}}`", body = Object),
        (status = 422, body = ErrorBody)))]
async fn list_sessions(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<ListSessionsParams>,
) -> Result<Json<Value>, AgentOsError> {
    let started = std::time::Instant::now();
    let limit = query.limit.unwrap_or(20);
    let page = query.page.unwrap_or(1);
    let sort = match query.sort_by {
        Some(SortBy::UpdatedAt) => SessionSort::UpdatedAt,
        Some(SortBy::SessionName) => SessionSort::Name,
        Some(SortBy::SessionId) => SessionSort::Id,
        Some(SortBy::CreatedAt) | None => SessionSort::CreatedAt,
    };
    let ascending = query.sort_order == Some(SortOrder::Asc);
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let offset = usize::try_from(page - 1).unwrap_or(0).saturating_mul(limit);
    let filter = SessionFilter {
        agent_id: query.component_id,
        user_id: query.user_id,
        name_contains: query.session_name.filter(|s| !s.is_empty()),
        sort,
        ascending,
        limit: Some(limit),
        offset,
        visible: None,
    };
    let kind = query.r#type;
    // agentd keeps agent sessions only: other types list nothing.
    let (sessions, total) = if kind.is_none_or(|k| k == SessionType::Agent) {
        (
            state.engine.sessions(&principal, &filter).await?,
            state.engine.count_sessions(&principal, &filter).await?,
        )
    } else {
        (Vec::new(), 0)
    };
    let mut data = Vec::with_capacity(sessions.len());
    for s in &sessions {
        data.push(session_summary(&state, &principal, s).await?);
    }
    let total_pages = total.div_ceil(limit as u64);
    Ok(Json(json!({
        "data": data,
        "meta": {
            "page": page,
            "limit": limit,
            "total_pages": total_pages,
            "total_count": total,
            "search_time_ms": started.elapsed().as_secs_f64() * 1000.0,
        },
    })))
}

/// Get an agent session with its chat history. Unknown sessions are a 404
/// whose body carries both AgentOS's `detail` and ACP's `code`/`message`.
#[utoipa::path(get, path = "/sessions/{session_id}", tag = "agentos",
    params(("session_id" = String, Path), SessionParams),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn get_session(
    State(state): State<AppState>,
    principal: Principal,
    Path(session_id): Path<String>,
    Query(params): Query<SessionParams>,
) -> Result<Json<Value>, AgentOsError> {
    let session = find_session(&state, &principal, &session_id, &params, || {
        format!("Session with id '{session_id}' not found")
    })
    .await?;
    Ok(Json(session_detail(&state, &principal, &session).await?))
}

/// The runs of a session, oldest first.
#[utoipa::path(get, path = "/sessions/{session_id}/runs", tag = "agentos",
    params(("session_id" = String, Path), SessionRunsParams),
    responses((status = 200, body = Vec<Object>), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn session_runs(
    State(state): State<AppState>,
    principal: Principal,
    Path(session_id): Path<String>,
    Query(query): Query<SessionRunsParams>,
) -> Result<Json<Vec<Value>>, AgentOsError> {
    let after = query.created_after.unwrap_or(i64::MIN);
    let before = query.created_before.unwrap_or(i64::MAX);
    let statuses: Vec<&str> = query
        .status
        .unwrap_or_default()
        .into_iter()
        .map(RunStatusName::name)
        .collect();
    let params = SessionParams {
        r#type: query.r#type,
        user_id: query.user_id,
    };
    find_session(&state, &principal, &session_id, &params, || {
        format!("Session with ID {session_id} not found")
    })
    .await?;
    let runs = session_runs_of(&state, &principal, &session_id).await?;
    Ok(Json(
        runs.iter()
            .filter(|r| (after..=before).contains(&r.created_at.div_euclid(1000)))
            .filter(|r| statuses.is_empty() || statuses.contains(&wire::status(r.status)))
            .map(wire::run_schema)
            .collect(),
    ))
}

/// One run of a session.
#[utoipa::path(get, path = "/sessions/{session_id}/runs/{run_id}", tag = "agentos",
    params(("session_id" = String, Path), ("run_id" = String, Path), SessionParams),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn session_run(
    State(state): State<AppState>,
    principal: Principal,
    Path((session_id, run_id)): Path<(String, String)>,
    Query(params): Query<SessionParams>,
) -> Result<Json<Value>, AgentOsError> {
    find_session(&state, &principal, &session_id, &params, || {
        format!("Session with ID {session_id} not found")
    })
    .await?;
    let run = state
        .engine
        .get_run(&principal, &run_id)
        .await?
        .filter(|r| r.session_id == session_id)
        .ok_or_else(|| AgentOsError::NotFound(format!("Run with ID {run_id} not found")))?;
    Ok(Json(wire::run_schema(&run)))
}

/// The body of `POST /sessions`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateSession {
    /// Generated when absent.
    session_id: Option<String>,
    session_name: Option<String>,
    #[schema(value_type = Option<Object>)]
    session_state: Option<Map<String, Value>>,
    #[schema(value_type = Option<Object>)]
    metadata: Option<Map<String, Value>>,
    user_id: Option<String>,
    agent_id: Option<String>,
    team_id: Option<String>,
    workflow_id: Option<String>,
}

/// Create an empty session (runs may then continue it by id).
#[utoipa::path(post, path = "/sessions", tag = "agentos",
    params(SessionParams), request_body = CreateSession,
    responses((status = 201, body = Object), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "`user_id` names another user"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create_session(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<SessionParams>,
    body: Bytes,
) -> Result<Response, AgentOsError> {
    let kind = params.r#type.unwrap_or(SessionType::Agent);
    let req: CreateSession = json_body(&body)?;
    if kind != SessionType::Agent || req.team_id.is_some() || req.workflow_id.is_some() {
        return Err(AgentOsError::BadRequest(
            "agentd keeps agent sessions only; team and workflow sessions cannot be created".into(),
        ));
    }
    if let Some(agent) = &req.agent_id
        && state.engine.agent(agent).is_none()
    {
        return Err(AgentOsError::AgentNotFound);
    }
    let session_id = req
        .session_id
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(crate::engine::new_id);
    let now = now_ms();
    let session = SessionRecord {
        session_id: session_id.clone(),
        agent_id: req.agent_id,
        user_id: req.user_id,
        owner: None,
        name: req.session_name,
        state: req.session_state.map(Value::Object),
        metadata: req.metadata.map(Value::Object),
        created_at: now,
        updated_at: now,
    };
    // Taken (by anyone): the same conflict, whoever holds it.
    if !state.engine.create_session(&principal, &session).await? {
        return Err(AgentOsError::Conflict(format!(
            "Session with ID {session_id} already exists"
        )));
    }
    Ok((
        StatusCode::CREATED,
        Json(session_detail(&state, &principal, &session).await?),
    )
        .into_response())
}

/// The body of `PATCH /sessions/{session_id}`: fields present are replaced.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct UpdateSession {
    session_name: Option<String>,
    #[schema(value_type = Option<Object>)]
    session_state: Option<Map<String, Value>>,
    #[schema(value_type = Option<Object>)]
    metadata: Option<Map<String, Value>>,
    /// Accepted for compatibility; agentd keeps no session summaries.
    #[schema(value_type = Option<Object>)]
    #[allow(dead_code)]
    summary: Option<Value>,
}

/// Update a session's name, state or metadata.
#[utoipa::path(patch, path = "/sessions/{session_id}", tag = "agentos",
    params(("session_id" = String, Path), SessionParams), request_body = UpdateSession,
    responses((status = 200, body = Object), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn update_session(
    State(state): State<AppState>,
    principal: Principal,
    Path(session_id): Path<String>,
    Query(params): Query<SessionParams>,
    body: Bytes,
) -> Result<Json<Value>, AgentOsError> {
    let req: UpdateSession = json_body(&body)?;
    let mut session = find_session(&state, &principal, &session_id, &params, || {
        format!("Session with id '{session_id}' not found")
    })
    .await?;
    if let Some(name) = req.session_name {
        session.name = Some(name);
    }
    if let Some(s) = req.session_state {
        session.state = Some(Value::Object(s));
    }
    if let Some(m) = req.metadata {
        session.metadata = Some(Value::Object(m));
    }
    session.updated_at = now_ms();
    state.engine.save_session(&principal, &session).await?;
    Ok(Json(session_detail(&state, &principal, &session).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RenameSession {
    session_name: String,
}

/// Rename a session.
#[utoipa::path(post, path = "/sessions/{session_id}/rename", tag = "agentos",
    params(("session_id" = String, Path), SessionParams), request_body = RenameSession,
    responses((status = 200, body = Object), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn rename_session(
    State(state): State<AppState>,
    principal: Principal,
    Path(session_id): Path<String>,
    Query(params): Query<SessionParams>,
    body: Bytes,
) -> Result<Json<Value>, AgentOsError> {
    let raw_body: Value = json_body(&body)?;
    if raw_body.get("session_name").is_none_or(Value::is_null) {
        return Err(AgentOsError::missing(&["body", "session_name"]));
    }
    let req: RenameSession = serde_json::from_value(raw_body).map_err(|e| {
        AgentOsError::validation(
            "string_type",
            &["body", "session_name"],
            e.to_string(),
            Value::Null,
        )
    })?;
    let mut session = find_session(&state, &principal, &session_id, &params, || {
        format!("Session with id '{session_id}' not found")
    })
    .await?;
    session.name = Some(req.session_name);
    session.updated_at = now_ms();
    state.engine.save_session(&principal, &session).await?;
    Ok(Json(session_detail(&state, &principal, &session).await?))
}

/// Delete a session with its runs and their events. Deleting an unknown
/// session succeeds (204); a session with a run in progress is a 409.
#[utoipa::path(delete, path = "/sessions/{session_id}", tag = "agentos",
    params(("session_id" = String, Path)),
    responses((status = 204), (status = 409, body = ErrorBody)))]
async fn delete_session(
    State(state): State<AppState>,
    principal: Principal,
    Path(session_id): Path<String>,
) -> Result<StatusCode, AgentOsError> {
    match state.engine.delete_session(&principal, &session_id).await? {
        SessionDeletion::Busy { run_id } => Err(busy(&session_id, &run_id)),
        SessionDeletion::Deleted | SessionDeletion::NotFound => Ok(StatusCode::NO_CONTENT),
    }
}

fn busy(session_id: &str, run_id: &str) -> AgentOsError {
    AgentOsError::Conflict(format!(
        "Session {session_id} has a run in progress ({run_id}); cancel it or wait for it to end"
    ))
}

/// The body of `DELETE /sessions`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct DeleteSessions {
    session_ids: Vec<String>,
    /// One type per id (`agent`), as AgentOS clients send them.
    #[serde(default)]
    session_types: Option<Vec<String>>,
}

/// Delete several sessions with their runs and events.
#[utoipa::path(delete, path = "/sessions", tag = "agentos", request_body = DeleteSessions,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn delete_sessions(
    State(state): State<AppState>,
    principal: Principal,
    body: Bytes,
) -> Result<StatusCode, AgentOsError> {
    let raw: Value = json_body(&body)?;
    if raw.get("session_ids").is_none_or(Value::is_null) {
        return Err(AgentOsError::missing(&["body", "session_ids"]));
    }
    let req: DeleteSessions = serde_json::from_value(raw).map_err(|e| {
        AgentOsError::validation("list_type", &["body"], e.to_string(), Value::Null)
    })?;
    if let Some(types) = &req.session_types {
        if types.len() != req.session_ids.len() {
            return Err(AgentOsError::BadRequest(
                "Session IDs and session types must have the same length".into(),
            ));
        }
        for t in types {
            one_of(t, "session_types", SESSION_TYPES)?;
        }
    }
    for id in &req.session_ids {
        // Refuse the whole batch before deleting anything if one is busy.
        if let Some(run) = session_runs_of(&state, &principal, id)
            .await?
            .into_iter()
            .find(|r| {
                matches!(
                    r.status,
                    crate::engine::RunStatus::Pending | crate::engine::RunStatus::Running
                )
            })
        {
            return Err(busy(id, &run.run_id));
        }
    }
    for id in &req.session_ids {
        if let SessionDeletion::Busy { run_id } =
            state.engine.delete_session(&principal, id).await?
        {
            return Err(busy(id, &run_id));
        }
    }
    Ok(StatusCode::NO_CONTENT)
}
