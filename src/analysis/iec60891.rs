//! IEC 60891:2021 (Ed. 3.0) corrections of measured I-V curves to other irradiance and
//! temperature: procedures 1, 2 (Ed. 2 form with `a`; Ed. 3 form with B1, B2 [R]), 3 (two- and
//! three-curve interpolation) and 4. Any target (G2, T2), not only STC.
//!
//! Symbols and units (standards.md §1.3): I1, V1 measured point [A, V]; I2, V2 corrected
//! point; G1, G2 measured/target irradiance [W/m²]; T1, T2 measured/target device temperature
//! [°C]; Isc1, Voc1 of the *measured* curve (extracted per ASTM E1036, not max(I)); α [A/K],
//! β [V/K] absolute coefficients; α_rel, β_rel [1/K]; Rs [Ω], κ [Ω/K] (procedure 1) and R's,
//! κ' (procedure 2) — fitting parameters, not interchangeable.
//!
//! # Point-wise irradiance [derived]
//! When the curve carries an irradiance (and/or temperature) column and no fixed `from`
//! conditions are given, each point is corrected from its own G1,k and T1,k (IEC 60891 Ed. 2
//! extended the procedures to irradiance changing during the sweep; the exact Ed. 3 wording is
//! [R], standards.md §1.10 item 7). The Isc1 term is scaled to each point's irradiance:
//! Isc1(G1,k) = Isc1·G1,k/G1,isc, with G1,isc the irradiance at the point nearest V = 0, so
//! that Isc1(G1,k)·(G2/G1,k − 1) = Isc1·(G2 − G1,k)/G1,isc; with constant irradiance this is
//! exactly the standard's Isc1·(G2/G1 − 1).

use serde::Serialize;

use super::AnalysisError;
use super::curve::{IvData, rectify};
use super::extract::{Axes, ExtractOptions, IvParameters, axes, extract};
use super::module::Module;

/// Irradiance and device temperature.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Conditions {
    /// Irradiance [W/m²].
    pub irradiance: f64,
    /// Device temperature [°C].
    pub temperature: f64,
}

impl Conditions {
    /// Standard test conditions: 1000 W/m², 25 °C.
    pub const STC: Conditions = Conditions {
        irradiance: 1000.0,
        temperature: 25.0,
    };
}

/// Which form of the Ed. 3 procedure-2 β term to use (standards.md §1.5 open question: does
/// β multiply f(G1) or 1/f(G1)? The `ivcorrection` code multiplies by f). [R]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BetaTerm {
    /// β_rel·f(G)·(T − 25) (as `ivcorrection` 0.1.1 implements it).
    #[default]
    TimesF,
    /// β_rel·(T − 25)/f(G).
    DividedByF,
}

/// A correction procedure with its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "procedure")]
pub enum Method {
    /// Procedure 1 [X: MPL Ed. 2 == IVC Ed. 3].
    P1 {
        /// α [A/K].
        alpha: f64,
        /// β [V/K].
        beta: f64,
        /// Rs [Ω].
        rs: f64,
        /// κ [Ω/K].
        kappa: f64,
    },
    /// Procedure 2, Ed. 2 (2009) form [V: MPL].
    P2Ed2 {
        /// α_rel [1/K].
        alpha_rel: f64,
        /// β_rel [1/K].
        beta_rel: f64,
        /// a [1].
        a: f64,
        /// R's [Ω].
        rs: f64,
        /// κ' [Ω/K].
        kappa: f64,
    },
    /// Procedure 2, Ed. 3 (2021) form as `ivcorrection` implements it, generalised to any
    /// target [V code; R standard].
    P2Ed3 {
        /// α_rel [1/K].
        alpha_rel: f64,
        /// β_rel [1/K].
        beta_rel: f64,
        /// Voc at STC [V].
        voc_stc: f64,
        /// B1 [1].
        b1: f64,
        /// B2 [1].
        b2: f64,
        /// R's [Ω].
        rs: f64,
        /// κ' [Ω/K].
        kappa: f64,
        /// Form of the β term.
        beta_term: BetaTerm,
    },
    /// Procedure 4 (single curve, c-Si, no β) [V: IVC; R wording].
    P4 {
        /// α [A/K].
        alpha: f64,
        /// ε per cell [V].
        epsilon: f64,
        /// Cells in series in the module (scales the thermal voltage).
        cells_in_series: u32,
        /// Rs [Ω].
        rs: f64,
    },
}

