//! ACP over real HTTP: the stories of the acp-sdk Client (JSON posted with no
//! Content-Type, base URL `.../acp`, sessions checked before the first run)
//! and of ACP platforms (root `/runs`), plus the real Python client itself.

use crate::common::{PAUSING_AGENTS, TestServer, config_with, eventually, get_json, sse};
use serde_json::{Value, json};

/// `assistant` (builtin, with tools) and the pausing agents (`asker`,
/// `slow`, the team `crew`).
fn config() -> String {
    config_with(PAUSING_AGENTS)
}

async fn start() -> TestServer {
    TestServer::start(&config()).await
}

fn text_input(text: &str) -> Value {
    json!([{"role": "user", "parts": [{"content_type": "text/plain", "content": text}]}])
}

/// Posts JSON exactly as the acp-sdk Client does: no Content-Type header.
async fn post(server: &TestServer, path: &str, body: &Value) -> reqwest::Response {
    server
        .client
        .post(server.url(path))
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

async fn get(server: &TestServer, path: &str) -> reqwest::Response {
    server.client.get(server.url(path)).send().await.unwrap()
}

async fn create(server: &TestServer, agent: &str, text: &str, mode: &str) -> reqwest::Response {
    post(
        server,
        "/acp/runs",
        &json!({"agent_name": agent, "input": text_input(text), "mode": mode}),
    )
    .await
}

/// Asserts an ACP Error body with this status and code; returns the message.
async fn acp_error(resp: reqwest::Response, status: u16, code: &str) -> String {
    assert_eq!(resp.status(), status);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert!(body.get("data").is_some(), "data key present: {body}");
    assert_eq!(body.as_object().unwrap().len(), 3, "{body}");
    body["message"].as_str().unwrap().to_string()
}

fn output_text(run: &Value) -> String {
    run["output"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["parts"].as_array().unwrap())
        .filter(|p| p["content_type"] == "text/plain")
        .filter_map(|p| p["content"].as_str())
        .collect()
}

async fn poll_until(
    server: &TestServer,
    run_id: &str,
    what: &str,
    done: fn(&Value) -> bool,
) -> Value {
    eventually(what, || async {
        let run: Value = get(server, &format!("/acp/runs/{run_id}"))
            .await
            .json()
            .await
            .ok()?;
        done(&run).then_some(run)
    })
    .await
}

fn is_status(run: &Value, status: &str) -> bool {
    run["status"] == status
}

#[tokio::test]
async fn ping_and_agent_manifests() {
    let server = start().await;
    for path in ["/acp/ping", "/ping"] {
        let resp = get(&server, path).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.json::<Value>().await.unwrap(), json!({}));
    }

    let list: Value = get(&server, "/acp/agents").await.json().await.unwrap();
    let agents = list["agents"].as_array().unwrap();
    let names: Vec<&str> = agents.iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["assistant", "asker", "slow", "crew"]);
    let a = &agents[0];
    assert_eq!(a["description"], "Test assistant");
    assert_eq!(a["input_content_types"], json!(["*/*"]));
    assert_eq!(a["output_content_types"], json!(["text/plain"]));
    assert_eq!(a["metadata"]["framework"], "agentd");
    assert!(a["metadata"]["license"].is_null(), "unset metadata is null");
    let deps = a["metadata"]["dependencies"].as_array().unwrap();
    assert!(deps.contains(&json!({"type": "tool", "name": "calculator"})));
    assert!(deps.contains(&json!({"type": "model", "name": "builtin"})));

    let paged: Value = get(&server, "/acp/agents?limit=1&offset=1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(paged["agents"].as_array().unwrap().len(), 1);
    assert_eq!(paged["agents"][0]["name"], "asker");
    acp_error(
        get(&server, "/acp/agents?limit=0").await,
        422,
        "invalid_input",
    )
    .await;

    let one: Value = get(&server, "/acp/agents/asker")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["name"], "asker");
    assert_eq!(
        one["metadata"]["annotations"]["beeai_ui"]["ui_type"],
        "chat"
    );
    let msg = acp_error(get(&server, "/acp/agents/nope").await, 404, "not_found").await;
    assert_eq!(msg, "Agent nope not found");

    // The root /agents stays AgentOS's: a JSON array.
    let root: Value = get(&server, "/agents").await.json().await.unwrap();
    assert!(root.is_array());
}

