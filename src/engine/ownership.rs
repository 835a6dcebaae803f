//! Who may see and do what, decided once for every adapter: the agents
//! and teams a principal may run (and list), the runs it sees, and the
//! owner a new run is stamped with.
//!
//! Every read and change of a run or session through the engine passes a
//! `Principal`; a record the principal does not see answers exactly as an
//! unknown id does (no existence oracle). The rule itself is the domain's
//! (`Principal::sees`, `Principal::visible`); this file applies it. Never
//! depends on a protocol or HTTP.

use super::{Engine, EngineError, RunRecord, RunRequest};
use crate::config::{AgentConfig, TeamConfig};
use crate::domain::Principal;

impl Engine {
    /// The agents this principal may run: what every listing of agents
    /// shows it (AgentOS /agents and /config, ACP /agents, A2A cards, MCP
    /// tools, the UI's picker).
    pub fn agents_for<'a>(&'a self, principal: &Principal) -> Vec<&'a AgentConfig> {
        self.config
            .agents
            .iter()
            .filter(|a| principal.may_run(a.allowed_scopes.as_deref()))
            .collect()
    }

    /// The teams this principal may run (see `agents_for`).
    pub fn teams_for<'a>(&'a self, principal: &Principal) -> Vec<&'a TeamConfig> {
        self.config
            .teams
            .iter()
            .filter(|t| principal.may_run(t.allowed_scopes.as_deref()))
            .collect()
    }

    /// One agent, if it exists and the principal may run it: an agent it
    /// may not run is absent for it, as from its listings.
    pub fn agent_for(&self, principal: &Principal, id: &str) -> Option<&AgentConfig> {
        self.agent(id)
            .filter(|a| principal.may_run(a.allowed_scopes.as_deref()))
    }

    /// One team, if it exists and the principal may run it.
    pub fn team_for(&self, principal: &Principal, id: &str) -> Option<&TeamConfig> {
        self.team(id)
            .filter(|t| principal.may_run(t.allowed_scopes.as_deref()))
    }

    /// Whether an agent or team with this id exists and this principal
    /// may run it.
    pub fn is_runnable_by(&self, principal: &Principal, id: &str) -> bool {
        self.agent_for(principal, id).is_some() || self.team_for(principal, id).is_some()
    }

    /// What a principal must be allowed before a run of `req` is made:
    /// the agent or team (403 when its `allowed_scopes` exclude the
    /// caller; an unknown one is left to `resolve`'s 404), and a client's
    /// `user_id` that names someone else (a user may only name itself; an
    /// admin anyone).
    pub(super) fn admit(&self, principal: &Principal, req: &RunRequest) -> Result<(), EngineError> {
        let allowed = match (self.agent(&req.agent_id), self.team(&req.agent_id)) {
            (Some(a), _) => a.allowed_scopes.as_deref(),
            (None, Some(t)) => t.allowed_scopes.as_deref(),
            (None, None) => None,
        };
        if !principal.may_run(allowed) {
            return Err(EngineError::Forbidden(format!(
                "you may not run '{}'",
                req.agent_id
            )));
        }
        names_only_self(principal, req.user_id.as_deref())
    }

    /// The run's record, live or stored, if the principal sees it; else
    /// `RunNotFound`, the same as for an id that does not exist.
    pub(super) async fn visible_run(
        &self,
        principal: &Principal,
        run_id: &str,
    ) -> Result<RunRecord, EngineError> {
        let record = match self.live_run(run_id) {
            Some(live) => Some(live.record()),
            None => self.store.get_run(run_id).await?,
        };
        record
            .filter(|r| principal.sees(r.owner.as_ref()))
            .ok_or_else(|| EngineError::RunNotFound(run_id.to_string()))
    }

    /// `RunNotFound` unless the run exists and the principal sees it; a
    /// live run is checked without copying its record.
    pub(super) async fn check_run(
        &self,
        principal: &Principal,
        run_id: &str,
    ) -> Result<(), EngineError> {
        if let Some(live) = self.live_run(run_id) {
            if principal.sees(live.lock().record.owner.as_ref()) {
                return Ok(());
            }
            return Err(EngineError::RunNotFound(run_id.to_string()));
        }
        self.visible_run(principal, run_id).await.map(drop)
    }
}

/// A client-sent `user_id` (a run's or a new session's) may name only the
/// caller's own user, unless the caller is an admin: nobody acts for
/// someone else by writing their name in a form.
pub(super) fn names_only_self(
    principal: &Principal,
    user_id: Option<&str>,
) -> Result<(), EngineError> {
    if let (Some(asked), Some(me)) = (user_id, principal.user.as_deref())
        && !principal.admin
        && asked != me
    {
        return Err(EngineError::Forbidden(
            "user_id must be absent or your own user".into(),
        ));
    }
    Ok(())
}
