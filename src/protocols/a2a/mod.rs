//! A2A (Agent2Agent protocol 0.3, JSON-RPC transport) adapter: agent cards
//! at the well-known paths, and `message/send`, `message/stream` (SSE),
//! `tasks/get`, `tasks/cancel` and `tasks/resubscribe`.
//!
//! Each agent and team answers at `POST /a2a/{id}` with its card at
//! `/a2a/{id}/.well-known/agent-card.json` (and the older `agent.json`);
//! the server's own card at `/.well-known/agent-card.json` points at
//! `POST /a2a`, which runs the agent named by `metadata.agentId` (of the
//! params or the message), else the first configured one.
//!
//! A task is an engine run, a context an engine session. A paused run is an
//! `input-required` task; a message carrying its taskId resumes it. Handlers
//! stay thin: `rpc` checks the JSON-RPC envelope, `convert` maps messages
//! and tasks, `stream` maps events, `error` owns every error body.

mod convert;
mod error;
mod stream;
pub mod wire;

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::HeaderMap;
use axum::http::header::HOST;
use axum::response::{IntoResponse, Json, Response};
use futures::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::A2aError;
use stream::TaskStream;
use wire::{AgentCard, JsonRpcRequest, JsonRpcResponse, TaskState};

use crate::engine::{
    CancelOutcome, EventStream, Message, ResumeRequest, RunCaller, RunRecord, RunRequest,
};
use crate::http::{AppState, sse};

/// How long `tasks/cancel` waits for the run to stop before answering with
/// the task as it then is (still `working`, cancel under way).
const CANCEL_WAIT: Duration = Duration::from_secs(30);

pub fn router() -> OpenApiRouter<AppState> {
    let (router, doc) = OpenApiRouter::new()
        .routes(routes!(server_card))
        .routes(routes!(server_card_legacy))
        .routes(routes!(agent_card))
        .routes(routes!(agent_card_legacy))
        .routes(routes!(server_rpc))
        .routes(routes!(agent_rpc))
        .split_for_parts();
    let router = router.method_not_allowed_fallback(error::method_not_allowed);
    OpenApiRouter::with_openapi(doc).merge(OpenApiRouter::from(router))
}

/// Which endpoint a request came to: one agent's, or the server's.
#[derive(Clone)]
enum Scope {
    Agent(String),
    Server,
}

impl Scope {
    /// Whether a task (run) is reachable from this endpoint.
    fn sees(&self, record: &RunRecord) -> bool {
        match self {
            Scope::Agent(id) => &record.agent_id == id,
            Scope::Server => true,
        }
    }
}

/// `http(s)://host` as the client reached us, for the card's absolute URLs.
fn origin(headers: &HeaderMap) -> String {
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    };
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    format!("{scheme}://{host}")
}

fn card_base(state: &AppState, name: String, description: String, url: String) -> AgentCard {
    let secured = state.config().auth.keys().next().is_some();
    AgentCard {
        protocol_version: wire::PROTOCOL_VERSION,
        name,
        description,
        url,
        preferred_transport: "JSONRPC",
        version: env!("CARGO_PKG_VERSION"),
        provider: wire::AgentProvider {
            organization: "agentd".into(),
            url: "https://github.com/agentd".into(),
        },
        capabilities: wire::AgentCapabilities {
            streaming: true,
            push_notifications: false,
            state_transition_history: false,
        },
        default_input_modes: vec!["text/plain".into(), "application/json".into(), "*/*".into()],
        default_output_modes: vec!["text/plain".into(), "application/json".into()],
        skills: Vec::new(),
        security_schemes: secured.then(|| json!({"bearer": {"type": "http", "scheme": "bearer"}})),
        security: secured.then(|| vec![json!({"bearer": []})]),
    }
}

/// Every agent and team as a skill: (id, name, description, tag).
fn skills(state: &AppState) -> Vec<wire::AgentSkill> {
    let engine = &state.engine;
    let agents = engine
        .agents()
        .iter()
        .map(|a| skill(&a.id, a.display_name(), a.description.as_deref(), "agent"));
    let teams = engine
        .teams()
        .iter()
        .map(|t| skill(&t.id, t.display_name(), t.description.as_deref(), "team"));
    agents.chain(teams).collect()
}

