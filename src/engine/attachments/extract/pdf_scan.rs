//! What reading a PDF will cost, found before its text is read.
//!
//! pdf-extract runs a page's content stream and, for every `Do`, the drawn
//! XObject's stream in full, recursively: a form that draws itself recurses
//! until the stack overflows (a crash `catch_unwind` cannot catch), and
//! forms that each draw the next twice double the work per level. So the
//! graph of drawings is walked here first, the way pdf-extract will walk it
//! (same resources lookups, same inherited page entries), and the file is
//! refused on a cycle, on nesting deeper than [`MAX_DEPTH`], or when the
//! operators it would execute, counted with every drawing expanded (a
//! memoized, saturating count over the graph), exceed the budget.
//!
//! Depends on the PDF object model (lopdf, as pdf-extract re-exports it)
//! only; nothing here reads text.

use std::collections::{HashMap, HashSet};

use pdf_extract::content::Content;
use pdf_extract::{Dictionary, Document, Object, Stream};

/// Deepest nesting of drawn XObjects read. Real documents nest a few levels.
pub const MAX_DEPTH: usize = 16;

/// Longest chain of `/Parent` links followed for inherited page entries.
const MAX_PARENTS: usize = 64;

/// Why a PDF will not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A drawing draws itself, directly or through others.
    Cycle,
    /// Drawings nest deeper than [`MAX_DEPTH`].
    TooDeep,
    /// Reading would execute more operators than allowed (at least this many).
    TooManyOperators(u64),
    /// The page tree's `/Parent` links loop or run too long.
    PageTreeLoop,
}

impl Refusal {
    /// For the client, after "file 'x' could not be read within this
    /// server's limits: ".
    pub fn reason(&self, max_operators: u64) -> String {
        match self {
            Refusal::Cycle => "its pages draw a form that draws itself (a cycle)".into(),
            Refusal::TooDeep => {
                format!("its drawings nest more than {MAX_DEPTH} levels deep")
            }
            Refusal::TooManyOperators(n) => format!(
                "reading it would execute {} drawing operators, over the limit of {max_operators}",
                if *n == u64::MAX {
                    "more than 2^64".to_string()
                } else {
                    n.to_string()
                }
            ),
            Refusal::PageTreeLoop => "its page tree loops".into(),
        }
    }
}

/// The operators reading every page of `doc` would execute, or why it must
/// not be read.
pub fn check(doc: &Document, max_operators: u64) -> Result<u64, Refusal> {
    let mut walk = Walk {
        doc,
        memo: HashMap::new(),
        active: HashSet::new(),
    };
    let empty = Dictionary::new();
    let mut total = 0u64;
    for page_id in doc.get_pages().into_values() {
        let Ok(page) = doc.get_object(page_id).and_then(Object::as_dict) else {
            continue;
        };
        let resources = inherited_resources(doc, page)?.unwrap_or(&empty);
        let content = doc.get_page_content(page_id).unwrap_or_default();
        total = total.saturating_add(walk.stream(&content, resources, 0)?.operators);
        if total > max_operators {
            return Err(Refusal::TooManyOperators(total));
        }
    }
    Ok(total)
}

/// The page's `/Resources`, looked up its `/Parent` chain as pdf-extract
/// does; that chain (and `/MediaBox`'s, looked up the same way) must end.
fn inherited_resources<'a>(
    doc: &'a Document,
    page: &'a Dictionary,
) -> Result<Option<&'a Dictionary>, Refusal> {
    let mut resources = None;
    let mut media_box = false;
    let mut node = page;
    let mut seen = HashSet::new();
    for _ in 0..MAX_PARENTS {
        if resources.is_none() {
            resources = node
                .get(b"Resources")
                .ok()
                .and_then(|o| deref(doc, o))
                .and_then(|o| o.as_dict().ok());
        }
        media_box |= node.has(b"MediaBox");
        if resources.is_some() && media_box {
            return Ok(resources);
        }
        let Ok(parent) = node.get(b"Parent").and_then(Object::as_reference) else {
            return Ok(resources);
        };
        if !seen.insert(parent) {
            return Err(Refusal::PageTreeLoop);
        }
        match doc.get_dictionary(parent) {
            Ok(dict) => node = dict,
            Err(_) => return Ok(resources),
        }
    }
    Err(Refusal::PageTreeLoop)
}

