//! Engine events -> AG-UI events, in the order the 1.0 client's verifier
//! demands: RUN_STARTED first; one tool call streamed at a time and never
//! inside an open text message; everything closed before RUN_FINISHED;
//! nothing after RUN_FINISHED or RUN_ERROR.
//!
//! The engine streams tool calls as the model writes them and finishes them
//! all after the model turn, so a second call (or text) can begin while the
//! first is still open. The translator streams the first call live and holds
//! back whatever starts meanwhile until it closes.
//!
//! A team's members show as subagents (SUBAGENT_STARTED, then
//! SUBAGENT_FINISHED or SUBAGENT_ERROR, the member's run id as
//! `subagentRunId`) and, for UIs that only show steps, as steps
//! (STEP_STARTED / STEP_FINISHED named after the member); what they say
//! reaches the client through the leader's delegation tool result and
//! answer. `Frames` is the projection the SSE writer drives: each event
//! goes out as the client's line accepts it (`wire::ClientLine`). It
//! depends only on the engine's event vocabulary, on `wire` and on the
//! writer's `Projection`; what differs between client lines is decided in
//! `wire`, not here.

use serde_json::Value;

use super::wire::{AguiEvent, ClientLine, Interrupt, Outcome, SubagentOutcome, TokenUsage, diff};
use crate::engine::{
    CompletedData, Event, EventKind, RunRecord, RunStartedData, ToolCallEndedData,
    ToolCallStartedData, ToolResultData, new_id,
};
use crate::web::sse::{self, EventIds, Frame, Projection};

/// A run's stream as AG-UI frames for one client line.
pub struct Frames {
    pub translator: Translator,
    pub line: ClientLine,
}

impl Projection for Frames {
    const IDS: EventIds = sse::ids::AGUI;

    fn apply(&mut self, event: &Event, _end: Option<&RunRecord>, out: &mut Vec<Frame>) {
        for e in self.translator.translate(event) {
            out.push(Frame::data(e.for_client(self.line).encode(event.at)));
        }
    }

    /// A stream that ended without a terminal event still ends the run for
    /// the client (`Translator::unterminated`).
    fn finish(&mut self, out: &mut Vec<Frame>) {
        let now = crate::engine::now_ms();
        for e in self.translator.unterminated() {
            out.push(Frame::data(e.for_client(self.line).encode(now)));
        }
    }
}

/// A tool call that began while another was open: replayed when it closes.
struct HeldCall {
    id: String,
    name: String,
    parent: Option<String>,
    args: String,
    ended: bool,
}

pub struct Translator {
    thread_id: String,
    run_id: String,
    parent_run_id: Option<String>,
    model: (String, String),
    text: Option<String>,
    reasoning: Option<String>,
    /// The tool call being streamed live.
    live_call: Option<String>,
    held_calls: Vec<HeldCall>,
    /// Text and reasoning events that arrived while a tool call was open.
    held: Vec<AguiEvent>,
    state: Option<Value>,
    /// Open member steps: (member run id, step name).
    steps: Vec<(String, String)>,
    /// Whether RUN_STARTED went out.
    started: bool,
    done: bool,
}

/// A call waiting for approval as an AG-UI interrupt: its id is the tool
/// call's, and the answer is `{"approved": bool, "note"?: string}`.
fn approval_interrupt(p: &crate::engine::PendingCall) -> Interrupt {
    Interrupt {
        id: p.call_id.clone(),
        reason: "tool_approval",
        message: format!("May I run the tool {} with {}?", p.name, p.arguments),
        tool_call_id: p.call_id.clone(),
        response_schema: serde_json::json!({
            "type": "object",
            "properties": {
                "approved": {"type": "boolean"},
                "note": {"type": "string"}
            },
            "required": ["approved"]
        }),
        metadata: serde_json::json!({"toolName": p.name, "arguments": p.arguments}),
    }
}

impl Translator {
    /// `thread_id` and `run_id` are the client's, echoed whatever ids the
    /// engine uses.
    pub fn new(thread_id: String, run_id: String, parent_run_id: Option<String>) -> Self {
        Self {
            thread_id,
            run_id,
            parent_run_id,
            model: Default::default(),
            text: None,
            reasoning: None,
            live_call: None,
            held_calls: Vec::new(),
            held: Vec::new(),
            state: None,
            steps: Vec::new(),
            started: false,
            done: false,
        }
    }

