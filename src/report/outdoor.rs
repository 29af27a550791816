//! The method paragraphs of an outdoor Pmax certificate that outdoor-pmax ≥ 1.3.0 states from
//! its recorded results rather than from procedure parameters: the cell-temperature method
//! and its cross-check, the correction parameters of the module file with their u and source,
//! the Monte Carlo validation of the budget (JCGM 101 §8), the sweep's stop voltage, the
//! systematic effects corrected (reference drift, angular response).

use serde_json::Value;

use super::document::{param, param_text, trim_zeros};
use super::model::Report;
use super::text::{Text, gf};
use crate::model::stated::significant;

/// The cell-temperature paragraph: outdoor-pmax ≥ 1.3.0 states its method (back-of-module
/// sensors + ΔT·G/1000, or ECT) and the cross-check; earlier runs a fixed back-to-cell offset.
pub(super) fn temperature_method(r: &Report) -> Text {
    let Some(e) = r.results.get("cell_temperature") else {
        return gf(
            "method_temperature",
            &[("back_to_cell", &param_text(r, "back_to_cell"))],
        );
    };
    let text = |x: Option<f64>, digits: i32| {
        x.and_then(|x| significant(x, digits))
            .map(|s| trim_zeros(&s))
            .unwrap_or_else(|| "—".into())
    };
    // The largest |back − ECT| over the sweeps, and its limit.
    let (difference, limit) = e
        .detail("each")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter().fold((0.0f64, f64::INFINITY), |(d, l), s| {
                (
                    d.max(s["difference"].as_f64().unwrap_or(0.0).abs()),
                    l.min(s["limit"].as_f64().unwrap_or(f64::INFINITY)),
                )
            })
        })
        .unwrap_or((0.0, f64::INFINITY));
    let model = e.detail("model");
    let args = [
        (
            "delta_t",
            text(model.and_then(|m| m["delta_t"].as_f64()), 3),
        ),
        (
            "half_width",
            text(model.and_then(|m| m["half_width"].as_f64()), 2),
        ),
        (
            "source",
            model
                .and_then(|m| m["source"].as_str())
                .unwrap_or("—")
                .to_string(),
        ),
        ("difference", text(Some(difference), 2)),
        ("limit", text(limit.is_finite().then_some(limit), 2)),
    ];
    let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
    match e.detail("method").and_then(Value::as_str) {
        Some("ect") => gf("method_temperature_ect", &args),
        _ => gf("method_temperature_model", &args),
    }
}

/// The known systematic effects the run corrected (outdoor-pmax ≥ 1.3.0 with a reference
/// history or an angular response; JCGM 100:2008 3.2.4): the reference cell's drift since
/// calibration and the module/cell angular-response difference, read from the Pmax budget's
/// estimates (the corrections applied), each a sentence; None when none was applied.
pub(super) fn corrections(r: &Report, cell: &str) -> Option<Text> {
    let budget = r.results.get("p_mp_stc")?.budget()?;
    let percent = |name: &str| {
        budget
            .iter()
            .find(|l| l.name == name && l.estimate != 0.0)
            .and_then(|l| significant(l.estimate * 100.0, 2))
            .map(|s| {
                let s = trim_zeros(&s);
                if s.starts_with('-') {
                    s
                } else {
                    format!("+{s}")
                }
            })
    };
    let mut text: Option<Text> = None;
    for part in [
        percent("cv_drift").map(|d| gf("method_drift_corrected", &[("cell", cell), ("drift", &d)])),
        percent("angular_response").map(|a| gf("method_angular_corrected", &[("angular", &a)])),
    ]
    .into_iter()
    .flatten()
    {
        text = Some(match text {
            None => part,
            Some(t) => Text {
                zh: format!("{}{}", t.zh, part.zh),
                en: format!("{} {}", t.en, part.en),
            },
        });
    }
    text
}

