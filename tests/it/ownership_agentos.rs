//! Whose sessions and runs an AgentOS client sees, with access tokens from
//! a real OpenID provider (tests/clients/oidc_provider.mjs): user A's
//! sessions and runs are invisible and untouchable to user B through every
//! AgentOS route (read, list, replay, continue, cancel, rename, delete: each
//! answers exactly as an unknown id does, so B cannot even tell they
//! exist), a user of another tenant never sees them, an admin sees
//! everyone's, the form's `user_id` cannot speak for someone else, an agent
//! that needs a scope B lacks is 403 and absent from B's listings, and
//! live-run limits count per user. Told with reqwest form posts (as
//! AgentOSClient posts) and with Agno's own AgentOSClient.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::oidc::OidcProvider;
use crate::common::{PAUSING_AGENTS, TestServer, config_with, sse};

/// `ledger` may be run only by holders of the `reports` scope: user-a and
/// user-c have it, user-b (scope `chat`) does not.
const LEDGER: &str = r#"
[[agents]]
id = "ledger"
description = "Reports only"
model = "builtin"
allowed_scopes = ["reports"]
"#;

/// Ids nobody made, standing in for "unknown" in the no-oracle checks.
const UNKNOWN_SESSION: &str = "01900000-0000-7000-8000-00000000beef";
const UNKNOWN_RUN: &str = "01900000-0000-7000-8000-00000000cafe";

