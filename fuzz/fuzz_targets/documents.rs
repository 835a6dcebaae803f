//! Every document reader (PDF, DOCX, CSV, TSV, JSON, text) over arbitrary
//! bytes, in process, with the default `[files]` budget: the first byte
//! picks the type. Nothing may panic past the readers' own guards, hang,
//! or take memory out of proportion.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let types = agentd::fuzzing::DOCUMENT_TYPES;
    agentd::fuzzing::document(types[usize::from(pick) % types.len()], bytes);
});
