//! A2A 1.0 wire types (ProtoJSON of `lf.a2a.v1`, as the 1.x SDKs speak
//! it): requests as received, and tasks, messages and stream responses as
//! sent. camelCase fields, SCREAMING_SNAKE enum names, parts told apart by
//! which member they carry (no `kind`), stream events wrapped in a member
//! naming their type.
//!
//! The task model agentd builds once (`convert`, `stream`) is written in
//! the 0.3 types of `wire`; this module translates it to 1.0 on the way out
//! and 1.0 requests to it on the way in. Plain data and translation only:
//! no engine types, no handlers.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::error::A2aError;
use super::outbound::Update;
use super::wire::{self, TaskState};

/// The A2A protocol version of this module (Major.Minor, as 1.0 names it).
pub const PROTOCOL_VERSION: &str = "1.0";

/// Whether a role is the user's: `ROLE_USER`, or 0.3's `user` that some
/// clients still send.
fn role_of(role: &str) -> Result<wire::Role, A2aError> {
    match role {
        "ROLE_USER" | "user" => Ok(wire::Role::User),
        "ROLE_AGENT" | "agent" => Ok(wire::Role::Agent),
        other => Err(A2aError::InvalidParams(format!(
            "message.role must be ROLE_USER, not {other:?}"
        ))),
    }
}

fn role_name(role: wire::Role) -> &'static str {
    match role {
        wire::Role::User => "ROLE_USER",
        wire::Role::Agent => "ROLE_AGENT",
    }
}

/// The ProtoJSON name of a task state.
pub fn state_name(state: TaskState) -> &'static str {
    match state {
        TaskState::Submitted => "TASK_STATE_SUBMITTED",
        TaskState::Working => "TASK_STATE_WORKING",
        TaskState::InputRequired => "TASK_STATE_INPUT_REQUIRED",
        TaskState::Completed => "TASK_STATE_COMPLETED",
        TaskState::Canceled => "TASK_STATE_CANCELED",
        TaskState::Failed => "TASK_STATE_FAILED",
    }
}

/// A state filter as a client names it. `Ok(None)` is "any state"
/// (absent or `TASK_STATE_UNSPECIFIED`); states agentd never enters
/// (rejected, auth-required) are valid filters that match nothing.
pub fn state_filter(name: &str) -> Result<Option<Option<TaskState>>, A2aError> {
    let all = [
        TaskState::Submitted,
        TaskState::Working,
        TaskState::InputRequired,
        TaskState::Completed,
        TaskState::Canceled,
        TaskState::Failed,
    ];
    match name {
        "" | "TASK_STATE_UNSPECIFIED" => Ok(None),
        "TASK_STATE_REJECTED" | "TASK_STATE_AUTH_REQUIRED" => Ok(Some(None)),
        other => all
            .into_iter()
            .find(|s| state_name(*s) == other)
            .map(|s| Some(Some(s)))
            .ok_or_else(|| A2aError::InvalidParams(format!("unknown task state {other:?}"))),
    }
}

/// One part of a message or artifact: exactly one of `text`, `raw`
/// (base64), `url` or `data`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = v1::Part)]
pub struct Part {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Base64 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Any JSON value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub data: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = v1::Message)]
pub struct Message {
    #[serde(default)]
    pub message_id: String,
    /// The conversation (an agentd session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_id: Option<String>,
    /// The task (an agentd run) this message continues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// `ROLE_USER` or `ROLE_AGENT`.
    pub role: String,
    pub parts: Vec<Part>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_task_ids: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendMessageConfiguration {
    #[serde(default)]
    pub accepted_output_modes: Option<Vec<String>>,
    /// At most this many history messages in the answer.
    #[serde(default)]
    pub history_length: Option<i64>,
    /// Answer at once with the task in progress instead of waiting for it
    /// to finish or pause.
    #[serde(default)]
    pub return_immediately: Option<bool>,
    /// Push notifications are not supported; a config here is refused.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub task_push_notification_config: Option<Value>,
}

/// Params of `SendMessage` and `SendStreamingMessage`, and the body of
/// `POST message:send` / `message:stream`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendMessageRequest {
    pub message: Message,
    #[serde(default)]
    pub configuration: Option<SendMessageConfiguration>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    #[serde(default)]
    pub tenant: Option<String>,
}

