//! The console's state and how it changes: keys become actions, actions and engine events
//! change the state (only here), and drawing reads the state (`super::ui`). Destructive
//! actions (abort a run, remove a queue item) go through a confirmation carried as data.

use std::collections::{BTreeMap, VecDeque};

use serde_json::Value;

use crate::engine::events::{CurveData, Event};

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

/// A key as the console sees it (independent of the terminal library).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A character.
    Char(char),
    /// Enter.
    Enter,
    /// Escape.
    Esc,
    /// Tab.
    Tab,
    /// Shift-Tab.
    BackTab,
    /// Up arrow.
    Up,
    /// Down arrow.
    Down,
    /// Left arrow.
    Left,
    /// Right arrow.
    Right,
    /// Backspace.
    Backspace,
    /// Ctrl-C.
    CtrlC,
}

/// What a key asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Leave the console (asks first while a run is active).
    Quit,
    /// Go to a screen.
    Show(Screen),
    /// Next / previous screen.
    NextScreen,
    /// Previous screen.
    PreviousScreen,
    /// Move the selection.
    Up,
    /// Move the selection.
    Down,
    /// Toggle the key-binding help.
    Help,
    /// Start the selected procedure.
    Start,
    /// Dry-run the selected procedure.
    DryRun,
    /// Ask to abort the active run.
    Abort,
    /// Ask to remove the selected queue item.
    RemoveQueueItem,
    /// Confirm the pending question.
    Confirm,
    /// Cancel a dialog.
    Cancel,
    /// Type into the open prompt or filter.
    Type(char),
    /// Delete a character.
    Erase,
    /// Submit the prompt answer.
    Submit,
    /// Start editing the log filter.
    Filter,
    /// Move the focus between the procedure list and its parameters.
    Focus,
    /// Open the selected run's results, budget and reports.
    OpenRun,
    /// Add the selected procedure (with the form's values) to the queue.
    QueueAdd,
    /// Move the selected queue item up.
    QueueUp,
    /// Move the selected queue item down.
    QueueDown,
    /// Run the queue (headless runs, one after the other).
    RunQueue,
    /// Write a draft report of the selected run.
    DraftReport,
    /// Switch the log between engine events and the instrument I/O log.
    ToggleIo,
    /// Edit the selected parameter.
    Edit,
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
    /// Prompt id.
    pub id: String,
    /// The question.
    pub text: String,
    /// The answer typed so far.
    pub answer: String,
}

/// What the console asks its owner to do (the loop in `super` performs it).
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Nothing.
    None,
    /// Leave.
    Quit,
    /// Start a procedure with `--set` values.
    Start(String, Vec<(String, String)>),
    /// Dry-run a procedure with `--set` values.
    DryRun(String, Vec<(String, String)>),
    /// Abort the active run.
    Abort,
    /// Answer the open prompt.
    Answer(String, String),
    /// Remove a queue item.
    RemoveQueueItem(i64),
    /// Load a run's details into `run_detail`.
    OpenRun(String),
    /// Add to the queue.
    QueueAdd(String, Vec<(String, String)>),
    /// Move a queue item up (true) or down.
    QueueMove(i64, bool),
    /// Run the queue.
    RunQueue,
    /// Write a draft report of a run.
    DraftReport(String),
    /// Load the instrument I/O log into `io_log`.
    LoadIo,
}

/// An instrument row.
#[derive(Debug, Clone, PartialEq)]
pub struct InstrumentRow {
    /// Name.
    pub name: String,
    /// Role.
    pub role: String,
    /// Identity, once known.
    pub identity: Option<String>,
    /// Connection state / last problem.
    pub state: String,
    /// Last reading, when the console saw one.
    pub last: String,
}

/// A reference-device row.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceRow {
    /// Id.
    pub id: String,
    /// Certificate.
    pub certificate: String,
    /// Due date.
    pub due: String,
    /// valid / due in N days / EXPIRED.
    pub status: String,
}

/// A declared parameter as the form shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamRow {
    /// Name.
    pub name: String,
    /// Type (float, int, bool, string).
    pub kind: String,
    /// Unit.
    pub unit: String,
    /// Default value.
    pub default: String,
    /// Limits or choices, as text.
    pub limits: String,
}

