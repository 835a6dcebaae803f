//! Files given by URL (ACP `content_url`, AG-UI image and binary URLs,
//! AgentOS media fields with a `url`), over real HTTP, with a loopback file
//! server to fetch from and a mock upstream model: refused while URL inputs
//! are off (the default), fetched once by the engine when allowed, and every
//! way a fetch can go wrong answered with a clear 400 or 413 naming the file.

use crate::common::file_server::{FileServer, Served};
use crate::common::fixtures::{pdf_with_text, png_1x1};
use crate::common::{MockLlm, TestServer, sse, upstream_config};
use base64::Engine as _;
use serde_json::{Value, json};

async fn start(files: &str) -> (MockLlm, TestServer) {
    let mock = MockLlm::start().await;
    let server = TestServer::start(&upstream_config(&mock.base_url, files)).await;
    (mock, server)
}

/// `[files.urls]` fetching from the loopback file server only.
fn fetching(extra: &str) -> String {
    format!(
        "[files.urls]\nmode = \"fetch\"\nallowed_hosts = [\"127.0.0.1\"]\n\
         allow_private_addresses = true\n{extra}"
    )
}

fn acp_run(parts: Value) -> Value {
    json!({"agent_name": "upstream", "mode": "sync",
           "input": [{"role": "user", "parts": parts}]})
}

fn agui_run(run_id: &str, content: Value) -> Value {
    json!({"threadId": format!("t-{run_id}"), "runId": run_id,
           "messages": [{"id": "m1", "role": "user", "content": content}],
           "tools": [], "context": [], "state": {}, "forwardedProps": {}})
}

async fn post_json(server: &TestServer, path: &str, body: &Value) -> (u16, reqwest::Response) {
    let resp = server
        .client
        .post(server.url(path))
        .json(body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp)
}

/// An ACP run with these parts, refused with a 400: its message.
async fn acp_refusal(server: &TestServer, parts: Value) -> String {
    let (status, resp) = post_json(server, "/acp/runs", &acp_run(parts)).await;
    assert_eq!(status, 400);
    let body: Value = resp.json().await.unwrap();
    body["message"].as_str().unwrap().to_string()
}

/// The last user message of the last request the upstream received.
fn last_user_message(mock: &MockLlm) -> Value {
    let body = mock.requests().pop().expect("the upstream was called");
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .cloned()
        .expect("a user message")
}

