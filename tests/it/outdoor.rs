//! The outdoor Pmax chain at standard-device level (issue 15), end to end through the binary:
//! the complete budget with a source on every input and its Monte Carlo validation, the
//! thin-film station against the simulator's truth with and without the spectral mismatch
//! applied, and the cell-temperature cross-check and temperature-stability checks that retake
//! a sweep.

use serde_json::Value;

use crate::cli::{bin, repo, tempdir};
use crate::engine::{check_pmax_result, last_finished, run, show};

/// A fast outdoor run: two dual sweeps at ×50, the Monte Carlo validation to one digit.
const FAST: &[&str] = &["--speed", "50", "--set", "sweeps=2", "--set", "mc_digits=1"];

fn truth(station: &str) -> Value {
    let out = bin()
        .args(["sim", "truth", "--json", "--station"])
        .arg(repo(station))
        .output()
        .expect("sim truth");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

/// Every influence of standards.md §12.1 is in the Pmax budget with where it came from, the
/// budget is validated by the adaptive Monte Carlo method, and the module's numbers came from
/// its module file.
#[test]
fn the_outdoor_budget_is_complete_sourced_and_validated_by_monte_carlo() {
    let dir = tempdir("outdoor-budget");
    let db = dir.join("s.db");
    let (code, events, stderr) = run(&db, &[&["outdoor-pmax"], FAST].concat());
    assert_eq!(code, Some(0), "{stderr}");
    let fin = last_finished(&events);
    let p = &fin["results"]["p_mp_stc"];
    check_pmax_result(p);
    let budget = p["budget"].as_array().expect("budget");
    let names: Vec<&str> = budget.iter().filter_map(|l| l["name"].as_str()).collect();
    for want in [
        "cv",
        "cv_drift",
        "r_shunt",
        "dmm_shunt_voltage",
        "alpha_ref",
        "t_ref",
        "smm",
        "irradiance_instability",
        "t_sensor",
        "t_nonuniformity",
        "t_back_to_cell",
        "tracer_v_gain",
        "tracer_i_gain",
        "alpha",
        "beta",
        "rs",
        "kappa",
        "mp_fit",
        "repeatability",
        "linearity",
        "nonuniformity",
        "coplanarity",
        "angular_response",
        "iec60891_model_error",
        "forward_reverse",
    ] {
        let line = budget
            .iter()
            .find(|l| l["name"] == want)
            .unwrap_or_else(|| panic!("`{want}` missing from {names:?}"));
        let source = line["source"].as_str().unwrap_or_default();
        assert!(source.len() > 5, "`{want}` has no source: {line}");
    }
    // The sources are the station's and the module file's, not the script's.
    let source = |name: &str| {
        budget.iter().find(|l| l["name"] == name).expect("line")["source"]
            .as_str()
            .expect("source")
            .to_string()
    };
    assert!(
        source("cv").contains("NIM-PV-2026-0311"),
        "{}",
        source("cv")
    );
    assert!(source("tracer_v_gain").contains("Keithley 2460"));
    assert!(source("t_sensor").contains("PIM-T-2026-0533"));
    assert!(source("kappa").contains("module file"));
    // Known systematic effects are corrected and budgeted around the correction: RC-01 has
    // lost ~1 %/year since its calibration (so the irradiance it indicates from the certified
    // value is raised), and the module's AR glass takes more of the diffuse light than the
    // cell's window.
    let estimate = |name: &str| {
        budget.iter().find(|l| l["name"] == name).expect("line")["estimate"]
            .as_f64()
            .expect("estimate")
    };
    assert!(
        estimate("cv_drift") > 0.001 && estimate("cv_drift") < 0.02,
        "{}",
        estimate("cv_drift")
    );
    assert!(source("cv_drift").contains("corrected"));
    assert!(
        estimate("angular_response") > 0.0,
        "{}",
        estimate("angular_response")
    );
    assert!(source("angular_response").contains("corrected by"));
    // JCGM 101 §8 validation reported with the run.
    let mc = &p["mcm"];
    assert!(mc["trials"].as_u64().expect("trials") >= 20_000, "{mc}");
    assert!(
        mc["validated"].is_boolean() && mc["delta"].as_f64().is_some(),
        "{mc}"
    );
    assert_eq!(mc["digits"], 1);
    // The module and its correction came from the module file.
    let module = &fin["results"]["module"];
    assert_eq!(module["value"], "CS5P-220M");
    assert_eq!(module["correction"]["rs"], 1.29);
    assert_eq!(fin["results"]["conformity"]["nominal"], 220.0);
    // The cross-check of the cell temperature was made with every sweep.
    let each = fin["results"]["cell_temperature"]["each"]
        .as_array()
        .expect("each");
    assert_eq!(each.len(), 2);
    for s in each {
        assert!(s["difference"].as_f64().unwrap().abs() <= s["limit"].as_f64().unwrap());
    }
    // The certificate and the console state the same U.
    let run_id = fin["run_id"].as_str().expect("run id");
    let record = show(&db, run_id);
    let stored = record["results"]["p_mp_stc"]["U"].as_f64().expect("U");
    assert_eq!(stored, p["U"].as_f64().unwrap());
    let console = events
        .iter()
        .filter_map(|e| e["message"].as_str())
        .find(|m| m.starts_with("Pmax(STC) = "))
        .expect("console line")
        .to_string();
    let out = bin()
        .args(["report", run_id, "--draft", "--format", "json", "--out"])
        .arg(dir.join("cert"))
        .arg("--db")
        .arg(&db)
        .output()
        .expect("report");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = std::fs::read_dir(dir.join("cert"))
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.extension().is_some_and(|e| e == "json") && !p.to_string_lossy().contains("manifest")
        })
        .expect("json certificate");
    let cert: Value =
        serde_json::from_str(&std::fs::read_to_string(json).expect("read")).expect("json");
    let entry = &cert["results"]["p_mp_stc"];
    assert_eq!(entry["U"].as_f64(), p["U"].as_f64(), "{entry}");
    let line = pvstation::model::stated::of_result(entry)
        .expect("stated")
        .line();
    assert!(
        console.ends_with(&format!("{line}: pass")) || console.contains(&line),
        "certificate `{line}` vs console `{console}`"
    );
}

