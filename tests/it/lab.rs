//! The laboratory's store on a real PostgreSQL server (issue 16): two simulated stations sync
//! into one lab store, a sync killed at random moments loses and duplicates nothing, and a row
//! changed behind the rules is found by `lab audit verify`.
//!
//! The server: `$PVSTATION_TEST_PG` (a superuser URL; `.ci/run` starts a throw-away cluster
//! with `.ci/postgres` and sets it). Without it these tests say why they skip — unless
//! `PVSTATION_REQUIRE_TOOLS=1`, where they fail.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::cli::{bin, repo, tempdir};

/// The test server's URL, or None (with the reason printed) when there is none.
pub fn server() -> Option<String> {
    match std::env::var("PVSTATION_TEST_PG") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            let message = "the lab-store tests need a PostgreSQL server: set PVSTATION_TEST_PG=postgresql://USER@127.0.0.1:PORT/DB (a superuser), or run .ci/run, which starts a throw-away cluster with .ci/postgres";
            assert!(
                !crate::tools::required(),
                "PVSTATION_REQUIRE_TOOLS=1: {message}"
            );
            eprintln!("SKIP {message}");
            None
        }
    }
}

/// Run SQL on the server as its superuser (tokio-postgres, a dependency of pvstation): the
/// rows as text, or the server's message.
pub fn try_sql(url: &str, statements: &str) -> Result<Vec<Vec<Option<String>>>, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("connects to the test server");
        tokio::spawn(connection);
        let messages = client.simple_query(statements).await.map_err(|e| {
            e.as_db_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_string())
        })?;
        Ok(messages
            .into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => {
                    Some((0..r.len()).map(|k| r.get(k).map(String::from)).collect())
                }
                _ => None,
            })
            .collect())
    })
}

/// [`try_sql`] that must succeed.
pub fn sql(url: &str, statements: &str) -> Vec<Vec<Option<String>>> {
    try_sql(url, statements).unwrap_or_else(|e| panic!("{statements}: {e}"))
}

/// A new, empty database on the server for one test; its URL.
pub fn fresh_database(server: &str, name: &str) -> String {
    // One statement per call: a multi-statement query is one transaction block, which
    // DROP/CREATE DATABASE refuse.
    sql(
        server,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    );
    sql(server, &format!("CREATE DATABASE {name}"));
    let (base, _) = server.rsplit_once('/').expect("a URL with a database");
    format!("{base}/{name}")
}

/// A copy of the demo station with its own name and certificate-number prefix.
fn station_file(dir: &Path, name: &str, prefix: &str) -> PathBuf {
    let text = std::fs::read_to_string(repo("instruments/stations/demo-sim.toml")).expect("demo");
    let text = text.replacen(
        "[station]\nname = \"Plateau outdoor PV + battery-tester bench (simulated)\"",
        &format!("[station]\nname = \"{name}\"\nnumber_prefix = \"{prefix}\""),
        1,
    );
    assert!(
        text.contains(prefix),
        "the demo station's [station] table moved"
    );
    // Beside no profiles: an `instruments/stations/` folder of its own.
    let stations = dir.join("instruments").join("stations");
    std::fs::create_dir_all(&stations).expect("dir");
    let path = stations.join(format!("{prefix}.toml"));
    std::fs::write(&path, text).expect("station file");
    path
}

/// The demo's two procedures on a station: its database.
fn demo_station(dir: &Path, name: &str, prefix: &str) -> PathBuf {
    let station = station_file(dir, name, prefix);
    let db = dir.join(format!("{prefix}.db"));
    let out = bin()
        .args(["demo", "--headless", "--speed", "200", "--station"])
        .arg(&station)
        .arg("--db")
        .arg(&db)
        .arg("--reports")
        .arg(dir.join(format!("reports-{prefix}")))
        .output()
        .expect("demo");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    db
}

