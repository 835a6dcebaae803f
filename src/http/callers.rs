//! Who is calling, for the limits that are counted per caller: requests per
//! minute to each protocol's routes (`server.rate_limits`, or a key's own),
//! answered with 429 and Retry-After in the protocol's shape; and the
//! caller's limit of live runs, handed to the engine as a `RunCaller`
//! request extension that adapters put on their run requests.
//!
//! A caller is the user, when the principal `auth` found names one (a JWT's
//! user, or an `auth.api_keys` entry with `user`: all of a user's keys
//! and tokens count together), else the API key presented: an
//! `auth.api_keys` entry, or on the Codegen routes (which authenticate
//! their own users) a Codegen user's key. Requests without a known key
//! count as one anonymous caller. Keys are matched in constant time and
//! never used as names: a caller is named by its user, its entry (`name`,
//! or its position) or its Codegen user id.
//!
//! Runs after `auth` (an unknown key has been refused by then); depends on
//! config, the domain's `Principal`, `keys`, `rate_limit`, `errors` and
//! the engine's `RunCaller`.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::response::Response;

use super::auth::ApiKeys;
use super::rate_limit::RateLimiter;
use crate::config::{Config, RateLimits};
use crate::domain::principal::{AuthMethod, Principal};
use crate::engine::RunCaller;
use crate::web::errors::{self, Shape};
use crate::web::keys::{KeyRing, bearer_token};

const WINDOW: Duration = Duration::from_secs(60);

#[derive(Clone)]
struct Profile {
    id: String,
    /// Whether the caller presented a known key (for messages).
    keyed: bool,
    max_concurrent_runs: usize,
    rate_limits: RateLimits,
}

impl Profile {
    fn requests_per_minute(&self, shape: Shape) -> u32 {
        let limit = match shape {
            Shape::AgentOs => self.rate_limits.agentos,
            Shape::Agui => self.rate_limits.agui,
            Shape::Acp => self.rate_limits.acp,
            Shape::Codegen => self.rate_limits.codegen,
            Shape::JsonRpc | Shape::GoogleRpc => self.rate_limits.jsonrpc,
        };
        limit.unwrap_or(0)
    }
}

pub struct Callers {
    api_keys: KeyRing<Profile>,
    codegen_keys: KeyRing<Profile>,
    anonymous: Profile,
    public_paths: Vec<String>,
    limiter: RateLimiter,
}

impl Callers {
    pub fn from_config(config: &Config) -> Arc<Self> {
        let server = &config.server;
        let profile = |id: String, max: Option<usize>, own: &RateLimits| Profile {
            id,
            keyed: true,
            max_concurrent_runs: max.unwrap_or(server.max_concurrent_runs_per_key),
            rate_limits: server.rate_limits.overridden_by(own),
        };
        let api_keys = KeyRing::new(config.auth.api_keys.iter().enumerate().map(|(i, k)| {
            let id = match (k.user(), k.name()) {
                (Some(user), _) => format!("user:{user}"),
                (None, Some(name)) => format!("key:{name}"),
                (None, None) => format!("key:api_keys[{i}]"),
            };
            let limits = k.rate_limits();
            (
                k.key().to_string(),
                profile(id, k.max_concurrent_runs(), &limits),
            )
        }));
        let codegen_keys = KeyRing::new(
            config
                .codegen
                .iter()
                .flat_map(|cg| cg.users.iter())
                .flat_map(|u| {
                    let p = profile(
                        format!("codegen-user:{}", u.id),
                        u.max_concurrent_runs,
                        &u.rate_limits,
                    );
                    u.api_keys.iter().map(move |k| (k.clone(), p.clone()))
                }),
        );
        Arc::new(Self {
            api_keys,
            codegen_keys,
            anonymous: Profile {
                id: "anonymous".into(),
                keyed: false,
                max_concurrent_runs: server.max_concurrent_runs_per_key,
                rate_limits: server.rate_limits,
            },
            public_paths: config.auth.public_paths.clone(),
            limiter: RateLimiter::new(1, WINDOW),
        })
    }

    /// Probes, scrapers, the docs, the web pages and what they read (the
    /// per-protocol limits are for protocol clients; a runs page polls) and
    /// CORS preflights are never limited.
    fn exempt(&self, req: &Request) -> bool {
        let path = req.uri().path();
        let preflight = req.method() == Method::OPTIONS
            && req
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        preflight
            || (ApiKeys::always_public(path) && Shape::for_path(path) != Shape::Codegen)
            || path.starts_with("/ui/api/")
            || self.public_paths.iter().any(|p| p == path)
    }

    /// A key's own profile; a token's user gets the server's limits under
    /// the user's name.
    fn profile(&self, shape: Shape, req: &Request) -> Cow<'_, Profile> {
        if let Some(p) = req.extensions().get::<Principal>()
            && p.method == AuthMethod::Jwt
        {
            return Cow::Owned(Profile {
                id: p.caller_id(),
                keyed: true,
                ..self.anonymous.clone()
            });
        }
        let ring = match shape {
            Shape::Codegen => &self.codegen_keys,
            _ => &self.api_keys,
        };
        Cow::Borrowed(
            bearer_token(req.headers())
                .and_then(|t| ring.find(t))
                .unwrap_or(&self.anonymous),
        )
    }
}

fn protocol_name(shape: Shape) -> &'static str {
    match shape {
        Shape::AgentOs => "AgentOS",
        Shape::Agui => "AG-UI",
        Shape::Acp => "ACP",
        Shape::Codegen => "Codegen",
        Shape::JsonRpc => "A2A/MCP",
        Shape::GoogleRpc => "A2A",
    }
}

pub async fn limit(
    callers: &Callers,
    mut req: Request,
    next: impl AsyncFnOnce(Request) -> Response,
) -> Response {
    if callers.exempt(&req) {
        return next(req).await;
    }
    let path = req.uri().path().to_string();
    let shape = Shape::for_path(&path);
    let profile = callers.profile(shape, &req);
    let per_minute = profile.requests_per_minute(shape);
    if per_minute > 0
        && let Err(wait) = callers
            .limiter
            .check_limit(&format!("{}|{shape:?}", profile.id), per_minute)
    {
        let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        let who = if profile.id.starts_with("user:") {
            "this user"
        } else if profile.keyed {
            "this API key"
        } else {
            "callers without an API key"
        };
        let message = format!(
            "Rate limit exceeded: at most {per_minute} requests per minute to the {} API \
             for {who}; retry in {secs} seconds",
            protocol_name(shape)
        );
        return errors::retry_later(&path, StatusCode::TOO_MANY_REQUESTS, &message, secs);
    }
    req.extensions_mut().insert(RunCaller {
        id: profile.id.clone(),
        max_concurrent_runs: profile.max_concurrent_runs,
    });
    next(req).await
}
