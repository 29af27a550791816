//! Simulated Keysight Truevolt 34465A DMM and DAQ970A data-acquisition system with a
//! DAQM901A multiplexer (instruments.md §3). Both parse their SCPI through the `scpi` crate.
//!
//! The DMM's input is wired at construction: either the reference cell's shunt (DC voltage)
//! or a PT100 (4-wire resistance, or temperature with `FRTD,85`, α = 0.00385 per IEC 60751).
//! The DAQ970A scans PT100 channels: 101–104 are the back-of-module sensors, 105 the
//! reference cell's sensor, 106 a shaded ambient sensor. Readings carry noise that scales
//! with 1/√NPLC, and each reading takes NPLC/50 Hz of simulated time (plus relay settling
//! on the DAQ).

use std::sync::Arc;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Normal};
use scpi::error::{Error, ErrorCode};
use scpi::parser::parameters::Parameters;
use scpi::tree::Node;
use scpi::{Branch, Leaf};

use super::device::{
    ScpiCore, ScpiDevice, boolean, channel_list, is, nr3, number, optional_channel_list,
    optional_word, word,
};
use super::world::World;

/// Mains frequency at the site [Hz].
const LINE_FREQUENCY: f64 = 50.0;

/// IEC 60751 Callendar–Van Dusen resistance of a PT100 at `t` [°C] → [Ω]
/// (standards.md §3.5 [X]: A = 3.9083e-3, B = −5.775e-7, C = −4.183e-12, R0 = 100 Ω).
fn pt100_resistance(t: f64) -> f64 {
    const A: f64 = 3.9083e-3;
    const B: f64 = -5.775e-7;
    const C: f64 = -4.183e-12;
    let cubic = if t < 0.0 {
        C * (t - 100.0) * t.powi(3)
    } else {
        0.0
    };
    100.0 * (1.0 + A * t + B * t * t + cubic)
}

/// What a simulated DMM input is wired to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DmmInput {
    /// The reference cell's shunt resistor.
    ReferenceShunt,
    /// The check reference cell's shunt resistor.
    CheckShunt,
    /// A PT100 sensor: back-of-module sensor index 0–3, 4 the reference cell, 5 ambient.
    Pt100(usize),
}