impl Method {
    /// The procedure from a module file: `procedure` 1, 2 or 4. Procedure 2 uses the Ed. 2 form
    /// when `a` is given, else the Ed. 3 form with `b1`, `b2`.
    pub fn from_module(
        module: &Module,
        procedure: u8,
        beta_term: BetaTerm,
    ) -> Result<Method, AnalysisError> {
        let missing =
            |what: &str| AnalysisError::Invalid(format!("module `{}` has no {what}", module.name));
        match procedure {
            1 => {
                let p = module
                    .procedure1
                    .as_ref()
                    .ok_or_else(|| missing("[procedure1] rs, kappa"))?;
                Ok(Method::P1 {
                    alpha: module.alpha(),
                    beta: module.beta(),
                    rs: p.rs,
                    kappa: p.kappa,
                })
            }
            2 => {
                let p = module
                    .procedure2
                    .as_ref()
                    .ok_or_else(|| missing("[procedure2] parameters"))?;
                let (alpha_rel, beta_rel) = (module.alpha_rel()?, module.beta_rel()?);
                match (p.a, p.b1, p.b2) {
                    (Some(a), _, _) => Ok(Method::P2Ed2 {
                        alpha_rel,
                        beta_rel,
                        a,
                        rs: p.rs,
                        kappa: p.kappa,
                    }),
                    (None, Some(b1), Some(b2)) => Ok(Method::P2Ed3 {
                        alpha_rel,
                        beta_rel,
                        voc_stc: module
                            .voc_stc
                            .ok_or_else(|| missing("voc_stc (needed by the Ed. 3 procedure 2)"))?,
                        b1,
                        b2,
                        rs: p.rs,
                        kappa: p.kappa,
                        beta_term,
                    }),
                    _ => Err(missing("[procedure2] a (Ed. 2) or b1 and b2 (Ed. 3)")),
                }
            }
            4 => {
                let p = module
                    .procedure4
                    .clone()
                    .unwrap_or(super::module::Procedure4Parameters {
                        epsilon: 1.232,
                        rs: None,
                        u_epsilon: None,
                        u_rs: None,
                        model_error_irradiance: None,
                        model_error_temperature: None,
                        source: None,
                    });
                let rs =
                    p.rs.or(module.procedure1.as_ref().map(|p1| p1.rs))
                        .ok_or_else(|| missing("[procedure4] rs (or [procedure1] rs)"))?;
                Ok(Method::P4 {
                    alpha: module.alpha(),
                    epsilon: p.epsilon,
                    cells_in_series: module.cells_in_series,
                    rs,
                })
            }
            3 => Err(AnalysisError::Invalid(
                "procedure 3 interpolates between measured curves; give two or three curves".into(),
            )),
            other => Err(AnalysisError::Invalid(format!(
                "procedure {other} does not exist; IEC 60891:2021 has procedures 1, 2, 3 and 4"
            ))),
        }
    }

    /// The continuous parameters with their names and units, in a fixed order (what an
    /// uncertainty model perturbs).
    pub fn parameters(&self) -> Vec<(&'static str, &'static str, f64)> {
        match *self {
            Method::P1 {
                alpha,
                beta,
                rs,
                kappa,
            } => vec![
                ("alpha", "A/K", alpha),
                ("beta", "V/K", beta),
                ("rs", "Ω", rs),
                ("kappa", "Ω/K", kappa),
            ],
            Method::P2Ed2 {
                alpha_rel,
                beta_rel,
                a,
                rs,
                kappa,
            } => vec![
                ("alpha_rel", "1/K", alpha_rel),
                ("beta_rel", "1/K", beta_rel),
                ("a", "1", a),
                ("rs", "Ω", rs),
                ("kappa", "Ω/K", kappa),
            ],
            Method::P2Ed3 {
                alpha_rel,
                beta_rel,
                voc_stc,
                b1,
                b2,
                rs,
                kappa,
                ..
            } => vec![
                ("alpha_rel", "1/K", alpha_rel),
                ("beta_rel", "1/K", beta_rel),
                ("voc_stc", "V", voc_stc),
                ("b1", "1", b1),
                ("b2", "1", b2),
                ("rs", "Ω", rs),
                ("kappa", "Ω/K", kappa),
            ],
            Method::P4 {
                alpha, epsilon, rs, ..
            } => vec![
                ("alpha", "A/K", alpha),
                ("epsilon", "V", epsilon),
                ("rs", "Ω", rs),
            ],
        }
    }

