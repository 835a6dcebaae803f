//! The agentd benchmark (issue 13): a mock OpenAI-compatible upstream, agentd
//! in-process on a SQLite store pointed at it, and a bounded load driver, all
//! on loopback in this one process; prints one table.
//!
//! Run: `cargo run --release -p agentd-bench -- [--quick]` (see bench/README.md).
//! This binary depends on the agentd library only to start the server; it
//! must never be part of the test suite's timing (tests check correctness).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{Value, json};

#[derive(Parser, Clone)]
#[command(name = "bench", about = "Measures agentd against a mock upstream")]
struct Args {
    /// Short run: 3 s per row and 500 concurrent streams in row 4.
    #[arg(long)]
    quick: bool,
    /// Tiny run that only checks the bench works (5 requests per row).
    #[arg(long)]
    smoke: bool,
    /// Seconds per throughput row (default 15, 3 with --quick).
    #[arg(long)]
    seconds: Option<u64>,
    /// Concurrency of rows 1-3.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Tokens in each non-streaming reply (rows 1-2).
    #[arg(long, default_value_t = 10)]
    reply_tokens: u32,
    /// Delay between tokens of row 3's 50-token streams, in ms.
    #[arg(long, default_value_t = 1)]
    stream_delay_ms: u64,
    /// Concurrent streaming runs in row 4 (default 10000, 500 with --quick).
    #[arg(long)]
    streams: Option<usize>,
    /// agentd's store: `sqlite` (the default config's) or `memory`, to
    /// tell the store's share of a run's cost from the engine's.
    #[arg(long, default_value = "sqlite", value_parser = ["sqlite", "memory"])]
    store: String,
    /// Rows to run, e.g. `--rows 4` or `--rows 1,2` (default: all). Row 1
    /// always brings row 2 along: its ratio is to row 2's ceiling.
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u8).range(1..=6))]
    rows: Vec<u8>,
    /// A command to start row 4's agentd under, e.g. `--wrap heaptrack`
    /// or `--wrap "perf record -g -o /tmp/perf.data"`: profiles the server
    /// alone while the bench drives it.
    #[arg(long)]
    wrap: Option<String>,
    /// agentd speaks HTTP/2 (h2c) to the mock, as it does to an HTTPS
    /// provider that offers it, instead of one HTTP/1.1 connection per run.
    #[arg(long)]
    upstream_http2: bool,
    /// Row 4's variants: `agentos-h1`, `agentos-h2`, `agui-h1`, `acp-h1`
    /// (any protocol with `-h1` or `-h2`: the driver's HTTP version), e.g.
    /// `--row4 agentos-h1` (default: those four).
    #[arg(long, value_delimiter = ',')]
    row4: Vec<String>,
    /// Idle keep-alive HTTP/1.1 connections row 6 holds open (default
    /// 2000, 5 with --smoke).
    #[arg(long)]
    idle_connections: Option<usize>,
    /// The `agentd` binary rows 4-6 start (default: the one beside this
    /// binary, target/<profile>/agentd), e.g. an older build to compare.
    #[arg(long)]
    agentd: Option<PathBuf>,
    /// Serve the mock upstream only, print its URL, and run until killed
    /// (row 4 starts the mock this way, in a process of its own).
    #[arg(long, hide = true)]
    serve_mock: bool,
}

impl Args {
    fn wants(&self, row: u8) -> bool {
        self.rows.is_empty() || self.rows.contains(&row) || (row == 2 && self.rows.contains(&1))
    }
}

/// Bounds for one throughput row.
#[derive(Clone, Copy)]
struct Load {
    concurrency: usize,
    duration: Duration,
    max_requests: usize,
}

// ---------------------------------------------------------------- clock

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Microseconds on one monotonic clock shared by the mock and the driver.
fn now_us() -> u64 {
    EPOCH.get_or_init(Instant::now).elapsed().as_micros() as u64
}

/// The send timestamps (`T<micros>`) the mock embedded in a text.
fn stamps(text: &str) -> impl Iterator<Item = u64> + '_ {
    text.split('T').skip(1).filter_map(|s| {
        let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    })
}

// ---------------------------------------------------------------- mock upstream

/// A fast OpenAI-compatible streaming upstream: the last user message says
/// `tokens=N delay_ms=D`; each token's text is its send time `T<micros> `.
mod mock {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::response::Response;
    use axum::routing::post;

