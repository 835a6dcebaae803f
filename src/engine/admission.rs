//! Admission: what is checked before a run may take a place, and the place
//! it takes. A request names something runnable with a model and some
//! input; a top-level run then takes a slot under
//! `server.max_concurrent_runs` and its caller's own limit, refused with a
//! retry hint when none is free, and given back when the run's task ends.
//!
//! Refusing here leaves no trace. The one store call is a rate window an
//! adapter counts requests in (Codegen's create limit), kept in the store
//! so every replica counts against the same window.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{CallerCounts, Engine, EngineError, RunCaller, RunRequest, metrics, team};
use crate::config::{AgentConfig, TeamConfig};
use crate::models::Model;
use crate::store::RateDecision;

/// What a run request runs on: the agent (or a team's leader), the team,
/// and the model.
type Resolved = (AgentConfig, Option<TeamConfig>, Arc<dyn Model>);

/// What a client refused by the run limit is told to wait before retrying.
const RETRY_AFTER_SECS: u64 = 2;

/// A top-level run's place under `server.max_concurrent_runs` and its
/// caller's limit, given back when the run's task ends (or when it fails to
/// start).
pub(super) struct RunSlot {
    active: Arc<AtomicUsize>,
    caller: Option<(CallerCounts, String)>,
    /// Told when the place is given back: a queued run may be waiting for it.
    wake: Option<Arc<tokio::sync::Notify>>,
}

impl RunSlot {
    /// Gives the place back without waking the queue worker: the worker
    /// itself took it to look for work and found none.
    pub(super) fn release_quietly(mut self) {
        self.wake = None;
    }
}

impl Drop for RunSlot {
    fn drop(&mut self) {
        if let Some((counts, id)) = &self.caller {
            let mut counts = counts.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(n) = counts.get_mut(id) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    counts.remove(id);
                }
            }
        }
        let left = self.active.fetch_sub(1, Ordering::SeqCst) - 1;
        metrics::active_runs(left);
        if let Some(wake) = &self.wake {
            wake.notify_one();
        }
    }
}

impl Engine {
    /// Counts one request against `key`'s window of `limit` requests per
    /// `window`, and says whether it is allowed.
    pub async fn hit_rate_limit(
        &self,
        key: &str,
        limit: u32,
        window: std::time::Duration,
    ) -> Result<RateDecision, EngineError> {
        Ok(self.store.hit_rate_limit(key, limit, window).await?)
    }

    /// Whether a graceful shutdown has begun (no new runs start).
    pub fn is_draining(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Top-level runs live right now.
    pub fn active_runs(&self) -> usize {
        self.active.load(Ordering::SeqCst)
    }

    /// Top-level runs of this caller live right now.
    pub fn active_runs_of(&self, caller_id: &str) -> usize {
        self.per_caller
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(caller_id)
            .copied()
            .unwrap_or(0)
    }

    /// Takes a run slot, or says why not (a limit reached, shutting down).
    pub(super) fn acquire_slot(&self, caller: Option<&RunCaller>) -> Result<RunSlot, EngineError> {
        if self.stopping.load(Ordering::SeqCst) {
            return Err(EngineError::ShuttingDown);
        }
        // The caller's count first, under its lock: a refusal there must not
        // have taken a global slot.
        let mut counts = self.per_caller.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = caller {
            let mine = counts.get(&c.id).copied().unwrap_or(0);
            if c.max_concurrent_runs > 0 && mine >= c.max_concurrent_runs {
                return Err(EngineError::TooManyRuns {
                    limit: c.max_concurrent_runs,
                    per_caller: true,
                    retry_after_secs: RETRY_AFTER_SECS,
                });
            }
        }
        let limit = self.config.server.max_concurrent_runs;
        let taken = self
            .active
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (limit == 0 || n < limit).then_some(n + 1)
            })
            .map_err(|_| EngineError::TooManyRuns {
                limit,
                per_caller: false,
                retry_after_secs: RETRY_AFTER_SECS,
            })?;
        metrics::active_runs(taken + 1);
        let caller = caller.map(|c| {
            *counts.entry(c.id.clone()).or_insert(0) += 1;
            (self.per_caller.clone(), c.id.clone())
        });
        Ok(RunSlot {
            active: self.active.clone(),
            caller,
            wake: Some(self.queue_wake.clone()),
        })
    }

    /// The agent to run for an id, and its team when the id names a team
    /// (the team's leader runs as an agent with the team's instructions).
    pub(super) fn runnable(&self, id: &str) -> Option<(AgentConfig, Option<TeamConfig>)> {
        if let Some(agent) = self.agent(id) {
            return Some((agent.clone(), None));
        }
        let team = self.team(id)?;
        Some((team::leader(team, &self.config), Some(team.clone())))
    }

    /// The agent (or team leader) and model a request runs on, and whether
    /// it has input: what is checked before a run slot is taken.
    pub(super) fn resolve(&self, req: &RunRequest) -> Result<Resolved, EngineError> {
        let (agent, team) = self
            .runnable(&req.agent_id)
            .ok_or_else(|| EngineError::AgentNotFound(req.agent_id.clone()))?;
        let model = self.run_model(&agent, req.model.as_deref())?;
        if req.input.is_empty() && req.history.as_ref().is_none_or(Vec::is_empty) {
            return Err(EngineError::InvalidInput(
                "the run has no input message".into(),
            ));
        }
        Ok((agent, team, model))
    }

    /// The model of a run: the per-run override (a `[models]` key), else the agent's.
    pub(super) fn run_model(
        &self,
        agent: &AgentConfig,
        key: Option<&str>,
    ) -> Result<Arc<dyn Model>, EngineError> {
        match key {
            Some(key) => self
                .models
                .get(key)
                .ok_or_else(|| EngineError::InvalidInput(format!("unknown model '{key}'"))),
            None => self
                .agent_model(agent)
                .ok_or_else(|| EngineError::AgentNotFound(agent.id.clone())),
        }
    }
}
