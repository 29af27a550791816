//! The layers of DESIGN.md "Layers", enforced on the source: a layer uses only layers on lower
//! rows, the device stack and the metrology core stay apart, reports and the store never reach
//! an instrument, and the metrology core is pure (no files, network, clock, async or printing).
//!
//! Every path in the code is read, not only `use` lines: use trees with groups
//! (`use crate::{a::x, b}`), `super::`/`self::` resolved from the file's module, `$crate::`,
//! paths written inline (`crate::analysis::extract::extract(…)`) and exported macros (which live
//! at the crate root but belong to the layer that defines them). Comments and string literals
//! are skipped. The rule engine is tested on synthetic sources below, so that it can be seen to
//! fail.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// DESIGN.md "Layers", top to bottom. A layer may use the layers on lower rows; layers on one
/// row are peers and do not use each other. `fuzzing` (cargo-fuzz entry points) sits on top
/// beside `cli`.
const LAYERS: &[&[&str]] = &[
    &["cli", "fuzzing"],
    &["tui"],
    &["app"],
    &["engine"],
    &["report"],
    &["store"],
    &["sim"],
    &["instruments"],
    &["scpi", "modbus"],
    &["uncertainty"],
    &["analysis"],
    &["model"],
];

/// Lower rows that a layer must still not use, with the reason.
const APART: &[(&[&str], &[&str], &str)] = &[
    (
        &["sim", "instruments", "scpi", "modbus"],
        &["uncertainty", "analysis"],
        "the device stack carries readings, not metrology, and the simulator's truth must not come from the code it checks",
    ),
    (
        &["report", "store"],
        &["sim", "instruments", "scpi", "modbus"],
        "reports are rendered from stored data only, and the store holds what instruments said without talking to them",
    ),
];

/// Uses allowed despite `APART`, with the reason (DESIGN.md "allowed exceptions").
const EXCEPTIONS: &[(&str, &str, &str)] = &[(
    "instruments",
    "analysis",
    "a reference cell's reading becomes irradiance with the cell's calibration formula",
)];

/// Layers whose code is pure: no I/O, clock, async or printing.
const PURE: &[&str] = &["analysis", "uncertainty", "model"];

/// What pure code may not name (paths are matched on their leading segments).
const IMPURE: &[&str] = &[
    "std::fs",
    "std::net",
    "std::process",
    "std::env",
    "std::time::SystemTime",
    "std::time::Instant",
    "tokio",
    "SystemTime",
    "Instant",
    "println!",
    "eprintln!",
    "print!",
    "eprint!",
    "dbg!",
];

/// The row of a layer (0 = top).
fn row(layer: &str) -> Option<usize> {
    LAYERS.iter().position(|r| r.contains(&layer))
}

/// Why `from` may not use `to`, or None when it may.
fn forbidden(from: &str, to: &str) -> Option<String> {
    if from == to {
        return None;
    }
    let (Some(a), Some(b)) = (row(from), row(to)) else {
        return Some(format!("`{to}` is not a layer of DESIGN.md"));
    };
    if a == b {
        return Some(format!("`{from}` and `{to}` are peers"));
    }
    if b < a {
        return Some(format!("`{to}` is above `{from}`"));
    }
    if EXCEPTIONS.iter().any(|(f, t, _)| *f == from && *t == to) {
        return None;
    }
    APART
        .iter()
        .find(|(f, t, _)| f.contains(&from) && t.contains(&to))
        .map(|(_, _, why)| format!("`{from}` keeps apart from `{to}`: {why}"))
}

