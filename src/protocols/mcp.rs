//! MCP server (streamable HTTP at /mcp, rmcp's server side): every
//! configured agent and team is a tool named by its id, taking
//! `{message, session_id?}`. Calling one runs it through the engine and
//! answers with its final text, plus `structuredContent` (`answer`,
//! `session_id`, `run_id`, and `output` for agents with a response schema)
//! as the tool's declared `outputSchema` says; while it runs, a client that
//! sent a progress token gets a progress notification per step (start, tool
//! calls, each piece of text). A client's cancellation cancels the run.
//!
//! As the current specification asks, a call whose arguments are wrong is
//! a tool result with `isError: true` naming what is wrong (the model that
//! made it can correct itself); only an unknown tool is a JSON-RPC error.
//! The text result also tells the model the session id to pass to go on,
//! since models never see `_meta` or, in most clients, `structuredContent`.
//!
//! Auth, body limits and error shapes are the HTTP layer's, as for every
//! route. Depends on the engine and rmcp only; the engine never sees MCP.

use std::sync::Arc;

use futures::StreamExt;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, MetaObject, PaginatedRequestParams, ProgressNotificationParam,
    ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::{
    StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::engine::{
    EngineError, EventKind, Message, RunRequest, RunStartedData, RunStatus, ToolCallStartedData,
};
use crate::web::AppState;

/// Where the server is mounted.
pub const PATH: &str = "/mcp";

/// One MCP session's handler; all share the engine.
#[derive(Clone)]
pub struct AgentTools {
    state: AppState,
}

/// The streamable-HTTP service for /mcp. `shutdown` ends its sessions (and
/// their open streams) when the server stops.
pub fn service(
    state: AppState,
    shutdown: CancellationToken,
) -> StreamableHttpService<AgentTools, LocalSessionManager> {
    let config = StreamableHttpServerConfig::default()
        // agentd's own bearer keys guard /mcp; the Host check rmcp does by
        // default (loopback only) would refuse every deployed server.
        .disable_allowed_hosts()
        .with_sse_keep_alive(Some(std::time::Duration::from_secs(
            state.config().server.sse_keep_alive_secs.max(1),
        )))
        .with_max_request_body_bytes(state.config().server.max_body_bytes)
        .with_cancellation_token(shutdown);
    StreamableHttpService::new(
        move || {
            Ok(AgentTools {
                state: state.clone(),
            })
        },
        Arc::new(LocalSessionManager::default()),
        config,
    )
}

fn input_schema() -> Arc<Map<String, Value>> {
    match json!({
        "type": "object",
        "properties": {
            "message": {"type": "string", "description": "What to ask the agent"},
            "session_id": {"type": "string",
                "description": "Continue this session (its history is the agent's context); \
                    a new one is made when absent"},
        },
        "required": ["message"],
    }) {
        Value::Object(m) => Arc::new(m),
        _ => Arc::default(),
    }
}

/// What every agent tool answers in `structuredContent`.
fn output_schema() -> Arc<Map<String, Value>> {
    match json!({
        "type": "object",
        "properties": {
            "answer": {"type": "string", "description": "The agent's reply"},
            "session_id": {"type": "string",
                "description": "Pass it as session_id to continue this conversation"},
            "run_id": {"type": "string", "description": "This run, as every agentd API names it"},
            "output": {"type": "object",
                "description": "The reply as structured data, for agents with a response schema"},
        },
        "required": ["answer", "session_id", "run_id"],
    }) {
        Value::Object(m) => Arc::new(m),
        _ => Arc::default(),
    }
}

/// An agent reads and writes what its own tools reach, each call is a new
/// run, and its model and tools reach outside: not read-only, not
/// idempotent, open world. Whether it destroys anything depends on its
/// tools, so that hint keeps the specification's cautious default.
fn annotations(name: &str) -> ToolAnnotations {
    ToolAnnotations::with_title(name)
        .read_only(false)
        .idempotent(false)
        .open_world(true)
}

/// A call the tool cannot run as given: an error result the model reads.
fn refused(why: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(why.into())])
}

impl AgentTools {
    fn tools(&self) -> Vec<Tool> {
        let engine = &self.state.engine;
        let agents = engine
            .agents()
            .iter()
            .map(|a| (a.id.clone(), a.display_name(), a.description.clone()));
        let teams = engine
            .teams()
            .iter()
            .map(|t| (t.id.clone(), t.display_name(), t.description.clone()));
        agents
            .chain(teams)
            .map(|(id, name, description)| {
                let description = description.unwrap_or_else(|| format!("Ask {name}"));
                Tool::new(id, description, input_schema())
                    .with_raw_output_schema(output_schema())
                    .annotate(annotations(name))
            })
            .collect()
    }

