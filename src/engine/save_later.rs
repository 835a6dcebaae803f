//! Runs that ended while the store refused their final save are saved
//! later: retried in the background, further and further apart, until the
//! store takes them.
//!
//! Until then the run stays registered here, so this process answers for
//! it from memory; before, it was left so for good after a few tries, and
//! the store kept it `pending` until the next start relabelled it
//! "interrupted" although its answer had been delivered. Goes through the
//! engine's own flush; knows no database and no protocol.

use std::sync::Arc;
use std::time::Duration;

use super::Engine;
use super::live::LiveRun;
use crate::store::StoreError;

/// The first wait before a retry, doubled after each failure up to `MAX_WAIT`.
const FIRST_WAIT: Duration = Duration::from_secs(1);
const MAX_WAIT: Duration = Duration::from_secs(30);

impl Engine {
    /// Keeps trying to save an ended run's final state until the store takes
    /// it (or another replica turns out to own the run), then lets go of
    /// it. Stops when the engine is dropped.
    pub(super) fn save_later(self: &Arc<Self>, live: Arc<LiveRun>) {
        let engine = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut wait = FIRST_WAIT;
            loop {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(MAX_WAIT);
                let Some(engine) = engine.upgrade() else {
                    return;
                };
                match engine.flush(&live).await {
                    Ok(()) => {
                        tracing::info!(run_id = live.run_id(), "the run's final state is saved");
                    }
                    Err(StoreError::Superseded(_)) => {
                        tracing::warn!(
                            run_id = live.run_id(),
                            "the run was taken over by another replica; its end here is dropped"
                        );
                    }
                    Err(e) => {
                        tracing::warn!(run_id = live.run_id(), error = %e, retry_in = ?wait,
                            "still cannot save the run's final state");
                        continue;
                    }
                }
                engine.unregister(live.run_id());
                return;
            }
        });
    }
}
