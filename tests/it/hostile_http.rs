//! Clients that do not play by the rules, told over real HTTP (raw TCP
//! where a well-behaved client library cannot misbehave enough): anonymous
//! bodies that never finish, invented methods, connections that stall or
//! idle, more connections than the cap, pages on other origins or behind a
//! rebound DNS name, forged request ids. Each answer is a clear error in the
//! protocol's shape or a closed connection, and the server goes on serving.
//!
//! Timeouts here are generous fuses, never measures of speed: the server
//! under test is configured with short limits, and a test fails only when
//! what should happen has not happened long after it should have.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::process::Agentd;
use crate::common::{TestServer, config_with};

/// Long past any limit the tests configure (1-2 s).
const FUSE: Duration = Duration::from_secs(20);

/// A Codegen user (org 1) and the server's own API key.
const CODEGEN: &str = r#"
[codegen]
[[codegen.users]]
id = 1
api_keys = ["cg-key"]
organizations = [1]
[[codegen.organizations]]
id = 1
name = "Acme"
"#;

fn addr(base: &str) -> &str {
    base.trim_start_matches("http://")
}

async fn connect(base: &str) -> TcpStream {
    TcpStream::connect(addr(base)).await.expect("connect")
}

/// A response as read off the wire.
struct Raw {
    status: u16,
    head: String,
    body: String,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// One connection read response by response: bytes past the current
/// response (pipelined answers) stay for the next read.
struct Wire {
    tcp: TcpStream,
    buf: Vec<u8>,
}

impl Wire {
    async fn open(base: &str) -> Self {
        Self {
            tcp: connect(base).await,
            buf: Vec::new(),
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.tcp.write_all(bytes).await.expect("send");
    }

    /// Reads until `buf` holds at least `n` bytes.
    async fn fill(&mut self, n: usize) {
        let mut chunk = [0u8; 8192];
        while self.buf.len() < n {
            let got = self.tcp.read(&mut chunk).await.expect("read");
            assert!(
                got > 0,
                "closed before answering: {:?}",
                String::from_utf8_lossy(&self.buf)
            );
            self.buf.extend_from_slice(&chunk[..got]);
        }
    }

    /// The position just past the next CRLF CRLF (or CRLF, with `line`).
    async fn until(&mut self, end: &[u8]) -> usize {
        loop {
            if let Some(at) = self.buf.windows(end.len()).position(|w| w == end) {
                return at + end.len();
            }
            let want = self.buf.len() + 1;
            self.fill(want).await;
        }
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        self.buf.drain(..n).collect()
    }

    /// One response (a Content-Length or chunked body); panics if none
    /// arrives within `fuse`.
    async fn response(&mut self, fuse: Duration) -> Raw {
        tokio::time::timeout(fuse, self.read_response())
            .await
            .expect("an answer within the fuse")
    }

    async fn read_response(&mut self) -> Raw {
        let end = self.until(b"\r\n\r\n").await;
        let head = String::from_utf8_lossy(&self.take(end))
            .trim_end()
            .to_string();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("a status line: {head}"));
        let mut raw = Raw {
            status,
            head,
            body: String::new(),
        };
        let mut body = Vec::new();
        if raw
            .header("transfer-encoding")
            .is_some_and(|t| t.contains("chunked"))
        {
            loop {
                let line_end = self.until(b"\r\n").await;
                let line = String::from_utf8_lossy(&self.take(line_end)).to_string();
                let size = usize::from_str_radix(line.trim(), 16).expect("chunk size");
                self.fill(size + 2).await;
                body.extend(self.take(size));
                self.take(2);
                if size == 0 {
                    break;
                }
            }
        } else {
            let length = raw
                .header("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            self.fill(length).await;
            body = self.take(length);
        }
        raw.body = String::from_utf8_lossy(&body).to_string();
        raw
    }

    /// Whether the server closes the connection within `fuse` (reading and
    /// discarding whatever it sends first).
    async fn closed_within(&mut self, fuse: Duration) -> bool {
        closed_within(&mut self.tcp, fuse).await
    }
}

/// Whether the server closes `stream` within `fuse` (reading and
/// discarding whatever it sends first).
async fn closed_within(stream: &mut TcpStream, fuse: Duration) -> bool {
    let wait = async {
        let mut chunk = [0u8; 4096];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(fuse, wait).await.is_ok()
}

fn get(path: &str, host: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n")
}

#[tokio::test]
async fn anonymous_codegen_bodies_are_refused_before_they_are_read() {
    let server = TestServer::start(&config_with(CODEGEN)).await;
    for auth in ["", "Authorization: Bearer wrong\r\n"] {
        let mut tcp = Wire::open(&server.base).await;
        // Two MiB announced, one KiB sent: the answer must not wait for
        // the rest, which never comes.
        let head = format!(
            "POST /v1/organizations/1/agent/run HTTP/1.1\r\nHost: {}\r\n{auth}\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            addr(&server.base),
            2 * 1024 * 1024
        );
        tcp.send(head.as_bytes()).await;
        tcp.send(&[b' '; 1024]).await;
        let resp = tcp.response(FUSE).await;
        assert_eq!(resp.status, 401, "{}", resp.head);
        assert_eq!(
            resp.json(),
            serde_json::json!({"message": "Invalid or missing API token.", "status_code": 401})
        );
    }
    // A Codegen user is let through, and the body read as before.
    let r = server
        .client
        .get(server.url("/v1/organizations"))
        .bearer_auth("cg-key")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn public_paths_take_only_small_bodies_while_auth_is_on() {
    // An operator made a run route public: anyone may call it, but nobody
    // authenticated the caller, so it may not make the server hold much.
    let server = TestServer::start(&config_with(
        "[auth]\napi_keys = [\"k\"]\npublic_paths = [\"/health\", \"/agents/assistant/runs\"]\n",
    ))
    .await;
    let mut tcp = Wire::open(&server.base).await;
    let head = format!(
        "POST /agents/assistant/runs HTTP/1.1\r\nHost: {}\r\n\
         Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {}\r\n\r\n",
        addr(&server.base),
        1024 * 1024
    );
    tcp.send(head.as_bytes()).await;
    let resp = tcp.response(FUSE).await;
    assert_eq!(resp.status, 413, "{}", resp.head);
    assert!(resp.json()["detail"].is_string(), "{}", resp.body);
    // A small one is run as before.
    let form = reqwest::multipart::Form::new()
        .text("message", "hi")
        .text("stream", "false");
    let r = server
        .client
        .post(server.url("/agents/assistant/runs"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// The `method` label of every series of /metrics.
async fn method_labels(server: &TestServer) -> Vec<String> {
    let text = server
        .client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let rest = &l[l.find("method=\"")? + 8..];
            Some(rest[..rest.find('"')?].to_string())
        })
        .collect()
}

#[tokio::test]
async fn invented_methods_leave_metrics_unchanged() {
    let server = TestServer::start(&config_with("")).await;
    let send = |from: usize, to: usize| {
        let base = server.base.clone();
        async move {
            let mut tcp = Wire::open(&base).await;
            let requests: String = (from..to)
                .map(|i| {
                    format!(
                        "INVENTED{i} /metrics HTTP/1.1\r\nHost: {}\r\n\r\n",
                        addr(&base)
                    )
                })
                .collect();
            tcp.send(requests.as_bytes()).await;
            for _ in from..to {
                tcp.response(FUSE).await;
            }
        }
    };
    // Every series the test makes once is there before it counts: one
    // invented method, and a GET of /metrics itself.
    send(0, 1).await;
    method_labels(&server).await;
    let before = method_labels(&server).await;
    send(1, 501).await;
    let after = method_labels(&server).await;
    assert_eq!(
        before.len(),
        after.len(),
        "500 invented methods added series"
    );
    let known = [
        "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE", "other",
    ];
    for label in &after {
        assert!(known.contains(&label.as_str()), "method label {label:?}");
    }
    assert!(after.iter().any(|l| l == "other"), "{after:?}");
}

/// Short connection limits, for the tests that wait for them.
fn short_limits(extra: &str) -> String {
    config_with(&format!("[server]\n{extra}\n"))
}

#[tokio::test]
async fn a_connection_stalled_mid_headers_is_closed() {
    let server = TestServer::start(&short_limits(
        "header_read_timeout_secs = 1\nidle_timeout_secs = 600",
    ))
    .await;
    let mut tcp = Wire::open(&server.base).await;
    tcp.send(
        format!(
            "GET /health HTTP/1.1\r\nHost: {}\r\nX-Slow: ",
            addr(&server.base)
        )
        .as_bytes(),
    )
    .await;
    assert!(
        tcp.closed_within(FUSE).await,
        "a connection stalled mid-headers stayed open"
    );
    // One that never sends a byte has not sent its headers either.
    let mut silent = connect(&server.base).await;
    assert!(
        closed_within(&mut silent, FUSE).await,
        "a silent connection stayed open"
    );
    // Everyone else is still served.
    let r = server
        .client
        .get(server.url("/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn idle_connections_are_closed() {
    let server = TestServer::start(&short_limits(
        "header_read_timeout_secs = 600\nidle_timeout_secs = 1",
    ))
    .await;
    // Kept alive after a response, HTTP/1.1.
    let mut kept = Wire::open(&server.base).await;
    kept.send(get("/health", addr(&server.base)).as_bytes())
        .await;
    assert_eq!(kept.response(FUSE).await.status, 200);
    // Silent from the start: not even a protocol chosen.
    let mut silent = connect(&server.base).await;
    // HTTP/2 with prior knowledge: the preface and empty settings, then
    // nothing.
    let mut h2 = connect(&server.base).await;
    h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    for (what, tcp) in [
        ("kept-alive", &mut kept.tcp),
        ("silent", &mut silent),
        ("HTTP/2", &mut h2),
    ] {
        assert!(
            closed_within(tcp, FUSE).await,
            "an idle {what} connection stayed open"
        );
    }
}

#[tokio::test]
async fn a_stalled_body_is_answered_408() {
    let server = TestServer::start(&short_limits("body_read_timeout_secs = 1")).await;
    let mut tcp = Wire::open(&server.base).await;
    let head = format!(
        "POST /agui HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Content-Length: 1000\r\n\r\n{{\"threadId\": ",
        addr(&server.base)
    );
    tcp.send(head.as_bytes()).await;
    let resp = tcp.response(FUSE).await;
    assert_eq!(resp.status, 408, "{}", resp.head);
    assert_eq!(resp.header("connection"), Some("close"), "{}", resp.head);
    assert!(resp.json()["detail"].is_string(), "{}", resp.body);
    assert!(tcp.closed_within(FUSE).await);
}

/// Sends a request whose body is announced and never finished (the body
/// read timeout is long in these tests), and returns once the handler is
/// reading it (the server's 100 Continue says so): a request in flight.
async fn go_busy(tcp: &mut Wire, host: &str) {
    let head = format!(
        "POST /agui HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Expect: 100-continue\r\nContent-Length: 1000\r\n\r\n"
    );
    tcp.send(head.as_bytes()).await;
    let waiting = async {
        let end = tcp.until(b"\r\n\r\n").await;
        String::from_utf8_lossy(&tcp.take(end)).to_string()
    };
    let interim = tokio::time::timeout(FUSE, waiting)
        .await
        .expect("100 Continue");
    assert!(interim.starts_with("HTTP/1.1 100"), "{interim}");
    tcp.send(b"{").await;
}

async fn busy(base: &str) -> Wire {
    let mut tcp = Wire::open(base).await;
    go_busy(&mut tcp, addr(base)).await;
    tcp
}

/// A server with a cap of `n` connections and no timeout that would end
/// any of them during a test.
fn capped(n: usize) -> String {
    short_limits(&format!(
        "max_connections = {n}\nidle_timeout_secs = 600\nheader_read_timeout_secs = 600\n\
         body_read_timeout_secs = 600"
    ))
}

#[tokio::test]
async fn the_connection_cap_holds_and_health_answers_once_others_close() {
    let server = TestServer::start(&capped(2)).await;
    let host = addr(&server.base).to_string();
    let mut held = vec![busy(&server.base).await];
    // The second is surely accepted once it has been answered; then it
    // goes busy too.
    let mut second = Wire::open(&server.base).await;
    second.send(get("/health", &host).as_bytes()).await;
    assert_eq!(second.response(FUSE).await.status, 200);
    go_busy(&mut second, &host).await;
    held.push(second);
    // The third waits: connected, not served while both others have a
    // request in flight.
    let mut third = Wire::open(&server.base).await;
    third.send(get("/health", &host).as_bytes()).await;
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_secs(2), third.tcp.read(&mut byte)).await;
    assert!(early.is_err(), "a connection past the cap was served");
    // One of the others leaves: the waiting one is served.
    drop(held.pop());
    let resp = third.response(FUSE).await;
    assert_eq!(resp.status, 200);
}

#[tokio::test]
async fn at_the_cap_idle_connections_make_room() {
    let server = TestServer::start(&capped(3)).await;
    let host = addr(&server.base).to_string();
    // One busy, one kept alive after an answer, one that never says a word.
    let _busy = busy(&server.base).await;
    let mut kept = Wire::open(&server.base).await;
    kept.send(get("/health", &host).as_bytes()).await;
    assert_eq!(kept.response(FUSE).await.status, 200);
    let _silent = connect(&server.base).await;
    // A client with something to ask gets in.
    let mut asking = Wire::open(&server.base).await;
    asking.send(get("/health", &host).as_bytes()).await;
    assert_eq!(asking.response(FUSE).await.status, 200);
    assert!(kept.closed_within(FUSE).await, "the idle one made room");
}

/// A burst reaches the cap while a connection accepted a moment before is
/// still on its way to its request (a client on a slow link; in a burst of
/// thousands, one the server has not read yet): it is served, not cut as
/// idle. Once answered and idle, it makes room for the next client.
#[tokio::test]
async fn at_the_cap_a_connection_whose_request_is_on_its_way_is_served() {
    let server = TestServer::start(&capped(2)).await;
    let host = addr(&server.base).to_string();
    let _busy = busy(&server.base).await;
    // Connected; its request follows a moment later.
    let mut late = Wire::open(&server.base).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The next client finds the cap reached: idle connections are asked
    // to make room.
    let mut next = Wire::open(&server.base).await;
    next.send(get("/health", &host).as_bytes()).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    late.send(get("/health", &host).as_bytes()).await;
    assert_eq!(late.response(FUSE).await.status, 200);
    // Once answered and idle, the late one makes room for the next.
    assert_eq!(next.response(FUSE).await.status, 200);
    assert!(late.closed_within(FUSE).await, "the idle one made room");
}

#[tokio::test]
async fn default_cors_lets_no_other_origin_read() {
    let server = TestServer::start(&config_with("")).await;
    let preflight = server
        .client
        .request(reqwest::Method::OPTIONS, server.url("/agui"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .is_none(),
        "{:?}",
        preflight.headers()
    );
    let simple = server
        .client
        .get(server.url("/agents"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(simple.status(), 200);
    assert!(
        simple
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn a_dns_rebinding_host_is_refused_on_a_loopback_bind() {
    // The real binary, bound to loopback with its defaults.
    let agentd = Agentd::start(&config_with("[store]\nkind = \"memory\"\n")).await;
    let port = addr(&agentd.base).rsplit(':').next().unwrap().to_string();
    let ask = |path: &'static str, host: String, forwarded: Option<&'static str>| {
        let base = agentd.base.clone();
        async move {
            let mut tcp = Wire::open(&base).await;
            let extra = forwarded.map_or(String::new(), |f| format!("X-Forwarded-Host: {f}\r\n"));
            tcp.send(format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n").as_bytes())
                .await;
            tcp.response(FUSE).await
        }
    };
    let refused = ask("/agents", format!("rebound.evil.example:{port}"), None).await;
    assert_eq!(refused.status, 421, "{}", refused.head);
    assert!(refused.json()["detail"].is_string(), "{}", refused.body);
    // In each protocol's shape.
    let acp = ask("/acp/agents", format!("rebound.evil.example:{port}"), None).await;
    assert_eq!(acp.status, 421);
    assert!(acp.json()["code"].is_string(), "{}", acp.body);
    // A forwarded host cannot carry a page past the check.
    let forwarded = ask(
        "/agents",
        format!("127.0.0.1:{port}"),
        Some("rebound.evil.example"),
    )
    .await;
    assert_eq!(forwarded.status, 421);
    for host in [format!("127.0.0.1:{port}"), format!("localhost:{port}")] {
        let ok = ask("/agents", host.clone(), None).await;
        assert_eq!(ok.status, 200, "{host}");
    }
}

#[tokio::test]
async fn a_forged_request_id_is_replaced() {
    let agentd = Agentd::start(&config_with("[store]\nkind = \"memory\"\n")).await;
    let forged = "x\" level=error message=\"forged entry";
    let r = agentd
        .client
        .get(agentd.url("/health"))
        .header("x-request-id", forged)
        .send()
        .await
        .unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_ne!(id, forged);
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    let too_long = "a".repeat(65);
    let r = agentd
        .client
        .get(agentd.url("/health"))
        .header("x-request-id", &too_long)
        .send()
        .await
        .unwrap();
    assert_ne!(r.headers()["x-request-id"], too_long.as_str());
    // A plain token is kept, as before.
    let r = agentd
        .client
        .get(agentd.url("/health"))
        .header("x-request-id", "trace-42.a:b_c")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "trace-42.a:b_c");
    // The forged one is in no log line; the fresh one is.
    let log = crate::common::eventually("the request's log line", || {
        let log = agentd.log();
        let found = log.contains(&id);
        async move { found.then_some(log) }
    })
    .await;
    assert!(!log.contains("forged entry"), "{log}");
}

#[tokio::test]
async fn the_docs_page_cannot_be_framed() {
    let server = TestServer::start(&config_with("")).await;
    let r = server
        .client
        .get(server.url("/docs/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
}
