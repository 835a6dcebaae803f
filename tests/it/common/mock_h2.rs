//! An OpenAI-compatible upstream that speaks only HTTP/2 without TLS (h2c,
//! prior knowledge) and allows few concurrent streams per connection, as a
//! gateway or an HTTPS provider does (with a higher cap). Each reply waits
//! until `together` requests are open at once (or a deadline passes), so a
//! test sees whether agentd ever had them all in flight.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::json;

use super::mock_llm::chunk;

#[derive(Default)]
struct Seen {
    open: AtomicUsize,
    most_open: AtomicUsize,
    connections: AtomicUsize,
    versions: Mutex<Vec<hyper::Version>>,
}

pub struct MockH2 {
    pub base_url: String,
    seen: Arc<Seen>,
}

impl MockH2 {
    /// `streams`: the per-connection cap it announces; `together`: how many
    /// open requests release the replies (else they go after 2 s).
    pub async fn start(streams: u32, together: usize) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind h2 mock");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Seen::default());
        let shared = seen.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                shared.connections.fetch_add(1, Ordering::SeqCst);
                let seen = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| reply(seen.clone(), req, together));
                    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .max_concurrent_streams(streams)
                        .serve_connection(TokioIo::new(tcp), service)
                        .await;
                });
            }
        });
        Self {
            base_url: format!("http://{addr}/v1"),
            seen,
        }
    }

    /// The most requests that were open at the same time.
    pub fn most_open(&self) -> usize {
        self.seen.most_open.load(Ordering::SeqCst)
    }

    pub fn connections(&self) -> usize {
        self.seen.connections.load(Ordering::SeqCst)
    }

    pub fn versions(&self) -> Vec<hyper::Version> {
        self.seen.versions.lock().unwrap().clone()
    }
}

async fn reply(
    seen: Arc<Seen>,
    req: Request<hyper::body::Incoming>,
    together: usize,
) -> Result<Response<Full<Bytes>>, Infallible> {
    seen.versions.lock().unwrap().push(req.version());
    let open = seen.open.fetch_add(1, Ordering::SeqCst) + 1;
    seen.most_open.fetch_max(open, Ordering::SeqCst);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while seen.most_open.load(Ordering::SeqCst) < together && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let body = chunk(json!({"content": "over h2"}), None)
        + &chunk(json!({}), Some("stop"))
        + "data: [DONE]\n\n";
    // Still open until the reply is handed over, so the peak is real.
    let response = Response::builder()
        .header("content-type", "text/event-stream")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default();
    seen.open.fetch_sub(1, Ordering::SeqCst);
    Ok(response)
}
