//! ACP (Agent Communication Protocol, acp-sdk 1.0.3) adapter: agent
//! manifests, runs in sync/async/stream mode, await/resume, cancel, event
//! logs, sessions and their history resources (docs/specs/acp.md).
//!
//! The whole API is served under `/acp` (so `Client(base_url=".../acp")`
//! works unmodified); `/ping`, `/runs...` and `/resources/...` are also
//! served at the root, where `/agents` and `/sessions` belong to AgentOS.
//! Handlers stay thin: read the request (`extract`: extractors whose
//! rejections are ACP errors), turn it into engine input (`inbound`:
//! messages, attachments, approvals), call the engine, answer through the
//! one fold of engine events (`outbound`, which also renders history
//! resources). `wire` holds the serde types, `error` every error body.

pub(crate) mod error;
mod extract;
mod inbound;
mod outbound;
mod wire;

use axum::extract::{Extension, OriginalUri, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Json, Response};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub use error::{AcpError, ErrorBody};
use extract::{AcpJson, AcpPath};
use outbound::RunView;
pub use wire::{AgentManifest, Run};

use crate::config::{AgentConfig, TeamConfig};
use crate::engine::RunFilter;
use crate::engine::{
    CancelOutcome, EngineError, EventStream, Message, Principal, ResumeRequest, Role, RunCaller,
    RunHandle, RunRecord, RunRequest,
};
use crate::web::{AppState, sse};

/// Every ACP route under `/acp`, plus the root aliases that clash with no
/// other protocol.
pub fn router() -> OpenApiRouter<AppState> {
    let full = OpenApiRouter::new()
        .routes(routes!(ping))
        .routes(routes!(list_agents))
        .routes(routes!(get_agent))
        .routes(routes!(create_run))
        .routes(routes!(get_run, resume_run))
        .routes(routes!(cancel_run))
        .routes(routes!(run_events))
        .routes(routes!(get_session))
        .routes(routes!(get_resource));
    let root = OpenApiRouter::new()
        .routes(routes!(ping))
        .routes(routes!(create_run))
        .routes(routes!(get_run, resume_run))
        .routes(routes!(cancel_run))
        .routes(routes!(run_events))
        .routes(routes!(get_resource));
    OpenApiRouter::new()
        .nest("/acp", with_acp_errors(full, true, ""))
        // The nested fallback does not see the bare prefix with a slash.
        .route("/acp/", axum::routing::any(error::unknown_path))
        .merge(with_acp_errors(root, false, "_root"))
}

/// Makes wrong methods (and, under the prefix, unknown paths) answer with
/// ACP errors; `op_suffix` keeps operation ids unique across the two mounts.
fn with_acp_errors(
    router: OpenApiRouter<AppState>,
    unknown_paths: bool,
    op_suffix: &str,
) -> OpenApiRouter<AppState> {
    let (router, mut doc) = router.split_for_parts();
    let mut router = router.method_not_allowed_fallback(error::method_not_allowed);
    if unknown_paths {
        router = router.fallback(error::unknown_path);
    }
    if !op_suffix.is_empty() {
        for item in doc.paths.paths.values_mut() {
            for op in [&mut item.get, &mut item.post].into_iter().flatten() {
                if let Some(id) = &mut op.operation_id {
                    id.push_str(op_suffix);
                }
            }
        }
    }
    OpenApiRouter::with_openapi(doc).merge(OpenApiRouter::from(router))
}

/// An ACP agent: a configured agent, or a team (to ACP clients a team is
/// just another agent).
enum Runnable<'a> {
    Agent(&'a AgentConfig),
    Team(&'a TeamConfig),
}

/// The agents and teams the caller may run.
fn runnables<'a>(state: &'a AppState, principal: &Principal) -> impl Iterator<Item = Runnable<'a>> {
    let engine = &state.engine;
    let agents = engine
        .agents_for(principal)
        .into_iter()
        .map(Runnable::Agent);
    agents.chain(engine.teams_for(principal).into_iter().map(Runnable::Team))
}

