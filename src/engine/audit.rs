//! The audit trail: one log line per mutating action (a run created,
//! cancelled, a tool call approved or rejected, a session created, changed
//! or deleted), with who did it, what, on which ids, and how it ended.
//!
//! Written by the engine, where every adapter's actions pass, under the
//! tracing target `audit` so a deployment can route or filter it; with
//! `AGENTD_LOG_FORMAT=json` each is one JSON object whose fields are these.
//! Depends on the domain's `Principal` only.

use crate::domain::Principal;
use crate::domain::principal::AuthMethod;

/// One audited action's ids: whichever apply.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Ids<'a> {
    pub run_id: Option<&'a str>,
    pub session_id: Option<&'a str>,
    pub agent_id: Option<&'a str>,
    pub call_id: Option<&'a str>,
}

/// How a principal is named in the trail: its user (within its tenant),
/// else the key or method that authenticated it.
fn who(p: &Principal) -> String {
    match (&p.user, &p.method) {
        (Some(_), _) => p.caller_id(),
        (None, AuthMethod::Open) => "open".into(),
        (None, _) => p.caller_id(),
    }
}

/// Writes one audit line. `outcome`: "ok", or the failure's wording.
pub(super) fn record(principal: &Principal, action: &str, ids: Ids<'_>, outcome: &str) {
    tracing::info!(
        target: "audit",
        principal = %who(principal),
        tenant = principal.tenant.as_deref(),
        admin = principal.admin,
        action,
        run_id = ids.run_id,
        session_id = ids.session_id,
        agent_id = ids.agent_id,
        call_id = ids.call_id,
        outcome,
        "audit"
    );
}

/// `record` of an action's result: "ok" or the error it ended with.
pub(super) fn result<T, E: std::fmt::Display>(
    principal: &Principal,
    action: &str,
    ids: Ids<'_>,
    outcome: &Result<T, E>,
) {
    match outcome {
        Ok(_) => record(principal, action, ids, "ok"),
        Err(e) => record(principal, action, ids, &e.to_string()),
    }
}

/// `result` of a run's creation (foreground or queued): the agent, and the
/// run and session ids when it was made.
pub(super) fn run_created<T, E: std::fmt::Display>(
    principal: &Principal,
    agent_id: &str,
    made: Option<(&str, &str)>,
    outcome: &Result<T, E>,
) {
    let ids = Ids {
        run_id: made.map(|(run, _)| run),
        session_id: made.map(|(_, session)| session),
        agent_id: Some(agent_id),
        ..Default::default()
    };
    result(principal, "run.created", ids, outcome);
}
