//! Agno AgentOS adapter: agent discovery and agent runs over form posts, with
//! JSON or SSE answers, and sessions (docs/specs/agentos.md).

pub(crate) mod error;
mod inbound;
mod os_config;
mod outbound;
mod runs;
mod session_query;
mod sessions;
mod teams;
mod wire;

use axum::extract::{Path, Query, Request, State};
use axum::http::HeaderMap;
use axum::response::{Json, Response};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::{AgentOsError, ErrorBody};
pub use wire::{AgentResponse, BackgroundRun, RunOutput};

use crate::config::AgentConfig;
use crate::engine::Principal;
use crate::web::AppState;
use runs::{Kind, SessionQuery};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(os_config::get_config))
        .routes(routes!(os_config::list_workflows))
        .routes(routes!(list_agents))
        .routes(routes!(get_agent))
        .routes(routes!(create_run, list_runs))
        .routes(routes!(get_run))
        .routes(routes!(cancel_run))
        .routes(routes!(continue_run))
        .routes(routes!(resume_run))
        .merge(teams::router())
        .merge(sessions::router())
}

pub(super) fn agent_response(state: &AppState, agent: &AgentConfig) -> AgentResponse {
    let engine = &state.engine;
    let (model, provider) = engine
        .agent_model(agent)
        .map(|m| (m.name().to_string(), m.provider().to_string()))
        .unwrap_or_default();
    AgentResponse {
        id: agent.id.clone(),
        name: agent.display_name().to_string(),
        description: agent.description.clone(),
        model: wire::ModelInfo {
            name: agent.model.clone(),
            model,
            provider,
        },
        tools: wire::ToolsInfo {
            tools: engine
                .agent_tools(agent)
                .into_iter()
                .map(|t| wire::ToolInfo {
                    name: t.name,
                    description: t.description,
                    parameters: t.parameters,
                })
                .collect(),
        },
        instructions: agent.instructions.clone(),
    }
}

fn find_agent<'a>(state: &'a AppState, id: &str) -> Result<&'a AgentConfig, AgentOsError> {
    state.engine.agent(id).ok_or(AgentOsError::AgentNotFound)
}

/// List the configured agents.
#[utoipa::path(get, path = "/agents", tag = "agentos",
    responses((status = 200, body = Vec<AgentResponse>)))]
async fn list_agents(
    State(state): State<AppState>,
    principal: Principal,
) -> Json<Vec<AgentResponse>> {
    Json(
        state
            .engine
            .agents_for(&principal)
            .into_iter()
            .map(|a| agent_response(&state, a))
            .collect(),
    )
}

/// Get one agent.
#[utoipa::path(get, path = "/agents/{agent_id}", tag = "agentos",
    params(("agent_id" = String, Path, description = "Agent id")),
    responses((status = 200, body = AgentResponse), (status = 404, body = ErrorBody)))]
async fn get_agent(
    State(state): State<AppState>,
    principal: Principal,
    Path(agent_id): Path<String>,
) -> Result<Json<AgentResponse>, AgentOsError> {
    // One the caller may not run is absent for it, as from its listing.
    let agent = find_agent(&state, &agent_id)?;
    if !state.engine.is_runnable_by(&principal, &agent_id) {
        return Err(AgentOsError::AgentNotFound);
    }
    Ok(Json(agent_response(&state, agent)))
}

/// The form fields of a create-run request, for the OpenAPI document.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(super) struct CreateRunForm {
    /// The user's message.
    message: String,
    /// `true` for an SSE stream of run events; default `false` (JSON output).
    stream: Option<bool>,
    /// Continue this session; a new id is generated when absent.
    session_id: Option<String>,
    user_id: Option<String>,
    /// Run in the background and answer 202 at once (with stream=false).
    background: Option<bool>,
    /// A JSON object stored with the run.
    metadata: Option<String>,
    /// Files: images, audio, video or documents.
    #[schema(value_type = Option<Vec<String>>, format = Binary)]
    files: Option<Vec<Vec<u8>>>,
}

