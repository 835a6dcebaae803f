//! A CSV (or TSV) file as a Markdown table: the header row and the first
//! data rows, every row as wide as the widest shown.
//!
//! Bounded whatever the file: columns past `csv_max_columns` and cell text
//! past [`MAX_CELL_CHARS`] are left out (and said to be), rows are kept
//! only while the table fits the character limit, and the rest of the file
//! is only counted, one reused record at a time. Depends on csv and the sink.

use super::sink::Sink;
use super::{Budget, ExtractError, Extracted, strip_bom};

/// Characters of one cell shown; longer cells end with "…".
pub const MAX_CELL_CHARS: usize = 1000;

pub fn read(bytes: &[u8], delimiter: u8, budget: &Budget) -> Result<Extracted, ExtractError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(strip_bom(bytes));
    let max_columns = budget.csv_max_columns.max(1);
    let mut rows: Vec<Vec<String>> = Vec::new();
    // Characters of the rows kept so far, roughly as they will be shown.
    let mut kept_chars = 0usize;
    let mut total = 0usize;
    let mut widest = 0usize;
    let mut long_cells = false;
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(ExtractError::Invalid(format!("it is not valid CSV: {e}"))),
        }
        total += 1;
        widest = widest.max(record.len());
        if rows.len() > budget.csv_max_rows || kept_chars > budget.max_chars {
            continue;
        }
        let mut row = Vec::with_capacity(record.len().min(max_columns));
        for field in record.iter().take(max_columns) {
            let text = std::str::from_utf8(field)
                .map_err(|_| ExtractError::Invalid("it is not valid CSV: not UTF-8".into()))?;
            let (value, cut) = cell(text);
            long_cells |= cut;
            kept_chars += value.chars().count() + 3;
            row.push(value);
        }
        rows.push(row);
    }
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut sink = Sink::plain(budget.max_chars);
    // Stops at the character limit: the rest is cut.
    let _ = write_table(&rows, width, &mut sink);
    let (text, truncated) = sink.finish();
    let mut notes = Vec::new();
    let data_rows = total.saturating_sub(1);
    let max_rows = budget.csv_max_rows;
    if data_rows > max_rows {
        notes.push(format!(
            "Showing the first {max_rows} of {data_rows} data rows."
        ));
    }
    if widest > max_columns {
        notes.push(format!(
            "Showing the first {max_columns} of {widest} columns."
        ));
    }
    if long_cells {
        notes.push(format!(
            "Cells longer than {MAX_CELL_CHARS} characters are cut."
        ));
    }
    Ok(Extracted {
        text,
        note: (!notes.is_empty()).then(|| notes.join(" ")),
        truncated,
    })
}

fn write_table(rows: &[Vec<String>], width: usize, sink: &mut Sink) -> Result<(), std::fmt::Error> {
    use std::fmt::Write;
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            sink.write_char('\n')?;
        }
        sink.write_char('|')?;
        for c in 0..width {
            sink.write_char(' ')?;
            sink.write_str(row.get(c).map_or("", String::as_str))?;
            sink.write_str(" |")?;
        }
        if i == 0 {
            sink.write_str("\n|")?;
            for _ in 0..width {
                sink.write_str("---|")?;
            }
        }
    }
    Ok(())
}

/// A cell as a table shows it, and whether it was cut.
fn cell(value: &str) -> (String, bool) {
    let value = value.trim();
    let (value, cut) = match value.char_indices().nth(MAX_CELL_CHARS) {
        Some((at, _)) => (&value[..at], true),
        None => (value, false),
    };
    let mut shown = value.replace('|', "\\|").replace(['\r', '\n'], " ");
    if cut {
        shown.push('…');
    }
    (shown, cut)
}
