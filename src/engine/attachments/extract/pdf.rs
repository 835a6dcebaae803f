//! A PDF's text, read within a budget: the drawing graph is checked first
//! (`pdf_scan`), then pdf-extract writes the text into the bounded sink
//! through a device that also watches the clock. A full sink or a passed
//! deadline ends pdf-extract's work at its next character.
//!
//! Depends on pdf-extract and the sink only.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use pdf_extract::{
    ColorSpace, ConvertToFmt, Document, MediaBox, OutputDev, OutputError, Path, PlainTextOutput,
    Transform,
};

use super::pdf_scan;
use super::sink::Sink;
use super::{Budget, ExtractError};

pub fn read(bytes: &[u8], budget: &Budget, sink: &mut Sink) -> Result<(), ExtractError> {
    let started = Instant::now();
    let deadline = started + budget.time_limit();
    let broken =
        || ExtractError::Invalid("it is not a readable PDF (its structure is broken)".into());
    // The parsers panic on some malformed files; a bad upload must not.
    let mut doc = catch_unwind(|| Document::load_mem(bytes))
        .map_err(|_| broken())?
        .map_err(|e| ExtractError::Invalid(format!("it is not a readable PDF: {e}")))?;
    if doc.is_encrypted() {
        doc.decrypt("")
            .map_err(|e| ExtractError::Invalid(format!("it is not a readable PDF: {e}")))?;
    }
    catch_unwind(AssertUnwindSafe(|| {
        pdf_scan::check(&doc, budget.pdf_max_operators)
    }))
    .map_err(|_| broken())?
    .map_err(|r| ExtractError::OverBudget(r.reason(budget.pdf_max_operators)))?;
    let mut device = Device {
        text: PlainTextOutput::new(&mut *sink),
        deadline,
        late: false,
    };
    let result = catch_unwind(AssertUnwindSafe(|| {
        pdf_extract::output_doc(&doc, &mut device)
    }));
    // The device's last use: the sink it borrowed is free again below.
    let late = device.late;
    if late {
        return Err(ExtractError::OverBudget(format!(
            "reading it took longer than {} s",
            budget.time_limit().as_secs_f64()
        )));
    }
    match result {
        Ok(Ok(())) => Ok(()),
        // The sink is full: the text wanted is read.
        Ok(Err(OutputError::FormatError(_))) if sink.is_full() => Ok(()),
        Ok(Err(e)) => Err(ExtractError::Invalid(format!(
            "it is not a readable PDF: {e}"
        ))),
        Err(_) => Err(broken()),
    }
}

impl<'a> ConvertToFmt for &'a mut Sink {
    type Writer = &'a mut Sink;
    fn convert(self) -> Self::Writer {
        self
    }
}

/// pdf-extract's plain-text device, with a deadline checked on each call.
struct Device<'a> {
    text: PlainTextOutput<&'a mut Sink>,
    deadline: Instant,
    late: bool,
}

impl Device<'_> {
    fn clock(&mut self) -> Result<(), OutputError> {
        if Instant::now() > self.deadline {
            self.late = true;
            return Err(OutputError::FormatError(std::fmt::Error));
        }
        Ok(())
    }
}

impl OutputDev for Device<'_> {
    fn begin_page(
        &mut self,
        page_num: u32,
        media_box: &MediaBox,
        art_box: Option<(f64, f64, f64, f64)>,
    ) -> Result<(), OutputError> {
        self.clock()?;
        self.text.begin_page(page_num, media_box, art_box)
    }

    fn end_page(&mut self) -> Result<(), OutputError> {
        self.text.end_page()
    }

    fn output_character(
        &mut self,
        trm: &Transform,
        width: f64,
        spacing: f64,
        font_size: f64,
        char: &str,
    ) -> Result<(), OutputError> {
        self.clock()?;
        self.text
            .output_character(trm, width, spacing, font_size, char)
    }

    fn begin_word(&mut self) -> Result<(), OutputError> {
        self.text.begin_word()
    }

    fn end_word(&mut self) -> Result<(), OutputError> {
        self.text.end_word()
    }

    fn end_line(&mut self) -> Result<(), OutputError> {
        self.text.end_line()
    }

    fn stroke(
        &mut self,
        _ctm: &Transform,
        _colorspace: &ColorSpace,
        _color: &[f64],
        _path: &Path,
    ) -> Result<(), OutputError> {
        self.clock()
    }

    fn fill(
        &mut self,
        _ctm: &Transform,
        _colorspace: &ColorSpace,
        _color: &[f64],
        _path: &Path,
    ) -> Result<(), OutputError> {
        self.clock()
    }
}
