//! Codegen error bodies, in one place: `{"message", "status_code"}`, FastAPI's
//! `{"detail": [...]}` for validation errors (422), and on 429 both `message`
//! (current schema) and `detail` (codegen-api-client 1.0.0's older schema).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::engine::{EngineError, ErrorClass};
use crate::web::errors::{self, sentence};

/// FastAPI's validation error (web::validation), as Codegen's code names it.
pub use crate::web::validation::FieldError as ValidationIssue;

/// A validation error that, as pydantic's, always carries the refused
/// `input` (null for a missing field).
pub fn issue(
    loc: Vec<Value>,
    kind: &'static str,
    msg: impl Into<String>,
    input: Value,
) -> ValidationIssue {
    ValidationIssue::new(kind, loc, msg, Some(input))
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
    /// 500: the cause is kept whole for the logging layer, never shown.
    #[error("Internal server error.")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// What the engine refused or failed at: its class gives the status
    /// and Retry-After (see `class`), `engine_message` the words.
    #[error("{}", engine_message(.0))]
    Engine(#[source] EngineError),
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
            CodegenError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            CodegenError::Engine(e) => errors::status_of(class(e)),
        };
        match self {
            CodegenError::Validation(detail) => {
                (status, Json(ValidationErrorBody { detail })).into_response()
            }
            CodegenError::RateLimited { retry_after_secs } => {
                let resp = (status, Json(rate_limit_body())).into_response();
                errors::with_retry_after(resp, Some(retry_after_secs))
            }
            CodegenError::Engine(e) => {
                let body = match &e {
                    EngineError::TooManyRuns { .. } => rate_limit_body(),
                    _ => match validation_issue(&e) {
                        Some(issue) => json!(ValidationErrorBody {
                            detail: vec![issue]
                        }),
                        None => json!(ErrorBody {
                            message: engine_message(&e),
                            status_code: status.as_u16(),
                        }),
                    },
                };
                errors::engine_response(class(&e), body, e)
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

/// 429 in both the current and the older schema.
fn rate_limit_body() -> Value {
    json!({
        "message": "Rate limit exceeded. Please try again later.",
        "detail": "Rate limit exceeded",
        "status_code": 429,
    })
}

/// The engine's class, but for input the run cannot use: Codegen's API
/// declares 422 (FastAPI's HTTPValidationError) as its only answer to bad
/// input (docs/specs/codegen.md §3), where the class says 400.
fn class(e: &EngineError) -> ErrorClass {
    match validation_issue(e) {
        Some(_) => errors::with_status(e.class(), StatusCode::UNPROCESSABLE_ENTITY),
        None => e.class(),
    }
}

/// The validation error an engine refusal of the input reads as.
fn validation_issue(e: &EngineError) -> Option<ValidationIssue> {
    let loc = match e {
        EngineError::InvalidInput(_) => vec![json!("body")],
        EngineError::UnsupportedMedia { .. } | EngineError::DocumentOverBudget { .. } => {
            vec![json!("body"), json!("images")]
        }
        _ => return None,
    };
    let msg = match e {
        EngineError::InvalidInput(m) => m.clone(),
        other => other.to_string(),
    };
    Some(issue(loc, "value_error", msg, Value::Null))
}

/// How Codegen words an engine error (never a 500's cause).
fn engine_message(e: &EngineError) -> String {
    match e {
        EngineError::RunNotFound(_) => "Agent run not found.".into(),
        EngineError::NotAwaiting { status, .. } => {
            format!("Agent run is {status}; it can be resumed once it has finished.")
        }
        EngineError::TooManyRuns { .. } => "Rate limit exceeded. Please try again later.".into(),
        EngineError::ShuttingDown => "The server is shutting down.".into(),
        EngineError::StoreUnavailable { .. } => e.store_unavailable_message().unwrap_or_default(),
        EngineError::Store(_) => "Internal server error.".into(),
        other => format!("{}.", sentence(&other.to_string())),
    }
}

impl From<EngineError> for CodegenError {
    fn from(e: EngineError) -> Self {
        CodegenError::Engine(e)
    }
}
