//! `pvstation sync` and `pvstation lab …`: the laboratory's store on PostgreSQL — copying a
//! station database into it, and every station's runs, references, audit and reports from it.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;

use crate::model::Date;
use crate::store::lab::sync::{SyncOptions, sync as sync_station};
use crate::store::lab::{LabStore, store_url, views};

/// `pvstation sync`.
#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// Station database to copy from (default: $PVSTATION_DB, else the platform data directory).
    #[arg(long)]
    db: Option<PathBuf>,
    /// The lab store: postgresql://USER@HOST:PORT/DATABASE (default: $PVSTATION_LAB_STORE).
    #[arg(long)]
    to: Option<String>,
    /// Rows per batch (each batch is one transaction).
    #[arg(long, default_value_t = 2000)]
    batch: usize,
    /// Print the summary as one JSON object.
    #[arg(long)]
    json: bool,
    /// Sync again every SECONDS until interrupted (a station's timer); a sync that fails —
    /// the network is down — is reported and the next one catches up.
    #[arg(long, value_name = "SECONDS")]
    every: Option<f64>,
}

/// `pvstation lab …`.
#[derive(Debug, clap::Subcommand)]
pub enum LabCommand {
    /// The stations that synced to the lab store.
    Stations {
        #[command(flatten)]
        store: Store,
    },
    /// Every run of every station.
    Runs {
        #[command(subcommand)]
        command: LabRuns,
    },
    /// Reference certificates across the laboratory, and what used them.
    Refs {
        #[command(subcommand)]
        command: LabRefs,
    },
    /// Integrity of the whole lab store.
    Audit {
        #[command(subcommand)]
        command: LabAudit,
    },
    /// Issued reports.
    Report {
        #[command(subcommand)]
        command: LabReport,
    },
    /// A self-describing bundle for a data-sharing platform: every certificate's DCC XML,
    /// the reported quantities and the I-V points as Parquet, a manifest with SHA-256s.
    Export {
        /// First day (YYYY-MM-DD, UTC) of the runs' start.
        #[arg(long)]
        from: String,
        /// Last day (YYYY-MM-DD, UTC), included.
        #[arg(long)]
        to: String,
        /// A new (or empty) folder.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        store: Store,
    },
}

/// Where the lab store is, and how to print.
#[derive(Debug, clap::Args)]
pub struct Store {
    /// The lab store: postgresql://USER@HOST:PORT/DATABASE (default: $PVSTATION_LAB_STORE).
    #[arg(long)]
    store: Option<String>,
    /// JSON output (one object per line for lists).
    #[arg(long)]
    json: bool,
}

/// `pvstation lab runs …`.
#[derive(Debug, clap::Subcommand)]
pub enum LabRuns {
    /// Every run, newest first (`--json`: one object per run per line, the keys of `runs
    /// list --json` plus `station_uuid` and `station_name`).
    List {
        #[command(flatten)]
        store: Store,
    },
    /// A run's whole record, as `runs show` prints it on its station.
    Show {
        /// Run id.
        run: String,
        /// The station (UUID, its first characters, or name) when two used this run id.
        #[arg(long)]
        station: Option<String>,
        #[command(flatten)]
        store: Store,
    },
}

/// `pvstation lab refs …`.
#[derive(Debug, clap::Subcommand)]
pub enum LabRefs {
    /// Every reference certificate any station recorded.
    List {
        #[command(flatten)]
        store: Store,
    },
    /// Due dates of each reference's latest certificate: a warning 30 days before, exit 1
    /// when one has passed.
    Check {
        /// As of this date (YYYY-MM-DD; default today).
        #[arg(long)]
        date: Option<String>,
        #[command(flatten)]
        store: Store,
    },
    /// Every run on every station that used a certificate, with its reports: the recall list.
    Trace {
        /// Certificate number.
        certificate: String,
        #[command(flatten)]
        store: Store,
    },
}

/// `pvstation lab audit …`.
#[derive(Debug, clap::Subcommand)]
pub enum LabAudit {
    /// Every station's audit chain, every row's hash, every raw record's SHA-256 and every
    /// table's count against the last sync; exit 1 naming what is wrong.
    Verify {
        #[command(flatten)]
        store: Store,
    },
}

