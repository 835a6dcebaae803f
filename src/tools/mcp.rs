//! MCP servers as tool sources (the client side of rmcp).
//!
//! Each `[mcp_servers.NAME]` is one `McpServer`: a stdio server agentd runs as
//! a child process (killed when its connection is dropped, and shut down in
//! order when agentd drains), or a streamable-HTTP server. Its tool list is
//! fetched when it connects and again whenever it announces
//! `notifications/tools/list_changed`.
//!
//! A server that cannot start, or dies, never takes a run down: its tools
//! answer with an error result naming the server and the cause, a warning
//! goes to the log, and the next call (after a short pause) tries to connect
//! again. Nothing here knows about runs, events or protocols.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, ContentBlock,
    Implementation, ProtocolVersion, ResourceContents,
};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{ClientHandler, Peer, RoleClient, ServiceExt};
use serde_json::Value;
use tokio::io::AsyncBufReadExt;

use super::{Tool, ToolError};
use crate::config::McpServerConfig;
use crate::domain::ToolSpec;

/// How long after a failed connect the next call answers at once with that
/// failure instead of trying again (so a dead server is not restarted by
/// every call of a busy run).
const RECONNECT_PAUSE: Duration = Duration::from_secs(5);
/// How long a graceful shutdown of one server may take.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

type Service = RunningService<RoleClient, Handler>;

enum Conn {
    /// Not connected yet.
    Idle,
    Up(Service),
    Down {
        error: String,
        at: Instant,
    },
}

pub struct McpServer {
    name: String,
    config: McpServerConfig,
    conn: tokio::sync::Mutex<Conn>,
    /// The server's tools as last listed (empty until it first connects).
    tools: Arc<RwLock<Option<Vec<ToolSpec>>>>,
    closed: AtomicBool,
}

