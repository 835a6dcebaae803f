//! AgentOS wire shapes: discovery objects, run output, and the translation of
//! engine events into AgentOS SSE events (spec §4, §6, §8).

use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use crate::engine::{
    CompletedData, Event, EventKind, ModelRequestCompletedData, PendingCall, RunRecord,
    RunStartedData, RunStatus, ToolCallDecidedData, ToolCallEndedData, ToolExecution,
    ToolResultData,
};

/// `model` of an agent object.
#[derive(Serialize, ToSchema)]
pub struct ModelInfo {
    pub name: String,
    pub model: String,
    pub provider: String,
}

#[derive(Serialize, ToSchema)]
pub struct ToolInfo {
    pub name: String,
    pub description: String,
    #[schema(value_type = Object)]
    pub parameters: Value,
}

#[derive(Serialize, ToSchema)]
pub struct ToolsInfo {
    pub tools: Vec<ToolInfo>,
}

/// An agent as `GET /agents` and `GET /agents/{agent_id}` show it.
#[derive(Serialize, ToSchema)]
pub struct AgentResponse {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub model: ModelInfo,
    pub tools: ToolsInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
}

/// The run output of a non-streaming run and of run polling (null keys omitted).
#[derive(Serialize, ToSchema)]
pub struct RunOutput {
    pub run_id: String,
    pub agent_id: String,
    pub agent_name: String,
    pub session_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[schema(value_type = Object)]
    pub input: Value,
    // The answer text; the parsed JSON when `content_type` is `json` (the
    // documented type stays string until the OpenAPI document is regenerated).
    #[schema(value_type = String)]
    pub content: Value,
    pub content_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    pub model: String,
    pub model_provider: String,
    #[schema(value_type = Vec<Object>)]
    pub messages: Vec<Value>,
    #[schema(value_type = Object)]
    pub metrics: Value,
    #[schema(value_type = Vec<Object>)]
    pub tools: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub session_state: Option<Value>,
    /// Unix seconds.
    pub created_at: i64,
    /// PENDING, RUNNING, COMPLETED, PAUSED, CANCELLED or ERROR.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub requirements: Option<Vec<Value>>,
}

/// A background run's receipt (202).
#[derive(Serialize, ToSchema)]
pub struct BackgroundRun {
    pub run_id: String,
    pub session_id: String,
    pub status: &'static str,
}

pub fn status(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Pending => "PENDING",
        RunStatus::Running => "RUNNING",
        RunStatus::Awaiting => "PAUSED",
        RunStatus::Completed => "COMPLETED",
        RunStatus::Failed => "ERROR",
        RunStatus::Cancelled => "CANCELLED",
    }
}

