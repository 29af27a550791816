//! The overnight queue runner: items in order, each inside its time window, with a
//! continue-or-stop policy on failure. A crash during `queue run` leaves the item `running`
//! with its run id; the next `queue run` resumes that run from its journal.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::AppError;
use super::run::RunRequest;
use crate::engine::events::{Event, EventSink, RunStatus};
use crate::engine::procedure::Procedure;
use crate::engine::queue::{local_offset, parse_window, until_open};
use crate::engine::run::RunOutcome;
use crate::instruments::station::Station;
use crate::model::QueueStatus;
use crate::store::db::Database;
use crate::store::queue::QueueItem;

/// What to do when an item fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Run the next item.
    Continue,
    /// Stop the queue (remaining items stay pending).
    Stop,
}

/// Options of `queue run`.
pub struct QueueOptions {
    /// Database.
    pub db_path: PathBuf,
    /// Failure policy.
    pub on_failure: OnFailure,
    /// Clock acceleration of simulated stations.
    pub speed: Option<f64>,
    /// Who started the queue runner (audit trail and run records).
    pub operator: String,
    /// Engine events (and queue progress as `log` events).
    pub events: EventSink,
    /// Abort flag.
    pub abort: Arc<AtomicBool>,
    /// Lab store to sync to after each run (`--sync URL`); a sync that fails (the network
    /// is down at night) is logged and the queue goes on: the next one catches up.
    pub sync: Option<String>,
}

/// One line of the end-of-queue summary.
#[derive(Debug, Clone, Serialize)]
pub struct Done {
    /// Queue item.
    pub item: i64,
    /// The item's procedure name or script path.
    pub procedure: String,
    /// The run the item started (None when it could not start).
    pub run_id: Option<String>,
    /// How its run stopped (failed: also when it could not start).
    pub status: RunStatus,
    /// Why, when not completed.
    pub reason: Option<String>,
    /// Wall-clock duration [s].
    pub duration: f64,
}

fn lock(db: &Mutex<Database>) -> std::sync::MutexGuard<'_, Database> {
    db.lock().unwrap_or_else(|p| p.into_inner())
}

fn progress(events: &EventSink, message: String) {
    events(Event::Log { message });
}

/// Run the queue until it is empty, stopped by the policy, or aborted.
pub async fn run_queue(options: QueueOptions) -> Result<Vec<Done>, AppError> {
    let db = Arc::new(Mutex::new(Database::open(&options.db_path)?));
    let offset = local_offset();
    let mut done = Vec::new();
    let events = options.events.clone();
    loop {
        if options.abort.load(Ordering::SeqCst) {
            progress(&events, "queue stopped by the operator".into());
            break;
        }
        let items = lock(&db).queue_items(false)?;
        let Some(item) = items.first().cloned() else {
            break;
        };
        let total = items.len();
        // ETA from earlier completed items of the same procedures.
        let mut eta = 0.0;
        let mut known = true;
        for it in &items {
            match lock(&db).queue_mean_duration(&it.procedure)? {
                Some(d) => eta += d,
                None => known = false,
            }
        }
        let eta_text = if known {
            format!("queue done in ≈ {:.0} min", eta / 60.0)
        } else {
            "no earlier runs to estimate the rest from".into()
        };
        let resuming = item.status == QueueStatus::Running && item.run_id.is_some();
        if !resuming && !wait_for_window(&item, offset, &options, &events).await {
            break;
        }
        progress(
            &events,
            format!(
                "queue item {} ({total} left, this one included): {}{} — {eta_text}",
                item.id,
                item.procedure,
                if resuming {
                    " (resuming its interrupted run)"
                } else {
                    ""
                }
            ),
        );
        let started = crate::instruments::roles::system_now();
        lock(&db).queue_started(item.id, started)?;
        let outcome = run_item(&item, &db, &options, resuming).await;
        let finished = crate::instruments::roles::system_now();
        let (status, run_id, reason) = match outcome {
            Ok(o) => (o.status, Some(o.run_id), o.reason),
            Err(e) => (RunStatus::Failed, item.run_id.clone(), Some(e.to_string())),
        };
        lock(&db).queue_finished(item.id, status.into(), finished)?;
        if let Some(url) = &options.sync {
            sync_after_run(url, &options.db_path, &events).await;
        }
        let ok = status == RunStatus::Completed;
        done.push(Done {
            item: item.id,
            procedure: item.procedure.clone(),
            run_id,
            status,
            reason,
            duration: finished - started,
        });
        if status == RunStatus::Aborted {
            break;
        }
        if !ok && options.on_failure == OnFailure::Stop {
            progress(
                &events,
                format!(
                    "queue stopped: item {} {status} (policy: stop on failure)",
                    item.id
                ),
            );
            break;
        }
    }
    Ok(done)
}

