//! The metrology core against independent references: pvlib-generated curves
//! (`tests/reference/generate.py`, pvlib 0.16.1) and the CS5P_220M regression vectors of
//! standards.md §1.11.

use std::path::PathBuf;

use pvstation::analysis::curve::{IvData, parse_csv};
use pvstation::analysis::extract::extract;
use pvstation::analysis::iec60891::{
    BetaTerm, Conditions, Method, procedure3_two, translate_and_extract,
};
use pvstation::analysis::module::Module;

pub fn reference(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/reference")
        .join(path)
}

pub fn cs5p_curve(name: &str) -> IvData {
    let text =
        std::fs::read_to_string(reference(&format!("cs5p_220m/{name}.csv"))).expect("fixture");
    parse_csv(&text).expect("valid").remove(0).data
}

/// tests/reference/cs5p_220m/reference.json: pvlib 0.16.1's truth for the CS5P-220M CEC
/// record (the simulated module), written by tests/reference/generate.py.
pub fn reference_json() -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(reference("cs5p_220m/reference.json")).expect("fixture"),
    )
    .expect("reference.json")
}

pub fn cs5p_module() -> Module {
    Module::from_toml(
        &std::fs::read_to_string(reference("cs5p_220m/module.toml")).expect("fixture"),
    )
    .expect("module")
}

#[test]
fn extraction_agrees_with_pvlib_astm_e1036_on_120_curves() {
    let curves =
        parse_csv(&std::fs::read_to_string(reference("extraction_curves.csv")).expect("fixture"))
            .expect("curves");
    let expected = std::fs::read_to_string(reference("extraction_expected.csv")).expect("fixture");
    assert_eq!(curves.len(), 120, "extraction_curves.csv holds 120 curves");
    assert_eq!(expected.lines().count(), 121, "header + 120 expected rows");
    let mut checked = 0;
    let mut worst: f64 = 0.0;
    for (line, curve) in expected.lines().skip(1).zip(&curves) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f[0], curve.id);
        let want: Vec<f64> = f[4..10]
            .iter()
            .map(|x| x.parse().expect("number"))
            .collect();
        let got = extract(&curve.data).unwrap_or_else(|e| panic!("{}: {e}", curve.id));
        for (name, g, w) in [
            ("i_sc", got.i_sc, want[0]),
            ("v_oc", got.v_oc, want[1]),
            ("i_mp", got.i_mp, want[2]),
            ("v_mp", got.v_mp, want[3]),
            ("p_mp", got.p_mp, want[4]),
            ("ff", got.ff, want[5]),
        ] {
            let rel = ((g - w) / w).abs();
            worst = worst.max(rel);
            // The same algorithm on the same numbers (pvlib's `astm_e1036` evaluated in
            // float64): only rounding differs, observed ~1e-14.
            assert!(
                rel <= 1e-9,
                "{} ({}, {} points, noise {}): {name} {g} vs pvlib {w}",
                curve.id,
                f[1],
                f[2],
                f[3]
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 120);
    eprintln!("largest relative difference from pvlib: {worst:.2e}");
}

