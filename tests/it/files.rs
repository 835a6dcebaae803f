//! Files and media through AgentOS multipart uploads, over real HTTP, with a
//! mock OpenAI upstream: what each file type turns into in the request the
//! model receives, how the run records the files, and every refusal (wrong
//! type, video, corrupt content, size limits) as a clear 400 or 413.

use crate::common::fixtures::{
    docx_with_paragraphs, mp4_header, pdf_with_text, png_1x1, wav_silence,
};
use crate::common::{MockLlm, TestServer, get_json, upstream_config};
use base64::Engine as _;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

fn file(bytes: Vec<u8>, name: &str, mime: Option<&str>) -> Part {
    let part = Part::bytes(bytes).file_name(name.to_string());
    match mime {
        Some(m) => part.mime_str(m).unwrap(),
        None => part,
    }
}

fn message(text: &str) -> Form {
    Form::new()
        .text("message", text.to_string())
        .text("stream", "false")
}

async fn start(extra: &str) -> (MockLlm, TestServer) {
    let mock = MockLlm::start().await;
    let server = TestServer::start(&upstream_config(&mock.base_url, extra)).await;
    (mock, server)
}

async fn post(server: &TestServer, form: Form) -> (u16, Value) {
    let resp = server
        .client
        .post(server.url("/agents/upstream/runs"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

/// The last user message of the last request the upstream received.
fn last_user_message(mock: &MockLlm) -> Value {
    let requests = mock.requests();
    let body = requests.last().expect("the upstream was called");
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .cloned()
        .expect("a user message")
}

/// All text of a message, whether its content is a string or parts.
fn text_of(message: &Value) -> String {
    match &message["content"] {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn files_of(out: &Value) -> Vec<Value> {
    out["input"]["files"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn each_document_type_reaches_the_model_as_text_with_its_name() {
    let (mock, server) = start("").await;
    let form = message("Summarize these")
        .part(
            "files",
            file(
                pdf_with_text("Quarterly revenue grew 42 percent"),
                "report.pdf",
                Some("application/pdf"),
            ),
        )
        .part(
            "files",
            file(
                docx_with_paragraphs(&["Meeting notes", "Ship on Friday & celebrate"]),
                "notes.docx",
                Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
            ),
        )
        .part(
            "files",
            file(
                b"fruit,qty\napple,3\npear,5\n".to_vec(),
                "stock.csv",
                Some("text/csv"),
            ),
        )
        .part(
            "files",
            file(b"plain words here".to_vec(), "readme.txt", None),
        )
        .part(
            "files",
            file(
                b"# Title\n\n- item".to_vec(),
                "doc.md",
                Some("text/markdown"),
            ),
        )
        .part(
            "files",
            file(
                br#"{"name":"agentd","tags":["a","b"]}"#.to_vec(),
                "data.json",
                Some("application/json"),
            ),
        );
    let (status, out) = post(&server, form).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["status"], "COMPLETED");

    let user = last_user_message(&mock);
    // Documents are text, not media parts: the content is a plain string.
    let text = user["content"].as_str().expect("documents become text");
    assert!(text.starts_with("Summarize these\n\n"), "{text}");
    for expected in [
        "<file name=\"report.pdf\" type=\"application/pdf\">",
        "Quarterly revenue grew 42 percent",
        "<file name=\"notes.docx\"",
        "Meeting notes\nShip on Friday & celebrate",
        "<file name=\"stock.csv\" type=\"text/csv\">\n| fruit | qty |\n|---|---|\n| apple | 3 |\n| pear | 5 |\n</file>",
        "<file name=\"readme.txt\" type=\"text/plain\">\nplain words here\n</file>",
        "<file name=\"doc.md\" type=\"text/markdown\">\n# Title\n\n- item\n</file>",
        "<file name=\"data.json\" type=\"application/json\">\n{\n  \"name\": \"agentd\",\n  \"tags\": [\n    \"a\",\n    \"b\"\n  ]\n}\n</file>",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }

    // The run output lists every file, with what was read from it.
    let files = files_of(&out);
    let names: Vec<&str> = files
        .iter()
        .map(|f| f["filename"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "report.pdf",
            "notes.docx",
            "stock.csv",
            "readme.txt",
            "doc.md",
            "data.json"
        ]
    );
    assert!(files.iter().all(|f| f["kind"] == "document"));
    assert_eq!(files[2]["mime_type"], "text/csv");
    assert_eq!(files[3]["extracted_chars"], 16);
    assert_eq!(files[3]["size"], 16);
    assert!(
        files
            .iter()
            .all(|f| f["extracted_chars"].as_u64() > Some(0))
    );
    // The user's own words stay the run's input text.
    assert_eq!(out["input"]["input_content"], "Summarize these");

    // Polling the stored run shows the same files.
    let polled: Value = get_json(
        &server.client,
        server.url(&format!(
            "/agents/upstream/runs/{}?session_id={}",
            out["run_id"].as_str().unwrap(),
            out["session_id"].as_str().unwrap()
        )),
    )
    .await;
    assert_eq!(files_of(&polled), files);
}

#[tokio::test]
async fn images_and_audio_are_media_parts() {
    let (mock, server) = start("").await;
    let png = png_1x1();
    let wav = wav_silence(800);
    let form = message("What is this?")
        .part("files", file(png.clone(), "dot.png", Some("image/png")))
        .part("files", file(wav.clone(), "hello.wav", Some("audio/wav")));
    let (status, out) = post(&server, form).await;
    assert_eq!(status, 200, "{out}");

    let user = last_user_message(&mock);
    let parts = user["content"]
        .as_array()
        .expect("media make a parts array");
    assert_eq!(parts.len(), 3, "{user}");
    assert_eq!(
        parts[0],
        serde_json::json!({"type": "text", "text": "What is this?"})
    );
    let b64 = base64::engine::general_purpose::STANDARD;
    assert_eq!(parts[1]["type"], "image_url");
    assert_eq!(
        parts[1]["image_url"]["url"],
        format!("data:image/png;base64,{}", b64.encode(&png))
    );
    assert_eq!(parts[2]["type"], "input_audio");
    assert_eq!(parts[2]["input_audio"]["format"], "wav");
    assert_eq!(parts[2]["input_audio"]["data"], b64.encode(&wav));

    let files = files_of(&out);
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["kind"], "image");
    assert_eq!(files[0]["size"], png.len());
    assert_eq!(files[1]["kind"], "audio");
    assert_eq!(files[1]["mime_type"], "audio/wav");
    assert!(files[0].get("extracted_chars").is_none());
}

#[tokio::test]
async fn the_type_comes_from_the_bytes_when_the_declared_type_lies() {
    let (mock, server) = start("").await;
    // A PDF sent as "scan.png", image/png: read as the PDF it is.
    let form = message("Read it").part(
        "files",
        file(
            pdf_with_text("Invoice number 7731"),
            "scan.png",
            Some("image/png"),
        ),
    );
    let (status, out) = post(&server, form).await;
    assert_eq!(status, 200, "{out}");
    let text = text_of(&last_user_message(&mock));
    assert!(
        text.contains("<file name=\"scan.png\" type=\"application/pdf\">"),
        "{text}"
    );
    assert!(text.contains("Invoice number 7731"), "{text}");
    let files = files_of(&out);
    assert_eq!(files[0]["mime_type"], "application/pdf");
    assert_eq!(files[0]["kind"], "document");

    // A PNG declared as text: sent as the image it is.
    let form = message("And this").part("files", file(png_1x1(), "notes.txt", Some("text/plain")));
    let (status, out) = post(&server, form).await;
    assert_eq!(status, 200, "{out}");
    let user = last_user_message(&mock);
    assert_eq!(user["content"][1]["type"], "image_url", "{user}");
    assert_eq!(files_of(&out)[0]["mime_type"], "image/png");

    // A ".png" that is no PNG at all: 400 naming the file.
    let before = mock.requests().len();
    let form = message("Look").part(
        "files",
        file(
            b"definitely not an image".to_vec(),
            "fake.png",
            Some("image/png"),
        ),
    );
    let (status, out) = post(&server, form).await;
    assert_eq!(status, 400, "{out}");
    assert_eq!(out["error_code"], "BAD_REQUEST");
    let detail = out["detail"].as_str().unwrap();
    assert!(detail.contains("'fake.png'"), "{detail}");
    assert!(detail.contains("declared as image/png"), "{detail}");
    assert_eq!(mock.requests().len(), before, "the model was not called");
}

#[tokio::test]
async fn video_is_refused_with_the_file_named() {
    let (mock, server) = start("").await;
    let form =
        message("Watch this").part("files", file(mp4_header(), "clip.mp4", Some("video/mp4")));
    let (status, out) = post(&server, form).await;
    assert_eq!(status, 400, "{out}");
    assert_eq!(out["error_code"], "BAD_REQUEST");
    let detail = out["detail"].as_str().unwrap();
    assert!(detail.contains("'clip.mp4'"), "{detail}");
    assert!(detail.contains("video input (video/mp4)"), "{detail}");
    assert!(mock.requests().is_empty(), "no run was started");

    // Audio the OpenAI backend cannot send (OGG) is refused the same way.
    let mut ogg = b"OggS\x00\x02".to_vec();
    ogg.resize(64, 0);
    let form = message("Listen").part("files", file(ogg, "voice.ogg", None));
    let (status, out) = post(&server, form).await;
    assert_eq!(status, 400, "{out}");
    let detail = out["detail"].as_str().unwrap();
    assert!(
        detail.contains("'voice.ogg'") && detail.contains("audio/ogg"),
        "{detail}"
    );
}

#[tokio::test]
async fn unsupported_media_can_be_passed_as_a_reference() {
    let (mock, server) = start("[files]\nunsupported = \"reference\"\n").await;
    let form =
        message("Watch this").part("files", file(mp4_header(), "clip.mp4", Some("video/mp4")));
    let (status, out) = post(&server, form).await;
    assert_eq!(status, 200, "{out}");
    let user = last_user_message(&mock);
    let text = user["content"]
        .as_str()
        .expect("no media part for the video");
    assert!(
        text.contains("<file name=\"clip.mp4\" type=\"video/mp4\">"),
        "{text}"
    );
    assert!(text.contains("cannot be given to you"), "{text}");
    let files = files_of(&out);
    assert_eq!(files[0]["kind"], "video");
    assert_eq!(files[0]["reference"], true);
}

#[tokio::test]
async fn corrupt_documents_are_a_400_not_a_500() {
    let (_mock, server) = start("").await;
    for (bytes, name, mime, why) in [
        (
            b"%PDF-1.7\nthis is not really a pdf".to_vec(),
            "broken.pdf",
            "application/pdf",
            "not a readable PDF",
        ),
        (
            b"PK\x03\x04word/broken".to_vec(),
            "broken.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "not a readable DOCX",
        ),
        (
            b"{\"unterminated\": ".to_vec(),
            "broken.json",
            "application/json",
            "not valid JSON",
        ),
        (
            vec![0xff, 0xfe, 0xfd, 0x80],
            "latin.txt",
            "text/plain",
            "not UTF-8 text",
        ),
    ] {
        let form = message("Read").part("files", file(bytes, name, Some(mime)));
        let (status, out) = post(&server, form).await;
        assert_eq!(status, 400, "{name}: {out}");
        let detail = out["detail"].as_str().unwrap();
        assert!(
            detail.contains(&format!("'{name}'")) && detail.contains(why),
            "{name}: {detail}"
        );
    }
}

#[tokio::test]
async fn size_limits_answer_413() {
    let (mock, server) = start("[files]\nmax_file_bytes = 1000\nmax_request_bytes = 1500\n").await;
    // One file over the per-file limit, refused while it streams in.
    let form = message("Big").part("files", file(vec![b'a'; 1001], "big.txt", None));
    let (status, out) = post(&server, form).await;
    assert_eq!(status, 413, "{out}");
    assert_eq!(out["error_code"], "PAYLOAD_TOO_LARGE");
    let detail = out["detail"].as_str().unwrap();
    assert!(
        detail.contains("'big.txt'") && detail.contains("1000 bytes per file"),
        "{detail}"
    );

    // Two files each within the limit, over the per-request total.
    let form = message("Two")
        .part("files", file(vec![b'a'; 800], "one.txt", None))
        .part("files", file(vec![b'b'; 800], "two.txt", None));
    let (status, out) = post(&server, form).await;
    assert_eq!(status, 413, "{out}");
    assert!(
        out["detail"]
            .as_str()
            .unwrap()
            .contains("1500 bytes per request"),
        "{out}"
    );

    // Base64 media in a form field (Agno's RemoteAgent) hits the engine's
    // own check: still a 413 naming the file.
    let big = base64::engine::general_purpose::STANDARD.encode(vec![b'x'; 1200]);
    let images =
        serde_json::json!([{"content": big, "mime_type": "text/plain", "filename": "inline.txt"}]);
    let form = message("Inline").text("input_files", images.to_string());
    let (status, out) = post(&server, form).await;
    assert_eq!(status, 413, "{out}");
    assert!(
        out["detail"].as_str().unwrap().contains("'inline.txt'"),
        "{out}"
    );
    assert!(mock.requests().is_empty());

    // Within the limits everything works.
    let form = message("Small").part("files", file(vec![b'a'; 1000], "ok.txt", None));
    let (status, out) = post(&server, form).await;
    assert_eq!(status, 200, "{out}");
}

#[tokio::test]
async fn long_documents_are_cut_and_marked() {
    let (mock, server) = start("[files]\ncsv_max_rows = 2\nmax_document_chars = 50\n").await;
    let csv = "n,sq\n1,1\n2,4\n3,9\n4,16\n";
    let long = "word ".repeat(40);
    let form = message("Data")
        .part("files", file(csv.as_bytes().to_vec(), "squares.csv", None))
        .part("files", file(long.into_bytes(), "long.txt", None));
    let (status, out) = post(&server, form).await;
    assert_eq!(status, 200, "{out}");
    let text = text_of(&last_user_message(&mock));
    assert!(
        text.contains("| 2 | 4 |\n[Showing the first 2 of 4 data rows.]"),
        "{text}"
    );
    assert!(!text.contains("| 3 | 9 |"), "{text}");
    assert!(
        text.contains("[The text was cut after its first 50 characters.]"),
        "{text}"
    );
    let files = files_of(&out);
    assert_eq!(files[0]["truncated"], true);
    assert_eq!(files[1]["truncated"], true);
    assert_eq!(files[1]["extracted_chars"], 50);
}

/// The engine path every other protocol uses: attachments built by an
/// adapter (base64 data URIs, URLs, a client-held transcript).
#[tokio::test]
async fn adapters_attachments_are_prepared_by_the_engine() {
    use agentd::engine::{Attachment, EngineError, MediaKind, Message, RunRequest};
    // Image URLs handed to the model as they are (see url_inputs.rs for
    // the default, which refuses them, and for fetching).
    let (mock, server) = start("[files.urls]\nmode = \"pass\"\n").await;
    let b64 = base64::engine::general_purpose::STANDARD;
    let attachment =
        |kind, mime: &str, name: &str, data: Option<String>, url: Option<&str>| Attachment {
            kind,
            mime_type: mime.to_string(),
            name: Some(name.to_string()),
            data,
            url: url.map(str::to_string),
        };
    let mut earlier = Message::user("Here is the table");
    earlier.attachments = vec![attachment(
        MediaKind::Document,
        "text/csv",
        "prices.csv",
        Some(b64.encode("item,price\ntea,3\n")),
        None,
    )];
    let mut input = Message::user("Compare with this picture");
    input.attachments = vec![
        // A data URI, as Codegen clients send images; declared type wrong.
        attachment(
            MediaKind::Image,
            "image/jpeg",
            "shot",
            Some(format!("data:image/jpeg;base64,{}", b64.encode(png_1x1()))),
            None,
        ),
        attachment(
            MediaKind::Image,
            "",
            "remote",
            None,
            Some("https://example.com/cat.png"),
        ),
    ];
    let handle = server
        .engine
        .start(
            &agentd::engine::Principal::open(),
            RunRequest {
                agent_id: "upstream".into(),
                input: vec![input],
                history: Some(vec![earlier]),
                origin: "test".into(),
                ..Default::default()
            },
        )
        .await
        .expect("the run starts");
    let record = handle.finish(false).await;
    assert_eq!(record.status.as_str(), "completed", "{:?}", record.error);

    let body = mock.requests().pop().unwrap();
    let messages = body["messages"].as_array().unwrap();
    let history_text = text_of(&messages[0]);
    assert!(
        history_text.contains("| item | price |\n|---|---|\n| tea | 3 |"),
        "{history_text}"
    );
    let parts = messages.last().unwrap()["content"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        parts[1]["image_url"]["url"],
        format!("data:image/png;base64,{}", b64.encode(png_1x1()))
    );
    assert_eq!(parts[2]["image_url"]["url"], "https://example.com/cat.png");
    let kinds: Vec<(&str, &str)> = record
        .files
        .iter()
        .map(|f| (f.name.as_str(), f.mime_type.as_str()))
        .collect();
    assert_eq!(kinds, [("shot", "image/png"), ("remote", "image/png")]);

    // A document by URL cannot be passed on: a typed error naming it.
    let mut input = Message::user("Read this");
    input.attachments = vec![attachment(
        MediaKind::Document,
        "application/pdf",
        "paper.pdf",
        None,
        Some("https://example.com/paper.pdf"),
    )];
    let err = server
        .engine
        .start(
            &agentd::engine::Principal::open(),
            RunRequest {
                agent_id: "upstream".into(),
                input: vec![input],
                ..Default::default()
            },
        )
        .await
        .err()
        .expect("refused");
    match err {
        EngineError::UnsupportedMedia { file, reason } => {
            assert_eq!(file, "paper.pdf");
            assert!(reason.contains("passes only image URLs"), "{reason}");
        }
        other => panic!("unexpected error {other}"),
    }
}
