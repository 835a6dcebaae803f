//! The agent loop: call the model, stream its output as events, run the tools
//! it asks for, feed the results back, and repeat up to the step limit.
//!
//! A model turn (streamed into events, with the fallback model when the
//! first fails before any output) is `model_turn`'s; a final answer is
//! checked against the agent's response schema here.
//!
//! Every exit ends with exactly one terminal (or awaiting) event, so no
//! subscriber is ever left hanging.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde_json::Value;

use super::Engine;
use super::live::LiveRun;
use super::model_turn::model_turn;
use super::request::ToolDecision;
use super::team::{DELEGATE_TOOL, DelegateTool};
use super::tool_call::{check_arguments, truncate};
use crate::config::{AgentConfig, TeamConfig, TeamMode};
use crate::domain::{
    CompletedData, EventKind, FailureKind, Message, PendingCall, PendingKind, Role, RunFailure,
    ToolCall, ToolCallDecidedData, ToolCallEndedData, ToolCallStartedData, ToolResultData,
    ToolSpec, new_id, now_ms,
};
use crate::models::{Model, ModelError, ModelRequest, ModelSettings};
use crate::tools::{AgentToolHandle, Tool};

pub(crate) struct RunContext {
    pub agent: AgentConfig,
    /// Set when the run is a team's: the agent is then its leader.
    pub team: Option<TeamConfig>,
    pub model: Arc<dyn Model>,
    /// Takes over a turn the primary model failed before any output.
    pub fallback: Option<Arc<dyn Model>>,
    pub settings: ModelSettings,
    /// Earlier messages of the session (or the client's transcript).
    pub history: Vec<Message>,
    /// This run's messages so far; grows as the loop goes.
    pub transcript: Vec<Message>,
    pub client_tools: Vec<ToolSpec>,
    /// Set when the run continues after a pause.
    pub resumed: Option<Resumed>,
}

/// What a resumed run does before its next model call.
pub(crate) struct Resumed {
    /// The calls that waited for approval, with the decision each got (none:
    /// nobody approved it, so it is not run).
    pub decided: Vec<(PendingCall, Option<ToolDecision>)>,
    /// A follow-up from the user, after the calls' results.
    pub follow_up: Vec<Message>,
}

/// How far a run goes with tool calls and their results.
struct ToolLimits {
    timeout: Duration,
    max_chars: usize,
}

enum Outcome {
    /// The final answer; with a response schema, also its parsed JSON.
    Done(Option<(String, Value)>),
    Paused(Vec<PendingCall>),
}