/// Params of `GetTask`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetTaskRequest {
    pub id: String,
    #[serde(default)]
    pub history_length: Option<i64>,
}

/// Params of `CancelTask` and `SubscribeToTask`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TaskIdRequest {
    pub id: String,
}

/// Params of `ListTasks` (and the query of `GET tasks`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListTasksRequest {
    #[serde(default)]
    pub context_id: Option<String>,
    /// A `TASK_STATE_*` name.
    #[serde(default)]
    pub status: Option<String>,
    /// 1 to 100; 50 when absent.
    #[serde(default)]
    pub page_size: Option<i64>,
    #[serde(default)]
    pub page_token: Option<String>,
    #[serde(default)]
    pub history_length: Option<i64>,
    /// RFC 3339: only tasks whose status changed at or after this time.
    #[serde(default)]
    pub status_timestamp_after: Option<String>,
    #[serde(default)]
    pub include_artifacts: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = v1::TaskStatus)]
pub struct TaskStatus {
    /// `TASK_STATE_*`.
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    /// RFC 3339, UTC.
    pub timestamp: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = v1::Artifact)]
pub struct Artifact {
    pub artifact_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub parts: Vec<Part>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = v1::Task)]
pub struct Task {
    /// The agentd run id.
    pub id: String,
    /// The agentd session id.
    pub context_id: String,
    pub status: TaskStatus,
    /// Left out of listings unless `includeArtifacts` asks for them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<Vec<Artifact>>,
    /// Left out when `historyLength` is 0.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Message>,
    #[schema(value_type = Object)]
    pub metadata: Value,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = v1::TaskStatusUpdateEvent)]
pub struct TaskStatusUpdateEvent {
    pub task_id: String,
    pub context_id: String,
    pub status: TaskStatus,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = v1::TaskArtifactUpdateEvent)]
pub struct TaskArtifactUpdateEvent {
    pub task_id: String,
    pub context_id: String,
    pub artifact: Artifact,
    pub append: bool,
    pub last_chunk: bool,
}

/// What `SendMessage` answers: agentd always answers with the task.
#[derive(Debug, Serialize, ToSchema)]
pub struct SendMessageResponse {
    pub task: Task,
}

/// One event of a stream: the task first, then its updates.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum StreamResponse {
    Task(Task),
    StatusUpdate(TaskStatusUpdateEvent),
    ArtifactUpdate(TaskArtifactUpdateEvent),
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListTasksResponse {
    pub tasks: Vec<Task>,
    /// Empty on the last page.
    pub next_page_token: String,
    pub page_size: i64,
    /// How many tasks match the filters, over all pages.
    pub total_size: i64,
}

/// A 1.0 message as the shared model's message (empty ids as absent, a
/// data part that is not an object as its JSON text).
pub fn inbound_message(m: Message) -> Result<wire::Message, A2aError> {
    let role = role_of(&m.role)?;
    let mut parts = Vec::with_capacity(m.parts.len());
    for (i, p) in m.parts.into_iter().enumerate() {
        let invalid = |what: &str| A2aError::InvalidParams(format!("message.parts[{i}]: {what}"));
        let file = |bytes, uri| wire::FileContent {
            bytes,
            uri,
            mime_type: p.media_type.clone(),
            name: p.filename.clone(),
        };
        let part = match (p.text.clone(), p.raw.clone(), p.url.clone(), p.data.clone()) {
            (Some(text), None, None, None) => wire::Part::Text {
                text,
                metadata: p.metadata,
            },
            (None, Some(raw), None, None) => wire::Part::File {
                file: file(Some(raw), None),
                metadata: p.metadata,
            },
            (None, None, Some(url), None) => wire::Part::File {
                file: file(None, Some(url)),
                metadata: p.metadata,
            },
            (None, None, None, Some(Value::Object(data))) => wire::Part::Data {
                data,
                metadata: p.metadata,
            },
            (None, None, None, Some(other)) => wire::Part::Text {
                text: other.to_string(),
                metadata: p.metadata,
            },
            _ => {
                return Err(invalid(
                    "a part needs exactly one of text, raw, url or data",
                ));
            }
        };
        parts.push(part);
    }
    let some = |s: Option<String>| s.filter(|s| !s.is_empty());
    Ok(wire::Message {
        kind: "message".into(),
        message_id: m.message_id,
        role,
        parts,
        context_id: some(m.context_id),
        task_id: some(m.task_id),
        reference_task_ids: m.reference_task_ids,
        metadata: m.metadata,
    })
}

