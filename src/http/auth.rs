//! Who is calling, in front of every route of every protocol, checked
//! before anything reads the request's body: a bearer API key, or a JWT
//! from the deployment's OpenID Connect provider (`jwt`). Every request
//! leaves here with its `Principal` in its extensions (the `Principal`
//! extractor reads it back); refused tokens are 401 in the protocol's
//! shape with `WWW-Authenticate: Bearer error="invalid_token"`, and on MCP
//! the header names the protected-resource metadata.
//!
//! Exempt from the server's keys: the configured public paths (probes,
//! scrapers), the docs page and the OpenAPI document, the web pages (not
//! their API: a page holds no data and asks for the key itself), CORS
//! preflights, and /v1, where a Codegen user's key is required instead (the
//! adapter then finds which user it is), or a provider's token (the adapter
//! finds the organization its tenant names). While auth is on, the exempt
//! requests, which nobody authenticated, may only send small bodies. Keys
//! are compared in constant time and never logged. Depends only on config,
//! the domain's `Principal`, `errors`, `limits`, `keys`, `jwt`
//! and which paths are `ui` and MCP pages.

use std::sync::Arc;

use super::jwt::JwtVerifier;
use crate::web::keys::{KeyRing, bearer_token};
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;

use super::limits;
use crate::config::{ApiKey, Config};
use crate::domain::principal::{AuthMethod, Principal};
use crate::web::errors;

/// Largest body a request nobody authenticated may send while auth is on
/// (public paths, the docs, preflights): none of them takes a body, and an
/// anonymous client must not make the server hold a large one.
pub const UNAUTHENTICATED_BODY_BYTES: usize = 64 * 1024;

/// What the Codegen adapter answers a missing or unknown key; the gate
/// here answers the same, in the same shape.
const CODEGEN_UNAUTHORIZED: &str = "Invalid or missing API token.";

pub struct ApiKeys {
    keys: KeyRing<Principal>,
    /// Every Codegen user's keys (none without a `[codegen]` section).
    codegen: KeyRing<Principal>,
    jwt: Option<Arc<JwtVerifier>>,
    public_paths: Vec<String>,
}

/// Who a configured key is: its user (a user like any other), or an admin.
fn key_principal(index: usize, key: &ApiKey) -> Principal {
    let name = match key.name() {
        Some(name) => name.to_string(),
        None => format!("api_keys[{index}]"),
    };
    Principal {
        tenant: None,
        user: key.user().map(String::from),
        scopes: Vec::new(),
        admin: key.admin(),
        method: AuthMethod::ApiKey { name },
    }
}

impl ApiKeys {
    /// With `[auth.jwt]`, also starts fetching the provider's keys (when
    /// called inside a runtime, as serving is).
    pub fn from_config(config: &Config) -> Arc<Self> {
        let codegen = config.codegen.iter().flat_map(|cg| {
            cg.users.iter().flat_map(|u| {
                let principal = Principal {
                    method: AuthMethod::CodegenKey { user_id: u.id },
                    ..Principal::anonymous()
                };
                u.api_keys
                    .iter()
                    .map(move |k| (k.clone(), principal.clone()))
            })
        });
        let keys = config
            .auth
            .api_keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.key().to_string(), key_principal(i, k)));
        let jwt = config.auth.jwt.clone().map(JwtVerifier::new);
        if let Some(verifier) = &jwt
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let verifier = verifier.clone();
            runtime.spawn(async move { verifier.prefetch().await });
        }
        Arc::new(Self {
            keys: KeyRing::new(keys),
            codegen: KeyRing::new(codegen),
            jwt,
            public_paths: config.auth.public_paths.clone(),
        })
    }

    pub fn enabled(&self) -> bool {
        !self.keys.is_empty() || self.jwt.is_some()
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
            || super::protected_resource::is_metadata_path(path)
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

    /// Who `token` is: one of the keys (compared in constant time), or a
    /// token the provider signed. `Ok(None)`: neither, and no provider
    /// would have it.
    async fn principal(&self, token: &str) -> Result<Option<Principal>, super::jwt::JwtError> {
        if let Some(p) = self.keys.find(token) {
            return Ok(Some(p.clone()));
        }
        match &self.jwt {
            Some(verifier) if looks_like_jwt(token) => verifier.verify(token).await.map(Some),
            _ => Ok(None),
        }
    }
}

/// Three dot-separated parts: a JWS in compact form (an API key is never
/// taken for one by accident: keys with two dots are tried as keys first).
fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

/// The MCP endpoint's paths, whose clients look for the protected-resource
/// metadata in the challenge.
fn is_mcp(path: &str) -> bool {
    let mcp = crate::protocols::mcp::PATH;
    path.strip_prefix(mcp)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The Codegen API's paths, where a Codegen user's key is required.
fn is_codegen(path: &str) -> bool {
    path == "/v1" || path.starts_with("/v1/")
}

fn bearer(req: &Request) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.as_bytes();
    let (scheme, token) = value.split_at_checked(7)?;
    if !scheme.eq_ignore_ascii_case(b"bearer ") {
        return None;
    }
    std::str::from_utf8(token.trim_ascii()).ok()
}