    /// Whether RUN_FINISHED or RUN_ERROR went out.
    #[cfg(test)]
    fn is_done(&self) -> bool {
        self.done
    }

    pub fn translate(&mut self, event: &Event) -> Vec<AguiEvent> {
        let mut out = Vec::new();
        if self.done {
            return out;
        }
        match &event.kind {
            EventKind::RunStarted(d) => {
                let RunStartedData {
                    model, provider, ..
                } = &**d;
                self.model = (model.clone(), provider.clone());
                out.push(self.run_started());
            }
            EventKind::StateSnapshot { snapshot } => {
                match &self.state {
                    Some(old) => {
                        let delta = diff(old, snapshot);
                        if !delta.is_empty() {
                            out.push(AguiEvent::StateDelta { delta });
                        }
                    }
                    None => out.push(AguiEvent::StateSnapshot {
                        snapshot: (**snapshot).clone(),
                    }),
                }
                self.state = Some((**snapshot).clone());
            }
            EventKind::MessageStarted { message_id } => {
                self.text = Some(message_id.clone());
                self.emit_text(
                    &mut out,
                    AguiEvent::TextMessageStart {
                        message_id: message_id.clone(),
                        role: "assistant",
                    },
                );
            }
            EventKind::TextDelta { message_id, delta } => self.emit_text(
                &mut out,
                AguiEvent::TextMessageContent {
                    message_id: message_id.to_string(),
                    delta: delta.to_string(),
                },
            ),
            EventKind::MessageCompleted { message_id, .. } => {
                if self.text.as_deref() == Some(message_id) {
                    self.text = None;
                    self.emit_text(
                        &mut out,
                        AguiEvent::TextMessageEnd {
                            message_id: message_id.clone(),
                        },
                    );
                    self.release_held(&mut out, false);
                }
            }
            EventKind::ReasoningStarted { message_id } => {
                self.reasoning = Some(message_id.clone());
                let id = message_id.clone();
                self.emit_text(
                    &mut out,
                    AguiEvent::ReasoningStart {
                        message_id: id.clone(),
                    },
                );
                self.emit_text(
                    &mut out,
                    AguiEvent::ReasoningMessageStart {
                        message_id: id,
                        role: "reasoning",
                    },
                );
            }
            EventKind::ReasoningDelta { message_id, delta } => self.emit_text(
                &mut out,
                AguiEvent::ReasoningMessageContent {
                    message_id: message_id.to_string(),
                    delta: delta.to_string(),
                },
            ),
            EventKind::ReasoningCompleted { message_id, .. } => {
                if self.reasoning.as_deref() == Some(message_id) {
                    self.reasoning = None;
                    self.end_reasoning(&mut out, message_id.clone());
                }
            }
            EventKind::ToolCallStarted(d) => {
                let ToolCallStartedData {
                    call_id,
                    name,
                    parent_message_id,
                    ..
                } = &**d;
                if self.live_call.is_none() && self.text.is_none() {
                    self.live_call = Some(call_id.clone());
                    out.push(AguiEvent::ToolCallStart {
                        tool_call_id: call_id.clone(),
                        tool_call_name: name.clone(),
                        parent_message_id: parent_message_id.clone(),
                    });
                } else {
                    self.held_calls.push(HeldCall {
                        id: call_id.clone(),
                        name: name.clone(),
                        parent: parent_message_id.clone(),
                        args: String::new(),
                        ended: false,
                    });
                }
            }
            EventKind::ToolCallArgs { call_id, delta } => {
                if self.live_call.as_deref() == Some(&**call_id) {
                    out.push(AguiEvent::ToolCallArgs {
                        tool_call_id: call_id.to_string(),
                        delta: delta.to_string(),
                    });
                } else if let Some(h) = self.held_calls.iter_mut().find(|h| *h.id == **call_id) {
                    h.args.push_str(delta);
                }
            }
            EventKind::ToolCallEnded(d) => {
                let ToolCallEndedData {
                    call_id,
                    name,
                    arguments,
                    ..
                } = &**d;
                if self.live_call.as_deref() == Some(call_id) {
                    self.live_call = None;
                    out.push(AguiEvent::ToolCallEnd {
                        tool_call_id: call_id.clone(),
                    });
                } else if let Some(h) = self.held_calls.iter_mut().find(|h| *h.id == **call_id) {
                    h.ended = true;
                } else {
                    // Never announced: send it whole.
                    self.held_calls.push(HeldCall {
                        id: call_id.clone(),
                        name: name.clone(),
                        parent: None,
                        args: match arguments {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        },
                        ended: true,
                    });
                }
                self.release_held(&mut out, false);
            }
            EventKind::ToolResult(d) => {
                let ToolResultData {
                    call_id, result, ..
                } = &**d;
                self.release_held(&mut out, true);
                out.push(AguiEvent::ToolCallResult {
                    message_id: new_id(),
                    tool_call_id: call_id.clone(),
                    content: result.clone(),
                    role: "tool",
                });
            }
            EventKind::Awaiting { pending } => {
                self.close_all(&mut out);
                // Calls waiting for approval are interrupts the client must
                // answer; frontend tool calls are answered by tool messages.
                let interrupts: Vec<Interrupt> = pending
                    .iter()
                    .filter(|p| p.needs_approval())
                    .map(approval_interrupt)
                    .collect();
                let outcome = if interrupts.is_empty() {
                    Outcome::Success {
                        pending_tool_call_ids: pending.iter().map(|p| p.call_id.clone()).collect(),
                    }
                } else {
                    Outcome::Interrupt { interrupts }
                };
                out.push(self.finished(Some(outcome), None, Vec::new()));
            }
            EventKind::Completed(d) => {
                let CompletedData {
                    usage, structured, ..
                } = &**d;
                self.close_all(&mut out);
                let usage = (usage.total_tokens > 0)
                    .then(|| TokenUsage {
                        provider: self.model.1.clone(),
                        model: self.model.0.clone(),
                        input_tokens: usage.input_tokens,
                        output_tokens: usage.output_tokens,
                        total_tokens: usage.total_tokens,
                        reasoning_tokens: (usage.reasoning_tokens > 0)
                            .then_some(usage.reasoning_tokens),
                    })
                    .into_iter()
                    .collect();
                out.push(self.finished(None, structured.clone(), usage));
            }
            EventKind::Cancelled { .. } => {
                self.close_all(&mut out);
                out.push(self.finished(Some(Outcome::Cancelled), None, Vec::new()));
            }
            EventKind::Failed { error } => {
                self.close_all(&mut out);
                self.done = true;
                out.push(AguiEvent::RunError {
                    message: error.message.clone(),
                    code: Some(error.kind.as_str().to_string()),
                });
            }
            EventKind::Member { member, event } => match event.as_ref() {
                EventKind::RunStarted(_) => {
                    // Step names must be unique among open steps.
                    let mut name = member.name.clone();
                    if self.steps.iter().any(|(_, n)| *n == name) {
                        name = format!("{} ({})", member.name, member.run_id);
                    }
                    self.steps.push((member.run_id.clone(), name.clone()));
                    out.push(AguiEvent::StepStarted { step_name: name });
                    out.push(AguiEvent::SubagentStarted {
                        subagent_run_id: member.run_id.clone(),
                        name: member.name.clone(),
                    });
                }
                kind if kind.ends_stream() => {
                    if let Some(i) = self.steps.iter().position(|(id, _)| *id == member.run_id) {
                        let (_, step_name) = self.steps.remove(i);
                        out.push(member_ended(member.run_id.clone(), kind));
                        out.push(AguiEvent::StepFinished { step_name });
                    }
                }
                _ => {}
            },
            // A paused run continued by this request: its stream starts here.
            EventKind::RunResumed => {
                if !self.started {
                    out.push(self.run_started());
                }
            }
            EventKind::ModelRequestStarted { model, provider } => {
                self.model = (model.clone(), provider.clone());
            }
            // The call was shown in the run that paused; its result follows.
            EventKind::ToolCallDecided(_) | EventKind::ModelRequestCompleted(_) => {}
        }
        out
    }

