//! The Anthropic Messages API over reqwest, streamed.
//!
//! Translates the engine's conversation into Messages content blocks (system
//! prompt apart, tool results as `tool_result` blocks in a user turn, images
//! and PDFs as base64 or URL sources) and the SSE stream back into
//! `ModelDelta`s: text, thinking as reasoning, `tool_use` input as tool-call
//! fragments, usage, and `error` events as typed faults.
//!
//! Structured output has no native switch here, so a response schema becomes
//! a tool the model is made to call; that tool's input streams out as the
//! answer text, and the engine validates it like any provider's JSON.
//!
//! Transport (timeouts, retries, status mapping) lives in `models::http`.

use std::collections::HashSet;

use async_trait::async_trait;
use futures::StreamExt;
use serde_json::{Value, json};

use super::http::Transport;
use super::{Model, ModelDelta, ModelError, ModelRequest, ModelStream};
use crate::config::{ANTHROPIC_DEFAULT_MAX_TOKENS, ModelConfig};
use crate::domain::{MediaKind, Message, Role, Usage};

const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
const DEFAULT_VERSION: &str = "2023-06-01";
/// The tool a response schema becomes; its input is the structured answer.
pub const RESPOND_TOOL: &str = "structured_response";

pub struct AnthropicModel {
    transport: Transport,
    url: String,
    api_key: Option<String>,
    version: String,
    model: String,
    temperature: Option<f32>,
    max_tokens: Option<u32>,
    stop: Option<Vec<String>>,
    thinking_budget: Option<u32>,
}

impl AnthropicModel {
    pub fn new(cfg: &ModelConfig) -> Result<Self, String> {
        let base = cfg
            .base_url
            .as_deref()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or(DEFAULT_BASE_URL)
            .trim_end_matches('/');
        // Accept a base URL given with or without the `/v1` suffix.
        let base = base.strip_suffix("/v1").unwrap_or(base);
        Ok(Self {
            transport: Transport::new(cfg)?,
            url: format!("{base}/v1/messages"),
            api_key: cfg.api_key.clone().filter(|k| !k.trim().is_empty()),
            version: cfg
                .anthropic_version
                .clone()
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_VERSION.to_string()),
            model: cfg.model.clone().unwrap_or_default(),
            temperature: cfg.temperature,
            max_tokens: cfg.max_tokens,
            stop: cfg.stop.clone(),
            thinking_budget: cfg.thinking_budget_tokens,
        })
    }

    fn body(&self, request: &ModelRequest) -> Value {
        let settings = &request.settings;
        let mut system: Vec<&str> = request
            .messages
            .iter()
            .filter(|m| m.role == Role::System && !m.text.trim().is_empty())
            .map(|m| m.text.as_str())
            .collect();
        let max_tokens = settings
            .max_tokens
            .or(self.max_tokens)
            .unwrap_or(ANTHROPIC_DEFAULT_MAX_TOKENS);
        // Thinking needs room for an answer after its budget.
        let thinking = self.thinking_budget.filter(|b| *b < max_tokens);
        let mut tools: Vec<Value> = request
            .tools
            .iter()
            .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.parameters}))
            .collect();
        let mut tool_choice = None;
        let instruction;
        if let Some(format) = &settings.response_format {
            tools.push(json!({
                "name": RESPOND_TOOL,
                "description": "Give the final answer, as input matching this schema.",
                "input_schema": format.schema,
            }));
            instruction = format!(
                "When you have the final answer, give it by calling the {RESPOND_TOOL} tool, \
                 and only that way."
            );
            system.push(&instruction);
            // Forcing a tool is not allowed together with extended thinking.
            if thinking.is_none() {
                tool_choice = Some(if request.tools.is_empty() {
                    json!({"type": "tool", "name": RESPOND_TOOL})
                } else {
                    json!({"type": "any"})
                });
            }
        }
        let mut body = json!({
            "model": self.model,
            "max_tokens": max_tokens,
            "messages": wire_messages(&request.messages, thinking.is_some()),
            "stream": true,
        });
        if !system.is_empty() {
            body["system"] = json!(system.join("\n\n"));
        }
        if !tools.is_empty() {
            body["tools"] = Value::Array(tools);
        }
        if let Some(choice) = tool_choice {
            body["tool_choice"] = choice;
        }
        if let Some(budget) = thinking {
            body["thinking"] = json!({"type": "enabled", "budget_tokens": budget});
        } else if let Some(t) = settings.temperature.or(self.temperature) {
            // Anthropic rejects a temperature with thinking on; it takes 0..1.
            body["temperature"] = json!(t.min(1.0));
        }
        if let Some(stop) = settings.stop.as_ref().or(self.stop.as_ref()) {
            body["stop_sequences"] = json!(stop);
        }
        body
    }
}

