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
//! Depends on the wire modules, `convert`, `ops`' stream handle, the
//! engine's events and the writer's `Projection` only.

use axum::response::Response;
use serde_json::Value;

use super::convert::{self, ANSWER};
use super::ops::Streamed;
use super::wire::{
    Artifact, Part, TaskArtifactUpdateEvent, TaskState, TaskStatus, TaskStatusUpdateEvent,
};
use super::{v1, wire};
use crate::engine::RunRecord;
use crate::engine::{CompletedData, Event, EventKind};
use crate::web::AppState;
use crate::web::sse::{self, EventIds, Frame, Projection};

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
        let message = parts.map(|p| convert::agent_message(&self.task_id, &self.context_id, p));
        Update::Status(TaskStatusUpdateEvent {
            kind: "status-update",
            task_id: self.task_id.clone(),
            context_id: self.context_id.clone(),
            status: TaskStatus {
                state,
                message,
                timestamp: convert::now(),
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
                    let whole = convert::answer_artifact(content, structured.as_ref());
                    out.push(self.artifact(whole, false, true));
                }
                out.push(self.status(TaskState::Completed, None));
                out
            }
            EventKind::Awaiting { pending } => vec![self.status(
                TaskState::InputRequired,
                Some(convert::pending_parts(pending)),
            )],
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
                    first: Some(convert::task(&start, None)),
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
