//! The JSON the pages read: agents and teams to chat with, runs (filtered
//! by agent, status and protocol), one run with its event log (replayed,
//! then live over SSE), stopping a run, and sessions with their transcript.
//!
//! Everything is the engine's neutral vocabulary (runs, events, messages)
//! as the engine serializes it; nothing here knows a protocol's wire format.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::UiError;
use crate::engine::{
    CancelOutcome, Event, Message, Principal, RunRecord, RunStatus, SessionRecord,
};
use crate::engine::{RunFilter, SessionFilter, SessionSort};
use crate::web::{AppState, sse};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(catalog))
        .routes(routes!(list_runs))
        .routes(routes!(get_run))
        .routes(routes!(run_events))
        .routes(routes!(cancel_run))
        .routes(routes!(list_sessions))
        .routes(routes!(get_session))
}

/// The most runs or sessions one listing returns.
const MAX_LISTED: usize = 500;
const DEFAULT_LISTED: usize = 100;

#[derive(Serialize, ToSchema)]
pub struct Catalog {
    agents: Vec<Runnable>,
    teams: Vec<Runnable>,
    /// The agent or team `POST /agui` runs by default.
    default_agent: Option<String>,
}

/// An agent or a team the playground can chat with.
#[derive(Serialize, ToSchema)]
pub struct Runnable {
    id: String,
    name: String,
    description: Option<String>,
    /// For teams: `route`, `coordinate` or `broadcast`.
    mode: Option<String>,
    /// For teams: the members' ids.
    members: Vec<String>,
}

/// Every agent and team, for the playground's picker.
#[utoipa::path(get, path = "/ui/api/catalog", tag = "ui", operation_id = "ui_catalog",
    responses((status = 200, body = Catalog)))]
async fn catalog(State(state): State<AppState>, principal: Principal) -> Json<Catalog> {
    let engine = &state.engine;
    Json(Catalog {
        agents: engine
            .agents_for(&principal)
            .into_iter()
            .map(|a| Runnable {
                id: a.id.clone(),
                name: a.name.clone().unwrap_or_else(|| a.id.clone()),
                description: a.description.clone(),
                mode: None,
                members: Vec::new(),
            })
            .collect(),
        teams: engine
            .teams_for(&principal)
            .into_iter()
            .map(|t| Runnable {
                id: t.id.clone(),
                name: t.display_name().to_string(),
                description: t.description.clone(),
                mode: Some(t.mode.as_str().to_string()),
                members: t.members.clone(),
            })
            .collect(),
        default_agent: state.config().agui_default_agent().map(str::to_string),
    })
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunsQuery {
    /// Only runs of this agent or team.
    agent_id: Option<String>,
    /// Only runs in this state: pending, running, awaiting, completed,
    /// failed or cancelled.
    #[param(value_type = Option<RunState>, inline)]
    status: Option<String>,
    /// Only runs started through this protocol: agentos, agui, acp,
    /// codegen, a2a, mcp.
    origin: Option<String>,
    /// Only runs of this session.
    session_id: Option<String>,
    /// At most this many (default 100, at most 500), newest first.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    limit: Option<String>,
}

/// The run states `status` takes, for the document (the handler parses
/// the string itself, to answer in this API's error shape).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum RunState {
    Pending,
    Running,
    Awaiting,
    Completed,
    Failed,
    Cancelled,
}

#[derive(Serialize, ToSchema)]
pub struct RunList {
    /// Newest first.
    runs: Vec<RunSummary>,
}

/// What a runs list shows of a run.
#[derive(Serialize, ToSchema)]
pub struct RunSummary {
    run_id: String,
    session_id: String,
    agent_id: String,
    agent_name: String,
    /// Whether `agent_id` is a team.
    team: bool,
    /// The team run this run is a member's part of.
    parent_run_id: Option<String>,
    /// The protocol the run came in by.
    origin: String,
    status: String,
    model: String,
    provider: String,
    /// The person's input text (the first 200 characters).
    title: String,
    /// Unix milliseconds.
    created_at: i64,
    finished_at: Option<i64>,
    duration_ms: Option<u64>,
    time_to_first_token_ms: Option<u64>,
    #[schema(value_type = Object)]
    usage: Value,
}