    pub async fn start() -> Result<String, String> {
        let app = Router::new().route("/v1/chat/completions", post(chat));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("mock bind: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        // Like a real model server, the mock sends each token at once (no
        // Nagle delay), or row 3 would time the mock's socket, not agentd.
        use axum::serve::ListenerExt;
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(format!("http://{addr}/v1"))
    }

    /// Reads `tokens=N delay_ms=D` from the last user message.
    fn plan(body: &Value) -> (u32, u64) {
        let text = body["messages"]
            .as_array()
            .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
            .map(|m| match &m["content"] {
                Value::String(s) => s.clone(),
                Value::Array(parts) => parts
                    .iter()
                    .filter_map(|p| p["text"].as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                _ => String::new(),
            })
            .unwrap_or_default();
        let mut tokens = 10;
        let mut delay = 0;
        for word in text.split_whitespace() {
            if let Some(n) = word.strip_prefix("tokens=") {
                tokens = n.parse().unwrap_or(tokens).min(100_000);
            } else if let Some(d) = word.strip_prefix("delay_ms=") {
                delay = d.parse().unwrap_or(delay).min(10_000);
            }
        }
        (tokens, delay)
    }

    fn chunk(delta: Value, finish: Option<&str>) -> String {
        let body = json!({
            "id": "chatcmpl-bench", "object": "chat.completion.chunk", "model": "mock-model",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
        });
        format!("data: {body}\n\n")
    }

    async fn chat(body: axum::body::Bytes) -> Response {
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let (tokens, delay) = plan(&body);
        let stream = async_stream::stream! {
            for i in 0..tokens {
                if delay > 0 && i > 0 {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                }
                let text = format!("T{} ", now_us());
                yield Ok::<_, std::convert::Infallible>(chunk(json!({"content": text}), None));
            }
            yield Ok(chunk(json!({}), Some("stop")));
            yield Ok("data: [DONE]\n\n".to_string());
        };
        Response::builder()
            .header("content-type", "text/event-stream")
            .body(Body::from_stream(stream))
            .unwrap_or_default()
    }
}

// ---------------------------------------------------------------- bare relay

/// The least any agent server must do for a non-streaming run, and nothing
/// more: take a form with the message, stream the completion from the
/// upstream, gather its tokens, answer with JSON. No engine, no store, no
/// session. Its ratio to the ceiling (row 2) is what row 1's ratio can be
/// held against on this box: a server with an engine and a store does all
/// of this and more.
mod relay {
    use super::*;
    use axum::Router;
    use axum::extract::{Multipart, State};
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};
    use axum::routing::post;
    use futures::StreamExt;

    #[derive(Clone)]
    struct Upstream {
        client: reqwest::Client,
        url: String,
    }

    pub async fn start(mock_url: &str) -> Result<String, String> {
        let upstream = Upstream {
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(usize::MAX)
                .build()
                .map_err(|e| e.to_string())?,
            url: format!("{mock_url}/chat/completions"),
        };
        let app = Router::new()
            .route("/agents/{agent}/runs", post(run))
            .with_state(upstream);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("relay bind: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(format!("http://{addr}"))
    }

    async fn run(State(up): State<Upstream>, mut form: Multipart) -> Response {
        let mut message = String::new();
        while let Ok(Some(field)) = form.next_field().await {
            if field.name() == Some("message") {
                message = field.text().await.unwrap_or_default();
            }
        }
        let body = json!({"model": "mock-model", "stream": true,
            "messages": [{"role": "user", "content": message}]});
        let resp = match up.client.post(&up.url).json(&body).send().await {
            Ok(r) => r,
            Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
        };
        let mut bytes = resp.bytes_stream();
        let mut decoder = agentd::models::sse::Decoder::default();
        let (mut events, mut content) = (Vec::new(), String::new());
        'read: while let Some(Ok(chunk)) = bytes.next().await {
            if decoder.feed(&chunk, &mut events).is_err() {
                break;
            }
            for event in events.drain(..) {
                if event.data == "[DONE]" {
                    break 'read;
                }
                if let Ok(chunk) = serde_json::from_str::<Value>(&event.data)
                    && let Some(text) = chunk["choices"][0]["delta"]["content"].as_str()
                {
                    content.push_str(text);
                }
            }
        }
        axum::Json(json!({"content": content, "status": "COMPLETED"})).into_response()
    }
}

// ---------------------------------------------------------------- agentd in-process

const AGENT: &str = "bench";
const CODEGEN_KEY: &str = "bench-key";

fn agentd_config(base_url: &str, kind: &str, store: &Path, http2: bool) -> String {
    format!(
        r#"
[server]
request_timeout_secs = 120
# Row 4 opens up to 10,000 connections at once; the default cap (4,096)
# would serve them in waves. agentd lowers this to half its descriptors.
max_connections = 20000

[store]
kind = "{kind}"
path = '{store}'

[models.mock]
provider = "openai"
model = "mock-model"
base_url = "{base_url}"
api_key = "bench-key"
read_timeout_secs = 60
http2_prior_knowledge = {http2}

[[agents]]
id = "{AGENT}"
name = "Bench"
model = "mock"

[codegen]
public_base_url = "http://127.0.0.1/"

[codegen.rate_limit]
creates = 1000000000
window_secs = 1

[[codegen.users]]
id = 1
api_keys = ["{CODEGEN_KEY}"]
organizations = [1]

[[codegen.organizations]]
id = 1
name = "Bench"
"#,
        store = store.display()
    )
}

/// Starts agentd on 127.0.0.1:0 as `agentd serve` would; returns its base URL.
async fn start_agentd(config_toml: &str) -> Result<String, String> {
    use agentd::config::Config;
    use agentd::engine::Engine;
    use agentd::models::ModelRegistry;
    use agentd::tools::ToolRegistry;
    let config = Config::from_toml_str(config_toml, "bench.toml".as_ref(), &|_| None)
        .map_err(|e| e.to_string())?;
    let models = ModelRegistry::from_config(&config).map_err(|e| e.to_string())?;
    let store = agentd::store::open(&config.store)
        .await
        .map_err(|e| e.to_string())?;
    let engine = Engine::new(Arc::new(config), models, ToolRegistry::builtin(), store);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("agentd bind: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let state = agentd::AppState::new(engine);
    tokio::spawn(async move {
        let _ = agentd::serve(listener, state, std::future::pending()).await;
    });
    Ok(format!("http://{addr}"))
}

// ---------------------------------------------------------------- load driver

#[derive(Default)]
struct Stats {
    ok: usize,
    errors: usize,
    first_error: Option<String>,
    elapsed: Duration,
    latencies_us: Vec<u64>,
    /// Per-token added latency (row 3), microseconds.
    token_us: Vec<u64>,
    /// SSE frames the streams carried (row 4).
    frames: usize,
}

impl Stats {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

/// Runs `one` from `concurrency` workers until the duration or the request
/// budget runs out; each call returns its per-token latencies (if any).
async fn drive<F, Fut>(load: Load, one: F) -> Stats
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<Vec<u64>, String>> + Send,
{
    let issued = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut workers = Vec::with_capacity(load.concurrency);
    for _ in 0..load.concurrency {
        let one = one.clone();
        let issued = issued.clone();
        workers.push(tokio::spawn(async move {
            let mut s = Stats::default();
            while start.elapsed() < load.duration
                && issued.fetch_add(1, Ordering::Relaxed) < load.max_requests
            {
                let t = Instant::now();
                match one().await {
                    Ok(tokens) => {
                        s.ok += 1;
                        s.latencies_us.push(t.elapsed().as_micros() as u64);
                        s.token_us.extend(tokens);
                    }
                    Err(e) => {
                        s.errors += 1;
                        s.first_error.get_or_insert(e);
                    }
                }
            }
            s
        }));
    }
    let mut all = Stats::default();
    for w in workers {
        match w.await {
            Ok(s) => {
                all.ok += s.ok;
                all.errors += s.errors;
                if all.first_error.is_none() {
                    all.first_error = s.first_error;
                }
                all.latencies_us.extend(s.latencies_us);
                all.token_us.extend(s.token_us);
            }
            Err(e) => {
                all.errors += 1;
                all.first_error.get_or_insert(e.to_string());
            }
        }
    }
    all.elapsed = start.elapsed();
    all.latencies_us.sort_unstable();
    all.token_us.sort_unstable();
    all
}

fn prompt(tokens: u32, delay_ms: u64) -> String {
    format!("tokens={tokens} delay_ms={delay_ms}")
}

fn multipart(message: &str, stream: bool) -> (String, String) {
    let b = "agentdbenchboundary";
    let body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\n{message}\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"stream\"\r\n\r\n{stream}\r\n--{b}--\r\n"
    );
    (format!("multipart/form-data; boundary={b}"), body)
}

async fn ok_text(resp: Result<reqwest::Response, reqwest::Error>) -> Result<String, String> {
    let resp = resp.map_err(|e| e.to_string())?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(refusal(status, &text));
    }
    Ok(text)
}

/// A refused request as a row's notes show it: its status and the start of
/// its error body, which says why.
fn refusal(status: reqwest::StatusCode, body: &str) -> String {
    format!("{status}: {}", body.chars().take(200).collect::<String>())
}

async fn agentos_json(c: reqwest::Client, base: String, msg: String) -> Result<Vec<u64>, String> {
    let (ct, body) = multipart(&msg, false);
    let req = c
        .post(format!("{base}/agents/{AGENT}/runs"))
        .header("content-type", ct)
        .body(body);
    let text = ok_text(req.send().await).await?;
    let v: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    if v["content"].is_string() {
        Ok(vec![])
    } else {
        Err(format!("unexpected AgentOS body: {text}"))
    }
}

async fn agui(c: reqwest::Client, base: String, msg: String) -> Result<Vec<u64>, String> {
    let id = uuid::Uuid::new_v4().to_string();
    let body = json!({
        "threadId": format!("t-{id}"), "runId": format!("r-{id}"), "state": {},
        "messages": [{"id": "m1", "role": "user", "content": msg}],
        "tools": [], "context": [], "forwardedProps": {}
    });
    let text = ok_text(c.post(format!("{base}/agui")).json(&body).send().await).await?;
    if text.contains("RUN_FINISHED") {
        Ok(vec![])
    } else {
        Err(format!("AG-UI stream without RUN_FINISHED: {text}"))
    }
}

async fn acp_sync(c: reqwest::Client, base: String, msg: String) -> Result<Vec<u64>, String> {
    let body = json!({
        "agent_name": AGENT, "mode": "sync",
        "input": [{"role": "user", "parts": [{"content_type": "text/plain", "content": msg}]}]
    });
    let text = ok_text(c.post(format!("{base}/acp/runs")).json(&body).send().await).await?;
    let v: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    if v["status"] == "completed" {
        Ok(vec![])
    } else {
        Err(format!("ACP run not completed: {text}"))
    }
}

/// Create, then poll every 2 ms (at most 5000 polls) until COMPLETE.
async fn codegen(c: reqwest::Client, base: String, msg: String) -> Result<Vec<u64>, String> {
    let auth = format!("Bearer {CODEGEN_KEY}");
    let created = ok_text(
        c.post(format!("{base}/v1/organizations/1/agent/run"))
            .header("authorization", &auth)
            .json(&json!({"prompt": msg}))
            .send()
            .await,
    )
    .await?;
    let v: Value = serde_json::from_str(&created).map_err(|e| e.to_string())?;
    let id = v["id"].as_u64().ok_or("Codegen create without id")?;
    for _ in 0..5000 {
        let text = ok_text(
            c.get(format!("{base}/v1/organizations/1/agent/run/{id}"))
                .header("authorization", &auth)
                .send()
                .await,
        )
        .await?;
        let v: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        match v["status"].as_str() {
            Some("COMPLETE") => return Ok(vec![]),
            Some("FAILED") | Some("CANCELLED") => return Err(format!("Codegen run: {text}")),
            _ => tokio::time::sleep(Duration::from_millis(2)).await,
        }
    }
    Err("Codegen run did not complete within 5000 polls".into())
}

/// Straight to the mock: one streamed completion, read whole.
async fn upstream(c: reqwest::Client, base_url: String, msg: String) -> Result<Vec<u64>, String> {
    let body = json!({"model": "mock-model", "stream": true,
        "messages": [{"role": "user", "content": msg}]});
    let text = ok_text(
        c.post(format!("{base_url}/chat/completions"))
            .json(&body)
            .send()
            .await,
    )
    .await?;
    if text.ends_with("data: [DONE]\n\n") {
        Ok(vec![])
    } else {
        Err("upstream stream cut".into())
    }
}

/// The streaming protocols row 4 drives, each as its SDKs connect.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Proto {
    AgentOs,
    Agui,
    Acp,
}

