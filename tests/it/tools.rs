//! Outside tools some tests drive (xmllint, poppler's pdftoppm/pdftotext/pdfsig, zbarimg,
//! tmux). Without one, a test says loudly that it skips — unless `PVSTATION_REQUIRE_TOOLS=1`
//! (which `.ci/run` sets), where a missing tool fails the test naming the tool and the Debian
//! package that provides it. CI therefore cannot go green by skipping.

use std::path::{Path, PathBuf};

/// Whether the environment demands every tool (`PVSTATION_REQUIRE_TOOLS=1`).
pub fn required() -> bool {
    std::env::var("PVSTATION_REQUIRE_TOOLS").is_ok_and(|v| v == "1")
}

/// The executable `command` on `PATH`, if any.
pub fn find(command: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(command))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `true` when `command` is installed. Otherwise: under `PVSTATION_REQUIRE_TOOLS=1` the test
/// fails naming the tool; else it prints why it skips (visible with `--nocapture` and in the
/// failure summary of any test that later depends on it) and returns `false`.
pub fn have(command: &str, package: &str, check: &str) -> bool {
    if find(command).is_some() {
        return true;
    }
    let message =
        format!("{check} needs `{command}`, which is not installed (apt-get install {package})");
    assert!(!required(), "PVSTATION_REQUIRE_TOOLS=1: {message}");
    eprintln!("SKIP {message}");
    false
}

/// The DCC schema vendored in the repository (tests/schemas/dcc, LGPL-3.0). It is part of the
/// checkout, so its absence is always a failure, never a skip.
pub fn dcc_schema() -> PathBuf {
    let schema = crate::cli::repo("tests/schemas/dcc/dcc-offline.xsd");
    assert!(
        schema.exists(),
        "the DCC schema {} is missing from the checkout",
        schema.display()
    );
    schema
}

#[test]
fn a_missing_tool_fails_when_tools_are_required() {
    // The rule itself, on a command that exists nowhere.
    let absent = "pvstation-no-such-tool";
    assert!(find(absent).is_none());
    assert!(find("sh").is_some(), "sh is on every PATH");
    let outcome = std::panic::catch_unwind(|| have(absent, "nothing", "this check"));
    if required() {
        let message = outcome.expect_err("must fail under PVSTATION_REQUIRE_TOOLS=1");
        let text = message
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(
            text.contains(absent) && text.contains("apt-get install nothing"),
            "{text}"
        );
    } else {
        assert_eq!(outcome.ok(), Some(false));
    }
}
