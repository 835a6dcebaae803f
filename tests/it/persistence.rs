//! agentd remembers, over real HTTP: sessions continue across runs and
//! restarts, a dropped SSE client resumes with Last-Event-ID without losing
//! an event (mid-run and after the end), runs in flight when the process
//! died are failed as interrupted at the next start, a bad database file
//! stops start-up naming the file, and a store that fails mid-run fails that
//! run, not the server. The SQLite store and the memory store pass the same
//! continuity and replay stories.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::common::{
    MockLlm, Reply, TestServer, agentos_run_json, config_with, form, get_json, sqlite_store, sse,
};
use agentd::config::{StoreConfig, StoreKind};
use agentd::engine::{Event, EventKind, FailureKind, RunRecord, SessionRecord};
use agentd::store::memory::MemoryStore;
use agentd::store::{RunFilter, SessionFilter, Store, StoreError};
use async_trait::async_trait;
use serde_json::Value;

async fn run_json(server: &TestServer, agent: &str, pairs: &[(&str, &str)]) -> Value {
    agentos_run_json(server, agent, form(pairs)).await
}

async fn run_stream(server: &TestServer, agent: &str, pairs: &[(&str, &str)]) -> Vec<sse::Frame> {
    let mut pairs = pairs.to_vec();
    pairs.push(("stream", "true"));
    let resp = server
        .client
        .post(server.url(&format!("/agents/{agent}/runs")))
        .multipart(form(&pairs))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    sse::read_all(resp).await
}

/// Re-attaches to a run's stream the way an EventSource does: Last-Event-ID.
async fn resume(
    server: &TestServer,
    agent: &str,
    run_id: &str,
    last_id: Option<&str>,
) -> reqwest::Response {
    let mut req = server
        .client
        .post(server.url(&format!("/agents/{agent}/runs/{run_id}/resume")));
    if let Some(id) = last_id {
        req = req.header("Last-Event-ID", id);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp
}

fn raw(frames: &[sse::Frame]) -> Vec<String> {
    frames.iter().map(|f| f.raw.clone()).collect()
}

fn content_of(frames: &[sse::Frame]) -> String {
    frames
        .iter()
        .filter(|f| f.data["event"] == "RunContent")
        .filter_map(|f| f.data["content"].as_str())
        .collect()
}

fn str_of(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_string()
}

/// Two runs of one session: the second sees the first (the builtin model
/// echoes what it remembers), and the session lists both.
async fn session_continues(server: &TestServer, session: &str) {
    let first = run_json(
        server,
        "assistant",
        &[("message", "my name is Ada"), ("session_id", session)],
    )
    .await;
    assert_eq!(first["status"], "COMPLETED");
    let second = run_json(
        server,
        "assistant",
        &[("message", "what is my name?"), ("session_id", session)],
    )
    .await;
    assert_eq!(
        second["content"],
        "You said: what is my name? (message 2 of this conversation; before that you said: \"my name is Ada\")"
    );
    let runs: Vec<Value> = get_json(
        &server.client,
        server.url(&format!("/sessions/{session}/runs")),
    )
    .await;
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["run_input"], "my name is Ada");
    assert_eq!(runs[1]["run_input"], "what is my name?");
}

#[tokio::test]
async fn session_continuity_memory_store() {
    let server = TestServer::start(&config_with("")).await;
    session_continues(&server, "mem-session").await;
}

#[tokio::test]
async fn session_continuity_sqlite_store_and_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_with(&sqlite_store(&dir.path().join("data/agentd.db")));
    let server = TestServer::start_from_config(&config).await;
    session_continues(&server, "file-session").await;
    server.stop();

    let server = TestServer::start_from_config(&config).await;
    let third = run_json(
        &server,
        "assistant",
        &[("message", "and now?"), ("session_id", "file-session")],
    )
    .await;
    assert_eq!(
        third["content"],
        "You said: and now? (message 3 of this conversation; before that you said: \"what is my name?\")"
    );
    let detail: Value = get_json(&server.client, server.url("/sessions/file-session")).await;
    let history: Vec<String> = detail["chat_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| str_of(m, "content"))
        .collect();
    assert_eq!(history.len(), 6, "{history:?}");
    assert_eq!(history[0], "my name is Ada");
    assert_eq!(history[4], "and now?");
}

