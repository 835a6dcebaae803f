//! Who is calling: the principal every request is made by, whether an API
//! key or a JWT from the deployment's OpenID Connect provider said so.
//!
//! Plain data: the HTTP layer's auth makes one per request and puts it in
//! the request's extensions; what a principal may see and run is decided
//! from it. Depends on nothing.

/// The scope that makes a principal an admin: it sees every user's data.
pub const ADMIN_SCOPE: &str = "agentd:admin";

/// Who a session or run belongs to: the user who made it, within its
/// tenant. Records made by a caller with no user (an admin key, auth off)
/// and records older than owners have none: only admins see those.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Owner {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    pub user: String,
}

/// How a principal was authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMethod {
    /// Auth is off: everyone is the same all-seeing caller, as before users.
    Open,
    /// Nobody authenticated (a public path while auth is on).
    Anonymous,
    /// An `auth.api_keys` entry, named by its `name` or its position.
    ApiKey { name: String },
    /// A JWT bearer token the provider signed.
    Jwt,
    /// A Codegen user's API key (on the Codegen routes).
    CodegenKey { user_id: i64 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The tenant the user belongs to; users of different tenants never
    /// meet. None: the deployment's one tenant.
    pub tenant: Option<String>,
    /// The user; None for an admin key or an anonymous caller.
    pub user: Option<String>,
    pub scopes: Vec<String>,
    /// Sees (and may act on) every user's data.
    pub admin: bool,
    pub method: AuthMethod,
}

impl Principal {
    /// The caller when auth is off: sees everything, as every caller did
    /// before users existed.
    pub fn open() -> Self {
        Self {
            tenant: None,
            user: None,
            scopes: Vec::new(),
            admin: true,
            method: AuthMethod::Open,
        }
    }

    /// A caller nobody authenticated, on a path that needs no key.
    pub fn anonymous() -> Self {
        Self {
            tenant: None,
            user: None,
            scopes: Vec::new(),
            admin: false,
            method: AuthMethod::Anonymous,
        }
    }

    /// A user from a token: an admin when the scopes include `ADMIN_SCOPE`.
    pub fn user(tenant: Option<String>, user: String, scopes: Vec<String>) -> Self {
        let admin = scopes.iter().any(|s| s == ADMIN_SCOPE);
        Self {
            tenant,
            user: Some(user),
            scopes,
            admin,
            method: AuthMethod::Jwt,
        }
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// Whether this principal may run an agent or team whose config lists
    /// `allowed_scopes`: anyone when it lists none (`None`), an admin
    /// always, anyone else holding one of the scopes.
    pub fn may_run(&self, allowed_scopes: Option<&[String]>) -> bool {
        match allowed_scopes {
            None => true,
            Some(_) if self.admin => true,
            Some(scopes) => scopes.iter().any(|s| self.has_scope(s)),
        }
    }

    /// The owner a session or run this principal makes is stamped with.
    pub fn owner(&self) -> Option<Owner> {
        self.user.as_ref().map(|user| Owner {
            tenant: self.tenant.clone(),
            user: user.clone(),
        })
    }

    /// Whether this principal sees (and may act on) what `owner` owns: its
    /// own records; an admin every record of its tenant, and an admin of
    /// no tenant (an admin key, auth off) every record, owned or not.
    pub fn sees(&self, owner: Option<&Owner>) -> bool {
        if self.admin {
            return self.tenant.is_none() || owner.is_some_and(|o| o.tenant == self.tenant);
        }
        match (owner, &self.user) {
            (Some(o), Some(user)) => &o.user == user && o.tenant == self.tenant,
            _ => false,
        }
    }

    /// What a listing narrows to for this principal (see `sees`); `None`
    /// lists everything.
    pub fn visible(&self) -> Option<Visible> {
        match (self.admin, &self.tenant, &self.user) {
            (true, None, _) => None,
            (true, Some(tenant), _) => Some(Visible::Tenant(tenant.clone())),
            (false, tenant, Some(user)) => Some(Visible::Owner(Owner {
                tenant: tenant.clone(),
                user: user.clone(),
            })),
            (false, _, None) => Some(Visible::Nothing),
        }
    }

    /// The name per-caller limits are counted under: the user (within its
    /// tenant) when there is one, so a user's keys and tokens share one
    /// count; else the key; else everyone unauthenticated together.
    pub fn caller_id(&self) -> String {
        match (&self.user, &self.method) {
            (Some(user), _) => match &self.tenant {
                Some(tenant) => format!("user:{tenant}/{user}"),
                None => format!("user:{user}"),
            },
            (None, AuthMethod::ApiKey { name }) => format!("key:{name}"),
            (None, AuthMethod::CodegenKey { user_id }) => format!("codegen-user:{user_id}"),
            (None, _) => "anonymous".into(),
        }
    }
}

/// The records a principal sees, as a filter stores apply in their query
/// (so paging and counts stay right).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visible {
    /// Records this owner made.
    Owner(Owner),
    /// Records owned by any user of this tenant.
    Tenant(String),
    /// None at all (a caller nobody authenticated).
    Nothing,
}

