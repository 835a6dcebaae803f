//! The operable service over real HTTP: the offline docs page, auth on every
//! route, request ids, limits, readiness, metrics and graceful shutdown.

use crate::common::{TestServer, config_with, form};

#[tokio::test]
async fn docs_page_renders_offline_from_the_served_document() {
    let server = TestServer::start(&config_with("")).await;
    let page = server
        .client
        .get(server.url("/docs/"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    // Every asset the page loads is served locally, never from a CDN.
    assert!(
        !html.contains("https://"),
        "the docs page loads remote assets"
    );
    let init = server
        .client
        .get(server.url("/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(init.status(), 200);
    assert!(init.text().await.unwrap().contains("/openapi.json"));
    for asset in ["/docs/swagger-ui.css", "/docs/swagger-ui-bundle.js"] {
        let r = server.client.get(server.url(asset)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{asset}");
    }
}

use std::sync::Arc;

use crate::common::sse;
use agentd::config::Config;
use agentd::engine::{Engine, Event, RunRecord, SessionRecord};
use agentd::models::ModelRegistry;
use agentd::store::memory::MemoryStore;
use agentd::store::{RunFilter, SessionFilter, Store, StoreError};
use agentd::tools::ToolRegistry;
use agentd::{AppState, openapi};
use serde_json::Value;

const KEY: &str = "s3cret-key";

/// A builtin model that streams one token every `ms` milliseconds, and an
/// agent `slow` on it, so runs stay live long enough to observe.
fn slow_agent(ms: u64) -> String {
    format!(
        r#"
[models.slow]
provider = "builtin"
token_delay_ms = {ms}

[[agents]]
id = "slow"
model = "slow"
"#
    )
}

fn with_auth(extra: &str) -> String {
    config_with(&format!("{extra}\n[auth]\napi_keys = [\"{KEY}\", \"\"]\n"))
}

/// A concrete URL for an OpenAPI path template.
fn concrete(template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .map_or(rest.len(), |e| start + e + 1);
        out.push('x');
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Every method of every path in the OpenAPI document.
fn every_route(doc: &Value) -> Vec<(reqwest::Method, String)> {
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                routes.push((m, path.clone()));
            }
        }
    }
    routes
}

/// The 401 body a client of the protocol owning `path` can parse.
fn assert_protocol_shape(path: &str, status: u16, body: &Value) {
    if path.starts_with("/runs") || path.starts_with("/acp") {
        assert!(body["code"].is_string(), "{path}: {body}");
        assert!(body["message"].is_string(), "{path}: {body}");
    } else if path.starts_with("/v1") {
        assert!(body["message"].is_string(), "{path}: {body}");
        assert_eq!(body["status_code"], status, "{path}: {body}");
    } else if path.starts_with("/a2a/{agent_id}/") && !path.contains("/.well-known/") {
        // A2A 1.0's HTTP+JSON binding: a google.rpc.Status.
        assert_eq!(body["error"]["code"], status, "{path}: {body}");
        assert!(body["error"]["status"].is_string(), "{path}: {body}");
        assert!(body["error"]["message"].is_string(), "{path}: {body}");
    } else if path.starts_with("/a2a")
        || path.starts_with("/mcp")
        || path.starts_with("/.well-known")
    {
        assert_eq!(body["jsonrpc"], "2.0", "{path}: {body}");
        assert!(body["error"]["code"].is_i64(), "{path}: {body}");
        assert!(body["error"]["message"].is_string(), "{path}: {body}");
    } else {
        assert!(body["detail"].is_string(), "{path}: {body}");
    }
}

#[tokio::test]
async fn every_documented_route_needs_the_key() {
    let server = TestServer::start(&with_auth(
        "[server]\ncors_allowed_origins = [\"http://app.example\"]\n",
    ))
    .await;
    // The document is public, and it is the list of routes to check: a new
    // route that skips auth fails here.
    let doc: Value = server
        .client
        .get(server.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc, serde_json::to_value(openapi()).unwrap());
    let public = ["/health", "/ready", "/metrics"];
    let routes = every_route(&doc);
    assert!(routes.len() > 10, "{routes:?}");
    let mut checked = 0;
    for (method, template) in routes {
        let url = server.url(&concrete(&template));
        if public.contains(&template.as_str()) {
            let r = server.client.request(method, &url).send().await.unwrap();
            assert_eq!(r.status(), 200, "{template} is public");
            continue;
        }
        if template.starts_with("/v1/") {
            // Codegen authenticates its own users with its own keys.
            continue;
        }
        if template.starts_with("/.well-known/oauth-protected-resource") {
            // Public, for clients that have no token yet; without
            // [auth.jwt] there is no provider to name.
            let r = server.client.request(method, &url).send().await.unwrap();
            assert_eq!(r.status(), 404, "{template} is public");
            continue;
        }
        // The document says so too.
        let op = &doc["paths"][&template][method.as_str().to_lowercase()];
        assert_eq!(
            op["security"][0]["api_key"],
            serde_json::json!([]),
            "{template}"
        );
        assert!(op["responses"]["401"].is_object(), "{template}");
        for auth in [None, Some("Bearer wrong"), Some("Basic czNjcmV0LWtleQ==")] {
            let mut req = server.client.request(method.clone(), &url);
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), 401, "{method} {template} with {auth:?}");
            assert_eq!(r.headers()["www-authenticate"], "Bearer");
            let body: Value = r.json().await.unwrap();
            assert_protocol_shape(&template, 401, &body);
        }
        let r = server
            .client
            .request(method.clone(), &url)
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap();
        assert_ne!(r.status(), 401, "{method} {template} with the key");
        checked += 1;
    }
    assert!(checked > 5);
    // The docs page needs no key; a CORS preflight neither.
    let r = server
        .client
        .get(server.url("/docs/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = server
        .client
        .request(reqwest::Method::OPTIONS, server.url("/agents"))
        .header("origin", "http://app.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
}

#[tokio::test]
async fn unauthorized_bodies_follow_each_protocols_shape() {
    let server = TestServer::start(&with_auth("")).await;
    let get = |p: &str| server.client.post(server.url(p)).send();
    let agentos: Value = get("/agents/assistant/runs")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(agentos["error_code"], "UNAUTHORIZED");
    let acp: Value = get("/runs").await.unwrap().json().await.unwrap();
    assert_eq!(acp["code"], "unauthorized");
    assert!(acp["message"].is_string());
    let agui = get("/agui").await.unwrap();
    assert_eq!(agui.status(), 401);
    let agui: Value = agui.json().await.unwrap();
    assert!(agui["detail"].is_string() && agui.get("code").is_none());
    // /v1 is left to the Codegen adapter, which checks its own users' keys
    // and answers in its own shape.
    let v1 = get("/v1/organizations/1/agent/run").await.unwrap();
    assert_eq!(v1.status(), 401);
    let v1: Value = v1.json().await.unwrap();
    assert_eq!(v1["status_code"], 401);
    assert!(v1.get("detail").is_none() && v1.get("code").is_none());
}

#[tokio::test]
async fn empty_keys_leave_auth_off_and_public_paths_are_configurable() {
    let server = TestServer::start(&config_with("[auth]\napi_keys = [\"\"]\n")).await;
    let r = server
        .client
        .get(server.url("/agents"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let server = TestServer::start(&config_with(&format!(
        "[auth]\napi_keys = [\"{KEY}\"]\npublic_paths = [\"/health\"]\n"
    )))
    .await;
    let health = server
        .client
        .get(server.url("/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let metrics = server
        .client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 401);
}

#[tokio::test]
async fn request_ids_are_taken_or_generated_and_echoed() {
    let server = TestServer::start(&config_with("")).await;
    let r = server
        .client
        .get(server.url("/agents"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "abc-123");
    let a = server
        .client
        .get(server.url("/agents"))
        .send()
        .await
        .unwrap();
    let b = server.client.get(server.url("/nope")).send().await.unwrap();
    let ida = a.headers()["x-request-id"].to_str().unwrap().to_string();
    let idb = b.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(ida.len(), 36, "{ida}");
    assert_ne!(ida, idb);
    // Unknown routes answer in the protocol's shape too.
    assert_eq!(b.status(), 404);
    let body: Value = b.json().await.unwrap();
    assert_eq!(body["detail"], "Not Found");
}

#[tokio::test]
async fn oversized_bodies_get_413_in_the_protocols_shape() {
    // A Codegen user: /v1 reads no body before its key is checked.
    let server = TestServer::start(&config_with(
        "[server]\nmax_body_bytes = 1024\n[codegen]\n[[codegen.users]]\nid = 1\n\
         api_keys = [\"cg\"]\norganizations = [1]\n\
         [[codegen.organizations]]\nid = 1\nname = \"Acme\"\n",
    ))
    .await;
    let big = "x".repeat(4096);
    // Declared length: refused before the handler runs.
    let r = server
        .client
        .post(server.url("/agents/assistant/runs"))
        .form(&[("message", big.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error_code"], "PAYLOAD_TOO_LARGE", "{body}");
    // Chunked, no length: caught while the handler reads it.
    let chunks: Vec<Result<String, std::io::Error>> =
        vec![Ok("message=".into()), Ok(big.clone()), Ok(big.clone())];
    let r = server
        .client
        .post(server.url("/agents/assistant/runs"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error_code"], "PAYLOAD_TOO_LARGE", "{body}");
    // Multipart uploads too.
    let r = server
        .client
        .post(server.url("/agents/assistant/runs"))
        .multipart(form(&[("message", "hi")]).part(
            "files",
            reqwest::multipart::Part::bytes(big.clone().into_bytes()).file_name("a.txt"),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    // Other protocols' paths get their own shapes.
    for (path, key) in [
        ("/runs", "code"),
        ("/agui", "detail"),
        ("/v1/organizations/1/agent/run", "status_code"),
    ] {
        let r = server
            .client
            .post(server.url(path))
            .header("content-type", "application/json")
            .bearer_auth("cg")
            .body(big.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413, "{path}");
        let body: Value = r.json().await.unwrap();
        assert!(body.get(key).is_some(), "{path}: {body}");
    }
    // A body under the limit still works.
    let r = server
        .client
        .post(server.url("/agents/assistant/runs"))
        .form(&[("message", "small")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn global_run_limit_answers_429_with_retry_after() {
    let server = TestServer::start(&config_with(&format!(
        "{}\n[server]\nmax_concurrent_runs = 1\n",
        slow_agent(30)
    )))
    .await;
    let first = server
        .client
        .post(server.url("/agents/slow/runs"))
        .multipart(form(&[
            (
                "message",
                "one two three four five six seven eight nine ten",
            ),
            ("background", "true"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 202);
    let first: Value = first.json().await.unwrap();
    let second = server
        .client
        .post(server.url("/agents/assistant/runs"))
        .multipart(form(&[("message", "me too")]))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 429);
    let retry: u64 = second.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    let body: Value = second.json().await.unwrap();
    assert_eq!(body["error_code"], "TOO_MANY_REQUESTS", "{body}");
    // The refused run left no trace, and once the first ends there is room.
    let run_id = first["run_id"].as_str().unwrap().to_string();
    crate::common::eventually("the first run to end", || async {
        let run = server
            .engine
            .get_run(&agentd::engine::Principal::open(), &run_id)
            .await
            .ok()??;
        (run.status.is_terminal() && server.engine.active_runs() == 0).then_some(())
    })
    .await;
    let runs = server
        .engine
        .list_runs(&agentd::engine::Principal::open(), &RunFilter::default())
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);
    let third = server
        .client
        .post(server.url("/agents/assistant/runs"))
        .multipart(form(&[("message", "now")]))
        .send()
        .await
        .unwrap();
    assert_eq!(third.status(), 200);
}

#[tokio::test]
async fn timeouts_stop_waiting_requests_but_never_streams() {
    let server = TestServer::start(&config_with(&format!(
        "{}\n[server]\nrequest_timeout_secs = 1\n",
        slow_agent(100)
    )))
    .await;
    // ~20 tokens at 100 ms: longer than the 1 s timeout.
    let message = "a b c d e f g h i j k l m n o p q r s";
    let r = server
        .client
        .post(server.url("/agents/slow/runs"))
        .multipart(form(&[("message", message)]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 408);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error_code"], "REQUEST_TIMEOUT", "{body}");
    let r = server
        .client
        .post(server.url("/agents/slow/runs"))
        .multipart(form(&[("message", message), ("stream", "true")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let frames = sse::read_all(r).await;
    let last = frames.last().expect("frames");
    assert_eq!(last.data["event"], "RunCompleted", "{:?}", last.data);
}

/// A memory store whose ping fails, as an unreachable database would.
struct DownStore(MemoryStore);

#[async_trait::async_trait]
impl Store for DownStore {
    async fn put_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        self.0.put_run(run).await
    }
    async fn get_run(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError> {
        self.0.get_run(run_id).await
    }
    async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>, StoreError> {
        self.0.list_runs(filter).await
    }
    async fn append_events(&self, run_id: &str, events: &[Event]) -> Result<(), StoreError> {
        self.0.append_events(run_id, events).await
    }
    async fn events(&self, run_id: &str, after: u64) -> Result<Vec<Event>, StoreError> {
        self.0.events(run_id, after).await
    }
    async fn put_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        self.0.put_session(session).await
    }
    async fn get_session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        self.0.get_session(id).await
    }
    async fn list_sessions(&self, f: &SessionFilter) -> Result<Vec<SessionRecord>, StoreError> {
        self.0.list_sessions(f).await
    }
    async fn delete_session(&self, id: &str) -> Result<bool, StoreError> {
        self.0.delete_session(id).await
    }
    async fn count_sessions(&self, f: &SessionFilter) -> Result<u64, StoreError> {
        self.0.count_sessions(f).await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    async fn create_run(&self, run: &RunRecord) -> Result<bool, StoreError> {
        self.0.create_run(run).await
    }
    async fn create_session(&self, session: &SessionRecord) -> Result<bool, StoreError> {
        self.0.create_session(session).await
    }
    async fn take_run(
        &self,
        run: &RunRecord,
        from: agentd::engine::RunStatus,
        events: &[Event],
    ) -> Result<bool, StoreError> {
        self.0.take_run(run, from, events).await
    }
    async fn enqueue_run(
        &self,
        run: &RunRecord,
        job: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        self.0.enqueue_run(run, job).await
    }
    async fn claim_queued_run(
        &self,
        run_id: Option<&str>,
    ) -> Result<Option<(RunRecord, serde_json::Value)>, StoreError> {
        self.0.claim_queued_run(run_id).await
    }
    async fn request_cancel(&self, run_id: &str) -> Result<bool, StoreError> {
        self.0.request_cancel(run_id).await
    }
    async fn cancel_requested(&self, run_id: &str) -> Result<bool, StoreError> {
        self.0.cancel_requested(run_id).await
    }
    async fn hit_rate_limit(
        &self,
        key: &str,
        limit: u32,
        window: std::time::Duration,
    ) -> Result<agentd::store::RateDecision, StoreError> {
        self.0.hit_rate_limit(key, limit, window).await
    }
}

#[tokio::test]
async fn ready_reflects_the_store() {
    let server = TestServer::start(&config_with("")).await;
    let r = server
        .client
        .get(server.url("/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"status": "ready"}));
    let down =
        TestServer::start_with_store(&config_with(""), Arc::new(DownStore(MemoryStore::new())))
            .await;
    let r = down.client.get(down.url("/ready")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("connection refused")
    );
    // Liveness does not depend on the store.
    let r = down.client.get(down.url("/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn metrics_cover_http_runs_models_and_tools() {
    let server = TestServer::start(&config_with("")).await;
    let r = server
        .client
        .post(server.url("/agents/assistant/runs"))
        .multipart(form(&[(
            "message",
            r#"/tool calculator {"expression": "2+3"}"#,
        )]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let stream = server
        .client
        .post(server.url("/agents/assistant/runs"))
        .multipart(form(&[("message", "hi"), ("stream", "true")]))
        .send()
        .await
        .unwrap();
    sse::read_all(stream).await;
    let text = crate::common::eventually("run metrics", || async {
        let r = server
            .client
            .get(server.url("/metrics"))
            .send()
            .await
            .ok()?;
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        let text = r.text().await.ok()?;
        text.contains("agentd_runs_total{origin=\"agentos\",outcome=\"completed\"}")
            .then_some(text)
    })
    .await;
    for needle in [
        "agentd_http_requests_total{route=\"/agents/{agent_id}/runs\",method=\"POST\",status=\"200\"}",
        "agentd_tool_calls_total{tool=\"calculator\",outcome=\"ok\"}",
        "agentd_model_request_duration_seconds",
        "agentd_model_tokens_total{provider=\"builtin\"",
        "agentd_active_runs",
        "agentd_active_streams",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
}

/// The real app served by `agentd::serve`, with a shutdown switch.
async fn start_stoppable(
    config_toml: &str,
) -> (
    String,
    Arc<Engine>,
    Arc<dyn agentd::store::Store>,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let config = Config::from_toml_str(config_toml, "test.toml".as_ref(), &|_| None).unwrap();
    let models = ModelRegistry::from_config(&config).unwrap();
    let store: Arc<dyn agentd::store::Store> = Arc::new(MemoryStore::new());
    let engine = Engine::new(
        Arc::new(config),
        models,
        ToolRegistry::builtin(),
        store.clone(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let state = AppState::new(engine.clone());
    let task = tokio::spawn(agentd::serve(listener, state, async {
        let _ = rx.await;
    }));
    (base, engine, store, tx, task)
}

#[tokio::test]
async fn shutdown_cancels_runs_after_the_grace_period_and_stores_them() {
    let (base, _engine, store, stop, served) = start_stoppable(&config_with(&format!(
        "{}\n[server]\nshutdown_grace_secs = 0\n",
        slow_agent(200)
    )))
    .await;
    let client = reqwest::Client::new();
    let resp = client
        .post(format!("{base}/agents/slow/runs"))
        .multipart(form(&[
            (
                "message",
                "a long answer that takes many tokens to stream out",
            ),
            ("stream", "true"),
        ]))
        .send()
        .await
        .unwrap();
    let mut stream = Box::pin(resp.bytes_stream());
    let mut body = String::new();
    use futures::StreamExt;
    while !body.contains("RunContent") {
        let chunk = stream.next().await.expect("stream open").unwrap();
        body.push_str(&String::from_utf8_lossy(&chunk));
    }
    stop.send(()).unwrap();
    // The client's stream ends with the cancellation, not a cut connection.
    while let Some(chunk) = stream.next().await {
        body.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
    }
    let frames = sse::parse(&body);
    let last = frames.last().unwrap();
    assert_eq!(last.data["event"], "RunCancelled", "{body}");
    served.await.unwrap().expect("serve returns cleanly");
    // Nothing was lost: the store holds the run as cancelled, with every event.
    let runs = store.list_runs(&RunFilter::default()).await.unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run.status.as_str(), "cancelled");
    let events = store.events(&run.run_id, 0).await.unwrap();
    assert_eq!(events.len() as u64, run.last_seq);
    assert!(matches!(
        events.last().unwrap().kind,
        agentd::engine::EventKind::Cancelled { .. }
    ));
    // And the port no longer accepts connections.
    assert!(client.get(format!("{base}/health")).send().await.is_err());
}

#[tokio::test]
async fn shutdown_lets_runs_finish_within_the_grace_period() {
    let (base, engine, store, stop, served) = start_stoppable(&config_with(&format!(
        "{}\n[server]\nshutdown_grace_secs = 60\n",
        slow_agent(20)
    )))
    .await;
    let client = reqwest::Client::new();
    let resp = client
        .post(format!("{base}/agents/slow/runs"))
        .multipart(form(&[("message", "finish me please"), ("stream", "true")]))
        .send()
        .await
        .unwrap();
    let reader = tokio::spawn(sse::read_all(resp));
    crate::common::eventually("the run to be live", || async {
        (engine.active_runs() == 1).then_some(())
    })
    .await;
    stop.send(()).unwrap();
    let frames = reader.await.unwrap();
    assert_eq!(frames.last().unwrap().data["event"], "RunCompleted");
    served.await.unwrap().unwrap();
    let runs = store.list_runs(&RunFilter::default()).await.unwrap();
    assert_eq!(runs[0].status.as_str(), "completed");
    assert_eq!(runs[0].content, "You said: finish me please");
}

/// The served document loads in a real validator (openapi-spec-validator,
/// see tests/clients/requirements.txt).
#[tokio::test]
async fn served_document_passes_an_openapi_validator() {
    let server = TestServer::start(&with_auth("")).await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/validate_openapi.py"
    );
    let out = tokio::process::Command::new("python3")
        .arg(script)
        .arg(server.url("/openapi.json"))
        .output()
        .await
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
