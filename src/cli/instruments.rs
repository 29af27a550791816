//! `pvstation instruments probe`: identify every instrument of a station.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::instruments::bench::{Resources, certificates, probe};
use crate::instruments::roles::SystemClock;
use crate::instruments::station::CertificateStatus;
use crate::model::Date;
use crate::model::SharedClock;
use crate::scpi::IoLog;
use crate::sim::station::{SimOptions, SimulatedStation};

/// `pvstation instruments …`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Connect to each instrument, identify it, check it against its profile, report problems.
    Probe {
        /// Station file.
        #[arg(long)]
        station: PathBuf,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

/// Run `pvstation instruments …`.
pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Probe { station, json } => {
            let station = super::load_station(Some(&station))?;
            let (sim, clock): (Option<SimulatedStation>, SharedClock) =
                if station.file.station.simulated {
                    let sim = SimulatedStation::start(&station, &SimOptions::default()).await?;
                    let clock: SharedClock = sim.world.clone();
                    (Some(sim), clock)
                } else {
                    (None, Arc::new(SystemClock))
                };
            let resources: Resources = sim.as_ref().map(|s| s.resources()).unwrap_or_default();
            let log = IoLog::new();
            let reports = probe(&station, &resources, &log, &clock).await;
            let today = Date::from_unix_seconds(clock.now());
            let certs = certificates(&station, today);
            let mut ok = reports.iter().all(|r| r.ok);
            // Columns as wide as the longest name and role.
            let name_width = reports
                .iter()
                .map(|r| r.name.chars().count())
                .max()
                .unwrap_or(0)
                .max(16);
            let role_width = reports
                .iter()
                .map(|r| r.role.len())
                .max()
                .unwrap_or(0)
                .max(12);
            for r in &reports {
                if json {
                    println!("{}", serde_json::to_string(r)?);
                } else {
                    println!(
                        "{:<name_width$} {:<role_width$} {:<8} {}",
                        r.name,
                        r.role,
                        if r.ok { "ok" } else { "PROBLEM" },
                        r.identity.as_deref().unwrap_or("-")
                    );
                    println!("{:<name_width$} {}", "", r.resource);
                    for e in &r.instrument_errors {
                        println!("{:<name_width$} instrument error: {e}", "");
                    }
                    for p in &r.problems {
                        println!("{:<name_width$} problem: {p}", "");
                    }
                }
            }
            for c in &certs {
                if matches!(c.status, CertificateStatus::Expired { .. }) {
                    ok = false;
                }
                if json {
                    println!("{}", serde_json::to_string(c)?);
                } else {
                    let status = match c.status {
                        CertificateStatus::Valid => "valid".to_string(),
                        CertificateStatus::DueSoon { days_left } => {
                            format!("DUE in {days_left} days")
                        }
                        CertificateStatus::Expired { days_ago } => {
                            format!("EXPIRED {days_ago} days ago")
                        }
                    };
                    println!(
                        "reference {:<10} certificate {:<18} due {}  {status}",
                        c.reference, c.certificate, c.due_date
                    );
                }
            }
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}
