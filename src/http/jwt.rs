//! JWT bearer tokens from the deployment's OpenID Connect provider: their
//! signature checked against the provider's JWKS, their claims (`iss`,
//! `aud`, `exp`, `nbf`) checked, and the principal they name read from
//! the configured claims.
//!
//! Verification is `jsonwebtoken` (Keats/jsonwebtoken, with aws-lc-rs, the
//! crypto rustls already builds here); this module only keeps the keys:
//! fetched at start (from `jwks_url`, or the `jwks_uri` of the issuer's
//! discovery document), fetched again when a token names a key id the set
//! lacks (a rotation at the provider, picked up without restart) at most
//! once per `UNKNOWN_KID_REFETCH`, and retried on use while the provider
//! has never answered (fail closed: no keys, no token accepted). Only
//! asymmetric algorithms are accepted; `alg: none` and HMAC never.
//!
//! Depends on config, `net` and the domain's `Principal` only.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, Validation};
use serde_json::{Map, Value};

use crate::config::JwtConfig;
use crate::domain::principal::Principal;

/// Least time between two fetches of the JWKS for tokens naming unknown
/// key ids: an attacker's made-up `kid`s must not turn into a request to
/// the provider each.
pub const UNKNOWN_KID_REFETCH: Duration = Duration::from_secs(30);
/// Least time between two tries while the provider does not answer.
const FAILED_FETCH_RETRY: Duration = Duration::from_secs(1);
/// A JWKS or discovery document larger than this is refused.
const DOCUMENT_BYTES: u64 = 1024 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The signature algorithms accepted: the asymmetric ones a provider's
/// public keys can check.
const ACCEPTED: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Why a token was refused; each is `invalid_token` on the wire, the
/// message its description.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtError {
    #[error("the token is not a signed JWT with a supported algorithm")]
    Malformed,
    #[error(
        "the token's algorithm {0} is not accepted (only the provider's public-key algorithms)"
    )]
    Algorithm(String),
    #[error("the token is signed with a key the provider does not publish")]
    UnknownKey,
    #[error(
        "the provider's signing keys could not be fetched; no token is accepted until they are"
    )]
    KeysUnavailable,
    #[error("the token is invalid: {0}")]
    Invalid(&'static str),
    #[error("the token has no '{0}' claim naming the user")]
    NoUser(String),
}

struct Key {
    kid: Option<String>,
    /// The algorithm the JWK says it is for, when it says.
    alg: Option<Algorithm>,
    family: AlgorithmFamily,
    key: DecodingKey,
}

#[derive(Default)]
struct Fetches {
    /// When a token's unknown `kid` last made us fetch.
    unknown_kid: Option<Instant>,
    /// When a fetch last failed (None once one succeeds).
    failed: Option<Instant>,
}

pub struct JwtVerifier {
    config: JwtConfig,
    client: reqwest::Client,
    keys: RwLock<Option<Arc<Vec<Key>>>>,
    /// One fetch at a time; the others wait for its keys.
    fetches: tokio::sync::Mutex<Fetches>,
}

impl JwtVerifier {
    pub fn new(config: JwtConfig) -> Arc<Self> {
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .build()
            .unwrap_or_default();
        Arc::new(Self {
            config,
            client,
            keys: RwLock::new(None),
            fetches: tokio::sync::Mutex::new(Fetches::default()),
        })
    }

    pub fn config(&self) -> &JwtConfig {
        &self.config
    }

    /// The first fetch, at start: a provider that does not answer is a
    /// warning (tokens are refused until it does), not a failed start.
    pub async fn prefetch(&self) {
        let mut fetches = self.fetches.lock().await;
        if let Err(e) = self.fetch(&mut fetches).await {
            tracing::warn!(
                issuer = %self.config.issuer,
                error = %e,
                "cannot fetch the OpenID provider's signing keys; JWT bearer tokens are \
                 refused until it answers"
            );
        }
    }

