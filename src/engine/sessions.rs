//! Sessions: the one door through which adapters read and change them
//! (listing, reading, creating, saving, deleting), the history a new run
//! continues from, and a session's paused runs.
//!
//! Adapters never reach the store: every session read or write goes
//! through a method here that takes the caller's `Principal`, so who sees
//! which sessions is decided here (by the domain's rule) and nowhere else.

use std::sync::Arc;

use super::audit;
use super::live::LiveRun;
use super::{Engine, EngineError, Message, Role, RunRecord, RunRequest, RunStatus, SessionRecord};
use crate::domain::Principal;
use crate::store::SessionFilter;

/// The filter narrowed to what the principal sees, whatever it asked.
fn scoped(principal: &Principal, filter: &SessionFilter) -> SessionFilter {
    SessionFilter {
        visible: principal.visible(),
        ..filter.clone()
    }
}

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

impl Engine {
    /// Sessions matching `filter`, in its order and page: of those the
    /// principal sees (the store narrows the query, so pages stay full).
    pub async fn sessions(
        &self,
        principal: &Principal,
        filter: &SessionFilter,
    ) -> Result<Vec<SessionRecord>, EngineError> {
        Ok(self.store.list_sessions(&scoped(principal, filter)).await?)
    }

    /// How many sessions the principal sees match `filter`, ignoring its page.
    pub async fn count_sessions(
        &self,
        principal: &Principal,
        filter: &SessionFilter,
    ) -> Result<u64, EngineError> {
        Ok(self
            .store
            .count_sessions(&scoped(principal, filter))
            .await?)
    }

    /// One session, if it exists and the principal sees it (another
    /// user's session is `None`, as an unknown one).
    pub async fn session(
        &self,
        principal: &Principal,
        session_id: &str,
    ) -> Result<Option<SessionRecord>, EngineError> {
        Ok(self
            .store
            .get_session(session_id)
            .await?
            .filter(|s| principal.sees(s.owner.as_ref())))
    }

    /// Records a new session, owned by the principal (whatever `owner`
    /// the adapter left in it); false when its id is taken. A `user_id`
    /// naming someone else is `Forbidden` (see `ownership`).
    pub async fn create_session(
        &self,
        principal: &Principal,
        session: &SessionRecord,
    ) -> Result<bool, EngineError> {
        super::ownership::names_only_self(principal, session.user_id.as_deref())?;
        let session = SessionRecord {
            owner: principal.owner(),
            ..session.clone()
        };
        let created = self.store.create_session(&session).await;
        audit::result(
            principal,
            "session.created",
            audit::Ids {
                session_id: Some(&session.session_id),
                ..Default::default()
            },
            &created,
        );
        Ok(created?)
    }

    /// Writes a session as given (renamed, its state or metadata changed),
    /// creating it when it is new. A session the principal does not see is
    /// `SessionNotFound`; its owner stays whoever made it.
    pub async fn save_session(
        &self,
        principal: &Principal,
        session: &SessionRecord,
    ) -> Result<(), EngineError> {
        let saved = self.save_owned_session(principal, session).await;
        audit::result(
            principal,
            "session.updated",
            audit::Ids {
                session_id: Some(&session.session_id),
                ..Default::default()
            },
            &saved,
        );
        saved
    }

    async fn save_owned_session(
        &self,
        principal: &Principal,
        session: &SessionRecord,
    ) -> Result<(), EngineError> {
        let owner = match self.store.get_session(&session.session_id).await? {
            Some(stored) if principal.sees(stored.owner.as_ref()) => stored.owner,
            Some(_) => {
                return Err(EngineError::SessionNotFound(session.session_id.clone()));
            }
            None => principal.owner(),
        };
        let session = SessionRecord {
            owner,
            ..session.clone()
        };
        Ok(self.store.put_session(&session).await?)
    }

    /// The session as a new run leaves it: created on its first run (owned
    /// by the principal), else with its latest activity noted. Another
    /// user's session is `SessionNotFound`: a run never attaches to it.
    pub(super) async fn session_for_run(
        &self,
        principal: &Principal,
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
            Some(s) if !principal.sees(s.owner.as_ref()) => {
                return Err(EngineError::SessionNotFound(session_id.to_string()));
            }
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
                owner: principal.owner(),
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
    /// Another user's session is `NotFound`, as an unknown one.
    pub async fn delete_session(
        &self,
        principal: &Principal,
        session_id: &str,
    ) -> Result<SessionDeletion, EngineError> {
        let deleted = self.delete_owned_session(principal, session_id).await;
        let outcome = match &deleted {
            Ok(SessionDeletion::Deleted) => "ok".to_string(),
            Ok(SessionDeletion::NotFound) => "not found".to_string(),
            Ok(SessionDeletion::Busy { run_id }) => format!("busy: run {run_id} in progress"),
            Err(e) => e.to_string(),
        };
        let ids = audit::Ids {
            session_id: Some(session_id),
            ..Default::default()
        };
        audit::record(principal, "session.deleted", ids, &outcome);
        deleted
    }

    async fn delete_owned_session(
        &self,
        principal: &Principal,
        session_id: &str,
    ) -> Result<SessionDeletion, EngineError> {
        // Not the caller's reads as absent. A caller who sees everything
        // skips the read (and may delete the runs of a session whose
        // record is gone).
        if principal.visible().is_some() && self.session(principal, session_id).await?.is_none() {
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
        principal: &Principal,
        session_id: &str,
        call_ids: &[String],
    ) -> Result<Option<RunRecord>, EngineError> {
        let runs = self
            .list_runs(
                principal,
                &crate::store::RunFilter {
                    session_id: Some(session_id.to_string()),
                    statuses: vec![RunStatus::Awaiting],
                    ..Default::default()
                },
            )
            .await?;
        Ok(runs.into_iter().rev().find(|r| {
            r.status == RunStatus::Awaiting
                && r.pending.iter().any(|p| call_ids.contains(&p.call_id))
        }))
    }
}
