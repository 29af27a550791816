//! Reference devices of a station: what kind of standard each is, its certificate and its
//! earlier ones, and the drift since calibration that the history shows.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::Date;

/// Kind of a reference device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceKind {
    /// PV reference cell (IEC 60904-2).
    ReferenceCell,
    /// Four-terminal standard resistor.
    StandardResistor,
    /// Multi-product calibrator.
    Calibrator,
    /// Digital multimeter.
    Multimeter,
    /// Temperature sensor.
    Thermometer,
}

impl ReferenceKind {
    /// As written in station files (`kind = "reference_cell"`).
    pub fn as_str(self) -> &'static str {
        match self {
            ReferenceKind::ReferenceCell => "reference_cell",
            ReferenceKind::StandardResistor => "standard_resistor",
            ReferenceKind::Calibrator => "calibrator",
            ReferenceKind::Multimeter => "multimeter",
            ReferenceKind::Thermometer => "thermometer",
        }
    }
}

/// A calibration certificate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Certificate {
    /// Certificate number.
    pub number: String,
    /// Issuing laboratory.
    pub laboratory: String,
    /// Certified value.
    pub value: f64,
    /// Unit of `value` and `expanded_uncertainty`.
    pub unit: String,
    /// Expanded uncertainty U.
    pub expanded_uncertainty: f64,
    /// Coverage factor k.
    pub coverage_factor: f64,
    /// Date of calibration.
    pub calibration_date: Date,
    /// Date the next calibration is due.
    pub due_date: Date,
}

impl Certificate {
    /// Certificate status on `today`.
    pub fn status(&self, today: Date) -> CertificateStatus {
        let days = self.due_date.days_since_epoch() - today.days_since_epoch();
        if days < 0 {
            CertificateStatus::Expired { days_ago: -days }
        } else if days <= 30 {
            CertificateStatus::DueSoon { days_left: days }
        } else {
            CertificateStatus::Valid
        }
    }
}

/// Whether a certificate may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum CertificateStatus {
    /// More than 30 days left.
    Valid,
    /// Due within 30 days.
    DueSoon {
        /// Days until due.
        days_left: i64,
    },
    /// Past its due date.
    Expired {
        /// Days since due.
        days_ago: i64,
    },
}

/// A calibration of an instrument or of a part of it, as its certificate states it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationRecord {
    /// What was calibrated, when not the whole instrument ("PT100 probes module_back_1…4").
    #[serde(default)]
    pub item: Option<String>,
    /// Certificate number.
    pub number: String,
    /// Issuing laboratory.
    pub laboratory: String,
    /// Date of calibration.
    pub date: Date,
    /// Date the next calibration is due.
    pub due_date: Date,
}

/// `[[reference]]`: a reference device or standard.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceDevice {
    /// Unique id.
    pub id: String,
    /// What kind of standard it is (reference cell, standard resistor, …).
    pub kind: ReferenceKind,
    /// What it is, as the certificate states it.
    pub description: String,
    /// Manufacturer.
    #[serde(default)]
    pub manufacturer: Option<String>,
    /// Serial number as on the device and its certificate.
    pub serial_number: String,
    /// Relay channel that connects it (standard resistors).
    #[serde(default)]
    pub switch_channel: Option<u32>,
    /// Thermometer sensor name measuring its temperature (reference cells).
    #[serde(default)]
    pub temperature_sensor: Option<String>,
    /// Further parameters (reference cells: `alpha_rel` [1/K], `shunt_resistance` [Ω]).
    #[serde(default)]
    pub parameters: BTreeMap<String, f64>,
    /// Calibrations of its parts that have their own certificate (a reference cell's shunt).
    #[serde(default)]
    pub calibration: Vec<CalibrationRecord>,
    /// Its certificate.
    pub certificate: Certificate,
    /// Its earlier certificates (`[[reference.history]]`), for the drift since calibration.
    #[serde(default)]
    pub history: Vec<PastCalibration>,
    /// Its relative spectral responsivity (reference cells; from its certificate), for the
    /// spectral mismatch factor (IEC 60904-7).
    #[serde(default)]
    pub spectral_response: Option<crate::model::spectrum::ResponseTable>,
}

/// An earlier certificate of a reference device: when, and the value it stated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PastCalibration {
    /// Certificate number.
    pub number: String,
    /// Date of calibration.
    pub calibration_date: Date,
    /// The value it stated, in the current certificate's unit.
    pub value: f64,
}

