//! The states a run and its records go through, as the database stores them and JSON shows
//! them (these strings are a contract: `runs list --json`, `run --json`, the run record).

use serde::{Deserialize, Serialize};

/// How a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// The procedure ran to its end.
    Completed,
    /// The procedure or an instrument failed.
    Failed,
    /// The operator stopped it (Ctrl-C, SIGTERM, the console's abort).
    Aborted,
}

/// How a journaled activity ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityStatus {
    /// It returned a result.
    Ok,
    /// It failed (the failure is journaled and replayed too).
    Error,
}

/// Why a measurement was interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InterruptionKind {
    /// The conditions broke during a sweep (the sweep is retaken).
    UnstableConditions,
    /// An instrument failed during an activity (it is retaken).
    InstrumentFault,
    /// Two independent determinations of one quantity disagreed beyond their combined
    /// uncertainty (cell temperature from the back sensors and from Voc): the sweep is retaken.
    InconsistentMeasurement,
    /// The process stopped before the run did, and the run was resumed.
    Resumed,
}

/// Where an overnight-queue item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueStatus {
    /// Waiting for its turn (or its window).
    Pending,
    /// Its run started (a crashed runner resumes it).
    Running,
    /// Its run completed.
    Completed,
    /// Its run failed or could not start.
    Failed,
    /// Its run was aborted.
    Aborted,
    /// The operator removed it before it ran.
    Removed,
}

impl QueueStatus {
    /// Still to be run (by this runner or a resumed one).
    pub fn is_open(self) -> bool {
        matches!(self, QueueStatus::Pending | QueueStatus::Running)
    }
}

impl From<RunStatus> for QueueStatus {
    fn from(s: RunStatus) -> QueueStatus {
        match s {
            RunStatus::Completed => QueueStatus::Completed,
            RunStatus::Failed => QueueStatus::Failed,
            RunStatus::Aborted => QueueStatus::Aborted,
        }
    }
}

/// The text of each variant, as stored and shown.
macro_rules! text_forms {
    ($t:ty { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $t {
            /// As stored in the database and shown in JSON.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(<$t>::$variant => $text),+
                }
            }

            /// From its stored text.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some(<$t>::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                // `pad`, so that widths in tables (`{:<9}`) hold.
                f.pad(self.as_str())
            }
        }
    };
}

text_forms!(RunStatus {
    Completed => "completed",
    Failed => "failed",
    Aborted => "aborted",
});
text_forms!(QueueStatus {
    Pending => "pending",
    Running => "running",
    Completed => "completed",
    Failed => "failed",
    Aborted => "aborted",
    Removed => "removed",
});
text_forms!(ActivityStatus { Ok => "ok", Error => "error" });
text_forms!(InterruptionKind {
    UnstableConditions => "unstable_conditions",
    InstrumentFault => "instrument_fault",
    InconsistentMeasurement => "inconsistent_measurement",
    Resumed => "resumed",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_text_is_the_serde_text() {
        for s in [RunStatus::Completed, RunStatus::Failed, RunStatus::Aborted] {
            assert_eq!(serde_json::to_value(s).ok(), Some(s.as_str().into()));
            assert_eq!(RunStatus::parse(s.as_str()), Some(s));
        }
        for k in [
            InterruptionKind::UnstableConditions,
            InterruptionKind::InstrumentFault,
            InterruptionKind::InconsistentMeasurement,
            InterruptionKind::Resumed,
        ] {
            assert_eq!(serde_json::to_value(k).ok(), Some(k.as_str().into()));
        }
        assert_eq!(ActivityStatus::parse("error"), Some(ActivityStatus::Error));
        for q in [
            QueueStatus::Pending,
            QueueStatus::Running,
            QueueStatus::Completed,
            QueueStatus::Failed,
            QueueStatus::Aborted,
            QueueStatus::Removed,
        ] {
            assert_eq!(serde_json::to_value(q).ok(), Some(q.as_str().into()));
            assert_eq!(QueueStatus::parse(q.as_str()), Some(q));
        }
        assert_eq!(format!("[{:<9}]", QueueStatus::Pending), "[pending  ]");
        assert_eq!(RunStatus::parse("running"), None);
    }
}
