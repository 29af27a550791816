//! Issuing reports: build the model from stored data, check its completeness (a final
//! report lacking anything ISO/IEC 17025 7.8 asks for is refused, nothing written and no
//! number used), render, write (never over an issued file), sign, and record it with the
//! SHA-256 of every file; and drafts, watermarked and unnumbered, from either interface.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::AppError;
use crate::model::Date;
use crate::report::Format;
use crate::report::build::build;
use crate::report::model::{ProcedureFacts, ReportMeta, missing};
use crate::store::db::{Database, sha256_hex};
use crate::store::reports::IssuedReport;
use crate::store::write_atomically;

/// A report to issue.
pub struct Issue<'a> {
    /// The run.
    pub run_id: &'a str,
    /// Output directory.
    pub out: &'a Path,
    /// Formats (pdf, html, json, dcc).
    pub formats: &'a [Format],
    /// Metadata (draft included).
    pub meta: ReportMeta,
    /// Signing key file contents.
    pub key: Option<Value>,
    /// approval / review.
    pub meaning: &'a str,
    /// Issue time [s since epoch].
    pub issued_at: f64,
    /// The laboratory's document-signing key for the PDF, and whether it is a demo key.
    pub lab_key: Option<(crate::report::pades::LabKey, bool)>,
}

/// What was issued.
pub struct Issued {
    /// Certificate number.
    pub number: String,
    /// 0 for the first issue of a certificate, n for its n-th revision.
    pub revision: i64,
    /// Replaced report.
    pub previous: Option<String>,
    /// Files written.
    pub files: Vec<String>,
    /// What a final report would still need (drafts).
    pub gaps: Vec<String>,
    /// Remarks (e.g. a draft without DCC).
    pub notes: Vec<String>,
}

/// Build, check, render, write, sign and record a report. `Err(gaps)` inside: a final report
/// refused for what it lacks (nothing written, no number used).
pub fn issue_report(db: &Database, issue: &Issue) -> Result<Result<Issued, Vec<String>>, AppError> {
    let draft = issue.meta.draft;
    let run_id = issue.run_id;
    let (number, revision, previous) = if draft {
        (format!("DRAFT-{run_id}"), 0, None)
    } else {
        // The station's prefix as the run recorded it (its station snapshot).
        let prefix = db
            .run_start(run_id)?
            .and_then(|r| serde_json::from_str::<Value>(&r.station).ok())
            .and_then(|s| {
                s["file"]["station"]["number_prefix"]
                    .as_str()
                    .map(String::from)
            })
            .unwrap_or_else(|| "PVS".into());
        db.next_report_number(
            run_id,
            Date::from_unix_seconds(issue.issued_at).year,
            &prefix,
        )?
    };
    let meta = with_procedure(db, run_id, issue.meta.clone())?;
    let report = build(
        db,
        run_id,
        &number,
        revision,
        previous.as_deref(),
        issue.issued_at,
        &meta,
    )?;
    let gaps = missing(&report);
    if !gaps.is_empty() && !draft {
        return Ok(Err(gaps));
    }
    std::fs::create_dir_all(issue.out)
        .map_err(|e| AppError::Invalid(format!("cannot create {}: {e}", issue.out.display())))?;
    let signing = issue
        .lab_key
        .as_ref()
        .map(|(key, demo)| crate::report::LabSigning {
            key,
            demo: *demo,
            at: issue.issued_at,
        });
    let (rendered, notes) =
        crate::report::render_all(&report, issue.formats, draft, signing.as_ref())
            .map_err(AppError::Invalid)?;
    let mut files = BTreeMap::new();
    for (name, bytes) in rendered {
        let path = issue.out.join(&name);
        if path.exists() && !draft {
            return Err(AppError::Invalid(format!(
                "{} exists: an issued report is never overwritten",
                path.display()
            )));
        }
        write_atomically(&path, &bytes)?;
        files.insert(name, sha256_hex(&bytes));
    }
    let signatory = issue.meta.signatory.clone();
    let role = issue.meta.signatory_role.clone();
    let mut manifest = json!({"number": number, "run_id": run_id, "revision": revision,
                          "previous": previous, "draft": draft, "files": files});
    let mut public_key = None;
    if let Some(k) = &issue.key {
        let (signature, public) =
            crate::report::sign::sign(&manifest, k["secret"].as_str().unwrap_or_default())
                .map_err(AppError::Invalid)?;
        manifest["signature"] = json!({"algorithm": "Ed25519", "value": signature,
            "public_key": public, "signer": signatory, "role": role, "meaning": issue.meaning});
        public_key = Some(public);
    }
    let manifest_path = issue.out.join(format!("{number}.manifest.json"));
    write_atomically(&manifest_path, manifest.to_string().as_bytes())?;
    if !draft {
        db.record_report(&IssuedReport {
            number: number.clone(),
            run_id: run_id.to_string(),
            revision,
            previous: previous.clone(),
            issued_at: issue.issued_at,
            issued_by: signatory
                .clone()
                .unwrap_or_else(|| std::env::var("USER").unwrap_or_default()),
            metadata: json!({"meta": issue.meta, "public_key": public_key}).to_string(),
            files: json!(files).to_string(),
        })?;
        if let Some(public) = &public_key {
            let details = json!({"report": number, "signer": signatory, "role": role,
                                 "meaning": issue.meaning, "public_key": public});
            db.audit(
                issue.issued_at,
                signatory.as_deref().unwrap_or("?"),
                "report.sign",
                &details.to_string(),
            )?;
        }
    }
    Ok(Ok(Issued {
        number,
        revision,
        previous,
        files: files.keys().cloned().collect(),
        gaps,
        notes,
    }))
}