/// Create an agent run from a form post: JSON output, or SSE with stream=true.
#[utoipa::path(post, path = "/agents/{agent_id}/runs", tag = "agentos",
    params(("agent_id" = String, Path, description = "Agent id")),
    request_body(content(
        (CreateRunForm = "multipart/form-data"),
        (CreateRunForm = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Run output (stream=false) or an SSE stream of run events (stream=true)",
            content((RunOutput = "application/json"), (crate::web::schemas::SseEvent = "text/event-stream"))),
        (status = 202, body = BackgroundRun),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The agent's `allowed_scopes` exclude the caller, or `user_id` names another user"),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create_run(
    State(state): State<AppState>,
    Path(agent_id): Path<String>,
    req: Request,
) -> Result<Response, AgentOsError> {
    runs::create(&state, Kind::Agent, &agent_id, req).await
}

/// Poll one run of an agent.
#[utoipa::path(get, path = "/agents/{agent_id}/runs/{run_id}", tag = "agentos",
    params(("agent_id" = String, Path), ("run_id" = String, Path), SessionQuery),
    responses((status = 200, body = RunOutput), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn get_run(
    State(state): State<AppState>,
    principal: Principal,
    Path((agent_id, run_id)): Path<(String, String)>,
    Query(q): Query<SessionQuery>,
) -> Result<Json<runs::Output>, AgentOsError> {
    runs::get(&state, &principal, Kind::Agent, &agent_id, &run_id, &q).await
}

/// List an agent's runs in a session, oldest first.
#[utoipa::path(get, path = "/agents/{agent_id}/runs", tag = "agentos",
    params(("agent_id" = String, Path), SessionQuery),
    responses((status = 200, body = Vec<Object>), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn list_runs(
    State(state): State<AppState>,
    principal: Principal,
    Path(agent_id): Path<String>,
    Query(q): Query<SessionQuery>,
) -> Result<Json<Vec<Value>>, AgentOsError> {
    runs::list(&state, &principal, Kind::Agent, &agent_id, &q).await
}

/// Cancel a run. Always `{}` for a known agent, as AgentOS answers.
#[utoipa::path(post, path = "/agents/{agent_id}/runs/{run_id}/cancel", tag = "agentos",
    params(("agent_id" = String, Path), ("run_id" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn cancel_run(
    State(state): State<AppState>,
    principal: Principal,
    Path((agent_id, run_id)): Path<(String, String)>,
) -> Result<Json<Value>, AgentOsError> {
    runs::cancel(&state, &principal, Kind::Agent, &agent_id, &run_id).await
}

/// Continue a paused run with the results of its external tool calls.
#[utoipa::path(post, path = "/agents/{agent_id}/runs/{run_id}/continue", tag = "agentos",
    params(("agent_id" = String, Path), ("run_id" = String, Path)),
    request_body(content(
        (Object = "application/x-www-form-urlencoded"), (Object = "multipart/form-data")),
        description = "tools (JSON array of tool executions with result), session_id, stream"),
    responses(
        (status = 200, description = "As create run", content((RunOutput = "application/json"), (crate::web::schemas::SseEvent = "text/event-stream"))),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
async fn continue_run(
    State(state): State<AppState>,
    Path((agent_id, run_id)): Path<(String, String)>,
    req: Request,
) -> Result<Response, AgentOsError> {
    runs::continue_run(&state, Kind::Agent, &agent_id, &run_id, req).await
}

/// Re-attach to a run's event stream: the events after `last_event_index`
/// (or the Last-Event-ID header, the `id:` of the last frame received), then
/// live ones while the run goes on.
#[utoipa::path(post, path = "/agents/{agent_id}/runs/{run_id}/resume", tag = "agentos",
    params(("agent_id" = String, Path), ("run_id" = String, Path)),
    request_body(content(
        (Object = "application/x-www-form-urlencoded"), (Object = "multipart/form-data")),
        description = "last_event_index (the id of the last event received), session_id"),
    responses((status = 200, content((crate::web::schemas::SseEvent = "text/event-stream"))),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn resume_run(
    State(state): State<AppState>,
    Path((agent_id, run_id)): Path<(String, String)>,
    headers: HeaderMap,
    req: Request,
) -> Result<Response, AgentOsError> {
    runs::resume(&state, Kind::Agent, &agent_id, &run_id, &headers, req).await
}
