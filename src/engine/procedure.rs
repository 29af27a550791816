//! Procedure scripts: loading, the sandbox, the declaration every script makes about itself,
//! and typed parameters.
//!
//! A procedure is a Rhai script with two functions:
//! - `procedure()` returns its declaration: `name`, `version`, `description`, the instrument
//!   `roles` it needs and its `parameters` (an array of maps with `name`, `"type"` (`float`,
//!   `int`, `bool`, `string`), `"default"` (quoted: `default` is a Rhai keyword), `unit`, `description` and optionally `min`, `max`,
//!   `choices`). It is called without any host function registered, so declaring cannot touch
//!   anything.
//! - `run(p)` performs the measurement with the validated parameters `p` through the host API
//!   (`super::host`).
//!
//! The sandbox: Rhai has no file, network or process functions; `import` and `eval` are off;
//! the operation count, call depth and string/array/map sizes are bounded, so a runaway script
//! stops with an error instead of hanging an overnight queue.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rhai::{AST, Dynamic, Engine, EvalAltResult, Scope};
use serde::{Deserialize, Serialize};

use crate::store::db::sha256_hex;

/// Procedures shipped with the product (`procedures/*.rhai`), embedded in the binary.
pub const SHIPPED: &[(&str, &str)] = &[
    (
        "outdoor-pmax",
        include_str!("../../procedures/outdoor-pmax.rhai"),
    ),
    (
        "bit-calibration",
        include_str!("../../procedures/bit-calibration.rhai"),
    ),
    (
        "iec60891-params",
        include_str!("../../procedures/iec60891-params.rhai"),
    ),
    (
        "reference-check",
        include_str!("../../procedures/reference-check.rhai"),
    ),
    (
        "sky-survey",
        include_str!("../../procedures/sky-survey.rhai"),
    ),
];

/// Earlier releases of the shipped procedures, by name and file: a changed procedure's old
/// text moves here (`procedures/archive/NAME-VERSION.rhai`) so that every run it made stays
/// re-executable by `runs verify`, including runs in databases from before scripts were kept
/// with their runs (schema version 5 and older).
pub const ARCHIVED: &[(&str, &str)] = &[
    (
        "iec60891-params-1.0.0.rhai",
        include_str!("../../procedures/archive/iec60891-params-1.0.0.rhai"),
    ),
    (
        "outdoor-pmax-1.2.0.rhai",
        include_str!("../../procedures/archive/outdoor-pmax-1.2.0.rhai"),
    ),
    (
        "outdoor-pmax-1.1.0.rhai",
        include_str!("../../procedures/archive/outdoor-pmax-1.1.0.rhai"),
    ),
    (
        "outdoor-pmax-1.0.0.rhai",
        include_str!("../../procedures/archive/outdoor-pmax-1.0.0.rhai"),
    ),
    (
        "bit-calibration-1.0.0.rhai",
        include_str!("../../procedures/archive/bit-calibration-1.0.0.rhai"),
    ),
];

/// The text of a shipped procedure (current or archived) whose SHA-256 is `hash`: (file, source).
pub fn shipped_by_hash(hash: &str) -> Option<(String, &'static str)> {
    SHIPPED
        .iter()
        .map(|(name, source)| (format!("procedures/{name}.rhai (built in)"), *source))
        .chain(
            ARCHIVED
                .iter()
                .map(|(file, source)| (format!("procedures/archive/{file} (built in)"), *source)),
        )
        .find(|(_, source)| sha256_hex(source.as_bytes()) == hash)
}

/// Most operations a script may execute (loops of pure computation; waiting happens in the
/// host and does not count).
pub const MAX_OPERATIONS: u64 = 200_000_000;

/// Most operations loading a script may take (top-level statements and `procedure()`).
pub const MAX_DECLARATION_OPERATIONS: u64 = 1_000_000;

/// A script error, located.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct ScriptError {
    /// Script file.
    pub file: String,
    /// Line, from 1 (0 = unknown).
    pub line: usize,
    /// Column, from 1 (0 = unknown).
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// The type of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    /// A real number.
    Float,
    /// An integer.
    Int,
    /// true / false.
    Bool,
    /// Text (optionally one of `choices`).
    String,
}

/// A declared parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    /// Name (`--set name=value`).
    pub name: String,
    /// Type.
    #[serde(rename = "type")]
    pub kind: ParamType,
    /// Default value.
    pub default: serde_json::Value,
    /// Unit (`1` for dimensionless, empty for text).
    #[serde(default)]
    pub unit: String,
    /// What it means.
    #[serde(default)]
    pub description: String,
    /// Smallest allowed value.
    #[serde(default)]
    pub min: Option<f64>,
    /// Largest allowed value.
    #[serde(default)]
    pub max: Option<f64>,
    /// Allowed values of a string parameter.
    #[serde(default)]
    pub choices: Option<Vec<String>>,
}

