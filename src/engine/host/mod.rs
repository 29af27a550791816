//! The host API a procedure script calls, by capability — instruments and conditions
//! (`instruments`, with the stable-sun `gate`), the operator, clock and randomness
//! (`operator`), results and references (`results`), pure analysis (`analysis`) — with the
//! argument conversions in one place (`args`) and the plumbing here: the [`Host`] every call
//! reaches, activities (journaled before the script sees them, replayed on resume), and one
//! registration helper.
//!
//! Every call that touches an instrument, the operator, the clock or randomness is an
//! activity of the [`Recorder`]: journaled (with its raw data) before the script sees the
//! result, replayed from the journal on resume. Pure calls (analysis, uncertainty, decision
//! rules, `record`, `log`) are recomputed on every run from the activities' results, which is
//! what makes a resumed run reach exactly the results of an uninterrupted one.
//!
//! Script calls run on a blocking thread; instrument futures are driven with the runtime
//! handle. The abort flag is checked before every activity, while waiting, and by the
//! script's operation counter, so Ctrl-C never waits for more than the current instrument
//! operation.

mod analysis;
mod args;
pub mod gate;
mod instruments;
mod operator;
mod results;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rhai::{Dynamic, Engine, EvalAltResult};
use serde::Serialize;
use serde_json::Value;

use super::events::{
    ActivityKind, ActivityStatus, Event, EventSink, InterruptionKind, Prompter, SimulatedOperator,
};
use super::journal::Recorder;
use crate::instruments::bench::Bench;
use crate::instruments::station::Station;
use crate::model::SharedClock;
use crate::scpi::IoLog;
use crate::store::db::{Database, IoEntry};

/// What is left of a host when the run is over.
pub struct HostParts {
    /// The recorder.
    pub recorder: Option<Recorder>,
    /// The instruments.
    pub bench: Bench,
    /// Results by name as recorded.
    pub results: BTreeMap<String, Value>,
    /// References used (ids).
    pub used_references: std::collections::BTreeSet<String>,
}

/// The host: everything a running procedure reaches.
pub struct Host {
    /// The journal (taken out while a live activity runs).
    rec: Option<Recorder>,
    /// The run's clock.
    clock: SharedClock,
    /// The run's id (journal, raw records, I/O log).
    pub run_id: String,
    /// Instruments by role.
    pub bench: Bench,
    /// The station (references, sensor names).
    pub station: Station,
    /// Runtime that drives instrument futures.
    pub rt: tokio::runtime::Handle,
    /// Where events go.
    pub events: EventSink,
    /// Pre-given prompt answers by prompt id.
    pub answers: BTreeMap<String, String>,
    /// Interactive answers (None: headless).
    pub prompter: Option<Prompter>,
    /// Set to abort.
    pub abort: Arc<AtomicBool>,
    /// A simulated world's operator, told about every live prompt answer (prompt id, time).
    pub simulated_operator: Option<SimulatedOperator>,
    /// The I/O log of the instruments (stored with the run after every activity).
    pub io_log: IoLog,
    /// Clock acceleration (simulated stations) [1].
    pub speed: f64,
    /// Operator (audit trail).
    pub operator: String,
    /// Seed of `random()`.
    pub seed: u64,
    /// Recorded results.
    pub results: BTreeMap<String, Value>,
    /// Reference devices the run used (ids), for traceability and recalls.
    pub used_references: std::collections::BTreeSet<String>,
    random_state: u64,
    /// The instrument whose call failed last (an interruption names it).
    fault: Option<String>,
}

/// Result of a host function as the script sees it.
type HostResult<T> = Result<T, Box<EvalAltResult>>;

/// A script error with this message.
fn fail<T>(message: impl Into<String>) -> HostResult<T> {
    Err(message.into().into())
}

/// The host as the registered functions share it.
type SharedHost = Arc<Mutex<Host>>;

/// Register `name` as a host function whose body gets the locked host (`|host, args…|`): the
/// one place that shares the host with the closures Rhai keeps.
macro_rules! host_fn {
    ($engine:expr, $shared:expr, $name:expr, |$host:ident $(, $arg:ident : $ty:ty)*| -> $ret:ty $body:block) => {{
        let shared = $shared.clone();
        $engine.register_fn($name, move |$($arg: $ty),*| -> $ret {
            let mut guard = shared.lock().unwrap_or_else(|p| p.into_inner());
            let $host: &mut $crate::engine::host::Host = &mut guard;
            $body
        });
    }};
}
use host_fn;

