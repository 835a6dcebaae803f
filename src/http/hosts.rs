//! The Host check: the names this server answers to. It stops DNS
//! rebinding, where a web page on `evil.example` re-points its own name at
//! 127.0.0.1 and so reaches a local server as a same-origin site; its
//! requests still say `Host: evil.example`, and are refused with 421.
//!
//! Reads `[server]` only (the list, or the loopback default from `bind`);
//! refusals are answered in the protocol's shape by `errors`. Depends on
//! nothing protocol-specific.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header, uri::Authority};
use axum::response::Response;

use crate::config::ServerConfig;
use crate::web::errors;

/// Names a loopback-bound server answers to unless told otherwise.
const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

/// The allowed host names (lower case, no port); `None`: any host.
pub struct AllowedHosts {
    names: Option<Vec<String>>,
}

impl AllowedHosts {
    pub fn from_config(server: &ServerConfig) -> Arc<Self> {
        let names = match &server.allowed_hosts {
            Some(list) if list.iter().any(|h| h == "*") => None,
            Some(list) => Some(list.iter().map(|h| normalize(h)).collect()),
            None => loopback_default(&server.bind),
        };
        Arc::new(Self { names })
    }

    /// Whether every host name the request carries is allowed: the
    /// authority of the request target (HTTP/2's `:authority`, or an
    /// absolute-form HTTP/1.1 target), the `Host` header, and any
    /// `X-Forwarded-Host` (which links this server builds, such as
    /// Codegen's `web_url`, trust; so it must not carry a name the Host
    /// check would refuse). A request naming no host at all is refused.
    fn allows(&self, req: &Request) -> bool {
        let Some(names) = &self.names else {
            return true;
        };
        let allowed = |authority: &str| host_of(authority).is_some_and(|h| names.contains(&h));
        let target = req.uri().authority().map(Authority::as_str);
        let host = header_values(req.headers(), header::HOST.as_str());
        let forwarded = header_values(req.headers(), "x-forwarded-host");
        if target.is_none() && host.is_empty() {
            return false;
        }
        target.into_iter().all(allowed)
            && host.iter().all(|h| allowed(h))
            && forwarded.iter().all(|h| allowed(h))
    }
}

/// The loopback names (and the bound address itself) when `bind` is a
/// loopback address; `None` (any host) otherwise.
fn loopback_default(bind: &str) -> Option<Vec<String>> {
    let addr: SocketAddr = bind.parse().ok()?;
    if !addr.ip().is_loopback() {
        return None;
    }
    let mut names: Vec<String> = LOOPBACK_NAMES.iter().map(|n| n.to_string()).collect();
    let own = match addr {
        SocketAddr::V4(a) => a.ip().to_string(),
        SocketAddr::V6(a) => format!("[{}]", a.ip()),
    };
    if !names.contains(&own) {
        names.push(own);
    }
    Some(names)
}

/// Every comma-separated value of every `name` header; a value that is not
/// text is kept as an empty string, which no allowed name matches.
fn header_values(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .flat_map(|v| {
            v.to_str()
                .unwrap_or("")
                .split(',')
                .map(|s| s.trim().to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The host of an authority (`name[:port]`, `[v6][:port]`), normalized;
/// None if it does not parse or carries user info.
fn host_of(authority: &str) -> Option<String> {
    let parsed: Authority = authority.parse().ok()?;
    if parsed.as_str().contains('@') {
        return None;
    }
    Some(normalize(parsed.host()))
}

/// Lower case, without the trailing dot of a fully qualified name.
fn normalize(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// Refuses requests for a host this server does not answer to with 421
/// Misdirected Request, in the protocol's error shape.
pub async fn check(
    hosts: &AllowedHosts,
    req: Request,
    next: impl AsyncFnOnce(Request) -> Response,
) -> Response {
    if hosts.allows(&req) {
        return next(req).await;
    }
    tracing::debug!(
        host = ?req.headers().get(header::HOST),
        "refused: a host this server does not answer to"
    );
    errors::response(
        req.uri().path(),
        StatusCode::MISDIRECTED_REQUEST,
        "This server does not answer to the host this request names (see server.allowed_hosts)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(host: Option<&str>, forwarded: Option<&str>) -> Request {
        let mut b = Request::builder().uri("/health");
        if let Some(h) = host {
            b = b.header("host", h);
        }
        if let Some(f) = forwarded {
            b = b.header("x-forwarded-host", f);
        }
        b.body(axum::body::Body::empty()).unwrap()
    }

    fn loopback() -> Arc<AllowedHosts> {
        AllowedHosts::from_config(&ServerConfig::default())
    }

    #[test]
    fn a_loopback_bind_answers_loopback_names_on_any_port() {
        let hosts = loopback();
        for ok in [
            "localhost",
            "LOCALHOST:7777",
            "127.0.0.1:1",
            "[::1]:7777",
            "localhost.",
        ] {
            assert!(hosts.allows(&request(Some(ok), None)), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:7777",
            "127.0.0.1.evil.example",
            "",
            "a@localhost",
        ] {
            assert!(!hosts.allows(&request(Some(bad), None)), "{bad}");
        }
        assert!(!hosts.allows(&request(None, None)));
    }

    #[test]
    fn forwarded_hosts_cannot_bypass_the_check() {
        let hosts = loopback();
        assert!(!hosts.allows(&request(Some("localhost"), Some("evil.example"))));
        assert!(!hosts.allows(&request(Some("evil.example"), Some("localhost"))));
        assert!(hosts.allows(&request(Some("localhost"), Some("127.0.0.1:7777"))));
    }

    #[test]
    fn the_authority_of_the_target_is_checked_too() {
        let hosts = loopback();
        let req = Request::builder()
            .uri("http://evil.example/health")
            .header("host", "localhost")
            .body(axum::body::Body::empty())
            .unwrap();
        assert!(!hosts.allows(&req));
    }

    #[test]
    fn other_binds_and_a_star_answer_any_host() {
        let open = ServerConfig {
            bind: "0.0.0.0:7777".into(),
            ..ServerConfig::default()
        };
        assert!(AllowedHosts::from_config(&open).allows(&request(Some("anything"), None)));
        let star = ServerConfig {
            allowed_hosts: Some(vec!["*".into()]),
            ..ServerConfig::default()
        };
        assert!(AllowedHosts::from_config(&star).allows(&request(Some("anything"), None)));
        let listed = ServerConfig {
            bind: "0.0.0.0:7777".into(),
            allowed_hosts: Some(vec!["Agentd.Example.com".into()]),
            ..ServerConfig::default()
        };
        let hosts = AllowedHosts::from_config(&listed);
        assert!(hosts.allows(&request(Some("agentd.example.com:443"), None)));
        assert!(!hosts.allows(&request(Some("localhost"), None)));
    }
}
