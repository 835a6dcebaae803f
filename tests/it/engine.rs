//! The run engine on its own, as an adapter drives it: no HTTP, a memory
//! store and the built-in model (a loopback mock upstream only where a
//! model has to fail in a way the built-in one cannot).
//!
//! These hold what a run does while the engine's insides move: the step
//! limit, a fallback model taking over, a pause for approval answered yes
//! and no, a cancel while paused, each team mode and a failing member.

use std::sync::Arc;

use agentd::config::Config;
use agentd::engine::{
    CancelOutcome, Engine, EngineError, EventKind, FailureKind, Message, ResumeRequest, RunRecord,
    RunRequest, RunStatus, ToolDecision,
};
use agentd::models::ModelRegistry;
use agentd::store::memory::MemoryStore;
use agentd::tools::ToolRegistry;

use crate::common::{MockLlm, Reply, config_with};

const AGENTS: &str = r#"
[[agents]]
id = "brief"
model = "builtin"
tools = ["calculator"]
max_steps = 1

[[agents]]
id = "careful"
model = "builtin"
tools = [{ name = "calculator", confirm = true }]

[models.fragile]
provider = "builtin"
model = "fragile-model"
max_retries = 0

[[agents]]
id = "member_who_fails"
model = "fragile"

[[agents]]
id = "researcher"
name = "Researcher"
model = "builtin"

[[agents]]
id = "writer"
name = "Writer"
model = "builtin"

[[teams]]
id = "crew"
model = "builtin"
members = ["researcher", "writer"]
mode = "coordinate"

[[teams]]
id = "router"
model = "builtin"
members = ["researcher", "writer"]
mode = "route"

[[teams]]
id = "panel"
model = "builtin"
members = ["researcher", "writer"]
mode = "broadcast"

[[teams]]
id = "shaky"
model = "builtin"
members = ["member_who_fails"]
mode = "coordinate"
"#;

fn engine(config_toml: &str) -> Arc<Engine> {
    let config = Config::from_toml_str(config_toml, "test.toml".as_ref(), &|_| None)
        .expect("test config is valid");
    let models = ModelRegistry::from_config(&config).expect("models build");
    let tools = ToolRegistry::from_config(&config);
    Engine::new(
        Arc::new(config),
        models,
        tools,
        Arc::new(MemoryStore::new()),
    )
}

fn request(agent: &str, text: &str) -> RunRequest {
    RunRequest {
        agent_id: agent.into(),
        input: vec![Message::user(text)],
        origin: "test".into(),
        ..Default::default()
    }
}

/// Starts a run and waits until it ends or pauses.
async fn run(engine: &Arc<Engine>, agent: &str, text: &str) -> RunRecord {
    let handle = engine
        .start(&agentd::engine::Principal::open(), request(agent, text))
        .await
        .expect("run starts");
    handle.finish(false).await
}

async fn resume(engine: &Arc<Engine>, run_id: &str, req: ResumeRequest) -> RunRecord {
    let handle = engine
        .resume(&agentd::engine::Principal::open(), run_id, req)
        .await
        .expect("run resumes");
    handle.finish(false).await
}

/// The member runs a team run started, in the order they started.
async fn members(engine: &Arc<Engine>, team_run: &RunRecord) -> Vec<RunRecord> {
    let mut ids: Vec<String> = Vec::new();
    for event in engine
        .event_log(&agentd::engine::Principal::open(), &team_run.run_id)
        .await
        .unwrap()
    {
        if let EventKind::Member { member, .. } = &event.kind
            && !ids.contains(&member.run_id)
        {
            ids.push(member.run_id.clone());
        }
    }
    let mut runs = Vec::new();
    for id in ids {
        let run = engine
            .get_run(&agentd::engine::Principal::open(), &id)
            .await
            .unwrap()
            .expect("member run kept");
        assert_eq!(run.parent_run_id.as_deref(), Some(team_run.run_id.as_str()));
        runs.push(run);
    }
    runs
}

const CALL_CALCULATOR: &str = r#"/tool calculator {"expression": "6*7"}"#;

