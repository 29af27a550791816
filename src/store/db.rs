//! The station database (SQLite, bundled): runs, their journaled activities and raw
//! observations, and a SHA-256 hash-chained audit trail.
//!
//! Integrity rules (ISO/IEC 17025 7.5, 21 CFR 11.10(e), standards.md §7.3):
//! - raw observations, activities and audit entries are **immutable**: triggers reject UPDATE
//!   and DELETE; a correction is a new record that points at the record it corrects;
//! - every audit entry carries the hash of its predecessor, so editing or deleting any entry
//!   (even behind SQLite's back) breaks the chain, and `verify_audit` names the first broken
//!   link;
//! - WAL journal with `synchronous = FULL`: a committed record survives a crash or power cut.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::StoreError;
use crate::model::RunStatus;

/// `PRAGMA application_id` of a pvstation database ("PVST"): tells it apart from any other
/// SQLite file before a single byte is written (migration 8 sets it; older pvstation databases
/// are recognised by their tables).
pub const APPLICATION_ID: i64 = 0x5056_5354;

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran. Never
/// edit a migration that has shipped: append a new one.
pub const MIGRATIONS: [&str; 8] = [
    r#"
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    procedure TEXT NOT NULL,
    procedure_hash TEXT NOT NULL,
    parameters TEXT NOT NULL,
    operator TEXT NOT NULL,
    software_version TEXT NOT NULL,
    station TEXT NOT NULL,
    started_at REAL NOT NULL
);
CREATE TABLE run_stops (
    run_id TEXT PRIMARY KEY REFERENCES runs(id),
    status TEXT NOT NULL CHECK (status IN ('completed', 'failed', 'aborted')),
    reason TEXT,
    stopped_at REAL NOT NULL
);
CREATE TABLE activities (
    run_id TEXT NOT NULL REFERENCES runs(id),
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    request TEXT NOT NULL,
    result TEXT NOT NULL,
    status TEXT NOT NULL,
    recorded_at REAL NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE raw (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id),
    activity_seq INTEGER,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    corrects INTEGER REFERENCES raw(id),
    recorded_at REAL NOT NULL
);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    recorded_at REAL NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TRIGGER raw_no_update BEFORE UPDATE ON raw BEGIN
    SELECT RAISE(ABORT, 'raw observations are immutable; record a correction that points at them');
END;
CREATE TRIGGER raw_no_delete BEFORE DELETE ON raw BEGIN
    SELECT RAISE(ABORT, 'raw observations are immutable; record a correction that points at them');
END;
CREATE TRIGGER activities_no_update BEFORE UPDATE ON activities BEGIN
    SELECT RAISE(ABORT, 'journaled activities are immutable');
END;
CREATE TRIGGER activities_no_delete BEFORE DELETE ON activities BEGIN
    SELECT RAISE(ABORT, 'journaled activities are immutable');
END;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;
"#,
    r#"
CREATE TABLE io_log (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id),
    recorded_at REAL NOT NULL,
    instrument TEXT NOT NULL,
    resource TEXT NOT NULL,
    direction TEXT NOT NULL,
    bytes BLOB NOT NULL
);
CREATE INDEX io_log_run ON io_log(run_id, id);
CREATE TRIGGER io_log_no_update BEFORE UPDATE ON io_log BEGIN
    SELECT RAISE(ABORT, 'the instrument I/O log is append-only');
END;
CREATE TRIGGER io_log_no_delete BEFORE DELETE ON io_log BEGIN
    SELECT RAISE(ABORT, 'the instrument I/O log is append-only');
END;
"#,
    r#"
CREATE TABLE interruptions (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id),
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    details TEXT NOT NULL,
    recorded_at REAL NOT NULL,
    UNIQUE (run_id, seq, kind)
);
CREATE TABLE results (
    run_id TEXT NOT NULL REFERENCES runs(id),
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run_id, name)
);
CREATE TRIGGER interruptions_no_update BEFORE UPDATE ON interruptions BEGIN
    SELECT RAISE(ABORT, 'interruptions are append-only');
END;
CREATE TRIGGER interruptions_no_delete BEFORE DELETE ON interruptions BEGIN
    SELECT RAISE(ABORT, 'interruptions are append-only');
