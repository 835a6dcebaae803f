//! The `Store` contract, one suite run against every backend: memory,
//! SQLite and PostgreSQL (DATABASE_URL; see common::pg). Whatever the engine
//! relies on, each backend must do alike: record order, append-only event
//! logs, session filters, the conditional writes that hand a run from one
//! writer to another (take a paused run, claim a queued one exactly once),
//! cancel requests, and rate-limit windows.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use crate::common::eventually;
use crate::common::pg::Schema;
use agentd::engine::{Event, EventKind, RunRecord, RunStatus, SessionRecord, Usage};
use agentd::store::memory::MemoryStore;
use agentd::store::postgres::PgStore;
use agentd::store::sqlite::SqliteStore;
use agentd::store::{RateDecision, RunFilter, SessionFilter, SessionSort, Store};
use serde_json::json;

pub fn run(id: &str, session: &str, created_at: i64, status: RunStatus) -> RunRecord {
    RunRecord {
        status,
        origin: "test".into(),
        model: "m".into(),
        provider: "p".into(),
        metadata: Some(json!({"k": "v"})),
        ..RunRecord::pending(id, session, "assistant", "Assistant", created_at)
    }
}

pub fn model_event(run_id: &str, seq: u64) -> Event {
    Event {
        seq,
        run_id: run_id.into(),
        at: 1,
        kind: EventKind::ModelRequestCompleted(Box::new(
            agentd::engine::ModelRequestCompletedData {
                model: "m".into(),
                provider: "p".into(),
                usage: Usage::default(),
                time_to_first_token_ms: Some(3),
            },
        )),
    }
}

fn session(id: &str, agent: &str, name: Option<&str>, created_at: i64) -> SessionRecord {
    SessionRecord {
        session_id: id.into(),
        agent_id: Some(agent.into()),
        user_id: None,
        owner: None,
        name: name.map(str::to_string),
        state: None,
        metadata: None,
        created_at,
        updated_at: created_at,
    }
}

fn ids(sessions: &[SessionRecord]) -> Vec<&str> {
    sessions.iter().map(|s| s.session_id.as_str()).collect()
}

async fn run_ids(store: &dyn Store, filter: RunFilter) -> Vec<String> {
    store
        .list_runs(&filter)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.run_id)
        .collect()
}

/// Records, event logs and sessions.
async fn records_events_and_sessions(store: &dyn Store) {
    // Runs: upsert, get, list in creation order (ties in insertion order).
    let mut b = run("b", "s1", 10, RunStatus::Running);
    assert!(store.create_run(&b).await.unwrap());
    assert!(
        !store.create_run(&b).await.unwrap(),
        "an id is created once"
    );
    store
        .put_run(&run("a", "s1", 10, RunStatus::Completed))
        .await
        .unwrap();
    store
        .put_run(&run("c", "s2", 5, RunStatus::Pending))
        .await
        .unwrap();
    b.content = "updated".into();
    store.put_run(&b).await.unwrap();
    assert_eq!(store.get_run("b").await.unwrap(), Some(b.clone()));
    assert_eq!(store.get_run("missing").await.unwrap(), None);
    assert_eq!(run_ids(store, RunFilter::default()).await, ["c", "b", "a"]);
    let in_flight = RunFilter {
        session_id: Some("s1".into()),
        statuses: vec![RunStatus::Pending, RunStatus::Running],
        ..Default::default()
    };
    assert_eq!(run_ids(store, in_flight).await, ["b"]);

    // Events: in order; a retried overlapping batch neither duplicates nor rewrites.
    let events: Vec<Event> = (1..=5).map(|seq| model_event("b", seq)).collect();
    store.append_events("b", &events[..2]).await.unwrap();
    store.append_events("b", &events[1..]).await.unwrap();
    assert_eq!(store.events("b", 0).await.unwrap(), events);
    assert_eq!(store.events("b", 3).await.unwrap(), events[3..]);

    // Sessions: filters, case-insensitive literal name search, order, paging.
    store
        .put_session(&session("s1", "assistant", Some("Trip to Oslo"), 1))
        .await
        .unwrap();
    assert!(
        store
            .create_session(&session("s2", "assistant", Some("oslo_notes"), 2))
            .await
            .unwrap()
    );
    assert!(
        !store
            .create_session(&session("s2", "other", Some("taken"), 9))
            .await
            .unwrap(),
        "a session id is created once"
    );
    assert_eq!(
        store
            .get_session("s2")
            .await
            .unwrap()
            .unwrap()
            .name
            .as_deref(),
        Some("oslo_notes")
    );
    store
        .put_session(&session("s3", "other", None, 3))
        .await
        .unwrap();
    let newest_first = store
        .list_sessions(&SessionFilter::default())
        .await
        .unwrap();
    assert_eq!(ids(&newest_first), ["s3", "s2", "s1"]);
    let oslo = SessionFilter {
        name_contains: Some("OSLO".into()),
        sort: SessionSort::Name,
        ascending: true,
        ..Default::default()
    };
    // Byte order: "Trip..." before "oslo...".
    assert_eq!(
        ids(&store.list_sessions(&oslo).await.unwrap()),
        ["s1", "s2"]
    );
    assert_eq!(store.count_sessions(&oslo).await.unwrap(), 2);
    let underscore = SessionFilter {
        name_contains: Some("_".into()),
        ..Default::default()
    };
    assert_eq!(
        ids(&store.list_sessions(&underscore).await.unwrap()),
        ["s2"]
    );
    let page = SessionFilter {
        agent_id: Some("assistant".into()),
        limit: Some(1),
        offset: 1,
        ..Default::default()
    };
    assert_eq!(ids(&store.list_sessions(&page).await.unwrap()), ["s1"]);
    assert_eq!(store.count_sessions(&page).await.unwrap(), 2);

    // Deleting a session takes its runs and their events along.
    assert!(store.delete_session("s1").await.unwrap());
    assert!(!store.delete_session("s1").await.unwrap());
    assert_eq!(store.get_session("s1").await.unwrap(), None);
    assert_eq!(store.get_run("b").await.unwrap(), None);
    assert!(store.events("b", 0).await.unwrap().is_empty());
    assert!(store.get_run("c").await.unwrap().is_some());
    store.ping().await.unwrap();
}

