//! Replication: what the engine does so that several processes can share
//! one store: the queue worker that claims background runs, the signal
//! dispatcher that turns cancel requests from other replicas into local
//! cancels, the event pump that writes a live run's events to the store as
//! they come (so other replicas can tail it), and the tail that follows a
//! run another process runs.
//!
//! Everything here goes through the `Store` trait and its signals; it knows
//! no database and no protocol. On a store one process owns, the worker
//! still runs (queued runs left by a restart) and the rest is idle.

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::{self, error::RecvError};

use super::admission::RunSlot;
use super::live::{EventStream, LiveRun};
use super::{
    Engine, Event, EventKind, FailureKind, LiveMap, RunFailure, RunHandle, RunRecord, RunStatus,
};
use crate::domain::{Message, ToolSpec};
use crate::store::{StoreError, StoreSignal};

/// The work order queued with a background run: what starting it needs
/// beyond its record (which holds its prepared input and session).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Job {
    /// The `[models]` key overriding the agent's model.
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub client_tools: Vec<ToolSpec>,
    /// A client-held transcript replacing the session history.
    #[serde(default)]
    pub history: Option<Vec<Message>>,
}

/// How often a tail re-reads the store when no signal came: the fallback
/// for a missed notification, or the only way on a store without signals.
const TAIL_POLL_SIGNALLED: Duration = Duration::from_millis(500);
const TAIL_POLL: Duration = Duration::from_millis(200);

/// How often the queue worker looks for queued runs without being woken:
/// on a shared store a missed "queued" signal costs at most this long.
const QUEUE_POLL_SHARED: Duration = Duration::from_secs(1);
const QUEUE_POLL: Duration = Duration::from_secs(5);

/// A live run's new events are written at most this often (batched): the
/// delay a tailing replica sees on top of the database's.
const EVENT_FLUSH_DELAY: Duration = Duration::from_millis(50);
/// And its record (partial output, for polling clients) at most this often:
/// a whole record is a heavier write than a few events.
const RECORD_FLUSH_EVERY: Duration = Duration::from_millis(250);

impl Engine {
    /// Starts the background tasks a serving engine needs: the queue worker
    /// and, on a shared store, the signal dispatcher. Idempotent; the tasks
    /// end when the engine is dropped.
    pub fn start_workers(self: &Arc<Self>) {
        use std::sync::atomic::Ordering;
        if self.workers_started.swap(true, Ordering::SeqCst) {
            return;
        }
        tokio::spawn(queue_worker(
            Arc::downgrade(self),
            self.queue_wake.clone(),
            self.store.signals(),
            self.store.is_shared(),
        ));
        if let Some(signals) = self.store.signals() {
            tokio::spawn(dispatch_signals(Arc::downgrade(self), signals));
        }
        self.start_sweeper();
    }

    /// Starts a run this process just claimed from the queue. A run that
    /// cannot start (its agent or model is no longer configured here) is
    /// ended as failed rather than left pending. `None` when the run did not
    /// start.
    pub(super) async fn launch_claimed(
        self: &Arc<Self>,
        record: RunRecord,
        job: serde_json::Value,
        slot: RunSlot,
        intents: u64,
    ) -> Option<RunHandle> {
        if record.status != RunStatus::Pending {
            return None;
        }
        let job: Job = match serde_json::from_value(job) {
            Ok(job) => job,
            Err(e) => {
                self.fail_unstarted(record, format!("its queued work order is unreadable: {e}"))
                    .await;
                return None;
            }
        };
        match self
            .launch(record.clone(), job, None, Some(slot), intents)
            .await
        {
            Ok(handle) => Some(handle),
            Err(e) => {
                self.fail_unstarted(record, format!("it could not start: {e}"))
                    .await;
                None
            }
        }
    }

    pub(super) async fn fail_unstarted(&self, record: RunRecord, why: String) {
        let run_id = record.run_id.clone();
        tracing::warn!(run_id, reason = why, "a queued run could not start");
        let live = LiveRun::new(self.store.clone(), record, Vec::new());
        live.emit(EventKind::Failed {
            error: RunFailure {
                kind: FailureKind::Internal,
                message: format!("The run failed before it started: {why}"),
            },
        });
        if let Err(e) = self.flush(&live).await {
            tracing::error!(run_id, error = %e, "could not save a failed queued run");
        }
    }

    /// Writes the events a live run has not stored yet (not its record).
    pub(super) async fn flush_events(&self, live: &LiveRun) -> Result<(), StoreError> {
        let (run_id, events, upto) = {
            let state = live.lock();
            (
                state.record.run_id.clone(),
                state.unflushed_events(),
                state.len(),
            )
        };
        if events.is_empty() {
            return Ok(());
        }
        self.store.append_live_events(&run_id, &events).await?;
        live.stored(upto);
        Ok(())
    }