/// Everything the console shows.
#[derive(Debug, Clone, PartialEq)]
pub struct App {
    /// Current screen.
    pub screen: Screen,
    /// Key help open.
    pub help: bool,
    /// Pending confirmation.
    pub confirm: Option<Confirm>,
    /// Open operator prompt.
    pub prompt: Option<Prompt>,
    /// Station name.
    pub station: String,
    /// Instruments.
    pub instruments: Vec<InstrumentRow>,
    /// References.
    pub references: Vec<ReferenceRow>,
    /// Procedures (name, one-line description).
    pub procedures: Vec<(String, String)>,
    /// Selection on the procedures screen.
    pub selected_procedure: usize,
    /// Declared parameters by procedure.
    pub parameters: BTreeMap<String, Vec<ParamRow>>,
    /// Values the operator set (procedure → parameter → text), validated when starting.
    pub edits: BTreeMap<String, BTreeMap<String, String>>,
    /// The parameter list has the focus (else the procedure list).
    pub focus_parameters: bool,
    /// Selected parameter.
    pub selected_parameter: usize,
    /// The value being typed for the selected parameter.
    pub editing: Option<String>,
    /// Selection on the runs screen.
    pub selected_run: usize,
    /// The opened run: title and text lines.
    pub run_detail: Option<(String, Vec<String>)>,
    /// The log shows the instrument I/O log instead of engine events.
    pub show_io: bool,
    /// Instrument I/O log lines (loaded by the owner).
    pub io_log: Vec<String>,
    /// Queue rows (id, status, procedure, window).
    pub queue: Vec<(i64, String, String, String)>,
    /// Selection on the queue screen.
    pub selected_queue: usize,
    /// Run history (id, procedure, status, Pmax or verdict).
    pub runs: Vec<(String, String, String, String)>,
    /// The active run.
    pub active_run: Option<String>,
    /// Its procedure.
    pub active_procedure: String,
    /// What the active run is doing.
    pub activity: String,
    /// What a gate waits for.
    pub waiting: Option<String>,
    /// The active gate: minimum irradiance [W/m²] and largest relative variation [1].
    pub gate: Option<(f64, f64)>,
    /// Irradiance samples (time, W/m²), newest last.
    pub irradiance: VecDeque<(f64, f64)>,
    /// Module temperature samples (time, °C).
    pub temperature: VecDeque<(f64, f64)>,
    /// The last sweep.
    pub curve: Option<CurveData>,
    /// Its ASTM E1036 Isc, Voc and Pmax as text (extracted once, when the sweep arrives).
    pub curve_parameters: String,
    /// Results of the active or last run.
    pub results: BTreeMap<String, Value>,
    /// Event log lines.
    pub log: VecDeque<String>,
    /// Log filter.
    pub filter: String,
    /// Editing the filter.
    pub editing_filter: bool,
    /// A one-line status (last outcome, errors).
    pub status: String,
}

/// Longest strip-chart history kept (one hour at one sample per second).
pub const HISTORY: usize = 3600;
/// Log lines kept.
pub const LOG_LINES: usize = 2000;

impl App {
    /// A console for a station.
    pub fn new(station: &str) -> App {
        App {
            screen: Screen::Station,
            help: false,
            confirm: None,
            prompt: None,
            station: station.to_string(),
            instruments: Vec::new(),
            references: Vec::new(),
            procedures: Vec::new(),
            selected_procedure: 0,
            parameters: BTreeMap::new(),
            edits: BTreeMap::new(),
            focus_parameters: false,
            selected_parameter: 0,
            editing: None,
            selected_run: 0,
            run_detail: None,
            show_io: false,
            io_log: Vec::new(),
            queue: Vec::new(),
            selected_queue: 0,
            runs: Vec::new(),
            active_run: None,
            active_procedure: String::new(),
            activity: "idle".into(),
            waiting: None,
            gate: None,
            irradiance: VecDeque::new(),
            temperature: VecDeque::new(),
            curve: None,
            curve_parameters: String::new(),
            results: BTreeMap::new(),
            log: VecDeque::new(),
            filter: String::new(),
            editing_filter: false,
            status: "? for help".into(),
        }
    }

