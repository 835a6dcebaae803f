//! AgentOS outbound: engine events as AgentOS SSE events (spec §6, §8),
//! and the projection the SSE writer drives with them.
//!
//! Depends on the engine's event vocabulary, `wire`'s shapes and the
//! writer's `Projection` only.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::wire::{answer, metrics, pending_execution, requirements, secs, tool_object};
use crate::engine::{
    CompletedData, Event, EventKind, ModelRequestCompletedData, RunRecord, RunStartedData,
    ToolCallDecidedData, ToolCallEndedData, ToolResultData,
};
use crate::web::sse::{self, EventIds, Frame, Projection};

/// A run's stream as AgentOS frames: named events, the end of a run framed
/// from its record.
pub struct RunFrames {
    ctx: FrameContext,
    /// The run's text-delta frame around its time and text, made once.
    content: Option<ContentTemplate>,
}

impl RunFrames {
    pub fn of(run: &RunRecord) -> Self {
        Self {
            ctx: FrameContext::of(run),
            content: None,
        }
    }
}

impl Projection for RunFrames {
    const IDS: EventIds = sse::ids::AGENTOS;
    const NEEDS_END_RECORD: bool = true;

    fn apply(&mut self, event: &Event, end: Option<&RunRecord>, out: &mut Vec<Frame>) {
        if let EventKind::TextDelta { delta, .. } = &event.kind {
            if self
                .content
                .as_ref()
                .is_none_or(|t| *t.run_id != *event.run_id)
            {
                self.content = ContentTemplate::of(event, &self.ctx);
            }
            let template = self.content.as_mut();
            if let Some(frame) = template.and_then(|t| t.frame(event, delta)) {
                out.push(frame);
                return;
            }
        }
        frames_into(event, &self.ctx, end, out);
    }
}

/// A run's `RunContent` frame as text, cut around the two values that
/// change from token to token (`created_at` and `content`): every other key
/// is the run's identity, the same in each of its text frames, so it is
/// escaped and written once per stream instead of once per token (serde's
/// string escaping was an eighth of a token frame's instructions). Cut from
/// `ContentFrame`'s own output, so the bytes are the same.
struct ContentTemplate {
    run_id: std::sync::Arc<str>,
    name: &'static str,
    /// From the comma after `created_at`'s value to `"content":`.
    head: String,
    /// After the content's string: `,"content_type":"str"...}`.
    tail: String,
    /// The time and the content as JSON, reused from frame to frame.
    values: Vec<u8>,
}

impl ContentTemplate {
    const START: &'static str = "{\"created_at\":";
    const CONTENT: &'static str = ",\"content\":\"\"";

    fn of(ev: &Event, ctx: &FrameContext) -> Option<Self> {
        let name = if ctx.team {
            "TeamRunContent"
        } else {
            "RunContent"
        };
        let empty = serde_json::to_string(&ContentFrame {
            ev,
            ctx,
            name,
            delta: "",
        })
        .ok()?;
        // The time is a number (no comma in it); the content key appears
        // only once outside a string (a quote inside one is escaped).
        let rest = empty.strip_prefix(Self::START)?;
        let head_from = rest.find(',')?;
        let content_at = rest.rfind(Self::CONTENT)?;
        let value_at = content_at + Self::CONTENT.len() - 2;
        Some(Self {
            run_id: ev.run_id.clone(),
            name,
            head: rest[head_from..value_at].to_string(),
            tail: rest[value_at + 2..].to_string(),
            values: Vec::new(),
        })
    }

