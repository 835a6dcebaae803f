//! AG-UI with users (issue #29): the real @ag-ui/client HttpAgent, once per
//! user with an access token from the real OpenID provider, tells the story
//! in tests/clients/agui_ownership.mjs. A thread is a session: user B's run
//! naming user A's threadId is refused (404) instead of continuing A's
//! thread, B cannot answer A's paused run's interrupt, a user of another
//! tenant neither, an agent for a scope B lacks is 403, and an admin may
//! act on A's thread. Afterwards A's threads hold only what A and the
//! admin said.

use crate::common::oidc::OidcProvider;
use crate::common::{TestServer, config_with};

/// `careful` (its calculator waits for approval) and `reports_bot`, which
/// only holders of the `reports` scope (user-a, user-c; not user-b) may run.
fn config(provider: &OidcProvider) -> String {
    config_with(&format!(
        r#"
[[agents]]
id = "careful"
model = "builtin"
tools = [{{ name = "calculator", confirm = true }}]

[[agents]]
id = "reports_bot"
model = "builtin"
allowed_scopes = ["reports"]
{}"#,
        provider.auth_toml()
    ))
}

#[tokio::test]
async fn agui_threads_belong_to_the_user_who_started_them() {
    let Some(clients) = crate::common::clients::node_with(&["@ag-ui/client", "oidc-provider"])
    else {
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
    let mut client = tokio::process::Command::new("node");
    client
        .arg(clients.join("agui_ownership.mjs"))
        .arg(&server.base)
        .args(&tokens);
    let out = crate::common::clients::expect_steps(
        client,
        &[
            "ok A has a thread and a paused run",
            "ok B neither continues nor resumes A's threads",
            "ok C of another tenant neither continues nor resumes A's threads",
            "ok a forbidden agent is 403",
            "ok A continues and resumes its own threads",
            "ok the admin may act on A's thread",
        ],
    )
    .await;

    // What the server keeps of A's threads (read by the admin through the
    // AgentOS API): none of B's or C's words.
    let admin = &tokens[3];
    for thread in out.lines().filter_map(|l| l.strip_prefix("thread ")) {
        let resp = server
            .client
            .get(server.url(&format!("/sessions/{thread}/runs")))
            .bearer_auth(admin)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "the admin reads A's thread {thread}");
        let text = resp.text().await.unwrap();
        assert!(
            !text.contains("what is my secret?"),
            "A's thread {thread} holds another user's message: {text}"
        );
        assert!(
            text.contains("my secret is 42") || text.contains("6*7"),
            "A's thread {thread}: {text}"
        );
    }
}
