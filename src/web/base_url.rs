//! The external base URL of a request (`scheme://host`), for the absolute
//! links adapters put in their answers (agent cards, resource URLs,
//! `web_url`). One reading of the forwarding headers for every protocol:
//! the first `X-Forwarded-Host`, else `Host`, else the request target's
//! authority; `X-Forwarded-Proto` when it says `http` or `https`. A value
//! that is not a plain `host[:port]` is ignored, and the Host check
//! (`http::hosts`) has already refused any name, forwarded or not, this
//! server does not answer to.

use axum::http::HeaderMap;

/// The first value of `name`, if it is a plain host, port or scheme.
fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.chars().all(plain))
}

fn plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || ".-:[]_".contains(c)
}

/// `http(s)://host` as the client reached us; `None` when the request
/// names no usable host.
pub fn origin(headers: &HeaderMap, authority: Option<&str>) -> Option<String> {
    let host = header(headers, "x-forwarded-host")
        .or_else(|| header(headers, "host"))
        .or(authority.filter(|a| !a.is_empty() && a.chars().all(plain)))?;
    let scheme = header(headers, "x-forwarded-proto")
        .filter(|p| *p == "http" || *p == "https")
        .unwrap_or("http");
    Some(format!("{scheme}://{host}"))
}

/// `origin`, or `http(s)://localhost` for a request that names no host.
pub fn origin_or_localhost(headers: &HeaderMap, authority: Option<&str>) -> String {
    origin(headers, authority).unwrap_or_else(|| {
        let scheme = match header(headers, "x-forwarded-proto") {
            Some("https") => "https",
            _ => "http",
        };
        format!("{scheme}://localhost")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn forwarded_host_wins_and_odd_values_are_ignored() {
        let h = headers(&[
            ("host", "127.0.0.1:8080"),
            ("x-forwarded-host", "agents.example, proxy.internal"),
            ("x-forwarded-proto", "https"),
        ]);
        assert_eq!(origin(&h, None).as_deref(), Some("https://agents.example"));
        let h = headers(&[("host", "127.0.0.1:8080"), ("x-forwarded-host", "a/b")]);
        assert_eq!(origin(&h, None).as_deref(), Some("http://127.0.0.1:8080"));
        let h = headers(&[("x-forwarded-proto", "gopher")]);
        assert_eq!(origin(&h, Some("h:1")).as_deref(), Some("http://h:1"));
        assert_eq!(
            origin_or_localhost(&HeaderMap::new(), None),
            "http://localhost"
        );
    }
}
