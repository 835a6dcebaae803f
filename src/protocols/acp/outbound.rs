//! Engine events -> ACP: a run's view folded event by event.
//!
//! One fold serves every ACP answer about a run, so they always agree: the
//! SSE stream (the events `apply` returns), `GET /runs/{id}/events` (all of
//! them), and the Run object of sync answers and polling (the state after
//! the last event). Output messages are the engine's text messages; text
//! deltas become `message.part` events; tool activity, reasoning and team
//! members starting and finishing become `generic` events; a pause becomes `run.awaiting` with an await request.
//! `Frames` is the projection the SSE writer drives with that fold.
//! Session-history resources render engine messages as ACP Messages here
//! too (`resource_message`).

use serde_json::{Value, json};
use uuid::Uuid;

use super::wire::{self, Await, ContentEncoding, ErrorBody, MessagePart, Run, RunStatus};
use crate::engine::{Event, EventKind, MemberRef, Message, PendingCall, Role, RunRecord};
use crate::web::sse::{self, EventIds, Frame, Projection};
use crate::web::time::{self, rfc3339};

/// The SSE stream of a run's view: each ACP event the fold returns, as
/// JSON.
pub struct Frames(pub RunView);

impl Projection for Frames {
    const IDS: EventIds = sse::ids::ACP;

    fn apply(&mut self, event: &Event, _end: Option<&RunRecord>, out: &mut Vec<Frame>) {
        for e in self.0.apply(event) {
            if let Ok(data) = serde_json::to_string(&e) {
                out.push(Frame::data(data));
            }
        }
    }
}

pub struct RunView {
    run: Run,
    role: String,
    /// The engine message id of the output message being streamed.
    open: Option<String>,
}

impl RunView {
    /// The run as it was created: no events applied yet.
    pub fn new(record: &RunRecord) -> Self {
        Self {
            run: Run {
                run_id: record.run_id.clone(),
                agent_name: record.agent_id.clone(),
                // ACP session ids are UUIDs; a session named otherwise by
                // another protocol is not addressable over ACP.
                session_id: Uuid::parse_str(&record.session_id)
                    .ok()
                    .map(|u| u.to_string()),
                status: RunStatus::Created,
                await_request: None,
                output: Vec::new(),
                error: None,
                created_at: rfc3339(record.created_at, time::ACP),
                finished_at: None,
            },
            role: format!("agent/{}", record.agent_id),
            open: None,
        }
    }

    /// The run after all of `events`, as polling shows it. A cancel asked
    /// for but not yet effective shows as `cancelling`.
    pub fn folded(record: &RunRecord, events: &[Event]) -> Run {
        let mut view = Self::new(record);
        for ev in events {
            view.apply(ev);
        }
        view.settled(record)
    }

    /// The Run once every event is in, `record` being the run's record as
    /// it is now.
    pub fn settled(self, record: &RunRecord) -> Run {
        let mut run = self.run;
        if record.cancel_requested && !run.status.is_terminal() {
            run.status = RunStatus::Cancelling;
        }
        run
    }

    pub fn run(&self) -> &Run {
        &self.run
    }

    fn message(&mut self) -> Option<&mut wire::Message> {
        self.open.as_ref()?;
        self.run.output.last_mut()
    }

