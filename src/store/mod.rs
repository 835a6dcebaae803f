//! Persistence behind one trait: runs, their event logs, and sessions.
//!
//! The engine talks only to `Store`; backends (memory, SQLite, and
//! PostgreSQL behind the same trait) never see HTTP or protocol types.
//! `open` builds the backend the config names.

pub mod memory;

/// How the SQL backends keep records: one JSON document per row.
pub(crate) mod codec {
    use serde::Serialize;
    use serde::de::DeserializeOwned;

    use super::StoreError;

    pub fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
        serde_json::to_string(value).map_err(|e| StoreError::Unavailable(format!("encode: {e}")))
    }

    /// A record that no longer decodes is corruption, not unavailability.
    pub fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, StoreError> {
        serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("stored record: {e}")))
    }
}
pub mod postgres;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;

use crate::config::{StoreConfig, StoreKind};
use crate::engine::{Event, Message, RunRecord, RunStatus, SessionRecord};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store data corrupt: {0}")]
    Corrupt(String),
}

/// Filters for listing runs; unset fields match everything.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub session_id: Option<String>,
    pub agent_id: Option<String>,
    /// Runs in any of these states; empty matches every state.
    pub statuses: Vec<RunStatus>,
}

impl RunFilter {
    pub fn matches(&self, run: &RunRecord) -> bool {
        self.session_id
            .as_ref()
            .is_none_or(|s| &run.session_id == s)
            && self.agent_id.as_ref().is_none_or(|a| &run.agent_id == a)
            && (self.statuses.is_empty() || self.statuses.contains(&run.status))
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
    }
}

/// The last `limit` messages, never starting with tool results whose call
/// was cut off.
pub fn trim_history(mut messages: Vec<Message>, limit: usize) -> Vec<Message> {
    let skip = messages.len().saturating_sub(limit);
    messages.drain(..skip);
    let orphans = messages
        .iter()
        .take_while(|m| m.role == crate::engine::Role::Tool)
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

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Inserts or replaces a run record.
    async fn put_run(&self, run: &RunRecord) -> Result<(), StoreError>;
    async fn get_run(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError>;
    /// Runs matching the filter, oldest first.
    async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>, StoreError>;
    /// Appends events; they arrive in sequence order and are never rewritten.
    async fn append_events(&self, run_id: &str, events: &[Event]) -> Result<(), StoreError>;
    /// Events with `seq > after`, in order.
    async fn events(&self, run_id: &str, after: u64) -> Result<Vec<Event>, StoreError>;

    async fn put_session(&self, session: &SessionRecord) -> Result<(), StoreError>;
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

    /// How often a serving process should look for orphaned runs; `None`
    /// (one process owns the store) means only once, at start.
    fn orphan_check_interval(&self) -> Option<std::time::Duration> {
        None
    }
}
