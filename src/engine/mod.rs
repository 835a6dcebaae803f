//! The run engine: starts runs of configured agents, drives them in their own
//! tasks, records their events, and lets anyone subscribe, cancel or resume.
//!
//! The engine knows nothing of HTTP or of any protocol. Adapters build a
//! `RunRequest`, subscribe to `Event`s and translate; anything two protocols
//! need lives here once.

mod agent_loop;
mod attachments;
mod error;
mod event;
mod live;
mod message;
mod metrics;
mod owned;
mod readiness;
mod run;
mod save_later;
mod shared;
mod structured;
mod sweep;
mod team;
mod tool_call;
mod unavailable;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) use attachments::extract_for_fuzzing;
pub use attachments::{FileSummary, document_worker, not_an_image};
pub use error::{EngineError, ErrorClass};
pub use event::{
    CompletedData, Delta, Event, EventKind, FailureKind, MemberRef, ModelRequestCompletedData,
    PendingCall, PendingKind, RunFailure, RunStartedData, ToolCallDecidedData, ToolCallEndedData,
    ToolCallStartedData, ToolResultData,
};
pub use live::EventStream;
pub use message::{
    Attachment, MediaKind, Message, Role, ToolCall, ToolSpec, Usage, empty_object_schema, new_id,
    now_ms,
};
pub use run::{
    ResumeRequest, RunCaller, RunRecord, RunRequest, RunStatus, SessionRecord, ToolDecision,
    ToolExecution,
};

use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{AgentConfig, Config, TeamConfig};
use crate::models::{Model, ModelRegistry, ModelSettings};
use crate::store::{Store, StoreError};
use crate::tools::ToolRegistry;
use live::LiveRun;

/// Tries at saving a run's final state before it is left to memory.
const FINAL_FLUSH_ATTEMPTS: u32 = 5;

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

/// What a cancel found.
#[derive(Debug)]
pub enum CancelOutcome {
    /// The run was live or paused and is now stopping (or stopped).
    Cancelling(RunRecord),
    /// The run had already ended; nothing changed.
    AlreadyFinished(RunRecord),
}

/// The runs live in this process, by id.
type LiveMap = Arc<Mutex<HashMap<String, Arc<LiveRun>>>>;

pub struct Engine {
    config: Arc<Config>,
    models: ModelRegistry,
    tools: ToolRegistry,
    store: Arc<dyn Store>,
    live: LiveMap,
    tasks: TaskTracker,
    /// Top-level runs holding a slot (team members ride on their team's).
    active: Arc<AtomicUsize>,
    /// The same, counted per caller (`RunCaller::id`) that has any.
    per_caller: CallerCounts,
    stopping: AtomicBool,
    /// Wakes the queue worker: a run slot was freed.
    queue_wake: Arc<tokio::sync::Notify>,
    /// Bumped whenever this process queues a run: a freed slot wakes the
    /// queue worker to claim only if the queue may have changed since it
    /// last found it empty (claiming is a write on the store).
    queue_epoch: AtomicU64,
    /// Cancel requests this process has written to the store for runs it
    /// did not have live. A run starting here reads the store for such a
    /// request only if this moved while it was being created (or the store
    /// is shared, where other replicas write them too): a read saved on
    /// every run of a lone server.
    cancel_intents: AtomicU64,
    workers_started: AtomicBool,
    /// The last write probe's answer (see `readiness`).
    last_probe: readiness::LastProbe,
    /// Reads the documents runs are given (in worker processes when the
    /// config names a worker program).
    documents: attachments::Documents,
}

/// What a run request runs on: the agent (or a team's leader), the team,
/// and the model.
type Resolved = (AgentConfig, Option<TeamConfig>, Arc<dyn Model>);

/// What a client refused by the run limit is told to wait before retrying.
const RETRY_AFTER_SECS: u64 = 2;

/// Live top-level runs per caller id.
type CallerCounts = Arc<Mutex<HashMap<String, usize>>>;

/// A top-level run's place under `server.max_concurrent_runs` and its
/// caller's limit, given back when the run's task ends (or when it fails to
/// start).
struct RunSlot {
    active: Arc<AtomicUsize>,
    caller: Option<(CallerCounts, String)>,
    /// Told when the place is given back: a queued run may be waiting for it.
    wake: Option<Arc<tokio::sync::Notify>>,
}

