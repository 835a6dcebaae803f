//! Snapshots of every protocol's error bodies: for each, what a client gets
//! (status, Retry-After, body) when an agent is not found, its input does
//! not validate, a run limit is reached, the store is unavailable, or its
//! key is refused. A change to any of these bytes shows up as a snapshot
//! diff to review (`cargo insta review`). Lives in `http` because it looks
//! at every adapter and at the auth layer side by side.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::engine::EngineError;
use crate::http::auth;
use crate::protocols::a2a::error::A2aError;
use crate::protocols::acp::error::AcpError;
use crate::protocols::agentos::error::AgentOsError;
use crate::protocols::agui::error::{AguiError, FieldError};
use crate::protocols::codegen::error::{CodegenError, issue};
use crate::protocols::mcp;
use crate::store::StoreError;
use crate::ui::error::UiError;

fn not_found() -> EngineError {
    EngineError::AgentNotFound("ghost".into())
}

fn run_limit() -> EngineError {
    EngineError::TooManyRuns {
        limit: 4,
        per_caller: false,
        retry_after_secs: 2,
    }
}

fn store_unavailable() -> EngineError {
    EngineError::from(StoreError::Unavailable("no space left on device".into()))
}

/// What a client sees of a response: status, Retry-After and the body.
async fn seen(resp: Response) -> Value {
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("an error body is in memory");
    let body: Value = serde_json::from_slice(&bytes).expect("every error body is JSON");
    json!({"status": status, "retry_after": retry_after, "body": body})
}

/// The five cases, in the order the snapshot lists them.
async fn cases(responses: [(&str, Response); 5]) -> Value {
    let mut out = Map::new();
    for (name, resp) in responses {
        out.insert(name.to_string(), seen(resp).await);
    }
    Value::Object(out)
}

#[tokio::test]
async fn agentos() {
    insta::assert_json_snapshot!(
        cases([
            ("not_found", AgentOsError::from(not_found()).into_response()),
            (
                "validation",
                AgentOsError::missing(&["body", "message"]).into_response()
            ),
            ("run_limit", AgentOsError::from(run_limit()).into_response()),
            (
                "store_unavailable",
                AgentOsError::from(store_unavailable()).into_response()
            ),
            ("unauthorized", auth::key_refused("/agents/a/runs", true)),
        ])
        .await
    );
}

#[tokio::test]
async fn agui() {
    let missing = FieldError {
        kind: "missing",
        loc: vec![json!("body"), json!("messages")],
        msg: "Field required".into(),
        input: None,
    };
    insta::assert_json_snapshot!(
        cases([
            ("not_found", AguiError::from(not_found()).into_response()),
            (
                "validation",
                AguiError::Validation(vec![missing]).into_response()
            ),
            ("run_limit", AguiError::from(run_limit()).into_response()),
            (
                "store_unavailable",
                AguiError::from(store_unavailable()).into_response()
            ),
            ("unauthorized", auth::key_refused("/agui", false)),
        ])
        .await
    );
}

#[tokio::test]
async fn acp() {
    let invalid = EngineError::InvalidInput("input must not be empty".into());
    insta::assert_json_snapshot!(
        cases([
            ("not_found", AcpError::from(not_found()).into_response()),
            ("validation", AcpError::from(invalid).into_response()),
            ("run_limit", AcpError::from(run_limit()).into_response()),
            (
                "store_unavailable",
                AcpError::from(store_unavailable()).into_response()
            ),
            ("unauthorized", auth::key_refused("/runs", true)),
        ])
        .await
    );
}

#[tokio::test]
async fn codegen() {
    let missing = issue(
        vec![json!("body"), json!("prompt")],
        "missing",
        "Field required",
        Value::Null,
    );
    insta::assert_json_snapshot!(
        cases([
            ("not_found", CodegenError::RunNotFound.into_response()),
            ("validation", CodegenError::invalid(missing).into_response()),
            ("run_limit", CodegenError::from(run_limit()).into_response()),
            (
                "store_unavailable",
                CodegenError::from(store_unavailable()).into_response()
            ),
            (
                "unauthorized",
                auth::key_refused("/v1/organizations/1/agent/run", true)
            ),
        ])
        .await
    );
}

#[tokio::test]
async fn a2a_jsonrpc() {
    let invalid = A2aError::InvalidParams("params.message is required".into());
    insta::assert_json_snapshot!(
        cases([
            ("not_found", A2aError::from(not_found()).respond(json!(1))),
            ("validation", invalid.respond(json!(2))),
            ("run_limit", A2aError::from(run_limit()).respond(json!(3))),
            (
                "store_unavailable",
                A2aError::from(store_unavailable()).respond(json!(4))
            ),
            ("unauthorized", auth::key_refused("/a2a/assistant", true)),
        ])
        .await
    );
}

#[tokio::test]
async fn a2a_http_json() {
    let invalid = A2aError::InvalidParams("message is required".into());
    insta::assert_json_snapshot!(
        cases([
            ("not_found", A2aError::from(not_found()).rest()),
            ("validation", invalid.rest()),
            ("run_limit", A2aError::from(run_limit()).rest()),
            (
                "store_unavailable",
                A2aError::from(store_unavailable()).rest()
            ),
            (
                "unauthorized",
                auth::key_refused("/a2a/assistant/message:send", true)
            ),
        ])
        .await
    );
}

/// MCP answers inside JSON-RPC: a tool result the model reads, or a
/// JSON-RPC error; only the key's refusal is an HTTP error body.
#[tokio::test]
async fn mcp() {
    let outcome = |r: Result<rmcp::model::CallToolResult, rmcp::ErrorData>| match r {
        Ok(result) => json!({"result": result}),
        Err(error) => json!({"error": error}),
    };
    let invalid = mcp::inbound::arguments(Map::new()).expect_err("message is required");
    let snapshot = json!({
        "not_found": outcome(Err(mcp::error::unknown_tool("ghost"))),
        "validation": outcome(Ok(mcp::error::refused(invalid))),
        "run_limit": outcome(mcp::error::start_refused(run_limit())),
        "store_unavailable": outcome(mcp::error::start_refused(store_unavailable())),
        "unauthorized": seen(auth::key_refused("/mcp", false)).await,
    });
    insta::assert_json_snapshot!(snapshot);
}

#[tokio::test]
async fn ui() {
    insta::assert_json_snapshot!(
        cases([
            ("not_found", UiError::from(not_found()).into_response()),
            (
                "validation",
                UiError::BadRequest("name must not be empty".into()).into_response()
            ),
            ("run_limit", UiError::from(run_limit()).into_response()),
            (
                "store_unavailable",
                UiError::from(store_unavailable()).into_response()
            ),
            ("unauthorized", auth::key_refused("/ui/api/runs", false)),
        ])
        .await
    );
}
