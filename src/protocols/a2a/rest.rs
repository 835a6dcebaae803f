//! The HTTP+JSON binding of A2A 1.0 under each agent's A2A base
//! (`/a2a/{agent_id}`): `POST message:send`, `POST message:stream`,
//! `GET tasks`, `GET tasks/{id}`, `POST tasks/{id}:cancel`,
//! `GET|POST tasks/{id}:subscribe`, `GET extendedAgentCard`, and the push
//! notification config paths (refused: there are no webhooks).
//!
//! Bodies and answers are 1.0's ProtoJSON (`v1`), errors `google.rpc`
//! statuses (`error::A2aError::rest`). These paths exist in 1.0 only (0.3's
//! REST paths were others), so a request without `A2A-Version` is 1.0 here
//! and one that asks for 0.3 is refused.
//!
//! Depends on `ops`, `list`, `render`, `v1` and `error`; never on the
//! engine or the store directly.

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::error::A2aError;
use super::ops::{self, Scope};
use super::outbound;
use super::outbound::json;
use super::version::{self, Version};
use super::{list, v1};
use crate::engine::Principal;
use crate::engine::RunCaller;
use crate::web::AppState;

/// The media type 1.0 gives HTTP+JSON bodies.
const A2A_JSON: &str = "application/a2a+json";

/// Whether a path is one of this binding's (for the 405 fallback's shape).
pub fn is_rest_path(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/a2a/") else {
        return false;
    };
    let Some((_, tail)) = rest.split_once('/') else {
        return false;
    };
    matches!(
        tail,
        "message:send" | "message:stream" | "extendedAgentCard" | "tasks"
    ) || tail.starts_with("tasks/")
}

fn answer<T: Serialize>(value: &T) -> Response {
    let mut resp = axum::Json(json(value)).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(A2A_JSON));
    resp
}

/// The agent's scope, once the agent exists and the request speaks 1.0.
fn scope(
    state: &AppState,
    headers: &HeaderMap,
    agent_id: String,
    principal: Principal,
) -> Result<Scope, A2aError> {
    if !state.engine.is_runnable(&agent_id) {
        return Err(A2aError::AgentNotFound(agent_id));
    }
    match version::requested(headers)? {
        None | Some(Version::V1) => Ok(Scope::agent(agent_id, principal)),
        Some(Version::V03) => Err(A2aError::VersionNotSupported(
            "0.3 (this is the 1.0 HTTP+JSON binding; 0.3 is served over JSON-RPC)".into(),
        )),
    }
}

fn body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, A2aError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| A2aError::Parse(e.to_string()))?;
    serde_json::from_value(value).map_err(|e| A2aError::InvalidParams(e.to_string()))
}

fn query<T: serde::de::DeserializeOwned + Default>(raw: Option<String>) -> Result<T, A2aError> {
    match raw.filter(|q| !q.is_empty()) {
        None => Ok(T::default()),
        Some(q) => {
            serde_urlencoded::from_str(&q).map_err(|e| A2aError::InvalidParams(e.to_string()))
        }
    }
}

/// `historyLength` of a task's query.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskQuery {
    history_length: Option<i64>,
}

/// A task path's last segment: the id and the custom method after `:`.
fn task_action(segment: &str) -> (&str, Option<&str>) {
    match segment.rsplit_once(':') {
        Some((id, action)) => (id, Some(action)),
        None => (segment, None),
    }
}

/// Sends a message; waits for the task to finish or pause unless
/// `configuration.returnImmediately`.
#[utoipa::path(post, operation_id = "a2a_rest_send", path = "/a2a/{agent_id}/message:send",
    tag = "a2a",
    params(("agent_id" = String, Path, description = "Agent or team id")),
    request_body(content = v1::SendMessageRequest, content_type = "application/json"),
    responses(
        (status = 200, body = v1::SendMessageResponse, content_type = "application/a2a+json"),
        (status = 400, description = "Invalid request, or a failed precondition (google.rpc.Status)"),
        (status = 403, description = "The agent's `allowed_scopes` exclude the caller (google.rpc.Status PERMISSION_DENIED)"),
        (status = 404, description = "No such agent, or the task the message names is unknown"),
        (status = 429, description = "Too many runs; Retry-After says when to retry"),
        (status = 503, description = "Shutting down")))]
