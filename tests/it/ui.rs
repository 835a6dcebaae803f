//! agentd's web pages: the JSON API they read, told as a client's story over
//! HTTP, and the pages themselves driven in headless Chromium and Firefox
//! (tests/clients/ui_browser.mjs): a streamed answer, a tool call, stopping
//! a run, resuming a session, approving a tool, attaching files, reasoning
//! shown apart, an upstream failure, a team's steps, a Codegen run's page
//! finishing live, the runs list's filters, the API key prompt, and (in
//! Chromium) an axe-core accessibility audit of each page.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::fixtures::png_1x1;
use crate::common::mock_llm::call;
use crate::common::{MockLlm, Reply, TestServer, config_with, eventually, sse};

async fn get(server: &TestServer, path: &str) -> (StatusCode, Value) {
    let resp = server.client.get(server.url(path)).send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Asks the UI API to stop a run.
async fn cancel(server: &TestServer, run_id: &str) -> (StatusCode, Value) {
    let path = format!("/ui/api/runs/{run_id}/cancel");
    let resp = server.client.post(server.url(&path)).send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// One AG-UI run of the default agent, read to the end.
async fn agui_run(server: &TestServer, thread: &str, run: &str, text: &str) {
    let resp = server
        .client
        .post(server.url("/agui"))
        .json(&json!({
            "threadId": thread, "runId": run, "state": {}, "tools": [], "context": [],
            "forwardedProps": {},
            "messages": [{"id": format!("{run}-m"), "role": "user", "content": text}],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    sse::read_all(resp).await;
}

#[tokio::test]
async fn pages_are_served_without_a_key_and_their_api_is_not() {
    let server = TestServer::start(&config_with(
        "[server.rate_limits]\nagentos = 1\n[auth]\napi_keys = [\"ui-secret\"]\npublic_paths = [\"/health\"]\n",
    ))
    .await;
    // `/` takes a person to the playground.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let root = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(root.status(), StatusCode::SEE_OTHER);
    assert_eq!(root.headers()["location"], "/ui");

    for path in [
        "/ui",
        "/ui/runs",
        "/ui/runs/some-run",
        "/ui/assets/playground.js",
    ] {
        let resp = server.client.get(server.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        let csp = resp.headers()["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        let body = resp.text().await.unwrap();
        assert!(!body.contains("ui-secret"), "{path} shows the key");
    }
    let css = server
        .client
        .get(server.url("/ui/assets/style.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");

    // The data needs the key, like every API route.
    let (status, body) = get(&server, "/ui/api/runs").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error_code"], "UNAUTHORIZED");
    // A page polls: the per-protocol request limits are not for it.
    for _ in 0..3 {
        let polled = server
            .client
            .get(server.url("/ui/api/runs"))
            .bearer_auth("ui-secret")
            .send()
            .await
            .unwrap();
        assert_eq!(polled.status(), StatusCode::OK);
    }
    let listed = server
        .client
        .get(server.url("/ui/api/catalog"))
        .bearer_auth("ui-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    let catalog: Value = listed.json().await.unwrap();
    assert_eq!(catalog["agents"][0]["id"], "assistant");
    assert_eq!(catalog["default_agent"], "assistant");

    let (status, body) = get(&server, "/ui/assets/missing.js").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error_code"], "NOT_FOUND");
}

#[tokio::test]
async fn the_ui_can_be_turned_off() {
    let server = TestServer::start(&config_with("[ui]\nenabled = false\n")).await;
    for path in ["/", "/ui", "/ui/runs/x", "/ui/api/runs"] {
        let resp = server.client.get(server.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // The protocols are unaffected.
    agui_run(&server, "t", "r", "still here").await;
}

#[tokio::test]
async fn runs_are_listed_newest_first_and_filtered() {
    let server = TestServer::start(&config_with(TEAM)).await;
    agui_run(&server, "t-1", "run-agui-1", "first").await;
    let form = reqwest::multipart::Form::new()
        .text("message", "second")
        .text("stream", "false");
    let resp = server
        .client
        .post(server.url("/agents/assistant/runs"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = server
        .client
        .post(server.url("/runs"))
        .json(&json!({"agent_name": "assistant", "mode": "sync",
            "input": [{"role": "user", "parts": [{"content_type": "text/plain", "content": "third"}]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    agui_run(&server, "t-2", "run-agui-2", "fourth").await;

    let titles = |body: &Value| -> Vec<String> {
        body["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["title"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, all) = get(&server, "/ui/api/runs").await;
    assert_eq!(titles(&all), ["fourth", "third", "second", "first"]);
    let first = &all["runs"][3];
    assert_eq!(first["origin"], "agui");
    assert_eq!(first["status"], "completed");
    assert_eq!(first["agent_name"], "Assistant");
    assert!(first["usage"]["total_tokens"].as_u64().unwrap() > 0);

    let (_, agui) = get(&server, "/ui/api/runs?origin=agui").await;
    assert_eq!(titles(&agui), ["fourth", "first"]);
    let (_, acp) = get(&server, "/ui/api/runs?origin=acp&status=completed").await;
    assert_eq!(titles(&acp), ["third"]);
    let (_, newest) = get(&server, "/ui/api/runs?limit=2").await;
    assert_eq!(titles(&newest), ["fourth", "third"]);
    let (_, none) = get(&server, "/ui/api/runs?status=failed").await;
    assert_eq!(titles(&none), Vec::<String>::new());
    let (_, by_agent) = get(&server, "/ui/api/runs?agent_id=crew").await;
    assert_eq!(titles(&by_agent), Vec::<String>::new());
    let (_, by_session) = get(&server, "/ui/api/runs?session_id=t-1").await;
    assert_eq!(titles(&by_session), ["first"]);

    // The picker's catalog names the team's mode and members.
    let (_, catalog) = get(&server, "/ui/api/catalog").await;
    assert_eq!(catalog["teams"][0]["id"], "crew");
    assert_eq!(catalog["teams"][0]["mode"], "coordinate");
    assert_eq!(catalog["teams"][0]["members"], json!(["researcher"]));

    for bad in [
        "status=done",
        "limit=0",
        "limit=501",
        "limit=many",
        "origin=acp&origin=agui",
    ] {
        let (status, body) = get(&server, &format!("/ui/api/runs?{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["error_code"], "BAD_REQUEST");
        assert!(body["detail"].as_str().unwrap().len() > 10, "{body}");
    }
}

#[tokio::test]
async fn a_run_page_reads_the_run_and_replays_its_events() {
    let server = TestServer::start(&config_with("")).await;
    agui_run(&server, "t-1", "run-1", "hello there").await;

    let (status, run) = get(&server, "/ui/api/runs/run-1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(run["status"], "completed");
    assert_eq!(run["content"], "You said: hello there");
    assert_eq!(run["input"][0]["text"], "hello there");
    assert_eq!(run["origin"], "agui");
    let last_seq = run["last_seq"].as_u64().unwrap();

    let resp = server
        .client
        .get(server.url("/ui/api/runs/run-1/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let frames = sse::read_all(resp).await;
    let kinds: Vec<String> = frames
        .iter()
        .map(|f| f.data["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds.first().unwrap(), "run_started");
    assert_eq!(kinds.last().unwrap(), "completed");
    assert!(kinds.contains(&"text_delta".to_string()), "{kinds:?}");
    assert_eq!(frames.len() as u64, last_seq);
    assert_eq!(
        frames.last().unwrap().id.as_deref(),
        Some(&*last_seq.to_string())
    );

    // From a sequence number on, by query or by Last-Event-ID.
    let after = sse::read_all(
        server
            .client
            .get(server.url(&format!("/ui/api/runs/run-1/events?after={}", last_seq - 1)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(after.len(), 1);
    let resumed = sse::read_all(
        server
            .client
            .get(server.url("/ui/api/runs/run-1/events"))
            .header("last-event-id", (last_seq - 2).to_string())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(resumed.len(), 2);

    let (status, body) = get(&server, "/ui/api/runs/run-1/events?after=soon").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = get(&server, "/ui/api/runs/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["detail"], "run 'nope' not found");
    let (status, _) = get(&server, "/ui/api/runs/nope/events").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // An ended run has nothing to stop.
    let (status, body) = cancel(&server, "run-1").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error_code"], "CONFLICT");
}

#[tokio::test]
async fn a_live_run_is_followed_and_stopped() {
    let mock = MockLlm::start().await;
    let server = TestServer::start(&crate::common::upstream_config(
        &mock.base_url,
        "[agui]\ndefault_agent = \"upstream\"\n",
    ))
    .await;
    mock.push(Reply::Slow {
        text: "a long answer that takes its time to arrive".into(),
        delay_ms: 300,
    });
    let started = server
        .client
        .post(server.url("/agui"))
        .json(&json!({
            "threadId": "t", "runId": "slow-run", "protocolVersion": "1.0", "state": {},
            "tools": [], "context": [],
            "forwardedProps": {}, "messages": [{"id": "m", "role": "user", "content": "go"}],
        }))
        .send()
        .await
        .unwrap();
    // The page follows the run: its event stream stays open while it goes.
    let follow = server
        .client
        .get(server.url("/ui/api/runs/slow-run/events"))
        .send()
        .await
        .unwrap();
    let seen = sse::read_until(follow, |f| f.data["type"] == "text_delta").await;
    assert_eq!(seen.first().unwrap().data["type"], "run_started");

    let (status, stopping) = cancel(&server, "slow-run").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(stopping["run_id"], "slow-run");
    let rest = sse::read_all(started).await;
    assert!(
        rest.iter()
            .any(|f| f.data["outcome"]["type"] == "cancelled"),
        "the AG-UI stream ends cancelled"
    );
    eventually("the run to be stored cancelled", || async {
        let (_, run) = get(&server, "/ui/api/runs/slow-run").await;
        (run["status"] == "cancelled").then_some(())
    })
    .await;
    let (_, cancelled) = get(&server, "/ui/api/runs?status=cancelled").await;
    assert_eq!(cancelled["runs"][0]["run_id"], "slow-run");
    let (status, _) = get(&server, "/ui/api/runs/unknown/cancel").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(cancel(&server, "unknown").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sessions_list_and_their_transcript_resume_a_chat() {
    let server = TestServer::start(&config_with(TEAM)).await;
    agui_run(&server, "chat-1", "r1", "hello there").await;
    agui_run(&server, "chat-2", "r2", "another chat").await;

    let (_, listed) = get(&server, "/ui/api/sessions?agent_id=assistant").await;
    let names: Vec<&str> = listed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["another chat", "hello there"]);
    let (_, other) = get(&server, "/ui/api/sessions?agent_id=crew").await;
    assert_eq!(other["sessions"], json!([]));

    let (status, session) = get(&server, "/ui/api/sessions/chat-1").await;
    assert_eq!(status, StatusCode::OK);
    let roles: Vec<&str> = session["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant"]);
    assert_eq!(session["messages"][1]["text"], "You said: hello there");
    assert_eq!(session["runs"][0]["run_id"], "r1");

    let (status, body) = get(&server, "/ui/api/sessions/missing").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = get(&server, "/ui/api/sessions?limit=-1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

const TEAM: &str = r#"
[[agents]]
id = "researcher"
name = "Researcher"
model = "builtin"

[[teams]]
id = "crew"
name = "Crew"
model = "builtin"
members = ["researcher"]
mode = "coordinate"
"#;

/// The browser `name` (chromium or firefox): `$AGENTD_CHROMIUM` /
/// `$AGENTD_FIREFOX`, else Debian's. With `AGENTD_REQUIRE_CLIENTS` set (as CI
/// sets it) a missing browser or puppeteer-core fails the test.
pub(crate) fn browser(name: &str) -> Option<(String, std::path::PathBuf)> {
    let clients = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients");
    let (var, default) = match name {
        "firefox" => ("AGENTD_FIREFOX", "/usr/bin/firefox-esr"),
        _ => ("AGENTD_CHROMIUM", "/usr/bin/chromium"),
    };
    let executable = std::env::var(var).unwrap_or_else(|_| default.into());
    let node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let ready = node
        && std::path::Path::new(&executable).exists()
        && clients.join("node_modules/puppeteer-core").exists();
    if !ready {
        assert!(
            !crate::common::clients::required(),
            "the browser test needs node, {name} at {executable} (apt-get install chromium \
             firefox-esr) and puppeteer-core (npm ci --prefix tests/clients)"
        );
        eprintln!("SKIPPED: no node, {name} or puppeteer-core for the browser test");
        return None;
    }
    Some((executable, clients))
}

/// An agent on its own mock upstream, so each story's replies are its own.
fn mock_agent(id: &str, name: &str, mock: &MockLlm, tools: &str) -> String {
    format!(
        r#"
[models.{id}]
provider = "openai"
model = "mock-model"
base_url = "{}"
api_key = "test-key"

[[agents]]
id = "{id}"
name = "{name}"
model = "{id}"
tools = [{tools}]
"#,
        mock.base_url
    )
}

#[tokio::test]
async fn a_person_uses_the_pages_in_chromium() {
    browser_story("chromium").await;
}

#[tokio::test]
async fn a_person_uses_the_pages_in_firefox() {
    browser_story("firefox").await;
}

/// One person's afternoon with the pages, in `name`: every scenario of
/// tests/clients/ui_browser.mjs, then what they did as the server and the
/// upstreams saw it.
async fn browser_story(name: &str) {
    let Some((executable, clients)) = browser(name) else {
        return;
    };
    let chat = MockLlm::start().await;
    chat.push(Reply::Slow {
        text: "one two three four five six".into(),
        delay_ms: 150,
    });
    chat.push(Reply::Text("Second answer".into()));
    let tools = MockLlm::start().await;
    tools.push(call("calculator", json!({"expression": "6*7"})));
    tools.push(Reply::Text("The answer is 42.".into()));
    let stopper = MockLlm::start().await;
    stopper.push(Reply::Slow {
        text: "once upon a time ".repeat(40),
        delay_ms: 200,
    });
    let files = MockLlm::start().await;
    files.push(Reply::Text("Got your files.".into()));
    let broken = MockLlm::start().await;
    broken.push(Reply::Status(
        400,
        "{\"error\": {\"message\": \"bad request\"}}".into(),
    ));
    let slow = MockLlm::start().await;
    slow.push(Reply::Slow {
        text: "alpha beta gamma delta epsilon".into(),
        delay_ms: 300,
    });

    let config = config_with(&format!(
        r#"
{}
{}
{}
{}
{}
{}
[[agents]]
id = "careful"
name = "Careful"
model = "builtin"
tools = [{{ name = "calculator", confirm = true }}]

{TEAM}
[codegen.agent_types]
codegen = "slow"

[[codegen.users]]
id = 1
api_keys = ["codegen-key"]
organizations = [1]

[[codegen.organizations]]
id = 1
name = "Acme"
"#,
        mock_agent("chat", "Chat", &chat, ""),
        mock_agent("tools", "Tools", &tools, "\"calculator\""),
        mock_agent("stopper", "Stopper", &stopper, ""),
        mock_agent("files", "Files", &files, ""),
        mock_agent("slow", "Slow", &slow, ""),
        mock_agent("broken", "Broken", &broken, ""),
    ));
    let server = TestServer::start(&config).await;
    let guarded = TestServer::start(&config_with(
        "[auth]\napi_keys = [\"browser-key\"]\npublic_paths = []\n",
    ))
    .await;

    let out_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ui-test");
    std::fs::create_dir_all(&out_dir).unwrap();
    let screenshot = out_dir.join(format!("playground-{name}.png"));
    let _ = std::fs::remove_file(&screenshot);
    // This run's own files: the plan and the image the person attaches.
    let work = out_dir.join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let png_file = work.join("dot.png");
    std::fs::write(&png_file, png_1x1()).unwrap();
    let plan = json!({
        "browser": name,
        "executable": executable,
        "png_file": png_file,
        "base": server.base,
        "auth_base": guarded.base,
        "auth_key": "browser-key",
        "codegen_key": "codegen-key",
        "screenshot": screenshot,
    });
    let plan_file = work.join("plan.json");
    std::fs::write(&plan_file, plan.to_string()).unwrap();

    let out = tokio::time::timeout(
        Duration::from_secs(240),
        tokio::process::Command::new("node")
            .arg(clients.join("ui_browser.mjs"))
            .arg(&plan_file)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the browser story finishes")
    .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser story failed:\n{stdout}\n{stderr}"
    );
    for scenario in [
        "streamed_answer",
        "tool_call_rendered",
        "stop_button_cancels",
        "session_resumed",
        "approval_buttons",
        "attachments_by_picker_and_drop",
        "reasoning_apart",
        "upstream_failure_shown",
        "team_steps_labelled",
        "codegen_run_page_live",
        "runs_list_filters",
        "api_key_prompt",
    ] {
        assert!(
            stdout.contains(&format!("ok {scenario}")),
            "{scenario} did not run:\n{stdout}"
        );
    }
    if name == "chromium" {
        assert!(
            stdout.contains("ok accessibility"),
            "the axe-core audit did not run:\n{stdout}"
        );
    }
    assert!(screenshot.exists(), "the playground screenshot was saved");

    // What the browser did, seen from the server and the upstreams.
    let stopped = stdout
        .lines()
        .find_map(|l| l.strip_prefix("stopped-run "))
        .expect("the stopped run's id");
    let (_, run) = get(&server, &format!("/ui/api/runs/{stopped}")).await;
    assert_eq!(run["status"], "cancelled");
    // The resumed session sent its earlier turns along.
    let second = &chat.requests()[1];
    let history = second["messages"].to_string();
    assert!(history.contains("Say hello"), "{history}");
    assert!(history.contains("one two three four five six"), "{history}");
    // Both files reached the model: the image as an image, the CSV as text.
    let sent = files.requests()[0]["messages"].to_string();
    assert!(sent.contains("data:image/png;base64,"), "{sent}");
    assert!(sent.contains("Oslo"), "{sent}");
    std::fs::remove_dir_all(work).ok();
}
