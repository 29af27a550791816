//! Golden files: an output must match its committed file byte for byte. After an intended
//! change, `PVSTATION_BLESS=1 cargo test` rewrites the files (only the exact value `1`
//! blesses; `.ci/run` unsets the variable and fails on any difference left in tests/golden).

use crate::cli::repo;

/// Whether this test run rewrites golden files.
pub fn blessing() -> bool {
    std::env::var("PVSTATION_BLESS").is_ok_and(|v| v == "1")
}

/// Compare `actual` with `tests/golden/<name>`, naming the first differing line.
pub fn check(name: &str, actual: &str) {
    let path = repo(&format!("tests/golden/{name}"));
    if blessing() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("golden directory");
        }
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
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name} differs from its golden file at line {}:\n  golden: {}\n  now:    {}\n(an intended change: PVSTATION_BLESS=1 cargo test, then review the diff)",
            line + 1,
            expected.lines().nth(line).unwrap_or("<end of file>"),
            actual.lines().nth(line).unwrap_or("<end of file>")
        );
    }
}

#[test]
fn only_the_value_1_blesses() {
    // The rule on synthetic values (the real environment is left alone).
    let bless = |v: Option<&str>| v == Some("1");
    assert!(bless(Some("1")));
    for v in [None, Some("0"), Some(""), Some("yes"), Some("true")] {
        assert!(!bless(v), "{v:?}");
    }
    assert_eq!(
        blessing(),
        bless(std::env::var("PVSTATION_BLESS").ok().as_deref())
    );
}
