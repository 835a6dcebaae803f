//! A task and its stream's updates rendered in each version's shape: 0.3's
//! `kind`-tagged objects, 1.0's `StreamResponse` members. Both bindings
//! stream these (JSON-RPC wraps each in a response, HTTP+JSON sends it
//! bare).
//!
//! Depends on the wire modules, `stream`, `ops`' stream handle and the
//! HTTP layer's SSE framing only.

use axum::response::Response;
use futures::StreamExt;
use serde_json::Value;

use super::ops::Streamed;
use super::stream::{Update, json};
use super::{v1, wire};
use crate::http::{AppState, sse};

/// One event of a task's stream, before a version renders it.
pub enum Item<'a> {
    Task(&'a wire::Task),
    Update(&'a Update),
}

pub fn v03(item: Item<'_>) -> Value {
    match item {
        Item::Task(t) => json(t),
        Item::Update(u) => u.v03(),
    }
}

pub fn v1(item: Item<'_>) -> Value {
    json(&match item {
        Item::Task(t) => v1::StreamResponse::Task(v1::task(t, true)),
        Item::Update(u) => v1::update(u),
    })
}

/// A task's stream as SSE: the task first, then its updates as the
/// engine's events come, each event's data what `data` makes of it.
pub fn sse<F>(state: &AppState, streamed: Streamed, data: F) -> Response
where
    F: Fn(Item<'_>) -> String + Send + 'static,
{
    let Streamed {
        first,
        mut view,
        mut events,
    } = streamed;
    let frame = move |data: String| sse::Frame {
        id: None,
        event: None,
        data,
    };
    let frames = async_stream::stream! {
        yield frame(data(Item::Task(&first)));
        while let Some(ev) = events.next().await {
            for update in view.apply(&ev) {
                yield frame(data(Item::Update(&update)));
            }
        }
    };
    sse::response(frames, state.config().server.sse_keep_alive_secs)
}
