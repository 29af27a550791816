//! Simulated Keithley 2460/2461 SourceMeter in its native SCPI dialect (`*LANG SCPI`), as in
//! reference manual 2460-901-01 and instruments.md §2.1: sweeps are built by
//! `:SOURce:SWEep:VOLTage:LINear` (or `:LIST`) into a trigger model, started by `:INITiate`,
//! and read from the reading buffer with `:TRACe:DATA?`, whose indices count readings.
//!
//! Physics: the SMU forces voltage; the PV module at the world's irradiance and temperature
//! drives current *into* the SMU, which therefore reads negative current in the power
//! quadrant (Keithley's own solar examples take the most negative V·I). With 2-wire sensing
//! the lead resistance adds to the module's series resistance; 4-wire (`:SENS:CURR:RSEN ON`)
//! removes it. Each point takes `delay + NPLC/50 Hz + overhead` of simulated time.

use std::sync::Arc;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Normal};
use scpi::error::{Error, ErrorCode};
use scpi::parser::parameters::Parameters;
use scpi::tree::Node;
use scpi::{Branch, Leaf};

use super::device::{
    Reply, ScpiCore, ScpiDevice, boolean, is, nr3, number, optional_number, optional_word, word,
};
use super::world::World;
use crate::scpi::block::{ByteOrder, encode_real32_block, encode_real64_block};

/// Resistance of the test leads, both conductors [Ω].
const LEAD_RESISTANCE: f64 = 0.12;
/// Per-point overhead of the trigger model [s].
const POINT_OVERHEAD: f64 = 0.0005;
/// Mains frequency at the site [Hz].
const LINE_FREQUENCY: f64 = 50.0;

/// Limits of a 2460/2461 model.
#[derive(Debug, Clone, Copy)]
pub struct SmuLimits {
    /// Largest voltage [V].
    pub max_voltage: f64,
    /// Largest current limit [A].
    pub max_current: f64,
}

/// Reading-buffer format (`:FORMat:DATA`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Ascii,
    Real,
    Sreal,
}

#[derive(Debug, Clone, Copy)]
struct BufferReading {
    time: f64,
    source: f64,
    reading: f64,
}

#[derive(Debug, Clone)]
struct Settings {
    nplc: f64,
    four_wire: bool,
    current_range: f64,
    current_autorange: bool,
    source_voltage: f64,
    voltage_range: f64,
    current_limit: f64,
    readback: bool,
    output: bool,
    sweep: Vec<f64>,
    sweep_delay: f64,
    sweep_count: u32,
    fail_abort: bool,
    list: Vec<f64>,
    format: Format,
    byte_order: ByteOrder,
}

impl Settings {
    fn defaults() -> Self {
        Settings {
            nplc: 1.0,
            four_wire: false,
            current_range: 1e-4,
            current_autorange: true,
            source_voltage: 0.0,
            voltage_range: 20.0,
            current_limit: 1.05e-4,
            readback: true,
            output: false,
            sweep: Vec::new(),
            sweep_delay: 0.0,
            sweep_count: 1,
            fail_abort: true,
            list: Vec::new(),
            format: Format::Ascii,
            byte_order: ByteOrder::LittleEndian,
        }
    }
}

