//! One run of a procedure, new or resumed, on a bench its caller connected (real instruments,
//! or a simulated station the caller started — the engine never starts a simulator):
//! identify the instruments, snapshot the station, run the script against the journal, make
//! every instrument safe, and record how the run stopped.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rhai::{Dynamic, Scope};
use serde_json::{Value, json};

use super::EngineError;
use super::events::{Event, EventSink, InterruptionKind, Prompter, RunStatus, SimulatedOperator};
use super::host::{Host, persist_io_log, register};
use super::journal::Recorder;
use super::procedure::{Procedure, sandboxed_engine, script_error};
use crate::instruments::bench::Bench;
use crate::instruments::station::{CertificateStatus, Station};
use crate::model::{Date, SharedClock};
use crate::scpi::IoLog;
use crate::store::db::{Database, RunStart, sha256_hex};

/// Everything a run needs.
pub struct RunOptions {
    /// The procedure.
    pub procedure: Procedure,
    /// The station the bench belongs to (references, sensor names, the recorded snapshot).
    pub station: Station,
    /// Its instruments, connected (each is identified before the run starts).
    pub bench: Bench,
    /// The run's clock (the system's, or a simulated world's).
    pub clock: SharedClock,
    /// The I/O log the bench's sessions write (stored with the run after every activity).
    pub io_log: IoLog,
    /// The database file.
    pub db_path: PathBuf,
    /// Parameters of a new run (a resumed run uses its stored ones).
    pub parameters: serde_json::Map<String, Value>,
    /// Prompt answers given in advance.
    pub answers: BTreeMap<String, String>,
    /// Interactive prompt answers (None: headless).
    pub prompter: Option<Prompter>,
    /// Who runs it (audit trail, run record, certificate).
    pub operator: String,
    /// Seed of `random()` (a resumed run uses its stored one).
    pub seed: u64,
    /// Clock acceleration [1] (1 on a real station; a resumed run uses its stored one).
    pub speed: f64,
    /// Resume this run.
    pub resume: Option<String>,
    /// Where the engine's events go.
    pub events: EventSink,
    /// Set to abort.
    pub abort: Arc<AtomicBool>,
    /// A simulated world's operator, told each live prompt answer.
    pub simulated_operator: Option<SimulatedOperator>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// The run's id (new, or the resumed one).
    pub run_id: String,
    /// How it stopped.
    pub status: RunStatus,
    /// Why, when not completed.
    pub reason: Option<String>,
    /// Results by name as recorded (value, unit, uncertainty, verdict).
    pub results: BTreeMap<String, Value>,
}

/// What a run to be resumed continues with: its seed and clock speed, and the time of its last
/// journaled activity (a simulated world restarts its clock there, so the resumed world has
/// the same sky).
#[derive(Debug, Clone, PartialEq)]
pub struct ResumePoint {
    /// The run's procedure.
    pub procedure: String,
    /// Seed recorded at its start.
    pub seed: Option<u64>,
    /// Clock speed recorded at its start.
    pub speed: Option<f64>,
    /// Time of its last journaled activity [s since epoch].
    pub last_activity: Option<f64>,
}

/// Where run `run_id` stands in the database at `db_path` (read only).
pub fn resume_point(db_path: &std::path::Path, run_id: &str) -> Result<ResumePoint, EngineError> {
    let db = Database::open_read_only(db_path)?;
    let start = db
        .run_start(run_id)?
        .ok_or_else(|| cannot(run_id, format!("no such run in {}", db_path.display())))?;
    let snap: Value = serde_json::from_str(&start.station)
        .map_err(|e| cannot(run_id, format!("its station snapshot is unreadable: {e}")))?;
    Ok(ResumePoint {
        procedure: start.procedure,
        seed: snap["seed"].as_u64(),
        speed: snap["speed"].as_f64(),
        last_activity: db.activities(run_id)?.last().map(|a| a.recorded_at),
    })
}

fn cannot(run: &str, problem: impl Into<String>) -> EngineError {
    EngineError::CannotResume {
        run: run.to_string(),
        problem: problem.into(),
    }
}

