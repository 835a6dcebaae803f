//! agentd as an MCP server over real HTTP, driven by rmcp's own client:
//! every agent and team is a tool; a call runs it and answers with its
//! reply, with progress notifications on the way; the same bearer key.

use std::sync::{Arc, Mutex};

use rmcp::model::{
    CallToolRequestParams, ClientConfig, NumberOrString, ProgressNotificationParam, ProgressToken,
    RequestMetaObject,
};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::{Value, json};

use crate::common::{TestServer, config_with};

const KEY: &str = "mcp-key";

fn config() -> String {
    config_with(&format!(
        r#"
[[agents]]
id = "asker"
description = "Asks before answering"
model = "builtin"
tools = ["ask_user"]

[[teams]]
id = "crew"
description = "Routes to the assistant"
model = "builtin"
members = ["assistant"]
mode = "route"

[auth]
api_keys = ["{KEY}"]
"#
    ))
}

/// A client that keeps the progress notifications it gets.
#[derive(Clone, Default)]
struct Progress(Arc<Mutex<Vec<ProgressNotificationParam>>>);

impl ClientHandler for Progress {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::default()
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.0.lock().unwrap().push(params);
    }
}

async fn connect(
    server: &TestServer,
    key: &str,
) -> Result<(RunningService<RoleClient, Progress>, Progress), String> {
    let progress = Progress::default();
    let config = StreamableHttpClientTransportConfig::with_uri(server.url("/mcp")).auth_header(key);
    let client = progress
        .clone()
        .serve(StreamableHttpClientTransport::from_config(config))
        .await
        .map_err(|e| e.to_string())?;
    Ok((client, progress))
}

fn call(tool: &str, args: Value) -> CallToolRequestParams {
    let Value::Object(args) = args else {
        panic!("arguments are an object")
    };
    CallToolRequestParams::new(tool.to_string()).with_arguments(args)
}

/// The answer: the result's first text block (the second tells the model
/// the session id).
fn text_of(result: &rmcp::model::CallToolResult) -> String {
    result
        .content
        .iter()
        .find_map(|c| c.as_text().map(|t| t.text.clone()))
        .unwrap_or_default()
}

#[tokio::test]
async fn every_agent_and_team_is_a_tool_that_runs_it() {
    let server = TestServer::start(&config()).await;
    let (client, progress) = connect(&server, KEY).await.expect("connects");

    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, ["assistant", "asker", "crew"]);
    assert_eq!(
        tools[2].description.as_deref(),
        Some("Routes to the assistant")
    );
    let schema = Value::Object((*tools[0].input_schema).clone());
    assert_eq!(schema["required"], json!(["message"]));
    assert_eq!(schema["properties"]["session_id"]["type"], "string");
    let output = Value::Object((*tools[0].output_schema.clone().expect("outputSchema")).clone());
    assert_eq!(
        output["required"],
        json!(["answer", "session_id", "run_id"])
    );
    let hints = tools[0].annotations.clone().expect("annotations");
    assert_eq!(
        (
            hints.read_only_hint,
            hints.idempotent_hint,
            hints.open_world_hint
        ),
        (Some(false), Some(false), Some(true))
    );

    // With a progress token (rmcp's client puts its own in the request):
    // a notification per step, the answer at the end.
    let mut params = call("assistant", json!({"message": "my name is Ada"}));
    params.meta = Some(RequestMetaObject::with_progress_token(ProgressToken(
        NumberOrString::String("p1".into()),
    )));
    let result = client.call_tool(params).await.unwrap();
    assert_eq!(result.is_error, Some(false));
    assert_eq!(text_of(&result), "You said: my name is Ada");
    let notes = progress.0.lock().unwrap().clone();
    assert!(notes.len() >= 3, "{notes:?}");
    assert!(
        notes
            .iter()
            .all(|n| n.progress_token == notes[0].progress_token)
    );
    assert!(notes.windows(2).all(|w| w[0].progress < w[1].progress));
    let streamed: String = notes[1..]
        .iter()
        .filter_map(|n| n.message.clone())
        .collect();
    assert_eq!(streamed, "You said: my name is Ada");

    // The session continues through session_id, found in the structured
    // result, in _meta, and told to the model in the text.
    let meta = result.meta.clone().expect("meta");
    let session = meta.get("agentd/session_id").cloned().unwrap();
    let run_id = meta.get("agentd/run_id").and_then(Value::as_str).unwrap();
    let structured = result
        .structured_content
        .clone()
        .expect("structuredContent");
    assert_eq!(
        structured,
        json!({"answer": "You said: my name is Ada", "session_id": session, "run_id": run_id})
    );
    let note = result.content[1]
        .as_text()
        .expect("a second text")
        .text
        .clone();
    assert!(
        note.contains(session.as_str().unwrap()),
        "the model is told the session id: {note}"
    );
    let record = server
        .engine
        .get_run(&agentd::engine::Principal::open(), run_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.origin, "mcp");
    let again = client
        .call_tool(call(
            "assistant",
            json!({"message": "what is my name?", "session_id": session}),
        ))
        .await
        .unwrap();
    assert!(text_of(&again).contains("my name is Ada"), "{again:?}");

    // A team answers the same way.
    let team = client
        .call_tool(call("crew", json!({"message": "team"})))
        .await
        .unwrap();
    assert_eq!(team.is_error, Some(false));
    assert!(!text_of(&team).is_empty());

    // A run that pauses for a person cannot finish here: an error result.
    let paused = client
        .call_tool(call(
            "asker",
            json!({"message": r#"/tool ask_user {"question": "Which city?"}"#}),
        ))
        .await
        .unwrap();
    assert_eq!(paused.is_error, Some(true));
    assert!(text_of(&paused).contains("Which city?"));

    // An unknown tool is a JSON-RPC error; wrong arguments are an error
    // result naming what is wrong, for the model to correct.
    let unknown = client
        .call_tool(call("nobody", json!({"message": "x"})))
        .await;
    assert!(unknown.is_err());
    for (args, says) in [
        (json!({}), "'message' is required"),
        (json!({"message": 7}), "'message' must be a string"),
        (
            json!({"message": "x", "session_id": 1}),
            "'session_id' must be a string",
        ),
        (
            json!({"message": "x", "sesion": "s"}),
            "unknown argument 'sesion'",
        ),
    ] {
        let bad = client
            .call_tool(call("assistant", args.clone()))
            .await
            .unwrap();
        assert_eq!(bad.is_error, Some(true), "{args}");
        assert!(text_of(&bad).contains(says), "{args}: {bad:?}");
    }
    client.cancel().await.unwrap();

    let metrics = server
        .client
        .get(server.url("/metrics"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("agentd_runs_total") && l.contains("origin=\"mcp\"")),
        "{metrics}"
    );
}

#[tokio::test]
async fn the_mcp_endpoint_needs_the_key() {
    let server = TestServer::start(&config()).await;
    assert!(connect(&server, "wrong").await.is_err());
    let resp = server
        .client
        .post(server.url("/mcp"))
        .header("content-type", "application/json")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["jsonrpc"], "2.0");
    assert_eq!(body["error"]["code"], -32600);
}

