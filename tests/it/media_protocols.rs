//! Every listed file type through every protocol's own intake, over real
//! HTTP, against a mock OpenAI upstream: AG-UI binary parts and media parts
//! (data, and URL), ACP binary message parts (base64, and content_url),
//! Codegen `images` (base64 data URIs, which its spec limits to images),
//! with AgentOS multipart as the reference (tests/it/files.rs covers it in
//! depth). Each file reaches the model as exactly the parts expected, the
//! same whichever protocol brought it, or is refused with the protocol's
//! error naming the file.

use crate::common::file_server::{FileServer, Served};
use crate::common::fixtures::{
    docx_with_paragraphs, mp4_header, pdf_with_text, png_1x1, wav_silence,
};
use crate::common::{MockLlm, TestServer, eventually, sse, upstream_config};
use base64::Engine as _;
use serde_json::{Value, json};

const PROMPT: &str = "Describe the file";
const CODEGEN_KEY: &str = "media-key";
const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

/// What the model must receive for a file.
enum Expect {
    /// An `image_url` part with the file as a data URI.
    Image,
    /// An `input_audio` part in this format.
    Audio(&'static str),
    /// The message text: the prompt, then exactly this file block.
    Block(String),
    /// A file block starting with this tag and holding this text (PDF text
    /// extraction decides the exact spacing).
    BlockHolding(&'static str, &'static str),
    /// Refused with a 400 whose message says this.
    Refused(&'static str),
}

struct Case {
    name: &'static str,
    mime: &'static str,
    bytes: Vec<u8>,
    expect: Expect,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "dot.png",
            mime: "image/png",
            bytes: png_1x1(),
            expect: Expect::Image,
        },
        Case {
            name: "hello.wav",
            mime: "audio/wav",
            bytes: wav_silence(400),
            expect: Expect::Audio("wav"),
        },
        Case {
            name: "report.pdf",
            mime: "application/pdf",
            bytes: pdf_with_text("Quarterly revenue grew 42 percent"),
            expect: Expect::BlockHolding(
                "<file name=\"report.pdf\" type=\"application/pdf\">\n",
                "Quarterly revenue grew 42 percent",
            ),
        },
        Case {
            name: "notes.docx",
            mime: DOCX,
            bytes: docx_with_paragraphs(&["Meeting notes", "Ship on Friday & celebrate"]),
            expect: Expect::Block(format!(
                "<file name=\"notes.docx\" type=\"{DOCX}\">\nMeeting notes\nShip on Friday & celebrate\n</file>"
            )),
        },
        Case {
            name: "stock.csv",
            mime: "text/csv",
            bytes: b"fruit,qty\napple,3\npear,5\n".to_vec(),
            expect: Expect::Block(
                "<file name=\"stock.csv\" type=\"text/csv\">\n| fruit | qty |\n|---|---|\n| apple | 3 |\n| pear | 5 |\n</file>".into(),
            ),
        },
        Case {
            name: "readme.txt",
            mime: "text/plain",
            bytes: b"plain words here".to_vec(),
            expect: Expect::Block(
                "<file name=\"readme.txt\" type=\"text/plain\">\nplain words here\n</file>".into(),
            ),
        },
        Case {
            name: "data.json",
            mime: "application/json",
            bytes: br#"{"name":"agentd","tags":["a"]}"#.to_vec(),
            expect: Expect::Block(
                "<file name=\"data.json\" type=\"application/json\">\n{\n  \"name\": \"agentd\",\n  \"tags\": [\n    \"a\"\n  ]\n}\n</file>".into(),
            ),
        },
        Case {
            name: "clip.mp4",
            mime: "video/mp4",
            bytes: mp4_header(),
            expect: Expect::Refused("does not take video input (video/mp4)"),
        },
    ]
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The AG-UI 1.0 media part type for a MIME type.
fn agui_kind(mime: &str) -> &'static str {
    match mime.split('/').next() {
        Some("image") => "image",
        Some("audio") => "audio",
        Some("video") => "video",
        _ => "document",
    }
}