    /// Runs the agent and answers with its result; `ct` (the client
    /// cancelled the call) cancels the run.
    async fn run(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let engine = &self.state.engine;
        let agent_id = request.name.to_string();
        if !engine.is_runnable(&agent_id) {
            return Err(ErrorData::invalid_params(
                format!("no agent or team '{agent_id}'"),
                None,
            ));
        }
        let args = request.arguments.unwrap_or_default();
        let message = match args.get("message") {
            Some(Value::String(m)) if !m.trim().is_empty() => m.clone(),
            Some(Value::String(_)) => return Ok(refused("'message' must not be empty")),
            Some(_) => return Ok(refused("'message' must be a string")),
            None => return Ok(refused("'message' is required: what to ask the agent")),
        };
        let session_id = match args.get("session_id") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Ok(refused("'session_id' must be a string")),
        };
        if let Some(extra) = args
            .keys()
            .find(|k| !matches!(k.as_str(), "message" | "session_id"))
        {
            return Ok(refused(format!(
                "unknown argument '{extra}' (this tool takes message and session_id)"
            )));
        }
        let started = engine
            .start(RunRequest {
                agent_id,
                input: vec![Message::user(message)],
                session_id,
                origin: "mcp".into(),
                ..Default::default()
            })
            .await;
        let handle = match started {
            Ok(handle) => handle,
            // What the caller can act on is the model's to read; the rest
            // is the server's fault.
            Err(
                e @ (EngineError::InvalidInput(_)
                | EngineError::TooManyRuns { .. }
                | EngineError::ShuttingDown),
            ) => return Ok(refused(e.to_string())),
            Err(e) => return Err(ErrorData::internal_error(e.to_string(), None)),
        };
        let progress = context.meta.get_progress_token();
        let mut step = 0u32;
        // This call is the run's foreground: dropping the stream (the call
        // was cancelled) cancels the run.
        let mut events = handle.events(true);
        loop {
            let event = tokio::select! {
                ev = events.next() => ev,
                _ = context.ct.cancelled() => {
                    return Err(ErrorData::internal_error("the call was cancelled", None));
                }
            };
            let Some(event) = event else { break };
            let Some(token) = progress.clone() else {
                continue;
            };
            let note = match &event.kind {
                EventKind::RunStarted(d) => {
                    let RunStartedData { agent_name, .. } = &**d;
                    format!("{agent_name} started")
                }
                EventKind::ToolCallStarted(d) => {
                    let ToolCallStartedData { name, .. } = &**d;
                    format!("calling {name}")
                }
                EventKind::TextDelta { delta, .. } => delta.to_string(),
                _ => continue,
            };
            step += 1;
            let param = ProgressNotificationParam::new(token, f64::from(step)).with_message(note);
            // A client gone deaf to notifications still gets its answer.
            let _ = context.peer.notify_progress(param).await;
        }
        let record = handle.record();
        let mut meta = MetaObject::default();
        meta.insert("agentd/run_id".into(), json!(record.run_id));
        meta.insert("agentd/session_id".into(), json!(record.session_id));
        let mut result = match record.status {
            RunStatus::Completed => {
                let mut structured = json!({
                    "answer": record.content,
                    "session_id": record.session_id,
                    "run_id": record.run_id,
                });
                if let Some(output) = record.structured.filter(Value::is_object) {
                    structured["output"] = output;
                }
                let mut r = CallToolResult::success(vec![
                    ContentBlock::text(record.content.clone()),
                    ContentBlock::text(format!(
                        "(session_id: {}; pass it as session_id to continue this conversation)",
                        record.session_id
                    )),
                ]);
                r.structured_content = Some(structured);
                r
            }
            RunStatus::Failed => CallToolResult::error(vec![ContentBlock::text(
                record
                    .error
                    .map(|e| e.message)
                    .unwrap_or_else(|| "the run failed".into()),
            )]),
            RunStatus::Awaiting => {
                let asks: Vec<String> = record
                    .pending
                    .iter()
                    .map(|p| {
                        p.arguments
                            .get("question")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                            .unwrap_or_else(|| format!("{} {}", p.name, p.arguments))
                    })
                    .collect();
                CallToolResult::error(vec![ContentBlock::text(format!(
                    "The agent paused for input this tool cannot give (run {}): {}",
                    record.run_id,
                    asks.join("; ")
                ))])
            }
            _ => CallToolResult::error(vec![ContentBlock::text(format!(
                "The run ended {}",
                record.status.as_str()
            ))]),
        };
        result.meta = Some(meta);
        Ok(result)
    }
}

impl ServerHandler for AgentTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("agentd", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Each tool is an agentd agent or team: call it with a message (and a \
                 session_id to continue a conversation); it answers with the agent's reply.",
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
        self.run(request, context)
            .await
            .map(CallToolResponse::Complete)
    }
}

/// /mcp in the OpenAPI document: the route is rmcp's service, not a
/// handler utoipa can read, so its operations are written here.
pub fn describe(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::ResponseBuilder;
    use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
    // Besides 200, what rmcp's transport answers: a malformed message or
    // missing session header (400), an unknown or ended session (404), a
    // client that does not accept JSON and SSE (406), a body that is not
    // JSON (415). The key's 401 is added with every other route's.
    let op = |id: &str, summary: &str, ok: &str| {
        let refused = |why: &str| ResponseBuilder::new().description(why).build();
        OperationBuilder::new()
            .operation_id(Some(id))
            .tag("mcp")
            .summary(Some(summary))
            .response("200", ResponseBuilder::new().description(ok).build())
            .response("400", refused("Not a valid MCP request"))
            .response("404", refused("No such session"))
            .response(
                "406",
                refused("The client must accept application/json and text/event-stream"),
            )
            .response("415", refused("The body must be application/json"))
            .build()
    };
    let mut item = PathItem::new(
        HttpMethod::Post,
        op(
            "mcp_post",
            "MCP JSON-RPC messages (initialize, tools/list, tools/call...)",
            "A JSON-RPC response, or an SSE stream of notifications and the response",
        ),
    );
    item.get = Some(op(
        "mcp_get",
        "The session's stream of server messages",
        "SSE stream",
    ));
    item.delete = Some(op("mcp_delete", "End the MCP session", "Session ended"));
    doc.paths.paths.insert(PATH.to_string(), item);
}
