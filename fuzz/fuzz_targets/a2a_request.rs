//! A2A's JSON-RPC envelope as the endpoint checks it, then a message's
//! params turned into the engine's input message.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| agentd::fuzzing::a2a_request(data));