    /// Writes a running run's new events with its record as it is now, in
    /// one write; once the run has ended or paused (its task writes that
    /// final record), only the events.
    async fn flush_progress(&self, live: &LiveRun) -> Result<(), StoreError> {
        let _writing = live.writing.lock().await;
        let (record, events, upto) = {
            let state = live.lock();
            let record = state.open.then(|| Arc::new(state.record.clone()));
            (record, state.unflushed_events(), state.len())
        };
        let Some(record) = record else {
            return self.flush_events(live).await;
        };
        self.store.save_run(record, &events).await?;
        live.stored(upto);
        Ok(())
    }

    /// On a shared store, writes a live run's events as they come (and its
    /// record now and then), so replicas tailing or polling it see what
    /// this one sees rather than wait for the run's next checkpoint. A
    /// refused write means another replica took the run over: it is
    /// stopped here.
    pub(super) fn pump_events(self: &Arc<Self>, live: &Arc<LiveRun>) {
        if !self.store.is_shared() {
            return;
        }
        let engine = Arc::downgrade(self);
        let live = live.clone();
        let mut changes = live.changes();
        // What was emitted before the pump started is written first thing.
        changes.mark_changed();
        tokio::spawn(async move {
            let mut record_written = tokio::time::Instant::now();
            loop {
                tokio::select! {
                    _ = live.settled.cancelled() => return,
                    changed = changes.changed() => if changed.is_err() { return },
                }
                tokio::select! {
                    _ = live.settled.cancelled() => return,
                    _ = tokio::time::sleep(EVENT_FLUSH_DELAY) => {}
                }
                let Some(engine) = engine.upgrade() else {
                    return;
                };
                // The record, when due, goes with the events in one write.
                let written = if record_written.elapsed() >= RECORD_FLUSH_EVERY {
                    record_written = tokio::time::Instant::now();
                    engine.flush_progress(&live).await
                } else {
                    engine.flush_events(&live).await
                };
                match written {
                    Ok(()) => {}
                    Err(StoreError::Superseded(_)) => {
                        tracing::warn!(
                            run_id = live.record().run_id,
                            "another replica took this run over; stopping it here"
                        );
                        live.cancel.cancel();
                        return;
                    }
                    // The run's next checkpoint writes them (or fails the run).
                    Err(e) => tracing::warn!(error = %e, "could not store a run's new events"),
                }
            }
        });
    }

    /// Replays `events`, then follows a run that is in flight but not live
    /// here (queued, or run by another replica) through the store: woken by
    /// the store's signals, polling as a fallback. Once the run is live here
    /// (claimed from the queue by this process) it follows it directly.
    pub(super) fn tail(&self, run_id: &str, after: u64, events: Vec<Event>) -> EventStream {
        let store = self.store.clone();
        let lives = self.live.clone();
        let run_id = run_id.to_string();
        let mut signals = store.signals();
        let poll = if signals.is_some() {
            TAIL_POLL_SIGNALLED
        } else {
            TAIL_POLL
        };
        EventStream(Box::pin(async_stream::stream! {
            let mut last = events.last().map_or(after, |e| e.seq);
            for event in events {
                let ends = event.kind.ends_stream();
                yield Arc::new(event);
                if ends {
                    return;
                }
            }
            loop {
                wait_for_events(&mut signals, &run_id, poll).await;
                if let Some(live) = live_here(&lives, &run_id) {
                    let mut here = live.subscribe(last, false);
                    while let Some(event) = here.next().await {
                        yield event;
                    }
                    return;
                }
                // Read the status first: events stored before it are all seen below.
                let (done, ended) = match store.get_run(&run_id).await {
                    Ok(Some(r)) => (
                        !matches!(r.status, RunStatus::Pending | RunStatus::Running),
                        r.status.is_terminal(),
                    ),
                    _ => (true, false),
                };
                let Ok(fresh) = store.events(&run_id, last).await else {
                    return;
                };
                for event in fresh {
                    last = event.seq;
                    let ends = event.kind.ends_stream();
                    yield Arc::new(event);
                    if ends {
                        return;
                    }
                }
                if done {
                    // Ended without this reader seeing its end (it asked
                    // from past it): the terminal event still closes the
                    // stream (see `LiveRun::subscribe`).
                    if ended
                        && let Ok(log) = store.events(&run_id, 0).await
                        && let Some(end) = log.into_iter().last().filter(|e| e.kind.ends_stream())
                    {
                        yield Arc::new(end);
                    }
                    return;
                }
            }
        }))
    }

