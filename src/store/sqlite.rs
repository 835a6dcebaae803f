//! The embedded default store: one SQLite file in WAL mode, through sqlx.
//!
//! Records are stored whole as JSON next to copies of the fields queries
//! filter on (migrations/sqlite/); statements are plain runtime queries,
//! written to port to PostgreSQL. Depends on the engine's record types only,
//! never on HTTP or a protocol.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, SqlSafeStr, Sqlite};

mod txn;
mod wal;
mod writer;

use self::txn::WriteTxn;
use self::writer::{RunRow, SessionRow, Write, Writer};
use super::codec::{from_json, log_from_chunks, to_json};
use super::{RateDecision, RunFilter, SessionFilter, SessionSort, Store, StoreError};
use crate::domain::{Event, RunRecord, RunStatus, SessionRecord, Visible, now_ms};

/// The schema, embedded so the binary needs no files beside it.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "queue cancel rates",
        include_str!("../../migrations/sqlite/0002_queue_cancel_rates.sql"),
    ),
    (
        3,
        "event chunks",
        include_str!("../../migrations/sqlite/0003_event_chunks.sql"),
    ),
    (
        4,
        "owners",
        include_str!("../../migrations/sqlite/0004_owners.sql"),
    ),
];

/// The columns `read_run` reads: a run's record as readers see it, with a
/// pending cancel request showing.
macro_rules! run_columns {
    () => {
        "record, cancel_requested"
    };
}

/// SQLite result codes (the low byte of an extended code) that mean the file
/// itself is damaged or is not a database.
const SQLITE_CORRUPT: i64 = 11;
const SQLITE_NOTADB: i64 = 26;

