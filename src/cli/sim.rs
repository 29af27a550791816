//! `pvstation sim`: serve a station's simulated instruments until interrupted.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::sim::station::{SimOptions, SimulatedStation};

/// Arguments of `pvstation sim`.
#[derive(Debug, clap::Args)]
pub struct Args {
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

/// Run `pvstation sim`.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
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
