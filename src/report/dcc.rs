//! The report model as a PTB Digital Calibration Certificate (DCC, schema 3.1.2, D-SI 2.1.0;
//! standards.md §8): administrativeData (software, core data, item, laboratory, responsible
//! person, customer, statements) and measurementResults (methods with their norms, measuring
//! equipment with their certificates' hashes, influence conditions, results as D-SI quantities
//! with expanded uncertainty, whole curves as D-SI lists, conformity statements).

use serde_json::Value;

use super::document::{lang_of, stated};
use super::model::{Report, ResultEntry};
use super::text::{Lang, Text, g};

/// XML text escape.
fn x(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn s(v: &Value) -> String {
    match v {
        Value::String(t) => t.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Optional text (absent: empty).
fn o(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

/// A number as JSON writes it (`2.0`, `0.1213`), as the certificate texts always showed it.
fn j(x: f64) -> String {
    Value::from(x).to_string()
}

/// D-SI unit of a unit symbol (BIPM SI brochure 9th ed. as D-SI writes it), if it has one.
fn dsi_unit(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "W" => r"\watt",
        "V" => r"\volt",
        "A" => r"\ampere",
        "Ω" => r"\ohm",
        "°C" => r"\degreecelsius",
        "K" => r"\kelvin",
        "W/m²" => r"\watt\metre\tothe{-2}",
        "A/K" => r"\ampere\kelvin\tothe{-1}",
        "V/K" => r"\volt\kelvin\tothe{-1}",
        "W/K" => r"\watt\kelvin\tothe{-1}",
        "Ω/K" => r"\ohm\kelvin\tothe{-1}",
        "1" => r"\one",
        _ => return None,
    })
}

/// A number as D-SI writes it (finite only).
fn num(v: f64) -> Option<String> {
    v.is_finite().then(|| format!("{v}"))
}

fn text(tag: &str, content: &str) -> String {
    format!(
        "<dcc:{tag}><dcc:content lang=\"en\">{}</dcc:content></dcc:{tag}>",
        x(content)
    )
}

/// A text element with one `<dcc:content lang=…>` per language of the certificate.
fn text_in(tag: &str, content: &Text, lang: Lang) -> String {
    let parts: String = lang
        .iso639()
        .iter()
        .map(|code| {
            let t = if *code == "zh" {
                &content.zh
            } else {
                &content.en
            };
            format!("<dcc:content lang=\"{code}\">{}</dcc:content>", x(t))
        })
        .collect();
    format!("<dcc:{tag}>{parts}</dcc:{tag}>")
}

/// A result as a D-SI real with its expanded uncertainty, or as text when it is not a number
/// with a D-SI unit.
fn quantity(name: &str, r: &ResultEntry) -> String {
    let unit = r.unit.as_str();
    let value = r.value_f64().and_then(num);
    match (value, dsi_unit(unit)) {
        (Some(v), Some(u)) => {
            let unc = match (
                r.number("U").and_then(num),
                r.number("k").filter(|k| *k >= 1.0).and_then(num),
            ) {
                (Some(big_u), Some(k)) => format!(
                    "<si:expandedUnc><si:uncertainty>{}</si:uncertainty><si:coverageFactor>{k}</si:coverageFactor><si:coverageProbability>0.95</si:coverageProbability><si:distribution>normal</si:distribution></si:expandedUnc>",
                    big_u.trim_start_matches('-')
                ),
                _ => String::new(),
            };
            format!(
                "<dcc:quantity>{}<si:real><si:label>{}</si:label><si:value>{v}</si:value><si:unit>{u}</si:unit>{unc}</si:real></dcc:quantity>",
                text("name", name),
                x(name)
            )
        }
        _ => format!(
            "<dcc:quantity>{}<dcc:noQuantity><dcc:content lang=\"en\">{} {}</dcc:content></dcc:noQuantity></dcc:quantity>",
            text("name", name),
            x(&s(&r.value)),
            x(unit)
        ),
    }
}

fn list_quantity(name: &str, values: &[f64], unit: &str) -> String {
    let vals: Vec<String> = values.iter().filter_map(|v| num(*v)).collect();
    format!(
        "<dcc:quantity>{}<si:realListXMLList><si:valueXMLList>{}</si:valueXMLList><si:unitXMLList>{unit}</si:unitXMLList></si:realListXMLList></dcc:quantity>",
        text("name", name),
        vals.join(" ")
    )
}

fn contact(tag: &str, name: &str, email: &str, address: &str) -> String {
    format!(
        "<dcc:{tag}>{}<dcc:eMail>{}</dcc:eMail><dcc:location><dcc:further><dcc:content lang=\"en\">{}</dcc:content></dcc:further></dcc:location></dcc:{tag}>",
        text("name", name),
        x(email),
        x(address)
    )
}

fn hash(referral: &str, id: &str, value: &str) -> String {
    format!(
        "{}<dcc:referralID>{}</dcc:referralID><dcc:procedure>SHA-256</dcc:procedure><dcc:value>{}</dcc:value>",
        text("referral", referral),
        x(id),
        x(value)
    )
}

/// Render the model as DCC XML. Fails (naming what to add) when the model lacks what the
/// schema requires.
pub fn dcc(report: &Report) -> Result<String, String> {
    let lab = &report.laboratory;
    let country = lab
        .country
        .as_deref()
        .filter(|c| c.len() == 2 && c.chars().all(|ch| ch.is_ascii_uppercase()))
        .ok_or("the DCC needs the laboratory's ISO 3166-1 country code: set [station] country")?;
    let need = |v: &Option<String>, what: &str| -> Result<String, String> {
        v.as_deref()
            .filter(|t| !t.trim().is_empty())
            .map(str::to_string)
            .ok_or_else(|| format!("the DCC needs {what}"))
    };
    let lab_email = need(&lab.email, "the laboratory's e-mail: set [station] email")?;
    let lab_name = need(&lab.name, "the laboratory's name: set [station] laboratory")?;
    let lab_address = o(&lab.address);
    let dates = &report.dates;
    let c = &report.certificate;
    let lang = lang_of(report);
    let used: String = lang
        .iso639()
        .iter()
        .map(|code| format!("<dcc:usedLangCodeISO639_1>{code}</dcc:usedLangCodeISO639_1>"))
        .collect();
    let mandatory = lang.iso639()[0];
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<dcc:digitalCalibrationCertificate xmlns:dcc=\"https://ptb.de/dcc\" xmlns:si=\"https://ptb.de/si\" schemaVersion=\"3.1.2\">\n<dcc:administrativeData>\n",
    );
    out.push_str(&format!(
        "<dcc:dccSoftware><dcc:software>{}<dcc:release>{}</dcc:release></dcc:software></dcc:dccSoftware>\n",
        text("name", &report.run.software.name),
        x(&report.run.software.version)
    ));
    let receipt = dates
        .receipt
        .map(|d| format!("<dcc:receiptDate>{d}</dcc:receiptDate>"))
        .unwrap_or_default();
    let previous = c
        .previous
        .as_deref()
        .map(|p| {
            format!(
                "<dcc:previousReport>{}</dcc:previousReport>",
                hash("previous report", p, &o(&report.previous_report_sha256))
            )
        })
        .unwrap_or_default();
    out.push_str(&format!(
        "<dcc:coreData><dcc:countryCodeISO3166_1>{country}</dcc:countryCodeISO3166_1>{used}<dcc:mandatoryLangCodeISO639_1>{mandatory}</dcc:mandatoryLangCodeISO639_1><dcc:uniqueIdentifier>{}</dcc:uniqueIdentifier>{receipt}<dcc:beginPerformanceDate>{}</dcc:beginPerformanceDate><dcc:endPerformanceDate>{}</dcc:endPerformanceDate><dcc:performanceLocation>laboratory</dcc:performanceLocation>{previous}</dcc:coreData>\n",
        x(&c.number),
        dates.measurement_start,
        dates.measurement_end
    ));
    out.push_str(&format!(
        "<dcc:items><dcc:item>{}<dcc:manufacturer>{}</dcc:manufacturer><dcc:identifications><dcc:identification><dcc:issuer>customer</dcc:issuer><dcc:value>{}</dcc:value></dcc:identification></dcc:identifications></dcc:item></dcc:items>\n",
        text("name", &o(&report.item.identification)),
        text("name", "as identified by the customer"),
        x(&o(&report.item.identification))
    ));
    out.push_str(&format!(
        "<dcc:calibrationLaboratory>{}</dcc:calibrationLaboratory>\n",
        contact("contact", &lab_name, &lab_email, &lab_address)
    ));
    out.push_str("<dcc:respPersons>");
    for person in &report.signatories {
        let Some(name) = person.name.as_deref().filter(|n| !n.trim().is_empty()) else {
            continue;
        };
        let main = person.function == "approved_by";
        let role = if main {
            o(&report.signatory.role)
        } else {
            String::new()
        };
        out.push_str(&format!(
            "<dcc:respPerson><dcc:person>{}</dcc:person>{}<dcc:role>{}</dcc:role><dcc:mainSigner>{main}</dcc:mainSigner></dcc:respPerson>",
            text("name", name),
            text_in("description", &g(&person.function), lang),
            x(&if role.is_empty() { person.function.clone() } else { role })
        ));
    }
    out.push_str("</dcc:respPersons>\n");
    out.push_str(&contact(
        "customer",
        &need(&report.customer, "the customer: give --customer")?,
        &need(
            &report.customer_email,
            "the customer's e-mail: give --customer-email",
        )?,
        "as given by the customer",
    ));
    out.push_str("\n<dcc:statements>");
    for key in ["only_item", "no_partial_copy", "uncertainty_statement"] {
        out.push_str(&format!(
            "<dcc:statement>{}</dcc:statement>",
            text_in("declaration", &g(key), lang)
        ));
    }
    for cf in &report.conformity {
        let verdict = match s(&cf.verdict).as_str() {
            v @ ("pass" | "fail" | "conditionalPass" | "conditionalFail") => v.to_string(),
            _ => continue,
        };
        out.push_str(&format!(
            "<dcc:statement><dcc:norm>ILAC-G8:09/2019</dcc:norm>{}<dcc:conformity>{verdict}</dcc:conformity></dcc:statement>",
            text_in(
                "declaration",
                &Text::join(
                    &[
                        g(&verdict),
                        g(match cf.rule_name.as_deref() {
                            Some("guarded") => "rule_guarded",
                            Some("non_binary") => "rule_non_binary",
                            _ => "rule_simple",
                        }),
                        Text::plain(format!("({})", cf.result)),
                    ],
                    "; ",
                ),
                lang
            )
        ));
    }
    out.push_str("</dcc:statements>\n</dcc:administrativeData>\n<dcc:measurementResults><dcc:measurementResult>\n");
    out.push_str(&text("name", &report.method.procedure));
    let norms = match Some(report.method.procedure.as_str()) {
        Some("outdoor-pmax") => vec![
            "IEC 60891:2021",
            "IEC 60904-1:2020",
            "ASTM E1036",
            "JCGM 100:2008",
        ],
        Some("iec60891-params") => vec!["IEC 60891:2021", "IEC 60904-10", "JCGM 100:2008"],
        Some("bit-calibration") => vec!["JJF 1620-2017", "JJF 1059.1-2012", "JCGM 100:2008"],
        Some("reference-check") => vec!["ISO/IEC 17025:2017 6.4.10", "JCGM 100:2008"],
        _ => vec!["JCGM 100:2008"],
    };
    let norm_xml: String = norms
        .iter()
        .map(|n| format!("<dcc:norm>{}</dcc:norm>", x(n)))
        .collect();
    out.push_str(&format!(
        "\n<dcc:usedMethods><dcc:usedMethod>{}{}{norm_xml}<dcc:reference>{}</dcc:reference></dcc:usedMethod></dcc:usedMethods>\n",
        text("name", &report.method.procedure),
        text(
            "description",
            &format!(
                "procedure script {} (SHA-256 {})",
                report.method.script, report.method.script_sha256
            )
        ),
        x(&report.method.script_sha256)
    ));
    out.push_str("<dcc:measuringEquipments>");
    for r in &report.traceability {
        let cert = &r.certificate;
        out.push_str(&format!(
            "<dcc:measuringEquipment>{}{}<dcc:certificate>{}</dcc:certificate><dcc:identifications><dcc:identification><dcc:issuer>manufacturer</dcc:issuer><dcc:value>{}</dcc:value></dcc:identification></dcc:identifications></dcc:measuringEquipment>",
            text("name", &format!("{} {}", r.id, r.description)),
            text(
                "description",
                &format!(
                    "certificate {} by {}, calibrated {}, due {}: {} {} ± {} (k = {})",
                    cert.number,
                    cert.laboratory,
                    cert.calibration_date,
                    cert.due_date,
                    j(cert.value),
                    cert.unit,
                    j(cert.expanded_uncertainty),
                    j(cert.coverage_factor)
                )
            ),
            hash("calibration certificate", &cert.number, &o(&r.record_sha256)),
            x(&r.serial_number)
        ));
    }
    for cal in &report.instrument_calibrations {
        out.push_str(&format!(
            "<dcc:measuringEquipment>{}{}<dcc:identifications><dcc:identification><dcc:issuer>calibrationLaboratory</dcc:issuer><dcc:value>{}</dcc:value></dcc:identification></dcc:identifications></dcc:measuringEquipment>",
            text("name", &format!("{}: {}", cal.instrument, cal.item)),
            text(
                "description",
                &format!(
                    "calibration certificate {} by {}, calibrated {}, due {}",
                    cal.number, cal.laboratory, cal.date, cal.due_date
                )
            ),
            x(&cal.number)
        ));
    }
    for i in &report.instruments {
        out.push_str(&format!(
            "<dcc:measuringEquipment>{}<dcc:model>{}</dcc:model><dcc:identifications><dcc:identification><dcc:issuer>manufacturer</dcc:issuer><dcc:value>{}</dcc:value></dcc:identification></dcc:identifications></dcc:measuringEquipment>",
            text("name", &format!("{} ({})", i.name, i.role)),
            x(&format!("{} {}", o(&i.manufacturer), o(&i.model))),
            x(&i.identity)
        ));
    }
    out.push_str("</dcc:measuringEquipments>\n");
    let conditions = &report.conditions.measured;
    if !conditions.is_empty() {
        out.push_str("<dcc:influenceConditions>");
        for cnd in conditions {
            let unit = dsi_unit(&cnd.unit).unwrap_or(r"\one");
            out.push_str(&format!(
                "<dcc:influenceCondition>{}<dcc:data>{}</dcc:data></dcc:influenceCondition>",
                text("name", &cnd.quantity.replace('_', " ")),
                list_quantity("minimum and maximum", &[cnd.min, cnd.max], unit)
            ));
        }
        out.push_str("</dcc:influenceConditions>\n");
    }
    out.push_str("<dcc:results>");
    for (name, r) in &report.results {
        let label = g(name);
        let label = if label.en.starts_with('⟦') {
            Text::plain(name.clone())
        } else {
            label
        };
        // The stated form (GUM 7.2.6 rounding) as text beside the full-precision D-SI value.
        let description = stated(r)
            .map(|st| {
                let mut t = label.clone();
                t.zh = format!("{}: {}", t.zh, st.line());
                t.en = format!("{}: {}", t.en, st.line());
                text_in("description", &t, lang)
            })
            .unwrap_or_default();
        out.push_str(&format!(
            "<dcc:result>{}{description}<dcc:data>{}</dcc:data></dcc:result>",
            text_in("name", &label, lang),
            quantity(name, r)
        ));
    }
    for cv in &report.curves {
        let nums = |v: &Value| -> Vec<f64> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_f64)
                .collect()
        };
        out.push_str(&format!(
            "<dcc:result>{}<dcc:data><dcc:list>{}{}</dcc:list></dcc:data></dcc:result>",
            text(
                "name",
                &format!(
                    "measured I-V curve, activity {}, {}",
                    cv.activity,
                    s(&cv.direction)
                )
            ),
            list_quantity("voltage", &nums(&cv.voltage), r"\volt"),
            list_quantity("current", &nums(&cv.current), r"\ampere")
        ));
    }
    out.push_str("</dcc:results>\n</dcc:measurementResult></dcc:measurementResults>\n</dcc:digitalCalibrationCertificate>\n");
    Ok(out)
}