    fn frame(&mut self, ev: &Event, delta: &str) -> Option<Frame> {
        // The two values, then the frame in one allocation of its size;
        // only the values' bytes are checked as UTF-8, not the whole frame.
        let values = &mut self.values;
        values.clear();
        serde_json::to_writer(&mut *values, &secs(ev.at)).ok()?;
        let time_len = values.len();
        serde_json::to_writer(&mut *values, delta).ok()?;
        let values = std::str::from_utf8(values).ok()?;
        let (time, content) = values.split_at(time_len);
        let mut text = String::with_capacity(
            Self::START.len() + values.len() + self.head.len() + self.tail.len(),
        );
        text.push_str(Self::START);
        text.push_str(time);
        text.push_str(&self.head);
        text.push_str(content);
        text.push_str(&self.tail);
        Some(Frame::named(self.name, text))
    }
}

/// The identity every frame of a run carries.
#[derive(Clone)]
pub struct FrameContext {
    /// Whether the run is a team's: event names get the `Team` prefix and
    /// identity keys are `team_id`/`team_name`.
    pub team: bool,
    pub id: String,
    pub name: String,
    pub session_id: String,
    pub parent_run_id: Option<String>,
    pub depth: u32,
}

impl FrameContext {
    pub fn of(run: &RunRecord) -> Self {
        Self {
            team: run.team,
            id: run.agent_id.clone(),
            name: run.agent_name.clone(),
            session_id: run.session_id.clone(),
            parent_run_id: run.parent_run_id.clone(),
            depth: 0,
        }
    }
}

/// `translate`, with each event's JSON as text: what an SSE stream sends.
/// The same frames as `frames_into` pushes, as (name, data) pairs (tests
/// compare them with `translate`'s).
#[cfg(test)]
fn translate_text(
    ev: &Event,
    ctx: &FrameContext,
    run: Option<&RunRecord>,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    frames_into(ev, ctx, run, &mut out);
    out.into_iter()
        .map(|f| (f.event.unwrap_or_default().into_owned(), f.data))
        .collect()
}

/// Pushes the frames of one event onto `out`, their JSON written as text
/// straight from the event: no JSON tree for a text delta (nearly every
/// frame of a stream), and for the other events none for the identity
/// keys every frame starts with (only the event's own keys are a tree).
/// The bytes are `translate`'s (see the tests below).
fn frames_into(ev: &Event, ctx: &FrameContext, run: Option<&RunRecord>, out: &mut Vec<Frame>) {
    match &ev.kind {
        EventKind::Member { member, event } => {
            let (inner, child) = member_frame(ev, ctx, member, event);
            frames_into(&inner, &child, None, out);
        }
        EventKind::TextDelta { delta, .. } => {
            let name = if ctx.team {
                "TeamRunContent"
            } else {
                "RunContent"
            };
            let frame = ContentFrame {
                ev,
                ctx,
                name,
                delta,
            };
            match serde_json::to_string(&frame) {
                Ok(text) => out.push(Frame::named(name, text)),
                Err(_) => out.extend(
                    translate(ev, ctx, run)
                        .into_iter()
                        .map(|(name, data)| Frame::named(name, data.to_string())),
                ),
            }
        }
        _ => out.extend(frames(ev, ctx, run, |name, extra| {
            let name = prefixed(ctx, name);
            let data = match extra {
                Value::Object(extra) if !extra.keys().any(|k| HEAD_KEYS.contains(&k.as_str())) => {
                    let text = serde_json::to_string(&HeadFrame {
                        ev,
                        ctx,
                        name: &name,
                        extra: &extra,
                    });
                    match text {
                        Ok(text) => text,
                        Err(_) => {
                            let tree = tree_frame(ev, ctx, name.to_string(), Value::Object(extra));
                            tree.1.to_string()
                        }
                    }
                }
                extra => tree_frame(ev, ctx, name.to_string(), extra).1.to_string(),
            };
            Frame::named(name, data)
        })),
    }
}

/// The keys every frame starts with (either spelling of the identity).
const HEAD_KEYS: [&str; 10] = [
    "created_at",
    "event",
    "agent_id",
    "agent_name",
    "team_id",
    "team_name",
    "run_id",
    "parent_run_id",
    "session_id",
    "nested_depth",
];

