//! Recorded event logs (in `recorded/*.jsonl`, one engine event a line)
//! that every protocol's projection is fed in its snapshot tests, so a
//! change to any frame shows up as a reviewed diff of `snapshots/`. Test
//! support only; depends on the engine's data and the SSE writer's
//! `project`.

use crate::engine::{Event, EventKind, RunRecord, RunStatus};
use crate::web::sse::Sent;

/// Every log: a text run, a tool call, an approval pause, a failure and a
/// team run (a member's events forwarded into it).
pub const LOGS: [(&str, &str); 5] = [
    ("text_run", include_str!("recorded/text_run.jsonl")),
    ("tool_call", include_str!("recorded/tool_call.jsonl")),
    (
        "approval_pause",
        include_str!("recorded/approval_pause.jsonl"),
    ),
    ("failure", include_str!("recorded/failure.jsonl")),
    ("team_run", include_str!("recorded/team_run.jsonl")),
];

pub fn events(log: &str) -> Vec<Event> {
    log.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The run as its record stands after `events`: what a projection that
/// frames the end of a run from the record (AgentOS) is given.
pub fn record(events: &[Event]) -> RunRecord {
    let EventKind::RunStarted(start) = &events[0].kind else {
        panic!("a recorded log starts with run_started");
    };
    let mut run = RunRecord::pending(
        &*events[0].run_id,
        &start.session_id,
        &start.agent_id,
        &start.agent_name,
        events[0].at,
    );
    run.team = start.agent_id == "crew";
    run.model = start.model.clone();
    run.provider = start.provider.clone();
    run.status = RunStatus::Running;
    for ev in events {
        run.last_seq = ev.seq;
        run.updated_at = ev.at;
        match &ev.kind {
            EventKind::TextDelta { delta, .. } => run.content.push_str(delta),
            EventKind::Completed(d) => {
                run.status = RunStatus::Completed;
                run.content = d.content.clone();
                run.usage = d.usage;
                run.duration_ms = Some(d.duration_ms);
                run.finished_at = Some(ev.at);
            }
            EventKind::Failed { error } => {
                run.status = RunStatus::Failed;
                run.error = Some(error.clone());
                run.finished_at = Some(ev.at);
            }
            EventKind::Awaiting { pending } => {
                run.status = RunStatus::Awaiting;
                run.pending = pending.clone();
            }
            _ => {}
        }
    }
    run
}

/// Frames as the wire shows them (`id:`, `event:`, `data:` lines, a blank
/// line after each), with any `"timestamp":"..."` the projection stamped
/// from the clock (A2A's) replaced by `[now]`.
pub fn render(sent: &[Sent]) -> String {
    let mut out = String::new();
    for s in sent {
        if let Some(id) = s.id {
            out.push_str(&format!("id: {id}\n"));
        }
        if let Some(name) = &s.frame.event {
            out.push_str(&format!("event: {name}\n"));
        }
        out.push_str(&format!("data: {}\n\n", s.frame.data));
    }
    out
}

/// Replaces the value of every `"<key>":"..."` string field with `[now]`.
pub fn redact(text: &str, key: &str) -> String {
    let needle = format!("\"{key}\":\"");
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(&needle) {
        let start = i + needle.len();
        out.push_str(&rest[..start]);
        out.push_str("[now]");
        let end = rest[start..].find('"').map_or(rest.len(), |j| start + j);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Replaces every freshly minted id (a UUID v7, as `new_id` makes) with
/// `[new id]`; the recorded ids (other versions, or not UUIDs) stay.
pub fn redact_new_ids(text: &str) -> String {
    let is_v7 = |s: &str| {
        let b = s.as_bytes();
        s.len() == 36
            && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-')
            && b[14] == b'7'
            && s.chars()
                .filter(|c| *c != '-')
                .all(|c| c.is_ascii_hexdigit())
    };
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('"') {
        out.push_str(&rest[..=i]);
        rest = &rest[i + 1..];
        if rest.len() > 36 && rest.as_bytes()[36] == b'"' && is_v7(&rest[..36]) {
            out.push_str("[new id]");
            rest = &rest[36..];
        }
    }
    out.push_str(rest);
    out
}
