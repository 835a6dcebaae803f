//! Approvals in an ACP resume message. A run waiting for approval of tool
//! calls asks with a question and a JSON part per call (outbound.rs); the client
//! answers with the resume message, in either form:
//!
//! - a JSON part (`application/json`) `{"approved": true|false, "note"?: "...",
//!   "tool_call_id"?: "..."}`: for that call, or for every waiting call when
//!   no id is given;
//! - text: "yes" (or approve, ok, allow, confirm...) approves every waiting
//!   call; any other answer refuses them, and its words reach the model as
//!   the reason (a bare "no" gives none).

use serde_json::{Map, Value};

use super::wire;
use crate::engine::{PendingCall, ToolDecision};
use crate::web::approval::decide;

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
