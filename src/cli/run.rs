//! `pvstation run` and `pvstation procedures …`: procedures from the command line.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;

use crate::app::run::{RunRequest, dry_run, start};
use crate::engine::events::{Event, EventSink, Prompter, RunStatus};
use crate::engine::procedure::{Procedure, shipped};
use crate::engine::run::{RunOutcome, operator_name};
use crate::instruments::station::Station;

/// Arguments of `pvstation run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A shipped procedure's name (`pvstation procedures list`) or the path of a .rhai script.
    pub procedure: String,
    /// Station file (default: the built-in simulated station).
    #[arg(long)]
    pub station: Option<PathBuf>,
    /// Database file (default: $PVSTATION_DB, else the platform data directory).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Set a parameter: `--set sweeps=5` (repeatable).
    #[arg(long = "set", value_name = "K=V")]
    pub set: Vec<String>,
    /// Answer a prompt in advance: `--answer lab_temperature=23.1` (repeatable).
    #[arg(long = "answer", value_name = "PROMPT=VALUE")]
    pub answer: Vec<String>,
    /// Never wait for the operator: a prompt without an `--answer` fails its activity.
    #[arg(long)]
    pub headless: bool,
    /// One JSON event per line: first `started`, last `finished`.
    #[arg(long)]
    pub json: bool,
    /// Seed of the simulated world.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Clock acceleration of a simulated station.
    #[arg(long)]
    pub speed: Option<f64>,
    /// Faults for simulated instruments, `INSTRUMENT:SPEC,…` (as `pvstation sim --faults`).
    #[arg(long)]
    pub faults: Option<String>,
    /// Start of the simulated world, seconds since the Unix epoch (default: a clear plateau
    /// noon); a resumed run continues from its last journaled time.
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub sim_start: Option<f64>,
    /// Resume an interrupted run.
    #[arg(long = "resume", value_name = "RUN_ID")]
    pub resume: Option<String>,
    /// Operator name for the records (default: $USER).
    #[arg(long)]
    pub operator: Option<String>,
    /// Check the script, parameters and station without touching any instrument.
    #[arg(long)]
    pub dry_run: bool,
}

