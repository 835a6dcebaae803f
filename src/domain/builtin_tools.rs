//! The names of agentd's built-in tools: what an agent's `tools` list may
//! name. Here, not in `tools`, because `config` validates agents against
//! them and must not import the tools layer that implements them.

pub const CURRENT_TIME: &str = "current_time";
pub const CALCULATOR: &str = "calculator";
/// Answered by a person through a client, never run on the server.
pub const ASK_USER: &str = "ask_user";
/// Off until `[tools.http_fetch] allowed_hosts` names a host.
pub const HTTP_FETCH: &str = "http_fetch";

/// Names accepted in an agent's `tools` list.
pub const NAMES: &[&str] = &[CURRENT_TIME, CALCULATOR, ASK_USER, HTTP_FETCH];