fn skill(id: &str, name: &str, description: Option<&str>, tag: &str) -> wire::AgentSkill {
    wire::AgentSkill {
        id: id.to_string(),
        name: name.to_string(),
        description: description.unwrap_or(name).to_string(),
        tags: vec![tag.to_string()],
    }
}

fn server_card_of(state: &AppState, headers: &HeaderMap) -> AgentCard {
    let mut card = card_base(
        state,
        "agentd".into(),
        "agentd's agents and teams. Name one with metadata.agentId, or use its own \
         card at /a2a/{id}/.well-known/agent-card.json; the first agent answers otherwise."
            .into(),
        format!("{}/a2a", origin(headers)),
    );
    card.skills = skills(state);
    card
}

/// The server's agent card: every agent and team as a skill.
#[utoipa::path(get, operation_id = "a2a_server_card", path = "/.well-known/agent-card.json",
    tag = "a2a", responses((status = 200, body = AgentCard)))]
async fn server_card(State(state): State<AppState>, headers: HeaderMap) -> Json<AgentCard> {
    Json(server_card_of(&state, &headers))
}

/// The server's agent card at the path of A2A before 0.3.
#[utoipa::path(get, operation_id = "a2a_server_card_legacy", path = "/.well-known/agent.json",
    tag = "a2a", responses((status = 200, body = AgentCard)))]
async fn server_card_legacy(State(state): State<AppState>, headers: HeaderMap) -> Json<AgentCard> {
    Json(server_card_of(&state, &headers))
}

fn agent_card_of(state: &AppState, headers: &HeaderMap, id: &str) -> Result<AgentCard, A2aError> {
    let engine = &state.engine;
    let (name, description, tag) = if let Some(a) = engine.agent(id) {
        (a.display_name(), a.description.as_deref(), "agent")
    } else if let Some(t) = engine.team(id) {
        (t.display_name(), t.description.as_deref(), "team")
    } else {
        return Err(A2aError::AgentNotFound(id.to_string()));
    };
    let mut card = card_base(
        state,
        name.to_string(),
        description.unwrap_or(name).to_string(),
        format!("{}/a2a/{id}", origin(headers)),
    );
    card.skills = vec![skill(id, name, description, tag)];
    Ok(card)
}

/// One agent's (or team's) card; its JSON-RPC endpoint is `/a2a/{agent_id}`.
#[utoipa::path(get, operation_id = "a2a_agent_card",
    path = "/a2a/{agent_id}/.well-known/agent-card.json", tag = "a2a",
    params(("agent_id" = String, Path, description = "Agent or team id")),
    responses((status = 200, body = AgentCard),
        (status = 404, body = wire::JsonRpcResponse, description = "No such agent")))]
async fn agent_card(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(agent_id): Path<String>,
) -> Result<Json<AgentCard>, A2aError> {
    agent_card_of(&state, &headers, &agent_id).map(Json)
}

/// One agent's card at the path of A2A before 0.3.
#[utoipa::path(get, operation_id = "a2a_agent_card_legacy",
    path = "/a2a/{agent_id}/.well-known/agent.json", tag = "a2a",
    params(("agent_id" = String, Path, description = "Agent or team id")),
    responses((status = 200, body = AgentCard),
        (status = 404, body = wire::JsonRpcResponse, description = "No such agent")))]
async fn agent_card_legacy(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(agent_id): Path<String>,
) -> Result<Json<AgentCard>, A2aError> {
    agent_card_of(&state, &headers, &agent_id).map(Json)
}

/// JSON-RPC for the server's card: runs the agent named by
/// `metadata.agentId`, else the first configured one.
#[utoipa::path(post, operation_id = "a2a_server_rpc", path = "/a2a", tag = "a2a",
    request_body(content = JsonRpcRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "A JSON-RPC response (result or error); for message/stream \
            and tasks/resubscribe an SSE stream of JSON-RPC responses",
            content((JsonRpcResponse = "application/json"), (JsonRpcResponse = "text/event-stream"))),
        (status = 429, body = JsonRpcResponse), (status = 503, body = JsonRpcResponse)))]
async fn server_rpc(
    State(state): State<AppState>,
    caller: Option<Extension<RunCaller>>,
    body: Bytes,
) -> Response {
    rpc(state, Scope::Server, caller.map(|c| c.0), body).await
}

