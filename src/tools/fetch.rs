//! `http_fetch`: a GET of a URL on a configured allow-list of hosts.
//!
//! Limits, all from `[tools.http_fetch]`: only `http`/`https` URLs whose host
//! is on `allowed_hosts` (every redirect is checked too, at most
//! `max_redirects` of them); the whole fetch within `timeout_secs`; at most
//! `max_response_bytes` of the body read, the rest cut off with a marker;
//! only textual bodies (text/*, JSON, XML, JavaScript) are shown, binary
//! ones are described by type and size. A 4xx/5xx answer is an error result.
//!
//! The allow-list is by host name: the addresses a name resolves to are not
//! checked, so list only hosts whose DNS you trust.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Url;
use serde_json::{Value, json};

use super::{Tool, ToolError};
use crate::config::{FetchHostPattern as HostPattern, HttpFetchConfig};
use crate::domain::ToolSpec;
use crate::net::read_capped;

pub const NAME: &str = crate::domain::builtin_tools::HTTP_FETCH;

/// Whether `url` is on `pattern`'s host (and port, when it names one).
fn allows(pattern: &HostPattern, url: &Url) -> bool {
    url.host_str()
        .is_some_and(|host| pattern.matches_host(host, url.port_or_known_default()))
}

pub struct HttpFetch {
    client: reqwest::Client,
    hosts: Arc<Vec<HostPattern>>,
    max_bytes: u64,
    timeout: Duration,
}

