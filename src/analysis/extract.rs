//! I-V parameter extraction per ASTM E1036-15(2019) as pvlib implements it
//! (`pvlib.ivtools.utils.astm_e1036`, 0.16.1, adapted there from NREL `iv_params`;
//! standards.md §2.1 [V]).
//!
//! # Equations
//! - Voc: the point with the smallest |I|; if |I| ≤ 0.001·Isc,est its voltage, otherwise a
//!   least-squares line V(I) through the `voc_points` smallest-|I| points, evaluated at I = 0.
//! - Isc: the point with the smallest |V|; if |V| ≤ 0.005·Voc,est its current, otherwise a line
//!   I(V) through the `isc_points` smallest-|V| points at V = 0.
//! - Pmax: around the largest V·I point keep points with I ∈ [0.75, 1.15]·Imp,est and
//!   V ∈ [0.75, 1.15]·Vmp,est; fit P(V) with a 4th-order polynomial; Vmp = the real root of
//!   dP/dV strictly inside the window with the largest P; Pmp = P(Vmp); Imp = Pmp/Vmp;
//!   FF = Pmp/(Voc·Isc).
//! - Rs, Rsh (slope estimates, not single-diode parameters): Rs = −dV/dI of the line through
//!   the points near Voc; Rsh = −1/(dI/dV) of the line through the points near Isc [Ω].
//!
//! # References
//! ASTM E1036-15(2019), doi:10.1520/E1036-15R19; pvlib-python 0.16.1 `ivtools/utils.py`.
//!
//! # Deviations
//! - pvlib's own comment: finding Vmp as a root of dP/dV "differs from the suggestion in the
//!   standard"; the method is recorded with every result.
//! - Imp = Pmp/Vmp is pvlib's choice ("Imp isn't mentioned for update in the standard").

use serde::Serialize;

use super::AnalysisError;
use super::curve::{IvData, rectify_into};
use super::linalg::{LineFit, line_fit, polyfit};

/// Options of the extraction (pvlib's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ExtractOptions {
    /// Current window around the estimated MPP, fractions of Imp,est.
    pub imax_limits: (f64, f64),
    /// Voltage window around the estimated MPP, fractions of Vmp,est.
    pub vmax_limits: (f64, f64),
    /// Points of the line fit near Voc.
    pub voc_points: usize,
    /// Points of the line fit near Isc.
    pub isc_points: usize,
    /// Order of the polynomial P(V) around the MPP.
    pub mp_fit_order: usize,
    /// Compute the fit residual (a diagnostic; Monte Carlo trials skip it).
    pub diagnostics: bool,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        ExtractOptions {
            imax_limits: (0.75, 1.15),
            vmax_limits: (0.75, 1.15),
            voc_points: 3,
            isc_points: 3,
            mp_fit_order: 4,
            diagnostics: true,
        }
    }
}

/// Extracted parameters (pvlib key names, SI units).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IvParameters {
    /// Short-circuit current [A].
    pub i_sc: f64,
    /// Open-circuit voltage [V].
    pub v_oc: f64,
    /// Current at maximum power [A].
    pub i_mp: f64,
    /// Voltage at maximum power [V].
    pub v_mp: f64,
    /// Maximum power [W].
    pub p_mp: f64,
    /// Fill factor [1].
    pub ff: f64,
    /// Slope estimate of the series resistance near Voc [Ω].
    pub r_s: f64,
    /// Slope estimate of the shunt resistance near Isc [Ω].
    pub r_sh: f64,
    /// RMS residual of the P(V) polynomial fit [W].
    pub mp_fit_residual: f64,
    /// Points in the MPP window.
    pub mp_points: usize,
    /// Which points the maximum-power fit used (the largest-power point and the window's
    /// members, by index in the rectified curve), as a signature: Pmax is smooth in the data
    /// only while this stays the same, so a numerical derivative must not step across a change
    /// of it (uncertainty::gum).
    #[serde(skip)]
    pub mp_window: u64,
    /// Warnings about the data (extrapolation, sparse windows).
    pub flags: Vec<Flag>,
}

