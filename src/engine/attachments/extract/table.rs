//! A CSV (or TSV) file as a Markdown table: the header row and the first
//! data rows, every row as wide as the widest shown.
//!
//! Bounded whatever the file: columns past `csv_max_columns` and cell text
//! past [`MAX_CELL_CHARS`] are left out (and said to be), rows are kept
//! only while the table fits the character limit, and the rest of the file
//! is only counted, one field at a time (a row is never held whole).
//! Depends on csv-core and the sink.

use super::sink::Sink;
use super::{Budget, ExtractError, Extracted, strip_bom};

/// Characters of one cell shown; longer cells end with "…".
pub const MAX_CELL_CHARS: usize = 1000;

pub fn read(bytes: &[u8], delimiter: u8, budget: &Budget) -> Result<Extracted, ExtractError> {
    let mut reader = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
    let mut input = strip_bom(bytes);
    let max_columns = budget.csv_max_columns.max(1);
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut row: Vec<String> = Vec::new();
    // Characters of the rows kept so far, roughly as they will be shown.
    let mut kept_chars = 0usize;
    let mut total = 0usize;
    let mut columns = 0usize;
    let mut widest = 0usize;
    let mut long_cells = false;
    // Enough bytes of a field for MAX_CELL_CHARS characters and one more.
    let field_cap = 4 * (MAX_CELL_CHARS + 1);
    let mut field: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 4096];
    // Whether the record being read is kept, decided at its start.
    let mut row_kept = true;
    loop {
        // Empty input is the end of the file to the reader.
        let (result, read, written) = reader.read_field(input, &mut chunk);
        input = &input[read..];
        let keep = row_kept && columns < max_columns;
        if keep && field.len() < field_cap {
            let room = field_cap - field.len();
            field.extend_from_slice(&chunk[..written.min(room)]);
        }
        match result {
            csv_core::ReadFieldResult::InputEmpty | csv_core::ReadFieldResult::OutputFull => {}
            csv_core::ReadFieldResult::Field { record_end } => {
                if keep {
                    let (value, cut) = cell(&String::from_utf8_lossy(&field));
                    long_cells |= cut;
                    kept_chars += value.chars().count() + 3;
                    row.push(value);
                }
                field.clear();
                columns += 1;
                if record_end {
                    total += 1;
                    widest = widest.max(columns);
                    columns = 0;
                    if row_kept {
                        rows.push(std::mem::take(&mut row));
                    }
                    row_kept = rows.len() <= budget.csv_max_rows && kept_chars <= budget.max_chars;
                }
            }
            csv_core::ReadFieldResult::End => break,
        }
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
