//! Simulated Fluke 5522A multi-product calibrator (instruments.md §7). Not SCPI: IEEE 488.2
//! common commands plus Fluke mnemonics (`OUT 10 V`, `OPER`, `STBY`, `ERR?`, `FAULT?`,
//! `EXPLAIN?`), parsed by hand here because the `scpi` crate's tokenizer would reject
//! `OUT 10 V` (a unit after a blank). Commands in one line are separated by `;`.
//!
//! Behaviour reproduced: output in standby after `*RST`; selecting a hazardous output
//! (> 33 V) while operating drops to standby, so `OPER` must be sent again; errors go to a
//! queue read with `ERR?` (code and text) or `FAULT?` (code only); replies end in CR+LF on
//! the serial port. The serial port is assumed in `COMP` (program) mode — `TERM` mode's
//! interactive prompts are not simulated.

use std::collections::VecDeque;
use std::sync::Arc;

use super::device::{Reply, SimDevice, esr_bit};
use super::world::{CalibratorOutput, World};

/// Largest DC voltage output [V].
const MAX_VOLTS: f64 = 1020.0;
/// Outputs above this are hazardous and need a fresh `OPER` [V].
const HAZARD_VOLTS: f64 = 33.0;

/// Fluke fault codes used by the simulator.
const BAD_SYNTAX: i32 = 1300;
const OUT_OF_RANGE: i32 = 1301;
const BAD_UNIT: i32 = 1302;

fn explain(code: i32) -> &'static str {
    match code {
        BAD_SYNTAX => "Bad syntax",
        OUT_OF_RANGE => "Entry exceeds limits",
        BAD_UNIT => "Bad units",
        0 => "No Error",
        _ => "Device error",
    }
}

/// Simulated Fluke 5522A.
pub struct Fluke5522a {
    serial: String,
    world: Arc<World>,
    errors: VecDeque<i32>,
    esr: u8,
    volts: f64,
    frequency: f64,
    operate: bool,
}

impl Fluke5522a {
    /// A 5522A driving the world's calibrator output.
    pub fn new(serial: &str, world: Arc<World>) -> Self {
        let dev = Fluke5522a {
            serial: serial.to_string(),
            world,
            errors: VecDeque::new(),
            esr: 0x80,
            volts: 0.0,
            frequency: 0.0,
            operate: false,
        };
        dev.apply();
        dev
    }

    fn apply(&self) {
        self.world.set_calibrator(CalibratorOutput {
            // AC output does not reach a DC voltmeter as DC.
            volts: if self.frequency == 0.0 {
                self.volts
            } else {
                0.0
            },
            operate: self.operate,
        });
    }

    fn fault(&mut self, code: i32) {
        self.esr |= esr_bit(-100);
        if self.errors.len() < 16 {
            self.errors.push_back(code);
        }
    }

    fn reset(&mut self) {
        self.volts = 0.0;
        self.frequency = 0.0;
        self.operate = false;
        self.apply();
    }

    /// Parse `<number>[ ]<unit>` with SI prefixes (`10 V`, `188.3MA`, `5.0E0 V`); no blank
    /// inside the number. Returns the value in base units and the base unit.
    fn quantity(text: &str) -> Result<(f64, String), i32> {
        const UNITS: [(&str, f64, &str); 8] = [
            ("KHZ", 1e3, "HZ"),
            ("HZ", 1.0, "HZ"),
            ("MV", 1e-3, "V"),
            ("UV", 1e-6, "V"),
            ("KV", 1e3, "V"),
            ("MA", 1e-3, "A"),
            ("V", 1.0, "V"),
            ("A", 1.0, "A"),
        ];
        let upper = text.trim().to_ascii_uppercase();
        let (number, scale, base) = UNITS
            .iter()
            .find_map(|(suffix, scale, base)| {
                upper
                    .strip_suffix(suffix)
                    .map(|n| (n.trim_end().to_string(), *scale, *base))
            })
            .unwrap_or((upper.clone(), 1.0, ""));
        if base.is_empty() && number.ends_with(|c: char| c.is_ascii_alphabetic()) {
            return Err(BAD_UNIT);
        }
        if number.is_empty() || number.contains(' ') {
            return Err(BAD_SYNTAX);
        }
        let value: f64 = number.parse().map_err(|_| BAD_SYNTAX)?;
        Ok((value * scale, base.to_string()))
    }

