//! A2A errors in one place: classified once here, rendered in the shape of
//! the binding that was called.
//!
//! JSON-RPC (0.3 and 1.0): a JSON-RPC 2.0 error response with the codes of
//! the JSON-RPC spec and A2A's own (-32001 task not found, -32002 not
//! cancelable...), A2A's errors carrying a `google.rpc.ErrorInfo` in
//! `data` as 1.0 asks (0.3 clients take any `data`). Protocol-level errors
//! travel with HTTP 200 as JSON-RPC wants; only what the HTTP layer itself
//! means (unknown agent 404, busy 429, shutting down 503) keeps its status,
//! with the same JSON-RPC body.
//!
//! HTTP+JSON (1.0): a `google.rpc.Status` body `{"error": {code, status,
//! message, details}}` with the HTTP status of the spec's mapping table
//! (404 task not found, 400 for the failed preconditions...).
//!
//! Depends on the engine's error type and the wire types only.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde_json::{Value, json};

use super::wire::{JsonRpcError, JsonRpcResponse};
use crate::engine::EngineError;
use crate::web::errors;

#[derive(Debug, thiserror::Error)]
pub enum A2aError {
    #[error("Invalid JSON payload: {0}")]
    Parse(String),
    #[error("Request payload validation error: {0}")]
    InvalidRequest(String),
    #[error("Method not found: {0}")]
    MethodNotFound(String),
    #[error("Invalid parameters: {0}")]
    InvalidParams(String),
    #[error("Task not found: {0}")]
    TaskNotFound(String),
    #[error("Task cannot be canceled: {0}")]
    TaskNotCancelable(String),
    #[error("Push notifications are not supported")]
    PushNotSupported,
    #[error("This operation is not supported: {0}")]
    Unsupported(String),
    #[error("Incompatible content types: {0}")]
    ContentType(String),
    /// The `A2A-Version` asked for is not served here.
    #[error("A2A version {0} is not supported here; use 1.0 or 0.3")]
    VersionNotSupported(String),
    /// `GetExtendedAgentCard` when the card declares none.
    #[error("This agent has no extended agent card")]
    ExtendedCardNotConfigured,
    /// No agent or team with this id: HTTP 404.
    #[error("Agent {0} not found")]
    AgentNotFound(String),
    /// The caller may not run this agent: HTTP 403 (PERMISSION_DENIED).
    #[error("Permission denied: {0}")]
    Forbidden(String),
    /// The server runs as many runs as it may: HTTP 429 with Retry-After.
    #[error("Too many runs in progress; retry in {0} seconds")]
    TooManyRuns(u64),
    /// HTTP 503.
    #[error("The server is shutting down")]
    Unavailable,
    /// HTTP 503 with Retry-After: the store is unavailable for now.
    #[error("{message}")]
    StoreUnavailable {
        message: String,
        retry_after_secs: u64,
    },
    /// The cause is kept whole for the logging layer, never shown.
    #[error("Internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl A2aError {
    pub fn code(&self) -> i64 {
        match self {
            A2aError::Parse(_) => -32700,
            A2aError::InvalidRequest(_) | A2aError::AgentNotFound(_) | A2aError::Forbidden(_) => {
                -32600
            }
            A2aError::MethodNotFound(_) => -32601,
            A2aError::InvalidParams(_) => -32602,
            A2aError::Internal(_)
            | A2aError::TooManyRuns(_)
            | A2aError::Unavailable
            | A2aError::StoreUnavailable { .. } => -32603,
            A2aError::TaskNotFound(_) => -32001,
            A2aError::TaskNotCancelable(_) => -32002,
            A2aError::PushNotSupported => -32003,
            A2aError::Unsupported(_) => -32004,
            A2aError::ContentType(_) => -32005,
            A2aError::ExtendedCardNotConfigured => -32007,
            A2aError::VersionNotSupported(_) => -32009,
        }
    }