/// A new run id: UTC date and time of the start plus 16 random bits, e.g.
/// `R20261128-101502-3fa9`.
fn new_run_id() -> String {
    let now = crate::instruments::roles::system_now();
    let date = Date::from_unix_seconds(now);
    let secs = now.rem_euclid(86_400.0) as u64;
    let salt = (now.fract() * 1e9) as u64 ^ u64::from(std::process::id()).rotate_left(17);
    format!(
        "R{}{:02}{:02}-{:02}{:02}{:02}-{:04x}",
        date.year,
        date.month,
        date.day,
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        salt & 0xffff
    )
}

/// SHA-256 of a station file's content (a run records it; a changed station cannot resume).
fn station_hash(station: &Station) -> String {
    let file = serde_json::to_value(&station.file).unwrap_or_default();
    sha256_hex(file.to_string().as_bytes())
}

/// Who is at the station: the name given, else `$USER`, else "operator".
pub fn operator_name(given: Option<String>) -> String {
    given
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "operator".into())
}

/// The station as recorded with a run: the file's content (hashed: a changed station cannot
/// resume a run), every instrument with identity and firmware, every reference device with
/// its certificate.
fn snapshot(
    station: &Station,
    identities: &BTreeMap<String, String>,
    seed: u64,
    speed: f64,
) -> Value {
    let file = serde_json::to_value(&station.file).unwrap_or_default();
    let hash = station_hash(station);
    let instruments: Vec<Value> = station
        .file
        .instrument
        .iter()
        .map(|i| {
            let idn = identities.get(&i.name).cloned().unwrap_or_default();
            let profile = station.profile_of(i).ok();
            json!({
                "name": i.name,
                "role": i.role.as_str(),
                "profile": i.profile,
                "manufacturer": profile.map(|p| p.manufacturer.clone()),
                "model": profile.map(|p| p.model.clone()),
                "resource": i.resource,
                "identity": idn,
                "firmware": idn.split(',').nth(3).map(str::trim),
                "serial_number": idn.split(',').nth(2).map(str::trim),
            })
        })
        .collect();
    let modbus: Vec<Value> = station
        .file
        .modbus
        .iter()
        .map(|m| {
            let profile = crate::instruments::modbus::ModbusProfile::built_in(&m.profile);
            json!({
                "name": m.name,
                "role": profile.as_ref().map(|p| p.role.as_str()),
                "profile": m.profile,
                "manufacturer": profile.as_ref().map(|p| p.manufacturer.clone()),
                "model": profile.as_ref().map(|p| p.model.clone()),
                "resource": m.resource,
                "identity": identities.get(&m.name).cloned().unwrap_or_default(),
            })
        })
        .collect();
    json!({
        "path": station.path.display().to_string(),
        "sha256": hash,
        "name": station.file.station.name,
        "laboratory": station.file.station.laboratory,
        "simulated": station.file.station.simulated,
        "seed": seed,
        "speed": speed,
        "instruments": instruments,
        "modbus": modbus,
        "references": station.file.reference,
        "file": file,
    })
}

/// Execute a procedure's `run(p)` against a host on a blocking thread (host calls drive
/// instrument futures on this runtime); returns how the script ended and the host.
pub async fn execute(
    procedure: &Procedure,
    host: Host,
    parameters: serde_json::Map<String, Value>,
) -> Result<(Result<(), String>, Host), EngineError> {
    let host = Arc::new(Mutex::new(host));
    let script_host = host.clone();
    let file = procedure.file.clone();
    let ast = procedure.ast.clone();
    let params = rhai::serde::to_dynamic(Value::Object(parameters))
        .map_err(|e| EngineError::Station(format!("parameters: {e}")))?;
    let outcome = tokio::task::spawn_blocking(move || {
        let mut engine = sandboxed_engine();
        register(&mut engine, script_host);
        let r: Result<Dynamic, _> = engine.call_fn(&mut Scope::new(), &ast, "run", (params,));
        r.map(|_| ())
            .map_err(|e| script_error(&file, &e).to_string())
    })
    .await
    .unwrap_or_else(|e| Err(format!("the script thread failed: {e}")));
    match Arc::try_unwrap(host) {
        Ok(m) => Ok((outcome, m.into_inner().unwrap_or_else(|p| p.into_inner()))),
        Err(_) => Err(EngineError::Station(
            "internal: the script thread still holds the host".into(),
        )),
    }
}