END;
CREATE TRIGGER results_no_update BEFORE UPDATE ON results BEGIN
    SELECT RAISE(ABORT, 'results are immutable: a new run recomputes them');
END;
CREATE TRIGGER results_no_delete BEFORE DELETE ON results BEGIN
    SELECT RAISE(ABORT, 'results are immutable: a new run recomputes them');
END;
"#,
    r#"
CREATE TABLE queue (
    id INTEGER PRIMARY KEY,
    position INTEGER NOT NULL,
    procedure TEXT NOT NULL,
    sets TEXT NOT NULL,
    answers TEXT NOT NULL,
    station TEXT,
    not_before REAL,
    time_window TEXT,
    added_at REAL NOT NULL,
    added_by TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'running', 'completed', 'failed', 'aborted', 'removed')),
    run_id TEXT,
    started_wall REAL,
    finished_wall REAL
);
"#,
    r#"
CREATE TABLE reference_certificates (
    certificate TEXT NOT NULL,
    reference_id TEXT NOT NULL,
    record TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    first_seen REAL NOT NULL,
    PRIMARY KEY (certificate, sha256)
);
CREATE TABLE run_references (
    run_id TEXT NOT NULL REFERENCES runs(id),
    reference_id TEXT NOT NULL,
    certificate TEXT NOT NULL,
    PRIMARY KEY (run_id, reference_id)
);
CREATE TRIGGER reference_certificates_no_update BEFORE UPDATE ON reference_certificates BEGIN
    SELECT RAISE(ABORT, 'recorded certificates are immutable: a new certificate is a new record');
END;
CREATE TRIGGER reference_certificates_no_delete BEFORE DELETE ON reference_certificates BEGIN
    SELECT RAISE(ABORT, 'recorded certificates are immutable: a new certificate is a new record');
END;
CREATE TRIGGER run_references_no_update BEFORE UPDATE ON run_references BEGIN
    SELECT RAISE(ABORT, 'the references a run used are immutable');
END;
CREATE TRIGGER run_references_no_delete BEFORE DELETE ON run_references BEGIN
    SELECT RAISE(ABORT, 'the references a run used are immutable');
END;
"#,
    r#"
CREATE TABLE scripts (
    sha256 TEXT PRIMARY KEY,
    file TEXT NOT NULL,
    source TEXT NOT NULL
);
CREATE TRIGGER scripts_no_update BEFORE UPDATE ON scripts BEGIN
    SELECT RAISE(ABORT, 'stored procedure scripts are immutable');
END;
CREATE TRIGGER scripts_no_delete BEFORE DELETE ON scripts BEGIN
    SELECT RAISE(ABORT, 'stored procedure scripts are immutable');
END;
"#,
    r#"
CREATE TABLE reports (
    id INTEGER PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    run_id TEXT NOT NULL REFERENCES runs(id),
    revision INTEGER NOT NULL,
    previous TEXT,
    issued_at REAL NOT NULL,
    issued_by TEXT NOT NULL,
    metadata TEXT NOT NULL,
    files TEXT NOT NULL
);
CREATE TRIGGER reports_no_update BEFORE UPDATE ON reports BEGIN
    SELECT RAISE(ABORT, 'issued reports are immutable: a reissue is a new revision');
END;
CREATE TRIGGER reports_no_delete BEFORE DELETE ON reports BEGIN
    SELECT RAISE(ABORT, 'issued reports are immutable: a reissue is a new revision');
END;
"#,
    r#"
PRAGMA application_id = 1347834708;
"#,
];

/// Hash of the first link's predecessor.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Lower-case hex of SHA-256 (sha2 0.11 digests have no `LowerHex`).
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The hash of an audit entry: SHA-256 over its fields and its predecessor's hash, each
/// length-prefixed so that no two different entries serialise alike.
pub fn audit_hash(
    prev_hash: &str,
    recorded_at: f64,
    actor: &str,
    action: &str,
    details: &str,
) -> String {
    let mut text = String::new();
    for field in [
        prev_hash,
        &format!("{recorded_at:?}"),
        actor,
        action,
        details,
    ] {
        text.push_str(&format!("{}:{field};", field.len()));
    }
    sha256_hex(text.as_bytes())
}

