//! Property tests of the metrology core. Each invariant was first checked on paper:
//!
//! - Translation to the measured conditions is the identity for every procedure: with G2 = G1
//!   and T2 = T1, P1 gives I2 = I1 + Isc1·0 + α·0 and V2 = V1 − Rs·0 − κ·I2·0 + β·0; P2 Ed. 2
//!   gives I2 = I1·1·1, V2 = V1 + Voc1·(0 + a·ln 1) − 0 − 0; P2 Ed. 3 gives
//!   I2 = I1 and V2 = V1 + R(T1)·I1 − R(T1)·I1 + 0; P4 gives I' = I1, V' = V1, I2 = I1, V2 = V1.
//! - Extraction is homogeneous: scaling every current by k > 0 leaves the windows (fractions
//!   of the MPP estimate), the point/fit decisions (0.001·Isc, 0.005·Voc thresholds scale
//!   alike) and the fitted voltages unchanged, so Isc, Imp, Pmax scale by k, Voc, Vmp and FF
//!   are unchanged; scaling voltages by k scales Voc, Vmp, Pmax by k likewise. The windows
//!   are closed intervals, so a point lying on a boundary may change sides under rounding
//!   (a discontinuity of the method itself, pvlib's too): the factors are powers of two,
//!   which scale floating-point numbers exactly.
//! - P1 to a higher irradiance at equal temperature raises Pmax (I2 − I1 = Isc1·(G2/G1 − 1) > 0
//!   at every point, and the Rs term only shifts voltage by −Rs·ΔI).
//! - A → B → A round trips (r = G2/G1, ΔT = T2 − T1; Isc1, Voc1 of the measured curve, Isc2,
//!   Voc2 of the curve translated to B, as each leg extracts them):
//!   P1: I3 = I1 + Isc1·(r − 1) + Isc2·(1/r − 1) (the α·ΔT terms cancel) and
//!   V3 = V1 − Rs·(I3 − I1) − κ·ΔT·(I2 − I3) (the β·ΔT terms cancel);
//!   P2 Ed. 2: I3 = I1·(1 − α_rel²·ΔT²) and
//!   V3 = V1 + (Voc1 − Voc2)·(β_rel·ΔT + a·ln r) − R's·(I3 − I1) − κ'·ΔT·(I2 − I3);
//!   P2 Ed. 3 (generalised): I3 = I1 and V3 = V1 + R(T1)·(I1 − I3) = V1 exactly;
//!   P4 (W = V − ε·Ns, K = T + 273.15): I3 = I1 + Isc1·(r − 1) + Isc2·(1/r − 1) and
//!   V3 = V1 − Rs·Isc1·(r − 1) − Rs·Isc2·(1/r − 1)·K1/K2.
//!   The round trip is the identity only where the intermediate Isc2, Voc2 are what the
//!   equations assume; these identities hold whatever they are, so they test the equations
//!   in both directions without assuming the extraction is exact.
//! - Extraction bounds on single-diode curves: Imp ≤ Isc, Vmp ≤ Voc, Pmp = Imp·Vmp,
//!   0 < FF < 1 (FF = Pmp/(Isc·Voc) with Pmp below the Isc·Voc rectangle).

use proptest::prelude::*;

use pvstation::analysis::curve::IvData;
use pvstation::analysis::extract::extract;
use pvstation::analysis::iec60891::{
    BetaTerm, Conditions, Method, translate, translate_and_extract,
};

/// A single-diode-like curve I = Isc − I0·(exp((V + I·Rs)/a) − 1) − (V + I·Rs)/Rsh solved
/// by bisection, sampled from 0 to slightly beyond Voc.
fn curve(isc: f64, voc: f64, a: f64, rs: f64, rsh: f64, points: usize) -> IvData {
    let i0 = isc / ((voc / a).exp() - 1.0);
    let current = |v: f64| {
        let f = |i: f64| isc - i0 * (((v + i * rs) / a).exp() - 1.0) - (v + i * rs) / rsh - i;
        pvstation::analysis::linalg::bisect(f, -10.0 * isc - 10.0, 2.0 * isc + 1.0)
    };
    let v: Vec<f64> = (0..points)
        .map(|k| 1.02 * voc * k as f64 / (points - 1) as f64)
        .collect();
    let i = v.iter().map(|v| current(*v)).collect();
    IvData::new(v, i)
}

fn arb_curve() -> impl Strategy<Value = IvData> {
    (
        1.0f64..12.0,
        20.0f64..80.0,
        0.03f64..0.06,
        0.0f64..0.05,
        50.0f64..2000.0,
        60usize..300,
    )
        .prop_map(|(isc, voc, a_rel, rs_rel, rsh, n)| {
            curve(isc, voc, a_rel * voc, rs_rel * voc / isc, rsh, n)
        })
}

