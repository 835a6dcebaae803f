//! A2A (Agent2Agent) adapter, protocol 1.0 beside 0.3 on one engine.
//!
//! JSON-RPC, both versions at one URL per agent or team (`POST /a2a/{id}`)
//! and for the server (`POST /a2a`, which runs the agent named by
//! `metadata.agentId`, else the first configured one): 1.0's `SendMessage`,
//! `SendStreamingMessage`, `GetTask`, `ListTasks`, `CancelTask`,
//! `SubscribeToTask`, `GetExtendedAgentCard`; 0.3's `message/send`,
//! `message/stream`, `tasks/get`, `tasks/cancel`, `tasks/resubscribe`. The
//! version is chosen per request: the `A2A-Version` header, else the
//! method's name. HTTP+JSON (1.0) under each agent's base
//! (`/a2a/{id}/message:send`...). Cards at `/a2a/{id}/.well-known/agent-card.json`
//! and `/.well-known/agent-card.json` (and the older `agent.json`) list
//! every version and binding served.
//!
//! A task is an engine run, a context an engine session. A paused run is an
//! input-required task; a message carrying its taskId resumes it.
//!
//! Where things live: `ops` runs the operations once for every version and
//! binding (through the engine's API only); `convert` and `stream` fold
//! runs and engine events into the shared task model (`wire`'s 0.3 types);
//! `v1` is 1.0's wire form and its translation; `render` streams either
//! version; `rpc` is the JSON-RPC binding, `rest` the HTTP+JSON one, `list`
//! ListTasks' checks, `version` the version choice, `card` the cards, and
//! `error` owns every error body. Handlers here only route.

mod card;
mod convert;
pub(crate) mod error;
mod list;
mod ops;
mod rest;
mod rpc;
pub(crate) use rpc::parse_for_fuzzing;
mod outbound;
pub mod v1;
mod version;
pub mod wire;

use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::HeaderMap;
use axum::response::{Json, Response};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::A2aError;
use ops::Scope;
use wire::{AgentCard, JsonRpcRequest, JsonRpcResponse};

use crate::engine::{Principal, RunCaller};
use crate::web::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    let (router, doc) = OpenApiRouter::new()
        .routes(routes!(server_card))
        .routes(routes!(server_card_legacy))
        .routes(routes!(agent_card))
        .routes(routes!(agent_card_legacy))
        .routes(routes!(server_rpc))
        .routes(routes!(agent_rpc))
        .merge(rest::router())
        .split_for_parts();
    let router = router.method_not_allowed_fallback(error::method_not_allowed);
    OpenApiRouter::with_openapi(doc).merge(OpenApiRouter::from(router))
}

/// The server's agent card: every agent and team as a skill.
#[utoipa::path(get, operation_id = "a2a_server_card", path = "/.well-known/agent-card.json",
    tag = "a2a", responses((status = 200, body = AgentCard)))]
async fn server_card(
    State(state): State<AppState>,
    headers: HeaderMap,
    principal: Principal,
) -> Json<AgentCard> {
    Json(card::server_card(&state, &headers, &principal))
}

/// The server's agent card at the path of A2A before 0.3.
#[utoipa::path(get, operation_id = "a2a_server_card_legacy", path = "/.well-known/agent.json",
    tag = "a2a", responses((status = 200, body = AgentCard)))]
async fn server_card_legacy(
    State(state): State<AppState>,
    headers: HeaderMap,
    principal: Principal,
) -> Json<AgentCard> {
    Json(card::server_card(&state, &headers, &principal))
}

/// One agent's (or team's) card; its JSON-RPC endpoint is `/a2a/{agent_id}`.
#[utoipa::path(get, operation_id = "a2a_agent_card",
    path = "/a2a/{agent_id}/.well-known/agent-card.json", tag = "a2a",
    params(("agent_id" = String, Path, description = "Agent or team id")),
    responses((status = 200, body = AgentCard),
        (status = 404, body = wire::JsonRpcResponse, description = "No such agent")))]
