//! `pvstation demo`: the main job on the built-in simulated station. For now: start the
//! simulated station in-process, identify every instrument, read the module temperatures and
//! the irradiance, take one I-V sweep, take one battery-tester reading against a standard
//! resistor and the calibrator, and print it all.

use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;

use crate::instruments::bench::Bench;
use crate::instruments::roles::{SharedClock, SweepSettings};
use crate::model::IvCurve;
use crate::scpi::IoLog;
use crate::sim::station::{SimOptions, SimulatedStation};

/// Arguments of `pvstation demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seed of the simulated sky and instrument noise.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Clock acceleration of the simulated world.
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Plain output (no terminal UI); accepted now, the TUI comes later.
    #[arg(long)]
    headless: bool,
    /// Print one JSON object with everything measured.
    #[arg(long)]
    json: bool,
}

/// Isc [A], Voc [V] and the maximum-power point (V, I, P).
type QuickLook = (Option<f64>, Option<f64>, Option<(f64, f64, f64)>);

/// Short-circuit current, open-circuit voltage and maximum-power point of a measured curve
/// by linear interpolation between the points bracketing V = 0 and I = 0 [A, V, W].
/// A quick look only: the metrology core extracts parameters per ASTM E1036.
fn quick_look(curve: &IvCurve) -> QuickLook {
    let p = &curve.points;
    let cross = |f: &dyn Fn(usize) -> (f64, f64)| {
        p.windows(2).enumerate().find_map(|(k, _)| {
            let (x0, y0) = f(k);
            let (x1, y1) = f(k + 1);
            ((x0 <= 0.0 && x1 >= 0.0) || (x0 >= 0.0 && x1 <= 0.0)).then(|| {
                if x1 == x0 {
                    y0
                } else {
                    y0 + (y1 - y0) * (0.0 - x0) / (x1 - x0)
                }
            })
        })
    };
    let isc = cross(&|k| (p[k].voltage, p[k].current));
    let voc = cross(&|k| (p[k].current, p[k].voltage));
    let mpp = curve
        .max_power_point()
        .map(|m| (m.voltage, m.current, m.voltage * m.current));
    (isc, voc, mpp)
}