/// One the caller may run: one it may not is absent for it (404), as from
/// its listing.
fn find_runnable_for<'a>(
    state: &'a AppState,
    principal: &Principal,
    name: &str,
) -> Result<Runnable<'a>, AcpError> {
    find_runnable(state, name).and_then(|r| {
        if state.engine.is_runnable_by(principal, name) {
            Ok(r)
        } else {
            Err(AcpError::NotFound(format!("Agent {name} not found")))
        }
    })
}

fn find_runnable<'a>(state: &'a AppState, name: &str) -> Result<Runnable<'a>, AcpError> {
    let engine = &state.engine;
    if let Some(agent) = engine.agent(name) {
        return Ok(Runnable::Agent(agent));
    }
    engine
        .team(name)
        .map(Runnable::Team)
        .ok_or_else(|| AcpError::NotFound(format!("Agent {name} not found")))
}

fn manifest(state: &AppState, runnable: &Runnable) -> AgentManifest {
    let engine = &state.engine;
    let (id, display_name, description, model_key, tools, members) = match runnable {
        Runnable::Agent(a) => (
            &a.id,
            a.display_name(),
            &a.description,
            &a.model,
            engine.agent_tools(a),
            &[][..],
        ),
        Runnable::Team(t) => (
            &t.id,
            t.display_name(),
            &t.description,
            &t.model,
            Vec::new(),
            &t.members[..],
        ),
    };
    let mut dependencies: Vec<wire::Dependency> = members
        .iter()
        .map(|m| wire::Dependency {
            kind: "agent",
            name: m.clone(),
        })
        .collect();
    dependencies.extend(tools.iter().map(|t| wire::Dependency {
        kind: "tool",
        name: t.name.clone(),
    }));
    if let Some(model) = engine.agent_model_by_key(model_key) {
        dependencies.push(wire::Dependency {
            kind: "model",
            name: model.name().to_string(),
        });
    }
    let ui_tools: Vec<_> = tools
        .iter()
        .map(|t| json!({"name": t.name, "description": t.description}))
        .collect();
    AgentManifest {
        name: id.clone(),
        description: description.clone(),
        metadata: wire::Metadata {
            annotations: Some(json!({"beeai_ui": {
                "ui_type": "chat",
                "display_name": display_name,
                "tools": ui_tools,
            }})),
            framework: Some("agentd".into()),
            dependencies: Some(dependencies),
            ..Default::default()
        },
        input_content_types: vec!["*/*".into()],
        output_content_types: vec!["text/plain".into()],
    }
}

/// Liveness for ACP clients.
#[utoipa::path(get, operation_id = "acp_ping", path = "/ping", tag = "acp", responses((status = 200, body = wire::Ping)))]
async fn ping() -> Json<wire::Ping> {
    Json(wire::Ping {})
}

#[derive(Deserialize)]
struct Page {
    limit: Option<usize>,
    offset: Option<usize>,
}

/// List the agents (and teams) as ACP manifests. `limit` (1-1000) and `offset` page the
/// list when given; without them every agent is listed, as the SDK does.
#[utoipa::path(get, operation_id = "acp_list_agents", path = "/agents", tag = "acp",
    params(("limit" = Option<usize>, Query, minimum = 1, maximum = 1000), ("offset" = Option<usize>, Query)),
    responses((status = 200, body = wire::AgentsList), (status = 422, body = ErrorBody)))]
async fn list_agents(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(query): RawQuery,
) -> Result<Json<wire::AgentsList>, AcpError> {
    let page: Page = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|e| AcpError::InvalidInput(format!("Invalid query: {e}")))?;
    if page.limit.is_some_and(|l| !(1..=1000).contains(&l)) {
        return Err(AcpError::InvalidInput(
            "limit must be between 1 and 1000".into(),
        ));
    }
    let agents = runnables(&state, &principal)
        .skip(page.offset.unwrap_or(0))
        .take(page.limit.unwrap_or(usize::MAX))
        .map(|r| manifest(&state, &r))
        .collect();
    Ok(Json(wire::AgentsList { agents }))
}