/// Lets through only what may go on, before its body is read: a Codegen
/// user's key on /v1; with auth on, the server's key elsewhere, or an
/// exempt request with its body capped at `UNAUTHENTICATED_BODY_BYTES`.
pub async fn require_key(
    keys: &ApiKeys,
    mut req: Request,
    next: impl AsyncFnOnce(Request) -> Response,
) -> Response {
    let path = req.uri().path();
    if is_codegen(path) {
        let found = bearer_token(req.headers()).and_then(|t| keys.codegen.find(t).cloned());
        if let Some(principal) = found {
            req.extensions_mut().insert(principal);
            return next(req).await;
        }
        // A provider's token: the adapter finds the organization its
        // tenant names.
        if let Some(verifier) = &keys.jwt
            && let Some(token) = bearer(&req).filter(|t| looks_like_jwt(t))
        {
            return match verifier.verify(token).await {
                Ok(principal) => {
                    req.extensions_mut().insert(principal);
                    next(req).await
                }
                Err(e) => unauthorized(
                    true,
                    req.uri().path(),
                    req.headers(),
                    Refusal::Invalid(e.to_string()),
                ),
            };
        }
        return errors::response(path, StatusCode::UNAUTHORIZED, CODEGEN_UNAUTHORIZED);
    }
    if !keys.enabled() {
        req.extensions_mut().insert(Principal::open());
        return next(req).await;
    }
    if keys.exempt(&req) {
        req.extensions_mut().insert(Principal::anonymous());
        return limits::with_body_limit(UNAUTHENTICATED_BODY_BYTES, req, next).await;
    }
    let refusal = match bearer(&req) {
        Some(token) => match keys.principal(token).await {
            Ok(Some(principal)) => {
                req.extensions_mut().insert(principal);
                return next(req).await;
            }
            Ok(None) if keys.jwt.is_some() => Refusal::Invalid("Invalid API key or token".into()),
            Ok(None) => Refusal::Invalid("Invalid API key".into()),
            Err(e) => Refusal::Invalid(e.to_string()),
        },
        None if keys.jwt.is_some() => Refusal::Missing(
            "Missing credentials: send Authorization: Bearer <API key or access token>",
        ),
        None => Refusal::Missing("Missing API key: send Authorization: Bearer <key>"),
    };
    let jwt_on = keys.jwt.is_some();
    unauthorized(jwt_on, req.uri().path(), req.headers(), refusal)
}

/// The 401 a server with API keys only answers on `path`: Codegen's own
/// sentence on /v1, else whether a key was sent and refused or none was
/// sent (the error-body snapshots pin these).
#[cfg(test)]
pub(crate) fn key_refused(path: &str, key_sent: bool) -> Response {
    if is_codegen(path) {
        return errors::response(path, StatusCode::UNAUTHORIZED, CODEGEN_UNAUTHORIZED);
    }
    let refusal = if key_sent {
        Refusal::Invalid("Invalid API key".into())
    } else {
        Refusal::Missing("Missing API key: send Authorization: Bearer <key>")
    };
    unauthorized(false, path, &HeaderMap::new(), refusal)
}

enum Refusal {
    Missing(&'static str),
    /// A presented key or token was refused, for this reason.
    Invalid(String),
}

/// 401 in the protocol's shape. With JWT auth on, the challenge follows
/// RFC 6750 (`error="invalid_token"` for a refused token) and, on MCP,
/// names the protected-resource metadata (RFC 9728) so MCP clients find
/// the provider; with keys only, it stays the bare `Bearer` it always was.
fn unauthorized(jwt_on: bool, path: &str, headers: &HeaderMap, refusal: Refusal) -> Response {
    let message = match &refusal {
        Refusal::Missing(m) => m.to_string(),
        Refusal::Invalid(m) => m.clone(),
    };
    let mut resp = errors::response(path, StatusCode::UNAUTHORIZED, &message);
    let mut challenge = String::from("Bearer");
    if jwt_on {
        let mut params = Vec::new();
        if is_mcp(path) {
            params.push(format!(
                "resource_metadata=\"{}\"",
                super::protected_resource::metadata_url(
                    &crate::web::base_url::origin_or_localhost(headers, None)
                )
            ));
        }
        if let Refusal::Invalid(m) = &refusal {
            params.push("error=\"invalid_token\"".into());
            params.push(format!("error_description=\"{}\"", quoted_safe(m)));
        }
        if !params.is_empty() {
            challenge = format!("Bearer {}", params.join(", "));
        }
    }
    let value = HeaderValue::from_str(&challenge).unwrap_or(HeaderValue::from_static("Bearer"));
    resp.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    resp
}

/// Text fit for a quoted-string in a header: printable ASCII without `"`
/// and `\\`.
fn quoted_safe(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .filter(|c| *c != '"' && *c != '\\')
        .collect()
}

/// The caller, as `require_key` found it; handlers and adapters take it
/// as an argument. A route outside the auth layer (none today) would get
/// the anonymous principal, never an admin.
impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Principal>()
            .cloned()
            .unwrap_or_else(Principal::anonymous))
    }
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