impl Proto {
    fn name(self) -> &'static str {
        match self {
            Proto::AgentOs => "AgentOS",
            Proto::Agui => "AG-UI",
            Proto::Acp => "ACP",
        }
    }

    /// The streaming request of one run with `msg` as its user message.
    fn request(self, c: &reqwest::Client, base: &str, msg: &str) -> reqwest::RequestBuilder {
        match self {
            Proto::AgentOs => {
                let (ct, body) = multipart(msg, true);
                c.post(format!("{base}/agents/{AGENT}/runs"))
                    .header("content-type", ct)
                    .body(body)
            }
            Proto::Agui => {
                let id = uuid::Uuid::new_v4().to_string();
                c.post(format!("{base}/agui")).json(&json!({
                    "threadId": format!("t-{id}"), "runId": format!("r-{id}"), "state": {},
                    "messages": [{"id": "m1", "role": "user", "content": msg}],
                    "tools": [], "context": [], "forwardedProps": {}
                }))
            }
            Proto::Acp => c.post(format!("{base}/acp/runs")).json(&json!({
                "agent_name": AGENT, "mode": "stream",
                "input": [{"role": "user", "parts": [{"content_type": "text/plain", "content": msg}]}]
            })),
        }
    }

    /// What one frame's JSON says: a token's text, the run's successful
    /// end, or its failure.
    fn read(self, v: &Value) -> Frame<'_> {
        let (kind, text) = match self {
            Proto::AgentOs => (v["event"].as_str(), v["content"].as_str()),
            Proto::Agui => (v["type"].as_str(), v["delta"].as_str()),
            Proto::Acp => (v["type"].as_str(), v["part"]["content"].as_str()),
        };
        match (self, kind) {
            (Proto::AgentOs, Some("RunContent"))
            | (Proto::Agui, Some("TEXT_MESSAGE_CONTENT"))
            | (Proto::Acp, Some("message.part")) => Frame::Token(text.unwrap_or_default()),
            (Proto::AgentOs, Some("RunCompleted"))
            | (Proto::Agui, Some("RUN_FINISHED"))
            | (Proto::Acp, Some("run.completed")) => Frame::Done,
            (Proto::AgentOs, Some("RunError"))
            | (Proto::Agui, Some("RUN_ERROR"))
            | (Proto::Acp, Some("run.failed")) => Frame::Failed,
            _ => Frame::Other,
        }
    }
}

