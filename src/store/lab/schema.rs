//! The lab store's schema on PostgreSQL, as versioned migrations (the station database's
//! rule: never edit a migration that has shipped; append one). `lab_schema` records how many
//! ran; migrations run under an advisory lock, so two stations syncing at once migrate once.
//!
//! Every table of the station database (lab/tables.rs) is here with two more columns: the
//! station's identity (its UUID, migration 10 of the station database) and the row's rowid in
//! the station's file (`src_rowid`: append-only tables only grow, so "rows above the highest
//! one copied" is exactly what the lab store lacks). Immutable tables carry each row's SHA-256
//! (`row_sha256`, lab/tables.rs `row_hash`) and refuse UPDATE, DELETE and TRUNCATE by trigger.

/// Migrations, applied in order.
pub const MIGRATIONS: [&str; 1] = [r#"
CREATE TABLE stations (
    uuid TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    first_synced DOUBLE PRECISION NOT NULL
);
CREATE FUNCTION pvstation_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'lab store table %: rows are immutable (append-only, as in the station database)', TG_TABLE_NAME;
END
$$;
CREATE TABLE runs (
    station_uuid TEXT NOT NULL REFERENCES stations(uuid),
    src_rowid BIGINT NOT NULL,
    id TEXT NOT NULL,
    procedure TEXT NOT NULL,
    procedure_hash TEXT NOT NULL,
    parameters TEXT NOT NULL,
    operator TEXT NOT NULL,
    software_version TEXT NOT NULL,
    station TEXT NOT NULL,
    started_at DOUBLE PRECISION NOT NULL,
    row_sha256 TEXT NOT NULL,
    PRIMARY KEY (station_uuid, src_rowid),
    UNIQUE (station_uuid, id)
);
CREATE TRIGGER runs_immutable BEFORE UPDATE OR DELETE ON runs FOR EACH ROW EXECUTE FUNCTION pvstation_refuse();
CREATE TRIGGER runs_no_truncate BEFORE TRUNCATE ON runs FOR EACH STATEMENT EXECUTE FUNCTION pvstation_refuse();
CREATE TABLE scripts (
    station_uuid TEXT NOT NULL REFERENCES stations(uuid),
    src_rowid BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    file TEXT NOT NULL,
    source TEXT NOT NULL,
    row_sha256 TEXT NOT NULL,
    PRIMARY KEY (station_uuid, src_rowid),
    UNIQUE (station_uuid, sha256)
);
CREATE TRIGGER scripts_immutable BEFORE UPDATE OR DELETE ON scripts FOR EACH ROW EXECUTE FUNCTION pvstation_refuse();
CREATE TRIGGER scripts_no_truncate BEFORE TRUNCATE ON scripts FOR EACH STATEMENT EXECUTE FUNCTION pvstation_refuse();
CREATE TABLE activities (
    station_uuid TEXT NOT NULL REFERENCES stations(uuid),
    src_rowid BIGINT NOT NULL,
    run_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    request TEXT NOT NULL,
    result TEXT NOT NULL,
    status TEXT NOT NULL,
    recorded_at DOUBLE PRECISION NOT NULL,
    row_sha256 TEXT NOT NULL,
    PRIMARY KEY (station_uuid, src_rowid),
    UNIQUE (station_uuid, run_id, seq),
    FOREIGN KEY (station_uuid, run_id) REFERENCES runs (station_uuid, id)
);
CREATE TRIGGER activities_immutable BEFORE UPDATE OR DELETE ON activities FOR EACH ROW EXECUTE FUNCTION pvstation_refuse();
CREATE TRIGGER activities_no_truncate BEFORE TRUNCATE ON activities FOR EACH STATEMENT EXECUTE FUNCTION pvstation_refuse();
CREATE TABLE raw (
    station_uuid TEXT NOT NULL REFERENCES stations(uuid),
    src_rowid BIGINT NOT NULL,
    id BIGINT NOT NULL,
    run_id TEXT NOT NULL,
    activity_seq BIGINT,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    corrects BIGINT,
    recorded_at DOUBLE PRECISION NOT NULL,
    row_sha256 TEXT NOT NULL,
    PRIMARY KEY (station_uuid, src_rowid),
    UNIQUE (station_uuid, id),
    FOREIGN KEY (station_uuid, run_id) REFERENCES runs (station_uuid, id)
);
CREATE TRIGGER raw_immutable BEFORE UPDATE OR DELETE ON raw FOR EACH ROW EXECUTE FUNCTION pvstation_refuse();
CREATE TRIGGER raw_no_truncate BEFORE TRUNCATE ON raw FOR EACH STATEMENT EXECUTE FUNCTION pvstation_refuse();
CREATE TABLE io_log (
    station_uuid TEXT NOT NULL REFERENCES stations(uuid),
    src_rowid BIGINT NOT NULL,
    id BIGINT NOT NULL,
    run_id TEXT NOT NULL,
    recorded_at DOUBLE PRECISION NOT NULL,
    instrument TEXT NOT NULL,
    resource TEXT NOT NULL,
    direction TEXT NOT NULL,
    bytes BYTEA NOT NULL,
    row_sha256 TEXT NOT NULL,
    PRIMARY KEY (station_uuid, src_rowid),
    UNIQUE (station_uuid, id),
    FOREIGN KEY (station_uuid, run_id) REFERENCES runs (station_uuid, id)
);
CREATE TRIGGER io_log_immutable BEFORE UPDATE OR DELETE ON io_log FOR EACH ROW EXECUTE FUNCTION pvstation_refuse();
CREATE TRIGGER io_log_no_truncate BEFORE TRUNCATE ON io_log FOR EACH STATEMENT EXECUTE FUNCTION pvstation_refuse();
CREATE TABLE interruptions (
    station_uuid TEXT NOT NULL REFERENCES stations(uuid),
    src_rowid BIGINT NOT NULL,
    id BIGINT NOT NULL,
    run_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    details TEXT NOT NULL,
    recorded_at DOUBLE PRECISION NOT NULL,
    row_sha256 TEXT NOT NULL,
    PRIMARY KEY (station_uuid, src_rowid),
    UNIQUE (station_uuid, id),
    FOREIGN KEY (station_uuid, run_id) REFERENCES runs (station_uuid, id)
);
CREATE TRIGGER interruptions_immutable BEFORE UPDATE OR DELETE ON interruptions FOR EACH ROW EXECUTE FUNCTION pvstation_refuse();
CREATE TRIGGER interruptions_no_truncate BEFORE TRUNCATE ON interruptions FOR EACH STATEMENT EXECUTE FUNCTION pvstation_refuse();
CREATE TABLE results (
    station_uuid TEXT NOT NULL REFERENCES stations(uuid),
    src_rowid BIGINT NOT NULL,
    run_id TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    row_sha256 TEXT NOT NULL,
    PRIMARY KEY (station_uuid, src_rowid),
    UNIQUE (station_uuid, run_id, name),
    FOREIGN KEY (station_uuid, run_id) REFERENCES runs (station_uuid, id)
);
CREATE TRIGGER results_immutable BEFORE UPDATE OR DELETE ON results FOR EACH ROW EXECUTE FUNCTION pvstation_refuse();
CREATE TRIGGER results_no_truncate BEFORE TRUNCATE ON results FOR EACH STATEMENT EXECUTE FUNCTION pvstation_refuse();
CREATE TABLE run_stops (
    station_uuid TEXT NOT NULL REFERENCES stations(uuid),
    src_rowid BIGINT NOT NULL,
    run_id TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    stopped_at DOUBLE PRECISION NOT NULL,
    row_sha256 TEXT NOT NULL,
    PRIMARY KEY (station_uuid, src_rowid),
    UNIQUE (station_uuid, run_id),
    FOREIGN KEY (station_uuid, run_id) REFERENCES runs (station_uuid, id)
);
CREATE TRIGGER run_stops_immutable BEFORE UPDATE OR DELETE ON run_stops FOR EACH ROW EXECUTE FUNCTION pvstation_refuse();
CREATE TRIGGER run_stops_no_truncate BEFORE TRUNCATE ON run_stops FOR EACH STATEMENT EXECUTE FUNCTION pvstation_refuse();
CREATE TABLE reference_certificates (
    station_uuid TEXT NOT NULL REFERENCES stations(uuid),
    src_rowid BIGINT NOT NULL,
    certificate TEXT NOT NULL,
    reference_id TEXT NOT NULL,
    record TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    first_seen DOUBLE PRECISION NOT NULL,
    row_sha256 TEXT NOT NULL,
    PRIMARY KEY (station_uuid, src_rowid),
    UNIQUE (station_uuid, certificate, sha256)
);
CREATE TRIGGER reference_certificates_immutable BEFORE UPDATE OR DELETE ON reference_certificates FOR EACH ROW EXECUTE FUNCTION pvstation_refuse();
CREATE TRIGGER reference_certificates_no_truncate BEFORE TRUNCATE ON reference_certificates FOR EACH STATEMENT EXECUTE FUNCTION pvstation_refuse();
CREATE TABLE run_references (
    station_uuid TEXT NOT NULL REFERENCES stations(uuid),
    src_rowid BIGINT NOT NULL,
    run_id TEXT NOT NULL,
    reference_id TEXT NOT NULL,
    certificate TEXT NOT NULL,
    row_sha256 TEXT NOT NULL,
    PRIMARY KEY (station_uuid, src_rowid),
    UNIQUE (station_uuid, run_id, reference_id),
    FOREIGN KEY (station_uuid, run_id) REFERENCES runs (station_uuid, id)
);
CREATE TRIGGER run_references_immutable BEFORE UPDATE OR DELETE ON run_references FOR EACH ROW EXECUTE FUNCTION pvstation_refuse();
CREATE TRIGGER run_references_no_truncate BEFORE TRUNCATE ON run_references FOR EACH STATEMENT EXECUTE FUNCTION pvstation_refuse();
CREATE TABLE reports (
    station_uuid TEXT NOT NULL REFERENCES stations(uuid),
    src_rowid BIGINT NOT NULL,
    id BIGINT NOT NULL,
    number TEXT NOT NULL,
    run_id TEXT NOT NULL,
    revision BIGINT NOT NULL,
    previous TEXT,
    issued_at DOUBLE PRECISION NOT NULL,
    issued_by TEXT NOT NULL,
    metadata TEXT NOT NULL,
    files TEXT NOT NULL,
    row_sha256 TEXT NOT NULL,
    PRIMARY KEY (station_uuid, src_rowid),
    UNIQUE (station_uuid, id),
    FOREIGN KEY (station_uuid, run_id) REFERENCES runs (station_uuid, id)
);
CREATE TRIGGER reports_immutable BEFORE UPDATE OR DELETE ON reports FOR EACH ROW EXECUTE FUNCTION pvstation_refuse();
CREATE TRIGGER reports_no_truncate BEFORE TRUNCATE ON reports FOR EACH STATEMENT EXECUTE FUNCTION pvstation_refuse();
CREATE TABLE audit (
    station_uuid TEXT NOT NULL REFERENCES stations(uuid),
    src_rowid BIGINT NOT NULL,
    id BIGINT NOT NULL,
    recorded_at DOUBLE PRECISION NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    row_sha256 TEXT NOT NULL,
    PRIMARY KEY (station_uuid, src_rowid),
    UNIQUE (station_uuid, id)
);
CREATE TRIGGER audit_immutable BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION pvstation_refuse();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit FOR EACH STATEMENT EXECUTE FUNCTION pvstation_refuse();
CREATE TABLE queue (
    station_uuid TEXT NOT NULL REFERENCES stations(uuid),
    src_rowid BIGINT NOT NULL,
    id BIGINT NOT NULL,
    position BIGINT NOT NULL,
    procedure TEXT NOT NULL,
    sets TEXT NOT NULL,
    answers TEXT NOT NULL,
    station TEXT,
    not_before DOUBLE PRECISION,
    time_window TEXT,
    added_at DOUBLE PRECISION NOT NULL,
    added_by TEXT NOT NULL,
    status TEXT NOT NULL,
    run_id TEXT,
    started_wall DOUBLE PRECISION,
    finished_wall DOUBLE PRECISION,
    PRIMARY KEY (station_uuid, src_rowid),
    UNIQUE (station_uuid, id)
);
-- Every report number once in the laboratory: a second station issuing a number already
-- issued elsewhere is refused at sync, naming both (certificate numbering, see lab/mod.rs).
CREATE UNIQUE INDEX reports_number ON reports (number);
CREATE INDEX run_references_certificate ON run_references (certificate);
CREATE INDEX reports_run ON reports (station_uuid, run_id);
CREATE INDEX runs_started ON runs (started_at);
-- One row per sync: what the station held at its snapshot (row counts per table, the audit
-- chain's head), so that rows removed behind the rules are found by `lab audit verify`.
CREATE TABLE syncs (
    id BIGSERIAL PRIMARY KEY,
    station_uuid TEXT NOT NULL REFERENCES stations(uuid),
    started_at DOUBLE PRECISION NOT NULL,
    finished_at DOUBLE PRECISION NOT NULL,
    copied TEXT NOT NULL,
    counts TEXT NOT NULL,
    audit_head TEXT NOT NULL,
    software_version TEXT NOT NULL
);
CREATE TRIGGER syncs_immutable BEFORE UPDATE OR DELETE ON syncs FOR EACH ROW EXECUTE FUNCTION pvstation_refuse();
"#];
