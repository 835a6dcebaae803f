//! A JSON document pretty-printed, without ever holding it as a tree.
//!
//! First a validating pass that builds nothing (`IgnoredAny`), so an
//! invalid file is refused before any output; then the document is
//! transcoded token by token from serde_json's parser to its pretty
//! printer, into the bounded sink, which stops the printer once full. For
//! any document without duplicate keys the text is exactly what
//! `to_string_pretty(&Value)` printed before. Depends on serde_json and the
//! sink.

use std::cell::RefCell;
use std::fmt;
use std::io;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess};
use serde::ser::{self, SerializeMap, SerializeSeq};

use super::sink::Sink;
use super::{ExtractError, strip_bom};

pub fn read(bytes: &[u8], sink: &mut Sink) -> Result<(), ExtractError> {
    let bytes = strip_bom(bytes);
    let invalid = |e: String| ExtractError::Invalid(format!("it is not valid JSON: {e}"));
    serde_json::from_slice::<IgnoredAny>(bytes).map_err(|e| invalid(e.to_string()))?;
    let mut printer = serde_json::Serializer::pretty(Utf8Writer { sink });
    let mut parser = serde_json::Deserializer::from_slice(bytes);
    let result = ser::Serialize::serialize(&Transcoder::new(&mut parser), &mut printer);
    let sink = printer.into_inner().sink;
    match result {
        Ok(()) => Ok(()),
        Err(_) if sink.is_full() => Ok(()),
        Err(e) => Err(invalid(e.to_string())),
    }
}

/// serde_json's printer writes bytes; this hands characters to the sink.
/// The printer writes each piece whole (a punctuation mark, an indent, a
/// number, or a string's run between escapes), so each is valid UTF-8.
struct Utf8Writer<'s> {
    sink: &'s mut Sink,
}

impl io::Write for Utf8Writer<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = std::str::from_utf8(buf).map_err(io::Error::other)?;
        self.sink
            .push_str(text)
            .map_err(|_| io::Error::other("the text limit is reached"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

// A transcoder: the printer asks a value to serialize itself, and the value
// does so by parsing itself from the input straight into that printer; a
// sequence's elements and a map's keys and values likewise. Nothing parsed
// outlives its printing.

/// The next value of the input, printed when asked to serialize.
struct Transcoder<D>(RefCell<Option<D>>);

impl<D> Transcoder<D> {
    fn new(d: D) -> Self {
        Self(RefCell::new(Some(d)))
    }
}

impl<'de, D: de::Deserializer<'de>> ser::Serialize for Transcoder<D> {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self
            .0
            .borrow_mut()
            .take()
            .ok_or_else(|| ser::Error::custom("a value can be printed once"))?;
        d.deserialize_any(Visit(s)).map_err(ser::Error::custom)
    }
}

struct Visit<S>(S);

impl<'de, S: ser::Serializer> de::Visitor<'de> for Visit<S> {
    type Value = S::Ok;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<S::Ok, E> {
        self.0.serialize_bool(v).map_err(E::custom)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<S::Ok, E> {
        self.0.serialize_i64(v).map_err(E::custom)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<S::Ok, E> {
        self.0.serialize_u64(v).map_err(E::custom)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<S::Ok, E> {
        self.0.serialize_f64(v).map_err(E::custom)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<S::Ok, E> {
        self.0.serialize_str(v).map_err(E::custom)
    }
    fn visit_unit<E: de::Error>(self) -> Result<S::Ok, E> {
        self.0.serialize_unit().map_err(E::custom)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<S::Ok, A::Error> {
        let mut out = self.0.serialize_seq(None).map_err(de::Error::custom)?;
        while seq.next_element_seed(Element(&mut out))?.is_some() {}
        out.end().map_err(de::Error::custom)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<S::Ok, A::Error> {
        let mut out = self.0.serialize_map(None).map_err(de::Error::custom)?;
        while map.next_key_seed(Key(&mut out))?.is_some() {
            map.next_value_seed(Entry(&mut out))?;
        }
        out.end().map_err(de::Error::custom)
    }
}

/// Prints the sequence element the parser has found.
struct Element<'a, S>(&'a mut S);

impl<'de, S: SerializeSeq> DeserializeSeed<'de> for Element<'_, S> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.0
            .serialize_element(&Transcoder::new(d))
            .map_err(de::Error::custom)
    }
}

/// Prints the map key the parser has found.
struct Key<'a, S>(&'a mut S);

impl<'de, S: SerializeMap> DeserializeSeed<'de> for Key<'_, S> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.0
            .serialize_key(&Transcoder::new(d))
            .map_err(de::Error::custom)
    }
}

/// Prints the map value the parser has found.
struct Entry<'a, S>(&'a mut S);

impl<'de, S: SerializeMap> DeserializeSeed<'de> for Entry<'_, S> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.0
            .serialize_value(&Transcoder::new(d))
            .map_err(de::Error::custom)
    }
}