/// Run (or resume) a procedure to its end: completed, failed or aborted. Errors are returned
/// only when the run cannot start; once started, every ending is recorded in the database.
pub async fn run(options: RunOptions) -> Result<RunOutcome, EngineError> {
    let RunOptions {
        procedure,
        station,
        mut bench,
        clock,
        io_log: log,
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
    } = options;
    let db = Database::open(&db_path)?;
    // What a resumed run continues with.
    let previous = match &resume {
        None => None,
        Some(id) => {
            let start = db
                .run_start(id)?
                .ok_or_else(|| cannot(id, format!("no such run in {}", db_path.display())))?;
            if start.procedure != procedure.declaration.name {
                return Err(cannot(
                    id,
                    format!(
                        "it is a `{}` run; resume it with `pvstation run {} --resume {id}`",
                        start.procedure, start.procedure
                    ),
                ));
            }
            let snap: Value = serde_json::from_str(&start.station)
                .map_err(|e| cannot(id, format!("its station snapshot is unreadable: {e}")))?;
            let now_hash = station_hash(&station);
            if snap["sha256"].as_str() != Some(now_hash.as_str()) {
                return Err(cannot(
                    id,
                    format!(
                        "the station file changed since the run started ({}); resume with the station it started with, or start a new run",
                        snap["path"].as_str().unwrap_or("?")
                    ),
                ));
            }
            let params: serde_json::Map<String, Value> = serde_json::from_str(&start.parameters)
                .map_err(|e| cannot(id, format!("its parameters are unreadable: {e}")))?;
            procedure
                .check_parameters(&params)
                .map_err(|e| cannot(id, e))?;
            Some((start, snap, params))
        }
    };
    // A resumed run continues with the seed and speed it started with.
    let seed = previous
        .as_ref()
        .and_then(|p| p.1["seed"].as_u64())
        .unwrap_or(seed);
    let speed = previous
        .as_ref()
        .and_then(|p| p.1["speed"].as_f64())
        .unwrap_or(speed);
    let parameters = previous.as_ref().map(|p| p.2.clone()).unwrap_or(parameters);
    let mut identities = BTreeMap::new();
    for inst in bench.instruments() {
        let name = inst.name().to_string();
        let idn = inst
            .identify()
            .await
            .map_err(|e| EngineError::Station(format!("identifying `{name}`: {e}")))?;
        identities.insert(name, idn);
    }
    // The Modbus sky instruments: identity registers checked against their profiles.
    for sky in bench.sky.iter_mut() {
        let idn = sky
            .identify()
            .await
            .map_err(|e| EngineError::Station(format!("identifying {e}")))?;
        identities.insert(sky.name.clone(), idn);
    }
    // Reported after the `started` event (the first line of `--json` output).
    let today = Date::from_unix_seconds(clock.now());
    let mut warnings = Vec::new();
    for r in &station.file.reference {
        match r.certificate.status(today) {
            CertificateStatus::Expired { days_ago } => warnings.push(format!(
                "reference {} certificate {} expired {days_ago} days ago ({}): results traced to it cannot be reported as calibrated",
                r.id, r.certificate.number, r.certificate.due_date
            )),
            CertificateStatus::DueSoon { days_left } => warnings.push(format!(
                "reference {} certificate {} is due in {days_left} days ({})",
                r.id, r.certificate.number, r.certificate.due_date
            )),
            CertificateStatus::Valid => {}
        }
    }

    let (rec, resumed) = match (&resume, &previous) {
        (Some(id), Some((_, snap, _))) => {
            for (name, idn) in &identities {
                let was = ["instruments", "modbus"]
                    .iter()
                    .filter_map(|k| snap[*k].as_array())
                    .flatten()
                    .find(|i| i["name"] == name.as_str())
                    .and_then(|i| i["identity"].as_str());
                // A simulated instrument has the same identity every time; a real one that
                // was swapped has another serial number.
                if was.is_some_and(|w| w != idn) {
                    return Err(cannot(
                        id,
                        format!(
                            "instrument `{name}` is now `{idn}`, the run started with `{}`",
                            was.unwrap_or("")
                        ),
                    ));
                }
            }
            (
                Recorder::resume(db, id, &procedure.hash, clock.clone())?,
                true,
            )
        }
        _ => {
            let id = new_run_id();
            let start = RunStart {
                id: id.clone(),
                procedure: procedure.declaration.name.clone(),
                procedure_hash: procedure.hash.clone(),
                parameters: Value::Object(parameters.clone()).to_string(),
                operator: operator.clone(),
                software_version: env!("CARGO_PKG_VERSION").to_string(),
                station: snapshot(&station, &identities, seed, speed).to_string(),
                started_at: clock.now(),
            };
            (Recorder::start(db, &start, clock.clone())?, false)
        }
    };
    let run_id = rec.run_id().to_string();
    let journaled = rec.journaled();
    // Every certificate the station presents is recorded (immutably, once per content).
    let station_refs = station.file.reference.clone();
    let certificates: Vec<(String, String, String)> = station_refs
        .iter()
        .map(|r| {
            (
                r.id.clone(),
                r.certificate.number.clone(),
                serde_json::to_string(r).unwrap_or_default(),
            )
        })
        .collect();
    rec.db().record_certificates(&certificates, clock.now())?;
    rec.db()
        .store_script(&procedure.hash, &procedure.file, &procedure.source)?;
    events(Event::Started {
        run_id: run_id.clone(),
        procedure: procedure.declaration.name.clone(),
        resumed,
        journaled,
    });
    for message in warnings {
        events(Event::Warning { message });
    }
    let io_log = log.clone();
    let mut host = Host::new(
        rec,
        clock.clone(),
        bench,
        station,
        tokio::runtime::Handle::current(),
        events.clone(),
        log,
        speed,
        operator.clone(),
        seed,
    );
    host.simulated_operator = simulated_operator;
    host.answers = answers;
    host.prompter = prompter;
    host.abort = abort.clone();
    if resumed {
        let details = json!({"journaled_activities": journaled, "cause": "the previous process stopped before the run did (crash, kill or power cut)"});
        if let Some(rec) = host.recorder() {
            let _ = rec.db().record_interruption(
                &run_id,
                journaled as i64 + 1,
                InterruptionKind::Resumed.as_str(),
                &details.to_string(),
                clock.now(),
            );
        }
        events(Event::Interruption {
            seq: journaled as i64 + 1,
            kind: InterruptionKind::Resumed,
            details,
            instrument: None,
        });
    }

    let (outcome, host) = execute(&procedure, host, parameters).await?;
    let mut host = host;
    host.store_io_log();
    let parts = host.into_parts();
    let (rec, mut bench, results) = (parts.recorder, parts.bench, parts.results);
    let Some(rec) = rec else {
        return Err(EngineError::Station(
            "internal: the recorder was lost".into(),
        ));
    };
    let (status, reason) = match outcome {
        Ok(()) => (RunStatus::Completed, None),
        Err(e) if abort.load(Ordering::SeqCst) => (
            RunStatus::Aborted,
            Some(format!("aborted by the operator ({e})")),
        ),
        Err(e) => (RunStatus::Failed, Some(e)),
    };
    // Safe state whatever happened: outputs off, calibrator in standby.
    let mut reason = reason;
    for f in bench.safe_state().await {
        let line = format!("could not make safe: {f}");
        events(Event::Warning {
            message: line.clone(),
        });
        reason = Some(match reason {
            Some(r) => format!("{r}; {line}"),
            None => line,
        });
    }
    // The safe-state exchanges belong to the run's I/O log too.
    if let Err(e) = persist_io_log(rec.db(), &run_id, &io_log) {
        events(Event::Warning {
            message: format!("the I/O log could not be stored: {e}"),
        });
    }
    // The references the run used, by certificate (what `refs trace` recalls).
    let used: Vec<(String, String)> = parts
        .used_references
        .iter()
        .filter_map(|id| {
            station_refs
                .iter()
                .find(|r| &r.id == id)
                .map(|r| (r.id.clone(), r.certificate.number.clone()))
        })
        .collect();
    if let Err(e) = rec.db().link_run_references(&run_id, &used) {
        events(Event::Warning {
            message: format!("the references used could not be stored: {e}"),
        });
    }
    let stored: Vec<(String, String)> = results
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect();
    rec.stop(status, reason.as_deref(), &operator, &stored)?;
    let outcome = RunOutcome {
        run_id: run_id.clone(),
        status,
        reason: reason.clone(),
        results: results.clone(),
    };
    events(Event::Finished {
        run_id,
        status,
        reason,
        results,
    });
    Ok(outcome)
}
