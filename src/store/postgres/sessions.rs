//! Sessions: writes, lookups, filtered and paged listing, and deletion with
//! their runs, queued jobs and events.
//!
//! Must never depend on leases, the queue, signals or rate limits, nor on
//! the engine (beyond its record types), HTTP or a protocol.

use sqlx::{Postgres, QueryBuilder, Row};

use super::rows::{push_visible, records, session_row, upsert_session};
use super::{PgStore, db_error};
use crate::domain::SessionRecord;
use crate::store::codec::from_json;
use crate::store::{SessionFilter, SessionSort, StoreError};

pub(super) async fn put_session(
    store: &PgStore,
    session: &SessionRecord,
) -> Result<(), StoreError> {
    upsert_session(&store.pool, session).await
}

pub(super) async fn create_session(
    store: &PgStore,
    session: &SessionRecord,
) -> Result<bool, StoreError> {
    let sql = concat!(
        insert_session_row!(),
        " ON CONFLICT (session_id) DO NOTHING"
    );
    let done = session_row(sql, session)?
        .execute(&store.pool)
        .await
        .map_err(db_error)?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn get_session(
    store: &PgStore,
    session_id: &str,
) -> Result<Option<SessionRecord>, StoreError> {
    let row: Option<String> =
        sqlx::query_scalar("SELECT record::text FROM sessions WHERE session_id = $1")
            .bind(session_id)
            .fetch_optional(&store.pool)
            .await
            .map_err(db_error)?;
    row.as_deref().map(from_json).transpose()
}

pub(super) async fn list_sessions(
    store: &PgStore,
    filter: &SessionFilter,
) -> Result<Vec<SessionRecord>, StoreError> {
    let mut q = QueryBuilder::<Postgres>::new("SELECT record::text FROM sessions");
    push_session_filter(&mut q, filter);
    let column = match filter.sort {
        SessionSort::CreatedAt => "created_at",
        SessionSort::UpdatedAt => "updated_at",
        SessionSort::Name => "COALESCE(name, '') COLLATE \"C\"",
        SessionSort::Id => "session_id COLLATE \"C\"",
    };
    let dir = if filter.ascending { "ASC" } else { "DESC" };
    // Byte order for text, as SQLite sorts, whatever the database's collation.
    q.push(format!(
        " ORDER BY {column} {dir}, session_id COLLATE \"C\" {dir}"
    ));
    if filter.limit.is_some() || filter.offset > 0 {
        if let Some(limit) = filter.limit {
            q.push(" LIMIT ")
                .push_bind(i64::try_from(limit).unwrap_or(i64::MAX));
        }
        q.push(" OFFSET ")
            .push_bind(i64::try_from(filter.offset).unwrap_or(i64::MAX));
    }
    let rows = q.build().fetch_all(&store.pool).await.map_err(db_error)?;
    records(&rows)
}

pub(super) async fn count_sessions(
    store: &PgStore,
    filter: &SessionFilter,
) -> Result<u64, StoreError> {
    let mut q = QueryBuilder::<Postgres>::new("SELECT COUNT(*) FROM sessions");
    push_session_filter(&mut q, filter);
    let row = q.build().fetch_one(&store.pool).await.map_err(db_error)?;
    let count: i64 = row.try_get(0).map_err(db_error)?;
    Ok(count.max(0) as u64)
}

pub(super) async fn delete_session(store: &PgStore, session_id: &str) -> Result<bool, StoreError> {
    let mut tx = store.pool.begin().await.map_err(db_error)?;
    sqlx::query(
        "DELETE FROM event_chunks WHERE run_id IN (SELECT run_id FROM runs WHERE session_id = $1)",
    )
    .bind(session_id)
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    sqlx::query(
        "DELETE FROM run_queue WHERE run_id IN (SELECT run_id FROM runs WHERE session_id = $1)",
    )
    .bind(session_id)
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    sqlx::query("DELETE FROM runs WHERE session_id = $1")
        .bind(session_id)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    let deleted = sqlx::query("DELETE FROM sessions WHERE session_id = $1")
        .bind(session_id)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?
        .rows_affected();
    tx.commit().await.map_err(db_error)?;
    Ok(deleted > 0)
}

/// The WHERE clause of a session filter (paging and order aside).
fn push_session_filter(q: &mut QueryBuilder<Postgres>, filter: &SessionFilter) {
    q.push(" WHERE 1 = 1");
    if let Some(agent) = &filter.agent_id {
        q.push(" AND agent_id = ").push_bind(agent.clone());
    }
    if let Some(user) = &filter.user_id {
        q.push(" AND user_id = ").push_bind(user.clone());
    }
    push_visible(q, filter.visible.as_ref());
    if let Some(needle) = &filter.name_contains {
        let escaped = needle
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        q.push(" AND COALESCE(name, '') ILIKE ")
            .push_bind(format!("%{escaped}%"))
            .push(" ESCAPE '\\'");
    }
}
