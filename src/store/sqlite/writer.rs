//! The SQLite store's single writer: group commit.
//!
//! SQLite takes one writer at a time and a commit costs far more than the
//! statements in it, so every write goes through one task that owns the write
//! connection. Whatever writes are waiting when it finishes a commit go into
//! the next transaction together; should one of them fail, the batch is
//! written again with each write inside its own savepoint, so one bad write
//! fails alone. Each caller still waits for the commit that holds its
//! write: group commit changes throughput, not durability. Under light load a
//! batch is a single write, exactly as before.
//!
//! Knows SQL and rows. Most writes come encoded (on the caller's thread); a
//! run's checkpoint comes as the engine holds it, its events and record
//! shared, and is encoded here, one statement's worth at a time: runs that
//! end together (thousands of streams finishing in the same second) then
//! wait for the writer holding their logs and records once, not once more
//! as JSON. A job's write is dropped before its caller hears back, so the
//! caller gets its shared record back as the only owner.

use std::sync::Arc;

use sqlx::{Executor, SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use super::txn::WriteTxn;
use super::{db_error, run_row};
use crate::domain::{Event, RunRecord};
use crate::store::StoreError;
use crate::store::codec::{chunk_to_json, event_chunks};

/// Writes per transaction at most: bounds how long one commit holds the lock.
const MAX_BATCH: usize = 256;
/// Writes queued for the writer before callers wait to enqueue.
const QUEUE: usize = 4096;

/// One row of `runs` or `sessions`, encoded.
pub(super) struct RunRow {
    pub run_id: String,
    pub session_id: String,
    pub agent_id: String,
    pub user_id: Option<String>,
    pub status: &'static str,
    pub created_at: i64,
    pub updated_at: i64,
    pub record: String,
}

pub(super) struct SessionRow {
    pub session_id: String,
    pub agent_id: Option<String>,
    pub user_id: Option<String>,
    pub name: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub record: String,
}

pub(super) enum Write {
    /// Inserts or replaces.
    Run(RunRow),
    /// Inserts only a new run id (1 row affected) or does nothing (0).
    CreateRun(RunRow),
    /// Inserts only a new session id.
    CreateSession(SessionRow),
    Events {
        run_id: String,
        events: Vec<Arc<Event>>,
    },
    /// A checkpoint: appends the run's events, then inserts or replaces its row.
    Save {
        run: Arc<RunRecord>,
        events: Vec<Arc<Event>>,
    },
    /// Inserts a new run id (1 row affected) and then replaces its session,
    /// or does nothing (0) when the run id is taken.
    CreateRunInSession(RunRow, SessionRow),
    Session(SessionRow),
    DeleteSession(String),
    /// Notes the time in `agentd_meta`: a write that shows whether writes work.
    Probe(i64),
}

struct Job {
    write: Write,
    /// Rows affected, once the transaction holding the write has committed.
    done: oneshot::Sender<Result<u64, StoreError>>,
}

#[derive(Clone)]
pub(super) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer task on `pool` (which should hold one connection).
    /// The task ends when the last `Writer` is dropped.
    pub(super) fn start(pool: SqlitePool) -> Self {
        let (jobs, rx) = mpsc::channel(QUEUE);
        tokio::spawn(write_loop(pool, rx));
        Self { jobs }
    }

    /// Queues a write and waits until it is committed (or failed).
    pub(super) async fn write(&self, write: Write) -> Result<u64, StoreError> {
        let (done, outcome) = oneshot::channel();
        self.jobs
            .send(Job { write, done })
            .await
            .map_err(|_| StoreError::Unavailable("the database writer has stopped".into()))?;
        outcome
            .await
            .map_err(|_| StoreError::Unavailable("the database writer has stopped".into()))?
    }
}

async fn write_loop(pool: SqlitePool, mut rx: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        commit(&pool, std::mem::take(&mut batch)).await;
    }
}

