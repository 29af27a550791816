//! The report model: one structure, built only from stored data (the run record, its raw-data
//! hashes, results with their budgets, the references it used with their certificates, the
//! report's own metadata), from which every format is rendered. The completeness check lists
//! what ISO/IEC 17025:2017 7.8.2.1, 7.8.4.1 and 7.8.6 ask that the model lacks
//! (standards.md §7.1).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::model::Date;
use crate::store::StoreError;
use crate::store::db::Database;

/// What the person issuing a report adds to the run (stored with the report).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportMeta {
    /// Customer name (7.8.2.1 e).
    pub customer: Option<String>,
    /// Customer contact e-mail (7.8.2.1 e).
    pub customer_email: Option<String>,
    /// Description and unambiguous identification of the item (7.8.2.1 g).
    pub item: Option<String>,
    /// Date of receipt of the item (7.8.2.1 h).
    pub received: Option<Date>,
    /// Authorising signatory: name (7.8.2.1 o).
    pub signatory: Option<String>,
    /// … and role.
    pub signatory_role: Option<String>,
    /// Laboratory address (7.8.2.1 b), when the station file gives none.
    pub address: Option<String>,
    /// A draft: watermarked, not a certificate.
    pub draft: bool,
}

/// Why a report model could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The run cannot be reported.
    #[error("run {run}: {problem}")]
    Run {
        /// Run id.
        run: String,
        /// Why.
        problem: String,
    },
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::String(text.to_string()))
}

