//! The HTTP server proper: the accept loop over hyper (HTTP/1.1, and HTTP/2
//! with prior knowledge) with the connection limits `axum::serve` does not
//! expose: a cap on open connections (at which idle ones make room), a
//! header read timeout, an idle timeout; and graceful shutdown (no new
//! connections, every open one ends once it has answered what it was
//! answering).
//!
//! Serves whatever router it is given: it knows nothing of routes,
//! protocols or the engine, and must never depend on them. Per-request
//! limits (body size, body read timeout, request timeout) are layers of the
//! router (`limits`), not of the connection.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::config::ServerConfig;

/// Descriptors kept out of the connection cap's reach: the store, MCP
/// children, logs, and the listener itself.
const RESERVED_DESCRIPTORS: u64 = 64;

/// How long a connection asked to close (idle, or at shutdown) may stay
/// open with no request in flight before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// What one connection may do, from `[server]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Time to send a request's headers (HTTP/1.1), counted from the
    /// connection's start or the end of its previous response.
    pub header_read_timeout: Option<Duration>,
    /// Time a connection may stay open with no request in flight.
    pub idle_timeout: Option<Duration>,
    /// Open connections at most; the rest wait in the listen backlog (and
    /// idle ones are closed to make room).
    pub max_connections: usize,
}

impl ConnectionLimits {
    pub fn from_config(server: &ServerConfig) -> Self {
        let secs = |s: u64| (s > 0).then(|| Duration::from_secs(s));
        Self {
            header_read_timeout: secs(server.header_read_timeout_secs),
            idle_timeout: secs(server.idle_timeout_secs),
            max_connections: server.max_connections.max(1),
        }
    }

    /// Lowers the connection cap to what `descriptors` (the soft
    /// RLIMIT_NOFILE) can hold: half of them, since every client's run may
    /// open an upstream connection of its own. A cap the system cannot
    /// honour would end in failed accepts, which refuse everyone at random
    /// rather than making the newest wait.
    pub fn fit_descriptors(mut self, descriptors: Option<u64>) -> Self {
        if let Some(limit) = descriptors {
            let room = usize::try_from(limit.saturating_sub(RESERVED_DESCRIPTORS) / 2)
                .unwrap_or(usize::MAX)
                .max(1);
            if room < self.max_connections {
                tracing::warn!(
                    configured = self.max_connections,
                    descriptor_limit = limit,
                    max_connections = room,
                    "server.max_connections lowered to what the descriptor limit allows"
                );
                self.max_connections = room;
            }
        }
        self
    }
}

/// Raises the soft limit on open descriptors (RLIMIT_NOFILE) to the hard
/// limit, since every connection is one, and the default soft limit (often
/// 1024) is far below what a server needs. Returns the soft limit in force
/// afterwards (None where it cannot be read).
pub fn raise_descriptor_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct we own.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            // SAFETY: setrlimit only reads the struct.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
                limit.rlim_cur = limit.rlim_max;
            } else {
                tracing::warn!(
                    soft = limit.rlim_cur,
                    hard = limit.rlim_max,
                    "cannot raise the open-file limit"
                );
            }
        }
        Some(limit.rlim_cur)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The soft limit on open descriptors, without changing it.
pub fn descriptor_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct we own.
        (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0).then_some(limit.rlim_cur)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then stops
