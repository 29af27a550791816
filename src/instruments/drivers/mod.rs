//! Drivers: one per dialect, each implementing the roles its instruments can play.
//!
//! Every driver re-sends its configuration before each operation. That costs a few
//! milliseconds and makes recovery after a reconnect or an instrument reboot (settings lost)
//! automatic: no driver relies on state the instrument may have forgotten.

pub mod fluke;
pub mod hioki;
pub mod keithley;
pub mod keysight;
pub mod switch;

use std::time::Duration;

use super::InstrumentsError;
use super::profile::Profile;
use super::roles::Result;
use super::station::InstrumentEntry;
use crate::model::SharedClock;
use crate::scpi::{IoLog, Resource, Session, SessionConfig};

/// What every driver holds.
pub struct Base {
    /// Instrument name.
    pub name: String,
    /// The SCPI session to the instrument.
    pub session: Session,
    /// Model profile.
    pub profile: Profile,
    /// Time source for time stamps.
    pub clock: SharedClock,
}

impl Base {
    /// A driver base over an existing session.
    pub fn new(session: Session, profile: Profile, clock: SharedClock) -> Self {
        Base {
            name: session.name().to_string(),
            session,
            profile,
            clock,
        }
    }

    /// `*IDN?` and check it against the profile's identity pattern.
    pub async fn identify(&mut self) -> Result<String> {
        let idn = self.session.idn().await?;
        if !self.profile.matches(&idn) {
            return Err(InstrumentsError::Mismatch {
                instrument: self.name.clone(),
                problem: format!(
                    "identifies as `{idn}`, which does not match profile `{}` (identity `{}`); \
                     check the resource string or choose the right profile",
                    self.profile.id, self.profile.identity
                ),
            });
        }
        Ok(idn)
    }

    /// Send configuration commands, then check the instrument reported no error. If the
    /// connection was re-opened meanwhile (a drop or a reboot: settings possibly lost), send
    /// them again on the new connection; a connection that keeps failing is an error.
    pub async fn configure(&mut self, commands: &[String], label: &str) -> Result<()> {
        const ATTEMPTS: usize = 3;
        for attempt in 1..=ATTEMPTS {
            let session = &mut self.session;
            let outcome = async {
                session.connect().await?;
                let generation = session.generation();
                for cmd in commands {
                    session.write(cmd).await?;
                }
                session.check(label).await?;
                Ok::<bool, crate::scpi::ScpiError>(session.generation() == generation)
            }
            .await;
            match outcome {
                Ok(true) => return Ok(()),
                // Settings are idempotent: sending them again on a new connection is safe.
                Ok(false) => {}
                Err(e) if e.is_transport() && attempt < ATTEMPTS => session.disconnect(),
                Err(e) => return Err(e.into()),
            }
        }
        Err(self.reading_error(format!(
            "the connection was lost {ATTEMPTS} times while configuring ({label}); check the cable or network"
        )))
    }

    /// An error about a reading.
    pub fn reading_error(&self, problem: String) -> InstrumentsError {
        InstrumentsError::Reading {
            instrument: self.name.clone(),
            problem,
        }
    }

    /// An error about a request.
    pub fn invalid(&self, problem: String) -> InstrumentsError {
        InstrumentsError::Invalid {
            instrument: self.name.clone(),
            problem,
        }
    }
}

/// Session configuration for a station entry: the profile's terminators, timeout, error
/// policy and serial settings, overridden by the entry's.
pub fn session_config(
    entry: &InstrumentEntry,
    profile: &Profile,
    resource: &str,
) -> Result<SessionConfig> {
    let resource = Resource::parse(resource).map_err(crate::scpi::ScpiError::from)?;
    let mut config = SessionConfig::new(&entry.name, resource);
    config.write_termination = super::profile::terminator_bytes(
        entry
            .write_termination
            .as_deref()
            .unwrap_or(&profile.write_termination),
    );
    config.read_termination = super::profile::terminator_bytes(
        entry
            .read_termination
            .as_deref()
            .unwrap_or(&profile.read_termination),
    );
    config.timeout = Duration::from_millis(entry.timeout_ms.unwrap_or(profile.timeout_ms));
    config.error_policy = profile.error_policy();
    if let Some(serial) = entry.serial.or(profile.serial) {
        config.serial = serial;
    }
    Ok(config)
}

/// Open a session for a station entry (connects on first use).
pub fn open_session(
    entry: &InstrumentEntry,
    profile: &Profile,
    resource: &str,
    log: &IoLog,
) -> Result<Session> {
    Ok(Session::new(
        session_config(entry, profile, resource)?,
        log.clone(),
    ))
}

/// `ON` / `OFF`.
pub fn on_off(b: bool) -> &'static str {
    if b { "ON" } else { "OFF" }
}