/// `ctx` comes boxed: a run's task lives as long as the run, and its future
/// held the 752-byte context three times over (the task's capture, this
/// function's argument and its local) when it came by value.
pub(crate) async fn drive(engine: &Arc<Engine>, live: &Arc<LiveRun>, mut ctx: Box<RunContext>) {
    let started = Instant::now();
    let limit = Duration::from_secs(ctx.agent.max_run_secs);
    let result = match tokio::time::timeout(limit, run_steps(engine, live, &mut ctx)).await {
        Ok(result) => result,
        // Over the agent's time: its step is dropped where it was (an
        // upstream request with it), and members it started are stopped.
        Err(_) => {
            live.cancel.cancel();
            Err(StepError::Failed(RunFailure {
                kind: FailureKind::RunTimeout,
                message: format!(
                    "The run went on longer than its limit of {} s (max_run_secs) and was stopped.",
                    ctx.agent.max_run_secs
                ),
            }))
        }
    };
    let duration_ms = started.elapsed().as_millis() as u64;
    // The context is done with: its transcript becomes the record's.
    live.lock().record.messages = std::mem::take(&mut ctx.transcript);
    let kind = match result {
        // The answer is saved before it is announced (with everything
        // before it, in one write): a store that cannot take writes fails
        // the run rather than losing a completed one.
        Ok(Outcome::Done(structured)) => {
            let (content, usage) = {
                let state = live.lock();
                (state.record.content.clone(), state.record.usage)
            };
            let (content, structured) = match structured {
                Some((text, value)) => (text, Some(value)),
                None => (content, None),
            };
            let completed = EventKind::Completed(Box::new(CompletedData {
                content,
                structured,
                usage,
                duration_ms,
            }));
            match engine.save_end(live, completed).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "run failed: the store refused its output");
                    EventKind::Failed {
                        error: store_failure(&e),
                    }
                }
            }
        }
        // A cancel that came as the run paused ends it rather than leaving
        // it paused with the cancel unanswered.
        Ok(Outcome::Paused(_))
            if live.cancel.is_cancelled() || engine.cancel_asked_elsewhere(live).await =>
        {
            let run_id = live.record().run_id;
            EventKind::Cancelled {
                reason: format!("Run {run_id} was cancelled"),
                partial: live.record().content,
            }
        }
        Ok(Outcome::Paused(pending)) => EventKind::Awaiting { pending },
        Err(StepError::Cancelled) => {
            let run_id = live.record().run_id;
            EventKind::Cancelled {
                reason: format!("Run {run_id} was cancelled"),
                partial: live.record().content,
            }
        }
        Err(StepError::Failed(error)) => {
            tracing::warn!(kind = error.kind.as_str(), error = %error.message, "run failed");
            EventKind::Failed { error }
        }
    };
    // Announced once stored (the run's task publishes it after its final save).
    live.emit_held(kind);
}

pub(super) enum StepError {
    Cancelled,
    Failed(RunFailure),
}

impl From<ModelError> for StepError {
    fn from(e: ModelError) -> Self {
        StepError::Failed(RunFailure {
            kind: e.kind(),
            message: e.to_string(),
        })
    }
}