    /// The principal `token` names, if the provider signed it and its
    /// claims hold.
    pub async fn verify(&self, token: &str) -> Result<Principal, JwtError> {
        let alg = header_algorithm(token)?;
        let kid = jsonwebtoken::decode_header(token)
            .map_err(|_| JwtError::Malformed)?
            .kid;
        let key = self.key_for(kid.as_deref(), alg).await?;
        let mut validation = Validation::new(alg);
        validation.leeway = self.config.leeway_secs;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|e| JwtError::Invalid(reason(e.kind())))?;
        self.principal(&data.claims)
    }

    fn principal(&self, claims: &Map<String, Value>) -> Result<Principal, JwtError> {
        let cfg = &self.config;
        let user = claim_string(claims.get(&cfg.user_claim))
            .ok_or_else(|| JwtError::NoUser(cfg.user_claim.clone()))?;
        let tenant = cfg
            .tenant_claim
            .as_ref()
            .and_then(|c| claim_string(claims.get(c)));
        let scopes = match claims.get(&cfg.scopes_claim) {
            Some(Value::String(s)) => s.split_whitespace().map(String::from).collect(),
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        };
        Ok(Principal::user(tenant, user, scopes))
    }

    /// The key to check a token signed with `alg` (named `kid`) against,
    /// fetching the set again when it lacks the key and may.
    async fn key_for(&self, kid: Option<&str>, alg: Algorithm) -> Result<DecodingKey, JwtError> {
        let seen = self.current();
        if let Some(keys) = &seen
            && let Some(key) = pick(keys, kid, alg)
        {
            return Ok(key);
        }
        let mut fetches = self.fetches.lock().await;
        // Another request may have fetched while this one waited.
        let now = self.current();
        if let Some(keys) = &now
            && let Some(key) = pick(keys, kid, alg)
        {
            return Ok(key);
        }
        let may_fetch = match (&now, fetches.failed) {
            (None, Some(failed)) => failed.elapsed() >= FAILED_FETCH_RETRY,
            (None, None) => true,
            (Some(_), _) => fetches
                .unknown_kid
                .is_none_or(|t| t.elapsed() >= UNKNOWN_KID_REFETCH),
        };
        if !may_fetch {
            return Err(if now.is_some() {
                JwtError::UnknownKey
            } else {
                JwtError::KeysUnavailable
            });
        }
        if now.is_some() {
            fetches.unknown_kid = Some(Instant::now());
        }
        match self.fetch(&mut fetches).await {
            Ok(keys) => pick(&keys, kid, alg).ok_or(JwtError::UnknownKey),
            Err(e) => {
                tracing::warn!(issuer = %self.config.issuer, error = %e,
                    "cannot fetch the OpenID provider's signing keys");
                if now.is_some() {
                    Err(JwtError::UnknownKey)
                } else {
                    Err(JwtError::KeysUnavailable)
                }
            }
        }
    }

    fn current(&self) -> Option<Arc<Vec<Key>>> {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Fetches the key set (discovering where it is first, unless
    /// configured) and keeps it.
    async fn fetch(&self, fetches: &mut Fetches) -> Result<Arc<Vec<Key>>, String> {
        let result = self.fetch_keys().await;
        match result {
            Ok(keys) => {
                let keys = Arc::new(keys);
                *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Some(keys.clone());
                fetches.failed = None;
                Ok(keys)
            }
            Err(e) => {
                fetches.failed = Some(Instant::now());
                Err(e)
            }
        }
    }

    async fn fetch_keys(&self) -> Result<Vec<Key>, String> {
        let url = match &self.config.jwks_url {
            Some(url) => url.clone(),
            None => {
                let discovery = self.config.discovery_url();
                let doc = self.get_json(&discovery).await?;
                doc.get("jwks_uri")
                    .and_then(Value::as_str)
                    .map(String::from)
                    .ok_or_else(|| format!("{discovery} names no jwks_uri"))?
            }
        };
        let set = self.get_json(&url).await?;
        let keys = set
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{url} is not a JWK set"))?;
        // Keys this server cannot use (encryption keys, symmetric ones,
        // unknown types) are skipped, not fatal: providers publish several.
        Ok(keys.iter().filter_map(usable_key).collect())
    }

    async fn get_json(&self, url: &str) -> Result<Value, String> {
        let response = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("{url}: HTTP {}", response.status()));
        }
        let body = crate::net::read_capped(response, DOCUMENT_BYTES)
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        if body.overflow_at.is_some() {
            return Err(format!("{url}: larger than {DOCUMENT_BYTES} bytes"));
        }
        serde_json::from_slice(&body.bytes).map_err(|e| format!("{url}: not JSON: {e}"))
    }
}

