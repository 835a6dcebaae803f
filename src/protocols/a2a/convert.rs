//! A2A messages and tasks <-> engine messages and runs.
//!
//! Input: text parts are the message text, data parts join it as JSON text,
//! file parts (base64 bytes or an http(s)/data URI) become attachments.
//! Output: a run record as an A2A Task (run id = task id, session id =
//! context id), the run's answer as the `answer` artifact, and what a
//! paused run waits for as an input-required status message.
//!
//! Depends on the wire types and the engine vocabulary only.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::error::A2aError;
use super::wire::{self, Artifact, Part, Task, TaskState, TaskStatus};
use crate::engine::{
    Attachment, MediaKind, Message, PendingCall, Role, RunRecord, RunStatus, new_id,
};
use crate::web::time::{self, rfc3339};

/// The id of the artifact that holds a task's answer.
pub const ANSWER: &str = "answer";

fn media_kind(mime: &str) -> MediaKind {
    match mime.split('/').next().unwrap_or("") {
        "image" => MediaKind::Image,
        "audio" => MediaKind::Audio,
        "video" => MediaKind::Video,
        _ => MediaKind::Document,
    }
}

/// A user's A2A message as an engine message.
pub fn input_message(m: &wire::Message) -> Result<Message, A2aError> {
    if m.role != wire::Role::User {
        return Err(A2aError::InvalidParams(
            "message.role must be 'user'".into(),
        ));
    }
    let mut texts = Vec::new();
    let mut attachments = Vec::new();
    for (i, part) in m.parts.iter().enumerate() {
        let invalid = |what: &str| A2aError::InvalidParams(format!("message.parts[{i}]: {what}"));
        match part {
            Part::Text { text, .. } => texts.push(text.clone()),
            Part::Data { data, .. } => texts.push(Value::Object(data.clone()).to_string()),
            Part::File { file, .. } => {
                let mime = file
                    .mime_type
                    .as_deref()
                    .and_then(|m| m.split(';').next())
                    .map(|m| m.trim().to_ascii_lowercase())
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| "application/octet-stream".into());
                let (data, url) = match (&file.bytes, &file.uri) {
                    (Some(bytes), None) => {
                        let compact: String =
                            bytes.chars().filter(|c| !c.is_whitespace()).collect();
                        if STANDARD.decode(&compact).is_err() {
                            return Err(invalid("file.bytes is not valid base64"));
                        }
                        (Some(compact), None)
                    }
                    (None, Some(uri)) => {
                        if !(uri.starts_with("http://")
                            || uri.starts_with("https://")
                            || uri.starts_with("data:"))
                        {
                            return Err(invalid("file.uri must be an http(s) or data URI"));
                        }
                        (None, Some(uri.clone()))
                    }
                    _ => return Err(invalid("a file needs exactly one of bytes or uri")),
                };
                attachments.push(Attachment {
                    kind: media_kind(&mime),
                    mime_type: mime,
                    name: file.name.clone(),
                    data,
                    url,
                });
            }
        }
    }
    if texts.iter().all(|t| t.trim().is_empty()) && attachments.is_empty() {
        return Err(A2aError::InvalidParams(
            "message.parts must hold some text, data or a file".into(),
        ));
    }
    let mut message = Message::new(Role::User, texts.join("\n"));
    message.attachments = attachments;
    Ok(message)
}

/// The JSON objects of a message's data parts and its text, for approvals.
pub fn answer_parts(m: &wire::Message) -> (Vec<Map<String, Value>>, String) {
    let mut objects = Vec::new();
    let mut texts = Vec::new();
    for part in &m.parts {
        match part {
            Part::Data { data, .. } => objects.push(data.clone()),
            Part::Text { text, .. } => texts.push(text.as_str()),
            Part::File { .. } => {}
        }
    }
    (objects, texts.join(" "))
}

pub fn now() -> String {
    rfc3339(crate::engine::now_ms(), time::A2A)
}

pub fn state_of(record: &RunRecord) -> TaskState {
    match record.status {
        RunStatus::Pending => TaskState::Submitted,
        RunStatus::Running => TaskState::Working,
        RunStatus::Awaiting => TaskState::InputRequired,
        RunStatus::Completed => TaskState::Completed,
        RunStatus::Failed => TaskState::Failed,
        RunStatus::Cancelled => TaskState::Canceled,
    }
}

