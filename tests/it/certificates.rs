//! The certificates as their readers get them (issue 13), through the real binary: the demo's
//! signed, bilingual PDFs read back with poppler (pdftotext, pdfsig, pdftoppm) and zbar
//! (zbarimg) — stated results exactly as the JSON reports them, numerical row order, every
//! glossary label in a Chinese certificate, a signature any reader checks, QR codes that hold
//! the number and the verification code, `report verify` on a lone PDF; a final report
//! refused for an uncalibrated instrument; DCC in both languages valid against the schema.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

use crate::cli::{bin, repo, tempdir};
use crate::tools::have;

/// The demo's database and reports directory, made once for all tests here.
fn demo() -> &'static (PathBuf, PathBuf) {
    static DEMO: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    DEMO.get_or_init(|| {
        let dir = tempdir("certificates-demo");
        let db = dir.join("demo.db");
        let out = bin()
            .args(["demo", "--headless", "--speed", "200", "--db"])
            .arg(&db)
            .output()
            .expect("demo runs");
        assert!(
            out.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (db, dir.join("reports"))
    })
}

fn certificate(kind: &str, ext: &str) -> PathBuf {
    let dir = demo().1.join(kind);
    std::fs::read_dir(&dir)
        .expect("reports")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            let name = p.to_string_lossy();
            name.ends_with(ext) && !name.ends_with(".manifest.json")
        })
        .unwrap_or_else(|| panic!("no {ext} in {}", dir.display()))
}

