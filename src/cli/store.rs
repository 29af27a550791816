//! `pvstation audit …` and `pvstation runs …`: the station database from the command line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::store::db::Database;

/// The database: `--db`, else `$PVSTATION_DB`, else `$XDG_DATA_HOME/pvstation/station.db`
/// (or `~/.local/share/pvstation/station.db`).
pub fn database_path(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
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
    let dir = base.join("pvstation");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir.join("station.db"))
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
}

/// Run `pvstation audit …`.
pub fn audit(command: AuditCommand) -> anyhow::Result<ExitCode> {
    let AuditCommand::Verify { db } = command;
    let path = database_path(db)?;
    let db = Database::open(&path)?;
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
pub fn runs(command: RunsCommand) -> anyhow::Result<ExitCode> {
    let RunsCommand::List { db, json } = command;
    let path = database_path(db)?;
    let db = Database::open(&path)?;
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
                r.status.as_deref().unwrap_or("running/interrupted")
            );
        }
    }
    if runs.is_empty() && !json {
        println!("no runs in {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
