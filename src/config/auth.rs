//! `[auth]`: the bearer API keys callers present (bare, or with a name and
//! limits of their own) and the paths served without one, with the checks
//! of their values. Keys are secrets: nothing here prints them.

use serde::Deserialize;

use super::{Config, ConfigError, JwtConfig, RateLimits};

/// Bearer API keys. Off when no non-empty key is configured, so
/// `api_keys = ["${AGENTD_API_KEY:-}"]` turns auth on by setting one variable.
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Each a key, or a table with the key and its own limits:
    /// `{ key = "...", name = "ci", max_concurrent_runs = 2, rate_limits = { acp = 30 } }`.
    pub api_keys: Vec<ApiKey>,
    /// Exact paths served without a key when auth is on (probes and scrapers
    /// usually carry none). /docs and /openapi.json are always public.
    pub public_paths: Vec<String>,
    /// JWT bearer tokens from an OpenID Connect provider (`[auth.jwt]`).
    pub jwt: Option<JwtConfig>,
}

impl AuthConfig {
    /// The configured keys that are not empty.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.api_keys
            .iter()
            .map(ApiKey::key)
            .filter(|k| !k.is_empty())
    }

    pub fn enabled(&self) -> bool {
        self.keys().next().is_some() || self.jwt.is_some()
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            api_keys: Vec::new(),
            public_paths: ["/health", "/ready", "/metrics"].map(String::from).to_vec(),
            jwt: None,
        }
    }
}

/// Keys are secrets: a debug print of the config must never show them.
impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field(
                "api_keys",
                &format_args!("[{} redacted]", self.keys().count()),
            )
            .field("public_paths", &self.public_paths)
            .field("jwt", &self.jwt)
            .finish()
    }
}

/// One entry of `auth.api_keys`: a bare key, or a key with a name (used in
/// place of the key wherever a caller is named) and limits of its own.
#[derive(Clone, PartialEq, Eq)]
pub enum ApiKey {
    Key(String),
    Entry(ApiKeyEntry),
}

#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyEntry {
    pub key: String,
    #[serde(default)]
    pub name: Option<String>,
    /// Overrides `server.max_concurrent_runs_per_key` for this key.
    #[serde(default)]
    pub max_concurrent_runs: Option<usize>,
    /// Override `server.rate_limits` for this key, protocol by protocol.
    #[serde(default)]
    pub rate_limits: RateLimits,
    /// The user this key acts as (a user like any other, seeing only its
    /// own). Unset: the key is an admin, as every key was before users.
    #[serde(default)]
    pub user: Option<String>,
    /// Whether the key sees every user's data; by default, when it names
    /// no `user`.
    #[serde(default)]
    pub admin: Option<bool>,
}

impl ApiKey {
    pub fn key(&self) -> &str {
        match self {
            ApiKey::Key(k) => k,
            ApiKey::Entry(e) => &e.key,
        }
    }

    pub fn name(&self) -> Option<&str> {
        match self {
            ApiKey::Key(_) => None,
            ApiKey::Entry(e) => e.name.as_deref(),
        }
    }

    pub fn max_concurrent_runs(&self) -> Option<usize> {
        match self {
            ApiKey::Key(_) => None,
            ApiKey::Entry(e) => e.max_concurrent_runs,
        }
    }

    pub fn rate_limits(&self) -> RateLimits {
        match self {
            ApiKey::Key(_) => RateLimits::default(),
            ApiKey::Entry(e) => e.rate_limits,
        }
    }

    /// The user this key acts as, if it names one.
    pub fn user(&self) -> Option<&str> {
        match self {
            ApiKey::Key(_) => None,
            ApiKey::Entry(e) => e.user.as_deref(),
        }
    }

    /// Whether this key sees every user's data: a bare key does, and an
    /// entry unless it names a user (either overridden by `admin`).
    pub fn admin(&self) -> bool {
        match self {
            ApiKey::Key(_) => true,
            ApiKey::Entry(e) => e.admin.unwrap_or(e.user.is_none()),
        }
    }
}

impl From<&str> for ApiKey {
    fn from(key: &str) -> Self {
        ApiKey::Key(key.to_string())
    }
}

/// A string or a table, with the table's own field errors (serde's
/// untagged enums would only say that nothing matched).
impl<'de> Deserialize<'de> for ApiKey {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ApiKey;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a key string, or a table with `key` and the key's limits")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ApiKey, E> {
                Ok(ApiKey::Key(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<ApiKey, A::Error> {
                ApiKeyEntry::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(ApiKey::Entry)
            }
        }
        de.deserialize_any(Visitor)
    }
}

impl Config {
    pub(super) fn validate_auth(&self) -> Result<(), ConfigError> {
        let mut keys = std::collections::HashSet::new();
        for (i, key) in self.auth.api_keys.iter().enumerate() {
            if !key.key().is_empty() && !keys.insert(key.key()) {
                return Err(self.invalid(
                    format!("auth.api_keys[{i}]"),
                    "the same key is listed twice",
                ));
            }
        }
        self.validate_identity()?;
        if let Some(p) = self.auth.public_paths.iter().find(|p| !p.starts_with('/')) {
            return Err(self.invalid(
                "auth.public_paths",
                format!("'{p}' must be a path starting with '/'"),
            ));
        }
        Ok(())
    }
}