impl Visible {
    pub fn admits(&self, owner: Option<&Owner>) -> bool {
        match self {
            Visible::Owner(me) => owner == Some(me),
            Visible::Tenant(t) => owner.is_some_and(|o| o.tenant.as_ref() == Some(t)),
            Visible::Nothing => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn admin_scope_makes_an_admin() {
        assert!(Principal::user(None, "a".into(), scopes(&["x", ADMIN_SCOPE])).admin);
        assert!(!Principal::user(None, "a".into(), scopes(&["x"])).admin);
    }

    #[test]
    fn may_run_needs_one_allowed_scope_unless_admin_or_unrestricted() {
        let reader = Principal::user(None, "a".into(), scopes(&["reports"]));
        let other = Principal::user(None, "b".into(), scopes(&["chat"]));
        let admin = Principal::user(None, "c".into(), scopes(&[ADMIN_SCOPE]));
        let allowed = scopes(&["reports", "finance"]);
        assert!(reader.may_run(Some(&allowed)));
        assert!(!other.may_run(Some(&allowed)));
        assert!(admin.may_run(Some(&allowed)));
        assert!(other.may_run(None));
    }

    #[test]
    fn a_user_sees_only_their_own_and_an_admin_their_tenant() {
        let ann = Principal::user(Some("acme".into()), "ann".into(), vec![]);
        let bob = Principal::user(Some("acme".into()), "bob".into(), vec![]);
        let admin = Principal::user(Some("acme".into()), "root".into(), scopes(&[ADMIN_SCOPE]));
        let other = Principal::user(Some("zeta".into()), "ann".into(), vec![]);
        let anns = ann.owner();
        for p in [
            &ann,
            &bob,
            &admin,
            &other,
            &Principal::open(),
            &Principal::anonymous(),
        ] {
            // The listing filter and the one-record check agree.
            let listed = p.visible().is_none_or(|v| v.admits(anns.as_ref()));
            assert_eq!(listed, p.sees(anns.as_ref()), "{p:?}");
            let unowned = p.visible().is_none_or(|v| v.admits(None));
            assert_eq!(unowned, p.sees(None), "{p:?}");
        }
        assert!(ann.sees(anns.as_ref()));
        assert!(!bob.sees(anns.as_ref()));
        assert!(!other.sees(anns.as_ref()));
        assert!(admin.sees(anns.as_ref()));
        assert!(!admin.sees(None));
        assert!(Principal::open().sees(anns.as_ref()) && Principal::open().sees(None));
        assert!(!Principal::anonymous().sees(None));
        assert!(!ann.sees(None));
    }

    #[test]
    fn callers_are_counted_by_user_within_tenant() {
        let a = Principal::user(Some("acme".into()), "ann".into(), vec![]);
        assert_eq!(a.caller_id(), "user:acme/ann");
        let key = Principal {
            method: AuthMethod::ApiKey { name: "ci".into() },
            ..Principal::open()
        };
        assert_eq!(key.caller_id(), "key:ci");
        assert_eq!(Principal::anonymous().caller_id(), "anonymous");
    }
}
