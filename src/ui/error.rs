//! The UI API's errors, in the shape the shared HTTP layer gives every path
//! outside a protocol's prefix (`{"detail", "error_code"}`), so the pages
//! read one shape whatever went wrong.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::engine::EngineError;
use crate::http::errors;

#[derive(Debug, thiserror::Error)]
pub enum UiError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    /// The run had ended already: there is nothing to stop.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl UiError {
    fn status(&self) -> StatusCode {
        match self {
            UiError::NotFound(_) => StatusCode::NOT_FOUND,
            UiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            UiError::Conflict(_) => StatusCode::CONFLICT,
            UiError::Engine(e) => match e {
                EngineError::RunNotFound(_) | EngineError::AgentNotFound(_) => {
                    StatusCode::NOT_FOUND
                }
                EngineError::InvalidInput(_) => StatusCode::BAD_REQUEST,
                EngineError::NotAwaiting { .. } | EngineError::RunExists(_) => StatusCode::CONFLICT,
                EngineError::ShuttingDown
                | EngineError::StoreUnavailable { .. }
                | EngineError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(error = %self, "ui api request failed");
        }
        errors::response(super::PATH, status, &self.to_string())
    }
}
