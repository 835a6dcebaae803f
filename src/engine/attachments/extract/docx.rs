//! A DOCX file's text: `word/document.xml` streamed out of the zip and
//! through the XML reader into the sink, never held whole.
//!
//! A zip entry says how large it inflates to; one that says more than
//! [`MAX_XML_BYTES`] is refused before inflating, and since it can lie the
//! read is capped at that size too. Depends on zip, quick-xml and the sink.

use std::io::{BufReader, Cursor, Read};

use quick_xml::events::Event;

use super::ExtractError;
use super::sink::{Full, Sink};

/// Most decompressed XML a DOCX may hold: a guard against zip bombs. Real
/// documents' XML is a few megabytes at most.
pub const MAX_XML_BYTES: u64 = 64 * 1024 * 1024;

pub fn read(bytes: &[u8], sink: &mut Sink) -> Result<(), ExtractError> {
    let invalid =
        |why: String| ExtractError::Invalid(format!("it is not a readable DOCX file: {why}"));
    let too_large = || {
        ExtractError::OverBudget(format!(
            "its text inflates to more than {MAX_XML_BYTES} bytes"
        ))
    };
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| invalid(e.to_string()))?;
    let entry = archive
        .by_name("word/document.xml")
        .map_err(|_| invalid("it has no word/document.xml".into()))?;
    if entry.size() > MAX_XML_BYTES {
        return Err(too_large());
    }
    let mut capped = Capped {
        inner: entry,
        left: MAX_XML_BYTES,
        over: false,
    };
    let result = text(&mut capped, sink);
    if capped.over {
        return Err(too_large());
    }
    match result {
        Ok(()) | Err(Stop::Full) => Ok(()),
        Err(Stop::Xml(e)) => Err(invalid(e)),
    }
}

enum Stop {
    Full,
    Xml(String),
}

impl From<Full> for Stop {
    fn from(_: Full) -> Self {
        Stop::Full
    }
}

/// The text of the document XML: runs' text, tabs and breaks, paragraphs
/// and table rows as lines, cells separated by tabs.
fn text(xml: impl Read, sink: &mut Sink) -> Result<(), Stop> {
    let mut reader = quick_xml::Reader::from_reader(BufReader::new(xml));
    let mut buf = Vec::new();
    let mut in_text = false;
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| Stop::Xml(e.to_string()))?;
        match event {
            Event::Start(e) if e.local_name().as_ref() == "t" => in_text = true,
            Event::End(e) => match e.local_name().as_ref() {
                "t" => in_text = false,
                "p" | "tr" => sink.push('\n')?,
                "tc" => sink.push('\t')?,
                _ => {}
            },
            Event::Empty(e) => match e.local_name().as_ref() {
                "tab" => sink.push('\t')?,
                "br" | "cr" | "p" => sink.push('\n')?,
                _ => {}
            },
            Event::Text(t) if in_text => {
                let t = t.xml10_content();
                sink.push_str(&t)?;
            }
            Event::CData(t) if in_text => {
                let t = t.xml10_content();
                sink.push_str(&t)?;
            }
            Event::GeneralRef(r) if in_text => match r.resolve_char_ref() {
                Ok(Some(c)) => sink.push(c)?,
                _ => sink.push_str(match r.as_ref() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    _ => "",
                })?,
            },
            Event::Eof => return Ok(()),
            _ => {}
        }
        buf.clear();
    }
}

/// A reader that ends after `left` bytes and notes whether more came.
struct Capped<R> {
    inner: R,
    left: u64,
    over: bool,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            // One byte more than allowed tells a lie from an exact fit.
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? > 0 {
                self.over = true;
                return Err(std::io::Error::other("the text is over its size limit"));
            }
            return Ok(0);
        }
        let max = buf.len().min(self.left.try_into().unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        self.left -= n as u64;
        Ok(n)
    }
}
