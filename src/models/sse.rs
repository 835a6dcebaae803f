//! Server-sent events as model servers send them: a byte stream cut into
//! events by the WHATWG event-stream rules (lines end in LF, CRLF or CR; a
//! blank line ends an event; `:` starts a comment; one space after a field's
//! colon is dropped; a leading BOM is skipped; an event cut off by the end of
//! the stream is dropped).
//!
//! Only what the backends read is kept: the event name and its data. `id`
//! and `retry` are for browsers that reconnect; a model request is never
//! resumed, so they are read and dropped.
//!
//! Hand-written rather than the eventsource-stream crate: its parser (nom)
//! spent ~790 instructions a line, 3% of a whole non-streaming run and more
//! of a streaming one (callgrind, bench/count_instructions.py); this finds
//! line ends with memchr's vectorised search. Knows nothing of HTTP or of
//! any provider.

use std::borrow::Cow;

/// One event: its name (`message` when it gave none) and its data lines
/// joined with `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// Most events have no name: `message` is then not allocated per event.
    pub event: Cow<'static, str>,
    pub data: String,
}

/// The longest line (and event data) accepted: a server that never ends a
/// line must not grow the buffer without bound.
const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SseError {
    #[error("the event stream is not UTF-8")]
    NotUtf8,
    #[error("an event-stream line or event exceeded {MAX_LINE_BYTES} bytes")]
    TooLong,
}

/// Cuts bytes into events, keeping what a chunk left unfinished.
#[derive(Debug, Default)]
pub struct Decoder {
    /// The start of a line the last chunk did not end.
    partial: Vec<u8>,
    event: String,
    /// Data lines so far, each followed by `\n` (the spec's data buffer).
    data: String,
    /// The last chunk ended in CR: an LF starting the next one belongs to it.
    after_cr: bool,
    /// Past the first line (where a BOM would be).
    started: bool,
}

impl Decoder {
    /// Reads `bytes` and appends every event they complete to `out`.
    pub fn feed(&mut self, mut bytes: &[u8], out: &mut Vec<SseEvent>) -> Result<(), SseError> {
        if std::mem::take(&mut self.after_cr) && bytes.first() == Some(&b'\n') {
            bytes = &bytes[1..];
        }
        while let Some(end) = memchr::memchr2(b'\n', b'\r', bytes) {
            if self.partial.is_empty() {
                self.line(&bytes[..end], out)?;
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&bytes[..end]);
                self.line(&line, out)?;
                line.clear();
                self.partial = line;
            }
            let ended_by_cr = bytes[end] == b'\r';
            bytes = &bytes[end + 1..];
            if ended_by_cr {
                match bytes.first() {
                    Some(b'\n') => bytes = &bytes[1..],
                    None => self.after_cr = true,
                    Some(_) => {}
                }
            }
        }
        if self.partial.len() + bytes.len() > MAX_LINE_BYTES {
            return Err(SseError::TooLong);
        }
        self.partial.extend_from_slice(bytes);
        Ok(())
    }

    fn line(&mut self, mut line: &[u8], out: &mut Vec<SseEvent>) -> Result<(), SseError> {
        // The stream's first line starts where the stream does: a BOM there
        // is not part of it.
        if !std::mem::replace(&mut self.started, true) {
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        }
        if line.is_empty() {
            self.dispatch(out);
            return Ok(());
        }
        if line[0] == b':' {
            return Ok(());
        }
        let line = std::str::from_utf8(line).map_err(|_| SseError::NotUtf8)?;
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => value.clone_into(&mut self.event),
            "data" => {
                if self.data.len() + value.len() >= MAX_LINE_BYTES {
                    return Err(SseError::TooLong);
                }
                // Room for the line break too: no second allocation for
                // it (an event's data is mostly one line).
                self.data.reserve(value.len() + 1);
                self.data.push_str(value);
                self.data.push('\n');
            }
            _ => {}
        }
        Ok(())
    }

    /// Ends the event: one with no data line is not an event (the spec).
    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        let event = std::mem::take(&mut self.event);
        if self.data.is_empty() {
            return;
        }
        let mut data = std::mem::take(&mut self.data);
        data.pop();
        let event = match event.is_empty() {
            true => Cow::Borrowed("message"),
            false => Cow::Owned(event),
        };
        out.push(SseEvent { event, data });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(chunks: &[&[u8]]) -> Result<Vec<SseEvent>, SseError> {
        let mut decoder = Decoder::default();
        let mut out = Vec::new();
        for chunk in chunks {
            decoder.feed(chunk, &mut out)?;
        }
        Ok(out)
    }

    fn ev(event: &str, data: &str) -> SseEvent {
        SseEvent {
            event: event.to_string().into(),
            data: data.into(),
        }
    }

    const STREAM: &[u8] = "\u{feff}event: message_start\r\ndata: {\"a\":1}\r\n\r\n\
        : keep-alive\r\n\
        data:no space\rdata:  two spaces\r\rid: 7\nretry: 10\ndata\n\n\
        event: ping\n\n\
        data: é ✓\ndata: second line\n\n\
        data: cut off by the end"
        .as_bytes();

    fn expected() -> Vec<SseEvent> {
        vec![
            ev("message_start", "{\"a\":1}"),
            ev("message", "no space\n two spaces"),
            ev("message", ""),
            ev("message", "é ✓\nsecond line"),
        ]
    }

    #[test]
    fn whole_stream_follows_the_event_stream_rules() {
        assert_eq!(decode(&[STREAM]).unwrap(), expected());
    }

    #[test]
    fn any_cut_into_chunks_gives_the_same_events() {
        for cut in 0..=STREAM.len() {
            let (a, b) = STREAM.split_at(cut);
            assert_eq!(decode(&[a, b]).unwrap(), expected(), "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = STREAM.chunks(1).collect();
        assert_eq!(decode(&bytes).unwrap(), expected());
    }

    #[test]
    fn bad_bytes_and_endless_lines_are_errors() {
        assert_eq!(decode(&[b"data: \xff\n\n"]), Err(SseError::NotUtf8));
        let long = vec![b'x'; MAX_LINE_BYTES / 2 + 1];
        assert_eq!(decode(&[&long, &long]), Err(SseError::TooLong));
    }
}
