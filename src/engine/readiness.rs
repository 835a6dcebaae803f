//! Whether the store takes writes, for readiness: a small write, its answer
//! kept for a moment so that probes from a load balancer (or many) cost at
//! most one write per `PROBE_TTL`.
//!
//! A store can answer reads while refusing every write (a full disk): the
//! readiness check used to read only, and said ready throughout. Goes
//! through the `Store` trait only; knows no HTTP.

use std::time::{Duration, Instant};

use super::Engine;

/// How long a probe's answer stands.
const PROBE_TTL: Duration = Duration::from_secs(2);

/// The last probe: when, and what it met (the store's error, as text).
pub(super) type LastProbe = tokio::sync::Mutex<Option<(Instant, Result<(), String>)>>;

impl Engine {
    /// Whether a write to the store succeeds now (or did less than
    /// `PROBE_TTL` ago); the store's error otherwise. Concurrent callers
    /// share one probe.
    pub async fn store_writable(&self) -> Result<(), String> {
        let mut last = self.last_probe.lock().await;
        if let Some((at, outcome)) = last.as_ref()
            && at.elapsed() < PROBE_TTL
        {
            return outcome.clone();
        }
        let outcome = self.store.probe_write().await.map_err(|e| e.to_string());
        *last = Some((Instant::now(), outcome.clone()));
        outcome
    }
}
