//! The uncertainty engine against published worked examples (cited by clause), and GUM vs
//! Monte Carlo agreement and disagreement.

use pvstation::uncertainty::special::coverage_factor;
use pvstation::uncertainty::{
    Distribution, Input, McmOptions, Problem, gum, mcm, round_significant, validate,
};

fn additive(inputs: Vec<Input>, p: f64) -> Problem {
    Problem {
        inputs,
        correlations: vec![],
        probability: p,
    }
}

fn sum(x: &[f64]) -> Result<f64, String> {
    Ok(x.iter().sum())
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Monte Carlo values agree with a printed value to within one unit of its last digit (the
/// noise of M = 10⁶ trials is of that order: JCGM 101 §7.2 note).
fn printed(got: f64, value: f64, last_digit: f64) -> bool {
    (got - value).abs() <= last_digit
}

/// JCGM 101:2008 §9.2.2 (Table 2): Y = X1 + X2 + X3 + X4, Xi ~ N(0, 1). GUF and MCM
/// (M = 10⁶) both give y = 0.00, u(y) = 2.00, 95 % interval [−3.92, 3.92]; GUF validated.
#[test]
fn jcgm_101_9_2_2_additive_normal() {
    let p = additive(
        (1..=4)
            .map(|k| Input::new(&format!("X{k}"), 0.0, Distribution::Normal { u: 1.0 }))
            .collect(),
        0.95,
    );
    let g = gum(&p, &sum).expect("gum");
    assert_eq!(
        (round2(g.u), round2(g.interval[0]), round2(g.interval[1])),
        (2.00, -3.92, 3.92)
    );
    let m = mcm(
        &p,
        &sum,
        &McmOptions {
            trials: 1_000_000,
            ..McmOptions::default()
        },
    )
    .expect("mcm");
    assert!(printed(m.y, 0.0, 0.01) && printed(m.u, 2.00, 0.01), "{m:?}");
    assert!(
        printed(m.interval[0], -3.92, 0.01) && printed(m.interval[1], 3.92, 0.01),
        "{m:?}"
    );
    assert!(
        validate(&g, &m, 2).0,
        "GUM validated for a linear Gaussian model"
    );
}

/// JCGM 101:2008 §9.2.3 (Table 3): the same model with rectangular inputs of u = 1:
/// GUF [−3.92, 3.92]; MCM u(y) = 2.00 and the narrower [−3.88, 3.88].
#[test]
fn jcgm_101_9_2_3_additive_rectangular() {
    let a = 3f64.sqrt();
    let p = additive(
        (1..=4)
            .map(|k| {
                Input::new(
                    &format!("X{k}"),
                    0.0,
                    Distribution::Rectangular { half_width: a },
                )
            })
            .collect(),
        0.95,
    );
    let g = gum(&p, &sum).expect("gum");
    assert_eq!(
        (round2(g.u), round2(g.interval[0]), round2(g.interval[1])),
        (2.00, -3.92, 3.92)
    );
    let m = mcm(
        &p,
        &sum,
        &McmOptions {
            trials: 1_000_000,
            ..McmOptions::default()
        },
    )
    .expect("mcm");
    assert!(printed(m.u, 2.00, 0.01), "{m:?}");
    assert!(
        printed(m.interval[0], -3.88, 0.01) && printed(m.interval[1], 3.88, 0.01),
        "{m:?}"
    );
}

/// A strongly nonlinear model: Y = X1² + X2² at x = (0, 0), u = 1. The GUM's first-order
/// sensitivities vanish (u_c = 0) while Y is χ²₂ (mean 2, standard deviation 2): validation
/// must fail (cf. JCGM 101 §9.3 on non-linear models).
#[test]
fn nonlinear_model_fails_validation() {
    let p = additive(
        vec![
            Input::new("X1", 0.0, Distribution::Normal { u: 1.0 }),
            Input::new("X2", 0.0, Distribution::Normal { u: 1.0 }),
        ],
        0.95,
    );
    let model = |x: &[f64]| -> Result<f64, String> { Ok(x[0] * x[0] + x[1] * x[1]) };
    let g = gum(&p, &model).expect("gum");
    assert!(g.u < 1e-6);
    let m = mcm(
        &p,
        &model,
        &McmOptions {
            trials: 200_000,
            ..McmOptions::default()
        },
    )
    .expect("mcm");
    assert!(
        (m.y - 2.0).abs() < 0.02 && (m.u - 2.0).abs() < 0.03,
        "{m:?}"
    );
    // The χ²₂ 95 % quantile is 5.99: the symmetric interval's upper end is near 7.4 (97.5 %).
    assert!((m.interval[1] - 7.378).abs() < 0.1, "{m:?}");
    assert!(!validate(&g, &m, 2).0);
}

/// JCGM 100:2008 Annex H.1 (end-gauge calibration), first-order analysis, Table H.1:
/// u_c(l) = 32 nm, ν_eff = 16 (truncated), t₉₉(16) = 2.92, U₉₉ = 2.92 × 32 nm = 93 nm.
/// Model (H.3, linearised): l = l_s + d − l_s·(δα·θ + α_s·δθ) with d = d̄ + d1 + d2 [nm, °C].
#[test]
fn jcgm_100_h1_end_gauge() {
    let l_s = 50_000_623.0; // nm
    let inputs = vec![
        Input {
            dof: 18.0,
            ..Input::new("l_s", l_s, Distribution::Normal { u: 25.0 })
        },
        Input {
            dof: 24.0,
            ..Input::new("d_mean", 215.0, Distribution::Normal { u: 5.8 })
        },
        Input {
            dof: 5.0,
            ..Input::new("d1", 0.0, Distribution::Normal { u: 3.9 })
        },
        Input {
            dof: 8.0,
            ..Input::new("d2", 0.0, Distribution::Normal { u: 6.7 })
        },
        Input::new(
            "alpha_s",
            11.5e-6,
            Distribution::Rectangular { half_width: 2e-6 },
        ),
        Input::new("theta", -0.1, Distribution::Normal { u: 0.41 }),
        Input {
            dof: 50.0,
            ..Input::new(
                "delta_alpha",
                0.0,
                Distribution::Rectangular { half_width: 1e-6 },
            )
        },
        Input {
            dof: 2.0,
            ..Input::new(
                "delta_theta",
                0.0,
                Distribution::Rectangular { half_width: 0.05 },
            )
        },
    ];
    let p = additive(inputs, 0.99);
    let model = |x: &[f64]| -> Result<f64, String> {
        Ok(x[0] + x[1] + x[2] + x[3] - x[0] * (x[6] * x[5] + x[4] * x[7]))
    };
    let g = gum(&p, &model).expect("gum");
    assert_eq!(round_significant(g.u, 2), 32.0, "{}", g.u);
    let nu = g.nu_eff.expect("ν_eff").floor();
    assert_eq!(nu, 16.0, "{:?}", g.nu_eff);
    let k = coverage_factor(0.99, nu);
    assert_eq!(round2(k), 2.92);
    assert_eq!((round2(k) * round_significant(g.u, 2)).round(), 93.0);
    // The contributions of Table H.1: 25, 5.8, 3.9, 6.7, 0, 0, 2.9 and 16.6 nm.
    let c: Vec<f64> = g
        .budget
        .iter()
        .map(|b| (b.contribution * 10.0).round() / 10.0)
        .collect();
    assert_eq!(c, vec![25.0, 5.8, 3.9, 6.7, 0.0, 0.0, 2.9, 16.6]);
}

/// EA-4/02 M:2022 example S2 (calibration of a 10 kg weight by comparison with a standard):
/// m_X = m_S + δm_D + δm + δm_C + δB; m_X = 10 000.025 g, u = 29.3 mg, U = 59 mg (k = 2).
#[test]
fn ea_4_02_s2_weight_calibration() {
    let inputs = vec![
        Input::new("m_S", 10_000.005, Distribution::Normal { u: 0.0225 }),
        Input::new("dm_D", 0.0, Distribution::Rectangular { half_width: 0.015 }),
        Input::new(
            "dm",
            0.020,
            Distribution::Normal {
                u: 0.025 / 3f64.sqrt(),
            },
        ),
        Input::new("dm_C", 0.0, Distribution::Rectangular { half_width: 0.010 }),
        Input::new("dB", 0.0, Distribution::Rectangular { half_width: 0.010 }),
    ];
    let p = additive(inputs, 0.9545);
    let g = gum(&p, &sum).expect("gum");
    assert!((g.y - 10_000.025).abs() < 1e-9);
    assert_eq!((g.u * 1e4).round() / 10.0, 29.3);
    assert_eq!(round2(g.k), 2.00);
    assert_eq!(round_significant(g.expanded, 2), 0.059);
}

#[test]
fn monte_carlo_is_reproducible_whatever_the_thread_count() {
    let p = additive(
        vec![
            Input::new("a", 1.0, Distribution::Triangular { half_width: 0.3 }),
            Input::new("b", 2.0, Distribution::Arcsine { half_width: 0.1 }),
        ],
        0.95,
    );
    let model = |x: &[f64]| -> Result<f64, String> { Ok(x[0] * x[1].exp()) };
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool")
            .install(|| {
                mcm(
                    &p,
                    &model,
                    &McmOptions {
                        trials: 200_000,
                        seed: 7,
                        ..McmOptions::default()
                    },
                )
                .expect("mcm")
            })
    };
    assert_eq!(run(1), run(2));
    assert_ne!(
        run(1),
        rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .expect("pool")
            .install(|| mcm(
                &p,
                &model,
                &McmOptions {
                    trials: 200_000,
                    seed: 8,
                    ..McmOptions::default()
                }
            )
            .expect("mcm"))
    );
}

#[test]
fn adaptive_procedure_stops_at_two_significant_digits() {
    let p = additive(
        (1..=4)
            .map(|k| Input::new(&format!("X{k}"), 0.0, Distribution::Normal { u: 1.0 }))
            .collect(),
        0.95,
    );
    let m = mcm(
        &p,
        &sum,
        &McmOptions {
            adaptive: Some(2),
            ..McmOptions::default()
        },
    )
    .expect("mcm");
    assert!(m.converged && m.sequences >= 2, "{m:?}");
    assert_eq!(m.trials, m.sequences * 10_000);
    assert!(
        (m.u - 2.0).abs() < 0.05 && (m.interval[1] - 3.92).abs() < 0.1,
        "{m:?}"
    );
}

#[test]
fn correlated_inputs() {
    // Y = X1 − X2 with r = 0.9: u² = 1 + 1 − 2·0.9 = 0.2.
    let p = Problem {
        inputs: vec![
            Input::new("X1", 1.0, Distribution::Normal { u: 1.0 }),
            Input::new("X2", 1.0, Distribution::Normal { u: 1.0 }),
        ],
        correlations: vec![(0, 1, 0.9)],
        probability: 0.95,
    };
    let model = |x: &[f64]| -> Result<f64, String> { Ok(x[0] - x[1]) };
    let g = gum(&p, &model).expect("gum");
    assert!((g.u - 0.2f64.sqrt()).abs() < 1e-9);
    assert!(
        g.nu_eff.is_none() && g.k == 2.0,
        "W–S undefined with correlations: k = 2"
    );
    let m = mcm(
        &p,
        &model,
        &McmOptions {
            trials: 200_000,
            ..McmOptions::default()
        },
    )
    .expect("mcm");
    assert!((m.u - 0.2f64.sqrt()).abs() < 0.005, "{m:?}");
    let bad = Problem {
        correlations: vec![(0, 1, 1.5)],
        ..p.clone()
    };
    assert!(
        gum(&bad, &model)
            .expect_err("r > 1")
            .to_string()
            .contains("[−1, 1]")
    );
}

/// The outdoor Pmax-at-STC model on the CS5P-220M curve at 800 W/m² / 45 °C: every trial
/// perturbs and translates the whole curve. Instrument specifications are typical values
/// assumed for the test (not datasheet claims).
pub fn pmax_setup() -> pvstation::uncertainty::station::PmaxSetup {
    use pvstation::analysis::iec60891::Conditions;
    use pvstation::uncertainty::station::{PmaxSetup, Spec, StcQuantity};
    let curve = crate::metrology::cs5p_curve("g800_t45");
    // Shunt voltage that reads 800 W/m² at a 45 °C... reference cell at 38 °C.
    let (cv, r_shunt, alpha_ref, t_ref) = (0.1213, 1.0002, 0.0005, 38.0);
    let shunt_voltage = 0.8 * cv * (1.0 + alpha_ref * (t_ref - 25.0)) * r_shunt;
    PmaxSetup {
        curve,
        to: Conditions::STC,
        method: pvstation::analysis::iec60891::Method::P1 {
            alpha: 0.004539,
            beta: -0.222156,
            rs: 1.290,
            kappa: 0.0093,
        },
        u_parameters: vec![0.0002, 0.004, 0.05, 0.001],
        shunt_voltage,
        dmm: Spec {
            reading: 30e-6,
            range: 7e-6,
            full_scale: 1.0,
        },
        cv,
        u_cv: 0.0011 / 2.0,
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

#[test]
fn pmax_at_stc_model_through_the_whole_curve() {
    use pvstation::uncertainty::station::PmaxModel;
    let model = PmaxModel::new(pmax_setup()).expect("model");
    let f = |x: &[f64]| model.eval(x);
    let g = gum(model.problem(), &f).expect("gum");
    // At the estimates the model is procedure 1 from (800 W/m², 45 °C): 219.83 W.
    let c = model.conditions(
        &model
            .problem()
            .inputs
            .iter()
            .map(|i| i.value)
            .collect::<Vec<_>>(),
    );
    assert!((c.irradiance - 800.0).abs() < 1e-9 && (c.temperature - 45.0).abs() < 1e-12);
    assert!((g.y - 219.831).abs() <= 1e-3, "{}", g.y);
    // Against an independent evaluation of the same model and GUM scheme in numpy + pvlib
    // (tests/reference/pmax_budget.py → pmax_budget.json): y to 1e-9, each contribution to
    // 1e-5 (central differences of extractions that agree to 1e-14), u_c, k and U to 1e-6.
    let want: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(crate::metrology::reference("pmax_budget.json")).expect("fixture"),
    )
    .expect("json");
    let close = |name: &str, got: f64, want: f64, tol: f64| {
        assert!(
            (got - want).abs() <= tol * want.abs().max(1e-12),
            "{name}: {got} vs independent {want}"
        );
    };
    close("y", g.y, want["y"].as_f64().expect("y"), 1e-9);
    close("u", g.u, want["u"].as_f64().expect("u"), 1e-6);
    close("k", g.k, want["k"].as_f64().expect("k"), 1e-6);
    close("U", g.expanded, want["U"].as_f64().expect("U"), 1e-6);
    let contributions = want["contributions"].as_object().expect("contributions");
    assert_eq!(
        g.budget.iter().filter(|b| b.u > 0.0).count(),
        contributions.len(),
        "every input with an uncertainty is in the independent budget"
    );
    for (name, value) in contributions {
        let line = g
            .budget
            .iter()
            .find(|b| &b.name == name)
            .unwrap_or_else(|| panic!("no budget line {name}"));
        close(
            name,
            line.contribution,
            value.as_f64().expect("contribution"),
            1e-5,
        );
    }
    let shares: f64 = g.budget.iter().map(|b| b.share).sum();
    assert!((shares - 1.0).abs() < 1e-9);
    let top = g
        .budget
        .iter()
        .max_by(|a, b| a.share.total_cmp(&b.share))
        .expect("lines");
    assert_eq!(
        top.name,
        "cv",
        "the reference cell's calibration dominates: {:?}",
        g.budget
            .iter()
            .map(|b| (&b.name, b.share))
            .collect::<Vec<_>>()
    );
    let m = mcm(
        model.problem(),
        &f,
        &McmOptions {
            trials: 100_000,
            seed: 5,
            ..McmOptions::default()
        },
    )
    .expect("mcm");
    assert!(
        (m.u / g.u - 1.0).abs() < 0.05,
        "GUM u {} vs MCM u {}",
        g.u,
        m.u
    );
    let (passed, d_low, d_high, delta) = validate(&g, &m, 1);
    eprintln!(
        "Pmax at STC: GUM {:.3} ± {:.3} W (k {:.2}), MCM u {:.4}, validation (1 digit) {passed} ({d_low:.3}, {d_high:.3} vs {delta})",
        g.y, g.expanded, g.k, m.u
    );
    assert!(
        passed,
        "one significant digit: GUM and Monte Carlo agree for this nearly linear model"
    );
}

#[test]
fn pmax_model_with_procedures_2_and_4() {
    use pvstation::analysis::iec60891::{Conditions, Method, translate_and_extract};
    use pvstation::uncertainty::station::{PmaxModel, PmaxSetup};
    let base = pmax_setup();
    let cases: [(Method, Vec<f64>); 2] = [
        (
            Method::P2Ed2 {
                alpha_rel: 0.004539 / 5.1,
                beta_rel: -0.222156 / 59.4,
                a: 0.046,
                rs: 1.080,
                kappa: 0.0177,
            },
            vec![2e-5, 5e-5, 0.005, 0.05, 0.002],
        ),
        (
            Method::P4 {
                alpha: 0.004539,
                epsilon: 1.232,
                cells_in_series: 96,
                rs: 1.066,
            },
            vec![0.0002, 0.01, 0.05],
        ),
    ];
    for (method, u) in cases {
        let model = PmaxModel::new(PmaxSetup {
            method,
            u_parameters: u,
            ..base.clone()
        })
        .expect("model");
        let f = |x: &[f64]| model.eval(x);
        let g = gum(model.problem(), &f).expect("gum");
        let want = translate_and_extract(
            &base.curve,
            &method,
            Some(Conditions {
                irradiance: 800.0,
                temperature: 45.0,
            }),
            Conditions::STC,
        )
        .expect("t")
        .1
        .p_mp;
        assert!(
            (g.y - want).abs() < 1e-9,
            "P{}: {} vs {want}",
            method.number(),
            g.y
        );
        assert!(
            g.budget
                .iter()
                .any(|b| b.name == "rs" && b.contribution > 0.0)
        );
    }
    let wrong = PmaxModel::new(PmaxSetup {
        u_parameters: vec![0.1],
        ..base
    })
    .expect_err("count");
    assert!(
        wrong
            .to_string()
            .contains("has 4 parameters (alpha, beta, rs, kappa)"),
        "{wrong}"
    );
}

#[test]
fn battery_tester_points() {
    use pvstation::uncertainty::decision::{Rule, Tolerance, Verdict, decide};
    use pvstation::uncertainty::station::{ResistancePoint, Spec, VoltagePoint};
    let point = ResistancePoint {
        readings: vec![
            10.016e-3, 10.017e-3, 10.015e-3, 10.016e-3, 10.018e-3, 10.016e-3,
        ],
        resolution: 1e-6,
        standard: 10.0008e-3,
        standard_expanded: 0.0002e-3,
        standard_k: 2.0,
        drift: 0.0002e-3,
        alpha_std: 0.0,
        alpha_std_half_width: 5e-6,
        temperature: 23.4,
        u_temperature: 0.3,
        calibration_temperature: 23.0,
    };
    let (problem, model) = point.problem().expect("problem");
    let g = gum(&problem, &model).expect("gum");
    // By hand (JCGM 100 4.2, 4.3.7, 5.1.2; E = R̄ + δR_res − R_std·(1 + α(T − T_cal)) − δR_drift):
    let n = point.readings.len() as f64;
    let mean = point.readings.iter().sum::<f64>() / n;
    let s2 = point
        .readings
        .iter()
        .map(|r| (r - mean).powi(2))
        .sum::<f64>()
        / (n - 1.0);
    let u_a = (s2 / n).sqrt(); // Type A, ν = 5
    let u_res = 0.5e-6 / 3f64.sqrt(); // half a digit, rectangular
    let u_std: f64 = 0.0002e-3 / 2.0; // certificate U/k
    let u_drift = 0.0002e-3 / 3f64.sqrt(); // rectangular
    let u_alpha = 10.0008e-3 * (23.4 - 23.0) * 5e-6 / 3f64.sqrt(); // |∂E/∂α|·u(α)
    // ∂E/∂T = −R_std·α = 0 at α = 0: the temperature contributes nothing.
    let u_c =
        (u_a.powi(2) + u_res.powi(2) + u_std.powi(2) + u_drift.powi(2) + u_alpha.powi(2)).sqrt();
    let nu_eff = u_c.powi(4) / (u_a.powi(4) / 5.0);
    assert!((g.y - (mean - 10.0008e-3)).abs() <= 1e-15, "{}", g.y);
    assert!((g.u / u_c - 1.0).abs() <= 1e-9, "{} vs {u_c}", g.u);
    assert!(
        g.nu_eff.is_some_and(|v| (v / nu_eff - 1.0).abs() <= 1e-6),
        "{:?} vs {nu_eff}",
        g.nu_eff
    );
    assert!((g.k - pvstation::uncertainty::special::coverage_factor(0.95, nu_eff)).abs() <= 1e-9);
    // MPE of the tester: ±(0.5 % of reading + 5 digits).
    let mpe = 0.005 * 10.016e-3 + 5e-6;
    let d = decide(
        g.y,
        g.u,
        g.expanded,
        Tolerance::symmetric(0.0, mpe),
        Rule::GuardedAcceptance { w: None },
    );
    assert_eq!(d.verdict, Verdict::Pass, "{d:?}");

    let v = VoltagePoint {
        readings: vec![4.99903, 4.99905, 4.99902, 4.99904],
        resolution: 10e-6,
        setting: 5.0,
        calibrator: Spec {
            reading: 12e-6,
            range: 3e-6,
            full_scale: 11.0,
        },
    };
    let (problem, model) = v.problem().expect("problem");
    let g = gum(&problem, &model).expect("gum");
    // By hand: E = V̄ + δV_res − V_set·(1 + δ_cal): mean 4.999035 V; s = 1.2910e-5 V over 4
    // readings; half a digit 5 µV and the calibrator's ±(12 ppm·5 V + 3 ppm·11 V) = ±93 µV,
    // both rectangular: u_c = √((s/2)² + (5e-6/√3)² + (93e-6/√3)²) = 54.16 µV.
    let s = (((-5e-6f64).powi(2) + 15e-6f64.powi(2) + (-15e-6f64).powi(2) + 5e-6f64.powi(2)) / 3.0)
        .sqrt();
    let u_c =
        ((s / 2.0).powi(2) + (5e-6f64 / 3f64.sqrt()).powi(2) + (93e-6f64 / 3f64.sqrt()).powi(2))
            .sqrt();
    assert!((g.y - (4.999035 - 5.0)).abs() <= 1e-12, "{}", g.y);
    assert!((g.u / u_c - 1.0).abs() <= 1e-6, "{} vs {u_c}", g.u);
    assert!((u_c - 54.16e-6).abs() < 0.01e-6, "the hand value: {u_c}");
}

/// The reference cell's drift since calibration enters the Pmax budget as a rectangular relative
/// change of the irradiance: with a 0.78 % half-width its contribution is ≈ 0.78 %/√3 of Pmax
/// (Pmax is ~proportional to G), it leaves the estimate alone, and without one there is no row.
#[test]
fn the_reference_drift_enters_the_pmax_budget() {
    use pvstation::uncertainty::gum::gum;
    use pvstation::uncertainty::station::{PmaxModel, PmaxSetup};
    let base = pmax_setup();
    let run = |drift: f64| {
        let model = PmaxModel::new(PmaxSetup {
            cv_drift: drift,
            ..base.clone()
        })
        .expect("model");
        gum(model.problem(), &|x| model.eval(x)).expect("gum")
    };
    let (without, with) = (run(0.0), run(0.0078));
    assert!(without.budget.iter().all(|b| b.name != "cv_drift"));
    let row = with
        .budget
        .iter()
        .find(|b| b.name == "cv_drift")
        .expect("drift row");
    let relative = row.contribution / with.y;
    assert!(
        (relative - 0.0078 / 3f64.sqrt()).abs() < 0.0006,
        "{relative}"
    );
    assert!((with.y - without.y).abs() < 1e-9);
    assert!(with.u > without.u);
}

/// The translated curve's maximum-power window changes where a point crosses its edge, and
/// Pmax steps there. With the module temperature placed just below such a step (found by
/// scanning), a central difference over the first step u/100 straddles it; the branch-aware
/// sensitivity (gum::gum_branches) stays the slope of the smooth branch.
#[test]
fn sensitivities_do_not_straddle_the_maximum_power_window() {
    use pvstation::uncertainty::gum_branches;
    use pvstation::uncertainty::station::PmaxModel;
    let nominal = PmaxModel::new(pmax_setup()).expect("model");
    let t = nominal
        .problem()
        .inputs
        .iter()
        .position(|i| i.name == "t_sensor")
        .expect("t_sensor");
    let x0: Vec<f64> = nominal.problem().inputs.iter().map(|i| i.value).collect();
    let at = |model: &PmaxModel, dt: f64| {
        let mut x = x0.clone();
        x[t] += dt;
        model.eval_branch(&x).expect("eval")
    };
    // The first temperature above the estimate where the window changes.
    let (_, b0) = at(&nominal, 0.0);
    let edge = (1..4000)
        .map(|k| k as f64 * 1e-3)
        .find(|&dt| at(&nominal, dt).1 != b0)
        .expect("a window edge within 4 K");
    let (lo, hi) = (at(&nominal, edge - 1e-3).0, at(&nominal, edge).0);
    let smooth = gum_branches(nominal.problem(), &|x| nominal.eval_branch(x)).expect("gum");
    let c_smooth = smooth.budget[t].sensitivity;
    // The step in Pmax at the edge, beyond the slope over 1 mK.
    let step = hi - lo - c_smooth * 1e-3;
    let h = nominal.problem().inputs[t].u() / 100.0;
    let mut setup = pmax_setup();
    setup.module_temperature += edge - 0.25 * h;
    let near = PmaxModel::new(setup).expect("model");
    let plain = gum(near.problem(), &|x| near.eval(x)).expect("gum").budget[t].sensitivity;
    let aware = gum_branches(near.problem(), &|x| near.eval_branch(x))
        .expect("gum")
        .budget[t]
        .sensitivity;
    eprintln!(
        "window edge {edge:.3} K above the estimate, step {step:.2e} W; c(t_sensor): smooth {c_smooth:.5}, at the edge plain {plain:.5}, branch-aware {aware:.5} W/K"
    );
    assert!(step.abs() > 1e-4, "a real step: {step}");
    assert!(
        (aware - c_smooth).abs() <= 0.02 * c_smooth.abs(),
        "{aware} vs {c_smooth}"
    );
    assert!(
        (plain - c_smooth).abs() > 5.0 * (aware - c_smooth).abs(),
        "the plain central difference straddles the step: {plain} vs {c_smooth}"
    );
}