/// Build the report model of a stopped run.
pub fn build(
    db: &Database,
    run_id: &str,
    number: &str,
    revision: i64,
    previous: Option<&str>,
    issued_at: f64,
    meta: &ReportMeta,
) -> Result<Value, ReportError> {
    let fail = |problem: String| ReportError::Run {
        run: run_id.to_string(),
        problem,
    };
    let start = db
        .run_start(run_id)?
        .ok_or_else(|| fail("no such run in this database".into()))?;
    let (status, reason, stopped_at) = db
        .run_stop(run_id)?
        .ok_or_else(|| fail("the run has not stopped; only finished runs are reported".into()))?;
    let station = parse(&start.station);
    let measured_on = Date::from_unix_seconds(start.started_at);
    let used = db.run_references(run_id)?;
    let recorded = db.recorded_certificates()?;
    let references: Vec<Value> = used
        .iter()
        .filter_map(|(id, certificate)| {
            station["references"]
                .as_array()?
                .iter()
                .find(|r| {
                    r["id"] == id.as_str() && r["certificate"]["number"] == certificate.as_str()
                })
                .cloned()
        })
        .map(|r| {
            let due = r["certificate"]["due_date"]
                .as_str()
                .and_then(|d| Date::parse(d).ok());
            let valid = due.is_some_and(|d| d.days_since_epoch() >= measured_on.days_since_epoch());
            // The SHA-256 of the certificate record as the registry holds it.
            let record_sha256 = recorded
                .iter()
                .find(|c| {
                    r["id"] == c.reference_id.as_str()
                        && r["certificate"]["number"] == c.certificate.as_str()
                })
                .map(|c| c.sha256.clone());
            json!({
                "id": r["id"], "kind": r["kind"], "description": r["description"],
                "serial_number": r["serial_number"], "certificate": r["certificate"],
                "valid_at_measurement": valid, "record_sha256": record_sha256,
            })
        })
        .collect();
    let results: serde_json::Map<String, Value> = db
        .results(run_id)?
        .into_iter()
        .map(|(k, v)| (k, parse(&v)))
        .collect();
    let interruptions: Vec<Value> = db
        .interruptions(run_id)?
        .iter()
        .map(|i| json!({"activity": i.seq, "kind": i.kind, "details": parse(&i.details), "at": i.recorded_at}))
        .collect();
    let raw_records = db.raw(run_id)?;
    let raw: Vec<Value> = raw_records
        .iter()
        .map(
            |r| json!({"id": r.id, "activity": r.activity_seq, "kind": r.kind, "sha256": r.sha256}),
        )
        .collect();
    let (script_file, _) = db.script(&start.procedure_hash)?.unwrap_or_default();
    // Conditions during the measurement (7.8.4.1 b): ranges over the stability windows and
    // the samples taken before each sweep, and what the operator reported.
    let mut ranges: BTreeMap<&'static str, (f64, f64)> = BTreeMap::new();
    let mut widen = |key: &'static str, v: Option<f64>| {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            let e = ranges.entry(key).or_insert((v, v));
            e.0 = e.0.min(v);
            e.1 = e.1.max(v);
        }
    };
    let mut reported = serde_json::Map::new();
    // The stability windows the gate accepted, and the measured curves of every sweep.
    let mut windows: Vec<(f64, f64)> = Vec::new();
    let mut curves = Vec::new();
    for a in db.activities(run_id)? {
        if a.status != "ok" {
            continue;
        }
        let r = parse(&a.result);
        match a.kind.as_str() {
            "wait_stable" => {
                if let (Some(from), Some(to)) = (r["from"].as_f64(), r["to"].as_f64()) {
                    windows.push((from, to));
                }
                widen("irradiance", r["irradiance"].as_f64());
                widen("module_temperature", r["module_temperature"].as_f64());
                widen("reference_cell_temperature", r["cell_temperature"].as_f64());
                widen("ambient_temperature", r["temperatures"]["ambient"].as_f64());
            }
            "sweep" | "conditions" => {
                for c in r["curves"].as_array().into_iter().flatten() {
                    curves.push(json!({"activity": a.seq, "direction": c["direction"],
                                       "voltage": c["voltage"], "current": c["current"]}));
                }
                let b = if a.kind == "sweep" { &r["before"] } else { &r };
                widen("irradiance", b["irradiance"].as_f64());
                widen("module_temperature", b["module_temperature"].as_f64());
                widen("reference_cell_temperature", b["cell_temperature"].as_f64());
                widen("ambient_temperature", b["temperatures"]["ambient"].as_f64());
            }
            "prompt" => {
                let request = parse(&a.request);
                if let Some(id) = request["id"].as_str() {
                    reported.insert(id.to_string(), r.clone());
                }
            }
            _ => {}
        }
    }
    // Time series for the conditions plot: every sample the run stored.
    let mut g_series: Vec<(f64, f64)> = Vec::new();
    let mut t_series: Vec<(f64, f64)> = Vec::new();
    let sample = |v: &Value, g: &mut Vec<(f64, f64)>, t: &mut Vec<(f64, f64)>| {
        if let (Some(time), Some(irr)) = (v["time"].as_f64(), v["irradiance"].as_f64()) {
            g.push((time, irr));
            let temps: Vec<f64> = v["module_temperatures"]
                .as_object()
                .map(|m| m.values().filter_map(Value::as_f64).collect())
                .unwrap_or_default();
            if !temps.is_empty() {
                t.push((time, temps.iter().sum::<f64>() / temps.len() as f64));
            }
        }
    };
    for r in &raw_records {
        let data = parse(&r.data);
        match r.kind.as_str() {
            "conditions_window" => {
                for v in data.as_array().into_iter().flatten() {
                    sample(v, &mut g_series, &mut t_series);
                }
            }
            "conditions_before_sweep" | "conditions" => sample(&data, &mut g_series, &mut t_series),
            "irradiance_during_sweep" => {
                for v in data.as_array().into_iter().flatten() {
                    if let (Some(time), Some(irr)) = (v[0].as_f64(), v[1].as_f64()) {
                        g_series.push((time, irr));
                    }
                }
            }
            _ => {}
        }
    }
    g_series.sort_by(|a, b| a.0.total_cmp(&b.0));
    t_series.sort_by(|a, b| a.0.total_cmp(&b.0));
    let units = [
        ("irradiance", "W/m²"),
        ("module_temperature", "°C"),
        ("reference_cell_temperature", "°C"),
        ("ambient_temperature", "°C"),
    ];
    let conditions: Vec<Value> = units
        .iter()
        .filter_map(|(k, unit)| {
            ranges
                .get(k)
                .map(|(lo, hi)| json!({"quantity": k, "min": lo, "max": hi, "unit": unit}))
        })
        .collect();
    let conformity: Vec<Value> = results
        .iter()
        .filter(|(_, v)| v.get("decision").is_some() || v.get("rule").is_some())
        .map(|(k, v)| json!({"result": k, "verdict": v.get("verdict").cloned().unwrap_or(v["value"].clone()),
                               "rule": v.get("rule").cloned().or_else(|| v["decision"].get("rule").cloned())}))
        .collect();
    // The report this one replaces, by the SHA-256 of its JSON rendering.
    let previous_sha256 = match previous {
        Some(p) => db
            .reports()?
            .into_iter()
            .find(|r| r.number == p)
            .and_then(|r| {
                let files: BTreeMap<String, String> = serde_json::from_str(&r.files).ok()?;
                files
                    .iter()
                    .find(|(name, _)| name.ends_with(".json"))
                    .map(|(_, h)| h.clone())
            }),
        None => None,
    };
    Ok(json!({
        "previous_report_sha256": previous_sha256,
        "title": if meta.draft { "DRAFT — not a calibration certificate" } else { "Calibration certificate" },
        "certificate": {
            "number": number, "revision": revision, "previous": previous,
            "issued": Date::from_unix_seconds(issued_at), "issued_at": issued_at, "draft": meta.draft,
        },
        "laboratory": {
            "name": station["laboratory"],
            "address": meta.address.clone().map(Value::String).unwrap_or(station["file"]["station"]["address"].clone()),
            "email": station["file"]["station"]["email"],
            "country": station["file"]["station"]["country"],
            "station": station["name"],
            "location": "the laboratory's outdoor test site and battery-tester bench (station file)",
        },
        "customer": meta.customer,
        "customer_email": meta.customer_email,
        "item": {"identification": meta.item},
        "dates": {
            "receipt": meta.received,
            "measurement_start": measured_on, "measurement_end": Date::from_unix_seconds(stopped_at),
            "issue": Date::from_unix_seconds(issued_at),
        },
        "method": {
            "procedure": start.procedure, "script": script_file, "script_sha256": start.procedure_hash,
            "parameters": parse(&start.parameters),
        },
        "run": {"id": run_id, "status": status, "reason": reason, "operator": start.operator,
                "software": {"name": "pvstation", "version": start.software_version}},
        "instruments": station["instruments"],
        "traceability": references,
        "results": results,
        "conformity": conformity,
        "deviations": interruptions,
        "conditions": {"measured": conditions, "operator_answers": reported,
                       "series": {"irradiance": g_series, "module_temperature": t_series,
                                  "stability_windows": windows}},
        "curves": curves,
        "statements": [
            "The results relate only to the item calibrated.",
            "This certificate shall not be reproduced except in full without the written approval of the laboratory.",
            "The expanded uncertainties are the standard uncertainties multiplied by the coverage factor k for a coverage probability of about 95 % (JCGM 100:2008).",
        ],
        "signatory": {"name": meta.signatory, "role": meta.signatory_role},
        "raw_data": raw,
    }))
}

