//! Limits counted per caller, over real HTTP: requests per minute per API
//! key and protocol (`[server.rate_limits]`, or a key's own), and live runs
//! per API key (`server.max_concurrent_runs_per_key`, or a key's own, or a
//! Codegen user's), each refused with 429, Retry-After and the error shape
//! of the protocol that was called.

use crate::common::{TestServer, config_with, eventually};
use reqwest::Method;
use serde_json::{Value, json};

/// A builtin model slow enough (a token every 300 ms) that its runs stay
/// live while the test makes its point; they are cancelled at the end.
const SLOW: &str = r#"
[models.slow]
provider = "builtin"
token_delay_ms = 300

[[agents]]
id = "slow"
model = "slow"
"#;

const LONG: &str = "one two three four five six seven eight nine ten eleven twelve \
                    thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty";

const CODEGEN: &str = r#"
[codegen.agent_types]
codegen = "slow"
[[codegen.users]]
id = 7
api_keys = ["cg-key"]
organizations = [1]
max_concurrent_runs = 1
rate_limits = { codegen = 4 }
[[codegen.organizations]]
id = 1
name = "acme"
"#;

async fn call(
    server: &TestServer,
    method: Method,
    path: &str,
    key: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = server
        .client
        .request(method, server.url(path))
        .bearer_auth(key);
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.unwrap()
}

/// Asserts a 429 with a Retry-After of at least a second, and returns the body.
async fn too_many(resp: reqwest::Response, what: &str) -> Value {
    assert_eq!(resp.status(), 429, "{what}");
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1, "{what}: Retry-After {retry}");
    resp.json().await.unwrap()
}

