//! The certificate as a reader sees it, built once from the report model and shown by both the
//! PDF and the HTML renderings: cover (identity, customer, item, dates, laboratory,
//! signatories), calibration basis and method in words, the standards and instruments with
//! their calibrations, the environment, the results as stated (GUM 7.2.6 rounding), the
//! statements of conformity with their rule, zone and risk (ILAC-G8), diagnostics kept apart
//! from results, the figures, the budgets as an annex, and the fixed statements. Every label
//! comes from the glossary (`text`), in the certificate's language(s).

use serde_json::Value;

use super::content::{curves_svg, figures};
use super::model::{Conformity, Report, ResultEntry};
use super::outdoor::{
    corrections, module_parameters, monte_carlo, stop_voltage, temperature_method,
};
use super::text::{Lang, Text, g, gf};
use crate::model::stated::{Prefix, Stated, fixed, percent_up, significant};

/// A block of the certificate.
#[derive(Debug, Clone)]
pub enum Block {
    /// A section heading.
    Heading(Text),
    /// A paragraph.
    Para(Text),
    /// Label → value pairs.
    Fields(Vec<(Text, Text)>),
    /// A table.
    Table(Table),
    /// A figure: title and SVG.
    Figure(Text, String),
    /// The three signatures: (function, name, date).
    Signatures(Vec<(Text, String, String)>),
}

/// A table: header, relative column widths, rows; `small` for dense annex tables.
#[derive(Debug, Clone)]
pub struct Table {
    /// Column headers.
    pub head: Vec<Text>,
    /// Relative widths.
    pub widths: Vec<f32>,
    /// Rows of cells.
    pub rows: Vec<Vec<Text>>,
    /// Dense (annex) table.
    pub small: bool,
}

/// The certificate, ready to lay out.
#[derive(Debug, Clone)]
pub struct Doc {
    /// Language(s).
    pub lang: Lang,
    /// Title.
    pub title: Text,
    /// Certificate number.
    pub number: String,
    /// The laboratory's name (page header).
    pub laboratory: Text,
    /// Blocks in order.
    pub blocks: Vec<Block>,
    /// A draft.
    pub draft: bool,
}

pub(super) fn p(t: impl Into<String>) -> Text {
    Text::plain(t)
}

fn opt(v: &Option<String>) -> Text {
    v.as_deref()
        .filter(|s| !s.trim().is_empty())
        .map_or_else(|| g("not_stated"), p)
}

fn both(en: &Option<String>, zh: &Option<String>) -> Text {
    match (en, zh) {
        (Some(en), Some(zh)) => Text {
            zh: zh.clone(),
            en: en.clone(),
        },
        _ => opt(en),
    }
}

/// The language of a report (its `language`; unknown text: English).
pub fn lang_of(report: &Report) -> Lang {
    Lang::parse(&report.language).unwrap_or_default()
}

/// The result names of the outdoor STC parameters, in the order a certificate states them.
pub const STC_RESULTS: [&str; 6] = [
    "p_mp_stc", "i_sc_stc", "v_oc_stc", "i_mp_stc", "v_mp_stc", "ff_stc",
];

/// The stated form of a result (None: no uncertainty).
pub fn stated(r: &ResultEntry) -> Option<Stated> {
    r.detail("reported")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
}

/// A verdict's text.
fn verdict(v: &Value) -> Text {
    match v.as_str() {
        Some(k @ ("pass" | "fail" | "conditionalPass" | "conditionalFail")) => g(k),
        Some(other) => p(other),
        None => g("not_stated"),
    }
}

/// Build the certificate's document.
pub fn document(report: &Report) -> Doc {
    let lang = lang_of(report);
    let mut b: Vec<Block> = Vec::new();
    cover(report, &mut b);
    method(report, &mut b);
    standards(report, &mut b);
    environment(report, &mut b);
    results(report, &mut b);
    conformity(report, &mut b);
    diagnostics(report, &mut b);
    let svg = curves_svg(report);
    if !svg.is_empty() {
        b.push(Block::Figure(g("figure_curves"), svg));
    }
    for (title, svg) in figures(report) {
        b.push(Block::Figure(title, svg));
    }
    super::annex::budgets(report, &mut b);
    notes(report, &mut b);
    Doc {
        lang,
        title: if report.certificate.draft {
            g("draft_title")
        } else {
            g("certificate_title")
        },
        number: report.certificate.number.clone(),
        laboratory: both(&report.laboratory.name, &report.laboratory.name_zh),
        blocks: b,
        draft: report.certificate.draft,
    }
}

