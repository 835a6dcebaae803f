//! Codegen wire shapes: request bodies (validated the way FastAPI/pydantic
//! would, so clients get the 422 details they expect), query and path
//! parameters, responses, and the translation of engine runs and events into
//! `AgentRunResponse` and agent-run logs (docs/specs/codegen.md §2-§4).
//!
//! Knows nothing of auth, config or the store: handlers feed it records.

use std::sync::Arc;

use base64::Engine as _;
use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, ToSchema};

use super::error::{CodegenError, ValidationIssue};
use crate::config::CodegenAgentType;
use crate::engine::{
    Attachment, CompletedData, Event, EventKind, MediaKind, RunRecord, RunStatus, ToolResultData,
};
use crate::web::time::{self, rfc3339};

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

/// A validated create-run body.
#[derive(Debug)]
pub struct CreateRun {
    pub prompt: String,
    pub images: Vec<Attachment>,
    pub metadata: Option<Value>,
    pub repo_id: Option<i64>,
    pub model: Option<String>,
    pub agent_type: Option<CodegenAgentType>,
}

/// A validated resume body.
#[derive(Debug)]
pub struct ResumeRun {
    pub agent_run_id: u64,
    pub prompt: String,
    pub images: Vec<Attachment>,
}

/// Collects every problem with a JSON body, as pydantic reports them all.
struct Fields {
    map: Map<String, Value>,
    issues: Vec<ValidationIssue>,
}

impl Fields {
    fn parse(body: &[u8]) -> Result<Self, CodegenError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            let mut issue = ValidationIssue::new(
                vec![json!("body"), json!(e.column())],
                "json_invalid",
                "JSON decode error",
                json!({}),
            );
            if body.iter().all(u8::is_ascii_whitespace) {
                issue = ValidationIssue::new(
                    vec![json!("body")],
                    "missing",
                    "Field required",
                    Value::Null,
                );
            }
            CodegenError::invalid(issue)
        })?;
        match value {
            Value::Object(map) => Ok(Self {
                map,
                issues: Vec::new(),
            }),
            other => Err(CodegenError::invalid(ValidationIssue::new(
                vec![json!("body")],
                "model_attributes_type",
                "Input should be a valid dictionary or object to extract fields from",
                other,
            ))),
        }
    }

    fn loc(name: &str) -> Vec<Value> {
        vec![json!("body"), json!(name)]
    }

    /// The field's value, treating JSON null as absent.
    fn get(&self, name: &str) -> Option<&Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    fn required_string(&mut self, name: &str) -> String {
        match self.map.get(name) {
            Some(Value::String(s)) => s.clone(),
            None => {
                self.issues.push(ValidationIssue::new(
                    Self::loc(name),
                    "missing",
                    "Field required",
                    Value::Null,
                ));
                String::new()
            }
            Some(other) => {
                self.issues.push(string_type(Self::loc(name), other));
                String::new()
            }
        }
    }

    fn string(&mut self, name: &str) -> Option<String> {
        match self.get(name)? {
            Value::String(s) => Some(s.clone()),
            other => {
                let issue = string_type(Self::loc(name), other);
                self.issues.push(issue);
                None
            }
        }
    }

    fn int(&mut self, name: &str) -> Option<i64> {
        let value = self.get(name)?;
        match value.as_i64() {
            Some(n) => Some(n),
            None => {
                let issue = int_type(Self::loc(name), value);
                self.issues.push(issue);
                None
            }
        }
    }

    fn required_int(&mut self, name: &str) -> Option<i64> {
        let issue = match self.map.get(name) {
            None => ValidationIssue::new(Self::loc(name), "missing", "Field required", Value::Null),
            Some(v) => match v.as_i64() {
                Some(n) => return Some(n),
                None => int_type(Self::loc(name), v),
            },
        };
        self.issues.push(issue);
        None
    }

    fn object(&mut self, name: &str) -> Option<Value> {
        match self.get(name)? {
            v @ Value::Object(_) => Some(v.clone()),
            other => {
                let issue = ValidationIssue::new(
                    Self::loc(name),
                    "dict_type",
                    "Input should be a valid dictionary",
                    other.clone(),
                );
                self.issues.push(issue);
                None
            }
        }
    }

    fn images(&mut self) -> Vec<Attachment> {
        let Some(value) = self.get("images").cloned() else {
            return Vec::new();
        };
        let Value::Array(items) = value else {
            self.issues.push(ValidationIssue::new(
                Self::loc("images"),
                "list_type",
                "Input should be a valid list",
                value,
            ));
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let loc = vec![json!("body"), json!("images"), json!(i)];
            match item {
                Value::String(uri) => match image_from_data_uri(uri, i) {
                    Ok(a) => out.push(a),
                    Err(msg) => self.issues.push(ValidationIssue::new(
                        loc,
                        "value_error",
                        format!("Value error, {msg}"),
                        json!(truncate(uri, 64)),
                    )),
                },
                other => self.issues.push(string_type(loc, other)),
            }
        }
        out
    }

    fn finish(self) -> Result<(), CodegenError> {
        if self.issues.is_empty() {
            Ok(())
        } else {
            Err(CodegenError::Validation(self.issues))
        }
    }
}

