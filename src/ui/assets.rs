//! The embedded pages, scripts and styles, served with headers that keep a
//! browser from running anything but these files.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::UiError;

/// Only our own scripts and styles, talking only to this server; images may
/// be previews of files the person attaches (data: and blob: URLs).
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; \
    base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

const PLAYGROUND: &str = include_str!("static/index.html");
const RUNS: &str = include_str!("static/runs.html");
const RUN: &str = include_str!("static/run.html");

/// The scripts and styles, by the name they are requested under.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("static/style.css"),
    ),
    (
        "common.js",
        "text/javascript; charset=utf-8",
        include_str!("static/common.js"),
    ),
    (
        "playground.js",
        "text/javascript; charset=utf-8",
        include_str!("static/playground.js"),
    ),
    (
        "runs.js",
        "text/javascript; charset=utf-8",
        include_str!("static/runs.js"),
    ),
    (
        "run.js",
        "text/javascript; charset=utf-8",
        include_str!("static/run.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("static/favicon.svg"),
    ),
];

fn page(html: &'static str) -> Response {
    file("text/html; charset=utf-8", html)
}

fn file(content_type: &'static str, body: &'static str) -> Response {
    let mut resp = (StatusCode::OK, body).into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // Small files from the binary itself: always revalidate, so an upgraded
    // server never runs against yesterday's script.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

pub async fn playground() -> Response {
    page(PLAYGROUND)
}

pub async fn runs_page() -> Response {
    page(RUNS)
}

/// The same page for every id: the script reads the id from the address and
/// says so when the run does not exist.
pub async fn run_page(Path(_run_id): Path<String>) -> Response {
    page(RUN)
}

pub async fn asset(Path(name): Path<String>) -> Result<Response, UiError> {
    ASSETS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, content_type, body)| file(content_type, body))
        .ok_or_else(|| UiError::NotFound(format!("no asset named '{name}'")))
}
