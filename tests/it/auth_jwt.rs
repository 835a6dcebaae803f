//! JWT bearer tokens from a real OpenID provider (node-oidc-provider on
//! loopback, tests/clients/oidc_provider.mjs): a deployment points
//! `[auth.jwt]` at its issuer, and every protocol takes the provider's
//! tokens and refuses bad ones with 401 in its own shape and an RFC 6750
//! challenge; keys rotate at the provider without a restart; a provider
//! that is down at start fails closed until it answers; MCP clients find
//! the provider through the protected-resource metadata; browser
//! frontends on a listed origin may send the token.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::oidc::OidcProvider;
use crate::common::{TestServer, config_with};

/// One route of each protocol (and the UI API), with a request a client
/// with a valid token gets a non-401 answer to, and the key its error
/// body carries the message under.
struct Route {
    method: Method,
    path: &'static str,
    body: Option<Value>,
    /// The field of the protocol's error shape a 401 must have.
    error_field: &'static str,
}

fn routes() -> Vec<Route> {
    let route = |method, path, body, error_field| Route {
        method,
        path,
        body,
        error_field,
    };
    vec![
        route(Method::GET, "/agents", None, "detail"),
        route(
            Method::POST,
            "/agui/assistant",
            Some(json!({
                "threadId": "t1", "runId": "r1", "state": {}, "tools": [], "context": [],
                "forwardedProps": {},
                "messages": [{"id": "m1", "role": "user", "content": "hi"}]
            })),
            "detail",
        ),
        route(Method::GET, "/acp/agents", None, "message"),
        route(
            Method::POST,
            "/a2a",
            Some(
                json!({"jsonrpc": "2.0", "id": 1, "method": "tasks/get", "params": {"id": "nope"}}),
            ),
            "error",
        ),
        route(Method::GET, "/a2a/assistant/tasks", None, "error"),
        route(
            Method::POST,
            "/mcp",
            Some(
                json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                    "protocolVersion": "2025-06-18", "capabilities": {},
                    "clientInfo": {"name": "t", "version": "1"}
                }}),
            ),
            "error",
        ),
        route(Method::GET, "/ui/api/runs", None, "detail"),
    ]
}

async fn call(server: &TestServer, route: &Route, token: Option<&str>) -> reqwest::Response {
    let mut req = server
        .client
        .request(route.method.clone(), server.url(route.path))
        .header("accept", "application/json, text/event-stream");
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(body) = &route.body {
        req = req.json(body);
    }
    req.send().await.expect("answered")
}

async fn start(provider: &OidcProvider) -> TestServer {
    TestServer::start(&config_with(&provider.auth_toml())).await
}

#[tokio::test]
async fn the_providers_tokens_reach_every_protocol() {
    let Some(provider) = OidcProvider::start().await else {
        return;
    };
    let server = start(&provider).await;
    let token = provider.token("user-a").await;
    for route in routes() {
        let resp = call(&server, &route, Some(&token)).await;
        assert!(
            resp.status().is_success(),
            "{} {} with a valid token: {}",
            route.method,
            route.path,
            resp.status()
        );
    }
    // Without any credentials, the same routes are refused.
    for route in routes() {
        let resp = call(&server, &route, None).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{}", route.path);
    }
}

#[tokio::test]
async fn bad_tokens_are_401_in_each_protocols_shape_with_an_invalid_token_challenge() {
    let Some(provider) = OidcProvider::start().await else {
        return;
    };
    let server = start(&provider).await;
    let past = chrono::Utc::now().timestamp() - 3600;
    let bad = [
        (
            "expired",
            provider
                .forge("", json!({"iat": past - 600, "exp": past}))
                .await,
        ),
        (
            "not yet valid",
            provider
                .forge("", json!({"nbf": chrono::Utc::now().timestamp() + 3600}))
                .await,
        ),
        (
            "wrong issuer",
            provider
                .forge("", json!({"iss": "https://evil.example"}))
                .await,
        ),
        (
            "wrong audience",
            provider.token_for("user-a", Some("urn:other")).await,
        ),
        ("alg none", provider.forge("alg=none", json!({})).await),
        (
            "HMAC keyed with the public key",
            provider.forge("alg=HS256", json!({})).await,
        ),
        (
            "unknown kid",
            provider.forge("kid=never-published", json!({})).await,
        ),
    ];
    // The forged tokens are otherwise good: the same forge with the
    // defaults is accepted, so each refusal is for the one thing changed.
    let good = provider.forge("", json!({})).await;
    let resp = call(&server, &routes()[0], Some(&good)).await;
    assert_eq!(resp.status(), StatusCode::OK, "a well-forged token");

    for (what, token) in &bad {
        for route in routes() {
            let resp = call(&server, &route, Some(token)).await;
            assert_eq!(
                resp.status(),
                StatusCode::UNAUTHORIZED,
                "{what} on {}",
                route.path
            );
            let challenge = resp.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .to_string();
            assert!(
                challenge.starts_with("Bearer ") && challenge.contains("error=\"invalid_token\""),
                "{what} on {}: {challenge}",
                route.path
            );
            if route.path == "/mcp" {
                assert!(
                    challenge.contains(&format!(
                        "resource_metadata=\"{}\"",
                        server.url("/.well-known/oauth-protected-resource/mcp")
                    )),
                    "{challenge}"
                );
            }
            let body: Value = resp.json().await.expect("a JSON error body");
            assert!(
                !body[route.error_field].is_null(),
                "{what} on {}: {body}",
                route.path
            );
        }
    }
}

