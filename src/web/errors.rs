//! Error bodies for failures the shared HTTP layer answers itself (401, 408,
//! 413, 429, 503...), in the shape of the protocol that owns the path, so a
//! client of any protocol can parse what it gets.
//!
//! Protocols are told apart by path prefix only; this module must never
//! depend on a protocol adapter (adapters may call it, e.g. to answer the
//! engine's `TooManyRuns` the same way).

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use serde_json::{Value, json};

use crate::engine::{EngineError, ErrorClass};

/// Which protocol's error shape a path gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// AgentOS (the root and everything not claimed below): `{"detail", "error_code"}`.
    AgentOs,
    /// AG-UI under /agui: `{"detail"}`.
    Agui,
    /// ACP under /runs and /acp: `{"code", "message", "data"}`.
    Acp,
    /// Codegen under /v1: `{"message", "status_code"}`.
    Codegen,
    /// JSON-RPC 2.0 (A2A under /a2a and the well-known agent cards, MCP
    /// under /mcp): `{"jsonrpc", "id": null, "error": {"code", "message"}}`.
    JsonRpc,
    /// A2A 1.0's HTTP+JSON binding under an agent's base (`/a2a/{id}/tasks`,
    /// `/a2a/{id}/message:send`...): a `google.rpc.Status`,
    /// `{"error": {"code", "status", "message"}}`.
    GoogleRpc,
}

fn under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

impl Shape {
    pub fn for_path(path: &str) -> Shape {
        if under(path, "/agui") {
            Shape::Agui
        } else if under(path, "/runs") || under(path, "/acp") {
            Shape::Acp
        } else if under(path, "/v1") {
            Shape::Codegen
        } else if under(path, "/a2a") && a2a_rest(path) {
            Shape::GoogleRpc
        } else if under(path, "/a2a") || under(path, "/mcp") || under(path, "/.well-known") {
            Shape::JsonRpc
        } else {
            Shape::AgentOs
        }
    }

    /// The error body for `status` with a human message.
    pub fn body(self, status: StatusCode, message: &str) -> Value {
        match self {
            Shape::AgentOs => json!({"detail": message, "error_code": agentos_code(status)}),
            Shape::Agui => json!({"detail": message}),
            Shape::Acp => json!({"code": acp_code(status), "message": message, "data": null}),
            // Codegen's 429 also carries the older schema's `detail`.
            Shape::Codegen if status == StatusCode::TOO_MANY_REQUESTS => json!({
                "message": message, "detail": "Rate limit exceeded", "status_code": status.as_u16()
            }),
            Shape::Codegen => json!({"message": message, "status_code": status.as_u16()}),
            Shape::JsonRpc => json!({
                "jsonrpc": "2.0",
                "id": null,
                "error": {"code": jsonrpc_code(status), "message": message},
            }),
            Shape::GoogleRpc => json!({
                "error": {"code": status.as_u16(), "status": google_rpc_code(status), "message": message},
            }),
        }
    }
}

/// Whether an /a2a path is one of A2A 1.0's HTTP+JSON operations: anything
/// below an agent's base but its agent cards (the JSON-RPC endpoint is the
/// base itself).
fn a2a_rest(path: &str) -> bool {
    let mut segments = path.trim_start_matches('/').split('/').skip(1);
    segments.next().is_some_and(|agent| !agent.is_empty())
        && segments
            .next()
            .is_some_and(|op| !op.is_empty() && op != ".well-known")
}

/// The `google.rpc.Code` name HTTP+JSON pairs with an HTTP status.
pub fn google_rpc_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        408 | 504 => "DEADLINE_EXCEEDED",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        s if (400..500).contains(&s) => "INVALID_ARGUMENT",
        _ => "INTERNAL",
    }
}

fn agentos_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::UNAUTHORIZED => "UNAUTHORIZED",
        StatusCode::FORBIDDEN => "FORBIDDEN",
        StatusCode::NOT_FOUND => "NOT_FOUND",
        StatusCode::METHOD_NOT_ALLOWED => "METHOD_NOT_ALLOWED",
        StatusCode::CONFLICT => "CONFLICT",
        StatusCode::REQUEST_TIMEOUT => "REQUEST_TIMEOUT",
        StatusCode::PAYLOAD_TOO_LARGE => "PAYLOAD_TOO_LARGE",
        StatusCode::TOO_MANY_REQUESTS => "TOO_MANY_REQUESTS",
        StatusCode::SERVICE_UNAVAILABLE => "SERVICE_UNAVAILABLE",
        s if s.is_server_error() => "INTERNAL_SERVER_ERROR",
        _ => "BAD_REQUEST",
    }
}

/// ACP clients accept any code string; the three the spec names are used
/// as the SDK server does (400/422 `invalid_input`, 404 `not_found`, the
/// rest `server_error`), with a plainer name for a missing key.
fn acp_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => "invalid_input",
        _ => "server_error",
    }
}

/// JSON-RPC has no codes for HTTP's refusals: a client error is an Invalid
/// Request, anything else an Internal Error (the status tells the rest).
fn jsonrpc_code(status: StatusCode) -> i64 {
    if status.is_client_error() {
        -32600
    } else {
        -32603
    }
}

/// A complete error response for `path`.
pub fn response(path: &str, status: StatusCode, message: &str) -> Response {
    (status, Json(Shape::for_path(path).body(status, message))).into_response()
}

/// What a client refused by a limit of live runs (the engine's
/// `TooManyRuns`) is told, the same in every protocol.
pub fn run_limit_message(limit: usize, per_caller: bool, retry_after_secs: u64) -> String {
    let whose = if per_caller { " for this API key" } else { "" };
    format!(
        "Too many runs in progress{whose} (at most {limit} at once); retry in {retry_after_secs} seconds"
    )
}

