//! Reading AgentOS form posts: multipart (curl -F, browsers, uploads) or
//! urlencoded (Agno's AgentOSClient), with FastAPI's field rules.

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header::CONTENT_TYPE;
use base64::Engine as _;
use serde_json::Value;

use super::error::AgentOsError;
use crate::config::FilesConfig;
use crate::engine::{Attachment, MediaKind};

pub struct Upload {
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub bytes: bytes::Bytes,
}

/// A decoded form: text fields in order, and file parts.
#[derive(Default)]
pub struct Form {
    fields: Vec<(String, String)>,
    pub files: Vec<Upload>,
}

impl Form {
    /// Reads the form. Uploads are counted while they stream in, so an
    /// oversized file is refused (413) without being buffered whole.
    pub async fn from_request(req: Request, limits: &FilesConfig) -> Result<Form, AgentOsError> {
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if content_type.starts_with("multipart/form-data") {
            let mut multipart = Multipart::from_request(req, &())
                .await
                .map_err(|e| AgentOsError::BadRequest(format!("Invalid multipart body: {e}")))?;
            let mut form = Form::default();
            let mut total = 0u64;
            loop {
                let mut field = match multipart.next_field().await {
                    Ok(Some(f)) => f,
                    Ok(None) => break,
                    Err(e) => return Err(multipart_error(e)),
                };
                let name = field.name().unwrap_or("").to_string();
                if field.file_name().is_some() || name == "files" {
                    let filename = field.file_name().map(str::to_string);
                    let content_type = field.content_type().map(str::to_string);
                    let label = filename.clone().unwrap_or_else(|| name.clone());
                    let mut buf = bytes::BytesMut::new();
                    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                        let size = (buf.len() + chunk.len()) as u64;
                        if size > limits.max_file_bytes {
                            return Err(AgentOsError::PayloadTooLarge(format!(
                                "File '{label}' is over the limit of {} bytes per file",
                                limits.max_file_bytes
                            )));
                        }
                        total += chunk.len() as u64;
                        if total > limits.max_request_bytes {
                            return Err(AgentOsError::PayloadTooLarge(format!(
                                "The files of this request are over the limit of {} bytes per request",
                                limits.max_request_bytes
                            )));
                        }
                        buf.extend_from_slice(&chunk);
                    }
                    let bytes = buf.freeze();
                    form.files.push(Upload {
                        filename,
                        content_type,
                        bytes,
                    });
                } else {
                    let text = field.text().await.map_err(multipart_error)?;
                    form.fields.push((name, text));
                }
            }
            Ok(form)
        } else if content_type.starts_with("application/x-www-form-urlencoded") {
            let body = axum::body::to_bytes(req.into_body(), usize::MAX)
                .await
                .map_err(|e| {
                    // The server's body limit wraps every request body.
                    if crate::web::body::is_length_limit(&e) {
                        AgentOsError::PayloadTooLarge("Request body too large".into())
                    } else {
                        body_error(&e.to_string())
                    }
                })?;
            let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
                .map_err(|e| AgentOsError::BadRequest(format!("Invalid form body: {e}")))?;
            Ok(Form {
                fields,
                files: Vec::new(),
            })
        } else {
            // FastAPI answers any non-form body (JSON included) as a missing field.
            Ok(Form::default())
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A non-empty text field.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }

    pub fn required(&self, name: &str) -> Result<String, AgentOsError> {
        self.get(name)
            .map(str::to_string)
            .ok_or_else(|| AgentOsError::missing(&["body", name]))
    }

