//! The operator's console (ratatui + crossterm). The UI thread owns the state; keys, engine
//! events and operator prompts arrive over one channel; keys become actions, state changes
//! only in `App::update`/`App::apply`, drawing reads `&App` and happens only when something
//! changed (no flicker, no busy loop). The engine runs on the async runtime, never on the UI
//! thread.

pub mod app;
pub mod keys;
pub mod load;
pub mod state;
pub mod ui;

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::{App, Command, Key, Outcome, Screen};
use crossterm::event::{self, Event as TermEvent, KeyCode, KeyEventKind, KeyModifiers};

use crate::app::run::RunRequest;
use crate::engine::events::{Event, EventSink, Prompter, RunStatus};
use crate::engine::procedure::Procedure;
use crate::engine::run::operator_name;
use crate::instruments::roles::system_now;
use crate::instruments::station::Station;
use crate::store::db::Database;

/// What reaches the UI thread.
pub enum Msg {
    /// A key.
    Key(Key),
    /// An engine event.
    Engine(Event),
    /// A procedure asks the operator; the answer goes back on `reply`.
    Prompt {
        /// Prompt id.
        id: String,
        /// Question.
        text: String,
        /// Where the answer goes.
        reply: Sender<String>,
    },
    /// The terminal was resized.
    Resize,
    /// The queue runner finished (summary).
    QueueDone(String),
    /// A run could not start (why).
    StartFailed(String),
    /// Every station's runs from the lab store, or why they could not be read.
    LabRuns(Result<Vec<state::LabRunRow>, String>),
}

/// Map a terminal key to the console's.
pub fn key(code: KeyCode, modifiers: KeyModifiers) -> Option<Key> {
    Some(match code {
        KeyCode::Char('c') if modifiers.contains(KeyModifiers::CONTROL) => Key::CtrlC,
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
        KeyCode::Tab => Key::Tab,
        KeyCode::BackTab => Key::BackTab,
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::Left => Key::Left,
        KeyCode::Right => Key::Right,
        KeyCode::Backspace => Key::Backspace,
        _ => return None,
    })
}

/// How the console runs.
#[derive(Clone, Default)]
pub struct Options {
    /// Clock acceleration of a simulated station.
    pub speed: Option<f64>,
    /// Seed of a simulated station.
    pub seed: Option<u64>,
    /// Procedures to start one after the other (with prompt answers given in advance), as the
    /// demo does.
    pub autostart: Vec<(String, BTreeMap<String, String>)>,
    /// Issue the certificate of a run that completed (the demo): what was written, said on
    /// the Live screen.
    pub certify: Option<Certify>,
}

/// Issues a completed run's certificate: run id → a line saying where it was written.
pub type Certify = Arc<dyn Fn(&str) -> Result<String, String> + Send + Sync>;

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("speed", &self.speed)
            .field("seed", &self.seed)
            .field("autostart", &self.autostart)
            .field("certify", &self.certify.is_some())
            .finish()
    }
}

/// Run the console until the operator quits; returns the runs that completed meanwhile.
pub async fn console(
    station: Station,
    db_path: PathBuf,
    options: Options,
) -> Result<Vec<String>, String> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return Err("the console needs a terminal (standard output is not one); use `pvstation run … --headless` or `pvstation demo --headless` instead".into());
    }
    let db = Database::open(&db_path).map_err(|e| e.to_string())?;
    let mut app = load::initial(&station, &db);
    drop(db);
    let (tx, rx) = channel::<Msg>();
    let stop = Arc::new(AtomicBool::new(false));
    spawn_keys(tx.clone(), stop.clone());
    let mut terminal =
        ratatui::try_init().map_err(|e| format!("cannot set up the terminal: {e}"))?;
    let result = ui_loop(
        &mut terminal,
        &mut app,
        &rx,
        &tx,
        &station,
        &db_path,
        options,
    )
    .await;
    stop.store(true, Ordering::SeqCst);
    ratatui::restore();
    result
}