/// What a procedure declares about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Declaration {
    /// Procedure name (`pvstation run NAME`; unique among the shipped ones).
    pub name: String,
    /// Procedure version (semantic; recorded with every run and report).
    pub version: String,
    /// Description, with every assumption stated.
    pub description: String,
    /// Instrument roles needed (`iv_tracer`, `irradiance_meter`, …).
    pub roles: Vec<String>,
    /// Parameters, in order.
    pub parameters: Vec<Parameter>,
}

/// A loaded, compiled procedure.
#[derive(Debug, Clone)]
pub struct Procedure {
    /// Where it came from (a path, or `procedures/NAME.rhai (built in)`).
    pub file: String,
    /// The script.
    pub source: String,
    /// SHA-256 of the script.
    pub hash: String,
    /// Its declaration.
    pub declaration: Declaration,
    /// The compiled script.
    pub ast: AST,
}

/// The sandboxed engine, without host functions.
pub fn sandboxed_engine() -> Engine {
    let mut engine = Engine::new();
    engine.set_strict_variables(true);
    engine.set_max_operations(MAX_OPERATIONS);
    engine.set_max_call_levels(32);
    engine.set_max_expr_depths(64, 64);
    engine.set_max_string_size(1 << 20);
    engine.set_max_array_size(1 << 20);
    engine.set_max_map_size(1 << 16);
    engine.disable_symbol("eval");
    engine.on_print(|_| {});
    engine.on_debug(|_, _, _| {});
    engine
}

/// Locate an evaluation error: the innermost error (inside nested function calls), with its
/// line and column, and a hint when the script called something the sandbox does not offer.
pub fn script_error(file: &str, err: &EvalAltResult) -> ScriptError {
    let inner = err.unwrap_inner();
    let mut pos = inner.position();
    if pos.is_none() {
        pos = err.position();
    }
    // The error's text ends with its position, which the location already gives.
    let text = inner.to_string();
    let mut message = match text.rfind(" (line ") {
        Some(k) if text.ends_with(')') => text[..k].to_string(),
        _ => text,
    };
    if let EvalAltResult::ErrorRuntime(value, _) = inner {
        // `throw` in a script, or a host function's error: the text is the message.
        message = value.to_string();
    }
    if let EvalAltResult::ErrorTerminated(value, _) = inner
        && value.is_string()
    {
        // Stopped by the host (abort, time or memory bound): the reason is the value.
        message = value.to_string();
    }
    if let EvalAltResult::ErrorFunctionNotFound(signature, _) = inner {
        message = if signature.starts_with(|c: char| c.is_alphabetic() || c == '_') {
            format!(
                "{message}: refused — a procedure can call only the host API (no file, network or process access); `pvstation procedures api` lists it"
            )
        } else {
            format!("{message}: the operator does not apply to these types")
        };
    }
    if let EvalAltResult::ErrorTooManyOperations(_) = inner {
        message = format!(
            "{message}: the script exceeded {MAX_OPERATIONS} operations (an endless loop?)"
        );
    }
    ScriptError {
        file: file.to_string(),
        line: pos.line().unwrap_or(0),
        column: pos.position().unwrap_or(0),
        message,
    }
}

impl Procedure {
    /// Compile a script and read its declaration; nothing outside the script is touched.
    pub fn load(file: &str, source: &str) -> Result<Procedure, ScriptError> {
        // Reading the declaration (top-level statements and `procedure()`, a map literal)
        // needs a few hundred operations: a script that computes here is refused quickly.
        let mut engine = sandboxed_engine();
        engine.set_max_operations(MAX_DECLARATION_OPERATIONS);
        let ast = engine.compile(source).map_err(|e| ScriptError {
            file: file.to_string(),
            line: e.1.line().unwrap_or(0),
            column: e.1.position().unwrap_or(0),
            message: e.0.to_string(),
        })?;
        let at_top = |message: String| ScriptError {
            file: file.to_string(),
            line: 1,
            column: 1,
            message,
        };
        for required in ["procedure", "run"] {
            if !ast.iter_functions().any(|f| f.name == required) {
                return Err(at_top(format!(
                    "the script has no `fn {required}(…)`: a procedure declares itself in `fn procedure()` and measures in `fn run(p)`"
                )));
            }
        }
        let value: Dynamic = engine
            .call_fn(&mut Scope::new(), &ast, "procedure", ())
            .map_err(|e| script_error(file, &e))?;
        let json: serde_json::Value =
            rhai::serde::from_dynamic(&value).map_err(|e| script_error(file, &e))?;
        let declaration: Declaration = serde_json::from_value(json)
            .map_err(|e| at_top(format!("the declaration returned by `procedure()`: {e}")))?;
        for p in &declaration.parameters {
            check_value(p, &p.default)
                .map_err(|e| at_top(format!("default of parameter `{}`: {e}", p.name)))?;
        }
        Ok(Procedure {
            file: file.to_string(),
            source: source.to_string(),
            hash: sha256_hex(source.as_bytes()),
            declaration,
            ast,
        })
    }

