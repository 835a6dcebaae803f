//! How MCP says a call was refused. As the current specification asks, a
//! call the model can correct (wrong arguments, a limit reached, the server
//! stopping) is a tool result with `isError: true` it reads; an unknown
//! tool and the server's own faults are JSON-RPC errors. Failures before
//! MCP (auth, limits, hosts) are the HTTP layer's JSON-RPC bodies
//! (`web::errors`). Depends on the engine's error and rmcp's model only.

use rmcp::ErrorData;
use rmcp::model::{CallToolResult, ContentBlock};

use crate::engine::EngineError;

/// A call the tool cannot run as given: an error result the model reads.
pub(crate) fn refused(why: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(why.into())])
}

/// A call naming no configured agent or team.
pub(crate) fn unknown_tool(name: &str) -> ErrorData {
    ErrorData::invalid_params(format!("no agent or team '{name}'"), None)
}

/// A run the engine would not start: what the caller can act on is the
/// model's to read; the rest is the server's fault.
pub(crate) fn start_refused(e: EngineError) -> Result<CallToolResult, ErrorData> {
    match e {
        e @ (EngineError::InvalidInput(_)
        | EngineError::TooManyRuns { .. }
        | EngineError::ShuttingDown
        | EngineError::Forbidden(_)
        | EngineError::SessionNotFound(_)) => Ok(refused(e.to_string())),
        e => Err(ErrorData::internal_error(e.to_string(), None)),
    }
}
