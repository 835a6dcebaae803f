//! Model backends behind one streaming trait.
//!
//! A backend turns a `ModelRequest` (messages and tool specs in the engine's
//! vocabulary) into a stream of `ModelDelta`s. Backends know nothing of runs,
//! events or protocols; the agent loop in `engine` drives them.

pub mod anthropic;
pub mod builtin;
pub mod http;
pub mod openai;
pub mod sse;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;

use serde_json::Value;

use crate::config::{AgentConfig, Config, ModelConfig, Provider};
use crate::domain::{Delta, FailureKind, MediaKind, Message, ToolSpec, Usage};

#[derive(Debug, Clone, Default)]
pub struct ModelRequest {
    pub messages: Vec<Message>,
    pub tools: Vec<ToolSpec>,
    /// Per-request generation settings; unset ones fall back to the model's config.
    pub settings: ModelSettings,
}

/// Generation settings an agent may set over its model's defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelSettings {
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    pub stop: Option<Vec<String>>,
    /// Ask for JSON matching a schema as the final answer.
    pub response_format: Option<ResponseFormat>,
}

/// Structured output: the final answer is JSON valid against `schema`.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseFormat {
    /// A name for the schema (OpenAI requires one).
    pub name: String,
    pub schema: Value,
    /// OpenAI strict mode (the provider enforces the schema while decoding).
    pub strict: bool,
}

impl ModelSettings {
    /// The agent's settings over its model's: the agent wins field by field.
    pub fn for_agent(agent: &AgentConfig, model: Option<&ModelConfig>) -> Self {
        let schema = agent
            .response_schema
            .clone()
            .or_else(|| model.and_then(|m| m.response_schema.clone()));
        let strict = agent
            .response_schema_strict
            .or_else(|| model.and_then(|m| m.response_schema_strict))
            .unwrap_or(true);
        Self {
            temperature: agent.temperature.or(model.and_then(|m| m.temperature)),
            max_tokens: agent.max_tokens.or(model.and_then(|m| m.max_tokens)),
            stop: agent
                .stop
                .clone()
                .or_else(|| model.and_then(|m| m.stop.clone())),
            response_format: schema.map(|schema| ResponseFormat {
                name: schema_name(&schema),
                schema,
                strict,
            }),
        }
    }
}

/// The schema's `title` made safe for OpenAI's `name` (a-z, 0-9, _ and -,
/// at most 64), or `response`.
fn schema_name(schema: &Value) -> String {
    let name: String = schema
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or("")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if name.trim_matches('_').is_empty() {
        "response".to_string()
    } else {
        name
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ModelDelta {
    /// Text and reasoning come a token at a time: inline, as the event that
    /// carries them on holds them.
    Text(Delta),
    Reasoning(Delta),
    /// An opaque provider token for the reasoning streamed so far (see
    /// `Message::reasoning_signature`).
    ReasoningSignature(String),
    /// A fragment of a tool call. `index` groups fragments of one call; the
    /// first fragment of a call carries its id and name.
    ToolCall {
        index: usize,
        id: Option<String>,
        name: Option<String>,
        arguments: String,
    },
    Usage(Usage),
}

/// Image types OpenAI-compatible and Anthropic vision models both read.
pub const COMMON_IMAGE_TYPES: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];

pub type ModelStream = BoxStream<'static, Result<ModelDelta, ModelError>>;

/// Every way an upstream model can fail, so runs end with a typed failure.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ModelError {
    #[error("cannot connect to the model provider: {0}")]
    Connect(String),
    #[error("the model provider did not answer in time: {0}")]
    Timeout(String),
    #[error("the model provider refused the credentials (HTTP {status}): {message}")]
    Auth { status: u16, message: String },
    #[error("the model provider is rate limiting (HTTP 429){}: {message}", retry_hint(*.retry_after_secs))]
    RateLimited {
        message: String,
        retry_after_secs: Option<u64>,
    },
    #[error("the model provider is overloaded (HTTP {status}){}: {message}", retry_hint(*.retry_after_secs))]
    Overloaded {
        status: u16,
        message: String,
        retry_after_secs: Option<u64>,
    },
    #[error("the model provider failed (HTTP {status}): {message}")]
    Upstream { status: u16, message: String },
    #[error("the model provider rejected the request (HTTP {status}): {message}")]
    BadRequest { status: u16, message: String },
    #[error("the model stream ended before it was complete: {0}")]
    StreamCut(String),
    #[error("the model sent a malformed chunk: {0}")]
    Malformed(String),
}

