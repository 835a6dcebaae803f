//! Tools over real HTTP: the built-in tools, MCP servers over stdio and
//! streamable HTTP (real rmcp servers from the test support), a crashing and
//! a missing server, bad arguments, parallel calls, truncated results, and
//! calls that wait for a person's approval, through AgentOS, ACP and AG-UI.
//! The mock upstream model is scripted to call the tools.

use serde_json::{Value, json};

use crate::common::mcp_server::{HttpMcp, stdio_server_toml, stdio_server_toml_marked};
use crate::common::mock_llm::{call, calls};
use crate::common::{MockLlm, Reply, TestServer, config_with, eventually, get_json, sse, web};

/// A config with an agent `worker` on the mock upstream, its `tools` TOML
/// array, and `extra` TOML (MCP servers, tool settings) at the top level.
fn worker_config(llm: &MockLlm, tools: &str, extra: &str) -> String {
    // Top-level tables must come before the [[agents]] array's entries.
    format!(
        "{extra}\n{}",
        config_with(&format!(
            r#"
[models.mock]
provider = "openai"
model = "mock-model"
base_url = "{}"
api_key = "k"
read_timeout_secs = 30

[[agents]]
id = "worker"
name = "Worker"
model = "mock"
tools = {tools}
"#,
            llm.base_url
        ))
    )
}

async fn agentos_run(server: &TestServer, agent: &str, message: &str) -> Value {
    let resp = server
        .client
        .post(server.url(&format!("/agents/{agent}/runs")))
        .form(&[("message", message), ("stream", "false")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// The result the run recorded for the tool call `call_id`.
fn tool<'a>(run: &'a Value, call_id: &str) -> &'a Value {
    run["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tool_call_id"] == call_id)
        .unwrap_or_else(|| panic!("no tool call {call_id} in {run}"))
}

fn result_of(llm: &MockLlm, call_id: &str) -> String {
    llm.last_tool_results()
        .into_iter()
        .find(|(id, _)| id == call_id)
        .map(|(_, c)| c)
        .unwrap_or_else(|| {
            panic!(
                "the model got no result for {call_id}: {:?}",
                llm.requests().last()
            )
        })
}

#[tokio::test]
async fn builtin_tools_answer_the_model() {
    let llm = MockLlm::start().await;
    let server = TestServer::start(&worker_config(
        &llm,
        r#"["current_time", "calculator"]"#,
        "",
    ))
    .await;
    llm.push(calls(&[
        ("calculator", json!({"expression": "(2 + 4) * 7"})),
        ("current_time", json!({"utc_offset_hours": 2})),
    ]));
    llm.push(Reply::Text("Done.".into()));
    let run = agentos_run(&server, "worker", "what time, and 6*7?").await;
    assert_eq!(run["status"], "COMPLETED");
    assert_eq!(run["content"], "Done.");
    assert_eq!(tool(&run, "call_0_calculator")["result"], "42");
    assert_eq!(result_of(&llm, "call_0_calculator"), "42");
    let time = result_of(&llm, "call_1_current_time");
    let parsed = chrono::DateTime::parse_from_rfc3339(&time).expect(&time);
    assert_eq!(parsed.offset().local_minus_utc(), 7200);
    assert_eq!(
        llm.last_offered_tools(),
        ["current_time", "calculator"],
        "the agent offers exactly its tools"
    );
}

