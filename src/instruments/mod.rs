//! Instruments by role: drivers for the dialects the station speaks, model profiles, and
//! station files. Procedures depend on the role traits in [`roles`], never on a model.

pub mod profile;
pub mod station;

/// Errors of the instruments layer.
#[derive(Debug, thiserror::Error)]
pub enum InstrumentsError {
    /// A file cannot be read.
    #[error("cannot read {file}: {source}")]
    Read {
        /// Path.
        file: String,
        /// Cause.
        source: std::io::Error,
    },
    /// A profile is invalid.
    #[error("{file}: {key}{}{problem}", if key.is_empty() { "" } else { ": " })]
    Profile {
        /// Path.
        file: String,
        /// The offending key, dotted (`ranges.voltage`), empty for the whole file.
        key: String,
        /// What to fix.
        problem: String,
    },
    /// A station file is invalid.
    #[error("{file}: {key}{}{problem}", if key.is_empty() { "" } else { ": " })]
    Station {
        /// Path.
        file: String,
        /// The offending key, dotted (`instrument[2].resource`), empty for the whole file.
        key: String,
        /// What to fix.
        problem: String,
    },
    /// An exchange with an instrument failed.
    #[error(transparent)]
    Scpi(#[from] crate::scpi::ScpiError),
    /// The instrument answered, but not as its profile says it should.
    #[error("{instrument}: {problem}")]
    Mismatch {
        /// Instrument name.
        instrument: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// A reading is not a valid measurement (overflow, open input, fault).
    #[error("{instrument}: {problem}")]
    Reading {
        /// Instrument name.
        instrument: String,
        /// What the instrument reported and what to check.
        problem: String,
    },
    /// A request is outside what the instrument can do.
    #[error("{instrument}: {problem}")]
    Invalid {
        /// Instrument name.
        instrument: String,
        /// What to change.
        problem: String,
    },
}

impl InstrumentsError {
    /// The instrument that failed, when the failure belongs to one (the console marks it).
    pub fn instrument(&self) -> Option<&str> {
        match self {
            InstrumentsError::Read { .. }
            | InstrumentsError::Profile { .. }
            | InstrumentsError::Station { .. } => None,
            InstrumentsError::Scpi(e) => e.instrument(),
            InstrumentsError::Mismatch { instrument, .. }
            | InstrumentsError::Reading { instrument, .. }
            | InstrumentsError::Invalid { instrument, .. } => Some(instrument),
        }
    }
}

pub mod bench;
pub mod drivers;
pub mod modbus;
pub mod roles;
