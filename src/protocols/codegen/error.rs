//! Codegen error bodies, in one place: `{"message", "status_code"}`, FastAPI's
//! `{"detail": [...]}` for validation errors (422), and on 429 both `message`
//! (current schema) and `detail` (codegen-api-client 1.0.0's older schema).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::engine::EngineError;
use crate::web::errors::{self, sentence};

/// One FastAPI/pydantic validation error.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ValidationIssue {
    /// Where: `["body", "prompt"]`, `["query", "limit"]`, `["path", "org_id"]`...
    #[schema(schema_with = crate::web::schemas::loc_schema)]
    pub loc: Vec<Value>,
    pub msg: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(schema_with = crate::web::schemas::input_schema)]
    pub input: Value,
}

impl ValidationIssue {
    pub fn new(loc: Vec<Value>, kind: &str, msg: impl Into<String>, input: Value) -> Self {
        Self {
            loc,
            msg: msg.into(),
            kind: kind.to_string(),
            input,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CodegenError {
    #[error("Invalid or missing API token.")]
    Unauthorized,
    #[error(
        "Alloted agent runs for the current billing plan have been reached. Please upgrade your plan to continue."
    )]
    QuotaReached,
    #[error("You do not have access to this organization.")]
    Forbidden,
    #[error("No repos found in the organization. Please add some repos and try again.")]
    RepoNotFound,
    #[error("Agent run not found.")]
    RunNotFound,
    #[error("User not found.")]
    UserNotFound,
    #[error("{0}")]
    Conflict(String),
    /// 413: the body, or (with the engine's reason naming the file) one of
    /// the images, is over a limit.
    #[error("{}", .0.as_deref().unwrap_or("Request body too large."))]
    PayloadTooLarge(Option<String>),
    #[error("validation failed")]
    Validation(Vec<ValidationIssue>),
    #[error("Rate limit exceeded. Please try again later.")]
    RateLimited { retry_after_secs: u64 },
    #[error("The server is shutting down.")]
    Unavailable,
    /// 503 with Retry-After: the store is unavailable for now.
    #[error("{message}")]
    StoreUnavailable {
        message: String,
        retry_after_secs: u64,
    },
    /// 500: the cause is kept whole for the logging layer, never shown.
    #[error("Internal server error.")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl CodegenError {
    pub fn invalid(issue: ValidationIssue) -> Self {
        CodegenError::Validation(vec![issue])
    }
}

/// The error body of every non-validation error.
#[derive(Serialize, ToSchema)]
#[schema(as = CodegenErrorBody)]
pub struct ErrorBody {
    pub message: String,
    pub status_code: u16,
}

/// FastAPI's validation error body (422).
#[derive(Serialize, ToSchema)]
pub struct ValidationErrorBody {
    pub detail: Vec<ValidationIssue>,
}

/// 429: both the current (`message`) and the older (`detail`) schema's field.
#[derive(Serialize, ToSchema)]
pub struct RateLimitBody {
    pub message: String,
    pub detail: String,
    pub status_code: u16,
}

impl IntoResponse for CodegenError {
    fn into_response(self) -> Response {
        let status = match &self {
            CodegenError::Unauthorized => StatusCode::UNAUTHORIZED,
            CodegenError::QuotaReached => StatusCode::PAYMENT_REQUIRED,
            CodegenError::Forbidden => StatusCode::FORBIDDEN,
            CodegenError::RepoNotFound | CodegenError::RunNotFound | CodegenError::UserNotFound => {
                StatusCode::NOT_FOUND
            }
            CodegenError::Conflict(_) => StatusCode::CONFLICT,
            CodegenError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            CodegenError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            CodegenError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            CodegenError::Unavailable | CodegenError::StoreUnavailable { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            CodegenError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        match self {
            CodegenError::Validation(detail) => {
                (status, Json(ValidationErrorBody { detail })).into_response()
            }
            CodegenError::RateLimited { retry_after_secs } => {
                let body = json!({
                    "message": CodegenError::RateLimited { retry_after_secs }.to_string(),
                    "detail": "Rate limit exceeded",
                    "status_code": status.as_u16(),
                });
                let resp = (status, Json(body)).into_response();
                errors::with_retry_after(resp, Some(retry_after_secs))
            }
            CodegenError::StoreUnavailable {
                message,
                retry_after_secs,
            } => {
                let body = ErrorBody {
                    message,
                    status_code: status.as_u16(),
                };
                let resp = (status, Json(body)).into_response();
                errors::with_retry_after(resp, Some(retry_after_secs))
            }
            other => {
                let resp = (
                    status,
                    Json(ErrorBody {
                        message: other.to_string(),
                        status_code: status.as_u16(),
                    }),
                )
                    .into_response();
                match other {
                    CodegenError::Internal(source) => errors::with_fault(resp, source),
                    _ => resp,
                }
            }
        }
    }
}

impl From<EngineError> for CodegenError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::RunNotFound(_) => CodegenError::RunNotFound,
            EngineError::NotAwaiting { status, .. } => CodegenError::Conflict(format!(
                "Agent run is {status}; it can be resumed once it has finished."
            )),
            EngineError::InvalidInput(m) => CodegenError::invalid(ValidationIssue::new(
                vec![json!("body")],
                "value_error",
                m,
                Value::Null,
            )),
            e @ (EngineError::UnsupportedMedia { .. } | EngineError::DocumentOverBudget { .. }) => {
                CodegenError::invalid(ValidationIssue::new(
                    vec![json!("body"), json!("images")],
                    "value_error",
                    e.to_string(),
                    Value::Null,
                ))
            }
            e @ EngineError::TooLarge { .. } => {
                CodegenError::PayloadTooLarge(Some(format!("{}.", sentence(&e.to_string()))))
            }
            EngineError::TooManyRuns {
                retry_after_secs, ..
            } => CodegenError::RateLimited { retry_after_secs },
            EngineError::ShuttingDown => CodegenError::Unavailable,
            e @ EngineError::StoreUnavailable {
                retry_after_secs, ..
            } => CodegenError::StoreUnavailable {
                message: e.store_unavailable_message().unwrap_or_default(),
                retry_after_secs,
            },
            other => CodegenError::Internal(other.into()),
        }
    }
}
