//! A2A errors in one place: every failure of an A2A route is a JSON-RPC 2.0
//! error response with the codes of the JSON-RPC spec and A2A's own
//! (-32001 task not found, -32002 not cancelable...). Protocol-level errors
//! travel with HTTP 200 as JSON-RPC wants; only what the HTTP layer itself
//! means (unknown agent 404, busy 429, shutting down 503) keeps its status,
//! with the same JSON-RPC body.
//!
//! Depends on the engine's error type and the wire types only.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use serde_json::Value;

use super::wire::{JsonRpcError, JsonRpcResponse};
use crate::engine::EngineError;

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
    /// No agent or team with this id: HTTP 404.
    #[error("Agent {0} not found")]
    AgentNotFound(String),
    /// The server runs as many runs as it may: HTTP 429 with Retry-After.
    #[error("Too many runs in progress; retry in {0} seconds")]
    TooManyRuns(u64),
    /// HTTP 503.
    #[error("The server is shutting down")]
    Unavailable,
    /// The detail is logged, never shown.
    #[error("Internal error")]
    Internal(String),
}

impl A2aError {
    pub fn code(&self) -> i64 {
        match self {
            A2aError::Parse(_) => -32700,
            A2aError::InvalidRequest(_) | A2aError::AgentNotFound(_) => -32600,
            A2aError::MethodNotFound(_) => -32601,
            A2aError::InvalidParams(_) => -32602,
            A2aError::Internal(_) | A2aError::TooManyRuns(_) | A2aError::Unavailable => -32603,
            A2aError::TaskNotFound(_) => -32001,
            A2aError::TaskNotCancelable(_) => -32002,
            A2aError::PushNotSupported => -32003,
            A2aError::Unsupported(_) => -32004,
            A2aError::ContentType(_) => -32005,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            A2aError::AgentNotFound(_) => StatusCode::NOT_FOUND,
            A2aError::TooManyRuns(_) => StatusCode::TOO_MANY_REQUESTS,
            A2aError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::OK,
        }
    }

    pub fn object(&self) -> JsonRpcError {
        if let A2aError::Internal(detail) = self {
            tracing::error!(error = %detail, "internal error");
        }
        JsonRpcError {
            code: self.code(),
            message: self.to_string(),
            data: None,
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
        let mut resp = (self.status(), Json(body)).into_response();
        if let A2aError::TooManyRuns(secs) = self {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, secs.max(1).into());
        }
        resp
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
            EngineError::RunNotFound(id) => A2aError::TaskNotFound(id),
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
            EngineError::Store(e) => A2aError::Internal(e.to_string()),
        }
    }
}

/// Answers known A2A paths called with the wrong method.
pub async fn method_not_allowed() -> Response {
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
