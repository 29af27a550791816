//! Generic SCPI relay switch as a [`Switch`]: `ROUT:CLOS (@n)` (the switch opens the others,
//! break-before-make), `*OPC?` for settling, error check, and a read-back with
//! `ROUT:CLOS? (@n)`. The safe state opens every relay.

use super::Base;
use crate::instruments::roles::{BoxFuture, Instrument, Result, Switch};

/// Relay switch driver.
pub struct ScpiSwitch {
    base: Base,
}

impl ScpiSwitch {
    /// A driver over a base.
    pub fn new(base: Base) -> Self {
        ScpiSwitch { base }
    }

    async fn close(&mut self, channel: Option<u32>) -> Result<()> {
        let session = &mut self.base.session;
        match channel {
            None => {
                session.write("ROUT:OPEN:ALL").await?;
                session.opc().await?;
                session.check("ROUT:OPEN:ALL").await?;
            }
            Some(ch) => {
                session.write(&format!("ROUT:CLOS (@{ch})")).await?;
                session.opc().await?;
                session.check("ROUT:CLOS").await?;
                let state = session.query(&format!("ROUT:CLOS? (@{ch})")).await?;
                if state.trim() != "1" {
                    return Err(self.base.reading_error(format!(
                        "relay {ch} reads back open after closing; check the switch card"
                    )));
                }
            }
        }
        Ok(())
    }
}

impl Instrument for ScpiSwitch {
    fn name(&self) -> &str {
        &self.base.name
    }
    fn identify(&mut self) -> BoxFuture<'_, Result<String>> {
        Box::pin(self.base.identify())
    }
    fn safe_state(&mut self) -> BoxFuture<'_, Result<()>> {
        Box::pin(self.close(None))
    }
}

impl Switch for ScpiSwitch {
    fn select(&mut self, channel: Option<u32>) -> BoxFuture<'_, Result<()>> {
        Box::pin(self.close(channel))
    }
}
