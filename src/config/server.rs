//! `[server]`: where agentd listens and what one connection, request or
//! caller may cost: body size, timeouts (headers, idle, body, request),
//! the connection cap, rate limits, CORS and the Host check, shutdown
//! grace. The settings, their defaults and the checks of their values.

use serde::Deserialize;

use super::{Config, ConfigError, DEFAULT_BIND};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    pub bind: String,
    /// Largest request body accepted, in bytes (uploads included).
    pub max_body_bytes: usize,
    /// Seconds between SSE keep-alive comments on idle streams.
    pub sse_keep_alive_secs: u64,
    /// Runs (not counting team members) that may be live at once across all
    /// protocols; more are refused with 429. 0 = unlimited.
    pub max_concurrent_runs: usize,
    /// Runs one caller (API key) may have live at once; more are refused
    /// with 429. A key's own `max_concurrent_runs` overrides it. Callers
    /// without a key share one count. 0 = unlimited.
    pub max_concurrent_runs_per_key: usize,
    /// Requests per minute one caller (API key) may make to each protocol's
    /// routes; more are refused with 429. A key's own `rate_limits`
    /// override these. Unset or 0 = unlimited.
    pub rate_limits: RateLimits,
    /// Seconds a non-streaming request may take before it is answered with
    /// 408 (a waiting run is then cancelled like any client that left).
    /// SSE streams are never cut. 0 = no timeout.
    pub request_timeout_secs: u64,
    /// On SIGTERM/SIGINT, seconds live runs get to finish before they are
    /// cancelled (and recorded as cancelled).
    pub shutdown_grace_secs: u64,
    /// Origins browser frontends (AG-UI) may call from. Empty (the
    /// default): no CORS headers, so no page on another origin can read
    /// what this server answers. `"*"` lets any origin in; with auth off
    /// that also needs `cors_allow_any_origin_without_auth`, since any web
    /// page the user visits could then read and start runs.
    pub cors_allowed_origins: Vec<String>,
    /// Says in so many words that `cors_allowed_origins = ["*"]` is wanted
    /// on a server without API keys.
    pub cors_allow_any_origin_without_auth: bool,
    /// `[server.cors]`: the same allow-list as a table of its own.
    #[serde(default)]
    pub cors: CorsConfig,
    /// Host names (the `Host` header, any port) this server answers to;
    /// other requests get 421. `["*"]`: any host. Unset: the loopback names
    /// (`localhost`, `127.0.0.1`, `[::1]`) when `bind` is a loopback
    /// address, so a DNS-rebinding page cannot reach a local server; any
    /// host otherwise.
    pub allowed_hosts: Option<Vec<String>>,
    /// Seconds a client has to send a request's headers, counted from when
    /// the connection opens (a connection that sends nothing is closed
    /// after this long) or its previous response ends (so an idle HTTP/1.1
    /// keep-alive connection is closed after this long too). 0 = no limit.
    pub header_read_timeout_secs: u64,
    /// Seconds a connection with no request in flight stays open (HTTP/2
    /// above all: HTTP/1.1 ones are cut by `header_read_timeout_secs` when
    /// that is shorter). 0 = no limit.
    pub idle_timeout_secs: u64,
    /// Seconds a request body may go without sending a byte before the
    /// request is answered 408 and the connection closed. 0 = no limit.
    pub body_read_timeout_secs: u64,
    /// Open connections at most; more wait in the listen backlog until one
    /// closes (at the cap, connections with no request in flight are
    /// closed to make room). Lowered at start to what the descriptor limit
    /// allows.
    pub max_connections: usize,
}

/// `[server.cors]`: origins browser frontends may call from, with the
/// `Authorization` header (API keys and tokens). Added to
/// `cors_allowed_origins`, under the same rules.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsConfig {
    #[serde(default)]
    pub allowed_origins: Vec<String>,
}

