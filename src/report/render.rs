//! Renderers of the report model: JSON (complete, machine-readable) and HTML (self-contained
//! with inline SVG, readable on screen and printable). Both render only what the model holds.

use serde_json::Value;

use super::plot::{Trace, conditions_svg, contributions_svg, errors_svg, plot_iv_svg};
use crate::analysis::curve::IvData;

/// The model as pretty-printed JSON.
pub fn json(report: &Value) -> String {
    serde_json::to_string_pretty(report).unwrap_or_default()
}

/// Escape text for HTML.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A JSON value as display text.
pub fn show(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n
            .as_f64()
            .map(format_number)
            .unwrap_or_else(|| n.to_string()),
        other => other.to_string(),
    }
}

/// Six significant digits, no trailing noise.
fn format_number(x: f64) -> String {
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

fn row(cells: &[String]) -> String {
    let tds: String = cells
        .iter()
        .map(|c| format!("<td>{}</td>", esc(c)))
        .collect();
    format!("<tr>{tds}</tr>\n")
}

fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    let ths: String = head
        .iter()
        .map(|h| format!("<th>{}</th>", esc(h)))
        .collect();
    let body: String = rows.iter().map(|r| row(r)).collect();
    format!("<table><thead><tr>{ths}</tr></thead><tbody>\n{body}</tbody></table>\n")
}

fn section(title: &str, body: &str) -> String {
    format!("<section><h2>{}</h2>\n{body}</section>\n", esc(title))
}

/// The measured I-V curves in the model as an inline SVG (none: empty).
pub fn curves_svg(report: &Value) -> String {
    let nums = |c: &Value, k: &str| -> Option<Vec<f64>> {
        c[k].as_array()?.iter().map(Value::as_f64).collect()
    };
    let mut data: Vec<(String, IvData, bool)> = report["curves"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            Some((
                format!(
                    "{} (activity {})",
                    show(&c["direction"]),
                    show(&c["activity"])
                ),
                IvData::new(nums(c, "voltage")?, nums(c, "current")?),
                false,
            ))
        })
        .collect();
    // Curves translated to STC by the procedure (dashed).
    for r in report["results"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, r)| r)
    {
        for (k, c) in r["translated_curves"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let (Some(v), Some(i)) = (nums(c, "voltage"), nums(c, "current")) {
                data.push((
                    format!("STC, {} {}", show(&c["direction"]), k / 2 + 1),
                    IvData::new(v, i),
                    true,
                ));
            }
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

fn pairs(v: &Value) -> Vec<(f64, f64)> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p[0].as_f64()?, p[1].as_f64()?)))
        .collect()
}

/// The figures of a report after the I-V curves: (title, SVG). Conditions over time with the
/// stability windows; each budget's contributions; the battery-tester errors against the
/// standard values with U and the MPE band.
pub fn figures(report: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let series = &report["conditions"]["series"];
    if let Ok(svg) = conditions_svg(
        &pairs(&series["irradiance"]),
        &pairs(&series["module_temperature"]),
        &pairs(&series["stability_windows"]),
    ) {
        out.push((
            "Irradiance and module temperature (shaded: stability windows)".to_string(),
            svg,
        ));
    }
    for (name, r) in report["results"].as_object().into_iter().flatten() {
        let Some(budget) = r["budget"].as_array() else {
            continue;
        };
        let items: Vec<(String, f64)> = budget
            .iter()
            .filter_map(|b| Some((show(&b["name"]), b["contribution"].as_f64()?)))
            .collect();
        // Only budgets with enough lines to be worth a chart.
        if items.len() > 6
            && let Ok(svg) = contributions_svg(&items, r["unit"].as_str().unwrap_or(""))
        {
            out.push((format!("Uncertainty contributions: {name}"), svg));
        }
    }
    for (prefix, quantity, unit) in [
        ("resistance ", "resistance (1 kHz)", "Ω"),
        ("voltage ", "DC voltage", "V"),
    ] {
        let points: Vec<(f64, f64, f64, f64)> = report["results"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(name, _)| name.starts_with(prefix))
            .filter_map(|(_, r)| {
                Some((
                    r["nominal"].as_f64()?,
                    r["value"].as_f64()?,
                    r["U"].as_f64()?,
                    r["mpe"].as_f64()?,
                ))
            })
            .collect();
        if let Ok(svg) = errors_svg(&points, quantity, unit) {
            out.push((format!("Error of indication: {quantity}"), svg));
        }
    }
    out
}

/// The table rows both the HTML and the PDF rendering show, built once from the model.
pub mod rows {
    use serde_json::Value;

