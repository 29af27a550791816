//! The figures the HTML and the PDF renderings both show, drawn once from the report model:
//! I-V/P-V curves (measured solid, STC-translated dashed, legends a person reads: "sweep 1,
//! forward"), conditions over time, uncertainty contributions, battery-tester errors.

use serde_json::Value;

use super::model::Report;
use super::plot::{Trace, conditions_svg, contributions_svg, errors_svg, plot_iv_svg};
use super::text::{Text, g, gf};
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
    // Sweeps are numbered in the order they were measured; a dual sweep gives a forward and
    // a reverse curve under one number.
    let mut sweep = 0;
    let mut last_activity = None;
    let mut data: Vec<(String, IvData, bool)> = report
        .curves
        .iter()
        .filter_map(|c| {
            let (v, i) = c.columns()?;
            if last_activity != Some(c.activity) {
                sweep += 1;
                last_activity = Some(c.activity);
            }
            Some((
                format!("sweep {sweep}, {}, measured", show(&c.direction)),
                IvData::new(v, i),
                false,
            ))
        })
        .collect();
    for r in report.results.values() {
        for (k, (direction, v, i)) in r.translated_curves().into_iter().enumerate() {
            data.push((
                format!("sweep {}, {direction}, at STC", k / 2 + 1),
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
pub fn figures(report: &Report) -> Vec<(Text, String)> {
    let mut out = Vec::new();
    let series = &report.conditions.series;
    if let Ok(svg) = conditions_svg(
        &series.irradiance,
        &series.module_temperature,
        &series.stability_windows,
    ) {
        out.push((g("figure_conditions"), svg));
    }
    for (name, r) in &report.results {
        let Some(budget) = r.budget() else {
            continue;
        };
        let items: Vec<(String, f64)> = budget
            .iter()
            .map(|b| (b.name.clone(), b.contribution))
            .collect();
        // Only budgets with enough lines to be worth a chart; of the STC parameters, Pmax's.
        let other_stc = name.ends_with("_stc") && name != "p_mp_stc";
        if items.len() > 6
            && !other_stc
            && let Ok(svg) = contributions_svg(&items, &r.unit)
        {
            let title = g(name);
            let title = if title.en.starts_with('⟦') {
                Text::plain(name.clone())
            } else {
                title
            };
            out.push((
                Text {
                    zh: gf("figure_contributions", &[("name", &title.zh)]).zh,
                    en: gf("figure_contributions", &[("name", &title.en)]).en,
                },
                svg,
            ));
        }
    }
    for (prefix, quantity, unit, title) in [
        (
            "resistance ",
            "resistance (1 kHz)",
            "Ω",
            "figure_resistance",
        ),
        ("voltage ", "DC voltage", "V", "figure_voltage"),
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
            out.push((g(title), svg));
        }
    }
    out
}
