//! Lab-store benchmarks (issue 16), on a real PostgreSQL server (`$PVSTATION_TEST_PG`, a
//! superuser URL: `.ci/postgres start DIR` prints one):
//! - **sync throughput** of a station database holding 1 000 outdoor runs: one real
//!   outdoor-pmax run of the simulated station (`pvstation run`), its journal, raw data, I/O
//!   log, results and references copied under 1 000 run ids, plus one audit entry per run;
//!   synced into a fresh lab store three times (a full sync takes minutes, too long for
//!   criterion's ten samples): raw rows/s, all rows/s and MB/s are printed;
//! - **`lab refs trace`** of the shared reference cell over 10 stations × 1 000 runs (target
//!   < 100 ms): the synced station plus nine more whose runs, stops, references and reports
//!   (the tables the trace reads) are copies under their own identities; criterion.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};

use pvstation::store::db::Database;
use pvstation::store::lab::sync::{SyncOptions, sync};
use pvstation::store::lab::{LabStore, views};

const RUNS: usize = 1000;
const STATIONS: usize = 10;

fn server() -> Option<String> {
    let url = std::env::var("PVSTATION_TEST_PG")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        eprintln!(
            "SKIP lab benchmarks: set PVSTATION_TEST_PG to a PostgreSQL superuser URL (.ci/postgres start DIR prints one)"
        );
    }
    url
}

fn sql(runtime: &tokio::runtime::Runtime, url: &str, statement: &str) {
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("connects");
        tokio::spawn(connection);
        client.batch_execute(statement).await.expect(statement);
    });
}

fn fresh_database(runtime: &tokio::runtime::Runtime, server: &str, name: &str) -> String {
    sql(
        runtime,
        server,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    );
    sql(runtime, server, &format!("CREATE DATABASE {name}"));
    format!("{}/{name}", server.rsplit_once('/').expect("URL").0)
}

/// A station database with `RUNS` outdoor runs (see the module docs).
fn station_with_runs() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-lab");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("station.db");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pvstation"))
        .args([
            "run",
            "outdoor-pmax",
            "--headless",
            "--speed",
            "200",
            "--db",
        ])
        .arg(&path)
        .output()
        .expect("pvstation run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = Database::open(&path).expect("opens");
    let c = db.connection();
    let id: String = c
        .query_row("SELECT id FROM runs", [], |r| r.get(0))
        .expect("the run");
    let tx = c.unchecked_transaction().expect("tx");
    for k in 1..RUNS {
        let copy = format!("{id}-{k:04}");
        tx.execute_batch(&format!(
            "INSERT INTO runs SELECT '{copy}', procedure, procedure_hash, parameters, operator, software_version, station, started_at + {k} FROM runs WHERE id = '{id}';
             INSERT INTO activities SELECT '{copy}', seq, kind, request, result, status, recorded_at + {k} FROM activities WHERE run_id = '{id}';
             INSERT INTO raw (run_id, activity_seq, kind, data, sha256, corrects, recorded_at) SELECT '{copy}', activity_seq, kind, data, sha256, NULL, recorded_at + {k} FROM raw WHERE run_id = '{id}' ORDER BY id;
             INSERT INTO io_log (run_id, recorded_at, instrument, resource, direction, bytes) SELECT '{copy}', recorded_at + {k}, instrument, resource, direction, bytes FROM io_log WHERE run_id = '{id}' ORDER BY id;
             INSERT INTO results SELECT '{copy}', name, value FROM results WHERE run_id = '{id}';
             INSERT INTO run_stops SELECT '{copy}', status, reason, stopped_at + {k} FROM run_stops WHERE run_id = '{id}';
             INSERT INTO run_references SELECT '{copy}', reference_id, certificate FROM run_references WHERE run_id = '{id}';"
        ))
        .expect("copy a run");
    }
    tx.commit().expect("commit");
    for k in 0..RUNS {
        db.audit(
            1.0e9 + k as f64,
            "bench",
            "run.stop",
            &format!("{{\"run\":{k}}}"),
        )
        .expect("audit");
    }
    path
}

fn benches(c: &mut Criterion) {
    let Some(server) = server() else { return };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let station = station_with_runs();
    let mut url = String::new();
    for attempt in 1..=3 {
        url = fresh_database(&runtime, &server, "lab_bench");
        let started = Instant::now();
        let summary = runtime.block_on(async {
            let mut store = LabStore::connect(&url).await.expect("lab store");
            sync(&station, &mut store, SyncOptions::default(), &mut |_| {})
                .await
                .expect("sync")
        });
        let seconds = started.elapsed().as_secs_f64();
        let rows: u64 = summary.copied.values().sum();
        println!(
            "sync of {RUNS} outdoor runs (attempt {attempt}): {rows} rows ({} raw, {} I/O log), {:.1} MB in {seconds:.1} s: {:.0} raw rows/s, {:.0} rows/s, {:.2} MB/s ({} batches)",
            summary.copied["raw"],
            summary.copied["io_log"],
            summary.bytes as f64 / 1e6,
            summary.copied["raw"] as f64 / seconds,
            rows as f64 / seconds,
            summary.bytes as f64 / 1e6 / seconds,
            summary.batches
        );
    }
    // Nine more stations: the trace's tables copied under their own identities.
    let mut statements = String::new();
    for s in 1..STATIONS {
        let uuid = format!("00000000-0000-4000-8000-{s:012}");
        statements.push_str(&format!(
            "INSERT INTO stations VALUES ('{uuid}', 'bench station {s}', 0);
             INSERT INTO runs SELECT '{uuid}', src_rowid, id, procedure, procedure_hash, parameters, operator, software_version, station, started_at, row_sha256 FROM runs WHERE station_uuid <> '{uuid}' AND station_uuid NOT LIKE '00000000-%';
             INSERT INTO run_stops SELECT '{uuid}', src_rowid, run_id, status, reason, stopped_at, row_sha256 FROM run_stops WHERE station_uuid NOT LIKE '00000000-%';
             INSERT INTO run_references SELECT '{uuid}', src_rowid, run_id, reference_id, certificate, row_sha256 FROM run_references WHERE station_uuid NOT LIKE '00000000-%';
             INSERT INTO reports SELECT '{uuid}', r.rowid_, r.id, 'B{s}-' || r.run_id, r.run_id, 0, NULL, 0, 'bench', '{{}}', '{{}}', 'x'
               FROM (SELECT row_number() OVER () AS rowid_, row_number() OVER () AS id, id AS run_id FROM runs WHERE station_uuid NOT LIKE '00000000-%') r;"
        ));
    }
    // What autovacuum does a minute after such a load: the planner's statistics.
    statements.push_str("ANALYZE;");
    sql(&runtime, &url, &statements);
    let mut store = runtime
        .block_on(LabStore::connect(&url))
        .expect("lab store");
    let uses = runtime
        .block_on(views::refs_trace(&mut store, "NIM-PV-2026-0311"))
        .expect("trace");
    println!(
        "lab refs trace NIM-PV-2026-0311: {} runs on {} stations",
        uses.len(),
        uses.iter()
            .filter_map(|u| u["station_uuid"].as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    );
    c.bench_function("lab refs trace, 10 stations x 1000 runs", |b| {
        b.iter(|| {
            runtime
                .block_on(views::refs_trace(&mut store, "NIM-PV-2026-0311"))
                .expect("trace")
        })
    });
}

criterion_group! {
    name = lab;
    config = Criterion::default().sample_size(20);
    targets = benches
}
criterion_main!(lab);
