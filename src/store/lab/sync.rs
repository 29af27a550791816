//! `pvstation sync`: copy what the lab store lacks from a station database.
//!
//! # How it cannot lose or duplicate
//! - The station's audit chain and every raw record's SHA-256 are verified first: a station
//!   whose record is broken is not copied (nothing is written).
//! - One read transaction on the station file is the snapshot: rows a running measurement
//!   appends meanwhile wait for the next sync, and a run is always copied before its rows.
//! - Per table, what the lab store lacks is the station's rows above the highest `src_rowid`
//!   it holds for this station (rows are never deleted or updated and station files are never
//!   vacuumed, so rowids only grow). Rows go in batches (`batch` rows, at most 8 MB), each batch
//!   one PostgreSQL transaction: a sync killed at any moment leaves whole batches, and the next
//!   one resumes above them. Inserts also skip a row the lab store already holds
//!   (`ON CONFLICT … DO NOTHING` on the station and rowid), so a repeated batch changes nothing.
//! - Afterwards each table's count for the station must equal the snapshot's, the station's
//!   audit chain is walked again in the lab store and its head compared with the station's,
//!   and the sync is recorded (`syncs`: the counts and the head `lab audit verify` checks
//!   against later).
//! - The queue is the one mutable table: its rows are upserted whole every time.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use rusqlite::types::ValueRef;
use serde::Serialize;
use tokio_postgres::types::ToSql;

use super::tables::{Cell, TABLES, Table, Type, row_hash};
use super::views::verify_station_chain;
use super::{LabError, LabStore, query};
use crate::store::db::Database;

/// How a sync proceeds.
#[derive(Debug, Clone, Copy)]
pub struct SyncOptions {
    /// Rows per batch (one transaction each).
    pub batch: usize,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions { batch: 2000 }
    }
}

/// Bytes of row data after which a batch is closed early (large I-V records).
const BATCH_BYTES: usize = 8 << 20;

/// PostgreSQL's limit on parameters per statement is 65 535.
const MAX_PARAMETERS: usize = 60_000;

/// Progress of a sync, after each committed batch.
#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    /// Table.
    pub table: &'static str,
    /// Rows of it copied so far in this sync.
    pub copied: u64,
    /// Rows of it this sync has to copy.
    pub to_copy: u64,
}

/// What a sync did.
#[derive(Debug, Clone, Serialize)]
pub struct SyncSummary {
    /// The station's identity.
    pub station_uuid: String,
    /// Its name (from its latest run's station file).
    pub station_name: String,
    /// Rows copied per table.
    pub copied: BTreeMap<&'static str, u64>,
    /// Rows the station holds per table at the snapshot (and now the lab store too).
    pub counts: BTreeMap<&'static str, u64>,
    /// Batches committed.
    pub batches: u64,
    /// Bytes of row data copied.
    pub bytes: u64,
    /// Audit entries verified in the station and again in the lab store.
    pub audit_entries: usize,
    /// Raw records whose SHA-256 was verified before copying.
    pub raw_verified: usize,
    /// Wall time [s].
    pub seconds: f64,
}

/// One row read from the station: its rowid and cells.
struct Row {
    rowid: i64,
    cells: Vec<Cell>,
    bytes: usize,
}

fn cell(value: ValueRef<'_>, ty: Type) -> Cell {
    match (value, ty) {
        (ValueRef::Null, _) => Cell::Null,
        (ValueRef::Integer(v), Type::Real) => Cell::Real(v as f64),
        (ValueRef::Integer(v), _) => Cell::Int(v),
        (ValueRef::Real(v), _) => Cell::Real(v),
        (ValueRef::Text(t), Type::Blob) | (ValueRef::Blob(t), Type::Blob) => Cell::Blob(t.to_vec()),
        (ValueRef::Text(t), _) | (ValueRef::Blob(t), _) => {
            Cell::Text(String::from_utf8_lossy(t).into_owned())
        }
    }
}

