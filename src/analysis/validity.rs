//! Validity checks of a natural-sunlight I-V measurement (standards.md §4.2). Every check logs
//! its measured value, its limit and the limit's confidence, because several limits are
//! recollections of paywalled text ([R]) or vendor practice and must stay editable.

use serde::{Deserialize, Serialize};

/// Configurable limits, defaults from standards.md §4.2.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ValidityLimits {
    /// Minimum total in-plane irradiance [W/m²] — 800 (IEC 60904-1 Ed. 2 practice) [R].
    pub min_irradiance: f64,
    /// Largest irradiance variation during one sweep, max |G − mean|/mean [1] — 1 % [R].
    pub max_sweep_variation: f64,
    /// Irradiance band before the sweep [W/m²] — ±10 (PVPM vendor practice) [V vendor].
    pub stability_band: f64,
    /// Duration the band must hold before the sweep [s] — 10 [V vendor].
    pub stability_duration: f64,
    /// Largest spread between module temperature sensors [K] — 2 [R] (uniformity required,
    /// number not public).
    pub max_temperature_spread: f64,
    /// Largest time between the temperature reading and the sweep [s] — 1 [V vendor].
    pub max_temperature_age: f64,
    /// Largest change of the module temperature (sensor mean) from before to after the sweep
    /// [K] — 1 [R: IEC 60904-1 practice, the device temperature stable within ±1 °C during the
    /// measurement].
    pub max_temperature_change: f64,
}

impl Default for ValidityLimits {
    fn default() -> Self {
        ValidityLimits {
            min_irradiance: 800.0,
            max_sweep_variation: 0.01,
            stability_band: 10.0,
            stability_duration: 10.0,
            max_temperature_spread: 2.0,
            max_temperature_age: 1.0,
            max_temperature_change: 1.0,
        }
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// Check name.
    pub name: &'static str,
    /// Measured value.
    pub value: f64,
    /// The limit the value is compared with.
    pub limit: f64,
    /// Unit of value and limit.
    pub unit: &'static str,
    /// Whether the measured value is within the limit.
    pub passed: bool,
    /// Confidence of the limit: `R` (paywalled standard, unverified) or `V-vendor`.
    pub confidence: &'static str,
    /// Where the limit comes from.
    pub source: &'static str,
}

/// What a sweep's validity is judged on.
#[derive(Debug, Clone, Default)]
pub struct Observation<'a> {
    /// Irradiance readings during the sweep [W/m²].
    pub sweep_irradiance: &'a [f64],
    /// (time [s], irradiance [W/m²]) readings before the sweep, oldest first, ending at the
    /// sweep start.
    pub before: &'a [(f64, f64)],
    /// Module temperature sensor readings at the sweep [°C].
    pub module_temperatures: &'a [f64],
    /// Time between the temperature reading and the sweep [s].
    pub temperature_age: Option<f64>,
    /// Module temperature sensor readings right after the sweep [°C] (empty: not read).
    pub module_temperatures_after: &'a [f64],
}

