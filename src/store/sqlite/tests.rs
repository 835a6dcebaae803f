//! Unit tests of the SQLite store (`SqliteStore`): records and events round
//! trip, event chunks, a failed write in a group commit failing alone, and a
//! garbage file refused with its name.
//!
//! Test-only; nothing in the store may depend on it. It reaches the store
//! through its parent module only, never the engine, HTTP or a protocol.

use super::*;
use crate::domain::{
    EventKind, FailureKind, ModelRequestCompletedData, RunFailure, RunStatus, Usage,
};

fn run(id: &str, session: &str, created_at: i64, status: RunStatus) -> RunRecord {
    RunRecord {
        status,
        origin: "test".into(),
        model: "m".into(),
        provider: "p".into(),
        ..RunRecord::pending(id, session, "a", "A", created_at)
    }
}

fn event(run_id: &str, seq: u64, kind: EventKind) -> Event {
    Event {
        seq,
        run_id: run_id.into(),
        at: 1,
        kind,
    }
}

#[tokio::test]
async fn records_and_events_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/agentd.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let r = run("r1", "s1", 10, RunStatus::Running);
    store.put_run(&r).await.unwrap();
    assert_eq!(store.get_run("r1").await.unwrap(), Some(r.clone()));
    let events = vec![
        event(
            "r1",
            1,
            EventKind::ModelRequestCompleted(Box::new(ModelRequestCompletedData {
                model: "m".into(),
                provider: "p".into(),
                usage: Usage::default(),
                time_to_first_token_ms: Some(3),
            })),
        ),
        event(
            "r1",
            2,
            EventKind::Failed {
                error: RunFailure {
                    kind: FailureKind::Store,
                    message: "x".into(),
                },
            },
        ),
    ];
    store.append_events("r1", &events[..1]).await.unwrap();
    // A retried batch overlapping stored events does not duplicate them.
    store.append_events("r1", &events).await.unwrap();
    assert_eq!(store.events("r1", 0).await.unwrap(), events);
    assert_eq!(store.events("r1", 1).await.unwrap(), events[1..]);
    store.close().await;
    let reopened = SqliteStore::open(&path).await.unwrap();
    assert_eq!(reopened.events("r1", 0).await.unwrap(), events);
    let only_running = reopened
        .list_runs(&RunFilter {
            statuses: vec![RunStatus::Pending, RunStatus::Running],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(only_running.len(), 1);
}

/// A flush is one row of at most 256 events; a retried flush that goes
/// further replaces its rows with longer ones; a batch with a gap in
/// its numbers reads back as it was written.
#[tokio::test]
async fn event_chunks_split_grow_and_keep_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("agentd.db"))
        .await
        .unwrap();
    let delta = |run: &str, seq: u64| {
        event(
            run,
            seq,
            EventKind::TextDelta {
                message_id: "m".into(),
                delta: format!("t{seq}").into(),
            },
        )
    };
    let log: Vec<Event> = (1..=700).map(|seq| delta("r1", seq)).collect();
    store.append_events("r1", &log[..600]).await.unwrap();
    store.append_events("r1", &log).await.unwrap();
    assert_eq!(store.events("r1", 0).await.unwrap(), log);
    assert_eq!(store.events("r1", 650).await.unwrap(), log[650..]);
    let rows: Vec<(i64, i64)> =
        sqlx::query_as("SELECT first_seq, last_seq FROM event_chunks ORDER BY first_seq")
            .fetch_all(&store.pool)
            .await
            .unwrap();
    assert_eq!(rows, [(1, 256), (257, 512), (513, 700)]);

    let gapped = vec![delta("r2", 1), delta("r2", 2), delta("r2", 5)];
    store.append_events("r2", &gapped).await.unwrap();
    assert_eq!(store.events("r2", 0).await.unwrap(), gapped);
    assert_eq!(store.events("r2", 2).await.unwrap(), gapped[2..]);
}

/// Writes that wait together go into one transaction; one that fails
/// fails alone, and the others of its batch are stored.
#[tokio::test]
async fn a_failed_write_in_a_batch_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("agentd.db"))
        .await
        .unwrap();
    sqlx::query(
        "CREATE TRIGGER refuse BEFORE INSERT ON runs WHEN NEW.run_id = 'bad' \
         BEGIN SELECT RAISE(ABORT, 'refused'); END",
    )
    .execute(&store.write_pool)
    .await
    .unwrap();
    // On this one-thread runtime all three are queued before the writer
    // runs, so they make one batch.
    let runs = ["r1", "bad", "r2"].map(|id| run(id, "s", 1, RunStatus::Running));
    let (first, bad, last) = tokio::join!(
        store.put_run(&runs[0]),
        store.put_run(&runs[1]),
        store.put_run(&runs[2]),
    );
    assert!(first.is_ok() && last.is_ok(), "{first:?} {last:?}");
    assert!(bad.unwrap_err().to_string().contains("refused"));
    assert!(store.get_run("r1").await.unwrap().is_some());
    assert!(store.get_run("r2").await.unwrap().is_some());
    assert!(store.get_run("bad").await.unwrap().is_none());
}

#[tokio::test]
async fn garbage_file_is_refused_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.db");
    std::fs::write(&path, vec![0x5a_u8; 8192]).unwrap();
    let err = match SqliteStore::open(&path).await {
        Ok(_) => panic!("a garbage file opened as a database"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("corrupt"), "{err}");
}