fn pdftotext(pdf: &Path, layout: bool) -> String {
    let mut c = Command::new("pdftotext");
    if layout {
        c.arg("-layout");
    }
    let out = c.arg(pdf).arg("-").output().expect("pdftotext runs");
    assert!(out.status.success(), "pdftotext {}", pdf.display());
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn squeeze(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("JSON")
}

#[test]
fn stated_results_in_the_pdf_are_the_json_reported_strings() {
    if !have("pdftotext", "poppler-utils", "the stated-results check") {
        return;
    }
    for kind in ["outdoor-pmax", "bit-calibration"] {
        let j = json(&certificate(kind, ".json"));
        let text = squeeze(&pdftotext(&certificate(kind, ".pdf"), false));
        let mut stated = 0;
        for (name, r) in j["results"].as_object().expect("results") {
            let Some(rep) = r.get("reported") else {
                assert!(r.get("U").is_none(), "{name} has U but no stated form");
                continue;
            };
            for key in ["value", "U", "unit", "k"] {
                assert!(rep[key].is_string(), "{name}.reported.{key}");
            }
            for key in ["value", "U"] {
                let s = rep[key].as_str().expect("string");
                assert!(
                    text.contains(s),
                    "{kind}: `{name}` {key} {s} is not in the PDF text"
                );
            }
            stated += 1;
        }
        assert!(stated >= 6, "{kind}: {stated} stated results");
    }
    // The outdoor run states every STC parameter with the same shape.
    let j = json(&certificate("outdoor-pmax", ".json"));
    for q in [
        "p_mp_stc", "i_sc_stc", "v_oc_stc", "i_mp_stc", "v_mp_stc", "ff_stc",
    ] {
        let r = &j["results"][q];
        for key in ["value", "U", "k"] {
            assert!(r[key].is_number(), "{q}.{key}");
        }
        assert!(r["unit"].is_string() && r["reported"].is_object(), "{q}");
    }
    // U is at most two significant digits, the value to the same decimal place.
    let p = &j["results"]["p_mp_stc"]["reported"];
    let decimals = |s: &str| s.split('.').nth(1).map_or(0, str::len);
    assert_eq!(
        decimals(p["value"].as_str().expect("value")),
        decimals(p["U"].as_str().expect("U"))
    );
}

#[test]
fn tester_rows_are_in_numerical_order() {
    if !have("pdftotext", "poppler-utils", "the row-order check") {
        return;
    }
    // Rows begin with the nominal value, then the standard's value: "1 mΩ 1.00012 mΩ".
    let text = squeeze(&pdftotext(&certificate("bit-calibration", ".pdf"), false));
    let results = &text[text.find("校准结果Results").expect("results")..];
    let rows = |unit: &str| -> Vec<String> {
        // A nominal value is never preceded by a digit, a point, ± or a minus sign.
        let pattern = format!(r"[^\d.±\-](\d+)(m?{unit})\d+\.\d+m?{unit}");
        regex_lite::Regex::new(&pattern)
            .expect("pattern")
            .captures_iter(results)
            .map(|c| format!("{} {}", &c[1], &c[2]))
            .collect()
    };
    assert_eq!(rows("Ω"), ["1 mΩ", "10 mΩ", "100 mΩ", "1 Ω", "10 Ω"]);
    assert_eq!(rows("V"), ["1 V", "5 V", "10 V", "50 V"]);
}

/// Glossary entries that appear only in some certificates (another decision rule, a
/// revision, an accredited laboratory, a draft, interruptions or none — a passing cloud under a
/// loaded machine decides —, a continued table).
const CONDITIONAL: [&str; 17] = [
    "none",
    // The mismatch factor: measured with each sweep (a spectroradiometer) or a parameter.
    "method_irradiance",
    "method_irradiance_measured",
    "demo_key",
    "digital_signature",
    "draft_title",
    "accreditation",
    "accreditation_text",
    "rule_non_binary",
    "pfa_non_binary",
    "conditionalPass",
    "conditionalFail",
    "deviations_meaning",
    "activity",
    "kind",
    "details",
    "continued",
];

#[test]
fn a_chinese_certificate_shows_every_glossary_label() {
    if !have(
        "pdftotext",
        "poppler-utils",
        "the Chinese certificate check",
    ) {
        return;
    }
    let (db, _) = demo();
    let dir = tempdir("certificates-zh");
    let runs = bin()
        .args(["runs", "list", "--json", "--db"])
        .arg(db)
        .output()
        .expect("list");
    let mut text = String::new();
    for line in String::from_utf8_lossy(&runs.stdout).lines() {
        let run: Value = serde_json::from_str(line).expect("run");
        let id = run["id"].as_str().expect("id");
        let out = bin()
            .args(["report", id, "--draft", "--lang", "zh", "--out"])
            .arg(dir.join(id))
            .arg("--db")
            .arg(db)
            .output()
            .expect("report");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pdf = dir.join(id).join(format!("DRAFT-{id}.pdf"));
        text.push_str(&pdftotext(&pdf, false));
    }
    assert!(text.contains("校准证书"), "{text}");
    let text = squeeze(&text);
    let glossary: toml::Table =
        toml::from_str(pvstation::report::text::GLOSSARY).expect("glossary");
    let mut checked = 0;
    for (key, entry) in &glossary {
        let zh = entry["zh"].as_str().expect("zh");
        if zh.contains('{') || CONDITIONAL.contains(&key.as_str()) || key == "certificate_title" {
            continue;
        }
        assert!(
            text.contains(&squeeze(zh)),
            "`{key}` ({zh}) is not in the Chinese certificates"
        );
        checked += 1;
    }
    assert!(checked > 90, "{checked} labels checked");
}

#[test]
fn the_pdf_signature_is_valid_for_pdfsig_and_a_changed_byte_is_caught() {
    if !have("pdfsig", "poppler-utils", "the PDF signature check") {
        return;
    }
    let pdf = certificate("outdoor-pmax", ".pdf");
    let out = Command::new("pdfsig").arg(&pdf).output().expect("pdfsig");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("Signature is Valid"), "{report}");
    assert!(report.contains("Total document signed"), "{report}");
    assert!(report.contains("ETSI.CAdES.detached"), "{report}");
    let verified = bin()
        .args(["report", "verify"])
        .arg(&pdf)
        .output()
        .expect("verify");
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );
    // One byte changed inside the signed part (the document information).
    let mut bytes = std::fs::read(&pdf).expect("read");
    let at = bytes
        .windows(8)
        .position(|w| w == b"/Creator")
        .expect("creator");
    bytes[at + 12] ^= 1;
    let changed = tempdir("certificates-changed").join("changed.pdf");
    std::fs::write(&changed, &bytes).expect("write");
    let out = Command::new("pdfsig")
        .arg(&changed)
        .output()
        .expect("pdfsig");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(!report.contains("Signature is Valid"), "{report}");
    let verified = bin()
        .args(["report", "verify"])
        .arg(&changed)
        .output()
        .expect("verify");
    assert_eq!(verified.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&verified.stdout).contains("changed after it was signed"),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );
}

