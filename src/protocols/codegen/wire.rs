//! Codegen wire shapes (docs/specs/codegen.md §2-§4): the documented
//! request bodies and query parameters, and every response. Serde and
//! schema types only: parsing lives in `inbound`, the translation of
//! engine runs and events in `outbound`.

use serde::Serialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

// ---------------------------------------------------------------- requests

/// Body of `POST /v1/organizations/{org_id}/agent/run`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CreateAgentRunInput {
    /// What the agent should do.
    prompt: String,
    /// Images as base64 data URIs (`data:image/png;base64,...`).
    images: Option<Vec<String>>,
    /// Arbitrary JSON stored with the run and returned with it.
    #[schema(value_type = Option<Object>)]
    metadata: Option<Value>,
    /// A repository configured for the organization.
    repo_id: Option<i64>,
    /// A model name from `[codegen.models]`; the agent's own model when absent.
    model: Option<String>,
    /// `codegen` or `claude_code`; `[codegen].default_agent_type` when absent.
    agent_type: Option<String>,
}

/// Body of `POST /v1/organizations/{org_id}/agent/run/resume`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ResumeAgentRunInput {
    agent_run_id: i64,
    /// The follow-up instruction.
    prompt: String,
    images: Option<Vec<String>>,
}

/// Query of `GET .../agent/runs` (documentation only; parsed by `Query`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListRunsParams {
    /// Only runs created by this user.
    user_id: Option<i64>,
    /// Only runs from this source (`API` for runs created here).
    source_type: Option<String>,
    /// Runs to skip (default 0).
    #[param(minimum = 0)]
    skip: Option<i64>,
    /// Page size, 1-100 (default 100).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

/// Query of the logs route (documentation only).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct LogsParams {
    #[param(minimum = 0)]
    skip: Option<i64>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// Newest first when true.
    reverse: Option<bool>,
}

/// Query of the account listings (documentation only).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct PageParams {
    #[param(minimum = 0)]
    skip: Option<i64>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

/// fastapi-pagination's page numbers for a skip/limit window.
pub fn page_numbers(total: usize, skip: usize, limit: usize) -> (usize, usize) {
    let limit = limit.max(1);
    (skip / limit + 1, total.div_ceil(limit))
}

// --------------------------------------------------------------- responses

#[derive(Serialize, ToSchema)]
pub struct GithubPullRequestResponse {
    pub id: i64,
    pub title: Option<String>,
    pub url: Option<String>,
    pub created_at: String,
    pub head_branch_name: Option<String>,
}

/// A Codegen agent run.
#[derive(Serialize, ToSchema)]
pub struct AgentRunResponse {
    pub id: u64,
    pub organization_id: i64,
    /// PENDING, RUNNING, PAUSED, COMPLETE, FAILED or CANCELLED.
    pub status: Option<&'static str>,
    /// ISO 8601.
    pub created_at: Option<String>,
    /// agentd's page for the run.
    pub web_url: Option<String>,
    /// The agent's final answer, once complete.
    pub result: Option<String>,
    pub summary: Option<String>,
    /// Always `API` for runs created through this API.
    pub source_type: Option<&'static str>,
    pub github_pull_requests: Option<Vec<GithubPullRequestResponse>>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

#[derive(Serialize, ToSchema)]
pub struct PageAgentRunResponse {
    pub items: Vec<AgentRunResponse>,
    pub total: usize,
    pub page: usize,
    pub size: usize,
    pub pages: usize,
}

/// One step of a run's trace.
#[derive(Serialize, ToSchema, Debug, Clone)]
pub struct AgentRunLog {
    pub agent_run_id: u64,
    pub created_at: Option<String>,
    pub tool_name: Option<String>,
    /// USER_MESSAGE, PLAN_EVALUATION, ACTION, FINAL_ANSWER or ERROR.
    pub message_type: Option<&'static str>,
    pub thought: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub observation: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub tool_input: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub tool_output: Option<Value>,
}

#[derive(Serialize, ToSchema)]
pub struct AgentRunWithLogsResponse {
    pub id: u64,
    pub organization_id: i64,
    pub status: Option<&'static str>,
    pub created_at: Option<String>,
    pub web_url: Option<String>,
    pub result: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    pub logs: Vec<AgentRunLog>,
    pub total_logs: usize,
    pub page: usize,
    pub size: usize,
    pub pages: usize,
}

/// UserResponse.
#[derive(Serialize, ToSchema)]
pub struct UserResponse {
    pub id: i64,
    pub email: Option<String>,
    pub github_user_id: String,
    pub github_username: String,
    pub avatar_url: Option<String>,
    pub full_name: Option<String>,
    pub role: Option<String>,
    pub is_admin: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct PageUserResponse {
    pub items: Vec<UserResponse>,
    pub total: usize,
    pub page: usize,
    pub size: usize,
    pub pages: usize,
}

#[derive(Serialize, ToSchema)]
pub struct OrganizationSettings {
    pub enable_pr_creation: bool,
    pub enable_rules_detection: bool,
}

#[derive(Serialize, ToSchema)]
pub struct OrganizationResponse {
    pub id: i64,
    pub name: String,
    pub settings: OrganizationSettings,
}

#[derive(Serialize, ToSchema)]
pub struct PageOrganizationResponse {
    pub items: Vec<OrganizationResponse>,
    pub total: usize,
    pub page: usize,
    pub size: usize,
    pub pages: usize,
}

/// ApiAgentRunSourceType; runs created through this API are `API`.
pub const SOURCE_TYPES: [&str; 12] = [
    "LOCAL",
    "SLACK",
    "GITHUB",
    "GITHUB_CHECK_SUITE",
    "GITHUB_PR_REVIEW",
    "LINEAR",
    "API",
    "CHAT",
    "JIRA",
    "CLICKUP",
    "MONDAY",
    "SETUP_COMMANDS",
];
pub const SOURCE_API: &str = "API";

pub fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_numbers_are_one_based() {
        assert_eq!(page_numbers(0, 0, 100), (1, 0));
        assert_eq!(page_numbers(5, 2, 2), (2, 3));
        assert_eq!(page_numbers(4, 4, 2), (3, 2));
    }
}