impl RunSlot {
    /// Gives the place back without waking the queue worker: the worker
    /// itself took it to look for work and found none.
    fn release_quietly(mut self) {
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

/// A started (or resumed) run.
#[derive(Clone)]
pub struct RunHandle {
    pub run_id: String,
    pub session_id: String,
    live: Arc<LiveRun>,
    after: u64,
}

impl RunHandle {
    /// The run's events from its start (or resume point), live.
    /// `cancel_on_drop`: the caller is the run's foreground client, and
    /// dropping the stream early (a disconnect) cancels the run.
    pub fn events(&self, cancel_on_drop: bool) -> EventStream {
        self.live.subscribe(self.after, cancel_on_drop)
    }

    pub fn record(&self) -> RunRecord {
        self.live.record()
    }

    /// Waits until the run ends or pauses, and returns its record. With
    /// `cancel_on_drop`, abandoning the wait (a client that went away)
    /// cancels the run.
    pub async fn finish(&self, cancel_on_drop: bool) -> RunRecord {
        let mut events = self.live.subscribe(self.after, cancel_on_drop);
        while events.next().await.is_some() {}
        self.live.record()
    }
}

impl Engine {
    pub fn new(
        config: Arc<Config>,
        models: ModelRegistry,
        tools: ToolRegistry,
        store: Arc<dyn Store>,
    ) -> Arc<Self> {
        Arc::new(Self {
            models,
            tools,
            store,
            live: Arc::new(Mutex::new(HashMap::new())),
            tasks: TaskTracker::new(),
            active: Arc::new(AtomicUsize::new(0)),
            per_caller: Arc::new(Mutex::new(HashMap::new())),
            stopping: AtomicBool::new(false),
            queue_wake: Arc::new(tokio::sync::Notify::new()),
            queue_epoch: AtomicU64::new(0),
            cancel_intents: AtomicU64::new(0),
            workers_started: AtomicBool::new(false),
            last_probe: Default::default(),
            documents: attachments::Documents::new(&config.files),
            config,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn agents(&self) -> &[AgentConfig] {
        &self.config.agents
    }

    pub fn agent(&self, id: &str) -> Option<&AgentConfig> {
        self.config.agent(id)
    }

    pub fn teams(&self) -> &[TeamConfig] {
        &self.config.teams
    }

    pub fn team(&self, id: &str) -> Option<&TeamConfig> {
        self.config.team(id)
    }

    /// Whether an agent or team with this id exists: what every protocol
    /// checks before starting a run, since each can name either.
    pub fn is_runnable(&self, id: &str) -> bool {
        self.agent(id).is_some() || self.team(id).is_some()
    }

    /// The agent to run for an id, and its team when the id names a team
    /// (the team's leader runs as an agent with the team's instructions).
    fn runnable(&self, id: &str) -> Option<(AgentConfig, Option<TeamConfig>)> {
        if let Some(agent) = self.agent(id) {
            return Some((agent.clone(), None));
        }
        let team = self.team(id)?;
        Some((team::leader(team, &self.config), Some(team.clone())))
    }

    /// The model an agent runs on.
    pub fn agent_model(&self, agent: &AgentConfig) -> Option<Arc<dyn Model>> {
        self.models.get(&agent.model)
    }

    /// A configured model by its key in `[models]`.
    pub fn agent_model_by_key(&self, key: &str) -> Option<Arc<dyn Model>> {
        self.models.get(key)
    }

    /// The model that takes over when the agent's model is unavailable.
    fn agent_fallback(&self, agent: &AgentConfig) -> Option<Arc<dyn Model>> {
        agent.fallback.as_deref().and_then(|m| self.models.get(m))
    }

    /// The agent's generation settings over its model's.
    fn agent_settings(&self, agent: &AgentConfig) -> ModelSettings {
        ModelSettings::for_agent(agent, self.config.models.get(&agent.model))
    }

    /// Tool specs the agent offers its model, for discovery endpoints.
    pub fn agent_tools(&self, agent: &AgentConfig) -> Vec<ToolSpec> {
        self.tools
            .for_agent(&agent.tools)
            .iter()
            .map(|t| t.tool.spec())
            .collect()
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
    fn acquire_slot(&self, caller: Option<&RunCaller>) -> Result<RunSlot, EngineError> {
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

    fn live_run(&self, run_id: &str) -> Option<Arc<LiveRun>> {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(run_id)
            .cloned()
    }

    /// Registers a live run; fails if one with that id is live already.
    fn register(&self, run_id: &str, live: Arc<LiveRun>) -> Result<(), EngineError> {
        let mut map = self.live.lock().unwrap_or_else(|p| p.into_inner());
        if map.contains_key(run_id) {
            return Err(EngineError::RunExists(run_id.to_string()));
        }
        map.insert(run_id.to_string(), live);
        Ok(())
    }

    fn unregister(&self, run_id: &str) {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(run_id);
    }

    /// The live run, unless it has already ended or paused: subscribers learn
    /// of that as soon as it is emitted, while the task is still saving the
    /// run, so a quick resume or cancel waits for the task to let go and
    /// then finds the run, as it was left, in the store.
    async fn live_unless_settled(&self, run_id: &str) -> Option<Arc<LiveRun>> {
        let live = self.live_run(run_id)?;
        if live.lock().open {
            return Some(live);
        }
        live.settled.cancelled().await;
        None
    }

    /// Validates the request, records the run and starts it in its own task.
    /// Recording and starting happen in a task of the engine's: a caller
    /// dropped meanwhile (a client that left) cannot leave the run recorded
    /// but never started (see `owned`).
    pub async fn start(self: &Arc<Self>, req: RunRequest) -> Result<RunHandle, EngineError> {
        let engine = self.clone();
        self.detached_run(async move { engine.start_run(req, None).await })
            .await
    }

    /// Starts a member run of a team: a child run with the team run as its
    /// parent, no session history of its own, and a cancel switch tied to
    /// the team's.
    pub(crate) async fn start_member(
        self: &Arc<Self>,
        parent: &Arc<LiveRun>,
        req: RunRequest,
    ) -> Result<RunHandle, EngineError> {
        self.start_run(req, Some(parent)).await
    }

    async fn start_run(
        self: &Arc<Self>,
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
        let (record, job, session) = self.plan(req, parent).await?;
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
    pub async fn start_background(
        self: &Arc<Self>,
        req: RunRequest,
    ) -> Result<RunRecord, EngineError> {
        // In a task of the engine's: queued and claimed runs are started
        // whether or not the client waits for the answer (see `owned`).
        let engine = self.clone();
        self.detached(async move { engine.queue_run(req).await }, drop)
            .await
    }

    async fn queue_run(self: &Arc<Self>, req: RunRequest) -> Result<RunRecord, EngineError> {
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
        let (record, job, session) = self.plan(req, None).await?;
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
                    None => Ok(self.get_run(&record.run_id).await?.unwrap_or(record)),
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

    /// The agent (or team leader) and model a request runs on, and whether
    /// it has input: what is checked before a run slot is taken.
    fn resolve(&self, req: &RunRequest) -> Result<Resolved, EngineError> {
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
    fn run_model(
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

    /// Reads the request's files and builds the run's pending record with
    /// the work order that starts it and, for a top-level run, its session
    /// as the run leaves it (new, or with its latest activity noted), for
    /// the caller to write with the run.
    async fn plan(
        &self,
        req: RunRequest,
        parent: Option<&Arc<LiveRun>>,
    ) -> Result<(RunRecord, shared::Job, Option<SessionRecord>), EngineError> {
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
                self.session_for_run(&session_id, new_session, &agent.id, &req, now)
                    .await?,
            ),
            Some(_) => None,
        };
        let record = RunRecord {
            user_id: req.user_id.clone(),
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
        let job = shared::Job {
            model: req.model,
            client_tools: req.client_tools,
            // A new session has no history to look up.
            history: client_history.or_else(|| new_session.then(Vec::new)),
        };
        Ok((record, job, session))
    }

    /// Where the count of cancel requests written to the store stands: taken
    /// before a run is recorded (or claimed), handed to `launch`.
    fn cancel_intents_seen(&self) -> u64 {
        self.cancel_intents.load(Ordering::SeqCst)
    }

    /// Starts a recorded pending run in its own task, in this process.
    /// `intents`: `cancel_intents_seen()` from before the run was recorded.
    async fn launch(
        self: &Arc<Self>,
        record: RunRecord,
        job: shared::Job,
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

    /// The session as a new run leaves it: created on its first run, else
    /// with its latest activity noted.
    async fn session_for_run(
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

    /// Continues an awaiting run with the answers it waited for. Taken over
    /// and restarted in a task of the engine's (see `owned`).
    pub async fn resume(
        self: &Arc<Self>,
        run_id: &str,
        req: ResumeRequest,
    ) -> Result<RunHandle, EngineError> {
        let engine = self.clone();
        let run_id = run_id.to_string();
        self.detached_run(async move { engine.resume_run(&run_id, req).await })
            .await
    }

    async fn resume_run(
        self: &Arc<Self>,
        run_id: &str,
        req: ResumeRequest,
    ) -> Result<RunHandle, EngineError> {
        if let Some(live) = self.live_run(run_id) {
            let status = live.record().status;
            if status != RunStatus::Awaiting {
                return Err(EngineError::NotAwaiting {
                    run_id: run_id.to_string(),
                    status: status.as_str().to_string(),
                });
            }
            // Just paused: its task is still saving it. Answers that come this
            // fast wait for the save, then read the run from the store.
            live.settled.cancelled().await;
        }
        let record = self
            .store
            .get_run(run_id)
            .await?
            .ok_or_else(|| EngineError::RunNotFound(run_id.to_string()))?;
        if record.status != RunStatus::Awaiting {
            return Err(EngineError::NotAwaiting {
                run_id: run_id.to_string(),
                status: record.status.as_str().to_string(),
            });
        }
        let (agent, team) = self
            .runnable(&record.agent_id)
            .ok_or_else(|| EngineError::AgentNotFound(record.agent_id.clone()))?;
        let model = self
            .agent_model(&agent)
            .ok_or_else(|| EngineError::AgentNotFound(record.agent_id.clone()))?;
        let follow_up = attachments::prepare(
            &self.documents,
            &self.config.files,
            &model,
            req.message.clone().into_iter().collect(),
        )
        .await?;
        let mut record = record;
        record.files.extend(follow_up.files);
        let slot = match record.parent_run_id {
            None => Some(self.acquire_slot(req.caller.as_ref())?),
            Some(_) => None,
        };
        let mut transcript = record.messages.clone();
        let mut decided = Vec::new();
        for pending in &record.pending {
            if pending.needs_approval() {
                // Run (or refused) by the agent loop, which reports each.
                let decision = req
                    .decisions
                    .iter()
                    .find(|d| d.call_id == pending.call_id)
                    .cloned();
                decided.push((pending.clone(), decision));
                continue;
            }
            let answer = req
                .tool_results
                .iter()
                .find(|m| m.tool_call_id.as_deref() == Some(&pending.call_id));
            transcript.push(match answer {
                Some(m) => Message {
                    name: Some(pending.name.clone()),
                    ..m.clone()
                },
                // The model must see an answer for every call it made.
                None => Message::tool_result(
                    &pending.call_id,
                    &pending.name,
                    "No result was provided for this tool call.",
                    true,
                ),
            });
        }
        let history = self.session_history(&record.session_id).await?;
        let events = self.store.events(run_id, 0).await?;
        let after = events.last().map_or(0, |e| e.seq);
        let session_id = record.session_id.clone();
        let live = LiveRun::new(self.store.clone(), record, events);
        self.register(run_id, live.clone())?;
        let resumed = live.emit(EventKind::RunResumed);
        // The run becomes this process's in the store, unless another
        // resume or a cancel (here or on another replica) got it first.
        match self
            .store
            .take_run(&live.record(), RunStatus::Awaiting, &[(*resumed).clone()])
            .await
        {
            Ok(true) => {
                let stored = live.lock().len();
                live.stored(stored);
            }
            taken => {
                self.unregister(run_id);
                live.settled.cancel();
                taken?;
                let status = self
                    .store
                    .get_run(run_id)
                    .await?
                    .map_or("unknown", |r| r.status.as_str());
                return Err(EngineError::NotAwaiting {
                    run_id: run_id.to_string(),
                    status: status.to_string(),
                });
            }
        }
        let ctx = agent_loop::RunContext {
            fallback: self.agent_fallback(&agent),
            settings: self.agent_settings(&agent),
            agent,
            team,
            model,
            history,
            transcript,
            client_tools: Vec::new(),
            resumed: Some(agent_loop::Resumed {
                decided,
                follow_up: follow_up.messages,
            }),
        };
        self.spawn(live.clone(), ctx, slot);
        Ok(RunHandle {
            run_id: run_id.to_string(),
            session_id,
            live,
            after,
        })
    }

    fn spawn(
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

    /// Writes a running run's events whenever
    /// `FLUSH_EVERY_EVENTS` wait to be stored, until `done`: a long stream
    /// then holds only its recent events in memory (see `live`). Runs in
    /// the run's own task, beside the run. A shared store's runs are written
    /// by their pump (`pump_events`) instead.
    async fn flush_while_running(&self, live: &LiveRun, done: &CancellationToken) {
        if self.store.is_shared() {
            return;
        }
        loop {
            tokio::select! {
                biased;
                _ = done.cancelled() => return,
                _ = live.flush_wanted.notified() => {}
            }
            // Only the events: the record is written at checkpoints and at
            // the end. On failure the events stay in memory; the run's next
            // checkpoint (or its end) writes them or fails the run.
            if let Err(e) = self.flush_events(live).await {
                tracing::warn!(run_id = live.run_id(), error = %e,
                    "could not store a running run's events yet");
            }
        }
    }

    /// Saves a run that has just ended or paused, retrying a failing store a
    /// few times. On failure the run stays registered, so this process keeps
    /// answering for it from memory, and is saved later (`save_later`).
    async fn final_flush(&self, live: &LiveRun) -> bool {
        if live.lock().end_saved {
            return true;
        }
        let mut delay = std::time::Duration::from_millis(100);
        for attempt in 1..=FINAL_FLUSH_ATTEMPTS {
            match self.flush(live).await {
                Ok(()) => return true,
                // Another replica owns the run now: its record is the truth.
                Err(StoreError::Superseded(_)) => {
                    tracing::warn!(
                        run_id = live.run_id(),
                        "the run was taken over by another replica; its end here is dropped"
                    );
                    return true;
                }
                Err(e) => {
                    tracing::error!(run_id = live.run_id(), attempt, error = %e,
                        "could not save the run's final state");
                }
            }
            if attempt < FINAL_FLUSH_ATTEMPTS {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
        false
    }

    /// Ends the runs a previous process left in flight (pending or running in
    /// the store) as failed with `FailureKind::Interrupted`, appending that
    /// terminal event so their logs end like any other run's. Call at start,
    /// before serving. Returns the ids of the runs it ended.
    ///
    /// The store decides which runs are orphaned: with one process owning it,
    /// every in-flight run; with a store shared by replicas, only the runs
    /// whose replica stopped renewing its lease. Runs live here are skipped.
    pub async fn recover_interrupted(&self) -> Result<Vec<String>, EngineError> {
        let stale = self.store.claim_orphaned_runs().await?;
        let mut ended = Vec::new();
        for record in stale {
            let run_id = record.run_id.clone();
            if self.live_run(&run_id).is_some() {
                continue;
            }
            let message = "The run was interrupted: agentd stopped before it finished. \
                           Start a new run to try again.";
            // False: taken over meanwhile (resumed or cancelled elsewhere).
            if self.end_stray(record, message).await? {
                ended.push(run_id);
            }
        }
        Ok(ended)
    }

    /// Keeps ending orphaned runs while serving, when the store is shared
    /// (see `Store::orphan_check_interval`); stops when the engine is dropped.
    pub fn watch_orphans(self: &Arc<Self>) {
        let Some(every) = self.store.orphan_check_interval() else {
            return;
        };
        let engine = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(engine) = engine.upgrade() else {
                    return;
                };
                match engine.recover_interrupted().await {
                    Ok(ended) if !ended.is_empty() => tracing::warn!(
                        runs = ?ended,
                        "runs of a replica that stopped renewing its lease were marked failed"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "could not check for orphaned runs"),
                }
            }
        });
    }

    /// Writes events not yet stored, and the current record, in one write.
    async fn flush(&self, live: &LiveRun) -> Result<(), StoreError> {
        // One record write at a time, each of the record as it is then: an
        // older record can never land after a newer one.
        let _writing = live.writing.lock().await;
        let (events, record, upto) = {
            let state = live.lock();
            (
                state.unflushed_events(),
                Arc::new(state.record.clone()),
                state.len(),
            )
        };
        self.store.save_run(record, &events).await?;
        live.stored(upto);
        Ok(())
    }

    /// Ends a run with `kind`, stored before it shows anywhere: the events
    /// not yet stored, the end event and the record it leaves go in one
    /// write, and only then does the live run take the event (held back
    /// from subscribers until the task publishes). On failure nothing
    /// changed, so the caller can end the run otherwise.
    pub(crate) async fn save_end(&self, live: &LiveRun, kind: EventKind) -> Result<(), StoreError> {
        let _writing = live.writing.lock().await;
        let (mut events, record) = live.preview(kind);
        let record = Arc::new(record);
        self.store.save_run(record.clone(), &events).await?;
        if let Some(end) = events.pop() {
            // The store has let go of it by now: no copy.
            live.append_saved(end, Arc::unwrap_or_clone(record));
        }
        Ok(())
    }

    /// The run's current record, live or stored.
    pub async fn get_run(&self, run_id: &str) -> Result<Option<RunRecord>, EngineError> {
        if let Some(live) = self.live_run(run_id) {
            return Ok(Some(live.record()));
        }
        Ok(self.store.get_run(run_id).await?)
    }

    /// Events with `seq > after`: replay, then live while the run goes on.
    pub async fn subscribe(&self, run_id: &str, after: u64) -> Result<EventStream, EngineError> {
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
    pub async fn event_log(&self, run_id: &str) -> Result<Vec<Event>, EngineError> {
        if let Some(live) = self.live_run(run_id) {
            return Ok(live.log().await?);
        }
        if self.store.get_run(run_id).await?.is_none() {
            return Err(EngineError::RunNotFound(run_id.to_string()));
        }
        Ok(self.store.events(run_id, 0).await?)
    }

    /// Asks a run to stop. A live run stops at its next step (its upstream
    /// request is dropped); a paused or still queued one is cancelled at
    /// once; one that another replica runs is asked to stop through the
    /// store, and that replica stops it as if the request had come to it.
    /// Runs in a task of the engine's: ending a paused run registers it here
    /// for a moment, which a dropped caller must not leave half done.
    pub async fn cancel(self: &Arc<Self>, run_id: &str) -> Result<CancelOutcome, EngineError> {
        let engine = self.clone();
        let run_id = run_id.to_string();
        self.detached(async move { engine.cancel_run(&run_id).await }, drop)
            .await
    }

    async fn cancel_run(&self, run_id: &str) -> Result<CancelOutcome, EngineError> {
        if let Some(live) = self.live_unless_settled(run_id).await {
            return Ok(cancel_live(&live));
        }
        // A few tries: the run may change hands (claimed, paused, resumed)
        // between reading it and acting on it.
        for _ in 0..5 {
            let record = self
                .store
                .get_run(run_id)
                .await?
                .ok_or_else(|| EngineError::RunNotFound(run_id.to_string()))?;
            if record.status.is_terminal() {
                return Ok(CancelOutcome::AlreadyFinished(record));
            }
            match record.status {
                RunStatus::Pending => {
                    if let Some((queued, _)) = self.store.claim_queued_run(Some(run_id)).await? {
                        // Still queued: it is this process's to end now.
                        return self.end_cancelled(queued, None).await;
                    }
                }
                RunStatus::Awaiting => {
                    match self.end_cancelled(record, Some(RunStatus::Awaiting)).await {
                        Err(EngineError::NotAwaiting { .. }) | Err(EngineError::RunExists(_)) => {
                            continue;
                        }
                        outcome => return outcome,
                    }
                }
                _ => {}
            }
            // Counted before it is written: a run launching meanwhile then
            // reads the store for it (see `launch`).
            self.cancel_intents.fetch_add(1, Ordering::SeqCst);
            if self.store.request_cancel(run_id).await? {
                // It may have started here meanwhile (claimed from the queue).
                if let Some(live) = self.live_run(run_id) {
                    return Ok(cancel_live(&live));
                }
                let mut record = record;
                record.cancel_requested = true;
                return Ok(CancelOutcome::Cancelling(record));
            }
            if let Some(live) = self.live_unless_settled(run_id).await {
                return Ok(cancel_live(&live));
            }
        }
        let record = self
            .store
            .get_run(run_id)
            .await?
            .ok_or_else(|| EngineError::RunNotFound(run_id.to_string()))?;
        Ok(if record.status.is_terminal() {
            CancelOutcome::AlreadyFinished(record)
        } else {
            CancelOutcome::Cancelling(record)
        })
    }

    /// Ends a run that has no task (paused, or taken off the queue) as
    /// cancelled. `from`: the status it must still have in the store (a
    /// paused run another process may resume meanwhile); `None` when this
    /// process owns it already.
    async fn end_cancelled(
        &self,
        record: RunRecord,
        from: Option<RunStatus>,
    ) -> Result<CancelOutcome, EngineError> {
        let run_id = record.run_id.clone();
        let events = self.store.events(&run_id, 0).await?;
        let live = LiveRun::new(self.store.clone(), record, events);
        self.register(&run_id, live.clone())?;
        live.emit(EventKind::Cancelled {
            reason: format!("Run {run_id} was cancelled"),
            partial: live.record().content,
        });
        let result = match from {
            None => self.flush(&live).await.map(|()| true),
            Some(from) => {
                let (record, fresh) = {
                    let state = live.lock();
                    let fresh: Vec<Event> = state
                        .unflushed_events()
                        .iter()
                        .map(|e| (**e).clone())
                        .collect();
                    (state.record.clone(), fresh)
                };
                self.store.take_run(&record, from, &fresh).await
            }
        };
        self.unregister(&run_id);
        live.settled.cancel();
        match result? {
            true => Ok(CancelOutcome::Cancelling(live.record())),
            false => Err(EngineError::NotAwaiting {
                run_id,
                status: "changed".into(),
            }),
        }
    }

    /// The session's history for its next run: the messages of its completed
    /// runs, trimmed to `engine.history_messages`. A run that has just ended
    /// may not be saved yet, so live records count over stored ones: a
    /// client that sends its next message the moment it got an answer still
    /// continues the conversation.
    async fn session_history(&self, session_id: &str) -> Result<Vec<Message>, EngineError> {
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
    pub async fn delete_session(&self, session_id: &str) -> Result<SessionDeletion, EngineError> {
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

    /// Runs of a session (or all), oldest first.
    pub async fn list_runs(
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

    /// Stops every live run at once and waits for their tasks.
    pub async fn shutdown(&self) {
        self.drain(Duration::ZERO).await;
    }

    /// Graceful shutdown: starts no new runs, lets live ones finish for up
    /// to `grace`, then cancels the rest; returns once every run task has
    /// ended and flushed its events and record to the store (so cancelled
    /// runs are stored as cancelled).
    pub async fn drain(&self, grace: Duration) {
        self.stopping.store(true, Ordering::SeqCst);
        self.tasks.close();
        if tokio::time::timeout(grace, self.tasks.wait())
            .await
            .is_err()
        {
            self.cancel_live_runs().await;
        }
        // Last, once no run can call a tool: MCP servers, children included.
        self.tools.shutdown().await;
    }

    async fn cancel_live_runs(&self) {
        let lives: Vec<Arc<LiveRun>> = self
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        tracing::info!(
            runs = lives.len(),
            "grace period over: cancelling live runs"
        );
        for live in lives {
            live.cancel.cancel();
        }
        self.tasks.wait().await;
    }
}

/// Marks a live run as asked to stop and fires its cancel switch.
fn cancel_live(live: &LiveRun) -> CancelOutcome {
    let record = {
        let mut state = live.lock();
        if !state.record.status.is_terminal() {
            state.record.cancel_requested = true;
        }
        state.record.clone()
    };
    live.cancel.cancel();
    if record.status.is_terminal() {
        CancelOutcome::AlreadyFinished(record)
    } else {
        CancelOutcome::Cancelling(record)
    }
}
