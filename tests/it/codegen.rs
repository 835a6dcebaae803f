//! The Codegen agent API over real HTTP: the story of a client written from
//! the published API (create, poll, list, resume, logs) and of every error a
//! caller can meet (401, 402, 403, 404, 409, 422, 429).

use std::sync::Arc;

use crate::common::{MockLlm, Reply, TestServer, config_with, eventually, upstream_config};
use agentd::store::memory::MemoryStore;
use reqwest::StatusCode;
use serde_json::{Value, json};

const ALICE: &str = "key-alice";
const BOB: &str = "key-bob";
const CAROL: &str = "key-carol";

/// The `[codegen]` section: users alice (orgs 1 and 2), bob (org 1) and
/// carol (org 3); org 1 has repo 10, org 2 may create one run. `models` and
/// `agent_types` are extra lines for those tables.
fn codegen(models: &str, agent_types: &str) -> String {
    format!(
        r#"
[models.alt]
provider = "builtin"
model = "alt-builtin"

[codegen]
public_base_url = "https://agentd.example.com/"

[codegen.models]
"alt-model" = "alt"
{models}

[codegen.agent_types]
{agent_types}

[[codegen.users]]
id = 1
email = "alice@example.com"
github_username = "alice"
full_name = "Alice"
api_keys = ["key-alice"]
organizations = [1, 2]

[[codegen.users]]
id = 2
github_username = "bob"
api_keys = ["key-bob", ""]
organizations = [1]

[[codegen.users]]
id = 3
api_keys = ["key-carol"]
organizations = [3]

[[codegen.organizations]]
id = 1
name = "Acme"
repositories = [{{ id = 10, name = "acme/api" }}]

[[codegen.organizations]]
id = 2
name = "Quota"
run_quota = 1

[[codegen.organizations]]
id = 3
name = "Other"
"#
    )
}

/// The builtin-model config with `[codegen]`, plus `extra` TOML.
fn config(extra: &str) -> String {
    config_with(&format!("{}\n{extra}", codegen("", "")))
}

/// An upstream (mock LLM) agent too, run by the `claude_code` agent type and
/// reachable as model `mock-model`.
fn upstream(mock: &MockLlm) -> String {
    upstream_config(
        &mock.base_url,
        &codegen("\"mock-model\" = \"mock\"", "claude_code = \"upstream\""),
    )
}

async fn start() -> TestServer {
    TestServer::start(&config("")).await
}