async fn rest_send(
    State(state): State<AppState>,
    Path(agent_id): Path<String>,
    headers: HeaderMap,
    principal: Principal,
    caller: Option<Extension<RunCaller>>,
    bytes: Bytes,
) -> Response {
    let run = async {
        let scope = scope(&state, &headers, agent_id, principal)?;
        let (p, blocking, history_length) = v1::inbound_send(body(&bytes)?)?;
        let caller = caller.map(|c| c.0);
        let task = ops::send(&state, &scope, caller, &p, blocking, history_length).await?;
        Ok::<_, A2aError>(answer(&v1::SendMessageResponse {
            task: v1::task(&task, true),
        }))
    };
    run.await.unwrap_or_else(A2aError::rest)
}

/// Sends a message and streams its task as SSE (`StreamResponse` events).
#[utoipa::path(post, operation_id = "a2a_rest_stream", path = "/a2a/{agent_id}/message:stream",
    tag = "a2a",
    params(("agent_id" = String, Path, description = "Agent or team id")),
    request_body(content = v1::SendMessageRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "SSE: the task, then its status and artifact updates",
            body = v1::StreamResponse, content_type = "text/event-stream"),
        (status = 400, description = "Invalid request, or a failed precondition (google.rpc.Status)"),
        (status = 403, description = "The agent's `allowed_scopes` exclude the caller (google.rpc.Status PERMISSION_DENIED)"),
        (status = 404, description = "No such agent, or the task the message names is unknown"),
        (status = 429, description = "Too many runs; Retry-After says when to retry"),
        (status = 503, description = "Shutting down")))]
async fn rest_stream(
    State(state): State<AppState>,
    Path(agent_id): Path<String>,
    headers: HeaderMap,
    principal: Principal,
    caller: Option<Extension<RunCaller>>,
    bytes: Bytes,
) -> Response {
    let run = async {
        let scope = scope(&state, &headers, agent_id, principal)?;
        let (p, _, _) = v1::inbound_send(body(&bytes)?)?;
        let streamed = ops::stream(&state, &scope, caller.map(|c| c.0), &p).await?;
        Ok::<_, A2aError>(outbound::sse(&state, streamed, |item| {
            outbound::v1(item).to_string()
        }))
    };
    run.await.unwrap_or_else(A2aError::rest)
}

/// Tasks of this agent, newest status change first: `contextId`, `status`
/// (`TASK_STATE_*`), `pageSize` (1-100, 50), `pageToken`, `historyLength`,
/// `statusTimestampAfter`, `includeArtifacts`.
#[utoipa::path(get, operation_id = "a2a_rest_list_tasks", path = "/a2a/{agent_id}/tasks",
    tag = "a2a",
    params(("agent_id" = String, Path, description = "Agent or team id"),
        ("contextId" = Option<String>, Query, description = "Only this context's tasks"),
        ("status" = Option<String>, Query, description = "Only tasks in this TASK_STATE_*"),
        ("pageSize" = Option<i64>, Query, description = "1 to 100; 50 by default"),
        ("pageToken" = Option<String>, Query, description = "nextPageToken of the page before"),
        ("historyLength" = Option<i64>, Query, description = "At most this many history messages per task"),
        ("statusTimestampAfter" = Option<String>, Query, description = "RFC 3339: tasks changed since"),
        ("includeArtifacts" = Option<bool>, Query, description = "Include each task's artifacts")),
    responses(
        (status = 200, body = v1::ListTasksResponse, content_type = "application/a2a+json"),
        (status = 400, description = "Invalid parameters (google.rpc.Status)"),
        (status = 404, description = "No such agent")))]
async fn rest_list(
    State(state): State<AppState>,
    Path(agent_id): Path<String>,
    headers: HeaderMap,
    principal: Principal,
    RawQuery(raw): RawQuery,
) -> Response {
    let run = async {
        let scope = scope(&state, &headers, agent_id, principal)?;
        let p: v1::ListTasksRequest = query(raw)?;
        Ok::<_, A2aError>(answer(&list::page(&state, &scope, p).await?))
    };
    run.await.unwrap_or_else(A2aError::rest)
}

