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
//! One concern per file: `lease` (heartbeat, orphan claiming, taking a
//! paused run), `queue` (background runs), `signals` (LISTEN/NOTIFY),
//! `cancel` (cancel requests), `rates` (shared rate limits), `runs` and
//! `sessions` (the records' queries), `rows` (how rows are written and
//! read). This file holds the store itself: connecting, migrations, the SQL
//! fragments the others share, and the `Store` impl, which only delegates.
//!
//! Depends on the engine's record types only, never on HTTP or a protocol.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::{RateDecision, RunFilter, SessionFilter, Store, StoreError, StoreSignal};
use crate::domain::{Event, RunRecord, RunStatus, SessionRecord, now_ms};

/// The schema, embedded so the binary needs no files beside it.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../../../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "queue cancel rates",
        include_str!("../../../migrations/postgres/0002_queue_cancel_rates.sql"),
    ),
    (
        3,
        "event chunks",
        include_str!("../../../migrations/postgres/0003_event_chunks.sql"),
    ),
    (
        4,
        "owners",
        include_str!("../../../migrations/postgres/0004_owners.sql"),
    ),
];

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

/// `INSERT` of a session row with `session_row`'s seven values, for the
/// statements that add their `ON CONFLICT`.
macro_rules! insert_session_row {
    () => {
        "INSERT INTO sessions (session_id, agent_id, user_id, name, created_at, updated_at, record) \
         VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)"
    };
}

mod cancel;
mod lease;
mod queue;
mod rates;
mod rows;
mod runs;
mod sessions;
mod signals;
#[cfg(test)]
mod tests;

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
            signals: broadcast::channel(signals::SIGNAL_BUFFER).0,
            stop: CancellationToken::new(),
        };
        store.spawn_heartbeat();
        store.spawn_listener(listener);
        Ok(store)
    }

    pub fn replica_id(&self) -> &str {
        &self.replica_id
    }

    pub async fn close(&self) {
        self.stop.cancel();
        self.pool.close().await;
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

#[async_trait]
impl Store for PgStore {
    async fn put_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        runs::put_run(self, run).await
    }

    async fn save_run(&self, run: Arc<RunRecord>, events: &[Arc<Event>]) -> Result<(), StoreError> {
        runs::save_run(self, run, events).await
    }

    async fn create_run_in_session(
        &self,
        run: &RunRecord,
        session: &SessionRecord,
    ) -> Result<bool, StoreError> {
        runs::create_run_in_session(self, run, session).await
    }

    async fn create_run(&self, run: &RunRecord) -> Result<bool, StoreError> {
        runs::create_run(self, run).await
    }

    async fn get_run(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError> {
        runs::get_run(self, run_id).await
    }

    async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>, StoreError> {
        runs::list_runs(self, filter).await
    }

    async fn append_events(&self, run_id: &str, events: &[Event]) -> Result<(), StoreError> {
        runs::append_events(self, run_id, events).await
    }

    async fn events(&self, run_id: &str, after: u64) -> Result<Vec<Event>, StoreError> {
        runs::events(self, run_id, after).await
    }

    async fn put_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        sessions::put_session(self, session).await
    }

    async fn create_session(&self, session: &SessionRecord) -> Result<bool, StoreError> {
        sessions::create_session(self, session).await
    }

    async fn get_session(&self, session_id: &str) -> Result<Option<SessionRecord>, StoreError> {
        sessions::get_session(self, session_id).await
    }

    async fn list_sessions(
        &self,
        filter: &SessionFilter,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        sessions::list_sessions(self, filter).await
    }

    async fn count_sessions(&self, filter: &SessionFilter) -> Result<u64, StoreError> {
        sessions::count_sessions(self, filter).await
    }

    async fn delete_session(&self, session_id: &str) -> Result<bool, StoreError> {
        sessions::delete_session(self, session_id).await
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

    async fn claim_orphaned_runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        lease::claim_orphaned_runs(self).await
    }

    async fn runs_in_flight_here(&self) -> Result<Vec<RunRecord>, StoreError> {
        lease::runs_in_flight_here(self).await
    }

    fn orphan_check_interval(&self) -> Option<Duration> {
        lease::orphan_check_interval(self)
    }

    async fn take_run(
        &self,
        run: &RunRecord,
        from: RunStatus,
        events: &[Event],
    ) -> Result<bool, StoreError> {
        lease::take_run(self, run, from, events).await
    }

    async fn enqueue_run(
        &self,
        run: &RunRecord,
        job: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        queue::enqueue_run(self, run, job).await
    }

    async fn claim_queued_run(
        &self,
        run_id: Option<&str>,
    ) -> Result<Option<(RunRecord, serde_json::Value)>, StoreError> {
        queue::claim_queued_run(self, run_id).await
    }

    async fn request_cancel(&self, run_id: &str) -> Result<bool, StoreError> {
        cancel::request_cancel(self, run_id).await
    }

    async fn cancel_requested(&self, run_id: &str) -> Result<bool, StoreError> {
        cancel::cancel_requested(self, run_id).await
    }

    async fn hit_rate_limit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<RateDecision, StoreError> {
        rates::hit_rate_limit(self, key, limit, window).await
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn signals(&self) -> Option<broadcast::Receiver<StoreSignal>> {
        Some(self.signals.subscribe())
    }
}
