//! Starting a run: recording it (with its session) and launching its task,
//! at once or through the store's queue (`start_background`), and the task
//! that drives it to its end and saves it.
//!
//! Never reaches past the engine: adapters call `start`; what a run does
//! step by step is `agent_loop`'s.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio_util::sync::CancellationToken;

use super::admission::RunSlot;
use super::live::LiveRun;
use super::{
    Engine, EngineError, EventKind, RunHandle, RunRecord, RunRequest, RunStartedData,
    SessionRecord, agent_loop, attachments, audit, metrics, new_id, now_ms, replication,
};
use crate::domain::Principal;

impl Engine {
    /// Validates the request, records the run and starts it in its own task.
    /// Recording and starting happen in a task of the engine's: a caller
    /// dropped meanwhile (a client that left) cannot leave the run recorded
    /// but never started (see `owned`).
    ///
    /// The run (and a new session) is owned by the principal; continuing
    /// another user's session is `SessionNotFound`, and an agent or team
    /// the principal may not run is `Forbidden`.
    pub async fn start(
        self: &Arc<Self>,
        principal: &Principal,
        req: RunRequest,
    ) -> Result<RunHandle, EngineError> {
        let agent_id = req.agent_id.clone();
        let started = match self.admit(principal, &req) {
            Ok(()) => {
                let engine = self.clone();
                let who = principal.clone();
                self.detached_run(async move { engine.start_run(&who, req, None).await })
                    .await
            }
            Err(e) => Err(e),
        };
        let made = started
            .as_ref()
            .ok()
            .map(|h| (h.run_id.as_str(), h.session_id.as_str()));
        audit::run_created(principal, &agent_id, made, &started);
        started
    }

    /// Starts a member run of a team: a child run with the team run as its
    /// parent, no session history of its own, and a cancel switch tied to
    /// the team's.
    pub(crate) async fn start_member(
        self: &Arc<Self>,
        parent: &Arc<LiveRun>,
        req: RunRequest,
    ) -> Result<RunHandle, EngineError> {
        // A member run is its team run's, whoever asked for the team.
        self.start_run(&Principal::open(), req, Some(parent)).await
    }

    pub(super) async fn start_run(
        self: &Arc<Self>,
        principal: &Principal,
        req: RunRequest,
        parent: Option<&Arc<LiveRun>>,
    ) -> Result<RunHandle, EngineError> {
        self.resolve(&req)?;
        // Before anything is recorded, so a refused run leaves no trace.
        let slot = match parent {
            None => Some(self.acquire_slot(req.caller.as_ref())?),
            Some(_) => None,
        };
        let intents = self.cancel_intents_seen();
        let (record, job, session) = self.plan(principal, req, parent).await?;
        // The run and its session in one write (a member run has no session
        // of its own to note).
        let created = match &session {
            Some(session) => self.store.create_run_in_session(&record, session).await?,
            None => self.store.create_run(&record).await?,
        };
        if !created {
            return Err(EngineError::RunExists(record.run_id));
        }
        // Stored: from here the run must end one way or another, never stay
        // pending because it could not start.
        match self
            .launch(record.clone(), job, parent, slot, intents)
            .await
        {
            Ok(handle) => Ok(handle),
            Err(e) => {
                self.fail_unstarted(record, format!("it could not start: {e}"))
                    .await;
                Err(e)
            }
        }
    }

    /// Accepts a run to execute in the background, on whichever process
    /// claims it from the store's queue: on a shared store exactly one
    /// replica runs it. This one claims it at once when it can (it has the
    /// run slot already), so a lone server behaves as if it started the run
    /// itself. Returns the run as accepted (pending, or started here).
    /// Owned and admitted as `start`'s runs are.
    pub async fn start_background(
        self: &Arc<Self>,
        principal: &Principal,
        req: RunRequest,
    ) -> Result<RunRecord, EngineError> {
        let agent_id = req.agent_id.clone();
        let queued = match self.admit(principal, &req) {
            Ok(()) => {
                // In a task of the engine's: queued and claimed runs are
                // started whether or not the client waits for the answer
                // (see `owned`).
                let engine = self.clone();
                let who = principal.clone();
                self.detached(async move { engine.queue_run(&who, req).await }, drop)
                    .await
            }
            Err(e) => Err(e),
        };
        let made = queued
            .as_ref()
            .ok()
            .map(|r| (r.run_id.as_str(), r.session_id.as_str()));
        audit::run_created(principal, &agent_id, made, &queued);
        queued
    }

