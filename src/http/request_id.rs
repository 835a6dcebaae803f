//! The client's `x-request-id`, kept only when it is a short token of safe
//! characters. It goes into every log line of the request, so a value with
//! line breaks, quotes or escape sequences could forge log lines; such a
//! value is dropped and the request gets a fresh id like one that sent
//! none. Depends on nothing else in the crate.

use axum::extract::Request;
use axum::http::HeaderName;
use axum::middleware::Next;
use axum::response::Response;

/// The header, as tower-http's request-id layers name it.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Longest client id kept.
const MAX_LEN: usize = 64;

/// Whether a client's id is safe to log as sent: 1 to 64 of
/// `[A-Za-z0-9._:-]` (UUIDs, ULIDs, trace ids and the like).
pub fn is_acceptable(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// Removes a request id that is not acceptable (or sent more than once),
/// so the id layer after it sets a fresh one.
pub async fn sanitize(mut req: Request, next: Next) -> Response {
    let headers = req.headers();
    let mut values = headers.get_all(&HEADER).iter();
    let keep = match (values.next(), values.next()) {
        (Some(v), None) => is_acceptable(v.as_bytes()),
        (None, _) => true,
        (Some(_), Some(_)) => false,
    };
    if !keep {
        req.headers_mut().remove(&HEADER);
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_short_safe_tokens_only() {
        for ok in [
            "abc",
            "0191c4a2-7b1e-7c3d-9f00-123456789abc",
            "trace:span.1_2",
            &"a".repeat(64),
        ] {
            assert!(is_acceptable(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "",
            "a b",
            "x\ninfo forged line",
            "x\"y",
            "\u{1b}[31mred",
            "é",
            &"a".repeat(65),
        ] {
            assert!(!is_acceptable(bad.as_bytes()), "{bad:?}");
        }
    }
}
