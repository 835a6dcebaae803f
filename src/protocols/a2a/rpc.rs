//! The JSON-RPC binding, both versions at one URL: checks the JSON-RPC 2.0
//! envelope, picks the version (the `A2A-Version` header, else the method's
//! name), parses each method's params in that version's types, calls the
//! shared operations (`ops`) and renders the answer in that version's
//! shape: 0.3's `message/send`... or 1.0's `SendMessage`...
//!
//! Depends on `ops`, the wire modules and `error`; never on the engine or
//! the store directly.

use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Json, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::A2aError;
use super::ops::{self, Scope, Streamed};
use super::outbound::json;
use super::outbound::{self, Item};
use super::version::{self, Version};
use super::wire::{JsonRpcRequest, JsonRpcResponse};
use super::{list, v1, wire};
use crate::engine::RunCaller;
use crate::web::AppState;

/// A checked JSON-RPC request.
struct Call {
    id: Value,
    method: String,
    params: Value,
}

/// The envelope checks of JSON-RPC 2.0: the id to answer with, or the
/// error (with whatever id could be read).
// The error is answered at once by the caller, never carried up through
// layers, so its size (A2aError holds an engine error) costs one move.
#[allow(clippy::result_large_err)]
fn parse(body: &[u8]) -> Result<Call, (A2aError, Value)> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| (A2aError::Parse(e.to_string()), Value::Null))?;
    let req: JsonRpcRequest = serde_json::from_value(value).map_err(|_| {
        (
            A2aError::InvalidRequest("the request must be a JSON-RPC 2.0 object".into()),
            Value::Null,
        )
    })?;
    let id = match req.id {
        None => Value::Null,
        Some(id @ (Value::String(_) | Value::Number(_) | Value::Null)) => id,
        Some(_) => {
            return Err((
                A2aError::InvalidRequest("id must be a string, a number or null".into()),
                Value::Null,
            ));
        }
    };
    if req.jsonrpc.as_deref() != Some("2.0") {
        return Err((
            A2aError::InvalidRequest("jsonrpc must be \"2.0\"".into()),
            id,
        ));
    }
    let Some(method) = req.method.filter(|m| !m.is_empty()) else {
        return Err((A2aError::InvalidRequest("method is required".into()), id));
    };
    Ok(Call {
        id,
        method,
        params: req.params.unwrap_or(Value::Null),
    })
}

fn params<T: DeserializeOwned>(params: Value) -> Result<T, A2aError> {
    serde_json::from_value(params).map_err(|e| A2aError::InvalidParams(e.to_string()))
}

fn ok(id: Value, result: Value) -> Response {
    Json(JsonRpcResponse {
        jsonrpc: "2.0",
        id,
        result: Some(result),
        error: None,
    })
    .into_response()
}

