//! `pvstation lab export`: a self-describing bundle of the laboratory's data for a platform
//! (the provincial "digital metrology management and data sharing" platform): every
//! certificate's DCC XML, the reported quantities and the measured I-V points as Parquet, and
//! a manifest with every file's SHA-256 and what each column means.
//!
//! The DCC files are rebuilt from the lab store's copy of each run with the code that issued
//! them, and compared with the SHA-256 recorded at issue: the manifest says for each whether
//! the exported file is byte for byte the issued one (it is, unless the report renderer changed
//! since; then the file is still the run's certificate data, and the manifest says so).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Value, json};

use super::AppError;
use crate::model::Date;
use crate::report::build::build;
use crate::report::model::ReportMeta;
use crate::store::db::sha256_hex;
use crate::store::export::run_points;
use crate::store::lab::views::materialize;
use crate::store::lab::{LabError, LabStore, query};
use crate::store::record::parse_json;
use crate::store::table::{Values, write_parquet_columns};
use crate::store::write_atomically;

/// Format name and version of the bundle (in its manifest).
pub const FORMAT: &str = "pvstation-lab-export/1";

/// What an export wrote.
#[derive(Debug, Clone, Serialize)]
pub struct ExportSummary {
    /// Runs exported.
    pub runs: usize,
    /// Certificates (DCC files) exported.
    pub certificates: usize,
    /// Rows of `results.parquet`.
    pub result_rows: usize,
    /// Rows of `iv_points.parquet`.
    pub point_rows: usize,
    /// The manifest.
    pub manifest: PathBuf,
}

fn lab(e: LabError) -> AppError {
    AppError::Invalid(e.to_string())
}

/// A run in the range.
struct RunRef {
    station: String,
    station_name: String,
    id: String,
    procedure: String,
    started_at: f64,
}

