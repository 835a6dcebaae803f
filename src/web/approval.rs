//! Approvals of paused tool calls, read from a person's answer however a
//! protocol carried it: JSON objects or words. ACP's resume message and
//! A2A's follow-up message both end up here; each adapter only picks the
//! objects and the text out of its own parts. Depends on the engine's
//! approval types only.

use serde_json::{Map, Value};

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

/// The decisions in an answer, whatever protocol carried it: JSON objects
/// `{"approved", "note"?, "tool_call_id"?}` first, else the answer's text.
/// (`toolCallId` is accepted too, for A2A's camelCase data parts.)
pub fn decide(
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
