//! Schema migrations, applied in order; `PRAGMA user_version` records how many ran. Never
//! edit a migration that has shipped: append a new one (older databases are tested:
//! tests/fixtures/schema-v*.db).

/// `PRAGMA application_id` of a pvstation database ("PVST"): tells it apart from any other
/// SQLite file before a single byte is written (migration 8 sets it; older pvstation databases
/// are recognised by their tables).
pub const APPLICATION_ID: i64 = 0x5056_5354;

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran. Never
/// edit a migration that has shipped: append a new one.
pub const MIGRATIONS: [&str; 10] = [
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
    // A run's start (parameters, station snapshot) and its stop are records like the raw data:
    // `runs verify` recomputes from them, so they must not change after the fact either.
    r#"
CREATE TRIGGER runs_no_update BEFORE UPDATE ON runs BEGIN
    SELECT RAISE(ABORT, 'run records are immutable');
END;
CREATE TRIGGER runs_no_delete BEFORE DELETE ON runs BEGIN
    SELECT RAISE(ABORT, 'run records are immutable');
END;
CREATE TRIGGER run_stops_no_update BEFORE UPDATE ON run_stops BEGIN
    SELECT RAISE(ABORT, 'run records are immutable');
END;
CREATE TRIGGER run_stops_no_delete BEFORE DELETE ON run_stops BEGIN
    SELECT RAISE(ABORT, 'run records are immutable');
END;
"#,
    // The station's identity in the laboratory (issue 16): a random UUID (version 4) made once,
    // when the database is created or first migrated; the lab store keys every row it holds
    // by it, so two stations' run ids, raw record numbers and audit chains never mix. A copy
    // of the file is the same station (restore a backup, never clone a station with it).
    r#"
CREATE TABLE station_identity (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    uuid TEXT NOT NULL,
    created_at REAL NOT NULL
);
INSERT INTO station_identity
SELECT 1,
       substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-'
           || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(h, 18, 3) || '-'
           || substr(h, 21, 12),
       unixepoch('subsec')
FROM (SELECT lower(hex(randomblob(16))) AS h);
CREATE TRIGGER station_identity_no_update BEFORE UPDATE ON station_identity BEGIN
    SELECT RAISE(ABORT, 'the station identity is immutable');
END;
CREATE TRIGGER station_identity_no_delete BEFORE DELETE ON station_identity BEGIN
    SELECT RAISE(ABORT, 'the station identity is immutable');
END;
"#,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::db::{Database, scratch, scratch_run};

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

    #[test]
    fn recorded_rows_can_be_neither_changed_nor_deleted() {
        let db = scratch("append-only");
        scratch_run(&db, "run-1", 1.0);
        db.finish_run(
            "run-1",
            crate::model::RunStatus::Completed,
            None,
            2.0,
            "li.wei",
            &[("p_mp_stc".into(), "{\"value\":220.0}".into())],
        )
        .expect("finish");
        for (table, change) in [
            ("results", "UPDATE results SET value = '{}'"),
            ("results", "DELETE FROM results"),
            ("run_stops", "UPDATE run_stops SET status = 'completed'"),
            ("run_stops", "DELETE FROM run_stops"),
            ("runs", "UPDATE runs SET parameters = '{\"sweeps\":1}'"),
            ("runs", "DELETE FROM runs"),
        ] {
            let err = db
                .connection()
                .execute(change, [])
                .expect_err(table)
                .to_string();
            assert!(err.contains("immutable"), "{table}: {err}");
        }
    }
}
