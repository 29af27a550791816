//! Protocol transcripts of every driver command: exact bytes in order, every pair consumed
//! (`TranscriptHandle::finish`). Terminators come from each model's profile, as in use.

use std::sync::Arc;

use pvstation::analysis::irradiance::irradiance_from_reference;
use pvstation::instruments::InstrumentsError;
use pvstation::instruments::drivers::{
    Base, fluke, hioki, keithley, keysight, session_config, switch,
};
use pvstation::instruments::profile::{Profile, Profiles};
use pvstation::instruments::roles::{
    Instrument, IrradianceMeter, IvTracer, ResistanceMeter, Source, SweepMode, SweepSettings,
    Switch, SystemClock, Thermometer,
};
use pvstation::instruments::station::{DEMO_SIM_STATION, InstrumentEntry, Station};
use pvstation::model::SharedClock;
use pvstation::model::SweepDirection;
use pvstation::scpi::block::{ByteOrder, encode_real64_block};
use pvstation::scpi::transcript::{TranscriptHandle, transcript, transcript_bytes};
use pvstation::scpi::{IoLog, ScpiError, Session};

fn station() -> Station {
    Station::parse(
        std::path::Path::new("demo-sim.toml"),
        DEMO_SIM_STATION,
        Profiles::built_in().expect("profiles"),
    )
    .expect("demo station")
}

fn entry(station: &Station, name: &str) -> InstrumentEntry {
    station
        .file
        .instrument
        .iter()
        .find(|e| e.name == name)
        .cloned()
        .expect("instrument")
}

fn profile(station: &Station, entry: &InstrumentEntry) -> Profile {
    station.profile_of(entry).expect("profile").clone()
}

/// A driver base for instrument `name` of the demo station over a transcript.
fn base_with(name: &str, pairs: &[(&str, Option<&str>)]) -> (Base, TranscriptHandle) {
    let station = station();
    let entry = entry(&station, name);
    let profile = profile(&station, &entry);
    let config = session_config(&entry, &profile, "TCPIP::transcript::1::SOCKET").expect("config");
    let (stream, handle) = transcript(pairs, &config.write_termination, &config.read_termination);
    let session = Session::with_stream(config, Box::new(stream), IoLog::new());
    let clock: SharedClock = Arc::new(SystemClock);
    (Base::new(session, profile, clock), handle)
}

const OK: Option<&str> = Some("0,\"No error\"");

fn sweep_pairs<'a>(lin: &'a str, data: &'a str, tail: &'a str) -> Vec<(&'a str, Option<&'a str>)> {
    vec![
        (":ABOR", None),
        ("*CLS", None),
        (":SENS:FUNC \"CURR\"", None),
        (":SENS:CURR:RANG:AUTO ON", None),
        (":SENS:CURR:NPLC 1", None),
        (":SENS:CURR:RSEN ON", None),
        (":SOUR:FUNC VOLT", None),
        (":SOUR:VOLT:RANG 62", None),
        (":SOUR:VOLT:ILIM 7", None),
        (":SOUR:VOLT:READ:BACK ON", None),
        (lin, None),
        (":SYST:ERR?", OK),
        (":INIT", None),
        ("*OPC?", Some("1")),
        (":TRAC:ACT?", Some(tail)),
        (data, Some("")),
    ]
}

fn three_points() -> SweepSettings {
    SweepSettings {
        start: -0.5,
        stop: 62.0,
        points: 3,
        ..SweepSettings::default()
    }
}

#[tokio::test]
async fn keithley_forward_sweep() {
    let mut pairs = sweep_pairs(
        ":SOUR:SWE:VOLT:LIN -0.5, 62, 3, 0.001, 1, BEST, OFF, OFF, \"defbuffer1\"",
        ":TRAC:DATA? 1, 3, \"defbuffer1\", SOUR, READ, REL",
        "3",
    );
    pairs[15].1 = Some(
        "-5.000000E-01,-5.100000E+00,0.000000,3.100000E+01,-4.000000E+00,0.021500,6.200000E+01,5.000000E+00,0.043000",
    );
    pairs.push((":OUTP OFF", None));
    pairs.push((":SYST:ERR?", OK));
    let (base, handle) = base_with("smu", &pairs);
    let mut smu = keithley::Keithley24xx::new(base);
    let curves = smu.sweep(&three_points()).await.expect("sweep");
    handle.finish().expect("transcript consumed");
    assert_eq!(curves.len(), 1);
    let c = &curves[0];
    assert_eq!(c.direction, SweepDirection::Forward);
    // Generator convention: the SMU's negative current is positive power.
    assert_eq!(c.points[0].current, 5.1);
    assert_eq!(c.points[1].voltage, 31.0);
    assert_eq!(c.points[2].current, -5.0);
    assert_eq!(c.points[2].time, 0.043);
}

