//! Persistence behind one trait: runs, their event logs, and sessions.
//!
//! The engine talks only to `Store`; backends (memory, SQLite, and
//! PostgreSQL behind the same trait) never see HTTP or protocol types.
//! `open` builds the backend the config names.

pub mod memory;

/// How the SQL backends keep records: one JSON document per row.
pub(crate) mod codec {
    use std::sync::Arc;

    use serde::de::DeserializeOwned;
    use serde::{Deserialize, Serialize};

    use super::StoreError;
    use crate::domain::{Event, EventKind};

    /// An event as a stored chunk holds it: without the run id and
    /// sequence number, which the chunk's row gives (its run id, its first
    /// number and the event's place). A run's log is mostly one-token
    /// events, where the two were a third of each event's JSON.
    #[derive(Serialize)]
    struct EventBody<'a> {
        at: i64,
        #[serde(flatten)]
        kind: &'a EventKind,
    }

    /// Events written before the run id and sequence number left the JSON
    /// still carry them; they are ignored (the row says the same).
    #[derive(Deserialize)]
    struct StoredEventBody {
        at: i64,
        #[serde(flatten)]
        kind: EventKind,
    }

    /// Events per stored chunk at most: a long run's final write is several
    /// rows of reasonable size rather than one huge one.
    pub const EVENTS_PER_CHUNK: usize = 256;

    /// A run's events as the SQL stores keep them, one row per chunk: each
    /// run of consecutive sequence numbers, at most `EVENTS_PER_CHUNK`,
    /// stored as its first and last number and one JSON array
    /// (`chunk_to_json`). A flush is one chunk; one row per event cost a
    /// b-tree insert, three bound values and an index entry per token.
    pub fn event_chunks<'a, 'e>(events: &'a [&'e Event]) -> impl Iterator<Item = &'a [&'e Event]> {
        events
            .chunk_by(|a, b| b.seq == a.seq + 1)
            .flat_map(|run| run.chunks(EVENTS_PER_CHUNK))
    }

    /// A chunk's events as one JSON array of their bodies: the chunk's
    /// first sequence number and the array say every event's.
    pub fn chunk_to_json(chunk: &[&Event]) -> Result<String, StoreError> {
        let bodies: Vec<EventBody> = chunk
            .iter()
            .map(|e| EventBody {
                at: e.at,
                kind: &e.kind,
            })
            .collect();
        to_json(&bodies)
    }

    /// The events of a chunk `chunk_to_json` wrote, numbered from
    /// `first_seq`. Bodies an older agentd wrote whole, with their run id
    /// and sequence number, read the same.
    pub fn events_from_json(
        run_id: &Arc<str>,
        first_seq: i64,
        text: &str,
    ) -> Result<Vec<Event>, StoreError> {
        let bodies: Vec<StoredEventBody> = from_json(text)?;
        let first = u64::try_from(first_seq).map_err(|_| {
            StoreError::Corrupt(format!("stored events: sequence number {first_seq}"))
        })?;
        Ok(bodies
            .into_iter()
            .zip(first..)
            .map(|(body, seq)| Event {
                seq,
                run_id: run_id.clone(),
                at: body.at,
                kind: body.kind,
            })
            .collect())
    }

    /// A run's log after `after` from its chunk rows (first number, JSON),
    /// in order of their first numbers.
    pub fn log_from_chunks(
        run_id: &str,
        after: u64,
        rows: &[(i64, String)],
    ) -> Result<Vec<Event>, StoreError> {
        let run_id: Arc<str> = run_id.into();
        let mut log: Vec<Event> = Vec::new();
        for (first_seq, events) in rows {
            // Chunks never overlap (a retried flush replaces its rows); the
            // check keeps the log strictly increasing should two ever do.
            let seen = log.last().map_or(after, |e| e.seq.max(after));
            log.extend(
                events_from_json(&run_id, *first_seq, events)?
                    .into_iter()
                    .filter(|e| e.seq > seen),
            );
        }
        Ok(log)
    }

    pub fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
        serde_json::to_string(value).map_err(|e| StoreError::Unavailable(format!("encode: {e}")))
    }

    /// A record that no longer decodes is corruption, not unavailability.
    pub fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, StoreError> {
        serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("stored record: {e}")))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn log() -> Vec<Event> {
            let run_id: Arc<str> = "run-1".into();
            let message_id: Arc<str> = "m-1".into();
            [
                EventKind::RunResumed,
                EventKind::TextDelta {
                    message_id: message_id.clone(),
                    delta: "tok ".into(),
                },
                EventKind::MessageCompleted {
                    message_id: "m-1".into(),
                    text: "tok".into(),
                },
            ]
            .into_iter()
            .enumerate()
            .map(|(i, kind)| Event {
                seq: i as u64 + 1,
                run_id: run_id.clone(),
                at: 1_700_000_000_000 + i as i64,
                kind,
            })
            .collect()
        }

        #[test]
        fn a_stored_event_leaves_its_columns_out_and_comes_back_whole() {
            let run_id: Arc<str> = "run-1".into();
            for event in log() {
                let json = chunk_to_json(&[&event]).unwrap();
                let fields: serde_json::Value = serde_json::from_str(&json).unwrap();
                let fields = &fields[0];
                assert!(fields.get("run_id").is_none() && fields.get("seq").is_none());
                assert_eq!(fields["at"], event.at);
                let back = events_from_json(&run_id, event.seq as i64, &json).unwrap();
                assert_eq!(back, [event]);
            }
        }

        #[test]
        fn a_run_of_events_is_one_array_numbered_from_its_first() {
            let run_id: Arc<str> = "run-1".into();
            let events = log();
            let refs: Vec<&Event> = events.iter().collect();
            assert_eq!(event_chunks(&refs).count(), 1);
            let json = chunk_to_json(&refs).unwrap();
            assert!(json.starts_with("[{") && !json.contains("\"seq\""));
            assert_eq!(events_from_json(&run_id, 1, &json).unwrap(), events);
            let gapped = [&events[0], &events[2]];
            let firsts: Vec<u64> = event_chunks(&gapped).map(|c| c[0].seq).collect();
            assert_eq!(firsts, [1, 3]);
            // Old whole bodies in an array (what the upgrade makes of old rows).
            let old = format!("[{}]", to_json(&events[1]).unwrap());
            assert_eq!(
                events_from_json(&run_id, 2, &old).unwrap(),
                events[1..2].to_vec()
            );
            assert!(events_from_json(&run_id, -1, &old).is_err());
        }

        #[test]
        fn rows_written_whole_before_still_read_the_same() {
            let run_id: Arc<str> = "run-1".into();
            for event in log() {
                // What the upgrade makes of an old row: the whole event, in an array.
                let old = format!("[{}]", to_json(&event).unwrap());
                assert!(old.contains("\"run_id\""));
                let back = events_from_json(&run_id, event.seq as i64, &old).unwrap();
                assert_eq!(back, [event]);
            }
        }
    }
}
mod poisoned;
pub mod postgres;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;

