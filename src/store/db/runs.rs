//! Runs and their journal: the start record (with the station snapshot), journaled activities
//! with their raw observations (one durable transaction each, strictly in call order),
//! interruptions, results and how each run stopped, and the procedure scripts kept by hash.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Database, sha256_hex};
use crate::model::RunStatus;
use crate::store::StoreError;

/// A run as `runs list` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    /// Run id.
    pub id: String,
    /// Procedure name or script path.
    pub procedure: String,
    /// Who ran it.
    pub operator: String,
    /// Start [s since epoch].
    pub started_at: f64,
    /// How it stopped; None while running or interrupted.
    pub status: Option<RunStatus>,
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
    /// Who ran it.
    pub operator: String,
    /// `pvstation` version that ran it.
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

/// How a run stopped.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StopRecord {
    /// Completed, failed or aborted.
    pub status: RunStatus,
    /// Why, when not completed.
    pub reason: Option<String>,
    /// When [s since epoch].
    pub stopped_at: f64,
}

/// A stored run status; text the schema does not know is an error, not a silent None.
fn run_status(text: String) -> rusqlite::Result<RunStatus> {
    RunStatus::parse(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("unknown run status `{text}`").into(),
        )
    })
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

    /// How a run stopped, or None while it has not.
    pub fn run_stop(&self, run_id: &str) -> Result<Option<StopRecord>, StoreError> {
        Ok(self
            .query_all(
                "SELECT status, reason, stopped_at FROM run_stops WHERE run_id = ?1",
                [run_id],
                |r| {
                    Ok(StopRecord {
                        status: run_status(r.get(0)?)?,
                        reason: r.get(1)?,
                        stopped_at: r.get(2)?,
                    })
                },
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

impl Database {
    /// Runs, newest first.
    pub fn runs(&self) -> Result<Vec<RunSummary>, StoreError> {
        self.query_all(
            "SELECT r.id, r.procedure, r.operator, r.started_at, s.status FROM runs r LEFT JOIN run_stops s ON s.run_id = r.id ORDER BY r.started_at DESC",
            [],
            |r| Ok(RunSummary { id: r.get(0)?, procedure: r.get(1)?, operator: r.get(2)?, started_at: r.get(3)?, status: r.get::<_, Option<String>>(4)?.map(run_status).transpose()? }),
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
        db.finish_run("run-1", RunStatus::Completed, None, 10.0, "li.wei", &[])
            .expect("stop");
        assert_eq!(
            db.runs().expect("runs")[0].status,
            Some(RunStatus::Completed)
        );
        assert_eq!(db.verify_audit().expect("audit"), Ok(2));
    }
}
