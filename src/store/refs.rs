//! The references registry in the database: every reference certificate a station file
//! presented when a run started (immutable; a recalibration is a new record), and the
//! references each run actually used — what to recall when a standard turns out faulty.

use rusqlite::params;
use serde::Serialize;

use super::StoreError;
use super::db::{Database, sha256_hex};
use crate::model::RunStatus;

/// A recorded certificate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedCertificate {
    /// Certificate number.
    pub certificate: String,
    /// Reference id in the station file.
    pub reference_id: String,
    /// The reference device with its certificate, as the station file gave it (JSON).
    pub record: String,
    /// SHA-256 of `record`.
    pub sha256: String,
    /// First seen [s since epoch].
    pub first_seen: f64,
}

/// A run that used a reference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunUse {
    /// The run that used the reference.
    pub run_id: String,
    /// Its procedure.
    pub procedure: String,
    /// Start [s since epoch].
    pub started_at: f64,
    /// How it stopped (None: running or interrupted).
    pub status: Option<RunStatus>,
    /// The reference id.
    pub reference_id: String,
}

impl Database {
    /// Record reference certificates `(reference id, certificate number, record JSON)`;
    /// records seen before (same number and content) are kept as they were.
    pub fn record_certificates(
        &self,
        refs: &[(String, String, String)],
        at: f64,
    ) -> Result<(), StoreError> {
        for (id, certificate, record) in refs {
            self.connection()
                .execute(
                    "INSERT OR IGNORE INTO reference_certificates (certificate, reference_id, record, sha256, first_seen) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![certificate, id, record, sha256_hex(record.as_bytes()), at],
                )
                .map_err(|e| self.fail(e))?;
        }
        Ok(())
    }

    /// Link a run to the references it used `(reference id, certificate number)`.
    pub fn link_run_references(
        &self,
        run_id: &str,
        refs: &[(String, String)],
    ) -> Result<(), StoreError> {
        for (id, certificate) in refs {
            self.connection()
                .execute(
                    "INSERT OR IGNORE INTO run_references (run_id, reference_id, certificate) VALUES (?1, ?2, ?3)",
                    params![run_id, id, certificate],
                )
                .map_err(|e| self.fail(e))?;
        }
        Ok(())
    }

    /// Every recorded certificate, by reference and first sight.
    pub fn recorded_certificates(&self) -> Result<Vec<RecordedCertificate>, StoreError> {
        self.query_all(
            "SELECT certificate, reference_id, record, sha256, first_seen FROM reference_certificates ORDER BY reference_id, first_seen",
            [],
            |r| {
                Ok(RecordedCertificate {
                    certificate: r.get(0)?,
                    reference_id: r.get(1)?,
                    record: r.get(2)?,
                    sha256: r.get(3)?,
                    first_seen: r.get(4)?,
                })
            },
        )
    }

    /// Runs that used a certificate (by number), oldest first.
    pub fn runs_using(&self, certificate: &str) -> Result<Vec<RunUse>, StoreError> {
        self.query_all(
            "SELECT r.id, r.procedure, r.started_at, s.status, u.reference_id FROM run_references u JOIN runs r ON r.id = u.run_id LEFT JOIN run_stops s ON s.run_id = r.id WHERE u.certificate = ?1 ORDER BY r.started_at",
            [certificate],
            |r| {
                Ok(RunUse {
                    run_id: r.get(0)?,
                    procedure: r.get(1)?,
                    started_at: r.get(2)?,
                    status: r
                        .get::<_, Option<String>>(3)?
                        .as_deref()
                        .and_then(RunStatus::parse),
                    reference_id: r.get(4)?,
                })
            },
        )
    }

    /// The references a run used `(reference id, certificate)`.
    pub fn run_references(&self, run_id: &str) -> Result<Vec<(String, String)>, StoreError> {
        self.query_all(
            "SELECT reference_id, certificate FROM run_references WHERE run_id = ?1 ORDER BY reference_id",
            [run_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::db::{scratch, scratch_run};

    #[test]
    fn certificates_are_kept_as_first_seen_and_runs_that_used_them_are_found() {
        let db = scratch("refs");
        let cell = |record: &str| {
            (
                "RC-01".to_string(),
                "NIM-PV-2026-0311".to_string(),
                record.to_string(),
            )
        };
        db.record_certificates(&[cell("{\"isc\":0.1402}")], 10.0)
            .expect("record");
        // The same certificate number seen again later keeps its first record.
        db.record_certificates(&[cell("{\"isc\":0.1402}")], 20.0)
            .expect("again");
        let recorded = db.recorded_certificates().expect("list");
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[0].first_seen, 10.0);
        assert_eq!(recorded[0].sha256, sha256_hex(b"{\"isc\":0.1402}"));
        scratch_run(&db, "run-2", 200.0);
        scratch_run(&db, "run-1", 100.0);
        for run in ["run-1", "run-2"] {
            db.link_run_references(run, &[("RC-01".into(), "NIM-PV-2026-0311".into())])
                .expect("link");
        }
        db.finish_run(
            "run-1",
            RunStatus::Failed,
            Some("cloud"),
            150.0,
            "li.wei",
            &[],
        )
        .expect("stop");
        let uses = db.runs_using("NIM-PV-2026-0311").expect("uses");
        let seen: Vec<(&str, Option<RunStatus>)> =
            uses.iter().map(|u| (u.run_id.as_str(), u.status)).collect();
        assert_eq!(
            seen,
            [("run-1", Some(RunStatus::Failed)), ("run-2", None)],
            "oldest first"
        );
        assert!(db.runs_using("OTHER").expect("none").is_empty());
        assert_eq!(
            db.run_references("run-2").expect("refs"),
            [("RC-01".to_string(), "NIM-PV-2026-0311".to_string())]
        );
    }
}