    /// The action a key means here (dialogs first, then the screen).
    pub fn action_for(&self, key: Key) -> Option<Action> {
        if key == Key::CtrlC {
            return Some(if self.active_run.is_some() {
                Action::Abort
            } else {
                Action::Quit
            });
        }
        if self.prompt.is_some() {
            return Some(match key {
                Key::Enter => Action::Submit,
                Key::Backspace => Action::Erase,
                Key::Char(c) => Action::Type(c),
                _ => return None,
            });
        }
        if self.confirm.is_some() {
            return match key {
                Key::Char('y') | Key::Char('Y') => Some(Action::Confirm),
                Key::Char('n') | Key::Char('N') | Key::Esc => Some(Action::Cancel),
                _ => None,
            };
        }
        if self.editing.is_some() {
            return Some(match key {
                Key::Enter => Action::Submit,
                Key::Esc => Action::Cancel,
                Key::Backspace => Action::Erase,
                Key::Char(c) => Action::Type(c),
                _ => return None,
            });
        }
        if self.editing_filter {
            return Some(match key {
                Key::Enter | Key::Esc => Action::Cancel,
                Key::Backspace => Action::Erase,
                Key::Char(c) => Action::Type(c),
                _ => return None,
            });
        }
        if self.run_detail.is_some() {
            return match key {
                Key::Esc | Key::Enter | Key::Char('q') => Some(Action::Cancel),
                Key::Char('r') => Some(Action::DraftReport),
                _ => None,
            };
        }
        if self.help {
            return match key {
                Key::Char('?') | Key::Esc | Key::Char('q') => Some(Action::Help),
                _ => None,
            };
        }
        Some(match key {
            Key::Char('q') => Action::Quit,
            Key::Char('?') => Action::Help,
            Key::Tab => Action::NextScreen,
            Key::BackTab => Action::PreviousScreen,
            Key::Char(c @ '1'..='6') => Action::Show(Screen::ALL[c as usize - '1' as usize]),
            Key::Up | Key::Char('k') => Action::Up,
            Key::Down | Key::Char('j') => Action::Down,
            Key::Char('a') if self.active_run.is_some() => Action::Abort,
            Key::Left | Key::Right if self.screen == Screen::Procedures => Action::Focus,
            Key::Enter | Key::Char('e')
                if self.screen == Screen::Procedures && self.focus_parameters =>
            {
                Action::Edit
            }
            Key::Enter | Key::Char('s') if self.screen == Screen::Procedures => Action::Start,
            Key::Char('d') if self.screen == Screen::Procedures => Action::DryRun,
            Key::Char('x') if self.screen == Screen::Queue => Action::RemoveQueueItem,
            Key::Char('K') if self.screen == Screen::Queue => Action::QueueUp,
            Key::Char('J') if self.screen == Screen::Queue => Action::QueueDown,
            Key::Char('S') if self.screen == Screen::Queue => Action::RunQueue,
            Key::Char('+') if self.screen == Screen::Procedures => Action::QueueAdd,
            Key::Char('/') if self.screen == Screen::Log => Action::Filter,
            Key::Char('i') if self.screen == Screen::Log => Action::ToggleIo,
            Key::Enter if self.screen == Screen::Runs => Action::OpenRun,
            Key::Char('r') if self.screen == Screen::Runs => Action::DraftReport,
            _ => return None,
        })
    }

