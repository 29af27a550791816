//! The overnight queue runner: items in order, each inside its time window, with a
//! continue-or-stop policy on failure. A crash during `queue run` leaves the item `running`
//! with its run id; the next `queue run` resumes that run from its journal.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::EngineError;
use super::host::{Event, EventSink};
use super::procedure::Procedure;
use super::run::{RunOptions, run};
use crate::instruments::station::Station;
use crate::model::unix_seconds;
use crate::store::db::Database;
use crate::store::queue::QueueItem;

/// Offset of the station's local time from UTC [s]: `$PVSTATION_UTC_OFFSET` (`+08:00`), else
/// the system's (`date +%z`), else 0.
pub fn local_offset() -> i64 {
    let parse = |t: &str| -> Option<i64> {
        let t = t.trim();
        let (sign, rest) = match t.as_bytes().first()? {
            b'+' => (1, &t[1..]),
            b'-' => (-1, &t[1..]),
            _ => (1, t),
        };
        let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
        if digits.len() != 4 {
            return None;
        }
        let h: i64 = digits[..2].parse().ok()?;
        let m: i64 = digits[2..].parse().ok()?;
        Some(sign * (h * 3600 + m * 60))
    };
    if let Ok(v) = std::env::var("PVSTATION_UTC_OFFSET") {
        return parse(&v).unwrap_or(0);
    }
    std::process::Command::new("date")
        .arg("+%z")
        .output()
        .ok()
        .and_then(|o| parse(&String::from_utf8_lossy(&o.stdout)))
        .unwrap_or(0)
}

/// Parse `HH:MM` into minutes of the day.
fn hhmm(text: &str) -> Option<u32> {
    let (h, m) = text.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// Parse a daily window `HH:MM-HH:MM` (local time; may wrap midnight, e.g. `22:00-04:00`).
pub fn parse_window(text: &str) -> Result<(u32, u32), String> {
    let bad = || format!("window `{text}`: write HH:MM-HH:MM in local time, e.g. 10:30-14:00");
    let (a, b) = text.split_once('-').ok_or_else(bad)?;
    let (a, b) = (hhmm(a).ok_or_else(bad)?, hhmm(b).ok_or_else(bad)?);
    if a == b {
        return Err(format!("window `{text}` is empty"));
    }
    Ok((a, b))
}

/// Parse a time: Unix seconds, or `YYYY-MM-DD HH:MM[:SS]` / `YYYY-MM-DDTHH:MM[:SS]` in local
/// time, or with a trailing `Z` in UTC.
pub fn parse_time(text: &str, offset: i64) -> Result<f64, String> {
    let t = text.trim();
    if let Ok(x) = t.parse::<f64>() {
        return Ok(x);
    }
    let bad = || format!("time `{text}`: write YYYY-MM-DD HH:MM (local), …Z (UTC) or Unix seconds");
    let (utc, t) = match t.strip_suffix('Z') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (date, time) = t.split_once(['T', ' ']).ok_or_else(bad)?;
    let date = crate::model::Date::parse(date).map_err(|_| bad())?;
    let mut parts = time.split(':');
    let h: i64 = parts.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
    let m: i64 = parts.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
    let s: f64 = parts
        .next()
        .map(|x| x.parse().map_err(|_| bad()))
        .transpose()?
        .unwrap_or(0.0);
    if !(0..24).contains(&h) || !(0..60).contains(&m) || !(0.0..60.0).contains(&s) {
        return Err(bad());
    }
    let local = date.days_since_epoch() * 86_400 + h * 3600 + m * 60;
    Ok((local - if utc { 0 } else { offset }) as f64 + s)
}

/// Seconds until the window is open at `now` (0 when it is).
pub fn until_open(window: (u32, u32), now: f64, offset: i64) -> f64 {
    let local = now + offset as f64;
    let minute = local.rem_euclid(86_400.0) / 60.0;
    let (a, b) = (f64::from(window.0), f64::from(window.1));
    let open = if a < b {
        minute >= a && minute < b
    } else {
        minute >= a || minute < b
    };
    if open {
        0.0
    } else {
        ((a - minute).rem_euclid(1440.0)) * 60.0
    }
}

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
    /// Operator.
    pub operator: String,
    /// Engine events (and queue progress as `log` events).
    pub events: EventSink,
    /// Abort flag.
    pub abort: Arc<AtomicBool>,
}

/// One line of the end-of-queue summary.
#[derive(Debug, Clone, Serialize)]
pub struct Done {
    /// Queue item.
    pub item: i64,
    /// Procedure.
    pub procedure: String,
    /// Run id.
    pub run_id: Option<String>,
    /// completed / failed / aborted / error (could not start).
    pub status: String,
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
pub async fn run_queue(options: QueueOptions) -> Result<Vec<Done>, EngineError> {
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
        let resuming = item.status == "running" && item.run_id.is_some();
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
        let started = unix_seconds(std::time::SystemTime::now());
        lock(&db).queue_started(item.id, started)?;
        let outcome = run_item(&item, &db, &options, resuming).await;
        let finished = unix_seconds(std::time::SystemTime::now());
        let (status, run_id, reason) = match outcome {
            Ok(o) => (o.status, Some(o.run_id), o.reason),
            Err(e) => (
                "failed".to_string(),
                item.run_id.clone(),
                Some(e.to_string()),
            ),
        };
        lock(&db).queue_finished(item.id, &status, finished)?;
        let ok = status == "completed";
        done.push(Done {
            item: item.id,
            procedure: item.procedure.clone(),
            run_id,
            status: status.clone(),
            reason,
            duration: finished - started,
        });
        if status == "aborted" {
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
        let now = unix_seconds(std::time::SystemTime::now());
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
) -> Result<super::run::RunOutcome, EngineError> {
    let fail = |e: String| EngineError::Station(e);
    let procedure = Procedure::find(&item.procedure).map_err(|e| fail(e.to_string()))?;
    let station = Station::load_or_built_in(item.station.as_deref().map(std::path::Path::new))
        .map_err(|e| fail(e.to_string()))?;
    let parameters = procedure.parameters(&item.sets).map_err(fail)?;
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
    run(RunOptions {
        procedure,
        station,
        db_path: options.db_path.clone(),
        parameters,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_and_times() {
        assert_eq!(parse_window("10:30-14:00"), Ok((630, 840)));
        assert!(parse_window("25:00-14:00").is_err());
        assert!(parse_window("10:00").is_err());
        // 2026-11-28 12:00 UTC.
        let noon = parse_time("2026-11-28T12:00Z", 0).expect("time");
        assert_eq!(noon, 1_795_867_200.0);
        assert_eq!(parse_time("2026-11-28 20:00", 8 * 3600), Ok(noon));
        assert_eq!(parse_time("1795867200", 0), Ok(noon));
        assert!(parse_time("tomorrow", 0).is_err());
        // Inside, before and after a window; wrapping midnight.
        assert_eq!(until_open((600, 840), noon, 0), 0.0);
        assert_eq!(until_open((780, 840), noon, 0), 3600.0);
        assert_eq!(until_open((600, 700), noon, 0), (1440.0 - 120.0) * 60.0);
        assert_eq!(until_open((1320, 240), noon, 0), 600.0 * 60.0);
        assert_eq!(until_open((1320, 240), noon + 12.0 * 3600.0, 0), 0.0);
        assert_eq!(
            until_open((600, 840), noon, 8 * 3600),
            (1440.0 - 1200.0 + 600.0) * 60.0
        );
    }
}
