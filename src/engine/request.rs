//! What adapters ask of the engine: the request that starts a run, the
//! answers that resume a paused one, and who is asking (for run limits).
//!
//! Engine input only; the records these requests leave live in
//! `crate::domain`.

use serde_json::Value;

use crate::domain::{Message, ToolSpec};

/// Everything an adapter can ask of the engine when starting a run.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    /// The agent or team to run.
    pub agent_id: String,
    /// The new input: usually one user message, possibly with attachments.
    pub input: Vec<Message>,
    /// Continue this session; a new one is created when absent.
    pub session_id: Option<String>,
    /// Use this run id (AG-UI clients choose their own); generated when absent.
    pub run_id: Option<String>,
    pub user_id: Option<String>,
    /// The conversation so far as the client holds it. When set it replaces
    /// the stored session history (AG-UI clients resend the whole transcript).
    pub history: Option<Vec<Message>>,
    /// Tools the client executes itself; calling one pauses the run.
    pub client_tools: Vec<ToolSpec>,
    /// Client-held shared state, echoed back as a snapshot.
    pub state: Option<Value>,
    pub metadata: Option<Value>,
    /// Run on this `[models]` entry instead of the agent's own model (a
    /// per-run model override; the adapter decides which ones it allows).
    pub model: Option<String>,
    /// Opaque label of the adapter that created the run (for listings and
    /// metrics); the engine never branches on it.
    pub origin: String,
    /// Who asked, for their own limit of live runs; none: only the global
    /// limit applies.
    pub caller: Option<RunCaller>,
}

/// Whoever starts or resumes a run, as far as the engine's run limits care:
/// an opaque id (the HTTP layer uses one per API key) and how many live
/// top-level runs that caller may have at once (0 = no limit of its own).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunCaller {
    pub id: String,
    pub max_concurrent_runs: usize,
}

/// Answers to an awaiting run.
#[derive(Debug, Clone, Default)]
pub struct ResumeRequest {
    /// Results of the client-side tool calls the run waits for (tool messages).
    pub tool_results: Vec<Message>,
    /// Approvals or rejections of the calls that wait for one. A call left
    /// without a decision is not run (the model is told no approval came).
    pub decisions: Vec<ToolDecision>,
    /// A follow-up message from the user, if any.
    pub message: Option<Message>,
    /// Who resumes it: the resumed run counts against their limit.
    pub caller: Option<RunCaller>,
}

/// A person's answer to a call waiting for approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolDecision {
    pub call_id: String,
    pub approved: bool,
    /// Why, in the person's words; a rejection's note reaches the model.
    pub note: Option<String>,
}
