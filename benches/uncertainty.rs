//! Uncertainty benchmarks (issue 4 targets): 10⁶ Monte Carlo trials of the full-curve
//! Pmax-at-STC model on a 200-point curve (target ≤ 2 s on 2 cores), and the adaptive
//! procedure for two significant digits on the same model (target typically < 1 s).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};

use pvstation::analysis::curve::IvData;
use pvstation::analysis::iec60891::Conditions;
use pvstation::sim::diode::SingleDiode;
use pvstation::uncertainty::station::{PmaxModel, PmaxSetup, Spec, StcQuantity};
use pvstation::uncertainty::{McmOptions, mcm};

/// The same assumed station as the integration test, on a 200-point model curve at
/// 800 W/m² / 45 °C.
fn setup() -> PmaxSetup {
    let d = SingleDiode::cs5p_220m().at(800.0, 45.0);
    let voc = d.open_circuit_voltage();
    let v: Vec<f64> = (0..200).map(|k| 1.02 * voc * k as f64 / 199.0).collect();
    let i = v.iter().map(|v| d.current(*v)).collect();
    let (cv, r_shunt, alpha_ref, t_ref) = (0.1213, 1.0002, 0.0005, 38.0);
    PmaxSetup {
        curve: IvData::new(v, i),
        to: Conditions::STC,
        method: pvstation::analysis::iec60891::Method::P1 {
            alpha: 0.004539,
            beta: -0.222156,
            rs: 1.290,
            kappa: 0.0093,
        },
        u_parameters: vec![0.0002, 0.004, 0.05, 0.001],
        shunt_voltage: 0.8 * cv * (1.0 + alpha_ref * (t_ref - 25.0)) * r_shunt,
        dmm: Spec {
            reading: 30e-6,
            range: 7e-6,
            full_scale: 1.0,
        },
        cv,
        u_cv: 0.00055,
        cv_drift: 0.0,
        cv_drift_correction: 0.0,
        r_shunt,
        u_r_shunt: 0.0001,
        alpha_ref,
        u_alpha_ref: 0.0001,
        t_ref,
        u_t_ref: 0.5,
        smm: 1.0,
        u_smm: 0.004,
        irradiance_instability: 0.002,
        module_temperature: 44.0,
        u_temperature_sensor: 0.3,
        temperature_nonuniformity: 0.4,
        back_to_cell: 1.0,
        back_to_cell_half_width: 1.0,
        tracer_voltage: Spec {
            reading: 150e-6,
            range: 50e-6,
            full_scale: 100.0,
        },
        tracer_current: Spec {
            reading: 500e-6,
            range: 200e-6,
            full_scale: 7.0,
        },
        quantity: StcQuantity::PMp,
        repeated: vec![219.7, 219.9, 219.8, 220.1, 219.6],
        influences: Vec::new(),
        sources: Default::default(),
    }
}

fn monte_carlo(c: &mut Criterion) {
    let model = PmaxModel::new(setup()).expect("model");
    let f = |x: &[f64]| model.eval(x);
    let mut group = c.benchmark_group("mcm_pmax_full_curve");
    group.sample_size(10);
    group.bench_function("1e6_trials_all_cores", |b| {
        b.iter(|| {
            mcm(
                model.problem(),
                &f,
                &McmOptions {
                    trials: 1_000_000,
                    seed: 1,
                    ..McmOptions::default()
                },
            )
            .expect("mcm")
        })
    });
    group.bench_function("adaptive_2_digits", |b| {
        b.iter(|| {
            mcm(
                model.problem(),
                &f,
                &McmOptions {
                    adaptive: Some(2),
                    seed: 1,
                    ..McmOptions::default()
                },
            )
            .expect("mcm")
        })
    });
    group.finish();
}

criterion_group!(benches, monte_carlo);
criterion_main!(benches);
