//! `[models.NAME]`: the upstream models agents use (provider, endpoint,
//! key, generation settings, retries and timeouts), with the checks of
//! their values and of the generation settings an agent may override.

use serde::Deserialize;

use super::{ANTHROPIC_DEFAULT_MAX_TOKENS, Config, ConfigError};

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Deterministic, offline; see `models::builtin`.
    Builtin,
    /// OpenAI chat completions and every server that speaks it (Ollama, vLLM, llama.cpp...).
    Openai,
    /// The Anthropic Messages API.
    Anthropic,
    /// `openai` when `api_key` or `base_url` resolves to a non-empty value, else `builtin`:
    /// lets one default config work both offline and with `OPENAI_API_KEY` set.
    Auto,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub provider: Provider,
    /// The upstream model name (e.g. `gpt-4o-mini`, `llama3.1`).
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub api_key: Option<String>,
    #[serde(default)]
    pub temperature: Option<f32>,
    /// Output token limit; Anthropic requires one, so it defaults there.
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// Sequences that end generation.
    #[serde(default)]
    pub stop: Option<Vec<String>>,
    /// JSON Schema the final answer must satisfy (an inline table, or the
    /// schema as a JSON string). Agents may override it.
    #[serde(default, deserialize_with = "de_schema")]
    pub response_schema: Option<serde_json::Value>,
    /// OpenAI `strict` structured outputs (the schema must then follow
    /// OpenAI's strict subset). Defaults to true.
    #[serde(default)]
    pub response_schema_strict: Option<bool>,
    /// Anthropic only: the `anthropic-version` header.
    #[serde(default)]
    pub anthropic_version: Option<String>,
    /// Anthropic only: enables extended thinking with this token budget
    /// (at least 1024, below `max_tokens`).
    #[serde(default)]
    pub thinking_budget_tokens: Option<u32>,
    /// Further attempts after a connect error, 429, 529 or 5xx that came
    /// before any output.
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    /// Seconds to establish a connection upstream.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: u64,
    /// Seconds of silence allowed between two chunks of an upstream stream.
    #[serde(default = "default_read_timeout")]
    pub read_timeout_secs: u64,
    /// Builtin only: pause between streamed tokens, to imitate a real model.
    #[serde(default)]
    pub token_delay_ms: u64,
    /// Speak HTTP/2 to a plain-`http://` upstream without asking first
    /// (h2c, like curl's `--http2-prior-knowledge`), for gateways that
    /// serve it. Every stream to the model then shares a few connections
    /// instead of holding one each: 5-9 KB less memory per concurrent run
    /// (bench row 4). `https://` upstreams negotiate HTTP/2 on their own (ALPN),
    /// so this is for cleartext ones; an HTTP/1.1-only server refuses it.
    #[serde(default)]
    pub http2_prior_knowledge: bool,
    /// Requests one upstream client carries at once before agentd opens
    /// another. An HTTP/2 connection (HTTPS providers negotiate it) takes
    /// only as many concurrent streams as its server allows and makes the
    /// rest wait; servers allow at least 100 (RFC 9113 recommends it).
    #[serde(default = "default_max_streams_per_connection")]
    pub max_streams_per_connection: usize,
}

// A model entry has a required field (`provider`), so it has no `Default`
// to take missing fields from: these four name the defaults serde uses.

fn default_max_streams_per_connection() -> usize {
    100
}

fn default_max_retries() -> u32 {
    2
}
fn default_connect_timeout() -> u64 {
    10
}
fn default_read_timeout() -> u64 {
    120
}

impl ModelConfig {
    /// The provider after resolving `auto`.
    pub fn effective_provider(&self) -> Provider {
        match self.provider {
            Provider::Auto => {
                let set = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
                if set(&self.api_key) || set(&self.base_url) {
                    Provider::Openai
                } else {
                    Provider::Builtin
                }
            }
            p => p,
        }
    }
}

/// A schema is written as a TOML table, or as JSON text in a string (easier
/// to paste, and the only way to spell `null` or mixed arrays).
pub(super) fn de_schema<'de, D>(de: D) -> Result<Option<serde_json::Value>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let value = Option::<serde_json::Value>::deserialize(de)?;
    match value {
        Some(serde_json::Value::String(text)) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| serde::de::Error::custom(format!("response_schema is not JSON: {e}"))),
        other => Ok(other),
    }
}

impl Config {
    pub(super) fn validate_models(&self) -> Result<(), ConfigError> {
        for (name, model) in &self.models {
            let provider = model.effective_provider();
            if matches!(provider, Provider::Openai | Provider::Anthropic)
                && model.model.as_deref().unwrap_or("").is_empty()
            {
                return Err(self.invalid(
                    format!("models.{name}.model"),
                    "a remote model needs the upstream model name",
                ));
            }
            self.validate_settings(
                &format!("models.{name}"),
                model.temperature,
                model.max_tokens,
                model.response_schema.as_ref(),
            )?;
            if let Some(budget) = model.thinking_budget_tokens {
                let max = model.max_tokens.unwrap_or(ANTHROPIC_DEFAULT_MAX_TOKENS);
                if budget < 1024 || budget >= max {
                    return Err(self.invalid(
                        format!("models.{name}.thinking_budget_tokens"),
                        format!("must be at least 1024 and below max_tokens ({max})"),
                    ));
                }
            }
            if let Some(url) = model.base_url.as_deref().filter(|u| !u.is_empty())
                && !(url.starts_with("http://") || url.starts_with("https://"))
            {
                return Err(self.invalid(
                    format!("models.{name}.base_url"),
                    format!("'{url}' must start with http:// or https://"),
                ));
            }
        }
        Ok(())
    }

    /// Checks the generation settings an agent or a model may carry.
    pub(super) fn validate_settings(
        &self,
        prefix: &str,
        temperature: Option<f32>,
        max_tokens: Option<u32>,
        schema: Option<&serde_json::Value>,
    ) -> Result<(), ConfigError> {
        if let Some(t) = temperature
            && !(0.0..=2.0).contains(&t)
        {
            return Err(self.invalid(format!("{prefix}.temperature"), "must be between 0 and 2"));
        }
        if max_tokens == Some(0) {
            return Err(self.invalid(format!("{prefix}.max_tokens"), "must be at least 1"));
        }
        if let Some(schema) = schema {
            if !schema.is_object() {
                return Err(self.invalid(
                    format!("{prefix}.response_schema"),
                    "must be a JSON Schema object",
                ));
            }
            if let Err(e) = jsonschema::validator_for(schema) {
                return Err(self.invalid(
                    format!("{prefix}.response_schema"),
                    format!("is not a valid JSON Schema: {e}"),
                ));
            }
        }
        Ok(())
    }
}
