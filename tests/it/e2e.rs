//! Every driver against its simulator: SCPI instruments over real TCP sockets, the serial
//! instruments (Hioki, Fluke) over real pseudo-terminals opened by path through the
//! production serial code.

use std::time::Duration;

use pvstation::instruments::bench::Bench;
use pvstation::instruments::profile::Profiles;
use pvstation::instruments::roles::{SweepMode, SweepSettings};
use pvstation::instruments::station::{DEMO_SIM_STATION, Station};
use pvstation::model::SharedClock;
use pvstation::model::SweepDirection;
use pvstation::scpi::IoLog;
use pvstation::sim::station::{SimOptions, SimulatedStation};

pub fn demo_station() -> Station {
    Station::parse(
        std::path::Path::new("demo-sim.toml"),
        DEMO_SIM_STATION,
        Profiles::built_in().expect("profiles"),
    )
    .expect("demo station")
}

pub async fn start(options: SimOptions) -> (Station, SimulatedStation, Bench, IoLog) {
    let station = demo_station();
    let sim = SimulatedStation::start(&station, &options)
        .await
        .expect("simulated station");
    let clock: SharedClock = sim.world.clone();
    let log = IoLog::new();
    let bench = Bench::new(&station, &sim.resources(), &log, &clock).expect("bench");
    (station, sim, bench, log)
}

/// A quick sweep for tests: 41 points at 0.1 PLC.
pub fn quick_sweep() -> SweepSettings {
    SweepSettings {
        points: 41,
        nplc: 0.1,
        delay: 0.0,
        ..SweepSettings::default()
    }
}

