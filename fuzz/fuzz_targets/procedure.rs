#![no_main]
//! Fuzz target `procedure`: see `pvstation::fuzzing::procedure`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| pvstation::fuzzing::procedure(data));