#[test]
fn cs5p_220m_regression_vectors() {
    let module = cs5p_module();
    let curve = cs5p_curve("g800_t45");
    let from = Some(Conditions {
        irradiance: 800.0,
        temperature: 45.0,
    });
    let p = |method: Method| {
        translate_and_extract(&curve, &method, from, Conditions::STC)
            .expect("translates")
            .1
            .p_mp
    };
    let (alpha, beta) = (module.alpha(), module.beta());
    let cases = [
        (
            "P1 Rs 1.290 κ 0.0093",
            p(Method::P1 {
                alpha,
                beta,
                rs: 1.290,
                kappa: 0.0093,
            }),
            219.831,
        ),
        (
            "P1 Rs 0 κ 0",
            p(Method::P1 {
                alpha,
                beta,
                rs: 0.0,
                kappa: 0.0,
            }),
            221.401,
        ),
        (
            "P2 Ed. 2",
            p(Method::from_module(&module, 2, BetaTerm::TimesF).expect("p2")),
            221.639,
        ),
        (
            "P2 Ed. 3 (IVC)",
            p(Method::P2Ed3 {
                alpha_rel: module.alpha_rel().expect("alpha_rel"),
                beta_rel: module.beta_rel().expect("beta_rel"),
                voc_stc: module.voc_stc.expect("voc_stc"),
                b1: 0.04429,
                b2: 0.00208,
                rs: 1.290,
                kappa: 0.0093,
                beta_term: BetaTerm::TimesF,
            }),
            218.583,
        ),
        (
            "P4 (Rs from fit_sandia_simple)",
            p(Method::from_module(&module, 4, BetaTerm::TimesF).expect("p4")),
            218.010,
        ),
    ];
    let mut report = String::new();
    for (name, got, want) in cases {
        report.push_str(&format!("{name}: {got:.5} W (standards.md {want})\n"));
    }
    eprint!("{report}");
    // standards.md §1.11 asks a Rust port to reproduce the table "to ~1e-3 W for the same
    // inputs"; the table is rounded to 1e-3 W, so 1e-3 W allows its rounding (5e-4) plus 5e-4.
    for (name, got, want) in cases {
        assert!(
            (got - want).abs() <= 1e-3,
            "{name}: {got:.5} vs {want}\n{report}"
        );
    }
    for (a, b, want) in [
        ("g600_t25", "g900_t25", 219.940),
        ("g800_t25", "g1100_t25", 219.894),
    ] {
        let ga: f64 = a[1..4].parse().expect("g");
        let gb: f64 = b[1..]
            .split('_')
            .next()
            .and_then(|g| g.parse().ok())
            .expect("g");
        let (curve, _, _, _) = procedure3_two(
            (
                &cs5p_curve(a),
                Conditions {
                    irradiance: ga,
                    temperature: 25.0,
                },
            ),
            (
                &cs5p_curve(b),
                Conditions {
                    irradiance: gb,
                    temperature: 25.0,
                },
            ),
            Conditions::STC,
        )
        .expect("interpolates");
        let got = extract(&curve).expect("extracts").p_mp;
        eprintln!("P3 {a} & {b} → STC: {got:.5} W (standards.md {want})");
        assert!(
            (got - want).abs() <= 1e-3,
            "P3 {a} & {b}: {got:.5} vs {want}"
        );
    }
}

fn series(names: &[&str]) -> Vec<(IvData, Conditions)> {
    names
        .iter()
        .map(|n| {
            let d = cs5p_curve(n);
            let c = Conditions {
                irradiance: d.mean_irradiance().expect("g"),
                temperature: d.mean_temperature().expect("t"),
            };
            (d, c)
        })
        .collect()
}

