//! The station database (SQLite, bundled): runs, their journaled activities and raw
//! observations, and a SHA-256 hash-chained audit trail; one file per table family
//! (`migrations`, `runs` with the journal, raw data and results, `io_log`, `audit`; the queue,
//! the references registry and issued reports in `store::{queue, refs, reports}`).
//!
//! Integrity rules (ISO/IEC 17025 7.5, 21 CFR 11.10(e), standards.md §7.3):
//! - raw observations, activities and audit entries are **immutable**: triggers reject UPDATE
//!   and DELETE; a correction is a new record that points at the record it corrects;
//! - every audit entry carries the hash of its predecessor, so editing or deleting any entry
//!   (even behind SQLite's back) breaks the chain, and `verify_audit` names the first broken
//!   link;
//! - WAL journal with `synchronous = FULL`: a committed record survives a crash or power cut.

mod audit;
mod io_log;
mod migrations;
mod runs;

use std::path::Path;

use rusqlite::Connection;
use sha2::{Digest, Sha256};

pub use audit::{AuditEntry, BrokenLink, GENESIS, audit_hash};
pub use io_log::IoEntry;
pub use migrations::{APPLICATION_ID, MIGRATIONS};
pub use runs::{Activity, Interruption, RawRecord, RunStart, RunSummary, StopRecord};

use super::StoreError;

/// Lower-case hex of SHA-256 (sha2 0.11 digests have no `LowerHex`).
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An open database.
pub struct Database {
    conn: Connection,
    path: String,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("path", &self.path)
            .finish()
    }
}

/// What a SQLite file holds, judged before anything is written to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A file with no schema at all (new or empty): may become a station database.
    Empty,
    /// A pvstation database at this schema version.
    Station(usize),
}

/// Which SQLite file this is: a station database (and its version), an empty one, or — an
/// error naming what it holds — something else, which pvstation never touches.
fn identify(conn: &Connection, file: &str) -> Result<Kind, StoreError> {
    let fail = |e: rusqlite::Error| StoreError::Table {
        file: file.to_string(),
        problem: e.to_string(),
    };
    let application: i64 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .map_err(|e| not_sqlite(file, &e).unwrap_or_else(|| fail(e)))?;
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(fail)?;
    let tables: Vec<String> = {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .map_err(fail)?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(fail)?;
        rows.collect::<Result<_, _>>().map_err(fail)?
    };
    let version = usize::try_from(version).unwrap_or(usize::MAX);
    let ours = application == APPLICATION_ID
        || (application == 0
            && version >= 1
            && ["runs", "activities", "raw", "audit"]
                .iter()
                .all(|t| tables.iter().any(|n| n == t)));
    if ours {
        if version > MIGRATIONS.len() {
            return Err(StoreError::Table {
                file: file.into(),
                problem: format!(
                    "the database has schema version {version}, newer than this pvstation ({}); update pvstation",
                    MIGRATIONS.len()
                ),
            });
        }
        return Ok(Kind::Station(version));
    }
    if application == 0 && version == 0 && tables.is_empty() {
        return Ok(Kind::Empty);
    }
    let shown: Vec<&str> = tables.iter().take(5).map(String::as_str).collect();
    Err(StoreError::Table {
        file: file.into(),
        problem: format!(
            "not a pvstation station database (application id {application:#x}, user version {version}, tables: {}{}); nothing was changed — give a station database with --db",
            if shown.is_empty() {
                "none".to_string()
            } else {
                shown.join(", ")
            },
            if tables.len() > 5 { ", …" } else { "" }
        ),
    })
}

/// SQLite's "file is not a database" as our own words.
fn not_sqlite(file: &str, e: &rusqlite::Error) -> Option<StoreError> {
    e.sqlite_error_code()
        .filter(|c| *c == rusqlite::ErrorCode::NotADatabase)
        .map(|_| StoreError::Table {
            file: file.into(),
            problem: "not an SQLite database (not a pvstation station database); nothing was changed — give a station database with --db".into(),
        })
}

/// Apply the migrations after `version` in their own transactions.
fn migrate(conn: &Connection, version: usize, file: &str) -> Result<(), StoreError> {
    let fail = |e: rusqlite::Error| StoreError::Table {
        file: file.to_string(),
        problem: format!("migrating the schema: {e}"),
    };
    for (k, migration) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.unchecked_transaction().map_err(fail)?;
        tx.execute_batch(migration).map_err(fail)?;
        tx.pragma_update(None, "user_version", (k + 1) as i64)
            .map_err(fail)?;
        tx.commit().map_err(fail)?;
    }
    Ok(())
}