fn spawn_keys(tx: Sender<Msg>, stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            match event::poll(Duration::from_millis(200)) {
                Ok(true) => match event::read() {
                    Ok(TermEvent::Key(k)) if k.kind != KeyEventKind::Release => {
                        if let Some(k) = key(k.code, k.modifiers)
                            && tx.send(Msg::Key(k)).is_err()
                        {
                            return;
                        }
                    }
                    Ok(TermEvent::Resize(..)) => {
                        let _ = tx.send(Msg::Resize);
                    }
                    Ok(_) => {}
                    Err(_) => return,
                },
                Ok(false) => {}
                Err(_) => return,
            }
        }
    });
}

async fn ui_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    rx: &Receiver<Msg>,
    tx: &Sender<Msg>,
    station: &Station,
    db_path: &std::path::Path,
    options: Options,
) -> Result<Vec<String>, String> {
    let mut owner = Owner {
        station,
        db_path,
        speed: options.speed,
        seed: options.seed,
        tx,
        abort: Arc::new(AtomicBool::new(false)),
        reply: None,
        starting: false,
    };
    let mut dirty = true;
    let mut autostart: VecDeque<(String, BTreeMap<String, String>)> = options.autostart.into();
    let had_autostart = !autostart.is_empty();
    if had_autostart {
        // The demo is watched: it opens where the measurement is seen.
        app.screen = Screen::Live;
    }
    let certify = options.certify.clone();
    let mut completed = Vec::new();
    loop {
        if !owner.starting
            && app.live.run.is_none()
            && let Some((name, answers)) = autostart.pop_front()
        {
            // The demo's runs start where the console is (the station screen at first).
            if let Err(e) = owner.start(name, Vec::new(), answers) {
                app.apply_outcome(Outcome::Status(e));
            }
            dirty = true;
        }
        if dirty {
            terminal
                .draw(|f| ui::draw(f, app))
                .map_err(|e| format!("terminal: {e}"))?;
            dirty = false;
        }
        // Block on the channel off the runtime's workers: the engine keeps running.
        let next = tokio::task::block_in_place(|| rx.recv_timeout(Duration::from_millis(500)));
        let msg = match next {
            Ok(m) => m,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
            Err(_) => return Ok(completed),
        };
        dirty = true;
        let commands = match msg {
            Msg::Key(k) => match app.action_for(k) {
                Some(a) => vec![app.update(a)],
                None => {
                    dirty = false;
                    Vec::new()
                }
            },
            Msg::Engine(e) => {
                match &e {
                    Event::Started { .. } => owner.starting = false,
                    Event::Finished { run_id, status, .. } if *status == RunStatus::Completed => {
                        completed.push(run_id.clone());
                    }
                    _ => {}
                }
                let commands = app.apply(&e);
                if let (Event::Finished { run_id, status, .. }, Some(certify)) = (&e, &certify)
                    && *status == RunStatus::Completed
                {
                    let said = match certify(run_id) {
                        Ok(line) => line,
                        Err(e) => format!("certificate of {run_id} not written: {e}"),
                    };
                    app.apply_outcome(Outcome::Certified(said));
                }
                if matches!(e, Event::Finished { .. }) && had_autostart && autostart.is_empty() {
                    app.apply_outcome(Outcome::DemoDone);
                }
                commands
            }
            Msg::Prompt { id, text, reply } => {
                owner.reply = Some(reply);
                app.apply_outcome(Outcome::Ask(id, text));
                Vec::new()
            }
            Msg::Resize => Vec::new(),
            Msg::QueueDone(message) => {
                owner.starting = false;
                app.apply_outcome(Outcome::Status(message));
                if let Some(rows) = load::queue(db_path) {
                    app.apply_outcome(Outcome::Queue(rows));
                }
                Vec::new()
            }
            Msg::StartFailed(message) => {
                owner.starting = false;
                app.apply_outcome(Outcome::StartFailed(message));
                Vec::new()
            }
            Msg::LabRuns(Ok(rows)) => {
                app.apply_outcome(Outcome::LabRuns(rows));
                Vec::new()
            }
            Msg::LabRuns(Err(message)) => {
                app.apply_outcome(Outcome::Status(message));
                Vec::new()
            }
        };
        for command in commands {
            if command == Command::Quit {
                if app.live.run.is_some() {
                    owner.abort.store(true, Ordering::SeqCst);
                }
                return Ok(completed);
            }
            for outcome in owner.perform(command) {
                app.apply_outcome(outcome);
            }
        }
    }
}

