//! Shared test helpers: the real agentd server on an ephemeral loopback port, a
//! scriptable mock OpenAI-compatible upstream, and an SSE reader.
#![allow(dead_code)]

pub mod clients;
pub mod file_server;
pub mod fixtures;
pub mod hostile;
pub mod mcp_server;
pub mod mock_anthropic;
pub mod mock_h2;
pub mod mock_llm;
pub mod oidc;
pub mod pg;
pub mod process;
pub mod sse;
pub mod web;

use std::sync::Arc;

use agentd::AppState;
use agentd::config::Config;
use agentd::engine::Engine;
use agentd::models::ModelRegistry;
use agentd::store::Store;
use agentd::store::memory::MemoryStore;
use agentd::tools::ToolRegistry;

#[allow(unused_imports)] // not every test binary uses the mock upstream
pub use mock_llm::{MockLlm, Reply};

/// A config with the builtin model and the `assistant` agent, plus `extra`
/// TOML appended (more models or agents).
pub fn config_with(extra: &str) -> String {
    format!(
        r#"
[models.builtin]
provider = "builtin"

[[agents]]
id = "assistant"
name = "Assistant"
description = "Test assistant"
instructions = "Be brief."
model = "builtin"
tools = ["current_time", "calculator"]
{extra}
"#
    )
}

/// Agents that pause or take their time, for stories of resuming and
/// cancelling: `asker` (may ask the user with ask_user), `slow` (a word every
/// 50 ms) and the team `crew` (routes to `assistant`).
pub const PAUSING_AGENTS: &str = r#"
[models.slow]
provider = "builtin"
token_delay_ms = 50

[[agents]]
id = "asker"
description = "Asks before answering"
model = "builtin"
tools = ["ask_user"]

[[agents]]
id = "slow"
model = "slow"

[[teams]]
id = "crew"
description = "Routes to the assistant"
model = "builtin"
members = ["assistant"]
mode = "route"
"#;

/// Adds an agent `upstream` on an OpenAI-compatible model at `base_url`.
pub fn upstream_config(base_url: &str, extra: &str) -> String {
    config_with(&format!(
        r#"
[models.mock]
provider = "openai"
model = "mock-model"
base_url = "{base_url}"
api_key = "test-key"
read_timeout_secs = 5

[[agents]]
id = "upstream"
name = "Upstream"
model = "mock"
tools = ["calculator"]
{extra}
"#
    ))
}

pub struct TestServer {
    pub base: String,
    pub client: reqwest::Client,
    pub engine: Arc<Engine>,
    /// The store the engine was given: for stories that check what was
    /// stored (the engine keeps its store to itself).
    pub store: Arc<dyn Store>,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    pub async fn start(config_toml: &str) -> Self {
        Self::start_with_store(config_toml, Arc::new(MemoryStore::new())).await
    }

    pub async fn start_with_store(config_toml: &str, store: Arc<dyn Store>) -> Self {
        let config = Config::from_toml_str(config_toml, "test.toml".as_ref(), &|_| None)
            .expect("test config is valid");
        let models = ModelRegistry::from_config(&config).expect("models build");
        let tools = ToolRegistry::from_config(&config);
        tools.start().await;
        let engine = Engine::new(Arc::new(config), models, tools, store.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        // The same serve path as the binary: its accept loop, connection
        // limits and timeouts.
        let state = AppState::new(engine.clone());
        let task = tokio::spawn(async move {
            agentd::serve(listener, state, std::future::pending())
                .await
                .expect("server runs");
        });
        Self {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            engine,
            store,
            task,
        }
    }

    /// Starts on the store the config's `[store]` section names (as `agentd
    /// serve` does), after ending the runs a previous server left in flight.
    pub async fn start_from_config(config_toml: &str) -> Self {
        let config = Config::from_toml_str(config_toml, "test.toml".as_ref(), &|_| None)
            .expect("test config is valid");
        let store = agentd::store::open(&config.store)
            .await
            .expect("store opens");
        let server = Self::start_with_store(config_toml, store).await;
        server
            .engine
            .recover_interrupted()
            .await
            .expect("recovery runs");
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops serving (in-flight runs keep their state in the engine/store).
    pub fn stop(self) {
        self.task.abort();
    }
}

/// GETs `url` and reads the answer as JSON, whatever its status: for the
/// steps of a story that only look.
pub async fn get_json<T: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    url: impl reqwest::IntoUrl,
) -> T {
    client
        .get(url)
        .send()
        .await
        .expect("GET is answered")
        .json()
        .await
        .expect("the answer is JSON")
}

/// A multipart form of text fields, as AgentOS clients post them.
pub fn form(pairs: &[(&str, &str)]) -> reqwest::multipart::Form {
    let mut f = reqwest::multipart::Form::new();
    for (k, v) in pairs {
        f = f.text(k.to_string(), v.to_string());
    }
    f
}

/// An AgentOS JSON (non-streaming) run of `agent` with `form`, answered 200
/// with the run's output.
pub async fn agentos_run_json(
    server: &TestServer,
    agent: &str,
    form: reqwest::multipart::Form,
) -> serde_json::Value {
    let resp = server
        .client
        .post(server.url(&format!("/agents/{agent}/runs")))
        .multipart(form)
        .send()
        .await
        .expect("the run is answered");
    assert_eq!(resp.status(), 200, "an AgentOS run of {agent}");
    resp.json().await.expect("the answer is JSON")
}

/// A `[store]` section for a SQLite file (TOML literal string: no escapes).
pub fn sqlite_store(path: &std::path::Path) -> String {
    format!(
        "\n[store]\nkind = \"sqlite\"\npath = '{}'\n",
        path.display()
    )
}

/// Polls `check` every 20 ms until it returns Some, or panics after 10 s.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..500 {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}
