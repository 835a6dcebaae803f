//! Documents turned into text a model can read: PDF, DOCX, CSV (as a table),
//! JSON (pretty-printed) and plain text of any kind.
//!
//! Pure and synchronous (the caller runs it off the async threads, in a
//! worker process for the formats that need one); it knows nothing of runs,
//! models, processes or protocols. Every reader works within a [`Budget`]:
//! its text goes into a sink that stops it at `max_chars`, so no text is
//! built whole and cut after; each reader bounds what else it may hold or
//! do (see its module). A panic of a third-party parser is caught.

mod docx;
mod json;
mod pdf;
mod pdf_scan;
mod sink;
mod table;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::detect::{DOCX, is_text, strip_bom};
use sink::Sink;

/// What reading one document may cost, from `[files]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// Characters of text kept; reading stops there.
    pub max_chars: usize,
    /// CSV data rows shown (the rest are counted).
    pub csv_max_rows: usize,
    /// CSV columns shown.
    pub csv_max_columns: usize,
    /// PDF drawing operators executed, every drawn form expanded.
    pub pdf_max_operators: u64,
    /// Wall time of the PDF reader, checked as it writes text.
    pub time_limit_ms: u64,
}

impl Budget {
    pub fn from_config(config: &crate::config::FilesConfig) -> Self {
        Self {
            max_chars: config.max_document_chars,
            csv_max_rows: config.csv_max_rows,
            csv_max_columns: config.csv_max_columns,
            pdf_max_operators: config.pdf_max_operators,
            time_limit_ms: config.document_timeout_secs.saturating_mul(1000),
        }
    }

    pub fn time_limit(&self) -> Duration {
        Duration::from_millis(self.time_limit_ms)
    }
}

/// A document's text, at most `max_chars` characters of it.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct Extracted {
    pub text: String,
    /// Said to the model after the text (e.g. rows left out of a CSV).
    pub note: Option<String>,
    /// Text was left out for the character limit.
    pub truncated: bool,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub enum ExtractError {
    /// We read no text from this type; the file may still be referenced.
    Unsupported(String),
    /// The file claims a type it does not hold (a corrupt PDF): always refused.
    Invalid(String),
    /// Reading it would cost more than the budget allows (or its reader
    /// crashed or ran out of time in its worker): always refused.
    OverBudget(String),
}

/// Whether reading this type runs a third-party parser over a structure
/// that can make it loop, recurse or inflate (and so belongs in a worker
/// process). CSV, JSON and text readers are single bounded passes.
pub fn needs_isolation(mime: &str) -> bool {
    matches!(mime, "application/pdf" | DOCX)
}

pub fn extract(mime: &str, bytes: &[u8], budget: &Budget) -> Result<Extracted, ExtractError> {
    let into = |mut sink: Sink, read: &dyn Fn(&mut Sink) -> Result<(), ExtractError>| {
        read(&mut sink)?;
        let (text, truncated) = sink.finish();
        Ok(Extracted {
            text,
            note: None,
            truncated,
        })
    };
    let tidy = || Sink::tidy(budget.max_chars);
    let plain = || Sink::plain(budget.max_chars);
    match mime {
        "application/pdf" => into(tidy(), &|s| pdf::read(bytes, budget, s)),
        DOCX => into(tidy(), &|s| docx::read(bytes, s)),
        "text/csv" => table::read(bytes, b',', budget),
        "text/tab-separated-values" => table::read(bytes, b'\t', budget),
        "application/json" => into(plain(), &|s| json::read(bytes, s)),
        m if is_text(m) => into(plain(), &|s| {
            // A full sink is the limit reached: the text wanted is kept.
            let _ = s.push_str(utf8(bytes)?);
            Ok(())
        }),
        other => Err(ExtractError::Unsupported(format!(
            "no text can be read from {other} files (readable documents: PDF, DOCX, CSV, JSON, \
             plain text and Markdown)"
        ))),
    }
}

