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

/// One FastAPI validation error.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FieldError {
    /// e.g. `missing`, `string_type`, `list_type`, `json_invalid`, `value_error`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Where: `["body", "messages", 0, "content"]`.
    #[schema(value_type = Vec<Object>)]
    pub loc: Vec<Value>,
    pub msg: String,
    /// The offending value (omitted when the field is missing).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub input: Option<Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum AguiError {
    #[error("invalid request body")]
    Validation(Vec<FieldError>),
    #[error("Agent '{0}' not found")]
    AgentNotFound(String),
    /// 400: input the run cannot use (e.g. media the model cannot take).
    #[error("{0}")]
    BadRequest(String),
    /// 404: a thread (or run) that is unknown, or another user's.
    #[error("{0}")]
    NotFound(String),
    /// 403: an agent or team the caller may not run.
    #[error("{0}")]
    Forbidden(String),
    /// 409: the paused run a `resume` names was continued already.
    #[error("{0}")]
    Conflict(String),
    /// 422 with a message: a document over the reading budget.
    #[error("{0}")]
    Unprocessable(String),
    /// 413: files over the configured size limits.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 429 with Retry-After: the server runs as many runs as it may.
    #[error("{message}")]
    TooManyRuns {
        message: String,
        retry_after_secs: u64,
    },
    /// 503: the server is shutting down.
    #[error("The server is shutting down")]
    Unavailable,
    /// 503 with Retry-After: the store is unavailable for now.
    #[error("{message}")]
    StoreUnavailable {
        message: String,
        retry_after_secs: u64,
    },
    /// 500: the cause is kept whole for the logging layer, never shown.
    #[error("Internal server error ({0})")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
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
        let (status, detail) = match self {
            AguiError::Validation(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                serde_json::to_value(errors).unwrap_or(Value::Null),
            ),
            AguiError::AgentNotFound(_) => (StatusCode::NOT_FOUND, Value::String(self.to_string())),
            AguiError::BadRequest(m) => (StatusCode::BAD_REQUEST, Value::String(m)),
            AguiError::NotFound(m) => (StatusCode::NOT_FOUND, Value::String(m)),
            AguiError::Forbidden(m) => (StatusCode::FORBIDDEN, Value::String(m)),
            AguiError::Conflict(m) => (StatusCode::CONFLICT, Value::String(m)),
            AguiError::PayloadTooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, Value::String(m)),
            AguiError::Unprocessable(m) => (StatusCode::UNPROCESSABLE_ENTITY, Value::String(m)),
            AguiError::TooManyRuns {
                retry_after_secs: secs,
                ..
            }
            | AguiError::StoreUnavailable {
                retry_after_secs: secs,
                ..
            } => {
                let status = match self {
                    AguiError::TooManyRuns { .. } => StatusCode::TOO_MANY_REQUESTS,
                    _ => StatusCode::SERVICE_UNAVAILABLE,
                };
                let resp = (
                    status,
                    Json(ErrorBody {
                        detail: Value::String(self.to_string()),
                    }),
                )
                    .into_response();
                return errors::with_retry_after(resp, Some(secs));
            }
            AguiError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                Value::String(self.to_string()),
            ),
            AguiError::Internal(source) => {
                let resp = (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(ErrorBody {
                        detail: Value::String("Internal server error".into()),
                    }),
                )
                    .into_response();
                return errors::with_fault(resp, source);
            }
        };
        (status, Json(ErrorBody { detail })).into_response()
    }
}

impl From<EngineError> for AguiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::AgentNotFound(id) => AguiError::AgentNotFound(id),
            EngineError::InvalidInput(msg) => AguiError::Validation(vec![FieldError {
                kind: "value_error",
                loc: vec!["body".into(), "messages".into()],
                msg,
                input: None,
            }]),
            // The handler retries a taken run id: this means a bug rather
            // than a client mistake.
            EngineError::RunExists(_) => AguiError::Internal(e.into()),
            EngineError::RunNotFound(id) => AguiError::NotFound(format!("Run '{id}' not found")),
            EngineError::SessionNotFound(id) => {
                AguiError::NotFound(format!("Thread '{id}' not found"))
            }
            EngineError::Forbidden(m) => AguiError::Forbidden(m),
            EngineError::NotAwaiting { .. } => AguiError::Conflict(e.to_string()),
            EngineError::Store(_) => AguiError::Internal(e.into()),
            EngineError::UnsupportedMedia { .. } => AguiError::BadRequest(e.to_string()),
            EngineError::TooLarge { .. } => AguiError::PayloadTooLarge(e.to_string()),
            EngineError::DocumentOverBudget { .. } => AguiError::Unprocessable(e.to_string()),
            EngineError::TooManyRuns {
                limit,
                per_caller,
                retry_after_secs,
            } => AguiError::TooManyRuns {
                message: errors::run_limit_message(limit, per_caller, retry_after_secs),
                retry_after_secs,
            },
            EngineError::ShuttingDown => AguiError::Unavailable,
            EngineError::StoreUnavailable {
                retry_after_secs, ..
            } => AguiError::StoreUnavailable {
                message: e.store_unavailable_message().unwrap_or_default(),
                retry_after_secs,
            },
        }
    }
}