    /// Asks the store whether a live run was asked to stop from elsewhere;
    /// if so, fires its cancel switch. Only a shared store can say so.
    pub(super) async fn cancel_asked_elsewhere(&self, live: &LiveRun) -> bool {
        if !self.store.is_shared() {
            return false;
        }
        let run_id = live.record().run_id;
        match self.store.cancel_requested(&run_id).await {
            Ok(true) => {
                live.lock().record.cancel_requested = true;
                live.cancel.cancel();
                true
            }
            Ok(false) => false,
            Err(e) => {
                tracing::warn!(run_id, error = %e, "could not check for a cancel request");
                false
            }
        }
    }
}

fn live_here(lives: &LiveMap, run_id: &str) -> Option<Arc<LiveRun>> {
    lives
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(run_id)
        .cloned()
}

/// Waits until the store signals new events of `run_id` (or that signals
/// were missed), or `poll` has passed.
async fn wait_for_events(
    signals: &mut Option<broadcast::Receiver<StoreSignal>>,
    run_id: &str,
    poll: Duration,
) {
    let deadline = tokio::time::sleep(poll);
    tokio::pin!(deadline);
    loop {
        let Some(rx) = signals.as_mut() else {
            deadline.await;
            return;
        };
        tokio::select! {
            _ = &mut deadline => return,
            signal = rx.recv() => match signal {
                Ok(StoreSignal::Events(id)) if id == run_id => return,
                Ok(StoreSignal::Resync) | Err(RecvError::Lagged(_)) => return,
                Ok(_) => {}
                Err(RecvError::Closed) => *signals = None,
            },
        }
    }
}

/// Claims queued runs while this process has room for them: woken when a
/// run is queued anywhere (a store signal), when a run slot frees up here,
/// and by a poll. A freed slot (the end of every run) claims only when the
/// queue may hold something: when the last look found it empty and this
/// process has queued nothing since, the look (a write on the store) is
/// skipped. Runs queued elsewhere come with a signal, or the poll finds them.
async fn queue_worker(
    engine: Weak<Engine>,
    wake: Arc<tokio::sync::Notify>,
    mut signals: Option<broadcast::Receiver<StoreSignal>>,
    shared: bool,
) {
    use std::sync::atomic::Ordering;
    let poll = if shared {
        QUEUE_POLL_SHARED
    } else {
        QUEUE_POLL
    };
    // The queue epoch at which a look found the queue empty.
    let mut empty_at: Option<u64> = None;
    let mut look = true;
    loop {
        if look {
            let Some(engine) = engine.upgrade() else {
                return;
            };
            let epoch = engine.queue_epoch.load(Ordering::SeqCst);
            empty_at = claim_while_room(&engine).await.then_some(epoch);
        }
        let woken = async {
            match signals.as_mut() {
                Some(rx) => loop {
                    match rx.recv().await {
                        Ok(StoreSignal::Queued | StoreSignal::Resync)
                        | Err(RecvError::Lagged(_)) => return,
                        Ok(_) => {}
                        Err(RecvError::Closed) => return std::future::pending().await,
                    }
                },
                None => std::future::pending().await,
            }
        };
        look = tokio::select! {
            _ = wake.notified() => match (engine.upgrade(), empty_at) {
                (Some(engine), Some(epoch)) => engine.queue_epoch.load(Ordering::SeqCst) != epoch,
                _ => true,
            },
            _ = woken => true,
            _ = tokio::time::sleep(poll) => true,
        };
    }
}

/// Claims queued runs while there is room; true when it found the queue
/// empty (rather than stopping for want of room or on an error).
async fn claim_while_room(engine: &Arc<Engine>) -> bool {
    loop {
        // No room (or shutting down): a freed slot wakes the worker again.
        // A claimed run's caller limit was checked where it was accepted.
        let Ok(slot) = engine.acquire_slot(None) else {
            return false;
        };
        let intents = engine.cancel_intents_seen();
        match engine.store.claim_queued_run(None).await {
            Ok(Some((record, job))) => {
                engine.launch_claimed(record, job, slot, intents).await;
            }
            Ok(None) => {
                slot.release_quietly();
                return true;
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not claim a queued run");
                slot.release_quietly();
                return false;
            }
        }
    }
}

/// Turns cancel requests made on other replicas into cancels of the runs
/// live here.
async fn dispatch_signals(engine: Weak<Engine>, mut signals: broadcast::Receiver<StoreSignal>) {
    loop {
        let run_id = match signals.recv().await {
            Ok(StoreSignal::Cancel(run_id)) => run_id,
            Ok(_) | Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => return,
        };
        let Some(engine) = engine.upgrade() else {
            return;
        };
        if let Some(live) = engine.live_run(&run_id) {
            tracing::info!(run_id, "cancel requested through another replica");
            super::cancel::cancel_live(&live);
        }
    }
}
