//! Documents turned into text a model can read: PDF, DOCX, CSV (as a table),
//! JSON (pretty-printed) and plain text of any kind.
//!
//! Pure and synchronous (the caller runs it off the async threads); it knows
//! nothing of runs, models or protocols. Parsers of untrusted bytes are
//! bounded: zip entries are read up to a cap, a PDF parser panic is caught.

use std::io::{Cursor, Read};

use quick_xml::events::Event;

use super::detect::{DOCX, is_text, strip_bom};

/// Most decompressed XML a DOCX may hold: a guard against zip bombs.
const MAX_DOCX_XML_BYTES: u64 = 64 * 1024 * 1024;

/// A document's text, ready to be cut to the configured length.
#[derive(Debug, PartialEq)]
pub struct Extracted {
    pub text: String,
    /// Said to the model after the text (e.g. rows left out of a CSV).
    pub note: Option<String>,
}

#[derive(Debug, PartialEq)]
pub enum ExtractError {
    /// We read no text from this type; the file may still be referenced.
    Unsupported(String),
    /// The file claims a type it does not hold (a corrupt PDF): always refused.
    Invalid(String),
}

pub fn extract(mime: &str, bytes: &[u8], csv_max_rows: usize) -> Result<Extracted, ExtractError> {
    let plain = |text: String| Extracted { text, note: None };
    match mime {
        "application/pdf" => pdf(bytes).map(plain),
        DOCX => docx(bytes).map(plain),
        "text/csv" => csv_table(bytes, b',', csv_max_rows),
        "text/tab-separated-values" => csv_table(bytes, b'\t', csv_max_rows),
        "application/json" => json(bytes).map(plain),
        m if is_text(m) => utf8(bytes).map(|s| plain(s.to_string())),
        other => Err(ExtractError::Unsupported(format!(
            "no text can be read from {other} files (readable documents: PDF, DOCX, CSV, JSON, \
             plain text and Markdown)"
        ))),
    }
}

/// The first `max_chars` characters, and whether anything was cut.
pub fn cut(mut text: String, max_chars: usize) -> (String, bool) {
    match text.char_indices().nth(max_chars) {
        Some((at, _)) => {
            text.truncate(at);
            (text, true)
        }
        None => (text, false),
    }
}

fn utf8(bytes: &[u8]) -> Result<&str, ExtractError> {
    std::str::from_utf8(strip_bom(bytes))
        .map_err(|_| ExtractError::Invalid("its content is not UTF-8 text".into()))
}

fn pdf(bytes: &[u8]) -> Result<String, ExtractError> {
    // The parser panics on some malformed files; a bad upload must not.
    let result =
        std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem(bytes)).map_err(|_| {
            ExtractError::Invalid("it is not a readable PDF (its structure is broken)".into())
        })?;
    let text =
        result.map_err(|e| ExtractError::Invalid(format!("it is not a readable PDF: {e}")))?;
    Ok(tidy(&text))
}

