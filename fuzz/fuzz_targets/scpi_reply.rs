#![no_main]
//! Fuzz target `scpi_reply`: see `pvstation::fuzzing::scpi_reply`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| pvstation::fuzzing::scpi_reply(data));