/// The conversation as Messages turns: roles alternate, so consecutive
/// blocks of one role (several tool results, then a user follow-up) are
/// merged into one turn. With thinking on, signed thinking goes back with
/// its turn, as a tool loop requires.
fn wire_messages(messages: &[Message], thinking: bool) -> Vec<Value> {
    let mut turns: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for m in messages {
        let (role, blocks) = match m.role {
            Role::System => continue,
            Role::User => ("user", user_blocks(m)),
            Role::Tool => ("user", vec![tool_result_block(m)]),
            Role::Assistant => ("assistant", assistant_blocks(m, thinking)),
        };
        if blocks.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some((last, existing)) if *last == role => existing.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    turns
        .into_iter()
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect()
}

fn user_blocks(m: &Message) -> Vec<Value> {
    let mut blocks = Vec::new();
    for a in &m.attachments {
        let block_type = match a.kind {
            MediaKind::Image => "image",
            MediaKind::Document if a.mime_type == "application/pdf" => "document",
            // Audio, video and other documents have no Messages block.
            _ => continue,
        };
        let source = match (&a.data, &a.url) {
            (Some(data), _) => json!({"type": "base64", "media_type": a.mime_type, "data": data}),
            (None, Some(url)) => json!({"type": "url", "url": url}),
            (None, None) => continue,
        };
        blocks.push(json!({"type": block_type, "source": source}));
    }
    // Text after media, as Anthropic recommends; empty text blocks are rejected.
    if !m.text.trim().is_empty() {
        blocks.push(json!({"type": "text", "text": m.text}));
    }
    blocks
}

fn assistant_blocks(m: &Message, thinking: bool) -> Vec<Value> {
    let mut blocks = Vec::new();
    if thinking && let (Some(text), Some(signature)) = (&m.reasoning, &m.reasoning_signature) {
        blocks.push(json!({"type": "thinking", "thinking": text, "signature": signature}));
    }
    if !m.text.trim().is_empty() {
        blocks.push(json!({"type": "text", "text": m.text}));
    }
    for call in &m.tool_calls {
        let input = serde_json::from_str::<Value>(&call.arguments)
            .ok()
            .filter(Value::is_object)
            .unwrap_or_else(|| json!({}));
        blocks.push(json!({"type": "tool_use", "id": call.id, "name": call.name, "input": input}));
    }
    blocks
}

fn tool_result_block(m: &Message) -> Value {
    let mut block = json!({
        "type": "tool_result",
        "tool_use_id": m.tool_call_id,
        "content": m.text,
    });
    if m.is_error {
        block["is_error"] = json!(true);
    }
    block
}

/// Stream state: what the blocks seen so far are, and the usage so far.
#[derive(Default)]
struct StreamState {
    /// Content block indexes that are the structured-response tool.
    respond_blocks: HashSet<usize>,
    usage: Usage,
    stopped: bool,
}

impl StreamState {
    /// Turns one SSE event into deltas.
    fn on_event(&mut self, event: &str, data: &str) -> Result<Vec<ModelDelta>, ModelError> {
        if event == "ping" || data.trim().is_empty() {
            return Ok(Vec::new());
        }
        let v: Value = serde_json::from_str(data).map_err(|e| {
            ModelError::Malformed(format!(
                "{e}: {}",
                data.chars().take(200).collect::<String>()
            ))
        })?;
        let kind = v
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or(event)
            .to_string();
        let index = || {
            v.get("index")
                .and_then(Value::as_u64)
                .map(|i| i as usize)
                .ok_or_else(|| ModelError::Malformed(format!("{kind} without an index")))
        };
        let mut out = Vec::new();
        match kind.as_str() {
            "message_start" => {
                if let Some(u) = v.pointer("/message/usage") {
                    self.add_usage(u);
                }
            }
            "content_block_start" => {
                let block = v.get("content_block").unwrap_or(&Value::Null);
                match block.get("type").and_then(Value::as_str) {
                    Some("tool_use") => {
                        let name = block.get("name").and_then(Value::as_str).unwrap_or("");
                        if name == RESPOND_TOOL {
                            self.respond_blocks.insert(index()?);
                        } else {
                            out.push(ModelDelta::ToolCall {
                                index: index()?,
                                id: block.get("id").and_then(Value::as_str).map(str::to_string),
                                name: Some(name.to_string()),
                                arguments: String::new(),
                            });
                        }
                    }
                    Some("text") => {
                        if let Some(t) = block.get("text").and_then(Value::as_str)
                            && !t.is_empty()
                        {
                            out.push(ModelDelta::Text(t.into()));
                        }
                    }
                    Some("thinking") => {
                        if let Some(t) = block.get("thinking").and_then(Value::as_str)
                            && !t.is_empty()
                        {
                            out.push(ModelDelta::Reasoning(t.into()));
                        }
                    }
                    // redacted_thinking and future block types carry nothing to show.
                    _ => {}
                }
            }
            "content_block_delta" => {
                let delta = v.get("delta").unwrap_or(&Value::Null);
                let text = |key: &str| {
                    delta
                        .get(key)
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string()
                };
                match delta.get("type").and_then(Value::as_str) {
                    Some("text_delta") => out.push(ModelDelta::Text(text("text").into())),
                    Some("thinking_delta") => {
                        out.push(ModelDelta::Reasoning(text("thinking").into()))
                    }
                    Some("signature_delta") => {
                        out.push(ModelDelta::ReasoningSignature(text("signature")))
                    }
                    Some("input_json_delta") => {
                        let index = index()?;
                        let json = text("partial_json");
                        if self.respond_blocks.contains(&index) {
                            out.push(ModelDelta::Text(json.into()));
                        } else {
                            out.push(ModelDelta::ToolCall {
                                index,
                                id: None,
                                name: None,
                                arguments: json,
                            });
                        }
                    }
                    // citations and future deltas: nothing to show.
                    _ => {}
                }
                out.retain(|d| !matches!(d, ModelDelta::Text(t) | ModelDelta::Reasoning(t) if t.is_empty()));
            }
            "message_delta" => {
                if let Some(u) = v.get("usage") {
                    self.add_usage(u);
                }
                out.push(ModelDelta::Usage(self.usage));
            }
            "message_stop" => self.stopped = true,
            "error" => return Err(stream_error(&v)),
            // content_block_stop and unknown events need no action.
            _ => {}
        }
        Ok(out)
    }

    /// Anthropic reports input once (message_start) and output cumulatively.
    fn add_usage(&mut self, u: &Value) {
        let n = |k: &str| u.get(k).and_then(Value::as_u64);
        let input: u64 = [
            "input_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
        ]
        .iter()
        .filter_map(|k| n(k))
        .sum();
        if input > 0 {
            self.usage.input_tokens = input;
        }
        if let Some(out) = n("output_tokens") {
            self.usage.output_tokens = out;
        }
        self.usage.total_tokens = self.usage.input_tokens + self.usage.output_tokens;
    }
}

/// An `error` event inside a 200 stream, typed like its HTTP counterpart.
fn stream_error(v: &Value) -> ModelError {
    let message = v
        .pointer("/error/message")
        .and_then(Value::as_str)
        .unwrap_or("error in stream")
        .to_string();
    match v.pointer("/error/type").and_then(Value::as_str) {
        Some("overloaded_error") => ModelError::Overloaded {
            status: 529,
            message,
            retry_after_secs: None,
        },
        Some("rate_limit_error") => ModelError::RateLimited {
            message,
            retry_after_secs: None,
        },
        Some("authentication_error") => ModelError::Auth {
            status: 401,
            message,
        },
        Some("permission_error") => ModelError::Auth {
            status: 403,
            message,
        },
        Some("invalid_request_error") => ModelError::BadRequest {
            status: 400,
            message,
        },
        Some("request_too_large") => ModelError::BadRequest {
            status: 413,
            message,
        },
        Some("timeout_error") => ModelError::Timeout(message),
        _ => ModelError::Upstream {
            status: 500,
            message,
        },
    }
}

#[async_trait]
impl Model for AnthropicModel {
    fn name(&self) -> &str {
        &self.model
    }

    fn provider(&self) -> &str {
        "Anthropic"
    }

    async fn stream(&self, request: ModelRequest) -> Result<ModelStream, ModelError> {
        let body = self.body(&request);
        let resp = self
            .transport
            .send(|client| {
                let req = client
                    .post(&self.url)
                    .header("anthropic-version", &self.version)
                    .json(&body);
                match &self.api_key {
                    Some(key) => req.header("x-api-key", key),
                    None => req,
                }
            })
            .await?;
        let mut events = self.transport.events(resp);
        let stream = async_stream::try_stream! {
            let mut state = StreamState::default();
            while let Some(event) = events.next().await {
                let event = event?;
                for delta in state.on_event(&event.event, &event.data)? {
                    yield delta;
                }
                if state.stopped {
                    break;
                }
            }
            if !state.stopped {
                Err(ModelError::StreamCut("connection closed before message_stop".into()))?;
            }
        };
        Ok(stream.boxed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Attachment, ToolCall};
    use crate::models::{ModelSettings, ResponseFormat};

    fn model() -> AnthropicModel {
        let cfg: ModelConfig = toml::from_str(
            r#"provider = "anthropic"
               model = "claude-test""#,
        )
        .unwrap();
        AnthropicModel::new(&cfg).unwrap()
    }

    #[test]
    fn conversation_becomes_alternating_block_turns() {
        let mut user = Message::user("what is this?");
        user.attachments.push(Attachment {
            kind: MediaKind::Image,
            mime_type: "image/png".into(),
            name: None,
            data: Some("AAAA".into()),
            url: None,
        });
        let mut assistant = Message::new(Role::Assistant, "");
        assistant.tool_calls = vec![
            ToolCall {
                id: "t1".into(),
                name: "a".into(),
                arguments: r#"{"x":1}"#.into(),
            },
            ToolCall {
                id: "t2".into(),
                name: "b".into(),
                arguments: String::new(),
            },
        ];
        let messages = vec![
            Message::new(Role::System, "Be brief."),
            user,
            assistant,
            Message::tool_result("t1", "a", "one", false),
            Message::tool_result("t2", "b", "bad", true),
        ];
        let body = model().body(&ModelRequest {
            messages: messages.clone(),
            ..Default::default()
        });
        assert_eq!(body["system"], "Be brief.");
        assert_eq!(body["max_tokens"], ANTHROPIC_DEFAULT_MAX_TOKENS);
        let turns = body["messages"].as_array().unwrap();
        assert_eq!(turns.len(), 3);
        assert_eq!(turns[0]["content"][0]["type"], "image");
        assert_eq!(turns[0]["content"][0]["source"]["type"], "base64");
        assert_eq!(turns[0]["content"][1]["text"], "what is this?");
        assert_eq!(turns[1]["content"][0]["input"], json!({"x": 1}));
        assert_eq!(turns[1]["content"][1]["input"], json!({}));
        assert_eq!(turns[2]["role"], "user");
        assert_eq!(turns[2]["content"][1]["is_error"], true);
    }

    #[test]
    fn response_schema_forces_the_respond_tool() {
        let body = model().body(&ModelRequest {
            messages: vec![Message::user("hi")],
            settings: ModelSettings {
                response_format: Some(ResponseFormat {
                    name: "r".into(),
                    schema: json!({"type": "object"}),
                    strict: true,
                }),
                ..Default::default()
            },
            ..Default::default()
        });
        assert_eq!(body["tool_choice"]["name"], RESPOND_TOOL);
        assert_eq!(body["tools"][0]["name"], RESPOND_TOOL);
    }

    #[test]
    fn agent_settings_override_the_model() {
        let body = model().body(&ModelRequest {
            messages: vec![Message::user("hi")],
            settings: ModelSettings {
                temperature: Some(1.5),
                max_tokens: Some(100),
                stop: Some(vec!["END".into()]),
                response_format: None,
            },
            ..Default::default()
        });
        // Anthropic's temperature range is 0..1.
        assert_eq!(body["temperature"], 1.0);
        assert_eq!(body["max_tokens"], 100);
        assert_eq!(body["stop_sequences"], json!(["END"]));
        assert!(body.get("tool_choice").is_none());
    }

    #[test]
    fn stream_events_become_deltas() {
        let mut s = StreamState::default();
        s.on_event(
            "message_start",
            r#"{"type":"message_start","message":{"usage":{"input_tokens":10,"output_tokens":1}}}"#,
        )
        .unwrap();
        let d = s
            .on_event(
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}"#,
            )
            .unwrap();
        assert_eq!(d, vec![ModelDelta::Reasoning("hmm".into())]);
        let d = s
            .on_event(
                "content_block_start",
                r#"{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"tu","name":"calc","input":{}}}"#,
            )
            .unwrap();
        assert!(matches!(&d[0], ModelDelta::ToolCall { index: 2, id: Some(id), .. } if id == "tu"));
        let d = s
            .on_event(
                "message_delta",
                r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":7}}"#,
            )
            .unwrap();
        assert!(
            matches!(d[0], ModelDelta::Usage(u) if u.input_tokens == 10 && u.total_tokens == 17)
        );
        let err = s
            .on_event(
                "error",
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            )
            .unwrap_err();
        assert!(matches!(err, ModelError::Overloaded { .. }));
        assert!(matches!(
            s.on_event("content_block_delta", "{oops"),
            Err(ModelError::Malformed(_))
        ));
    }
}