#[test]
fn every_page_carries_a_qr_code_with_the_number_and_the_verification_code() {
    if !have("pdftoppm", "poppler-utils", "the QR code check")
        || !have("zbarimg", "zbar-tools", "the QR code check")
    {
        return;
    }
    let pdf = certificate("bit-calibration", ".pdf");
    let j = std::fs::read(certificate("bit-calibration", ".json")).expect("json");
    let code = pvstation::report::verification_code(&j);
    let number = json(&certificate("bit-calibration", ".json"))["certificate"]["number"]
        .as_str()
        .expect("number")
        .to_string();
    let dir = tempdir("certificates-qr");
    let prefix = dir.join("page");
    let ok = Command::new("pdftoppm")
        .args(["-r", "150", "-png"])
        .arg(&pdf)
        .arg(&prefix)
        .status()
        .expect("pdftoppm");
    assert!(ok.success());
    let mut pages = 0;
    for page in std::fs::read_dir(&dir).expect("pages").flatten() {
        let out = Command::new("zbarimg")
            .args(["-q", "--raw"])
            .arg(page.path())
            .output()
            .expect("zbarimg");
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            text.trim(),
            format!("PVSTATION-CERT:{number};SHA256:{code}"),
            "{}",
            page.path().display()
        );
        pages += 1;
    }
    assert!(pages >= 3, "{pages} pages");
}

#[test]
fn a_final_report_is_refused_when_an_instrument_has_no_calibration() {
    let dir = tempdir("certificates-uncalibrated");
    let station =
        std::fs::read_to_string(repo("instruments/stations/demo-sim.toml")).expect("demo station");
    // The SMU's calibration record removed.
    let start = station
        .find("[[instrument.calibration]]")
        .expect("first calibration");
    let end = start + station[start..].find("\n\n").expect("block end");
    assert!(station[..start].contains("name = \"smu\""));
    let file = dir.join("station.toml");
    std::fs::write(&file, format!("{}{}", &station[..start], &station[end..])).expect("write");
    let db = dir.join("x.db");
    let run = bin()
        .args([
            "run",
            "outdoor-pmax",
            "--headless",
            "--seed",
            "1",
            "--speed",
            "50",
        ])
        .args(["--set", "sweeps=1", "--set", "points=101", "--station"])
        .arg(&file)
        .arg("--db")
        .arg(&db)
        .output()
        .expect("run");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let id: Value = serde_json::from_slice(
        &bin()
            .args(["runs", "list", "--json", "--db"])
            .arg(&db)
            .output()
            .expect("list")
            .stdout,
    )
    .expect("one run");
    let out = bin()
        .args(["report", id["id"].as_str().expect("id"), "--out"])
        .arg(dir.join("reports"))
        .args([
            "--customer",
            "C",
            "--customer-email",
            "c@example.org",
            "--item",
            "M",
        ])
        .args([
            "--received",
            "2026-06-01",
            "--signatory",
            "S",
            "--checked-by",
            "K",
            "--db",
        ])
        .arg(&db)
        .output()
        .expect("report");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("instrument `smu` (iv_tracer) has no calibration"),
        "{err}"
    );
    assert!(!dir.join("reports").join("PVS-2026-0001.pdf").exists());
}

#[test]
fn dcc_in_english_and_in_chinese_with_english_validate() {
    let (db, _) = demo();
    let id = json(&certificate("outdoor-pmax", ".json"))["run"]["id"]
        .as_str()
        .expect("run")
        .to_string();
    let zh_en = certificate("outdoor-pmax", ".dcc.xml");
    let text = std::fs::read_to_string(&zh_en).expect("dcc");
    assert!(text.contains("<dcc:usedLangCodeISO639_1>zh</dcc:usedLangCodeISO639_1><dcc:usedLangCodeISO639_1>en</dcc:usedLangCodeISO639_1>"));
    assert!(text.contains("<dcc:content lang=\"zh\">最大功率 Pmax"));
    crate::engine::assert_valid_dcc(&zh_en);
    let dir = tempdir("certificates-dcc-en");
    let out = bin()
        .args([
            "report", &id, "--draft", "--lang", "en", "--format", "dcc,json", "--out",
        ])
        .arg(&dir)
        .args([
            "--customer",
            "C",
            "--customer-email",
            "c@example.org",
            "--item",
            "M",
            "--db",
        ])
        .arg(db)
        .output()
        .expect("report");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let en = dir.join(format!("DRAFT-{id}.dcc.xml"));
    let text = std::fs::read_to_string(&en).expect("dcc");
    assert!(!text.contains("lang=\"zh\""));
    crate::engine::assert_valid_dcc(&en);
}