/// A cell as a statement parameter of the column's type (a NULL keeps its type).
fn parameter(c: &Cell, ty: Type) -> Box<dyn ToSql + Sync + Send> {
    match (c, ty) {
        (Cell::Null, Type::Int) => Box::new(None::<i64>),
        (Cell::Null, Type::Real) => Box::new(None::<f64>),
        (Cell::Null, Type::Text) => Box::new(None::<String>),
        (Cell::Null, Type::Blob) => Box::new(None::<Vec<u8>>),
        (Cell::Int(v), _) => Box::new(*v),
        (Cell::Real(v), _) => Box::new(*v),
        (Cell::Text(v), _) => Box::new(v.clone()),
        (Cell::Blob(v), _) => Box::new(v.clone()),
    }
}

fn station_rows(db: &Database, t: &Table, after: i64, limit: usize) -> Result<Vec<Row>, LabError> {
    let columns: Vec<&str> = t.columns.iter().map(|c| c.0).collect();
    let sql = format!(
        "SELECT rowid, {} FROM {} WHERE rowid > ?1 ORDER BY rowid LIMIT ?2",
        columns.join(", "),
        t.name
    );
    let fail = |e: rusqlite::Error| db.fail(e);
    let mut stmt = db.connection().prepare_cached(&sql).map_err(fail)?;
    let mut rows = stmt.query((after, limit as i64)).map_err(fail)?;
    let mut out = Vec::new();
    let mut bytes = 0;
    while let Some(r) = rows.next().map_err(fail)? {
        let mut cells = Vec::with_capacity(t.columns.len());
        let mut size = 0;
        for (k, (_, ty)) in t.columns.iter().enumerate() {
            let c = cell(r.get_ref(k + 1).map_err(fail)?, *ty);
            size += match &c {
                Cell::Text(s) => s.len(),
                Cell::Blob(b) => b.len(),
                _ => 8,
            };
            cells.push(c);
        }
        bytes += size;
        out.push(Row {
            rowid: r.get(0).map_err(fail)?,
            cells,
            bytes: size,
        });
        if bytes >= BATCH_BYTES {
            break;
        }
    }
    Ok(out)
}

/// Copy one batch of rows in one transaction.
async fn insert_batch(
    store: &mut LabStore,
    t: &Table,
    station: &str,
    rows: &[Row],
) -> Result<(), LabError> {
    let mut names = vec!["station_uuid", "src_rowid"];
    names.extend(t.columns.iter().map(|c| c.0));
    if t.immutable {
        names.push("row_sha256");
    }
    let per_row = names.len();
    let conflict = if t.immutable {
        "ON CONFLICT (station_uuid, src_rowid) DO NOTHING".to_string()
    } else {
        let set: Vec<String> = t
            .columns
            .iter()
            .map(|c| format!("{0} = EXCLUDED.{0}", c.0))
            .collect();
        format!(
            "ON CONFLICT (station_uuid, src_rowid) DO UPDATE SET {}",
            set.join(", ")
        )
    };
    let tx = store
        .client()
        .transaction()
        .await
        .map_err(query(format!("starting a batch of {}", t.name)))?;
    for chunk in rows.chunks((MAX_PARAMETERS / per_row).max(1)) {
        let mut params: Vec<Box<dyn ToSql + Sync + Send>> =
            Vec::with_capacity(chunk.len() * per_row);
        let mut tuples = Vec::with_capacity(chunk.len());
        for row in chunk {
            let first = params.len();
            params.push(Box::new(station.to_string()));
            params.push(Box::new(row.rowid));
            for (c, (_, ty)) in row.cells.iter().zip(t.columns) {
                params.push(parameter(c, *ty));
            }
            if t.immutable {
                params.push(Box::new(row_hash(t.name, station, &row.cells)));
            }
            let marks: Vec<String> = (first + 1..=params.len())
                .map(|k| format!("${k}"))
                .collect();
            tuples.push(format!("({})", marks.join(", ")));
        }
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {} {conflict}",
            t.name,
            names.join(", "),
            tuples.join(", ")
        );
        let refs: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect();
        tx.execute(sql.as_str(), &refs)
            .await
            .map_err(|e| refused_insert(t, &e))?;
    }
    tx.commit()
        .await
        .map_err(query(format!("committing a batch of {}", t.name)))
}