/// Writes a batch in one transaction and answers every job in it.
///
/// First every write plainly: a savepoint around each would cost two more
/// round trips to SQLite's thread per write, and writes rarely fail. When
/// one does, that transaction is undone whole and the batch written again
/// with each write in its own savepoint, so only the bad one fails.
async fn commit(pool: &SqlitePool, jobs: Vec<Job>) {
    let outcomes = match write_all(pool, &jobs, false).await {
        Ok(outcomes) if jobs.len() == 1 || outcomes.iter().all(Result::is_ok) => outcomes,
        Ok(_) => match write_all(pool, &jobs, true).await {
            Ok(outcomes) => outcomes,
            Err(e) => return fail_all(jobs, db_error(e)),
        },
        Err(e) => return fail_all(jobs, db_error(e)),
    };
    for (Job { write, done }, outcome) in jobs.into_iter().zip(outcomes) {
        drop(write);
        let _ = done.send(outcome.map_err(db_error));
    }
}

/// Writes `jobs` in one transaction (`WriteTxn`: a connection that fails
/// its COMMIT or ROLLBACK is replaced), each in its own savepoint when
/// `isolate`, and commits it; `Err` when the transaction itself failed.
/// Without `isolate` the first failed write rolls the transaction back and
/// ends the list (nothing of it is kept).
async fn write_all(
    pool: &SqlitePool,
    jobs: &[Job],
    isolate: bool,
) -> Result<Vec<Result<u64, sqlx::Error>>, sqlx::Error> {
    let mut txn = WriteTxn::begin(pool).await?;
    let mut outcomes = Vec::with_capacity(jobs.len());
    for job in jobs {
        let outcome = match isolate {
            true => isolated(txn.conn(), &job.write).await,
            false => apply(txn.conn(), &job.write).await,
        };
        let failed = outcome.is_err();
        outcomes.push(outcome);
        if failed && !isolate {
            txn.rollback().await?;
            return Ok(outcomes);
        }
    }
    txn.commit().await?;
    Ok(outcomes)
}

/// A write inside its own savepoint: its failure undoes only itself.
async fn isolated(conn: &mut SqliteConnection, write: &Write) -> Result<u64, sqlx::Error> {
    conn.execute("SAVEPOINT w").await?;
    let outcome = apply(conn, write).await;
    if outcome.is_err() {
        conn.execute("ROLLBACK TO w").await?;
    }
    conn.execute("RELEASE w").await?;
    outcome
}

fn fail_all(jobs: Vec<Job>, error: StoreError) {
    for Job { write, done } in jobs {
        drop(write);
        let _ = done.send(Err(error.clone()));
    }
}

/// Inserts a run row; `on_conflict` says what a taken id does. Also used
/// by the store's own transactions (queueing a run).
pub(super) async fn insert_run(
    conn: &mut SqliteConnection,
    r: &RunRow,
    on_conflict: &str,
) -> Result<u64, sqlx::Error> {
    let sql = format!(
        "INSERT INTO runs (run_id, session_id, agent_id, user_id, status, created_at, updated_at, record) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) {on_conflict}"
    );
    Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&r.run_id)
        .bind(&r.session_id)
        .bind(&r.agent_id)
        .bind(&r.user_id)
        .bind(r.status)
        .bind(r.created_at)
        .bind(r.updated_at)
        .bind(&r.record)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// Inserts a session row; `on_conflict` says what a taken id does.
async fn insert_session(
    conn: &mut SqliteConnection,
    s: &SessionRow,
    on_conflict: &str,
) -> Result<u64, sqlx::Error> {
    let sql = format!(
        "INSERT INTO sessions (session_id, agent_id, user_id, name, created_at, updated_at, record) \
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (session_id) {on_conflict}"
    );
    Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&s.session_id)
        .bind(&s.agent_id)
        .bind(&s.user_id)
        .bind(&s.name)
        .bind(s.created_at)
        .bind(s.updated_at)
        .bind(&s.record)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// Appends events, one row per flush (`codec::event_chunks`). Also used
