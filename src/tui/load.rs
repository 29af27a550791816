//! Where the console's rows come from: the station file, the shipped procedures and the
//! database. Each function reads and returns rows or lines; none touches the console's state
//! (the loop hands the result to `App::apply_outcome`).

use std::path::Path;

use serde_json::Value;

use super::app::App;
use super::state::{InstrumentRow, ParamRow, ProcedureRow, QueueRow, ReferenceRow, RunRow, Use};
use crate::engine::procedure::shipped;
use crate::instruments::roles::system_now;
use crate::instruments::station::Station;
use crate::model::Date;
use crate::store::db::Database;

/// Runs the console lists at start (newest first).
const RUNS_SHOWN: usize = 200;
/// Instrument I/O exchanges the log screen shows (the newest).
const IO_LINES: usize = 2000;

/// The instrument identities a run recorded in its station snapshot (name, `*IDN?`).
fn recorded_identities(db: &Database, run_id: &str) -> Vec<(String, String)> {
    let Some(snapshot) = db
        .run_start(run_id)
        .ok()
        .flatten()
        .and_then(|s| serde_json::from_str::<Value>(&s.station).ok())
    else {
        return Vec::new();
    };
    // SCPI instruments and the Modbus sky instruments alike.
    ["instruments", "modbus"]
        .iter()
        .filter_map(|k| snapshot[*k].as_array())
        .flatten()
        .filter_map(|x| Some((x["name"].as_str()?.into(), x["identity"].as_str()?.into())))
        .collect()
}

/// The identities a run recorded, from the database file.
pub fn identities(db_path: &Path, run_id: &str) -> Vec<(String, String)> {
    Database::open(db_path)
        .map(|db| recorded_identities(&db, run_id))
        .unwrap_or_default()
}

/// A declared parameter as the form shows it.
fn param_row(q: &crate::engine::procedure::Parameter) -> ParamRow {
    ParamRow {
        name: q.name.clone(),
        kind: format!("{:?}", q.kind).to_lowercase(),
        unit: q.unit.clone(),
        default: match &q.default {
            Value::String(t) => t.clone(),
            other => other.to_string(),
        },
        limits: match (&q.choices, q.min, q.max) {
            (Some(c), _, _) => c.join(" | "),
            (None, Some(lo), Some(hi)) => format!("{lo} … {hi}"),
            (None, Some(lo), None) => format!("≥ {lo}"),
            (None, None, Some(hi)) => format!("≤ {hi}"),
            (None, None, None) => String::new(),
        },
    }
}

/// The console's initial state from the station file and the database.
pub fn initial(station: &Station, db: &Database) -> App {
    let mut app = App::new(&station.file.station.name);
    let runs = db.runs().unwrap_or_default();
    // Identities as the last run recorded them.
    let recorded = runs
        .first()
        .map(|r| recorded_identities(db, &r.id))
        .unwrap_or_default();
    for i in &station.file.instrument {
        app.station.instruments.push(InstrumentRow {
            name: i.name.clone(),
            role: i.role.as_str().to_string(),
            identity: recorded
                .iter()
                .find(|(n, _)| *n == i.name)
                .map(|(_, idn)| idn.clone()),
            state: Use::Idle,
            last: String::new(),
        });
    }
    // The Modbus sky instruments, with the role their profile gives them.
    for m in &station.file.modbus {
        use crate::instruments::modbus::{ModbusProfile, ModbusRole};
        let role = ModbusProfile::built_in(&m.profile)
            .map_or(ModbusRole::Pyranometer, |p| p.role)
            .as_str();
        app.station.instruments.push(InstrumentRow {
            name: m.name.clone(),
            role: role.to_string(),
            identity: recorded
                .iter()
                .find(|(n, _)| *n == m.name)
                .map(|(_, idn)| idn.clone()),
            state: Use::Idle,
            last: String::new(),
        });
    }
    let today = Date::from_unix_seconds(system_now());
    for r in &station.file.reference {
        app.station.references.push(ReferenceRow {
            id: r.id.clone(),
            certificate: r.certificate.number.clone(),
            due: r.certificate.due_date.to_string(),
            status: r.certificate.status(today),
        });
    }
    for p in shipped().into_iter().flatten() {
        let d = p.declaration;
        app.procedures.rows.push(ProcedureRow {
            description: d.description.split(". ").next().unwrap_or("").to_string(),
            parameters: d.parameters.iter().map(param_row).collect(),
            name: d.name,
        });
    }
    app.queue.rows = queue_rows(db);
    for r in runs.iter().take(RUNS_SHOWN) {
        let results = db.results(&r.id).unwrap_or_default();
        let results: std::collections::BTreeMap<String, Value> = results
            .iter()
            .map(|(n, v)| (n.clone(), serde_json::from_str(v).unwrap_or_default()))
            .collect();
        let headline = crate::tui::app::headline(&results);
        app.runs.rows.push(RunRow {
            id: r.id.clone(),
            procedure: r.procedure.clone(),
            status: r.status,
            headline,
        });
    }
    app
}

