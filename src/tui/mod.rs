//! The operator's console (ratatui + crossterm). The UI thread owns the state; keys, engine
//! events and operator prompts arrive over one channel; keys become actions, state changes
//! only in `App::update`/`App::apply`, drawing reads `&App` and happens only when something
//! changed (no flicker, no busy loop). The engine runs on the async runtime, never on the UI
//! thread.

pub mod app;
pub mod ui;

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::{App, Command, InstrumentRow, Key, ReferenceRow};
use crossterm::event::{self, Event as TermEvent, KeyCode, KeyEventKind, KeyModifiers};

use crate::app::run::RunRequest;
use crate::engine::events::{Event, EventSink, Prompter, RunStatus};
use crate::engine::procedure::{Procedure, shipped};
use crate::engine::run::operator_name;
use crate::instruments::roles::system_now;
use crate::instruments::station::{CertificateStatus, Station};
use crate::model::Date;
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

/// The console's initial state from the station file and the database.
pub fn load(station: &Station, db: &Database) -> App {
    let mut app = App::new(&station.file.station.name);
    let runs = db.runs().unwrap_or_default();
    // Identities as the last run recorded them.
    let snapshot = runs
        .first()
        .and_then(|r| db.run_start(&r.id).ok().flatten())
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s.station).ok());
    for i in &station.file.instrument {
        let identity = snapshot.as_ref().and_then(|s| {
            s["instruments"]
                .as_array()?
                .iter()
                .find(|x| x["name"] == i.name.as_str())?["identity"]
                .as_str()
                .map(String::from)
        });
        app.instruments.push(InstrumentRow {
            name: i.name.clone(),
            role: i.role.as_str().to_string(),
            identity,
            state: "idle".into(),
            last: String::new(),
        });
    }
    let today = Date::from_unix_seconds(crate::instruments::roles::system_now());
    for r in &station.file.reference {
        app.references.push(ReferenceRow {
            id: r.id.clone(),
            certificate: r.certificate.number.clone(),
            due: r.certificate.due_date.to_string(),
            status: match r.certificate.status(today) {
                CertificateStatus::Valid => "valid".into(),
                CertificateStatus::DueSoon { days_left } => format!("DUE in {days_left} days"),
                CertificateStatus::Expired { days_ago } => format!("EXPIRED {days_ago} days ago"),
            },
        });
    }
    for p in shipped().into_iter().flatten() {
        let d = p.declaration;
        let first = d.description.split(". ").next().unwrap_or("").to_string();
        let rows = d
            .parameters
            .iter()
            .map(|q| app::ParamRow {
                name: q.name.clone(),
                kind: format!("{:?}", q.kind).to_lowercase(),
                unit: q.unit.clone(),
                default: match &q.default {
                    serde_json::Value::String(t) => t.clone(),
                    other => other.to_string(),
                },
                limits: match (&q.choices, q.min, q.max) {
                    (Some(c), _, _) => c.join(" | "),
                    (None, Some(lo), Some(hi)) => format!("{lo} … {hi}"),
                    (None, Some(lo), None) => format!("≥ {lo}"),
                    (None, None, Some(hi)) => format!("≤ {hi}"),
                    (None, None, None) => String::new(),
                },
            })
            .collect();
        app.parameters.insert(d.name.clone(), rows);
        app.procedures.push((d.name, first));
    }
    app.queue = queue_rows(db);
    for r in runs.iter().take(200) {
        let results = db.results(&r.id).unwrap_or_default();
        let headline = results
            .iter()
            .find(|(n, _)| n == "p_mp_stc" || n == "conformity")
            .map(|(n, v)| {
                let v: serde_json::Value = serde_json::from_str(v).unwrap_or_default();
                format!("{n} = {} {}", v["value"], v["unit"].as_str().unwrap_or(""))
            })
            .unwrap_or_default();
        app.runs.push((
            r.id.clone(),
            r.procedure.clone(),
            r.status
                .map_or_else(|| "interrupted".into(), |s| s.to_string()),
            headline,
        ));
    }
    app
}

/// Run the console until the operator quits.
/// How the console runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Clock acceleration of a simulated station.
    pub speed: Option<f64>,
    /// Seed of a simulated station.
    pub seed: Option<u64>,
    /// Procedures to start one after the other (with prompt answers given in advance), as the
    /// demo does.
    pub autostart: Vec<(String, BTreeMap<String, String>)>,
}