fn secs(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

fn metrics(run: &RunRecord) -> Value {
    let mut m = Map::new();
    let u = &run.usage;
    for (k, v) in [
        ("input_tokens", u.input_tokens),
        ("output_tokens", u.output_tokens),
        ("total_tokens", u.total_tokens),
        ("reasoning_tokens", u.reasoning_tokens),
    ] {
        if v > 0 {
            m.insert(k.into(), json!(v));
        }
    }
    // Zero values are omitted, as AgentOS does.
    if let Some(t) = run.time_to_first_token_ms.filter(|t| *t > 0) {
        m.insert("time_to_first_token".into(), json!(t as f64 / 1000.0));
    }
    if let Some(d) = run.duration_ms.filter(|d| *d > 0) {
        m.insert("duration".into(), json!(d as f64 / 1000.0));
    }
    Value::Object(m)
}

pub fn tool_execution(t: &ToolExecution) -> Value {
    let metrics = t.finished_at.map(|end| {
        json!({
            "start_time": t.started_at as f64 / 1000.0,
            "end_time": end as f64 / 1000.0,
            "duration": (end - t.started_at) as f64 / 1000.0,
        })
    });
    tool_object(
        &t.call_id,
        &t.name,
        &t.arguments,
        t.result.clone(),
        t.finished_at.map(|_| t.is_error),
        metrics,
        secs(t.started_at),
        false,
    )
}

/// A paused call: an external one (`external_execution_required`), or
/// one waiting for confirmation (`requires_confirmation`; the client answers
/// with `confirmed`).
fn pending_execution(p: &PendingCall, created_at: i64) -> Value {
    let mut tool = tool_object(
        &p.call_id,
        &p.name,
        &p.arguments,
        None,
        None,
        None,
        created_at,
        !p.needs_approval(),
    );
    if p.needs_approval() {
        tool["requires_confirmation"] = json!(true);
    }
    tool
}

/// A ToolExecution object: every key present, nulls kept (spec §4).
#[allow(clippy::too_many_arguments)]
fn tool_object(
    call_id: &str,
    name: &str,
    arguments: &Value,
    result: Option<String>,
    error: Option<bool>,
    metrics: Option<Value>,
    created_at: i64,
    external: bool,
) -> Value {
    json!({
        "tool_call_id": call_id, "tool_name": name, "tool_args": arguments,
        "tool_call_error": error, "result": result, "metrics": metrics,
        "child_run_id": null, "stop_after_tool_call": false, "created_at": created_at,
        "requires_confirmation": null, "confirmed": null, "confirmation_note": null,
        "requires_user_input": null, "user_input_schema": null, "user_feedback_schema": null,
        "answered": null, "external_execution_required": external.then_some(true),
        "external_execution_silent": null, "approval_type": null, "approval_id": null,
        "parent_tool_call_id": null,
    })
}

fn requirements(run: &RunRecord) -> Vec<Value> {
    run.pending
        .iter()
        .map(|p| {
            json!({
                "id": p.call_id,
                "created_at": chrono::DateTime::from_timestamp_millis(run.updated_at)
                    .unwrap_or_default()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "tool_execution": pending_execution(p, secs(run.updated_at)),
            })
        })
        .collect()
}

pub fn message_json(m: &crate::engine::Message) -> Value {
    let mut v = json!({
        "id": m.id,
        "role": m.role,
        "content": m.text,
        "created_at": secs(m.created_at),
    });
    if !m.tool_calls.is_empty() {
        v["tool_calls"] = m
            .tool_calls
            .iter()
            .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
            .collect();
    }
    if let Some(id) = &m.tool_call_id {
        v["tool_call_id"] = json!(id);
        v["tool_name"] = json!(m.name);
        v["tool_call_error"] = json!(m.is_error);
    }
    v
}

/// A run's answer as AgentOS reports it: structured output as JSON
/// (`content_type` "json"), else the text.
fn answer(content: &str, structured: Option<&Value>) -> (Value, &'static str) {
    match structured {
        Some(v) => (v.clone(), "json"),
        None => (Value::String(content.to_string()), "str"),
    }
}

/// A file the run used, under AgentOS's `filename` with the engine's facts.
fn file_json(f: &crate::engine::FileSummary) -> Value {
    let mut v = json!({
        "filename": f.name,
        "mime_type": f.mime_type,
        "kind": f.kind,
        "size": f.bytes,
    });
    if let Some(chars) = f.extracted_chars {
        v["extracted_chars"] = json!(chars);
    }
    if f.truncated {
        v["truncated"] = json!(true);
    }
    if f.reference {
        v["reference"] = json!(true);
    }
    if let Some(url) = &f.url {
        v["url"] = json!(url);
    }
    v
}

pub fn run_output(run: &RunRecord) -> RunOutput {
    let (content, content_type) = match (&run.status, &run.error) {
        (RunStatus::Failed, Some(e)) => (Value::String(e.message.clone()), "str"),
        _ => answer(&run.content, run.structured.as_ref()),
    };
    let mut input = json!({"input_content": run.input_text()});
    if !run.files.is_empty() {
        input["files"] = run.files.iter().map(file_json).collect();
    }
    RunOutput {
        run_id: run.run_id.clone(),
        agent_id: run.agent_id.clone(),
        agent_name: run.agent_name.clone(),
        session_id: run.session_id.clone(),
        user_id: run.user_id.clone(),
        input,
        content,
        content_type,
        reasoning_content: run.reasoning.clone(),
        model: run.model.clone(),
        model_provider: run.provider.clone(),
        messages: run.messages.iter().map(message_json).collect(),
        metrics: metrics(run),
        tools: run.tools.iter().map(tool_execution).collect(),
        metadata: run.metadata.clone(),
        session_state: run.state.clone(),
        created_at: secs(run.created_at),
        status: status(run.status),
        requirements: (run.status == RunStatus::Awaiting).then(|| requirements(run)),
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
/// A text delta (nearly every frame of a stream) is written straight from
/// the event, without building a JSON tree for it first; its bytes are the
/// same as `translate`'s (see the test below).
pub fn translate_text(
    ev: &Event,
    ctx: &FrameContext,
    run: Option<&RunRecord>,
) -> Vec<(String, String)> {
    if let EventKind::TextDelta { delta, .. } = &ev.kind {
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
        if let Ok(text) = serde_json::to_string(&frame) {
            return vec![(name.to_string(), text)];
        }
    }
    translate(ev, ctx, run)
        .into_iter()
        .map(|(name, data)| (name, data.to_string()))
        .collect()
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
        let inner = Event {
            seq: ev.seq,
            run_id: member.run_id.as_str().into(),
            at: ev.at,
            kind: (**event).clone(),
        };
        let child = FrameContext {
            team: member.team,
            id: member.id.clone(),
            name: member.name.clone(),
            session_id: ctx.session_id.clone(),
            parent_run_id: Some(ev.run_id.to_string()),
            depth: ctx.depth + 1,
        };
        return translate(&inner, &child, None);
    }
    let (id_key, name_key) = if ctx.team {
        ("team_id", "team_name")
    } else {
        ("agent_id", "agent_name")
    };
    let frame = |name: &str, extra: Value| -> (String, Value) {
        let name = if ctx.team {
            format!("Team{name}")
        } else {
            name.to_string()
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
            // Null keys are omitted at the top level (spec §4).
            o.retain(|_, v| !v.is_null());
            o.extend(extra.into_iter().filter(|(_, v)| !v.is_null()));
        }
        (name, obj)
    };
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

/// A run as the session-runs listings show it (RunSchema, spec §7).
pub fn run_schema(run: &RunRecord) -> Value {
    let out = run_output(run);
    let mut v = json!({
        "run_id": run.run_id,
        "parent_run_id": run.parent_run_id,
        "agent_id": run.agent_id,
        "user_id": run.user_id,
        "status": out.status,
        "run_input": run.input_text(),
        "content": out.content,
        "run_response_format": if run.structured.is_some() { "json" } else { "text" },
        "reasoning_content": run.reasoning,
        "metrics": out.metrics,
        "metadata": run.metadata,
        "messages": out.messages,
        "tools": out.tools,
        "session_state": run.state,
        "created_at": chrono::DateTime::from_timestamp_millis(run.created_at)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    if let Value::Object(o) = &mut v {
        o.retain(|_, v| !v.is_null());
    }
    v
}

/// A team's run output: like an agent's, with `team_id`/`team_name` and the
/// members' run outputs in `member_responses`.
pub fn team_run_output(run: &RunRecord, members: &[RunRecord]) -> Value {
    let mut v = serde_json::to_value(run_output(run)).unwrap_or_default();
    if let Value::Object(o) = &mut v {
        if let Some(id) = o.remove("agent_id") {
            o.insert("team_id".into(), id);
        }
        if let Some(name) = o.remove("agent_name") {
            o.insert("team_name".into(), name);
        }
        o.insert(
            "member_responses".into(),
            members
                .iter()
                .map(|m| {
                    if m.team {
                        team_run_output(m, &[])
                    } else {
                        serde_json::to_value(run_output(m)).unwrap_or_default()
                    }
                })
                .collect(),
        );
    }
    v
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
}
