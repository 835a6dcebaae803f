//! Every document reader (PDF, DOCX, CSV, TSV, JSON, text) over arbitrary
//! bytes, in process, with the default `[files]` budget: the first byte
//! picks the type. Nothing may panic past the readers' own guards, hang,
//! or take memory out of proportion.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The PDF parsers panic on some malformed files, and agentd catches
    // those panics (the file is refused as invalid); libfuzzer-sys's hook
    // would abort on them before they are caught. A panic that escapes
    // agentd still aborts: libfuzzer-sys catches it around this closure.
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let types = agentd::fuzzing::DOCUMENT_TYPES;
    agentd::fuzzing::document(types[usize::from(pick) % types.len()], bytes);
});