/// A warning about the data behind an extraction. Formatted only when shown (extraction runs
/// in tight loops: batches, Monte Carlo).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Flag {
    /// Isc is extrapolated: the point nearest V = 0 is at `voltage` [V], `fraction` of Voc.
    IscExtrapolated {
        /// [V]
        voltage: f64,
        /// [1]
        fraction: f64,
    },
    /// Voc is extrapolated: the smallest current is `current` [A], `fraction` of Isc.
    VocExtrapolated {
        /// [A]
        current: f64,
        /// [1]
        fraction: f64,
    },
    /// No line could be fitted near Voc (its points share one current): Voc and FF are
    /// missing (NaN; null in JSON), the other parameters are not.
    VocNotFitted,
    /// No line could be fitted near Isc (its points share one voltage): Isc and FF missing.
    IscNotFitted,
    /// Few points in the maximum-power window.
    FewMppPoints {
        /// Points found in the window (the fit needs more).
        points: usize,
    },
}

impl std::fmt::Display for Flag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Flag::IscExtrapolated { voltage, fraction } => {
                write!(
                    f,
                    "isc_extrapolated: first point at {voltage:.3} V ({:.1} % of Voc)",
                    100.0 * fraction
                )
            }
            Flag::VocExtrapolated { current, fraction } => {
                write!(
                    f,
                    "voc_extrapolated: smallest current {current:.4} A ({:.1} % of Isc)",
                    100.0 * fraction
                )
            }
            Flag::VocNotFitted => write!(
                f,
                "voc_not_fitted: the points nearest I = 0 share one current; Voc and FF are missing"
            ),
            Flag::IscNotFitted => write!(
                f,
                "isc_not_fitted: the points nearest V = 0 share one voltage; Isc and FF are missing"
            ),
            Flag::FewMppPoints { points } => write!(
                f,
                "few_mpp_points: {points} points in the maximum-power window"
            ),
        }
    }
}