fn retry_hint(secs: Option<u64>) -> String {
    secs.map(|s| format!(", retry after {s}s"))
        .unwrap_or_default()
}

impl ModelError {
    pub fn kind(&self) -> FailureKind {
        match self {
            ModelError::Connect(_) => FailureKind::ModelConnect,
            ModelError::Timeout(_) => FailureKind::ModelTimeout,
            ModelError::Auth { .. } => FailureKind::ModelAuth,
            ModelError::RateLimited { .. } => FailureKind::ModelRateLimited,
            ModelError::Overloaded { .. } => FailureKind::ModelOverloaded,
            ModelError::Upstream { .. } => FailureKind::ModelUpstream,
            ModelError::BadRequest { .. } => FailureKind::ModelBadRequest,
            ModelError::StreamCut(_) => FailureKind::ModelStreamCut,
            ModelError::Malformed(_) => FailureKind::ModelMalformed,
        }
    }

    /// Faults worth another try, as long as no output has been streamed yet.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ModelError::Connect(_)
                | ModelError::RateLimited { .. }
                | ModelError::Overloaded { .. }
                | ModelError::Upstream { .. }
        )
    }

    /// Faults of the provider's availability, which another model may not
    /// share: worth a fallback model. Credentials and request errors are the
    /// operator's or the caller's to fix, so they surface instead.
    pub fn allows_fallback(&self) -> bool {
        self.is_retryable()
            || matches!(
                self,
                ModelError::Timeout(_) | ModelError::StreamCut(_) | ModelError::Malformed(_)
            )
    }

    /// What the provider asked us to wait before trying again.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ModelError::RateLimited {
                retry_after_secs, ..
            }
            | ModelError::Overloaded {
                retry_after_secs, ..
            } => *retry_after_secs,
            _ => None,
        }
    }
}

#[async_trait]
pub trait Model: Send + Sync {
    /// The upstream model name reported to clients.
    fn name(&self) -> &str;
    /// The provider label reported to clients (e.g. `OpenAI`, `builtin`).
    fn provider(&self) -> &str;
    /// Whether this model takes media of this kind and type as input. The
    /// engine refuses (or only references) files a model cannot take, so a
    /// run fails before it starts with the file named, not upstream. The
    /// default is the image formats every vision API reads.
    fn accepts(&self, kind: MediaKind, mime_type: &str) -> bool {
        kind == MediaKind::Image && COMMON_IMAGE_TYPES.contains(&mime_type)
    }
    async fn stream(&self, request: ModelRequest) -> Result<ModelStream, ModelError>;
}

/// The configured models, built once at start.
#[derive(Clone, Default)]
pub struct ModelRegistry {
    models: HashMap<String, Arc<dyn Model>>,
}

#[derive(Debug, thiserror::Error)]
#[error("model '{name}': {message}")]
pub struct ModelBuildError {
    pub name: String,
    pub message: String,
}

impl ModelRegistry {
    pub fn from_config(config: &Config) -> Result<Self, ModelBuildError> {
        let mut models: HashMap<String, Arc<dyn Model>> = HashMap::new();
        for (name, cfg) in &config.models {
            models.insert(name.clone(), build(name, cfg)?);
        }
        Ok(Self { models })
    }

    pub fn insert(&mut self, name: impl Into<String>, model: Arc<dyn Model>) {
        self.models.insert(name.into(), model);
    }

    pub fn get(&self, name: &str) -> Option<Arc<dyn Model>> {
        self.models.get(name).cloned()
    }
}

fn build(name: &str, cfg: &ModelConfig) -> Result<Arc<dyn Model>, ModelBuildError> {
    Ok(match cfg.effective_provider() {
        Provider::Builtin => Arc::new(builtin::BuiltinModel::new(cfg)),
        Provider::Openai | Provider::Auto => Arc::new(openai::OpenAiModel::new(cfg).map_err(
            |message| ModelBuildError {
                name: name.to_string(),
                message,
            },
        )?),
        Provider::Anthropic => Arc::new(anthropic::AnthropicModel::new(cfg).map_err(
            |message| ModelBuildError {
                name: name.to_string(),
                message,
            },
        )?),
    })
}