/// `pvstation lab report …`.
#[derive(Debug, clap::Subcommand)]
pub enum LabReport {
    /// Verify an issued report (its manifest or directory, or a lone PDF, JSON or DCC file)
    /// against the lab store, on whichever station issued it.
    Verify {
        /// The report's manifest, its directory, or a certificate file.
        path: PathBuf,
        /// The signatory's public key (default: the one recorded at issue).
        #[arg(long)]
        key: Option<PathBuf>,
        /// The lab store (default: $PVSTATION_LAB_STORE).
        #[arg(long)]
        store: Option<String>,
    },
}

/// Run `pvstation sync` (once, or on a timer with `--every`).
pub async fn sync(args: SyncArgs) -> anyhow::Result<ExitCode> {
    let Some(every) = args.every else {
        return sync_once(&args).await;
    };
    anyhow::ensure!(
        every.is_finite() && every >= 1.0,
        "--every {every}: give the interval in seconds (at least 1)"
    );
    loop {
        if let Err(e) = sync_once(&args).await {
            eprintln!(
                "sync failed, retried in {every:.0} s: {}",
                super::error_text(&e)
            );
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs_f64(every)) => {}
            _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
        }
    }
}

async fn sync_once(args: &SyncArgs) -> anyhow::Result<ExitCode> {
    let url = store_url(args.to.clone())?;
    let path = super::store::database_location(args.db.clone())?;
    anyhow::ensure!(
        path.is_file(),
        "{}: no station database here; check --db or $PVSTATION_DB",
        path.display()
    );
    // The station file is read through one SQLite snapshot held across the copy's awaits (a
    // connection is not `Sync`), so the sync runs on a thread of its own.
    let handle = tokio::runtime::Handle::current();
    let (json, batch) = (args.json, args.batch);
    let (summary, url) = tokio::task::spawn_blocking(move || {
        handle.block_on(async move {
            let mut store = LabStore::connect(&url).await?;
            let mut stderr = std::io::stderr();
            sync_station(&path, &mut store, SyncOptions { batch }, &mut |p| {
                let _ = writeln!(
                    stderr,
                    "  {:<24} {:>9} / {} rows",
                    p.table, p.copied, p.to_copy
                );
            })
            .await
            .map(|s| (s, store.url().to_string()))
        })
    })
    .await
    .context("the sync thread ended")??;
    if json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        let copied: u64 = summary.copied.values().sum();
        println!(
            "station {} ({}) synced to {url}: {copied} rows copied in {} batches ({:.1} MB, {:.1} s); station audit chain ({} entries) and {} raw records verified before, the lab store's chain after",
            summary.station_name,
            summary.station_uuid,
            summary.batches,
            summary.bytes as f64 / 1e6,
            summary.seconds,
            summary.audit_entries,
            summary.raw_verified
        );
        for (table, n) in &summary.copied {
            if *n > 0 {
                println!("  {table:<24} {n:>9} new, {} in all", summary.counts[table]);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn connect(store: Option<String>) -> anyhow::Result<LabStore> {
    Ok(LabStore::connect(&store_url(store)?).await?)
}

fn date_text(t: f64) -> String {
    Date::from_unix_seconds(t).to_string()
}

/// Run `pvstation lab …`.
pub async fn lab(command: LabCommand) -> anyhow::Result<ExitCode> {
    match command {
        LabCommand::Stations { store } => {
            let mut lab = connect(store.store).await?;
            for s in views::stations(&mut lab).await? {
                if store.json {
                    println!("{}", serde_json::to_string(&s)?);
                } else {
                    println!("{}  {}", s.uuid, s.name);
                }
            }
        }
        LabCommand::Runs {
            command: LabRuns::List { store },
        } => {
            let mut lab = connect(store.store).await?;
            let runs = views::runs_list(&mut lab).await?;
            for r in &runs {
                if store.json {
                    println!("{r}");
                } else {
                    println!(
                        "{:<24} {:<20} {:<18} {:<12} {} {}",
                        r["id"].as_str().unwrap_or("?"),
                        r["station_name"].as_str().unwrap_or("?"),
                        r["procedure"].as_str().unwrap_or("?"),
                        r["operator"].as_str().unwrap_or("?"),
                        date_text(r["started_at"].as_f64().unwrap_or(0.0)),
                        r["status"].as_str().unwrap_or("running/interrupted")
                    );
                }
            }
            if runs.is_empty() && !store.json {
                println!("no runs in the lab store {}", lab.url());
            }
        }
        LabCommand::Runs {
            command:
                LabRuns::Show {
                    run,
                    station,
                    store,
                },
        } => {
            let mut lab = connect(store.store).await?;
            let found = views::find_run(&mut lab, &run, station.as_deref()).await?;
            let dir = scratch_dir()?;
            let db = views::materialize(&mut lab, &found.uuid, &run, &dir.join("run.db")).await?;
            let mut record = serde_json::to_value(super::store::run_record(&db, &run)?)?;
            record["station_uuid"] = json!(found.uuid);
            record["station_name"] = json!(found.name);
            if store.json {
                println!("{record}");
            } else {
                println!("station {} ({})", found.name, found.uuid);
                super::store::print_record(&record);
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
        LabCommand::Refs { command } => return refs(command).await,
        LabCommand::Export {
            from,
            to,
            out,
            store,
        } => {
            let from = Date::parse(&from).map_err(|e| anyhow::anyhow!("--from: {e}"))?;
            let to = Date::parse(&to).map_err(|e| anyhow::anyhow!("--to: {e}"))?;
            let mut lab = connect(store.store).await?;
            let s = crate::app::lab_export::export(&mut lab, from, to, &out).await?;
            if store.json {
                println!("{}", serde_json::to_string(&s)?);
            } else {
                println!(
                    "{} run(s), {} certificate(s) from {from} to {to} exported to {}: results.parquet ({} rows), iv_points.parquet ({} rows), dcc/, manifest.json (every file's SHA-256)",
                    s.runs,
                    s.certificates,
                    out.display(),
                    s.result_rows,
                    s.point_rows
                );
            }
        }
        LabCommand::Audit {
            command: LabAudit::Verify { store },
        } => {
            let mut lab = connect(store.store).await?;
            let checks = views::audit_verify(&mut lab).await?;
            let broken = checks.iter().filter(|c| !c.problems.is_empty()).count();
            for c in &checks {
                if store.json {
                    println!("{}", serde_json::to_string(c)?);
                } else if c.problems.is_empty() {
                    println!(
                        "station {} ({}): intact — {} rows' hashes, {} audit entries verified",
                        c.station.name,
                        c.station.uuid,
                        c.rows.values().sum::<u64>(),
                        c.audit_entries
                    );
                } else {
                    println!("station {} ({}): BROKEN", c.station.name, c.station.uuid);
                    for p in &c.problems {
                        println!("  - {p}");
                    }
                }
            }
            if !store.json {
                println!(
                    "{} station(s) in {}: {}",
                    checks.len(),
                    lab.url(),
                    if broken == 0 {
                        "every record intact".to_string()
                    } else {
                        format!("{broken} with altered records")
                    }
                );
            }
            return Ok(if broken == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
        LabCommand::Report {
            command: LabReport::Verify { path, key, store },
        } => {
            let mut lab = connect(store).await?;
            let (number, hash) = super::report::identify_certificate(&path)?;
            let Some((station, run_id, number)) =
                views::find_report(&mut lab, number.as_deref(), hash.as_deref()).await?
            else {
                println!(
                    "{} does NOT verify:\n  - no report in the lab store {} has this number or file",
                    path.display(),
                    lab.url()
                );
                return Ok(ExitCode::from(1));
            };
            println!(
                "report {number}: issued on station {} ({}), run {run_id}; checking against the lab store {}",
                station.name,
                station.uuid,
                lab.url()
            );
            let dir = scratch_dir()?;
            let db_path = dir.join("run.db");
            drop(views::materialize(&mut lab, &station.uuid, &run_id, &db_path).await?);
            let shown = format!("the lab store (station {})", station.name);
            let code = super::report::verify(&path, Some(db_path), key, Some(&shown)).await;
            let _ = std::fs::remove_dir_all(&dir);
            return code;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn refs(command: LabRefs) -> anyhow::Result<ExitCode> {
    match command {
        LabRefs::List { store } => {
            let mut lab = connect(store.store).await?;
            for c in views::refs_list(&mut lab).await? {
                if store.json {
                    println!("{c}");
                } else {
                    println!(
                        "{:<10} {:<22} due {}  first seen {}  stations: {}",
                        c["reference_id"].as_str().unwrap_or("?"),
                        c["certificate"].as_str().unwrap_or("?"),
                        c["record"]["certificate"]["due_date"]
                            .as_str()
                            .unwrap_or("?"),
                        date_text(c["first_seen"].as_f64().unwrap_or(0.0)),
                        c["stations"]
                            .as_array()
                            .map(|a| a
                                .iter()
                                .filter_map(|s| s.as_str())
                                .collect::<Vec<_>>()
                                .join(", "))
                            .unwrap_or_default()
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        LabRefs::Check { date, store } => {
            let today = match date {
                Some(d) => Date::parse(&d).map_err(anyhow::Error::msg)?,
                None => Date::from_unix_seconds(crate::instruments::roles::system_now()),
            };
            let mut lab = connect(store.store).await?;
            // Each reference's latest certificate (by first sight) is the one in force.
            let mut latest: std::collections::BTreeMap<String, serde_json::Value> =
                Default::default();
            for c in views::refs_list(&mut lab).await? {
                let id = c["reference_id"].as_str().unwrap_or("?").to_string();
                let newer = latest
                    .get(&id)
                    .is_none_or(|l| l["first_seen"].as_f64() <= c["first_seen"].as_f64());
                if newer {
                    latest.insert(id, c);
                }
            }
            let mut expired = 0;
            for (id, c) in &latest {
                let due = c["record"]["certificate"]["due_date"]
                    .as_str()
                    .and_then(|d| Date::parse(d).ok());
                let (status, days) = match due {
                    Some(d) => {
                        let days = d.days_since_epoch() - today.days_since_epoch();
                        if days < 0 {
                            expired += 1;
                            ("expired", days)
                        } else if days <= 30 {
                            ("due_soon", days)
                        } else {
                            ("valid", days)
                        }
                    }
                    None => ("unknown", 0),
                };
                if store.json {
                    println!(
                        "{}",
                        json!({"reference_id": id, "certificate": c["certificate"], "due_date": c["record"]["certificate"]["due_date"], "status": status, "days_left": days, "stations": c["stations"]})
                    );
                } else {
                    println!(
                        "{id:<10} {:<22} due {} — {}",
                        c["certificate"].as_str().unwrap_or("?"),
                        c["record"]["certificate"]["due_date"]
                            .as_str()
                            .unwrap_or("?"),
                        match status {
                            "expired" => format!("EXPIRED {} days ago", -days),
                            "due_soon" => format!("DUE in {days} days"),
                            "valid" => "valid".into(),
                            _ => "no due date recorded".into(),
                        }
                    );
                }
            }
            if !store.json {
                println!(
                    "{} reference(s) in the lab store as of {today}{}",
                    latest.len(),
                    if expired > 0 {
                        " — recalibrate the expired ones before issuing certificates traced to them"
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
        LabRefs::Trace { certificate, store } => {
            let mut lab = connect(store.store).await?;
            let uses = views::refs_trace(&mut lab, &certificate).await?;
            for u in &uses {
                if store.json {
                    println!("{u}");
                } else {
                    let reports: Vec<&str> = u["reports"]
                        .as_array()
                        .map(|a| a.iter().filter_map(|s| s.as_str()).collect())
                        .unwrap_or_default();
                    println!(
                        "{:<24} {:<20} {:<18} {:<8} started {}  {}  reports: {}",
                        u["run_id"].as_str().unwrap_or("?"),
                        u["station_name"].as_str().unwrap_or("?"),
                        u["procedure"].as_str().unwrap_or("?"),
                        u["reference_id"].as_str().unwrap_or("?"),
                        date_text(u["started_at"].as_f64().unwrap_or(0.0)),
                        u["status"].as_str().unwrap_or("running/interrupted"),
                        if reports.is_empty() {
                            "none".to_string()
                        } else {
                            reports.join(", ")
                        }
                    );
                }
            }
            if !store.json {
                let stations: std::collections::BTreeSet<&str> = uses
                    .iter()
                    .filter_map(|u| u["station_uuid"].as_str())
                    .collect();
                println!(
                    "{} run(s) on {} station(s) used certificate {certificate}; recall the reports listed",
                    uses.len(),
                    stations.len()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A private folder for a run materialised from the lab store.
fn scratch_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "pvstation-lab-{}-{:x}",
        std::process::id(),
        (crate::instruments::roles::system_now() * 1e6) as u64
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}