/// A 1.0 send request as the shared model's params, with whether to wait
/// and how much history to answer with.
pub fn inbound_send(
    req: SendMessageRequest,
) -> Result<(wire::MessageSendParams, bool, Option<usize>), A2aError> {
    let config = req.configuration.unwrap_or_default();
    if config.task_push_notification_config.is_some() {
        return Err(A2aError::PushNotSupported);
    }
    let history_length = history_length(config.history_length)?;
    let params = wire::MessageSendParams {
        message: inbound_message(req.message)?,
        configuration: None,
        metadata: req.metadata,
    };
    Ok((
        params,
        !config.return_immediately.unwrap_or(false),
        history_length,
    ))
}

/// `historyLength` as a count: absent is all, negative is refused.
pub fn history_length(n: Option<i64>) -> Result<Option<usize>, A2aError> {
    n.map(|n| {
        usize::try_from(n)
            .map_err(|_| A2aError::InvalidParams("historyLength must not be negative".into()))
    })
    .transpose()
}

fn part(p: &wire::Part) -> Part {
    match p {
        wire::Part::Text { text, metadata } => Part {
            text: Some(text.clone()),
            metadata: metadata.clone(),
            ..Part::default()
        },
        wire::Part::File { file, metadata } => Part {
            raw: file.bytes.clone(),
            url: file.uri.clone(),
            media_type: file.mime_type.clone(),
            filename: file.name.clone(),
            metadata: metadata.clone(),
            ..Part::default()
        },
        wire::Part::Data { data, metadata } => Part {
            data: Some(Value::Object(data.clone())),
            media_type: Some("application/json".into()),
            metadata: metadata.clone(),
            ..Part::default()
        },
    }
}

pub fn message(m: &wire::Message) -> Message {
    Message {
        message_id: m.message_id.clone(),
        context_id: m.context_id.clone(),
        task_id: m.task_id.clone(),
        role: role_name(m.role).to_string(),
        parts: m.parts.iter().map(part).collect(),
        metadata: m.metadata.clone(),
        extensions: None,
        reference_task_ids: m.reference_task_ids.clone(),
    }
}

fn status(s: &wire::TaskStatus) -> TaskStatus {
    TaskStatus {
        state: state_name(s.state),
        message: s.message.as_ref().map(message),
        timestamp: s.timestamp.clone(),
    }
}

fn artifact(a: &wire::Artifact) -> Artifact {
    Artifact {
        artifact_id: a.artifact_id.clone(),
        name: a.name.clone(),
        parts: a.parts.iter().map(part).collect(),
    }
}

/// The shared model's task in 1.0; `with_artifacts` false leaves the
/// artifacts out (ListTasks' default).
pub fn task(t: &wire::Task, with_artifacts: bool) -> Task {
    Task {
        id: t.id.clone(),
        context_id: t.context_id.clone(),
        status: status(&t.status),
        artifacts: with_artifacts.then(|| t.artifacts.iter().map(artifact).collect()),
        history: t.history.iter().map(message).collect(),
        metadata: t.metadata.clone(),
    }
}

/// A streamed update in 1.0.
pub fn update(u: &Update) -> StreamResponse {
    match u {
        Update::Status(e) => StreamResponse::StatusUpdate(TaskStatusUpdateEvent {
            task_id: e.task_id.clone(),
            context_id: e.context_id.clone(),
            status: status(&e.status),
        }),
        Update::Artifact(e) => StreamResponse::ArtifactUpdate(TaskArtifactUpdateEvent {
            task_id: e.task_id.clone(),
            context_id: e.context_id.clone(),
            artifact: artifact(&e.artifact),
            append: e.append,
            last_chunk: e.last_chunk,
        }),
    }
}
