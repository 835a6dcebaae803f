//! The typed configuration file: server settings, store, models, agents.
//!
//! Loading is four steps: parse TOML, interpolate `${VAR}` / `${VAR:-default}`
//! in every string value (after parsing, so a value containing quotes can never
//! break the file's syntax), apply `AGENTD_SECTION__FIELD` environment
//! overrides (any setting, without the file mentioning it), then deserialize
//! and validate. Every error names the file and the field (or the variable)
//! so a platform engineer can fix it without reading code.
//!
//! Sections live beside it as they move out of this file (`server`,
//! `files`): each its settings and their defaults.
//!
//! This module depends on nothing else in the crate: the engine and the HTTP
//! layer read it, never the other way round.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

mod files;
mod jwt;
mod server;
pub use files::{FilesConfig, UnsupportedMediaPolicy, UrlInputMode, UrlInputsConfig};
pub use jwt::JwtConfig;
pub use server::{CorsConfig, RateLimits, ServerConfig};

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
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub engine: EngineConfig,
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub files: FilesConfig,
    #[serde(default)]
    pub models: BTreeMap<String, ModelConfig>,
    #[serde(default)]
    pub agents: Vec<AgentConfig>,
    #[serde(default)]
    pub teams: Vec<TeamConfig>,
    /// The Codegen agent API: its users, keys, organizations and limits.
    /// Absent: every Codegen call answers 401.
    #[serde(default)]
    pub codegen: Option<CodegenConfig>,
    #[serde(default)]
    pub agui: AguiConfig,
    /// The built-in web pages (`/ui`).
    #[serde(default)]
    pub ui: UiConfig,
    #[serde(default)]
    pub auth: AuthConfig,
    /// Settings of built-in tools that need them (`[tools.http_fetch]`).
    #[serde(default)]
    pub tools: ToolsConfig,
    /// MCP servers whose tools agents may use, by name (`[mcp_servers.NAME]`).
    #[serde(default)]
    pub mcp_servers: BTreeMap<String, McpServerConfig>,
    /// Where the file came from, for error messages and `check-config` output.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// Bearer API keys. Off when no non-empty key is configured, so
/// `api_keys = ["${AGENTD_API_KEY:-}"]` turns auth on by setting one variable.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Each a key, or a table with the key and its own limits:
    /// `{ key = "...", name = "ci", max_concurrent_runs = 2, rate_limits = { acp = 30 } }`.
    #[serde(default)]
    pub api_keys: Vec<ApiKey>,
    /// Exact paths served without a key when auth is on (probes and scrapers
    /// usually carry none). /docs and /openapi.json are always public.
    #[serde(default = "default_public_paths")]
    pub public_paths: Vec<String>,
    /// JWT bearer tokens from an OpenID Connect provider (`[auth.jwt]`).
    #[serde(default)]
    pub jwt: Option<JwtConfig>,
}

impl AuthConfig {
    /// The configured keys that are not empty.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.api_keys
            .iter()
            .map(ApiKey::key)
            .filter(|k| !k.is_empty())
    }

    pub fn enabled(&self) -> bool {
        self.keys().next().is_some() || self.jwt.is_some()
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            api_keys: Vec::new(),
            public_paths: default_public_paths(),
            jwt: None,
        }
    }
}

/// Keys are secrets: a debug print of the config must never show them.
impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field(
                "api_keys",
                &format_args!("[{} redacted]", self.keys().count()),
            )
            .field("public_paths", &self.public_paths)
            .field("jwt", &self.jwt)
            .finish()
    }
}

/// One entry of `auth.api_keys`: a bare key, or a key with a name (used in
/// place of the key wherever a caller is named) and limits of its own.
#[derive(Clone, PartialEq, Eq)]
pub enum ApiKey {
    Key(String),
    Entry(ApiKeyEntry),
}

#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyEntry {
    pub key: String,
    #[serde(default)]
    pub name: Option<String>,
    /// Overrides `server.max_concurrent_runs_per_key` for this key.
    #[serde(default)]
    pub max_concurrent_runs: Option<usize>,
    /// Override `server.rate_limits` for this key, protocol by protocol.
    #[serde(default)]
    pub rate_limits: RateLimits,
    /// The user this key acts as (a user like any other, seeing only its
    /// own). Unset: the key is an admin, as every key was before users.
    #[serde(default)]
    pub user: Option<String>,
    /// Whether the key sees every user's data; by default, when it names
    /// no `user`.
    #[serde(default)]
    pub admin: Option<bool>,
}

impl ApiKey {
    pub fn key(&self) -> &str {
        match self {
            ApiKey::Key(k) => k,
            ApiKey::Entry(e) => &e.key,
        }
    }

    pub fn name(&self) -> Option<&str> {
        match self {
            ApiKey::Key(_) => None,
            ApiKey::Entry(e) => e.name.as_deref(),
        }
    }

    pub fn max_concurrent_runs(&self) -> Option<usize> {
        match self {
            ApiKey::Key(_) => None,
            ApiKey::Entry(e) => e.max_concurrent_runs,
        }
    }

    pub fn rate_limits(&self) -> RateLimits {
        match self {
            ApiKey::Key(_) => RateLimits::default(),
            ApiKey::Entry(e) => e.rate_limits,
        }
    }

    /// The user this key acts as, if it names one.
    pub fn user(&self) -> Option<&str> {
        match self {
            ApiKey::Key(_) => None,
            ApiKey::Entry(e) => e.user.as_deref(),
        }
    }

    /// Whether this key sees every user's data: a bare key does, and an
    /// entry unless it names a user (either overridden by `admin`).
    pub fn admin(&self) -> bool {
        match self {
            ApiKey::Key(_) => true,
            ApiKey::Entry(e) => e.admin.unwrap_or(e.user.is_none()),
        }
    }
}

impl From<&str> for ApiKey {
    fn from(key: &str) -> Self {
        ApiKey::Key(key.to_string())
    }
}

/// A string or a table, with the table's own field errors (serde's
/// untagged enums would only say that nothing matched).
impl<'de> Deserialize<'de> for ApiKey {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ApiKey;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a key string, or a table with `key` and the key's limits")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ApiKey, E> {
                Ok(ApiKey::Key(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<ApiKey, A::Error> {
                ApiKeyEntry::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(ApiKey::Entry)
            }
        }
        de.deserialize_any(Visitor)
    }
}

fn default_public_paths() -> Vec<String> {
    ["/health", "/ready", "/metrics"].map(String::from).to_vec()
}

/// A name `server.allowed_hosts` may list: `*`, a DNS name or IPv4
/// address, or a bracketed IPv6 address, without a port.
fn is_host_pattern(host: &str) -> bool {
    if host == "*" {
        return true;
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineConfig {
    /// Model calls one run may make before it is stopped (tool loops end here).
    #[serde(default = "default_max_steps")]
    pub max_steps: u32,
    /// Session messages given to the model on a new run of that session.
    #[serde(default = "default_history")]
    pub history_messages: usize,
    /// Seconds a tool call may take before it is answered with a timeout error.
    #[serde(default = "default_tool_timeout")]
    pub tool_timeout_secs: u64,
    /// Characters of one tool result the model is shown; a longer result is
    /// cut there and ends with a marker saying how much was left out.
    #[serde(default = "default_tool_result_max_chars")]
    pub tool_result_max_chars: usize,
    /// Seconds between looks for runs this process holds in flight in the
    /// store with nothing running them (a start cut short by a fault); a
    /// run two looks in a row find so is ended as failed.
    #[serde(default = "default_sweep_secs")]
    pub sweep_secs: u64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_steps: default_max_steps(),
            history_messages: default_history(),
            tool_timeout_secs: default_tool_timeout(),
            tool_result_max_chars: default_tool_result_max_chars(),
            sweep_secs: default_sweep_secs(),
        }
    }
}

fn default_tool_result_max_chars() -> usize {
    20_000
}

