//! One model turn of a run: the request sent to the agent's model (or,
//! when it fails before any output, to its fallback), its streamed reply
//! turned into events as it comes (text, reasoning, tool-call arguments,
//! usage), and the assistant message it amounts to.
//!
//! The agent loop (`agent_loop`) decides what to do with the message; this
//! module never runs tools or looks at the agent's config.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;

use super::agent_loop::StepError;
use super::live::LiveRun;
use crate::domain::{
    EventKind, FailureKind, Message, ModelRequestCompletedData, Role, RunFailure, ToolCall,
    ToolCallStartedData, Usage, new_id,
};
use crate::models::{Model, ModelDelta, ModelError, ModelRequest};

pub(super) struct Turn {
    pub message: Message,
}

/// How a model turn failed, and whether anything had been streamed yet.
pub(super) enum TurnError {
    Cancelled,
    Model { error: ModelError, started: bool },
}

impl From<TurnError> for StepError {
    fn from(e: TurnError) -> Self {
        match e {
            TurnError::Cancelled => StepError::Cancelled,
            TurnError::Model { error, .. } => error.into(),
        }
    }
}

/// One model turn on the first of `models` that answers: a later model
/// takes over only when the one before failed with an availability fault
/// before streaming anything (output already shown cannot be taken back).
pub(super) async fn model_turn(
    live: &LiveRun,
    models: &[&dyn Model],
    request: ModelRequest,
) -> Result<Turn, StepError> {
    let mut models = models.iter().peekable();
    let mut request = request;
    while let Some(model) = models.next() {
        // A copy only for a model that may hand over to another: the
        // request (the whole transcript) is otherwise held twice for as
        // long as the reply streams.
        let attempt = match models.peek() {
            Some(_) => request.clone(),
            None => std::mem::take(&mut request),
        };
        match stream_turn(live, *model, attempt).await {
            Ok(turn) => return Ok(turn),
            Err(TurnError::Model {
                error,
                started: false,
            }) if error.allows_fallback() && models.peek().is_some() => {
                tracing::warn!(
                    model = model.name(),
                    error = %error,
                    "model failed before any output; trying the fallback model"
                );
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(StepError::Failed(RunFailure {
        kind: FailureKind::Internal,
        message: "the agent has no model".to_string(),
    }))
}

/// One model call, streamed into events. Returns the assistant message.
async fn stream_turn(
    live: &LiveRun,
    model: &dyn Model,
    request: ModelRequest,
) -> Result<Turn, TurnError> {
    let (name, provider) = (model.name().to_string(), model.provider().to_string());
    live.emit(EventKind::ModelRequestStarted {
        model: name.clone(),
        provider: provider.clone(),
    });
    let requested = Instant::now();
    let mut stream = tokio::select! {
        biased;
        _ = live.cancel.cancelled() => return Err(TurnError::Cancelled),
        s = model.stream(request) => s.map_err(|error| TurnError::Model { error, started: false })?,
    };

    // (message id, text so far): the id is shared by the message's deltas.
    let mut text: Option<(Arc<str>, String)> = None;
    let mut reasoning: Option<(Arc<str>, String)> = None;
    let mut finished_text = String::new();
    let mut parent_message_id: Option<String> = None;
    // index -> (id, name, arguments, announced)
    let mut calls: BTreeMap<usize, (String, String, String, bool)> = BTreeMap::new();
    let mut usage = Usage::default();
    let mut first_token: Option<u64> = None;
    let mut all_reasoning = String::new();
    let mut signature: Option<String> = None;

    // One wait for the cancel switch for the whole reply, not one per token.
    let cancelled = live.cancel.cancelled();
    tokio::pin!(cancelled);
    loop {
        let delta = tokio::select! {
            biased;
            _ = &mut cancelled => return Err(TurnError::Cancelled),
            d = stream.next() => d,
        };
        let Some(delta) = delta else { break };
        let delta = delta.map_err(|error| TurnError::Model {
            error,
            started: first_token.is_some(),
        })?;
        if first_token.is_none()
            && !matches!(
                delta,
                ModelDelta::Usage(_) | ModelDelta::ReasoningSignature(_)
            )
        {
            first_token = Some(requested.elapsed().as_millis() as u64);
        }
        match delta {
            ModelDelta::Text(t) => {
                close_reasoning(live, &mut reasoning);
                let (id, buf) = text.get_or_insert_with(|| {
                    let id = new_id();
                    live.emit(EventKind::MessageStarted {
                        message_id: id.clone(),
                    });
                    (id.into(), String::new())
                });
                buf.push_str(&t);
                live.emit(EventKind::TextDelta {
                    message_id: id.clone(),
                    delta: t,
                });
            }
            ModelDelta::Reasoning(r) => {
                let (id, buf) = reasoning.get_or_insert_with(|| {
                    let id = new_id();
                    live.emit(EventKind::ReasoningStarted {
                        message_id: id.clone(),
                    });
                    (id.into(), String::new())
                });
                buf.push_str(&r);
                all_reasoning.push_str(&r);
                live.emit(EventKind::ReasoningDelta {
                    message_id: id.clone(),
                    delta: r,
                });
            }
            ModelDelta::ToolCall {
                index,
                id,
                name,
                arguments,
            } => {
                let entry = calls
                    .entry(index)
                    .or_insert_with(|| (String::new(), String::new(), String::new(), false));
                if let Some(id) = id.filter(|s| !s.is_empty()) {
                    entry.0 = id;
                }
                if let Some(n) = name {
                    entry.1.push_str(&n);
                }
                if !entry.3 && !entry.1.is_empty() {
                    // A tool call never interleaves with an open text message.
                    close_reasoning(live, &mut reasoning);
                    if let Some((id, buf)) = text.take() {
                        finished_text.push_str(&buf);
                        live.emit(EventKind::MessageCompleted {
                            message_id: id.to_string(),
                            text: buf,
                        });
                        parent_message_id = Some(id.to_string());
                    }
                    if entry.0.is_empty() {
                        entry.0 = format!("call_{}", new_id().replace('-', ""));
                    }
                    entry.3 = true;
                    live.emit(EventKind::ToolCallStarted(Box::new(ToolCallStartedData {
                        call_id: entry.0.clone(),
                        name: entry.1.clone(),
                        parent_message_id: parent_message_id.clone(),
                    })));
                    if !entry.2.is_empty() {
                        live.emit(EventKind::ToolCallArgs {
                            call_id: entry.0.as_str().into(),
                            delta: entry.2.as_str().into(),
                        });
                    }
                }
                entry.2.push_str(&arguments);
                if entry.3 && !arguments.is_empty() {
                    live.emit(EventKind::ToolCallArgs {
                        call_id: entry.0.as_str().into(),
                        delta: arguments.into(),
                    });
                }
            }
            ModelDelta::ReasoningSignature(s) => signature = Some(s),
            ModelDelta::Usage(u) => usage = u,
        }
    }
    close_reasoning(live, &mut reasoning);
    let message_id = match text.take() {
        Some((id, buf)) => {
            finished_text.push_str(&buf);
            live.emit(EventKind::MessageCompleted {
                message_id: id.to_string(),
                text: buf,
            });
            id.to_string()
        }
        None => parent_message_id.unwrap_or_else(new_id),
    };
    super::metrics::model_request(&provider, &name, requested.elapsed(), &usage);
    live.emit(EventKind::ModelRequestCompleted(Box::new(
        ModelRequestCompletedData {
            model: name,
            provider,
            usage,
            time_to_first_token_ms: first_token,
        },
    )));
    let tool_calls: Vec<ToolCall> = calls
        .into_values()
        .filter(|(_, name, _, _)| !name.is_empty())
        .map(|(id, name, arguments, _)| ToolCall {
            id,
            name,
            arguments,
        })
        .collect();
    let mut message = Message::new(Role::Assistant, finished_text);
    message.id = message_id;
    message.tool_calls = tool_calls;
    message.reasoning = (!all_reasoning.is_empty()).then_some(all_reasoning);
    message.reasoning_signature = signature;
    Ok(Turn { message })
}

fn close_reasoning(live: &LiveRun, reasoning: &mut Option<(Arc<str>, String)>) {
    if let Some((id, text)) = reasoning.take() {
        live.emit(EventKind::ReasoningCompleted {
            message_id: id.to_string(),
            text,
        });
    }
}