/// Get one agent's manifest.
#[utoipa::path(get, operation_id = "acp_get_agent", path = "/agents/{name}", tag = "acp",
    params(("name" = String, Path, description = "Agent name")),
    responses((status = 200, body = AgentManifest), (status = 404, body = ErrorBody)))]
async fn get_agent(
    State(state): State<AppState>,
    principal: Principal,
    AcpPath(name): AcpPath<String>,
) -> Result<Json<AgentManifest>, AcpError> {
    let runnable = find_runnable_for(&state, &principal, &name)?;
    Ok(Json(manifest(&state, &runnable)))
}

/// The run as polling shows it: its record folded from its event log.
async fn current_run(state: &AppState, who: &Principal, run_id: &str) -> Result<Run, AcpError> {
    let record = find_run(state, who, run_id).await?;
    let events = state.engine.event_log(who, run_id).await?;
    Ok(RunView::folded(&record, &events))
}

async fn find_run(state: &AppState, who: &Principal, run_id: &str) -> Result<RunRecord, AcpError> {
    state
        .engine
        .get_run(who, run_id)
        .await?
        .ok_or_else(|| AcpError::NotFound(format!("Run {run_id} not found")))
}

/// Waits for a run to end or pause, folding its events into `view` as they
/// come (the waiting client is the run's foreground: leaving cancels it).
/// The sync answer is then the fold itself: reading the run and its events
/// back from the store afterwards cost three store reads a run.
async fn fold_to_end(handle: &RunHandle, mut view: RunView) -> Run {
    let mut events = handle.events(true);
    while let Some(ev) = events.next().await {
        view.apply(&ev);
    }
    view.settled(&handle.record())
}

/// An SSE stream of ACP events: `view` holds what the client already knows
/// (nothing for a new run, the run so far for a resume).
fn event_stream(state: &AppState, who: &Principal, view: RunView, events: EventStream) -> Response {
    sse::stream(state, who, events, None, outbound::Frames(view))
}

