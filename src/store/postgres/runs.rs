//! Runs and their event logs as the `Store` reads and writes them: writes
//! only as the run's owner (`Superseded` otherwise), each event append
//! hinted to tailing replicas.
//!
//! Must never depend on leases, the queue or rate limits, nor on the
//! engine (beyond its record types), HTTP or a protocol.

use std::sync::Arc;

use sqlx::{Postgres, QueryBuilder};

use super::rows::{insert_events, insert_run, push_visible, read_run, upsert_run, upsert_session};
use super::{PgStore, db_error};
use crate::domain::{Event, RunRecord, SessionRecord};
use crate::store::codec::log_from_chunks;
use crate::store::{RunFilter, StoreError};

/// Writes a new run as its owner, or an existing one this replica owns
/// (refreshing its lease); refuses a run another replica took over.
pub(super) async fn put_run(store: &PgStore, run: &RunRecord) -> Result<(), StoreError> {
    upsert_run(&store.pool, run, &store.replica_id).await
}

/// `put_run` and `append_events` in one transaction: the row's lock
/// keeps a takeover out between the two, as `append_events`'s does.
pub(super) async fn save_run(
    store: &PgStore,
    run: Arc<RunRecord>,
    events: &[Arc<Event>],
) -> Result<(), StoreError> {
    let mut tx = store.pool.begin().await.map_err(db_error)?;
    upsert_run(&mut *tx, &run, &store.replica_id).await?;
    if !events.is_empty() {
        insert_events(&mut tx, &run.run_id, events.iter().map(|e| &**e)).await?;
        store.notify(&mut *tx, &format!("e:{}", run.run_id)).await?;
    }
    tx.commit().await.map_err(db_error)
}

pub(super) async fn create_run_in_session(
    store: &PgStore,
    run: &RunRecord,
    session: &SessionRecord,
) -> Result<bool, StoreError> {
    let mut tx = store.pool.begin().await.map_err(db_error)?;
    if !insert_run(&mut *tx, run, Some(&store.replica_id)).await? {
        return Ok(false);
    }
    upsert_session(&mut *tx, session).await?;
    tx.commit().await.map_err(db_error)?;
    Ok(true)
}

pub(super) async fn create_run(store: &PgStore, run: &RunRecord) -> Result<bool, StoreError> {
    insert_run(&store.pool, run, Some(&store.replica_id)).await
}

pub(super) async fn get_run(
    store: &PgStore,
    run_id: &str,
) -> Result<Option<RunRecord>, StoreError> {
    let row = sqlx::query(concat!(
        "SELECT ",
        run_columns!(),
        " FROM runs WHERE run_id = $1"
    ))
    .bind(run_id)
    .fetch_optional(&store.pool)
    .await
    .map_err(db_error)?;
    row.as_ref().map(read_run).transpose()
}

pub(super) async fn list_runs(
    store: &PgStore,
    filter: &RunFilter,
) -> Result<Vec<RunRecord>, StoreError> {
    let mut q =
        QueryBuilder::<Postgres>::new(concat!("SELECT ", run_columns!(), " FROM runs WHERE 1 = 1"));
    if let Some(session) = &filter.session_id {
        q.push(" AND session_id = ").push_bind(session.clone());
    }
    if let Some(agent) = &filter.agent_id {
        q.push(" AND agent_id = ").push_bind(agent.clone());
    }
    if !filter.statuses.is_empty() {
        q.push(" AND status IN (");
        let mut list = q.separated(", ");
        for status in &filter.statuses {
            list.push_bind(status.as_str());
        }
        q.push(")");
    }
    if let Some(origin) = &filter.origin {
        q.push(" AND (record ->> 'origin') = ")
            .push_bind(origin.clone());
    }
    push_visible(&mut q, filter.visible.as_ref());
    let Some(newest) = filter.newest else {
        q.push(" ORDER BY created_at, ord");
        let rows = q.build().fetch_all(&store.pool).await.map_err(db_error)?;
        return rows.iter().map(read_run).collect();
    };
    q.push(" ORDER BY created_at DESC, ord DESC LIMIT ")
        .push_bind(i64::try_from(newest).unwrap_or(i64::MAX));
    let rows = q.build().fetch_all(&store.pool).await.map_err(db_error)?;
    rows.iter().rev().map(read_run).collect()
}

/// Appends events to a run this replica owns, in one transaction that
/// also tells tailing replicas. The run row is locked against a
/// takeover meanwhile: once another replica claimed the run, nothing
/// more from here gets into its log.
pub(super) async fn append_events(
    store: &PgStore,
    run_id: &str,
    events: &[Event],
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut tx = store.pool.begin().await.map_err(db_error)?;
    let owner: Option<Option<String>> =
        sqlx::query_scalar("SELECT owner FROM runs WHERE run_id = $1 FOR SHARE")
            .bind(run_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
    if owner.flatten().as_deref() != Some(store.replica_id.as_str()) {
        return Err(StoreError::Superseded(run_id.to_string()));
    }
    insert_events(&mut tx, run_id, events).await?;
    store.notify(&mut *tx, &format!("e:{run_id}")).await?;
    tx.commit().await.map_err(db_error)
}

pub(super) async fn events(
    store: &PgStore,
    run_id: &str,
    after: u64,
) -> Result<Vec<Event>, StoreError> {
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT first_seq, events::text FROM event_chunks \
         WHERE run_id = $1 AND last_seq > $2 ORDER BY first_seq",
    )
    .bind(run_id)
    .bind(i64::try_from(after).unwrap_or(i64::MAX))
    .fetch_all(&store.pool)
    .await
    .map_err(db_error)?;
    log_from_chunks(run_id, after, &rows)
}