    fn run_started(&mut self) -> AguiEvent {
        self.started = true;
        AguiEvent::RunStarted {
            thread_id: self.thread_id.clone(),
            run_id: self.run_id.clone(),
            protocol_version: super::wire::PROTOCOL_VERSION,
            parent_run_id: self.parent_run_id.clone(),
        }
    }

    /// For a stream that ended without a terminal event (the engine went
    /// away): a RUN_ERROR, so the client is never left waiting.
    pub fn unterminated(&mut self) -> Vec<AguiEvent> {
        if self.done {
            return Vec::new();
        }
        let mut out = Vec::new();
        self.close_all(&mut out);
        self.done = true;
        out.push(AguiEvent::RunError {
            message: "the run's event stream ended unexpectedly".into(),
            code: Some("internal".into()),
        });
        out
    }

    fn finished(
        &mut self,
        outcome: Option<Outcome>,
        result: Option<Value>,
        usage: Vec<TokenUsage>,
    ) -> AguiEvent {
        self.done = true;
        AguiEvent::RunFinished {
            thread_id: self.thread_id.clone(),
            run_id: self.run_id.clone(),
            outcome,
            result,
            usage,
        }
    }

    /// Text and reasoning wait while a tool call is open.
    fn emit_text(&mut self, out: &mut Vec<AguiEvent>, event: AguiEvent) {
        if self.live_call.is_some() {
            self.held.push(event);
        } else {
            out.push(event);
        }
    }

