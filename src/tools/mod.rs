//! Tools the engine can execute on the server.
//!
//! A tool takes JSON arguments and returns text for the model. Errors are
//! answers too: they go back to the model as an error result, never crash a
//! run. Sources: built-in tools (`builtin`, `fetch`) and MCP servers (`mcp`).
//! Nothing here knows about runs, events or protocols.

pub mod builtin;
pub mod fetch;
pub mod mcp;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::config::{AgentTool, Config, ToolSource, ToolsConfig};
use crate::domain::ToolSpec;

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("invalid arguments: {0}")]
    InvalidArguments(String),
    #[error("{0}")]
    Failed(String),
}

#[async_trait]
pub trait Tool: Send + Sync {
    fn spec(&self) -> ToolSpec;
    async fn call(&self, arguments: Value) -> Result<String, ToolError>;

    /// Whether the answer comes from outside the server (a person, through
    /// whichever client drives the run) rather than from `call`: the engine
    /// then pauses the run, like a client-side tool, until it is resumed
    /// with the result.
    fn answered_by_client(&self) -> bool {
        false
    }
}

/// A tool as one agent has it: the tool, and whether each call waits for a
/// person's approval first.
#[derive(Clone)]
pub struct AgentToolHandle {
    pub tool: Arc<dyn Tool>,
    pub confirm: bool,
}

/// Every tool the server can run: the built-in ones and the MCP servers'.
#[derive(Clone, Default)]
pub struct ToolRegistry {
    builtin: HashMap<String, Arc<dyn Tool>>,
    mcp: BTreeMap<String, Arc<mcp::McpServer>>,
    /// Name collisions already logged (an agent's tools are listed per run).
    collisions: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

impl ToolRegistry {
    /// The built-in tools that need no settings (no `http_fetch`, no MCP).
    pub fn builtin() -> Self {
        Self::with_builtin(&ToolsConfig::default())
    }

    fn with_builtin(config: &ToolsConfig) -> Self {
        let mut registry = Self::default();
        for tool in builtin::all(config) {
            registry.insert(tool);
        }
        registry
    }

    /// The built-in tools the config turns on, and its MCP servers (not yet
    /// connected: see `start`).
    pub fn from_config(config: &Config) -> Self {
        let mut registry = Self::with_builtin(&config.tools);
        for (name, server) in &config.mcp_servers {
            registry
                .mcp
                .insert(name.clone(), mcp::McpServer::new(name, server));
        }
        registry
    }

    /// Connects every MCP server at once and lists its tools. Each is given
    /// its `startup_timeout_secs`; one that fails is logged and retried
    /// when its tools are called, never an error here.
    pub async fn start(&self) {
        futures::future::join_all(self.mcp.values().map(|s| s.start())).await;
    }

    /// Stops every MCP server (stdio children included).
    pub async fn shutdown(&self) {
        futures::future::join_all(self.mcp.values().map(|s| s.shutdown())).await;
    }

    pub fn insert(&mut self, tool: Arc<dyn Tool>) {
        self.builtin.insert(tool.spec().name, tool);
    }

    /// A built-in tool by name.
    pub fn get(&self, name: &str) -> Option<Arc<dyn Tool>> {
        self.builtin.get(name).cloned()
    }

    /// The tools an agent's `tools` entries stand for right now (an MCP
    /// server's list can change while agentd runs). A name means one tool:
    /// built-ins are taken first, whatever the order of the entries, so an
    /// MCP tool never shadows a built-in (nor drops its `confirm`); among
    /// MCP servers the first entry listed keeps the name. Every tool left out
    /// for its name is logged once, naming both sides.
    pub fn for_agent(&self, entries: &[AgentTool]) -> Vec<AgentToolHandle> {
        let mut out: Vec<(AgentToolHandle, String)> = Vec::new();
        for entry in entries {
            if let ToolSource::Builtin(name) = &entry.source
                && let Some(tool) = self.get(name)
                && !out.iter().any(|(t, _)| t.tool.spec().name == *name)
            {
                let handle = AgentToolHandle {
                    tool,
                    confirm: entry.confirm,
                };
                out.push((handle, "the built-in tool".to_string()));
            }
        }
        for entry in entries {
            let ToolSource::Mcp { server, tools } = &entry.source else {
                continue;
            };
            let Some(server) = self.mcp.get(server) else {
                continue;
            };
            for spec in mcp_specs(server, tools.as_deref()) {
                let from = format!("MCP server '{}'", server.name());
                if let Some((_, first)) = out.iter().find(|(t, _)| t.tool.spec().name == spec.name)
                {
                    self.warn_collision(&spec.name, first, &from);
                    continue;
                }
                let tool = Arc::new(mcp::McpTool {
                    server: server.clone(),
                    spec,
                });
                let handle = AgentToolHandle {
                    tool,
                    confirm: entry.confirm,
                };
                out.push((handle, from));
            }
        }
        out.into_iter().map(|(handle, _)| handle).collect()
    }

    /// Logs a tool left out for its name, once per pair of sides.
    fn warn_collision(&self, name: &str, kept: &str, dropped: &str) {
        let key = format!("{name}\u{0}{kept}\u{0}{dropped}");
        let first_time = self
            .collisions
            .lock()
            .map(|mut seen| seen.insert(key))
            .unwrap_or(true);
        if first_time {
            tracing::warn!(
                tool = %name,
                kept = %kept,
                left_out = %dropped,
                "two tools have the same name; the one from {dropped} is not offered"
            );
        }
    }
}

/// The specs of an MCP entry's tools. A server never reached yet still
/// offers the tools the entry names (with an open schema), so calling one
/// tries the server again and reports why it is unavailable.
fn mcp_specs(server: &mcp::McpServer, wanted: Option<&[String]>) -> Vec<ToolSpec> {
    match (server.tools(), wanted) {
        (Some(list), None) => list,
        (Some(list), Some(names)) => names
            .iter()
            .filter_map(|n| {
                let found = list.iter().find(|t| &t.name == n).cloned();
                if found.is_none() {
                    tracing::warn!(mcp_server = server.name(), tool = %n, "the MCP server has no such tool");
                }
                found
            })
            .collect(),
        (None, None) => Vec::new(),
        (None, Some(names)) => names
            .iter()
            .map(|n| ToolSpec {
                name: n.clone(),
                description: format!(
                    "A tool of MCP server '{}' (not reachable at the moment).",
                    server.name()
                ),
                parameters: json!({"type": "object"}),
            })
            .collect(),
    }
}
