//! Files and media given to a run, made ready for its model once, whatever
//! protocol brought them: size limits, type detection from the bytes,
//! documents turned into text the model reads with the file name, images and
//! audio kept as media parts when the model takes them, everything else
//! refused with the file named (or, if configured, passed as a reference).
//! Files given by URL are first fetched (or refused) by `fetch`, as the
//! config allows. Documents are read within a budget (`extract`), PDF and
//! DOCX in a limited worker process when the binary provides one
//! (`documents`, `worker`); a document over budget is
//! `EngineError::DocumentOverBudget`.
//!
//! Depends on the config and the `Model` capability check only; it must
//! never know HTTP servers or any protocol's shapes.

mod detect;
mod documents;
mod extract;
mod fetch;
mod worker;

use std::sync::Arc;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::EngineError;
use crate::config::{FilesConfig, UnsupportedMediaPolicy};
use crate::domain::{Attachment, FileSummary, MediaKind, Message};
use crate::models::Model;
pub use detect::not_an_image;
pub use documents::Documents;
use extract::ExtractError;
pub use worker::main as document_worker;

/// Input messages as the model will see them, and the files they carried.
#[derive(Debug, Default)]
pub struct Prepared {
    pub messages: Vec<Message>,
    pub files: Vec<FileSummary>,
}

/// Base64 as clients really send it: padded or not, either alphabet.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const LENIENT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Prepares a run's input: files given by URL are fetched or refused as the
/// config says, then every file is read, one at a time. Decoding and
/// parsing are CPU work, so they run off the async threads (documents as
/// `documents` decides); messages without attachments pass straight
/// through.
pub async fn prepare(
    documents: &Documents,
    config: &FilesConfig,
    model: &Arc<dyn Model>,
    messages: Vec<Message>,
) -> Result<Prepared, EngineError> {
    if messages.iter().all(|m| m.attachments.is_empty()) {
        return Ok(Prepared {
            messages,
            files: Vec::new(),
        });
    }
    // Boxed: the fetches and reads are large futures, and every run's start
    // would otherwise carry their room while it waits at the store.
    Box::pin(prepare_files(documents, config, model, messages)).await
}

async fn prepare_files(
    documents: &Documents,
    config: &FilesConfig,
    model: &Arc<dyn Model>,
    mut messages: Vec<Message>,
) -> Result<Prepared, EngineError> {
    fetch::resolve(config, &mut messages).await?;
    let mut files = Vec::new();
    let mut out = Vec::with_capacity(messages.len());
    let mut total = 0u64;
    let mut count = 0usize;
    for mut message in messages {
        let mut blocks = Vec::new();
        for attachment in std::mem::take(&mut message.attachments) {
            count += 1;
            let (handled, summary) = handle(
                documents,
                config,
                model.as_ref(),
                attachment,
                count,
                &mut total,
            )
            .await?;
            match handled {
                Handled::Media(a) => message.attachments.push(a),
                Handled::Document(a, block) => {
                    message.attachments.push(a);
                    blocks.push(block);
                }
                Handled::Reference(block) => blocks.push(block),
            }
            files.push(summary);
        }
        if !blocks.is_empty() {
            let mut text = message.text.trim_end().to_string();
            for block in blocks {
                if !text.is_empty() {
                    text.push_str("\n\n");
                }
                text.push_str(&block);
            }
            message.text = text;
        }
        out.push(message);
    }
    Ok(Prepared {
        messages: out,
        files,
    })
}

/// What became of one attachment.
enum Handled {
    /// Goes to the model as it is (image, audio, image URL).
    Media(Attachment),
    /// Read as text: the attachment stays (member runs re-read it), the
    /// text goes into the message.
    Document(Attachment, String),
    /// Only mentioned to the model.
    Reference(String),
}