#[tokio::test]
async fn keithley_reverse_and_dual_sweeps() {
    let mut pairs = sweep_pairs(
        ":SOUR:SWE:VOLT:LIN 62, -0.5, 3, 0.001, 1, BEST, OFF, OFF, \"defbuffer1\"",
        ":TRAC:DATA? 1, 3, \"defbuffer1\", SOUR, READ, REL",
        "3",
    );
    pairs[15].1 = Some("62,5,0,31,-4,0.02,-0.5,-5.1,0.04");
    pairs.push((":OUTP OFF", None));
    pairs.push((":SYST:ERR?", OK));
    let (base, handle) = base_with("smu", &pairs);
    let mut smu = keithley::Keithley24xx::new(base);
    let settings = SweepSettings {
        mode: SweepMode::Reverse,
        ..three_points()
    };
    let curves = smu.sweep(&settings).await.expect("sweep");
    handle.finish().expect("transcript consumed");
    assert_eq!(curves[0].direction, SweepDirection::Reverse);
    assert_eq!(curves[0].points[0].voltage, 62.0);

    let mut pairs = sweep_pairs(
        ":SOUR:SWE:VOLT:LIN -0.5, 62, 3, 0.001, 1, BEST, OFF, ON, \"defbuffer1\"",
        ":TRAC:DATA? 1, 5, \"defbuffer1\", SOUR, READ, REL",
        "5",
    );
    pairs[15].1 = Some("-0.5,-5.1,0,31,-4,0.02,62,5,0.04,31,-4,0.06,-0.5,-5.1,0.08");
    pairs.push((":OUTP OFF", None));
    pairs.push((":SYST:ERR?", OK));
    let (base, handle) = base_with("smu", &pairs);
    let mut smu = keithley::Keithley24xx::new(base);
    let settings = SweepSettings {
        mode: SweepMode::Dual,
        ..three_points()
    };
    let curves = smu.sweep(&settings).await.expect("sweep");
    handle.finish().expect("transcript consumed");
    assert_eq!(curves.len(), 2);
    assert_eq!(curves[0].points.len(), 3);
    assert_eq!(curves[1].points.len(), 2);
    assert_eq!(curves[1].direction, SweepDirection::Reverse);
    assert_eq!(curves[1].points[1].voltage, -0.5);
}

#[tokio::test]
async fn keithley_binary_buffer() {
    let values = [-0.5, -5.1, 0.0, 31.0, -4.0, 0.0215, 62.0, 5.0, 0.043];
    let block = encode_real64_block(&values, ByteOrder::LittleEndian);
    let station = station();
    let entry = entry(&station, "smu");
    let profile = profile(&station, &entry);
    let config = session_config(&entry, &profile, "TCPIP::transcript::1::SOCKET").expect("config");
    let mut pairs: Vec<(String, Option<Vec<u8>>)> = sweep_pairs(
        ":SOUR:SWE:VOLT:LIN -0.5, 62, 3, 0.001, 1, BEST, OFF, OFF, \"defbuffer1\"",
        "",
        "3",
    )
    .into_iter()
    .take(15)
    .map(|(c, r)| (c.to_string(), r.map(|r| r.as_bytes().to_vec())))
    .collect();
    pairs.push((":FORM REAL".into(), None));
    pairs.push((":FORM:BORD SWAP".into(), None));
    pairs.push((
        ":TRAC:DATA? 1, 3, \"defbuffer1\", SOUR, READ, REL".into(),
        Some(block),
    ));
    pairs.push((":FORM ASC".into(), None));
    pairs.push((":OUTP OFF".into(), None));
    pairs.push((":SYST:ERR?".into(), Some(b"0,\"No error\"".to_vec())));
    let (stream, handle) =
        transcript_bytes(pairs, &config.write_termination, &config.read_termination);
    let session = Session::with_stream(config, Box::new(stream), IoLog::new());
    let mut smu = keithley::Keithley24xx::new(Base::new(session, profile, Arc::new(SystemClock)));
    let settings = SweepSettings {
        binary: true,
        ..three_points()
    };
    let curves = smu.sweep(&settings).await.expect("sweep");
    handle.finish().expect("transcript consumed");
    assert_eq!(curves[0].points[1].time, 0.0215);
    assert_eq!(curves[0].points[0].current, 5.1);
}