/// JSON-RPC for one agent or team: `message/send`, `message/stream`,
/// `tasks/get`, `tasks/cancel`, `tasks/resubscribe`.
#[utoipa::path(post, operation_id = "a2a_agent_rpc", path = "/a2a/{agent_id}", tag = "a2a",
    params(("agent_id" = String, Path, description = "Agent or team id")),
    request_body(content = JsonRpcRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "A JSON-RPC response (result or error); for message/stream \
            and tasks/resubscribe an SSE stream of JSON-RPC responses",
            content((JsonRpcResponse = "application/json"), (JsonRpcResponse = "text/event-stream"))),
        (status = 404, body = JsonRpcResponse, description = "No such agent"),
        (status = 429, body = JsonRpcResponse), (status = 503, body = JsonRpcResponse)))]
async fn agent_rpc(
    State(state): State<AppState>,
    Path(agent_id): Path<String>,
    caller: Option<Extension<RunCaller>>,
    body: Bytes,
) -> Response {
    if !state.engine.is_runnable(&agent_id) {
        return A2aError::AgentNotFound(agent_id).respond(Value::Null);
    }
    rpc(state, Scope::Agent(agent_id), caller.map(|c| c.0), body).await
}

/// A checked JSON-RPC request.
struct Call {
    id: Value,
    method: String,
    params: Value,
}

/// The envelope checks of JSON-RPC 2.0: the id to answer with, or the
/// error (with whatever id could be read).
fn parse(body: &[u8]) -> Result<Call, (A2aError, Value)> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| (A2aError::Parse(e.to_string()), Value::Null))?;
    let req: JsonRpcRequest = serde_json::from_value(value.clone()).map_err(|_| {
        (
            A2aError::InvalidRequest("the request must be a JSON-RPC 2.0 object".into()),
            Value::Null,
        )
    })?;
    let id = match req.id {
        None => Value::Null,
        Some(id @ (Value::String(_) | Value::Number(_) | Value::Null)) => id,
        Some(_) => {
            return Err((
                A2aError::InvalidRequest("id must be a string, a number or null".into()),
                Value::Null,
            ));
        }
    };
    if req.jsonrpc.as_deref() != Some("2.0") {
        return Err((
            A2aError::InvalidRequest("jsonrpc must be \"2.0\"".into()),
            id,
        ));
    }
    let Some(method) = req.method.filter(|m| !m.is_empty()) else {
        return Err((A2aError::InvalidRequest("method is required".into()), id));
    };
    Ok(Call {
        id,
        method,
        params: req.params.unwrap_or(Value::Null),
    })
}

fn params<T: DeserializeOwned>(params: Value) -> Result<T, A2aError> {
    serde_json::from_value(params).map_err(|e| A2aError::InvalidParams(e.to_string()))
}

fn ok(id: Value, result: Value) -> Response {
    Json(JsonRpcResponse {
        jsonrpc: "2.0",
        id,
        result: Some(result),
        error: None,
    })
    .into_response()
}

/// `caller` is who asked (set by the callers layer), for per-caller run limits.
async fn rpc(state: AppState, scope: Scope, caller: Option<RunCaller>, body: Bytes) -> Response {
    let call = match parse(&body) {
        Ok(call) => call,
        Err((e, id)) => return e.respond(id),
    };
    let id = call.id.clone();
    let answer = match call.method.as_str() {
        "message/send" => send(&state, &scope, caller, call.params)
            .await
            .map(|r| ok(id.clone(), r)),
        "message/stream" => send_stream(&state, &scope, caller, call.params, id.clone()).await,
        "tasks/get" => get_task(&state, &scope, call.params)
            .await
            .map(|r| ok(id.clone(), r)),
        "tasks/cancel" => cancel_task(&state, &scope, call.params)
            .await
            .map(|r| ok(id.clone(), r)),
        "tasks/resubscribe" => resubscribe(&state, &scope, call.params, id.clone()).await,
        m if m.starts_with("tasks/pushNotificationConfig/") => Err(A2aError::PushNotSupported),
        "agent/getAuthenticatedExtendedCard" => Err(A2aError::Unsupported(
            "this agent has no authenticated extended card".into(),
        )),
        other => Err(A2aError::MethodNotFound(other.to_string())),
    };
    answer.unwrap_or_else(|e| e.respond(id))
}

