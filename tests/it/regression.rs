//! Regression tests of the defects a careless or hostile user found (issue 11, "Robustness
//! defects"), each through the real binary and named after the defect. Each failed before its
//! fix; none may panic.

use std::path::Path;
use std::process::Output;

use crate::cli::{bin, repo, tempdir};

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A clean failure: exit code 2 (or 1), a message, no panic.
fn refused(out: &Output, needle: &str) {
    let err = stderr(out);
    assert!(
        matches!(out.status.code(), Some(1 | 2)),
        "exit {:?}: {err}{}",
        out.status.code(),
        stdout(out)
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains(needle) || stdout(out).contains(needle),
        "expected `{needle}` in:\n{err}{}",
        stdout(out)
    );
}

fn cs5p(name: &str) -> String {
    repo(&format!("tests/reference/cs5p_220m/{name}"))
        .display()
        .to_string()
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// Defect 1: `--out` replaced a FIFO, a device node or a symlink with a regular file, and
/// `iv batch --out` could overwrite its own input.
#[test]
fn output_never_replaces_a_fifo_or_a_device_and_follows_symlinks() {
    let dir = tempdir("reg-out");
    let translate = |out: &Path| {
        run(&[
            "iv",
            "translate",
            &cs5p("g800_t45.csv"),
            "--module",
            &cs5p("module.toml"),
            "--procedure",
            "1",
            "--to",
            "1000,25",
            "--out",
            &path(out),
        ])
    };
    let fifo = dir.join("f");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo")
            .success()
    );
    refused(&translate(&fifo), "is a FIFO (named pipe)");
    assert!(std::fs::symlink_metadata(&fifo).is_ok_and(|m| !m.is_file()));
    let device = dir.join("d");
    if std::process::Command::new("mknod")
        .arg(&device)
        .args(["c", "1", "7"])
        .status()
        .is_ok_and(|s| s.success())
    {
        refused(&translate(&device), "is a device");
        assert!(std::fs::metadata(&device).is_ok_and(|m| !m.is_file()));
    }
    // A symlink is followed deliberately: the file it names gets the curve, the link stays.
    let link = dir.join("l");
    std::os::unix::fs::symlink("t.csv", &link).expect("symlink");
    let out = translate(&link);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::symlink_metadata(&link).is_ok_and(|m| m.file_type().is_symlink()));
    assert!(
        std::fs::read_to_string(dir.join("t.csv"))
            .expect("through the link")
            .starts_with("voltage,current")
    );
    let input = dir.join("curves.csv");
    std::fs::copy(repo("tests/reference/extraction_curves.csv"), &input).expect("copy");
    let before = std::fs::read(&input).expect("read");
    let alias = dir.join("alias.csv");
    std::os::unix::fs::symlink(&input, &alias).expect("symlink");
    for out in [&input, &alias] {
        refused(
            &run(&["iv", "batch", &path(&input), "--out", &path(out)]),
            "is the input file",
        );
    }
    assert_eq!(
        std::fs::read(&input).expect("read"),
        before,
        "input untouched"
    );
}

/// Defect 2: two standard resistors on one relay channel completed a calibration with a
/// wrong verdict.
#[test]
fn two_standards_on_one_relay_channel_are_refused() {
    let dir = tempdir("reg-channel");
    let text =
        std::fs::read_to_string(repo("instruments/stations/demo-sim.toml")).expect("station");
    let station = dir.join("s.toml");
    std::fs::write(
        &station,
        text.replacen("switch_channel = 2", "switch_channel = 1", 1),
    )
    .expect("write");
    let out = run(&[
        "run",
        "bit-calibration",
        "--dry-run",
        "--station",
        &path(&station),
    ]);
    refused(&out, "channel 1 already connects `SR-1m`");
}

