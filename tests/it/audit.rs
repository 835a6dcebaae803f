//! The audit trail as an operator reads it: the real binary logging JSON,
//! two users behind API keys. Every change one of them makes or attempts
//! (a run started, another's run cancelled, sessions deleted) is one line
//! under the `audit` target naming who, what, on which ids and how it
//! ended; reads leave no line.

use serde_json::Value;

use crate::common::process::Agentd;
use crate::common::{config_with, form};

const KEYS: &str = r#"
[auth]
api_keys = [
    { key = "key-ann", user = "ann" },
    { key = "key-bob", user = "bob" },
]
"#;

/// The `audit` lines logged so far, as their fields.
fn audit_lines(server: &Agentd) -> Vec<Value> {
    server
        .log()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|v| v["target"] == "audit")
        .map(|v| v["fields"].clone())
        .collect()
}

#[tokio::test]
async fn every_change_is_one_audit_line_naming_who_what_and_how_it_ended() {
    let server = Agentd::start(&config_with(KEYS)).await;
    let resp = server
        .client
        .post(server.url("/agents/assistant/runs"))
        .bearer_auth("key-ann")
        .multipart(form(&[("message", "hello")]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let run: Value = resp.json().await.unwrap();
    let run_id = run["run_id"].as_str().unwrap().to_string();
    let session_id = run["session_id"].as_str().unwrap().to_string();

    let anns_session = || {
        server
            .client
            .get(server.url(&format!("/sessions/{session_id}")))
            .bearer_auth("key-ann")
            .send()
    };
    // A read is not audited.
    assert_eq!(anns_session().await.unwrap().status(), 200);

    // Bob reaches for Ann's run and session: answered as for ids nobody
    // made (AgentOS, as Agno, answers a cancel of an unknown run with 200
    // and `{}`, a delete of an unknown session with 204), nothing of Ann's
    // changes, and both attempts are on the record under his name.
    let cancel = server
        .client
        .post(server.url(&format!("/agents/assistant/runs/{run_id}/cancel")))
        .bearer_auth("key-bob")
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status(), 200);
    let delete = |key: &'static str| {
        server
            .client
            .delete(server.url(&format!("/sessions/{session_id}")))
            .bearer_auth(key)
            .send()
    };
    assert_eq!(delete("key-bob").await.unwrap().status(), 204);
    assert_eq!(
        anns_session().await.unwrap().status(),
        200,
        "Bob's delete left Ann's session alone"
    );
    assert_eq!(delete("key-ann").await.unwrap().status(), 204);

    // The lines are written as the requests are answered; the log is read
    // off the process's output, so give the reader a moment to catch up.
    let mut lines = Vec::new();
    for _ in 0..100 {
        lines = audit_lines(&server);
        if lines.len() >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let summary: Vec<(String, String, String)> = lines
        .iter()
        .map(|l| {
            let text = |k: &str| l[k].as_str().unwrap_or_default().to_string();
            (text("principal"), text("action"), text("outcome"))
        })
        .collect();
    let owned = |who: &str, action: &str, outcome: &str| {
        (who.to_string(), action.to_string(), outcome.to_string())
    };
    assert_eq!(summary.len(), 4, "{lines:#?}");
    assert_eq!(summary[0], owned("user:ann", "run.created", "ok"));
    assert_eq!(summary[1].0, "user:bob");
    assert_eq!(summary[1].1, "run.cancelled");
    assert_ne!(summary[1].2, "ok", "{lines:#?}");
    assert_eq!(
        summary[2],
        owned("user:bob", "session.deleted", "not found")
    );
    assert_eq!(summary[3], owned("user:ann", "session.deleted", "ok"));
    // With the ids each action was on.
    assert_eq!(lines[0]["run_id"], run_id.as_str());
    assert_eq!(lines[0]["session_id"], session_id.as_str());
    assert_eq!(lines[0]["agent_id"], "assistant");
    assert_eq!(lines[1]["run_id"], run_id.as_str());
    assert_eq!(lines[2]["session_id"], session_id.as_str());
    assert_eq!(lines[3]["session_id"], session_id.as_str());
}