/// The last 2 000 exchanges of a run's stored instrument I/O log, one line each.
fn io_lines(db_path: &std::path::Path, run_id: &str) -> Vec<String> {
    let Ok(db) = Database::open(db_path) else {
        return vec!["the database cannot be opened".into()];
    };
    let entries = db.io_log(run_id).unwrap_or_default();
    let skip = entries.len().saturating_sub(2000);
    entries
        .iter()
        .skip(skip)
        .map(|e| {
            format!(
                "{:.3} {:<15} {:<5} {}",
                e.recorded_at,
                e.instrument,
                e.direction,
                crate::scpi::iolog::escape(&e.bytes)
            )
        })
        .collect()
}

/// A run's stop, results with uncertainties, budget leaders and issued reports, as lines.
fn run_detail(db_path: &std::path::Path, run_id: &str) -> Vec<String> {
    let Ok(db) = Database::open(db_path) else {
        return vec!["the database cannot be opened".into()];
    };
    let mut out = Vec::new();
    if let Ok(Some(start)) = db.run_start(run_id) {
        out.push(format!(
            "{} by {}, parameters {}",
            start.procedure, start.operator, start.parameters
        ));
    }
    match db.run_stop(run_id) {
        Ok(Some((status, reason, _))) => out.push(format!(
            "stopped: {status}{}",
            reason.map(|r| format!(" — {r}")).unwrap_or_default()
        )),
        _ => out.push(
            "not stopped: running or interrupted (resume with pvstation run … --resume)".into(),
        ),
    }
    out.push(String::new());
    for (name, value) in db.results(run_id).unwrap_or_default() {
        let v: serde_json::Value = serde_json::from_str(&value).unwrap_or_default();
        let unc = match (v["U"].as_f64(), v["k"].as_f64()) {
            (Some(u), Some(k)) => format!(" ± {u:.4} (k = {k:.2})"),
            _ => String::new(),
        };
        out.push(format!(
            "{name} = {} {}{unc}{}",
            v["value"],
            v["unit"].as_str().unwrap_or(""),
            v["verdict"]
                .as_str()
                .map(|x| format!("  [{x}]"))
                .unwrap_or_default()
        ));
        if let Some(budget) = v["budget"].as_array() {
            let mut lines: Vec<&serde_json::Value> = budget.iter().collect();
            lines.sort_by(|a, b| {
                b["share"]
                    .as_f64()
                    .unwrap_or(0.0)
                    .total_cmp(&a["share"].as_f64().unwrap_or(0.0))
            });
            for b in lines.iter().take(5) {
                out.push(format!(
                    "    {:<24} u = {:<12} share {:.1} %",
                    b["name"].as_str().unwrap_or("?"),
                    b["u"],
                    b["share"].as_f64().unwrap_or(0.0) * 100.0
                ));
            }
        }
    }
    out.push(String::new());
    let reports: Vec<String> = db
        .reports()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.run_id == run_id)
        .map(|r| format!("report {}: {}", r.number, r.files))
        .collect();
    if reports.is_empty() {
        out.push("no report issued (r writes a draft; pvstation report RUN issues one)".into());
    }
    out.extend(reports);
    out
}

/// Write a watermarked draft of a run's report next to the database.
fn draft_report(db_path: &std::path::Path, run_id: &str) -> String {
    match crate::app::reports::write_draft(db_path, run_id, system_now()) {
        Ok((dir, n)) => format!("draft report of {run_id}: {n} files in {}", dir.display()),
        Err(e) => format!("no draft: {e}"),
    }
}

/// The queue as the database holds it.
/// The queue as the database holds it, each item with its window and the estimated time
/// until it is done (mean duration of earlier completed runs of each procedure ahead of it).
fn queue_rows(db: &Database) -> Vec<(i64, String, String, String)> {
    let mut ahead = Some(0.0);
    db.queue_items(false)
        .unwrap_or_default()
        .into_iter()
        .map(|q| {
            ahead = match (ahead, db.queue_mean_duration(&q.procedure).ok().flatten()) {
                (Some(a), Some(d)) => Some(a + d),
                _ => None,
            };
            let eta = ahead
                .map(|s| format!("done in ≈ {:.0} min", (s / 60.0).ceil()))
                .unwrap_or_else(|| "no estimate yet".into());
            (
                q.id,
                q.status,
                q.procedure,
                format!("{} · {eta}", q.window.unwrap_or_else(|| "any time".into())),
            )
        })
        .collect()
}

