//! A loopback HTTP server that serves files to agentd's URL fetching, and
//! counts what was asked of it (to prove a file is fetched once, or never).
//!
//! Each path answers as scripted: a file, a status, a redirect, a body that
//! never ends, or a file sent in chunks without a declared length.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, Clone)]
pub enum Served {
    /// The bytes with this Content-Type (and a Content-Length).
    File(&'static str, Vec<u8>),
    /// The bytes in several chunks, no Content-Length.
    Chunked(&'static str, Vec<u8>),
    /// An empty answer with this status.
    Status(u16),
    /// 302 to this location (absolute or relative).
    Redirect(String),
    /// Headers, then a body that never comes.
    Stall,
}

#[derive(Clone, Default)]
struct Shared {
    routes: Arc<Mutex<HashMap<String, Served>>>,
    hits: Arc<Mutex<Vec<String>>>,
}

pub struct FileServer {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    shared: Shared,
}

impl FileServer {
    pub async fn start(routes: Vec<(&str, Served)>) -> Self {
        let shared = Shared::default();
        shared
            .routes
            .lock()
            .unwrap()
            .extend(routes.into_iter().map(|(p, s)| (p.to_string(), s)));
        let app = Router::new().fallback(serve).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind file server");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base: format!("http://{addr}"),
            shared,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The port, for URLs that name the server by another host name.
    pub fn port(&self) -> u16 {
        self.base
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port")
    }

    /// Paths requested so far, in order.
    pub fn hits(&self) -> Vec<String> {
        self.shared.hits.lock().unwrap().clone()
    }
}

async fn serve(State(shared): State<Shared>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    shared.hits.lock().unwrap().push(path.clone());
    let served = shared.routes.lock().unwrap().get(&path).cloned();
    match served {
        None => StatusCode::NOT_FOUND.into_response(),
        Some(Served::File(ct, bytes)) => ([("content-type", ct)], bytes).into_response(),
        Some(Served::Chunked(ct, bytes)) => {
            let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
                bytes.chunks(256).map(|c| Ok(c.to_vec())).collect();
            Response::builder()
                .header("content-type", ct)
                .body(Body::from_stream(futures::stream::iter(chunks)))
                .expect("response")
        }
        Some(Served::Status(code)) => StatusCode::from_u16(code)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response(),
        Some(Served::Redirect(to)) => (StatusCode::FOUND, [("location", to)]).into_response(),
        Some(Served::Stall) => {
            let stream = async_stream::stream! {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                yield Ok::<_, std::io::Error>(Vec::<u8>::new());
            };
            Response::builder()
                .header("content-type", "image/png")
                .body(Body::from_stream(stream))
                .expect("response")
        }
    }
}