/// Reads one attachment that carries its content (or, in pass mode, an
/// image URL); `fetch::resolve` has already dealt with every other URL.
async fn handle(
    documents: &Documents,
    config: &FilesConfig,
    model: &dyn Model,
    attachment: Attachment,
    index: usize,
    total: &mut u64,
) -> Result<(Handled, FileSummary), EngineError> {
    let name = attachment
        .name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .or_else(|| attachment.url.as_deref().and_then(url_file_name))
        .unwrap_or_else(|| format!("attachment {index}"));
    let refuse = |reason: String| EngineError::UnsupportedMedia {
        file: name.clone(),
        reason,
    };
    let data = match (&attachment.data, &attachment.url) {
        (Some(data), _) => data.clone(),
        (None, Some(url)) => return by_url(config, model, attachment.clone(), &name, url),
        (None, None) => return Err(refuse("it has neither content nor a URL".into())),
    };
    let opened = {
        let (name, declared, limit) = (
            name.clone(),
            attachment.mime_type.clone(),
            config.max_file_bytes,
        );
        tokio::task::spawn_blocking(move || open(&data, &declared, &name, limit))
            .await
            .map_err(|e| {
                EngineError::InvalidInput(format!("the attached files could not be read: {e}"))
            })??
    };
    let Opened {
        bytes,
        detected,
        base64,
    } = opened;
    *total += bytes.len() as u64;
    if *total > config.max_request_bytes {
        return Err(EngineError::TooLarge {
            file: None,
            bytes: *total,
            limit: config.max_request_bytes,
        });
    }
    let mut summary = FileSummary {
        name: name.clone(),
        mime_type: detected.mime_type.clone(),
        kind: detected.kind,
        bytes: bytes.len() as u64,
        extracted_chars: None,
        truncated: false,
        reference: false,
        // Where a fetched file came from.
        url: attachment.url.clone(),
    };
    let kept = Attachment {
        kind: detected.kind,
        mime_type: detected.mime_type.clone(),
        name: attachment.name.clone(),
        data: Some(base64),
        url: None,
    };
    if detected.kind != MediaKind::Document {
        if model.accepts(detected.kind, &detected.mime_type) {
            return Ok((Handled::Media(kept), summary));
        }
        let reason = format!(
            "model '{}' does not take {} input ({})",
            model.name(),
            kind_word(detected.kind),
            detected.mime_type
        );
        return reference_or_refuse(config, summary, reason, &refuse);
    }
    match documents.read(&detected.mime_type, bytes).await {
        Ok(x) => {
            let text = x.text;
            let chars = text.chars().count() as u64;
            summary.extracted_chars = Some(chars);
            summary.truncated = x.truncated || x.note.is_some();
            let mut notes: Vec<String> = x.note.into_iter().collect();
            if x.truncated {
                notes.push(format!(
                    "The text was cut after its first {} characters.",
                    config.max_document_chars
                ));
            }
            if text.trim().is_empty() {
                notes.push("No text could be read from this file.".into());
            }
            let block = file_block(&name, &detected.mime_type, &text, &notes);
            Ok((Handled::Document(kept, block), summary))
        }
        Err(ExtractError::Unsupported(reason)) => {
            reference_or_refuse(config, summary, reason, &refuse)
        }
        Err(ExtractError::Invalid(reason)) => Err(refuse(reason)),
        Err(ExtractError::OverBudget(reason)) => {
            Err(EngineError::DocumentOverBudget { file: name, reason })
        }
    }
}

/// A file's content decoded and typed, and the base64 it is kept as.
struct Opened {
    bytes: Vec<u8>,
    detected: detect::Detected,
    base64: String,
}

fn open(data: &str, declared: &str, name: &str, limit: u64) -> Result<Opened, EngineError> {
    let bytes = decode(data, name, limit)?;
    let refuse = |reason: String| EngineError::UnsupportedMedia {
        file: name.to_string(),
        reason,
    };
    if bytes.is_empty() {
        return Err(refuse("the file is empty".into()));
    }
    let detected = detect::detect(&bytes, declared, Some(name)).map_err(refuse)?;
    let base64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
    Ok(Opened {
        bytes,
        detected,
        base64,
    })
}