/// How a file is sent.
#[derive(Debug, Clone, Copy)]
enum Intake {
    AgentOsMultipart,
    AguiBinaryData,
    AguiMediaData,
    AguiBinaryUrl,
    AguiMediaUrl,
    AcpBase64,
    AcpContentUrl,
    CodegenImages,
}

const INTAKES: [Intake; 8] = [
    Intake::AgentOsMultipart,
    Intake::AguiBinaryData,
    Intake::AguiMediaData,
    Intake::AguiBinaryUrl,
    Intake::AguiMediaUrl,
    Intake::AcpBase64,
    Intake::AcpContentUrl,
    Intake::CodegenImages,
];

/// What a protocol answered: the run finished, or an error (status, message).
enum Outcome {
    Done,
    Refused(u16, String),
}

struct World {
    mock: MockLlm,
    server: TestServer,
    files: FileServer,
    runs: usize,
}

/// The liar and the oversized file of the error test.
fn bad_cases() -> Vec<Case> {
    vec![
        Case {
            name: "fake.png",
            mime: "image/png",
            bytes: b"this is not a png".to_vec(),
            expect: Expect::Refused("declared as image/png, but its content does not match"),
        },
        Case {
            name: "big.png",
            mime: "image/png",
            bytes: vec![b'a'; 3000],
            expect: Expect::Refused("over the limit of 2048 bytes per file"),
        },
    ]
}

/// The server (with `files` TOML added), its mock upstream, and a file
/// server holding every case at `/f/{name}`.
async fn world(files: &str) -> World {
    let served = cases()
        .into_iter()
        .chain(bad_cases())
        .map(|c| {
            let path: &'static str = format!("/f/{}", c.name).leak();
            (path, Served::File(c.mime, c.bytes))
        })
        .collect();
    let files_server = FileServer::start(served).await;
    let mock = MockLlm::start().await;
    let extra = format!(
        r#"
{files}
[files.urls]
mode = "fetch"
allowed_hosts = ["127.0.0.1"]
allow_private_addresses = true

[codegen.agent_types]
codegen = "upstream"
[codegen.rate_limit]
creates = 1000
[[codegen.users]]
id = 1
api_keys = ["{CODEGEN_KEY}"]
organizations = [1]
[[codegen.organizations]]
id = 1
name = "media"
"#
    );
    let server = TestServer::start(&upstream_config(&mock.base_url, &extra)).await;
    World {
        mock,
        server,
        files: files_server,
        runs: 0,
    }
}

impl World {
    async fn send(&mut self, intake: Intake, case: &Case) -> Outcome {
        self.runs += 1;
        let run_id = format!("run-{}", self.runs);
        let data = b64(&case.bytes);
        let url = self.files.url(&format!("/f/{}", case.name));
        let agui_text = json!({"type": "text", "text": PROMPT});
        let agui = |part: Value| {
            json!({"threadId": format!("t-{run_id}"), "runId": run_id,
                   "messages": [{"id": "m1", "role": "user", "content": [agui_text.clone(), part]}],
                   "tools": [], "context": [], "state": {}, "forwardedProps": {}})
        };
        let acp = |part: Value| {
            json!({"agent_name": "upstream", "mode": "sync", "input": [{"role": "user", "parts": [
                {"content": PROMPT, "content_type": "text/plain"}, part]}]})
        };
        let s = &self.server;
        match intake {
            Intake::AgentOsMultipart => {
                let part = reqwest::multipart::Part::bytes(case.bytes.clone())
                    .file_name(case.name)
                    .mime_str(case.mime)
                    .unwrap();
                let form = reqwest::multipart::Form::new()
                    .text("message", PROMPT)
                    .part("files", part);
                let resp = s
                    .client
                    .post(s.url("/agents/upstream/runs"))
                    .multipart(form)
                    .send()
                    .await
                    .unwrap();
                json_outcome(resp, "detail").await
            }
            Intake::AguiBinaryData => {
                let body = agui(json!({"type": "binary", "mimeType": case.mime,
                                       "data": data, "filename": case.name}));
                agui_outcome(s, &body).await
            }
            Intake::AguiMediaData => {
                let body = agui(json!({"type": agui_kind(case.mime),
                    "source": {"type": "data", "value": data, "mimeType": case.mime},
                    "metadata": {"filename": case.name}}));
                agui_outcome(s, &body).await
            }
            Intake::AguiBinaryUrl => {
                let body = agui(json!({"type": "binary", "mimeType": case.mime,
                                       "url": url, "filename": case.name}));
                agui_outcome(s, &body).await
            }
            Intake::AguiMediaUrl => {
                let body = agui(json!({"type": agui_kind(case.mime),
                    "source": {"type": "url", "value": url, "mimeType": case.mime}}));
                agui_outcome(s, &body).await
            }
            Intake::AcpBase64 => {
                let body = acp(json!({"name": case.name, "content_type": case.mime,
                                      "content": data, "content_encoding": "base64"}));
                acp_outcome(s, &body).await
            }
            Intake::AcpContentUrl => {
                let body = acp(json!({"content_type": case.mime, "content_url": url}));
                acp_outcome(s, &body).await
            }
            Intake::CodegenImages => {
                let body = json!({"prompt": PROMPT,
                                  "images": [format!("data:{};base64,{data}", case.mime)]});
                codegen_outcome(s, &body).await
            }
        }
    }