impl McpServer {
    pub fn new(name: &str, config: &McpServerConfig) -> Arc<Self> {
        Arc::new(Self {
            name: name.to_string(),
            config: config.clone(),
            conn: tokio::sync::Mutex::new(Conn::Idle),
            tools: Arc::new(RwLock::new(None)),
            closed: AtomicBool::new(false),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The tools as last listed; None while the server was never reached.
    pub fn tools(&self) -> Option<Vec<ToolSpec>> {
        self.tools.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Connects (at start), logging the outcome; a failure is only a warning.
    pub async fn start(&self) {
        // On failure peer() has logged the warning.
        if self.peer().await.is_ok() {
            tracing::info!(
                mcp_server = %self.name,
                transport = self.config.transport(),
                tools = self.tools().map_or(0, |t| t.len()),
                "MCP server connected"
            );
        }
    }

    /// Closes the connection: a stdio server gets its stdin closed, then
    /// SIGTERM, then SIGKILL, as the MCP spec's shutdown sequence says. No
    /// reconnects after this.
    pub async fn shutdown(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let previous = std::mem::replace(&mut *self.conn.lock().await, Conn::Idle);
        if let Conn::Up(mut service) = previous {
            match service.close_with_timeout(SHUTDOWN_TIMEOUT).await {
                Ok(_) => tracing::info!(mcp_server = %self.name, "MCP server stopped"),
                Err(e) => {
                    tracing::warn!(mcp_server = %self.name, error = %e, "MCP server did not stop cleanly")
                }
            }
        }
    }

    /// A live connection's peer: the current one, or a new connection when
    /// there is none (unless one failed moments ago).
    async fn peer(&self) -> Result<Peer<RoleClient>, ToolError> {
        let mut conn = self.conn.lock().await;
        if let Conn::Up(service) = &*conn {
            if !service.is_closed() {
                return Ok(service.peer().clone());
            }
            tracing::warn!(mcp_server = %self.name, "MCP server connection closed; reconnecting");
        }
        if self.closed.load(Ordering::SeqCst) {
            return Err(self.unavailable("agentd is shutting down"));
        }
        if let Conn::Down { error, at } = &*conn
            && at.elapsed() < RECONNECT_PAUSE
        {
            return Err(self.unavailable(error));
        }
        let timeout = Duration::from_secs(self.config.startup_timeout_secs);
        let connected = match tokio::time::timeout(timeout, self.connect()).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "it did not start and list its tools within {}s",
                timeout.as_secs()
            )),
        };
        match connected {
            Ok((service, tools)) => {
                *self.tools.write().unwrap_or_else(|p| p.into_inner()) = Some(tools);
                let peer = service.peer().clone();
                *conn = Conn::Up(service);
                Ok(peer)
            }
            Err(error) => {
                tracing::warn!(
                    mcp_server = %self.name,
                    transport = self.config.transport(),
                    %error,
                    "MCP server unavailable; its tools answer with errors until it can be reached"
                );
                let e = self.unavailable(&error);
                *conn = Conn::Down {
                    error,
                    at: Instant::now(),
                };
                Err(e)
            }
        }
    }

    fn unavailable(&self, why: &str) -> ToolError {
        ToolError::Failed(format!("MCP server '{}' is unavailable: {why}", self.name))
    }

    async fn connect(&self) -> Result<(Service, Vec<ToolSpec>), String> {
        let handler = Handler {
            server: self.name.clone(),
            tools: self.tools.clone(),
        };
        let service = match (&self.config.command, &self.config.url) {
            (Some(command), _) => {
                let mut cmd = tokio::process::Command::new(command);
                cmd.args(&self.config.args)
                    .envs(&self.config.env)
                    .kill_on_drop(true);
                if let Some(cwd) = &self.config.cwd {
                    cmd.current_dir(cwd);
                }
                let (transport, stderr) = TokioChildProcess::builder(cmd)
                    .stderr(Stdio::piped())
                    .spawn()
                    .map_err(|e| format!("cannot run '{command}': {e}"))?;
                if let Some(stderr) = stderr {
                    forward_stderr(self.name.clone(), stderr);
                }
                handler
                    .serve(transport)
                    .await
                    .map_err(|e| format!("initialization failed: {e}"))?
            }
            (None, Some(url)) => {
                let mut headers = HashMap::new();
                for (k, v) in &self.config.headers {
                    let name = axum::http::HeaderName::from_bytes(k.as_bytes())
                        .map_err(|e| format!("header '{k}': {e}"))?;
                    let value = axum::http::HeaderValue::from_str(v)
                        .map_err(|e| format!("header '{k}': {e}"))?;
                    headers.insert(name, value);
                }
                let config = StreamableHttpClientTransportConfig::with_uri(url.as_str())
                    .custom_headers(headers);
                handler
                    .serve(StreamableHttpClientTransport::from_config(config))
                    .await
                    .map_err(|e| format!("initialization failed: {e}"))?
            }
            (None, None) => return Err("neither command nor url is set".into()),
        };
        let tools = service
            .list_all_tools()
            .await
            .map_err(|e| format!("tools/list failed: {e}"))?;
        Ok((service, tools.iter().map(spec_of).collect()))
    }

    /// Calls one of the server's tools.
    pub async fn call(&self, tool: &str, arguments: Value) -> Result<String, ToolError> {
        let arguments = match arguments {
            Value::Object(map) => map,
            Value::Null => Default::default(),
            _ => {
                return Err(ToolError::InvalidArguments(
                    "the arguments must be a JSON object".into(),
                ));
            }
        };
        let peer = self.peer().await?;
        let params = CallToolRequestParams::new(tool.to_string()).with_arguments(arguments);
        match peer.call_tool(params).await {
            Ok(result) => render(result),
            // The server answered with a JSON-RPC error: its connection is fine.
            Err(rmcp::ServiceError::McpError(e)) => Err(ToolError::Failed(format!(
                "MCP server '{}' refused the call to '{tool}': {}",
                self.name, e.message
            ))),
            Err(e) => {
                tracing::warn!(mcp_server = %self.name, tool, error = %e, "MCP tool call failed");
                self.drop_connection(&e.to_string()).await;
                Err(ToolError::Failed(format!(
                    "MCP server '{}' failed during the call to '{tool}': {e}",
                    self.name
                )))
            }
        }
    }

    /// Forgets a broken connection (a stdio child is killed with it), so the
    /// next call connects afresh.
    async fn drop_connection(&self, error: &str) {
        let mut conn = self.conn.lock().await;
        if let Conn::Up(service) = &*conn
            && !service.is_closed()
            && !service.is_transport_closed()
        {
            // Only this call failed (a timeout, say): keep the connection.
            return;
        }
        // The next call starts it again at once; only a failed start pauses.
        tracing::debug!(mcp_server = %self.name, error, "MCP connection dropped");
        *conn = Conn::Idle;
    }
}

/// The engine's view of an MCP tool.
fn spec_of(tool: &rmcp::model::Tool) -> ToolSpec {
    ToolSpec {
        name: tool.name.to_string(),
        description: tool
            .description
            .as_deref()
            .or(tool.title.as_deref())
            .unwrap_or("")
            .to_string(),
        parameters: Value::Object((*tool.input_schema).clone()),
    }
}

/// A tool result as text for the model: text parts joined; other media and
/// resources named; structured content as JSON when nothing else came.
fn render(result: CallToolResult) -> Result<String, ToolError> {
    let mut parts: Vec<String> = Vec::new();
    for block in &result.content {
        parts.push(match block {
            ContentBlock::Text(t) => t.text.clone(),
            ContentBlock::Image(i) => format!("[image: {}]", i.mime_type),
            ContentBlock::Audio(a) => format!("[audio: {}]", a.mime_type),
            ContentBlock::Resource(r) => match &r.resource {
                ResourceContents::TextResourceContents { text, .. } => text.clone(),
                ResourceContents::BlobResourceContents { uri, mime_type, .. } => format!(
                    "[resource {uri}: {}]",
                    mime_type.as_deref().unwrap_or("binary")
                ),
                _ => "[resource]".to_string(),
            },
            ContentBlock::ResourceLink(l) => format!("[resource link: {} ({})]", l.name, l.uri),
            _ => "[content of a kind agentd does not show]".to_string(),
        });
    }
    if parts.is_empty()
        && let Some(structured) = &result.structured_content
    {
        parts.push(structured.to_string());
    }
    let text = parts.join("\n");
    if result.is_error == Some(true) {
        return Err(ToolError::Failed(if text.is_empty() {
            "the tool reported an error".into()
        } else {
            text
        }));
    }
    Ok(text)
}

/// Logs a stdio server's stderr line by line, attributed to it.
fn forward_stderr(server: String, stderr: tokio::process::ChildStderr) {
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            tracing::info!(mcp_server = %server, "stderr: {line}");
        }
    });
}