use crate::config::{StoreConfig, StoreKind};
use crate::domain::{Event, Message, RunRecord, RunStatus, SessionRecord, Visible};

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store data corrupt: {0}")]
    Corrupt(String),
    /// A write to a run this process no longer writes: another replica took
    /// it over (its lease ran out) or ended it. The write was refused whole.
    #[error("run '{0}' is no longer this replica's: another replica took it over")]
    Superseded(String),
}

/// A hint from a store shared by several processes that something changed
/// elsewhere. Signals may be lost (a dropped connection): whoever waits on
/// one also polls now and then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSignal {
    /// New events of this run were stored.
    Events(String),
    /// Someone asked this run to stop (see `Store::request_cancel`).
    Cancel(String),
    /// A run was queued (see `Store::enqueue_run`).
    Queued,
    /// Signals may have been missed (the connection that carries them was
    /// lost): re-check whatever you wait for.
    Resync,
}

/// What `Store::hit_rate_limit` decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// Counted: the request may go ahead.
    Allowed,
    /// Over the limit (not counted): the next request is allowed after this long.
    Refused(std::time::Duration),
}

impl RateDecision {
    /// The sliding-window rule every store applies to the hits it counted
    /// (`count` hits in the window, the `oldest` at that time, all in ms):
    /// `None` means the hit is allowed and should be recorded.
    pub fn refusal(
        count: i64,
        oldest: Option<i64>,
        now: i64,
        window_ms: i64,
        limit: u32,
    ) -> Option<Self> {
        (count >= i64::from(limit.max(1))).then(|| {
            let wait = (oldest.unwrap_or(now) + window_ms - now).max(0) as u64;
            RateDecision::Refused(std::time::Duration::from_millis(wait))
        })
    }
}