/// Copy the station database to the lab store; the outcome goes to the log either way.
async fn sync_after_run(url: &str, db_path: &std::path::Path, events: &EventSink) {
    use crate::store::lab::{LabError, LabStore, shown_url, sync};
    // The sync reads the station file through one SQLite snapshot held across its awaits
    // (a connection is not `Sync`): it runs on a blocking thread of its own.
    let (url_owned, path) = (url.to_string(), db_path.to_path_buf());
    let handle = tokio::runtime::Handle::current();
    let outcome = tokio::task::spawn_blocking(move || {
        handle.block_on(async move {
            let mut store = LabStore::connect(&url_owned).await?;
            sync::sync(&path, &mut store, sync::SyncOptions::default(), &mut |_| {}).await
        })
    })
    .await
    .unwrap_or_else(|e| Err(LabError::Refused(format!("the sync task ended: {e}"))));
    let message = match outcome {
        Ok(s) => format!(
            "synced to the lab store {}: {} rows in {} batches ({:.1} s)",
            shown_url(url),
            s.copied.values().sum::<u64>(),
            s.batches,
            s.seconds
        ),
        Err(e) => format!(
            "sync to the lab store failed, the queue goes on (the next sync copies what is missing): {e}"
        ),
    };
    progress(events, message);
}

/// Wait (in slices, abortable) until the item may start. False when aborted.
async fn wait_for_window(
    item: &QueueItem,
    offset: i64,
    options: &QueueOptions,
    events: &EventSink,
) -> bool {
    let window = item.window.as_deref().and_then(|w| parse_window(w).ok());
    let mut announced = false;
    loop {
        let now = crate::instruments::roles::system_now();
        let mut wait = item.not_before.map(|t| (t - now).max(0.0)).unwrap_or(0.0);
        if wait == 0.0
            && let Some(w) = window
        {
            wait = until_open(w, now, offset);
        }
        if wait <= 0.0 {
            return true;
        }
        if !announced {
            progress(
                events,
                format!(
                    "queue item {} ({}) waits {:.0} min for {}",
                    item.id,
                    item.procedure,
                    wait / 60.0,
                    match (&item.not_before, &item.window) {
                        (_, Some(w)) if item.not_before.is_none_or(|t| t <= now) =>
                            format!("its window {w}"),
                        _ => "its start time".into(),
                    }
                ),
            );
            announced = true;
        }
        if options.abort.load(Ordering::SeqCst) {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_secs_f64(wait.min(1.0))).await;
    }
}

async fn run_item(
    item: &QueueItem,
    db: &Arc<Mutex<Database>>,
    options: &QueueOptions,
    resuming: bool,
) -> Result<RunOutcome, AppError> {
    let fail = AppError::Invalid;
    let procedure = Procedure::find(&item.procedure).map_err(|e| fail(e.to_string()))?;
    let station = Station::load_or_built_in(item.station.as_deref().map(std::path::Path::new))
        .map_err(|e| fail(e.to_string()))?;
    // The run id reaches the queue row as soon as the run exists.
    let inner = options.events.clone();
    let db_for_events = db.clone();
    let id = item.id;
    let events: EventSink = Arc::new(move |e: Event| {
        if let Event::Started { run_id, .. } = &e {
            let _ = lock(&db_for_events).queue_run_id(id, run_id);
        }
        inner(e);
    });
    super::run::start(RunRequest {
        procedure,
        station,
        db_path: options.db_path.clone(),
        sets: item.sets.clone(),
        answers: item.answers.iter().cloned().collect(),
        prompter: None,
        operator: options.operator.clone(),
        seed: None,
        speed: options.speed,
        faults: None,
        sim_start: None,
        resume: if resuming { item.run_id.clone() } else { None },
        events,
        abort: options.abort.clone(),
    })
    .await
}
