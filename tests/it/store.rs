//! The station database through the real binary: `audit verify` and `runs list`.

use pvstation::store::db::Database;

use crate::cli::{bin, tempdir};

#[test]
fn audit_verify_names_the_first_broken_link() {
    let dir = tempdir("audit-cli");
    let path = dir.join("station.db");
    {
        let db = Database::open(&path).expect("db");
        for k in 0..4 {
            db.audit(
                1.8e9 + k as f64,
                "li.wei",
                "prompt.answer",
                &format!("{{\"prompt\":\"connect 10 mΩ\",\"answer\":\"{k}\"}}"),
            )
            .expect("append");
        }
    }
    let out = bin()
        .args(["audit", "verify", "--db"])
        .arg(&path)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("4 entries"));
    {
        let db = Database::open(&path).expect("db");
        db.connection().execute_batch("DROP TRIGGER audit_no_update; UPDATE audit SET details = '{\"answer\":\"edited\"}' WHERE id = 2;").expect("tamper");
    }
    let out = bin()
        .args(["audit", "verify", "--db"])
        .arg(&path)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("BROKEN at entry 2"), "{text}");
    let out = bin()
        .args(["runs", "list", "--db"])
        .arg(&path)
        .output()
        .expect("runs");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("no runs"));
    // $PVSTATION_DB is honoured.
    let out = bin()
        .args(["audit", "verify"])
        .env("PVSTATION_DB", &path)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
}
