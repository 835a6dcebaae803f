//! Router assembly: the routes of every protocol, shared layers (auth,
//! limits, metrics, CORS, hosts, request ids), health, the accept loop and
//! the OpenAPI document built from the handlers. What adapters share
//! (state, SSE, schemas) lives in `crate::web`, below the adapters.

pub mod auth;
pub mod callers;
pub mod docs;
#[cfg(test)]
mod error_snapshots;
pub mod hosts;
pub mod jwt;
pub mod limits;
pub mod metrics;
pub mod protected_resource;
pub mod rate_limit;
pub mod request_id;
pub mod server;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{Next, from_fn};
use axum::response::{IntoResponse, Json};
use serde::Serialize;
use tower_http::cors::CorsLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::protocols;
pub use crate::web::AppState;
use crate::web::errors;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "agentd",
        description = "Runs AI agents over AgentOS, AG-UI, ACP, the Codegen agent API, A2A and MCP."
    ),
    tags(
        (name = "agentos", description = "Agno AgentOS agent runs"),
        (name = "acp", description = "Agent Communication Protocol (served under /acp; runs also at the root)"),
        (name = "codegen", description = "Codegen agent API: background agent runs, organizations and users"),
        (name = "agui", description = "AG-UI agent runs for browser frontends"),
        (name = "mcp", description = "MCP server (streamable HTTP): every agent and team is a tool"),
        (name = "a2a", description = "Agent2Agent, A2A 1.0 (JSON-RPC and HTTP+JSON) and 0.3 (JSON-RPC): agent cards, messages, tasks"),
        (name = "ui", description = "What agentd's web pages (/ui) read: runs, their events, sessions"),
        (name = "health", description = "Liveness, readiness and metrics")
    )
)]
struct ApiDoc;

/// Every route; the web pages only when the config serves them (the
/// document always describes their API, so it does not depend on config).
fn routes_with(ui: bool) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health))
        .routes(routes!(ready))
        .routes(routes!(metrics::render))
        .routes(routes!(protected_resource::server))
        .routes(routes!(protected_resource::mcp))
        .merge(protocols::agentos::router())
        .merge(protocols::acp::router())
        .merge(protocols::codegen::router())
        .merge(protocols::agui::router())
        .merge(protocols::a2a::router())
        .merge(crate::ui::router(ui))
}

fn routes() -> OpenApiRouter<AppState> {
    routes_with(true)
}

/// The OpenAPI document of every route, as served at /openapi.json.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = routes().split_for_parts().1;
    finish_document(&mut doc);
    doc
}

/// What every route's document gets after the handlers described it: the
/// auth scheme, and a description on every response (OpenAPI requires one;
/// utoipa leaves it empty unless the handler wrote it), so the document
/// passes a validator.
fn finish_document(doc: &mut utoipa::openapi::OpenApi) {
    protocols::mcp::describe(doc);
    auth::describe(doc);
    for item in doc.paths.paths.values_mut() {
        let ops = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for op in ops.into_iter().flatten() {
            for (status, response) in op.responses.responses.iter_mut() {
                if let utoipa::openapi::RefOr::T(r) = response
                    && r.description.is_empty()
                {
                    r.description = status
                        .parse::<u16>()
                        .ok()
                        .and_then(|s| StatusCode::from_u16(s).ok())
                        .and_then(|s| s.canonical_reason())
                        .unwrap_or("Response")
                        .to_string();
                }
            }
        }
    }
}

/// The whole application, ready to serve.
pub fn app(state: AppState) -> Router {
    metrics::handle();
    let server = &state.config().server;
    let max_body = server.max_body_bytes;
    let timeout = Duration::from_secs(server.request_timeout_secs);
    let body_timeout = Duration::from_secs(server.body_read_timeout_secs);
    let keys = auth::ApiKeys::from_config(state.config());
    let callers = callers::Callers::from_config(state.config());
    let hosts = hosts::AllowedHosts::from_config(server);
    let origins: Vec<String> = server.cors_origins().map(|(_, o)| o.to_string()).collect();
    let cors = cors(&origins);
    let (router, mut doc) = routes_with(state.config().ui.enabled).split_for_parts();
    finish_document(&mut doc);
    let mcp = protocols::mcp::service(state.clone(), state.shutdown.child_token());
    router
        .nest_service(protocols::mcp::PATH, mcp)
        // /docs renders /openapi.json with Swagger UI's bundled assets (no CDN).
        .merge(docs::router(doc))
        .with_state(state)
        // Layers run outside-in from the last one added:
        // a request id the client sent is kept only if it is safe to log,
        // and one is set before the trace span opens so the span carries
        // it, and echoed on the way out; metrics see the final status; the
        // Host check refuses DNS-rebinding pages before anything else is
        // done for them; CORS then answers browser preflights (AG-UI
        // frontends run in browsers on other origins); `reshape` turns the
        // plain-text refusals of the layers below it (413, 408, unknown
        // routes) into the protocol's error shape; auth comes before the
        // limits, and before any body is read, so an anonymous client
        // learns nothing else and costs nothing more; per-caller rate
        // limits come right after it, before any work.
        .layer(DefaultBodyLimit::max(max_body))
        .layer(RequestBodyLimitLayer::new(max_body))
        // The layers that only look at a request's head and wrap its
        // response are one `from_fn` each group, in the same order as
        // separate layers would be: every `from_fn` boxes its own future
        // and a copy of the service below it per request, and a stream's
        // request holds them all while its run is created.
        .layer(from_fn(move |req: Request, next: Next| {
            let (keys, callers) = (keys.clone(), callers.clone());
            async move {
                errors::reshape(req, async |req| {
                    errors::log_faults(req, async |req| {
                        auth::require_key(&keys, req, async |req| {
                            callers::limit(&callers, req, async |req| {
                                limits::timeout(timeout, req, async |req| {
                                    limits::body_read_timeout(body_timeout, req, async |req| {
                                        next.run(req).await
                                    })
                                    .await
                                })
                                .await
                            })
                            .await
                        })
                        .await
                    })
                    .await
                })
                .await
            }
        }))
        .layer(cors)
        .layer(from_fn(move |req: Request, next: Next| {
            let hosts = hosts.clone();
            async move {
                metrics::track(req, async |req| {
                    hosts::check(&hosts, req, async |req| next.run(req).await).await
                })
                .await
            }
        }))
        .layer(PropagateRequestIdLayer::new(request_id::HEADER))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                // One line per request at the default level (headers, where
                // keys travel, are never logged).
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(request_id::HEADER, MakeRequestUuid))
        .layer(from_fn(request_id::sanitize))
}