/// accepting, asks every open connection to close once its responses are
/// done (idle ones close at once; open SSE streams end with their runs),
/// and returns when the last one has closed.
pub async fn run(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let stop = CancellationToken::new();
    tokio::spawn({
        let stop = stop.clone();
        async move {
            shutdown.await;
            stop.cancel();
        }
    });
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    // Bumped while the cap is reached: every connection with no request in
    // flight then closes, so idle (or silent) connections never keep an
    // active client out.
    let (pressure, _) = watch::channel(0u64);
    let connections = TaskTracker::new();
    'accept: loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.cancelled() => break,
        };
        let tcp = match accepted {
            Ok((tcp, _)) => tcp,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // Out of descriptors or memory: wait a moment rather than
                // spin; the connections already open go on being served.
                tracing::error!(error = %e, "accept failed");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    _ = stop.cancelled() => break,
                }
            }
        };
        // Then a permit: past the cap, this one connection waits here and
        // the next ones in the kernel's backlog (not accepted, so they cost
        // no descriptor), while the connections with nothing in flight are
        // asked to make room.
        let permit = loop {
            if let Ok(p) = permits.clone().try_acquire_owned() {
                break p;
            }
            tracing::debug!("at the connection cap: idle connections make room");
            pressure.send_modify(|n| *n += 1);
            tokio::select! {
                permit = permits.clone().acquire_owned() => match permit {
                    Ok(p) => break p,
                    Err(_) => break 'accept,
                },
                // Ask again now and then: connections busy at the last
                // call may be idle now.
                _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                _ = stop.cancelled() => break 'accept,
            }
        };
        // No Nagle delay: an SSE frame is a small write that must leave at
        // once, not wait for the client's (delayed) ACK of the previous one.
        let _ = tcp.set_nodelay(true);
        connections.spawn(serve_connection(
            tcp,
            router.clone(),
            limits,
            Signals {
                stop: stop.clone(),
                pressure: pressure.subscribe(),
            },
            permit,
        ));
    }
    drop(listener);
    connections.close();
    connections.wait().await;
    Ok(())
}

/// Errors of one connection that never arrived, not of the listener.
fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// What asks a connection to close: the server's shutdown, and the
/// connection cap being reached (which only idle connections heed).
struct Signals {
    stop: CancellationToken,
    pressure: watch::Receiver<u64>,
}

/// One connection, until it closes: the client's doing, a timeout, the
/// cap's pressure while idle, or the server's shutdown. Holds its permit of
/// the connection cap throughout.
///
/// The HTTP version is told from the first bytes (HTTP/2 with prior
/// knowledge opens with its preface), and each version's connection is
/// driven in an allocation of its own size. hyper_util's `auto` connection
/// did the same sniffing but held both versions' state inline, so every
/// HTTP/1.1 connection's task carried an HTTP/2 connection's size (bench
/// row 6: ~9 KB of the ~20 KB an idle keep-alive connection cost).
async fn serve_connection(
    tcp: TcpStream,
    router: Router,
    limits: ConnectionLimits,
    signals: Signals,
    _permit: OwnedSemaphorePermit,
) {
    let Signals { stop, mut pressure } = signals;
    // A connection that has not sent a request yet is one that has not
    // sent its headers in time: a silent one goes after the first limit,
    // and it is idle, so it makes room under the cap's pressure too.
    let first = match (limits.header_read_timeout, limits.idle_timeout) {
        (Some(h), Some(i)) => Some(h.min(i)),
        (h, i) => h.or(i),
    };
    let opened = tokio::time::Instant::now();
    let http2 = {
        let version = is_http2(&tcp);
        let silent = after(first);
        tokio::pin!(version, silent);
        loop {
            tokio::select! {
                // Bytes already sent are read before any signal is heeded.
                biased;
                version = &mut version => match version {
                    Ok(http2) => break http2,
                    Err(_) => return,
                },
                _ = &mut silent => return,
                _ = stop.cancelled() => return,
                changed = pressure.changed() => {
                    if changed.is_err() || !is_fresh(opened) {
                        return;
                    }
                }
            }
        }
    };
    let (in_flight, watch_in_flight) = watch::channel(0usize);
    let in_flight = Arc::new(in_flight);
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let guard = InFlight::begin(in_flight.clone());
        let router = router.clone();
        async move {
            let resp = router
                .oneshot(req.map(Body::new))
                .await
                .unwrap_or_else(|never: Infallible| match never {});
            // The request is in flight until its response body is done
            // (an SSE stream for as long as it lasts).
            Ok::<_, Infallible>(resp.map(|body| {
                Body::new(Tracked {
                    body,
                    _guard: guard,
                })
            }))
        }
    });
    let io = TokioIo::new(tcp);
    let signals = Signals { stop, pressure };
    // The first limit still counts from the connection's start.
    let first = first.map(|limit| limit.saturating_sub(opened.elapsed()));
    if http2 {
        let mut builder = http2::Builder::new(TokioExecutor::new());
        builder.timer(TokioTimer::new()).enable_connect_protocol();
        let conn = builder.serve_connection(io, service);
        Box::pin(drive(conn, watch_in_flight, first, limits, signals, opened)).await;
    } else {
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout);
        let conn = builder.serve_connection(io, service).with_upgrades();
        Box::pin(drive(conn, watch_in_flight, first, limits, signals, opened)).await;
    }
}

