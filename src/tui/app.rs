//! How the console's state changes, and only here: an action (a key, through the binding table
//! in `super::keys`) goes to `App::update`, an engine event to `App::apply`, and what the owner
//! learnt doing a command (a dry run's verdict, the queue as stored, a run's details) to
//! `App::apply_outcome`. Each may return a `Command` for the owner (the loop in `super`), which
//! does the I/O and reports back; drawing (`super::ui`) only reads. Destructive actions (abort a
//! run, remove a queue item, quit during a run) go through a confirmation carried as data.

use crate::engine::events::Event;
use crate::model::QueueStatus;

pub use super::keys::{Action, Key};
use super::state::{
    GateBand, LiveState, LogState, ProceduresState, QueueRow, QueueState, RunDetail, RunRow,
    RunsState, StationState, Use, push_sample, step,
};

/// Screens, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// Instruments and reference devices.
    Station,
    /// Strip charts, the sweep being measured, the current activity.
    Live,
    /// Pick a procedure, set its parameters, dry-run, start.
    Procedures,
    /// The overnight queue.
    Queue,
    /// Run history.
    Runs,
    /// Engine events and the instrument I/O log.
    Log,
}

impl Screen {
    /// All screens in tab order.
    pub const ALL: [Screen; 6] = [
        Screen::Station,
        Screen::Live,
        Screen::Procedures,
        Screen::Queue,
        Screen::Runs,
        Screen::Log,
    ];

    /// Tab title.
    pub fn title(self) -> &'static str {
        match self {
            Screen::Station => "1 Station",
            Screen::Live => "2 Live",
            Screen::Procedures => "3 Procedures",
            Screen::Queue => "4 Queue",
            Screen::Runs => "5 Runs",
            Screen::Log => "6 Log",
        }
    }
}

/// A question that needs a yes before it happens.
#[derive(Debug, Clone, PartialEq)]
pub enum Confirm {
    /// Abort the active run.
    Abort,
    /// Remove a queue item.
    RemoveQueueItem(i64),
    /// Quit while a run is active.
    Quit,
}

/// An operator prompt from a running procedure.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    /// The procedure's prompt id (the answer is journaled under it).
    pub id: String,
    /// The question.
    pub text: String,
    /// The answer typed so far.
    pub answer: String,
}

/// What the console asks its owner to do (the loop in `super` does it and reports back with an
/// `Outcome`).
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Nothing.
    None,
    /// Leave (a run still active is aborted safely first).
    Quit,
    /// Start a procedure with `--set` values.
    Start(String, Vec<(String, String)>),
    /// Dry-run a procedure with `--set` values.
    DryRun(String, Vec<(String, String)>),
    /// Abort the active run.
    Abort,
    /// Answer the open prompt (prompt id, answer).
    Answer(String, String),
    /// Remove a queue item.
    RemoveQueueItem(i64),
    /// Load a run's details.
    OpenRun(String),
    /// Add to the queue.
    QueueAdd(String, Vec<(String, String)>),
    /// Move a queue item up (true) or down.
    QueueMove(i64, bool),
    /// Run the queue.
    RunQueue,
    /// Write a draft report of a run.
    DraftReport(String),
    /// Load a run's instrument I/O log.
    LoadIo(String),
    /// Load the instrument identities a run recorded.
    LoadIdentities(String),
    /// Load every station's runs from the lab store.
    LoadLabRuns,
}

/// What the owner learnt doing a command, or on its own.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A line for the status bar (a dry run's verdict, a queue change, a draft, an error).
    Status(String),
    /// The queue as the database holds it now.
    Queue(Vec<QueueRow>),
    /// An opened run.
    RunDetail(RunDetail),
    /// The instrument I/O log of the active or last run.
    IoLog(Vec<String>),
    /// Instrument identities a run recorded (name, `*IDN?`).
    Identities(Vec<(String, String)>),
    /// A queue item was removed.
    Removed(i64),
    /// A run is starting (its values passed their checks): watch it.
    Started,
    /// A run could not start (why).
    StartFailed(String),
    /// The demo's runs are all done.
    DemoDone,
    /// A completed run's certificate was issued (what was written where).
    Certified(String),
    /// A procedure asks the operator (prompt id, question).
    Ask(String, String),
    /// Every station's runs from the lab store.
    LabRuns(Vec<crate::tui::state::LabRunRow>),
}

