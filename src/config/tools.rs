//! `[tools]` and `[mcp_servers.NAME]`: the settings of the built-in tools
//! that need them (`http_fetch`'s allow-list and limits) and the MCP
//! servers whose tools agents may use, with the checks of their values.
//!
//! The grammar of an `allowed_hosts` entry lives here too, so that config
//! can check it without importing `tools` (which imports config).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::{Config, ConfigError};

/// `[tools]`: settings of the built-in tools that need them.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ToolsConfig {
    pub http_fetch: HttpFetchConfig,
}

/// `[tools.http_fetch]`: the `http_fetch` tool is off until `allowed_hosts`
/// names at least one host.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpFetchConfig {
    /// Hosts the tool may fetch from: `example.com` (any port),
    /// `example.com:8080` (that port only) or `*.example.com` (its
    /// subdomains). Every redirect must stay on these hosts.
    pub allowed_hosts: Vec<String>,
    /// Bytes of a response body read at most; the rest is cut off.
    pub max_response_bytes: u64,
    /// Seconds one fetch may take in all (connect, redirects, body).
    pub timeout_secs: u64,
    /// Redirects followed at most.
    pub max_redirects: usize,
}

impl Default for HttpFetchConfig {
    fn default() -> Self {
        Self {
            allowed_hosts: Vec::new(),
            max_response_bytes: 256 * 1024,
            timeout_secs: 10,
            max_redirects: 5,
        }
    }
}

/// One `[tools.http_fetch] allowed_hosts` entry, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchHostPattern {
    /// Lowercase host, without the `*.` of a wildcard.
    pub host: String,
    /// `*.example.com`: subdomains of `host` (not `host` itself).
    pub subdomains: bool,
    /// Only this port, when given.
    pub port: Option<u16>,
}

impl FetchHostPattern {
    /// The entry, or None when it is not a host, `host:port` or `*.host`.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase();
        let (rest, subdomains) = match s.strip_prefix("*.") {
            Some(r) => (r.to_string(), true),
            None => (s, false),
        };
        // An IPv6 literal is written in brackets, like in a URL.
        let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
            let (addr, after) = inner.split_once(']')?;
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p.parse::<u16>().ok()?),
                None if after.is_empty() => None,
                None => return None,
            };
            (format!("[{addr}]"), port)
        } else {
            match rest.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p.parse::<u16>().ok()?)),
                None => (rest, None),
            }
        };
        let valid = !host.is_empty()
            && host.chars().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '[' | ']' | ':' | '_')
            });
        valid.then_some(Self {
            host,
            subdomains,
            port,
        })
    }

    /// Whether a URL's host (as a URL spells it: IPv6 in brackets) and its
    /// port (the scheme's when the URL names none) are allowed by this entry.
    pub fn matches_host(&self, host: &str, port: Option<u16>) -> bool {
        let host = host.to_ascii_lowercase();
        let host_ok = if self.subdomains {
            host.strip_suffix(&self.host)
                .is_some_and(|prefix| prefix.ends_with('.') && prefix.len() > 1)
        } else {
            host == self.host
        };
        host_ok && self.port.is_none_or(|p| port == Some(p))
    }
}

/// `[mcp_servers.NAME]`: an MCP server whose tools agents may use. Either
/// `command` (a stdio server agentd starts as a child process and stops
/// when it shuts down) or `url` (a streamable-HTTP server).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct McpServerConfig {
    /// The program to run (looked up on PATH).
    pub command: Option<String>,
    pub args: Vec<String>,
    /// Variables added to the child's environment (agentd's own are inherited).
    pub env: BTreeMap<String, String>,
    /// The child's working directory (default: agentd's).
    pub cwd: Option<PathBuf>,
    /// The streamable-HTTP endpoint, e.g. `https://mcp.example.com/mcp`.
    pub url: Option<String>,
    /// Headers sent with every request to `url` (e.g. Authorization).
    pub headers: BTreeMap<String, String>,
    /// Seconds to connect and list the tools, at start and on reconnects.
    pub startup_timeout_secs: u64,
}

impl Default for McpServerConfig {
    fn default() -> Self {
        Self {
            command: None,
            args: Vec::new(),
            env: BTreeMap::new(),
            cwd: None,
            url: None,
            headers: BTreeMap::new(),
            startup_timeout_secs: 20,
        }
    }
}

impl McpServerConfig {
    /// What kind of server this is, for logs.
    pub fn transport(&self) -> &'static str {
        if self.command.is_some() {
            "stdio"
        } else {
            "streamable-http"
        }
    }
}

impl Config {
    /// `[tools]` and `[mcp_servers]`.
    pub(super) fn validate_tools(&self) -> Result<(), ConfigError> {
        let fetch = &self.tools.http_fetch;
        for (i, host) in fetch.allowed_hosts.iter().enumerate() {
            if FetchHostPattern::parse(host).is_none() {
                return Err(self.invalid(
                    format!("tools.http_fetch.allowed_hosts[{i}]"),
                    format!(
                        "'{host}' is not a host like example.com, example.com:8080 or *.example.com"
                    ),
                ));
            }
        }
        for (field, value) in [
            (
                "tools.http_fetch.max_response_bytes",
                fetch.max_response_bytes,
            ),
            ("tools.http_fetch.timeout_secs", fetch.timeout_secs),
        ] {
            if value == 0 {
                return Err(self.invalid(field, "must be at least 1"));
            }
        }
        for (name, server) in &self.mcp_servers {
            self.validate_mcp_server(name, server)?;
        }
        Ok(())
    }

    fn validate_mcp_server(&self, name: &str, server: &McpServerConfig) -> Result<(), ConfigError> {
        let field = |f: &str| format!("mcp_servers.{name}.{f}");
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(self.invalid(
                format!("mcp_servers.{name}"),
                "server names are letters, digits, '-' and '_'",
            ));
        }
        match (&server.command, &server.url) {
            (Some(_), Some(_)) => {
                return Err(self.invalid(
                    format!("mcp_servers.{name}"),
                    "set either `command` (a stdio server) or `url` (a streamable-HTTP server), not both",
                ));
            }
            (None, None) => {
                return Err(self.invalid(
                    format!("mcp_servers.{name}"),
                    "needs `command` (a stdio server) or `url` (a streamable-HTTP server)",
                ));
            }
            (Some(command), None) => {
                if command.trim().is_empty() {
                    return Err(self.invalid(field("command"), "must name a program"));
                }
                if !server.headers.is_empty() {
                    return Err(
                        self.invalid(field("headers"), "headers go with `url`, not `command`")
                    );
                }
            }
            (None, Some(url)) => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(self.invalid(
                        field("url"),
                        format!("'{url}' must start with http:// or https://"),
                    ));
                }
                if !server.args.is_empty() || !server.env.is_empty() || server.cwd.is_some() {
                    return Err(self.invalid(
                        format!("mcp_servers.{name}"),
                        "args, env and cwd go with `command`, not `url`",
                    ));
                }
                for (header, value) in &server.headers {
                    if axum::http::HeaderName::from_bytes(header.as_bytes()).is_err() {
                        return Err(self.invalid(
                            field("headers"),
                            format!("'{header}' is not a valid header name"),
                        ));
                    }
                    if axum::http::HeaderValue::from_str(value).is_err() {
                        return Err(self.invalid(
                            field("headers"),
                            format!("the value of '{header}' is not a valid header value"),
                        ));
                    }
                }
            }
        }
        if server.startup_timeout_secs == 0 {
            return Err(self.invalid(field("startup_timeout_secs"), "must be at least 1"));
        }
        Ok(())
    }
}