/// Readers share a pool; all writes go through one writer task on its own
/// connection (see `writer`). SQLite lets one connection write at a time:
/// with writes spread over a shared pool the losers of the write lock sat in
/// SQLite's busy handler, which sleeps in 1-100 ms steps (runs took ~90 ms at
/// concurrency 32 for a 4 ms upstream). WAL lets the readers go on beside
/// the writer.
pub struct SqliteStore {
    pool: SqlitePool,
    write_pool: SqlitePool,
    writer: Writer,
    path: PathBuf,
    /// Stops the checkpoint task when the store is closed or dropped.
    stop: tokio_util::sync::CancellationToken,
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl SqliteStore {
    /// Opens (creating when missing) the database file and its directory,
    /// applies migrations, and checks that the file is a healthy database we
    /// can write to. Every error names the file.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let shown = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Unavailable(format!(
                    "database {shown}: cannot create the directory {}: {e}",
                    dir.display()
                ))
            })?;
        }
        if path.is_dir() {
            return Err(StoreError::Unavailable(format!(
                "database {shown}: is a directory, not a database file"
            )));
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL + NORMAL: every commit survives a crash of agentd itself; only
            // an OS crash or power loss may drop the last commits. FULL fsyncs
            // every commit and halved run throughput in the bench (201 vs 367
            // AgentOS runs/s, bench --quick on 2 cores).
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10));
        let options = wal::keep_small(options);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(|e| open_error(&shown, "cannot open", e))?;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| open_error(&shown, "cannot open", e))?;
        let store = Self {
            pool,
            writer: Writer::start(writer.clone()),
            write_pool: writer,
            path: path.to_path_buf(),
            stop: tokio_util::sync::CancellationToken::new(),
        };
        store.check_integrity().await?;
        migrator()
            .run(&store.write_pool)
            .await
            .map_err(|e| match e {
                sqlx::migrate::MigrateError::Execute(e)
                | sqlx::migrate::MigrateError::ExecuteMigration(e, _) => {
                    open_error(&shown, "cannot apply migrations to", e)
                }
                other => StoreError::Unavailable(format!(
                    "database {shown}: its schema does not match this agentd ({other})"
                )),
            })?;
        // A read-only file or directory only shows on the first write: find out now.
        sqlx::query(
            "INSERT INTO agentd_meta (key, value) VALUES ('last_opened_at', ?) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(now_ms().to_string())
        .execute(&store.write_pool)
        .await
        .map_err(|e| open_error(&shown, "cannot write to", e))?;
        wal::spawn_checkpoints(store.pool.clone(), store.stop.clone());
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `PRAGMA quick_check` reads every page once: a damaged file is refused at
    /// start rather than failing runs at random later.
    async fn check_integrity(&self) -> Result<(), StoreError> {
        let shown = self.path.display().to_string();
        let rows: Vec<String> = sqlx::query_scalar("PRAGMA quick_check")
            .fetch_all(&self.pool)
            .await
            .map_err(|e| open_error(&shown, "cannot read", e))?;
        if rows.len() == 1 && rows[0] == "ok" {
            return Ok(());
        }
        Err(StoreError::Corrupt(format!(
            "database {shown} is corrupt: {}",
            rows.into_iter().take(3).collect::<Vec<_>>().join("; ")
        )))
    }

    /// Closes the pool (waits for in-flight statements).
    pub async fn close(&self) {
        self.stop.cancel();
        self.pool.close().await;
        self.write_pool.close().await;
    }
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

fn primary_code(e: &sqlx::Error) -> Option<i64> {
    let code = e.as_database_error()?.code()?;
    i64::from_str(&code).ok().map(|c| c & 0xff)
}

fn open_error(shown: &str, what: &str, e: sqlx::Error) -> StoreError {
    match primary_code(&e) {
        Some(SQLITE_CORRUPT | SQLITE_NOTADB) => StoreError::Corrupt(format!(
            "database {shown} is corrupt or not a SQLite database: {e}"
        )),
        _ => StoreError::Unavailable(format!("{what} database {shown}: {e}")),
    }
}

fn db_error(e: sqlx::Error) -> StoreError {
    match primary_code(&e) {
        Some(SQLITE_CORRUPT | SQLITE_NOTADB) => StoreError::Corrupt(e.to_string()),
        _ => StoreError::Unavailable(e.to_string()),
    }
}

/// The clause that narrows a query to what a principal sees (see
/// `Principal::visible`): the owner is read from the record's JSON, by the
/// expressions migration 0004 indexes (written the same, so the index is
/// used; a damaged record reads as owned by no one).
fn push_visible(q: &mut QueryBuilder<Sqlite>, visible: Option<&Visible>) {
    match visible {
        None => {}
        Some(Visible::Owner(owner)) => {
            q.push(" AND CASE WHEN json_valid(record) THEN json_extract(record, '$.owner.user') END = ")
                .push_bind(owner.user.clone())
                .push(" AND CASE WHEN json_valid(record) THEN json_extract(record, '$.owner.tenant') END IS ")
                .push_bind(owner.tenant.clone());
        }
        Some(Visible::Tenant(tenant)) => {
            q.push(" AND CASE WHEN json_valid(record) THEN json_extract(record, '$.owner.tenant') END = ")
                .push_bind(tenant.clone());
        }
        Some(Visible::Nothing) => {
            q.push(" AND 1 = 0");
        }
    }
}

/// The WHERE clause of a session filter (paging and order aside).
fn push_session_filter(q: &mut QueryBuilder<Sqlite>, filter: &SessionFilter) {
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
        // LIKE ignores ASCII case in SQLite; PostgreSQL needs ILIKE here.
        q.push(" AND COALESCE(name, '') LIKE ")
            .push_bind(format!("%{escaped}%"))
            .push(" ESCAPE '\\'");
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn put_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        self.writer.write(Write::Run(run_row(run)?)).await.map(drop)
    }

    async fn create_run(&self, run: &RunRecord) -> Result<bool, StoreError> {
        let inserted = self.writer.write(Write::CreateRun(run_row(run)?)).await?;
        Ok(inserted == 1)
    }

    async fn get_run(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            run_columns!(),
            " FROM runs WHERE run_id = ?"
        ))
        .bind(run_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        row.as_ref().map(read_run).transpose()
    }

    async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>, StoreError> {
        let mut q = QueryBuilder::<Sqlite>::new(concat!(
            "SELECT ",
            run_columns!(),
            " FROM runs WHERE 1 = 1"
        ));
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
            q.push(" AND json_extract(record, '$.origin') = ")
                .push_bind(origin.clone());
        }
        // rowid is insertion order (an upsert keeps it): runs created in the
        // same millisecond list in the order they were created.
        push_visible(&mut q, filter.visible.as_ref());
        let Some(newest) = filter.newest else {
            q.push(" ORDER BY created_at, rowid");
            let rows = q.build().fetch_all(&self.pool).await.map_err(db_error)?;
            return rows.iter().map(read_run).collect();
        };
        q.push(" ORDER BY created_at DESC, rowid DESC LIMIT ")
            .push_bind(i64::try_from(newest).unwrap_or(i64::MAX));
        let rows = q.build().fetch_all(&self.pool).await.map_err(db_error)?;
        rows.iter().rev().map(read_run).collect()
    }

    async fn append_events(&self, run_id: &str, events: &[Event]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        // One write: a batch is stored whole or not at all, so the log never
        // has a gap for a later flush to paper over.
        self.writer
            .write(Write::Events {
                run_id: run_id.to_string(),
                events: events.iter().cloned().map(Arc::new).collect(),
            })
            .await
            .map(drop)
    }

    async fn append_live_events(
        &self,
        run_id: &str,
        events: &[Arc<Event>],
    ) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        self.writer
            .write(Write::Events {
                run_id: run_id.to_string(),
                events: events.to_vec(),
            })
            .await
            .map(drop)
    }

    async fn save_run(&self, run: Arc<RunRecord>, events: &[Arc<Event>]) -> Result<(), StoreError> {
        self.writer
            .write(Write::Save {
                run,
                events: events.to_vec(),
            })
            .await
            .map(drop)
    }

    async fn create_run_in_session(
        &self,
        run: &RunRecord,
        session: &SessionRecord,
    ) -> Result<bool, StoreError> {
        let write = Write::CreateRunInSession(run_row(run)?, session_row(session)?);
        Ok(self.writer.write(write).await? == 1)
    }

    async fn events(&self, run_id: &str, after: u64) -> Result<Vec<Event>, StoreError> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT first_seq, events FROM event_chunks WHERE run_id = ? AND last_seq > ? \
             ORDER BY first_seq",
        )
        .bind(run_id)
        .bind(i64::try_from(after).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        log_from_chunks(run_id, after, &rows)
    }

    async fn put_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        let row = session_row(session)?;
        self.writer.write(Write::Session(row)).await.map(drop)
    }

    async fn create_session(&self, session: &SessionRecord) -> Result<bool, StoreError> {
        let row = session_row(session)?;
        let inserted = self.writer.write(Write::CreateSession(row)).await?;
        Ok(inserted == 1)
    }

    async fn get_session(&self, session_id: &str) -> Result<Option<SessionRecord>, StoreError> {
        let row: Option<String> =
            sqlx::query_scalar("SELECT record FROM sessions WHERE session_id = ?")
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
        let mut q = QueryBuilder::<Sqlite>::new("SELECT record FROM sessions");
        push_session_filter(&mut q, filter);
        let column = match filter.sort {
            SessionSort::CreatedAt => "created_at",
            SessionSort::UpdatedAt => "updated_at",
            SessionSort::Name => "COALESCE(name, '')",
            SessionSort::Id => "session_id",
        };
        let dir = if filter.ascending { "ASC" } else { "DESC" };
        q.push(format!(" ORDER BY {column} {dir}, session_id {dir}"));
        if filter.limit.is_some() || filter.offset > 0 {
            let limit = filter
                .limit
                .map_or(i64::MAX, |l| i64::try_from(l).unwrap_or(i64::MAX));
            q.push(" LIMIT ")
                .push_bind(limit)
                .push(" OFFSET ")
                .push_bind(i64::try_from(filter.offset).unwrap_or(i64::MAX));
        }
        let rows = q.build().fetch_all(&self.pool).await.map_err(db_error)?;
        rows.iter()
            .map(|row| from_json(&row.try_get::<String, _>(0).map_err(db_error)?))
            .collect()
    }

    async fn count_sessions(&self, filter: &SessionFilter) -> Result<u64, StoreError> {
        let mut q = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM sessions");
        push_session_filter(&mut q, filter);
        let row = q.build().fetch_one(&self.pool).await.map_err(db_error)?;
        let count: i64 = row.try_get(0).map_err(db_error)?;
        Ok(count.max(0) as u64)
    }

    async fn delete_session(&self, session_id: &str) -> Result<bool, StoreError> {
        let deleted = self
            .writer
            .write(Write::DeleteSession(session_id.to_string()))
            .await?;
        Ok(deleted > 0)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    /// Through the writer, as every run's writes go: it fails when they do.
    async fn probe_write(&self) -> Result<(), StoreError> {
        self.writer.write(Write::Probe(now_ms())).await.map(drop)
    }

    async fn take_run(
        &self,
        run: &RunRecord,
        from: RunStatus,
        events: &[Event],
    ) -> Result<bool, StoreError> {
        let mut tx = WriteTxn::begin(&self.write_pool).await.map_err(db_error)?;
        let taken = sqlx::query(
            "UPDATE runs SET status = ?, updated_at = ?, record = ?, cancel_requested = 0 \
             WHERE run_id = ? AND status = ?",
        )
        .bind(run.status.as_str())
        .bind(run.updated_at)
        .bind(to_json(run)?)
        .bind(&run.run_id)
        .bind(from.as_str())
        .execute(tx.conn())
        .await
        .map_err(db_error)?
        .rows_affected();
        if taken == 0 {
            tx.rollback().await.map_err(db_error)?;
            return Ok(false);
        }
        let events: Vec<Arc<Event>> = events.iter().cloned().map(Arc::new).collect();
        writer::insert_events(tx.conn(), &run.run_id, &events)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(true)
    }

    async fn enqueue_run(
        &self,
        run: &RunRecord,
        job: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        let mut tx = WriteTxn::begin(&self.write_pool).await.map_err(db_error)?;
        let inserted = writer::insert_run(tx.conn(), &run_row(run)?, "DO NOTHING")
            .await
            .map_err(db_error)?;
        if inserted == 0 {
            tx.rollback().await.map_err(db_error)?;
            return Ok(false);
        }
        sqlx::query("INSERT INTO run_queue (run_id, job) VALUES (?, ?)")
            .bind(&run.run_id)
            .bind(to_json(job)?)
            .execute(tx.conn())
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(true)
    }

    async fn claim_queued_run(
        &self,
        run_id: Option<&str>,
    ) -> Result<Option<(RunRecord, serde_json::Value)>, StoreError> {
        let mut tx = WriteTxn::begin(&self.write_pool).await.map_err(db_error)?;
        loop {
            let mut q = QueryBuilder::<Sqlite>::new(
                "DELETE FROM run_queue WHERE ord = (SELECT ord FROM run_queue",
            );
            if let Some(id) = run_id {
                q.push(" WHERE run_id = ").push_bind(id.to_string());
            }
            q.push(" ORDER BY ord LIMIT 1) RETURNING run_id, job");
            let Some(row) = q
                .build()
                .fetch_optional(tx.conn())
                .await
                .map_err(db_error)?
            else {
                tx.commit().await.map_err(db_error)?;
                return Ok(None);
            };
            let id: String = row.try_get(0).map_err(db_error)?;
            let job: String = row.try_get(1).map_err(db_error)?;
            let run = sqlx::query(concat!(
                "SELECT ",
                run_columns!(),
                ", session_id, agent_id, created_at FROM runs WHERE run_id = ?"
            ))
            .bind(&id)
            .fetch_optional(tx.conn())
            .await
            .map_err(db_error)?;
            // A queued run whose session was deleted is simply dropped.
            let Some(run) = run else {
                continue;
            };
            match read_run(&run).and_then(|r| Ok((r, from_json(&job)?))) {
                Ok(claimed) => {
                    tx.commit().await.map_err(db_error)?;
                    return Ok(Some(claimed));
                }
                // Unreadable: failed in place, and the claim goes on to the
                // next queued run (see `poisoned`).
                Err(e) => {
                    tracing::warn!(run_id = id, error = %e,
                        "a queued run is unreadable: it is failed and taken off the queue");
                    let (record, event) = super::poisoned::failed_run(
                        &id,
                        &run.try_get::<String, _>(2).map_err(db_error)?,
                        &run.try_get::<String, _>(3).map_err(db_error)?,
                        run.try_get(4).map_err(db_error)?,
                        &e.to_string(),
                    );
                    writer::insert_run(tx.conn(), &run_row(&record)?, writer::REPLACE_RUN)
                        .await
                        .map_err(db_error)?;
                    writer::insert_events(tx.conn(), &id, &[Arc::new(event)])
                        .await
                        .map_err(db_error)?;
                }
            }
        }
    }

    async fn request_cancel(&self, run_id: &str) -> Result<bool, StoreError> {
        let mut tx = WriteTxn::begin(&self.write_pool).await.map_err(db_error)?;
        let done = sqlx::query(
            "UPDATE runs SET cancel_requested = 1 \
             WHERE run_id = ? AND status IN ('pending', 'running')",
        )
        .bind(run_id)
        .execute(tx.conn())
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn cancel_requested(&self, run_id: &str) -> Result<bool, StoreError> {
        let flag: Option<i64> =
            sqlx::query_scalar("SELECT cancel_requested FROM runs WHERE run_id = ?")
                .bind(run_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
        Ok(flag.unwrap_or(0) != 0)
    }

    async fn hit_rate_limit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<RateDecision, StoreError> {
        let now = now_ms();
        let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        let mut tx = WriteTxn::begin(&self.write_pool).await.map_err(db_error)?;
        sqlx::query("DELETE FROM rate_hits WHERE key = ? AND at <= ?")
            .bind(key)
            .bind(now.saturating_sub(window_ms))
            .execute(tx.conn())
            .await
            .map_err(db_error)?;
        let (count, oldest): (i64, Option<i64>) =
            sqlx::query_as("SELECT COUNT(*), MIN(at) FROM rate_hits WHERE key = ?")
                .bind(key)
                .fetch_one(tx.conn())
                .await
                .map_err(db_error)?;
        if let Some(refused) = RateDecision::refusal(count, oldest, now, window_ms, limit) {
            tx.rollback().await.map_err(db_error)?;
            return Ok(refused);
        }
        sqlx::query("INSERT INTO rate_hits (key, at) VALUES (?, ?)")
            .bind(key)
            .bind(now)
            .execute(tx.conn())
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(RateDecision::Allowed)
    }

    /// Every in-flight run, as one process owns this file, except the runs
    /// still queued: nothing started them, so they start after a restart.
    async fn claim_orphaned_runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            run_columns!(),
            " FROM runs WHERE status IN ('pending', 'running') \
             AND run_id NOT IN (SELECT run_id FROM run_queue) ORDER BY created_at, rowid"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter().map(read_run).collect()
    }
}

fn run_row(run: &RunRecord) -> Result<RunRow, StoreError> {
    Ok(RunRow {
        run_id: run.run_id.clone(),
        session_id: run.session_id.clone(),
        agent_id: run.agent_id.clone(),
        user_id: run.user_id.clone(),
        status: run.status.as_str(),
        created_at: run.created_at,
        updated_at: run.updated_at,
        record: to_json(run)?,
    })
}

fn session_row(session: &SessionRecord) -> Result<SessionRow, StoreError> {
    Ok(SessionRow {
        session_id: session.session_id.clone(),
        agent_id: session.agent_id.clone(),
        user_id: session.user_id.clone(),
        name: session.name.clone(),
        created_at: session.created_at,
        updated_at: session.updated_at,
        record: to_json(session)?,
    })
}

/// A run row (`run_columns!`) as readers see it.
fn read_run(row: &sqlx::sqlite::SqliteRow) -> Result<RunRecord, StoreError> {
    let mut run: RunRecord = from_json(&row.try_get::<String, _>(0).map_err(db_error)?)?;
    let cancel: i64 = row.try_get(1).map_err(db_error)?;
    if cancel != 0 && matches!(run.status, RunStatus::Pending | RunStatus::Running) {
        run.cancel_requested = true;
    }
    Ok(run)
}

#[cfg(test)]
mod tests;
