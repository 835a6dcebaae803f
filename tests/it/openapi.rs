//! The checked-in OpenAPI document is the one the binary generates, and the
//! served one is the same: regenerate with
//! `cargo run -- openapi --output openapi/openapi.json` when this fails.

use crate::common::{TestServer, config_with, get_json};

#[test]
fn checked_in_openapi_is_current() {
    let generated = agentd::openapi().to_pretty_json().expect("render") + "\n";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        generated == on_disk,
        "openapi/openapi.json is stale: run `cargo run -- openapi --output openapi/openapi.json`"
    );
}

#[tokio::test]
async fn served_document_lists_every_route() {
    let server = TestServer::start(&config_with("")).await;
    let doc: serde_json::Value = get_json(&server.client, server.url("/openapi.json")).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/health",
        "/agents",
        "/agents/{agent_id}",
        "/agents/{agent_id}/runs",
    ] {
        assert!(paths.contains_key(p), "missing {p}");
    }
    assert_eq!(doc, serde_json::to_value(agentd::openapi()).unwrap());
}

/// The error bodies the FastAPI-shaped protocols send (a message, or on
/// 422 FastAPI's list) match the schema the document gives them: a client
/// generated from the document must parse both.
#[tokio::test]
async fn documented_error_bodies_match_the_wire() {
    let server = TestServer::start(&config_with("")).await;
    let doc = serde_json::to_value(agentd::openapi()).unwrap();
    let schemas = &doc["components"]["schemas"];
    // 404 (a string detail) and 422 (FastAPI's list), as sent.
    let not_found: serde_json::Value = server
        .client
        .get(server.url("/agents/nobody"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let invalid = server
        .client
        .post(server.url("/agui/assistant"))
        .json(&serde_json::json!({"messages": "not a list"}))
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), 422);
    let invalid: serde_json::Value = invalid.json().await.unwrap();
    assert!(invalid["detail"].is_array(), "{invalid}");
    for (schema, body) in [
        ("AgentOsErrorBody", &not_found),
        ("AguiErrorBody", &invalid),
    ] {
        let detail_schema = schemas[schema]["properties"]["detail"].clone();
        let validator = jsonschema::validator_for(&detail_schema).expect("a valid schema");
        assert!(
            validator.is_valid(&body["detail"]),
            "{schema}.detail does not describe {body}: {detail_schema}"
        );
    }
}

/// Schemathesis (pinned in tests/clients/requirements.txt) over the served
/// document with auth on, a fixed seed and a bounded number of examples:
/// every response it provokes matches its documented status code, content
/// type and schema, SSE events included, and none is a server error.
#[tokio::test]
async fn schemathesis_finds_the_document_true_to_the_wire() {
    let Some(python) = crate::common::clients::python_with("schemathesis.cli") else {
        return;
    };
    let server = TestServer::start(&config_with(&format!(
        "{}\n[auth]\napi_keys = [\"st-key\"]\n",
        crate::common::PAUSING_AGENTS
    )))
    .await;
    // Schemathesis keeps a cache in its working directory: not the repo's.
    let cwd = tempfile::tempdir().expect("a scratch directory");
    let out = tokio::process::Command::new(&python)
        .current_dir(cwd.path())
        .args(["-m", "schemathesis.cli", "run"])
        .arg(server.url("/openapi.json"))
        .args(["-H", "Authorization: Bearer st-key"])
        .args([
            "--checks",
            "response_schema_conformance,status_code_conformance,content_type_conformance,not_a_server_error",
        ])
        .args(["--max-examples", "5", "--seed", "1", "--workers", "2", "--no-color"])
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .await
        .expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "schemathesis found responses the document does not describe:\n{stdout}\n{stderr}"
    );
}

/// Where the wire refuses a caller with 403 (an agent or team whose
/// `allowed_scopes` exclude it; a `user_id` naming another user), the
/// document lists the 403 for that operation.
#[tokio::test]
async fn every_403_the_wire_gives_is_documented() {
    let server = TestServer::start(&config_with(
        r#"
[auth]
api_keys = [{ key = "key-bob", user = "bob" }]

[[agents]]
id = "ledger"
model = "builtin"
allowed_scopes = ["reports"]

[[teams]]
id = "vault"
model = "builtin"
members = ["assistant"]
mode = "route"
allowed_scopes = ["reports"]
"#,
    ))
    .await;
    let doc = serde_json::to_value(agentd::openapi()).unwrap();
    let form = |pairs: &[(&str, &str)]| crate::common::form(pairs);
    let agui = serde_json::json!({
        "threadId": "t-403", "runId": "r-403", "state": {}, "tools": [], "context": [],
        "forwardedProps": {},
        "messages": [{"id": "m1", "role": "user", "content": "hi"}]
    });
    let acp = serde_json::json!({
        "agent_name": "ledger", "mode": "sync",
        "input": [{"role": "user", "parts": [{"content_type": "text/plain", "content": "hi"}]}]
    });
    let a2a = serde_json::json!({
        "message": {"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "hi"}]}
    });
    let c = &server.client;
    let cases = [
        (
            "/agents/{agent_id}/runs",
            c.post(server.url("/agents/ledger/runs"))
                .multipart(form(&[("message", "hi")])),
        ),
        (
            "/teams/{team_id}/runs",
            c.post(server.url("/teams/vault/runs"))
                .multipart(form(&[("message", "hi"), ("stream", "false")])),
        ),
        (
            "/sessions",
            c.post(server.url("/sessions?type=agent"))
                .json(&serde_json::json!({"agent_id": "assistant", "user_id": "alice"})),
        ),
        (
            "/agui/{agent_id}",
            c.post(server.url("/agui/ledger")).json(&agui),
        ),
        ("/runs", c.post(server.url("/runs")).json(&acp)),
        ("/acp/runs", c.post(server.url("/acp/runs")).json(&acp)),
        (
            "/a2a/{agent_id}/message:send",
            c.post(server.url("/a2a/ledger/message:send")).json(&a2a),
        ),
        (
            "/a2a/{agent_id}/message:stream",
            c.post(server.url("/a2a/ledger/message:stream")).json(&a2a),
        ),
    ];
    for (path, req) in cases {
        let resp = req.bearer_auth("key-bob").send().await.unwrap();
        let status = resp.status();
        let body = resp.text().await.unwrap();
        assert_eq!(status, 403, "POST {path}: {body}");
        let documented = doc["paths"][path]["post"]["responses"].get("403");
        assert!(
            documented.is_some(),
            "POST {path} answers 403 on the wire but its document does not list it"
        );
    }
}
