//! The shared store: one PostgreSQL database that several agentd replicas
//! may use at once, through sqlx.
//!
//! Same records and queries as the SQLite store (migrations/postgres/), plus
//! what lets replicas share it:
//! - a lease: every run row names the replica that writes it (`owner`), and
//!   that replica refreshes a heartbeat on its in-flight runs in the
//!   background. A run whose heartbeat is older than `store.lease_secs` is
//!   orphaned; any replica may claim and end it. Writes from a replica that
//!   is no longer a run's owner are refused (`StoreError::Superseded`).
//! - a queue of background runs, each claimed by exactly one replica
//!   (`FOR UPDATE SKIP LOCKED`);
//! - cancel requests in the run row, for the replica that runs it;
//! - rate-limit hits every replica counts against;
//! - LISTEN/NOTIFY on one channel per schema, carrying "new events",
//!   "cancel" and "queued" hints as `StoreSignal`s. A hint can be lost (a
//!   dropped connection): the heartbeat re-sends cancel hints for this
//!   replica's runs, and waiters poll as a fallback.
//!
//! Depends on the engine's record types only, never on HTTP or a protocol.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, QueryBuilder, Row, SqlSafeStr};
use tokio_util::sync::CancellationToken;

use sqlx::postgres::PgListener;
use tokio::sync::broadcast;

use super::codec::{chunk_to_json, event_chunks, from_json, log_from_chunks, to_json};
use super::{RateDecision, RunFilter, SessionFilter, SessionSort, Store, StoreError, StoreSignal};
use crate::domain::{Event, RunRecord, RunStatus, SessionRecord, Visible, now_ms};

/// The schema, embedded so the binary needs no files beside it.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "queue cancel rates",
        include_str!("../../migrations/postgres/0002_queue_cancel_rates.sql"),
    ),
    (
        3,
        "event chunks",
        include_str!("../../migrations/postgres/0003_event_chunks.sql"),
    ),
    (
        4,
        "owners",
        include_str!("../../migrations/postgres/0004_owners.sql"),
    ),
];

/// Signals buffered per receiver before a slow one starts missing some
/// (it then gets `Lagged` and re-checks, as after a `Resync`).
const SIGNAL_BUFFER: usize = 1024;

/// The columns `read_run` reads.
macro_rules! run_columns {
    () => {
        "record::text, cancel_requested"
    };
}

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

