//! The A2A operations, once for every version and binding: send (waiting
//! or not), stream, get, list, cancel and subscribe, in the shared task
//! model (`wire`'s types). The JSON-RPC and HTTP+JSON handlers parse their
//! requests into these calls and render what comes back.
//!
//! Reaches runs and sessions through the engine's API only, never the
//! store; knows nothing of JSON-RPC envelopes, HTTP or 1.0's wire types.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::StreamExt;
use serde_json::Value;

use super::convert;
use super::error::A2aError;
use super::outbound::TaskStream;
use super::wire::{self, TaskState};
use crate::engine::{
    CancelOutcome, EventStream, Message, Principal, ResumeRequest, RunCaller, RunRecord, RunRequest,
};
use crate::web::AppState;

/// How long a cancel waits for the run to stop before answering with the
/// task as it then is (still `working`, cancel under way).
const CANCEL_WAIT: Duration = Duration::from_secs(30);

/// Which endpoint a request came to (one agent's, or the server's: `agent`
/// `None`), and who is asking: the engine shows them only their own tasks.
#[derive(Clone)]
pub struct Scope {
    pub agent: Option<String>,
    pub principal: Principal,
}

impl Scope {
    pub fn agent(id: String, principal: Principal) -> Self {
        Self {
            agent: Some(id),
            principal,
        }
    }

    pub fn server(principal: Principal) -> Self {
        Self {
            agent: None,
            principal,
        }
    }

    /// Whether a task (run) the caller sees is reachable from this endpoint.
    fn sees(&self, record: &RunRecord) -> bool {
        self.agent.as_ref().is_none_or(|id| &record.agent_id == id)
    }

    fn agent_id(&self) -> Option<String> {
        self.agent.clone()
    }
}

/// A task's stream: the task as it is, then its updates as the engine's
/// events come.
pub struct Streamed {
    pub first: wire::Task,
    pub view: TaskStream,
    pub events: EventStream,
    /// Who streams it (the frames read only what they may see).
    pub principal: Principal,
}

/// A run known to this endpoint, or Task Not Found.
async fn find_task(state: &AppState, scope: &Scope, id: &str) -> Result<RunRecord, A2aError> {
    state
        .engine
        .get_run(&scope.principal, id)
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
    if let Some(id) = &scope.agent {
        return Ok(id.clone());
    }
    let named = [p.metadata.as_ref(), p.message.metadata.as_ref()]
        .into_iter()
        .flatten()
        .find_map(|m| m.get("agentId").and_then(Value::as_str));
    if let Some(id) = named {
        return if state.engine.is_runnable_by(&scope.principal, id) {
            Ok(id.to_string())
        } else {
            Err(A2aError::InvalidParams(format!("no agent or team '{id}'")))
        };
    }
    let engine = &state.engine;
    let who = &scope.principal;
    engine
        .agents_for(who)
        .first()
        .map(|a| a.id.clone())
        .or_else(|| engine.teams_for(who).first().map(|t| t.id.clone()))
        .ok_or_else(|| A2aError::InvalidParams("no agent is configured".into()))
}

/// A started or resumed run, and whether it is a resume.
struct Begun {
    handle: crate::engine::RunHandle,
    resumed: bool,
}

