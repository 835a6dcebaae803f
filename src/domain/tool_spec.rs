//! How a tool is described to a model: its name, what it is for and the
//! JSON Schema of its arguments. Built-in tools, MCP tools and tools a
//! client declares (AG-UI frontend tools) are all offered this way.

use serde::{Deserialize, Serialize};

/// A tool the model may call: built-in, or declared by the client (AG-UI
/// frontend tools) and executed outside the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// JSON Schema of the arguments object.
    #[serde(default = "empty_object_schema")]
    pub parameters: serde_json::Value,
}

pub fn empty_object_schema() -> serde_json::Value {
    serde_json::json!({"type": "object", "properties": {}})
}