impl Host {
    /// A host around a started or resumed recorder.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        rec: Recorder,
        clock: SharedClock,
        bench: Bench,
        station: Station,
        rt: tokio::runtime::Handle,
        events: EventSink,
        io_log: IoLog,
        speed: f64,
        operator: String,
        seed: u64,
    ) -> Host {
        Host {
            run_id: rec.run_id().to_string(),
            rec: Some(rec),
            clock,
            bench,
            station,
            rt,
            events,
            answers: BTreeMap::new(),
            prompter: None,
            abort: Arc::new(AtomicBool::new(false)),
            simulated_operator: None,
            io_log,
            speed,
            operator,
            seed,
            results: BTreeMap::new(),
            used_references: std::collections::BTreeSet::new(),
            random_state: seed ^ 0x9E37_79B9_7F4A_7C15,
            fault: None,
        }
    }

    /// The recorder (present except inside a live activity).
    pub fn recorder(&self) -> Option<&Recorder> {
        self.rec.as_ref()
    }

    /// Take the recorder back (the run is over).
    pub fn into_parts(self) -> HostParts {
        HostParts {
            recorder: self.rec,
            bench: self.bench,
            results: self.results,
            used_references: self.used_references,
        }
    }

    pub(super) fn now(&self) -> f64 {
        self.clock.now()
    }

    /// Mark the references behind the irradiance meters as used (`all`: the check cells too).
    pub(super) fn use_irradiance_references(&mut self, all: bool) {
        let ids: Vec<String> = self
            .station
            .file
            .instrument
            .iter()
            .filter(|i| i.role == crate::instruments::profile::Role::IrradianceMeter)
            .filter_map(|i| i.reference.clone())
            .take(if all { usize::MAX } else { 1 })
            .collect();
        self.used_references.extend(ids);
    }

    /// Mark the references of a kind (e.g. the calibrator) as used.
    pub(super) fn use_references_of_kind(
        &mut self,
        kind: crate::instruments::station::ReferenceKind,
    ) {
        let ids: Vec<String> = self
            .station
            .file
            .reference
            .iter()
            .filter(|r| r.kind == kind)
            .map(|r| r.id.clone())
            .collect();
        self.used_references.extend(ids);
    }

    pub(super) fn aborted(&self) -> bool {
        self.abort.load(Ordering::SeqCst)
    }

    /// One activity (see [`Host::try_activity`]) as a script error.
    pub(super) fn activity<T, F>(
        &mut self,
        kind: ActivityKind,
        request: Value,
        live: F,
    ) -> HostResult<T>
    where
        T: Serialize + serde::de::DeserializeOwned,
        F: FnOnce(&mut Host, &Database) -> Result<(T, Vec<(String, String)>), String>,
    {
        self.try_activity(kind, request, live).map_err(|e| e.into())
    }

    /// One activity: journaled or replayed, with an event, and the I/O log stored.
    pub(super) fn try_activity<T, F>(
        &mut self,
        kind: ActivityKind,
        request: Value,
        live: F,
    ) -> Result<T, String>
    where
        T: Serialize + serde::de::DeserializeOwned,
        F: FnOnce(&mut Host, &Database) -> Result<(T, Vec<(String, String)>), String>,
    {
        // The recorder is borrowed by its own call while the live closure needs the rest of
        // the host: take it out for the call.
        let Some(mut rec) = self.rec.take() else {
            return Err("a host function was called from inside another one".into());
        };
        let replayed = rec.replaying();
        let seq = rec.next_seq();
        if !replayed && self.aborted() {
            self.rec = Some(rec);
            return Err("aborted by the operator".into());
        }
        if !replayed {
            (self.events)(Event::ActivityStarted { seq, kind });
        }
        let outcome = rec.activity(kind.as_str(), &request, |db| live(self, db));
        self.rec = Some(rec);
        if !replayed {
            self.store_io_log();
        }
        (self.events)(Event::Activity {
            seq,
            kind,
            status: if outcome.is_ok() {
                ActivityStatus::Ok
            } else {
                ActivityStatus::Error
            },
            replayed,
        });
        outcome.map_err(|e| e.to_string())
    }

    /// Move the instruments' I/O log into the database.
    pub fn store_io_log(&mut self) {
        if let Some(rec) = &self.rec
            && let Err(e) = persist_io_log(rec.db(), &self.run_id, &self.io_log)
        {
            (self.events)(Event::Warning {
                message: format!("the I/O log could not be stored: {e}"),
            });
        }
    }

    /// An instrument call failed: remember which instrument (the interruption that follows
    /// names it, and the console marks that row), and give the message.
    pub(super) fn fault(&mut self, e: crate::instruments::InstrumentsError) -> String {
        self.fault = e.instrument().map(str::to_string);
        e.to_string()
    }

    pub(super) fn interruption(&mut self, seq: i64, kind: InterruptionKind, mut details: Value) {
        let instrument = match kind {
            InterruptionKind::InstrumentFault => self.fault.take(),
            _ => None,
        };
        if let (Some(name), Some(map)) = (&instrument, details.as_object_mut()) {
            map.insert("instrument".into(), Value::String(name.clone()));
        }
        let at = self.now();
        if let Some(rec) = &self.rec
            && let Err(e) = rec.db().record_interruption(
                &self.run_id,
                seq,
                kind.as_str(),
                &details.to_string(),
                at,
            )
        {
            (self.events)(Event::Warning {
                message: format!("interruption not stored: {e}"),
            });
        }
        (self.events)(Event::Interruption {
            seq,
            kind,
            details,
            instrument,
        });
    }

    /// Sleep `seconds` of station time (simulated time runs `speed` times faster), in slices
    /// so that an abort is noticed.
    pub(super) fn pause(&self, seconds: f64) -> Result<(), String> {
        let real = (seconds / self.speed).max(0.0);
        let until = std::time::Instant::now() + std::time::Duration::from_secs_f64(real.min(1e6));
        while std::time::Instant::now() < until {
            if self.aborted() {
                return Err("aborted by the operator".into());
            }
            let left = until.saturating_duration_since(std::time::Instant::now());
            std::thread::sleep(left.min(std::time::Duration::from_millis(50)));
        }
        Ok(())
    }

    pub(super) fn next_random(&mut self) -> f64 {
        // splitmix64 (Steele, Lea, Flood 2014): the stream depends only on the seed.
        self.random_state = self.random_state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.random_state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Move what the I/O log holds into the run's record.
pub fn persist_io_log(
    db: &Database,
    run_id: &str,
    log: &IoLog,
) -> Result<(), crate::store::StoreError> {
    let entries: Vec<IoEntry> = log
        .drain()
        .into_iter()
        .map(|r| IoEntry {
            recorded_at: r.time,
            instrument: r.instrument,
            resource: r.resource,
            direction: serde_json::to_value(r.direction)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            bytes: r.bytes,
        })
        .collect();
    if entries.is_empty() {
        return Ok(());
    }
    db.append_io_log(run_id, &entries)
}

/// Most seconds a script may compute outside host calls in one run.
pub const MAX_SCRIPT_SECONDS: f64 = 600.0;

/// Most memory a script's own data may take [bytes].
pub const MAX_SCRIPT_MEMORY: u64 = 512 << 20;

/// Longest single `sleep` [s]: a day (longer waits are several calls, each journaled).
pub const MAX_SLEEP: f64 = 86_400.0;

/// Resident memory of this process [bytes] (Linux `/proc/self/statm`; None elsewhere).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Register the host API on `engine`: the script's computing time and memory are bounded, and
/// each capability registers its functions.
pub fn register(engine: &mut Engine, host: Arc<Mutex<Host>>) {
    let abort = host
        .lock()
        .map(|h| h.abort.clone())
        .unwrap_or_else(|p| p.into_inner().abort.clone());
    // Time limit on the script's own computation (host calls — waiting for the sun, sweeps —
    // do not count): the wall time between progress checks 4096 operations apart, gaps of a
    // second or more being host calls.
    let busy = Mutex::new((std::time::Instant::now(), 0.0f64));
    let memory_at_start = resident_bytes();
    let memory_checked = Mutex::new(std::time::Instant::now());
    engine.on_progress(move |ops| {
        if abort.load(Ordering::SeqCst) {
            return Some(Dynamic::from("aborted by the operator"));
        }
        // Rhai does not bound a map that grows by `m[key] = v` (its size check covers the
        // item only), so the script's memory is bounded here: the process may grow by at
        // most MAX_SCRIPT_MEMORY while the script runs (checked every 5 ms of computation).
        if ops % 1024 == 0
            && let Ok(mut last) = memory_checked.lock()
            && last.elapsed() >= std::time::Duration::from_millis(5)
            && let (Some(start), Some(now)) = (memory_at_start, {
                *last = std::time::Instant::now();
                resident_bytes()
            })
            && now > start + MAX_SCRIPT_MEMORY
        {
            return Some(Dynamic::from(format!(
                "the script holds more than {} MiB of data (a map or array growing without bound?)",
                MAX_SCRIPT_MEMORY >> 20
            )));
        }
        if ops % 4096 == 0 {
            let mut b = busy.lock().unwrap_or_else(|p| p.into_inner());
            let now = std::time::Instant::now();
            let gap = now.duration_since(b.0).as_secs_f64();
            if gap < 1.0 {
                b.1 += gap;
            }
            b.0 = now;
            if b.1 > MAX_SCRIPT_SECONDS {
                return Some(Dynamic::from(format!(
                    "the script computed for more than {MAX_SCRIPT_SECONDS} s outside host calls (an endless loop?)"
                )));
            }
        }
        None
    });
    instruments::register(engine, &host);
    operator::register(engine, &host);
    results::register(engine, &host);
    analysis::register(engine);
}
