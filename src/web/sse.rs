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

use std::borrow::Cow;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::{BufMut, Bytes, BytesMut};
use futures::{Stream, StreamExt};
use tokio::time::{Instant, Sleep};

use super::AppState;
use crate::engine::{Event, EventStream, Principal, RunHandle, RunRecord};

/// One frame as a projection writes it: an optional `event:` name and one
/// line of JSON data. The writer adds the `id:` the protocol's policy gives
/// it. `data` is already serialized text, so a projection may write it
/// however it likes (straight from the event, into a reused buffer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Most names are fixed strings: borrowed, not copied per frame.
    pub event: Option<Cow<'static, str>>,
    pub data: String,
}

impl Frame {
    /// A frame with data only (the protocols whose event names are in the
    /// data itself).
    pub fn data(data: String) -> Self {
        Self { event: None, data }
    }

    /// A frame with an `event:` name.
    pub fn named(event: impl Into<Cow<'static, str>>, data: String) -> Self {
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
    /// Appends the frame's wire bytes to `buf`: the `id:`, `event:` and
    /// `data:` lines and the blank line, exactly as axum's `sse::Event`
    /// writes them (a line break in the data starts a new `data:` line;
    /// empty data writes no `data:` line), without its per-frame buffer.
    fn encode(&self, buf: &mut BytesMut) {
        if let Some(id) = self.id {
            buf.put_slice(b"id: ");
            put_decimal(buf, id);
            buf.put_u8(b'\n');
        }
        if let Some(name) = &self.frame.event {
            buf.put_slice(b"event: ");
            buf.put_slice(name.as_bytes());
            buf.put_u8(b'\n');
        }
        let data = self.frame.data.as_bytes();
        if !data.is_empty() {
            buf.reserve(data.len() + 8);
            buf.put_slice(b"data: ");
            // JSON has no raw line breaks: one copy, after one vectorised
            // search for both (std's `contains` twice was ~750 instructions
            // of a 300-byte token frame).
            if memchr::memchr2(b'\n', b'\r', data).is_none() {
                buf.put_slice(data);
            } else {
                let mut from = 0;
                for (at, b) in data.iter().enumerate() {
                    if *b == b'\n' || *b == b'\r' {
                        buf.put_slice(&data[from..=at]);
                        buf.put_slice(b"data: ");
                        from = at + 1;
                    }
                }
                buf.put_slice(&data[from..]);
            }
            buf.put_u8(b'\n');
        }
        buf.put_u8(b'\n');
    }
}

/// Writes `n` in decimal (what `to_string` gives), without the formatter.
fn put_decimal(buf: &mut BytesMut, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.put_slice(&digits[at..]);
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
    let body = SseBody {
        frames: Box::pin(frames),
        buf: BytesMut::new(),
        done: false,
        keep_alive: (keep_alive_secs > 0).then(|| KeepAlive::new(keep_alive_secs)),
        _open: StreamGauge::open(),
    };
    let mut resp = Response::new(Body::from_stream(body));
    let headers = resp.headers_mut();
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-cache"),
    );
    resp
}

/// The most bytes of ready frames sent as one body chunk.
const CHUNK: usize = 16 * 1024;

/// The response body: every frame encoded into one buffer whose bytes are
/// split off for each chunk, so the buffer's allocation is reused once the
/// connection has written the previous chunk (no per-frame buffer as
/// axum's `sse::Event` makes). Frames that are ready together go out as
/// one chunk.
struct SseBody {
    frames: Pin<Box<dyn Stream<Item = Sent> + Send>>,
    buf: BytesMut,
    done: bool,
    keep_alive: Option<KeepAlive>,
    _open: StreamGauge,
}

/// A keep-alive comment once the stream has been idle for the interval.
/// The timer is not re-armed per frame (a timer-wheel update each): the
/// time of the last chunk is noted, and when the timer fires early it is
/// set again for that time plus the interval.
struct KeepAlive {
    interval: Duration,
    timer: Pin<Box<Sleep>>,
    last: Instant,
}

impl KeepAlive {
    fn new(secs: u64) -> Self {
        let interval = Duration::from_secs(secs);
        let last = Instant::now();
        Self {
            interval,
            timer: Box::pin(tokio::time::sleep_until(last + interval)),
            last,
        }
    }

    /// Ready with a comment once the stream has been idle for the interval.
    fn poll_due(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            ready!(self.timer.as_mut().poll(cx));
            let due = self.last + self.interval;
            let now = Instant::now();
            if now >= due {
                self.last = now;
                self.timer.as_mut().reset(now + self.interval);
                return Poll::Ready(());
            }
            self.timer.as_mut().reset(due);
        }
    }
}

impl Stream for SseBody {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        while !this.done && this.buf.len() < CHUNK {
            match this.frames.as_mut().poll_next(cx) {
                Poll::Ready(Some(sent)) => sent.encode(&mut this.buf),
                Poll::Ready(None) => this.done = true,
                Poll::Pending => break,
            }
        }
        if !this.buf.is_empty() {
            if let Some(keep_alive) = &mut this.keep_alive {
                keep_alive.last = Instant::now();
            }
            return Poll::Ready(Some(Ok(this.buf.split().freeze())));
        }
        if this.done {
            return Poll::Ready(None);
        }
        match &mut this.keep_alive {
            Some(keep_alive) => {
                ready!(keep_alive.poll_due(cx));
                Poll::Ready(Some(Ok(Bytes::from_static(b":\n\n"))))
            }
            None => Poll::Pending,
        }
    }
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

    /// What axum's `Sse` wrote for a frame (the writer before this one).
    fn axum_bytes(sent: &Sent) -> Vec<u8> {
        use axum::response::IntoResponse;
        use axum::response::sse::{Event as SseEvent, Sse};
        let mut e = SseEvent::default();
        if let Some(id) = sent.id {
            e = e.id(id.to_string());
        }
        if let Some(name) = &sent.frame.event {
            e = e.event(name);
        }
        e = e.data(&sent.frame.data);
        let body = Sse::new(futures::stream::iter([Ok::<_, Infallible>(e)]))
            .into_response()
            .into_body();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(axum::body::to_bytes(body, usize::MAX))
            .unwrap()
            .to_vec()
    }

    #[test]
    fn frames_are_written_as_axum_wrote_them() {
        let datas = [
            r#"{"a":1}"#,
            "",
            "two\nlines",
            "cr\rlf\r\nend\n",
            "\n",
            "caf\u{e9} \u{1f600}",
        ];
        for data in datas {
            for id in [
                None,
                Some(0),
                Some(7),
                Some(10),
                Some(4_096),
                Some(u64::MAX),
            ] {
                for event in [None, Some(Cow::Borrowed("RunContent"))] {
                    let sent = Sent {
                        id,
                        frame: Frame {
                            event: event.clone(),
                            data: data.to_string(),
                        },
                    };
                    let mut buf = BytesMut::new();
                    sent.encode(&mut buf);
                    assert_eq!(
                        String::from_utf8_lossy(&buf),
                        String::from_utf8_lossy(&axum_bytes(&sent)),
                        "{sent:?}"
                    );
                }
            }
        }
    }

    /// Ready frames go out together, in order, and the body ends with them.
    #[tokio::test]
    async fn a_stream_is_its_frames_in_order() {
        let frames: Vec<Sent> = (0..3)
            .map(|i| Sent {
                id: Some(i),
                frame: Frame::data(i.to_string()),
            })
            .collect();
        let body = response(futures::stream::iter(frames), 15).into_body();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            "id: 0\ndata: 0\n\nid: 1\ndata: 1\n\nid: 2\ndata: 2\n\n"
        );
    }
}
