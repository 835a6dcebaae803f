//! Codegen agent API adapter: background agent runs addressed by integer ids,
//! with bearer-key auth, organizations, users and a create-run rate limit
//! (docs/specs/codegen.md).
//!
//! Handlers stay thin: `access` says who is calling, `inbound` parses and
//! validates requests into engine input, `outbound` renders runs and their
//! logs, `wire` holds the serde types, `ledger` maps Codegen ids to engine
//! sessions and runs, `error` every error body.

mod access;
pub(crate) mod error;
mod inbound;
mod ledger;
mod outbound;
mod wire;

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Json;
use futures::{FutureExt, StreamExt};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::{CodegenError, ErrorBody, RateLimitBody, ValidationErrorBody};
pub use wire::{AgentRunResponse, AgentRunWithLogsResponse, PageAgentRunResponse, UserResponse};

use access::{Access, Caller};
use ledger::{Ledger, Ledgers};

use crate::config::{CodegenUser, Config};
use crate::domain::principal::Principal;
use crate::engine::{Engine, Event, Message, RunCaller, RunRecord};
use crate::web::AppState;

/// Per-app Codegen state, shared by the handlers through an extension so the
/// app state stays protocol-neutral.
#[derive(Default)]
struct Runtime {
    access: Access,
    ledgers: Ledgers,
}

type Rt = Extension<Arc<Runtime>>;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_agent_run))
        .routes(routes!(get_agent_run))
        .routes(routes!(list_agent_runs))
        .routes(routes!(resume_agent_run))
        .routes(routes!(get_agent_run_logs))
        .routes(routes!(get_me))
        .routes(routes!(list_organizations))
        .routes(routes!(list_users))
        .routes(routes!(get_user))
        .layer(Extension(Arc::new(Runtime::default())))
}

/// Where agentd's pages are, for `web_url`: the configured public base URL,
/// else the scheme and host the request came in on.
fn web_base(config: &Config, headers: &HeaderMap) -> String {
    if let Some(base) = config
        .codegen
        .as_ref()
        .and_then(|c| c.public_base_url.as_deref())
        .filter(|b| !b.is_empty())
    {
        return base.trim_end_matches('/').to_string();
    }
    crate::web::base_url::origin(headers, None).unwrap_or_default()
}

fn view(
    state: &AppState,
    headers: &HeaderMap,
    ledger: &Ledger,
    latest: Option<&RunRecord>,
) -> AgentRunResponse {
    let web_url = format!(
        "{}/ui/runs/{}",
        web_base(state.config(), headers),
        ledger.latest_run().unwrap_or_default()
    );
    outbound::agent_run(
        &outbound::RunView {
            id: ledger.id,
            organization_id: ledger.organization_id,
            created_at_ms: ledger.created_at,
            metadata: ledger.metadata.as_ref(),
            web_url,
        },
        latest,
    )
}

async fn latest_record(
    engine: &Engine,
    ledger: &Ledger,
) -> Result<Option<RunRecord>, CodegenError> {
    match ledger.latest_run() {
        Some(id) => Ok(engine.get_run(&ledger::service(), id).await?),
        None => Ok(None),
    }
}

/// The events a run has so far, without waiting for more.
async fn events_so_far(engine: &Engine, run_id: &str) -> Result<Vec<Arc<Event>>, CodegenError> {
    let mut stream = engine.subscribe(&ledger::service(), run_id, 0).await?;
    let mut out = Vec::new();
    while let Some(Some(event)) = stream.next().now_or_never() {
        out.push(event);
    }
    Ok(out)
}

/// Create an agent run. It starts in the background; poll it by id.
#[utoipa::path(post, path = "/v1/organizations/{org_id}/agent/run", tag = "codegen",
    params(("org_id" = i64, Path, description = "Organization id")),
    request_body = wire::CreateAgentRunInput,
    responses(
        (status = 200, body = AgentRunResponse),
        (status = 401, body = ErrorBody), (status = 402, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "The repository is not in the organization"),
        (status = 422, body = ValidationErrorBody), (status = 429, body = RateLimitBody)))]