#[tokio::test]
async fn the_step_limit_fails_a_run_that_needs_one_more_model_call() {
    let engine = engine(&config_with(AGENTS));
    let done = run(&engine, "brief", CALL_CALCULATOR).await;
    assert_eq!(done.status, RunStatus::Failed, "{done:?}");
    let error = done.error.expect("a failure");
    assert_eq!(error.kind, FailureKind::StepLimit);
    assert!(
        error.message.contains("step limit of 1"),
        "{}",
        error.message
    );
    // The one step it had ran the tool.
    assert_eq!(done.tools.len(), 1);
    assert_eq!(done.tools[0].result.as_deref(), Some("42"));
    // Without a tool call one step is enough.
    let done = run(&engine, "brief", "hello").await;
    assert_eq!(done.status, RunStatus::Completed);
    assert_eq!(done.content, "You said: hello");
}

#[tokio::test]
async fn the_fallback_model_answers_when_the_primary_fails() {
    let primary = MockLlm::start().await;
    let engine = engine(&config_with(&format!(
        r#"
[models.primary]
provider = "openai"
model = "primary-model"
base_url = "{}"
api_key = "k"
max_retries = 0

[models.backup]
provider = "builtin"
model = "backup-model"

[[agents]]
id = "resilient"
model = "primary"
fallback = "backup"
"#,
        primary.base_url
    )));
    primary.push(Reply::Status(500, "primary is down".into()));
    let done = run(&engine, "resilient", "are you there?").await;
    assert_eq!(done.status, RunStatus::Completed, "{done:?}");
    assert_eq!(done.content, "You said: are you there?");
    assert_eq!(done.model, "backup-model");
    assert_eq!(primary.requests().len(), 1);
    let asked: Vec<String> = engine
        .event_log(&agentd::engine::Principal::open(), &done.run_id)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::ModelRequestStarted { model, .. } => Some(model),
            _ => None,
        })
        .collect();
    assert_eq!(asked, ["primary-model", "backup-model"]);
}

