//! How run, session and event rows are written and read: the statements'
//! values, the ownership-checked run upsert, event chunks, and the
//! visibility clause queries share.
//!
//! Plain row code: must never depend on PgStore, leases, the queue or
//! signals, nor on the engine (beyond its record types), HTTP or a protocol.

use serde::de::DeserializeOwned;
use sqlx::{Postgres, QueryBuilder, Row};

use super::db_error;
use crate::domain::{Event, RunRecord, RunStatus, SessionRecord, Visible};
use crate::store::StoreError;
use crate::store::codec::{chunk_to_json, event_chunks, from_json, to_json};

/// A run row (`run_columns!`) as readers see it: with a pending cancel
/// request showing.
pub(super) fn read_run(row: &sqlx::postgres::PgRow) -> Result<RunRecord, StoreError> {
    let mut run: RunRecord = from_json(&row.try_get::<String, _>(0).map_err(db_error)?)?;
    let cancel: bool = row.try_get(1).map_err(db_error)?;
    if cancel && matches!(run.status, RunStatus::Pending | RunStatus::Running) {
        run.cancel_requested = true;
    }
    Ok(run)
}

/// Appends events inside a transaction, one row per flush
/// (`codec::event_chunks`). A retried flush starts at the same event as the
/// one that committed without reporting, with as many events or more: a
/// row whose first event is stored is replaced only by a longer one (the
/// same events and more), never duplicated.
pub(super) async fn insert_events<'a>(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    run_id: &str,
    events: impl IntoIterator<Item = &'a Event>,
) -> Result<(), StoreError> {
    let events: Vec<&Event> = events.into_iter().collect();
    for chunk in event_chunks(&events) {
        let (Some(first), Some(last)) = (chunk.first(), chunk.last()) else {
            continue;
        };
        sqlx::query(
            "INSERT INTO event_chunks (run_id, first_seq, last_seq, events) \
             VALUES ($1, $2, $3, $4::jsonb) \
             ON CONFLICT (run_id, first_seq) DO UPDATE SET last_seq = excluded.last_seq, \
             events = excluded.events WHERE excluded.last_seq > event_chunks.last_seq",
        )
        .bind(run_id)
        .bind(first.seq as i64)
        .bind(last.seq as i64)
        .bind(chunk_to_json(chunk)?)
        .execute(&mut **tx)
        .await
        .map_err(db_error)?;
    }
    Ok(())
}

/// A run row's nine values, `$1`..`$9` of `sql` (run_id, session_id,
/// agent_id, user_id, status, created_at, updated_at, record, owner), for the
/// statements that insert or replace it.
pub(super) fn run_row<'q>(
    sql: &'static str,
    run: &'q RunRecord,
    owner: Option<&'q str>,
) -> Result<sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>, StoreError> {
    Ok(sqlx::query(sql)
        .bind(&run.run_id)
        .bind(&run.session_id)
        .bind(&run.agent_id)
        .bind(&run.user_id)
        .bind(run.status.as_str())
        .bind(run.created_at)
        .bind(run.updated_at)
        .bind(to_json(run)?)
        .bind(owner))
}

/// Inserts a run unless its id is taken (owned by `owner`, none for a
/// queued run); whether it did.
pub(super) async fn insert_run<'e, E>(
    executor: E,
    run: &RunRecord,
    owner: Option<&str>,
) -> Result<bool, StoreError>
where
    E: sqlx::Executor<'e, Database = Postgres>,
{
    let sql = concat!(insert_run_row!(), " ON CONFLICT (run_id) DO NOTHING");
    let done = run_row(sql, run, owner)?
        .execute(executor)
        .await
        .map_err(db_error)?;
    Ok(done.rows_affected() == 1)
}

/// Inserts or replaces a run this replica owns (refreshing its lease);
/// `Superseded` when another replica owns it.
pub(super) async fn upsert_run<'e, E>(
    executor: E,
    run: &RunRecord,
    owner: &str,
) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = Postgres>,
{
    let sql = concat!(
        insert_run_row!(),
        " ON CONFLICT (run_id) DO UPDATE SET session_id = excluded.session_id, \
         agent_id = excluded.agent_id, user_id = excluded.user_id, status = excluded.status, \
         created_at = excluded.created_at, updated_at = excluded.updated_at, \
         record = excluded.record, heartbeat_at = excluded.heartbeat_at \
         WHERE runs.owner = excluded.owner"
    );
    let done = run_row(sql, run, Some(owner))?
        .execute(executor)
        .await
        .map_err(db_error)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Superseded(run.run_id.clone()));
    }
    Ok(())
}

/// A session row's seven values, `$1`..`$7` of `sql`.
pub(super) fn session_row<'q>(
    sql: &'static str,
    session: &'q SessionRecord,
) -> Result<sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>, StoreError> {
    Ok(sqlx::query(sql)
        .bind(&session.session_id)
        .bind(&session.agent_id)
        .bind(&session.user_id)
        .bind(&session.name)
        .bind(session.created_at)
        .bind(session.updated_at)
        .bind(to_json(session)?))
}

/// Inserts or replaces a session.
pub(super) async fn upsert_session<'e, E>(
    executor: E,
    session: &SessionRecord,
) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = Postgres>,
{
    let sql = concat!(
        insert_session_row!(),
        " ON CONFLICT (session_id) DO UPDATE SET agent_id = excluded.agent_id, \
         user_id = excluded.user_id, name = excluded.name, created_at = excluded.created_at, \
         updated_at = excluded.updated_at, record = excluded.record"
    );
    session_row(sql, session)?
        .execute(executor)
        .await
        .map_err(db_error)?;
    Ok(())
}

pub(super) fn records<T: DeserializeOwned>(
    rows: &[sqlx::postgres::PgRow],
) -> Result<Vec<T>, StoreError> {
    rows.iter()
        .map(|row| from_json(&row.try_get::<String, _>(0).map_err(db_error)?))
        .collect()
}

/// The clause that narrows a query to what a principal sees (see
/// `Principal::visible`): the owner is read from the record's JSON
/// (migration 0004 indexes it).
pub(super) fn push_visible(q: &mut QueryBuilder<Postgres>, visible: Option<&Visible>) {
    match visible {
        None => {}
        Some(Visible::Owner(owner)) => {
            q.push(" AND (record #>> '{owner,user}') = ")
                .push_bind(owner.user.clone())
                .push(" AND (record #>> '{owner,tenant}') IS NOT DISTINCT FROM ")
                .push_bind(owner.tenant.clone());
        }
        Some(Visible::Tenant(tenant)) => {
            q.push(" AND (record #>> '{owner,tenant}') = ")
                .push_bind(tenant.clone());
        }
        Some(Visible::Nothing) => {
            q.push(" AND 1 = 0");
        }
    }
}
