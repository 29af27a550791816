#![no_main]
//! Fuzz target `station_toml`: see `pvstation::fuzzing::station_toml`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| pvstation::fuzzing::station_toml(data));