    pub(super) async fn queue_run(
        self: &Arc<Self>,
        principal: &Principal,
        req: RunRequest,
    ) -> Result<RunRecord, EngineError> {
        self.resolve(&req)?;
        let slot = self.acquire_slot(req.caller.as_ref())?;
        // The session is written before the run is queued: a client's run id
        // that is taken must be refused first, or the refused run would
        // still touch its session. (Ids we make are fresh; `start_run`
        // learns of a taken id from the write that creates the run.)
        if let Some(id) = req.run_id.as_deref().filter(|s| !s.is_empty())
            && (self.live_run(id).is_some() || self.store.get_run(id).await?.is_some())
        {
            return Err(EngineError::RunExists(id.to_string()));
        }
        let (record, job, session) = self.plan(principal, req, None).await?;
        if let Some(session) = &session {
            self.store.put_session(session).await?;
        }
        let encoded = serde_json::to_value(&job)
            .map_err(|e| EngineError::InvalidInput(format!("cannot queue the run: {e}")))?;
        if !self.store.enqueue_run(&record, &encoded).await? {
            return Err(EngineError::RunExists(record.run_id));
        }
        self.queue_epoch.fetch_add(1, Ordering::SeqCst);
        let intents = self.cancel_intents_seen();
        match self.store.claim_queued_run(Some(&record.run_id)).await {
            Ok(Some((claimed, job))) => {
                match self.launch_claimed(claimed, job, slot, intents).await {
                    Some(handle) => Ok(handle.record()),
                    None => Ok(self.run_record(&record.run_id).await?.unwrap_or(record)),
                }
            }
            // Another replica claimed it first and runs it.
            Ok(None) => Ok(record),
            Err(e) => {
                tracing::warn!(run_id = record.run_id, error = %e,
                    "could not claim a queued run at once; the queue worker will");
                drop(slot);
                Ok(record)
            }
        }
    }

    /// Reads the request's files and builds the run's pending record with
    /// the work order that starts it and, for a top-level run, its session
    /// as the run leaves it (new, or with its latest activity noted), for
    /// the caller to write with the run.
    pub(super) async fn plan(
        &self,
        principal: &Principal,
        req: RunRequest,
        parent: Option<&Arc<LiveRun>>,
    ) -> Result<(RunRecord, replication::Job, Option<SessionRecord>), EngineError> {
        let (agent, team, model) = self.resolve(&req)?;
        let run_id = req
            .run_id
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(new_id);
        let prepared = attachments::prepare(
            &self.documents,
            &self.config.files,
            &model,
            req.input.clone(),
        )
        .await?;
        // A client-held transcript (AG-UI) carries its files on every turn:
        // the model must see their text again, so they are read the same way.
        let client_history = match req.history.clone() {
            Some(h) => Some(
                attachments::prepare(&self.documents, &self.config.files, &model, h)
                    .await?
                    .messages,
            ),
            None => None,
        };
        // A session id we make names a new, empty session: nothing to read.
        let (session_id, new_session) =
            match req.session_id.clone().filter(|s| !s.trim().is_empty()) {
                Some(id) => (id, false),
                None => (new_id(), true),
            };
        let now = now_ms();
        let session = match parent {
            None => Some(
                self.session_for_run(principal, &session_id, new_session, &agent.id, &req, now)
                    .await?,
            ),
            Some(_) => None,
        };
        // A run belongs to its session's owner (an admin continuing a
        // user's conversation adds to what that user sees); a member run
        // to its team run's.
        let owner = match (&session, parent) {
            (Some(s), _) => s.owner.clone(),
            (None, Some(p)) => p.lock().record.owner.clone(),
            (None, None) => principal.owner(),
        };
        let record = RunRecord {
            user_id: req.user_id.clone(),
            owner,
            parent_run_id: parent.map(|p| p.record().run_id),
            team: team.is_some(),
            origin: req.origin.clone(),
            model: model.name().to_string(),
            provider: model.provider().to_string(),
            input: req.input.clone(),
            messages: prepared.messages,
            files: prepared.files,
            metadata: req.metadata.clone(),
            state: req.state.clone(),
            ..RunRecord::pending(run_id, session_id, &agent.id, agent.display_name(), now)
        };
        let job = replication::Job {
            model: req.model,
            client_tools: req.client_tools,
            // A new session has no history to look up.
            history: client_history.or_else(|| new_session.then(Vec::new)),
        };
        Ok((record, job, session))
    }