fn methods() -> Vec<Method> {
    vec![
        Method::P1 {
            alpha: 0.004,
            beta: -0.2,
            rs: 1.2,
            kappa: 0.009,
        },
        Method::P2Ed2 {
            alpha_rel: 0.0008,
            beta_rel: -0.0037,
            a: 0.05,
            rs: 1.0,
            kappa: 0.015,
        },
        Method::P2Ed3 {
            alpha_rel: 0.0008,
            beta_rel: -0.0037,
            voc_stc: 59.4,
            b1: 0.044,
            b2: 0.002,
            rs: 1.0,
            kappa: 0.01,
            beta_term: BetaTerm::TimesF,
        },
        Method::P4 {
            alpha: 0.004,
            epsilon: 1.232,
            cells_in_series: 96,
            rs: 1.1,
        },
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn translating_to_the_measured_conditions_is_the_identity(data in arb_curve(), g in 200.0f64..1200.0, t in -10.0f64..70.0) {
        let at = Conditions { irradiance: g, temperature: t };
        for m in methods() {
            let out = translate(&data, &m, Some(at), at).expect("translates");
            for k in 0..data.len() {
                prop_assert!((out.data.voltage[k] - data.voltage[k]).abs() <= 1e-9 * (1.0 + data.voltage[k].abs()), "{m:?} V at {k}");
                prop_assert!((out.data.current[k] - data.current[k]).abs() <= 1e-9 * (1.0 + data.current[k].abs()), "{m:?} I at {k}");
            }
        }
    }

    #[test]
    fn scaling_current_scales_isc_imp_pmax(data in arb_curve(), e in -6i32..7) {
        let k = 2f64.powi(e);
        let p = extract(&data).expect("extracts");
        let scaled = IvData::new(data.voltage.clone(), data.current.iter().map(|i| i * k).collect());
        let q = extract(&scaled).expect("extracts");
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-8 * b.abs().max(1e-12);
        prop_assert!(close(q.i_sc, k * p.i_sc) && close(q.i_mp, k * p.i_mp) && close(q.p_mp, k * p.p_mp));
        prop_assert!(close(q.v_oc, p.v_oc) && close(q.v_mp, p.v_mp) && close(q.ff, p.ff));
    }

    #[test]
    fn scaling_voltage_scales_voc_vmp_pmax(data in arb_curve(), e in -6i32..7) {
        let k = 2f64.powi(e);
        let p = extract(&data).expect("extracts");
        let scaled = IvData::new(data.voltage.iter().map(|v| v * k).collect(), data.current.clone());
        let q = extract(&scaled).expect("extracts");
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-8 * b.abs().max(1e-12);
        prop_assert!(close(q.v_oc, k * p.v_oc) && close(q.v_mp, k * p.v_mp) && close(q.p_mp, k * p.p_mp));
        prop_assert!(close(q.i_sc, p.i_sc) && close(q.ff, p.ff));
    }

    #[test]
    fn more_sun_more_power(data in arb_curve(), g1 in 300.0f64..900.0, up in 1.05f64..1.5) {
        let m = Method::P1 { alpha: 0.004, beta: -0.2, rs: 0.5, kappa: 0.0 };
        let from = Conditions { irradiance: g1, temperature: 25.0 };
        let same = translate_and_extract(&data, &m, Some(from), from).expect("same").1.p_mp;
        let higher = translate_and_extract(&data, &m, Some(from), Conditions { irradiance: g1 * up, temperature: 25.0 }).expect("up").1.p_mp;
        prop_assert!(higher > same);
    }

    #[test]
    fn round_trips_satisfy_the_equations_both_ways(
        data in arb_curve(),
        g1 in 700.0f64..1100.0, t1 in 15.0f64..55.0,
        g2 in 700.0f64..1100.0, t2 in 15.0f64..55.0,
    ) {
        let (a, b) = (
            Conditions { irradiance: g1, temperature: t1 },
            Conditions { irradiance: g2, temperature: t2 },
        );
        let (r, dt) = (g2 / g1, t2 - t1);
        for m in methods() {
            let there = translate(&data, &m, Some(a), b).expect("A → B");
            let back = translate(&there.data, &m, Some(b), a).expect("B → A");
            let (isc1, voc1) = (there.measured.i_sc, there.measured.v_oc);
            let (isc2, voc2) = (back.measured.i_sc, back.measured.v_oc);
            for k in 0..data.len() {
                let (v1, i1) = (data.voltage[k], data.current[k]);
                let i2 = there.data.current[k];
                let (v3, i3) = (back.data.voltage[k], back.data.current[k]);
                let (want_i, want_v) = match m {
                    Method::P1 { rs, kappa, .. } => {
                        let i = i1 + isc1 * (r - 1.0) + isc2 * (1.0 / r - 1.0);
                        (i, v1 - rs * (i3 - i1) - kappa * dt * (i2 - i3))
                    }
                    Method::P2Ed2 { alpha_rel, beta_rel, a, rs, kappa } => (
                        i1 * (1.0 - (alpha_rel * dt).powi(2)),
                        v1 + (voc1 - voc2) * (beta_rel * dt + a * r.ln()) - rs * (i3 - i1) - kappa * dt * (i2 - i3),
                    ),
                    Method::P2Ed3 { .. } => (i1, v1),
                    Method::P4 { rs, .. } => (
                        i1 + isc1 * (r - 1.0) + isc2 * (1.0 / r - 1.0),
                        v1 - rs * isc1 * (r - 1.0) - rs * isc2 * (1.0 / r - 1.0) * (t1 + 273.15) / (t2 + 273.15),
                    ),
                };
                let tol = |x: f64| 1e-9 * (1.0 + x.abs());
                prop_assert!((i3 - want_i).abs() <= tol(want_i), "{:?} I at {}: {} vs {}", m, k, i3, want_i);
                prop_assert!((v3 - want_v).abs() <= tol(want_v), "{:?} V at {}: {} vs {}", m, k, v3, want_v);
            }
        }
    }

    #[test]
    fn extraction_stays_within_its_bounds(data in arb_curve()) {
        let p = extract(&data).expect("extracts");
        prop_assert!(p.i_mp <= p.i_sc && p.v_mp <= p.v_oc, "{:?}", p);
        prop_assert!((p.p_mp - p.i_mp * p.v_mp).abs() <= 1e-12 * p.p_mp, "{:?}", p);
        prop_assert!(p.ff > 0.0 && p.ff < 1.0, "{:?}", p);
    }
}