    fn end_reasoning(&mut self, out: &mut Vec<AguiEvent>, id: String) {
        self.emit_text(
            out,
            AguiEvent::ReasoningMessageEnd {
                message_id: id.clone(),
            },
        );
        self.emit_text(out, AguiEvent::ReasoningEnd { message_id: id });
    }

    /// Once no tool call is live: held text first, then held calls in order,
    /// each whole if it ended (or `force`), the first unfinished one live.
    fn release_held(&mut self, out: &mut Vec<AguiEvent>, force: bool) {
        if self.live_call.is_some() {
            return;
        }
        out.append(&mut self.held);
        if self.text.is_some() && !force {
            // A call never opens inside a text message; wait for its end.
            return;
        }
        while !self.held_calls.is_empty() {
            let h = self.held_calls.remove(0);
            out.push(AguiEvent::ToolCallStart {
                tool_call_id: h.id.clone(),
                tool_call_name: h.name,
                parent_message_id: h.parent,
            });
            if !h.args.is_empty() {
                out.push(AguiEvent::ToolCallArgs {
                    tool_call_id: h.id.clone(),
                    delta: h.args,
                });
            }
            if h.ended || force {
                out.push(AguiEvent::ToolCallEnd { tool_call_id: h.id });
            } else {
                self.live_call = Some(h.id);
                return;
            }
        }
    }

    /// Closes whatever is open, so RUN_FINISHED is accepted.
    fn close_all(&mut self, out: &mut Vec<AguiEvent>) {
        if let Some(id) = self.live_call.take() {
            out.push(AguiEvent::ToolCallEnd { tool_call_id: id });
        }
        out.append(&mut self.held);
        if let Some(id) = self.reasoning.take() {
            self.end_reasoning(out, id);
        }
        if let Some(id) = self.text.take() {
            out.push(AguiEvent::TextMessageEnd { message_id: id });
        }
        self.release_held(out, true);
        for (run_id, step_name) in self.steps.drain(..) {
            out.push(AguiEvent::SubagentError {
                subagent_run_id: run_id,
                message: "the team's run ended before this member's".into(),
                code: Some("cancelled".into()),
            });
            out.push(AguiEvent::StepFinished { step_name });
        }
    }
}