fn default_sweep_secs() -> u64 {
    30
}

fn default_max_steps() -> u32 {
    10
}
fn default_history() -> usize {
    40
}
fn default_tool_timeout() -> u64 {
    30
}

/// The AG-UI interface (`POST /agui`).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AguiConfig {
    /// The agent or team `POST /agui` runs; the first agent when unset.
    #[serde(default)]
    pub default_agent: Option<String>,
}

/// agentd's own web pages: the playground, the runs list and run pages.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiConfig {
    /// Serve `/ui` (and redirect `/` there). Off, the pages and their API
    /// answer 404; the protocols are unaffected.
    #[serde(default = "yes")]
    pub enabled: bool,
}

impl Default for UiConfig {
    fn default() -> Self {
        Self { enabled: true }
    }
}

fn yes() -> bool {
    true
}

/// The default database file of the `sqlite` store, relative to the working directory.
pub const DEFAULT_DB_PATH: &str = "data/agentd.db";

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// One SQLite file (WAL mode): sessions, runs and event logs survive restarts.
    #[default]
    Sqlite,
    /// Nothing survives the process; for throwaway use and tests.
    Memory,
    /// A shared PostgreSQL database (`url`): several replicas may use one.
    Postgres,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    #[serde(default)]
    pub kind: StoreKind,
    /// The SQLite database file; its directory is created when missing.
    /// Relative paths resolve against the working directory.
    #[serde(default = "default_db_path")]
    pub path: PathBuf,
    /// The PostgreSQL connection URL (`postgres://...`) of the `postgres` store.
    #[serde(default)]
    pub url: Option<String>,
    /// PostgreSQL: how long a run may go without its replica's heartbeat
    /// before another replica declares it orphaned and fails it.
    #[serde(default = "default_lease_secs")]
    pub lease_secs: u64,
    /// Whether the file named `kind` itself (then DATABASE_URL cannot override it).
    #[serde(skip)]
    pub kind_explicit: bool,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            kind: StoreKind::default(),
            path: default_db_path(),
            url: None,
            lease_secs: default_lease_secs(),
            kind_explicit: false,
        }
    }
}

fn default_lease_secs() -> u64 {
    30
}

/// Whether a URL names a PostgreSQL server.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

fn default_db_path() -> PathBuf {
    PathBuf::from(DEFAULT_DB_PATH)
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Deterministic, offline; see `models::builtin`.
    Builtin,
    /// OpenAI chat completions and every server that speaks it (Ollama, vLLM, llama.cpp...).
    Openai,
    /// The Anthropic Messages API.
    Anthropic,
    /// `openai` when `api_key` or `base_url` resolves to a non-empty value, else `builtin`:
    /// lets one default config work both offline and with `OPENAI_API_KEY` set.
    Auto,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub provider: Provider,
    /// The upstream model name (e.g. `gpt-4o-mini`, `llama3.1`).
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub api_key: Option<String>,
    #[serde(default)]
    pub temperature: Option<f32>,
    /// Output token limit; Anthropic requires one, so it defaults there.
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// Sequences that end generation.
    #[serde(default)]
    pub stop: Option<Vec<String>>,
    /// JSON Schema the final answer must satisfy (an inline table, or the
    /// schema as a JSON string). Agents may override it.
    #[serde(default, deserialize_with = "de_schema")]
    pub response_schema: Option<serde_json::Value>,
    /// OpenAI `strict` structured outputs (the schema must then follow
    /// OpenAI's strict subset). Defaults to true.
    #[serde(default)]
    pub response_schema_strict: Option<bool>,
    /// Anthropic only: the `anthropic-version` header.
    #[serde(default)]
    pub anthropic_version: Option<String>,
    /// Anthropic only: enables extended thinking with this token budget
    /// (at least 1024, below `max_tokens`).
    #[serde(default)]
    pub thinking_budget_tokens: Option<u32>,
    /// Further attempts after a connect error, 429, 529 or 5xx that came
    /// before any output.
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    /// Seconds to establish a connection upstream.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: u64,
    /// Seconds of silence allowed between two chunks of an upstream stream.
    #[serde(default = "default_read_timeout")]
    pub read_timeout_secs: u64,
    /// Builtin only: pause between streamed tokens, to imitate a real model.
    #[serde(default)]
    pub token_delay_ms: u64,
    /// Speak HTTP/2 to a plain-`http://` upstream without asking first
    /// (h2c, like curl's `--http2-prior-knowledge`), for gateways that
    /// serve it. Every stream to the model then shares a few connections
    /// instead of holding one each: 5-9 KB less memory per concurrent run
    /// (bench row 4). `https://` upstreams negotiate HTTP/2 on their own (ALPN),
    /// so this is for cleartext ones; an HTTP/1.1-only server refuses it.
    #[serde(default)]
    pub http2_prior_knowledge: bool,
    /// Requests one upstream client carries at once before agentd opens
    /// another. An HTTP/2 connection (HTTPS providers negotiate it) takes
    /// only as many concurrent streams as its server allows and makes the
    /// rest wait; servers allow at least 100 (RFC 9113 recommends it).
    #[serde(default = "default_max_streams_per_connection")]
    pub max_streams_per_connection: usize,
}

fn default_max_streams_per_connection() -> usize {
    100
}

fn default_max_retries() -> u32 {
    2
}
fn default_connect_timeout() -> u64 {
    10
}
fn default_read_timeout() -> u64 {
    120
}

impl ModelConfig {
    /// The provider after resolving `auto`.
    pub fn effective_provider(&self) -> Provider {
        match self.provider {
            Provider::Auto => {
                let set = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
                if set(&self.api_key) || set(&self.base_url) {
                    Provider::Openai
                } else {
                    Provider::Builtin
                }
            }
            p => p,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub instructions: Option<String>,
    /// Key into `[models]`.
    pub model: String,
    /// The tools this agent may call: built-in tool names, or tables naming
    /// a built-in tool or an MCP server's tools, optionally behind a
    /// person's approval (`confirm = true`).
    #[serde(default)]
    pub tools: Vec<AgentTool>,
    /// Overrides `engine.max_steps` for this agent.
    #[serde(default)]
    pub max_steps: Option<u32>,
    /// Key into `[models]`: takes over a model turn when `model` fails
    /// (unavailable, overloaded, timed out) before producing any output.
    #[serde(default)]
    pub fallback: Option<String>,
    /// Overrides the model's setting for this agent.
    #[serde(default)]
    pub temperature: Option<f32>,
    /// Overrides the model's setting for this agent.
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// Overrides the model's setting for this agent.
    #[serde(default)]
    pub stop: Option<Vec<String>>,
    /// Overrides the model's `response_schema` for this agent.
    #[serde(default, deserialize_with = "de_schema")]
    pub response_schema: Option<serde_json::Value>,
    /// Overrides the model's `response_schema_strict` for this agent.
    #[serde(default)]
    pub response_schema_strict: Option<bool>,
    /// Seconds a run of this agent may go on before it is ended as failed
    /// (`run_timeout`): a bound on the whole run, where the model's own
    /// timeouts bound each wait. Counted from each start or resume (a
    /// paused run waits for its answers without limit). An hour by default.
    #[serde(default = "default_max_run_secs")]
    pub max_run_secs: u64,
    /// Scopes of which a caller must hold one to run this agent. Unset:
    /// anyone authenticated.
    #[serde(default)]
    pub allowed_scopes: Option<Vec<String>>,
}

/// What `max_run_secs` is when an agent does not say (and a team's leader's).
pub fn default_max_run_secs() -> u64 {
    3600
}

/// A schema is written as a TOML table, or as JSON text in a string (easier
/// to paste, and the only way to spell `null` or mixed arrays).
fn de_schema<'de, D>(de: D) -> Result<Option<serde_json::Value>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let value = Option::<serde_json::Value>::deserialize(de)?;
    match value {
        Some(serde_json::Value::String(text)) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| serde::de::Error::custom(format!("response_schema is not JSON: {e}"))),
        other => Ok(other),
    }
}

