//! Wire -> engine for A2A: a user's message as an engine message (text
//! parts are the message text, data parts join it as JSON text, file parts,
//! base64 bytes or an http(s)/data URI, become attachments), and the parts
//! of a resume message an approval is read from.
//!
//! Depends on the wire types and the engine vocabulary only.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use super::error::A2aError;
use super::wire::{self, Part};
use crate::engine::{Attachment, MediaKind, Message, Role};

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