    /// Folds one engine event in; returns the ACP events it stands for.
    pub fn apply(&mut self, ev: &Event) -> Vec<wire::Event> {
        let at = rfc3339(ev.at, time::ACP);
        match &ev.kind {
            EventKind::RunStarted { .. } => {
                let created = wire::Event::RunCreated {
                    run: self.run.clone(),
                };
                self.run.status = RunStatus::InProgress;
                vec![
                    created,
                    wire::Event::RunInProgress {
                        run: self.run.clone(),
                    },
                ]
            }
            EventKind::RunResumed => {
                self.run.status = RunStatus::InProgress;
                self.run.await_request = None;
                vec![wire::Event::RunInProgress {
                    run: self.run.clone(),
                }]
            }
            EventKind::MessageStarted { message_id } => {
                let message = wire::Message {
                    role: self.role.clone(),
                    parts: Vec::new(),
                    created_at: Some(Value::String(at)),
                    completed_at: None,
                };
                self.run.output.push(message.clone());
                self.open = Some(message_id.clone());
                vec![wire::Event::MessageCreated { message }]
            }
            EventKind::TextDelta { delta, .. } => {
                let Some(message) = self.message() else {
                    return Vec::new();
                };
                // The stored message keeps one growing text part; the event
                // carries the delta as its own part.
                match message.parts.first_mut().and_then(|p| p.content.as_mut()) {
                    Some(text) => text.push_str(delta),
                    None => message.parts.push(MessagePart::text(delta.clone())),
                }
                vec![wire::Event::MessagePart {
                    part: MessagePart::text(delta.clone()),
                }]
            }
            EventKind::MessageCompleted { text, .. } => {
                let Some(message) = self.message() else {
                    return Vec::new();
                };
                message.parts = vec![MessagePart::text(text.clone())];
                message.completed_at = Some(Value::String(at));
                let message = message.clone();
                self.open = None;
                vec![wire::Event::MessageCompleted { message }]
            }
            EventKind::ReasoningCompleted { text, .. } => vec![generic(json!({
                "kind": "reasoning", "message": text,
            }))],
            EventKind::ToolCallEnded(call) if !call.client_side => vec![generic(json!({
                "kind": "tool_call", "tool_call_id": call.call_id,
                "tool_name": call.name, "tool_input": call.arguments,
                "requires_approval": call.needs_approval,
            }))],
            EventKind::ToolCallDecided(decided) => vec![generic(json!({
                "kind": "tool_decision", "tool_call_id": decided.call_id,
                "tool_name": decided.name, "approved": decided.approved, "note": decided.note,
            }))],
            EventKind::ToolResult(done) => vec![generic(json!({
                "kind": "tool_result", "tool_call_id": done.call_id,
                "tool_name": done.name, "tool_output": done.result, "is_error": done.is_error,
            }))],
            EventKind::Awaiting { pending } => {
                self.run.status = RunStatus::Awaiting;
                self.run.await_request = Some(await_request(&self.role, pending, &at));
                vec![wire::Event::RunAwaiting {
                    run: self.run.clone(),
                }]
            }
            EventKind::Completed { .. } => {
                self.finish(RunStatus::Completed, at);
                vec![wire::Event::RunCompleted {
                    run: self.run.clone(),
                }]
            }
            EventKind::Failed { error } => {
                self.run.error = Some(ErrorBody {
                    code: "server_error".into(),
                    message: error.message.clone(),
                    data: Some(json!({"kind": error.kind.as_str()})),
                });
                self.finish(RunStatus::Failed, at);
                vec![wire::Event::RunFailed {
                    run: self.run.clone(),
                }]
            }
            EventKind::Cancelled { .. } => {
                // An interrupted message stays without completed_at.
                self.finish(RunStatus::Cancelled, at);
                vec![wire::Event::RunCancelled {
                    run: self.run.clone(),
                }]
            }
            EventKind::Member { member, event } => member_event(member, event)
                .map(generic)
                .into_iter()
                .collect(),
            _ => Vec::new(),
        }
    }

    fn finish(&mut self, status: RunStatus, at: String) {
        self.run.status = status;
        self.run.await_request = None;
        self.run.finished_at = Some(at);
        self.open = None;
    }
}

/// A team member's start and end, as progress of the team's run; the
/// member's own output stays in its own run.
fn member_event(member: &MemberRef, event: &EventKind) -> Option<Value> {
    let (what, extra) = match event {
        EventKind::RunStarted(_) => ("member_started", json!({})),
        EventKind::Completed(done) => ("member_completed", json!({"content": done.content})),
        EventKind::Failed { error } => ("member_failed", json!({"error": error.message})),
        EventKind::Cancelled { .. } => ("member_cancelled", json!({})),
        _ => return None,
    };
    let mut v = json!({
        "kind": what, "run_id": member.run_id, "agent_name": member.id,
        "display_name": member.name, "team": member.team,
    });
    if let (Value::Object(o), Value::Object(extra)) = (&mut v, extra) {
        o.extend(extra);
    }
    Some(v)
}