/// Commands of the 2460 tree.
#[derive(Debug, Clone, Copy)]
pub enum Cmd {
    /// `[:SENSe]:FUNCtion`
    SenseFunction,
    /// `[:SENSe]:CURRent:RANGe[:UPPer]`
    CurrentRange,
    /// `[:SENSe]:CURRent:RANGe:AUTO`
    CurrentRangeAuto,
    /// `[:SENSe]:CURRent:NPLCycles`
    Nplc,
    /// `[:SENSe]:CURRent:RSENse`
    RemoteSense,
    /// `:SOURce:FUNCtion[:MODE]`
    SourceFunction,
    /// `:SOURce:VOLTage[:LEVel]`
    SourceLevel,
    /// `:SOURce:VOLTage:RANGe`
    SourceRange,
    /// `:SOURce:VOLTage:ILIMit[:LEVel]`
    CurrentLimit,
    /// `:SOURce:VOLTage:ILIMit:TRIPped?`
    LimitTripped,
    /// `:SOURce:VOLTage:READ:BACK`
    Readback,
    /// `:SOURce:SWEep:VOLTage:LINear`
    SweepLinear,
    /// `:SOURce:SWEep:VOLTage:LINear:STEP`
    SweepLinearStep,
    /// `:SOURce:SWEep:VOLTage:LIST`
    SweepList,
    /// `:SOURce:LIST:VOLTage`
    ListVoltage,
    /// `:INITiate[:IMMediate]`
    Initiate,
    /// `:ABORt`
    Abort,
    /// `:OUTPut[:STATe]`
    Output,
    /// `:TRACe:DATA?`
    TraceData,
    /// `:TRACe:ACTual?`
    TraceActual,
    /// `:TRACe:CLEar`
    TraceClear,
    /// `:FORMat[:DATA]`
    FormatData,
    /// `:FORMat:BORDer`
    ByteOrder,
    /// `:MEASure[:CURRent]?`, `:READ?`
    Measure,
    /// `*LANG`
    Language,
    /// `:STATus:PRESet`
    StatusPreset,
}

crate::device_handler!(K, Cmd, Keithley24xx);

const TREE: Node<Keithley24xx> = crate::scpi_root![
    Leaf!(b"*LANG" => &K(Cmd::Language)),
    Branch![default b"SENSe";
        Leaf!(default b"FUNCtion" => &K(Cmd::SenseFunction)),
        Branch![b"CURRent";
            Branch![b"RANGe";
                Leaf!(default b"UPPer" => &K(Cmd::CurrentRange)),
                Leaf!(b"AUTO" => &K(Cmd::CurrentRangeAuto))
            ],
            Leaf!(b"NPLCycles" => &K(Cmd::Nplc)),
            Leaf!(b"RSENse" => &K(Cmd::RemoteSense))
        ]
    ],
    Branch![b"SOURce";
        Branch![b"FUNCtion"; Leaf!(default b"MODE" => &K(Cmd::SourceFunction))],
        Branch![b"VOLTage";
            Leaf!(default b"LEVel" => &K(Cmd::SourceLevel)),
            Leaf!(b"RANGe" => &K(Cmd::SourceRange)),
            Branch![b"ILIMit";
                Leaf!(default b"LEVel" => &K(Cmd::CurrentLimit)),
                Leaf!(b"TRIPped" => &K(Cmd::LimitTripped))
            ],
            Branch![b"READ"; Leaf!(b"BACK" => &K(Cmd::Readback))]
        ],
        Branch![b"SWEep";
            Branch![b"VOLTage";
                Branch![b"LINear" => &K(Cmd::SweepLinear);
                    Leaf!(b"STEP" => &K(Cmd::SweepLinearStep))
                ],
                Leaf!(b"LIST" => &K(Cmd::SweepList))
            ]
        ],
        Branch![b"LIST"; Leaf!(b"VOLTage" => &K(Cmd::ListVoltage))]
    ],
    Branch![b"INITiate"; Leaf!(default b"IMMediate" => &K(Cmd::Initiate))],
    Leaf!(b"ABORt" => &K(Cmd::Abort)),
    Branch![b"OUTPut"; Leaf!(default b"STATe" => &K(Cmd::Output))],
    Branch![b"TRACe";
        Leaf!(b"DATA" => &K(Cmd::TraceData)),
        Leaf!(b"ACTual" => &K(Cmd::TraceActual)),
        Leaf!(b"CLEar" => &K(Cmd::TraceClear))
    ],
    Branch![b"FORMat";
        Leaf!(default b"DATA" => &K(Cmd::FormatData)),
        Leaf!(b"BORDer" => &K(Cmd::ByteOrder))
    ],
    Branch![b"MEASure"; Leaf!(default b"CURRent" => &K(Cmd::Measure))],
    Leaf!(b"READ" => &K(Cmd::Measure)),
    Branch![b"STATus"; Leaf!(b"PRESet" => &K(Cmd::StatusPreset))],
    Branch![b"SYSTem"; crate::syst_err_branch!()]
];

/// Simulated Keithley 2460 or 2461.
pub struct Keithley24xx {
    model: &'static str,
    serial: String,
    limits: SmuLimits,
    world: Arc<World>,
    rng: StdRng,
    core: ScpiCore,
    settings: Settings,
    buffer: Vec<BufferReading>,
    busy_until: Option<f64>,
    tripped: bool,
    now: f64,
    binary: Option<Vec<u8>>,
}

