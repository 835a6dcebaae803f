//! OpenAI-compatible chat completions over reqwest, streamed.
//!
//! One client covers OpenAI, Ollama, vLLM, llama.cpp server, LM Studio, Groq
//! and OpenRouter: they differ only in base URL and key. Tool-call fragments
//! are passed on as they arrive; the engine assembles them.

use std::borrow::Cow;

use async_trait::async_trait;
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::Transport;
use super::{Model, ModelDelta, ModelError, ModelRequest, ModelStream};
use crate::config::ModelConfig;
use crate::domain::{Attachment, MediaKind, Message, Role, Usage};

const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

pub struct OpenAiModel {
    transport: Transport,
    url: String,
    api_key: Option<String>,
    model: String,
    temperature: Option<f32>,
    max_tokens: Option<u32>,
    stop: Option<Vec<String>>,
}

impl OpenAiModel {
    pub fn new(cfg: &ModelConfig) -> Result<Self, String> {
        let base = cfg
            .base_url
            .as_deref()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or(DEFAULT_BASE_URL)
            .trim_end_matches('/');
        Ok(Self {
            transport: Transport::new(cfg)?,
            url: format!("{base}/chat/completions"),
            api_key: cfg.api_key.clone().filter(|k| !k.trim().is_empty()),
            model: cfg.model.clone().unwrap_or_default(),
            temperature: cfg.temperature,
            max_tokens: cfg.max_tokens,
            stop: cfg.stop.clone(),
        })
    }

    fn body(&self, request: &ModelRequest) -> Value {
        let mut body = json!({
            "model": self.model,
            "messages": request.messages.iter().map(wire_message).collect::<Vec<_>>(),
            "stream": true,
            "stream_options": {"include_usage": true},
        });
        if !request.tools.is_empty() {
            body["tools"] = request
                .tools
                .iter()
                .map(|t| {
                    json!({"type": "function", "function": {
                        "name": t.name, "description": t.description, "parameters": t.parameters}})
                })
                .collect();
        }
        let settings = &request.settings;
        if let Some(t) = settings.temperature.or(self.temperature) {
            body["temperature"] = json!(t);
        }
        if let Some(m) = settings.max_tokens.or(self.max_tokens) {
            body["max_tokens"] = json!(m);
        }
        if let Some(stop) = settings.stop.as_ref().or(self.stop.as_ref()) {
            body["stop"] = json!(stop);
        }
        if let Some(format) = &settings.response_format {
            body["response_format"] = json!({
                "type": "json_schema",
                "json_schema": {
                    "name": format.name,
                    "schema": format.schema,
                    "strict": format.strict,
                },
            });
        }
        body
    }
}

fn wire_message(m: &Message) -> Value {
    match m.role {
        Role::System => json!({"role": "system", "content": m.text}),
        Role::User => {
            let media: Vec<Value> = m.attachments.iter().filter_map(media_part).collect();
            if media.is_empty() {
                json!({"role": "user", "content": m.text})
            } else {
                let mut parts = vec![json!({"type": "text", "text": m.text})];
                parts.extend(media);
                json!({"role": "user", "content": parts})
            }
        }
        Role::Assistant => {
            let mut msg = json!({"role": "assistant", "content": m.text});
            if !m.tool_calls.is_empty() {
                msg["tool_calls"] = m
                    .tool_calls
                    .iter()
                    .map(|c| {
                        json!({"id": c.id, "type": "function",
                               "function": {"name": c.name, "arguments": c.arguments}})
                    })
                    .collect();
                if m.text.is_empty() {
                    msg["content"] = Value::Null;
                }
            }
            msg
        }
        Role::Tool => json!({
            "role": "tool",
            "tool_call_id": m.tool_call_id,
            "content": m.text,
        }),
    }
}

/// An image or audio attachment as a content part. Documents are not parts:
/// the engine has already put their text into the message.
fn media_part(a: &Attachment) -> Option<Value> {
    match a.kind {
        MediaKind::Image => {
            let url = match (&a.url, &a.data) {
                (Some(url), _) => url.clone(),
                (None, Some(data)) => format!("data:{};base64,{data}", a.mime_type),
                (None, None) => return None,
            };
            Some(json!({"type": "image_url", "image_url": {"url": url}}))
        }
        MediaKind::Audio => {
            let format = audio_format(&a.mime_type)?;
            let data = a.data.as_ref()?;
            Some(json!({"type": "input_audio", "input_audio": {"data": data, "format": format}}))
        }
        MediaKind::Video | MediaKind::Document => None,
    }
}

