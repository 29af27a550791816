//! The I/O log: every byte exchanged with every instrument, with time and direction.
//!
//! Runs store it (ISO/IEC 17025 7.5: original observations recorded at the time they are
//! made); operators read it when a bench misbehaves. The log is shared by all sessions of a
//! station and drained by whoever persists it.

use std::sync::{Arc, Mutex};

use serde::Serialize;

/// Direction or kind of a log record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Host to instrument.
    Write,
    /// Instrument to host.
    Read,
    /// A connection event (connect, disconnect, timeout), text in `bytes`.
    Event,
}

/// One exchange.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IoRecord {
    /// Seconds since the Unix epoch [s].
    pub time: f64,
    /// Instrument name from the station file.
    pub instrument: String,
    /// Resource string.
    pub resource: String,
    /// Sent to or received from the instrument.
    pub direction: Direction,
    /// Bytes exactly as sent or received (terminators included).
    #[serde(serialize_with = "escaped")]
    pub bytes: Vec<u8>,
}

fn escaped<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&escape(bytes))
}

/// Printable form of bytes: ASCII kept, `\r`, `\n`, `\t` and others escaped.
pub fn escape(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

/// Shared, append-only I/O log. Cloning shares the same log.
#[derive(Debug, Clone, Default)]
pub struct IoLog {
    records: Arc<Mutex<Vec<IoRecord>>>,
    enabled: bool,
}

impl IoLog {
    /// A recording log.
    pub fn new() -> Self {
        IoLog {
            records: Arc::default(),
            enabled: true,
        }
    }

    /// A log that records nothing (benchmarks).
    pub fn disabled() -> Self {
        IoLog::default()
    }

    /// Append a record.
    pub fn push(&self, instrument: &str, resource: &str, direction: Direction, bytes: &[u8]) {
        if !self.enabled {
            return;
        }
        let record = IoRecord {
            time: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0),
            instrument: instrument.to_string(),
            resource: resource.to_string(),
            direction,
            bytes: bytes.to_vec(),
        };
        // A poisoned lock only means another thread panicked while pushing; the records
        // themselves are still valid, so keep logging.
        self.records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(record);
    }

    /// Take all records logged so far.
    pub fn drain(&self) -> Vec<IoRecord> {
        std::mem::take(&mut *self.records.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Copy of all records logged so far.
    pub fn snapshot(&self) -> Vec<IoRecord> {
        self.records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