async fn agent_card(
    State(state): State<AppState>,
    headers: HeaderMap,
    principal: Principal,
    Path(agent_id): Path<String>,
) -> Result<Json<AgentCard>, A2aError> {
    card::agent_card(&state, &headers, &agent_id, &principal).map(Json)
}

/// One agent's card at the path of A2A before 0.3.
#[utoipa::path(get, operation_id = "a2a_agent_card_legacy",
    path = "/a2a/{agent_id}/.well-known/agent.json", tag = "a2a",
    params(("agent_id" = String, Path, description = "Agent or team id")),
    responses((status = 200, body = AgentCard),
        (status = 404, body = wire::JsonRpcResponse, description = "No such agent")))]
async fn agent_card_legacy(
    State(state): State<AppState>,
    headers: HeaderMap,
    principal: Principal,
    Path(agent_id): Path<String>,
) -> Result<Json<AgentCard>, A2aError> {
    card::agent_card(&state, &headers, &agent_id, &principal).map(Json)
}

/// JSON-RPC for the server's card (1.0 and 0.3): runs the agent named by
/// `metadata.agentId`, else the first configured one.
#[utoipa::path(post, operation_id = "a2a_server_rpc", path = "/a2a", tag = "a2a",
    params(("A2A-Version" = Option<String>, Header,
        description = "1.0 or 0.3; absent, the method's name tells (PascalCase is 1.0)")),
    request_body(content = JsonRpcRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "A JSON-RPC response (result or error); for \
            SendStreamingMessage, SubscribeToTask, message/stream and tasks/resubscribe an SSE \
            stream of JSON-RPC responses",
            content((JsonRpcResponse = "application/json"), (JsonRpcResponse = "text/event-stream"))),
        (status = 429, body = JsonRpcResponse), (status = 503, body = JsonRpcResponse)))]
async fn server_rpc(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Option<Extension<RunCaller>>,
    principal: Principal,
    body: Bytes,
) -> Response {
    let scope = Scope::server(principal);
    rpc::handle(state, scope, caller.map(|c| c.0), &headers, body).await
}

/// JSON-RPC for one agent or team: 1.0's `SendMessage`,
/// `SendStreamingMessage`, `GetTask`, `ListTasks`, `CancelTask`,
/// `SubscribeToTask`, `GetExtendedAgentCard`; 0.3's `message/send`,
/// `message/stream`, `tasks/get`, `tasks/cancel`, `tasks/resubscribe`.
#[utoipa::path(post, operation_id = "a2a_agent_rpc", path = "/a2a/{agent_id}", tag = "a2a",
    params(("agent_id" = String, Path, description = "Agent or team id"),
        ("A2A-Version" = Option<String>, Header,
            description = "1.0 or 0.3; absent, the method's name tells (PascalCase is 1.0)")),
    request_body(content = JsonRpcRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "A JSON-RPC response (result or error); for \
            SendStreamingMessage, SubscribeToTask, message/stream and tasks/resubscribe an SSE \
            stream of JSON-RPC responses",
            content((JsonRpcResponse = "application/json"), (JsonRpcResponse = "text/event-stream"))),
        (status = 404, body = JsonRpcResponse, description = "No such agent"),
        (status = 429, body = JsonRpcResponse), (status = 503, body = JsonRpcResponse)))]
async fn agent_rpc(
    State(state): State<AppState>,
    Path(agent_id): Path<String>,
    headers: HeaderMap,
    caller: Option<Extension<RunCaller>>,
    principal: Principal,
    body: Bytes,
) -> Response {
    if !state.engine.is_runnable(&agent_id) {
        return A2aError::AgentNotFound(agent_id).respond(Value::Null);
    }
    let scope = Scope::agent(agent_id, principal);
    rpc::handle(state, scope, caller.map(|c| c.0), &headers, body).await
}