struct Resp {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

async fn send(req: reqwest::RequestBuilder, key: Option<&str>) -> Resp {
    let req = match key {
        Some(k) => req.header("authorization", format!("Bearer {k}")),
        None => req,
    };
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Resp {
        status,
        headers,
        body,
    }
}

async fn get(server: &TestServer, key: Option<&str>, path: &str) -> Resp {
    send(server.client.get(server.url(path)), key).await
}

async fn post(server: &TestServer, key: Option<&str>, path: &str, body: Value) -> Resp {
    send(server.client.post(server.url(path)).json(&body), key).await
}

async fn create(server: &TestServer, key: &str, org: i64, body: Value) -> Value {
    let r = post(
        server,
        Some(key),
        &format!("/v1/organizations/{org}/agent/run"),
        body,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

/// Polls the run until its status is terminal, as Codegen clients do.
async fn wait_done(server: &TestServer, key: &str, org: i64, id: &Value) -> Value {
    let path = format!("/v1/organizations/{org}/agent/run/{id}");
    eventually("the run to finish", || async {
        let r = get(server, Some(key), &path).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let status = r.body["status"].as_str().unwrap_or_default().to_string();
        ["COMPLETE", "FAILED", "CANCELLED"]
            .contains(&status.as_str())
            .then_some(r.body)
    })
    .await
}

/// The engine run id a Codegen run currently shows (the end of its web_url).
fn engine_run_id(run: &Value) -> String {
    run["web_url"]
        .as_str()
        .and_then(|u| u.rsplit('/').next())
        .expect("web_url")
        .to_string()
}

/// Asserts a `{"message", "status_code"}` body.
fn assert_error(r: &Resp, status: u16, message: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.body);
    assert_eq!(r.body, json!({"message": message, "status_code": status}));
}

#[tokio::test]
async fn create_returns_at_once_and_polling_reaches_complete() {
    let server = start().await;
    let run = create(
        &server,
        ALICE,
        1,
        json!({"prompt": "hello codegen", "metadata": {"ticket": "ACC-1"}}),
    )
    .await;
    assert_eq!(run["id"], 1);
    assert_eq!(run["organization_id"], 1);
    assert!(["PENDING", "RUNNING"].contains(&run["status"].as_str().unwrap()));
    assert_eq!(run["result"], Value::Null);
    assert_eq!(run["source_type"], "API");
    assert_eq!(run["github_pull_requests"], json!([]));
    assert_eq!(run["metadata"], json!({"ticket": "ACC-1"}));
    let created = run["created_at"].as_str().expect("created_at is a string");
    assert!(
        chrono::DateTime::parse_from_rfc3339(created).is_ok(),
        "{created}"
    );
    let engine_id = engine_run_id(&run);
    assert_eq!(
        run["web_url"],
        format!("https://agentd.example.com/ui/runs/{engine_id}")
    );
    let record = server
        .engine
        .get_run(&agentd::engine::Principal::open(), &engine_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.origin, "codegen");
    assert_eq!(record.metadata, Some(json!({"ticket": "ACC-1"})));

    let done = wait_done(&server, ALICE, 1, &run["id"]).await;
    assert_eq!(done["status"], "COMPLETE");
    assert_eq!(done["result"], "You said: hello codegen");
    assert_eq!(done["summary"], "You said: hello codegen");
    assert_eq!(done["metadata"], json!({"ticket": "ACC-1"}));
    assert_eq!(done["created_at"], run["created_at"]);
    assert_eq!(done["web_url"], run["web_url"]);

    // Another member of the organization sees it too.
    let r = get(&server, Some(BOB), "/v1/organizations/1/agent/run/1").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["result"], "You said: hello codegen");
}

#[tokio::test]
async fn web_url_follows_the_request_host_without_a_public_base_url() {
    let toml = config("").replace("public_base_url = \"https://agentd.example.com/\"", "");
    let server = TestServer::start(&toml).await;
    let run = create(&server, ALICE, 1, json!({"prompt": "hi"})).await;
    let engine_id = engine_run_id(&run);
    let host = server.base.trim_start_matches("http://");
    assert_eq!(run["web_url"], format!("http://{host}/ui/runs/{engine_id}"));
}

#[tokio::test]
async fn list_is_newest_first_with_pagination_and_filters() {
    let server = start().await;
    for i in 1..=5 {
        create(&server, ALICE, 1, json!({"prompt": format!("run {i}")})).await;
    }
    create(&server, BOB, 1, json!({"prompt": "bob's run"})).await;
    create(&server, ALICE, 2, json!({"prompt": "other org"})).await;

    let r = get(
        &server,
        Some(ALICE),
        "/v1/organizations/1/agent/runs?limit=2",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let ids: Vec<&Value> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["id"])
        .collect();
    assert_eq!(ids, [&json!(6), &json!(5)]);
    assert_eq!(r.body["total"], 6);
    assert_eq!(r.body["page"], 1);
    assert_eq!(r.body["size"], 2);
    assert_eq!(r.body["pages"], 3);

    let r = get(
        &server,
        Some(ALICE),
        "/v1/organizations/1/agent/runs?skip=2&limit=2",
    )
    .await;
    let ids: Vec<&Value> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["id"])
        .collect();
    assert_eq!(ids, [&json!(4), &json!(3)]);
    assert_eq!(r.body["page"], 2);

    let r = get(
        &server,
        Some(ALICE),
        "/v1/organizations/1/agent/runs?user_id=2&source_type=API",
    )
    .await;
    assert_eq!(r.body["total"], 1);
    assert_eq!(r.body["items"][0]["id"], 6);
    assert_eq!(r.body["size"], 100);

    let r = get(
        &server,
        Some(ALICE),
        "/v1/organizations/1/agent/runs?source_type=SLACK",
    )
    .await;
    assert_eq!(r.body["total"], 0);
    assert_eq!(r.body["items"], json!([]));