fn utf8(bytes: &[u8]) -> Result<&str, ExtractError> {
    std::str::from_utf8(strip_bom(bytes))
        .map_err(|_| ExtractError::Invalid("its content is not UTF-8 text".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(rows: usize) -> Budget {
        Budget {
            max_chars: 100_000,
            csv_max_rows: rows,
            csv_max_columns: 100,
            pdf_max_operators: 1_000_000,
            time_limit_ms: 10_000,
        }
    }

    #[test]
    fn csv_becomes_a_table_with_a_row_limit() {
        let x = extract(
            "text/csv",
            b"name,qty\napple,3\npear|x,5\nfig,1\n",
            &budget(2),
        )
        .unwrap();
        assert_eq!(
            x.text,
            "| name | qty |\n|---|---|\n| apple | 3 |\n| pear\\|x | 5 |"
        );
        assert_eq!(
            x.note.as_deref(),
            Some("Showing the first 2 of 3 data rows.")
        );
    }

    #[test]
    fn csv_columns_and_cells_are_capped() {
        let mut wide = vec![b','; 100_000];
        wide.extend_from_slice(b"\n1,2\n");
        let x = extract("text/csv", &wide, &budget(10)).unwrap();
        assert_eq!(x.text.matches('|').count(), 3 * 101);
        assert_eq!(
            x.note.as_deref(),
            Some("Showing the first 100 of 100001 columns.")
        );
        let long = format!("a\n{}\n", "x".repeat(5000));
        let x = extract("text/csv", long.as_bytes(), &budget(10)).unwrap();
        assert!(
            x.text
                .ends_with(&format!("| {}… |", "x".repeat(table::MAX_CELL_CHARS)))
        );
    }

    #[test]
    fn json_is_pretty_printed_and_checked() {
        let x = extract("application/json", br#"{"a":[1,2]}"#, &budget(10)).unwrap();
        assert_eq!(x.text, "{\n  \"a\": [\n    1,\n    2\n  ]\n}");
        assert!(matches!(
            extract("application/json", b"{nope", &budget(10)),
            Err(ExtractError::Invalid(_))
        ));
    }

    #[test]
    fn json_prints_as_a_value_did() {
        let doc = br#"{"s":"\u00e9\/\"q\"","n":[-0,1.0,2.5e10,18446744073709551616,-5],
            "e":{},"l":[],"z":null,"t":true,"x":{"y":[[{"k":"\ud83d\ude00"}]]}}"#;
        let value: serde_json::Value = serde_json::from_slice(doc).unwrap();
        let old = serde_json::to_string_pretty(&value).unwrap();
        assert_eq!(
            extract("application/json", doc, &budget(1)).unwrap().text,
            old
        );
    }

    #[test]
    fn json_output_stops_at_the_limit() {
        let nested = format!("{}{}", "[".repeat(100), "]".repeat(100));
        let doc = format!("[{}]", vec![nested.as_str(); 2000].join(","));
        let mut small = budget(1);
        small.max_chars = 1000;
        let x = extract("application/json", doc.as_bytes(), &small).unwrap();
        assert_eq!((x.text.chars().count(), x.truncated), (1000, true));
    }

    #[test]
    fn text_stops_at_the_limit_counting_characters() {
        let mut small = budget(1);
        small.max_chars = 2;
        let x = extract("text/plain", "héllo".as_bytes(), &small).unwrap();
        assert_eq!((x.text.as_str(), x.truncated), ("hé", true));
        let x = extract("text/plain", "hé".as_bytes(), &small).unwrap();
        assert_eq!((x.text.as_str(), x.truncated), ("hé", false));
    }

    #[test]
    fn broken_pdf_and_docx_are_invalid_not_panics() {
        assert!(matches!(
            extract("application/pdf", b"%PDF-1.4\ngarbage", &budget(10)),
            Err(ExtractError::Invalid(_))
        ));
        assert!(matches!(
            extract(DOCX, b"PK\x03\x04garbage", &budget(10)),
            Err(ExtractError::Invalid(_))
        ));
        assert!(matches!(
            extract("application/zip", b"PK", &budget(10)),
            Err(ExtractError::Unsupported(_))
        ));
    }
}
