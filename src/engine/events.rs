//! What the engine tells whoever watches a run — the command line prints these (`--json`:
//! one JSON line each, a contract), the console draws from them — and the typed vocabulary of
//! runs and activities, serialised to the same strings the database and JSON always held.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::model::{ActivityStatus, InterruptionKind, RunStatus};

use super::host::gate::Gate;
use crate::analysis::curve::IvData;
use crate::model::IvCurve;

/// What an activity is: each host call that touches an instrument, the operator, the clock or
/// randomness (journaled under this name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    /// Temperatures and irradiance once.
    Conditions,
    /// Wait until a stable-sun gate holds.
    WaitStable,
    /// An I-V sweep with the irradiance sampled around it.
    Sweep,
    /// Close a relay channel (0: open all).
    SelectChannel,
    /// Set the source's DC voltage.
    SetVoltage,
    /// Put the source in standby.
    Standby,
    /// Read the resistance meter under calibration.
    ReadTester,
    /// Read the working and check reference cells in turn.
    CompareReferences,
    /// Read every sky instrument (pyranometers, weather station) once.
    ReadSky,
    /// Read the spectroradiometers' spectra once.
    ReadSpectrum,
    /// Earlier runs' results from the database.
    History,
    /// Ask the operator.
    Prompt,
    /// The run's clock.
    Now,
    /// Wait (journaled: a resumed run does not wait again).
    Sleep,
    /// A random number from the run's seed.
    Random,
}

impl ActivityKind {
    /// As journaled.
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::Conditions => "conditions",
            ActivityKind::WaitStable => "wait_stable",
            ActivityKind::Sweep => "sweep",
            ActivityKind::SelectChannel => "select_channel",
            ActivityKind::SetVoltage => "set_voltage",
            ActivityKind::Standby => "standby",
            ActivityKind::ReadTester => "read_tester",
            ActivityKind::CompareReferences => "compare_references",
            ActivityKind::ReadSky => "read_sky",
            ActivityKind::ReadSpectrum => "read_spectrum",
            ActivityKind::History => "history",
            ActivityKind::Prompt => "prompt",
            ActivityKind::Now => "now",
            ActivityKind::Sleep => "sleep",
            ActivityKind::Random => "random",
        }
    }
}

impl std::fmt::Display for ActivityKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the engine tells the UI (the CLI prints these; `--json` prints them as JSON lines).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The run started or resumed.
    Started {
        /// The run's id (also when resumed).
        run_id: String,
        /// Procedure name.
        procedure: String,
        /// Resumed (true) or new.
        resumed: bool,
        /// Activities replayed from the journal.
        journaled: usize,
    },
    /// An activity finished (live or replayed).
    Activity {
        /// Position in call order, from 1.
        seq: i64,
        /// What it was.
        kind: ActivityKind,
        /// How it ended.
        status: ActivityStatus,
        /// From the journal (no instrument was touched).
        replayed: bool,
    },
    /// A gate is waiting.
    Waiting {
        /// What it waits for, in words.
        message: String,
        /// The gate (for the console's stability band).
        gate: Gate,
    },
    /// A live activity begins (the console shows what the run is doing now).
    ActivityStarted {
        /// Position in call order.
        seq: i64,
        /// What it is.
        kind: ActivityKind,
    },
    /// The procedure logged a line.
    Log {
        /// Text.
        message: String,
    },
    /// A measurement was interrupted (unstable conditions, instrument fault, crash).
    Interruption {
        /// At activity.
        seq: i64,
        /// Why.
        kind: InterruptionKind,
        /// Details (what broke, the attempt, the failed checks).
        details: Value,
        /// The instrument that failed (instrument faults, when the failure names one).
        #[serde(skip_serializing_if = "Option::is_none")]
        instrument: Option<String>,
    },
    /// A result was recorded.
    Result {
        /// Result name as the procedure recorded it (`p_mp_stc`, …).
        name: String,
        /// Value, unit and details.
        value: Value,
    },
    /// A conditions sample was taken (for the strip charts).
    Conditions {
        /// Time [s since epoch].
        time: f64,
        /// Irradiance [W/m²].
        irradiance: f64,
        /// Mean module temperature [°C].
        module_temperature: Option<f64>,
    },
    /// The sky instruments were read (`read_sky()`): by instrument name, its quantities in
    /// their units, and `sun` when the station has a site.
    Sky {
        /// Time [s since epoch].
        time: f64,
        /// The readings.
        readings: Value,
    },
    /// A spectrum was read (`read_spectrum()`).
    Spectrum {
        /// Time [s since epoch].
        time: f64,
        /// The spectroradiometer.
        instrument: String,
        /// Wavelengths [nm].
        wavelength: Vec<f64>,
        /// Spectral irradiance [W·m⁻²·nm⁻¹].
        irradiance: Vec<f64>,
    },
    /// A sweep was measured (for live curves).
    Sweep {
        /// Curves (direction, voltage, current).
        curves: Vec<CurveData>,
    },
    /// Warning (e.g. a certificate nearly due).
    Warning {
        /// Text.
        message: String,
    },
    /// The run stopped.
    Finished {
        /// The run's id.
        run_id: String,
        /// How it stopped.
        status: RunStatus,
        /// Why, when not completed.
        reason: Option<String>,
        /// Results by name.
        results: BTreeMap<String, Value>,
    },
}

