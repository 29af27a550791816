//! `pvstation report …`: issue a run's report from stored data, and verify an issued one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use serde_json::Value;

use crate::app::reports::{Issue, issue_report};
use crate::model::Date;
use crate::report::model::ReportMeta;
use crate::store::db::{Database, sha256_hex};

/// Arguments of `pvstation report`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// The run to report.
    run: Option<String>,
    /// Output directory.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Formats, comma-separated: pdf, html, json, dcc.
    #[arg(long, default_value = "pdf,html,json,dcc")]
    format: String,
    /// A draft: watermarked, no certificate number, not recorded; allowed when incomplete.
    #[arg(long)]
    draft: bool,
    /// Customer name.
    #[arg(long)]
    customer: Option<String>,
    /// Customer contact e-mail.
    #[arg(long)]
    customer_email: Option<String>,
    /// Description and identification of the item.
    #[arg(long)]
    item: Option<String>,
    /// Date the item was received (YYYY-MM-DD).
    #[arg(long)]
    received: Option<String>,
    /// Authorising signatory.
    #[arg(long)]
    signatory: Option<String>,
    /// The signatory's role.
    #[arg(long)]
    role: Option<String>,
    /// Laboratory address.
    #[arg(long)]
    address: Option<String>,
    /// Sign the issued files with this key (`pvstation keys new`); the sign-off goes to the
    /// audit trail.
    #[arg(long, value_name = "KEYFILE")]
    sign: Option<PathBuf>,
    /// What the signature means: approval or review.
    #[arg(long, default_value = "approval")]
    meaning: String,
    /// Database file.
    #[arg(long)]
    db: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Check an issued report: file hashes against the database, its results against the
    /// stored ones, and the run re-executed from its raw data; exit 1 on any difference.
    Verify {
        /// The report's manifest (`NUMBER.manifest.json`) or the directory holding it.
        path: PathBuf,
        /// Database file.
        #[arg(long)]
        db: Option<PathBuf>,
        /// Check the signature against this public key (`KEYFILE.pub`) instead of the one
        /// recorded when the report was issued.
        #[arg(long)]
        key: Option<PathBuf>,
    },
}