/// The source without comments, and with string and char literals blanked (so that text in
/// them is never read as code). Line structure is kept for the messages.
fn code_only(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if b[i] == '\n' {
                        out.push('\n');
                    }
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && raw_start(&b, i) {
            // Raw string r"…" or r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                match b.get(j) {
                    None => break,
                    Some('"') if (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) => {
                        j += 1 + hashes;
                        break;
                    }
                    Some('\n') => out.push('\n'),
                    _ => {}
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    i += 1;
                }
                if b.get(i) == Some(&'\n') {
                    out.push('\n');
                }
                i += 1;
            }
            out.push_str("\"\"");
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            let end = if next == Some('\\') {
                (i + 3..b.len().min(i + 12)).find(|&j| b[j] == '\'')
            } else if b.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(e) => {
                    out.push_str("' '");
                    i = e + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Whether the `r` at `i` starts a raw string (`r"…"`, `r#"…"#`, `br"…"`), not an identifier.
fn raw_start(b: &[char], i: usize) -> bool {
    let ident = |k: Option<usize>| {
        k.and_then(|k| b.get(k))
            .is_some_and(|c| c.is_alphanumeric() || *c == '_')
    };
    let before = i.checked_sub(1);
    !ident(before) || (b[i - 1] == 'b' && !ident(i.checked_sub(2)))
}

/// A path the code names: its segments (a macro's last segment ends with `!`), its line, and
/// the inline modules (`mod tests { … }`) it is written in.
#[derive(Debug, Clone, PartialEq)]
struct Named {
    segments: Vec<String>,
    line: usize,
    inline: Vec<String>,
}

/// Tokens: identifiers (with `$` for `$crate`), `::`, `{`, `}`, `,`, `!`, `*`, others.
fn tokens(code: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut line = 1;
    let b: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            let s = i;
            i += 1;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                i += 1;
            }
            out.push((b[s..i].iter().collect(), line));
        } else if c == ':' && b.get(i + 1) == Some(&':') {
            out.push(("::".into(), line));
            i += 2;
        } else {
            out.push((c.to_string(), line));
            i += 1;
        }
    }
    out
}

/// Roots from which a path is followed.
const ROOTS: &[&str] = &[
    "crate",
    "$crate",
    "super",
    "self",
    "std",
    "tokio",
    "pvstation",
];

/// Every path that starts at a root, with use-tree groups expanded.
fn paths(code: &str) -> Vec<Named> {
    let toks = tokens(code);
    let mut out = Vec::new();
    // Inline modules open around the cursor, with the brace depth inside each.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0;
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i].0.as_str();
        let after_sep = i > 0 && toks[i - 1].0 == "::";
        let names = |v: &[(String, usize)]| v.iter().map(|m| m.0.clone()).collect::<Vec<_>>();
        if t == "mod" && toks.get(i + 2).is_some_and(|n| n.0 == "{") {
            depth += 1;
            inline.push((toks[i + 1].0.clone(), depth));
            i += 3;
        } else if t == "{" {
            depth += 1;
            i += 1;
        } else if t == "}" {
            if inline.last().is_some_and(|m| m.1 == depth) {
                inline.pop();
            }
            depth = depth.saturating_sub(1);
            i += 1;
        } else if ROOTS.contains(&t) && !after_sep && toks.get(i + 1).is_some_and(|n| n.0 == "::") {
            let start = out.len();
            i = tree(&toks, i, Vec::new(), &mut out);
            for n in &mut out[start..] {
                n.inline = names(&inline);
            }
        } else if !after_sep
            && toks.get(i + 1).is_some_and(|n| n.0 == "!")
            && t.chars().all(|c| c.is_alphanumeric() || c == '_')
        {
            // A bare macro call (`println!`).
            out.push(Named {
                segments: vec![format!("{t}!")],
                line: toks[i].1,
                inline: Vec::new(),
            });
            i += 2;
        } else if matches!(t, "SystemTime" | "Instant") && !after_sep {
            out.push(Named {
                segments: vec![t.to_string()],
                line: toks[i].1,
                inline: Vec::new(),
            });
            i += 1;
        } else {
            i += 1;
        }
    }
    out
}

/// Read a path or use tree from `i` with `prefix` already read; returns the index after it.
fn tree(
    toks: &[(String, usize)],
    mut i: usize,
    mut prefix: Vec<String>,
    out: &mut Vec<Named>,
) -> usize {
    let line = toks.get(i).map_or(0, |t| t.1);
    while let Some((t, _)) = toks.get(i) {
        if t == "{" {
            // A group: each member is a tree under the prefix.
            i += 1;
            while let Some((t, _)) = toks.get(i) {
                if t == "}" {
                    i += 1;
                    break;
                }
                if t == "," {
                    i += 1;
                    continue;
                }
                let before = i;
                i = tree(toks, i, prefix.clone(), out);
                if i == before {
                    i += 1;
                }
            }
            return i;
        }
        if t == "*" || (t == "self" && !prefix.is_empty()) {
            out.push(Named {
                segments: prefix,
                line,
                inline: Vec::new(),
            });
            return i + 1;
        }
        if !(t.chars().all(|c| c.is_alphanumeric() || c == '_') || t == "$crate") {
            break;
        }
        prefix.push(t.clone());
        i += 1;
        match toks.get(i).map(|t| t.0.as_str()) {
            Some("::") => i += 1,
            Some("!") => {
                if let Some(last) = prefix.last_mut() {
                    last.push('!');
                }
                i += 1;
                break;
            }
            _ => break,
        }
    }
    if !prefix.is_empty() {
        out.push(Named {
            segments: prefix,
            line,
            inline: Vec::new(),
        });
    }
    i
}

