//! Simulated Hioki BT3562 / BT3563 battery internal-resistance tester — the *device under
//! calibration* of the battery-tester station (instruments.md §5.1).
//!
//! Dialect quirks reproduced: SCPI-like syntax but **no error queue** (errors only set
//! `*ESR?` bits: command 32, execution 16, device 8, query 4); a query followed by `;` and
//! another command is a query error; `:READ?` only answers with continuous measurement OFF
//! (otherwise an execution error and *no reply*); fixed-width replies with a blank sign
//! position and blanks for leading zeros; overflow and measurement-fault codes per range;
//! replies end in CR+LF; header OFF after `*RST`.
//!
//! Physics: the resistance input sees the standard resistor selected by the relay switch
//! (open input when none), the voltage input the calibrator's output; the tester applies its
//! configured gain and offset errors, noise and its range resolution.

use std::sync::Arc;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Normal};
use scpi::error::{Error, ErrorCode};
use scpi::parser::parameters::Parameters;
use scpi::tree::Node;
use scpi::{Branch, Leaf};

use super::device::{Reply, ScpiCore, ScpiDevice, boolean, is, number, word};
use super::world::World;

/// One range of the tester and its fixed-width reply format.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HiokiRange {
    /// Full scale [Ω or V].
    pub full_scale: f64,
    /// Integer digits of the mantissa.
    pub integer_digits: usize,
    /// Decimal digits of the mantissa.
    pub decimals: usize,
    /// Power of ten of the exponent field.
    pub exponent: i32,
}

/// Resistance ranges (BT3562A981 manual, `:FETCh?` format table).
pub const RESISTANCE_RANGES: [HiokiRange; 7] = [
    HiokiRange {
        full_scale: 3e-3,
        integer_digits: 2,
        decimals: 4,
        exponent: -3,
    },
    HiokiRange {
        full_scale: 30e-3,
        integer_digits: 3,
        decimals: 3,
        exponent: -3,
    },
    HiokiRange {
        full_scale: 300e-3,
        integer_digits: 4,
        decimals: 2,
        exponent: -3,
    },
    HiokiRange {
        full_scale: 3.0,
        integer_digits: 2,
        decimals: 4,
        exponent: 0,
    },
    HiokiRange {
        full_scale: 30.0,
        integer_digits: 3,
        decimals: 3,
        exponent: 0,
    },
    HiokiRange {
        full_scale: 300.0,
        integer_digits: 4,
        decimals: 2,
        exponent: 0,
    },
    HiokiRange {
        full_scale: 3000.0,
        integer_digits: 2,
        decimals: 4,
        exponent: 3,
    },
];

/// Voltage ranges of the BT3562 (6 V, 60 V).
pub const VOLTAGE_RANGES: [HiokiRange; 2] = [
    HiokiRange {
        full_scale: 6.0,
        integer_digits: 1,
        decimals: 5,
        exponent: 0,
    },
    HiokiRange {
        full_scale: 60.0,
        integer_digits: 2,
        decimals: 4,
        exponent: 0,
    },
];

/// Displayed counts above full scale before overflow (the BT356x show up to 3.1000 on a
/// 3 range, i.e. ~3 % over).
const OVER_RANGE: f64 = 1.0333;

impl HiokiRange {
    /// Resolution of the range [Ω or V].
    pub fn resolution(&self) -> f64 {
        10f64.powi(self.exponent - self.decimals as i32)
    }

    /// The reply text for a value: blank sign for positive values, blanks for leading zeros.
    pub fn format(&self, value: f64) -> String {
        let scaled = value / 10f64.powi(self.exponent);
        let sign = if scaled < 0.0 { '-' } else { ' ' };
        let width = self.integer_digits + 1 + self.decimals;
        let digits = format!(
            "{:0width$.prec$}",
            scaled.abs(),
            width = width,
            prec = self.decimals
        );
        // Leading zeros before the last integer digit become blanks.
        let mut chars: Vec<char> = digits.chars().collect();
        for c in chars.iter_mut().take(self.integer_digits.saturating_sub(1)) {
            if *c == '0' {
                *c = ' ';
            } else {
                break;
            }
        }
        let mantissa: String = chars.into_iter().collect();
        format!("{sign}{mantissa}{}", self.exponent_text(self.exponent))
    }