/// The newest exchanges of a run's stored instrument I/O log, one line each.
pub fn io_lines(db_path: &Path, run_id: &str) -> Vec<String> {
    let Ok(db) = Database::open(db_path) else {
        return vec!["the database cannot be opened".into()];
    };
    let entries = db.io_log(run_id).unwrap_or_default();
    let skip = entries.len().saturating_sub(IO_LINES);
    entries
        .iter()
        .skip(skip)
        .map(|e| {
            format!(
                "{:.3} {:<15} {:<5} {}",
                e.recorded_at,
                e.instrument,
                e.direction,
                crate::scpi::iolog::escape(&e.bytes)
            )
        })
        .collect()
}

/// A run's stop, results with uncertainties, budget leaders and issued reports, as lines.
pub fn run_detail(db_path: &Path, run_id: &str) -> Vec<String> {
    let Ok(db) = Database::open(db_path) else {
        return vec!["the database cannot be opened".into()];
    };
    let mut out = Vec::new();
    if let Ok(Some(start)) = db.run_start(run_id) {
        out.push(format!(
            "{} by {}, parameters {}",
            start.procedure, start.operator, start.parameters
        ));
    }
    match db.run_stop(run_id) {
        Ok(Some(stop)) => out.push(format!(
            "stopped: {}{}",
            stop.status,
            stop.reason.map(|r| format!(" — {r}")).unwrap_or_default()
        )),
        _ => out.push(
            "not stopped: running or interrupted (resume with pvstation run … --resume)".into(),
        ),
    }
    out.push(String::new());
    for (name, value) in db.results(run_id).unwrap_or_default() {
        let v: Value = serde_json::from_str(&value).unwrap_or_default();
        out.push(format!(
            "{}{}",
            crate::model::stated::result_line(&name, &v),
            v["verdict"]
                .as_str()
                .map(|x| format!("  [{x}]"))
                .unwrap_or_default()
        ));
        if let Some(budget) = v["budget"].as_array() {
            let mut lines: Vec<&Value> = budget.iter().collect();
            lines.sort_by(|a, b| {
                b["share"]
                    .as_f64()
                    .unwrap_or(0.0)
                    .total_cmp(&a["share"].as_f64().unwrap_or(0.0))
            });
            for b in lines.iter().take(5) {
                out.push(format!(
                    "    {:<24} u = {:<12} share {:.1} %",
                    b["name"].as_str().unwrap_or("?"),
                    b["u"],
                    b["share"].as_f64().unwrap_or(0.0) * 100.0
                ));
            }
        }
    }
    out.push(String::new());
    let reports: Vec<String> = db
        .reports()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.run_id == run_id)
        .map(|r| format!("report {}: {}", r.number, r.files))
        .collect();
    if reports.is_empty() {
        out.push("no report issued (r writes a draft; pvstation report RUN issues one)".into());
    }
    out.extend(reports);
    out
}

/// Write a watermarked draft of a run's report next to the database; the status line.
pub fn draft_report(db_path: &Path, run_id: &str) -> String {
    match crate::app::reports::write_draft(db_path, run_id, system_now()) {
        Ok((dir, n)) => format!("draft report of {run_id}: {n} files in {}", dir.display()),
        Err(e) => format!("no draft: {e}"),
    }
}

/// The queue as the database holds it, each item with its window and the estimated time
/// until it is done (mean duration of earlier completed runs of each procedure ahead of it).
fn queue_rows(db: &Database) -> Vec<QueueRow> {
    let mut ahead = Some(0.0);
    db.queue_items(false)
        .unwrap_or_default()
        .into_iter()
        .map(|q| {
            ahead = match (ahead, db.queue_mean_duration(&q.procedure).ok().flatten()) {
                (Some(a), Some(d)) => Some(a + d),
                _ => None,
            };
            let eta = ahead
                .map(|s| format!("done in ≈ {:.0} min", (s / 60.0).ceil()))
                .unwrap_or_else(|| "no estimate yet".into());
            QueueRow {
                id: q.id,
                status: q.status,
                procedure: q.procedure,
                window: format!("{} · {eta}", q.window.unwrap_or_else(|| "any time".into())),
            }
        })
        .collect()
}

/// The queue from the database file (None when it cannot be opened).
pub fn queue(db_path: &Path) -> Option<Vec<QueueRow>> {
    Database::open(db_path).ok().map(|db| queue_rows(&db))
}