impl RunSummary {
    fn of(run: &RunRecord) -> Self {
        let mut title = run.input_text();
        if let Some((cut, _)) = title.char_indices().nth(200) {
            title.truncate(cut);
            title.push('…');
        }
        Self {
            run_id: run.run_id.clone(),
            session_id: run.session_id.clone(),
            agent_id: run.agent_id.clone(),
            agent_name: run.agent_name.clone(),
            team: run.team,
            parent_run_id: run.parent_run_id.clone(),
            origin: run.origin.clone(),
            status: run.status.as_str().to_string(),
            model: run.model.clone(),
            provider: run.provider.clone(),
            title,
            created_at: run.created_at,
            finished_at: run.finished_at,
            duration_ms: run.duration_ms,
            time_to_first_token_ms: run.time_to_first_token_ms,
            usage: to_json(&run.usage),
        }
    }
}

/// A query string that does not parse (a filter given twice, say) is a 400
/// in the UI's shape, not axum's plain-text one.
fn bad_query(rejection: QueryRejection) -> UiError {
    UiError::BadRequest(rejection.body_text())
}

fn parse_limit(raw: Option<&str>) -> Result<usize, UiError> {
    match raw {
        None | Some("") => Ok(DEFAULT_LISTED),
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LISTED).contains(n))
            .ok_or_else(|| {
                UiError::BadRequest(format!(
                    "limit must be a number from 1 to {MAX_LISTED}, not '{text}'"
                ))
            }),
    }
}

fn parse_status(raw: &str) -> Result<RunStatus, UiError> {
    [
        RunStatus::Pending,
        RunStatus::Running,
        RunStatus::Awaiting,
        RunStatus::Completed,
        RunStatus::Failed,
        RunStatus::Cancelled,
    ]
    .into_iter()
    .find(|s| s.as_str() == raw)
    .ok_or_else(|| {
        UiError::BadRequest(format!(
            "unknown status '{raw}': use pending, running, awaiting, completed, failed or cancelled"
        ))
    })
}

/// Runs, newest first, filtered.
#[utoipa::path(get, path = "/ui/api/runs", tag = "ui", operation_id = "ui_list_runs", params(RunsQuery),
    responses((status = 200, body = RunList), (status = 400)))]
async fn list_runs(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<Query<RunsQuery>, QueryRejection>,
) -> Result<Json<RunList>, UiError> {
    let Query(query) = query.map_err(bad_query)?;
    let nonempty = |v: Option<String>| v.filter(|s| !s.is_empty());
    let filter = RunFilter {
        session_id: nonempty(query.session_id),
        agent_id: nonempty(query.agent_id),
        statuses: nonempty(query.status)
            .map(|s| parse_status(&s))
            .transpose()?
            .into_iter()
            .collect(),
        origin: nonempty(query.origin),
        newest: Some(parse_limit(query.limit.as_deref())?),
        visible: None,
    };
    let mut runs = state.engine.list_runs(&principal, &filter).await?;
    runs.reverse();
    Ok(Json(RunList {
        runs: runs.iter().map(RunSummary::of).collect(),
    }))
}

/// One run as its page shows it.
#[derive(Serialize, ToSchema)]
pub struct RunDetail {
    #[serde(flatten)]
    summary: RunSummary,
    /// The input the run was given (engine messages).
    #[schema(value_type = Vec<Object>)]
    input: Vec<Message>,
    /// The answer so far (all of it once the run completed).
    content: String,
    reasoning: Option<String>,
    #[schema(value_type = Option<Object>)]
    structured: Option<Value>,
    /// Tool calls the server ran, with their results.
    #[schema(value_type = Vec<Object>)]
    tools: Value,
    /// What a paused run waits for.
    #[schema(value_type = Vec<Object>)]
    pending: Value,
    /// The files the run was given.
    #[schema(value_type = Vec<Object>)]
    files: Value,
    /// Why the run failed: `{kind, message}`.
    #[schema(value_type = Option<Object>)]
    error: Option<Value>,
    /// The sequence number of the last event so far: subscribe after it.
    last_seq: u64,
}