/// What ISO/IEC 17025:2017 7.8 requires that the model lacks (empty: complete).
pub fn missing(report: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let absent = |v: &Value| v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty());
    if absent(&report["customer"]) {
        out.push("customer name (7.8.2.1 e): give --customer".into());
    }
    if absent(&report["customer_email"]) {
        out.push("customer contact (7.8.2.1 e): give --customer-email".into());
    }
    if absent(&report["laboratory"]["address"]) {
        out.push(
            "laboratory address (7.8.2.1 b): set [station] address in the station file".into(),
        );
    }
    if absent(&report["item"]["identification"]) {
        out.push("identification of the item (7.8.2.1 g): give --item".into());
    }
    if absent(&report["dates"]["receipt"]) {
        out.push("date of receipt of the item (7.8.2.1 h): give --received YYYY-MM-DD".into());
    }
    if absent(&report["signatory"]["name"]) {
        out.push("authorising signatory (7.8.2.1 o): give --signatory NAME".into());
    }
    if absent(&report["laboratory"]["name"]) {
        out.push(
            "laboratory name (7.8.2.1 b): set [station] laboratory in the station file".into(),
        );
    }
    if report["run"]["status"] != "completed" {
        out.push(format!(
            "the run did not complete ({}): a certificate reports completed runs",
            report["run"]["status"]
        ));
    }
    if report["results"].as_object().is_none_or(|r| r.is_empty()) {
        out.push("results with units (7.8.2.1 m): the run recorded none".into());
    }
    for (name, r) in report["results"].as_object().into_iter().flatten() {
        // Informative results (diagnostics such as forward/reverse hysteresis) are not
        // measurands and carry no uncertainty.
        let measurand = r["value"].is_number() && r["informative"] != true;
        if measurand && r.get("U").is_none() && r.get("u").is_none() {
            out.push(format!("result `{name}` has no uncertainty (7.8.4.1 a)"));
        }
    }
    if report["conformity"]
        .as_array()
        .is_none_or(|c| c.iter().any(|x| x["rule"].is_null()))
    {
        out.push("the decision rule of the conformity statement (7.8.6 c)".into());
    }
    match report["traceability"].as_array() {
        Some(list) if !list.is_empty() => {
            for r in list {
                if r["valid_at_measurement"] != true {
                    out.push(format!(
                        "reference {} (certificate {}) was past its due date {} at the measurement: the result is not traceable",
                        r["id"].as_str().unwrap_or("?"),
                        r["certificate"]["number"].as_str().unwrap_or("?"),
                        r["certificate"]["due_date"].as_str().unwrap_or("?")
                    ));
                }
            }
        }
        _ => out
            .push("metrological traceability (7.8.4.1 c): the run used no reference device".into()),
    }
    out
}