#[tokio::test]
async fn a_key_rotation_at_the_provider_is_picked_up_without_restart() {
    let Some(provider) = OidcProvider::start().await else {
        return;
    };
    let server = start(&provider).await;
    let agents = &routes()[0];
    let before = provider.token("user-a").await;
    assert_eq!(call(&server, agents, Some(&before)).await.status(), 200);

    provider.control("rotate").await;
    let after = provider.token("user-a").await;
    assert_ne!(
        jsonwebtoken::decode_header(&before).unwrap().kid,
        jsonwebtoken::decode_header(&after).unwrap().kid,
        "the provider signs with a new key"
    );
    assert_eq!(
        call(&server, agents, Some(&after)).await.status(),
        200,
        "a token signed with the new key"
    );
    // The old key is no longer published: its tokens no longer verify.
    assert_eq!(call(&server, agents, Some(&before)).await.status(), 401);
}

#[tokio::test]
async fn a_provider_down_at_start_fails_closed_until_it_answers() {
    let Some(provider) = OidcProvider::start_down().await else {
        return;
    };
    let server = start(&provider).await;
    let agents = &routes()[0];
    let token = provider.token("user-a").await;
    let refused = call(&server, agents, Some(&token)).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("signing keys could not be fetched"),
        "{body}"
    );

    provider.control("up").await;
    // Failed fetches are retried at most once a second: ask until the
    // retry is due (the provider now answers every time).
    let mut status = StatusCode::UNAUTHORIZED;
    for _ in 0..50 {
        status = call(&server, agents, Some(&token)).await.status();
        if status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, StatusCode::OK, "accepted once the provider answers");
}

#[tokio::test]
async fn mcp_clients_find_the_provider_through_the_protected_resource_metadata() {
    let Some(provider) = OidcProvider::start().await else {
        return;
    };
    let server = TestServer::start(&config_with(&format!(
        "{}\n[[agents]]\nid = \"ledger\"\nmodel = \"builtin\"\nallowed_scopes = [\"finance\"]\n",
        provider.auth_toml()
    )))
    .await;
    let resp = server
        .client
        .post(server.url("/mcp"))
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let challenge = resp.headers()["www-authenticate"].to_str().unwrap();
    let metadata_url = server.url("/.well-known/oauth-protected-resource/mcp");
    assert_eq!(
        challenge,
        format!("Bearer resource_metadata=\"{metadata_url}\"")
    );

    // The metadata is public: the client has no token yet.
    let doc: Value = server
        .client
        .get(&metadata_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["resource"], server.url("/mcp"));
    assert_eq!(doc["authorization_servers"], json!([provider.issuer]));
    assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
    assert_eq!(doc["scopes_supported"], json!(["agentd:admin", "finance"]));
    let root: Value = server
        .client
        .get(server.url("/.well-known/oauth-protected-resource"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(root["resource"], server.base);

    // Without JWT auth there is no such document.
    let plain = TestServer::start(&config_with("")).await;
    let resp = plain
        .client
        .get(plain.url("/.well-known/oauth-protected-resource/mcp"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a2a_cards_name_the_openid_connect_scheme() {
    let Some(provider) = OidcProvider::start().await else {
        return;
    };
    let server = start(&provider).await;
    let token = provider.token("user-a").await;
    let card: Value = server
        .client
        .get(server.url("/a2a/assistant/.well-known/agent-card.json"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let discovery = format!("{}/.well-known/openid-configuration", provider.issuer);
    let oidc = &card["securitySchemes"]["oidc"];
    // 0.3's shape and 1.0's, side by side.
    assert_eq!(oidc["type"], "openIdConnect");
    assert_eq!(oidc["openIdConnectUrl"], discovery);
    assert_eq!(
        oidc["openIdConnectSecurityScheme"]["openIdConnectUrl"],
        discovery
    );
    assert_eq!(card["security"], json!([{"bearer": []}, {"oidc": []}]));
    assert_eq!(
        card["securityRequirements"][1],
        json!({"schemes": {"oidc": {"list": []}}})
    );
}

#[tokio::test]
async fn a_browser_frontend_on_a_listed_origin_may_send_its_token() {
    let Some(provider) = OidcProvider::start().await else {
        return;
    };
    let server = TestServer::start(&config_with(&format!(
        "[server.cors]\nallowed_origins = [\"https://app.example.com\"]\n{}",
        provider.auth_toml()
    )))
    .await;
    let preflight = |origin: &'static str| {
        server
            .client
            .request(Method::OPTIONS, server.url("/agui/assistant"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
    };
    let ok = preflight("https://app.example.com").await.unwrap();
    assert!(ok.status().is_success(), "{}", ok.status());
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let allowed = ok.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    // A "*" here would not cover Authorization: it must be named.
    assert!(allowed.contains("authorization"), "{allowed}");
    let other = preflight("https://elsewhere.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}
