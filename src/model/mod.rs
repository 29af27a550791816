//! Shared types of the station: I-V curves and readings. No I/O here.
//!
//! Sign convention: curves are stored in the *generator* convention (pvlib's): a PV module
//! delivering power has positive voltage and positive current, so `p = v * i > 0` in the
//! power quadrant. Instruments that measure in the load convention (an SMU sinking current
//! reports negative current) are normalised by their driver before a curve leaves it.

use serde::{Deserialize, Serialize};

/// One point of an I-V curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IvPoint {
    /// Terminal voltage [V].
    pub voltage: f64,
    /// Current in the generator convention [A].
    pub current: f64,
    /// Time of the point relative to the start of the sweep [s].
    pub time: f64,
}

/// Direction in which the voltage was swept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SweepDirection {
    /// From short circuit towards open circuit (Isc → Voc).
    Forward,
    /// From open circuit towards short circuit (Voc → Isc).
    Reverse,
}

/// A measured I-V curve in the generator convention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IvCurve {
    /// Points in acquisition order.
    pub points: Vec<IvPoint>,
    /// Sweep direction of this segment.
    pub direction: SweepDirection,
    /// Start of the sweep, seconds since the Unix epoch (simulated time for simulated stations) [s].
    pub start_time: f64,
}

impl IvCurve {
    /// Point with the largest power `v·i` (a first estimate only: the metrology core extracts
    /// Pmax by a polynomial fit per ASTM E1036).
    pub fn max_power_point(&self) -> Option<IvPoint> {
        self.points
            .iter()
            .copied()
            .filter(|p| p.voltage.is_finite() && p.current.is_finite())
            .max_by(|a, b| (a.voltage * a.current).total_cmp(&(b.voltage * b.current)))
    }
}

/// A scalar reading with its unit, as an instrument role returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// Value in the unit below.
    pub value: f64,
    /// Unit symbol, e.g. `W/m²`, `°C`, `Ω`, `V`.
    pub unit: String,
    /// Time of the reading, seconds since the Unix epoch [s].
    pub time: f64,
}

/// Seconds since the Unix epoch as `f64` [s]; `0.0` if the clock is before 1970.
pub fn unix_seconds(t: std::time::SystemTime) -> f64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