    /// A boolean field by pydantic's rules; absent means `default`.
    pub fn bool(&self, name: &str, default: bool) -> Result<bool, AgentOsError> {
        let Some(raw) = self.get(name) else {
            return Ok(default);
        };
        match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" | "t" | "y" => Ok(true),
            "false" | "0" | "no" | "off" | "f" | "n" => Ok(false),
            _ => Err(AgentOsError::validation(
                "bool_parsing",
                &["body", name],
                "Input should be a valid boolean, unable to interpret input",
                Value::String(raw.to_string()),
            )),
        }
    }

    /// `metadata`: a JSON object, or 400 as AgentOS answers.
    pub fn metadata(&self) -> Result<Option<Value>, AgentOsError> {
        let Some(raw) = self.text("metadata") else {
            return Ok(None);
        };
        match serde_json::from_str::<Value>(&raw) {
            Ok(v @ Value::Object(_)) => Ok(Some(v)),
            _ => Err(AgentOsError::BadRequest(
                "Invalid metadata parameter: expected a JSON object".into(),
            )),
        }
    }

    /// Media given as JSON fields (`images`, `audio`, `videos`, `input_files`),
    /// as Agno's RemoteAgent sends them.
    pub fn json_media(&self) -> Result<Vec<Attachment>, AgentOsError> {
        let mut out = Vec::new();
        for (field, kind) in [
            ("images", MediaKind::Image),
            ("audio", MediaKind::Audio),
            ("videos", MediaKind::Video),
            ("input_files", MediaKind::Document),
        ] {
            let Some(raw) = self.text(field) else {
                continue;
            };
            let invalid = || {
                AgentOsError::validation(
                    "value_error",
                    &["body", field],
                    format!("Invalid {field}: expected a JSON array of objects"),
                    Value::String(raw.clone()),
                )
            };
            let items: Vec<Value> = serde_json::from_str(&raw).map_err(|_| invalid())?;
            for item in items {
                let obj = item.as_object().ok_or_else(invalid)?;
                let s = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
                let mime_type = s("mime_type")
                    .or_else(|| s("format").map(|f| format!("{}/{f}", kind_prefix(kind))))
                    .unwrap_or_else(|| "application/octet-stream".into());
                let data = s("content");
                let url = s("url");
                if data.is_none() && url.is_none() {
                    continue;
                }
                out.push(Attachment {
                    kind,
                    mime_type,
                    name: s("filename").or_else(|| s("name")),
                    data,
                    url,
                });
            }
        }
        Ok(out)
    }
}

fn kind_prefix(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Image => "image",
        MediaKind::Audio => "audio",
        MediaKind::Video => "video",
        MediaKind::Document => "application",
    }
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> AgentOsError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        return AgentOsError::PayloadTooLarge(format!("Request body too large: {}", e.body_text()));
    }
    body_error(&e.body_text())
}

fn body_error(text: &str) -> AgentOsError {
    AgentOsError::BadRequest(format!("Invalid form body: {text}"))
}

/// Classifies an uploaded file as AgentOS does (spec §3): by its declared
/// MIME type, or by extension when none (or octet-stream) was declared.
/// Empty files are skipped; unknown types are refused.
pub fn classify(upload: &Upload) -> Result<Option<Attachment>, AgentOsError> {
    if upload.bytes.is_empty() {
        return Ok(None);
    }
    let declared = upload
        .content_type
        .as_deref()
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let declared = match declared.as_str() {
        "application/x-zip" | "application/x-zip-compressed" => "application/zip".to_string(),
        "application/xml" => "text/xml".into(),
        "application/rtf" => "text/rtf".into(),
        "application/javascript" => "text/javascript".into(),
        _ => declared,
    };
    let (kind, mime) = if declared.is_empty() || declared == "application/octet-stream" {
        let ext = upload
            .filename
            .as_deref()
            .and_then(|n| n.rsplit_once('.'))
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        by_extension(&ext).ok_or_else(unsupported)?
    } else {
        (by_mime(&declared).ok_or_else(unsupported)?, declared)
    };
    Ok(Some(Attachment {
        kind,
        mime_type: mime,
        name: upload.filename.clone(),
        data: Some(base64::engine::general_purpose::STANDARD.encode(&upload.bytes)),
        url: None,
    }))
}