fn cover(r: &Report, b: &mut Vec<Block>) {
    let c = &r.certificate;
    let mut number = p(c.number.clone());
    if let Some(prev) = &c.previous {
        let rev = gf(
            "revision_of",
            &[("revision", &c.revision.to_string()), ("previous", prev)],
        );
        number = Text::join(&[number, rev], " — ");
    }
    let lab = &r.laboratory;
    let mut fields = vec![
        (g("certificate_no"), number),
        (g("customer"), opt(&r.customer)),
        (g("customer_contact"), opt(&r.customer_email)),
        (g("item"), opt(&r.item.identification)),
        (g("item_model"), opt(&r.item.model)),
        (g("item_serial"), opt(&r.item.serial_number)),
        (g("item_manufacturer"), opt(&r.item.manufacturer)),
        (
            g("date_receipt"),
            r.dates
                .receipt
                .map_or_else(|| g("not_stated"), |d| p(d.to_string())),
        ),
        (
            g("date_calibration"),
            if r.dates.measurement_start == r.dates.measurement_end {
                p(r.dates.measurement_start.to_string())
            } else {
                p(format!(
                    "{} – {}",
                    r.dates.measurement_start, r.dates.measurement_end
                ))
            },
        ),
        (g("date_issue"), p(r.dates.issue.to_string())),
        (g("laboratory"), both(&lab.name, &lab.name_zh)),
        (g("address"), both(&lab.address, &lab.address_zh)),
        (
            g("location"),
            g(if r.method.procedure == "bit-calibration" {
                "location_bench"
            } else {
                "location_outdoor"
            }),
        ),
    ];
    if let Some(a) = &lab.accreditation {
        fields.push((
            g("accreditation"),
            gf(
                "accreditation_text",
                &[("body", &a.body), ("number", &a.number)],
            ),
        ));
    }
    b.push(Block::Fields(fields));
    b.push(Block::Signatures(
        r.signatories
            .iter()
            .map(|s| {
                (
                    g(&s.function),
                    s.name.clone().unwrap_or_else(|| "—".into()),
                    s.date.to_string(),
                )
            })
            .collect(),
    ));
}

/// The parameters of the run, as numbers.
pub(super) fn param(r: &Report, key: &str) -> Option<f64> {
    r.method.parameters.get(key).and_then(Value::as_f64)
}

pub(super) fn param_text(r: &Report, key: &str) -> String {
    match r.method.parameters.get(key) {
        Some(Value::Number(n)) => n
            .as_f64()
            .and_then(|x| significant(x, 4))
            .map(|s| trim_zeros(&s))
            .unwrap_or_else(|| n.to_string()),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => "—".into(),
    }
}

/// "0.004500" → "0.0045"; "62.00" → "62".
pub(super) fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