/// The `input_audio` format name of an audio type, for the two it takes.
fn audio_format(mime_type: &str) -> Option<&'static str> {
    match mime_type {
        "audio/wav" | "audio/x-wav" | "audio/wave" => Some("wav"),
        "audio/mpeg" | "audio/mp3" => Some("mp3"),
        _ => None,
    }
}

/// The parts of a stream chunk agentd reads, borrowed from its text where
/// they need no unescaping. Everything else in the chunk is skipped unread.
#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(default)]
    error: Option<Value>,
    #[serde(default, borrow)]
    choices: Vec<Choice<'a>>,
    #[serde(default)]
    usage: Option<Value>,
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(default, borrow)]
    delta: Option<Delta<'a>>,
    /// Any value but null (`None`) means the model has finished.
    #[serde(default)]
    finish_reason: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(default, borrow)]
    content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    reasoning_content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    reasoning: Option<Cow<'a, str>>,
    #[serde(default)]
    tool_calls: Option<Vec<Value>>,
}

/// Turns one chunk of the stream into deltas, and says whether it carries
/// a finish reason. Every token passes here, so a chunk is read in one
/// typed pass rather than as a JSON tree; a chunk of unusual shape (a field
/// of an unexpected type) is read as a tree instead, as leniently as ever.
fn parse_chunk(data: &str) -> Result<(Vec<ModelDelta>, bool), ModelError> {
    let chunk: Chunk = match serde_json::from_str(data) {
        Ok(chunk) => chunk,
        Err(_) => return parse_tree(data),
    };
    if let Some(err) = &chunk.error {
        return Err(stream_error(err));
    }
    let mut out = Vec::new();
    let mut finished = false;
    if let Some(choice) = chunk.choices.into_iter().next() {
        finished = choice.finish_reason.is_some();
        if let Some(delta) = choice.delta {
            for r in [delta.reasoning_content, delta.reasoning]
                .into_iter()
                .flatten()
            {
                if !r.is_empty() {
                    out.push(ModelDelta::Reasoning(r.into()));
                }
            }
            if let Some(t) = delta.content.filter(|t| !t.is_empty()) {
                out.push(ModelDelta::Text(t.into()));
            }
            if let Some(calls) = &delta.tool_calls {
                tool_call_deltas(calls, &mut out);
            }
        }
    }
    if let Some(usage) = chunk.usage.as_ref().filter(|u| u.is_object()) {
        out.push(ModelDelta::Usage(usage_of(usage)));
    }
    Ok((out, finished))
}

/// `parse_chunk` for a chunk the typed pass could not read.
fn parse_tree(data: &str) -> Result<(Vec<ModelDelta>, bool), ModelError> {
    let chunk: Value = serde_json::from_str(data)
        .map_err(|e| ModelError::Malformed(format!("{e}: {}", truncate(data))))?;
    if let Some(err) = chunk.get("error") {
        return Err(stream_error(err));
    }
    let mut out = Vec::new();
    let mut finished = false;
    if let Some(choice) = chunk.pointer("/choices/0") {
        finished = choice.get("finish_reason").is_some_and(|f| !f.is_null());
        let delta = choice.get("delta").unwrap_or(&Value::Null);
        for key in ["reasoning_content", "reasoning"] {
            if let Some(r) = delta.get(key).and_then(Value::as_str)
                && !r.is_empty()
            {
                out.push(ModelDelta::Reasoning(r.into()));
            }
        }
        if let Some(t) = delta.get("content").and_then(Value::as_str)
            && !t.is_empty()
        {
            out.push(ModelDelta::Text(t.into()));
        }
        if let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) {
            tool_call_deltas(calls, &mut out);
        }
    }
    if let Some(usage) = chunk.get("usage").filter(|u| u.is_object()) {
        out.push(ModelDelta::Usage(usage_of(usage)));
    }
    Ok((out, finished))
}

/// An `error` object sent inside the stream.
fn stream_error(err: &Value) -> ModelError {
    let message = err
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("error in stream")
        .to_string();
    ModelError::Upstream {
        status: 500,
        message,
    }
}

fn tool_call_deltas(calls: &[Value], out: &mut Vec<ModelDelta>) {
    for (pos, call) in calls.iter().enumerate() {
        let index = call
            .get("index")
            .and_then(Value::as_u64)
            .map_or(pos, |i| i as usize);
        out.push(ModelDelta::ToolCall {
            index,
            id: call.get("id").and_then(Value::as_str).map(str::to_string),
            name: call
                .pointer("/function/name")
                .and_then(Value::as_str)
                .map(str::to_string),
            arguments: call
                .pointer("/function/arguments")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        });
    }
}

