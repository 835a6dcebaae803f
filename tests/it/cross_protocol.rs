//! One engine under every protocol: a conversation started through one
//! protocol continues through another, and browser access is configurable.

use crate::common::{TestServer, agentos_run_json, config_with, get_json};
use serde_json::{Value, json};

async fn agentos_run(server: &TestServer, message: &str, session: Option<&str>) -> Value {
    let mut form = reqwest::multipart::Form::new().text("message", message.to_string());
    if let Some(s) = session {
        form = form.text("session_id", s.to_string());
    }
    agentos_run_json(server, "assistant", form).await
}

#[tokio::test]
async fn a_session_continues_across_agentos_and_acp() {
    let server = TestServer::start(&config_with("")).await;
    let first = agentos_run(&server, "my name is Ada", None).await;
    let session = first["session_id"].as_str().unwrap().to_string();

    // ACP picks the AgentOS session up by its (UUID) id.
    let body = json!({
        "agent_name": "assistant",
        "session_id": session,
        "mode": "sync",
        "input": [{"role": "user", "parts": [{"content": "who am I?", "content_type": "text/plain"}]}],
    });
    let acp: Value = server
        .client
        .post(server.url("/acp/runs"))
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(acp["status"], "completed", "{acp}");
    assert_eq!(acp["session_id"], session.as_str());
    let text = acp["output"][0]["parts"][0]["content"].as_str().unwrap();
    assert_eq!(
        text,
        "You said: who am I? (message 2 of this conversation; before that you said: \"my name is Ada\")"
    );

    // And back: AgentOS sees the ACP turn in the session's history.
    let third = agentos_run(&server, "thanks", Some(&session)).await;
    assert_eq!(
        third["content"],
        "You said: thanks (message 3 of this conversation; before that you said: \"who am I?\")"
    );
    let session_detail: Value =
        get_json(&server.client, server.url(&format!("/sessions/{session}"))).await;
    assert_eq!(session_detail["chat_history"].as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn cors_origins_are_configurable() {
    let server = TestServer::start(&config_with(
        "[server]\ncors_allowed_origins = [\"http://localhost:3000\"]\n",
    ))
    .await;
    let preflight = |origin: &'static str| {
        server
            .client
            .request(reqwest::Method::OPTIONS, server.url("/agui"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,authorization",
            )
            .send()
    };
    let ok = preflight("http://localhost:3000").await.unwrap();
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "http://localhost:3000"
    );
    let other = preflight("https://elsewhere.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());

    // Any origin, on a server without keys, only when asked for in so
    // many words.
    let open = TestServer::start(&config_with(
        "[server]\ncors_allowed_origins = [\"*\"]\ncors_allow_any_origin_without_auth = true\n",
    ))
    .await;
    let r = open
        .client
        .request(reqwest::Method::OPTIONS, open.url("/agui"))
        .header("origin", "https://anything.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert!(
        r.headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
}

#[test]
fn any_origin_without_keys_must_be_asked_for() {
    let parse = |extra: &str| {
        agentd::config::Config::from_toml_str(&config_with(extra), "x.toml".as_ref(), &|_| None)
    };
    let err = parse("[server]\ncors_allowed_origins = [\"*\"]\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("x.toml: server.cors_allowed_origins:")
            && err.contains("cors_allow_any_origin_without_auth"),
        "{err}"
    );
    // With keys, "*" is only a way for pages that hold a key to call.
    parse("[server]\ncors_allowed_origins = [\"*\"]\n[auth]\napi_keys = [\"k\"]\n")
        .expect("\"*\" with auth on");
}

#[test]
fn a_bad_cors_origin_is_a_config_error() {
    let text = config_with("[server]\ncors_allowed_origins = [\"localhost:3000\"]\n");
    let err = agentd::config::Config::from_toml_str(&text, "x.toml".as_ref(), &|_| None)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("x.toml: server.cors_allowed_origins[0]:"),
        "{err}"
    );
}