/// What the loop does for the console: the I/O behind its commands.
struct Owner<'a> {
    station: &'a Station,
    db_path: &'a std::path::Path,
    speed: Option<f64>,
    seed: Option<u64>,
    tx: &'a Sender<Msg>,
    abort: Arc<AtomicBool>,
    /// Where the open prompt's answer goes.
    reply: Option<Sender<String>>,
    /// A run or the queue is starting (no autostart until it has).
    starting: bool,
}

impl Owner<'_> {
    /// Do a command; what came of it goes back to the console.
    fn perform(&mut self, command: Command) -> Vec<Outcome> {
        let db_path = self.db_path;
        let status = |s: String| vec![Outcome::Status(s)];
        let queue = || load::queue(db_path).map(Outcome::Queue);
        match command {
            Command::None | Command::Quit => Vec::new(),
            Command::Abort => {
                self.abort.store(true, Ordering::SeqCst);
                Vec::new()
            }
            Command::Answer(_, answer) => {
                if let Some(r) = self.reply.take() {
                    let _ = r.send(answer);
                }
                Vec::new()
            }
            Command::QueueAdd(name, sets) => {
                let added = self.queue_add(&name, sets);
                let mut out = status(match added {
                    Ok(id) => format!("queued item {id}: {name}"),
                    Err(e) => format!("not queued: {e}"),
                });
                out.extend(queue());
                out
            }
            Command::QueueMove(id, up) => {
                let user = operator_name(None);
                let mut out = match Database::open(db_path)
                    .and_then(|db| db.queue_move(id, up, system_now(), &user))
                {
                    Ok(_) => Vec::new(),
                    Err(e) => status(format!("cannot move queue item {id}: {e}")),
                };
                out.extend(queue());
                out
            }
            Command::RemoveQueueItem(id) => {
                let user = operator_name(None);
                match Database::open(db_path)
                    .and_then(|db| db.queue_remove(id, system_now(), &user))
                {
                    Ok(()) => vec![Outcome::Removed(id)],
                    Err(e) => status(format!("cannot remove queue item {id}: {e}")),
                }
            }
            Command::RunQueue => {
                self.run_queue();
                Vec::new()
            }
            Command::OpenRun(id) => vec![Outcome::RunDetail(state::RunDetail {
                lines: load::run_detail(db_path, &id),
                id,
            })],
            Command::DraftReport(run_id) => status(load::draft_report(db_path, &run_id)),
            Command::LoadIo(run_id) => vec![Outcome::IoLog(load::io_lines(db_path, &run_id))],
            Command::LoadLabRuns => {
                self.load_lab_runs();
                Vec::new()
            }
            Command::LoadIdentities(run_id) => {
                vec![Outcome::Identities(load::identities(db_path, &run_id))]
            }
            Command::DryRun(name, sets) => status(match Procedure::find(&name) {
                Err(e) => e.to_string(),
                Ok(p) => match crate::app::run::dry_run(&p, self.station, &sets) {
                    Ok(_) => format!("dry run: {name} is ready to run on this station"),
                    Err(e) => e,
                },
            }),
            Command::Start(name, sets) => vec![match self.start(name, sets, BTreeMap::new()) {
                Ok(()) => Outcome::Started,
                Err(e) => Outcome::Status(e),
            }],
        }
    }

    fn queue_add(&self, name: &str, sets: Vec<(String, String)>) -> Result<i64, String> {
        let procedure = Procedure::find(name).map_err(|e| e.to_string())?;
        procedure.parameters(&sets)?;
        let station_file = self
            .station
            .path
            .exists()
            .then(|| self.station.path.display().to_string());
        let item = crate::store::queue::NewItem {
            procedure: name.to_string(),
            sets,
            answers: Vec::new(),
            station: station_file,
            not_before: None,
            window: None,
        };
        Database::open(self.db_path)
            .and_then(|db| db.queue_add(&item, system_now(), &operator_name(None)))
            .map_err(|e| e.to_string())
    }

    /// Read every station's runs from the lab store in the background (a slow or absent
    /// network never freezes the console); the rows or the reason arrive as `Msg::LabRuns`.
    fn load_lab_runs(&self) {
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let rows = async {
                let url = crate::store::lab::store_url(None).map_err(|e| e.to_string())?;
                let mut store = crate::store::lab::LabStore::connect(&url)
                    .await
                    .map_err(|e| e.to_string())?;
                let runs = crate::store::lab::views::runs_list(&mut store)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(runs
                    .iter()
                    .map(|r| state::LabRunRow {
                        id: r["id"].as_str().unwrap_or("?").into(),
                        station: r["station_name"].as_str().unwrap_or("?").into(),
                        procedure: r["procedure"].as_str().unwrap_or("?").into(),
                        status: r["status"].as_str().unwrap_or("interrupted").into(),
                        started: crate::model::Date::from_unix_seconds(
                            r["started_at"].as_f64().unwrap_or(0.0),
                        )
                        .to_string(),
                    })
                    .collect())
            }
            .await;
            let _ = tx.send(Msg::LabRuns(rows));
        });
    }

    fn run_queue(&mut self) {
        self.abort.store(false, Ordering::SeqCst);
        let done_tx = self.tx.clone();
        let queue_options = crate::app::queue::QueueOptions {
            db_path: self.db_path.to_path_buf(),
            on_failure: crate::app::queue::OnFailure::Continue,
            speed: self.speed,
            operator: operator_name(None),
            events: sink(self.tx.clone()),
            abort: self.abort.clone(),
            // The console's queue syncs after each run when a lab store is configured.
            sync: std::env::var("PVSTATION_LAB_STORE")
                .ok()
                .filter(|u| !u.trim().is_empty()),
        };
        self.starting = true;
        tokio::spawn(async move {
            let message = match crate::app::queue::run_queue(queue_options).await {
                Ok(done) => format!(
                    "queue finished: {} run, {} not completed",
                    done.len(),
                    done.iter()
                        .filter(|d| d.status != RunStatus::Completed)
                        .count()
                ),
                Err(e) => format!("the queue stopped: {e}"),
            };
            let _ = done_tx.send(Msg::QueueDone(message));
        });
    }

    /// Start a run on the runtime. The values are checked here, so that the operator sees a
    /// bad one at once; a failure to connect arrives later as `Msg::StartFailed`.
    fn start(
        &mut self,
        name: String,
        sets: Vec<(String, String)>,
        answers: BTreeMap<String, String>,
    ) -> Result<(), String> {
        let procedure = Procedure::find(&name).map_err(|e| e.to_string())?;
        procedure.parameters(&sets)?;
        self.abort.store(false, Ordering::SeqCst);
        let prompt_tx = self.tx.clone();
        let prompter: Prompter = Box::new(move |id: &str, text: &str| {
            let (reply, answer) = channel();
            prompt_tx
                .send(Msg::Prompt {
                    id: id.to_string(),
                    text: text.to_string(),
                    reply,
                })
                .map_err(|_| "the console closed".to_string())?;
            answer
                .recv()
                .map_err(|_| format!("prompt `{id}`: the console closed before an answer"))
        });
        let request = RunRequest {
            procedure,
            station: self.station.clone(),
            db_path: self.db_path.to_path_buf(),
            sets,
            answers,
            prompter: Some(prompter),
            operator: operator_name(None),
            seed: self.seed,
            speed: self.speed,
            faults: None,
            sim_start: None,
            resume: None,
            events: sink(self.tx.clone()),
            abort: self.abort.clone(),
        };
        let failure_tx = self.tx.clone();
        tokio::spawn(async move {
            if let Err(e) = crate::app::run::start(request).await {
                let _ = failure_tx.send(Msg::StartFailed(format!("the run could not start: {e}")));
            }
        });
        self.starting = true;
        Ok(())
    }
}

/// Engine events into the console's channel.
fn sink(tx: Sender<Msg>) -> EventSink {
    let tx = Mutex::new(tx);
    Arc::new(move |e: Event| {
        let _ = tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(Msg::Engine(e));
    })
}
