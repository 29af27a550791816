//! `pvstation queue …`: the overnight queue from the command line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::run::{abort_on_signals, pairs, printer};
use crate::app::queue::{OnFailure, QueueOptions, run_queue};
use crate::engine::events::RunStatus;
use crate::engine::procedure::Procedure;
use crate::engine::queue::{local_offset, parse_time, parse_window};
use crate::engine::run::operator_name;
use crate::store::db::Database;
use crate::store::queue::NewItem;

/// `pvstation queue …`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Append a procedure to the queue.
    Add {
        /// A shipped procedure's name or the path of a .rhai script.
        procedure: String,
        /// Set a parameter (repeatable).
        #[arg(long = "set", value_name = "K=V")]
        set: Vec<String>,
        /// Answer a prompt in advance (repeatable); queued runs are headless.
        #[arg(long = "answer", value_name = "PROMPT=VALUE")]
        answer: Vec<String>,
        /// Not before this time: `YYYY-MM-DD HH:MM` (local), `…Z` (UTC) or Unix seconds.
        #[arg(long)]
        not_before: Option<String>,
        /// Daily window in local time, `HH:MM-HH:MM` (may wrap midnight).
        #[arg(long)]
        window: Option<String>,
        /// Station file (default: the built-in simulated station).
        #[arg(long)]
        station: Option<PathBuf>,
        /// Database file.
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// The queue, in order.
    List {
        /// Include finished and removed items.
        #[arg(long)]
        all: bool,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        /// Database file.
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// Remove a pending item.
    Remove {
        /// Item id.
        id: i64,
        /// Database file.
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// Run the queue headless: items in order inside their windows; exit 1 if one failed.
    Run {
        /// On failure: `continue` with the next item, or `stop` the queue.
        #[arg(long, default_value = "continue")]
        on_failure: String,
        /// Clock acceleration of simulated stations.
        #[arg(long)]
        speed: Option<f64>,
        /// One JSON event per line; the last line is the summary.
        #[arg(long)]
        json: bool,
        /// Operator name for the records (default: $USER).
        #[arg(long)]
        operator: Option<String>,
        /// Database file.
        #[arg(long)]
        db: Option<PathBuf>,
        /// After each run, copy the station database to this lab store
        /// (postgresql://USER@HOST:PORT/DATABASE; see `pvstation sync`).
        #[arg(long)]
        sync: Option<String>,
    },
}

fn now() -> f64 {
    crate::instruments::roles::system_now()
}

/// Run `pvstation queue …`.
pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Add {
            procedure,
            set,
            answer,
            not_before,
            window,
            station,
            db,
        } => {
            // Everything is checked now, not at 3 a.m.
            let p = Procedure::find(&procedure)?;
            let sets = pairs(&set, "--set")?;
            p.parameters(&sets).map_err(anyhow::Error::msg)?;
            if let Some(w) = &window {
                parse_window(w).map_err(anyhow::Error::msg)?;
            }
            let not_before = not_before
                .map(|t| parse_time(&t, local_offset()))
                .transpose()
                .map_err(anyhow::Error::msg)?;
            if let Some(s) = &station {
                crate::instruments::station::Station::load(s)?;
            }
            // A script path is stored absolute, so the queue runs from any directory.
            let procedure = if std::path::Path::new(&procedure).exists() {
                std::fs::canonicalize(&procedure)
                    .with_context(|| format!("cannot resolve {procedure}"))?
                    .display()
                    .to_string()
            } else {
                procedure
            };
            let station = station
                .map(|s| std::fs::canonicalize(&s).map(|p| p.display().to_string()))
                .transpose()?;
            let db = Database::open(&super::store::database_path(db)?)?;
            let id = db.queue_add(
                &NewItem {
                    procedure: procedure.clone(),
                    sets,
                    answers: pairs(&answer, "--answer")?,
                    station,
                    not_before,
                    window,
                },
                now(),
                &operator_name(None),
            )?;
            println!("queued item {id}: {procedure}");
        }
        Command::List { all, json, db } => {
            let (path, db) = super::store::read_database(db)?;
            let items = db.queue_items(all)?;
            for i in &items {
                if json {
                    println!("{}", serde_json::to_string(i)?);
                } else {
                    let sets: Vec<String> =
                        i.sets.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    println!(
                        "{:>4}  {:<9} {:<18} {:<24} window {:<11} {}{}",
                        i.id,
                        i.status,
                        i.procedure,
                        i.run_id.as_deref().unwrap_or("-"),
                        i.window.as_deref().unwrap_or("any"),
                        sets.join(" "),
                        i.not_before
                            .map(|t| format!(" not before {t:.0} (Unix s)"))
                            .unwrap_or_default()
                    );
                }
            }
            if items.is_empty() && !json {
                println!("the queue in {} is empty", path.display());
            }
        }
        Command::Remove { id, db } => {
            let db = Database::open(&super::store::database_path(db)?)?;
            db.queue_remove(id, now(), &operator_name(None))?;
            println!("removed queue item {id}");
        }
        Command::Run {
            on_failure,
            speed,
            json,
            operator,
            db,
            sync,
        } => {
            let on_failure = match on_failure.as_str() {
                "continue" => OnFailure::Continue,
                "stop" => OnFailure::Stop,
                p => anyhow::bail!("--on-failure {p}: use continue or stop"),
            };
            let done = run_queue(QueueOptions {
                db_path: super::store::database_path(db)?,
                on_failure,
                speed,
                operator: operator_name(operator),
                events: printer(json),
                abort: abort_on_signals(),
                sync,
            })
            .await?;
            let failed = done
                .iter()
                .filter(|d| d.status != RunStatus::Completed)
                .count();
            if json {
                println!(
                    "{}",
                    serde_json::json!({"event": "queue_finished", "items": done, "failed": failed})
                );
            } else {
                println!("queue summary: {} run, {failed} not completed", done.len());
                for d in &done {
                    println!(
                        "  item {:>4} {:<18} {:<24} {:<9} {:>7.1} s {}",
                        d.item,
                        d.procedure,
                        d.run_id.as_deref().unwrap_or("-"),
                        d.status.as_str(),
                        d.duration,
                        d.reason.as_deref().unwrap_or("")
                    );
                }
            }
            return Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
    }
    Ok(ExitCode::SUCCESS)
}