/// An insert the lab store refused, in the operator's words: a certificate number another
/// station already issued is the one expected case.
fn refused_insert(t: &Table, e: &tokio_postgres::Error) -> LabError {
    let m = super::message(e);
    if t.name == "reports" && m.contains("reports_number") {
        return LabError::Refused(format!(
            "the lab store already holds a report with one of these certificate numbers, issued by another station: {m}. Nothing of this batch was copied. Give each station its own `number_prefix` in its station file ([station]), then reissue the report on this station as a revision"
        ));
    }
    LabError::Query {
        what: format!("copying rows of {}", t.name),
        problem: m,
    }
}

/// The station's name as its latest run recorded it.
fn station_name(db: &Database, uuid: &str) -> String {
    db.connection()
        .query_row(
            "SELECT json_extract(station, '$.file.station.name') FROM runs ORDER BY rowid DESC LIMIT 1",
            [],
            |r| r.get::<_, Option<String>>(0),
        )
        .ok()
        .flatten()
        .unwrap_or_else(|| format!("station {}", &uuid[..8.min(uuid.len())]))
}

/// Now [s since epoch] (the lab store records when syncs ran; 0 before 1970 cannot happen).
fn wall_clock() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Copy what the lab store lacks from the station database at `path`.
pub async fn sync(
    path: &Path,
    store: &mut LabStore,
    options: SyncOptions,
    progress: &mut dyn FnMut(&Progress),
) -> Result<SyncSummary, LabError> {
    let clock = Instant::now();
    let started_at = wall_clock();
    let db = Database::open(path)?;
    let (uuid, _) = db
        .station_identity()?
        .ok_or_else(|| LabError::Refused(format!("{} has no station identity", path.display())))?;
    let file = path.display().to_string();
    let raw_verified = match db.verify_raw()? {
        Ok(n) => n,
        Err(b) => {
            return Err(LabError::Refused(format!(
                "{file}: raw record {} is altered ({}); nothing was copied — `pvstation audit verify --db {file}` shows it",
                b.id, b.problem
            )));
        }
    };
    let audit_entries = match db.verify_audit()? {
        Ok(n) => n,
        Err(b) => {
            return Err(LabError::Refused(format!(
                "{file}: the audit chain is broken at entry {} ({}); nothing was copied",
                b.id, b.problem
            )));
        }
    };
    let name = station_name(&db, &uuid);
    store
        .client()
        .execute(
            "INSERT INTO stations (uuid, name, first_synced) VALUES ($1, $2, $3) ON CONFLICT (uuid) DO UPDATE SET name = EXCLUDED.name",
            &[&uuid, &name, &started_at],
        )
        .await
        .map_err(query("recording the station"))?;
    // The snapshot: one read transaction for everything below.
    let snapshot = db
        .connection()
        .unchecked_transaction()
        .map_err(|e| db.fail(e))?;
    let mut counts = BTreeMap::new();
    let mut tops = BTreeMap::new();
    for t in &TABLES {
        let (n, top): (i64, i64) = snapshot
            .query_row(
                &format!("SELECT count(*), coalesce(max(rowid), 0) FROM {}", t.name),
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|e| db.fail(e))?;
        counts.insert(t.name, n as u64);
        tops.insert(t.name, top);
    }
    let audit_head: String = snapshot
        .query_row(
            "SELECT coalesce((SELECT hash FROM audit ORDER BY id DESC LIMIT 1), '')",
            [],
            |r| r.get(0),
        )
        .map_err(|e| db.fail(e))?;
    let mut copied = BTreeMap::new();
    let (mut batches, mut bytes) = (0u64, 0u64);
    for t in &TABLES {
        let mut after: i64 = if t.immutable {
            store
                .client()
                .query_one(
                    &format!(
                        "SELECT coalesce(max(src_rowid), 0) FROM {} WHERE station_uuid = $1",
                        t.name
                    ),
                    &[&uuid],
                )
                .await
                .map_err(query(format!(
                    "reading what the lab store holds of {}",
                    t.name
                )))?
                .get(0)
        } else {
            0
        };
        let top = tops[t.name];
        let to_copy: u64 = snapshot
            .query_row(
                &format!(
                    "SELECT count(*) FROM {} WHERE rowid > ?1 AND rowid <= ?2",
                    t.name
                ),
                (after, top),
                |r| r.get::<_, i64>(0),
            )
            .map_err(|e| db.fail(e))? as u64;
        let mut done = 0u64;
        while after < top {
            let rows = station_rows(&db, t, after, options.batch.max(1))?;
            let rows: Vec<Row> = rows.into_iter().filter(|r| r.rowid <= top).collect();
            let Some(last) = rows.last().map(|r| r.rowid) else {
                break;
            };
            insert_batch(store, t, &uuid, &rows).await?;
            batches += 1;
            bytes += rows.iter().map(|r| r.bytes as u64).sum::<u64>();
            done += rows.len() as u64;
            after = last;
            progress(&Progress {
                table: t.name,
                copied: done,
                to_copy,
            });
        }
        copied.insert(t.name, done);
    }
    drop(snapshot);
    // Afterwards: the lab store holds exactly what the snapshot held.
    for t in TABLES.iter().filter(|t| t.immutable) {
        let held: i64 = store
            .client()
            .query_one(
                &format!(
                    "SELECT count(*) FROM {} WHERE station_uuid = $1 AND src_rowid <= $2",
                    t.name
                ),
                &[&uuid, &tops[t.name]],
            )
            .await
            .map_err(query(format!("counting {}", t.name)))?
            .get(0);
        if held as u64 != counts[t.name] {
            return Err(LabError::Refused(format!(
                "after the sync the lab store holds {held} rows of {} for station {uuid}, the station {}: the station file's rows were renumbered or removed (a vacuumed or edited file?) — run `pvstation audit verify --db {file}`",
                t.name, counts[t.name]
            )));
        }
    }
    let chain = verify_station_chain(store, &uuid).await?;
    match chain {
        Ok((_, head)) if head == audit_head => {}
        Ok((n, head)) => {
            return Err(LabError::Refused(format!(
                "the lab store's audit chain of station {uuid} ({n} entries) ends at {head}, the station's at {audit_head}: is this file an older copy of the station's database (a restored backup)? Nothing more was copied"
            )));
        }
        Err(b) => {
            return Err(LabError::Refused(format!(
                "the lab store's audit chain of station {uuid} is broken at entry {}: {}",
                b.id, b.problem
            )));
        }
    }
    let finished_at = wall_clock();
    let counts_json = serde_json::to_string(&counts).unwrap_or_default();
    let copied_json = serde_json::to_string(&copied).unwrap_or_default();
    store
        .client()
        .execute(
            "INSERT INTO syncs (station_uuid, started_at, finished_at, copied, counts, audit_head, software_version) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[&uuid, &started_at, &finished_at, &copied_json, &counts_json, &audit_head, &env!("CARGO_PKG_VERSION")],
        )
        .await
        .map_err(query("recording the sync"))?;
    // Fresh planner statistics for the tables this sync grew a lot: the lab views read them
    // next (a recall list planned on the empty tables' statistics took 4x as long,
    // benches/lab.rs); autovacuum would get there, a minute or so later. Small syncs leave it
    // to autovacuum.
    for (table, n) in &copied {
        if *n >= 1000 {
            store
                .client()
                .batch_execute(&format!("ANALYZE {table}"))
                .await
                .map_err(query(format!("updating the statistics of {table}")))?;
        }
    }
    Ok(SyncSummary {
        station_uuid: uuid,
        station_name: name,
        copied,
        counts,
        batches,
        bytes,
        audit_entries,
        raw_verified,
        seconds: clock.elapsed().as_secs_f64(),
    })
}
