//! Resuming a paused run with the answers it waited for: client-side tool
//! results, decisions on calls that wait for approval, a follow-up message.
//! The run is taken over in the store (so only one process resumes it) and
//! driven on by a new task.

use std::sync::Arc;

use super::live::LiveRun;
use super::{
    Engine, EngineError, EventKind, Message, ResumeRequest, RunHandle, RunStatus, agent_loop,
    attachments, audit,
};
use crate::domain::Principal;

impl Engine {
    /// Continues an awaiting run with the answers it waited for. Taken over
    /// and restarted in a task of the engine's (see `owned`).
    /// Another user's run is `RunNotFound`, as an unknown one.
    pub async fn resume(
        self: &Arc<Self>,
        principal: &Principal,
        run_id: &str,
        req: ResumeRequest,
    ) -> Result<RunHandle, EngineError> {
        let decisions = req.decisions.clone();
        let resumed = match self.check_run(principal, run_id).await {
            Ok(()) => {
                let engine = self.clone();
                let id = run_id.to_string();
                self.detached_run(async move { engine.resume_run(&id, req).await })
                    .await
            }
            Err(e) => Err(e),
        };
        let ids = audit::Ids {
            run_id: Some(run_id),
            ..Default::default()
        };
        audit::result(principal, "run.resumed", ids, &resumed);
        for d in &decisions {
            let action = if d.approved {
                "tool_call.approved"
            } else {
                "tool_call.rejected"
            };
            let ids = audit::Ids {
                call_id: Some(&d.call_id),
                ..ids
            };
            audit::result(principal, action, ids, &resumed);
        }
        resumed
    }

    pub(super) async fn resume_run(
        self: &Arc<Self>,
        run_id: &str,
        req: ResumeRequest,
    ) -> Result<RunHandle, EngineError> {
        if let Some(live) = self.live_run(run_id) {
            let status = live.record().status;
            if status != RunStatus::Awaiting {
                return Err(EngineError::NotAwaiting {
                    run_id: run_id.to_string(),
                    status: status.as_str().to_string(),
                });
            }
            // Just paused: its task is still saving it. Answers that come this
            // fast wait for the save, then read the run from the store.
            live.settled.cancelled().await;
        }
        let record = self
            .store
            .get_run(run_id)
            .await?
            .ok_or_else(|| EngineError::RunNotFound(run_id.to_string()))?;
        if record.status != RunStatus::Awaiting {
            return Err(EngineError::NotAwaiting {
                run_id: run_id.to_string(),
                status: record.status.as_str().to_string(),
            });
        }
        let (agent, team) = self
            .runnable(&record.agent_id)
            .ok_or_else(|| EngineError::AgentNotFound(record.agent_id.clone()))?;
        let model = self
            .agent_model(&agent)
            .ok_or_else(|| EngineError::AgentNotFound(record.agent_id.clone()))?;
        let follow_up = attachments::prepare(
            &self.documents,
            &self.config.files,
            &model,
            req.message.clone().into_iter().collect(),
        )
        .await?;
        let mut record = record;
        record.files.extend(follow_up.files);
        let slot = match record.parent_run_id {
            None => Some(self.acquire_slot(req.caller.as_ref())?),
            Some(_) => None,
        };
        let mut transcript = record.messages.clone();
        let mut decided = Vec::new();
        for pending in &record.pending {
            if pending.needs_approval() {
                // Run (or refused) by the agent loop, which reports each.
                let decision = req
                    .decisions
                    .iter()
                    .find(|d| d.call_id == pending.call_id)
                    .cloned();
                decided.push((pending.clone(), decision));
                continue;
            }
            let answer = req
                .tool_results
                .iter()
                .find(|m| m.tool_call_id.as_deref() == Some(&pending.call_id));
            transcript.push(match answer {
                Some(m) => Message {
                    name: Some(pending.name.clone()),
                    ..m.clone()
                },
                // The model must see an answer for every call it made.
                None => Message::tool_result(
                    &pending.call_id,
                    &pending.name,
                    "No result was provided for this tool call.",
                    true,
                ),
            });
        }
        let history = self.session_history(&record.session_id).await?;
        let events = self.store.events(run_id, 0).await?;
        let after = events.last().map_or(0, |e| e.seq);
        let session_id = record.session_id.clone();
        let live = LiveRun::new(self.store.clone(), record, events);
        self.register(run_id, live.clone())?;
        let resumed = live.emit(EventKind::RunResumed);
        // The run becomes this process's in the store, unless another
        // resume or a cancel (here or on another replica) got it first.
        match self
            .store
            .take_run(&live.record(), RunStatus::Awaiting, &[(*resumed).clone()])
            .await
        {
            Ok(true) => {
                let stored = live.lock().len();
                live.stored(stored);
            }
            taken => {
                self.unregister(run_id);
                live.settled.cancel();
                taken?;
                let status = self
                    .store
                    .get_run(run_id)
                    .await?
                    .map_or("unknown", |r| r.status.as_str());
                return Err(EngineError::NotAwaiting {
                    run_id: run_id.to_string(),
                    status: status.to_string(),
                });
            }
        }
        let ctx = agent_loop::RunContext {
            fallback: self.agent_fallback(&agent),
            settings: self.agent_settings(&agent),
            agent,
            team,
            model,
            history,
            transcript,
            client_tools: Vec::new(),
            resumed: Some(agent_loop::Resumed {
                decided,
                follow_up: follow_up.messages,
            }),
        };
        self.spawn(live.clone(), ctx, slot);
        Ok(RunHandle {
            run_id: run_id.to_string(),
            session_id,
            live,
            after,
        })
    }
}