impl ServerConfig {
    /// Every allowed origin, with the setting that lists it (for errors).
    pub fn cors_origins(&self) -> impl Iterator<Item = (String, &str)> {
        let flat = self
            .cors_allowed_origins
            .iter()
            .enumerate()
            .map(|(i, o)| (format!("server.cors_allowed_origins[{i}]"), o.as_str()));
        let table = self
            .cors
            .allowed_origins
            .iter()
            .enumerate()
            .map(|(i, o)| (format!("server.cors.allowed_origins[{i}]"), o.as_str()));
        flat.chain(table)
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: DEFAULT_BIND.to_string(),
            max_body_bytes: 32 * 1024 * 1024,
            sse_keep_alive_secs: 15,
            max_concurrent_runs: 0,
            max_concurrent_runs_per_key: 0,
            rate_limits: RateLimits::default(),
            request_timeout_secs: 300,
            shutdown_grace_secs: 30,
            cors_allowed_origins: Vec::new(),
            cors_allow_any_origin_without_auth: false,
            cors: CorsConfig::default(),
            allowed_hosts: None,
            header_read_timeout_secs: 30,
            idle_timeout_secs: 60,
            body_read_timeout_secs: 30,
            max_connections: 4096,
        }
    }
}

/// Requests per minute per caller, for each protocol's routes: AG-UI
/// (`/agui...`), ACP (`/acp...`, `/runs...`), Codegen (`/v1...`), the
/// JSON-RPC protocols A2A and MCP (`/a2a...`, `/mcp`, `/.well-known...`)
/// and AgentOS (every other route). Unset: no limit at this level.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimits {
    pub agentos: Option<u32>,
    pub agui: Option<u32>,
    pub acp: Option<u32>,
    pub codegen: Option<u32>,
    pub jsonrpc: Option<u32>,
}

impl RateLimits {
    /// These limits, with `over`'s set values taking precedence.
    pub fn overridden_by(self, over: &RateLimits) -> RateLimits {
        RateLimits {
            agentos: over.agentos.or(self.agentos),
            agui: over.agui.or(self.agui),
            acp: over.acp.or(self.acp),
            codegen: over.codegen.or(self.codegen),
            jsonrpc: over.jsonrpc.or(self.jsonrpc),
        }
    }
}

impl Config {
    pub(super) fn validate_server(&self) -> Result<(), ConfigError> {
        if self.server.bind.parse::<std::net::SocketAddr>().is_err() {
            return Err(self.invalid(
                "server.bind",
                format!(
                    "'{}' is not an address like 127.0.0.1:7777",
                    self.server.bind
                ),
            ));
        }
        for (field, origin) in self.server.cors_origins() {
            if origin != "*"
                && (axum::http::HeaderValue::from_str(origin).is_err()
                    || !(origin.starts_with("http://") || origin.starts_with("https://")))
            {
                return Err(self.invalid(
                    field,
                    format!("'{origin}' is not an origin like https://app.example.com (or \"*\")"),
                ));
            }
        }
        if self.server.cors_origins().any(|(_, o)| o == "*")
            && !self.auth.enabled()
            && !self.server.cors_allow_any_origin_without_auth
        {
            return Err(self.invalid(
                "server.cors_allowed_origins",
                "\"*\" without API keys lets every web page the user visits read and start \
                 runs; list the frontend's origins, turn auth on, or set \
                 server.cors_allow_any_origin_without_auth = true",
            ));
        }
        if let Some(hosts) = &self.server.allowed_hosts {
            if hosts.is_empty() {
                return Err(self.invalid(
                    "server.allowed_hosts",
                    "lists no host; name the hosts clients use, or \"*\" for any",
                ));
            }
            for (i, host) in hosts.iter().enumerate() {
                if !is_host_pattern(host) {
                    return Err(self.invalid(
                        format!("server.allowed_hosts[{i}]"),
                        format!(
                            "'{host}' is not a host name like agentd.example.com, an IP \
                             address (IPv6 in brackets, e.g. [::1]) or \"*\"; ports are not \
                             listed (any port matches)"
                        ),
                    ));
                }
            }
        }
        if self.server.max_connections == 0 {
            return Err(self.invalid("server.max_connections", "must be at least 1"));
        }
        Ok(())
    }
}

/// A name `server.allowed_hosts` may list: `*`, a DNS name or IPv4
/// address, or a bracketed IPv6 address, without a port.
fn is_host_pattern(host: &str) -> bool {
    if host == "*" {
        return true;
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}
