//! `[[agents]]` and `[[teams]]`: who runs (instructions, model and
//! fallback, tools, limits) and how teams of them work, with the checks
//! that tie them to `[models]` and `[mcp_servers]`, give every id once and
//! keep teams from containing each other.

use serde::Deserialize;

use super::models::de_schema;
use super::{Config, ConfigError};
use crate::domain::builtin_tools;

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

/// Agent ids appear in URLs and ACP message roles (`agent/{name}`), so they
/// keep to the characters every protocol accepts.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 63
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

impl Config {
    pub fn team(&self, id: &str) -> Option<&TeamConfig> {
        self.teams.iter().find(|t| t.id == id)
    }

    pub fn agent(&self, id: &str) -> Option<&AgentConfig> {
        self.agents.iter().find(|a| a.id == id)
    }

    /// `[[agents]]`, then `[[teams]]` (whose ids must differ from theirs).
    pub(super) fn validate_agents_and_teams(&self) -> Result<(), ConfigError> {
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
        self.validate_teams(seen)
    }

    /// One entry of an agent's `tools`.
    fn validate_agent_tool(&self, field: &str, tool: &AgentTool) -> Result<(), ConfigError> {
        match &tool.source {
            ToolSource::Builtin(name) => {
                if !builtin_tools::NAMES.contains(&name.as_str()) {
                    return Err(self.invalid(
                        field,
                        format!(
                            "unknown tool '{name}' (built-in tools: {}; MCP tools are listed as {{ mcp = \"server\" }})",
                            builtin_tools::NAMES.join(", ")
                        ),
                    ));
                }
                if name == builtin_tools::HTTP_FETCH
                    && self.tools.http_fetch.allowed_hosts.is_empty()
                {
                    return Err(self.invalid(
                        field,
                        "http_fetch is off until [tools.http_fetch] allowed_hosts names the hosts it may fetch from",
                    ));
                }
                if name == builtin_tools::ASK_USER && tool.confirm {
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
}