enum Frame<'a> {
    Token(&'a str),
    Done,
    Failed,
    Other,
}

/// Frames read by every stream of a row (row 4's frames per second).
static FRAMES: AtomicUsize = AtomicUsize::new(0);

/// An AgentOS SSE run read frame by frame (row 3).
async fn agentos_stream(
    c: reqwest::Client,
    base: String,
    msg: String,
    want: usize,
) -> Result<Vec<u64>, String> {
    read_stream(Proto::AgentOs, c, base, msg, want).await
}

/// An error with its causes (reqwest's own message says only which
/// request failed; the cause says why: refused, reset, timed out).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A streaming run read frame by frame: checks it saw `want` tokens and
/// the run's successful end, and returns each token's arrival minus its
/// send time (µs).
async fn read_stream(
    proto: Proto,
    c: reqwest::Client,
    base: String,
    msg: String,
    want: usize,
) -> Result<Vec<u64>, String> {
    use futures::StreamExt;
    let resp = proto
        .request(&c, &base, &msg)
        .send()
        .await
        .map_err(|e| chain(&e))?;
    if !resp.status().is_success() {
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        return Err(refusal(status, &body));
    }
    let mut bytes = resp.bytes_stream();
    let mut buf = String::new();
    let mut lat = Vec::with_capacity(want);
    let mut completed = false;
    let mut frames = 0;
    while let Some(chunk) = bytes.next().await {
        let chunk = chunk.map_err(|e| chain(&e))?;
        let arrived = now_us();
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            let Some(data) = frame.lines().find_map(|l| l.strip_prefix("data:")) else {
                continue;
            };
            let Ok(v) = serde_json::from_str::<Value>(data.trim()) else {
                continue;
            };
            frames += 1;
            match proto.read(&v) {
                Frame::Token(text) => {
                    lat.extend(stamps(text).map(|sent| arrived.saturating_sub(sent)));
                }
                Frame::Done => completed = true,
                Frame::Failed => return Err(format!("{} run failed: {data}", proto.name())),
                Frame::Other => {}
            }
        }
    }
    FRAMES.fetch_add(frames, Ordering::Relaxed);
    if completed && lat.len() == want {
        Ok(lat)
    } else {
        Err(format!(
            "stream ended with {} of {want} tokens, completed: {completed}",
            lat.len()
        ))
    }
}

// ---------------------------------------------------------------- process facts

/// A field of /proc/<pid>/status in MB (VmHWM = peak RSS, VmRSS =
/// current); `None` is this process.
fn proc_status_mb(pid: Option<u32>, field: &str) -> Option<f64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_string(),
    };
    let status = std::fs::read_to_string(path).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Raises the open-file limit so thousands of loopback sockets fit.
