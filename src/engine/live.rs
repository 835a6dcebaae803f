//! The in-memory side of a running run: the recent part of its event log,
//! its current record, its cancel switch, and subscribers that replay then
//! follow.
//!
//! Subscribers read the log by sequence number and wait on a watch channel
//! for more, so a slow reader never loses events and a late one replays from
//! any sequence number without a gap between replay and live. Only the
//! events not yet stored, and the last few stored ones, stay in memory (a
//! long stream would otherwise hold its every token until it ends): a reader
//! further behind reads the stored part of the log from the store. The
//! deltas among them (nearly every event of a stream) are held compactly and
//! made into events only when read (see `Slot`).

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use futures::Stream;
use futures::stream::BoxStream;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use crate::domain::{Delta, Event, EventKind, RunRecord, now_ms};
use crate::store::Store;

/// Unstored events that make the run's task write them (see `flush_wanted`).
/// Large enough that a typical reply is written once, at its end (bench row
/// 4 at 32: 2,000 SQLite-backed 100-token streams took 40% longer, each
/// write waiting behind the others on SQLite's one writer); small enough
/// that a long one holds a bounded tail in memory.
pub(crate) const FLUSH_EVERY_EVENTS: usize = 128;
/// Stored events kept in memory for readers slightly behind.
const KEEP_STORED: usize = 16;

/// Sequence numbers a live run may hand out beyond its last stored event.
/// Subscribers never see an event numbered higher than the last stored
/// one plus this: the store's highest number implies the highest any client
/// can have seen, with no write of its own (a block reserved by every
/// flush). Twice `FLUSH_EVERY_EVENTS`, so a run whose flushes keep up never
/// waits at the limit.
pub(crate) const SEQ_BLOCK: usize = 2 * FLUSH_EVERY_EVENTS;

/// The sequence number of an event written after a run's stored ones by
/// a process that never had the run live (its end after a crash, found by
/// recovery or the sweeper): above every number the run may have handed
/// out, so a client resuming after the last event it saw gets it.
pub(crate) fn seq_after_stored(last_stored: u64) -> u64 {
    last_stored + SEQ_BLOCK as u64 + 1
}

pub(crate) struct LiveRun {
    /// The run's id as its events carry it (shared, not copied per event).
    run_id: Arc<str>,
    /// Where the part of the log no longer in memory is read from.
    store: Arc<dyn Store>,
    state: Mutex<LiveState>,
    changed: watch::Sender<()>,
    pub(crate) cancel: CancellationToken,
    /// Fired when the run's task has finished with it (its final state saved,
    /// or given up on): from then on the store, not this, has the last word.
    pub(crate) settled: CancellationToken,
    /// Held while the run's record is written to the store.
    pub(crate) writing: tokio::sync::Mutex<()>,
    /// Woken when `FLUSH_EVERY_EVENTS` events wait to be stored.
    pub(crate) flush_wanted: Notify,
}

/// One event of the log in memory. A delta (a token of text, reasoning or
/// tool arguments) is kept as its time, text and the index of its message
/// or call id: 40 bytes in the log's ring instead of a pointer there and a
/// 136-byte `Arc<Event>` (bench row 4, 2,000 streams of 100 tokens: the
/// unstored token events were 16 MB of a 99 MB heap peak). Readers get the
/// same event back (`LiveState::event`), made anew for each read.
enum Slot {
    Event(Arc<Event>),
    Delta(CompactDelta),
}

struct CompactDelta {
    at: i64,
    /// Into `LiveState::ids`.
    id: u32,
    kind: DeltaKind,
    delta: Delta,
}

#[derive(Clone, Copy)]
enum DeltaKind {
    Text,
    Reasoning,
    ToolArgs,
}

