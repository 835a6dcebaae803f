//! What a handler needs to know about a request body it reads itself:
//! whether the read failed because the body was too large. Depends on
//! nothing else in the crate (the limit is set by `http`'s layers).

/// Whether reading a body failed because it passed the server's size limit
/// (tower-http's `RequestBodyLimitLayer` wraps every body), so a handler that
/// reads raw bodies can answer 413 rather than 400.
pub fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
}
