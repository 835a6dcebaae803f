//! AgentOS agent runs over real HTTP: the stories of curl users and of Agno's
//! AgentOSClient (urlencoded posts, `data: ` lines, event names from JSON).

use crate::common::{
    MockLlm, Reply, TestServer, agentos_run_json, config_with, form, get_json, sse, upstream_config,
};
use serde_json::Value;

/// A JSON (non-streaming) run of `agent`, answered as the run's output.
async fn run_json(server: &TestServer, agent: &str, pairs: &[(&str, &str)]) -> Value {
    agentos_run_json(server, agent, form(pairs)).await
}

#[tokio::test]
async fn json_run_returns_the_run_output() {
    let server = TestServer::start(&config_with("")).await;
    let resp = server
        .client
        .post(server.url("/agents/assistant/runs"))
        .multipart(form(&[("message", "hello")]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let out: Value = resp.json().await.unwrap();
    assert_eq!(out["content"], "You said: hello");
    assert_eq!(out["status"], "COMPLETED");
    assert_eq!(out["agent_id"], "assistant");
    assert_eq!(out["agent_name"], "Assistant");
    assert_eq!(out["content_type"], "str");
    assert_eq!(out["input"]["input_content"], "hello");
    assert!(out["run_id"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(out["session_id"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(out["messages"].as_array().unwrap().len(), 2);
    assert!(
        out.get("reasoning_content").is_none(),
        "null keys are omitted"
    );
}

/// Ids are time-ordered UUIDs (version 7): a client can sort runs and
/// sessions by id, and the store's indexes take new rows at their ends.
#[tokio::test]
async fn ids_are_uuids_that_sort_in_the_order_runs_were_made() {
    let server = TestServer::start(&config_with("")).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let out: Value = run_json(&server, "assistant", &[("message", "hello")]).await;
        for key in ["run_id", "session_id"] {
            let id = uuid::Uuid::parse_str(out[key].as_str().unwrap()).unwrap();
            assert_eq!(id.get_version_num(), 7, "{key} {id}");
        }
        // Ordered even within one millisecond: `Uuid::now_v7` counts
        // inside it for a process's ids.
        ids.push(out["run_id"].as_str().unwrap().to_string());
    }
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
}

#[tokio::test]
async fn sse_run_streams_agentos_events() {
    let server = TestServer::start(&config_with("")).await;
    let resp = server
        .client
        .post(server.url("/agents/assistant/runs"))
        .multipart(form(&[("message", "hello there"), ("stream", "true")]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let frames = sse::read_all(resp).await;
    let names = sse::names(&frames, "event");
    assert_eq!(names.first().unwrap(), "RunStarted");
    assert_eq!(names[1], "ModelRequestStarted");
    assert_eq!(
        &names[names.len() - 3..],
        [
            "ModelRequestCompleted",
            "RunContentCompleted",
            "RunCompleted"
        ]
    );
    let run_id = frames[0].data["run_id"].as_str().unwrap().to_string();
    let mut content = String::new();
    for f in &frames {
        // The `event:` line names the same event as the JSON, and every frame
        // carries the run's identity.
        assert_eq!(f.event.as_deref(), f.data["event"].as_str());
        assert_eq!(f.data["run_id"], run_id.as_str());
        assert_eq!(f.data["agent_id"], "assistant");
        assert_eq!(f.data["nested_depth"], 0);
        assert!(f.data["session_id"].is_string());
        assert!(f.data["created_at"].is_i64());
        assert!(f.raw.contains("\ndata: {"), "exactly one space after data:");
        if f.data["event"] == "RunContent" {
            content.push_str(f.data["content"].as_str().unwrap());
            assert_eq!(f.data["content_type"], "str");
        }
    }
    assert_eq!(content, "You said: hello there");
    let done = frames.last().unwrap();
    assert_eq!(done.data["content"], "You said: hello there");
    assert!(done.data["metrics"]["total_tokens"].as_u64().unwrap() > 0);
    assert_eq!(frames[0].data["model_provider"], "builtin");
}

#[tokio::test]
async fn urlencoded_posts_like_agentos_client() {
    let server = TestServer::start(&config_with("")).await;
    let resp = server
        .client
        .post(server.url("/agents/assistant/runs"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "*/*")
        .body("message=Hello+json&stream=false&session_id=s1&user_id=u1&metadata=%7B%22a%22%3A+1%7D&stream_events=true")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let out: Value = resp.json().await.unwrap();
    assert_eq!(out["session_id"], "s1");
    assert_eq!(out["user_id"], "u1");
    assert_eq!(out["metadata"]["a"], 1);
    assert_eq!(out["content"], "You said: Hello json");
}

#[tokio::test]
async fn session_history_reaches_the_model() {
    let server = TestServer::start(&config_with("")).await;
    let run = |msg: &'static str, session: Option<String>| {
        let mut f = form(&[("message", msg)]);
        if let Some(s) = session {
            f = f.text("session_id", s);
        }
        server
            .client
            .post(server.url("/agents/assistant/runs"))
            .multipart(f)
            .send()
    };
    let first: Value = run("my name is Ada", None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let session = first["session_id"].as_str().unwrap().to_string();
    let second: Value = run("what is my name?", Some(session.clone()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(second["session_id"], session.as_str());
    assert_eq!(
        second["content"],
        "You said: what is my name? (message 2 of this conversation; before that you said: \"my name is Ada\")"
    );
    let runs: Value = get_json(
        &server.client,
        server.url(&format!("/agents/assistant/runs?session_id={session}")),
    )
    .await;
    assert_eq!(runs.as_array().unwrap().len(), 2);
    assert_eq!(runs[0]["run_input"], "my name is Ada");
}

#[tokio::test]
async fn builtin_tool_loop_runs_the_tool() {
    let server = TestServer::start(&config_with("")).await;
    let resp = server
        .client
        .post(server.url("/agents/assistant/runs"))
        .multipart(form(&[
            ("message", r#"/tool calculator {"expression": "6*7"}"#),
            ("stream", "true"),
        ]))
        .send()
        .await
        .unwrap();
    let frames = sse::read_all(resp).await;
    let names = sse::names(&frames, "event");
    let started = names
        .iter()
        .position(|n| n == "ToolCallStarted")
        .expect("tool started");
    let completed = names
        .iter()
        .position(|n| n == "ToolCallCompleted")
        .expect("tool completed");
    assert!(started < completed);
    assert_eq!(names[started - 1], "ModelRequestCompleted");
    let tool = &frames[completed].data["tool"];
    assert_eq!(tool["tool_name"], "calculator");
    assert_eq!(tool["tool_args"]["expression"], "6*7");
    assert_eq!(tool["result"], "42");
    assert_eq!(tool["tool_call_error"], false);
    assert_eq!(
        frames.last().unwrap().data["content"],
        "The calculator tool returned: 42."
    );
}

#[tokio::test]
async fn upstream_model_streams_text_and_tool_calls() {
    let mock = MockLlm::start().await;
    let server = TestServer::start(&upstream_config(&mock.base_url, "")).await;
    mock.push(Reply::ToolCall {
        name: "calculator".into(),
        arguments: r#"{"expression":"1+2"}"#.into(),
    });
    mock.push(Reply::Text("The answer is 3".into()));
    let out: Value = run_json(&server, "upstream", &[("message", "add 1 and 2")]).await;
    assert_eq!(out["status"], "COMPLETED");
    assert_eq!(out["content"], "The answer is 3");
    assert_eq!(out["model"], "mock-model");
    assert_eq!(out["model_provider"], "OpenAI");
    assert_eq!(out["tools"][0]["result"], "3");
    assert_eq!(out["metrics"]["total_tokens"], 38);
    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0]["tools"][0]["function"]["name"], "calculator");
    assert_eq!(requests[0]["stream"], true);
    // The second request carries the call and its result back to the model.
    let msgs = requests[1]["messages"].as_array().unwrap();
    let tool_msg = msgs
        .iter()
        .find(|m| m["role"] == "tool")
        .expect("tool result sent");
    assert_eq!(tool_msg["tool_call_id"], "call_mock_1");
    assert_eq!(tool_msg["content"], "3");
    assert!(
        msgs.iter()
            .any(|m| m["tool_calls"][0]["id"] == "call_mock_1")
    );
}

#[tokio::test]
async fn step_limit_ends_the_run_with_an_error() {
    let mock = MockLlm::start().await;
    let server = TestServer::start(&upstream_config(&mock.base_url, "max_steps = 2")).await;
    for _ in 0..3 {
        mock.push(Reply::ToolCall {
            name: "calculator".into(),
            arguments: r#"{"expression":"1"}"#.into(),
        });
    }
    let frames = sse::read_all(
        server
            .client
            .post(server.url("/agents/upstream/runs"))
            .multipart(form(&[("message", "loop"), ("stream", "true")]))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let last = frames.last().unwrap();
    assert_eq!(last.data["event"], "RunError");
    assert_eq!(last.data["error_type"], "step_limit");
    assert!(
        last.data["content"]
            .as_str()
            .unwrap()
            .contains("step limit of 2")
    );
    assert_eq!(mock.requests().len(), 2);
}

#[tokio::test]
async fn upstream_500_ends_with_run_error() {
    let mock = MockLlm::start().await;
    let server = TestServer::start(&upstream_config(&mock.base_url, "")).await;
    // Three 500s: the first attempt and both retries fail.
    for _ in 0..3 {
        mock.push(Reply::Status(500, "mockllm injected error 500".into()));
    }
    let frames = sse::read_all(
        server
            .client
            .post(server.url("/agents/upstream/runs"))
            .multipart(form(&[("message", "hi"), ("stream", "true")]))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        sse::names(&frames, "event"),
        ["RunStarted", "ModelRequestStarted", "RunError"]
    );
    let err = &frames[2].data;
    assert_eq!(err["error_type"], "model_provider_error");
    assert!(
        err["content"]
            .as_str()
            .unwrap()
            .contains("mockllm injected error 500")
    );

    // JSON mode: still 200, status ERROR and the error text as content.
    for _ in 0..3 {
        mock.push(Reply::Status(500, "boom".into()));
    }
    let out: Value = run_json(&server, "upstream", &[("message", "hi")]).await;
    assert_eq!(out["status"], "ERROR");
    assert!(out["content"].as_str().unwrap().contains("boom"));
}

#[tokio::test]
async fn a_transient_upstream_failure_is_retried() {
    let mock = MockLlm::start().await;
    let server = TestServer::start(&upstream_config(&mock.base_url, "")).await;
    mock.push(Reply::Status(503, "busy".into()));
    let out: Value = run_json(&server, "upstream", &[("message", "again")]).await;
    assert_eq!(out["status"], "COMPLETED");
    assert_eq!(out["content"], "Mock reply to: again");
    assert_eq!(mock.requests().len(), 2);
}

#[tokio::test]
async fn cut_and_malformed_streams_fail_the_run() {
    let mock = MockLlm::start().await;
    let server = TestServer::start(&upstream_config(&mock.base_url, "")).await;
    mock.push(Reply::Cut("partial answer".into()));
    mock.push(Reply::Malformed);
    mock.push(Reply::Bytes(b"data: {\"choices\": \xff}\n\n".to_vec()));
    for expected in [
        "ended before it was complete",
        "malformed chunk",
        "the event stream is not UTF-8",
    ] {
        let frames = sse::read_all(
            server
                .client
                .post(server.url("/agents/upstream/runs"))
                .multipart(form(&[("message", "hi"), ("stream", "true")]))
                .send()
                .await
                .unwrap(),
        )
        .await;
        let last = frames.last().unwrap();
        assert_eq!(last.data["event"], "RunError", "{expected}");
        assert!(
            last.data["content"].as_str().unwrap().contains(expected),
            "{}",
            last.data
        );
    }
}

#[tokio::test]
async fn client_disconnect_cancels_the_run_and_upstream() {
    let mock = MockLlm::start().await;
    let server = TestServer::start(&upstream_config(&mock.base_url, "")).await;
    mock.push(Reply::Slow {
        text: "one two three four five six seven eight nine ten".into(),
        delay_ms: 200,
    });
    let resp = server
        .client
        .post(server.url("/agents/upstream/runs"))
        .multipart(form(&[("message", "long"), ("stream", "true")]))
        .send()
        .await
        .unwrap();
    let frames = sse::read_until(resp, |f| f.data["event"] == "RunContent").await;
    let run_id = frames[0].data["run_id"].as_str().unwrap().to_string();
    let session_id = frames[0].data["session_id"].as_str().unwrap().to_string();
    // The response was dropped: the run must end as cancelled.
    let out: Value = crate::common::eventually("the run to be cancelled", || async {
        let out: Value = server
            .client
            .get(server.url(&format!(
                "/agents/upstream/runs/{run_id}?session_id={session_id}"
            )))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (out["status"] == "CANCELLED").then_some(out)
    })
    .await;
    assert!(!out["content"].as_str().unwrap().contains("ten"));
}

#[tokio::test]
async fn cancel_route_stops_a_streaming_run() {
    let server = TestServer::start(&config_with(
        "[models.slow]\nprovider = \"builtin\"\ntoken_delay_ms = 100\n[[agents]]\nid = \"slow\"\nmodel = \"slow\"",
    ))
    .await;
    let resp = server
        .client
        .post(server.url("/agents/slow/runs"))
        .multipart(form(&[
            ("message", "a b c d e f g h i j k l m n o p"),
            ("stream", "true"),
        ]))
        .send()
        .await
        .unwrap();
    let client = server.client.clone();
    let base = server.base.clone();
    let frames = sse::read_until(resp, move |f| {
        if f.data["event"] == "RunContent" && f.data["content"] == "You " {
            let url = format!(
                "{base}/agents/slow/runs/{}/cancel",
                f.data["run_id"].as_str().unwrap()
            );
            let client = client.clone();
            tokio::spawn(async move { client.post(url).send().await });
        }
        f.data["event"] == "RunCancelled" || f.data["event"] == "RunCompleted"
    })
    .await;
    let last = frames.last().unwrap();
    assert_eq!(last.data["event"], "RunCancelled");
    assert!(
        last.data["reason"]
            .as_str()
            .unwrap()
            .contains("was cancelled")
    );

    // Cancel of an unknown run id is still {} for a known agent; unknown agent 404.
    let r = server
        .client
        .post(server.url("/agents/slow/runs/nope/cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), serde_json::json!({}));
    let r = server
        .client
        .post(server.url("/agents/ghost/runs/nope/cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn bad_requests_get_agentos_errors() {
    let server = TestServer::start(&config_with("")).await;
    let post = |path: &str| server.client.post(server.url(path));

    // Unknown agent: 404 {"detail":"Agent not found"}.
    let r = post("/agents/ghost/runs")
        .multipart(form(&[("message", "hi")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["detail"], "Agent not found");
    assert_eq!(body["error_code"], "NOT_FOUND");

    // Missing message: 422 with FastAPI's list.
    let r = post("/agents/assistant/runs")
        .multipart(form(&[("stream", "false")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["detail"][0]["type"], "missing");
    assert_eq!(
        body["detail"][0]["loc"],
        serde_json::json!(["body", "message"])
    );

    // A JSON body is not a form: 422 too.
    let r = post("/agents/assistant/runs")
        .json(&serde_json::json!({"message": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);

    // stream=abc: 422 bool_parsing.
    let r = post("/agents/assistant/runs")
        .multipart(form(&[("message", "hi"), ("stream", "abc")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(
        r.json::<Value>().await.unwrap()["detail"][0]["type"],
        "bool_parsing"
    );

    // metadata that is not an object: 400.
    let r = post("/agents/assistant/runs")
        .multipart(form(&[("message", "hi"), ("metadata", "[1]")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["detail"],
        "Invalid metadata parameter: expected a JSON object"
    );

    // A broken multipart body: 400.
    let r = post("/agents/assistant/runs")
        .header("content-type", "multipart/form-data; boundary=xyz")
        .body("--xyz\r\nnot a part")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // An unsupported upload: 400 Unsupported file type.
    let part = reqwest::multipart::Part::bytes(b"MZ\x90\x00".to_vec())
        .file_name("tool.exe")
        .mime_str("application/x-msdownload")
        .unwrap();
    let r = post("/agents/assistant/runs")
        .multipart(form(&[("message", "hi")]).part("files", part))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["detail"],
        "Unsupported file type"
    );

    // Polling needs session_id (422), and an unknown run is 404.
    let r = server
        .client
        .get(server.url("/agents/assistant/runs/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = server
        .client
        .get(server.url("/agents/assistant/runs/x?session_id=s"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn uploaded_files_reach_the_model() {
    let server = TestServer::start(&config_with("")).await;
    let png = reqwest::multipart::Part::bytes(vec![0x89, b'P', b'N', b'G'])
        .file_name("cat.png")
        .mime_str("image/png")
        .unwrap();
    let txt = reqwest::multipart::Part::bytes(b"notes".to_vec()).file_name("notes.txt");
    let out: Value = server
        .client
        .post(server.url("/agents/assistant/runs"))
        .multipart(
            form(&[("message", "look")])
                .part("files", png)
                .part("files", txt),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The text file's content reaches the model inside the message; both
    // files stay attached.
    let content = out["content"].as_str().unwrap();
    assert!(content.starts_with("You said: look"), "{content}");
    assert!(
        content.contains("<file name=\"notes.txt\" type=\"text/plain\">\nnotes\n</file>"),
        "{content}"
    );
    assert!(
        content.ends_with("I received: cat.png (image/png), notes.txt (text/plain)."),
        "{content}"
    );
}

#[tokio::test]
async fn discovery_and_health() {
    let server = TestServer::start(&config_with("")).await;
    let agents: Value = get_json(&server.client, server.url("/agents")).await;
    assert_eq!(agents[0]["id"], "assistant");
    assert_eq!(agents[0]["model"]["provider"], "builtin");
    let names: Vec<&str> = agents[0]["tools"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["current_time", "calculator"]);
    let one: Value = get_json(&server.client, server.url("/agents/assistant")).await;
    assert_eq!(one["name"], "Assistant");
    let r = server
        .client
        .get(server.url("/agents/ghost"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let health: Value = server
        .client
        .get(server.url("/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
}

#[tokio::test]
async fn background_run_is_polled_to_completion() {
    let server = TestServer::start(&config_with("")).await;
    let r = server
        .client
        .post(server.url("/agents/assistant/runs"))
        .multipart(form(&[("message", "later"), ("background", "true")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let receipt: Value = r.json().await.unwrap();
    assert_eq!(receipt["status"], "PENDING");
    let url = server.url(&format!(
        "/agents/assistant/runs/{}?session_id={}",
        receipt["run_id"].as_str().unwrap(),
        receipt["session_id"].as_str().unwrap()
    ));
    let out = crate::common::eventually("completion", || async {
        let out: Value = server
            .client
            .get(&url)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (out["status"] == "COMPLETED").then_some(out)
    })
    .await;
    assert_eq!(out["content"], "You said: later");
}

#[tokio::test]
async fn resume_route_replays_missed_events() {
    let server = TestServer::start(&config_with("")).await;
    let frames = sse::read_all(
        server
            .client
            .post(server.url("/agents/assistant/runs"))
            .multipart(form(&[("message", "replay me"), ("stream", "true")]))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let run_id = frames[0].data["run_id"].as_str().unwrap();
    let session_id = frames[0].data["session_id"].as_str().unwrap();
    let third = frames[2].id.clone().unwrap();
    let replay = sse::read_all(
        server
            .client
            .post(server.url(&format!("/agents/assistant/runs/{run_id}/resume")))
            .multipart(form(&[
                ("last_event_index", &third),
                ("session_id", session_id),
            ]))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let original: Vec<String> = frames[3..].iter().map(|f| f.raw.clone()).collect();
    let replayed: Vec<String> = replay.iter().map(|f| f.raw.clone()).collect();
    assert_eq!(original, replayed);
}

/// Agno's own AgentOSClient (agno 3.1), unmodified: the config document
/// it reads first, discovery, a run continued in its session, a stream.
#[tokio::test]
async fn agnos_agentos_client_works_unmodified() {
    let Some(python) = crate::common::clients::python_with("agno.client") else {
        return;
    };
    let server = crate::common::TestServer::start(&crate::common::config_with(&format!(
        "{}\n[auth]\napi_keys = [\"agno-key\"]\n",
        crate::common::PAUSING_AGENTS
    )))
    .await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/agno_client.py");
    let mut client = tokio::process::Command::new(&python);
    client
        .arg(script)
        .arg(&server.base)
        .args(["assistant", "crew", "agno-key"]);
    crate::common::clients::expect_steps(
        client,
        &[
            "ok config",
            "ok discovery",
            "ok run and session",
            "ok stream",
        ],
    )
    .await;
}

/// A stream that waits on a slow model still tells proxies it is alive: a
/// `:` comment once it has been idle for `sse_keep_alive_secs`, between
/// whole frames, and the run's frames arrive intact around it.
#[tokio::test]
async fn an_idle_stream_sends_keep_alive_comments_between_whole_frames() {
    let mock = MockLlm::start().await;
    let config = format!(
        "{}\n[server]\nsse_keep_alive_secs = 1\n",
        upstream_config(&mock.base_url, "")
    );
    let server = TestServer::start(&config).await;
    // Gaps of 1.5 s between words: longer than the keep-alive interval.
    mock.push(Reply::Slow {
        text: "one two".into(),
        delay_ms: 1500,
    });
    let resp = server
        .client
        .post(server.url("/agents/upstream/runs"))
        .multipart(form(&[("message", "slowly"), ("stream", "true")]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.text().await.unwrap();
    let blocks: Vec<&str> = body.split("\n\n").filter(|b| !b.is_empty()).collect();
    assert!(
        blocks.contains(&":"),
        "a keep-alive comment while the model was silent:\n{body}"
    );
    // Every other block is a whole frame, and the run completes.
    for block in blocks.iter().filter(|b| **b != ":") {
        let data = block
            .lines()
            .find_map(|l| l.strip_prefix("data: "))
            .unwrap_or_else(|| panic!("a frame with data: {block:?}"));
        serde_json::from_str::<Value>(data).unwrap_or_else(|e| panic!("{e}: {data}"));
    }
    assert!(body.contains("\"event\":\"RunCompleted\""), "{body}");
}