pub(crate) struct LiveState {
    /// The log from sequence number `dropped + 1` on.
    events: VecDeque<Slot>,
    /// The run's id, which every event of its log carries.
    run_id: Arc<str>,
    /// The message and call ids the compact deltas name (a run has a few).
    ids: Vec<Arc<str>>,
    /// Events (the first ones) no longer in memory: all stored.
    dropped: usize,
    /// False once the run is over or paused: subscribers then end.
    pub(crate) open: bool,
    pub(crate) record: RunRecord,
    /// Events written to the store (they are the first ones).
    pub(crate) unflushed: usize,
    /// How many events subscribers may see: all but a held-back last one
    /// (see `emit_held`).
    published: usize,
    /// Set once the run's end was stored with its record (`append_saved`):
    /// the run's task has nothing left to write.
    pub(crate) end_saved: bool,
}

impl LiveState {
    fn new(run_id: Arc<str>, history: Vec<Event>, record: RunRecord) -> Self {
        let unflushed = history.len();
        let mut state = Self {
            events: VecDeque::with_capacity(history.len()),
            run_id,
            ids: Vec::new(),
            dropped: 0,
            open: true,
            record,
            unflushed,
            published: unflushed,
            end_saved: false,
        };
        for event in history {
            state.push(Arc::new(event));
        }
        state
    }

    /// How many events the run has (the last one's sequence number).
    pub(crate) fn len(&self) -> usize {
        self.dropped + self.events.len()
    }

    /// Appends the next event, a delta of the run's own in its compact form.
    fn push(&mut self, event: Arc<Event>) {
        // Only what `event` gives back exactly: the run's own events (not
        // a member's), numbered by their place in the log.
        let compact = match &event.kind {
            _ if *event.run_id != *self.run_id || event.seq as usize != self.len() + 1 => None,
            EventKind::TextDelta { message_id, delta } => {
                Some((DeltaKind::Text, message_id, delta))
            }
            EventKind::ReasoningDelta { message_id, delta } => {
                Some((DeltaKind::Reasoning, message_id, delta))
            }
            EventKind::ToolCallArgs { call_id, delta } => {
                Some((DeltaKind::ToolArgs, call_id, delta))
            }
            _ => None,
        };
        let slot = match compact {
            Some((kind, id, delta)) => Slot::Delta(CompactDelta {
                at: event.at,
                id: self.id_index(id),
                kind,
                delta: delta.clone(),
            }),
            None => Slot::Event(event),
        };
        self.events.push_back(slot);
    }

    /// The index of a message or call id in `ids`, added if new. Deltas of
    /// one message come in a row, so the last few are looked at first.
    fn id_index(&mut self, id: &Arc<str>) -> u32 {
        if let Some(i) = self.ids.iter().rposition(|known| **known == **id) {
            return i as u32;
        }
        self.ids.push(id.clone());
        (self.ids.len() - 1) as u32
    }

    /// The event in `events[i]`, as it was emitted.
    fn event(&self, i: usize) -> Arc<Event> {
        match &self.events[i] {
            Slot::Event(event) => event.clone(),
            Slot::Delta(d) => {
                let id = self.ids[d.id as usize].clone();
                let delta = d.delta.clone();
                let kind = match d.kind {
                    DeltaKind::Text => EventKind::TextDelta {
                        message_id: id,
                        delta,
                    },
                    DeltaKind::Reasoning => EventKind::ReasoningDelta {
                        message_id: id,
                        delta,
                    },
                    DeltaKind::ToolArgs => EventKind::ToolCallArgs { call_id: id, delta },
                };
                Arc::new(Event {
                    seq: (self.dropped + i + 1) as u64,
                    run_id: self.run_id.clone(),
                    at: d.at,
                    kind,
                })
            }
        }
    }

    /// The events in `events[from..to]`, as they were emitted, with room
    /// for `extra` more.
    fn events_in(&self, from: usize, to: usize, extra: usize) -> Vec<Arc<Event>> {
        let mut events = Vec::with_capacity(to.saturating_sub(from) + extra);
        events.extend((from..to).map(|i| self.event(i)));
        events
    }

    /// The events not yet written to the store (shared, not copied).
    pub(crate) fn unflushed_events(&self) -> Vec<Arc<Event>> {
        self.unflushed_events_with_room(0)
    }

