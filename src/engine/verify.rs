//! Verification of a stored run: every raw record still matches the SHA-256 taken when it
//! was recorded, and re-executing the run's own script (kept in the database by its hash)
//! against its journal — without any instrument, every activity replayed — reproduces the
//! stored results exactly. What a report's reader relies on: the numbers follow from the raw
//! data by the stated procedure, and nothing was edited afterwards.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use super::EngineError;
use super::events::EventSink;
use super::host::Host;
use super::journal::Recorder;
use super::procedure::Procedure;
use super::run::execute;
use crate::instruments::bench::Bench;
use crate::instruments::profile::Profiles;
use crate::instruments::station::{Station, StationFile};
use crate::model::{Clock, RunStatus, SharedClock};
use crate::scpi::IoLog;
use crate::store::db::{Database, sha256_hex};

/// One disagreement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// What (a result name, `raw record N`, `outcome`).
    pub what: String,
    /// As stored.
    pub stored: Value,
    /// As recomputed.
    pub recomputed: Value,
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    /// The verified run.
    pub run_id: String,
    /// Activities replayed.
    pub activities: usize,
    /// Raw records checked.
    pub raw_records: usize,
    /// Results compared.
    pub results: usize,
    /// Every disagreement (empty: verified).
    pub differences: Vec<Difference>,
}

struct Frozen(f64);

impl Clock for Frozen {
    fn now(&self) -> f64 {
        self.0
    }
}

fn problem(run: &str, text: impl Into<String>) -> EngineError {
    EngineError::CannotResume {
        run: run.to_string(),
        problem: text.into(),
    }
}

/// Verify a stopped run.
pub async fn verify_run(db_path: &Path, run_id: &str) -> Result<Verification, EngineError> {
    let db = Database::open_read_only(db_path)?;
    let start = db
        .run_start(run_id)?
        .ok_or_else(|| problem(run_id, format!("no such run in {}", db_path.display())))?;
    let stop = db
        .run_stop(run_id)?
        .ok_or_else(|| problem(run_id, "the run has not stopped: resume it first"))?;
    let mut differences = Vec::new();
    let raw = db.raw(run_id)?;
    for r in &raw {
        let now = sha256_hex(r.data.as_bytes());
        if now != r.sha256 {
            differences.push(Difference {
                what: format!("raw record {}", r.id),
                stored: Value::String(r.sha256.clone()),
                recomputed: Value::String(now),
            });
        }
    }
    // The script kept with the run; for runs from before scripts were kept, the shipped
    // procedure of the same hash (current or archived release).
    let (file, source) = match db.script(&start.procedure_hash)? {
        Some(kept) => kept,
        None => super::procedure::shipped_by_hash(&start.procedure_hash)
            .map(|(file, source)| (file, source.to_string()))
            .ok_or_else(|| {
                problem(
                    run_id,
                    "its procedure script is neither stored in this database nor a shipped release (runs started before scripts were kept need the script of that hash)",
                )
            })?,
    };
    let procedure = Procedure::load(&file, &source).map_err(|e| problem(run_id, e.to_string()))?;
    if procedure.hash != start.procedure_hash {
        differences.push(Difference {
            what: "procedure script".into(),
            stored: Value::String(start.procedure_hash.clone()),
            recomputed: Value::String(procedure.hash.clone()),
        });
    }
    let snapshot: Value = serde_json::from_str(&start.station)
        .map_err(|e| problem(run_id, format!("station snapshot unreadable: {e}")))?;
    let file: StationFile = serde_json::from_value(snapshot["file"].clone()).map_err(|e| {
        problem(
            run_id,
            format!("station file in the snapshot unreadable: {e}"),
        )
    })?;
    let station = Station {
        path: snapshot["path"].as_str().unwrap_or("station").into(),
        file,
        profiles: Profiles::built_in().map_err(|e| EngineError::Station(e.to_string()))?,
    };
    let parameters: serde_json::Map<String, Value> = serde_json::from_str(&start.parameters)
        .map_err(|e| problem(run_id, format!("parameters unreadable: {e}")))?;
    let stored: BTreeMap<String, String> = db.results(run_id)?.into_iter().collect();
    let clock: SharedClock = Arc::new(Frozen(stop.stopped_at));
    let rec = Recorder::verify(Database::open_read_only(db_path)?, run_id, clock.clone())?;
    let activities = rec.journaled();
    let quiet: EventSink = Arc::new(|_| {});
    let host = Host::new(
        rec,
        clock,
        Bench::default(),
        station,
        tokio::runtime::Handle::current(),
        quiet,
        IoLog::disabled(),
        1.0,
        start.operator.clone(),
        snapshot["seed"].as_u64().unwrap_or(1),
    );
    let (outcome, host) = execute(&procedure, host, parameters).await?;
    let recomputed = host.into_parts().results;
    let completed = outcome.is_ok();
    if completed != (stop.status == RunStatus::Completed) {
        differences.push(Difference {
            what: "outcome".into(),
            stored: serde_json::json!({"status": stop.status, "reason": stop.reason}),
            recomputed: serde_json::json!({"completed": completed, "error": outcome.err()}),
        });
    }
    let names: std::collections::BTreeSet<&String> =
        stored.keys().chain(recomputed.keys()).collect();
    for name in names {
        let a = stored.get(name).cloned();
        let b = recomputed.get(name).map(Value::to_string);
        if a != b {
            let parse = |t: Option<String>| {
                t.and_then(|t| serde_json::from_str(&t).ok())
                    .unwrap_or(Value::Null)
            };
            differences.push(Difference {
                what: format!("result `{name}`"),
                stored: parse(a),
                recomputed: parse(b),
            });
        }
    }
    Ok(Verification {
        run_id: run_id.to_string(),
        activities,
        raw_records: raw.len(),
        results: stored.len(),
        differences,
    })
}