/// Filters for listing runs; unset fields match everything.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub session_id: Option<String>,
    pub agent_id: Option<String>,
    /// Runs in any of these states; empty matches every state.
    pub statuses: Vec<RunStatus>,
    /// Runs started through this protocol adapter (`RunRecord::origin`).
    pub origin: Option<String>,
    /// Only the newest this many of the matching runs (still listed oldest
    /// first): listings a person browses must not read the whole history.
    pub newest: Option<usize>,
    /// Only the runs a principal sees (`Principal::visible`); the engine
    /// sets it, whatever an adapter asked.
    pub visible: Option<Visible>,
}

impl RunFilter {
    pub fn matches(&self, run: &RunRecord) -> bool {
        self.session_id
            .as_ref()
            .is_none_or(|s| &run.session_id == s)
            && self.agent_id.as_ref().is_none_or(|a| &run.agent_id == a)
            && (self.statuses.is_empty() || self.statuses.contains(&run.status))
            && self.origin.as_ref().is_none_or(|o| &run.origin == o)
            && self
                .visible
                .as_ref()
                .is_none_or(|v| v.admits(run.owner.as_ref()))
    }
}

/// The order of a session listing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SessionSort {
    #[default]
    CreatedAt,
    UpdatedAt,
    Name,
    Id,
}

/// Filters and one page of a session listing; unset fields match everything.
/// The default is every session, newest first.
#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    pub agent_id: Option<String>,
    pub user_id: Option<String>,
    /// Case-insensitive substring of the session name.
    pub name_contains: Option<String>,
    pub sort: SessionSort,
    pub ascending: bool,
    /// At most this many sessions (all when unset), after skipping `offset`.
    pub limit: Option<usize>,
    pub offset: usize,
    /// Only the sessions a principal sees (`Principal::visible`); the
    /// engine sets it, whatever an adapter asked.
    pub visible: Option<Visible>,
}

impl SessionFilter {
    /// Whether a session passes the filters (paging aside).
    pub fn matches(&self, s: &SessionRecord) -> bool {
        (self.agent_id.is_none() || s.agent_id == self.agent_id)
            && (self.user_id.is_none() || s.user_id == self.user_id)
            && self.name_contains.as_ref().is_none_or(|needle| {
                s.name
                    .as_deref()
                    .unwrap_or("")
                    .to_lowercase()
                    .contains(&needle.to_lowercase())
            })
            && self
                .visible
                .as_ref()
                .is_none_or(|v| v.admits(s.owner.as_ref()))
    }
}

/// The last `limit` messages, never starting with tool results whose call
/// was cut off.
pub fn trim_history(mut messages: Vec<Message>, limit: usize) -> Vec<Message> {
    let skip = messages.len().saturating_sub(limit);
    messages.drain(..skip);
    let orphans = messages
        .iter()
        .take_while(|m| m.role == crate::domain::Role::Tool)
        .count();
    messages.drain(..orphans);
    messages
}