    /// `unflushed_events` in a vector with room for `extra` more (a run's
    /// end event): a whole log's vector is not grown, and doubled, for one.
    fn unflushed_events_with_room(&self, extra: usize) -> Vec<Arc<Event>> {
        let from = self.unflushed.saturating_sub(self.dropped);
        self.events_in(from.min(self.events.len()), self.events.len(), extra)
    }

    /// How many events subscribers see: the published ones, up to
    /// `SEQ_BLOCK` past the stored ones.
    fn visible(&self) -> usize {
        self.published.min(self.unflushed + SEQ_BLOCK)
    }

    /// Notes that the first `upto` events are stored, and lets go of the
    /// stored ones every subscriber may already have read from memory,
    /// but the last few. Callers wake subscribers (`LiveRun::stored`): more
    /// events may be visible now.
    fn mark_stored(&mut self, upto: usize) {
        self.unflushed = self.unflushed.max(upto);
        let keep_from = self
            .unflushed
            .min(self.visible())
            .saturating_sub(KEEP_STORED);
        while self.dropped < keep_from && self.events.pop_front().is_some() {
            self.dropped += 1;
        }
    }

    /// Appends the events in memory with sequence numbers in `(after,
    /// upto]` to `out` (a subscriber's vector, reused from wake to wake);
    /// false, with nothing appended, when some of them are only in the store.
    fn in_memory(&self, after: usize, upto: usize, out: &mut Vec<Arc<Event>>) -> bool {
        if after < self.dropped {
            return false;
        }
        let (from, to) = (after - self.dropped, upto.saturating_sub(self.dropped));
        out.extend((from.min(to)..to).map(|i| self.event(i)));
        true
    }

    /// Every event in memory, oldest first, and the sequence number
    /// before the first.
    pub(crate) fn recent(&self) -> (usize, Vec<Arc<Event>>) {
        (self.dropped, self.events_in(0, self.events.len(), 0))
    }
}

impl LiveRun {
    pub(crate) fn new(store: Arc<dyn Store>, record: RunRecord, history: Vec<Event>) -> Arc<Self> {
        Self::with_cancel(store, record, history, CancellationToken::new())
    }