#[tokio::test]
async fn http_fetch_reads_only_allowed_hosts_within_limits() {
    let site = web::start().await;
    let llm = MockLlm::start().await;
    let settings = r#"
[tools.http_fetch]
allowed_hosts = ["127.0.0.1"]
max_response_bytes = 1000
timeout_secs = 1
"#;
    let server = TestServer::start(&worker_config(&llm, r#"["http_fetch"]"#, settings)).await;
    let url = |path: &str| json!({"url": format!("{}{path}", site.base)});
    llm.push(calls(&[
        ("http_fetch", url("/page")),
        ("http_fetch", url("/big")),
        ("http_fetch", url("/away")),
        (
            "http_fetch",
            json!({"url": format!("http://localhost:{}/page", site.port)}),
        ),
        ("http_fetch", url("/hang")),
        ("http_fetch", url("/png")),
        ("http_fetch", url("/missing")),
        ("http_fetch", json!({"url": "file:///etc/passwd"})),
    ]));
    llm.push(Reply::Text("Fetched.".into()));
    let run = agentos_run(&server, "worker", "fetch them").await;
    assert_eq!(run["status"], "COMPLETED", "{run}");
    let results: Vec<String> = (0..8)
        .map(|i| result_of(&llm, &format!("call_{i}_http_fetch")))
        .collect();
    assert!(
        results[0].starts_with("HTTP 200 OK (text/plain)"),
        "{}",
        results[0]
    );
    assert!(
        results[0].ends_with("Hello from the test site."),
        "{}",
        results[0]
    );
    assert!(
        results[1].contains(&"y".repeat(1000))
            && !results[1].contains(&"y".repeat(1001))
            && results[1].ends_with("[cut: only the first 1000 bytes of the body are shown]"),
        "{}",
        &results[1][..200]
    );
    assert!(
        results[2].contains("redirected to localhost, which is not an allowed host"),
        "{}",
        results[2]
    );
    assert!(
        results[3].contains("localhost is not an allowed host (allowed: 127.0.0.1)"),
        "{}",
        results[3]
    );
    assert!(
        results[4].contains("did not finish within 1s"),
        "{}",
        results[4]
    );
    assert!(
        results[5].contains("binary content (4 bytes) is not shown"),
        "{}",
        results[5]
    );
    assert!(
        results[6].starts_with("Error: HTTP 404 Not Found"),
        "{}",
        results[6]
    );
    assert!(results[7].contains("only http and https"), "{}", results[7]);
    for i in [2, 3, 4, 6, 7] {
        assert_eq!(
            tool(&run, &format!("call_{i}_http_fetch"))["tool_call_error"],
            true
        );
    }
}

#[tokio::test]
async fn http_fetch_is_off_until_hosts_are_configured() {
    let text = config_with(
        "[[agents]]\nid = \"fetcher\"\nmodel = \"builtin\"\ntools = [\"http_fetch\"]\n",
    );
    let err = agentd::config::Config::from_toml_str(&text, "x.toml".as_ref(), &|_| None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("agents[1].tools") && err.contains("allowed_hosts"),
        "{err}"
    );
}

/// An agent using every tool of a stdio MCP server, through AgentOS, AG-UI
/// and ACP; the server's tool list refreshes when it says it changed.
#[tokio::test]
async fn stdio_mcp_server_tools_work_through_every_protocol() {
    let llm = MockLlm::start().await;
    let server = TestServer::start(&worker_config(
        &llm,
        r#"[{ mcp = "local" }]"#,
        &stdio_server_toml("local"),
    ))
    .await;

    // AgentOS
    llm.push(call("echo", json!({"text": "over agentos"})));
    llm.push(Reply::Text("AgentOS done.".into()));
    let run = agentos_run(&server, "worker", "echo it").await;
    assert_eq!(run["status"], "COMPLETED", "{run}");
    assert_eq!(tool(&run, "call_mock_1")["result"], "echo: over agentos");
    let offered = llm.requests()[0]["tools"].as_array().unwrap().clone();
    let echo = offered
        .iter()
        .find(|t| t["function"]["name"] == "echo")
        .expect("echo is offered");
    assert_eq!(echo["function"]["parameters"]["required"], json!(["text"]));
    assert_eq!(echo["function"]["description"], "Echoes the text back");

    // AG-UI: the call and its result as TOOL_CALL_* events.
    llm.push(call("add", json!({"a": 2, "b": 40})));
    llm.push(Reply::Text("AG-UI done.".into()));
    let frames = sse::read_all(
        server
            .client
            .post(server.url("/agui/worker"))
            .json(&json!({"threadId": "t-mcp", "runId": "r-1", "messages": [
                {"id": "m1", "role": "user", "content": "add them"}]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let types = sse::names(&frames, "type");
    for t in [
        "TOOL_CALL_START",
        "TOOL_CALL_ARGS",
        "TOOL_CALL_END",
        "TOOL_CALL_RESULT",
    ] {
        assert!(types.contains(&t.to_string()), "{t} missing in {types:?}");
    }
    let result = frames
        .iter()
        .find(|f| f.data["type"] == "TOOL_CALL_RESULT")
        .unwrap();
    assert_eq!(result.data["content"], "42");
    assert_eq!(types.last().unwrap(), "RUN_FINISHED");

    // ACP: tool activity as generic events, then the answer.
    llm.push(call("echo", json!({"text": "over acp"})));
    llm.push(Reply::Text("ACP done.".into()));
    let frames = sse::read_all(
        server
            .client
            .post(server.url("/acp/runs"))
            .json(&json!({"agent_name": "worker", "mode": "stream", "input": [
                {"role": "user", "parts": [{"content": "echo it", "content_type": "text/plain"}]}]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let generic: Vec<&Value> = frames
        .iter()
        .filter(|f| f.data["type"] == "generic")
        .map(|f| &f.data["generic"])
        .collect();
    assert!(
        generic
            .iter()
            .any(|g| g["kind"] == "tool_call" && g["tool_name"] == "echo"),
        "{generic:?}"
    );
    assert!(
        generic
            .iter()
            .any(|g| g["kind"] == "tool_result" && g["tool_output"] == "echo: over acp"),
        "{generic:?}"
    );
    assert_eq!(frames.last().unwrap().data["type"], "run.completed");

    // tools/list_changed: the new tool is offered from then on.
    llm.push(call("add_tool", json!({})));
    llm.push(Reply::Text("added".into()));
    agentos_run(&server, "worker", "add a tool").await;
    eventually("the refreshed tool list", || async {
        let agent: Value = server
            .client
            .get(server.url("/agents/worker"))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        agent["tools"]["tools"]
            .as_array()?
            .iter()
            .any(|t| t["name"] == "late")
            .then_some(())
    })
    .await;
    llm.push(call("late", json!({})));
    llm.push(Reply::Text("late done".into()));
    let run = agentos_run(&server, "worker", "use the new tool").await;
    assert_eq!(tool(&run, "call_mock_1")["result"], "late tool ran");
}

#[tokio::test]
async fn http_mcp_server_gets_its_headers_and_offers_only_named_tools() {
    let mcp = HttpMcp::start("mcp-secret").await;
    let llm = MockLlm::start().await;
    let servers = format!(
        "[mcp_servers.remote]\nurl = \"{}\"\nheaders = {{ Authorization = \"Bearer mcp-secret\" }}\n",
        mcp.url
    );
    let server = TestServer::start(&worker_config(
        &llm,
        r#"["calculator", { mcp = "remote", tools = ["echo", "add"] }]"#,
        &servers,
    ))
    .await;
    llm.push(call("echo", json!({"text": "over http"})));
    llm.push(Reply::Text("done".into()));
    let run = agentos_run(&server, "worker", "echo").await;
    assert_eq!(run["status"], "COMPLETED", "{run}");
    assert_eq!(tool(&run, "call_mock_1")["result"], "echo: over http");
    assert_eq!(llm.last_offered_tools(), ["calculator", "echo", "add"]);
}

#[tokio::test]
async fn a_crashing_mcp_server_is_an_error_result_and_restarts() {
    let llm = MockLlm::start().await;
    let server = TestServer::start(&worker_config(
        &llm,
        r#"[{ mcp = "local" }]"#,
        &stdio_server_toml("local"),
    ))
    .await;
    llm.push(call("crash", json!({})));
    llm.push(Reply::Text("It crashed.".into()));
    let run = agentos_run(&server, "worker", "crash it").await;
    assert_eq!(run["status"], "COMPLETED", "the run goes on: {run}");
    let crashed = tool(&run, "call_mock_1");
    assert_eq!(crashed["tool_call_error"], true);
    let text = crashed["result"].as_str().unwrap();
    assert!(
        text.contains("MCP server 'local' failed during the call to 'crash'"),
        "{text}"
    );
    assert_eq!(result_of(&llm, "call_mock_1"), text);

    // The next call starts the server again.
    llm.push(call("echo", json!({"text": "back"})));
    llm.push(Reply::Text("ok".into()));
    let run = agentos_run(&server, "worker", "again").await;
    assert_eq!(tool(&run, "call_mock_1")["result"], "echo: back");
}

#[tokio::test]
async fn an_mcp_server_that_cannot_start_answers_with_errors() {
    let llm = MockLlm::start().await;
    let servers = "[mcp_servers.ghost]\ncommand = \"/nonexistent/agentd-test-mcp\"\n";
    let server = TestServer::start(&worker_config(
        &llm,
        r#"["calculator", { mcp = "ghost", tools = ["lookup"] }]"#,
        servers,
    ))
    .await;
    llm.push(call("lookup", json!({"q": "x"})));
    llm.push(Reply::Text("No luck.".into()));
    let run = agentos_run(&server, "worker", "look it up").await;
    assert_eq!(run["status"], "COMPLETED", "{run}");
    let text = tool(&run, "call_mock_1")["result"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        text.contains("MCP server 'ghost' is unavailable")
            && text.contains("/nonexistent/agentd-test-mcp"),
        "{text}"
    );
    assert_eq!(llm.last_offered_tools(), ["calculator", "lookup"]);
}

#[tokio::test]
async fn bad_arguments_go_back_to_the_model() {
    let llm = MockLlm::start().await;
    let server = TestServer::start(&worker_config(
        &llm,
        r#"["calculator", { mcp = "local" }]"#,
        &stdio_server_toml("local"),
    ))
    .await;
    llm.push(Reply::ToolCalls(vec![
        ("calculator".into(), r#"{"expression": 5}"#.into()),
        ("add".into(), r#"{"a": "two"}"#.into()),
        ("calculator".into(), "{not json".into()),
    ]));
    llm.push(call("calculator", json!({"expression": "1+1"})));
    llm.push(Reply::Text("Fixed it.".into()));
    let run = agentos_run(&server, "worker", "compute").await;
    assert_eq!(run["status"], "COMPLETED", "{run}");
    assert_eq!(run["content"], "Fixed it.");
    let requests = llm.requests();
    let second: Vec<&Value> = requests[1]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .collect();
    let content = |i: usize| second[i]["content"].as_str().unwrap().to_string();
    assert!(
        content(0).starts_with("Error: invalid arguments for 'calculator': at /expression:"),
        "{}",
        content(0)
    );
    assert!(
        content(1).contains("invalid arguments for 'add'"),
        "{}",
        content(1)
    );
    assert!(
        content(1).contains("at /a:") && content(1).contains("\"b\""),
        "{}",
        content(1)
    );
    assert!(content(2).contains("not valid JSON"), "{}", content(2));
    assert_eq!(result_of(&llm, "call_mock_1"), "2");
}

#[tokio::test]
async fn calls_of_one_turn_run_concurrently() {
    let llm = MockLlm::start().await;
    let server = TestServer::start(&worker_config(
        &llm,
        r#"[{ mcp = "local" }]"#,
        &stdio_server_toml("local"),
    ))
    .await;
    // Each call only answers "met" while the other is in progress too.
    llm.push(calls(&[
        ("rendezvous", json!({})),
        ("rendezvous", json!({})),
    ]));
    llm.push(Reply::Text("Both met.".into()));
    let run = agentos_run(&server, "worker", "meet").await;
    assert_eq!(result_of(&llm, "call_0_rendezvous"), "met");
    assert_eq!(result_of(&llm, "call_1_rendezvous"), "met");
    assert_eq!(run["status"], "COMPLETED");
}

#[tokio::test]
async fn long_results_are_cut_with_a_marker() {
    let llm = MockLlm::start().await;
    let extra = format!(
        "[engine]\ntool_result_max_chars = 100\n{}",
        stdio_server_toml("local")
    );
    let server = TestServer::start(&worker_config(&llm, r#"[{ mcp = "local" }]"#, &extra)).await;
    llm.push(call("big", json!({"chars": 5000})));
    llm.push(Reply::Text("ok".into()));
    agentos_run(&server, "worker", "big").await;
    let result = result_of(&llm, "call_mock_1");
    assert_eq!(
        result,
        format!(
            "{}\n[truncated: the result was 5000 characters; only the first 100 are shown]",
            "x".repeat(100)
        )
    );
}

/// Agents whose calculator (built-in) and echo (MCP) wait for approval.
async fn careful(llm: &MockLlm) -> TestServer {
    TestServer::start(&worker_config(
        llm,
        r#"[{ name = "calculator", confirm = true }, { mcp = "local", tools = ["echo"], confirm = true }]"#,
        &stdio_server_toml("local"),
    ))
    .await
}

async fn agentos_continue(
    server: &TestServer,
    run: &Value,
    tools: Value,
    stream: bool,
) -> reqwest::Response {
    let run_id = run["run_id"].as_str().unwrap();
    let session_id = run["session_id"].as_str().unwrap();
    server
        .client
        .post(server.url(&format!("/agents/worker/runs/{run_id}/continue")))
        .form(&[
            ("tools", tools.to_string().as_str()),
            ("session_id", session_id),
            ("stream", if stream { "true" } else { "false" }),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn agentos_confirmation_pauses_then_approve_or_reject() {
    let llm = MockLlm::start().await;
    let server = careful(&llm).await;

    // Approve: the paused run lists the call; continuing with confirmed=true runs it.
    llm.push(call("calculator", json!({"expression": "6*7"})));
    let paused = agentos_run(&server, "worker", "compute").await;
    assert_eq!(paused["status"], "PAUSED", "{paused}");
    let requirement = &paused["requirements"][0]["tool_execution"];
    assert_eq!(requirement["tool_name"], "calculator");
    assert_eq!(requirement["requires_confirmation"], true);
    assert!(requirement["external_execution_required"].is_null());
    assert!(
        paused["tools"].as_array().unwrap().is_empty(),
        "nothing ran yet"
    );
    assert_eq!(llm.requests().len(), 1);

    let mut approved = requirement.clone();
    approved["confirmed"] = json!(true);
    llm.push(Reply::Text("It is 42.".into()));
    let frames =
        sse::read_all(agentos_continue(&server, &paused, json!([approved]), true).await).await;
    let names = sse::names(&frames, "event");
    let started = names
        .iter()
        .position(|n| n == "ToolCallStarted")
        .expect("ToolCallStarted");
    let completed = names
        .iter()
        .position(|n| n == "ToolCallCompleted")
        .expect("ToolCallCompleted");
    assert_eq!(names[0], "RunContinued");
    assert!(started < completed, "{names:?}");
    assert_eq!(frames[started].data["tool"]["confirmed"], true);
    assert_eq!(frames[completed].data["tool"]["result"], "42");
    assert_eq!(names.last().unwrap(), "RunCompleted");
    assert_eq!(result_of(&llm, "call_mock_1"), "42");

    // Reject, with a note: the model hears why, and the run goes on. This
    // time the pause is streamed.
    llm.push(call("echo", json!({"text": "secret"})));
    let frames = sse::read_all(
        server
            .client
            .post(server.url("/agents/worker/runs"))
            .form(&[("message", "echo"), ("stream", "true")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let pause = frames.last().unwrap();
    assert_eq!(
        pause.data["event"],
        "RunPaused",
        "{:?}",
        sse::names(&frames, "event")
    );
    assert!(
        !sse::names(&frames, "event").contains(&"ToolCallStarted".to_string()),
        "a call waiting for approval has not started"
    );
    assert_eq!(pause.data["tools"][0]["tool_name"], "echo");
    assert_eq!(pause.data["tools"][0]["requires_confirmation"], true);
    let paused = json!({"run_id": pause.data["run_id"], "session_id": pause.data["session_id"]});
    let mut rejected = pause.data["tools"][0].clone();
    rejected["confirmed"] = json!(false);
    rejected["confirmation_note"] = json!("not that text");
    llm.push(Reply::Text("Understood.".into()));
    let done: Value = agentos_continue(&server, &paused, json!([rejected]), false)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(done["content"], "Understood.");
    let refused = result_of(&llm, "call_mock_1");
    assert_eq!(
        refused,
        "The user rejected this tool call, so it was not run. Their note: not that text"
    );
    assert_eq!(tool(&done, "call_mock_1")["tool_call_error"], true);
}

#[tokio::test]
async fn acp_confirmation_awaits_then_resumes() {
    let llm = MockLlm::start().await;
    let server = careful(&llm).await;
    let create = |text: &str| {
        json!({"agent_name": "worker", "mode": "sync", "input": [
            {"role": "user", "parts": [{"content": text, "content_type": "text/plain"}]}]})
    };
    let resume = |text: &str| json!({"await_resume": {"type": "message", "message": {"role": "user", "parts": [{"content": text}]}}, "mode": "sync"});

    llm.push(call("echo", json!({"text": "hi"})));
    let run: Value = server
        .client
        .post(server.url("/acp/runs"))
        .json(&create("echo hi"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(run["status"], "awaiting", "{run}");
    let parts = run["await_request"]["message"]["parts"].as_array().unwrap();
    assert!(
        parts[0]["content"]
            .as_str()
            .unwrap()
            .starts_with("May I run the tool echo")
    );
    let asked: Value = serde_json::from_str(parts[1]["content"].as_str().unwrap()).unwrap();
    assert_eq!(asked["approval_required"], true);
    assert_eq!(asked["tool_name"], "echo");
    assert_eq!(parts[1]["metadata"]["kind"], "trajectory");

    llm.push(Reply::Text("Echoed.".into()));
    let run_id = run["run_id"].as_str().unwrap();
    let done: Value = server
        .client
        .post(server.url(&format!("/acp/runs/{run_id}")))
        .json(&resume("yes"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(result_of(&llm, "call_mock_1"), "echo: hi");
    let events: Value = get_json(
        &server.client,
        server.url(&format!("/acp/runs/{run_id}/events")),
    )
    .await;
    let decided = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["generic"]["kind"] == "tool_decision")
        .expect("a tool_decision event");
    assert_eq!(decided["generic"]["approved"], true);

    // A refusal in words reaches the model as the reason.
    llm.push(call("calculator", json!({"expression": "1/3"})));
    let run: Value = server
        .client
        .post(server.url("/acp/runs"))
        .json(&create("divide"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(run["status"], "awaiting");
    llm.push(Reply::Text("Fine.".into()));
    let run_id = run["run_id"].as_str().unwrap();
    let done: Value = server
        .client
        .post(server.url(&format!("/acp/runs/{run_id}")))
        .json(&resume("No, we do not divide today"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(done["status"], "completed");
    assert_eq!(
        result_of(&llm, "call_mock_1"),
        "The user rejected this tool call, so it was not run. Their note: No, we do not divide today"
    );
}

async fn agui(server: &TestServer, body: Value) -> Vec<sse::Frame> {
    let resp = server
        .client
        .post(server.url("/agui/worker"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{:?}", resp.text().await);
    sse::read_all(resp).await
}

#[tokio::test]
async fn agui_confirmation_is_an_interrupt_answered_by_resume() {
    let llm = MockLlm::start().await;
    let server = careful(&llm).await;
    let messages = json!([{"id": "m1", "role": "user", "content": "compute"}]);

    llm.push(call("calculator", json!({"expression": "6*7"})));
    let frames = agui(
        &server,
        json!({"threadId": "t-ok", "runId": "r1", "messages": messages}),
    )
    .await;
    let types = sse::names(&frames, "type");
    assert!(types.contains(&"TOOL_CALL_END".to_string()), "{types:?}");
    assert!(
        !types.contains(&"TOOL_CALL_RESULT".to_string()),
        "{types:?}"
    );
    let finished = &frames.last().unwrap().data;
    assert_eq!(finished["type"], "RUN_FINISHED");
    assert_eq!(finished["outcome"]["type"], "interrupt", "{finished}");
    let interrupt = &finished["outcome"]["interrupts"][0];
    assert_eq!(interrupt["toolCallId"], "call_mock_1");
    assert_eq!(interrupt["id"], "call_mock_1");
    assert_eq!(interrupt["reason"], "tool_approval");
    assert_eq!(interrupt["responseSchema"]["required"], json!(["approved"]));

    // Approve: the paused run continues under the client's new run id.
    llm.push(Reply::Text("It is 42.".into()));
    let frames = agui(
        &server,
        json!({"threadId": "t-ok", "runId": "r2", "messages": messages,
               "resume": [{"interruptId": "call_mock_1", "status": "resolved", "payload": {"approved": true}}]}),
    )
    .await;
    let types = sse::names(&frames, "type");
    assert_eq!(types[0], "RUN_STARTED");
    assert_eq!(frames[0].data["runId"], "r2");
    let result = frames
        .iter()
        .find(|f| f.data["type"] == "TOOL_CALL_RESULT")
        .expect("a result");
    assert_eq!(result.data["toolCallId"], "call_mock_1");
    assert_eq!(result.data["content"], "42");
    assert_eq!(types.last().unwrap(), "RUN_FINISHED");
    assert!(frames.last().unwrap().data["outcome"]["type"] != "interrupt");

    // Answering again is a conflict-free 422: nothing waits any more.
    let resp = server
        .client
        .post(server.url("/agui/worker"))
        .json(&json!({"threadId": "t-ok", "runId": "r3", "messages": messages,
               "resume": [{"interruptId": "call_mock_1", "status": "resolved", "payload": {"approved": true}}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);

    // Cancelled: the rejection is the call's result.
    llm.push(call("echo", json!({"text": "x"})));
    agui(
        &server,
        json!({"threadId": "t-no", "runId": "r1", "messages": messages}),
    )
    .await;
    llm.push(Reply::Text("Skipped.".into()));
    let frames = agui(
        &server,
        json!({"threadId": "t-no", "runId": "r2", "messages": messages,
               "resume": [{"interruptId": "call_mock_1", "status": "cancelled"}]}),
    )
    .await;
    let result = frames
        .iter()
        .find(|f| f.data["type"] == "TOOL_CALL_RESULT")
        .expect("a result");
    assert_eq!(
        result.data["content"],
        "The user rejected this tool call, so it was not run."
    );
    assert_eq!(
        result_of(&llm, "call_mock_1"),
        "The user rejected this tool call, so it was not run."
    );

    // A resolved approval needs its answer.
    llm.push(call("echo", json!({"text": "x"})));
    agui(
        &server,
        json!({"threadId": "t-bad", "runId": "r1", "messages": messages}),
    )
    .await;
    let resp = server
        .client
        .post(server.url("/agui/worker"))
        .json(
            &json!({"threadId": "t-bad", "runId": "r2", "messages": messages,
               "resume": [{"interruptId": "call_mock_1", "status": "resolved"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["detail"][0]["loc"],
        json!(["body", "resume", 0, "payload"])
    );
}

#[tokio::test]
async fn mcp_children_stop_with_agentd() {
    let llm = MockLlm::start().await;
    let mark = uuid::Uuid::new_v4().to_string();
    let server = TestServer::start(&worker_config(
        &llm,
        r#"[{ mcp = "local" }]"#,
        &stdio_server_toml_marked("local", &mark),
    ))
    .await;
    // Live processes whose environment carries this test's mark.
    let children = || -> usize {
        let needle = format!("AGENTD_TEST_MCP_MARK={mark}");
        std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_str()
                    .is_some_and(|n| n.parse::<u32>().is_ok())
            })
            .filter(|e| {
                let path = e.path();
                let environ = std::fs::read(path.join("environ")).unwrap_or_default();
                let zombie = std::fs::read_to_string(path.join("stat"))
                    .unwrap_or_default()
                    .rsplit_once(')')
                    .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
                !zombie
                    && environ
                        .split(|b| *b == 0)
                        .any(|var| var == needle.as_bytes())
            })
            .count()
    };
    assert_eq!(children(), 1, "one stdio MCP server runs");
    server.engine.drain(std::time::Duration::from_secs(1)).await;
    eventually("the MCP child to exit", || async {
        (children() == 0).then_some(())
    })
    .await;
}

/// An MCP server offering a tool with a built-in's name never shadows the
/// built-in, whichever comes first in the agent's list: the built-in runs,
/// with its `confirm` (the call waits for approval), and the config refuses
/// the collision where it can see it (an MCP tool listed by name).
#[tokio::test]
async fn an_mcp_tool_never_shadows_a_builtin_of_the_same_name() {
    let llm = MockLlm::start().await;
    let server = TestServer::start(&worker_config(
        &llm,
        r#"[{ mcp = "local" }, { name = "calculator", confirm = true }]"#,
        &stdio_server_toml("local"),
    ))
    .await;
    llm.push(call("calculator", json!({"expression": "6*7"})));
    let paused = agentos_run(&server, "worker", "compute").await;
    assert_eq!(paused["status"], "PAUSED", "{paused}");
    let requirement = &paused["requirements"][0]["tool_execution"];
    assert_eq!(requirement["tool_name"], "calculator");
    assert_eq!(requirement["requires_confirmation"], true);
    let offered = llm.requests()[0]["tools"].as_array().unwrap().clone();
    let calculators: Vec<&Value> = offered
        .iter()
        .filter(|t| t["function"]["name"] == "calculator")
        .collect();
    assert_eq!(calculators.len(), 1, "{offered:?}");
    assert_ne!(
        calculators[0]["function"]["description"], "The MCP server's own calculator",
        "the built-in is the one offered"
    );
    assert!(
        offered.iter().any(|t| t["function"]["name"] == "echo"),
        "the server's other tools are still offered"
    );

    let mut approved = requirement.clone();
    approved["confirmed"] = json!(true);
    llm.push(Reply::Text("It is 42.".into()));
    let resp = agentos_continue(&server, &paused, json!([approved]), false).await;
    let done: Value = resp.json().await.unwrap();
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(result_of(&llm, "call_mock_1"), "42", "the built-in ran");

    // Named in the config, the same collision does not start.
    let text = worker_config(
        &llm,
        r#"[{ mcp = "local", tools = ["calculator"] }, { name = "calculator", confirm = true }]"#,
        &stdio_server_toml("local"),
    );
    let err =
        agentd::config::Config::from_toml_str(&text, std::path::Path::new("agentd.toml"), &|_| {
            None
        })
        .expect_err("a collision the config can see is refused");
    assert!(
        err.to_string().contains(
            "tool 'calculator' is given twice, by MCP server 'local' and by the built-in tool"
        ),
        "{err}"
    );
}