fn string_type(loc: Vec<Value>, input: &Value) -> ValidationIssue {
    ValidationIssue::new(
        loc,
        "string_type",
        "Input should be a valid string",
        input.clone(),
    )
}

fn int_type(loc: Vec<Value>, input: &Value) -> ValidationIssue {
    ValidationIssue::new(
        loc,
        "int_type",
        "Input should be a valid integer",
        input.clone(),
    )
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// An image attachment from `data:image/<type>;base64,<data>`.
fn image_from_data_uri(uri: &str, index: usize) -> Result<Attachment, String> {
    let rest = uri
        .strip_prefix("data:")
        .ok_or("an image must be a data URI (data:image/...;base64,...)")?;
    let (header, data) = rest
        .split_once(',')
        .ok_or("the data URI has no ',' before its data")?;
    let mut parts = header.split(';');
    let mime = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    if !parts.any(|p| p.trim().eq_ignore_ascii_case("base64")) {
        return Err("the data URI must be base64-encoded (;base64,)".into());
    }
    let Some(subtype) = mime.strip_prefix("image/").filter(|s| !s.is_empty()) else {
        return Err(format!("'{mime}' is not an image media type"));
    };
    let data: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if data.is_empty() {
        return Err("the image data is empty".into());
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&data)
        .map_err(|e| format!("the image data is not valid base64 ({e})"))?;
    // Only images go this way: a PDF or DOCX here would otherwise be read
    // as the document it is.
    if let Some(reason) = crate::engine::not_an_image(&bytes) {
        return Err(format!("the data is not an image: {reason}"));
    }
    let ext = subtype.split('+').next().unwrap_or(subtype);
    Ok(Attachment {
        kind: MediaKind::Image,
        mime_type: mime.clone(),
        name: Some(format!("image-{}.{ext}", index + 1)),
        data: Some(data),
        url: None,
    })
}

pub fn parse_create(body: &[u8]) -> Result<CreateRun, CodegenError> {
    let mut f = Fields::parse(body)?;
    let prompt = f.required_string("prompt");
    let images = f.images();
    let metadata = f.object("metadata");
    let repo_id = f.int("repo_id");
    let model = f.string("model");
    let agent_type = match f.get("agent_type").cloned() {
        None => None,
        Some(Value::String(s)) if s == "codegen" => Some(CodegenAgentType::Codegen),
        Some(Value::String(s)) if s == "claude_code" => Some(CodegenAgentType::ClaudeCode),
        Some(other) => {
            f.issues.push(ValidationIssue::new(
                Fields::loc("agent_type"),
                "enum",
                "Input should be 'codegen' or 'claude_code'",
                other,
            ));
            None
        }
    };
    f.finish()?;
    Ok(CreateRun {
        prompt,
        images,
        metadata,
        repo_id,
        model,
        agent_type,
    })
}

pub fn parse_resume(body: &[u8]) -> Result<ResumeRun, CodegenError> {
    let mut f = Fields::parse(body)?;
    let id = f.required_int("agent_run_id");
    let prompt = f.required_string("prompt");
    let images = f.images();
    f.finish()?;
    Ok(ResumeRun {
        // A negative id names no run: it is simply not found.
        agent_run_id: id.and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
        prompt,
        images,
    })
}

/// An integer path parameter, or FastAPI's `int_parsing` error.
pub fn path_int(name: &str, raw: &str) -> Result<i64, CodegenError> {
    raw.trim().parse::<i64>().map_err(|_| {
        CodegenError::invalid(ValidationIssue::new(
            vec![json!("path"), json!(name)],
            "int_parsing",
            "Input should be a valid integer, unable to parse string as an integer",
            json!(raw),
        ))
    })
}

/// Query parameters, validated one by one with FastAPI's messages.
pub struct Query {
    pairs: Vec<(String, String)>,
    issues: Vec<ValidationIssue>,
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Self {
        Self {
            pairs: raw
                .and_then(|q| serde_urlencoded::from_str(q).ok())
                .unwrap_or_default(),
            issues: Vec::new(),
        }
    }

    fn raw(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// An optional integer within `[min, max]`.
    pub fn int(&mut self, name: &str, min: Option<i64>, max: Option<i64>) -> Option<i64> {
        let raw = self.raw(name)?.to_string();
        let loc = vec![json!("query"), json!(name)];
        let Ok(n) = raw.trim().parse::<i64>() else {
            self.issues.push(ValidationIssue::new(
                loc,
                "int_parsing",
                "Input should be a valid integer, unable to parse string as an integer",
                json!(raw),
            ));
            return None;
        };
        if let Some(min) = min.filter(|m| n < *m) {
            self.issues.push(ValidationIssue::new(
                loc,
                "greater_than_equal",
                format!("Input should be greater than or equal to {min}"),
                json!(raw),
            ));
            return None;
        }
        if let Some(max) = max.filter(|m| n > *m) {
            self.issues.push(ValidationIssue::new(
                loc,
                "less_than_equal",
                format!("Input should be less than or equal to {max}"),
                json!(raw),
            ));
            return None;
        }
        Some(n)
    }

    pub fn bool(&mut self, name: &str, default: bool) -> bool {
        let Some(raw) = self.raw(name).map(str::to_ascii_lowercase) else {
            return default;
        };
        match raw.as_str() {
            "true" | "1" | "yes" | "on" | "t" | "y" => true,
            "false" | "0" | "no" | "off" | "f" | "n" => false,
            _ => {
                self.issues.push(ValidationIssue::new(
                    vec![json!("query"), json!(name)],
                    "bool_parsing",
                    "Input should be a valid boolean, unable to interpret input",
                    json!(raw),
                ));
                default
            }
        }
    }

    pub fn source_type(&mut self) -> Option<String> {
        let raw = self.raw("source_type")?.to_string();
        if SOURCE_TYPES.contains(&raw.as_str()) {
            return Some(raw);
        }
        let choices: Vec<String> = SOURCE_TYPES.iter().map(|s| format!("'{s}'")).collect();
        self.issues.push(ValidationIssue::new(
            vec![json!("query"), json!("source_type")],
            "enum",
            format!(
                "Input should be {} or {}",
                choices[..choices.len() - 1].join(", "),
                choices[choices.len() - 1]
            ),
            json!(raw),
        ));
        None
    }

    pub fn finish(self) -> Result<(), CodegenError> {
        if self.issues.is_empty() {
            Ok(())
        } else {
            Err(CodegenError::Validation(self.issues))
        }
    }
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

/// `skip` and `limit` with the spec's bounds and defaults.
pub fn paging(q: &mut Query) -> (usize, usize) {
    let skip = q.int("skip", Some(0), None).unwrap_or(0);
    let limit = q.int("limit", Some(1), Some(100)).unwrap_or(100);
    (skip as usize, limit as usize)
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

/// What a handler knows of a Codegen run besides its latest engine run.
pub struct RunView<'a> {
    pub id: u64,
    pub organization_id: i64,
    pub created_at_ms: i64,
    pub metadata: Option<&'a Value>,
    pub web_url: String,
}

pub fn status(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Pending => "PENDING",
        RunStatus::Running => "RUNNING",
        RunStatus::Awaiting => "PAUSED",
        RunStatus::Completed => "COMPLETE",
        RunStatus::Failed => "FAILED",
        RunStatus::Cancelled => "CANCELLED",
    }
}

/// A one-line description of how the run ended, for `summary`.
fn summary(run: &RunRecord) -> Option<String> {
    match run.status {
        RunStatus::Completed => {
            let first = run.content.lines().find(|l| !l.trim().is_empty())?;
            Some(truncate(first.trim(), 200))
        }
        RunStatus::Failed => Some(format!(
            "Failed: {}",
            run.error
                .as_ref()
                .map_or("unknown error", |e| e.message.as_str())
        )),
        RunStatus::Cancelled => Some("Cancelled before it finished.".into()),
        _ => None,
    }
}

pub fn agent_run(view: &RunView<'_>, latest: Option<&RunRecord>) -> AgentRunResponse {
    AgentRunResponse {
        id: view.id,
        organization_id: view.organization_id,
        status: latest.map(|r| status(r.status)),
        created_at: Some(rfc3339(view.created_at_ms, time::CODEGEN)),
        web_url: Some(view.web_url.clone()),
        result: latest
            .filter(|r| r.status == RunStatus::Completed)
            .map(|r| r.content.clone()),
        summary: latest.and_then(summary),
        source_type: Some(SOURCE_API),
        github_pull_requests: Some(Vec::new()),
        metadata: view.metadata.cloned(),
    }
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

impl AgentRunLog {
    fn new(id: u64, at: i64, kind: &'static str) -> Self {
        Self {
            agent_run_id: id,
            created_at: Some(rfc3339(at, time::CODEGEN)),
            tool_name: None,
            message_type: Some(kind),
            thought: None,
            observation: None,
            tool_input: None,
            tool_output: None,
        }
    }
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

/// The trace of a Codegen run: each engine run's prompt, reasoning, tool
/// calls with their results, and how it ended, oldest first.
pub fn logs(id: u64, runs: &[(RunRecord, Vec<Arc<Event>>)]) -> Vec<AgentRunLog> {
    let mut out = Vec::new();
    for (record, events) in runs {
        let mut prompt = AgentRunLog::new(id, record.created_at, "USER_MESSAGE");
        prompt.observation = Some(json!(record.input_text()));
        out.push(prompt);
        // Text the model wrote before calling tools is its thought for them.
        let mut thought: Option<String> = None;
        for ev in events {
            match &ev.kind {
                EventKind::MessageCompleted { text, .. } if !text.trim().is_empty() => {
                    thought = Some(text.clone());
                }
                EventKind::ReasoningCompleted { text, .. } => {
                    let mut log = AgentRunLog::new(id, ev.at, "PLAN_EVALUATION");
                    log.thought = Some(text.clone());
                    out.push(log);
                }
                EventKind::ToolResult(d) => {
                    let ToolResultData {
                        name,
                        arguments,
                        result,
                        is_error,
                        ..
                    } = &**d;
                    let mut log = AgentRunLog::new(id, ev.at, "ACTION");
                    log.tool_name = Some(name.clone());
                    log.thought = thought.take();
                    log.tool_input = Some(match arguments {
                        v @ Value::Object(_) => v.clone(),
                        other => json!({ "input": other }),
                    });
                    log.tool_output = Some(match serde_json::from_str::<Value>(result) {
                        Ok(v @ Value::Object(_)) => v,
                        _ => json!({ "result": result, "is_error": is_error }),
                    });
                    log.observation = Some(json!(result));
                    out.push(log);
                }
                EventKind::Awaiting { pending } => {
                    for call in pending {
                        let mut log = AgentRunLog::new(id, ev.at, "ACTION");
                        log.tool_name = Some(call.name.clone());
                        log.thought = thought.take();
                        log.tool_input = Some(call.arguments.clone());
                        log.observation = Some(json!(if call.needs_approval() {
                            "Waiting for approval to run this call."
                        } else {
                            "Waiting for the result of this call."
                        }));
                        out.push(log);
                    }
                }
                EventKind::Completed(d) => {
                    let CompletedData { content, .. } = &**d;
                    let mut log = AgentRunLog::new(id, ev.at, "FINAL_ANSWER");
                    log.observation = Some(json!(content));
                    out.push(log);
                }
                EventKind::Failed { error } => {
                    let mut log = AgentRunLog::new(id, ev.at, "ERROR");
                    log.observation = Some(json!({
                        "error": error.message,
                        "kind": error.kind.as_str(),
                    }));
                    out.push(log);
                }
                EventKind::Cancelled { reason, .. } => {
                    let mut log = AgentRunLog::new(id, ev.at, "ERROR");
                    log.observation = Some(json!(reason));
                    out.push(log);
                }
                _ => {}
            }
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_prompt_is_fastapi_shaped() {
        let err = parse_create(br#"{"images": []}"#).unwrap_err();
        let CodegenError::Validation(issues) = err else {
            panic!("not a validation error")
        };
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].loc, vec![json!("body"), json!("prompt")]);
        assert_eq!(issues[0].kind, "missing");
        assert_eq!(issues[0].msg, "Field required");
    }

    #[test]
    fn every_bad_field_is_reported() {
        let body = br#"{"prompt": 1, "images": ["x", 2], "metadata": [], "repo_id": "a", "agent_type": "x"}"#;
        let CodegenError::Validation(issues) = parse_create(body).unwrap_err() else {
            panic!("not a validation error")
        };
        let locs: Vec<String> = issues
            .iter()
            .map(|i| {
                i.loc
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(".")
            })
            .collect();
        assert_eq!(
            locs,
            [
                r#""body"."prompt""#,
                r#""body"."images".0"#,
                r#""body"."images".1"#,
                r#""body"."metadata""#,
                r#""body"."repo_id""#,
                r#""body"."agent_type""#,
            ]
        );
    }

    #[test]
    fn data_uris_become_image_attachments() {
        let a = image_from_data_uri("data:image/png;base64,iVBORw0KGgo=", 0).unwrap();
        assert_eq!(a.kind, MediaKind::Image);
        assert_eq!(a.mime_type, "image/png");
        assert_eq!(a.name.as_deref(), Some("image-1.png"));
        assert_eq!(a.data.as_deref(), Some("iVBORw0KGgo="));
        assert!(image_from_data_uri("data:text/plain;base64,aGk=", 0).is_err());
        assert!(image_from_data_uri("data:image/png,raw", 0).is_err());
        assert!(image_from_data_uri("data:image/png;base64,***", 0).is_err());
        assert!(image_from_data_uri("https://x/y.png", 0).is_err());
        // A PDF declared as a PNG is refused here, not read as a document.
        let err = image_from_data_uri("data:image/png;base64,JVBERi0xLjQK", 0).unwrap_err();
        assert_eq!(
            err,
            "the data is not an image: its content is application/pdf"
        );
    }

    #[test]
    fn page_numbers_are_one_based() {
        assert_eq!(page_numbers(0, 0, 100), (1, 0));
        assert_eq!(page_numbers(5, 2, 2), (2, 3));
        assert_eq!(page_numbers(4, 4, 2), (3, 2));
    }
}