/// Everything the console shows.
#[derive(Debug, Clone, PartialEq)]
pub struct App {
    /// Current screen.
    pub screen: Screen,
    /// The key help is open.
    pub help: bool,
    /// A question waiting for y/n.
    pub confirm: Option<Confirm>,
    /// An open operator prompt.
    pub prompt: Option<Prompt>,
    /// A one-line status (last outcome, errors).
    pub status: String,
    /// Instruments and references.
    pub station: StationState,
    /// The active run.
    pub live: LiveState,
    /// Procedures and their parameter forms.
    pub procedures: ProceduresState,
    /// The overnight queue.
    pub queue: QueueState,
    /// Run history.
    pub runs: RunsState,
    /// Event log and instrument I/O log.
    pub log: LogState,
}

impl App {
    /// A console for a station.
    pub fn new(station: &str) -> App {
        App {
            screen: Screen::Station,
            help: false,
            confirm: None,
            prompt: None,
            status: "? for help".into(),
            station: StationState {
                name: station.to_string(),
                ..StationState::default()
            },
            live: LiveState {
                activity: "idle".into(),
                ..LiveState::default()
            },
            procedures: ProceduresState::default(),
            queue: QueueState::default(),
            runs: RunsState::default(),
            log: LogState::default(),
        }
    }

    /// The action a key means now (the binding table decides).
    pub fn action_for(&self, key: Key) -> Option<Action> {
        super::keys::action_for(self, key)
    }

    /// The run whose I/O log the log screen shows: the active one, else the newest.
    fn io_run(&self) -> Option<String> {
        self.live
            .run
            .clone()
            .or_else(|| self.runs.rows.first().map(|r| r.id.clone()))
    }

    /// Apply an action; the command says what the owner must do.
    pub fn update(&mut self, action: Action) -> Command {
        match action {
            Action::Quit => {
                if self.live.run.is_none() {
                    return Command::Quit;
                }
                self.confirm = Some(Confirm::Quit);
            }
            Action::Show(s) => self.screen = s,
            Action::NextScreen | Action::PreviousScreen => {
                let k = Screen::ALL
                    .iter()
                    .position(|s| *s == self.screen)
                    .unwrap_or(0);
                let n = Screen::ALL.len();
                let next = if action == Action::NextScreen {
                    k + 1
                } else {
                    k + n - 1
                };
                self.screen = Screen::ALL[next % n];
            }
            Action::Up | Action::Down => {
                let down = action == Action::Down;
                let p = &mut self.procedures;
                match self.screen {
                    Screen::Procedures if p.focus_parameters => {
                        let len = p.parameters().len();
                        step(&mut p.selected_parameter, len, down);
                    }
                    Screen::Procedures => {
                        p.selected_parameter = 0;
                        step(&mut p.selected, p.rows.len(), down);
                    }
                    Screen::Queue => step(&mut self.queue.selected, self.queue.rows.len(), down),
                    Screen::Runs => step(&mut self.runs.selected, self.runs.rows.len(), down),
                    _ => {}
                }
            }
            Action::Help => self.help = !self.help,
            Action::Start => {
                if self.live.run.is_some() {
                    self.status = "a run is active: abort it (a) or wait for it to finish".into();
                } else if let Some(name) = self.procedures.current().map(|p| p.name.clone()) {
                    self.status = format!("starting {name} …");
                    let sets = self.procedures.sets(&name);
                    return Command::Start(name, sets);
                }
            }
            Action::DryRun | Action::QueueAdd => {
                if let Some(name) = self.procedures.current().map(|p| p.name.clone()) {
                    let sets = self.procedures.sets(&name);
                    return if action == Action::DryRun {
                        Command::DryRun(name, sets)
                    } else {
                        Command::QueueAdd(name, sets)
                    };
                }
            }
            Action::QueueUp | Action::QueueDown => {
                if let Some(id) = self.queue.rows.get(self.queue.selected).map(|q| q.id) {
                    let up = action == Action::QueueUp;
                    step(&mut self.queue.selected, self.queue.rows.len(), !up);
                    return Command::QueueMove(id, up);
                }
            }
            Action::RunQueue => {
                if self.live.run.is_some() {
                    self.status = "a run is active: the queue starts when it is done".into();
                } else if !self.queue.rows.iter().any(|q| q.status.is_open()) {
                    self.status =
                        "the queue is empty: add procedures with + on the procedures screen".into();
                } else {
                    self.screen = Screen::Live;
                    return Command::RunQueue;
                }
            }
            Action::OpenRun => {
                if let Some(id) = self.runs.selected_id() {
                    return Command::OpenRun(id.to_string());
                }
            }
            Action::DraftReport => {
                let id = match &self.runs.detail {
                    Some(d) => Some(d.id.as_str()),
                    None => self.runs.selected_id(),
                };
                if let Some(id) = id {
                    return Command::DraftReport(id.to_string());
                }
            }
            Action::ToggleLab => {
                if self.runs.lab.take().is_none() {
                    self.status = "reading the lab store …".into();
                    return Command::LoadLabRuns;
                }
                self.status = "this station's runs".into();
            }
            Action::ToggleIo => {
                self.log.show_io = !self.log.show_io;
                if self.log.show_io {
                    match self.io_run() {
                        Some(run) => return Command::LoadIo(run),
                        None => self.log.io.clear(),
                    }
                }
            }
            Action::Focus => {
                let p = &mut self.procedures;
                p.focus_parameters = !p.focus_parameters && !p.parameters().is_empty();
            }
            Action::Edit => {
                let p = &self.procedures;
                if let Some(row) = p.parameters().get(p.selected_parameter) {
                    self.procedures.editing = Some(p.value(row));
                }
            }
            Action::Abort => {
                if self.live.run.is_some() {
                    self.confirm = Some(Confirm::Abort);
                }
            }
            Action::RemoveQueueItem => {
                if let Some(q) = self.queue.rows.get(self.queue.selected)
                    && q.status == QueueStatus::Pending
                {
                    self.confirm = Some(Confirm::RemoveQueueItem(q.id));
                }
            }
            Action::Confirm => match self.confirm.take() {
                Some(Confirm::Abort) => {
                    self.status = "aborting: the current activity finishes, then every instrument is made safe".into();
                    return Command::Abort;
                }
                Some(Confirm::RemoveQueueItem(id)) => return Command::RemoveQueueItem(id),
                Some(Confirm::Quit) => return Command::Quit,
                None => {}
            },
            Action::Cancel => {
                self.confirm = None;
                self.log.editing_filter = false;
                self.procedures.editing = None;
                self.runs.detail = None;
            }
            Action::Type(c) => {
                if let Some(text) = self.typing() {
                    text.push(c);
                }
            }
            Action::Erase => {
                if let Some(text) = self.typing() {
                    text.pop();
                }
            }
            Action::Submit => {
                if let Some(p) = self.prompt.take() {
                    return Command::Answer(p.id, p.answer);
                }
                self.set_edited_value();
            }
            Action::Filter => self.log.editing_filter = true,
        }
        Command::None
    }

