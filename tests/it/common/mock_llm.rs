//! A scriptable OpenAI-compatible chat-completions server on loopback.
//!
//! Each request takes the next scripted `Reply`; with none left it answers
//! "Mock reply to: <last user message>". Every request body is recorded.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub enum Reply {
    /// Streams the text word by word.
    Text(String),
    /// Streams text with a pause before each word (for cancel/disconnect tests).
    Slow { text: String, delay_ms: u64 },
    /// Asks for one tool call.
    ToolCall { name: String, arguments: String },
    /// Asks for several tool calls in one turn: (name, arguments) each,
    /// with ids `call_<index>_<name>`.
    ToolCalls(Vec<(String, String)>),
    /// Answers with an HTTP error status and body.
    Status(u16, String),
    /// Streams this text, then closes the connection without finishing.
    Cut(String),
    /// Sends a chunk that is not JSON.
    Malformed,
    /// Streams these chunk objects as they are, then `[DONE]`.
    Raw(Vec<Value>),
    /// Answers 200 `text/event-stream` with exactly these bytes.
    Bytes(Vec<u8>),
}

#[derive(Clone, Default)]
struct Shared {
    script: Arc<Mutex<VecDeque<Reply>>>,
    requests: Arc<Mutex<Vec<Value>>>,
}

pub struct MockLlm {
    pub base_url: String,
    shared: Shared,
}

/// One tool call.
pub fn call(name: &str, arguments: serde_json::Value) -> Reply {
    Reply::ToolCall {
        name: name.into(),
        arguments: arguments.to_string(),
    }
}

/// Several tool calls in one turn.
pub fn calls(list: &[(&str, serde_json::Value)]) -> Reply {
    Reply::ToolCalls(
        list.iter()
            .map(|(n, a)| (n.to_string(), a.to_string()))
            .collect(),
    )
}

impl MockLlm {
    pub async fn start() -> Self {
        let shared = Shared::default();
        let app = Router::new()
            .route("/v1/chat/completions", post(chat))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind mock");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base_url: format!("http://{addr}/v1"),
            shared,
        }
    }

    pub fn push(&self, reply: Reply) {
        self.shared.script.lock().unwrap().push_back(reply);
    }

    pub fn requests(&self) -> Vec<Value> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// The tool messages of the last request the model got, as
    /// (tool_call_id, content).
    pub fn last_tool_results(&self) -> Vec<(String, String)> {
        let requests = self.requests();
        let Some(last) = requests.last() else {
            return Vec::new();
        };
        last["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["role"] == "tool")
            .map(|m| {
                (
                    m["tool_call_id"].as_str().unwrap_or("").to_string(),
                    m["content"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    /// The names of the tools the last request offered the model.
    pub fn last_offered_tools(&self) -> Vec<String> {
        let requests = self.requests();
        requests
            .last()
            .and_then(|r| r["tools"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|t| t["function"]["name"].as_str().map(str::to_string))
            .collect()
    }
}

/// One `chat.completion.chunk` SSE frame (shared with the other mocks).
pub fn chunk(delta: Value, finish: Option<&str>) -> String {
    let body = json!({
        "id": "chatcmpl-mock", "object": "chat.completion.chunk", "model": "mock-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
    });
    format!("data: {body}\n\n")
}

fn usage() -> String {
    let body = json!({"id": "chatcmpl-mock", "choices": [],
        "usage": {"prompt_tokens": 13, "completion_tokens": 6, "total_tokens": 19}});
    format!("data: {body}\n\n")
}

fn last_user_text(body: &Value) -> String {
    body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .map(|m| match &m["content"] {
            Value::String(s) => s.clone(),
            Value::Array(parts) => parts
                .iter()
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join(" "),
            _ => String::new(),
        })
        .unwrap_or_default()
}

async fn chat(State(shared): State<Shared>, body: String) -> Response {
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    shared.requests.lock().unwrap().push(body.clone());
    let reply = shared
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| Reply::Text(format!("Mock reply to: {}", last_user_text(&body))));
    let (frames, delay, finish): (Vec<String>, u64, bool) = match reply {
        Reply::Status(code, msg) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (status, axum::Json(json!({"error": {"message": msg}}))).into_response();
        }
        Reply::Bytes(bytes) => {
            return Response::builder()
                .header("content-type", "text/event-stream")
                .body(Body::from(bytes))
                .expect("response");
        }
        Reply::Text(text) => (words(&text), 0, true),
        Reply::Slow { text, delay_ms } => (words(&text), delay_ms, true),
        Reply::Cut(text) => (
            text.split_inclusive(' ')
                .map(|w| chunk(json!({"content": w}), None))
                .collect(),
            0,
            false,
        ),
        Reply::Malformed => (vec!["data: {not json\n\n".to_string()], 0, false),
        Reply::Raw(chunks) => (
            chunks.iter().map(|c| format!("data: {c}\n\n")).collect(),
            0,
            true,
        ),
        Reply::ToolCall { name, arguments } => {
            let first = chunk(
                json!({"tool_calls": [{"index": 0, "id": "call_mock_1", "type": "function",
                    "function": {"name": name, "arguments": ""}}]}),
                None,
            );
            let args = chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": arguments}}]}),
                None,
            );
            let end = chunk(json!({}), Some("tool_calls"));
            (vec![first, args, end, usage()], 0, true)
        }
        Reply::ToolCalls(calls) => {
            let mut frames: Vec<String> = calls
                .iter()
                .enumerate()
                .flat_map(|(i, (name, arguments))| {
                    [
                        chunk(
                            json!({"tool_calls": [{"index": i, "id": format!("call_{i}_{name}"), "type": "function",
                                "function": {"name": name, "arguments": ""}}]}),
                            None,
                        ),
                        chunk(
                            json!({"tool_calls": [{"index": i, "function": {"arguments": arguments}}]}),
                            None,
                        ),
                    ]
                })
                .collect();
            frames.push(chunk(json!({}), Some("tool_calls")));
            frames.push(usage());
            (frames, 0, true)
        }
    };
    let stream = async_stream::stream! {
        for f in frames {
            if delay > 0 {
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            yield Ok::<_, std::convert::Infallible>(f);
        }
        if finish {
            yield Ok("data: [DONE]\n\n".to_string());
        }
    };
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(stream))
        .expect("response")
}

fn words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = text
        .split_inclusive(' ')
        .map(|w| chunk(json!({"content": w}), None))
        .collect();
    out.push(chunk(json!({}), Some("stop")));
    out.push(usage());
    out
}