#[test]
fn procedure1_parameters_from_series_reproduce_the_reference_fit() {
    use pvstation::analysis::params::{
        SeriesCurve, fit_p1_kappa, fit_p1_rs, temperature_coefficients,
    };
    let module = cs5p_module();
    let irr = series(&[
        "g400_t25",
        "g500_t25",
        "g600_t25",
        "g700_t25",
        "g800_t25",
        "g900_t25",
        "g1000_t25",
    ]);
    let irr: Vec<SeriesCurve> = irr
        .iter()
        .map(|(d, c)| SeriesCurve {
            data: d,
            conditions: *c,
        })
        .collect();
    let rs = fit_p1_rs(&irr, module.alpha(), module.beta()).expect("rs");
    eprintln!("Rs = {:.4} Ω, spread {:.4} %", rs.value, rs.spread * 100.0);
    // standards.md §1.11: Rs 1.290 Ω with spread 0.010 %.
    assert!((rs.value - 1.290).abs() < 0.005, "{rs:?}");
    assert!(rs.spread < 0.0002, "{rs:?}");
    let names = [
        "g1000_t25",
        "g1000_t30",
        "g1000_t35",
        "g1000_t40",
        "g1000_t45",
        "g1000_t50",
        "g1000_t55",
        "g1000_t60",
        "g1000_t65",
        "g1000_t70",
    ];
    let temp = series(&names);
    let temp: Vec<SeriesCurve> = temp
        .iter()
        .map(|(d, c)| SeriesCurve {
            data: d,
            conditions: *c,
        })
        .collect();
    let kappa = fit_p1_kappa(&temp, module.alpha(), module.beta(), 1.290, None).expect("kappa");
    eprintln!(
        "κ = {:.5} Ω/K, spread {:.4} %",
        kappa.value,
        kappa.spread * 100.0
    );
    // standards.md §1.11: κ 0.0093 Ω/K with spread 0.026 %.
    assert!((kappa.value - 0.0093).abs() < 0.0005, "{kappa:?}");
    assert!(kappa.spread < 0.0003, "{kappa:?}");
    let tc = temperature_coefficients(&temp).expect("tempco");
    eprintln!(
        "α = {:.6} ± {:.6} A/K, β = {:.5} ± {:.5} V/K, γ = {:.4} %/K",
        tc.alpha_isc.value,
        tc.alpha_isc.u,
        tc.beta_voc.value,
        tc.beta_voc.u,
        tc.gamma_pmp.relative * 100.0
    );
    // The reference: numpy's OLS line through pvlib's `astm_e1036` parameters of the same ten
    // curves (reference.json `tempco_astm_e1036_ols`, tests/reference/generate.py). CEC = De
    // Soto with alpha_sc·(1 − Adjust/100) (standards.md §2.2), so the curves' Isc slope is
    // 0.004539·(1 − 0.0862) = 0.004136 A/K, not the record's 0.004539; and the single-diode
    // model's Voc slope (−0.2429 V/K) is not the record's β_oc (−0.2222 V/K). The same
    // regression on the same numbers: values to 1e-9 relative, uncertainties to 1e-6.
    let want = &reference_json()["tempco_astm_e1036_ols"];
    for (name, got) in [
        ("alpha_isc", tc.alpha_isc),
        ("beta_voc", tc.beta_voc),
        ("gamma_pmp", tc.gamma_pmp),
    ] {
        let (value, u) = (
            want[name]["value"].as_f64().expect("value"),
            want[name]["u"].as_f64().expect("u"),
        );
        assert!(
            ((got.value - value) / value).abs() <= 1e-9,
            "{name}: {got:?} vs {value}"
        );
        assert!(
            ((got.u - u) / u).abs() <= 1e-6,
            "{name}: u {} vs {u}",
            got.u
        );
    }
}

#[test]
fn spectral_mismatch_agrees_with_pvlib() {
    use pvstation::analysis::irradiance::{Spectrum, spectral_mismatch};
    let v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(reference("spectral_mismatch.json")).expect("fixture"),
    )
    .expect("json");
    let list = |k: &str| -> Vec<f64> {
        v[k].as_array()
            .expect("array")
            .iter()
            .map(|x| x.as_f64().expect("number"))
            .collect()
    };
    let sr = Spectrum::new(list("sr_wavelength"), list("sr")).expect("sr");
    let sun = Spectrum::new(list("sun_wavelength"), list("sun")).expect("sun");
    let smm = spectral_mismatch(&sun, &Spectrum::am15g(), &sr, None).expect("smm");
    let want = v["smm"].as_f64().expect("smm");
    assert!((smm - want).abs() < 1e-12, "{smm} vs pvlib {want}");
}

