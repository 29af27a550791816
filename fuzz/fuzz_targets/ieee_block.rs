#![no_main]
//! Fuzz target `ieee_block`: see `pvstation::fuzzing::ieee_block`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| pvstation::fuzzing::ieee_block(data));
