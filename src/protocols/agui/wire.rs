//! AG-UI 1.0 events as they go on the wire: `type` in SCREAMING_SNAKE_CASE,
//! camelCase fields, and optional fields omitted rather than `null` (the 1.0
//! client's schemas reject `null` there). Also what a 0.0.x client gets
//! instead ([`ClientLine`]) and the JSON Patch diff behind STATE_DELTA.
//! Nothing here knows about the engine's run lifecycle or HTTP.

use serde::Serialize;
use serde_json::{Map, Value, json};

pub const PROTOCOL_VERSION: &str = "1.0";

/// The two lines of `@ag-ui/client` frontends run: 1.0, and the 0.0.x line
/// (0.0.59 is the one `@copilotkit/runtime` 1.75 bundles).
///
/// Why it matters: both lines validate every event with zod, but 0.0.x's
/// RUN_FINISHED outcome schemas are closed (`.strict()`) and know only
/// `success` (with no `pendingToolCallIds`) and `interrupt`; anything else
/// fails the whole run ("Unrecognized key(s) in object"). Every other field
/// agentd sends is either in 0.0.x's schemas or silently stripped by them
/// (`protocolVersion` on RUN_STARTED), so RUN_FINISHED is the only event
/// that differs.
///
/// The signal is the request's `protocolVersion`: the 1.0 client sends it
/// (`"1.0"`) on every run, and no 0.0.x client has the field at all. A
/// request without it gets the 0.0.x stream, which is also a valid 1.0
/// stream: a 1.0 client that omits the field (one pinned to an older peer
/// with `maxProtocolVersion`) or any other client loses only the
/// redundant `pendingToolCallIds` (clients derive them: calls without a
/// result) and sees a cancelled run as a RUN_ERROR, which is what 0.0.x
/// clients report for their own aborts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientLine {
    /// `@ag-ui/client` 0.0.x, or any client that does not declare a
    /// protocol version.
    Legacy,
    /// A client that declares a protocol version (1.0 or later).
    V1,
}

impl ClientLine {
    /// From the request's `protocolVersion` (any value counts: a newer
    /// client reads 1.0 streams).
    pub fn of_request(protocol_version: Option<&str>) -> Self {
        match protocol_version {
            Some(_) => ClientLine::V1,
            None => ClientLine::Legacy,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    tag = "type",
    rename_all = "SCREAMING_SNAKE_CASE",
    rename_all_fields = "camelCase"
)]
pub enum AguiEvent {
    RunStarted {
        thread_id: String,
        run_id: String,
        protocol_version: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        parent_run_id: Option<String>,
    },
    RunFinished {
        thread_id: String,
        run_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        outcome: Option<Outcome>,
        /// The run's structured answer (agents with a response schema).
        #[serde(skip_serializing_if = "Option::is_none")]
        result: Option<Value>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        usage: Vec<TokenUsage>,
    },
    RunError {
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        code: Option<String>,
    },
    TextMessageStart {
        message_id: String,
        role: &'static str,
    },
    TextMessageContent {
        message_id: String,
        delta: String,
    },
    TextMessageEnd {
        message_id: String,
    },
    ToolCallStart {
        tool_call_id: String,
        tool_call_name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        parent_message_id: Option<String>,
    },
    ToolCallArgs {
        tool_call_id: String,
        delta: String,
    },
    ToolCallEnd {
        tool_call_id: String,
    },
    ToolCallResult {
        message_id: String,
        tool_call_id: String,
        content: String,
        role: &'static str,
    },
    StepStarted {
        step_name: String,
    },
    StepFinished {
        step_name: String,
    },
    StateSnapshot {
        snapshot: Value,
    },
    StateDelta {
        delta: Vec<Value>,
    },
    ReasoningStart {
        message_id: String,
    },
    ReasoningMessageStart {
        message_id: String,
        role: &'static str,
    },
    ReasoningMessageContent {
        message_id: String,
        delta: String,
    },
    ReasoningMessageEnd {
        message_id: String,
    },
    ReasoningEnd {
        message_id: String,
    },
    /// A team member's run began (its id is the member's run id).
    SubagentStarted {
        subagent_run_id: String,
        name: String,
    },
    /// A team member's run ended without failing.
    SubagentFinished {
        subagent_run_id: String,
        /// The member's answer.
        #[serde(skip_serializing_if = "Option::is_none")]
        result: Option<Value>,
        /// Absent means success.
        #[serde(skip_serializing_if = "Option::is_none")]
        outcome: Option<SubagentOutcome>,
    },
    SubagentError {
        subagent_run_id: String,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        code: Option<String>,
    },
}

/// Why a member's run ended without failing, when not plain success.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum SubagentOutcome {
    /// It paused for input from outside (which a team cannot give it).
    Suspended,
}

