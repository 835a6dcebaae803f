//! `[auth.jwt]`: bearer tokens issued by the deployment's OpenID Connect
//! provider, and what in them names the user, the tenant and the scopes.
//! Plain settings with their defaults and the checks of their values;
//! verifying tokens is the HTTP layer's job.

use serde::Deserialize;

/// How JWT bearer tokens are checked and read. Present: tokens signed by
/// the issuer's keys are accepted beside the API keys (auth is on).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// `iss` must equal it; `{issuer}/.well-known/openid-configuration`
    /// names the signing keys unless `jwks_url` does.
    pub issuer: String,
    /// `aud` must contain it.
    pub audience: String,
    /// The provider's JWKS, when discovery is not wanted or not served.
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// The claim naming the user.
    #[serde(default = "default_user_claim")]
    pub user_claim: String,
    /// The claim naming the user's tenant (users of different tenants never
    /// meet). Unset: one tenant.
    #[serde(default)]
    pub tenant_claim: Option<String>,
    /// The claim holding the scopes: a space-separated string or an array.
    #[serde(default = "default_scopes_claim")]
    pub scopes_claim: String,
    /// Seconds of clock skew allowed on `exp` and `nbf`.
    #[serde(default = "default_leeway")]
    pub leeway_secs: u64,
}

fn default_user_claim() -> String {
    "sub".into()
}

fn default_scopes_claim() -> String {
    "scope".into()
}

fn default_leeway() -> u64 {
    60
}

impl JwtConfig {
    /// Where discovery looks for the provider's metadata.
    pub fn discovery_url(&self) -> String {
        format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        )
    }

    /// The first problem with these settings, as (field under `auth.jwt`,
    /// message).
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if !is_http_url(&self.issuer) {
            return Err((
                "issuer",
                format!(
                    "'{}' is not an http(s) URL like https://id.example.com/",
                    self.issuer
                ),
            ));
        }
        if self.audience.is_empty() {
            return Err(("audience", "must name this server's audience".into()));
        }
        if let Some(url) = &self.jwks_url
            && !is_http_url(url)
        {
            return Err(("jwks_url", format!("'{url}' is not an http(s) URL")));
        }
        if self.user_claim.is_empty() {
            return Err(("user_claim", "must name a claim".into()));
        }
        if self.tenant_claim.as_deref() == Some("") {
            return Err(("tenant_claim", "must name a claim, or be left out".into()));
        }
        if self.scopes_claim.is_empty() {
            return Err(("scopes_claim", "must name a claim".into()));
        }
        Ok(())
    }
}

fn is_http_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'))
}

