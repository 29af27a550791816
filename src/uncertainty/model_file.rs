//! Model files (a contract): a measurement model as a Rhai expression over named inputs, with
//! their distributions, for `pvstation uncertainty eval`.
//!
//! ```toml
//! model = "m_s + dm_d + dm"          # Rhai expression (the language of the procedures)
//! probability = 0.95                 # default 0.95
//! [inputs.m_s]
//! distribution = "normal"            # value and u, or U with k
//! value = 10000.005
//! U = 0.045
//! k = 2
//! unit = "g"
//! [inputs.dm_d]
//! distribution = "rectangular"       # also "triangular", "arcsine": value, half_width
//! value = 0
//! half_width = 0.015
//! [inputs.dm]
//! distribution = "typea"             # observations = [ … ]
//! observations = [0.01, 0.03, 0.02]
//! [inputs.r]
//! distribution = "t"                 # value, u (scale), dof
//! value = 1
//! u = 0.1
//! dof = 4
//! [[correlation]]
//! inputs = ["m_s", "dm"]
//! r = 0.5
//! ```
//!
//! The expression runs sandboxed: no modules, no I/O (`print` is silenced), bounded operations.

use std::collections::BTreeMap;

use rhai::{AST, Dynamic, Engine, Scope};

use super::{Distribution, Input, Problem};

/// A parsed model file, ready to evaluate.
pub struct ModelFile {
    /// The problem (inputs in file order).
    pub problem: Problem,
    /// The expression's text.
    pub expression: String,
    engine: Engine,
    ast: AST,
    /// Indices of the inputs the expression mentions.
    used: Vec<usize>,
}

impl std::fmt::Debug for ModelFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelFile")
            .field("expression", &self.expression)
            .field("problem", &self.problem)
            .finish()
    }
}

/// A model-file error with the position where there is one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}: {location}{problem}")]
pub struct ModelFileError {
    /// The file.
    pub file: String,
    /// `line L, column C: ` or empty.
    pub location: String,
    /// What is wrong and how to fix it.
    pub problem: String,
}

fn sandboxed_engine() -> Engine {
    let mut engine = Engine::new();
    engine.set_strict_variables(true);
    engine.set_max_operations(1_000_000);
    engine.set_max_expr_depths(64, 32);
    engine.on_print(|_| {});
    engine.on_debug(|_, _, _| {});
    engine
}

fn number(value: &toml::Value) -> Option<f64> {
    value
        .as_float()
        .or_else(|| value.as_integer().map(|i| i as f64))
}

/// Line and column (1-based) in the TOML text of the start of the `model` string.
fn model_origin(text: &str) -> (usize, usize, bool) {
    for (k, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix("model")
            && rest.trim_start().starts_with('=')
        {
            let indent = line.len() - t.len();
            let eq = line.find('=').unwrap_or(indent);
            let after = &line[eq + 1..];
            let value_start = eq + 1 + (after.len() - after.trim_start().len());
            let multiline =
                after.trim_start().starts_with("\"\"\"") || after.trim_start().starts_with("'''");
            return if multiline {
                (k + 2, 1, true)
            } else {
                (k + 1, value_start + 2, false)
            };
        }
    }
    (1, 1, false)
}

