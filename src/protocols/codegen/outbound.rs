//! Engine -> wire for Codegen: a run's latest engine run as an
//! `AgentRunResponse`, and its engine runs and events as agent-run logs
//! (docs/specs/codegen.md §3-§4).
//!
//! Knows nothing of auth, config or the store: handlers feed it records.

use std::sync::Arc;

use serde_json::{Value, json};

use super::wire::{AgentRunLog, AgentRunResponse, SOURCE_API, truncate};
use crate::engine::{CompletedData, Event, EventKind, RunRecord, RunStatus, ToolResultData};
use crate::web::time::{self, rfc3339};

/// What a handler knows of a Codegen run besides its latest engine run.
pub struct RunView<'a> {
    pub id: u64,
    pub organization_id: i64,
    pub created_at_ms: i64,
    pub metadata: Option<&'a Value>,
    pub web_url: String,
}

pub fn status(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Pending => "PENDING",
        RunStatus::Running => "RUNNING",
        RunStatus::Awaiting => "PAUSED",
        RunStatus::Completed => "COMPLETE",
        RunStatus::Failed => "FAILED",
        RunStatus::Cancelled => "CANCELLED",
    }
}

/// A one-line description of how the run ended, for `summary`.
fn summary(run: &RunRecord) -> Option<String> {
    match run.status {
        RunStatus::Completed => {
            let first = run.content.lines().find(|l| !l.trim().is_empty())?;
            Some(truncate(first.trim(), 200))
        }
        RunStatus::Failed => Some(format!(
            "Failed: {}",
            run.error
                .as_ref()
                .map_or("unknown error", |e| e.message.as_str())
        )),
        RunStatus::Cancelled => Some("Cancelled before it finished.".into()),
        _ => None,
    }
}

pub fn agent_run(view: &RunView<'_>, latest: Option<&RunRecord>) -> AgentRunResponse {
    AgentRunResponse {
        id: view.id,
        organization_id: view.organization_id,
        status: latest.map(|r| status(r.status)),
        created_at: Some(rfc3339(view.created_at_ms, time::CODEGEN)),
        web_url: Some(view.web_url.clone()),
        result: latest
            .filter(|r| r.status == RunStatus::Completed)
            .map(|r| r.content.clone()),
        summary: latest.and_then(summary),
        source_type: Some(SOURCE_API),
        github_pull_requests: Some(Vec::new()),
        metadata: view.metadata.cloned(),
    }
}

impl AgentRunLog {
    fn new(id: u64, at: i64, kind: &'static str) -> Self {
        Self {
            agent_run_id: id,
            created_at: Some(rfc3339(at, time::CODEGEN)),
            tool_name: None,
            message_type: Some(kind),
            thought: None,
            observation: None,
            tool_input: None,
            tool_output: None,
        }
    }
}

/// The trace of a Codegen run: each engine run's prompt, reasoning, tool
/// calls with their results, and how it ended, oldest first.
pub fn logs(id: u64, runs: &[(RunRecord, Vec<Arc<Event>>)]) -> Vec<AgentRunLog> {
    let mut out = Vec::new();
    for (record, events) in runs {
        let mut prompt = AgentRunLog::new(id, record.created_at, "USER_MESSAGE");
        prompt.observation = Some(json!(record.input_text()));
        out.push(prompt);
        // Text the model wrote before calling tools is its thought for them.
        let mut thought: Option<String> = None;
        for ev in events {
            match &ev.kind {
                EventKind::MessageCompleted { text, .. } if !text.trim().is_empty() => {
                    thought = Some(text.clone());
                }
                EventKind::ReasoningCompleted { text, .. } => {
                    let mut log = AgentRunLog::new(id, ev.at, "PLAN_EVALUATION");
                    log.thought = Some(text.clone());
                    out.push(log);
                }
                EventKind::ToolResult(d) => {
                    let ToolResultData {
                        name,
                        arguments,
                        result,
                        is_error,
                        ..
                    } = &**d;
                    let mut log = AgentRunLog::new(id, ev.at, "ACTION");
                    log.tool_name = Some(name.clone());
                    log.thought = thought.take();
                    log.tool_input = Some(match arguments {
                        v @ Value::Object(_) => v.clone(),
                        other => json!({ "input": other }),
                    });
                    log.tool_output = Some(match serde_json::from_str::<Value>(result) {
                        Ok(v @ Value::Object(_)) => v,
                        _ => json!({ "result": result, "is_error": is_error }),
                    });
                    log.observation = Some(json!(result));
                    out.push(log);
                }
                EventKind::Awaiting { pending } => {
                    for call in pending {
                        let mut log = AgentRunLog::new(id, ev.at, "ACTION");
                        log.tool_name = Some(call.name.clone());
                        log.thought = thought.take();
                        log.tool_input = Some(call.arguments.clone());
                        log.observation = Some(json!(if call.needs_approval() {
                            "Waiting for approval to run this call."
                        } else {
                            "Waiting for the result of this call."
                        }));
                        out.push(log);
                    }
                }
                EventKind::Completed(d) => {
                    let CompletedData { content, .. } = &**d;
                    let mut log = AgentRunLog::new(id, ev.at, "FINAL_ANSWER");
                    log.observation = Some(json!(content));
                    out.push(log);
                }
                EventKind::Failed { error } => {
                    let mut log = AgentRunLog::new(id, ev.at, "ERROR");
                    log.observation = Some(json!({
                        "error": error.message,
                        "kind": error.kind.as_str(),
                    }));
                    out.push(log);
                }
                EventKind::Cancelled { reason, .. } => {
                    let mut log = AgentRunLog::new(id, ev.at, "ERROR");
                    log.observation = Some(json!(reason));
                    out.push(log);
                }
                _ => {}
            }
        }
    }
    out
}