/// A frame's name: a team's events carry the `Team` prefix.
fn prefixed(ctx: &FrameContext, name: &'static str) -> Cow<'static, str> {
    if ctx.team {
        Cow::Owned(format!("Team{name}"))
    } else {
        Cow::Borrowed(name)
    }
}

/// A frame that is not a text delta: the identity keys written from the
/// context, then the event's own keys (nulls left out, spec §4), in the
/// order `translate`'s tree has them.
struct HeadFrame<'a> {
    ev: &'a Event,
    ctx: &'a FrameContext,
    name: &'a str,
    extra: &'a Map<String, Value>,
}

impl Serialize for HeadFrame<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let ctx = self.ctx;
        let (id_key, name_key) = if ctx.team {
            ("team_id", "team_name")
        } else {
            ("agent_id", "agent_name")
        };
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("created_at", &secs(self.ev.at))?;
        map.serialize_entry("event", self.name)?;
        map.serialize_entry(id_key, &ctx.id)?;
        map.serialize_entry(name_key, &ctx.name)?;
        map.serialize_entry("run_id", &self.ev.run_id)?;
        if let Some(parent) = &ctx.parent_run_id {
            map.serialize_entry("parent_run_id", parent)?;
        }
        map.serialize_entry("session_id", &ctx.session_id)?;
        map.serialize_entry("nested_depth", &ctx.depth)?;
        for (k, v) in self.extra {
            if !v.is_null() {
                map.serialize_entry(k, v)?;
            }
        }
        map.end()
    }
}

/// A team member's event as the member's own: its run id, the team run as
/// parent, one level deeper.
fn member_frame(
    ev: &Event,
    ctx: &FrameContext,
    member: &crate::engine::MemberRef,
    event: &EventKind,
) -> (Event, FrameContext) {
    let inner = Event {
        seq: ev.seq,
        run_id: member.run_id.as_str().into(),
        at: ev.at,
        kind: event.clone(),
    };
    let child = FrameContext {
        team: member.team,
        id: member.id.clone(),
        name: member.name.clone(),
        session_id: ctx.session_id.clone(),
        parent_run_id: Some(ev.run_id.to_string()),
        depth: ctx.depth + 1,
    };
    (inner, child)
}

/// A `RunContent` frame, keys in the order `translate` writes them.
struct ContentFrame<'a> {
    ev: &'a Event,
    ctx: &'a FrameContext,
    name: &'a str,
    delta: &'a str,
}

impl Serialize for ContentFrame<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let ctx = self.ctx;
        let (id_key, name_key) = if ctx.team {
            ("team_id", "team_name")
        } else {
            ("agent_id", "agent_name")
        };
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("created_at", &secs(self.ev.at))?;
        map.serialize_entry("event", self.name)?;
        map.serialize_entry(id_key, &ctx.id)?;
        map.serialize_entry(name_key, &ctx.name)?;
        map.serialize_entry("run_id", &self.ev.run_id)?;
        if let Some(parent) = &ctx.parent_run_id {
            map.serialize_entry("parent_run_id", parent)?;
        }
        map.serialize_entry("session_id", &ctx.session_id)?;
        map.serialize_entry("nested_depth", &ctx.depth)?;
        map.serialize_entry("content", self.delta)?;
        map.serialize_entry("content_type", "str")?;
        if !ctx.team {
            map.serialize_entry("workflow_agent", &false)?;
        }
        map.end()
    }
}

/// Translates one engine event into AgentOS events (name, JSON). Some engine
/// events have no AgentOS counterpart; the end of a run yields two. Member
/// events of a team come out as the member's own events, with its run id,
/// the team run as parent and a deeper `nested_depth`.
/// `run` is the run's record, needed only for the events that end a stream.
pub fn translate(ev: &Event, ctx: &FrameContext, run: Option<&RunRecord>) -> Vec<(String, Value)> {
    if let EventKind::Member { member, event } = &ev.kind {
        let (inner, child) = member_frame(ev, ctx, member, event);
        return translate(&inner, &child, None);
    }
    frames(ev, ctx, run, |name, extra| {
        tree_frame(ev, ctx, prefixed(ctx, name).into_owned(), extra)
    })
}

