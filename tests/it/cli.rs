//! End-to-end tests through the real binary.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary under test: this build's, or another build named by `$PVSTATION_BIN` (to show
/// that a regression test fails on the build before its fix).
pub fn bin() -> Command {
    Command::new(
        std::env::var_os("PVSTATION_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_pvstation").into()),
    )
}

pub fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// A running `pvstation sim`, killed on drop.
pub struct Sim {
    child: Child,
    /// (name, resource) of each served instrument.
    pub served: Vec<(String, String)>,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `pvstation sim` with extra arguments and wait for `{"ready":true}`.
pub fn start_sim(args: &[&str]) -> Sim {
    let child = bin()
        .args(["sim", "--ephemeral"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("pvstation sim starts");
    // Owned by `Sim` from here on, so that every path below kills and reaps it.
    let mut sim = Sim {
        child,
        served: Vec::new(),
    };
    let stdout = sim.child.stdout.take().expect("stdout");
    let deadline = Instant::now() + Duration::from_secs(20);
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        let v: serde_json::Value = serde_json::from_str(&line).expect("JSON line");
        if v["ready"] == true {
            return sim;
        }
        for key in ["name", "role", "model", "resource"] {
            assert!(v[key].is_string(), "missing {key} in {line}");
        }
        sim.served.push((
            v["name"].as_str().unwrap_or_default().to_string(),
            v["resource"].as_str().unwrap_or_default().to_string(),
        ));
        assert!(Instant::now() < deadline, "sim did not become ready");
    }
    panic!("sim exited before ready");
}

#[test]
fn sim_prints_resources_and_serves_scpi_and_serial() {
    let sim = start_sim(&["--seed", "3"]);
    assert_eq!(sim.served.len(), 11, "7 SCPI and 4 Modbus instruments");
    let resource = |name: &str| {
        sim.served
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, r)| r.clone())
            .expect("served")
    };
    let smu = resource("smu");
    assert!(
        smu.starts_with("TCPIP::127.0.0.1::") && smu.ends_with("::SOCKET"),
        "{smu}"
    );
    let out = bin()
        .args([
            "scpi",
            &smu,
            "*IDN?",
            ":SOUR:VOLT:ILIM 1",
            ":SOUR:VOLT:ILIM?",
            "SYST:ERR?",
        ])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("KEITHLEY INSTRUMENTS,MODEL 2460,"),
        "{text}"
    );
    assert_eq!(lines[1], "1.000000E+00");
    assert_eq!(lines[2], "0,\"No error\"");
    // The Hioki on its pseudo-terminal, CR LF both ways.
    let tester = resource("tester");
    assert!(tester.starts_with("ASRL/dev/pts/"), "{tester}");
    let out = bin()
        .args([
            "scpi",
            &tester,
            "*IDN?",
            "--write-termination",
            "\\r\\n",
            "--read-termination",
            "\\r\\n",
        ])
        .output()
        .expect("runs");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "HIOKI,BT3562,0,V1.07"
    );
}

#[test]
fn probe_reports_every_instrument_and_certificate() {
    let out = bin()
        .args(["instruments", "probe", "--station"])
        .arg(repo("instruments/stations/demo-sim.toml"))
        .arg("--json")
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let objects: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    let instruments: Vec<_> = objects
        .iter()
        .filter(|o| o.get("identity").is_some())
        .collect();
    assert_eq!(instruments.len(), 11, "7 SCPI and 4 Modbus instruments");
    assert!(instruments.iter().all(|o| o["ok"] == true), "{text}");
    let certificates: Vec<_> = objects
        .iter()
        .filter(|o| o.get("certificate").is_some())
        .collect();
    assert_eq!(certificates.len(), 8);
}

#[test]
fn probe_reports_an_instrument_that_answers_garbage() {
    let dir = tempdir("probe-garbage");
    let text =
        std::fs::read_to_string(repo("instruments/stations/demo-sim.toml")).expect("station");
    // The DMM garbles its first two replies: the identification and its retry.
    let text = text.replacen(
        "profile = \"keysight-34465a\"",
        "profile = \"keysight-34465a\"\nfaults = [\"garbage@1\", \"garbage@2\"]",
        1,
    );
    let path = dir.join("station.toml");
    std::fs::write(&path, text).expect("write");
    let out = bin()
        .args(["instruments", "probe", "--station"])
        .arg(&path)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("irradiance-dmm")
            && stdout.contains("PROBLEM")
            && stdout.contains("garbled reply to `*IDN?`"),
        "{stdout}"
    );
}

