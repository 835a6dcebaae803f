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
use crate::engine::ToolSpec;

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
    /// server's list can change while agentd runs). When two entries give
    /// the same name, the first wins.
    pub fn for_agent(&self, entries: &[AgentTool]) -> Vec<AgentToolHandle> {
        let mut out: Vec<AgentToolHandle> = Vec::new();
        let mut push = |tool: Arc<dyn Tool>, confirm: bool| {
            let name = tool.spec().name;
            if out.iter().any(|t| t.tool.spec().name == name) {
                tracing::debug!(tool = %name, "a tool of that name is already offered; skipped");
                return;
            }
            out.push(AgentToolHandle { tool, confirm });
        };
        for entry in entries {
            match &entry.source {
                ToolSource::Builtin(name) => {
                    if let Some(tool) = self.get(name) {
                        push(tool, entry.confirm);
                    }
                }
                ToolSource::Mcp { server, tools } => {
                    let Some(server) = self.mcp.get(server) else {
                        continue;
                    };
                    for spec in mcp_specs(server, tools.as_deref()) {
                        push(
                            Arc::new(mcp::McpTool {
                                server: server.clone(),
                                spec,
                            }),
                            entry.confirm,
                        );
                    }
                }
            }
        }
        out
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
