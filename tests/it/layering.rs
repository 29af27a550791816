//! The layers of DESIGN.md, enforced: a module may use only the layers below it.

use std::path::Path;

/// (layer, layers it must not use).
const RULES: &[(&str, &[&str])] = &[
    (
        "model",
        &[
            "scpi",
            "instruments",
            "sim",
            "cli",
            "analysis",
            "uncertainty",
            "engine",
            "store",
            "report",
            "tui",
        ],
    ),
    // The metrology core is pure: numbers in, numbers out.
    (
        "analysis",
        &[
            "scpi",
            "instruments",
            "sim",
            "cli",
            "uncertainty",
            "engine",
            "store",
            "report",
            "tui",
        ],
    ),
    // Uncertainty evaluates the metrology core's models, nothing with I/O.
    (
        "uncertainty",
        &[
            "scpi",
            "instruments",
            "sim",
            "cli",
            "engine",
            "store",
            "report",
            "tui",
        ],
    ),
    (
        "scpi",
        &[
            "instruments",
            "sim",
            "cli",
            "engine",
            "store",
            "report",
            "tui",
            "analysis",
            "uncertainty",
        ],
    ),
    (
        "instruments",
        &["sim", "cli", "engine", "store", "report", "tui"],
    ),
    ("sim", &["cli", "engine", "store", "report", "tui"]),
    (
        "store",
        &[
            "scpi",
            "instruments",
            "sim",
            "cli",
            "engine",
            "report",
            "tui",
        ],
    ),
    (
        "report",
        &["scpi", "instruments", "sim", "cli", "engine", "tui"],
    ),
    ("engine", &["cli", "tui"]),
    // The console drives the engine and reads the store; the command line starts it.
    ("tui", &["cli"]),
    ("cli", &[]),
];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn layers_only_use_layers_below() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    for &(layer, forbidden) in RULES {
        let mut files = Vec::new();
        rust_files(&src.join(layer), &mut files);
        assert!(!files.is_empty(), "layer {layer} has no files");
        for file in files {
            let text = std::fs::read_to_string(&file).expect("source");
            for f in forbidden {
                for pattern in [
                    format!("crate::{f}::"),
                    format!("crate::{f};"),
                    format!("pvstation::{f}::"),
                ] {
                    if text.contains(&pattern) {
                        violations.push(format!("{} uses {pattern}", file.display()));
                    }
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "layering violations:\n{}",
        violations.join("\n")
    );
}
