//! Teams: a leader model that works through member runs.
//!
//! A team runs as an agent loop whose leader has one extra tool,
//! `delegate_task_to_member`. Calling it starts the member as a child run
//! (its own run id, the team run as parent) and forwards the member's events
//! into the team's log, so every protocol can show the members at work.
//! Modes differ only in who calls the tool and what the answer is; see
//! `config::TeamMode`.

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use serde_json::{Value, json};

use super::live::LiveRun;
use super::{Engine, RunRequest};
use crate::config::{AgentConfig, Config, TeamConfig, TeamMode};
use crate::domain::{EventKind, MemberRef, Message, RunStatus, ToolSpec};
use crate::tools::{Tool, ToolError};

pub(crate) const DELEGATE_TOOL: &str = "delegate_task_to_member";

/// The team's leader as an agent: the team's model and instructions, plus a
/// roster of its members so the model knows whom it can ask.
pub(crate) fn leader(team: &TeamConfig, config: &Config) -> AgentConfig {
    let roster: Vec<String> = team
        .members
        .iter()
        .map(|id| {
            let (name, description) = match (config.agent(id), config.team(id)) {
                (Some(a), _) => (a.display_name(), a.description.as_deref()),
                (None, Some(t)) => (t.display_name(), t.description.as_deref()),
                (None, None) => (id.as_str(), None),
            };
            format!(
                "- {id} ({name}): {}",
                description.unwrap_or("no description")
            )
        })
        .collect();
    let how = match team.mode {
        TeamMode::Route => {
            "Pick the one member best suited to the task and delegate it to them with the delegate_task_to_member tool; their answer is the team's answer."
        }
        TeamMode::Coordinate => {
            "Delegate subtasks to members with the delegate_task_to_member tool (one call per member, in parallel when independent), then write the final answer from their results."
        }
        TeamMode::Broadcast => {
            "Every member has already answered the task; their answers are the tool results above. Synthesize one final answer from them."
        }
    };
    let mut instructions = team.instructions.clone().unwrap_or_default();
    if !instructions.is_empty() {
        instructions.push_str("\n\n");
    }
    instructions.push_str(&format!(
        "You lead the team '{}'. Members:\n{}\n{how}",
        team.display_name(),
        roster.join("\n")
    ));
    AgentConfig {
        id: team.id.clone(),
        name: Some(team.display_name().to_string()),
        description: team.description.clone(),
        instructions: Some(instructions),
        model: team.model.clone(),
        tools: Vec::new(),
        max_steps: team.max_steps,
        fallback: None,
        temperature: None,
        max_tokens: None,
        stop: None,
        response_schema: None,
        response_schema_strict: None,
        max_run_secs: crate::config::default_max_run_secs(),
        allowed_scopes: team.allowed_scopes.clone(),
    }
}

/// Runs a member on a task as a child of the team run.
pub(crate) struct DelegateTool {
    pub engine: Arc<Engine>,
    pub parent: Arc<LiveRun>,
    pub team: TeamConfig,
    /// The team run's input files, handed to every member.
    pub attachments: Vec<crate::domain::Attachment>,
}

impl DelegateTool {
    pub fn spec_for(team: &TeamConfig) -> ToolSpec {
        ToolSpec {
            name: DELEGATE_TOOL.into(),
            description: "Give a task to one member of your team and get their answer.".into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "member_id": {"type": "string", "enum": team.members},
                    "task": {"type": "string", "description": "What the member should do, with all the context they need."}
                },
                "required": ["member_id", "task"]
            }),
        }
    }
}

#[async_trait]
impl Tool for DelegateTool {
    fn spec(&self) -> ToolSpec {
        Self::spec_for(&self.team)
    }

    async fn call(&self, arguments: Value) -> Result<String, ToolError> {
        let member_id = arguments
            .get("member_id")
            .and_then(Value::as_str)
            .ok_or_else(|| ToolError::InvalidArguments("member_id (string) is required".into()))?;
        if !self.team.members.iter().any(|m| m == member_id) {
            return Err(ToolError::InvalidArguments(format!(
                "'{member_id}' is not a member; members are: {}",
                self.team.members.join(", ")
            )));
        }
        let task = arguments
            .get("task")
            .and_then(Value::as_str)
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| ToolError::InvalidArguments("task (string) is required".into()))?;
        let parent = self.parent.record();
        let mut input = Message::user(task);
        input.attachments = self.attachments.clone();
        let handle = self
            .engine
            .start_member(
                &self.parent,
                RunRequest {
                    agent_id: member_id.to_string(),
                    input: vec![input],
                    session_id: Some(parent.session_id.clone()),
                    user_id: parent.user_id.clone(),
                    history: Some(Vec::new()),
                    origin: parent.origin.clone(),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| ToolError::Failed(format!("could not start member '{member_id}': {e}")))?;
        let first = handle.record();
        let member = MemberRef {
            run_id: handle.run_id.clone(),
            id: first.agent_id.clone(),
            name: first.agent_name.clone(),
            team: first.team,
        };
        let mut events = handle.events(false);
        while let Some(ev) = events.next().await {
            self.parent.emit(EventKind::Member {
                member: Box::new(member.clone()),
                event: Box::new(ev.kind.clone()),
            });
        }
        let record = handle.record();
        match record.status {
            RunStatus::Completed => Ok(record.content),
            RunStatus::Failed => Err(ToolError::Failed(format!(
                "member '{member_id}' failed: {}",
                record.error.map(|e| e.message).unwrap_or_default()
            ))),
            RunStatus::Awaiting => {
                // Nobody can answer a member's client-side tool inside a team.
                let _ = self.engine.cancel_run(&handle.run_id).await;
                Err(ToolError::Failed(format!(
                    "member '{member_id}' asked for client input, which teams cannot provide"
                )))
            }
            other => Err(ToolError::Failed(format!(
                "member '{member_id}' ended {}",
                other.as_str()
            ))),
        }
    }
}