/// One run: status, timings, usage, input and output.
#[utoipa::path(get, path = "/ui/api/runs/{run_id}", tag = "ui", operation_id = "ui_get_run",
    params(("run_id" = String, Path, description = "Run id")),
    responses((status = 200, body = RunDetail), (status = 404)))]
async fn get_run(
    State(state): State<AppState>,
    principal: Principal,
    Path(run_id): Path<String>,
) -> Result<Json<RunDetail>, UiError> {
    let run = state
        .engine
        .get_run(&principal, &run_id)
        .await?
        .ok_or_else(|| UiError::NotFound(format!("run '{run_id}' not found")))?;
    Ok(Json(RunDetail {
        summary: RunSummary::of(&run),
        content: run.content.clone(),
        reasoning: run.reasoning.clone(),
        structured: run.structured.clone(),
        tools: to_json(&run.tools),
        pending: to_json(&run.pending),
        files: to_json(&run.files),
        error: run.error.as_ref().map(to_json),
        last_seq: run.last_seq,
        input: run.input,
    }))
}

/// An engine record as the page gets it (they all serialize; `Null` would
/// only mean a record the engine itself could not store either).
fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Replay the events after this sequence number (default 0: all of
    /// them); a `Last-Event-ID` header, as a reconnecting EventSource sends,
    /// counts too.
    #[param(value_type = Option<u64>, minimum = 0)]
    after: Option<String>,
}

/// The run's events as SSE: each frame's `id` is the event's sequence
/// number and its data the engine event as JSON. The log so far is replayed,
/// then events follow live until the run ends or pauses.
#[utoipa::path(get, path = "/ui/api/runs/{run_id}/events", tag = "ui", operation_id = "ui_run_events",
    params(("run_id" = String, Path, description = "Run id"), EventsQuery),
    responses(
        (status = 200, description = "SSE of the run's events", content_type = "text/event-stream", body = crate::web::schemas::SseEvent),
        (status = 400), (status = 404)))]
async fn run_events(
    State(state): State<AppState>,
    principal: Principal,
    Path(run_id): Path<String>,
    query: Result<Query<EventsQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    let Query(query) = query.map_err(bad_query)?;
    let header = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let after = match query.after.or(header).filter(|s| !s.is_empty()) {
        None => 0,
        Some(raw) => raw.trim().parse::<u64>().map_err(|_| {
            UiError::BadRequest(format!(
                "after must be an event sequence number, not '{raw}'"
            ))
        })?,
    };
    let events = state.engine.subscribe(&principal, &run_id, after).await?;
    Ok(sse::stream(&state, &principal, events, None, EventJson))
}

/// The UI's projection: each engine event as it is, in JSON.
struct EventJson;

impl sse::Projection for EventJson {
    const IDS: sse::EventIds = sse::ids::UI;

    fn apply(&mut self, event: &Event, _end: Option<&RunRecord>, out: &mut Vec<sse::Frame>) {
        out.push(sse::Frame::data(
            serde_json::to_string(event).unwrap_or_default(),
        ));
    }
}

/// Stops a run that is going or paused (its events end with `cancelled`);
/// 409 when it had ended already.
#[utoipa::path(post, path = "/ui/api/runs/{run_id}/cancel", tag = "ui", operation_id = "ui_cancel_run",
    params(("run_id" = String, Path, description = "Run id")),
    responses((status = 202, body = RunSummary), (status = 404), (status = 409)))]