impl Keithley24xx {
    /// A 2460 (7 A, 100 V) or 2461 (`model = "2461"`, 7 A DC, 100 V) observing `world`.
    pub fn new(model: &'static str, serial: &str, world: Arc<World>, seed: u64) -> Self {
        Keithley24xx {
            model,
            serial: serial.to_string(),
            limits: SmuLimits {
                max_voltage: 105.0,
                max_current: 7.35,
            },
            world,
            rng: StdRng::seed_from_u64(seed),
            core: ScpiCore::power_on(),
            settings: Settings::defaults(),
            buffer: Vec::new(),
            busy_until: None,
            tripped: false,
            now: 0.0,
            binary: None,
        }
    }

    fn point_time(&self) -> f64 {
        self.settings.sweep_delay + self.settings.nplc / LINE_FREQUENCY + POINT_OVERHEAD
    }

    /// One measurement at source voltage `v` at time `t`: (source readback, current reading).
    fn measure_at(&mut self, v: f64, t: f64) -> (f64, f64) {
        let s = &self.settings;
        if !s.output {
            return (v, 0.0);
        }
        let g = self.world.module_irradiance(t);
        let temp = self.world.module_temperature(t);
        let mut diode = self.world.module.at(g, temp);
        if !s.four_wire {
            diode.resistance_series += LEAD_RESISTANCE;
        }
        let generated = diode.current(v);
        // The SMU reads current flowing out of its HI terminal as positive: a generator
        // pushing current in reads negative.
        let mut reading = -generated;
        if reading.abs() > s.current_limit {
            reading = reading.signum() * s.current_limit;
            self.tripped = true;
        }
        let integration = s.nplc.max(0.01).sqrt();
        let i_noise = (2e-5 + 1e-4 * reading.abs()) / integration;
        let v_noise = 1e-4 / integration;
        let di = Normal::new(0.0, i_noise)
            .map(|n| n.sample(&mut self.rng))
            .unwrap_or(0.0);
        let dv = Normal::new(0.0, v_noise)
            .map(|n| n.sample(&mut self.rng))
            .unwrap_or(0.0);
        let source = if s.readback { v + dv } else { v };
        (source, reading + di)
    }

