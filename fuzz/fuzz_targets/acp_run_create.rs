//! ACP's run-create body, then each input message turned into the
//! engine's (parts, base64 content, URLs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| agentd::fuzzing::acp_run_create(data));
