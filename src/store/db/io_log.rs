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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::db::{scratch, scratch_run};

    #[test]
    fn exchanges_come_back_byte_for_byte_in_order_and_stay() {
        let db = scratch("io-log");
        scratch_run(&db, "run-1", 1.0);
        let entry = |t: f64, direction: &str, bytes: &[u8]| IoEntry {
            recorded_at: t,
            instrument: "smu".into(),
            resource: "TCPIP::127.0.0.1::5025::SOCKET".into(),
            direction: direction.into(),
            bytes: bytes.to_vec(),
        };
        let first = vec![
            entry(1.5, "write", b":READ?\n"),
            entry(1.25, "read", b"#15\xff\x00\r\n\x80\n"),
        ];
        db.append_io_log("run-1", &first).expect("append");
        db.append_io_log("run-1", &[entry(0.5, "event", b"reconnect")])
            .expect("append");
        let log = db.io_log("run-1").expect("read");
        // Stored order, not time order: the log is what happened on the line, as it happened.
        assert_eq!(log[..2], first[..]);
        assert_eq!(log[2].bytes, b"reconnect");
        assert_eq!(db.io_log_count("run-1").expect("count"), 3);
        assert_eq!(db.io_log_count("run-2").expect("count"), 0);
        let err = db
            .connection()
            .execute("UPDATE io_log SET bytes = x'00'", [])
            .expect_err("append-only");
        assert!(err.to_string().contains("append-only"), "{err}");
    }
}