fn method(r: &Report, b: &mut Vec<Block>) {
    b.push(Block::Heading(g("calibration_basis")));
    b.push(Block::Para(p(r.method.standards.join("; "))));
    b.push(Block::Heading(g("method")));
    let m = &r.method;
    let short_hash: String = m.script_sha256.chars().take(16).collect();
    b.push(Block::Para(gf(
        "procedure_line",
        &[
            ("procedure", &m.procedure),
            ("version", m.version.as_deref().unwrap_or("—")),
            ("hash", &short_hash),
            ("operator", &r.run.operator),
            (
                "software",
                &format!("{} {}", r.run.software.name, r.run.software.version),
            ),
            ("run", &r.run.id),
        ],
    )));
    match m.procedure.as_str() {
        "outdoor-pmax" => {
            let correction = param_text(r, "correction");
            b.push(Block::Para(gf(
                "method_outdoor",
                &[
                    ("sweeps", &param_text(r, "sweeps")),
                    ("correction", &correction),
                ],
            )));
            let cell = r
                .traceability
                .iter()
                .find(|t| t.kind == "reference_cell")
                .map(|t| format!("{} ({})", t.id, t.serial_number))
                .unwrap_or_else(|| "—".into());
            // The mismatch factor measured with each sweep (outdoor-pmax ≥ 1.2.0 with a
            // spectroradiometer), else the procedure's parameter.
            let measured = r.results.get("spectral_mismatch").and_then(|e| {
                // u with two significant digits, the trailing zero kept (GUM 7.2.6).
                let smm = significant(e.value_f64()?, 4).map(|s| trim_zeros(&s))?;
                Some((smm, significant(e.number("u")?, 2)?))
            });
            let stated = r
                .results
                .get("spectral_mismatch")
                .and_then(|e| e.detail("stated"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            b.push(Block::Para(match measured {
                Some((smm, u_smm)) if stated => gf(
                    "method_irradiance_stated",
                    &[("cell", &cell), ("smm", &smm), ("u_smm", &u_smm)],
                ),
                Some((smm, u_smm)) => gf(
                    "method_irradiance_measured",
                    &[("cell", &cell), ("smm", &smm), ("u_smm", &u_smm)],
                ),
                None => gf(
                    "method_irradiance",
                    &[
                        ("cell", &cell),
                        ("smm", &param_text(r, "smm")),
                        ("u_smm", &param_text(r, "u_smm")),
                    ],
                ),
            }));
            if let Some(text) = corrections(r, &cell) {
                b.push(Block::Para(text));
            }
            b.push(Block::Para(temperature_method(r)));
            let parameters = match module_parameters(r) {
                Some(text) => text,
                None => match correction.as_str() {
                    "2" => format!(
                        "α_rel, β_rel from α = {} A/K, β = {} V/K; a = {}; R's = {} Ω; κ' = {} Ω/K",
                        param_text(r, "alpha"),
                        param_text(r, "beta"),
                        param_text(r, "a"),
                        param_text(r, "rs"),
                        param_text(r, "kappa")
                    ),
                    "4" => format!(
                        "α = {} A/K; ε = {} V; Ns = {}; Rs = {} Ω",
                        param_text(r, "alpha"),
                        param_text(r, "epsilon"),
                        param_text(r, "cells_in_series"),
                        param_text(r, "rs")
                    ),
                    _ => format!(
                        "α = {} A/K (u = {}); β = {} V/K (u = {}); Rs = {} Ω (u = {}); κ = {} Ω/K (u = {})",
                        param_text(r, "alpha"),
                        param_text(r, "u_alpha"),
                        param_text(r, "beta"),
                        param_text(r, "u_beta"),
                        param_text(r, "rs"),
                        param_text(r, "u_rs"),
                        param_text(r, "kappa"),
                        param_text(r, "u_kappa")
                    ),
                },
            };
            b.push(Block::Para(gf(
                "method_translation",
                &[("parameters", &parameters)],
            )));
            b.push(Block::Para(g("method_uncertainty")));
            if let Some(text) = monte_carlo(r) {
                b.push(Block::Para(text));
            }
            let row = |k: &str, v: String| vec![g(k), p(v)];
            b.push(Block::Heading(g("sweep_settings")));
            b.push(Block::Table(Table {
                head: vec![g("setting"), g("value")],
                widths: vec![2.0, 3.0],
                rows: vec![
                    vec![g("sweep_mode"), g("sweep_mode_value")],
                    row("sweep_count", param_text(r, "sweeps")),
                    row("sweep_points", param_text(r, "points")),
                    row(
                        "sweep_range",
                        format!(
                            "{} V … {} V",
                            param_text(r, "start_voltage"),
                            stop_voltage(r)
                        ),
                    ),
                    row("sweep_nplc", format!("{} PLC", param_text(r, "nplc"))),
                    row(
                        "sweep_delay",
                        format!(
                            "{} ms",
                            param(r, "delay")
                                .and_then(|d| significant(d * 1e3, 3))
                                .map(|s| trim_zeros(&s))
                                .unwrap_or_else(|| "—".into())
                        ),
                    ),
                    row(
                        "sweep_limit",
                        format!("{} A", param_text(r, "current_limit")),
                    ),
                ],
                small: false,
            }));
        }
        "bit-calibration" => {
            b.push(Block::Para(gf(
                "method_tester",
                &[
                    ("readings", &param_text(r, "readings")),
                    ("mpe_r", &param_text(r, "mpe_r_reading")),
                    ("mpe_r_digits", &param_text(r, "mpe_r_digits")),
                    ("mpe_v", &param_text(r, "mpe_v_reading")),
                    ("mpe_v_digits", &param_text(r, "mpe_v_digits")),
                ],
            )));
            b.push(Block::Para(g("method_uncertainty_tester")));
        }
        _ => b.push(Block::Para(g("method_uncertainty_tester"))),
    }
}

fn standards(r: &Report, b: &mut Vec<Block>) {
    b.push(Block::Heading(g("main_standards")));
    b.push(Block::Para(g("traceability_text")));
    // Standards of a kind in ascending value (1 mΩ before 10 mΩ).
    let mut references: Vec<&super::model::Traceability> = r.traceability.iter().collect();
    references.sort_by(|a, b| {
        (a.kind.as_str(), a.certificate.value)
            .partial_cmp(&(b.kind.as_str(), b.certificate.value))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut rows: Vec<Vec<Text>> = references
        .iter()
        .map(|t| {
            let c = &t.certificate;
            let prefix = Prefix::for_magnitude(&c.unit, c.value);
            let value = Stated::scaled(
                c.value,
                c.expanded_uncertainty,
                c.coverage_factor,
                &c.unit,
                prefix,
            )
            .map(|s| {
                let unit = if s.unit == "1" {
                    String::new()
                } else {
                    format!(" {}", s.unit)
                };
                format!("{}{unit}, U = {}{unit} (k = {})", s.value, s.expanded, s.k)
            })
            .unwrap_or_else(|| format!("{} {}", c.value, c.unit));
            vec![
                p(t.description.clone()),
                p(format!("{} / {}", t.id, t.serial_number)),
                p(value),
                p(c.number.clone()),
                p(c.laboratory.clone()),
                p(c.due_date.to_string()),
            ]
        })
        .collect();
    for c in &r.instrument_calibrations {
        rows.push(vec![
            p(c.item.clone()),
            p(c.instrument.clone()),
            p(format!("({})", c.role.replace('_', " "))),
            p(c.number.clone()),
            p(c.laboratory.clone()),
            p(c.due_date.to_string()),
        ]);
    }
    b.push(Block::Table(Table {
        head: vec![
            g("standard_name"),
            g("standard_id"),
            g("standard_value"),
            g("standard_certificate"),
            g("standard_lab"),
            g("valid_until"),
        ],
        widths: vec![2.1, 1.3, 1.7, 1.6, 1.6, 0.9],
        rows,
        small: true,
    }));
}

fn environment(r: &Report, b: &mut Vec<Block>) {
    b.push(Block::Heading(g("environment")));
    let mut rows: Vec<Vec<Text>> = r
        .conditions
        .measured
        .iter()
        .map(|c| {
            // Irradiance to 1 W/m², temperatures to 0.1 °C: the resolution that matters here.
            let decimals = if c.unit == "W/m²" { 0 } else { 1 };
            let f = |x: f64| fixed(x, decimals).unwrap_or_else(|| x.to_string());
            vec![
                g(&c.quantity),
                p(format!("{} … {} {}", f(c.min), f(c.max), c.unit)),
            ]
        })
        .collect();
    for (id, unit) in [("lab_temperature", " °C"), ("lab_humidity", " %")] {
        let Some(answer) = r.conditions.operator_answers.get(id) else {
            continue;
        };
        let text = answer
            .as_str()
            .map_or_else(|| answer.to_string(), str::to_string);
        rows.push(vec![g(id), p(format!("{text}{unit}"))]);
    }
    b.push(Block::Table(Table {
        head: vec![g("quantity"), g("range")],
        widths: vec![2.0, 3.0],
        rows,
        small: false,
    }));
}

fn results(r: &Report, b: &mut Vec<Block>) {
    b.push(Block::Heading(g("results")));
    let stc: Vec<(&str, &ResultEntry)> = STC_RESULTS
        .iter()
        .filter_map(|k| r.results.get(*k).map(|e| (*k, e)))
        .collect();
    if !stc.is_empty() {
        b.push(Block::Para(g("stc_statement")));
        let rows = stc
            .iter()
            .map(|(k, e)| {
                let s = stated(e);
                let relative = if *k == "p_mp_stc" {
                    e.value_f64()
                        .zip(e.number("U"))
                        .and_then(|(v, u)| percent_up(u, v))
                        .map(|t| format!("{t} %"))
                        .unwrap_or_default()
                } else {
                    String::new()
                };
                let unit = s.as_ref().map(|s| s.unit.clone()).unwrap_or(e.unit.clone());
                let probability = e
                    .number("coverage_probability")
                    .map(|x| format!("{} %", trim_zeros(&fixed(x * 100.0, 1).unwrap_or_default())))
                    .unwrap_or_default();
                vec![
                    g(k),
                    p(s.as_ref().map(|s| s.value.clone()).unwrap_or_default()),
                    p(s.as_ref().map(|s| s.expanded.clone()).unwrap_or_default()),
                    p(if unit == "1" { String::new() } else { unit }),
                    p(relative),
                    p(s.map(|s| s.k).unwrap_or_default()),
                    p(probability),
                ]
            })
            .collect();
        b.push(Block::Table(Table {
            head: vec![
                g("quantity"),
                g("result_value"),
                g("expanded_uncertainty"),
                g("unit"),
                g("relative_u"),
                g("coverage_factor"),
                g("coverage_probability"),
            ],
            widths: vec![2.4, 1.1, 1.4, 0.6, 1.1, 1.0, 1.0],
            rows,
            small: false,
        }));
    }
    for (prefix, title) in [
        ("resistance ", "function_resistance"),
        ("voltage ", "function_voltage"),
    ] {
        let mut points: Vec<&ResultEntry> = r
            .results
            .iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .map(|(_, e)| e)
            .collect();
        if points.is_empty() {
            continue;
        }
        // Numerical order of the standard's value, not the names' alphabetical order.
        points.sort_by(|a, b| {
            let n = |e: &ResultEntry| e.number("nominal").unwrap_or(f64::INFINITY);
            n(a).total_cmp(&n(b))
        });
        let rows = points.iter().map(|e| point_row(e)).collect();
        b.push(Block::Heading(g(title)));
        b.push(Block::Table(Table {
            head: vec![
                g("nominal"),
                g("standard_value_short"),
                g("indication"),
                g("error_of_indication"),
                g("mpe"),
                g("u_with_k"),
                g("verdict"),
            ],
            widths: vec![1.0, 1.4, 1.4, 1.3, 1.1, 1.4, 1.2],
            rows,
            small: false,
        }));
    }
    b.push(Block::Para(g("uncertainty_statement")));
}

/// One calibration point: nominal, standard's value, indication, error, MPE, U (k), verdict,
/// in the unit (with prefix) of its stated error.
fn point_row(e: &ResultEntry) -> Vec<Text> {
    let standard = e.number("nominal").unwrap_or(f64::NAN);
    let prefix = Prefix::for_magnitude(&e.unit, standard);
    let f = prefix.factor();
    let unit = format!("{}{}", prefix.symbol(), e.unit);
    let s = stated(e);
    let decimals = s
        .as_ref()
        .map(|s| s.expanded.split('.').nth(1).map_or(0, |d| d.len() as i32))
        .unwrap_or(6);
    // The standard's value to one digit beyond the stated error's, the indication to its.
    let at = |x: f64| fixed(x / f, decimals + 1).unwrap_or_else(|| "—".into());
    let shown = |x: f64| fixed(x / f, decimals).unwrap_or_else(|| "—".into());
    let nominal = significant(standard / f, 1).unwrap_or_else(|| "—".into());
    vec![
        p(format!("{nominal} {unit}")),
        p(format!("{} {unit}", at(standard))),
        p(format!(
            "{} {unit}",
            e.number("mean").map(shown).unwrap_or_else(|| "—".into())
        )),
        p(s.as_ref()
            .map(|s| format!("{} {}", s.value, s.unit))
            .unwrap_or_default()),
        p(e.number("mpe")
            .and_then(|m| significant(m / f, 2))
            .map(|m| format!("±{m} {unit}"))
            .unwrap_or_default()),
        p(s.as_ref()
            .map(|s| format!("{} {} ({})", s.expanded, s.unit, s.k))
            .unwrap_or_default()),
        verdict(e.detail("verdict").unwrap_or(&Value::Null)),
    ]
}

fn conformity(r: &Report, b: &mut Vec<Block>) {
    // The summary statements (the Pmax rating, the tester over all points); per-point
    // verdicts are in the results tables.
    let summaries: Vec<&Conformity> = r
        .conformity
        .iter()
        .filter(|c| c.result == "conformity")
        .collect();
    if summaries.is_empty() {
        return;
    }
    b.push(Block::Heading(g("conformity")));
    for c in summaries {
        let entry = r.results.get(&c.result);
        let spec = match (c.nominal, c.limits) {
            (Some((nominal, tolerance)), Some((lo, hi))) => gf(
                "spec_nameplate",
                &[
                    (
                        "nominal",
                        &trim_zeros(&significant(nominal, 6).unwrap_or_default()),
                    ),
                    (
                        "tolerance",
                        &trim_zeros(&significant(tolerance * 100.0, 3).unwrap_or_default()),
                    ),
                    (
                        "lower",
                        &trim_zeros(&significant(lo, 6).unwrap_or_default()),
                    ),
                    (
                        "upper",
                        &trim_zeros(&significant(hi, 6).unwrap_or_default()),
                    ),
                ],
            ),
            _ => g("spec_mpe"),
        };
        let rule = match c.rule_name.as_deref() {
            Some("guarded") => g("rule_guarded"),
            Some("non_binary") => g("rule_non_binary"),
            _ => g("rule_simple"),
        };
        // The acceptance zone: the Pmax decision records it; for the tester it is ±MPE at
        // each point (simple acceptance) or ±(MPE − U).
        let pmax_decision = r
            .results
            .get("conformity")
            .and_then(|e| e.detail("decision"))
            .cloned()
            .unwrap_or(Value::Null);
        let zone = pmax_decision["acceptance"]["lower"]
            .as_f64()
            .zip(pmax_decision["acceptance"]["upper"].as_f64());
        let decimals = r
            .results
            .get("p_mp_stc")
            .and_then(stated)
            .map(|s| s.value.split('.').nth(1).map_or(0, |d| d.len() as i32))
            .unwrap_or(2);
        let zone_text = match zone {
            Some((lo, hi)) => p(format!(
                "{} W … {} W",
                fixed(lo, decimals).unwrap_or_default(),
                fixed(hi, decimals).unwrap_or_default()
            )),
            None => g("spec_mpe"),
        };
        let pfa = pmax_decision["probability_wrong_decision"]
            .as_f64()
            .or_else(|| {
                // The tester: the largest specific risk over the points it accepted.
                r.results
                    .values()
                    .filter(|e| e.detail("verdict").and_then(Value::as_str) == Some("pass"))
                    .filter_map(|e| e.detail("decision")?["probability_wrong_decision"].as_f64())
                    .reduce(f64::max)
            })
            .map(|x| trim_zeros(&significant(x * 100.0, 2).unwrap_or_default()))
            .unwrap_or_else(|| "—".into());
        let risk = match c.rule_name.as_deref() {
            Some("guarded") => gf("pfa_guarded", &[("pfa", &pfa)]),
            Some("non_binary") => gf("pfa_non_binary", &[("pfa", &pfa)]),
            _ => gf("pfa_simple", &[("pfa", &pfa)]),
        };
        let mut v = verdict(&c.verdict);
        if let Some(e) = entry
            && let (Some(points), Some(failed)) = (e.number("points"), e.number("not_passed"))
        {
            let scope = if failed > 0.0 {
                gf("points_not_passed", &[("n", &format!("{failed}"))])
            } else {
                gf("all_points", &[("points", &format!("{points}"))])
            };
            v = Text::join(&[v, scope], "; ");
        }
        b.push(Block::Fields(vec![
            (g("specification"), spec),
            (g("decision_rule"), rule),
            (g("acceptance_zone"), zone_text),
            (g("false_acceptance"), risk),
            (g("verdict"), v),
        ]));
    }
}

fn diagnostics(r: &Report, b: &mut Vec<Block>) {
    let hysteresis: Vec<(&String, &ResultEntry)> = r
        .results
        .iter()
        .filter(|(k, _)| k.starts_with("hysteresis_"))
        .collect();
    if hysteresis.is_empty() && r.deviations.is_empty() {
        return;
    }
    b.push(Block::Heading(g("diagnostics")));
    if !hysteresis.is_empty() {
        b.push(Block::Para(g("hysteresis_meaning")));
        let w = |e: &ResultEntry, k: &str| {
            e.number(k)
                .and_then(|x| fixed(x, 2))
                .map(|s| format!("{s} W"))
                .unwrap_or_default()
        };
        let rows = hysteresis
            .iter()
            .map(|(k, e)| {
                vec![
                    p(k.trim_start_matches("hysteresis_").to_string()),
                    p(w(e, "p_mp_forward")),
                    p(w(e, "p_mp_reverse")),
                    p(e.value_f64()
                        .and_then(|x| fixed(x * 100.0, 3))
                        .map(|s| format!("{s} %"))
                        .unwrap_or_default()),
                ]
            })
            .collect();
        b.push(Block::Table(Table {
            head: vec![
                g("sweep"),
                g("p_forward"),
                g("p_reverse"),
                g("relative_difference"),
            ],
            widths: vec![0.8, 1.5, 1.5, 1.5],
            rows,
            small: false,
        }));
    }
    b.push(Block::Heading(g("deviations")));
    if r.deviations.is_empty() {
        b.push(Block::Para(g("none")));
    } else {
        b.push(Block::Para(g("deviations_meaning")));
        let rows = r
            .deviations
            .iter()
            .map(|d| {
                let detail = d.details["reason"]
                    .as_str()
                    .or_else(|| d.details["error"].as_str())
                    .map(str::to_string)
                    .unwrap_or_else(|| {
                        d.details
                            .as_object()
                            .map(|o| {
                                o.iter()
                                    .filter(|(_, v)| !v.is_object() && !v.is_array())
                                    .map(|(k, v)| {
                                        format!(
                                            "{k}: {}",
                                            v.as_str()
                                                .map_or_else(|| v.to_string(), str::to_string)
                                        )
                                    })
                                    .collect::<Vec<_>>()
                                    .join("; ")
                            })
                            .unwrap_or_default()
                    });
                vec![p(d.seq.to_string()), p(d.kind.replace('_', " ")), p(detail)]
            })
            .collect();
        b.push(Block::Table(Table {
            head: vec![g("activity"), g("kind"), g("details")],
            widths: vec![0.6, 1.4, 4.0],
            rows,
            small: true,
        }));
    }
}

fn notes(r: &Report, b: &mut Vec<Block>) {
    b.push(Block::Heading(g("notes")));
    b.push(Block::Para(g("only_item")));
    b.push(Block::Para(g("no_partial_copy")));
    b.push(Block::Para(gf(
        "raw_records",
        &[("n", &r.raw_data.len().to_string())],
    )));
    b.push(Block::Para(Text::join(
        &[g("end_of_certificate"), p(r.certificate.number.clone())],
        " ",
    )));
}
