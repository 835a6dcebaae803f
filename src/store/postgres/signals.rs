//! LISTEN/NOTIFY: the hints replicas send one another on their schema's
//! channel ("new events", "cancel", "queued"), turned into `StoreSignal`s
//! for this process. A hint can be lost; waiters poll as a fallback and the
//! heartbeat (lease.rs) re-sends cancel hints.
//!
//! Knows the channel, the payload format and the broadcast of signals only;
//! must never depend on the run queue, leases or the records' SQL, nor on
//! the engine, HTTP or a protocol.

use std::time::Duration;

use sqlx::Postgres;
use sqlx::postgres::PgListener;

use super::{PgStore, db_error};
use crate::store::{StoreError, StoreSignal};

/// Signals buffered per receiver before a slow one starts missing some
/// (it then gets `Lagged` and re-checks, as after a `Resync`).
pub(super) const SIGNAL_BUFFER: usize = 1024;

impl PgStore {
    /// Turns notifications into signals. A lost connection is re-made by
    /// the listener; what was sent meanwhile is gone, so waiters are told
    /// to re-check (`Resync`).
    pub(super) fn spawn_listener(&self, mut listener: PgListener) {
        let signals = self.signals.clone();
        let stop = self.stop.clone();
        tokio::spawn(async move {
            loop {
                let next = tokio::select! {
                    _ = stop.cancelled() => return,
                    next = listener.try_recv() => next,
                };
                match next {
                    Ok(Some(note)) => {
                        if let Some(signal) = parse_signal(note.payload()) {
                            let _ = signals.send(signal);
                        }
                    }
                    Ok(None) => {
                        let _ = signals.send(StoreSignal::Resync);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "lost the database notification channel; retrying");
                        let _ = signals.send(StoreSignal::Resync);
                        tokio::select! {
                            _ = stop.cancelled() => return,
                            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        }
                    }
                }
            }
        });
    }

    /// Sends a hint to every replica listening on this schema's channel.
    pub(super) async fn notify<'e, E>(&self, executor: E, payload: &str) -> Result<(), StoreError>
    where
        E: sqlx::Executor<'e, Database = Postgres>,
    {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(&self.channel)
            .bind(payload)
            .execute(executor)
            .await
            .map_err(db_error)?;
        Ok(())
    }
}

/// Notification payloads: `e:<run id>` new events, `c:<run id>` cancel,
/// `q` a run was queued.
pub(super) fn parse_signal(payload: &str) -> Option<StoreSignal> {
    match payload.split_once(':') {
        Some(("e", run_id)) => Some(StoreSignal::Events(run_id.to_string())),
        Some(("c", run_id)) => Some(StoreSignal::Cancel(run_id.to_string())),
        None if payload == "q" => Some(StoreSignal::Queued),
        _ => None,
    }
}