/// Defects 3 and 4: quoted fields were misread silently; a UTF-8 byte-order mark made the
/// header unreadable.
#[test]
fn quoted_fields_and_a_byte_order_mark() {
    let dir = tempdir("reg-csv");
    let original = std::fs::read_to_string(cs5p("g800_t45.csv")).expect("curve");
    // Excel's "CSV UTF-8", every field quoted: the same curve, the same Pmax.
    let quoted: String = original
        .lines()
        .map(|l| {
            l.split(',')
                .map(|f| format!("\"{f}\""))
                .collect::<Vec<_>>()
                .join(",")
                + "\r\n"
        })
        .collect();
    let excel = dir.join("excel.csv");
    std::fs::write(&excel, format!("\u{feff}{quoted}")).expect("write");
    let p_mp = |file: &str| -> f64 {
        let out = run(&["iv", "params", file, "--json"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("json");
        v["p_mp"].as_f64().expect("p_mp")
    };
    assert_eq!(p_mp(&path(&excel)), p_mp(&cs5p("g800_t45.csv")));
    // A decimal comma inside quotes is an error naming the line, never a silent misread.
    let comma = dir.join("comma.csv");
    std::fs::write(&comma, "voltage,current\n0,\"4,97\"\n1,\"4,96\"\n").expect("write");
    refused(
        &run(&["iv", "params", &path(&comma)]),
        "line 2: `current` value `4,97` is not a number (a decimal comma?",
    );
}

/// Defect 5: `report verify` opened and hashed whatever paths a foreign manifest listed.
#[test]
fn report_verify_reads_only_files_beside_the_manifest() {
    let dir = tempdir("reg-verify");
    let db = dir.join("s.db");
    let out = run(&[
        "run",
        "outdoor-pmax",
        "--headless",
        "--speed",
        "50",
        "--set",
        "sweeps=1",
        "--db",
        &path(&db),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    // "run R20261201-101502-3fa9 (outdoor-pmax) started"
    let run_id = stdout(&out)
        .lines()
        .find_map(|l| l.strip_prefix("run ")?.split_whitespace().next())
        .expect("run id")
        .to_string();
    let manifest = dir.join("evil.manifest.json");
    std::fs::write(
        &manifest,
        serde_json::json!({
            "number": "PVS-1999-0001", "run_id": run_id,
            "files": {"../../../../../../etc/passwd": "0000", "/etc/hostname": "0000"}
        })
        .to_string(),
    )
    .expect("write");
    let out = run(&["report", "verify", &path(&manifest), "--db", &path(&db)]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("not a file name beside the manifest (paths are refused)"),
        "{text}"
    );
    assert!(
        !text.contains("SHA-256 differs"),
        "nothing outside was hashed: {text}"
    );
    // Defect 12: a manifest without number and run id is not "cannot resume: no such run".
    std::fs::write(&manifest, "{}").expect("write");
    refused(
        &run(&["report", "verify", &path(&manifest), "--db", &path(&db)]),
        "is not a report manifest: it has no `number` and `run_id`",
    );
}

/// Defect 6: `--trials` aborted (u64::MAX), hung (1e11), or silently ran 10 000 (0, 1).
#[test]
fn monte_carlo_trials_are_bounded_and_validated() {
    let model = repo("examples/uncertainty/ea-4-02-s2.toml");
    for trials in ["0", "1", "18446744073709551615", "100000000000"] {
        refused(
            &run(&["uncertainty", "eval", &path(&model), "--trials", trials]),
            "Monte Carlo trials: give between",
        );
    }
    let out = run(&["uncertainty", "eval", &path(&model), "--trials", "20000"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Defect 7: a model file with thousands of unused inputs was quadratic; a huge file was read
/// whole. The file size is bounded and unused inputs are named.
#[test]
fn model_files_are_bounded_and_unused_inputs_named() {
    let dir = tempdir("reg-model");
    let mut text = String::from("model = \"a + b\"\n");
    for name in ["a", "b"]
        .into_iter()
        .map(String::from)
        .chain((0..3000).map(|k| format!("x{k}")))
    {
        text.push_str(&format!(
            "[inputs.{name}]\ndistribution = \"normal\"\nvalue = 1\nu = 0.1\n"
        ));
    }
    let many = dir.join("many.toml");
    std::fs::write(&many, &text).expect("write");
    let out = run(&["uncertainty", "eval", &path(&many), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("3000 input(s) the model does not use"),
        "{}",
        stderr(&out)
    );
    let huge = dir.join("huge.toml");
    std::fs::write(&huge, "#".repeat(2 << 20)).expect("write");
    refused(
        &run(&["uncertainty", "eval", &path(&huge)]),
        "is larger than 1024 KiB",
    );
}

/// Defect 8: `--threads 20000` spent 30 s and 155 MB before reading input.
#[test]
fn batch_threads_are_bounded() {
    let dir = tempdir("reg-threads");
    refused(
        &run(&[
            "iv",
            "batch",
            &path(&repo("tests/reference/extraction_curves.csv")),
            "--out",
            &path(&dir.join("o.parquet")),
            "--threads",
            "20000",
        ]),
        "--threads 20000: at most 256",
    );
}

fn script(dir: &Path, name: &str, body: &str) -> String {
    let file = dir.join(format!("{name}.rhai"));
    std::fs::write(
        &file,
        format!(
            "fn procedure() {{ #{{ name: \"{name}\", version: \"1\", description: \"test\", roles: [], parameters: [] }} }}\nfn run(p) {{\n{body}\n}}\n"
        ),
    )
    .expect("script");
    path(&file)
}

/// Defect 9: unbounded maps, `sleep(1e308)` hanging, `sleep(-1.0)` and `sleep(NaN)`
/// succeeding, `record("y", 1/0)` storing null.
#[test]
fn scripts_cannot_sleep_forever_grow_forever_or_record_infinity() {
    let dir = tempdir("reg-script");
    let db = path(&dir.join("s.db"));
    for (name, body, message) in [
        ("negative", "sleep(-1.0);", "sleep(-1): give 0 to 86400 s"),
        ("nan", "sleep(0.0 / 0.0);", "sleep(NaN): give 0 to 86400 s"),
        (
            "forever",
            "sleep(1e308);",
            "sleep(1e308): give 0 to 86400 s",
        ),
        (
            "infinite",
            "record(\"y\", 1.0 / 0.0, \"W\");",
            "record(`y`): the value is inf; a result must be a finite number",
        ),
        (
            "nan_detail",
            "record(\"y\", 1.0, \"W\", #{ u: 0.0 / 0.0 });",
            "record(`y`): its details.u is NaN",
        ),
        (
            "grows",
            "let s = \"x\"; for k in 0..19 { s += s; } let m = #{}; for i in 0..100000 { m[i.to_string()] = s + i; }",
            "the script holds more than 512 MiB of data",
        ),
    ] {
        let file = script(&dir, name, body);
        let out = run(&["run", &file, "--headless", "--db", &db]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        let text = format!("{}{}", stdout(&out), stderr(&out));
        assert!(text.contains(message), "{name}: {text}");
    }
}

/// Defect 10: NaN, infinite, negative or zero module parameters were accepted and failed
/// later (or gave results).
#[test]
fn module_files_are_checked_key_by_key() {
    let dir = tempdir("reg-module");
    let text = std::fs::read_to_string(cs5p("module.toml")).expect("module");
    for (from, to, key) in [
        ("alpha_isc = 0.004539", "alpha_isc = nan", "alpha_isc = NaN"),
        ("beta_voc = -0.222156", "beta_voc = inf", "beta_voc = inf"),
        ("rs = 1.290", "rs = -1e308", "procedure1.rs = -1e308"),
        ("epsilon = 1.232", "epsilon = 0", "procedure4.epsilon = 0"),
    ] {
        let module = dir.join("m.toml");
        std::fs::write(&module, text.replace(from, to)).expect("write");
        refused(
            &run(&[
                "iv",
                "translate",
                &cs5p("g800_t45.csv"),
                "--module",
                &path(&module),
                "--procedure",
                "1",
                "--to",
                "1000,25",
            ]),
            key,
        );
    }
}

/// Defect 11: the simulator buffered a declared block in full (`SOUR:VOLT #9999999999` and
/// 300 MB → 343 MB resident). Now the block is refused at its header, its bytes thrown away
/// as they arrive, and the instrument reports −363 and keeps answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_block_overruns_the_input_buffer_instead_of_memory() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (_, sim, _, _) = crate::e2e::start(Default::default()).await;
    let smu = sim
        .served
        .iter()
        .find(|s| s.name == "smu")
        .expect("smu")
        .resource
        .clone();
    let port: u16 = smu.split("::").nth(2).expect("port").parse().expect("port");
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    // Declare 9 999 999 999 bytes, send 8 MB of them, then stop and ask for the errors.
    stream
        .write_all(b":SOUR:VOLT #9999999999")
        .await
        .expect("header");
    let chunk = vec![b'7'; 1 << 20];
    for _ in 0..8 {
        stream.write_all(&chunk).await.expect("payload");
    }
    drop(stream);
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("reconnect");
    stream.write_all(b":SYST:ERR?\n").await.expect("query");
    let mut reply = vec![0u8; 256];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut reply))
        .await
        .expect("answers")
        .expect("reads");
    let reply = String::from_utf8_lossy(&reply[..n]);
    assert!(reply.starts_with("-363,"), "{reply}");
}

/// Defect 12: messages that repeat themselves, misstate the problem or dump internals.
#[test]
fn messages_say_each_thing_once_and_plainly() {
    let dir = tempdir("reg-messages");
    let out = run(&["iv", "params", &path(&dir)]);
    refused(&out, "Is a directory");
    assert_eq!(
        stderr(&out).matches("Is a directory").count(),
        1,
        "{}",
        stderr(&out)
    );
    let nan = dir.join("nan.csv");
    std::fs::write(&nan, "voltage,current\n0,NaN\n").expect("write");
    let out = run(&["iv", "params", &path(&nan)]);
    assert_eq!(
        stderr(&out).matches("is NaN").count(),
        1,
        "{}",
        stderr(&out)
    );
    let latin = dir.join("latin.csv");
    std::fs::write(&latin, b"voltage,current\n0,5\xb0\n").expect("write");
    let out = run(&["iv", "params", &path(&latin)]);
    refused(&out, "not UTF-8");
    assert_eq!(
        stderr(&out).matches("not UTF-8").count(),
        1,
        "{}",
        stderr(&out)
    );
    // 31 points with voltage and current both reversed: not "only 1 point(s)".
    let reversed = dir.join("reversed.csv");
    let mut text = String::from("voltage,current\n");
    for k in 0..31 {
        text.push_str(&format!("-{k},-{}\n", 5.0 - 0.15 * k as f64));
    }
    std::fs::write(&reversed, text).expect("write");
    refused(
        &run(&["iv", "params", &path(&reversed)]),
        "only 1 of 31 points lie in the power quadrant",
    );
    // A 10 MB value is not echoed back.
    let big = dir.join("big.csv");
    std::fs::write(
        &big,
        format!("voltage,current\n0,{}\n", "z".repeat(10 << 20)),
    )
    .expect("w");
    let out = run(&["iv", "params", &path(&big)]);
    refused(&out, "is not a number");
    assert!(
        stderr(&out).len() < 1000,
        "{} bytes of message",
        stderr(&out).len()
    );
    // A directory as the plot file: a sentence, not a Rust `Debug` dump.
    let out = run(&[
        "iv",
        "plot",
        &cs5p("g800_t45.csv"),
        "--out",
        &format!("{}/x.svg/", path(&dir)),
    ]);
    refused(&out, "is a directory name (it ends in /)");
    assert!(!stderr(&out).contains("BackendError"), "{}", stderr(&out));
}

/// Defects 13–15: a read command converted a foreign SQLite file to WAL, failed on a
/// read-only database, or created a missing one.
#[test]
fn read_commands_never_write() {
    let dir = tempdir("reg-readonly");
    // Foreign: an application's own SQLite file with a `runs` table.
    let foreign = dir.join("other.db");
    {
        let c = rusqlite::Connection::open(&foreign).expect("foreign");
        c.execute_batch("CREATE TABLE runs (x); INSERT INTO runs VALUES (1);")
            .expect("schema");
    }
    let before = std::fs::read(&foreign).expect("read");
    for args in [
        vec!["runs", "list"],
        vec!["audit", "verify"],
        vec!["refs", "trace", "NIM-PV-2026-0311"],
        vec!["queue", "list"],
    ] {
        let mut args = args;
        args.extend(["--db", foreign.to_str().expect("utf-8")]);
        refused(&run(&args), "not a pvstation station database");
    }
    // A writing command refuses it too, before writing.
    refused(
        &run(&["queue", "add", "outdoor-pmax", "--db", &path(&foreign)]),
        "not a pvstation station database",
    );
    assert_eq!(std::fs::read(&foreign).expect("read"), before, "untouched");
    let journal_mode: String = rusqlite::Connection::open(&foreign)
        .expect("open")
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    assert_eq!(journal_mode, "delete", "not switched to WAL");
    // Missing: an error naming the path, and nothing created.
    let typo = dir.join("typo.db");
    refused(
        &run(&["runs", "list", "--db", &path(&typo)]),
        "typo.db: no database here",
    );
    assert!(!typo.exists());
    // Read-only: listed and audited without a write (as root the mode alone cannot stop a
    // write, so the file's bytes are compared too).
    let db = dir.join("station.db");
    let out = run(&[
        "run",
        "bit-calibration",
        "--headless",
        "--speed",
        "50",
        "--answer",
        "lab_temperature=23.0",
        "--answer",
        "lab_humidity=45",
        "--answer",
        "connect=ok",
        "--db",
        &path(&db),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ro = dir.join("ro.db");
    std::fs::copy(&db, &ro).expect("copy");
    let mut perms = std::fs::metadata(&ro).expect("meta").permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&ro, perms).expect("chmod");
    let before = std::fs::read(&ro).expect("read");
    for args in [vec!["runs", "list"], vec!["audit", "verify"]] {
        let mut args = args;
        args.extend(["--db", ro.to_str().expect("utf-8")]);
        let out = run(&args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
    assert_eq!(
        std::fs::read(&ro).expect("read"),
        before,
        "read-only file untouched"
    );
}