/// An event with its time: the frame's JSON object is the event's own
/// fields followed by `timestamp`.
#[derive(Serialize)]
struct Stamped<'a> {
    #[serde(flatten)]
    event: &'a AguiEvent,
    timestamp: i64,
}

impl AguiEvent {
    /// The event as `line` accepts it: for 0.0.x clients, RUN_FINISHED
    /// loses `pendingToolCallIds` (their closed success outcome refuses the
    /// key) and a cancelled run ends with RUN_ERROR (they have no
    /// `cancelled` outcome). Everything else is the same for both lines.
    pub fn for_client(self, line: ClientLine) -> AguiEvent {
        if line == ClientLine::V1 {
            return self;
        }
        match self {
            AguiEvent::RunFinished {
                outcome: Some(Outcome::Cancelled),
                ..
            } => AguiEvent::RunError {
                message: "The run was cancelled".into(),
                code: Some("cancelled".into()),
            },
            AguiEvent::RunFinished {
                thread_id,
                run_id,
                outcome: Some(Outcome::Success { .. }),
                result,
                usage,
            } => AguiEvent::RunFinished {
                thread_id,
                run_id,
                outcome: None,
                result,
                usage,
            },
            other => other,
        }
    }

    /// The frame's JSON text, stamped with the engine event's time (ms).
    /// Written straight from the typed event: going through a
    /// `serde_json::Value` first (build, print, drop) cost ~160 k
    /// instructions of a 10-token AG-UI run's 1.34 M (callgrind).
    pub fn encode(&self, timestamp: i64) -> String {
        serde_json::to_string(&Stamped {
            event: self,
            timestamp,
        })
        // Cannot fail: every field is a string, number, list or JSON value.
        .unwrap_or_else(|_| format!(r#"{{"type":"RAW","timestamp":{timestamp}}}"#))
    }
}

/// Why a run ended, on RUN_FINISHED (absent means success).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    tag = "type",
    rename_all = "lowercase",
    rename_all_fields = "camelCase"
)]
pub enum Outcome {
    Success {
        /// Frontend tool calls the client must answer in its next run.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pending_tool_call_ids: Vec<String>,
    },
    /// The run paused for answers only a person can give (approvals); the
    /// client's next run carries a `resume` entry for each.
    Interrupt {
        interrupts: Vec<Interrupt>,
    },
    Cancelled,
}

/// What an interrupted run waits for.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Interrupt {
    pub id: String,
    pub reason: &'static str,
    pub message: String,
    pub tool_call_id: String,
    pub response_schema: Value,
    pub metadata: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenUsage {
    pub provider: String,
    pub model: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub total_tokens: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
}

/// RFC 6902 operations turning `old` into `new`: objects are compared key by
/// key, anything else is replaced whole. Empty when they are equal.
pub fn diff(old: &Value, new: &Value) -> Vec<Value> {
    let mut ops = Vec::new();
    diff_at(old, new, "", &mut ops);
    ops
}

