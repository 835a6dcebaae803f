//! ACP error bodies, in one place: every error the ACP routes answer (bad
//! JSON, bad path ids, unknown paths and methods included) is
//! `{"code", "message", "data"}` with the status/code pairs of the acp-sdk
//! server (spec §6). The Python client parses every non-2xx body as this
//! shape, so nothing else may ever reach it.
//!
//! Depends on the engine's error type only; never on handlers.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::engine::{EngineError, ErrorClass};
use crate::web::errors;

#[derive(Debug, thiserror::Error)]
pub enum AcpError {
    /// 404 `not_found`.
    #[error("{0}")]
    NotFound(String),
    /// 400 `invalid_input` (the SDK's answer to a session id mismatch).
    #[error("{0}")]
    BadRequest(String),
    /// 422 `invalid_input`: a body or path parameter that does not validate.
    #[error("{0}")]
    InvalidInput(String),
    /// 403 `server_error`: the run is not in a state that allows the action.
    #[error("{0}")]
    Forbidden(String),
    #[error("Method Not Allowed")]
    MethodNotAllowed,
    /// 413 `server_error`.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// What the engine refused or failed at: its class gives the status
    /// and Retry-After, `engine_message` the words.
    #[error("{}", engine_message(.0))]
    Engine(#[source] EngineError),
}

/// The ACP Error object.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = AcpError)]
pub struct ErrorBody {
    /// `not_found`, `invalid_input` or `server_error`.
    pub code: String,
    pub message: String,
    #[schema(value_type = Option<Object>)]
    pub data: Option<Value>,
}

impl AcpError {
    fn status(&self) -> StatusCode {
        match self {
            AcpError::NotFound(_) => StatusCode::NOT_FOUND,
            AcpError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AcpError::InvalidInput(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AcpError::Forbidden(_) => StatusCode::FORBIDDEN,
            AcpError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AcpError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AcpError::Engine(e) => errors::status_of(class(e)),
        }
    }

    pub fn body(&self) -> ErrorBody {
        // The SDK derives the code from the status the same way.
        let code = match self.status() {
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => "invalid_input",
            _ => "server_error",
        };
        ErrorBody {
            code: code.to_string(),
            message: self.to_string(),
            data: None,
        }
    }
}

/// The engine's class, but where ACP's documented answers differ: resuming
/// a run that waits for nothing is 403 (spec §4, "403 not awaiting"; the
/// class says 409), and input the run will not take is the acp-sdk
/// server's validation answer, 422 `invalid_input` (spec §6; the class
/// says 400), which ACP clients and this repo's tests rely on.
fn class(e: &EngineError) -> ErrorClass {
    match e {
        EngineError::NotAwaiting { .. } => errors::with_status(e.class(), StatusCode::FORBIDDEN),
        EngineError::InvalidInput(_) => {
            errors::with_status(e.class(), StatusCode::UNPROCESSABLE_ENTITY)
        }
        _ => e.class(),
    }
}

/// How ACP words an engine error (never a 500's cause).
fn engine_message(e: &EngineError) -> String {
    match e {
        EngineError::AgentNotFound(name) => format!("Agent {name} not found"),
        EngineError::RunNotFound(id) => format!("Run {id} not found"),
        EngineError::RunExists(id) => format!("Run {id} already exists"),
        EngineError::NotAwaiting { run_id, .. } => format!("Run {run_id} has no await request"),
        EngineError::InvalidInput(m) => m.clone(),
        EngineError::TooManyRuns {
            limit,
            per_caller,
            retry_after_secs,
        } => errors::run_limit_message(*limit, *per_caller, *retry_after_secs),
        EngineError::ShuttingDown => "The server is shutting down".into(),
        EngineError::StoreUnavailable { .. } => e.store_unavailable_message().unwrap_or_default(),
        EngineError::Store(_) => "An unexpected error occurred".into(),
        other => other.to_string(),
    }
}

impl IntoResponse for AcpError {
    fn into_response(self) -> Response {
        let body = self.body();
        match self {
            AcpError::Engine(e) => errors::engine_response(class(&e), body, e),
            other => (other.status(), Json(body)).into_response(),
        }
    }
}

impl From<EngineError> for AcpError {
    fn from(e: EngineError) -> Self {
        AcpError::Engine(e)
    }
}

/// Answers requests to unknown paths under the ACP prefix.
pub async fn unknown_path() -> AcpError {
    AcpError::NotFound("Not Found".into())
}

/// Answers known ACP paths called with the wrong method.
pub async fn method_not_allowed() -> AcpError {
    AcpError::MethodNotAllowed
}
