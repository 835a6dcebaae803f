//! Approvals in an ACP resume message. A run waiting for approval of tool
//! calls asks with a question and a JSON part per call (fold.rs); the client
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

const YES: &[&str] = &[
    "yes",
    "y",
    "approve",
    "approved",
    "ok",
    "okay",
    "allow",
    "allowed",
    "confirm",
    "confirmed",
    "true",
    "sure",
    "go",
];
const NO: &[&str] = &[
    "no", "n", "reject", "rejected", "deny", "denied", "false", "refuse",
];

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

/// The decisions in an answer, whatever protocol carried it: JSON objects
/// `{"approved", "note"?, "tool_call_id"?}` first, else the answer's text.
/// (A2A's data parts come here too, with `toolCallId` also accepted.)
pub(crate) fn decide(
    objects: &[Map<String, Value>],
    text: &str,
    pending: &[PendingCall],
) -> Vec<ToolDecision> {
    let waiting: Vec<&PendingCall> = pending.iter().filter(|p| p.needs_approval()).collect();
    let mut out: Vec<ToolDecision> = Vec::new();
    let mut for_all: Option<(bool, Option<String>)> = None;
    for obj in objects {
        let Some(approved) = obj.get("approved").and_then(Value::as_bool) else {
            continue;
        };
        let note = obj.get("note").and_then(Value::as_str).map(str::to_string);
        match obj
            .get("tool_call_id")
            .or_else(|| obj.get("toolCallId"))
            .and_then(Value::as_str)
        {
            Some(id) => out.push(ToolDecision {
                call_id: id.to_string(),
                approved,
                note,
            }),
            None => for_all = Some((approved, note)),
        }
    }
    if for_all.is_none() && out.is_empty() {
        for_all = text_decision(text);
    }
    if let Some((approved, note)) = for_all {
        for p in &waiting {
            if !out.iter().any(|d| d.call_id == p.call_id) {
                out.push(ToolDecision {
                    call_id: p.call_id.clone(),
                    approved,
                    note: note.clone(),
                });
            }
        }
    }
    out
}

/// A plain-text answer: approve on a yes-word, else refuse with the words
/// as the reason. Empty text decides nothing.
fn text_decision(text: &str) -> Option<(bool, Option<String>)> {
    let text = text.trim();
    let first = text
        .split(|c: char| !c.is_alphanumeric())
        .find(|w| !w.is_empty())?
        .to_lowercase();
    if YES.contains(&first.as_str()) {
        return Some((true, None));
    }
    let bare = text
        .trim_end_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase();
    if NO.contains(&bare.as_str()) {
        return Some((false, None));
    }
    Some((false, Some(text.to_string())))
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
