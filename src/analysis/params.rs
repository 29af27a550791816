//! Determination of IEC 60891 correction parameters and temperature coefficients from
//! measured series (standards.md §1.8).
//!
//! # Methods
//! - Procedure 1 Rs [X: MPL `pvl_est_Rs_IEC60891_1.m`; wording R]: curves at one temperature
//!   and different irradiances are translated with κ = 0 to the conditions of the
//!   highest-irradiance curve; Rs minimises the spread of the translated Pmax, measured as
//!   max |Pmp,i − median| / median (MPL's objective).
//! - Procedure 1 κ [X: MPL `pvl_est_kappa_IEC60891_1.m`]: curves at one irradiance and
//!   different temperatures, translated with the known Rs to one temperature; κ minimises
//!   the same spread.
//! - Procedure 2 (Ed. 2) [V: MPL `pvl_est_Rs_IEC60891_2.m`, `pvl_est_kappa_IEC60891_2.m`]:
//!   a minimises the spread of translated *Voc* (R's = κ' = 0); then R's the Pmax spread;
//!   then κ' from the temperature series.
//! - α, β, γ [V: IEC 60904-10 / IEC 61853-1 practice]: ordinary least-squares slopes of Isc,
//!   Voc, Pmp against temperature at one irradiance, with their standard uncertainties.
//!
//! # Deviations
//! - MPL searches with `fminsearch` from 0; here a grid scan over a bracket plus
//!   golden-section refinement (the objective is not smooth), which finds the global minimum
//!   in the bracket.
//! - The temperature series is translated to the curve closest to 25 °C by default (MPL's
//!   comment says the minimum temperature, its code the maximum). The choice matters: κ
//!   multiplies the translated current and ΔT, so a κ meant for translations to STC should
//!   be fitted towards 25 °C — on the CS5P-220M series this gives the reference 0.0093 Ω/K,
//!   towards 70 °C 0.0088 Ω/K. The target can be given explicitly.

use serde::Serialize;

use super::AnalysisError;
use super::curve::IvData;
use super::extract::extract;
use super::iec60891::{Conditions, Method, translate_and_extract};
use super::linalg::{line_fit, minimise_1d};

/// One curve of a series with its measured conditions.
#[derive(Debug, Clone, Copy)]
pub struct SeriesCurve<'a> {
    /// The curve.
    pub data: &'a IvData,
    /// Its measured (mean) conditions.
    pub conditions: Conditions,
}

/// A fitted parameter and the agreement it achieves.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ParameterFit {
    /// The fitted value.
    pub value: f64,
    /// Achieved spread: max |x_i − median| / median of the translated quantity [1].
    pub spread: f64,
    /// Curves used.
    pub curves: usize,
}

/// max |x − median| / |median|.
pub fn spread(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::INFINITY;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        0.5 * (sorted[n / 2 - 1] + sorted[n / 2])
    };
    values
        .iter()
        .map(|v| (v - median).abs())
        .fold(0.0, f64::max)
        / median.abs()
}

fn need(series: &[SeriesCurve], what: &str) -> Result<(), AnalysisError> {
    if series.len() < 3 {
        return Err(AnalysisError::Invalid(format!(
            "{what} needs at least 3 curves (IEC 60891 Ed. 2 practice), got {}",
            series.len()
        )));
    }
    Ok(())
}

fn target_by(series: &[SeriesCurve], key: impl Fn(&Conditions) -> f64) -> Conditions {
    series
        .iter()
        .map(|c| c.conditions)
        .max_by(|a, b| key(a).total_cmp(&key(b)))
        .unwrap_or(Conditions::STC)
}

/// Spread of translated Pmax (or Voc) of a series for one method; a curve that fails to
/// translate makes the candidate infinitely bad.
fn translated_spread(
    series: &[SeriesCurve],
    method: &Method,
    to: Conditions,
    use_voc: bool,
) -> f64 {
    let mut values = Vec::with_capacity(series.len());
    for c in series {
        match translate_and_extract(c.data, method, Some(c.conditions), to) {
            Ok((_, p)) => values.push(if use_voc { p.v_oc } else { p.p_mp }),
            Err(_) => return f64::INFINITY,
        }
    }
    spread(&values)
}