/// by the store's own transactions (taking a run over).
///
/// A run's stored events are always a prefix of its log, and a flush starts
/// where the stored part ends. A flush that failed to report but did commit
/// is retried from the same event with as many or more after it, so it
/// splits into rows starting at the same numbers: a row whose first event
/// is stored already is replaced only by a longer one (the same events and
/// more; an event never changes once numbered), never duplicated.
pub(super) async fn insert_events(
    conn: &mut SqliteConnection,
    run_id: &str,
    events: &[Arc<Event>],
) -> Result<u64, sqlx::Error> {
    let events: Vec<&Event> = events.iter().map(|e| &**e).collect();
    let mut affected = 0;
    for chunk in event_chunks(&events) {
        let (Some(first), Some(last)) = (chunk.first(), chunk.last()) else {
            continue;
        };
        // Encoded one row at a time: a long log is not all JSON at once.
        let json = chunk_to_json(chunk).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        affected += sqlx::query(
            "INSERT INTO event_chunks (run_id, first_seq, last_seq, events) VALUES (?, ?, ?, ?) \
             ON CONFLICT (run_id, first_seq) DO UPDATE SET last_seq = excluded.last_seq, \
             events = excluded.events WHERE excluded.last_seq > event_chunks.last_seq",
        )
        .bind(run_id)
        .bind(first.seq as i64)
        .bind(last.seq as i64)
        .bind(json)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    Ok(affected)
}

pub(super) const REPLACE_RUN: &str = "DO UPDATE SET session_id = excluded.session_id, \
    agent_id = excluded.agent_id, user_id = excluded.user_id, status = excluded.status, \
    created_at = excluded.created_at, updated_at = excluded.updated_at, record = excluded.record";
const REPLACE_SESSION: &str = "DO UPDATE SET agent_id = excluded.agent_id, \
    user_id = excluded.user_id, name = excluded.name, created_at = excluded.created_at, \
    updated_at = excluded.updated_at, record = excluded.record";

async fn apply(conn: &mut SqliteConnection, write: &Write) -> Result<u64, sqlx::Error> {
    let affected = match write {
        Write::Run(r) => insert_run(conn, r, REPLACE_RUN).await?,
        Write::CreateRun(r) => insert_run(conn, r, "DO NOTHING").await?,
        Write::Session(s) => insert_session(conn, s, REPLACE_SESSION).await?,
        Write::CreateSession(s) => insert_session(conn, s, "DO NOTHING").await?,
        Write::Events { run_id, events } => insert_events(conn, run_id, events).await?,
        Write::Save { run, events } => {
            insert_events(conn, &run.run_id, events).await?;
            let row = run_row(run).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
            insert_run(conn, &row, REPLACE_RUN).await?
        }
        Write::CreateRunInSession(run, session) => {
            let inserted = insert_run(conn, run, "DO NOTHING").await?;
            if inserted == 1 {
                insert_session(conn, session, REPLACE_SESSION).await?;
            }
            inserted
        }
        Write::Probe(at) => sqlx::query(
            "INSERT INTO agentd_meta (key, value) VALUES ('write_probe', ?) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(at.to_string())
        .execute(&mut *conn)
        .await?
        .rows_affected(),
        Write::DeleteSession(id) => {
            sqlx::query(
                "DELETE FROM event_chunks WHERE run_id IN (SELECT run_id FROM runs WHERE session_id = ?)",
            )
            .bind(id)
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "DELETE FROM run_queue WHERE run_id IN (SELECT run_id FROM runs WHERE session_id = ?)",
            )
            .bind(id)
            .execute(&mut *conn)
            .await?;
            sqlx::query("DELETE FROM runs WHERE session_id = ?")
                .bind(id)
                .execute(&mut *conn)
                .await?;
            sqlx::query("DELETE FROM sessions WHERE session_id = ?")
                .bind(id)
                .execute(&mut *conn)
                .await?
                .rows_affected()
        }
    };
    Ok(affected)
}
