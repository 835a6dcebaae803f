//! Ending runs nothing drives: the ones a previous process left in flight
//! (at start), and while serving the sweeper's finds, runs this process
//! holds in flight in the store with no task behind them here.
//!
//! Such a run can only come from a fault (a start cut short, a launch that
//! failed after the run was stored); without the sweeper it would stay
//! `pending` for ever, and on a shared store this replica's heartbeat would
//! keep it from everyone else. Goes through the `Store` trait only; knows no
//! database and no protocol.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use super::{Engine, EngineError, Event, EventKind, FailureKind, RunFailure, RunRecord, now_ms};

impl Engine {
    /// Every `engine.sweep_secs`, fails the runs the store says this process
    /// holds in flight (not queued) that are not live here, once two looks
    /// in a row found them so: a run is stored a moment before it is live,
    /// and one look could catch it in between. A run found so is ended only
    /// if its stored status is still what the look read (it may have ended
    /// meanwhile). Stops when the engine is dropped.
    pub(super) fn start_sweeper(self: &Arc<Self>) {
        let every = Duration::from_secs(self.config.engine.sweep_secs.max(1));
        let engine = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut suspects = HashSet::new();
            loop {
                tokio::time::sleep(every).await;
                let Some(engine) = engine.upgrade() else {
                    return;
                };
                match engine.sweep(&mut suspects).await {
                    Ok(ended) if !ended.is_empty() => tracing::warn!(
                        runs = ?ended,
                        "runs in flight with nothing running them were marked failed"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "could not sweep for abandoned runs"),
                }
            }
        });
    }

    /// One look of the sweeper; `suspects` are the runs the previous look
    /// found abandoned, and become this look's. Returns the runs it ended.
    pub async fn sweep(&self, suspects: &mut HashSet<String>) -> Result<Vec<String>, EngineError> {
        let runs = self.store.runs_in_flight_here().await?;
        let mut found = HashSet::new();
        let mut ended = Vec::new();
        for record in runs {
            let run_id = record.run_id.clone();
            if self.live_run(&run_id).is_some() {
                continue;
            }
            if !suspects.contains(&run_id) {
                found.insert(run_id);
                continue;
            }
            let message = "The run was abandoned: it was recorded but nothing was running it. \
                           Start a new run to try again.";
            if self.end_stray(record, message).await? {
                ended.push(run_id);
            }
        }
        *suspects = found;
        Ok(ended)
    }

    /// Fails a run nothing drives with `FailureKind::Interrupted`, its
    /// terminal event after every number the run may have handed out (see
    /// `live::SEQ_BLOCK`). Written only if the run's stored status is still
    /// the one read (`take_run`): false when it changed meanwhile.
    pub(super) async fn end_stray(
        &self,
        mut record: RunRecord,
        message: &str,
    ) -> Result<bool, EngineError> {
        let from = record.status;
        let stored = self.store.events(&record.run_id, 0).await?;
        let event = Event {
            seq: super::live::seq_after_stored(stored.last().map_or(0, |e| e.seq)),
            run_id: record.run_id.as_str().into(),
            at: now_ms(),
            kind: EventKind::Failed {
                error: RunFailure {
                    kind: FailureKind::Interrupted,
                    message: message.into(),
                },
            },
        };
        record.apply(&event);
        record.cancel_requested = false;
        Ok(self.store.take_run(&record, from, &[event]).await?)
    }
}
