//! Why a run failed, as recorded on its `Failed` event and its record.

use serde::{Deserialize, Serialize};

/// Why a run failed, typed so each protocol can pick its own error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    ModelConnect,
    ModelTimeout,
    ModelAuth,
    ModelRateLimited,
    ModelOverloaded,
    ModelUpstream,
    ModelBadRequest,
    ModelStreamCut,
    ModelMalformed,
    /// The final answer was not JSON valid against the response schema.
    InvalidOutput,
    StepLimit,
    /// The run went on longer than its agent's `max_run_secs`.
    RunTimeout,
    Interrupted,
    Store,
    Internal,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::ModelConnect => "model_connect",
            FailureKind::ModelTimeout => "model_timeout",
            FailureKind::ModelAuth => "model_auth",
            FailureKind::ModelRateLimited => "model_rate_limited",
            FailureKind::ModelOverloaded => "model_overloaded",
            FailureKind::ModelUpstream => "model_upstream",
            FailureKind::ModelBadRequest => "model_bad_request",
            FailureKind::ModelStreamCut => "model_stream_cut",
            FailureKind::ModelMalformed => "model_malformed",
            FailureKind::InvalidOutput => "invalid_output",
            FailureKind::StepLimit => "step_limit",
            FailureKind::RunTimeout => "run_timeout",
            FailureKind::Interrupted => "interrupted",
            FailureKind::Store => "store",
            FailureKind::Internal => "internal",
        }
    }

    /// Faults that came from the model provider rather than agentd itself.
    pub fn is_model_fault(self) -> bool {
        self.as_str().starts_with("model_")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunFailure {
    pub kind: FailureKind,
    pub message: String,
}