    let r = get(&server, Some(ALICE), "/v1/organizations/2/agent/runs").await;
    assert_eq!(r.body["total"], 1);
    assert_eq!(r.body["items"][0]["id"], 7);

    // Items are full runs, and finish like any other.
    let listed = eventually("listed runs to complete", || async {
        let r = get(&server, Some(ALICE), "/v1/organizations/1/agent/runs").await;
        let items = r.body["items"].as_array().unwrap().clone();
        items
            .iter()
            .all(|i| i["status"] == "COMPLETE")
            .then_some(items)
    })
    .await;
    assert_eq!(listed[0]["result"], "You said: bob's run");
    assert_eq!(listed[5]["result"], "You said: run 1");
}

#[tokio::test]
async fn list_rejects_bad_query_parameters() {
    let server = start().await;
    for (query, loc, kind) in [
        ("limit=0", "limit", "greater_than_equal"),
        ("limit=101", "limit", "less_than_equal"),
        ("skip=-1", "skip", "greater_than_equal"),
        ("skip=abc", "skip", "int_parsing"),
        ("user_id=x", "user_id", "int_parsing"),
        ("source_type=NOPE", "source_type", "enum"),
    ] {
        let r = get(
            &server,
            Some(ALICE),
            &format!("/v1/organizations/1/agent/runs?{query}"),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(r.body["detail"][0]["loc"], json!(["query", loc]), "{query}");
        assert_eq!(r.body["detail"][0]["type"], kind, "{query}");
        assert!(r.body["detail"][0]["msg"].is_string());
    }
}

#[tokio::test]
async fn resume_continues_the_same_run_and_conversation() {
    let server = start().await;
    let run = create(&server, ALICE, 1, json!({"prompt": "first"})).await;
    let done = wait_done(&server, ALICE, 1, &run["id"]).await;
    assert_eq!(done["result"], "You said: first");
    let first_engine_run = engine_run_id(&done);

    let r = post(
        &server,
        Some(ALICE),
        "/v1/organizations/1/agent/run/resume",
        json!({"agent_run_id": run["id"], "prompt": "second"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["id"], run["id"]);
    assert!(["PENDING", "RUNNING"].contains(&r.body["status"].as_str().unwrap()));
    assert_eq!(r.body["result"], Value::Null);
    assert_eq!(r.body["created_at"], run["created_at"]);
    let second_engine_run = engine_run_id(&r.body);
    assert_ne!(first_engine_run, second_engine_run);

    let done = wait_done(&server, ALICE, 1, &run["id"]).await;
    assert_eq!(done["status"], "COMPLETE");
    let result = done["result"].as_str().unwrap();
    assert!(result.starts_with("You said: second"), "{result}");
    assert!(
        result.contains("before that you said: \"first\""),
        "{result}"
    );
    let first = server
        .engine
        .get_run(&agentd::engine::Principal::open(), &first_engine_run)
        .await
        .unwrap()
        .unwrap();
    let second = server
        .engine
        .get_run(&agentd::engine::Principal::open(), &second_engine_run)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.session_id, second.session_id, "one conversation");

    // Still one run in the listing.
    let r = get(&server, Some(ALICE), "/v1/organizations/1/agent/runs").await;
    assert_eq!(r.body["total"], 1);
}

#[tokio::test]
async fn resume_errors() {
    let server = start().await;
    let r = post(
        &server,
        Some(ALICE),
        "/v1/organizations/1/agent/run/resume",
        json!({"agent_run_id": 42, "prompt": "more"}),
    )
    .await;
    assert_error(&r, 404, "Agent run not found.");

    let r = post(
        &server,
        Some(ALICE),
        "/v1/organizations/1/agent/run/resume",
        json!({"prompt": "more"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["detail"][0]["loc"], json!(["body", "agent_run_id"]));
    assert_eq!(r.body["detail"][0]["type"], "missing");

    // A run of org 1 cannot be resumed through org 2.
    let run = create(&server, ALICE, 1, json!({"prompt": "x"})).await;
    wait_done(&server, ALICE, 1, &run["id"]).await;
    let r = post(
        &server,
        Some(ALICE),
        "/v1/organizations/2/agent/run/resume",
        json!({"agent_run_id": run["id"], "prompt": "more"}),
    )
    .await;
    assert_error(&r, 404, "Agent run not found.");
}

#[tokio::test]
async fn a_working_run_cannot_be_resumed_and_shows_cancelled_when_stopped() {
    let mock = MockLlm::start().await;
    let server = TestServer::start(&upstream(&mock)).await;
    // Long enough that the run is certainly still working when we resume;
    // the test cancels it rather than waiting.
    mock.push(Reply::Slow {
        text: "a b c d e f g h".into(),
        delay_ms: 5_000,
    });
    let run = create(
        &server,
        ALICE,
        1,
        json!({"prompt": "take your time", "agent_type": "claude_code"}),
    )
    .await;
    let r = post(
        &server,
        Some(ALICE),
        "/v1/organizations/1/agent/run/resume",
        json!({"agent_run_id": run["id"], "prompt": "more"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(r.body["status_code"], 409);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("still running")
    );

    server
        .engine
        .cancel(&agentd::engine::Principal::open(), &engine_run_id(&run))
        .await
        .unwrap();
    let done = wait_done(&server, ALICE, 1, &run["id"]).await;
    assert_eq!(done["status"], "CANCELLED");
    assert_eq!(done["result"], Value::Null);

    // A cancelled run can be resumed; the agent type sticks.
    mock.push(Reply::Text("picked up again".into()));
    let r = post(
        &server,
        Some(ALICE),
        "/v1/organizations/1/agent/run/resume",
        json!({"agent_run_id": run["id"], "prompt": "go on"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let done = wait_done(&server, ALICE, 1, &run["id"]).await;
    assert_eq!(done["status"], "COMPLETE");
    assert_eq!(done["result"], "picked up again");
}

#[tokio::test]
async fn logs_trace_prompts_tools_and_answers() {
    let server = start().await;
    let run = create(
        &server,
        ALICE,
        1,
        json!({"prompt": "/tool calculator {\"expression\": \"6*7\"}"}),
    )
    .await;
    wait_done(&server, ALICE, 1, &run["id"]).await;
    let path = format!("/v1/alpha/organizations/1/agent/run/{}/logs", run["id"]);
    let r = get(&server, Some(ALICE), &path).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["id"], run["id"]);
    assert_eq!(r.body["organization_id"], 1);
    assert_eq!(r.body["status"], "COMPLETE");
    let logs = r.body["logs"].as_array().unwrap();
    let kinds: Vec<&str> = logs
        .iter()
        .map(|l| l["message_type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["USER_MESSAGE", "ACTION", "FINAL_ANSWER"]);
    assert!(logs.iter().all(|l| l["agent_run_id"] == run["id"]));
    assert!(logs.iter().all(|l| l["created_at"].is_string()));
    assert_eq!(logs[1]["tool_name"], "calculator");
    assert_eq!(logs[1]["tool_input"], json!({"expression": "6*7"}));
    assert!(logs[1]["tool_output"].is_object());
    assert!(logs[1]["observation"].as_str().unwrap().contains("42"));
    assert_eq!(logs[2]["observation"], r.body["result"]);
    assert_eq!(r.body["total_logs"], 3);

    let r = get(&server, Some(ALICE), &format!("{path}?skip=1&limit=1")).await;
    assert_eq!(r.body["logs"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["logs"][0]["message_type"], "ACTION");
    assert_eq!(r.body["page"], 2);
    assert_eq!(r.body["pages"], 3);
    assert_eq!(r.body["size"], 1);

    let r = get(&server, Some(ALICE), &format!("{path}?reverse=true")).await;
    assert_eq!(r.body["logs"][0]["message_type"], "FINAL_ANSWER");

    // A resumed run's trace goes on after the first part.
    post(
        &server,
        Some(ALICE),
        "/v1/organizations/1/agent/run/resume",
        json!({"agent_run_id": run["id"], "prompt": "/think it over"}),
    )
    .await;
    wait_done(&server, ALICE, 1, &run["id"]).await;
    let r = get(&server, Some(ALICE), &path).await;
    let kinds: Vec<&str> = r.body["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "USER_MESSAGE",
            "ACTION",
            "FINAL_ANSWER",
            "USER_MESSAGE",
            "PLAN_EVALUATION",
            "FINAL_ANSWER"
        ]
    );
    assert_eq!(r.body["logs"][3]["observation"], "/think it over");
    assert_eq!(r.body["logs"][4]["thought"], "it over");

    let r = get(
        &server,
        Some(ALICE),
        "/v1/alpha/organizations/1/agent/run/99/logs",
    )
    .await;
    assert_error(&r, 404, "Agent run not found.");
    let r = get(&server, Some(ALICE), &format!("{path}?limit=0")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn images_reach_the_agent_as_attachments() {
    let server = start().await;
    let run = create(
        &server,
        ALICE,
        1,
        json!({"prompt": "what is this", "images": ["data:image/png;base64,iVBORw0KGgo="]}),
    )
    .await;
    let done = wait_done(&server, ALICE, 1, &run["id"]).await;
    assert_eq!(
        done["result"],
        "You said: what is this I received: image-1.png (image/png)."
    );
    let record = server
        .engine
        .get_run(&agentd::engine::Principal::open(), &engine_run_id(&done))
        .await
        .unwrap()
        .unwrap();
    let attachment = &record.input[0].attachments[0];
    assert_eq!(attachment.mime_type, "image/png");
    assert_eq!(attachment.data.as_deref(), Some("iVBORw0KGgo="));

    for (images, loc) in [
        (
            json!(["https://example.com/a.png"]),
            json!(["body", "images", 0]),
        ),
        (
            json!(["data:image/png;base64,!!"]),
            json!(["body", "images", 0]),
        ),
        (
            json!(["data:image/png;base64,iVBORw0KGgo=", 3]),
            json!(["body", "images", 1]),
        ),
        (
            json!("data:image/png;base64,iVBORw0KGgo="),
            json!(["body", "images"]),
        ),
    ] {
        let r = post(
            &server,
            Some(ALICE),
            "/v1/organizations/1/agent/run",
            json!({"prompt": "x", "images": images}),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{images}");
        assert_eq!(r.body["detail"][0]["loc"], loc, "{images}");
    }
}

#[tokio::test]
async fn repo_must_belong_to_the_organization() {
    let server = start().await;
    let run = create(
        &server,
        ALICE,
        1,
        json!({"prompt": "fix it", "repo_id": 10}),
    )
    .await;
    assert_eq!(
        wait_done(&server, ALICE, 1, &run["id"]).await["status"],
        "COMPLETE"
    );
    let r = post(
        &server,
        Some(ALICE),
        "/v1/organizations/1/agent/run",
        json!({"prompt": "fix it", "repo_id": 99}),
    )
    .await;
    assert_error(
        &r,
        404,
        "No repos found in the organization. Please add some repos and try again.",
    );
    // Repo 10 is org 1's, not org 2's.
    let r = post(
        &server,
        Some(ALICE),
        "/v1/organizations/2/agent/run",
        json!({"prompt": "fix it", "repo_id": 10}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn model_and_agent_type_choose_what_runs() {
    let mock = MockLlm::start().await;
    let server = TestServer::start(&upstream(&mock)).await;

    // The agent's own model.
    let run = create(&server, ALICE, 1, json!({"prompt": "plain"})).await;
    let done = wait_done(&server, ALICE, 1, &run["id"]).await;
    assert_eq!(done["result"], "You said: plain");

    // An allowed override runs the same agent on another model.
    let run = create(
        &server,
        ALICE,
        1,
        json!({"prompt": "p", "model": "alt-model"}),
    )
    .await;
    let done = wait_done(&server, ALICE, 1, &run["id"]).await;
    let record = server
        .engine
        .get_run(&agentd::engine::Principal::open(), &engine_run_id(&done))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.model, "alt-builtin");
    assert_eq!(record.agent_id, "assistant");

    mock.push(Reply::Text("answered by the mock".into()));
    let run = create(
        &server,
        ALICE,
        1,
        json!({"prompt": "q", "model": "mock-model"}),
    )
    .await;
    let done = wait_done(&server, ALICE, 1, &run["id"]).await;
    assert_eq!(done["result"], "answered by the mock");
    assert_eq!(mock.requests().len(), 1);
    assert_eq!(mock.requests()[0]["model"], "mock-model");

    // agent_type picks the mapped agent.
    mock.push(Reply::Text("claude code here".into()));
    let run = create(
        &server,
        ALICE,
        1,
        json!({"prompt": "q", "agent_type": "claude_code"}),
    )
    .await;
    let done = wait_done(&server, ALICE, 1, &run["id"]).await;
    assert_eq!(done["result"], "claude code here");
    let record = server
        .engine
        .get_run(&agentd::engine::Principal::open(), &engine_run_id(&done))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.agent_id, "upstream");

    let r = post(
        &server,
        Some(ALICE),
        "/v1/organizations/1/agent/run",
        json!({"prompt": "q", "model": "gpt-9"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["detail"][0]["loc"], json!(["body", "model"]));
    assert!(
        r.body["detail"][0]["msg"]
            .as_str()
            .unwrap()
            .contains("gpt-9")
    );
    let r = post(
        &server,
        Some(ALICE),
        "/v1/organizations/1/agent/run",
        json!({"prompt": "q", "agent_type": "devin"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["detail"][0]["loc"], json!(["body", "agent_type"]));
    assert_eq!(r.body["detail"][0]["type"], "enum");
}

#[tokio::test]
async fn a_failing_model_ends_the_run_failed() {
    let server = start().await;
    let run = create(&server, ALICE, 1, json!({"prompt": "/fail upstream broke"})).await;
    let done = wait_done(&server, ALICE, 1, &run["id"]).await;
    assert_eq!(done["status"], "FAILED");
    assert_eq!(done["result"], Value::Null);
    assert!(done["summary"].as_str().unwrap().contains("upstream broke"));
}

#[tokio::test]
async fn unauthenticated_calls_get_401() {
    let server = start().await;
    let paths = [
        "/v1/organizations/1/agent/run/1",
        "/v1/organizations/1/agent/runs",
        "/v1/alpha/organizations/1/agent/run/1/logs",
        "/v1/users/me",
        "/v1/organizations",
        "/v1/organizations/1/users",
        "/v1/organizations/1/users/1",
    ];
    for key in [None, Some("wrong-key"), Some("key-alic"), Some("")] {
        for path in paths {
            let r = get(&server, key, path).await;
            assert_error(&r, 401, "Invalid or missing API token.");
        }
        let r = post(
            &server,
            key,
            "/v1/organizations/1/agent/run",
            json!({"prompt": "x"}),
        )
        .await;
        assert_error(&r, 401, "Invalid or missing API token.");
    }
    let r = send(
        server
            .client
            .get(server.url("/v1/users/me"))
            .header("authorization", format!("Basic {ALICE}")),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Without a [codegen] section nobody gets in.
    let bare = TestServer::start(&config_with("")).await;
    let r = get(&bare, Some(ALICE), "/v1/users/me").await;
    assert_error(&r, 401, "Invalid or missing API token.");
}

#[tokio::test]
async fn non_members_get_403() {
    let server = start().await;
    let run = create(&server, ALICE, 1, json!({"prompt": "mine"})).await;
    let forbidden = "You do not have access to this organization.";
    for org in [3, 99] {
        let r = post(
            &server,
            Some(ALICE),
            &format!("/v1/organizations/{org}/agent/run"),
            json!({"prompt": "x"}),
        )
        .await;
        assert_error(&r, 403, forbidden);
    }
    for path in [
        "/v1/organizations/1/agent/run/1",
        "/v1/organizations/1/agent/runs",
        "/v1/alpha/organizations/1/agent/run/1/logs",
        "/v1/organizations/1/users",
        "/v1/organizations/1/users/1",
    ] {
        let r = get(&server, Some(CAROL), path).await;
        assert_error(&r, 403, forbidden);
    }
    let r = post(
        &server,
        Some(CAROL),
        "/v1/organizations/1/agent/run/resume",
        json!({"agent_run_id": run["id"], "prompt": "mine now"}),
    )
    .await;
    assert_error(&r, 403, forbidden);
}

#[tokio::test]
async fn unknown_runs_get_404() {
    let server = start().await;
    let r = get(&server, Some(ALICE), "/v1/organizations/1/agent/run/12345").await;
    assert_error(&r, 404, "Agent run not found.");
    let r = get(&server, Some(ALICE), "/v1/organizations/1/agent/run/-1").await;
    assert_error(&r, 404, "Agent run not found.");
    // A run is only found through its own organization.
    let run = create(&server, ALICE, 1, json!({"prompt": "x"})).await;
    let r = get(
        &server,
        Some(ALICE),
        &format!("/v1/organizations/2/agent/run/{}", run["id"]),
    )
    .await;
    assert_error(&r, 404, "Agent run not found.");
}

#[tokio::test]
async fn bad_requests_get_422_in_fastapi_shape() {
    let server = start().await;
    let r = post(
        &server,
        Some(ALICE),
        "/v1/organizations/1/agent/run",
        json!({"images": []}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.body,
        json!({"detail": [{"loc": ["body", "prompt"], "msg": "Field required", "type": "missing", "input": null}]})
    );

    let r = post(
        &server,
        Some(ALICE),
        "/v1/organizations/1/agent/run",
        json!({"prompt": 5, "metadata": "x", "repo_id": "ten"}),
    )
    .await;
    let types: Vec<&str> = r.body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["string_type", "dict_type", "int_type"]);

    let r = send(
        server
            .client
            .post(server.url("/v1/organizations/1/agent/run"))
            .header("content-type", "application/json")
            .body("{not json"),
        Some(ALICE),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["detail"][0]["type"], "json_invalid");

    let r = post(
        &server,
        Some(ALICE),
        "/v1/organizations/1/agent/run",
        json!(["a list"]),
    )
    .await;
    assert_eq!(r.body["detail"][0]["type"], "model_attributes_type");

    let r = get(&server, Some(ALICE), "/v1/organizations/acme/agent/run/1").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["detail"][0]["loc"], json!(["path", "org_id"]));
    assert_eq!(r.body["detail"][0]["type"], "int_parsing");
    let r = get(&server, Some(ALICE), "/v1/organizations/1/agent/run/abc").await;
    assert_eq!(r.body["detail"][0]["loc"], json!(["path", "agent_run_id"]));
}

#[tokio::test]
async fn an_organization_quota_gets_402() {
    let server = start().await;
    create(&server, ALICE, 2, json!({"prompt": "the one run"})).await;
    let r = post(
        &server,
        Some(ALICE),
        "/v1/organizations/2/agent/run",
        json!({"prompt": "one too many"}),
    )
    .await;
    assert_error(
        &r,
        402,
        "Alloted agent runs for the current billing plan have been reached. Please upgrade your plan to continue.",
    );
    // Other organizations are not affected.
    create(&server, ALICE, 1, json!({"prompt": "fine"})).await;
}

#[tokio::test]
async fn the_eleventh_create_in_a_minute_gets_429() {
    let server = start().await;
    for i in 0..10 {
        create(&server, ALICE, 1, json!({"prompt": format!("run {i}")})).await;
    }
    let r = post(
        &server,
        Some(ALICE),
        "/v1/organizations/1/agent/run",
        json!({"prompt": "one more"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        r.body,
        json!({
            "message": "Rate limit exceeded. Please try again later.",
            "detail": "Rate limit exceeded",
            "status_code": 429
        })
    );
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // The limit is per key, and only on creates.
    create(&server, BOB, 1, json!({"prompt": "bob is fine"})).await;
    let r = get(&server, Some(ALICE), "/v1/organizations/1/agent/runs").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["total"], 11);
}

#[tokio::test]
async fn the_rate_limit_window_is_configurable_and_slides() {
    let server = TestServer::start(&config(
        "[codegen.rate_limit]\ncreates = 1\nwindow_secs = 1\n",
    ))
    .await;
    create(&server, ALICE, 1, json!({"prompt": "one"})).await;
    let r = post(
        &server,
        Some(ALICE),
        "/v1/organizations/1/agent/run",
        json!({"prompt": "two"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers["retry-after"], "1");
    eventually("the window to slide", || async {
        let r = post(
            &server,
            Some(ALICE),
            "/v1/organizations/1/agent/run",
            json!({"prompt": "two"}),
        )
        .await;
        (r.status == StatusCode::OK).then_some(())
    })
    .await;
}

#[tokio::test]
async fn users_and_organizations() {
    let server = start().await;
    let r = get(&server, Some(ALICE), "/v1/users/me").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["id"], 1);
    assert_eq!(r.body["email"], "alice@example.com");
    assert_eq!(r.body["github_username"], "alice");
    assert_eq!(r.body["github_user_id"], "1");
    assert_eq!(r.body["full_name"], "Alice");

    let r = get(&server, Some(ALICE), "/v1/organizations").await;
    assert_eq!(r.body["total"], 2);
    assert_eq!(
        r.body["items"][0],
        json!({"id": 1, "name": "Acme", "settings": {"enable_pr_creation": true, "enable_rules_detection": true}})
    );
    assert_eq!(r.body["items"][1]["name"], "Quota");
    let r = get(&server, Some(ALICE), "/v1/organizations?skip=1&limit=1").await;
    assert_eq!(r.body["items"][0]["id"], 2);
    assert_eq!(r.body["page"], 2);

    let r = get(&server, Some(BOB), "/v1/organizations/1/users").await;
    let ids: Vec<&Value> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| &u["id"])
        .collect();
    assert_eq!(ids, [&json!(1), &json!(2)]);
    assert_eq!(r.body["items"][1]["github_username"], "bob");

    let r = get(&server, Some(BOB), "/v1/organizations/1/users/2").await;
    assert_eq!(r.body["github_username"], "bob");
    let r = get(&server, Some(BOB), "/v1/organizations/1/users/3").await;
    assert_error(&r, 404, "User not found.");
}

#[tokio::test]
async fn runs_survive_a_restart_and_ids_keep_counting() {
    let store = Arc::new(MemoryStore::new());
    let server = TestServer::start_with_store(&config(""), store.clone()).await;
    let run = create(
        &server,
        ALICE,
        1,
        json!({"prompt": "remember me", "metadata": {"k": 1}}),
    )
    .await;
    wait_done(&server, ALICE, 1, &run["id"]).await;
    server.stop();

    let server = TestServer::start_with_store(&config(""), store).await;
    let r = get(&server, Some(ALICE), "/v1/organizations/1/agent/run/1").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "COMPLETE");
    assert_eq!(r.body["result"], "You said: remember me");
    assert_eq!(r.body["metadata"], json!({"k": 1}));
    let next = create(&server, ALICE, 1, json!({"prompt": "again"})).await;
    assert_eq!(next["id"], 2);
}

#[tokio::test]
async fn openapi_documents_the_codegen_routes() {
    let server = start().await;
    let doc: Value = server
        .client
        .get(server.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/v1/organizations/{org_id}/agent/run",
        "/v1/organizations/{org_id}/agent/run/{agent_run_id}",
        "/v1/organizations/{org_id}/agent/runs",
        "/v1/organizations/{org_id}/agent/run/resume",
        "/v1/alpha/organizations/{org_id}/agent/run/{agent_run_id}/logs",
        "/v1/users/me",
        "/v1/organizations",
        "/v1/organizations/{org_id}/users",
        "/v1/organizations/{org_id}/users/{user_id}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
}

/// The generated Python client (what the codegen SDK's Agent wraps) creates
/// a run, polls it to COMPLETE, reads organizations and users, and gets the
/// exception classes it expects for 404, 401 and 403.
#[tokio::test]
async fn python_codegen_api_client_works_unmodified() {
    let Some(python) = crate::common::clients::python_with("codegen_api_client") else {
        return;
    };
    let server = start().await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/codegen_client.py"
    );
    let mut client = tokio::process::Command::new(&python);
    client
        .arg(script)
        .args([server.base.as_str(), ALICE, "1", "3"]);
    crate::common::clients::expect_steps(
        client,
        &[
            "ok create run 1",
            "ok poll to COMPLETE",
            "ok organizations [1, 2]",
            "ok users [1, 2]",
            "ok errors 404 401 403",
        ],
    )
    .await;
}
