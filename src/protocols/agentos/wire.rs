//! AgentOS wire shapes: discovery objects and run output (spec §4, §6).
//! Engine events become SSE frames in `outbound`.

use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use crate::engine::{PendingCall, RunRecord, RunStatus, ToolExecution};

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

pub(super) fn secs(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

pub(super) fn metrics(run: &RunRecord) -> Value {
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
pub(super) fn pending_execution(p: &PendingCall, created_at: i64) -> Value {
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
pub(super) fn tool_object(
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

pub(super) fn requirements(run: &RunRecord) -> Vec<Value> {
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
pub(super) fn answer(content: &str, structured: Option<&Value>) -> (Value, &'static str) {
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