/// True temperature of PT100 `index` in the world at `t` [°C].
fn sensor_temperature(world: &World, index: usize, t: f64) -> f64 {
    match index {
        0..=3 => world.module_back_temperature(t, index),
        4 => world.reference_cell_temperature(t),
        _ => world.ambient(t),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Function {
    Voltage,
    FourWire,
    Temperature,
}

/// Commands of the 34465A tree.
#[derive(Debug, Clone, Copy)]
pub enum DmmCmd {
    /// `CONFigure:VOLTage[:DC]`
    ConfVolt,
    /// `CONFigure:FRESistance`
    ConfFres,
    /// `CONFigure:TEMPerature`
    ConfTemp,
    /// `CONFigure?`
    Conf,
    /// `MEASure:VOLTage[:DC]?`
    MeasVolt,
    /// `MEASure:FRESistance?`
    MeasFres,
    /// `MEASure:TEMPerature?`
    MeasTemp,
    /// `[SENSe:]VOLTage[:DC]:NPLC`, `TEMPerature:NPLC`, `FRESistance:NPLC`
    Nplc,
    /// `[SENSe:]VOLTage[:DC]:RANGe[:UPPer]`
    Range,
    /// `[SENSe:]VOLTage[:DC]:RANGe:AUTO`
    RangeAuto,
    /// `…:ZERO:AUTO` and `…:IMPedance:AUTO` (accepted, stored)
    Flag,
    /// `TEMPerature:TRANsducer:TYPE`, `…:FRTD:RESistance` (accepted)
    Transducer,
    /// `UNIT:TEMPerature`
    UnitTemp,
    /// `TRIGger:SOURce`, `TRIGger:COUNt`
    Trigger,
    /// `SAMPle:COUNt`
    SampleCount,
    /// `READ?`
    Read,
    /// `INITiate`
    Init,
    /// `FETCh?`
    Fetch,
}

crate::device_handler!(D, DmmCmd, Keysight34465a);

const DMM_TREE: Node<Keysight34465a> = crate::scpi_root![
    Branch![default b"SENSe";
        Branch![b"VOLTage";
            Branch![default b"DC";
                Leaf!(b"NPLCycles" => &D(DmmCmd::Nplc)),
                Branch![b"RANGe"; Leaf!(default b"UPPer" => &D(DmmCmd::Range)), Leaf!(b"AUTO" => &D(DmmCmd::RangeAuto))],
                Branch![b"ZERO"; Leaf!(b"AUTO" => &D(DmmCmd::Flag))],
                Branch![b"IMPedance"; Leaf!(b"AUTO" => &D(DmmCmd::Flag))]
            ]
        ],
        Branch![b"FRESistance"; Leaf!(b"NPLCycles" => &D(DmmCmd::Nplc))],
        Branch![b"TEMPerature";
            Leaf!(b"NPLCycles" => &D(DmmCmd::Nplc)),
            Branch![b"TRANsducer";
                Leaf!(b"TYPE" => &D(DmmCmd::Transducer)),
                Branch![b"FRTD"; Leaf!(b"RESistance" => &D(DmmCmd::Transducer))]
            ]
        ]
    ],
    Branch![b"CONFigure" => &D(DmmCmd::Conf);
        Branch![b"VOLTage"; Leaf!(default b"DC" => &D(DmmCmd::ConfVolt))],
        Leaf!(b"FRESistance" => &D(DmmCmd::ConfFres)),
        Leaf!(b"TEMPerature" => &D(DmmCmd::ConfTemp))
    ],
    Branch![b"MEASure";
        Branch![b"VOLTage"; Leaf!(default b"DC" => &D(DmmCmd::MeasVolt))],
        Leaf!(b"FRESistance" => &D(DmmCmd::MeasFres)),
        Leaf!(b"TEMPerature" => &D(DmmCmd::MeasTemp))
    ],
    Branch![b"UNIT"; Leaf!(b"TEMPerature" => &D(DmmCmd::UnitTemp))],
    Branch![b"TRIGger"; Leaf!(b"SOURce" => &D(DmmCmd::Trigger)), Leaf!(b"COUNt" => &D(DmmCmd::Trigger))],
    Branch![b"SAMPle"; Leaf!(b"COUNt" => &D(DmmCmd::SampleCount))],
    Leaf!(b"READ" => &D(DmmCmd::Read)),
    Branch![b"INITiate"; Leaf!(default b"IMMediate" => &D(DmmCmd::Init))],
    Leaf!(b"FETCh" => &D(DmmCmd::Fetch)),
    Branch![b"SYSTem"; crate::syst_err_branch!()]
];

/// Simulated Keysight 34465A.
pub struct Keysight34465a {
    serial: String,
    input: DmmInput,
    world: Arc<World>,
    rng: StdRng,
    core: ScpiCore,
    function: Function,
    range: f64,
    autorange: bool,
    nplc: f64,
    samples: u32,
    last: Vec<f64>,
    busy_until: Option<f64>,
    now: f64,
}

const VOLT_RANGES: [f64; 5] = [0.1, 1.0, 10.0, 100.0, 1000.0];

impl Keysight34465a {
    /// A DMM whose input is wired to `input`.
    pub fn new(serial: &str, input: DmmInput, world: Arc<World>, seed: u64) -> Self {
        let mut dmm = Keysight34465a {
            serial: serial.to_string(),
            input,
            world,
            rng: StdRng::seed_from_u64(seed),
            core: ScpiCore::power_on(),
            function: Function::Voltage,
            range: 10.0,
            autorange: true,
            nplc: 10.0,
            samples: 1,
            last: Vec::new(),
            busy_until: None,
            now: 0.0,
        };
        dmm.reset();
        dmm
    }

    fn configure(&mut self, function: Function, params: &mut Parameters) -> Result<(), Error> {
        self.function = function;
        self.samples = 1;
        if function == Function::Voltage {
            match optional_word_or_number(params)? {
                Some(RangeArg::Auto) | None => self.autorange = true,
                Some(RangeArg::Value(v)) => {
                    self.range = VOLT_RANGES
                        .iter()
                        .copied()
                        .find(|r| *r >= v * 0.999)
                        .ok_or(Error::new(ErrorCode::DataOutOfRange))?;
                    self.autorange = false;
                }
            }
        } else {
            // `FRTD[,85]` for temperature; range/resolution arguments accepted and ignored.
            while optional_word_or_number(params)?.is_some() {}
        }
        Ok(())
    }

    fn true_value(&self, t: f64) -> f64 {
        match (self.function, self.input) {
            (Function::Voltage, DmmInput::ReferenceShunt) => self.world.reference_shunt_voltage(t),
            (Function::Voltage, DmmInput::CheckShunt) => self.world.check_shunt_voltage(t),
            // A PT100 on a voltage input reads the (tiny) thermoelectric offset.
            (Function::Voltage, DmmInput::Pt100(_)) => 2e-6,
            (Function::FourWire, DmmInput::Pt100(i)) => {
                pt100_resistance(sensor_temperature(&self.world, i, t))
            }
            (Function::Temperature, DmmInput::Pt100(i)) => sensor_temperature(&self.world, i, t),
            // A shunt carrying current on an ohms or RTD input: overload.
            (_, DmmInput::ReferenceShunt | DmmInput::CheckShunt) => f64::INFINITY,
        }
    }

    fn measure(&mut self) -> Vec<f64> {
        let dt = self.nplc / LINE_FREQUENCY + 0.001;
        let mut t = self.now;
        let mut values = Vec::new();
        for _ in 0..self.samples.max(1) {
            t += dt;
            let v = self.true_value(t);
            let noise_scale = (1.0 / self.nplc.max(0.001)).sqrt();
            let sigma = match self.function {
                Function::Voltage => (self.range * 3e-7 + v.abs() * 1e-6) * noise_scale,
                Function::FourWire => 2e-4 * noise_scale,
                Function::Temperature => 5e-3 * noise_scale,
            };
            let noise = Normal::new(0.0, sigma)
                .map(|n| n.sample(&mut self.rng))
                .unwrap_or(0.0);
            let range = if self.function == Function::Voltage {
                if self.autorange {
                    VOLT_RANGES
                        .iter()
                        .copied()
                        .find(|r| v.abs() <= r * 1.2)
                        .unwrap_or(1000.0)
                } else {
                    self.range
                }
            } else {
                f64::INFINITY
            };
            values.push(if !v.is_finite() || v.abs() > range * 1.2 {
                // ±overload is reported as ±9.9E+37 (instruments.md §1.8).
                9.9e37 * if v < 0.0 { -1.0 } else { 1.0 }
            } else {
                v + noise
            });
        }
        self.busy_until = Some(t);
        self.last = values.clone();
        values
    }

    fn format(values: &[f64]) -> String {
        values
            .iter()
            .map(|v| nr3(*v, 8, true))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn event(&mut self, cmd: DmmCmd, params: &mut Parameters) -> Result<(), Error> {
        match cmd {
            DmmCmd::ConfVolt => self.configure(Function::Voltage, params)?,
            DmmCmd::ConfFres => self.configure(Function::FourWire, params)?,
            DmmCmd::ConfTemp => self.configure(Function::Temperature, params)?,
            DmmCmd::Nplc => {
                let v = number(params, 0.001, 100.0, 10.0)?;
                // Truevolt accepts 0.001…100 PLC and rounds to the nearest supported value.
                self.nplc = [0.001, 0.002, 0.006, 0.02, 0.06, 0.2, 1.0, 10.0, 100.0]
                    .into_iter()
                    .min_by(|a, b| (a - v).abs().total_cmp(&(b - v).abs()))
                    .unwrap_or(10.0);
            }
            DmmCmd::Range => {
                let v = number(params, 0.0, 1000.0, 10.0)?;
                self.range = VOLT_RANGES
                    .iter()
                    .copied()
                    .find(|r| *r >= v * 0.999)
                    .unwrap_or(1000.0);
                self.autorange = false;
            }
            DmmCmd::RangeAuto => self.autorange = boolean(params)?,
            DmmCmd::Flag => {
                boolean(params)?;
            }
            DmmCmd::Transducer => while optional_word_or_number(params)?.is_some() {},
            DmmCmd::UnitTemp => {
                let u = word(params)?;
                if u != "C" {
                    return Err(Error::custom(-221, b"Settings conflict;only C simulated"));
                }
            }
            DmmCmd::Trigger => while optional_word_or_number(params)?.is_some() {},
            DmmCmd::SampleCount => self.samples = number(params, 1.0, 1_000_000.0, 1.0)? as u32,
            DmmCmd::Init => {
                self.measure();
            }
            _ => return Err(ErrorCode::UndefinedHeader.into()),
        }
        Ok(())
    }

    fn query(&mut self, cmd: DmmCmd, params: &mut Parameters) -> Result<String, Error> {
        Ok(match cmd {
            DmmCmd::Conf => {
                let f = match self.function {
                    Function::Voltage => "VOLT",
                    Function::FourWire => "FRES",
                    Function::Temperature => "TEMP",
                };
                format!(
                    "\"{f} {},{}\"",
                    nr3(self.range, 6, true),
                    nr3(self.range * 1e-6, 6, true)
                )
            }
            DmmCmd::MeasVolt | DmmCmd::MeasFres | DmmCmd::MeasTemp => {
                let f = match cmd {
                    DmmCmd::MeasVolt => Function::Voltage,
                    DmmCmd::MeasFres => Function::FourWire,
                    _ => Function::Temperature,
                };
                self.configure(f, params)?;
                let values = self.measure();
                Self::format(&values)
            }
            DmmCmd::Read => {
                let values = self.measure();
                Self::format(&values)
            }
            DmmCmd::Fetch => {
                if self.last.is_empty() {
                    return Err(Error::custom(-230, b"Data corrupt or stale"));
                }
                self.core.hold_until = self.busy_until.filter(|b| *b > self.now);
                Self::format(&self.last)
            }
            DmmCmd::Nplc => nr3(self.nplc, 8, true),
            DmmCmd::Range => nr3(self.range, 8, true),
            DmmCmd::RangeAuto => u8::from(self.autorange).to_string(),
            DmmCmd::SampleCount => self.samples.to_string(),
            DmmCmd::UnitTemp => "C".into(),
            _ => return Err(ErrorCode::UndefinedHeader.into()),
        })
    }
}

enum RangeArg {
    Auto,
    Value(f64),
}

/// A range-like argument: `AUTO`/`DEF`/`MIN`/`MAX`, a number, or another word (`FRTD`).
fn optional_word_or_number(params: &mut Parameters) -> Result<Option<RangeArg>, Error> {
    use scpi::parser::tokenizer::Token;
    match params.next_optional_token()? {
        None => Ok(None),
        Some(Token::CharacterProgramData(s)) => {
            let w = String::from_utf8_lossy(s).to_ascii_uppercase();
            Ok(Some(match w.as_str() {
                "MIN" | "MINIMUM" => RangeArg::Value(0.1),
                "MAX" | "MAXIMUM" => RangeArg::Value(1000.0),
                _ => RangeArg::Auto,
            }))
        }
        Some(Token::ExpressionProgramData(_)) => Ok(Some(RangeArg::Auto)),
        Some(t) => {
            let v: f64 = t.try_into()?;
            Ok(Some(RangeArg::Value(v)))
        }
    }
}

impl ScpiDevice for Keysight34465a {
    const REPLY_WAITS_FOR_OPERATION: bool = true;

    crate::scpi_device_plumbing!(DMM_TREE);

    fn identity(&self) -> String {
        format!(
            "Keysight Technologies,34465A,{},A.03.02-03.15-03.02-00.52-03-02",
            self.serial
        )
    }
    fn reset(&mut self) {
        self.function = Function::Voltage;
        self.range = 10.0;
        self.autorange = true;
        self.nplc = 10.0;
        self.samples = 1;
        self.last.clear();
        self.busy_until = None;
    }
}

/// Commands of the DAQ970A tree.
#[derive(Debug, Clone, Copy)]
pub enum DaqCmd {
    /// `CONFigure:TEMPerature <probe>,<type>,(@list)`
    ConfTemp,
    /// `ROUTe:SCAN (@list)` / `ROUTe:SCAN?`
    Scan,
    /// `FORMat:READing:CHANnel`
    FormChannel,
    /// `FORMat:READing:TIME`
    FormTime,
    /// `FORMat:READing:TIME:TYPE`
    FormTimeType,
    /// `FORMat:READing:UNIT`
    FormUnit,
    /// `TRIGger:SOURce`, `TRIGger:TIMer`
    Trigger,
    /// `TRIGger:COUNt`
    TriggerCount,
    /// `INITiate`
    Init,
    /// `FETCh?`
    Fetch,
    /// `READ?`
    Read,
    /// `MEASure:TEMPerature? <probe>,<type>,(@list)`
    MeasTemp,
    /// `[SENSe:]TEMPerature:TRANsducer:…`, `TEMPerature:NPLC` (accepted)
    Transducer,
    /// `[SENSe:]TEMPerature:NPLC <n>,(@list)`
    Nplc,
    /// `UNIT:TEMPerature`
    UnitTemp,
}

crate::device_handler!(Q, DaqCmd, Daq970a);

const DAQ_TREE: Node<Daq970a> = crate::scpi_root![
    Branch![default b"SENSe";
        Branch![b"TEMPerature";
            Leaf!(b"NPLCycles" => &Q(DaqCmd::Nplc)),
            Branch![b"TRANsducer";
                Leaf!(b"TYPE" => &Q(DaqCmd::Transducer)),
                Branch![b"FRTD";
                    Leaf!(b"TYPE" => &Q(DaqCmd::Transducer)),
                    Leaf!(b"RESistance" => &Q(DaqCmd::Transducer))
                ]
            ]
        ]
    ],
    Branch![b"CONFigure"; Leaf!(b"TEMPerature" => &Q(DaqCmd::ConfTemp))],
    Branch![b"MEASure"; Leaf!(b"TEMPerature" => &Q(DaqCmd::MeasTemp))],
    Branch![b"ROUTe"; Leaf!(b"SCAN" => &Q(DaqCmd::Scan))],
    Branch![b"FORMat";
        Branch![b"READing";
            Leaf!(b"CHANnel" => &Q(DaqCmd::FormChannel)),
            Branch![b"TIME" => &Q(DaqCmd::FormTime); Leaf!(b"TYPE" => &Q(DaqCmd::FormTimeType))],
            Leaf!(b"UNIT" => &Q(DaqCmd::FormUnit))
        ]
    ],
    Branch![b"TRIGger";
        Leaf!(b"SOURce" => &Q(DaqCmd::Trigger)),
        Leaf!(b"TIMer" => &Q(DaqCmd::Trigger)),
        Leaf!(b"COUNt" => &Q(DaqCmd::TriggerCount))
    ],
    Branch![b"INITiate"; Leaf!(default b"IMMediate" => &Q(DaqCmd::Init))],
    Leaf!(b"FETCh" => &Q(DaqCmd::Fetch)),
    Leaf!(b"READ" => &Q(DaqCmd::Read)),
    Branch![b"UNIT"; Leaf!(b"TEMPerature" => &Q(DaqCmd::UnitTemp))],
    Branch![b"SYSTem"; crate::syst_err_branch!()]
];

#[derive(Debug, Clone, Copy)]
struct ScanReading {
    value: f64,
    time: f64,
    channel: u32,
}

/// Simulated Keysight DAQ970A with a DAQM901A in slot 1.
pub struct Daq970a {
    serial: String,
    world: Arc<World>,
    rng: StdRng,
    core: ScpiCore,
    rtd_channels: Vec<u32>,
    scan: Vec<u32>,
    nplc: f64,
    show_channel: bool,
    show_time: bool,
    absolute_time: bool,
    show_unit: bool,
    sweeps: u32,
    readings: Vec<ScanReading>,
    scan_start: f64,
    busy_until: Option<f64>,
    now: f64,
}

/// Relay settling and overhead per scanned channel [s].
const CHANNEL_OVERHEAD: f64 = 0.012;

impl Daq970a {
    /// A DAQ970A observing `world`.
    pub fn new(serial: &str, world: Arc<World>, seed: u64) -> Self {
        Daq970a {
            serial: serial.to_string(),
            world,
            rng: StdRng::seed_from_u64(seed),
            core: ScpiCore::power_on(),
            rtd_channels: Vec::new(),
            scan: Vec::new(),
            nplc: 1.0,
            show_channel: false,
            show_time: false,
            absolute_time: false,
            show_unit: false,
            sweeps: 1,
            readings: Vec::new(),
            scan_start: 0.0,
            busy_until: None,
            now: 0.0,
        }
    }

    fn check_channels(channels: &[u32]) -> Result<(), Error> {
        // DAQM901A: channels 101–120 (4-wire pairs n with n+10, so 101–110 usable).
        if channels.iter().any(|c| !(101..=110).contains(c)) {
            return Err(Error::custom(
                -224,
                b"Illegal parameter value;channel not on a 4-wire DAQM901A",
            ));
        }
        Ok(())
    }

    fn probe_args(params: &mut Parameters) -> Result<Option<Vec<u32>>, Error> {
        // <probe_type>,<type>[,1[,<resolution>]],(@list)
        let probe = word(params)?;
        if probe != "FRTD" {
            return Err(Error::custom(
                -221,
                b"Settings conflict;only FRTD simulated",
            ));
        }
        loop {
            use scpi::parser::tokenizer::Token;
            match params.next_optional_token()? {
                None => return Ok(None),
                Some(Token::ExpressionProgramData(s)) => {
                    let list = super::device::parse_channel_list(s)?;
                    Self::check_channels(&list)?;
                    return Ok(Some(list));
                }
                Some(_) => {}
            }
        }
    }

    fn run_scan(&mut self) -> Result<(), Error> {
        if self.scan.is_empty() {
            return Err(Error::custom(-221, b"Settings conflict;empty scan list"));
        }
        if self.scan.iter().any(|c| !self.rtd_channels.contains(c)) {
            return Err(Error::custom(
                -221,
                b"Settings conflict;channel not configured for FRTD",
            ));
        }
        self.readings.clear();
        self.scan_start = self.now;
        let mut t = self.now;
        let dt = CHANNEL_OVERHEAD + self.nplc / LINE_FREQUENCY;
        let sigma = 4e-3 / self.nplc.max(0.02).sqrt();
        for _ in 0..self.sweeps.max(1) {
            for &channel in &self.scan {
                t += dt;
                let index = (channel - 101) as usize;
                let value = sensor_temperature(&self.world, index, t)
                    + Normal::new(0.0, sigma)
                        .map(|n| n.sample(&mut self.rng))
                        .unwrap_or(0.0);
                self.readings.push(ScanReading {
                    value,
                    time: t,
                    channel,
                });
            }
        }
        self.busy_until = Some(t);
        Ok(())
    }

    fn format_readings(&self) -> String {
        self.readings
            .iter()
            .map(|r| {
                let mut fields = vec![if self.show_unit {
                    format!("{} C", nr3(r.value, 8, true))
                } else {
                    nr3(r.value, 8, true)
                }];
                if self.show_time {
                    fields.push(if self.absolute_time {
                        let secs = r.time;
                        let day = secs.rem_euclid(86_400.0);
                        format!(
                            "1970,01,01,{:02},{:02},{:06.3}",
                            (day / 3600.0) as u32,
                            ((day % 3600.0) / 60.0) as u32,
                            day % 60.0
                        )
                    } else {
                        format!("{:013.3}", r.time - self.scan_start)
                    });
                }
                if self.show_channel {
                    fields.push(r.channel.to_string());
                }
                fields.join(",")
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    fn event(&mut self, cmd: DaqCmd, params: &mut Parameters) -> Result<(), Error> {
        match cmd {
            DaqCmd::ConfTemp => {
                let list =
                    Self::probe_args(params)?.ok_or(Error::new(ErrorCode::MissingParameter))?;
                for c in &list {
                    if !self.rtd_channels.contains(c) {
                        self.rtd_channels.push(*c);
                    }
                }
                self.scan = list;
                // CONFigure turns the reading-format fields off (instruments.md §3.3).
                self.show_channel = false;
                self.show_time = false;
                self.show_unit = false;
            }
            DaqCmd::Scan => {
                let list = channel_list(params)?;
                Self::check_channels(&list)?;
                self.scan = list;
            }
            DaqCmd::FormChannel => self.show_channel = boolean(params)?,
            DaqCmd::FormTime => self.show_time = boolean(params)?,
            DaqCmd::FormTimeType => {
                let w = word(params)?;
                self.absolute_time = is(&w, "ABSolute");
            }
            DaqCmd::FormUnit => self.show_unit = boolean(params)?,
            DaqCmd::Trigger => {
                let _ = optional_word(params).unwrap_or(None);
            }
            DaqCmd::TriggerCount => self.sweeps = number(params, 1.0, 1e6, 1.0)? as u32,
            DaqCmd::Init => self.run_scan()?,
            DaqCmd::Transducer => while params.next_optional_token()?.is_some() {},
            DaqCmd::Nplc => {
                self.nplc = number(params, 0.02, 200.0, 1.0)?;
                let _ = optional_channel_list(params)?;
            }
            DaqCmd::UnitTemp => {
                let u = word(params)?;
                if u != "C" {
                    return Err(Error::custom(-221, b"Settings conflict;only C simulated"));
                }
                let _ = optional_channel_list(params)?;
            }
            _ => return Err(ErrorCode::UndefinedHeader.into()),
        }
        Ok(())
    }

    fn query(&mut self, cmd: DaqCmd, params: &mut Parameters) -> Result<String, Error> {
        Ok(match cmd {
            DaqCmd::Scan => {
                let list: Vec<String> = self.scan.iter().map(u32::to_string).collect();
                format!("(@{})", list.join(","))
            }
            DaqCmd::Read => {
                self.run_scan()?;
                self.format_readings()
            }
            DaqCmd::Fetch => {
                if self.readings.is_empty() {
                    return Err(Error::custom(-230, b"Data corrupt or stale"));
                }
                self.core.hold_until = self.busy_until.filter(|b| *b > self.now);
                self.format_readings()
            }
            DaqCmd::MeasTemp => {
                let list =
                    Self::probe_args(params)?.ok_or(Error::new(ErrorCode::MissingParameter))?;
                for c in &list {
                    if !self.rtd_channels.contains(c) {
                        self.rtd_channels.push(*c);
                    }
                }
                self.scan = list;
                self.show_channel = false;
                self.show_time = false;
                self.show_unit = false;
                self.run_scan()?;
                self.format_readings()
            }
            DaqCmd::FormChannel => u8::from(self.show_channel).to_string(),
            DaqCmd::FormTime => u8::from(self.show_time).to_string(),
            DaqCmd::FormUnit => u8::from(self.show_unit).to_string(),
            DaqCmd::TriggerCount => self.sweeps.to_string(),
            _ => return Err(ErrorCode::UndefinedHeader.into()),
        })
    }
}

impl ScpiDevice for Daq970a {
    const REPLY_WAITS_FOR_OPERATION: bool = true;

    crate::scpi_device_plumbing!(DAQ_TREE);

    fn identity(&self) -> String {
        format!(
            "Keysight Technologies,DAQ970A,{},A.03.01-01.00-03.01-00.02-02-01",
            self.serial
        )
    }
    fn reset(&mut self) {
        self.rtd_channels.clear();
        self.scan.clear();
        self.nplc = 1.0;
        self.show_channel = false;
        self.show_time = false;
        self.absolute_time = false;
        self.show_unit = false;
        self.sweeps = 1;
        self.readings.clear();
        self.busy_until = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::device::SimDevice;
    use crate::sim::world::WorldConfig;

    fn world() -> (Arc<World>, f64) {
        let world = Arc::new(World::new(WorldConfig::default()));
        let now = world.config().start;
        (world, now)
    }

    fn text(dev: &mut dyn SimDevice, msg: &str, now: f64) -> Option<String> {
        dev.handle(msg.as_bytes(), now)
            .bytes
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    #[test]
    fn pt100_follows_iec_60751() {
        assert!((pt100_resistance(0.0) - 100.0).abs() < 1e-12);
        // IEC 60751 table: 100 °C → 138.5055 Ω, −50 °C → 80.3063 Ω.
        assert!((pt100_resistance(100.0) - 138.5055).abs() < 1e-4);
        assert!((pt100_resistance(-50.0) - 80.3063).abs() < 1e-4);
    }

    #[test]
    fn dmm_reads_the_shunt_and_overloads_on_a_small_range() {
        let (world, now) = world();
        let expected = world.reference_shunt_voltage(now);
        let mut dmm = Keysight34465a::new("MY600", DmmInput::ReferenceShunt, world, 3);
        assert_eq!(text(&mut dmm, "CONF:VOLT:DC 1", now), None);
        assert_eq!(text(&mut dmm, "VOLT:DC:NPLC 10", now), None);
        let v: f64 = text(&mut dmm, "READ?", now)
            .expect("reading")
            .parse()
            .expect("number");
        assert!(
            (v - expected).abs() < 1e-3 * expected.abs() + 1e-5,
            "{v} vs {expected}"
        );
        assert_eq!(text(&mut dmm, "CONF:VOLT:DC 0.01", now), None);
        assert_eq!(
            text(&mut dmm, "READ?", now).as_deref(),
            Some("+9.90000000E+37")
        );
        assert_eq!(
            text(&mut dmm, "SYST:ERR?", now).as_deref(),
            Some("0,\"No error\"")
        );
    }

    #[test]
    fn daq_scans_with_formatted_fields() {
        let (world, now) = world();
        let mut daq = Daq970a::new("MY5800", world, 4);
        for cmd in [
            "CONF:TEMP FRTD,85,(@101:104)",
            "ROUT:SCAN (@101:104)",
            "FORM:READ:CHAN ON",
            "FORM:READ:UNIT ON",
        ] {
            assert_eq!(text(&mut daq, cmd, now), None, "{cmd}");
        }
        let reply = text(&mut daq, "READ?", now).expect("readings");
        let fields: Vec<&str> = reply.split(',').collect();
        assert_eq!(fields.len(), 8, "{reply}");
        assert_eq!(fields[1], "101");
        assert!(fields[0].ends_with(" C"));
        assert_eq!(text(&mut daq, "ROUT:SCAN (@101,150)", now), None);
        assert!(
            text(&mut daq, "SYST:ERR?", now)
                .expect("reply")
                .starts_with("-224")
        );
    }
}