    /// The text being typed: the prompt's answer, a parameter value, or the log filter.
    fn typing(&mut self) -> Option<&mut String> {
        if let Some(p) = &mut self.prompt {
            Some(&mut p.answer)
        } else if let Some(v) = &mut self.procedures.editing {
            Some(v)
        } else if self.log.editing_filter {
            Some(&mut self.log.filter)
        } else {
            None
        }
    }

    /// The typed value becomes the parameter's (typing the default back removes the edit).
    fn set_edited_value(&mut self) {
        let p = &mut self.procedures;
        let Some(value) = p.editing.take() else {
            return;
        };
        let Some(row) = p.current() else { return };
        let Some(param) = row.parameters.get(p.selected_parameter) else {
            return;
        };
        let (procedure, name, default) =
            (row.name.clone(), param.name.clone(), param.default.clone());
        let edits = p.edits.entry(procedure).or_default();
        if value == default {
            edits.remove(&name);
        } else {
            edits.insert(name, value);
        }
    }

    /// Apply an engine event; the commands say what the owner must load for it.
    pub fn apply(&mut self, event: &Event) -> Vec<Command> {
        let live = &mut self.live;
        match event {
            Event::Started {
                run_id,
                procedure,
                resumed,
                ..
            } => {
                live.run = Some(run_id.clone());
                live.procedure = procedure.clone();
                for row in &mut self.station.instruments {
                    row.state = Use::InUse;
                }
                // The last sweep stays until a new one arrives (a run without sweeps leaves
                // the previous run's curve on the screen, titled with its run).
                live.results.clear();
                live.activity = format!("{procedure} started");
                self.log.push(format!(
                    "run {run_id} ({procedure}) {}",
                    if *resumed { "resumed" } else { "started" }
                ));
            }
            Event::Activity {
                seq,
                kind,
                status,
                replayed,
            } => {
                live.waiting = None;
                live.activity = format!(
                    "activity {seq}: {kind} {status}{}",
                    if *replayed { " (replayed)" } else { "" }
                );
                self.log.push(live.activity.clone());
                return self.reload_io().into_iter().collect();
            }
            Event::Waiting { message, gate } => {
                live.waiting = Some(message.clone());
                live.gate = Some(GateBand {
                    min_irradiance: gate.min_irradiance,
                    max_variation: gate.max_variation,
                });
                self.log.push(message.clone());
            }
            Event::ActivityStarted { seq, kind } => {
                live.activity = format!("activity {seq}: {kind} …");
            }
            Event::Log { message } => self.log.push(message.clone()),
            Event::Interruption {
                seq,
                kind,
                instrument,
                ..
            } => {
                self.log
                    .push(format!("interruption at activity {seq}: {kind}"));
                if let Some(name) = instrument {
                    for row in &mut self.station.instruments {
                        if &row.name == name {
                            row.state = Use::Fault;
                        }
                    }
                }
            }
            Event::Result { name, value } => {
                live.results.insert(name.clone(), value.clone());
                self.log.push(format!(
                    "result {name} = {} {}",
                    value["value"],
                    value["unit"].as_str().unwrap_or("")
                ));
            }
            Event::Sweep { curves } => {
                live.curve = curves.first().cloned();
                live.curve_parameters = live
                    .curve
                    .as_ref()
                    .and_then(|c| {
                        crate::analysis::extract::extract(&crate::analysis::curve::IvData::new(
                            c.voltage.clone(),
                            c.current.clone(),
                        ))
                        .ok()
                    })
                    .map(|p| {
                        format!(
                            " Isc {:.3} A  Voc {:.2} V  Pmax {:.1} W ",
                            p.i_sc, p.v_oc, p.p_mp
                        )
                    })
                    .unwrap_or_default();
            }
            Event::Conditions {
                time,
                irradiance,
                module_temperature,
            } => {
                push_sample(&mut live.irradiance, (*time, *irradiance));
                if let Some(t) = module_temperature {
                    push_sample(&mut live.temperature, (*time, *t));
                }
                let mut meter_seen = false;
                for row in &mut self.station.instruments {
                    match row.role.as_str() {
                        "irradiance_meter" if !meter_seen => {
                            meter_seen = true;
                            row.last = format!("{irradiance:.1} W/m²");
                        }
                        "thermometer" => {
                            if let Some(t) = module_temperature {
                                row.last = format!("{t:.2} °C module mean");
                            }
                        }
                        _ => {}
                    }
                }
            }
            Event::Sky { readings, .. } => {
                let mut parts = Vec::new();
                for (name, r) in readings.as_object().into_iter().flatten() {
                    let text = sky_text(name, r);
                    if text.is_empty() {
                        continue;
                    }
                    if let Some(row) = self
                        .station
                        .instruments
                        .iter_mut()
                        .find(|row| &row.name == name)
                    {
                        // The row names the instrument already.
                        row.last = text
                            .trim_start_matches(name.as_str())
                            .trim_start_matches(':')
                            .trim()
                            .to_string();
                    }
                    parts.push(text);
                }
                live.sky = Some(parts.join(" · "));
            }
            Event::Spectrum {
                instrument,
                wavelength,
                irradiance,
                ..
            } => {
                let points: Vec<(f64, f64)> = wavelength
                    .iter()
                    .copied()
                    .zip(irradiance.iter().copied())
                    .collect();
                let broadband: f64 = points
                    .windows(2)
                    .map(|w| 0.5 * (w[0].1 + w[1].1) * (w[1].0 - w[0].0))
                    .sum();
                if let Some(row) = self
                    .station
                    .instruments
                    .iter_mut()
                    .find(|row| &row.name == instrument)
                {
                    row.last = format!(
                        "∫ {broadband:.0} W/m² {:.0}–{:.0} nm",
                        points.first().map_or(0.0, |p| p.0),
                        points.last().map_or(0.0, |p| p.0)
                    );
                }
                live.spectrum = Some((instrument.clone(), points));
            }
            Event::Warning { message } => self.log.push(format!("warning: {message}")),
            Event::Finished {
                run_id,
                status,
                reason,
                results,
            } => {
                live.run = None;
                live.waiting = None;
                live.results = results.clone();
                for row in &mut self.station.instruments {
                    if row.state != Use::Fault {
                        row.state = Use::Idle;
                    }
                }
                live.activity = format!("run {run_id} {status}");
                self.status = match reason {
                    Some(r) => format!("run {run_id} {status}: {r}"),
                    None => format!("run {run_id} {status}"),
                };
                let headline = headline(results);
                // Short enough for 80 columns: the run id is on the Runs screen.
                live.finished.push(format!(
                    "{}: {}",
                    live.procedure,
                    if headline.is_empty() {
                        status.to_string()
                    } else {
                        headline.clone()
                    }
                ));
                self.runs.rows.insert(
                    0,
                    RunRow {
                        id: run_id.clone(),
                        procedure: live.procedure.clone(),
                        status: Some(*status),
                        headline,
                    },
                );
                self.log.push(self.status.clone());
                let mut commands = vec![Command::LoadIdentities(run_id.clone())];
                commands.extend(self.reload_io());
                return commands;
            }
        }
        Vec::new()
    }