/// Write a draft report (PDF, HTML, JSON; watermarked, unnumbered, not recorded) of a run into
/// `reports/RUN/` beside the database; the directory and the number of files written.
pub fn write_draft(db_path: &Path, run_id: &str, now: f64) -> Result<(PathBuf, usize), AppError> {
    let db = Database::open_read_only(db_path)?;
    let meta = ReportMeta {
        draft: true,
        ..Default::default()
    };
    let meta = with_procedure(&db, run_id, meta)?;
    let report = build(&db, run_id, &format!("DRAFT-{run_id}"), 0, None, now, &meta)?;
    let formats = [Format::Pdf, Format::Html, Format::Json];
    let dir = db_path
        .parent()
        .unwrap_or(Path::new("."))
        .join("reports")
        .join(run_id);
    let (files, _) =
        crate::report::render_all(&report, &formats, true, None).map_err(AppError::Invalid)?;
    std::fs::create_dir_all(&dir)
        .map_err(|e| AppError::Invalid(format!("cannot create {}: {e}", dir.display())))?;
    for (name, bytes) in &files {
        write_atomically(&dir.join(name), bytes)?;
    }
    Ok((dir, files.len()))
}

/// The metadata with the procedure's declared version and roles, read from the script the run
/// executed (stored with the run, or a shipped or archived release with the same SHA-256).
pub fn with_procedure(
    db: &Database,
    run_id: &str,
    mut meta: ReportMeta,
) -> Result<ReportMeta, AppError> {
    let Some(start) = db.run_start(run_id)? else {
        return Ok(meta);
    };
    let source = match db.script(&start.procedure_hash)? {
        Some((file, source)) => Some((file, source)),
        None => crate::engine::procedure::shipped_by_hash(&start.procedure_hash)
            .map(|(file, source)| (file, source.to_string())),
    };
    if let Some((file, source)) = source
        && let Ok(p) = crate::engine::procedure::Procedure::load(&file, &source)
    {
        meta.procedure = Some(ProcedureFacts {
            version: p.declaration.version,
            roles: p.declaration.roles,
        });
    }
    Ok(meta)
}
