//! The PostgreSQL store, against a real server (DATABASE_URL): two stores
//! on one schema (two replicas) keep each other's runs safe: a replica
//! writes only the runs it owns, signals reach the others; two agentd
//! servers on one database answer for each other's runs; and a run whose
//! replica stopped renewing its lease is failed as interrupted by another
//! replica, exactly once, while runs of live replicas are left alone.
//! (The store contract every backend keeps is in store_contract.rs; real
//! agentd processes side by side are in scale_out.rs.)
//!
//! Each test works in its own schema (common::pg) and drops it at the end.

use std::time::Duration;

use crate::common::pg::Schema;
use crate::common::{TestServer, agentos_run_json, config_with, eventually, form, get_json, sse};
use crate::store_contract::{model_event, run};
use agentd::engine::{EventKind, FailureKind, RunFailure, RunStatus};
use agentd::store::postgres::PgStore;
use agentd::store::{RunFilter, Store, StoreError, StoreSignal};
use serde_json::Value;

async fn run_json(server: &TestServer, pairs: &[(&str, &str)]) -> Value {
    agentos_run_json(server, "assistant", form(pairs)).await
}

#[tokio::test]
async fn two_servers_on_one_database_answer_for_each_others_runs() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    let config = config_with(&schema.store_config(30));
    let a = TestServer::start_from_config(&config).await;
    let b = TestServer::start_from_config(&config).await;

    // A run on A, streamed there.
    let resp = a
        .client
        .post(a.url("/agents/assistant/runs"))
        .multipart(form(&[
            ("message", "my name is Ada"),
            ("session_id", "shared"),
            ("stream", "true"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let on_a = sse::read_all(resp).await;
    let run_id = on_a
        .iter()
        .find_map(|f| f.data["run_id"].as_str())
        .expect("a run id in the stream")
        .to_string();

    // B sees the finished run at once (A announces a run's end only once it
    // is stored) and replays exactly the events A streamed.
    let got: Value = get_json(
        &b.client,
        b.url(&format!(
            "/agents/assistant/runs/{run_id}?session_id=shared"
        )),
    )
    .await;
    assert_eq!(got["status"], "COMPLETED", "{got}");
    assert_eq!(got["content"], "You said: my name is Ada");
    let resp = b
        .client
        .post(b.url(&format!("/agents/assistant/runs/{run_id}/resume")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let on_b = sse::read_all(resp).await;
    let raw = |frames: &[sse::Frame]| frames.iter().map(|f| f.data.clone()).collect::<Vec<_>>();
    assert_eq!(raw(&on_b), raw(&on_a));

    // The session continues on B with A's run in its history.
    let next = run_json(
        &b,
        &[("message", "what is my name?"), ("session_id", "shared")],
    )
    .await;
    assert_eq!(
        next["content"],
        "You said: what is my name? (message 2 of this conversation; before that you said: \"my name is Ada\")"
    );
    let runs: Vec<Value> = get_json(&a.client, a.url("/sessions/shared/runs")).await;
    assert_eq!(runs.len(), 2);

    a.stop();
    b.stop();
    schema.drop_schema().await;
}

#[tokio::test]
async fn a_run_whose_replica_stopped_renewing_its_lease_is_failed_once() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    // Replica "dead" wrote a running run, then stopped (its heartbeat ends).
    let dead = PgStore::open(&schema.url, Duration::from_secs(1))
        .await
        .unwrap();
    let orphan = run("orphan", "s-dead", 1, RunStatus::Running);
    dead.put_run(&orphan).await.unwrap();
    dead.append_events("orphan", &[model_event("orphan", 1)])
        .await
        .unwrap();
    dead.stop_heartbeat();
    // Replica "alive" runs a run of its own and keeps renewing it.
    let alive = PgStore::open(&schema.url, Duration::from_secs(1))
        .await
        .unwrap();
    alive
        .put_run(&run("kept", "s-alive", 2, RunStatus::Running))
        .await
        .unwrap();

    // Replica B (lease 1 s) notices the orphan once its lease has run out.
    let b = TestServer::start_from_config(&config_with(&schema.store_config(1))).await;
    let ended = eventually("the orphaned run to be claimed", || {
        let engine = b.engine.clone();
        let alive = &alive;
        async move {
            alive.heartbeat().await.unwrap();
            let ended = engine.recover_interrupted().await.unwrap();
            (!ended.is_empty()).then_some(ended)
        }
    })
    .await;
    assert_eq!(ended, ["orphan"]);

    let failed = b
        .engine
        .get_run(&agentd::engine::Principal::open(), "orphan")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(failed.status, RunStatus::Failed);
    let events = b.store.events("orphan", 0).await.unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0], model_event("orphan", 1));
    assert!(
        matches!(
            &events[1].kind,
            EventKind::Failed {
                error: RunFailure {
                    kind: FailureKind::Interrupted,
                    ..
                }
            }
        ),
        "{:?}",
        events[1]
    );
    // The live replica's run is untouched, and nobody claims the orphan again.
    alive.heartbeat().await.unwrap();
    let kept = b
        .engine
        .get_run(&agentd::engine::Principal::open(), "kept")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.status, RunStatus::Running);
    assert!(b.engine.recover_interrupted().await.unwrap().is_empty());
    assert!(dead.claim_orphaned_runs().await.unwrap().is_empty());

    b.stop();
    dead.close().await;
    alive.close().await;
    schema.drop_schema().await;
}

/// A run still going on A is followed from B: B replays what A stored so
/// far, then tails the database until the run ends.
#[tokio::test]
async fn a_run_in_flight_on_one_server_is_tailed_from_the_other() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    let mock = crate::common::MockLlm::start().await;
    mock.push(crate::common::Reply::ToolCall {
        name: "calculator".into(),
        arguments: r#"{"expression":"2+2"}"#.into(),
    });
    mock.push(crate::common::Reply::Slow {
        text: "the answer is four and that is all there is to say".into(),
        delay_ms: 100,
    });
    let config = crate::common::upstream_config(&mock.base_url, &schema.store_config(30));
    let a = TestServer::start_from_config(&config).await;
    let b = TestServer::start_from_config(&config).await;

    let req = a
        .client
        .post(a.url("/agents/upstream/runs"))
        .multipart(form(&[
            ("message", "what is 2+2?"),
            ("session_id", "tail"),
            ("stream", "true"),
        ]));
    let on_a = tokio::spawn(async move { sse::read_all(req.send().await.unwrap()).await });

    // B sees the run in flight with its first step stored...
    let run_id = eventually("the run to be stored in flight", || {
        let store = b.store.clone();
        async move {
            let runs = store.list_runs(&RunFilter::default()).await.ok()?;
            let run = runs.into_iter().next()?;
            let stored = store.events(&run.run_id, 0).await.ok()?;
            (run.status == RunStatus::Running && !stored.is_empty()).then_some(run.run_id)
        }
    })
    .await;
    // ...and its stream from B follows it to the end.
    let resp = b
        .client
        .post(b.url(&format!("/agents/upstream/runs/{run_id}/resume")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let on_b = sse::read_all(resp).await;
    let on_a = on_a.await.unwrap();
    let content = |frames: &[sse::Frame]| -> String {
        frames
            .iter()
            .filter(|f| f.data["event"] == "RunCompleted")
            .filter_map(|f| f.data["content"].as_str())
            .collect()
    };
    assert_eq!(
        content(&on_b),
        "the answer is four and that is all there is to say"
    );
    assert_eq!(content(&on_b), content(&on_a));

    a.stop();
    b.stop();
    schema.drop_schema().await;
}

/// Waits for a signal matching `want` on `rx` (other signals are skipped).
async fn signal(
    rx: &mut tokio::sync::broadcast::Receiver<StoreSignal>,
    want: StoreSignal,
) -> StoreSignal {
    let wait = async {
        loop {
            match rx.recv().await {
                Ok(s) if s == want => return s,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("signals closed: {e}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .unwrap_or_else(|_| panic!("no {want:?} signal arrived"))
}

/// Replica B hears through LISTEN/NOTIFY what replica A does: new events,
/// a cancel request, a queued run.
#[tokio::test]
async fn replicas_signal_new_events_cancels_and_queued_runs() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    let a = PgStore::open(&schema.url, Duration::from_secs(30))
        .await
        .unwrap();
    let b = PgStore::open(&schema.url, Duration::from_secs(30))
        .await
        .unwrap();
    let mut heard = b.signals().expect("a shared store signals");
    assert!(b.is_shared());

    a.create_run(&run("r", "s", 1, RunStatus::Running))
        .await
        .unwrap();
    a.append_events("r", &[model_event("r", 1)]).await.unwrap();
    signal(&mut heard, StoreSignal::Events("r".into())).await;
    assert_eq!(b.events("r", 0).await.unwrap(), [model_event("r", 1)]);

    let mut heard_by_a = a.signals().unwrap();
    assert!(b.request_cancel("r").await.unwrap());
    signal(&mut heard, StoreSignal::Cancel("r".into())).await;
    signal(&mut heard_by_a, StoreSignal::Cancel("r".into())).await;
    assert!(a.cancel_requested("r").await.unwrap());

    a.enqueue_run(
        &run("q", "s", 2, RunStatus::Pending),
        &serde_json::json!({}),
    )
    .await
    .unwrap();
    signal(&mut heard, StoreSignal::Queued).await;
    signal(&mut heard_by_a, StoreSignal::Queued).await;

    a.close().await;
    b.close().await;
    schema.drop_schema().await;
}

/// A replica writes only the runs it owns: another replica's writes to
/// them are refused, and once a run is taken over (its lease ran out) the
/// old owner's late writes are refused too, whole.
#[tokio::test]
async fn a_replica_that_lost_a_run_cannot_write_it_any_more() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    let a = PgStore::open(&schema.url, Duration::from_secs(1))
        .await
        .unwrap();
    let b = PgStore::open(&schema.url, Duration::from_secs(1))
        .await
        .unwrap();
    let mine = run("mine", "s", 1, RunStatus::Running);
    assert!(a.create_run(&mine).await.unwrap());
    a.append_events("mine", &[model_event("mine", 1)])
        .await
        .unwrap();

    // B does not own it: its writes are refused and change nothing.
    let mut forged = mine.clone();
    forged.content = "forged".into();
    assert!(matches!(
        b.put_run(&forged).await,
        Err(StoreError::Superseded(id)) if id == "mine"
    ));
    assert!(matches!(
        b.append_events("mine", &[model_event("mine", 2)]).await,
        Err(StoreError::Superseded(_))
    ));
    assert_eq!(b.get_run("mine").await.unwrap(), Some(mine.clone()));
    assert_eq!(b.events("mine", 0).await.unwrap().len(), 1);

    // A stalls (no heartbeat); B claims the run once the lease ran out.
    a.stop_heartbeat();
    let claimed = eventually("the lease to run out", || async {
        let claimed = b.claim_orphaned_runs().await.unwrap();
        (!claimed.is_empty()).then_some(claimed)
    })
    .await;
    assert_eq!(claimed[0].run_id, "mine");
    let mut failed = mine.clone();
    failed.status = RunStatus::Failed;
    b.append_events("mine", &[model_event("mine", 2)])
        .await
        .unwrap();
    b.put_run(&failed).await.unwrap();

    // A wakes up and writes what it had: refused, B's ending stands.
    let mut late = mine.clone();
    late.status = RunStatus::Completed;
    late.content = "late".into();
    assert!(matches!(
        a.append_events("mine", &[model_event("mine", 3)]).await,
        Err(StoreError::Superseded(_))
    ));
    assert!(matches!(
        a.put_run(&late).await,
        Err(StoreError::Superseded(_))
    ));
    assert_eq!(a.get_run("mine").await.unwrap(), Some(failed));
    assert_eq!(a.events("mine", 0).await.unwrap().len(), 2);

    a.close().await;
    b.close().await;
    schema.drop_schema().await;
}
