//! A scriptable Anthropic Messages API server on loopback (`POST /v1/messages`).
//!
//! Each request takes the next scripted `AnthropicReply`; with none left it
//! answers "Mock reply to: <last user text>". Every request is recorded with
//! its headers, so tests can check what agentd sent.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub enum AnthropicReply {
    /// Streams the text word by word.
    Text(String),
    /// Streams a thinking block, then the text.
    Thinking { thinking: String, text: String },
    /// Streams a `tool_use` block whose input arrives in two JSON fragments.
    ToolUse { name: String, input: String },
    /// Streams a signed thinking block, then a `tool_use` block.
    ThinkThenTool {
        thinking: String,
        name: String,
        input: String,
    },
    /// Answers with an HTTP error in Anthropic's error shape.
    Status {
        status: u16,
        error_type: String,
        message: String,
        retry_after: Option<u64>,
    },
    /// Streams this text, then closes the connection without `message_stop`.
    Cut(String),
    /// Starts the message, then sends an `error` event.
    StreamError { error_type: String, message: String },
    /// Starts the message, then goes silent for `secs`.
    Stall { secs: u64 },
}

/// One request as the mock received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub headers: HashMap<String, String>,
    pub body: Value,
}

#[derive(Clone, Default)]
struct Shared {
    script: Arc<Mutex<VecDeque<AnthropicReply>>>,
    requests: Arc<Mutex<Vec<Recorded>>>,
    /// Response streams not yet finished or dropped by the client.
    open: Arc<AtomicUsize>,
}

/// Counts a response stream as open until it is dropped.
struct OpenGuard(Arc<AtomicUsize>);

impl OpenGuard {
    fn new(open: &Arc<AtomicUsize>) -> Self {
        open.fetch_add(1, Ordering::SeqCst);
        Self(open.clone())
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

pub struct MockAnthropic {
    /// Without `/v1`, as Anthropic's own base URL is given.
    pub base_url: String,
    shared: Shared,
}

impl MockAnthropic {
    pub async fn start() -> Self {
        let shared = Shared::default();
        let app = Router::new()
            .route("/v1/messages", post(messages))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind mock");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base_url: format!("http://{addr}"),
            shared,
        }
    }

    pub fn push(&self, reply: AnthropicReply) {
        self.shared.script.lock().unwrap().push_back(reply);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Streaming responses still open: a client that aborted its request
    /// leaves none behind.
    pub fn open_streams(&self) -> usize {
        self.shared.open.load(Ordering::SeqCst)
    }
}

fn frame(event: &str, data: Value) -> String {
    format!("event: {event}\ndata: {data}\n\n")
}

fn message_start() -> String {
    frame(
        "message_start",
        json!({"type": "message_start", "message": {
            "id": "msg_mock", "type": "message", "role": "assistant", "model": "claude-mock",
            "content": [], "stop_reason": null,
            "usage": {"input_tokens": 21, "output_tokens": 1}}}),
    )
}

fn block_start(index: usize, block: Value) -> String {
    frame(
        "content_block_start",
        json!({"type": "content_block_start", "index": index, "content_block": block}),
    )
}

fn block_delta(index: usize, delta: Value) -> String {
    frame(
        "content_block_delta",
        json!({"type": "content_block_delta", "index": index, "delta": delta}),
    )
}

fn block_stop(index: usize) -> String {
    frame(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": index}),
    )
}

fn text_block(index: usize, text: &str) -> Vec<String> {
    let mut out = vec![block_start(index, json!({"type": "text", "text": ""}))];
    out.extend(
        text.split_inclusive(' ')
            .map(|w| block_delta(index, json!({"type": "text_delta", "text": w}))),
    );
    out.push(block_stop(index));
    out
}

/// A thinking block signed "c2ln".
fn thinking_block(index: usize, thinking: &str) -> Vec<String> {
    let mut out = vec![block_start(
        index,
        json!({"type": "thinking", "thinking": ""}),
    )];
    out.extend(
        thinking
            .split_inclusive(' ')
            .map(|w| block_delta(index, json!({"type": "thinking_delta", "thinking": w}))),
    );
    out.push(block_delta(
        index,
        json!({"type": "signature_delta", "signature": "c2ln"}),
    ));
    out.push(block_stop(index));
    out
}

/// A tool_use block (id `toolu_mock_1`) whose input arrives in two fragments.
fn tool_block(index: usize, name: &str, input: &str) -> Vec<String> {
    let split = (input.len() / 2..=input.len())
        .find(|i| input.is_char_boundary(*i))
        .unwrap_or(input.len());
    let mut out = vec![block_start(
        index,
        json!({"type": "tool_use", "id": "toolu_mock_1", "name": name, "input": {}}),
    )];
    for part in [&input[..split], &input[split..]] {
        out.push(block_delta(
            index,
            json!({"type": "input_json_delta", "partial_json": part}),
        ));
    }
    out.push(block_stop(index));
    out
}

fn message_end(stop_reason: &str) -> Vec<String> {
    vec![
        frame(
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": stop_reason},
                   "usage": {"output_tokens": 9}}),
        ),
        frame("message_stop", json!({"type": "message_stop"})),
    ]
}

