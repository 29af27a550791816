//! SCPI / IEEE 488.2 client: resource strings, transports, framing, block data, numbers, and
//! sessions with timeouts, retries, error draining and an I/O log.
//!
//! No mature Rust VISA client exists (instruments.md §0.8), so this is a small one of our own.
//! The device side (what the simulators parse) is the `scpi` crate; the framer here serves
//! both sides.
//!
//! ```no_run
//! # async fn demo() -> Result<(), pvstation::scpi::ScpiError> {
//! use pvstation::scpi::{IoLog, Resource, Session, SessionConfig};
//! let resource = Resource::parse("TCPIP::127.0.0.1::5025::SOCKET")?;
//! let mut dmm = Session::new(SessionConfig::new("dmm", resource), IoLog::new());
//! println!("{}", dmm.idn().await?);
//! let volts = dmm.query_f64("READ?").await?;
//! # let _ = volts; Ok(()) }
//! ```

pub mod block;
pub mod framing;
pub mod iolog;
pub mod number;
pub mod resource;
pub mod session;
pub mod transcript;
pub mod transport;

use std::time::Duration;

pub use iolog::{IoLog, IoRecord};
pub use number::ScpiNumber;
pub use resource::{Resource, ResourceError};
pub use session::{ErrorPolicy, InstrumentError, Session, SessionConfig};
pub use transport::SerialSettings;

/// Errors of the SCPI layer. Every variant names the instrument and, where there is one, the
/// command being exchanged.
#[derive(Debug, thiserror::Error)]
pub enum ScpiError {
    /// The resource string is malformed.
    #[error(transparent)]
    Resource(#[from] ResourceError),
    /// Could not open the connection.
    #[error(
        "{instrument}: cannot connect to {resource}: {source}; check the instrument is on, the address/port or device path, and that no other program holds it"
    )]
    Connect {
        /// Instrument name.
        instrument: String,
        /// Resource string.
        resource: String,
        /// Cause.
        source: std::io::Error,
    },
    /// No complete reply in time.
    #[error(
        "{instrument}: no reply to `{command}` within {after:?} ({resource}); check the cable/network and the terminators in the instrument profile"
    )]
    Timeout {
        /// Instrument name.
        instrument: String,
        /// Resource string.
        resource: String,
        /// The command that got no reply.
        command: String,
        /// Time waited.
        after: Duration,
    },
    /// The transport failed (connection dropped, device gone).
    #[error("{instrument}: I/O error on `{command}` ({resource}): {source}")]
    Io {
        /// Instrument name.
        instrument: String,
        /// Resource string.
        resource: String,
        /// The command being sent or answered when the transport failed.
        command: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The session was built on a given stream that has been closed.
    #[error(
        "{instrument}: connection to {resource} is closed and cannot be reopened (while sending `{command}`)"
    )]
    Disconnected {
        /// Instrument name.
        instrument: String,
        /// Resource string.
        resource: String,
        /// The command that could not be sent.
        command: String,
    },
    /// The reply cannot be framed (malformed block, not text).
    #[error("{instrument}: garbled reply to `{command}` ({resource}): {why}")]
    Garbled {
        /// Instrument name.
        instrument: String,
        /// Resource string.
        resource: String,
        /// The command whose reply is garbled.
        command: String,
        /// What is wrong.
        why: String,
    },
    /// The reply is text but not what the command returns.
    #[error("{instrument}: unexpected reply `{reply}` to `{command}` ({resource}): {why}")]
    Parse {
        /// Instrument name.
        instrument: String,
        /// Resource string.
        resource: String,
        /// The command whose reply is unexpected.
        command: String,
        /// The reply (first 80 characters).
        reply: String,
        /// What was expected.
        why: String,
    },
    /// The instrument reported an error.
    #[error("{instrument}: instrument error {code} \"{message}\" after `{command}` ({resource})")]
    Instrument {
        /// Instrument name.
        instrument: String,
        /// Resource string.
        resource: String,
        /// Command after which the error was found.
        command: String,
        /// SCPI error code.
        code: i32,
        /// Error text.
        message: String,
    },
    /// The instrument returned a "no valid reading" sentinel.
    #[error(
        "{instrument}: no valid reading from `{command}` ({value:?}); check the range and the connection of the input"
    )]
    NoReading {
        /// Instrument name.
        instrument: String,
        /// The command that returned the sentinel.
        command: String,
        /// The sentinel.
        value: ScpiNumber,
    },
}

impl ScpiError {
    /// The instrument the failure belongs to (none for a malformed resource string).
    pub fn instrument(&self) -> Option<&str> {
        match self {
            ScpiError::Resource(_) => None,
            ScpiError::Connect { instrument, .. }
            | ScpiError::Timeout { instrument, .. }
            | ScpiError::Io { instrument, .. }
            | ScpiError::Disconnected { instrument, .. }
            | ScpiError::Garbled { instrument, .. }
            | ScpiError::Parse { instrument, .. }
            | ScpiError::Instrument { instrument, .. }
            | ScpiError::NoReading { instrument, .. } => Some(instrument),
        }
    }

    /// A transport failure after which reconnecting may help.
    pub fn is_transport(&self) -> bool {
        matches!(
            self,
            ScpiError::Io { .. }
                | ScpiError::Timeout { .. }
                | ScpiError::Connect { .. }
                | ScpiError::Garbled { .. }
        )
    }
}
