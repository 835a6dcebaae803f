//! Tools the engine can execute on the server.
//!
//! A tool takes JSON arguments and returns text for the model. Errors are
//! answers too: they go back to the model as an error result, never crash a
//! run. Nothing here knows about runs, events or protocols.

pub mod builtin;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

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

/// Server-side tools by name.
#[derive(Clone, Default)]
pub struct ToolRegistry {
    tools: HashMap<String, Arc<dyn Tool>>,
}

impl ToolRegistry {
    /// Every built-in tool; agents pick theirs by name from config.
    pub fn builtin() -> Self {
        let mut registry = Self::default();
        for tool in builtin::all() {
            registry.insert(tool);
        }
        registry
    }

    pub fn insert(&mut self, tool: Arc<dyn Tool>) {
        self.tools.insert(tool.spec().name, tool);
    }

    pub fn get(&self, name: &str) -> Option<Arc<dyn Tool>> {
        self.tools.get(name).cloned()
    }
}
