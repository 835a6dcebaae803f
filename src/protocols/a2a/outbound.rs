//! A2A outbound: engine events folded into a task's stream updates, once
//! for every A2A version, and those rendered in each version's shape.
//!
//! The fold (`TaskStream`): status updates for the task's state changes
//! (the last one `final`), artifact updates for the answer as it is
//! written. Every stream starts with the Task itself. Each version renders
//! the updates in its own wire types (`wire` for 0.3's `kind`-tagged
//! objects, `v1` for 1.0's `StreamResponse` members); both bindings stream
//! them (JSON-RPC wraps each in a response, HTTP+JSON sends it bare)
//! through the SSE writer's projection, `Frames`.
//!
//! Run records become A2A Tasks here too (run id = task id, session id =
//! context id): the run's answer as the `answer` artifact, and what a
//! paused run waits for as an input-required status message.
//!
//! Depends on the wire modules, `ops`' stream handle, the engine's events
//! and records, and the writer's `Projection` only.

use axum::response::Response;
use serde_json::{Map, Value, json};

use super::ops::Streamed;
use super::wire::{
    Artifact, Part, Task, TaskArtifactUpdateEvent, TaskState, TaskStatus, TaskStatusUpdateEvent,
};
use super::{v1, wire};
use crate::engine::{CompletedData, Event, EventKind};
use crate::engine::{Message, PendingCall, Role, RunRecord, RunStatus, new_id};
use crate::web::AppState;
use crate::web::sse::{self, EventIds, Frame, Projection};
use crate::web::time::{self, rfc3339};

/// One update of a task's stream, in the shared model.
pub enum Update {
    Status(TaskStatusUpdateEvent),
    Artifact(TaskArtifactUpdateEvent),
}

/// One task's stream so far: which ids to stamp on events and whether the
/// answer artifact has been started (later chunks append to it).
pub struct TaskStream {
    task_id: String,
    context_id: String,
    answer_started: bool,
}

impl TaskStream {
    /// `answer_started`: the client already holds part of the answer (a
    /// resumed or resubscribed task), so new chunks append.
    pub fn new(task_id: &str, context_id: &str, answer_started: bool) -> Self {
        Self {
            task_id: task_id.to_string(),
            context_id: context_id.to_string(),
            answer_started,
        }
    }

    fn status(&self, state: TaskState, parts: Option<Vec<Part>>) -> Update {
        let message = parts.map(|p| agent_message(&self.task_id, &self.context_id, p));
        Update::Status(TaskStatusUpdateEvent {
            kind: "status-update",
            task_id: self.task_id.clone(),
            context_id: self.context_id.clone(),
            status: TaskStatus {
                state,
                message,
                timestamp: now(),
            },
            is_final: state.is_final(),
        })
    }

    fn artifact(&mut self, artifact: Artifact, append: bool, last_chunk: bool) -> Update {
        self.answer_started = true;
        Update::Artifact(TaskArtifactUpdateEvent {
            kind: "artifact-update",
            task_id: self.task_id.clone(),
            context_id: self.context_id.clone(),
            artifact,
            append,
            last_chunk,
        })
    }

    /// The A2A updates for one engine event.
    pub fn apply(&mut self, event: &Event) -> Vec<Update> {
        match &event.kind {
            EventKind::RunStarted { .. } | EventKind::RunResumed => {
                vec![self.status(TaskState::Working, None)]
            }
            EventKind::TextDelta { delta, .. } if !delta.is_empty() => {
                let append = self.answer_started;
                let chunk = Artifact {
                    artifact_id: ANSWER.into(),
                    name: Some(ANSWER.into()),
                    parts: vec![Part::text(delta.clone())],
                };
                vec![self.artifact(chunk, append, false)]
            }
            EventKind::Completed(d) => {
                let CompletedData {
                    content,
                    structured,
                    ..
                } = &**d;
                let mut out = Vec::new();
                if !content.is_empty() || structured.is_some() {
                    // The whole answer again, replacing the chunks.
                    let whole = answer_artifact(content, structured.as_ref());
                    out.push(self.artifact(whole, false, true));
                }
                out.push(self.status(TaskState::Completed, None));
                out
            }
            EventKind::Awaiting { pending } => {
                vec![self.status(TaskState::InputRequired, Some(pending_parts(pending)))]
            }
            EventKind::Failed { error } => vec![self.status(
                TaskState::Failed,
                Some(vec![Part::text(error.message.clone())]),
            )],
            EventKind::Cancelled { reason, .. } => {
                vec![self.status(TaskState::Canceled, Some(vec![Part::text(reason.clone())]))]
            }
            _ => Vec::new(),
        }
    }
}

