//! AgentOS error bodies, in one place: `{"detail": ..., "error_code": ...}`,
//! with FastAPI's list-shaped `detail` for validation errors (422).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::engine::EngineError;
use crate::web::errors::{self, sentence};
use crate::web::validation::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum AgentOsError {
    #[error("Agent not found")]
    AgentNotFound,
    #[error("Team not found")]
    TeamNotFound,
    #[error("{0}")]
    NotFound(String),
    /// An unknown session. Its 404 also carries ACP's error keys, because
    /// the ACP client probes `GET /sessions/{id}` too and must read
    /// `code: not_found` there (docs/specs/README.md, the third conflict).
    #[error("{0}")]
    SessionNotFound(String),
    #[error("{0}")]
    BadRequest(String),
    /// A FastAPI-style validation failure on one field (boxed: it is the
    /// largest variant and errors travel through every handler's Result).
    #[error("{}", .0.msg)]
    Validation(Box<FieldError>),
    #[error("{0}")]
    Conflict(String),
    /// 403: the caller may not do this (an agent it may not run, a
    /// `user_id` naming someone else).
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// What the engine refused or failed at: its class gives the status
    /// and Retry-After, `engine_detail` the words.
    #[error("{}", engine_detail(.0))]
    Engine(#[source] EngineError),
}

impl AgentOsError {
    pub fn validation(
        kind: &'static str,
        loc: &[&str],
        msg: impl Into<String>,
        input: Value,
    ) -> Self {
        let loc = loc.iter().map(|s| Value::from(*s)).collect();
        AgentOsError::Validation(Box::new(FieldError::new(kind, loc, msg, Some(input))))
    }

    pub fn missing(loc: &[&str]) -> Self {
        Self::validation("missing", loc, "Field required", Value::Null)
    }
}

/// The error body AgentOS clients parse.
#[derive(Serialize, ToSchema)]
#[schema(as = AgentOsErrorBody)]
pub struct ErrorBody {
    /// A message, or FastAPI's list of validation errors on 422.
    #[schema(schema_with = crate::web::schemas::detail_schema)]
    pub detail: Value,
    /// BAD_REQUEST, NOT_FOUND, VALIDATION_ERROR, UNPROCESSABLE_ENTITY, CONFLICT or INTERNAL_SERVER_ERROR.
    pub error_code: &'static str,
    /// ACP's error code (`not_found`), on unknown sessions only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    /// ACP's error message, on unknown sessions only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl IntoResponse for AgentOsError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            AgentOsError::AgentNotFound
            | AgentOsError::TeamNotFound
            | AgentOsError::NotFound(_)
            | AgentOsError::SessionNotFound(_) => (StatusCode::NOT_FOUND, "NOT_FOUND"),
            AgentOsError::BadRequest(_) => (StatusCode::BAD_REQUEST, "BAD_REQUEST"),
            AgentOsError::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR"),
            AgentOsError::Conflict(_) => (StatusCode::CONFLICT, "CONFLICT"),
            AgentOsError::Forbidden(_) => (StatusCode::FORBIDDEN, "FORBIDDEN"),
            AgentOsError::PayloadTooLarge(_) => {
                (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE")
            }
            AgentOsError::Engine(e) => {
                let status = errors::status_of(e.class());
                (status, error_code(status))
            }
        };
        let acp = match &self {
            AgentOsError::SessionNotFound(m) => Some(m.clone()),
            _ => None,
        };
        let detail = match &self {
            AgentOsError::Validation(f) => json!([f]),
            other => json!(other.to_string()),
        };
        let body = ErrorBody {
            detail,
            error_code: code,
            code: acp.is_some().then_some("not_found"),
            message: acp,
        };
        match self {
            AgentOsError::Engine(e) => errors::engine_response(e.class(), body, e),
            _ => (status, Json(body)).into_response(),
        }
    }
}

/// AgentOS's `error_code` for an engine error's status.
fn error_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "NOT_FOUND",
        StatusCode::CONFLICT => "CONFLICT",
        StatusCode::FORBIDDEN => "FORBIDDEN",
        StatusCode::PAYLOAD_TOO_LARGE => "PAYLOAD_TOO_LARGE",
        StatusCode::UNPROCESSABLE_ENTITY => "UNPROCESSABLE_ENTITY",
        StatusCode::TOO_MANY_REQUESTS => "TOO_MANY_REQUESTS",
        StatusCode::SERVICE_UNAVAILABLE => "SERVICE_UNAVAILABLE",
        s if s.is_server_error() => "INTERNAL_SERVER_ERROR",
        _ => "BAD_REQUEST",
    }
}

/// How AgentOS words an engine error (never a 500's cause).
fn engine_detail(e: &EngineError) -> String {
    match e {
        EngineError::AgentNotFound(_) => "Agent not found".into(),
        EngineError::RunNotFound(id) => format!("No runs found for run ID {id}"),
        EngineError::SessionNotFound(_) => "Session not found".into(),
        EngineError::Forbidden(m) => sentence(m),
        EngineError::RunExists(id) => format!("Run {id} already exists"),
        EngineError::NotAwaiting { run_id, status } => {
            format!("Run {run_id} is {status}, not paused")
        }
        EngineError::InvalidInput(m) => m.clone(),
        EngineError::UnsupportedMedia { .. }
        | EngineError::TooLarge { .. }
        | EngineError::DocumentOverBudget { .. } => sentence(&e.to_string()),
        EngineError::TooManyRuns {
            limit,
            per_caller,
            retry_after_secs,
        } => errors::run_limit_message(*limit, *per_caller, *retry_after_secs),
        EngineError::ShuttingDown => "The server is shutting down".into(),
        EngineError::StoreUnavailable { .. } => e.store_unavailable_message().unwrap_or_default(),
        EngineError::Store(_) => "Internal server error".into(),
    }
}

impl From<EngineError> for AgentOsError {
    fn from(e: EngineError) -> Self {
        AgentOsError::Engine(e)
    }
}