/// Starts a background stream of a `words`-word reply, one word every
/// `delay_ms`, and drops the connection after `frames` content frames.
/// Returns the whole reply's text and the frames read.
async fn slow_background_stream(
    server: &TestServer,
    mock: &MockLlm,
    words: usize,
    delay_ms: u64,
    frames: usize,
) -> (String, Vec<sse::Frame>) {
    let text = (1..=words)
        .map(|i| format!("w{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    mock.push(Reply::Slow {
        text: text.clone(),
        delay_ms,
    });
    let resp = server
        .client
        .post(server.url("/agents/upstream/runs"))
        .multipart(form(&[
            ("message", "talk slowly"),
            ("stream", "true"),
            ("background", "true"),
        ]))
        .send()
        .await
        .unwrap();
    let mut seen_content = 0;
    let head = sse::read_until(resp, |f| {
        if f.data["event"] == "RunContent" {
            seen_content += 1;
        }
        seen_content == frames
    })
    .await;
    (text, head)
}

/// A background stream whose client drops mid-run: reconnecting with the
/// last id received gets exactly the missed events, then the live ones.
async fn replay_mid_run(server: &TestServer, mock: &MockLlm) {
    let (text, head) = slow_background_stream(server, mock, 25, 100, 3).await;
    let run_id = str_of(&head[0].data, "run_id");
    let session_id = str_of(&head[0].data, "session_id");
    let last_id = head
        .last()
        .unwrap()
        .id
        .clone()
        .expect("content frames carry ids");
    let run: Value = get_json(
        &server.client,
        server.url(&format!(
            "/agents/upstream/runs/{run_id}?session_id={session_id}"
        )),
    )
    .await;
    assert_eq!(run["status"], "RUNNING", "the reconnect happens mid-run");

    let tail = sse::read_all(resume(server, "upstream", &run_id, Some(&last_id)).await).await;
    let first_resumed: u64 = tail[0].id.as_deref().unwrap().parse().unwrap();
    assert!(first_resumed > last_id.parse::<u64>().unwrap());
    assert_eq!(tail.last().unwrap().data["event"], "RunCompleted");
    let mut all = head.clone();
    all.extend(tail);
    assert_eq!(content_of(&all), text);

    // Nothing lost, nothing reordered: head + tail is the whole log replayed.
    let full = sse::read_all(resume(server, "upstream", &run_id, None).await).await;
    assert_eq!(raw(&all), raw(&full));
    let ids: Vec<u64> = full
        .iter()
        .filter_map(|f| f.id.as_deref().map(|i| i.parse().unwrap()))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
}

#[tokio::test]
async fn last_event_id_resumes_mid_run_memory_store() {
    let mock = MockLlm::start().await;
    let server = TestServer::start(&crate::common::upstream_config(&mock.base_url, "")).await;
    replay_mid_run(&server, &mock).await;
}

#[tokio::test]
async fn last_event_id_resumes_mid_run_sqlite_store() {
    let mock = MockLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config =
        crate::common::upstream_config(&mock.base_url, &sqlite_store(&dir.path().join("a.db")));
    let server = TestServer::start_from_config(&config).await;
    replay_mid_run(&server, &mock).await;
}

