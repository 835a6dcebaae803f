//! `[codegen]`: who may call the Codegen agent API (users, their keys and
//! organizations), what their runs may run (agent types, model names) and
//! how fast they may create them, with the checks of those values.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Config, ConfigError, RateLimits};

/// `[codegen]`: who may call the Codegen agent API and what they may run.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct CodegenConfig {
    /// The base URL clients reach agentd at, for `web_url` links (e.g.
    /// `https://agentd.example.com`). Absent: built from the request's Host.
    pub public_base_url: Option<String>,
    /// The agent type used when a request names none.
    pub default_agent_type: CodegenAgentType,
    /// Which agent each Codegen agent type runs; unmapped types run the
    /// first agent in `[[agents]]`.
    pub agent_types: CodegenAgentTypes,
    /// Model names a request's `model` may name, each mapped to a `[models]`
    /// key. A name not listed here is refused with 422.
    pub models: BTreeMap<String, String>,
    pub rate_limit: CodegenRateLimit,
    pub users: Vec<CodegenUser>,
    pub organizations: Vec<CodegenOrganization>,
}

#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CodegenAgentType {
    #[default]
    Codegen,
    ClaudeCode,
}

impl CodegenAgentType {
    pub fn as_str(self) -> &'static str {
        match self {
            CodegenAgentType::Codegen => "codegen",
            CodegenAgentType::ClaudeCode => "claude_code",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct CodegenAgentTypes {
    pub codegen: Option<String>,
    pub claude_code: Option<String>,
}

impl CodegenAgentTypes {
    pub fn get(&self, t: CodegenAgentType) -> Option<&str> {
        match t {
            CodegenAgentType::Codegen => self.codegen.as_deref(),
            CodegenAgentType::ClaudeCode => self.claude_code.as_deref(),
        }
    }
}

/// Create-run requests allowed per API key in a sliding window.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CodegenRateLimit {
    pub creates: u32,
    pub window_secs: u64,
}

impl Default for CodegenRateLimit {
    fn default() -> Self {
        Self {
            creates: 10,
            window_secs: 60,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodegenUser {
    pub id: i64,
    #[serde(default)]
    pub email: Option<String>,
    /// Shown as `github_username`; defaults to `user-<id>`.
    #[serde(default)]
    pub github_username: Option<String>,
    /// Shown as `github_user_id`; defaults to the user id.
    #[serde(default)]
    pub github_user_id: Option<String>,
    #[serde(default)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub avatar_url: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub is_admin: bool,
    /// Bearer tokens that act as this user. Empty strings are ignored, so
    /// `"${CODEGEN_API_KEY:-}"` switches a key off when the variable is unset.
    #[serde(default)]
    pub api_keys: Vec<String>,
    /// Ids of the organizations this user is a member of.
    #[serde(default)]
    pub organizations: Vec<i64>,
    /// Overrides `server.max_concurrent_runs_per_key` for this user's keys.
    #[serde(default)]
    pub max_concurrent_runs: Option<usize>,
    /// Override `server.rate_limits` for this user's keys.
    #[serde(default)]
    pub rate_limits: RateLimits,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodegenOrganization {
    pub id: i64,
    pub name: String,
    /// Codegen runs this organization may create in total; over it, 402.
    #[serde(default)]
    pub run_quota: Option<u64>,
    #[serde(default)]
    pub repositories: Vec<CodegenRepository>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodegenRepository {
    pub id: i64,
    pub name: String,
}

impl Config {
    pub(super) fn validate_codegen(&self, cg: &CodegenConfig) -> Result<(), ConfigError> {
        if let Some(url) = cg.public_base_url.as_deref().filter(|u| !u.is_empty())
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(self.invalid(
                "codegen.public_base_url",
                format!("'{url}' must start with http:// or https://"),
            ));
        }
        for (field, agent) in [
            ("codegen", &cg.agent_types.codegen),
            ("claude_code", &cg.agent_types.claude_code),
        ] {
            if let Some(agent) = agent
                && self.agent(agent).is_none()
                && self.team(agent).is_none()
            {
                return Err(self.invalid(
                    format!("codegen.agent_types.{field}"),
                    format!("unknown agent or team '{agent}'"),
                ));
            }
        }
        for (name, key) in &cg.models {
            if !self.models.contains_key(key) {
                return Err(self.invalid(
                    format!("codegen.models.{name}"),
                    format!("unknown model '{key}'"),
                ));
            }
        }
        if cg.rate_limit.creates == 0 {
            return Err(self.invalid("codegen.rate_limit.creates", "must be at least 1"));
        }
        if cg.rate_limit.window_secs == 0 {
            return Err(self.invalid("codegen.rate_limit.window_secs", "must be at least 1"));
        }
        let mut orgs = std::collections::HashSet::new();
        let mut repos = std::collections::HashSet::new();
        for (i, org) in cg.organizations.iter().enumerate() {
            if !orgs.insert(org.id) {
                return Err(self.invalid(
                    format!("codegen.organizations[{i}].id"),
                    format!("{} is used twice", org.id),
                ));
            }
            for (j, repo) in org.repositories.iter().enumerate() {
                if !repos.insert(repo.id) {
                    return Err(self.invalid(
                        format!("codegen.organizations[{i}].repositories[{j}].id"),
                        format!("{} is used twice", repo.id),
                    ));
                }
            }
        }
        let mut users = std::collections::HashSet::new();
        let mut keys = std::collections::HashSet::new();
        for (i, user) in cg.users.iter().enumerate() {
            if !users.insert(user.id) {
                return Err(self.invalid(
                    format!("codegen.users[{i}].id"),
                    format!("{} is used twice", user.id),
                ));
            }
            for key in user.api_keys.iter().filter(|k| !k.is_empty()) {
                if !keys.insert(key.as_str()) {
                    return Err(self.invalid(
                        format!("codegen.users[{i}].api_keys"),
                        "a key is given to more than one user",
                    ));
                }
            }
            for org in &user.organizations {
                if !orgs.contains(org) {
                    return Err(self.invalid(
                        format!("codegen.users[{i}].organizations"),
                        format!("unknown organization {org}"),
                    ));
                }
            }
        }
        Ok(())
    }
}
