//! `[ui]` and `[agui]`: what browsers reach without a client of their own,
//! agentd's web pages and the agent an AG-UI frontend (CopilotKit) talks to
//! at `POST /agui`, with the check that names a known agent.

use serde::Deserialize;

use super::{Config, ConfigError};

/// agentd's own web pages: the playground, the runs list and run pages.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UiConfig {
    /// Serve `/ui` (and redirect `/` there). Off, the pages and their API
    /// answer 404; the protocols are unaffected.
    pub enabled: bool,
}

impl Default for UiConfig {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// The AG-UI interface (`POST /agui`).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct AguiConfig {
    /// The agent or team `POST /agui` runs; the first agent when unset.
    pub default_agent: Option<String>,
}

impl Config {
    /// The agent or team `POST /agui` runs: the configured one, else the
    /// first agent.
    pub fn agui_default_agent(&self) -> Option<&str> {
        match self.agui.default_agent.as_deref() {
            Some(id) => Some(id),
            None => self.agents.first().map(|a| a.id.as_str()),
        }
    }

    pub(super) fn validate_agui(&self) -> Result<(), ConfigError> {
        if let Some(id) = self.agui.default_agent.as_deref()
            && self.agent(id).is_none()
            && self.team(id).is_none()
        {
            return Err(self.invalid(
                "agui.default_agent",
                format!("unknown agent or team '{id}'"),
            ));
        }
        Ok(())
    }
}