    fn run_trigger_model(&mut self) -> Result<(), Error> {
        if self.settings.sweep.is_empty() {
            // No sweep configured: the default trigger model takes one reading.
            self.settings.sweep = vec![self.settings.source_voltage];
        }
        self.buffer.clear();
        self.tripped = false;
        self.settings.output = true;
        let dt = self.point_time();
        let start = self.now;
        let mut t = start;
        let points = self.settings.sweep.clone();
        'outer: for _ in 0..self.settings.sweep_count.max(1) {
            for v in &points {
                t += dt;
                let (source, reading) = self.measure_at(*v, t);
                self.buffer.push(BufferReading {
                    time: t,
                    source,
                    reading,
                });
                if self.tripped && self.settings.fail_abort {
                    self.core.push(5074, "Source limit exceeded; sweep aborted");
                    break 'outer;
                }
            }
        }
        self.busy_until = Some(t);
        Ok(())
    }

    /// Readings acquired by simulated time `now`.
    fn acquired(&self) -> usize {
        self.buffer
            .iter()
            .take_while(|r| r.time <= self.now)
            .count()
    }

    fn sweep_arguments(&mut self, params: &mut Parameters, step: bool) -> Result<(), Error> {
        let vmax = self.limits.max_voltage;
        let start = number(params, -vmax, vmax, 0.0)?;
        let stop = number(params, -vmax, vmax, 0.0)?;
        let third = number(params, -1e6, 1e6, 2.0)?;
        let points = if step {
            if third == 0.0 {
                return Err(ErrorCode::DataOutOfRange.into());
            }
            ((stop - start) / third).abs().round() as usize + 1
        } else {
            third.round() as usize
        };
        if !(2..=1_000_000).contains(&points) {
            return Err(ErrorCode::DataOutOfRange.into());
        }
        let delay = optional_number(params, -1.0, 10_000.0, -1.0)?.unwrap_or(-1.0);
        let count = optional_number(params, 0.0, 268_435_455.0, 1.0)?.unwrap_or(1.0);
        let _range_type = optional_word(params)?;
        let fail_abort = match optional_word(params)? {
            Some(w) => w == "ON" || w == "1",
            None => true,
        };
        let dual = match optional_word(params)? {
            Some(w) => w == "ON" || w == "1",
            None => false,
        };
        let buffer = optional_word(params)?.unwrap_or_else(|| "DEFBUFFER1".into());
        if buffer != "DEFBUFFER1" {
            self.core
                .push(-224, "Illegal parameter value;buffer does not exist");
            return Ok(());
        }
        let mut sweep: Vec<f64> = (0..points)
            .map(|k| start + (stop - start) * k as f64 / (points - 1) as f64)
            .collect();
        if dual {
            let back: Vec<f64> = sweep.iter().rev().skip(1).copied().collect();
            sweep.extend(back);
        }
        self.settings.sweep = sweep;
        // Autodelay (−1) on the 2460 voltage source is about 1 ms on the lower ranges.
        self.settings.sweep_delay = if delay < 0.0 { 0.001 } else { delay };
        self.settings.sweep_count = count.max(1.0) as u32;
        self.settings.fail_abort = fail_abort;
        Ok(())
    }

    fn trace_data(&mut self, params: &mut Parameters) -> Result<String, Error> {
        let acquired = self.acquired();
        let start = number(params, 1.0, 1e7, 1.0)? as usize;
        let end = number(params, 1.0, 1e7, acquired.max(1) as f64)? as usize;
        if let Some(buffer) = optional_word(params)?
            && buffer != "DEFBUFFER1"
        {
            return Err(Error::custom(-224, b"Illegal parameter value"));
        }
        let mut elements = Vec::new();
        while let Some(e) = optional_word(params)? {
            let element = if is(&e, "READing") {
                "READ"
            } else if is(&e, "SOURce") {
                "SOUR"
            } else if is(&e, "RELative") {
                "REL"
            } else if is(&e, "SEConds") {
                "SEC"
            } else if is(&e, "UNIT") {
                "UNIT"
            } else {
                return Err(Error::custom(
                    1133,
                    b"Parameter 4, Syntax error, expected valid name parameters.",
                ));
            };
            elements.push(element);
        }
        if elements.is_empty() {
            elements.push("READ");
        }
        if self.settings.format != Format::Ascii
            && elements
                .iter()
                .any(|e| !matches!(*e, "READ" | "REL" | "SOUR"))
        {
            return Err(Error::custom(
                1133,
                b"Parameter 4, Syntax error, expected valid name parameters.",
            ));
        }
        if start > end || end > acquired {
            return Err(Error::custom(
                -222,
                b"Data out of range;index beyond readings in buffer",
            ));
        }
        let first_time = self.buffer.first().map(|r| r.time).unwrap_or(0.0);
        let selected = &self.buffer[start - 1..end];
        let mut values = Vec::with_capacity(selected.len() * elements.len());
        let mut text = Vec::with_capacity(selected.len() * elements.len());
        for r in selected {
            for e in &elements {
                match *e {
                    "READ" => {
                        values.push(r.reading);
                        text.push(nr3(r.reading, 6, false));
                    }
                    "SOUR" => {
                        values.push(r.source);
                        text.push(nr3(r.source, 6, false));
                    }
                    "REL" => {
                        values.push(r.time - first_time);
                        text.push(format!("{:.6}", r.time - first_time));
                    }
                    "SEC" => text.push(format!("{}", r.time.floor() as i64)),
                    _ => text.push("Amp DC".into()),
                }
            }
        }
        Ok(match self.settings.format {
            Format::Ascii => text.join(","),
            // The scpi crate's formatter takes ASCII only: leave a marker that `handle`
            // replaces with the binary block.
            Format::Real => {
                self.binary = Some(encode_real64_block(&values, self.settings.byte_order));
                BINARY_MARKER.into()
            }
            Format::Sreal => {
                self.binary = Some(encode_real32_block(&values, self.settings.byte_order));
                BINARY_MARKER.into()
            }
        })
    }

    fn event(&mut self, cmd: Cmd, params: &mut Parameters) -> Result<(), Error> {
        let s = &mut self.settings;
        match cmd {
            Cmd::Language => {
                let lang = word(params)?;
                if lang != "SCPI" {
                    // Changing the language needs a reboot; this simulator speaks SCPI only.
                    return Err(Error::custom(
                        -221,
                        b"Settings conflict;only SCPI simulated",
                    ));
                }
            }
            Cmd::SenseFunction => {
                let f = word(params)?;
                if !(is(&f, "CURRent") || f == "CURR:DC" || f == "CURRENT:DC") {
                    return Err(Error::custom(
                        -221,
                        b"Settings conflict;only CURR sense simulated",
                    ));
                }
            }
            Cmd::CurrentRange => {
                s.current_range = number(params, 1e-8, self.limits.max_current, 1e-4)?;
                s.current_autorange = false;
            }
            Cmd::CurrentRangeAuto => s.current_autorange = boolean(params)?,
            Cmd::Nplc => s.nplc = number(params, 0.01, 10.0, 1.0)?,
            Cmd::RemoteSense => {
                s.four_wire = boolean(params)?;
                // "If the output is on when you change the sense setting, the output is
                // turned off" (2470 manual).
                s.output = false;
            }
            Cmd::SourceFunction => {
                let f = word(params)?;
                if !is(&f, "VOLTage") {
                    return Err(Error::custom(
                        -221,
                        b"Settings conflict;only VOLT source simulated",
                    ));
                }
            }
            Cmd::SourceLevel => {
                s.source_voltage = number(
                    params,
                    -self.limits.max_voltage,
                    self.limits.max_voltage,
                    0.0,
                )?
            }
            Cmd::SourceRange => {
                s.voltage_range = number(params, 0.0, self.limits.max_voltage, 20.0)?
            }
            Cmd::CurrentLimit => {
                s.current_limit = number(params, 1e-9, self.limits.max_current, 1.05e-4)?
            }
            Cmd::Readback => s.readback = boolean(params)?,
            Cmd::SweepLinear => self.sweep_arguments(params, false)?,
            Cmd::SweepLinearStep => self.sweep_arguments(params, true)?,
            Cmd::ListVoltage => {
                let mut list = Vec::new();
                while let Some(v) = optional_number(
                    params,
                    -self.limits.max_voltage,
                    self.limits.max_voltage,
                    0.0,
                )? {
                    list.push(v);
                }
                if list.is_empty() {
                    return Err(ErrorCode::MissingParameter.into());
                }
                s.list = list;
            }
            Cmd::SweepList => {
                let index = number(params, 1.0, 1e6, 1.0)? as usize;
                let delay = optional_number(params, 0.0, 10_000.0, 0.0)?.unwrap_or(0.0);
                let count = optional_number(params, 0.0, 268_435_455.0, 1.0)?.unwrap_or(1.0);
                let fail_abort = match optional_word(params)? {
                    Some(w) => w == "ON" || w == "1",
                    None => true,
                };
                if s.list.is_empty() || index > s.list.len() {
                    return Err(Error::custom(
                        -221,
                        b"Settings conflict;source list is empty",
                    ));
                }
                s.sweep = s.list[index - 1..].to_vec();
                s.sweep_delay = delay;
                s.sweep_count = count.max(1.0) as u32;
                s.fail_abort = fail_abort;
            }
            Cmd::Initiate => {
                if self.busy_until.is_some_and(|b| b > self.now) {
                    return Err(Error::custom(-213, b"Init ignored;trigger model running"));
                }
                self.run_trigger_model()?;
            }
            Cmd::Abort => {
                let now = self.now;
                self.buffer.retain(|r| r.time <= now);
                self.busy_until = None;
            }
            Cmd::Output => s.output = boolean(params)?,
            Cmd::TraceClear => self.buffer.clear(),
            Cmd::FormatData => {
                let f = word(params)?;
                s.format = if is(&f, "ASCii") {
                    Format::Ascii
                } else if f == "REAL" {
                    Format::Real
                } else if f == "SREAL" || f == "SREA" {
                    Format::Sreal
                } else {
                    return Err(ErrorCode::IllegalParameterValue.into());
                };
            }
            Cmd::ByteOrder => {
                let b = word(params)?;
                s.byte_order = if is(&b, "NORMal") {
                    ByteOrder::BigEndian
                } else if is(&b, "SWAPped") {
                    ByteOrder::LittleEndian
                } else {
                    return Err(ErrorCode::IllegalParameterValue.into());
                };
            }
            Cmd::StatusPreset => {}
            Cmd::LimitTripped | Cmd::TraceData | Cmd::TraceActual | Cmd::Measure => {
                return Err(ErrorCode::UndefinedHeader.into());
            }
        }
        Ok(())
    }

    fn query(&mut self, cmd: Cmd, params: &mut Parameters) -> Result<String, Error> {
        let s = &self.settings;
        Ok(match cmd {
            Cmd::Language => "SCPI".into(),
            Cmd::SenseFunction => "\"CURR:DC\"".into(),
            Cmd::CurrentRange => nr3(s.current_range, 6, false),
            Cmd::CurrentRangeAuto => u8::from(s.current_autorange).to_string(),
            Cmd::Nplc => nr3(s.nplc, 6, false),
            Cmd::RemoteSense => u8::from(s.four_wire).to_string(),
            Cmd::SourceFunction => "VOLT".into(),
            Cmd::SourceLevel => nr3(s.source_voltage, 6, false),
            Cmd::SourceRange => nr3(s.voltage_range, 6, false),
            Cmd::CurrentLimit => nr3(s.current_limit, 6, false),
            Cmd::LimitTripped => u8::from(self.tripped).to_string(),
            Cmd::Readback => u8::from(s.readback).to_string(),
            Cmd::Output => u8::from(s.output).to_string(),
            Cmd::TraceActual => self.acquired().to_string(),
            Cmd::TraceData => self.trace_data(params)?,
            Cmd::FormatData => match s.format {
                Format::Ascii => "ASC".into(),
                Format::Real => "REAL".into(),
                Format::Sreal => "SREAL".into(),
            },
            Cmd::ByteOrder => match s.byte_order {
                ByteOrder::BigEndian => "NORM".into(),
                ByteOrder::LittleEndian => "SWAP".into(),
            },
            Cmd::Measure => {
                let t = self.now + self.settings.nplc / LINE_FREQUENCY;
                let v = self.settings.source_voltage;
                let (_, reading) = self.measure_at(v, t);
                nr3(reading, 6, false)
            }
            _ => return Err(ErrorCode::UndefinedHeader.into()),
        })
    }
}

