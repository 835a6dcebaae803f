//! Codegen with the deployment's OpenID provider (issue #29): Codegen keeps
//! its own users and organizations, and a token from the provider whose
//! tenant claim names a Codegen organization may call that organization's
//! routes, and no other's. The unmodified codegen-api-client runs its whole
//! story on user A's token (tenant `acme`, the name of organization 1);
//! then each organization route is tried with tokens naming another
//! organization or none.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::oidc::OidcProvider;
use crate::common::{TestServer, config_with};

/// Organization 1 is named after the provider's tenant `acme`, 3 is
/// `Other`; the Codegen users alice (org 1, key `key-alice`) and carol
/// (org 3, key `key-carol`) keep their keys.
fn config(provider: &OidcProvider) -> String {
    config_with(&format!(
        r#"
[codegen]

[[codegen.users]]
id = 1
github_username = "alice"
api_keys = ["key-alice"]
organizations = [1]

[[codegen.users]]
id = 3
api_keys = ["key-carol"]
organizations = [3]

[[codegen.organizations]]
id = 1
name = "acme"

[[codegen.organizations]]
id = 3
name = "Other"
{}"#,
        provider.auth_toml()
    ))
}

async fn call(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = server
        .client
        .request(method, server.url(path))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("answered");
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Every route of organization `org` that names one of its runs, `run`.
fn org_routes(org: i64, run: &Value) -> Vec<(reqwest::Method, String, Option<Value>)> {
    use reqwest::Method;
    vec![
        (
            Method::POST,
            format!("/v1/organizations/{org}/agent/run"),
            Some(json!({"prompt": "hello"})),
        ),
        (
            Method::GET,
            format!("/v1/organizations/{org}/agent/run/{run}"),
            None,
        ),
        (
            Method::GET,
            format!("/v1/organizations/{org}/agent/runs"),
            None,
        ),
        (
            Method::POST,
            format!("/v1/organizations/{org}/agent/run/resume"),
            Some(json!({"agent_run_id": run, "prompt": "more"})),
        ),
        (
            Method::GET,
            format!("/v1/alpha/organizations/{org}/agent/run/{run}/logs"),
            None,
        ),
        (Method::GET, format!("/v1/organizations/{org}/users"), None),
        (
            Method::GET,
            format!("/v1/organizations/{org}/users/1"),
            None,
        ),
    ]
}

async fn runs_of(server: &TestServer, org: i64, token: &str) -> Vec<Value> {
    let (status, body) = call(
        server,
        reqwest::Method::GET,
        &format!("/v1/organizations/{org}/agent/runs"),
        token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].clone())
        .collect()
}

#[tokio::test]
async fn a_token_naming_a_codegen_organization_calls_its_routes_and_no_others() {
    let Some(python) = crate::common::clients::python_with("codegen_api_client") else {
        return;
    };
    let Some(provider) = OidcProvider::start().await else {
        return;
    };
    let server = TestServer::start(&config(&provider)).await;
    let token_a = provider.token("user-a").await;

    // The real client's whole story on A's token: create and poll a run in
    // organization 1, organizations, users, and 404/401/403 where due
    // (organization 3 is not A's).
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/codegen_client.py"
    );
    let mut client = tokio::process::Command::new(&python);
    client
        .arg(script)
        .args([server.base.as_str(), token_a.as_str(), "1", "3"]);
    crate::common::clients::expect_steps(
        client,
        &[
            "ok create run 1",
            "ok poll to COMPLETE",
            "ok organizations [1]",
            "ok users [1]",
            "ok errors 404 401 403",
        ],
    )
    .await;

    // Organization 1's own users still see its runs with their keys, and
    // B's token (the same tenant) does too: the organization's runs are
    // the organization's, as Codegen has it.
    assert_eq!(runs_of(&server, 1, "key-alice").await, vec![json!(1)]);
    let token_b = provider.token("user-b").await;
    assert_eq!(runs_of(&server, 1, &token_b).await, vec![json!(1)]);

    // Organization 3's run, made by its Codegen user.
    let (status, other_run) = call(
        &server,
        reqwest::Method::POST,
        "/v1/organizations/3/agent/run",
        "key-carol",
        Some(json!({"prompt": "carol's"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{other_run}");

    // A's token on organization 3's routes, and C's (tenant globex names
    // no organization) on organization 1's: 403, Codegen's shape.
    let token_c = provider.token("user-c").await;
    let refused = [
        ("A's token on organization 3", &token_a, 3, &other_run["id"]),
        ("C's token on organization 1", &token_c, 1, &json!(1)),
    ];
    for (what, token, org, run) in refused {
        for (method, path, body) in org_routes(org, run) {
            let (status, body) = call(&server, method.clone(), &path, token, body).await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{what}: {method} {path}: {body}"
            );
            assert_eq!(body["status_code"], 403, "{what}: {path}: {body}");
        }
    }
    let (status, orgs) = call(
        &server,
        reqwest::Method::GET,
        "/v1/organizations",
        &token_c,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(orgs["items"], json!([]), "C's token names no organization");

    // A token naming organization 3 calls its routes, and not 1's.
    let token_other = provider
        .forge("", json!({"sub": "olga", "org": "Other"}))
        .await;
    assert_eq!(
        runs_of(&server, 3, &token_other).await,
        vec![other_run["id"].clone()]
    );
    for (method, path, body) in org_routes(1, &json!(1)) {
        let (status, body) = call(&server, method.clone(), &path, &token_other, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
    }

    // A bad token is refused at the door, in Codegen's shape.
    let expired = provider
        .forge("", json!({"iat": 1_000, "exp": 2_000}))
        .await;
    let (status, body) = call(
        &server,
        reqwest::Method::GET,
        "/v1/organizations/1/agent/runs",
        &expired,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["status_code"], 401, "{body}");
}
