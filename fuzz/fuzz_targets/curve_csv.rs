#![no_main]
//! Fuzz target `curve_csv`: see `pvstation::fuzzing::curve_csv`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| pvstation::fuzzing::curve_csv(data));
