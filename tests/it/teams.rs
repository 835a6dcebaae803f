//! Teams over AgentOS: each mode, member attribution in the stream, a failing
//! member, and cancel reaching the members.

use crate::common::{
    MockLlm, Reply, TestServer, config_with, form, get_json, sse, upstream_config,
};
use serde_json::Value;

const TEAMS: &str = r#"
[models.slow]
provider = "builtin"
token_delay_ms = 100

[[agents]]
id = "researcher"
name = "Researcher"
description = "Finds facts"
model = "builtin"

[[agents]]
id = "writer"
name = "Writer"
model = "builtin"

[[agents]]
id = "sloth"
model = "slow"

[[teams]]
id = "crew"
name = "Crew"
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
id = "outer"
model = "builtin"
members = ["crew"]
mode = "route"

[[teams]]
id = "lazy"
model = "builtin"
members = ["sloth"]
"#;

const DELEGATE: &str =
    r#"/tool delegate_task_to_member {"member_id": "researcher", "task": "find facts"}"#;

async fn run_json(server: &TestServer, team: &str, message: &str) -> Value {
    let resp = server
        .client
        .post(server.url(&format!("/teams/{team}/runs")))
        .multipart(form(&[("message", message), ("stream", "false")]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn coordinate_delegates_and_the_leader_answers() {
    let server = TestServer::start(&config_with(TEAMS)).await;
    let out = run_json(&server, "crew", DELEGATE).await;
    assert_eq!(out["status"], "COMPLETED");
    assert_eq!(out["team_id"], "crew");
    assert_eq!(out["team_name"], "Crew");
    assert!(out.get("agent_id").is_none());
    assert_eq!(
        out["content"],
        "The delegate_task_to_member tool returned: You said: find facts."
    );
    let members = out["member_responses"].as_array().unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0]["agent_id"], "researcher");
    assert_eq!(members[0]["content"], "You said: find facts");
    assert_ne!(members[0]["run_id"], out["run_id"]);
}

#[tokio::test]
async fn route_returns_the_members_answer() {
    let server = TestServer::start(&config_with(TEAMS)).await;
    let out = run_json(&server, "router", DELEGATE).await;
    assert_eq!(out["status"], "COMPLETED");
    assert_eq!(out["content"], "You said: find facts");
    assert_eq!(out["member_responses"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn broadcast_asks_every_member_then_synthesizes() {
    let server = TestServer::start(&config_with(TEAMS)).await;
    let out = run_json(&server, "panel", "hello team").await;
    assert_eq!(out["status"], "COMPLETED");
    let members = out["member_responses"].as_array().unwrap();
    let mut ids: Vec<&str> = members
        .iter()
        .map(|m| m["agent_id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["researcher", "writer"]);
    assert!(
        members
            .iter()
            .all(|m| m["content"] == "You said: hello team")
    );
    assert_eq!(
        out["content"],
        "The delegate_task_to_member tool returned: You said: hello team. \
         The delegate_task_to_member tool returned: You said: hello team."
    );
}

#[tokio::test]
async fn team_stream_nests_member_events() {
    let server = TestServer::start(&config_with(TEAMS)).await;
    // stream defaults to true for teams.
    let resp = server
        .client
        .post(server.url("/teams/crew/runs"))
        .multipart(form(&[("message", DELEGATE)]))
        .send()
        .await
        .unwrap();
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let frames = sse::read_all(resp).await;
    let names = sse::names(&frames, "event");
    assert_eq!(names[0], "TeamRunStarted");
    assert_eq!(names.last().unwrap(), "TeamRunCompleted");
    let team_run = frames[0].data["run_id"].as_str().unwrap();
    assert_eq!(frames[0].data["team_id"], "crew");
    let tool_start = names
        .iter()
        .position(|n| n == "TeamToolCallStarted")
        .unwrap();
    let tool_done = names
        .iter()
        .position(|n| n == "TeamToolCallCompleted")
        .unwrap();
    let member_start = names.iter().position(|n| n == "RunStarted").unwrap();
    let member_done = names.iter().position(|n| n == "RunCompleted").unwrap();
    assert!(tool_start < member_start && member_start < member_done && member_done < tool_done);
    for f in &frames[member_start..=member_done] {
        assert_eq!(f.data["agent_id"], "researcher");
        assert_eq!(f.data["parent_run_id"], team_run);
        assert_ne!(f.data["run_id"], team_run);
        assert_eq!(f.data["nested_depth"], 1);
    }
    for (f, n) in frames.iter().zip(&names) {
        if n.starts_with("Team") {
            assert_eq!(f.data["run_id"], team_run);
            assert_eq!(f.data["nested_depth"], 0);
            assert!(f.data.get("agent_id").is_none());
        }
    }
    assert!(names.iter().any(|n| n == "TeamRunContent"));
}

#[tokio::test]
async fn nested_teams_run_their_members() {
    let server = TestServer::start(&config_with(TEAMS)).await;
    let msg = r#"/tool delegate_task_to_member {"member_id": "crew", "task": "hi"}"#;
    let frames = sse::read_all(
        server
            .client
            .post(server.url("/teams/outer/runs"))
            .multipart(form(&[("message", msg)]))
            .send()
            .await
            .unwrap(),
    )
    .await;
    // The inner team's own events come out with its identity at depth 1.
    let inner = frames
        .iter()
        .find(|f| f.data["event"] == "TeamRunStarted" && f.data["team_id"] == "crew")
        .expect("inner team started");
    assert_eq!(inner.data["nested_depth"], 1);
    assert_eq!(frames.last().unwrap().data["event"], "TeamRunCompleted");
    assert_eq!(frames.last().unwrap().data["content"], "You said: hi");
}

#[tokio::test]
async fn a_failing_member_becomes_a_tool_error_for_the_leader() {
    let mock = MockLlm::start().await;
    let extra = r#"
[[teams]]
id = "mocked"
model = "mock"
members = ["upstream"]
"#;
    let server = TestServer::start(&upstream_config(&mock.base_url, extra)).await;
    mock.push(Reply::ToolCall {
        name: "delegate_task_to_member".into(),
        arguments: r#"{"member_id":"upstream","task":"do it"}"#.into(),
    });
    for _ in 0..3 {
        mock.push(Reply::Status(500, "member exploded".into()));
    }
    mock.push(Reply::Text("The member failed, sorry.".into()));
    let out = run_json(&server, "mocked", "go").await;
    assert_eq!(out["status"], "COMPLETED");
    assert_eq!(out["content"], "The member failed, sorry.");
    assert_eq!(out["member_responses"][0]["status"], "ERROR");
    let leader_second = &mock.requests()[4];
    let tool_msg = leader_second["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "tool")
        .unwrap();
    assert!(
        tool_msg["content"]
            .as_str()
            .unwrap()
            .contains("member exploded"),
        "{tool_msg}"
    );
    // The leader offered the delegate tool with the member roster.
    let tool = &mock.requests()[0]["tools"][0]["function"];
    assert_eq!(tool["name"], "delegate_task_to_member");
    assert_eq!(
        tool["parameters"]["properties"]["member_id"]["enum"][0],
        "upstream"
    );
}

#[tokio::test]
async fn cancelling_a_team_cancels_its_members() {
    let server = TestServer::start(&config_with(TEAMS)).await;
    let msg =
        r#"/tool delegate_task_to_member {"member_id": "sloth", "task": "a b c d e f g h i j"}"#;
    let resp = server
        .client
        .post(server.url("/teams/lazy/runs"))
        .multipart(form(&[("message", msg)]))
        .send()
        .await
        .unwrap();
    let client = server.client.clone();
    let base = server.base.clone();
    let mut member_run = String::new();
    let frames = sse::read_until(resp, |f| {
        if f.data["event"] == "RunContent" && member_run.is_empty() {
            member_run = f.data["run_id"].as_str().unwrap().to_string();
            let url = format!(
                "{base}/teams/lazy/runs/{}/cancel",
                f.data["parent_run_id"].as_str().unwrap()
            );
            let client = client.clone();
            tokio::spawn(async move { client.post(url).send().await });
        }
        f.data["event"] == "TeamRunCancelled" || f.data["event"] == "TeamRunCompleted"
    })
    .await;
    assert_eq!(frames.last().unwrap().data["event"], "TeamRunCancelled");
    let member = crate::common::eventually("the member to stop", || async {
        let run = server
            .engine
            .get_run(&agentd::engine::Principal::open(), &member_run)
            .await
            .ok()
            .flatten()?;
        run.status.is_terminal().then_some(run)
    })
    .await;
    assert_eq!(member.status, agentd::engine::RunStatus::Cancelled);
}

#[tokio::test]
async fn team_discovery_and_errors() {
    let server = TestServer::start(&config_with(TEAMS)).await;
    let teams: Value = get_json(&server.client, server.url("/teams")).await;
    assert_eq!(teams.as_array().unwrap().len(), 5);
    let crew: Value = get_json(&server.client, server.url("/teams/crew")).await;
    assert_eq!(crew["mode"], "coordinate");
    assert_eq!(crew["members"][0]["id"], "researcher");
    let r = server
        .client
        .get(server.url("/teams/ghost"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().await.unwrap()["detail"], "Team not found");
    let r = server
        .client
        .post(server.url("/teams/ghost/runs"))
        .multipart(form(&[("message", "hi")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // An agent id is not a team id on the team routes, and vice versa.
    let r = server
        .client
        .post(server.url("/teams/researcher/runs"))
        .multipart(form(&[("message", "hi")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = server
        .client
        .post(server.url("/agents/crew/runs"))
        .multipart(form(&[("message", "hi")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn team_sessions_continue_without_member_noise() {
    let server = TestServer::start(&config_with(TEAMS)).await;
    let first = run_json(&server, "router", DELEGATE).await;
    let session = first["session_id"].as_str().unwrap();
    let second = server
        .client
        .post(server.url("/teams/router/runs"))
        .multipart(form(&[
            ("message", "thanks"),
            ("stream", "false"),
            ("session_id", session),
        ]))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    // The leader remembers the session's first user message, not the member's task.
    assert!(
        second["content"]
            .as_str()
            .unwrap()
            .contains("message 2 of this conversation"),
        "{second}"
    );
    let runs: Value = get_json(
        &server.client,
        server.url(&format!("/teams/router/runs?session_id={session}")),
    )
    .await;
    assert_eq!(runs.as_array().unwrap().len(), 2);
    assert_eq!(runs[0]["team_id"], "router");
}