    /// The same procedure with its continuous parameters replaced by `p` (order of
    /// [`Method::parameters`]; missing values keep the current ones).
    pub fn with_parameters(&self, p: &[f64]) -> Method {
        let g = |k: usize, current: f64| p.get(k).copied().unwrap_or(current);
        match *self {
            Method::P1 {
                alpha,
                beta,
                rs,
                kappa,
            } => Method::P1 {
                alpha: g(0, alpha),
                beta: g(1, beta),
                rs: g(2, rs),
                kappa: g(3, kappa),
            },
            Method::P2Ed2 {
                alpha_rel,
                beta_rel,
                a,
                rs,
                kappa,
            } => Method::P2Ed2 {
                alpha_rel: g(0, alpha_rel),
                beta_rel: g(1, beta_rel),
                a: g(2, a),
                rs: g(3, rs),
                kappa: g(4, kappa),
            },
            Method::P2Ed3 {
                alpha_rel,
                beta_rel,
                voc_stc,
                b1,
                b2,
                rs,
                kappa,
                beta_term,
            } => Method::P2Ed3 {
                alpha_rel: g(0, alpha_rel),
                beta_rel: g(1, beta_rel),
                voc_stc: g(2, voc_stc),
                b1: g(3, b1),
                b2: g(4, b2),
                rs: g(5, rs),
                kappa: g(6, kappa),
                beta_term,
            },
            Method::P4 {
                alpha,
                epsilon,
                cells_in_series,
                rs,
            } => Method::P4 {
                alpha: g(0, alpha),
                epsilon: g(1, epsilon),
                cells_in_series,
                rs: g(2, rs),
            },
        }
    }

    /// Procedure number.
    pub fn number(&self) -> u8 {
        match self {
            Method::P1 { .. } => 1,
            Method::P2Ed2 { .. } | Method::P2Ed3 { .. } => 2,
            Method::P4 { .. } => 4,
        }
    }
}

/// A warning about a translation, formatted only when shown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Warning {
    /// Translating up in irradiance needs fourth-quadrant data the curve lacks
    /// (standards.md §1.4): translated Voc is an extrapolation.
    MissingFourthQuadrant {
        /// Mean measured irradiance [W/m²].
        from: f64,
        /// Target irradiance [W/m²].
        to: f64,
        /// Current the sweep must reach [A].
        needed: f64,
        /// Lowest current of the curve [A].
        lowest: f64,
    },
    /// Procedure 3 extrapolates with weight `a`.
    Extrapolation {
        /// The weight.
        a: f64,
    },
    /// The third curve of procedure 3 pulls the result off the target irradiance.
    OffTarget {
        /// Irradiance reached [W/m²].
        reached: f64,
        /// Target [W/m²].
        target: f64,
    },
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Warning::MissingFourthQuadrant {
                from,
                to,
                needed,
                lowest,
            } => write!(
                f,
                "translated Voc is extrapolated: translating up from {from:.0} to {to:.0} W/m² needs data down to I = {needed:.3} A (fourth quadrant), the curve reaches only {lowest:.3} A; sweep beyond Voc"
            ),
            Warning::Extrapolation { a } => write!(
                f,
                "procedure 3 extrapolates (a = {a:.3}); extrapolation distorts curves (Xu et al. 2023)"
            ),
            Warning::OffTarget { reached, target } => write!(
                f,
                "the third curve's irradiance differs from the target: the result is at {reached:.0} W/m² instead of {target:.0} W/m²"
            ),
        }
    }
}

