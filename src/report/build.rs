//! Building the report model from stored data only — the run record (start with its station
//! snapshot, journal, raw records, results, interruptions, stop), the references it used with
//! their registered certificates, and the report it replaces — so that a report can be
//! re-rendered and verified bit for bit.

use std::collections::BTreeMap;

use serde_json::Value;

use super::model::{
    CertificateInfo, CertificateRecord, ConditionRange, Conditions, Conformity, CurveRecord, Dates,
    InstrumentRecord, Item, Laboratory, Method, RawDataRef, Report, ReportError, ReportMeta,
    ResultEntry, RunInfo, Series, Signatory, Software, Traceability,
};
use crate::model::Date;
use crate::store::db::Database;
use crate::store::record::{RunRecord, parse_json};

/// The statements every certificate carries.
const STATEMENTS: [&str; 3] = [
    "The results relate only to the item calibrated.",
    "This certificate shall not be reproduced except in full without the written approval of the laboratory.",
    "The expanded uncertainties are the standard uncertainties multiplied by the coverage factor k for a coverage probability of about 95 % (JCGM 100:2008).",
];

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
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
) -> Result<Report, ReportError> {
    let fail = |problem: String| ReportError::Run {
        run: run_id.to_string(),
        problem,
    };
    let record =
        RunRecord::load(db, run_id)?.ok_or_else(|| fail("no such run in this database".into()))?;
    let stop = record
        .stop
        .clone()
        .ok_or_else(|| fail("the run has not stopped; only finished runs are reported".into()))?;
    let station = &record.start.station;
    let measured_on = Date::from_unix_seconds(record.start.started_at);
    let traceability = traceability(db, run_id, station, measured_on)?;
    let results: BTreeMap<String, ResultEntry> = record
        .results
        .iter()
        .map(|(k, v)| {
            let entry = serde_json::from_value(v.clone()).unwrap_or_else(|_| ResultEntry {
                value: v.clone(),
                unit: String::new(),
                details: serde_json::Map::new(),
            });
            (k.clone(), entry)
        })
        .collect();
    let (conditions, curves) = conditions_and_curves(&record);
    let conformity: Vec<Conformity> = record
        .results
        .iter()
        .filter(|(_, v)| v.get("decision").is_some() || v.get("rule").is_some())
        .map(|(k, v)| Conformity {
            result: k.clone(),
            verdict: v.get("verdict").cloned().unwrap_or(v["value"].clone()),
            rule: v
                .get("rule")
                .cloned()
                .or_else(|| v["decision"].get("rule").cloned()),
        })
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
    let (script_file, _) = db.script(&record.start.procedure_hash)?.unwrap_or_default();
    let instruments: Vec<InstrumentRecord> =
        serde_json::from_value(station["instruments"].clone()).unwrap_or_default();
    Ok(Report {
        previous_report_sha256: previous_sha256,
        title: if meta.draft {
            "DRAFT — not a calibration certificate"
        } else {
            "Calibration certificate"
        }
        .into(),
        certificate: CertificateInfo {
            number: number.into(),
            revision,
            previous: previous.map(str::to_string),
            issued: Date::from_unix_seconds(issued_at),
            issued_at,
            draft: meta.draft,
        },
        laboratory: Laboratory {
            name: text(&station["laboratory"]),
            address: meta
                .address
                .clone()
                .or_else(|| text(&station["file"]["station"]["address"])),
            email: text(&station["file"]["station"]["email"]),
            country: text(&station["file"]["station"]["country"]),
            station: text(&station["name"]),
            location: "the laboratory's outdoor test site and battery-tester bench (station file)"
                .into(),
        },
        customer: meta.customer.clone(),
        customer_email: meta.customer_email.clone(),
        item: Item {
            identification: meta.item.clone(),
        },
        dates: Dates {
            receipt: meta.received,
            measurement_start: measured_on,
            measurement_end: Date::from_unix_seconds(stop.stopped_at),
            issue: Date::from_unix_seconds(issued_at),
        },
        method: Method {
            procedure: record.start.procedure.clone(),
            script: script_file,
            script_sha256: record.start.procedure_hash.clone(),
            parameters: record.start.parameters.clone(),
        },
        run: RunInfo {
            id: run_id.into(),
            status: stop.status,
            reason: stop.reason,
            operator: record.start.operator.clone(),
            software: Software {
                name: "pvstation".into(),
                version: record.start.software_version.clone(),
            },
        },
        instruments,
        traceability,
        results,
        conformity,
        deviations: record.interruptions.clone(),
        conditions,
        curves,
        statements: STATEMENTS.map(String::from).to_vec(),
        signatory: Signatory {
            name: meta.signatory.clone(),
            role: meta.signatory_role.clone(),
        },
        raw_data: record
            .raw
            .iter()
            .map(|r| RawDataRef {
                id: r.id,
                activity: r.activity_seq,
                kind: r.kind.clone(),
                sha256: r.sha256.clone(),
            })
            .collect(),
    })
}

