//! The stable-sun gate (a suspender, DESIGN.md): activities wait until the conditions hold —
//! irradiance above a minimum and steady over a window, the module sensors close together, and
//! where the gate sets them and the station has the instruments, the sun facing the module
//! (angle of incidence), the wind and the diffuse fraction — and the window that held is
//! recorded with the activity. A sky limit the station cannot check is named in the window as
//! unchecked, never silently passed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A stable-condition gate (suspender): activities wait until it holds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Gate {
    /// Minimum irradiance [W/m²].
    pub min_irradiance: f64,
    /// Largest relative variation max|G − mean|/mean over the window [1].
    pub max_variation: f64,
    /// Window the conditions must hold for [s].
    pub duration: f64,
    /// Largest spread between module temperature sensors [K].
    pub max_temperature_spread: f64,
    /// Give up after [s].
    pub timeout: f64,
    /// Time between samples [s].
    pub interval: f64,
    // The sky limits are left out of the journal when unset, so that runs journaled before they
    // existed replay to the same requests.
    /// Largest angle of incidence of the beam on the module plane [°] (the station's site).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_aoi: Option<f64>,
    /// Largest wind speed [m/s] (the weather station).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_wind: Option<f64>,
    /// Largest diffuse fraction of the plane-of-array irradiance [1] (the shaded pyranometer
    /// over the plane-of-array one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_diffuse_fraction: Option<f64>,
    /// Largest change of the module temperature from before to after a sweep [K] (judged on
    /// the sweep; unset: 1 K, IEC 60904-1 practice).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_temperature_change: Option<f64>,
    /// Largest time between the temperature reading and the sweep's start [s] (unset: 1 s,
    /// vendor practice).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_temperature_age: Option<f64>,
}

impl Default for Gate {
    /// IEC 60904-1 practice as in [`ValidityLimits`]: ≥ 800 W/m², ≤ 1 % over 10 s, 2 K.
    fn default() -> Self {
        Gate {
            min_irradiance: 800.0,
            max_variation: 0.01,
            duration: 10.0,
            max_temperature_spread: 2.0,
            timeout: 3600.0,
            interval: 1.0,
            max_aoi: None,
            max_wind: None,
            max_diffuse_fraction: None,
            max_temperature_change: None,
            max_temperature_age: None,
        }
    }
}

impl Gate {
    /// Whether the gate sets any sky limit.
    pub fn has_sky_limits(&self) -> bool {
        self.max_aoi.is_some() || self.max_wind.is_some() || self.max_diffuse_fraction.is_some()
    }
}

/// The sky at one sample, as far as the station's instruments tell it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SkyConditions {
    /// Angle of incidence of the beam on the module plane [°].
    pub aoi: Option<f64>,
    /// Tilt of the module plane [°] (a tracker's: the sun's zenith angle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tilt: Option<f64>,
    /// Wind speed [m/s].
    pub wind_speed: Option<f64>,
    /// Diffuse over plane-of-array irradiance [1].
    pub diffuse_fraction: Option<f64>,
    /// Limits the station cannot check, with why.
    pub unchecked: Vec<String>,
}

/// One sample of the conditions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionSample {
    /// Time [s since epoch].
    pub time: f64,
    /// Irradiance [W/m²].
    pub irradiance: f64,
    /// Reference-cell shunt voltage [V].
    pub shunt_voltage: f64,
    /// Reference-cell temperature [°C].
    pub cell_temperature: f64,
    /// Module sensors [°C], by sensor name.
    pub module_temperatures: BTreeMap<String, f64>,
    /// Every sensor [°C].
    pub temperatures: BTreeMap<String, f64>,
    /// The sky, when the gate has sky limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sky: Option<SkyConditions>,
}

impl ConditionSample {
    /// As scripts see it: with the module sensors' mean and spread.
    pub fn to_value(&self) -> Value {
        let mut out = serde_json::to_value(self).unwrap_or_default();
        out["module_temperature"] = json!(self.module_mean());
        out["module_spread"] = json!(self.module_spread());
        out
    }

    /// Mean of the module sensors [°C].
    pub fn module_mean(&self) -> f64 {
        let n = self.module_temperatures.len().max(1) as f64;
        self.module_temperatures.values().sum::<f64>() / n
    }

