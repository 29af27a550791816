//! Report rendering (issue 6 target: all four formats for a run with 20 sweeps ≤ 1 s): a
//! simulated outdoor run with 10 dual (20) sweeps is stored once; the benchmark builds the
//! report model from the database and renders PDF, HTML, JSON and DCC.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use criterion::{Criterion, criterion_group, criterion_main};

use pvstation::app::run::{RunRequest, start};
use pvstation::engine::events::RunStatus;
use pvstation::engine::procedure::Procedure;
use pvstation::instruments::station::Station;
use pvstation::report::build::build;
use pvstation::report::model::ReportMeta;
use pvstation::report::render_all;
use pvstation::store::db::Database;

fn stored_run() -> (PathBuf, String) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-report");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let db_path = dir.join("s.db");
    let procedure = Procedure::find("outdoor-pmax").expect("procedure");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let outcome = rt
        .block_on(start(RunRequest {
            procedure,
            station: Station::built_in().expect("station"),
            db_path: db_path.clone(),
            sets: vec![("sweeps".into(), "10".into())],
            answers: Default::default(),
            prompter: None,
            operator: "bench".into(),
            seed: Some(1),
            speed: Some(200.0),
            faults: None,
            sim_start: None,
            resume: None,
            events: Arc::new(|_| {}),
            abort: Arc::new(AtomicBool::new(false)),
        }))
        .expect("run");
    assert_eq!(outcome.status, RunStatus::Completed);
    rt.shutdown_background();
    (db_path, outcome.run_id)
}

fn render(c: &mut Criterion) {
    let (db_path, run_id) = stored_run();
    let db = Database::open(&db_path).expect("db");
    let meta = ReportMeta {
        customer: Some("Bench customer".into()),
        customer_email: Some("bench@example.org".into()),
        item: Some("CS5P-220M".into()),
        signatory: Some("Bench".into()),
        ..ReportMeta::default()
    };
    let formats = pvstation::report::Format::ALL;
    let sweeps = build(&db, &run_id, "PVS-BENCH-0001", 0, None, 1.8e9, &meta)
        .expect("model")
        .curves
        .len();
    println!("report of a run with {sweeps} sweeps");
    c.bench_function("report_model_and_four_formats_20_sweeps", |b| {
        b.iter(|| {
            let report =
                build(&db, &run_id, "PVS-BENCH-0001", 0, None, 1.8e9, &meta).expect("model");
            let (files, _) = render_all(&report, &formats, false, None).expect("render");
            assert_eq!(files.len(), 4);
            files
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = render
}
criterion_main!(benches);
