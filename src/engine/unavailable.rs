//! What a client refused because the store is unavailable is told: one
//! sentence, the same in every protocol (each wraps it in its own error
//! shape, with `Retry-After`).
//!
//! Depends on the engine's error type only.

use super::EngineError;

impl EngineError {
    /// For `StoreUnavailable`: the sentence clients get, with the store's
    /// reason (what an operator needs to tell a full disk from a database
    /// that is down). `None` for every other error.
    pub fn store_unavailable_message(&self) -> Option<String> {
        let EngineError::StoreUnavailable {
            reason,
            retry_after_secs,
        } = self
        else {
            return None;
        };
        Some(format!(
            "The service is temporarily unavailable: its store cannot be used right now \
             ({reason}). Retry in {retry_after_secs} seconds."
        ))
    }
}
