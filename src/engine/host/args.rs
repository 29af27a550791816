//! Conversions between the script's values (Rhai `Dynamic`, maps, arrays) and the host's
//! typed arguments, in one place: every host function reads its arguments through these, so
//! a wrong argument reads the same way wherever it is given.

use rhai::{Array, Dynamic};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{HostResult, fail};
use crate::analysis::iec60891::Method;
use crate::engine::events::CurveData;
use crate::instruments::roles::{SweepMode, SweepSettings};
use crate::uncertainty::gum::GumResult;

/// A value for the script.
pub(super) fn to_dyn<T: Serialize>(v: &T) -> HostResult<Dynamic> {
    rhai::serde::to_dynamic(v)
}

/// A script value as a typed argument, naming `what` in errors.
pub(super) fn from_dyn<T: serde::de::DeserializeOwned>(what: &str, d: &Dynamic) -> HostResult<T> {
    let v: Value = rhai::serde::from_dynamic(d)?;
    serde_json::from_value(v).map_err(|e| format!("{what}: {e}").into())
}

/// A number argument (integer or float).
pub(super) fn num(what: &str, d: &Dynamic) -> HostResult<f64> {
    if let Ok(x) = d.as_float() {
        Ok(x)
    } else if let Ok(i) = d.as_int() {
        Ok(i as f64)
    } else {
        fail(format!("{what}: expected a number, got {}", d.type_name()))
    }
}

/// Sweep settings as scripts give them (every key optional).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepArgs {
    start: Option<f64>,
    stop: Option<f64>,
    points: Option<usize>,
    delay: Option<f64>,
    nplc: Option<f64>,
    current_limit: Option<f64>,
    four_wire: Option<bool>,
    mode: Option<String>,
    binary: Option<bool>,
}

/// Sweep settings from a script map (missing keys: defaults).
pub(super) fn sweep_settings(d: &Dynamic) -> HostResult<SweepSettings> {
    let a: SweepArgs = from_dyn("sweep settings", d)?;
    let def = SweepSettings::default();
    let mode = match a.mode.as_deref() {
        None | Some("forward") => SweepMode::Forward,
        Some("reverse") => SweepMode::Reverse,
        Some("dual") => SweepMode::Dual,
        Some(m) => return fail(format!("sweep mode `{m}`: use forward, reverse or dual")),
    };
    Ok(SweepSettings {
        start: a.start.unwrap_or(def.start),
        stop: a.stop.unwrap_or(def.stop),
        points: a.points.unwrap_or(def.points),
        delay: a.delay.unwrap_or(def.delay),
        nplc: a.nplc.unwrap_or(def.nplc),
        current_limit: a.current_limit.unwrap_or(def.current_limit),
        four_wire: a.four_wire.unwrap_or(def.four_wire),
        mode,
        binary: a.binary.unwrap_or(def.binary),
    })
}

/// An IEC 60891 method from a script map: `#{procedure: 1, alpha, beta, rs, kappa}` or
/// `#{procedure: 2, alpha_rel, beta_rel, a, rs, kappa}` or
/// `#{procedure: 4, alpha, epsilon, cells_in_series, rs}`.
pub(super) fn method(d: &Dynamic) -> HostResult<Method> {
    let v: Value = rhai::serde::from_dynamic(d)?;
    let f = |k: &str| -> HostResult<f64> {
        v.get(k)
            .and_then(Value::as_f64)
            .ok_or_else(|| format!("IEC 60891 method: `{k}` missing or not a number").into())
    };
    match v.get("procedure").and_then(Value::as_i64) {
        Some(1) => Ok(Method::P1 {
            alpha: f("alpha")?,
            beta: f("beta")?,
            rs: f("rs")?,
            kappa: f("kappa")?,
        }),
        Some(2) => Ok(Method::P2Ed2 {
            alpha_rel: f("alpha_rel")?,
            beta_rel: f("beta_rel")?,
            a: f("a")?,
            rs: f("rs")?,
            kappa: f("kappa")?,
        }),
        Some(4) => Ok(Method::P4 {
            alpha: f("alpha")?,
            epsilon: f("epsilon")?,
            cells_in_series: f("cells_in_series")? as u32,
            rs: f("rs")?,
        }),
        _ => fail("IEC 60891 method: `procedure` must be 1, 2 or 4"),
    }
}

/// A curve argument (`#{direction, start_time, voltage, current, time}`).
pub(super) fn curve_arg(d: &Dynamic) -> HostResult<CurveData> {
    from_dyn("curve", d)
}

/// A GUM result for the script.
pub(super) fn gum_value(r: &GumResult) -> HostResult<Dynamic> {
    to_dyn(r)
}

/// An array of numbers.
pub(super) fn floats(what: &str, a: &Array) -> HostResult<Vec<f64>> {
    a.iter().map(|d| num(what, d)).collect()
}

/// One curve of a parameter series, as scripts pass it.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct SeriesArg {
    pub curve: CurveData,
    pub irradiance: f64,
    pub temperature: f64,
}

/// A parameter series argument.
pub(super) fn series_arg(a: &Array) -> HostResult<Vec<SeriesArg>> {
    a.iter().map(|d| from_dyn("series curve", d)).collect()
}