impl Database {
    /// Open the station database at `path` for writing, creating it when it does not exist and
    /// migrating an older schema. A file that is not a station database is refused before
    /// anything is written to it.
    pub fn open(path: &Path) -> Result<Database, StoreError> {
        let file = path.display().to_string();
        let fail = |e: rusqlite::Error| StoreError::Table {
            file: file.clone(),
            problem: e.to_string(),
        };
        if path.is_dir() {
            return Err(StoreError::Table {
                file,
                problem: "is a directory; give the database file (--db DIR/station.db)".into(),
            });
        }
        let conn = Connection::open(path).map_err(fail)?;
        let kind = identify(&conn, &file)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(fail)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(fail)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(fail)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(fail)?;
        let version = match kind {
            Kind::Empty => 0,
            Kind::Station(v) => v,
        };
        migrate(&conn, version, &file)?;
        Ok(Database { conn, path: file })
    }

    /// Open an existing station database for reading only: nothing is ever written to the
    /// file (read commands work on read-only files and never create or convert one). A
    /// database of an older schema is migrated in memory, its file left as it is.
    pub fn open_read_only(path: &Path) -> Result<Database, StoreError> {
        use rusqlite::OpenFlags;
        let file = path.display().to_string();
        let fail = |e: rusqlite::Error| StoreError::Table {
            file: file.clone(),
            problem: e.to_string(),
        };
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::Table {
                    file,
                    problem: "no database here (a read command never creates one); check --db or $PVSTATION_DB".into(),
                });
            }
            Err(e) => {
                return Err(StoreError::Read { file, source: e });
            }
            Ok(m) if m.is_dir() => {
                return Err(StoreError::Table {
                    file,
                    problem: "is a directory; give the database file (--db DIR/station.db)".into(),
                });
            }
            Ok(_) => {}
        }
        let read_only = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(path, read_only).map_err(fail)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(fail)?;
        // A WAL database needs its -shm file; in a directory nobody may write to (an archive
        // on read-only media) it cannot be created, and nobody can be writing the database
        // either: read it as immutable.
        let conn = match identify(&conn, &file) {
            Err(StoreError::Table { problem, .. }) if problem.contains("unable to open") => {
                let uri = format!(
                    "file:{}?immutable=1",
                    path.display()
                        .to_string()
                        .replace('?', "%3f")
                        .replace('#', "%23")
                );
                let c = Connection::open_with_flags(uri, read_only).map_err(fail)?;
                identify(&c, &file)?;
                c
            }
            Err(e) => return Err(e),
            Ok(_) => conn,
        };
        match identify(&conn, &file)? {
            Kind::Empty => Err(StoreError::Table {
                file,
                problem: "an empty SQLite file, not a pvstation station database; check --db"
                    .into(),
            }),
            Kind::Station(v) if v == MIGRATIONS.len() => Ok(Database { conn, path: file }),
            Kind::Station(v) => {
                // An older schema: read a migrated copy in memory.
                let mut memory = Connection::open_in_memory().map_err(fail)?;
                {
                    let backup = rusqlite::backup::Backup::new(&conn, &mut memory).map_err(fail)?;
                    backup
                        .run_to_completion(256, std::time::Duration::ZERO, None)
                        .map_err(fail)?;
                }
                migrate(&memory, v, &file)?;
                Ok(Database {
                    conn: memory,
                    path: file,
                })
            }
        }
    }

    pub(crate) fn fail(&self, e: rusqlite::Error) -> StoreError {
        StoreError::Table {
            file: self.path.clone(),
            problem: e.to_string(),
        }
    }

    /// All rows of a query, mapped.
    pub(crate) fn query_all<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: impl FnMut(&rusqlite::Row) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.fail(e))?;
        let rows = stmt.query_map(params, map).map_err(|e| self.fail(e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.fail(e))
    }

    /// The file.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The underlying connection (for the engine's transactions and for tests).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

/// A fresh database in its own temporary folder, for the tests of each table family.
#[cfg(test)]
pub(crate) fn scratch(name: &str) -> Database {
    let dir = std::env::temp_dir().join(format!("pvstation-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    Database::open(&dir.join("s.db")).expect("scratch database")
}

/// A run started in `db` (the row the other tables refer to).
#[cfg(test)]
pub(crate) fn scratch_run(db: &Database, id: &str, started_at: f64) {
    db.start_run(&RunStart {
        id: id.into(),
        procedure: "outdoor-pmax".into(),
        procedure_hash: sha256_hex(b"script"),
        parameters: "{}".into(),
        operator: "li.wei".into(),
        software_version: "0.1.0".into(),
        station: "{}".into(),
        started_at,
    })
    .expect("start");
}

impl Database {
    /// The station's identity in the laboratory: `(uuid, created_at)` (migration 10). A
    /// database opened read-only at an older schema has none yet (its in-memory migration
    /// would invent one): `None`.
    pub fn station_identity(&self) -> Result<Option<(String, f64)>, StoreError> {
        use rusqlite::OptionalExtension;
        // Only an older schema opened read-only is read from an in-memory migrated copy.
        if self.conn.path().is_none_or(str::is_empty) {
            return Ok(None);
        }
        self.conn
            .query_row("SELECT uuid, created_at FROM station_identity", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(|e| self.fail(e))
    }
}