/// Irradiance falling during the sweep: each point measured at its own G. Translating point
/// by point recovers the STC curve far better than translating from the mean irradiance.
#[test]
fn pointwise_irradiance_corrects_a_changing_sun() {
    use pvstation::sim::diode::SingleDiode;
    let model = SingleDiode::cs5p_220m();
    let truth = {
        let d = model.at(1000.0, 25.0);
        let voc = d.open_circuit_voltage();
        let v: Vec<f64> = (0..301).map(|k| voc * k as f64 / 300.0).collect();
        let i = v.iter().map(|v| d.current(*v)).collect();
        extract(&IvData::new(v, i)).expect("truth").p_mp
    };
    let n = 301;
    let voc = model.at(900.0, 25.0).open_circuit_voltage() * 1.05;
    let g: Vec<f64> = (0..n)
        .map(|k| 950.0 - 100.0 * k as f64 / (n - 1) as f64)
        .collect();
    let v: Vec<f64> = (0..n).map(|k| voc * k as f64 / (n - 1) as f64).collect();
    let i: Vec<f64> = v
        .iter()
        .zip(&g)
        .map(|(v, g)| model.current(*v, *g, 25.0))
        .collect();
    let mut data = IvData::new(v, i);
    data.irradiance = Some(g.clone());
    data.temperature = Some(vec![25.0; n]);
    // α, β: the model's own coefficients (reference.json `tempco_astm_e1036_ols`); Rs from the
    // reference fit on curves of this very model; κ irrelevant at equal T.
    let tempco = &reference_json()["tempco_astm_e1036_ols"];
    let m = Method::P1 {
        alpha: tempco["alpha_isc"]["value"].as_f64().expect("alpha"),
        beta: tempco["beta_voc"]["value"].as_f64().expect("beta"),
        rs: 1.29,
        kappa: 0.0,
    };
    let pointwise = translate_and_extract(&data, &m, None, Conditions::STC)
        .expect("pointwise")
        .1
        .p_mp;
    let mean_g = Some(Conditions {
        irradiance: g.iter().sum::<f64>() / n as f64,
        temperature: 25.0,
    });
    let mean = translate_and_extract(&data, &m, mean_g, Conditions::STC)
        .expect("mean")
        .1
        .p_mp;
    let (e_pointwise, e_mean) = ((pointwise / truth - 1.0).abs(), (mean / truth - 1.0).abs());
    eprintln!(
        "falling sun 950→850 W/m²: point-wise {:.3} %, mean-irradiance {:.3} % from truth",
        e_pointwise * 100.0,
        e_mean * 100.0
    );
    assert!(e_pointwise < 0.002, "{e_pointwise}");
    assert!(e_pointwise < e_mean / 3.0, "{e_pointwise} vs {e_mean}");
}

#[test]
fn hysteresis_of_forward_and_reverse_sweeps() {
    use pvstation::analysis::curve::hysteresis;
    let forward = cs5p_curve("g800_t45");
    let mut reverse = forward.clone();
    reverse.voltage.reverse();
    reverse.current.reverse();
    let h = hysteresis(&forward, &reverse).expect("compares");
    assert!(h.p_mp_relative_difference.abs() < 1e-12 && h.max_current_difference < 1e-12);
    // A capacitive lag: the reverse sweep reads 0.5 % more current.
    reverse.current.iter_mut().for_each(|i| *i *= 1.005);
    let h = hysteresis(&forward, &reverse).expect("compares");
    assert!(
        (h.p_mp_relative_difference + 0.005 / 1.0025).abs() < 1e-4,
        "{h:?}"
    );
}

/// The NREL SPA against pvlib's `solarposition.spa_python` at 1 200 times and places
/// (1990–2060, latitudes ±66°, 0–4 500 m, the plateau site over one day; tests/reference/spa.py):
/// zenith, apparent zenith and azimuth to 0.001° (azimuth only where the sun is not at the
/// zenith, where it is undefined).
#[test]
fn solar_position_agrees_with_pvlib_spa() {
    use pvstation::analysis::sun::{Site, sun_position};
    let text = std::fs::read_to_string(crate::cli::repo("tests/reference/spa_reference.csv"))
        .expect("reference");
    let mut worst: (f64, f64, f64) = (0.0, 0.0, 0.0);
    let mut n = 0;
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("unix"))
    {
        let v: Vec<f64> = line
            .split(',')
            .map(|x| x.parse().expect("number"))
            .collect();
        let p = sun_position(
            v[0],
            Site {
                latitude: v[1],
                longitude: v[2],
                altitude: v[3],
            },
            v[4] / 100.0,
            v[5],
            69.0,
        );
        let dz = (p.zenith - v[6]).abs();
        let da = (p.apparent_zenith - v[7]).abs();
        let daz = if p.zenith > 0.01 {
            let d = (p.azimuth - v[8]).rem_euclid(360.0);
            d.min(360.0 - d)
        } else {
            0.0
        };
        worst = (worst.0.max(dz), worst.1.max(da), worst.2.max(daz));
        n += 1;
    }
    assert_eq!(n, 1200);
    eprintln!(
        "SPA vs pvlib, largest differences: zenith {:.2e}°, apparent zenith {:.2e}°, azimuth {:.2e}°",
        worst.0, worst.1, worst.2
    );
    assert!(
        worst.0 <= 1e-3 && worst.1 <= 1e-3 && worst.2 <= 1e-3,
        "largest differences: zenith {:.2e}°, apparent zenith {:.2e}°, azimuth {:.2e}°",
        worst.0,
        worst.1,
        worst.2
    );
}

