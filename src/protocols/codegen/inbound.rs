//! Wire -> engine for Codegen: request bodies validated the way
//! FastAPI/pydantic would (every problem reported, so clients get the 422
//! details they expect), query and path parameters, and a validated create
//! body turned into the run's ledger entry and first message.
//!
//! Knows the Codegen config (models, agent types) but never the store.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::access::Caller;
use super::error::{CodegenError, ValidationIssue, issue};
use super::ledger::Ledger;
use super::wire::{SOURCE_TYPES, truncate};
use crate::config::{CodegenAgentType, CodegenOrganization, Config};
use crate::engine::{Attachment, MediaKind, Message};

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
            let mut found = issue(
                vec![json!("body"), json!(e.column())],
                "json_invalid",
                "JSON decode error",
                json!({}),
            );
            if body.iter().all(u8::is_ascii_whitespace) {
                found = issue(
                    vec![json!("body")],
                    "missing",
                    "Field required",
                    Value::Null,
                );
            }
            CodegenError::invalid(found)
        })?;
        match value {
            Value::Object(map) => Ok(Self {
                map,
                issues: Vec::new(),
            }),
            other => Err(CodegenError::invalid(issue(
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
                self.issues.push(issue(
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
            None => issue(Self::loc(name), "missing", "Field required", Value::Null),
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
                let issue = issue(
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
            self.issues.push(issue(
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
                    Err(msg) => self.issues.push(issue(
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
    issue(
        loc,
        "string_type",
        "Input should be a valid string",
        input.clone(),
    )
}

fn int_type(loc: Vec<Value>, input: &Value) -> ValidationIssue {
    issue(
        loc,
        "int_type",
        "Input should be a valid integer",
        input.clone(),
    )
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
            f.issues.push(issue(
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
        CodegenError::invalid(issue(
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
            self.issues.push(issue(
                loc,
                "int_parsing",
                "Input should be a valid integer, unable to parse string as an integer",
                json!(raw),
            ));
            return None;
        };
        if let Some(min) = min.filter(|m| n < *m) {
            self.issues.push(issue(
                loc,
                "greater_than_equal",
                format!("Input should be greater than or equal to {min}"),
                json!(raw),
            ));
            return None;
        }
        if let Some(max) = max.filter(|m| n > *m) {
            self.issues.push(issue(
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
                self.issues.push(issue(
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
        self.issues.push(issue(
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

/// `skip` and `limit` with the spec's bounds and defaults.
pub fn paging(q: &mut Query) -> (usize, usize) {
    let skip = q.int("skip", Some(0), None).unwrap_or(0);
    let limit = q.int("limit", Some(1), Some(100)).unwrap_or(100);
    (skip as usize, limit as usize)
}

pub fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, CodegenError> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            CodegenError::PayloadTooLarge(None)
        } else {
            CodegenError::invalid(issue(
                vec![json!("body")],
                "value_error",
                format!("The request body could not be read: {e}"),
                serde_json::Value::Null,
            ))
        }
    })
}

/// A path run id; a negative one names no run.
pub fn run_id_param(raw: &str) -> Result<Option<u64>, CodegenError> {
    Ok(u64::try_from(path_int("agent_run_id", raw)?).ok())
}

/// Turns a validated create body into the run's ledger and first message.
pub fn plan_create(
    config: &Config,
    caller: &Caller<'_>,
    org: &CodegenOrganization,
    input: CreateRun,
) -> Result<(Ledger, Message), CodegenError> {
    let cg = caller.config;
    let model = match input.model {
        None => None,
        Some(name) => match cg.models.get(&name) {
            Some(key) => Some(key.clone()),
            None => {
                let known: Vec<&str> = cg.models.keys().map(String::as_str).collect();
                return Err(CodegenError::invalid(issue(
                    vec![json!("body"), json!("model")],
                    "value_error",
                    if known.is_empty() {
                        format!(
                            "Value error, model '{name}' is not available: this server allows no model override"
                        )
                    } else {
                        format!(
                            "Value error, model '{name}' is not available (available: {})",
                            known.join(", ")
                        )
                    },
                    json!(name),
                )));
            }
        },
    };
    if let Some(repo_id) = input.repo_id
        && !org.repositories.iter().any(|r| r.id == repo_id)
    {
        return Err(CodegenError::RepoNotFound);
    }
    let agent_type = input.agent_type.unwrap_or(cg.default_agent_type);
    let agent_id = cg
        .agent_types
        .get(agent_type)
        .or_else(|| config.agents.first().map(|a| a.id.as_str()))
        .ok_or_else(|| CodegenError::Internal("no agent is configured".into()))?
        .to_string();
    let mut message = Message::user(input.prompt);
    message.attachments = input.images;
    let ledger = Ledger {
        id: 0,
        organization_id: org.id,
        user_id: caller.user_id(),
        token_user: caller.token_user().map(str::to_string),
        repo_id: input.repo_id,
        agent_type: agent_type.as_str().to_string(),
        agent_id,
        model,
        metadata: input.metadata,
        runs: Vec::new(),
        created_at: 0,
    };
    Ok((ledger, message))
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
}
