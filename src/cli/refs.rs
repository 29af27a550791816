//! `pvstation refs …`: the reference devices and standards, their certificates and due dates,
//! and which runs used each certificate.

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;

use crate::instruments::station::CertificateStatus;
use crate::model::Date;
use crate::store::db::Database;

/// `pvstation refs …`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// The station's references with their certificates, and every certificate recorded in
    /// the database (earlier calibrations included).
    List {
        /// Station file (default: the built-in simulated station).
        #[arg(long)]
        station: Option<PathBuf>,
        /// Database file.
        #[arg(long)]
        db: Option<PathBuf>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Due dates: a warning 30 days before, exit 1 when one has passed.
    Check {
        /// Station file (default: the built-in simulated station).
        #[arg(long)]
        station: Option<PathBuf>,
        /// Check as of this date (YYYY-MM-DD; default today).
        #[arg(long)]
        date: Option<String>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Every run that used a certificate: what to recall when a standard turns out faulty.
    Trace {
        /// Certificate number.
        certificate: String,
        /// Database file.
        #[arg(long)]
        db: Option<PathBuf>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

fn status_text(s: &CertificateStatus) -> String {
    match s {
        CertificateStatus::Valid => "valid".into(),
        CertificateStatus::DueSoon { days_left } => format!("DUE in {days_left} days"),
        CertificateStatus::Expired { days_ago } => format!("EXPIRED {days_ago} days ago"),
    }
}

/// Run `pvstation refs …`.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    let today = Date::from_unix_seconds(crate::instruments::roles::system_now());
    match command {
        Command::List { station, db, json } => {
            let station = super::load_station(station.as_ref())?;
            for r in &station.file.reference {
                let c = &r.certificate;
                let status = c.status(today);
                if json {
                    println!(
                        "{}",
                        json!({"reference": r, "status": status, "source": "station"})
                    );
                } else {
                    println!(
                        "{:<10} {:<17} {:<13} {:<18} {} {} ± {} (k = {}), calibrated {}, due {} — {}",
                        r.id,
                        serde_json::to_value(r.kind)?.as_str().unwrap_or("?"),
                        r.serial_number,
                        c.number,
                        c.value,
                        c.unit,
                        c.expanded_uncertainty,
                        c.coverage_factor,
                        c.calibration_date,
                        c.due_date,
                        status_text(&status)
                    );
                    println!("{:<10} issued by {}", "", c.laboratory);
                }
            }
            let path = super::store::database_location(db)?;
            if path.exists() {
                let db = Database::open_read_only(&path)?;
                let recorded = db.recorded_certificates()?;
                if !json && !recorded.is_empty() {
                    println!("certificates recorded in {}:", path.display());
                }
                for c in recorded {
                    if json {
                        println!("{}", json!({"recorded": c, "source": "database"}));
                    } else {
                        let current = station
                            .file
                            .reference
                            .iter()
                            .any(|r| r.certificate.number == c.certificate);
                        println!(
                            "  {:<10} {:<18} sha256 {}…  {}",
                            c.reference_id,
                            c.certificate,
                            c.sha256.get(..12).unwrap_or(&c.sha256),
                            if current { "in use" } else { "superseded" }
                        );
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Check {
            station,
            date,
            json,
        } => {
            let station = super::load_station(station.as_ref())?;
            let on = match date {
                Some(d) => Date::parse(&d).map_err(|e| anyhow::anyhow!("--date {d}: {e}"))?,
                None => today,
            };
            let mut expired = 0;
            let mut due = 0;
            for r in &station.file.reference {
                let status = r.certificate.status(on);
                match status {
                    CertificateStatus::Expired { .. } => expired += 1,
                    CertificateStatus::DueSoon { .. } => due += 1,
                    CertificateStatus::Valid => {}
                }
                if json {
                    println!(
                        "{}",
                        json!({"reference": r.id, "certificate": r.certificate.number,
                               "due_date": r.certificate.due_date, "status": status})
                    );
                } else {
                    println!(
                        "{:<10} {:<18} due {}  {}",
                        r.id,
                        r.certificate.number,
                        r.certificate.due_date,
                        status_text(&status)
                    );
                }
            }
            if !json {
                println!(
                    "{} references on {on}: {expired} expired, {due} due within 30 days{}",
                    station.file.reference.len(),
                    if expired > 0 {
                        " — recalibrate before issuing certificates traced to them"
                    } else {
                        ""
                    }
                );
            }
            Ok(if expired > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Trace {
            certificate,
            db,
            json,
        } => {
            let (path, db) = super::store::read_database(db)?;
            let uses = db.runs_using(&certificate)?;
            let reports = db.reports()?;
            for u in &uses {
                let issued: Vec<&str> = reports
                    .iter()
                    .filter(|r| r.run_id == u.run_id)
                    .map(|r| r.number.as_str())
                    .collect();
                if json {
                    let mut v = serde_json::to_value(u)?;
                    v["reports"] = json!(issued);
                    println!("{v}");
                } else {
                    println!(
                        "{:<24} {:<18} {:<10} started {} ({:.0} s)  {}",
                        u.run_id,
                        u.procedure,
                        u.reference_id,
                        Date::from_unix_seconds(u.started_at),
                        u.started_at,
                        u.status.map_or("running/interrupted", |s| s.as_str())
                    );
                    println!(
                        "{:<24} reports: {}",
                        "",
                        if issued.is_empty() {
                            "none".to_string()
                        } else {
                            issued.join(", ")
                        }
                    );
                }
            }
            if !json {
                println!(
                    "{} run(s) in {} used certificate {certificate}; recall the reports listed",
                    uses.len(),
                    path.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