/// Create a run: `sync` answers with the finished (or paused) Run, `async`
/// with 202 at once, `stream` with SSE events. The body may come without a
/// Content-Type (the acp-sdk Client sends none).
#[utoipa::path(post, operation_id = "acp_create_run", path = "/runs", tag = "acp",
    request_body(content = wire::RunCreateRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "sync: the Run; stream: SSE of ACP events",
            content((Run = "application/json"), (crate::web::schemas::SseEvent = "text/event-stream")),
            headers(("Run-ID" = String, description = "The new run's id"))),
        (status = 202, body = Run, description = "async: the run, started in the background",
            headers(("Run-ID" = String, description = "The new run's id"))),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The agent's `allowed_scopes` exclude the caller"),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create_run(
    State(state): State<AppState>,
    caller: Option<Extension<RunCaller>>,
    principal: Principal,
    AcpJson(req): AcpJson<wire::RunCreateRequest>,
) -> Result<Response, AcpError> {
    // The parsed body is dropped before the run is started (an async fn's
    // locals live to the end of their scope, and every stream's request
    // waits there while its run is created): only the request is kept.
    let (request, mode) = {
        let req = req;
        find_runnable(&state, &req.agent_name)?;
        if let (Some(id), Some(session)) = (req.session_id, &req.session)
            && id != session.id
        {
            return Err(AcpError::BadRequest("Session ID mismatch".into()));
        }
        // A session descriptor from the client names the session; history URLs
        // it carries from other servers are not fetched (the engine keeps its own).
        let session_id = req.session_id.or(req.session.as_ref().map(|s| s.id));
        let input = req
            .input
            .iter()
            .enumerate()
            .map(|(i, m)| inbound::input_message(m, i))
            .collect::<Result<Vec<_>, _>>()?;
        if input.is_empty() {
            return Err(AcpError::InvalidInput(
                "input must contain at least one message".into(),
            ));
        }
        let request = RunRequest {
            agent_id: req.agent_name,
            input,
            session_id: session_id.map(|s| s.to_string()),
            origin: "acp".into(),
            caller: caller.map(|c| c.0),
            ..Default::default()
        };
        (request, req.mode)
    };
    if mode == wire::RunMode::Async {
        // Queued for whichever replica claims it (usually this one, at once).
        // Boxed, as the sync wait below: rarer waits that would otherwise
        // size every stream's request future.
        let record = Box::pin(state.engine.start_background(&principal, request)).await?;
        let mut response = (
            StatusCode::ACCEPTED,
            Json(RunView::new(&record).run().clone()),
        )
            .into_response();
        if let Ok(v) = HeaderValue::from_str(&record.run_id) {
            response.headers_mut().insert("run-id", v);
        }
        return Ok(response);
    }
    let handle = state.engine.start(&principal, request).await?;
    let mut response = match mode {
        wire::RunMode::Stream => {
            // The stream's client is the run's foreground: a disconnect cancels it.
            let view = RunView::new(&handle.record());
            event_stream(&state, &principal, view, handle.events(true))
        }
        // (Async runs were queued above.)
        wire::RunMode::Sync | wire::RunMode::Async => {
            let view = RunView::new(&handle.record());
            Json(Box::pin(fold_to_end(&handle, view)).await).into_response()
        }
    };
    if let Ok(v) = HeaderValue::from_str(&handle.run_id) {
        response.headers_mut().insert("run-id", v);
    }
    Ok(response)
}

