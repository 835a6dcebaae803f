//! AgentOS session routes over real HTTP, as the Agno UI and AgentOSClient
//! use them: list with filters, sorting and pages, detail with chat history,
//! a session's runs, create, update, rename, delete (runs and events too),
//! and the 404 the ACP client also reads. Every story runs against the
//! SQLite store and the memory store.

use crate::common::{TestServer, config_with, form, sqlite_store};
use serde_json::{Value, json};

/// The servers every story runs on: SQLite in a temp dir, and memory.
async fn servers(extra: &str) -> Vec<(TestServer, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let file = TestServer::start_from_config(&config_with(&format!(
        "{extra}{}",
        sqlite_store(&dir.path().join("agentd.db"))
    )))
    .await;
    let memory = TestServer::start(&config_with(extra)).await;
    vec![(file, Some(dir)), (memory, None)]
}

async fn run(server: &TestServer, agent: &str, pairs: &[(&str, &str)]) -> Value {
    let resp = server
        .client
        .post(server.url(&format!("/agents/{agent}/runs")))
        .multipart(form(pairs))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn get(server: &TestServer, path: &str) -> (u16, Value) {
    let resp = server.client.get(server.url(path)).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn send_json(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let resp = server
        .client
        .request(method, server.url(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn ids(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["session_id"].as_str().unwrap().to_string())
        .collect()
}

/// Five sessions: u1 has "alpha one", "beta two", "Gamma three" on
/// `assistant` and "delta four" on `second`; u2 has "epsilon five".
async fn seed(server: &TestServer) {
    for (session, user, agent, text) in [
        ("s1", "u1", "assistant", "alpha one"),
        ("s2", "u1", "assistant", "beta two"),
        ("s3", "u1", "assistant", "Gamma three"),
        ("s4", "u1", "second", "delta four"),
        ("s5", "u2", "assistant", "epsilon five"),
    ] {
        run(
            server,
            agent,
            &[
                ("message", text),
                ("session_id", session),
                ("user_id", user),
            ],
        )
        .await;
    }
}

const SECOND_AGENT: &str = "\n[[agents]]\nid = \"second\"\nmodel = \"builtin\"\n";

#[tokio::test]
async fn list_filters_sorts_and_pages() {
    for (server, _dir) in servers(SECOND_AGENT).await {
        seed(&server).await;

        let (status, all) = get(&server, "/sessions").await;
        assert_eq!(status, 200);
        assert_eq!(all["meta"]["total_count"], 5);
        assert_eq!(all["meta"]["page"], 1);
        assert_eq!(all["meta"]["limit"], 20);
        assert_eq!(all["meta"]["total_pages"], 1);
        assert!(all["meta"]["search_time_ms"].is_number());
        let item = all["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["session_id"] == "s1")
            .unwrap();
        assert_eq!(
            item["session_name"], "alpha one",
            "named after the first message"
        );
        assert_eq!(item["session_type"], "agent");
        assert_eq!(item["agent_id"], "assistant");
        assert_eq!(item["user_id"], "u1");
        assert!(item["total_tokens"].as_u64().unwrap() > 0);
        assert!(item["created_at"].as_str().unwrap().ends_with('Z'));

        // Filters.
        let (_, u1) = get(&server, "/sessions?user_id=u1").await;
        assert_eq!(u1["meta"]["total_count"], 4);
        let (_, second) = get(&server, "/sessions?component_id=second").await;
        assert_eq!(ids(&second), ["s4"]);
        let (_, by_name) = get(&server, "/sessions?session_name=GAMMA").await;
        assert_eq!(ids(&by_name), ["s3"], "partial name match ignores case");
        let (_, both) = get(
            &server,
            "/sessions?user_id=u1&component_id=assistant&type=agent",
        )
        .await;
        assert_eq!(both["meta"]["total_count"], 3);
        let (_, teams) = get(&server, "/sessions?type=team").await;
        assert_eq!(teams["meta"]["total_count"], 0);

        // Sorting and paging: by name ascending, two per page.
        let mut seen = Vec::new();
        for page in 1..=3 {
            let (status, p) = get(
                &server,
                &format!("/sessions?sort_by=session_name&sort_order=asc&limit=2&page={page}"),
            )
            .await;
            assert_eq!(status, 200);
            assert_eq!(p["meta"]["total_pages"], 3);
            assert_eq!(p["meta"]["total_count"], 5);
            seen.extend(ids(&p));
        }
        // Byte order: "Gamma" sorts before the lowercase names.
        assert_eq!(seen, ["s3", "s1", "s2", "s4", "s5"]);
        let (_, beyond) = get(&server, "/sessions?limit=2&page=4").await;
        assert!(ids(&beyond).is_empty());
        let (_, desc) = get(&server, "/sessions?sort_by=session_name&sort_order=desc").await;
        assert_eq!(ids(&desc), ["s5", "s4", "s2", "s1", "s3"]);

        // Bad query values are FastAPI-style 422s naming the parameter.
        for (query, loc) in [
            ("type=robot", "type"),
            ("limit=0", "limit"),
            ("page=abc", "page"),
            ("sort_order=sideways", "sort_order"),
            ("sort_by=colour", "sort_by"),
        ] {
            let (status, body) = get(&server, &format!("/sessions?{query}")).await;
            assert_eq!(status, 422, "{query}");
            assert_eq!(body["detail"][0]["loc"], json!(["query", loc]), "{query}");
        }
    }
}

#[tokio::test]
async fn session_detail_runs_and_the_shared_404() {
    for (server, _dir) in servers("").await {
        let first = run(
            &server,
            "assistant",
            &[("message", "hello"), ("session_id", "d1")],
        )
        .await;
        let second = run(
            &server,
            "assistant",
            &[("message", "again"), ("session_id", "d1")],
        )
        .await;
        run(
            &server,
            "assistant",
            &[("message", "elsewhere"), ("session_id", "d2")],
        )
        .await;

        let (status, detail) = get(&server, "/sessions/d1").await;
        assert_eq!(status, 200);
        assert_eq!(detail["session_id"], "d1");
        assert_eq!(detail["agent_session_id"], "d1");
        assert_eq!(detail["agent_id"], "assistant");
        assert_eq!(detail["session_name"], "hello");
        assert_eq!(detail["agent_data"]["name"], "Assistant");
        assert!(detail["total_tokens"].as_u64().unwrap() > 0);
        let history: Vec<(String, String)> = detail["chat_history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["role"].as_str().unwrap().to_string(),
                    m["content"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(history.len(), 4);
        assert_eq!(history[0], ("user".into(), "hello".into()));
        assert_eq!(history[1], ("assistant".into(), "You said: hello".into()));
        assert_eq!(history[2].1, "again");

        // Its runs, oldest first, and one run by id.
        let (status, runs) = get(&server, "/sessions/d1/runs").await;
        assert_eq!(status, 200);
        let runs = runs.as_array().unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0]["run_id"], first["run_id"]);
        assert_eq!(runs[1]["run_id"], second["run_id"]);
        assert_eq!(runs[0]["status"], "COMPLETED");
        let (_, completed) = get(&server, "/sessions/d1/runs?status=completed").await;
        assert_eq!(completed.as_array().unwrap().len(), 2);
        let (_, errored) = get(&server, "/sessions/d1/runs?status=ERROR&status=PAUSED").await;
        assert!(errored.as_array().unwrap().is_empty());
        let (status, _) = get(&server, "/sessions/d1/runs?status=sleepy").await;
        assert_eq!(status, 422);
        let (_, none_yet) = get(&server, "/sessions/d1/runs?created_before=0").await;
        assert!(none_yet.as_array().unwrap().is_empty());
        let run_id = first["run_id"].as_str().unwrap();
        let (status, one) = get(&server, &format!("/sessions/d1/runs/{run_id}")).await;
        assert_eq!(status, 200);
        assert_eq!(one["run_input"], "hello");
        let (status, _) = get(&server, &format!("/sessions/d2/runs/{run_id}")).await;
        assert_eq!(status, 404, "a run of another session");

        // Other users' and unknown sessions are 404s that both AgentOS and
        // ACP clients can read.
        let (status, _) = get(&server, "/sessions/d1?user_id=someone-else").await;
        assert_eq!(status, 404);
        let (status, body) = get(&server, "/sessions/3f0e8a4e-0000-4000-8000-000000000000").await;
        assert_eq!(status, 404);
        assert_eq!(
            body["detail"],
            "Session with id '3f0e8a4e-0000-4000-8000-000000000000' not found"
        );
        assert_eq!(body["code"], "not_found");
        assert_eq!(body["message"], body["detail"]);
        let (status, body) = get(&server, "/sessions/nope/runs").await;
        assert_eq!(status, 404);
        assert_eq!(body["detail"], "Session with ID nope not found");
    }
}

#[tokio::test]
async fn create_update_rename() {
    for (server, _dir) in servers("").await {
        let (status, created) = send_json(
            &server,
            reqwest::Method::POST,
            "/sessions?type=agent",
            json!({"session_id": "c1", "session_name": "Planning", "agent_id": "assistant",
                   "user_id": "u9", "session_state": {"step": 1}, "metadata": {"k": "v"}}),
        )
        .await;
        assert_eq!(status, 201);
        assert_eq!(created["session_id"], "c1");
        assert_eq!(created["session_name"], "Planning");
        assert_eq!(created["session_state"], json!({"step": 1}));
        assert_eq!(created["chat_history"], json!([]));
        let (status, _) = send_json(
            &server,
            reqwest::Method::POST,
            "/sessions",
            json!({"session_id": "c1"}),
        )
        .await;
        assert_eq!(status, 409);
        let (status, generated) =
            send_json(&server, reqwest::Method::POST, "/sessions", json!({})).await;
        assert_eq!(status, 201);
        assert!(!generated["session_id"].as_str().unwrap().is_empty());
        let (status, _) = send_json(
            &server,
            reqwest::Method::POST,
            "/sessions",
            json!({"agent_id": "ghost"}),
        )
        .await;
        assert_eq!(status, 404);
        let resp = server
            .client
            .post(server.url("/sessions"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 422);

        // A run continues the created session and keeps its name.
        run(
            &server,
            "assistant",
            &[("message", "first words"), ("session_id", "c1")],
        )
        .await;
        let (_, detail) = get(&server, "/sessions/c1").await;
        assert_eq!(detail["session_name"], "Planning");
        assert_eq!(detail["chat_history"].as_array().unwrap().len(), 2);

        let (status, patched) = send_json(
            &server,
            reqwest::Method::PATCH,
            "/sessions/c1",
            json!({"session_state": {"step": 2}, "metadata": {"k": "w"}}),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(patched["session_state"], json!({"step": 2}));
        assert_eq!(patched["metadata"], json!({"k": "w"}));
        assert_eq!(
            patched["session_name"], "Planning",
            "absent fields are kept"
        );

        let (status, renamed) = send_json(
            &server,
            reqwest::Method::POST,
            "/sessions/c1/rename",
            json!({"session_name": "Renamed"}),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(renamed["session_name"], "Renamed");
        let (_, listed) = get(&server, "/sessions?session_name=renamed").await;
        assert_eq!(ids(&listed), ["c1"]);
        let (status, body) = send_json(
            &server,
            reqwest::Method::POST,
            "/sessions/c1/rename",
            json!({}),
        )
        .await;
        assert_eq!(status, 422);
        assert_eq!(body["detail"][0]["loc"], json!(["body", "session_name"]));
        let (status, _) = send_json(
            &server,
            reqwest::Method::POST,
            "/sessions/ghost/rename",
            json!({"session_name": "x"}),
        )
        .await;
        assert_eq!(status, 404);
        let (status, _) = send_json(
            &server,
            reqwest::Method::PATCH,
            "/sessions/ghost",
            json!({"session_name": "x"}),
        )
        .await;
        assert_eq!(status, 404);
    }
}

#[tokio::test]
async fn delete_removes_runs_and_events() {
    let slow = "\n[models.slow]\nprovider = \"builtin\"\ntoken_delay_ms = 200\n[[agents]]\nid = \"slow\"\nmodel = \"slow\"\n";
    for (server, _dir) in servers(slow).await {
        let out = run(
            &server,
            "assistant",
            &[("message", "to forget"), ("session_id", "x1")],
        )
        .await;
        let run_id = out["run_id"].as_str().unwrap().to_string();
        run(
            &server,
            "assistant",
            &[("message", "keep"), ("session_id", "x2")],
        )
        .await;
        run(
            &server,
            "assistant",
            &[("message", "bulk a"), ("session_id", "x3")],
        )
        .await;
        run(
            &server,
            "assistant",
            &[("message", "bulk b"), ("session_id", "x4")],
        )
        .await;

        let resp = server
            .client
            .delete(server.url("/sessions/x1"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 204);
        let (status, _) = get(&server, "/sessions/x1").await;
        assert_eq!(status, 404);
        let (status, _) = get(
            &server,
            &format!("/agents/assistant/runs/{run_id}?session_id=x1"),
        )
        .await;
        assert_eq!(status, 404, "the run went with its session");
        assert!(
            server.store.events(&run_id, 0).await.unwrap().is_empty(),
            "and so did its events"
        );
        let resp = server
            .client
            .post(server.url(&format!("/agents/assistant/runs/{run_id}/resume")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404);
        // Deleting again is still fine.
        let resp = server
            .client
            .delete(server.url("/sessions/x1"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 204);

        // Bulk delete.
        let (status, _) = send_json(
            &server,
            reqwest::Method::DELETE,
            "/sessions",
            json!({"session_ids": ["x3", "x4"], "session_types": ["agent"]}),
        )
        .await;
        assert_eq!(status, 400, "one type per id");
        let (status, _) = send_json(&server, reqwest::Method::DELETE, "/sessions", json!({})).await;
        assert_eq!(status, 422);
        let resp = server
            .client
            .delete(server.url("/sessions"))
            .json(&json!({"session_ids": ["x3", "x4"], "session_types": ["agent", "agent"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 204);
        let (_, left) = get(&server, "/sessions").await;
        assert_eq!(ids(&left), ["x2"]);

        // A session with a run in progress is not deleted under it (the run
        // is registered before the 202, and takes seconds to answer).
        let resp = server
            .client
            .post(server.url("/agents/slow/runs"))
            .multipart(form(&[
                ("message", "a long answer to wait for"),
                ("session_id", "busy"),
                ("background", "true"),
            ]))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 202);
        let resp = server
            .client
            .delete(server.url("/sessions/busy"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 409);
        let (status, _) = get(&server, "/sessions/busy").await;
        assert_eq!(status, 200);
    }
}
