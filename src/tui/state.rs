//! The console's state, one part per screen, with named rows. The parts are plain data: how
//! they change is `super::app`, how they are drawn is `super::ui`, where their rows come from
//! is `super::load`.

use std::collections::{BTreeMap, VecDeque};

use serde_json::Value;

use crate::engine::events::CurveData;
use crate::instruments::station::CertificateStatus;
use crate::model::{QueueStatus, RunStatus};

/// Longest strip-chart history kept (one hour at one sample per second).
pub const HISTORY: usize = 3600;
/// Log lines kept.
pub const LOG_LINES: usize = 2000;

/// What an instrument is doing, as its row shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Connected, no run uses it.
    Idle,
    /// A run uses it.
    InUse,
    /// It failed during a run (stays shown until the console restarts).
    Fault,
}

impl Use {
    /// As the station screen shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Use::Idle => "idle",
            Use::InUse => "in use",
            Use::Fault => "FAULT",
        }
    }
}

/// An instrument of the station.
#[derive(Debug, Clone, PartialEq)]
pub struct InstrumentRow {
    /// Its name in the station file.
    pub name: String,
    /// Its role (`iv_tracer`, `irradiance_meter`, …).
    pub role: String,
    /// `*IDN?` as the last run recorded it.
    pub identity: Option<String>,
    /// What it is doing.
    pub state: Use,
    /// The last reading the console saw, as text.
    pub last: String,
}

/// A reference device of the station and its calibration certificate.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceRow {
    /// Its id in the station file.
    pub id: String,
    /// Certificate number.
    pub certificate: String,
    /// Recalibration due date (ISO 8601).
    pub due: String,
    /// Valid, due soon or expired, today.
    pub status: CertificateStatus,
}

/// The station screen.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StationState {
    /// The station's name (the title bar shows it).
    pub name: String,
    /// Instruments in station-file order.
    pub instruments: Vec<InstrumentRow>,
    /// Reference devices in station-file order.
    pub references: Vec<ReferenceRow>,
}

/// The active gate as the irradiance chart draws it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GateBand {
    /// Minimum irradiance [W/m²].
    pub min_irradiance: f64,
    /// Largest relative variation over the window [1].
    pub max_variation: f64,
}

/// The live screen: what the active (or last) run is doing and measuring.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LiveState {
    /// The active run's id.
    pub run: Option<String>,
    /// Its procedure.
    pub procedure: String,
    /// What it is doing, as text.
    pub activity: String,
    /// What a gate waits for.
    pub waiting: Option<String>,
    /// The gate last waited on.
    pub gate: Option<GateBand>,
    /// Irradiance samples (time [s], W/m²), newest last, at most `HISTORY`.
    pub irradiance: VecDeque<(f64, f64)>,
    /// Module temperature samples (time [s], °C), newest last, at most `HISTORY`.
    pub temperature: VecDeque<(f64, f64)>,
    /// The last sweep.
    pub curve: Option<CurveData>,
    /// Its ASTM E1036 Isc, Voc and Pmax as text (extracted once, when the sweep arrives).
    pub curve_parameters: String,
    /// Results of the active or last run by name (value, unit, U, k, …).
    pub results: BTreeMap<String, Value>,
    /// The last sky reading as text (plane and diffuse irradiance, wind, pressure, sun).
    pub sky: Option<String>,
    /// The last spectrum: instrument, (wavelength [nm], spectral irradiance [W·m⁻²·nm⁻¹]).
    pub spectrum: Option<(String, Vec<(f64, f64)>)>,
    /// What the runs that ended said (stated result, verdict) and where their certificates
    /// went, oldest first: it stays on the screen after the run.
    pub finished: Vec<String>,
}

/// A declared parameter as the form shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamRow {
    /// Its name (`--set name=value`).
    pub name: String,
    /// float, int, bool or string.
    pub kind: String,
    /// Unit symbol.
    pub unit: String,
    /// Default value, as text.
    pub default: String,
    /// Limits or choices, as text.
    pub limits: String,
}

/// A shipped procedure.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcedureRow {
    /// Its name (`pvstation run NAME`).
    pub name: String,
    /// The first sentence of its description.
    pub description: String,
    /// Its declared parameters.
    pub parameters: Vec<ParamRow>,
}

/// The procedures screen: the list and the parameter form.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProceduresState {
    /// The shipped procedures.
    pub rows: Vec<ProcedureRow>,
    /// Selected procedure.
    pub selected: usize,
    /// Values the operator set (procedure → parameter → text), validated when starting.
    pub edits: BTreeMap<String, BTreeMap<String, String>>,
    /// The parameter form has the focus (else the list).
    pub focus_parameters: bool,
    /// Selected parameter in the form.
    pub selected_parameter: usize,
    /// The value being typed for the selected parameter.
    pub editing: Option<String>,
}