    /// Largest difference between module sensors [K] (0 without sensors).
    pub fn module_spread(&self) -> f64 {
        let (lo, hi) = self
            .module_temperatures
            .values()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), t| {
                (a.min(*t), b.max(*t))
            });
        if lo.is_finite() { hi - lo } else { 0.0 }
    }
}

/// Judge a window of samples against a gate: None when it holds, else why not.
pub fn gate_problem(gate: &Gate, window: &[ConditionSample]) -> Option<String> {
    let last = window.last()?;
    let covered = last.time - window.first().map(|s| s.time).unwrap_or(last.time);
    let g: Vec<f64> = window.iter().map(|s| s.irradiance).collect();
    let mean = g.iter().sum::<f64>() / g.len() as f64;
    let variation = g.iter().map(|x| (x - mean).abs()).fold(0.0, f64::max) / mean;
    if last.irradiance < gate.min_irradiance {
        return Some(format!(
            "waiting for stable sun: {:.0} W/m², need ≥ {:.0} W/m² for {:.0} s",
            last.irradiance, gate.min_irradiance, gate.duration
        ));
    }
    if variation > gate.max_variation {
        return Some(format!(
            "waiting for stable sun: {:.0} W/m² varying {:.2} %, need ≤ {:.2} % for {:.0} s",
            last.irradiance,
            variation * 100.0,
            gate.max_variation * 100.0,
            gate.duration
        ));
    }
    if let Some(sky) = &last.sky {
        if let (Some(limit), Some(aoi)) = (gate.max_aoi, sky.aoi)
            && aoi > limit
        {
            return Some(format!(
                "waiting for the sun to face the module: angle of incidence {aoi:.1}°, need ≤ {limit:.1}°"
            ));
        }
        if let (Some(limit), Some(wind)) = (gate.max_wind, sky.wind_speed)
            && wind > limit
        {
            return Some(format!(
                "waiting for the wind to drop: {wind:.1} m/s, need ≤ {limit:.1} m/s"
            ));
        }
        if let (Some(limit), Some(fraction)) = (gate.max_diffuse_fraction, sky.diffuse_fraction)
            && fraction > limit
        {
            return Some(format!(
                "waiting for a clearer sky: diffuse fraction {fraction:.2}, need ≤ {limit:.2}"
            ));
        }
    }
    if last.module_spread() > gate.max_temperature_spread {
        return Some(format!(
            "waiting for uniform module temperature: sensors {:.2} K apart, need ≤ {:.1} K",
            last.module_spread(),
            gate.max_temperature_spread
        ));
    }
    if covered < gate.duration {
        return Some(format!(
            "waiting for stable sun: {:.0} W/m², stable for {:.0} of {:.0} s",
            last.irradiance, covered, gate.duration
        ));
    }
    None
}