/// An audit entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    /// Sequence number.
    pub id: i64,
    /// When [s since epoch].
    pub recorded_at: f64,
    /// Who.
    pub actor: String,
    /// What (e.g. `prompt.answer`, `sign-off`, `config.change`).
    pub action: String,
    /// Details (JSON text: before/after, answers, meanings).
    pub details: String,
    /// Predecessor's hash.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

/// The first broken link of the audit chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BrokenLink {
    /// Entry id.
    pub id: i64,
    /// What is wrong.
    pub problem: String,
}

/// A run as `runs list` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    /// Run id.
    pub id: String,
    /// Procedure.
    pub procedure: String,
    /// Operator.
    pub operator: String,
    /// Start [s since epoch].
    pub started_at: f64,
    /// How it stopped; None while running or interrupted.
    pub status: Option<RunStatus>,
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

    /// Append an audit entry, chained to the last one; returns it.
    pub fn audit(
        &self,
        recorded_at: f64,
        actor: &str,
        action: &str,
        details: &str,
    ) -> Result<AuditEntry, StoreError> {
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(|e| self.fail(e))?;
        let prev: Option<String> = tx
            .query_row("SELECT hash FROM audit ORDER BY id DESC LIMIT 1", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.fail(e))?;
        let prev_hash = prev.unwrap_or_else(|| GENESIS.to_string());
        let hash = audit_hash(&prev_hash, recorded_at, actor, action, details);
        tx.execute(
            "INSERT INTO audit (recorded_at, actor, action, details, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![recorded_at, actor, action, details, prev_hash, hash],
        )
        .map_err(|e| self.fail(e))?;
        let id = tx.last_insert_rowid();
        tx.commit().map_err(|e| self.fail(e))?;
        Ok(AuditEntry {
            id,
            recorded_at,
            actor: actor.into(),
            action: action.into(),
            details: details.into(),
            prev_hash,
            hash,
        })
    }

    /// All audit entries in order.
    pub fn audit_entries(&self) -> Result<Vec<AuditEntry>, StoreError> {
        self.query_all("SELECT id, recorded_at, actor, action, details, prev_hash, hash FROM audit ORDER BY id", [], |r| {
            Ok(AuditEntry { id: r.get(0)?, recorded_at: r.get(1)?, actor: r.get(2)?, action: r.get(3)?, details: r.get(4)?, prev_hash: r.get(5)?, hash: r.get(6)? })
        })
    }

    /// Walk the audit chain; `Ok(n)` with the number of entries when intact, else the first
    /// broken link.
    pub fn verify_audit(&self) -> Result<Result<usize, BrokenLink>, StoreError> {
        let entries = self.audit_entries()?;
        let mut prev = GENESIS.to_string();
        let mut expected_id = None;
        for e in &entries {
            if let Some(id) = expected_id
                && e.id != id
            {
                return Ok(Err(BrokenLink {
                    id,
                    problem: format!("entry {id} is missing (the next entry is {})", e.id),
                }));
            }
            if e.prev_hash != prev {
                return Ok(Err(BrokenLink { id: e.id, problem: "its predecessor's hash does not match: an earlier entry was changed or removed".into() }));
            }
            let hash = audit_hash(&e.prev_hash, e.recorded_at, &e.actor, &e.action, &e.details);
            if hash != e.hash {
                return Ok(Err(BrokenLink {
                    id: e.id,
                    problem: "its content does not match its hash: the entry was edited".into(),
                }));
            }
            prev = e.hash.clone();
            expected_id = Some(e.id + 1);
        }
        Ok(Ok(entries.len()))
    }

    /// Check every raw record against the SHA-256 taken when it was recorded: Ok(count) or
    /// the first altered record.
    pub fn verify_raw(&self) -> Result<Result<usize, BrokenLink>, StoreError> {
        let rows = self.query_all("SELECT id, data, sha256 FROM raw ORDER BY id", [], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        for (id, data, hash) in &rows {
            if sha256_hex(data.as_bytes()) != *hash {
                return Ok(Err(BrokenLink {
                    id: *id,
                    problem: "its data no longer match the SHA-256 recorded with them (edited behind the database's back)".into(),
                }));
            }
        }
        Ok(Ok(rows.len()))
    }

    /// Runs, newest first.
    pub fn runs(&self) -> Result<Vec<RunSummary>, StoreError> {
        self.query_all(
            "SELECT r.id, r.procedure, r.operator, r.started_at, s.status FROM runs r LEFT JOIN run_stops s ON s.run_id = r.id ORDER BY r.started_at DESC",
            [],
            |r| Ok(RunSummary { id: r.get(0)?, procedure: r.get(1)?, operator: r.get(2)?, started_at: r.get(3)?, status: r.get::<_, Option<String>>(4)?.as_deref().and_then(RunStatus::parse) }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_db(name: &str) -> (Database, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("pvstation-db-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("station.db");
        (Database::open(&path).expect("opens"), path)
    }

    #[test]
    fn audit_chain_detects_edits_and_deletions() {
        let (db, path) = temp_db("audit");
        for k in 0..5 {
            db.audit(
                1.0e9 + k as f64,
                "operator",
                "config.change",
                &format!("{{\"k\":{k}}}"),
            )
            .expect("append");
        }
        assert_eq!(db.verify_audit().expect("reads"), Ok(5));
        // The triggers refuse edits through SQL …
        let err = db
            .connection()
            .execute("UPDATE audit SET actor = 'mallory' WHERE id = 3", [])
            .expect_err("immutable");
        assert!(err.to_string().contains("append-only"), "{err}");
        // … and an edit behind their back breaks the chain at that entry.
        db.connection()
            .execute_batch(
                "DROP TRIGGER audit_no_update; UPDATE audit SET actor = 'mallory' WHERE id = 3;",
            )
            .expect("tamper");
        let broken = db.verify_audit().expect("reads").expect_err("broken");
        assert_eq!(broken.id, 3);
        assert!(broken.problem.contains("edited"));
        drop(db);
        let db = Database::open(&path).expect("reopens");
        db.connection()
            .execute_batch("DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE id = 2;")
            .expect("tamper");
        let broken = db.verify_audit().expect("reads").expect_err("broken");
        assert_eq!(broken.id, 2, "{broken:?}");
    }

    #[test]
    fn raw_observations_are_immutable() {
        let (db, _) = temp_db("raw");
        let c = db.connection();
        c.execute(
            "INSERT INTO runs VALUES ('r1', 'outdoor-pmax', 'h', '{}', 'op', '0.1.0', '{}', 1.0)",
            [],
        )
        .expect("run");
        c.execute("INSERT INTO raw (run_id, kind, data, sha256, recorded_at) VALUES ('r1', 'sweep', '[1,2]', 'x', 1.0)", []).expect("raw");
        assert!(
            c.execute("UPDATE raw SET data = '[3]'", [])
                .expect_err("immutable")
                .to_string()
                .contains("immutable")
        );
        assert!(c.execute("DELETE FROM raw", []).is_err());
        // A correction is a new record pointing at the old one.
        c.execute("INSERT INTO raw (run_id, kind, data, sha256, corrects, recorded_at) VALUES ('r1', 'sweep', '[1,2.5]', 'y', 1, 2.0)", []).expect("correction");
        assert_eq!(db.runs().expect("runs").len(), 1);
    }
}

/// One exchange of the instrument I/O log, as stored with its run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IoEntry {
    /// When [s since epoch].
    pub recorded_at: f64,
    /// Instrument name.
    pub instrument: String,
    /// Resource string.
    pub resource: String,
    /// `write`, `read` or `event`.
    pub direction: String,
    /// Bytes exactly as exchanged.
    pub bytes: Vec<u8>,
}

/// An interruption of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Interruption {
    /// The activity it happened at.
    pub seq: i64,
    /// `unstable_conditions`, `instrument_fault`, `resumed`, …
    pub kind: String,
    /// Details (JSON).
    pub details: String,
    /// When [s since epoch].
    pub recorded_at: f64,
}

/// A raw observation as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RawRecord {
    /// Row id.
    pub id: i64,
    /// The activity it belongs to.
    pub activity_seq: Option<i64>,
    /// Kind (`curve`, `irradiance`, …).
    pub kind: String,
    /// The data (JSON).
    pub data: String,
    /// SHA-256 of `data`, at recording.
    pub sha256: String,
    /// The record it corrects, if a correction.
    pub corrects: Option<i64>,
}

/// What a run records when it starts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunStart {
    /// Run id.
    pub id: String,
    /// Procedure name.
    pub procedure: String,
    /// SHA-256 of the procedure script (a changed script cannot resume the run).
    pub procedure_hash: String,
    /// Parameters (JSON).
    pub parameters: String,
    /// Operator.
    pub operator: String,
    /// Software version.
    pub software_version: String,
    /// Station snapshot (JSON): instruments with identity and profile, reference devices with
    /// their certificates.
    pub station: String,
    /// Start [s since epoch].
    pub started_at: f64,
}

