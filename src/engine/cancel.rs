//! Cancelling: one run (live here, paused, queued, or running on another
//! replica), and every live run when a shutdown's grace period is over.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::live::LiveRun;
use super::{Engine, EngineError, Event, EventKind, RunRecord, RunStatus, audit};
use crate::domain::Principal;

/// What a cancel found.
#[derive(Debug)]
pub enum CancelOutcome {
    /// The run was live or paused and is now stopping (or stopped).
    Cancelling(RunRecord),
    /// The run had already ended; nothing changed.
    AlreadyFinished(RunRecord),
}

impl Engine {
    /// Asks a run to stop. A live run stops at its next step (its upstream
    /// request is dropped); a paused or still queued one is cancelled at
    /// once; one that another replica runs is asked to stop through the
    /// store, and that replica stops it as if the request had come to it.
    /// Runs in a task of the engine's: ending a paused run registers it here
    /// for a moment, which a dropped caller must not leave half done.
    /// Another user's run is `RunNotFound`, as an unknown one.
    pub async fn cancel(
        self: &Arc<Self>,
        principal: &Principal,
        run_id: &str,
    ) -> Result<CancelOutcome, EngineError> {
        let outcome = match self.check_run(principal, run_id).await {
            Ok(()) => {
                let engine = self.clone();
                let id = run_id.to_string();
                self.detached(async move { engine.cancel_run(&id).await }, drop)
                    .await
            }
            Err(e) => Err(e),
        };
        let ids = audit::Ids {
            run_id: Some(run_id),
            ..Default::default()
        };
        let worded = match &outcome {
            Ok(CancelOutcome::Cancelling(_)) => "ok".to_string(),
            Ok(CancelOutcome::AlreadyFinished(_)) => "already finished".to_string(),
            Err(e) => e.to_string(),
        };
        audit::record(principal, "run.cancelled", ids, &worded);
        outcome
    }

    pub(super) async fn cancel_run(&self, run_id: &str) -> Result<CancelOutcome, EngineError> {
        if let Some(live) = self.live_unless_settled(run_id).await {
            return Ok(cancel_live(&live));
        }
        // A few tries: the run may change hands (claimed, paused, resumed)
        // between reading it and acting on it.
        for _ in 0..5 {
            let record = self
                .store
                .get_run(run_id)
                .await?
                .ok_or_else(|| EngineError::RunNotFound(run_id.to_string()))?;
            if record.status.is_terminal() {
                return Ok(CancelOutcome::AlreadyFinished(record));
            }
            match record.status {
                RunStatus::Pending => {
                    if let Some((queued, _)) = self.store.claim_queued_run(Some(run_id)).await? {
                        // Still queued: it is this process's to end now.
                        return self.end_cancelled(queued, None).await;
                    }
                }
                RunStatus::Awaiting => {
                    match self.end_cancelled(record, Some(RunStatus::Awaiting)).await {
                        Err(EngineError::NotAwaiting { .. }) | Err(EngineError::RunExists(_)) => {
                            continue;
                        }
                        outcome => return outcome,
                    }
                }
                _ => {}
            }
            // Counted before it is written: a run launching meanwhile then
            // reads the store for it (see `launch`).
            self.cancel_intents.fetch_add(1, Ordering::SeqCst);
            if self.store.request_cancel(run_id).await? {
                // It may have started here meanwhile (claimed from the queue).
                if let Some(live) = self.live_run(run_id) {
                    return Ok(cancel_live(&live));
                }
                let mut record = record;
                record.cancel_requested = true;
                return Ok(CancelOutcome::Cancelling(record));
            }
            if let Some(live) = self.live_unless_settled(run_id).await {
                return Ok(cancel_live(&live));
            }
        }
        let record = self
            .store
            .get_run(run_id)
            .await?
            .ok_or_else(|| EngineError::RunNotFound(run_id.to_string()))?;
        Ok(if record.status.is_terminal() {
            CancelOutcome::AlreadyFinished(record)
        } else {
            CancelOutcome::Cancelling(record)
        })
    }

    /// Ends a run that has no task (paused, or taken off the queue) as
    /// cancelled. `from`: the status it must still have in the store (a
    /// paused run another process may resume meanwhile); `None` when this
    /// process owns it already.
    pub(super) async fn end_cancelled(
        &self,
        record: RunRecord,
        from: Option<RunStatus>,
    ) -> Result<CancelOutcome, EngineError> {
        let run_id = record.run_id.clone();
        let events = self.store.events(&run_id, 0).await?;
        let live = LiveRun::new(self.store.clone(), record, events);
        self.register(&run_id, live.clone())?;
        live.emit(EventKind::Cancelled {
            reason: format!("Run {run_id} was cancelled"),
            partial: live.record().content,
        });
        let result = match from {
            None => self.flush(&live).await.map(|()| true),
            Some(from) => {
                let (record, fresh) = {
                    let state = live.lock();
                    let fresh: Vec<Event> = state
                        .unflushed_events()
                        .iter()
                        .map(|e| (**e).clone())
                        .collect();
                    (state.record.clone(), fresh)
                };
                self.store.take_run(&record, from, &fresh).await
            }
        };
        self.unregister(&run_id);
        live.settled.cancel();
        match result? {
            true => Ok(CancelOutcome::Cancelling(live.record())),
            false => Err(EngineError::NotAwaiting {
                run_id,
                status: "changed".into(),
            }),
        }
    }

    /// Stops every live run at once and waits for their tasks.
    pub async fn shutdown(&self) {
        self.drain(Duration::ZERO).await;
    }

    /// Graceful shutdown: starts no new runs, lets live ones finish for up
    /// to `grace`, then cancels the rest; returns once every run task has
    /// ended and flushed its events and record to the store (so cancelled
    /// runs are stored as cancelled).
    pub async fn drain(&self, grace: Duration) {
        self.stopping.store(true, Ordering::SeqCst);
        self.tasks.close();
        if tokio::time::timeout(grace, self.tasks.wait())
            .await
            .is_err()
        {
            self.cancel_live_runs().await;
        }
        // Last, once no run can call a tool: MCP servers, children included.
        self.tools.shutdown().await;
    }

    pub(super) async fn cancel_live_runs(&self) {
        let lives: Vec<Arc<LiveRun>> = self
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        tracing::info!(
            runs = lives.len(),
            "grace period over: cancelling live runs"
        );
        for live in lives {
            live.cancel.cancel();
        }
        self.tasks.wait().await;
    }
}

/// Marks a live run as asked to stop and fires its cancel switch.
pub(super) fn cancel_live(live: &LiveRun) -> CancelOutcome {
    let record = {
        let mut state = live.lock();
        if !state.record.status.is_terminal() {
            state.record.cancel_requested = true;
        }
        state.record.clone()
    };
    live.cancel.cancel();
    if record.status.is_terminal() {
        CancelOutcome::AlreadyFinished(record)
    } else {
        CancelOutcome::Cancelling(record)
    }
}
