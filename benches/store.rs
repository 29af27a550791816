//! Station-database benchmarks (issue 5 targets), through the engine's journal recorder as
//! runs use it: a live sweep activity committed durably with its raw curve (WAL,
//! synchronous = FULL; target p99 ≤ 10 ms) and the resume of a run whose journal holds
//! 10 000 activities, every one replayed into the procedure (target ≤ 1 s). The p99 is
//! computed from 1 000 individually timed commits and printed; criterion reports the typical
//! values.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};

use std::sync::Arc;

use pvstation::engine::journal::Recorder;
use pvstation::model::{Clock, SharedClock};
use pvstation::store::db::{Database, RunStart, sha256_hex};

struct Counter(std::sync::atomic::AtomicU64);

impl Clock for Counter {
    fn now(&self) -> f64 {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed) as f64
    }
}

fn clock() -> SharedClock {
    Arc::new(Counter(std::sync::atomic::AtomicU64::new(0)))
}

fn fresh(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-db");
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join(name);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    path
}

fn start(path: &std::path::Path, id: &str) -> Recorder {
    let db = Database::open(path).expect("db");
    Recorder::start(db, &run_start(id), clock()).expect("start")
}

fn run_start(id: &str) -> RunStart {
    RunStart {
        id: id.into(),
        procedure: "outdoor-pmax".into(),
        procedure_hash: sha256_hex(b"script"),
        parameters: "{}".into(),
        operator: "bench".into(),
        software_version: "0.1.0".into(),
        station: "{}".into(),
        started_at: 0.0,
    }
}

/// A sweep's raw data: 200 points as JSON, as a sweep activity stores it.
fn curve_json() -> String {
    let points: Vec<String> = (0..200)
        .map(|k| {
            format!(
                "[{:.6},{:.6},{:.4}]",
                k as f64 * 0.3,
                5.0 - k as f64 * 0.001,
                k as f64 * 0.02
            )
        })
        .collect();
    format!("[{}]", points.join(","))
}

fn journal(c: &mut Criterion) {
    let mut rec = start(&fresh("commit.db"), "run");
    let raw = curve_json();
    let mut k = 0u64;
    let mut next = |rec: &mut Recorder| {
        k += 1;
        let _: serde_json::Value = rec
            .activity("sweep", &serde_json::json!({"k": k}), |_| {
                Ok((
                    serde_json::json!({"p_mp": 219.8, "points": 200}),
                    vec![("iv_curves".to_string(), raw.clone())],
                ))
            })
            .expect("journal");
    };
    let mut times: Vec<f64> = (0..1000)
        .map(|_| {
            let t = Instant::now();
            next(&mut rec);
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!(
        "journal commit (200-point sweep, fsync): median {:.3} ms, p99 {:.3} ms, max {:.3} ms over 1000 commits",
        times[500] * 1e3,
        times[989] * 1e3,
        times[999] * 1e3
    );
    c.bench_function("journal_commit_sweep_activity", |b| {
        b.iter(|| next(&mut rec))
    });

    let path = fresh("replay.db");
    let mut rec = start(&path, "long");
    for k in 0..10_000 {
        let _: serde_json::Value = rec
            .activity("conditions", &serde_json::json!({"k": k}), |_| {
                Ok((
                    serde_json::json!({"irradiance": 1000.5, "time": 1.0}),
                    vec![],
                ))
            })
            .expect("journal");
    }
    drop(rec);
    let hash = sha256_hex(b"script");
    c.bench_function("resume_and_replay_10000_activities", |b| {
        b.iter(|| {
            let db = Database::open(&path).expect("db");
            let mut rec = Recorder::resume(db, "long", &hash, clock()).expect("resume");
            let mut sum = 0.0;
            for k in 0..10_000 {
                let v: serde_json::Value = rec
                    .activity("conditions", &serde_json::json!({"k": k}), |_| {
                        panic!("a journaled activity went live")
                    })
                    .expect("replay");
                sum += v["irradiance"].as_f64().unwrap();
            }
            assert!(!rec.replaying());
            sum
        })
    });
}

criterion_group!(benches, journal);
criterion_main!(benches);
