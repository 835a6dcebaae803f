//! FastAPI's validation error, the entry of the 422 list that AgentOS,
//! AG-UI and Codegen clients parse (`{"detail": [{type, loc, msg,
//! input}]}`): written once here, in FastAPI's (pydantic 2's) key order;
//! each protocol wraps the list in its own body (error.rs).
//!
//! Plain data: must never depend on an adapter.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// One FastAPI validation error.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FieldError {
    /// e.g. `missing`, `string_type`, `int_parsing`, `json_invalid`, `value_error`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Where: `["body", "messages", 0, "content"]`, `["query", "limit"]`.
    #[schema(schema_with = super::schemas::loc_schema)]
    pub loc: Vec<Value>,
    pub msg: String,
    /// The offending value (omitted where the protocol leaves it out for a
    /// missing field).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = super::schemas::input_schema)]
    pub input: Option<Value>,
}

impl FieldError {
    pub fn new(
        kind: &'static str,
        loc: Vec<Value>,
        msg: impl Into<String>,
        input: Option<Value>,
    ) -> Self {
        Self {
            kind,
            loc,
            msg: msg.into(),
            input,
        }
    }
}
