//! An in-memory store for throwaway use and tests: everything is lost on exit.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{RunFilter, SessionFilter, SessionSort, Store, StoreError};
use crate::engine::{Event, RunRecord, SessionRecord};

#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Each run with its insertion number: runs created in the same
    /// millisecond still list in the order they were created.
    runs: HashMap<String, (u64, RunRecord)>,
    inserted: u64,
    events: HashMap<String, Vec<Event>>,
    sessions: HashMap<String, SessionRecord>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-written
        // (every mutation is a single insert/remove), so poisoning is ignored.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn put_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let order = match inner.runs.get(&run.run_id) {
            Some((order, _)) => *order,
            None => {
                inner.inserted += 1;
                inner.inserted
            }
        };
        inner.runs.insert(run.run_id.clone(), (order, run.clone()));
        Ok(())
    }

    async fn get_run(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError> {
        Ok(self.lock().runs.get(run_id).map(|(_, r)| r.clone()))
    }

    async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>, StoreError> {
        let mut runs: Vec<(u64, RunRecord)> = self
            .lock()
            .runs
            .values()
            .filter(|(_, r)| filter.matches(r))
            .cloned()
            .collect();
        runs.sort_by_key(|(order, r)| (r.created_at, *order));
        Ok(runs.into_iter().map(|(_, r)| r).collect())
    }

    async fn append_events(&self, run_id: &str, events: &[Event]) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let log = inner.events.entry(run_id.to_string()).or_default();
        let last = log.last().map_or(0, |e| e.seq);
        log.extend(events.iter().filter(|e| e.seq > last).cloned());
        Ok(())
    }

    async fn events(&self, run_id: &str, after: u64) -> Result<Vec<Event>, StoreError> {
        Ok(self
            .lock()
            .events
            .get(run_id)
            .map(|log| log.iter().filter(|e| e.seq > after).cloned().collect())
            .unwrap_or_default())
    }

    async fn put_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        self.lock()
            .sessions
            .insert(session.session_id.clone(), session.clone());
        Ok(())
    }

    async fn get_session(&self, session_id: &str) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self.lock().sessions.get(session_id).cloned())
    }

    async fn list_sessions(
        &self,
        filter: &SessionFilter,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let mut sessions: Vec<SessionRecord> = self
            .lock()
            .sessions
            .values()
            .filter(|s| filter.matches(s))
            .cloned()
            .collect();
        sessions.sort_by(|a, b| {
            let order = match filter.sort {
                SessionSort::CreatedAt => a.created_at.cmp(&b.created_at),
                SessionSort::UpdatedAt => a.updated_at.cmp(&b.updated_at),
                SessionSort::Name => a
                    .name
                    .as_deref()
                    .unwrap_or("")
                    .cmp(b.name.as_deref().unwrap_or("")),
                SessionSort::Id => std::cmp::Ordering::Equal,
            }
            .then_with(|| a.session_id.cmp(&b.session_id));
            if filter.ascending {
                order
            } else {
                order.reverse()
            }
        });
        Ok(sessions
            .into_iter()
            .skip(filter.offset)
            .take(filter.limit.unwrap_or(usize::MAX))
            .collect())
    }

    async fn count_sessions(&self, filter: &SessionFilter) -> Result<u64, StoreError> {
        Ok(self
            .lock()
            .sessions
            .values()
            .filter(|s| filter.matches(s))
            .count() as u64)
    }

    async fn delete_session(&self, session_id: &str) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let existed = inner.sessions.remove(session_id).is_some();
        let run_ids: Vec<String> = inner
            .runs
            .values()
            .filter(|(_, r)| r.session_id == session_id)
            .map(|(_, r)| r.run_id.clone())
            .collect();
        for id in run_ids {
            inner.runs.remove(&id);
            inner.events.remove(&id);
        }
        Ok(existed)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
