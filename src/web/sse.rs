//! The one SSE writer every adapter streams through, and the projection an
//! adapter implements for it.
//!
//! An adapter says only how engine events look in its protocol (a
//! `Projection`); the writer drives it from the engine's event stream and
//! owns everything else: which frames carry an `id:` (the protocol's
//! Last-Event-ID policy, declared for all of them in `ids`), keep-alive
//! comments, the open-streams gauge, `Cache-Control`, and the end of the
//! stream (`Projection::finish`).
//!
//! Depends on the engine's event stream and run records and on
//! `web::state`; never on `http`, a protocol or the UI.

use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};

use super::AppState;
use crate::engine::{Event, EventStream, Principal, RunHandle, RunRecord};

/// One frame as a projection writes it: an optional `event:` name and one
/// line of JSON data. The writer adds the `id:` the protocol's policy gives
/// it. `data` is already serialized text, so a projection may write it
/// however it likes (straight from the event, into a reused buffer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub event: Option<String>,
    pub data: String,
}

impl Frame {
    /// A frame with data only (the protocols whose event names are in the
    /// data itself).
    pub fn data(data: String) -> Self {
        Self { event: None, data }
    }

    /// A frame with an `event:` name.
    pub fn named(event: impl Into<String>, data: String) -> Self {
        Self {
            event: Some(event.into()),
            data,
        }
    }
}

/// A frame as it goes out: with the `id:` the policy gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub id: Option<u64>,
    pub frame: Frame,
}

impl Sent {
    fn into_sse(self) -> SseEvent {
        let mut e = SseEvent::default();
        if let Some(id) = self.id {
            e = e.id(id.to_string());
        }
        if let Some(name) = self.frame.event {
            e = e.event(name);
        }
        e.data(self.frame.data)
    }
}

/// Which frames carry an `id:` (the sequence number of the engine event
/// they came from), and so where a client that reconnects with
/// Last-Event-ID resumes. Frames from `open` and `finish` never carry one:
/// they stand for no event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventIds {
    /// Every frame of an event carries its id.
    EveryFrame,
    /// Only the last frame of an event carries its id, so a client cut off
    /// between two frames of one event resumes before it and gets both.
    LastFrame,
    /// No frame carries one: the protocol resumes another way.
    Never,
}

/// Each protocol's Last-Event-ID policy, in one place.
pub mod ids {
    use super::EventIds;

    /// AgentOS: the end of a run is two frames (RunContentCompleted,
    /// RunCompleted) from one event; a client resuming with
    /// `last_event_index` must get both, so only the last is numbered.
    pub const AGENTOS: EventIds = EventIds::LastFrame;
    /// AG-UI: clients do not resume (a run is re-sent whole), the ids are
    /// informative; every frame carries its event's, as it always has.
    pub const AGUI: EventIds = EventIds::EveryFrame;
    /// ACP: a run's events are read back from `GET /runs/{id}/events`, not
    /// resumed over SSE; acp-sdk expects no ids.
    pub const ACP: EventIds = EventIds::Never;
    /// A2A: a client re-attaches with `tasks/resubscribe` (`:subscribe`),
    /// which starts from the task as it is now; no ids.
    pub const A2A: EventIds = EventIds::Never;
    /// The web UI: one frame per event, its id the event's, so a
    /// reconnecting EventSource resumes exactly (`after` or Last-Event-ID).
    pub const UI: EventIds = EventIds::EveryFrame;
}

/// How a protocol shows a run's engine events: what an adapter implements
/// for the writer. Frames are pushed onto `out` (the writer's buffer,
/// reused from event to event).
pub trait Projection: Send + 'static {
    /// Which frames carry ids (one of `ids`).
    const IDS: EventIds;

    /// Whether `apply` needs the run's record with an event that ends the
    /// stream (AgentOS frames the end of a run from it).
    const NEEDS_END_RECORD: bool = false;

    /// Frames before the first event (A2A sends the task itself).
    fn open(&mut self, _out: &mut Vec<Frame>) {}

    /// The frames one engine event stands for (none is fine). `end` is the
    /// record of the event's run when `NEEDS_END_RECORD` and the event
    /// ends the stream, else `None`.
    fn apply(&mut self, event: &Event, end: Option<&RunRecord>, out: &mut Vec<Frame>);

    /// Frames once the events have ended, whether or not a terminal event
    /// came (AG-UI closes what is open so a client never waits).
    fn finish(&mut self, _out: &mut Vec<Frame>) {}
}

