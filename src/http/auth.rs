//! Bearer API keys in front of every route of every protocol, checked
//! before anything reads the request's body.
//!
//! Exempt from the server's keys: the configured public paths (probes,
//! scrapers), the docs page and the OpenAPI document, the web pages (not
//! their API: a page holds no data and asks for the key itself), CORS
//! preflights, and /v1, where a Codegen user's key is required instead (the
//! adapter then finds which user it is). While auth is on, the exempt
//! requests, which nobody authenticated, may only send small bodies. Keys
//! are compared in constant time and never logged. Depends only on config,
//! `errors`, `limits`, `keys` and which paths are `ui` pages.

use std::sync::Arc;

use crate::web::keys::{KeyRing, bearer_token};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use super::limits;
use crate::config::Config;
use crate::web::errors;

/// Largest body a request nobody authenticated may send while auth is on
/// (public paths, the docs, preflights): none of them takes a body, and an
/// anonymous client must not make the server hold a large one.
pub const UNAUTHENTICATED_BODY_BYTES: usize = 64 * 1024;

/// What the Codegen adapter answers a missing or unknown key; the gate
/// here answers the same, in the same shape.
const CODEGEN_UNAUTHORIZED: &str = "Invalid or missing API token.";

pub struct ApiKeys {
    keys: KeyRing<()>,
    /// Every Codegen user's keys (none without a `[codegen]` section).
    codegen: KeyRing<()>,
    public_paths: Vec<String>,
}

impl ApiKeys {
    pub fn from_config(config: &Config) -> Arc<Self> {
        let codegen = config.codegen.iter().flat_map(|cg| {
            cg.users
                .iter()
                .flat_map(|u| u.api_keys.iter().map(|k| (k.clone(), ())))
        });
        Arc::new(Self {
            keys: KeyRing::new(config.auth.keys().map(|k| (k.to_string(), ()))),
            codegen: KeyRing::new(codegen),
            public_paths: config.auth.public_paths.clone(),
        })
    }

    pub fn enabled(&self) -> bool {
        !self.keys.is_empty()
    }

    /// Paths the document shows without a key: the default public paths,
    /// and everything always public.
    fn always_public_doc(path: &str) -> bool {
        crate::config::AuthConfig::default()
            .public_paths
            .iter()
            .any(|p| p == path)
            || Self::always_public(path)
    }

    /// Paths that never need this server's key, whatever the config says.
    pub fn always_public(path: &str) -> bool {
        path == "/openapi.json"
            || crate::ui::is_public_page(path)
            || path == "/docs"
            || path.starts_with("/docs/")
            || is_codegen(path)
    }

    fn exempt(&self, req: &Request) -> bool {
        let path = req.uri().path();
        let preflight = req.method() == Method::OPTIONS
            && req
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        preflight || Self::always_public(path) || self.public_paths.iter().any(|p| p == path)
    }

    /// Whether `token` is one of the keys (compared in constant time).
    fn accepts(&self, token: &[u8]) -> bool {
        std::str::from_utf8(token).is_ok_and(|t| self.keys.find(t).is_some())
    }
}

/// The Codegen API's paths, where a Codegen user's key is required.
fn is_codegen(path: &str) -> bool {
    path == "/v1" || path.starts_with("/v1/")
}

fn bearer(req: &Request) -> Option<&[u8]> {
    let value = req.headers().get(header::AUTHORIZATION)?.as_bytes();
    let (scheme, token) = value.split_at_checked(7)?;
    scheme
        .eq_ignore_ascii_case(b"bearer ")
        .then(|| token.trim_ascii())
}

/// Lets through only what may go on, before its body is read: a Codegen
/// user's key on /v1; with auth on, the server's key elsewhere, or an
/// exempt request with its body capped at `UNAUTHENTICATED_BODY_BYTES`.
pub async fn require_key(State(keys): State<Arc<ApiKeys>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if is_codegen(path) {
        if bearer_token(req.headers()).is_some_and(|t| keys.codegen.find(t).is_some()) {
            return next.run(req).await;
        }
        return unauthorized(path, true);
    }
    if !keys.enabled() {
        return next.run(req).await;
    }
    if keys.exempt(&req) {
        return limits::with_body_limit(UNAUTHENTICATED_BODY_BYTES, req, next).await;
    }
    if bearer(&req).is_some_and(|t| keys.accepts(t)) {
        return next.run(req).await;
    }
    unauthorized(path, req.headers().contains_key(header::AUTHORIZATION))
}

/// The 401 for `path`, in its protocol's shape: Codegen's own sentence on
/// /v1, else whether a key was sent and refused or none was sent.
pub(crate) fn unauthorized(path: &str, key_sent: bool) -> Response {
    if is_codegen(path) {
        return errors::response(path, StatusCode::UNAUTHORIZED, CODEGEN_UNAUTHORIZED);
    }
    let message = if key_sent {
        "Invalid API key"
    } else {
        "Missing API key: send Authorization: Bearer <key>"
    };
    let mut resp = errors::response(path, StatusCode::UNAUTHORIZED, message);
    resp.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    resp
}

/// Declares the bearer scheme in the OpenAPI document and, on every
/// operation that needs a key when auth is on (all but the default public
/// paths and /v1, whose adapter documents its own), the scheme and the 401.
pub fn describe(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
    use utoipa::openapi::{RefOr, ResponseBuilder};
    doc.components
        .get_or_insert_with(Default::default)
        .add_security_scheme(
            "api_key",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    for (path, item) in doc.paths.paths.iter_mut() {
        if ApiKeys::always_public_doc(path) {
            continue;
        }
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
            op.security = Some(vec![SecurityRequirement::new::<_, [&str; 0], &str>(
                "api_key",
                [],
            )]);
            op.responses
                .responses
                .entry("401".to_string())
                .or_insert_with(|| {
                    RefOr::T(
                        ResponseBuilder::new()
                            .description(
                                "Missing or invalid API key (when `auth.api_keys` is set); \
                             the body is the protocol's error shape",
                            )
                            .build(),
                    )
                });
        }
    }
}
