//! The HTTP transport the remote backends share: clients with a connect
//! timeout, opened as concurrent requests need them (see `Lane`); sending
//! with retries (exponential backoff with jitter, the provider's
//! Retry-After honoured) only before any response has begun; HTTP statuses
//! mapped to typed `ModelError`s; and an SSE body read with a timeout
//! between chunks.
//!
//! It knows no provider's request or stream format, only the
//! `{"error": {"message": ...}}` error body that OpenAI and Anthropic share.
//! Once a response has begun streaming nothing here retries: output that
//! reached a client cannot be taken back.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use reqwest::header::HeaderMap;
use serde_json::Value;

use super::ModelError;
use super::sse::{Decoder, SseEvent};
use crate::config::ModelConfig;

/// The longest Retry-After we wait out; a longer one fails the request at
/// once (with the wait in the message) rather than stall a run silently.
const MAX_RETRY_WAIT_SECS: u64 = 30;
/// The first backoff step; each further attempt doubles it.
const BACKOFF_BASE_MS: u64 = 200;

pub struct Transport {
    lanes: Mutex<Vec<Lane>>,
    connect_timeout: Duration,
    http2_prior_knowledge: bool,
    streams_per_lane: usize,
    read_timeout: Duration,
    max_attempts: u32,
}

/// A client (its own connection pool) and how many requests it carries.
///
/// Over HTTP/2, which an HTTPS provider negotiates and `http2_prior_knowledge`
/// asks for, a client multiplexes every request to a host on one connection,
/// and never opens a second when the server's cap on concurrent streams
/// (commonly 100 to 250) is reached: the request beyond it waits, silently,
/// for a stream to end (hyperium/hyper#2197). So once every lane carries
/// `max_streams_per_connection` requests, the next one opens a new lane. Over
/// HTTP/1.1 each lane's pool opens connections as it needs them anyway.
struct Lane {
    client: reqwest::Client,
    busy: Arc<AtomicUsize>,
}

impl Lane {
    fn seat(&self) -> (reqwest::Client, Seat) {
        self.busy.fetch_add(1, Ordering::Relaxed);
        (self.client.clone(), Seat(self.busy.clone()))
    }
}

/// A request's place on its lane, held until its response is read or dropped.
struct Seat(Arc<AtomicUsize>);

impl Drop for Seat {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// An upstream response whose body is not yet read, holding its lane seat.
pub struct Response {
    inner: reqwest::Response,
    seat: Seat,
}

impl Transport {
    pub fn new(cfg: &ModelConfig) -> Result<Self, String> {
        let mut transport = Self {
            lanes: Mutex::new(Vec::new()),
            connect_timeout: Duration::from_secs(cfg.connect_timeout_secs),
            http2_prior_knowledge: cfg.http2_prior_knowledge,
            streams_per_lane: cfg.max_streams_per_connection.max(1),
            read_timeout: Duration::from_secs(cfg.read_timeout_secs),
            max_attempts: cfg.max_retries.saturating_add(1),
        };
        // The first lane now, so a client that cannot be built fails the
        // config at start-up rather than a run later.
        let first = transport.client()?;
        transport
            .lanes
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .push(Lane {
                client: first,
                busy: Arc::default(),
            });
        Ok(transport)
    }

    fn client(&self) -> Result<reqwest::Client, String> {
        let builder = reqwest::Client::builder().connect_timeout(self.connect_timeout);
        let builder = match self.http2_prior_knowledge {
            true => builder.http2_prior_knowledge(),
            false => builder,
        };
        builder
            .build()
            .map_err(|e| format!("cannot build HTTP client: {e}"))
    }

    /// A seat on the first lane with room, on a new lane when all are full.
    fn seat(&self) -> Result<(reqwest::Client, Seat), ModelError> {
        let has_room = |l: &Lane| l.busy.load(Ordering::Relaxed) < self.streams_per_lane;
        if let Some(seat) = self
            .lock_lanes()
            .iter()
            .find(|l| has_room(l))
            .map(Lane::seat)
        {
            return Ok(seat);
        }
        // Built outside the lock: a client loads the system's root
        // certificates (a few ms) and other runs need not wait for that. Two
        // threads that find every lane full at once both open one; the
        // spare lane only has room sooner. A client built once already is
        // not expected to fail; if it does, the run fails as unable to
        // connect.
        let lane = Lane {
            client: self.client().map_err(ModelError::Connect)?,
            busy: Arc::default(),
        };
        let seat = lane.seat();
        self.lock_lanes().push(lane);
        Ok(seat)
    }