    /// The user message of the upstream's latest request.
    fn last_user_content(&self) -> Value {
        let body = self.mock.requests().pop().expect("the upstream was called");
        body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|m| m["role"] == "user")
            .map(|m| m["content"].clone())
            .expect("a user message")
    }
}

async fn json_outcome(resp: reqwest::Response, message_key: &str) -> Outcome {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    if status == 200 {
        return Outcome::Done;
    }
    let message = body[message_key]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| body.to_string());
    Outcome::Refused(status, message)
}

async fn agui_outcome(s: &TestServer, body: &Value) -> Outcome {
    let resp = s
        .client
        .post(s.url("/agui/upstream"))
        .json(body)
        .send()
        .await
        .unwrap();
    if resp.status() != 200 {
        return json_outcome(resp, "detail").await;
    }
    let frames = sse::read_all(resp).await;
    let last = &frames.last().expect("frames").data;
    assert_eq!(last["type"], "RUN_FINISHED", "{last}");
    Outcome::Done
}

async fn acp_outcome(s: &TestServer, body: &Value) -> Outcome {
    let resp = s
        .client
        .post(s.url("/acp/runs"))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    if status == 200 {
        assert_eq!(body["status"], "completed", "{body}");
        return Outcome::Done;
    }
    assert!(body["code"].is_string(), "an ACP error: {body}");
    Outcome::Refused(status, body["message"].as_str().unwrap().to_string())
}

async fn codegen_outcome(s: &TestServer, body: &Value) -> Outcome {
    let resp = s
        .client
        .post(s.url("/v1/organizations/1/agent/run"))
        .bearer_auth(CODEGEN_KEY)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let run: Value = resp.json().await.unwrap();
    if status != 200 {
        // Validation errors list their issues; the others carry a message.
        let message = match run["detail"].as_array() {
            Some(issues) => issues
                .iter()
                .map(|i| i["msg"].as_str().unwrap_or_default())
                .collect::<Vec<_>>()
                .join("; "),
            None => run["message"].as_str().unwrap_or_default().to_string(),
        };
        return Outcome::Refused(status, message);
    }
    let path = format!("/v1/organizations/1/agent/run/{}", run["id"]);
    let done: Value = eventually("the Codegen run to finish", || async {
        let r: Value = s
            .client
            .get(s.url(&path))
            .bearer_auth(CODEGEN_KEY)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        ["COMPLETE", "FAILED", "CANCELLED"]
            .contains(&r["status"].as_str().unwrap_or_default())
            .then_some(r)
    })
    .await;
    assert_eq!(done["status"], "COMPLETE", "{done}");
    Outcome::Done
}