/// One frame as a JSON tree: the identity keys, then `extra`'s (nulls are
/// omitted at the top level, spec §4).
fn tree_frame(ev: &Event, ctx: &FrameContext, name: String, extra: Value) -> (String, Value) {
    let (id_key, name_key) = if ctx.team {
        ("team_id", "team_name")
    } else {
        ("agent_id", "agent_name")
    };
    let mut obj = json!({
        "created_at": secs(ev.at),
        "event": name,
        id_key: ctx.id,
        name_key: ctx.name,
        "run_id": ev.run_id,
        "parent_run_id": ctx.parent_run_id,
        "session_id": ctx.session_id,
        "nested_depth": ctx.depth,
    });
    if let (Value::Object(o), Value::Object(extra)) = (&mut obj, extra) {
        o.retain(|_, v| !v.is_null());
        o.extend(extra.into_iter().filter(|(_, v)| !v.is_null()));
    }
    (name, obj)
}

/// The AgentOS frames of one (non-member) event, each made by `frame` from
/// its name (without the team prefix) and its own keys.
fn frames<T>(
    ev: &Event,
    ctx: &FrameContext,
    run: Option<&RunRecord>,
    frame: impl Fn(&'static str, Value) -> T,
) -> Vec<T> {
    match &ev.kind {
        EventKind::RunStarted(d) => {
            let RunStartedData {
                model, provider, ..
            } = &**d;
            vec![frame(
                "RunStarted",
                json!({"model": model, "model_provider": provider}),
            )]
        }
        EventKind::RunResumed => vec![frame("RunContinued", json!({}))],
        EventKind::ModelRequestStarted { model, provider } => vec![frame(
            "ModelRequestStarted",
            json!({"model": model, "model_provider": provider}),
        )],
        EventKind::ModelRequestCompleted(d) => {
            let ModelRequestCompletedData {
                model,
                provider,
                usage,
                time_to_first_token_ms,
                ..
            } = &**d;
            vec![frame(
                "ModelRequestCompleted",
                json!({
                    "model": model, "model_provider": provider,
                    "input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
                    "total_tokens": usage.total_tokens,
                    "time_to_first_token": time_to_first_token_ms.map(|t| t as f64 / 1000.0),
                }),
            )]
        }
        EventKind::TextDelta { delta, .. } => vec![frame(
            "RunContent",
            if ctx.team {
                json!({"content": delta, "content_type": "str"})
            } else {
                json!({"content": delta, "content_type": "str", "workflow_agent": false})
            },
        )],
        EventKind::ReasoningStarted { .. } => vec![frame("ReasoningStarted", json!({}))],
        EventKind::ReasoningDelta { delta, .. } => vec![frame(
            "ReasoningContentDelta",
            json!({"reasoning_content": delta}),
        )],
        EventKind::ReasoningCompleted { text, .. } => vec![frame(
            "ReasoningCompleted",
            json!({"content": text, "content_type": "str"}),
        )],
        EventKind::ToolCallEnded(d) if !d.client_side && !d.needs_approval => {
            let ToolCallEndedData {
                call_id,
                name,
                arguments,
                ..
            } = &**d;
            vec![frame(
                "ToolCallStarted",
                json!({"tool": tool_object(call_id, name, arguments, None, None, None, secs(ev.at), false)}),
            )]
        }
        // An approved call starts now; a rejected one only gets its result.
        EventKind::ToolCallDecided(d) if d.approved => {
            let ToolCallDecidedData {
                call_id,
                name,
                arguments,
                note,
                ..
            } = &**d;
            let mut tool = tool_object(
                call_id,
                name,
                arguments,
                None,
                None,
                None,
                secs(ev.at),
                false,
            );
            tool["requires_confirmation"] = json!(true);
            tool["confirmed"] = json!(true);
            tool["confirmation_note"] = json!(note);
            vec![frame("ToolCallStarted", json!({ "tool": tool }))]
        }
        EventKind::ToolResult(d) => {
            let ToolResultData {
                call_id,
                name,
                arguments,
                result,
                is_error,
                started_at,
                finished_at,
                ..
            } = &**d;
            let metrics = json!({
                "start_time": *started_at as f64 / 1000.0,
                "end_time": *finished_at as f64 / 1000.0,
                "duration": (finished_at - started_at) as f64 / 1000.0,
            });
            let args = arguments
                .as_object()
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| match v {
                            Value::String(s) => format!("{k}={s}"),
                            other => format!("{k}={other}"),
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            let tool = tool_object(
                call_id,
                name,
                arguments,
                Some(result.clone()),
                Some(*is_error),
                Some(metrics),
                secs(*started_at),
                false,
            );
            let seconds = (finished_at - started_at) as f64 / 1000.0;
            if *is_error {
                vec![frame(
                    "ToolCallError",
                    json!({"tool": tool, "error": result}),
                )]
            } else {
                vec![frame(
                    "ToolCallCompleted",
                    json!({"tool": tool, "content": format!("{name}({args}) completed in {seconds:.4}s. ")}),
                )]
            }
        }
        EventKind::Awaiting { pending } => {
            let reqs = run.map(requirements).unwrap_or_default();
            let content = run.map(|r| r.content.clone()).unwrap_or_default();
            vec![
                frame("RunContentCompleted", json!({})),
                frame(
                    "RunPaused",
                    json!({
                        "tools": pending.iter().map(|p| pending_execution(p, secs(ev.at))).collect::<Vec<_>>(),
                        "requirements": reqs,
                        "content": content,
                    }),
                ),
            ]
        }
        EventKind::Completed(d) => {
            let CompletedData {
                content,
                structured,
                usage,
                duration_ms,
                ..
            } = &**d;
            let (content, content_type) = answer(content, structured.as_ref());
            let metrics = match run {
                Some(run) => metrics(run),
                None => {
                    json!({"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
                    "total_tokens": usage.total_tokens, "duration": *duration_ms as f64 / 1000.0})
                }
            };
            vec![
                frame("RunContentCompleted", json!({})),
                frame(
                    "RunCompleted",
                    json!({
                        "content": content, "content_type": content_type,
                        "reasoning_content": run.and_then(|r| r.reasoning.clone()),
                        "metrics": metrics,
                        "metadata": run.and_then(|r| r.metadata.clone()),
                        "session_state": run.and_then(|r| r.state.clone()),
                    }),
                ),
            ]
        }
        EventKind::Failed { error } => {
            let error_type = if error.kind.is_model_fault() {
                "model_provider_error"
            } else {
                error.kind.as_str()
            };
            vec![frame(
                "RunError",
                json!({"content": error.message, "error_type": error_type, "error_id": error.kind.as_str()}),
            )]
        }
        EventKind::Cancelled { reason, partial } => vec![frame(
            "RunCancelled",
            json!({"reason": reason, "content": partial}),
        )],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct text-delta frame is byte for byte what the JSON tree gives.
    #[test]
    fn text_frames_match_the_tree() {
        let ev = Event {
            seq: 7,
            run_id: "run-1".into(),
            at: 1_700_000_123_456,
            kind: EventKind::TextDelta {
                message_id: "m".into(),
                delta: "he said \"hi\"\n\u{1F600}".into(),
            },
        };
        for team in [false, true] {
            for parent in [None, Some("parent-1".to_string())] {
                let ctx = FrameContext {
                    team,
                    id: "agent".into(),
                    name: "Agent \"A\"".into(),
                    session_id: "s".into(),
                    parent_run_id: parent,
                    depth: 2,
                };
                let tree: Vec<(String, String)> = translate(&ev, &ctx, None)
                    .into_iter()
                    .map(|(n, v)| (n, v.to_string()))
                    .collect();
                assert_eq!(translate_text(&ev, &ctx, None), tree);
            }
        }
    }

    /// A stream's text frames, written from the run's template, are byte
    /// for byte `frames_into`'s (the tree's, above): for an agent and a team,
    /// with and without a parent, names and texts that need escaping, and a
    /// stream whose events change run (the template is made again).
    #[test]
    fn templated_text_frames_match_the_direct_ones() {
        let deltas = [
            "plain",
            "",
            "he said \"hi\"\n\u{1F600}",
            "tab\tback\\slash \u{7} ctl </script>",
            ",\"content\":\"\"",
        ];
        for team in [false, true] {
            for parent in [None, Some("parent \"p\"".to_string())] {
                let run = RunRecord {
                    team,
                    parent_run_id: parent,
                    agent_name: "Agent \"A\" \u{e9}, {\"content\":\"\"}".into(),
                    ..RunRecord::pending("run-1", "sess\\1", "agent", "A", 0)
                };
                let mut frames = RunFrames::of(&run);
                let ctx = FrameContext::of(&run);
                for (i, delta) in deltas.iter().enumerate() {
                    for run_id in ["run-1", "run-2", "run-1"] {
                        let ev = Event {
                            seq: i as u64 + 1,
                            run_id: run_id.into(),
                            at: [-1_500, 0, 999, 1_700_000_123_456][i % 4],
                            kind: EventKind::TextDelta {
                                message_id: "m".into(),
                                delta: (*delta).into(),
                            },
                        };
                        let mut got = Vec::new();
                        frames.apply(&ev, None, &mut got);
                        let got: Vec<(String, String)> = got
                            .into_iter()
                            .map(|f| (f.event.unwrap_or_default().into_owned(), f.data))
                            .collect();
                        assert_eq!(got, translate_text(&ev, &ctx, None), "{ev:?}");
                    }
                }
            }
        }
    }

    /// Every other frame, written without the identity tree, is byte for
    /// byte the tree's: each event of the recorded logs, for an agent and a
    /// team, top level and nested, with and without the run's record.
    #[test]
    fn event_frames_match_the_tree() {
        use crate::web::recorded;
        let mut seen = 0;
        for (_, log) in recorded::LOGS {
            let events = recorded::events(log);
            let run = recorded::record(&events);
            for ev in &events {
                for team in [false, true] {
                    for parent in [None, Some("parent-1".to_string())] {
                        let ctx = FrameContext {
                            team,
                            parent_run_id: parent,
                            depth: 1,
                            ..FrameContext::of(&run)
                        };
                        for record in [None, Some(&run)] {
                            let tree: Vec<(String, String)> = translate(ev, &ctx, record)
                                .into_iter()
                                .map(|(n, v)| (n, v.to_string()))
                                .collect();
                            seen += tree.len();
                            assert_eq!(translate_text(ev, &ctx, record), tree, "{ev:?}");
                        }
                    }
                }
            }
        }
        assert!(seen > 100, "the logs give frames to compare ({seen})");
    }
}

/// Each recorded log as AgentOS frames; `snapshots/` holds the reviewed
/// output.
#[cfg(test)]
mod snapshots {
    use super::*;
    use crate::web::recorded;

    #[test]
    fn recorded_logs_as_agentos_frames() {
        for (name, log) in recorded::LOGS {
            let events = recorded::events(log);
            let run = recorded::record(&events);
            let sent = sse::project(RunFrames::of(&run), &events, |_| Some(run.clone()));
            insta::assert_snapshot!(name, recorded::render(&sent));
        }
    }
}