/// Run the checks that the observation has data for.
pub fn check(o: &Observation, l: &ValidityLimits) -> Vec<Check> {
    let mut out = Vec::new();
    if !o.sweep_irradiance.is_empty() {
        let n = o.sweep_irradiance.len() as f64;
        let mean = o.sweep_irradiance.iter().sum::<f64>() / n;
        let min = o
            .sweep_irradiance
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        out.push(Check {
            name: "minimum_irradiance",
            value: min,
            limit: l.min_irradiance,
            unit: "W/m²",
            passed: min >= l.min_irradiance,
            confidence: "R",
            source: "IEC 60904-1 Ed. 2 practice; confirm in IEC 60904-1:2020",
        });
        let variation = o
            .sweep_irradiance
            .iter()
            .map(|g| (g - mean).abs())
            .fold(0.0, f64::max)
            / mean;
        out.push(Check {
            name: "irradiance_variation_during_sweep",
            value: variation,
            limit: l.max_sweep_variation,
            unit: "1",
            passed: variation <= l.max_sweep_variation,
            confidence: "R",
            source: "IEC 60904-1 Ed. 2 practice (±1 %)",
        });
    }
    if let (Some(first), Some(last)) = (o.before.first(), o.before.last()) {
        let covered = last.0 - first.0;
        let window: Vec<f64> = o
            .before
            .iter()
            .filter(|(t, _)| last.0 - t <= l.stability_duration)
            .map(|(_, g)| *g)
            .collect();
        let (lo, hi) = window
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), g| {
                (a.min(*g), b.max(*g))
            });
        let half_range = if window.is_empty() {
            f64::INFINITY
        } else {
            0.5 * (hi - lo)
        };
        out.push(Check {
            name: "irradiance_stability_before_sweep",
            value: half_range,
            limit: l.stability_band,
            unit: "W/m²",
            passed: covered >= l.stability_duration && half_range <= l.stability_band,
            confidence: "V-vendor",
            source: "PV-Engineering PVPM manual: ±10 W/m² for ≥ 10 s (not a standard limit)",
        });
    }
    if o.module_temperatures.len() >= 2 {
        let (lo, hi) = o
            .module_temperatures
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), t| {
                (a.min(*t), b.max(*t))
            });
        out.push(Check {
            name: "module_temperature_uniformity",
            value: hi - lo,
            limit: l.max_temperature_spread,
            unit: "K",
            passed: hi - lo <= l.max_temperature_spread,
            confidence: "R",
            source: "IEC 60904-1 (uniform device temperature; numeric limit not public)",
        });
    }
    if !o.module_temperatures.is_empty() && !o.module_temperatures_after.is_empty() {
        let mean = |t: &[f64]| t.iter().sum::<f64>() / t.len() as f64;
        let change = mean(o.module_temperatures_after) - mean(o.module_temperatures);
        out.push(Check {
            name: "module_temperature_change_during_sweep",
            value: change.abs(),
            limit: l.max_temperature_change,
            unit: "K",
            passed: change.abs() <= l.max_temperature_change,
            confidence: "R",
            source: "IEC 60904-1 practice: device temperature stable within ±1 °C during the measurement",
        });
    }
    if let Some(age) = o.temperature_age {
        out.push(Check {
            name: "temperature_reading_timing",
            value: age.abs(),
            limit: l.max_temperature_age,
            unit: "s",
            passed: age.abs() <= l.max_temperature_age,
            confidence: "V-vendor",
            source: "PVPM practice: temperature within 1 s of the sweep",
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_pass_and_fail_at_their_limits() {
        let before: Vec<(f64, f64)> = (0..=12)
            .map(|k| (k as f64, 905.0 + (k % 3) as f64))
            .collect();
        let o = Observation {
            sweep_irradiance: &[900.0, 905.0, 910.0],
            before: &before,
            module_temperatures: &[44.0, 45.5],
            temperature_age: Some(0.4),
            module_temperatures_after: &[45.0, 46.5],
        };
        let checks = check(&o, &ValidityLimits::default());
        assert_eq!(checks.len(), 6);
        assert!(checks.iter().all(|c| c.passed), "{checks:?}");
        let o = Observation {
            sweep_irradiance: &[780.0, 800.0, 820.0],
            module_temperatures: &[40.0, 43.0],
            module_temperatures_after: &[41.0, 44.01],
            temperature_age: Some(1.01),
            ..Observation::default()
        };
        let failed: Vec<&str> = check(&o, &ValidityLimits::default())
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.name)
            .collect();
        assert_eq!(
            failed,
            [
                "minimum_irradiance",
                "irradiance_variation_during_sweep",
                "module_temperature_uniformity",
                "module_temperature_change_during_sweep",
                "temperature_reading_timing"
            ]
        );
    }
}