#[tokio::test]
async fn url_inputs_are_refused_by_default_in_each_protocols_shape() {
    let files = FileServer::start(vec![("/cat.png", Served::File("image/png", png_1x1()))]).await;
    let (mock, server) = start("").await;
    let url = files.url("/cat.png?token=secret");

    // ACP: content_url.
    let (status, resp) = post_json(
        &server,
        "/acp/runs",
        &acp_run(json!([
            {"content": "look", "content_type": "text/plain"},
            {"name": "cat.png", "content_type": "image/png", "content_url": url}
        ])),
    )
    .await;
    assert_eq!(status, 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "invalid_input", "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("'cat.png'"), "{message}");
    assert!(message.contains("URL inputs are disabled"), "{message}");
    assert!(
        !message.contains("secret"),
        "the query is not echoed: {message}"
    );

    // AG-UI: an image part with a URL source, and a legacy binary part.
    for content in [
        json!([{"type": "text", "text": "look"},
               {"type": "image", "source": {"type": "url", "value": url}}]),
        json!([{"type": "text", "text": "look"},
               {"type": "binary", "mimeType": "image/png", "url": url}]),
    ] {
        let (status, resp) =
            post_json(&server, "/agui/upstream", &agui_run("r-off", content)).await;
        assert_eq!(status, 400);
        let body: Value = resp.json().await.unwrap();
        let detail = body["detail"].as_str().unwrap();
        assert!(
            detail.contains("'cat.png'") && detail.contains("URL inputs are disabled"),
            "{detail}"
        );
    }

    // AgentOS: a media field with a URL (as Agno's RemoteAgent sends it).
    let images = json!([{"url": url}]).to_string();
    let resp = server
        .client
        .post(server.url("/agents/upstream/runs"))
        .form(&[("message", "look"), ("images", images.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error_code"], "BAD_REQUEST");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("URL inputs are disabled"),
        "{body}"
    );

    assert!(files.hits().is_empty(), "nothing was fetched");
    assert!(mock.requests().is_empty(), "no run started");
}

#[tokio::test]
async fn allowed_urls_are_fetched_once_and_read_like_uploads() {
    let png = png_1x1();
    let files = FileServer::start(vec![
        ("/img/dot", Served::File("image/png", png.clone())),
        (
            "/docs/report.pdf",
            Served::Chunked(
                "application/pdf",
                pdf_with_text("Fetched revenue is 99 units"),
            ),
        ),
        (
            "/old/report.pdf",
            Served::Redirect("/docs/report.pdf".into()),
        ),
    ])
    .await;
    let (mock, server) = start(&fetching("")).await;
    let b64 = base64::engine::general_purpose::STANDARD;

    // AG-UI image by URL: the model gets the image itself, as data.
    let (status, resp) = post_json(
        &server,
        "/agui/upstream",
        &agui_run(
            "r-img",
            json!([{"type": "text", "text": "what is it"},
                   {"type": "image", "source": {"type": "url", "value": files.url("/img/dot")},
                    "metadata": {"filename": "dot.png"}}]),
        ),
    )
    .await;
    assert_eq!(status, 200);
    let frames = sse::read_all(resp).await;
    assert_eq!(frames.last().unwrap().data["type"], "RUN_FINISHED");
    let user = last_user_message(&mock);
    assert_eq!(
        user["content"],
        json!([
            {"type": "text", "text": "what is it"},
            {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{}", b64.encode(&png))}}
        ])
    );
    let record = server
        .engine
        .get_run(&agentd::engine::Principal::open(), "r-img")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.files.len(), 1);
    let file = &record.files[0];
    assert_eq!(
        (file.name.as_str(), file.mime_type.as_str(), file.bytes),
        ("dot.png", "image/png", png.len() as u64)
    );
    assert_eq!(file.url.as_deref(), Some(files.url("/img/dot").as_str()));
    assert_eq!(files.hits(), ["/img/dot"], "fetched exactly once");

    // ACP content_url of a PDF, through a redirect, streamed without a
    // length: its text reaches the model with the file name.
    let (status, resp) = post_json(
        &server,
        "/acp/runs",
        &acp_run(json!([
            {"content": "summarize", "content_type": "text/plain"},
            {"content_type": "application/pdf", "content_url": files.url("/old/report.pdf")}
        ])),
    )
    .await;
    let run: Value = resp.json().await.unwrap();
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["status"], "completed", "{run}");
    let text = last_user_message(&mock)["content"]
        .as_str()
        .expect("documents are text")
        .to_string();
    assert!(text.starts_with("summarize\n\n"), "{text}");
    assert!(
        text.contains("<file name=\"report.pdf\" type=\"application/pdf\">"),
        "{text}"
    );
    assert!(text.contains("Fetched revenue is 99 units"), "{text}");
    assert_eq!(
        files.hits(),
        ["/img/dot", "/old/report.pdf", "/docs/report.pdf"]
    );
}

#[tokio::test]
async fn failed_fetches_are_clear_client_errors_naming_the_file() {
    let files = FileServer::start(vec![
        ("/gone.png", Served::Status(404)),
        ("/slow.png", Served::Stall),
        ("/big.txt", Served::File("text/plain", vec![b'a'; 5000])),
        (
            "/big-chunked.txt",
            Served::Chunked("text/plain", vec![b'a'; 5000]),
        ),
        (
            "/liar.png",
            Served::File("image/png", b"not an image at all".to_vec()),
        ),
        ("/loop.txt", Served::Redirect("/loop.txt".into())),
    ])
    .await;
    let (mock, server) = start(&fetching(
        "timeout_secs = 1\nmax_redirects = 2\n[files]\nmax_file_bytes = 4096\n",
    ))
    .await;
    // Another host name for the same loopback server: not on the allow-list,
    // neither asked for directly nor reached by a redirect.
    let elsewhere = format!("http://localhost:{}/big.txt", files.port());
    let away = FileServer::start(vec![("/away.txt", Served::Redirect(elsewhere.clone()))]).await;

    let cases: Vec<(String, &str, u16, &str)> = vec![
        (files.url("/gone.png"), "gone.png", 400, "answered HTTP 404"),
        (
            files.url("/slow.png"),
            "slow.png",
            400,
            "took longer than 1 s",
        ),
        (
            files.url("/big.txt"),
            "big.txt",
            413,
            "over the limit of 4096 bytes per file",
        ),
        (
            files.url("/big-chunked.txt"),
            "big-chunked.txt",
            413,
            "over the limit of 4096 bytes per file",
        ),
        (
            files.url("/liar.png"),
            "liar.png",
            400,
            "declared as image/png, but its content does not match",
        ),
        (
            files.url("/loop.txt"),
            "loop.txt",
            400,
            "redirected more than 2 times",
        ),
        (
            elsewhere.clone(),
            "big.txt",
            400,
            "host 'localhost' is not one this server fetches from",
        ),
        (
            away.url("/away.txt"),
            "away.txt",
            400,
            "host 'localhost' is not one",
        ),
    ];
    for (url, name, status, why) in cases {
        // Through ACP...
        let (got, resp) = post_json(
            &server,
            "/acp/runs",
            &acp_run(json!([
                {"content": "read", "content_type": "text/plain"},
                {"content_type": "application/octet-stream", "content_url": url}
            ])),
        )
        .await;
        let body: Value = resp.json().await.unwrap();
        assert_eq!(got, status, "{url}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("'{name}'")) && message.contains(why),
            "{url}: {message}"
        );
        // ...and AG-UI: the same engine path, the protocol's own shape.
        let (got, resp) = post_json(
            &server,
            "/agui/upstream",
            &agui_run(
                "r-bad",
                json!([{"type": "text", "text": "read"},
                       {"type": "binary", "mimeType": "application/octet-stream", "url": url}]),
            ),
        )
        .await;
        let body: Value = resp.json().await.unwrap();
        assert_eq!(got, status, "{url}: {body}");
        assert!(body["detail"].as_str().unwrap().contains(why), "{body}");
    }
    // ACP checks the scheme itself (422); AG-UI leaves it to the engine.
    let (got, resp) = post_json(
        &server,
        "/agui/upstream",
        &agui_run(
            "r-ftp",
            json!([{"type": "binary", "mimeType": "text/plain", "url": "ftp://127.0.0.1/x.txt"}]),
        ),
    )
    .await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(got, 400, "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("'x.txt'") && detail.contains("must be http or https"),
        "{detail}"
    );
    assert!(mock.requests().is_empty(), "no run reached the model");
}

#[tokio::test]
async fn private_addresses_and_unlisted_hosts_are_not_fetched() {
    let files =
        FileServer::start(vec![("/a.txt", Served::File("text/plain", b"hi".to_vec()))]).await;
    // Fetching on, but private addresses not allowed (the default).
    let (_mock, server) = start("[files.urls]\nmode = \"fetch\"\n").await;
    let message = acp_refusal(
        &server,
        json!([{"content_type": "text/plain", "content_url": files.url("/a.txt")}]),
    )
    .await;
    assert!(
        message.contains("is a private or local address"),
        "{message}"
    );
    assert!(files.hits().is_empty(), "never connected");

    // An allow-list without the host refuses it before any lookup.
    let (_mock, server) =
        start("[files.urls]\nmode = \"fetch\"\nallowed_hosts = [\"*.example.com\"]\nallow_private_addresses = true\n").await;
    let message = acp_refusal(
        &server,
        json!([{"content_type": "text/plain", "content_url": files.url("/a.txt")}]),
    )
    .await;
    assert!(
        message.contains("host '127.0.0.1' is not one this server fetches from"),
        "{message}"
    );
    assert!(files.hits().is_empty());
}

#[tokio::test]
async fn pass_mode_hands_image_urls_to_the_model_unfetched() {
    let files = FileServer::start(vec![("/cat.png", Served::File("image/png", png_1x1()))]).await;
    let (mock, server) = start("[files.urls]\nmode = \"pass\"\n").await;
    let url = files.url("/cat.png");
    let (status, resp) = post_json(
        &server,
        "/agui/upstream",
        &agui_run(
            "r-pass",
            json!([{"type": "text", "text": "see"},
                   {"type": "image", "source": {"type": "url", "value": url}}]),
        ),
    )
    .await;
    assert_eq!(status, 200);
    sse::read_all(resp).await;
    let user = last_user_message(&mock);
    assert_eq!(user["content"][1]["image_url"]["url"], url.as_str());
    assert!(
        files.hits().is_empty(),
        "the provider fetches it, not agentd"
    );

    // A document by URL cannot be passed on: refused, naming it.
    let message = acp_refusal(
        &server,
        json!([{"name": "doc.pdf", "content_type": "application/pdf",
                "content_url": files.url("/doc.pdf")}]),
    )
    .await;
    assert!(
        message.contains("'doc.pdf'") && message.contains("passes only image URLs"),
        "{message}"
    );
}

/// A request naming many large URLs is refused at the byte that crosses the
/// request's total, not after every file was downloaded; and a request
/// naming more URLs than the server fetches is refused before any is.
#[tokio::test]
async fn url_downloads_count_against_the_request_total_as_they_stream() {
    let names = ["/a.txt", "/b.txt", "/c.txt", "/d.txt", "/e.txt"];
    let files = FileServer::start(
        names
            .iter()
            .map(|n| (*n, Served::Chunked("text/plain", vec![b'x'; 3000])))
            .collect(),
    )
    .await;
    let (mock, server) = start(&fetching(
        "max_per_request = 5\n[files]\nmax_file_bytes = 4096\nmax_request_bytes = 10000\n",
    ))
    .await;
    let parts = |names: &[&str]| {
        let mut parts = vec![json!({"content": "read", "content_type": "text/plain"})];
        parts.extend(
            names
                .iter()
                .map(|n| json!({"content_type": "text/plain", "content_url": files.url(n)})),
        );
        Value::Array(parts)
    };

    let (status, resp) = post_json(&server, "/acp/runs", &acp_run(parts(&names))).await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 413, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("over the limit of 10000 bytes per request"),
        "{message}"
    );
    // Three files fit (9,000 bytes); the fourth crosses the total while it
    // streams; the fifth is never asked for.
    assert_eq!(files.hits(), ["/a.txt", "/b.txt", "/c.txt", "/d.txt"]);

    // Inline content counts first: 8,000 bytes sent leave room for no
    // 3,000-byte download.
    let inline = base64::engine::general_purpose::STANDARD.encode(vec![b'y'; 8000]);
    let (status, resp) = post_json(
        &server,
        "/acp/runs",
        &acp_run(json!([
            {"content": inline, "content_type": "text/plain", "content_encoding": "base64", "name": "local.txt"},
            {"content_type": "text/plain", "content_url": files.url("/e.txt")}
        ])),
    )
    .await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 413, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("per request"),
        "{body}"
    );

    // Six URLs where five are allowed: refused before any fetch (ACP's
    // answer to input it will not take, 422 invalid_input).
    let before = files.hits().len();
    let six = ["/a.txt", "/b.txt", "/c.txt", "/d.txt", "/e.txt", "/a.txt"];
    let (status, resp) = post_json(&server, "/acp/runs", &acp_run(parts(&six))).await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 422, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("6 files are given by URL; this server fetches at most 5 per request"),
        "{body}"
    );
    assert_eq!(files.hits().len(), before, "nothing fetched");
    assert!(mock.requests().is_empty(), "no run reached the model");
}

/// IPv4 addresses inside IPv6 ones (mapped, translated, compatible, 6to4,
/// NAT64) are checked like the IPv4 address they carry: loopback stays
/// out of reach whichever way it is written.
#[tokio::test]
async fn loopback_written_as_ipv6_is_still_private() {
    let (_mock, server) = start("[files.urls]\nmode = \"fetch\"\n").await;
    for host in [
        "[::127.0.0.1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:0:127.0.0.1]",
        "[2002:7f00:1::1]",
        "[64:ff9b::7f00:1]",
    ] {
        let url = format!("http://{host}:9/a.txt");
        let message = acp_refusal(
            &server,
            json!([{"content_type": "text/plain", "content_url": url}]),
        )
        .await;
        assert!(
            message.contains("is a private or local address"),
            "{host}: {message}"
        );
    }
}