async fn create_agent_run(
    State(state): State<AppState>,
    Extension(rt): Rt,
    Path(org_id): Path<String>,
    headers: HeaderMap,
    principal: Principal,
    run_caller: Option<Extension<RunCaller>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<AgentRunResponse>, CodegenError> {
    let org_id = inbound::path_int("org_id", &org_id)?;
    let caller = rt
        .access
        .authenticate(state.config(), &headers, &principal)?;
    rt.access.count_create(&state.engine, &caller).await?;
    let org = caller.organization(org_id)?;
    let input = inbound::parse_create(&inbound::body_bytes(body)?)?;
    let (ledger, message) = inbound::plan_create(state.config(), &caller, org, input)?;
    let (ledger, record) = rt
        .ledgers
        .create(
            &state.engine,
            org.run_quota,
            ledger,
            message,
            run_caller.map(|c| c.0),
        )
        .await?;
    Ok(Json(view(&state, &headers, &ledger, Some(&record))))
}

/// Get an agent run: status, and the result once complete.
#[utoipa::path(get, path = "/v1/organizations/{org_id}/agent/run/{agent_run_id}", tag = "codegen",
    params(("org_id" = i64, Path), ("agent_run_id" = i64, Path)),
    responses(
        (status = 200, body = AgentRunResponse),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ValidationErrorBody)))]
async fn get_agent_run(
    State(state): State<AppState>,
    Extension(rt): Rt,
    Path((org_id, run_id)): Path<(String, String)>,
    headers: HeaderMap,
    principal: Principal,
) -> Result<Json<AgentRunResponse>, CodegenError> {
    let org_id = inbound::path_int("org_id", &org_id)?;
    let run_id = inbound::run_id_param(&run_id)?;
    let caller = rt
        .access
        .authenticate(state.config(), &headers, &principal)?;
    caller.organization(org_id)?;
    let ledger = match run_id {
        Some(id) => rt.ledgers.get(&state.engine, org_id, id).await?,
        None => None,
    }
    .ok_or(CodegenError::RunNotFound)?;
    let latest = latest_record(&state.engine, &ledger).await?;
    Ok(Json(view(&state, &headers, &ledger, latest.as_ref())))
}

/// List an organization's agent runs, newest first.
#[utoipa::path(get, path = "/v1/organizations/{org_id}/agent/runs", tag = "codegen",
    params(("org_id" = i64, Path), wire::ListRunsParams),
    responses(
        (status = 200, body = PageAgentRunResponse),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ValidationErrorBody)))]
async fn list_agent_runs(
    State(state): State<AppState>,
    Extension(rt): Rt,
    Path(org_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    principal: Principal,
) -> Result<Json<PageAgentRunResponse>, CodegenError> {
    let org_id = inbound::path_int("org_id", &org_id)?;
    let mut q = inbound::Query::parse(query.as_deref());
    let user_id = q.int("user_id", None, None);
    let source_type = q.source_type();
    let (skip, limit) = inbound::paging(&mut q);
    q.finish()?;
    let caller = rt
        .access
        .authenticate(state.config(), &headers, &principal)?;
    caller.organization(org_id)?;
    let mut ledgers: Vec<Ledger> = rt
        .ledgers
        .all(&state.engine)
        .await?
        .into_iter()
        .filter(|l| l.organization_id == org_id)
        .filter(|l| user_id.is_none_or(|u| l.user_id == Some(u)))
        .filter(|_| source_type.as_deref().is_none_or(|s| s == wire::SOURCE_API))
        .collect();
    ledgers.sort_by_key(|l| std::cmp::Reverse(l.id));
    let total = ledgers.len();
    let mut items = Vec::new();
    for ledger in ledgers.iter().skip(skip).take(limit) {
        let latest = latest_record(&state.engine, ledger).await?;
        items.push(view(&state, &headers, ledger, latest.as_ref()));
    }
    let (page, pages) = wire::page_numbers(total, skip, limit);
    Ok(Json(PageAgentRunResponse {
        items,
        total,
        page,
        size: limit,
        pages,
    }))
}

/// Resume an agent run with a follow-up prompt. A finished run continues its
/// conversation in a new step that the same id then shows.
#[utoipa::path(post, path = "/v1/organizations/{org_id}/agent/run/resume", tag = "codegen",
    params(("org_id" = i64, Path)),
    request_body = wire::ResumeAgentRunInput,
    responses(
        (status = 200, body = AgentRunResponse),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The run is still working"),
        (status = 422, body = ValidationErrorBody)))]