/// Placeholder for a binary block in a response (see [`Keithley24xx::handle`]).
const BINARY_MARKER: &str = "#BINARY-BLOCK#";

impl ScpiDevice for Keithley24xx {
    crate::scpi_device_plumbing!(TREE);

    fn identity(&self) -> String {
        format!(
            "KEITHLEY INSTRUMENTS,MODEL {},{},1.7.12b",
            self.model, self.serial
        )
    }

    fn reset(&mut self) {
        self.settings = Settings::defaults();
        self.buffer.clear();
        self.busy_until = None;
        self.tripped = false;
    }

    fn finish(&mut self, mut reply: Reply) -> Reply {
        // Splice the binary block in place of its marker.
        if let (Some(bytes), Some(block)) = (reply.bytes.as_mut(), self.binary.take()) {
            let marker = BINARY_MARKER.as_bytes();
            if let Some(at) = bytes.windows(marker.len()).position(|w| w == marker) {
                bytes.splice(at..at + marker.len(), block);
            }
        }
        reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::device::SimDevice;
    use crate::sim::world::WorldConfig;

    fn smu() -> (Keithley24xx, f64) {
        let world = Arc::new(World::new(WorldConfig {
            clouds: false,
            ..WorldConfig::default()
        }));
        let now = world.config().start;
        (Keithley24xx::new("2460", "04410001", world, 7), now)
    }

    fn text(k: &mut Keithley24xx, msg: &str, now: f64) -> Option<String> {
        k.handle(msg.as_bytes(), now)
            .bytes
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    #[test]
    fn the_pv_sequence_of_the_manual_runs() {
        let (mut k, now) = smu();
        for cmd in [
            "*RST",
            "*CLS",
            ":SENS:FUNC \"CURR\"",
            ":SENS:CURR:RANG:AUTO ON",
            ":SENS:CURR:NPLC 1",
            ":SENS:CURR:RSEN ON",
            ":SOUR:FUNC VOLT",
            ":SOUR:VOLT:RANG 100",
            ":SOUR:VOLT:ILIM 7",
            ":SOUR:VOLT:READ:BACK ON",
            ":SOUR:SWE:VOLT:LIN 0, 62, 101, 0.001, 1, BEST, OFF, OFF, \"defbuffer1\"",
        ] {
            assert_eq!(text(&mut k, cmd, now), None, "{cmd}");
        }
        assert_eq!(
            text(&mut k, "SYST:ERR?", now).as_deref(),
            Some("0,\"No error\"")
        );
        assert_eq!(text(&mut k, ":INIT", now), None);
        let opc = k.handle(b"*OPC?", now);
        let done = opc.hold_until.expect("sweep in progress");
        // 101 points × (1 ms delay + 20 ms integration + 0.5 ms) ≈ 2.17 s.
        assert!((done - now - 101.0 * 0.0215).abs() < 1e-4, "{}", done - now);
        assert_eq!(text(&mut k, ":TRAC:ACT?", done).as_deref(), Some("101"));
        let data = text(
            &mut k,
            ":TRAC:DATA? 1, 101, \"defbuffer1\", SOUR, READ",
            done,
        )
        .expect("data");
        let values: Vec<f64> = data
            .split(',')
            .map(|v| v.parse().expect("number"))
            .collect();
        assert_eq!(values.len(), 202);
        // Power quadrant: the SMU reads negative current near V = 0.
        assert!(values[1] < -4.0, "{}", values[1]);
        // Beyond Voc the module sinks current: positive reading.
        assert!(values[201] > 0.0);
        assert_eq!(
            text(&mut k, "SYST:ERR?", done).as_deref(),
            Some("0,\"No error\"")
        );
    }

    #[test]
    fn errors_reach_the_queue() {
        let (mut k, now) = smu();
        assert_eq!(text(&mut k, ":FOO:BAR", now), None);
        assert_eq!(text(&mut k, ":SOUR:VOLT:ILIM 9", now), None);
        assert_eq!(text(&mut k, ":TRAC:DATA? 1, 5", now), None);
        assert_eq!(text(&mut k, "SYST:ERR:COUN?", now).as_deref(), Some("3"));
        assert_eq!(
            text(&mut k, "SYST:ERR?", now).as_deref(),
            Some("-113,\"Undefined header\"")
        );
        assert_eq!(
            text(&mut k, "SYST:ERR?", now).as_deref(),
            Some("-222,\"Data out of range\"")
        );
        assert!(
            text(&mut k, "SYST:ERR?", now)
                .expect("reply")
                .starts_with("-222")
        );
        // ESR: PON (128) + CME (32) + EXE (16).
        assert_eq!(text(&mut k, "*ESR?", now).as_deref(), Some("176"));
        assert_eq!(text(&mut k, "*ESR?", now).as_deref(), Some("0"));
    }

    #[test]
    fn binary_buffer_and_elements_policy() {
        let (mut k, now) = smu();
        for cmd in [
            ":SENS:CURR:RSEN ON",
            ":SOUR:VOLT:ILIM 7",
            ":SOUR:SWE:VOLT:LIN 0, 60, 11, 0",
            ":INIT",
        ] {
            assert_eq!(text(&mut k, cmd, now), None, "{cmd}");
        }
        let later = now + 10.0;
        assert_eq!(text(&mut k, ":FORM REAL", later), None);
        let reply = k.handle(b":TRAC:DATA? 1, 11, \"defbuffer1\", SOUR, READ", later);
        let bytes = reply.bytes.expect("block");
        assert!(bytes.starts_with(b"#3176"), "{:?}", &bytes[..5]);
        assert_eq!(bytes.len(), 5 + 176);
        assert_eq!(
            text(&mut k, ":TRAC:DATA? 1, 11, \"defbuffer1\", TST", later),
            None
        );
        assert!(
            text(&mut k, "SYST:ERR?", later)
                .expect("reply")
                .starts_with("1133,")
        );
    }
}
