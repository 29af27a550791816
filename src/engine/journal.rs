//! The journal recorder: live activities are committed before their results are returned;
//! on resume, journaled activities replay their stored results.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::EngineError;
use crate::model::SharedClock;
use crate::store::db::{Activity, Database, RunStart};

/// Records (live) or replays (resumed) the activities of one run.
pub struct Recorder {
    db: Database,
    run_id: String,
    journal: Vec<Activity>,
    next_seq: i64,
    clock: SharedClock,
    /// Verification: replay only, never go live.
    replay_only: bool,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("run_id", &self.run_id)
            .field("journaled", &self.journal.len())
            .field("next_seq", &self.next_seq)
            .finish()
    }
}

impl Recorder {
    /// Start a new run.
    pub fn start(
        db: Database,
        start: &RunStart,
        clock: SharedClock,
    ) -> Result<Recorder, EngineError> {
        db.start_run(start)?;
        Ok(Recorder {
            db,
            run_id: start.id.clone(),
            journal: Vec::new(),
            next_seq: 1,
            clock,
            replay_only: false,
        })
    }

    /// Resume an interrupted run of the procedure whose script hashes to `procedure_hash`.
    pub fn resume(
        db: Database,
        run_id: &str,
        procedure_hash: &str,
        clock: SharedClock,
    ) -> Result<Recorder, EngineError> {
        let cannot = |problem: String| EngineError::CannotResume {
            run: run_id.to_string(),
            problem,
        };
        let start = db
            .run_start(run_id)?
            .ok_or_else(|| cannot("no such run in this database".into()))?;
        if start.procedure_hash != procedure_hash {
            return Err(cannot(format!(
                "the procedure `{}` changed since the run started (script hash {} then, {} now); start a new run",
                start.procedure, start.procedure_hash, procedure_hash
            )));
        }
        if let Some(stopped) = db
            .runs()?
            .into_iter()
            .find(|r| r.id == run_id)
            .and_then(|r| r.status)
        {
            return Err(cannot(format!("the run already stopped ({stopped})")));
        }
        let journal = db.activities(run_id)?;
        Ok(Recorder {
            db,
            run_id: run_id.to_string(),
            journal,
            next_seq: 1,
            clock,
            replay_only: false,
        })
    }

    /// Replay a run's whole journal to re-execute its procedure without any instrument (the
    /// verification of reported results): every activity must come from the journal.
    pub fn verify(db: Database, run_id: &str, clock: SharedClock) -> Result<Recorder, EngineError> {
        let journal = db.activities(run_id)?;
        Ok(Recorder {
            db,
            run_id: run_id.to_string(),
            journal,
            next_seq: 1,
            clock,
            replay_only: true,
        })
    }

    /// The run id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The database.
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// Number of the next activity.
    pub fn next_seq(&self) -> i64 {
        self.next_seq
    }

    /// Number of journaled activities this recorder replays.
    pub fn journaled(&self) -> usize {
        self.journal.len()
    }

    /// Now, by the run's clock [s since epoch].
    pub fn now(&self) -> f64 {
        self.clock.now()
    }

    /// Whether the next activity comes from the journal.
    pub fn replaying(&self) -> bool {
        (self.next_seq as usize) <= self.journal.len()
    }

    /// Perform an activity: from the journal when resuming, otherwise live — `live` (given
    /// the database, e.g. for the audit trail) returns the result and the raw data to store
    /// with it, and the result is committed before it is
    /// returned. A live failure is journaled too, so a resumed run meets the same failure.
    pub fn activity<T, F>(
        &mut self,
        kind: &str,
        request: &serde_json::Value,
        live: F,
    ) -> Result<T, EngineError>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce(&Database) -> Result<(T, Vec<(String, String)>), String>,
    {
        let seq = self.next_seq;
        let request_text = request.to_string();
        if let Some(a) = self.journal.get(seq as usize - 1) {
            if a.kind != kind || a.request != request_text {
                return Err(EngineError::Diverged {
                    run: self.run_id.clone(),
                    seq,
                    journaled: format!("{} {}", a.kind, a.request),
                    requested: format!("{kind} {request_text}"),
                });
            }
            self.next_seq += 1;
            if a.status != "ok" {
                return Err(EngineError::ActivityFailed {
                    seq,
                    kind: kind.into(),
                    message: a.result.clone(),
                });
            }
            return serde_json::from_str(&a.result).map_err(|e| EngineError::ActivityFailed {
                seq,
                kind: kind.into(),
                message: format!("journaled result unreadable: {e}"),
            });
        }
        if self.replay_only {
            return Err(EngineError::ActivityFailed {
                seq,
                kind: kind.into(),
                message: format!(
                    "verification replay: the journal ends at activity {}; the procedure asks for more (was the run completed?)",
                    self.journal.len()
                ),
            });
        }
        let outcome = live(&self.db);
        let recorded_at = self.clock.now();
        let (status, result, raw, value) = match outcome {
            Ok((value, raw)) => {
                let fail = |e: serde_json::Error| EngineError::ActivityFailed {
                    seq,
                    kind: kind.into(),
                    message: e.to_string(),
                };
                let text = serde_json::to_string(&value).map_err(fail)?;
                // The script sees the value as journaled (read back), so a live run, a resumed
                // one and a verification compute from bit-identical inputs.
                let value: T = serde_json::from_str(&text).map_err(fail)?;
                ("ok", text, raw, Some(value))
            }
            Err(message) => ("error", message, Vec::new(), None),
        };
        let activity = Activity {
            seq,
            kind: kind.into(),
            request: request_text,
            result: result.clone(),
            status: status.into(),
            recorded_at,
        };
        let raw_refs: Vec<(&str, &str)> =
            raw.iter().map(|(k, d)| (k.as_str(), d.as_str())).collect();
        self.db.journal(&self.run_id, &activity, &raw_refs)?;
        self.next_seq += 1;
        match value {
            Some(v) => Ok(v),
            None => Err(EngineError::ActivityFailed {
                seq,
                kind: kind.into(),
                message: result,
            }),
        }
    }