    /// The A2A error type, as `ErrorInfo.reason` names it; None for the
    /// errors JSON-RPC and HTTP name themselves.
    fn reason(&self) -> Option<&'static str> {
        Some(match self {
            A2aError::TaskNotFound(_) => "TASK_NOT_FOUND",
            A2aError::TaskNotCancelable(_) => "TASK_NOT_CANCELABLE",
            A2aError::PushNotSupported => "PUSH_NOTIFICATION_NOT_SUPPORTED",
            A2aError::Unsupported(_) => "UNSUPPORTED_OPERATION",
            A2aError::ContentType(_) => "CONTENT_TYPE_NOT_SUPPORTED",
            A2aError::ExtendedCardNotConfigured => "EXTENDED_AGENT_CARD_NOT_CONFIGURED",
            A2aError::VersionNotSupported(_) => "VERSION_NOT_SUPPORTED",
            _ => return None,
        })
    }

    /// `google.rpc.ErrorInfo` for A2A's own errors (the spec's details).
    fn details(&self) -> Option<Value> {
        self.reason().map(|reason| {
            json!([{
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "a2a-protocol.org",
            }])
        })
    }

    /// The HTTP status and `google.rpc.Code` name of HTTP+JSON.
    fn rest_status(&self) -> (StatusCode, &'static str) {
        match self {
            A2aError::Parse(_)
            | A2aError::InvalidRequest(_)
            | A2aError::InvalidParams(_)
            | A2aError::ContentType(_) => (StatusCode::BAD_REQUEST, "INVALID_ARGUMENT"),
            A2aError::TaskNotCancelable(_)
            | A2aError::PushNotSupported
            | A2aError::Unsupported(_)
            | A2aError::ExtendedCardNotConfigured
            | A2aError::VersionNotSupported(_) => (StatusCode::BAD_REQUEST, "FAILED_PRECONDITION"),
            A2aError::MethodNotFound(_)
            | A2aError::TaskNotFound(_)
            | A2aError::AgentNotFound(_) => (StatusCode::NOT_FOUND, "NOT_FOUND"),
            A2aError::Forbidden(_) => (StatusCode::FORBIDDEN, "PERMISSION_DENIED"),
            A2aError::TooManyRuns(_) => (StatusCode::TOO_MANY_REQUESTS, "RESOURCE_EXHAUSTED"),
            A2aError::Unavailable | A2aError::StoreUnavailable { .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE")
            }
            A2aError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL"),
        }
    }

    /// The whole HTTP+JSON error response.
    pub fn rest(self) -> Response {
        let (status, name) = self.rest_status();
        let mut error = json!({
            "code": status.as_u16(),
            "status": name,
            "message": self.object().message,
        });
        if let Some(details) = self.details() {
            error["details"] = details;
        }
        let resp = (status, Json(json!({ "error": error }))).into_response();
        self.finish(resp)
    }

    /// Both bindings tell a busy or unavailable client when to come back,
    /// and hand an internal error's cause to the logging layer.
    fn finish(self, resp: Response) -> Response {
        match self {
            A2aError::TooManyRuns(secs)
            | A2aError::StoreUnavailable {
                retry_after_secs: secs,
                ..
            } => errors::with_retry_after(resp, Some(secs)),
            A2aError::Internal(source) => errors::with_fault(resp, source),
            _ => resp,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            A2aError::AgentNotFound(_) => StatusCode::NOT_FOUND,
            A2aError::Forbidden(_) => StatusCode::FORBIDDEN,
            A2aError::TooManyRuns(_) => StatusCode::TOO_MANY_REQUESTS,
            A2aError::Unavailable | A2aError::StoreUnavailable { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::OK,
        }
    }

    pub fn object(&self) -> JsonRpcError {
        JsonRpcError {
            code: self.code(),
            message: self.to_string(),
            data: self.details(),
        }
    }

    /// The whole response to the request with JSON-RPC id `id`.
    pub fn respond(self, id: Value) -> Response {
        let body = JsonRpcResponse {
            jsonrpc: "2.0",
            id,
            result: None,
            error: Some(self.object()),
        };
        let resp = (self.status(), Json(body)).into_response();
        self.finish(resp)
    }
}

impl IntoResponse for A2aError {
    fn into_response(self) -> Response {
        self.respond(Value::Null)
    }
}

impl From<EngineError> for A2aError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::AgentNotFound(id) => A2aError::AgentNotFound(id),
            EngineError::RunNotFound(id) | EngineError::SessionNotFound(id) => {
                A2aError::TaskNotFound(id)
            }
            EngineError::Forbidden(m) => A2aError::Forbidden(m),
            EngineError::RunExists(id) => A2aError::InvalidParams(format!("task {id} exists")),
            e @ EngineError::NotAwaiting { .. } => A2aError::Unsupported(e.to_string()),
            EngineError::InvalidInput(m) => A2aError::InvalidParams(m),
            e @ EngineError::UnsupportedMedia { .. } => A2aError::ContentType(e.to_string()),
            e @ EngineError::TooLarge { .. } => A2aError::InvalidParams(e.to_string()),
            // JSON-RPC carries its errors with HTTP 200; this is its 422.
            e @ EngineError::DocumentOverBudget { .. } => A2aError::InvalidParams(e.to_string()),
            EngineError::TooManyRuns {
                retry_after_secs, ..
            } => A2aError::TooManyRuns(retry_after_secs),
            EngineError::ShuttingDown => A2aError::Unavailable,
            e @ EngineError::StoreUnavailable {
                retry_after_secs, ..
            } => A2aError::StoreUnavailable {
                message: e.store_unavailable_message().unwrap_or_default(),
                retry_after_secs,
            },
            e @ EngineError::Store(_) => A2aError::Internal(e.into()),
        }
    }
}

/// Answers known A2A paths called with the wrong method, in the shape of
/// the binding the path belongs to.
pub async fn method_not_allowed(uri: axum::http::Uri) -> Response {
    if super::rest::is_rest_path(uri.path()) {
        let body = json!({"error": {
            "code": 405,
            "status": "UNIMPLEMENTED",
            "message": "Method Not Allowed on this A2A HTTP+JSON path",
        }});
        return (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response();
    }
    let body = JsonRpcResponse {
        jsonrpc: "2.0",
        id: Value::Null,
        result: None,
        error: Some(JsonRpcError {
            code: -32600,
            message: "Method Not Allowed: A2A takes JSON-RPC requests by POST".into(),
            data: None,
        }),
    };
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}
