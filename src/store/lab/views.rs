//! Reading the lab store: every run of every station, the recall list of a reference
//! certificate, the laboratory-wide integrity check, and a run materialised as a station
//! database (so that `runs show`, `report verify` and the run's re-execution work on lab data
//! with the very code that serves one station).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::{Value, json};
use tokio_postgres::Row as PgRow;

use super::tables::{Cell, TABLES, Table, Type, row_hash};
use super::{LabError, LabStore, query};
use crate::store::db::{BrokenLink, Database, GENESIS, audit_hash, sha256_hex};

/// The cells of a lab-store row, columns from `offset` on, typed by the table description.
fn pg_cells(row: &PgRow, t: &Table, offset: usize) -> Vec<Cell> {
    t.columns
        .iter()
        .enumerate()
        .map(|(k, (_, ty))| {
            let i = offset + k;
            match ty {
                Type::Int => row.get::<_, Option<i64>>(i).map_or(Cell::Null, Cell::Int),
                Type::Real => row.get::<_, Option<f64>>(i).map_or(Cell::Null, Cell::Real),
                Type::Text => row
                    .get::<_, Option<String>>(i)
                    .map_or(Cell::Null, Cell::Text),
                Type::Blob => row
                    .get::<_, Option<Vec<u8>>>(i)
                    .map_or(Cell::Null, Cell::Blob),
            }
        })
        .collect()
}

fn columns(t: &Table) -> String {
    t.columns.iter().map(|c| c.0).collect::<Vec<_>>().join(", ")
}

/// Walk station `uuid`'s audit chain as the lab store holds it: `Ok((entries, head hash))`
/// or the first broken link.
pub async fn verify_station_chain(
    store: &mut LabStore,
    uuid: &str,
) -> Result<Result<(usize, String), BrokenLink>, LabError> {
    let rows = store
        .client()
        .query(
            "SELECT id, recorded_at, actor, action, details, prev_hash, hash FROM audit WHERE station_uuid = $1 ORDER BY id",
            &[&uuid],
        )
        .await
        .map_err(query("reading the audit chain"))?;
    let mut prev = GENESIS.to_string();
    for (expected, r) in (1i64..).zip(&rows) {
        let id: i64 = r.get(0);
        if id != expected {
            return Ok(Err(BrokenLink {
                id: expected,
                problem: format!("entry {expected} is missing (the next entry is {id})"),
            }));
        }
        let (prev_hash, hash): (String, String) = (r.get(5), r.get(6));
        if prev_hash != prev {
            return Ok(Err(BrokenLink {
                id,
                problem:
                    "its predecessor's hash does not match: an earlier entry was changed or removed"
                        .into(),
            }));
        }
        let recomputed = audit_hash(&prev_hash, r.get(1), r.get(2), r.get(3), r.get(4));
        if recomputed != hash {
            return Ok(Err(BrokenLink {
                id,
                problem: "its content does not match its hash: the entry was edited".into(),
            }));
        }
        prev = hash;
    }
    let head = if rows.is_empty() { String::new() } else { prev };
    Ok(Ok((rows.len(), head)))
}

/// A station of the lab store.
#[derive(Debug, Clone, Serialize)]
pub struct Station {
    /// Its identity.
    pub uuid: String,
    /// Its name.
    pub name: String,
}

/// Every station, by name.
pub async fn stations(store: &mut LabStore) -> Result<Vec<Station>, LabError> {
    Ok(store
        .client()
        .query("SELECT uuid, name FROM stations ORDER BY name, uuid", &[])
        .await
        .map_err(query("listing the stations"))?
        .iter()
        .map(|r| Station {
            uuid: r.get(0),
            name: r.get(1),
        })
        .collect())
}

/// Every run of every station, newest first: the keys of `runs list --json` (`id`,
/// `procedure`, `operator`, `started_at`, `status`) plus `station_uuid` and `station_name`.
pub async fn runs_list(store: &mut LabStore) -> Result<Vec<Value>, LabError> {
    let rows = store
        .client()
        .query(
            "SELECT r.id, r.procedure, r.operator, r.started_at, s.status, r.station_uuid, st.name
             FROM runs r JOIN stations st ON st.uuid = r.station_uuid
             LEFT JOIN run_stops s ON s.station_uuid = r.station_uuid AND s.run_id = r.id
             ORDER BY r.started_at DESC, r.station_uuid",
            &[],
        )
        .await
        .map_err(query("listing the runs"))?;
    Ok(rows
        .iter()
        .map(|r| {
            json!({
                "id": r.get::<_, String>(0),
                "procedure": r.get::<_, String>(1),
                "operator": r.get::<_, String>(2),
                "started_at": r.get::<_, f64>(3),
                "status": r.get::<_, Option<String>>(4),
                "station_uuid": r.get::<_, String>(5),
                "station_name": r.get::<_, String>(6),
            })
        })
        .collect())
}