/// A reference device's drift since its calibration, from its calibration history.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Drift {
    /// Relative change of the certified value per year over the history [1/year]: the
    /// least-squares slope of value/current value − 1 against time, or the largest observed
    /// rate between successive certificates when that is larger (never understate).
    pub per_year: f64,
    /// Years since the current certificate's calibration.
    pub elapsed_years: f64,
    /// Half-width of a rectangular distribution for the change since calibration [1]:
    /// |per_year| × elapsed_years.
    pub half_width: f64,
    /// Certificates the rate is based on (the current one included).
    pub certificates: usize,
    /// The least-squares trend of the history [1/year] (the rate the correction uses).
    pub trend_per_year: f64,
    /// Relative change of the irradiance the reference indicates that the trend predicts
    /// since calibration [1]: the cell now gives (1 + trend·elapsed) of its certified current,
    /// so the irradiance it indicates from the certified value is corrected by
    /// 1/(1 + trend·elapsed) − 1. A known systematic effect is corrected (JCGM 100:2008 §3.2.4);
    /// the budget keeps `half_width` around the corrected value.
    pub correction: f64,
}

impl ReferenceDevice {
    /// The drift since calibration at `today`, from the history and the current certificate
    /// (Metro-PV 19ENG01 guideline, standards.md §12.1: rectangular ± the largest observed
    /// change per interval, scaled to the elapsed time). `None` without history.
    pub fn drift(&self, today: Date) -> Option<Drift> {
        let current = &self.certificate;
        let year = |d: Date| d.days_since_epoch() as f64 / 365.25;
        let mut points: Vec<(f64, f64)> = self
            .history
            .iter()
            .map(|h| (year(h.calibration_date), h.value / current.value - 1.0))
            .collect();
        points.push((year(current.calibration_date), 0.0));
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        if points.len() < 2 || current.value == 0.0 {
            return None;
        }
        let largest_step = points
            .windows(2)
            .filter(|w| w[1].0 > w[0].0)
            .map(|w| ((w[1].1 - w[0].1) / (w[1].0 - w[0].0)).abs())
            .fold(0.0, f64::max);
        let n = points.len() as f64;
        let (mt, mv) = (
            points.iter().map(|p| p.0).sum::<f64>() / n,
            points.iter().map(|p| p.1).sum::<f64>() / n,
        );
        let sxx: f64 = points.iter().map(|p| (p.0 - mt).powi(2)).sum();
        let sxy: f64 = points.iter().map(|p| (p.0 - mt) * (p.1 - mv)).sum();
        let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
        let per_year = if largest_step > slope.abs() {
            largest_step.copysign(if slope == 0.0 { 1.0 } else { slope })
        } else {
            slope
        };
        let elapsed_years = (year(today) - year(current.calibration_date)).max(0.0);
        let change = 1.0 + slope * elapsed_years;
        Some(Drift {
            per_year,
            elapsed_years,
            half_width: per_year.abs() * elapsed_years,
            certificates: points.len(),
            trend_per_year: slope,
            // A history implying the cell lost all its response is not extrapolated.
            correction: if change > 0.5 {
                1.0 / change - 1.0
            } else {
                0.0
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{broken, demo};
    use super::*;

    /// RC-01's history (0.12377 A in 2024, 0.12253 A in 2025, 0.1213 A in 2026-03): −1 %/year,
    /// so by the winter solstice 0.78 years later the half-width is ~0.78 %. A history entry
    /// not before the current certificate is refused with its key.
    #[test]
    fn drift_since_calibration_from_the_certificate_history() {
        let s = demo().expect("valid");
        let cell = s.reference("RC-01").expect("RC-01");
        let d = cell
            .drift(Date::parse("2026-12-21").expect("date"))
            .expect("drift");
        assert_eq!(d.certificates, 3);
        assert!((d.per_year + 0.0101).abs() < 0.0005, "{d:?}");
        assert!((d.elapsed_years - 0.78).abs() < 0.01, "{d:?}");
        assert!((d.half_width - 0.0079).abs() < 0.0005, "{d:?}");
        // The cell gives ~0.79 % less current than certified: the irradiance it indicates
        // from the certified value is corrected up by as much.
        assert!((d.correction - 0.0079).abs() < 0.0005, "{d:?}");
        assert!(
            (d.correction - (1.0 / (1.0 + d.trend_per_year * d.elapsed_years) - 1.0)).abs() < 1e-15
        );
        // No history, no drift stated.
        let check = s.reference("RC-02").expect("RC-02");
        assert_eq!(check.drift(Date::parse("2026-12-21").expect("date")), None);
        let e = broken(
            "calibration_date = \"2025-03-10\"",
            "calibration_date = \"2026-05-10\"",
        );
        assert!(
            e.contains("history[0].calibration_date") && e.contains("not before"),
            "{e}"
        );
    }
}
