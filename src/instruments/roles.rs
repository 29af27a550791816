//! Instrument roles: what a procedure can ask of the station, independent of the model.
//!
//! The traits return boxed futures so that a station can hold `Box<dyn IvTracer>` whatever
//! the model behind it (async functions in traits are not object-safe).

use std::future::Future;
use std::pin::Pin;

use serde::Serialize;

use super::InstrumentsError;
use crate::model::IvCurve;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Result of the instruments layer.
pub type Result<T> = std::result::Result<T, InstrumentsError>;

use crate::model::Clock;

/// The system clock: what real instruments run on.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> f64 {
        system_now()
    }
}

/// Now by the system clock, seconds since the Unix epoch [s] (0 before 1970).
pub fn system_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Operations every instrument supports.
pub trait Instrument: Send {
    /// Name from the station file.
    fn name(&self) -> &str;
    /// `*IDN?`, checked against the profile's identity pattern.
    fn identify(&mut self) -> BoxFuture<'_, Result<String>>;
    /// Put the instrument in a safe state (output off, standby, relays open). Measuring
    /// instruments have nothing to make safe.
    fn safe_state(&mut self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

/// Direction(s) of an I-V sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SweepMode {
    /// Isc → Voc (start → stop).
    Forward,
    /// Voc → Isc.
    Reverse,
    /// Forward then reverse in one trigger model.
    Dual,
}

/// Settings of an I-V sweep.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepSettings {
    /// First voltage of the forward sweep [V] (slightly below 0 to capture Isc).
    pub start: f64,
    /// Last voltage of the forward sweep [V] (beyond Voc for 4th-quadrant data).
    pub stop: f64,
    /// Points per direction.
    pub points: usize,
    /// Source delay per point [s].
    pub delay: f64,
    /// Integration time [power-line cycles].
    pub nplc: f64,
    /// Current limit (compliance) [A].
    pub current_limit: f64,
    /// 4-wire (Kelvin) sensing.
    pub four_wire: bool,
    /// Direction(s).
    pub mode: SweepMode,
    /// Transfer the buffer as REAL,64 instead of ASCII.
    pub binary: bool,
}

impl Default for SweepSettings {
    fn default() -> Self {
        SweepSettings {
            start: -0.5,
            stop: 62.0,
            points: 201,
            delay: 0.001,
            nplc: 1.0,
            current_limit: 7.0,
            four_wire: true,
            mode: SweepMode::Forward,
            binary: false,
        }
    }
}

/// Sweeps I-V curves.
pub trait IvTracer: Instrument {
    /// Run one sweep; a dual sweep returns the forward and the reverse curve.
    fn sweep<'a>(&'a mut self, settings: &'a SweepSettings) -> BoxFuture<'a, Result<Vec<IvCurve>>>;
}

/// An irradiance reading with everything needed to trace and re-evaluate it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IrradianceReading {
    /// In-plane irradiance [W/m²].
    pub irradiance: f64,
    /// Voltage across the reference cell's shunt [V].
    pub shunt_voltage: f64,
    /// Short-circuit current of the reference cell [A].
    pub short_circuit_current: f64,
    /// Reference-cell temperature used in the correction [°C].
    pub cell_temperature: f64,
    /// Reference device id.
    pub reference: String,
    /// Time [s since epoch].
    pub time: f64,
}

/// Reads irradiance from a reference cell.
pub trait IrradianceMeter: Instrument {
    /// Read irradiance, correcting the cell's Isc to 25 °C with its coefficient; the cell's
    /// temperature [°C] comes from its own sensor.
    fn read_irradiance(
        &mut self,
        cell_temperature: f64,
    ) -> BoxFuture<'_, Result<IrradianceReading>>;
}

/// One temperature sensor reading.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TemperatureReading {
    /// Sensor name from the station file.
    pub sensor: String,
    /// Scanner channel the sensor is wired to (e.g. 101).
    pub channel: u32,
    /// Temperature [°C].
    pub temperature: f64,
    /// Time [s since epoch].
    pub time: f64,
}

/// Reads temperatures (PT100, 4-wire).
pub trait Thermometer: Instrument {
    /// Read every configured sensor.
    fn read_temperatures(&mut self) -> BoxFuture<'_, Result<Vec<TemperatureReading>>>;
}

/// A reading of the battery internal-resistance tester.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TesterReading {
    /// AC resistance at 1 kHz [Ω].
    pub resistance: f64,
    /// DC voltage [V].
    pub voltage: f64,
    /// Time [s since epoch].
    pub time: f64,
}

/// The battery internal-resistance tester under calibration.
pub trait ResistanceMeter: Instrument {
    /// One triggered reading of resistance and voltage.
    fn read(&mut self) -> BoxFuture<'_, Result<TesterReading>>;
}

/// A DC voltage source (calibrator).
pub trait Source: Instrument {
    /// Output `volts` [V] and operate.
    fn set_voltage(&mut self, volts: f64) -> BoxFuture<'_, Result<()>>;
}

/// A relay switch selecting one standard at a time.
pub trait Switch: Instrument {
    /// Close `channel` (opening the others), or open all with `None`.
    fn select(&mut self, channel: Option<u32>) -> BoxFuture<'_, Result<()>>;
}