/// Operators executed, and levels of drawings nested below.
#[derive(Clone, Copy)]
struct Cost {
    operators: u64,
    height: usize,
}

/// A drawing as pdf-extract runs it: the XObject's stream with the
/// resources it is run with (its own, or the drawer's when it has none).
type Key = (usize, usize);

struct Walk<'a> {
    doc: &'a Document,
    /// Operators executed by a drawing, with everything it draws, and how
    /// deep the drawings under it nest.
    memo: HashMap<Key, Cost>,
    /// Drawings on the current path: meeting one again is a cycle.
    active: HashSet<Key>,
}

impl<'a> Walk<'a> {
    /// Operators executed running `content` with `resources`, drawings
    /// expanded; `depth` is how many drawings it is nested in.
    fn stream(
        &mut self,
        content: &[u8],
        resources: &'a Dictionary,
        depth: usize,
    ) -> Result<Cost, Refusal> {
        // pdf-extract refuses (panics on) content it cannot decode; that is
        // its own, caught failure, not a cost.
        let Ok(content) = Content::decode(content) else {
            return Ok(Cost {
                operators: 0,
                height: 0,
            });
        };
        let mut total = Cost {
            operators: content.operations.len() as u64,
            height: 0,
        };
        for op in content.operations.iter().filter(|op| op.operator == "Do") {
            let Some(name) = op.operands.first().and_then(|o| o.as_name().ok()) else {
                continue;
            };
            let Some(xobject) = self.xobject(resources, name) else {
                continue;
            };
            let own = xobject
                .dict
                .get(b"Resources")
                .ok()
                .and_then(|o| deref(self.doc, o))
                .and_then(|o| o.as_dict().ok())
                .unwrap_or(resources);
            let key = (xobject as *const Stream as usize, own as *const _ as usize);
            let drawn = self.drawing(key, xobject, own, depth + 1)?;
            total.operators = total.operators.saturating_add(drawn.operators);
            total.height = total.height.max(drawn.height + 1);
        }
        Ok(total)
    }

    fn drawing(
        &mut self,
        key: Key,
        xobject: &'a Stream,
        resources: &'a Dictionary,
        depth: usize,
    ) -> Result<Cost, Refusal> {
        if let Some(&cost) = self.memo.get(&key) {
            // Met before at another depth: what it nests still counts here.
            if depth + cost.height > MAX_DEPTH {
                return Err(Refusal::TooDeep);
            }
            return Ok(cost);
        }
        if self.active.contains(&key) {
            return Err(Refusal::Cycle);
        }
        if depth > MAX_DEPTH {
            return Err(Refusal::TooDeep);
        }
        self.active.insert(key);
        // Decompressed as pdf-extract does: raw bytes when decoding fails.
        let content = if xobject.filters().is_ok() {
            xobject
                .decompressed_content()
                .unwrap_or_else(|_| xobject.content.clone())
        } else {
            xobject.content.clone()
        };
        let n = self.stream(&content, resources, depth);
        self.active.remove(&key);
        let n = n?;
        self.memo.insert(key, n);
        Ok(n)
    }

