//! A2A wire types (protocol 0.3, as the a2a-sdk 0.3 client speaks it):
//! the JSON-RPC 2.0 envelope, messages and parts, tasks and their streamed
//! updates, and the agent card (shared by both versions). camelCase on the
//! wire, `kind` tags.
//!
//! These types are also the task model `convert` and `stream` build once
//! for every version; `v1` translates them to 1.0.
//!
//! Plain data only: no engine types, no handlers.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// The A2A protocol version these types follow.
pub const PROTOCOL_VERSION: &str = "0.3.0";

/// A JSON-RPC 2.0 request as received. Checked by hand (`rpc::parse`), so
/// every field is optional here and a malformed one is an Invalid Request.
#[derive(Debug, Deserialize, ToSchema)]
pub struct JsonRpcRequest {
    /// Always `"2.0"`.
    #[schema(example = "2.0")]
    pub jsonrpc: Option<String>,
    /// A string, a number or null; echoed in the response.
    #[schema(value_type = Object)]
    pub id: Option<Value>,
    /// `message/send`, `message/stream`, `tasks/get`, `tasks/cancel` or
    /// `tasks/resubscribe`.
    #[schema(example = "message/send")]
    pub method: Option<String>,
    #[schema(value_type = Object)]
    pub params: Option<Value>,
}

/// A JSON-RPC 2.0 response: `result` on success, `error` otherwise. Each
/// SSE event of `message/stream` carries one of these too.
#[derive(Debug, Serialize, ToSchema)]
pub struct JsonRpcResponse {
    pub jsonrpc: &'static str,
    #[schema(schema_with = crate::web::schemas::jsonrpc_id_schema)]
    pub id: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<JsonRpcError>,
}

/// The error object of a JSON-RPC response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JsonRpcError {
    /// -32700 parse error, -32600 invalid request, -32601 method not found,
    /// -32602 invalid params, -32603 internal error, -32001 task not found,
    /// -32002 task not cancelable, -32003 push notifications not supported,
    /// -32004 unsupported operation, -32005 content type not supported.
    pub code: i64,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub data: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Agent,
}

/// A file's content: base64 `bytes` or a `uri`, exactly one of them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileContent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One part of a message or artifact.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Part {
    Text {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(value_type = Option<Object>)]
        metadata: Option<Value>,
    },
    File {
        file: FileContent,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(value_type = Option<Object>)]
        metadata: Option<Value>,
    },
    Data {
        #[schema(value_type = Object)]
        data: Map<String, Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(value_type = Option<Object>)]
        metadata: Option<Value>,
    },
}

impl Part {
    pub fn text(text: impl Into<String>) -> Self {
        Part::Text {
            text: text.into(),
            metadata: None,
        }
    }
}

fn message_kind() -> String {
    "message".into()
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// Always `message`.
    #[serde(default = "message_kind")]
    pub kind: String,
    pub message_id: String,
    pub role: Role,
    pub parts: Vec<Part>,
    /// The conversation (an agentd session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_id: Option<String>,
    /// The task (an agentd run) this message continues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_task_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendConfiguration {
    /// Wait for the task to finish or pause (the default) or answer at once.
    pub blocking: Option<bool>,
    /// At most this many history messages in the answer.
    pub history_length: Option<usize>,
    #[serde(default)]
    pub accepted_output_modes: Option<Vec<String>>,
}

/// Params of `message/send` and `message/stream`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageSendParams {
    pub message: Message,
    #[serde(default)]
    pub configuration: Option<SendConfiguration>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

/// Params of `tasks/get`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskQueryParams {
    pub id: String,
    #[serde(default)]
    pub history_length: Option<usize>,
}

/// Params of `tasks/cancel` and `tasks/resubscribe`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TaskIdParams {
    pub id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TaskState {
    Submitted,
    Working,
    InputRequired,
    Completed,
    Canceled,
    Failed,
}

impl TaskState {
    pub fn is_final(self) -> bool {
        !matches!(self, TaskState::Submitted | TaskState::Working)
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskStatus {
    pub state: TaskState,
    /// What the agent says with this state: the question of an
    /// input-required task, the reason a task failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    /// RFC 3339.
    pub timestamp: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    pub artifact_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    /// Always `task`.
    pub kind: &'static str,
    /// The agentd run id.
    pub id: String,
    /// The agentd session id.
    pub context_id: String,
    pub status: TaskStatus,
    pub artifacts: Vec<Artifact>,
    pub history: Vec<Message>,
    #[schema(value_type = Object)]
    pub metadata: Value,
}

/// A streamed change of a task's state; `final` on the last one.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskStatusUpdateEvent {
    /// Always `status-update`.
    pub kind: &'static str,
    pub task_id: String,
    pub context_id: String,
    pub status: TaskStatus,
    #[serde(rename = "final")]
    pub is_final: bool,
}

/// A streamed piece of the answer: `append` adds to the artifact so far,
/// `lastChunk` ends it (carrying the whole text again, so a client that
/// missed a chunk still ends with the full answer).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskArtifactUpdateEvent {
    /// Always `artifact-update`.
    pub kind: &'static str,
    pub task_id: String,
    pub context_id: String,
    pub artifact: Artifact,
    pub append: bool,
    pub last_chunk: bool,
}

/// What the agent can do; `extendedAgentCard` is 1.0's, the rest both
/// versions'.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentCapabilities {
    pub streaming: bool,
    pub push_notifications: bool,
    pub state_transition_history: bool,
    pub extended_agent_card: bool,
}

/// Where one version of one binding answers (1.0's `AgentInterface`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentInterface {
    pub url: String,
    /// `JSONRPC` or `HTTP+JSON`.
    pub protocol_binding: &'static str,
    /// `1.0` or `0.3`.
    pub protocol_version: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentSkill {
    pub id: String,
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentProvider {
    pub organization: String,
    pub url: String,
}

/// What an A2A client reads first: who the agent is, where it answers,
/// what it can do, and how to authenticate. One document for both
/// versions: 1.0 clients read `supportedInterfaces` (1.0 and 0.3, JSON-RPC
/// and HTTP+JSON) and `securityRequirements`; 0.3 clients read
/// `protocolVersion`, `url`, `preferredTransport` and `security`, and each
/// ignores the other's fields.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentCard {
    /// The version of `url` (0.3).
    pub protocol_version: &'static str,
    pub name: String,
    pub description: String,
    pub supported_interfaces: Vec<AgentInterface>,
    /// The 0.3 JSON-RPC endpoint (the same URL answers 1.0).
    pub url: String,
    pub preferred_transport: &'static str,
    pub version: &'static str,
    pub provider: AgentProvider,
    pub capabilities: AgentCapabilities,
    pub default_input_modes: Vec<String>,
    pub default_output_modes: Vec<String>,
    pub skills: Vec<AgentSkill>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub security_schemes: Option<Value>,
    /// 0.3's requirements: `[{"bearer": []}]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub security: Option<Vec<Value>>,
    /// 1.0's requirements: `[{"schemes": {"bearer": {"list": []}}}]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub security_requirements: Option<Vec<Value>>,
}