/// The Monte Carlo validation of the Pmax budget (outdoor-pmax ≥ 1.3.0, JCGM 101 §8): whether
/// it validated the GUM interval, and the interval stated when it did not.
pub(super) fn monte_carlo(r: &Report) -> Option<Text> {
    let e = r.results.get("p_mp_stc")?;
    let mc = e.detail("mcm")?;
    let number = |x: Option<f64>| {
        x.and_then(|x| significant(x, 2))
            .unwrap_or_else(|| "—".into())
    };
    let trials = mc["trials"].as_u64()?.to_string();
    let common = [
        ("trials", trials),
        ("d_low", number(mc["d_low"].as_f64())),
        ("d_high", number(mc["d_high"].as_f64())),
        ("delta", number(mc["delta"].as_f64())),
    ];
    let interval = e.detail("interval").and_then(Value::as_array);
    let bound = |k: usize| {
        interval
            .and_then(|a| a.get(k))
            .and_then(Value::as_f64)
            .and_then(|x| significant(x, 5))
            .unwrap_or_else(|| "—".into())
    };
    if mc["validated"].as_bool()? {
        let args: Vec<(&str, &str)> = common.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Some(gf("method_mcm_validated", &args))
    } else {
        let mut all = common.to_vec();
        all.extend([("low", bound(0)), ("high", bound(1))]);
        let args: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Some(gf("method_mcm_not_validated", &args))
    }
}

/// The sweep's stop voltage: the parameter, or (0, outdoor-pmax ≥ 1.3.0) 1.05 × the module's
/// Voc at STC.
pub(super) fn stop_voltage(r: &Report) -> String {
    match param(r, "stop_voltage") {
        Some(0.0) => r
            .results
            .get("module")
            .and_then(|e| e.detail("module"))
            .and_then(|m| m["voc_stc"].as_f64())
            .and_then(|voc| significant(1.05 * voc, 4))
            .map(|s| trim_zeros(&s))
            .unwrap_or_else(|| "—".into()),
        _ => param_text(r, "stop_voltage"),
    }
}

/// The correction parameters with their u, from the module file a run used (outdoor-pmax
/// ≥ 1.3.0 records it as the `module` result); None for earlier runs.
pub(super) fn module_parameters(r: &Report) -> Option<String> {
    let e = r.results.get("module")?;
    let c = e.detail("correction")?;
    let u: Vec<f64> = e
        .detail("u_parameters")?
        .as_array()?
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    let names: &[(&str, &str, &str)] = match c["procedure"].as_i64()? {
        1 => &[
            ("alpha", "α", "A/K"),
            ("beta", "β", "V/K"),
            ("rs", "Rs", "Ω"),
            ("kappa", "κ", "Ω/K"),
        ],
        2 => &[
            ("alpha_rel", "α_rel", "1/K"),
            ("beta_rel", "β_rel", "1/K"),
            ("a", "a", ""),
            ("rs", "R's", "Ω"),
            ("kappa", "κ'", "Ω/K"),
        ],
        4 => &[
            ("alpha", "α", "A/K"),
            ("epsilon", "ε", "V"),
            ("rs", "Rs", "Ω"),
        ],
        _ => return None,
    };
    let number = |x: f64, digits: i32| {
        significant(x, digits)
            .map(|s| trim_zeros(&s))
            .unwrap_or_else(|| x.to_string())
    };
    let parts: Vec<String> = names
        .iter()
        .zip(&u)
        .map(|((key, symbol, unit), u)| {
            let value = c[*key]
                .as_f64()
                .map(|x| number(x, 4))
                .unwrap_or_else(|| "—".into());
            let unit = if unit.is_empty() {
                String::new()
            } else {
                format!(" {unit}")
            };
            format!("{symbol} = {value}{unit} (u = {}{unit})", number(*u, 2))
        })
        .collect();
    let source = e.detail("source").and_then(Value::as_str).unwrap_or("—");
    Some(format!(
        "{}: {} [{source}]",
        e.value.as_str().unwrap_or("—"),
        parts.join("; ")
    ))
}
