//! Request limits shared by every protocol: the body size limits, the
//! body read timeout and the timeout of non-streaming requests. Their
//! refusals are answered in the protocol's shape by `errors`. Depends on
//! nothing protocol-specific.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use hyper::body::{Body as HttpBody, Frame, SizeHint};

use crate::web::errors;

/// What a handler reading a body that stopped arriving gets as the error.
#[derive(Debug, thiserror::Error)]
#[error("the request body sent nothing for {0:?}")]
pub struct BodyReadTimeout(Duration);

/// Runs `req` with its body capped at `max` bytes: 413 at once when its
/// Content-Length says more, else a body that fails (as a length-limit
/// error, see `is_length_limit`) once more than `max` bytes arrive.
pub async fn with_body_limit(
    max: usize,
    req: Request,
    next: impl AsyncFnOnce(Request) -> Response,
) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return errors::response(
            req.uri().path(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "The request body is larger than the server accepts",
        );
    }
    next(req.map(|body| Body::new(http_body_util::Limited::new(body, max)))).await
}

/// Answers 408 in the protocol's shape, and closes the connection, when
/// the request body sends nothing for `timeout` while the handler waits
/// for it: a client that stops mid-body holds no handler (nor the part of
/// the body already buffered) for longer than that. The whole request is
/// still bounded by `timeout` below.
pub async fn body_read_timeout(
    timeout: Duration,
    req: Request,
    next: impl AsyncFnOnce(Request) -> Response,
) -> Response {
    if timeout.is_zero() {
        return next(req).await;
    }
    let path = req.uri().path().to_string();
    let stalled = Arc::new(AtomicBool::new(false));
    let req = req.map(|body| {
        Body::new(TimedBody {
            body,
            timeout,
            sleep: None,
            stalled: stalled.clone(),
        })
    });
    let resp = next(req).await;
    if !stalled.load(Ordering::Acquire) {
        return resp;
    }
    let mut resp = errors::response(
        &path,
        StatusCode::REQUEST_TIMEOUT,
        "The request body stopped arriving",
    );
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// A request body that fails with `BodyReadTimeout` when no frame comes
/// for `timeout` after it is asked for one.
struct TimedBody {
    body: Body,
    timeout: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    stalled: Arc<AtomicBool>,
}

impl HttpBody for TimedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.sleep = None;
                Poll::Ready(frame)
            }
            Poll::Pending => {
                let timeout = this.timeout;
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.sleep = None;
                this.stalled.store(true, Ordering::Release);
                Poll::Ready(Some(Err(axum::Error::new(BodyReadTimeout(timeout)))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Answers 408 when a handler has not produced its response in time. Only
/// the wait for the response head is timed: an SSE response is returned as
/// soon as its stream starts, so streams are never cut, whatever they last.
pub async fn timeout(
    timeout: Duration,
    req: Request,
    next: impl AsyncFnOnce(Request) -> Response,
) -> Response {
    if timeout.is_zero() {
        return next(req).await;
    }
    let path = req.uri().path().to_string();
    match tokio::time::timeout(timeout, next(req)).await {
        Ok(resp) => resp,
        Err(_) => errors::response(
            &path,
            StatusCode::REQUEST_TIMEOUT,
            "The request took too long and was stopped",
        ),
    }
}