async fn run_steps(
    engine: &Arc<Engine>,
    live: &Arc<LiveRun>,
    ctx: &mut RunContext,
) -> Result<Outcome, StepError> {
    let max_steps = ctx
        .agent
        .max_steps
        .unwrap_or(engine.config.engine.max_steps);
    let mut server_tools: Vec<AgentToolHandle> = engine.tools.for_agent(&ctx.agent.tools);
    let limits = ToolLimits {
        timeout: Duration::from_secs(engine.config.engine.tool_timeout_secs),
        max_chars: engine.config.engine.tool_result_max_chars,
    };
    if let Some(team) = ctx.team.clone() {
        let delegate: Arc<dyn Tool> = Arc::new(DelegateTool {
            engine: engine.clone(),
            parent: live.clone(),
            team: team.clone(),
            attachments: ctx
                .transcript
                .iter()
                .flat_map(|m| m.attachments.clone())
                .collect(),
        });
        let fresh = ctx.transcript.last().is_some_and(|m| m.role == Role::User);
        if team.mode == TeamMode::Broadcast {
            if fresh {
                broadcast(live, ctx, &delegate, &team, &limits).await?;
            }
        } else {
            server_tools.push(AgentToolHandle {
                tool: delegate,
                confirm: false,
            });
        }
    }
    if let Some(resumed) = ctx.resumed.take() {
        settle_decisions(live, ctx, &server_tools, resumed, &limits).await?;
    }
    let mut specs: Vec<ToolSpec> = server_tools.iter().map(|t| t.tool.spec()).collect();
    specs.extend(
        ctx.client_tools
            .iter()
            .filter(|c| !specs.iter().any(|s| s.name == c.name))
            .cloned()
            .collect::<Vec<_>>(),
    );
    let system = ctx
        .agent
        .instructions
        .as_ref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| Message::new(Role::System, s.clone()));

    for _ in 0..max_steps {
        // A cancel asked through another replica is seen here at the latest
        // (a store signal usually fires the switch sooner, mid-request).
        if live.cancel.is_cancelled() || engine.cancel_asked_elsewhere(live).await {
            return Err(StepError::Cancelled);
        }
        let mut messages: Vec<Message> = system.iter().cloned().collect();
        messages.extend(ctx.history.iter().cloned());
        messages.extend(ctx.transcript.iter().cloned());
        let request = ModelRequest {
            messages,
            tools: specs.clone(),
            settings: ctx.settings.clone(),
        };
        let models: Vec<&dyn Model> = std::iter::once(ctx.model.as_ref())
            .chain(ctx.fallback.as_deref())
            .collect();
        let turn = model_turn(live, &models, request).await?;
        let calls = turn.message.tool_calls.clone();
        ctx.transcript.push(turn.message);
        if calls.is_empty() {
            // The record takes the final transcript as the run ends (`drive`).
            let Some(format) = &ctx.settings.response_format else {
                return Ok(Outcome::Done(None));
            };
            let answer = ctx.transcript.last().map_or("", |m| m.text.as_str());
            return match super::structured::parse_and_validate(answer, &format.schema) {
                Ok(parsed) => Ok(Outcome::Done(Some(parsed))),
                Err(message) => Err(StepError::Failed(RunFailure {
                    kind: FailureKind::InvalidOutput,
                    message,
                })),
            };
        }

        live.lock().record.messages = ctx.transcript.clone();
        let mut pending = Vec::new();
        let mut to_run = Vec::new();
        for call in &calls {
            let arguments = parse_arguments(&call.arguments);
            let server = server_tools
                .iter()
                .find(|t| t.tool.spec().name == call.name)
                .cloned();
            // Answered from outside: a tool the client declared, or a server
            // tool whose answer only a person can give.
            let client_side = match &server {
                Some(t) => t.tool.answered_by_client(),
                None => ctx.client_tools.iter().any(|t| t.name == call.name),
            };
            // A call that waits for a person's approval; one with bad
            // arguments goes back to the model instead of to the person.
            let needs_approval = !client_side
                && server.as_ref().is_some_and(|t| {
                    t.confirm && check_arguments(t.tool.as_ref(), &arguments).is_ok()
                });
            live.emit(EventKind::ToolCallEnded(Box::new(ToolCallEndedData {
                call_id: call.id.clone(),
                name: call.name.clone(),
                arguments: arguments.clone(),
                client_side,
                needs_approval,
            })));
            if client_side || needs_approval {
                pending.push(PendingCall {
                    call_id: call.id.clone(),
                    name: call.name.clone(),
                    arguments,
                    kind: if needs_approval {
                        PendingKind::Approval
                    } else {
                        PendingKind::Result
                    },
                });
            } else {
                to_run.push((call.clone(), arguments, server.map(|t| t.tool)));
            }
        }
        let results = execute_tools(live, to_run, &limits).await?;
        // Tool messages follow the order of the calls, whatever order they finished in.
        for call in &calls {
            if let Some(msg) = results
                .iter()
                .find(|m| m.tool_call_id.as_deref() == Some(&call.id))
            {
                ctx.transcript.push(msg.clone());
            }
        }
        live.lock().record.messages = ctx.transcript.clone();
        if let Err(e) = engine.flush(live).await {
            return Err(StepError::Failed(store_failure(&e)));
        }
        if !pending.is_empty() {
            return Ok(Outcome::Paused(pending));
        }
        if ctx.team.as_ref().is_some_and(|t| t.mode == TeamMode::Route)
            && let Some(answer) = results
                .iter()
                .find(|m| m.name.as_deref() == Some(DELEGATE_TOOL) && !m.is_error)
        {
            // Route: the chosen member's answer is the team's answer.
            let message_id = new_id();
            live.emit(EventKind::MessageStarted {
                message_id: message_id.clone(),
            });
            live.emit(EventKind::TextDelta {
                message_id: message_id.as_str().into(),
                delta: answer.text.as_str().into(),
            });
            live.emit(EventKind::MessageCompleted {
                message_id: message_id.clone(),
                text: answer.text.clone(),
            });
            let mut reply = Message::new(Role::Assistant, answer.text.clone());
            reply.id = message_id;
            ctx.transcript.push(reply);
            return Ok(Outcome::Done(None));
        }
    }
    Err(StepError::Failed(RunFailure {
        kind: FailureKind::StepLimit,
        message: format!(
            "the run reached its step limit of {max_steps} model calls without a final answer"
        ),
    }))
}