fn pvstation(args: &[&str], store: &str) -> Output {
    bin()
        .args(args)
        .env("PVSTATION_LAB_STORE", store)
        .output()
        .expect("runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn sync(db: &Path, store: &str, batch: usize) -> Output {
    pvstation(
        &[
            "sync",
            "--db",
            db.to_str().expect("utf-8"),
            "--batch",
            &batch.to_string(),
            "--json",
        ],
        store,
    )
}

/// Rows a station database holds per table.
fn station_counts(db: &Path) -> Vec<(String, i64)> {
    let c = rusqlite::Connection::open(db).expect("opens");
    [
        "runs",
        "activities",
        "raw",
        "io_log",
        "audit",
        "results",
        "reports",
        "run_references",
    ]
    .iter()
    .map(|t| {
        let n: i64 = c
            .query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
            .expect("count");
        (t.to_string(), n)
    })
    .collect()
}

fn station_uuid(db: &Path) -> String {
    let c = rusqlite::Connection::open(db).expect("opens");
    c.query_row("SELECT uuid FROM station_identity", [], |r| r.get(0))
        .expect("identity")
}

fn lab_count(store: &str, table: &str, uuid: &str) -> i64 {
    sql(
        store,
        &format!("SELECT count(*) FROM {table} WHERE station_uuid = '{uuid}'"),
    )[0][0]
        .as_deref()
        .expect("count")
        .parse()
        .expect("number")
}

#[test]
fn two_stations_one_lab_store_and_a_sync_killed_ten_times() {
    let Some(server) = server() else { return };
    let dir = tempdir("lab-two-stations");
    // Two stations measure at once (different identities and number prefixes).
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| demo_station(&dir, "Outdoor field A (simulated)", "PVSA"));
        let b = s.spawn(|| demo_station(&dir, "Outdoor field B (simulated)", "PVSB"));
        (a.join().expect("A"), b.join().expect("B"))
    });
    let store = fresh_database(&server, &format!("lab_two_{}", std::process::id()));
    // A in one go.
    let first = sync(&a, &store, 2000);
    assert!(first.status.success(), "{}", text(&first));
    let summary: Value = serde_json::from_slice(&first.stdout).expect("JSON summary");
    assert!(summary["copied"]["raw"].as_u64().unwrap() > 0);
    // B killed with SIGKILL at ten random moments: batches of 10 rows (a whole sync of B takes
    // about a second here), so that kills land inside transactions as well as between them;
    // each restart resumes above what landed.
    let mut seed = std::process::id() as u64 | 1;
    let mut random = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let uuid_b = station_uuid(&b);
    let mut landed = Vec::new();
    for _ in 0..10 {
        let mut child = bin()
            .args(["sync", "--db"])
            .arg(&b)
            .args(["--batch", "10", "--to", &store])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("sync");
        std::thread::sleep(std::time::Duration::from_millis(20 + random() % 100));
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        let rows: i64 = ["runs", "activities", "raw", "io_log", "results", "audit"]
            .iter()
            .map(|t| lab_count(&store, t, &uuid_b))
            .sum();
        landed.push((rows, lab_count(&store, "syncs", &uuid_b)));
    }
    eprintln!("B's rows in the lab store (and finished syncs) after each SIGKILL: {landed:?}");
    assert!(
        landed.iter().any(|&(rows, done)| rows > 0 && done == 0),
        "at least one kill lands in the middle of the copy: {landed:?}"
    );
    let last = sync(&b, &store, 10);
    assert!(last.status.success(), "{}", text(&last));
    // Everything once: the stations' counts, no duplicates, every hash verifies.
    for (db, uuid) in [(&a, station_uuid(&a)), (&b, uuid_b.clone())] {
        for (table, n) in station_counts(db) {
            assert_eq!(lab_count(&store, &table, &uuid), n, "{table} of {uuid}");
        }
    }
    let dup = sql(
        &store,
        "SELECT (SELECT count(*) - count(DISTINCT (station_uuid, id)) FROM raw)
              + (SELECT count(*) - count(DISTINCT (station_uuid, run_id, seq)) FROM activities)
              + (SELECT count(*) - count(DISTINCT (station_uuid, id)) FROM audit)",
    );
    assert_eq!(dup[0][0].as_deref(), Some("0"));
    let again = sync(&b, &store, 10);
    let again: Value = serde_json::from_slice(&again.stdout).expect("JSON");
    assert_eq!(
        again["batches"], 0,
        "a repeated sync copies nothing: {again}"
    );
    let verify = pvstation(&["lab", "audit", "verify"], &store);
    assert!(verify.status.success(), "{}", text(&verify));
    // Every run of both stations, with the station's identity.
    let list = pvstation(&["lab", "runs", "list", "--json"], &store);
    let runs: Vec<Value> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(runs.len(), 4, "{runs:?}");
    for key in [
        "id",
        "procedure",
        "operator",
        "started_at",
        "status",
        "station_uuid",
        "station_name",
    ] {
        assert!(runs.iter().all(|r| r.get(key).is_some()), "{key}");
    }
    let stations: std::collections::BTreeSet<&str> = runs
        .iter()
        .filter_map(|r| r["station_uuid"].as_str())
        .collect();
    assert_eq!(stations.len(), 2);
    // The shared reference cell's recall list spans both stations, with their reports.
    let trace = pvstation(
        &["lab", "refs", "trace", "NIM-PV-2026-0311", "--json"],
        &store,
    );
    let uses: Vec<Value> = String::from_utf8_lossy(&trace.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    let on: std::collections::BTreeSet<&str> = uses
        .iter()
        .filter_map(|u| u["station_uuid"].as_str())
        .collect();
    assert_eq!(on.len(), 2, "{uses:?}");
    let reports: Vec<&str> = uses
        .iter()
        .flat_map(|u| u["reports"].as_array().into_iter().flatten())
        .filter_map(|r| r.as_str())
        .collect();
    assert!(
        reports.contains(&"PVSA-2026-0001") && reports.contains(&"PVSB-2026-0001"),
        "{reports:?}"
    );
    // A report verifies against the lab store, its run re-executed from the lab's copy.
    let report = dir.join("reports-PVSB").join("outdoor-pmax");
    let checked = pvstation(
        &["lab", "report", "verify", report.to_str().unwrap()],
        &store,
    );
    assert!(checked.status.success(), "{}", text(&checked));
    assert!(
        text(&checked).contains("reproduces all"),
        "{}",
        text(&checked)
    );
    // The whole record of a run, as its station shows it.
    let id = runs[0]["id"].as_str().unwrap();
    let shown = pvstation(&["lab", "runs", "show", id, "--json"], &store);
    let record: Value = serde_json::from_slice(&shown.stdout).expect("JSON");
    assert_eq!(record["run_id"], id);
    assert!(record["results"].as_object().is_some_and(|r| !r.is_empty()));

    // The platform bundle: DCC files schema-valid and byte for byte the issued ones, Parquet
    // readable, every hash in the manifest right.
    let bundle = dir.join("bundle");
    let exported = pvstation(
        &[
            "lab",
            "export",
            "--from",
            "2026-01-01",
            "--to",
            "2026-12-31",
            "--out",
            bundle.to_str().unwrap(),
        ],
        &store,
    );
    assert!(exported.status.success(), "{}", text(&exported));
    check_bundle(&bundle, 4, 4);
    // Kept where .ci/run reads it with pyarrow (tests/interop/lab_export_pyarrow.py).
    let kept = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("lab-export-bundle");
    let _ = std::fs::remove_dir_all(&kept);
    std::fs::create_dir_all(kept.join("dcc")).expect("dir");
    for name in
        serde_json::from_slice::<Value>(&std::fs::read(bundle.join("manifest.json")).unwrap())
            .unwrap()["files"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .chain(["manifest.json"])
    {
        std::fs::copy(bundle.join(name), kept.join(name)).expect("copy");
    }

    // Behind the rules (as superuser, triggers off): an edited raw record and a removed audit
    // entry are both named.
    for change in [
        "UPDATE raw SET data = '[]'",
        "DELETE FROM audit",
        "TRUNCATE results",
    ] {
        let err = try_sql(&store, change).expect_err("the triggers refuse it");
        assert!(err.contains("immutable"), "{change}: {err}");
    }
    sql(
        &store,
        &format!(
            "SET session_replication_role = replica;
             UPDATE raw SET data = replace(data, '1', '2') WHERE station_uuid = '{uuid_b}' AND id = 3;
             DELETE FROM audit WHERE station_uuid = '{uuid_b}' AND id = 2;"
        ),
    );
    let broken = pvstation(&["lab", "audit", "verify"], &store);
    assert_eq!(broken.status.code(), Some(1), "{}", text(&broken));
    let said = text(&broken);
    assert!(said.contains("raw row") && said.contains("id 3"), "{said}");
    assert!(said.contains("audit") && said.contains("removed"), "{said}");
    assert!(
        said.contains("Outdoor field A (simulated)") && said.contains("intact"),
        "{said}"
    );
}

/// The export bundle at `dir`: `runs` runs and `certificates` DCC files, each schema-valid and
/// identical to the one issued; both Parquet datasets readable with the rows the manifest
/// states; every file's SHA-256 as the manifest says.
pub fn check_bundle(dir: &Path, runs: usize, certificates: usize) {
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).expect("manifest"))
            .expect("JSON");
    assert_eq!(manifest["format"], "pvstation-lab-export/1");
    assert_eq!(manifest["runs"].as_array().map(Vec::len), Some(runs));
    let certs = manifest["certificates"].as_array().expect("certificates");
    assert_eq!(certs.len(), certificates);
    for c in certs {
        assert_eq!(c["identical_to_issued"], true, "{c}");
        crate::engine::assert_valid_dcc(&dir.join(c["file"].as_str().unwrap()));
    }
    let files = manifest["files"].as_object().expect("files");
    assert_eq!(files.len(), 2 + certificates);
    for (name, f) in files {
        let bytes = std::fs::read(dir.join(name)).expect("listed file");
        assert_eq!(
            f["sha256"].as_str(),
            Some(pvstation::store::db::sha256_hex(&bytes).as_str()),
            "{name}"
        );
    }
    for (name, min) in [("results.parquet", 10), ("iv_points.parquet", 1000)] {
        let df = pvstation::store::table::read_table(&dir.join(name)).expect("Parquet");
        assert_eq!(
            Some(df.height() as u64),
            manifest["datasets"][name]["rows"].as_u64(),
            "{name}"
        );
        assert!(df.height() >= min, "{name}: {}", df.height());
    }
}

