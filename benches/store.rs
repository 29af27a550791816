//! Station-database benchmarks (issue 5 targets, groundwork): a journaled activity committed
//! durably (WAL, synchronous = FULL; target p99 ≤ 10 ms) and the replay of a 10 000-activity
//! journal (target ≤ 1 s). The p99 is computed from 1 000 individually timed commits and
//! printed; criterion reports the typical commit.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};

use pvstation::store::db::{Activity, Database, RunStart, sha256_hex};

fn fresh(name: &str) -> Database {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-db");
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join(name);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Database::open(&path).expect("db")
}

fn start(db: &Database, id: &str) {
    db.start_run(&RunStart {
        id: id.into(),
        procedure: "outdoor-pmax".into(),
        procedure_hash: sha256_hex(b"script"),
        parameters: "{}".into(),
        operator: "bench".into(),
        software_version: "0.1.0".into(),
        station: "{}".into(),
        started_at: 0.0,
    })
    .expect("start");
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
    let db = fresh("commit.db");
    start(&db, "run");
    let raw = curve_json();
    let mut seq = 0;
    let mut next = |db: &Database| {
        seq += 1;
        let a = Activity {
            seq,
            kind: "sweep".into(),
            request: "{\"points\":200}".into(),
            result: "{\"ok\":true}".into(),
            status: "ok".into(),
            recorded_at: seq as f64,
        };
        db.journal("run", &a, &[("curve", &raw)]).expect("journal");
    };
    let mut times: Vec<f64> = (0..1000)
        .map(|_| {
            let t = Instant::now();
            next(&db);
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
    c.bench_function("journal_commit_sweep_activity", |b| b.iter(|| next(&db)));

    let db = fresh("replay.db");
    start(&db, "long");
    for seq in 1..=10_000 {
        let a = Activity {
            seq,
            kind: "read_irradiance".into(),
            request: "{}".into(),
            result: "{\"irradiance\":1000.5,\"time\":1.0}".into(),
            status: "ok".into(),
            recorded_at: seq as f64,
        };
        db.journal("long", &a, &[]).expect("journal");
    }
    c.bench_function("replay_10000_activities", |b| {
        b.iter(|| assert_eq!(db.activities("long").expect("replay").len(), 10_000))
    });
}

criterion_group!(benches, journal);
criterion_main!(benches);