impl ProceduresState {
    /// The selected procedure.
    pub fn current(&self) -> Option<&ProcedureRow> {
        self.rows.get(self.selected)
    }

    /// The declared parameters of the selected procedure.
    pub fn parameters(&self) -> &[ParamRow] {
        self.current().map_or(&[], |p| p.parameters.as_slice())
    }

    /// The operator's values for a procedure, as `--set` pairs.
    pub fn sets(&self, procedure: &str) -> Vec<(String, String)> {
        self.edits
            .get(procedure)
            .map(|e| e.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    /// The value a parameter of the selected procedure will run with (the operator's, else
    /// the default).
    pub fn value(&self, p: &ParamRow) -> String {
        self.current()
            .and_then(|c| self.edits.get(&c.name))
            .and_then(|e| e.get(&p.name))
            .cloned()
            .unwrap_or_else(|| p.default.clone())
    }
}

/// An overnight-queue item.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueRow {
    /// Item id (`pvstation queue remove ID`).
    pub id: i64,
    /// Where it stands.
    pub status: QueueStatus,
    /// Procedure name or script path.
    pub procedure: String,
    /// Its daily window and the estimated time until it is done, as text.
    pub window: String,
}

/// The queue screen.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueueState {
    /// Items in run order.
    pub rows: Vec<QueueRow>,
    /// Selected item.
    pub selected: usize,
}

/// A run of the history.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    /// Run id.
    pub id: String,
    /// Its procedure.
    pub procedure: String,
    /// How it stopped; None while it runs or after an unresumed crash.
    pub status: Option<RunStatus>,
    /// Its main result (Pmax or the verdict), as text.
    pub headline: String,
}

impl RunRow {
    /// The status as the runs screen shows it.
    pub fn status_text(&self) -> &'static str {
        self.status.map_or("interrupted", RunStatus::as_str)
    }
}

/// An opened run: its stop, results, budget leaders and reports, as lines.
#[derive(Debug, Clone, PartialEq)]
pub struct RunDetail {
    /// Run id.
    pub id: String,
    /// The text.
    pub lines: Vec<String>,
}

/// A run of the laboratory's store (any station).
#[derive(Debug, Clone, PartialEq)]
pub struct LabRunRow {
    /// Run id.
    pub id: String,
    /// The station's name.
    pub station: String,
    /// Its procedure.
    pub procedure: String,
    /// How it stopped (`completed`, …; `interrupted` when it has not).
    pub status: String,
    /// Start, as a date.
    pub started: String,
}

/// The runs screen.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunsState {
    /// Newest first.
    pub rows: Vec<RunRow>,
    /// Selected run.
    pub selected: usize,
    /// The opened run.
    pub detail: Option<RunDetail>,
    /// Every station's runs from the lab store, shown instead of this station's (`l`).
    pub lab: Option<Vec<LabRunRow>>,
}

impl RunsState {
    /// The selected run's id.
    pub fn selected_id(&self) -> Option<&str> {
        self.rows.get(self.selected).map(|r| r.id.as_str())
    }
}

/// The log screen.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogState {
    /// Engine events as lines, newest last, at most `LOG_LINES`.
    pub lines: VecDeque<String>,
    /// The instrument I/O log of the active or last run (loaded by the owner).
    pub io: Vec<String>,
    /// The I/O log is shown instead of the events.
    pub show_io: bool,
    /// Case-insensitive filter.
    pub filter: String,
    /// The filter is being typed.
    pub editing_filter: bool,
}

impl LogState {
    /// Append an event line, dropping the oldest beyond `LOG_LINES`.
    pub fn push(&mut self, line: String) {
        self.lines.push_back(line);
        while self.lines.len() > LOG_LINES {
            self.lines.pop_front();
        }
    }

    /// Lines (events, or the instrument I/O log) that match the filter.
    pub fn visible(&self) -> impl Iterator<Item = &String> {
        let f = self.filter.to_lowercase();
        let lines: Box<dyn Iterator<Item = &String>> = if self.show_io {
            Box::new(self.io.iter())
        } else {
            Box::new(self.lines.iter())
        };
        lines.filter(move |l| f.is_empty() || l.to_lowercase().contains(&f))
    }
}

/// Move a list selection one step, staying inside `len` items.
pub fn step(selected: &mut usize, len: usize, down: bool) {
    if len > 0 {
        *selected = if down {
            (*selected + 1).min(len - 1)
        } else {
            selected.saturating_sub(1)
        };
    }
}

/// Push a sample, dropping the oldest beyond `HISTORY`.
pub fn push_sample(series: &mut VecDeque<(f64, f64)>, sample: (f64, f64)) {
    series.push_back(sample);
    while series.len() > HISTORY {
        series.pop_front();
    }
}
