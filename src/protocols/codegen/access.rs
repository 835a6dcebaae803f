//! Who is calling and what they may touch: the bearer key's user (401), their
//! organization memberships (403), and the per-key create-run rate limit (429).
//!
//! Codegen keeps its own users and organizations. Beside them, a JWT from
//! the deployment's OpenID provider (verified by the auth layer, which
//! hands over its `Principal`) is a member of exactly the organization its
//! tenant claim names (the organization's `name`, compared exactly) and of
//! no other: a tenant is the provider's word for an organization, and a
//! token naming none may call no organization's routes.
//!
//! Reads `[codegen]` from config; the key ring is built on first use. The
//! rate limit is counted in the store, so it holds across replicas sharing
//! one database; the store sees a key's label (user id and the key's place
//! in the config, or the token's tenant and user), never the key itself.
//! Never touches runs.

use std::sync::OnceLock;
use std::time::Duration;

use axum::http::HeaderMap;

use super::error::CodegenError;
use crate::config::{CodegenConfig, CodegenOrganization, CodegenUser, Config};
use crate::domain::principal::{AuthMethod, Principal};
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
    pub member: Member<'a>,
    pub config: &'a CodegenConfig,
    /// The caller's key as the rate limit counts it (no secret in it).
    key_label: String,
}

/// Who the caller is to Codegen.
pub enum Member<'a> {
    /// One of `[codegen]`'s users, by one of its keys.
    User(&'a CodegenUser),
    /// A provider's token: its user, and the organization its tenant
    /// claim names (none: a member of nothing).
    Tenant {
        user: String,
        organization: Option<&'a CodegenOrganization>,
    },
}

impl Access {
    /// The caller behind the request's bearer key, or the provider's token
    /// the auth layer verified (`principal`); else 401.
    pub fn authenticate<'a>(
        &self,
        config: &'a Config,
        headers: &HeaderMap,
        principal: &Principal,
    ) -> Result<Caller<'a>, CodegenError> {
        let cg = config.codegen.as_ref().ok_or(CodegenError::Unauthorized)?;
        if principal.method == AuthMethod::Jwt {
            let user = principal.user.clone().ok_or(CodegenError::Unauthorized)?;
            let tenant = principal.tenant.as_deref();
            let organization = tenant.and_then(|t| cg.organizations.iter().find(|o| o.name == t));
            let key_label = format!(
                "codegen/create/tenant-{}/user-{user}",
                tenant.unwrap_or_default()
            );
            return Ok(Caller {
                member: Member::Tenant { user, organization },
                config: cg,
                key_label,
            });
        }
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
            member: Member::User(user),
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
        self.organizations()
            .into_iter()
            .find(|o| o.id == org_id)
            .ok_or(CodegenError::Forbidden)
    }

    /// The organizations the caller belongs to, in config order.
    pub fn organizations(&self) -> Vec<&'a CodegenOrganization> {
        match &self.member {
            Member::User(user) => self
                .config
                .organizations
                .iter()
                .filter(|o| user.organizations.contains(&o.id))
                .collect(),
            Member::Tenant { organization, .. } => organization.iter().copied().collect(),
        }
    }

    /// The Codegen user, when the caller is one.
    pub fn user(&self) -> Option<&'a CodegenUser> {
        match self.member {
            Member::User(user) => Some(user),
            Member::Tenant { .. } => None,
        }
    }

    /// The Codegen user's id; None for a provider's token.
    pub fn user_id(&self) -> Option<i64> {
        self.user().map(|u| u.id)
    }

    /// The token's user, when the caller is a provider's token.
    pub fn token_user(&self) -> Option<&str> {
        match &self.member {
            Member::User(_) => None,
            Member::Tenant { user, .. } => Some(user),
        }
    }
}
