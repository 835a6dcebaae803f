//! Server-sent events shared by the adapters: framing, keep-alive, and ids.

use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;

/// One SSE frame: optional `id:` (the engine sequence number, so clients can
/// resume with Last-Event-ID), optional `event:` name, one line of JSON data.
pub struct Frame {
    pub id: Option<u64>,
    pub event: Option<String>,
    pub data: String,
}

impl Frame {
    fn into_sse(self) -> SseEvent {
        let mut e = SseEvent::default();
        if let Some(id) = self.id {
            e = e.id(id.to_string());
        }
        if let Some(name) = self.event {
            e = e.event(name);
        }
        e.data(self.data)
    }
}

/// Wraps a frame stream as a `text/event-stream` response with keep-alive
/// comments so idle proxies do not cut long runs.
pub fn response<S>(frames: S, keep_alive_secs: u64) -> Response
where
    S: Stream<Item = Frame> + Send + 'static,
{
    use futures::StreamExt;
    let gauge = super::metrics::StreamGauge::open();
    let stream = frames.map(move |f| {
        let _open = &gauge;
        Ok::<_, Infallible>(f.into_sse())
    });
    let mut resp = if keep_alive_secs > 0 {
        Sse::new(stream)
            .keep_alive(KeepAlive::new().interval(Duration::from_secs(keep_alive_secs)))
            .into_response()
    } else {
        Sse::new(stream).into_response()
    };
    resp.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-cache"),
    );
    resp
}