/// Get a run: status, output so far, await request, error.
#[utoipa::path(get, operation_id = "acp_get_run", path = "/runs/{run_id}", tag = "acp",
    params(("run_id" = String, Path, pattern = r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})$", description = "Run id (UUID)")),
    responses((status = 200, body = Run), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn get_run(
    State(state): State<AppState>,
    principal: Principal,
    AcpPath(run_id): AcpPath<Uuid>,
) -> Result<Json<Run>, AcpError> {
    Ok(Json(
        current_run(&state, &principal, &run_id.to_string()).await?,
    ))
}

/// Resume an awaiting run with the message it asked for; the answer follows
/// `mode` as for create run (without a Run-ID header).
#[utoipa::path(post, operation_id = "acp_resume_run", path = "/runs/{run_id}", tag = "acp",
    params(("run_id" = String, Path, pattern = r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})$", description = "Run id (UUID)")),
    request_body(content = wire::RunResumeRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "sync: the Run; stream: SSE of the new ACP events",
            content((Run = "application/json"), (crate::web::schemas::SseEvent = "text/event-stream"))),
        (status = 202, body = Run),
        (status = 403, body = ErrorBody, description = "The run is not awaiting"),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn resume_run(
    State(state): State<AppState>,
    AcpPath(run_id): AcpPath<Uuid>,
    caller: Option<Extension<RunCaller>>,
    principal: Principal,
    AcpJson(req): AcpJson<wire::RunResumeRequest>,
) -> Result<Response, AcpError> {
    let run_id = run_id.to_string();
    let record = find_run(&state, &principal, &run_id).await?;
    if record.status != crate::engine::RunStatus::Awaiting || record.cancel_requested {
        return Err(AcpError::Forbidden(format!(
            "Run {run_id} has no await request"
        )));
    }
    if req.await_resume.kind != "message" {
        return Err(AcpError::Forbidden(format!(
            "Run {run_id} is expecting resume of type message"
        )));
    }
    // A run awaits the answers to its pending calls (an `ask_user` question,
    // a client-side tool): the resume message's text answers each of them.
    let answer = inbound::input_message(&req.await_resume.message, 0)?;
    let tool_results = record
        .pending
        .iter()
        .filter(|p| !p.needs_approval())
        .map(|p| Message::tool_result(&p.call_id, &p.name, answer.text.clone(), false))
        .collect();
    // Calls waiting for approval are approved or refused by the message.
    let decisions = inbound::decisions(&req.await_resume.message, &record.pending);
    let before = state.engine.event_log(&principal, &run_id).await?;
    let handle = state
        .engine
        .resume(
            &principal,
            &run_id,
            ResumeRequest {
                tool_results,
                decisions,
                message: None,
                caller: caller.map(|c| c.0),
            },
        )
        .await?;
    Ok(match req.mode {
        wire::RunMode::Stream => {
            let mut view = RunView::new(&record);
            for ev in &before {
                view.apply(ev);
            }
            event_stream(&state, &principal, view, handle.events(true))
        }
        wire::RunMode::Sync => {
            let mut view = RunView::new(&record);
            for ev in &before {
                view.apply(ev);
            }
            Json(fold_to_end(&handle, view).await).into_response()
        }
        wire::RunMode::Async => (
            StatusCode::ACCEPTED,
            Json(current_run(&state, &principal, &run_id).await?),
        )
            .into_response(),
    })
}

/// Cancel a run: 202 with the run `cancelling`; it reports `cancelled` once
/// stopped. A run that already ended cannot be cancelled (403).
#[utoipa::path(post, operation_id = "acp_cancel_run", path = "/runs/{run_id}/cancel", tag = "acp",
    params(("run_id" = String, Path, pattern = r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})$", description = "Run id (UUID)")),
    responses((status = 202, body = Run), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn cancel_run(
    State(state): State<AppState>,
    principal: Principal,
    AcpPath(run_id): AcpPath<Uuid>,
) -> Result<Response, AcpError> {
    let run_id = run_id.to_string();
    let record = match state.engine.cancel(&principal, &run_id).await {
        Ok(CancelOutcome::Cancelling(record)) => record,
        Ok(CancelOutcome::AlreadyFinished(record)) => {
            let run = RunView::folded(&record, &state.engine.event_log(&principal, &run_id).await?);
            return Err(AcpError::Forbidden(format!(
                "Run in terminal status {} can't be cancelled",
                run.status.as_str()
            )));
        }
        Err(EngineError::RunNotFound(_)) => {
            return Err(AcpError::NotFound(format!("Run {run_id} not found")));
        }
        Err(e) => return Err(e.into()),
    };
    let mut run = RunView::folded(&record, &state.engine.event_log(&principal, &run_id).await?);
    run.status = wire::RunStatus::Cancelling;
    Ok((StatusCode::ACCEPTED, Json(run)).into_response())
}

/// Every event of the run so far, in order.
#[utoipa::path(get, operation_id = "acp_run_events", path = "/runs/{run_id}/events", tag = "acp",
    params(("run_id" = String, Path, pattern = r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})$", description = "Run id (UUID)")),
    responses((status = 200, body = wire::EventsList), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn run_events(
    State(state): State<AppState>,
    principal: Principal,
    AcpPath(run_id): AcpPath<Uuid>,
) -> Result<Json<wire::EventsList>, AcpError> {
    let run_id = run_id.to_string();
    let record = find_run(&state, &principal, &run_id).await?;
    let mut view = RunView::new(&record);
    let events = state
        .engine
        .event_log(&principal, &run_id)
        .await?
        .iter()
        .flat_map(|ev| view.apply(ev))
        .collect();
    Ok(Json(wire::EventsList { events }))
}

/// The URL prefix this request came through (`http://host/acp` or
/// `http://host`), for absolute resource URLs.
fn base_url(headers: &HeaderMap, original: &Uri, uri: &Uri) -> String {
    let origin = crate::web::base_url::origin_or_localhost(
        headers,
        original.authority().map(|a| a.as_str()),
    );
    let prefix = original.path().strip_suffix(uri.path()).unwrap_or_default();
    format!("{origin}{prefix}")
}

/// A session's history: the input and output messages of its completed
/// runs, oldest first, each with its engine message id.
async fn session_history(
    state: &AppState,
    who: &Principal,
    session_id: &str,
) -> Result<Vec<(Message, String)>, AcpError> {
    let runs = state
        .engine
        .list_runs(
            who,
            &RunFilter {
                session_id: Some(session_id.to_string()),
                ..Default::default()
            },
        )
        .await?;
    Ok(runs
        .into_iter()
        .filter(|r| r.status == crate::engine::RunStatus::Completed)
        .flat_map(|r| {
            let outputs = r
                .messages
                .iter()
                .skip(r.input.len())
                .filter(|m| m.role == Role::Assistant && !m.text.is_empty())
                .cloned()
                .collect::<Vec<_>>();
            let agent = r.agent_id.clone();
            r.input
                .into_iter()
                .chain(outputs)
                .map(move |m| (m, agent.clone()))
        })
        .collect())
}

/// Get a session: its id and the URLs of its history messages.
#[utoipa::path(get, operation_id = "acp_get_session", path = "/sessions/{session_id}", tag = "acp",
    params(("session_id" = String, Path, pattern = r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})$", description = "Session id (UUID)")),
    responses((status = 200, body = wire::Session), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn get_session(
    State(state): State<AppState>,
    principal: Principal,
    AcpPath(session_id): AcpPath<Uuid>,
    headers: HeaderMap,
    OriginalUri(original): OriginalUri,
    uri: Uri,
) -> Result<Json<wire::Session>, AcpError> {
    let id = session_id.to_string();
    if state.engine.session(&principal, &id).await?.is_none() {
        return Err(AcpError::NotFound(format!("Session {id} not found")));
    }
    let base = base_url(&headers, &original, &uri);
    let history = session_history(&state, &principal, &id)
        .await?
        .iter()
        .map(|(m, _)| format!("{base}/resources/{}?session_id={id}", m.id))
        .collect();
    Ok(Json(wire::Session {
        id: session_id,
        history,
        state: None,
    }))
}

#[derive(Deserialize)]
struct ResourceQuery {
    session_id: Option<String>,
}

/// A session-history message as ACP Message JSON. History URLs carry the
/// session (`?session_id=`), whose runs hold the message.
#[utoipa::path(get, operation_id = "acp_get_resource", path = "/resources/{resource_id}", tag = "acp",
    params(("resource_id" = String, Path), ("session_id" = Option<String>, Query, description = "The session the message belongs to")),
    responses((status = 200, body = wire::Message), (status = 404, body = ErrorBody)))]
async fn get_resource(
    State(state): State<AppState>,
    principal: Principal,
    AcpPath(resource_id): AcpPath<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<wire::Message>, AcpError> {
    let not_found = || AcpError::NotFound(format!("Resource {resource_id} not found"));
    let q: ResourceQuery = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|e| AcpError::InvalidInput(format!("Invalid query: {e}")))?;
    let Some(session_id) = q.session_id.filter(|s| !s.is_empty()) else {
        return Err(not_found());
    };
    session_history(&state, &principal, &session_id)
        .await?
        .into_iter()
        .find(|(m, _)| m.id == resource_id)
        .map(|(m, agent)| Json(outbound::resource_message(&m, &agent)))
        .ok_or_else(not_found)
}

/// For the fuzz targets (`crate::fuzzing`): a run-create body parsed as
/// the endpoint parses it, and each input message as the engine's.
pub(crate) fn parse_for_fuzzing(body: &[u8]) {
    if let Ok(req) = serde_json::from_slice::<wire::RunCreateRequest>(body) {
        for (i, m) in req.input.iter().enumerate() {
            let _ = inbound::input_message(m, i);
        }
    }
}
