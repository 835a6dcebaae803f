//! A2A over real HTTP: the official a2a-sdk Python client end to end (cards,
//! send, stream, get, cancel, input-required), and raw JSON-RPC for what a
//! well-behaved client never sends (every error is a JSON-RPC error).

use crate::common::{PAUSING_AGENTS, TestServer, config_with, sse};
use serde_json::{Value, json};

const KEY: &str = "a2a-key";

/// `assistant` (builtin) and the pausing agents (`asker`, `slow`, the team
/// `crew`); one API key.
fn config() -> String {
    config_with(&format!(
        "{PAUSING_AGENTS}\n[auth]\napi_keys = [\"{KEY}\"]\n"
    ))
}

async fn start() -> TestServer {
    TestServer::start(&config()).await
}

async fn post_raw(server: &TestServer, path: &str, body: &str) -> reqwest::Response {
    server
        .client
        .post(server.url(path))
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

async fn rpc(server: &TestServer, path: &str, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params});
    let resp = post_raw(server, path, &body.to_string()).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

fn send_params(text: &str) -> Value {
    json!({"message": {
        "kind": "message", "messageId": "m1", "role": "user",
        "parts": [{"kind": "text", "text": text}],
    }})
}

fn error_code(v: &Value) -> i64 {
    assert_eq!(v["jsonrpc"], "2.0", "{v}");
    v["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("not an error: {v}"))
}

#[tokio::test]
async fn cards_describe_every_agent_at_the_well_known_paths() {
    let server = start().await;
    for path in ["/.well-known/agent-card.json", "/.well-known/agent.json"] {
        let card: Value = server
            .client
            .get(server.url(path))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(card["url"], server.url("/a2a"));
        assert_eq!(card["capabilities"]["streaming"], true);
        assert_eq!(card["preferredTransport"], "JSONRPC");
        let skills: Vec<&str> = card["skills"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        assert_eq!(skills, ["assistant", "asker", "slow", "crew"]);
        assert_eq!(card["securitySchemes"]["bearer"]["scheme"], "bearer");
    }
    let card: Value = server
        .client
        .get(server.url("/a2a/crew/.well-known/agent-card.json"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(card["url"], server.url("/a2a/crew"));
    assert_eq!(card["description"], "Routes to the assistant");
    assert_eq!(card["skills"][0]["tags"][0], "team");

    let resp = server
        .client
        .get(server.url("/a2a/nobody/.well-known/agent-card.json"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(error_code(&resp.json().await.unwrap()), -32600);
}

#[tokio::test]
async fn send_runs_the_agent_and_the_task_keeps_its_context() {
    let server = start().await;
    let sent = rpc(&server, "/a2a/assistant", "message/send", send_params("hi")).await;
    assert_eq!(sent["id"], 7);
    let task = &sent["result"];
    assert_eq!(task["kind"], "task");
    assert_eq!(task["status"]["state"], "completed");
    assert_eq!(task["artifacts"][0]["parts"][0]["text"], "You said: hi");
    let record = server
        .engine
        .get_run(task["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.origin, "a2a");
    assert_eq!(record.session_id, task["contextId"].as_str().unwrap());

    // The server endpoint runs the agent named in metadata.
    let mut params = send_params("team work");
    params["metadata"] = json!({"agentId": "crew"});
    let task = rpc(&server, "/a2a", "message/send", params).await["result"].clone();
    assert_eq!(task["status"]["state"], "completed");
    assert_eq!(task["metadata"]["agentId"], "crew");

    // A task of one agent is unknown at another agent's endpoint.
    let id = task["id"].clone();
    let other = rpc(&server, "/a2a/assistant", "tasks/get", json!({"id": id})).await;
    assert_eq!(error_code(&other), -32001);
    let found = rpc(&server, "/a2a/crew", "tasks/get", json!({"id": id})).await;
    assert_eq!(found["result"]["id"], id);
}

#[tokio::test]
async fn data_and_file_parts_reach_the_agent() {
    let server = start().await;
    let params = json!({"message": {
        "kind": "message", "messageId": "m2", "role": "user",
        "parts": [
            {"kind": "text", "text": "look"},
            {"kind": "data", "data": {"city": "Paris"}},
            {"kind": "file", "file": {"bytes": "aGVsbG8gZmlsZQ==", "mimeType": "text/plain", "name": "note.txt"}},
        ],
    }});
    let task = rpc(&server, "/a2a/assistant", "message/send", params).await["result"].clone();
    assert_eq!(task["status"]["state"], "completed", "{task}");
    let record = server
        .engine
        .get_run(task["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.input[0].text, "look\n{\"city\":\"Paris\"}");
    assert_eq!(record.input[0].attachments.len(), 1);
    assert_eq!(
        record.input[0].attachments[0].name.as_deref(),
        Some("note.txt")
    );
    let history = &task["history"][0]["parts"];
    assert_eq!(history[1]["kind"], "file");
}

#[tokio::test]
async fn stream_sends_the_task_then_updates_as_jsonrpc_responses() {
    let server = start().await;
    let body = json!({"jsonrpc": "2.0", "id": "s1", "method": "message/stream",
        "params": send_params("hello there")});
    let resp = post_raw(&server, "/a2a/assistant", &body.to_string()).await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let frames = sse::read_all(resp).await;
    assert!(frames.iter().all(|f| f.data["id"] == "s1"));
    let results: Vec<&Value> = frames.iter().map(|f| &f.data["result"]).collect();
    let kinds: Vec<&str> = results
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds[0], "task");
    assert_eq!(results[0]["status"]["state"], "submitted");
    assert_eq!(kinds[1], "status-update");
    assert_eq!(results[1]["status"]["state"], "working");
    assert_eq!(results[1]["final"], false);
    let chunks: Vec<&&Value> = results
        .iter()
        .filter(|r| r["kind"] == "artifact-update" && r["lastChunk"] == false)
        .collect();
    assert!(chunks.len() >= 2);
    assert_eq!(chunks[0]["append"], false);
    assert_eq!(chunks[1]["append"], true);
    let text: String = chunks
        .iter()
        .map(|c| c["artifact"]["parts"][0]["text"].as_str().unwrap())
        .collect();
    assert_eq!(text, "You said: hello there");
    let n = results.len();
    assert_eq!(results[n - 2]["lastChunk"], true);
    assert_eq!(
        results[n - 2]["artifact"]["parts"][0]["text"],
        "You said: hello there"
    );
    assert_eq!(results[n - 1]["status"]["state"], "completed");
    assert_eq!(results[n - 1]["final"], true);
}

#[tokio::test]
async fn input_required_resumes_and_terminal_tasks_refuse_messages() {
    let server = start().await;
    let ask = r#"/tool ask_user {"question": "Which city?"}"#;
    let task = rpc(&server, "/a2a/asker", "message/send", send_params(ask)).await["result"].clone();
    assert_eq!(task["status"]["state"], "input-required");
    assert_eq!(task["status"]["message"]["parts"][0]["text"], "Which city?");
    assert_eq!(
        task["status"]["message"]["parts"][1]["data"]["name"],
        "ask_user"
    );

    let mut answer = send_params("Lyon");
    answer["message"]["taskId"] = task["id"].clone();
    let done = rpc(&server, "/a2a/asker", "message/send", answer.clone()).await["result"].clone();
    assert_eq!(done["status"]["state"], "completed");
    assert_eq!(done["id"], task["id"]);
    let text = done["artifacts"][0]["parts"][0]["text"].as_str().unwrap();
    assert!(text.contains("Lyon"), "{text}");

    let again = rpc(&server, "/a2a/asker", "message/send", answer).await;
    assert_eq!(error_code(&again), -32602);
    assert!(
        again["error"]["message"]
            .as_str()
            .unwrap()
            .contains("terminal state")
    );
}

#[tokio::test]
async fn cancel_ends_a_working_task_and_refuses_a_finished_one() {
    let server = start().await;
    let words: Vec<String> = (0..300).map(|i| i.to_string()).collect();
    let mut params = send_params(&words.join(" "));
    params["configuration"] = json!({"blocking": false});
    let task = rpc(&server, "/a2a/slow", "message/send", params).await["result"].clone();
    assert!(["submitted", "working"].contains(&task["status"]["state"].as_str().unwrap()));
    let id = task["id"].clone();
    let canceled = rpc(&server, "/a2a/slow", "tasks/cancel", json!({"id": id})).await;
    assert_eq!(
        canceled["result"]["status"]["state"], "canceled",
        "{canceled}"
    );
    let again = rpc(&server, "/a2a/slow", "tasks/cancel", json!({"id": id})).await;
    assert_eq!(error_code(&again), -32002);
    let unknown = rpc(&server, "/a2a/slow", "tasks/cancel", json!({"id": "nope"})).await;
    assert_eq!(error_code(&unknown), -32001);
}

#[tokio::test]
async fn every_error_is_a_jsonrpc_error() {
    let server = start().await;
    let cases: &[(&str, i64)] = &[
        ("{not json", -32700),
        ("[]", -32600),
        (
            r#"{"jsonrpc": "1.0", "id": 1, "method": "tasks/get"}"#,
            -32600,
        ),
        (
            r#"{"jsonrpc": "2.0", "id": {}, "method": "tasks/get"}"#,
            -32600,
        ),
        (r#"{"jsonrpc": "2.0", "id": 1}"#, -32600),
        (
            r#"{"jsonrpc": "2.0", "id": 1, "method": "tasks/fly"}"#,
            -32601,
        ),
        (
            r#"{"jsonrpc": "2.0", "id": 1, "method": "tasks/get", "params": {}}"#,
            -32602,
        ),
        (
            r#"{"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {"message": {"messageId": "m", "role": "user", "parts": []}}}"#,
            -32602,
        ),
        (
            r#"{"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {"message": {"messageId": "m", "role": "agent", "parts": [{"kind": "text", "text": "x"}]}}}"#,
            -32602,
        ),
        (
            r#"{"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {"message": {"messageId": "m", "role": "user", "parts": [{"kind": "file", "file": {"bytes": "***"}}]}}}"#,
            -32602,
        ),
        (
            r#"{"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {"message": {"messageId": "m", "role": "user", "taskId": "nope", "parts": [{"kind": "text", "text": "x"}]}}}"#,
            -32001,
        ),
        (
            r#"{"jsonrpc": "2.0", "id": 1, "method": "tasks/pushNotificationConfig/set", "params": {}}"#,
            -32003,
        ),
    ];
    for (body, code) in cases {
        let resp = post_raw(&server, "/a2a/assistant", body).await;
        assert_eq!(resp.status(), 200, "{body}");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(error_code(&v), *code, "{body}: {v}");
    }
    // The id is echoed when it could be read.
    let resp = post_raw(
        &server,
        "/a2a/assistant",
        r#"{"jsonrpc": "2.0", "id": "x9", "method": "nope"}"#,
    )
    .await;
    assert_eq!(resp.json::<Value>().await.unwrap()["id"], "x9");

    // Unknown agent, wrong method, unknown path, missing key: HTTP status
    // and a JSON-RPC body.
    let resp = post_raw(
        &server,
        "/a2a/nobody",
        r#"{"jsonrpc": "2.0", "id": 1, "method": "tasks/get"}"#,
    )
    .await;
    assert_eq!(resp.status(), 404);
    assert_eq!(error_code(&resp.json().await.unwrap()), -32600);
    let resp = server
        .client
        .get(server.url("/a2a/assistant"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(error_code(&resp.json().await.unwrap()), -32600);
    let resp = server
        .client
        .post(server.url("/a2a/assistant"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(error_code(&resp.json().await.unwrap()), -32600);
}

/// The unmodified a2a-sdk client: cards, message/send, tasks/get,
/// message/stream, a context across tasks, input-required and resume,
/// tasks/cancel, and task-not-found.
#[tokio::test]
async fn python_a2a_sdk_client_works_unmodified() {
    let Some(python) = crate::common::clients::python_with("a2a.client") else {
        return;
    };
    let server = start().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/a2a_client.py");
    let out = tokio::process::Command::new(&python)
        .arg(script)
        .arg(&server.base)
        .args(["assistant", "slow", "asker", KEY])
        .output()
        .await
        .expect("run the Python client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "client failed:\n{stdout}\n{stderr}");
    for step in [
        "ok agent cards",
        "ok message/send",
        "ok tasks/get",
        "ok message/stream",
        "ok context across tasks",
        "ok input-required + resume",
        "ok tasks/cancel",
        "ok task not found",
    ] {
        assert!(stdout.contains(step), "missing '{step}' in:\n{stdout}");
    }
}