/// The module path of a source file under `src/` (`engine/host/mod.rs` → [engine, host]).
fn module_of(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs");
        if stem != "mod" && stem != "lib" {
            parts.push(stem.to_string());
        }
    }
    parts
}

/// The crate-level module a path reaches (`crate::store::db` → store), resolving `super` and
/// `self` from `module`, and exported macros to the layer that defines them. None for paths
/// outside the crate.
fn target(named: &Named, module: &[String], macros: &BTreeMap<String, String>) -> Option<String> {
    let s = &named.segments;
    let first = s.first()?.as_str();
    let rest: Vec<&str> = match first {
        "crate" | "$crate" | "pvstation" => s[1..].iter().map(String::as_str).collect(),
        "self" | "super" => {
            let mut at: Vec<&str> = module.iter().map(String::as_str).collect();
            let mut k = 0;
            while let Some(seg) = s.get(k) {
                match seg.as_str() {
                    "super" => {
                        at.pop();
                    }
                    "self" => {}
                    _ => break,
                }
                k += 1;
            }
            at.extend(s[k..].iter().map(String::as_str));
            at
        }
        _ => return None,
    };
    let top = rest.first()?;
    match top.strip_suffix('!') {
        Some(mac) => macros.get(mac).cloned(),
        None => Some(top.to_string()),
    }
}

/// Names pure code may not use, found among the paths.
fn impurities(paths: &[Named]) -> Vec<(usize, String)> {
    paths
        .iter()
        .filter_map(|p| {
            let joined = p.segments.join("::");
            IMPURE
                .iter()
                .find(|bad| joined == **bad || joined.starts_with(&format!("{bad}::")))
                .map(|bad| (p.line, bad.to_string()))
        })
        .collect()
}