fn raise_fd_limit(want: u64) -> u64 {
    // SAFETY: getrlimit/setrlimit only read/write the struct we pass.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur >= want {
            return lim.rlim_cur;
        }
        let raised = libc::rlimit {
            rlim_cur: want,
            rlim_max: want.max(lim.rlim_max),
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
            return want;
        }
        // Not privileged: go as high as the hard limit allows.
        let soft = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &soft) == 0 {
            lim.rlim_max
        } else {
            lim.rlim_cur
        }
    }
}

/// The `agentd` binary `given`, or the one next to this one
/// (target/<profile>/agentd).
fn agentd_binary(given: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = given {
        return path.exists().then(|| path.to_path_buf());
    }
    let me = std::env::current_exe().ok()?;
    let dir = me.parent()?;
    let dir = if dir.ends_with("deps") {
        dir.parent()?
    } else {
        dir
    };
    let bin = dir.join("agentd");
    bin.exists().then_some(bin)
}

/// Spawns `agentd serve` with a temp config and times spawn → first 200 on
/// /health (polled every 0.5 ms, at most 10 s).
async fn cold_start(bin: &Path, dir: &Path) -> Result<Duration, String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let config = dir.join("cold.toml");
    let toml = format!(
        "[store]\nkind = \"sqlite\"\npath = '{}'\n\n[models.builtin]\nprovider = \"builtin\"\n\n\
         [[agents]]\nid = \"a\"\nname = \"A\"\nmodel = \"builtin\"\n",
        dir.join("cold.db").display()
    );
    std::fs::write(&config, toml).map_err(|e| e.to_string())?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| e.to_string())?;
    let url = format!("http://127.0.0.1:{port}/health");
    let start = Instant::now();
    let mut child = tokio::process::Command::new(bin)
        .args(["serve", "--config"])
        .arg(&config)
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let mut result = Err("agentd did not answer /health within 10 s".to_string());
    while start.elapsed() < Duration::from_secs(10) {
        if let Ok(r) = client.get(&url).send().await
            && r.status().is_success()
        {
            result = Ok(start.elapsed());
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            result = Err(format!("agentd exited early: {status}"));
            break;
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    let _ = child.kill().await;
    result
}

/// Row 4's load: `streams` streaming runs of `proto` started at once. Over
/// HTTP/2 (h2c) the driver needs a socket per 100 streams; over HTTP/1.1
/// (as browsers, curl and the Python and JS SDKs connect) one per stream.
async fn many_streams(
    streams: usize,
    base: &str,
    proto: Proto,
    http2: bool,
) -> Result<Stats, String> {
    const STREAMS_PER_CONNECTION: usize = 100;
    let connections = if http2 {
        streams.div_ceil(STREAMS_PER_CONNECTION).max(1)
    } else {
        1
    };
    let clients = (0..connections)
        .map(|_| {
            let b = reqwest::Client::builder()
                .timeout(Duration::from_secs(600))
                .pool_max_idle_per_host(usize::MAX);
            if http2 {
                b.http2_prior_knowledge()
            } else {
                b.http1_only()
            }
            .build()
            .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, String>>()?;
    let clients = Arc::new(clients);
    let next = Arc::new(AtomicUsize::new(0));
    let base = base.to_string();
    FRAMES.store(0, Ordering::Relaxed);
    let mut stats = drive(
        Load {
            concurrency: streams,
            duration: Duration::from_secs(600),
            max_requests: streams,
        },
        move || {
            let i = next.fetch_add(1, Ordering::Relaxed) % clients.len();
            read_stream(
                proto,
                clients[i].clone(),
                base.clone(),
                prompt(100, 20),
                100,
            )
        },
    )
    .await;
    stats.frames = FRAMES.load(Ordering::Relaxed);
    Ok(stats)
}

/// `n` connections to `base`, each after one `GET /health` answered (read
/// whole), held open (keep-alive) until the vector is dropped.
async fn idle_connections(base: &str, n: usize) -> Result<Vec<tokio::net::TcpStream>, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://").to_string();
    let request = format!("GET /health HTTP/1.1\r\nhost: {addr}\r\n\r\n");
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        let mut tcp = tokio::net::TcpStream::connect(&addr)
            .await
            .map_err(|e| e.to_string())?;
        tcp.write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        conns.push(tcp);
    }
    for tcp in &mut conns {
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            let read = tcp.read(&mut buf).await.map_err(|e| e.to_string())?;
            if read == 0 {
                return Err("agentd closed an idle connection".into());
            }
            got.extend_from_slice(&buf[..read]);
            let text = String::from_utf8_lossy(&got);
            if let Some(head_end) = text.find("\r\n\r\n") {
                let length = text[..head_end]
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                if got.len() >= head_end + 4 + length {
                    break;
                }
            }
        }
    }
    Ok(conns)
}

/// `agentos-h1` -> (AgentOS, HTTP/1.1).
fn parse_variant(v: &str) -> Result<(Proto, bool), String> {
    let (proto, version) = v
        .rsplit_once('-')
        .ok_or_else(|| format!("row 4 variant {v}: want <protocol>-h1 or -h2"))?;
    let proto = match proto {
        "agentos" => Proto::AgentOs,
        "agui" => Proto::Agui,
        "acp" => Proto::Acp,
        other => return Err(format!("row 4 protocol {other}: agentos, agui or acp")),
    };
    match version {
        "h1" => Ok((proto, false)),
        "h2" => Ok((proto, true)),
        other => Err(format!("row 4 HTTP version {other}: h1 or h2")),
    }
}