impl Update {
    /// The update in 0.3's wire form (`kind`-tagged, `final` on the last).
    pub fn v03(&self) -> serde_json::Value {
        match self {
            Update::Status(e) => json(e),
            Update::Artifact(e) => json(e),
        }
    }
}

pub fn json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

/// One event of a task's stream, before a version renders it.
pub enum Item<'a> {
    Task(&'a wire::Task),
    Update(&'a Update),
}

pub fn v03(item: Item<'_>) -> Value {
    match item {
        Item::Task(t) => json(t),
        Item::Update(u) => u.v03(),
    }
}

pub fn v1(item: Item<'_>) -> Value {
    json(&match item {
        Item::Task(t) => v1::StreamResponse::Task(v1::task(t, true)),
        Item::Update(u) => v1::update(u),
    })
}

/// A task's stream as SSE frames: the task first, then its updates as the
/// engine's events come, each event's data what `data` makes of it (the
/// version's shape, and the binding's envelope).
pub struct Frames<F> {
    first: Option<wire::Task>,
    view: TaskStream,
    data: F,
}

impl<F> Projection for Frames<F>
where
    F: Fn(Item<'_>) -> String + Send + 'static,
{
    const IDS: EventIds = sse::ids::A2A;

    fn open(&mut self, out: &mut Vec<Frame>) {
        if let Some(task) = self.first.take() {
            out.push(Frame::data((self.data)(Item::Task(&task))));
        }
    }

    fn apply(&mut self, event: &Event, _end: Option<&RunRecord>, out: &mut Vec<Frame>) {
        for update in self.view.apply(event) {
            out.push(Frame::data((self.data)(Item::Update(&update))));
        }
    }
}

/// A task's stream as an SSE response (see `Frames`).
pub fn sse<F>(state: &AppState, streamed: Streamed, data: F) -> Response
where
    F: Fn(Item<'_>) -> String + Send + 'static,
{
    let Streamed {
        first,
        view,
        events,
        principal,
    } = streamed;
    let frames = Frames {
        first: Some(first),
        view,
        data,
    };
    sse::stream(state, &principal, events, None, frames)
}

/// Each recorded log as A2A frames in both versions' shapes (bare, as the
/// HTTP+JSON binding sends them); `snapshots/` holds the reviewed output,
/// the clock's timestamps redacted.
/// The id of the artifact that holds a task's answer.
pub const ANSWER: &str = "answer";

pub fn now() -> String {
    rfc3339(crate::engine::now_ms(), time::A2A)
}

pub fn state_of(record: &RunRecord) -> TaskState {
    match record.status {
        RunStatus::Pending => TaskState::Submitted,
        RunStatus::Running => TaskState::Working,
        RunStatus::Awaiting => TaskState::InputRequired,
        RunStatus::Completed => TaskState::Completed,
        RunStatus::Failed => TaskState::Failed,
        RunStatus::Cancelled => TaskState::Canceled,
    }
}

/// An agent message in a task's status.
pub fn agent_message(task_id: &str, context_id: &str, parts: Vec<Part>) -> wire::Message {
    wire::Message {
        kind: "message".into(),
        message_id: new_id(),
        role: wire::Role::Agent,
        parts,
        context_id: Some(context_id.to_string()),
        task_id: Some(task_id.to_string()),
        reference_task_ids: None,
        metadata: None,
    }
}

/// What a paused run asks: each pending call's question (or a sentence
/// naming the call), plus a data part per call so a program can answer it.
pub fn pending_parts(pending: &[PendingCall]) -> Vec<Part> {
    let mut text = Vec::new();
    let mut parts = Vec::new();
    for p in pending {
        let question = p.arguments.get("question").and_then(Value::as_str);
        text.push(match (question, p.needs_approval()) {
            (Some(q), false) => q.to_string(),
            (_, true) => format!(
                "May I call {} with {}? Answer yes or no.",
                p.name, p.arguments
            ),
            (None, false) => format!("Waiting for the result of {} ({}).", p.name, p.arguments),
        });
        let mut data = Map::new();
        data.insert("toolCallId".into(), json!(p.call_id));
        data.insert("name".into(), json!(p.name));
        data.insert("arguments".into(), p.arguments.clone());
        data.insert(
            "awaiting".into(),
            json!(if p.needs_approval() {
                "approval"
            } else {
                "result"
            }),
        );
        parts.push(Part::Data {
            data,
            metadata: None,
        });
    }
    let mut out = vec![Part::text(text.join("\n"))];
    out.extend(parts);
    out
}

/// A task's status as its record says: with the question of a paused run
/// and the reason of a failed one.
pub fn status_of(record: &RunRecord) -> TaskStatus {
    let state = state_of(record);
    let say = |parts| agent_message(&record.run_id, &record.session_id, parts);
    let message = match state {
        TaskState::InputRequired => Some(say(pending_parts(&record.pending))),
        TaskState::Failed => record
            .error
            .as_ref()
            .map(|e| say(vec![Part::text(e.message.clone())])),
        _ => None,
    };
    TaskStatus {
        state,
        message,
        timestamp: rfc3339(record.updated_at, time::A2A),
    }
}

/// The answer artifact: the text, and the JSON answer of an agent with a
/// response schema as a data part.
pub fn answer_artifact(content: &str, structured: Option<&Value>) -> Artifact {
    let mut parts = vec![Part::text(content)];
    if let Some(Value::Object(data)) = structured {
        parts.push(Part::Data {
            data: data.clone(),
            metadata: None,
        });
    }
    Artifact {
        artifact_id: ANSWER.into(),
        name: Some(ANSWER.into()),
        parts,
    }
}

/// An engine message of the run's input as an A2A history message.
fn history_message(record: &RunRecord, m: &Message) -> wire::Message {
    let mut parts = Vec::new();
    if !m.text.is_empty() {
        parts.push(Part::text(m.text.clone()));
    }
    for a in &m.attachments {
        parts.push(Part::File {
            file: wire::FileContent {
                bytes: a.data.clone(),
                uri: a.url.clone(),
                mime_type: Some(a.mime_type.clone()),
                name: a.name.clone(),
            },
            metadata: None,
        });
    }
    wire::Message {
        kind: "message".into(),
        message_id: m.id.clone(),
        role: if m.role == Role::User {
            wire::Role::User
        } else {
            wire::Role::Agent
        },
        parts,
        context_id: Some(record.session_id.clone()),
        task_id: Some(record.run_id.clone()),
        reference_task_ids: None,
        metadata: None,
    }
}

/// The run as an A2A Task; `history_length` keeps only the last messages.
pub fn task(record: &RunRecord, history_length: Option<usize>) -> Task {
    let mut history: Vec<wire::Message> = record
        .input
        .iter()
        .map(|m| history_message(record, m))
        .collect();
    if let Some(n) = history_length {
        let skip = history.len().saturating_sub(n);
        history.drain(..skip);
    }
    let artifacts = if record.content.is_empty() && record.structured.is_none() {
        Vec::new()
    } else {
        vec![answer_artifact(&record.content, record.structured.as_ref())]
    };
    Task {
        kind: "task",
        id: record.run_id.clone(),
        context_id: record.session_id.clone(),
        status: status_of(record),
        artifacts,
        history,
        metadata: json!({
            "agentId": record.agent_id,
            "origin": record.origin,
        }),
    }
}

#[cfg(test)]
mod snapshots {
    use super::*;
    use crate::web::recorded;

    /// A version's rendering of a stream item.
    type Render = fn(Item<'_>) -> Value;

    #[test]
    fn recorded_logs_as_a2a_frames() {
        for (name, log) in recorded::LOGS {
            let events = recorded::events(log);
            let start = recorded::record(&events[..1]);
            let renders: [(&str, Render); 2] = [("v03", v03), ("v1", v1)];
            for (version, render) in renders {
                let frames = Frames {
                    first: Some(task(&start, None)),
                    view: TaskStream::new(&start.run_id, &start.session_id, false),
                    data: move |item: Item<'_>| render(item).to_string(),
                };
                let sent = sse::project(frames, &events, |_| None);
                let text = recorded::redact(&recorded::render(&sent), "timestamp");
                let text = recorded::redact_new_ids(&text);
                insta::assert_snapshot!(format!("{name}_{version}"), text);
            }
        }
    }
}
