//! AG-UI adapter (protocol 1.0, docs/specs/agui.md): `POST /agui` and
//! `POST /agui/{agent_id}` run an agent from a `RunAgentInput` and answer with
//! an SSE stream of AG-UI events; `GET /status` is Agno's availability probe.
//!
//! The client owns the transcript and resends it each run, so a run is always
//! a fresh engine run whose history is the client's messages; a frontend tool
//! call ends the run (RUN_FINISHED with the pending call ids) and the next
//! request carries its result. A tool call that needs a person's approval
//! ends the run with an `interrupt` outcome (one interrupt per call, its id
//! the tool call's id); the next request's `resume` entries approve or
//! refuse them and the paused run continues. Handlers only parse, start and
//! translate.
//!
//! Two client lines are served: `@ag-ui/client` 1.0 and the 0.0.x line
//! (0.0.59 is what `@copilotkit/runtime` 1.75 bundles), whose closed
//! RUN_FINISHED schemas refuse `pendingToolCallIds` and the `cancelled`
//! outcome. Which one a stream is for is decided from the request: 1.0
//! clients send `protocolVersion`, 0.0.x clients have no such field; a
//! request without it gets a stream 0.0.x accepts (which is also valid 1.0).
//! `wire::ClientLine` holds the rule; docs/agui.md has the table of events.
//!
//! This module depends on the engine's API and event vocabulary and on
//! `crate::web` for state and the SSE writer; it must never depend on another
//! protocol adapter, and the engine must never depend on it.

pub(crate) mod error;
mod inbound;
mod outbound;
mod wire;

use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::response::{Json, Response};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::{AguiError, ErrorBody, FieldError};
pub use inbound::RunAgentInput;

use crate::engine::{
    EngineError, Principal, ResumeRequest, RunCaller, RunHandle, RunRequest, ToolDecision,
};
use crate::web::{AppState, sse};
use outbound::Translator;
use wire::ClientLine;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(run_default_agent))
        .routes(routes!(run_agent))
        .routes(routes!(status))
}

#[derive(Serialize, ToSchema)]
pub struct Status {
    /// Always `available`.
    status: &'static str,
}

/// Whether the AG-UI interface is up.
#[utoipa::path(get, path = "/status", tag = "agui",
    responses((status = 200, body = Status)))]
async fn status() -> Json<Status> {
    Json(Status {
        status: "available",
    })
}

/// Run the default agent or team (`[agui] default_agent`, else the first agent).
#[utoipa::path(post, path = "/agui", tag = "agui",
    request_body = RunAgentInput,
    responses(
        (status = 200, description = "An SSE stream of AG-UI events", content_type = "text/event-stream", body = String),
        (status = 403, body = ErrorBody, description = "The agent's `allowed_scopes` exclude the caller"),
        (status = 404, body = ErrorBody),
        (status = 422, description = "Invalid body (FastAPI validation shape)", body = ErrorBody)))]
async fn run_default_agent(
    State(state): State<AppState>,
    caller: Option<Extension<RunCaller>>,
    principal: Principal,
    body: Bytes,
) -> Result<Response, AguiError> {
    let agent_id = state
        .config()
        .agui_default_agent()
        .map(str::to_string)
        .ok_or_else(|| AguiError::AgentNotFound("default".into()))?;
    run(&state, &principal, agent_id, caller.map(|c| c.0), body).await
}

/// Run an agent or team by id.
#[utoipa::path(post, path = "/agui/{agent_id}", tag = "agui",
    params(("agent_id" = String, Path, description = "Agent id")),
    request_body = RunAgentInput,
    responses(
        (status = 200, description = "An SSE stream of AG-UI events", content_type = "text/event-stream", body = String),
        (status = 403, body = ErrorBody, description = "The agent's `allowed_scopes` exclude the caller"),
        (status = 404, body = ErrorBody),
        (status = 422, description = "Invalid body (FastAPI validation shape)", body = ErrorBody)))]
async fn run_agent(
    State(state): State<AppState>,
    Path(agent_id): Path<String>,
    caller: Option<Extension<RunCaller>>,
    principal: Principal,
    body: Bytes,
) -> Result<Response, AguiError> {
    run(&state, &principal, agent_id, caller.map(|c| c.0), body).await
}

async fn run(
    state: &AppState,
    who: &Principal,
    agent_id: String,
    caller: Option<RunCaller>,
    body: Bytes,
) -> Result<Response, AguiError> {
    // The body and its parsed input are dropped before the run is started
    // (an async fn's locals live to the end of their scope, and every
    // stream's request waits there while its run is created): only the
    // request and what the stream echoes are kept.
    let (request, translator, line) = {
        // As FastAPI does: the body is validated before anything else.
        let input = inbound::parse(&body)?;
        drop(body);
        if !state.engine.is_runnable(&agent_id) {
            return Err(AguiError::AgentNotFound(agent_id));
        }
        if !input.has_messages() {
            return Err(AguiError::Validation(vec![FieldError {
                kind: "too_short",
                loc: vec!["body".into(), "messages".into()],
                msg: "List should have at least 1 message for the model".into(),
                input: None,
            }]));
        }
        if !input.resume.is_empty() {
            // Boxed: a rarer wait that would otherwise size every run's request.
            return Box::pin(resume(state, who, agent_id, caller, &input)).await;
        }
        let conversation = input.conversation();
        let request = RunRequest {
            agent_id,
            input: conversation.input,
            session_id: Some(input.thread_id.clone()),
            run_id: Some(input.run_id.clone()).filter(|id| !id.is_empty()),
            user_id: input.user_id(),
            history: Some(conversation.history),
            client_tools: input.client_tools(),
            state: input.shared_state(),
            metadata: None,
            origin: "agui".into(),
            caller,
            ..Default::default()
        };
        let line = input.client_line();
        let RunAgentInput {
            thread_id,
            run_id,
            parent_run_id,
            ..
        } = input;
        (
            request,
            Translator::new(thread_id, run_id, parent_run_id),
            line,
        )
    };
    let handle = start(state, who, request).await?;
    Ok(stream(state, who, &handle, translator, line))
}