fn last_user_text(body: &Value) -> String {
    body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .map(|m| match &m["content"] {
            Value::String(s) => s.clone(),
            Value::Array(blocks) => blocks
                .iter()
                .filter(|b| b["type"] == "text")
                .filter_map(|b| b["text"].as_str())
                .collect::<Vec<_>>()
                .join(" "),
            _ => String::new(),
        })
        .unwrap_or_default()
}

async fn messages(State(shared): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let headers = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    shared.requests.lock().unwrap().push(Recorded {
        headers,
        body: body.clone(),
    });
    let reply = shared
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| {
            AnthropicReply::Text(format!("Mock reply to: {}", last_user_text(&body)))
        });
    let mut stall = 0;
    let frames: Vec<String> = match reply {
        AnthropicReply::Status {
            status,
            error_type,
            message,
            retry_after,
        } => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut resp = (
                code,
                axum::Json(
                    json!({"type": "error", "error": {"type": error_type, "message": message}}),
                ),
            )
                .into_response();
            if let Some(secs) = retry_after {
                resp.headers_mut()
                    .insert("retry-after", secs.to_string().parse().unwrap());
            }
            return resp;
        }
        AnthropicReply::Text(text) => {
            let mut f = vec![message_start()];
            f.extend(text_block(0, &text));
            f.extend(message_end("end_turn"));
            f
        }
        AnthropicReply::Thinking { thinking, text } => {
            let mut f = vec![message_start()];
            f.extend(thinking_block(0, &thinking));
            f.extend(text_block(1, &text));
            f.extend(message_end("end_turn"));
            f
        }
        AnthropicReply::ToolUse { name, input } => {
            let mut f = vec![message_start()];
            f.extend(text_block(0, "Let me check."));
            f.extend(tool_block(1, &name, &input));
            f.extend(message_end("tool_use"));
            f
        }
        AnthropicReply::ThinkThenTool {
            thinking,
            name,
            input,
        } => {
            let mut f = vec![message_start()];
            f.extend(thinking_block(0, &thinking));
            f.extend(tool_block(1, &name, &input));
            f.extend(message_end("tool_use"));
            f
        }
        AnthropicReply::Cut(text) => {
            let mut f = vec![message_start()];
            f.push(block_start(0, json!({"type": "text", "text": ""})));
            f.extend(
                text.split_inclusive(' ')
                    .map(|w| block_delta(0, json!({"type": "text_delta", "text": w}))),
            );
            f
        }
        AnthropicReply::StreamError {
            error_type,
            message,
        } => vec![
            message_start(),
            frame(
                "error",
                json!({"type": "error", "error": {"type": error_type, "message": message}}),
            ),
        ],
        AnthropicReply::Stall { secs } => {
            stall = secs;
            vec![message_start()]
        }
    };
    let guard = OpenGuard::new(&shared.open);
    let stream = async_stream::stream! {
        let _guard = guard;
        for f in frames {
            yield Ok::<_, std::convert::Infallible>(f);
        }
        if stall > 0 {
            tokio::time::sleep(Duration::from_secs(stall)).await;
        }
    };
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(stream))
        .expect("response")
}
