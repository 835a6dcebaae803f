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

use crate::engine::EngineError;
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
    /// 409 `server_error`.
    #[error("{0}")]
    Conflict(String),
    #[error("Method Not Allowed")]
    MethodNotAllowed,
    /// 413 `server_error`.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 429 `server_error` with Retry-After: the server runs as many runs as it may.
    #[error("{message}")]
    TooManyRuns {
        message: String,
        retry_after_secs: u64,
    },
    /// 503 `server_error`: the server is shutting down.
    #[error("The server is shutting down")]
    Unavailable,
    /// 503 `server_error` with Retry-After: the store is unavailable for now.
    #[error("{message}")]
    StoreUnavailable {
        message: String,
        retry_after_secs: u64,
    },
    /// 500 `server_error`; the detail is logged, never shown.
    #[error("An unexpected error occurred")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
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
            AcpError::Conflict(_) => StatusCode::CONFLICT,
            AcpError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AcpError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AcpError::TooManyRuns { .. } => StatusCode::TOO_MANY_REQUESTS,
            AcpError::Unavailable | AcpError::StoreUnavailable { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AcpError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
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

impl IntoResponse for AcpError {
    fn into_response(self) -> Response {
        let resp = (self.status(), Json(self.body())).into_response();
        match self {
            AcpError::TooManyRuns {
                retry_after_secs, ..
            }
            | AcpError::StoreUnavailable {
                retry_after_secs, ..
            } => errors::with_retry_after(resp, Some(retry_after_secs)),
            AcpError::Internal(source) => errors::with_fault(resp, source),
            _ => resp,
        }
    }
}

impl From<EngineError> for AcpError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::AgentNotFound(name) => {
                AcpError::NotFound(format!("Agent {name} not found"))
            }
            EngineError::RunNotFound(id) => AcpError::NotFound(format!("Run {id} not found")),
            EngineError::SessionNotFound(id) => {
                AcpError::NotFound(format!("Session {id} not found"))
            }
            EngineError::Forbidden(m) => AcpError::Forbidden(m),
            EngineError::RunExists(id) => AcpError::Conflict(format!("Run {id} already exists")),
            EngineError::NotAwaiting { run_id, .. } => {
                AcpError::Forbidden(format!("Run {run_id} has no await request"))
            }
            EngineError::InvalidInput(m) => AcpError::InvalidInput(m),
            e @ EngineError::UnsupportedMedia { .. } => AcpError::BadRequest(e.to_string()),
            e @ EngineError::TooLarge { .. } => AcpError::PayloadTooLarge(e.to_string()),
            e @ EngineError::DocumentOverBudget { .. } => AcpError::InvalidInput(e.to_string()),
            EngineError::TooManyRuns {
                limit,
                per_caller,
                retry_after_secs,
            } => AcpError::TooManyRuns {
                message: errors::run_limit_message(limit, per_caller, retry_after_secs),
                retry_after_secs,
            },
            EngineError::ShuttingDown => AcpError::Unavailable,
            e @ EngineError::StoreUnavailable {
                retry_after_secs, ..
            } => AcpError::StoreUnavailable {
                message: e.store_unavailable_message().unwrap_or_default(),
                retry_after_secs,
            },
            e @ EngineError::Store(_) => AcpError::Internal(e.into()),
        }
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
