//! No run left behind: clients that leave while their run is being created,
//! on every protocol that creates runs, at once. However the departures fall
//! (before the run is stored, between storing and starting it, or after),
//! no run may stay in flight with nothing behind it once the sweeper has
//! had its look (`engine.sweep_secs`, one second here). On SQLite and on
//! PostgreSQL.

use std::time::Duration;

use agentd::engine::RunStatus;
use agentd::store::RunFilter;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::common::pg::Schema;
use crate::common::{TestServer, config_with, sqlite_store};

/// Clients per kind of request.
const CLIENTS: usize = 40;

/// The agent config with a one-second sweep, Codegen on (one key, no
/// create limit worth the name) and `store` appended.
fn config(store: &str) -> String {
    config_with(&format!(
        r#"
[engine]
sweep_secs = 1

[codegen]
[codegen.rate_limit]
creates = 100000

[[codegen.users]]
id = 1
api_keys = ["key-alice"]
organizations = [1]

[[codegen.organizations]]
id = 1
name = "Acme"
{store}"#
    ))
}

/// One request of each kind that creates a run: path, content type, body,
/// extra headers.
fn requests() -> Vec<(&'static str, &'static str, String, &'static str)> {
    let acp = |mode: &str| {
        json!({"agent_name": "assistant", "mode": mode,
            "input": [{"role": "user", "parts": [{"content": "x", "content_type": "text/plain"}]}]})
        .to_string()
    };
    let a2a = |method: &str| {
        json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": {"message": {
            "kind": "message", "messageId": "m1", "role": "user",
            "parts": [{"kind": "text", "text": "x"}]}}})
        .to_string()
    };
    let form = "application/x-www-form-urlencoded";
    let json = "application/json";
    vec![
        ("/agents/assistant/runs", form, "message=x".into(), ""),
        (
            "/agents/assistant/runs",
            form,
            "message=x&stream=true".into(),
            "",
        ),
        (
            "/agents/assistant/runs",
            form,
            "message=x&background=true".into(),
            "",
        ),
        ("/acp/runs", json, acp("sync"), ""),
        ("/acp/runs", json, acp("stream"), ""),
        ("/acp/runs", json, acp("async"), ""),
        (
            "/agui",
            json,
            json!({"threadId": "t1", "runId": "", "messages": [{"id": "m1", "role": "user", "content": "x"}],
                "tools": [], "context": [], "state": {}, "forwardedProps": {}})
            .to_string(),
            "",
        ),
        ("/a2a/assistant", json, a2a("message/send"), ""),
        ("/a2a/assistant", json, a2a("message/stream"), ""),
        (
            "/v1/organizations/1/agent/run",
            json,
            json!({"prompt": "x"}).to_string(),
            "authorization: Bearer key-alice\r\n",
        ),
    ]
}

/// Sends a whole request on a fresh connection, then closes it after
/// `wait`: the server has the request and its client is gone.
async fn post_and_leave(base: &str, request: &(&str, &str, String, &str), wait: Duration) {
    let (path, content_type, body, headers) = request;
    let addr = base.trim_start_matches("http://");
    let Ok(mut conn) = tokio::net::TcpStream::connect(addr).await else {
        return;
    };
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: {content_type}\r\n\
         content-length: {}\r\n{headers}\r\n",
        body.len()
    );
    let _ = conn.write_all(head.as_bytes()).await;
    let _ = conn.write_all(body.as_bytes()).await;
    tokio::time::sleep(wait).await;
    drop(conn);
}

/// Every kind of request `CLIENTS` times, all at once, each client leaving
/// 0-19 ms after sending; then waits (a generous fuse) until no run is in
/// flight, and says how many runs were made.
async fn abandon_everywhere(server: &TestServer) -> usize {
    let requests = requests();
    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        for request in &requests {
            let base = server.base.clone();
            let request = request.clone();
            let wait = Duration::from_millis((i % 20) as u64);
            clients.push(tokio::spawn(async move {
                post_and_leave(&base, &request, wait).await
            }));
        }
    }
    for client in clients {
        client.await.unwrap();
    }
    let store = server.store.clone();
    let in_flight = RunFilter {
        statuses: vec![RunStatus::Pending, RunStatus::Running],
        ..Default::default()
    };
    let mut left = Vec::new();
    for _ in 0..300 {
        left = store.list_runs(&in_flight).await.unwrap();
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stuck: Vec<(&str, &str, &str)> = left
        .iter()
        .map(|r| (r.run_id.as_str(), r.origin.as_str(), r.status.as_str()))
        .collect();
    assert!(
        stuck.is_empty(),
        "{} runs still in flight 30 s after their clients left: {stuck:?}",
        stuck.len()
    );
    let all = store.list_runs(&RunFilter::default()).await.unwrap();
    // A cancel of a run that ended answers as one that ended.
    for run in &all {
        assert!(run.status.is_terminal(), "{run:?}");
    }
    all.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_leaving_while_their_runs_start_leave_no_run_in_flight_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        TestServer::start_from_config(&config(&sqlite_store(&dir.path().join("agentd.db")))).await;
    let made = abandon_everywhere(&server).await;
    assert!(made > 0, "no request got as far as making a run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_leaving_while_their_runs_start_leave_no_run_in_flight_on_postgres() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    let server = TestServer::start_from_config(&config(&schema.store_config(30))).await;
    let made = abandon_everywhere(&server).await;
    assert!(made > 0, "no request got as far as making a run");
    drop(server);
    schema.drop_schema().await;
}

/// A run stored in flight with nothing behind it (what a start cut short
/// by a fault leaves) is failed by the sweeper within a few looks, and a
/// resuming client gets its terminal event.
async fn a_stray_run_is_failed(server: &TestServer) {
    let store = &server.store;
    let mut stray = agentd::engine::RunRecord::pending("stray-1", "s-stray", "assistant", "A", 1);
    stray.origin = "agentos".into();
    assert!(store.create_run(&stray).await.unwrap());
    let mut ended = None;
    for _ in 0..300 {
        let run = store.get_run("stray-1").await.unwrap().unwrap();
        if run.status.is_terminal() {
            ended = Some(run);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let run = ended.expect("the stray run is ended within 30 s");
    assert_eq!(run.status, RunStatus::Failed);
    assert_eq!(
        run.error.as_ref().map(|e| e.kind.as_str()),
        Some("interrupted")
    );
}

#[tokio::test]
async fn a_run_in_flight_with_nothing_behind_it_is_swept_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        TestServer::start_from_config(&config(&sqlite_store(&dir.path().join("agentd.db")))).await;
    a_stray_run_is_failed(&server).await;
}

/// On PostgreSQL this replica's heartbeat renews the stray run's lease, so
/// no other replica would ever fail it: this one must.
#[tokio::test]
async fn a_run_in_flight_with_nothing_behind_it_is_swept_on_postgres() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    let server = TestServer::start_from_config(&config(&schema.store_config(2))).await;
    a_stray_run_is_failed(&server).await;
    drop(server);
    schema.drop_schema().await;
}