/// `tasks/{id}`: the task (`historyLength` in the query);
/// `tasks/{id}:subscribe`: its stream, as SSE.
#[utoipa::path(get, operation_id = "a2a_rest_get_task", path = "/a2a/{agent_id}/tasks/{task}",
    tag = "a2a",
    params(("agent_id" = String, Path, description = "Agent or team id"),
        ("task" = String, Path, description = "A task id, or `{id}:subscribe`"),
        ("historyLength" = Option<i64>, Query, description = "At most this many history messages")),
    responses(
        (status = 200, body = v1::Task, content_type = "application/a2a+json",
            description = "The task; for `{id}:subscribe` an SSE stream of StreamResponse"),
        (status = 400, description = "Invalid parameters, or the task has ended (google.rpc.Status)"),
        (status = 404, description = "No such agent or task")))]
async fn rest_task_get(
    State(state): State<AppState>,
    Path((agent_id, task)): Path<(String, String)>,
    headers: HeaderMap,
    principal: Principal,
    RawQuery(raw): RawQuery,
) -> Response {
    let run = async {
        let scope = scope(&state, &headers, agent_id, principal)?;
        let answered: Result<Response, A2aError> = match task_action(&task) {
            (id, None) => {
                let q: TaskQuery = query(raw)?;
                let history_length = v1::history_length(q.history_length)?;
                let task = ops::get(&state, &scope, id, history_length).await?;
                Ok(answer(&v1::task(&task, true)))
            }
            (id, Some("subscribe")) => subscribe(&state, &scope, id).await,
            (_, Some(other)) => Err(A2aError::MethodNotFound(format!(
                "GET tasks/{{id}}:{other}"
            ))),
        };
        answered
    };
    run.await.unwrap_or_else(A2aError::rest)
}

/// `tasks/{id}:cancel`: cancels the task and answers with it once stopped;
/// `tasks/{id}:subscribe` (the method the JavaScript SDK uses): its stream.
#[utoipa::path(post, operation_id = "a2a_rest_task_action", path = "/a2a/{agent_id}/tasks/{task}",
    tag = "a2a",
    params(("agent_id" = String, Path, description = "Agent or team id"),
        ("task" = String, Path, description = "`{id}:cancel` or `{id}:subscribe`")),
    responses(
        (status = 200, body = v1::Task, content_type = "application/a2a+json",
            description = "The canceled task; for `{id}:subscribe` an SSE stream of StreamResponse"),
        (status = 400, description = "The task cannot be canceled, or has ended (google.rpc.Status)"),
        (status = 404, description = "No such agent, task or action")))]
async fn rest_task_post(
    State(state): State<AppState>,
    Path((agent_id, task)): Path<(String, String)>,
    headers: HeaderMap,
    principal: Principal,
) -> Response {
    let run = async {
        let scope = scope(&state, &headers, agent_id, principal)?;
        let answered: Result<Response, A2aError> = match task_action(&task) {
            (id, Some("cancel")) => Ok(answer(&v1::task(
                &ops::cancel(&state, &scope, id).await?,
                true,
            ))),
            (id, Some("subscribe")) => subscribe(&state, &scope, id).await,
            _ => Err(A2aError::MethodNotFound(format!("POST tasks/{task}"))),
        };
        answered
    };
    run.await.unwrap_or_else(A2aError::rest)
}

async fn subscribe(state: &AppState, scope: &Scope, id: &str) -> Result<Response, A2aError> {
    let streamed = ops::subscribe(state, scope, id).await?;
    Ok(outbound::sse(state, streamed, |item| {
        outbound::v1(item).to_string()
    }))
}

/// The extended card: the public card declares none
/// (`capabilities.extendedAgentCard` false), so this says so.
#[utoipa::path(get, operation_id = "a2a_rest_extended_card",
    path = "/a2a/{agent_id}/extendedAgentCard", tag = "a2a",
    params(("agent_id" = String, Path, description = "Agent or team id")),
    responses((status = 400, description = "EXTENDED_AGENT_CARD_NOT_CONFIGURED (google.rpc.Status)"),
        (status = 404, description = "No such agent")))]