/// A paused run goes to the first taker only, with its new events.
async fn take_a_paused_run(store: &dyn Store) {
    let paused = run("paused", "take", 20, RunStatus::Awaiting);
    store.create_run(&paused).await.unwrap();
    store
        .append_events("paused", &[model_event("paused", 1)])
        .await
        .unwrap();
    let mut resumed = paused.clone();
    resumed.status = RunStatus::Running;
    resumed.content = "resumed".into();
    assert!(
        store
            .take_run(&resumed, RunStatus::Awaiting, &[model_event("paused", 2)])
            .await
            .unwrap()
    );
    let mut cancelled = paused.clone();
    cancelled.status = RunStatus::Cancelled;
    assert!(
        !store
            .take_run(&cancelled, RunStatus::Awaiting, &[model_event("paused", 2)])
            .await
            .unwrap(),
        "the run is no longer paused: a second taker gets nothing"
    );
    assert_eq!(store.get_run("paused").await.unwrap(), Some(resumed));
    assert_eq!(
        store.events("paused", 0).await.unwrap(),
        [model_event("paused", 1), model_event("paused", 2)]
    );
    // The taker writes it from then on.
    let mut done = run("paused", "take", 20, RunStatus::Completed);
    done.content = "done".into();
    store.put_run(&done).await.unwrap();
    assert_eq!(store.get_run("paused").await.unwrap(), Some(done));
}

/// Queued runs: recorded pending with their work order, each claimed once.
async fn queue_claims_each_run_once(store: Arc<dyn Store>) {
    let first = run("q1", "queue", 30, RunStatus::Pending);
    assert!(store.enqueue_run(&first, &json!({"n": 1})).await.unwrap());
    assert!(
        !store.enqueue_run(&first, &json!({"n": 1})).await.unwrap(),
        "an id is queued once"
    );
    store
        .enqueue_run(
            &run("q2", "queue", 31, RunStatus::Pending),
            &json!({"n": 2}),
        )
        .await
        .unwrap();
    // Queued runs are in flight but never orphaned: nothing started them.
    assert_eq!(
        store.get_run("q1").await.unwrap().unwrap().status,
        RunStatus::Pending
    );
    assert!(
        !store
            .claim_orphaned_runs()
            .await
            .unwrap()
            .iter()
            .any(|r| r.run_id.starts_with('q'))
    );
    // A named claim takes that run only; an open one the oldest.
    let (claimed, job) = store.claim_queued_run(Some("q2")).await.unwrap().unwrap();
    assert_eq!((claimed.run_id.as_str(), job), ("q2", json!({"n": 2})));
    assert_eq!(store.claim_queued_run(Some("q2")).await.unwrap(), None);
    let (claimed, job) = store.claim_queued_run(None).await.unwrap().unwrap();
    assert_eq!((claimed, job), (first, json!({"n": 1})));
    assert_eq!(store.claim_queued_run(None).await.unwrap(), None);
    // The claimer writes the run from then on.
    store
        .put_run(&run("q1", "queue", 30, RunStatus::Running))
        .await
        .unwrap();

    // Many claimers at once: every run goes to exactly one of them.
    let total = 40;
    for i in 0..total {
        let r = run(&format!("many-{i:02}"), "queue", 40 + i, RunStatus::Pending);
        store.enqueue_run(&r, &json!({ "i": i })).await.unwrap();
    }
    let claimers: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                while let Some((r, _)) = store.claim_queued_run(None).await.unwrap() {
                    mine.push(r.run_id);
                }
                mine
            })
        })
        .collect();
    let mut all = Vec::new();
    for claimer in claimers {
        all.extend(claimer.await.unwrap());
    }
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(all.len(), total as usize, "{all:?}");
    assert_eq!(
        unique.len(),
        total as usize,
        "a run was claimed twice: {all:?}"
    );

    // Deleting the session drops what is still queued.
    store
        .enqueue_run(&run("q3", "queue", 99, RunStatus::Pending), &json!({}))
        .await
        .unwrap();
    store.delete_session("queue").await.unwrap();
    assert_eq!(store.claim_queued_run(None).await.unwrap(), None);
}

