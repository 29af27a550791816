//! The overnight queue: procedures waiting to run, in order, each optionally not before a time
//! and only inside a daily window. Queue items are configuration (not raw data): they change
//! state as they run, and every addition and removal is in the audit trail.

use rusqlite::params;
use serde::Serialize;

use super::StoreError;
use super::db::Database;
use crate::model::QueueStatus;

/// A queue item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueItem {
    /// Item id (`pvstation queue remove ID`).
    pub id: i64,
    /// Order.
    pub position: i64,
    /// Procedure name or script path.
    pub procedure: String,
    /// `--set` pairs.
    pub sets: Vec<(String, String)>,
    /// `--answer` pairs.
    pub answers: Vec<(String, String)>,
    /// Station file (None: the built-in simulated station).
    pub station: Option<String>,
    /// Not before [s since epoch].
    pub not_before: Option<f64>,
    /// Daily window `HH:MM-HH:MM` (local time).
    pub window: Option<String>,
    /// When added [s since epoch].
    pub added_at: f64,
    /// By whom.
    pub added_by: String,
    /// Where it stands.
    pub status: QueueStatus,
    /// The run, once started.
    pub run_id: Option<String>,
    /// Wall-clock start [s since epoch].
    pub started_wall: Option<f64>,
    /// Wall-clock end [s since epoch].
    pub finished_wall: Option<f64>,
}

/// What `queue add` stores.
#[derive(Debug, Clone)]
pub struct NewItem {
    /// Procedure name or script path.
    pub procedure: String,
    /// `--set` pairs.
    pub sets: Vec<(String, String)>,
    /// `--answer` pairs.
    pub answers: Vec<(String, String)>,
    /// Station file.
    pub station: Option<String>,
    /// Not before [s since epoch].
    pub not_before: Option<f64>,
    /// Daily window.
    pub window: Option<String>,
}

const COLUMNS: &str = "id, position, procedure, sets, answers, station, not_before, time_window, added_at, added_by, status, run_id, started_wall, finished_wall";

fn pairs(text: String) -> Vec<(String, String)> {
    serde_json::from_str(&text).unwrap_or_default()
}

fn item(r: &rusqlite::Row) -> rusqlite::Result<QueueItem> {
    Ok(QueueItem {
        id: r.get(0)?,
        position: r.get(1)?,
        procedure: r.get(2)?,
        sets: pairs(r.get(3)?),
        answers: pairs(r.get(4)?),
        station: r.get(5)?,
        not_before: r.get(6)?,
        window: r.get(7)?,
        added_at: r.get(8)?,
        added_by: r.get(9)?,
        status: {
            let text: String = r.get(10)?;
            QueueStatus::parse(&text).ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    10,
                    rusqlite::types::Type::Text,
                    format!("unknown queue status `{text}`").into(),
                )
            })?
        },
        run_id: r.get(11)?,
        started_wall: r.get(12)?,
        finished_wall: r.get(13)?,
    })
}

impl Database {
    /// Append an item to the queue (and the audit trail); returns its id.
    pub fn queue_add(&self, new: &NewItem, at: f64, actor: &str) -> Result<i64, StoreError> {
        let conn = self.connection();
        let position: i64 = conn
            .query_row(
                "SELECT COALESCE(MAX(position), 0) + 1 FROM queue",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.fail(e))?;
        let sets = serde_json::to_string(&new.sets).unwrap_or_default();
        let answers = serde_json::to_string(&new.answers).unwrap_or_default();
        conn.execute(
            "INSERT INTO queue (position, procedure, sets, answers, station, not_before, time_window, added_at, added_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![position, new.procedure, sets, answers, new.station, new.not_before, new.window, at, actor],
        )
        .map_err(|e| self.fail(e))?;
        let id = conn.last_insert_rowid();
        let details = serde_json::json!({"item": id, "procedure": new.procedure, "set": new.sets,
            "not_before": new.not_before, "window": new.window});
        self.audit(at, actor, "queue.add", &details.to_string())?;
        Ok(id)
    }

    /// Queue items in order; `all` includes finished and removed ones.
    pub fn queue_items(&self, all: bool) -> Result<Vec<QueueItem>, StoreError> {
        let filter = if all {
            ""
        } else {
            "WHERE status IN ('pending', 'running')"
        };
        self.query_all(
            &format!("SELECT {COLUMNS} FROM queue {filter} ORDER BY position"),
            [],
            item,
        )
    }

    /// Remove a pending item (it stays in the table as `removed`, and in the audit trail).
    pub fn queue_remove(&self, id: i64, at: f64, actor: &str) -> Result<(), StoreError> {
        let items = self.queue_items(true)?;
        let Some(it) = items.iter().find(|i| i.id == id) else {
            return Err(StoreError::Table {
                file: self.path().to_string(),
                problem: format!("no queue item {id}; `pvstation queue list` shows them"),
            });
        };
        if it.status != QueueStatus::Pending {
            return Err(StoreError::Table {
                file: self.path().to_string(),
                problem: format!(
                    "queue item {id} is {} (run {}); only pending items can be removed",
                    it.status,
                    it.run_id.as_deref().unwrap_or("-")
                ),
            });
        }
        self.connection()
            .execute(
                "UPDATE queue SET status = 'removed' WHERE id = ?1 AND status = 'pending'",
                [id],
            )
            .map_err(|e| self.fail(e))?;
        let details = serde_json::json!({"item": id, "procedure": it.procedure});
        self.audit(at, actor, "queue.remove", &details.to_string())?;
        Ok(())
    }

