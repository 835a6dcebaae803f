//! Sessions: the one door through which adapters read and change them
//! (listing, reading, creating, saving, deleting), the history a new run
//! continues from, and a session's paused runs.
//!
//! Adapters never reach the store: every session read or write goes
//! through a method here that takes a `SessionScope`, so who may see which
//! sessions is decided in this file and nowhere else.

use std::sync::Arc;

use super::live::LiveRun;
use super::{Engine, EngineError, Message, Role, RunRecord, RunRequest, RunStatus, SessionRecord};
use crate::store::SessionFilter;

/// What deleting a session found.
#[derive(Debug, PartialEq, Eq)]
pub enum SessionDeletion {
    Deleted,
    NotFound,
    /// A run of the session is in progress; nothing was deleted.
    Busy {
        run_id: String,
    },
}

/// Whose sessions a call may see and change. Today every caller sees every
/// session; per-user ownership narrows this in one place (`admits`), and
/// the adapters that build a scope say who is asking.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionScope {}

impl SessionScope {
    /// Every session: the server's own view, and every caller's until
    /// sessions have owners.
    pub fn all() -> Self {
        Self {}
    }

    /// Whether a session is within this scope.
    fn admits(&self, _session: &SessionRecord) -> bool {
        true
    }
}

impl Engine {
    /// Sessions matching `filter`, in its order and page.
    pub async fn sessions(
        &self,
        scope: &SessionScope,
        filter: &SessionFilter,
    ) -> Result<Vec<SessionRecord>, EngineError> {
        let mut sessions = self.store.list_sessions(filter).await?;
        sessions.retain(|s| scope.admits(s));
        Ok(sessions)
    }

    /// How many sessions match `filter`, ignoring its page.
    pub async fn count_sessions(
        &self,
        _scope: &SessionScope,
        filter: &SessionFilter,
    ) -> Result<u64, EngineError> {
        Ok(self.store.count_sessions(filter).await?)
    }

    /// One session, if it exists and is within the scope.
    pub async fn session(
        &self,
        scope: &SessionScope,
        session_id: &str,
    ) -> Result<Option<SessionRecord>, EngineError> {
        Ok(self
            .store
            .get_session(session_id)
            .await?
            .filter(|s| scope.admits(s)))
    }

    /// Records a new session; false when its id is taken.
    pub async fn create_session(
        &self,
        scope: &SessionScope,
        session: &SessionRecord,
    ) -> Result<bool, EngineError> {
        if !scope.admits(session) {
            return Ok(false);
        }
        Ok(self.store.create_session(session).await?)
    }

    /// Writes a session as given (renamed, its state or metadata changed),
    /// creating it when it is new.
    pub async fn save_session(
        &self,
        scope: &SessionScope,
        session: &SessionRecord,
    ) -> Result<(), EngineError> {
        if !scope.admits(session) {
            return Err(EngineError::InvalidInput(format!(
                "session '{}' is not yours to change",
                session.session_id
            )));
        }
        Ok(self.store.put_session(session).await?)
    }

    /// The session as a new run leaves it: created on its first run, else
    /// with its latest activity noted.
    pub(super) async fn session_for_run(
        &self,
        session_id: &str,
        new_session: bool,
        agent_id: &str,
        req: &RunRequest,
        now: i64,
    ) -> Result<SessionRecord, EngineError> {
        let first_text = req
            .input
            .iter()
            .find(|m| m.role == Role::User)
            .map(|m| m.text.clone());
        let stored = if new_session {
            None
        } else {
            self.store.get_session(session_id).await?
        };
        let session = match stored {
            Some(mut s) => {
                s.updated_at = now;
                if s.name.is_none() {
                    s.name = first_text;
                }
                s
            }
            None => SessionRecord {
                session_id: session_id.to_string(),
                agent_id: Some(agent_id.to_string()),
                user_id: req.user_id.clone(),
                name: first_text,
                state: None,
                metadata: None,
                created_at: now,
                updated_at: now,
            },
        };
        Ok(session)
    }

