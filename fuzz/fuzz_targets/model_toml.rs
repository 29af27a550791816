#![no_main]
//! Fuzz target `model_toml`: see `pvstation::fuzzing::model_toml`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| pvstation::fuzzing::model_toml(data));