/// The mock upstream in a process of its own (this binary, `--serve-mock`).
struct MockProcess {
    _child: tokio::process::Child,
    url: String,
}

impl MockProcess {
    async fn start() -> Result<Self, String> {
        use tokio::io::AsyncBufReadExt;
        let me = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut child = tokio::process::Command::new(me)
            .arg("--serve-mock")
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("mock process: {e}"))?;
        let stdout = child.stdout.take().ok_or("mock process without stdout")?;
        let mut line = String::new();
        tokio::io::BufReader::new(stdout)
            .read_line(&mut line)
            .await
            .map_err(|e| format!("mock process: {e}"))?;
        let url = line.trim().to_string();
        if url.is_empty() {
            return Err("the mock process printed no URL".into());
        }
        Ok(Self { _child: child, url })
    }
}

/// `agentd serve` as its own process, ready (answering /health).
struct Spawned {
    child: tokio::process::Child,
    base: String,
}

impl Spawned {
    async fn start(
        bin: &Path,
        dir: &Path,
        config: &str,
        wrap: Option<&str>,
    ) -> Result<Self, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let path = dir.join("spawned.toml");
        std::fs::write(&path, config).map_err(|e| e.to_string())?;
        let profiled = wrap.is_some();
        let mut wrap = wrap.unwrap_or_default().split_whitespace();
        let mut command = match wrap.next() {
            Some(program) => {
                let mut c = tokio::process::Command::new(program);
                c.args(wrap).arg(bin);
                c
            }
            None => tokio::process::Command::new(bin),
        };
        // A profiler's report goes to the bench's own stderr.
        let stderr = if profiled {
            std::process::Stdio::inherit()
        } else {
            std::process::Stdio::null()
        };
        let child = command
            .args(["serve", "--config"])
            .arg(&path)
            .args(["--bind", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(stderr)
            .kill_on_drop(true)
            // Its own group, so `stop` reaches a wrapper's child too.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("{}: {e}", bin.display()))?;
        let mut me = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(r) = client.get(format!("{}/health", me.base)).send().await
                && r.status().is_success()
            {
                return Ok(me);
            }
            if let Ok(Some(status)) = me.child.try_wait() {
                return Err(format!("agentd exited early: {status}"));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Err("the spawned agentd did not answer /health within 10 s".into())
    }

    /// Stops the server as an operator would (SIGTERM to its group, so a
    /// profiler wrapping it writes its report), waiting up to a minute.
    async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            // SAFETY: kill(2) on a process group this bench started.
            unsafe { libc::kill(-(pid as i32), libc::SIGTERM) };
        }
        let _ = tokio::time::timeout(Duration::from_secs(60), self.child.wait()).await;
    }
}

// ---------------------------------------------------------------- table

struct Table(Vec<[String; 5]>);

impl Table {
    fn row(&mut self, what: impl Into<String>, cells: [String; 4]) {
        let [a, b, c, d] = cells;
        self.0.push([what.into(), a, b, c, d]);
    }

    /// A throughput row: rate in `unit`, p50 and p99 latency, and notes.
    fn rate_row(&mut self, what: impl Into<String>, s: &Stats, unit: &str, notes: String) {
        self.row(
            what,
            [
                format!("{:.0} {unit}", s.rate()),
                ms(pct(&s.latencies_us, 0.5)),
                ms(pct(&s.latencies_us, 0.99)),
                notes,
            ],
        );
    }

    fn print(&self) {
        let header = ["row", "result", "p50", "p99", "notes"].map(String::from);
        let all: Vec<&[String; 5]> = std::iter::once(&header).chain(self.0.iter()).collect();
        let widths: Vec<usize> = (0..5)
            .map(|i| all.iter().map(|r| r[i].len()).max().unwrap_or(0))
            .collect();
        for (n, r) in all.iter().enumerate() {
            let line: Vec<String> = r
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            println!("| {} |", line.join(" | "));
            if n == 0 {
                let sep: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
                println!("|-{}-|", sep.join("-|-"));
            }
        }
    }
}

fn ms(v: f64) -> String {
    format!("{v:.2} ms")
}

fn errs(s: &Stats) -> String {
    match &s.first_error {
        None => format!("{} runs, 0 errors", s.ok),
        Some(e) => format!(
            "{} runs, {} errors (first: {})",
            s.ok,
            s.errors,
            e.chars().take(120).collect::<String>()
        ),
    }
}