async fn resume_agent_run(
    State(state): State<AppState>,
    Extension(rt): Rt,
    Path(org_id): Path<String>,
    headers: HeaderMap,
    principal: Principal,
    run_caller: Option<Extension<RunCaller>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<AgentRunResponse>, CodegenError> {
    let org_id = inbound::path_int("org_id", &org_id)?;
    let caller = rt
        .access
        .authenticate(state.config(), &headers, &principal)?;
    caller.organization(org_id)?;
    let input = inbound::parse_resume(&inbound::body_bytes(body)?)?;
    let mut message = Message::user(input.prompt);
    message.attachments = input.images;
    let (ledger, record) = rt
        .ledgers
        .resume(
            &state.engine,
            org_id,
            input.agent_run_id,
            message,
            run_caller.map(|c| c.0),
        )
        .await?;
    Ok(Json(view(&state, &headers, &ledger, Some(&record))))
}

/// An agent run with its trace: prompts, reasoning, tool calls, the answer.
#[utoipa::path(get, path = "/v1/alpha/organizations/{org_id}/agent/run/{agent_run_id}/logs",
    tag = "codegen",
    params(("org_id" = i64, Path), ("agent_run_id" = i64, Path), wire::LogsParams),
    responses(
        (status = 200, body = AgentRunWithLogsResponse),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ValidationErrorBody)))]
async fn get_agent_run_logs(
    State(state): State<AppState>,
    Extension(rt): Rt,
    Path((org_id, run_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    principal: Principal,
) -> Result<Json<AgentRunWithLogsResponse>, CodegenError> {
    let org_id = inbound::path_int("org_id", &org_id)?;
    let run_id = inbound::run_id_param(&run_id)?;
    let mut q = inbound::Query::parse(query.as_deref());
    let (skip, limit) = inbound::paging(&mut q);
    let reverse = q.bool("reverse", false);
    q.finish()?;
    let caller = rt
        .access
        .authenticate(state.config(), &headers, &principal)?;
    caller.organization(org_id)?;
    let ledger = match run_id {
        Some(id) => rt.ledgers.get(&state.engine, org_id, id).await?,
        None => None,
    }
    .ok_or(CodegenError::RunNotFound)?;
    let mut runs = Vec::new();
    for engine_run in &ledger.runs {
        if let Some(record) = state.engine.get_run(&ledger::service(), engine_run).await? {
            let events = events_so_far(&state.engine, engine_run).await?;
            runs.push((record, events));
        }
    }
    let mut logs = outbound::logs(ledger.id, &runs);
    if reverse {
        logs.reverse();
    }
    let total_logs = logs.len();
    let (page, pages) = wire::page_numbers(total_logs, skip, limit);
    let run = view(&state, &headers, &ledger, runs.last().map(|(r, _)| r));
    Ok(Json(AgentRunWithLogsResponse {
        id: run.id,
        organization_id: run.organization_id,
        status: run.status,
        created_at: run.created_at,
        web_url: run.web_url,
        result: run.result,
        metadata: run.metadata,
        logs: logs.into_iter().skip(skip).take(limit).collect(),
        total_logs,
        page,
        size: limit,
        pages,
    }))
}

fn user_response(user: &CodegenUser) -> UserResponse {
    UserResponse {
        id: user.id,
        email: user.email.clone(),
        github_user_id: user
            .github_user_id
            .clone()
            .unwrap_or_else(|| user.id.to_string()),
        github_username: user
            .github_username
            .clone()
            .unwrap_or_else(|| format!("user-{}", user.id)),
        avatar_url: user.avatar_url.clone(),
        full_name: user.full_name.clone(),
        role: user.role.clone(),
        is_admin: Some(user.is_admin),
    }
}

/// The user the API key belongs to.
#[utoipa::path(get, path = "/v1/users/me", tag = "codegen",
    responses((status = 200, body = UserResponse), (status = 401, body = ErrorBody)))]
