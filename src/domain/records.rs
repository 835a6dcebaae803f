//! What is kept of runs and sessions: the records stores save and adapters
//! answer from.
//!
//! `RunRecord` is the folded state of a run's events (`RunRecord::apply`),
//! kept current by the run task and saved to the store at checkpoints;
//! adapters build their polling and non-streaming responses from it.
//! Plain data: never depends on the engine, a store or a protocol.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::event::{Event, EventKind, PendingCall};
use super::failure::RunFailure;
use super::message::{MediaKind, Message, Role, Usage};
use super::principal::Owner;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Pending,
    Running,
    Awaiting,
    Completed,
    Failed,
    Cancelled,
}

impl RunStatus {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RunStatus::Completed | RunStatus::Failed | RunStatus::Cancelled
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Pending => "pending",
            RunStatus::Running => "running",
            RunStatus::Awaiting => "awaiting",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        }
    }
}

/// One tool call the server executed, with its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolExecution {
    pub call_id: String,
    pub name: String,
    pub arguments: Value,
    pub result: Option<String>,
    pub is_error: bool,
    pub started_at: i64,
    pub finished_at: Option<i64>,
}

impl ToolExecution {
    /// A server-side call that has just started (no result yet).
    fn started(call_id: &str, name: &str, arguments: &Value, at: i64) -> Self {
        ToolExecution {
            call_id: call_id.to_string(),
            name: name.to_string(),
            arguments: arguments.clone(),
            result: None,
            is_error: false,
            started_at: at,
            finished_at: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    pub session_id: String,
    pub agent_id: String,
    pub agent_name: String,
    pub user_id: Option<String>,
    /// Who the run belongs to (its session's owner); `None` for records
    /// older than owners and those of callers with no user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    pub parent_run_id: Option<String>,
    /// Whether `agent_id` names a team rather than an agent.
    #[serde(default)]
    pub team: bool,
    pub origin: String,
    pub status: RunStatus,
    /// Set when a cancel was asked for and the run has not yet stopped.
    pub cancel_requested: bool,
    pub model: String,
    pub provider: String,
    /// The new input this run was given.
    pub input: Vec<Message>,
    /// This run's transcript: input, assistant turns, tool calls and results.
    /// Input here is as the model saw it (documents' text included).
    pub messages: Vec<Message>,
    /// The files the run was given and how each reached the model.
    #[serde(default)]
    pub files: Vec<FileSummary>,
    /// The final (or, while running, partial) answer text.
    pub content: String,
    /// The final answer parsed as JSON, for agents with a response schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structured: Option<Value>,
    pub reasoning: Option<String>,
    pub tools: Vec<ToolExecution>,
    pub pending: Vec<PendingCall>,
    pub usage: Usage,
    pub time_to_first_token_ms: Option<u64>,
    pub duration_ms: Option<u64>,
    pub error: Option<RunFailure>,
    pub metadata: Option<Value>,
    pub state: Option<Value>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
    /// Sequence number of the last event recorded for this run.
    pub last_seq: u64,
}

impl RunRecord {
    /// A run that has just been made: pending, nothing said or spent yet.
    /// Whoever makes one sets what else it knows with struct update syntax.
    pub fn pending(
        run_id: impl Into<String>,
        session_id: impl Into<String>,
        agent_id: impl Into<String>,
        agent_name: impl Into<String>,
        created_at: i64,
    ) -> Self {
        Self {
            run_id: run_id.into(),
            session_id: session_id.into(),
            agent_id: agent_id.into(),
            agent_name: agent_name.into(),
            user_id: None,
            owner: None,
            parent_run_id: None,
            team: false,
            origin: String::new(),
            status: RunStatus::Pending,
            cancel_requested: false,
            model: String::new(),
            provider: String::new(),
            input: Vec::new(),
            messages: Vec::new(),
            files: Vec::new(),
            content: String::new(),
            structured: None,
            reasoning: None,
            tools: Vec::new(),
            pending: Vec::new(),
            usage: Usage::default(),
            time_to_first_token_ms: None,
            duration_ms: None,
            error: None,
            metadata: None,
            state: None,
            created_at,
            updated_at: created_at,
            finished_at: None,
            last_seq: 0,
        }
    }

    /// The text of the first user input, as a display title.
    pub fn input_text(&self) -> String {
        self.input
            .iter()
            .filter(|m| m.role == Role::User)
            .map(|m| m.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A session: the shared history of runs that named the same session id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub session_id: String,
    pub agent_id: Option<String>,
    /// The client's own label for its user (AgentOS `user_id`), not who
    /// owns the session: that is `owner`.
    pub user_id: Option<String>,
    /// Who made the session; see `RunRecord::owner`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    pub name: Option<String>,
    pub state: Option<Value>,
    pub metadata: Option<Value>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl RunRecord {
    /// Folds one event into the record. The record is always what its event
    /// log says, whoever reads it (live run, store, another replica).
    pub fn apply(&mut self, event: &Event) {
        use EventKind as K;
        self.last_seq = event.seq;
        self.updated_at = event.at;
        // Forwarded member events belong to the member's own record.
        match &event.kind {
            K::RunStarted(_) | K::RunResumed => {
                self.status = RunStatus::Running;
                self.pending.clear();
            }
            // The model that answers (a fallback may have taken over).
            K::ModelRequestStarted { model, provider } => {
                self.model = model.clone();
                self.provider = provider.clone();
            }
            K::ModelRequestCompleted(done) => {
                self.usage.add(&done.usage);
                if self.time_to_first_token_ms.is_none() {
                    self.time_to_first_token_ms = done.time_to_first_token_ms;
                }
            }
            K::TextDelta { delta, .. } => self.content.push_str(delta),
            K::ReasoningDelta { delta, .. } => self
                .reasoning
                .get_or_insert_with(String::new)
                .push_str(delta),
            K::ToolCallEnded(call) if !call.client_side && !call.needs_approval => self.tools.push(
                ToolExecution::started(&call.call_id, &call.name, &call.arguments, event.at),
            ),
            K::ToolCallDecided(call) => self.tools.push(ToolExecution::started(
                &call.call_id,
                &call.name,
                &call.arguments,
                event.at,
            )),
            K::ToolResult(done) => {
                if let Some(t) = self.tools.iter_mut().find(|t| t.call_id == done.call_id) {
                    t.result = Some(done.result.clone());
                    t.is_error = done.is_error;
                    t.finished_at = Some(done.finished_at);
                }
            }
            K::StateSnapshot { snapshot } => self.state = Some((**snapshot).clone()),
            K::Awaiting { pending } => {
                self.status = RunStatus::Awaiting;
                self.pending = pending.clone();
            }
            K::Completed(done) => {
                self.status = RunStatus::Completed;
                self.content = done.content.clone();
                self.structured = done.structured.clone();
                self.duration_ms = Some(done.duration_ms);
                self.finished_at = Some(event.at);
                self.cancel_requested = false;
            }
            K::Failed { error } => {
                self.status = RunStatus::Failed;
                self.error = Some(error.clone());
                self.finished_at = Some(event.at);
                self.cancel_requested = false;
            }
            K::Cancelled { .. } => {
                self.status = RunStatus::Cancelled;
                self.finished_at = Some(event.at);
                self.cancel_requested = false;
                self.pending.clear();
            }
            _ => {}
        }
    }
}

/// One file a run was given, as recorded on the run: what it turned out to
/// be and how it reached the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileSummary {
    pub name: String,
    /// The detected type (from the bytes when they tell).
    pub mime_type: String,
    pub kind: MediaKind,
    /// Decoded size; 0 for a file given by URL and not fetched.
    pub bytes: u64,
    /// For documents: characters of text given to the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extracted_chars: Option<u64>,
    /// The document's text was cut to the configured length (or row limit).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// The model was told of the file but not given its content.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reference: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}