/// SPECTRL2 (the simulated world's clear sky) against pvlib's `spectrum.spectrl2` for three
/// plateau sun positions (tests/reference/spectrl2.py): every wavelength band 300–1100 nm of
/// the plane-of-array global, direct normal and diffuse horizontal spectra within 2 % (the
/// issue's bound; the two implementations of one model agree far closer).
#[test]
fn spectrl2_agrees_with_pvlib() {
    use pvstation::sim::spectrl2::{Atmosphere, Geometry, spectrl2, wavelengths};
    let reference = spectrl2_reference();
    let wl = numbers(&reference["wavelength"]);
    assert_eq!(wl, wavelengths());
    let cases = reference["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 3);
    let mut worst = 0.0f64;
    for case in cases {
        let f = |key: &str| case[key].as_f64().expect(key);
        let sky = spectrl2(
            &Geometry {
                apparent_zenith: f("apparent_zenith"),
                aoi: f("aoi"),
                tilt: f("surface_tilt"),
                relative_air_mass: f("relative_airmass"),
                day_of_year: f("dayofyear"),
                ground_albedo: f("ground_albedo"),
            },
            &Atmosphere::rural(
                f("surface_pressure"),
                f("precipitable_water"),
                f("ozone"),
                f("aerosol_turbidity_500nm"),
            ),
        );
        for (key, ours) in [
            ("poa_global", &sky.poa_global),
            ("dni", &sky.dni),
            ("dhi", &sky.dhi),
        ] {
            let theirs = case[key].as_array().expect(key);
            for (k, w) in wl
                .iter()
                .enumerate()
                .filter(|(_, w)| (300.0..=1100.0).contains(*w))
            {
                let want = theirs[k].as_f64().expect("number");
                let got = ours[k];
                // Deep absorption bands carry ~0 W/m²/nm: compare those absolutely.
                let rel = (got - want).abs() / want.abs().max(1e-3);
                assert!(
                    rel < 0.02,
                    "{key} at {w} nm, zenith {}: {got} vs pvlib {want}",
                    f("apparent_zenith")
                );
                worst = worst.max(rel);
            }
        }
    }
    eprintln!("SPECTRL2 vs pvlib, 300–1100 nm: largest relative difference {worst:.2e}");
}

/// Martin–Ruiz incidence-angle modifiers (beam, sky and ground diffuse) against pvlib's
/// `iam.martin_ruiz` and `iam.martin_ruiz_diffuse` for three glass coefficients.
#[test]
fn martin_ruiz_iam_agrees_with_pvlib() {
    use pvstation::analysis::iam::{martin_ruiz, martin_ruiz_diffuse};
    let reference = spectrl2_reference();
    let iam = &reference["iam"];
    let (aoi, tilt) = (numbers(&iam["aoi"]), numbers(&iam["tilt"]));
    for case in iam["cases"].as_array().expect("cases") {
        let a_r = case["a_r"].as_f64().expect("a_r");
        for (theta, want) in aoi.iter().zip(numbers(&case["beam"])) {
            let got = martin_ruiz(*theta, a_r);
            assert!(
                (got - want).abs() < 1e-12,
                "a_r {a_r}, {theta}°: {got} vs {want}"
            );
        }
        for ((beta, sky), ground) in tilt
            .iter()
            .zip(numbers(&case["sky"]))
            .zip(numbers(&case["ground"]))
        {
            let (s, g) = martin_ruiz_diffuse(*beta, a_r);
            assert!(
                (s - sky).abs() < 1e-12 && (g - ground).abs() < 1e-9,
                "a_r {a_r}, tilt {beta}°: ({s}, {g}) vs ({sky}, {ground})"
            );
        }
    }
}

/// The simulated world's glass (Fresnel reflection and absorption, `sim::sky::Glass`) against
/// pvlib's `iam.physical` and `iam.marion_diffuse('physical')`: plain solar glass, AR-coated
/// glass and a fused-silica window.
#[test]
fn the_simulated_glass_agrees_with_pvlib_physical_iam() {
    use pvstation::sim::sky::Glass;
    let reference = spectrl2_reference();
    let iam = &reference["iam"];
    let (aoi, tilt) = (numbers(&iam["aoi"]), numbers(&iam["tilt"]));
    let mut worst_diffuse = 0.0f64;
    for case in iam["physical"].as_array().expect("physical") {
        let glass = Glass {
            n: case["n"].as_f64().expect("n"),
            n_ar: case["n_ar"].as_f64(),
            kl: case["K"].as_f64().expect("K") * case["L"].as_f64().expect("L"),
        };
        for (theta, want) in aoi.iter().zip(numbers(&case["beam"])) {
            let got = glass.iam(*theta);
            assert!(
                (got - want).abs() < 1e-9,
                "{glass:?} at {theta}°: {got} vs {want}"
            );
        }
        for ((beta, sky), ground) in tilt
            .iter()
            .zip(numbers(&case["sky"]))
            .zip(numbers(&case["ground"]))
        {
            let (s, g) = glass.diffuse(*beta);
            // Two numerical integrations of one integral (Marion's and a midpoint rule).
            assert!(
                (s - sky).abs() < 2e-3,
                "{glass:?} tilt {beta}°: sky {s} vs {sky}"
            );
            if *beta > 0.0 {
                assert!(
                    (g - ground).abs() < 5e-3,
                    "{glass:?} tilt {beta}°: ground {g} vs {ground}"
                );
            }
            worst_diffuse = worst_diffuse.max((s - sky).abs());
        }
    }
    eprintln!("simulated glass vs pvlib: largest sky-diffuse IAM difference {worst_diffuse:.1e}");
}

/// The simulated world's sun (Michalsky's Almanac algorithm) against pvlib's SPA at the 1 200
/// reference times and places within 1950–2050: within 0.02° (its stated accuracy is 0.01°),
/// so the station's SPA is checked against an independent sun.
#[test]
fn the_simulated_sun_agrees_with_pvlib_spa() {
    use pvstation::sim::sky::{Site, sun};
    let text = std::fs::read_to_string(crate::cli::repo("tests/reference/spa_reference.csv"))
        .expect("reference");
    let (mut worst, mut n) = (0.0f64, 0);
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("unix"))
    {
        let v: Vec<f64> = line
            .split(',')
            .map(|x| x.parse().expect("number"))
            .collect();
        // 1950–2050 and the sun more than 1° up (refraction formulas differ at the horizon).
        if !(-631_152_000.0..2_524_608_000.0).contains(&v[0]) || v[7] > 89.0 {
            continue;
        }
        let site = Site {
            latitude: v[1],
            longitude: v[2],
            altitude: v[3],
        };
        let (zenith, _, azimuth) = sun(v[0], site, v[4] / 100.0, v[5]);
        let daz = (azimuth - v[8]).rem_euclid(360.0);
        let daz = daz.min(360.0 - daz) * (v[6].to_radians().sin());
        worst = worst.max((zenith - v[6]).abs()).max(daz);
        n += 1;
    }
    assert!(n > 300, "{n}");
    eprintln!("simulated sun vs pvlib SPA ({n} points): largest angular difference {worst:.4}°");
    assert!(worst < 0.02, "{worst}");
}