/// Answers the server's side of the conversation: who we are, and a fresh
/// tool list when it says the list changed.
#[derive(Clone)]
struct Handler {
    server: String,
    tools: Arc<RwLock<Option<Vec<ToolSpec>>>>,
}

impl ClientHandler for Handler {
    fn get_info(&self) -> ClientConfig {
        // The protocol version with the initialize handshake, which the MCP
        // servers in use speak; list-changed notifications then arrive here.
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("agentd", env!("CARGO_PKG_VERSION")),
        )
        .with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE)
    }

    async fn on_tool_list_changed(&self, context: NotificationContext<RoleClient>) {
        let peer = context.peer.clone();
        let tools = self.tools.clone();
        let server = self.server.clone();
        // Off the connection's own task: the refresh is a request whose
        // answer that task has to deliver.
        tokio::spawn(async move {
            match peer.list_all_tools().await {
                Ok(list) => {
                    let specs: Vec<ToolSpec> = list.iter().map(spec_of).collect();
                    tracing::info!(mcp_server = %server, tools = specs.len(), "MCP tool list changed");
                    *tools.write().unwrap_or_else(|p| p.into_inner()) = Some(specs);
                }
                Err(e) => {
                    tracing::warn!(mcp_server = %server, error = %e, "could not refresh the MCP tool list")
                }
            }
        });
    }
}

/// One tool of an MCP server, as the engine calls it.
pub struct McpTool {
    pub server: Arc<McpServer>,
    pub spec: ToolSpec,
}

#[async_trait]
impl Tool for McpTool {
    fn spec(&self) -> ToolSpec {
        self.spec.clone()
    }

    async fn call(&self, arguments: Value) -> Result<String, ToolError> {
        self.server.call(&self.spec.name, arguments).await
    }
}
