//! Metrology-core benchmarks (issue 3 targets):
//! - ASTM E1036 extraction of a 200-point curve (target ≥ 300 000 curves/s per core);
//! - IEC 60891 procedure-1 translation + re-extraction (target ≥ 150 000/s per core);
//! - `iv batch` over 100 000 curves from Parquet, read → analyse on all cores → write
//!   (target ≤ 3 s wall on 2 cores).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use pvstation::analysis::curve::IvData;
use pvstation::analysis::extract::{ExtractOptions, Workspace, extract_in};
use pvstation::analysis::iec60891::{Conditions, Method, translate};
use pvstation::sim::diode::SingleDiode;

/// A 200-point curve of the CS5P-220M model at (g, t), 0 … 1.02·Voc.
fn curve(g: f64, t: f64, points: usize) -> IvData {
    let d = SingleDiode::cs5p_220m().at(g, t);
    let voc = d.open_circuit_voltage();
    let v: Vec<f64> = (0..points)
        .map(|k| 1.02 * voc * k as f64 / (points - 1) as f64)
        .collect();
    let i = v.iter().map(|v| d.current(*v)).collect();
    let mut c = IvData::new(v, i);
    c.irradiance = Some(vec![g; points]);
    c.temperature = Some(vec![t; points]);
    c
}

fn extraction(c: &mut Criterion) {
    let data = curve(800.0, 45.0, 200);
    let options = ExtractOptions::default();
    let mut ws = Workspace::default();
    let mut group = c.benchmark_group("metrology");
    group.throughput(Throughput::Elements(1));
    group.bench_function("astm_e1036_200_points", |b| {
        b.iter(|| {
            black_box(
                extract_in(
                    &mut ws,
                    black_box(&data.voltage),
                    black_box(&data.current),
                    &options,
                )
                .expect("extracts"),
            )
        })
    });
    let method = Method::P1 {
        alpha: 0.004539,
        beta: -0.222156,
        rs: 1.29,
        kappa: 0.0093,
    };
    let from = Some(Conditions {
        irradiance: 800.0,
        temperature: 45.0,
    });
    group.bench_function("p1_translate_and_extract_200_points", |b| {
        b.iter(|| {
            let t =
                translate(black_box(&data), &method, from, Conditions::STC).expect("translates");
            black_box(
                extract_in(&mut ws, &t.data.voltage, &t.data.current, &options).expect("extracts"),
            )
        })
    });
    group.finish();
}

/// 100 000 curves × 200 points in long format, generated once into the target directory.
fn batch_input() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-data");
    let path = dir.join("curves_100k.parquet");
    if path.exists() {
        return path;
    }
    std::fs::create_dir_all(&dir).expect("dir");
    let base: Vec<IvData> = (0..50)
        .map(|k| curve(400.0 + 16.0 * k as f64, 15.0 + (k % 10) as f64 * 5.0, 200))
        .collect();
    let n = 100_000usize;
    let mut ids = Vec::with_capacity(n * 200);
    let mut v = Vec::with_capacity(n * 200);
    let mut i = Vec::with_capacity(n * 200);
    let mut g = Vec::with_capacity(n * 200);
    let mut t = Vec::with_capacity(n * 200);
    for k in 0..n {
        let c = &base[k % base.len()];
        // Slight per-curve variation so no two curves are identical.
        let scale = 1.0 + (k as f64 * 0.618_034).fract() * 0.01;
        for p in 0..c.len() {
            ids.push(k as u64);
            v.push(c.voltage[p]);
            i.push(c.current[p] * scale);
            g.push(c.irradiance.as_ref().expect("g")[p] * scale);
            t.push(c.temperature.as_ref().expect("t")[p]);
        }
    }
    use polars::prelude::*;
    let mut df = df!("curve_id" => ids, "voltage" => v, "current" => i, "irradiance" => g, "temperature" => t).expect("frame");
    let file = std::fs::File::create(&path).expect("create");
    ParquetWriter::new(file).finish(&mut df).expect("parquet");
    path
}

fn batch(c: &mut Criterion) {
    let input = batch_input();
    let output = input.with_file_name("results_100k.parquet");
    let mut group = c.benchmark_group("iv_batch");
    group.sample_size(10);
    group.throughput(Throughput::Elements(100_000));
    group.bench_function("parquet_100k_curves_extract_all_cores", |b| {
        b.iter(|| {
            pvstation::store::batch::run_batch(&input, &output, None, None, &|_, _| {})
                .expect("batch")
        })
    });
    group.finish();
}

criterion_group!(benches, extraction, batch);
criterion_main!(benches);
