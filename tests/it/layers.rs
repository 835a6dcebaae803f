//! The house plan, checked: every module under `src/` imports only from its
//! own layer's lower neighbours (docs/ARCHITECTURE.md draws the picture).
//!
//! The test reads the source rather than trusting review: a `use
//! crate::engine::…` slipped into `store/` compiles, and it is exactly the
//! kind of change that, repeated, turns the layers back into a ball. A
//! failure names the file, the line and the rule it breaks.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The layers, bottom first. A module may import from a layer below its
/// own and from within its own top module, never from one above.
const LAYERS: &[(&str, u8)] = &[
    ("domain", 0),
    ("config", 1),
    ("net", 1),
    ("models", 2),
    ("tools", 2),
    ("store", 2),
    ("engine", 3),
    ("web", 4),
    ("protocols", 5),
    ("ui", 5),
    ("http", 6),
    // The crate root, the binary's entry and the fuzzing entry points sit
    // above everything: they assemble, nothing imports them.
    ("", 7),
    ("main", 7),
    ("fuzzing", 7),
];

/// Edges the rank alone would allow but the plan forbids: adapters reach
/// runs and sessions through the engine's API (the one door per-user
/// ownership is enforced at), never the store, models or tools directly;
/// peers of the same layer do not lean on each other.
const FORBIDDEN: &[(&str, &str, &str)] = &[
    (
        "protocols",
        "store",
        "adapters reach runs and sessions only through the engine",
    ),
    (
        "ui",
        "store",
        "the UI reaches runs and sessions only through the engine",
    ),
    (
        "protocols",
        "ui",
        "adapters and the UI are peers; shared code belongs in web",
    ),
    (
        "ui",
        "protocols",
        "adapters and the UI are peers; shared code belongs in web",
    ),
    ("store", "models", "peers of one layer stay independent"),
    ("store", "tools", "peers of one layer stay independent"),
    ("models", "store", "peers of one layer stay independent"),
    ("tools", "store", "peers of one layer stay independent"),
];

fn rank(top: &str) -> Option<u8> {
    LAYERS
        .iter()
        .find(|(name, _)| *name == top)
        .map(|(_, r)| *r)
}

/// The module path of a source file: `src/engine/live.rs` is
/// `["engine", "live"]`, `src/config/mod.rs` is `["config"]`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs").to_owned();
    if stem != "mod" && stem != "lib" {
        parts.push(stem);
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top modules a line of code names through `crate::`, including each
/// branch of a grouped `use crate::{a::X, b}`.
fn crate_refs(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        // `agentd::crate::` never occurs; skip idents that merely end in
        // "crate" (e.g. `xcrate::`).
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut item = String::new();
            let mut items = Vec::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        items.push(std::mem::take(&mut item));
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            items.push(item);
            for item in items {
                let head: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !head.is_empty() {
                    found.push(head);
                }
            }
        } else {
            let head: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !head.is_empty() {
                found.push(head);
            }
        }
    }
    found
}

fn strip_comment(line: &str) -> &str {
    match line.find("//") {
        Some(at) => &line[..at],
        None => line,
    }
}

#[test]
fn no_module_imports_from_a_layer_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut breaches = BTreeSet::new();
    let mut unknown = BTreeSet::new();
    for file in &files {
        let module = module_path(&src, file);
        let top = module.first().cloned().unwrap_or_default();
        // Extra binaries (src/bin) are entry points, like main.
        let top = if top == "bin" { "main".to_owned() } else { top };
        let Some(own) = rank(&top) else {
            unknown.insert(format!("{} (module `{top}`)", file.display()));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("readable source");
        for (n, line) in text.lines().enumerate() {
            for target in crate_refs(strip_comment(line)) {
                if target == top || target == "self" || target == "super" {
                    continue;
                }
                let at = format!("{}:{}", file.display(), n + 1);
                let Some(theirs) = rank(&target) else {
                    unknown.insert(format!("{at} names `crate::{target}`"));
                    continue;
                };
                if theirs >= own && !(own == 7 && theirs == 7) {
                    breaches.insert(format!(
                        "{at}: `{top}` (layer {own}) imports `{target}` (layer {theirs})"
                    ));
                }
                if let Some((_, _, why)) = FORBIDDEN
                    .iter()
                    .find(|(from, to, _)| *from == top && *to == target)
                {
                    breaches.insert(format!("{at}: `{top}` imports `{target}`: {why}"));
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "modules this test does not place in a layer (add them to LAYERS):\n{}",
        unknown.into_iter().collect::<Vec<_>>().join("\n")
    );
    assert!(
        breaches.is_empty(),
        "imports that break the layers of docs/ARCHITECTURE.md:\n{}",
        breaches.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn crate_refs_reads_plain_and_grouped_paths() {
    assert_eq!(crate_refs("use crate::engine::Event;"), ["engine"]);
    assert_eq!(
        crate_refs("use crate::{domain::Message, store::{A, B}, web};"),
        ["domain", "store", "web"]
    );
    assert_eq!(
        crate_refs("let x = crate::tools::builtin::NAMES.len();"),
        ["tools"]
    );
    assert!(crate_refs("let notcrate::x = 1;").is_empty());
}
