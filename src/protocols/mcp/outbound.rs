//! Engine -> MCP: each step of a run as a progress note, and the run's
//! record as the tool result (text for the model, `structuredContent` as
//! the declared output schema says, the ids in `_meta`). Depends on the
//! engine's types and rmcp's model only.

use rmcp::model::{CallToolResult, ContentBlock, MetaObject};
use serde_json::{Value, json};

use crate::engine::{EventKind, RunRecord, RunStartedData, RunStatus, ToolCallStartedData};

/// The progress note an event is worth; None for the events a client is
/// not told about.
pub(super) fn progress_note(kind: &EventKind) -> Option<String> {
    Some(match kind {
        EventKind::RunStarted(d) => {
            let RunStartedData { agent_name, .. } = &**d;
            format!("{agent_name} started")
        }
        EventKind::ToolCallStarted(d) => {
            let ToolCallStartedData { name, .. } = &**d;
            format!("calling {name}")
        }
        EventKind::TextDelta { delta, .. } => delta.to_string(),
        _ => return None,
    })
}

/// The tool result for a run that has ended (or paused).
pub(super) fn result(record: RunRecord) -> CallToolResult {
    let mut meta = MetaObject::default();
    meta.insert("agentd/run_id".into(), json!(record.run_id));
    meta.insert("agentd/session_id".into(), json!(record.session_id));
    let mut result = match record.status {
        RunStatus::Completed => {
            let mut structured = json!({
                "answer": record.content,
                "session_id": record.session_id,
                "run_id": record.run_id,
            });
            if let Some(output) = record.structured.filter(Value::is_object) {
                structured["output"] = output;
            }
            let mut r = CallToolResult::success(vec![
                ContentBlock::text(record.content.clone()),
                ContentBlock::text(format!(
                    "(session_id: {}; pass it as session_id to continue this conversation)",
                    record.session_id
                )),
            ]);
            r.structured_content = Some(structured);
            r
        }
        RunStatus::Failed => CallToolResult::error(vec![ContentBlock::text(
            record
                .error
                .map(|e| e.message)
                .unwrap_or_else(|| "the run failed".into()),
        )]),
        RunStatus::Awaiting => {
            let asks: Vec<String> = record
                .pending
                .iter()
                .map(|p| {
                    p.arguments
                        .get("question")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .unwrap_or_else(|| format!("{} {}", p.name, p.arguments))
                })
                .collect();
            CallToolResult::error(vec![ContentBlock::text(format!(
                "The agent paused for input this tool cannot give (run {}): {}",
                record.run_id,
                asks.join("; ")
            ))])
        }
        _ => CallToolResult::error(vec![ContentBlock::text(format!(
            "The run ended {}",
            record.status.as_str()
        ))]),
    };
    result.meta = Some(meta);
    result
}
