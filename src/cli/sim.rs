//! `pvstation sim`: serve a station's simulated instruments until interrupted; `pvstation sim
//! truth`: the simulated module's true values at STC, for closure tests.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::sim::station::{SimOptions, SimulatedStation};

/// Arguments of `pvstation sim`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    /// `truth`: the simulated module's true values instead of serving.
    #[command(subcommand)]
    command: Option<SimCommand>,
    /// Station file (default: the built-in instruments/stations/demo-sim.toml).
    #[arg(long)]
    station: Option<PathBuf>,
    /// Let the system choose every TCP port (ignore ports pinned in the station file).
    #[arg(long)]
    ephemeral: bool,
    /// Clock acceleration: a simulated day passes in 86400/N seconds.
    #[arg(long)]
    speed: Option<f64>,
    /// Seed of clouds and noise.
    #[arg(long)]
    seed: Option<u64>,
    /// Faults, e.g. `smu:drop=sweep,dmm:latency=200` (see `sim::faults`).
    #[arg(long)]
    faults: Option<String>,
    /// Serve serial instruments on TCP ports instead of pseudo-terminals.
    #[arg(long)]
    serial_over_tcp: bool,
}

/// `pvstation sim …`.
#[derive(Debug, clap::Subcommand)]
pub enum SimCommand {
    /// The simulated module's true values at STC (1000 W/m², 25 °C, AM1.5G per IEC 60904-3), from
    /// the simulator's own device model: p_mp [W], i_sc [A], v_oc [V], i_mp [A], v_mp [V], ff [1].
    Truth {
        /// Station file (default: the built-in instruments/stations/demo-sim.toml).
        #[arg(long)]
        station: Option<PathBuf>,
        /// One JSON object: {"p_mp","i_sc","v_oc","i_mp","v_mp","ff"}.
        #[arg(long)]
        json: bool,
    },
}

/// Run `pvstation sim`.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(SimCommand::Truth { station, json }) = &args.command {
        return truth(station.as_ref(), *json);
    }
    let station = super::load_station(args.station.as_ref())?;
    if let Some(speed) = args.speed
        && !(speed.is_finite() && speed > 0.0)
    {
        anyhow::bail!("--speed {speed}: give a positive acceleration factor, e.g. --speed 60");
    }
    let sim = SimulatedStation::start(
        &station,
        &SimOptions {
            seed: args.seed,
            speed: args.speed,
            start: None,
            faults: args.faults,
            serial_over_tcp: args.serial_over_tcp,
            ephemeral: args.ephemeral,
        },
    )
    .await?;
    for served in &sim.served {
        println!("{}", serde_json::to_string(served)?);
    }
    println!("{}", serde_json::json!({ "ready": true }));
    use std::io::Write;
    std::io::stdout().flush()?;
    tokio::signal::ctrl_c().await?;
    drop(sim);
    Ok(ExitCode::SUCCESS)
}

/// `pvstation sim truth`: the simulated module at STC. The module's effective irradiance is
/// defined as what it converts relative to AM1.5G (`sim::sky`), so at STC it is 1000 W/m².
fn truth(station: Option<&PathBuf>, json: bool) -> anyhow::Result<ExitCode> {
    let station = super::load_station(station)?;
    if !station.file.station.simulated {
        anyhow::bail!(
            "{}: not a simulated station (`simulated = true`): a real module's truth is what the station measures",
            station.path.display()
        );
    }
    if let Some(dut) = &station.file.station.dut
        && crate::sim::world::SimModule::from_dut(dut).is_none()
    {
        anyhow::bail!(
            "{}: the simulator has no module `{dut}` (it simulates cs5p-220m and fs-4117-3)",
            station.path.display()
        );
    }
    let config = crate::sim::station::world_config(&station, &SimOptions::default());
    let stc = config.module.device().at(1000.0, 25.0);
    let i_sc = stc.current(0.0);
    let v_oc = stc.open_circuit_voltage();
    let (v_mp, i_mp, p_mp) = stc.max_power_point();
    let ff = p_mp / (i_sc * v_oc);
    let values = serde_json::json!({
        "p_mp": p_mp, "i_sc": i_sc, "v_oc": v_oc, "i_mp": i_mp, "v_mp": v_mp, "ff": ff,
    });
    if json {
        println!("{values}");
    } else {
        println!(
            "simulated module at STC (1000 W/m², 25 °C, AM1.5G):\n  Pmax {p_mp:.4} W\n  Isc  {i_sc:.5} A\n  Voc  {v_oc:.4} V\n  Imp  {i_mp:.5} A\n  Vmp  {v_mp:.4} V\n  FF   {ff:.5}"
        );
    }
    Ok(ExitCode::SUCCESS)
}