/// `pvstation procedures …`.
#[derive(Debug, clap::Subcommand)]
pub enum ProceduresCommand {
    /// The shipped procedures.
    List {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// A procedure's declaration: description, roles, parameters with units and limits.
    Show {
        /// Name or path.
        procedure: String,
        /// JSON.
        #[arg(long)]
        json: bool,
    },
    /// The host API a procedure script can call.
    Api,
}

pub fn pairs(list: &[String], flag: &str) -> anyhow::Result<Vec<(String, String)>> {
    list.iter()
        .map(|s| {
            s.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .with_context(|| format!("{flag} {s}: write NAME=VALUE"))
        })
        .collect()
}

/// Print events as text or JSON lines.
pub fn printer(json: bool) -> EventSink {
    Arc::new(move |e: Event| {
        let mut out = std::io::stdout().lock();
        if json {
            if let Ok(line) = serde_json::to_string(&e) {
                let _ = writeln!(out, "{line}");
            }
            let _ = out.flush();
            return;
        }
        let line = match &e {
            Event::Started {
                run_id,
                procedure,
                resumed,
                journaled,
            } => {
                if *resumed {
                    format!(
                        "run {run_id} ({procedure}) resumed: {journaled} journaled activities replay without instrument I/O"
                    )
                } else {
                    format!("run {run_id} ({procedure}) started")
                }
            }
            Event::Activity { .. }
            | Event::ActivityStarted { .. }
            | Event::Sweep { .. }
            | Event::Conditions { .. }
            | Event::Sky { .. }
            | Event::Spectrum { .. } => return,
            Event::Waiting { message, .. } => format!("  … {message}"),
            Event::Log { message } => format!("  {message}"),
            Event::Interruption {
                seq, kind, details, ..
            } => {
                format!("  interruption at activity {seq}: {kind} {details}")
            }
            Event::Result { name, value } => format!(
                "  result {}",
                crate::model::stated::result_line(name, value)
            ),
            Event::Warning { message } => format!("  warning: {message}"),
            Event::Finished {
                run_id,
                status,
                reason,
                ..
            } => match reason {
                Some(r) => format!("run {run_id} {status}: {r}"),
                None => format!("run {run_id} {status}"),
            },
        };
        let _ = writeln!(out, "{line}");
    })
}

/// Interactive prompt answers from the terminal.
fn terminal_prompter() -> Prompter {
    Box::new(|id: &str, text: &str| {
        eprint!("? {text} [{id}] ");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        match std::io::stdin().lock().read_line(&mut line) {
            Ok(0) => Err(format!(
                "prompt `{id}`: no answer (standard input closed); give --answer {id}=VALUE"
            )),
            Ok(_) => Ok(line.trim().to_string()),
            Err(e) => Err(format!("prompt `{id}`: {e}")),
        }
    })
}

/// Print what a dry run found (or why the procedure cannot run).
fn print_dry_run(
    procedure: &Procedure,
    station: &Station,
    sets: &[(String, String)],
) -> anyhow::Result<()> {
    let d = dry_run(procedure, station, sets).map_err(anyhow::Error::msg)?;
    println!("dry run: {} is ready to run on {}", d.procedure, d.station);
    for (role, instrument) in &d.roles {
        println!("  role {role:<17} → {instrument}");
    }
    println!("  parameters {}", serde_json::Value::Object(d.parameters));
    Ok(())
}

/// Run a procedure with the given options (shared by `run`, `demo` and `queue run`).
pub async fn run_procedure(
    args: &Args,
    events: EventSink,
    abort: Arc<AtomicBool>,
) -> anyhow::Result<RunOutcome> {
    let outcome = start(RunRequest {
        procedure: Procedure::find(&args.procedure)?,
        station: super::load_station(args.station.as_ref())?,
        db_path: super::store::database_path(args.db.clone())?,
        sets: pairs(&args.set, "--set")?,
        answers: pairs(&args.answer, "--answer")?.into_iter().collect(),
        prompter: (!args.headless).then(terminal_prompter),
        operator: operator_name(args.operator.clone()),
        seed: args.seed,
        speed: args.speed,
        faults: args.faults.clone(),
        sim_start: args.sim_start,
        resume: args.resume.clone(),
        events,
        abort,
    })
    .await?;
    Ok(outcome)
}

/// Abort on Ctrl-C (SIGINT) or SIGTERM: the current activity finishes, every instrument is
/// made safe, and the stop is recorded as aborted.
pub fn abort_on_signals() -> Arc<AtomicBool> {
    let abort = Arc::new(AtomicBool::new(false));
    let flag = abort.clone();
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let term_recv = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term_recv => {}
        }
        eprintln!(
            "abort requested: finishing the current activity, then making every instrument safe"
        );
        flag.store(true, Ordering::SeqCst);
    });
    abort
}

