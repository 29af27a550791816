//! Starting a run: the bench is built here — a simulated station's world is started in
//! process (on resume its clock continues from the run's last journaled time, so the resumed
//! world has the same sky), a real station's instruments are connected at their resources —
//! and handed to the engine with the run's clock.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use serde_json::Value;

use super::AppError;
use crate::engine::events::{EventSink, Prompter, SimulatedOperator};
use crate::engine::procedure::{Procedure, missing_roles};
use crate::engine::run::{RunOptions, RunOutcome, resume_point, run};
use crate::instruments::bench::{Bench, Resources};
use crate::instruments::roles::SystemClock;
use crate::instruments::station::Station;
use crate::model::SharedClock;
use crate::scpi::IoLog;
use crate::sim::station::{SimOptions, SimulatedStation};

/// A run to start (or resume), as an operator interface asks for it.
pub struct RunRequest {
    /// The procedure.
    pub procedure: Procedure,
    /// The station.
    pub station: Station,
    /// The database file.
    pub db_path: PathBuf,
    /// `--set` values of a new run (checked against the declaration).
    pub sets: Vec<(String, String)>,
    /// Prompt answers given in advance.
    pub answers: BTreeMap<String, String>,
    /// Interactive prompt answers (None: headless).
    pub prompter: Option<Prompter>,
    /// Who runs it (audit trail, run record, certificate).
    pub operator: String,
    /// Seed of the simulated world and of `random()` (default: the station's, else 1).
    pub seed: Option<u64>,
    /// Clock acceleration of a simulated station (default: the station's, else 1).
    pub speed: Option<f64>,
    /// Faults injected into simulated instruments (`INSTRUMENT:SPEC,…`).
    pub faults: Option<String>,
    /// Start of a simulated world [s since epoch] (default: a clear plateau noon).
    pub sim_start: Option<f64>,
    /// Resume this run.
    pub resume: Option<String>,
    /// Where the engine's events go (console, command line, JSON lines).
    pub events: EventSink,
    /// Set to abort.
    pub abort: Arc<AtomicBool>,
}

/// Start (or resume) a run and drive it to its end. `Err` only when it cannot start; once
/// started, every ending is recorded and returned.
pub async fn start(request: RunRequest) -> Result<RunOutcome, AppError> {
    let RunRequest {
        procedure,
        station,
        db_path,
        sets,
        answers,
        prompter,
        operator,
        seed,
        speed,
        faults,
        sim_start,
        resume,
        events,
        abort,
    } = request;
    if let Some(s) = speed
        && !(s.is_finite() && s > 0.0)
    {
        return Err(AppError::Invalid(format!(
            "speed {s}: give a positive acceleration factor"
        )));
    }
    let parameters = procedure.parameters(&sets).map_err(AppError::Invalid)?;
    // A resumed run continues with what it started with.
    let point = resume
        .as_deref()
        .map(|id| resume_point(&db_path, id))
        .transpose()?;
    let seed = point
        .as_ref()
        .and_then(|p| p.seed)
        .or(seed)
        .or(station.file.station.seed)
        .unwrap_or(1);
    let speed = point
        .as_ref()
        .and_then(|p| p.speed)
        .or(speed)
        .or(station.file.station.speed)
        .unwrap_or(1.0);
    let io_log = IoLog::new();
    let sim = if station.file.station.simulated {
        let start = match &point {
            Some(p) => p.last_activity,
            None => sim_start,
        };
        let options = SimOptions {
            seed: Some(seed),
            speed: Some(speed),
            start,
            faults,
            ..SimOptions::default()
        };
        Some(
            SimulatedStation::start(&station, &options)
                .await
                .map_err(|e| AppError::Station(e.to_string()))?,
        )
    } else {
        None
    };
    let clock: SharedClock = match &sim {
        Some(s) => s.world.clone(),
        None => Arc::new(SystemClock),
    };
    let resources: Resources = sim.as_ref().map(|s| s.resources()).unwrap_or_default();
    let bench = Bench::new(&station, &resources, &io_log, &clock)
        .map_err(|e| AppError::Station(e.to_string()))?;
    let simulated_operator: Option<SimulatedOperator> = sim.as_ref().map(|s| {
        let world = s.world.clone();
        let operator: SimulatedOperator =
            Arc::new(move |prompt: &str, now: f64| world.operator_action(prompt, now));
        operator
    });
    let outcome = run(RunOptions {
        procedure,
        station,
        bench,
        clock,
        io_log,
        db_path,
        parameters,
        answers,
        prompter,
        operator,
        seed,
        speed,
        resume,
        events,
        abort,
        simulated_operator,
    })
    .await?;
    // The simulated instruments serve until the run has made them safe.
    drop(sim);
    Ok(outcome)
}

/// What a dry run found: the procedure is ready on the station with these roles and
/// parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct DryRun {
    /// `NAME VERSION (FILE)`.
    pub procedure: String,
    /// The station's name.
    pub station: String,
    /// Each role the procedure needs and the instrument that plays it.
    pub roles: Vec<(String, String)>,
    /// The parameters it would run with.
    pub parameters: serde_json::Map<String, Value>,
}

/// Check a procedure against a station without touching an instrument: its parameters (with
/// `sets`) valid, every role it needs played by an instrument.
pub fn dry_run(
    procedure: &Procedure,
    station: &Station,
    sets: &[(String, String)],
) -> Result<DryRun, String> {
    let parameters = procedure.parameters(sets)?;
    let roles: BTreeMap<String, String> = station
        .file
        .instrument
        .iter()
        .map(|i| (i.role.as_str().to_string(), i.name.clone()))
        .collect();
    let missing = missing_roles(&procedure.declaration, &roles);
    if !missing.is_empty() {
        return Err(format!(
            "{} needs instrument roles the station {} lacks: {}",
            procedure.declaration.name,
            station.path.display(),
            missing.join(", ")
        ));
    }
    Ok(DryRun {
        procedure: format!(
            "{} {} ({})",
            procedure.declaration.name, procedure.declaration.version, procedure.file
        ),
        station: station.file.station.name.clone(),
        roles: procedure
            .declaration
            .roles
            .iter()
            .map(|r| {
                (
                    r.clone(),
                    roles.get(r).cloned().unwrap_or_else(|| "?".into()),
                )
            })
            .collect(),
        parameters,
    })
}