/// A file given by URL in pass mode: image URLs go to models that take
/// images (the provider fetches them); anything else can only be referenced.
fn by_url(
    config: &FilesConfig,
    model: &dyn Model,
    attachment: Attachment,
    name: &str,
    url: &str,
) -> Result<(Handled, FileSummary), EngineError> {
    let generic = |m: &str| !m.contains('/') || m == "application/octet-stream";
    let mut guessed = detect::guess(&attachment.mime_type, attachment.name.as_deref());
    if generic(&guessed.mime_type) {
        guessed = detect::guess(&guessed.mime_type, url_file_name(url).as_deref());
    }
    if attachment.kind == MediaKind::Image && generic(&guessed.mime_type) {
        guessed.kind = MediaKind::Image;
    }
    let summary = FileSummary {
        name: name.to_string(),
        mime_type: guessed.mime_type.clone(),
        kind: guessed.kind,
        bytes: 0,
        extracted_chars: None,
        truncated: false,
        reference: false,
        url: Some(url.to_string()),
    };
    let image_ok = guessed.kind == MediaKind::Image
        && (model.accepts(MediaKind::Image, &guessed.mime_type)
            || (!guessed.mime_type.starts_with("image/")
                && model.accepts(MediaKind::Image, "image/png")));
    if image_ok {
        let kept = Attachment {
            kind: MediaKind::Image,
            ..attachment
        };
        return Ok((Handled::Media(kept), summary));
    }
    let reason = if guessed.kind == MediaKind::Image {
        format!(
            "model '{}' does not take image input ({})",
            model.name(),
            guessed.mime_type
        )
    } else {
        "it is given by URL, and this server passes only image URLs to the model \
         (files.urls.mode = \"pass\")"
            .to_string()
    };
    let refuse = |reason: String| EngineError::UnsupportedMedia {
        file: name.to_string(),
        reason,
    };
    reference_or_refuse(config, summary, reason, &refuse)
}

fn reference_or_refuse(
    config: &FilesConfig,
    mut summary: FileSummary,
    reason: String,
    refuse: &dyn Fn(String) -> EngineError,
) -> Result<(Handled, FileSummary), EngineError> {
    if config.unsupported == UnsupportedMediaPolicy::Reject {
        return Err(refuse(reason));
    }
    summary.reference = true;
    let mut text =
        format!("The user attached this file, but its content cannot be given to you: {reason}.");
    if let Some(url) = &summary.url {
        text.push_str(&format!(" It is at {url}."));
    } else {
        text.push_str(&format!(" Its size is {} bytes.", summary.bytes));
    }
    let block = file_block(&summary.name, &summary.mime_type, &text, &[]);
    Ok((Handled::Reference(block), summary))
}

/// How a file's text is shown to the model: named, typed, delimited.
fn file_block(name: &str, mime: &str, text: &str, notes: &[String]) -> String {
    let attr = |s: &str| s.replace('"', "'").replace(['\r', '\n'], " ");
    let mut block = format!("<file name=\"{}\" type=\"{}\">\n", attr(name), attr(mime));
    if !text.is_empty() {
        block.push_str(text.trim_end());
        block.push('\n');
    }
    for note in notes {
        block.push_str(&format!("[{note}]\n"));
    }
    block.push_str("</file>");
    block
}

/// Decodes base64 content (bare, or a `data:` URI), refusing an oversized
/// file before decoding it.
fn decode(data: &str, name: &str, limit: u64) -> Result<Vec<u8>, EngineError> {
    let payload = match data.strip_prefix("data:") {
        Some(uri) => uri.split_once(',').map_or("", |(_, d)| d),
        None => data,
    };
    let estimate = (payload.len() as u64 / 4) * 3;
    let too_large = |bytes: u64| EngineError::TooLarge {
        file: Some(name.to_string()),
        bytes,
        limit,
    };
    if estimate > limit + 3 {
        return Err(too_large(estimate));
    }
    let cleaned: String;
    let payload = if payload.bytes().any(|b| b.is_ascii_whitespace()) {
        cleaned = payload
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        cleaned.as_str()
    } else {
        payload
    };
    let bytes = LENIENT
        .decode(payload)
        .or_else(|_| LENIENT_URL_SAFE.decode(payload))
        .map_err(|e| EngineError::UnsupportedMedia {
            file: name.to_string(),
            reason: format!("its content is not valid base64 ({e})"),
        })?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

fn url_file_name(url: &str) -> Option<String> {
    let path = url.split(['?', '#']).next()?;
    let last = path.rsplit('/').next()?;
    (!last.is_empty() && !path.ends_with("//") && last.contains('.')).then(|| last.to_string())
}

fn kind_word(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Image => "image",
        MediaKind::Audio => "audio",
        MediaKind::Video => "video",
        MediaKind::Document => "document",
    }
}

/// For the fuzz targets (`crate::fuzzing`): reads `bytes` as a document of
/// type `mime` in process, with the default `[files]` budget.
pub(crate) fn extract_for_fuzzing(mime: &str, bytes: &[u8]) {
    let budget = extract::Budget::from_config(&FilesConfig::default());
    let _ = extract::extract(mime, bytes, &budget);
}