impl HttpFetch {
    /// The tool, or None while no host is allowed (the tool is then off).
    pub fn from_config(config: &HttpFetchConfig) -> Option<Self> {
        let hosts: Vec<HostPattern> = config
            .allowed_hosts
            .iter()
            .filter_map(|h| HostPattern::parse(h))
            .collect();
        if hosts.is_empty() {
            return None;
        }
        let hosts = Arc::new(hosts);
        let allowed = hosts.clone();
        let max_redirects = config.max_redirects;
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > max_redirects {
                attempt.error(format!("more than {max_redirects} redirects"))
            } else if allowed.iter().any(|h| allows(h, attempt.url())) {
                attempt.follow()
            } else {
                let to = attempt.url().host_str().unwrap_or("").to_string();
                attempt.error(format!("redirected to {to}, which is not an allowed host"))
            }
        });
        let timeout = Duration::from_secs(config.timeout_secs);
        let client = reqwest::Client::builder()
            .redirect(policy)
            .timeout(timeout)
            .user_agent(concat!("agentd/", env!("CARGO_PKG_VERSION")))
            .build()
            .ok()?;
        Some(Self {
            client,
            hosts,
            max_bytes: config.max_response_bytes,
            timeout,
        })
    }

    fn allowed(&self) -> String {
        self.hosts
            .iter()
            .map(|h| {
                let host = if h.subdomains {
                    format!("*.{}", h.host)
                } else {
                    h.host.clone()
                };
                match h.port {
                    Some(p) => format!("{host}:{p}"),
                    None => host,
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn describe_error(&self, e: &reqwest::Error) -> String {
        if e.is_timeout() {
            return format!(
                "the fetch did not finish within {}s",
                self.timeout.as_secs()
            );
        }
        // The chain holds the redirect policy's own message.
        let mut message = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            message = format!("{message}: {s}");
            source = s.source();
        }
        message
    }
}

/// Whether a body of this type is text a model can read.
fn is_textual(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence.is_empty()
        || essence.starts_with("text/")
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
        || matches!(
            essence.as_str(),
            "application/json"
                | "application/xml"
                | "application/javascript"
                | "application/x-javascript"
                | "application/ecmascript"
                | "application/x-www-form-urlencoded"
                | "application/x-ndjson"
                | "application/yaml"
                | "application/x-yaml"
                | "application/toml"
        )
}

#[async_trait]
impl Tool for HttpFetch {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: NAME.into(),
            description: format!(
                "Fetches a URL with HTTP GET and returns the status and the body as text (the first {} bytes). Only these hosts are allowed: {}.",
                self.max_bytes,
                self.allowed()
            ),
            parameters: json!({
                "type": "object",
                "properties": {
                    "url": {"type": "string", "description": "An http:// or https:// URL on an allowed host", "maxLength": 2048}
                },
                "required": ["url"],
                "additionalProperties": false
            }),
        }
    }

    async fn call(&self, arguments: Value) -> Result<String, ToolError> {
        let raw = arguments
            .get("url")
            .and_then(Value::as_str)
            .ok_or_else(|| ToolError::InvalidArguments("url (string) is required".into()))?;
        let url = Url::parse(raw.trim())
            .map_err(|e| ToolError::InvalidArguments(format!("'{raw}' is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ToolError::InvalidArguments(format!(
                "only http and https URLs can be fetched, not {}",
                url.scheme()
            )));
        }
        if !self.hosts.iter().any(|h| allows(h, &url)) {
            return Err(ToolError::Failed(format!(
                "{} is not an allowed host (allowed: {})",
                url.host_str().unwrap_or(""),
                self.allowed()
            )));
        }
        let response = self
            .client
            .get(url)
            .header(
                reqwest::header::ACCEPT,
                "text/*, application/json, application/xml;q=0.9, */*;q=0.5",
            )
            .send()
            .await
            .map_err(|e| ToolError::Failed(format!("fetch failed: {}", self.describe_error(&e))))?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let status_line = format!(
            "HTTP {} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        );
        let head = if content_type.is_empty() {
            status_line.trim_end().to_string()
        } else {
            format!("{} ({content_type})", status_line.trim_end())
        };
        let text = if is_textual(&content_type) {
            let body = read_capped(response, self.max_bytes).await.map_err(|e| {
                ToolError::Failed(format!("fetch failed: {}", self.describe_error(&e)))
            })?;
            let mut text = format!("{head}\n\n{}", String::from_utf8_lossy(&body.bytes));
            if body.overflow_at.is_some() {
                text.push_str(&format!(
                    "\n[cut: only the first {} bytes of the body are shown]",
                    self.max_bytes
                ));
            }
            text
        } else {
            let size = response
                .content_length()
                .map_or("unknown size".to_string(), |n| format!("{n} bytes"));
            format!("{head}\n\n[binary content ({size}) is not shown]")
        };
        if status.is_client_error() || status.is_server_error() {
            return Err(ToolError::Failed(text));
        }
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn host_patterns_match_hosts_ports_and_subdomains() {
        let plain = HostPattern::parse("Example.com").unwrap();
        assert!(allows(&plain, &url("https://example.com/x")));
        assert!(allows(&plain, &url("http://EXAMPLE.com:8080/")));
        assert!(!allows(&plain, &url("https://www.example.com/")));
        assert!(!allows(&plain, &url("https://example.com.evil.net/")));

        let port = HostPattern::parse("127.0.0.1:8080").unwrap();
        assert!(allows(&port, &url("http://127.0.0.1:8080/")));
        assert!(!allows(&port, &url("http://127.0.0.1:8081/")));

        let wild = HostPattern::parse("*.example.org").unwrap();
        assert!(allows(&wild, &url("https://api.example.org/")));
        assert!(!allows(&wild, &url("https://example.org/")));
        assert!(!allows(&wild, &url("https://badexample.org/")));

        let https = HostPattern::parse("secure.test:443").unwrap();
        assert!(allows(&https, &url("https://secure.test/")));

        assert!(HostPattern::parse("[::1]:80").is_some());
        for bad in ["", "exa mple.com", "a.com:port", "http://a.com", "a.com/x"] {
            assert!(HostPattern::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn textual_types() {
        for t in [
            "",
            "text/html; charset=utf-8",
            "application/json",
            "application/problem+json",
        ] {
            assert!(is_textual(t), "{t}");
        }
        for t in ["image/png", "application/octet-stream", "application/pdf"] {
            assert!(!is_textual(t), "{t}");
        }
    }
}