/// A long stream is written as it goes (its run keeps only the recent
/// events in memory), and a reader that starts from the beginning mid-run
/// still gets every event once, in order: the stored part from the store,
/// then the live part.
async fn long_stream_replays_whole_mid_run(server: &TestServer, mock: &MockLlm) {
    let (text, head) = slow_background_stream(server, mock, 300, 5, 200).await;
    let run_id = str_of(&head[0].data, "run_id");
    let stored = server.store.events(&run_id, 0).await.unwrap();
    let run = server
        .engine
        .get_run(&agentd::engine::Principal::open(), &run_id)
        .await
        .unwrap()
        .unwrap();
    assert!(!run.status.is_terminal(), "still running: {:?}", run.status);
    assert!(
        stored.len() >= 128,
        "a running run's events are stored as it goes: {} stored",
        stored.len()
    );

    let full = sse::read_all(resume(server, "upstream", &run_id, None).await).await;
    assert_eq!(
        raw(&full[..head.len()]),
        raw(&head),
        "the same frames replayed"
    );
    assert_eq!(content_of(&full), text);
    assert_eq!(full.last().unwrap().data["event"], "RunCompleted");
    let ids: Vec<u64> = full
        .iter()
        .filter_map(|f| f.id.as_deref().map(|i| i.parse().unwrap()))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    // The event log read while running is whole as well (the ACP and UI
    // listings read it this way), and the store's log ends up complete.
    let events = server.store.events(&run_id, 0).await.unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_long_stream_replays_whole_mid_run_memory_store() {
    let mock = MockLlm::start().await;
    let server = TestServer::start(&crate::common::upstream_config(&mock.base_url, "")).await;
    long_stream_replays_whole_mid_run(&server, &mock).await;
}

#[tokio::test]
async fn a_long_stream_replays_whole_mid_run_sqlite_store() {
    let mock = MockLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config =
        crate::common::upstream_config(&mock.base_url, &sqlite_store(&dir.path().join("a.db")));
    let server = TestServer::start_from_config(&config).await;
    long_stream_replays_whole_mid_run(&server, &mock).await;
}

/// After the end, and after a restart, the stored log replays from any id:
/// the frames are the ones the live client got, byte for byte.
#[tokio::test]
async fn last_event_id_replays_after_the_end_and_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_with(&sqlite_store(&dir.path().join("a.db")));
    let server = TestServer::start_from_config(&config).await;
    let live = run_stream(
        &server,
        "assistant",
        &[("message", "/tool calculator {\"expression\": \"6*7\"}")],
    )
    .await;
    let names = sse::names(&live, "event");
    assert!(
        names.contains(&"ToolCallCompleted".to_string()),
        "{names:?}"
    );
    assert_eq!(names.last().unwrap(), "RunCompleted");
    let run_id = str_of(&live[0].data, "run_id");

    let check = |server: &TestServer| {
        let live = live.clone();
        let run_id = run_id.clone();
        let client = server.client.clone();
        let base = server.base.clone();
        async move {
            for (i, frame) in live.iter().enumerate() {
                let Some(id) = frame.id.as_deref() else {
                    continue;
                };
                let resp = client
                    .post(format!("{base}/agents/assistant/runs/{run_id}/resume"))
                    .header("Last-Event-ID", id)
                    .send()
                    .await
                    .unwrap();
                let replay = sse::read_all(resp).await;
                // An ended run's stream always ends with its terminal
                // event: after the last id too, which replays the end's
                // frames (those after the id before it).
                let expected = match i + 1 == live.len() {
                    false => &live[i + 1..],
                    true => {
                        let before = live[..i].iter().rposition(|f| f.id.is_some());
                        &live[before.map_or(0, |b| b + 1)..]
                    }
                };
                assert_eq!(raw(&replay), raw(expected), "after id {id}");
            }
        }
    };
    check(&server).await;
    // The engine's log in the store has every sequence number once, in order.
    let events = server.store.events(&run_id, 0).await.unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    server.stop();

    let server = TestServer::start_from_config(&config).await;
    check(&server).await;
}