/// A scope as `allowed_scopes` may list it: one token of a scope string
/// (no spaces, quotes or backslashes, RFC 6749 section 3.3).
pub fn is_scope(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

/// The identity settings' checks, beside the rest of `Config::validate`:
/// `[auth.jwt]`, what API keys name, and `allowed_scopes`.
impl super::Config {
    pub(super) fn validate_identity(&self) -> Result<(), super::ConfigError> {
        if let Some(jwt) = &self.auth.jwt
            && let Err((field, message)) = jwt.check()
        {
            return Err(self.invalid(format!("auth.jwt.{field}"), message));
        }
        for (i, key) in self.auth.api_keys.iter().enumerate() {
            if key.user().is_some_and(|u| u.trim().is_empty()) {
                return Err(self.invalid(
                    format!("auth.api_keys[{i}].user"),
                    "must name a user, or be left out (an admin key)",
                ));
            }
        }
        let agents = self.agents.iter().map(|a| ("agents", &a.allowed_scopes));
        let teams = self.teams.iter().map(|t| ("teams", &t.allowed_scopes));
        let mut index = std::collections::HashMap::new();
        for (section, scopes) in agents.chain(teams) {
            let i = index.entry(section).or_insert(0usize);
            let field = format!("{section}[{i}].allowed_scopes");
            *i += 1;
            let Some(scopes) = scopes else { continue };
            if scopes.is_empty() {
                return Err(self.invalid(
                    field,
                    "lists no scope, so nobody but an admin could run it; leave it out to \
                     let anyone authenticated run it",
                ));
            }
            if let Some(bad) = scopes.iter().find(|s| !is_scope(s)) {
                return Err(self.invalid(
                    field,
                    format!("'{bad}' is not a scope (one token, no spaces or quotes)"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<JwtConfig, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn reads_the_issue_example_with_defaults() {
        let cfg = parse("issuer = \"https://id.example.com/\"\naudience = \"agentd\"\n").unwrap();
        assert_eq!(cfg.user_claim, "sub");
        assert_eq!(cfg.scopes_claim, "scope");
        assert_eq!(cfg.tenant_claim, None);
        assert_eq!(cfg.leeway_secs, 60);
        assert_eq!(
            cfg.discovery_url(),
            "https://id.example.com/.well-known/openid-configuration"
        );
        assert!(cfg.check().is_ok());
    }

    #[test]
    fn refuses_what_cannot_work() {
        let bad = [
            ("issuer = \"id.example.com\"\naudience = \"a\"", "issuer"),
            ("issuer = \"https://x/\"\naudience = \"\"", "audience"),
            (
                "issuer = \"https://x/\"\naudience = \"a\"\njwks_url = \"ftp://x\"",
                "jwks_url",
            ),
            (
                "issuer = \"https://x/\"\naudience = \"a\"\ntenant_claim = \"\"",
                "tenant_claim",
            ),
        ];
        for (text, field) in bad {
            assert_eq!(parse(text).unwrap().check().unwrap_err().0, field, "{text}");
        }
        assert!(parse("issuer = \"https://x/\"\naudience = \"a\"\nissuer_x = 1").is_err());
    }

    fn config(extra: &str) -> Result<super::super::Config, String> {
        let text = format!(
            "[models.m]\nprovider = \"builtin\"\n[[agents]]\nid = \"a\"\nmodel = \"m\"\n{extra}"
        );
        super::super::Config::from_toml_str(&text, "x.toml".as_ref(), &|_| None)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn keys_name_their_user_or_are_admins() {
        let cfg = config(
            "[auth]\napi_keys = [\"k1\", { key = \"k2\", name = \"backend\", admin = true }, \
             { key = \"k3\", user = \"svc-reports\" }]\n",
        )
        .unwrap();
        let keys = &cfg.auth.api_keys;
        assert!(keys[0].admin() && keys[1].admin() && !keys[2].admin());
        assert_eq!(keys[2].user(), Some("svc-reports"));
        let err = config("[auth]\napi_keys = [{ key = \"k\", user = \" \" }]\n").unwrap_err();
        assert!(err.contains("auth.api_keys[0].user"), "{err}");
    }

    #[test]
    fn allowed_scopes_are_checked_where_they_are_written() {
        let text = "[[agents]]\nid = \"b\"\nmodel = \"m\"\nallowed_scopes = [\"reports\"]\n";
        let cfg = config(text).unwrap();
        assert_eq!(
            cfg.agents[1].allowed_scopes,
            Some(vec!["reports".to_string()])
        );
        assert_eq!(cfg.agents[0].allowed_scopes, None);
        let err = config("[[agents]]\nid = \"b\"\nmodel = \"m\"\nallowed_scopes = [\"a b\"]\n")
            .unwrap_err();
        assert!(err.contains("agents[1].allowed_scopes"), "{err}");
        let err =
            config("[[agents]]\nid = \"b\"\nmodel = \"m\"\nallowed_scopes = []\n").unwrap_err();
        assert!(err.contains("agents[1].allowed_scopes"), "{err}");
        let err = config("[auth.jwt]\nissuer = \"nope\"\naudience = \"agentd\"\n").unwrap_err();
        assert!(err.contains("auth.jwt.issuer"), "{err}");
    }

    #[test]
    fn scopes_are_single_tokens() {
        assert!(is_scope("agentd:admin"));
        assert!(!is_scope("a b"));
        assert!(!is_scope(""));
        assert!(!is_scope("a\"b"));
    }
}