/// A resumed run's calls that waited for approval: each decision is an
/// event; approved calls run now (concurrently, like any turn's calls),
/// rejected ones are answered with the rejection. Their results reach the
/// transcript before the user's follow-up, right after the model's turn.
async fn settle_decisions(
    live: &LiveRun,
    ctx: &mut RunContext,
    server_tools: &[AgentToolHandle],
    resumed: Resumed,
    limits: &ToolLimits,
) -> Result<(), StepError> {
    let mut to_run = Vec::new();
    let mut refused = Vec::new();
    for (call, decision) in &resumed.decided {
        let approved = decision.as_ref().is_some_and(|d| d.approved);
        let note = decision
            .as_ref()
            .and_then(|d| d.note.clone())
            .filter(|n| !n.trim().is_empty());
        live.emit(EventKind::ToolCallDecided(Box::new(ToolCallDecidedData {
            call_id: call.call_id.clone(),
            name: call.name.clone(),
            arguments: call.arguments.clone(),
            approved,
            note: note.clone(),
        })));
        if approved {
            let tool = server_tools
                .iter()
                .find(|t| t.tool.spec().name == call.name)
                .map(|t| t.tool.clone());
            let as_call = ToolCall {
                id: call.call_id.clone(),
                name: call.name.clone(),
                arguments: call.arguments.to_string(),
            };
            to_run.push((as_call, call.arguments.clone(), tool));
            continue;
        }
        let mut text = match decision {
            Some(_) => "The user rejected this tool call, so it was not run.".to_string(),
            None => "Nobody approved this tool call, so it was not run.".to_string(),
        };
        if let Some(note) = &note {
            text.push_str(&format!(" Their note: {note}"));
        }
        let now = now_ms();
        live.emit(EventKind::ToolResult(Box::new(ToolResultData {
            call_id: call.call_id.clone(),
            name: call.name.clone(),
            arguments: call.arguments.clone(),
            result: text.clone(),
            is_error: true,
            started_at: now,
            finished_at: now,
        })));
        refused.push(Message::tool_result(&call.call_id, &call.name, text, true));
    }
    let mut results = execute_tools(live, to_run, limits).await?;
    results.extend(refused);
    for (call, _) in &resumed.decided {
        if let Some(m) = results
            .iter()
            .find(|m| m.tool_call_id.as_deref() == Some(&call.call_id))
        {
            ctx.transcript.push(m.clone());
        }
    }
    ctx.transcript.extend(resumed.follow_up);
    live.lock().record.messages = ctx.transcript.clone();
    Ok(())
}