/// How long a new connection is spared by the cap's pressure before its
/// first request has come in. A burst of clients (10,000 streams opened at
/// once, a frontend's reconnect storm) reaches the cap while connections
/// accepted a moment ago still wait for their request: a loaded client
/// writes it seconds after its connect completed (bench row 4 on a busy
/// box: ~1,100 of 10,000 streams cut with a one-second grace). Closing them
/// as idle refused clients that had done nothing wrong. Well under the
/// header read timeout (30 s by default), which still ends a silent
/// connection; one that has been answered and sits idle makes room at once.
const FRESH: Duration = Duration::from_secs(10);

fn is_fresh(opened: tokio::time::Instant) -> bool {
    opened.elapsed() < FRESH
}

/// Whether a request has begun on the connection: its in-flight count
/// has moved since the connection was served (this receiver never marks
/// a value seen).
fn asked_before(in_flight: &watch::Receiver<usize>) -> bool {
    in_flight.has_changed().unwrap_or(true)
}

/// The preface an HTTP/2 client with prior knowledge opens with.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Whether the connection opens with the HTTP/2 preface, looked at without
/// reading it (hyper reads the connection from its first byte). False as
/// soon as a byte differs, or at the end of the stream (HTTP/1.1's parser
/// then sees the connection close).
async fn is_http2(tcp: &TcpStream) -> std::io::Result<bool> {
    let mut buf = [0u8; H2_PREFACE.len()];
    loop {
        let n = tcp.peek(&mut buf).await?;
        if n == 0 || buf[..n] != H2_PREFACE[..n] {
            return Ok(false);
        }
        if n == H2_PREFACE.len() {
            return Ok(true);
        }
        // Part of the preface so far: peeking again would return the same
        // bytes at once, so wait a moment for the rest.
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// A served connection that can be asked to finish what it is doing and close.
trait Closable: Future {
    fn close(self: std::pin::Pin<&mut Self>);
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<I, S, B> Closable for http1::UpgradeableConnection<I, S>
where
    Self: Future,
    S: hyper::service::HttpService<Incoming, ResBody = B>,
    S::Error: Into<BoxError>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    B: HttpBody + 'static,
    B::Error: Into<BoxError>,
{
    fn close(self: std::pin::Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

impl<I, S, B, E> Closable for http2::Connection<I, S, E>
where
    Self: Future,
    S: hyper::service::HttpService<Incoming, ResBody = B>,
    S::Error: Into<BoxError>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    B: HttpBody + 'static,
    B::Error: Into<BoxError>,
    E: hyper::rt::bounds::Http2ServerConnExec<S::Future, B>,
{
    fn close(self: std::pin::Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

/// Drives a connection until it ends, asking it to close on shutdown, once
/// idle past the limits (`first` before its first request), or (when idle,
/// once answered or no longer fresh) under the cap's pressure.
async fn drive<C, E>(
    conn: C,
    watch_in_flight: watch::Receiver<usize>,
    first: Option<Duration>,
    limits: ConnectionLimits,
    signals: Signals,
    opened: tokio::time::Instant,
) where
    C: Closable<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let Signals { stop, mut pressure } = signals;
    tokio::pin!(conn);
    let idle_then_close = idle(watch_in_flight.clone(), first, limits.idle_timeout);
    tokio::pin!(idle_then_close);
    // Once asked to close, a connection that is still idle after a grace
    // is dropped: an HTTP/2 client that never acknowledges the GOAWAY's
    // ping, or an HTTP/1.1 one stalled before its headers with no header
    // timeout, would otherwise stay open (and hold up shutdown) for ever.
    let in_flight_now = watch_in_flight.clone();
    let linger = idle(watch_in_flight, Some(CLOSE_GRACE), Some(CLOSE_GRACE));
    tokio::pin!(linger);
    let mut closing = false;
    let mut listening = true;
    loop {
        tokio::select! {
            // The connection first: a request whose bytes have arrived is
            // taken (and counted in flight) before the cap's pressure asks
            // whether the connection is idle.
            biased;
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                break;
            }
            _ = stop.cancelled(), if !closing => {
                closing = true;
                conn.as_mut().close();
            }
            _ = &mut idle_then_close, if !closing => {
                closing = true;
                conn.as_mut().close();
            }
            changed = pressure.changed(), if !closing && listening => {
                if changed.is_err() {
                    listening = false;
                } else if *in_flight_now.borrow() == 0
                    && (asked_before(&in_flight_now) || !is_fresh(opened))
                {
                    closing = true;
                    conn.as_mut().close();
                }
            }
            _ = &mut linger, if closing => {
                tracing::debug!("dropped a connection that stayed idle after it was asked to close");
                break;
            }
        }
    }
}

/// Resolves once the connection has had no request in flight for `first`
/// since it opened, or for `then` since its last request ended (never for
/// a None).
async fn idle(
    mut in_flight: watch::Receiver<usize>,
    first: Option<Duration>,
    then: Option<Duration>,
) {
    let mut limit = first;
    loop {
        if *in_flight.borrow_and_update() != 0 {
            limit = then;
            if in_flight.wait_for(|n| *n == 0).await.is_err() {
                return std::future::pending().await;
            }
        }
        tokio::select! {
            _ = after(limit) => return,
            changed = in_flight.changed() => {
                if changed.is_err() {
                    return std::future::pending().await;
                }
            }
        }
        limit = then;
    }
}

/// Sleeps for `limit`, or for ever without one.
async fn after(limit: Option<Duration>) {
    match limit {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

/// One request counted as in flight on its connection, until dropped.
struct InFlight(Arc<watch::Sender<usize>>);

impl InFlight {
    fn begin(count: Arc<watch::Sender<usize>>) -> Self {
        count.send_modify(|n| *n += 1);
        Self(count)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// A response body that keeps its request counted as in flight.
struct Tracked {
    body: Body,
    _guard: InFlight,
}

impl HttpBody for Tracked {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_fits_the_descriptor_limit() {
        let limits = ConnectionLimits {
            header_read_timeout: None,
            idle_timeout: None,
            max_connections: 4096,
        };
        assert_eq!(limits.fit_descriptors(None).max_connections, 4096);
        assert_eq!(limits.fit_descriptors(Some(1 << 20)).max_connections, 4096);
        assert_eq!(limits.fit_descriptors(Some(1024)).max_connections, 480);
        assert_eq!(limits.fit_descriptors(Some(10)).max_connections, 1);
    }

    #[tokio::test]
    async fn idle_waits_for_the_last_request_to_end() {
        let (tx, rx) = watch::channel(0usize);
        let tx = Arc::new(tx);
        let guard = InFlight::begin(tx.clone());
        let idle = idle(
            rx,
            Some(Duration::from_secs(3600)),
            Some(Duration::from_millis(100)),
        );
        tokio::pin!(idle);
        // In flight: never idle, however long it takes (ten timeouts here).
        assert!(
            tokio::time::timeout(Duration::from_secs(1), &mut idle)
                .await
                .is_err()
        );
        drop(guard);
        tokio::time::timeout(Duration::from_secs(20), &mut idle)
            .await
            .expect("idle once the last response is done");
    }

    #[tokio::test]
    async fn a_connection_that_never_asks_has_the_first_limit() {
        let (_tx, rx) = watch::channel(0usize);
        let idle = idle(
            rx,
            Some(Duration::from_millis(100)),
            Some(Duration::from_secs(3600)),
        );
        tokio::time::timeout(Duration::from_secs(20), idle)
            .await
            .expect("idle after the first limit");
    }
}