    fn exponent_text(&self, e: i32) -> String {
        format!("E{}{}", if e < 0 { '-' } else { '+' }, e.abs())
    }

    /// The overflow code (`±10.0000E+8` on a 2-integer-digit range: 1E+9 in any form).
    pub fn overflow(&self, negative: bool) -> String {
        let (mantissa, e) = self.sentinel_mantissa(9);
        format!(
            "{}{mantissa}{}",
            if negative { '-' } else { ' ' },
            self.exponent_text(e)
        )
    }

    /// The measurement-fault code (`+10.0000E+9` on a 2-integer-digit range: 1E+10).
    pub fn fault(&self) -> String {
        let (mantissa, e) = self.sentinel_mantissa(10);
        format!(" {mantissa}{}", self.exponent_text(e))
    }

    fn sentinel_mantissa(&self, power: i32) -> (String, i32) {
        // The mantissa is 10^(integer_digits - 1) written in the range's width.
        let lead = 10u64.pow(self.integer_digits as u32 - 1);
        let mantissa = format!("{lead}.{}", "0".repeat(self.decimals));
        (mantissa, power - (self.integer_digits as i32 - 1))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Function {
    ResistanceVoltage,
    Resistance,
    Voltage,
}

/// Commands of the BT356x tree.
#[derive(Debug, Clone, Copy)]
pub enum Cmd {
    /// `:FUNCtion`
    Function,
    /// `:RESistance:RANGe`
    ResistanceRange,
    /// `:VOLTage:RANGe`
    VoltageRange,
    /// `:AUTorange`
    Autorange,
    /// `:SAMPle:RATE`
    SampleRate,
    /// `:TRIGger:SOURce`
    TriggerSource,
    /// `:INITiate:CONTinuous`
    Continuous,
    /// `:INITiate[:IMMediate]`
    Initiate,
    /// `:READ?`
    Read,
    /// `:FETCh?`
    Fetch,
    /// `:SYSTem:HEADer`
    Header,
    /// `:SYSTem:LFRequency`
    LineFrequency,
    /// `:SYSTem:ERRor` (EXT I/O error-output timing, not a queue)
    ErrorTiming,
    /// `:ESR0?`
    Esr0,
}

crate::device_handler!(H, Cmd, HiokiBt356x);

const TREE: Node<HiokiBt356x> = crate::scpi_root![
    Leaf!(b"FUNCtion" => &H(Cmd::Function)),
    Branch![b"RESistance"; Leaf!(b"RANGe" => &H(Cmd::ResistanceRange))],
    Branch![b"VOLTage"; Leaf!(b"RANGe" => &H(Cmd::VoltageRange))],
    Leaf!(b"AUTorange" => &H(Cmd::Autorange)),
    Branch![b"SAMPle"; Leaf!(b"RATE" => &H(Cmd::SampleRate))],
    Branch![b"TRIGger"; Leaf!(b"SOURce" => &H(Cmd::TriggerSource))],
    Branch![b"INITiate";
        Leaf!(default b"IMMediate" => &H(Cmd::Initiate)),
        Leaf!(b"CONTinuous" => &H(Cmd::Continuous))
    ],
    Leaf!(b"READ" => &H(Cmd::Read)),
    Leaf!(b"FETCh" => &H(Cmd::Fetch)),
    Leaf!(b"ESR0" => &H(Cmd::Esr0)),
    Branch![b"SYSTem";
        Leaf!(b"HEADer" => &H(Cmd::Header)),
        Leaf!(b"LFRequency" => &H(Cmd::LineFrequency)),
        Leaf!(b"ERRor" => &H(Cmd::ErrorTiming))
    ]
];

/// Simulated Hioki BT3562/BT3563.
pub struct HiokiBt356x {
    model: &'static str,
    world: Arc<World>,
    rng: StdRng,
    core: ScpiCore,
    function: Function,
    resistance_range: usize,
    voltage_range: usize,
    autorange: bool,
    sample_time: f64,
    external_trigger: bool,
    continuous: bool,
    header: bool,
    last: Option<(f64, f64)>,
    busy_until: Option<f64>,
    now: f64,
}

impl HiokiBt356x {
    /// A BT3562 (`model = "BT3562"`) or BT3563 observing `world`.
    pub fn new(model: &'static str, world: Arc<World>, seed: u64) -> Self {
        let mut dev = HiokiBt356x {
            model,
            world,
            rng: StdRng::seed_from_u64(seed),
            core: ScpiCore::power_on(),
            function: Function::ResistanceVoltage,
            resistance_range: 0,
            voltage_range: 0,
            autorange: true,
            sample_time: 0.15,
            external_trigger: false,
            continuous: true,
            header: false,
            last: None,
            busy_until: None,
            now: 0.0,
        };
        dev.reset();
        dev
    }

    fn measure(&mut self) -> (String, f64) {
        let t = self.now + self.sample_time;
        let e = self.world.tester;
        let r_true = self.world.connected_resistance();
        let v_true = self.world.tester_input_voltage();
        let r_sigma = 2e-6 + 2e-5 * r_true.unwrap_or(0.0);
        let v_sigma = 10e-6;
        let dr = Normal::new(0.0, r_sigma)
            .map(|n| n.sample(&mut self.rng))
            .unwrap_or(0.0);
        let dv = Normal::new(0.0, v_sigma)
            .map(|n| n.sample(&mut self.rng))
            .unwrap_or(0.0);
        let r = r_true.map(|r| r * (1.0 + e.resistance_gain) + e.resistance_offset + dr);
        let v = v_true * (1.0 + e.voltage_gain) + e.voltage_offset + dv;
        let r_text = match r {
            // Open measurement leads: the constant current cannot flow.
            None => RESISTANCE_RANGES[self.resistance_range].fault(),
            Some(r) => {
                if self.autorange {
                    self.resistance_range = RESISTANCE_RANGES
                        .iter()
                        .position(|g| r.abs() <= g.full_scale * OVER_RANGE)
                        .unwrap_or(RESISTANCE_RANGES.len() - 1);
                }
                let range = RESISTANCE_RANGES[self.resistance_range];
                if r.abs() > range.full_scale * OVER_RANGE {
                    range.overflow(r < 0.0)
                } else {
                    let q = (r / range.resolution()).round() * range.resolution();
                    range.format(q)
                }
            }
        };
        if self.autorange {
            self.voltage_range = VOLTAGE_RANGES
                .iter()
                .position(|g| v.abs() <= g.full_scale * 1.0)
                .unwrap_or(VOLTAGE_RANGES.len() - 1);
        }
        let vrange = VOLTAGE_RANGES[self.voltage_range];
        let v_text = if v.abs() > vrange.full_scale {
            vrange.overflow(v < 0.0)
        } else {
            vrange.format((v / vrange.resolution()).round() * vrange.resolution())
        };
        self.last = Some((r.unwrap_or(f64::NAN), v));
        let text = match self.function {
            Function::ResistanceVoltage => format!("{r_text},{v_text}"),
            Function::Resistance => r_text,
            Function::Voltage => v_text,
        };
        (text, t)
    }

    fn event(&mut self, cmd: Cmd, params: &mut Parameters) -> Result<(), Error> {
        match cmd {
            Cmd::Function => {
                let f = word(params)?;
                self.function = if f == "RV" {
                    Function::ResistanceVoltage
                } else if is(&f, "RESistance") {
                    Function::Resistance
                } else if is(&f, "VOLTage") {
                    Function::Voltage
                } else {
                    return Err(ErrorCode::IllegalParameterValue.into());
                };
            }
            Cmd::ResistanceRange => {
                let v = number(params, 0.0, 3100.0, 3e-3)?;
                // Selects the smallest range covering the value (:RES:RANG 120E-3 → 300 mΩ).
                self.resistance_range = RESISTANCE_RANGES
                    .iter()
                    .position(|g| v <= g.full_scale * OVER_RANGE)
                    .unwrap_or(RESISTANCE_RANGES.len() - 1);
                self.autorange = false;
            }
            Cmd::VoltageRange => {
                let v = number(params, -60.0, 60.0, 6.0)?.abs();
                self.voltage_range = usize::from(v > 6.0);
                self.autorange = false;
            }
            Cmd::Autorange => self.autorange = boolean(params)?,
            Cmd::SampleRate => {
                let r = word(params)?;
                self.sample_time = if is(&r, "EXFast") {
                    0.004
                } else if is(&r, "FAST") {
                    0.012
                } else if is(&r, "MEDium") {
                    0.035
                } else if is(&r, "SLOW") {
                    0.15
                } else {
                    return Err(ErrorCode::IllegalParameterValue.into());
                };
            }
            Cmd::TriggerSource => {
                let s = word(params)?;
                self.external_trigger = if is(&s, "IMMediate") {
                    false
                } else if is(&s, "EXTernal") {
                    true
                } else {
                    return Err(ErrorCode::IllegalParameterValue.into());
                };
            }
            Cmd::Continuous => self.continuous = boolean(params)?,
            Cmd::Initiate => {}
            Cmd::Header => self.header = boolean(params)?,
            Cmd::LineFrequency => {
                let w = word(params).or_else(|_| Ok::<_, Error>("AUTO".into()))?;
                let _ = w;
            }
            Cmd::ErrorTiming => {
                word(params)?;
            }
            _ => return Err(ErrorCode::UndefinedHeader.into()),
        }
        Ok(())
    }

    fn query(&mut self, cmd: Cmd, _params: &mut Parameters) -> Result<String, Error> {
        let header = |h: &str, v: String| if self.header { format!("{h} {v}") } else { v };
        Ok(match cmd {
            Cmd::Function => header(
                ":FUNCTION",
                match self.function {
                    Function::ResistanceVoltage => "RV",
                    Function::Resistance => "RESISTANCE",
                    Function::Voltage => "VOLTAGE",
                }
                .into(),
            ),
            Cmd::ResistanceRange => header(
                ":RESISTANCE:RANGE",
                format!(
                    "{:.0E}",
                    RESISTANCE_RANGES[self.resistance_range].full_scale
                ),
            ),
            Cmd::Autorange => header(
                ":AUTORANGE",
                if self.autorange { "ON" } else { "OFF" }.into(),
            ),
            Cmd::Continuous => header(
                ":INITIATE:CONTINUOUS",
                if self.continuous { "ON" } else { "OFF" }.into(),
            ),
            Cmd::Read => {
                if self.continuous || self.external_trigger {
                    // :READ? is only valid with continuous OFF and an immediate trigger.
                    return Err(ErrorCode::SettingsConflict.into());
                }
                let (text, t) = self.measure();
                self.busy_until = Some(t);
                self.core.hold_until = Some(t);
                text
            }
            Cmd::Fetch => {
                // Continuous measurement: the latest completed reading.
                self.measure().0
            }
            Cmd::Esr0 => "1".into(),
            Cmd::Header => if self.header { "ON" } else { "OFF" }.into(),
            _ => return Err(ErrorCode::UndefinedHeader.into()),
        })
    }
}

impl ScpiDevice for HiokiBt356x {
    crate::scpi_device_plumbing!(TREE);

    fn identity(&self) -> String {
        format!("HIOKI,{},0,V1.07", self.model)
    }
    fn reset(&mut self) {
        self.function = Function::ResistanceVoltage;
        self.resistance_range = 0;
        self.voltage_range = 0;
        self.autorange = true;
        self.sample_time = 0.15;
        self.external_trigger = false;
        self.continuous = true;
        self.header = false;
        self.last = None;
        self.busy_until = None;
    }

    fn intercept(&mut self, message: &[u8]) -> Option<Reply> {
        // "A query error occurs if a query command is combined with an immediately
        // following semicolon and subsequent command": nothing of the message executes.
        if let Some(q) = message.iter().position(|b| *b == b'?')
            && message[q + 1..].contains(&b';')
        {
            self.core.esr |= 0x04;
            return Some(Reply::none());
        }
        None
    }

    fn finish(&mut self, reply: Reply) -> Reply {
        // No error queue on this family: errors live only in the ESR bits.
        self.core.errors.clear();
        reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::device::SimDevice;
    use crate::sim::world::WorldConfig;

    #[test]
    fn fixed_width_formats_of_the_manual() {
        let r300m = RESISTANCE_RANGES[2];
        assert_eq!(r300m.format(1.36e-3), "    1.36E-3");
        let r3 = RESISTANCE_RANGES[3];
        assert_eq!(r3.format(-7.51), "- 7.5100E+0");
        let r30m = RESISTANCE_RANGES[1];
        assert_eq!(r30m.format(12.345e-3), "  12.345E-3");
        assert_eq!(r30m.overflow(false), " 100.000E+7");
        assert_eq!(r30m.fault(), " 100.000E+8");
        let v6 = VOLTAGE_RANGES[0];
        assert_eq!(v6.format(3.71234), " 3.71234E+0");
        assert_eq!(v6.overflow(true), "-1.00000E+9");
        assert_eq!(v6.fault(), " 1.00000E+10");
        // Every sentinel decodes to 1E+9 (overflow) or 1E+10 (fault).
        for range in RESISTANCE_RANGES.iter().chain(VOLTAGE_RANGES.iter()) {
            let of: f64 = range.overflow(false).trim().parse().expect("number");
            let fault: f64 = range.fault().trim().parse().expect("number");
            assert_eq!((of, fault), (1e9, 1e10), "{range:?}");
        }
    }

    #[test]
    fn quirks_query_error_and_read_rules() {
        let world = Arc::new(World::new(WorldConfig::default()));
        let now = world.config().start;
        world.close_switch(Some(2));
        let mut dev = HiokiBt356x::new("BT3562", world, 1);
        let text = |dev: &mut HiokiBt356x, m: &str| {
            dev.handle(m.as_bytes(), now)
                .bytes
                .map(|b| String::from_utf8_lossy(&b).into_owned())
        };
        assert_eq!(
            text(&mut dev, "*IDN?").as_deref(),
            Some("HIOKI,BT3562,0,V1.07")
        );
        assert_eq!(text(&mut dev, "*ESR?").as_deref(), Some("128"));
        // :READ? with continuous ON: execution error, no reply.
        assert_eq!(text(&mut dev, ":READ?"), None);
        assert_eq!(text(&mut dev, "*ESR?").as_deref(), Some("16"));
        assert_eq!(text(&mut dev, ":FUNC?;:FUNC RV"), None);
        assert_eq!(text(&mut dev, "*ESR?").as_deref(), Some("4"));
        assert_eq!(text(&mut dev, ":INIT:CONT OFF"), None);
        let reply = text(&mut dev, ":READ?").expect("reading");
        let (r, v) = reply.split_once(',').expect("R,V");
        let r: f64 = r.trim().replace(' ', "").parse().expect("number");
        assert!((r - (10.0008e-3 * 1.0015 + 2e-6)).abs() < 1e-5, "{r}");
        assert!(v.starts_with(' '), "{v}");
        assert_eq!(text(&mut dev, "SYST:ERR?"), None);
        assert_eq!(text(&mut dev, "*ESR?").as_deref(), Some("32"));
    }
}