pub struct PgStore {
    pool: PgPool,
    /// This process's id in the `owner` column.
    replica_id: String,
    lease: Duration,
    /// The NOTIFY channel of this database schema.
    channel: String,
    signals: broadcast::Sender<StoreSignal>,
    /// Stops the heartbeat and listener tasks when the store is dropped.
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
        // Replicas share a channel when they share a schema, and only then.
        let schema: String = sqlx::query_scalar("SELECT current_schema()::text")
            .fetch_one(&pool)
            .await
            .map_err(|e| unavailable(&shown, "cannot read from", e))?;
        let channel: String = format!("agentd_{schema}").chars().take(63).collect();
        let mut listener = PgListener::connect(url)
            .await
            .map_err(|e| unavailable(&shown, "cannot listen on", e))?;
        listener
            .listen(&channel)
            .await
            .map_err(|e| unavailable(&shown, "cannot listen on", e))?;
        let store = Self {
            pool,
            replica_id: uuid::Uuid::new_v4().to_string(),
            lease: lease.max(Duration::from_millis(100)),
            channel,
            signals: broadcast::channel(SIGNAL_BUFFER).0,
            stop: CancellationToken::new(),
        };
        store.spawn_heartbeat();
        store.spawn_listener(listener);
        Ok(store)
    }

    /// Turns notifications into signals. A lost connection is re-made by
    /// the listener; what was sent meanwhile is gone, so waiters are told
    /// to re-check (`Resync`).
    fn spawn_listener(&self, mut listener: PgListener) {
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

    pub fn replica_id(&self) -> &str {
        &self.replica_id
    }

    /// Refreshes this replica's in-flight runs three times per lease, so one
    /// missed beat never makes a live run look orphaned.
    /// Each beat also re-sends, as signals here, the cancel requests for
    /// this replica's runs: one lost notification only delays a cancel.
    fn spawn_heartbeat(&self) {
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

    /// Sends a hint to every replica listening on this schema's channel.
    async fn notify<'e, E>(&self, executor: E, payload: &str) -> Result<(), StoreError>
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

    fn lease_ms(&self) -> i64 {
        i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX)
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

/// Notification payloads: `e:<run id>` new events, `c:<run id>` cancel,
/// `q` a run was queued.
fn parse_signal(payload: &str) -> Option<StoreSignal> {
    match payload.split_once(':') {
        Some(("e", run_id)) => Some(StoreSignal::Events(run_id.to_string())),
        Some(("c", run_id)) => Some(StoreSignal::Cancel(run_id.to_string())),
        None if payload == "q" => Some(StoreSignal::Queued),
        _ => None,
    }
}

/// A run row (`run_columns!`) as readers see it: with a pending cancel
/// request showing.
fn read_run(row: &sqlx::postgres::PgRow) -> Result<RunRecord, StoreError> {
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
async fn insert_events<'a>(
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

/// `INSERT` of a run row with `run_row`'s nine values (the heartbeat is
/// the database's now), for the statements that add their `ON CONFLICT`.
macro_rules! insert_run_row {
    () => {
        concat!(
            "INSERT INTO runs (run_id, session_id, agent_id, user_id, status, created_at, \
             updated_at, record, owner, heartbeat_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, ",
            db_now_ms!(),
            ")"
        )
    };
}

/// A run row's nine values, `$1`..`$9` of `sql` (run_id, session_id,
/// agent_id, user_id, status, created_at, updated_at, record, owner), for the
/// statements that insert or replace it.
fn run_row<'q>(
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
async fn insert_run<'e, E>(
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
async fn upsert_run<'e, E>(executor: E, run: &RunRecord, owner: &str) -> Result<(), StoreError>
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

/// `INSERT` of a session row with `session_row`'s seven values, for the
/// statements that add their `ON CONFLICT`.
macro_rules! insert_session_row {
    () => {
        "INSERT INTO sessions (session_id, agent_id, user_id, name, created_at, updated_at, record) \
         VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)"
    };
}

/// A session row's seven values, `$1`..`$7` of `sql`.
fn session_row<'q>(
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
async fn upsert_session<'e, E>(executor: E, session: &SessionRecord) -> Result<(), StoreError>
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

/// The clause that narrows a query to what a principal sees (see
/// `Principal::visible`): the owner is read from the record's JSON
/// (migration 0004 indexes it).
fn push_visible(q: &mut QueryBuilder<Postgres>, visible: Option<&Visible>) {
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

#[async_trait]
impl Store for PgStore {
    /// Writes a new run as its owner, or an existing one this replica owns
    /// (refreshing its lease); refuses a run another replica took over.
    async fn put_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        upsert_run(&self.pool, run, &self.replica_id).await
    }

    /// `put_run` and `append_events` in one transaction: the row's lock
    /// keeps a takeover out between the two, as `append_events`'s does.
    async fn save_run(&self, run: Arc<RunRecord>, events: &[Arc<Event>]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        upsert_run(&mut *tx, &run, &self.replica_id).await?;
        if !events.is_empty() {
            insert_events(&mut tx, &run.run_id, events.iter().map(|e| &**e)).await?;
            self.notify(&mut *tx, &format!("e:{}", run.run_id)).await?;
        }
        tx.commit().await.map_err(db_error)
    }

    async fn create_run_in_session(
        &self,
        run: &RunRecord,
        session: &SessionRecord,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        if !insert_run(&mut *tx, run, Some(&self.replica_id)).await? {
            return Ok(false);
        }
        upsert_session(&mut *tx, session).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(true)
    }

    async fn create_run(&self, run: &RunRecord) -> Result<bool, StoreError> {
        insert_run(&self.pool, run, Some(&self.replica_id)).await
    }

    async fn get_run(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            run_columns!(),
            " FROM runs WHERE run_id = $1"
        ))
        .bind(run_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        row.as_ref().map(read_run).transpose()
    }

    async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>, StoreError> {
        let mut q = QueryBuilder::<Postgres>::new(concat!(
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
            q.push(" AND (record ->> 'origin') = ")
                .push_bind(origin.clone());
        }
        push_visible(&mut q, filter.visible.as_ref());
        let Some(newest) = filter.newest else {
            q.push(" ORDER BY created_at, ord");
            let rows = q.build().fetch_all(&self.pool).await.map_err(db_error)?;
            return rows.iter().map(read_run).collect();
        };
        q.push(" ORDER BY created_at DESC, ord DESC LIMIT ")
            .push_bind(i64::try_from(newest).unwrap_or(i64::MAX));
        let rows = q.build().fetch_all(&self.pool).await.map_err(db_error)?;
        rows.iter().rev().map(read_run).collect()
    }

    /// Appends events to a run this replica owns, in one transaction that
    /// also tells tailing replicas. The run row is locked against a
    /// takeover meanwhile: once another replica claimed the run, nothing
    /// more from here gets into its log.
    async fn append_events(&self, run_id: &str, events: &[Event]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let owner: Option<Option<String>> =
            sqlx::query_scalar("SELECT owner FROM runs WHERE run_id = $1 FOR SHARE")
                .bind(run_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_error)?;
        if owner.flatten().as_deref() != Some(self.replica_id.as_str()) {
            return Err(StoreError::Superseded(run_id.to_string()));
        }
        insert_events(&mut tx, run_id, events).await?;
        self.notify(&mut *tx, &format!("e:{run_id}")).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn events(&self, run_id: &str, after: u64) -> Result<Vec<Event>, StoreError> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT first_seq, events::text FROM event_chunks \
             WHERE run_id = $1 AND last_seq > $2 ORDER BY first_seq",
        )
        .bind(run_id)
        .bind(i64::try_from(after).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        log_from_chunks(run_id, after, &rows)
    }

    async fn put_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        upsert_session(&self.pool, session).await
    }

    async fn create_session(&self, session: &SessionRecord) -> Result<bool, StoreError> {
        let sql = concat!(
            insert_session_row!(),
            " ON CONFLICT (session_id) DO NOTHING"
        );
        let done = session_row(sql, session)?
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected() == 1)
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

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn probe_write(&self) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO agentd_meta (key, value) VALUES ('write_probe', $1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(now_ms().to_string())
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    /// Claims, in one statement, the in-flight runs whose heartbeat is older
    /// than the lease: the row lock makes each orphan go to exactly one
    /// replica, and the refreshed heartbeat keeps the others off it while
    /// the claimer ends it.
    /// A queued run has no owner to lose and is never orphaned.
    async fn claim_orphaned_runs(&self) -> Result<Vec<RunRecord>, StoreError> {
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
            .bind(&self.replica_id)
            .bind(self.lease_ms())
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        let mut runs: Vec<RunRecord> = rows.iter().map(read_run).collect::<Result<_, _>>()?;
        runs.sort_by_key(|r| r.created_at);
        Ok(runs)
    }

    /// The in-flight runs whose lease this replica holds (and renews):
    /// the only ones it must end itself if nothing drives them.
    async fn runs_in_flight_here(&self) -> Result<Vec<RunRecord>, StoreError> {
        let sql = concat!(
            "SELECT ",
            run_columns!(),
            " FROM runs WHERE owner = $1 AND status IN ",
            in_flight!(),
            " AND NOT EXISTS (SELECT 1 FROM run_queue q WHERE q.run_id = runs.run_id) \
             ORDER BY created_at, ord"
        );
        let rows = sqlx::query(sql)
            .bind(&self.replica_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter().map(read_run).collect()
    }

    fn orphan_check_interval(&self) -> Option<Duration> {
        Some(self.lease / 2)
    }

    async fn take_run(
        &self,
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
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let taken = sqlx::query(sql)
            .bind(run.status.as_str())
            .bind(run.updated_at)
            .bind(to_json(run)?)
            .bind(&self.replica_id)
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
            self.notify(&mut *tx, &format!("e:{}", run.run_id)).await?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(true)
    }

    async fn enqueue_run(
        &self,
        run: &RunRecord,
        job: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        if !insert_run(&mut *tx, run, None).await? {
            return Ok(false);
        }
        sqlx::query("INSERT INTO run_queue (run_id, job) VALUES ($1, $2::jsonb)")
            .bind(&run.run_id)
            .bind(to_json(job)?)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        self.notify(&mut *tx, "q").await?;
        tx.commit().await.map_err(db_error)?;
        Ok(true)
    }

    /// One statement: the queue row is locked (rows other replicas are
    /// claiming are skipped, not waited for), deleted, and its run made
    /// this replica's. Two replicas never get the same row.
    async fn claim_queued_run(
        &self,
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
                .bind(&self.replica_id)
                .bind(run_id)
                .fetch_optional(&self.pool)
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
            let (record, event) = super::poisoned::failed_run(
                &id,
                &row.try_get::<String, _>(4).map_err(db_error)?,
                &row.try_get::<String, _>(5).map_err(db_error)?,
                row.try_get(6).map_err(db_error)?,
                &error.to_string(),
            );
            let mut tx = self.pool.begin().await.map_err(db_error)?;
            upsert_run(&mut *tx, &record, &self.replica_id).await?;
            insert_events(&mut tx, &id, &[event]).await?;
            tx.commit().await.map_err(db_error)?;
            if run_id.is_some() {
                return Ok(None);
            }
        }
    }

    async fn request_cancel(&self, run_id: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let sql = concat!(
            "UPDATE runs SET cancel_requested = true WHERE run_id = $1 AND status IN ",
            in_flight!()
        );
        let marked = sqlx::query(sql)
            .bind(run_id)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?
            .rows_affected();
        if marked == 0 {
            return Ok(false);
        }
        self.notify(&mut *tx, &format!("c:{run_id}")).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(true)
    }

    async fn cancel_requested(&self, run_id: &str) -> Result<bool, StoreError> {
        let flag: Option<bool> =
            sqlx::query_scalar("SELECT cancel_requested FROM runs WHERE run_id = $1")
                .bind(run_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
        Ok(flag.unwrap_or(false))
    }

    /// Counted on the database's clock, one key at a time (a transaction
    /// advisory lock), so replicas never both take the last place.
    async fn hit_rate_limit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<RateDecision, StoreError> {
        let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(key)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let now: i64 = sqlx::query_scalar(concat!("SELECT ", db_now_ms!()))
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error)?;
        sqlx::query("DELETE FROM rate_hits WHERE key = $1 AND at <= $2")
            .bind(key)
            .bind(now.saturating_sub(window_ms))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let (count, oldest): (i64, Option<i64>) =
            sqlx::query_as("SELECT COUNT(*), MIN(at) FROM rate_hits WHERE key = $1")
                .bind(key)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_error)?;
        if let Some(refused) = RateDecision::refusal(count, oldest, now, window_ms, limit) {
            return Ok(refused);
        }
        sqlx::query("INSERT INTO rate_hits (key, at) VALUES ($1, $2)")
            .bind(key)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(RateDecision::Allowed)
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn signals(&self) -> Option<broadcast::Receiver<StoreSignal>> {
        Some(self.signals.subscribe())
    }
}