/// Trailing spaces dropped and runs of blank lines folded into one.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines().map(str::trim_end) {
        if line.is_empty() {
            blank += 1;
            if blank > 1 || out.is_empty() {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_end().to_string()
}

fn docx(bytes: &[u8]) -> Result<String, ExtractError> {
    let invalid =
        |why: String| ExtractError::Invalid(format!("it is not a readable DOCX file: {why}"));
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| invalid(e.to_string()))?;
    let entry = archive
        .by_name("word/document.xml")
        .map_err(|_| invalid("it has no word/document.xml".into()))?;
    let mut xml = String::new();
    entry
        .take(MAX_DOCX_XML_BYTES + 1)
        .read_to_string(&mut xml)
        .map_err(|e| invalid(e.to_string()))?;
    if xml.len() as u64 > MAX_DOCX_XML_BYTES {
        return Err(invalid("its text is too large to read".into()));
    }
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut out = String::new();
    let mut in_text = false;
    loop {
        match reader.read_event().map_err(|e| invalid(e.to_string()))? {
            Event::Start(e) if e.local_name().as_ref() == "t" => in_text = true,
            Event::End(e) => match e.local_name().as_ref() {
                "t" => in_text = false,
                "p" | "tr" => out.push('\n'),
                "tc" => out.push('\t'),
                _ => {}
            },
            Event::Empty(e) => match e.local_name().as_ref() {
                "tab" => out.push('\t'),
                "br" | "cr" | "p" => out.push('\n'),
                _ => {}
            },
            Event::Text(t) if in_text => out.push_str(&t.xml10_content()),
            Event::CData(t) if in_text => out.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if in_text => match r.resolve_char_ref() {
                Ok(Some(c)) => out.push(c),
                _ => out.push_str(match &*r {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    _ => "",
                }),
            },
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(tidy(&out))
}

/// A CSV as a Markdown table: the header row and up to `max_rows` data rows.
fn csv_table(bytes: &[u8], delimiter: u8, max_rows: usize) -> Result<Extracted, ExtractError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(strip_bom(bytes));
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut total = 0usize;
    for record in reader.records() {
        let record =
            record.map_err(|e| ExtractError::Invalid(format!("it is not valid CSV: {e}")))?;
        total += 1;
        if rows.len() <= max_rows {
            rows.push(record.iter().map(cell).collect());
        }
    }
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut text = String::new();
    for (i, row) in rows.iter().enumerate() {
        text.push('|');
        for c in 0..width {
            text.push(' ');
            text.push_str(row.get(c).map_or("", String::as_str));
            text.push_str(" |");
        }
        text.push('\n');
        if i == 0 {
            text.push('|');
            text.push_str(&"---|".repeat(width));
            text.push('\n');
        }
    }
    let data_rows = total.saturating_sub(1);
    let note = (data_rows > max_rows)
        .then(|| format!("Showing the first {max_rows} of {data_rows} data rows."));
    Ok(Extracted {
        text: text.trim_end().to_string(),
        note,
    })
}

fn cell(value: &str) -> String {
    value.trim().replace('|', "\\|").replace(['\r', '\n'], " ")
}

fn json(bytes: &[u8]) -> Result<String, ExtractError> {
    let value: serde_json::Value = serde_json::from_slice(strip_bom(bytes))
        .map_err(|e| ExtractError::Invalid(format!("it is not valid JSON: {e}")))?;
    serde_json::to_string_pretty(&value)
        .map_err(|e| ExtractError::Invalid(format!("it is not valid JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_becomes_a_table_with_a_row_limit() {
        let x = extract("text/csv", b"name,qty\napple,3\npear|x,5\nfig,1\n", 2).unwrap();
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
    fn json_is_pretty_printed_and_checked() {
        let x = extract("application/json", br#"{"a":[1,2]}"#, 10).unwrap();
        assert_eq!(x.text, "{\n  \"a\": [\n    1,\n    2\n  ]\n}");
        assert!(matches!(
            extract("application/json", b"{nope", 10),
            Err(ExtractError::Invalid(_))
        ));
    }

    #[test]
    fn cut_counts_characters() {
        assert_eq!(cut("héllo".into(), 2), ("hé".into(), true));
        assert_eq!(cut("hé".into(), 2), ("hé".into(), false));
    }

    #[test]
    fn broken_pdf_and_docx_are_invalid_not_panics() {
        assert!(matches!(
            extract("application/pdf", b"%PDF-1.4\ngarbage", 10),
            Err(ExtractError::Invalid(_))
        ));
        assert!(matches!(
            extract(DOCX, b"PK\x03\x04garbage", 10),
            Err(ExtractError::Invalid(_))
        ));
        assert!(matches!(
            extract("application/zip", b"PK", 10),
            Err(ExtractError::Unsupported(_))
        ));
    }
}