/// One entry of an agent's `tools`: `"calculator"`, `{ name = "http_fetch",
/// confirm = true }`, `{ mcp = "files" }` (all of that server's tools) or
/// `{ mcp = "files", tools = ["read_file"], confirm = true }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentTool {
    pub source: ToolSource,
    /// Each call waits for a person's approval before it runs.
    pub confirm: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolSource {
    /// A built-in tool by name.
    Builtin(String),
    /// Tools of the MCP server `server`: all of them, or only `tools`.
    Mcp {
        server: String,
        tools: Option<Vec<String>>,
    },
}

impl AgentTool {
    pub fn builtin(name: impl Into<String>) -> Self {
        Self {
            source: ToolSource::Builtin(name.into()),
            confirm: false,
        }
    }
}

/// The table form of an agent's tool entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolEntry {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    mcp: Option<String>,
    #[serde(default)]
    tools: Option<Vec<String>>,
    #[serde(default)]
    confirm: bool,
}

impl TryFrom<ToolEntry> for AgentTool {
    type Error = String;

    fn try_from(e: ToolEntry) -> Result<Self, String> {
        let source = match (e.name, e.mcp, e.tools) {
            (Some(name), None, None) => ToolSource::Builtin(name),
            (None, Some(server), tools) => ToolSource::Mcp { server, tools },
            (Some(_), Some(_), _) => {
                return Err(
                    "a tool entry names either a built-in tool (`name`) or an MCP server (`mcp`), not both; pick an MCP server's tools with `tools = [...]`".into(),
                );
            }
            (None, None, _) => {
                return Err(
                    "a tool entry needs `name` (a built-in tool) or `mcp` (an MCP server)".into(),
                );
            }
            (Some(_), None, Some(_)) => {
                return Err("`tools` goes with `mcp`, not with `name`".into());
            }
        };
        Ok(AgentTool {
            source,
            confirm: e.confirm,
        })
    }
}

impl<'de> Deserialize<'de> for AgentTool {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = AgentTool;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a built-in tool name, or a table like { mcp = \"server\" }")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<AgentTool, E> {
                Ok(AgentTool::builtin(v))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<AgentTool, A::Error> {
                let entry =
                    ToolEntry::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                AgentTool::try_from(entry).map_err(serde::de::Error::custom)
            }
        }
        de.deserialize_any(Visitor)
    }
}

/// `[tools]`: settings of the built-in tools that need them.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ToolsConfig {
    #[serde(default)]
    pub http_fetch: HttpFetchConfig,
}

/// `[tools.http_fetch]`: the `http_fetch` tool is off until `allowed_hosts`
/// names at least one host.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpFetchConfig {
    /// Hosts the tool may fetch from: `example.com` (any port),
    /// `example.com:8080` (that port only) or `*.example.com` (its
    /// subdomains). Every redirect must stay on these hosts.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Bytes of a response body read at most; the rest is cut off.
    #[serde(default = "default_fetch_max_bytes")]
    pub max_response_bytes: u64,
    /// Seconds one fetch may take in all (connect, redirects, body).
    #[serde(default = "default_fetch_timeout")]
    pub timeout_secs: u64,
    /// Redirects followed at most.
    #[serde(default = "default_fetch_redirects")]
    pub max_redirects: usize,
}

impl Default for HttpFetchConfig {
    fn default() -> Self {
        Self {
            allowed_hosts: Vec::new(),
            max_response_bytes: default_fetch_max_bytes(),
            timeout_secs: default_fetch_timeout(),
            max_redirects: default_fetch_redirects(),
        }
    }
}

fn default_fetch_max_bytes() -> u64 {
    256 * 1024
}
fn default_fetch_timeout() -> u64 {
    10
}
fn default_fetch_redirects() -> usize {
    5
}

/// `[mcp_servers.NAME]`: an MCP server whose tools agents may use. Either
/// `command` (a stdio server agentd starts as a child process and stops
/// when it shuts down) or `url` (a streamable-HTTP server).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpServerConfig {
    /// The program to run (looked up on PATH).
    #[serde(default)]
    pub command: Option<String>,
    #[serde(default)]
    pub args: Vec<String>,
    /// Variables added to the child's environment (agentd's own are inherited).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The child's working directory (default: agentd's).
    #[serde(default)]
    pub cwd: Option<PathBuf>,
    /// The streamable-HTTP endpoint, e.g. `https://mcp.example.com/mcp`.
    #[serde(default)]
    pub url: Option<String>,
    /// Headers sent with every request to `url` (e.g. Authorization).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Seconds to connect and list the tools, at start and on reconnects.
    #[serde(default = "default_mcp_startup_timeout")]
    pub startup_timeout_secs: u64,
}

fn default_mcp_startup_timeout() -> u64 {
    20
}

impl McpServerConfig {
    /// What kind of server this is, for logs.
    pub fn transport(&self) -> &'static str {
        if self.command.is_some() {
            "stdio"
        } else {
            "streamable-http"
        }
    }
}

impl AgentConfig {
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}

/// How a team's leader works with its members.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TeamMode {
    /// The leader picks one member; that member's answer is the team's answer.
    Route,
    /// The leader delegates subtasks through tool calls and writes the answer.
    #[default]
    Coordinate,
    /// Every member gets the task at once; the leader synthesizes.
    Broadcast,
}

impl TeamMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TeamMode::Route => "route",
            TeamMode::Coordinate => "coordinate",
            TeamMode::Broadcast => "broadcast",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamConfig {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub instructions: Option<String>,
    /// The leader's model: key into `[models]`.
    pub model: String,
    /// Ids of agents or other teams.
    pub members: Vec<String>,
    #[serde(default)]
    pub mode: TeamMode,
    #[serde(default)]
    pub max_steps: Option<u32>,
    /// Scopes of which a caller must hold one to run this team. Unset:
    /// anyone authenticated.
    #[serde(default)]
    pub allowed_scopes: Option<Vec<String>>,
}

impl TeamConfig {
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}