    /// Move a pending item one place up (`up`) or down among the waiting items (audit trail).
    pub fn queue_move(&self, id: i64, up: bool, at: f64, actor: &str) -> Result<bool, StoreError> {
        let items = self.queue_items(false)?;
        let Some(k) = items.iter().position(|i| i.id == id) else {
            return Ok(false);
        };
        let other = if up { k.checked_sub(1) } else { Some(k + 1) };
        let Some(other) = other.and_then(|o| items.get(o)) else {
            return Ok(false);
        };
        let this = &items[k];
        if this.status != QueueStatus::Pending || other.status != QueueStatus::Pending {
            return Ok(false);
        }
        let tx = self
            .connection()
            .unchecked_transaction()
            .map_err(|e| self.fail(e))?;
        tx.execute(
            "UPDATE queue SET position = ?2 WHERE id = ?1",
            params![this.id, other.position],
        )
        .map_err(|e| self.fail(e))?;
        tx.execute(
            "UPDATE queue SET position = ?2 WHERE id = ?1",
            params![other.id, this.position],
        )
        .map_err(|e| self.fail(e))?;
        tx.commit().map_err(|e| self.fail(e))?;
        let details = serde_json::json!({"item": id, "moved": if up { "up" } else { "down" }});
        self.audit(at, actor, "queue.reorder", &details.to_string())?;
        Ok(true)
    }

    /// The item started (wall time).
    pub fn queue_started(&self, id: i64, wall: f64) -> Result<(), StoreError> {
        self.connection()
            .execute(
                "UPDATE queue SET status = 'running', started_wall = COALESCE(started_wall, ?2) WHERE id = ?1",
                params![id, wall],
            )
            .map_err(|e| self.fail(e))?;
        Ok(())
    }

    /// The item's run id, as soon as the run exists (so that a crash resumes that run).
    pub fn queue_run_id(&self, id: i64, run_id: &str) -> Result<(), StoreError> {
        self.connection()
            .execute(
                "UPDATE queue SET run_id = ?2 WHERE id = ?1",
                params![id, run_id],
            )
            .map_err(|e| self.fail(e))?;
        Ok(())
    }

    /// The item finished.
    pub fn queue_finished(
        &self,
        id: i64,
        status: QueueStatus,
        wall: f64,
    ) -> Result<(), StoreError> {
        self.connection()
            .execute(
                "UPDATE queue SET status = ?2, finished_wall = ?3 WHERE id = ?1",
                params![id, status.as_str(), wall],
            )
            .map_err(|e| self.fail(e))?;
        Ok(())
    }

    /// Mean wall-clock duration of finished queue items of a procedure [s].
    pub fn queue_mean_duration(&self, procedure: &str) -> Result<Option<f64>, StoreError> {
        self.connection()
            .query_row(
                "SELECT AVG(finished_wall - started_wall) FROM queue WHERE procedure = ?1 AND status = 'completed' AND started_wall IS NOT NULL AND finished_wall IS NOT NULL",
                [procedure],
                |r| r.get(0),
            )
            .map_err(|e| self.fail(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_run_in_order_and_only_pending_ones_can_be_removed() {
        let dir = std::env::temp_dir().join(format!("pvstation-queue-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let db = Database::open(&dir.join("q.db")).expect("db");
        let new = |p: &str| NewItem {
            procedure: p.into(),
            sets: vec![("sweeps".into(), "2".into())],
            answers: vec![],
            station: None,
            not_before: None,
            window: Some("20:00-04:00".into()),
        };
        let a = db.queue_add(&new("outdoor-pmax"), 1.0, "op").expect("add");
        let b = db
            .queue_add(&new("bit-calibration"), 2.0, "op")
            .expect("add");
        let items = db.queue_items(false).expect("items");
        assert_eq!(items.iter().map(|i| i.id).collect::<Vec<_>>(), vec![a, b]);
        assert_eq!(items[0].sets, vec![("sweeps".to_string(), "2".to_string())]);
        db.queue_started(a, 10.0).expect("start");
        db.queue_run_id(a, "R1").expect("run id");
        let err = db.queue_remove(a, 11.0, "op").expect_err("running");
        assert!(err.to_string().contains("only pending"), "{err}");
        db.queue_finished(a, QueueStatus::Completed, 70.0)
            .expect("finish");
        assert_eq!(
            db.queue_mean_duration("outdoor-pmax").expect("eta"),
            Some(60.0)
        );
        let c = db
            .queue_add(&new("reference-check"), 3.0, "op")
            .expect("add");
        assert!(db.queue_move(c, true, 4.0, "op").expect("move"));
        let order: Vec<i64> = db
            .queue_items(false)
            .expect("items")
            .iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(order, vec![c, b], "the finished item left; c before b now");
        assert!(
            !db.queue_move(c, true, 4.0, "op").expect("top"),
            "already first"
        );
        db.queue_remove(b, 12.0, "op").expect("remove");
        assert_eq!(db.queue_items(false).expect("items").len(), 1);
        assert_eq!(db.queue_items(true).expect("all").len(), 3);
        assert_eq!(db.verify_audit().expect("audit"), Ok(5));
    }
}