/// Broadcast: every member gets the user's task at once, as if the leader
/// had called the delegate tool for each; the leader then synthesizes.
async fn broadcast(
    live: &LiveRun,
    ctx: &mut RunContext,
    delegate: &Arc<dyn Tool>,
    team: &TeamConfig,
    limits: &ToolLimits,
) -> Result<(), StepError> {
    let task: String = ctx
        .transcript
        .iter()
        .filter(|m| m.role == Role::User)
        .map(|m| m.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let mut message = Message::new(Role::Assistant, "");
    let mut to_run = Vec::new();
    for member in &team.members {
        let arguments = serde_json::json!({"member_id": member, "task": task});
        let call = ToolCall {
            id: format!("call_{}", new_id().replace('-', "")),
            name: DELEGATE_TOOL.into(),
            arguments: arguments.to_string(),
        };
        live.emit(EventKind::ToolCallStarted(Box::new(ToolCallStartedData {
            call_id: call.id.clone(),
            name: call.name.clone(),
            parent_message_id: None,
        })));
        live.emit(EventKind::ToolCallArgs {
            call_id: call.id.as_str().into(),
            delta: call.arguments.as_str().into(),
        });
        live.emit(EventKind::ToolCallEnded(Box::new(ToolCallEndedData {
            call_id: call.id.clone(),
            name: call.name.clone(),
            arguments: arguments.clone(),
            client_side: false,
            needs_approval: false,
        })));
        message.tool_calls.push(call.clone());
        to_run.push((call, arguments, Some(delegate.clone())));
    }
    let calls = message.tool_calls.clone();
    ctx.transcript.push(message);
    let results = execute_tools(live, to_run, limits).await?;
    for call in &calls {
        if let Some(m) = results
            .iter()
            .find(|m| m.tool_call_id.as_deref() == Some(&call.id))
        {
            ctx.transcript.push(m.clone());
        }
    }
    Ok(())
}

fn store_failure(e: &crate::store::StoreError) -> RunFailure {
    RunFailure {
        kind: FailureKind::Store,
        message: format!("could not save the run: {e}"),
    }
}

fn parse_arguments(raw: &str) -> Value {
    if raw.trim().is_empty() {
        return Value::Object(Default::default());
    }
    serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()))
}

/// A call to execute: the call, its parsed arguments, and the server tool
/// (None when no such tool exists).
type ServerCall = (ToolCall, Value, Option<Arc<dyn Tool>>);

/// Runs server-side calls concurrently; each result is an event as soon as it
/// is known. Unknown tools, arguments that do not match the tool's schema,
/// failures and timeouts are answered as errors for the model to correct,
/// not run failures; every result is cut to `limits.max_chars`.
async fn execute_tools(
    live: &LiveRun,
    calls: Vec<ServerCall>,
    limits: &ToolLimits,
) -> Result<Vec<Message>, StepError> {
    let (timeout, max_chars) = (limits.timeout, limits.max_chars);
    let mut running: FuturesUnordered<_> = calls
        .into_iter()
        .map(|(call, arguments, tool)| async move {
            let started_at = now_ms();
            let (result, is_error) = match &tool {
                None => (format!("Unknown tool '{}'.", call.name), true),
                Some(tool) => match check_arguments(tool.as_ref(), &arguments) {
                    Err(message) => (message, true),
                    Ok(()) => {
                        match tokio::time::timeout(timeout, tool.call(arguments.clone())).await {
                            Ok(Ok(out)) => (out, false),
                            Ok(Err(e)) => (format!("Error: {e}"), true),
                            Err(_) => (
                                format!(
                                    "Error: the tool did not answer within {}s",
                                    timeout.as_secs()
                                ),
                                true,
                            ),
                        }
                    }
                },
            };
            // Labelled by the tool that ran; a name the model made up is
            // not a tool, and counts as `other`.
            super::metrics::tool_call(tool.as_ref().map(|_| call.name.as_str()), is_error);
            let result = truncate(result, max_chars);
            (call, arguments, result, is_error, started_at)
        })
        .collect();
    let mut messages = Vec::new();
    loop {
        let next = tokio::select! {
            biased;
            _ = live.cancel.cancelled() => return Err(StepError::Cancelled),
            n = running.next() => n,
        };
        let Some((call, arguments, result, is_error, started_at)) = next else {
            break;
        };
        live.emit(EventKind::ToolResult(Box::new(ToolResultData {
            call_id: call.id.clone(),
            name: call.name.clone(),
            arguments,
            result: result.clone(),
            is_error,
            started_at,
            finished_at: now_ms(),
        })));
        messages.push(Message::tool_result(call.id, call.name, result, is_error));
    }
    Ok(messages)
}
