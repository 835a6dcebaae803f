//! The engine's one error type: what can go wrong starting, resuming or
//! reading a run, each variant saying its class (not found, invalid, too
//! large, busy, unavailable) so every adapter renders it in its protocol's
//! shape without classifying it again. Depends on the store's error only.

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("agent '{0}' not found")]
    AgentNotFound(String),
    #[error("run '{0}' not found")]
    RunNotFound(String),
    /// A session that does not exist or is not the caller's: the two read
    /// the same, so ids cannot be probed.
    #[error("session '{0}' not found")]
    SessionNotFound(String),
    /// The caller may not do this (an agent or team whose `allowed_scopes`
    /// it holds none of, a `user_id` naming someone else). Clients get a
    /// 403 in their protocol's shape.
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("run '{0}' already exists")]
    RunExists(String),
    #[error("run '{run_id}' is {status}, not awaiting input")]
    NotAwaiting { run_id: String, status: String },
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A file the run cannot use: a type the model cannot take, or content
    /// that is not what it claims to be. Clients get it as a 400.
    #[error("file '{file}' cannot be used: {reason}")]
    UnsupportedMedia { file: String, reason: String },
    /// A document whose reading would cost more than `[files]` allows
    /// (drawings nested or looping, too many operators, text that inflates
    /// past its cap), or whose reader crashed or ran out of time or memory
    /// in its worker process. Clients get it as a 422 naming the file.
    #[error("file '{file}' could not be read within this server's limits: {reason}")]
    DocumentOverBudget { file: String, reason: String },
    /// A file (`file` set) or the files of one request together are over the
    /// configured limit. Clients get it as a 413.
    #[error("{}", too_large_message(.file.as_deref(), *.bytes, *.limit))]
    TooLarge {
        file: Option<String>,
        bytes: u64,
        limit: u64,
    },
    /// A limit of live runs is reached: the global one
    /// (`server.max_concurrent_runs`), or with `per_caller` the one of the
    /// caller that asked. Adapters answer 429 with `Retry-After:
    /// retry_after_secs`.
    #[error(
        "too many runs in progress{} (limit {limit}); retry in {retry_after_secs} s",
        if *.per_caller { " for this caller" } else { "" }
    )]
    TooManyRuns {
        limit: usize,
        per_caller: bool,
        retry_after_secs: u64,
    },
    /// The server is shutting down and starts no new runs: adapters answer 503.
    #[error("the server is shutting down")]
    ShuttingDown,
    /// The store cannot be written or read right now (a full disk, a
    /// database that is down or unreachable): a passing condition, not a
    /// fault of the request or of agentd. Adapters answer 503 with
    /// `Retry-After: retry_after_secs`, each in its protocol's shape. Every
    /// `StoreError::Unavailable` becomes this (see the `From` below): the
    /// one place a store error is classified.
    #[error("the store is unavailable, retry in {retry_after_secs} s ({reason})")]
    StoreUnavailable {
        reason: String,
        retry_after_secs: u64,
    },
    /// Any other store error (damaged data, a run another replica took
    /// over): a fault, answered 500.
    #[error(transparent)]
    Store(StoreError),
}

/// What a client refused because the store is unavailable is told to wait.
const STORE_RETRY_AFTER_SECS: u64 = 5;

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(reason) => EngineError::StoreUnavailable {
                reason,
                retry_after_secs: STORE_RETRY_AFTER_SECS,
            },
            other => EngineError::Store(other),
        }
    }
}

fn too_large_message(file: Option<&str>, bytes: u64, limit: u64) -> String {
    match file {
        Some(f) => format!("file '{f}' is {bytes} bytes, over the limit of {limit} bytes per file"),
        None => format!(
            "the files of this request total {bytes} bytes, over the limit of {limit} bytes per request"
        ),
    }
}

/// What kind of failure an `EngineError` is, for every client alike: the
/// HTTP status it is answered with unless a protocol's specification says
/// otherwise, and, for a passing condition, how long to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorClass {
    pub status: u16,
    pub retry_after_secs: Option<u64>,
}

impl EngineError {
    /// The one place an engine error is classified; adapters read it and
    /// word the body in their protocol's shape.
    pub fn class(&self) -> ErrorClass {
        let (status, retry_after_secs) = match self {
            EngineError::AgentNotFound(_)
            | EngineError::RunNotFound(_)
            | EngineError::SessionNotFound(_) => (404, None),
            EngineError::Forbidden(_) => (403, None),
            EngineError::RunExists(_) | EngineError::NotAwaiting { .. } => (409, None),
            EngineError::InvalidInput(_) | EngineError::UnsupportedMedia { .. } => (400, None),
            EngineError::DocumentOverBudget { .. } => (422, None),
            EngineError::TooLarge { .. } => (413, None),
            EngineError::TooManyRuns {
                retry_after_secs, ..
            } => (429, Some(*retry_after_secs)),
            EngineError::ShuttingDown => (503, None),
            EngineError::StoreUnavailable {
                retry_after_secs, ..
            } => (503, Some(*retry_after_secs)),
            EngineError::Store(_) => (500, None),
        };
        ErrorClass {
            status,
            retry_after_secs,
        }
    }
}
