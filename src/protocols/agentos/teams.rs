//! AgentOS team routes: discovery and team runs. Runs share their handling
//! with agent runs (`runs`); only names and defaults differ.

use axum::extract::{Path, Query, Request, State};
use axum::http::HeaderMap;
use axum::response::{Json, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{AgentOsError, ErrorBody};
use super::runs::{self, Kind, SessionQuery};
use super::wire::{BackgroundRun, ModelInfo};
use super::{CreateRunForm, agent_response};
use crate::config::TeamConfig;
use crate::engine::Principal;
use crate::web::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_teams))
        .routes(routes!(get_team))
        .routes(routes!(create_team_run, list_team_runs))
        .routes(routes!(get_team_run))
        .routes(routes!(cancel_team_run))
        .routes(routes!(continue_team_run))
        .routes(routes!(resume_team_run))
}

/// A team as `GET /teams` and `GET /teams/{team_id}` show it.
#[derive(Serialize, ToSchema)]
pub struct TeamResponse {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// route, coordinate or broadcast.
    pub mode: &'static str,
    pub model: ModelInfo,
    /// Member agents and teams, as their own discovery objects.
    #[schema(value_type = Vec<Object>)]
    pub members: Vec<Value>,
}

fn team_response(state: &AppState, team: &TeamConfig) -> TeamResponse {
    let engine = &state.engine;
    let members = team
        .members
        .iter()
        .filter_map(|id| {
            if let Some(agent) = engine.agent(id) {
                serde_json::to_value(agent_response(state, agent)).ok()
            } else {
                engine
                    .team(id)
                    .and_then(|t| serde_json::to_value(team_response(state, t)).ok())
            }
        })
        .collect();
    let leader = engine.agent_model_by_key(&team.model);
    TeamResponse {
        id: team.id.clone(),
        name: team.display_name().to_string(),
        description: team.description.clone(),
        mode: team.mode.as_str(),
        model: ModelInfo {
            name: team.model.clone(),
            model: leader
                .as_ref()
                .map(|m| m.name().to_string())
                .unwrap_or_default(),
            provider: leader.map(|m| m.provider().to_string()).unwrap_or_default(),
        },
        members,
    }
}

/// List the configured teams.
#[utoipa::path(get, path = "/teams", tag = "agentos",
    responses((status = 200, body = Vec<TeamResponse>)))]
async fn list_teams(
    State(state): State<AppState>,
    principal: Principal,
) -> Json<Vec<TeamResponse>> {
    Json(
        state
            .engine
            .teams_for(&principal)
            .into_iter()
            .map(|t| team_response(&state, t))
            .collect(),
    )
}

/// Get one team with its members.
#[utoipa::path(get, path = "/teams/{team_id}", tag = "agentos",
    params(("team_id" = String, Path)),
    responses((status = 200, body = TeamResponse), (status = 404, body = ErrorBody)))]
async fn get_team(
    State(state): State<AppState>,
    principal: Principal,
    Path(team_id): Path<String>,
) -> Result<Json<TeamResponse>, AgentOsError> {
    let team = state
        .engine
        .team_for(&principal, &team_id)
        .ok_or(AgentOsError::TeamNotFound)?;
    Ok(Json(team_response(&state, team)))
}

/// Create a team run; streams team and member events by default (stream=true).
#[utoipa::path(post, path = "/teams/{team_id}/runs", tag = "agentos",
    params(("team_id" = String, Path)),
    request_body(content(
        (CreateRunForm = "multipart/form-data"),
        (CreateRunForm = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "An SSE stream of team events (stream=true, the default) or the team run output",
            content((crate::web::schemas::SseEvent = "text/event-stream"), (Object = "application/json"))),
        (status = 202, body = BackgroundRun),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The team's `allowed_scopes` exclude the caller, or `user_id` names another user"),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create_team_run(
    State(state): State<AppState>,
    Path(team_id): Path<String>,
    req: Request,
) -> Result<Response, AgentOsError> {
    runs::create(&state, Kind::Team, &team_id, req).await
}

/// Poll one team run (with its members' outputs).
#[utoipa::path(get, path = "/teams/{team_id}/runs/{run_id}", tag = "agentos",
    params(("team_id" = String, Path), ("run_id" = String, Path), SessionQuery),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn get_team_run(
    State(state): State<AppState>,
    Path((team_id, run_id)): Path<(String, String)>,
    principal: Principal,
    Query(q): Query<SessionQuery>,
) -> Result<Json<runs::Output>, AgentOsError> {
    runs::get(&state, &principal, Kind::Team, &team_id, &run_id, &q).await
}

/// List a team's runs in a session, oldest first.
#[utoipa::path(get, path = "/teams/{team_id}/runs", tag = "agentos",
    params(("team_id" = String, Path), SessionQuery),
    responses((status = 200, body = Vec<Object>), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn list_team_runs(
    State(state): State<AppState>,
    Path(team_id): Path<String>,
    principal: Principal,
    Query(q): Query<SessionQuery>,
) -> Result<Json<Vec<Value>>, AgentOsError> {
    runs::list(&state, &principal, Kind::Team, &team_id, &q).await
}

/// Cancel a team run and its member runs. Always `{}` for a known team.
#[utoipa::path(post, path = "/teams/{team_id}/runs/{run_id}/cancel", tag = "agentos",
    params(("team_id" = String, Path), ("run_id" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn cancel_team_run(
    State(state): State<AppState>,
    principal: Principal,
    Path((team_id, run_id)): Path<(String, String)>,
) -> Result<Json<Value>, AgentOsError> {
    runs::cancel(&state, &principal, Kind::Team, &team_id, &run_id).await
}

/// Continue a paused team run.
#[utoipa::path(post, path = "/teams/{team_id}/runs/{run_id}/continue", tag = "agentos",
    params(("team_id" = String, Path), ("run_id" = String, Path)),
    request_body(content(
        (Object = "application/x-www-form-urlencoded"), (Object = "multipart/form-data"))),
    responses((status = 200, content((crate::web::schemas::SseEvent = "text/event-stream"), (Object = "application/json"))),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
async fn continue_team_run(
    State(state): State<AppState>,
    Path((team_id, run_id)): Path<(String, String)>,
    req: Request,
) -> Result<Response, AgentOsError> {
    runs::continue_run(&state, Kind::Team, &team_id, &run_id, req).await
}

/// Re-attach to a team run's event stream after `last_event_index`.
#[utoipa::path(post, path = "/teams/{team_id}/runs/{run_id}/resume", tag = "agentos",
    params(("team_id" = String, Path), ("run_id" = String, Path)),
    request_body(content(
        (Object = "application/x-www-form-urlencoded"), (Object = "multipart/form-data"))),
    responses((status = 200, content((crate::web::schemas::SseEvent = "text/event-stream"))),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn resume_team_run(
    State(state): State<AppState>,
    Path((team_id, run_id)): Path<(String, String)>,
    headers: HeaderMap,
    req: Request,
) -> Result<Response, AgentOsError> {
    runs::resume(&state, Kind::Team, &team_id, &run_id, &headers, req).await
}
