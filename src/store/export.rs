//! `pvstation db export`: a run's measured I-V points as a table (one row per point), read
//! from the immutable raw records, each row naming the raw record and its SHA-256 so that an
//! exported file can be traced back to what was recorded.

use std::path::Path;

use serde::Deserialize;

use super::StoreError;
use super::db::Database;

/// One exported point.
#[derive(Debug, Clone, PartialEq)]
pub struct PointRow {
    /// The run the point belongs to.
    pub run_id: String,
    /// Activity that measured the curve.
    pub activity_seq: i64,
    /// Raw record id.
    pub raw_id: i64,
    /// SHA-256 of the raw record.
    pub raw_sha256: String,
    /// Curve within the sweep (0: forward of a dual sweep, 1: reverse).
    pub curve: u32,
    /// `forward` or `reverse`.
    pub direction: String,
    /// Sweep start [s since epoch].
    pub start_time: f64,
    /// Point index.
    pub point: u32,
    /// Voltage [V] (None: the instrument reported not-a-number).
    pub voltage: Option<f64>,
    /// Current, generator convention [A].
    pub current: Option<f64>,
    /// Time from the sweep start [s].
    pub time: Option<f64>,
}

#[derive(Deserialize)]
struct RawPoint {
    voltage: Option<f64>,
    current: Option<f64>,
    time: Option<f64>,
}

#[derive(Deserialize)]
struct RawCurve {
    points: Vec<RawPoint>,
    direction: String,
    start_time: f64,
}

/// The I-V points of every sweep of a run, in recording order.
pub fn run_points(db: &Database, run_id: &str) -> Result<Vec<PointRow>, StoreError> {
    if db.run_start(run_id)?.is_none() {
        return Err(StoreError::Table {
            file: run_id.to_string(),
            problem: "no such run in this database; `pvstation runs list` shows the runs".into(),
        });
    }
    let mut rows = Vec::new();
    for raw in db
        .raw(run_id)?
        .into_iter()
        .filter(|r| r.kind == "iv_curves")
    {
        let curves: Vec<RawCurve> =
            serde_json::from_str(&raw.data).map_err(|e| StoreError::Table {
                file: format!("raw record {}", raw.id),
                problem: format!("not a list of curves: {e}"),
            })?;
        for (c, curve) in curves.iter().enumerate() {
            for (k, p) in curve.points.iter().enumerate() {
                rows.push(PointRow {
                    run_id: run_id.to_string(),
                    activity_seq: raw.activity_seq.unwrap_or(0),
                    raw_id: raw.id,
                    raw_sha256: raw.sha256.clone(),
                    curve: c as u32,
                    direction: curve.direction.clone(),
                    start_time: curve.start_time,
                    point: k as u32,
                    voltage: p.voltage,
                    current: p.current,
                    time: p.time,
                });
            }
        }
    }
    Ok(rows)
}

/// Export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Apache Parquet.
    Parquet,
    /// CSV with a header.
    Csv,
}

/// Write the rows (polars; needs the `parquet` feature), atomically.
pub fn write_points(path: &Path, rows: &[PointRow], format: Format) -> Result<(), StoreError> {
    super::table::write_point_table(path, rows, format)
}