/// The station of run `id` (`station` narrows by UUID, UUID prefix or name when two stations
/// used the same run id).
pub async fn find_run(
    store: &mut LabStore,
    id: &str,
    station: Option<&str>,
) -> Result<Station, LabError> {
    let rows = store
        .client()
        .query(
            "SELECT st.uuid, st.name FROM runs r JOIN stations st ON st.uuid = r.station_uuid WHERE r.id = $1 ORDER BY st.name",
            &[&id],
        )
        .await
        .map_err(query("finding the run"))?;
    let found: Vec<Station> = rows
        .iter()
        .map(|r| Station {
            uuid: r.get(0),
            name: r.get(1),
        })
        .filter(|s| station.is_none_or(|w| s.uuid.starts_with(w) || s.name == w))
        .collect();
    match found.len() {
        1 => Ok(found.into_iter().next().unwrap_or_else(|| unreachable!())),
        0 => Err(LabError::Refused(format!(
            "no run `{id}` in the lab store{}; `pvstation lab runs list` shows the runs",
            station.map_or(String::new(), |s| format!(" for station {s}"))
        ))),
        _ => Err(LabError::Refused(format!(
            "run id `{id}` was used by {} stations ({}): name one with --station",
            found.len(),
            found
                .iter()
                .map(|s| format!("{} {}", s.name, s.uuid))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Write run `run_id` of station `uuid` — start, journal, raw data, I/O log, interruptions,
/// results, stop, references, reports and its script — into a new station database at
/// `path`, exactly as the station held it.
pub async fn materialize(
    store: &mut LabStore,
    uuid: &str,
    run_id: &str,
    path: &Path,
) -> Result<Database, LabError> {
    let db = Database::open(path)?;
    let fail = |e: rusqlite::Error| db.fail(e);
    for t in &TABLES {
        let filter = match (t.name, t.run_column) {
            ("scripts", _) => {
                "sha256 = (SELECT procedure_hash FROM runs WHERE station_uuid = $1 AND id = $2)"
                    .to_string()
            }
            ("reference_certificates", _) => "certificate IN (SELECT certificate FROM run_references WHERE station_uuid = $1 AND run_id = $2)".to_string(),
            (_, Some(c)) => format!("{c} = $2"),
            (_, None) => continue,
        };
        let sql = format!(
            "SELECT {} FROM {} WHERE station_uuid = $1 AND {filter} ORDER BY src_rowid",
            columns(t),
            t.name
        );
        let rows = store
            .client()
            .query(sql.as_str(), &[&uuid, &run_id])
            .await
            .map_err(query(format!("reading {} of run {run_id}", t.name)))?;
        let marks = vec!["?"; t.columns.len()].join(", ");
        let insert = format!(
            "INSERT OR IGNORE INTO {} ({}) VALUES ({marks})",
            t.name,
            columns(t)
        );
        let mut stmt = db.connection().prepare(&insert).map_err(fail)?;
        for r in &rows {
            let values: Vec<rusqlite::types::Value> = pg_cells(r, t, 0)
                .into_iter()
                .map(|c| match c {
                    Cell::Null => rusqlite::types::Value::Null,
                    Cell::Int(v) => v.into(),
                    Cell::Real(v) => v.into(),
                    Cell::Text(v) => v.into(),
                    Cell::Blob(v) => v.into(),
                })
                .collect();
            stmt.execute(rusqlite::params_from_iter(values))
                .map_err(fail)?;
        }
    }
    Ok(db)
}

/// A run that used a reference certificate, on any station, with the reports issued from it.
pub async fn refs_trace(store: &mut LabStore, certificate: &str) -> Result<Vec<Value>, LabError> {
    let tx = store
        .client()
        .transaction()
        .await
        .map_err(query("tracing the certificate"))?;
    // A run cites a certificate once, so each (station, run) key of the recall list is looked
    // up once: PostgreSQL's Memoize node (a cache of repeated inner lookups) can never hit
    // here, and with text keys it tripled the join's time (benches/lab.rs: 10 000 runs,
    // 30 ms with the cache, 7 ms without). Scoped to this transaction.
    tx.batch_execute("SET LOCAL enable_memoize = off")
        .await
        .map_err(query("tracing the certificate"))?;
    // Reports joined row by row (a run has a few) and gathered here, in the query's order:
    // grouping them in SQL first cost as much as the rest of the trace.
    let rows = tx
        .query(
            "SELECT r.id, r.procedure, r.started_at, s.status, u.reference_id, st.uuid, st.name,
                    x.number
             FROM run_references u
             JOIN runs r ON r.station_uuid = u.station_uuid AND r.id = u.run_id
             JOIN stations st ON st.uuid = r.station_uuid
             LEFT JOIN run_stops s ON s.station_uuid = u.station_uuid AND s.run_id = u.run_id
             LEFT JOIN reports x ON x.station_uuid = u.station_uuid AND x.run_id = u.run_id
             WHERE u.certificate = $1
             ORDER BY r.started_at, st.name, st.uuid, r.id, u.reference_id, x.number",
            &[&certificate],
        )
        .await
        .map_err(query("tracing the certificate"))?;
    tx.commit()
        .await
        .map_err(query("tracing the certificate"))?;
    let mut trace: Vec<Value> = Vec::new();
    let mut last: Option<(String, String, String)> = None;
    for r in &rows {
        let key = (
            r.get::<_, String>(5),
            r.get::<_, String>(0),
            r.get::<_, String>(4),
        );
        let number = r.get::<_, Option<String>>(7);
        if last.as_ref() == Some(&key) {
            if let (Some(n), Some(Value::Array(numbers))) =
                (number, trace.last_mut().and_then(|t| t.get_mut("reports")))
            {
                numbers.push(Value::String(n));
            }
            continue;
        }
        trace.push(json!({
            "run_id": key.1,
            "procedure": r.get::<_, String>(1),
            "started_at": r.get::<_, f64>(2),
            "status": r.get::<_, Option<String>>(3),
            "reference_id": key.2,
            "station_uuid": key.0,
            "station_name": r.get::<_, String>(6),
            "reports": number.into_iter().collect::<Vec<_>>(),
        }));
        last = Some(key);
    }
    Ok(trace)
}

/// Every reference certificate any station recorded (the same record seen by several
/// stations once, with the stations that saw it), by reference and first sight.
pub async fn refs_list(store: &mut LabStore) -> Result<Vec<Value>, LabError> {
    let rows = store
        .client()
        .query(
            "SELECT c.certificate, c.reference_id, c.record, c.sha256, min(c.first_seen),
                    array_agg(DISTINCT st.name ORDER BY st.name)
             FROM reference_certificates c JOIN stations st ON st.uuid = c.station_uuid
             GROUP BY c.certificate, c.reference_id, c.record, c.sha256
             ORDER BY c.reference_id, min(c.first_seen)",
            &[],
        )
        .await
        .map_err(query("listing the reference certificates"))?;
    Ok(rows
        .iter()
        .map(|r| {
            let record: Value = serde_json::from_str(&r.get::<_, String>(2)).unwrap_or(Value::Null);
            json!({
                "certificate": r.get::<_, String>(0),
                "reference_id": r.get::<_, String>(1),
                "record": record,
                "sha256": r.get::<_, String>(3),
                "first_seen": r.get::<_, f64>(4),
                "stations": r.get::<_, Vec<String>>(5),
            })
        })
        .collect())
}

/// The first thing wrong in the lab store, per station.
#[derive(Debug, Clone, Serialize)]
pub struct StationCheck {
    /// The station.
    pub station: Station,
    /// Rows whose hash was recomputed, per table.
    pub rows: BTreeMap<&'static str, u64>,
    /// Audit entries walked.
    pub audit_entries: usize,
    /// What is wrong (empty: intact).
    pub problems: Vec<String>,
}

/// Verify every station's record in the lab store: each immutable row against its SHA-256
/// (naming table, station and rowid), each raw record's data against the hash taken when it
/// was measured, each audit chain, and each table's row count against the last sync's.
pub async fn audit_verify(store: &mut LabStore) -> Result<Vec<StationCheck>, LabError> {
    let mut out = Vec::new();
    for station in stations(store).await? {
        let uuid = station.uuid.clone();
        let mut problems = Vec::new();
        let mut counted = BTreeMap::new();
        for t in TABLES.iter().filter(|t| t.immutable) {
            let sql = format!(
                "SELECT src_rowid, row_sha256, {} FROM {} WHERE station_uuid = $1 ORDER BY src_rowid",
                columns(t),
                t.name
            );
            let rows = store
                .client()
                .query(sql.as_str(), &[&uuid])
                .await
                .map_err(query(format!("reading {}", t.name)))?;
            counted.insert(t.name, rows.len() as u64);
            for r in &rows {
                let cells = pg_cells(r, t, 2);
                let rowid: i64 = r.get(0);
                if row_hash(t.name, &uuid, &cells) != r.get::<_, String>(1) {
                    problems.push(format!(
                        "{} row {rowid} ({}) was changed after it was copied: its content does not match its SHA-256",
                        t.name,
                        describe(t, &cells)
                    ));
                }
                if t.name == "raw"
                    && let (Cell::Text(data), Cell::Text(hash)) = (&cells[4], &cells[5])
                    && sha256_hex(data.as_bytes()) != *hash
                {
                    problems.push(format!(
                        "raw record {} no longer matches the SHA-256 taken when it was measured",
                        describe(t, &cells)
                    ));
                }
            }
        }
        let last = store
            .client()
            .query_opt(
                "SELECT counts FROM syncs WHERE station_uuid = $1 ORDER BY id DESC LIMIT 1",
                &[&uuid],
            )
            .await
            .map_err(query("reading the last sync"))?;
        if let Some(last) = last {
            let counts: BTreeMap<String, u64> =
                serde_json::from_str(&last.get::<_, String>(0)).unwrap_or_default();
            for (table, held) in &counted {
                let synced = counts.get(*table).copied().unwrap_or(0);
                if *held < synced {
                    problems.push(format!(
                        "{table}: {} row(s) removed — the last sync copied {synced}, the lab store holds {held}",
                        synced - held
                    ));
                }
            }
        }
        let audit_entries = match verify_station_chain(store, &uuid).await? {
            Ok((n, _)) => n,
            Err(b) => {
                problems.push(format!(
                    "audit chain broken at entry {}: {}",
                    b.id, b.problem
                ));
                0
            }
        };
        out.push(StationCheck {
            station,
            rows: counted,
            audit_entries,
            problems,
        });
    }
    Ok(out)
}

/// A row named for a person: its key columns' values.
fn describe(t: &Table, cells: &[Cell]) -> String {
    let keys: &[&str] = match t.name {
        "activities" => &["run_id", "seq"],
        "results" => &["run_id", "name"],
        "run_stops" => &["run_id"],
        "run_references" => &["run_id", "reference_id"],
        "reference_certificates" => &["certificate"],
        "scripts" => &["sha256"],
        "reports" => &["id", "number"],
        "raw" | "io_log" | "interruptions" => &["id", "run_id"],
        _ => &["id"],
    };
    keys.iter()
        .filter_map(|k| {
            let i = t.columns.iter().position(|c| c.0 == *k)?;
            Some(match &cells[i] {
                Cell::Text(s) => format!("{k} {}", s.chars().take(40).collect::<String>()),
                Cell::Int(v) => format!("{k} {v}"),
                Cell::Real(v) => format!("{k} {v}"),
                Cell::Null => format!("{k} null"),
                Cell::Blob(_) => format!("{k} (bytes)"),
            })
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The issued report with certificate number `number`, or whose files include one with
/// SHA-256 `hash`: (station, run id, number).
pub async fn find_report(
    store: &mut LabStore,
    number: Option<&str>,
    hash: Option<&str>,
) -> Result<Option<(Station, String, String)>, LabError> {
    let rows = store
        .client()
        .query(
            "SELECT st.uuid, st.name, p.run_id, p.number, p.files FROM reports p JOIN stations st ON st.uuid = p.station_uuid WHERE p.number = $1 OR $2::text IS NOT NULL",
            &[&number.unwrap_or(""), &hash],
        )
        .await
        .map_err(query("finding the report"))?;
    Ok(rows.iter().find_map(|r| {
        let files: BTreeMap<String, String> =
            serde_json::from_str(&r.get::<_, String>(4)).unwrap_or_default();
        let by_number = number.is_some_and(|n| n == r.get::<_, String>(3));
        let by_hash = hash.is_some_and(|h| files.values().any(|v| v == h));
        (by_number || by_hash).then(|| {
            (
                Station {
                    uuid: r.get(0),
                    name: r.get(1),
                },
                r.get(2),
                r.get(3),
            )
        })
    }))
}
