//! Entry points of the fuzz targets (`fuzz/fuzz_targets/*.rs`, run with `cargo fuzz`) and of
//! their corpus replay in `cargo test` (tests/it/fuzz.rs): each takes arbitrary bytes — what a
//! garbled line, a broken file or a hostile user can hand pvstation — and must return without
//! panicking, hanging or allocating without bound. Where an answer can be cross-checked, it is
//! (incremental and one-shot framing must agree; a parsed number must be a number).

use std::path::Path;

use crate::analysis::curve::parse_csv_bytes;
use crate::analysis::extract::extract;
use crate::analysis::module::Module;
use crate::instruments::drivers::hioki;
use crate::instruments::profile::Profiles;
use crate::instruments::station::Station;
use crate::scpi::block::{ByteOrder, block_header, block_payload, decode_real32, decode_real64};
use crate::scpi::framing::Framer;
use crate::scpi::number::{parse_error_entry, parse_number, parse_number_list};
use crate::uncertainty::model_file::ModelFile;

/// A fuzz target's entry point.
pub type Target = fn(&[u8]);

/// The targets by name, as `cargo fuzz` and the corpus replay know them.
pub const TARGETS: &[(&str, Target)] = &[
    ("scpi_reply", scpi_reply),
    ("ieee_block", ieee_block),
    ("curve_csv", curve_csv),
    ("station_toml", station_toml),
    ("module_toml", module_toml),
    ("model_toml", model_toml),
    ("procedure", procedure),
];

/// An instrument's reply: framing (incremental equals one-shot, for every outcome), numbers,
/// lists, error-queue entries, Hioki's fixed-width fields.
pub fn scpi_reply(data: &[u8]) {
    for terminator in [&b"\n"[..], b"\r\n"] {
        let whole = Framer::with_limit(terminator, 4096).scan(data);
        let mut framer = Framer::with_limit(terminator, 4096);
        let mut incremental = Ok(None);
        for end in 0..=data.len() {
            incremental = framer.scan(&data[..end]);
            if !matches!(incremental, Ok(None)) {
                break;
            }
        }
        assert_eq!(
            incremental, whole,
            "incremental and one-shot framing disagree"
        );
    }
    let text = String::from_utf8_lossy(data);
    if let Ok(n) = parse_number(&text) {
        let _ = n.value();
    }
    let _ = parse_number_list(&text);
    let _ = parse_error_entry(&text);
    for field in text.split(',') {
        let _ = hioki::decode(field);
    }
}

/// An IEEE 488.2 arbitrary block and its REAL,32/64 payload in both byte orders.
pub fn ieee_block(data: &[u8]) {
    let _ = block_header(data);
    if let Ok(payload) = block_payload(data, b"\n") {
        for order in [ByteOrder::BigEndian, ByteOrder::LittleEndian] {
            if let Ok(values) = decode_real64(payload, order) {
                assert_eq!(values.len() * 8, payload.len());
            }
            if let Ok(values) = decode_real32(payload, order) {
                assert_eq!(values.len() * 4, payload.len());
            }
        }
    }
}

/// A curve file: every curve it holds is validated and, when valid, extracted.
pub fn curve_csv(data: &[u8]) {
    if let Ok(curves) = parse_csv_bytes(data) {
        for c in curves.iter().take(64) {
            if c.data.validate().is_ok() {
                let _ = extract(&c.data);
            }
        }
    }
}

/// A station file (instruments, references, certificates) against the built-in profiles.
pub fn station_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(profiles) = Profiles::built_in() {
        let _ = Station::parse(Path::new("fuzz.toml"), text, profiles);
    }
}

/// A module file (temperature coefficients and IEC 60891 parameters).
pub fn module_toml(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(m) = Module::from_toml(text)
    {
        let _ = (m.alpha(), m.beta(), m.alpha_rel(), m.beta_rel());
    }
}

/// An uncertainty model file: parsed, and the model evaluated at its estimates.
pub fn model_toml(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(model) = ModelFile::parse("fuzz.toml", text)
    {
        let x: Vec<f64> = model.problem.inputs.iter().map(|i| i.value).collect();
        let _ = model.eval(&x);
    }
}

/// A procedure script: compiled and its declaration read (nothing runs against a station).
pub fn procedure(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crate::engine::procedure::Procedure::load("fuzz.rhai", text);
    }
}
