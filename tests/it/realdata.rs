//! Real outdoor curves (issue 15): the 3 585 I-V curves of pvlib's PVsyst_demo data set (a
//! Mitsubishi PV-UE125MF5N module measured outdoors, 108-1376 W/m², 19-66 °C). `.ci/run`
//! downloads pvlib's source distribution from PyPI and extracts the data into
//! `target/pvlib-data/` (not committed); `tests/reference/pvsyst_demo.py` wrote what pvlib
//! says of the same file into `tests/reference/pvsyst_demo.json`.
//!
//! Shown here: our extraction equals pvlib's ASTM E1036 on every raw curve; every curve,
//! translated to STC by IEC 60891 procedure 1 with parameters fitted from the data set itself
//! (clause 7), yields its maximum power — none is lost for want of a Voc line (the 21 of the
//! review) — and the translated values agree with the PVsyst model the data set ships.

use std::path::PathBuf;

use pvstation::analysis::curve::IvData;
use pvstation::analysis::extract::extract;
use pvstation::analysis::iec60891::{Conditions, Method, translate_and_extract};
use pvstation::analysis::params::{SeriesCurve, fit_p1_kappa, fit_p1_rs};
use serde_json::Value;

struct Curve {
    data: IvData,
    /// Effective irradiance [W/m²] and cell temperature [°C] as the data set gives them.
    conditions: Conditions,
}