/// Continues the thread's paused run with the client's answers to its
/// interrupts (approvals of tool calls). The stream is the continued run's,
/// under the client's new run id; the run's transcript is the server's, so
/// of the request's messages only tool results (for frontend tools paused
/// alongside) are read.
async fn resume(
    state: &AppState,
    who: &Principal,
    agent_id: String,
    caller: Option<RunCaller>,
    input: &RunAgentInput,
) -> Result<Response, AguiError> {
    let field = |i: usize, key: &str, msg: String, value: Option<serde_json::Value>| {
        AguiError::Validation(vec![FieldError {
            kind: "value_error",
            loc: vec!["body".into(), "resume".into(), i.into(), key.into()],
            msg,
            input: value,
        }])
    };
    let ids: Vec<String> = input
        .resume
        .iter()
        .map(|r| r.interrupt_id.clone())
        .collect();
    let run = state
        .engine
        .awaiting_run_for_calls(who, &input.thread_id, &ids)
        .await?
        .filter(|r| r.agent_id == agent_id)
        .ok_or_else(|| {
            field(
                0,
                "interruptId",
                format!(
                    "no paused run of thread '{}' waits on interrupt '{}'",
                    input.thread_id, ids[0]
                ),
                Some(json!(ids[0])),
            )
        })?;
    let mut decisions = Vec::new();
    for (i, entry) in input.resume.iter().enumerate() {
        if !run
            .pending
            .iter()
            .any(|p| p.call_id == entry.interrupt_id && p.needs_approval())
        {
            return Err(field(
                i,
                "interruptId",
                format!(
                    "the paused run does not wait on interrupt '{}'",
                    entry.interrupt_id
                ),
                Some(json!(entry.interrupt_id)),
            ));
        }
        let payload = entry.payload.as_ref();
        let approved = match (
            entry.status.as_str(),
            payload.and_then(|p| p.get("approved")),
        ) {
            ("cancelled", _) => false,
            (_, Some(serde_json::Value::Bool(b))) => *b,
            _ => {
                return Err(field(
                    i,
                    "payload",
                    "a resolved tool approval needs a payload like {\"approved\": true} (or false)"
                        .into(),
                    payload.cloned(),
                ));
            }
        };
        decisions.push(ToolDecision {
            call_id: entry.interrupt_id.clone(),
            approved,
            note: payload
                .and_then(|p| p.get("note"))
                .and_then(|n| n.as_str())
                .map(str::to_string),
        });
    }
    // Frontend tool calls paused alongside are answered by the request's
    // tool messages, as in any follow-up run.
    let tool_results = input
        .conversation()
        .input
        .into_iter()
        .filter(|m| m.tool_call_id.is_some())
        .collect();
    let handle = state
        .engine
        .resume(
            who,
            &run.run_id,
            ResumeRequest {
                tool_results,
                decisions,
                message: None,
                caller,
            },
        )
        .await?;
    let translator = Translator::new(
        input.thread_id.clone(),
        input.run_id.clone(),
        input.parent_run_id.clone(),
    );
    Ok(stream(state, who, &handle, translator, input.client_line()))
}

/// Starts the run under the client's run id. AG-UI clients mint a new id per
/// run, but one that retries (or fixes its ids) reuses it: the run then gets
/// a fresh engine id, and the stream still echoes the client's.
async fn start(
    state: &AppState,
    who: &Principal,
    request: RunRequest,
) -> Result<RunHandle, AguiError> {
    match state.engine.start(who, request.clone()).await {
        Err(EngineError::RunExists(client_run_id)) => {
            let retry = RunRequest {
                run_id: None,
                metadata: Some(json!({"agui_run_id": client_run_id})),
                ..request
            };
            Ok(state.engine.start(who, retry).await?)
        }
        other => Ok(other?),
    }
}

/// The run's events as AG-UI frames. The client going away (a closed fetch,
/// `abortRun()`) drops the stream, which cancels the run.
fn stream(
    state: &AppState,
    who: &Principal,
    handle: &RunHandle,
    translator: Translator,
    line: ClientLine,
) -> Response {
    let frames = outbound::Frames { translator, line };
    sse::stream(state, who, handle.events(true), None, frames)
}

/// For the fuzz targets (`crate::fuzzing`): the run endpoint's parsing of
/// a body, and what the engine would be handed from it.
pub(crate) fn parse_for_fuzzing(body: &[u8]) {
    if let Ok(input) = inbound::parse(body) {
        let _ = (input.conversation(), input.client_tools(), input.user_id());
    }
}