    /// A shipped procedure by name, or a script file by path.
    pub fn find(name_or_path: &str) -> Result<Procedure, ProcedureLookupError> {
        if let Some((name, source)) = SHIPPED.iter().find(|(n, _)| *n == name_or_path) {
            return Ok(Procedure::load(
                &format!("procedures/{name}.rhai (built in)"),
                source,
            )?);
        }
        let path = PathBuf::from(name_or_path);
        if path.extension().is_some_and(|e| e == "rhai") || path.exists() {
            let source =
                std::fs::read_to_string(&path).map_err(|e| ProcedureLookupError::Unreadable {
                    path: path.display().to_string(),
                    problem: e.to_string(),
                })?;
            return Ok(Procedure::load(&path.display().to_string(), &source)?);
        }
        Err(ProcedureLookupError::Unknown {
            name: name_or_path.to_string(),
            known: SHIPPED
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// Parameters: defaults, overridden by `--set name=value` texts, each checked.
    pub fn parameters(
        &self,
        sets: &[(String, String)],
    ) -> Result<serde_json::Map<String, serde_json::Value>, String> {
        let mut out = serde_json::Map::new();
        for p in &self.declaration.parameters {
            out.insert(p.name.clone(), p.default.clone());
        }
        for (name, text) in sets {
            let p = self
                .declaration
                .parameters
                .iter()
                .find(|p| &p.name == name)
                .ok_or_else(|| {
                    format!(
                        "`{}` has no parameter `{name}`; it has: {}",
                        self.declaration.name,
                        self.declaration
                            .parameters
                            .iter()
                            .map(|p| p.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })?;
            let value = parse_value(p, text).map_err(|e| format!("--set {name}={text}: {e}"))?;
            check_value(p, &value).map_err(|e| format!("--set {name}={text}: {e}"))?;
            out.insert(name.clone(), value);
        }
        Ok(out)
    }

    /// Check stored parameters (a resumed run's) against the declaration.
    pub fn check_parameters(
        &self,
        values: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), String> {
        for p in &self.declaration.parameters {
            let v = values
                .get(&p.name)
                .ok_or_else(|| format!("parameter `{}` missing", p.name))?;
            check_value(p, v).map_err(|e| format!("parameter `{}`: {e}", p.name))?;
        }
        Ok(())
    }
}

/// Why a procedure could not be found or loaded.
#[derive(Debug, thiserror::Error)]
pub enum ProcedureLookupError {
    /// Neither shipped nor a file.
    #[error(
        "no procedure `{name}`: give a shipped procedure ({known}) or the path of a .rhai script"
    )]
    Unknown {
        /// What was asked for.
        name: String,
        /// Shipped names.
        known: String,
    },
    /// The file cannot be read.
    #[error("cannot read {path}: {problem}")]
    Unreadable {
        /// The script's path as given.
        path: String,
        /// Why.
        problem: String,
    },
    /// The script is broken.
    #[error(transparent)]
    Script(#[from] ScriptError),
}

fn parse_value(p: &Parameter, text: &str) -> Result<serde_json::Value, String> {
    let text = text.trim();
    match p.kind {
        ParamType::Float => text
            .parse::<f64>()
            .map(serde_json::Value::from)
            .map_err(|_| format!("`{text}` is not a number (unit {})", p.unit)),
        ParamType::Int => text
            .parse::<i64>()
            .map(serde_json::Value::from)
            .map_err(|_| format!("`{text}` is not an integer")),
        ParamType::Bool => match text {
            "true" | "yes" | "1" => Ok(true.into()),
            "false" | "no" | "0" => Ok(false.into()),
            _ => Err(format!("`{text}` is not true or false")),
        },
        ParamType::String => Ok(text.into()),
    }
}

fn check_value(p: &Parameter, v: &serde_json::Value) -> Result<(), String> {
    let number = match (p.kind, v) {
        (ParamType::Float, serde_json::Value::Number(n)) => n.as_f64(),
        (ParamType::Int, serde_json::Value::Number(n)) if n.is_i64() => n.as_f64(),
        (ParamType::Bool, serde_json::Value::Bool(_)) => None,
        (ParamType::String, serde_json::Value::String(s)) => {
            if let Some(choices) = &p.choices
                && !choices.contains(s)
            {
                return Err(format!("`{s}` is not one of: {}", choices.join(", ")));
            }
            None
        }
        _ => return Err(format!("{v} is not of type {:?}", p.kind).to_lowercase()),
    };
    if let Some(x) = number {
        let unit = match p.unit.as_str() {
            "" | "1" => String::new(),
            u => format!(" {u}"),
        };
        if !x.is_finite() {
            return Err(format!("{x} is not finite"));
        }
        if let Some(min) = p.min
            && x < min
        {
            return Err(format!("{x}{unit} is below the minimum {min}{unit}"));
        }
        if let Some(max) = p.max
            && x > max
        {
            return Err(format!("{x}{unit} is above the maximum {max}{unit}"));
        }
    }
    Ok(())
}

/// The shipped procedures, loaded (for `procedures list`).
pub fn shipped() -> Vec<Result<Procedure, ScriptError>> {
    SHIPPED
        .iter()
        .map(|(name, source)| {
            Procedure::load(&format!("procedures/{name}.rhai (built in)"), source)
        })
        .collect()
}

/// Station roles a procedure needs that the station lacks.
pub fn missing_roles(
    declaration: &Declaration,
    available: &BTreeMap<String, String>,
) -> Vec<String> {
    declaration
        .roles
        .iter()
        .filter(|r| !available.contains_key(*r))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"
fn procedure() {
    #{ name: "t", version: "1", description: "test", roles: ["iv_tracer"],
       parameters: [ #{ name: "n", "type": "int", "default": 3, min: 1, max: 10, unit: "1", description: "count" },
                     #{ name: "g", "type": "float", "default": 800.0, min: 0.0, unit: "W/m²" },
                     #{ name: "rule", "type": "string", "default": "simple", choices: ["simple", "guarded"] } ] }
}
fn run(p) { p.n }
"#;

    #[test]
    fn declarations_and_parameters_are_typed_and_checked() {
        let p = Procedure::load("t.rhai", OK).expect("loads");
        assert_eq!(p.declaration.parameters.len(), 3);
        let v = p
            .parameters(&[("n".into(), "5".into()), ("g".into(), "950.5".into())])
            .expect("valid");
        assert_eq!(v["n"], 5);
        assert_eq!(v["g"], 950.5);
        assert_eq!(v["rule"], "simple");
        for (set, expect) in [
            (("n", "11"), "above the maximum 10"),
            (("n", "2.5"), "not an integer"),
            (("g", "bright"), "not a number (unit W/m²)"),
            (("rule", "lenient"), "not one of: simple, guarded"),
            (("x", "1"), "has no parameter `x`"),
        ] {
            let err = p
                .parameters(&[(set.0.into(), set.1.into())])
                .expect_err("invalid");
            assert!(err.contains(expect), "{err}");
        }
    }

    #[test]
    fn syntax_errors_are_located() {
        let bad = "fn procedure() { #{ name: \"t\" }\n}\nfn run(p) {\n    let x = ;\n}\n";
        let err = Procedure::load("bad.rhai", bad).expect_err("syntax");
        assert_eq!((err.line, err.file.as_str()), (4, "bad.rhai"), "{err}");
        assert!(err.to_string().starts_with("bad.rhai:4:"), "{err}");
        let err = Procedure::load("none.rhai", "let x = 1;").expect_err("no functions");
        assert!(err.message.contains("fn procedure"), "{err}");
        let err = Procedure::load("decl.rhai", "fn procedure() { #{ name: 1 } }\nfn run(p) {}")
            .expect_err("bad declaration");
        assert!(err.message.contains("declaration"), "{err}");
    }

    #[test]
    fn the_sandbox_refuses_eval_and_runaway_loops() {
        let engine = sandboxed_engine();
        let err = engine
            .compile("fn f() { eval(\"1\") }")
            .map(|_| ())
            .expect_err("eval disabled");
        assert!(err.to_string().contains("eval"), "{err}");
        let mut engine = sandboxed_engine();
        engine.set_max_operations(10_000);
        let e = engine.run("loop { }").expect_err("bounded");
        let err = script_error("loop.rhai", &e);
        assert!(err.message.contains("operations"), "{err}");
        let e = engine
            .run("\n  open_file(\"/etc/passwd\")")
            .expect_err("no files");
        let err = script_error("f.rhai", &e);
        assert_eq!(err.line, 2, "{err}");
        assert!(err.message.contains("refused"), "{err}");
    }

    #[test]
    fn shipped_procedures_load() {
        for p in shipped() {
            let p = p.expect("shipped procedure loads");
            assert!(!p.declaration.description.is_empty());
        }
    }
}
