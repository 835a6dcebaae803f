//! `[files]` and `[files.urls]`: what files a run accepts (sizes, counts),
//! how documents become text within a budget (characters, CSV shape, PDF
//! operators, the worker's time and memory), and whether files given by
//! URL are refused, passed on or fetched. Plain settings with their
//! defaults; the checks of their values are in the parent's `validate`.

use serde::Deserialize;

/// Files and media given to runs: size limits and how documents become text.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesConfig {
    /// Largest single file a run accepts, in bytes (after base64 decoding).
    #[serde(default = "default_max_file_bytes")]
    pub max_file_bytes: u64,
    /// Largest total of all files of one request, in bytes.
    #[serde(default = "default_max_request_bytes")]
    pub max_request_bytes: u64,
    /// Data rows of a CSV file shown to the model; the rest is counted, not shown.
    #[serde(default = "default_csv_max_rows")]
    pub csv_max_rows: usize,
    /// Characters of one document's text given to the model; reading stops
    /// there.
    #[serde(default = "default_max_document_chars")]
    pub max_document_chars: usize,
    /// Columns of a CSV file shown to the model; the rest are left out.
    #[serde(default = "default_csv_max_columns")]
    pub csv_max_columns: usize,
    /// Drawing operators reading one PDF may execute, every drawn form
    /// counted as often as it is drawn; a PDF over it is refused (422).
    #[serde(default = "default_pdf_max_operators")]
    pub pdf_max_operators: u64,
    /// Seconds reading one document may take (wall time and, in the worker
    /// process, CPU time); a document over it is refused (422).
    #[serde(default = "default_document_timeout_secs")]
    pub document_timeout_secs: u64,
    /// Address space of the worker process that reads one PDF or DOCX, in
    /// MiB; a document that needs more is refused (422).
    #[serde(default = "default_document_memory_mib")]
    pub document_memory_mib: u64,
    /// Documents read at once, across all requests; more wait their turn.
    /// 0: one per CPU.
    #[serde(default)]
    pub max_concurrent_documents: usize,
    /// The program run as `<program> extract-document` to read PDF and
    /// DOCX files in a child process with memory, CPU and time limits.
    /// Never from the file: the `agentd` binary sets it to itself at start
    /// (main.rs). Unset (the engine used as a library, as in tests),
    /// documents are read in process within the same budgets, without the
    /// process limits.
    #[serde(skip)]
    pub document_worker: Option<std::path::PathBuf>,
    /// What to do with media the model cannot take (video, audio for a model
    /// without audio input, unreadable document formats): refuse the request,
    /// or pass the file to the model as a reference by name only.
    #[serde(default)]
    pub unsupported: UnsupportedMediaPolicy,
    /// Files given by URL (ACP `content_url`, AG-UI image or binary URLs).
    #[serde(default)]
    pub urls: UrlInputsConfig,
}

impl Default for FilesConfig {
    fn default() -> Self {
        Self {
            max_file_bytes: default_max_file_bytes(),
            max_request_bytes: default_max_request_bytes(),
            csv_max_rows: default_csv_max_rows(),
            max_document_chars: default_max_document_chars(),
            csv_max_columns: default_csv_max_columns(),
            pdf_max_operators: default_pdf_max_operators(),
            document_timeout_secs: default_document_timeout_secs(),
            document_memory_mib: default_document_memory_mib(),
            max_concurrent_documents: 0,
            document_worker: None,
            unsupported: UnsupportedMediaPolicy::default(),
            urls: UrlInputsConfig::default(),
        }
    }
}

/// `[files.urls]`: whether and how files given by URL are read. Off by
/// default: a server that fetches what clients name can be made to reach
/// hosts only it can see.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrlInputsConfig {
    #[serde(default)]
    pub mode: UrlInputMode,
    /// Fetch mode: the only hosts fetched from (`example.com`, or
    /// `*.example.com` for its subdomains). Empty: any host.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Fetch mode: also fetch from loopback, private, link-local and other
    /// non-public addresses. Off, such hosts are refused even when listed.
    #[serde(default)]
    pub allow_private_addresses: bool,
    /// Fetch mode: seconds one file may take, redirects included.
    #[serde(default = "default_url_timeout")]
    pub timeout_secs: u64,
    /// Fetch mode: redirects followed (each target is checked like the URL).
    #[serde(default = "default_url_redirects")]
    pub max_redirects: u32,
    /// Fetch mode: files one request may give by URL. They are fetched one
    /// after another, each counted against `max_request_bytes` as it
    /// streams in; more than this many is refused before any is fetched.
    #[serde(default = "default_urls_per_request")]
    pub max_per_request: usize,
}

impl Default for UrlInputsConfig {
    fn default() -> Self {
        Self {
            mode: UrlInputMode::default(),
            allowed_hosts: Vec::new(),
            allow_private_addresses: false,
            timeout_secs: default_url_timeout(),
            max_redirects: default_url_redirects(),
            max_per_request: default_urls_per_request(),
        }
    }
}

fn default_url_timeout() -> u64 {
    10
}
fn default_url_redirects() -> u32 {
    3
}
fn default_urls_per_request() -> usize {
    8
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum UrlInputMode {
    /// A file given by URL is refused with a 400 naming it.
    #[default]
    Off,
    /// The server downloads the file (size, time and host limits apply) and
    /// treats it like an upload: type detected from the bytes, documents
    /// read as text, media sent as data.
    Fetch,
    /// Image URLs are handed to the model as they are (the provider fetches
    /// them); other files given by URL are refused.
    Pass,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum UnsupportedMediaPolicy {
    /// Answer the request with a clear error naming the file.
    #[default]
    Reject,
    /// Tell the model the file exists (name, type, size), without its content.
    Reference,
}

fn default_max_file_bytes() -> u64 {
    20 * 1024 * 1024
}
fn default_max_request_bytes() -> u64 {
    32 * 1024 * 1024
}
fn default_csv_max_rows() -> usize {
    200
}
fn default_max_document_chars() -> usize {
    100_000
}
fn default_csv_max_columns() -> usize {
    100
}
/// Real documents execute thousands to tens of thousands per page.
fn default_pdf_max_operators() -> u64 {
    5_000_000
}
fn default_document_timeout_secs() -> u64 {
    20
}
fn default_document_memory_mib() -> u64 {
    1024
}