async fn cancel_run(
    State(state): State<AppState>,
    principal: Principal,
    Path(run_id): Path<String>,
) -> Result<Response, UiError> {
    match state.engine.cancel(&principal, &run_id).await? {
        CancelOutcome::Cancelling(run) => {
            Ok((StatusCode::ACCEPTED, Json(RunSummary::of(&run))).into_response())
        }
        CancelOutcome::AlreadyFinished(run) => Err(UiError::Conflict(format!(
            "run '{run_id}' has already ended ({})",
            run.status.as_str()
        ))),
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionsQuery {
    /// Only sessions of this agent or team.
    agent_id: Option<String>,
    /// At most this many (default 100, at most 500), most recently active first.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    limit: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SessionList {
    sessions: Vec<SessionSummary>,
}

#[derive(Serialize, ToSchema)]
pub struct SessionSummary {
    session_id: String,
    agent_id: Option<String>,
    /// The session's name: its first message unless someone renamed it.
    name: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl SessionSummary {
    fn of(s: SessionRecord) -> Self {
        Self {
            session_id: s.session_id,
            agent_id: s.agent_id,
            name: s.name,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// Sessions, most recently active first: the playground's sidebar.
#[utoipa::path(get, path = "/ui/api/sessions", tag = "ui", operation_id = "ui_list_sessions", params(SessionsQuery),
    responses((status = 200, body = SessionList), (status = 400)))]
async fn list_sessions(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<Query<SessionsQuery>, QueryRejection>,
) -> Result<Json<SessionList>, UiError> {
    let Query(query) = query.map_err(bad_query)?;
    let filter = SessionFilter {
        agent_id: query.agent_id.filter(|s| !s.is_empty()),
        sort: SessionSort::UpdatedAt,
        ascending: false,
        limit: Some(parse_limit(query.limit.as_deref())?),
        ..Default::default()
    };
    let sessions = state.engine.sessions(&principal, &filter).await?;
    Ok(Json(SessionList {
        sessions: sessions.into_iter().map(SessionSummary::of).collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct SessionTranscript {
    #[serde(flatten)]
    session: SessionSummary,
    /// Every message of the session's runs, oldest first: what a resumed
    /// chat shows and sends back as its history.
    #[schema(value_type = Vec<Object>)]
    messages: Vec<Message>,
    /// The session's runs (members' runs left out), oldest first.
    runs: Vec<RunSummary>,
}

/// One session with its whole transcript, to resume a chat.
#[utoipa::path(get, path = "/ui/api/sessions/{session_id}", tag = "ui", operation_id = "ui_get_session",
    params(("session_id" = String, Path, description = "Session id")),
    responses((status = 200, body = SessionTranscript), (status = 404)))]
async fn get_session(
    State(state): State<AppState>,
    principal: Principal,
    Path(session_id): Path<String>,
) -> Result<Json<SessionTranscript>, UiError> {
    let session = state
        .engine
        .session(&principal, &session_id)
        .await?
        .ok_or_else(|| UiError::NotFound(format!("session '{session_id}' not found")))?;
    let mut runs = state
        .engine
        .list_runs(
            &principal,
            &RunFilter {
                session_id: Some(session_id),
                ..Default::default()
            },
        )
        .await?;
    runs.retain(|r| r.parent_run_id.is_none());
    Ok(Json(SessionTranscript {
        session: SessionSummary::of(session),
        runs: runs.iter().map(RunSummary::of).collect(),
        messages: runs.into_iter().flat_map(|r| r.messages).collect(),
    }))
}

/// Each recorded log as the UI's frames; `snapshots/` holds the reviewed
/// output.
#[cfg(test)]
mod snapshots {
    use super::*;
    use crate::web::recorded;

    #[test]
    fn recorded_logs_as_ui_frames() {
        for (name, log) in recorded::LOGS {
            let events = recorded::events(log);
            let sent = sse::project(EventJson, &events, |_| None);
            insta::assert_snapshot!(name, recorded::render(&sent));
        }
    }
}
