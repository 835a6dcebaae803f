//! Who is calling and what they may touch: the bearer key's user (401), their
//! organization memberships (403), and the per-key create-run rate limit (429).
//!
//! Reads `[codegen]` from config; the key ring and limiter are built on first
//! use. Never touches runs or the store.

use std::sync::OnceLock;
use std::time::Duration;

use axum::http::HeaderMap;

use super::error::CodegenError;
use crate::config::{CodegenConfig, CodegenOrganization, CodegenUser, Config};
use crate::http::keys::{KeyRing, bearer_token};
use crate::http::rate_limit::RateLimiter;

/// Per-app authentication state.
#[derive(Default)]
pub struct Access {
    keys: OnceLock<KeyRing<i64>>,
    creates: OnceLock<RateLimiter>,
}

/// An authenticated caller.
pub struct Caller<'a> {
    pub user: &'a CodegenUser,
    pub config: &'a CodegenConfig,
    key: String,
}

impl Access {
    /// The caller behind the request's bearer key, or 401.
    pub fn authenticate<'a>(
        &self,
        config: &'a Config,
        headers: &HeaderMap,
    ) -> Result<Caller<'a>, CodegenError> {
        let cg = config.codegen.as_ref().ok_or(CodegenError::Unauthorized)?;
        let keys = self.keys.get_or_init(|| {
            KeyRing::new(
                cg.users
                    .iter()
                    .flat_map(|u| u.api_keys.iter().map(move |k| (k.clone(), u.id))),
            )
        });
        let token = bearer_token(headers).ok_or(CodegenError::Unauthorized)?;
        let user_id = *keys.find(token).ok_or(CodegenError::Unauthorized)?;
        let user = cg
            .users
            .iter()
            .find(|u| u.id == user_id)
            .ok_or(CodegenError::Unauthorized)?;
        Ok(Caller {
            user,
            config: cg,
            key: token.to_string(),
        })
    }

    /// Counts one create-run request against the caller's key.
    pub fn count_create(&self, caller: &Caller<'_>) -> Result<(), CodegenError> {
        let limiter = self.creates.get_or_init(|| {
            let rl = &caller.config.rate_limit;
            RateLimiter::new(rl.creates, Duration::from_secs(rl.window_secs))
        });
        limiter
            .check(&caller.key)
            .map_err(|wait| CodegenError::RateLimited {
                retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            })
    }
}

impl<'a> Caller<'a> {
    /// The organization, if the caller is a member; otherwise 403 (an
    /// unknown organization looks the same, so ids cannot be probed).
    pub fn organization(&self, org_id: i64) -> Result<&'a CodegenOrganization, CodegenError> {
        if !self.user.organizations.contains(&org_id) {
            return Err(CodegenError::Forbidden);
        }
        self.config
            .organizations
            .iter()
            .find(|o| o.id == org_id)
            .ok_or(CodegenError::Forbidden)
    }

    /// The organizations the caller belongs to, in config order.
    pub fn organizations(&self) -> Vec<&'a CodegenOrganization> {
        self.config
            .organizations
            .iter()
            .filter(|o| self.user.organizations.contains(&o.id))
            .collect()
    }
}