async fn rest_extended_card(
    State(state): State<AppState>,
    Path(agent_id): Path<String>,
    headers: HeaderMap,
    principal: Principal,
) -> Response {
    scope(&state, &headers, agent_id, principal)
        .and(Err::<Response, _>(A2aError::ExtendedCardNotConfigured))
        .unwrap_or_else(A2aError::rest)
}

/// Push notification configs: refused, there are no webhooks.
#[utoipa::path(get, operation_id = "a2a_rest_push_configs",
    path = "/a2a/{agent_id}/tasks/{task}/pushNotificationConfigs", tag = "a2a",
    params(("agent_id" = String, Path, description = "Agent or team id"),
        ("task" = String, Path, description = "Task id")),
    responses((status = 400, description = "PUSH_NOTIFICATION_NOT_SUPPORTED (google.rpc.Status)"),
        (status = 404, description = "No such agent")))]
async fn rest_push_configs(
    State(state): State<AppState>,
    Path((agent_id, _task)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    push_refused(&state, &headers, agent_id)
}

/// Creating a push notification config: refused, there are no webhooks.
#[utoipa::path(post, operation_id = "a2a_rest_push_config_create",
    path = "/a2a/{agent_id}/tasks/{task}/pushNotificationConfigs", tag = "a2a",
    params(("agent_id" = String, Path, description = "Agent or team id"),
        ("task" = String, Path, description = "Task id")),
    responses((status = 400, description = "PUSH_NOTIFICATION_NOT_SUPPORTED (google.rpc.Status)"),
        (status = 404, description = "No such agent")))]
async fn rest_push_config_create(
    State(state): State<AppState>,
    Path((agent_id, _task)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    push_refused(&state, &headers, agent_id)
}

/// One push notification config: refused, there are no webhooks.
#[utoipa::path(get, operation_id = "a2a_rest_push_config",
    path = "/a2a/{agent_id}/tasks/{task}/pushNotificationConfigs/{config_id}", tag = "a2a",
    params(("agent_id" = String, Path, description = "Agent or team id"),
        ("task" = String, Path, description = "Task id"),
        ("config_id" = String, Path, description = "Config id")),
    responses((status = 400, description = "PUSH_NOTIFICATION_NOT_SUPPORTED (google.rpc.Status)"),
        (status = 404, description = "No such agent")))]
async fn rest_push_config(
    State(state): State<AppState>,
    Path((agent_id, _task, _config)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    push_refused(&state, &headers, agent_id)
}

/// Deleting a push notification config: refused, there are no webhooks.
#[utoipa::path(delete, operation_id = "a2a_rest_push_config_delete",
    path = "/a2a/{agent_id}/tasks/{task}/pushNotificationConfigs/{config_id}", tag = "a2a",
    params(("agent_id" = String, Path, description = "Agent or team id"),
        ("task" = String, Path, description = "Task id"),
        ("config_id" = String, Path, description = "Config id")),
    responses((status = 400, description = "PUSH_NOTIFICATION_NOT_SUPPORTED (google.rpc.Status)"),
        (status = 404, description = "No such agent")))]
async fn rest_push_config_delete(
    State(state): State<AppState>,
    Path((agent_id, _task, _config)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    push_refused(&state, &headers, agent_id)
}

fn push_refused(state: &AppState, headers: &HeaderMap, agent_id: String) -> Response {
    scope(state, headers, agent_id, Principal::anonymous())
        .and(Err::<Response, _>(A2aError::PushNotSupported))
        .unwrap_or_else(A2aError::rest)
}

pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(rest_send))
        .routes(routes!(rest_stream))
        .routes(routes!(rest_list))
        .routes(routes!(rest_task_get, rest_task_post))
        .routes(routes!(rest_extended_card))
        .routes(routes!(rest_push_configs, rest_push_config_create))
        .routes(routes!(rest_push_config, rest_push_config_delete))
}