/// Stamps ids on one event's frames by the policy, draining `frames`.
fn stamp(
    ids: EventIds,
    seq: Option<u64>,
    frames: &mut Vec<Frame>,
) -> impl Iterator<Item = Sent> + '_ {
    let last = frames.len().saturating_sub(1);
    frames.drain(..).enumerate().map(move |(i, frame)| {
        let id = match (ids, seq) {
            (EventIds::EveryFrame, Some(seq)) => Some(seq),
            (EventIds::LastFrame, Some(seq)) if i == last => Some(seq),
            _ => None,
        };
        Sent { id, frame }
    })
}

/// What a projection makes of a recorded event log, ids stamped as the
/// writer stamps them: for tests and tools that look at the frames without
/// a server. `end` gives the run's record for events that end the stream.
pub fn project<P: Projection>(
    mut projection: P,
    events: &[Event],
    end: impl Fn(&Event) -> Option<RunRecord>,
) -> Vec<Sent> {
    let mut buf = Vec::new();
    let mut sent = Vec::new();
    projection.open(&mut buf);
    sent.extend(stamp(P::IDS, None, &mut buf));
    for event in events {
        let record = (P::NEEDS_END_RECORD && event.kind.ends_stream())
            .then(|| end(event))
            .flatten();
        projection.apply(event, record.as_ref(), &mut buf);
        sent.extend(stamp(P::IDS, Some(event.seq), &mut buf));
    }
    projection.finish(&mut buf);
    sent.extend(stamp(P::IDS, None, &mut buf));
    sent
}

/// Streams `events` through `projection` as a `text/event-stream` response.
/// `live` is the run this request started or resumed: an event that ends
/// its stream is framed from its live record, already final then; other
/// runs' records (a replay, a team member's) are read from the engine, and
/// only when the projection needs them, as `principal` (who may see the
/// run, so its members too: they are their team run's owner's).
pub fn stream<P: Projection>(
    state: &AppState,
    principal: &Principal,
    mut events: EventStream,
    live: Option<RunHandle>,
    mut projection: P,
) -> Response {
    let engine = state.engine.clone();
    let principal = principal.clone();
    let frames = async_stream::stream! {
        let mut buf = Vec::new();
        projection.open(&mut buf);
        for sent in stamp(P::IDS, None, &mut buf) {
            yield sent;
        }
        while let Some(ev) = events.next().await {
            let record = match &live {
                _ if !P::NEEDS_END_RECORD || !ev.kind.ends_stream() => None,
                Some(handle) if *ev.run_id == *handle.run_id => Some(handle.record()),
                _ => engine.get_run(&principal, &ev.run_id).await.ok().flatten(),
            };
            projection.apply(&ev, record.as_ref(), &mut buf);
            for sent in stamp(P::IDS, Some(ev.seq), &mut buf) {
                yield sent;
            }
        }
        projection.finish(&mut buf);
        for sent in stamp(P::IDS, None, &mut buf) {
            yield sent;
        }
    };
    response(frames, state.config().server.sse_keep_alive_secs)
}

/// Wraps a frame stream as a `text/event-stream` response with keep-alive
/// comments so idle proxies do not cut long runs.
fn response<S>(frames: S, keep_alive_secs: u64) -> Response
where
    S: Stream<Item = Sent> + Send + 'static,
{
    let gauge = StreamGauge::open();
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

/// Open SSE streams (`agentd_active_streams`), kept by a guard each stream
/// owns.
struct StreamGauge;

impl StreamGauge {
    fn open() -> Self {
        metrics::gauge!("agentd_active_streams").increment(1.0);
        StreamGauge
    }
}

impl Drop for StreamGauge {
    fn drop(&mut self) {
        metrics::gauge!("agentd_active_streams").decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(n: usize) -> Vec<Frame> {
        (0..n).map(|i| Frame::data(i.to_string())).collect()
    }

    fn ids(policy: EventIds, seq: Option<u64>, n: usize) -> Vec<Option<u64>> {
        stamp(policy, seq, &mut frames(n)).map(|s| s.id).collect()
    }

    #[test]
    fn each_policy_numbers_the_frames_it_says() {
        assert_eq!(ids(EventIds::EveryFrame, Some(7), 2), [Some(7), Some(7)]);
        assert_eq!(ids(EventIds::LastFrame, Some(7), 2), [None, Some(7)]);
        assert_eq!(ids(EventIds::Never, Some(7), 2), [None, None]);
        // Frames that stand for no event are never numbered.
        assert_eq!(ids(EventIds::EveryFrame, None, 1), [None]);
    }
}
