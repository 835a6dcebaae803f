//! Model backends over real HTTP: agentd against mock OpenAI-compatible and
//! Anthropic upstreams on loopback, seen through AgentOS runs. Covers
//! streaming text, tool use, images, thinking/reasoning, structured output,
//! each failure kind, retries, fallback, and no retry after output began.

use crate::common::mock_anthropic::{AnthropicReply, MockAnthropic};
use crate::common::sse::{self, Frame};
use crate::common::{MockLlm, Reply, TestServer, agentos_run_json, config_with, form, get_json};
use serde_json::{Value, json};

/// A non-streaming AgentOS run; returns the RunOutput.
async fn run_json(server: &TestServer, agent: &str, message: &str) -> Value {
    agentos_run_json(server, agent, form(&[("message", message)])).await
}

/// A streaming AgentOS run; returns every frame.
async fn run_sse(server: &TestServer, agent: &str, message: &str) -> Vec<Frame> {
    let resp = server
        .client
        .post(server.url(&format!("/agents/{agent}/runs")))
        .multipart(form(&[("message", message), ("stream", "true")]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    sse::read_all(resp).await
}

fn last_event(frames: &[Frame]) -> &Value {
    &frames.last().expect("at least one frame").data
}

/// Agents on the mock Anthropic server: `claude` (retries, tools) and
/// `claude-once` (no retries, 1 s read timeout).
fn anthropic_config(base_url: &str, extra: &str) -> String {
    config_with(&format!(
        r#"
[models.claude]
provider = "anthropic"
model = "claude-mock"
base_url = "{base_url}"
api_key = "ant-test-key"
read_timeout_secs = 5

[models.claude_once]
provider = "anthropic"
model = "claude-mock"
base_url = "{base_url}"
api_key = "ant-test-key"
max_retries = 0
read_timeout_secs = 1

[[agents]]
id = "claude"
instructions = "Answer like a pirate."
model = "claude"
tools = ["calculator"]

[[agents]]
id = "claude-once"
model = "claude_once"
{extra}
"#
    ))
}

#[tokio::test]
async fn anthropic_streams_text_with_its_headers_and_system_prompt() {
    let mock = MockAnthropic::start().await;
    let server = TestServer::start(&anthropic_config(&mock.base_url, "")).await;
    let frames = run_sse(&server, "claude", "ahoy").await;
    let names = sse::names(&frames, "event");
    assert_eq!(names[0], "RunStarted");
    assert_eq!(frames[0].data["model_provider"], "Anthropic");
    let text: String = frames
        .iter()
        .filter(|f| f.data["event"] == "RunContent")
        .map(|f| f.data["content"].as_str().unwrap())
        .collect();
    assert_eq!(text, "Mock reply to: ahoy");
    let done = last_event(&frames);
    assert_eq!(done["event"], "RunCompleted");
    assert_eq!(done["content"], "Mock reply to: ahoy");
    assert_eq!(done["metrics"]["input_tokens"], 21);
    assert_eq!(done["metrics"]["output_tokens"], 9);
    assert_eq!(done["metrics"]["total_tokens"], 30);

    let requests = mock.requests();
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert_eq!(req.headers["x-api-key"], "ant-test-key");
    assert_eq!(req.headers["anthropic-version"], "2023-06-01");
    assert!(!req.headers.contains_key("authorization"));
    assert_eq!(req.body["model"], "claude-mock");
    assert_eq!(req.body["stream"], true);
    assert_eq!(req.body["max_tokens"], 4096);
    assert_eq!(req.body["system"], "Answer like a pirate.");
    assert_eq!(req.body["tools"][0]["name"], "calculator");
    assert_eq!(req.body["tools"][0]["input_schema"]["type"], "object");
    let msgs = req.body["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 1, "the system prompt is not a message");
    assert_eq!(msgs[0]["role"], "user");
    assert_eq!(
        msgs[0]["content"][0],
        json!({"type": "text", "text": "ahoy"})
    );
}

#[tokio::test]
async fn anthropic_tool_use_round_trip() {
    let mock = MockAnthropic::start().await;
    let server = TestServer::start(&anthropic_config(&mock.base_url, "")).await;
    mock.push(AnthropicReply::ToolUse {
        name: "calculator".into(),
        input: r#"{"expression":"6*7"}"#.into(),
    });
    mock.push(AnthropicReply::Text("It is 42.".into()));
    let frames = run_sse(&server, "claude", "what is 6 times 7?").await;
    let names = sse::names(&frames, "event");
    assert!(names.contains(&"ToolCallStarted".to_string()), "{names:?}");
    let completed = frames
        .iter()
        .find(|f| f.data["event"] == "ToolCallCompleted")
        .expect("tool ran");
    assert_eq!(
        completed.data["tool"]["tool_args"],
        json!({"expression": "6*7"})
    );
    assert_eq!(completed.data["tool"]["result"], "42");
    assert_eq!(completed.data["tool"]["tool_call_id"], "toolu_mock_1");
    let done = last_event(&frames);
    assert_eq!(done["event"], "RunCompleted");
    assert!(
        done["content"].as_str().unwrap().ends_with("It is 42."),
        "{done}"
    );

    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    let msgs = requests[1].body["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 3, "{msgs:?}");
    assert_eq!(msgs[1]["role"], "assistant");
    assert_eq!(msgs[1]["content"][0]["text"], "Let me check.");
    assert_eq!(
        msgs[1]["content"][1],
        json!({"type": "tool_use", "id": "toolu_mock_1", "name": "calculator",
               "input": {"expression": "6*7"}})
    );
    assert_eq!(msgs[2]["role"], "user");
    assert_eq!(
        msgs[2]["content"][0],
        json!({"type": "tool_result", "tool_use_id": "toolu_mock_1", "content": "42"})
    );
}

#[tokio::test]
async fn anthropic_thinking_becomes_reasoning_kept_out_of_the_answer() {
    let mock = MockAnthropic::start().await;
    let server = TestServer::start(&anthropic_config(&mock.base_url, "")).await;
    mock.push(AnthropicReply::Thinking {
        thinking: "The user greets me; I should greet back.".into(),
        text: "Ahoy there!".into(),
    });
    let frames = run_sse(&server, "claude", "hello").await;
    let names = sse::names(&frames, "event");
    let pos = |n: &str| names.iter().position(|x| x == n).unwrap_or(usize::MAX);
    assert!(pos("ReasoningStarted") < pos("ReasoningContentDelta"));
    assert!(pos("ReasoningContentDelta") < pos("ReasoningCompleted"));
    assert!(pos("ReasoningCompleted") < pos("RunContent"), "{names:?}");
    let reasoning: String = frames
        .iter()
        .filter(|f| f.data["event"] == "ReasoningContentDelta")
        .map(|f| f.data["reasoning_content"].as_str().unwrap())
        .collect();
    assert_eq!(reasoning, "The user greets me; I should greet back.");
    assert!(
        frames
            .iter()
            .filter(|f| f.data["event"] == "RunContent")
            .all(|f| !f.data["content"].as_str().unwrap().contains("greet back"))
    );
    let done = last_event(&frames);
    assert_eq!(done["content"], "Ahoy there!");
    assert_eq!(
        done["reasoning_content"],
        "The user greets me; I should greet back."
    );
}

#[tokio::test]
async fn signed_thinking_goes_back_to_anthropic_in_a_tool_loop() {
    let mock = MockAnthropic::start().await;
    let server = TestServer::start(&anthropic_config(
        &mock.base_url,
        r#"
[[agents]]
id = "thinker"
model = "claude_thinking"
tools = ["calculator"]
temperature = 0.5

[models.claude_thinking]
provider = "anthropic"
model = "claude-mock"
base_url = "BASE"
max_tokens = 8000
thinking_budget_tokens = 2000
"#
        .replace("BASE", &mock.base_url)
        .as_str(),
    ))
    .await;
    mock.push(AnthropicReply::ThinkThenTool {
        thinking: "I need the calculator.".into(),
        name: "calculator".into(),
        input: r#"{"expression":"2^10"}"#.into(),
    });
    mock.push(AnthropicReply::Text("1024.".into()));
    let out = run_json(&server, "thinker", "2 to the 10th?").await;
    assert_eq!(out["status"], "COMPLETED", "{out}");
    assert_eq!(out["content"], "1024.");
    assert_eq!(out["reasoning_content"], "I need the calculator.");
    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    let first = &requests[0].body;
    assert_eq!(
        first["thinking"],
        json!({"type": "enabled", "budget_tokens": 2000})
    );
    assert!(
        first.get("temperature").is_none(),
        "not allowed with thinking"
    );
    assert_eq!(first["max_tokens"], 8000);
    let assistant = &requests[1].body["messages"][1];
    assert_eq!(assistant["role"], "assistant");
    assert_eq!(
        assistant["content"][0],
        json!({"type": "thinking", "thinking": "I need the calculator.", "signature": "c2ln"})
    );
    assert_eq!(assistant["content"][1]["type"], "tool_use");
}

#[tokio::test]
async fn images_are_sent_to_anthropic_as_base64_blocks() {
    let mock = MockAnthropic::start().await;
    let server = TestServer::start(&anthropic_config(&mock.base_url, "")).await;
    let png = reqwest::multipart::Part::bytes(vec![0x89, b'P', b'N', b'G'])
        .file_name("cat.png")
        .mime_str("image/png")
        .unwrap();
    let resp = server
        .client
        .post(server.url("/agents/claude/runs"))
        .multipart(form(&[("message", "what is this?")]).part("files", png))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let out: Value = resp.json().await.unwrap();
    assert_eq!(out["status"], "COMPLETED");
    let requests = mock.requests();
    let content = &requests[0].body["messages"][0]["content"];
    assert_eq!(
        content[0],
        json!({"type": "image", "source": {"type": "base64", "media_type": "image/png",
               "data": "iVBORw=="}})
    );
    assert_eq!(content[1]["text"], "what is this?");
}

#[tokio::test]
async fn cancelling_aborts_the_anthropic_request() {
    let mock = MockAnthropic::start().await;
    let server = TestServer::start(&anthropic_config(
        &mock.base_url,
        &format!(
            r#"
[[agents]]
id = "patient"
model = "claude_patient"

[models.claude_patient]
provider = "anthropic"
model = "claude-mock"
base_url = "{}"
read_timeout_secs = 600
"#,
            mock.base_url
        ),
    ))
    .await;
    mock.push(AnthropicReply::Stall { secs: 600 });
    // A background run: only the cancel route can stop it.
    let resp = server
        .client
        .post(server.url("/agents/patient/runs"))
        .multipart(form(&[("message", "wait"), ("background", "true")]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let receipt: Value = resp.json().await.unwrap();
    let run_id = receipt["run_id"].as_str().unwrap().to_string();
    crate::common::eventually("the upstream request to be open", || async {
        (mock.open_streams() == 1).then_some(())
    })
    .await;
    let resp = server
        .client
        .post(server.url(&format!("/agents/patient/runs/{run_id}/cancel")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    crate::common::eventually("the upstream request to be dropped", || async {
        (mock.open_streams() == 0).then_some(())
    })
    .await;
    let run = crate::common::eventually("the run to be cancelled", || async {
        let run = server
            .engine
            .get_run(&agentd::engine::Principal::open(), &run_id)
            .await
            .ok()??;
        (run.status == agentd::engine::RunStatus::Cancelled).then_some(run)
    })
    .await;
    assert!(run.error.is_none());
}

/// The RunError a failing run ends with.
async fn run_error(server: &TestServer, agent: &str) -> Value {
    let frames = run_sse(server, agent, "hi").await;
    let last = last_event(&frames).clone();
    assert_eq!(last["event"], "RunError", "{last}");
    last
}

#[tokio::test]
async fn anthropic_failures_are_typed() {
    let mock = MockAnthropic::start().await;
    let server = TestServer::start(&anthropic_config(&mock.base_url, "")).await;
    let status = |status: u16, error_type: &str, message: &str, retry_after: Option<u64>| {
        AnthropicReply::Status {
            status,
            error_type: error_type.into(),
            message: message.into(),
            retry_after,
        }
    };

    mock.push(status(
        401,
        "authentication_error",
        "invalid x-api-key",
        None,
    ));
    let err = run_error(&server, "claude-once").await;
    assert_eq!(err["error_type"], "model_provider_error");
    assert_eq!(err["error_id"], "model_auth");
    assert!(
        err["content"]
            .as_str()
            .unwrap()
            .contains("invalid x-api-key")
    );

    mock.push(status(429, "rate_limit_error", "slow down", Some(7)));
    let err = run_error(&server, "claude-once").await;
    assert_eq!(err["error_id"], "model_rate_limited");
    let msg = err["content"].as_str().unwrap();
    assert!(
        msg.contains("retry after 7s") && msg.contains("slow down"),
        "{msg}"
    );

    mock.push(status(529, "overloaded_error", "Overloaded", None));
    let err = run_error(&server, "claude-once").await;
    assert_eq!(err["error_id"], "model_overloaded");

    mock.push(status(
        400,
        "invalid_request_error",
        "max_tokens: too big",
        None,
    ));
    let err = run_error(&server, "claude-once").await;
    assert_eq!(err["error_id"], "model_bad_request");
    assert!(err["content"].as_str().unwrap().contains("max_tokens"));

    mock.push(AnthropicReply::StreamError {
        error_type: "overloaded_error".into(),
        message: "Overloaded".into(),
    });
    let err = run_error(&server, "claude-once").await;
    assert_eq!(err["error_id"], "model_overloaded");

    let before = mock.requests().len();
    mock.push(AnthropicReply::Cut("half an ans".into()));
    let err = run_error(&server, "claude-once").await;
    assert_eq!(err["error_id"], "model_stream_cut");
    assert_eq!(mock.requests().len(), before + 1);

    // A stream that goes silent ends at the read timeout (1 s here).
    mock.push(AnthropicReply::Stall { secs: 30 });
    let err = run_error(&server, "claude-once").await;
    assert_eq!(err["error_id"], "model_timeout");
}

#[tokio::test]
async fn a_429_is_retried_after_its_retry_after() {
    let mock = MockAnthropic::start().await;
    let server = TestServer::start(&anthropic_config(&mock.base_url, "")).await;
    mock.push(AnthropicReply::Status {
        status: 429,
        error_type: "rate_limit_error".into(),
        message: "slow down".into(),
        retry_after: Some(1),
    });
    mock.push(AnthropicReply::Status {
        status: 529,
        error_type: "overloaded_error".into(),
        message: "Overloaded".into(),
        retry_after: None,
    });
    let out = run_json(&server, "claude", "again").await;
    assert_eq!(out["status"], "COMPLETED", "{out}");
    assert_eq!(out["content"], "Mock reply to: again");
    assert_eq!(mock.requests().len(), 3);
}

#[tokio::test]
async fn connect_errors_are_typed() {
    // A port nothing listens on: bind one, then free it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let server = TestServer::start(&anthropic_config(&format!("http://{addr}"), "")).await;
    let err = run_error(&server, "claude-once").await;
    assert_eq!(err["error_id"], "model_connect");
    assert!(err["content"].as_str().unwrap().contains("cannot connect"));
}

fn reasoning_chunk(key: &str, text: &str) -> Value {
    json!({"choices": [{"index": 0, "delta": {key: text}, "finish_reason": null}]})
}

#[tokio::test]
async fn openai_reasoning_streams_as_reasoning_not_answer() {
    let mock = MockLlm::start().await;
    let server = TestServer::start(&crate::common::upstream_config(&mock.base_url, "")).await;
    let chunks = vec![
        reasoning_chunk("reasoning_content", "Two plus two "),
        reasoning_chunk("reasoning", "is four."),
        reasoning_chunk("content", "4"),
        json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
        json!({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 7,
               "total_tokens": 12, "completion_tokens_details": {"reasoning_tokens": 4}}}),
    ];
    mock.push(Reply::Raw(chunks.clone()));
    let frames = run_sse(&server, "upstream", "2+2?").await;
    let names = sse::names(&frames, "event");
    for n in [
        "ReasoningStarted",
        "ReasoningContentDelta",
        "ReasoningCompleted",
    ] {
        assert!(names.contains(&n.to_string()), "{n} missing from {names:?}");
    }
    let completed = frames
        .iter()
        .find(|f| f.data["event"] == "ReasoningCompleted")
        .unwrap();
    assert_eq!(completed.data["content"], "Two plus two is four.");
    let done = last_event(&frames);
    assert_eq!(done["event"], "RunCompleted");
    assert_eq!(done["content"], "4");
    assert_eq!(done["reasoning_content"], "Two plus two is four.");
    assert_eq!(done["metrics"]["reasoning_tokens"], 4);

    // The non-streaming output keeps them apart too.
    mock.push(Reply::Raw(chunks));
    let out = run_json(&server, "upstream", "2+2?").await;
    assert_eq!(out["content"], "4");
    assert_eq!(out["reasoning_content"], "Two plus two is four.");
}

/// An agent `structured` with an inline-table schema on the OpenAI mock.
fn structured_config(base_url: &str) -> String {
    crate::common::upstream_config(
        base_url,
        r#"
[[agents]]
id = "structured"
model = "mock"
temperature = 0.2
max_tokens = 300
stop = ["END"]

[agents.response_schema]
title = "City facts"
type = "object"
required = ["city", "population"]
additionalProperties = false

[agents.response_schema.properties.city]
type = "string"

[agents.response_schema.properties.population]
type = "integer"
minimum = 0
"#,
    )
}

#[tokio::test]
async fn openai_structured_output_is_parsed_and_validated() {
    let mock = MockLlm::start().await;
    let server = TestServer::start(&structured_config(&mock.base_url)).await;
    mock.push(Reply::Text(
        r#"{"city": "Oslo", "population": 709000}"#.into(),
    ));
    let out = run_json(&server, "structured", "Tell me about Oslo").await;
    assert_eq!(out["status"], "COMPLETED", "{out}");
    assert_eq!(out["content_type"], "json");
    assert_eq!(
        out["content"],
        json!({"city": "Oslo", "population": 709000})
    );

    let body = &mock.requests()[0];
    assert_eq!(body["response_format"]["type"], "json_schema");
    let format = &body["response_format"]["json_schema"];
    assert_eq!(format["name"], "City_facts");
    assert_eq!(format["strict"], true);
    assert_eq!(format["schema"]["required"], json!(["city", "population"]));
    assert_eq!(
        body["temperature"].as_f64().map(|t| (t * 10.0).round()),
        Some(2.0)
    );
    assert_eq!(body["max_tokens"], 300);
    assert_eq!(body["stop"], json!(["END"]));

    // Streaming: RunCompleted carries the JSON.
    mock.push(Reply::Text(
        r#"{"city": "Bergen", "population": 291000}"#.into(),
    ));
    let frames = run_sse(&server, "structured", "And Bergen?").await;
    let done = last_event(&frames);
    assert_eq!(done["event"], "RunCompleted");
    assert_eq!(done["content_type"], "json");
    assert_eq!(done["content"]["city"], "Bergen");
}

#[tokio::test]
async fn a_schema_violation_fails_the_run() {
    let mock = MockLlm::start().await;
    let server = TestServer::start(&structured_config(&mock.base_url)).await;
    mock.push(Reply::Text(r#"{"city": "Oslo", "population": -5}"#.into()));
    let frames = run_sse(&server, "structured", "Oslo").await;
    let err = last_event(&frames);
    assert_eq!(err["event"], "RunError");
    assert_eq!(err["error_type"], "invalid_output");
    assert_eq!(err["error_id"], "invalid_output");
    let msg = err["content"].as_str().unwrap();
    assert!(msg.contains("/population"), "{msg}");

    mock.push(Reply::Text("Oslo is a city".into()));
    let out = run_json(&server, "structured", "Oslo").await;
    assert_eq!(out["status"], "ERROR");
    assert!(out["content"].as_str().unwrap().contains("not valid JSON"));
}

#[tokio::test]
async fn anthropic_structured_output_uses_a_forced_tool() {
    let mock = MockAnthropic::start().await;
    // The schema as a JSON string on the model, inherited by its agents.
    let config = anthropic_config(&mock.base_url, "").replace(
        "max_retries = 0\n",
        "max_retries = 0\nresponse_schema = '{\"type\": \"object\", \"required\": [\"answer\"]}'\n",
    );
    let server = TestServer::start(&config).await;
    mock.push(AnthropicReply::ToolUse {
        name: "structured_response".into(),
        input: r#"{"answer": "yes"}"#.into(),
    });
    let out = run_json(&server, "claude-once", "well?").await;
    assert_eq!(out["status"], "COMPLETED", "{out}");
    assert_eq!(out["content_type"], "json");
    // The text before the tool is not part of a structured answer.
    assert_eq!(out["content"], json!({"answer": "yes"}));
    assert!(out["tools"].as_array().unwrap().is_empty());
    let body = &mock.requests()[0].body;
    assert_eq!(
        body["tool_choice"],
        json!({"type": "tool", "name": "structured_response"})
    );
    assert_eq!(
        body["tools"][0]["input_schema"]["required"],
        json!(["answer"])
    );
}

#[tokio::test]
async fn the_fallback_model_takes_over_after_the_primary_fails() {
    let primary = MockLlm::start().await;
    let backup = MockAnthropic::start().await;
    let config = config_with(&format!(
        r#"
[models.primary]
provider = "openai"
model = "primary-model"
base_url = "{}"
api_key = "k"

[models.backup]
provider = "anthropic"
model = "backup-model"
base_url = "{}"
api_key = "k"

[[agents]]
id = "resilient"
model = "primary"
fallback = "backup"
"#,
        primary.base_url, backup.base_url
    ));
    let server = TestServer::start(&config).await;
    for _ in 0..3 {
        primary.push(Reply::Status(500, "primary is down".into()));
    }
    let frames = run_sse(&server, "resilient", "are you there?").await;
    let started: Vec<&str> = frames
        .iter()
        .filter(|f| f.data["event"] == "ModelRequestStarted")
        .map(|f| f.data["model"].as_str().unwrap())
        .collect();
    assert_eq!(started, ["primary-model", "backup-model"]);
    let done = last_event(&frames);
    assert_eq!(done["event"], "RunCompleted", "{done}");
    assert_eq!(done["content"], "Mock reply to: are you there?");
    assert_eq!(primary.requests().len(), 3, "1 try + 2 retries");
    assert_eq!(backup.requests().len(), 1);
    let (run_id, session_id) = (
        done["run_id"].as_str().unwrap(),
        done["session_id"].as_str().unwrap(),
    );
    let out: Value = get_json(
        &server.client,
        server.url(&format!(
            "/agents/resilient/runs/{run_id}?session_id={session_id}"
        )),
    )
    .await;
    assert_eq!(out["model"], "backup-model");
    assert_eq!(out["model_provider"], "Anthropic");
}

#[tokio::test]
async fn no_retry_or_fallback_once_output_began() {
    let primary = MockLlm::start().await;
    let backup = MockAnthropic::start().await;
    let config = crate::common::upstream_config(
        &primary.base_url,
        &format!(
            r#"fallback = "backup"

[models.backup]
provider = "anthropic"
model = "backup-model"
base_url = "{}"
"#,
            backup.base_url
        ),
    );
    let server = TestServer::start(&config).await;
    primary.push(Reply::Cut("partial answer that stops".into()));
    let frames = run_sse(&server, "upstream", "go").await;
    let text: String = frames
        .iter()
        .filter(|f| f.data["event"] == "RunContent")
        .map(|f| f.data["content"].as_str().unwrap())
        .collect();
    assert_eq!(text, "partial answer that stops");
    let err = last_event(&frames);
    assert_eq!(err["event"], "RunError");
    assert_eq!(err["error_id"], "model_stream_cut");
    assert_eq!(primary.requests().len(), 1, "never retried after output");
    assert!(backup.requests().is_empty(), "no fallback after output");
}

#[tokio::test]
async fn auth_errors_do_not_fall_back() {
    let primary = MockLlm::start().await;
    let backup = MockAnthropic::start().await;
    let config = crate::common::upstream_config(
        &primary.base_url,
        &format!(
            r#"fallback = "backup"

[models.backup]
provider = "anthropic"
model = "backup-model"
base_url = "{}"
"#,
            backup.base_url
        ),
    );
    let server = TestServer::start(&config).await;
    primary.push(Reply::Status(401, "bad key".into()));
    let err = run_error(&server, "upstream").await;
    assert_eq!(err["error_id"], "model_auth");
    assert_eq!(primary.requests().len(), 1, "auth errors are not retried");
    assert!(backup.requests().is_empty());
}

#[tokio::test]
async fn builtin_model_echoes_json_for_structured_agents() {
    let server = TestServer::start(&config_with(
        r#"
[[agents]]
id = "forms"
model = "builtin"
response_schema = '{"type": "object", "properties": {"n": {"type": "integer"}}}'
"#,
    ))
    .await;
    let out = run_json(&server, "forms", r#"{"n": 3}"#).await;
    assert_eq!(out["content_type"], "json");
    assert_eq!(out["content"], json!({"n": 3}));
    let out = run_json(&server, "forms", r#"{"n": "three"}"#).await;
    assert_eq!(out["status"], "ERROR");
}

#[tokio::test]
async fn bad_model_settings_are_config_errors() {
    let check = |extra: &str| {
        agentd::config::Config::from_toml_str(&config_with(extra), "x.toml".as_ref(), &|_| None)
            .unwrap_err()
            .to_string()
    };
    let err = check("fallback = \"nope\"");
    assert!(
        err.contains("agents[0].fallback") && err.contains("nope"),
        "{err}"
    );
    let err = check("response_schema = '{\"type\": 12}'");
    assert!(err.contains("agents[0].response_schema"), "{err}");
    let err = check("response_schema = 'not json'");
    assert!(err.contains("response_schema"), "{err}");
    let err = check("temperature = 9.0");
    assert!(err.contains("agents[0].temperature"), "{err}");
    let err =
        check("[models.c]\nprovider = \"anthropic\"\nmodel = \"m\"\nthinking_budget_tokens = 100");
    assert!(err.contains("thinking_budget_tokens"), "{err}");
}

/// An HTTP/2 upstream lets a connection carry only so many streams and makes
/// the rest wait; agentd opens another connection instead of queueing runs.
#[tokio::test]
async fn runs_beyond_an_http2_upstreams_stream_cap_get_another_connection() {
    use crate::common::mock_h2::MockH2;
    let mock = MockH2::start(2, 5).await;
    let server = TestServer::start(&config_with(&format!(
        r#"
[models.h2]
provider = "openai"
model = "mock-model"
base_url = "{}"
api_key = "test-key"
read_timeout_secs = 10
http2_prior_knowledge = true
max_streams_per_connection = 2

[[agents]]
id = "h2"
name = "Over HTTP/2"
model = "h2"
"#,
        mock.base_url
    )))
    .await;

    let questions: Vec<String> = (0..5).map(|i| format!("question {i}")).collect();
    let runs = questions.iter().map(|q| run_json(&server, "h2", q));
    for output in futures::future::join_all(runs).await {
        assert_eq!(output["status"], "COMPLETED", "{output}");
        assert_eq!(output["content"], "over h2");
    }
    assert_eq!(
        mock.most_open(),
        5,
        "all five runs were at the model at once"
    );
    assert!(
        mock.connections() >= 3,
        "{} connections",
        mock.connections()
    );
    assert!(mock.versions().iter().all(|v| *v == hyper::Version::HTTP_2));
}