/// Two stations issuing the same certificate number: the second one's sync is refused with
/// the fix, and nothing of that batch lands.
#[test]
fn a_certificate_number_issued_twice_is_refused() {
    let Some(server) = server() else { return };
    let dir = tempdir("lab-numbers");
    let db = demo_station(&dir, "Outdoor field C (simulated)", "PVSC");
    let store = fresh_database(&server, &format!("lab_numbers_{}", std::process::id()));
    assert!(sync(&db, &store, 2000).status.success());
    // The lab store's schema (its migrations) holds every column the sync copies, in order,
    // with the same types (store/lab/tables.rs describes the station's tables).
    use pvstation::store::lab::tables::TABLES;
    for t in TABLES {
        let got: Vec<(String, String)> = sql(
            &store,
            &format!(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '{}' ORDER BY ordinal_position",
                t.name
            ),
        )
        .into_iter()
        .map(|r| (r[0].clone().unwrap(), r[1].clone().unwrap()))
        .collect();
        let mut want = vec![
            ("station_uuid".to_string(), "text".to_string()),
            ("src_rowid".to_string(), "bigint".to_string()),
        ];
        want.extend(
            t.columns
                .iter()
                .map(|(n, ty)| (n.to_string(), ty.postgres().to_string())),
        );
        if t.immutable {
            want.push(("row_sha256".into(), "text".into()));
        }
        assert_eq!(got, want, "lab store table {}", t.name);
    }
    // A second station that happens to hold the same numbers: the same file under a new
    // identity (made behind the identity's trigger, as a misconfigured clone would be).
    let twin = dir.join("twin.db");
    std::fs::copy(&db, &twin).expect("copy");
    let c = rusqlite::Connection::open(&twin).expect("opens");
    c.execute_batch(
        "DROP TRIGGER station_identity_no_update;
         UPDATE station_identity SET uuid = '00000000-0000-4000-8000-000000000001';",
    )
    .expect("new identity");
    drop(c);
    let out = sync(&twin, &store, 2000);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("PVSC-2026-0001") && said.contains("number_prefix"),
        "{said}"
    );
    assert_eq!(
        lab_count(&store, "reports", "00000000-0000-4000-8000-000000000001"),
        0
    );
    // Offline is not an error of the station: the message says what to check.
    let down = sync(&db, "postgresql://nobody@127.0.0.1:1/lab", 2000);
    assert_eq!(down.status.code(), Some(2));
    assert!(
        text(&down).contains("cannot reach the lab store"),
        "{}",
        text(&down)
    );
}
