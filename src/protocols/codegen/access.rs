//! Who is calling and what they may touch: the bearer key's user (401), their
//! organization memberships (403), and the per-key create-run rate limit (429).
//!
//! Reads `[codegen]` from config; the key ring is built on first use. The
//! rate limit is counted in the store, so it holds across replicas sharing
//! one database; the store sees a key's label (user id and the key's place
//! in the config), never the key itself. Never touches runs.

use std::sync::OnceLock;
use std::time::Duration;

use axum::http::HeaderMap;

use super::error::CodegenError;
use crate::config::{CodegenConfig, CodegenOrganization, CodegenUser, Config};
use crate::engine::Engine;
use crate::engine::RateDecision;
use crate::web::keys::{KeyRing, bearer_token};

/// Per-app authentication state.
#[derive(Default)]
pub struct Access {
    /// Each key's user id and its place among the user's keys.
    keys: OnceLock<KeyRing<(i64, usize)>>,
}

/// An authenticated caller.
pub struct Caller<'a> {
    pub user: &'a CodegenUser,
    pub config: &'a CodegenConfig,
    /// The caller's key as the rate limit counts it (no secret in it).
    key_label: String,
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
            KeyRing::new(cg.users.iter().flat_map(|u| {
                u.api_keys
                    .iter()
                    .enumerate()
                    .map(move |(i, k)| (k.clone(), (u.id, i)))
            }))
        });
        let token = bearer_token(headers).ok_or(CodegenError::Unauthorized)?;
        let (user_id, key_index) = *keys.find(token).ok_or(CodegenError::Unauthorized)?;
        let user = cg
            .users
            .iter()
            .find(|u| u.id == user_id)
            .ok_or(CodegenError::Unauthorized)?;
        Ok(Caller {
            user,
            config: cg,
            key_label: format!("codegen/create/user-{user_id}/key-{key_index}"),
        })
    }

    /// Counts one create-run request against the caller's key, in the
    /// store (every replica on it counts against the same window).
    pub async fn count_create(
        &self,
        engine: &Engine,
        caller: &Caller<'_>,
    ) -> Result<(), CodegenError> {
        let rl = &caller.config.rate_limit;
        let decision = engine
            .hit_rate_limit(
                &caller.key_label,
                rl.creates,
                Duration::from_secs(rl.window_secs),
            )
            .await?;
        match decision {
            RateDecision::Allowed => Ok(()),
            RateDecision::Refused(wait) => Err(CodegenError::RateLimited {
                retry_after_secs: (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1),
            }),
        }
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