/// The JSON string of a state (`input-required`...), for messages.
fn name(state: TaskState) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
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
            .start(
                &scope.principal,
                RunRequest {
                    agent_id,
                    input: vec![input],
                    session_id: p.message.context_id.clone(),
                    metadata: p.metadata.clone(),
                    origin: "a2a".into(),
                    caller: caller.clone(),
                    ..Default::default()
                },
            )
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
                    name(task_state)
                ))
            } else {
                A2aError::Unsupported(format!(
                    "task {task_id} is {}; only an input-required task takes a message",
                    name(task_state)
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
    let decisions = crate::web::approval::decide(&objects, &text, &record.pending);
    let handle = state
        .engine
        .resume(
            &scope.principal,
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

/// Sends a message: waits for the task to finish or pause when `blocking`
/// (the client is then the run's foreground: leaving cancels it), else
/// answers at once with the task in progress.
pub async fn send(
    state: &AppState,
    scope: &Scope,
    caller: Option<RunCaller>,
    p: &wire::MessageSendParams,
    blocking: bool,
    history_length: Option<usize>,
) -> Result<wire::Task, A2aError> {
    let begun = begin(state, scope, caller, p).await?;
    let record = if blocking {
        begun.handle.finish(true).await
    } else {
        begun.handle.record()
    };
    Ok(convert::task(&record, history_length))
}

/// Sends a message and streams its task; the stream's client is the run's
/// foreground (a disconnect cancels it).
pub async fn stream(
    state: &AppState,
    scope: &Scope,
    caller: Option<RunCaller>,
    p: &wire::MessageSendParams,
) -> Result<Streamed, A2aError> {
    let begun = begin(state, scope, caller, p).await?;
    let record = begun.handle.record();
    let mut first = convert::task(&record, None);
    first.status.state = if begun.resumed {
        TaskState::Working
    } else {
        TaskState::Submitted
    };
    first.status.message = None;
    let view = TaskStream::new(
        &record.run_id,
        &record.session_id,
        !record.content.is_empty(),
    );
    Ok(Streamed {
        first,
        view,
        events: begun.handle.events(true),
        principal: scope.principal.clone(),
    })
}

pub async fn get(
    state: &AppState,
    scope: &Scope,
    id: &str,
    history_length: Option<usize>,
) -> Result<wire::Task, A2aError> {
    let record = find_task(state, scope, id).await?;
    Ok(convert::task(&record, history_length))
}

/// Cancels a task and answers with it once it has stopped, as clients
/// expect `canceled`.
pub async fn cancel(state: &AppState, scope: &Scope, id: &str) -> Result<wire::Task, A2aError> {
    find_task(state, scope, id).await?;
    let record = match state.engine.cancel(&scope.principal, id).await? {
        CancelOutcome::Cancelling(record) => record,
        CancelOutcome::AlreadyFinished(record) => {
            return Err(A2aError::TaskNotCancelable(format!(
                "task {id} is {}",
                name(convert::state_of(&record))
            )));
        }
    };
    let mut events = state
        .engine
        .subscribe(&scope.principal, id, record.last_seq)
        .await?;
    let _ = tokio::time::timeout(CANCEL_WAIT, async {
        while events.next().await.is_some() {}
    })
    .await;
    let record = find_task(state, scope, id).await?;
    Ok(convert::task(&record, None))
}

/// Streams a task that has not ended yet, from its state now.
pub async fn subscribe(state: &AppState, scope: &Scope, id: &str) -> Result<Streamed, A2aError> {
    let record = find_task(state, scope, id).await?;
    let first = convert::task(&record, None);
    if first.status.state.is_final() {
        return Err(A2aError::Unsupported(format!(
            "task {id} is {}; there is nothing more to stream",
            name(first.status.state)
        )));
    }
    let events = state
        .engine
        .subscribe(&scope.principal, id, record.last_seq)
        .await?;
    let view = TaskStream::new(
        &record.run_id,
        &record.session_id,
        !record.content.is_empty(),
    );
    Ok(Streamed {
        first,
        view,
        events,
        principal: scope.principal.clone(),
    })
}

/// What a listing asks for.
pub struct ListQuery {
    pub context_id: Option<String>,
    /// `Some(None)`: a state agentd never enters, matching nothing.
    pub state: Option<Option<TaskState>>,
    pub page_size: usize,
    pub page_token: Option<String>,
    pub history_length: Option<usize>,
    /// Unix ms: only tasks whose status changed at or after it.
    pub updated_since: Option<i64>,
}

/// One page of tasks, newest status first.
pub struct TaskPage {
    pub tasks: Vec<wire::Task>,
    /// Empty on the last page.
    pub next_page_token: String,
    pub total_size: usize,
}

/// Where a page ends: the status time and id of its last task, so the next
/// page starts right after it even when newer tasks arrive meanwhile.
fn cursor(record: &RunRecord) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}", record.updated_at, record.run_id))
}

fn parse_cursor(token: &str) -> Result<(i64, String), A2aError> {
    let invalid = || A2aError::InvalidParams(format!("invalid pageToken {token:?}"));
    let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let text = String::from_utf8(raw).map_err(|_| invalid())?;
    let (at, id) = text.split_once(':').ok_or_else(invalid)?;
    Ok((at.parse().map_err(|_| invalid())?, id.to_string()))
}

/// Tasks this endpoint sees, newest status change first, a page at a time.
pub async fn list(state: &AppState, scope: &Scope, q: ListQuery) -> Result<TaskPage, A2aError> {
    let after = q.page_token.as_deref().map(parse_cursor).transpose()?;
    let mut runs = state
        .engine
        .list_runs(
            &scope.principal,
            &crate::engine::RunFilter {
                session_id: q.context_id.clone(),
                agent_id: scope.agent_id(),
                ..Default::default()
            },
        )
        .await?;
    // The state filter goes through the one state mapping (`convert`).
    runs.retain(|r| {
        scope.sees(r)
            && q.updated_since.is_none_or(|t| r.updated_at >= t)
            && q.state.is_none_or(|s| s == Some(convert::state_of(r)))
    });
    runs.sort_by(|a, b| {
        b.updated_at
            .cmp(&a.updated_at)
            .then_with(|| b.run_id.cmp(&a.run_id))
    });
    let total_size = runs.len();
    let start = match &after {
        Some((at, id)) => runs
            .iter()
            .position(|r| (r.updated_at, &r.run_id) < (*at, id))
            .unwrap_or(runs.len()),
        None => 0,
    };
    let page: Vec<&RunRecord> = runs.iter().skip(start).take(q.page_size).collect();
    let next_page_token = match page.last() {
        Some(last) if start + page.len() < runs.len() => cursor(last),
        _ => String::new(),
    };
    Ok(TaskPage {
        tasks: page
            .iter()
            .map(|r| convert::task(r, q.history_length))
            .collect(),
        next_page_token,
        total_size,
    })
}
