//! Finding runs: the runs live in this process (registered while their task
//! runs), and reads that prefer a live run's record over the stored one.

use std::sync::Arc;

use super::live::{EventStream, LiveRun};
use super::{Engine, EngineError, Event, RunRecord, RunStatus};
use crate::domain::Principal;

impl Engine {
    pub(super) fn live_run(&self, run_id: &str) -> Option<Arc<LiveRun>> {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(run_id)
            .cloned()
    }

    /// Registers a live run; fails if one with that id is live already.
    pub(super) fn register(&self, run_id: &str, live: Arc<LiveRun>) -> Result<(), EngineError> {
        let mut map = self.live.lock().unwrap_or_else(|p| p.into_inner());
        if map.contains_key(run_id) {
            return Err(EngineError::RunExists(run_id.to_string()));
        }
        map.insert(run_id.to_string(), live);
        Ok(())
    }

    pub(super) fn unregister(&self, run_id: &str) {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(run_id);
    }

    /// The live run, unless it has already ended or paused: subscribers learn
    /// of that as soon as it is emitted, while the task is still saving the
    /// run, so a quick resume or cancel waits for the task to let go and
    /// then finds the run, as it was left, in the store.
    pub(super) async fn live_unless_settled(&self, run_id: &str) -> Option<Arc<LiveRun>> {
        let live = self.live_run(run_id)?;
        if live.lock().open {
            return Some(live);
        }
        live.settled.cancelled().await;
        None
    }

    /// The run's current record, live or stored, if the principal sees it
    /// (another user's run is `None`, as an unknown one).
    pub async fn get_run(
        &self,
        principal: &Principal,
        run_id: &str,
    ) -> Result<Option<RunRecord>, EngineError> {
        match self.visible_run(principal, run_id).await {
            Ok(run) => Ok(Some(run)),
            Err(EngineError::RunNotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The run's current record, live or stored, whoever owns it.
    pub(super) async fn run_record(&self, run_id: &str) -> Result<Option<RunRecord>, EngineError> {
        if let Some(live) = self.live_run(run_id) {
            return Ok(Some(live.record()));
        }
        Ok(self.store.get_run(run_id).await?)
    }

    /// Events with `seq > after`: replay, then live while the run goes on.
    /// Another user's run is `RunNotFound`, as an unknown one.
    pub async fn subscribe(
        &self,
        principal: &Principal,
        run_id: &str,
        after: u64,
    ) -> Result<EventStream, EngineError> {
        self.check_run(principal, run_id).await?;
        if let Some(live) = self.live_run(run_id) {
            return Ok(live.subscribe(after, false));
        }
        let Some(record) = self.store.get_run(run_id).await? else {
            return Err(EngineError::RunNotFound(run_id.to_string()));
        };
        let events = self.store.events(run_id, after).await?;
        // In flight but not live here: queued, or another replica runs it.
        if matches!(record.status, RunStatus::Pending | RunStatus::Running) {
            return Ok(self.tail(run_id, after, events));
        }
        let mut events = events;
        // An ended run's stream ends with its terminal event, whatever the
        // client said it had seen (see `LiveRun::subscribe`).
        if record.status.is_terminal() && !events.last().is_some_and(|e| e.kind.ends_stream()) {
            let log = self.store.events(run_id, 0).await?;
            events.extend(log.into_iter().last().filter(|e| e.kind.ends_stream()));
        }
        Ok(EventStream::from_events(events))
    }

    /// Every event the run has recorded so far, in order, without waiting
    /// for more: event-log listings and state folds of a run in progress.
    pub async fn event_log(
        &self,
        principal: &Principal,
        run_id: &str,
    ) -> Result<Vec<Event>, EngineError> {
        self.check_run(principal, run_id).await?;
        if let Some(live) = self.live_run(run_id) {
            return Ok(live.log().await?);
        }
        if self.store.get_run(run_id).await?.is_none() {
            return Err(EngineError::RunNotFound(run_id.to_string()));
        }
        Ok(self.store.events(run_id, 0).await?)
    }

    /// Runs of a session (or all), oldest first: those the principal sees.
    pub async fn list_runs(
        &self,
        principal: &Principal,
        filter: &crate::store::RunFilter,
    ) -> Result<Vec<RunRecord>, EngineError> {
        let filter = crate::store::RunFilter {
            visible: principal.visible(),
            ..filter.clone()
        };
        self.list_all_runs(&filter).await
    }

    /// Runs matching the filter, whoever owns them, live records over stored.
    pub(super) async fn list_all_runs(
        &self,
        filter: &crate::store::RunFilter,
    ) -> Result<Vec<RunRecord>, EngineError> {
        let mut runs = self.store.list_runs(filter).await?;
        for run in &mut runs {
            if let Some(live) = self.live_run(&run.run_id) {
                *run = live.record();
            }
        }
        Ok(runs)
    }
}
