//! A2A over real HTTP: the official clients end to end (a2a-sdk 0.3 and 1.x
//! for Python, @a2a-js/sdk 1.3: cards, send, stream, get, list, cancel,
//! subscribe, input-required), raw JSON-RPC (0.3 and 1.0) and HTTP+JSON for
//! what a well-behaved client never sends (every error in its binding's
//! shape).

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
        .get_run(
            &agentd::engine::Principal::open(),
            task["id"].as_str().unwrap(),
        )
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
        .get_run(
            &agentd::engine::Principal::open(),
            task["id"].as_str().unwrap(),
        )
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
    let mut client = tokio::process::Command::new(&python);
    client
        .arg(script)
        .arg(&server.base)
        .args(["assistant", "slow", "asker", KEY]);
    crate::common::clients::expect_steps(
        client,
        &[
            "ok agent cards",
            "ok message/send",
            "ok tasks/get",
            "ok message/stream",
            "ok context across tasks",
            "ok input-required + resume",
            "ok tasks/cancel",
            "ok task not found",
        ],
    )
    .await;
}

async fn rpc_v1(server: &TestServer, path: &str, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 8, "method": method, "params": params});
    let resp = server
        .client
        .post(server.url(path))
        .bearer_auth(KEY)
        .header("A2A-Version", "1.0")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

fn v1_message(text: &str) -> Value {
    json!({"message": {
        "messageId": "m1", "role": "ROLE_USER", "parts": [{"text": text}],
    }})
}