async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), f)
        .await
        .expect("no hang")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_driver_against_its_simulator() {
    within(async {
        let (station, sim, mut bench, log) = start(SimOptions {
            speed: Some(5.0),
            ..SimOptions::default()
        })
        .await;
        // The serial instruments really are on pseudo-terminals.
        for name in ["tester", "calibrator"] {
            let served = sim.served.iter().find(|s| s.name == name).expect("served");
            assert!(
                served.resource.starts_with("ASRL/dev/pts/"),
                "{}",
                served.resource
            );
        }
        for inst in bench.instruments() {
            let idn = inst.identify().await.expect("identify");
            assert!(!idn.is_empty());
        }

        let temperatures = bench
            .thermometer
            .as_mut()
            .expect("thermometer")
            .read_temperatures()
            .await
            .expect("scan");
        assert_eq!(temperatures.len(), 6);
        let world = sim.world.clone();
        let now = world.now();
        let back = world.module_back_temperature(now, 0);
        assert!(
            (temperatures[0].temperature - back).abs() < 0.5,
            "{} vs {back}",
            temperatures[0].temperature
        );

        let cell = temperatures
            .iter()
            .find(|t| t.sensor == "reference_cell")
            .expect("cell")
            .temperature;
        let g = bench
            .irradiance_meter
            .as_mut()
            .expect("meter")
            .read_irradiance(cell)
            .await
            .expect("irradiance");
        let truth = world.reference_cell_irradiance(world.now());
        // The reference cell's certificate value, shunt and coefficient equal the simulated
        // cell's, so the reading follows what the cell sees (its own spectral and angular
        // response) within noise and the sky's change meanwhile.
        assert!(
            (g.irradiance - truth).abs() < 0.02 * truth,
            "{} vs {truth}",
            g.irradiance
        );

        let tracer = bench.iv_tracer.as_mut().expect("tracer");
        let curves = tracer.sweep(&quick_sweep()).await.expect("sweep");
        let c = &curves[0];
        assert_eq!(c.points.len(), 41);
        let t = world.now();
        let isc_truth = world.module_current(0.0, t);
        assert!(
            (c.points[1].current - isc_truth).abs() < 0.05 * isc_truth,
            "{} vs {isc_truth}",
            c.points[1].current
        );
        assert!(
            c.points.last().expect("points").current < 0.0,
            "sweep reaches the fourth quadrant"
        );
        assert!(c.points.windows(2).all(|w| w[1].time > w[0].time));

        let dual = SweepSettings {
            mode: SweepMode::Dual,
            binary: true,
            ..quick_sweep()
        };
        let curves = tracer.sweep(&dual).await.expect("dual binary sweep");
        assert_eq!(curves.len(), 2);
        assert_eq!(curves[1].direction, SweepDirection::Reverse);
        assert_eq!(curves[1].points.len(), 40);

        let standard = station.reference("SR-100m").expect("standard");
        bench
            .switch
            .as_mut()
            .expect("switch")
            .select(standard.switch_channel)
            .await
            .expect("select");
        bench
            .source
            .as_mut()
            .expect("source")
            .set_voltage(12.5)
            .await
            .expect("source");
        let reading = bench
            .resistance_meter
            .as_mut()
            .expect("tester")
            .read()
            .await
            .expect("reading");
        let e = world.tester;
        let expected = standard.certificate.value * (1.0 + e.resistance_gain) + e.resistance_offset;
        assert!(
            (reading.resistance - expected).abs() < 2e-5,
            "{} vs {expected}",
            reading.resistance
        );
        assert!((reading.voltage - 12.5).abs() < 0.01, "{}", reading.voltage);

        // Open input: the tester reports a measurement fault, as a typed error.
        bench
            .switch
            .as_mut()
            .expect("switch")
            .select(None)
            .await
            .expect("open");
        let err = bench
            .resistance_meter
            .as_mut()
            .expect("tester")
            .read()
            .await
            .expect_err("open input");
        assert!(err.to_string().contains("measurement fault"), "{err}");

        assert!(bench.safe_state().await.is_empty());
        assert!(!world.calibrator().operate);
        assert_eq!(world.closed_switch(), None);
        assert!(log.snapshot().len() > 50, "every exchange is logged");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serial_instruments_also_over_tcp() {
    within(async {
        let (_, sim, mut bench, _) = start(SimOptions {
            serial_over_tcp: true,
            ..SimOptions::default()
        })
        .await;
        let served = sim
            .served
            .iter()
            .find(|s| s.name == "tester")
            .expect("tester");
        assert!(served.resource.starts_with("TCPIP::127.0.0.1::"));
        bench
            .source
            .as_mut()
            .expect("source")
            .set_voltage(1.0)
            .await
            .expect("source");
        let err = bench
            .resistance_meter
            .as_mut()
            .expect("tester")
            .read()
            .await
            .expect_err("no standard");
        assert!(err.to_string().contains("measurement fault"), "{err}");
        // The calibrator on its pseudo-terminal (or TCP) reached the world: 1 V, operating.
        let out = sim.world.calibrator();
        assert!(out.operate && out.volts == 1.0, "{out:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinned_ports_new_profiles_and_real_stations() {
    within(async {
        // A station directory of its own, with a profile that is not built in: a new model of
        // a known dialect needs only its profile file.
        let dir = crate::cli::tempdir("profiles");
        std::fs::create_dir_all(dir.join("stations")).expect("dirs");
        let profile = include_str!("../../instruments/keithley-2460.toml")
            .replace("id = \"keithley-2460\"", "id = \"lab-smu\"");
        std::fs::write(dir.join("lab-smu.toml"), profile).expect("profile");
        let free = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let station_text = DEMO_SIM_STATION.replacen(
            "profile = \"keithley-2460\"\nrole = \"iv_tracer\"\nresource = \"sim\"",
            &format!("profile = \"lab-smu\"\nrole = \"iv_tracer\"\nresource = \"TCPIP::127.0.0.1::{free}::SOCKET\""),
            1,
        );
        assert_ne!(station_text, DEMO_SIM_STATION);
        let path = dir.join("stations").join("lab.toml");
        std::fs::write(&path, &station_text).expect("station");
        let station = Station::load(&path).expect("loads with the directory's profile");
        assert_eq!(station.profile_of(&station.file.instrument[0]).expect("profile").source, dir.join("lab-smu.toml").display().to_string());

        let sim = SimulatedStation::start(&station, &SimOptions::default()).await.expect("sim");
        assert_eq!(sim.served[0].resource, format!("TCPIP::127.0.0.1::{free}::SOCKET"));
        let ephemeral = SimulatedStation::start(&station, &SimOptions { ephemeral: true, ..SimOptions::default() })
            .await
            .expect("sim");
        assert_ne!(ephemeral.served[0].resource, sim.served[0].resource);
        // The pinned port is taken now: a clear error, not a panic.
        let err = SimulatedStation::start(&station, &SimOptions::default()).await.err().expect("port taken").to_string();
        assert!(err.contains(&format!("port {free}")) && err.contains("--ephemeral"), "{err}");

        // Each instrument at an address of its own (one address cannot be two instruments).
        let mut real = station_text.replacen("simulated = true", "simulated = false", 1);
        // The Modbus sensors on one RS-485 gateway, each at its own unit address.
        let mut unit = 1;
        while real.contains("resource = \"sim\"\nsensor") {
            real = real.replacen("resource = \"sim\"\nsensor", &format!("resource = \"MODBUS-TCP::192.0.2.200::502::{unit}\"\nsensor"), 1);
            unit += 1;
        }
        let mut host = 1;
        while real.contains("resource = \"sim\"") {
            real = real.replacen("resource = \"sim\"", &format!("resource = \"TCPIP::192.0.2.{host}::5025::SOCKET\""), 1);
            host += 1;
        }
        std::fs::write(&path, real).expect("station");
        let station = Station::load(&path).expect("valid real station");
        let err = SimulatedStation::start(&station, &SimOptions::default()).await.err().expect("not simulated").to_string();
        assert!(err.contains("station.simulated"), "{err}");
    })
    .await;
}