/// Export runs started from `from` to `to` (whole UTC days, both included) into `out`, a new
/// or empty folder.
pub async fn export(
    store: &mut LabStore,
    from: Date,
    to: Date,
    out: &Path,
) -> Result<ExportSummary, AppError> {
    if out.exists()
        && std::fs::read_dir(out)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(AppError::Invalid(format!(
            "{} is not empty: an export never writes over files; give a new folder",
            out.display()
        )));
    }
    let (t0, t1) = (
        from.days_since_epoch() as f64 * 86_400.0,
        (to.days_since_epoch() + 1) as f64 * 86_400.0,
    );
    if t1 <= t0 {
        return Err(AppError::Invalid(format!(
            "--from {from} is after --to {to}"
        )));
    }
    let dcc_dir = out.join("dcc");
    std::fs::create_dir_all(&dcc_dir)
        .map_err(|e| AppError::Invalid(format!("cannot create {}: {e}", dcc_dir.display())))?;
    let runs: Vec<RunRef> = store
        .client()
        .query(
            "SELECT r.station_uuid, st.name, r.id, r.procedure, r.started_at FROM runs r
             JOIN stations st ON st.uuid = r.station_uuid
             WHERE r.started_at >= $1 AND r.started_at < $2 ORDER BY r.started_at, r.station_uuid",
            &[&t0, &t1],
        )
        .await
        .map_err(query("listing the runs to export"))
        .map_err(lab)?
        .iter()
        .map(|r| RunRef {
            station: r.get(0),
            station_name: r.get(1),
            id: r.get(2),
            procedure: r.get(3),
            started_at: r.get(4),
        })
        .collect();
    let scratch = out.join(".materialised");
    let mut results = ResultColumns::default();
    let mut points = PointColumns::default();
    let mut certificates = Vec::new();
    let mut stations = BTreeMap::new();
    for run in &runs {
        stations.insert(run.station.clone(), run.station_name.clone());
        let path = scratch.join(format!("{}-{}.db", &run.station, run.id));
        std::fs::create_dir_all(&scratch)
            .map_err(|e| AppError::Invalid(format!("cannot create {}: {e}", scratch.display())))?;
        let db = materialize(store, &run.station, &run.id, &path)
            .await
            .map_err(lab)?;
        let references: Vec<String> = db
            .run_references(&run.id)?
            .into_iter()
            .map(|(id, cert)| format!("{id}: {cert}"))
            .collect();
        let reports: Vec<_> = db
            .reports()?
            .into_iter()
            .filter(|r| r.run_id == run.id)
            .collect();
        let numbers: Vec<String> = reports.iter().map(|r| r.number.clone()).collect();
        for (name, value) in db.results(&run.id)? {
            let v = parse_json(&value);
            let Some(x) = v["value"].as_f64() else {
                continue;
            };
            results.push(run, &name, x, &v, &references, &numbers);
        }
        for p in run_points(&db, &run.id)? {
            points.push(run, &p);
        }
        for r in &reports {
            let stored: Value = serde_json::from_str(&r.metadata).unwrap_or(Value::Null);
            let meta: ReportMeta =
                serde_json::from_value(stored["meta"].clone()).unwrap_or_default();
            let meta = super::reports::with_procedure(&db, &run.id, meta)?;
            let report = build(
                &db,
                &run.id,
                &r.number,
                r.revision,
                r.previous.as_deref(),
                r.issued_at,
                &meta,
            )?;
            let xml = crate::report::dcc::dcc(&report).map_err(AppError::Invalid)?;
            let name = format!("{}.dcc.xml", r.number);
            write_atomically(&dcc_dir.join(&name), xml.as_bytes())?;
            let issued: BTreeMap<String, String> =
                serde_json::from_str(&r.files).unwrap_or_default();
            let issued_hash = issued.get(&name).cloned();
            let hash = sha256_hex(xml.as_bytes());
            certificates.push(json!({
                "number": r.number,
                "revision": r.revision,
                "station_uuid": run.station,
                "run_id": run.id,
                "file": format!("dcc/{name}"),
                "issued_sha256": issued_hash,
                "identical_to_issued": issued_hash.as_deref() == Some(hash.as_str()),
            }));
        }
        drop(db);
        let _ = std::fs::remove_file(&path);
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let (result_rows, point_rows) = (results.len(), points.len());
    write_parquet_columns(&out.join("results.parquet"), results.columns())?;
    write_parquet_columns(&out.join("iv_points.parquet"), points.columns())?;
    // Every file with its SHA-256 (the manifest itself excepted).
    let mut files = BTreeMap::new();
    let mut names: Vec<PathBuf> = vec![out.join("results.parquet"), out.join("iv_points.parquet")];
    let mut dcc: Vec<PathBuf> = std::fs::read_dir(&dcc_dir)
        .map_err(|e| AppError::Invalid(format!("cannot read {}: {e}", dcc_dir.display())))?
        .flatten()
        .map(|e| e.path())
        .collect();
    dcc.sort();
    names.extend(dcc);
    for path in names {
        let bytes = std::fs::read(&path)
            .map_err(|e| AppError::Invalid(format!("cannot read {}: {e}", path.display())))?;
        let rel = path
            .strip_prefix(out)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        files.insert(
            rel,
            json!({"sha256": sha256_hex(&bytes), "bytes": bytes.len()}),
        );
    }
    let manifest = json!({
        "format": FORMAT,
        "created_by": format!("pvstation {}", env!("CARGO_PKG_VERSION")),
        "lab_store": store.url(),
        "from": from.to_string(),
        "to": to.to_string(),
        "selection": "runs whose start (UTC) lies within the dates, both included",
        "stations": stations.iter().map(|(u, n)| json!({"uuid": u, "name": n})).collect::<Vec<_>>(),
        "runs": runs.iter().map(|r| json!({"station_uuid": r.station, "run_id": r.id, "procedure": r.procedure, "started_at": r.started_at})).collect::<Vec<_>>(),
        "certificates": certificates,
        "files": files,
        "datasets": {
            "results.parquet": {
                "rows": result_rows,
                "row": "one reported quantity of one run",
                "columns": RESULT_COLUMNS.iter().map(|(n, d)| json!({"name": n, "meaning": d})).collect::<Vec<_>>(),
            },
            "iv_points.parquet": {
                "rows": point_rows,
                "row": "one measured I-V point, as recorded in its raw record",
                "columns": POINT_COLUMNS.iter().map(|(n, d)| json!({"name": n, "meaning": d})).collect::<Vec<_>>(),
            },
        },
    });
    let manifest_path = out.join("manifest.json");
    write_atomically(
        &manifest_path,
        serde_json::to_string_pretty(&manifest)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    Ok(ExportSummary {
        runs: runs.len(),
        certificates: certificates.len(),
        result_rows,
        point_rows,
        manifest: manifest_path,
    })
}

/// The columns of `results.parquet` and what they mean (written into the manifest).
const RESULT_COLUMNS: [(&str, &str); 13] = [
    ("station_uuid", "identity of the station that measured"),
    ("station_name", "its name"),
    ("run_id", "the run (unique per station)"),
    ("procedure", "the procedure the run executed"),
    ("started_at", "start of the run [s since 1970-01-01 UTC]"),
    (
        "quantity",
        "name of the result (p_mp_stc, i_sc_stc, …, battery-tester errors)",
    ),
    ("value", "the value, in `unit`"),
    ("unit", "unit symbol (SI)"),
    (
        "expanded_uncertainty",
        "U, in `unit` (null: informative result without uncertainty)",
    ),
    ("coverage_factor", "k of U"),
    ("coverage_probability", "coverage probability of U"),
    (
        "reference_certificates",
        "the references the run used: `ID: certificate`, `; `-separated",
    ),
    (
        "certificates",
        "certificate numbers issued from the run, `; `-separated",
    ),
];

/// The columns of `iv_points.parquet` and what they mean.
const POINT_COLUMNS: [(&str, &str); 13] = [
    ("station_uuid", "identity of the station that measured"),
    ("run_id", "the run"),
    (
        "activity_seq",
        "the journaled activity that measured the curve",
    ),
    ("raw_id", "the raw record holding the curve (per station)"),
    (
        "raw_sha256",
        "SHA-256 of that raw record, taken when it was measured",
    ),
    (
        "curve",
        "curve within the sweep (0 forward, 1 reverse of a dual sweep)",
    ),
    ("direction", "forward or reverse"),
    (
        "start_time",
        "sweep start [s since 1970-01-01 UTC, station clock]",
    ),
    ("point", "index of the point in the curve"),
    ("voltage", "module voltage [V]"),
    ("current", "module current, generator convention [A]"),
    ("time", "time from the sweep start [s]"),
    ("procedure", "the procedure the run executed"),
];

#[derive(Default)]
struct ResultColumns {
    station: Vec<String>,
    station_name: Vec<String>,
    run: Vec<String>,
    procedure: Vec<String>,
    started_at: Vec<Option<f64>>,
    quantity: Vec<String>,
    value: Vec<Option<f64>>,
    unit: Vec<Option<String>>,
    expanded: Vec<Option<f64>>,
    k: Vec<Option<f64>>,
    probability: Vec<Option<f64>>,
    references: Vec<String>,
    certificates: Vec<String>,
}

impl ResultColumns {
    fn push(
        &mut self,
        run: &RunRef,
        name: &str,
        value: f64,
        v: &Value,
        references: &[String],
        numbers: &[String],
    ) {
        self.station.push(run.station.clone());
        self.station_name.push(run.station_name.clone());
        self.run.push(run.id.clone());
        self.procedure.push(run.procedure.clone());
        self.started_at.push(Some(run.started_at));
        self.quantity.push(name.to_string());
        self.value.push(Some(value));
        self.unit.push(v["unit"].as_str().map(String::from));
        self.expanded.push(v["U"].as_f64());
        self.k.push(v["k"].as_f64());
        self.probability.push(v["coverage_probability"].as_f64());
        self.references.push(references.join("; "));
        self.certificates.push(numbers.join("; "));
    }

    fn len(&self) -> usize {
        self.run.len()
    }

    fn columns(self) -> Vec<(&'static str, Values)> {
        let n = RESULT_COLUMNS.map(|c| c.0);
        vec![
            (n[0], Values::Text(self.station)),
            (n[1], Values::Text(self.station_name)),
            (n[2], Values::Text(self.run)),
            (n[3], Values::Text(self.procedure)),
            (n[4], Values::OptReal(self.started_at)),
            (n[5], Values::Text(self.quantity)),
            (n[6], Values::OptReal(self.value)),
            (n[7], Values::OptText(self.unit)),
            (n[8], Values::OptReal(self.expanded)),
            (n[9], Values::OptReal(self.k)),
            (n[10], Values::OptReal(self.probability)),
            (n[11], Values::Text(self.references)),
            (n[12], Values::Text(self.certificates)),
        ]
    }
}

#[derive(Default)]
struct PointColumns {
    station: Vec<String>,
    run: Vec<String>,
    activity: Vec<i64>,
    raw_id: Vec<i64>,
    raw_sha256: Vec<String>,
    curve: Vec<i64>,
    direction: Vec<String>,
    start_time: Vec<Option<f64>>,
    point: Vec<i64>,
    voltage: Vec<Option<f64>>,
    current: Vec<Option<f64>>,
    time: Vec<Option<f64>>,
    procedure: Vec<String>,
}

impl PointColumns {
    fn push(&mut self, run: &RunRef, p: &crate::store::export::PointRow) {
        self.station.push(run.station.clone());
        self.run.push(p.run_id.clone());
        self.activity.push(p.activity_seq);
        self.raw_id.push(p.raw_id);
        self.raw_sha256.push(p.raw_sha256.clone());
        self.curve.push(i64::from(p.curve));
        self.direction.push(p.direction.clone());
        self.start_time.push(Some(p.start_time));
        self.point.push(i64::from(p.point));
        self.voltage.push(p.voltage);
        self.current.push(p.current);
        self.time.push(p.time);
        self.procedure.push(run.procedure.clone());
    }

    fn len(&self) -> usize {
        self.run.len()
    }

    fn columns(self) -> Vec<(&'static str, Values)> {
        let n = POINT_COLUMNS.map(|c| c.0);
        vec![
            (n[0], Values::Text(self.station)),
            (n[1], Values::Text(self.run)),
            (n[2], Values::Int(self.activity)),
            (n[3], Values::Int(self.raw_id)),
            (n[4], Values::Text(self.raw_sha256)),
            (n[5], Values::Int(self.curve)),
            (n[6], Values::Text(self.direction)),
            (n[7], Values::OptReal(self.start_time)),
            (n[8], Values::Int(self.point)),
            (n[9], Values::OptReal(self.voltage)),
            (n[10], Values::OptReal(self.current)),
            (n[11], Values::OptReal(self.time)),
            (n[12], Values::Text(self.procedure)),
        ]
    }
}
