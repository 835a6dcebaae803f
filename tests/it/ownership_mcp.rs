//! Identity and ownership on MCP, with tokens from a real OpenID provider
//! (tests/clients/oidc_provider.mjs), through the unmodified MCP SDKs
//! (Python `mcp` and @modelcontextprotocol/sdk): tools/list shows each
//! user only the agents their scopes allow, a call of another is refused
//! and starts no run, a `session_id` naming user A's session from user B
//! (or C, of another tenant) is refused exactly as one nobody has, the
//! admin may continue it, and A's conversation holds A's words only.

use crate::common::clients::{expect_steps, node_with, python_with};
use crate::common::oidc::OidcProvider;
use crate::common::{PAUSING_AGENTS, TestServer, config_with};
use crate::ownership_a2a::LEDGER;

const STEPS: &[&str] = &[
    "ok tools/list shows only allowed agents",
    "ok a forbidden agent is refused",
    "ok A's session",
    "ok B cannot continue A's session",
    "ok C cannot continue A's session",
    "ok admin continues A's session",
    "ok A's session is A's",
];

async fn start(provider: &OidcProvider) -> TestServer {
    TestServer::start(&config_with(&format!(
        "{PAUSING_AGENTS}{LEDGER}\n{}",
        provider.auth_toml()
    )))
    .await
}

/// The five arguments both scripts take: the MCP URL and the tokens of
/// user-a, user-b, user-c and the admin.
async fn args(provider: &OidcProvider, server: &TestServer) -> Vec<String> {
    let mut args = vec![server.url("/mcp")];
    for client in ["user-a", "user-b", "user-c", "admin"] {
        args.push(provider.token(client).await);
    }
    args
}

/// What the story leaves behind: the runs of `assistant` are A's two and
/// the admin's one, all in A's session; no run of `ledger` was started.
async fn only_allowed_runs_were_made(server: &TestServer) {
    let runs = server
        .engine
        .list_runs(&agentd::engine::Principal::open(), &Default::default())
        .await
        .unwrap();
    assert!(
        runs.iter().all(|r| r.agent_id != "ledger"),
        "B's refused call started no run"
    );
    let assistant: Vec<_> = runs.iter().filter(|r| r.agent_id == "assistant").collect();
    assert_eq!(assistant.len(), 3, "A's two runs and the admin's");
    assert!(
        assistant
            .iter()
            .all(|r| r.session_id == assistant[0].session_id)
    );
}

#[tokio::test]
async fn python_mcp_sdk_users_see_only_their_own_sessions_and_agents() {
    let Some(python) = python_with("mcp.client.streamable_http") else {
        return;
    };
    let Some(provider) = OidcProvider::start().await else {
        return;
    };
    let server = start(&provider).await;
    let mut client = tokio::process::Command::new(&python);
    client
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/clients/mcp_ownership.py"
        ))
        .args(args(&provider, &server).await);
    expect_steps(client, STEPS).await;
    only_allowed_runs_were_made(&server).await;
}

#[tokio::test]
async fn typescript_mcp_sdk_users_see_only_their_own_sessions_and_agents() {
    let Some(clients) = node_with(&["@modelcontextprotocol/sdk", "oidc-provider"]) else {
        return;
    };
    let Some(provider) = OidcProvider::start().await else {
        return;
    };
    let server = start(&provider).await;
    let mut client = tokio::process::Command::new("node");
    client
        .arg(clients.join("mcp_ownership.mjs"))
        .args(args(&provider, &server).await);
    expect_steps(client, STEPS).await;
    only_allowed_runs_were_made(&server).await;
}
