//! The shared store: one PostgreSQL database that several agentd replicas
//! may use at once, through sqlx.
//!
//! Same records and queries as the SQLite store (migrations/postgres/), plus
//! a lease: every run row names the replica that writes it, and that replica
//! refreshes a heartbeat on its in-flight runs in the background. A run whose
//! heartbeat is older than `store.lease_secs` is orphaned; any replica may
//! claim and end it. Depends on the engine's record types only, never on
//! HTTP or a protocol.

use std::time::Duration;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, QueryBuilder, Row, SqlSafeStr};
use tokio_util::sync::CancellationToken;

use super::codec::{from_json, to_json};
use super::{RunFilter, SessionFilter, SessionSort, Store, StoreError};
use crate::engine::{Event, RunRecord, SessionRecord, now_ms};

/// The schema, embedded so the binary needs no files beside it.
const MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "init",
    include_str!("../../migrations/postgres/0001_init.sql"),
)];

/// The database's clock in Unix milliseconds: heartbeats and lease checks
/// compare times from one clock, whatever the replicas' clocks say.
macro_rules! db_now_ms {
    () => {
        "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT"
    };
}

/// The in-flight statuses (kept in step with `RunStatus::as_str`).
macro_rules! in_flight {
    () => {
        "('pending', 'running')"
    };
}

/// Events per INSERT statement: 3 bound values each, far below the limit.
const EVENTS_PER_STATEMENT: usize = 1000;

pub struct PgStore {
    pool: PgPool,
    /// This process's id in the `owner` column.
    replica_id: String,
    lease: Duration,
    /// Stops the heartbeat task when the store is dropped.
    stop: CancellationToken,
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl PgStore {
    /// Connects, applies migrations and checks that the database takes
    /// writes, then starts the heartbeat. Errors name the server (never the
    /// password).
    pub async fn open(url: &str, lease: Duration) -> Result<Self, StoreError> {
        let shown = redact(url);
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(|e| unavailable(&shown, "cannot connect to", e))?;
        migrator().run(&pool).await.map_err(|e| {
            StoreError::Unavailable(format!(
                "database {shown}: cannot apply migrations (or its schema does not match this agentd): {e}"
            ))
        })?;
        sqlx::query(
            "INSERT INTO agentd_meta (key, value) VALUES ('last_opened_at', $1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(now_ms().to_string())
        .execute(&pool)
        .await
        .map_err(|e| unavailable(&shown, "cannot write to", e))?;
        let store = Self {
            pool,
            replica_id: uuid::Uuid::new_v4().to_string(),
            lease: lease.max(Duration::from_millis(100)),
            stop: CancellationToken::new(),
        };
        store.spawn_heartbeat();
        Ok(store)
    }

    pub fn replica_id(&self) -> &str {
        &self.replica_id
    }

    /// Refreshes this replica's in-flight runs three times per lease, so one
    /// missed beat never makes a live run look orphaned.
    fn spawn_heartbeat(&self) {
        let pool = self.pool.clone();
        let owner = self.replica_id.clone();
        let stop = self.stop.clone();
        let every = self.lease / 3;
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(every) => {}
                }
                if let Err(e) = heartbeat(&pool, &owner).await {
                    tracing::warn!(error = %e, "could not refresh the run heartbeat");
                }
            }
        });
    }

    /// Renews the lease of every in-flight run this replica owns now.
    pub async fn heartbeat(&self) -> Result<(), StoreError> {
        heartbeat(&self.pool, &self.replica_id).await
    }

    /// Stops the heartbeat, as if this replica had died (for tests).
    pub fn stop_heartbeat(&self) {
        self.stop.cancel();
    }

    pub async fn close(&self) {
        self.stop.cancel();
        self.pool.close().await;
    }
}

async fn heartbeat(pool: &PgPool, owner: &str) -> Result<(), StoreError> {
    let sql = concat!(
        "UPDATE runs SET heartbeat_at = ",
        db_now_ms!(),
        " WHERE owner = $1 AND status IN ",
        in_flight!()
    );
    sqlx::query(sql)
        .bind(owner)
        .execute(pool)
        .await
        .map_err(db_error)?;
    Ok(())
}

fn migrator() -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    (*description).into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// The URL without its password, for error messages and logs.
pub fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "(unparsable postgres URL)".into(),
    }
}

fn unavailable(shown: &str, what: &str, e: sqlx::Error) -> StoreError {
    StoreError::Unavailable(format!("{what} database {shown}: {e}"))
}

