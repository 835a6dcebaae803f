//! Where extracted text goes: a writer that holds at most the configured
//! number of characters and says so as soon as it is full, so a parser can
//! stop there instead of building the whole text and cutting it after.
//!
//! Knows nothing of file formats; the readers beside it feed it.

/// The sink refused text: it holds `max` characters already. A reader
/// that gets this stops reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// Text up to a character limit, optionally tidied as it comes: trailing
/// spaces of each line dropped, runs of blank lines folded into one, no
/// leading or trailing blank lines (what PDF and DOCX text needs).
#[derive(Debug)]
pub struct Sink {
    out: String,
    chars: usize,
    max: usize,
    full: bool,
    tidy: Option<Tidy>,
}

/// The tidy mode's state: whitespace and line breaks are held back until
/// the next visible character shows they are not trailing.
#[derive(Debug, Default)]
struct Tidy {
    /// The current line has had a visible character.
    content: bool,
    /// Blank lines seen since the last line with content.
    blank: usize,
    /// Line breaks owed before the next visible character.
    breaks: usize,
    /// Whitespace of the current line since its last visible character.
    /// Never longer than the limit: more could not be shown anyway.
    spaces: String,
}

impl Sink {
    /// Text kept as it comes.
    pub fn plain(max: usize) -> Self {
        Self {
            out: String::new(),
            chars: 0,
            max,
            full: false,
            tidy: None,
        }
    }

    /// Text tidied as it comes (see [`Sink`]).
    pub fn tidy(max: usize) -> Self {
        Self {
            tidy: Some(Tidy::default()),
            ..Self::plain(max)
        }
    }

    pub fn is_full(&self) -> bool {
        self.full
    }

    pub fn push_str(&mut self, s: &str) -> Result<(), Full> {
        if self.tidy.is_none() && self.chars + s.len() <= self.max {
            // Fast path: even at one byte per character it fits.
            self.out.push_str(s);
            self.chars += s.chars().count();
            return Ok(());
        }
        s.chars().try_for_each(|c| self.push(c))
    }

    pub fn push(&mut self, c: char) -> Result<(), Full> {
        let Some(tidy) = self.tidy.as_mut() else {
            return self.emit(c);
        };
        if c == '\n' {
            if tidy.content {
                tidy.breaks += 1;
            } else {
                tidy.blank += 1;
                if tidy.blank == 1 && self.chars > 0 {
                    tidy.breaks += 1;
                }
            }
            tidy.content = false;
            tidy.spaces.clear();
            return Ok(());
        }
        if c.is_whitespace() {
            if tidy.spaces.len() <= self.max {
                tidy.spaces.push(c);
            }
            return Ok(());
        }
        tidy.content = true;
        tidy.blank = 0;
        let breaks = std::mem::take(&mut tidy.breaks);
        let spaces = std::mem::take(&mut tidy.spaces);
        for _ in 0..breaks {
            self.emit('\n')?;
        }
        for s in spaces.chars() {
            self.emit(s)?;
        }
        self.emit(c)
    }

    fn emit(&mut self, c: char) -> Result<(), Full> {
        if self.chars >= self.max {
            self.full = true;
            return Err(Full);
        }
        self.out.push(c);
        self.chars += 1;
        Ok(())
    }

    /// The text, and whether any was refused for the limit.
    pub fn finish(self) -> (String, bool) {
        (self.out, self.full)
    }
}

/// Lets `write!` and the PDF reader's text device write here; a full sink
/// is a formatting error to them, which ends their work.
impl std::fmt::Write for Sink {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.push_str(s).map_err(|Full| std::fmt::Error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tidied(text: &str, max: usize) -> (String, bool) {
        let mut sink = Sink::tidy(max);
        let _ = sink.push_str(text);
        sink.finish()
    }

    #[test]
    fn tidy_folds_blank_lines_and_drops_trailing_space() {
        assert_eq!(
            tidied("\n\n  \nTitle  \n\n\n\nbody\tx \r\nend \n\n", 100),
            ("Title\n\nbody\tx\nend".to_string(), false)
        );
    }

    #[test]
    fn full_only_when_visible_text_is_refused() {
        assert_eq!(tidied("abc   \n\n\n", 3), ("abc".to_string(), false));
        assert_eq!(tidied("abc d", 4), ("abc ".to_string(), true));
        let mut sink = Sink::plain(2);
        assert_eq!(sink.push_str("hé"), Ok(()));
        assert_eq!(sink.push_str("x"), Err(Full));
        assert_eq!(sink.finish(), ("hé".to_string(), true));
    }
}