fn diff_at(old: &Value, new: &Value, path: &str, ops: &mut Vec<Value>) {
    if old == new {
        return;
    }
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => diff_objects(a, b, path, ops),
        _ => ops.push(json!({"op": "replace", "path": path, "value": new})),
    }
}

fn diff_objects(a: &Map<String, Value>, b: &Map<String, Value>, path: &str, ops: &mut Vec<Value>) {
    for (k, old) in a {
        let p = format!("{path}/{}", pointer_escape(k));
        match b.get(k) {
            Some(new) => diff_at(old, new, &p, ops),
            None => ops.push(json!({"op": "remove", "path": p})),
        }
    }
    for (k, new) in b {
        if !a.contains_key(k) {
            let p = format!("{path}/{}", pointer_escape(k));
            ops.push(json!({"op": "add", "path": p, "value": new}));
        }
    }
}

/// RFC 6901: `~` and `/` in a key are escaped.
fn pointer_escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_fields_are_omitted_not_null() {
        let e = AguiEvent::ToolCallStart {
            tool_call_id: "c".into(),
            tool_call_name: "f".into(),
            parent_message_id: None,
        };
        assert_eq!(
            e.encode(7),
            r#"{"type":"TOOL_CALL_START","toolCallId":"c","toolCallName":"f","timestamp":7}"#
        );
        let done = AguiEvent::RunFinished {
            thread_id: "t".into(),
            run_id: "r".into(),
            outcome: Some(Outcome::Success {
                pending_tool_call_ids: vec!["c".into()],
            }),
            result: None,
            usage: Vec::new(),
        };
        assert_eq!(
            serde_json::to_value(&done).unwrap(),
            json!({"type": "RUN_FINISHED", "threadId": "t", "runId": "r",
                   "outcome": {"type": "success", "pendingToolCallIds": ["c"]}})
        );
    }

    #[test]
    fn legacy_clients_get_only_what_their_closed_schemas_accept() {
        let finished = |outcome| AguiEvent::RunFinished {
            thread_id: "t".into(),
            run_id: "r".into(),
            outcome: Some(outcome),
            result: Some(json!({"n": 1})),
            usage: Vec::new(),
        };
        let pending = finished(Outcome::Success {
            pending_tool_call_ids: vec!["c".into()],
        });
        assert_eq!(
            serde_json::to_value(pending.clone().for_client(ClientLine::Legacy)).unwrap(),
            json!({"type": "RUN_FINISHED", "threadId": "t", "runId": "r", "result": {"n": 1}})
        );
        assert_eq!(pending.clone().for_client(ClientLine::V1), pending);
        assert_eq!(
            serde_json::to_value(finished(Outcome::Cancelled).for_client(ClientLine::Legacy))
                .unwrap(),
            json!({"type": "RUN_ERROR", "message": "The run was cancelled", "code": "cancelled"})
        );
        let interrupt = finished(Outcome::Interrupt {
            interrupts: Vec::new(),
        });
        assert_eq!(interrupt.clone().for_client(ClientLine::Legacy), interrupt);
        assert_eq!(ClientLine::of_request(None), ClientLine::Legacy);
        assert_eq!(ClientLine::of_request(Some("1.0")), ClientLine::V1);
    }

    #[test]
    fn diff_is_a_json_patch() {
        let old = json!({"a": 1, "b": {"c": [1], "d/e": true}, "gone": 0});
        let new = json!({"a": 2, "b": {"c": [1, 2], "d/e": true}, "new": "x"});
        assert_eq!(
            diff(&old, &new),
            vec![
                json!({"op": "replace", "path": "/a", "value": 2}),
                json!({"op": "replace", "path": "/b/c", "value": [1, 2]}),
                json!({"op": "remove", "path": "/gone"}),
                json!({"op": "add", "path": "/new", "value": "x"}),
            ]
        );
        assert!(diff(&new, &new).is_empty());
        assert_eq!(
            diff(&json!(1), &json!([2])),
            vec![json!({"op": "replace", "path": "", "value": [2]})]
        );
    }
}
