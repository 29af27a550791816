//! `pvstation audit …` and `pvstation runs …`: the station database from the command line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::store::db::Database;
use crate::store::record::RunRecord;

/// Where the database is: `--db`, else `$PVSTATION_DB`, else
/// `$XDG_DATA_HOME/pvstation/station.db` (or `~/.local/share/pvstation/station.db`).
pub fn database_location(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(p) = given {
        return Ok(p);
    }
    if let Some(p) = std::env::var_os("PVSTATION_DB") {
        return Ok(PathBuf::from(p));
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .context("no --db, $PVSTATION_DB, $XDG_DATA_HOME or $HOME: give --db FILE")?;
    Ok(base.join("pvstation").join("station.db"))
}

/// The database a writing command uses (see [`database_location`]); the default directory is created.
pub fn database_path(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let path = database_location(given)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    Ok(path)
}

/// The database of a read command, opened read-only: a missing file is an error naming it,
/// and nothing — not even a directory — is created or changed.
pub fn read_database(given: Option<PathBuf>) -> anyhow::Result<(PathBuf, Database)> {
    let path = database_location(given)?;
    let db = Database::open_read_only(&path)?;
    Ok((path, db))
}

/// `pvstation audit …`.
#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain of the audit trail; exit 1 naming the first broken link.
    Verify {
        /// Database file.
        #[arg(long)]
        db: Option<PathBuf>,
    },
}

/// `pvstation runs …`.
#[derive(Debug, clap::Subcommand)]
pub enum RunsCommand {
    /// List the runs, newest first.
    List {
        /// Database file.
        #[arg(long)]
        db: Option<PathBuf>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Check a stopped run: raw-data hashes, and its stored script re-executed against its
    /// journal (no instruments) reproduces the stored results; exit 1 on any difference.
    Verify {
        /// Run id.
        run: String,
        /// Database file.
        #[arg(long)]
        db: Option<PathBuf>,
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
    /// The whole record of a run: start, activities, interruptions, results, stop.
    Show {
        /// Run id.
        run: String,
        /// Database file.
        #[arg(long)]
        db: Option<PathBuf>,
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
}

/// `pvstation db …`.
#[derive(Debug, clap::Subcommand)]
pub enum DbCommand {
    /// Export a run's measured I-V points (one row per point, with the raw record's SHA-256).
    Export {
        /// Run id.
        run: String,
        /// `parquet` or `csv`.
        #[arg(long)]
        format: String,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// Database file.
        #[arg(long)]
        db: Option<PathBuf>,
    },
}

/// Run `pvstation db …`.
pub fn db(command: DbCommand) -> anyhow::Result<ExitCode> {
    use crate::store::export::{Format, run_points, write_points};
    let DbCommand::Export {
        run,
        format,
        out,
        db,
    } = command;
    let format = match format.as_str() {
        "parquet" => Format::Parquet,
        "csv" => Format::Csv,
        f => anyhow::bail!("--format {f}: use parquet or csv"),
    };
    let (_, db) = read_database(db)?;
    let rows = run_points(&db, &run)?;
    write_points(&out, &rows, format)?;
    println!(
        "{} points of run {run} written to {}",
        rows.len(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The whole run record as JSON (`runs show --json`; a contract: keys are only ever added).
pub fn run_record(db: &Database, run: &str) -> anyhow::Result<RunRecord> {
    RunRecord::load(db, run)?.with_context(|| {
        format!("no run `{run}` in this database; `pvstation runs list` shows the runs")
    })
}

/// Run `pvstation audit …`.
pub fn audit(command: AuditCommand) -> anyhow::Result<ExitCode> {
    let AuditCommand::Verify { db } = command;
    let (path, db) = read_database(db)?;
    if let Err(broken) = db.verify_raw()? {
        println!(
            "raw data of {} ALTERED at raw record {}: {}",
            path.display(),
            broken.id,
            broken.problem
        );
        return Ok(ExitCode::from(1));
    }
    match db.verify_audit()? {
        Ok(n) => {
            println!(
                "audit trail of {} intact: {n} entries, every link verified",
                path.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(broken) => {
            println!(
                "audit trail of {} BROKEN at entry {}: {}",
                path.display(),
                broken.id,
                broken.problem
            );
            Ok(ExitCode::from(1))
        }
    }
}

/// Run `pvstation runs …`.
pub async fn runs(command: RunsCommand) -> anyhow::Result<ExitCode> {
    let (db, json) = match command {
        RunsCommand::List { db, json } => (db, json),
        RunsCommand::Verify { run, db, json } => {
            let v = crate::engine::verify::verify_run(&database_location(db)?, &run).await?;
            if json {
                println!("{}", serde_json::to_string(&v)?);
            } else if v.differences.is_empty() {
                println!(
                    "run {run} verified: {} raw records match their SHA-256; the stored script re-executed against {} journaled activities reproduces all {} results exactly",
                    v.raw_records, v.activities, v.results
                );
            } else {
                println!("run {run} does NOT verify:");
                for d in &v.differences {
                    println!(
                        "  {}: stored {} — recomputed {}",
                        d.what, d.stored, d.recomputed
                    );
                }
            }
            return Ok(if v.differences.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
        RunsCommand::Show { run, db, json } => {
            let (_, db) = read_database(db)?;
            let record = serde_json::to_value(run_record(&db, &run)?)?;
            if json {
                println!("{record}");
            } else {
                print_record(&record);
            }
            return Ok(ExitCode::SUCCESS);
        }
    };
    let (path, db) = read_database(db)?;
    let runs = db.runs()?;
    for r in &runs {
        if json {
            println!("{}", serde_json::to_string(r)?);
        } else {
            println!(
                "{:<38} {:<20} {:<12} {:.0} {}",
                r.id,
                r.procedure,
                r.operator,
                r.started_at,
                r.status.map_or("running/interrupted", |s| s.as_str())
            );
        }
    }
    if runs.is_empty() && !json {
        println!("no runs in {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn print_record(r: &serde_json::Value) {
    let start = &r["start"];
    println!("run {}", r["run_id"].as_str().unwrap_or("?"));
    println!(
        "  procedure {} (script {}), operator {}, pvstation {}",
        start["procedure"].as_str().unwrap_or("?"),
        start["procedure_hash"]
            .as_str()
            .unwrap_or("?")
            .get(..12)
            .unwrap_or("?"),
        start["operator"].as_str().unwrap_or("?"),
        start["software_version"].as_str().unwrap_or("?")
    );
    println!("  parameters {}", start["parameters"]);
    if let Some(list) = start["station"]["instruments"].as_array() {
        for i in list {
            println!(
                "  instrument {:<15} {}",
                i["name"].as_str().unwrap_or("?"),
                i["identity"].as_str().unwrap_or("?")
            );
        }
    }
    let activities = r["activities"].as_array().map(Vec::len).unwrap_or(0);
    println!(
        "  {activities} activities, {} I/O log entries",
        r["io_log_entries"]
    );
    for i in r["interruptions"].as_array().into_iter().flatten() {
        println!(
            "  interruption at activity {}: {} {}",
            i["seq"],
            i["kind"].as_str().unwrap_or("?"),
            i["details"]
        );
    }
    for (name, v) in r["results"].as_object().into_iter().flatten() {
        println!("  result {}", crate::model::stated::result_line(name, v));
    }
    match r["stop"].as_object() {
        Some(s) => println!(
            "  stopped: {} {}",
            s["status"].as_str().unwrap_or("?"),
            s["reason"].as_str().unwrap_or("")
        ),
        None => println!(
            "  not stopped: running, or interrupted (resume with `pvstation run … --resume`)"
        ),
    }
}