/// A 429 (or 503) telling the client when to come back.
pub fn retry_later(
    path: &str,
    status: StatusCode,
    message: &str,
    retry_after_secs: u64,
) -> Response {
    let resp = response(path, status, message);
    with_retry_after(resp, Some(retry_after_secs))
}

/// The one place `Retry-After` is written, for every protocol and the
/// shared layers alike; never 0, which some clients read as "at once".
pub fn with_retry_after(mut resp: Response, secs: Option<u64>) -> Response {
    if let Some(secs) = secs {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    }
    resp
}

/// The HTTP status of an engine error's class.
pub fn status_of(class: ErrorClass) -> StatusCode {
    StatusCode::from_u16(class.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// An engine error's whole response: the status and Retry-After of its
/// class (the engine's, which a protocol overrides only where its spec
/// demands another status, saying so where it does), the body the protocol
/// words, and for a 500 the error itself, kept for `log_faults`.
pub fn engine_response(
    class: ErrorClass,
    body: impl serde::Serialize,
    error: EngineError,
) -> Response {
    let status = status_of(class);
    let resp = with_retry_after((status, Json(body)).into_response(), class.retry_after_secs);
    // A fault by the engine's own class, whatever status the protocol sends.
    if error.class().status == 500 {
        with_fault(resp, error)
    } else {
        resp
    }
}

/// The class of `error` with another status, for a protocol whose spec
/// answers it differently (Retry-After stays the engine's).
pub fn with_status(class: ErrorClass, status: StatusCode) -> ErrorClass {
    ErrorClass {
        status: status.as_u16(),
        ..class
    }
}

/// The error behind a 5xx answer, kept whole (its `source()` chain) and
/// carried on the response so that one layer, `log_faults`, logs it once:
/// an adapter renders its body and never logs.
#[derive(Clone)]
pub struct Fault(pub Arc<dyn std::error::Error + Send + Sync>);

/// Attaches the error a fault response stands for, for `log_faults`.
pub fn with_fault(
    mut resp: Response,
    source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> Response {
    resp.extensions_mut()
        .insert(Fault(Arc::from(source.into())));
    resp
}

/// The logging layer for faults: every response carrying a `Fault` is
/// logged here, with its whole chain of causes, and nowhere else.
pub async fn log_faults(
    req: axum::extract::Request,
    next: impl AsyncFnOnce(axum::extract::Request) -> Response,
) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let resp = next(req).await;
    if let Some(Fault(error)) = resp.extensions().get::<Fault>() {
        let mut chain = error.to_string();
        let mut cause = error.source();
        while let Some(c) = cause {
            chain.push_str(": ");
            chain.push_str(&c.to_string());
            cause = c.source();
        }
        tracing::error!(%method, %path, status = resp.status().as_u16(), error = %chain, "request failed");
    }
    resp
}

/// An engine message as a sentence, as several protocols word their own
/// messages: its first letter capitalized.
pub fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Rewrites the plain-text or empty error bodies that axum and tower-http
/// produce (body limit 413, timeout 408, unknown route 404, wrong method
/// 405) into the protocol's shape. Responses that already carry JSON, and
/// every success, pass untouched.
pub async fn reshape(
    req: axum::extract::Request,
    next: impl AsyncFnOnce(axum::extract::Request) -> Response,
) -> Response {
    let path = req.uri().path().to_string();
    let resp = next(req).await;
    let status = resp.status();
    let rewrite = matches!(
        status,
        StatusCode::NOT_FOUND
            | StatusCode::METHOD_NOT_ALLOWED
            | StatusCode::REQUEST_TIMEOUT
            | StatusCode::PAYLOAD_TOO_LARGE
    );
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.contains("json"));
    if !rewrite || is_json {
        return resp;
    }
    let message = match status {
        StatusCode::NOT_FOUND => "Not Found",
        StatusCode::METHOD_NOT_ALLOWED => "Method Not Allowed",
        StatusCode::REQUEST_TIMEOUT => "The request took too long and was stopped",
        _ => "The request body is larger than the server accepts",
    };
    let (mut parts, _) = resp.into_parts();
    let new = response(&path, status, message);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, new.into_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_by_prefix() {
        assert_eq!(Shape::for_path("/agents/a/runs"), Shape::AgentOs);
        assert_eq!(Shape::for_path("/agui"), Shape::Agui);
        assert_eq!(Shape::for_path("/agui/x"), Shape::Agui);
        assert_eq!(Shape::for_path("/runs/1/events"), Shape::Acp);
        assert_eq!(Shape::for_path("/acp/agents"), Shape::Acp);
        assert_eq!(Shape::for_path("/runsx"), Shape::AgentOs);
        assert_eq!(
            Shape::for_path("/v1/organizations/1/agent/run"),
            Shape::Codegen
        );
        assert_eq!(Shape::for_path("/a2a/assistant"), Shape::JsonRpc);
        assert_eq!(Shape::for_path("/mcp"), Shape::JsonRpc);
        assert_eq!(
            Shape::for_path("/.well-known/agent-card.json"),
            Shape::JsonRpc
        );
        assert_eq!(Shape::for_path("/a2ab"), Shape::AgentOs);
        assert_eq!(Shape::for_path("/a2a/assistant/tasks"), Shape::GoogleRpc);
        assert_eq!(
            Shape::for_path("/a2a/assistant/message:send"),
            Shape::GoogleRpc
        );
        assert_eq!(
            Shape::for_path("/a2a/assistant/.well-known/agent-card.json"),
            Shape::JsonRpc
        );
    }
}