/// A bracket for resistances: up to half of the device's Voc/Isc [Ω].
fn resistance_scale(series: &[SeriesCurve]) -> Result<f64, AnalysisError> {
    let p = extract(series[0].data)?;
    Ok(p.v_oc / p.i_sc)
}

/// Procedure 1 Rs from an irradiance series (κ = 0).
pub fn fit_p1_rs(
    series: &[SeriesCurve],
    alpha: f64,
    beta: f64,
) -> Result<ParameterFit, AnalysisError> {
    need(series, "Rs determination")?;
    let to = target_by(series, |c| c.irradiance);
    let scale = resistance_scale(series)?;
    let (rs, s) = minimise_1d(
        |rs| {
            translated_spread(
                series,
                &Method::P1 {
                    alpha,
                    beta,
                    rs,
                    kappa: 0.0,
                },
                to,
                false,
            )
        },
        0.0,
        0.5 * scale,
        201,
        1e-7 * scale,
    );
    Ok(ParameterFit {
        value: rs,
        spread: s,
        curves: series.len(),
    })
}

/// The series curve closest to `temperature` [°C], or to 25 °C.
fn temperature_target(series: &[SeriesCurve], temperature: Option<f64>) -> Conditions {
    let t = temperature.unwrap_or(25.0);
    target_by(series, |c| -(c.temperature - t).abs())
}

/// Procedure 1 κ from a temperature series with known Rs, translating towards the curve
/// closest to `target_temperature` (default 25 °C) [°C].
pub fn fit_p1_kappa(
    series: &[SeriesCurve],
    alpha: f64,
    beta: f64,
    rs: f64,
    target_temperature: Option<f64>,
) -> Result<ParameterFit, AnalysisError> {
    need(series, "κ determination")?;
    let to = temperature_target(series, target_temperature);
    let span = series
        .iter()
        .map(|c| (c.conditions.temperature - to.temperature).abs())
        .fold(0.0, f64::max);
    if span < 5.0 {
        return Err(AnalysisError::Invalid(format!(
            "κ needs a temperature span; the series spans only {span:.1} K"
        )));
    }
    let scale = resistance_scale(series)? / span;
    let (kappa, s) = minimise_1d(
        |kappa| {
            translated_spread(
                series,
                &Method::P1 {
                    alpha,
                    beta,
                    rs,
                    kappa,
                },
                to,
                false,
            )
        },
        -0.5 * scale,
        0.5 * scale,
        201,
        1e-8 * scale,
    );
    Ok(ParameterFit {
        value: kappa,
        spread: s,
        curves: series.len(),
    })
}

/// Procedure 2 (Ed. 2) parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Procedure2Fit {
    /// a from the translated Voc spread.
    pub a: ParameterFit,
    /// R's from the Pmax spread.
    pub rs: ParameterFit,
    /// κ' from the temperature series.
    pub kappa: ParameterFit,
}