/// CORS for browser frontends on other origins: none at all unless
/// origins are configured (config validation decides when `"*"` may be);
/// any origin with `"*"` in the list, else only the listed ones.
/// Credentials (cookies) are never allowed: keys and tokens travel in the
/// `Authorization` header, which a listed origin may send. Allowed request
/// headers mirror what the preflight asks for: a wildcard there would not
/// cover `Authorization` (the Fetch standard excludes it from `*`).
fn cors(origins: &[String]) -> tower::util::Either<CorsLayer, tower::layer::util::Identity> {
    use tower::util::Either;
    use tower_http::cors::{AllowHeaders, AllowOrigin, Any};
    if origins.is_empty() {
        return Either::Right(tower::layer::util::Identity::new());
    }
    let allow_origin = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|o| axum::http::HeaderValue::from_str(o).ok()),
        )
    };
    Either::Left(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods(Any)
            .allow_headers(AllowHeaders::mirror_request())
            .expose_headers(Any),
    )
}

/// The span every request's log lines carry: method, path and request id
/// (already checked to be a safe token by `request_id::sanitize`).
fn request_span(req: &Request) -> tracing::Span {
    let request_id = req
        .headers()
        .get(&request_id::HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        method = %req.method(),
        path = %req.uri().path(),
        request_id = %request_id,
    )
}

/// Serves until `shutdown` resolves, then shuts down gracefully: stops
/// accepting connections, lets live runs finish for up to
/// `server.shutdown_grace_secs`, cancels the rest (their streams end with a
/// cancelled event and the runs are stored as cancelled), waits for open
/// responses to complete, and returns once every run is flushed.
///
/// Connections are served by `server::run`, with the `[server]` limits on
/// connections (header read and idle timeouts, the connection cap).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let engine = state.engine.clone();
    let grace = Duration::from_secs(state.config().server.shutdown_grace_secs);
    let limits = server::ConnectionLimits::from_config(&state.config().server)
        .fit_descriptors(server::descriptor_limit());
    let stop = tokio_util::sync::CancellationToken::new();
    let sessions = state.shutdown.clone();
    // The drain runs beside the server, since open SSE responses (which
    // keep the server from finishing) end only when their runs end.
    let drain = tokio::spawn({
        let stop = stop.clone();
        async move {
            stop.cancelled().await;
            engine.drain(grace).await;
            // The runs are over: end the sessions that would keep their
            // streams (and so the server) open.
            sessions.cancel();
        }
    });
    let trigger = {
        let stop = stop.clone();
        async move {
            shutdown.await;
            tracing::info!(
                grace_secs = grace.as_secs(),
                "shutting down: no new connections"
            );
            stop.cancel();
        }
    };
    let served = server::run(listener, app(state), limits, trigger).await;
    stop.cancel();
    if let Err(e) = drain.await {
        tracing::error!(error = %e, "the run drain task failed");
    }
    served
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ready`, or `unavailable` with the reason in `detail`.
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
}

/// Readiness: the config is loaded (it is, or the process would not serve),
/// the store takes writes (a small write, its answer cached for 2 s), and
/// the server is not shutting down.
#[utoipa::path(get, path = "/ready", tag = "health",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let problem = if state.engine.is_draining() {
        Some("shutting down".to_string())
    } else {
        state.engine.store_writable().await.err()
    };
    match problem {
        None => (
            StatusCode::OK,
            Json(Readiness {
                status: "ready",
                detail: None,
            }),
        ),
        Some(detail) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Readiness {
                status: "unavailable",
                detail: Some(detail),
            }),
        ),
    }
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` while the process serves requests.
    status: &'static str,
    instantiated_at: String,
}

/// Liveness: the process is up and serving.
#[utoipa::path(get, path = "/health", tag = "health",
    responses((status = 200, body = Health)))]
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    Json(Health {
        status: "ok",
        instantiated_at: state
            .started_at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    })
}
