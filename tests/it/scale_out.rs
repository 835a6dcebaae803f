//! Scale-out over real processes: two `agentd serve` processes (replicas A
//! and B, each on its own loopback port) share one fresh PostgreSQL schema,
//! as two replicas behind a load balancer without sticky sessions would.
//! A client may land on either for any request, and sees no difference:
//! a run started on A is streamed with replay, cancelled and polled from B;
//! a paused run is resumed through the other replica; a background run is
//! executed exactly once; killing A (SIGKILL) mid-run gets its run failed
//! by B once A's lease runs out; the Codegen rate limit and run ids hold
//! across both.

use std::collections::HashSet;

use futures::StreamExt;
use serde_json::{Value, json};

use crate::common::pg::Schema;
use crate::common::process::Agentd;
use crate::common::{MockLlm, eventually, get_json, sse, upstream_config};

/// Lease of the replicas: short, so a killed replica's runs are taken over
/// quickly (checks run every half lease).
const LEASE_SECS: u64 = 1;

/// Agents `slow` (a word every 30 ms, no network), `asker` (pauses with
/// ask_user) and `upstream` (the mock LLM); Codegen users alice and bob in
/// organization 1, `creates` create-run requests per minute per key.
fn config(schema: &Schema, mock: &MockLlm, creates: u32) -> String {
    upstream_config(
        &mock.base_url,
        &format!(
            r#"
[models.slow]
provider = "builtin"
token_delay_ms = 30

[[agents]]
id = "slow"
model = "slow"

[[agents]]
id = "asker"
model = "builtin"
tools = ["ask_user"]

[codegen]
[codegen.agent_types]
codegen = "upstream"
[codegen.rate_limit]
creates = {creates}
window_secs = 60

[[codegen.users]]
id = 1
api_keys = ["key-alice"]
organizations = [1]

[[codegen.users]]
id = 2
api_keys = ["key-bob"]
organizations = [1]

[[codegen.organizations]]
id = 1
name = "Acme"
{store}"#,
            store = schema.store_config(LEASE_SECS)
        ),
    )
}

/// Two replicas on one fresh schema.
async fn replicas(creates: u32) -> Option<(Schema, MockLlm, Agentd, Agentd)> {
    let schema = Schema::create().await?;
    let mock = MockLlm::start().await;
    let config = config(&schema, &mock, creates);
    let a = Agentd::start(&config).await;
    let b = Agentd::start(&config).await;
    Some((schema, mock, a, b))
}

fn text_input(text: &str) -> Value {
    json!([{"role": "user", "parts": [{"content_type": "text/plain", "content": text}]}])
}

