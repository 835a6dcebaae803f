//! The MCP tools' wire: the input and output schemas every agent tool
//! declares and its annotations. Plain data; depends on rmcp's model only.

use std::sync::Arc;

use rmcp::model::ToolAnnotations;
use serde_json::{Map, Value, json};

/// What every agent tool takes: `{message, session_id?}`.
pub(super) fn input_schema() -> Arc<Map<String, Value>> {
    match json!({
        "type": "object",
        "properties": {
            "message": {"type": "string", "description": "What to ask the agent"},
            "session_id": {"type": "string",
                "description": "Continue this session (its history is the agent's context); \
                    a new one is made when absent"},
        },
        "required": ["message"],
    }) {
        Value::Object(m) => Arc::new(m),
        _ => Arc::default(),
    }
}

/// What every agent tool answers in `structuredContent`.
pub(super) fn output_schema() -> Arc<Map<String, Value>> {
    match json!({
        "type": "object",
        "properties": {
            "answer": {"type": "string", "description": "The agent's reply"},
            "session_id": {"type": "string",
                "description": "Pass it as session_id to continue this conversation"},
            "run_id": {"type": "string", "description": "This run, as every agentd API names it"},
            "output": {"type": "object",
                "description": "The reply as structured data, for agents with a response schema"},
        },
        "required": ["answer", "session_id", "run_id"],
    }) {
        Value::Object(m) => Arc::new(m),
        _ => Arc::default(),
    }
}

/// An agent reads and writes what its own tools reach, each call is a new
/// run, and its model and tools reach outside: not read-only, not
/// idempotent, open world. Whether it destroys anything depends on its
/// tools, so that hint keeps the specification's cautious default.
pub(super) fn annotations(name: &str) -> ToolAnnotations {
    ToolAnnotations::with_title(name)
        .read_only(false)
        .idempotent(false)
        .open_world(true)
}