    /// The session's history for its next run: the messages of its completed
    /// runs, trimmed to `engine.history_messages`. A run that has just ended
    /// may not be saved yet, so live records count over stored ones: a
    /// client that sends its next message the moment it got an answer still
    /// continues the conversation.
    pub(super) async fn session_history(
        &self,
        session_id: &str,
    ) -> Result<Vec<Message>, EngineError> {
        let mut runs = self
            .store
            .list_runs(&crate::store::RunFilter {
                session_id: Some(session_id.to_string()),
                statuses: vec![RunStatus::Completed],
                ..Default::default()
            })
            .await?;
        let live: Vec<RunRecord> = self
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            // Compare before cloning: records carry whole transcripts.
            .filter(|l| l.lock().record.session_id == session_id)
            .map(|l| l.record())
            .collect();
        runs.retain(|r| !live.iter().any(|l| l.run_id == r.run_id));
        runs.extend(
            live.into_iter()
                .filter(|r| r.status == RunStatus::Completed),
        );
        // Member runs of a team are the team's business, not the session's.
        runs.retain(|r| r.parent_run_id.is_none());
        // Stable: stored runs keep the store's order among equal timestamps.
        runs.sort_by_key(|r| r.created_at);
        Ok(crate::store::trim_history(
            runs.into_iter().flat_map(|r| r.messages).collect(),
            self.config.engine.history_messages,
        ))
    }

    /// Deletes a session with its runs and their events, unless one of its
    /// runs is still going (its task would write it back): that run has to
    /// end first. Runs that have just ended or paused are waited for, so
    /// their final save cannot bring them back after the delete.
    pub async fn delete_session(
        &self,
        scope: &SessionScope,
        session_id: &str,
    ) -> Result<SessionDeletion, EngineError> {
        // Out of scope reads as absent (every session is in scope today, so
        // the read is skipped until one can be out of it).
        if *scope != SessionScope::all() && self.session(scope, session_id).await?.is_none() {
            return Ok(SessionDeletion::NotFound);
        }
        let lives: Vec<Arc<LiveRun>> = self
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|l| l.lock().record.session_id == session_id)
            .cloned()
            .collect();
        for live in &lives {
            let run = live.record();
            if !run.status.is_terminal() && run.status != RunStatus::Awaiting {
                return Ok(SessionDeletion::Busy { run_id: run.run_id });
            }
        }
        for live in lives {
            live.settled.cancelled().await;
        }
        // Queued, or running on another replica sharing the store.
        let elsewhere = self
            .store
            .list_runs(&crate::store::RunFilter {
                session_id: Some(session_id.to_string()),
                statuses: vec![RunStatus::Pending, RunStatus::Running],
                ..Default::default()
            })
            .await?;
        if let Some(run) = elsewhere.into_iter().next() {
            return Ok(SessionDeletion::Busy { run_id: run.run_id });
        }
        Ok(if self.store.delete_session(session_id).await? {
            SessionDeletion::Deleted
        } else {
            SessionDeletion::NotFound
        })
    }

    /// The paused run of a session that waits on one of these tool calls,
    /// for clients that answer a pause by naming its calls rather than the
    /// run (AG-UI interrupts). The newest such run wins.
    pub async fn awaiting_run_for_calls(
        &self,
        session_id: &str,
        call_ids: &[String],
    ) -> Result<Option<RunRecord>, EngineError> {
        let runs = self
            .list_runs(&crate::store::RunFilter {
                session_id: Some(session_id.to_string()),
                statuses: vec![RunStatus::Awaiting],
                ..Default::default()
            })
            .await?;
        Ok(runs.into_iter().rev().find(|r| {
            r.status == RunStatus::Awaiting
                && r.pending.iter().any(|p| call_ids.contains(&p.call_id))
        }))
    }
}