    /// Record the results and how the run stopped.
    pub fn stop(
        &self,
        status: crate::model::RunStatus,
        reason: Option<&str>,
        actor: &str,
        results: &[(String, String)],
    ) -> Result<(), EngineError> {
        Ok(self.db.finish_run(
            &self.run_id,
            status,
            reason,
            self.clock.now(),
            actor,
            results,
        )?)
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::store::db::sha256_hex;

    struct Fixed;
    impl crate::model::Clock for Fixed {
        fn now(&self) -> f64 {
            1.0
        }
    }

    fn clock() -> SharedClock {
        std::sync::Arc::new(Fixed)
    }

    /// A fresh database file; reopen it with `Database::open` to simulate a restart.
    fn db_path(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("pvstation-engine-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        dir.join("e.db")
    }

    fn open(path: &std::path::Path) -> Database {
        Database::open(path).expect("db")
    }

    fn start(id: &str, script: &[u8]) -> RunStart {
        RunStart {
            id: id.into(),
            procedure: "test".into(),
            procedure_hash: sha256_hex(script),
            parameters: "{}".into(),
            operator: "op".into(),
            software_version: "0".into(),
            station: "{}".into(),
            started_at: 0.0,
        }
    }

    /// A procedure of five "measurements"; `crash_after` simulates the process dying after
    /// that many activities.
    fn procedure(
        rec: &mut Recorder,
        live_calls: &AtomicUsize,
        crash_after: Option<usize>,
    ) -> Result<f64, EngineError> {
        let mut total = 0.0;
        for k in 0..5 {
            if crash_after == Some(k) {
                return Ok(f64::NAN);
            }
            let v: f64 = rec.activity("measure", &serde_json::json!({"k": k}), |_| {
                live_calls.fetch_add(1, Ordering::SeqCst);
                Ok((
                    k as f64 * 1.5,
                    vec![("reading".to_string(), format!("[{k}]"))],
                ))
            })?;
            total += v;
        }
        Ok(total)
    }

    #[test]
    fn resume_replays_journaled_activities_exactly_once() {
        let path = db_path("resume");
        let live = AtomicUsize::new(0);
        let mut rec =
            Recorder::start(open(&path), &start("r", b"script v1"), clock()).expect("start");
        procedure(&mut rec, &live, Some(3)).expect("partial");
        assert_eq!(live.load(Ordering::SeqCst), 3);
        drop(rec);
        let mut rec =
            Recorder::resume(open(&path), "r", &sha256_hex(b"script v1"), clock()).expect("resume");
        assert!(rec.replaying());
        let total = procedure(&mut rec, &live, None).expect("complete");
        assert_eq!(total, 1.5 * (0.0 + 1.0 + 2.0 + 3.0 + 4.0));
        assert_eq!(
            live.load(Ordering::SeqCst),
            5,
            "each measurement happened once"
        );
        assert_eq!(rec.db().activities("r").expect("journal").len(), 5);
        rec.stop(
            crate::model::RunStatus::Completed,
            None,
            "op",
            &[("total".into(), "15".into())],
        )
        .expect("stop");
        assert_eq!(
            rec.db().results("r").expect("results"),
            vec![("total".to_string(), "15".to_string())]
        );
        let err = Recorder::resume(open(&path), "r", &sha256_hex(b"script v1"), clock())
            .expect_err("stopped");
        assert!(
            err.to_string().contains("already stopped (completed)"),
            "{err}"
        );
    }

    #[test]
    fn changed_scripts_and_diverging_procedures_are_refused() {
        let path = db_path("refuse");
        let live = AtomicUsize::new(0);
        let mut rec = Recorder::start(open(&path), &start("r", b"v1"), clock()).expect("start");
        procedure(&mut rec, &live, Some(2)).expect("partial");
        let err =
            Recorder::resume(open(&path), "r", &sha256_hex(b"v2"), clock()).expect_err("changed");
        assert!(
            err.to_string().contains("changed since the run started"),
            "{err}"
        );
        let mut rec =
            Recorder::resume(open(&path), "r", &sha256_hex(b"v1"), clock()).expect("resume");
        let err = rec
            .activity::<f64, _>("measure", &serde_json::json!({"k": 7}), |_| {
                Ok((0.0, vec![]))
            })
            .expect_err("diverges");
        assert!(matches!(err, EngineError::Diverged { seq: 1, .. }), "{err}");
    }

    #[test]
    fn failures_are_journaled_and_replayed() {
        let path = db_path("fail");
        let mut rec = Recorder::start(open(&path), &start("r", b"v1"), clock()).expect("start");
        let err = rec
            .activity::<f64, _>("sweep", &serde_json::json!({}), |_| {
                Err("smu: no reply to `*OPC?`".to_string())
            })
            .expect_err("fails");
        assert!(err.to_string().contains("no reply"), "{err}");
        let mut rec =
            Recorder::resume(open(&path), "r", &sha256_hex(b"v1"), clock()).expect("resume");
        let err = rec
            .activity::<f64, _>("sweep", &serde_json::json!({}), |_| Ok((1.0, vec![])))
            .expect_err("replayed failure");
        assert!(err.to_string().contains("no reply"), "{err}");
    }
}
