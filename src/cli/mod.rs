//! Command line: one module per subcommand. `anyhow` lives here only; the library layers
//! return typed errors, which are printed with their context and a hint how to fix them.

mod demo;
mod instruments;
mod iv;
mod keys;
mod lab;
mod queue;
mod refs;
pub(crate) mod report;
mod run;
mod scpi;
mod sim;
mod store;
mod uncertainty;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::instruments::station::Station;

/// pvstation — control software of a photovoltaic metrology test station.
#[derive(Debug, Parser)]
#[command(name = "pvstation", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the main job on the built-in simulated station.
    Demo(demo::Args),
    /// Run a procedure (a shipped one by name, or a .rhai script), or resume an interrupted run.
    Run(run::Args),
    /// The overnight queue: add, list, remove, run.
    Queue {
        #[command(subcommand)]
        command: queue::Command,
    },
    /// Reference devices and standards: certificates, due dates, which runs used them.
    Refs {
        #[command(subcommand)]
        command: refs::Command,
    },
    /// Issue a run's report from stored data (json, html), or verify an issued one.
    Report(Box<report::Args>),
    /// The operator's console: instruments, live charts and curves, procedures, prompts, queue,
    /// runs, log.
    Tui {
        /// Station file (default: the built-in simulated station).
        #[arg(long)]
        station: Option<PathBuf>,
        /// Database file.
        #[arg(long)]
        db: Option<PathBuf>,
        /// Clock acceleration of a simulated station.
        #[arg(long)]
        speed: Option<f64>,
    },
    /// Signing keys for report signatories.
    Keys {
        #[command(subcommand)]
        command: keys::Command,
    },
    /// The procedures shipped with pvstation.
    Procedures {
        #[command(subcommand)]
        command: run::ProceduresCommand,
    },
    /// Serve a station's simulated instruments (TCP ports and pseudo-terminals).
    Sim(sim::Args),
    /// Instrument commands.
    Instruments {
        #[command(subcommand)]
        command: instruments::Command,
    },
    /// Send SCPI commands to a resource and print the replies (bench debugging).
    Scpi(scpi::Args),
    /// I-V curve analysis: parameters, IEC 60891 translation, parameter fits, batches, plots.
    Iv {
        #[command(subcommand)]
        command: iv::Command,
    },
    /// The audit trail of the station database.
    Audit {
        #[command(subcommand)]
        command: store::AuditCommand,
    },
    /// Runs in the station database.
    Runs {
        #[command(subcommand)]
        command: store::RunsCommand,
    },
    /// Export from the station database.
    Db {
        #[command(subcommand)]
        command: store::DbCommand,
    },
    /// Copy the station database to the laboratory's store (PostgreSQL): what it lacks, in
    /// batches, resumable; the audit chain verified before and after.
    Sync(lab::SyncArgs),
    /// The laboratory's store: every station's runs, references, audit and reports.
    Lab {
        #[command(subcommand)]
        command: lab::LabCommand,
    },
    /// Measurement uncertainty: GUM, Monte Carlo, budgets.
    Uncertainty {
        #[command(subcommand)]
        command: uncertainty::Command,
    },
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    // `pvstation runs list | head`: a closed pipe is not an error. `println!` panics on it,
    // so the panic hook ends the process quietly for that one case (exit status 141 as if
    // killed by SIGPIPE) and reports every other panic as usual.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.contains("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default_hook(info);
    }));
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Demo(args) => demo::run(args).await,
            Command::Run(args) => run::main(args).await,
            Command::Queue { command } => queue::run(command).await,
            Command::Refs { command } => refs::run(command),
            Command::Report(args) => report::run(*args).await,
            Command::Keys { command } => keys::run(command),
            Command::Tui { station, db, speed } => {
                let station = load_station(station.as_ref())?;
                let db = store::database_path(db)?;
                crate::tui::console(
                    station,
                    db,
                    crate::tui::Options {
                        speed,
                        ..Default::default()
                    },
                )
                .await
                .map_err(anyhow::Error::msg)?;
                Ok(ExitCode::SUCCESS)
            }
            Command::Procedures { command } => run::procedures(command),
            Command::Sim(args) => sim::run(args).await,
            Command::Instruments { command } => instruments::run(command).await,
            Command::Scpi(args) => scpi::run(args).await,
            Command::Iv { command } => iv::run(command),
            Command::Uncertainty { command } => uncertainty::run(command),
            Command::Audit { command } => store::audit(command),
            Command::Runs { command } => store::runs(command).await,
            Command::Db { command } => store::db(command),
            Command::Sync(args) => lab::sync(args).await,
            Command::Lab { command } => lab::lab(command).await,
        }
    });
    // Servers of a simulated station may still hold tasks: do not wait for them.
    runtime.shutdown_background();
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", error_text(&e));
            ExitCode::from(2)
        }
    }
}

/// An error and its causes in one line, each cause once: the layers' messages often already
/// quote their cause ("cannot read F: Is a directory"), which anyhow's `{:#}` would repeat.
pub(crate) fn error_text(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !text.contains(&c) {
            text.push_str(": ");
            text.push_str(&c);
        }
    }
    text
}

/// Read a UTF-8 text file of at most `limit` bytes, naming `what` in errors (a file far larger
/// than any real one of its kind is refused before it is read into memory).
pub(crate) fn read_text_file(
    path: &std::path::Path,
    limit: u64,
    what: &str,
) -> anyhow::Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .map_err(|e| anyhow::anyhow!("cannot read {what} {}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| anyhow::anyhow!("cannot read {what} {}: {e}", path.display()))?;
    if bytes.len() as u64 > limit {
        anyhow::bail!(
            "{what} {} is larger than {} KiB; no {what} is that large — is it the right file?",
            path.display(),
            limit / 1024
        );
    }
    String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("{what} {} is not UTF-8 text", path.display()))
}

/// Load a station file, or the built-in simulated station when none is given.
fn load_station(path: Option<&PathBuf>) -> anyhow::Result<Station> {
    Ok(Station::load_or_built_in(path.map(PathBuf::as_path))?)
}
