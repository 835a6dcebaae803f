//! Who is calling: the principal every request is made by, whether an API
//! key or a JWT from the deployment's OpenID Connect provider said so.
//!
//! Plain data: the HTTP layer's auth makes one per request and puts it in
//! the request's extensions; what a principal may see and run is decided
//! from it. Depends on nothing.

/// The scope that makes a principal an admin: it sees every user's data.
pub const ADMIN_SCOPE: &str = "agentd:admin";

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