enum Body {
    None,
    Form(Vec<(&'static str, String)>),
    Json(Value),
}

struct Story {
    server: TestServer,
    a: String,
    b: String,
    c: String,
    admin: String,
    _provider: OidcProvider,
}

async fn story(extra: &str) -> Option<Story> {
    let provider = OidcProvider::start().await?;
    let server = TestServer::start(&config_with(&format!(
        "{}{PAUSING_AGENTS}{LEDGER}{extra}",
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

async fn send(
    server: &TestServer,
    token: &str,
    method: Method,
    path: &str,
    body: Body,
) -> reqwest::Response {
    let req = server
        .client
        .request(method, server.url(path))
        .bearer_auth(token);
    let req = match body {
        Body::None => req,
        Body::Form(pairs) => req.form(&pairs),
        Body::Json(v) => req.json(&v),
    };
    req.send().await.expect("answered")
}

/// Status and body text, for answers compared whole.
async fn answer(
    server: &TestServer,
    token: &str,
    method: Method,
    path: &str,
    body: Body,
) -> (StatusCode, String) {
    let resp = send(server, token, method, path, body).await;
    let status = resp.status();
    (status, resp.text().await.expect("a body"))
}

async fn json(server: &TestServer, token: &str, method: Method, path: &str, body: Body) -> Value {
    let (status, text) = answer(server, token, method.clone(), path, body).await;
    assert!(status.is_success(), "{method} {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: JSON, got {text}"))
}

/// A finished JSON run of `agent` by the token's user.
/// A GET answered with success, as JSON (see `json`).
async fn get(server: &TestServer, token: &str, path: &str) -> Value {
    json(server, token, Method::GET, path, Body::None).await
}

async fn run(
    server: &TestServer,
    token: &str,
    agent: &str,
    fields: &[(&'static str, &str)],
) -> Value {
    let pairs = fields.iter().map(|(k, v)| (*k, v.to_string())).collect();
    json(
        server,
        token,
        Method::POST,
        &format!("/agents/{agent}/runs"),
        Body::Form(pairs),
    )
    .await
}

fn session_ids(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .expect("a page of sessions")
        .iter()
        .map(|s| s["session_id"].as_str().expect("session_id").to_string())
        .collect()
}

/// One probe of B's on A's ids, tried again with ids nobody made: the two
/// answers must be the same bytes (ids aside), so B learns nothing.
struct Probe {
    what: &'static str,
    method: Method,
    /// With `{session}` and `{run}` to fill in.
    path: &'static str,
    body: fn(&str, &str) -> Body,
}

fn probes() -> Vec<Probe> {
    fn none(_: &str, _: &str) -> Body {
        Body::None
    }
    let p = |what, method, path, body| Probe {
        what,
        method,
        path,
        body,
    };
    vec![
        p("get session", Method::GET, "/sessions/{session}", none),
        p(
            "session runs",
            Method::GET,
            "/sessions/{session}/runs",
            none,
        ),
        p(
            "session run",
            Method::GET,
            "/sessions/{session}/runs/{run}",
            none,
        ),
        p(
            "poll run",
            Method::GET,
            "/agents/assistant/runs/{run}?session_id={session}",
            none,
        ),
        p(
            "list runs",
            Method::GET,
            "/agents/assistant/runs?session_id={session}",
            none,
        ),
        p(
            "replay",
            Method::POST,
            "/agents/assistant/runs/{run}/resume",
            |s, _| {
                Body::Form(vec![
                    ("last_event_index", "0".into()),
                    ("session_id", s.into()),
                ])
            },
        ),
        p(
            "rename",
            Method::POST,
            "/sessions/{session}/rename",
            |_, _| Body::Json(json!({"session_name": "taken over"})),
        ),
        p("update", Method::PATCH, "/sessions/{session}", |_, _| {
            Body::Json(json!({"session_name": "taken over", "session_state": {"owner": "b"}}))
        }),
        p("delete", Method::DELETE, "/sessions/{session}", none),
        p("bulk delete", Method::DELETE, "/sessions", |s, _| {
            Body::Json(json!({"session_ids": [s], "session_types": ["agent"]}))
        }),
    ]
}

fn fill(path: &str, session: &str, run: &str) -> String {
    path.replace("{session}", session).replace("{run}", run)
}

/// B tries each probe on A's session and run: each answers as for ids
/// nobody made (404 where a lookup fails), and nothing of A's leaks.
async fn probe_like_unknown(s: &Story, token: &str, who: &str, session: &str, run_id: &str) {
    for probe in probes() {
        let foreign = answer(
            &s.server,
            token,
            probe.method.clone(),
            &fill(probe.path, session, run_id),
            (probe.body)(session, run_id),
        )
        .await;
        let unknown = answer(
            &s.server,
            token,
            probe.method.clone(),
            &fill(probe.path, UNKNOWN_SESSION, UNKNOWN_RUN),
            (probe.body)(UNKNOWN_SESSION, UNKNOWN_RUN),
        )
        .await;
        let foreign_text = foreign
            .1
            .replace(session, UNKNOWN_SESSION)
            .replace(run_id, UNKNOWN_RUN);
        assert_eq!(
            (foreign.0, foreign_text.as_str()),
            (unknown.0, unknown.1.as_str()),
            "{who}'s {} of user-a's session answers as for an unknown one",
            probe.what
        );
        assert!(
            !foreign.1.contains("my secret is"),
            "{who}'s {}: user-a's words leaked: {}",
            probe.what,
            foreign.1
        );
    }
}

#[tokio::test]
async fn another_users_sessions_and_runs_answer_as_unknown_on_every_agentos_route() {
    let Some(s) = story("").await else { return };
    let server = &s.server;

    // A talks, twice in one session, and names it.
    let first = run(server, &s.a, "assistant", &[("message", "my secret is 42")]).await;
    let session = first["session_id"].as_str().unwrap().to_string();
    let run_id = first["run_id"].as_str().unwrap().to_string();
    run(
        server,
        &s.a,
        "assistant",
        &[("message", "and 43"), ("session_id", &session)],
    )
    .await;
    json(
        server,
        &s.a,
        Method::POST,
        &format!("/sessions/{session}/rename"),
        Body::Json(json!({"session_name": "A's numbers"})),
    )
    .await;
    // B has a session of their own.
    let b_run = run(server, &s.b, "assistant", &[("message", "hello from b")]).await;
    let b_session = b_run["session_id"].as_str().unwrap().to_string();

    // Each lists only their own, even when asking for the other by user_id.
    let mine = session_ids(&json(server, &s.a, Method::GET, "/sessions", Body::None).await);
    assert_eq!(
        mine,
        std::slice::from_ref(&session),
        "user-a lists their own session only"
    );
    for query in ["/sessions", "/sessions?component_id=assistant"] {
        let theirs = json(server, &s.b, Method::GET, query, Body::None).await;
        assert_eq!(
            session_ids(&theirs),
            std::slice::from_ref(&b_session),
            "user-b's {query}"
        );
        assert_eq!(
            theirs["meta"]["total_count"], 1,
            "user-b's {query} counts only theirs"
        );
    }
    // Asking for A's by user_id finds nothing, as for a user with none.
    let asked = get(server, &s.b, "/sessions?user_id=user-a").await;
    let nobody = get(server, &s.b, "/sessions?user_id=nobody").await;
    assert_eq!(
        session_ids(&asked),
        Vec::<String>::new(),
        "user-b asking for user-a's"
    );
    assert_eq!(asked["meta"]["total_count"], nobody["meta"]["total_count"]);

    // B tries every route on A's session and run: as if they did not exist.
    probe_like_unknown(&s, &s.b, "user-b", &session, &run_id).await;
    // So does a user of another tenant.
    probe_like_unknown(&s, &s.c, "user-c", &session, &run_id).await;
    let globex = json(server, &s.c, Method::GET, "/sessions", Body::None).await;
    assert_eq!(
        session_ids(&globex),
        Vec::<String>::new(),
        "user-c of globex lists nothing"
    );

    // B's run naming A's session does not join it: it answers as a run in a
    // session B may not use, and A's history stays A's.
    let (status, text) = answer(
        server,
        &s.b,
        Method::POST,
        "/agents/assistant/runs",
        Body::Form(vec![
            ("message", "what is my secret?".into()),
            ("session_id", session.clone()),
        ]),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "user-b running in user-a's session: {text}"
    );
    assert!(!text.contains("42"), "A's history reached B: {text}");

    // Nothing B did touched A's session: still there, still named, both runs.
    let kept = get(server, &s.a, &format!("/sessions/{session}")).await;
    assert_eq!(kept["session_name"], "A's numbers", "{kept}");
    let runs = get(server, &s.a, &format!("/sessions/{session}/runs")).await;
    assert_eq!(runs.as_array().unwrap().len(), 2, "{runs}");

    // The admin sees both users' sessions and may read A's.
    let all = session_ids(&json(server, &s.admin, Method::GET, "/sessions", Body::None).await);
    assert!(
        all.contains(&session) && all.contains(&b_session),
        "admin lists both: {all:?}"
    );
    let read = get(server, &s.admin, &format!("/sessions/{session}")).await;
    assert_eq!(read["session_name"], "A's numbers");

    // A may still delete their own.
    let (status, _) = answer(
        server,
        &s.a,
        Method::DELETE,
        &format!("/sessions/{session}"),
        Body::None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = answer(
        server,
        &s.a,
        Method::GET,
        &format!("/sessions/{session}"),
        Body::None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A run paused on ask_user, by `token`'s user: (run, session).
async fn paused(server: &TestServer, token: &str) -> Value {
    let out = run(
        server,
        token,
        "asker",
        &[("message", r#"/tool ask_user {"question": "Which city?"}"#)],
    )
    .await;
    assert_eq!(out["status"], "PAUSED", "{out}");
    out
}

/// The answer to a paused run's ask_user, as AgentOS's `tools` field.
fn answered(paused: &Value, city: &str) -> String {
    let mut tool = paused["requirements"][0]["tool_execution"].clone();
    assert!(tool.is_object(), "a paused run lists its call: {paused}");
    tool["result"] = json!(city);
    json!([tool]).to_string()
}

#[tokio::test]
async fn another_users_live_run_cannot_be_continued_cancelled_or_followed() {
    let Some(s) = story("").await else { return };
    let server = &s.server;
    let held = paused(server, &s.a).await;
    let run_id = held["run_id"].as_str().unwrap().to_string();
    let session = held["session_id"].as_str().unwrap().to_string();
    let tools = answered(&held, "Paris");

    for (who, token) in [("user-b", &s.b), ("user-c", &s.c)] {
        // Continue: as for a run nobody made.
        let continue_of = |session: &str| {
            Body::Form(vec![
                ("tools", tools.clone()),
                ("session_id", session.to_string()),
                ("stream", "false".into()),
            ])
        };
        let foreign = answer(
            server,
            token,
            Method::POST,
            &format!("/agents/asker/runs/{run_id}/continue"),
            continue_of(&session),
        )
        .await;
        let unknown = answer(
            server,
            token,
            Method::POST,
            &format!("/agents/asker/runs/{UNKNOWN_RUN}/continue"),
            continue_of(UNKNOWN_SESSION),
        )
        .await;
        assert_eq!(
            foreign.0,
            StatusCode::NOT_FOUND,
            "{who} continuing A's run: {}",
            foreign.1
        );
        assert_eq!(
            foreign
                .1
                .replace(&run_id, UNKNOWN_RUN)
                .replace(&session, UNKNOWN_SESSION),
            unknown.1,
            "{who}'s continue of A's run answers as for an unknown run"
        );

        // Cancel: `{}` as AgentOS answers for any run id of a known agent,
        // and the run is not cancelled.
        let foreign = answer(
            server,
            token,
            Method::POST,
            &format!("/agents/asker/runs/{run_id}/cancel"),
            Body::None,
        )
        .await;
        let unknown = answer(
            server,
            token,
            Method::POST,
            &format!("/agents/asker/runs/{UNKNOWN_RUN}/cancel"),
            Body::None,
        )
        .await;
        assert_eq!(
            foreign, unknown,
            "{who}'s cancel of A's run answers as for an unknown run"
        );

        // Following its events: as for a run nobody made.
        let follow = |session: &str| Body::Form(vec![("session_id", session.to_string())]);
        let foreign = send(
            server,
            token,
            Method::POST,
            &format!("/agents/asker/runs/{run_id}/resume"),
            follow(&session),
        )
        .await;
        assert_eq!(
            foreign.status(),
            StatusCode::NOT_FOUND,
            "{who} following A's paused run"
        );
    }

    // A's run is still paused, and A continues it.
    let poll = get(
        server,
        &s.a,
        &format!("/agents/asker/runs/{run_id}?session_id={session}"),
    )
    .await;
    assert_eq!(
        poll["status"], "PAUSED",
        "B's cancel left A's run alone: {poll}"
    );
    let done = json(
        server,
        &s.a,
        Method::POST,
        &format!("/agents/asker/runs/{run_id}/continue"),
        Body::Form(vec![
            ("tools", tools.clone()),
            ("session_id", session.clone()),
            ("stream", "false".into()),
        ]),
    )
    .await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert!(
        done["content"].as_str().unwrap().contains("Paris"),
        "{done}"
    );

    // The admin may cancel anyone's: a new paused run of A's is cancelled.
    let held = paused(server, &s.a).await;
    let run_id = held["run_id"].as_str().unwrap();
    let session = held["session_id"].as_str().unwrap();
    json(
        server,
        &s.admin,
        Method::POST,
        &format!("/agents/asker/runs/{run_id}/cancel"),
        Body::None,
    )
    .await;
    let poll = get(
        server,
        &s.a,
        &format!("/agents/asker/runs/{run_id}?session_id={session}"),
    )
    .await;
    assert_eq!(poll["status"], "CANCELLED", "{poll}");
}

#[tokio::test]
async fn the_form_user_id_cannot_speak_for_another_user() {
    let Some(s) = story("").await else { return };
    let server = &s.server;

    // Naming someone else: 403 in AgentOS's shape, and no run is made.
    let resp = send(
        server,
        &s.a,
        Method::POST,
        "/agents/assistant/runs",
        Body::Form(vec![
            ("message", "as b".into()),
            ("user_id", "user-b".into()),
        ]),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let body: Value = resp.json().await.unwrap();
    assert!(body["detail"].is_string(), "AgentOS's error shape: {body}");
    let b_sees = json(server, &s.b, Method::GET, "/sessions", Body::None).await;
    assert_eq!(
        session_ids(&b_sees),
        Vec::<String>::new(),
        "nothing was made for user-b"
    );
    let a_sees = json(server, &s.a, Method::GET, "/sessions", Body::None).await;
    assert_eq!(session_ids(&a_sees), Vec::<String>::new(), "nor for user-a");

    // Their own id, or none, is fine, and the session is theirs.
    let own = run(
        server,
        &s.a,
        "assistant",
        &[("message", "as me"), ("user_id", "user-a")],
    )
    .await;
    let none = run(server, &s.a, "assistant", &[("message", "as me again")]).await;
    let mut listed = session_ids(&json(server, &s.a, Method::GET, "/sessions", Body::None).await);
    listed.sort();
    let mut made = vec![
        own["session_id"].as_str().unwrap().to_string(),
        none["session_id"].as_str().unwrap().to_string(),
    ];
    made.sort();
    assert_eq!(listed, made);

    // The same rule on a team's runs.
    let resp = send(
        server,
        &s.b,
        Method::POST,
        "/teams/crew/runs",
        Body::Form(vec![
            ("message", "as a".into()),
            ("user_id", "user-a".into()),
        ]),
    )
    .await;
    assert_eq!(
        resp.status(),
        StatusCode::FORBIDDEN,
        "a team run naming another user"
    );

    // Nor can a session made directly (POST /sessions) name another user:
    // 403 in AgentOS's shape, and the session id stays free.
    let resp = send(
        server,
        &s.a,
        Method::POST,
        "/sessions",
        Body::Json(serde_json::json!({"session_id": "for-b", "user_id": "user-b"})),
    )
    .await;
    assert_eq!(
        resp.status(),
        StatusCode::FORBIDDEN,
        "a session naming another user"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error_code"], "FORBIDDEN", "{body}");
    let made = send(
        server,
        &s.a,
        Method::POST,
        "/sessions",
        Body::Json(serde_json::json!({"session_id": "for-b", "user_id": "user-a"})),
    )
    .await;
    assert_eq!(
        made.status(),
        StatusCode::CREATED,
        "their own user_id is fine"
    );

    // An admin may name any user: the run is made and carries that user_id.
    let for_b = run(
        server,
        &s.admin,
        "assistant",
        &[("message", "on b's behalf"), ("user_id", "user-b")],
    )
    .await;
    let session = for_b["session_id"].as_str().unwrap();
    let read = get(server, &s.admin, &format!("/sessions/{session}")).await;
    assert_eq!(read["user_id"], "user-b", "{read}");
}

#[tokio::test]
async fn an_agent_needing_a_scope_b_lacks_is_403_and_absent_from_bs_listings() {
    let Some(s) = story("").await else { return };
    let server = &s.server;
    let ids = |list: &Value| -> Vec<String> {
        list.as_array()
            .expect("a list")
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect()
    };

    // A holds `reports`: ledger is listed and runs.
    assert!(
        ids(&json(server, &s.a, Method::GET, "/agents", Body::None).await)
            .contains(&"ledger".to_string())
    );
    run(server, &s.a, "ledger", &[("message", "totals")]).await;

    // B does not: not in /agents, nor /config, and its page is not found.
    let listed = ids(&json(server, &s.b, Method::GET, "/agents", Body::None).await);
    assert!(
        !listed.contains(&"ledger".to_string()),
        "user-b's /agents: {listed:?}"
    );
    assert!(
        listed.contains(&"assistant".to_string()),
        "the rest stay listed: {listed:?}"
    );
    let config = json(server, &s.b, Method::GET, "/config", Body::None).await;
    assert!(
        !ids(&config["agents"]).contains(&"ledger".to_string()),
        "user-b's /config: {config}"
    );

    // Running it: 403 in AgentOS's shape, and no run is made.
    for stream in ["false", "true"] {
        let resp = send(
            server,
            &s.b,
            Method::POST,
            "/agents/ledger/runs",
            Body::Form(vec![
                ("message", "totals".into()),
                ("stream", stream.into()),
            ]),
        )
        .await;
        assert_eq!(
            resp.status(),
            StatusCode::FORBIDDEN,
            "user-b running ledger (stream={stream})"
        );
        let body: Value = resp.json().await.unwrap();
        assert!(body["detail"].is_string(), "AgentOS's error shape: {body}");
    }
    let b_sees = json(server, &s.b, Method::GET, "/sessions", Body::None).await;
    assert_eq!(
        session_ids(&b_sees),
        Vec::<String>::new(),
        "no run was made for user-b"
    );

    // The admin sees and runs everything.
    assert!(
        ids(&json(server, &s.admin, Method::GET, "/agents", Body::None).await)
            .contains(&"ledger".to_string())
    );
    run(server, &s.admin, "ledger", &[("message", "totals")]).await;
}

#[tokio::test]
async fn live_runs_are_counted_per_user() {
    let Some(s) = story(
        "[models.crawl]\nprovider = \"builtin\"\ntoken_delay_ms = 300\n\
         [[agents]]\nid = \"crawl\"\nmodel = \"crawl\"\n\
         [server]\nmax_concurrent_runs_per_key = 1\n",
    )
    .await
    else {
        return;
    };
    let server = &s.server;
    let long = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen";
    // A has a run going in the background: A may not start another.
    let going = json(
        server,
        &s.a,
        Method::POST,
        "/agents/crawl/runs",
        Body::Form(vec![
            ("message", long.into()),
            ("background", "true".into()),
        ]),
    )
    .await;
    let resp = send(
        server,
        &s.a,
        Method::POST,
        "/agents/assistant/runs",
        Body::Form(vec![("message", "another".into())]),
    )
    .await;
    assert_eq!(
        resp.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "user-a's second live run"
    );
    assert!(resp.headers().contains_key("retry-after"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error_code"], "TOO_MANY_REQUESTS", "{body}");

    // B is another user with their own count.
    run(server, &s.b, "assistant", &[("message", "mine")]).await;
    let frames = sse::read_all(
        send(
            server,
            &s.b,
            Method::POST,
            "/agents/assistant/runs",
            Body::Form(vec![
                ("message", "streamed".into()),
                ("stream", "true".into()),
            ]),
        )
        .await,
    )
    .await;
    assert_eq!(frames.last().unwrap().data["event"], "RunCompleted");

    // Once A's run ends, A may run again.
    let run_id = going["run_id"].as_str().unwrap();
    json(
        server,
        &s.a,
        Method::POST,
        &format!("/agents/crawl/runs/{run_id}/cancel"),
        Body::None,
    )
    .await;
    let session = going["session_id"].as_str().unwrap();
    crate::common::eventually("A's run ends", || async {
        let poll = get(
            server,
            &s.a,
            &format!("/agents/crawl/runs/{run_id}?session_id={session}"),
        )
        .await;
        (poll["status"] == "CANCELLED").then_some(())
    })
    .await;
    run(server, &s.a, "assistant", &[("message", "again")]).await;
}

/// Agno's AgentOSClient, unmodified, as user B against user A's session
/// (tests/clients/agno_ownership.py): every call on it fails as for an
/// unknown session, and B's listing holds only B's own.
#[tokio::test]
async fn agnos_client_as_another_user_finds_nothing() {
    let Some(python) = crate::common::clients::python_with("agno.client") else {
        return;
    };
    let Some(s) = story("").await else { return };
    let server = &s.server;
    let first = run(server, &s.a, "assistant", &[("message", "my secret is 42")]).await;
    let session = first["session_id"].as_str().unwrap();
    let run_id = first["run_id"].as_str().unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/agno_ownership.py"
    );
    let mut client = tokio::process::Command::new(&python);
    client.args([script, &server.base, session, run_id, &s.a, &s.b, &s.admin]);
    crate::common::clients::expect_steps(
        client,
        &[
            "ok owner reads",
            "ok other user finds nothing",
            "ok other user touches nothing",
            "ok admin reads",
        ],
    )
    .await;
}
