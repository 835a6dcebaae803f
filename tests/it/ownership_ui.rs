//! Whose runs and sessions agentd's own pages show, with access tokens from
//! a real OpenID provider (tests/clients/oidc_provider.mjs): through the UI
//! API user A's runs and sessions are invisible and untouchable to user B
//! and to a user of another tenant (every route answers exactly as for an
//! unknown id, the event stream included), an admin sees everyone's, an
//! agent B may not run is not in B's picker; and in headless Chromium
//! (tests/clients/ui_ownership_browser.mjs) the playground asks for a token
//! or takes one from a host app's `#token=` fragment (and takes it off the
//! address bar), says whose sessions it lists, and lists only those.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::oidc::OidcProvider;
use crate::common::{PAUSING_AGENTS, TestServer, config_with, sse};

const LEDGER: &str = r#"
[[agents]]
id = "ledger"
name = "Ledger"
description = "Reports only"
model = "builtin"
allowed_scopes = ["reports"]
"#;

const UNKNOWN_SESSION: &str = "01900000-0000-7000-8000-00000000beef";
const UNKNOWN_RUN: &str = "01900000-0000-7000-8000-00000000cafe";

async fn answer(
    server: &TestServer,
    token: &str,
    method: Method,
    path: &str,
) -> (StatusCode, String) {
    let resp = server
        .client
        .request(method, server.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("answered");
    let status = resp.status();
    (status, resp.text().await.expect("a body"))
}

async fn json(server: &TestServer, token: &str, path: &str) -> Value {
    let (status, text) = answer(server, token, Method::GET, path).await;
    assert!(status.is_success(), "GET {path}: {status} {text}");
    serde_json::from_str(&text).expect("JSON")
}

/// One AG-UI run of `agent` in `thread` by the token's user, read to its end
/// (as the playground chats).
async fn agui_run(
    server: &TestServer,
    token: &str,
    agent: &str,
    thread: &str,
    text: &str,
) -> String {
    let run_id = uuid::Uuid::now_v7().to_string();
    let resp = server
        .client
        .post(server.url(&format!("/agui/{agent}")))
        .bearer_auth(token)
        .json(&json!({
            "threadId": thread, "runId": run_id, "state": {}, "tools": [], "context": [],
            "forwardedProps": {},
            "messages": [{"id": format!("{run_id}-m"), "role": "user", "content": text}],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "an AG-UI run of {agent}");
    sse::read_all(resp).await;
    run_id
}

fn ids(list: &Value, field: &str, key: &str) -> Vec<String> {
    list[field]
        .as_array()
        .unwrap_or_else(|| panic!("a list of {field}: {list}"))
        .iter()
        .filter_map(|x| x[key].as_str().map(str::to_string))
        .collect()
}

struct Story {
    server: TestServer,
    a: String,
    b: String,
    c: String,
    admin: String,
    _provider: OidcProvider,
}

async fn story() -> Option<Story> {
    let provider = OidcProvider::start().await?;
    let server = TestServer::start(&config_with(&format!(
        "{}{PAUSING_AGENTS}{LEDGER}",
        provider.auth_toml()
    )))
    .await;
    Some(Story {
        a: provider.token("user-a").await,
        b: provider.token("user-b").await,
        c: provider.token("user-c").await,
        admin: provider.token("admin").await,
        server,
        _provider: provider,
    })
}

#[tokio::test]
async fn the_ui_api_shows_each_user_their_own_and_answers_as_unknown_for_the_rest() {
    let Some(s) = story().await else { return };
    let server = &s.server;

    // A chats (a finished run) and leaves a run paused on a question.
    let thread = "thread-of-a";
    let done = agui_run(server, &s.a, "assistant", thread, "my secret is 42").await;
    let resp = server
        .client
        .post(server.url("/agents/asker/runs"))
        .bearer_auth(&s.a)
        .form(&[("message", r#"/tool ask_user {"question": "Which city?"}"#)])
        .send()
        .await
        .unwrap();
    let paused: Value = resp.json().await.unwrap();
    assert_eq!(paused["status"], "PAUSED", "{paused}");
    let held = paused["run_id"].as_str().unwrap().to_string();
    // B chats too.
    let b_run = agui_run(server, &s.b, "assistant", "thread-of-b", "hello from b").await;

    // Each lists only their own runs and sessions.
    let a_runs = ids(&json(server, &s.a, "/ui/api/runs").await, "runs", "run_id");
    assert!(
        a_runs.contains(&done) && a_runs.contains(&held),
        "{a_runs:?}"
    );
    assert!(
        !a_runs.contains(&b_run),
        "user-a lists user-b's run: {a_runs:?}"
    );
    for (who, token) in [("user-b", &s.b), ("user-c", &s.c)] {
        let runs = ids(&json(server, token, "/ui/api/runs").await, "runs", "run_id");
        assert!(
            !runs.contains(&done) && !runs.contains(&held),
            "{who} lists user-a's runs: {runs:?}"
        );
        let filtered = json(server, token, &format!("/ui/api/runs?session_id={thread}")).await;
        assert_eq!(
            ids(&filtered, "runs", "run_id"),
            Vec::<String>::new(),
            "{who} by A's session"
        );
        let sessions = ids(
            &json(server, token, "/ui/api/sessions").await,
            "sessions",
            "session_id",
        );
        assert!(
            !sessions.contains(&thread.to_string()),
            "{who} lists user-a's session: {sessions:?}"
        );
    }
    let b_sessions = ids(
        &json(server, &s.b, "/ui/api/sessions").await,
        "sessions",
        "session_id",
    );
    assert_eq!(b_sessions, ["thread-of-b"]);

    // Every route on A's run and session answers B and C as for ids nobody
    // made: the same status and the same words.
    let routes: [(Method, &str, &str, &str); 6] = [
        (Method::GET, "/ui/api/runs/{run}", "run", &done),
        (Method::GET, "/ui/api/runs/{run}/events", "replay", &done),
        (Method::GET, "/ui/api/runs/{run}/events", "follow", &held),
        (
            Method::GET,
            "/ui/api/runs/{run}/events?after=1",
            "resume",
            &held,
        ),
        (Method::POST, "/ui/api/runs/{run}/cancel", "cancel", &held),
        (Method::GET, "/ui/api/sessions/{session}", "session", thread),
    ];
    for (who, token) in [("user-b", &s.b), ("user-c", &s.c)] {
        for (method, path, what, id) in &routes {
            let unknown_id = if path.contains("{session}") {
                UNKNOWN_SESSION
            } else {
                UNKNOWN_RUN
            };
            let fill = |id: &str| path.replace("{run}", id).replace("{session}", id);
            // A stream that opened would never end while A's run is paused.
            let foreign = tokio::time::timeout(
                Duration::from_secs(10),
                answer(server, token, method.clone(), &fill(id)),
            )
            .await
            .unwrap_or_else(|_| panic!("{who}'s {what} of A's opened a stream"));
            let unknown = answer(server, token, method.clone(), &fill(unknown_id)).await;
            assert_eq!(
                foreign.0,
                StatusCode::NOT_FOUND,
                "{who}'s {what} of user-a's: {}",
                foreign.1
            );
            assert_eq!(
                foreign.1.replace(*id, unknown_id),
                unknown.1,
                "{who}'s {what} of user-a's answers as for an unknown id"
            );
        }
    }

    // A's paused run was not cancelled; A sees it and its whole session.
    let run = json(server, &s.a, &format!("/ui/api/runs/{held}")).await;
    assert_eq!(run["status"], "awaiting", "{run}");
    let session = json(server, &s.a, &format!("/ui/api/sessions/{thread}")).await;
    assert!(session["messages"].to_string().contains("my secret is 42"));

    // The admin lists and reads everyone's, and may stop A's run.
    let all = ids(
        &json(server, &s.admin, "/ui/api/runs").await,
        "runs",
        "run_id",
    );
    assert!(all.contains(&done) && all.contains(&b_run), "{all:?}");
    let sessions = ids(
        &json(server, &s.admin, "/ui/api/sessions").await,
        "sessions",
        "session_id",
    );
    assert!(
        sessions.contains(&thread.to_string()) && sessions.contains(&"thread-of-b".to_string())
    );
    json(server, &s.admin, &format!("/ui/api/sessions/{thread}")).await;
    let (status, body) = answer(
        server,
        &s.admin,
        Method::POST,
        &format!("/ui/api/runs/{held}/cancel"),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
}

#[tokio::test]
async fn the_catalog_names_the_viewer_and_leaves_out_agents_they_may_not_run() {
    let Some(s) = story().await else { return };
    let server = &s.server;
    let agents = |catalog: &Value| ids(catalog, "agents", "id");

    let a = json(server, &s.a, "/ui/api/catalog").await;
    assert_eq!(
        a["viewer"],
        json!({"user": "user-a", "tenant": "acme", "admin": false})
    );
    assert!(agents(&a).contains(&"ledger".to_string()));

    let b = json(server, &s.b, "/ui/api/catalog").await;
    assert_eq!(
        b["viewer"],
        json!({"user": "user-b", "tenant": "acme", "admin": false})
    );
    assert!(
        !agents(&b).contains(&"ledger".to_string()),
        "user-b's picker: {b}"
    );
    assert!(agents(&b).contains(&"assistant".to_string()));

    let admin = json(server, &s.admin, "/ui/api/catalog").await;
    assert_eq!(admin["viewer"]["admin"], true);
    assert!(agents(&admin).contains(&"ledger".to_string()));
}

/// The playground in headless Chromium with JWT auth on: a token typed in
/// the dialog, a token handed over in `#token=`, whose sessions are listed.
#[tokio::test]
async fn the_playground_asks_for_a_token_and_lists_only_the_users_sessions() {
    let Some((executable, clients)) = crate::ui::browser("chromium") else {
        return;
    };
    let Some(s) = story().await else { return };
    let server = &s.server;
    // Each has a session already, from another frontend.
    agui_run(server, &s.a, "assistant", "a-earlier", "notes of a").await;
    agui_run(server, &s.b, "assistant", "b-earlier", "notes of b").await;

    let work = std::env::temp_dir().join(format!("agentd-ui-own-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&work).unwrap();
    let plan = json!({
        "executable": executable,
        "base": server.base,
        "token_a": s.a,
        "token_b": s.b,
        "token_admin": s.admin,
        "screenshot": work.join("playground.png"),
    });
    let plan_file = work.join("plan.json");
    std::fs::write(&plan_file, plan.to_string()).unwrap();
    let out = tokio::time::timeout(
        Duration::from_secs(180),
        tokio::process::Command::new("node")
            .arg(clients.join("ui_ownership_browser.mjs"))
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
        "token_prompt",
        "own_sessions_only",
        "token_from_fragment",
        "admin_sees_all",
    ] {
        assert!(
            stdout.contains(&format!("ok {scenario}")),
            "{scenario} did not run:\n{stdout}"
        );
    }
    // What A sent from the page is A's: B does not see it.
    let a_sessions = ids(
        &json(server, &s.a, "/ui/api/sessions").await,
        "sessions",
        "name",
    );
    assert!(
        a_sessions.iter().any(|n| n.contains("typed by a")),
        "{a_sessions:?}"
    );
    let b_sessions = ids(
        &json(server, &s.b, "/ui/api/sessions").await,
        "sessions",
        "name",
    );
    assert!(
        !b_sessions.iter().any(|n| n.contains("typed by a")),
        "{b_sessions:?}"
    );
    std::fs::remove_dir_all(work).ok();
}
