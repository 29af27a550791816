//! Hioki BT3562/BT3563 as the [`ResistanceMeter`] under calibration (instruments.md §5.1).
//!
//! No error queue: every command is followed by `*ESR?` (the session's ESR policy), and a
//! query is never joined to another command with `;` (that is a query error on this
//! family). Replies are fixed-width with blanks; overflow (1E+9 in any range's notation) and
//! measurement fault (1E+10) are decoded into typed errors before any number is used.

use super::Base;
use crate::scpi::session::esr_errors;

/// Power-on bit of the Standard Event Status Register (IEEE 488.2 §11.5.1).
const POWER_ON: u8 = 0x80;
use crate::instruments::roles::{BoxFuture, Instrument, ResistanceMeter, Result, TesterReading};

/// Configuration sent before each reading. `*CLS` first: the ESR bits of an earlier failed
/// operation (e.g. a `:READ?` refused after a reboot restored continuous mode) must not be
/// blamed on this one.
pub const SETUP: [&str; 6] = [
    "*CLS",
    ":FUNC RV",
    ":INIT:CONT OFF",
    ":TRIG:SOUR IMM",
    ":SAMP:RATE SLOW",
    ":AUT ON",
];

/// A decoded fixed-width value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HiokiValue {
    /// A reading.
    Value(f64),
    /// Overflow (OF), with sign.
    Overflow(bool),
    /// Measurement fault (open leads, contact failure).
    Fault,
}

/// Decode one fixed-width field: blanks removed, then the sentinels matched before the value
/// is used (`±10.0000E+8` = 1E+9 overflow, `10.0000E+9` = 1E+10 fault, whatever the range).
pub fn decode(field: &str) -> Option<HiokiValue> {
    let compact: String = field.chars().filter(|c| !c.is_whitespace()).collect();
    let v: f64 = compact.parse().ok()?;
    Some(if (v.abs() - 1e10).abs() < 1.0 {
        HiokiValue::Fault
    } else if (v.abs() - 1e9).abs() < 1.0 {
        HiokiValue::Overflow(v > 0.0)
    } else {
        HiokiValue::Value(v)
    })
}

/// Hioki BT356x driver.
pub struct HiokiBt356x {
    base: Base,
}

impl HiokiBt356x {
    /// A driver over a base.
    pub fn new(base: Base) -> Self {
        HiokiBt356x { base }
    }

    fn value(&self, field: &str, what: &str, reply: &str) -> Result<f64> {
        match decode(field) {
            Some(HiokiValue::Value(v)) => Ok(v),
            Some(HiokiValue::Overflow(_)) => Err(self.base.reading_error(format!(
                "{what} overflow (OF) in `{reply}`: the value is above the range; use autorange or a higher range"
            ))),
            Some(HiokiValue::Fault) => Err(self.base.reading_error(format!(
                "{what} measurement fault in `{reply}`: open input or contact failure; check the four-terminal leads and the standard selected by the switch"
            ))),
            None => Err(self
                .base
                .session
                .parse_error(":READ?", reply, format!("`{field}` is not a {what} field"))
                .into()),
        }
    }

    /// Send [`SETUP`], checking `*ESR?` after each command. The power-on bit after our own
    /// `*CLS` means the tester rebooted meanwhile (settings lost): start again, once.
    async fn setup(&mut self) -> Result<()> {
        'attempt: for _ in 0..2 {
            for cmd in SETUP {
                self.base.session.write(cmd).await?;
                let reply = self.base.session.query("*ESR?").await?;
                let esr: u8 = reply.trim().parse().map_err(|_| {
                    self.base
                        .session
                        .parse_error("*ESR?", &reply, "expected 0..255".into())
                })?;
                if let Some(first) = esr_errors(esr).into_iter().next() {
                    return Err(crate::scpi::ScpiError::Instrument {
                        instrument: self.base.name.clone(),
                        resource: self.base.session.config().resource.to_string(),
                        command: cmd.to_string(),
                        code: first.code,
                        message: first.message,
                    }
                    .into());
                }
                if esr & POWER_ON != 0 && cmd != SETUP[0] {
                    continue 'attempt;
                }
            }
            return Ok(());
        }
        Err(self.base.reading_error(
            "the tester keeps rebooting (power-on event during setup); check its supply".into(),
        ))
    }

    async fn reading(&mut self) -> Result<TesterReading> {
        self.setup().await?;
        let time = self.base.clock.now();
        let reply = self.base.session.query_once(":READ?").await?;
        self.base.session.check(":READ?").await?;
        let Some((r, v)) = reply.split_once(',') else {
            return Err(self
                .base
                .session
                .parse_error(":READ?", &reply, "expected `<resistance>,<voltage>`".into())
                .into());
        };
        Ok(TesterReading {
            resistance: self.value(r, "resistance", &reply)?,
            voltage: self.value(v, "voltage", &reply)?,
            time,
        })
    }
}

impl Instrument for HiokiBt356x {
    fn name(&self) -> &str {
        &self.base.name
    }
    fn identify(&mut self) -> BoxFuture<'_, Result<String>> {
        Box::pin(self.base.identify())
    }
}

impl ResistanceMeter for HiokiBt356x {
    fn read(&mut self) -> BoxFuture<'_, Result<TesterReading>> {
        Box::pin(self.reading())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_fixed_width_and_sentinels() {
        assert_eq!(decode("    1.36E-3"), Some(HiokiValue::Value(1.36e-3)));
        assert_eq!(decode("-   7.51E+0"), Some(HiokiValue::Value(-7.51)));
        assert_eq!(decode(" 100.000E+7"), Some(HiokiValue::Overflow(true)));
        assert_eq!(decode("-10.0000E+8"), Some(HiokiValue::Overflow(false)));
        assert_eq!(decode(" 1000.00E+7"), Some(HiokiValue::Fault));
        assert_eq!(decode(" 1.00000E+10"), Some(HiokiValue::Fault));
        assert_eq!(decode("abc"), None);
    }
}