    fn command(&mut self, unit: &str) -> Result<Option<String>, i32> {
        let unit = unit.trim();
        let (head, args) = match unit.split_once(' ') {
            Some((h, a)) => (h, a.trim()),
            None => (unit, ""),
        };
        let head = head.to_ascii_uppercase();
        Ok(match head.as_str() {
            "*IDN?" => Some(format!("FLUKE,5522A,{},2.0+1.0+2.0+1.0", self.serial)),
            "*RST" => {
                self.reset();
                None
            }
            "*CLS" => {
                self.errors.clear();
                self.esr = 0;
                None
            }
            "*ESR?" => Some(std::mem::take(&mut self.esr).to_string()),
            "*OPC?" => Some("1".into()),
            "*OPC" | "*WAI" | "REMOTE" | "LOCAL" | "LOCKOUT" => None,
            "*STB?" => Some(if self.errors.is_empty() { "0" } else { "4" }.into()),
            "OPER" => {
                self.operate = true;
                self.apply();
                None
            }
            "STBY" => {
                self.operate = false;
                self.apply();
                None
            }
            "OPER?" => Some(u8::from(self.operate).to_string()),
            "OUT" => {
                if args.is_empty() {
                    return Err(BAD_SYNTAX);
                }
                let mut volts = None;
                let mut frequency = 0.0;
                for part in args.split(',') {
                    let (value, unit) = Self::quantity(part)?;
                    match unit.as_str() {
                        "V" | "" if volts.is_none() => volts = Some(value),
                        "HZ" => frequency = value,
                        _ => return Err(BAD_UNIT),
                    }
                }
                let volts = volts.ok_or(BAD_SYNTAX)?;
                if volts.abs() > MAX_VOLTS {
                    return Err(OUT_OF_RANGE);
                }
                let newly_hazardous =
                    volts.abs() > HAZARD_VOLTS && self.volts.abs() <= HAZARD_VOLTS;
                self.volts = volts;
                self.frequency = frequency;
                if newly_hazardous {
                    // Safety: a newly selected hazardous output goes to standby.
                    self.operate = false;
                }
                self.apply();
                None
            }
            "OUT?" => Some(format!(
                "{:.6E},V,0.00E+00,0,{:.2E}",
                self.volts, self.frequency
            )),
            "FUNC?" => Some(if self.frequency == 0.0 { "DCV" } else { "ACV" }.into()),
            "ERR?" => {
                let code = self.errors.pop_front().unwrap_or(0);
                Some(format!("{code},\"{}\"", explain(code)))
            }
            "FAULT?" => Some(self.errors.pop_front().unwrap_or(0).to_string()),
            "EXPLAIN?" => {
                let code: i32 = args.parse().map_err(|_| BAD_SYNTAX)?;
                Some(format!("\"{}\"", explain(code)))
            }
            "SP_SET?" => Some("9600,COMP,XON,DBIT8,SBIT1,PNONE,CRLF".into()),
            _ => return Err(BAD_SYNTAX),
        })
    }
}

impl SimDevice for Fluke5522a {
    fn handle(&mut self, message: &[u8], _now: f64) -> Reply {
        let text = String::from_utf8_lossy(message);
        let mut replies = Vec::new();
        for unit in text.split(';').filter(|u| !u.trim().is_empty()) {
            match self.command(unit) {
                Ok(Some(r)) => replies.push(r),
                Ok(None) => {}
                Err(code) => {
                    // The rest of the line is ignored after an error.
                    self.fault(code);
                    break;
                }
            }
        }
        if replies.is_empty() {
            Reply::none()
        } else {
            Reply::text(replies.join(";"))
        }
    }
    fn power_cycle(&mut self) {
        self.reset();
        self.errors.clear();
        self.esr = 0x80;
    }
    fn inject_error(&mut self, code: i32, _message: &str) {
        self.fault(code.abs());
    }
    fn busy(&self, _now: f64) -> bool {
        false
    }
    fn announcement(&self) -> Option<Vec<u8>> {
        Some(format!("FLUKE,5522A,{},2.0+1.0+2.0+1.0", self.serial).into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::world::WorldConfig;

    fn text(dev: &mut dyn SimDevice, m: &str) -> Option<String> {
        dev.handle(m.as_bytes(), 0.0)
            .bytes
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    #[test]
    fn calibrator_output_and_hazard_standby() {
        let world = Arc::new(World::new(WorldConfig::default()));
        let mut cal = Fluke5522a::new("9876543", world.clone());
        assert_eq!(text(&mut cal, "OUT 10 V; OPER"), None);
        assert_eq!(world.tester_input_voltage(), 10.0);
        assert_eq!(text(&mut cal, "OUT 1500 MV"), None);
        assert!((world.tester_input_voltage() - 1.5).abs() < 1e-12);
        assert_eq!(text(&mut cal, "OUT 2.500000000E0 V"), None);
        assert!((world.tester_input_voltage() - 2.5).abs() < 1e-12);
        assert_eq!(text(&mut cal, "OUT 188.3MV"), None);
        assert!((world.tester_input_voltage() - 0.1883).abs() < 1e-12);
        assert_eq!(text(&mut cal, "OUT 50 V"), None);
        assert_eq!(text(&mut cal, "OPER?").as_deref(), Some("0"));
        assert_eq!(world.tester_input_voltage(), 0.0);
        assert_eq!(text(&mut cal, "OUT - 5 V"), None);
        assert_eq!(
            text(&mut cal, "ERR?").as_deref(),
            Some("1300,\"Bad syntax\"")
        );
        assert_eq!(text(&mut cal, "ERR?").as_deref(), Some("0,\"No Error\""));
        assert_eq!(text(&mut cal, "OUT 2 W"), None);
        assert_eq!(
            text(&mut cal, "ERR?").as_deref(),
            Some("1302,\"Bad units\"")
        );
        assert_eq!(text(&mut cal, "STBY;FAULT?").as_deref(), Some("0"));
    }
}
