//! Entry points for the fuzz targets (fuzz/, cargo-fuzz): each runs one
//! parser of untrusted input as the server runs it and drops the result.
//! Not used by the server. Depends on the engine's document readers and
//! the protocols' request parsers; it must never start a server, touch a
//! store or call a model.

/// The document types `document` reads, one reader each.
pub const DOCUMENT_TYPES: [&str; 6] = [
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "text/csv",
    "text/tab-separated-values",
    "application/json",
    "text/plain",
];

/// Reads `bytes` as a document of type `mime`, in process, within the
/// default `[files]` budget.
pub fn document(mime: &str, bytes: &[u8]) {
    crate::engine::extract_for_fuzzing(mime, bytes);
}

/// Parses an AG-UI RunAgentInput body.
pub fn agui_run_input(body: &[u8]) {
    crate::protocols::agui::parse_for_fuzzing(body);
}

/// Parses an A2A JSON-RPC request body.
pub fn a2a_request(body: &[u8]) {
    crate::protocols::a2a::parse_for_fuzzing(body);
}

/// Parses an ACP run-create body.
pub fn acp_run_create(body: &[u8]) {
    crate::protocols::acp::parse_for_fuzzing(body);
}
