//! The run engine: starts runs of configured agents, drives them in their own
//! tasks, records their events, and lets anyone subscribe, cancel or resume.
//!
//! The engine knows nothing of HTTP or of any protocol. Adapters build a
//! `RunRequest`, subscribe to `Event`s and translate; anything two protocols
//! need lives here once. It sits over `models`, `tools`, `store`, `config`
//! and `domain`, and never imports from `web`, `protocols`, `ui` or `http`.
//! Adapters reach runs and sessions only through its methods: the store
//! stays inside (see `sessions` for the session door).
//!
//! # Layout, by what happens to a run
//!
//! - `admission`: what a request must name, run slots and limits.
//! - `start`: recording a run and launching its task, now or queued.
//! - `agent_loop`, `team`, `tool_call`, `structured`, `attachments`: what a
//!   run does step by step.
//! - `resume`, `cancel`: answering a paused run; stopping one, or all.
//! - `persistence`, `save_later`, `sweep`: saving runs and ending strays.
//! - `replication`: sharing one store with other replicas (queue worker,
//!   signals, event pump, tails).
//! - `runs`, `live`: finding runs, live here or stored; a live run's log.
//! - `sessions`: the session door, history, deletion.
//! - `ownership`, `audit`: who sees and may run what (every read and change
//!   takes the caller's `Principal`); one audit line per change.
//! - `owned`: work a client's departure cannot cut in half.
//! - `readiness`, `metrics`, `unavailable`: the write probe, counters, and
//!   the sentence a client refused for a down store is told.
//! - `request`, `error`: what adapters send and get back.

mod admission;
mod agent_loop;
mod attachments;
mod audit;
mod cancel;
mod error;
mod live;
mod metrics;
mod model_turn;
mod owned;
mod ownership;
mod persistence;
mod readiness;
mod replication;
mod request;
mod resume;
mod runs;
mod save_later;
mod sessions;
mod start;
mod structured;
mod sweep;
mod team;
mod tool_call;
mod unavailable;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex};

pub(crate) use attachments::extract_for_fuzzing;
pub use attachments::{document_worker, not_an_image};
pub use cancel::CancelOutcome;
pub use error::{EngineError, ErrorClass};
pub use live::EventStream;
pub use request::{ResumeRequest, RunCaller, RunRequest, ToolDecision};
pub use sessions::SessionDeletion;
// The queries adapters ask the engine's door with: plain filters, written
// once in the store's vocabulary; adapters name them through the engine.
pub use crate::store::{RateDecision, RunFilter, SessionFilter, SessionSort};

// The shared vocabulary lives in `domain`; re-exported so adapters can keep
// naming it through the engine they drive.
pub use crate::domain::{
    Attachment, CompletedData, Delta, Event, EventKind, FailureKind, FileSummary, MediaKind,
    MemberRef, Message, ModelRequestCompletedData, Owner, PendingCall, PendingKind, Principal,
    Role, RunFailure, RunRecord, RunStartedData, RunStatus, SessionRecord, ToolCall,
    ToolCallDecidedData, ToolCallEndedData, ToolCallStartedData, ToolExecution, ToolResultData,
    ToolSpec, Usage, empty_object_schema, new_id, now_ms,
};

use futures::StreamExt;
use tokio_util::task::TaskTracker;

use crate::config::{AgentConfig, Config, TeamConfig};
use crate::models::{Model, ModelRegistry, ModelSettings};
use crate::store::Store;
use crate::tools::ToolRegistry;
use live::LiveRun;

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

/// Live top-level runs per caller id.
type CallerCounts = Arc<Mutex<HashMap<String, usize>>>;

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
}