    fn lock_lanes(&self) -> std::sync::MutexGuard<'_, Vec<Lane>> {
        self.lanes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends the request `build` makes, again after retryable faults, and
    /// returns the first successful response (its body not yet read).
    pub async fn send(
        &self,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Response, ModelError> {
        let mut attempt = 1;
        loop {
            let (client, seat) = self.seat()?;
            let err = match tokio::time::timeout(self.read_timeout, build(&client).send()).await {
                Err(_) => ModelError::Timeout(format!(
                    "no response within {}s",
                    self.read_timeout.as_secs()
                )),
                Ok(Err(e)) if e.is_timeout() => ModelError::Timeout(e.to_string()),
                Ok(Err(e)) => ModelError::Connect(error_chain(&e)),
                Ok(Ok(inner)) if inner.status().is_success() => {
                    return Ok(Response { inner, seat });
                }
                Ok(Ok(resp)) => self.status_error(resp).await,
            };
            drop(seat);
            if attempt >= self.max_attempts || !err.is_retryable() {
                return Err(err);
            }
            let Some(wait) = backoff(attempt, &err) else {
                return Err(err);
            };
            tracing::info!(attempt, error = %err, wait_ms = wait.as_millis() as u64, "retrying model request");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn status_error(&self, resp: reqwest::Response) -> ModelError {
        let status = resp.status().as_u16();
        let retry_after = retry_after_secs(resp.headers());
        let body = tokio::time::timeout(self.read_timeout, resp.text())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        status_error(status, retry_after, &body)
    }

    /// The response body as SSE events. A silence longer than the read
    /// timeout, a broken connection or undecodable bytes end it with a typed
    /// error; the caller decides whether a clean end was complete.
    pub fn events(&self, resp: Response) -> BoxStream<'static, Result<SseEvent, ModelError>> {
        let read_timeout = self.read_timeout;
        let Response { inner, seat } = resp;
        let mut bytes = inner.bytes_stream();
        async_stream::stream! {
            let _seat = seat;
            let mut decoder = Decoder::default();
            let mut ready = Vec::new();
            // One timer for the whole body, not one per chunk (a timer-wheel
            // entry made and dropped for every token): each chunk notes its
            // time, and a timer that fires before the stream has been
            // silent for the read timeout is set again from that time.
            let mut last = tokio::time::Instant::now();
            let silence = tokio::time::sleep_until(last + read_timeout);
            tokio::pin!(silence);
            loop {
                let next = tokio::select! {
                    biased;
                    next = bytes.next() => Ok(next),
                    () = &mut silence => Err(()),
                };
                match next {
                    Err(()) => {
                        let due = last + read_timeout;
                        if tokio::time::Instant::now() < due {
                            silence.as_mut().reset(due);
                            continue;
                        }
                        yield Err(ModelError::Timeout(format!(
                            "no data from the model for {}s",
                            read_timeout.as_secs()
                        )));
                        break;
                    }
                    Ok(None) => break,
                    Ok(Some(Err(e))) => {
                        yield Err(ModelError::StreamCut(error_chain(&e)));
                        break;
                    }
                    Ok(Some(Ok(chunk))) => {
                        last = tokio::time::Instant::now();
                        if let Err(e) = decoder.feed(&chunk, &mut ready) {
                            yield Err(ModelError::Malformed(e.to_string()));
                            break;
                        }
                        for event in ready.drain(..) {
                            yield Ok(event);
                        }
                    }
                }
            }
        }
        .boxed()
    }
}

/// reqwest's top-level message ("error sending request") hides the cause a
/// user can act on (connection refused, DNS); include the whole chain.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// Seconds from `retry-after-ms` or `retry-after` (delta-seconds form).
pub fn retry_after_secs(headers: &HeaderMap) -> Option<u64> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms >= 0.0
    {
        return Some((ms / 1000.0).ceil() as u64);
    }
    header("retry-after").and_then(|v| v.parse().ok())
}

/// Maps an HTTP error status and body to the typed fault.
pub fn status_error(status: u16, retry_after_secs: Option<u64>, body: &str) -> ModelError {
    let message = error_message(body);
    match status {
        401 | 403 => ModelError::Auth { status, message },
        408 => ModelError::Timeout(message),
        429 => ModelError::RateLimited {
            message,
            retry_after_secs,
        },
        // 529 is Anthropic's "overloaded"; 503 means the same elsewhere.
        503 | 529 => ModelError::Overloaded {
            status,
            message,
            retry_after_secs,
        },
        s if s >= 500 => ModelError::Upstream { status, message },
        _ => ModelError::BadRequest { status, message },
    }
}

/// `error.message` of a JSON error body, else the start of the body.
pub fn error_message(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .or_else(|| v.get("message"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| {
            let text: String = body.chars().take(500).collect();
            if text.trim().is_empty() {
                "(empty response body)".to_string()
            } else {
                text
            }
        })
}

/// How long to wait before attempt `attempt + 1`: the provider's
/// Retry-After when it gave one (None when that is too long to wait out),
/// else exponential backoff with jitter so that many runs failing together
/// do not retry in lockstep.
pub fn backoff(attempt: u32, err: &ModelError) -> Option<Duration> {
    if let Some(secs) = err.retry_after_secs() {
        return (secs <= MAX_RETRY_WAIT_SECS).then(|| Duration::from_secs(secs));
    }
    let base = BACKOFF_BASE_MS.saturating_mul(1u64 << (attempt - 1).min(10));
    let jitter = u64::from(u16::from_le_bytes(
        uuid::Uuid::new_v4().as_bytes()[..2]
            .try_into()
            .unwrap_or([0, 0]),
    )) % (base / 2 + 1);
    Some(Duration::from_millis(base + jitter))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_typed_faults() {
        let body = r#"{"type":"error","error":{"type":"x","message":"nope"}}"#;
        assert!(
            matches!(status_error(401, None, body), ModelError::Auth { message, .. } if message == "nope")
        );
        assert!(matches!(
            status_error(429, Some(3), body),
            ModelError::RateLimited {
                retry_after_secs: Some(3),
                ..
            }
        ));
        assert!(matches!(
            status_error(529, None, body),
            ModelError::Overloaded { status: 529, .. }
        ));
        assert!(matches!(
            status_error(500, None, "oops"),
            ModelError::Upstream { status: 500, message } if message == "oops"
        ));
        assert!(matches!(
            status_error(400, None, ""),
            ModelError::BadRequest { status: 400, .. }
        ));
    }

    #[test]
    fn backoff_grows_and_honours_retry_after() {
        let up = ModelError::Upstream {
            status: 500,
            message: String::new(),
        };
        let first = backoff(1, &up).unwrap();
        let third = backoff(3, &up).unwrap();
        assert!(first >= Duration::from_millis(200) && first <= Duration::from_millis(300));
        assert!(third >= Duration::from_millis(800) && third <= Duration::from_millis(1200));
        let limited = |s| ModelError::RateLimited {
            message: String::new(),
            retry_after_secs: Some(s),
        };
        assert_eq!(backoff(1, &limited(2)), Some(Duration::from_secs(2)));
        assert_eq!(backoff(1, &limited(3600)), None);
    }

    /// The body's one read-timeout timer: chunks that keep coming keep the
    /// stream going past the first deadline (the timer set again from the
    /// last chunk), and a silence as long as the timeout ends it with a
    /// timeout error, after every event that came.
    #[tokio::test]
    async fn a_silent_body_times_out_after_its_last_chunk() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let mut head = vec![0u8; 4096];
            let _ = tcp.read(&mut head).await.unwrap();
            tcp.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
                .await
                .unwrap();
            // Six events 300 ms apart: past the 1 s timeout counted from
            // the start, never 1 s apart. Then silence, the socket open.
            for i in 0..6 {
                let event = format!("data: {i}\n\n");
                let chunk = format!("{:x}\r\n{event}\r\n", event.len());
                tcp.write_all(chunk.as_bytes()).await.unwrap();
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            tokio::time::sleep(Duration::from_secs(10)).await;
            drop(tcp);
        });
        let cfg: ModelConfig =
            toml::from_str("provider = \"openai\"\nread_timeout_secs = 1\nmax_retries = 0")
                .unwrap();
        let transport = Transport::new(&cfg).unwrap();
        let resp = transport.send(|c| c.get(&url)).await.unwrap();
        let got: Vec<_> = transport.events(resp).collect().await;
        server.abort();
        let datas: Vec<&str> = got[..got.len() - 1]
            .iter()
            .map(|e| e.as_ref().unwrap().data.as_str())
            .collect();
        assert_eq!(datas, ["0", "1", "2", "3", "4", "5"]);
        assert!(
            matches!(got.last(), Some(Err(ModelError::Timeout(m))) if m.contains("no data")),
            "{:?}",
            got.last()
        );
    }

    #[test]
    fn retry_after_headers() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after_secs(&h), Some(7));
        h.insert("retry-after-ms", "1500".parse().unwrap());
        assert_eq!(retry_after_secs(&h), Some(2));
    }
}