/// Run `pvstation report …`.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(Command::Verify { path, db, key }) = args.command {
        return verify(&path, db, key).await;
    }
    if !matches!(args.meaning.as_str(), "approval" | "review") {
        anyhow::bail!("--meaning {}: use approval or review", args.meaning);
    }
    let key = args
        .sign
        .as_deref()
        .map(super::keys::read_key)
        .transpose()?;
    if let Some(k) = &key
        && k["secret"].as_str().is_none()
    {
        anyhow::bail!("--sign needs the secret key file, not the public one");
    }
    let run_id = args
        .run
        .clone()
        .context("give the run to report: pvstation report RUN --out DIR")?;
    let out = args.out.clone().context("give --out DIR")?;
    let formats = crate::report::Format::parse_list(&args.format)
        .map_err(|e| anyhow::anyhow!("--format {e}"))?;
    let received = args
        .received
        .as_deref()
        .map(|d| Date::parse(d).map_err(|e| anyhow::anyhow!("--received {d}: {e}")))
        .transpose()?;
    // The signatory is the key's holder unless named.
    let signatory = args.signatory.clone().or_else(|| {
        key.as_ref()
            .and_then(|k| k["name"].as_str().map(String::from))
    });
    let role = args.role.clone().or_else(|| {
        key.as_ref()
            .and_then(|k| k["role"].as_str().map(String::from))
    });
    let meta = ReportMeta {
        customer: args.customer.clone(),
        customer_email: args.customer_email.clone(),
        item: args.item.clone(),
        received,
        signatory: signatory.clone(),
        signatory_role: role.clone(),
        address: args.address.clone(),
        draft: args.draft,
    };
    let db = Database::open(&super::store::database_path(args.db.clone())?)?;
    let issue = Issue {
        run_id: &run_id,
        out: &out,
        formats: &formats,
        meta,
        key,
        meaning: &args.meaning,
        issued_at: crate::instruments::roles::system_now(),
    };
    match issue_report(&db, &issue)? {
        Err(gaps) => {
            eprintln!("error: a final report of run {run_id} is refused; missing:");
            for g in &gaps {
                eprintln!("  - {g}");
            }
            eprintln!("(a watermarked draft is allowed: add --draft)");
            Ok(ExitCode::from(1))
        }
        Ok(issued) => {
            println!(
                "{} {} of run {run_id}{}: {}",
                if args.draft { "draft" } else { "report" },
                issued.number,
                issued
                    .previous
                    .as_deref()
                    .map(|p| format!(" (revision {}, replaces {p})", issued.revision))
                    .unwrap_or_default(),
                issued.files.join(", ")
            );
            for note in &issued.notes {
                println!("{note}");
            }
            if args.draft && !issued.gaps.is_empty() {
                println!("draft only; a final report would still need:");
                for g in &issued.gaps {
                    println!("  - {g}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A bare file name: no directory separator, not `.` or `..`, not empty.
fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
        && Path::new(name).file_name().is_some_and(|n| n == name)
}

fn manifest_path(path: &Path) -> anyhow::Result<PathBuf> {
    if path.is_dir() {
        let found: Vec<PathBuf> = std::fs::read_dir(path)?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with(".manifest.json"))
            .collect();
        match found.as_slice() {
            [one] => Ok(one.clone()),
            [] => anyhow::bail!("{}: no *.manifest.json here", path.display()),
            _ => anyhow::bail!(
                "{}: several reports here; give the manifest file",
                path.display()
            ),
        }
    } else {
        Ok(path.to_path_buf())
    }
}

async fn verify(
    path: &Path,
    db: Option<PathBuf>,
    key: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let manifest_path = manifest_path(path)?;
    let dir = manifest_path.parent().unwrap_or(Path::new("."));
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(&manifest_path)
            .with_context(|| format!("cannot read {}", manifest_path.display()))?,
    )
    .with_context(|| format!("{} is not a report manifest", manifest_path.display()))?;
    let (Some(number), Some(run_id)) = (manifest["number"].as_str(), manifest["run_id"].as_str())
    else {
        anyhow::bail!(
            "{} is not a report manifest: it has no `number` and `run_id` (give the NUMBER.manifest.json written with the report, or its directory)",
            manifest_path.display()
        );
    };
    let (number, run_id) = (number.to_string(), run_id.to_string());
    let (db_path, database) = super::store::read_database(db)?;
    let mut problems = Vec::new();
    let issued = database.reports()?.into_iter().find(|r| r.number == number);
    let files: BTreeMap<String, String> = match &issued {
        Some(r) => serde_json::from_str(&r.files)?,
        None => {
            problems.push(format!(
                "report {number} is not recorded as issued in {}",
                db_path.display()
            ));
            serde_json::from_value(manifest["files"].clone()).unwrap_or_default()
        }
    };
    for (name, hash) in &files {
        // A manifest names files beside it, never a path: reading `../../etc/passwd` would
        // make `verify` an oracle on arbitrary files.
        if !is_plain_file_name(name) {
            problems.push(format!(
                "`{}`: not a file name beside the manifest (paths are refused)",
                crate::analysis::curve::shown(name)
            ));
            continue;
        }
        match std::fs::read(dir.join(name)) {
            Ok(bytes) if sha256_hex(&bytes) == *hash => {}
            Ok(_) => problems.push(format!("{name}: its SHA-256 differs from the issued file")),
            Err(e) => problems.push(format!("{name}: {e}")),
        }
    }
    // The signature: by the key recorded at issue (or the one given), over these hashes.
    let recorded_key = issued.as_ref().and_then(|r| {
        serde_json::from_str::<Value>(&r.metadata).ok()?["public_key"]
            .as_str()
            .map(String::from)
    });
    let expected_key = match &key {
        Some(p) => Some(
            super::keys::read_key(p)?["public"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ),
        None => recorded_key,
    };
    let signature = manifest["signature"]["value"].as_str();
    let mut signed_check = manifest.clone();
    if let Some(obj) = signed_check.as_object_mut() {
        // The database's file hashes are authoritative.
        obj.insert("files".into(), serde_json::to_value(&files)?);
    }
    match (signature, &expected_key) {
        (Some(sig), Some(public)) => {
            if let Err(e) = crate::report::sign::verify(&signed_check, sig, public) {
                problems.push(format!("signature: {e}"));
            }
        }
        (None, Some(_)) => {
            problems.push("the report was signed but its manifest carries no signature".into())
        }
        (Some(_), None) => problems
            .push("the manifest carries a signature but no key to check it (give --key)".into()),
        (None, None) => {}
    }
    // The results the report states must be the stored ones …
    if let Some(json_name) = files.keys().find(|n| n.ends_with(".json"))
        && let Ok(text) = std::fs::read_to_string(dir.join(json_name))
        && let Ok(report) = serde_json::from_str::<Value>(&text)
    {
        for (name, value) in database.results(&run_id)? {
            let stored: Value = serde_json::from_str(&value).unwrap_or(Value::Null);
            if report["results"][&name] != stored {
                problems.push(format!(
                    "result `{name}` in the report differs from the database"
                ));
            }
        }
    }
    // … and the stored ones must follow from the raw data.
    let v = crate::engine::verify::verify_run(&db_path, &run_id).await?;
    for d in &v.differences {
        problems.push(format!(
            "recomputed from the raw data: {} stored {} — recomputed {}",
            d.what, d.stored, d.recomputed
        ));
    }
    if problems.is_empty() {
        println!(
            "report {number} verified: {} file(s) as issued{}; run {run_id} re-executed from {} journaled activities reproduces all {} results",
            files.len(),
            if signature.is_some() {
                ", Ed25519 signature valid"
            } else {
                ""
            },
            v.activities,
            v.results
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!("report {number} does NOT verify:");
        for p in &problems {
            println!("  - {p}");
        }
        Ok(ExitCode::from(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (issue 11, defect 5): `report verify` hashed whatever paths a foreign
    /// manifest listed.
    #[test]
    fn manifests_name_files_not_paths() {
        for ok in ["PVS-2026-0001.json", "PVS-2026-0001.dcc.xml", "a..b"] {
            assert!(is_plain_file_name(ok), "{ok}");
        }
        for bad in [
            "../../../../etc/passwd",
            "/etc/passwd",
            "..",
            ".",
            "",
            "sub/file.json",
            "a\\b",
            "x\0y",
        ] {
            assert!(!is_plain_file_name(bad), "{bad}");
        }
    }
}
