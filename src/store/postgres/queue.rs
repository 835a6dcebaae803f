//! The queue of background runs: enqueued with their job, each claimed by
//! exactly one replica (`FOR UPDATE SKIP LOCKED`), which becomes the run's
//! owner; an unreadable queued run is failed in place (see `poisoned`).
//!
//! Must never depend on leases' heartbeat or orphan claiming (lease.rs),
//! nor on the engine, HTTP or a protocol.

use sqlx::Row;

use super::rows::{insert_events, insert_run, read_run, upsert_run};
use super::{PgStore, db_error};
use crate::domain::RunRecord;
use crate::store::StoreError;
use crate::store::codec::{from_json, to_json};

pub(super) async fn enqueue_run(
    store: &PgStore,
    run: &RunRecord,
    job: &serde_json::Value,
) -> Result<bool, StoreError> {
    let mut tx = store.pool.begin().await.map_err(db_error)?;
    if !insert_run(&mut *tx, run, None).await? {
        return Ok(false);
    }
    sqlx::query("INSERT INTO run_queue (run_id, job) VALUES ($1, $2::jsonb)")
        .bind(&run.run_id)
        .bind(to_json(job)?)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    store.notify(&mut *tx, "q").await?;
    tx.commit().await.map_err(db_error)?;
    Ok(true)
}

/// One statement: the queue row is locked (rows other replicas are
/// claiming are skipped, not waited for), deleted, and its run made
/// this replica's. Two replicas never get the same row.
pub(super) async fn claim_queued_run(
    store: &PgStore,
    run_id: Option<&str>,
) -> Result<Option<(RunRecord, serde_json::Value)>, StoreError> {
    let sql = concat!(
        "WITH job AS (DELETE FROM run_queue WHERE run_id = (\
           SELECT run_id FROM run_queue WHERE ($2::text IS NULL OR run_id = $2) \
           ORDER BY ord LIMIT 1 FOR UPDATE SKIP LOCKED) \
         RETURNING run_id, job) \
         UPDATE runs SET owner = $1, heartbeat_at = ",
        db_now_ms!(),
        " FROM job WHERE runs.run_id = job.run_id RETURNING runs.record::text, \
         runs.cancel_requested, job.job::text, runs.run_id, runs.session_id, \
         runs.agent_id, runs.created_at"
    );
    loop {
        let row = sqlx::query(sql)
            .bind(&store.replica_id)
            .bind(run_id)
            .fetch_optional(&store.pool)
            .await
            .map_err(db_error)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let job: String = row.try_get(2).map_err(db_error)?;
        let error = match read_run(&row).and_then(|r| Ok((r, from_json(&job)?))) {
            Ok(claimed) => return Ok(Some(claimed)),
            Err(e) => e,
        };
        // Unreadable: it is this replica's now; failed in place, and the
        // claim goes on to the next queued run (see `poisoned`).
        let id: String = row.try_get(3).map_err(db_error)?;
        tracing::warn!(run_id = id, error = %error,
            "a queued run is unreadable: it is failed and taken off the queue");
        let (record, event) = crate::store::poisoned::failed_run(
            &id,
            &row.try_get::<String, _>(4).map_err(db_error)?,
            &row.try_get::<String, _>(5).map_err(db_error)?,
            row.try_get(6).map_err(db_error)?,
            &error.to_string(),
        );
        let mut tx = store.pool.begin().await.map_err(db_error)?;
        upsert_run(&mut *tx, &record, &store.replica_id).await?;
        insert_events(&mut tx, &id, &[event]).await?;
        tx.commit().await.map_err(db_error)?;
        if run_id.is_some() {
            return Ok(None);
        }
    }
}