#[tokio::test]
async fn sync_run_without_content_type_returns_the_run() {
    let server = start().await;
    let resp = create(&server, "assistant", "hello", "sync").await;
    assert_eq!(resp.status(), 200);
    let header = resp.headers()["run-id"].to_str().unwrap().to_string();
    let run: Value = resp.json().await.unwrap();
    assert_eq!(run["run_id"], header.as_str());
    assert!(uuid::Uuid::parse_str(&header).is_ok());
    assert!(uuid::Uuid::parse_str(run["session_id"].as_str().unwrap()).is_ok());
    assert_eq!(run["agent_name"], "assistant");
    assert_eq!(run["status"], "completed");
    assert!(run["await_request"].is_null() && run["error"].is_null());
    assert!(run["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(run["finished_at"].is_string());
    let out = &run["output"][0];
    assert_eq!(out["role"], "agent/assistant");
    assert!(out["completed_at"].is_string());
    assert_eq!(output_text(&run), "You said: hello");
    // Every key serialised, nulls included, as the SDK does.
    let part = &out["parts"][0];
    for key in [
        "name",
        "content_type",
        "content",
        "content_encoding",
        "content_url",
        "metadata",
    ] {
        assert!(part.get(key).is_some(), "part has {key}");
    }

    // The same at the root, and GET /runs/{id} agrees.
    let resp = post(
        &server,
        "/runs",
        &json!({"agent_name": "assistant", "input": text_input("root")}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let run: Value = resp.json().await.unwrap();
    assert_eq!(output_text(&run), "You said: root");
    let id = run["run_id"].as_str().unwrap();
    let polled: Value = get_json(&server.client, server.url(&format!("/runs/{id}"))).await;
    assert_eq!(polled, run);
}

#[tokio::test]
async fn async_run_answers_at_once_and_goes_on() {
    let server = start().await;
    let resp = create(&server, "slow", "one two three four", "async").await;
    assert_eq!(resp.status(), 202);
    assert!(resp.headers().contains_key("run-id"));
    let run: Value = resp.json().await.unwrap();
    assert_eq!(run["status"], "created");
    assert_eq!(run["output"], json!([]));
    let id = run["run_id"].as_str().unwrap();

    let partial = poll_until(&server, id, "partial output", |r| {
        is_status(r, "in-progress") && !r["output"].as_array().unwrap().is_empty()
    })
    .await;
    assert!(partial["output"][0]["completed_at"].is_null());
    let done = poll_until(&server, id, "completion", |r| is_status(r, "completed")).await;
    assert_eq!(output_text(&done), "You said: one two three four");
    assert!(done["finished_at"].is_string());
}

#[tokio::test]
async fn stream_run_sends_acp_events_and_the_log_replays_them() {
    let server = start().await;
    let resp = create(&server, "assistant", "hello stream", "stream").await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let run_id = resp.headers()["run-id"].to_str().unwrap().to_string();
    let frames = sse::read_all(resp).await;
    let types = sse::names(&frames, "type");
    assert_eq!(
        types,
        [
            "run.created",
            "run.in-progress",
            "message.created",
            "message.part",
            "message.part",
            "message.part",
            "message.part",
            "message.completed",
            "run.completed"
        ]
    );
    for f in &frames {
        assert!(f.event.is_none() && f.id.is_none(), "data-only frames");
    }
    assert_eq!(frames[0].data["run"]["status"], "created");
    assert_eq!(frames[0].data["run"]["run_id"], run_id.as_str());
    assert_eq!(frames[1].data["run"]["status"], "in-progress");
    let created = &frames[2].data["message"];
    assert_eq!(created["role"], "agent/assistant");
    assert_eq!(created["parts"], json!([]));
    assert!(created["completed_at"].is_null());
    let parts: String = frames
        .iter()
        .filter(|f| f.data["type"] == "message.part")
        .map(|f| f.data["part"]["content"].as_str().unwrap())
        .collect();
    assert_eq!(parts, "You said: hello stream");
    let last = &frames.last().unwrap().data["run"];
    assert_eq!(output_text(last), parts);
    assert_eq!(
        frames[7].data["message"]["parts"][0]["content"],
        "You said: hello stream"
    );

    let log: Value = get(&server, &format!("/acp/runs/{run_id}/events"))
        .await
        .json()
        .await
        .unwrap();
    let logged: Vec<Value> = log["events"].as_array().unwrap().clone();
    let streamed: Vec<Value> = frames.iter().map(|f| f.data.clone()).collect();
    assert_eq!(logged, streamed);
}

#[tokio::test]
async fn tool_activity_shows_as_generic_events() {
    let server = start().await;
    let resp = create(
        &server,
        "assistant",
        r#"/tool calculator {"expression": "6*7"}"#,
        "stream",
    )
    .await;
    let frames = sse::read_all(resp).await;
    let generic: Vec<&Value> = frames
        .iter()
        .filter(|f| f.data["type"] == "generic")
        .map(|f| &f.data["generic"])
        .collect();
    assert_eq!(generic[0]["kind"], "tool_call");
    assert_eq!(generic[0]["tool_name"], "calculator");
    assert_eq!(generic[1]["kind"], "tool_result");
    assert_eq!(generic[1]["tool_output"], "42");
    let run = &frames.last().unwrap().data["run"];
    assert_eq!(output_text(run), "The calculator tool returned: 42.");
}

#[tokio::test]
async fn a_team_is_an_acp_agent() {
    let server = start().await;
    let team: Value = get(&server, "/acp/agents/crew").await.json().await.unwrap();
    assert_eq!(team["description"], "Routes to the assistant");
    let deps = team["metadata"]["dependencies"].as_array().unwrap();
    assert!(deps.contains(&json!({"type": "agent", "name": "assistant"})));

    let delegate =
        r#"/tool delegate_task_to_member {"member_id": "assistant", "task": "find facts"}"#;
    let frames = sse::read_all(create(&server, "crew", delegate, "stream").await).await;
    let last = &frames.last().unwrap().data;
    assert_eq!(last["type"], "run.completed");
    assert_eq!(last["run"]["agent_name"], "crew");
    assert_eq!(output_text(&last["run"]), "You said: find facts");
    let members: Vec<&Value> = frames
        .iter()
        .filter(|f| f.data["type"] == "generic")
        .map(|f| &f.data["generic"])
        .filter(|g| g["kind"].as_str().unwrap().starts_with("member_"))
        .collect();
    assert_eq!(members.len(), 2, "{members:?}");
    assert_eq!(members[0]["kind"], "member_started");
    assert_eq!(members[0]["agent_name"], "assistant");
    assert_eq!(members[1]["kind"], "member_completed");
    assert_eq!(members[1]["content"], "You said: find facts");
    // The member's own text is not part of the team's output stream.
    let parts: String = frames
        .iter()
        .filter(|f| f.data["type"] == "message.part")
        .map(|f| f.data["part"]["content"].as_str().unwrap())
        .collect();
    assert_eq!(parts, "You said: find facts");
}

#[tokio::test]
async fn upstream_failure_ends_the_run_failed() {
    let server = start().await;
    let resp = create(&server, "assistant", "/fail injected error 500", "sync").await;
    assert_eq!(resp.status(), 200);
    let run: Value = resp.json().await.unwrap();
    assert_eq!(run["status"], "failed");
    assert_eq!(run["error"]["code"], "server_error");
    assert!(
        run["error"]["message"]
            .as_str()
            .unwrap()
            .contains("injected error 500")
    );
    assert!(run["finished_at"].is_string());

    let frames = sse::read_all(create(&server, "assistant", "/fail boom", "stream").await).await;
    assert_eq!(
        sse::names(&frames, "type"),
        ["run.created", "run.in-progress", "run.failed"]
    );
    assert_eq!(frames[2].data["run"]["error"]["code"], "server_error");
}

fn resume_body(text: &str, mode: &str) -> Value {
    json!({
        "await_resume": {"type": "message", "message": {"role": "user", "parts": [{"content": text}]}},
        "mode": mode,
    })
}

#[tokio::test]
async fn awaiting_run_resumes_in_every_mode() {
    let server = start().await;
    let ask = r#"/tool ask_user {"question": "Which city?"}"#;

    // stream: ends at run.awaiting; the resume stream carries only new events.
    let resp = create(&server, "asker", ask, "stream").await;
    let run_id = resp.headers()["run-id"].to_str().unwrap().to_string();
    let frames = sse::read_all(resp).await;
    assert_eq!(
        sse::names(&frames, "type"),
        ["run.created", "run.in-progress", "run.awaiting"]
    );
    let awaiting = &frames[2].data["run"];
    assert_eq!(awaiting["status"], "awaiting");
    assert_eq!(awaiting["await_request"]["type"], "message");
    assert_eq!(
        awaiting["await_request"]["message"]["parts"][0]["content"],
        "Which city?"
    );
    let polled: Value = get(&server, &format!("/acp/runs/{run_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(polled["status"], "awaiting");

    let resp = post(
        &server,
        &format!("/acp/runs/{run_id}"),
        &resume_body("Paris", "stream"),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert!(!resp.headers().contains_key("run-id"));
    let frames = sse::read_all(resp).await;
    assert_eq!(
        sse::names(&frames, "type"),
        [
            "run.in-progress",
            "message.created",
            "message.part",
            "message.part",
            "message.part",
            "message.part",
            "message.part",
            "message.completed",
            "run.completed"
        ]
    );
    let done = &frames.last().unwrap().data["run"];
    assert_eq!(output_text(done), "The ask_user tool returned: Paris.");
    assert!(done["await_request"].is_null());

    // A finished run has nothing to resume.
    let msg = acp_error(
        post(
            &server,
            &format!("/acp/runs/{run_id}"),
            &resume_body("again", "sync"),
        )
        .await,
        403,
        "server_error",
    )
    .await;
    assert_eq!(msg, format!("Run {run_id} has no await request"));

    // sync: the create answers with the paused run, the resume with the final one.
    let run: Value = create(&server, "asker", ask, "sync")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(run["status"], "awaiting");
    let id = run["run_id"].as_str().unwrap();
    let resp = post(
        &server,
        &format!("/runs/{id}"),
        &resume_body("Rome", "sync"),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let run: Value = resp.json().await.unwrap();
    assert_eq!(run["status"], "completed");
    assert_eq!(output_text(&run), "The ask_user tool returned: Rome.");
    // The answer is the run folded as it went: polling reads the same.
    let polled: Value = get_json(&server.client, server.url(&format!("/runs/{id}"))).await;
    assert_eq!(polled, run);

    // async: 202 at once, then polling.
    let run: Value = create(&server, "asker", ask, "sync")
        .await
        .json()
        .await
        .unwrap();
    let id = run["run_id"].as_str().unwrap();
    let bad = json!({"await_resume": {"type": "other", "message": {"parts": []}}, "mode": "sync"});
    acp_error(
        post(&server, &format!("/acp/runs/{id}"), &bad).await,
        403,
        "server_error",
    )
    .await;
    let resp = post(
        &server,
        &format!("/acp/runs/{id}"),
        &resume_body("Oslo", "async"),
    )
    .await;
    assert_eq!(resp.status(), 202);
    let done = poll_until(&server, id, "resumed run to complete", |r| {
        is_status(r, "completed")
    })
    .await;
    assert_eq!(output_text(&done), "The ask_user tool returned: Oslo.");

    let unknown = uuid::Uuid::new_v4();
    acp_error(
        post(
            &server,
            &format!("/acp/runs/{unknown}"),
            &resume_body("x", "sync"),
        )
        .await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn cancel_stops_a_run_and_refuses_finished_ones() {
    let server = start().await;
    let words: Vec<String> = (0..200).map(|i| i.to_string()).collect();
    let run: Value = create(&server, "slow", &words.join(" "), "async")
        .await
        .json()
        .await
        .unwrap();
    let id = run["run_id"].as_str().unwrap().to_string();
    poll_until(&server, &id, "output to start", |r| {
        !r["output"].as_array().unwrap().is_empty()
    })
    .await;

    let resp = server
        .client
        .post(server.url(&format!("/acp/runs/{id}/cancel")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let run: Value = resp.json().await.unwrap();
    assert_eq!(run["status"], "cancelling");
    let done = poll_until(&server, &id, "cancelled", |r| is_status(r, "cancelled")).await;
    assert!(done["finished_at"].is_string());
    let partial = output_text(&done);
    let full = format!("You said: {}", words.join(" "));
    assert!(
        !partial.is_empty() && partial.len() < full.len() && full.starts_with(&partial),
        "{partial}"
    );
    assert!(
        done["output"][0]["completed_at"].is_null(),
        "interrupted message"
    );

    let log: Value = get(&server, &format!("/acp/runs/{id}/events"))
        .await
        .json()
        .await
        .unwrap();
    let types: Vec<&str> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types.last(), Some(&"run.cancelled"));
    assert!(!types.contains(&"message.completed"));

    let msg = acp_error(
        server
            .client
            .post(server.url(&format!("/runs/{id}/cancel")))
            .send()
            .await
            .unwrap(),
        403,
        "server_error",
    )
    .await;
    assert!(msg.contains("cancelled"), "{msg}");

    // A paused run is cancelled at once.
    let run: Value = create(
        &server,
        "asker",
        r#"/tool ask_user {"question": "?"}"#,
        "sync",
    )
    .await
    .json()
    .await
    .unwrap();
    let id = run["run_id"].as_str().unwrap();
    let resp = server
        .client
        .post(server.url(&format!("/acp/runs/{id}/cancel")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let run: Value = get(&server, &format!("/acp/runs/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(run["status"], "cancelled");

    let unknown = uuid::Uuid::new_v4();
    acp_error(
        server
            .client
            .post(server.url(&format!("/acp/runs/{unknown}/cancel")))
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn cancel_ends_a_live_stream_with_run_cancelled() {
    let server = start().await;
    let words: Vec<String> = (0..200).map(|i| i.to_string()).collect();
    let resp = create(&server, "slow", &words.join(" "), "stream").await;
    let id = resp.headers()["run-id"].to_str().unwrap().to_string();
    let cancel_url = server.url(&format!("/acp/runs/{id}/cancel"));
    let client = server.client.clone();
    let mut cancelled = false;
    let frames = sse::read_until(resp, |f| {
        if f.data["type"] == "message.part" && !cancelled {
            cancelled = true;
            let (client, url) = (client.clone(), cancel_url.clone());
            tokio::spawn(async move { client.post(url).send().await });
        }
        f.data["type"] == "run.cancelled"
    })
    .await;
    let last = frames.last().unwrap();
    assert_eq!(last.data["type"], "run.cancelled");
    assert_eq!(last.data["run"]["status"], "cancelled");
    assert!(!sse::names(&frames, "type").contains(&"message.completed".to_string()));
}

#[tokio::test]
async fn sessions_continue_across_runs_with_history_resources() {
    let server = start().await;
    let sid = uuid::Uuid::new_v4().to_string();

    // The client asks first; an unknown session is an ACP 404.
    let msg = acp_error(
        get(&server, &format!("/acp/sessions/{sid}")).await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(msg, format!("Session {sid} not found"));

    let session = json!({"id": sid, "history": [], "state": null});
    let run: Value = post(
        &server,
        "/acp/runs",
        &json!({"agent_name": "assistant", "session": session, "input": text_input("my name is Ada")}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(run["session_id"], sid.as_str());

    let got: Value = get(&server, &format!("/acp/sessions/{sid}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["id"], sid.as_str());
    assert!(got["state"].is_null());
    let history = got["history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    let prefix = format!("{}/acp/resources/", server.base);
    for url in history {
        assert!(url.as_str().unwrap().starts_with(&prefix), "{url}");
    }

    let run: Value = post(
        &server,
        "/acp/runs",
        &json!({"agent_name": "assistant", "session_id": sid, "input": text_input("who am I?")}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(
        output_text(&run).contains("before that you said: \"my name is Ada\""),
        "{}",
        output_text(&run)
    );

    let got: Value = get(&server, &format!("/acp/sessions/{sid}"))
        .await
        .json()
        .await
        .unwrap();
    let history: Vec<String> = got["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap().to_string())
        .collect();
    assert_eq!(history.len(), 4);
    let mut messages = Vec::new();
    for url in &history {
        let resp = server.client.get(url).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        messages.push(resp.json::<Value>().await.unwrap());
    }
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["user", "agent/assistant", "user", "agent/assistant"]
    );
    assert_eq!(messages[0]["parts"][0]["content"], "my name is Ada");
    assert_eq!(messages[2]["parts"][0]["content"], "who am I?");
    assert_eq!(messages[3]["parts"][0]["content"], output_text(&run));

    // Session errors.
    let other = uuid::Uuid::new_v4();
    let msg = acp_error(
        post(
            &server,
            "/acp/runs",
            &json!({"agent_name": "assistant", "session_id": sid,
                "session": {"id": other, "history": []}, "input": text_input("x")}),
        )
        .await,
        400,
        "invalid_input",
    )
    .await;
    assert_eq!(msg, "Session ID mismatch");
    acp_error(
        get(&server, "/acp/sessions/not-a-uuid").await,
        422,
        "invalid_input",
    )
    .await;
    acp_error(
        post(
            &server,
            "/acp/runs",
            &json!({"agent_name": "assistant", "session_id": "s1", "input": text_input("x")}),
        )
        .await,
        422,
        "invalid_input",
    )
    .await;
    let unknown = uuid::Uuid::new_v4();
    acp_error(
        get(
            &server,
            &format!("/acp/resources/{unknown}?session_id={sid}"),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    acp_error(
        get(&server, &format!("/resources/{unknown}")).await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn binary_parts_reach_the_agent_as_attachments() {
    let server = start().await;
    let input = json!([{"role": "user", "parts": [
        {"content_type": "text/plain", "content": "look"},
        {"name": "pic.png", "content_type": "image/png", "content": "iVBORw0KGgo=", "content_encoding": "base64"},
    ]}]);
    let run: Value = post(
        &server,
        "/acp/runs",
        &json!({"agent_name": "assistant", "input": input}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        output_text(&run),
        "You said: look I received: pic.png (image/png)."
    );
    // URL inputs are off by default: refused with an ACP error naming the file.
    let input = json!([{"role": "user", "parts": [
        {"content_type": "text/plain", "content": "read"},
        {"name": "doc.pdf", "content_type": "application/pdf", "content_url": "https://example.com/doc.pdf"},
    ]}]);
    let resp = post(
        &server,
        "/acp/runs",
        &json!({"agent_name": "assistant", "input": input}),
    )
    .await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "invalid_input");
    assert!(
        body["message"].as_str().unwrap().contains("doc.pdf"),
        "{body}"
    );
}

#[tokio::test]
async fn every_error_is_an_acp_error() {
    let server = start().await;
    let run = |input: Value| json!({"agent_name": "assistant", "input": input});

    for path in ["/acp/nope", "/acp", "/acp/", "/acp/ping/"] {
        acp_error(get(&server, path).await, 404, "not_found").await;
    }
    acp_error(get(&server, "/acp/runs/x/y/z").await, 404, "not_found").await;
    acp_error(get(&server, "/acp/runs").await, 405, "server_error").await;
    acp_error(get(&server, "/runs").await, 405, "server_error").await;
    acp_error(
        get(&server, "/acp/runs/not-a-uuid").await,
        422,
        "invalid_input",
    )
    .await;
    acp_error(
        get(&server, "/runs/not-a-uuid/events").await,
        422,
        "invalid_input",
    )
    .await;
    let unknown = uuid::Uuid::new_v4();
    let msg = acp_error(
        get(&server, &format!("/acp/runs/{unknown}")).await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(msg, format!("Run {unknown} not found"));
    acp_error(
        get(&server, &format!("/acp/runs/{unknown}/events")).await,
        404,
        "not_found",
    )
    .await;

    let bad_bodies = [
        json!({"bogus": 1}),
        json!({"agent_name": "assistant", "input": text_input("x"), "mode": "later"}),
        run(json!([])),
        run(json!([{"role": "system", "parts": [{"content": "x"}]}])),
        run(json!([{"parts": [{"content": "x", "content_url": "https://example.com/x"}]}])),
        run(
            json!([{"parts": [{"content": "***", "content_type": "image/png", "content_encoding": "base64"}]}]),
        ),
        run(
            json!([{"parts": [{"content_url": "file:///etc/passwd", "content_type": "text/plain"}]}]),
        ),
    ];
    for body in &bad_bodies {
        acp_error(post(&server, "/acp/runs", body).await, 422, "invalid_input").await;
    }
    let not_json = server
        .client
        .post(server.url("/runs"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    acp_error(not_json, 422, "invalid_input").await;
    let empty = server
        .client
        .post(server.url("/acp/runs"))
        .send()
        .await
        .unwrap();
    acp_error(empty, 422, "invalid_input").await;

    let msg = acp_error(
        post(
            &server,
            "/acp/runs",
            &json!({"agent_name": "nope", "input": text_input("x")}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(msg, "Agent nope not found");

    // An explicit JSON content type works as well as none.
    let resp = server
        .client
        .post(server.url("/acp/runs"))
        .json(&run(text_input("typed")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn an_oversized_body_is_an_acp_413() {
    let server = TestServer::start(&config_with("[server]\nmax_body_bytes = 1024\n")).await;
    let body = json!({"agent_name": "assistant", "input": text_input(&"x".repeat(4096))});
    acp_error(post(&server, "/acp/runs", &body).await, 413, "server_error").await;
}

/// The unmodified acp-sdk Client against agentd at `.../acp`: ping, agents,
/// run_sync, run_async + run_status + run_events, run_stream, a session of
/// two runs, run_cancel, and await + run_resume_sync.
#[tokio::test]
async fn python_acp_sdk_client_works_unmodified() {
    let Some(python) = crate::common::clients::python_with("acp_sdk") else {
        return;
    };
    let server = start().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/acp_client.py");
    let mut client = tokio::process::Command::new(&python);
    client
        .arg(script)
        .arg(format!("{}/acp", server.base))
        .args(["assistant", "slow", "asker"]);
    crate::common::clients::expect_steps(
        client,
        &[
            "ok ping",
            "ok agents",
            "ok run_sync",
            "ok run_async",
            "ok run_stream",
            "ok session with two runs",
            "ok run_cancel",
            "ok await + run_resume_sync",
        ],
    )
    .await;
}