#[tokio::test]
async fn cards_list_both_versions_and_both_bindings() {
    let server = start().await;
    let card: Value = server
        .client
        .get(server.url("/a2a/assistant/.well-known/agent-card.json"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let base = server.url("/a2a/assistant");
    let interfaces: Vec<(&str, &str, &str)> = card["supportedInterfaces"]
        .as_array()
        .unwrap_or_else(|| panic!("no supportedInterfaces: {card}"))
        .iter()
        .map(|i| {
            (
                i["url"].as_str().unwrap(),
                i["protocolBinding"].as_str().unwrap(),
                i["protocolVersion"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        interfaces,
        [
            (base.as_str(), "JSONRPC", "1.0"),
            (base.as_str(), "HTTP+JSON", "1.0"),
            (base.as_str(), "JSONRPC", "0.3"),
        ]
    );
    // A 0.3 client still finds its endpoint; a 1.0 client its requirements.
    assert_eq!(card["url"], base);
    assert_eq!(card["preferredTransport"], "JSONRPC");
    assert_eq!(card["protocolVersion"], "0.3.0");
    assert_eq!(card["capabilities"]["extendedAgentCard"], false);
    assert_eq!(
        card["securityRequirements"],
        json!([{"schemes": {"bearer": {"list": []}}}])
    );
    assert_eq!(
        card["securitySchemes"]["bearer"]["httpAuthSecurityScheme"]["scheme"],
        "bearer"
    );
    // The server's card: JSON-RPC in both versions at /a2a.
    let card: Value = server
        .client
        .get(server.url("/.well-known/agent-card.json"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let versions: Vec<&str> = card["supportedInterfaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["protocolVersion"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["1.0", "0.3"]);
}

/// 1.0 over JSON-RPC, raw: the version from the header or the method's
/// name, 1.0's shapes (no `kind`, enum names, wrapped results), resume of
/// an input-required task, ListTasks' pages and checks, and 1.0's errors.
#[tokio::test]
async fn jsonrpc_1_0_beside_0_3_on_one_url() {
    let server = start().await;
    // No header: the PascalCase name says 1.0.
    let sent = rpc(&server, "/a2a/assistant", "SendMessage", v1_message("hi")).await;
    let task = &sent["result"]["task"];
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{sent}");
    assert_eq!(task["artifacts"][0]["parts"][0]["text"], "You said: hi");
    assert!(task.get("kind").is_none());
    assert_eq!(task["history"][0]["role"], "ROLE_USER");
    let context = task["contextId"].clone();
    // The same URL still speaks 0.3.
    let old = rpc(&server, "/a2a/assistant", "message/send", send_params("hi")).await;
    assert_eq!(old["result"]["status"]["state"], "completed");
    // With the header, 0.3's names are unknown in 1.0.
    let wrong = rpc_v1(&server, "/a2a/assistant", "message/send", send_params("x")).await;
    assert_eq!(error_code(&wrong), -32601);

    // input-required, then resumed by a message naming the task.
    let ask = r#"/tool ask_user {"question": "Which city?"}"#;
    let asked = rpc_v1(&server, "/a2a/asker", "SendMessage", v1_message(ask)).await;
    let asked = &asked["result"]["task"];
    assert_eq!(
        asked["status"]["state"], "TASK_STATE_INPUT_REQUIRED",
        "{asked}"
    );
    assert_eq!(asked["status"]["message"]["role"], "ROLE_AGENT");
    assert_eq!(
        asked["status"]["message"]["parts"][0]["text"],
        "Which city?"
    );
    assert_eq!(
        asked["status"]["message"]["parts"][1]["data"]["name"],
        "ask_user"
    );
    let mut reply = v1_message("Lyon");
    reply["message"]["taskId"] = asked["id"].clone();
    let done = rpc_v1(&server, "/a2a/asker", "SendMessage", reply).await;
    assert_eq!(
        done["result"]["task"]["status"]["state"], "TASK_STATE_COMPLETED",
        "{done}"
    );
    assert!(
        done["result"]["task"]["artifacts"][0]["parts"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Lyon")
    );

    // returnImmediately answers a working task; historyLength 0 omits history.
    let mut params = v1_message("one two three");
    params["configuration"] = json!({"returnImmediately": true, "historyLength": 0});
    params["message"]["contextId"] = context.clone();
    let quick = rpc_v1(&server, "/a2a/slow", "SendMessage", params).await;
    let quick = &quick["result"]["task"];
    assert!(
        ["TASK_STATE_SUBMITTED", "TASK_STATE_WORKING"]
            .contains(&quick["status"]["state"].as_str().unwrap()),
        "{quick}"
    );
    assert!(quick.get("history").is_none(), "{quick}");

    // ListTasks: this agent's tasks, newest first, a page at a time.
    for text in ["a", "b"] {
        let mut p = v1_message(text);
        p["message"]["contextId"] = context.clone();
        rpc_v1(&server, "/a2a/assistant", "SendMessage", p).await;
    }
    let page = rpc_v1(
        &server,
        "/a2a/assistant",
        "ListTasks",
        json!({"contextId": context, "pageSize": 2}),
    )
    .await;
    let page = &page["result"];
    assert_eq!(page["totalSize"], 3, "{page}");
    assert_eq!(page["pageSize"], 2);
    let tasks = page["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 2);
    assert!(tasks[0].get("artifacts").is_none());
    assert_eq!(tasks[0]["history"][0]["parts"][0]["text"], "b");
    let next = page["nextPageToken"].as_str().unwrap();
    assert!(!next.is_empty());
    let rest = rpc_v1(
        &server,
        "/a2a/assistant",
        "ListTasks",
        json!({"contextId": context, "pageSize": 2, "pageToken": next, "includeArtifacts": true}),
    )
    .await;
    let rest = &rest["result"];
    assert_eq!(rest["tasks"][0]["id"], task["id"], "{rest}");
    assert_eq!(
        rest["tasks"][0]["artifacts"][0]["parts"][0]["text"],
        "You said: hi"
    );
    assert_eq!(rest["nextPageToken"], "");
    let failed = rpc_v1(
        &server,
        "/a2a/assistant",
        "ListTasks",
        json!({"status": "TASK_STATE_FAILED"}),
    )
    .await;
    assert_eq!(failed["result"]["totalSize"], 0, "{failed}");

    // 1.0's errors, with ErrorInfo for A2A's own.
    let cases: &[(&str, Value, i64)] = &[
        ("GetTask", json!({"id": "nope"}), -32001),
        ("CancelTask", json!({"id": task["id"]}), -32002),
        ("CreateTaskPushNotificationConfig", json!({}), -32003),
        ("SubscribeToTask", json!({"id": task["id"]}), -32004),
        ("GetExtendedAgentCard", json!({}), -32007),
        ("ListTasks", json!({"pageSize": 0}), -32602),
        ("ListTasks", json!({"pageToken": "garbage"}), -32602),
        (
            "ListTasks",
            json!({"status": "TASK_STATE_SLEEPING"}),
            -32602,
        ),
        (
            "GetTask",
            json!({"id": task["id"], "historyLength": -1}),
            -32602,
        ),
        (
            "SendMessage",
            json!({"message": {"role": "ROLE_USER", "parts": [{}]}}),
            -32602,
        ),
        ("SendTheMessage", json!({}), -32601),
    ];
    for (method, params, code) in cases {
        let v = rpc_v1(&server, "/a2a/assistant", method, params.clone()).await;
        assert_eq!(error_code(&v), *code, "{method} {params}: {v}");
    }
    let v = rpc_v1(&server, "/a2a/assistant", "GetTask", json!({"id": "nope"})).await;
    assert_eq!(v["error"]["data"][0]["reason"], "TASK_NOT_FOUND", "{v}");
    assert_eq!(v["error"]["data"][0]["domain"], "a2a-protocol.org");
    // A version agentd does not serve.
    let resp = server
        .client
        .post(server.url("/a2a/assistant"))
        .bearer_auth(KEY)
        .header("A2A-Version", "2.0")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "x"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(&resp.json().await.unwrap()), -32009);
}

fn rest(server: &TestServer, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    server
        .client
        .request(method, server.url(path))
        .bearer_auth(KEY)
}

/// A request and the error it gets: HTTP status, google.rpc code name and
/// A2A reason.
type RestCase = (
    reqwest::Method,
    String,
    Option<Value>,
    u16,
    &'static str,
    Option<&'static str>,
);

/// HTTP+JSON, raw: 1.0's routes under an agent's base, answers in 1.0's
/// shapes, SSE of bare StreamResponses, and google.rpc errors with the
/// spec's HTTP statuses.
#[tokio::test]
async fn http_json_binding_answers_and_errors_as_the_spec_maps_them() {
    use reqwest::Method;
    let server = start().await;
    let resp = rest(&server, Method::POST, "/a2a/assistant/message:send")
        .json(&v1_message("hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/a2a+json");
    let sent: Value = resp.json().await.unwrap();
    let task = &sent["task"];
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{sent}");
    let id = task["id"].as_str().unwrap();

    let got: Value = rest(
        &server,
        Method::GET,
        &format!("/a2a/assistant/tasks/{id}?historyLength=0"),
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(got["id"], id, "{got}");
    assert!(got.get("history").is_none());
    let listed: Value = rest(
        &server,
        Method::GET,
        "/a2a/assistant/tasks?pageSize=1&includeArtifacts=true",
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(listed["tasks"][0]["id"], id, "{listed}");
    assert_eq!(
        listed["tasks"][0]["artifacts"][0]["parts"][0]["text"],
        "You said: hi"
    );

    let resp = rest(&server, Method::POST, "/a2a/assistant/message:stream")
        .json(&v1_message("streamed"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let events: Vec<Value> = sse::read_all(resp)
        .await
        .into_iter()
        .map(|f| f.data)
        .collect();
    assert!(events[0].get("task").is_some(), "{events:?}");
    let last = events.last().unwrap();
    assert_eq!(
        last["statusUpdate"]["status"]["state"], "TASK_STATE_COMPLETED",
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["artifactUpdate"]["lastChunk"] == true)
    );

    let error = |status: u16, name: &str, reason: Option<&str>, v: &Value| {
        assert_eq!(v["error"]["code"], status, "{v}");
        assert_eq!(v["error"]["status"], name, "{v}");
        if let Some(reason) = reason {
            assert_eq!(v["error"]["details"][0]["reason"], reason, "{v}");
            assert_eq!(
                v["error"]["details"][0]["@type"],
                "type.googleapis.com/google.rpc.ErrorInfo"
            );
        }
    };
    let cases: Vec<RestCase> = vec![
        (
            Method::GET,
            "/a2a/assistant/tasks/nope".into(),
            None,
            404,
            "NOT_FOUND",
            Some("TASK_NOT_FOUND"),
        ),
        (
            Method::POST,
            format!("/a2a/assistant/tasks/{id}:cancel"),
            None,
            400,
            "FAILED_PRECONDITION",
            Some("TASK_NOT_CANCELABLE"),
        ),
        (
            Method::GET,
            format!("/a2a/assistant/tasks/{id}:subscribe"),
            None,
            400,
            "FAILED_PRECONDITION",
            Some("UNSUPPORTED_OPERATION"),
        ),
        (
            Method::GET,
            "/a2a/assistant/extendedAgentCard".into(),
            None,
            400,
            "FAILED_PRECONDITION",
            Some("EXTENDED_AGENT_CARD_NOT_CONFIGURED"),
        ),
        (
            Method::POST,
            format!("/a2a/assistant/tasks/{id}/pushNotificationConfigs"),
            None,
            400,
            "FAILED_PRECONDITION",
            Some("PUSH_NOTIFICATION_NOT_SUPPORTED"),
        ),
        (
            Method::GET,
            "/a2a/assistant/tasks?pageSize=500".into(),
            None,
            400,
            "INVALID_ARGUMENT",
            None,
        ),
        (
            Method::POST,
            "/a2a/assistant/message:send".into(),
            Some(json!({"message": {"role": "ROLE_USER", "parts": []}})),
            400,
            "INVALID_ARGUMENT",
            None,
        ),
        (
            Method::POST,
            "/a2a/nobody/message:send".into(),
            Some(v1_message("x")),
            404,
            "NOT_FOUND",
            None,
        ),
    ];
    for (method, path, body, status, name, reason) in cases {
        let mut req = rest(&server, method.clone(), &path);
        if let Some(body) = &body {
            req = req.json(body);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), status, "{method} {path}");
        error(status, name, reason, &resp.json().await.unwrap());
    }
    // These paths are 1.0's: a request for 0.3 is refused.
    let resp = rest(&server, Method::GET, &format!("/a2a/assistant/tasks/{id}"))
        .header("A2A-Version", "0.3")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    error(
        400,
        "FAILED_PRECONDITION",
        Some("VERSION_NOT_SUPPORTED"),
        &resp.json().await.unwrap(),
    );
    let resp = rest(&server, Method::DELETE, "/a2a/assistant/message:send")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"]["code"], 405);
}

/// The unmodified @a2a-js/sdk 1.3 client (A2A 1.0) with its default
/// ClientFactory from the agent card URL, over JSON-RPC and HTTP+JSON:
/// send, context continuity, get, stream, list, cancel, subscribe and
/// task-not-found. No API key: the factory fetches the card as is.
#[tokio::test]
async fn js_a2a_sdk_client_works_unmodified_over_both_bindings() {
    let Some(clients) = crate::common::clients::node_with(&["@a2a-js/sdk"]) else {
        return;
    };
    let server = TestServer::start(&config_with(PAUSING_AGENTS)).await;
    for transport in ["JSONRPC", "HTTP+JSON"] {
        let out = tokio::process::Command::new("node")
            .arg(clients.join("a2a_client.mjs"))
            .arg(&server.base)
            .arg(transport)
            .output()
            .await
            .expect("node runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "the JS client failed over {transport}:\n{stdout}\n{stderr}"
        );
        for step in [
            "ok card",
            "ok send",
            "ok context continuity",
            "ok get",
            "ok stream",
            "ok list",
            "ok cancel",
            "ok subscribe",
            "ok task not found",
        ] {
            assert!(
                stdout.contains(step),
                "{transport}: missing '{step}' in:\n{stdout}"
            );
        }
    }
}

/// The unmodified a2a-sdk 1.x Python client, in its own venv, over 1.0
/// JSON-RPC, 1.0 HTTP+JSON and its 0.3 compatibility transport.
#[tokio::test]
async fn python_a2a_sdk_1x_client_works_unmodified() {
    let Some(python) = crate::common::clients::python_a2a1() else {
        return;
    };
    let server = start().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/a2a1_client.py");
    let mut client = tokio::process::Command::new(&python);
    client
        .arg(script)
        .arg(&server.base)
        .args(["assistant", "slow", KEY]);
    let mut steps: Vec<String> = ["jsonrpc", "rest", "compat"]
        .iter()
        .flat_map(|mode| {
            [
                "card",
                "send (streamed)",
                "send + context continuity",
                "get",
                "cancel",
                "subscribe",
                "task not found",
            ]
            .map(|step| format!("ok {mode} {step}"))
        })
        .collect();
    steps.extend(["ok jsonrpc list".to_string(), "ok rest list".to_string()]);
    crate::common::clients::expect_steps(client, &steps).await;
}

/// What the shared HTTP layer refuses itself (here a missing key) on the
/// HTTP+JSON binding comes back as that binding's `google.rpc.Status`, on
/// JSON-RPC as a JSON-RPC error: each client parses its own shape.
#[tokio::test]
async fn layer_refusals_come_in_each_bindings_shape() {
    let server = start().await;
    let resp = server
        .client
        .get(server.url("/a2a/assistant/tasks"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["status"], "UNAUTHENTICATED", "{body}");
    assert_eq!(body["error"]["code"], 401, "{body}");
    let resp = server
        .client
        .post(server.url("/a2a/assistant"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["jsonrpc"], "2.0", "{body}");
}
