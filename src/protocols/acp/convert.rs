//! ACP messages <-> engine messages.
//!
//! Input: text parts (text/*, JSON) become the message text; binary parts
//! (base64 content, a content_url, or inline content of a non-text type)
//! become engine attachments. Output: an engine message rendered as an ACP
//! Message, for session-history resources.
//!
//! Depends on the wire types and the engine vocabulary only.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::error::AcpError;
use super::wire::{self, ContentEncoding, MessagePart};
use crate::engine::{Attachment, MediaKind, Message, Role};
use crate::web::time::{self, rfc3339};

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

/// An engine message as the ACP Message a session-history resource holds.
/// Agent messages are labelled `agent/{agent}`.
pub fn resource_message(m: &Message, agent: &str) -> wire::Message {
    let role = match m.role {
        Role::User => "user".to_string(),
        _ => format!("agent/{}", m.name.as_deref().unwrap_or(agent)),
    };
    let mut parts = Vec::new();
    if !m.text.is_empty() {
        parts.push(MessagePart::text(m.text.clone()));
    }
    for a in &m.attachments {
        let (content, encoding) = match &a.data {
            Some(d) => (Some(d.clone()), ContentEncoding::Base64),
            None => (None, ContentEncoding::Plain),
        };
        parts.push(MessagePart {
            name: a.name.clone(),
            content_type: Some(a.mime_type.clone()),
            content,
            content_encoding: Some(encoding),
            content_url: if a.data.is_none() {
                a.url.clone()
            } else {
                None
            },
            metadata: None,
        });
    }
    let at = Some(serde_json::Value::String(rfc3339(m.created_at, time::ACP)));
    wire::Message {
        role,
        parts,
        created_at: at.clone(),
        completed_at: at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
