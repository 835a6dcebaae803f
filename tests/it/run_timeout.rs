//! A run that goes on past its agent's `max_run_secs` is ended as failed,
//! with a typed timeout (`run_timeout`), whatever it was doing.

use crate::common::{TestServer, config_with, form};

#[tokio::test]
async fn a_run_past_its_agents_max_run_secs_fails_with_a_run_timeout() {
    let server = TestServer::start(&config_with(
        r#"
[models.crawl]
provider = "builtin"
token_delay_ms = 300

[[agents]]
id = "crawler"
model = "crawl"
max_run_secs = 1
"#,
    ))
    .await;
    // Forty slow words: twelve seconds of reply, against a one-second limit.
    let words: Vec<String> = (0..40).map(|i| format!("w{i}")).collect();
    let resp = server
        .client
        .post(server.url("/agents/crawler/runs"))
        .multipart(form(&[("message", &words.join(" "))]))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = resp.json().await.unwrap();
    let run_id = body["run_id"].as_str().expect("a run id").to_string();
    let run = server
        .engine
        .get_run(&agentd::engine::Principal::open(), &run_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.status.as_str(), "failed", "{body}");
    let error = run.error.expect("a failure");
    assert_eq!(error.kind.as_str(), "run_timeout", "{}", error.message);
    // The agents without a limit of their own keep the generous default.
    let quick = server
        .client
        .post(server.url("/agents/assistant/runs"))
        .multipart(form(&[("message", "hi")]))
        .send()
        .await
        .unwrap();
    assert_eq!(quick.status(), 200);
}
