//! `pvstation demo`: the main job on the built-in simulated station. The simulated world starts
//! in-process and runs at accelerated time; the shipped `outdoor-pmax` and `bit-calibration`
//! procedures run on it exactly as they would on the real bench — journaled, stored in the
//! station database with their raw data, I/O log and audit trail — and their results are
//! printed.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::{Value, json};

use super::run::{Args as RunArgs, abort_on_signals, printer, run_procedure};
use crate::engine::events::{Event, EventSink, RunStatus};
use crate::store::db::Database;
use crate::store::record::RunRecord;

/// Arguments of `pvstation demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seed of the simulated sky and instrument noise.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Clock acceleration of the simulated world (default: 2 in the console, about a minute
    /// for both runs, a pace a person can follow; 20 with --headless or --json).
    #[arg(long)]
    speed: Option<f64>,
    /// Language of the certificates: en, zh or zh-en (default: the station's, zh-en).
    #[arg(long)]
    lang: Option<String>,
    /// Plain output instead of the console (which opens when the demo runs in a terminal).
    #[arg(long)]
    headless: bool,
    /// Print one JSON object with both runs at the end (instead of the progress text).
    #[arg(long)]
    json: bool,
    /// Database file (default: $PVSTATION_DB, else the platform data directory).
    #[arg(long)]
    db: Option<PathBuf>,
    /// Where the certificates go (default: `reports/` next to the database).
    #[arg(long)]
    reports: Option<PathBuf>,
    /// A simulated station file with both benches (default: the built-in station; e.g. a copy
    /// with its own `number_prefix`, as a second station of the laboratory).
    #[arg(long)]
    station: Option<PathBuf>,
}

fn quiet_printer() -> EventSink {
    let text = printer(false);
    // The demo shows the procedures' own log lines, results, interruptions and warnings; the
    // gate's second-by-second waiting messages and activity events stay in the database.
    Arc::new(move |e: Event| match e {
        Event::Waiting { .. }
        | Event::Activity { .. }
        | Event::ActivityStarted { .. }
        | Event::Sweep { .. }
        | Event::Conditions { .. } => {}
        Event::Result { .. } => {}
        other => text(other),
    })
}

