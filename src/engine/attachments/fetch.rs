//! Files given by URL, made into files given by content before anything
//! else looks at them: every protocol's URL inputs (ACP `content_url`,
//! AG-UI image and binary URLs) pass here, once, in the engine.
//!
//! What the config allows decides: refuse every URL (the default), hand
//! image URLs to the model as they are, or download the file. A download is
//! held to the host allow-list, to public addresses (unless private ones are
//! allowed: the server must not become a way into its own network), to the
//! per-file size limit while the body streams in, and to a time limit; the
//! resolved addresses are pinned for the connection and every redirect is
//! checked like the first URL. Every refusal names the file.
//!
//! Depends on the config and the engine's error and message types; never on
//! HTTP servers or protocols.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use base64::Engine as _;

use super::super::EngineError;
use crate::config::{FilesConfig, UrlInputMode, UrlInputsConfig};
use crate::domain::{Attachment, Message};
use crate::net::{is_public, read_capped};

/// Resolves the URL attachments of `messages` as the config says: data
/// URLs become content; in fetch mode every other URL is downloaded; in
/// pass mode they are left for the model; off, the first one is refused.
///
/// Downloads are counted against the request's total while they stream
/// (with the files sent inline counted first), so a request naming many
/// large URLs is refused at the byte that crosses the total, not after
/// everything was fetched; and their number is capped before any is.
pub async fn resolve(config: &FilesConfig, messages: &mut [Message]) -> Result<(), EngineError> {
    let mut budget = RequestBudget::new(config, messages);
    if config.urls.mode == UrlInputMode::Fetch {
        let urls = messages
            .iter()
            .flat_map(|m| &m.attachments)
            .filter(|a| {
                a.data.is_none() && a.url.as_deref().is_some_and(|u| !u.starts_with("data:"))
            })
            .count();
        if urls > config.urls.max_per_request {
            return Err(EngineError::InvalidInput(format!(
                "{urls} files are given by URL; this server fetches at most {} per request",
                config.urls.max_per_request
            )));
        }
    }
    let mut index = 0usize;
    for message in messages.iter_mut() {
        for attachment in message.attachments.iter_mut() {
            index += 1;
            if attachment.data.is_some() {
                continue;
            }
            let Some(url) = attachment.url.clone() else {
                continue;
            };
            if url.starts_with("data:") {
                // Content in URL form: nothing to fetch.
                attachment.data = Some(url);
                attachment.url = None;
                continue;
            }
            let name = file_name(attachment, index);
            match config.urls.mode {
                UrlInputMode::Pass => {}
                UrlInputMode::Off => {
                    return Err(refuse(
                        &name,
                        format!(
                            "it is given by URL ({}), and URL inputs are disabled on this \
                             server; send the file's content instead",
                            shown(&url)
                        ),
                    ));
                }
                UrlInputMode::Fetch => {
                    let limit = budget.next_file_limit();
                    let fetched = fetch(&config.urls, limit, &name, &url)
                        .await
                        .map_err(|e| budget.explain(e))?;
                    budget.spend(fetched.bytes.len() as u64);
                    let declared = attachment.mime_type.trim().to_ascii_lowercase();
                    if declared.is_empty() || declared == "application/octet-stream" {
                        attachment.mime_type = fetched.content_type.unwrap_or_default();
                    }
                    if attachment
                        .name
                        .as_deref()
                        .is_none_or(|n| n.trim().is_empty())
                    {
                        attachment.name = Some(name);
                    }
                    attachment.data =
                        Some(base64::engine::general_purpose::STANDARD.encode(&fetched.bytes));
                }
            }
        }
    }
    Ok(())
}

/// What is left of the request's byte total for the files still to fetch.
struct RequestBudget {
    per_file: u64,
    per_request: u64,
    /// Bytes already given: inline content (its decoded size, estimated
    /// from the base64 length) and downloads so far.
    used: u64,
}