    use super::show;

    /// Conditions: quantity, range, unit; then the operator's answers.
    pub fn conditions(report: &Value) -> Vec<Vec<String>> {
        let mut out: Vec<Vec<String>> = report["conditions"]["measured"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                vec![
                    show(&c["quantity"]).replace('_', " "),
                    format!("{} – {}", show(&c["min"]), show(&c["max"])),
                    show(&c["unit"]),
                ]
            })
            .collect();
        for (id, answer) in report["conditions"]["operator_answers"]
            .as_object()
            .into_iter()
            .flatten()
        {
            out.push(vec![format!("operator: {id}"), show(answer), String::new()]);
        }
        out
    }

    /// Results: quantity, value, unit, U, k, verdict.
    pub fn results(report: &Value) -> Vec<Vec<String>> {
        report["results"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, r)| {
                vec![
                    name.clone(),
                    show(&r["value"]),
                    show(&r["unit"]),
                    show(&r["U"]),
                    show(&r["k"]),
                    show(r.get("verdict").unwrap_or(&Value::Null)),
                ]
            })
            .collect()
    }

    /// The budgets of the results that have one: (result name, rows of input, estimate,
    /// unit, u(x), distribution, c, |c|·u, share).
    pub fn budgets(report: &Value) -> Vec<(String, Vec<Vec<String>>)> {
        report["results"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(name, r)| {
                let rows = r["budget"]
                    .as_array()?
                    .iter()
                    .map(|b| {
                        vec![
                            show(&b["name"]),
                            show(&b["estimate"]),
                            show(&b["unit"]),
                            show(&b["u"]),
                            show(&b["distribution"]),
                            show(&b["sensitivity"]),
                            show(&b["contribution"]),
                            format!("{:.1} %", b["share"].as_f64().unwrap_or(0.0) * 100.0),
                        ]
                    })
                    .collect();
                Some((name.clone(), rows))
            })
            .collect()
    }

    /// Conformity: result, verdict, decision rule.
    pub fn conformity(report: &Value) -> Vec<Vec<String>> {
        report["conformity"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                vec![
                    show(&c["result"]),
                    show(&c["verdict"]),
                    c["rule"].to_string(),
                ]
            })
            .collect()
    }

    /// Deviations: activity, kind, details.
    pub fn deviations(report: &Value) -> Vec<Vec<String>> {
        report["deviations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| {
                vec![
                    show(&d["activity"]),
                    show(&d["kind"]),
                    d["details"].to_string(),
                ]
            })
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