/// A journaled activity: a host call that touched an instrument, the operator, the clock or
/// randomness, with its result, committed before the script saw it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Activity {
    /// Position in call order, from 1.
    pub seq: i64,
    /// Kind (e.g. `sweep`, `read_irradiance`, `prompt`, `now`, `random`).
    pub kind: String,
    /// The call's arguments (JSON).
    pub request: String,
    /// The result the script received (JSON).
    pub result: String,
    /// `ok` or `error`.
    pub status: String,
    /// When [s since epoch].
    pub recorded_at: f64,
}

impl Database {
    /// Record the start of a run (and an audit entry).
    pub fn start_run(&self, run: &RunStart) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO runs (id, procedure, procedure_hash, parameters, operator, software_version, station, started_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![run.id, run.procedure, run.procedure_hash, run.parameters, run.operator, run.software_version, run.station, run.started_at],
            )
            .map_err(|e| self.fail(e))?;
        self.audit(
            run.started_at,
            &run.operator,
            "run.start",
            &format!(
                "{{\"run\":\"{}\",\"procedure\":\"{}\"}}",
                run.id, run.procedure
            ),
        )?;
        Ok(())
    }

    /// Keep a procedure script by its SHA-256 (once), so that every run can be re-executed
    /// against its journal later, whatever happens to the file.
    pub fn store_script(&self, sha256: &str, file: &str, source: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO scripts (sha256, file, source) VALUES (?1, ?2, ?3)",
                params![sha256, file, source],
            )
            .map_err(|e| self.fail(e))?;
        Ok(())
    }

    /// A stored script: (file it came from, source).
    pub fn script(&self, sha256: &str) -> Result<Option<(String, String)>, StoreError> {
        Ok(self
            .query_all(
                "SELECT file, source FROM scripts WHERE sha256 = ?1",
                [sha256],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
            .into_iter()
            .next())
    }

    /// The start record of a run.
    pub fn run_start(&self, id: &str) -> Result<Option<RunStart>, StoreError> {
        self.conn
            .query_row(
                "SELECT id, procedure, procedure_hash, parameters, operator, software_version, station, started_at FROM runs WHERE id = ?1",
                [id],
                |r| {
                    Ok(RunStart {
                        id: r.get(0)?,
                        procedure: r.get(1)?,
                        procedure_hash: r.get(2)?,
                        parameters: r.get(3)?,
                        operator: r.get(4)?,
                        software_version: r.get(5)?,
                        station: r.get(6)?,
                        started_at: r.get(7)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.fail(e))
    }

    /// Journal one activity and its raw data in one durable transaction. The sequence number
    /// must be the next one: a duplicate (a replayed call journaled twice) is refused.
    pub fn journal(
        &self,
        run_id: &str,
        activity: &Activity,
        raw: &[(&str, &str)],
    ) -> Result<(), StoreError> {
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(|e| self.fail(e))?;
        let last: i64 = tx
            .query_row(
                "SELECT COALESCE(MAX(seq), 0) FROM activities WHERE run_id = ?1",
                [run_id],
                |r| r.get(0),
            )
            .map_err(|e| self.fail(e))?;
        if activity.seq != last + 1 {
            return Err(StoreError::Table {
                file: self.path.clone(),
                problem: format!(
                    "run {run_id}: activity {} is out of order (the journal holds {last}); refusing to record it twice or with a gap",
                    activity.seq
                ),
            });
        }
        tx.execute(
            "INSERT INTO activities (run_id, seq, kind, request, result, status, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![run_id, activity.seq, activity.kind, activity.request, activity.result, activity.status, activity.recorded_at],
        )
        .map_err(|e| self.fail(e))?;
        for (kind, data) in raw {
            tx.execute(
                "INSERT INTO raw (run_id, activity_seq, kind, data, sha256, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![run_id, activity.seq, kind, data, sha256_hex(data.as_bytes()), activity.recorded_at],
            )
            .map_err(|e| self.fail(e))?;
        }
        tx.commit().map_err(|e| self.fail(e))
    }

    /// The journal of a run in call order (what a resumed run replays).
    pub fn activities(&self, run_id: &str) -> Result<Vec<Activity>, StoreError> {
        self.query_all("SELECT seq, kind, request, result, status, recorded_at FROM activities WHERE run_id = ?1 ORDER BY seq", [run_id], |r| {
            Ok(Activity { seq: r.get(0)?, kind: r.get(1)?, request: r.get(2)?, result: r.get(3)?, status: r.get(4)?, recorded_at: r.get(5)? })
        })
    }

    /// Append I/O log entries of a run in one transaction.
    pub fn append_io_log(&self, run_id: &str, entries: &[IoEntry]) -> Result<(), StoreError> {
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(|e| self.fail(e))?;
        {
            let mut stmt = tx
                .prepare_cached("INSERT INTO io_log (run_id, recorded_at, instrument, resource, direction, bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
                .map_err(|e| self.fail(e))?;
            for e in entries {
                stmt.execute(params![
                    run_id,
                    e.recorded_at,
                    e.instrument,
                    e.resource,
                    e.direction,
                    e.bytes
                ])
                .map_err(|e| self.fail(e))?;
            }
        }
        tx.commit().map_err(|e| self.fail(e))
    }

    /// How many I/O log entries a run has.
    pub fn io_log_count(&self, run_id: &str) -> Result<usize, StoreError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM io_log WHERE run_id = ?1",
                [run_id],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as usize)
            .map_err(|e| self.fail(e))
    }

    /// The I/O log of a run, in order.
    pub fn io_log(&self, run_id: &str) -> Result<Vec<IoEntry>, StoreError> {
        self.query_all("SELECT recorded_at, instrument, resource, direction, bytes FROM io_log WHERE run_id = ?1 ORDER BY id", [run_id], |r| {
            Ok(IoEntry { recorded_at: r.get(0)?, instrument: r.get(1)?, resource: r.get(2)?, direction: r.get(3)?, bytes: r.get(4)? })
        })
    }

    /// Record how a run stopped.
    pub fn stop_run(
        &self,
        run_id: &str,
        status: RunStatus,
        reason: Option<&str>,
        stopped_at: f64,
        actor: &str,
    ) -> Result<(), StoreError> {
        self.finish_run(run_id, status, reason, stopped_at, actor, &[])
    }

    /// Record a run's results and how it stopped, in one transaction. Results are derived
    /// data: a resumed run recomputes them from the journal, so they are written once, here.
    pub fn finish_run(
        &self,
        run_id: &str,
        status: RunStatus,
        reason: Option<&str>,
        stopped_at: f64,
        actor: &str,
        results: &[(String, String)],
    ) -> Result<(), StoreError> {
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(|e| self.fail(e))?;
        for (name, value) in results {
            tx.execute(
                "INSERT INTO results (run_id, name, value) VALUES (?1, ?2, ?3)",
                params![run_id, name, value],
            )
            .map_err(|e| self.fail(e))?;
        }
        tx.execute(
            "INSERT INTO run_stops (run_id, status, reason, stopped_at) VALUES (?1, ?2, ?3, ?4)",
            params![run_id, status.as_str(), reason, stopped_at],
        )
        .map_err(|e| self.fail(e))?;
        tx.commit().map_err(|e| self.fail(e))?;
        let details =
            serde_json::json!({"run": run_id, "status": status.as_str(), "reason": reason});
        self.audit(stopped_at, actor, "run.stop", &details.to_string())?;
        Ok(())
    }

    /// How a run stopped: (status, reason, time), or None while it has not.
    pub fn run_stop(
        &self,
        run_id: &str,
    ) -> Result<Option<(String, Option<String>, f64)>, StoreError> {
        Ok(self
            .query_all(
                "SELECT status, reason, stopped_at FROM run_stops WHERE run_id = ?1",
                [run_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?
            .into_iter()
            .next())
    }

    /// A run's results (name, JSON value), by name.
    pub fn results(&self, run_id: &str) -> Result<Vec<(String, String)>, StoreError> {
        self.query_all(
            "SELECT name, value FROM results WHERE run_id = ?1 ORDER BY name",
            [run_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// Record an interruption of a run at activity `seq` (a broken stability gate, a lost
    /// connection, a crash). Idempotent per (run, seq, kind): a resumed run that meets the
    /// same interruption again while replaying does not record it twice.
    pub fn record_interruption(
        &self,
        run_id: &str,
        seq: i64,
        kind: &str,
        details: &str,
        at: f64,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO interruptions (run_id, seq, kind, details, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![run_id, seq, kind, details, at],
            )
            .map_err(|e| self.fail(e))?;
        Ok(())
    }

    /// A run's interruptions in order: (seq, kind, details JSON, time).
    pub fn interruptions(&self, run_id: &str) -> Result<Vec<Interruption>, StoreError> {
        self.query_all(
            "SELECT seq, kind, details, recorded_at FROM interruptions WHERE run_id = ?1 ORDER BY id",
            [run_id],
            |r| Ok(Interruption { seq: r.get(0)?, kind: r.get(1)?, details: r.get(2)?, recorded_at: r.get(3)? }),
        )
    }

    /// Raw observations of a run: (id, activity seq, kind, data, sha256).
    pub fn raw(&self, run_id: &str) -> Result<Vec<RawRecord>, StoreError> {
        self.query_all(
            "SELECT id, activity_seq, kind, data, sha256, corrects FROM raw WHERE run_id = ?1 ORDER BY id",
            [run_id],
            |r| Ok(RawRecord { id: r.get(0)?, activity_seq: r.get(1)?, kind: r.get(2)?, data: r.get(3)?, sha256: r.get(4)?, corrects: r.get(5)? }),
        )
    }
}

#[cfg(test)]
mod journal_tests {
    use super::*;

    #[test]
    fn journal_in_order_exactly_once_and_replayable() {
        let dir = std::env::temp_dir().join(format!("pvstation-journal-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let db = Database::open(&dir.join("j.db")).expect("db");
        let start = RunStart {
            id: "run-1".into(),
            procedure: "outdoor-pmax".into(),
            procedure_hash: sha256_hex(b"script"),
            parameters: "{}".into(),
            operator: "li.wei".into(),
            software_version: "0.1.0".into(),
            station: "{}".into(),
            started_at: 1.0,
        };
        db.start_run(&start).expect("start");
        assert_eq!(db.run_start("run-1").expect("read"), Some(start));
        for seq in 1..=3 {
            let a = Activity {
                seq,
                kind: "sweep".into(),
                request: "{}".into(),
                result: format!("{{\"p\":{seq}}}"),
                status: "ok".into(),
                recorded_at: seq as f64,
            };
            db.journal("run-1", &a, &[("curve", "[[0,5],[40,0]]")])
                .expect("journal");
        }
        let dup = Activity {
            seq: 3,
            kind: "sweep".into(),
            request: "{}".into(),
            result: "{}".into(),
            status: "ok".into(),
            recorded_at: 9.0,
        };
        assert!(
            db.journal("run-1", &dup, &[])
                .expect_err("duplicate")
                .to_string()
                .contains("out of order")
        );
        let replay = db.activities("run-1").expect("replay");
        assert_eq!(
            replay.iter().map(|a| a.seq).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        db.stop_run("run-1", RunStatus::Completed, None, 10.0, "li.wei")
            .expect("stop");
        assert_eq!(
            db.runs().expect("runs")[0].status,
            Some(RunStatus::Completed)
        );
        assert_eq!(db.verify_audit().expect("audit"), Ok(2));
    }
}

#[cfg(test)]
mod migration_tests {
    use super::*;

    #[test]
    fn migrations_run_once_and_newer_schemas_are_refused() {
        let dir = std::env::temp_dir().join(format!("pvstation-migrate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("m.db");
        {
            let db = Database::open(&path).expect("creates");
            let v: i64 = db
                .connection()
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .expect("version");
            assert_eq!(v, MIGRATIONS.len() as i64);
        }
        // Reopening applies nothing twice.
        Database::open(&path).expect("reopens");
        {
            let db = Database::open(&path).expect("opens");
            db.connection()
                .pragma_update(None, "user_version", 99i64)
                .expect("set");
        }
        let err = Database::open(&path).expect_err("newer").to_string();
        assert!(
            err.contains("schema version 99") && err.contains("update pvstation"),
            "{err}"
        );
    }
}