/// Run `pvstation demo`.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let _ = args.headless;
    if let Some(lang) = &args.lang {
        crate::report::text::Lang::parse(lang).map_err(|e| anyhow::anyhow!("--lang: {e}"))?;
    }
    let console = !args.headless && !args.json && std::io::stdout().is_terminal();
    let speed = args.speed.unwrap_or(if console { 2.0 } else { 20.0 });
    if !(speed.is_finite() && speed > 0.0) {
        anyhow::bail!("--speed {speed}: give a positive acceleration factor");
    }
    let db = super::store::database_path(args.db.clone())?;
    let reports_dir = match &args.reports {
        Some(d) => d.clone(),
        None => db
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .join("reports"),
    };
    let jobs: [(&str, &[&str]); 2] = [
        ("outdoor-pmax", &[]),
        (
            "bit-calibration",
            &["lab_temperature=23.0", "lab_humidity=45", "connect=ok"],
        ),
    ];
    // In a terminal the demo runs in the console (both procedures started one after the
    // other, live); `--headless` or `--json` keep the plain output.
    if console {
        let autostart = jobs
            .iter()
            .map(|(p, answers)| {
                let answers = answers
                    .iter()
                    .filter_map(|a| a.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                (p.to_string(), answers)
            })
            .collect();
        // Each run is certified as it completes, and the console says where the files went.
        let said: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
        let certify_run: crate::tui::Certify = {
            let (db, reports_dir, said) = (db.clone(), reports_dir.clone(), said.clone());
            let lang = args.lang.clone();
            Arc::new(move |run_id: &str| {
                let database = Database::open(&db).map_err(|e| e.to_string())?;
                let record =
                    super::store::run_record(&database, run_id).map_err(|e| e.to_string())?;
                let out = reports_dir.join(&record.start.procedure);
                let lines = std::sync::Mutex::new(Vec::new());
                certify(&database, &db, &record, &out, lang.as_deref(), &|l| {
                    if let Ok(mut v) = lines.lock() {
                        v.push(l.to_string());
                    }
                })
                .map_err(|e| e.to_string())?;
                let lines = lines.into_inner().unwrap_or_default();
                if let Ok(mut s) = said.lock() {
                    s.extend(lines.iter().cloned());
                }
                Ok(format!(
                    "{}: certificate in {}",
                    record.start.procedure,
                    out.display()
                ))
            })
        };
        crate::tui::console(
            super::load_station(args.station.as_ref())?,
            db.clone(),
            crate::tui::Options {
                speed: Some(speed),
                seed: Some(args.seed),
                autostart,
                certify: Some(certify_run),
            },
        )
        .await
        .map_err(anyhow::Error::msg)?;
        for line in said.lock().map(|s| s.clone()).unwrap_or_default() {
            println!("{line}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let abort = abort_on_signals();
    let events: EventSink = if args.json {
        Arc::new(|_| {})
    } else {
        quiet_printer()
    };
    let say = |line: &str| {
        if !args.json {
            println!("{line}");
        }
    };
    say(&format!(
        "pvstation demo — simulated plateau outdoor bench + battery-tester bench (seed {}, ×{} time)",
        args.seed, speed
    ));
    say(&format!("database: {}", db.display()));
    let mut runs = Vec::new();
    let mut all_ok = true;
    for (procedure, answers) in jobs {
        say("");
        let run_args = RunArgs {
            procedure: procedure.into(),
            station: args.station.clone(),
            db: Some(db.clone()),
            set: Vec::new(),
            answer: answers.iter().map(|s| s.to_string()).collect(),
            headless: true,
            json: false,
            seed: Some(args.seed),
            speed: Some(speed),
            faults: None,
            sim_start: None,
            resume: None,
            operator: None,
            dry_run: false,
        };
        let outcome = run_procedure(&run_args, events.clone(), abort.clone()).await?;
        all_ok &= outcome.status == RunStatus::Completed;
        let database = Database::open(&db)?;
        let record = super::store::run_record(&database, &outcome.run_id)?;
        if !args.json {
            summarise(procedure, &record);
        }
        let out = reports_dir.join(procedure);
        let report_files = certify(&database, &db, &record, &out, args.lang.as_deref(), &say)?;
        runs.push(json!({
            "run_id": outcome.run_id,
            "procedure": procedure,
            "status": outcome.status,
            "reason": outcome.reason,
            "results": outcome.results,
            "instruments": record.start.station["instruments"],
            "activities": record.activities.len(),
            "interruptions": record.interruptions,
            "reports": report_files.iter().map(|f| out.join(f).display().to_string()).collect::<Vec<_>>(),
        }));
    }
    if args.json {
        println!(
            "{}",
            json!({"database": db.display().to_string(), "runs": runs})
        );
    } else {
        say("");
        say("every raw observation, activity and instrument I/O byte is stored; see");
        for r in &runs {
            say(&format!(
                "  pvstation runs show {} --db {}",
                r["run_id"].as_str().unwrap_or("?"),
                db.display()
            ));
        }
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The demo laboratory's document-signing key, beside the database (made on first use,
/// readable by its owner only): a self-signed P-256 key the certificates name as a demo key.
fn demo_lab_key(db: &std::path::Path) -> anyhow::Result<crate::report::pades::LabKey> {
    use crate::report::pades::{LabKey, Subject};
    let path = db.with_file_name("demo-lab-signing-key.pem");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return LabKey::from_pem(&text).map_err(|e| {
            anyhow::anyhow!("{}: {e} (delete it to make a new demo key)", path.display())
        });
    }
    let key = LabKey::generate(
        &Subject {
            common_name: "pvstation demo laboratory document signing",
            organisation: "pvstation demo laboratory",
            country: "CN",
        },
        crate::model::Date::from_unix_seconds(crate::instruments::roles::system_now()),
        5,
    )
    .map_err(anyhow::Error::msg)?;
    super::keys::write_secret(&path, key.to_pem().map_err(anyhow::Error::msg)?.as_bytes())?;
    Ok(key)
}

/// Issue a demo run's certificate in all four formats from what was stored (placeholder
/// customer, item and signatory: it is the demo); the files written.
fn certify(
    database: &Database,
    db_path: &std::path::Path,
    record: &RunRecord,
    out: &std::path::Path,
    lang: Option<&str>,
    say: &dyn Fn(&str),
) -> anyhow::Result<Vec<String>> {
    let run_id = record.run_id.as_str();
    let (item, model, manufacturer, serial) = match record.start.procedure.as_str() {
        "outdoor-pmax" => (
            "PV module (simulated)",
            "CS5P-220M, 220 W",
            "Canadian Solar",
            "DEMO-CS5P-0001",
        ),
        _ => (
            "Battery internal-resistance tester (simulated)",
            "BT3562",
            "Hioki",
            "DEMO-BT-0001",
        ),
    };
    let started = record.start.started_at;
    let formats = crate::report::Format::ALL;
    let issued = crate::app::reports::issue_report(
        database,
        &crate::app::reports::Issue {
            run_id,
            out,
            formats: &formats,
            meta: crate::report::model::ReportMeta {
                customer: Some("Demo customer (simulated station)".into()),
                customer_email: Some("demo@example.org".into()),
                item: Some(item.into()),
                received: Some(crate::model::Date::from_unix_seconds(started)),
                signatory: Some("Demo approver 演示批准人".into()),
                signatory_role: Some("Technical manager (demo)".into()),
                address: None,
                draft: record.stop.as_ref().map(|s| s.status) != Some(RunStatus::Completed),
                calibrated_by: None,
                checked_by: Some("Demo checker 演示核验员".into()),
                item_model: Some(model.into()),
                item_serial: Some(serial.into()),
                item_manufacturer: Some(manufacturer.into()),
                language: lang.map(str::to_string),
                procedure: None,
            },
            key: None,
            meaning: "approval",
            issued_at: crate::instruments::roles::system_now(),
            lab_key: Some((demo_lab_key(db_path)?, true)),
        },
    )?;
    Ok(match issued {
        Ok(i) => {
            say(&format!(
                "  certificate {}: {}",
                i.number,
                i.files
                    .iter()
                    .map(|f| out.join(f).display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            i.files
        }
        Err(gaps) => {
            say(&format!("  no certificate: {}", gaps.join("; ")));
            Vec::new()
        }
    })
}

fn summarise(procedure: &str, record: &RunRecord) {
    let results = &record.results;
    let n = record.activities.len();
    println!("{procedure}: {n} activities journaled");
    if procedure == "outdoor-pmax"
        && let Some(list) = record.start.station["instruments"].as_array()
    {
        for i in list {
            println!(
                "  {:<15} {:<17} {}",
                i["name"].as_str().unwrap_or("?"),
                i["role"].as_str().unwrap_or("?"),
                i["identity"].as_str().unwrap_or("?")
            );
        }
    }
    match procedure {
        "outdoor-pmax" => {
            let p = results.get("p_mp_stc").unwrap_or(&Value::Null);
            let c = results.get("conformity").unwrap_or(&Value::Null);
            println!(
                "  {} (about 95 %), from {} curves, {} retaken",
                crate::model::stated::result_line("p_mp_stc", p),
                p["curves"],
                p["retaken_sweeps"]
            );
            for q in ["i_sc_stc", "v_oc_stc", "i_mp_stc", "v_mp_stc", "ff_stc"] {
                if let Some(r) = results.get(q) {
                    println!("  {}", crate::model::stated::result_line(q, r));
                }
            }
            println!(
                "  nameplate {} W ± {} %: {} ({} rule)",
                c["nominal"],
                c["tolerance"].as_f64().unwrap_or(f64::NAN) * 100.0,
                c["value"].as_str().unwrap_or("?"),
                c["rule"].as_str().unwrap_or("?")
            );
        }
        _ => {
            println!(
                "  {:<22} {:>20} {:>22} {:>14}  verdict",
                "error of indication", "E", "U (k)", "MPE ±"
            );
            // In measurement order: resistances, then voltages, each by nominal value.
            let mut points: Vec<(&String, &Value)> = results
                .iter()
                .filter(|(name, _)| *name != "conformity")
                .collect();
            points.sort_by(|a, b| {
                let key = |(n, r): &(&String, &Value)| {
                    (
                        n.starts_with("voltage"),
                        r["nominal"].as_f64().unwrap_or(0.0),
                    )
                };
                let (ka, kb) = (key(a), key(b));
                ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
            });
            for (name, r) in points {
                let Some(s) = crate::model::stated::of_result(r) else {
                    continue;
                };
                // The MPE in the stated error's prefixed unit (the prefix of the nominal value).
                let unit = r["unit"].as_str().unwrap_or_default();
                let prefix = crate::model::stated::Prefix::for_magnitude(
                    unit,
                    r["nominal"].as_f64().unwrap_or(0.0),
                );
                let mpe = r["mpe"]
                    .as_f64()
                    .and_then(|m| crate::model::stated::significant(m / prefix.factor(), 2))
                    .unwrap_or_default();
                println!(
                    "  {:<22} {:>20} {:>22} {:>14}  {}",
                    name,
                    format!("{} {}", s.value, s.unit),
                    format!("{} {} ({})", s.expanded, s.unit, s.k),
                    format!("{mpe} {}", s.unit),
                    r["verdict"].as_str().unwrap_or("?")
                );
            }
            println!(
                "  overall: {}",
                results
                    .get("conformity")
                    .and_then(|c| c["value"].as_str())
                    .unwrap_or("?")
            );
        }
    }
}
