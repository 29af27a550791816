//! SCPI client benchmarks (issue 2 targets):
//! - query round trip to a simulated instrument on loopback vs a raw TCP echo of the same
//!   bytes in the same run (target: overhead ≤ 25 µs median);
//! - decode of 10^6 REAL,64 values from a definite block (target ≥ 1 GB/s), plus framing
//!   the same block out of a byte stream;
//! - Modbus RTU (issue 14): a read of 10 holding registers from the simulated weather station
//!   through a pseudo-terminal at 115 200 baud (silent interval 1.75 ms each way), median.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use pvstation::scpi::block::{ByteOrder, block_payload, decode_real64, encode_real64_block};
use pvstation::scpi::framing::Framer;
use pvstation::scpi::{IoLog, Resource, Session, SessionConfig};
use pvstation::sim::server::{SimInstrument, Wire, serve_tcp};
use pvstation::sim::switch::RelaySwitch;
use pvstation::sim::world::{World, WorldConfig};

const QUERY: &[u8] = b"*IDN?\n";

fn round_trip(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let world = Arc::new(World::new(WorldConfig::default()));
    let device = RelaySwitch::new("0001", 8, world.clone());
    let instrument = Arc::new(SimInstrument::new(
        "switch",
        Box::new(device),
        Wire::lf(),
        Vec::new(),
    ));
    let (sim_port, reply_len) = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(serve_tcp(listener, instrument, world));
        (port, "PVSTATION,RELAY-8,0001,1.0\n".len())
    });
    // The echo server answers every line with a reply of the same length as the simulator's.
    let echo_port = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let _ = s.set_nodelay(true);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let mut reply = vec![b'x'; reply_len - 1];
                    reply.push(b'\n');
                    loop {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => {
                                if buf[..n].contains(&b'\n') && s.write_all(&reply).await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                });
            }
        });
        port
    });

    let mut group = c.benchmark_group("query_round_trip");
    let resource =
        Resource::parse(&format!("TCPIP::127.0.0.1::{sim_port}::SOCKET")).expect("resource");
    let mut session = Session::new(SessionConfig::new("switch", resource), IoLog::new());
    rt.block_on(session.connect()).expect("connect");
    group.bench_function("session_query_idn_simulated_switch", |b| {
        b.iter(|| black_box(rt.block_on(session.query("*IDN?")).expect("reply")))
    });
    let mut raw = rt.block_on(async {
        let s = TcpStream::connect(("127.0.0.1", echo_port))
            .await
            .expect("connect");
        s.set_nodelay(true).expect("nodelay");
        s
    });
    let mut buf = vec![0u8; 4096];
    group.bench_function("raw_tcp_echo_same_bytes", |b| {
        b.iter(|| {
            rt.block_on(async {
                raw.write_all(QUERY).await.expect("write");
                let mut got = 0;
                while got < reply_len {
                    got += raw.read(&mut buf[got..]).await.expect("read");
                }
                black_box(got)
            })
        })
    });
    group.finish();
}

fn block_decode(c: &mut Criterion) {
    let values: Vec<f64> = (0..1_000_000).map(|k| (k as f64).sin() * 5.0).collect();
    let block = encode_real64_block(&values, ByteOrder::LittleEndian);
    let mut message = block.clone();
    message.push(b'\n');
    let mut group = c.benchmark_group("real64_block");
    group.throughput(Throughput::Bytes(8_000_000));
    group.bench_function("decode_1e6_values", |b| {
        b.iter(|| {
            let payload = block_payload(black_box(&block), b"\n").expect("payload");
            black_box(decode_real64(payload, ByteOrder::LittleEndian).expect("values"))
        })
    });
    group.bench_function("frame_and_decode_1e6_values", |b| {
        b.iter(|| {
            let mut framer = Framer::new(b"\n");
            let len = framer
                .scan(black_box(&message))
                .expect("frames")
                .expect("complete");
            let payload = block_payload(&message[..len], b"\n").expect("payload");
            black_box(decode_real64(payload, ByteOrder::LittleEndian).expect("values"))
        })
    });
    group.finish();
}

fn modbus_rtu(c: &mut Criterion) {
    use pvstation::instruments::modbus::ModbusProfile;
    use pvstation::modbus::{Client, Framing};
    use pvstation::sim::modbus::{ModbusSim, SimSensor, serve_rtu};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let world = Arc::new(World::new(WorldConfig::default()));
    let profile = ModbusProfile::built_in("pvstation-weather").expect("profile");
    let sim = Arc::new(ModbusSim::new(profile, world, SimSensor::Weather, 1));
    let mut client = rt.block_on(async {
        let (a, b) = tokio_serial::SerialStream::pair().expect("pseudo-terminal pair");
        tokio::spawn(serve_rtu(sim, b, 115_200));
        Client::new(a, Framing::Rtu { baud: 115_200 }, 1, "MODBUS-RTU::pty::1")
    });
    c.bench_function("modbus rtu: 10 registers via pty", |b| {
        b.iter(|| black_box(rt.block_on(client.read(false, 2, 10)).expect("registers")))
    });
}

criterion_group!(benches, round_trip, block_decode, modbus_rtu);
criterion_main!(benches);
