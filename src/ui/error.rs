//! The UI API's errors, in the shape the shared HTTP layer gives every path
//! outside a protocol's prefix (`{"detail", "error_code"}`), so the pages
//! read one shape whatever went wrong.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::engine::EngineError;
use crate::web::errors;

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
            // The UI reads a store fault as "try again" like an outage.
            UiError::Engine(EngineError::Store(_)) => StatusCode::SERVICE_UNAVAILABLE,
            UiError::Engine(e) => errors::status_of(e.class()),
        }
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let resp = errors::response(super::PATH, status, &self.to_string());
        let retry_after = match &self {
            UiError::Engine(e) => e.class().retry_after_secs,
            _ => None,
        };
        let resp = errors::with_retry_after(resp, retry_after);
        match self {
            UiError::Engine(e) if status.is_server_error() => errors::with_fault(resp, e),
            _ => resp,
        }
    }
}