/// The CdTe station against the simulator's truth: the measured spectral mismatch is applied
/// and the result lies within its U of the truth; with the mismatch not applied (SMM = 1) the
/// thin-film module's result is off by the mismatch.
#[test]
fn the_thin_film_station_closes_on_its_truth_only_with_the_mismatch_applied() {
    let station = "instruments/stations/plateau-thinfilm-sim.toml";
    let truth = truth(station)["p_mp"].as_f64().expect("p_mp");
    assert!((truth - 117.768).abs() < 0.01, "{truth}");
    let dir = tempdir("outdoor-thinfilm");
    let path = repo(station);
    let station_arg = path.to_str().expect("utf-8");
    // A winter afternoon (2026-12-21, 14:45 solar time, seed 7): under this low sun the CdTe
    // module converts ~2 % less of the sky than the c-Si cell against AM1.5G — more than U.
    // (Seed 9's morning, ~1 % the other way, was enough only while the reference cell's drift
    // went uncorrected and added its own bias.)
    let afternoon = "1797839875";
    let mut results = Vec::new();
    for mismatch in ["auto", "none"] {
        let set = format!("mismatch={mismatch}");
        let args = [
            &[
                "outdoor-pmax",
                "--station",
                station_arg,
                "--sim-start",
                afternoon,
                "--seed",
                "7",
            ][..],
            FAST,
            &["--set", &set],
        ]
        .concat();
        let (code, events, stderr) = run(&dir.join(format!("{mismatch}.db")), &args);
        assert_eq!(code, Some(0), "{mismatch}: {stderr}");
        let r = last_finished(&events)["results"].clone();
        results.push(r);
    }
    let (applied, none) = (&results[0], &results[1]);
    let smm = applied["spectral_mismatch"]["value"].as_f64().expect("smm");
    assert!((smm - 1.0).abs() > 0.01, "SMM {smm}");
    let e_n = |r: &Value| {
        let p = &r["p_mp_stc"];
        (p["value"].as_f64().unwrap() - truth).abs() / p["U"].as_f64().unwrap()
    };
    assert!(e_n(applied) <= 1.0, "applied: E_n {}", e_n(applied));
    assert!(e_n(none) > 1.0, "not applied: E_n {}", e_n(none));
    assert_eq!(none["spectral_mismatch"]["value"], 1.0);
}

/// The module temperature changing across a sweep, and the back-of-module model disagreeing
/// with the cell temperature from Voc, each retake the sweep with an interruption that names
/// the condition, then fail the run with it.
#[test]
fn temperature_drift_and_a_cell_temperature_disagreement_retake_the_sweep() {
    let dir = tempdir("outdoor-temperature");
    let common = [
        "outdoor-pmax",
        "--speed",
        "50",
        "--set",
        "sweeps=1",
        "--set",
        "retries=1",
        "--set",
        "mc_digits=0",
    ];
    // 1. Drift: the module warms or cools by more than 0.001 K across any sweep.
    let db = dir.join("drift.db");
    let (code, events, _) = run(
        &db,
        &[&common[..], &["--set", "max_temperature_change=0.001"]].concat(),
    );
    assert_ne!(code, Some(0));
    let fin = last_finished(&events);
    let reason = fin["reason"].to_string();
    assert!(
        reason.contains("module_temperature_change_during_sweep"),
        "{reason}"
    );
    let record = show(&db, fin["run_id"].as_str().expect("id"));
    let interruptions = record["interruptions"].as_array().expect("interruptions");
    assert_eq!(interruptions.len(), 2, "{interruptions:?}");
    assert!(interruptions.iter().all(|i| {
        i["kind"] == "unstable_conditions"
            && i["details"]
                .to_string()
                .contains("module_temperature_change")
    }));
    // 2. Disagreement: a module file whose back-to-cell ΔT is 12 K puts the back-sensor cell
    // temperature ~10 K above the one from Voc.
    let module = std::fs::read_to_string(repo("instruments/modules/cs5p-220m.toml"))
        .expect("module")
        .replace("delta_t = 3.0", "delta_t = 12.0");
    let file = dir.join("wrong-delta-t.toml");
    std::fs::write(&file, module).expect("write");
    let db = dir.join("ect.db");
    let set = format!("module={}", file.display());
    let (code, events, _) = run(&db, &[&common[..], &["--set", &set]].concat());
    assert_ne!(code, Some(0));
    let fin = last_finished(&events);
    let reason = fin["reason"].to_string();
    assert!(
        reason.contains("disagree") && reason.contains("after 1 retakes"),
        "{reason}"
    );
    let record = show(&db, fin["run_id"].as_str().expect("id"));
    let interruptions = record["interruptions"].as_array().expect("interruptions");
    assert_eq!(interruptions.len(), 1, "{interruptions:?}");
    assert_eq!(interruptions[0]["kind"], "inconsistent_measurement");
    let d = &interruptions[0]["details"];
    assert!(d["difference"].as_f64().unwrap().abs() > d["limit"].as_f64().unwrap());
}
