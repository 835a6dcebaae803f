//! `builtin`: a deterministic model that needs no network.
//!
//! It lets the default config answer on a fresh machine and gives tests a
//! model whose every word is known. Its behaviour, from the last message:
//!
//! - tool results: "The <tool> tool returned: <result>." for each result;
//! - `/tool NAME {json}`: calls tool NAME with those arguments, if offered;
//! - `/fail TEXT`: fails as an upstream HTTP 500 with TEXT;
//! - `/think TEXT`: streams "TEXT" as reasoning, then answers "Done thinking.";
//! - with a response schema, a message that is JSON: answers that JSON as is
//!   (so structured output can be tried offline; it is validated like any);
//! - anything else: "You said: <text>", plus what it remembers of earlier
//!   user turns and the names of attached files, so history is visible.
//!
//! Replies stream word by word, `token_delay_ms` apart.

use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;

use super::{Model, ModelDelta, ModelError, ModelRequest, ModelStream};
use crate::config::ModelConfig;
use crate::domain::{Message, Role, Usage};

pub struct BuiltinModel {
    name: String,
    token_delay: Duration,
}

impl BuiltinModel {
    pub fn new(cfg: &ModelConfig) -> Self {
        Self {
            // Under `auto` the configured name belongs to the remote model it stands in for.
            name: match cfg.provider {
                crate::config::Provider::Builtin => cfg.model.clone(),
                _ => None,
            }
            .unwrap_or_else(|| "builtin".to_string()),
            token_delay: Duration::from_millis(cfg.token_delay_ms),
        }
    }
}

enum Plan {
    Reply(String),
    Think(String),
    CallTool { name: String, arguments: String },
}

fn plan(request: &ModelRequest) -> Result<Plan, ModelError> {
    let messages = &request.messages;
    let Some(last) = messages.iter().rev().find(|m| m.role != Role::System) else {
        return Ok(Plan::Reply("Hello! I am agentd's built-in model.".into()));
    };
    if last.role == Role::Tool {
        let results: Vec<String> = messages
            .iter()
            .rev()
            .take_while(|m| m.role == Role::Tool)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .map(|m| {
                format!(
                    "The {} tool returned: {}.",
                    m.name.as_deref().unwrap_or("tool"),
                    m.text
                )
            })
            .collect();
        return Ok(Plan::Reply(results.join(" ")));
    }
    let text = last.text.trim();
    if let Some(rest) = text.strip_prefix("/tool ") {
        let rest = rest.trim();
        let (name, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, "{}"));
        if !request.tools.iter().any(|t| t.name == name) {
            return Ok(Plan::Reply(format!("I have no tool named {name}.")));
        }
        return Ok(Plan::CallTool {
            name: name.to_string(),
            arguments: args.trim().to_string(),
        });
    }
    if let Some(rest) = text.strip_prefix("/fail") {
        return Err(ModelError::Upstream {
            status: 500,
            message: rest.trim().to_string(),
        });
    }
    if let Some(rest) = text.strip_prefix("/think") {
        return Ok(Plan::Think(rest.trim().to_string()));
    }
    if request.settings.response_format.is_some()
        && serde_json::from_str::<serde_json::Value>(text).is_ok()
    {
        return Ok(Plan::Reply(text.to_string()));
    }
    Ok(Plan::Reply(echo(messages, last)))
}

fn echo(messages: &[Message], last: &Message) -> String {
    let mut reply = format!("You said: {}", last.text.trim());
    let earlier: Vec<&Message> = messages
        .iter()
        .filter(|m| m.role == Role::User && m.id != last.id)
        .collect();
    if let Some(prev) = earlier.last() {
        reply.push_str(&format!(
            " (message {} of this conversation; before that you said: \"{}\")",
            earlier.len() + 1,
            prev.text.trim()
        ));
    }
    if !last.attachments.is_empty() {
        let names: Vec<String> = last
            .attachments
            .iter()
            .map(|a| {
                format!(
                    "{} ({})",
                    a.name.as_deref().unwrap_or("unnamed"),
                    a.mime_type
                )
            })
            .collect();
        reply.push_str(&format!(" I received: {}.", names.join(", ")));
    }
    reply
}

fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        current.push(c);
        if c == ' ' {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn count_tokens(messages: &[Message]) -> u64 {
    messages
        .iter()
        .map(|m| m.text.split_whitespace().count() as u64 + 1)
        .sum()
}

#[async_trait]
impl Model for BuiltinModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn provider(&self) -> &str {
        "builtin"
    }

    /// It only lists what it received, so any image or audio will do.
    fn accepts(&self, kind: crate::domain::MediaKind, _mime_type: &str) -> bool {
        matches!(
            kind,
            crate::domain::MediaKind::Image | crate::domain::MediaKind::Audio
        )
    }

    async fn stream(&self, request: ModelRequest) -> Result<ModelStream, ModelError> {
        let plan = plan(&request)?;
        let input_tokens = count_tokens(&request.messages);
        let mut deltas = Vec::new();
        let output_tokens;
        match plan {
            Plan::Reply(text) => {
                let w = words(&text);
                output_tokens = w.len() as u64;
                deltas.extend(w.into_iter().map(|w| ModelDelta::Text(w.into())));
            }
            Plan::Think(thought) => {
                let w = words(&thought);
                output_tokens = w.len() as u64 + 2;
                deltas.extend(w.into_iter().map(|w| ModelDelta::Reasoning(w.into())));
                deltas.extend(
                    words("Done thinking.")
                        .into_iter()
                        .map(|w| ModelDelta::Text(w.into())),
                );
            }
            Plan::CallTool { name, arguments } => {
                let calls_so_far = request
                    .messages
                    .iter()
                    .map(|m| m.tool_calls.len())
                    .sum::<usize>();
                output_tokens = 1 + arguments.split_whitespace().count() as u64;
                // Two argument fragments, as real models stream them.
                let split = arguments
                    .char_indices()
                    .nth(arguments.chars().count() / 2)
                    .map_or(arguments.len(), |(i, _)| i);
                deltas.push(ModelDelta::ToolCall {
                    index: 0,
                    id: Some(format!("call_{}", calls_so_far + 1)),
                    name: Some(name),
                    arguments: arguments[..split].to_string(),
                });
                if split < arguments.len() {
                    deltas.push(ModelDelta::ToolCall {
                        index: 0,
                        id: None,
                        name: None,
                        arguments: arguments[split..].to_string(),
                    });
                }
            }
        }
        deltas.push(ModelDelta::Usage(Usage {
            input_tokens,
            output_tokens,
            total_tokens: input_tokens + output_tokens,
            reasoning_tokens: 0,
        }));
        let delay = self.token_delay;
        Ok(futures::stream::iter(deltas)
            .then(move |d| async move {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                Ok(d)
            })
            .boxed())
    }
}
