//! Golden tests of the report renderers: fixed report models (injected certificate number,
//! issue time, run ids and software version, as the demo wrote them) rendered to JSON, HTML
//! and DCC must match the committed files byte for byte. `PVSTATION_BLESS=1 cargo test
//! reports::` rewrites the golden files after an intended change; review the diff.

use std::path::Path;

use crate::cli::repo;
use crate::engine::assert_valid_dcc;

fn golden(name: &str, actual: &str) {
    let path = repo(&format!("tests/golden/{name}"));
    if std::env::var_os("PVSTATION_BLESS").is_some() {
        std::fs::write(&path, actual).expect("bless");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (PVSTATION_BLESS=1 creates it)", path.display()));
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "{name} differs from its golden file at line {}:\n  golden: {}\n  now:    {}",
            line + 1,
            expected.lines().nth(line).unwrap_or(""),
            actual.lines().nth(line).unwrap_or("")
        );
    }
}

#[test]
fn renderers_match_their_golden_files() {
    for model in ["outdoor", "bit"] {
        let text = std::fs::read_to_string(repo(&format!("tests/golden/{model}-model.json")))
            .expect("fixture");
        let report: serde_json::Value = serde_json::from_str(&text).expect("model");
        golden(
            &format!("{model}.json"),
            &pvstation::report::render::json(&report),
        );
        golden(
            &format!("{model}.html"),
            &pvstation::report::render::html(&report),
        );
        let dcc = pvstation::report::dcc::dcc(&report).expect("dcc");
        golden(&format!("{model}.dcc.xml"), &dcc);
        let path = std::env::temp_dir().join(format!(
            "pvstation-golden-{model}-{}.xml",
            std::process::id()
        ));
        std::fs::write(&path, &dcc).expect("write");
        assert_valid_dcc(Path::new(&path));
        // The PDF renders the same model without error, deterministically.
        let a = pvstation::report::pdf::pdf(&report).expect("pdf");
        let b = pvstation::report::pdf::pdf(&report).expect("pdf");
        assert!(a.starts_with(b"%PDF-") && a == b, "the PDF is reproducible");
    }
}