/// The references the run used, each with its certificate as the station snapshot holds it,
/// whether it was valid on the day of the measurement, and the registry's hash of it.
fn traceability(
    db: &Database,
    run_id: &str,
    station: &Value,
    measured_on: Date,
) -> Result<Vec<Traceability>, ReportError> {
    let recorded = db.recorded_certificates()?;
    Ok(db
        .run_references(run_id)?
        .iter()
        .filter_map(|(id, certificate)| {
            station["references"].as_array()?.iter().find(|r| {
                r["id"] == id.as_str() && r["certificate"]["number"] == certificate.as_str()
            })
        })
        .filter_map(|r| {
            let certificate: CertificateRecord =
                serde_json::from_value(r["certificate"].clone()).ok()?;
            let valid = certificate.due_date.days_since_epoch() >= measured_on.days_since_epoch();
            let id = r["id"].as_str()?.to_string();
            let record_sha256 = recorded
                .iter()
                .find(|c| c.reference_id == id && c.certificate == certificate.number)
                .map(|c| c.sha256.clone());
            Some(Traceability {
                kind: r["kind"].as_str().unwrap_or_default().into(),
                description: r["description"].as_str().unwrap_or_default().into(),
                serial_number: r["serial_number"].as_str().unwrap_or_default().into(),
                id,
                certificate,
                valid_at_measurement: valid,
                record_sha256,
            })
        })
        .collect())
}

/// Conditions during the measurement (7.8.4.1 b) — ranges over the stability windows and the
/// samples taken before each sweep, what the operator reported, the time series of every
/// stored sample — and the measured curves of every sweep.
fn conditions_and_curves(record: &RunRecord) -> (Conditions, Vec<CurveRecord>) {
    let mut ranges: BTreeMap<&'static str, (f64, f64)> = BTreeMap::new();
    let mut widen = |key: &'static str, v: Option<f64>| {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            let e = ranges.entry(key).or_insert((v, v));
            e.0 = e.0.min(v);
            e.1 = e.1.max(v);
        }
    };
    let mut reported = BTreeMap::new();
    let mut windows: Vec<(f64, f64)> = Vec::new();
    let mut curves = Vec::new();
    for a in &record.activities {
        if a.status != "ok" {
            continue;
        }
        let r = &a.result;
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
                    curves.push(CurveRecord {
                        activity: a.seq,
                        direction: c["direction"].clone(),
                        voltage: c["voltage"].clone(),
                        current: c["current"].clone(),
                    });
                }
                let b = if a.kind == "sweep" { &r["before"] } else { r };
                widen("irradiance", b["irradiance"].as_f64());
                widen("module_temperature", b["module_temperature"].as_f64());
                widen("reference_cell_temperature", b["cell_temperature"].as_f64());
                widen("ambient_temperature", b["temperatures"]["ambient"].as_f64());
            }
            "prompt" => {
                if let Some(id) = a.request["id"].as_str() {
                    reported.insert(id.to_string(), r.clone());
                }
            }
            _ => {}
        }
    }
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
    for r in &record.raw_data {
        let data = parse_json(&r.data);
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
    let measured = units
        .iter()
        .filter_map(|(k, unit)| {
            ranges.get(k).map(|(lo, hi)| ConditionRange {
                quantity: (*k).into(),
                min: *lo,
                max: *hi,
                unit: (*unit).into(),
            })
        })
        .collect();
    (
        Conditions {
            measured,
            operator_answers: reported,
            series: Series {
                irradiance: g_series,
                module_temperature: t_series,
                stability_windows: windows,
            },
        },
        curves,
    )
}
