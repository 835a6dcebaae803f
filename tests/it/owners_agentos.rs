//! Two users behind two API keys, on a real server over AgentOS form posts,
//! with each store a deployment keeps sessions in (SQLite, and PostgreSQL
//! when DATABASE_URL names one): Ann's session and run are invisible to Bob
//! (every route answers as for an id nobody made), Bob cannot continue
//! Ann's session, and the admin key sees both users' sessions.

use serde_json::Value;

use crate::common::pg::Schema;
use crate::common::{TestServer, config_with, form, sqlite_store};

const KEYS: &str = r#"
[auth]
api_keys = [
    { key = "key-ann", user = "ann" },
    { key = "key-bob", user = "bob" },
    { key = "key-ops", name = "ops", admin = true },
]
"#;

struct Caller<'a> {
    server: &'a TestServer,
    key: &'static str,
}

impl Caller<'_> {
    async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let resp = req.bearer_auth(self.key).send().await.expect("answered");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("a body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let req = self.server.client.get(self.server.url(path));
        self.send(req).await
    }

    async fn run(&self, fields: &[(&str, &str)]) -> (u16, Value) {
        let req = self
            .server
            .client
            .post(self.server.url("/agents/assistant/runs"))
            .multipart(form(fields));
        self.send(req).await
    }

    /// The session ids `GET /sessions` lists for this caller.
    async fn session_ids(&self) -> Vec<String> {
        let (status, body) = self.get("/sessions?limit=100").await;
        assert_eq!(status, 200, "{body}");
        let mut ids: Vec<String> = body["data"]
            .as_array()
            .expect("a data list")
            .iter()
            .map(|s| s["session_id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    }
}

/// What a caller gets for `path` with `id` in it, and for the same path
/// with an id nobody made: the two must read the same (the id aside).
async fn as_for_an_unknown_id(caller: &Caller<'_>, path: &str, id: &str) -> (u16, Value) {
    let ghost = "00000000-ghost-ghost-ghost-000000000000";
    let (status, body) = caller.get(&path.replace("{id}", id)).await;
    let (ghost_status, ghost_body) = caller.get(&path.replace("{id}", ghost)).await;
    assert_eq!(status, ghost_status, "{path}: {body} vs {ghost_body}");
    assert_eq!(
        body.to_string().replace(id, "ID"),
        ghost_body.to_string().replace(ghost, "ID"),
        "{path}"
    );
    (status, body)
}

async fn story(config: &str) {
    let server = TestServer::start_from_config(config).await;
    let ann = Caller {
        server: &server,
        key: "key-ann",
    };
    let bob = Caller {
        server: &server,
        key: "key-bob",
    };
    let ops = Caller {
        server: &server,
        key: "key-ops",
    };

    // Ann talks to the assistant.
    let (status, out) = ann.run(&[("message", "my plans for Friday")]).await;
    assert_eq!(status, 200, "{out}");
    let session = out["session_id"].as_str().unwrap().to_string();
    let run = out["run_id"].as_str().unwrap().to_string();
    let (status, _) = ann.get(&format!("/sessions/{session}")).await;
    assert_eq!(status, 200);

    // Bob finds nothing of it, on each route, as for an id nobody made.
    for path in ["/sessions/{id}", "/sessions/{id}/runs"] {
        let (status, _) = as_for_an_unknown_id(&bob, path, &session).await;
        assert_eq!(status, 404, "{path}");
    }
    let (status, _) = as_for_an_unknown_id(
        &bob,
        &format!("/agents/assistant/runs/{{id}}?session_id={session}"),
        &run,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) =
        as_for_an_unknown_id(&bob, &format!("/sessions/{session}/runs/{{id}}"), &run).await;
    assert_eq!(status, 404);
    assert!(!bob.session_ids().await.contains(&session));
    // Renaming or deleting it changes nothing: absent for Bob.
    let rename = server
        .client
        .post(server.url(&format!("/sessions/{session}/rename")))
        .json(&serde_json::json!({"session_name": "mine now"}));
    let (status, _) = bob.send(rename).await;
    assert_eq!(status, 404);
    let delete = server
        .client
        .delete(server.url(&format!("/sessions/{session}")));
    let (status, _) = bob.send(delete).await;
    assert_eq!(status, 204, "as deleting an unknown session is");
    // Continuing Ann's session is refused; it does not attach to it.
    let (status, body) = bob
        .run(&[("message", "what are her plans?"), ("session_id", &session)])
        .await;
    assert_eq!(status, 404, "{body}");
    // Nor can Ann's token speak for Bob.
    let (status, body) = ann.run(&[("message", "hi"), ("user_id", "bob")]).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error_code"], "FORBIDDEN", "{body}");

    // Ann's session is whole, and still hers alone.
    let (status, detail) = ann.get(&format!("/sessions/{session}")).await;
    assert_eq!(status, 200);
    assert_ne!(detail["session_name"], "mine now");
    let (status, runs) = ann.get(&format!("/sessions/{session}/runs")).await;
    assert_eq!(status, 200);
    assert_eq!(runs.as_array().unwrap().len(), 1, "{runs}");

    // Bob's own conversation; each lists only their own, the admin both.
    let (status, out) = bob.run(&[("message", "hello")]).await;
    assert_eq!(status, 200, "{out}");
    let bobs = out["session_id"].as_str().unwrap().to_string();
    assert_eq!(ann.session_ids().await, [session.clone()]);
    assert_eq!(bob.session_ids().await, [bobs.clone()]);
    let all = ops.session_ids().await;
    assert!(all.contains(&session) && all.contains(&bobs), "{all:?}");
    let (status, _) = ops.get(&format!("/sessions/{session}")).await;
    assert_eq!(status, 200);
    let (status, _) = ops
        .get(&format!(
            "/agents/assistant/runs/{run}?session_id={session}"
        ))
        .await;
    assert_eq!(status, 200);
    server.stop();
}

#[tokio::test]
async fn a_users_sessions_are_invisible_to_another_user_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir.path().join("agentd.db"));
    story(&config_with(&format!("{KEYS}{store}"))).await;
}

#[tokio::test]
async fn a_users_sessions_are_invisible_to_another_user_on_postgres() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    story(&config_with(&format!("{KEYS}{}", schema.store_config(30)))).await;
    schema.drop_schema().await;
}