/// tests/reference/spectrl2_reference.json (tests/reference/spectrl2.py).
fn spectrl2_reference() -> serde_json::Value {
    let text = std::fs::read_to_string(crate::cli::repo("tests/reference/spectrl2_reference.json"))
        .expect("reference");
    serde_json::from_str(&text).expect("json")
}

/// A JSON array of numbers.
fn numbers(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// The IEC 60891 model error each shipped module file states (per W/m² and per K of the
/// correction, standards.md §12.1) bounds the actual error of each procedure it gives, with the
/// module file's own parameters, on the simulated module over the outdoor range (700–1250
/// W/m², 5–65 °C): the single-diode curve translated to STC against the single-diode truth at
/// STC. The bound is the budget's rectangular half-width, so every grid point must lie within
/// it; and the fitted parameters are what the IEC 60891 clause 7 fits give on these curves.
#[test]
fn the_stated_iec60891_model_error_bounds_the_translation_error() {
    use pvstation::analysis::iec60891::BetaTerm;
    use pvstation::analysis::module::Module;
    use pvstation::analysis::params::{SeriesCurve, fit_p1_kappa, fit_p1_rs};
    use pvstation::sim::diode::SingleDiode;
    for (name, model, procedures) in [
        ("cs5p-220m", SingleDiode::cs5p_220m(), &[1u8, 2, 4][..]),
        ("fs-4117-3", SingleDiode::fs_4117_3(), &[1u8, 2][..]),
    ] {
        let module = Module::built_in(name).expect("shipped").expect("parses");
        let curve = |g: f64, t: f64| {
            let d = model.at(g, t);
            let voc = d.open_circuit_voltage();
            let v: Vec<f64> = (0..401)
                .map(|k| -0.5 + (voc + 0.5) * k as f64 / 400.0)
                .collect();
            let i = v.iter().map(|v| d.current(*v)).collect();
            IvData::new(v, i)
        };
        let truth = extract(&curve(1000.0, 25.0)).expect("truth").p_mp;
        // Procedure 1's Rs and κ as the clause 7 fits find them on the module's curves
        // (irradiance series at 25 °C, temperature series at 1000 W/m²) with its α and β.
        let gs = [400.0, 550.0, 700.0, 850.0, 1000.0, 1100.0];
        let ts = [15.0, 25.0, 35.0, 45.0, 55.0, 65.0];
        let (gc, tc): (Vec<IvData>, Vec<IvData>) = (
            gs.iter().map(|g| curve(*g, 25.0)).collect(),
            ts.iter().map(|t| curve(1000.0, *t)).collect(),
        );
        fn series<'a>(
            curves: &'a [IvData],
            at: &dyn Fn(usize) -> Conditions,
        ) -> Vec<SeriesCurve<'a>> {
            curves
                .iter()
                .enumerate()
                .map(|(k, d)| SeriesCurve {
                    data: d,
                    conditions: at(k),
                })
                .collect()
        }
        let gser = series(&gc, &|k| Conditions {
            irradiance: gs[k],
            temperature: 25.0,
        });
        let tser = series(&tc, &|k| Conditions {
            irradiance: 1000.0,
            temperature: ts[k],
        });
        let p1 = module.procedure1.as_ref().expect("procedure 1");
        let rs = fit_p1_rs(&gser, module.alpha(), module.beta()).expect("Rs");
        let kappa =
            fit_p1_kappa(&tser, module.alpha(), module.beta(), rs.value, Some(25.0)).expect("κ");
        eprintln!("{name}: Rs {:.4} Ω, κ {:.5} Ω/K", rs.value, kappa.value);
        if name == "fs-4117-3" {
            assert!((rs.value - p1.rs).abs() < 0.01, "{rs:?} vs {}", p1.rs);
            assert!(
                (kappa.value - p1.kappa).abs() < 5e-4,
                "{kappa:?} vs {}",
                p1.kappa
            );
        }
        for &procedure in procedures {
            let m = Method::from_module(&module, procedure, BetaTerm::default()).expect("method");
            let (per_g, per_t) = module.model_error(procedure).expect("stated model error");
            let mut worst: f64 = 0.0;
            for g in [700.0, 800.0, 900.0, 1000.0, 1100.0, 1250.0] {
                for t in [5.0, 15.0, 25.0, 35.0, 45.0, 55.0, 65.0] {
                    let from = Conditions {
                        irradiance: g,
                        temperature: t,
                    };
                    let p = translate_and_extract(&curve(g, t), &m, Some(from), Conditions::STC)
                        .expect("translates")
                        .1
                        .p_mp;
                    let error = (p / truth - 1.0).abs();
                    let bound = per_g * (g - 1000.0).abs() + per_t * (t - 25.0).abs();
                    worst = worst.max(error / bound.max(1e-12));
                    assert!(
                        error <= bound.max(2e-4),
                        "{name} procedure {procedure} at {g} W/m², {t} °C: error {:.3} % > stated {:.3} %",
                        error * 100.0,
                        bound * 100.0
                    );
                }
            }
            eprintln!("{name} procedure {procedure}: largest error / stated bound {worst:.2}");
        }
    }
}