/// A task's stream as SSE, each event one JSON-RPC response whose result
/// `render` gives.
fn event_response(
    state: &AppState,
    id: Value,
    streamed: Streamed,
    render: fn(Item<'_>) -> Value,
) -> Response {
    outbound::sse(state, streamed, move |item| {
        serde_json::to_string(&JsonRpcResponse {
            jsonrpc: "2.0",
            id: id.clone(),
            result: Some(render(item)),
            error: None,
        })
        .unwrap_or_default()
    })
}

/// Answers one JSON-RPC request. `caller` is who asked (set by the callers
/// layer), for per-caller run limits.
pub async fn handle(
    state: AppState,
    scope: Scope,
    caller: Option<RunCaller>,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let call = match parse(&body) {
        Ok(call) => call,
        Err((e, id)) => return e.respond(id),
    };
    let id = call.id.clone();
    let version = match version::requested(headers) {
        Ok(v) => v.unwrap_or_else(|| version::of_method(&call.method)),
        Err(e) => return e.respond(id),
    };
    let answer = match version {
        Version::V03 => v03(&state, &scope, caller, call).await,
        Version::V1 => v1(&state, &scope, caller, call).await,
    };
    answer.unwrap_or_else(|e| e.respond(id))
}

/// A2A 0.3's methods.
async fn v03(
    state: &AppState,
    scope: &Scope,
    caller: Option<RunCaller>,
    call: Call,
) -> Result<Response, A2aError> {
    let id = call.id;
    match call.method.as_str() {
        "message/send" => {
            let p: wire::MessageSendParams = params(call.params)?;
            let config = p.configuration.as_ref();
            let blocking = config.and_then(|c| c.blocking).unwrap_or(true);
            let history_length = config.and_then(|c| c.history_length);
            let task = ops::send(state, scope, caller, &p, blocking, history_length).await?;
            Ok(ok(id, json(&task)))
        }
        "message/stream" => {
            let p: wire::MessageSendParams = params(call.params)?;
            let streamed = ops::stream(state, scope, caller, &p).await?;
            Ok(event_response(state, id, streamed, outbound::v03))
        }
        "tasks/get" => {
            let p: wire::TaskQueryParams = params(call.params)?;
            let task = ops::get(state, scope, &p.id, p.history_length).await?;
            Ok(ok(id, json(&task)))
        }
        "tasks/cancel" => {
            let p: wire::TaskIdParams = params(call.params)?;
            Ok(ok(id, json(&ops::cancel(state, scope, &p.id).await?)))
        }
        "tasks/resubscribe" => {
            let p: wire::TaskIdParams = params(call.params)?;
            let streamed = ops::subscribe(state, scope, &p.id).await?;
            Ok(event_response(state, id, streamed, outbound::v03))
        }
        m if m.starts_with("tasks/pushNotificationConfig/") => Err(A2aError::PushNotSupported),
        "agent/getAuthenticatedExtendedCard" => Err(A2aError::Unsupported(
            "this agent has no authenticated extended card".into(),
        )),
        other => Err(A2aError::MethodNotFound(other.to_string())),
    }
}

/// A2A 1.0's methods.
async fn v1(
    state: &AppState,
    scope: &Scope,
    caller: Option<RunCaller>,
    call: Call,
) -> Result<Response, A2aError> {
    let id = call.id;
    match call.method.as_str() {
        "SendMessage" => {
            let (p, blocking, history_length) = v1::inbound_send(params(call.params)?)?;
            let task = ops::send(state, scope, caller, &p, blocking, history_length).await?;
            let answer = v1::SendMessageResponse {
                task: v1::task(&task, true),
            };
            Ok(ok(id, json(&answer)))
        }
        "SendStreamingMessage" => {
            let (p, _, _) = v1::inbound_send(params(call.params)?)?;
            let streamed = ops::stream(state, scope, caller, &p).await?;
            Ok(event_response(state, id, streamed, outbound::v1))
        }
        "GetTask" => {
            let p: v1::GetTaskRequest = params(call.params)?;
            let history_length = v1::history_length(p.history_length)?;
            let task = ops::get(state, scope, &p.id, history_length).await?;
            Ok(ok(id, json(&v1::task(&task, true))))
        }
        "ListTasks" => {
            let p: v1::ListTasksRequest = params(or_empty(call.params))?;
            let answer = list::page(state, scope, p).await?;
            Ok(ok(id, json(&answer)))
        }
        "CancelTask" => {
            let p: v1::TaskIdRequest = params(call.params)?;
            let task = ops::cancel(state, scope, &p.id).await?;
            Ok(ok(id, json(&v1::task(&task, true))))
        }
        "SubscribeToTask" => {
            let p: v1::TaskIdRequest = params(call.params)?;
            let streamed = ops::subscribe(state, scope, &p.id).await?;
            Ok(event_response(state, id, streamed, outbound::v1))
        }
        "CreateTaskPushNotificationConfig"
        | "GetTaskPushNotificationConfig"
        | "ListTaskPushNotificationConfigs"
        | "DeleteTaskPushNotificationConfig" => Err(A2aError::PushNotSupported),
        // The card declares no extended card (`capabilities.extendedAgentCard`).
        "GetExtendedAgentCard" => Err(A2aError::ExtendedCardNotConfigured),
        other => Err(A2aError::MethodNotFound(other.to_string())),
    }
}

/// Params that may be left out entirely (`ListTasks` without filters).
fn or_empty(params: Value) -> Value {
    if params.is_null() {
        Value::Object(Default::default())
    } else {
        params
    }
}

/// For the fuzz targets (`crate::fuzzing`): the endpoint's envelope checks
/// of a body, then, for a message method, its params as the engine's input.
pub(crate) fn parse_for_fuzzing(body: &[u8]) {
    let Ok(call) = parse(body) else {
        return;
    };
    if matches!(call.method.as_str(), "message/send" | "message/stream")
        && let Ok(p) = params::<super::wire::MessageSendParams>(call.params)
    {
        let _ = super::inbound::input_message(&p.message);
    }
}