/// Checks what the model received for `case` against its expectation.
fn check_received(case: &Case, intake: Intake, content: &Value) {
    let at = format!("{} via {intake:?}", case.name);
    let text_part = json!({"type": "text", "text": PROMPT});
    match &case.expect {
        Expect::Image => assert_eq!(
            content,
            &json!([text_part, {"type": "image_url", "image_url": {
                "url": format!("data:{};base64,{}", case.mime, b64(&case.bytes))}}]),
            "{at}"
        ),
        Expect::Audio(format) => assert_eq!(
            content,
            &json!([text_part, {"type": "input_audio", "input_audio": {
                "data": b64(&case.bytes), "format": format}}]),
            "{at}"
        ),
        Expect::Block(block) => {
            assert_eq!(content, &json!(format!("{PROMPT}\n\n{block}")), "{at}")
        }
        Expect::BlockHolding(tag, text) => {
            let got = content
                .as_str()
                .unwrap_or_else(|| panic!("{at}: {content}"));
            let block = got
                .strip_prefix(&format!("{PROMPT}\n\n"))
                .unwrap_or_else(|| panic!("{at}: {got}"));
            assert!(block.starts_with(tag), "{at}: {got}");
            assert!(block.contains(text), "{at}: {got}");
            assert!(block.ends_with("</file>"), "{at}: {got}");
        }
        Expect::Refused(_) => panic!("{at}: should have been refused, the model got {content}"),
    }
}

#[tokio::test]
async fn every_file_type_through_every_protocols_intake() {
    let mut w = world("").await;
    for case in cases() {
        // What AgentOS delivers is the reference the others must match.
        let mut reference: Option<Value> = None;
        for intake in INTAKES {
            let before = w.mock.requests().len();
            let outcome = w.send(intake, &case).await;
            let at = format!("{} via {intake:?}", case.name);
            // Codegen's `images` take image data URIs only (its spec).
            let codegen_refuses =
                matches!(intake, Intake::CodegenImages) && !case.mime.starts_with("image/");
            match (outcome, &case.expect) {
                (Outcome::Refused(status, message), _) if codegen_refuses => {
                    assert_eq!(status, 422, "{at}: {message}");
                    assert!(
                        message.contains(&format!("'{}' is not an image media type", case.mime)),
                        "{at}: {message}"
                    );
                    assert_eq!(w.mock.requests().len(), before, "{at}");
                }
                (Outcome::Refused(status, message), Expect::Refused(why)) => {
                    assert_eq!(status, 400, "{at}: {message}");
                    assert!(message.contains(why), "{at}: {message}");
                    // Named as the client named it, or by its URL.
                    assert!(
                        message.contains(&format!("'{}'", case.name)),
                        "{at}: {message}"
                    );
                    assert_eq!(w.mock.requests().len(), before, "{at}: no model call");
                }
                (Outcome::Refused(status, message), _) => {
                    panic!("{at}: refused with {status}: {message}")
                }
                (Outcome::Done, _) => {
                    assert!(!codegen_refuses, "{at}: Codegen took a non-image");
                    let content = w.last_user_content();
                    check_received(&case, intake, &content);
                    match &reference {
                        None => reference = Some(content),
                        Some(r) => assert_eq!(&content, r, "{at}: differs from AgentOS"),
                    }
                }
            }
        }
    }
    // Every URL intake fetched its file once per run that used it.
    let fetched = w.files.hits().len();
    assert_eq!(fetched, 3 * cases().len(), "{:?}", w.files.hits());
}

#[tokio::test]
async fn lying_and_oversized_files_fail_clearly_through_each_protocol() {
    let mut w = world("[files]\nmax_file_bytes = 2048\n").await;
    for case in bad_cases() {
        let Expect::Refused(why) = case.expect else {
            unreachable!("bad cases are refused")
        };
        for intake in INTAKES {
            let at = format!("{} via {intake:?}", case.name);
            let Outcome::Refused(status, message) = w.send(intake, &case).await else {
                panic!("{at} was accepted");
            };
            assert!(message.contains(why), "{at}: {message}");
            let expected_status = match (why.contains("over the limit"), intake) {
                (true, _) => 413,
                // Codegen answers unusable input with 422, its 400.
                (false, Intake::CodegenImages) => 422,
                (false, _) => 400,
            };
            assert_eq!(status, expected_status, "{at}: {message}");
            // Codegen names its images by position.
            let name = match intake {
                Intake::CodegenImages => "image-1.png",
                _ => case.name,
            };
            assert!(message.contains(&format!("'{name}'")), "{at}: {message}");
        }
    }
    assert!(w.mock.requests().is_empty(), "no file reached the model");
}