impl Serialize for Warning {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A translated curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Translation {
    /// Translated points (same order as measured).
    pub data: IvData,
    /// Mean measured conditions.
    pub from: Conditions,
    /// Target conditions.
    pub to: Conditions,
    /// Isc and Voc of the measured curve (ASTM E1036 axis rules) used by the correction.
    pub measured: Axes,
    /// Warnings (e.g. missing fourth-quadrant data).
    pub warnings: Vec<Warning>,
}

/// Per-point source conditions.
fn point_conditions(
    data: &IvData,
    from: Option<Conditions>,
) -> Result<(Vec<f64>, Vec<f64>, Conditions), AnalysisError> {
    let n = data.len();
    match from {
        Some(c) => Ok((vec![c.irradiance; n], vec![c.temperature; n], c)),
        None => {
            let g = data.irradiance.clone().ok_or_else(|| {
                AnalysisError::Invalid(
                    "no measured irradiance: give --from G,T or an `irradiance` column".into(),
                )
            })?;
            let t = data.temperature.clone().ok_or_else(|| {
                AnalysisError::Invalid(
                    "no measured temperature: give --from G,T or a `temperature` column".into(),
                )
            })?;
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
            let c = Conditions {
                irradiance: mean(&g),
                temperature: mean(&t),
            };
            Ok((g, t, c))
        }
    }
}

/// Translate a measured curve with procedure 1, 2 or 4 from `from` (or the per-point columns)
/// to `to`.
///
/// # Equations (standards.md §1.4, §1.5, §1.7)
/// - P1 [X]: I2 = I1 + Isc1·(G2/G1 − 1) + α·(T2 − T1);
///   V2 = V1 − Rs·(I2 − I1) − κ·I2·(T2 − T1) + β·(T2 − T1).
/// - P2 Ed. 2 [V MPL]: I2 = I1·(1 + α_rel·(T2 − T1))·G2/G1;
///   V2 = V1 + Voc1·[β_rel·(T2 − T1) + a·ln(G2/G1)] − R's·(I2 − I1) − κ'·I2·(T2 − T1).
/// - P2 Ed. 3 [V code, R standard; generalised, derived]: x = ln(1000/G), f = 1 + B1·x + B2·x²,
///   Voc(G, T) = Voc,STC·[1/f(G) + β_rel·f(G)·(T − 25)] (or β_rel·(T − 25)/f with
///   [`BetaTerm::DividedByF`]); R's(T) = R's + κ'·(T − 25);
///   I2 = I1·(G2/G1)·(1 + α_rel(T2 − 25))/(1 + α_rel(T1 − 25));
///   V2 = V1 + R's(T1)·I1 − R's(T2)·I2 + Voc(G2, T2) − Voc(G1, T1).
/// - P4 [V IVC, R wording]: I' = I1 + Isc1·(G2/G1 − 1), V' = V1 − Rs·(I' − I1);
///   I2 = I' + α·(T2 − T1), V2 = V' + (T2 − T1)/(T1 + 273.15)·(V' − ε·Ns).
///
/// # References
/// IEC 60891:2021 (paywalled); Sandia MATLAB PV_LIB `pvl_translate_IV_curve_IEC60891_1/2.m`
/// (Ed. 2); LBNL `ivcorrection` 0.1.1 `get_corrected_IV_P1/P2/P4` (Ed. 3 as implemented).
///
/// The caller validates the curve ([`IvData::validate`]); non-finite points simply drop out
/// of the re-extraction.
pub fn translate(
    data: &IvData,
    method: &Method,
    from: Option<Conditions>,
    to: Conditions,
) -> Result<Translation, AnalysisError> {
    let n = data.len();
    let same_length = |c: &Option<Vec<f64>>| c.as_ref().is_none_or(|c| c.len() == n);
    if data.current.len() != n || !same_length(&data.irradiance) || !same_length(&data.temperature)
    {
        return Err(AnalysisError::Invalid(
            "the curve's columns have different lengths".into(),
        ));
    }
    if n == 0 {
        return Err(AnalysisError::Empty);
    }
    if to.irradiance.is_nan()
        || to.irradiance <= 0.0
        || !to.irradiance.is_finite()
        || !to.temperature.is_finite()
    {
        return Err(AnalysisError::Invalid(format!(
            "target irradiance {} W/m² must be > 0",
            to.irradiance
        )));
    }
    let (g1, t1, mean_from) = point_conditions(data, from)?;
    if let Some(k) = g1.iter().position(|g| g.is_nan() || *g <= 0.0) {
        return Err(AnalysisError::Invalid(format!(
            "point {k}: measured irradiance {} W/m² must be > 0 to translate",
            g1[k]
        )));
    }
    let (v_rect, i_rect) = rectify(&data.voltage, &data.current);
    let measured = axes(&v_rect, &i_rect, &ExtractOptions::default())?;
    let isc1 = measured.i_sc;
    // Irradiance belonging to the extracted Isc: that of the point nearest V = 0.
    let k0 = (0..data.len()).fold(0, |b, k| {
        if data.voltage[k].abs() < data.voltage[b].abs() {
            k
        } else {
            b
        }
    });
    let g_isc = g1[k0];
    let (g2, t2) = (to.irradiance, to.temperature);
    let mut v_out = Vec::with_capacity(n);
    let mut i_out = Vec::with_capacity(n);
    for k in 0..n {
        let (v1, i1, gk, tk) = (data.voltage[k], data.current[k], g1[k], t1[k]);
        let (i2, v2) = correct_point(method, v1, i1, gk, tk, to, isc1, measured.v_oc, g_isc);
        v_out.push(v2);
        i_out.push(i2);
    }
    let mut warnings = Vec::new();
    if let Method::P1 { alpha, .. } | Method::P4 { alpha, .. } = *method
        && g2 > mean_from.irradiance
    {
        // The corrected point with I2 = 0 comes from I1 = −Isc1·(G2/G1 − 1) − α·(T2 − T1) < 0
        // (standards.md §1.4): the sweep must reach that far into the fourth quadrant.
        let needed =
            -isc1 * (g2 / mean_from.irradiance - 1.0) - alpha * (t2 - mean_from.temperature);
        let lowest = data.current.iter().copied().fold(f64::INFINITY, f64::min);
        if lowest > needed {
            warnings.push(Warning::MissingFourthQuadrant {
                from: mean_from.irradiance,
                to: g2,
                needed,
                lowest,
            });
        }
    }
    Ok(Translation {
        data: IvData::new(v_out, i_out),
        from: mean_from,
        to,
        measured,
        warnings,
    })
}

/// One point of an IEC 60891 correction (procedures 1, 2, 4; equations on [`translate`]):
/// the measured point (v1 [V], i1 [A]) at (gk [W/m²], tk [°C]) to the target `to`, given the
/// measured curve's Isc1 [A] (at irradiance `g_isc` [W/m²]) and Voc1 [V]. Returns (i2, v2).
#[allow(clippy::too_many_arguments)]
pub fn correct_point(
    method: &Method,
    v1: f64,
    i1: f64,
    gk: f64,
    tk: f64,
    to: Conditions,
    isc1: f64,
    voc1: f64,
    g_isc: f64,
) -> (f64, f64) {
    let (g2, t2) = (to.irradiance, to.temperature);
    let dt = t2 - tk;
    match *method {
        Method::P1 {
            alpha,
            beta,
            rs,
            kappa,
        } => {
            let i2 = i1 + isc1 * (g2 - gk) / g_isc + alpha * dt;
            (i2, v1 - rs * (i2 - i1) - kappa * i2 * dt + beta * dt)
        }
        Method::P2Ed2 {
            alpha_rel,
            beta_rel,
            a,
            rs,
            kappa,
        } => {
            let i2 = i1 * (1.0 + alpha_rel * dt) * g2 / gk;
            (
                i2,
                v1 + voc1 * (beta_rel * dt + a * (g2 / gk).ln()) - rs * (i2 - i1) - kappa * i2 * dt,
            )
        }
        Method::P2Ed3 {
            alpha_rel,
            beta_rel,
            voc_stc,
            b1,
            b2,
            rs,
            kappa,
            beta_term,
        } => {
            let f = |g: f64| {
                let x = (1000.0 / g).ln();
                1.0 + b1 * x + b2 * x * x
            };
            let voc = |g: f64, t: f64| {
                let fg = f(g);
                let beta_factor = match beta_term {
                    BetaTerm::TimesF => fg,
                    BetaTerm::DividedByF => 1.0 / fg,
                };
                voc_stc * (1.0 / fg + beta_rel * beta_factor * (t - 25.0))
            };
            let r = |t: f64| rs + kappa * (t - 25.0);
            let i2 =
                i1 * (g2 / gk) * (1.0 + alpha_rel * (t2 - 25.0)) / (1.0 + alpha_rel * (tk - 25.0));
            (i2, v1 + r(tk) * i1 - r(t2) * i2 + voc(g2, t2) - voc(gk, tk))
        }
        Method::P4 {
            alpha,
            epsilon,
            cells_in_series,
            rs,
        } => {
            let ip = i1 + isc1 * (g2 - gk) / g_isc;
            let vp = v1 - rs * (ip - i1);
            (
                ip + alpha * dt,
                vp + dt / (tk + 273.15) * (vp - epsilon * f64::from(cells_in_series)),
            )
        }
    }
}

/// Translate, then extract the translated curve's parameters (rectified, ASTM E1036).
pub fn translate_and_extract(
    data: &IvData,
    method: &Method,
    from: Option<Conditions>,
    to: Conditions,
) -> Result<(Translation, IvParameters), AnalysisError> {
    let t = translate(data, method, from, to)?;
    let p = extract(&t.data)?;
    Ok((t, p))
}

/// Procedure 3 [R; standards.md §1.6]: interpolate between two measured curves with weight
/// `a`: points are paired so that I2 − I1 = Isc2 − Isc1 (equal offset from each curve's own
/// Isc), then V3 = V1 + a·(V2 − V1), I3 = I1 + a·(Isc2 − Isc1). 0 ≤ a ≤ 1 interpolates;
/// outside, extrapolation distorts the curve (XU23) and a warning says so.
pub fn interpolate_pair(
    c1: &IvData,
    c2: &IvData,
    a: f64,
) -> Result<(IvData, Vec<Warning>), AnalysisError> {
    c1.validate()?;
    c2.validate()?;
    let p1 = extract(c1)?;
    let p2 = extract(c2)?;
    let (v1s, i1s) = rectify(&c1.voltage, &c1.current);
    let (v2s, i2s) = rectify(&c2.voltage, &c2.current);
    let offset = p2.i_sc - p1.i_sc;
    let mut v_out = Vec::with_capacity(v1s.len());
    let mut i_out = Vec::with_capacity(v1s.len());
    for (v1, i1) in v1s.iter().zip(&i1s) {
        let target = i1 + offset;
        // Curve 2's voltage at that current: I decreases with V on a rectified curve.
        let Some(v2) = voltage_at_current(&v2s, &i2s, target) else {
            continue;
        };
        v_out.push(v1 + a * (v2 - v1));
        i_out.push(i1 + a * offset);
    }
    if v_out.len() < super::curve::MIN_POINTS {
        return Err(AnalysisError::Invalid(
            "the two curves overlap in too few points to pair them (procedure 3)".into(),
        ));
    }
    let mut warnings = Vec::new();
    if !(0.0..=1.0).contains(&a) {
        warnings.push(Warning::Extrapolation { a });
    }
    Ok((IvData::new(v_out, i_out), warnings))
}

/// Linear interpolation of V at current `target` on a rectified curve (V ascending).
fn voltage_at_current(v: &[f64], i: &[f64], target: f64) -> Option<f64> {
    for k in 1..v.len() {
        let (ia, ib) = (i[k - 1], i[k]);
        if (ia >= target && ib <= target) || (ia <= target && ib >= target) {
            return Some(if ia == ib {
                v[k - 1]
            } else {
                v[k - 1] + (v[k] - v[k - 1]) * (target - ia) / (ib - ia)
            });
        }
    }
    None
}

/// Procedure 3 with two curves to target `to`: a from irradiance (if the curves differ in G)
/// or temperature; the other variable must then fall on the line between the curves.
pub fn procedure3_two(
    c1: (&IvData, Conditions),
    c2: (&IvData, Conditions),
    to: Conditions,
) -> Result<(IvData, Conditions, f64, Vec<Warning>), AnalysisError> {
    let (d1, k1) = c1;
    let (d2, k2) = c2;
    let dg = k2.irradiance - k1.irradiance;
    let dt = k2.temperature - k1.temperature;
    let a = if dg.abs() > 1.0 {
        (to.irradiance - k1.irradiance) / dg
    } else if dt.abs() > 0.1 {
        (to.temperature - k1.temperature) / dt
    } else {
        return Err(AnalysisError::Invalid("the two curves have the same irradiance and temperature; procedure 3 needs them to differ".into()));
    };
    let reached = Conditions {
        irradiance: k1.irradiance + a * dg,
        temperature: k1.temperature + a * dt,
    };
    if (reached.irradiance - to.irradiance).abs() > 0.01 * to.irradiance
        || (reached.temperature - to.temperature).abs() > 0.5
    {
        return Err(AnalysisError::Invalid(format!(
            "with two curves procedure 3 reaches only conditions on the line between them: a = {a:.3} gives {:.0} W/m², {:.1} °C instead of {:.0} W/m², {:.1} °C; give a third curve for independent G and T",
            reached.irradiance, reached.temperature, to.irradiance, to.temperature
        )));
    }
    let (curve, warnings) = interpolate_pair(d1, d2, a)?;
    Ok((curve, reached, a, warnings))
}

/// Procedure 3 with three curves for independent G and T: first interpolate in irradiance
/// between the two curves closest in temperature, then in temperature between that result
/// and the third curve (the rule applied twice, standards.md §1.6 [R]).
pub fn procedure3_three(
    curves: [(&IvData, Conditions); 3],
    to: Conditions,
) -> Result<(IvData, Conditions, Vec<Warning>), AnalysisError> {
    let pairs = [(0, 1, 2), (0, 2, 1), (1, 2, 0)];
    let &(i, j, k) = pairs
        .iter()
        .filter(|(i, j, _)| (curves[*i].1.irradiance - curves[*j].1.irradiance).abs() > 1.0)
        .min_by(|a, b| {
            let dt = |p: &(usize, usize, usize)| {
                (curves[p.0].1.temperature - curves[p.1].1.temperature).abs()
            };
            dt(a).total_cmp(&dt(b))
        })
        .ok_or_else(|| {
            AnalysisError::Invalid(
                "procedure 3 with three curves needs two of them at different irradiance".into(),
            )
        })?;
    let (ci, cj, ck) = (curves[i], curves[j], curves[k]);
    let a1 = (to.irradiance - ci.1.irradiance) / (cj.1.irradiance - ci.1.irradiance);
    let (step1, mut warnings) = interpolate_pair(ci.0, cj.0, a1)?;
    let mid = Conditions {
        irradiance: to.irradiance,
        temperature: ci.1.temperature + a1 * (cj.1.temperature - ci.1.temperature),
    };
    let dt = ck.1.temperature - mid.temperature;
    if dt.abs() < 0.1 {
        return Err(AnalysisError::Invalid("the third curve must be at a different temperature for the temperature step of procedure 3".into()));
    }
    let a2 = (to.temperature - mid.temperature) / dt;
    let (curve, w2) = interpolate_pair(&step1, ck.0, a2)?;
    warnings.extend(w2);
    let reached = Conditions {
        irradiance: mid.irradiance + a2 * (ck.1.irradiance - mid.irradiance),
        temperature: to.temperature,
    };
    if (reached.irradiance - to.irradiance).abs() > 0.01 * to.irradiance {
        warnings.push(Warning::OffTarget {
            reached: reached.irradiance,
            target: to.irradiance,
        });
    }
    Ok((curve, reached, warnings))
}