impl ModelFile {
    /// Parse a model file's text (`file` names it in errors).
    pub fn parse(file: &str, text: &str) -> Result<ModelFile, ModelFileError> {
        let fail = |location: String, problem: String| ModelFileError {
            file: file.to_string(),
            location,
            problem,
        };
        let table: toml::Table = toml::from_str(text)
            .map_err(|e| fail(String::new(), e.to_string().trim_end().to_string()))?;
        let expression = table
            .get("model")
            .and_then(|v| v.as_str())
            .ok_or_else(|| {
                fail(
                    String::new(),
                    "`model = \"<expression>\"` is missing".into(),
                )
            })?
            .to_string();
        let probability = match table.get("probability") {
            None => 0.95,
            Some(v) => number(v).ok_or_else(|| {
                fail(
                    String::new(),
                    "`probability` must be a number, e.g. 0.95".into(),
                )
            })?,
        };
        for key in table.keys() {
            if !matches!(
                key.as_str(),
                "model" | "probability" | "inputs" | "correlation"
            ) {
                return Err(fail(
                    String::new(),
                    format!(
                        "unknown key `{key}`; a model file has model, probability, [inputs.NAME] and [[correlation]]"
                    ),
                ));
            }
        }
        let inputs_table = table
            .get("inputs")
            .and_then(|v| v.as_table())
            .ok_or_else(|| fail(String::new(), "no [inputs.NAME] tables".into()))?;
        // File order of the inputs (toml's table is sorted; recover the order of appearance
        // from one pass over the text — a search per input would be quadratic).
        let mut first_seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (at, _) in text.match_indices("[inputs.") {
            let rest = &text[at + "[inputs.".len()..];
            if let Some(end) = rest.find(']') {
                first_seen.entry(rest[..end].trim()).or_insert(at);
            }
        }
        let mut names: Vec<&String> = inputs_table.keys().collect();
        names.sort_by_key(|n| first_seen.get(n.as_str()).copied().unwrap_or(usize::MAX));
        let mut inputs = Vec::new();
        for name in names {
            let spec = inputs_table[name]
                .as_table()
                .ok_or_else(|| fail(String::new(), format!("inputs.{name} must be a table")))?;
            inputs.push(
                parse_input(name, spec)
                    .map_err(|p| fail(String::new(), format!("inputs.{name}: {p}")))?,
            );
        }
        let index: BTreeMap<String, usize> = inputs
            .iter()
            .enumerate()
            .map(|(k, i)| (i.name.clone(), k))
            .collect();
        let mut correlations = Vec::new();
        if let Some(list) = table.get("correlation") {
            let list = list.as_array().ok_or_else(|| {
                fail(
                    String::new(),
                    "write correlations as [[correlation]] tables".into(),
                )
            })?;
            for (k, c) in list.iter().enumerate() {
                let key = format!("correlation[{k}]");
                let names = c
                    .get("inputs")
                    .and_then(|v| v.as_array())
                    .filter(|a| a.len() == 2)
                    .ok_or_else(|| {
                        fail(
                            String::new(),
                            format!("{key}: `inputs = [\"a\", \"b\"]` names two inputs"),
                        )
                    })?;
                let r = c.get("r").and_then(number).ok_or_else(|| {
                    fail(
                        String::new(),
                        format!("{key}: `r` (the correlation coefficient) is missing"),
                    )
                })?;
                let mut ids = [0usize; 2];
                for (slot, n) in ids.iter_mut().zip(names) {
                    let n = n.as_str().unwrap_or_default();
                    *slot = *index.get(n).ok_or_else(|| {
                        fail(String::new(), format!("{key}: unknown input `{n}`"))
                    })?;
                }
                correlations.push((ids[0], ids[1], r));
            }
        }
        let problem = Problem {
            inputs,
            correlations,
            probability,
        };
        problem
            .check()
            .map_err(|e| fail(String::new(), e.to_string()))?;
        let engine = sandboxed_engine();
        let mut scope = Scope::new();
        for input in &problem.inputs {
            scope.push(input.name.clone(), input.value);
        }
        let ast = engine
            .compile_expression_with_scope(&scope, &expression)
            .map_err(|e| {
                let (line0, col0, multiline) = model_origin(text);
                let location = match (e.1.line(), e.1.position()) {
                    (Some(l), Some(c)) => {
                        let line = line0 + l - 1;
                        let column = if l == 1 && !multiline {
                            col0 + c - 1
                        } else {
                            c
                        };
                        format!("line {line}, column {column}: ")
                    }
                    _ => String::new(),
                };
                let mut problem = format!("in the model expression: {}", e.0);
                if problem.contains("Undefined variable") || problem.contains("Variable not found")
                {
                    problem.push_str(&format!(" (known inputs: {})", problem_names(&index)));
                }
                fail(location, problem)
            })?;
        // The inputs the expression names: only they go into the scope of an evaluation, so
        // that an evaluation costs what the expression uses, not what the file declares (the
        // GUM evaluates the model 4 times per input; a scope of every input made a file with
        // thousands of unused inputs quadratic). Any identifier equal to an input's name
        // counts, which can only over-approximate.
        let mentioned: std::collections::BTreeSet<&str> = expression
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .collect();
        let used = problem
            .inputs
            .iter()
            .enumerate()
            .filter(|(_, i)| mentioned.contains(i.name.as_str()))
            .map(|(k, _)| k)
            .collect();
        Ok(ModelFile {
            problem,
            expression,
            engine,
            ast,
            used,
        })
    }