#[test]
fn bad_input_gets_clear_errors() {
    let out = bin()
        .args(["scpi", "TCPIP::localhost::50x25::SOCKET", "*IDN?"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("port part `50x25`"), "{err}");

    let dir = tempdir("bad-station");
    let path = dir.join("broken.toml");
    std::fs::write(&path, "[station]\nname = \"x\"\n[[instrument]]\nname = \"smu\"\nprofile = \"keithley-2460\"\nrole = \"iv_tracer\"\nresource = \"TCPIP::h::5025::SOKET\"\n").expect("write");
    let out = bin()
        .args(["instruments", "probe", "--station"])
        .arg(&path)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("broken.toml")
            && err.contains("instrument[0] (`smu`).resource")
            && err.contains("`SOKET`"),
        "{err}"
    );

    std::fs::write(&path, "[station]\nname = \n").expect("write");
    let out = bin()
        .args(["instruments", "probe", "--station"])
        .arg(&path)
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("broken.toml") && err.contains("line 2"),
        "{err}"
    );

    let out = bin()
        .args(["sim", "--faults", "smu:explode"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("known faults"));

    // No instrument there: a connection error naming the resource, not a hang.
    let out = bin()
        .args([
            "scpi",
            "TCPIP::127.0.0.1::1::SOCKET",
            "*IDN?",
            "--timeout",
            "500",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("cannot connect to TCPIP::127.0.0.1::1::SOCKET")
    );
}

#[test]
fn demo_runs_both_procedures_and_stores_them() {
    let dir = tempdir("demo");
    let db = dir.join("demo.db");
    let out = bin()
        .args(["demo", "--speed", "50", "--db"])
        .arg(&db)
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "MODEL 2460",
        "34465A",
        "DAQ970A",
        "HIOKI,BT3562",
        "FLUKE,5522A",
        "RELAY-8",
        "Pmax(STC) = ",
        "Isc(STC) = ",
        "resistance SR-10m",
        "voltage 5 V",
        "pvstation runs show R",
    ] {
        assert!(text.contains(needle), "missing {needle}:\n{text}");
    }
    let out = bin()
        .args(["demo", "--speed", "50", "--json", "--db"])
        .arg(&db)
        .output()
        .expect("runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let runs = v["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["procedure"], "outdoor-pmax");
    assert_eq!(runs[0]["status"], "completed");
    let p = runs[0]["results"]["p_mp_stc"]["value"]
        .as_f64()
        .expect("Pmax");
    assert!((p - 220.0).abs() < 5.0, "{p}");
    assert_eq!(runs[1]["status"], "completed");
    let listed = bin()
        .args(["runs", "list", "--json", "--db"])
        .arg(&db)
        .output()
        .expect("list");
    assert_eq!(String::from_utf8_lossy(&listed.stdout).lines().count(), 4);
}

/// A fresh directory under the target dir.
pub fn tempdir(name: &str) -> PathBuf {
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// `pvstation sim truth` (contract: `{"p_mp","i_sc","v_oc","i_mp","v_mp","ff"}` in SI units):
/// the simulated CS5P-220M at STC is the CEC record pvlib evaluates (219.96 W, 5.10 A, 59.4 V).
#[test]
fn sim_truth_prints_the_simulated_modules_stc_values() {
    let out = bin()
        .args(["sim", "truth", "--json"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let f = |k: &str| v[k].as_f64().unwrap_or_else(|| panic!("{k} in {v}"));
    assert!((f("p_mp") - 219.96).abs() < 0.01, "{v}");
    assert!(
        (f("i_sc") - 5.10).abs() < 1e-3 && (f("v_oc") - 59.40).abs() < 1e-3,
        "{v}"
    );
    assert!((f("i_mp") * f("v_mp") - f("p_mp")).abs() < 1e-9);
    assert!((f("ff") - f("p_mp") / (f("i_sc") * f("v_oc"))).abs() < 1e-12);
    // A real station has no simulated truth.
    let dir = tempdir("sim-truth");
    let real = dir.join("real.toml");
    std::fs::write(
        &real,
        "[station]\nname = \"bench\"\nlaboratory = \"lab\"\nsimulated = false\n",
    )
    .expect("write");
    let out = bin()
        .args(["sim", "truth", "--station", real.to_str().expect("utf-8")])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a simulated station"), "{err}");
}
