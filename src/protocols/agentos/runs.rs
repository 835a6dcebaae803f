//! Run handling shared by agent and team routes: the two differ only in
//! which ids they accept, their defaults and the names on the wire.

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::IntoParams;

use super::error::AgentOsError;
use super::inbound::{self as form, Form};
use super::outbound::RunFrames;
use super::wire::{self, BackgroundRun};
use crate::engine::{
    EngineError, EventStream, Message, ResumeRequest, Role, RunCaller, RunHandle, RunRecord,
    RunRequest, ToolDecision,
};
use crate::engine::{Principal, RunFilter};
use crate::web::{AppState, sse};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Agent,
    Team,
}

impl Kind {
    fn exists(self, state: &AppState, id: &str) -> bool {
        match self {
            Kind::Agent => state.engine.agent(id).is_some(),
            Kind::Team => state.engine.team(id).is_some(),
        }
    }

    pub fn check(self, state: &AppState, id: &str) -> Result<(), AgentOsError> {
        if self.exists(state, id) {
            return Ok(());
        }
        Err(match self {
            Kind::Agent => AgentOsError::AgentNotFound,
            Kind::Team => AgentOsError::TeamNotFound,
        })
    }

    /// Agent runs answer JSON unless asked to stream (curl's default is the
    /// friendlier one); team runs stream by default, as the seed says.
    fn stream_default(self) -> bool {
        self == Kind::Team
    }
}

#[derive(Deserialize, IntoParams)]
pub struct SessionQuery {
    /// The session the run belongs to.
    #[param(required = true)]
    session_id: Option<String>,
}

fn require_session(q: &SessionQuery) -> Result<&str, AgentOsError> {
    q.session_id
        .as_deref()
        .ok_or_else(|| AgentOsError::missing(&["query", "session_id"]))
}

/// Who sent a request handed on whole (its body is read here): the auth
/// layer's principal, anonymous if none.
fn principal_of(req: &Request) -> Principal {
    req.extensions()
        .get::<Principal>()
        .cloned()
        .unwrap_or_else(Principal::anonymous)
}

pub async fn create(
    state: &AppState,
    kind: Kind,
    id: &str,
    req: Request,
) -> Result<Response, AgentOsError> {
    let who = principal_of(&req);
    // The form is read and dropped before the run is started: an async
    // fn's locals live to the end of their scope, and every stream's
    // request waits here while its run is created.
    let (request, stream, background) = run_request(state, kind, id, req).await?;
    if background && !stream {
        // Queued for whichever replica claims it (usually this one, at once).
        // Boxed, as the JSON answers below: these rarer waits would otherwise
        // size every stream's request future.
        let record = Box::pin(state.engine.start_background(&who, request)).await?;
        return Ok((
            StatusCode::ACCEPTED,
            Json(BackgroundRun {
                run_id: record.run_id,
                session_id: record.session_id,
                status: "PENDING",
            }),
        )
            .into_response());
    }
    let handle = state.engine.start(&who, request).await?;
    if stream {
        // A background stream outlives its client; a foreground one does not.
        let events = handle.events(!background);
        return Ok(sse_response(
            state,
            &who,
            events,
            handle.record(),
            Some(handle),
        ));
    }
    Box::pin(json_output(state, &who, handle)).await
}

/// The run a create request asks for, with whether to stream it and
/// whether it runs in the background.
async fn run_request(
    state: &AppState,
    kind: Kind,
    id: &str,
    req: Request,
) -> Result<(RunRequest, bool, bool), AgentOsError> {
    let caller = req.extensions().get::<RunCaller>().cloned();
    let form = Form::from_request(req, &state.config().files).await?;
    let message = form.required("message")?;
    let stream = form.bool("stream", kind.stream_default())?;
    let background = form.bool("background", false)?;
    let metadata = form.metadata()?;
    kind.check(state, id)?;
    let mut attachments = form.json_media()?;
    for upload in &form.files {
        attachments.extend(form::classify(upload)?);
    }
    let mut input = Message::user(message);
    input.attachments = attachments;
    let request = RunRequest {
        agent_id: id.to_string(),
        input: vec![input],
        session_id: form.text("session_id"),
        user_id: form.text("user_id"),
        metadata,
        origin: "agentos".into(),
        caller,
        ..Default::default()
    };
    Ok((request, stream, background))
}