#[tokio::test]
async fn keithley_errors_name_instrument_and_command() {
    let pairs = [
        (":ABOR", None),
        ("*CLS", None),
        (":SENS:FUNC \"CURR\"", None),
        (":SENS:CURR:RANG:AUTO ON", None),
        (":SENS:CURR:NPLC 1", None),
        (":SENS:CURR:RSEN ON", None),
        (":SOUR:FUNC VOLT", None),
        (":SOUR:VOLT:RANG 62", None),
        (":SOUR:VOLT:ILIM 7", None),
        (":SOUR:VOLT:READ:BACK ON", None),
        (
            ":SOUR:SWE:VOLT:LIN -0.5, 62, 3, 0.001, 1, BEST, OFF, OFF, \"defbuffer1\"",
            None,
        ),
        (":SYST:ERR?", Some("-222,\"Data out of range\"")),
        (":SYST:ERR?", OK),
    ];
    let (base, handle) = base_with("smu", &pairs);
    let mut smu = keithley::Keithley24xx::new(base);
    let err = smu
        .sweep(&three_points())
        .await
        .expect_err("instrument error");
    handle.finish().expect("transcript consumed");
    match &err {
        InstrumentsError::Scpi(ScpiError::Instrument {
            instrument,
            command,
            code,
            ..
        }) => {
            assert_eq!(
                (instrument.as_str(), command.as_str(), *code),
                ("smu", ":SOUR:SWE:VOLT:LIN", -222)
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    // Settings outside the model are refused before any byte is sent.
    let (base, handle) = base_with("smu", &[]);
    let mut smu = keithley::Keithley24xx::new(base);
    let bad = SweepSettings {
        current_limit: 9.0,
        ..three_points()
    };
    let err = smu.sweep(&bad).await.expect_err("refused").to_string();
    assert!(err.contains("current limit 9 A outside"), "{err}");
    handle.finish().expect("nothing sent");
}

#[tokio::test]
async fn keithley_incomplete_buffer_and_safe_state() {
    let mut pairs = sweep_pairs(
        ":SOUR:SWE:VOLT:LIN -0.5, 62, 3, 0.001, 1, BEST, OFF, OFF, \"defbuffer1\"",
        "",
        "2",
    );
    pairs.pop();
    let (base, handle) = base_with("smu", &pairs);
    let mut smu = keithley::Keithley24xx::new(base);
    let err = smu
        .sweep(&three_points())
        .await
        .expect_err("incomplete")
        .to_string();
    assert!(err.contains("stored 2 of 3 readings"), "{err}");
    handle.finish().expect("transcript consumed");
    let (base, handle) = base_with("smu", &[(":ABOR", None), (":OUTP OFF", None)]);
    keithley::Keithley24xx::new(base)
        .safe_state()
        .await
        .expect("safe");
    handle.finish().expect("transcript consumed");
}

#[tokio::test]
async fn identify_checks_the_profile() {
    let (base, handle) = base_with(
        "smu",
        &[(
            "*IDN?",
            Some("KEITHLEY INSTRUMENTS,MODEL 2460,04410001,1.7.12b"),
        )],
    );
    let mut smu = keithley::Keithley24xx::new(base);
    assert!(smu.identify().await.is_ok());
    handle.finish().expect("transcript consumed");
    let (base, _handle) = base_with(
        "smu",
        &[(
            "*IDN?",
            Some("KEITHLEY INSTRUMENTS,MODEL 2450,04410001,1.7.12b"),
        )],
    );
    let err = keithley::Keithley24xx::new(base)
        .identify()
        .await
        .expect_err("mismatch")
        .to_string();
    assert!(
        err.contains("does not match profile `keithley-2460`"),
        "{err}"
    );
}

fn dmm_setup() -> Vec<(&'static str, Option<&'static str>)> {
    vec![
        ("CONF:VOLT:DC 1", None),
        ("VOLT:DC:NPLC 1", None),
        ("VOLT:DC:ZERO:AUTO ON", None),
        ("VOLT:DC:IMP:AUTO ON", None),
        ("SYST:ERR?", OK),
    ]
}

#[tokio::test]
async fn truevolt_irradiance() {
    let station = station();
    let reference = station.reference("RC-01").cloned();
    let mut pairs = dmm_setup();
    pairs.push(("READ?", Some("+1.21324260E-01")));
    let (base, handle) = base_with("irradiance-dmm", &pairs);
    let mut dmm = keysight::Truevolt::new(base, reference.clone(), "dmm");
    let r = dmm.read_irradiance(31.0).await.expect("reading");
    handle.finish().expect("transcript consumed");
    let expected = irradiance_from_reference(0.121324260 / 1.0002, 0.1213, 0.0005, 31.0, 1.0);
    assert!(
        (r.irradiance - expected).abs() < 1e-9,
        "{} vs {expected}",
        r.irradiance
    );
    assert_eq!(r.reference, "RC-01");

    let mut pairs = dmm_setup();
    pairs.push(("READ?", Some("+9.90000000E+37")));
    let (base, handle) = base_with("irradiance-dmm", &pairs);
    let mut dmm = keysight::Truevolt::new(base, reference, "dmm");
    let err = dmm.read_irradiance(25.0).await.expect_err("overload");
    handle.finish().expect("transcript consumed");
    assert!(
        matches!(err, InstrumentsError::Scpi(ScpiError::NoReading { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn truevolt_temperature() {
    let pairs = [
        ("CONF:TEMP FRTD,85", None),
        ("SYST:ERR?", OK),
        ("READ?", Some("+2.53120000E+01")),
    ];
    let (base, handle) = base_with("irradiance-dmm", &pairs);
    let mut dmm = keysight::Truevolt::new(base, None, "module_back");
    let t = dmm.read_temperatures().await.expect("reading");
    handle.finish().expect("transcript consumed");
    assert_eq!(t[0].temperature, 25.312);
    assert_eq!(t[0].sensor, "module_back");
}

#[tokio::test]
async fn daq_scan() {
    let sensors = vec![
        ("module_back_1".to_string(), 101),
        ("ambient".to_string(), 106),
    ];
    let setup = [
        ("CONF:TEMP FRTD,85,(@101,106)", None),
        ("ROUT:SCAN (@101,106)", None),
        ("FORM:READ:CHAN ON", None),
        ("SYST:ERR?", OK),
    ];
    let mut pairs = setup.to_vec();
    pairs.push(("READ?", Some("+4.39700000E+01,101,+1.22700000E+01,106")));
    let (base, handle) = base_with("daq", &pairs);
    let mut daq = keysight::Daq970a::new(base, sensors.clone());
    let t = daq.read_temperatures().await.expect("scan");
    handle.finish().expect("transcript consumed");
    assert_eq!((t[0].channel, t[0].temperature), (101, 43.97));
    assert_eq!((t[1].sensor.as_str(), t[1].temperature), ("ambient", 12.27));

    let mut pairs = setup.to_vec();
    pairs.push(("READ?", Some("+9.90000000E+37,101,+1.22700000E+01,106")));
    let (base, handle) = base_with("daq", &pairs);
    let err = keysight::Daq970a::new(base, sensors.clone())
        .read_temperatures()
        .await
        .expect_err("open");
    handle.finish().expect("transcript consumed");
    assert!(
        err.to_string()
            .contains("`module_back_1` (channel 101) reads overload"),
        "{err}"
    );

    let mut pairs = setup.to_vec();
    pairs.push(("READ?", Some("+4.39700000E+01,102,+1.22700000E+01,106")));
    let (base, handle) = base_with("daq", &pairs);
    let err = keysight::Daq970a::new(base, sensors)
        .read_temperatures()
        .await
        .expect_err("wrong channel");
    handle.finish().expect("transcript consumed");
    assert!(
        err.to_string()
            .contains("channel 102 where 101 was expected"),
        "{err}"
    );
}

fn hioki_setup() -> Vec<(&'static str, Option<&'static str>)> {
    hioki::SETUP
        .iter()
        .flat_map(|c| [(*c, None), ("*ESR?", Some("0"))])
        .collect()
}

#[tokio::test]
async fn hioki_reading_and_sentinels() {
    let mut pairs = hioki_setup();
    pairs.push((":READ?", Some("  10.016E-3, 4.99903E+0")));
    pairs.push(("*ESR?", Some("0")));
    let (base, handle) = base_with("tester", &pairs);
    let r = hioki::HiokiBt356x::new(base).read().await.expect("reading");
    handle.finish().expect("transcript consumed");
    assert_eq!((r.resistance, r.voltage), (10.016e-3, 4.99903));

    for (reply, expected) in [
        (" 100.000E+8, 0.00000E+0", "measurement fault"),
        (" 100.000E+7, 0.00000E+0", "resistance overflow"),
        ("  10.016E-3,-1.00000E+9", "voltage overflow"),
    ] {
        let mut pairs = hioki_setup();
        pairs.push((":READ?", Some(reply)));
        pairs.push(("*ESR?", Some("0")));
        let (base, handle) = base_with("tester", &pairs);
        let err = hioki::HiokiBt356x::new(base)
            .read()
            .await
            .expect_err("sentinel")
            .to_string();
        handle.finish().expect("transcript consumed");
        assert!(err.contains(expected), "{reply}: {err}");
    }

    // A command error shows only in *ESR? on this family.
    let pairs = [
        ("*CLS", None),
        ("*ESR?", Some("0")),
        (":FUNC RV", None),
        ("*ESR?", Some("32")),
    ];
    let (base, handle) = base_with("tester", &pairs);
    let err = hioki::HiokiBt356x::new(base).read().await.expect_err("esr");
    handle.finish().expect("transcript consumed");
    match err {
        InstrumentsError::Scpi(ScpiError::Instrument { code, command, .. }) => {
            assert_eq!((code, command.as_str()), (-100, ":FUNC RV"));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn fluke_output_and_standby() {
    let pairs = [
        ("OUT 5.000000000E0 V", None),
        ("OPER", None),
        ("*OPC?", Some("1")),
        ("ERR?", Some("0,\"No Error\"")),
        ("OPER?", Some("1")),
    ];
    let (base, handle) = base_with("calibrator", &pairs);
    fluke::Fluke55xx::new(base)
        .set_voltage(5.0)
        .await
        .expect("output");
    handle.finish().expect("transcript consumed");

    let pairs = [
        ("OUT 5.000000000E1 V", None),
        ("OPER", None),
        ("*OPC?", Some("1")),
        ("ERR?", Some("0,\"No Error\"")),
        ("OPER?", Some("0")),
    ];
    let (base, handle) = base_with("calibrator", &pairs);
    let err = fluke::Fluke55xx::new(base)
        .set_voltage(50.0)
        .await
        .expect_err("standby")
        .to_string();
    handle.finish().expect("transcript consumed");
    assert!(err.contains("stayed in standby"), "{err}");

    let (base, handle) = base_with("calibrator", &[("STBY", None)]);
    fluke::Fluke55xx::new(base)
        .safe_state()
        .await
        .expect("standby");
    handle.finish().expect("transcript consumed");
    // Beyond the calibrator's range (±1020 V in its profile) and not finite: refused before
    // a single byte is sent (the empty transcript refuses any write).
    for volts in [1020.5, -2000.0, f64::NAN, f64::INFINITY] {
        let (base, handle) = base_with("calibrator", &[]);
        let err = fluke::Fluke55xx::new(base)
            .set_voltage(volts)
            .await
            .expect_err("outside the range")
            .to_string();
        assert!(err.contains("is outside ±1020 V"), "{volts}: {err}");
        handle.finish().expect("nothing sent");
    }
    // The limit itself is allowed.
    let pairs = [
        ("OUT 1.020000000E3 V", None),
        ("OPER", None),
        ("*OPC?", Some("1")),
        ("ERR?", Some("0,\"No Error\"")),
        ("OPER?", Some("1")),
    ];
    let (base, handle) = base_with("calibrator", &pairs);
    fluke::Fluke55xx::new(base)
        .set_voltage(1020.0)
        .await
        .expect("at the limit");
    handle.finish().expect("transcript consumed");
}

#[tokio::test]
async fn switch_select_and_open() {
    let pairs = [
        ("ROUT:CLOS (@2)", None),
        ("*OPC?", Some("1")),
        ("SYST:ERR?", OK),
        ("ROUT:CLOS? (@2)", Some("1")),
    ];
    let (base, handle) = base_with("switch", &pairs);
    switch::ScpiSwitch::new(base)
        .select(Some(2))
        .await
        .expect("closed");
    handle.finish().expect("transcript consumed");
    let pairs = [
        ("ROUT:OPEN:ALL", None),
        ("*OPC?", Some("1")),
        ("SYST:ERR?", OK),
    ];
    let (base, handle) = base_with("switch", &pairs);
    switch::ScpiSwitch::new(base)
        .safe_state()
        .await
        .expect("open");
    handle.finish().expect("transcript consumed");
    let pairs = [
        ("ROUT:CLOS (@2)", None),
        ("*OPC?", Some("1")),
        ("SYST:ERR?", OK),
        ("ROUT:CLOS? (@2)", Some("0")),
    ];
    let (base, handle) = base_with("switch", &pairs);
    let err = switch::ScpiSwitch::new(base)
        .select(Some(2))
        .await
        .expect_err("stuck relay")
        .to_string();
    assert!(err.contains("relay 2 reads back open"), "{err}");
    handle.finish().expect("transcript consumed");
}
