//! The procedure engine through the real binary: runs, resume after SIGKILL, faults,
//! suspenders, bad scripts, prompts, abort and tampering.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::cli::{bin, repo, tempdir};

/// `pvstation run … --json --headless --db DB`: (exit code, events, stderr).
pub fn run(db: &Path, args: &[&str]) -> (Option<i32>, Vec<Value>, String) {
    let out = bin()
        .arg("run")
        .args(args)
        .args(["--json", "--headless", "--db"])
        .arg(db)
        .output()
        .expect("runs");
    let events = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    (
        out.status.code(),
        events,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn show(db: &Path, run_id: &str) -> Value {
    let out = bin()
        .args(["runs", "show", run_id, "--json", "--db"])
        .arg(db)
        .output()
        .expect("runs show");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

fn audit_ok(db: &Path) -> bool {
    bin()
        .args(["audit", "verify", "--db"])
        .arg(db)
        .output()
        .expect("audit")
        .status
        .success()
}

/// The outdoor Pmax result of the simulated CS5P-220M, checked against the simulator's truth
/// and against its own budget.
pub fn check_pmax_result(p: &Value) {
    let value = p["value"].as_f64().expect("value");
    let (u, k, big_u) = (
        p["u"].as_f64().expect("u"),
        p["k"].as_f64().expect("k"),
        p["U"].as_f64().expect("U"),
    );
    assert_eq!(p["unit"], "W");
    // The simulated module's true Pmax at STC: pvlib `singlediode` of the CEC record
    // Canadian_Solar_Inc__CS5P_220M at 1000 W/m², 25 °C (tests/reference/cs5p_220m/reference.json).
    let truth = crate::metrology::reference_json()["stc_truth"]["p_mp"]
        .as_f64()
        .expect("truth");
    assert!(
        (value - truth).abs() <= big_u,
        "|{value} − {truth}| > U = {big_u}"
    );
    // The GUM U is k·u_c, and u_c² is the sum of the squared contributions of the stored
    // budget (JCGM 100 eq. 10; the Pmax budget has no correlated inputs). When the adaptive
    // Monte Carlo method did not validate it (JCGM 101 §8), the stated U is the larger
    // half-width of the Monte Carlo interval about the result.
    let gum_u = p["gum_U"].as_f64().unwrap_or(big_u);
    assert!((gum_u - k * u).abs() <= 1e-12 * gum_u, "{p}");
    let mc = &p["mcm"];
    if mc["validated"] == false {
        let interval = p["interval"].as_array().expect("interval");
        let (lo, hi) = (interval[0].as_f64().unwrap(), interval[1].as_f64().unwrap());
        assert!(
            (big_u - (hi - value).max(value - lo)).abs() <= 1e-9 * big_u,
            "{p}"
        );
    } else {
        assert!((big_u - gum_u).abs() <= 1e-12 * big_u, "{p}");
    }
    let sum: f64 = p["budget"]
        .as_array()
        .expect("budget")
        .iter()
        .map(|l| l["contribution"].as_f64().expect("contribution").powi(2))
        .sum();
    assert!((sum.sqrt() - u).abs() <= 1e-9 * u, "{} vs {u}", sum.sqrt());
    // The coverage factor for ν_eff and p = 95 %: between t(∞) = 1.96 and t(1) = 12.7, and
    // the budget is dominated by Type B inputs of infinite ν, so ν_eff is large.
    assert!((1.959..2.1).contains(&k), "k = {k}");
    // The station's budget is dominated by the reference cell's calibration (0.9 % at k = 2);
    // with the other inputs (the spectral mismatch measured, the cell's drift since
    // calibration) it comes to 1.1–1.8 % of Pmax (k ≈ 2) — never the 0.5 % or 5 % a broken
    // budget would give.
    assert!(
        (0.011..0.018).contains(&(big_u / value)),
        "U/P = {}",
        big_u / value
    );
}

pub fn last_finished(events: &[Value]) -> &Value {
    let last = events.last().expect("events");
    assert_eq!(last["event"], "finished", "{events:?}");
    last
}

/// A fast outdoor run: two dual sweeps at ×50.
const FAST: &[&str] = &["--speed", "50", "--set", "sweeps=2"];

#[test]
fn outdoor_pmax_runs_end_to_end_with_the_json_contract() {
    let dir = tempdir("engine-outdoor");
    let db = dir.join("s.db");
    let (code, events, stderr) = run(&db, &[&["outdoor-pmax"], FAST].concat());
    assert_eq!(code, Some(0), "{stderr}\n{events:?}");
    assert_eq!(events[0]["event"], "started");
    let run_id = events[0]["run_id"].as_str().expect("run id").to_string();
    let fin = last_finished(&events);
    assert_eq!(fin["run_id"], run_id.as_str());
    assert_eq!(fin["status"], "completed");
    let p = &fin["results"]["p_mp_stc"];
    check_pmax_result(p);
    assert_eq!(p["curves"], 4);
    // 220 W ± 3 % with the guarded rule (w = U): acceptance zone [213.4 + U, 226.6 − U]. The
    // simulated module's true Pmax at STC is 219.96 W (pvlib, reference.json) and U ≈ 3.2 W,
    // so a result within U of the truth lies inside the zone: the verdict is exactly `pass`.
    let conformity = &fin["results"]["conformity"];
    assert_eq!(conformity["value"], "pass", "{conformity}");
    assert_eq!(conformity["rule"], "guarded");
    assert_eq!(conformity["lower"], 213.4);
    assert_eq!(conformity["upper"], 226.6);
    let record = show(&db, &run_id);
    assert_eq!(record["stop"]["status"], "completed");
    assert_eq!(record["start"]["procedure"], "outdoor-pmax");
    let instruments = record["start"]["station"]["instruments"]
        .as_array()
        .unwrap();
    assert!(
        instruments
            .iter()
            .any(|i| i["identity"].as_str().unwrap().contains("MODEL 2460")
                && i["firmware"] == "1.7.12b")
    );
    assert!(
        record["start"]["station"]["references"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["certificate"]["number"] == "NIM-PV-2026-0311")
    );
    let activities = record["activities"].as_array().unwrap();
    for (k, a) in activities.iter().enumerate() {
        assert_eq!(a["seq"], k as i64 + 1);
        assert_eq!(a["status"], "ok");
        assert!(a["kind"].is_string() && !a["result"].is_null(), "{a}");
    }
    let sweeps = activities.iter().filter(|a| a["kind"] == "sweep").count();
    assert_eq!(sweeps, 2);
    assert!(
        record["raw"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["kind"] == "iv_curves")
    );
    assert!(record["io_log_entries"].as_u64().unwrap() > 100);
    assert!(audit_ok(&db));
    // Export the measured points: every point of both sweeps, traceable to its raw record.
    let points: usize = activities
        .iter()
        .filter(|a| a["kind"] == "sweep")
        .flat_map(|a| a["result"]["curves"].as_array().unwrap().iter())
        .map(|c| c["voltage"].as_array().unwrap().len())
        .sum();
    for format in ["parquet", "csv"] {
        let out = dir.join(format!("points.{format}"));
        let status = bin()
            .args(["db", "export", &run_id, "--format", format, "--out"])
            .arg(&out)
            .arg("--db")
            .arg(&db)
            .status()
            .expect("export");
        assert!(status.success());
        let df = pvstation::store::table::read_table(&out).expect("table");
        assert_eq!(df.height(), points, "{format}");
        assert!(df.column("raw_sha256").is_ok() && df.column("voltage").is_ok());
    }
}

#[test]
fn bit_calibration_finds_the_simulated_testers_errors() {
    let dir = tempdir("engine-bit");
    let db = dir.join("s.db");
    let (code, events, stderr) = run(
        &db,
        &[
            "bit-calibration",
            "--speed",
            "50",
            "--set",
            "readings=4",
            "--answer",
            "lab_temperature=23.4",
            "--answer",
            "lab_humidity=45",
            "--answer",
            "connect=ok",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let results = &last_finished(&events)["results"];
    // The simulated tester: R_ind = R·(1 + 0.0015) + 2 µΩ; V_ind = V·(1 − 0.0002) + 30 µV
    // (src/sim/world.rs TesterErrors); the standards' true values equal their certificates.
    for (id, r) in [
        ("SR-1m", 1.00012e-3),
        ("SR-10m", 10.0008e-3),
        ("SR-100m", 99.9971e-3),
        ("SR-1", 1.000043),
        ("SR-10", 9.99986),
    ] {
        let p = &results[format!("resistance {id}")];
        let truth = r * 0.0015 + 2e-6;
        let (e, u95) = (p["value"].as_f64().unwrap(), p["U"].as_f64().unwrap());
        assert!((e - truth).abs() <= u95, "{id}: E {e} vs {truth} ± {u95}");
        assert_eq!(p["verdict"], "pass", "{p}");
    }
    for v in [1.0, 5.0, 10.0, 50.0] {
        let p = &results[format!("voltage {v} V")];
        let truth = -0.0002 * v + 30e-6;
        let (e, u95) = (p["value"].as_f64().unwrap(), p["U"].as_f64().unwrap());
        assert!((e - truth).abs() <= u95, "{v} V: E {e} vs {truth} ± {u95}");
    }
    // The prompt answers are in the audit trail.
    let conn = rusqlite::Connection::open(&db).expect("db");
    let answers: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM audit WHERE action = 'prompt.answer' AND details LIKE '%23.4%'",
            [],
            |r| r.get(0),
        )
        .expect("audit");
    assert_eq!(answers, 1);
    assert!(audit_ok(&db));
    // Its certificate: the error plots with U and the MPE band, a valid DCC.
    let run_id = last_finished(&events)["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = bin()
        .args(["report", &run_id, "--out"])
        .arg(dir.join("certificate"))
        .arg("--db")
        .arg(&db)
        .args([
            "--customer",
            "Battery Tester Maker Ltd",
            "--customer-email",
            "qa@example.org",
            "--item",
            "Hioki BT3562 S/N 0",
            "--received",
            "2026-06-20",
            "--signatory",
            "Li Wei",
            "--checked-by",
            "Zhang Min",
        ])
        .output()
        .expect("report");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let number = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    check_pdf(
        &dir.join(format!("certificate/{number}.pdf")),
        &[
            "Error of indication: resistance (1 kHz)",
            "Error of indication: DC voltage",
            "Annex: uncertainty budget, resistance SR-10m",
            "Resistance (1 kHz AC): error of indication",
            "PIM-R-2026-1102",
            "PIM-E-2026-0877",
        ],
    );
    assert_valid_dcc(&dir.join(format!("certificate/{number}.dcc.xml")));
}

/// SIGKILL `pvstation run` at 20+ random moments of an outdoor run and resume each time.
#[test]
fn killed_runs_resume_without_losing_or_duplicating_activities() {
    let dir = tempdir("engine-kill");
    let db = dir.join("s.db");
    // ~11 s of live work at ×20: long enough for 20 kills with progress between them.
    let args = ["outdoor-pmax", "--speed", "20", "--set", "sweeps=12"];
    // Deterministic "random" moments (LCG, Numerical Recipes constants).
    let mut state: u64 = 0x5eed;
    let mut next_delay = || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223) % (1 << 32);
        Duration::from_millis(100 + state % 900)
    };
    let mut run_id: Option<String> = None;
    let mut live_journaled: Vec<(i64, String)> = Vec::new();
    let mut kills = 0;
    let mut finished = None;
    while finished.is_none() {
        let mut cmd = bin();
        cmd.arg("run")
            .args(args)
            .args(["--json", "--headless", "--db"])
            .arg(&db)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(id) = &run_id {
            cmd.args(["--resume", id]);
        }
        let mut child = cmd.spawn().expect("spawn");
        let stdout = child.stdout.take().expect("stdout");
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| serde_json::from_str::<Value>(&l).ok())
                .collect::<Vec<_>>()
        });
        if kills < 20 {
            std::thread::sleep(next_delay());
            if child.try_wait().expect("wait").is_none() {
                child.kill().expect("SIGKILL");
                kills += 1;
            }
        }
        let status = child.wait().expect("reaped");
        let events = reader.join().expect("reader");
        for e in &events {
            match e["event"].as_str() {
                Some("started") => {
                    let id = e["run_id"].as_str().unwrap().to_string();
                    assert!(run_id.as_ref().is_none_or(|r| *r == id));
                    run_id = Some(id);
                }
                Some("activity") if e["replayed"] == false && e["status"] == "ok" => {
                    let seq = e["seq"].as_i64().unwrap();
                    let kind = e["kind"].as_str().unwrap().to_string();
                    // A live activity never repeats a journaled one.
                    assert!(
                        !live_journaled.iter().any(|(s, _)| *s == seq),
                        "activity {seq} performed live twice"
                    );
                    live_journaled.push((seq, kind));
                }
                Some("finished") => finished = Some((status.code(), e.clone())),
                _ => {}
            }
        }
    }
    assert!(kills >= 20, "only {kills} kills");
    let (code, fin) = finished.unwrap();
    assert_eq!(code, Some(0), "{fin}");
    assert_eq!(fin["status"], "completed");
    let run_id = run_id.unwrap();
    let record = show(&db, &run_id);
    let journal: Vec<(i64, String)> = record["activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["seq"].as_i64().unwrap(),
                a["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // Every activity reported as journaled before a kill is in the journal exactly once, at
    // its position.
    for (seq, kind) in &live_journaled {
        assert_eq!(
            journal.iter().filter(|(s, _)| s == seq).count(),
            1,
            "activity {seq}"
        );
        assert!(
            journal.contains(&(*seq, kind.clone())),
            "activity {seq} {kind}"
        );
    }
    for (k, (seq, _)) in journal.iter().enumerate() {
        assert_eq!(*seq, k as i64 + 1, "no gaps, no duplicates");
    }
    // As many accepted sweeps as an uninterrupted run.
    let reference_db = dir.join("reference.db");
    let (code, events, _) = run(&reference_db, &[&args[..2], &["50"], &args[3..]].concat());
    assert_eq!(code, Some(0));
    let uninterrupted = &last_finished(&events)["results"]["p_mp_stc"]["curves"];
    assert_eq!(&fin["results"]["p_mp_stc"]["curves"], uninterrupted);
    assert_eq!(uninterrupted, 24);
    let resumed = record["interruptions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "resumed")
        .count();
    assert!(resumed >= 1, "resumptions are recorded as interruptions");
    assert!(audit_ok(&db));
    // The resumed run re-executes from its journal to exactly its stored results.
    let (code, v) = verify(&db, &run_id);
    assert_eq!(code, Some(0), "{v}");
}

#[test]
fn a_connection_dropped_mid_sweep_and_a_reboot_are_recorded_and_the_sweep_retaken() {
    for fault in ["smu:drop=sweep", "smu:reboot@15"] {
        let dir = tempdir(&format!(
            "engine-fault-{}",
            fault.replace([':', '=', '@'], "-")
        ));
        let db = dir.join("s.db");
        let (code, events, stderr) =
            run(&db, &[&["outdoor-pmax", "--faults", fault], FAST].concat());
        assert_eq!(code, Some(0), "{fault}: {stderr}\n{events:?}");
        let fin = last_finished(&events);
        assert_eq!(fin["results"]["p_mp_stc"]["curves"], 4, "{fault}");
        let record = show(&db, fin["run_id"].as_str().unwrap());
        let faults: Vec<&Value> = record["interruptions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["kind"] == "instrument_fault")
            .collect();
        assert!(!faults.is_empty(), "{fault}: {}", record["interruptions"]);
        // The fault names the instrument that failed (the console marks that row).
        for f in &faults {
            assert_eq!(f["details"]["instrument"], "smu", "{fault}: {f}");
        }
        assert!(
            events
                .iter()
                .any(|e| e["event"] == "interruption" && e["instrument"] == "smu"),
            "{fault}: {events:?}"
        );
        let failed_sweeps = record["activities"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["kind"] == "sweep" && a["status"] == "error")
            .count();
        assert!(failed_sweeps >= 1, "{fault}: the failed sweep is journaled");
    }
}

/// A start time at which a cloud reaches the sun shortly after the gate first holds.
fn cloudy_start(seed: u64) -> f64 {
    use pvstation::sim::world::{World, WorldConfig};
    let defaults = WorldConfig::default();
    let world = World::new(WorldConfig {
        seed,
        ..defaults.clone()
    });
    let mut t = defaults.start;
    while t < defaults.start + 6.0 * 3600.0 {
        let g = |x: f64| world.irradiance(x);
        let calm = (0..30).all(|k| (g(t + k as f64) / g(t) - 1.0).abs() < 0.002) && g(t) > 900.0;
        let dips = (30..90).any(|k| g(t + k as f64) / g(t) < 0.97);
        if calm && dips {
            return t;
        }
        t += 5.0;
    }
    panic!("no passing cloud within 6 h for seed {seed}");
}

#[test]
fn the_suspender_holds_sweeps_until_the_sun_is_stable_and_records_interruptions() {
    let dir = tempdir("engine-clouds");
    let db = dir.join("s.db");
    let start = cloudy_start(1).to_string();
    let (code, events, stderr) = run(
        &db,
        &[
            "outdoor-pmax",
            "--speed",
            "50",
            "--set",
            "sweeps=4",
            "--set",
            "retries=20",
            // 1001-point sweeps take 21 s: long enough for a cloud to break one.
            "--set",
            "points=1001",
            "--sim-start",
            &start,
        ],
    );
    assert_eq!(code, Some(0), "{stderr}\n{:?}", events.last());
    let fin = last_finished(&events);
    let record = show(&db, fin["run_id"].as_str().unwrap());
    let activities = record["activities"].as_array().unwrap();
    let waits: Vec<&Value> = activities
        .iter()
        .filter(|a| a["kind"] == "wait_stable")
        .collect();
    assert!(
        waits
            .iter()
            .any(|w| w["result"]["waited"].as_f64().unwrap() > 15.0),
        "a cloud made the gate wait"
    );
    // Every accepted sweep lies inside a stability window: the gate held right before it
    // (≥ 10 s, ≤ 1 %, ≥ 800 W/m²) and the irradiance stayed within 1 % during it.
    let mut accepted = 0;
    for pair in activities.windows(2) {
        let (w, s) = (&pair[0], &pair[1]);
        if w["kind"] != "wait_stable" || s["kind"] != "sweep" || s["status"] != "ok" {
            continue;
        }
        let window = &w["result"];
        let span = window["to"].as_f64().unwrap() - window["from"].as_f64().unwrap();
        assert!(
            span >= 10.0 && window["variation"].as_f64().unwrap() <= 0.01,
            "{window}"
        );
        assert!(window["irradiance"].as_f64().unwrap() >= 800.0);
        let g: Vec<f64> = s["result"]["irradiance"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x[1].as_f64().unwrap())
            .collect();
        let mean = g.iter().sum::<f64>() / g.len() as f64;
        let variation = g.iter().map(|x| (x - mean).abs()).fold(0.0, f64::max) / mean;
        let interruption = record["interruptions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["seq"] == s["seq"] && i["kind"] == "unstable_conditions");
        let retaken = interruption.is_some();
        if variation <= 0.01 {
            // A sweep in steady sun is retaken only for its temperature (it changed across
            // the sweep, or the reading was old), and then says so.
            if let Some(i) = interruption {
                let failed = i["details"]["failed_checks"].to_string();
                assert!(
                    failed.contains("module_temperature_change_during_sweep")
                        || failed.contains("temperature_reading_timing"),
                    "{i}"
                );
            } else {
                accepted += 1;
            }
        } else {
            assert!(retaken, "an unstable sweep was not marked");
        }
    }
    assert_eq!(accepted, 4);
    let unstable = record["interruptions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "unstable_conditions")
        .count();
    assert!(
        unstable >= 1,
        "a cloud broke a sweep: {}",
        record["interruptions"]
    );
    assert_eq!(fin["results"]["p_mp_stc"]["curves"], 8);
}

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).expect("script");
    path
}

const DECLARE: &str = r#"fn procedure() {
    #{ name: "t", version: "1", description: "test", roles: ["iv_tracer"], parameters: [] }
}
"#;

#[test]
fn bad_scripts_are_located_refused_and_leave_instruments_safe() {
    let dir = tempdir("engine-bad");
    let db = dir.join("s.db");
    // Syntax error: reported before any instrument is touched (no run is even started).
    let bad = script(
        &dir,
        "syntax.rhai",
        &format!("{DECLARE}fn run(p) {{\n    let x = ;\n}}\n"),
    );
    let (code, events, stderr) = run(&db, &[bad.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(events.is_empty());
    assert!(stderr.contains("syntax.rhai:5:13"), "{stderr}");
    // Runtime error after a measurement: the run fails, the data stay, instruments are safe.
    let boom = script(
        &dir,
        "boom.rhai",
        &format!(
            "{DECLARE}fn run(p) {{\n    let s = sweep(#{{ points: 21 }});\n    let x = s.curves[0].voltage[0] / \"volts\";\n}}\n"
        ),
    );
    let (code, events, _) = run(&db, &[boom.to_str().unwrap(), "--speed", "20"]);
    assert_eq!(code, Some(1));
    let fin = last_finished(&events);
    assert_eq!(fin["status"], "failed");
    let reason = fin["reason"].as_str().unwrap();
    assert!(
        reason.contains("boom.rhai:6:36") && reason.contains("does not apply to these types"),
        "{reason}"
    );
    let run_id = fin["run_id"].as_str().unwrap();
    let record = show(&db, run_id);
    assert_eq!(
        record["activities"].as_array().unwrap().len(),
        1,
        "the sweep is kept"
    );
    assert!(
        io_log_contains(&db, run_id, "smu", ":OUTP OFF"),
        "the SMU output was switched off"
    );
    // Files, the network and processes are out of reach.
    for (name, call) in [
        ("file.rhai", "open_file(\"/etc/passwd\")"),
        ("net.rhai", "http_get(\"http://example.com\")"),
        ("exec.rhai", "system(\"rm -rf /\")"),
    ] {
        let s = script(
            &dir,
            name,
            &format!("{DECLARE}fn run(p) {{\n    {call};\n}}\n"),
        );
        let (code, events, _) = run(&db, &[s.to_str().unwrap(), "--speed", "20"]);
        assert_eq!(code, Some(1));
        let reason = last_finished(&events)["reason"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            reason.contains(&format!("{name}:5:5")) && reason.contains("refused"),
            "{reason}"
        );
    }
    assert!(audit_ok(&db));
}

/// Whether the stored I/O log of a run holds a write of `command` to `instrument`.
fn io_log_contains(db: &Path, run_id: &str, instrument: &str, command: &str) -> bool {
    let conn = rusqlite::Connection::open(db).expect("db");
    let mut stmt = conn
        .prepare("SELECT bytes FROM io_log WHERE run_id = ?1 AND instrument = ?2 AND direction = 'write'")
        .expect("query");
    let rows = stmt
        .query_map([run_id, instrument], |r| r.get::<_, Vec<u8>>(0))
        .expect("rows");
    rows.filter_map(Result::ok)
        .any(|b| String::from_utf8_lossy(&b).contains(command))
}

#[test]
fn headless_prompts_without_an_answer_fail_clearly_and_never_wait() {
    let dir = tempdir("engine-prompt");
    let db = dir.join("s.db");
    let (code, events, _) = run(&db, &["bit-calibration", "--speed", "50"]);
    assert_eq!(code, Some(1));
    let reason = last_finished(&events)["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        reason.contains("prompt `lab_temperature`") && reason.contains("--answer lab_temperature="),
        "{reason}"
    );
}

#[test]
fn changed_scripts_and_stations_cannot_resume_and_tampering_is_detected() {
    let dir = tempdir("engine-change");
    let db = dir.join("s.db");
    let body =
        format!("{DECLARE}fn run(p) {{\n    let c = conditions();\n    throw \"stop here\";\n}}\n");
    let s = script(&dir, "p.rhai", &body);
    let (_, events, _) = run(&db, &[s.to_str().unwrap(), "--speed", "20"]);
    let run_id = events[0]["run_id"].as_str().unwrap().to_string();
    // A stopped run cannot be resumed; nor can one whose script changed.
    let (code, _, stderr) = run(&db, &[s.to_str().unwrap(), "--resume", &run_id]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("already stopped (failed)"), "{stderr}");
    std::fs::write(&s, body.replace("stop here", "stop there")).expect("edit");
    let (code, _, stderr) = run(&db, &[s.to_str().unwrap(), "--resume", &run_id]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("changed since the run started"), "{stderr}");
    // Another station file.
    let station = std::fs::read_to_string(repo("instruments/stations/demo-sim.toml"))
        .expect("station")
        .replace("seed = 1", "seed = 2");
    let station_path = dir.join("other.toml");
    std::fs::write(&station_path, station).expect("station");
    let (code, _, stderr) = run(
        &db,
        &[
            s.to_str().unwrap(),
            "--resume",
            &run_id,
            "--station",
            station_path.to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(2));
    assert!(stderr.contains("station file changed"), "{stderr}");
    // An edited raw row or audit entry is detected, even behind the triggers' back.
    let tamper = |sql: &str| {
        let copy = dir.join("tampered.db");
        std::fs::copy(&db, &copy).expect("copy");
        let conn = rusqlite::Connection::open(&copy).expect("db");
        conn.execute_batch(sql).expect("tamper");
        drop(conn);
        let out = bin()
            .args(["audit", "verify", "--db"])
            .arg(&copy)
            .output()
            .expect("verify");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    assert!(audit_ok(&db));
    let (code, text) = tamper(
        "DROP TRIGGER raw_no_update; UPDATE raw SET data = data || ' ' WHERE id = (SELECT MIN(id) FROM raw);",
    );
    assert_eq!(code, Some(1));
    assert!(text.contains("ALTERED at raw record"), "{text}");
    let (code, text) =
        tamper("DROP TRIGGER audit_no_update; UPDATE audit SET actor = 'mallory' WHERE id = 1;");
    assert_eq!(code, Some(1));
    assert!(text.contains("BROKEN at entry 1"), "{text}");
}

#[test]
fn ctrl_c_aborts_safely_and_records_the_stop() {
    let dir = tempdir("engine-abort");
    let db = dir.join("s.db");
    let mut child = bin()
        .args([
            "run",
            "outdoor-pmax",
            "--speed",
            "5",
            "--json",
            "--headless",
            "--db",
        ])
        .arg(&db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let run_id = first["run_id"].as_str().unwrap().to_string();
    std::thread::sleep(Duration::from_millis(800));
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let rest: Vec<Value> = lines
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str(&l).ok())
        .collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    let fin = last_finished(&rest);
    assert_eq!(fin["status"], "aborted");
    assert_eq!(show(&db, &run_id)["stop"]["status"], "aborted");
    assert!(io_log_contains(&db, &run_id, "smu", ":OUTP OFF"));
    assert!(audit_ok(&db));
}

#[test]
fn procedures_are_listed_shown_and_dry_run() {
    let out = bin().args(["procedures", "list"]).output().expect("list");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("outdoor-pmax") && text.contains("bit-calibration"),
        "{text}"
    );
    let out = bin()
        .args(["procedures", "show", "outdoor-pmax", "--json"])
        .output()
        .expect("show");
    let d: Value = serde_json::from_slice(&out.stdout).expect("json");
    let sweeps = d["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "sweeps")
        .unwrap();
    assert_eq!(sweeps["type"], "int");
    assert_eq!(d["roles"][0], "iv_tracer");
    let out = bin()
        .args([
            "run",
            "outdoor-pmax",
            "--dry-run",
            "--set",
            "sweeps=5",
            "--station",
        ])
        .arg(repo("instruments/stations/demo-sim.toml"))
        .output()
        .expect("dry run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("\"sweeps\":5"),
        "{text}"
    );
    let out = bin()
        .args(["run", "outdoor-pmax", "--dry-run", "--set", "sweeps=0"])
        .output()
        .expect("dry run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("below the minimum 1"));
}

#[test]
fn the_queue_runs_in_order_reports_failures_and_resumes_after_a_crash() {
    let dir = tempdir("engine-queue");
    let db = dir.join("q.db");
    let queue = |args: &[&str]| {
        bin()
            .arg("queue")
            .args(args)
            .arg("--db")
            .arg(&db)
            .output()
            .expect("queue")
    };
    // Refused at `add`, not at 3 a.m.
    let out = queue(&["add", "outdoor-pmax", "--set", "sweeps=0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("below the minimum 1"));
    let out = queue(&["add", "outdoor-pmax", "--window", "25:00-01:00"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("HH:MM-HH:MM"));
    // An outdoor run, a calibration without its prompt answers (fails), one with them.
    assert!(
        queue(&["add", "outdoor-pmax", "--set", "sweeps=6"])
            .status
            .success()
    );
    assert!(
        queue(&["add", "bit-calibration", "--set", "readings=2"])
            .status
            .success()
    );
    assert!(
        queue(&[
            "add",
            "bit-calibration",
            "--set",
            "readings=2",
            "--answer",
            "lab_temperature=23",
            "--answer",
            "lab_humidity=45",
            "--answer",
            "connect=ok",
            "--window",
            "00:00-23:59",
        ])
        .status
        .success()
    );
    assert!(
        queue(&["add", "outdoor-pmax", "--not-before", "2099-01-01 00:00"])
            .status
            .success()
    );
    assert!(queue(&["remove", "4"]).status.success());
    let out = queue(&["remove", "4"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("only pending"));
    // Crash the queue during the outdoor run …
    let mut child = bin()
        .args(["queue", "run", "--json", "--speed", "20", "--db"])
        .arg(&db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("queue run");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut first_run = None;
    for line in lines.by_ref() {
        let e: Value = serde_json::from_str(&line.unwrap()).unwrap_or_default();
        if e["event"] == "started" {
            first_run = e["run_id"].as_str().map(String::from);
        }
        if e["event"] == "activity" && e["kind"] == "sweep" {
            break;
        }
    }
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    let first_run = first_run.expect("the outdoor run started");
    // … and run it again: the interrupted item resumes its run, then the rest follow.
    let out = bin()
        .args(["queue", "run", "--json", "--speed", "50", "--db"])
        .arg(&db)
        .output()
        .expect("queue run");
    assert_eq!(out.status.code(), Some(1), "one item failed");
    let events: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let started: Vec<&Value> = events.iter().filter(|e| e["event"] == "started").collect();
    assert_eq!(started[0]["run_id"], first_run.as_str());
    assert_eq!(started[0]["resumed"], true);
    let summary = events.last().unwrap();
    assert_eq!(summary["event"], "queue_finished");
    let items = summary["items"].as_array().unwrap();
    let statuses: Vec<&str> = items
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["completed", "failed", "completed"]);
    assert!(
        items[1]["reason"]
            .as_str()
            .unwrap()
            .contains("--answer lab_temperature=")
    );
    assert_eq!(summary["failed"], 1);
    let record = show(&db, &first_run);
    assert_eq!(record["stop"]["status"], "completed");
    assert_eq!(record["results"]["p_mp_stc"]["curves"], 12);
    let listed = String::from_utf8_lossy(&queue(&["list", "--all"]).stdout).into_owned();
    assert!(listed.contains("removed"), "{listed}");
    assert!(audit_ok(&db));
}

#[test]
fn iec60891_params_from_a_cooled_module_and_passing_clouds() {
    let dir = tempdir("engine-params");
    let db = dir.join("s.db");
    // The simulated operator's cover cools the module (sim::world::World::operator_action);
    // the sky of seed 1 sends clouds within the two hours.
    let (code, events, stderr) = run(
        &db,
        &[
            "iec60891-params",
            "--speed",
            "500",
            "--answer",
            "cooled=ok",
            "--set",
            "procedure=2",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}\n{:?}", events.last());
    let r = &last_finished(&events)["results"];
    // The simulated module is the CEC CS5P-220M record: its curves' α and β are the OLS slopes
    // of pvlib's curves (reference.json `tempco_astm_e1036_ols`: 0.004136 A/K, −0.2429 V/K;
    // not the record's 0.004539 and −0.2222, see metrology.rs), and the procedure-1 Rs fitted
    // on its pvlib curves is 1.290 Ω (standards.md §1.11). Each estimate within 3 u.
    let tempco = &crate::metrology::reference_json()["tempco_astm_e1036_ols"];
    let within = |k: &str, truth: f64, n: f64| {
        let (v, u) = (r[k]["value"].as_f64().unwrap(), r[k]["u"].as_f64().unwrap());
        assert!(
            u > 0.0 && (v - truth).abs() <= n * u,
            "{k}: {v} ± {u} vs {truth}"
        );
    };
    within("alpha", tempco["alpha_isc"]["value"].as_f64().unwrap(), 3.0);
    // β: the outdoor temperature series lands 1.5 % above the truth, well outside its stated
    // u (which holds only the regression's scatter): during warm-up the cells run ahead of
    // the back-of-module sensors, and Voc is not corrected for the ±2 % irradiance band. A
    // known limitation of the warm-up method until the cell temperature is modelled (ECT);
    // bounded here at 2.5 % so that a worse bias fails.
    let beta_truth = tempco["beta_voc"]["value"].as_f64().unwrap();
    let beta = r["beta"]["value"].as_f64().unwrap();
    assert!(
        ((beta - beta_truth) / beta_truth).abs() <= 0.025,
        "beta {beta} vs {beta_truth}"
    );
    // Rs and R's: the jackknife u of a few outdoor curves at one temperature (0.008–0.31 Ω
    // over 14 runs) understates the run-to-run spread, and the outdoor series lands below the
    // exact pvlib curves' value (14 runs: Rs 1.05–1.31 Ω, mean 1.20 Ω against 1.290; R's
    // 0.89–1.17 Ω against 1.080; the sky is sampled at moments that depend on the machine's
    // load). Each is bounded at 3 u or 20 %, whichever is wider, so that a worse bias fails.
    let near = |k: &str, truth: f64| {
        let (v, u) = (r[k]["value"].as_f64().unwrap(), r[k]["u"].as_f64().unwrap());
        assert!(
            u > 0.0 && (v - truth).abs() <= (3.0 * u).max(0.20 * truth),
            "{k}: {v} ± {u} vs {truth}"
        );
    };
    near("rs", 1.290);
    assert!(r["series"]["temperature_span"].as_f64().unwrap() >= 5.0);
    // Rs from one temperature only (±2 K), and procedure 2's own a and R's (standards.md
    // §1.11: 0.046 and 1.080 Ω on the record's curves, not procedure 1's 1.290 Ω).
    let window = r["series"]["rs_temperature_window"].as_array().unwrap();
    let width = window[1].as_f64().unwrap() - window[0].as_f64().unwrap();
    assert!((0.0..=4.0).contains(&width), "{window:?}");
    eprintln!(
        "a {} ± {}, R's {} ± {}, κ' {} ± {}; Rs window {window:?}, rejected {}",
        r["a"]["value"],
        r["a"]["u"],
        r["rs_prime"]["value"],
        r["rs_prime"]["u"],
        r["kappa_prime"]["value"],
        r["kappa_prime"]["u"],
        r["series"]["rs_rejected"]
    );
    near("rs_prime", 1.080);
    // a: within 12 % of the record's 0.046. Its jackknife u (≈ 0.001) understates the
    // run-to-run spread of an outdoor series of a few curves at one temperature (0.045 and
    // 0.050 in two runs of this test, the sky sampled at different moments).
    let a = r["a"]["value"].as_f64().unwrap();
    assert!((a / 0.046 - 1.0).abs() <= 0.12, "a = {a}");
    let record = show(&db, last_finished(&events)["run_id"].as_str().unwrap());
    assert!(
        record["activities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "sleep"),
        "waiting between checks is journaled (a resumed run does not wait again)"
    );
}

#[test]
fn reference_check_tracks_the_drifting_working_cell_and_alarms() {
    let dir = tempdir("engine-refcheck");
    let db = dir.join("s.db");
    // The simulated working cell RC-01 drifts −1 %/year from its calibration (2026-03-11);
    // the check cell RC-02 does not. Three daily checks at noon, 0, 250 and 500 days on.
    let noon = 1_782_018_000u64;
    let mut results = Vec::new();
    for days in [0u64, 250, 500] {
        let start = (noon + days * 86_400).to_string();
        let (code, events, stderr) = run(
            &db,
            &["reference-check", "--speed", "50", "--sim-start", &start],
        );
        assert_eq!(code, Some(0), "{stderr}\n{:?}", events.last());
        assert_eq!(events[0]["event"], "started", "the first JSON line");
        if days == 500 {
            assert!(
                events.iter().any(|e| e["event"] == "warning"
                    && e["message"]
                        .as_str()
                        .unwrap()
                        .contains("NIM-PV-2026-0311 expired")),
                "an expired certificate is warned about"
            );
        }
        results.push(last_finished(&events)["results"].clone());
    }
    let d = |k: usize| results[k]["deviation"]["value"].as_f64().unwrap();
    let u95 = |k: usize| results[k]["deviation"]["U"].as_f64().unwrap();
    for (k, days) in [0.0, 250.0, 500.0].iter().enumerate() {
        let truth = -0.01 * (days + 102.0) / 365.25;
        assert!(
            (d(k) - truth).abs() < 0.002,
            "check {k}: {} vs {truth}",
            d(k)
        );
    }
    assert_eq!(results[0]["alarm"]["value"], false);
    assert!(d(2).abs() > u95(2));
    assert_eq!(results[2]["alarm"]["value"], true);
    let trend = &results[2]["trend"];
    assert_eq!(trend["checks"], 3);
    assert!(
        (trend["value"].as_f64().unwrap() + 0.01).abs() < 0.002,
        "{trend}"
    );
    assert!(results[1]["trend"].is_null(), "a trend needs 3 checks");
}

#[test]
fn references_are_recorded_checked_and_traced_to_the_runs_that_used_them() {
    let dir = tempdir("engine-refs");
    let db = dir.join("s.db");
    let (code, events, _) = run(
        &db,
        &[
            "bit-calibration",
            "--speed",
            "50",
            "--set",
            "readings=2",
            "--set",
            "standards=SR-10m,SR-1",
            "--set",
            "voltages=5",
            "--answer",
            "lab_temperature=23",
            "--answer",
            "lab_humidity=45",
            "--answer",
            "connect=ok",
        ],
    );
    assert_eq!(code, Some(0));
    let run_id = events[0]["run_id"].as_str().unwrap().to_string();
    let refs = |args: &[&str]| {
        let out = bin().arg("refs").args(args).output().expect("refs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let db_arg = db.to_str().unwrap();
    // Used: the two standards and the calibrator; not used: the other standards, the cells.
    for (certificate, used) in [
        ("PIM-R-2026-1102", true),
        ("PIM-R-2026-1104", true),
        ("PIM-E-2026-0877", true),
        ("PIM-R-2026-1101", false),
        ("NIM-PV-2026-0311", false),
    ] {
        let (code, text) = refs(&["trace", certificate, "--db", db_arg, "--json"]);
        assert_eq!(code, Some(0));
        assert_eq!(text.contains(&run_id), used, "{certificate}: {text}");
    }
    let (_, text) = refs(&["list", "--db", db_arg, "--json"]);
    let recorded = text.lines().filter(|l| l.contains("\"database\"")).count();
    assert_eq!(
        recorded, 8,
        "every certificate the station presented is recorded"
    );
    // Due dates: 30-day warning, failure once passed.
    let (code, text) = refs(&["check", "--date", "2026-12-01"]);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = refs(&["check", "--date", "2027-05-10"]);
    assert_eq!(code, Some(1));
    assert!(
        text.contains("RC-01") && text.contains("EXPIRED 60 days ago"),
        "{text}"
    );
    assert!(text.contains("DUE in 10 days"), "{text}");
}

fn verify(db: &Path, run_id: &str) -> (Option<i32>, Value) {
    let out = bin()
        .args(["runs", "verify", run_id, "--json", "--db"])
        .arg(db)
        .output()
        .expect("verify");
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), v)
}

#[test]
fn a_stored_run_re_executes_to_the_same_results_and_edits_are_found() {
    let dir = tempdir("engine-verify");
    let db = dir.join("s.db");
    let (code, events, _) = run(&db, &[&["outdoor-pmax"], FAST].concat());
    assert_eq!(code, Some(0));
    let run_id = events[0]["run_id"].as_str().unwrap().to_string();
    let (code, v) = verify(&db, &run_id);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["differences"], serde_json::json!([]));
    assert!(v["results"].as_u64().unwrap() >= 3 && v["activities"].as_u64().unwrap() >= 4);
    // Currents of the journaled sweeps edited behind the triggers: Pmax no longer follows.
    let copy = dir.join("edited.db");
    std::fs::copy(&db, &copy).expect("copy");
    let conn = rusqlite::Connection::open(&copy).expect("db");
    conn.execute_batch("DROP TRIGGER activities_no_update;")
        .expect("drop trigger");
    let edited = conn
        .execute(
            "UPDATE activities SET result = replace(result, ',5.6', ',5.4') WHERE kind = 'sweep'",
            [],
        )
        .expect("edit");
    assert!(edited > 0);
    drop(conn);
    let (code, v) = verify(&copy, &run_id);
    assert_eq!(code, Some(1), "{v}");
    let what: Vec<&str> = v["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["what"].as_str().unwrap())
        .collect();
    assert!(what.contains(&"result `p_mp_stc`"), "{what:?}");
}

#[test]
fn reports_are_complete_numbered_revised_and_verifiable() {
    let dir = tempdir("engine-report");
    let db = dir.join("s.db");
    let db_arg = db.to_str().unwrap().to_string();
    let (code, events, _) = run(&db, &[&["outdoor-pmax"], FAST].concat());
    assert_eq!(code, Some(0));
    let run_id = events[0]["run_id"].as_str().unwrap().to_string();
    let report = |out: &str, extra: &[&str]| {
        let out = bin()
            .args(["report", &run_id, "--out"])
            .arg(dir.join(out))
            .args(["--db", &db_arg])
            .args(extra)
            .output()
            .expect("report");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // Incomplete: refused with the list; a draft is allowed, watermarked and unnumbered.
    let (code, _, stderr) = report("refused", &[]);
    assert_eq!(code, Some(1));
    for needle in [
        "customer",
        "identification of the item",
        "date of receipt",
        "signatory",
    ] {
        assert!(stderr.contains(needle), "{stderr}");
    }
    assert!(
        !dir.join("refused").exists(),
        "nothing written for a refused report"
    );
    let (code, _, _) = report("draft", &["--draft"]);
    assert_eq!(code, Some(0));
    let html = std::fs::read_to_string(dir.join(format!("draft/DRAFT-{run_id}.html"))).unwrap();
    assert!(html.contains("class=\"watermark\">DRAFT") && html.contains("<svg"));
    let complete = [
        "--customer",
        "Example Solar Co., Xining",
        "--customer-email",
        "qa@example-solar.cn",
        "--item",
        "CS5P-220M S/N 0042",
        "--received",
        "2026-06-15",
        "--signatory",
        "Li Wei",
        "--role",
        "Technical manager",
        "--checked-by",
        "Zhang Min",
    ];
    let (code, stdout, stderr) = report("final", &complete);
    assert_eq!(code, Some(0), "{stderr}");
    // The first certificate of the issue year: PVS-<year>-0001, the year being the issue
    // date's (whatever today is; numbering across a change of year has its own unit test).
    let number = stdout
        .split_whitespace()
        .find(|w| w.starts_with("PVS-") && w.ends_with("-0001"))
        .unwrap_or_else(|| panic!("no certificate number in {stdout}"))
        .to_string();
    let json: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(format!("final/{number}.json"))).unwrap(),
    )
    .unwrap();
    let issued = json["dates"]["issue"].as_str().expect("issue date");
    assert_eq!(number, format!("PVS-{}-0001", &issued[..4]), "{stdout}");
    for key in [
        "certificate",
        "laboratory",
        "customer",
        "item",
        "dates",
        "method",
        "conditions",
        "results",
        "traceability",
        "conformity",
        "deviations",
        "statements",
        "signatory",
        "raw_data",
    ] {
        assert!(!json[key].is_null(), "missing {key}");
    }
    assert!(
        json["raw_data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["sha256"].as_str().unwrap().len() == 64)
    );
    assert_eq!(
        json["traceability"][0]["certificate"]["number"],
        "NIM-PV-2026-0311"
    );
    let html = std::fs::read_to_string(dir.join(format!("final/{number}.html"))).unwrap();
    for needle in [
        "Main measurement standards and instruments",
        "Annex: uncertainty budget, Maximum power Pmax",
        "Statement of conformity",
        "results relate only to the item calibrated",
        "Li Wei",
        "Zhang Min",
        "End of certificate",
        "lang=\"zh\"",
    ] {
        assert!(html.contains(needle), "missing {needle}");
    }
    // What to recall if RC-01 turns out faulty: this run and its report.
    let out = bin()
        .args([
            "refs",
            "trace",
            "NIM-PV-2026-0311",
            "--json",
            "--db",
            &db_arg,
        ])
        .output()
        .expect("trace");
    let trace = String::from_utf8_lossy(&out.stdout);
    assert!(
        trace.contains(&run_id) && trace.contains(&number),
        "{trace}"
    );
    // A reissue is a new revision pointing at the previous one.
    let (code, stdout, _) = report("reissue", &complete);
    assert_eq!(code, Some(0));
    assert!(
        stdout.contains(&format!("{number}-R1")) && stdout.contains(&format!("replaces {number}")),
        "{stdout}"
    );
    let dcc = std::fs::read_to_string(dir.join(format!("reissue/{number}-R1.dcc.xml"))).unwrap();
    assert!(dcc.contains("<dcc:previousReport>") && dcc.contains(r"<si:unit>\watt</si:unit>"));
    assert!(dcc.contains(r"\watt\metre\tothe{-2}") && dcc.contains("<dcc:conformity>"));
    for path in [
        dir.join(format!("final/{number}.dcc.xml")),
        dir.join(format!("reissue/{number}-R1.dcc.xml")),
    ] {
        assert_valid_dcc(&path);
    }
    check_pdf(
        &dir.join(format!("final/{number}.pdf")),
        &[
            "Calibration certificate",
            &format!("Certificate No. {number} — 第 1 页"),
            "Example Solar Co., Xining",
            "CS5P-220M S/N 0042",
            "Date of receipt",
            "Method",
            "Location and environmental conditions",
            "Results",
            "Standard test conditions (STC): irradiance 1000 W/m², cell temperature 25 °C",
            "Short-circuit current Isc",
            "Measured and STC-translated I-V and P-V curves",
            "Annex: uncertainty budget, Maximum power Pmax",
            "Irradiance and module temperature (shaded: stability windows)",
            "Uncertainty contributions: Maximum power Pmax",
            "Main measurement standards and instruments",
            "NIM-PV-2026-0311",
            "PIM-E-2026-0815",
            "Statement of conformity",
            "binary with guard band (ILAC-G8:09/2019, w = U)",
            "Diagnostics (not results of the calibration)",
            "Deviations and interruptions",
            "The results relate only to the item calibrated.",
            "Li Wei",
            "Zhang Min",
            &format!("End of certificate {number}"),
        ],
    );
    // Verification: passes untouched; fails on a changed byte or a changed raw row.
    let verify = |path: &Path, db: &Path| {
        bin()
            .args(["report", "verify"])
            .arg(path)
            .arg("--db")
            .arg(db)
            .output()
            .expect("verify")
    };
    let out = verify(&dir.join("final"), &db);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let copy = dir.join("tampered");
    std::fs::create_dir_all(&copy).unwrap();
    for ext in ["json", "html", "manifest.json"] {
        let f = format!("{number}.{ext}");
        std::fs::copy(dir.join("final").join(&f), copy.join(&f)).unwrap();
    }
    let mut bytes = std::fs::read(copy.join(format!("{number}.json"))).unwrap();
    let k = bytes.iter().position(|b| *b == b'7').unwrap();
    bytes[k] = b'8';
    std::fs::write(copy.join(format!("{number}.json")), bytes).unwrap();
    let out = verify(&copy, &db);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("SHA-256 differs"));
    let edited_db = dir.join("edited.db");
    std::fs::copy(&db, &edited_db).unwrap();
    let conn = rusqlite::Connection::open(&edited_db).unwrap();
    conn.execute_batch("DROP TRIGGER raw_no_update;").unwrap();
    conn.execute(
        "UPDATE raw SET data = data || ' ' WHERE id = (SELECT MIN(id) FROM raw)",
        [],
    )
    .unwrap();
    drop(conn);
    let out = verify(&dir.join("final"), &edited_db);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("raw record"));
    // Signed by the signatory's Ed25519 key: verifies; another key does not; the sign-off is
    // in the audit trail.
    for (file, name) in [("li.key", "Li Wei"), ("eve.key", "Eve")] {
        let out = bin()
            .args([
                "keys",
                "new",
                "--name",
                name,
                "--role",
                "Technical manager",
                "--out",
            ])
            .arg(dir.join(file))
            .output()
            .expect("keys new");
        assert!(out.status.success());
    }
    let mut signed: Vec<&str> = complete
        .iter()
        .copied()
        .filter(|a| !["--signatory", "Li Wei"].contains(a))
        .collect();
    let key = dir.join("li.key");
    signed.extend(["--sign", key.to_str().unwrap()]);
    let (code, stdout, stderr) = report("signed", &signed);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains(&format!("{number}-R2")), "{stdout}");
    let out = verify(&dir.join("signed"), &db);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && text.contains("Ed25519 signature valid"),
        "{text}"
    );
    let out = bin()
        .args(["report", "verify"])
        .arg(dir.join("signed"))
        .arg("--db")
        .arg(&db)
        .arg("--key")
        .arg(dir.join("eve.key.pub"))
        .output()
        .expect("verify");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("signature does not match"));
    let conn = rusqlite::Connection::open(&db).unwrap();
    let signoff: String = conn
        .query_row(
            "SELECT details FROM audit WHERE action = 'report.sign'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        signoff.contains("\"signer\":\"Li Wei\"") && signoff.contains("\"meaning\":\"approval\""),
        "{signoff}"
    );
}

#[test]
fn an_expired_reference_blocks_a_final_report() {
    let dir = tempdir("engine-report-expired");
    let db = dir.join("s.db");
    // 2027-06-21: RC-01's certificate expired on 2027-03-11.
    let start = (1_782_018_000u64 + 365 * 86_400).to_string();
    let (code, events, _) = run(
        &db,
        &[
            "outdoor-pmax",
            "--speed",
            "50",
            "--set",
            "sweeps=1",
            "--sim-start",
            &start,
        ],
    );
    assert_eq!(code, Some(0));
    let run_id = events[0]["run_id"].as_str().unwrap();
    let out = bin()
        .args(["report", run_id, "--out"])
        .arg(dir.join("r"))
        .arg("--db")
        .arg(&db)
        .args([
            "--customer",
            "C",
            "--customer-email",
            "c@example.org",
            "--item",
            "I",
            "--received",
            "2027-06-01",
            "--signatory",
            "S",
            "--checked-by",
            "K",
        ])
        .output()
        .expect("report");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "reference RC-01 (certificate NIM-PV-2026-0311) was past its due date 2027-03-11"
        ),
        "{stderr}"
    );
}

/// Validate a DCC with xmllint against the vendored schema (tests/schemas/dcc); `.ci/run`
/// installs libxml2-utils and requires it.
pub fn assert_valid_dcc(path: &Path) {
    let schema = crate::tools::dcc_schema();
    if !crate::tools::have("xmllint", "libxml2-utils", "DCC schema validation") {
        return;
    }
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(path)
        .output()
        .expect("xmllint runs");
    assert!(
        out.status.success(),
        "{} does not validate:\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Render a PDF to PNG (pdftoppm) and check its text (pdftotext) for `needles`; poppler-utils
/// is installed and required by `.ci/run`.
pub fn check_pdf(path: &Path, needles: &[&str]) {
    let bytes = std::fs::read(path).expect("pdf");
    assert!(
        bytes.starts_with(b"%PDF-"),
        "{} is not a PDF",
        path.display()
    );
    let prefix = path.with_extension("page");
    if !crate::tools::have("pdftoppm", "poppler-utils", "PDF rendering") {
        return;
    }
    let out = Command::new("pdftoppm")
        .args(["-r", "40", "-png"])
        .arg(path)
        .arg(&prefix)
        .output()
        .expect("pdftoppm runs");
    assert!(
        out.status.success(),
        "pdftoppm: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = path.parent().unwrap();
    let pngs = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".png"))
        .count();
    assert!(pngs >= 1, "no page rendered");
    let out = Command::new("pdftotext")
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext");
    let text = String::from_utf8_lossy(&out.stdout).replace('\n', " ");
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for needle in needles {
        assert!(flat.contains(needle), "the PDF has no `{needle}`:\n{flat}");
    }
}

/// Issue 14: a procedure reads the sky instruments (Modbus pyranometers and the weather station
/// of the demo station) as a journaled activity with its raw record and every Modbus frame in
/// the I/O log; a Modbus instrument that never answers fails the activity naming the
/// instrument, its resource and the register.
#[test]
fn a_run_reads_the_modbus_sky_instruments_as_journaled_activities() {
    let dir = tempdir("engine-sky");
    let db = dir.join("sky.db");
    let script = dir.join("sky.rhai");
    std::fs::write(
        &script,
        r#"fn procedure() {
    #{ name: "sky-check", version: "1.0.0", description: "reads the sky instruments twice", roles: [], parameters: [] }
}
fn run(p) {
    let a = read_sky();
    sleep(5.0);
    let b = read_sky();
    let s = read_spectrum();
    record("spectrum_points", s.spectroradiometer.wavelength.len(), "1", #{ informative: true });
    record("spectrum_broadband", s.spectroradiometer.broadband, "W/m²", #{ informative: true });
    record("poa", b["poa-pyranometer"].irradiance, "W/m²", #{ informative: true });
    record("diffuse", b["diffuse-pyranometer"].irradiance, "W/m²", #{ informative: true });
    record("wind", b["weather"].wind_speed, "m/s", #{ informative: true });
    record("pressure", a["weather"].pressure, "hPa", #{ informative: true });
    record("zenith", a.sun.zenith, "°", #{ informative: true });
    record("air_mass_absolute", a.sun.air_mass_absolute, "1", #{ informative: true });
    record("aoi", a.sun.angle_of_incidence, "°", #{ informative: true });
}
"#,
    )
    .expect("script");
    let (code, events, err) = run(&db, &[script.to_str().expect("utf-8"), "--speed", "50"]);
    assert_eq!(code, Some(0), "{err}");
    let run_id = events[0]["run_id"].as_str().expect("run id").to_string();
    let record = show(&db, &run_id);
    let skies: Vec<&Value> = record["activities"]
        .as_array()
        .expect("activities")
        .iter()
        .filter(|a| a["kind"] == "read_sky")
        .collect();
    assert_eq!(skies.len(), 2);
    let results = &record["results"];
    // The spectroradiometer's 161 values, 300–1100 nm, journaled whole as raw data; the part of
    // the plateau sun's light between 300 and 1100 nm is roughly three quarters of the whole.
    assert_eq!(results["spectrum_points"]["value"].as_f64(), Some(161.0));
    let in_band = results["spectrum_broadband"]["value"]
        .as_f64()
        .expect("broadband");
    let text: String = rusqlite::Connection::open(&db)
        .expect("db")
        .query_row(
            "SELECT data FROM raw WHERE run_id = ?1 AND kind = 'spectrum'",
            [&run_id],
            |r| r.get(0),
        )
        .expect("raw spectrum");
    let spectrum: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(
        spectrum["spectroradiometer"]["irradiance"]
            .as_array()
            .map(Vec::len),
        Some(161)
    );
    let poa = results["poa"]["value"].as_f64().expect("poa");
    let diffuse = results["diffuse"]["value"].as_f64().expect("diffuse");
    assert!(
        poa > 500.0 && diffuse > 0.0 && diffuse < 0.3 * poa,
        "{poa} {diffuse}"
    );
    assert!(
        in_band > 0.6 * poa && in_band < 0.9 * poa,
        "{in_band} of {poa}"
    );
    let p = results["pressure"]["value"].as_f64().expect("pressure");
    assert!((p - 775.0).abs() < 10.0, "plateau pressure {p} hPa");
    // The simulated start, 2026-06-21 05:00 UTC, is 11:40 solar time at Xining (36.62° N):
    // the sun ~13.5° from the zenith (NREL SPA), AM ≈ 1.03 relative, × 775/1013 absolute; the
    // tracker faces it.
    let zenith = results["zenith"]["value"].as_f64().expect("zenith");
    assert!((zenith - 13.5).abs() < 2.0, "{zenith}");
    let am = results["air_mass_absolute"]["value"]
        .as_f64()
        .expect("air mass");
    assert!((am - 1.03 * p / 1013.25).abs() < 0.02, "{am}");
    assert_eq!(results["aoi"]["value"].as_f64(), Some(0.0));
    assert!(
        record["raw"]
            .as_array()
            .expect("raw")
            .iter()
            .any(|r| r["kind"] == "sky_reading"),
        "{}",
        record["raw"]
    );
    // Every Modbus frame is in the run's I/O log: a read request to the SMP10 is 12 bytes of
    // MBAP + PDU for "read input registers" (function 04).
    let conn = rusqlite::Connection::open(&db).expect("db");
    let frames: Vec<Vec<u8>> = conn
        .prepare("SELECT bytes FROM io_log WHERE run_id = ?1 AND instrument = 'poa-pyranometer' AND direction = 'write'")
        .expect("query")
        .query_map([&run_id], |r| r.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("bytes");
    assert!(
        frames.iter().any(|f| f.len() == 12 && f[7] == 0x04),
        "{frames:?}"
    );
    // A pyranometer that does not answer: the activity fails naming it and the register.
    let station =
        std::fs::read_to_string(repo("instruments/stations/demo-sim.toml")).expect("station");
    let station = station.replacen(
        "name = \"poa-pyranometer\"\nprofile = \"kipp-zonen-smp10\"\nresource = \"sim\"",
        "name = \"poa-pyranometer\"\nprofile = \"kipp-zonen-smp10\"\nresource = \"MODBUS-TCP::127.0.0.1::9::1\"",
        1,
    );
    let file = dir.join("station.toml");
    std::fs::write(&file, station).expect("write");
    let (code, events, err) = run(
        &dir.join("fail.db"),
        &[
            script.to_str().expect("utf-8"),
            "--speed",
            "50",
            "--station",
            file.to_str().expect("utf-8"),
        ],
    );
    // The run does not start: the sky instruments are identified with the others at run start.
    assert_ne!(code, Some(0));
    assert!(
        err.contains("identifying poa-pyranometer") && err.contains("MODBUS-TCP::127.0.0.1::9::1"),
        "{err}\n{events:?}"
    );
    // Faults on the Modbus sensors mid-run: a wrong CRC, a busy exception, a silent unit and a
    // garbled answer are retaken and the run completes; the retries are in the I/O log.
    let (code, events, err) = run(
        &dir.join("faults.db"),
        &[
            script.to_str().expect("utf-8"),
            "--speed",
            "50",
            "--faults",
            "diffuse-pyranometer:crc@3,weather:error=6@3,poa-pyranometer:no-reply@4,spectroradiometer:garbage@5",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    let run_id = events[0]["run_id"].as_str().expect("run id").to_string();
    let conn = rusqlite::Connection::open(dir.join("faults.db")).expect("db");
    let requests: i64 = conn
        .query_row(
            "SELECT count(*) FROM io_log WHERE run_id = ?1 AND instrument = 'weather' AND direction = 'write'",
            [&run_id],
            |r| r.get(0),
        )
        .expect("count");
    let answers: i64 = conn
        .query_row(
            "SELECT count(*) FROM io_log WHERE run_id = ?1 AND instrument = 'weather' AND direction = 'read'",
            [&run_id],
            |r| r.get(0),
        )
        .expect("count");
    // Identity, then two readings of five registers, one asked twice after "busy".
    assert_eq!((requests, answers), (12, 12), "weather frames");
    // A fault that does not go away fails the activity naming the instrument, its resource
    // and the register: a device failure (exception 04) on the weather station's first
    // reading.
    let (code, events, err) = run(
        &dir.join("failure.db"),
        &[
            script.to_str().expect("utf-8"),
            "--speed",
            "50",
            "--faults",
            "weather:error=4@2",
        ],
    );
    assert_ne!(code, Some(0));
    let reason = events
        .iter()
        .find(|e| e["event"] == "finished")
        .map(|e| e["reason"].to_string())
        .unwrap_or_default();
    assert!(
        reason.contains("weather")
            && reason.contains("MODBUS-TCP::127.0.0.1::")
            && reason.contains("register 2"),
        "{reason}\n{err}"
    );
}

/// The sky gates of outdoor-pmax 1.2.0: high wind, a large angle of incidence and a high diffuse
/// fraction each hold the sweep, and the run that times out says which condition it waited for;
/// with the defaults the window records the sky it accepted.
#[test]
fn the_gate_waits_for_wind_sun_angle_and_a_clear_sky() {
    let dir = tempdir("engine-sky-gates");
    let reason_of = |events: &[Value]| {
        events
            .iter()
            .find(|e| e["event"] == "finished")
            .map(|e| e["reason"].to_string())
            .unwrap_or_default()
    };
    // A fixed rack facing south at 35° tilt: at 11:40 solar time in June the sun is ~13.5° from
    // the zenith, so ~22° off the module's normal.
    let station =
        std::fs::read_to_string(repo("instruments/stations/demo-sim.toml")).expect("station");
    let rack = dir.join("rack.toml");
    std::fs::write(
        &rack,
        station.replacen("tracker = true ", "tilt = 35.0\nazimuth = 180.0\n", 1),
    )
    .expect("write");
    for (name, extra, waited) in [
        (
            "wind",
            vec!["--set", "max_wind=0.1"],
            "waiting for the wind to drop",
        ),
        (
            "diffuse",
            vec!["--set", "max_diffuse_fraction=0.01"],
            "waiting for a clearer sky: diffuse fraction",
        ),
        (
            "aoi",
            vec!["--station", rack.to_str().expect("utf-8")],
            "waiting for the sun to face the module: angle of incidence",
        ),
    ] {
        let mut args = vec![
            "outdoor-pmax",
            "--speed",
            "50",
            "--set",
            "sweeps=1",
            "--set",
            "gate_timeout=20",
            "--set",
            "retries=0",
        ];
        args.extend(extra);
        let (code, events, err) = run(&dir.join(format!("{name}.db")), &args);
        assert_ne!(code, Some(0), "{name}: {err}");
        // The gate said what it waited for (a passing cloud may be what it names last).
        let said = events
            .iter()
            .filter(|e| e["event"] == "waiting")
            .any(|e| e["message"].as_str().is_some_and(|m| m.contains(waited)));
        let reason = reason_of(&events);
        assert!(
            said && reason.contains("the gate did not hold"),
            "{name}: {reason}\n{err}"
        );
    }
    // The defaults hold on the plateau noon tracker: the accepted window carries the sky.
    let db = dir.join("ok.db");
    let (code, events, err) = run(&db, &["outdoor-pmax", "--speed", "50", "--set", "sweeps=1"]);
    assert_eq!(code, Some(0), "{err}");
    let run_id = events[0]["run_id"].as_str().expect("run id");
    let record = show(&db, run_id);
    let window = record["activities"]
        .as_array()
        .expect("activities")
        .iter()
        .find(|a| a["kind"] == "wait_stable")
        .expect("wait_stable")["result"]["sky"]
        .clone();
    assert!(window["aoi"].as_f64().is_some_and(|a| a < 1.0), "{window}");
    assert!(
        window["wind_speed"].as_f64().is_some_and(|w| w <= 4.0),
        "{window}"
    );
    assert!(
        window["diffuse_fraction"]
            .as_f64()
            .is_some_and(|f| f > 0.0 && f <= 0.25),
        "{window}"
    );
}
