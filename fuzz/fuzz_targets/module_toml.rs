#![no_main]
//! Fuzz target `module_toml`: see `pvstation::fuzzing::module_toml`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| pvstation::fuzzing::module_toml(data));