/// A run known to this endpoint, or Task Not Found.
async fn find_task(state: &AppState, scope: &Scope, id: &str) -> Result<RunRecord, A2aError> {
    state
        .engine
        .get_run(id)
        .await?
        .filter(|r| scope.sees(r))
        .ok_or_else(|| A2aError::TaskNotFound(id.to_string()))
}

/// The agent a server-level message goes to.
fn target(
    state: &AppState,
    scope: &Scope,
    p: &wire::MessageSendParams,
) -> Result<String, A2aError> {
    if let Scope::Agent(id) = scope {
        return Ok(id.clone());
    }
    let named = [p.metadata.as_ref(), p.message.metadata.as_ref()]
        .into_iter()
        .flatten()
        .find_map(|m| m.get("agentId").and_then(Value::as_str));
    if let Some(id) = named {
        return if state.engine.is_runnable(id) {
            Ok(id.to_string())
        } else {
            Err(A2aError::InvalidParams(format!("no agent or team '{id}'")))
        };
    }
    let engine = &state.engine;
    engine
        .agents()
        .first()
        .map(|a| a.id.clone())
        .or_else(|| engine.teams().first().map(|t| t.id.clone()))
        .ok_or_else(|| A2aError::InvalidParams("no agent is configured".into()))
}

/// A started or resumed run, and whether it is a resume.
struct Begun {
    handle: crate::engine::RunHandle,
    resumed: bool,
}