/// Opens the store the config names: creates the SQLite file and its
/// directory when missing (or connects to PostgreSQL), applies migrations,
/// and checks the database is healthy and writable. Errors name the file or
/// server.
pub async fn open(config: &StoreConfig) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match config.kind {
        StoreKind::Memory => Arc::new(memory::MemoryStore::new()),
        StoreKind::Sqlite => Arc::new(sqlite::SqliteStore::open(&config.path).await?),
        StoreKind::Postgres => {
            let url = config.url.as_deref().ok_or_else(|| {
                StoreError::Unavailable("store.url: no PostgreSQL URL configured".into())
            })?;
            let lease = std::time::Duration::from_secs(config.lease_secs);
            Arc::new(postgres::PgStore::open(url, lease).await?)
        }
    })
}

/// The lifecycle writes of the `Store` contract, for every backend:
///
/// - One process writes a run at a time: `create_run` and `enqueue_run` make
///   the run; `put_run` and `append_events` write it from then on. A shared
///   store refuses those writes (`StoreError::Superseded`) from a process
///   that is no longer the run's writer, so a replica that lost its lease
///   cannot overwrite what another replica did with the run since.
/// - A run changes writers only through the store: `claim_queued_run` (a
///   queued run, to exactly one caller), `take_run` (a paused run, to the
///   first of several callers), `claim_orphaned_runs` (an abandoned one).
/// - `request_cancel` records the wish to stop a run another process runs;
///   its writer sees it through `cancel_requested` (and `StoreSignal::Cancel`).
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Inserts or replaces a run record this process writes.
    async fn put_run(&self, run: &RunRecord) -> Result<(), StoreError>;
    /// Inserts a new run this process writes; false (nothing written) when a
    /// run with its id exists already.
    async fn create_run(&self, run: &RunRecord) -> Result<bool, StoreError>;
    async fn get_run(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError>;
    /// Runs matching the filter, oldest first.
    async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>, StoreError>;
    /// Appends events; they arrive in sequence order and are never rewritten.
    async fn append_events(&self, run_id: &str, events: &[Event]) -> Result<(), StoreError>;
    /// `append_events` of the live log's own events (shared, not copied):
    /// what a running run writes as it goes. The default copies them.
    async fn append_live_events(
        &self,
        run_id: &str,
        events: &[Arc<Event>],
    ) -> Result<(), StoreError> {
        let events: Vec<Event> = events.iter().map(|e| (**e).clone()).collect();
        self.append_events(run_id, &events).await
    }
    /// Events with `seq > after`, in order.
    async fn events(&self, run_id: &str, after: u64) -> Result<Vec<Event>, StoreError>;

    /// A checkpoint of a run this process writes: appends `events` (as
    /// `append_events`) and replaces its record (as `put_run`) in one step,
    /// so a run's checkpoint costs one round trip to the store, not two.
    /// The events are the live log's own and the record is handed over
    /// shared, neither copied nor encoded up front: runs that end together
    /// wait for a single-writer store holding one copy of each, and a
    /// backend encodes them when it writes. The default does the two writes
    /// in turn; backends do them at once.
    async fn save_run(&self, run: Arc<RunRecord>, events: &[Arc<Event>]) -> Result<(), StoreError> {
        let events: Vec<Event> = events.iter().map(|e| (**e).clone()).collect();
        self.append_events(&run.run_id, &events).await?;
        self.put_run(&run).await
    }

    /// Inserts a new run (as `create_run`) and, only when it was inserted,
    /// writes its session (as `put_session`), in one step: starting a run
    /// costs one round trip to the store, and a refused run leaves no trace.
    /// The default does the two writes in turn; backends do them at once.
    async fn create_run_in_session(
        &self,
        run: &RunRecord,
        session: &SessionRecord,
    ) -> Result<bool, StoreError> {
        if !self.create_run(run).await? {
            return Ok(false);
        }
        self.put_session(session).await?;
        Ok(true)
    }

    async fn put_session(&self, session: &SessionRecord) -> Result<(), StoreError>;
    /// Inserts a new session; false (nothing written) when one with its id
    /// exists already. Two processes creating the same id: exactly one wins.
    async fn create_session(&self, session: &SessionRecord) -> Result<bool, StoreError>;
    async fn get_session(&self, session_id: &str) -> Result<Option<SessionRecord>, StoreError>;
    /// One page of the sessions matching the filter, in the filter's order
    /// (ties broken by session id).
    async fn list_sessions(&self, filter: &SessionFilter)
    -> Result<Vec<SessionRecord>, StoreError>;
    /// How many sessions match the filter, paging ignored.
    async fn count_sessions(&self, filter: &SessionFilter) -> Result<u64, StoreError>;
    /// Deletes a session with its runs and their events.
    async fn delete_session(&self, session_id: &str) -> Result<bool, StoreError>;

    /// Whether the store answers at all (for readiness checks).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Whether the store takes writes: one small write on the path runs'
    /// writes take (readiness; a store that answers reads may still refuse
    /// every write, as a full disk does). The default, for a store with
    /// nothing to fill, asks `ping`.
    async fn probe_write(&self) -> Result<(), StoreError> {
        self.ping().await
    }

    /// Makes this process the writer of a run whose status is still `from`
    /// (a paused run being resumed or cancelled), writing `run` and `events`
    /// with it in one step. False (nothing written) when the run is no longer
    /// `from`: someone else took it first. Clears any cancel request.
    async fn take_run(
        &self,
        run: &RunRecord,
        from: RunStatus,
        events: &[Event],
    ) -> Result<bool, StoreError>;

    /// Records a new pending run together with the work order to start it
    /// (`job`, opaque to the store), for whichever process claims it. False
    /// (nothing written) when a run with its id exists already.
    async fn enqueue_run(
        &self,
        run: &RunRecord,
        job: &serde_json::Value,
    ) -> Result<bool, StoreError>;

    /// Takes the oldest queued run (or, with `run_id`, that one only) off the
    /// queue and makes this process its writer: each queued run goes to
    /// exactly one caller, however many processes ask at once.
    async fn claim_queued_run(
        &self,
        run_id: Option<&str>,
    ) -> Result<Option<(RunRecord, serde_json::Value)>, StoreError>;

    /// Records that a pending or running run should stop, for the process
    /// that runs it. False when the run is not in flight (or not found).
    /// Until the run ends, reads show it with `cancel_requested` set.
    async fn request_cancel(&self, run_id: &str) -> Result<bool, StoreError>;

    /// Whether a stop was asked for the run (see `request_cancel`).
    async fn cancel_requested(&self, run_id: &str) -> Result<bool, StoreError>;

    /// Counts one request under `key` in a sliding window of `window`,
    /// unless `limit` requests were counted in it already. Every process on
    /// the store counts against the same numbers.
    async fn hit_rate_limit(
        &self,
        key: &str,
        limit: u32,
        window: std::time::Duration,
    ) -> Result<RateDecision, StoreError>;

    /// Whether several processes may use this store at once (runs written
    /// elsewhere show up here, and signals say so).
    fn is_shared(&self) -> bool {
        false
    }

    /// Signals from other processes sharing the store; `None` for a store
    /// one process owns.
    fn signals(&self) -> Option<tokio::sync::broadcast::Receiver<StoreSignal>> {
        None
    }

    /// The in-flight (pending or running) runs whose owning process is gone,
    /// each handed to exactly one caller to end. The default suits a store
    /// one process owns: at start, every in-flight run it holds is orphaned.
    async fn claim_orphaned_runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        self.list_runs(&RunFilter {
            statuses: vec![RunStatus::Pending, RunStatus::Running],
            ..Default::default()
        })
        .await
    }

    /// The in-flight runs (pending or running, not queued) this process is
    /// the writer of: the sweeper fails those that no task drives here. The
    /// default suits a store one process owns, where that is every
    /// in-flight run not queued.
    async fn runs_in_flight_here(&self) -> Result<Vec<RunRecord>, StoreError> {
        self.claim_orphaned_runs().await
    }

    /// How often a serving process should look for orphaned runs; `None`
    /// (one process owns the store) means only once, at start.
    fn orphan_check_interval(&self) -> Option<std::time::Duration> {
        None
    }
}
