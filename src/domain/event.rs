//! Run events: the one stream every protocol adapter translates.
//!
//! Each event carries a per-run sequence number starting at 1, so a subscriber
//! can resume after the last one it saw (SSE Last-Event-ID, ACP event logs,
//! polling). Events never mention a protocol.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::failure::RunFailure;
use super::message::Usage;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub seq: u64,
    /// Shared by every event of the run (a run's log holds hundreds): one
    /// allocation per run, not one per event.
    pub run_id: Arc<str>,
    /// Unix milliseconds.
    pub at: i64,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// A streamed fragment's text. A token is a few bytes and a run's log
/// holds one per token until it is stored: up to 24 bytes live inside the
/// event itself instead of in an allocation of their own (bench row 4:
/// 10,000 streams of 100 tokens hold a million of them).
pub type Delta = compact_str::CompactString;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    RunStarted(Box<RunStartedData>),
    /// An awaiting run picked up again with the answers it waited for.
    RunResumed,
    ModelRequestStarted {
        model: String,
        provider: String,
    },
    ModelRequestCompleted(Box<ModelRequestCompletedData>),
    MessageStarted {
        message_id: String,
    },
    /// One per streamed token: its ids are shared with the message's other
    /// deltas rather than copied into each, and its text is held inline.
    TextDelta {
        message_id: Arc<str>,
        delta: Delta,
    },
    MessageCompleted {
        message_id: String,
        text: String,
    },
    ReasoningStarted {
        message_id: String,
    },
    ReasoningDelta {
        message_id: Arc<str>,
        delta: Delta,
    },
    ReasoningCompleted {
        message_id: String,
        text: String,
    },
    /// The model began a tool call (streamed as it is generated).
    ToolCallStarted(Box<ToolCallStartedData>),
    ToolCallArgs {
        call_id: Arc<str>,
        delta: Delta,
    },
    /// The model finished the call; `arguments` is the parsed JSON (or the
    /// raw text as a string when it did not parse). `client_side` calls are
    /// executed by the client, not the server. `needs_approval` calls are
    /// server tools that wait for a person's approval before they run: the
    /// run pauses for them (Awaiting), and a `ToolCallDecided` follows on
    /// resume.
    ToolCallEnded(Box<ToolCallEndedData>),
    /// A person approved (the call runs now; its `ToolResult` follows) or
    /// rejected (the rejection is its `ToolResult`) a call that waited for
    /// approval.
    ToolCallDecided(Box<ToolCallDecidedData>),
    ToolResult(Box<ToolResultData>),
    StateSnapshot {
        snapshot: Box<Value>,
    },
    /// The run paused for answers from outside: client-side tool results,
    /// a person's answer, or approvals of calls (see `PendingCall::kind`).
    Awaiting {
        pending: Vec<PendingCall>,
    },
    Completed(Box<CompletedData>),
    Failed {
        error: RunFailure,
    },
    Cancelled {
        reason: String,
        partial: String,
    },
    /// An event of a member's child run, forwarded into its team's log so
    /// the team's subscribers see the members at work. The member's own log
    /// holds the original.
    Member {
        member: Box<MemberRef>,
        event: Box<EventKind>,
    },
}

/// The fields of `EventKind::RunStarted`, boxed: the variant is rare and
/// large, and boxing keeps every event (a token's included) small.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunStartedData {
    pub agent_id: String,
    pub agent_name: String,
    pub session_id: String,
    pub model: String,
    pub provider: String,
}

/// The fields of `EventKind::ModelRequestCompleted`, boxed: the variant is rare and
/// large, and boxing keeps every event (a token's included) small.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRequestCompletedData {
    pub model: String,
    pub provider: String,
    pub usage: Usage,
    /// Milliseconds from the request to the first streamed token, if any.
    pub time_to_first_token_ms: Option<u64>,
}

/// The fields of `EventKind::ToolCallStarted`, boxed: the variant is rare and
/// large, and boxing keeps every event (a token's included) small.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCallStartedData {
    pub call_id: String,
    pub name: String,
    /// The assistant message the call belongs to, when text preceded it.
    pub parent_message_id: Option<String>,
}

/// The fields of `EventKind::ToolCallEnded`, boxed: the variant is rare and
/// large, and boxing keeps every event (a token's included) small.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCallEndedData {
    pub call_id: String,
    pub name: String,
    pub arguments: Value,
    pub client_side: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub needs_approval: bool,
}

/// The fields of `EventKind::ToolCallDecided`, boxed: the variant is rare and
/// large, and boxing keeps every event (a token's included) small.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCallDecidedData {
    pub call_id: String,
    pub name: String,
    pub arguments: Value,
    pub approved: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The fields of `EventKind::ToolResult`, boxed: the variant is rare and
/// large, and boxing keeps every event (a token's included) small.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolResultData {
    pub call_id: String,
    pub name: String,
    pub arguments: Value,
    pub result: String,
    pub is_error: bool,
    pub started_at: i64,
    pub finished_at: i64,
}

/// The fields of `EventKind::Completed`, boxed: the variant is rare and
/// large, and boxing keeps every event (a token's included) small.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompletedData {
    pub content: String,
    /// The answer parsed as JSON, when the agent has a response schema
    /// (already validated against it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structured: Option<Value>,
    pub usage: Usage,
    pub duration_ms: u64,
}

/// Who a forwarded member event belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberRef {
    /// The member's own (child) run id.
    pub run_id: String,
    /// The member's agent or team id.
    pub id: String,
    pub name: String,
    /// Whether the member is itself a team.
    pub team: bool,
}

impl EventKind {
    /// Whether a subscriber's stream ends after this event: the run is over,
    /// or paused until someone resumes it.
    pub fn ends_stream(&self) -> bool {
        matches!(
            self,
            EventKind::Awaiting { .. }
                | EventKind::Completed(_)
                | EventKind::Failed { .. }
                | EventKind::Cancelled { .. }
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingCall {
    pub call_id: String,
    pub name: String,
    pub arguments: Value,
    #[serde(default)]
    pub kind: PendingKind,
}

/// What a paused run waits for on one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PendingKind {
    /// The call's result, from outside the server: a client-side tool the
    /// client runs, or a question only the user can answer (`ask_user`).
    #[default]
    Result,
    /// A person's approval of a server tool call before it runs (a tool
    /// configured with `confirm = true`). Approved, the server runs it;
    /// rejected, the model is told so.
    Approval,
}

impl PendingCall {
    pub fn needs_approval(&self) -> bool {
        self.kind == PendingKind::Approval
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run's log holds an event per token: the big, rare variants are
    /// boxed so that every event stays this small.
    #[test]
    fn events_stay_small() {
        assert!(
            std::mem::size_of::<EventKind>() <= 56,
            "{}",
            std::mem::size_of::<EventKind>()
        );
        assert!(
            std::mem::size_of::<Event>() <= 88,
            "{}",
            std::mem::size_of::<Event>()
        );
    }
}
