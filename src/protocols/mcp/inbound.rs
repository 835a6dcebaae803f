//! A tool call's arguments -> the engine's run request. A wrong argument
//! is answered as a tool result the model can read (see `error`), so this
//! says what is wrong in a sentence. Depends on the engine's types only.

use serde_json::{Map, Value};

use crate::engine::{Message, RunRequest};

/// The message and the session to continue, or why the call cannot run.
pub(crate) fn arguments(args: Map<String, Value>) -> Result<(String, Option<String>), String> {
    let message = match args.get("message") {
        Some(Value::String(m)) if !m.trim().is_empty() => m.clone(),
        Some(Value::String(_)) => return Err("'message' must not be empty".into()),
        Some(_) => return Err("'message' must be a string".into()),
        None => return Err("'message' is required: what to ask the agent".into()),
    };
    let session_id = match args.get("session_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err("'session_id' must be a string".into()),
    };
    if let Some(extra) = args
        .keys()
        .find(|k| !matches!(k.as_str(), "message" | "session_id"))
    {
        return Err(format!(
            "unknown argument '{extra}' (this tool takes message and session_id)"
        ));
    }
    Ok((message, session_id))
}

/// The run a call starts.
pub(super) fn run_request(
    agent_id: String,
    message: String,
    session_id: Option<String>,
) -> RunRequest {
    RunRequest {
        agent_id,
        input: vec![Message::user(message)],
        session_id,
        origin: "mcp".into(),
        ..Default::default()
    }
}
