//! A small real MCP server (rmcp's server side) for the tool tests, over
//! stdio or streamable HTTP.
//!
//! Stdio: agentd starts this very test binary again as its child, running
//! only the ignored test `common::mcp_server::stdio_mcp_server`, which turns
//! into the server when `AGENTD_TEST_MCP_STDIO` is set (and does nothing
//! otherwise). No separate binary linking all of agentd is needed.
//!
//! Tools: `echo {text}`, `add {a, b}` (numbers), `rendezvous {}` (answers
//! "met" once two calls are in progress at once, "alone" after 10 s),
//! `big {chars}`, `crash {}` (the stdio process exits mid-call),
//! `add_tool {}` (adds `late` and announces tools/list_changed), `late {}`,
//! and `calculator {expression}` (answers "mcp calculator": a name a
//! built-in tool has too).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::{Value, json};

pub const STDIO_ENV: &str = "AGENTD_TEST_MCP_STDIO";

/// State shared by every session of one server.
#[derive(Clone)]
pub struct TestMcp {
    late_tool: Arc<AtomicBool>,
    arrivals: Arc<tokio::sync::Barrier>,
}

impl TestMcp {
    pub fn new() -> Self {
        Self {
            late_tool: Arc::default(),
            arrivals: Arc::new(tokio::sync::Barrier::new(2)),
        }
    }

    fn tools(&self) -> Vec<Tool> {
        let schema = |v: Value| match v {
            Value::Object(m) => Arc::new(m),
            _ => Arc::new(Default::default()),
        };
        let mut tools = vec![
            Tool::new(
                "echo",
                "Echoes the text back",
                schema(
                    json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}),
                ),
            ),
            Tool::new(
                "add",
                "Adds two numbers",
                schema(
                    json!({"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]}),
                ),
            ),
            Tool::new(
                "rendezvous",
                "Waits for a second caller",
                schema(json!({"type": "object"})),
            ),
            Tool::new(
                "big",
                "Returns that many characters",
                schema(
                    json!({"type": "object", "properties": {"chars": {"type": "integer"}}, "required": ["chars"]}),
                ),
            ),
            Tool::new(
                "crash",
                "Exits the server process",
                schema(json!({"type": "object"})),
            ),
            Tool::new(
                "add_tool",
                "Adds the tool 'late'",
                schema(json!({"type": "object"})),
            ),
            Tool::new(
                "calculator",
                "The MCP server's own calculator",
                schema(json!({"type": "object"})),
            ),
        ];
        if self.late_tool.load(Ordering::SeqCst) {
            tools.push(Tool::new(
                "late",
                "A tool added while running",
                schema(json!({"type": "object"})),
            ));
        }
        tools
    }
}

fn text(t: impl Into<String>) -> Result<CallToolResponse, ErrorData> {
    Ok(CallToolResponse::Complete(CallToolResult::success(vec![
        ContentBlock::text(t),
    ])))
}

impl ServerHandler for TestMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .build(),
        )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let args = Value::Object(request.arguments.unwrap_or_default());
        match request.name.as_ref() {
            "echo" => text(format!("echo: {}", args["text"].as_str().unwrap_or(""))),
            "add" => {
                let sum = args["a"].as_f64().unwrap_or(0.0) + args["b"].as_f64().unwrap_or(0.0);
                text(sum.to_string())
            }
            "rendezvous" => {
                match tokio::time::timeout(Duration::from_secs(10), self.arrivals.wait()).await {
                    Ok(_) => text("met"),
                    Err(_) => text("alone"),
                }
            }
            "big" => text("x".repeat(args["chars"].as_u64().unwrap_or(0) as usize)),
            "crash" => std::process::exit(7),
            "add_tool" => {
                self.late_tool.store(true, Ordering::SeqCst);
                let _ = context.peer.notify_tool_list_changed().await;
                text("added")
            }
            "calculator" => text("mcp calculator"),
            "late" if self.late_tool.load(Ordering::SeqCst) => text("late tool ran"),
            other => Err(ErrorData::invalid_params(
                format!("no tool named {other}"),
                None,
            )),
        }
    }
}

/// The TOML of `[mcp_servers.NAME]` for a stdio server that is this test
/// binary in server mode.
pub fn stdio_server_toml(name: &str) -> String {
    stdio_server_toml_marked(name, "-")
}

/// The same, with `AGENTD_TEST_MCP_MARK=<mark>` in the child's environment
/// so a test can find its own children among the machine's processes.
pub fn stdio_server_toml_marked(name: &str, mark: &str) -> String {
    let exe = std::env::current_exe().expect("the test binary's path");
    format!(
        r#"
[mcp_servers.{name}]
command = '{}'
args = ["--exact", "common::mcp_server::stdio_mcp_server", "--ignored", "--format", "terse", "--test-threads", "1"]
env = {{ {STDIO_ENV} = "1", AGENTD_TEST_MCP_MARK = "{mark}" }}
"#,
        exe.display()
    )
}

/// Not a test: the stdio MCP server's entry point (see the module docs).
#[test]
#[ignore = "the stdio MCP server the tool tests start as a child; does nothing on its own"]
fn stdio_mcp_server() {
    if std::env::var_os(STDIO_ENV).is_none() {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let Ok(service) = TestMcp::new().serve(rmcp::transport::stdio()).await else {
            std::process::exit(2);
        };
        let _ = service.waiting().await;
    });
    // Before the test harness prints anything more on the protocol stream.
    std::process::exit(0);
}

/// A streamable-HTTP MCP server on loopback that wants `authorization:
/// Bearer <token>` on every request.
pub struct HttpMcp {
    pub url: String,
    cancel: tokio_util::sync::CancellationToken,
}

impl Drop for HttpMcp {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl HttpMcp {
    pub async fn start(token: &str) -> Self {
        use rmcp::transport::streamable_http_server::{
            StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
        };
        let cancel = tokio_util::sync::CancellationToken::new();
        let shared = TestMcp::new();
        let service: StreamableHttpService<TestMcp, LocalSessionManager> =
            StreamableHttpService::new(
                move || Ok(shared.clone()),
                Default::default(),
                StreamableHttpServerConfig::default()
                    .with_sse_keep_alive(None)
                    .with_cancellation_token(cancel.child_token()),
            );
        let expected = format!("Bearer {token}");
        let router =
            axum::Router::new()
                .nest_service("/mcp", service)
                .layer(axum::middleware::from_fn(
                    move |req: axum::extract::Request, next: axum::middleware::Next| {
                        let ok = req
                            .headers()
                            .get("authorization")
                            .is_some_and(|v| v.as_bytes() == expected.as_bytes());
                        async move {
                            if ok {
                                next.run(req).await
                            } else {
                                axum::response::IntoResponse::into_response(
                                    axum::http::StatusCode::UNAUTHORIZED,
                                )
                            }
                        }
                    },
                ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind MCP server");
        let addr = listener.local_addr().expect("addr");
        let stop = cancel.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move { stop.cancelled_owned().await })
                .await;
        });
        Self {
            url: format!("http://{addr}/mcp"),
            cancel,
        }
    }
}