/// Run `pvstation run`.
pub async fn main(args: Args) -> anyhow::Result<ExitCode> {
    if args.dry_run {
        let procedure = Procedure::find(&args.procedure)?;
        let station = super::load_station(args.station.as_ref())?;
        print_dry_run(&procedure, &station, &pairs(&args.set, "--set")?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let abort = abort_on_signals();
    let outcome = run_procedure(&args, printer(args.json), abort).await?;
    Ok(if outcome.status == RunStatus::Completed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Run `pvstation procedures …`.
pub fn procedures(command: ProceduresCommand) -> anyhow::Result<ExitCode> {
    match command {
        ProceduresCommand::List { json } => {
            for p in shipped() {
                let p = p?;
                let d = &p.declaration;
                if json {
                    println!("{}", serde_json::to_string(d)?);
                } else {
                    let first = d.description.split(". ").next().unwrap_or("");
                    println!("{:<18} {:<7} {first}", d.name, d.version);
                }
            }
        }
        ProceduresCommand::Show { procedure, json } => {
            let p = Procedure::find(&procedure)?;
            let d = &p.declaration;
            if json {
                println!("{}", serde_json::to_string(d)?);
            } else {
                println!("{} {} — {}", d.name, d.version, p.file);
                println!("script sha256 {}", p.hash);
                println!("roles: {}", d.roles.join(", "));
                println!("{}", d.description);
                println!("parameters:");
                for q in &d.parameters {
                    let mut limits = String::new();
                    if let Some(m) = q.min {
                        limits.push_str(&format!(" min {m}"));
                    }
                    if let Some(m) = q.max {
                        limits.push_str(&format!(" max {m}"));
                    }
                    if let Some(c) = &q.choices {
                        limits.push_str(&format!(" one of {}", c.join("|")));
                    }
                    println!(
                        "  {:<24} {:<7} default {:<10} [{}]{limits}  {}",
                        q.name,
                        format!("{:?}", q.kind).to_lowercase(),
                        q.default.to_string(),
                        q.unit,
                        q.description
                    );
                }
            }
        }
        ProceduresCommand::Api => print!("{API}"),
    }
    Ok(ExitCode::SUCCESS)
}

const API: &str = "\
Host API of procedure scripts (activities are journaled and replayed on resume):
  conditions()                         activity: temperatures + irradiance (reference cell)
  wait_stable(gate)                    activity: wait until the gate holds; gate = #{min_irradiance,
                                       max_variation, duration, max_temperature_spread, timeout, interval}
  sweep(settings)                      activity: I-V sweep with irradiance sampled around it;
                                       settings = #{start, stop, points, nplc, delay, current_limit,
                                       four_wire, mode: forward|reverse|dual, binary}
  stable_sweep(gate, settings, n)      wait_stable + sweep + validity checks; invalid or failed
                                       sweeps are recorded as interruptions and retaken (≤ n times)
  select_channel(ch)  set_voltage(v)  standby()  read_tester()
  read_sky()                           activity: every Modbus sky instrument once, by name:
                                       #{\"poa-pyranometer\": #{irradiance, body_temperature, sensor}, …, sun}
  read_spectrum()                      activity: every spectroradiometer's latched spectrum, by name:
                                       #{wavelength, irradiance, unit, scan, registers, broadband, time}
  compare_references(n)  history(procedure, result)
  prompt(id, text)  now()  sleep(seconds)  random()
Pure:
  extract(curve)  translate(curve, G, T, method)  hysteresis(fwd, rev)
  pmax_budget(curve, conditions, method, inputs)  resistance_budget(point)  voltage_budget(point)
  decide(y, u, U, lower, upper, rule)  mean(a)  stdev(a)  sqrt(x)
  stated(y, U, k, unit, nominal)       \"0.0031 mΩ, U = 0.0014 mΩ (k = 2.3)\" (GUM 7.2.6)
  spectral_mismatch(spectrum, dut_sr, ref_sr)   SMM (IEC 60904-7) of a measured spectrum, u by
                                       Monte Carlo over the spectral data: #{smm, u, …}
  correction(module, procedure)        IEC 60891 method of a module file with its parameters' u,
                                       their source and the stated model error
  ect(v_oc, G, u_G_rel, module)        equivalent cell temperature (IEC 60904-5): #{temperature, u}
  angular_mismatch(aoi, f_diffuse, tilt, a_r_dut, a_r_ref)   Martin–Ruiz response difference
  reference(id)  references(kind)  record(name, value, unit[, details])  log(text)
Station and module:
  dut()  module_file(path)             the station's module under test / a module file (map)
  instruments(role)                    the station's instruments of a role, with `accuracy`
  sky_instruments()                    the station's Modbus instruments: [#{name, role, sensor}]
  interrupt(details)                   record an inconsistent_measurement interruption (retake)
";