/// The data set, or None (saying why) when it is not there.
fn dataset() -> Option<PathBuf> {
    let path = std::env::var_os("PVSTATION_PVLIB_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::cli::repo("target/pvlib-data"))
        .join("PVsyst_demo.csv");
    if path.is_file() {
        return Some(path);
    }
    let message = format!(
        "the real-curve checks need pvlib's PVsyst_demo.csv at {} (.ci/run extracts it from the pvlib 0.16.1 sdist on PyPI)",
        path.display()
    );
    assert!(
        !crate::tools::required(),
        "PVSTATION_REQUIRE_TOOLS=1: {message}"
    );
    eprintln!("SKIP {message}");
    None
}

fn numbers(line: &str) -> Vec<f64> {
    line.split(',')
        .map(|x| x.trim().parse::<f64>().expect("a number"))
        .collect()
}

fn read(path: &PathBuf) -> (Vec<Curve>, f64, f64) {
    let text = std::fs::read_to_string(path).expect("reads");
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().expect("header").split(',').collect();
    let (alpha, beta): (f64, f64) = (head[1].parse().unwrap(), head[2].parse().unwrap());
    let n = numbers(lines.next().expect("counts"))[0] as usize;
    let curves = (0..n)
        .map(|_| {
            let spec = numbers(lines.next().expect("spec"));
            let v = numbers(lines.next().expect("voltage"));
            let i = numbers(lines.next().expect("current"));
            Curve {
                data: IvData::new(v, i),
                conditions: Conditions {
                    irradiance: spec[6],
                    temperature: spec[5],
                },
            }
        })
        .collect();
    (curves, alpha, beta)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[test]
fn real_outdoor_curves_translate_to_stc_every_one() {
    let Some(path) = dataset() else { return };
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(crate::metrology::reference("pvsyst_demo.json")).expect("json"),
    )
    .expect("JSON");
    assert_eq!(
        pvstation::store::db::sha256_hex(&std::fs::read(&path).unwrap()),
        reference["sha256"].as_str().unwrap(),
        "not the data set the reference values were computed from"
    );
    let (curves, alpha, beta) = read(&path);
    assert_eq!(curves.len(), 3585);
    // 1. Extraction: pvlib's astm_e1036 on every raw curve.
    let pvlib = reference["astm_e1036"]["p_mp"].as_array().unwrap();
    let mut worst = 0.0f64;
    for (c, want) in curves.iter().zip(pvlib) {
        let got = extract(&c.data).expect("every raw curve extracts").p_mp;
        let want = want.as_f64().expect("pvlib gives every raw curve a Pmax");
        worst = worst.max((got / want - 1.0).abs());
    }
    assert!(
        worst <= 1e-9,
        "largest relative Pmax difference to pvlib {worst:e}"
    );
    // 2. Procedure 1 parameters from the data set itself (IEC 60891:2021 clause 7): Rs from
    //    the curves within ±2 K of the temperature with the widest irradiance range, κ from
    //    the curves within ±2 % of 1000 W/m² across their temperatures; α and β as the data
    //    set states them.
    let window = |t0: f64| {
        curves
            .iter()
            .filter(|c| (c.conditions.temperature - t0).abs() <= 2.0)
            .collect::<Vec<_>>()
    };
    let t0 = (20..=64)
        .map(f64::from)
        .max_by_key(|&t| {
            let w = window(t);
            let (lo, hi) = w.iter().fold((f64::MAX, 0.0f64), |(a, b), c| {
                (
                    a.min(c.conditions.irradiance),
                    b.max(c.conditions.irradiance),
                )
            });
            ((hi - lo).max(0.0) as i64, w.len())
        })
        .unwrap();
    fn thin<'a>(list: Vec<&'a Curve>) -> Vec<SeriesCurve<'a>> {
        let step = (list.len() / 40).max(1);
        list.into_iter()
            .step_by(step)
            .map(|c| SeriesCurve {
                data: &c.data,
                conditions: c.conditions,
            })
            .collect()
    }
    let rs = fit_p1_rs(&thin(window(t0)), alpha, beta).expect("Rs").value;
    let near_1000: Vec<&Curve> = curves
        .iter()
        .filter(|c| (c.conditions.irradiance / 1000.0 - 1.0).abs() <= 0.02)
        .collect();
    let kappa = fit_p1_kappa(&thin(near_1000), alpha, beta, rs, None)
        .expect("κ")
        .value;
    // 3. Every curve translated to STC gives its maximum power.
    let method = Method::P1 {
        alpha,
        beta,
        rs,
        kappa,
    };
    let mut stc = Vec::new();
    let mut without_voc = 0;
    for (k, c) in curves.iter().enumerate() {
        let (_, p) = translate_and_extract(&c.data, &method, Some(c.conditions), Conditions::STC)
            .unwrap_or_else(|e| panic!("curve {k} at {:?}: {e}", c.conditions));
        assert!(p.p_mp.is_finite(), "curve {k}: no Pmax");
        without_voc += usize::from(p.v_oc.is_nan());
        stc.push((c.conditions.irradiance, p.p_mp));
    }
    // 4. The spread: the translated values of one module must agree with each other. No
    //    curve lies near STC (at ≥ 900 W/m² the cells ran at 41-66 °C), so STC is a
    //    translation over ≥ 16 K for every curve; the PVsyst model the data set ships (its
    //    own temperature model: EgRef 2.18 eV, μγ) extrapolates 4.6 % higher than procedure 1
    //    with the data set's stated α and β — two models disagreeing, not a truth. It is
    //    checked loosely (6 %); the self-consistency of the curves tightly.
    let model = reference["pvsyst_model_stc"]["p_mp"].as_f64().unwrap();
    let mut near: Vec<f64> = stc
        .iter()
        .filter(|(g, _)| *g >= 700.0)
        .map(|(_, p)| *p)
        .collect();
    near.sort_by(f64::total_cmp);
    let (p05, p50, p95) = (
        percentile(&near, 0.05),
        percentile(&near, 0.5),
        percentile(&near, 0.95),
    );
    let mut all: Vec<f64> = stc.iter().map(|(_, p)| *p).collect();
    all.sort_by(f64::total_cmp);
    eprintln!(
        "PVsyst_demo: Rs {rs:.4} Ω (±2 K of {t0} °C), κ {kappa:.5} Ω/K; {} curves translated to STC, all with Pmax ({without_voc} without a Voc line); ≥ 700 W/m² ({} curves): median {p50:.2} W, P5–P95 {p05:.2}–{p95:.2} W; all: P5–P95 {:.2}–{:.2} W; PVsyst model {model:.2} W",
        stc.len(),
        near.len(),
        percentile(&all, 0.05),
        percentile(&all, 0.95)
    );
    assert!(
        (p50 / model - 1.0).abs() <= 0.06,
        "median {p50} vs model {model}"
    );
    assert!(
        p05 >= 0.985 * p50 && p95 <= 1.015 * p50,
        "≥ 700 W/m²: P5–P95 {p05}–{p95} W around {p50} W"
    );
    assert!(
        percentile(&all, 0.05) >= 0.98 * p50 && percentile(&all, 0.95) <= 1.02 * p50,
        "all curves (108-1376 W/m²): P5–P95 beyond ±2 % of {p50} W"
    );
}
