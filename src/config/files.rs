//! `[files]` and `[files.urls]`: what files a run accepts (sizes, counts),
//! how documents become text within a budget (characters, CSV shape, PDF
//! operators, the worker's time and memory), and whether files given by
//! URL are refused, passed on or fetched. The settings, their defaults and
//! the checks of their values.

use serde::Deserialize;

use super::{Config, ConfigError};

/// Files and media given to runs: size limits and how documents become text.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FilesConfig {
    /// Largest single file a run accepts, in bytes (after base64 decoding).
    pub max_file_bytes: u64,
    /// Largest total of all files of one request, in bytes.
    pub max_request_bytes: u64,
    /// Data rows of a CSV file shown to the model; the rest is counted, not shown.
    pub csv_max_rows: usize,
    /// Characters of one document's text given to the model; reading stops
    /// there.
    pub max_document_chars: usize,
    /// Columns of a CSV file shown to the model; the rest are left out.
    pub csv_max_columns: usize,
    /// Drawing operators reading one PDF may execute, every drawn form
    /// counted as often as it is drawn; a PDF over it is refused (422).
    pub pdf_max_operators: u64,
    /// Seconds reading one document may take (wall time and, in the worker
    /// process, CPU time); a document over it is refused (422).
    pub document_timeout_secs: u64,
    /// Address space of the worker process that reads one PDF or DOCX, in
    /// MiB; a document that needs more is refused (422).
    pub document_memory_mib: u64,
    /// Documents read at once, across all requests; more wait their turn.
    /// 0: one per CPU.
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
    pub unsupported: UnsupportedMediaPolicy,
    /// Files given by URL (ACP `content_url`, AG-UI image or binary URLs).
    pub urls: UrlInputsConfig,
}

impl Default for FilesConfig {
    fn default() -> Self {
        Self {
            max_file_bytes: 20 * 1024 * 1024,
            max_request_bytes: 32 * 1024 * 1024,
            csv_max_rows: 200,
            max_document_chars: 100_000,
            csv_max_columns: 100,
            // Real documents execute thousands to tens of thousands per page.
            pdf_max_operators: 5_000_000,
            document_timeout_secs: 20,
            document_memory_mib: 1024,
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
#[serde(default, deny_unknown_fields)]
pub struct UrlInputsConfig {
    pub mode: UrlInputMode,
    /// Fetch mode: the only hosts fetched from (`example.com`, or
    /// `*.example.com` for its subdomains). Empty: any host.
    pub allowed_hosts: Vec<String>,
    /// Fetch mode: also fetch from loopback, private, link-local and other
    /// non-public addresses. Off, such hosts are refused even when listed.
    pub allow_private_addresses: bool,
    /// Fetch mode: seconds one file may take, redirects included.
    pub timeout_secs: u64,
    /// Fetch mode: redirects followed (each target is checked like the URL).
    pub max_redirects: u32,
    /// Fetch mode: files one request may give by URL. They are fetched one
    /// after another, each counted against `max_request_bytes` as it
    /// streams in; more than this many is refused before any is fetched.
    pub max_per_request: usize,
}

impl Default for UrlInputsConfig {
    fn default() -> Self {
        Self {
            mode: UrlInputMode::default(),
            allowed_hosts: Vec::new(),
            allow_private_addresses: false,
            timeout_secs: 10,
            max_redirects: 3,
            max_per_request: 8,
        }
    }
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

impl Config {
    pub(super) fn validate_files(&self) -> Result<(), ConfigError> {
        self.validate_url_inputs(&self.files.urls)?;
        for (field, value) in [
            ("files.max_file_bytes", self.files.max_file_bytes),
            ("files.max_request_bytes", self.files.max_request_bytes),
            ("files.csv_max_rows", self.files.csv_max_rows as u64),
            (
                "files.max_document_chars",
                self.files.max_document_chars as u64,
            ),
            ("files.csv_max_columns", self.files.csv_max_columns as u64),
            ("files.pdf_max_operators", self.files.pdf_max_operators),
            (
                "files.document_timeout_secs",
                self.files.document_timeout_secs,
            ),
        ] {
            if value == 0 {
                return Err(self.invalid(field, "must be at least 1"));
            }
        }
        // Below this the worker cannot even start.
        if self.files.document_memory_mib < 64 {
            return Err(self.invalid("files.document_memory_mib", "must be at least 64"));
        }
        Ok(())
    }

    fn validate_url_inputs(&self, urls: &UrlInputsConfig) -> Result<(), ConfigError> {
        if urls.timeout_secs == 0 {
            return Err(self.invalid("files.urls.timeout_secs", "must be at least 1"));
        }
        for (i, host) in urls.allowed_hosts.iter().enumerate() {
            let bare = host.strip_prefix("*.").unwrap_or(host);
            if bare.is_empty()
                || !bare
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
            {
                return Err(self.invalid(
                    format!("files.urls.allowed_hosts[{i}]"),
                    format!("'{host}' is not a host name like example.com or *.example.com"),
                ));
            }
        }
        Ok(())
    }
}
