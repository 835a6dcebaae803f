//! Identity and ownership on A2A, with tokens from a real OpenID provider
//! (tests/clients/oidc_provider.mjs): user A's tasks and contexts are
//! A's. User B of the same tenant, and user C of another, get, list,
//! cancel, resubscribe to and continue them through the unmodified
//! clients (@a2a-js/sdk over JSON-RPC and HTTP+JSON, a2a-sdk 0.3) and raw
//! requests of both bindings, and every try answers exactly as for a task
//! that does not exist; the admin sees them; an agent B's scopes do not
//! allow is absent from B's cards and refused with 403; live-run limits
//! count per user.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::oidc::OidcProvider;
use crate::common::{PAUSING_AGENTS, TestServer, config_with};

/// The pausing agents, and `ledger`, which only holders of the `reports`
/// scope may run (user-a and user-c have it, user-b has `chat`).
pub const LEDGER: &str = r#"
[[agents]]
id = "ledger"
description = "Reports only"
model = "builtin"
allowed_scopes = ["reports"]
"#;

fn config(provider: &OidcProvider, extra: &str) -> String {
    config_with(&format!(
        "{PAUSING_AGENTS}{LEDGER}{extra}\n{}",
        provider.auth_toml()
    ))
}

/// The four callers' tokens.
struct Tokens {
    a: String,
    b: String,
    c: String,
    admin: String,
}

async fn tokens(provider: &OidcProvider) -> Tokens {
    Tokens {
        a: provider.token("user-a").await,
        b: provider.token("user-b").await,
        c: provider.token("user-c").await,
        admin: provider.token("admin").await,
    }
}

/// The unmodified @a2a-js/sdk, one client per user built by its own
/// factory with its authenticating fetch, over each binding.
#[tokio::test]
async fn js_a2a_sdk_users_see_only_their_own_tasks_over_both_bindings() {
    let Some(clients) = crate::common::clients::node_with(&["@a2a-js/sdk", "oidc-provider"]) else {
        return;
    };
    let Some(provider) = OidcProvider::start().await else {
        return;
    };
    let server = TestServer::start(&config(&provider, "")).await;
    let t = tokens(&provider).await;
    for transport in ["JSONRPC", "HTTP+JSON"] {
        let mut client = tokio::process::Command::new("node");
        client
            .arg(clients.join("a2a_ownership.mjs"))
            .arg(&server.base)
            .arg(transport)
            .args([&t.a, &t.b, &t.c, &t.admin]);
        crate::common::clients::expect_steps(
            client,
            &[
                "ok cards list only the caller's agents",
                "ok A's tasks",
                "ok B finds none of A's tasks",
                "ok C finds none of A's tasks",
                "ok admin sees A's tasks",
                "ok A's own tasks are untouched",
            ],
        )
        .await;
    }
}

/// The unmodified a2a-sdk 0.3 Python client over JSON-RPC.
#[tokio::test]
async fn python_a2a_sdk_user_b_finds_none_of_user_as_tasks() {
    let Some(python) = crate::common::clients::python_with("a2a.client") else {
        return;
    };
    let Some(provider) = OidcProvider::start().await else {
        return;
    };
    let server = TestServer::start(&config(&provider, "")).await;
    let t = tokens(&provider).await;
    let mut client = tokio::process::Command::new(&python);
    client
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/clients/a2a_ownership.py"
        ))
        .arg(&server.base)
        .args([&t.a, &t.b, &t.admin]);
    crate::common::clients::expect_steps(
        client,
        &[
            "ok cards list only the caller's agents",
            "ok A's tasks",
            "ok B finds none of A's tasks",
            "ok admin sees A's tasks",
            "ok A's own tasks are untouched",
        ],
    )
    .await;
}

/// One request as a client sends it.
async fn send(
    server: &TestServer,
    token: &str,
    method: Method,
    path: &str,
    v1: bool,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut req = server
        .client
        .request(method, server.url(path))
        .bearer_auth(token);
    if v1 {
        req = req.header("A2A-Version", "1.0");
    }
    if let Some(body) = body {
        req = req.json(body);
    }
    req.send().await.expect("answered")
}

/// Status and body, with `id` written as `<id>`: what a caller learns.
async fn seen(resp: reqwest::Response, id: &str) -> (u16, String) {
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("a body");
    (status, text.replace(id, "<id>"))
}

fn rpc(method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
}

fn message_v03(text: &str, extra: Value) -> Value {
    let mut m = json!({"kind": "message", "messageId": "m1", "role": "user",
        "parts": [{"kind": "text", "text": text}]});
    m.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    json!({"message": m})
}