/// The violations in one file of `layer` whose module path is `module`.
fn check_source(
    layer: &str,
    module: &[String],
    text: &str,
    macros: &BTreeMap<String, String>,
) -> Vec<String> {
    let code = code_only(text);
    let found = paths(&code);
    let mut out = Vec::new();
    // One violation per line and layer reached.
    let mut seen = std::collections::BTreeSet::new();
    for p in &found {
        let mut at: Vec<String> = module.to_vec();
        at.extend(p.inline.iter().cloned());
        if let Some(to) = target(p, &at, macros)
            && let Some(why) = forbidden(layer, &to)
            && seen.insert((p.line, to))
        {
            out.push(format!("line {}: {}: {why}", p.line, p.segments.join("::")));
        }
    }
    if PURE.contains(&layer) {
        for (line, bad) in impurities(&found) {
            out.push(format!("line {line}: `{bad}` in pure code"));
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
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

/// `#[macro_export]` macros by name → the layer that defines them.
fn exported_macros(files: &[(String, Vec<String>, String, String)]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (layer, _, text, _) in files {
        let code = code_only(text);
        let toks = tokens(&code);
        for w in toks.windows(3) {
            if w[0].0 == "macro_rules" && w[1].0 == "!" {
                out.insert(w[2].0.clone(), layer.clone());
            }
        }
    }
    out
}

#[test]
fn layers_only_use_layers_below() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut sources = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src");
        let module = module_of(relative);
        let Some(layer) = module.first().cloned() else {
            continue; // lib.rs, main.rs: the crate root declares the layers
        };
        if relative.components().count() == 1 && matches!(layer.as_str(), "main") {
            continue;
        }
        assert!(
            row(&layer).is_some(),
            "{} is in no layer of DESIGN.md; add its module to LAYERS",
            file.display()
        );
        let text = std::fs::read_to_string(file).expect("source");
        sources.push((layer, module, text, relative.display().to_string()));
    }
    for layer in LAYERS.iter().flat_map(|r| r.iter()) {
        let present = sources.iter().any(|(l, ..)| l == layer);
        // Layers DESIGN.md names that later issues build (modbus) may not exist yet.
        assert!(present || *layer == "modbus", "layer {layer} has no files");
    }
    let macros = exported_macros(&sources);
    let mut violations = Vec::new();
    for (layer, module, text, file) in &sources {
        for v in check_source(layer, module, text, &macros) {
            violations.push(format!("src/{file} {v}"));
        }
    }
    assert!(
        violations.is_empty(),
        "layering violations:\n{}",
        violations.join("\n")
    );
}

fn check(layer: &str, module: &str, text: &str) -> Vec<String> {
    let macros: BTreeMap<String, String> = [("scpi_root".to_string(), "sim".to_string())].into();
    let module: Vec<String> = module.split('/').map(String::from).collect();
    check_source(layer, &module, text, &macros)
}

#[test]
fn the_rule_engine_sees_forbidden_uses_in_every_form() {
    // Each line is a forbidden use from `analysis` (module analysis/extract).
    for bad in [
        "use crate::store::db::Database;",
        "use crate::{model::IvCurve, store};",
        "use crate::{model::{IvCurve, Date}, engine::{run::{self, RunOptions}}};",
        "use super::super::report::Report;",
        "fn f() { let x = crate::instruments::roles::system_now(); }",
        "fn f() { $crate::sim::world::World::default() }",
        "crate::scpi_root![];",
        "use crate::uncertainty as u;",
        "use pvstation::tui::app::App;",
    ] {
        let v = check("analysis", "analysis/extract", bad);
        assert_eq!(v.len(), 1, "`{bad}` should be one violation: {v:?}");
    }
    // `super` resolves from the file's module: from engine/host/instruments.rs,
    // `super::super::store` is crate::store (allowed) but from model/status.rs it is not.
    assert!(
        check(
            "engine",
            "engine/host/instruments",
            "use super::super::store::db;"
        )
        .is_empty()
    );
    assert_eq!(
        check("model", "model/status", "use super::super::store::db;").len(),
        1
    );
    // Allowed: lower rows, the layer itself, the named exception, std.
    for fine in [
        "use crate::model::{IvCurve, Date};",
        "use super::curve::IvData;",
        "use self::inner::X;",
        "use std::collections::BTreeMap;",
        "use crate::analysis::{self, extract};",
    ] {
        assert!(
            check("uncertainty", "uncertainty/gum", fine).is_empty(),
            "{fine}"
        );
    }
    assert!(
        check(
            "instruments",
            "instruments/roles",
            "use crate::analysis::irradiance;"
        )
        .is_empty()
    );
    assert_eq!(
        check(
            "instruments",
            "instruments/roles",
            "use crate::uncertainty::gum;"
        )
        .len(),
        1,
        "the device stack keeps apart from the metrology core"
    );
    assert_eq!(
        check("report", "report/pdf", "use crate::scpi::Session;").len(),
        1
    );
    assert_eq!(
        check("scpi", "scpi/mod", "use crate::modbus::Client;").len(),
        1,
        "peers"
    );
    // Text in comments and strings is not code.
    for quiet in [
        "// use crate::store::db;",
        "/* crate::store::db */ fn f() {}",
        "/// ```\n/// use pvstation::store::db;\n/// ```",
        r#"const S: &str = "crate::store::db";"#,
        r##"const S: &str = r#"crate::store::"db""#;"##,
        "fn f<'a>(x: &'a str) -> char { '\"' }",
    ] {
        assert!(check("analysis", "analysis/x", quiet).is_empty(), "{quiet}");
    }
}

#[test]
fn the_rule_engine_sees_impure_code() {
    for bad in [
        "use std::fs;",
        "use std::{collections::BTreeMap, fs::File};",
        "fn f() { std::fs::read(\"x\"); }",
        "use std::net::TcpStream;",
        "fn f() { println!(\"{}\", 1); }",
        "fn f() { let t = std::time::SystemTime::now(); }",
        "use std::time::{Duration, Instant};",
        "async fn f() { tokio::time::sleep(d).await }",
    ] {
        let v = check("analysis", "analysis/x", bad);
        assert_eq!(v.len(), 1, "`{bad}`: {v:?}");
        assert!(v[0].contains("pure code"), "{v:?}");
    }
    for fine in [
        "use std::time::Duration;",
        "fn f() -> String { format!(\"{}\", 1) }",
        "// println!(\"x\")",
    ] {
        assert!(check("analysis", "analysis/x", fine).is_empty(), "{fine}");
    }
    assert!(
        check("engine", "engine/run", "use std::fs;").is_empty(),
        "only the core is pure"
    );
}
