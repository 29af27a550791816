//! Simulated generic SCPI relay switch (`ROUTe:CLOSe (@n)`, `ROUTe:OPEN (@n)`,
//! `ROUTe:OPEN:ALL`, `ROUTe:CLOSe? (@n)`, `ROUTe:CLOSe:STATe?`), selecting which standard
//! resistor is connected to the tester. Break-before-make: closing a channel opens the
//! others, as a resistor selector must. Relays settle in 10 ms.

use std::sync::Arc;

use scpi::error::{Error, ErrorCode};
use scpi::parser::parameters::Parameters;
use scpi::tree::Node;
use scpi::{Branch, Leaf};

use crate::sim::device::{ScpiCore, ScpiDevice, channel_list};
use crate::sim::world::World;

/// Relay settling time [s].
const SETTLE: f64 = 0.010;

/// Commands of the switch tree.
#[derive(Debug, Clone, Copy)]
pub enum Cmd {
    /// `ROUTe:CLOSe`
    Close,
    /// `ROUTe:CLOSe:STATe?`
    CloseState,
    /// `ROUTe:OPEN`
    Open,
    /// `ROUTe:OPEN:ALL`
    OpenAll,
}

crate::device_handler!(S, Cmd, RelaySwitch);

const TREE: Node<RelaySwitch> = crate::scpi_root![
    Branch![b"ROUTe";
        Branch![b"CLOSe" => &S(Cmd::Close); Leaf!(b"STATe" => &S(Cmd::CloseState))],
        Branch![b"OPEN" => &S(Cmd::Open); Leaf!(b"ALL" => &S(Cmd::OpenAll))]
    ],
    Branch![b"SYSTem"; crate::syst_err_branch!()]
];

/// Simulated relay switch with `channels` channels.
pub struct RelaySwitch {
    serial: String,
    channels: u32,
    world: Arc<World>,
    core: ScpiCore,
    busy_until: Option<f64>,
    now: f64,
}

impl RelaySwitch {
    /// A switch with channels 1..=`channels`.
    pub fn new(serial: &str, channels: u32, world: Arc<World>) -> Self {
        RelaySwitch {
            serial: serial.to_string(),
            channels,
            world,
            core: ScpiCore::power_on(),
            busy_until: None,
            now: 0.0,
        }
    }

    fn valid(&self, list: Vec<u32>) -> Result<Vec<u32>, Error> {
        if list.iter().any(|c| *c == 0 || *c > self.channels) {
            return Err(Error::custom(
                -224,
                b"Illegal parameter value;no such channel",
            ));
        }
        Ok(list)
    }

    fn event(&mut self, cmd: Cmd, params: &mut Parameters) -> Result<(), Error> {
        match cmd {
            Cmd::Close => {
                let list = self.valid(channel_list(params)?)?;
                if list.len() != 1 {
                    return Err(Error::custom(
                        -221,
                        b"Settings conflict;one channel at a time",
                    ));
                }
                self.world.close_switch(list.first().copied());
            }
            Cmd::Open => {
                let list = self.valid(channel_list(params)?)?;
                if let Some(closed) = self.world.closed_switch()
                    && list.contains(&closed)
                {
                    self.world.close_switch(None);
                }
            }
            Cmd::OpenAll => self.world.close_switch(None),
            Cmd::CloseState => return Err(ErrorCode::UndefinedHeader.into()),
        }
        self.busy_until = Some(self.now + SETTLE);
        Ok(())
    }

    fn query(&mut self, cmd: Cmd, params: &mut Parameters) -> Result<String, Error> {
        let closed = self.world.closed_switch();
        Ok(match cmd {
            Cmd::Close => {
                let list = self.valid(channel_list(params)?)?;
                list.iter()
                    .map(|c| u8::from(Some(*c) == closed).to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            }
            Cmd::Open => {
                let list = self.valid(channel_list(params)?)?;
                list.iter()
                    .map(|c| u8::from(Some(*c) != closed).to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            }
            Cmd::CloseState => match closed {
                Some(c) => format!("(@{c})"),
                None => "(@)".into(),
            },
            Cmd::OpenAll => return Err(ErrorCode::UndefinedHeader.into()),
        })
    }
}

impl ScpiDevice for RelaySwitch {
    crate::scpi_device_plumbing!(TREE);

    fn identity(&self) -> String {
        format!("PVSTATION,RELAY-{},{},1.0", self.channels, self.serial)
    }
    fn reset(&mut self) {
        self.world.close_switch(None);
        self.busy_until = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::device::SimDevice;
    use crate::sim::world::WorldConfig;

    fn text(dev: &mut dyn SimDevice, m: &str) -> Option<String> {
        dev.handle(m.as_bytes(), 0.0)
            .bytes
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    #[test]
    fn switch_selects_one_resistor() {
        let world = Arc::new(World::new(WorldConfig::default()));
        let mut sw = RelaySwitch::new("1", 8, world.clone());
        assert_eq!(text(&mut sw, "ROUT:CLOS (@3)"), None);
        assert_eq!(world.connected_resistance(), Some(99.9971e-3));
        assert_eq!(text(&mut sw, "ROUT:CLOS (@2)"), None);
        assert_eq!(text(&mut sw, "ROUT:CLOS? (@2,3)").as_deref(), Some("1,0"));
        assert_eq!(text(&mut sw, "ROUT:CLOS:STAT?").as_deref(), Some("(@2)"));
        assert_eq!(text(&mut sw, "ROUT:OPEN:ALL"), None);
        assert_eq!(world.connected_resistance(), None);
        assert_eq!(text(&mut sw, "ROUT:CLOS (@9)"), None);
        assert!(
            text(&mut sw, "SYST:ERR?")
                .expect("reply")
                .starts_with("-224")
        );
    }
}
