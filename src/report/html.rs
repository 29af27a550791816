//! The report as a self-contained HTML document (inline SVG figures, print CSS), readable on
//! screen and printable; it shows only what the model holds.

use super::content::{curves_svg, figures, number, opt, opt_display, rows};
use super::model::Report;

/// Escape text for HTML.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
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

/// The report as a self-contained HTML document.
pub fn html(report: &Report) -> String {
    let c = &report.certificate;
    let draft = c.draft;
    let mut body = String::new();
    body.push_str(&format!(
        "<header><h1>{}</h1><p class=\"number\">Certificate {} — revision {}{}</p></header>\n",
        esc(&report.title),
        esc(&c.number),
        c.revision,
        c.previous
            .as_deref()
            .map(|p| format!(" (replaces {})", esc(p)))
            .unwrap_or_default()
    ));
    let lab = &report.laboratory;
    body.push_str(&section(
        "Laboratory, customer and item",
        &table(
            &["", ""],
            &[
                vec!["Laboratory".into(), opt(&lab.name)],
                vec!["Address".into(), opt(&lab.address)],
                vec!["Location of the activity".into(), lab.location.clone()],
                vec![
                    "Customer".into(),
                    format!(
                        "{} <{}>",
                        opt(&report.customer),
                        opt(&report.customer_email)
                    ),
                ],
                vec!["Item".into(), opt(&report.item.identification)],
                vec!["Date of receipt".into(), opt_display(&report.dates.receipt)],
                vec![
                    "Date(s) of measurement".into(),
                    format!(
                        "{} – {}",
                        report.dates.measurement_start, report.dates.measurement_end
                    ),
                ],
                vec!["Date of issue".into(), report.dates.issue.to_string()],
            ],
        ),
    ));
    let m = &report.method;
    body.push_str(&section(
        "Method",
        &format!(
            "<p>Procedure <b>{}</b> ({}, SHA-256 <code>{}</code>), run <code>{}</code> by {} with {} {}.</p>\n<p>Parameters: <code>{}</code></p>\n",
            esc(&m.procedure),
            esc(&m.script),
            esc(&m.script_sha256),
            esc(&report.run.id),
            esc(&report.run.operator),
            esc(&report.run.software.name),
            esc(&report.run.software.version),
            esc(&m.parameters.to_string())
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
    let refs: Vec<Vec<String>> = report
        .traceability
        .iter()
        .map(|r| {
            let cert = &r.certificate;
            vec![
                r.id.clone(),
                r.description.clone(),
                r.serial_number.clone(),
                cert.number.clone(),
                cert.laboratory.clone(),
                format!(
                    "{} {} ± {} (k = {})",
                    number(cert.value),
                    cert.unit,
                    number(cert.expanded_uncertainty),
                    number(cert.coverage_factor)
                ),
                cert.calibration_date.to_string(),
                cert.due_date.to_string(),
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
    let statements: String = report
        .statements
        .iter()
        .map(|s| format!("<li>{}</li>", esc(s)))
        .collect();
    body.push_str(&section("Statements", &format!("<ul>{statements}</ul>\n")));
    body.push_str(&section(
        "Authorisation",
        &format!(
            "<p>{}, {}</p>\n<p>{} raw records, each identified by its SHA-256 in the JSON rendering of this certificate.</p>\n",
            esc(&opt(&report.signatory.name)),
            esc(&opt(&report.signatory.role)),
            report.raw_data.len()
        ),
    ));
    let watermark = if draft {
        "<div class=\"watermark\">DRAFT</div>\n"
    } else {
        ""
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} {}</title>\n<style>{STYLE}</style></head>\n<body>\n{watermark}{body}<footer>Certificate {} — end of certificate</footer>\n</body></html>\n",
        esc(&report.title),
        esc(&c.number),
        esc(&c.number)
    )
}

const STYLE: &str = "body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;max-width:60em;margin:2em auto;color:#111;background:#fff}\
h1{font-size:1.6em;margin-bottom:0}h2{font-size:1.15em;border-bottom:1px solid #999;margin-top:1.6em}\
table{border-collapse:collapse;width:100%;font-size:.9em}td,th{border:1px solid #bbb;padding:.25em .5em;text-align:left;vertical-align:top}\
th{background:#eee}code{font-size:.85em;word-break:break-all}figure{margin:0}svg{max-width:100%;height:auto}\
.number{font-weight:bold}.watermark{position:fixed;top:40%;left:10%;font-size:9em;color:rgba(200,0,0,.15);transform:rotate(-30deg);pointer-events:none}\
footer{margin-top:2em;font-size:.8em;color:#555}@media print{body{margin:0;max-width:none}section{break-inside:avoid}}";