/// A cancel request stays visible until the run ends, whatever its writer
/// writes meanwhile.
async fn cancel_requests(store: &dyn Store) {
    let running = run("busy", "cancel", 50, RunStatus::Running);
    store.create_run(&running).await.unwrap();
    assert!(!store.cancel_requested("busy").await.unwrap());
    assert!(store.request_cancel("busy").await.unwrap());
    assert!(store.cancel_requested("busy").await.unwrap());
    assert!(
        store
            .get_run("busy")
            .await
            .unwrap()
            .unwrap()
            .cancel_requested
    );
    // The writer's next checkpoint does not erase the request.
    store.put_run(&running).await.unwrap();
    assert!(
        store
            .get_run("busy")
            .await
            .unwrap()
            .unwrap()
            .cancel_requested
    );
    let listed = store
        .list_runs(&RunFilter {
            session_id: Some("cancel".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(listed[0].cancel_requested);
    // Once the run ended, it shows as it ended.
    let mut cancelled = running.clone();
    cancelled.status = RunStatus::Cancelled;
    store.put_run(&cancelled).await.unwrap();
    assert_eq!(store.get_run("busy").await.unwrap(), Some(cancelled));
    // Nothing to stop: an ended, paused or unknown run.
    assert!(!store.request_cancel("busy").await.unwrap());
    store
        .create_run(&run("waits", "cancel", 51, RunStatus::Awaiting))
        .await
        .unwrap();
    assert!(!store.request_cancel("waits").await.unwrap());
    assert!(!store.request_cancel("nobody").await.unwrap());
    assert!(!store.cancel_requested("nobody").await.unwrap());
}

/// Sliding windows per key.
async fn rate_limits(store: &dyn Store) {
    let minute = Duration::from_secs(60);
    assert_eq!(
        store.hit_rate_limit("k", 2, minute).await.unwrap(),
        RateDecision::Allowed
    );
    assert_eq!(
        store.hit_rate_limit("k", 2, minute).await.unwrap(),
        RateDecision::Allowed
    );
    let RateDecision::Refused(wait) = store.hit_rate_limit("k", 2, minute).await.unwrap() else {
        panic!("the third hit in the window is refused");
    };
    assert!(wait > Duration::ZERO && wait <= minute, "{wait:?}");
    assert_eq!(
        store.hit_rate_limit("other", 2, minute).await.unwrap(),
        RateDecision::Allowed,
        "keys count apart"
    );
    // Refused hits are not counted: the window slides open again.
    let short = Duration::from_millis(300);
    assert_eq!(
        store.hit_rate_limit("short", 1, short).await.unwrap(),
        RateDecision::Allowed
    );
    assert!(matches!(
        store.hit_rate_limit("short", 1, short).await.unwrap(),
        RateDecision::Refused(_)
    ));
    eventually("the window to slide", || async {
        (store.hit_rate_limit("short", 1, short).await.unwrap() == RateDecision::Allowed)
            .then_some(())
    })
    .await;
}

/// What a person browsing runs filters on: the protocol a run came in by,
/// and only the newest few (still oldest first).
async fn browse_listings(store: &dyn Store) {
    for (i, origin) in ["agui", "acp", "agui", "codegen", "agui"]
        .iter()
        .enumerate()
    {
        let mut r = run(
            &format!("browse-{i}"),
            "browse",
            100 + i as i64,
            RunStatus::Completed,
        );
        r.origin = origin.to_string();
        store.create_run(&r).await.unwrap();
    }
    let filter = |origin: Option<&str>, newest: Option<usize>| RunFilter {
        session_id: Some("browse".into()),
        origin: origin.map(str::to_string),
        newest,
        ..Default::default()
    };
    assert_eq!(
        run_ids(store, filter(Some("agui"), None)).await,
        ["browse-0", "browse-2", "browse-4"]
    );
    assert_eq!(
        run_ids(store, filter(None, Some(2))).await,
        ["browse-3", "browse-4"]
    );
    assert_eq!(
        run_ids(store, filter(Some("agui"), Some(2))).await,
        ["browse-2", "browse-4"]
    );
    assert!(run_ids(store, filter(Some("a2a"), None)).await.is_empty());
    assert!(run_ids(store, filter(None, Some(0))).await.is_empty());
}

/// The one-step writes a run makes: start (run and session together) and
/// checkpoints (events and record together), each as its two parts would.
async fn one_step_writes(store: &dyn Store) {
    let started = run("one-step", "s-one", 200, RunStatus::Running);
    let first = session("s-one", "assistant", Some("first words"), 200);
    assert!(store.create_run_in_session(&started, &first).await.unwrap());
    assert_eq!(
        store.get_run("one-step").await.unwrap(),
        Some(started.clone())
    );
    assert_eq!(store.get_session("s-one").await.unwrap(), Some(first));
    // A refused run (its id is taken) leaves its session untouched.
    let elsewhere = session("s-other", "assistant", None, 201);
    assert!(
        !store
            .create_run_in_session(
                &run("one-step", "s-other", 201, RunStatus::Running),
                &elsewhere
            )
            .await
            .unwrap()
    );
    assert_eq!(store.get_session("s-other").await.unwrap(), None);

    let events: Vec<Arc<Event>> = (1..=3)
        .map(|seq| Arc::new(model_event("one-step", seq)))
        .collect();
    let mut checkpoint = started.clone();
    checkpoint.last_seq = 2;
    checkpoint.content = "half".into();
    store
        .save_run(Arc::new(checkpoint.clone()), &events[..2])
        .await
        .unwrap();
    assert_eq!(
        store.get_run("one-step").await.unwrap(),
        Some(checkpoint.clone())
    );
    // The next checkpoint may repeat events already stored: none doubles.
    let mut done = checkpoint;
    done.status = RunStatus::Completed;
    done.last_seq = 3;
    store
        .save_run(Arc::new(done.clone()), &events[1..])
        .await
        .unwrap();
    assert_eq!(store.get_run("one-step").await.unwrap(), Some(done));
    let stored = store.events("one-step", 0).await.unwrap();
    let expected: Vec<Event> = events.iter().map(|e| (**e).clone()).collect();
    assert_eq!(stored, expected);
}

async fn contract(store: Arc<dyn Store>) {
    records_events_and_sessions(store.as_ref()).await;
    one_step_writes(store.as_ref()).await;
    browse_listings(store.as_ref()).await;
    take_a_paused_run(store.as_ref()).await;
    queue_claims_each_run_once(store.clone()).await;
    cancel_requests(store.as_ref()).await;
    rate_limits(store.as_ref()).await;
}

#[tokio::test]
async fn memory_store_keeps_the_contract() {
    contract(Arc::new(MemoryStore::new())).await;
}

#[tokio::test]
async fn sqlite_store_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agentd.db");
    let store = Arc::new(SqliteStore::open(&path).await.unwrap());
    contract(store.clone()).await;
    // Reopening (migrations already applied) keeps everything.
    store.close().await;
    let reopened = SqliteStore::open(&path).await.unwrap();
    assert!(reopened.get_session("s2").await.unwrap().is_some());
}

#[tokio::test]
async fn postgres_store_keeps_the_contract() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    let store = Arc::new(
        PgStore::open(&schema.url, Duration::from_secs(30))
            .await
            .expect("store opens"),
    );
    contract(store.clone()).await;
    // Reopening (migrations already applied) keeps everything.
    store.close().await;
    let reopened = PgStore::open(&schema.url, Duration::from_secs(30))
        .await
        .expect("store reopens");
    assert!(reopened.get_session("s2").await.unwrap().is_some());
    reopened.close().await;
    schema.drop_schema().await;
}
