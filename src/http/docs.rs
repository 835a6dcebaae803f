//! /docs: Swagger UI over /openapi.json, from the assets bundled in the
//! binary, with a Content-Security-Policy that lets the page load only its
//! own files and be framed by no one (so no other site can overlay it and
//! click through "Try it out" with the user's key).
//!
//! Swagger UI's page has no inline script; its components set inline
//! `style` attributes and draw icons from `data:` URLs, which the policy
//! allows and nothing else. Depends only on the document it is given.

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{Next, from_fn};
use axum::response::Response;
use utoipa_swagger_ui::SwaggerUi;

/// What the Swagger UI page may load: its own scripts, styles and the
/// document; inline style attributes; `data:` images.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The docs page and /openapi.json, each response with the page's
/// security headers.
pub fn router<S: Clone + Send + Sync + 'static>(doc: utoipa::openapi::OpenApi) -> Router<S> {
    Router::from(SwaggerUi::new("/docs").url("/openapi.json", doc)).layer(from_fn(secure))
}

async fn secure(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}
