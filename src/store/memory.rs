//! An in-memory store for throwaway use and tests: everything is lost on exit.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use super::{RateDecision, RunFilter, SessionFilter, SessionSort, Store, StoreError};
use crate::domain::{Event, RunRecord, RunStatus, SessionRecord, now_ms};

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
    /// Queued runs (id and work order), oldest first.
    queue: VecDeque<(String, Value)>,
    /// Runs asked to stop while in flight.
    cancels: HashSet<String>,
    /// Rate-limit hits per key (Unix milliseconds), oldest first.
    hits: HashMap<String, VecDeque<i64>>,
}

impl Inner {
    /// The run as readers see it: with a pending cancel request showing.
    fn read(&self, run: &RunRecord) -> RunRecord {
        let mut run = run.clone();
        if in_flight(run.status) && self.cancels.contains(&run.run_id) {
            run.cancel_requested = true;
        }
        run
    }

    fn insert_run(&mut self, run: &RunRecord) {
        let order = match self.runs.get(&run.run_id) {
            Some((order, _)) => *order,
            None => {
                self.inserted += 1;
                self.inserted
            }
        };
        self.runs.insert(run.run_id.clone(), (order, run.clone()));
    }
}

fn in_flight(status: RunStatus) -> bool {
    matches!(status, RunStatus::Pending | RunStatus::Running)
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
        self.lock().insert_run(run);
        Ok(())
    }

    async fn create_run(&self, run: &RunRecord) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        if inner.runs.contains_key(&run.run_id) {
            return Ok(false);
        }
        inner.insert_run(run);
        Ok(true)
    }

    async fn get_run(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError> {
        let inner = self.lock();
        Ok(inner.runs.get(run_id).map(|(_, r)| inner.read(r)))
    }

    async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>, StoreError> {
        let inner = self.lock();
        let mut runs: Vec<(u64, RunRecord)> = inner
            .runs
            .values()
            .filter(|(_, r)| filter.matches(r))
            .map(|(order, r)| (*order, inner.read(r)))
            .collect();
        runs.sort_by_key(|(order, r)| (r.created_at, *order));
        if let Some(newest) = filter.newest {
            runs.drain(..runs.len().saturating_sub(newest));
        }
        Ok(runs.into_iter().map(|(_, r)| r).collect())
    }

    async fn append_events(&self, run_id: &str, events: &[Event]) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let log = inner.events.entry(run_id.to_string()).or_default();
        let last = log.last().map_or(0, |e| e.seq);
        log.extend(events.iter().filter(|e| e.seq > last).cloned());
        Ok(())
    }

    async fn save_run(&self, run: Arc<RunRecord>, events: &[Arc<Event>]) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let log = inner.events.entry(run.run_id.clone()).or_default();
        let last = log.last().map_or(0, |e| e.seq);
        log.extend(
            events
                .iter()
                .filter(|e| e.seq > last)
                .map(|e| (**e).clone()),
        );
        inner.insert_run(&run);
        Ok(())
    }

    async fn create_run_in_session(
        &self,
        run: &RunRecord,
        session: &SessionRecord,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        if inner.runs.contains_key(&run.run_id) {
            return Ok(false);
        }
        inner.insert_run(run);
        inner
            .sessions
            .insert(session.session_id.clone(), session.clone());
        Ok(true)
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

    async fn create_session(&self, session: &SessionRecord) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        if inner.sessions.contains_key(&session.session_id) {
            return Ok(false);
        }
        inner
            .sessions
            .insert(session.session_id.clone(), session.clone());
        Ok(true)
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
            inner.cancels.remove(&id);
            inner.queue.retain(|(queued, _)| queued != &id);
        }
        Ok(existed)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn take_run(
        &self,
        run: &RunRecord,
        from: RunStatus,
        events: &[Event],
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        if inner.runs.get(&run.run_id).map(|(_, r)| r.status) != Some(from) {
            return Ok(false);
        }
        inner.insert_run(run);
        inner.cancels.remove(&run.run_id);
        let log = inner.events.entry(run.run_id.clone()).or_default();
        let last = log.last().map_or(0, |e| e.seq);
        log.extend(events.iter().filter(|e| e.seq > last).cloned());
        Ok(true)
    }

    async fn enqueue_run(&self, run: &RunRecord, job: &Value) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        if inner.runs.contains_key(&run.run_id) {
            return Ok(false);
        }
        inner.insert_run(run);
        inner.queue.push_back((run.run_id.clone(), job.clone()));
        Ok(true)
    }

    async fn claim_queued_run(
        &self,
        run_id: Option<&str>,
    ) -> Result<Option<(RunRecord, Value)>, StoreError> {
        let mut inner = self.lock();
        loop {
            let at = match run_id {
                Some(id) => inner.queue.iter().position(|(queued, _)| queued == id),
                None => (!inner.queue.is_empty()).then_some(0),
            };
            let Some((id, job)) = at.and_then(|i| inner.queue.remove(i)) else {
                return Ok(None);
            };
            // A queued run whose session was deleted is simply dropped.
            if let Some((_, run)) = inner.runs.get(&id) {
                return Ok(Some((inner.read(run), job)));
            }
        }
    }

    async fn request_cancel(&self, run_id: &str) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let flying = inner
            .runs
            .get(run_id)
            .is_some_and(|(_, r)| in_flight(r.status));
        if flying {
            inner.cancels.insert(run_id.to_string());
        }
        Ok(flying)
    }

    async fn cancel_requested(&self, run_id: &str) -> Result<bool, StoreError> {
        Ok(self.lock().cancels.contains(run_id))
    }

    /// Every in-flight run (one process owns this store) but the queued ones.
    async fn claim_orphaned_runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        let inner = self.lock();
        let mut runs: Vec<(u64, RunRecord)> = inner
            .runs
            .values()
            .filter(|(_, r)| in_flight(r.status))
            .filter(|(_, r)| !inner.queue.iter().any(|(id, _)| id == &r.run_id))
            .map(|(order, r)| (*order, inner.read(r)))
            .collect();
        runs.sort_by_key(|(order, r)| (r.created_at, *order));
        Ok(runs.into_iter().map(|(_, r)| r).collect())
    }

    async fn hit_rate_limit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<RateDecision, StoreError> {
        let now = now_ms();
        let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        let mut inner = self.lock();
        // Forget keys whose window has fully passed, so the map stays small.
        inner
            .hits
            .retain(|_, log| log.back().is_some_and(|t| now - t < window_ms));
        let log = inner.hits.entry(key.to_string()).or_default();
        while log.front().is_some_and(|t| now - t >= window_ms) {
            log.pop_front();
        }
        if log.len() >= limit.max(1) as usize {
            let oldest = log.front().copied().unwrap_or(now);
            let wait = (oldest + window_ms - now).max(0) as u64;
            return Ok(RateDecision::Refused(Duration::from_millis(wait)));
        }
        log.push_back(now);
        Ok(RateDecision::Allowed)
    }
}