/// A foreground run's JSON answer, once it has ended.
async fn json_output(
    state: &AppState,
    who: &Principal,
    handle: RunHandle,
) -> Result<Response, AgentOsError> {
    let record = handle.finish(true).await;
    Ok(Json(output(state, who, &record).await?).into_response())
}

/// The run output document: an agent's RunOutput, or a team's with its
/// members' outputs.
/// A run as AgentOS answers for it. An agent's run is written to the body
/// straight from its typed shape (it went through a `serde_json::Value`
/// tree first: ~40 k instructions of a JSON run's ~1.2 M); the same bytes,
/// as the struct's fields keep their order either way.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Output {
    Agent(Box<wire::RunOutput>),
    Team(Value),
}

async fn output(
    state: &AppState,
    who: &Principal,
    run: &RunRecord,
) -> Result<Output, AgentOsError> {
    if !run.team {
        return Ok(Output::Agent(Box::new(wire::run_output(run))));
    }
    let members: Vec<RunRecord> = state
        .engine
        .list_runs(
            who,
            &RunFilter {
                session_id: Some(run.session_id.clone()),
                ..Default::default()
            },
        )
        .await?
        .into_iter()
        .filter(|r| r.parent_run_id.as_deref() == Some(&run.run_id))
        .collect();
    Ok(Output::Team(wire::team_run_output(run, &members)))
}

/// A run's events as AgentOS SSE; `live` is the run this request started
/// or resumed (see `sse::stream`).
pub fn sse_response(
    state: &AppState,
    who: &Principal,
    events: EventStream,
    run: RunRecord,
    live: Option<RunHandle>,
) -> Response {
    sse::stream(state, who, events, live, RunFrames::of(&run))
}

/// The run, if it exists and belongs to this agent/team and session.
async fn owned_run(
    state: &AppState,
    who: &Principal,
    id: &str,
    run_id: &str,
    session_id: Option<&str>,
) -> Result<RunRecord, AgentOsError> {
    let not_found = || AgentOsError::NotFound(format!("No runs found for run ID {run_id}"));
    let run = state
        .engine
        .get_run(who, run_id)
        .await?
        .ok_or_else(not_found)?;
    if run.agent_id != id || session_id.is_some_and(|s| s != run.session_id) {
        return Err(not_found());
    }
    Ok(run)
}

pub async fn get(
    state: &AppState,
    who: &Principal,
    kind: Kind,
    id: &str,
    run_id: &str,
    q: &SessionQuery,
) -> Result<Json<Output>, AgentOsError> {
    kind.check(state, id)?;
    let session_id = require_session(q)?;
    let run = owned_run(state, who, id, run_id, Some(session_id)).await?;
    Ok(Json(output(state, who, &run).await?))
}

pub async fn list(
    state: &AppState,
    who: &Principal,
    kind: Kind,
    id: &str,
    q: &SessionQuery,
) -> Result<Json<Vec<Value>>, AgentOsError> {
    kind.check(state, id)?;
    let session_id = require_session(q)?;
    let runs = state
        .engine
        .list_runs(
            who,
            &RunFilter {
                session_id: Some(session_id.to_string()),
                agent_id: Some(id.to_string()),
                ..Default::default()
            },
        )
        .await?;
    Ok(Json(
        runs.iter()
            .filter(|r| r.parent_run_id.is_none())
            .map(|r| {
                let mut v = wire::run_schema(r);
                if r.team
                    && let Value::Object(o) = &mut v
                    && let Some(id) = o.remove("agent_id")
                {
                    o.insert("team_id".into(), id);
                }
                v
            })
            .collect(),
    ))
}

pub async fn cancel(
    state: &AppState,
    who: &Principal,
    kind: Kind,
    id: &str,
    run_id: &str,
) -> Result<Json<Value>, AgentOsError> {
    kind.check(state, id)?;
    match state.engine.cancel(who, run_id).await {
        Ok(_) | Err(EngineError::RunNotFound(_)) => Ok(Json(json!({}))),
        Err(e) => Err(e.into()),
    }
}

