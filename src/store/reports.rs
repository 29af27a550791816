//! Issued reports: unique sequential certificate numbers, revisions that point at the report
//! they replace (never an overwrite), and the SHA-256 of every file issued.

use rusqlite::params;
use serde::Serialize;

use super::StoreError;
use super::db::Database;

/// An issued report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IssuedReport {
    /// Certificate number (`PVS-YYYY-NNNN`, with `-Rn` for revision n ≥ 1).
    pub number: String,
    /// The run it reports.
    pub run_id: String,
    /// Revision, from 0.
    pub revision: i64,
    /// The number of the report this one replaces.
    pub previous: Option<String>,
    /// Issued [s since epoch].
    pub issued_at: f64,
    /// By whom.
    pub issued_by: String,
    /// Report metadata (customer, item, signatory, …; JSON).
    pub metadata: String,
    /// File name → SHA-256 (JSON).
    pub files: String,
}

impl Database {
    /// The next certificate number for `year` and the revision state of `run_id`:
    /// (number, revision, previous number). A run reported before gets a new revision of
    /// its latest report; otherwise the year's next sequence number after `prefix` (the
    /// station's `number_prefix`, default `PVS`).
    pub fn next_report_number(
        &self,
        run_id: &str,
        year: i32,
        prefix: &str,
    ) -> Result<(String, i64, Option<String>), StoreError> {
        let latest = self
            .reports()?
            .into_iter()
            .filter(|r| r.run_id == run_id)
            .max_by_key(|r| r.revision);
        if let Some(prev) = latest {
            let base = prev
                .number
                .split("-R")
                .next()
                .unwrap_or(&prev.number)
                .to_string();
            let revision = prev.revision + 1;
            return Ok((format!("{base}-R{revision}"), revision, Some(prev.number)));
        }
        let prefix = format!("{prefix}-{year}-");
        let n = self
            .reports()?
            .iter()
            .filter(|r| r.revision == 0 && r.number.starts_with(&prefix))
            .count();
        Ok((format!("{prefix}{:04}", n + 1), 0, None))
    }

    /// Record an issued report (and an audit entry).
    pub fn record_report(&self, r: &IssuedReport) -> Result<(), StoreError> {
        self.connection()
            .execute(
                "INSERT INTO reports (number, run_id, revision, previous, issued_at, issued_by, metadata, files) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![r.number, r.run_id, r.revision, r.previous, r.issued_at, r.issued_by, r.metadata, r.files],
            )
            .map_err(|e| self.fail(e))?;
        let details = serde_json::json!({"report": r.number, "run": r.run_id, "revision": r.revision,
            "previous": r.previous, "files": serde_json::from_str::<serde_json::Value>(&r.files).unwrap_or_default()});
        self.audit(
            r.issued_at,
            &r.issued_by,
            "report.issue",
            &details.to_string(),
        )?;
        Ok(())
    }

    /// Every issued report, in issue order.
    pub fn reports(&self) -> Result<Vec<IssuedReport>, StoreError> {
        self.query_all(
            "SELECT number, run_id, revision, previous, issued_at, issued_by, metadata, files FROM reports ORDER BY id",
            [],
            |r| {
                Ok(IssuedReport {
                    number: r.get(0)?,
                    run_id: r.get(1)?,
                    revision: r.get(2)?,
                    previous: r.get(3)?,
                    issued_at: r.get(4)?,
                    issued_by: r.get(5)?,
                    metadata: r.get(6)?,
                    files: r.get(7)?,
                })
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Date;

    fn issue(db: &Database, run: &str, at: f64) -> String {
        let (number, revision, previous) = db
            .next_report_number(run, Date::from_unix_seconds(at).year, "PVS")
            .expect("number");
        db.record_report(&IssuedReport {
            number: number.clone(),
            run_id: run.into(),
            revision,
            previous,
            issued_at: at,
            issued_by: "li.wei".into(),
            metadata: "{}".into(),
            files: "{}".into(),
        })
        .expect("recorded");
        number
    }

    /// Numbers follow the issue time given (an injected clock), never today's date: the
    /// sequence restarts with the year, and a reissue keeps its original's number.
    #[test]
    fn numbering_across_a_change_of_year() {
        let dir = std::env::temp_dir().join(format!("pvstation-numbers-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let db = Database::open(&dir.join("n.db")).expect("db");
        for run in ["r1", "r2", "r3", "r4"] {
            db.connection()
                .execute(
                    "INSERT INTO runs VALUES (?1, 'p', 'h', '{}', 'op', '0.1.0', '{}', 1.0)",
                    [run],
                )
                .expect("run");
        }
        let new_year =
            Date::parse("2027-01-01").expect("date").days_since_epoch() as f64 * 86_400.0;
        assert_eq!(issue(&db, "r1", new_year - 60.0), "PVS-2026-0001");
        assert_eq!(issue(&db, "r2", new_year - 1.0), "PVS-2026-0002");
        assert_eq!(issue(&db, "r3", new_year), "PVS-2027-0001");
        // A 2026 certificate reissued in 2027 keeps its number with a revision.
        assert_eq!(issue(&db, "r1", new_year + 3600.0), "PVS-2026-0001-R1");
        assert_eq!(issue(&db, "r4", new_year + 7200.0), "PVS-2027-0002");
        assert_eq!(issue(&db, "r1", new_year + 9000.0), "PVS-2026-0001-R2");
    }
}
