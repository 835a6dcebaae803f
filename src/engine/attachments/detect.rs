//! What a file really is: its bytes first (magic numbers), then the type
//! its sender declared, then its file name.
//!
//! Pure functions over bytes and strings; nothing here knows runs, models or
//! protocols.

use crate::engine::MediaKind;

pub const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

/// A file's type as the engine will treat it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    pub mime_type: String,
    pub kind: MediaKind,
}

/// Detects the type of `bytes`. `declared` is the sender's type (may be
/// empty), `name` its file name. The error is the reason, for the client.
pub fn detect(bytes: &[u8], declared: &str, name: Option<&str>) -> Result<Detected, String> {
    let declared = normalize(declared);
    let guessed = name
        .and_then(|n| mime_guess::from_path(n).first_raw())
        .map(normalize)
        .unwrap_or_default();
    if let Some(sniffed) = infer::get(bytes) {
        let mut mime = normalize(sniffed.mime_type());
        // A DOCX is a zip; infer recognizes most, but not every writer's layout.
        if mime == "application/zip" && (declared == DOCX || guessed == DOCX) {
            mime = DOCX.to_string();
        }
        return Ok(Detected {
            kind: kind_of(&mime),
            mime_type: mime,
        });
    }
    let generic = |m: &str| m.is_empty() || m == "application/octet-stream";
    // Clients often call every text file text/plain; the name says more.
    let claimed = if generic(&declared) || (declared == "text/plain" && is_text(&guessed)) {
        guessed.clone()
    } else {
        declared.clone()
    };
    if !generic(&claimed) && !is_text(&claimed) {
        // Every binary format we take has a signature; this one lacks it.
        return Err(format!(
            "it is declared as {claimed}, but its content does not match that type"
        ));
    }
    if std::str::from_utf8(strip_bom(bytes)).is_err() {
        return Err(if generic(&claimed) {
            "its type could not be recognized from its content, declared type or name".into()
        } else {
            format!("it is declared as {claimed}, but its content is not UTF-8 text")
        });
    }
    let mime = if generic(&claimed) {
        "text/plain".to_string()
    } else {
        claimed
    };
    Ok(Detected {
        kind: MediaKind::Document,
        mime_type: mime,
    })
}

/// Why `bytes`, sent where only an image may go (Codegen's `images`), are
/// not one: their signature names another type (a PDF, a zip). Elsewhere
/// the bytes' type simply wins over the declared one, but a field that
/// takes images must be no way to hand a document to its parser. Bytes
/// without a signature are left to [`detect`], which refuses a declared
/// image type they do not match.
pub fn not_an_image(bytes: &[u8]) -> Option<String> {
    infer::get(bytes)
        .filter(|t| t.matcher_type() != infer::MatcherType::Image)
        .map(|t| format!("its content is {}", normalize(t.mime_type())))
}

/// The kind of media a (normalized) type is.
pub fn kind_of(mime: &str) -> MediaKind {
    match mime.split('/').next().unwrap_or("") {
        "image" => MediaKind::Image,
        "audio" => MediaKind::Audio,
        "video" => MediaKind::Video,
        _ => MediaKind::Document,
    }
}

/// The kind a file given by URL probably is, from its declared type or name.
pub fn guess(declared: &str, name: Option<&str>) -> Detected {
    let declared = normalize(declared);
    let mime = if declared.is_empty() || declared == "application/octet-stream" {
        name.and_then(|n| mime_guess::from_path(n).first_raw())
            .map(normalize)
            .unwrap_or(declared)
    } else {
        declared
    };
    Detected {
        kind: kind_of(&mime),
        mime_type: mime,
    }
}

/// Types whose content is text we can read as it is.
pub fn is_text(mime: &str) -> bool {
    mime.starts_with("text/")
        || matches!(
            mime,
            "application/json"
                | "application/xml"
                | "application/javascript"
                | "application/x-javascript"
                | "application/x-python"
                | "application/x-sh"
                | "application/toml"
                | "application/yaml"
                | "application/x-yaml"
                | "application/sql"
                | "application/x-ndjson"
                | "image/svg+xml"
        )
}

pub fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// Lower-case, parameters dropped, and one name for types with several.
fn normalize(mime: &str) -> String {
    let base = mime
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match base.as_str() {
        "audio/x-wav" | "audio/wave" | "audio/vnd.wave" => "audio/wav".into(),
        "audio/mp3" | "audio/x-mp3" | "audio/x-mpeg" => "audio/mpeg".into(),
        "audio/x-flac" => "audio/flac".into(),
        "audio/x-m4a" => "audio/m4a".into(),
        "image/jpg" | "image/pjpeg" => "image/jpeg".into(),
        "application/x-zip-compressed" | "application/x-zip" => "application/zip".into(),
        "text/x-markdown" => "text/markdown".into(),
        "text/json" => "application/json".into(),
        "text/comma-separated-values" | "application/csv" => "text/csv".into(),
        _ => base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn bytes_win_over_declared_type() {
        let d = detect(b"%PDF-1.4\n", "image/png", Some("cat.png")).unwrap();
        assert_eq!(d.mime_type, "application/pdf");
        assert_eq!(d.kind, MediaKind::Document);
        let d = detect(PNG, "text/plain", Some("notes.txt")).unwrap();
        assert_eq!(
            (d.mime_type.as_str(), d.kind),
            ("image/png", MediaKind::Image)
        );
    }

    #[test]
    fn text_types_come_from_declared_type_then_name() {
        let d = detect(b"a,b\n1,2\n", "", Some("t.csv")).unwrap();
        assert_eq!(d.mime_type, "text/csv");
        let d = detect(b"a,b\n1,2\n", "text/plain", Some("t.csv")).unwrap();
        assert_eq!(d.mime_type, "text/csv");
        let d = detect(b"{}", "application/json; charset=utf-8", None).unwrap();
        assert_eq!(d.mime_type, "application/json");
        let d = detect(b"hello", "", None).unwrap();
        assert_eq!(d.mime_type, "text/plain");
    }

    #[test]
    fn lying_or_unknown_binaries_are_refused() {
        let err = detect(b"not a png at all", "image/png", Some("cat.png")).unwrap_err();
        assert!(
            err.contains("image/png, but its content does not match"),
            "{err}"
        );
        let err = detect(b"plain", "", Some("clip.mp4")).unwrap_err();
        assert!(err.contains("video/mp4"), "{err}");
        let err = detect(&[0xff, 0xfe, 0x00, 0x81], "", None).unwrap_err();
        assert!(err.contains("could not be recognized"), "{err}");
    }
}
