//! The in-memory side of a running run: its event log, its current record,
//! its cancel switch, and subscribers that replay then follow.
//!
//! Subscribers read the log by index and wait on a watch channel for more, so
//! a slow reader never loses events and a late one replays from any sequence
//! number without a gap between replay and live.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use futures::Stream;
use futures::stream::BoxStream;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::event::{Event, EventKind};
use super::message::now_ms;
use super::run::RunRecord;

pub(crate) struct LiveRun {
    /// The run's id as its events carry it (shared, not copied per event).
    run_id: Arc<str>,
    state: Mutex<LiveState>,
    changed: watch::Sender<()>,
    pub(crate) cancel: CancellationToken,
    /// Fired when the run's task has finished with it (its final state saved,
    /// or given up on): from then on the store, not this, has the last word.
    pub(crate) settled: CancellationToken,
    /// Held while the run's record is written to the store.
    pub(crate) writing: tokio::sync::Mutex<()>,
}

pub(crate) struct LiveState {
    pub(crate) events: Vec<Arc<Event>>,
    /// False once the run is over or paused: subscribers then end.
    pub(crate) open: bool,
    pub(crate) record: RunRecord,
    /// Index of the first event not yet written to the store.
    pub(crate) unflushed: usize,
    /// How many events subscribers may see: all but a held-back last one
    /// (see `emit_held`).
    published: usize,
    /// Set once the run's end was stored with its record (`append_saved`):
    /// the run's task has nothing left to write.
    pub(crate) end_saved: bool,
}

impl LiveState {
    /// The events not yet written to the store (shared, not copied).
    pub(crate) fn unflushed_events(&self) -> Vec<Arc<Event>> {
        self.events[self.unflushed..].to_vec()
    }
}

impl LiveRun {
    pub(crate) fn new(record: RunRecord, history: Vec<Event>) -> Arc<Self> {
        Self::with_cancel(record, history, CancellationToken::new())
    }

    /// A run whose cancel switch is tied to another's (a team member's to its team).
    pub(crate) fn with_cancel(
        record: RunRecord,
        history: Vec<Event>,
        cancel: CancellationToken,
    ) -> Arc<Self> {
        let unflushed = history.len();
        Arc::new(Self {
            run_id: record.run_id.as_str().into(),
            state: Mutex::new(LiveState {
                events: history.into_iter().map(Arc::new).collect(),
                open: true,
                record,
                unflushed,
                published: unflushed,
                end_saved: false,
            }),
            changed: watch::channel(()).0,
            cancel,
            settled: CancellationToken::new(),
            writing: tokio::sync::Mutex::new(()),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, LiveState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends an event with the next sequence number and wakes subscribers.
    pub(crate) fn emit(&self, kind: EventKind) -> Arc<Event> {
        let event = self.append(kind);
        self.publish();
        event
    }

    /// Appends an event (the record shows it at once) but holds it back
    /// from subscribers until `publish`: a run's last event is announced
    /// only once it is stored, so a client that got it and asks any replica
    /// next finds the run as the event left it.
    pub(crate) fn emit_held(&self, kind: EventKind) -> Arc<Event> {
        self.append(kind)
    }

    /// Lets subscribers see every event appended so far.
    pub(crate) fn publish(&self) {
        {
            let mut state = self.lock();
            state.published = state.events.len();
        }
        self.changed.send_replace(());
    }

    fn append(&self, kind: EventKind) -> Arc<Event> {
        let mut state = self.lock();
        let event = Arc::new(Event {
            seq: state.events.len() as u64 + 1,
            run_id: self.run_id.clone(),
            at: now_ms(),
            kind,
        });
        state.record.apply(&event);
        if event.kind.ends_stream() {
            state.open = false;
        }
        state.events.push(event.clone());
        event
    }

    /// What appending `kind` now would write, without appending it: the
    /// events not yet stored followed by the new one, and the record with
    /// it applied. A run's end is stored this way before anything (its own
    /// record included) shows it; `append_saved` then makes it the run's.
    pub(crate) fn preview(&self, kind: EventKind) -> (Vec<Arc<Event>>, RunRecord) {
        let state = self.lock();
        let event = Arc::new(Event {
            seq: state.events.len() as u64 + 1,
            run_id: self.run_id.clone(),
            at: now_ms(),
            kind,
        });
        let mut record = state.record.clone();
        record.apply(&event);
        let mut events = state.unflushed_events();
        events.push(event);
        (events, record)
    }

    /// Appends (held back from subscribers, as `emit_held` does) the last
    /// event of a `preview` once it is stored, with the record it left:
    /// everything up to it is then stored. Only the run's own task appends,
    /// and it waits for the store in between, so the event is still next.
    pub(crate) fn append_saved(&self, event: Arc<Event>, record: RunRecord) {
        let mut state = self.lock();
        debug_assert_eq!(event.seq, state.events.len() as u64 + 1);
        if event.kind.ends_stream() {
            state.open = false;
        }
        state.events.push(event);
        state.record = record;
        state.unflushed = state.events.len();
        state.end_saved = true;
    }

    /// Fires whenever an event is published.
    pub(crate) fn changes(&self) -> watch::Receiver<()> {
        self.changed.subscribe()
    }

    pub(crate) fn record(&self) -> RunRecord {
        self.lock().record.clone()
    }

    /// A stream of events with `seq > after`, live until the run ends or
    /// pauses. With `cancel_on_drop`, dropping the stream before its end
    /// (a client that went away) cancels the run.
    pub(crate) fn subscribe(self: &Arc<Self>, after: u64, cancel_on_drop: bool) -> EventStream {
        let live = self.clone();
        let mut rx = self.changed.subscribe();
        let guard = DisconnectGuard {
            token: cancel_on_drop.then(|| self.cancel.clone()),
        };
        let stream = async_stream::stream! {
            let mut guard = guard;
            let mut next = after as usize;
            loop {
                let (batch, open) = {
                    let state = live.lock();
                    let end = state.published;
                    let start = next.min(end);
                    (state.events[start..end].to_vec(), state.open || end < state.events.len())
                };
                for event in batch {
                    next = event.seq as usize;
                    let ends = event.kind.ends_stream();
                    yield event;
                    if ends {
                        guard.disarm();
                        return;
                    }
                }
                if !open {
                    guard.disarm();
                    return;
                }
                if rx.changed().await.is_err() {
                    guard.disarm();
                    return;
                }
            }
        };
        EventStream(Box::pin(stream))
    }
}

/// Cancels a run when its foreground subscriber is dropped mid-stream.
struct DisconnectGuard {
    token: Option<CancellationToken>,
}

impl DisconnectGuard {
    fn disarm(&mut self) {
        self.token = None;
    }
}

impl Drop for DisconnectGuard {
    fn drop(&mut self) {
        if let Some(token) = self.token.take() {
            token.cancel();
        }
    }
}

/// Events of one run, in sequence order: replay first, then live.
pub struct EventStream(pub(crate) BoxStream<'static, Arc<Event>>);

impl EventStream {
    pub(crate) fn from_events(events: Vec<Event>) -> Self {
        EventStream(Box::pin(futures::stream::iter(
            events.into_iter().map(Arc::new),
        )))
    }
}

impl Stream for EventStream {
    type Item = Arc<Event>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.as_mut().poll_next(cx)
    }
}