/// Posts JSON as the acp-sdk Client does (no Content-Type).
async fn acp_post(replica: &Agentd, path: &str, body: &Value) -> reqwest::Response {
    replica
        .client
        .post(replica.url(path))
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

async fn acp_create(replica: &Agentd, agent: &str, text: &str, mode: &str) -> Value {
    let resp = acp_post(
        replica,
        "/acp/runs",
        &json!({"agent_name": agent, "input": text_input(text), "mode": mode}),
    )
    .await;
    assert!(resp.status().is_success(), "{}", resp.status());
    resp.json().await.unwrap()
}

async fn acp_run(replica: &Agentd, run_id: &str) -> Value {
    get_json(&replica.client, replica.url(&format!("/acp/runs/{run_id}"))).await
}

async fn acp_poll(replica: &Agentd, run_id: &str, what: &str, done: fn(&Value) -> bool) -> Value {
    eventually(what, || async {
        let run = acp_run(replica, run_id).await;
        done(&run).then_some(run)
    })
    .await
}

fn output_text(run: &Value) -> String {
    run["output"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|m| m["parts"].as_array().into_iter().flatten())
        .filter_map(|p| p["content"].as_str())
        .collect()
}

/// Starts a run that A itself executes: a streamed AgentOS run (not queued,
/// so no other replica can claim it) marked background, so it goes on when
/// the client hangs up after the first event. Returns the run and session ids.
async fn start_on(replica: &Agentd, agent: &str, text: &str) -> (String, String) {
    let form = reqwest::multipart::Form::new()
        .text("message", text.to_string())
        .text("stream", "true")
        .text("background", "true");
    let resp = replica
        .client
        .post(replica.url(&format!("/agents/{agent}/runs")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let first = frames_as_they_come(resp)
        .recv()
        .await
        .expect("the run's first event");
    assert_eq!(first.data["event"], "RunStarted", "{:?}", first.data);
    let id = |key: &str| first.data[key].as_str().unwrap().to_string();
    (id("run_id"), id("session_id"))
}

/// Reads an SSE response frame by frame into a channel, as they arrive.
fn frames_as_they_come(
    resp: reqwest::Response,
) -> tokio::sync::mpsc::UnboundedReceiver<sse::Frame> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut body = resp.bytes_stream();
        let mut buf = String::new();
        while let Some(Ok(chunk)) = body.next().await {
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                for frame in sse::parse(&block) {
                    if tx.send(frame).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}

#[tokio::test]
async fn a_run_started_on_a_is_streamed_cancelled_and_polled_from_b() {
    let Some((schema, _mock, a, b)) = replicas(10).await else {
        return;
    };
    let words: Vec<String> = (0..300).map(|i| format!("w{i}")).collect();
    let full = format!("You said: {}", words.join(" "));

    // The client starts a run on A...
    let (run_id, session) = start_on(&a, "slow", &words.join(" ")).await;

    // ...and follows it through B: replay from the start, then live.
    let resp = b
        .client
        .post(b.url(&format!("/agents/slow/runs/{run_id}/resume")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut on_b = frames_as_they_come(resp);
    let mut streamed = Vec::new();
    let mut text = String::new();
    while text.split_whitespace().count() < 20 {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(30), on_b.recv())
            .await
            .expect("B streams the run live")
            .expect("the stream goes on");
        if frame.data["event"] == "RunContent" {
            text.push_str(frame.data["content"].as_str().unwrap_or(""));
        }
        streamed.push(frame);
    }
    assert_eq!(
        streamed[0].data["event"], "RunStarted",
        "replay from the start"
    );
    assert!(full.starts_with(&text), "{text}");
    // Polled from B meanwhile: running, with the output so far.
    let polled: Value = eventually("B to show partial output", || async {
        let polled: Value = b
            .client
            .get(b.url(&format!("/agents/slow/runs/{run_id}?session_id={session}")))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let content = polled["content"].as_str().unwrap_or("");
        (!content.is_empty()).then_some(polled)
    })
    .await;
    assert_eq!(polled["status"], "RUNNING", "{polled}");
    assert!(full.starts_with(polled["content"].as_str().unwrap()));

    // B takes the cancel: the same answer A would give (202, cancelling).
    let resp = acp_post(&b, &format!("/acp/runs/{run_id}/cancel"), &json!({})).await;
    assert_eq!(resp.status(), 202);
    let cancelling: Value = resp.json().await.unwrap();
    assert_eq!(cancelling["status"], "cancelling");
    assert_eq!(cancelling["run_id"], run_id.as_str());
    let (other_id, _) = start_on(&a, "slow", &words.join(" ")).await;
    acp_poll(&a, &other_id, "the other run to start", |r| {
        !output_text(r).is_empty()
    })
    .await;
    let resp = acp_post(&a, &format!("/acp/runs/{other_id}/cancel"), &json!({})).await;
    assert_eq!(resp.status(), 202);
    let on_a: Value = resp.json().await.unwrap();
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&cancelling), keys(&on_a));
    assert_eq!(on_a["status"], "cancelling");

    // A stops the run (aborting the model's stream) and B's stream ends with it.
    let mut last = None;
    while let Ok(Some(frame)) =
        tokio::time::timeout(std::time::Duration::from_secs(30), on_b.recv()).await
    {
        last = Some(frame);
    }
    assert_eq!(last.expect("more frames").data["event"], "RunCancelled");

    // Polled from B: cancelled, with the partial output A had produced.
    let done = acp_poll(&b, &run_id, "the run to be cancelled", |r| {
        r["status"] == "cancelled"
    })
    .await;
    let partial = output_text(&done);
    assert!(
        !partial.is_empty() && partial.len() < full.len() && full.starts_with(&partial),
        "{partial}"
    );
    assert_eq!(
        acp_run(&a, &run_id).await,
        done,
        "both replicas say the same"
    );
    // A finished run cannot be cancelled again, on either replica.
    let resp = acp_post(&a, &format!("/acp/runs/{run_id}/cancel"), &json!({})).await;
    assert_eq!(resp.status(), 403);
    acp_poll(&a, &other_id, "the other run to be cancelled", |r| {
        r["status"] == "cancelled"
    })
    .await;

    drop((a, b));
    schema.drop_schema().await;
}

#[tokio::test]
async fn a_run_paused_on_a_is_resumed_through_b_once() {
    let Some((schema, _mock, a, b)) = replicas(10).await else {
        return;
    };
    let ask = r#"/tool ask_user {"question": "Which city?"}"#;
    let run = acp_create(&a, "asker", ask, "sync").await;
    assert_eq!(run["status"], "awaiting");
    let run_id = run["run_id"].as_str().unwrap().to_string();
    assert_eq!(acp_run(&b, &run_id).await["status"], "awaiting");

    let resume = |text: &str| {
        json!({
            "await_resume": {"type": "message", "message": {"role": "user", "parts": [{"content": text}]}},
            "mode": "sync",
        })
    };
    let resp = acp_post(&b, &format!("/acp/runs/{run_id}"), &resume("Paris")).await;
    assert_eq!(resp.status(), 200);
    let done: Value = resp.json().await.unwrap();
    assert_eq!(done["status"], "completed");
    assert_eq!(output_text(&done), "The ask_user tool returned: Paris.");
    assert_eq!(acp_run(&a, &run_id).await, done);

    // Answers sent to both replicas at once: exactly one resumes the run.
    let run = acp_create(&a, "asker", ask, "sync").await;
    let run_id = run["run_id"].as_str().unwrap().to_string();
    let path = format!("/acp/runs/{run_id}");
    let (oslo, rome) = (resume("Oslo"), resume("Rome"));
    let (on_a, on_b) = tokio::join!(acp_post(&a, &path, &oslo), acp_post(&b, &path, &rome));
    let mut statuses = vec![on_a.status().as_u16(), on_b.status().as_u16()];
    statuses.sort();
    assert_eq!(
        statuses,
        [200, 403],
        "one resume wins, the other is refused"
    );
    let done = acp_poll(&b, &run_id, "the resumed run to complete", |r| {
        r["status"] == "completed"
    })
    .await;
    let answer = output_text(&done);
    assert!(
        answer == "The ask_user tool returned: Oslo."
            || answer == "The ask_user tool returned: Rome.",
        "{answer}"
    );

    drop((a, b));
    schema.drop_schema().await;
}

#[tokio::test]
async fn a_background_run_is_executed_exactly_once() {
    let Some((schema, mock, a, b)) = replicas(10).await else {
        return;
    };
    // Background runs accepted by either replica; both replicas' queue
    // workers are woken by each one and race to claim it.
    let prompts: Vec<String> = (0..16).map(|i| format!("job number {i}")).collect();
    let mut runs = Vec::new();
    for (i, prompt) in prompts.iter().enumerate() {
        let replica = if i % 2 == 0 { &a } else { &b };
        let run = acp_create(replica, "upstream", prompt, "async").await;
        runs.push(run["run_id"].as_str().unwrap().to_string());
    }
    // Each completes (polled through the replica that did not accept it)...
    for (i, run_id) in runs.iter().enumerate() {
        let other = if i % 2 == 0 { &b } else { &a };
        let done = acp_poll(other, run_id, "a background run to complete", |r| {
            r["status"] == "completed"
        })
        .await;
        assert_eq!(output_text(&done), format!("Mock reply to: {}", prompts[i]));
        let log: Value = other
            .client
            .get(other.url(&format!("/acp/runs/{run_id}/events")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let started = log["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "run.in-progress")
            .count();
        assert_eq!(started, 1, "{log}");
    }
    // ...and the model was asked once per run: no run executed twice.
    let asked: Vec<String> = mock
        .requests()
        .iter()
        .filter_map(|r| {
            r["messages"].as_array()?.last()?["content"]
                .as_str()
                .map(String::from)
        })
        .collect();
    assert_eq!(asked.len(), prompts.len(), "{asked:?}");
    let unique: HashSet<&String> = asked.iter().collect();
    assert_eq!(unique.len(), prompts.len(), "{asked:?}");

    drop((a, b));
    schema.drop_schema().await;
}

#[tokio::test]
async fn killing_a_mid_run_gets_its_run_failed_by_b_within_the_lease() {
    let Some((schema, _mock, mut a, b)) = replicas(10).await else {
        return;
    };
    let words: Vec<String> = (0..400).map(|i| format!("w{i}")).collect();
    let (run_id, _) = start_on(&a, "slow", &words.join(" ")).await;
    // B sees it running on A (its events reach the database as they come).
    acp_poll(&b, &run_id, "the run to be running with output", |r| {
        r["status"] == "in-progress" && !output_text(r).is_empty()
    })
    .await;

    a.kill().await;

    // A's lease runs out (1 s; B checks every half lease): B fails the run.
    let failed = acp_poll(&b, &run_id, "the run to be failed", |r| {
        r["status"] == "failed"
    })
    .await;
    let message = failed["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("interrupted"), "{failed}");
    assert!(failed["finished_at"].is_string());
    // Its log ends once, with the failure.
    let log: Value = get_json(&b.client, b.url(&format!("/acp/runs/{run_id}/events"))).await;
    let types: Vec<&str> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert_eq!(types.last(), Some(&"run.failed"), "{types:?}");
    assert_eq!(types.iter().filter(|t| **t == "run.failed").count(), 1);

    drop(b);
    schema.drop_schema().await;
}

async fn codegen_create(replica: &Agentd, key: &str, prompt: &str) -> reqwest::Response {
    replica
        .client
        .post(replica.url("/v1/organizations/1/agent/run"))
        .bearer_auth(key)
        .json(&json!({ "prompt": prompt }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn codegen_rate_limit_and_run_ids_hold_across_replicas() {
    let Some((schema, _mock, a, b)) = replicas(6).await else {
        return;
    };
    // Six creates with one key at once, spread over both replicas: each
    // gets its own id, and together they use up the key's six per minute.
    let creates = (0..6).map(|i| {
        let replica = if i % 2 == 0 { &a } else { &b };
        codegen_create(replica, "key-alice", "hello")
    });
    let mut ids = Vec::new();
    for resp in futures::future::join_all(creates).await {
        assert_eq!(resp.status(), 200);
        let run: Value = resp.json().await.unwrap();
        ids.push(run["id"].as_u64().unwrap());
    }
    ids.sort();
    assert_eq!(ids, [1, 2, 3, 4, 5, 6]);

    // The seventh is refused whichever replica it reaches.
    for replica in [&a, &b] {
        let resp = codegen_create(replica, "key-alice", "one more").await;
        assert_eq!(resp.status(), 429);
        let retry: u64 = resp.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["status_code"], 429);
    }
    // Another key has its own window.
    let resp = codegen_create(&b, "key-bob", "bob is fine").await;
    assert_eq!(resp.status(), 200);
    let run: Value = resp.json().await.unwrap();
    assert_eq!(run["id"], 7);

    drop((a, b));
    schema.drop_schema().await;
}
