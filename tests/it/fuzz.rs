//! Property tests: response parsing (numbers, blocks, error replies, framing) and the
//! simulators' command parsers never panic on arbitrary bytes.

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
            if let (Some(Ok(a)), Some(Ok(b))) = (&incremental, &once) {
                prop_assert_eq!(a, b);
            }
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
