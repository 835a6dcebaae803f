//! Request limits shared by every protocol: the body size limit and the
//! timeout of non-streaming requests. Their refusals are answered in the
//! protocol's shape by `errors`. Depends on nothing protocol-specific.

use std::time::Duration;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use super::errors;

/// Whether reading a body failed because it passed the server's size limit
/// (tower-http's `RequestBodyLimitLayer` wraps every body), so a handler that
/// reads raw bodies can answer 413 rather than 400.
pub fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
}

/// Answers 408 when a handler has not produced its response in time. Only
/// the wait for the response head is timed: an SSE response is returned as
/// soon as its stream starts, so streams are never cut, whatever they last.
pub async fn timeout(timeout: Duration, req: Request, next: Next) -> Response {
    if timeout.is_zero() {
        return next.run(req).await;
    }
    let path = req.uri().path().to_string();
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => errors::response(
            &path,
            StatusCode::REQUEST_TIMEOUT,
            "The request took too long and was stopped",
        ),
    }
}
