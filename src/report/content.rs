//! What the HTML and the PDF renderings both show, built once from the report model: numbers
//! and texts as printed, the table rows, and the figures (I-V/P-V curves, conditions over
//! time, uncertainty contributions, battery-tester errors).

use serde_json::Value;

use super::model::Report;
use super::plot::{Trace, conditions_svg, contributions_svg, errors_svg, plot_iv_svg};
use crate::analysis::curve::IvData;

/// A JSON value as display text (absent: an em dash).
pub fn show(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.as_f64().map(number).unwrap_or_else(|| n.to_string()),
        other => other.to_string(),
    }
}

/// Optional text (absent: an em dash).
pub fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "—".into())
}

/// Optional anything displayable (absent: an em dash).
pub fn opt_display<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "—".into(), T::to_string)
}

/// Six significant digits, no trailing noise.
pub fn number(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let e = x.abs().log10().floor() as i32;
    if (-3..6).contains(&e) {
        let decimals = (5 - e).max(0) as usize;
        let s = format!("{x:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        format!("{x:.5e}")
    }
}

/// The measured I-V curves and the procedure's STC translations (dashed) as an inline SVG
/// (none: empty).
pub fn curves_svg(report: &Report) -> String {
    let mut data: Vec<(String, IvData, bool)> = report
        .curves
        .iter()
        .filter_map(|c| {
            let (v, i) = c.columns()?;
            Some((
                format!("{} (activity {})", show(&c.direction), c.activity),
                IvData::new(v, i),
                false,
            ))
        })
        .collect();
    for r in report.results.values() {
        for (k, (direction, v, i)) in r.translated_curves().into_iter().enumerate() {
            data.push((
                format!("STC, {} {}", direction, k / 2 + 1),
                IvData::new(v, i),
                true,
            ));
        }
    }
    let traces: Vec<Trace> = data
        .iter()
        .map(|(label, d, dashed)| Trace {
            label: label.clone(),
            data: d,
            dashed: *dashed,
        })
        .collect();
    plot_iv_svg(&traces).unwrap_or_default()
}

/// The figures after the I-V curves: (title, SVG). Conditions over time with the stability
/// windows; each budget's contributions; the battery-tester errors against the standard
/// values with U and the MPE band.
pub fn figures(report: &Report) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let series = &report.conditions.series;
    if let Ok(svg) = conditions_svg(
        &series.irradiance,
        &series.module_temperature,
        &series.stability_windows,
    ) {
        out.push((
            "Irradiance and module temperature (shaded: stability windows)".to_string(),
            svg,
        ));
    }
    for (name, r) in &report.results {
        let Some(budget) = r.budget() else {
            continue;
        };
        let items: Vec<(String, f64)> = budget
            .iter()
            .map(|b| (b.name.clone(), b.contribution))
            .collect();
        // Only budgets with enough lines to be worth a chart.
        if items.len() > 6
            && let Ok(svg) = contributions_svg(&items, &r.unit)
        {
            out.push((format!("Uncertainty contributions: {name}"), svg));
        }
    }
    for (prefix, quantity, unit) in [
        ("resistance ", "resistance (1 kHz)", "Ω"),
        ("voltage ", "DC voltage", "V"),
    ] {
        let points: Vec<(f64, f64, f64, f64)> = report
            .results
            .iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .filter_map(|(_, r)| {
                Some((
                    r.number("nominal")?,
                    r.value_f64()?,
                    r.number("U")?,
                    r.number("mpe")?,
                ))
            })
            .collect();
        if let Ok(svg) = errors_svg(&points, quantity, unit) {
            out.push((format!("Error of indication: {quantity}"), svg));
        }
    }
    out
}

/// The table rows both the HTML and the PDF rendering show.
pub mod rows {
    use serde_json::Value;

    use super::{number, opt, show};
    use crate::report::model::Report;

    /// Conditions: quantity, range, unit; then the operator's answers.
    pub fn conditions(report: &Report) -> Vec<Vec<String>> {
        let mut out: Vec<Vec<String>> = report
            .conditions
            .measured
            .iter()
            .map(|c| {
                vec![
                    c.quantity.replace('_', " "),
                    format!("{} – {}", number(c.min), number(c.max)),
                    c.unit.clone(),
                ]
            })
            .collect();
        for (id, answer) in &report.conditions.operator_answers {
            out.push(vec![format!("operator: {id}"), show(answer), String::new()]);
        }
        out
    }

    /// Results: quantity, value, unit, U, k, verdict.
    pub fn results(report: &Report) -> Vec<Vec<String>> {
        report
            .results
            .iter()
            .map(|(name, r)| {
                let get = |k: &str| show(r.detail(k).unwrap_or(&Value::Null));
                vec![
                    name.clone(),
                    show(&r.value),
                    r.unit.clone(),
                    get("U"),
                    get("k"),
                    get("verdict"),
                ]
            })
            .collect()
    }

    /// The budgets of the results that have one: (result name, rows of input, estimate,
    /// unit, u(x), distribution, c, |c|·u, share).
    pub fn budgets(report: &Report) -> Vec<(String, Vec<Vec<String>>)> {
        report
            .results
            .iter()
            .filter_map(|(name, r)| {
                let rows = r
                    .budget()?
                    .iter()
                    .map(|b| {
                        vec![
                            b.name.clone(),
                            number(b.estimate),
                            opt(&b.unit),
                            number(b.u),
                            b.distribution.clone(),
                            number(b.sensitivity),
                            number(b.contribution),
                            format!("{:.1} %", b.share * 100.0),
                        ]
                    })
                    .collect();
                Some((name.clone(), rows))
            })
            .collect()
    }

    /// Conformity: result, verdict, decision rule.
    pub fn conformity(report: &Report) -> Vec<Vec<String>> {
        report
            .conformity
            .iter()
            .map(|c| {
                vec![
                    c.result.clone(),
                    show(&c.verdict),
                    c.rule.clone().unwrap_or(Value::Null).to_string(),
                ]
            })
            .collect()
    }

    /// Deviations: activity, kind, details.
    pub fn deviations(report: &Report) -> Vec<Vec<String>> {
        report
            .deviations
            .iter()
            .map(|d| vec![d.seq.to_string(), d.kind.clone(), d.details.to_string()])
            .collect()
    }

    /// Budget table header.
    pub const BUDGET_HEAD: [&str; 8] = [
        "Input",
        "Estimate",
        "Unit",
        "u(x)",
        "Distribution",
        "c",
        "|c|·u",
        "Share",
    ];
}