/// A database an older agentd wrote (one row per event, as migration 2 left
/// the schema, and rows whole with their run id and seq in their JSON) is
/// upgraded on start: every event kept, and the run replays byte for byte.
#[tokio::test]
async fn an_older_agentds_event_rows_are_upgraded_and_replay_the_same() {
    use sqlx::Connection;

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let url = format!("sqlite://{}", db.display());
    upgrade_story(&config_with(&sqlite_store(&db)), async |run_id| {
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let per_event: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM event_chunks WHERE first_seq = last_seq AND run_id = ?",
        )
        .bind(run_id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(per_event, 0, "a flush of many events is one row");
        for sql in [
            "CREATE TABLE events (run_id TEXT NOT NULL, seq BIGINT NOT NULL, \
             event TEXT NOT NULL, PRIMARY KEY (run_id, seq))",
            "INSERT INTO events SELECT c.run_id, c.first_seq + j.key, \
             json_set(j.value, '$.seq', c.first_seq + j.key, '$.run_id', c.run_id) \
             FROM event_chunks c, json_each(c.events) j",
            "DROP TABLE event_chunks",
            "DELETE FROM _sqlx_migrations WHERE version = 3",
        ] {
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
        let rows = sqlx::query_scalar("SELECT count(*) FROM events WHERE run_id = ?")
            .bind(run_id)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        rows
    })
    .await;
}

/// The same upgrade on PostgreSQL: the old `events` table (JSONB rows,
/// whole) becomes chunks of one, and the run replays byte for byte.
#[tokio::test]
async fn an_older_agentds_event_rows_are_upgraded_on_postgres_too() {
    use sqlx::Connection;

    let Some(schema) = crate::common::pg::Schema::create().await else {
        return;
    };
    upgrade_story(&config_with(&schema.store_config(30)), async |run_id| {
        let mut conn = sqlx::PgConnection::connect(&schema.url).await.unwrap();
        for sql in [
            "CREATE TABLE events (run_id TEXT NOT NULL, seq BIGINT NOT NULL, \
             event JSONB NOT NULL, PRIMARY KEY (run_id, seq))",
            "INSERT INTO events SELECT c.run_id, c.first_seq + j.ord - 1, \
             j.value || jsonb_build_object('seq', c.first_seq + j.ord - 1, 'run_id', c.run_id) \
             FROM event_chunks c, jsonb_array_elements(c.events) WITH ORDINALITY AS j(value, ord)",
            "DROP TABLE event_chunks",
            "DELETE FROM _sqlx_migrations WHERE version = 3",
        ] {
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
        let rows = sqlx::query_scalar("SELECT count(*) FROM events WHERE run_id = $1")
            .bind(run_id)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        rows
    })
    .await;
    schema.drop_schema().await;
}

/// The upgrade as a client lives it: a run streamed on `config`; the
/// server stopped; `to_old_schema` puts the database back in the old shape
/// and says how many old rows the run has; a restarted server replays the
/// run exactly as it was streamed.
async fn upgrade_story(config: &str, to_old_schema: impl AsyncFnOnce(&str) -> i64) {
    let server = TestServer::start_from_config(config).await;
    let live = run_stream(&server, "assistant", &[("message", "hello there")]).await;
    let run_id = str_of(&live[0].data, "run_id");
    server.stop();

    let rows = to_old_schema(&run_id).await;
    assert!(rows as usize >= live.len() - 1, "{rows} old rows");

    let server = TestServer::start_from_config(config).await;
    let resp = server
        .client
        .post(server.url(&format!("/agents/assistant/runs/{run_id}/resume")))
        .header("Last-Event-ID", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let replay = sse::read_all(resp).await;
    server.stop();
    assert_eq!(raw(&replay), raw(&live));
}

/// A server "crashes" (its runtime vanishes mid-run, nothing more is
/// written); the next start finds the finished run whole and the one in
/// flight failed as interrupted, with a log that ends properly.
#[tokio::test]
async fn restart_keeps_finished_runs_and_fails_interrupted_ones() {
    let mock = MockLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config =
        crate::common::upstream_config(&mock.base_url, &sqlite_store(&dir.path().join("a.db")));
    let crashed = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let first = crashed
        .spawn({
            let config = config.clone();
            async move { TestServer::start_from_config(&config).await }
        })
        .await
        .unwrap();

    let done = run_stream(
        &first,
        "assistant",
        &[("message", "remember me"), ("session_id", "s-restart")],
    )
    .await;
    let done_id = str_of(&done[0].data, "run_id");

    // The second run calls a tool (a checkpoint writes its events), then
    // waits on an upstream that never answers in time.
    mock.push(Reply::ToolCall {
        name: "calculator".into(),
        arguments: "{\"expression\": \"2+2\"}".into(),
    });
    mock.push(Reply::Slow {
        text: "never".into(),
        delay_ms: 600_000,
    });
    let receipt: Value = first
        .client
        .post(first.url("/agents/upstream/runs"))
        .multipart(form(&[
            ("message", "use the calculator"),
            ("session_id", "s-restart"),
            ("background", "true"),
        ]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stuck_id = str_of(&receipt, "run_id");
    let store = first.store.clone();
    // A checkpoint stores the events, then the record: wait for both.
    crate::common::eventually("the tool step's checkpoint", || async {
        let events = store.events(&stuck_id, 0).await.ok()?;
        let stored = store.get_run(&stuck_id).await.ok()??;
        (stored.status.as_str() == "running"
            && events
                .iter()
                .any(|e| matches!(e.kind, EventKind::ToolResult { .. })))
        .then_some(())
    })
    .await;
    crashed.shutdown_background();
    drop(first);

    let server = TestServer::start_from_config(&config).await;
    let runs: Vec<Value> = get_json(&server.client, server.url("/sessions/s-restart/runs")).await;
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["run_id"], done_id.as_str());
    assert_eq!(runs[0]["status"], "COMPLETED");
    assert_eq!(runs[0]["content"], "You said: remember me");
    assert_eq!(runs[1]["run_id"], stuck_id.as_str());
    assert_eq!(runs[1]["status"], "ERROR");
    assert!(
        runs[1]["content"].as_str().unwrap().contains("interrupted"),
        "{}",
        runs[1]["content"]
    );

    // The finished run replays exactly as it streamed.
    let replay = sse::read_all(resume(&server, "assistant", &done_id, None).await).await;
    assert_eq!(raw(&replay), raw(&done));

    // The interrupted run's log keeps what was saved and ends with the failure.
    let replay = sse::read_all(resume(&server, "upstream", &stuck_id, None).await).await;
    let names = sse::names(&replay, "event");
    assert!(
        names.contains(&"ToolCallCompleted".to_string()),
        "{names:?}"
    );
    let last = replay.last().unwrap();
    assert_eq!(last.data["event"], "RunError");
    assert_eq!(last.data["error_id"], "interrupted");
    let events = server.store.events(&stuck_id, 0).await.unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    let (end, stored) = seqs.split_last().unwrap();
    assert_eq!(stored, (1..=stored.len() as u64).collect::<Vec<_>>());
    // The failure is numbered past every number the run could have handed
    // out before the crash (stored ones plus a block), not right after the
    // stored ones: a client that saw more still gets it when it resumes.
    assert!(*end > stored.len() as u64 + 1, "{seqs:?}");
    match &events.last().unwrap().kind {
        EventKind::Failed { error } => assert_eq!(error.kind, FailureKind::Interrupted),
        other => panic!("log ends with {other:?}"),
    }

    // Nothing is left running, and the session goes on.
    let in_flight = server
        .store
        .list_runs(&RunFilter {
            statuses: vec![
                agentd::engine::RunStatus::Pending,
                agentd::engine::RunStatus::Running,
            ],
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(in_flight.is_empty());
    let next = run_json(
        &server,
        "assistant",
        &[("message", "still there?"), ("session_id", "s-restart")],
    )
    .await;
    assert!(
        next["content"]
            .as_str()
            .unwrap()
            .contains("before that you said: \"remember me\""),
        "{}",
        next["content"]
    );
}

fn sqlite_config(path: &std::path::Path) -> StoreConfig {
    StoreConfig {
        kind: StoreKind::Sqlite,
        path: path.to_path_buf(),
        ..Default::default()
    }
}

async fn open_error(path: &std::path::Path) -> String {
    match agentd::store::open(&sqlite_config(path)).await {
        Ok(_) => panic!("{} opened", path.display()),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn a_bad_database_file_stops_start_up_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();

    // Not a database at all.
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, b"this is not a database, just text. ".repeat(200)).unwrap();
    let err = open_error(&garbage).await;
    assert!(err.contains(&garbage.display().to_string()), "{err}");
    assert!(err.contains("corrupt"), "{err}");

    // A real database whose pages were damaged after it was written.
    let damaged = dir.path().join("damaged.db");
    {
        let store = agentd::store::sqlite::SqliteStore::open(&damaged)
            .await
            .unwrap();
        for i in 0..300 {
            store
                .put_session(&SessionRecord {
                    session_id: format!("session-{i}"),
                    agent_id: Some("assistant".into()),
                    user_id: None,
                    owner: None,
                    name: Some(format!("a session with a longish name, number {i}")),
                    state: None,
                    metadata: None,
                    created_at: i,
                    updated_at: i,
                })
                .await
                .unwrap();
        }
        // Closing the only connection folds the WAL back into the file.
        store.close().await;
    }
    let wal = dir.path().join("damaged.db-wal");
    assert!(std::fs::metadata(&wal).map_or(true, |m| m.len() == 0));
    let mut bytes = std::fs::read(&damaged).unwrap();
    assert!(bytes.len() > 3 * 4096, "the file has several pages");
    for b in &mut bytes[4096..3 * 4096] {
        *b = 0xA5;
    }
    std::fs::write(&damaged, bytes).unwrap();
    let err = open_error(&damaged).await;
    assert!(err.contains(&damaged.display().to_string()), "{err}");
    assert!(
        err.contains("corrupt") || err.contains("malformed"),
        "{err}"
    );

    // A location that cannot hold the file (its directory is a regular file).
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").unwrap();
    let unwritable = blocker.join("agentd.db");
    let err = open_error(&unwritable).await;
    assert!(err.contains(&unwritable.display().to_string()), "{err}");

    // A directory where the file should be.
    let err = open_error(dir.path()).await;
    assert!(err.contains("is a directory"), "{err}");
}

/// `agentd serve` itself refuses to start on a corrupt file, and says which.
#[test]
fn serve_exits_with_a_message_naming_a_corrupt_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("broken.db");
    std::fs::write(&db, vec![0x42_u8; 16384]).unwrap();
    let config = dir.path().join("agentd.toml");
    std::fs::write(&config, config_with(&sqlite_store(&db))).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_agentd"))
        .args(["serve", "--config"])
        .arg(&config)
        .env_remove("AGENTD_BIND")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // It must exit by itself; a server that started serving is a failure.
    let mut exited = None;
    for _ in 0..500 {
        if let Some(status) = child.try_wait().unwrap() {
            exited = Some(status);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let Some(status) = exited else {
        let _ = child.kill();
        panic!("agentd kept running on a corrupt database");
    };
    assert!(!status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&db.display().to_string()), "{stderr}");
    assert!(stderr.contains("corrupt"), "{stderr}");
}

/// A memory store whose event writes can be made to fail, like a full disk.
struct FlakyStore {
    inner: MemoryStore,
    failing: AtomicBool,
}

#[async_trait]
impl Store for FlakyStore {
    async fn put_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        self.inner.put_run(run).await
    }
    async fn get_run(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError> {
        self.inner.get_run(run_id).await
    }
    async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>, StoreError> {
        self.inner.list_runs(filter).await
    }
    async fn append_events(&self, run_id: &str, events: &[Event]) -> Result<(), StoreError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("database or disk is full".into()));
        }
        self.inner.append_events(run_id, events).await
    }
    async fn events(&self, run_id: &str, after: u64) -> Result<Vec<Event>, StoreError> {
        self.inner.events(run_id, after).await
    }
    async fn put_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        self.inner.put_session(session).await
    }
    async fn get_session(&self, session_id: &str) -> Result<Option<SessionRecord>, StoreError> {
        self.inner.get_session(session_id).await
    }
    async fn list_sessions(
        &self,
        filter: &SessionFilter,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        self.inner.list_sessions(filter).await
    }
    async fn count_sessions(&self, filter: &SessionFilter) -> Result<u64, StoreError> {
        self.inner.count_sessions(filter).await
    }
    async fn delete_session(&self, session_id: &str) -> Result<bool, StoreError> {
        self.inner.delete_session(session_id).await
    }
    async fn create_run(&self, run: &RunRecord) -> Result<bool, StoreError> {
        self.inner.create_run(run).await
    }
    async fn create_session(&self, session: &SessionRecord) -> Result<bool, StoreError> {
        self.inner.create_session(session).await
    }
    async fn take_run(
        &self,
        run: &RunRecord,
        from: agentd::engine::RunStatus,
        events: &[Event],
    ) -> Result<bool, StoreError> {
        self.inner.take_run(run, from, events).await
    }
    async fn enqueue_run(
        &self,
        run: &RunRecord,
        job: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        self.inner.enqueue_run(run, job).await
    }
    async fn claim_queued_run(
        &self,
        run_id: Option<&str>,
    ) -> Result<Option<(RunRecord, serde_json::Value)>, StoreError> {
        self.inner.claim_queued_run(run_id).await
    }
    async fn request_cancel(&self, run_id: &str) -> Result<bool, StoreError> {
        self.inner.request_cancel(run_id).await
    }
    async fn cancel_requested(&self, run_id: &str) -> Result<bool, StoreError> {
        self.inner.cancel_requested(run_id).await
    }
    async fn hit_rate_limit(
        &self,
        key: &str,
        limit: u32,
        window: std::time::Duration,
    ) -> Result<agentd::store::RateDecision, StoreError> {
        self.inner.hit_rate_limit(key, limit, window).await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[tokio::test]
async fn a_failing_store_fails_the_run_not_the_server() {
    let store = Arc::new(FlakyStore {
        inner: MemoryStore::new(),
        failing: AtomicBool::new(true),
    });
    let server = TestServer::start_with_store(&config_with(""), store.clone()).await;

    // Text only: the answer is refused before it is announced.
    let frames = run_stream(&server, "assistant", &[("message", "hello")]).await;
    let last = frames.last().unwrap();
    assert_eq!(
        last.data["event"],
        "RunError",
        "{:?}",
        sse::names(&frames, "event")
    );
    assert_eq!(last.data["error_type"], "store");
    assert!(
        last.data["content"]
            .as_str()
            .unwrap()
            .contains("disk is full"),
        "{}",
        last.data["content"]
    );
    // With a tool: the checkpoint after the tool step fails the run.
    let out = run_json(
        &server,
        "assistant",
        &[("message", "/tool calculator {\"expression\": \"1+1\"}")],
    )
    .await;
    assert_eq!(out["status"], "ERROR");
    assert!(
        out["content"]
            .as_str()
            .unwrap()
            .contains("could not save the run")
    );
    // The failed run still answers for itself from memory.
    let polled: Value = get_json(
        &server.client,
        server.url(&format!(
            "/agents/assistant/runs/{}?session_id={}",
            str_of(&out, "run_id"),
            str_of(&out, "session_id")
        )),
    )
    .await;
    assert_eq!(polled["status"], "ERROR");

    // The server is fine, and once the store recovers runs complete again.
    let health = server
        .client
        .get(server.url("/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    store.failing.store(false, Ordering::SeqCst);
    let out = run_json(&server, "assistant", &[("message", "better now")]).await;
    assert_eq!(out["status"], "COMPLETED");
    assert_eq!(out["content"], "You said: better now");
}
