//! Wire -> engine for ACP.
//!
//! Messages: text parts (text/*, JSON) become the message text; binary
//! parts (base64 content, a content_url, or inline content of a non-text
//! type) become engine attachments.
//!
//! Approvals in a resume message: a run waiting for approval of tool calls
//! asks with a question and a JSON part per call (outbound.rs); the client
//! answers with the resume message, in either form:
//!
//! - a JSON part (`application/json`) `{"approved": true|false, "note"?: "...",
//!   "tool_call_id"?: "..."}`: for that call, or for every waiting call when
//!   no id is given;
//! - text: "yes" (or approve, ok, allow, confirm...) approves every waiting
//!   call; any other answer refuses them, and its words reach the model as
//!   the reason (a bare "no" gives none).
//!
//! Depends on the wire types and the engine vocabulary only.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use super::error::AcpError;
use super::wire::{self, ContentEncoding, MessagePart};
use crate::engine::{Attachment, MediaKind, Message, PendingCall, Role, ToolDecision};
use crate::web::approval::decide;

/// `user`, `agent` or `agent/{name}` with a name of `[a-zA-Z0-9_-]+`.
pub fn valid_role(role: &str) -> bool {
    match role.strip_prefix("agent/") {
        Some(name) => {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        }
        None => role == "user" || role == "agent",
    }
}

fn media_kind(mime: &str) -> MediaKind {
    match mime.split('/').next().unwrap_or("") {
        "image" => MediaKind::Image,
        "audio" => MediaKind::Audio,
        "video" => MediaKind::Video,
        _ => MediaKind::Document,
    }
}

/// Content types whose plain content is text the model reads as such.
fn is_textual(mime: &str) -> bool {
    mime.starts_with("text/")
        || mime == "application/json"
        || mime.ends_with("+json")
        || mime == "application/xml"
        || mime.ends_with("+xml")
}

/// The MIME type without parameters, lowercased; `text/plain` when absent.
fn mime_of(part: &MessagePart) -> String {
    part.content_type
        .as_deref()
        .and_then(|ct| ct.split(';').next())
        .map(|ct| ct.trim().to_ascii_lowercase())
        .filter(|ct| !ct.is_empty())
        .unwrap_or_else(|| "text/plain".into())
}

/// One ACP input message as an engine message. `index` names it in errors.
pub fn input_message(m: &wire::Message, index: usize) -> Result<Message, AcpError> {
    let invalid = |what: String| AcpError::InvalidInput(format!("input[{index}]: {what}"));
    if !valid_role(&m.role) {
        return Err(invalid(format!(
            "role '{}' must be 'user', 'agent' or 'agent/{{name}}'",
            m.role
        )));
    }
    let mut texts = Vec::new();
    let mut attachments = Vec::new();
    for (i, part) in m.parts.iter().enumerate() {
        let invalid = |what: &str| invalid(format!("parts[{i}]: {what}"));
        let mime = mime_of(part);
        let attachment = |data: Option<String>, url: Option<String>| Attachment {
            kind: media_kind(&mime),
            mime_type: mime.clone(),
            name: part.name.clone(),
            data,
            url,
        };
        match (&part.content, &part.content_url) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "only one of content or content_url can be provided",
                ));
            }
            (None, Some(url)) => {
                if !(url.starts_with("http://")
                    || url.starts_with("https://")
                    || url.starts_with("data:"))
                {
                    return Err(invalid("content_url must be an http(s) or data URL"));
                }
                attachments.push(attachment(None, Some(url.clone())));
            }
            (Some(content), None) => match part.content_encoding.unwrap_or_default() {
                ContentEncoding::Base64 => {
                    let compact: String = content.chars().filter(|c| !c.is_whitespace()).collect();
                    if STANDARD.decode(&compact).is_err() {
                        return Err(invalid("content is not valid base64"));
                    }
                    attachments.push(attachment(Some(compact), None));
                }
                ContentEncoding::Plain if is_textual(&mime) => texts.push(content.clone()),
                // Inline bytes of a binary type: keep them, as base64.
                ContentEncoding::Plain => {
                    attachments.push(attachment(Some(STANDARD.encode(content)), None));
                }
            },
            (None, None) => {}
        }
    }
    let role = if m.role == "user" {
        Role::User
    } else {
        Role::Assistant
    };
    let mut message = Message::new(role, texts.join("\n"));
    message.attachments = attachments;
    message.name = m.role.strip_prefix("agent/").map(str::to_string);
    Ok(message)
}