async fn get_me(
    State(state): State<AppState>,
    Extension(rt): Rt,
    headers: HeaderMap,
    principal: Principal,
) -> Result<Json<UserResponse>, CodegenError> {
    let caller = rt
        .access
        .authenticate(state.config(), &headers, &principal)?;
    // A provider's token is no Codegen user: there is no one to show.
    let user = caller.user().ok_or(CodegenError::UserNotFound)?;
    Ok(Json(user_response(user)))
}

/// The organizations the caller is a member of.
#[utoipa::path(get, path = "/v1/organizations", tag = "codegen",
    params(wire::PageParams),
    responses((status = 200, body = wire::PageOrganizationResponse),
        (status = 401, body = ErrorBody), (status = 422, body = ValidationErrorBody)))]
async fn list_organizations(
    State(state): State<AppState>,
    Extension(rt): Rt,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    principal: Principal,
) -> Result<Json<wire::PageOrganizationResponse>, CodegenError> {
    let mut q = inbound::Query::parse(query.as_deref());
    let (skip, limit) = inbound::paging(&mut q);
    q.finish()?;
    let caller = rt
        .access
        .authenticate(state.config(), &headers, &principal)?;
    let orgs = caller.organizations();
    let total = orgs.len();
    let (page, pages) = wire::page_numbers(total, skip, limit);
    Ok(Json(wire::PageOrganizationResponse {
        items: orgs
            .into_iter()
            .skip(skip)
            .take(limit)
            .map(|o| wire::OrganizationResponse {
                id: o.id,
                name: o.name.clone(),
                settings: wire::OrganizationSettings {
                    enable_pr_creation: true,
                    enable_rules_detection: true,
                },
            })
            .collect(),
        total,
        page,
        size: limit,
        pages,
    }))
}

/// Members of `org_id`, in config order.
fn members<'a>(caller: &Caller<'a>, org_id: i64) -> Vec<&'a CodegenUser> {
    caller
        .config
        .users
        .iter()
        .filter(|u| u.organizations.contains(&org_id))
        .collect()
}

/// The members of an organization.
#[utoipa::path(get, path = "/v1/organizations/{org_id}/users", tag = "codegen",
    params(("org_id" = i64, Path), wire::PageParams),
    responses((status = 200, body = wire::PageUserResponse),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ValidationErrorBody)))]
async fn list_users(
    State(state): State<AppState>,
    Extension(rt): Rt,
    Path(org_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    principal: Principal,
) -> Result<Json<wire::PageUserResponse>, CodegenError> {
    let org_id = inbound::path_int("org_id", &org_id)?;
    let mut q = inbound::Query::parse(query.as_deref());
    let (skip, limit) = inbound::paging(&mut q);
    q.finish()?;
    let caller = rt
        .access
        .authenticate(state.config(), &headers, &principal)?;
    caller.organization(org_id)?;
    let users = members(&caller, org_id);
    let total = users.len();
    let (page, pages) = wire::page_numbers(total, skip, limit);
    Ok(Json(wire::PageUserResponse {
        items: users
            .into_iter()
            .skip(skip)
            .take(limit)
            .map(user_response)
            .collect(),
        total,
        page,
        size: limit,
        pages,
    }))
}

/// One member of an organization.
#[utoipa::path(get, path = "/v1/organizations/{org_id}/users/{user_id}", tag = "codegen",
    params(("org_id" = i64, Path), ("user_id" = i64, Path)),
    responses((status = 200, body = UserResponse),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ValidationErrorBody)))]
async fn get_user(
    State(state): State<AppState>,
    Extension(rt): Rt,
    Path((org_id, user_id)): Path<(String, String)>,
    headers: HeaderMap,
    principal: Principal,
) -> Result<Json<UserResponse>, CodegenError> {
    let org_id = inbound::path_int("org_id", &org_id)?;
    let user_id = inbound::path_int("user_id", &user_id)?;
    let caller = rt
        .access
        .authenticate(state.config(), &headers, &principal)?;
    caller.organization(org_id)?;
    members(&caller, org_id)
        .into_iter()
        .find(|u| u.id == user_id)
        .map(|u| Json(user_response(u)))
        .ok_or(CodegenError::UserNotFound)
}