fn generic(generic: Value) -> wire::Event {
    wire::Event::Generic { generic }
}

/// What a paused run asks its client for, as one message: the question of
/// an `ask_user`-style call as text, a call waiting for approval as a text
/// question plus a JSON part describing the call, any other pending call as
/// a JSON part named after the tool. The resume message answers them (see
/// `resume::decisions` for approvals).
fn await_request(role: &str, pending: &[PendingCall], at: &str) -> Await {
    let parts = pending
        .iter()
        .flat_map(|p| {
            if p.needs_approval() {
                return approval_parts(p);
            }
            vec![match p.arguments.get("question").and_then(Value::as_str) {
            Some(question) => MessagePart::text(question),
            None => MessagePart {
                name: Some(p.name.clone()),
                content_type: Some("application/json".into()),
                content: Some(
                    json!({"tool_call_id": p.call_id, "tool_name": p.name, "arguments": p.arguments})
                        .to_string(),
                ),
                metadata: Some(json!({
                    "kind": "trajectory", "tool_name": p.name,
                    "tool_input": if p.arguments.is_object() { p.arguments.clone() } else { Value::Null },
                })),
                ..MessagePart::text("")
            },
        }]
        })
        .collect();
    Await {
        kind: "message".into(),
        message: wire::Message {
            role: role.to_string(),
            parts,
            created_at: Some(Value::String(at.to_string())),
            completed_at: Some(Value::String(at.to_string())),
        },
    }
}

/// The question a call waiting for approval puts to the client, and the
/// call itself as JSON (`approval_required: true`) with trajectory metadata.
fn approval_parts(p: &PendingCall) -> Vec<MessagePart> {
    vec![
        MessagePart::text(format!(
            "May I run the tool {} with {}? Answer yes to run it, or no (with a reason, if you like) to refuse.",
            p.name, p.arguments
        )),
        MessagePart {
            name: Some(p.name.clone()),
            content_type: Some("application/json".into()),
            content: Some(
                json!({
                    "tool_call_id": p.call_id, "tool_name": p.name,
                    "arguments": p.arguments, "approval_required": true,
                })
                .to_string(),
            ),
            metadata: Some(json!({
                "kind": "trajectory", "tool_name": p.name,
                "tool_input": if p.arguments.is_object() { p.arguments.clone() } else { Value::Null },
            })),
            ..MessagePart::text("")
        },
    ]
}

/// Each recorded log as ACP frames; `snapshots/` holds the reviewed output.
/// An engine message as the ACP Message a session-history resource holds.
/// Agent messages are labelled `agent/{agent}`.
pub fn resource_message(m: &Message, agent: &str) -> wire::Message {
    let role = match m.role {
        Role::User => "user".to_string(),
        _ => format!("agent/{}", m.name.as_deref().unwrap_or(agent)),
    };
    let mut parts = Vec::new();
    if !m.text.is_empty() {
        parts.push(MessagePart::text(m.text.clone()));
    }
    for a in &m.attachments {
        let (content, encoding) = match &a.data {
            Some(d) => (Some(d.clone()), ContentEncoding::Base64),
            None => (None, ContentEncoding::Plain),
        };
        parts.push(MessagePart {
            name: a.name.clone(),
            content_type: Some(a.mime_type.clone()),
            content,
            content_encoding: Some(encoding),
            content_url: if a.data.is_none() {
                a.url.clone()
            } else {
                None
            },
            metadata: None,
        });
    }
    let at = Some(serde_json::Value::String(rfc3339(m.created_at, time::ACP)));
    wire::Message {
        role,
        parts,
        created_at: at.clone(),
        completed_at: at,
    }
}

#[cfg(test)]
mod snapshots {
    use super::*;
    use crate::web::recorded;

    #[test]
    fn recorded_logs_as_acp_frames() {
        for (name, log) in recorded::LOGS {
            let events = recorded::events(log);
            let view = RunView::new(&recorded::record(&events[..1]));
            let sent = sse::project(Frames(view), &events, |_| None);
            insta::assert_snapshot!(name, recorded::render(&sent));
        }
    }
}