    /// The I/O log grows with every activity: reload it while it is on screen.
    fn reload_io(&self) -> Option<Command> {
        match self.io_run() {
            Some(run) if self.log.show_io && self.screen == Screen::Log => {
                Some(Command::LoadIo(run))
            }
            _ => None,
        }
    }

    /// Apply what the owner learnt.
    pub fn apply_outcome(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Status(text) => self.status = text,
            Outcome::Queue(rows) => {
                self.queue.selected = self.queue.selected.min(rows.len().saturating_sub(1));
                self.queue.rows = rows;
            }
            Outcome::RunDetail(detail) => self.runs.detail = Some(detail),
            Outcome::IoLog(lines) => self.log.io = lines,
            Outcome::LabRuns(rows) => {
                self.status = format!(
                    "{} runs in the lab store (l: this station's runs)",
                    rows.len()
                );
                self.runs.lab = Some(rows);
            }
            Outcome::Identities(identities) => {
                for (name, idn) in identities {
                    if let Some(row) = self.station.instruments.iter_mut().find(|r| r.name == name)
                    {
                        row.identity = Some(idn);
                    }
                }
            }
            Outcome::Removed(id) => {
                self.queue.rows.retain(|q| q.id != id);
                let len = self.queue.rows.len();
                self.queue.selected = self.queue.selected.min(len.saturating_sub(1));
                self.status = format!("queue item {id} removed");
            }
            Outcome::Started => self.screen = Screen::Live,
            Outcome::StartFailed(message) => {
                self.log.push(format!("warning: {message}"));
                self.status = message;
            }
            Outcome::DemoDone => {
                self.status = format!(
                    "{} — the demo runs are done and certified: q quits",
                    self.status
                );
            }
            Outcome::Certified(line) => {
                self.log.push(line.clone());
                self.live.finished.push(line);
            }
            Outcome::Ask(id, text) => {
                self.prompt = Some(Prompt {
                    id,
                    text,
                    answer: String::new(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests;

/// A run's result in one line for the Runs list and the end of a run: the stated Pmax(STC)
/// with its verdict, or the overall verdict.
pub fn headline(results: &std::collections::BTreeMap<String, serde_json::Value>) -> String {
    let verdict = results
        .get("conformity")
        .and_then(|c| c["value"].as_str())
        .map(|v| format!("verdict {v}"));
    match results.get("p_mp_stc") {
        Some(p) => {
            let line = crate::model::stated::result_line("p_mp_stc", p);
            match verdict {
                Some(v) => format!("{line}, {v}"),
                None => line,
            }
        }
        None => verdict.unwrap_or_default(),
    }
}

/// One instrument of a sky reading as text: "poa-pyranometer 1104 W/m²", "wind 3.1 m/s,
/// 775 hPa", "sun zenith 13.5°, AOI 0.0°, AM 0.79".
fn sky_text(name: &str, r: &serde_json::Value) -> String {
    let f = |k: &str| r[k].as_f64();
    if name == "sun" {
        return match (f("zenith"), f("angle_of_incidence"), f("air_mass_absolute")) {
            (Some(z), Some(aoi), Some(am)) => {
                format!("sun zenith {z:.1}°, AOI {aoi:.1}°, AM {am:.2}")
            }
            (Some(z), _, _) => format!("sun zenith {z:.1}° (below the horizon)"),
            _ => String::new(),
        };
    }
    if let Some(g) = f("irradiance") {
        return format!("{name} {g:.0} W/m²");
    }
    match (f("wind_speed"), f("pressure")) {
        (Some(w), Some(p)) => format!(
            "{name}: wind {w:.1} m/s, {:.1} °C, {:.0} % RH, {p:.0} hPa",
            f("ambient_temperature").unwrap_or(f64::NAN),
            f("relative_humidity").unwrap_or(f64::NAN)
        ),
        _ => String::new(),
    }
}
