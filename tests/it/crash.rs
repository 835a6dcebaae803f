//! A SIGKILL in the middle of a stream: the real binary is killed while a
//! long reply streams, and started again on the same SQLite file. The run
//! was interrupted, and everyone can tell: a client resuming after the
//! last event it saw gets the run's terminal event, and the ACP event log
//! still holds what was stored before the crash.

use crate::common::process::Agentd;
use crate::common::{config_with, form, sqlite_store, sse};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_resuming_a_run_cut_by_a_crash_gets_its_end_and_the_log_keeps_what_was_stored() {
    let data = tempfile::tempdir().unwrap();
    let config = config_with(&format!(
        r#"
[models.steady]
provider = "builtin"
token_delay_ms = 10

[[agents]]
id = "talker"
model = "steady"
{}"#,
        sqlite_store(&data.path().join("agentd.db"))
    ));
    let mut server = Agentd::start(&config).await;
    // "You said: w0 w1 ..." streams one word at a time: far more events
    // than one flush.
    let words: Vec<String> = (0..800).map(|i| format!("w{i}")).collect();
    let resp = server
        .client
        .post(server.url("/agents/talker/runs"))
        .multipart(form(&[("message", &words.join(" ")), ("stream", "true")]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let seq = |f: &sse::Frame| f.id.as_deref().and_then(|id| id.parse::<u64>().ok());
    let seen = sse::read_until(resp, |f| seq(f).is_some_and(|s| s >= 400)).await;
    let last_id = seen.iter().rev().find_map(seq).expect("frames with ids");
    assert!(last_id >= 400, "the stream ended early: {last_id}");
    let run_id = seen[0].data["run_id"].as_str().unwrap().to_string();
    let session_id = seen[0].data["session_id"].as_str().unwrap().to_string();
    server.kill().await;

    let server = Agentd::start(&config).await;
    let resp = server
        .client
        .post(server.url(&format!("/agents/talker/runs/{run_id}/resume")))
        .multipart(form(&[
            ("last_event_index", &last_id.to_string()),
            ("session_id", &session_id),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resumed = sse::read_all(resp).await;
    let end = resumed.last().unwrap_or_else(|| {
        panic!(
            "resuming after event {last_id} gave an empty stream:\n{}",
            server.log()
        )
    });
    assert_eq!(end.event.as_deref(), Some("RunError"), "{resumed:?}");
    assert!(
        seq(end).is_some_and(|s| s > last_id),
        "the terminal event is numbered after what the client saw: {end:?}"
    );
    // Whatever number the client sends, the stream ends with the run's end.
    let resp = server
        .client
        .post(server.url(&format!("/agents/talker/runs/{run_id}/resume")))
        .multipart(form(&[
            ("last_event_index", "999999"),
            ("session_id", &session_id),
        ]))
        .send()
        .await
        .unwrap();
    let past_the_end = sse::read_all(resp).await;
    assert_eq!(
        past_the_end.last().and_then(|f| f.event.clone()).as_deref(),
        Some("RunError"),
        "{past_the_end:?}"
    );

    let log: serde_json::Value = server
        .client
        .get(server.url(&format!("/acp/runs/{run_id}/events")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let events = log["events"].as_array().unwrap();
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types.last(), Some(&"run.failed"), "{types:?}");
    let parts = types.iter().filter(|t| **t == "message.part").count();
    // At least the first flush (128 events) was stored before the kill.
    assert!(parts >= 100, "{parts} parts in the ACP log: {types:?}");
}
