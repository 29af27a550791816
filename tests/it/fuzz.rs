//! Property tests: response parsing (numbers, blocks, error replies, framing) and the
//! simulators' command parsers never panic on arbitrary bytes; and the fuzz targets' seed
//! corpora (fuzz/corpus/TARGET, including every input a fuzzer once crashed on) replayed as
//! ordinary tests.

use std::sync::Arc;

use proptest::prelude::*;

use pvstation::instruments::drivers::hioki::decode;
use pvstation::scpi::Resource;
use pvstation::scpi::block::{
    ByteOrder, block_payload, decode_real32, decode_real64, encode_real64_block,
};
use pvstation::scpi::framing::{Framer, split_messages};
use pvstation::scpi::number::{parse_error_entry, parse_number, parse_number_list};
use pvstation::sim::device::SimDevice;
use pvstation::sim::fluke::Fluke5522a;
use pvstation::sim::hioki::HiokiBt356x;
use pvstation::sim::keithley::Keithley24xx;
use pvstation::sim::keysight::{Daq970a, DmmInput, Keysight34465a};
use pvstation::sim::switch::RelaySwitch;
use pvstation::sim::world::{World, WorldConfig};

fn scpi_like() -> impl Strategy<Value = Vec<u8>> {
    // Mostly SCPI-looking bytes, sometimes anything.
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        "[-+0-9.eE#,;:\"?() A-Za-z*@\\n\\r]{0,48}".prop_map(String::into_bytes),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic(bytes in scpi_like()) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse_number(&text);
        let _ = parse_number_list(&text);
        let _ = parse_error_entry(&text);
        let _ = decode(&text);
        let _ = Resource::parse(&text);
        let _ = block_payload(&bytes, b"\n");
        let _ = decode_real64(&bytes, ByteOrder::BigEndian);
        let _ = decode_real32(&bytes, ByteOrder::LittleEndian);
        for term in [&b"\n"[..], b"\r\n"] {
            let _ = split_messages(&bytes, term);
            // Incremental scanning must agree with scanning the whole buffer at once.
            let mut framer = Framer::new(term);
            let mut incremental = None;
            for end in 0..=bytes.len() {
                match framer.scan(&bytes[..end]) {
                    Ok(Some(n)) => { incremental = Some(Ok(n)); break; }
                    Ok(None) => {}
                    Err(e) => { incremental = Some(Err(e)); break; }
                }
            }
            let mut whole = Framer::new(term);
            let once = whole.scan(&bytes).transpose();
            // Every outcome agrees: a message of the same length, the same error, or both
            // waiting for more bytes.
            prop_assert_eq!(incremental, once);
        }
    }

    #[test]
    fn numbers_over_magnitudes(mantissa in 1.0f64..10.0, exponent in -12i32..=12, negative in any::<bool>()) {
        // Log-uniform over 1e-12 … 1e12, both signs: NR3 as instruments send it (Keithley
        // `+1.234560E-03`, Keysight `+1.23456789E-02`), Rust's shortest form, and NR2.
        let v = if negative { -1.0 } else { 1.0 } * mantissa * 10f64.powi(exponent);
        for text in [format!("{v:+.6E}"), format!("{v:+.8E}"), format!("{v:E}"), format!("{v}"), format!("{v:.15}")] {
            let expected: f64 = text.parse().expect("Rust reads its own output");
            prop_assert_eq!(parse_number(&text).ok().and_then(|n| n.value()), Some(expected), "{}", text);
        }
    }

    #[test]
    fn finite_numbers_round_trip(v in -1e30f64..1e30) {
        let text = format!("{v:E}");
        prop_assert_eq!(parse_number(&text).ok().and_then(|n| n.value()), Some(v));
    }

    #[test]
    fn real64_blocks_round_trip(values in proptest::collection::vec(-1e12f64..1e12, 0..50)) {
        for order in [ByteOrder::BigEndian, ByteOrder::LittleEndian] {
            let block = encode_real64_block(&values, order);
            let (messages, _) = split_messages(&[block.clone(), b"\n".to_vec()].concat(), b"\n").expect("frames");
            prop_assert_eq!(messages.len(), 1);
            let payload = block_payload(&block, b"\n").expect("complete");
            prop_assert_eq!(decode_real64(payload, order).expect("whole"), values.clone());
        }
    }

    #[test]
    fn simulators_never_panic(messages in proptest::collection::vec(scpi_like(), 1..8)) {
        let world = Arc::new(World::new(WorldConfig::default()));
        let now = world.config().start;
        let mut devices: Vec<Box<dyn SimDevice>> = vec![
            Box::new(Keithley24xx::new("2460", "1", world.clone(), 1)),
            Box::new(Keysight34465a::new("1", DmmInput::ReferenceShunt, world.clone(), 1)),
            Box::new(Daq970a::new("1", world.clone(), 1)),
            Box::new(HiokiBt356x::new("BT3562", world.clone(), 1)),
            Box::new(Fluke5522a::new("1", world.clone())),
            Box::new(RelaySwitch::new("1", 8, world.clone())),
        ];
        for device in &mut devices {
            for m in &messages {
                let _ = device.handle(m, now);
            }
        }
    }
}

/// Every seed (and former crash) of every fuzz target, replayed through the same entry point.
#[test]
fn fuzz_corpora_replay() {
    let root = crate::cli::repo("fuzz/corpus");
    for (target, entry) in pvstation::fuzzing::TARGETS {
        let dir = root.join(target);
        let files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(!files.is_empty(), "{target}: the seed corpus is empty");
        for file in files {
            let data = std::fs::read(&file).expect("corpus file");
            entry(&data);
        }
    }
}
