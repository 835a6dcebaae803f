//! A real OpenID provider for the JWT auth stories: node-oidc-provider,
//! started by tests/clients/oidc_provider.mjs on an ephemeral loopback
//! port, issuing JWT access tokens (audience `agentd`) to the clients
//! `user-a`, `user-b` (tenant acme), `user-c` (tenant globex) and `admin`
//! by the client-credentials grant. Killed when dropped.
//!
//! Skipped with the install hint when node or the package is missing,
//! unless clients are required (see `clients::required`).

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub struct OidcProvider {
    pub issuer: String,
    client: reqwest::Client,
    _child: Child,
}

impl OidcProvider {
    /// The provider, up; `None` (skip) when it is not installed.
    pub async fn start() -> Option<Self> {
        Self::start_with(&[]).await
    }

    /// With `--down`: discovery and the JWKS answer 503 until `up`.
    pub async fn start_down() -> Option<Self> {
        Self::start_with(&["--down"]).await
    }

    async fn start_with(args: &[&str]) -> Option<Self> {
        let dir = super::clients::node_with(&["oidc-provider"])?;
        let mut child = Command::new("node")
            .arg(dir.join("oidc_provider.mjs"))
            .args(args)
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let line = BufReader::new(stdout)
            .lines()
            .next_line()
            .await
            .expect("the provider prints")
            .expect("the provider prints its issuer before exiting");
        let ready: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
        Some(Self {
            issuer: ready["issuer"].as_str().expect("issuer").to_string(),
            client: reqwest::Client::new(),
            _child: child,
        })
    }

    /// The `[auth.jwt]` section for this provider (discovery from the
    /// issuer; the tenant in `org`; no leeway, so "expired" means expired).
    pub fn auth_toml(&self) -> String {
        format!(
            "[auth.jwt]\nissuer = \"{}\"\naudience = \"agentd\"\ntenant_claim = \"org\"\nleeway_secs = 0\n",
            self.issuer
        )
    }

    /// An access token for `client` (its secret is `<client>-secret`), by
    /// the client-credentials grant, with the client's scope (user-a and
    /// user-c: `reports`; user-b: `chat`; admin: `agentd:admin`), for `resource` (the provider's default,
    /// agentd, when None).
    pub async fn token_for(&self, client: &str, resource: Option<&str>) -> String {
        let secret = format!("{client}-secret");
        let scope = match client {
            "admin" => "agentd:admin",
            "user-b" => "chat",
            _ => "reports",
        };
        let mut form = vec![("grant_type", "client_credentials"), ("scope", scope)];
        if let Some(r) = resource {
            form.push(("resource", r));
        }
        let resp = self
            .client
            .post(format!("{}/token", self.issuer))
            .basic_auth(client, Some(&secret))
            .form(&form)
            .send()
            .await
            .expect("the token endpoint answers");
        let status = resp.status();
        let body: serde_json::Value = resp.json().await.expect("JSON");
        assert!(status.is_success(), "token for {client}: {status} {body}");
        body["access_token"]
            .as_str()
            .expect("an access token")
            .to_string()
    }

    pub async fn token(&self, client: &str) -> String {
        self.token_for(client, None).await
    }

    /// A token the provider would never issue, signed with its current key
    /// (or as `query` says: `alg=none`, `alg=HS256`, `kid=...`), with
    /// `claims` over the defaults of a valid token for user-a.
    pub async fn forge(&self, query: &str, claims: serde_json::Value) -> String {
        let body: serde_json::Value = self
            .client
            .post(format!("{}/test/forge?{query}", self.issuer))
            .json(&claims)
            .send()
            .await
            .expect("forge answers")
            .json()
            .await
            .expect("JSON");
        body["token"].as_str().expect("a token").to_string()
    }

    /// Control: `rotate` (a new signing key, the old one unpublished),
    /// `down`, `up`.
    pub async fn control(&self, what: &str) {
        let resp = self
            .client
            .post(format!("{}/test/{what}", self.issuer))
            .send()
            .await
            .expect("control answers");
        assert!(resp.status().is_success(), "{what}: {}", resp.status());
    }
}
