//! Shared types of the station: I-V curves and readings. No I/O here.
//!
//! Sign convention: curves are stored in the *generator* convention (pvlib's): a PV module
//! delivering power has positive voltage and positive current, so `p = v * i > 0` in the
//! power quadrant. Instruments that measure in the load convention (an SMU sinking current
//! reports negative current) are normalised by their driver before a curve leaves it.

use serde::{Deserialize, Serialize};

pub mod spectrum;
pub mod stated;
mod status;
pub use status::{ActivityStatus, InterruptionKind, QueueStatus, RunStatus};

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

/// A number for a message: plain when moderate, in exponent form when very large or small
/// (`1e308`, not three hundred digits).
pub fn shown(x: f64) -> String {
    if x.is_finite() && x != 0.0 && !(1e-4..1e6).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// Source of time stamps: the system clock (`instruments::roles::SystemClock`), or a simulated
/// world's accelerated clock. Whoever starts a run chooses it; the engine only reads it.
pub trait Clock: Send + Sync {
    /// Now, seconds since the Unix epoch [s].
    fn now(&self) -> f64;
}

/// A shared clock.
pub type SharedClock = std::sync::Arc<dyn Clock>;

/// A calendar date (proleptic Gregorian), as written in certificates: `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Year (Gregorian, proleptic).
    pub year: i32,
    /// Month 1–12.
    pub month: u32,
    /// Day 1–31.
    pub day: u32,
}

impl Date {
    /// Parse `YYYY-MM-DD`, checking the day exists.
    pub fn parse(text: &str) -> Result<Date, String> {
        let bad = || format!("`{text}` is not a date; write YYYY-MM-DD, e.g. 2027-03-31");
        let mut parts = text.trim().split('-');
        let (Some(y), Some(m), Some(d), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(bad());
        }
        let date = Date {
            year: y.parse().map_err(|_| bad())?,
            month: m.parse().map_err(|_| bad())?,
            day: d.parse().map_err(|_| bad())?,
        };
        if !(1..=12).contains(&date.month)
            || date.day < 1
            || date.day > days_in_month(date.year, date.month)
        {
            return Err(bad());
        }
        Ok(date)
    }

    /// Days since 1970-01-01 (H. Hinnant's `days_from_civil`).
    pub fn days_since_epoch(&self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date of a Unix time [s] in UTC (H. Hinnant's `civil_from_days`).
    pub fn from_unix_seconds(seconds: f64) -> Date {
        let z = (seconds / 86_400.0).floor() as i64 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Date::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_reject_nonsense() {
        let d = Date::parse("2026-11-27").expect("valid");
        assert_eq!(
            Date::from_unix_seconds(d.days_since_epoch() as f64 * 86_400.0 + 3600.0),
            d
        );
        assert_eq!(
            Date::parse("1970-01-01").map(|d| d.days_since_epoch()),
            Ok(0)
        );
        assert_eq!(
            Date::parse("2000-03-01").map(|d| d.days_since_epoch()),
            Ok(11_017)
        );
        assert!(Date::parse("2026-02-29").is_err());
        assert!(Date::parse("2024-02-29").is_ok());
        assert!(Date::parse("27.11.2026").is_err());
    }
}
