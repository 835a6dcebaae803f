//! `[engine]`: the limits of one run (model calls, history given to the
//! model, a tool call's time and the size of its result) and how often
//! stranded runs are looked for, with the checks of their values.

use serde::Deserialize;

use super::{Config, ConfigError};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// Model calls one run may make before it is stopped (tool loops end here).
    pub max_steps: u32,
    /// Session messages given to the model on a new run of that session.
    pub history_messages: usize,
    /// Seconds a tool call may take before it is answered with a timeout error.
    pub tool_timeout_secs: u64,
    /// Characters of one tool result the model is shown; a longer result is
    /// cut there and ends with a marker saying how much was left out.
    pub tool_result_max_chars: usize,
    /// Seconds between looks for runs this process holds in flight in the
    /// store with nothing running them (a start cut short by a fault); a
    /// run two looks in a row find so is ended as failed.
    pub sweep_secs: u64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_steps: 10,
            history_messages: 40,
            tool_timeout_secs: 30,
            tool_result_max_chars: 20_000,
            sweep_secs: 30,
        }
    }
}

impl Config {
    pub(super) fn validate_engine(&self) -> Result<(), ConfigError> {
        for (field, value) in [
            ("engine.max_steps", u64::from(self.engine.max_steps)),
            ("engine.tool_timeout_secs", self.engine.tool_timeout_secs),
            (
                "engine.tool_result_max_chars",
                self.engine.tool_result_max_chars as u64,
            ),
        ] {
            if value == 0 {
                return Err(self.invalid(field, "must be at least 1"));
            }
        }
        Ok(())
    }
}
