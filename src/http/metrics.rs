//! Prometheus exposition: installs the process-wide recorder that the
//! `metrics` facade (engine and HTTP alike) writes to, counts HTTP requests
//! by route template and status, and renders /metrics.
//!
//! Every label value comes from a closed set (the methods HTTP defines, the
//! router's route templates, status codes), never from the request as sent:
//! each new value is a new series held for the life of the process, so a
//! client choosing values would grow memory and /metrics without bound.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The exporter's handle, installing the global recorder on first use. If
/// the embedding program installed another recorder first, /metrics renders
/// only what reaches this one (nothing), rather than failing.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics will be empty");
        }
        handle
    })
}

/// The `method` label: one of HTTP's methods, else `other` (a method is
/// any token a client cares to send).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// Counts every request by route template (never the raw path: ids would
/// explode the label space), method and status, and times it.
pub async fn track(req: Request, next: impl AsyncFnOnce(Request) -> Response) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_string();
    let method = method_label(req.method()).to_string();
    let started = Instant::now();
    let resp = next(req).await;
    let labels = [
        ("route", route),
        ("method", method),
        ("status", resp.status().as_u16().to_string()),
    ];
    metrics::counter!("agentd_http_requests_total", &labels).increment(1);
    metrics::histogram!("agentd_http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    resp
}

/// Metrics in the Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain", body = String)))]
pub async fn render() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        handle().render(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invented_methods_are_other() {
        assert_eq!(method_label(&Method::POST), "POST");
        let made_up = Method::from_bytes(b"XYZZY").unwrap();
        assert_eq!(method_label(&made_up), "other");
    }
}