/// How a member's run ended, as the subagent event that closes it.
fn member_ended(subagent_run_id: String, end: &EventKind) -> AguiEvent {
    match end {
        EventKind::Completed(d) => AguiEvent::SubagentFinished {
            subagent_run_id,
            result: Some(
                d.structured
                    .clone()
                    .unwrap_or_else(|| Value::String(d.content.clone())),
            ),
            outcome: None,
        },
        EventKind::Awaiting { .. } => AguiEvent::SubagentFinished {
            subagent_run_id,
            result: None,
            outcome: Some(SubagentOutcome::Suspended),
        },
        EventKind::Failed { error } => AguiEvent::SubagentError {
            subagent_run_id,
            message: error.message.clone(),
            code: Some(error.kind.as_str().to_string()),
        },
        _ => AguiEvent::SubagentError {
            subagent_run_id,
            message: "the member's run was cancelled".into(),
            code: Some("cancelled".into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{FailureKind, PendingCall, RunFailure, Usage};

    fn ev(kind: EventKind) -> Event {
        Event {
            seq: 1,
            run_id: "r".into(),
            at: 0,
            kind,
        }
    }

    fn types(t: &mut Translator, kinds: Vec<EventKind>) -> Vec<String> {
        kinds
            .into_iter()
            .flat_map(|k| t.translate(&ev(k)))
            .map(|e| {
                serde_json::to_value(e).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    fn started(id: &str) -> EventKind {
        EventKind::ToolCallStarted(Box::new(ToolCallStartedData {
            call_id: id.into(),
            name: "f".into(),
            parent_message_id: None,
        }))
    }

    fn args(id: &str) -> EventKind {
        EventKind::ToolCallArgs {
            call_id: id.into(),
            delta: "{}".into(),
        }
    }

    fn ended(id: &str) -> EventKind {
        EventKind::ToolCallEnded(Box::new(ToolCallEndedData {
            call_id: id.into(),
            name: "f".into(),
            arguments: serde_json::json!({}),
            client_side: true,
            needs_approval: false,
        }))
    }

    #[test]
    fn parallel_tool_calls_are_sequential_on_the_wire() {
        let mut t = Translator::new("t".into(), "r".into(), None);
        let got = types(
            &mut t,
            vec![
                started("a"),
                args("a"),
                started("b"),
                args("b"),
                ended("a"),
                ended("b"),
                EventKind::Awaiting {
                    pending: vec![PendingCall {
                        call_id: "a".into(),
                        name: "f".into(),
                        arguments: serde_json::json!({}),
                        kind: Default::default(),
                    }],
                },
            ],
        );
        assert_eq!(
            got,
            [
                "TOOL_CALL_START",
                "TOOL_CALL_ARGS",
                "TOOL_CALL_END",
                "TOOL_CALL_START",
                "TOOL_CALL_ARGS",
                "TOOL_CALL_END",
                "RUN_FINISHED"
            ]
        );
        assert!(t.is_done());
    }

    #[test]
    fn text_during_a_tool_call_waits_for_it() {
        let mut t = Translator::new("t".into(), "r".into(), None);
        let got = types(
            &mut t,
            vec![
                started("a"),
                EventKind::MessageStarted {
                    message_id: "m".into(),
                },
                EventKind::TextDelta {
                    message_id: "m".into(),
                    delta: "hi".into(),
                },
                ended("a"),
                EventKind::Failed {
                    error: RunFailure {
                        kind: FailureKind::ModelUpstream,
                        message: "boom".into(),
                    },
                },
                EventKind::Completed(Box::new(CompletedData {
                    content: String::new(),
                    usage: Usage::default(),
                    duration_ms: 0,
                    structured: None,
                })),
            ],
        );
        assert_eq!(
            got,
            [
                "TOOL_CALL_START",
                "TOOL_CALL_END",
                "TEXT_MESSAGE_START",
                "TEXT_MESSAGE_CONTENT",
                "TEXT_MESSAGE_END",
                "RUN_ERROR"
            ],
            "closed before the error, nothing after it"
        );
    }
}

/// Each recorded log as AG-UI frames, for both client lines; `snapshots/`
/// holds the reviewed output.
#[cfg(test)]
mod snapshots {
    use super::*;
    use crate::web::recorded;

    #[test]
    fn recorded_logs_as_agui_frames() {
        for (name, log) in recorded::LOGS {
            let events = recorded::events(log);
            for (line, suffix) in [(ClientLine::V1, "v1"), (ClientLine::Legacy, "legacy")] {
                let frames = Frames {
                    translator: Translator::new("thread-1".into(), "client-run-1".into(), None),
                    line,
                };
                let sent = sse::project(frames, &events, |_| None);
                let text = recorded::redact_new_ids(&recorded::render(&sent));
                insta::assert_snapshot!(format!("{name}_{suffix}"), text);
            }
        }
    }
}
