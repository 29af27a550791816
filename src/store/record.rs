//! The whole record of a run as the database holds it — start (with its station snapshot),
//! journaled activities, interruptions, results, raw-record hashes, the size of its I/O log,
//! and how it stopped — read once. `pvstation runs show --json` prints it (a contract: keys
//! are only ever added), and the report model is built from it.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::StoreError;
pub use super::db::StopRecord;
use super::db::{Database, RawRecord};

/// Stored JSON text as a value (text that is not JSON stays a string).
pub fn parse_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

/// What a run recorded when it started.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StartRecord {
    /// Procedure name.
    pub procedure: String,
    /// SHA-256 of its script.
    pub procedure_hash: String,
    /// The run's parameters as validated (name → value).
    pub parameters: Value,
    /// Who ran it.
    pub operator: String,
    /// pvstation version.
    pub software_version: String,
    /// Station snapshot: instruments with identities, references with certificates.
    pub station: Value,
    /// Start [s since epoch].
    pub started_at: f64,
}

/// A journaled activity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActivityRecord {
    /// Position in call order, from 1.
    pub seq: i64,
    /// Kind (`sweep`, `wait_stable`, …).
    pub kind: String,
    /// `ok` or `error`.
    pub status: String,
    /// Its arguments.
    pub request: Value,
    /// What the script received.
    pub result: Value,
    /// When [s since epoch].
    pub recorded_at: f64,
}

/// An interruption, under both names its readers know: `seq`/`recorded_at` (the run record)
/// and `activity`/`at` (the report's deviations).
#[derive(Debug, Clone, PartialEq)]
pub struct InterruptionRecord {
    /// The activity it happened at.
    pub seq: i64,
    /// `unstable_conditions`, `instrument_fault`, `resumed`.
    pub kind: String,
    /// What broke, the attempt, the failed checks.
    pub details: Value,
    /// When [s since epoch].
    pub recorded_at: f64,
}

impl Serialize for InterruptionRecord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(6))?;
        m.serialize_entry("activity", &self.seq)?;
        m.serialize_entry("at", &self.recorded_at)?;
        m.serialize_entry("details", &self.details)?;
        m.serialize_entry("kind", &self.kind)?;
        m.serialize_entry("recorded_at", &self.recorded_at)?;
        m.serialize_entry("seq", &self.seq)?;
        m.end()
    }
}

/// A raw observation's identity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RawRef {
    /// Row id.
    pub id: i64,
    /// The activity it belongs to.
    pub activity_seq: Option<i64>,
    /// Kind (`iv_curves`, `conditions_window`, …).
    pub kind: String,
    /// SHA-256 of its data, taken when it was recorded.
    pub sha256: String,
    /// The record it corrects, if a correction.
    pub corrects: Option<i64>,
}

/// The whole record of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRecord {
    /// The run's id.
    pub run_id: String,
    /// Its start.
    pub start: StartRecord,
    /// Journaled activities in call order.
    pub activities: Vec<ActivityRecord>,
    /// Interruptions in order.
    pub interruptions: Vec<InterruptionRecord>,
    /// Results by name.
    pub results: BTreeMap<String, Value>,
    /// Raw observations (identities and hashes; the data stay in the database).
    pub raw: Vec<RawRef>,
    /// Entries of its instrument I/O log.
    pub io_log_entries: usize,
    /// How it stopped (None while running or interrupted).
    pub stop: Option<StopRecord>,
    /// The raw records with their data (for builders that read them; not printed).
    #[serde(skip)]
    pub raw_data: Vec<RawRecord>,
}

impl RunRecord {
    /// Read run `run_id`'s record; None when the database has no such run.
    pub fn load(db: &Database, run_id: &str) -> Result<Option<RunRecord>, StoreError> {
        let Some(start) = db.run_start(run_id)? else {
            return Ok(None);
        };
        let activities = db
            .activities(run_id)?
            .into_iter()
            .map(|a| ActivityRecord {
                seq: a.seq,
                kind: a.kind,
                status: a.status,
                request: parse_json(&a.request),
                result: parse_json(&a.result),
                recorded_at: a.recorded_at,
            })
            .collect();
        let interruptions = db
            .interruptions(run_id)?
            .into_iter()
            .map(|i| InterruptionRecord {
                seq: i.seq,
                kind: i.kind,
                details: parse_json(&i.details),
                recorded_at: i.recorded_at,
            })
            .collect();
        let results = db
            .results(run_id)?
            .into_iter()
            .map(|(k, v)| (k, parse_json(&v)))
            .collect();
        let raw_data = db.raw(run_id)?;
        let raw = raw_data
            .iter()
            .map(|r| RawRef {
                id: r.id,
                activity_seq: r.activity_seq,
                kind: r.kind.clone(),
                sha256: r.sha256.clone(),
                corrects: r.corrects,
            })
            .collect();
        let stop = db.run_stop(run_id)?;
        Ok(Some(RunRecord {
            run_id: start.id.clone(),
            start: StartRecord {
                procedure: start.procedure,
                procedure_hash: start.procedure_hash,
                parameters: parse_json(&start.parameters),
                operator: start.operator,
                software_version: start.software_version,
                station: parse_json(&start.station),
                started_at: start.started_at,
            },
            activities,
            interruptions,
            results,
            raw,
            io_log_entries: db.io_log_count(run_id)?,
            stop,
            raw_data,
        }))
    }
}