impl Serialize for Flag {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Extract with default options from raw data (rectified first, as pvlib's recipe
/// `astm_e1036(*rectify_iv_curve(v, i))`).
pub fn extract(data: &IvData) -> Result<IvParameters, AnalysisError> {
    extract_with(&data.voltage, &data.current, &ExtractOptions::default())
}

/// Reusable buffers for extraction in tight loops (batches, Monte Carlo).
#[derive(Debug, Default)]
pub struct Workspace {
    v: Vec<f64>,
    i: Vec<f64>,
    wv: Vec<f64>,
    wp: Vec<f64>,
}

/// Extract from raw voltage/current (rectified first).
pub fn extract_with(
    voltage: &[f64],
    current: &[f64],
    options: &ExtractOptions,
) -> Result<IvParameters, AnalysisError> {
    let mut ws = Workspace::default();
    extract_in(&mut ws, voltage, current, options)
}

/// [`extract_with`] reusing `ws`'s buffers.
pub fn extract_in(
    ws: &mut Workspace,
    voltage: &[f64],
    current: &[f64],
    options: &ExtractOptions,
) -> Result<IvParameters, AnalysisError> {
    let Workspace { v, i, wv, wp } = ws;
    rectify_into(voltage, current, v, i);
    match extract_rectified(v, i, wv, wp, options) {
        // Most of the points outside the power quadrant: say that, not "only 1 point".
        Err(AnalysisError::TooFewPoints { points, needed })
            if voltage.len().min(current.len()) >= needed =>
        {
            Err(AnalysisError::Invalid(format!(
                "only {points} of {} points lie in the power quadrant (V ≥ 0 and I ≥ 0 in the generator convention) and a curve needs at least {needed} there; check the sign of the voltage and current (connection, or a load-convention file)",
                voltage.len().min(current.len())
            )))
        }
        other => other,
    }
}

/// Indices of the `k` smallest values of `key` (first occurrences first on ties, as
/// pandas `nsmallest`).
/// At most this many points in the axis fits (`voc_points`, `isc_points`).
const MAX_AXIS_POINTS: usize = 16;

/// Indices of the `k` (≤ 16) smallest values of `key`, ascending by key; first occurrences
/// first on ties, as pandas `nsmallest(keep="first")`. No allocation: extraction runs in tight
/// loops (batches, Monte Carlo).
fn smallest_k(
    values: &[f64],
    k: usize,
    key: impl Fn(f64) -> f64,
) -> ([usize; MAX_AXIS_POINTS], usize) {
    let k = k.clamp(1, MAX_AXIS_POINTS);
    let mut keys = [f64::INFINITY; MAX_AXIS_POINTS];
    let mut best = [0usize; MAX_AXIS_POINTS];
    let mut len = 0;
    for (idx, v) in values.iter().enumerate() {
        let kv = key(*v);
        // Most points are no better than the current k-th: one comparison.
        if len == k && kv >= keys[k - 1] {
            continue;
        }
        let mut pos = len.min(k - 1);
        while pos > 0 && keys[pos - 1] > kv {
            keys[pos] = keys[pos - 1];
            best[pos] = best[pos - 1];
            pos -= 1;
        }
        keys[pos] = kv;
        best[pos] = idx;
        len = (len + 1).min(k);
    }
    (best, len)
}

/// Least-squares line through the points `idx` of (x, y).
fn line_through(idx: &[usize], x: &[f64], y: &[f64]) -> Option<LineFit> {
    let mut xs = [0.0; MAX_AXIS_POINTS];
    let mut ys = [0.0; MAX_AXIS_POINTS];
    for (slot, &k) in idx.iter().enumerate() {
        xs[slot] = x[k];
        ys[slot] = y[k];
    }
    line_fit(&xs[..idx.len()], &ys[..idx.len()])
}

/// Isc and Voc of a rectified curve by the ASTM E1036 rules, with the line fits near the axes
/// and the extrapolation flags.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Axes {
    /// Short-circuit current [A].
    pub i_sc: f64,
    /// Open-circuit voltage [V].
    pub v_oc: f64,
    /// Slope estimate of Rs near Voc [Ω].
    pub r_s: f64,
    /// Slope estimate of Rsh near Isc [Ω].
    pub r_sh: f64,
    /// Extrapolation warnings.
    pub flags: Vec<Flag>,
}

/// [`Axes`] of a rectified curve (voltage ascending, first quadrant).
pub fn axes(v: &[f64], i: &[f64], o: &ExtractOptions) -> Result<Axes, AnalysisError> {
    let n = v.len();
    let needed = o.voc_points.max(o.isc_points).max(3);
    if n < needed {
        return Err(AnalysisError::TooFewPoints { points: n, needed });
    }
    // On a rectified curve (V ascending, ≥ 0) the points nearest V = 0 are the first ones; the
    // point nearest I = 0 is the first of the `voc_points` smallest |I| (ties keep the
    // earlier point, as pandas' idxmin and nsmallest do).
    let (near_voc, nv) = smallest_k(i, o.voc_points, f64::abs);
    let near_voc = &near_voc[..nv];
    let i_min = near_voc[0];
    let v_min = 0;
    let voc_est = v[i_min];
    let isc_est = i[v_min];
    let mut flags = Vec::new();

    // A line that cannot be fitted (its points share one current or voltage) leaves that axis
    // value missing (NaN, null in JSON) and flagged; every other parameter is still extracted
    // (partial results: the maximum power does not depend on Isc or Voc).
    let voc_line = line_through(near_voc, i, v);
    let v_oc = if i[i_min].abs() <= isc_est * 0.001 {
        voc_est
    } else {
        match voc_line {
            Some(line) => line.at(0.0),
            None => {
                flags.push(Flag::VocNotFitted);
                f64::NAN
            }
        }
    };
    let near_isc: [usize; MAX_AXIS_POINTS] = std::array::from_fn(|k| k);
    let isc_line = line_through(
        &near_isc[..o.isc_points.clamp(1, MAX_AXIS_POINTS).min(n)],
        v,
        i,
    );
    let i_sc = if v[v_min].abs() <= voc_est * 0.005 {
        isc_est
    } else {
        match isc_line {
            Some(line) => line.at(0.0),
            None => {
                flags.push(Flag::IscNotFitted);
                f64::NAN
            }
        }
    };
    // Extrapolation flags (standards.md §1.8 practical notes: a sweep starting above 2–3 %
    // of Voc makes Isc an extrapolation).
    if v[v_min].abs() > 0.02 * v_oc.abs() {
        flags.push(Flag::IscExtrapolated {
            voltage: v[v_min],
            fraction: v[v_min] / v_oc,
        });
    }
    if v_oc.is_finite() && i[i_min].abs() > 0.02 * i_sc.abs() {
        flags.push(Flag::VocExtrapolated {
            current: i[i_min],
            fraction: i[i_min] / i_sc,
        });
    }
    Ok(Axes {
        i_sc,
        v_oc,
        r_s: voc_line.map(|l| -l.slope).unwrap_or(f64::NAN),
        r_sh: isc_line.map(|l| -1.0 / l.slope).unwrap_or(f64::NAN),
        flags,
    })
}

fn extract_rectified(
    v: &[f64],
    i: &[f64],
    wv: &mut Vec<f64>,
    wp: &mut Vec<f64>,
    o: &ExtractOptions,
) -> Result<IvParameters, AnalysisError> {
    let n = v.len();
    let needed = (o.mp_fit_order + 1)
        .max(o.voc_points)
        .max(o.isc_points)
        .max(3);
    if n < needed {
        return Err(AnalysisError::TooFewPoints { points: n, needed });
    }
    let Axes {
        i_sc,
        v_oc,
        r_s,
        r_sh,
        mut flags,
    } = axes(v, i, o)?;
    let max_index = (0..n).fold(0, |best, k| {
        if v[k] * i[k] > v[best] * i[best] {
            k
        } else {
            best
        }
    });
    let (vm, im) = (v[max_index], i[max_index]);
    wv.clear();
    wp.clear();
    // FNV-1a over the largest-power index and the window's indices.
    let mix = |h: u64, k: usize| (h ^ k as u64).wrapping_mul(0x0000_0100_0000_01b3);
    let mut mp_window = mix(0xcbf2_9ce4_8422_2325, max_index);
    for k in 0..n {
        if i[k] >= o.imax_limits.0 * im
            && i[k] <= o.imax_limits.1 * im
            && v[k] >= o.vmax_limits.0 * vm
            && v[k] <= o.vmax_limits.1 * vm
        {
            wv.push(v[k]);
            wp.push(v[k] * i[k]);
            mp_window = mix(mp_window, k);
        }
    }
    if wv.len() < o.mp_fit_order + 1 {
        return Err(AnalysisError::SparseMaximum {
            points: wv.len(),
            needed: o.mp_fit_order + 1,
        });
    }
    if wv.len() < 2 * (o.mp_fit_order + 1) {
        flags.push(Flag::FewMppPoints { points: wv.len() });
    }
    let fit = polyfit(wv, wp, o.mp_fit_order).ok_or(AnalysisError::Invalid(
        "the maximum-power fit is singular".into(),
    ))?;
    let (lo, hi) = wv
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(*x), b.max(*x))
        });
    let roots = fit.stationary_points(lo, hi);
    let v_mp = roots
        .iter()
        .copied()
        .max_by(|a, b| fit.eval(*a).total_cmp(&fit.eval(*b)))
        .ok_or(AnalysisError::NoMaximum)?;
    let p_mp = fit.eval(v_mp);
    let i_mp = p_mp / v_mp;
    let ff = p_mp / (v_oc * i_sc);
    let residual = if o.diagnostics {
        (wv.iter()
            .zip(wp.iter())
            .map(|(x, p)| (p - fit.eval(*x)).powi(2))
            .sum::<f64>()
            / wv.len() as f64)
            .sqrt()
    } else {
        f64::NAN
    };
    Ok(IvParameters {
        i_sc,
        v_oc,
        i_mp,
        v_mp,
        p_mp,
        ff,
        r_s,
        r_sh,
        mp_fit_residual: residual,
        mp_points: wv.len(),
        mp_window,
        flags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ideal-diode-like curve I = Isc·(1 − exp((V − Voc)/a)) sampled densely.
    fn synthetic(points: usize) -> IvData {
        let (isc, voc, a) = (5.0, 40.0, 2.0);
        let v: Vec<f64> = (0..points)
            .map(|k| voc * k as f64 / (points - 1) as f64)
            .collect();
        let i = v
            .iter()
            .map(|v| isc * (1.0 - ((v - voc) / a).exp()))
            .collect();
        IvData::new(v, i)
    }

    #[test]
    fn extracts_axes_and_maximum() {
        let p = extract(&synthetic(401)).expect("extracts");
        assert!((p.i_sc - 5.0 * (1.0 - (-20f64).exp())).abs() < 1e-12);
        assert!((p.v_oc - 40.0).abs() < 1e-12);
        // Analytic MPP of this model: dP/dV = 0 ⇔ 1 − e^x(1 + V/a) = 0 with x = (V − Voc)/a.
        let f = |v: f64| 1.0 - ((v - 40.0) / 2.0).exp() * (1.0 + v / 2.0);
        let vmp = crate::analysis::linalg::bisect(f, 30.0, 39.0);
        let pmp = vmp * 5.0 * (1.0 - ((vmp - 40.0) / 2.0).exp());
        // pvlib 0.16.1 `astm_e1036(*rectify_iv_curve(v, i))` on the same 401 points
        // (tests/reference/synthetic_knee.json, written by tests/reference/generate.py): the
        // polynomial over this very sharp knee is 0.2 % above the model's true maximum — the
        // method's own bias, which pvlib shares.
        let pvlib: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/reference/synthetic_knee.json"))
                .expect("reference");
        for (name, ours, theirs) in [
            ("pmp", p.p_mp, "pmp"),
            ("vmp", p.v_mp, "vmp"),
            ("imp", p.i_mp, "imp"),
            ("voc", p.v_oc, "voc"),
            ("isc", p.i_sc, "isc"),
            ("ff", p.ff, "ff"),
        ] {
            let want = pvlib[theirs].as_f64().expect("value");
            assert!(
                ((ours - want) / want).abs() <= 1e-12,
                "{name}: {ours} vs {want}"
            );
        }
        assert!((p.p_mp - pmp).abs() / pmp < 3e-3, "{} vs {pmp}", p.p_mp);
        assert!((vmp - 34.0).abs() < 1.0);
        assert!(p.flags.is_empty(), "{:?}", p.flags);
    }

    /// Partial results (issue 15): a curve that stops before Voc on a flat current plateau
    /// (a tracer's current floor: its three smallest currents are equal, so no line V(I)
    /// fits) still gives Isc, Impp, Vmpp and Pmax; Voc and FF are missing and flagged, null
    /// in JSON.
    #[test]
    fn a_curve_without_a_voc_line_still_gives_its_maximum_power() {
        let full = synthetic(401);
        let mut v = Vec::new();
        let mut i = Vec::new();
        for (x, y) in full.voltage.iter().zip(&full.current) {
            if *x <= 39.0 {
                v.push(*x);
                i.push(*y);
            }
        }
        let floor = *i.last().expect("points");
        for k in 1..=3 {
            v.push(39.0 + 0.05 * k as f64);
            i.push(floor);
        }
        let whole = extract(&full).expect("whole");
        let p = extract(&IvData::new(v, i)).expect("partial");
        assert!(p.v_oc.is_nan() && p.ff.is_nan(), "{p:?}");
        assert_eq!(p.flags, vec![Flag::VocNotFitted]);
        assert!((p.p_mp - whole.p_mp).abs() < 1e-9 * whole.p_mp);
        assert!((p.i_sc - whole.i_sc).abs() < 1e-12);
        let json = serde_json::to_value(&p).expect("json");
        assert!(json["v_oc"].is_null() && json["ff"].is_null(), "{json}");
        assert!(
            json["flags"][0]
                .as_str()
                .expect("flag")
                .starts_with("voc_not_fitted")
        );
    }

    /// Regression (issue 11, defect 12): a 31-point curve measured with both signs reversed
    /// was reported as "only 1 point(s)".
    #[test]
    fn a_curve_outside_the_power_quadrant_says_so() {
        let v: Vec<f64> = (0..31).map(|k| -(k as f64)).collect();
        let i: Vec<f64> = (0..31).map(|k| 5.0 - 0.15 * k as f64).collect();
        let err = extract(&IvData::new(v, i))
            .expect_err("wrong quadrant")
            .to_string();
        assert!(
            err.contains("only 1 of 31 points lie in the power quadrant"),
            "{err}"
        );
    }

    #[test]
    fn sparse_windows_are_errors_not_panics() {
        let mut d = synthetic(401);
        d.voltage.truncate(9);
        d.current.truncate(9);
        assert!(extract(&d).is_err());
        assert!(matches!(
            extract(&IvData::new(vec![1.0], vec![1.0])),
            Err(AnalysisError::TooFewPoints { .. })
        ));
    }
}