/// Starts a run for a new message, or resumes the input-required task the
/// message names.
async fn begin(
    state: &AppState,
    scope: &Scope,
    caller: Option<RunCaller>,
    p: &wire::MessageSendParams,
) -> Result<Begun, A2aError> {
    let input = convert::input_message(&p.message)?;
    let Some(task_id) = p.message.task_id.as_deref() else {
        let agent_id = target(state, scope, p)?;
        let handle = state
            .engine
            .start(RunRequest {
                agent_id,
                input: vec![input],
                session_id: p.message.context_id.clone(),
                metadata: p.metadata.clone(),
                origin: "a2a".into(),
                caller: caller.clone(),
                ..Default::default()
            })
            .await?;
        return Ok(Begun {
            handle,
            resumed: false,
        });
    };
    let record = find_task(state, scope, task_id).await?;
    if p.message
        .context_id
        .as_deref()
        .is_some_and(|c| c != record.session_id)
    {
        return Err(A2aError::InvalidParams(format!(
            "task {task_id} belongs to context {}",
            record.session_id
        )));
    }
    let task_state = convert::state_of(&record);
    if task_state != TaskState::InputRequired || record.cancel_requested {
        return Err(
            if task_state.is_final() && task_state != TaskState::InputRequired {
                A2aError::InvalidParams(format!(
                    "Task {task_id} is in terminal state: {}",
                    json(&task_state)
                ))
            } else {
                A2aError::Unsupported(format!(
                    "task {task_id} is {}; only an input-required task takes a message",
                    json(&task_state)
                ))
            },
        );
    }
    // The message answers every call the run waits for: its text is the
    // result of each question or client tool, and it approves or refuses
    // the calls that wait for approval.
    let tool_results = record
        .pending
        .iter()
        .filter(|c| !c.needs_approval())
        .map(|c| Message::tool_result(&c.call_id, &c.name, input.text.clone(), false))
        .collect();
    let (objects, text) = convert::answer_parts(&p.message);
    let decisions = super::approval::decide(&objects, &text, &record.pending);
    let handle = state
        .engine
        .resume(
            task_id,
            ResumeRequest {
                tool_results,
                decisions,
                message: None,
                caller,
            },
        )
        .await?;
    Ok(Begun {
        handle,
        resumed: true,
    })
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

async fn send(
    state: &AppState,
    scope: &Scope,
    caller: Option<RunCaller>,
    raw: Value,
) -> Result<Value, A2aError> {
    let p: wire::MessageSendParams = params(raw)?;
    let config = p.configuration.as_ref();
    let blocking = config.and_then(|c| c.blocking).unwrap_or(true);
    let history_length = config.and_then(|c| c.history_length);
    let begun = begin(state, scope, caller, &p).await?;
    let record = if blocking {
        // The waiting client is the run's foreground: leaving cancels it.
        begun.handle.finish(true).await
    } else {
        begun.handle.record()
    };
    Ok(stream::json(&convert::task(&record, history_length)))
}

/// SSE of JSON-RPC responses, each carrying one A2A event.
fn event_response(
    state: &AppState,
    id: Value,
    first: Value,
    mut view: TaskStream,
    mut events: EventStream,
) -> Response {
    let wrap = move |result: Value| sse::Frame {
        id: None,
        event: None,
        data: serde_json::to_string(&JsonRpcResponse {
            jsonrpc: "2.0",
            id: id.clone(),
            result: Some(result),
            error: None,
        })
        .unwrap_or_default(),
    };
    let frames = async_stream::stream! {
        yield wrap(first);
        while let Some(ev) = events.next().await {
            for result in view.apply(&ev) {
                yield wrap(result);
            }
        }
    };
    sse::response(frames, state.config().server.sse_keep_alive_secs)
}

async fn send_stream(
    state: &AppState,
    scope: &Scope,
    caller: Option<RunCaller>,
    raw: Value,
    id: Value,
) -> Result<Response, A2aError> {
    let p: wire::MessageSendParams = params(raw)?;
    let begun = begin(state, scope, caller, &p).await?;
    let record = begun.handle.record();
    let mut task = convert::task(&record, None);
    task.status.state = if begun.resumed {
        TaskState::Working
    } else {
        TaskState::Submitted
    };
    task.status.message = None;
    let view = TaskStream::new(
        &record.run_id,
        &record.session_id,
        !record.content.is_empty(),
    );
    // The stream's client is the run's foreground: a disconnect cancels it.
    let events = begun.handle.events(true);
    Ok(event_response(state, id, stream::json(&task), view, events))
}

async fn get_task(state: &AppState, scope: &Scope, raw: Value) -> Result<Value, A2aError> {
    let p: wire::TaskQueryParams = params(raw)?;
    let record = find_task(state, scope, &p.id).await?;
    Ok(stream::json(&convert::task(&record, p.history_length)))
}

async fn cancel_task(state: &AppState, scope: &Scope, raw: Value) -> Result<Value, A2aError> {
    let p: wire::TaskIdParams = params(raw)?;
    find_task(state, scope, &p.id).await?;
    let record = match state.engine.cancel(&p.id).await? {
        CancelOutcome::Cancelling(record) => record,
        CancelOutcome::AlreadyFinished(record) => {
            return Err(A2aError::TaskNotCancelable(format!(
                "task {} is {}",
                p.id,
                json(&convert::state_of(&record))
            )));
        }
    };
    // Answer with the task once it has stopped, as clients expect `canceled`.
    let mut events = state.engine.subscribe(&p.id, record.last_seq).await?;
    let _ = tokio::time::timeout(CANCEL_WAIT, async {
        while events.next().await.is_some() {}
    })
    .await;
    let record = find_task(state, scope, &p.id).await?;
    Ok(stream::json(&convert::task(&record, None)))
}

async fn resubscribe(
    state: &AppState,
    scope: &Scope,
    raw: Value,
    id: Value,
) -> Result<Response, A2aError> {
    let p: wire::TaskIdParams = params(raw)?;
    let record = find_task(state, scope, &p.id).await?;
    let task = convert::task(&record, None);
    if task.status.state.is_final() {
        return Err(A2aError::Unsupported(format!(
            "task {} is {}; there is nothing more to stream",
            p.id,
            json(&task.status.state)
        )));
    }
    let events = state.engine.subscribe(&p.id, record.last_seq).await?;
    let view = TaskStream::new(
        &record.run_id,
        &record.session_id,
        !record.content.is_empty(),
    );
    Ok(event_response(state, id, stream::json(&task), view, events))
}

/// For the fuzz targets (`crate::fuzzing`): the endpoint's envelope checks
/// of a body, then, for a message method, its params as the engine's input.
pub(crate) fn parse_for_fuzzing(body: &[u8]) {
    let Ok(call) = parse(body) else {
        return;
    };
    if matches!(call.method.as_str(), "message/send" | "message/stream")
        && let Ok(p) = params::<wire::MessageSendParams>(call.params)
    {
        let _ = convert::input_message(&p.message);
    }
}