#[tokio::test]
async fn requests_per_minute_are_limited_per_key_and_protocol() {
    let server = TestServer::start(&config_with(&format!(
        r#"{SLOW}
[server.rate_limits]
acp = 2
agui = 3
codegen = 1

[auth]
api_keys = ["k-plain", {{ key = "k-ci", name = "ci", rate_limits = {{ acp = 4, agentos = 1 }} }}]
{CODEGEN}"#
    )))
    .await;

    // ACP: two requests a minute for a plain key, then a 429 in ACP's shape.
    for _ in 0..2 {
        let r = call(&server, Method::GET, "/acp/agents", "k-plain", None).await;
        assert_eq!(r.status(), 200);
    }
    let body = too_many(
        call(&server, Method::GET, "/acp/agents", "k-plain", None).await,
        "third ACP request",
    )
    .await;
    assert_eq!(body["code"], "server_error", "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("at most 2 requests per minute to the ACP API for this API key"),
        "{message}"
    );
    // The root ACP routes are the same API.
    too_many(
        call(&server, Method::POST, "/runs", "k-plain", Some(json!({}))).await,
        "ACP at the root",
    )
    .await;

    // AgentOS has no limit for the plain key: its count is its own.
    for _ in 0..5 {
        let r = call(&server, Method::GET, "/agents", "k-plain", None).await;
        assert_eq!(r.status(), 200);
    }

    // AG-UI: three requests (even invalid ones count), then its own shape.
    for _ in 0..3 {
        let r = call(&server, Method::POST, "/agui", "k-plain", Some(json!({}))).await;
        assert_eq!(r.status(), 422);
    }
    let body = too_many(
        call(&server, Method::POST, "/agui", "k-plain", Some(json!({}))).await,
        "fourth AG-UI request",
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("AG-UI API"),
        "{body}"
    );
    assert!(body.get("code").is_none(), "{body}");

    // A key with limits of its own: ACP 4 (over the server's 2), AgentOS 1.
    for _ in 0..4 {
        let r = call(&server, Method::GET, "/acp/agents", "k-ci", None).await;
        assert_eq!(r.status(), 200);
    }
    too_many(
        call(&server, Method::GET, "/acp/agents", "k-ci", None).await,
        "fifth ACP request of ci",
    )
    .await;
    let r = call(&server, Method::GET, "/agents", "k-ci", None).await;
    assert_eq!(r.status(), 200);
    let body = too_many(
        call(&server, Method::GET, "/agents", "k-ci", None).await,
        "second AgentOS request of ci",
    )
    .await;
    assert_eq!(body["error_code"], "TOO_MANY_REQUESTS", "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("AgentOS API"),
        "{body}"
    );
    // AG-UI falls back to the server's limit for ci: it has its own count.
    let r = call(&server, Method::POST, "/agui", "k-ci", Some(json!({}))).await;
    assert_eq!(r.status(), 422);

    // Codegen users have theirs: 4 a minute for user 7 (server says 1).
    for _ in 0..4 {
        let r = call(&server, Method::GET, "/v1/users/me", "cg-key", None).await;
        assert_eq!(r.status(), 200);
    }
    let body = too_many(
        call(&server, Method::GET, "/v1/organizations", "cg-key", None).await,
        "fifth Codegen request",
    )
    .await;
    assert_eq!(body["status_code"], 429, "{body}");
    assert_eq!(body["detail"], "Rate limit exceeded", "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("Codegen API"),
        "{body}"
    );

    // Probes and the docs are never limited, and a refused key was still
    // authenticated first: a wrong key is a 401, not a 429.
    for _ in 0..5 {
        let r = server
            .client
            .get(server.url("/health"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let r = call(&server, Method::GET, "/acp/agents", "wrong", None).await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn live_runs_are_limited_per_key_with_retry_after() {
    let server = TestServer::start(&config_with(&format!(
        r#"{SLOW}
[server]
max_concurrent_runs_per_key = 1

[auth]
api_keys = ["k-a", "k-b", {{ key = "k-c", name = "c", max_concurrent_runs = 2 }}]
{CODEGEN}"#
    )))
    .await;
    let background = |key: &'static str| {
        let s = &server;
        async move {
            let form = reqwest::multipart::Form::new()
                .text("message", LONG)
                .text("background", "true");
            s.client
                .post(s.url("/agents/slow/runs"))
                .bearer_auth(key)
                .multipart(form)
                .send()
                .await
                .unwrap()
        }
    };
    let acp_async = json!({"agent_name": "slow", "mode": "async",
        "input": [{"role": "user", "parts": [{"content": LONG, "content_type": "text/plain"}]}]});
    let mut live = Vec::new();

    // Key a has one run live: its next one, through any protocol, is refused.
    let r = background("k-a").await;
    assert_eq!(r.status(), 202);
    live.push(
        r.json::<Value>().await.unwrap()["run_id"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    let body = too_many(
        call(
            &server,
            Method::POST,
            "/acp/runs",
            "k-a",
            Some(acp_async.clone()),
        )
        .await,
        "second run of key a",
    )
    .await;
    assert_eq!(body["code"], "server_error", "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("Too many runs in progress for this API key (at most 1 at once)"),
        "{message}"
    );
    let body = too_many(background("k-a").await, "AgentOS run of key a").await;
    assert_eq!(body["error_code"], "TOO_MANY_REQUESTS", "{body}");

    // Key b is another caller.
    let r = call(
        &server,
        Method::POST,
        "/acp/runs",
        "k-b",
        Some(acp_async.clone()),
    )
    .await;
    assert_eq!(r.status(), 202);
    live.push(
        r.json::<Value>().await.unwrap()["run_id"]
            .as_str()
            .unwrap()
            .to_string(),
    );

    // Key c may have two.
    for _ in 0..2 {
        let r = background("k-c").await;
        assert_eq!(r.status(), 202);
        live.push(
            r.json::<Value>().await.unwrap()["run_id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let agui = json!({"threadId": "t", "runId": "r-c3",
        "messages": [{"id": "m", "role": "user", "content": "hi"}],
        "tools": [], "context": [], "state": {}, "forwardedProps": {}});
    let body = too_many(
        call(&server, Method::POST, "/agui/slow", "k-c", Some(agui)).await,
        "third run of key c",
    )
    .await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("at most 2 at once"),
        "{body}"
    );

    // A Codegen user with a limit of one.
    let create = json!({"prompt": LONG});
    let r = call(
        &server,
        Method::POST,
        "/v1/organizations/1/agent/run",
        "cg-key",
        Some(create.clone()),
    )
    .await;
    assert_eq!(r.status(), 200);
    let body = too_many(
        call(
            &server,
            Method::POST,
            "/v1/organizations/1/agent/run",
            "cg-key",
            Some(create),
        )
        .await,
        "second Codegen run",
    )
    .await;
    assert_eq!(body["status_code"], 429, "{body}");

    // Refused runs left no trace; once key a's run ends it may start another.
    assert_eq!(server.engine.active_runs_of("key:api_keys[0]"), 1);
    assert_eq!(server.engine.active_runs_of("key:c"), 2);
    server
        .engine
        .cancel(&agentd::engine::Principal::open(), &live[0])
        .await
        .unwrap();
    eventually("key a's run to end", || async {
        (server.engine.active_runs_of("key:api_keys[0]") == 0).then_some(())
    })
    .await;
    let r = background("k-a").await;
    assert_eq!(r.status(), 202);
    live.push(
        r.json::<Value>().await.unwrap()["run_id"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    for run_id in &live[1..] {
        server
            .engine
            .cancel(&agentd::engine::Principal::open(), run_id)
            .await
            .unwrap();
    }
}
