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
//!
//! Here: the service, the tool list and the call's driver; `wire` holds
//! the tools' schemas, `inbound` reads a call's arguments into a run
//! request, `outbound` turns events and the run's record into progress
//! notes and the tool result, `error` says how a refused call looks.

use std::sync::Arc;

use futures::StreamExt;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, Implementation, ListToolsResult,
    PaginatedRequestParams, ProgressNotificationParam, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::{
    StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use tokio_util::sync::CancellationToken;

use crate::engine::Principal;
use crate::web::AppState;

pub(crate) mod error;
pub(crate) mod inbound;
mod outbound;
mod wire;

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

/// Who made this MCP request: the auth layer's principal, carried in the
/// HTTP request's parts rmcp hands each request (anonymous if missing).
fn principal(context: &RequestContext<RoleServer>) -> Principal {
    context
        .extensions
        .get::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Principal>().cloned())
        .unwrap_or_else(Principal::anonymous)
}

impl AgentTools {
    /// The agents and teams the caller may run, as tools.
    fn tools(&self, principal: &Principal) -> Vec<Tool> {
        let engine = &self.state.engine;
        let agents = engine
            .agents_for(principal)
            .into_iter()
            .map(|a| (a.id.clone(), a.display_name(), a.description.clone()));
        let teams = engine
            .teams_for(principal)
            .into_iter()
            .map(|t| (t.id.clone(), t.display_name(), t.description.clone()));
        agents
            .chain(teams)
            .map(|(id, name, description)| {
                let description = description.unwrap_or_else(|| format!("Ask {name}"));
                Tool::new(id, description, wire::input_schema())
                    .with_raw_output_schema(wire::output_schema())
                    .annotate(wire::annotations(name))
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
            return Err(error::unknown_tool(&agent_id));
        }
        let (message, session_id) = match inbound::arguments(request.arguments.unwrap_or_default())
        {
            Ok(parsed) => parsed,
            Err(why) => return Ok(error::refused(why)),
        };
        let started = engine
            .start(
                &principal(&context),
                inbound::run_request(agent_id, message, session_id),
            )
            .await;
        let handle = match started {
            Ok(handle) => handle,
            Err(e) => return error::start_refused(e),
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
            let Some(note) = outbound::progress_note(&event.kind) else {
                continue;
            };
            step += 1;
            let param = ProgressNotificationParam::new(token, f64::from(step)).with_message(note);
            // A client gone deaf to notifications still gets its answer.
            let _ = context.peer.notify_progress(param).await;
        }
        Ok(outbound::result(handle.record()))
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
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(
            self.tools(&principal(&context)),
        ))
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