fn message_v1(text: &str, extra: Value) -> Value {
    let mut m = json!({"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": text}]});
    m.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    json!({"message": m})
}

/// A long message (400 words) sent to the `slow` agent over HTTP+JSON,
/// answered at once (`returnImmediately`) while its task runs on.
async fn send_slow(server: &TestServer, token: &str, slow: &Value) -> reqwest::Response {
    send(
        server,
        token,
        Method::POST,
        "/a2a/slow/message:send",
        true,
        Some(slow),
    )
    .await
}

/// Every route that names a task or a context, tried by `who` on A's id
/// and on an id nobody has: the two answers are the same bytes (no
/// existence oracle), and not a success.
async fn answers_as_for_unknown(
    server: &TestServer,
    who: &str,
    token: &str,
    task: &str,
    ctx: &str,
) {
    // (method, path, A2A 1.0?, body with {ID} for the id tried)
    let routes: Vec<(Method, String, bool, Option<String>)> = vec![
        (
            Method::POST,
            "/a2a/slow".into(),
            false,
            Some(rpc("tasks/get", json!({"id": "{ID}"})).to_string()),
        ),
        (
            Method::POST,
            "/a2a/slow".into(),
            false,
            Some(rpc("tasks/cancel", json!({"id": "{ID}"})).to_string()),
        ),
        (
            Method::POST,
            "/a2a/slow".into(),
            false,
            Some(rpc("tasks/resubscribe", json!({"id": "{ID}"})).to_string()),
        ),
        (
            Method::POST,
            "/a2a/slow".into(),
            false,
            Some(
                rpc(
                    "message/send",
                    message_v03("more", json!({"taskId": "{ID}"})),
                )
                .to_string(),
            ),
        ),
        (
            Method::POST,
            "/a2a/slow".into(),
            true,
            Some(rpc("GetTask", json!({"id": "{ID}"})).to_string()),
        ),
        (
            Method::POST,
            "/a2a/slow".into(),
            true,
            Some(rpc("CancelTask", json!({"id": "{ID}"})).to_string()),
        ),
        (
            Method::POST,
            "/a2a/slow".into(),
            true,
            Some(rpc("SubscribeToTask", json!({"id": "{ID}"})).to_string()),
        ),
        (
            Method::POST,
            "/a2a/slow".into(),
            true,
            Some(rpc("SendMessage", message_v1("more", json!({"taskId": "{ID}"}))).to_string()),
        ),
        (Method::GET, "/a2a/slow/tasks/{ID}".into(), true, None),
        (
            Method::POST,
            "/a2a/slow/tasks/{ID}:cancel".into(),
            true,
            None,
        ),
        (
            Method::GET,
            "/a2a/slow/tasks/{ID}:subscribe".into(),
            true,
            None,
        ),
        (
            Method::POST,
            "/a2a/slow/message:send".into(),
            true,
            Some(message_v1("more", json!({"taskId": "{ID}"})).to_string()),
        ),
    ];
    let unknown = "0197f00d-0000-7000-8000-00000000dead";
    for (method, path, v1, body) in &routes {
        let try_id = |id: &str| {
            let path = path.replace("{ID}", id);
            let body: Option<Value> = body
                .as_ref()
                .map(|b| serde_json::from_str(&b.replace("{ID}", id)).unwrap());
            (path, body)
        };
        let (p, b) = try_id(task);
        let theirs = seen(
            send(server, token, method.clone(), &p, *v1, b.as_ref()).await,
            task,
        )
        .await;
        let (p, b) = try_id(unknown);
        let none = seen(
            send(server, token, method.clone(), &p, *v1, b.as_ref()).await,
            unknown,
        )
        .await;
        assert_eq!(
            theirs, none,
            "{who}: {method} {path} {body:?} on A's task vs an unknown one"
        );
        assert!(
            theirs.0 == 404 || theirs.1.contains("\"error\""),
            "{who}: {method} {path} is refused: {theirs:?}"
        );
    }
    // Continuing A's context (a new task in it) is refused like a task
    // nobody has; listing it finds nothing.
    let cont = json!(rpc(
        "message/send",
        message_v03("what did A say?", json!({"contextId": ctx}))
    ));
    let v: Value = send(
        server,
        token,
        Method::POST,
        "/a2a/assistant",
        false,
        Some(&cont),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        v["error"]["code"], -32001,
        "{who} continues A's context: {v}"
    );
    let resp = send(
        server,
        token,
        Method::POST,
        "/a2a/assistant/message:send",
        true,
        Some(&message_v1("what did A say?", json!({"contextId": ctx}))),
    )
    .await;
    assert_eq!(
        resp.status(),
        404,
        "{who} continues A's context over HTTP+JSON"
    );
    for path in [
        format!("/a2a/assistant/tasks?contextId={ctx}"),
        "/a2a/assistant/tasks?pageSize=100".to_string(),
        "/a2a/slow/tasks?pageSize=100".to_string(),
    ] {
        let listed: Value = send(server, token, Method::GET, &path, true, None)
            .await
            .json()
            .await
            .unwrap();
        let ids: Vec<&str> = listed["tasks"]
            .as_array()
            .unwrap_or_else(|| panic!("{who} {path}: {listed}"))
            .iter()
            .map(|t| t["id"].as_str().unwrap())
            .collect();
        assert!(!ids.contains(&task), "{who} {path}: {listed}");
        assert!(
            listed["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["contextId"] != ctx),
            "{who} {path}: {listed}"
        );
    }
    let listed = send(
        server,
        token,
        Method::POST,
        "/a2a/assistant",
        true,
        Some(&rpc("ListTasks", json!({"contextId": ctx}))),
    )
    .await
    .json::<Value>()
    .await
    .unwrap();
    assert_eq!(
        listed["result"]["totalSize"], 0,
        "{who} ListTasks: {listed}"
    );
}

/// Raw requests of both bindings and both versions: another user's task is
/// answered byte for byte as an unknown one on every route; the admin sees
/// it; A still owns it.
#[tokio::test]
async fn another_users_task_answers_as_an_unknown_one_on_every_route() {
    let Some(provider) = OidcProvider::start().await else {
        return;
    };
    let server = TestServer::start(&config(&provider, "")).await;
    let t = tokens(&provider).await;

    // A: a finished task (its context) and a running one.
    let done = send(
        &server,
        &t.a,
        Method::POST,
        "/a2a/assistant/message:send",
        true,
        Some(&message_v1("first from A", json!({}))),
    )
    .await;
    assert_eq!(done.status(), 200);
    let done: Value = done.json().await.unwrap();
    let ctx = done["task"]["contextId"].as_str().unwrap().to_string();
    let words: Vec<String> = (0..400).map(|i| i.to_string()).collect();
    let mut slow = message_v1(&words.join(" "), json!({}));
    slow["configuration"] = json!({"returnImmediately": true});
    let running: Value = send_slow(&server, &t.a, &slow).await.json().await.unwrap();
    let task = running["task"]["id"].as_str().unwrap().to_string();

    answers_as_for_unknown(&server, "user B", &t.b, &task, &ctx).await;
    answers_as_for_unknown(&server, "user C of another tenant", &t.c, &task, &ctx).await;

    // The admin sees both of A's; A's running task was not cancelled by
    // any of the tries above, and is still A's to cancel.
    let done_id = done["task"]["id"].as_str().unwrap();
    for (agent, id) in [("slow", task.as_str()), ("assistant", done_id)] {
        let resp = send(
            &server,
            &t.admin,
            Method::GET,
            &format!("/a2a/{agent}/tasks/{id}"),
            true,
            None,
        )
        .await;
        assert_eq!(resp.status(), 200, "admin sees A's task {id}");
        let got: Value = resp.json().await.unwrap();
        assert_eq!(got["id"], id, "{got}");
    }
    let listed: Value = send(
        &server,
        &t.admin,
        Method::GET,
        &format!("/a2a/assistant/tasks?contextId={ctx}"),
        true,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        listed["tasks"][0]["contextId"], ctx,
        "admin lists A's context: {listed}"
    );
    let mine: Value = send(
        &server,
        &t.a,
        Method::GET,
        &format!("/a2a/slow/tasks/{task}"),
        true,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(
        ["TASK_STATE_SUBMITTED", "TASK_STATE_WORKING"]
            .contains(&mine["status"]["state"].as_str().unwrap()),
        "no try of B's touched A's task: {mine}"
    );
    let canceled: Value = send(
        &server,
        &t.a,
        Method::POST,
        &format!("/a2a/slow/tasks/{task}:cancel"),
        true,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        canceled["status"]["state"], "TASK_STATE_CANCELED",
        "{canceled}"
    );
    // A's context holds A's one task: no try of B's added to it.
    let own: Value = send(
        &server,
        &t.a,
        Method::GET,
        &format!("/a2a/assistant/tasks?contextId={ctx}"),
        true,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(own["totalSize"], 1, "{own}");
}

/// `ledger` needs the `reports` scope: B (scope `chat`) does not see it on
/// the server card, and a message to it is 403 in each binding's shape,
/// starting no run; A, C and the admin may use it.
#[tokio::test]
async fn an_agent_outside_the_callers_scopes_is_hidden_and_forbidden() {
    let Some(provider) = OidcProvider::start().await else {
        return;
    };
    let server = TestServer::start(&config(&provider, "")).await;
    let t = tokens(&provider).await;
    let skills = |card: Value| -> Vec<String> {
        card["skills"]
            .as_array()
            .unwrap_or_else(|| panic!("{card}"))
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect()
    };
    for path in ["/.well-known/agent-card.json", "/.well-known/agent.json"] {
        for (who, token, sees) in [
            ("A", &t.a, true),
            ("B", &t.b, false),
            ("C", &t.c, true),
            ("admin", &t.admin, true),
        ] {
            let card: Value = send(&server, token, Method::GET, path, false, None)
                .await
                .json()
                .await
                .unwrap();
            let ids = skills(card);
            assert!(
                ids.contains(&"assistant".to_string()),
                "{who} {path}: {ids:?}"
            );
            assert_eq!(
                ids.contains(&"ledger".to_string()),
                sees,
                "{who} {path}: {ids:?}"
            );
        }
    }

    let resp = send(
        &server,
        &t.b,
        Method::POST,
        "/a2a/ledger/message:send",
        true,
        Some(&message_v1("the books", json!({}))),
    )
    .await;
    assert_eq!(resp.status(), 403);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], 403, "{body}");
    assert_eq!(body["error"]["status"], "PERMISSION_DENIED", "{body}");
    let resp = send(
        &server,
        &t.b,
        Method::POST,
        "/a2a/ledger/message:stream",
        true,
        Some(&message_v1("the books", json!({}))),
    )
    .await;
    assert_eq!(resp.status(), 403);
    for (v1, method, params) in [
        (false, "message/send", message_v03("the books", json!({}))),
        (false, "message/stream", message_v03("the books", json!({}))),
        (true, "SendMessage", message_v1("the books", json!({}))),
    ] {
        let resp = send(
            &server,
            &t.b,
            Method::POST,
            "/a2a/ledger",
            v1,
            Some(&rpc(method, params.clone())),
        )
        .await;
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["jsonrpc"], "2.0", "{method}: {body}");
        assert!(
            body["error"]["code"].is_i64(),
            "{method} is refused: {body}"
        );
        assert!(body.get("result").is_none(), "{method}: {body}");
    }
    // Named in metadata at the server endpoint, the same.
    let mut params = message_v03("the books", json!({}));
    params["metadata"] = json!({"agentId": "ledger"});
    let body: Value = send(
        &server,
        &t.b,
        Method::POST,
        "/a2a",
        false,
        Some(&rpc("message/send", params.clone())),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(body["error"]["code"].is_i64(), "{body}");
    let runs = server
        .engine
        .list_runs(&agentd::engine::Principal::open(), &Default::default())
        .await
        .unwrap();
    assert!(
        runs.iter().all(|r| r.agent_id != "ledger"),
        "no run of ledger was started"
    );

    for (who, token) in [("A", &t.a), ("C", &t.c), ("admin", &t.admin)] {
        let resp = send(
            &server,
            token,
            Method::POST,
            "/a2a/ledger/message:send",
            true,
            Some(&message_v1("the books", json!({}))),
        )
        .await;
        assert_eq!(resp.status(), 200, "{who} may run ledger");
    }
}

/// With one live run per caller, the caller is the user: A's second live
/// task is refused (429 with Retry-After on HTTP+JSON), while B, with the
/// same provider and client, still starts one.
#[tokio::test]
async fn live_run_limits_count_per_user() {
    let Some(provider) = OidcProvider::start().await else {
        return;
    };
    let server = TestServer::start(&config(
        &provider,
        "\n[server]\nmax_concurrent_runs_per_key = 1\n",
    ))
    .await;
    let t = tokens(&provider).await;
    let words: Vec<String> = (0..400).map(|i| i.to_string()).collect();
    let mut slow = message_v1(&words.join(" "), json!({}));
    slow["configuration"] = json!({"returnImmediately": true});
    let resp = send_slow(&server, &t.a, &slow).await;
    assert_eq!(resp.status(), 200, "A's first");
    let resp = send_slow(&server, &t.a, &slow).await;
    assert_eq!(resp.status(), 429, "A's second live task");
    assert!(resp.headers().contains_key("retry-after"));
    // A fresh token of A's is the same user.
    let again = provider.token("user-a").await;
    let resp = send_slow(&server, &again, &slow).await;
    assert_eq!(resp.status(), 429, "A with another token");
    let resp = send_slow(&server, &t.b, &slow).await;
    assert_eq!(resp.status(), 200, "B is another user");
}
