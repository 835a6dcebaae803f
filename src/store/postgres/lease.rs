//! Replica leases: every run row names the replica that writes it
//! (`owner`), which renews a heartbeat on its in-flight runs in the
//! background. A run whose heartbeat is older than the lease is orphaned,
//! and any replica may claim it (one statement, so each orphan goes to
//! exactly one replica); `take_run` makes this replica the owner of a paused
//! run. All times are the database's clock (`db_now_ms!`).
//!
//! Must never depend on the run queue (queue.rs) beyond its table name, nor
//! on the engine, HTTP or a protocol.

use std::time::Duration;

use sqlx::postgres::PgPool;

use super::rows::{insert_events, read_run};
use super::{PgStore, db_error};
use crate::domain::{Event, RunRecord, RunStatus};
use crate::store::codec::to_json;
use crate::store::{StoreError, StoreSignal};

impl PgStore {
    /// Refreshes this replica's in-flight runs three times per lease, so one
    /// missed beat never makes a live run look orphaned.
    /// Each beat also re-sends, as signals here, the cancel requests for
    /// this replica's runs: one lost notification only delays a cancel.
    pub(super) fn spawn_heartbeat(&self) {
        let pool = self.pool.clone();
        let owner = self.replica_id.clone();
        let stop = self.stop.clone();
        let signals = self.signals.clone();
        let every = self.lease / 3;
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(every) => {}
                }
                match heartbeat(&pool, &owner).await {
                    Ok(cancelled) => {
                        for run_id in cancelled {
                            let _ = signals.send(StoreSignal::Cancel(run_id));
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "could not refresh the run heartbeat"),
                }
            }
        });
    }

    /// Renews the lease of every in-flight run this replica owns now.
    pub async fn heartbeat(&self) -> Result<(), StoreError> {
        heartbeat(&self.pool, &self.replica_id).await.map(drop)
    }

    pub(super) fn lease_ms(&self) -> i64 {
        i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX)
    }

    /// Stops the heartbeat, as if this replica had died (for tests).
    pub fn stop_heartbeat(&self) {
        self.stop.cancel();
    }
}

/// Renews this replica's leases; returns its runs that were asked to stop.
async fn heartbeat(pool: &PgPool, owner: &str) -> Result<Vec<String>, StoreError> {
    let sql = concat!(
        "UPDATE runs SET heartbeat_at = ",
        db_now_ms!(),
        " WHERE owner = $1 AND status IN ",
        in_flight!(),
        " RETURNING run_id, cancel_requested"
    );
    let rows: Vec<(String, bool)> = sqlx::query_as(sql)
        .bind(owner)
        .fetch_all(pool)
        .await
        .map_err(db_error)?;
    Ok(rows
        .into_iter()
        .filter_map(|(run_id, cancel)| cancel.then_some(run_id))
        .collect())
}

/// Claims, in one statement, the in-flight runs whose heartbeat is older
/// than the lease: the row lock makes each orphan go to exactly one
/// replica, and the refreshed heartbeat keeps the others off it while
/// the claimer ends it.
/// A queued run has no owner to lose and is never orphaned.
pub(super) async fn claim_orphaned_runs(store: &PgStore) -> Result<Vec<RunRecord>, StoreError> {
    let sql = concat!(
        "UPDATE runs SET owner = $1, heartbeat_at = ",
        db_now_ms!(),
        " WHERE status IN ",
        in_flight!(),
        " AND heartbeat_at < ",
        db_now_ms!(),
        " - $2 AND NOT EXISTS (SELECT 1 FROM run_queue q WHERE q.run_id = runs.run_id) \
         RETURNING ",
        run_columns!()
    );
    let rows = sqlx::query(sql)
        .bind(&store.replica_id)
        .bind(store.lease_ms())
        .fetch_all(&store.pool)
        .await
        .map_err(db_error)?;
    let mut runs: Vec<RunRecord> = rows.iter().map(read_run).collect::<Result<_, _>>()?;
    runs.sort_by_key(|r| r.created_at);
    Ok(runs)
}

/// The in-flight runs whose lease this replica holds (and renews):
/// the only ones it must end itself if nothing drives them.
pub(super) async fn runs_in_flight_here(store: &PgStore) -> Result<Vec<RunRecord>, StoreError> {
    let sql = concat!(
        "SELECT ",
        run_columns!(),
        " FROM runs WHERE owner = $1 AND status IN ",
        in_flight!(),
        " AND NOT EXISTS (SELECT 1 FROM run_queue q WHERE q.run_id = runs.run_id) \
         ORDER BY created_at, ord"
    );
    let rows = sqlx::query(sql)
        .bind(&store.replica_id)
        .fetch_all(&store.pool)
        .await
        .map_err(db_error)?;
    rows.iter().map(read_run).collect()
}

pub(super) fn orphan_check_interval(store: &PgStore) -> Option<Duration> {
    Some(store.lease / 2)
}

pub(super) async fn take_run(
    store: &PgStore,
    run: &RunRecord,
    from: RunStatus,
    events: &[Event],
) -> Result<bool, StoreError> {
    let sql = concat!(
        "UPDATE runs SET status = $1, updated_at = $2, record = $3::jsonb, owner = $4, \
         cancel_requested = false, heartbeat_at = ",
        db_now_ms!(),
        " WHERE run_id = $5 AND status = $6"
    );
    let mut tx = store.pool.begin().await.map_err(db_error)?;
    let taken = sqlx::query(sql)
        .bind(run.status.as_str())
        .bind(run.updated_at)
        .bind(to_json(run)?)
        .bind(&store.replica_id)
        .bind(&run.run_id)
        .bind(from.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_error)?
        .rows_affected();
    if taken == 0 {
        return Ok(false);
    }
    if !events.is_empty() {
        insert_events(&mut tx, &run.run_id, events).await?;
        store.notify(&mut *tx, &format!("e:{}", run.run_id)).await?;
    }
    tx.commit().await.map_err(db_error)?;
    Ok(true)
}
