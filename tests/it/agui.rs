//! AG-UI over real HTTP: the stories of a browser frontend (CopilotKit or a
//! bare @ag-ui/client HttpAgent) that owns the transcript, resends it every
//! run, declares frontend tools and keeps shared state.

use std::collections::HashSet;

use crate::common::mock_llm::call;
use crate::common::{MockLlm, Reply, TestServer, config_with, sse, upstream_config};
use agentd::engine::RunStatus;
use serde_json::{Value, json};

/// The builtin model with a pause between tokens, for runs that must still
/// be going when the test acts.
const SLOW: &str = r#"
[models.slow]
provider = "builtin"
token_delay_ms = 40

[[agents]]
id = "slow"
model = "slow"
"#;

/// A body as @ag-ui/client 1.0 sends it (it declares `protocolVersion`).
fn input(thread: &str, run: &str, messages: Value) -> Value {
    json!({
        "threadId": thread, "runId": run, "protocolVersion": "1.0", "state": {},
        "messages": messages, "tools": [], "context": [], "forwardedProps": {}
    })
}

/// A body as @ag-ui/client 0.0.x sends it (CopilotKit's runtime bundles
/// 0.0.59): no `protocolVersion`.
fn legacy_input(thread: &str, run: &str, messages: Value) -> Value {
    let mut body = input(thread, run, messages);
    body.as_object_mut().unwrap().remove("protocolVersion");
    body
}

fn user(id: &str, content: impl Into<Value>) -> Value {
    json!({"id": id, "role": "user", "content": content.into()})
}

async fn post(server: &TestServer, path: &str, body: &Value) -> reqwest::Response {
    server
        .client
        .post(server.url(path))
        .header("accept", "text/event-stream")
        .json(body)
        .send()
        .await
        .unwrap()
}

/// Runs and returns the stream's events, checked against the client's rules.
async fn run(server: &TestServer, path: &str, body: &Value) -> Vec<Value> {
    let resp = post(server, path, body).await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let raw = resp.text().await.unwrap();
    assert!(!raw.contains('\r'), "frames are separated with LF only");
    let events: Vec<Value> = sse::parse(&raw).into_iter().map(|f| f.data).collect();
    verify(&events);
    events
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

/// The event types with repeats of one type collapsed (CONTENT x n -> once).
fn shape(events: &[Value]) -> Vec<&str> {
    let mut t = types(events);
    t.dedup();
    t
}

fn of_type<'a>(events: &'a [Value], t: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == t).collect()
}

fn text(events: &[Value]) -> String {
    of_type(events, "TEXT_MESSAGE_CONTENT")
        .iter()
        .map(|e| e["delta"].as_str().unwrap())
        .collect()
}

fn has_null(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.iter().any(has_null),
        Value::Object(o) => o.values().any(has_null),
        _ => false,
    }
}