/// The report as a self-contained HTML document.
pub fn html(report: &Value) -> String {
    let c = &report["certificate"];
    let draft = c["draft"] == true;
    let mut body = String::new();
    body.push_str(&format!(
        "<header><h1>{}</h1><p class=\"number\">Certificate {} — revision {}{}</p></header>\n",
        esc(&show(&report["title"])),
        esc(&show(&c["number"])),
        esc(&show(&c["revision"])),
        c["previous"]
            .as_str()
            .map(|p| format!(" (replaces {})", esc(p)))
            .unwrap_or_default()
    ));
    let lab = &report["laboratory"];
    body.push_str(&section(
        "Laboratory, customer and item",
        &table(
            &["", ""],
            &[
                vec!["Laboratory".into(), show(&lab["name"])],
                vec!["Address".into(), show(&lab["address"])],
                vec!["Location of the activity".into(), show(&lab["location"])],
                vec![
                    "Customer".into(),
                    format!(
                        "{} <{}>",
                        show(&report["customer"]),
                        show(&report["customer_email"])
                    ),
                ],
                vec!["Item".into(), show(&report["item"]["identification"])],
                vec!["Date of receipt".into(), show(&report["dates"]["receipt"])],
                vec![
                    "Date(s) of measurement".into(),
                    format!(
                        "{} – {}",
                        show(&report["dates"]["measurement_start"]),
                        show(&report["dates"]["measurement_end"])
                    ),
                ],
                vec!["Date of issue".into(), show(&report["dates"]["issue"])],
            ],
        ),
    ));
    let m = &report["method"];
    body.push_str(&section(
        "Method",
        &format!(
            "<p>Procedure <b>{}</b> ({}, SHA-256 <code>{}</code>), run <code>{}</code> by {} with {} {}.</p>\n<p>Parameters: <code>{}</code></p>\n",
            esc(&show(&m["procedure"])),
            esc(&show(&m["script"])),
            esc(&show(&m["script_sha256"])),
            esc(&show(&report["run"]["id"])),
            esc(&show(&report["run"]["operator"])),
            esc(&show(&report["run"]["software"]["name"])),
            esc(&show(&report["run"]["software"]["version"])),
            esc(&m["parameters"].to_string())
        ),
    ));
    let conditions = rows::conditions(report);
    body.push_str(&section(
        "Conditions during the measurement",
        &table(&["Quantity", "Range", "Unit"], &conditions),
    ));
    let results = rows::results(report);
    body.push_str(&section(
        "Results",
        &table(
            &[
                "Quantity",
                "Value",
                "Unit",
                "Expanded uncertainty U",
                "k",
                "Verdict",
            ],
            &results,
        ),
    ));
    let svg = curves_svg(report);
    if !svg.is_empty() {
        body.push_str(&section(
            "Measured and STC-translated I-V and P-V curves",
            &format!("<figure>{svg}</figure>\n"),
        ));
    }
    for (title, svg) in figures(report) {
        body.push_str(&section(&title, &format!("<figure>{svg}</figure>\n")));
    }
    for (name, budget) in rows::budgets(report) {
        body.push_str(&section(
            &format!("Uncertainty budget: {name}"),
            &table(&rows::BUDGET_HEAD, &budget),
        ));
    }
    let refs: Vec<Vec<String>> = report["traceability"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let cert = &r["certificate"];
            vec![
                show(&r["id"]),
                show(&r["description"]),
                show(&r["serial_number"]),
                show(&cert["number"]),
                show(&cert["laboratory"]),
                format!(
                    "{} {} ± {} (k = {})",
                    show(&cert["value"]),
                    show(&cert["unit"]),
                    show(&cert["expanded_uncertainty"]),
                    show(&cert["coverage_factor"])
                ),
                show(&cert["calibration_date"]),
                show(&cert["due_date"]),
            ]
        })
        .collect();
    body.push_str(&section(
        "Metrological traceability",
        &format!(
            "<p>The results are traceable to the SI through the reference standards below, calibrated by the laboratories named.</p>\n{}",
            table(
                &["Reference", "Description", "Serial", "Certificate", "Issued by", "Value", "Calibrated", "Due"],
                &refs
            )
        ),
    ));
    let conformity = rows::conformity(report);
    body.push_str(&section(
        "Statement of conformity",
        &table(
            &["Result", "Verdict", "Decision rule (ILAC-G8:09/2019)"],
            &conformity,
        ),
    ));
    let deviations = rows::deviations(report);
    body.push_str(&section(
        "Deviations and interruptions",
        &if deviations.is_empty() {
            "<p>None.</p>\n".to_string()
        } else {
            table(&["Activity", "Kind", "Details"], &deviations)
        },
    ));
    let statements: String = report["statements"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| format!("<li>{}</li>", esc(&show(s))))
        .collect();
    body.push_str(&section("Statements", &format!("<ul>{statements}</ul>\n")));
    body.push_str(&section(
        "Authorisation",
        &format!(
            "<p>{}, {}</p>\n<p>{} raw records, each identified by its SHA-256 in the JSON rendering of this certificate.</p>\n",
            esc(&show(&report["signatory"]["name"])),
            esc(&show(&report["signatory"]["role"])),
            report["raw_data"].as_array().map(Vec::len).unwrap_or(0)
        ),
    ));
    let watermark = if draft {
        "<div class=\"watermark\">DRAFT</div>\n"
    } else {
        ""
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} {}</title>\n<style>{STYLE}</style></head>\n<body>\n{watermark}{body}<footer>Certificate {} — end of certificate</footer>\n</body></html>\n",
        esc(&show(&report["title"])),
        esc(&show(&c["number"])),
        esc(&show(&c["number"]))
    )
}

const STYLE: &str = "body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;max-width:60em;margin:2em auto;color:#111;background:#fff}\
h1{font-size:1.6em;margin-bottom:0}h2{font-size:1.15em;border-bottom:1px solid #999;margin-top:1.6em}\
table{border-collapse:collapse;width:100%;font-size:.9em}td,th{border:1px solid #bbb;padding:.25em .5em;text-align:left;vertical-align:top}\
th{background:#eee}code{font-size:.85em;word-break:break-all}figure{margin:0}svg{max-width:100%;height:auto}\
.number{font-weight:bold}.watermark{position:fixed;top:40%;left:10%;font-size:9em;color:rgba(200,0,0,.15);transform:rotate(-30deg);pointer-events:none}\
footer{margin-top:2em;font-size:.8em;color:#555}@media print{body{margin:0;max-width:none}section{break-inside:avoid}}";
