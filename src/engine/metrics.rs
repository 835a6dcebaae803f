//! Run-side metrics through the `metrics` facade: runs by origin and outcome,
//! active runs, upstream model latency and tokens, tool calls.
//!
//! Only names and labels live here; whoever installs a recorder (the HTTP
//! layer's Prometheus exporter) decides how they are exposed. With no
//! recorder installed every call is a no-op. Never depends on HTTP.
//!
//! Label values come from closed sets, since each new value is a series
//! kept for the life of the process: origins are the adapters' constants,
//! outcomes the run statuses, providers and models the configured
//! `[models]` entries, tools the registered tools (a tool name a model made
//! up is `other`).

use std::time::Duration;

use crate::domain::Usage;

pub(crate) fn run_ended(origin: &str, outcome: &str) {
    metrics::counter!("agentd_runs_total", "origin" => origin.to_string(), "outcome" => outcome.to_string())
        .increment(1);
}

pub(crate) fn active_runs(n: usize) {
    metrics::gauge!("agentd_active_runs").set(n as f64);
}

pub(crate) fn model_request(provider: &str, model: &str, elapsed: Duration, usage: &Usage) {
    let labels = [
        ("provider", provider.to_string()),
        ("model", model.to_string()),
    ];
    metrics::histogram!("agentd_model_request_duration_seconds", &labels)
        .record(elapsed.as_secs_f64());
    metrics::counter!("agentd_model_tokens_total", &with(&labels, "kind", "input"))
        .increment(usage.input_tokens);
    metrics::counter!(
        "agentd_model_tokens_total",
        &with(&labels, "kind", "output")
    )
    .increment(usage.output_tokens);
}

/// One executed tool call: `name` is the registered tool's, None when the
/// model called a tool that does not exist.
pub(crate) fn tool_call(name: Option<&str>, is_error: bool) {
    let outcome = if is_error { "error" } else { "ok" };
    let tool = name.unwrap_or("other").to_string();
    metrics::counter!("agentd_tool_calls_total", "tool" => tool, "outcome" => outcome).increment(1);
}

fn with(
    labels: &[(&'static str, String); 2],
    key: &'static str,
    value: &str,
) -> [(&'static str, String); 3] {
    [
        labels[0].clone(),
        labels[1].clone(),
        (key, value.to_string()),
    ]
}