#[tokio::test]
async fn a_call_waiting_for_approval_pauses_then_runs_when_approved() {
    let engine = engine(&config_with(AGENTS));
    let paused = run(&engine, "careful", CALL_CALCULATOR).await;
    assert_eq!(paused.status, RunStatus::Awaiting, "{paused:?}");
    assert_eq!(paused.pending.len(), 1);
    let call = &paused.pending[0];
    assert!(call.needs_approval());
    assert_eq!(call.name, "calculator");
    assert!(paused.tools.is_empty(), "nothing ran before the approval");

    let done = resume(
        &engine,
        &paused.run_id,
        ResumeRequest {
            decisions: vec![ToolDecision {
                call_id: call.call_id.clone(),
                approved: true,
                note: None,
            }],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(done.status, RunStatus::Completed, "{done:?}");
    assert_eq!(done.tools.len(), 1);
    assert_eq!(done.tools[0].result.as_deref(), Some("42"));
    assert!(!done.tools[0].is_error);
    assert_eq!(done.content, "The calculator tool returned: 42.");
}

#[tokio::test]
async fn a_call_waiting_for_approval_is_not_run_when_rejected() {
    let engine = engine(&config_with(AGENTS));
    let paused = run(&engine, "careful", CALL_CALCULATOR).await;
    assert_eq!(paused.status, RunStatus::Awaiting, "{paused:?}");
    let call_id = paused.pending[0].call_id.clone();
    let done = resume(
        &engine,
        &paused.run_id,
        ResumeRequest {
            decisions: vec![ToolDecision {
                call_id,
                approved: false,
                note: Some("not now".into()),
            }],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(done.status, RunStatus::Completed, "{done:?}");
    assert!(
        done.tools.iter().all(|t| t.result.as_deref() != Some("42")),
        "the rejected call did not run: {:?}",
        done.tools
    );
    assert!(
        done.content.contains("rejected") && done.content.contains("not now"),
        "the model heard the rejection and its note: {}",
        done.content
    );
}

#[tokio::test]
async fn cancelling_a_paused_run_ends_it_and_it_cannot_be_resumed() {
    let engine = engine(&config_with(AGENTS));
    let paused = run(&engine, "careful", CALL_CALCULATOR).await;
    assert_eq!(paused.status, RunStatus::Awaiting, "{paused:?}");
    match engine
        .cancel(&agentd::engine::Principal::open(), &paused.run_id)
        .await
        .unwrap()
    {
        CancelOutcome::Cancelling(record) => assert_eq!(record.status, RunStatus::Cancelled),
        other => panic!("a paused run is cancelled at once: {other:?}"),
    }
    let stored = engine
        .get_run(&agentd::engine::Principal::open(), &paused.run_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, RunStatus::Cancelled);
    assert!(stored.pending.is_empty());
    let log = engine
        .event_log(&agentd::engine::Principal::open(), &paused.run_id)
        .await
        .unwrap();
    assert!(
        matches!(log.last().unwrap().kind, EventKind::Cancelled { .. }),
        "the log ends with the cancel"
    );
    match engine
        .resume(
            &agentd::engine::Principal::open(),
            &paused.run_id,
            ResumeRequest::default(),
        )
        .await
    {
        Err(EngineError::NotAwaiting { status, .. }) => assert_eq!(status, "cancelled"),
        Err(e) => panic!("unexpected error: {e}"),
        Ok(_) => panic!("a cancelled run was resumed"),
    }
    // A second cancel finds it over.
    assert!(matches!(
        engine
            .cancel(&agentd::engine::Principal::open(), &paused.run_id)
            .await
            .unwrap(),
        CancelOutcome::AlreadyFinished(_)
    ));
}

const DELEGATE: &str =
    r#"/tool delegate_task_to_member {"member_id": "researcher", "task": "find facts"}"#;

#[tokio::test]
async fn a_coordinating_team_delegates_and_its_leader_answers() {
    let engine = engine(&config_with(AGENTS));
    let done = run(&engine, "crew", DELEGATE).await;
    assert_eq!(done.status, RunStatus::Completed, "{done:?}");
    assert!(done.team);
    assert_eq!(
        done.content,
        "The delegate_task_to_member tool returned: You said: find facts."
    );
    let members = members(&engine, &done).await;
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].agent_id, "researcher");
    assert_eq!(members[0].status, RunStatus::Completed);
    assert_eq!(members[0].content, "You said: find facts");
}

#[tokio::test]
async fn a_routing_team_answers_with_its_members_answer() {
    let engine = engine(&config_with(AGENTS));
    let done = run(&engine, "router", DELEGATE).await;
    assert_eq!(done.status, RunStatus::Completed, "{done:?}");
    assert_eq!(done.content, "You said: find facts");
    let members = members(&engine, &done).await;
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].agent_id, "researcher");
}

#[tokio::test]
async fn a_broadcasting_team_asks_every_member_then_sums_up() {
    let engine = engine(&config_with(AGENTS));
    let done = run(&engine, "panel", "hello team").await;
    assert_eq!(done.status, RunStatus::Completed, "{done:?}");
    let members = members(&engine, &done).await;
    let mut asked: Vec<&str> = members.iter().map(|m| m.agent_id.as_str()).collect();
    asked.sort_unstable();
    assert_eq!(asked, ["researcher", "writer"]);
    assert!(members.iter().all(|m| m.content == "You said: hello team"));
    assert_eq!(
        done.content,
        "The delegate_task_to_member tool returned: You said: hello team. \
         The delegate_task_to_member tool returned: You said: hello team."
    );
}

#[tokio::test]
async fn a_failing_member_is_a_tool_error_the_leader_answers() {
    let engine = engine(&config_with(AGENTS));
    let done = run(
        &engine,
        "shaky",
        r#"/tool delegate_task_to_member {"member_id": "member_who_fails", "task": "/fail member exploded"}"#,
    )
    .await;
    assert_eq!(done.status, RunStatus::Completed, "{done:?}");
    let members = members(&engine, &done).await;
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].status, RunStatus::Failed);
    assert_eq!(
        members[0].error.as_ref().map(|e| e.kind),
        Some(FailureKind::ModelUpstream)
    );
    assert_eq!(done.tools.len(), 1);
    assert!(done.tools[0].is_error, "{:?}", done.tools);
    let result = done.tools[0].result.as_deref().unwrap_or_default();
    assert!(result.contains("member exploded"), "{result}");
    assert!(done.content.contains("member exploded"), "{}", done.content);
}