// ---------------------------------------------------------------- main

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let fds = raise_fd_limit(200_000);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bench: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if args.serve_mock {
        return match runtime.block_on(async {
            now_us();
            let url = mock::start().await?;
            println!("{url}");
            std::future::pending::<Result<(), String>>().await
        }) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("bench: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let dir = std::env::temp_dir().join(format!("agentd-bench-{}", std::process::id()));
    let result = std::fs::create_dir_all(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))
        .and_then(|_| runtime.block_on(run(args, fds, &dir)));
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args, fds: u64, dir: &Path) -> Result<(), String> {
    now_us();
    let secs = args
        .seconds
        .unwrap_or(if args.quick || args.smoke { 3 } else { 15 });
    let streams = args.streams.unwrap_or(if args.smoke {
        5
    } else if args.quick {
        500
    } else {
        10_000
    });
    let load = Load {
        concurrency: if args.smoke { 2 } else { args.concurrency },
        duration: Duration::from_secs(secs),
        max_requests: if args.smoke { 5 } else { 10_000_000 },
    };
    let mock_url = mock::start().await?;
    let base = start_agentd(&agentd_config(
        &mock_url,
        &args.store,
        &dir.join("agentd.db"),
        args.upstream_http2,
    ))
    .await?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(180))
        .pool_max_idle_per_host(usize::MAX)
        .build()
        .map_err(|e| e.to_string())?;
    eprintln!(
        "bench: mock at {mock_url}, agentd at {base}, fd limit {fds}, {}s per row, concurrency {}, {} store",
        secs, load.concurrency, args.store
    );
    let mut table = Table(Vec::new());
    let msg = prompt(args.reply_tokens, 0);

    // Row 2 first: the ceiling, so rows 1 can be divided by it.
    let mut ceiling = Stats::default();
    if args.wants(2) {
        eprintln!("bench: row 2 (upstream ceiling)");
        let (c, u, m) = (client.clone(), mock_url.clone(), msg.clone());
        ceiling = drive(load, move || upstream(c.clone(), u.clone(), m.clone())).await;
    }
    // What row 1's ratio is held against: a relay with no engine and no store.
    let mut relayed = Stats::default();
    if args.wants(2) {
        eprintln!("bench: row 2 (bare relay)");
        let url = relay::start(&mock_url).await?;
        let (c, m) = (client.clone(), msg.clone());
        relayed = drive(load, move || {
            agentos_json(c.clone(), url.clone(), m.clone())
        })
        .await;
    }

    // Row 1: non-streaming runs through each protocol.
    let mut rows: Vec<(&str, Stats)> = Vec::new();
    macro_rules! protocol_row {
        ($name:expr, $f:ident) => {{
            eprintln!("bench: row 1 ({})", $name);
            let (c, b, m) = (client.clone(), base.clone(), msg.clone());
            let s = drive(load, move || $f(c.clone(), b.clone(), m.clone())).await;
            rows.push(($name, s));
        }};
    }
    if args.wants(1) {
        protocol_row!("AgentOS JSON", agentos_json);
        protocol_row!("AG-UI SSE", agui);
        protocol_row!("ACP sync", acp_sync);
        protocol_row!("Codegen create+poll", codegen);
    }
    let ratio = |s: &Stats| s.rate() / ceiling.rate().max(1e-9);
    for (name, s) in &rows {
        let notes = format!("{}; ratio to ceiling {:.2}", errs(s), ratio(s));
        table.rate_row(format!("1. {name}"), s, "runs/s", notes);
    }
    if args.wants(2) {
        let notes = format!(
            "{}; straight to the mock, {} tokens",
            errs(&ceiling),
            args.reply_tokens
        );
        table.rate_row("2. upstream ceiling", &ceiling, "req/s", notes);
        let notes = format!(
            "{}; ratio to ceiling {:.2}; form in, upstream streamed, JSON out, no engine or store",
            errs(&relayed),
            ratio(&relayed)
        );
        table.rate_row("2. bare relay (AgentOS form)", &relayed, "runs/s", notes);
    }

    // Row 3: streaming runs and the per-token latency agentd adds.
    let mut streaming = Stats::default();
    if args.wants(3) {
        eprintln!("bench: row 3 (SSE streaming, 50 tokens)");
        streaming = {
            let (c, b) = (client.clone(), base.clone());
            let m = prompt(50, args.stream_delay_ms);
            drive(load, move || {
                agentos_stream(c.clone(), b.clone(), m.clone(), 50)
            })
            .await
        };
        let notes = format!(
            "{}; mock sleeps {} ms between tokens",
            errs(&streaming),
            args.stream_delay_ms
        );
        table.rate_row("3. AgentOS SSE 50 tokens", &streaming, "runs/s", notes);
        table.row(
            "3. added per-token latency",
            [
                format!("{} tokens", streaming.token_us.len()),
                ms(pct(&streaming.token_us, 0.5)),
                ms(pct(&streaming.token_us, 0.99)),
                "driver arrival minus mock send time (same clock)".into(),
            ],
        );
    }

    // Row 4: many concurrent long streams, one fresh agentd per variant (so
    // each peak is that variant's), the mock in a process of its own (over
    // HTTP/1.1, 10,000 streams hold 10,000 sockets on each side of it).
    let mut many_errors = 0;
    if args.wants(4) {
        let variants = if args.row4.is_empty() {
            vec![
                "agentos-h1".to_string(),
                "agentos-h2".to_string(),
                "agui-h1".to_string(),
                "acp-h1".to_string(),
            ]
        } else {
            args.row4.clone()
        };
        let bin = agentd_binary(args.agentd.as_deref());
        let mock_proc = match &bin {
            Some(_) => Some(MockProcess::start().await?),
            None => None,
        };
        for variant in &variants {
            let (proto, http2) = parse_variant(variant)?;
            let client = if http2 { "HTTP/2" } else { "HTTP/1.1" };
            eprintln!(
                "bench: row 4 ({streams} concurrent {} streams over {client}, 100 tokens at 20 ms)",
                proto.name()
            );
            let (many, rss_note) = match (&bin, &mock_proc) {
                (Some(bin), Some(mock)) => {
                    let config = agentd_config(
                        &mock.url,
                        &args.store,
                        &dir.join(format!("row4-{variant}.db")),
                        args.upstream_http2,
                    );
                    let agentd = Spawned::start(bin, dir, &config, args.wrap.as_deref()).await?;
                    let idle = proc_status_mb(agentd.child.id(), "VmRSS:").unwrap_or(f64::NAN);
                    let many = many_streams(streams, &agentd.base, proto, http2).await?;
                    let peak = proc_status_mb(agentd.child.id(), "VmHWM:").unwrap_or(f64::NAN);
                    agentd.stop().await;
                    let per_stream_kb = (peak - idle) * 1024.0 / streams as f64;
                    (
                        many,
                        format!(
                            "agentd's peak RSS {peak:.0} MB ({per_stream_kb:.1} KB a stream over its idle {idle:.0} MB; \
                             upstream {})",
                            if args.upstream_http2 {
                                "HTTP/2"
                            } else {
                                "HTTP/1.1"
                            }
                        ),
                    )
                }
                _ => {
                    let rss_before = proc_status_mb(None, "VmRSS:").unwrap_or(f64::NAN);
                    // Resets VmHWM so the peak is row 4's (Linux >= 4.0; harmless otherwise).
                    let _ = std::fs::write("/proc/self/clear_refs", "5");
                    let many = many_streams(streams, &base, proto, http2).await?;
                    let peak = proc_status_mb(None, "VmHWM:").unwrap_or(f64::NAN);
                    (
                        many,
                        format!(
                            "peak RSS {peak:.0} MB (RSS before {rss_before:.0} MB; one process: agentd + \
                         mock + driver; build target/release/agentd to measure it alone)"
                        ),
                    )
                }
            };
            let fps = many.frames as f64 / many.elapsed.as_secs_f64().max(1e-9);
            table.row(
                format!("4. {streams} {} streams, {client}", proto.name()),
                [
                    format!("{}/{streams} complete", many.ok),
                    ms(pct(&many.latencies_us, 0.5)),
                    ms(pct(&many.latencies_us, 0.99)),
                    format!(
                        "{rss_note}; {fps:.0} frames/s ({} frames in {:.1} s); {}",
                        many.frames,
                        many.elapsed.as_secs_f64(),
                        errs(&many)
                    ),
                ],
            );
            many_errors += many.errors;
        }
    }

    // Row 5: cold start and binary size.
    if args.wants(5) {
        eprintln!("bench: row 5 (cold start)");
        match agentd_binary(args.agentd.as_deref()) {
            Some(bin) => {
                let size = std::fs::metadata(&bin).map(|m| m.len()).unwrap_or(0);
                let mut times = Vec::new();
                let mut first_err = None;
                for _ in 0..if args.smoke { 1 } else { 5 } {
                    match cold_start(&bin, dir).await {
                        Ok(t) => times.push(t.as_micros() as u64),
                        Err(e) => {
                            first_err.get_or_insert(e);
                        }
                    }
                }
                times.sort_unstable();
                table.row(
                    "5. cold start to /health",
                    [
                        format!("{} ok", times.len()),
                        ms(pct(&times, 0.5)),
                        ms(pct(&times, 1.0)),
                        format!(
                            "{}; binary {:.1} MB ({}){}",
                            "p99 column = worst of the tries",
                            size as f64 / 1_048_576.0,
                            bin.display(),
                            first_err
                                .map(|e| format!("; error: {e}"))
                                .unwrap_or_default()
                        ),
                    ],
                );
            }
            None => table.row(
                "5. cold start to /health",
                [
                    "skipped".into(),
                    "-".into(),
                    "-".into(),
                    "no agentd binary next to bench: run `cargo build --release` first".into(),
                ],
            ),
        }
    }

    // Row 6: what an idle keep-alive connection costs agentd.
    if args.wants(6) {
        let n = args
            .idle_connections
            .unwrap_or(if args.smoke { 5 } else { 2000 });
        eprintln!("bench: row 6 ({n} idle keep-alive HTTP/1.1 connections after one GET /health)");
        match agentd_binary(args.agentd.as_deref()) {
            Some(bin) => {
                let config = agentd_config(
                    "http://127.0.0.1:9/v1",
                    &args.store,
                    &dir.join("row6.db"),
                    false,
                );
                let agentd = Spawned::start(&bin, dir, &config, args.wrap.as_deref()).await?;
                let pid = agentd.child.id();
                // Settle first: the start-up's own allocations are not the connections'.
                tokio::time::sleep(Duration::from_millis(500)).await;
                let idle = proc_status_mb(pid, "VmRSS:").unwrap_or(f64::NAN);
                let held = idle_connections(&agentd.base, n).await;
                tokio::time::sleep(Duration::from_millis(500)).await;
                let with = proc_status_mb(pid, "VmRSS:").unwrap_or(f64::NAN);
                let peak = proc_status_mb(pid, "VmHWM:").unwrap_or(f64::NAN);
                let notes = match &held {
                    Ok(conns) => format!(
                        "{} open; agentd's RSS {idle:.0} MB idle, {with:.0} MB with them (peak {peak:.0} MB): {:.1} KB a connection",
                        conns.len(),
                        (with - idle) * 1024.0 / n.max(1) as f64
                    ),
                    Err(e) => format!("error: {e}"),
                };
                let ok = held.as_ref().map(|c| c.len()).unwrap_or(0);
                drop(held);
                agentd.stop().await;
                table.row(
                    format!("6. {n} idle connections"),
                    [format!("{ok}/{n} open"), "-".into(), "-".into(), notes],
                );
                if ok < n {
                    many_errors += n - ok;
                }
            }
            None => table.row(
                format!("6. {n} idle connections"),
                [
                    "skipped".into(),
                    "-".into(),
                    "-".into(),
                    "no agentd binary next to bench: run `cargo build --release` first".into(),
                ],
            ),
        }
    }

    println!();
    table.print();
    let failed: usize = rows.iter().map(|(_, s)| s.errors).sum::<usize>()
        + ceiling.errors
        + relayed.errors
        + streaming.errors
        + many_errors;
    if failed > 0 {
        return Err(format!("{failed} requests failed (see the table)"));
    }
    Ok(())
}