    /// The inputs the expression does not mention (sensitivity 0: probably a mistake).
    pub fn unused_inputs(&self) -> Vec<&str> {
        self.problem
            .inputs
            .iter()
            .enumerate()
            .filter(|(k, _)| !self.used.contains(k))
            .map(|(_, i)| i.name.as_str())
            .collect()
    }

    /// Evaluate the model at `x` (values in input order).
    pub fn eval(&self, x: &[f64]) -> Result<f64, String> {
        let mut scope = Scope::new();
        for &k in &self.used {
            scope.push(self.problem.inputs[k].name.clone(), x[k]);
        }
        let y: Dynamic = self
            .engine
            .eval_ast_with_scope(&mut scope, &self.ast)
            .map_err(|e| e.to_string())?;
        y.as_float()
            .or_else(|_| y.as_int().map(|i| i as f64))
            .map_err(|t| format!("the expression gives a {t}, not a number"))
    }
}

fn problem_names(index: &BTreeMap<String, usize>) -> String {
    index.keys().cloned().collect::<Vec<_>>().join(", ")
}

fn parse_input(name: &str, spec: &toml::Table) -> Result<Input, String> {
    let get = |k: &str| spec.get(k).and_then(number);
    let need = |k: &str| get(k).ok_or_else(|| format!("`{k}` is missing or not a number"));
    let kind = spec
        .get("distribution")
        .and_then(|v| v.as_str())
        .ok_or("`distribution` is missing (normal, rectangular, triangular, arcsine, t, typea)")?;
    let known: &[&str] = match kind {
        "normal" => &["distribution", "value", "u", "U", "k", "unit", "dof"],
        "rectangular" | "triangular" | "arcsine" => {
            &["distribution", "value", "half_width", "unit", "dof"]
        }
        "t" => &["distribution", "value", "u", "dof", "unit"],
        "typea" => &["distribution", "observations", "unit"],
        other => {
            return Err(format!(
                "unknown distribution `{other}`; use normal, rectangular, triangular, arcsine, t or typea"
            ));
        }
    };
    if let Some(k) = spec.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(format!("unknown key `{k}` for a {kind} input"));
    }
    let mut input = match kind {
        "normal" => {
            let u = match (get("u"), get("U"), get("k")) {
                (Some(u), None, None) => u,
                (None, Some(big), Some(k)) if k > 0.0 => big / k,
                (None, Some(_), Some(k)) => {
                    return Err(format!("coverage factor k = {k} must be > 0"));
                }
                (None, Some(_), None) => return Err("`U` needs its coverage factor `k`".into()),
                _ => return Err("give either `u` (standard uncertainty) or `U` with `k`".into()),
            };
            if u < 0.0 {
                return Err(format!("uncertainty {u} is negative"));
            }
            Input::new(name, need("value")?, Distribution::Normal { u })
        }
        "rectangular" | "triangular" | "arcsine" => {
            let half_width = need("half_width")?;
            if half_width < 0.0 {
                return Err(format!("half_width {half_width} is negative"));
            }
            let d = match kind {
                "rectangular" => Distribution::Rectangular { half_width },
                "triangular" => Distribution::Triangular { half_width },
                _ => Distribution::Arcsine { half_width },
            };
            Input::new(name, need("value")?, d)
        }
        "t" => {
            let (u, dof) = (need("u")?, need("dof")?);
            if u < 0.0 {
                return Err(format!("uncertainty {u} is negative"));
            }
            if dof <= 0.0 {
                return Err(format!("dof {dof} must be > 0"));
            }
            Input::new(
                name,
                need("value")?,
                Distribution::StudentT { scale: u, dof },
            )
        }
        _ => {
            let obs = spec
                .get("observations")
                .and_then(|v| v.as_array())
                .ok_or("`observations = [ … ]` is missing")?;
            let values: Vec<f64> = obs
                .iter()
                .map(number)
                .collect::<Option<_>>()
                .ok_or("observations must all be numbers")?;
            Input::type_a(name, &values).map_err(|e| e.to_string())?
        }
    };
    if let Some(dof) = get("dof")
        && kind != "t"
    {
        if dof <= 0.0 {
            return Err(format!("dof {dof} must be > 0"));
        }
        input.dof = dof;
    }
    input.unit = spec
        .get("unit")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    Ok(input)
}