    /// Where the count of cancel requests written to the store stands: taken
    /// before a run is recorded (or claimed), handed to `launch`.
    pub(super) fn cancel_intents_seen(&self) -> u64 {
        self.cancel_intents.load(Ordering::SeqCst)
    }

    /// Starts a recorded pending run in its own task, in this process.
    /// `intents`: `cancel_intents_seen()` from before the run was recorded.
    pub(super) async fn launch(
        self: &Arc<Self>,
        record: RunRecord,
        job: replication::Job,
        parent: Option<&Arc<LiveRun>>,
        slot: Option<RunSlot>,
        intents: u64,
    ) -> Result<RunHandle, EngineError> {
        let (agent, team) = self
            .runnable(&record.agent_id)
            .ok_or_else(|| EngineError::AgentNotFound(record.agent_id.clone()))?;
        let model = self.run_model(&agent, job.model.as_deref())?;
        let history = match job.history {
            Some(h) => h,
            None => self.session_history(&record.session_id).await?,
        };
        let run_id = record.run_id.clone();
        let session_id = record.session_id.clone();
        let transcript = record.messages.clone();
        let state = record.state.clone().filter(|s| !s.is_null());
        let cancel_asked = record.cancel_requested;
        let live = match parent {
            Some(p) => LiveRun::with_cancel(
                self.store.clone(),
                record,
                Vec::new(),
                p.cancel.child_token(),
            ),
            None => LiveRun::new(self.store.clone(), record, Vec::new()),
        };
        self.register(&run_id, live.clone())?;
        live.emit(EventKind::RunStarted(Box::new(RunStartedData {
            agent_id: agent.id.clone(),
            agent_name: agent.display_name().to_string(),
            session_id: session_id.clone(),
            model: model.name().to_string(),
            provider: model.provider().to_string(),
        })));
        if let Some(state) = state {
            live.emit(EventKind::StateSnapshot {
                snapshot: Box::new(state),
            });
        }
        // A cancel that came while the run was queued (or being claimed)
        // was recorded in the store: it stops the run before its first step.
        // One that comes from now on finds the run live. Only a shared store
        // or a cancel written here meanwhile can have left one to read.
        let maybe_asked =
            parent.is_none() && (self.store.is_shared() || self.cancel_intents_seen() != intents);
        if cancel_asked
            || (maybe_asked && self.store.cancel_requested(&run_id).await.unwrap_or(false))
        {
            live.lock().record.cancel_requested = true;
            live.cancel.cancel();
        }
        let ctx = agent_loop::RunContext {
            fallback: self.agent_fallback(&agent),
            settings: self.agent_settings(&agent),
            agent,
            team,
            model,
            history,
            transcript,
            client_tools: job.client_tools,
            resumed: None,
        };
        self.spawn(live.clone(), ctx, slot);
        Ok(RunHandle {
            run_id,
            session_id,
            live,
            after: 0,
        })
    }

    pub(super) fn spawn(
        self: &Arc<Self>,
        live: Arc<LiveRun>,
        ctx: agent_loop::RunContext,
        slot: Option<RunSlot>,
    ) {
        use tracing::Instrument;
        self.pump_events(&live);
        let engine = self.clone();
        let ctx = Box::new(ctx);
        let span = tracing::info_span!("run", run_id = live.run_id());
        self.tasks.spawn(
            async move {
                let run_id = live.run_id().to_string();
                let driven = CancellationToken::new();
                tokio::join!(
                    async {
                        agent_loop::drive(&engine, &live, ctx).await;
                        driven.cancel();
                    },
                    engine.flush_while_running(&live, &driven),
                );
                let saved = engine.final_flush(&live).await;
                live.publish();
                if saved {
                    engine.unregister(&run_id);
                } else {
                    engine.save_later(live.clone());
                }
                live.settled.cancel();
                {
                    let state = live.lock();
                    let record = &state.record;
                    if record.parent_run_id.is_none() {
                        metrics::run_ended(&record.origin, record.status.as_str());
                    }
                }
                drop(slot);
            }
            .instrument(span),
        );
    }
}
