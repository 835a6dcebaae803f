//! The application state every handler gets. Depends on the engine and
//! config only.

use std::sync::Arc;

use crate::config::Config;
use crate::engine::Engine;

/// Shared by every handler: the engine (which owns config, models, tools and
/// the store), when this process started, and the switch `serve` throws on
/// shutdown (long-lived sessions, such as MCP's, end with it).
#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub shutdown: tokio_util::sync::CancellationToken,
}

impl AppState {
    /// Also starts the engine's background workers (the run queue, and the
    /// signals of a shared store): a served engine needs them.
    pub fn new(engine: Arc<Engine>) -> Self {
        engine.start_workers();
        Self {
            engine,
            started_at: chrono::Utc::now(),
            shutdown: tokio_util::sync::CancellationToken::new(),
        }
    }

    pub fn config(&self) -> &Config {
        self.engine.config()
    }
}