    /// A run whose cancel switch is tied to another's (a team member's to its team).
    pub(crate) fn with_cancel(
        store: Arc<dyn Store>,
        record: RunRecord,
        history: Vec<Event>,
        cancel: CancellationToken,
    ) -> Arc<Self> {
        let run_id: Arc<str> = record.run_id.as_str().into();
        Arc::new(Self {
            run_id: run_id.clone(),
            store,
            state: Mutex::new(LiveState::new(run_id, history, record)),
            changed: watch::channel(()).0,
            cancel,
            settled: CancellationToken::new(),
            writing: tokio::sync::Mutex::new(()),
            flush_wanted: Notify::new(),
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
            state.published = state.len();
        }
        self.changed.send_replace(());
    }

    fn append(&self, kind: EventKind) -> Arc<Event> {
        let mut state = self.lock();
        let event = Arc::new(Event {
            seq: state.len() as u64 + 1,
            run_id: self.run_id.clone(),
            at: now_ms(),
            kind,
        });
        state.record.apply(&event);
        if event.kind.ends_stream() {
            state.open = false;
        }
        state.push(event.clone());
        // Every FLUSH_EVERY_EVENTS unstored events (again after a failed write).
        if (state.len() - state.unflushed).is_multiple_of(FLUSH_EVERY_EVENTS) {
            self.flush_wanted.notify_one();
        }
        event
    }

    /// What appending `kind` now would write, without appending it: the
    /// events not yet stored followed by the new one, and the record with
    /// it applied. A run's end is stored this way before anything (its own
    /// record included) shows it; `append_saved` then makes it the run's.
    pub(crate) fn preview(&self, kind: EventKind) -> (Vec<Arc<Event>>, RunRecord) {
        let state = self.lock();
        let event = Arc::new(Event {
            seq: state.len() as u64 + 1,
            run_id: self.run_id.clone(),
            at: now_ms(),
            kind,
        });
        let mut record = state.record.clone();
        record.apply(&event);
        let mut events = state.unflushed_events_with_room(1);
        events.push(event);
        (events, record)
    }

    /// Appends (held back from subscribers, as `emit_held` does) the last
    /// event of a `preview` once it is stored, with the record it left:
    /// everything up to it is then stored. Only the run's own task appends,
    /// and it waits for the store in between, so the event is still next.
    pub(crate) fn append_saved(&self, event: Arc<Event>, record: RunRecord) {
        let mut state = self.lock();
        debug_assert_eq!(event.seq, state.len() as u64 + 1);
        if event.kind.ends_stream() {
            state.open = false;
        }
        state.push(event);
        state.record = record;
        state.unflushed = state.len();
        state.end_saved = true;
    }

    /// Notes that the first `upto` events are stored (see
    /// `LiveState::mark_stored`) and wakes subscribers, who may see further.
    pub(crate) fn stored(&self, upto: usize) {
        self.lock().mark_stored(upto);
        self.changed.send_replace(());
    }

    /// Fires whenever an event is published.
    pub(crate) fn changes(&self) -> watch::Receiver<()> {
        self.changed.subscribe()
    }

    pub(crate) fn record(&self) -> RunRecord {
        self.lock().record.clone()
    }

    /// The run's id, without copying its record to read it.
    pub(crate) fn run_id(&self) -> &str {
        &self.run_id
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
            let mut batch = Vec::new();
            loop {
                let (open, behind) = {
                    let state = live.lock();
                    let end = state.visible();
                    let open = state.open || end < state.len();
                    (open, !state.in_memory(next.min(end), end, &mut batch))
                };
                // Behind what memory holds: the stored part comes first.
                if behind {
                    match live.stored_after(next).await {
                        Some(stored) => batch = stored,
                        None => {
                            guard.disarm();
                            return;
                        }
                    }
                }
                let progressed = !batch.is_empty();
                for event in batch.drain(..) {
                    next = event.seq as usize;
                    let ends = event.kind.ends_stream();
                    yield event;
                    if ends {
                        guard.disarm();
                        return;
                    }
                }
                if progressed {
                    continue;
                }
                if !open {
                    guard.disarm();
                    // An ended run's stream ends with its terminal event,
                    // whatever the client said it had seen: one that missed
                    // it (or sends a number the run never reached) still
                    // learns how the run ended.
                    // (A stream that yielded an ending event returned there.)
                    if let Some(end) = live.terminal_event() {
                        yield end;
                    }
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

    /// The run's last event, if it has ended (completed, failed or
    /// cancelled; not paused) and subscribers may see it.
    fn terminal_event(&self) -> Option<Arc<Event>> {
        let state = self.lock();
        if !state.record.status.is_terminal() || state.visible() < state.len() {
            return None;
        }
        match state.events.back() {
            Some(Slot::Event(e)) if e.kind.ends_stream() => Some(e.clone()),
            _ => None,
        }
    }

    /// The stored events after `after`, up to what memory holds (and what
    /// subscribers may see); `None` when the store cannot be read (the
    /// reader's stream then ends: it cannot go on without a gap).
    async fn stored_after(&self, after: usize) -> Option<Vec<Arc<Event>>> {
        let upto = {
            let state = self.lock();
            state.dropped.min(state.visible())
        };
        match self.store.events(&self.run_id, after as u64).await {
            Ok(events) => {
                let events: Vec<Arc<Event>> = events
                    .into_iter()
                    .take_while(|e| e.seq as usize <= upto)
                    .map(Arc::new)
                    .collect();
                // The store must hold what memory let go of; if it does not,
                // stop rather than skip ahead.
                if events.first().map(|e| e.seq as usize) != Some(after + 1) {
                    tracing::error!(run_id = %self.run_id, after,
                        "stored events of a live run are missing; ending the reader's stream");
                    return None;
                }
                Some(events)
            }
            Err(e) => {
                tracing::warn!(run_id = %self.run_id, error = %e,
                    "could not read a live run's stored events; ending the reader's stream");
                None
            }
        }
    }

    /// Every event of the run so far, stored and in memory, oldest first.
    pub(crate) async fn log(&self) -> Result<Vec<Event>, crate::store::StoreError> {
        let (dropped, recent) = self.lock().recent();
        let mut log = if dropped > 0 {
            let mut stored = self.store.events(&self.run_id, 0).await?;
            stored.truncate(dropped);
            stored
        } else {
            Vec::new()
        };
        log.extend(recent.iter().map(|e| (**e).clone()));
        Ok(log)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;

    fn text(i: usize) -> EventKind {
        EventKind::TextDelta {
            message_id: "m".into(),
            delta: format!("t{i}").into(),
        }
    }

    /// Deltas are kept compactly: what readers get back is what was emitted
    /// (sequence, run, time, kind and ids), in every way a log is read.
    #[tokio::test]
    async fn compact_deltas_read_back_as_emitted() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
        let record = RunRecord::pending("r", "s", "a", "A", 0);
        let history = vec![Event {
            seq: 1,
            run_id: "r".into(),
            at: 7,
            kind: EventKind::TextDelta {
                message_id: "m0".into(),
                delta: "from the store".into(),
            },
        }];
        let live = LiveRun::new(store, record, history.clone());
        let mut emitted: Vec<Event> = history;
        let (m1, m2, call): (Arc<str>, Arc<str>, Arc<str>) = ("m1".into(), "m2".into(), "c".into());
        for i in 0..40 {
            let kind = match i % 4 {
                0 => EventKind::TextDelta {
                    message_id: m1.clone(),
                    delta: format!("t{i}").into(),
                },
                1 => EventKind::ReasoningDelta {
                    message_id: m2.clone(),
                    delta: "a token longer than the twenty-four bytes kept inline".into(),
                },
                2 => EventKind::ToolCallArgs {
                    call_id: call.clone(),
                    delta: "{\"x\":".into(),
                },
                _ => EventKind::MessageStarted {
                    message_id: format!("m{i}"),
                },
            };
            emitted.push((*live.emit(kind)).clone());
        }
        let (dropped, recent) = live.lock().recent();
        assert_eq!(dropped, 0);
        let recent: Vec<Event> = recent.iter().map(|e| (**e).clone()).collect();
        assert_eq!(recent, emitted);
        let unflushed: Vec<Event> = live
            .lock()
            .unflushed_events()
            .iter()
            .map(|e| (**e).clone())
            .collect();
        assert_eq!(unflushed, emitted[1..]);
        let mut replay = live.subscribe(10, false);
        for want in &emitted[10..] {
            let got = futures::StreamExt::next(&mut replay).await.unwrap();
            assert_eq!(*got, *want);
        }
    }

    #[tokio::test]
    async fn stored_events_leave_memory_and_are_read_back_from_the_store() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
        let record = RunRecord::pending("r", "s", "a", "A", 0);
        let live = LiveRun::new(store.clone(), record, Vec::new());
        for i in 0..100 {
            live.emit(text(i));
        }
        let events = live.lock().unflushed_events();
        store
            .save_run(Arc::new(live.record()), &events)
            .await
            .unwrap();
        live.stored(100);
        assert_eq!(live.lock().recent().0, 100 - KEEP_STORED);
        assert_eq!(live.lock().recent().1.len(), KEEP_STORED);
        live.emit(text(100));

        let mut replay = live.subscribe(0, false);
        for seq in 1..=101 {
            let event = futures::StreamExt::next(&mut replay).await.unwrap();
            assert_eq!(event.seq, seq);
        }
        let log = live.log().await.unwrap();
        assert_eq!(log.len(), 101);
        assert!(log.iter().enumerate().all(|(i, e)| e.seq == i as u64 + 1));
    }
}
