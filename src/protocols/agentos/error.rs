//! AgentOS error bodies, in one place: `{"detail": ..., "error_code": ...}`,
//! with FastAPI's list-shaped `detail` for validation errors (422).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::engine::EngineError;
use crate::web::errors::{self, sentence};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

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
    /// 422 with a message: well-formed input the server will not process
    /// (a document over the reading budget).
    #[error("{0}")]
    Unprocessable(String),
    #[error("{message}")]
    TooManyRuns {
        message: String,
        retry_after_secs: u64,
    },
    #[error("The server is shutting down")]
    ShuttingDown,
    /// 503 with Retry-After: the store is unavailable for now.
    #[error("{message}")]
    StoreUnavailable {
        message: String,
        retry_after_secs: u64,
    },
    /// 500: the cause is kept whole for the logging layer, never shown.
    #[error("Internal server error ({0})")]
    Internal(#[source] BoxError),
}

/// One entry of FastAPI's validation error list.
#[derive(Debug)]
pub struct FieldError {
    pub kind: &'static str,
    pub loc: Vec<String>,
    pub msg: String,
    pub input: Value,
}

impl AgentOsError {
    pub fn validation(
        kind: &'static str,
        loc: &[&str],
        msg: impl Into<String>,
        input: Value,
    ) -> Self {
        AgentOsError::Validation(Box::new(FieldError {
            kind,
            loc: loc.iter().map(|s| s.to_string()).collect(),
            msg: msg.into(),
            input,
        }))
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
            AgentOsError::Unprocessable(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "UNPROCESSABLE_ENTITY")
            }
            AgentOsError::Conflict(_) => (StatusCode::CONFLICT, "CONFLICT"),
            AgentOsError::Forbidden(_) => (StatusCode::FORBIDDEN, "FORBIDDEN"),
            AgentOsError::PayloadTooLarge(_) => {
                (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE")
            }
            AgentOsError::TooManyRuns { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS")
            }
            AgentOsError::ShuttingDown | AgentOsError::StoreUnavailable { .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE")
            }
            AgentOsError::Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_SERVER_ERROR")
            }
        };
        let acp = match &self {
            AgentOsError::SessionNotFound(m) => Some(m.clone()),
            _ => None,
        };
        let detail = match &self {
            AgentOsError::Validation(f) => {
                json!([{"type": f.kind, "loc": f.loc, "msg": f.msg, "input": f.input}])
            }
            AgentOsError::Internal(_) => json!("Internal server error"),
            other => json!(other.to_string()),
        };
        let resp = (
            status,
            Json(ErrorBody {
                detail,
                error_code: code,
                code: acp.is_some().then_some("not_found"),
                message: acp,
            }),
        )
            .into_response();
        match self {
            AgentOsError::TooManyRuns {
                retry_after_secs, ..
            }
            | AgentOsError::StoreUnavailable {
                retry_after_secs, ..
            } => errors::with_retry_after(resp, Some(retry_after_secs)),
            AgentOsError::Internal(source) => errors::with_fault(resp, source),
            _ => resp,
        }
    }
}

impl From<EngineError> for AgentOsError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::AgentNotFound(_) => AgentOsError::AgentNotFound,
            EngineError::RunNotFound(id) => {
                AgentOsError::NotFound(format!("No runs found for run ID {id}"))
            }
            EngineError::SessionNotFound(_) => {
                AgentOsError::SessionNotFound("Session not found".into())
            }
            EngineError::Forbidden(m) => AgentOsError::Forbidden(sentence(&m)),
            EngineError::RunExists(id) => {
                AgentOsError::Conflict(format!("Run {id} already exists"))
            }
            EngineError::NotAwaiting { run_id, status } => {
                AgentOsError::Conflict(format!("Run {run_id} is {status}, not paused"))
            }
            EngineError::InvalidInput(m) => AgentOsError::BadRequest(m),
            e @ EngineError::UnsupportedMedia { .. } => {
                AgentOsError::BadRequest(sentence(&e.to_string()))
            }
            e @ EngineError::TooLarge { .. } => {
                AgentOsError::PayloadTooLarge(sentence(&e.to_string()))
            }
            e @ EngineError::DocumentOverBudget { .. } => {
                AgentOsError::Unprocessable(sentence(&e.to_string()))
            }
            EngineError::TooManyRuns {
                limit,
                per_caller,
                retry_after_secs,
            } => AgentOsError::TooManyRuns {
                message: errors::run_limit_message(limit, per_caller, retry_after_secs),
                retry_after_secs,
            },
            EngineError::ShuttingDown => AgentOsError::ShuttingDown,
            e @ EngineError::StoreUnavailable {
                retry_after_secs, ..
            } => AgentOsError::StoreUnavailable {
                message: e.store_unavailable_message().unwrap_or_default(),
                retry_after_secs,
            },
            e @ EngineError::Store(_) => AgentOsError::Internal(e.into()),
        }
    }
}