/// The accepted window in the form scripts and reports read: mean irradiance, variation,
/// span, the last sample's temperatures.
pub fn summarise_window(window: &[ConditionSample], waited: f64) -> Value {
    let n = window.len().max(1) as f64;
    let g: Vec<f64> = window.iter().map(|s| s.irradiance).collect();
    let mean = g.iter().sum::<f64>() / n;
    let variation = g.iter().map(|x| (x - mean).abs()).fold(0.0, f64::max) / mean;
    let last = window.last();
    json!({
        "irradiance": mean,
        "variation": variation,
        "from": window.first().map(|s| s.time),
        "to": last.map(|s| s.time),
        "samples": window.len(),
        "waited": waited,
        "module_temperature": last.map(ConditionSample::module_mean),
        "module_spread": last.map(ConditionSample::module_spread),
        "cell_temperature": last.map(|s| s.cell_temperature),
        "temperatures": last.map(|s| s.temperatures.clone()),
        "sky": last.and_then(|s| s.sky.clone()),
        "series": window.iter().map(|s| [s.time, s.irradiance]).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Samples at 1 s intervals from t = 0 with the given irradiances and module sensors.
    fn window(irradiance: &[f64], modules: &[f64]) -> Vec<ConditionSample> {
        irradiance
            .iter()
            .enumerate()
            .map(|(k, g)| ConditionSample {
                time: k as f64,
                irradiance: *g,
                shunt_voltage: 0.0,
                cell_temperature: 25.0,
                module_temperatures: modules
                    .iter()
                    .enumerate()
                    .map(|(j, t)| (format!("module_back_{j}"), *t))
                    .collect(),
                temperatures: BTreeMap::new(),
                sky: None,
            })
            .collect()
    }

    /// The stable-sun gate at its boundaries (IEC 60904-1 practice, [R]): ≥ 800 W/m², ≤ 1 %
    /// variation, held for 10 s, module sensors ≤ 2 K apart. A limit itself passes; the
    /// smallest step beyond it does not.
    #[test]
    fn the_gate_at_its_limits() {
        let gate = Gate::default();
        let steady = |g: f64, n: usize| window(&vec![g; n], &[40.0, 41.0]);
        // Irradiance: exactly 800 W/m² holds; just below waits.
        assert_eq!(gate_problem(&gate, &steady(800.0, 11)), None);
        let low = gate_problem(&gate, &steady(799.9, 11)).expect("too low");
        assert!(low.contains("800 W/m², need ≥ 800 W/m²"), "{low}");
        // Variation: max|G − mean|/mean = 1.00 % holds, 1.01 % waits.
        let mut g = vec![1000.0; 11];
        (g[0], g[10]) = (990.0, 1010.0);
        assert_eq!(gate_problem(&gate, &window(&g, &[40.0])), None);
        (g[0], g[10]) = (989.9, 1010.1);
        let varies = gate_problem(&gate, &window(&g, &[40.0])).expect("varies");
        assert!(varies.contains("varying 1.01 %, need ≤ 1.00 %"), "{varies}");
        // Duration: 10 s covered holds, 9.9 s waits.
        let mut w = steady(1000.0, 11);
        assert_eq!(gate_problem(&gate, &w), None);
        w[10].time = 9.9;
        let short = gate_problem(&gate, &w).expect("too short");
        assert!(
            short.contains("stable for 10 of 10 s") || short.contains("stable for"),
            "{short}"
        );
        // Sensor spread: 2.0 K holds, 2.01 K waits.
        assert_eq!(
            gate_problem(&gate, &window(&[1000.0; 11], &[40.0, 42.0])),
            None
        );
        let spread =
            gate_problem(&gate, &window(&[1000.0; 11], &[40.0, 42.01])).expect("non-uniform");
        assert!(
            spread.contains("sensors 2.01 K apart, need ≤ 2.0 K"),
            "{spread}"
        );
        // Irradiance is judged before duration: a dark sky is reported as such at once.
        let dark = gate_problem(&gate, &steady(300.0, 2)).expect("dark");
        assert!(dark.contains("300 W/m²"), "{dark}");
    }

    /// The sky limits: each blocks with its own message at its limit + a step, passes at the
    /// limit, and a limit without a measurement is not judged here (the window names it).
    #[test]
    fn the_sky_limits_block_and_name_the_condition() {
        let gate = Gate {
            max_aoi: Some(10.0),
            max_wind: Some(4.0),
            max_diffuse_fraction: Some(0.25),
            ..Gate::default()
        };
        let with = |aoi: f64, wind: f64, fraction: f64| {
            let mut w = window(&[1000.0; 11], &[40.0]);
            for s in &mut w {
                s.sky = Some(SkyConditions {
                    aoi: Some(aoi),
                    tilt: None,
                    wind_speed: Some(wind),
                    diffuse_fraction: Some(fraction),
                    unchecked: Vec::new(),
                });
            }
            gate_problem(&gate, &w)
        };
        assert_eq!(with(10.0, 4.0, 0.25), None);
        let aoi = with(10.1, 1.0, 0.1).expect("aoi");
        assert!(
            aoi.contains("angle of incidence 10.1°, need ≤ 10.0°"),
            "{aoi}"
        );
        let wind = with(0.0, 4.1, 0.1).expect("wind");
        assert!(
            wind.contains("wind to drop: 4.1 m/s, need ≤ 4.0 m/s"),
            "{wind}"
        );
        let diffuse = with(0.0, 1.0, 0.26).expect("diffuse");
        assert!(
            diffuse.contains("diffuse fraction 0.26, need ≤ 0.25"),
            "{diffuse}"
        );
        // No sky measured (no sky limits in a gate, or no instruments): only the sun's level
        // and stability are judged.
        assert_eq!(gate_problem(&gate, &window(&[1000.0; 11], &[40.0])), None);
    }
}
