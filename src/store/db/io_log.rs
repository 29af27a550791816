//! The instrument I/O log of each run: every byte exchanged, stored with its run after every
//! activity (append-only).

use rusqlite::params;
use serde::Serialize;

use super::Database;
use crate::store::StoreError;

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

impl Database {
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
}
