//! A queue with an unreadable run at its head: the run is failed and taken
//! off the queue (with a log line), and the good run behind it starts. On
//! SQLite and on PostgreSQL.

use std::time::Duration;

use agentd::engine::{Message, RunRecord, now_ms};
use serde_json::{Value, json};

use crate::common::pg::Schema;
use crate::common::{TestServer, config_with, sqlite_store};

/// A pending run of `assistant` as an ACP client would have queued it.
fn queued(run_id: &str) -> RunRecord {
    let mut run = RunRecord::pending(run_id, format!("s-{run_id}"), "assistant", "A", now_ms());
    run.origin = "acp".into();
    run.input = vec![Message::user("hello")];
    run.messages = run.input.clone();
    run
}

/// Queues a bad run then a good one on the store `config` names, spoils
/// the bad one's stored record with `spoil` (SQL, `?` its run id), starts a
/// server there and waits (a generous fuse) for both to end: the good one
/// completed, the bad one failed.
async fn a_poisoned_head_does_not_block_the_queue(config: &str, spoil: &str, url: &str) {
    let bad = uuid::Uuid::new_v4().to_string();
    let good = uuid::Uuid::new_v4().to_string();
    {
        let parsed =
            agentd::config::Config::from_toml_str(config, "t.toml".as_ref(), &|_| None).unwrap();
        let store = agentd::store::open(&parsed.store).await.unwrap();
        assert!(store.enqueue_run(&queued(&bad), &json!({})).await.unwrap());
        assert!(store.enqueue_run(&queued(&good), &json!({})).await.unwrap());
    }
    spoil_row(url, spoil, &bad).await;

    let server = TestServer::start_from_config(config).await;
    let status = |id: String| {
        let client = server.client.clone();
        let url = server.url(&format!("/acp/runs/{id}"));
        async move {
            let run: Value = client.get(url).send().await.ok()?.json().await.ok()?;
            run["status"].as_str().map(str::to_string)
        }
    };
    let mut seen = (None, None);
    for _ in 0..300 {
        seen = (status(bad.clone()).await, status(good.clone()).await);
        if seen.1.as_deref() == Some("completed") && seen.0.as_deref() == Some("failed") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let good_run = server
        .engine
        .get_run(&agentd::engine::Principal::open(), &good)
        .await
        .ok()
        .flatten();
    panic!(
        "after 30 s the bad run is {:?} and the good one {:?}: {:?}",
        seen.0,
        seen.1,
        good_run.map(|r| r.error)
    );
}

async fn spoil_row(url: &str, sql: &str, run_id: &str) {
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
            .bind(run_id)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
            .bind(run_id)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
}

#[tokio::test]
async fn an_unreadable_queued_run_is_failed_and_the_queue_goes_on_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("agentd.db");
    a_poisoned_head_does_not_block_the_queue(
        &config_with(&sqlite_store(&db)),
        "UPDATE runs SET record = '{not json' WHERE run_id = ?",
        &format!("sqlite:{}", db.display()),
    )
    .await;
}

#[tokio::test]
async fn an_unreadable_queued_run_is_failed_and_the_queue_goes_on_on_postgres() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    a_poisoned_head_does_not_block_the_queue(
        &config_with(&schema.store_config(30)),
        "UPDATE runs SET record = '{\"not\": \"a run\"}'::jsonb WHERE run_id = $1",
        &schema.url,
    )
    .await;
    schema.drop_schema().await;
}
