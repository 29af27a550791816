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
    /// Who calibrated (校准员); default: the run's operator.
    #[arg(long)]
    calibrated_by: Option<String>,
    /// Who checked the calibration (核验员); a final certificate needs one.
    #[arg(long)]
    checked_by: Option<String>,
    /// Who approves (批准人); the same as --signatory.
    #[arg(long, conflicts_with = "signatory")]
    approved_by: Option<String>,
    /// Model / specification of the item.
    #[arg(long)]
    item_model: Option<String>,
    /// Serial number of the item.
    #[arg(long)]
    item_serial: Option<String>,
    /// Manufacturer of the item.
    #[arg(long)]
    item_manufacturer: Option<String>,
    /// Language of the certificate: en, zh or zh-en (default: the station file's `language`).
    #[arg(long)]
    lang: Option<String>,
    /// Laboratory address.
    #[arg(long)]
    address: Option<String>,
    /// Sign the issued files with this key (`pvstation keys new`); the sign-off goes to the
    /// audit trail.
    #[arg(long, value_name = "KEYFILE")]
    sign: Option<PathBuf>,
    /// Sign the PDF with the laboratory's document-signing key (`pvstation keys lab-new` or
    /// `keys lab-import`): a PDF signature any reader checks.
    #[arg(long, value_name = "PEMFILE")]
    lab_key: Option<PathBuf>,
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
    /// stored ones, and the run re-executed from its raw data; or a lone received file — a
    /// PDF (its signature, the JSON certificate it embeds, the verification code, the stated
    /// results), a JSON or DCC certificate (with --db: its hash registered at issue); exit 1
    /// on any difference.
    Verify {
        /// The report's manifest (`NUMBER.manifest.json`), the directory holding it, or a lone
        /// `.pdf`, `.json` or `.dcc.xml` certificate.
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
        return verify(&path, db, key, None).await;
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
    if let Some(lang) = &args.lang {
        crate::report::text::Lang::parse(lang).map_err(|e| anyhow::anyhow!("--lang: {e}"))?;
    }
    let signatory = args
        .signatory
        .clone()
        .or(args.approved_by.clone())
        .or_else(|| {
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
        calibrated_by: args.calibrated_by.clone(),
        checked_by: args.checked_by.clone(),
        item_model: args.item_model.clone(),
        item_serial: args.item_serial.clone(),
        item_manufacturer: args.item_manufacturer.clone(),
        language: args.lang.clone(),
        procedure: None,
    };
    let lab_key = match &args.lab_key {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            Some((
                crate::report::pades::LabKey::from_pem(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?,
                false,
            ))
        }
        None => None,
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
        lab_key,
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

/// What names an issued report in a file given to `verify`: the certificate number (a
/// manifest, its directory, a PDF's embedded JSON, a JSON certificate) and the SHA-256 by
/// which the issue recorded the file (a JSON or DCC file; a PDF's embedded JSON).
pub(crate) fn identify_certificate(
    path: &Path,
) -> anyhow::Result<(Option<String>, Option<String>)> {
    let lower = path.to_string_lossy().to_ascii_lowercase();
    if path.is_dir() || lower.ends_with(".manifest.json") {
        let manifest = manifest_path(path)?;
        let v: Value = serde_json::from_slice(
            &std::fs::read(&manifest)
                .with_context(|| format!("cannot read {}", manifest.display()))?,
        )
        .with_context(|| format!("{} is not a report manifest", manifest.display()))?;
        return Ok((v["number"].as_str().map(String::from), None));
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let json = if lower.ends_with(".pdf") {
        crate::report::pades::embedded_file(&bytes).map(<[u8]>::to_vec)
    } else if lower.ends_with(".json") {
        Some(bytes.clone())
    } else {
        None
    };
    let number = json
        .as_deref()
        .and_then(|j| serde_json::from_slice::<Value>(j).ok())
        .and_then(|v| v["certificate"]["number"].as_str().map(String::from));
    let hash = sha256_hex(json.as_deref().unwrap_or(&bytes));
    Ok((number, Some(hash)))
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

/// The stated form a JSON certificate's result should carry, recomputed from its numbers.
fn restated(result: &Value) -> Option<Value> {
    serde_json::to_value(crate::model::stated::of_result(result)?).ok()
}

/// Problems of a JSON certificate on its own: every stated result follows from its numbers.
fn check_json(json: &[u8], problems: &mut Vec<String>) -> Option<Value> {
    let Ok(report) = serde_json::from_slice::<Value>(json) else {
        problems.push("the JSON certificate does not parse".into());
        return None;
    };
    for (name, r) in report["results"].as_object().into_iter().flatten() {
        if let Some(expected) = restated(r)
            && r.get("reported") != Some(&expected)
        {
            problems.push(format!(
                "result `{name}`: the stated form {} does not follow from its value, U and k ({})",
                r["reported"], expected
            ));
        }
    }
    Some(report)
}

/// Check a lone certificate file as a customer received it.
fn verify_lone(path: &Path, db: Option<PathBuf>, shown: Option<&str>) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let name = path.to_string_lossy().to_ascii_lowercase();
    let mut problems = Vec::new();
    let mut facts = Vec::new();
    let json: Vec<u8> = if name.ends_with(".pdf") {
        match crate::report::pades::verify_pdf(&bytes) {
            Ok(sig) => {
                facts.push(format!("PDF signature by \"{}\" valid", sig.signer));
                if !sig.covers_whole_file {
                    problems.push("the signature does not cover the whole file: bytes were added after signing".into());
                }
            }
            Err(e) => problems.push(format!("PDF signature: {e}")),
        }
        match crate::report::pades::embedded_file(&bytes) {
            Some(j) => j.to_vec(),
            None => {
                problems.push("the PDF embeds no JSON certificate".into());
                Vec::new()
            }
        }
    } else {
        bytes.clone()
    };
    let code = crate::report::verification_code(&json);
    let mut number = String::new();
    if name.ends_with(".pdf") && !json.is_empty() {
        if let Some(report) = check_json(&json, &mut problems) {
            number = report["certificate"]["number"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let qr = crate::report::pdf::qr_text(&number, &code);
            if bytes.windows(qr.len()).any(|w| w == qr.as_bytes()) {
                facts.push(format!(
                    "verification code {code} matches the embedded JSON"
                ));
            } else {
                problems.push(format!(
                    "the verification code on the pages is not the embedded JSON's ({code})"
                ));
            }
        }
    } else if name.ends_with(".json") {
        if let Some(report) = check_json(&json, &mut problems) {
            number = report["certificate"]["number"]
                .as_str()
                .unwrap_or_default()
                .to_string();
        }
    } else if !name.ends_with(".xml") {
        anyhow::bail!(
            "{}: give a .pdf, .json or .dcc.xml certificate, or the report's manifest",
            path.display()
        );
    }
    match db {
        Some(db) => {
            let (db_path, database) = super::store::read_database(Some(db))?;
            let db_path = shown.map_or_else(|| db_path.display().to_string(), String::from);
            let hash = sha256_hex(&json);
            let found = database.reports()?.into_iter().find(|r| {
                serde_json::from_str::<BTreeMap<String, String>>(&r.files)
                    .is_ok_and(|f| f.values().any(|h| *h == hash))
            });
            match found {
                Some(r) => {
                    number = r.number.clone();
                    facts.push(format!("registered at issue in {db_path}"));
                }
                None => problems.push(format!(
                    "no report issued in {db_path} has this {} (SHA-256 {hash})",
                    if name.ends_with(".pdf") {
                        "embedded JSON"
                    } else {
                        "file"
                    }
                )),
            }
        }
        None if !name.ends_with(".pdf") => problems.push(
            "a lone JSON or DCC file is checked against the issuing laboratory's record: give --db"
                .into(),
        ),
        None => {}
    }
    if problems.is_empty() {
        println!(
            "certificate {number} verified ({}): {}",
            path.display(),
            facts.join("; ")
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{} does NOT verify:", path.display());
        for p in &problems {
            println!("  - {p}");
        }
        Ok(ExitCode::from(1))
    }
}

/// `shown`: how to name the registry in messages (the lab store instead of the scratch file
/// its run was materialised into).
pub(crate) async fn verify(
    path: &Path,
    db: Option<PathBuf>,
    key: Option<PathBuf>,
    shown: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let lower = path.to_string_lossy().to_ascii_lowercase();
    if path.is_file() && !lower.ends_with(".manifest.json") {
        return verify_lone(path, db, shown);
    }
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
                shown.map_or_else(|| db_path.display().to_string(), String::from)
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
            // The report adds the stated form; it must follow from the stored numbers.
            let mut shown = report["results"][&name].clone();
            let reported = shown.as_object_mut().and_then(|o| o.remove("reported"));
            if reported.is_some() && reported != restated(&stored) {
                problems.push(format!(
                    "result `{name}`: the stated form in the report does not follow from the stored result"
                ));
            }
            if shown != stored {
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
