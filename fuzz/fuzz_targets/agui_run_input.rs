//! AG-UI's RunAgentInput as the run endpoint parses it, then turned into
//! the conversation and client tools the engine gets.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| agentd::fuzzing::agui_run_input(data));