impl RequestBudget {
    fn new(config: &FilesConfig, messages: &[Message]) -> Self {
        let inline = messages
            .iter()
            .flat_map(|m| &m.attachments)
            .filter_map(|a| {
                a.data
                    .as_deref()
                    .or(a.url.as_deref().filter(|u| u.starts_with("data:")))
            })
            .map(|data| data.len() as u64 / 4 * 3)
            .sum();
        Self {
            per_file: config.max_file_bytes,
            per_request: config.max_request_bytes,
            used: inline,
        }
    }

    /// The most the next download may be: its own limit, or what is left
    /// of the request's total when that is smaller.
    fn next_file_limit(&self) -> u64 {
        self.per_file
            .min(self.per_request.saturating_sub(self.used))
    }

    fn spend(&mut self, bytes: u64) {
        self.used = self.used.saturating_add(bytes);
    }

    /// A download stopped at a limit the request's total set is reported
    /// as the total's refusal, not as the file's own.
    fn explain(&self, error: EngineError) -> EngineError {
        match error {
            EngineError::TooLarge {
                file: Some(_),
                bytes,
                limit,
            } if limit < self.per_file => EngineError::TooLarge {
                file: None,
                bytes: self.used.saturating_add(bytes),
                limit: self.per_request,
            },
            other => other,
        }
    }
}

/// The name a URL attachment is reported under: its own, else the last
/// segment of its URL, else its position.
fn file_name(attachment: &Attachment, index: usize) -> String {
    attachment
        .name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .or_else(|| attachment.url.as_deref().and_then(super::url_file_name))
        .unwrap_or_else(|| format!("attachment {index}"))
}

fn refuse(name: &str, reason: String) -> EngineError {
    EngineError::UnsupportedMedia {
        file: name.to_string(),
        reason,
    }
}

/// A URL as it may appear in an error: without credentials or query (which
/// often carry tokens), and not unreasonably long.
fn shown(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            let s = u.to_string();
            if s.len() > 200 {
                format!("{}...", &s[..s.floor_char_boundary(200)])
            } else {
                s
            }
        }
        Err(_) => "an invalid URL".to_string(),
    }
}

struct Fetched {
    bytes: Vec<u8>,
    content_type: Option<String>,
}

async fn fetch(
    cfg: &UrlInputsConfig,
    limit: u64,
    name: &str,
    url: &str,
) -> Result<Fetched, EngineError> {
    let secs = cfg.timeout_secs;
    match tokio::time::timeout(
        Duration::from_secs(secs),
        fetch_following(cfg, limit, name, url),
    )
    .await
    {
        Ok(result) => result,
        Err(_) => Err(refuse(
            name,
            format!("fetching {} took longer than {secs} s", shown(url)),
        )),
    }
}

async fn fetch_following(
    cfg: &UrlInputsConfig,
    limit: u64,
    name: &str,
    url: &str,
) -> Result<Fetched, EngineError> {
    let mut current = reqwest::Url::parse(url)
        .map_err(|e| refuse(name, format!("its URL is not valid ({e})")))?;
    let mut redirects = 0;
    loop {
        let response = get_checked(cfg, name, &current).await?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| current.join(l).ok());
            let Some(next) = location else {
                return Err(refuse(
                    name,
                    format!(
                        "fetching {} answered HTTP {} without a usable Location",
                        shown(current.as_str()),
                        status.as_u16()
                    ),
                ));
            };
            redirects += 1;
            if redirects > cfg.max_redirects {
                return Err(refuse(
                    name,
                    format!(
                        "fetching {} was redirected more than {} times",
                        shown(url),
                        cfg.max_redirects
                    ),
                ));
            }
            current = next;
            continue;
        }
        if !status.is_success() {
            return Err(refuse(
                name,
                format!(
                    "fetching {} answered HTTP {}",
                    shown(current.as_str()),
                    status.as_u16()
                ),
            ));
        }
        return read_limited(response, limit, name, current.as_str()).await;
    }
}