/// The token's `alg`, refused before anything else unless accepted (so
/// `none` and the HMAC algorithms, which a public key must never check,
/// fail here whatever key they name).
fn header_algorithm(token: &str) -> Result<Algorithm, JwtError> {
    use base64::Engine as _;
    let header = token.split('.').next().ok_or(JwtError::Malformed)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .map_err(|_| JwtError::Malformed)?;
    let header: Map<String, Value> =
        serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed)?;
    let name = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(JwtError::Malformed)?;
    name.parse::<Algorithm>()
        .ok()
        .filter(|a| ACCEPTED.contains(a))
        .ok_or_else(|| JwtError::Algorithm(name.chars().take(16).collect()))
}

/// A public signing key of the set, if this server can use it.
fn usable_key(value: &Value) -> Option<Key> {
    let jwk: Jwk = serde_json::from_value(value.clone()).ok()?;
    if jwk
        .common
        .public_key_use
        .as_ref()
        .is_some_and(|u| *u != jsonwebtoken::jwk::PublicKeyUse::Signature)
    {
        return None;
    }
    let family = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => AlgorithmFamily::Rsa,
        AlgorithmParameters::EllipticCurve(_) => AlgorithmFamily::Ec,
        AlgorithmParameters::OctetKeyPair(_) => AlgorithmFamily::Ed,
        // Symmetric keys ("oct") and anything else: never.
        _ => return None,
    };
    let alg = match jwk.common.key_algorithm {
        Some(a) => Some(a.to_string().parse::<Algorithm>().ok()?),
        None => None,
    };
    Some(Key {
        kid: jwk.common.key_id.clone(),
        alg,
        family,
        key: DecodingKey::from_jwk(&jwk).ok()?,
    })
}

/// The key for a token: the one its `kid` names (when it names one), of
/// the algorithm's family and, if the key says, for that algorithm.
fn pick(keys: &[Key], kid: Option<&str>, alg: Algorithm) -> Option<DecodingKey> {
    keys.iter()
        .find(|k| {
            kid.is_none_or(|kid| k.kid.as_deref() == Some(kid))
                && k.family == alg.family()
                && k.alg.is_none_or(|a| a == alg)
        })
        .map(|k| k.key.clone())
}

fn claim_string(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// What is wrong with a token, in words a client can act on (nothing of
/// the server's keys or config beyond what the token itself says).
fn reason(kind: &jsonwebtoken::errors::ErrorKind) -> &'static str {
    use jsonwebtoken::errors::ErrorKind as K;
    match kind {
        K::ExpiredSignature => "it has expired",
        K::ImmatureSignature => "it is not valid yet (nbf)",
        K::InvalidIssuer => "it was issued by another issuer",
        K::InvalidAudience => "it is for another audience",
        K::InvalidSignature => "its signature does not verify",
        K::MissingRequiredClaim(_) => "it lacks a required claim (exp, iss or aud)",
        K::InvalidAlgorithm => "its algorithm does not match the key",
        _ => "it cannot be decoded",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn token_with_header(header: &str) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.", b64(header), b64("{\"sub\":\"a\"}"))
    }

    #[test]
    fn none_and_hmac_are_refused_before_any_key_is_looked_at() {
        for alg in ["none", "HS256", "HS384", "HS512"] {
            let token = token_with_header(&format!("{{\"alg\":\"{alg}\",\"kid\":\"k\"}}"));
            assert_eq!(
                header_algorithm(&token),
                Err(JwtError::Algorithm(alg.into()))
            );
        }
        let token = token_with_header("{\"alg\":\"RS256\"}");
        assert_eq!(header_algorithm(&token), Ok(Algorithm::RS256));
        assert_eq!(header_algorithm("garbage"), Err(JwtError::Malformed));
    }

    #[test]
    fn symmetric_keys_in_a_jwks_are_skipped() {
        let oct = serde_json::json!({"kty": "oct", "k": "c2VjcmV0", "kid": "h"});
        assert!(usable_key(&oct).is_none());
    }
}