fn db_error(e: sqlx::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn records<T: DeserializeOwned>(rows: &[sqlx::postgres::PgRow]) -> Result<Vec<T>, StoreError> {
    rows.iter()
        .map(|row| from_json(&row.try_get::<String, _>(0).map_err(db_error)?))
        .collect()
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

#[async_trait]
impl Store for PgStore {
    async fn put_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        // Writing a run makes this replica its owner and refreshes its lease.
        let sql = concat!(
            "INSERT INTO runs (run_id, session_id, agent_id, user_id, status, created_at, \
             updated_at, record, owner, heartbeat_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, ",
            db_now_ms!(),
            ") ON CONFLICT (run_id) DO UPDATE SET session_id = excluded.session_id, \
             agent_id = excluded.agent_id, user_id = excluded.user_id, status = excluded.status, \
             created_at = excluded.created_at, updated_at = excluded.updated_at, \
             record = excluded.record, owner = excluded.owner, heartbeat_at = excluded.heartbeat_at"
        );
        sqlx::query(sql)
            .bind(&run.run_id)
            .bind(&run.session_id)
            .bind(&run.agent_id)
            .bind(&run.user_id)
            .bind(run.status.as_str())
            .bind(run.created_at)
            .bind(run.updated_at)
            .bind(to_json(run)?)
            .bind(&self.replica_id)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn get_run(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError> {
        let row: Option<String> =
            sqlx::query_scalar("SELECT record::text FROM runs WHERE run_id = $1")
                .bind(run_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
        row.as_deref().map(from_json).transpose()
    }

    async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>, StoreError> {
        let mut q = QueryBuilder::<Postgres>::new("SELECT record::text FROM runs WHERE 1 = 1");
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
        q.push(" ORDER BY created_at, ord");
        let rows = q.build().fetch_all(&self.pool).await.map_err(db_error)?;
        records(&rows)
    }

    async fn append_events(&self, run_id: &str, events: &[Event]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let encoded: Vec<(i64, String)> = events
            .iter()
            .map(|e| Ok((e.seq as i64, to_json(e)?)))
            .collect::<Result<_, StoreError>>()?;
        // One transaction: a batch is stored whole or not at all.
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        for chunk in encoded.chunks(EVENTS_PER_STATEMENT) {
            let mut q = QueryBuilder::<Postgres>::new("INSERT INTO events (run_id, seq, event) ");
            q.push_values(chunk, |mut row, (seq, json)| {
                row.push_bind(run_id.to_string())
                    .push_bind(*seq)
                    .push_bind(json.clone())
                    .push_unseparated("::jsonb");
            });
            // Already stored events (a retried flush) are kept as they were.
            q.push(" ON CONFLICT (run_id, seq) DO NOTHING");
            q.build().execute(&mut *tx).await.map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)
    }

    async fn events(&self, run_id: &str, after: u64) -> Result<Vec<Event>, StoreError> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT event::text FROM events WHERE run_id = $1 AND seq > $2 ORDER BY seq",
        )
        .bind(run_id)
        .bind(i64::try_from(after).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter().map(|r| from_json(r)).collect()
    }

    async fn put_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (session_id, agent_id, user_id, name, created_at, updated_at, record) \
             VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb) \
             ON CONFLICT (session_id) DO UPDATE SET agent_id = excluded.agent_id, \
             user_id = excluded.user_id, name = excluded.name, created_at = excluded.created_at, \
             updated_at = excluded.updated_at, record = excluded.record",
        )
        .bind(&session.session_id)
        .bind(&session.agent_id)
        .bind(&session.user_id)
        .bind(&session.name)
        .bind(session.created_at)
        .bind(session.updated_at)
        .bind(to_json(session)?)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn get_session(&self, session_id: &str) -> Result<Option<SessionRecord>, StoreError> {
        let row: Option<String> =
            sqlx::query_scalar("SELECT record::text FROM sessions WHERE session_id = $1")
                .bind(session_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
        row.as_deref().map(from_json).transpose()
    }

    async fn list_sessions(
        &self,
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
        let rows = q.build().fetch_all(&self.pool).await.map_err(db_error)?;
        records(&rows)
    }

    async fn count_sessions(&self, filter: &SessionFilter) -> Result<u64, StoreError> {
        let mut q = QueryBuilder::<Postgres>::new("SELECT COUNT(*) FROM sessions");
        push_session_filter(&mut q, filter);
        let row = q.build().fetch_one(&self.pool).await.map_err(db_error)?;
        let count: i64 = row.try_get(0).map_err(db_error)?;
        Ok(count.max(0) as u64)
    }

    async fn delete_session(&self, session_id: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        sqlx::query(
            "DELETE FROM events WHERE run_id IN (SELECT run_id FROM runs WHERE session_id = $1)",
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

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    /// Claims, in one statement, the in-flight runs whose heartbeat is older
    /// than the lease: the row lock makes each orphan go to exactly one
    /// replica, and the refreshed heartbeat keeps the others off it while
    /// the claimer ends it.
    async fn claim_orphaned_runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        let sql = concat!(
            "UPDATE runs SET owner = $1, heartbeat_at = ",
            db_now_ms!(),
            " WHERE status IN ",
            in_flight!(),
            " AND heartbeat_at < ",
            db_now_ms!(),
            " - $2 RETURNING record::text"
        );
        let lease_ms = i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX);
        let rows = sqlx::query(sql)
            .bind(&self.replica_id)
            .bind(lease_ms)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        let mut runs: Vec<RunRecord> = records(&rows)?;
        runs.sort_by_key(|r| r.created_at);
        Ok(runs)
    }

    fn orphan_check_interval(&self) -> Option<Duration> {
        Some(self.lease / 2)
    }
}
