//! ACP wire shapes (spec §2, §4): requests, Run, Message, MessagePart,
//! AgentManifest, Session and the Event union, as the acp-sdk 1.0.3 Client
//! validates them. Every key is always serialised, nulls included, as the
//! SDK server does.
//!
//! Plain data only: no engine types, no translation (see `inbound` and
//! `outbound`).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

pub use super::error::ErrorBody;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = AcpRunMode)]
#[serde(rename_all = "lowercase")]
pub enum RunMode {
    /// Wait for the run to end (or pause) and answer with the Run.
    #[default]
    Sync,
    /// Answer 202 at once; the run goes on in the background.
    Async,
    /// Answer with an SSE stream of events until the run ends or pauses.
    Stream,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = AcpRunStatus)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    Created,
    InProgress,
    Awaiting,
    Cancelling,
    Cancelled,
    Completed,
    Failed,
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
            RunStatus::Created => "created",
            RunStatus::InProgress => "in-progress",
            RunStatus::Awaiting => "awaiting",
            RunStatus::Cancelling => "cancelling",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = AcpContentEncoding)]
#[serde(rename_all = "lowercase")]
pub enum ContentEncoding {
    #[default]
    Plain,
    Base64,
}

fn text_plain() -> Option<String> {
    Some("text/plain".into())
}

fn plain() -> Option<ContentEncoding> {
    Some(ContentEncoding::Plain)
}

/// One part of a message: inline content (plain or base64) or a URL.
/// A part with a `name` is an artifact (a file or named result).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = AcpMessagePart)]
pub struct MessagePart {
    #[serde(default)]
    pub name: Option<String>,
    /// MIME type; `text/plain` when absent.
    #[serde(default = "text_plain")]
    pub content_type: Option<String>,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default = "plain")]
    pub content_encoding: Option<ContentEncoding>,
    #[serde(default)]
    pub content_url: Option<String>,
    /// Citation or trajectory metadata (`kind` discriminated).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

impl MessagePart {
    pub fn text(content: impl Into<String>) -> Self {
        Self {
            name: None,
            content_type: text_plain(),
            content: Some(content.into()),
            content_encoding: plain(),
            content_url: None,
            metadata: None,
        }
    }
}

fn user_role() -> String {
    "user".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = AcpMessage)]
pub struct Message {
    /// `user`, `agent` or `agent/{name}`.
    #[serde(default = "user_role")]
    pub role: String,
    pub parts: Vec<MessagePart>,
    /// RFC 3339. Accepted in any form on input (the server keeps its own times).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub created_at: Option<Value>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub completed_at: Option<Value>,
}

/// AwaitRequest (what a paused run asks for) and AwaitResume (the answer):
/// both `{"type": "message", "message": Message}` in ACP 1.0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = AcpAwait)]
pub struct Await {
    #[serde(rename = "type")]
    pub kind: String,
    pub message: Message,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = AcpSession)]
pub struct Session {
    #[schema(value_type = String, pattern = r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})$")]
    pub id: Uuid,
    /// Absolute URLs of the session's messages, oldest first.
    #[serde(default)]
    pub history: Vec<String>,
    #[serde(default)]
    pub state: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = AcpRunCreateRequest)]
pub struct RunCreateRequest {
    pub agent_name: String,
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})$")]
    pub session_id: Option<Uuid>,
    #[serde(default)]
    pub session: Option<Session>,
    pub input: Vec<Message>,
    #[serde(default)]
    pub mode: RunMode,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = AcpRunResumeRequest)]
pub struct RunResumeRequest {
    pub await_resume: Await,
    pub mode: RunMode,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = AcpRun)]
pub struct Run {
    pub run_id: String,
    pub agent_name: String,
    pub session_id: Option<String>,
    pub status: RunStatus,
    pub await_request: Option<Await>,
    pub output: Vec<Message>,
    pub error: Option<ErrorBody>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub finished_at: Option<String>,
}

/// An ACP event; `type` selects the variant. (The union's stream-level
/// `error` event is never sent: run failures are `run.failed`.)
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = AcpEvent)]
#[serde(tag = "type")]
pub enum Event {
    #[serde(rename = "run.created")]
    RunCreated { run: Run },
    #[serde(rename = "run.in-progress")]
    RunInProgress { run: Run },
    #[serde(rename = "message.created")]
    MessageCreated { message: Message },
    #[serde(rename = "message.part")]
    MessagePart { part: MessagePart },
    #[serde(rename = "message.completed")]
    MessageCompleted { message: Message },
    #[serde(rename = "run.awaiting")]
    RunAwaiting { run: Run },
    #[serde(rename = "run.completed")]
    RunCompleted { run: Run },
    #[serde(rename = "run.failed")]
    RunFailed { run: Run },
    #[serde(rename = "run.cancelled")]
    RunCancelled { run: Run },
    #[serde(rename = "generic")]
    Generic {
        #[schema(value_type = Object)]
        generic: Value,
    },
}

#[derive(Serialize, ToSchema)]
#[schema(as = AcpEventsList)]
pub struct EventsList {
    pub events: Vec<Event>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = AcpPing)]
pub struct Ping {}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = AcpDependency)]
pub struct Dependency {
    /// `agent`, `tool` or `model`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = AcpCapability)]
pub struct Capability {
    pub name: String,
    pub description: String,
}

/// Agent metadata; every key is optional and serialised as null when unset.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[schema(as = AcpMetadata)]
pub struct Metadata {
    #[schema(value_type = Option<Object>)]
    pub annotations: Option<Value>,
    pub documentation: Option<String>,
    pub license: Option<String>,
    pub programming_language: Option<String>,
    pub natural_languages: Option<Vec<String>>,
    pub framework: Option<String>,
    pub capabilities: Option<Vec<Capability>>,
    pub domains: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub author: Option<Value>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub contributors: Option<Vec<Value>>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub links: Option<Vec<Value>>,
    pub dependencies: Option<Vec<Dependency>>,
    pub recommended_models: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = AcpAgentManifest)]
pub struct AgentManifest {
    pub name: String,
    pub description: Option<String>,
    pub metadata: Metadata,
    pub input_content_types: Vec<String>,
    pub output_content_types: Vec<String>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = AcpAgentsList)]
pub struct AgentsList {
    pub agents: Vec<AgentManifest>,
}