/// Procedure 2 (Ed. 2): a, R's from an irradiance series, κ' from a temperature series.
pub fn fit_p2(
    irradiance_series: &[SeriesCurve],
    temperature_series: &[SeriesCurve],
    alpha_rel: f64,
    beta_rel: f64,
) -> Result<Procedure2Fit, AnalysisError> {
    need(irradiance_series, "a and R's determination")?;
    need(temperature_series, "κ' determination")?;
    let to = target_by(irradiance_series, |c| c.irradiance);
    let (a, sa) = minimise_1d(
        |a| {
            translated_spread(
                irradiance_series,
                &Method::P2Ed2 {
                    alpha_rel,
                    beta_rel,
                    a,
                    rs: 0.0,
                    kappa: 0.0,
                },
                to,
                true,
            )
        },
        -0.2,
        0.3,
        201,
        1e-8,
    );
    let scale = resistance_scale(irradiance_series)?;
    let (rs, srs) = minimise_1d(
        |rs| {
            translated_spread(
                irradiance_series,
                &Method::P2Ed2 {
                    alpha_rel,
                    beta_rel,
                    a,
                    rs,
                    kappa: 0.0,
                },
                to,
                false,
            )
        },
        0.0,
        0.5 * scale,
        201,
        1e-7 * scale,
    );
    let to_t = temperature_target(temperature_series, None);
    let span = temperature_series
        .iter()
        .map(|c| (c.conditions.temperature - to_t.temperature).abs())
        .fold(0.0, f64::max)
        .max(1.0);
    let kscale = scale / span;
    let (kappa, sk) = minimise_1d(
        |kappa| {
            translated_spread(
                temperature_series,
                &Method::P2Ed2 {
                    alpha_rel,
                    beta_rel,
                    a,
                    rs,
                    kappa,
                },
                to_t,
                false,
            )
        },
        -0.5 * kscale,
        0.5 * kscale,
        201,
        1e-8 * kscale,
    );
    Ok(Procedure2Fit {
        a: ParameterFit {
            value: a,
            spread: sa,
            curves: irradiance_series.len(),
        },
        rs: ParameterFit {
            value: rs,
            spread: srs,
            curves: irradiance_series.len(),
        },
        kappa: ParameterFit {
            value: kappa,
            spread: sk,
            curves: temperature_series.len(),
        },
    })
}

/// A temperature coefficient with its standard uncertainty.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Coefficient {
    /// Absolute coefficient [unit/K].
    pub value: f64,
    /// Its standard uncertainty [unit/K].
    pub u: f64,
    /// Relative to the fitted value at 25 °C [1/K].
    pub relative: f64,
    /// Its standard uncertainty [1/K].
    pub u_relative: f64,
}

/// α (Isc), β (Voc), γ (Pmp) from a temperature series at one irradiance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TemperatureCoefficients {
    /// α [A/K].
    pub alpha_isc: Coefficient,
    /// β [V/K].
    pub beta_voc: Coefficient,
    /// γ [W/K].
    pub gamma_pmp: Coefficient,
    /// Curves used.
    pub curves: usize,
    /// Temperature span [K].
    pub temperature_span: f64,
    /// Largest relative deviation of a curve's irradiance from the series mean [1].
    pub irradiance_spread: f64,
}

/// Linear regression of Isc, Voc and Pmp against temperature (OLS slope and its standard
/// uncertainty; relative coefficients divided by the fitted value at 25 °C, with the
/// uncertainty of the slope only — the intercept's correlation is small near 25 °C).
pub fn temperature_coefficients(
    series: &[SeriesCurve],
) -> Result<TemperatureCoefficients, AnalysisError> {
    need(series, "temperature coefficients")?;
    let t: Vec<f64> = series.iter().map(|c| c.conditions.temperature).collect();
    let (tmin, tmax) = t
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(*x), b.max(*x))
        });
    if tmax - tmin < 5.0 {
        return Err(AnalysisError::Invalid(format!(
            "temperature coefficients need a temperature span; the series spans {:.1} K",
            tmax - tmin
        )));
    }
    let params: Vec<_> = series
        .iter()
        .map(|c| extract(c.data))
        .collect::<Result<_, _>>()?;
    let g: Vec<f64> = series.iter().map(|c| c.conditions.irradiance).collect();
    let coefficient = |y: Vec<f64>| -> Result<Coefficient, AnalysisError> {
        let f = line_fit(&t, &y).ok_or(AnalysisError::Invalid("regression failed".into()))?;
        let at25 = f.at(25.0);
        Ok(Coefficient {
            value: f.slope,
            u: f.u_slope,
            relative: f.slope / at25,
            u_relative: f.u_slope / at25.abs(),
        })
    };
    Ok(TemperatureCoefficients {
        alpha_isc: coefficient(params.iter().map(|p| p.i_sc).collect())?,
        beta_voc: coefficient(params.iter().map(|p| p.v_oc).collect())?,
        gamma_pmp: coefficient(params.iter().map(|p| p.p_mp).collect())?,
        curves: series.len(),
        temperature_span: tmax - tmin,
        irradiance_spread: spread(&g),
    })
}
