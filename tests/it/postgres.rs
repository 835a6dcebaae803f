//! The PostgreSQL store, against a real server (DATABASE_URL): it keeps runs,
//! events and sessions as the SQLite store does; two agentd servers on one
//! database answer for each other's runs; and a run whose replica stopped
//! renewing its lease is failed as interrupted by another replica, exactly
//! once, while runs of live replicas are left alone.
//!
//! Each test works in its own schema (`agentd_test_<uuid>`, chosen through
//! the URL's `options=-c search_path=...`) and drops it at the end. Without
//! DATABASE_URL the tests fail when CI=true and are skipped otherwise.

use std::time::Duration;

use crate::common::{TestServer, config_with, eventually, sse};
use agentd::engine::{
    Event, EventKind, FailureKind, RunFailure, RunRecord, RunStatus, SessionRecord, Usage,
};
use agentd::store::postgres::PgStore;
use agentd::store::{RunFilter, SessionFilter, SessionSort, Store};
use serde_json::Value;

/// A fresh schema on the test server, and a URL whose connections use it.
struct Schema {
    admin_url: String,
    name: String,
    url: String,
}

impl Schema {
    /// `None` (with a printed reason) when no database is configured outside CI.
    async fn create() -> Option<Schema> {
        let admin_url = match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => url,
            _ => {
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!(
                        "DATABASE_URL is not set: the PostgreSQL tests need a server \
                         (e.g. postgres://postgres@127.0.0.1:5432/test)"
                    );
                }
                eprintln!("skipped: set DATABASE_URL to run the PostgreSQL tests");
                return None;
            }
        };
        let name = format!("agentd_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = connect(&admin_url).await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&mut conn)
            .await
            .expect("create the test schema");
        let sep = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{sep}options=-c%20search_path%3D{name}");
        Some(Schema {
            admin_url,
            name,
            url,
        })
    }

    fn store_config(&self, lease_secs: u64) -> String {
        format!(
            "\n[store]\nkind = \"postgres\"\nurl = '{}'\nlease_secs = {lease_secs}\n",
            self.url
        )
    }

    async fn drop_schema(self) {
        let mut conn = connect(&self.admin_url).await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA {} CASCADE",
            self.name
        )))
        .execute(&mut conn)
        .await
        .expect("drop the test schema");
    }
}

async fn connect(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to DATABASE_URL: {e}"))
}

fn run(id: &str, session: &str, created_at: i64, status: RunStatus) -> RunRecord {
    RunRecord {
        run_id: id.into(),
        session_id: session.into(),
        agent_id: "assistant".into(),
        agent_name: "Assistant".into(),
        user_id: None,
        parent_run_id: None,
        team: false,
        origin: "test".into(),
        status,
        cancel_requested: false,
        model: "m".into(),
        provider: "p".into(),
        input: Vec::new(),
        files: Vec::new(),
        messages: Vec::new(),
        content: String::new(),
        structured: None,
        reasoning: None,
        tools: Vec::new(),
        pending: Vec::new(),
        usage: Usage::default(),
        time_to_first_token_ms: None,
        duration_ms: None,
        error: None,
        metadata: Some(serde_json::json!({"k": "v"})),
        state: None,
        created_at,
        updated_at: created_at,
        finished_at: None,
        last_seq: 0,
    }
}

fn model_event(run_id: &str, seq: u64) -> Event {
    Event {
        seq,
        run_id: run_id.into(),
        at: 1,
        kind: EventKind::ModelRequestCompleted {
            model: "m".into(),
            provider: "p".into(),
            usage: Usage::default(),
            time_to_first_token_ms: Some(3),
        },
    }
}

fn session(id: &str, agent: &str, name: Option<&str>, created_at: i64) -> SessionRecord {
    SessionRecord {
        session_id: id.into(),
        agent_id: Some(agent.into()),
        user_id: None,
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

#[tokio::test]
async fn store_keeps_runs_events_and_sessions_like_sqlite() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    let store = PgStore::open(&schema.url, Duration::from_secs(30))
        .await
        .expect("store opens");

    // Runs: upsert, get, list in creation order (ties in insertion order).
    let mut b = run("b", "s1", 10, RunStatus::Running);
    store.put_run(&b).await.unwrap();
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
    let all: Vec<String> = store
        .list_runs(&RunFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.run_id)
        .collect();
    assert_eq!(all, ["c", "b", "a"]);
    let in_flight = store
        .list_runs(&RunFilter {
            session_id: Some("s1".into()),
            statuses: vec![RunStatus::Pending, RunStatus::Running],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(in_flight.len(), 1);
    assert_eq!(in_flight[0].run_id, "b");

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
    store
        .put_session(&session("s2", "assistant", Some("oslo_notes"), 2))
        .await
        .unwrap();
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
    // Byte order, as SQLite sorts: "Trip..." before "oslo...".
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

    // Reopening (migrations already applied) keeps everything.
    store.close().await;
    let reopened = PgStore::open(&schema.url, Duration::from_secs(30))
        .await
        .expect("store reopens");
    assert!(reopened.get_session("s2").await.unwrap().is_some());
    reopened.close().await;
    schema.drop_schema().await;
}

fn form(pairs: &[(&str, &str)]) -> reqwest::multipart::Form {
    let mut f = reqwest::multipart::Form::new();
    for (k, v) in pairs {
        f = f.text(k.to_string(), v.to_string());
    }
    f
}

async fn run_json(server: &TestServer, pairs: &[(&str, &str)]) -> Value {
    let resp = server
        .client
        .post(server.url("/agents/assistant/runs"))
        .multipart(form(pairs))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
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

    // B sees the finished run (A stores its final state just after the
    // stream ends) and replays exactly the events A streamed.
    let got: Value = eventually("the run to be stored as completed", || {
        let req = b.client.get(b.url(&format!(
            "/agents/assistant/runs/{run_id}?session_id=shared"
        )));
        async move {
            let got: Value = req.send().await.ok()?.json().await.ok()?;
            (got["status"] == "COMPLETED").then_some(got)
        }
    })
    .await;
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
    let runs: Vec<Value> = a
        .client
        .get(a.url("/sessions/shared/runs"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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

    let failed = b.engine.get_run("orphan").await.unwrap().unwrap();
    assert_eq!(failed.status, RunStatus::Failed);
    let events = b.engine.store().events("orphan", 0).await.unwrap();
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
    let kept = b.engine.get_run("kept").await.unwrap().unwrap();
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
        let store = b.engine.store().clone();
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
