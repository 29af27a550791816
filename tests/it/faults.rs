//! One test per fault kind: a typed error naming instrument and command, or recovery where the
//! operation is idempotent; never a hang past the timeout; never a panic.

use std::time::{Duration, Instant};

use pvstation::instruments::InstrumentsError;
use pvstation::scpi::iolog::Direction;
use pvstation::scpi::{IoLog, Resource, ScpiError, Session, SessionConfig};
use pvstation::sim::station::{SimOptions, SimulatedStation};

use crate::e2e::{demo_station, quick_sweep, start};

fn faults(spec: &str) -> SimOptions {
    SimOptions {
        faults: Some(spec.to_string()),
        ..SimOptions::default()
    }
}

async fn session_to(sim: &SimulatedStation, name: &str, timeout_ms: u64) -> (Session, IoLog) {
    let served = sim.served.iter().find(|s| s.name == name).expect("served");
    let mut config = SessionConfig::new(name, Resource::parse(&served.resource).expect("resource"));
    config.timeout = Duration::from_millis(timeout_ms);
    let log = IoLog::new();
    (Session::new(config, log.clone()), log)
}

async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("never a hang")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_beyond_the_timeout_is_a_timeout_naming_the_command() {
    bounded(async {
        let sim = SimulatedStation::start(&demo_station(), &faults("irradiance-dmm:latency=300"))
            .await
            .expect("sim");
        let (mut slow, _) = session_to(&sim, "irradiance-dmm", 100).await;
        let started = Instant::now();
        match slow.query_once("*IDN?").await {
            Err(ScpiError::Timeout {
                instrument,
                command,
                ..
            }) => {
                assert_eq!(
                    (instrument.as_str(), command.as_str()),
                    ("irradiance-dmm", "*IDN?")
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "returned at the timeout"
        );
        let (mut patient, _) = session_to(&sim, "irradiance-dmm", 2000).await;
        assert!(
            patient
                .idn()
                .await
                .expect("slow but fine")
                .contains("34465A")
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_reply_is_retried_for_idempotent_queries() {
    bounded(async {
        let sim = SimulatedStation::start(&demo_station(), &faults("irradiance-dmm:no-reply@1"))
            .await
            .expect("sim");
        let (mut dmm, log) = session_to(&sim, "irradiance-dmm", 300).await;
        let idn = dmm.idn().await.expect("recovered by reconnect and retry");
        assert!(idn.contains("34465A"));
        let events: Vec<String> = log
            .snapshot()
            .iter()
            .filter(|r| r.direction == Direction::Event)
            .map(|r| String::from_utf8_lossy(&r.bytes).into_owned())
            .collect();
        assert!(
            events.iter().any(|e| e.starts_with("timeout")),
            "{events:?}"
        );
        assert!(
            events.iter().any(|e| e.starts_with("retry 1 of *IDN?")),
            "{events:?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_reply_to_a_non_idempotent_query_is_an_error() {
    bounded(async {
        let sim = SimulatedStation::start(&demo_station(), &faults("irradiance-dmm:no-reply@1"))
            .await
            .expect("sim");
        let (mut dmm, _) = session_to(&sim, "irradiance-dmm", 300).await;
        let err = dmm.query_once("READ?").await.expect_err("no reply");
        assert!(
            matches!(err, ScpiError::Timeout { ref command, .. } if command == "READ?"),
            "{err:?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connection_is_recovered_for_idempotent_queries() {
    bounded(async {
        let sim = SimulatedStation::start(&demo_station(), &faults("switch:drop@2"))
            .await
            .expect("sim");
        let (mut sw, _) = session_to(&sim, "switch", 1000).await;
        sw.idn().await.expect("first message fine");
        // Second message: the instrument drops the connection; the retry reconnects.
        assert!(sw.idn().await.expect("recovered").contains("RELAY-8"));
        let (mut once, _) = session_to(&sim, "switch", 1000).await;
        once.idn().await.expect("later messages are fine");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_dropped_mid_sweep_is_a_typed_error_and_the_next_sweep_works() {
    bounded(async {
        let (_, _sim, mut bench, _) = start(faults("smu:drop=sweep")).await;
        let tracer = bench.iv_tracer.as_mut().expect("tracer");
        let err = tracer.sweep(&quick_sweep()).await.expect_err("dropped");
        match &err {
            InstrumentsError::Scpi(ScpiError::Io {
                instrument,
                command,
                ..
            }) => {
                assert_eq!((instrument.as_str(), command.as_str()), ("smu", "*OPC?"));
            }
            other => panic!("unexpected {other:?}"),
        }
        let curves = tracer
            .sweep(&quick_sweep())
            .await
            .expect("reconnected sweep");
        assert_eq!(curves[0].points.len(), 41);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_is_a_garbled_error_or_recovered_by_retry() {
    bounded(async {
        let sim = SimulatedStation::start(&demo_station(), &faults("irradiance-dmm:garbage@1")).await.expect("sim");
        let (mut dmm, _) = session_to(&sim, "irradiance-dmm", 1000).await;
        let err = dmm.query_once("*IDN?").await.expect_err("garbage");
        assert!(matches!(err, ScpiError::Garbled { ref instrument, .. } if instrument == "irradiance-dmm"), "{err:?}");
        assert!(dmm.idn().await.expect("next reply fine").contains("34465A"));

        let sim = SimulatedStation::start(&demo_station(), &faults("irradiance-dmm:garbage@1")).await.expect("sim");
        let (mut dmm, _) = session_to(&sim, "irradiance-dmm", 1000).await;
        assert!(dmm.idn().await.expect("retried").contains("34465A"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instrument_errors_name_instrument_command_and_code() {
    bounded(async {
        let (_, _sim, mut bench, _) = start(faults("switch:error=-240@1")).await;
        let err = bench
            .switch
            .as_mut()
            .expect("switch")
            .select(Some(2))
            .await
            .expect_err("hardware error");
        match err {
            InstrumentsError::Scpi(ScpiError::Instrument {
                instrument,
                command,
                code,
                ..
            }) => {
                assert_eq!(
                    (instrument.as_str(), command.as_str(), code),
                    ("switch", "ROUT:CLOS", -240)
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        // ESR-only instrument: the injected error shows as a class bit.
        let (_, _sim, mut bench, _) = start(faults("tester:error=-222@3")).await;
        let err = bench
            .resistance_meter
            .as_mut()
            .expect("tester")
            .read()
            .await
            .expect_err("execution error");
        match err {
            InstrumentsError::Scpi(ScpiError::Instrument {
                instrument,
                command,
                code,
                ..
            }) => {
                assert_eq!(
                    (instrument.as_str(), command.as_str(), code),
                    ("tester", ":FUNC RV", -200)
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reboot_loses_settings_and_the_drivers_recover() {
    bounded(async {
        // The SMU reboots at its 3rd message (mid-configuration) and closes the socket: the
        // driver notices the reconnect and sends the whole configuration again.
        let (_, sim, mut bench, log) = start(faults("smu:reboot@3,tester:reboot@4")).await;
        let tracer = bench.iv_tracer.as_mut().expect("tracer");
        let curves = tracer
            .sweep(&quick_sweep())
            .await
            .expect("configuration re-sent");
        assert_eq!(curves[0].points.len(), 41);
        let connects = log
            .snapshot()
            .iter()
            .filter(|r| {
                r.instrument == "smu" && r.direction == Direction::Event && r.bytes == b"connect"
            })
            .count();
        assert_eq!(connects, 2, "reconnected once after the reboot");
        let (mut smu, _) = session_to(&sim, "smu", 1000).await;
        assert!(
            smu.idn()
                .await
                .expect("identity after reboot")
                .contains("MODEL 2460")
        );

        // The tester reboots on its pseudo-terminal at its 4th message (an *ESR? during
        // setup): the serial line stays, the lost reply times out and is retried, the
        // power-on bit reveals the reboot, and the setup is sent again.
        bench
            .switch
            .as_mut()
            .expect("switch")
            .select(Some(2))
            .await
            .expect("select");
        let tester = bench.resistance_meter.as_mut().expect("tester");
        let reading = tester.read().await.expect("recovered across the reboot");
        assert!(
            (reading.resistance - 10.0e-3).abs() < 0.1e-3,
            "{}",
            reading.resistance
        );
        let setups = log
            .snapshot()
            .iter()
            .filter(|r| {
                r.instrument == "tester"
                    && r.direction == Direction::Write
                    && r.bytes.starts_with(b":FUNC RV")
            })
            .count();
        assert_eq!(setups, 2, "setup sent again after the reboot");
    })
    .await;
}
