//! Ownership across replicas: two `agentd serve` processes on one fresh
//! PostgreSQL schema (DATABASE_URL), with tokens from a real OpenID
//! provider. User A's task made on replica 1 is, on replica 2, unknown to
//! user B (A2A over both bindings, and MCP's session_id) and visible to A
//! and to the admin: the owner is stored with the run, not kept in the
//! replica that made it.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::config_with;
use crate::common::oidc::OidcProvider;
use crate::common::pg::Schema;
use crate::common::process::Agentd;

async fn send(
    replica: &Agentd,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = replica
        .client
        .request(method, replica.url(path))
        .bearer_auth(token)
        .header("A2A-Version", "1.0");
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.expect("answered");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("a JSON body"))
}

fn message(text: &str, extra: Value) -> Value {
    let mut m = json!({"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": text}]});
    m.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    json!({"message": m})
}

/// An MCP call of `assistant` over the replica's /mcp, as rmcp's client
/// makes it with `token`: the result's text, or the JSON-RPC error.
async fn mcp_call(
    replica: &Agentd,
    token: &str,
    args: Value,
) -> Result<(bool, String, Value), String> {
    use rmcp::ServiceExt;
    use rmcp::model::CallToolRequestParams;
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
    let config =
        StreamableHttpClientTransportConfig::with_uri(replica.url("/mcp")).auth_header(token);
    let client =
        ().serve(StreamableHttpClientTransport::from_config(config))
            .await
            .map_err(|e| e.to_string())?;
    let Value::Object(args) = args else {
        unreachable!()
    };
    let outcome = client
        .call_tool(CallToolRequestParams::new("assistant").with_arguments(args))
        .await
        .map_err(|e| e.to_string())
        .map(|r| {
            let text = r
                .content
                .iter()
                .find_map(|c| c.as_text().map(|t| t.text.clone()))
                .unwrap_or_default();
            (
                r.is_error == Some(true),
                text,
                r.structured_content.unwrap_or_default(),
            )
        });
    let _ = client.cancel().await;
    outcome
}

#[tokio::test]
async fn a_run_made_on_one_replica_is_its_owners_on_the_other() {
    let Some(provider) = OidcProvider::start().await else {
        return;
    };
    let Some(schema) = Schema::create().await else {
        return;
    };
    let config = config_with(&format!(
        "{}\n{}{}",
        crate::common::PAUSING_AGENTS,
        provider.auth_toml(),
        schema.store_config(5)
    ));
    let one = Agentd::start(&config).await;
    let two = Agentd::start(&config).await;
    let a = provider.token("user-a").await;
    let b = provider.token("user-b").await;
    let admin = provider.token("admin").await;

    // A's task, made on replica 1.
    let (status, sent) = send(
        &one,
        &a,
        Method::POST,
        "/a2a/assistant/message:send",
        Some(message("first from A", json!({}))),
    )
    .await;
    assert_eq!(status, 200, "{sent}");
    let task = sent["task"]["id"].as_str().unwrap().to_string();
    let ctx = sent["task"]["contextId"].as_str().unwrap().to_string();
    let unknown = "0197f00d-0000-7000-8000-00000000dead";

    // On replica 2, B finds nothing, exactly as for an unknown task.
    for (method, path) in [
        (Method::GET, "/a2a/assistant/tasks/{ID}"),
        (Method::POST, "/a2a/assistant/tasks/{ID}:cancel"),
        (Method::GET, "/a2a/assistant/tasks/{ID}:subscribe"),
    ] {
        let (status, body) =
            send(&two, &b, method.clone(), &path.replace("{ID}", &task), None).await;
        let (none_status, none) = send(
            &two,
            &b,
            method.clone(),
            &path.replace("{ID}", unknown),
            None,
        )
        .await;
        assert_eq!(status, 404, "B {method} {path} on replica 2: {body}");
        assert_eq!(
            (status, body.to_string().replace(&task, "<id>")),
            (none_status, none.to_string().replace(unknown, "<id>")),
            "B {method} {path}: A's task vs an unknown one"
        );
    }
    let (_, rpc) = send(
        &two,
        &b,
        Method::POST,
        "/a2a/assistant",
        Some(json!({"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": task}})),
    )
    .await;
    assert_eq!(rpc["error"]["code"], -32001, "{rpc}");
    let (_, listed) = send(
        &two,
        &b,
        Method::GET,
        &format!("/a2a/assistant/tasks?contextId={ctx}"),
        None,
    )
    .await;
    assert_eq!(
        listed["totalSize"], 0,
        "B lists A's context on replica 2: {listed}"
    );
    let (status, body) = send(
        &two,
        &b,
        Method::POST,
        "/a2a/assistant/message:send",
        Some(message("what did A say?", json!({"contextId": ctx}))),
    )
    .await;
    assert_eq!(status, 404, "B continues A's context on replica 2: {body}");

    // A and the admin see it on replica 2.
    for (who, token) in [("A", &a), ("admin", &admin)] {
        let (status, got) = send(
            &two,
            token,
            Method::GET,
            &format!("/a2a/assistant/tasks/{task}"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{who} on replica 2: {got}");
        assert_eq!(got["contextId"], ctx);
        let (_, listed) = send(
            &two,
            token,
            Method::GET,
            &format!("/a2a/assistant/tasks?contextId={ctx}"),
            None,
        )
        .await;
        assert_eq!(listed["totalSize"], 1, "{who} lists A's context: {listed}");
    }

    // MCP: A's session, made on replica 1, is refused to B on replica 2 as
    // an unknown one; A continues it there.
    let (is_error, _, made) = mcp_call(&one, &a, json!({"message": "my name is Ada"}))
        .await
        .expect("A's call");
    assert!(!is_error);
    let session = made["session_id"].as_str().unwrap().to_string();
    let theirs = mcp_call(
        &two,
        &b,
        json!({"message": "what is my name?", "session_id": session}),
    )
    .await;
    let none = mcp_call(
        &two,
        &b,
        json!({"message": "what is my name?", "session_id": unknown}),
    )
    .await;
    let shown = |o: &Result<(bool, String, Value), String>, id: &str| match o {
        Ok((e, text, _)) => format!("{e} {}", text.replace(id, "<id>")),
        Err(e) => format!("error {}", e.replace(id, "<id>")),
    };
    assert!(
        !matches!(&theirs, Ok((false, _, _))),
        "B continues A's session on replica 2: {theirs:?}"
    );
    assert_eq!(shown(&theirs, &session), shown(&none, unknown));
    let (is_error, text, _) = mcp_call(
        &two,
        &a,
        json!({"message": "what is my name?", "session_id": session}),
    )
    .await
    .expect("A's second call");
    assert!(!is_error, "{text}");
    assert!(
        text.contains("message 2 of this conversation; before that you said: \"my name is Ada\""),
        "{text}"
    );

    drop((one, two));
    schema.drop_schema().await;
}