fn unsupported() -> AgentOsError {
    AgentOsError::BadRequest("Unsupported file type".into())
}

fn by_mime(mime: &str) -> Option<MediaKind> {
    const IMAGE: &[&str] = &[
        "image/png",
        "image/jpeg",
        "image/jpg",
        "image/gif",
        "image/webp",
        "image/bmp",
        "image/tiff",
        "image/tif",
        "image/avif",
        "image/heic",
        "image/heif",
    ];
    const AUDIO: &[&str] = &[
        "audio/wav",
        "audio/wave",
        "audio/mp3",
        "audio/mpeg",
        "audio/ogg",
        "audio/mp4",
        "audio/m4a",
        "audio/aac",
        "audio/flac",
    ];
    const VIDEO: &[&str] = &[
        "video/x-flv",
        "video/quicktime",
        "video/mpeg",
        "video/mpegs",
        "video/mpgs",
        "video/mpg",
        "video/mp4",
        "video/webm",
        "video/wmv",
        "video/3gpp",
    ];
    const DOCUMENT: &[&str] = &[
        "application/pdf",
        "application/json",
        "application/x-javascript",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/msword",
        "application/vnd.ms-powerpoint",
        "application/vnd.ms-excel",
        "application/vnd.ms-outlook",
        "application/zip",
        "message/rfc822",
        "text/javascript",
        "application/x-python",
        "text/x-python",
        "text/plain",
        "text/html",
        "text/css",
        "text/markdown",
        "text/csv",
        "text/xml",
        "text/rtf",
    ];
    if IMAGE.contains(&mime) {
        Some(MediaKind::Image)
    } else if AUDIO.contains(&mime) {
        Some(MediaKind::Audio)
    } else if VIDEO.contains(&mime) {
        Some(MediaKind::Video)
    } else if DOCUMENT.contains(&mime) {
        Some(MediaKind::Document)
    } else {
        None
    }
}

fn by_extension(ext: &str) -> Option<(MediaKind, String)> {
    let doc = |m: &str| Some((MediaKind::Document, m.to_string()));
    match ext {
        "pdf" => doc("application/pdf"),
        "json" => doc("application/json"),
        "js" => doc("text/javascript"),
        "docx" => doc("application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        "doc" => doc("application/msword"),
        "pptx" => doc("application/vnd.openxmlformats-officedocument.presentationml.presentation"),
        "ppt" => doc("application/vnd.ms-powerpoint"),
        "xlsx" => doc("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        "xls" => doc("application/vnd.ms-excel"),
        "msg" => doc("application/vnd.ms-outlook"),
        "zip" => doc("application/zip"),
        "eml" => doc("message/rfc822"),
        "py" => doc("text/x-python"),
        "txt" => doc("text/plain"),
        "html" | "htm" => doc("text/html"),
        "css" => doc("text/css"),
        "md" | "markdown" => doc("text/markdown"),
        "csv" => doc("text/csv"),
        "xml" => doc("text/xml"),
        "rtf" => doc("text/rtf"),
        "png" | "jpg" | "jpeg" | "gif" | "webp" | "bmp" | "tiff" | "tif" | "avif" | "heic"
        | "heif" => {
            let sub = if ext == "jpg" { "jpeg" } else { ext };
            Some((MediaKind::Image, format!("image/{sub}")))
        }
        "wav" | "mp3" | "ogg" | "m4a" | "aac" | "flac" => {
            let sub = if ext == "mp3" { "mpeg" } else { ext };
            Some((MediaKind::Audio, format!("audio/{sub}")))
        }
        "flv" | "mov" | "mpeg" | "mpg" | "mp4" | "webm" | "wmv" | "3gp" => {
            let sub = match ext {
                "mov" => "quicktime",
                "flv" => "x-flv",
                "3gp" => "3gpp",
                other => other,
            };
            Some((MediaKind::Video, format!("video/{sub}")))
        }
        _ => None,
    }
}
