//! Building the report model from stored data only — the run record (start with its station
//! snapshot, journal, raw records, results, interruptions, stop), the references it used with
//! their registered certificates, and the report it replaces — so that a report can be
//! re-rendered and verified bit for bit.

use std::collections::BTreeMap;

use serde_json::Value;

use super::model::{
    Accreditation, CertificateInfo, CertificateRecord, ConditionRange, Conditions, Conformity,
    CurveRecord, Dates, InstrumentCalibration, InstrumentRecord, Item, Laboratory, Method,
    RawDataRef, Report, ReportError, ReportMeta, ResultEntry, RunInfo, Series, Signatory,
    SignatoryEntry, Software, Traceability,
};
use crate::model::Date;
use crate::model::stated::of_result;
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
            (k.clone(), with_reported(entry))
        })
        .collect();
    let (conditions, curves) = conditions_and_curves(&record);
    let conformity: Vec<Conformity> = record
        .results
        .iter()
        .filter(|(_, v)| v.get("decision").is_some() || v.get("rule").is_some())
        .map(|(k, v)| conformity(k, v, &results))
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
    let (instrument_calibrations, uncalibrated) =
        instrument_calibrations(station, meta, &traceability, measured_on);
    let file = &station["file"]["station"];
    let language = meta
        .language
        .clone()
        .or_else(|| text(&file["language"]))
        .unwrap_or_else(|| "en".into());
    let issued_on = Date::from_unix_seconds(issued_at);
    let signatories = vec![
        SignatoryEntry {
            function: "calibrated_by".into(),
            name: meta
                .calibrated_by
                .clone()
                .or_else(|| Some(record.start.operator.clone())),
            date: Date::from_unix_seconds(stop.stopped_at),
        },
        SignatoryEntry {
            function: "checked_by".into(),
            name: meta.checked_by.clone(),
            date: issued_on,
        },
        SignatoryEntry {
            function: "approved_by".into(),
            name: meta.signatory.clone(),
            date: issued_on,
        },
    ];
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
            location: if record.start.procedure == "bit-calibration" {
                "the laboratory's battery-tester calibration bench"
            } else {
                "the laboratory's outdoor PV test site"
            }
            .into(),
            name_zh: text(&file["laboratory_zh"]),
            address_zh: text(&file["address_zh"]),
            accreditation: match (
                text(&file["accreditation_body"]),
                text(&file["accreditation_number"]),
            ) {
                (Some(body), Some(number)) => Some(Accreditation { body, number }),
                _ => None,
            },
        },
        customer: meta.customer.clone(),
        customer_email: meta.customer_email.clone(),
        item: Item {
            identification: meta.item.clone(),
            model: meta.item_model.clone(),
            serial_number: meta.item_serial.clone(),
            manufacturer: meta.item_manufacturer.clone(),
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
            version: meta.procedure.as_ref().map(|p| p.version.clone()),
            standards: standards(&record.start.procedure, &record.start.parameters),
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
        signatories,
        instrument_calibrations,
        language,
        uncalibrated,
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

/// Roles whose instrument specifications enter the uncertainty budgets (the resistance meter is
/// the item calibrated on the battery-tester bench; the switch adds no term).
const BUDGET_ROLES: [&str; 4] = ["iv_tracer", "irradiance_meter", "thermometer", "source"];

/// The documents a procedure applies, with edition (method, 7.8.2.1 f).
pub fn standards(procedure: &str, parameters: &Value) -> Vec<String> {
    let mut out: Vec<String> = match procedure {
        "outdoor-pmax" => vec![
            "IEC 60904-1:2020".into(),
            format!(
                "IEC 60891:2021 procedure {}",
                parameters["correction"].as_i64().unwrap_or(1)
            ),
            "IEC 60904-3:2019".into(),
            "IEC 60904-7:2019".into(),
            "ASTM E1036-15".into(),
        ],
        "iec60891-params" => vec!["IEC 60891:2021".into(), "IEC 60904-10:2020".into()],
        "bit-calibration" => vec!["JJF 1620-2017 (structure)".into()],
        "reference-check" => vec!["ISO/IEC 17025:2017 7.7.1".into()],
        _ => vec![],
    };
    out.extend([
        "JJF 1059.1-2012".into(),
        "JCGM 100:2008 (GUM)".into(),
        "ILAC-G8:09/2019".into(),
    ]);
    if procedure == "outdoor-pmax" {
        out.insert(out.len() - 1, "JCGM 101:2008 (MCM, validation)".into());
    }
    out
}

/// The result with its stated form (`reported`: value, U, unit, k as printed) when it has an
/// expanded uncertainty. Values of Ω, V and A are stated with the SI prefix of their nominal
/// value (a 1 mΩ point in mΩ).
fn with_reported(mut entry: ResultEntry) -> ResultEntry {
    let recorded = serde_json::to_value(&entry).unwrap_or_default();
    if let Some(stated) = of_result(&recorded)
        && let Ok(v) = serde_json::to_value(stated)
    {
        entry.details.insert("reported".into(), v);
    }
    entry
}

/// A statement of conformity from a recorded result: the decision the procedure made, with the
/// specification it was made against.
fn conformity(name: &str, v: &Value, results: &BTreeMap<String, ResultEntry>) -> Conformity {
    let decision = &v["decision"];
    let pair = |x: &Value| Some((x["lower"].as_f64()?, x["upper"].as_f64()?));
    // A summary over points names its rule; a point's decision holds it.
    let rule_name = v["rule"].as_str().map(str::to_string).or_else(|| {
        decision["rule"]["rule"].as_str().map(|r| {
            match r {
                "simple_acceptance" => "simple",
                "guarded_acceptance" => "guarded",
                other => other,
            }
            .to_string()
        })
    });
    // For the Pmax summary the decision is recorded with the statement; its limits are the
    // nameplate ± tolerance, its unit the measured result's.
    let unit = if v.get("nominal").is_some() && v.get("tolerance").is_some() {
        results
            .get("p_mp_stc")
            .map(|r| r.unit.clone())
            .unwrap_or_default()
    } else {
        v["unit"].as_str().unwrap_or_default().to_string()
    };
    Conformity {
        result: name.to_string(),
        verdict: v.get("verdict").cloned().unwrap_or(v["value"].clone()),
        rule: v
            .get("rule")
            .cloned()
            .or_else(|| decision.get("rule").cloned()),
        rule_name,
        limits: pair(v).or_else(|| {
            let mpe = v["mpe"].as_f64()?;
            Some((-mpe, mpe))
        }),
        nominal: v["nominal"]
            .as_f64()
            .zip(v["tolerance"].as_f64())
            .filter(|_| v.get("lower").is_some()),
        acceptance: pair(&decision["acceptance"]),
        probability_wrong_decision: decision["probability_wrong_decision"].as_f64(),
        unit,
    }
}

/// The calibrations of the instruments the run used, and the instruments whose specification
/// enters a budget that have none. Used: the instruments in a role the procedure declares (all
/// of the station's when its declaration is not at hand), plus the parts of the references it
/// used that carry their own certificate (a reference cell's shunt).
fn instrument_calibrations(
    station: &Value,
    meta: &ReportMeta,
    traceability: &[Traceability],
    measured_on: Date,
) -> (Vec<InstrumentCalibration>, Vec<(String, String)>) {
    let mut out = Vec::new();
    let mut missing = Vec::new();
    let file = &station["file"];
    let used_role = |role: &str| {
        BUDGET_ROLES.contains(&role)
            && meta
                .procedure
                .as_ref()
                .is_none_or(|p| p.roles.iter().any(|r| r == role))
    };
    let mut push = |instrument: &str, role: &str, default_item: String, c: &Value| {
        let date = |k: &str| c[k].as_str().and_then(|d| Date::parse(d).ok());
        let (Some(date), Some(due_date)) = (date("date"), date("due_date")) else {
            return;
        };
        out.push(InstrumentCalibration {
            instrument: instrument.to_string(),
            role: role.to_string(),
            item: c["item"]
                .as_str()
                .map(str::to_string)
                .unwrap_or(default_item),
            number: c["number"].as_str().unwrap_or_default().to_string(),
            laboratory: c["laboratory"].as_str().unwrap_or_default().to_string(),
            date,
            due_date,
            valid_at_measurement: due_date.days_since_epoch() >= measured_on.days_since_epoch(),
        });
    };
    for inst in file["instrument"].as_array().into_iter().flatten() {
        let (Some(name), Some(role)) = (inst["name"].as_str(), inst["role"].as_str()) else {
            continue;
        };
        if !used_role(role) {
            continue;
        }
        let identified = station["instruments"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|i| i["name"] == name);
        let default_item = identified
            .map(|i| {
                format!(
                    "{} {} {}",
                    i["manufacturer"].as_str().unwrap_or_default(),
                    i["model"].as_str().unwrap_or_default(),
                    i["serial_number"].as_str().unwrap_or_default()
                )
                .trim()
                .to_string()
            })
            .unwrap_or_else(|| name.to_string());
        let calibrations = inst["calibration"].as_array().cloned().unwrap_or_default();
        if calibrations.is_empty() {
            missing.push((name.to_string(), role.to_string()));
        }
        for c in &calibrations {
            push(name, role, default_item.clone(), c);
        }
    }
    // The sky instruments of an outdoor run: the spectroradiometer's spectrum sets the
    // mismatch factor, the pyranometers' diffuse fraction the angular term and the gate.
    let outdoor = meta
        .procedure
        .as_ref()
        .is_none_or(|p| p.roles.iter().any(|r| r == "irradiance_meter"));
    for m in file["modbus"].as_array().into_iter().flatten() {
        let Some(name) = m["name"].as_str() else {
            continue;
        };
        let identified = station["modbus"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|i| i["name"] == name);
        let (true, Some(identified)) = (outdoor, identified) else {
            continue;
        };
        let role = identified["role"].as_str().unwrap_or("sky instrument");
        let item = format!(
            "{} {}",
            identified["manufacturer"].as_str().unwrap_or_default(),
            identified["model"].as_str().unwrap_or_default()
        )
        .trim()
        .to_string();
        let calibrations = m["calibration"].as_array().cloned().unwrap_or_default();
        if calibrations.is_empty() {
            missing.push((name.to_string(), role.to_string()));
        }
        for c in &calibrations {
            push(name, role, item.clone(), c);
        }
    }
    for t in traceability {
        let Some(reference) = file["reference"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["id"] == t.id.as_str())
        else {
            continue;
        };
        let calibrations = reference["calibration"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if calibrations.is_empty() && reference["parameters"].get("shunt_resistance").is_some() {
            missing.push((t.id.clone(), "reference cell shunt".into()));
        }
        for c in &calibrations {
            push(&t.id, &t.kind, format!("{} part", t.id), c);
        }
    }
    (out, missing)
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
