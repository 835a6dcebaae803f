//! The typed configuration file: one file per section, each its settings,
//! their defaults (one `Default` per section) and the checks of their values.
//!
//! Loading is four steps: parse TOML, interpolate `${VAR}` / `${VAR:-default}`
//! in every string value (after parsing, so a value containing quotes can never
//! break the file's syntax), apply `AGENTD_SECTION__FIELD` environment
//! overrides (any setting, without the file mentioning it), then deserialize
//! and validate. Every error names the file and the field (or the variable)
//! so a platform engineer can fix it without reading code.
//!
//! - `server`: `[server]`, listening, timeouts, limits, CORS, Host check
//! - `auth`: `[auth]`, API keys and public paths
//! - `store`: `[store]`, SQLite, memory or PostgreSQL
//! - `models`: `[models.NAME]`, upstream models and generation settings
//! - `agents`: `[[agents]]` and `[[teams]]`
//! - `tools`: `[tools]` (built-in tool settings) and `[mcp_servers.NAME]`
//! - `files`: `[files]` and `[files.urls]`
//! - `codegen`: `[codegen]`, the Codegen API's users, orgs and limits
//! - `ui`: `[ui]` and `[agui]`
//! - `engine`: `[engine]`, the limits of one run
//! - `env`: `${VAR}` interpolation and `AGENTD_*__*` overrides
//!
//! Config imports only `domain` (the built-in tool names it checks agents
//! against): the engine, tools and the HTTP layer read it, never the other
//! way round.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

mod agents;
mod auth;
mod codegen;
mod engine;
mod env;
mod files;
mod jwt;
mod models;
mod server;
mod store;
mod tools;
mod ui;

pub use agents::{AgentConfig, AgentTool, TeamConfig, TeamMode, ToolSource, default_max_run_secs};
pub use auth::{ApiKey, ApiKeyEntry, AuthConfig};
pub use codegen::{
    CodegenAgentType, CodegenAgentTypes, CodegenConfig, CodegenOrganization, CodegenRateLimit,
    CodegenRepository, CodegenUser,
};
pub use engine::EngineConfig;
pub use env::{ENV_PREFIX, env_overrides};
pub use files::{FilesConfig, UnsupportedMediaPolicy, UrlInputMode, UrlInputsConfig};
pub use jwt::JwtConfig;
pub use models::{ModelConfig, Provider};
pub use server::{CorsConfig, RateLimits, ServerConfig};
pub use store::{DEFAULT_DB_PATH, StoreConfig, StoreKind, is_postgres_url};
pub use tools::{FetchHostPattern, HttpFetchConfig, McpServerConfig, ToolsConfig};
pub use ui::{AguiConfig, UiConfig};

/// The default place `agentd serve` looks for its configuration.
pub const DEFAULT_CONFIG_PATH: &str = "config/agentd.toml";
/// Anthropic requires an output limit; this one is used when none is set.
pub const ANTHROPIC_DEFAULT_MAX_TOKENS: u32 = 4096;
/// The default bind address: loopback, so a fresh install is not exposed.
pub const DEFAULT_BIND: &str = "127.0.0.1:7777";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read file: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: {field}: {message}")]
    Invalid {
        path: PathBuf,
        field: String,
        message: String,
    },
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub engine: EngineConfig,
    pub store: StoreConfig,
    pub files: FilesConfig,
    pub models: BTreeMap<String, ModelConfig>,
    pub agents: Vec<AgentConfig>,
    pub teams: Vec<TeamConfig>,
    /// The Codegen agent API: its users, keys, organizations and limits.
    /// Absent: every Codegen call answers 401.
    pub codegen: Option<CodegenConfig>,
    pub agui: AguiConfig,
    /// The built-in web pages (`/ui`).
    pub ui: UiConfig,
    pub auth: AuthConfig,
    /// Settings of built-in tools that need them (`[tools.http_fetch]`).
    pub tools: ToolsConfig,
    /// MCP servers whose tools agents may use, by name (`[mcp_servers.NAME]`).
    pub mcp_servers: BTreeMap<String, McpServerConfig>,
    /// Where the file came from, for error messages and `check-config` output.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

impl Config {
    /// Reads, interpolates, applies the process's `AGENTD_*__*` overrides
    /// and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let overrides = env_overrides(std::env::vars());
        Self::from_toml_str_with_overrides(
            &text,
            path,
            &|name| std::env::var(name).ok(),
            &overrides,
        )
    }

    /// Parses config text; `env` resolves `${VAR}` so tests need not touch the
    /// process environment.
    pub fn from_toml_str(
        text: &str,
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        Self::from_toml_str_with_overrides(text, path, env, &[])
    }

    /// As `from_toml_str`, then sets each `(variable, value)` of
    /// `overrides` (see `env_overrides`) over what the file says.
    pub fn from_toml_str_with_overrides(
        text: &str,
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
        overrides: &[(String, String)],
    ) -> Result<Config, ConfigError> {
        let parse_err = |message: String| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        };
        let mut value: toml::Value = toml::from_str(text).map_err(|e| parse_err(e.to_string()))?;
        env::interpolate(&mut value, "", env).map_err(|(field, message)| ConfigError::Invalid {
            path: path.to_path_buf(),
            field,
            message,
        })?;
        for (var, raw) in overrides {
            env::apply_override(&mut value, var, raw).map_err(|message| ConfigError::Invalid {
                path: path.to_path_buf(),
                field: var.clone(),
                message,
            })?;
        }
        let kind_explicit = value.get("store").and_then(|s| s.get("kind")).is_some();
        let mut config: Config = value.try_into().map_err(|e: toml::de::Error| {
            let mut message = e.to_string();
            if !overrides.is_empty() {
                let names: Vec<&str> = overrides.iter().map(|(v, _)| v.as_str()).collect();
                message = format!(
                    "{} (with settings from the environment: {})",
                    message.trim_end(),
                    names.join(", ")
                );
            }
            parse_err(message)
        })?;
        config.source = Some(path.to_path_buf());
        config.store.kind_explicit = kind_explicit;
        config.validate()?;
        Ok(config)
    }

    fn invalid(&self, field: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: self.source.clone().unwrap_or_default(),
            field: field.into(),
            message: message.into(),
        }
    }

    /// Checks what serde cannot: references between sections and value
    /// ranges, section by section (each check lives beside its section).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_server()?;
        self.validate_auth()?;
        self.validate_engine()?;
        self.validate_store()?;
        self.validate_files()?;
        self.validate_models()?;
        self.validate_agents_and_teams()?;
        if let Some(codegen) = &self.codegen {
            self.validate_codegen(codegen)?;
        }
        self.validate_tools()?;
        self.validate_agui()
    }
}

#[cfg(test)]
mod tests;