fn refresh_queue(app: &mut App, db_path: &std::path::Path) {
    if let Ok(db) = Database::open(db_path) {
        app.queue = queue_rows(&db);
        app.selected_queue = app.selected_queue.min(app.queue.len().saturating_sub(1));
    }
}

/// The instruments' identities as a run recorded them.
fn refresh_identities(app: &mut App, db_path: &std::path::Path, run_id: &str) {
    let Some(snapshot) = Database::open(db_path)
        .ok()
        .and_then(|db| db.run_start(run_id).ok().flatten())
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s.station).ok())
    else {
        return;
    };
    for row in &mut app.instruments {
        if let Some(idn) = snapshot["instruments"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["name"] == row.name.as_str()))
            .and_then(|x| x["identity"].as_str())
        {
            row.identity = Some(idn.to_string());
        }
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
    let mut app = load(&station, &db);
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
    let abort = Arc::new(AtomicBool::new(false));
    let mut reply: Option<Sender<String>> = None;
    let mut dirty = true;
    let mut autostart: VecDeque<(String, BTreeMap<String, String>)> = options.autostart.into();
    let mut starting = false;
    let had_autostart = !autostart.is_empty();
    let mut completed = Vec::new();
    let target = |answers: BTreeMap<String, String>| Target {
        station: station.clone(),
        db_path: db_path.to_path_buf(),
        speed: options.speed,
        seed: options.seed,
        answers,
        sets: Vec::new(),
    };
    loop {
        if !starting
            && app.active_run.is_none()
            && let Some((name, answers)) = autostart.pop_front()
        {
            abort.store(false, Ordering::SeqCst);
            starting = start(name, target(answers), tx.clone(), abort.clone(), app);
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
        let command = match msg {
            Msg::Key(k) => match app.action_for(k) {
                Some(a) => app.update(a),
                None => {
                    dirty = false;
                    Command::None
                }
            },
            Msg::Engine(e) => {
                match &e {
                    Event::Started { .. } => starting = false,
                    Event::Finished { run_id, status, .. } => {
                        if *status == RunStatus::Completed {
                            completed.push(run_id.clone());
                        }
                        refresh_identities(app, db_path, run_id);
                    }
                    _ => {}
                }
                app.apply(&e);
                // The I/O log of the active run grows with every activity.
                if app.show_io
                    && app.screen == app::Screen::Log
                    && matches!(e, Event::Activity { .. } | Event::Finished { .. })
                    && let Some(run) = app
                        .active_run
                        .clone()
                        .or_else(|| app.runs.first().map(|r| r.0.clone()))
                {
                    app.io_log = io_lines(db_path, &run);
                }
                if matches!(e, Event::Finished { .. }) && had_autostart && autostart.is_empty() {
                    app.status = format!(
                        "{} — the demo runs are done: q quits and writes the certificates",
                        app.status
                    );
                }
                Command::None
            }
            Msg::Prompt { id, text, reply: r } => {
                app.ask(&id, &text);
                reply = Some(r);
                Command::None
            }
            Msg::Resize => Command::None,
            Msg::QueueDone(message) => {
                starting = false;
                app.status = message;
                refresh_queue(app, db_path);
                Command::None
            }
            Msg::StartFailed(message) => {
                starting = false;
                app.apply(&Event::Warning {
                    message: message.clone(),
                });
                app.status = message;
                Command::None
            }
        };
        match command {
            Command::None => {}
            Command::Quit => {
                if app.active_run.is_some() {
                    abort.store(true, Ordering::SeqCst);
                }
                return Ok(completed);
            }
            Command::Abort => abort.store(true, Ordering::SeqCst),
            Command::Answer(_, answer) => {
                if let Some(r) = reply.take() {
                    let _ = r.send(answer);
                }
            }
            Command::QueueAdd(name, sets) => {
                let user = operator_name(None);
                let station_file = station
                    .path
                    .exists()
                    .then(|| station.path.display().to_string());
                let added = Procedure::find(&name)
                    .map_err(|e| e.to_string())
                    .and_then(|p| p.parameters(&sets).map(|_| ()))
                    .and_then(|()| {
                        Database::open(db_path)
                            .and_then(|db| {
                                db.queue_add(
                                    &crate::store::queue::NewItem {
                                        procedure: name.clone(),
                                        sets,
                                        answers: Vec::new(),
                                        station: station_file,
                                        not_before: None,
                                        window: None,
                                    },
                                    crate::instruments::roles::system_now(),
                                    &user,
                                )
                            })
                            .map_err(|e| e.to_string())
                    });
                app.status = match added {
                    Ok(id) => format!("queued item {id}: {name}"),
                    Err(e) => format!("not queued: {e}"),
                };
                refresh_queue(app, db_path);
            }
            Command::QueueMove(id, up) => {
                let user = operator_name(None);
                if let Err(e) = Database::open(db_path).and_then(|db| {
                    db.queue_move(id, up, crate::instruments::roles::system_now(), &user)
                }) {
                    app.status = format!("cannot move queue item {id}: {e}");
                }
                refresh_queue(app, db_path);
            }
            Command::RunQueue => {
                abort.store(false, Ordering::SeqCst);
                let events = sink(tx.clone());
                let done_tx = tx.clone();
                let queue_options = crate::app::queue::QueueOptions {
                    db_path: db_path.to_path_buf(),
                    on_failure: crate::app::queue::OnFailure::Continue,
                    speed: options.speed,
                    operator: operator_name(None),
                    events,
                    abort: abort.clone(),
                };
                starting = true;
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
            Command::OpenRun(run_id) => {
                app.run_detail = Some((run_id.clone(), run_detail(db_path, &run_id)));
            }
            Command::DraftReport(run_id) => {
                app.status = draft_report(db_path, &run_id);
            }
            Command::LoadIo => {
                let run = app
                    .active_run
                    .clone()
                    .or_else(|| app.runs.first().map(|r| r.0.clone()));
                app.io_log = run.map(|r| io_lines(db_path, &r)).unwrap_or_default();
            }
            Command::RemoveQueueItem(id) => {
                let user = operator_name(None);
                let outcome = Database::open(db_path).and_then(|db| {
                    db.queue_remove(id, crate::instruments::roles::system_now(), &user)
                });
                match outcome {
                    Ok(()) => {
                        app.queue.retain(|q| q.0 != id);
                        app.selected_queue =
                            app.selected_queue.min(app.queue.len().saturating_sub(1));
                        app.status = format!("queue item {id} removed");
                    }
                    Err(e) => app.status = format!("cannot remove queue item {id}: {e}"),
                }
            }
            Command::DryRun(name, sets) => {
                app.status = match Procedure::find(&name) {
                    Err(e) => e.to_string(),
                    Ok(p) => match crate::app::run::dry_run(&p, station, &sets) {
                        Ok(_) => format!("dry run: {name} is ready to run on this station"),
                        Err(e) => e,
                    },
                }
            }
            Command::Start(name, sets) => {
                abort.store(false, Ordering::SeqCst);
                let mut t = target(BTreeMap::new());
                t.sets = sets;
                starting = start(name, t, tx.clone(), abort.clone(), app);
                if starting {
                    app.started();
                }
            }
        }
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

/// Where a run goes.
struct Target {
    station: Station,
    db_path: PathBuf,
    speed: Option<f64>,
    seed: Option<u64>,
    answers: BTreeMap<String, String>,
    sets: Vec<(String, String)>,
}

/// Start a run on the runtime; false when it could not even be prepared (the status says why).
fn start(
    name: String,
    target: Target,
    tx: Sender<Msg>,
    abort: Arc<AtomicBool>,
    app: &mut App,
) -> bool {
    let procedure = match Procedure::find(&name) {
        Ok(p) => p,
        Err(e) => {
            app.status = e.to_string();
            return false;
        }
    };
    // Checked here so that the operator sees a bad value at once.
    if let Err(e) = procedure.parameters(&target.sets) {
        app.status = e;
        return false;
    }
    let events = sink(tx.clone());
    let prompt_tx = tx.clone();
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
    let failure_tx = tx;
    tokio::spawn(async move {
        let outcome = crate::app::run::start(RunRequest {
            procedure,
            station: target.station,
            db_path: target.db_path,
            sets: target.sets,
            answers: target.answers,
            prompter: Some(prompter),
            operator: operator_name(None),
            seed: target.seed,
            speed: target.speed,
            faults: None,
            sim_start: None,
            resume: None,
            events,
            abort,
        })
        .await;
        if let Err(e) = outcome {
            let _ = failure_tx.send(Msg::StartFailed(format!("the run could not start: {e}")));
        }
    });
    true
}