fn usage_of(usage: &Value) -> Usage {
    let n = |k: &str| usage.get(k).and_then(Value::as_u64).unwrap_or(0);
    Usage {
        input_tokens: n("prompt_tokens"),
        output_tokens: n("completion_tokens"),
        total_tokens: n("total_tokens"),
        reasoning_tokens: usage
            .pointer("/completion_tokens_details/reasoning_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0),
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(200).collect()
}

#[async_trait]
impl Model for OpenAiModel {
    fn name(&self) -> &str {
        &self.model
    }

    fn provider(&self) -> &str {
        "OpenAI"
    }

    /// Images as `image_url` parts; audio as `input_audio`, which takes WAV
    /// and MP3 only. Whether the upstream model really listens is its own
    /// business: a text-only model answers 400, which fails the run clearly.
    fn accepts(&self, kind: MediaKind, mime_type: &str) -> bool {
        match kind {
            MediaKind::Image => super::COMMON_IMAGE_TYPES.contains(&mime_type),
            MediaKind::Audio => audio_format(mime_type).is_some(),
            MediaKind::Video | MediaKind::Document => false,
        }
    }

    async fn stream(&self, request: ModelRequest) -> Result<ModelStream, ModelError> {
        let body = self.body(&request);
        let resp = self
            .transport
            .send(|client| {
                let req = client.post(&self.url).json(&body);
                match &self.api_key {
                    Some(key) => req.bearer_auth(key),
                    None => req,
                }
            })
            .await?;
        let mut events = self.transport.events(resp);
        let stream = async_stream::try_stream! {
            let mut saw_finish = false;
            loop {
                let Some(event) = events.next().await else {
                    if saw_finish {
                        break;
                    }
                    Err(ModelError::StreamCut("connection closed before [DONE]".into()))?;
                    break;
                };
                let event = event?;
                let data = event.data.trim();
                if data.is_empty() {
                    continue;
                }
                if data == "[DONE]" {
                    break;
                }
                let (deltas, finished) = parse_chunk(data)?;
                saw_finish |= finished;
                for delta in deltas {
                    yield delta;
                }
            }
        };
        Ok(stream.boxed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_text_tool_and_usage_chunks() {
        let (d, finished) = parse_chunk(r#"{"choices":[{"delta":{"content":"Hi"}}]}"#).unwrap();
        assert_eq!(d, vec![ModelDelta::Text("Hi".into())]);
        assert!(!finished);
        let d = parse_chunk(
            r#"{"choices":[{"delta":{"tool_calls":[{"index":1,"id":"c","function":{"name":"f","arguments":"{"}}]}}]}"#,
        )
        .unwrap()
        .0;
        assert_eq!(
            d,
            vec![ModelDelta::ToolCall {
                index: 1,
                id: Some("c".into()),
                name: Some("f".into()),
                arguments: "{".into()
            }]
        );
        let d = parse_chunk(
            r#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#,
        )
        .unwrap()
        .0;
        assert!(matches!(d[0], ModelDelta::Usage(u) if u.total_tokens == 5));
        assert!(matches!(
            parse_chunk("{nope"),
            Err(ModelError::Malformed(_))
        ));
    }

    #[test]
    fn reads_finish_escapes_errors_and_odd_shapes() {
        let (d, finished) = parse_chunk(
            r#"{"choices":[{"index":0,"delta":{"content":"a\"b\n"},"finish_reason":"stop"}]}"#,
        )
        .unwrap();
        assert_eq!(d, vec![ModelDelta::Text("a\"b\n".into())]);
        assert!(finished);
        let (_, finished) =
            parse_chunk(r#"{"choices":[{"delta":{},"finish_reason":null}]}"#).unwrap();
        assert!(!finished);
        assert!(matches!(
            parse_chunk(r#"{"error":{"message":"overloaded"}}"#),
            Err(ModelError::Upstream { message, .. }) if message == "overloaded"
        ));
        // A field of an unexpected type is skipped, not fatal.
        let (d, _) =
            parse_chunk(r#"{"choices":[{"delta":{"content":"x","reasoning":7}}],"usage":null}"#)
                .unwrap();
        assert_eq!(d, vec![ModelDelta::Text("x".into())]);
    }
}