/// The ordering rules of @ag-ui/client 1.0.0's verifier (spec §6), plus the
/// wire rules: no nulls, a terminal event last and nothing after it, and no
/// tool call while a text message is open.
fn verify(events: &[Value]) {
    let t = types(events);
    assert_eq!(t.first(), Some(&"RUN_STARTED"), "{t:?}");
    let last = *t.last().unwrap();
    assert!(last == "RUN_FINISHED" || last == "RUN_ERROR", "{t:?}");
    let (mut text, mut calls, mut reasoning) = (HashSet::new(), HashSet::new(), HashSet::new());
    let (mut steps, mut subagents) = (HashSet::new(), HashSet::new());
    for (i, e) in events.iter().enumerate() {
        assert!(!has_null(e), "no null in {e}");
        let id = |k: &str| e[k].as_str().unwrap().to_string();
        match t[i] {
            "RUN_STARTED" => assert_eq!(i, 0, "{t:?}"),
            "RUN_FINISHED" | "RUN_ERROR" => {
                assert_eq!(i, events.len() - 1, "nothing after the end: {t:?}");
                if t[i] == "RUN_FINISHED" {
                    assert!(text.is_empty() && calls.is_empty() && reasoning.is_empty());
                    assert!(steps.is_empty(), "open steps at the end: {t:?}");
                    assert!(subagents.is_empty(), "open subagents at the end: {t:?}");
                }
            }
            "TEXT_MESSAGE_START" => {
                assert!(calls.is_empty(), "text inside a tool call: {t:?}");
                assert!(text.insert(id("messageId")));
            }
            "TEXT_MESSAGE_CONTENT" => assert!(text.contains(&id("messageId"))),
            "TEXT_MESSAGE_END" => assert!(text.remove(&id("messageId"))),
            "TOOL_CALL_START" => {
                assert!(text.is_empty(), "tool call inside a text message: {t:?}");
                assert!(calls.is_empty(), "one tool call at a time: {t:?}");
                assert!(calls.insert(id("toolCallId")));
            }
            "TOOL_CALL_ARGS" => assert!(calls.contains(&id("toolCallId"))),
            "TOOL_CALL_END" => assert!(calls.remove(&id("toolCallId"))),
            "STEP_STARTED" => assert!(steps.insert(id("stepName"))),
            "STEP_FINISHED" => assert!(steps.remove(&id("stepName"))),
            "REASONING_MESSAGE_START" => assert!(reasoning.insert(id("messageId"))),
            "REASONING_MESSAGE_CONTENT" => assert!(reasoning.contains(&id("messageId"))),
            "REASONING_MESSAGE_END" => assert!(reasoning.remove(&id("messageId"))),
            "SUBAGENT_STARTED" => assert!(subagents.insert(id("subagentRunId"))),
            "SUBAGENT_FINISHED" | "SUBAGENT_ERROR" => {
                assert!(subagents.remove(&id("subagentRunId")))
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn status_says_available() {
    let server = TestServer::start(&config_with("")).await;
    let resp = server
        .client
        .get(server.url("/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({"status": "available"})
    );
}

#[tokio::test]
async fn text_run_streams_one_assistant_message() {
    let server = TestServer::start(&config_with("")).await;
    let events = run(
        &server,
        "/agui",
        &input("t-1", "r-1", json!([user("m1", "hello there")])),
    )
    .await;
    assert_eq!(
        shape(&events),
        [
            "RUN_STARTED",
            "TEXT_MESSAGE_START",
            "TEXT_MESSAGE_CONTENT",
            "TEXT_MESSAGE_END",
            "RUN_FINISHED"
        ],
        "an empty state sends no snapshot"
    );
    let started = &events[0];
    assert_eq!(started["threadId"], "t-1");
    assert_eq!(started["runId"], "r-1");
    assert_eq!(started["protocolVersion"], "1.0");
    assert_eq!(events[1]["role"], "assistant");
    assert_eq!(text(&events), "You said: hello there");
    let done = events.last().unwrap();
    assert_eq!(
        (&done["threadId"], &done["runId"]),
        (&json!("t-1"), &json!("r-1"))
    );
    assert!(done.get("outcome").is_none(), "absent outcome = success");
    assert!(done["usage"][0]["totalTokens"].as_u64().unwrap() > 0);
    assert_eq!(done["usage"][0]["provider"], "builtin");

    // threadId is the session, runId the engine run.
    let record = server
        .engine
        .get_run(&agentd::engine::Principal::open(), "r-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.session_id, "t-1");
    assert_eq!(record.status, RunStatus::Completed);
    assert_eq!(record.origin, "agui");
}

#[tokio::test]
async fn the_clients_transcript_is_the_history() {
    let server = TestServer::start(&config_with("")).await;
    // A thread agentd has never seen: the client's messages are trusted.
    let messages = json!([
        {"id": "s", "role": "system", "content": "Be nice."},
        user("m1", "first"),
        {"id": "a1", "role": "assistant", "content": "You said: first"},
        {"id": "r", "role": "reasoning", "content": "hidden"},
        user("m2", "second"),
    ]);
    let events = run(&server, "/agui", &input("t-h", "r-h", messages)).await;
    assert_eq!(
        text(&events),
        "You said: second (message 2 of this conversation; before that you said: \"first\")"
    );
    let record = server
        .engine
        .get_run(&agentd::engine::Principal::open(), "r-h")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        record.input.len(),
        1,
        "only the new turn is the run's input"
    );
    assert_eq!(record.input[0].text, "second");
}

#[tokio::test]
async fn context_tools_and_history_reach_an_upstream_model() {
    let llm = MockLlm::start().await;
    let server = TestServer::start(&upstream_config(&llm.base_url, "")).await;
    let mut body = input(
        "t-u",
        "r-u",
        json!([
            user("m1", "paint it"),
            {"id": "a1", "role": "assistant", "toolCalls": [{"id": "call_9", "type": "function",
                "function": {"name": "change_background", "arguments": "{\"color\":\"red\"}"}}]},
            {"id": "t1", "role": "tool", "toolCallId": "call_9", "content": "done"},
        ]),
    );
    body["context"] = json!([{"description": "The user's timezone", "value": "Europe/Paris"}]);
    body["tools"] = json!([{"name": "change_background", "description": "Paint",
        "parameters": {"type": "object", "properties": {"color": {"type": "string"}}}}]);
    body["forwardedProps"] = json!({"user_id": "u-7"});
    run(&server, "/agui/upstream", &body).await;

    let sent = &llm.requests()[0];
    let msgs = sent["messages"].as_array().unwrap();
    assert!(
        msgs.iter().any(|m| m["role"] == "system"
            && m["content"]
                .as_str()
                .unwrap()
                .contains("The user's timezone: Europe/Paris")),
        "context reaches the model: {msgs:?}"
    );
    let roles: Vec<&str> = msgs.iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["system", "user", "assistant", "tool"]);
    assert_eq!(msgs[2]["tool_calls"][0]["id"], "call_9");
    assert_eq!(msgs[3]["tool_call_id"], "call_9");
    let tools: Vec<&str> = sent["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(tools, ["calculator", "change_background"]);
    let record = server
        .engine
        .get_run(&agentd::engine::Principal::open(), "r-u")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.user_id.as_deref(), Some("u-7"));
}

#[tokio::test]
async fn server_tools_report_their_result() {
    let server = TestServer::start(&config_with("")).await;
    let events = run(
        &server,
        "/agui",
        &input(
            "t-s",
            "r-s",
            json!([user("m1", r#"/tool calculator {"expression": "6*7"}"#)]),
        ),
    )
    .await;
    assert_eq!(
        shape(&events),
        [
            "RUN_STARTED",
            "TOOL_CALL_START",
            "TOOL_CALL_ARGS",
            "TOOL_CALL_END",
            "TOOL_CALL_RESULT",
            "TEXT_MESSAGE_START",
            "TEXT_MESSAGE_CONTENT",
            "TEXT_MESSAGE_END",
            "RUN_FINISHED"
        ]
    );
    let start = &events[1];
    assert_eq!(start["toolCallName"], "calculator");
    let args: String = of_type(&events, "TOOL_CALL_ARGS")
        .iter()
        .map(|e| e["delta"].as_str().unwrap())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&args).unwrap(),
        json!({"expression": "6*7"})
    );
    let result = of_type(&events, "TOOL_CALL_RESULT")[0];
    assert_eq!(result["toolCallId"], start["toolCallId"]);
    assert_eq!(result["content"], "42");
    assert_eq!(result["role"], "tool");
    assert_ne!(
        result["messageId"], start["toolCallId"],
        "the tool message must not take the id of the assistant message the client made for the call"
    );
    assert_eq!(text(&events), "The calculator tool returned: 42.");
}

#[tokio::test]
async fn frontend_tool_pauses_then_the_next_run_continues_from_its_result() {
    let server = TestServer::start(&config_with("")).await;
    let tools = json!([{"name": "change_background", "description": "Paint the page",
        "parameters": {"type": "object", "properties": {"color": {"type": "string"}}}}]);
    let ask = user("m1", r#"/tool change_background {"color": "blue"}"#);
    let mut body = input("t-f", "r-f1", json!([ask.clone()]));
    body["tools"] = tools.clone();
    let events = run(&server, "/agui", &body).await;
    assert_eq!(
        types(&events),
        [
            "RUN_STARTED",
            "TOOL_CALL_START",
            "TOOL_CALL_ARGS",
            "TOOL_CALL_ARGS",
            "TOOL_CALL_END",
            "RUN_FINISHED"
        ],
        "no TOOL_CALL_RESULT: the browser runs the tool"
    );
    let call_id = events[1]["toolCallId"].as_str().unwrap().to_string();
    let done = events.last().unwrap();
    assert_eq!(
        done["outcome"],
        json!({"type": "success", "pendingToolCallIds": [call_id]})
    );

    // The client answers with the whole transcript, ending in the tool result.
    let mut follow = input(
        "t-f",
        "r-f2",
        json!([
            ask,
            {"id": call_id, "role": "assistant", "toolCalls": [{"id": call_id, "type": "function",
                "function": {"name": "change_background", "arguments": "{\"color\": \"blue\"}"}}]},
            {"id": "tm1", "role": "tool", "toolCallId": call_id, "content": "background is blue"},
        ]),
    );
    follow["tools"] = tools;
    let events = run(&server, "/agui", &follow).await;
    assert_eq!(
        text(&events),
        "The change_background tool returned: background is blue."
    );
    let done = events.last().unwrap();
    assert_eq!(done["runId"], "r-f2");
    assert!(done.get("outcome").is_none());
}

#[tokio::test]
async fn reasoning_streams_as_reasoning_events() {
    let server = TestServer::start(&config_with("")).await;
    let events = run(
        &server,
        "/agui",
        &input("t-r", "r-r", json!([user("m1", "/think let me see")])),
    )
    .await;
    let t = types(&events);
    assert_eq!(
        &t[..3],
        ["RUN_STARTED", "REASONING_START", "REASONING_MESSAGE_START"]
    );
    assert!(!t.iter().any(|t| t.starts_with("THINKING")));
    let end = t.iter().position(|t| *t == "REASONING_END").unwrap();
    assert_eq!(t[end - 1], "REASONING_MESSAGE_END");
    assert!(end < t.iter().position(|t| *t == "TEXT_MESSAGE_START").unwrap());
    assert_eq!(events[2]["role"], "reasoning");
    let thought: String = of_type(&events, "REASONING_MESSAGE_CONTENT")
        .iter()
        .map(|e| e["delta"].as_str().unwrap())
        .collect();
    assert_eq!(thought, "let me see");
    assert_eq!(text(&events), "Done thinking.");
}

#[tokio::test]
async fn multimodal_content_reaches_the_model_as_attachments() {
    let server = TestServer::start(&config_with("")).await;
    let content = json!([
        {"type": "text", "text": "what are these"},
        {"type": "image", "source": {"type": "data", "value": "iVBORw0KGgo=", "mimeType": "image/png"},
         "metadata": {"filename": "cat.png"}},
        {"type": "binary", "mimeType": "image/png", "data": "iVBORw0KGgo=", "filename": "b.png"}
    ]);
    let events = run(
        &server,
        "/agui",
        &input("t-m", "r-m", json!([user("m1", content)])),
    )
    .await;
    assert_eq!(
        text(&events),
        "You said: what are these I received: cat.png (image/png), b.png (image/png)."
    );
    // Media the model cannot take is refused before streaming, naming the file.
    let video = json!([
        {"type": "text", "text": "watch"},
        {"type": "binary", "mimeType": "video/mp4", "url": "https://example.com/v.mp4", "filename": "v.mp4"}
    ]);
    let resp = server
        .client
        .post(server.url("/agui"))
        .json(&input("t-v", "r-v", json!([user("m1", video)])))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("v.mp4"), "{body}");
    let record = server
        .engine
        .get_run(&agentd::engine::Principal::open(), "r-m")
        .await
        .unwrap()
        .unwrap();
    let a = &record.input[0].attachments;
    assert_eq!(a[0].data.as_deref(), Some("iVBORw0KGgo="));
    assert_eq!(a[1].name.as_deref(), Some("b.png"));
}

#[tokio::test]
async fn state_is_echoed_as_a_snapshot_after_run_started() {
    let server = TestServer::start(&config_with("")).await;
    let mut body = input("t-st", "r-st", json!([user("m1", "hi")]));
    body["state"] = json!({"counter": 41, "items": ["a"]});
    let events = run(&server, "/agui", &body).await;
    assert_eq!(&types(&events)[..2], ["RUN_STARTED", "STATE_SNAPSHOT"]);
    assert_eq!(
        events[1]["snapshot"],
        json!({"counter": 41, "items": ["a"]})
    );
    assert_eq!(of_type(&events, "STATE_SNAPSHOT").len(), 1);

    // 0.x clients may send null for an absent state.
    let mut body = input("t-st", "r-st2", json!([user("m1", "hi")]));
    body["state"] = Value::Null;
    let events = run(&server, "/agui", &body).await;
    assert!(of_type(&events, "STATE_SNAPSHOT").is_empty());
}

#[tokio::test]
async fn upstream_failure_ends_with_run_error() {
    let llm = MockLlm::start().await;
    // 5xx is retried: fail every attempt.
    for _ in 0..3 {
        llm.push(Reply::Status(500, "mockllm injected error".into()));
    }
    let server = TestServer::start(&upstream_config(&llm.base_url, "")).await;
    let events = run(
        &server,
        "/agui/upstream",
        &input("t-e", "r-e", json!([user("m1", "hi")])),
    )
    .await;
    assert_eq!(types(&events), ["RUN_STARTED", "RUN_ERROR"]);
    let err = &events[1];
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("mockllm injected error"),
        "{err}"
    );
    assert_eq!(err["code"], "model_upstream");
}

#[tokio::test]
async fn a_stream_cut_mid_message_closes_it_before_run_error() {
    let llm = MockLlm::start().await;
    llm.push(Reply::Cut("half an answer".into()));
    let server = TestServer::start(&upstream_config(&llm.base_url, "")).await;
    let events = run(
        &server,
        "/agui/upstream",
        &input("t-c", "r-c", json!([user("m1", "hi")])),
    )
    .await;
    let t = types(&events);
    assert_eq!(&t[t.len() - 2..], ["TEXT_MESSAGE_END", "RUN_ERROR"]);
    assert_eq!(events.last().unwrap()["code"], "model_stream_cut");
}

#[tokio::test]
async fn bad_bodies_get_fastapi_validation_errors() {
    let server = TestServer::start(&config_with("")).await;
    let send = |body: &'static str| {
        server
            .client
            .post(server.url("/agui"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    let resp = send("{not json").await.unwrap();
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["detail"][0]["type"], "json_invalid");

    let resp = send(r#"{"threadId": 5, "runId": [], "messages": "nope"}"#)
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = resp.json().await.unwrap();
    let errors: Vec<(Value, Value)> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["loc"].clone(), e["type"].clone()))
        .collect();
    assert_eq!(
        errors,
        [
            (json!(["body", "threadId"]), json!("string_type")),
            (json!(["body", "runId"]), json!("string_type")),
            (json!(["body", "messages"]), json!("list_type")),
        ]
    );

    let resp = send(
        r#"{"threadId": "t", "runId": "r", "messages": [{"id": "1", "role": "wizard", "content": "x"},
            {"id": "2", "role": "user", "content": [{"type": "image", "source": {"type": "file", "value": "f1"}}]},
            {"id": "3", "role": "tool", "content": "x"}]}"#,
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    let locs: Vec<&Value> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["loc"])
        .collect();
    assert_eq!(
        locs,
        [
            &json!(["body", "messages", 0, "role"]),
            &json!(["body", "messages", 1, "content", 0, "source", "type"]),
            &json!(["body", "messages", 2, "toolCallId"]),
        ]
    );

    let resp = send(r#"{"threadId": "t", "runId": "r", "messages": []}"#)
        .await
        .unwrap();
    assert_eq!(resp.status(), 422, "a run needs a message for the model");

    let resp = server
        .client
        .post(server.url("/agui/nobody"))
        .json(&input("t", "r", json!([user("m1", "hi")])))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("nobody"));
}

#[tokio::test]
async fn default_agent_is_configurable() {
    let config = config_with(&format!("{SLOW}\n[agui]\ndefault_agent = \"slow\"\n"));
    let server = TestServer::start(&config).await;
    run(
        &server,
        "/agui",
        &input("t-d", "r-d", json!([user("m1", "hi")])),
    )
    .await;
    let record = server
        .engine
        .get_run(&agentd::engine::Principal::open(), "r-d")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.agent_id, "slow");

    let bad = config_with("[agui]\ndefault_agent = \"ghost\"\n");
    let err = agentd::config::Config::from_toml_str(&bad, "x.toml".as_ref(), &|_| None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("agui.default_agent"), "{err}");
}

#[tokio::test]
async fn a_reused_run_id_still_runs_and_is_echoed() {
    let server = TestServer::start(&config_with("")).await;
    let body = input("t-x", "same-run", json!([user("m1", "one")]));
    run(&server, "/agui", &body).await;
    let body = input("t-x", "same-run", json!([user("m1", "two")]));
    let events = run(&server, "/agui", &body).await;
    assert_eq!(events[0]["runId"], "same-run");
    assert_eq!(events.last().unwrap()["runId"], "same-run");
    assert_eq!(text(&events), "You said: two");
    let runs = server
        .engine
        .list_runs(
            &agentd::engine::Principal::open(),
            &agentd::store::RunFilter {
                session_id: Some("t-x".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(runs.len(), 2, "the retry is a run of its own");
    assert_eq!(
        runs[1].metadata,
        Some(json!({"agui_run_id": "same-run"})),
        "it remembers the client's run id"
    );
}

fn long_message() -> String {
    (0..200)
        .map(|i| format!("w{i}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn client_disconnect_cancels_the_run() {
    let server = TestServer::start(&config_with(SLOW)).await;
    let resp = post(
        &server,
        "/agui/slow",
        &input("t-dc", "r-dc", json!([user("m1", long_message())])),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let frames = sse::read_until(resp, |f| f.data["type"] == "TEXT_MESSAGE_CONTENT").await;
    assert_eq!(frames[0].data["type"], "RUN_STARTED");
    // read_until dropped the connection.
    let engine = server.engine.clone();
    let record = crate::common::eventually("the run to be cancelled", || {
        let engine = engine.clone();
        async move {
            let r = engine
                .get_run(&agentd::engine::Principal::open(), "r-dc")
                .await
                .ok()??;
            r.status.is_terminal().then_some(r)
        }
    })
    .await;
    assert_eq!(record.status, RunStatus::Cancelled);
}

#[tokio::test]
async fn a_run_cancelled_elsewhere_finishes_with_outcome_cancelled() {
    let server = TestServer::start(&config_with(SLOW)).await;
    let resp = post(
        &server,
        "/agui/slow",
        &input("t-cx", "r-cx", json!([user("m1", long_message())])),
    )
    .await;
    let engine = server.engine.clone();
    let mut cancelled = false;
    let frames = sse::read_until(resp, |f| {
        if f.data["type"] == "TEXT_MESSAGE_CONTENT" && !cancelled {
            cancelled = true;
            let engine = engine.clone();
            tokio::spawn(async move {
                engine
                    .cancel(&agentd::engine::Principal::open(), "r-cx")
                    .await
            });
        }
        false
    })
    .await;
    let events: Vec<Value> = frames.into_iter().map(|f| f.data).collect();
    verify(&events);
    let t = types(&events);
    assert_eq!(&t[t.len() - 2..], ["TEXT_MESSAGE_END", "RUN_FINISHED"]);
    assert_eq!(
        events.last().unwrap()["outcome"],
        json!({"type": "cancelled"})
    );
}

/// @ag-ui/client 0.0.x (what CopilotKit's runtime bundles) closes its
/// RUN_FINISHED outcome schemas: `pendingToolCallIds` or a `cancelled`
/// outcome fail its whole run. A request without `protocolVersion` gets a
/// stream it accepts: the frontend call ends the run with no outcome (the
/// client derives the pending call: it has no result), a cancelled run ends
/// with RUN_ERROR code `cancelled`, interrupts are unchanged.
#[tokio::test]
async fn a_client_without_protocol_version_gets_what_0_0_x_schemas_accept() {
    let server = TestServer::start(&config_with(&format!("{SLOW}{TEAMS}"))).await;
    let mut body = legacy_input(
        "t-l",
        "r-l",
        json!([user("m1", r#"/tool change_background {"color": "blue"}"#)]),
    );
    body["tools"] = json!([{"name": "change_background", "description": "Paint the page",
        "parameters": {"type": "object", "properties": {"color": {"type": "string"}}}}]);
    let events = run(&server, "/agui", &body).await;
    assert_eq!(
        shape(&events),
        [
            "RUN_STARTED",
            "TOOL_CALL_START",
            "TOOL_CALL_ARGS",
            "TOOL_CALL_END",
            "RUN_FINISHED"
        ]
    );
    let done = events.last().unwrap();
    assert!(done.get("outcome").is_none(), "{done}");

    let events = run(
        &server,
        "/agui/careful",
        &legacy_input(
            "t-l2",
            "r-l2",
            json!([user("m1", r#"/tool calculator {"expression": "6*7"}"#)]),
        ),
    )
    .await;
    let outcome = &events.last().unwrap()["outcome"];
    assert_eq!(outcome["type"], "interrupt", "{outcome}");
    assert_eq!(outcome["interrupts"][0]["reason"], "tool_approval");

    let resp = post(
        &server,
        "/agui/slow",
        &legacy_input("t-l3", "r-l3", json!([user("m1", long_message())])),
    )
    .await;
    let engine = server.engine.clone();
    let mut cancelled = false;
    let frames = sse::read_until(resp, |f| {
        if f.data["type"] == "TEXT_MESSAGE_CONTENT" && !cancelled {
            cancelled = true;
            let engine = engine.clone();
            tokio::spawn(async move {
                engine
                    .cancel(&agentd::engine::Principal::open(), "r-l3")
                    .await
            });
        }
        false
    })
    .await;
    let events: Vec<Value> = frames.into_iter().map(|f| f.data).collect();
    verify(&events);
    let t = types(&events);
    assert_eq!(&t[t.len() - 2..], ["TEXT_MESSAGE_END", "RUN_ERROR"]);
    assert_eq!(
        events.last().unwrap(),
        &json!({"type": "RUN_ERROR", "message": "The run was cancelled", "code": "cancelled",
                "timestamp": events.last().unwrap()["timestamp"]})
    );
}

/// An agent with a response schema: its parsed answer is RUN_FINISHED's
/// `result` (both client lines accept it).
#[tokio::test]
async fn a_structured_answer_is_the_runs_result() {
    let llm = MockLlm::start().await;
    let extra = r#"
[agents.response_schema]
type = "object"
required = ["city"]
properties = { city = { type = "string" } }
"#;
    let server = TestServer::start(&upstream_config(&llm.base_url, extra)).await;
    llm.push(Reply::Text(r#"{"city": "Oslo"}"#.into()));
    let events = run(
        &server,
        "/agui/upstream",
        &input("t-j", "r-j", json!([user("m1", "a city")])),
    )
    .await;
    assert_eq!(events.last().unwrap()["result"], json!({"city": "Oslo"}));
}

#[tokio::test]
async fn browsers_may_call_agui_from_another_origin() {
    let server = TestServer::start(&config_with(
        "[server]\ncors_allowed_origins = [\"http://localhost:3000\"]\n",
    ))
    .await;
    let resp = server
        .client
        .request(reqwest::Method::OPTIONS, server.url("/agui"))
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,authorization",
        )
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    assert!(resp.headers().contains_key("access-control-allow-origin"));
}

/// Runs tests/clients/agui_client.mjs with the HttpAgent of npm `package`
/// against a server with the test teams, and checks every scenario passed.
async fn real_ag_ui_client(package: &str) {
    let Some(clients) = crate::common::clients::node_with(&[package]) else {
        return;
    };
    let server = TestServer::start(&config_with(TEAMS)).await;
    let out = tokio::process::Command::new("node")
        .arg(clients.join("agui_client.mjs"))
        .arg(&server.base)
        .arg(format!("--package={package}"))
        .output()
        .await
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the AG-UI client ({package}) failed:\n{stdout}\n{stderr}"
    );
    for scenario in [
        "text_and_multi_turn",
        "frontend_tool_round_trip",
        "server_tool",
        "reasoning",
        "multimodal",
        "upstream_failure",
        "team_steps",
        "tool_approval",
    ] {
        assert!(
            stdout.contains(&format!("ok {scenario}")),
            "{scenario} did not run:\n{stdout}"
        );
    }
}

/// The real npm client (@ag-ui/client 1.0.0's HttpAgent, with its schema
/// enforcement and event verifier) runs text, multi-turn, state, frontend
/// tool, server tool, reasoning, multimodal, error, team and tool-approval
/// (interrupt and resume) runs against the server.
/// Install it with `npm ci --prefix tests/clients`.
#[tokio::test]
async fn the_real_ag_ui_client_accepts_every_stream() {
    real_ag_ui_client("@ag-ui/client").await;
}

/// The same scenarios with @ag-ui/client 0.0.59, the line CopilotKit's
/// runtime bundles (installed as `ag-ui-client-0`), whose closed outcome
/// schemas refused `pendingToolCallIds`: its frontend tool run failed.
#[tokio::test]
async fn the_ag_ui_client_copilotkit_bundles_accepts_every_stream() {
    real_ag_ui_client("ag-ui-client-0").await;
}

/// Every event type agentd sends, from real runs (text with state, server
/// and frontend tools, reasoning, failure, approval, a team whose members
/// succeed and fail, a structured answer, a cancelled run), checked by the
/// zod event schemas of both client lines (tests/clients/agui_schemas.mjs):
/// a stream for a request without `protocolVersion` must pass 0.0.59's and
/// 1.0's, one for a 1.0 request 1.0's.
#[tokio::test]
async fn every_event_passes_the_schemas_of_the_clients_it_is_for() {
    let Some(clients) = crate::common::clients::node_with(&["@ag-ui/client", "ag-ui-client-0"])
    else {
        return;
    };
    let llm = MockLlm::start().await;
    let extra = format!(
        r#"
[agents.response_schema]
type = "object"
required = ["city"]
properties = {{ city = {{ type = "string" }} }}
{SLOW}{TEAMS}"#
    );
    let server = TestServer::start(&upstream_config(&llm.base_url, &extra)).await;
    let frontend = json!([{"name": "change_background", "description": "Paint",
        "parameters": {"type": "object", "properties": {"color": {"type": "string"}}}}]);
    let mut checked = Vec::new();
    let mut seen = HashSet::new();
    for (n, legacy) in [true, false].into_iter().enumerate() {
        let lines = if legacy {
            json!(["1.0", "0.0.59"])
        } else {
            json!(["1.0"])
        };
        let body = |run: &str, text: &str| {
            let thread = format!("t-{run}-{n}");
            let run = format!("{run}-{n}");
            if legacy {
                legacy_input(&thread, &run, json!([user("m1", text)]))
            } else {
                input(&thread, &run, json!([user("m1", text)]))
            }
        };
        let mut runs = Vec::new();
        let mut stateful = body("s", "hello");
        stateful["state"] = json!({"counter": 1});
        runs.push(("/agui", stateful));
        runs.push((
            "/agui",
            body("c", r#"/tool calculator {"expression": "6*7"}"#),
        ));
        let mut front = body("f", r#"/tool change_background {"color": "blue"}"#);
        front["tools"] = frontend.clone();
        runs.push(("/agui", front));
        runs.push(("/agui", body("r", "/think step by step")));
        runs.push(("/agui", body("e", "/fail upstream exploded")));
        runs.push((
            "/agui/careful",
            body("a", r#"/tool calculator {"expression": "6*7"}"#),
        ));
        runs.push(("/agui/panel", body("p", "hello")));
        runs.push((
            "/agui/crew",
            body(
                "m",
                r#"/tool delegate_task_to_member {"member_id": "researcher", "task": "/fail member broke"}"#,
            ),
        ));
        llm.push(Reply::Text(r#"{"city": "Oslo"}"#.into()));
        runs.push(("/agui/upstream", body("j", "a city")));
        for (path, body) in runs {
            for event in run(&server, path, &body).await {
                seen.insert(event["type"].as_str().unwrap().to_string());
                checked.push(json!({"lines": lines, "event": event}));
            }
        }
        // Cancelled while it streams.
        let run_id = format!("x-{n}");
        let resp = post(&server, "/agui/slow", &body("x", &long_message())).await;
        let engine = server.engine.clone();
        let mut cancelled = false;
        let frames = sse::read_until(resp, |f| {
            if f.data["type"] == "TEXT_MESSAGE_CONTENT" && !cancelled {
                cancelled = true;
                let engine = engine.clone();
                let run_id = run_id.clone();
                tokio::spawn(async move {
                    engine
                        .cancel(&agentd::engine::Principal::open(), &run_id)
                        .await
                });
            }
            false
        })
        .await;
        let last = &frames.last().unwrap().data;
        assert_eq!(
            last["type"],
            if legacy { "RUN_ERROR" } else { "RUN_FINISHED" }
        );
        for f in frames {
            checked.push(json!({"lines": lines, "event": f.data}));
        }
    }
    let mut types: Vec<&str> = seen.iter().map(String::as_str).collect();
    types.sort();
    assert_eq!(
        types,
        [
            "REASONING_END",
            "REASONING_MESSAGE_CONTENT",
            "REASONING_MESSAGE_END",
            "REASONING_MESSAGE_START",
            "REASONING_START",
            "RUN_ERROR",
            "RUN_FINISHED",
            "RUN_STARTED",
            "STATE_SNAPSHOT",
            "STEP_FINISHED",
            "STEP_STARTED",
            "SUBAGENT_ERROR",
            "SUBAGENT_FINISHED",
            "SUBAGENT_STARTED",
            "TEXT_MESSAGE_CONTENT",
            "TEXT_MESSAGE_END",
            "TEXT_MESSAGE_START",
            "TOOL_CALL_ARGS",
            "TOOL_CALL_END",
            "TOOL_CALL_RESULT",
            "TOOL_CALL_START",
        ],
        "every type agentd sends (STATE_DELTA needs a state change, which no run reports yet)"
    );
    let mut child = tokio::process::Command::new("node")
        .arg(clients.join("agui_schemas.mjs"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("node runs");
    let input = serde_json::to_vec(&checked).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stdin, &input)
        .await
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "refused by the schemas:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// CopilotKit end to end (tests/clients/copilotkit_client.mjs):
/// @copilotkit/runtime 1.75 in-process with agentd's /agui agents (HttpAgent
/// from its bundled @ag-ui/client 0.0.59), driven by @copilotkit/core as a
/// CopilotKit frontend: a text answer, a frontend action (called by the
/// model, run by the frontend, its result sent back in a follow-up run) and
/// an approval (an interrupt answered with `resume`). The frontend action
/// failed on the old stream (`pendingToolCallIds` refused).
#[tokio::test]
async fn copilotkit_runs_text_frontend_actions_and_approvals() {
    let Some(clients) =
        crate::common::clients::node_with(&["@copilotkit/runtime", "@copilotkit/core", "zod"])
    else {
        return;
    };
    let llm = MockLlm::start().await;
    let extra = r#"
[[agents]]
id = "careful"
name = "Careful"
model = "mock"
tools = [{ name = "calculator", confirm = true }]
"#;
    let server = TestServer::start(&upstream_config(&llm.base_url, extra)).await;
    // One scenario per process, each with its scripted replies.
    let scenario = |name: &'static str| {
        let (clients, base) = (clients.clone(), server.base.clone());
        async move {
            let out = tokio::process::Command::new("node")
                .arg(clients.join("copilotkit_client.mjs"))
                .arg(&base)
                .arg(name)
                .output()
                .await
                .expect("node runs");
            let stdout = String::from_utf8_lossy(&out.stdout).to_string();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success(),
                "CopilotKit failed {name}:\n{stdout}\n{stderr}"
            );
            let line = stdout
                .lines()
                .find_map(|l| l.strip_prefix(&format!("ok {name} ")))
                .unwrap_or_else(|| panic!("{name} did not pass:\n{stdout}"))
                .to_string();
            serde_json::from_str::<Value>(&line).unwrap()
        }
    };
    // The mock's default reply.
    assert_eq!(
        scenario("text_answer").await["answer"],
        "Mock reply to: hello"
    );
    // The model calls the frontend's tool, then answers from its result.
    llm.push(call("change_background", json!({"color": "blue"})));
    llm.push(Reply::Text("The page is blue now.".into()));
    let action = scenario("frontend_action").await;
    assert_eq!(action["answer"], "The page is blue now.");
    // The model calls the calculator, which waits for approval.
    llm.push(call("calculator", json!({"expression": "6*7"})));
    llm.push(Reply::Text("6*7 is 42.".into()));
    assert_eq!(scenario("approval").await["answer"], "6*7 is 42.");

    // The action's result reached the model in the follow-up run, and the
    // frontend's tool was offered to it.
    let requests = llm.requests();
    let follow_up = requests
        .iter()
        .find(|r| {
            r["messages"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["role"] == "tool" && m["tool_call_id"] == action["toolCallId"])
        })
        .expect("a request carries the action's result");
    let result = follow_up["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "tool")
        .unwrap();
    assert_eq!(result["content"], "background is blue");
    assert!(
        requests[1]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["function"]["name"] == "change_background"),
        "{}",
        requests[1]["tools"]
    );
    // The approved call ran on the server.
    assert!(
        llm.last_tool_results()
            .iter()
            .any(|(_, content)| content == "42"),
        "{:?}",
        llm.last_tool_results()
    );
}

const TEAMS: &str = r#"
[[agents]]
id = "researcher"
name = "Researcher"
model = "builtin"

[[agents]]
id = "writer"
name = "Writer"
model = "builtin"

[[agents]]
id = "careful"
name = "Careful"
model = "builtin"
tools = [{ name = "calculator", confirm = true }]

[[teams]]
id = "crew"
name = "Crew"
model = "builtin"
members = ["researcher", "writer"]
mode = "coordinate"

[[teams]]
id = "panel"
model = "builtin"
members = ["researcher", "writer"]
mode = "broadcast"
"#;

#[tokio::test]
async fn team_members_show_as_steps() {
    let config = config_with(&format!("{TEAMS}\n[agui]\ndefault_agent = \"crew\"\n"));
    let server = TestServer::start(&config).await;
    // The default agent is the `crew` team.
    let ask = r#"/tool delegate_task_to_member {"member_id": "researcher", "task": "find facts"}"#;
    let events = run(
        &server,
        "/agui",
        &input("t-team", "r-team", json!([user("m1", ask)])),
    )
    .await;
    assert_eq!(
        shape(&events),
        [
            "RUN_STARTED",
            "TOOL_CALL_START",
            "TOOL_CALL_ARGS",
            "TOOL_CALL_END",
            "STEP_STARTED",
            "SUBAGENT_STARTED",
            "SUBAGENT_FINISHED",
            "STEP_FINISHED",
            "TOOL_CALL_RESULT",
            "TEXT_MESSAGE_START",
            "TEXT_MESSAGE_CONTENT",
            "TEXT_MESSAGE_END",
            "RUN_FINISHED"
        ]
    );
    let step = of_type(&events, "STEP_STARTED")[0];
    assert_eq!(step["stepName"], "Researcher");
    assert_eq!(
        of_type(&events, "STEP_FINISHED")[0]["stepName"],
        "Researcher"
    );
    assert_eq!(
        of_type(&events, "TOOL_CALL_RESULT")[0]["content"],
        "You said: find facts"
    );
    let record = server
        .engine
        .get_run(&agentd::engine::Principal::open(), "r-team")
        .await
        .unwrap()
        .unwrap();
    assert!(record.team);
    // The member is also a subagent: its run id, its name, its answer.
    let sub = of_type(&events, "SUBAGENT_STARTED")[0];
    assert_eq!(sub["name"], "Researcher");
    let member_run = sub["subagentRunId"].as_str().unwrap();
    let member = server
        .engine
        .get_run(&agentd::engine::Principal::open(), member_run)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(member.agent_id, "researcher");
    let finished = of_type(&events, "SUBAGENT_FINISHED")[0];
    assert_eq!(
        finished,
        &json!({"type": "SUBAGENT_FINISHED", "subagentRunId": member_run,
                "result": "You said: find facts", "timestamp": finished["timestamp"]})
    );

    // Broadcast: both members at once, each its own step.
    let events = run(
        &server,
        "/agui/panel",
        &input("t-panel", "r-panel", json!([user("m1", "hello")])),
    )
    .await;
    let mut started: Vec<&str> = of_type(&events, "STEP_STARTED")
        .iter()
        .map(|e| e["stepName"].as_str().unwrap())
        .collect();
    started.sort();
    assert_eq!(started, ["Researcher", "Writer"]);
    assert_eq!(of_type(&events, "STEP_FINISHED").len(), 2);
    assert_eq!(of_type(&events, "SUBAGENT_STARTED").len(), 2);
    assert_eq!(of_type(&events, "SUBAGENT_FINISHED").len(), 2);
}