/// Run `pvstation demo`.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let _ = args.headless;
    if !(args.speed.is_finite() && args.speed > 0.0) {
        anyhow::bail!(
            "--speed {}: give a positive acceleration factor",
            args.speed
        );
    }
    let station = super::load_station(None)?;
    let sim = SimulatedStation::start(
        &station,
        &SimOptions {
            seed: Some(args.seed),
            speed: Some(args.speed),
            ..SimOptions::default()
        },
    )
    .await?;
    let clock: SharedClock = sim.world.clone();
    let log = IoLog::new();
    let mut bench = Bench::new(&station, &sim.resources(), &log, &clock)?;
    let say = |line: String| {
        if !args.json {
            println!("{line}");
        }
    };
    say(format!("pvstation demo — {}", station.file.station.name));
    say(format!(
        "simulated world: seed {}, speed ×{}",
        args.seed, args.speed
    ));

    let mut identities = Vec::new();
    for (served, inst) in sim.served.iter().zip(bench.instruments()) {
        let idn = inst
            .identify()
            .await
            .with_context(|| format!("identifying {}", served.name))?;
        say(format!(
            "  {:<15} {:<17} {:<40} {}",
            served.name, served.role, idn, served.resource
        ));
        identities.push(json!({"name": served.name, "role": served.role, "identity": idn, "resource": served.resource}));
    }

    let thermometer = bench
        .thermometer
        .as_mut()
        .context("the station has no thermometer")?;
    let temperatures = thermometer.read_temperatures().await?;
    say("temperatures:".into());
    for t in &temperatures {
        say(format!(
            "  {:<15} channel {:>3}  {:>7.2} °C",
            t.sensor, t.channel, t.temperature
        ));
    }
    let reference = station
        .reference("RC-01")
        .context("reference cell RC-01 missing")?;
    let sensor = reference
        .temperature_sensor
        .as_deref()
        .unwrap_or("reference_cell");
    let cell_temperature = temperatures
        .iter()
        .find(|t| t.sensor == sensor)
        .map(|t| t.temperature)
        .with_context(|| format!("no temperature sensor `{sensor}` for the reference cell"))?;
    let meter = bench
        .irradiance_meter
        .as_mut()
        .context("the station has no irradiance meter")?;
    let irradiance = meter.read_irradiance(cell_temperature).await?;
    say(format!(
        "irradiance: {:.1} W/m² (shunt {:.6} V, Isc {:.6} A, cell {:.2} °C, reference {} certificate {})",
        irradiance.irradiance,
        irradiance.shunt_voltage,
        irradiance.short_circuit_current,
        irradiance.cell_temperature,
        irradiance.reference,
        reference.certificate.number
    ));

    let tracer = bench
        .iv_tracer
        .as_mut()
        .context("the station has no I-V tracer")?;
    let settings = SweepSettings::default();
    let curves = tracer.sweep(&settings).await?;
    let curve = curves.first().context("the sweep returned no curve")?;
    let (isc, voc, mpp) = quick_look(curve);
    let duration = curve.points.last().map(|p| p.time).unwrap_or(0.0);
    say(format!(
        "I-V sweep: {} points, {} V … {} V, 4-wire, NPLC {}, {:.2} s",
        curve.points.len(),
        settings.start,
        settings.stop,
        settings.nplc,
        duration
    ));
    let fmt = |v: Option<f64>, unit: &str| {
        v.map(|v| format!("{v:.4} {unit}"))
            .unwrap_or_else(|| "not reached".into())
    };
    say(format!(
        "  Isc ≈ {}   Voc ≈ {}",
        fmt(isc, "A"),
        fmt(voc, "V")
    ));
    if let Some((v, i, p)) = mpp {
        say(format!(
            "  max V·I point: {v:.3} V × {i:.4} A = {p:.2} W (quick look; ASTM E1036 extraction comes with the metrology core)"
        ));
    }
    say("  voltage [V]   current [A]   time [s]".into());
    for p in curve.points.iter().step_by(20) {
        say(format!(
            "  {:>11.4}   {:>11.5}   {:>8.4}",
            p.voltage, p.current, p.time
        ));
    }

    // Battery-tester bench: 10 mΩ standard on the switch, 5 V from the calibrator.
    let standard = station
        .reference("SR-10m")
        .context("standard SR-10m missing")?;
    let channel = standard
        .switch_channel
        .context("SR-10m has no switch channel")?;
    bench
        .switch
        .as_mut()
        .context("no switch")?
        .select(Some(channel))
        .await?;
    bench
        .source
        .as_mut()
        .context("no calibrator")?
        .set_voltage(5.0)
        .await?;
    let tester = bench
        .resistance_meter
        .as_mut()
        .context("no battery tester")?
        .read()
        .await?;
    say(format!(
        "battery tester: {:.6} mΩ against {} = {:.6} mΩ (error {:+.3} %), {:.5} V against calibrator 5 V",
        tester.resistance * 1e3,
        standard.id,
        standard.certificate.value * 1e3,
        (tester.resistance / standard.certificate.value - 1.0) * 100.0,
        tester.voltage
    ));
    let failures = bench.safe_state().await;
    for f in &failures {
        eprintln!("warning: could not make safe: {f}");
    }
    say(format!(
        "all instruments in safe state; {} I/O records logged",
        log.snapshot().len()
    ));
    if args.json {
        println!(
            "{}",
            json!({
                "instruments": identities,
                "temperatures": temperatures,
                "irradiance": irradiance,
                "sweep": {"settings": settings, "curve": curve, "i_sc": isc, "v_oc": voc,
                          "p_max_point": mpp.map(|m| m.2)},
                "tester": tester,
            })
        );
    }
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
