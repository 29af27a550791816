//! Fluke 5522A as a DC voltage [`Source`] (instruments.md §7): `OUT <v> V`, then `OPER`
//! (always re-sent: a newly selected output above 33 V drops to standby), `*OPC?`, `ERR?`
//! until `0`, and `OPER?` to confirm the output is really on. The safe state is `STBY`.

use super::Base;
use crate::instruments::roles::{BoxFuture, Instrument, Result, Source};

/// Fluke 5522A driver.
pub struct Fluke55xx {
    base: Base,
}

impl Fluke55xx {
    /// A driver over a base.
    pub fn new(base: Base) -> Self {
        Fluke55xx { base }
    }

    async fn output(&mut self, volts: f64) -> Result<()> {
        let max = self.base.profile.range("max_voltage").unwrap_or(1020.0);
        if !volts.is_finite() || volts.abs() > max {
            return Err(self.base.invalid(format!("{volts} V is outside ±{max} V")));
        }
        let session = &mut self.base.session;
        // Up to 15 significant digits, no blank inside the number (Fluke syntax rules).
        session.write(&format!("OUT {volts:.9E} V")).await?;
        session.write("OPER").await?;
        session.opc().await?;
        session.check("OUT").await?;
        let operate = session.query("OPER?").await?;
        if operate.trim() != "1" {
            return Err(self.base.reading_error(
                "the calibrator stayed in standby after OPER; check its front panel for an interlock or overload".into(),
            ));
        }
        Ok(())
    }
}

impl Instrument for Fluke55xx {
    fn name(&self) -> &str {
        &self.base.name
    }
    fn identify(&mut self) -> BoxFuture<'_, Result<String>> {
        Box::pin(self.base.identify())
    }
    fn safe_state(&mut self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            self.base.session.write("STBY").await?;
            Ok(())
        })
    }
}

impl Source for Fluke55xx {
    fn set_voltage(&mut self, volts: f64) -> BoxFuture<'_, Result<()>> {
        Box::pin(self.output(volts))
    }
}