/// The story both real MCP SDK clients tell (tests/clients/mcp_client.*).
const CLIENT_STEPS: &[&str] = &[
    "ok list tools",
    "ok call with progress",
    "ok session from structuredContent",
    "ok bad call is isError",
    "ok cancel",
];

/// The clients' server: `assistant` to talk to, `slow` to give up on.
fn client_story_config() -> String {
    config_with(&format!(
        "{}\n[auth]\napi_keys = [\"{KEY}\"]\n",
        crate::common::PAUSING_AGENTS
    ))
}

/// The call the client gave up on cancelled its run.
async fn the_slow_run_was_cancelled(server: &TestServer) {
    let slow = crate::common::eventually("the abandoned run to be cancelled", || async {
        let runs = server
            .engine
            .list_runs(&agentd::engine::Principal::open(), &Default::default())
            .await
            .unwrap();
        runs.into_iter()
            .find(|r| r.agent_id == "slow" && r.status == agentd::engine::RunStatus::Cancelled)
    })
    .await;
    assert_eq!(slow.origin, "mcp");
}

/// The unmodified MCP Python SDK (mcp 2.3): tools listed with their output
/// schema and annotations, a call with progress, a session continued from
/// `structuredContent` (which the SDK checks against the schema), a bad
/// call answered `isError`, and a call the client gives up on, whose run is
/// cancelled.
#[tokio::test]
async fn python_mcp_sdk_client_works_unmodified() {
    let Some(python) = crate::common::clients::python_with("mcp.client.streamable_http") else {
        return;
    };
    let server = TestServer::start(&client_story_config()).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/mcp_client.py");
    let mut client = tokio::process::Command::new(&python);
    client
        .arg(script)
        .arg(server.url("/mcp"))
        .args(["assistant", "slow", KEY]);
    crate::common::clients::expect_steps(client, CLIENT_STEPS).await;
    the_slow_run_was_cancelled(&server).await;
}

/// The unmodified MCP TypeScript SDK (@modelcontextprotocol/sdk 1.32), the
/// same story as the Python one: tools with output schema and annotations,
/// progress, a session from `structuredContent` (validated by the SDK), an
/// `isError` for bad arguments, and an aborted call whose run is cancelled.
#[tokio::test]
async fn typescript_mcp_sdk_client_works_unmodified() {
    let Some(clients) = crate::common::clients::node_with(&["@modelcontextprotocol/sdk"]) else {
        return;
    };
    let server = TestServer::start(&client_story_config()).await;
    let mut client = tokio::process::Command::new("node");
    client
        .arg(clients.join("mcp_client.mjs"))
        .arg(server.url("/mcp"))
        .args(["assistant", "slow", KEY]);
    crate::common::clients::expect_steps(client, CLIENT_STEPS).await;
    the_slow_run_was_cancelled(&server).await;
}