    /// Apply an action; the command says what the owner must do.
    pub fn update(&mut self, action: Action) -> Command {
        match action {
            Action::Quit => {
                if self.active_run.is_some() {
                    self.confirm = Some(Confirm::Quit);
                } else {
                    return Command::Quit;
                }
            }
            Action::Show(s) => self.screen = s,
            Action::NextScreen | Action::PreviousScreen => {
                let k = Screen::ALL
                    .iter()
                    .position(|s| *s == self.screen)
                    .unwrap_or(0);
                let n = Screen::ALL.len();
                let next = if action == Action::NextScreen {
                    (k + 1) % n
                } else {
                    (k + n - 1) % n
                };
                self.screen = Screen::ALL[next];
            }
            Action::Up | Action::Down => {
                let parameters = self.current_parameters().len();
                let (sel, len) = match self.screen {
                    Screen::Procedures if self.focus_parameters => {
                        (&mut self.selected_parameter, parameters)
                    }
                    Screen::Procedures => {
                        self.selected_parameter = 0;
                        (&mut self.selected_procedure, self.procedures.len())
                    }
                    Screen::Queue => (&mut self.selected_queue, self.queue.len()),
                    Screen::Runs => (&mut self.selected_run, self.runs.len()),
                    _ => return Command::None,
                };
                if len > 0 {
                    *sel = if action == Action::Down {
                        (*sel + 1).min(len - 1)
                    } else {
                        sel.saturating_sub(1)
                    };
                }
            }
            Action::Help => self.help = !self.help,
            Action::Start => {
                if self.active_run.is_some() {
                    self.status = "a run is active: abort it (a) or wait for it to finish".into();
                } else if let Some((name, _)) = self.procedures.get(self.selected_procedure) {
                    let name = name.clone();
                    self.status = format!("starting {name} …");
                    return Command::Start(name.clone(), self.sets(&name));
                }
            }
            Action::DryRun => {
                if let Some((name, _)) = self.procedures.get(self.selected_procedure) {
                    let name = name.clone();
                    return Command::DryRun(name.clone(), self.sets(&name));
                }
            }
            Action::QueueAdd => {
                if let Some((name, _)) = self.procedures.get(self.selected_procedure) {
                    let name = name.clone();
                    return Command::QueueAdd(name.clone(), self.sets(&name));
                }
            }
            Action::QueueUp | Action::QueueDown => {
                if let Some((id, ..)) = self.queue.get(self.selected_queue) {
                    let up = action == Action::QueueUp;
                    let id = *id;
                    let len = self.queue.len();
                    self.selected_queue = if up {
                        self.selected_queue.saturating_sub(1)
                    } else {
                        (self.selected_queue + 1).min(len.saturating_sub(1))
                    };
                    return Command::QueueMove(id, up);
                }
            }
            Action::RunQueue => {
                if self.active_run.is_some() {
                    self.status = "a run is active: the queue starts when it is done".into();
                } else if !self
                    .queue
                    .iter()
                    .any(|q| q.1 == "pending" || q.1 == "running")
                {
                    self.status =
                        "the queue is empty: add procedures with + on the procedures screen".into();
                } else {
                    self.screen = Screen::Live;
                    return Command::RunQueue;
                }
            }
            Action::OpenRun => {
                if let Some((id, ..)) = self.runs.get(self.selected_run) {
                    return Command::OpenRun(id.clone());
                }
            }
            Action::DraftReport => {
                let id = self
                    .run_detail
                    .as_ref()
                    .map(|(t, _)| t.clone())
                    .or_else(|| self.runs.get(self.selected_run).map(|r| r.0.clone()));
                if let Some(id) = id {
                    return Command::DraftReport(id);
                }
            }
            Action::ToggleIo => {
                self.show_io = !self.show_io;
                if self.show_io {
                    return Command::LoadIo;
                }
            }
            Action::Focus => {
                self.focus_parameters =
                    !self.focus_parameters && !self.current_parameters().is_empty();
            }
            Action::Edit => {
                if let Some(p) = self.current_parameters().get(self.selected_parameter) {
                    let current = self
                        .procedures
                        .get(self.selected_procedure)
                        .and_then(|(n, _)| self.edits.get(n))
                        .and_then(|e| e.get(&p.name))
                        .cloned()
                        .unwrap_or_else(|| p.default.clone());
                    self.editing = Some(current);
                }
            }
            Action::Abort => {
                if self.active_run.is_some() {
                    self.confirm = Some(Confirm::Abort);
                }
            }
            Action::RemoveQueueItem => {
                if let Some((id, status, ..)) = self.queue.get(self.selected_queue)
                    && status == "pending"
                {
                    self.confirm = Some(Confirm::RemoveQueueItem(*id));
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
                self.editing_filter = false;
                self.editing = None;
                self.run_detail = None;
            }
            Action::Type(c) => {
                if let Some(p) = &mut self.prompt {
                    p.answer.push(c);
                } else if let Some(v) = &mut self.editing {
                    v.push(c);
                } else if self.editing_filter {
                    self.filter.push(c);
                }
            }
            Action::Erase => {
                if let Some(p) = &mut self.prompt {
                    p.answer.pop();
                } else if let Some(v) = &mut self.editing {
                    v.pop();
                } else if self.editing_filter {
                    self.filter.pop();
                }
            }
            Action::Submit => {
                if let Some(p) = self.prompt.take() {
                    return Command::Answer(p.id, p.answer);
                }
                if let Some(value) = self.editing.take()
                    && let Some((name, _)) = self.procedures.get(self.selected_procedure).cloned()
                    && let Some(p) = self
                        .current_parameters()
                        .get(self.selected_parameter)
                        .cloned()
                {
                    let edits = self.edits.entry(name).or_default();
                    if value == p.default {
                        edits.remove(&p.name);
                    } else {
                        edits.insert(p.name, value);
                    }
                }
            }
            Action::Filter => {
                self.editing_filter = true;
            }
        }
        Command::None
    }

    fn push_log(&mut self, line: String) {
        self.log.push_back(line);
        while self.log.len() > LOG_LINES {
            self.log.pop_front();
        }
    }

    /// Apply an engine event.
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::Started {
                run_id,
                procedure,
                resumed,
                ..
            } => {
                self.active_run = Some(run_id.clone());
                self.active_procedure = procedure.clone();
                for row in &mut self.instruments {
                    row.state = "in use".into();
                }
                self.results.clear();
                self.curve = None;
                self.activity = format!("{procedure} started");
                self.push_log(format!(
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
                self.waiting = None;
                self.activity = format!(
                    "activity {seq}: {kind} {status}{}",
                    if *replayed { " (replayed)" } else { "" }
                );
                self.push_log(self.activity.clone());
            }
            Event::Waiting { message, gate } => {
                self.waiting = Some(message.clone());
                self.gate = Some((gate.min_irradiance, gate.max_variation));
                self.push_log(message.clone());
            }
            Event::ActivityStarted { seq, kind } => {
                self.activity = format!("activity {seq}: {kind} …");
            }
            Event::Log { message } => self.push_log(message.clone()),
            Event::Interruption { seq, kind, details } => {
                self.push_log(format!("interruption at activity {seq}: {kind}"));
                // An instrument fault names its instrument (`smu: …`).
                let error = details["error"].as_str().unwrap_or("");
                for row in &mut self.instruments {
                    if error.contains(&format!("{}:", row.name)) {
                        row.state = "FAULT".into();
                    }
                }
            }
            Event::Result { name, value } => {
                self.results.insert(name.clone(), value.clone());
                self.push_log(format!(
                    "result {name} = {} {}",
                    value["value"],
                    value["unit"].as_str().unwrap_or("")
                ));
            }
            Event::Sweep { curves } => {
                self.curve = curves.first().cloned();
                self.curve_parameters = self
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
                self.irradiance.push_back((*time, *irradiance));
                if let Some(t) = module_temperature {
                    self.temperature.push_back((*time, *t));
                }
                let mut meter_seen = false;
                for row in &mut self.instruments {
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
                while self.irradiance.len() > HISTORY {
                    self.irradiance.pop_front();
                }
                while self.temperature.len() > HISTORY {
                    self.temperature.pop_front();
                }
            }
            Event::Warning { message } => self.push_log(format!("warning: {message}")),
            Event::Finished {
                run_id,
                status,
                reason,
                results,
            } => {
                self.active_run = None;
                self.waiting = None;
                self.results = results.clone();
                for row in &mut self.instruments {
                    if row.state != "FAULT" {
                        row.state = "idle".into();
                    }
                }
                self.activity = format!("run {run_id} {status}");
                self.status = match reason {
                    Some(r) => format!("run {run_id} {status}: {r}"),
                    None => format!("run {run_id} {status}"),
                };
                let headline = results
                    .get("p_mp_stc")
                    .map(|p| {
                        format!(
                            "Pmax {:.2} W ± {:.2} W, {}",
                            p["value"].as_f64().unwrap_or(f64::NAN),
                            p["U"].as_f64().unwrap_or(f64::NAN),
                            results
                                .get("conformity")
                                .and_then(|c| c["value"].as_str())
                                .unwrap_or("—")
                        )
                    })
                    .or_else(|| results.get("conformity").map(|c| c["value"].to_string()))
                    .unwrap_or_default();
                self.runs.insert(
                    0,
                    (
                        run_id.clone(),
                        self.active_procedure.clone(),
                        status.to_string(),
                        headline,
                    ),
                );
                self.push_log(self.status.clone());
            }
        }
    }

    /// Open an operator prompt (a procedure asked).
    pub fn ask(&mut self, id: &str, text: &str) {
        self.prompt = Some(Prompt {
            id: id.to_string(),
            text: text.to_string(),
            answer: String::new(),
        });
    }

    /// The declared parameters of the selected procedure.
    pub fn current_parameters(&self) -> &[ParamRow] {
        self.procedures
            .get(self.selected_procedure)
            .and_then(|(n, _)| self.parameters.get(n))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The operator's values for a procedure, as `--set` pairs.
    pub fn sets(&self, procedure: &str) -> Vec<(String, String)> {
        self.edits
            .get(procedure)
            .map(|e| e.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    /// A run was started (the owner validated the values): watch it.
    pub fn started(&mut self) {
        self.screen = Screen::Live;
    }

    /// Log lines (events, or the instrument I/O log) that match the filter.
    pub fn visible_log(&self) -> impl Iterator<Item = &String> {
        let f = self.filter.to_lowercase();
        let lines: Box<dyn Iterator<Item = &String>> = if self.show_io {
            Box::new(self.io_log.iter())
        } else {
            Box::new(self.log.iter())
        };
        lines.filter(move |l| f.is_empty() || l.to_lowercase().contains(&f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> App {
        let mut a = App::new("Test station");
        a.parameters.insert(
            "outdoor-pmax".into(),
            vec![
                ParamRow {
                    name: "sweeps".into(),
                    kind: "int".into(),
                    unit: "1".into(),
                    default: "3".into(),
                    limits: "1 … 50".into(),
                },
                ParamRow {
                    name: "nplc".into(),
                    kind: "float".into(),
                    unit: "PLC".into(),
                    default: "1.0".into(),
                    limits: "0.01 … 10".into(),
                },
            ],
        );
        a.procedures = vec![
            ("outdoor-pmax".into(), "Pmax at STC".into()),
            ("bit-calibration".into(), "battery tester".into()),
        ];
        a.queue = vec![
            (1, "pending".into(), "outdoor-pmax".into(), "any".into()),
            (
                2,
                "completed".into(),
                "bit-calibration".into(),
                "any".into(),
            ),
        ];
        a
    }

    fn press(a: &mut App, k: Key) -> Command {
        match a.action_for(k) {
            Some(action) => a.update(action),
            None => Command::None,
        }
    }

    #[test]
    fn screens_by_tab_backtab_and_digits() {
        let mut a = app();
        assert_eq!(a.screen, Screen::Station);
        press(&mut a, Key::Tab);
        assert_eq!(a.screen, Screen::Live);
        press(&mut a, Key::BackTab);
        press(&mut a, Key::BackTab);
        assert_eq!(a.screen, Screen::Log, "wraps around");
        for (k, s) in ('1'..='6').zip(Screen::ALL) {
            press(&mut a, Key::Char(k));
            assert_eq!(a.screen, s);
        }
    }

    #[test]
    fn help_opens_and_closes_and_swallows_other_keys() {
        let mut a = app();
        press(&mut a, Key::Char('?'));
        assert!(a.help);
        assert_eq!(a.action_for(Key::Tab), None);
        press(&mut a, Key::Esc);
        assert!(!a.help);
        press(&mut a, Key::Char('?'));
        press(&mut a, Key::Char('?'));
        assert!(!a.help);
    }

    #[test]
    fn procedures_select_start_and_dry_run() {
        let mut a = app();
        press(&mut a, Key::Char('3'));
        press(&mut a, Key::Up);
        assert_eq!(a.selected_procedure, 0);
        press(&mut a, Key::Down);
        press(&mut a, Key::Char('j'));
        assert_eq!(a.selected_procedure, 1, "stops at the last");
        press(&mut a, Key::Char('k'));
        assert_eq!(
            press(&mut a, Key::Char('d')),
            Command::DryRun("outdoor-pmax".into(), vec![])
        );
        assert_eq!(
            press(&mut a, Key::Enter),
            Command::Start("outdoor-pmax".into(), vec![])
        );
        a.started();
        assert_eq!(a.screen, Screen::Live);
        a.active_run = Some("R1".into());
        a.screen = Screen::Procedures;
        assert_eq!(
            press(&mut a, Key::Char('s')),
            Command::None,
            "one run at a time"
        );
        assert!(a.status.contains("a run is active"));
    }

    #[test]
    fn parameters_are_edited_in_the_form_and_passed_as_sets() {
        let mut a = app();
        press(&mut a, Key::Char('3'));
        press(&mut a, Key::Right);
        assert!(a.focus_parameters);
        press(&mut a, Key::Down);
        assert_eq!(a.selected_parameter, 1);
        press(&mut a, Key::Up);
        press(&mut a, Key::Enter);
        assert_eq!(a.editing.as_deref(), Some("3"), "starts from the default");
        press(&mut a, Key::Backspace);
        press(&mut a, Key::Char('5'));
        assert_eq!(
            press(&mut a, Key::Char('q')),
            Command::None,
            "q is text while editing"
        );
        press(&mut a, Key::Backspace);
        press(&mut a, Key::Enter);
        assert_eq!(a.editing, None);
        press(&mut a, Key::Char('e'));
        press(&mut a, Key::Esc);
        assert_eq!(
            a.sets("outdoor-pmax"),
            vec![("sweeps".into(), "5".into())],
            "Esc keeps the old value"
        );
        press(&mut a, Key::Left);
        assert!(!a.focus_parameters);
        assert_eq!(
            press(&mut a, Key::Char('s')),
            Command::Start("outdoor-pmax".into(), vec![("sweeps".into(), "5".into())])
        );
    }

    #[test]
    fn quitting_and_aborting_ask_first_while_a_run_is_active() {
        let mut a = app();
        assert_eq!(press(&mut a, Key::Char('q')), Command::Quit);
        assert_eq!(press(&mut a, Key::CtrlC), Command::Quit);
        a.active_run = Some("R1".into());
        assert_eq!(press(&mut a, Key::Char('q')), Command::None);
        assert_eq!(a.confirm, Some(Confirm::Quit));
        assert_eq!(press(&mut a, Key::Char('n')), Command::None);
        assert_eq!(a.confirm, None);
        press(&mut a, Key::Char('a'));
        assert_eq!(a.confirm, Some(Confirm::Abort));
        assert_eq!(
            press(&mut a, Key::Tab),
            Command::None,
            "the dialog holds the keys"
        );
        assert_eq!(press(&mut a, Key::Char('y')), Command::Abort);
        press(&mut a, Key::CtrlC);
        assert_eq!(a.confirm, Some(Confirm::Abort));
        press(&mut a, Key::Esc);
        assert_eq!(a.confirm, None);
    }

    #[test]
    fn queue_items_are_removed_after_confirmation_only_when_pending() {
        let mut a = app();
        press(&mut a, Key::Char('4'));
        press(&mut a, Key::Char('x'));
        assert_eq!(a.confirm, Some(Confirm::RemoveQueueItem(1)));
        assert_eq!(press(&mut a, Key::Char('y')), Command::RemoveQueueItem(1));
        press(&mut a, Key::Down);
        press(&mut a, Key::Char('x'));
        assert_eq!(a.confirm, None, "a completed item stays");
    }

    #[test]
    fn prompts_take_typing_and_answer_on_enter() {
        let mut a = app();
        a.ask("lab_temperature", "Lab temperature?");
        for c in "23.x".chars() {
            press(&mut a, Key::Char(c));
        }
        press(&mut a, Key::Backspace);
        press(&mut a, Key::Char('4'));
        assert_eq!(
            press(&mut a, Key::Char('q')),
            Command::None,
            "q is text here"
        );
        press(&mut a, Key::Backspace);
        assert_eq!(
            press(&mut a, Key::Enter),
            Command::Answer("lab_temperature".into(), "23.4".into())
        );
        assert!(a.prompt.is_none());
    }

    #[test]
    fn runs_open_their_details_and_draft_reports() {
        let mut a = app();
        a.runs = vec![
            (
                "R2".into(),
                "bit-calibration".into(),
                "completed".into(),
                String::new(),
            ),
            (
                "R1".into(),
                "outdoor-pmax".into(),
                "completed".into(),
                String::new(),
            ),
        ];
        press(&mut a, Key::Char('5'));
        press(&mut a, Key::Down);
        assert_eq!(press(&mut a, Key::Enter), Command::OpenRun("R1".into()));
        a.run_detail = Some(("R1".into(), vec!["p_mp_stc = 221 W".into()]));
        assert_eq!(
            press(&mut a, Key::Tab),
            Command::None,
            "the detail holds the keys"
        );
        assert_eq!(
            press(&mut a, Key::Char('r')),
            Command::DraftReport("R1".into())
        );
        press(&mut a, Key::Esc);
        assert!(a.run_detail.is_none());
        assert_eq!(
            press(&mut a, Key::Char('r')),
            Command::DraftReport("R1".into())
        );
    }

    #[test]
    fn the_log_switches_to_the_instrument_io_log() {
        let mut a = app();
        press(&mut a, Key::Char('6'));
        assert_eq!(press(&mut a, Key::Char('i')), Command::LoadIo);
        a.io_log = vec!["smu write :OUTP OFF".into(), "daq read +2.1E+01".into()];
        press(&mut a, Key::Char('/'));
        for c in "outp".chars() {
            press(&mut a, Key::Char(c));
        }
        press(&mut a, Key::Enter);
        assert_eq!(a.visible_log().count(), 1);
        assert_eq!(press(&mut a, Key::Char('i')), Command::None);
        assert!(!a.show_io);
    }

    #[test]
    fn instruments_show_their_last_reading_and_faults() {
        let mut a = app();
        for (name, role) in [
            ("smu", "iv_tracer"),
            ("dmm", "irradiance_meter"),
            ("daq", "thermometer"),
        ] {
            a.instruments.push(InstrumentRow {
                name: name.into(),
                role: role.into(),
                identity: None,
                state: "idle".into(),
                last: String::new(),
            });
        }
        a.apply(&Event::Started {
            run_id: "R1".into(),
            procedure: "outdoor-pmax".into(),
            resumed: false,
            journaled: 0,
        });
        assert_eq!(a.instruments[0].state, "in use");
        a.apply(&Event::Conditions {
            time: 1.0,
            irradiance: 1003.25,
            module_temperature: Some(44.123),
        });
        assert_eq!(a.instruments[1].last, "1003.2 W/m²");
        assert_eq!(a.instruments[2].last, "44.12 °C module mean");
        a.apply(&Event::Interruption {
            seq: 2,
            kind: crate::engine::events::InterruptionKind::InstrumentFault,
            details: serde_json::json!({"error": "activity 2 `sweep` failed: smu: I/O error on `*OPC?`"}),
        });
        assert_eq!(a.instruments[0].state, "FAULT");
        assert_eq!(a.instruments[2].state, "in use");
        a.apply(&Event::Finished {
            run_id: "R1".into(),
            status: crate::engine::events::RunStatus::Completed,
            reason: None,
            results: BTreeMap::new(),
        });
        assert_eq!(a.instruments[0].state, "FAULT", "a fault stays visible");
        assert_eq!(a.instruments[1].state, "idle");
    }

    #[test]
    fn the_queue_is_filled_reordered_and_started() {
        let mut a = app();
        press(&mut a, Key::Char('3'));
        a.edits
            .entry("outdoor-pmax".into())
            .or_default()
            .insert("sweeps".into(), "2".into());
        assert_eq!(
            press(&mut a, Key::Char('+')),
            Command::QueueAdd("outdoor-pmax".into(), vec![("sweeps".into(), "2".into())])
        );
        press(&mut a, Key::Char('4'));
        assert_eq!(press(&mut a, Key::Char('J')), Command::QueueMove(1, false));
        assert_eq!(a.selected_queue, 1, "the selection follows the item");
        assert_eq!(press(&mut a, Key::Char('K')), Command::QueueMove(2, true));
        assert_eq!(press(&mut a, Key::Char('S')), Command::RunQueue);
        assert_eq!(a.screen, Screen::Live);
        a.queue.clear();
        a.screen = Screen::Queue;
        assert_eq!(press(&mut a, Key::Char('S')), Command::None);
        assert!(a.status.contains("queue is empty"));
    }

    #[test]
    fn the_log_filters() {
        let mut a = app();
        a.apply(&Event::Log {
            message: "sweep 1 forward".into(),
        });
        a.apply(&Event::Warning {
            message: "certificate due".into(),
        });
        press(&mut a, Key::Char('6'));
        press(&mut a, Key::Char('/'));
        for c in "sweep".chars() {
            press(&mut a, Key::Char(c));
        }
        press(&mut a, Key::Enter);
        assert!(!a.editing_filter);
        assert_eq!(a.visible_log().count(), 1);
    }

    #[test]
    fn engine_events_drive_the_state() {
        let mut a = app();
        a.apply(&Event::Started {
            run_id: "R1".into(),
            procedure: "outdoor-pmax".into(),
            resumed: false,
            journaled: 0,
        });
        assert_eq!(a.active_run.as_deref(), Some("R1"));
        a.apply(&Event::Waiting {
            message: "waiting for stable sun: 743 W/m²".into(),
            gate: crate::engine::host::gate::Gate::default(),
        });
        assert_eq!(a.gate, Some((800.0, 0.01)));
        assert!(a.waiting.as_deref().unwrap().contains("743"));
        for k in 0..(HISTORY + 10) {
            a.apply(&Event::Conditions {
                time: k as f64,
                irradiance: 1000.0,
                module_temperature: Some(40.0),
            });
        }
        assert_eq!(a.irradiance.len(), HISTORY, "history is bounded");
        a.apply(&Event::Sweep {
            curves: vec![CurveData {
                direction: "forward".into(),
                start_time: 0.0,
                voltage: vec![0.0, 30.0],
                current: vec![5.0, 4.0],
                time: vec![0.0, 0.1],
            }],
        });
        assert!(a.curve.is_some());
        let results: BTreeMap<String, Value> = [(
            "p_mp_stc".to_string(),
            serde_json::json!({"value": 220.1, "U": 3.2}),
        )]
        .into();
        a.apply(&Event::Finished {
            run_id: "R1".into(),
            status: crate::engine::events::RunStatus::Completed,
            reason: None,
            results,
        });
        assert_eq!(a.active_run, None);
        assert!(a.runs[0].3.contains("Pmax 220.10 W"), "{:?}", a.runs[0]);
        assert_eq!(a.runs[0].1, "outdoor-pmax");
    }
}
