//! SCPI client benchmarks (issue 2 targets):
//! - query round trip to a simulated instrument on loopback vs a raw TCP echo of the same
//!   bytes in the same run (target: overhead ≤ 25 µs median);
//! - decode of 10^6 REAL,64 values from a definite block (target ≥ 1 GB/s), plus framing
//!   the same block out of a byte stream;
//! - Modbus RTU (issue 14): a read of 10 holding registers from the simulated weather station
//!   through a pseudo-terminal at 115 200 baud (silent interval 1.75 ms each way), median;
//!   and a spectrum of 161 F32 values (322 registers in three requests, scan counter before
//!   and after) read from the simulated spectroradiometer over Modbus TCP on loopback and
//!   journaled durably as a `read_spectrum` activity with its raw scan (WAL, fsync), median.
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

fn modbus_spectrum(c: &mut Criterion) {
    use pvstation::engine::journal::Recorder;
    use pvstation::instruments::modbus::{ModbusInstrument, ModbusProfile};
    use pvstation::modbus::{Client, Framing};
    use pvstation::sim::modbus::{ModbusSim, SimSensor, serve_tcp as serve_modbus_tcp};
    use pvstation::store::db::{Database, RunStart, sha256_hex};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let world = Arc::new(World::new(WorldConfig::default()));
    let profile = ModbusProfile::built_in("pvstation-spectroradiometer").expect("profile");
    let sim = Arc::new(ModbusSim::new(
        profile.clone(),
        world.clone(),
        SimSensor::Spectrum,
        1,
    ));
    let mut radiometer = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_modbus_tcp(sim.clone(), stream));
            }
        });
        let stream = TcpStream::connect(address).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let client = Client::new(stream, Framing::Tcp, 1, "MODBUS-TCP::127.0.0.1::502::1");
        ModbusInstrument::new(profile, client, "MODBUS-TCP::127.0.0.1::502::1")
    });
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-db");
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("spectrum.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let mut recorder = Recorder::start(
        Database::open(&path).expect("db"),
        &RunStart {
            id: "spectrum".into(),
            procedure: "sky".into(),
            procedure_hash: sha256_hex(b"script"),
            parameters: "{}".into(),
            operator: "bench".into(),
            software_version: "0.1.0".into(),
            station: "{}".into(),
            started_at: 0.0,
        },
        world.clone(),
    )
    .expect("recorder");
    c.bench_function(
        "modbus spectrum: 161 values read over TCP and journaled",
        |b| {
            b.iter(|| {
                let scan = rt.block_on(radiometer.read_spectrum()).expect("spectrum");
                let raw = serde_json::to_string(&scan).expect("json");
                let v: serde_json::Value = recorder
                    .activity("read_spectrum", &serde_json::json!({}), |_| {
                        Ok((
                            serde_json::json!({"points": scan.irradiance.len()}),
                            vec![("spectrum".to_string(), raw)],
                        ))
                    })
                    .expect("journal");
                black_box(v)
            })
        },
    );
}

criterion_group!(
    benches,
    round_trip,
    block_decode,
    modbus_rtu,
    modbus_spectrum
);
criterion_main!(benches);