    /// The stream `/XObject /<name>` of `resources` names, if any.
    fn xobject(&self, resources: &'a Dictionary, name: &[u8]) -> Option<&'a Stream> {
        let dict = resources
            .get(b"XObject")
            .ok()
            .and_then(|o| deref(self.doc, o))?
            .as_dict()
            .ok()?;
        deref(self.doc, dict.get(name).ok()?)?.as_stream().ok()
    }
}

/// One reference followed, as pdf-extract follows them.
fn deref<'a>(doc: &'a Document, object: &'a Object) -> Option<&'a Object> {
    match object {
        Object::Reference(id) => doc.get_object(*id).ok(),
        other => Some(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-page PDF whose page draws `/X0`; `forms[i]` is the content of
    /// form `Xi`, which may draw `/X{i+1}` (and `/X{i}` draws itself).
    fn pdf(forms: &[&str]) -> Document {
        let first_form = 5;
        let mut objects = vec![
            "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 9 9] /Contents 4 0 R \
                 /Resources << /XObject << /X0 {first_form} 0 R >> >> >>"
            ),
            "<< /Length 6 >>\nstream\n/X0 Do\nendstream".to_string(),
        ];
        for (i, content) in forms.iter().enumerate() {
            let (this, next) = (first_form + i, first_form + i + 1);
            objects.push(format!(
                "<< /Type /XObject /Subtype /Form /BBox [0 0 1 1] /Resources << /XObject \
                 << /X{i} {this} 0 R /X{} {next} 0 R >> >> /Length {} >>\nstream\n{content}\nendstream",
                i + 1,
                content.len()
            ));
        }
        let mut out = b"%PDF-1.4\n".to_vec();
        let mut offsets = Vec::new();
        for (i, object) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
        }
        let xref = out.len();
        let n = objects.len() + 1;
        out.extend_from_slice(format!("xref\n0 {n}\n0000000000 65535 f \n").as_bytes());
        for offset in offsets {
            out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!("trailer\n<< /Size {n} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
        );
        Document::load_mem(&out).expect("a loadable PDF")
    }

    #[test]
    fn drawings_are_counted_expanded() {
        // Page: 1 op; X0: 6 + 2 * X1; X1: 6 + 2 * X2; X2: 3.
        let doubling = "q /X1 Do Q q /X1 Do Q";
        let next = doubling.replace("X1", "X2");
        let doc = pdf(&[doubling, &next, "0 0 m 1 1 l S"]);
        assert_eq!(check(&doc, 1000), Ok(1 + 6 + 2 * (6 + 2 * 3)));
        assert_eq!(check(&doc, 30), Err(Refusal::TooManyOperators(31)));
    }

    #[test]
    fn a_form_that_draws_itself_is_a_cycle() {
        assert_eq!(check(&pdf(&["/X0 Do"]), u64::MAX), Err(Refusal::Cycle));
        // Reached through another form, too.
        let doc = pdf(&["/X1 Do", "/X1 Do"]);
        assert_eq!(check(&doc, u64::MAX), Err(Refusal::Cycle));
        let doc = pdf(&["/X1 Do", "0 0 m"]);
        assert_eq!(check(&doc, u64::MAX), Ok(1 + 1 + 1));
    }

    #[test]
    fn a_doubling_bomb_is_refused_without_running_it() {
        let forms: Vec<String> = (0..14)
            .map(|i| format!("/X{} Do /X{} Do", i + 1, i + 1))
            .chain(std::iter::once("0 0 m".to_string()))
            .collect();
        let forms: Vec<&str> = forms.iter().map(String::as_str).collect();
        assert!(matches!(
            check(&pdf(&forms), 10_000),
            Err(Refusal::TooManyOperators(_))
        ));
    }

    #[test]
    fn nesting_deeper_than_the_cap_is_refused() {
        let chain = |levels: usize| {
            let forms: Vec<String> = (0..levels)
                .map(|i| format!("/X{} Do", i + 1))
                .chain(std::iter::once("0 0 m".to_string()))
                .collect();
            let forms: Vec<&str> = forms.iter().map(String::as_str).collect();
            check(&pdf(&forms), u64::MAX)
        };
        assert!(chain(MAX_DEPTH - 1).is_ok());
        assert_eq!(chain(MAX_DEPTH + 1), Err(Refusal::TooDeep));
    }
}