/// `[codegen]`: who may call the Codegen agent API and what they may run.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CodegenConfig {
    /// The base URL clients reach agentd at, for `web_url` links (e.g.
    /// `https://agentd.example.com`). Absent: built from the request's Host.
    #[serde(default)]
    pub public_base_url: Option<String>,
    /// The agent type used when a request names none.
    #[serde(default)]
    pub default_agent_type: CodegenAgentType,
    /// Which agent each Codegen agent type runs; unmapped types run the
    /// first agent in `[[agents]]`.
    #[serde(default)]
    pub agent_types: CodegenAgentTypes,
    /// Model names a request's `model` may name, each mapped to a `[models]`
    /// key. A name not listed here is refused with 422.
    #[serde(default)]
    pub models: BTreeMap<String, String>,
    #[serde(default)]
    pub rate_limit: CodegenRateLimit,
    #[serde(default)]
    pub users: Vec<CodegenUser>,
    #[serde(default)]
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
#[serde(deny_unknown_fields)]
pub struct CodegenAgentTypes {
    #[serde(default)]
    pub codegen: Option<String>,
    #[serde(default)]
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
#[serde(deny_unknown_fields)]
pub struct CodegenRateLimit {
    #[serde(default = "default_creates")]
    pub creates: u32,
    #[serde(default = "default_window")]
    pub window_secs: u64,
}

impl Default for CodegenRateLimit {
    fn default() -> Self {
        Self {
            creates: default_creates(),
            window_secs: default_window(),
        }
    }
}

fn default_creates() -> u32 {
    10
}
fn default_window() -> u64 {
    60
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
        interpolate(&mut value, "", env).map_err(|(field, message)| ConfigError::Invalid {
            path: path.to_path_buf(),
            field,
            message,
        })?;
        for (var, raw) in overrides {
            apply_override(&mut value, var, raw).map_err(|message| ConfigError::Invalid {
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

    /// Lets a `postgres://` DATABASE_URL choose the PostgreSQL store when the
    /// file names no store kind (the file takes precedence), then re-validates.
    pub fn apply_database_url(&mut self, database_url: Option<&str>) -> Result<(), ConfigError> {
        if let Some(url) = database_url.filter(|u| is_postgres_url(u))
            && !self.store.kind_explicit
        {
            self.store.kind = StoreKind::Postgres;
            self.store.url = Some(url.to_string());
        }
        self.validate()
    }

    fn invalid(&self, field: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: self.source.clone().unwrap_or_default(),
            field: field.into(),
            message: message.into(),
        }
    }

    /// Checks what serde cannot: references between sections and value ranges.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.server.bind.parse::<std::net::SocketAddr>().is_err() {
            return Err(self.invalid(
                "server.bind",
                format!(
                    "'{}' is not an address like 127.0.0.1:7777",
                    self.server.bind
                ),
            ));
        }
        let mut keys = std::collections::HashSet::new();
        for (i, key) in self.auth.api_keys.iter().enumerate() {
            if !key.key().is_empty() && !keys.insert(key.key()) {
                return Err(self.invalid(
                    format!("auth.api_keys[{i}]"),
                    "the same key is listed twice",
                ));
            }
        }
        self.validate_identity()?;
        if let Some(p) = self.auth.public_paths.iter().find(|p| !p.starts_with('/')) {
            return Err(self.invalid(
                "auth.public_paths",
                format!("'{p}' must be a path starting with '/'"),
            ));
        }
        for (field, origin) in self.server.cors_origins() {
            if origin != "*"
                && (axum::http::HeaderValue::from_str(origin).is_err()
                    || !(origin.starts_with("http://") || origin.starts_with("https://")))
            {
                return Err(self.invalid(
                    field,
                    format!("'{origin}' is not an origin like https://app.example.com (or \"*\")"),
                ));
            }
        }
        if self.server.cors_origins().any(|(_, o)| o == "*")
            && !self.auth.enabled()
            && !self.server.cors_allow_any_origin_without_auth
        {
            return Err(self.invalid(
                "server.cors_allowed_origins",
                "\"*\" without API keys lets every web page the user visits read and start \
                 runs; list the frontend's origins, turn auth on, or set \
                 server.cors_allow_any_origin_without_auth = true",
            ));
        }
        if let Some(hosts) = &self.server.allowed_hosts {
            if hosts.is_empty() {
                return Err(self.invalid(
                    "server.allowed_hosts",
                    "lists no host; name the hosts clients use, or \"*\" for any",
                ));
            }
            for (i, host) in hosts.iter().enumerate() {
                if !is_host_pattern(host) {
                    return Err(self.invalid(
                        format!("server.allowed_hosts[{i}]"),
                        format!(
                            "'{host}' is not a host name like agentd.example.com, an IP \
                             address (IPv6 in brackets, e.g. [::1]) or \"*\"; ports are not \
                             listed (any port matches)"
                        ),
                    ));
                }
            }
        }
        if self.server.max_connections == 0 {
            return Err(self.invalid("server.max_connections", "must be at least 1"));
        }
        if self.engine.max_steps == 0 {
            return Err(self.invalid("engine.max_steps", "must be at least 1"));
        }
        if self.store.kind == StoreKind::Sqlite {
            let path = self.store.path.to_string_lossy();
            if path.trim().is_empty() {
                return Err(self.invalid("store.path", "must name the SQLite database file"));
            }
            // SQLite would give every pooled connection its own private database.
            if path.starts_with(":memory:") || path.starts_with("file::memory:") {
                return Err(self.invalid(
                    "store.path",
                    "an in-memory SQLite database is not supported; use kind = \"memory\"",
                ));
            }
        }
        if self.store.kind == StoreKind::Postgres {
            match self.store.url.as_deref() {
                None => {
                    return Err(self.invalid(
                        "store.url",
                        "is required with kind = \"postgres\" (or set a postgres:// DATABASE_URL)",
                    ));
                }
                Some(url) if !is_postgres_url(url) => {
                    return Err(self.invalid(
                        "store.url",
                        "must be a PostgreSQL URL starting with postgres:// or postgresql://",
                    ));
                }
                Some(_) => {}
            }
            if self.store.lease_secs == 0 {
                return Err(self.invalid("store.lease_secs", "must be at least 1"));
            }
        }
        self.validate_url_inputs(&self.files.urls)?;
        for (field, value) in [
            ("files.max_file_bytes", self.files.max_file_bytes),
            ("files.max_request_bytes", self.files.max_request_bytes),
            ("files.csv_max_rows", self.files.csv_max_rows as u64),
            (
                "files.max_document_chars",
                self.files.max_document_chars as u64,
            ),
            ("files.csv_max_columns", self.files.csv_max_columns as u64),
            ("files.pdf_max_operators", self.files.pdf_max_operators),
            (
                "files.document_timeout_secs",
                self.files.document_timeout_secs,
            ),
        ] {
            if value == 0 {
                return Err(self.invalid(field, "must be at least 1"));
            }
        }
        // Below this the worker cannot even start.
        if self.files.document_memory_mib < 64 {
            return Err(self.invalid("files.document_memory_mib", "must be at least 64"));
        }
        for (name, model) in &self.models {
            let provider = model.effective_provider();
            if matches!(provider, Provider::Openai | Provider::Anthropic)
                && model.model.as_deref().unwrap_or("").is_empty()
            {
                return Err(self.invalid(
                    format!("models.{name}.model"),
                    "a remote model needs the upstream model name",
                ));
            }
            self.validate_settings(
                &format!("models.{name}"),
                model.temperature,
                model.max_tokens,
                model.response_schema.as_ref(),
            )?;
            if let Some(budget) = model.thinking_budget_tokens {
                let max = model.max_tokens.unwrap_or(ANTHROPIC_DEFAULT_MAX_TOKENS);
                if budget < 1024 || budget >= max {
                    return Err(self.invalid(
                        format!("models.{name}.thinking_budget_tokens"),
                        format!("must be at least 1024 and below max_tokens ({max})"),
                    ));
                }
            }
            if let Some(url) = model.base_url.as_deref().filter(|u| !u.is_empty())
                && !(url.starts_with("http://") || url.starts_with("https://"))
            {
                return Err(self.invalid(
                    format!("models.{name}.base_url"),
                    format!("'{url}' must start with http:// or https://"),
                ));
            }
        }
        if self.agents.is_empty() {
            return Err(self.invalid("agents", "at least one agent is required"));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, agent) in self.agents.iter().enumerate() {
            let field = |f: &str| format!("agents[{i}].{f}");
            if !valid_id(&agent.id) {
                return Err(self.invalid(
                    field("id"),
                    format!(
                        "'{}' must be 1-63 characters of a-z, 0-9, '-' or '_'",
                        agent.id
                    ),
                ));
            }
            if !seen.insert(agent.id.as_str()) {
                return Err(self.invalid(field("id"), format!("'{}' is used twice", agent.id)));
            }
            if !self.models.contains_key(&agent.model) {
                let known: Vec<_> = self.models.keys().map(String::as_str).collect();
                return Err(self.invalid(
                    field("model"),
                    format!(
                        "unknown model '{}' (known: {})",
                        agent.model,
                        known.join(", ")
                    ),
                ));
            }
            for tool in &agent.tools {
                self.validate_agent_tool(&field("tools"), tool)?;
            }
            self.validate_tool_names(&field("tools"), &agent.tools)?;
            if agent.max_steps == Some(0) {
                return Err(self.invalid(field("max_steps"), "must be at least 1"));
            }
            if let Some(fallback) = &agent.fallback
                && !self.models.contains_key(fallback)
            {
                return Err(self.invalid(field("fallback"), format!("unknown model '{fallback}'")));
            }
            self.validate_settings(
                &format!("agents[{i}]"),
                agent.temperature,
                agent.max_tokens,
                agent.response_schema.as_ref(),
            )?;
        }
        if let Some(codegen) = &self.codegen {
            self.validate_codegen(codegen)?;
        }
        self.validate_tools()?;
        self.validate_teams(seen)
    }

    /// One entry of an agent's `tools`.
    fn validate_agent_tool(&self, field: &str, tool: &AgentTool) -> Result<(), ConfigError> {
        match &tool.source {
            ToolSource::Builtin(name) => {
                if !crate::tools::builtin::NAMES.contains(&name.as_str()) {
                    return Err(self.invalid(
                        field,
                        format!(
                            "unknown tool '{name}' (built-in tools: {}; MCP tools are listed as {{ mcp = \"server\" }})",
                            crate::tools::builtin::NAMES.join(", ")
                        ),
                    ));
                }
                if name == crate::tools::builtin::HTTP_FETCH
                    && self.tools.http_fetch.allowed_hosts.is_empty()
                {
                    return Err(self.invalid(
                        field,
                        "http_fetch is off until [tools.http_fetch] allowed_hosts names the hosts it may fetch from",
                    ));
                }
                if name == crate::tools::builtin::ASK_USER && tool.confirm {
                    return Err(self.invalid(
                        field,
                        "ask_user is answered by a person already; confirm = true does not apply",
                    ));
                }
            }
            ToolSource::Mcp { server, tools } => {
                if !self.mcp_servers.contains_key(server) {
                    let known: Vec<_> = self.mcp_servers.keys().map(String::as_str).collect();
                    return Err(self.invalid(
                        field,
                        format!(
                            "unknown MCP server '{server}' (declared in [mcp_servers]: {})",
                            if known.is_empty() {
                                "none".to_string()
                            } else {
                                known.join(", ")
                            }
                        ),
                    ));
                }
                if tools
                    .as_ref()
                    .is_some_and(|t| t.is_empty() || t.iter().any(|n| n.trim().is_empty()))
                {
                    return Err(self.invalid(
                        field,
                        format!("the tools of MCP server '{server}' must be non-empty names (leave `tools` out for all of them)"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// No two of an agent's entries give a tool of the same name, as far as
    /// the config can tell (built-ins, and MCP tools listed by name): one
    /// would hide the other, with its own `confirm`. Tools an MCP server
    /// offers unlisted are known only once it answers; the registry refuses
    /// their collisions at runtime.
    fn validate_tool_names(&self, field: &str, tools: &[AgentTool]) -> Result<(), ConfigError> {
        let mut given: Vec<(&str, String)> = Vec::new();
        for tool in tools {
            let named: Vec<(&str, String)> = match &tool.source {
                ToolSource::Builtin(name) => vec![(name.as_str(), "the built-in tool".into())],
                ToolSource::Mcp { server, tools } => tools
                    .iter()
                    .flatten()
                    .map(|n| (n.as_str(), format!("MCP server '{server}'")))
                    .collect(),
            };
            for (name, from) in named {
                if let Some((_, first)) = given.iter().find(|(n, _)| *n == name) {
                    return Err(self.invalid(
                        field,
                        format!(
                            "tool '{name}' is given twice, by {first} and by {from}; \
                             one would hide the other (list it once)"
                        ),
                    ));
                }
                given.push((name, from));
            }
        }
        Ok(())
    }

    /// `[tools]` and `[mcp_servers]`.
    fn validate_tools(&self) -> Result<(), ConfigError> {
        let fetch = &self.tools.http_fetch;
        for (i, host) in fetch.allowed_hosts.iter().enumerate() {
            if !crate::tools::fetch::valid_host_pattern(host) {
                return Err(self.invalid(
                    format!("tools.http_fetch.allowed_hosts[{i}]"),
                    format!(
                        "'{host}' is not a host like example.com, example.com:8080 or *.example.com"
                    ),
                ));
            }
        }
        for (field, value) in [
            (
                "tools.http_fetch.max_response_bytes",
                fetch.max_response_bytes,
            ),
            ("tools.http_fetch.timeout_secs", fetch.timeout_secs),
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
        for (name, server) in &self.mcp_servers {
            let field = |f: &str| format!("mcp_servers.{name}.{f}");
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(self.invalid(
                    format!("mcp_servers.{name}"),
                    "server names are letters, digits, '-' and '_'",
                ));
            }
            match (&server.command, &server.url) {
                (Some(_), Some(_)) => {
                    return Err(self.invalid(
                        format!("mcp_servers.{name}"),
                        "set either `command` (a stdio server) or `url` (a streamable-HTTP server), not both",
                    ));
                }
                (None, None) => {
                    return Err(self.invalid(
                        format!("mcp_servers.{name}"),
                        "needs `command` (a stdio server) or `url` (a streamable-HTTP server)",
                    ));
                }
                (Some(command), None) => {
                    if command.trim().is_empty() {
                        return Err(self.invalid(field("command"), "must name a program"));
                    }
                    if !server.headers.is_empty() {
                        return Err(
                            self.invalid(field("headers"), "headers go with `url`, not `command`")
                        );
                    }
                }
                (None, Some(url)) => {
                    if !(url.starts_with("http://") || url.starts_with("https://")) {
                        return Err(self.invalid(
                            field("url"),
                            format!("'{url}' must start with http:// or https://"),
                        ));
                    }
                    if !server.args.is_empty() || !server.env.is_empty() || server.cwd.is_some() {
                        return Err(self.invalid(
                            format!("mcp_servers.{name}"),
                            "args, env and cwd go with `command`, not `url`",
                        ));
                    }
                    for (header, value) in &server.headers {
                        if axum::http::HeaderName::from_bytes(header.as_bytes()).is_err() {
                            return Err(self.invalid(
                                field("headers"),
                                format!("'{header}' is not a valid header name"),
                            ));
                        }
                        if axum::http::HeaderValue::from_str(value).is_err() {
                            return Err(self.invalid(
                                field("headers"),
                                format!("the value of '{header}' is not a valid header value"),
                            ));
                        }
                    }
                }
            }
            if server.startup_timeout_secs == 0 {
                return Err(self.invalid(field("startup_timeout_secs"), "must be at least 1"));
            }
        }
        Ok(())
    }

    fn validate_url_inputs(&self, urls: &UrlInputsConfig) -> Result<(), ConfigError> {
        if urls.timeout_secs == 0 {
            return Err(self.invalid("files.urls.timeout_secs", "must be at least 1"));
        }
        for (i, host) in urls.allowed_hosts.iter().enumerate() {
            let bare = host.strip_prefix("*.").unwrap_or(host);
            if bare.is_empty()
                || !bare
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
            {
                return Err(self.invalid(
                    format!("files.urls.allowed_hosts[{i}]"),
                    format!("'{host}' is not a host name like example.com or *.example.com"),
                ));
            }
        }
        Ok(())
    }

    /// Checks the generation settings an agent or a model may carry.
    fn validate_settings(
        &self,
        prefix: &str,
        temperature: Option<f32>,
        max_tokens: Option<u32>,
        schema: Option<&serde_json::Value>,
    ) -> Result<(), ConfigError> {
        if let Some(t) = temperature
            && !(0.0..=2.0).contains(&t)
        {
            return Err(self.invalid(format!("{prefix}.temperature"), "must be between 0 and 2"));
        }
        if max_tokens == Some(0) {
            return Err(self.invalid(format!("{prefix}.max_tokens"), "must be at least 1"));
        }
        if let Some(schema) = schema {
            if !schema.is_object() {
                return Err(self.invalid(
                    format!("{prefix}.response_schema"),
                    "must be a JSON Schema object",
                ));
            }
            if let Err(e) = jsonschema::validator_for(schema) {
                return Err(self.invalid(
                    format!("{prefix}.response_schema"),
                    format!("is not a valid JSON Schema: {e}"),
                ));
            }
        }
        Ok(())
    }

    fn validate_teams<'a>(
        &'a self,
        mut seen: std::collections::HashSet<&'a str>,
    ) -> Result<(), ConfigError> {
        for (i, team) in self.teams.iter().enumerate() {
            let field = |f: &str| format!("teams[{i}].{f}");
            if !valid_id(&team.id) {
                return Err(self.invalid(
                    field("id"),
                    format!(
                        "'{}' must be 1-63 characters of a-z, 0-9, '-' or '_'",
                        team.id
                    ),
                ));
            }
            if !seen.insert(team.id.as_str()) {
                return Err(self.invalid(
                    field("id"),
                    format!("'{}' is already the id of an agent or team", team.id),
                ));
            }
            if !self.models.contains_key(&team.model) {
                return Err(self.invalid(field("model"), format!("unknown model '{}'", team.model)));
            }
            if team.members.is_empty() {
                return Err(self.invalid(field("members"), "a team needs at least one member"));
            }
            if team.max_steps == Some(0) {
                return Err(self.invalid(field("max_steps"), "must be at least 1"));
            }
        }
        for (i, team) in self.teams.iter().enumerate() {
            for member in &team.members {
                if self.agent(member).is_none() && self.team(member).is_none() {
                    return Err(self.invalid(
                        format!("teams[{i}].members"),
                        format!("unknown member '{member}' (not an agent or team id)"),
                    ));
                }
            }
            if let Some(path) = self.team_cycle(&team.id, &mut vec![]) {
                return Err(self.invalid(
                    format!("teams[{i}].members"),
                    format!("teams contain each other: {}", path.join(" -> ")),
                ));
            }
        }
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

    fn validate_codegen(&self, cg: &CodegenConfig) -> Result<(), ConfigError> {
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

    /// A membership path that leads from `id` back to a team already on it.
    fn team_cycle(&self, id: &str, path: &mut Vec<String>) -> Option<Vec<String>> {
        if path.iter().any(|p| p == id) {
            let mut cycle = path.clone();
            cycle.push(id.to_string());
            return Some(cycle);
        }
        let team = self.team(id)?;
        path.push(id.to_string());
        for member in &team.members {
            if let Some(c) = self.team_cycle(member, path) {
                return Some(c);
            }
        }
        path.pop();
        None
    }

    pub fn team(&self, id: &str) -> Option<&TeamConfig> {
        self.teams.iter().find(|t| t.id == id)
    }

    pub fn agent(&self, id: &str) -> Option<&AgentConfig> {
        self.agents.iter().find(|a| a.id == id)
    }

    /// The agent or team `POST /agui` runs: the configured one, else the
    /// first agent.
    pub fn agui_default_agent(&self) -> Option<&str> {
        match self.agui.default_agent.as_deref() {
            Some(id) => Some(id),
            None => self.agents.first().map(|a| a.id.as_str()),
        }
    }
}

/// Agent ids appear in URLs and ACP message roles (`agent/{name}`), so they
/// keep to the characters every protocol accepts.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 63
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// The prefix of the variables that override settings.
pub const ENV_PREFIX: &str = "AGENTD_";

/// The variables among `vars` that override settings, sorted by name:
/// `AGENTD_` then a path of lower-cased names joined by `__`
/// (`AGENTD_SERVER__MAX_BODY_BYTES` is `server.max_body_bytes`,
/// `AGENTD_AGENTS__0__MODEL` is `agents[0].model`). Variables without a
/// `__` (`AGENTD_CONFIG`, `AGENTD_BIND`, `AGENTD_API_KEY`...) are not
/// overrides: they have their own meaning or feed `${VAR}` in the file.
pub fn env_overrides(vars: impl Iterator<Item = (String, String)>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = vars
        .filter(|(k, _)| k.strip_prefix(ENV_PREFIX).is_some_and(|r| r.contains("__")))
        .collect();
    out.sort();
    out
}

/// Sets the setting `var` names to `raw`. The value is read as a TOML value
/// (a number, boolean, array, inline table or quoted string) when it is
/// one, and as a plain string otherwise, or always when the file already
/// has a string there: `AGENTD_STORE__KIND=memory` and
/// `AGENTD_SERVER__MAX_CONCURRENT_RUNS=8` both do what they say, and a
/// string that looks like a number can be quoted (`'"12345"'`).
fn apply_override(root: &mut toml::Value, var: &str, raw: &str) -> Result<(), String> {
    let path: Vec<String> = var
        .strip_prefix(ENV_PREFIX)
        .unwrap_or(var)
        .split("__")
        .map(str::to_ascii_lowercase)
        .collect();
    if path.iter().any(String::is_empty) {
        return Err(format!(
            "'{var}' is not a setting: use {ENV_PREFIX}SECTION__FIELD, with single              underscores inside names and double ones between them"
        ));
    }
    let (last, parents) = path.split_last().ok_or("the variable names no setting")?;
    let mut node = root;
    let mut at = String::new();
    for segment in parents {
        let next = match node {
            toml::Value::Table(t) => t
                .entry(segment.clone())
                .or_insert_with(|| toml::Value::Table(Default::default())),
            toml::Value::Array(items) => {
                let len = items.len();
                segment
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| items.get_mut(i))
                    .ok_or_else(|| {
                        format!("'{at}' has {len} entries; '{segment}' is not the index of one")
                    })?
            }
            _ => return Err(format!("'{at}' is a value, not a section")),
        };
        at = if at.is_empty() {
            segment.clone()
        } else {
            format!("{at}.{segment}")
        };
        node = next;
    }
    let toml::Value::Table(table) = node else {
        return Err(format!("'{at}' is not a section"));
    };
    let value = match table.get(last) {
        Some(toml::Value::String(_)) => toml::Value::String(raw.to_string()),
        _ => toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.to_string())),
    };
    table.insert(last.clone(), value);
    Ok(())
}

/// Replaces `${VAR}` and `${VAR:-default}` in every string of the tree.
/// An unset variable without a default is an error naming the field, since a
/// silently empty API key or URL fails much later and far less clearly.
fn interpolate(
    value: &mut toml::Value,
    field: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), (String, String)> {
    match value {
        toml::Value::String(s) => {
            *s = interpolate_str(s, env).map_err(|m| (field.to_string(), m))?;
        }
        toml::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate(item, &format!("{field}[{i}]"), env)?;
            }
        }
        toml::Value::Table(table) => {
            for (k, v) in table.iter_mut() {
                let f = if field.is_empty() {
                    k.clone()
                } else {
                    format!("{field}.{k}")
                };
                interpolate(v, &f, env)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn interpolate_str(s: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed '${{' in '{s}'"))?;
        let expr = &after[..end];
        let (name, default) = match expr.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (expr, None),
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("'${{{expr}}}' is not a valid variable reference"));
        }
        match (env(name).filter(|v| !v.is_empty()), default) {
            (Some(v), _) => out.push_str(&v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => {
                return Err(format!(
                    "environment variable {name} is not set (use ${{{name}:-default}} for a default)"
                ));
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "SET").then(|| "value".to_string())
    }

    #[test]
    fn interpolation_forms() {
        assert_eq!(interpolate_str("a${SET}b", &env).unwrap(), "avalueb");
        assert_eq!(interpolate_str("${UNSET:-x}", &env).unwrap(), "x");
        assert_eq!(interpolate_str("${UNSET:-}", &env).unwrap(), "");
        assert!(
            interpolate_str("${UNSET}", &env)
                .unwrap_err()
                .contains("UNSET")
        );
        assert!(interpolate_str("${bad name}", &env).is_err());
        assert!(interpolate_str("${SET", &env).is_err());
    }

    #[test]
    fn validation_names_file_and_field() {
        let text = r#"
            [models.m]
            provider = "builtin"
            [[agents]]
            id = "a"
            model = "nope"
        "#;
        let err = Config::from_toml_str(text, Path::new("x.toml"), &env).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("x.toml: agents[0].model:"), "{msg}");
        assert!(msg.contains("unknown model 'nope'"), "{msg}");
    }

    #[test]
    fn team_validation_rejects_unknown_members_and_cycles() {
        let base = r#"
            [models.m]
            provider = "builtin"
            [[agents]]
            id = "a"
            model = "m"
        "#;
        let unknown =
            format!("{base}\n[[teams]]\nid = \"t\"\nmodel = \"m\"\nmembers = [\"ghost\"]\n");
        let err = Config::from_toml_str(&unknown, Path::new("x.toml"), &env).unwrap_err();
        assert!(err.to_string().contains("unknown member 'ghost'"), "{err}");
        let cycle = format!(
            "{base}\n[[teams]]\nid = \"t\"\nmodel = \"m\"\nmembers = [\"u\"]\n[[teams]]\nid = \"u\"\nmodel = \"m\"\nmembers = [\"a\", \"t\"]\n"
        );
        let err = Config::from_toml_str(&cycle, Path::new("x.toml"), &env).unwrap_err();
        assert!(err.to_string().contains("t -> u -> t"), "{err}");
        let clash = format!("{base}\n[[teams]]\nid = \"a\"\nmodel = \"m\"\nmembers = [\"a\"]\n");
        assert!(Config::from_toml_str(&clash, Path::new("x.toml"), &env).is_err());
    }

    #[test]
    fn codegen_validation_names_the_field() {
        let base = r#"
            [models.m]
            provider = "builtin"
            [[agents]]
            id = "a"
            model = "m"
        "#;
        let cases = [
            (
                "[codegen.agent_types]\ncodegen = \"nope\"",
                "codegen.agent_types.codegen",
            ),
            ("[codegen.models]\nfast = \"nope\"", "codegen.models.fast"),
            (
                "[codegen.rate_limit]\ncreates = 0",
                "codegen.rate_limit.creates",
            ),
            (
                "[[codegen.users]]\nid = 1\norganizations = [7]",
                "codegen.users[0].organizations",
            ),
            (
                "[[codegen.users]]\nid = 1\napi_keys = [\"k\"]\n[[codegen.users]]\nid = 2\napi_keys = [\"k\"]",
                "codegen.users[1].api_keys",
            ),
            (
                "[[codegen.organizations]]\nid = 1\nname = \"a\"\n[[codegen.organizations]]\nid = 1\nname = \"b\"",
                "codegen.organizations[1].id",
            ),
        ];
        for (extra, field) in cases {
            let text = format!("{base}\n{extra}");
            let err = Config::from_toml_str(&text, Path::new("x.toml"), &env).unwrap_err();
            let msg = err.to_string();
            assert!(msg.starts_with(&format!("x.toml: {field}:")), "{msg}");
        }
    }

    #[test]
    fn store_section_defaults_and_validation() {
        let base = "[models.m]\nprovider = \"builtin\"\n[[agents]]\nid = \"a\"\nmodel = \"m\"\n";
        let cfg = Config::from_toml_str(base, Path::new("x.toml"), &env).unwrap();
        assert_eq!(cfg.store.kind, StoreKind::Sqlite);
        assert_eq!(cfg.store.path, Path::new(DEFAULT_DB_PATH));
        let text = format!("{base}[store]\nkind = \"memory\"\n");
        let cfg = Config::from_toml_str(&text, Path::new("x.toml"), &env).unwrap();
        assert_eq!(cfg.store.kind, StoreKind::Memory);
        let text = format!("{base}[store]\npath = \"\"\n");
        let msg = Config::from_toml_str(&text, Path::new("x.toml"), &env)
            .unwrap_err()
            .to_string();
        assert!(msg.starts_with("x.toml: store.path:"), "{msg}");
        let text = format!("{base}[store]\npath = \":memory:\"\n");
        assert!(Config::from_toml_str(&text, Path::new("x.toml"), &env).is_err());
        let text = format!("{base}[store]\nkind = \"redis\"\n");
        assert!(Config::from_toml_str(&text, Path::new("x.toml"), &env).is_err());
    }

    #[test]
    fn postgres_store_from_config_or_database_url() {
        let base = "[models.m]\nprovider = \"builtin\"\n[[agents]]\nid = \"a\"\nmodel = \"m\"\n";
        for (section, field) in [
            ("kind = \"postgres\"\n", "store.url"),
            ("kind = \"postgres\"\nurl = \"mysql://x\"\n", "store.url"),
            (
                "kind = \"postgres\"\nurl = \"postgres://h/db\"\nlease_secs = 0\n",
                "store.lease_secs",
            ),
        ] {
            let text = format!("{base}[store]\n{section}");
            let msg = Config::from_toml_str(&text, Path::new("x.toml"), &env)
                .unwrap_err()
                .to_string();
            assert!(msg.starts_with(&format!("x.toml: {field}:")), "{msg}");
        }
        let mut cfg = Config::from_toml_str(base, Path::new("x.toml"), &env).unwrap();
        cfg.apply_database_url(Some("sqlite://x.db")).unwrap();
        assert_eq!(cfg.store.kind, StoreKind::Sqlite);
        cfg.apply_database_url(Some("postgres://h/db")).unwrap();
        assert_eq!(cfg.store.kind, StoreKind::Postgres);
        assert_eq!(cfg.store.url.as_deref(), Some("postgres://h/db"));
        // A kind named in the file wins over DATABASE_URL.
        let text = format!("{base}[store]\nkind = \"memory\"\n");
        let mut cfg = Config::from_toml_str(&text, Path::new("x.toml"), &env).unwrap();
        cfg.apply_database_url(Some("postgres://h/db")).unwrap();
        assert_eq!(cfg.store.kind, StoreKind::Memory);
    }

    #[test]
    fn agent_tools_name_builtin_and_mcp_tools() {
        let base = r#"
            [mcp_servers.files]
            command = "mcp-files"
            args = ["--root", "/srv"]
            [mcp_servers.remote]
            url = "https://mcp.example.com/mcp"
            headers = { Authorization = "Bearer t" }
            [models.m]
            provider = "builtin"
            [[agents]]
            id = "a"
            model = "m"
        "#;
        let text = format!(
            "{base}tools = [\"calculator\", {{ name = \"current_time\", confirm = true }}, {{ mcp = \"files\" }}, {{ mcp = \"remote\", tools = [\"search\"], confirm = true }}]\n"
        );
        let cfg = Config::from_toml_str(&text, Path::new("x.toml"), &env).unwrap();
        let tools = &cfg.agents[0].tools;
        assert_eq!(tools[0], AgentTool::builtin("calculator"));
        assert!(tools[1].confirm);
        assert_eq!(
            tools[2].source,
            ToolSource::Mcp {
                server: "files".into(),
                tools: None
            }
        );
        assert_eq!(
            tools[3],
            AgentTool {
                source: ToolSource::Mcp {
                    server: "remote".into(),
                    tools: Some(vec!["search".into()])
                },
                confirm: true
            }
        );
        for (tools, field, says) in [
            ("[\"nope\"]", "agents[0].tools", "unknown tool 'nope'"),
            (
                "[{ mcp = \"gone\" }]",
                "agents[0].tools",
                "unknown MCP server 'gone'",
            ),
            (
                "[{ mcp = \"files\", tools = [] }]",
                "agents[0].tools",
                "non-empty",
            ),
            (
                "[{ name = \"ask_user\", confirm = true }]",
                "agents[0].tools",
                "does not apply",
            ),
            (
                "[{ mcp = \"remote\", tools = [\"calculator\"] }, { name = \"calculator\", confirm = true }]",
                "agents[0].tools",
                "tool 'calculator' is given twice, by MCP server 'remote' and by the built-in tool",
            ),
            (
                "[{ mcp = \"files\", tools = [\"search\"] }, { mcp = \"remote\", tools = [\"search\"] }]",
                "agents[0].tools",
                "tool 'search' is given twice, by MCP server 'files' and by MCP server 'remote'",
            ),
            (
                "[\"calculator\", \"calculator\"]",
                "agents[0].tools",
                "tool 'calculator' is given twice",
            ),
        ] {
            let text = format!("{base}tools = {tools}\n");
            let msg = Config::from_toml_str(&text, Path::new("x.toml"), &env)
                .unwrap_err()
                .to_string();
            assert!(msg.starts_with(&format!("x.toml: {field}:")), "{msg}");
            assert!(msg.contains(says), "{msg}");
        }
        for tools in [
            "[{ name = \"calculator\", mcp = \"files\" }]",
            "[{ confirm = true }]",
            "[{ name = \"calculator\", colour = 1 }]",
        ] {
            let text = format!("{base}tools = {tools}\n");
            assert!(
                Config::from_toml_str(&text, Path::new("x.toml"), &env).is_err(),
                "{tools}"
            );
        }
        let both = base.replace(
            "command = \"mcp-files\"",
            "command = \"x\"\nurl = \"http://h/mcp\"",
        );
        let msg = Config::from_toml_str(&both, Path::new("x.toml"), &env)
            .unwrap_err()
            .to_string();
        assert!(msg.starts_with("x.toml: mcp_servers.files:"), "{msg}");
        let bad_host = format!("{base}[tools.http_fetch]\nallowed_hosts = [\"http://x\"]\n");
        let msg = Config::from_toml_str(&bad_host, Path::new("x.toml"), &env)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("tools.http_fetch.allowed_hosts[0]"), "{msg}");
    }

    #[test]
    fn api_keys_are_strings_or_tables_with_limits() {
        let base = "[models.m]\nprovider = \"builtin\"\n[[agents]]\nid = \"a\"\nmodel = \"m\"\n";
        let text = format!(
            "{base}[server.rate_limits]\nacp = 5\n[auth]\napi_keys = [\"k1\", {{ key = \"k2\", name = \"ci\", max_concurrent_runs = 2, rate_limits = {{ agui = 9 }} }}]\n"
        );
        let cfg = Config::from_toml_str(&text, Path::new("x.toml"), &env).unwrap();
        assert_eq!(cfg.auth.keys().collect::<Vec<_>>(), ["k1", "k2"]);
        let ci = &cfg.auth.api_keys[1];
        assert_eq!(ci.name(), Some("ci"));
        assert_eq!(ci.max_concurrent_runs(), Some(2));
        let limits = cfg.server.rate_limits.overridden_by(&ci.rate_limits());
        assert_eq!(
            (limits.acp, limits.agui, limits.agentos),
            (Some(5), Some(9), None)
        );
        for (keys, needle) in [
            ("[{ key = \"k\", nmae = \"x\" }]", "nmae"),
            ("[\"k\", { key = \"k\" }]", "auth.api_keys[1]"),
            ("[{ key = \"k\", rate_limits = { grpc = 1 } }]", "grpc"),
        ] {
            let text = format!("{base}[auth]\napi_keys = {keys}\n");
            let msg = Config::from_toml_str(&text, Path::new("x.toml"), &env)
                .unwrap_err()
                .to_string();
            assert!(msg.contains(needle), "{keys}: {msg}");
        }
    }

    #[test]
    fn url_inputs_are_off_by_default_and_validated() {
        let base = "[models.m]\nprovider = \"builtin\"\n[[agents]]\nid = \"a\"\nmodel = \"m\"\n";
        let cfg = Config::from_toml_str(base, Path::new("x.toml"), &env).unwrap();
        assert_eq!(cfg.files.urls.mode, UrlInputMode::Off);
        for (section, field) in [
            ("timeout_secs = 0", "files.urls.timeout_secs"),
            (
                "allowed_hosts = [\"https://x.com/\"]",
                "files.urls.allowed_hosts[0]",
            ),
        ] {
            let text = format!("{base}[files.urls]\nmode = \"fetch\"\n{section}\n");
            let msg = Config::from_toml_str(&text, Path::new("x.toml"), &env)
                .unwrap_err()
                .to_string();
            assert!(msg.starts_with(&format!("x.toml: {field}:")), "{msg}");
        }
    }

    #[test]
    fn environment_overrides_any_setting() {
        let text = r#"
            [server]
            bind = "127.0.0.1:7777"
            [models.m]
            provider = "builtin"
            [[agents]]
            id = "a"
            model = "m"
            [[agents]]
            id = "b"
            model = "m"
        "#;
        let vars = [
            ("AGENTD_SERVER__BIND", "0.0.0.0:9000"),
            ("AGENTD_SERVER__MAX_CONCURRENT_RUNS", "8"),
            ("AGENTD_SERVER__RATE_LIMITS__ACP", "30"),
            ("AGENTD_STORE__KIND", "memory"),
            (
                "AGENTD_AUTH__API_KEYS",
                r#"["k1", { key = "k2", name = "ci" }]"#,
            ),
            ("AGENTD_FILES__URLS__MODE", "fetch"),
            (
                "AGENTD_FILES__URLS__ALLOWED_HOSTS",
                r#"["cdn.example.com"]"#,
            ),
            ("AGENTD_AGENTS__1__INSTRUCTIONS", "Be terse."),
            ("AGENTD_MODELS__M__TEMPERATURE", "0.5"),
            ("AGENTD_CONFIG", "not/an/override.toml"),
            ("OTHER__THING", "x"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let overrides = env_overrides(vars.into_iter());
        assert_eq!(overrides.len(), 9);
        let cfg = Config::from_toml_str_with_overrides(text, Path::new("x.toml"), &env, &overrides)
            .unwrap();
        assert_eq!(cfg.server.bind, "0.0.0.0:9000");
        assert_eq!(cfg.server.max_concurrent_runs, 8);
        assert_eq!(cfg.server.rate_limits.acp, Some(30));
        assert_eq!(cfg.store.kind, StoreKind::Memory);
        assert_eq!(cfg.auth.keys().collect::<Vec<_>>(), ["k1", "k2"]);
        assert_eq!(cfg.files.urls.mode, UrlInputMode::Fetch);
        assert_eq!(cfg.files.urls.allowed_hosts, ["cdn.example.com"]);
        assert_eq!(cfg.agents[1].instructions.as_deref(), Some("Be terse."));
        assert_eq!(cfg.models["m"].temperature, Some(0.5));

        // Mistakes name the variable.
        for (var, value, needle) in [
            ("AGENTD_SERVR__BIND", "x", "AGENTD_SERVR__BIND"),
            (
                "AGENTD_SERVER__MAX_BODY_BYTES",
                "lots",
                "AGENTD_SERVER__MAX_BODY_BYTES",
            ),
            ("AGENTD_AGENTS__5__MODEL", "m", "not the index of one"),
            ("AGENTD_SERVER____BIND", "x", "is not a setting"),
            (
                "AGENTD_SERVER__BIND__X",
                "x",
                "'server.bind' is not a section",
            ),
        ] {
            let overrides = [(var.to_string(), value.to_string())];
            let msg =
                Config::from_toml_str_with_overrides(text, Path::new("x.toml"), &env, &overrides)
                    .unwrap_err()
                    .to_string();
            assert!(msg.contains(needle), "{var}: {msg}");
        }
    }

    #[test]
    fn auto_provider_resolves() {
        let text = r#"
            [models.m]
            provider = "auto"
            model = "gpt"
            api_key = "${SET:-}"
            [[agents]]
            id = "a"
            model = "m"
        "#;
        let cfg = Config::from_toml_str(text, Path::new("x.toml"), &env).unwrap();
        assert_eq!(cfg.models["m"].effective_provider(), Provider::Openai);
        let cfg = Config::from_toml_str(text, Path::new("x.toml"), &|_| None).unwrap();
        assert_eq!(cfg.models["m"].effective_provider(), Provider::Builtin);
    }
}