/// The decisions a resume message gives for the calls a run waits on.
pub fn decisions(message: &wire::Message, pending: &[PendingCall]) -> Vec<ToolDecision> {
    let objects: Vec<Map<String, Value>> = message
        .parts
        .iter()
        .filter(|p| {
            p.content_type
                .as_deref()
                .is_some_and(|t| t.starts_with("application/json"))
        })
        .filter_map(|p| p.content.as_deref())
        .filter_map(|c| match serde_json::from_str::<Value>(c) {
            Ok(Value::Object(obj)) => Some(obj),
            _ => None,
        })
        .collect();
    let text: String = message
        .parts
        .iter()
        .filter(|p| {
            p.content_type
                .as_deref()
                .is_none_or(|t| t.starts_with("text/plain"))
        })
        .filter_map(|p| p.content.as_deref())
        .collect::<Vec<_>>()
        .join(" ");
    decide(&objects, &text, pending)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::acp::outbound::resource_message;

    fn part(ct: &str, content: &str, enc: ContentEncoding) -> MessagePart {
        MessagePart {
            content_type: Some(ct.into()),
            content_encoding: Some(enc),
            ..MessagePart::text(content)
        }
    }

    #[test]
    fn roles() {
        for ok in ["user", "agent", "agent/chat", "agent/a_b-9"] {
            assert!(valid_role(ok), "{ok}");
        }
        for bad in ["", "system", "agent/", "agent/a b", "users", "agent/x/y"] {
            assert!(!valid_role(bad), "{bad}");
        }
    }

    #[test]
    fn parts_split_into_text_and_attachments() {
        let m = wire::Message {
            role: "user".into(),
            parts: vec![
                MessagePart::text("hello"),
                part("application/json", "{\"a\":1}", ContentEncoding::Plain),
                part("image/png", "aGk=", ContentEncoding::Base64),
                MessagePart {
                    content: None,
                    content_url: Some("https://example.com/a.pdf".into()),
                    ..part("application/pdf", "", ContentEncoding::Plain)
                },
            ],
            created_at: None,
            completed_at: None,
        };
        let msg = input_message(&m, 0).unwrap();
        assert_eq!(msg.text, "hello\n{\"a\":1}");
        assert_eq!(msg.attachments.len(), 2);
        assert_eq!(msg.attachments[0].kind, MediaKind::Image);
        assert_eq!(msg.attachments[0].data.as_deref(), Some("aGk="));
        assert_eq!(msg.attachments[1].kind, MediaKind::Document);
        assert!(msg.attachments[1].url.is_some());
        let back = resource_message(&msg, "x");
        assert_eq!(back.parts.len(), 3);
        assert_eq!(
            back.parts[1].content_encoding,
            Some(ContentEncoding::Base64)
        );
    }

    #[test]
    fn bad_parts_are_invalid_input() {
        let bad_b64 = wire::Message {
            role: "user".into(),
            parts: vec![part("image/png", "!!!", ContentEncoding::Base64)],
            created_at: None,
            completed_at: None,
        };
        assert!(matches!(
            input_message(&bad_b64, 0),
            Err(AcpError::InvalidInput(_))
        ));
        let both = wire::Message {
            parts: vec![MessagePart {
                content_url: Some("https://x".into()),
                ..MessagePart::text("a")
            }],
            ..bad_b64
        };
        assert!(input_message(&both, 0).is_err());
    }
}

#[cfg(test)]
mod approval_tests {
    use super::*;
    use crate::engine::PendingKind;
    use serde_json::json;

    fn pending() -> Vec<PendingCall> {
        ["a", "b"]
            .iter()
            .map(|id| PendingCall {
                call_id: id.to_string(),
                name: "t".into(),
                arguments: json!({}),
                kind: PendingKind::Approval,
            })
            .collect()
    }

    fn message(parts: Vec<wire::MessagePart>) -> wire::Message {
        wire::Message {
            role: "user".into(),
            parts,
            created_at: None,
            completed_at: None,
        }
    }

    fn json_part(v: Value) -> wire::MessagePart {
        wire::MessagePart {
            content_type: Some("application/json".into()),
            ..wire::MessagePart::text(v.to_string())
        }
    }

    #[test]
    fn text_answers_decide_every_waiting_call() {
        let yes = decisions(
            &message(vec![wire::MessagePart::text("Yes, go ahead")]),
            &pending(),
        );
        assert_eq!(yes.len(), 2);
        assert!(yes.iter().all(|d| d.approved && d.note.is_none()));
        let no = decisions(&message(vec![wire::MessagePart::text("no.")]), &pending());
        assert!(no.iter().all(|d| !d.approved && d.note.is_none()));
        let why = decisions(
            &message(vec![wire::MessagePart::text("not on a Friday")]),
            &pending(),
        );
        assert!(why.iter().all(|d| !d.approved));
        assert_eq!(why[0].note.as_deref(), Some("not on a Friday"));
        assert!(decisions(&message(vec![wire::MessagePart::text(" ")]), &pending()).is_empty());
    }

    #[test]
    fn json_parts_decide_per_call_or_for_all() {
        let d = decisions(
            &message(vec![
                json_part(json!({"tool_call_id": "a", "approved": true})),
                json_part(json!({"approved": false, "note": "only a"})),
            ]),
            &pending(),
        );
        let a = d.iter().find(|d| d.call_id == "a").unwrap();
        let b = d.iter().find(|d| d.call_id == "b").unwrap();
        assert!(a.approved);
        assert!(!b.approved);
        assert_eq!(b.note.as_deref(), Some("only a"));
    }
}