/// Sends events (to the CLI printer or the TUI).
pub type EventSink = Arc<dyn Fn(Event) + Send + Sync>;

/// A simulated world's operator: told each live prompt answer (prompt id, time).
pub type SimulatedOperator = Arc<dyn Fn(&str, f64) + Send + Sync>;

/// Answers an operator prompt: `(id, text)` → answer, or why there is none.
pub type Prompter = Box<dyn FnMut(&str, &str) -> Result<String, String> + Send>;

/// A curve as scripts see it: columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurveData {
    /// `forward` or `reverse`.
    pub direction: String,
    /// Start [s since epoch].
    pub start_time: f64,
    /// Voltage [V].
    pub voltage: Vec<f64>,
    /// Current (generator convention) [A].
    pub current: Vec<f64>,
    /// Time from the sweep start [s].
    pub time: Vec<f64>,
}

impl CurveData {
    /// A measured curve as scripts see it (points flagged not-a-number left out).
    pub fn from_curve(c: &IvCurve) -> CurveData {
        // Points the instrument flagged as not-a-number (9.91E37) cannot travel through JSON
        // as numbers; the raw record keeps the curve as measured.
        let points: Vec<_> = c
            .points
            .iter()
            .filter(|p| p.voltage.is_finite() && p.current.is_finite())
            .collect();
        CurveData {
            direction: format!("{:?}", c.direction).to_lowercase(),
            start_time: c.start_time,
            voltage: points.iter().map(|p| p.voltage).collect(),
            current: points.iter().map(|p| p.current).collect(),
            time: points.iter().map(|p| p.time).collect(),
        }
    }

    /// The columns as analysis data.
    pub fn data(&self) -> IvData {
        IvData::new(self.voltage.clone(), self.current.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_kinds_serialise_as_journaled() {
        for k in [
            ActivityKind::Conditions,
            ActivityKind::WaitStable,
            ActivityKind::Sweep,
            ActivityKind::SelectChannel,
            ActivityKind::SetVoltage,
            ActivityKind::Standby,
            ActivityKind::ReadTester,
            ActivityKind::CompareReferences,
            ActivityKind::History,
            ActivityKind::Prompt,
            ActivityKind::Now,
            ActivityKind::Sleep,
            ActivityKind::Random,
        ] {
            assert_eq!(serde_json::to_value(k).ok(), Some(k.as_str().into()));
        }
    }
}
