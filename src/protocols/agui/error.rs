//! AG-UI error bodies, in one place. Before a stream starts, errors are plain
//! HTTP answers in FastAPI's shape (what Agno's `/agui` sends): 422 with a
//! list of `{type, loc, msg, input}` for a bad body, `{"detail": "..."}`
//! otherwise. Once streaming, failures are RUN_ERROR events instead (wire.rs).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::engine::EngineError;
use crate::web::errors;
pub use crate::web::validation::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum AguiError {
    #[error("invalid request body")]
    Validation(Vec<FieldError>),
    #[error("Agent '{0}' not found")]
    AgentNotFound(String),
    /// What the engine refused or failed at: its class gives the status
    /// and Retry-After (AG-UI's spec asks only for a 4xx before streaming,
    /// so nothing is overridden), `engine_detail` the words.
    #[error("{}", engine_detail(.0))]
    Engine(#[source] EngineError),
}

/// The error body: a message, or the list of validation errors on 422.
#[derive(Serialize, ToSchema)]
#[schema(as = AguiErrorBody)]
pub struct ErrorBody {
    #[schema(schema_with = crate::web::schemas::detail_schema)]
    pub detail: Value,
}

impl IntoResponse for AguiError {
    fn into_response(self) -> Response {
        let detail = match &self {
            AguiError::Validation(errors) => serde_json::to_value(errors).unwrap_or(Value::Null),
            other => Value::String(other.to_string()),
        };
        let body = ErrorBody { detail };
        match self {
            AguiError::Validation(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
            }
            AguiError::AgentNotFound(_) => (StatusCode::NOT_FOUND, Json(body)).into_response(),
            AguiError::Engine(e) => errors::engine_response(e.class(), body, e),
        }
    }
}

/// How AG-UI words an engine error (never a 500's cause).
fn engine_detail(e: &EngineError) -> String {
    match e {
        EngineError::AgentNotFound(id) => format!("Agent '{id}' not found"),
        EngineError::InvalidInput(m) => m.clone(),
        EngineError::TooManyRuns {
            limit,
            per_caller,
            retry_after_secs,
        } => errors::run_limit_message(*limit, *per_caller, *retry_after_secs),
        EngineError::StoreUnavailable { .. } => e.store_unavailable_message().unwrap_or_default(),
        EngineError::ShuttingDown => "The server is shutting down".into(),
        EngineError::Store(_) => "Internal server error".into(),
        other => other.to_string(),
    }
}

impl From<EngineError> for AguiError {
    fn from(e: EngineError) -> Self {
        AguiError::Engine(e)
    }
}
