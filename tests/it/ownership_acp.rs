//! ACP with users (issue #29): the unmodified acp-sdk Client, once per
//! user with an access token from the real OpenID provider, tells the
//! story in tests/clients/acp_ownership.py: user A's runs and sessions are
//! not found by user B or by a user of another tenant (read, replay,
//! follow, cancel, resume, continue the session, read its history), an
//! admin sees and acts on them, and an agent for a scope B lacks is 403
//! and missing from B's /agents.

use crate::common::oidc::OidcProvider;
use crate::common::{PAUSING_AGENTS, TestServer, config_with};

/// The pausing agents, and `reports_bot`, which only holders of the
/// `reports` scope (user-a and user-c, not user-b) may run.
fn config(provider: &OidcProvider) -> String {
    config_with(&format!(
        "{PAUSING_AGENTS}\n[[agents]]\nid = \"reports_bot\"\nmodel = \"builtin\"\nallowed_scopes = [\"reports\"]\n{}",
        provider.auth_toml()
    ))
}

#[tokio::test]
async fn acp_users_see_only_their_own_runs_and_sessions() {
    let Some(python) = crate::common::clients::python_with("acp_sdk") else {
        return;
    };
    let Some(provider) = OidcProvider::start().await else {
        return;
    };
    let server = TestServer::start(&config(&provider)).await;
    let mut tokens = Vec::new();
    for client in ["user-a", "user-b", "user-c", "admin"] {
        tokens.push(provider.token(client).await);
    }
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/acp_ownership.py"
    );
    let mut client = tokio::process::Command::new(&python);
    client
        .arg(script)
        .arg(format!("{}/acp", server.base))
        .args(&tokens);
    crate::common::clients::expect_steps(
        client,
        &[
            "ok A made a session, a live run and a paused run",
            "ok B finds none of A's runs or session",
            "ok C of another tenant finds none of A's runs or session",
            "ok another user's id answers as an unknown id",
            "ok A's runs and session are as A left them",
            "ok the admin sees and cancels A's runs",
            "ok A resumes its own run",
            "ok a forbidden agent is 403 and not listed",
        ],
    )
    .await;
}

/// Live runs are counted per user: with one allowed, user A's second run is
/// refused whether it comes with the same token or another of A's, while
/// user B runs; A runs again once its first run ended. (This held before
/// ownership: the limits were already counted by the principal's user.)
#[tokio::test]
async fn acp_live_run_limits_count_per_user() {
    let Some(python) = crate::common::clients::python_with("acp_sdk") else {
        return;
    };
    let Some(provider) = OidcProvider::start().await else {
        return;
    };
    let server = TestServer::start(&format!(
        "[server]\nmax_concurrent_runs_per_key = 1\n{}",
        config(&provider)
    ))
    .await;
    let mut tokens = Vec::new();
    for client in ["user-a", "user-a", "user-b"] {
        tokens.push(provider.token(client).await);
    }
    assert_ne!(tokens[0], tokens[1], "two tokens of one user");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/acp_ownership.py"
    );
    let mut client = tokio::process::Command::new(&python);
    client
        .arg(script)
        .arg("limits")
        .arg(format!("{}/acp", server.base))
        .args(&tokens);
    crate::common::clients::expect_steps(
        client,
        &[
            "ok a user's second live run is refused, whichever token",
            "ok another user runs meanwhile",
            "ok the user runs again once the first run ended",
        ],
    )
    .await;
}