pub async fn continue_run(
    state: &AppState,
    kind: Kind,
    id: &str,
    run_id: &str,
    req: Request,
) -> Result<Response, AgentOsError> {
    kind.check(state, id)?;
    let caller = req.extensions().get::<RunCaller>().cloned();
    let who = principal_of(&req);
    let form = Form::from_request(req, &state.config().files).await?;
    let session_id = form
        .text("session_id")
        .ok_or_else(|| AgentOsError::BadRequest("session_id is required for this action".into()))?;
    let stream = form.bool("stream", true)?;
    let tools: Vec<Value> = match form.text("tools") {
        Some(raw) => serde_json::from_str(&raw)
            .map_err(|_| AgentOsError::BadRequest("Invalid JSON in tools field".into()))?,
        None => Vec::new(),
    };
    owned_run(state, &who, id, run_id, Some(&session_id)).await?;
    let (tool_results, decisions) = continued_tools(&tools);
    let message = form
        .text("input")
        .map(|text| Message::new(Role::User, text));
    let handle = state
        .engine
        .resume(
            &who,
            run_id,
            ResumeRequest {
                tool_results,
                decisions,
                message,
                caller,
            },
        )
        .await?;
    if stream {
        let events = handle.events(true);
        return Ok(sse_response(
            state,
            &who,
            events,
            handle.record(),
            Some(handle),
        ));
    }
    let record = handle.finish(true).await;
    Ok(Json(output(state, &who, &record).await?).into_response())
}

/// The `tools` of a continue request, as Agno's clients send them back:
/// a tool that asked for confirmation carries `confirmed` (true or false,
/// with an optional `confirmation_note`); an external tool carries its
/// `result`. Entries with neither are ignored.
fn continued_tools(tools: &[Value]) -> (Vec<Message>, Vec<ToolDecision>) {
    let mut results = Vec::new();
    let mut decisions = Vec::new();
    for t in tools {
        let Some(call_id) = t.get("tool_call_id").and_then(Value::as_str) else {
            continue;
        };
        if let Some(confirmed) = t.get("confirmed").and_then(Value::as_bool) {
            decisions.push(ToolDecision {
                call_id: call_id.to_string(),
                approved: confirmed,
                note: t
                    .get("confirmation_note")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            });
            continue;
        }
        let name = t.get("tool_name").and_then(Value::as_str).unwrap_or("");
        let result = match t.get("result") {
            None | Some(Value::Null) => continue,
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        };
        results.push(Message::tool_result(call_id, name, result, false));
    }
    (results, decisions)
}

pub async fn resume(
    state: &AppState,
    kind: Kind,
    id: &str,
    run_id: &str,
    headers: &HeaderMap,
    req: Request,
) -> Result<Response, AgentOsError> {
    kind.check(state, id)?;
    let who = principal_of(&req);
    let form = Form::from_request(req, &state.config().files).await?;
    let raw = form.text("last_event_index").or_else(|| {
        headers
            .get("last-event-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    });
    let after = match raw {
        None => 0,
        Some(raw) => raw.trim().parse::<u64>().map_err(|_| {
            AgentOsError::validation(
                "int_parsing",
                &["body", "last_event_index"],
                "Input should be a valid integer, unable to parse string as an integer",
                Value::String(raw.clone()),
            )
        })?,
    };
    let run = owned_run(state, &who, id, run_id, form.text("session_id").as_deref()).await?;
    let events = state.engine.subscribe(&who, run_id, after).await?;
    Ok(sse_response(state, &who, events, run, None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RunStatus;

    /// Written straight from its struct, an agent's run is byte for byte
    /// what the `Value` tree it used to go through gave.
    #[test]
    fn a_run_is_written_as_its_value_tree_was() {
        let mut run = RunRecord::pending("run-1", "s-1", "agent", "Agent", 1_700_000_000_000);
        run.status = RunStatus::Completed;
        run.user_id = Some("u \"1\"".into());
        run.content = "An answer\nwith \u{1F600}".into();
        run.reasoning = Some("thought".into());
        run.input = vec![Message::new(Role::User, "hello".to_string())];
        run.messages = vec![
            Message::new(Role::User, "hello".to_string()),
            Message::new(Role::Assistant, run.content.clone()),
        ];
        run.metadata = Some(json!({"k": [1, 2]}));
        run.duration_ms = Some(12);
        let typed =
            serde_json::to_string(&Output::Agent(Box::new(wire::run_output(&run)))).unwrap();
        let tree =
            serde_json::to_string(&serde_json::to_value(wire::run_output(&run)).unwrap()).unwrap();
        assert_eq!(typed, tree);
        assert!(typed.contains("\"content\":\"An answer\\nwith"), "{typed}");
    }
}
