//! Saving runs: a running run's events as they pile up, its record at the
//! end (retried, then left to `save_later`), an end that must be stored
//! before anyone sees it, and the runs a stopped process left in flight.
//!
//! Goes through the `Store` trait only; which database is behind it is the
//! store's business.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::live::LiveRun;
use super::{Engine, EngineError, EventKind};
use crate::store::StoreError;

/// Tries at saving a run's final state before it is left to memory.
const FINAL_FLUSH_ATTEMPTS: u32 = 5;

impl Engine {
    /// Writes a running run's events whenever
    /// `FLUSH_EVERY_EVENTS` wait to be stored, until `done`: a long stream
    /// then holds only its recent events in memory (see `live`). Runs in
    /// the run's own task, beside the run. A shared store's runs are written
    /// by their pump (`pump_events`) instead.
    pub(super) async fn flush_while_running(&self, live: &LiveRun, done: &CancellationToken) {
        if self.store.is_shared() {
            return;
        }
        loop {
            tokio::select! {
                biased;
                _ = done.cancelled() => return,
                _ = live.flush_wanted.notified() => {}
            }
            // Only the events: the record is written at checkpoints and at
            // the end. On failure the events stay in memory; the run's next
            // checkpoint (or its end) writes them or fails the run.
            if let Err(e) = self.flush_events(live).await {
                tracing::warn!(run_id = live.run_id(), error = %e,
                    "could not store a running run's events yet");
            }
        }
    }

    /// Saves a run that has just ended or paused, retrying a failing store a
    /// few times. On failure the run stays registered, so this process keeps
    /// answering for it from memory, and is saved later (`save_later`).
    pub(super) async fn final_flush(&self, live: &LiveRun) -> bool {
        if live.lock().end_saved {
            return true;
        }
        let mut delay = std::time::Duration::from_millis(100);
        for attempt in 1..=FINAL_FLUSH_ATTEMPTS {
            match self.flush(live).await {
                Ok(()) => return true,
                // Another replica owns the run now: its record is the truth.
                Err(StoreError::Superseded(_)) => {
                    tracing::warn!(
                        run_id = live.run_id(),
                        "the run was taken over by another replica; its end here is dropped"
                    );
                    return true;
                }
                Err(e) => {
                    tracing::error!(run_id = live.run_id(), attempt, error = %e,
                        "could not save the run's final state");
                }
            }
            if attempt < FINAL_FLUSH_ATTEMPTS {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
        false
    }

    /// Ends the runs a previous process left in flight (pending or running in
    /// the store) as failed with `FailureKind::Interrupted`, appending that
    /// terminal event so their logs end like any other run's. Call at start,
    /// before serving. Returns the ids of the runs it ended.
    ///
    /// The store decides which runs are orphaned: with one process owning it,
    /// every in-flight run; with a store shared by replicas, only the runs
    /// whose replica stopped renewing its lease. Runs live here are skipped.
    pub async fn recover_interrupted(&self) -> Result<Vec<String>, EngineError> {
        let stale = self.store.claim_orphaned_runs().await?;
        let mut ended = Vec::new();
        for record in stale {
            let run_id = record.run_id.clone();
            if self.live_run(&run_id).is_some() {
                continue;
            }
            let message = "The run was interrupted: agentd stopped before it finished. \
                           Start a new run to try again.";
            // False: taken over meanwhile (resumed or cancelled elsewhere).
            if self.end_stray(record, message).await? {
                ended.push(run_id);
            }
        }
        Ok(ended)
    }

    /// Keeps ending orphaned runs while serving, when the store is shared
    /// (see `Store::orphan_check_interval`); stops when the engine is dropped.
    pub fn watch_orphans(self: &Arc<Self>) {
        let Some(every) = self.store.orphan_check_interval() else {
            return;
        };
        let engine = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(engine) = engine.upgrade() else {
                    return;
                };
                match engine.recover_interrupted().await {
                    Ok(ended) if !ended.is_empty() => tracing::warn!(
                        runs = ?ended,
                        "runs of a replica that stopped renewing its lease were marked failed"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "could not check for orphaned runs"),
                }
            }
        });
    }

    /// Writes events not yet stored, and the current record, in one write.
    pub(super) async fn flush(&self, live: &LiveRun) -> Result<(), StoreError> {
        // One record write at a time, each of the record as it is then: an
        // older record can never land after a newer one.
        let _writing = live.writing.lock().await;
        let (events, record, upto) = {
            let state = live.lock();
            (
                state.unflushed_events(),
                Arc::new(state.record.clone()),
                state.len(),
            )
        };
        self.store.save_run(record, &events).await?;
        live.stored(upto);
        Ok(())
    }

    /// Ends a run with `kind`, stored before it shows anywhere: the events
    /// not yet stored, the end event and the record it leaves go in one
    /// write, and only then does the live run take the event (held back
    /// from subscribers until the task publishes). On failure nothing
    /// changed, so the caller can end the run otherwise.
    pub(crate) async fn save_end(&self, live: &LiveRun, kind: EventKind) -> Result<(), StoreError> {
        let _writing = live.writing.lock().await;
        let (mut events, record) = live.preview(kind);
        let record = Arc::new(record);
        self.store.save_run(record.clone(), &events).await?;
        if let Some(end) = events.pop() {
            // The store has let go of it by now: no copy.
            live.append_saved(end, Arc::unwrap_or_clone(record));
        }
        Ok(())
    }
}