/// An agent message in a task's status.
pub fn agent_message(task_id: &str, context_id: &str, parts: Vec<Part>) -> wire::Message {
    wire::Message {
        kind: "message".into(),
        message_id: new_id(),
        role: wire::Role::Agent,
        parts,
        context_id: Some(context_id.to_string()),
        task_id: Some(task_id.to_string()),
        reference_task_ids: None,
        metadata: None,
    }
}

/// What a paused run asks: each pending call's question (or a sentence
/// naming the call), plus a data part per call so a program can answer it.
pub fn pending_parts(pending: &[PendingCall]) -> Vec<Part> {
    let mut text = Vec::new();
    let mut parts = Vec::new();
    for p in pending {
        let question = p.arguments.get("question").and_then(Value::as_str);
        text.push(match (question, p.needs_approval()) {
            (Some(q), false) => q.to_string(),
            (_, true) => format!(
                "May I call {} with {}? Answer yes or no.",
                p.name, p.arguments
            ),
            (None, false) => format!("Waiting for the result of {} ({}).", p.name, p.arguments),
        });
        let mut data = Map::new();
        data.insert("toolCallId".into(), json!(p.call_id));
        data.insert("name".into(), json!(p.name));
        data.insert("arguments".into(), p.arguments.clone());
        data.insert(
            "awaiting".into(),
            json!(if p.needs_approval() {
                "approval"
            } else {
                "result"
            }),
        );
        parts.push(Part::Data {
            data,
            metadata: None,
        });
    }
    let mut out = vec![Part::text(text.join("\n"))];
    out.extend(parts);
    out
}

/// A task's status as its record says: with the question of a paused run
/// and the reason of a failed one.
pub fn status_of(record: &RunRecord) -> TaskStatus {
    let state = state_of(record);
    let say = |parts| agent_message(&record.run_id, &record.session_id, parts);
    let message = match state {
        TaskState::InputRequired => Some(say(pending_parts(&record.pending))),
        TaskState::Failed => record
            .error
            .as_ref()
            .map(|e| say(vec![Part::text(e.message.clone())])),
        _ => None,
    };
    TaskStatus {
        state,
        message,
        timestamp: rfc3339(record.updated_at, time::A2A),
    }
}

/// The answer artifact: the text, and the JSON answer of an agent with a
/// response schema as a data part.
pub fn answer_artifact(content: &str, structured: Option<&Value>) -> Artifact {
    let mut parts = vec![Part::text(content)];
    if let Some(Value::Object(data)) = structured {
        parts.push(Part::Data {
            data: data.clone(),
            metadata: None,
        });
    }
    Artifact {
        artifact_id: ANSWER.into(),
        name: Some(ANSWER.into()),
        parts,
    }
}

/// An engine message of the run's input as an A2A history message.
fn history_message(record: &RunRecord, m: &Message) -> wire::Message {
    let mut parts = Vec::new();
    if !m.text.is_empty() {
        parts.push(Part::text(m.text.clone()));
    }
    for a in &m.attachments {
        parts.push(Part::File {
            file: wire::FileContent {
                bytes: a.data.clone(),
                uri: a.url.clone(),
                mime_type: Some(a.mime_type.clone()),
                name: a.name.clone(),
            },
            metadata: None,
        });
    }
    wire::Message {
        kind: "message".into(),
        message_id: m.id.clone(),
        role: if m.role == Role::User {
            wire::Role::User
        } else {
            wire::Role::Agent
        },
        parts,
        context_id: Some(record.session_id.clone()),
        task_id: Some(record.run_id.clone()),
        reference_task_ids: None,
        metadata: None,
    }
}

/// The run as an A2A Task; `history_length` keeps only the last messages.
pub fn task(record: &RunRecord, history_length: Option<usize>) -> Task {
    let mut history: Vec<wire::Message> = record
        .input
        .iter()
        .map(|m| history_message(record, m))
        .collect();
    if let Some(n) = history_length {
        let skip = history.len().saturating_sub(n);
        history.drain(..skip);
    }
    let artifacts = if record.content.is_empty() && record.structured.is_none() {
        Vec::new()
    } else {
        vec![answer_artifact(&record.content, record.structured.as_ref())]
    };
    Task {
        kind: "task",
        id: record.run_id.clone(),
        context_id: record.session_id.clone(),
        status: status_of(record),
        artifacts,
        history,
        metadata: json!({
            "agentId": record.agent_id,
            "origin": record.origin,
        }),
    }
}