/// One GET of `url`, after checking its scheme, host and addresses; the
/// connection goes to exactly the addresses checked.
async fn get_checked(
    cfg: &UrlInputsConfig,
    name: &str,
    url: &reqwest::Url,
) -> Result<reqwest::Response, EngineError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refuse(
            name,
            format!("its URL must be http or https, not {}", url.scheme()),
        ));
    }
    let host = url
        .host_str()
        .ok_or_else(|| refuse(name, "its URL has no host".into()))?
        .to_ascii_lowercase();
    if !host_allowed(&cfg.allowed_hosts, &host) {
        return Err(refuse(
            name,
            format!("its URL's host '{host}' is not one this server fetches from"),
        ));
    }
    let port = url.port_or_known_default().unwrap_or(80);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((bare, port))
            .await
            .map_err(|_| {
                refuse(
                    name,
                    format!("its URL's host '{host}' could not be resolved"),
                )
            })?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(refuse(
            name,
            format!("its URL's host '{host}' could not be resolved"),
        ));
    }
    if !cfg.allow_private_addresses && addrs.iter().any(|a| !is_public(a.ip())) {
        return Err(refuse(
            name,
            format!(
                "its URL's host '{host}' is a private or local address, which this server \
                 does not fetch from"
            ),
        ));
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .resolve_to_addrs(bare, &addrs)
        .build()
        .map_err(|e| refuse(name, format!("it could not be fetched ({e})")))?;
    client.get(url.clone()).send().await.map_err(|e| {
        refuse(
            name,
            format!(
                "fetching {} failed: {}",
                shown(url.as_str()),
                connect_reason(&e)
            ),
        )
    })
}

fn connect_reason(e: &reqwest::Error) -> String {
    if e.is_connect() {
        "could not connect".to_string()
    } else if e.is_timeout() {
        "timed out".to_string()
    } else {
        e.to_string()
    }
}

/// Reads the body, refusing it as soon as it passes `limit` (a declared
/// length over it is refused before reading).
async fn read_limited(
    response: reqwest::Response,
    limit: u64,
    name: &str,
    url: &str,
) -> Result<Fetched, EngineError> {
    let too_large = |bytes: u64| EngineError::TooLarge {
        file: Some(name.to_string()),
        bytes,
        limit,
    };
    if let Some(len) = response.content_length()
        && len > limit
    {
        return Err(too_large(len));
    }
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = read_capped(response, limit).await.map_err(|e| {
        refuse(
            name,
            format!("fetching {} failed while reading it: {e}", shown(url)),
        )
    })?;
    if let Some(seen) = body.overflow_at {
        return Err(too_large(seen));
    }
    let bytes = body.bytes;
    Ok(Fetched {
        bytes,
        content_type,
    })
}

/// Whether `host` is on the allow-list (empty: every host is).
fn host_allowed(allowed: &[String], host: &str) -> bool {
    allowed.is_empty()
        || allowed.iter().any(|pattern| {
            let pattern = pattern.to_ascii_lowercase();
            match pattern.strip_prefix("*.") {
                Some(domain) => host
                    .strip_suffix(domain)
                    .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
                None => pattern == host,
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_list_matches_hosts_and_subdomains() {
        let list = vec!["example.com".to_string(), "*.cdn.net".to_string()];
        assert!(host_allowed(&list, "example.com"));
        assert!(!host_allowed(&list, "www.example.com"));
        assert!(host_allowed(&list, "a.cdn.net"));
        assert!(host_allowed(&list, "a.b.cdn.net"));
        assert!(!host_allowed(&list, "cdn.net"));
        assert!(!host_allowed(&list, "evilcdn.net"));
        assert!(host_allowed(&[], "anything.org"));
    }

    #[test]
    fn shown_urls_drop_secrets() {
        assert_eq!(
            shown("https://user:pw@example.com/a.png?token=x#f"),
            "https://example.com/a.png"
        );
    }
}
