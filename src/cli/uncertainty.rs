//! `pvstation uncertainty eval MODEL.toml`: the station as a general uncertainty calculator.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use serde_json::json;

use crate::uncertainty::model_file::ModelFile;
use crate::uncertainty::{McmOptions, gum, last_digit_exponent, mcm, round_significant, validate};

/// `pvstation uncertainty …`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Evaluate a model file: GUM, optionally Monte Carlo and the validation of the GUM result.
    Eval {
        /// Model file (TOML).
        model: PathBuf,
        /// Also run the Monte Carlo method (JCGM 101).
        #[arg(long)]
        mcm: bool,
        /// Monte Carlo trials (default 1 000 000).
        #[arg(long, conflicts_with = "adaptive")]
        trials: Option<usize>,
        /// Adaptive Monte Carlo (JCGM 101 §7.9) until the stated significant digits are stable.
        #[arg(long)]
        adaptive: bool,
        /// Significant digits of the adaptive procedure and the validation (1 or 2).
        #[arg(long, default_value_t = 2)]
        digits: u32,
        /// Seed of the Monte Carlo draws.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
}

/// Largest model file read (a model is a formula and a few dozen inputs; this bounds a
/// mistaken or hostile file).
const MAX_MODEL_FILE: u64 = 1 << 20;

/// Run `pvstation uncertainty …`.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    let Command::Eval {
        model,
        mcm: run_mcm,
        trials,
        adaptive,
        digits,
        seed,
        json: json_out,
    } = command;
    if !(1..=2).contains(&digits) {
        bail!("--digits {digits}: use 1 or 2 significant digits");
    }
    let text = super::read_text_file(&model, MAX_MODEL_FILE, "model file")?;
    let file = ModelFile::parse(&model.display().to_string(), &text)?;
    let unused = file.unused_inputs();
    if !unused.is_empty() {
        eprintln!(
            "warning: {}: {} input(s) the model does not use (sensitivity 0): {}",
            model.display(),
            unused.len(),
            crate::analysis::curve::shown(&unused.join(", "))
        );
    }
    let f = |x: &[f64]| file.eval(x);
    let g = gum(&file.problem, &f).with_context(|| model.display().to_string())?;
    let m = if run_mcm || adaptive || trials.is_some() {
        let options = McmOptions {
            trials: trials.unwrap_or(1_000_000),
            adaptive: adaptive.then_some(digits),
            seed,
            ..McmOptions::default()
        };
        Some(mcm(&file.problem, &f, &options).with_context(|| model.display().to_string())?)
    } else {
        None
    };
    let verdict = m.as_ref().map(|m| validate(&g, m, digits));
    // ILAC-P14: U with at most two significant digits, y to the same decimal place.
    let u_reported = round_significant(g.expanded, 2);
    let decimals = -last_digit_exponent(g.expanded, 2);
    let y_reported = if decimals >= 0 {
        format!("{:.*}", decimals as usize, g.y)
    } else {
        format!(
            "{}",
            (g.y / 10f64.powi(-decimals)).round() * 10f64.powi(-decimals)
        )
    };
    if json_out {
        let mut out = json!({
            "gum": {"y": g.y, "u": g.u, "nu_eff": g.nu_eff, "k": g.k, "U": g.expanded, "interval": g.interval},
            "budget": g.budget,
            "probability": file.problem.probability,
            "reported": {"y": y_reported, "U": u_reported, "k": g.k},
        });
        if let Some(m) = &m {
            out["mcm"] = json!({"y": m.y, "u": m.u, "interval": m.interval, "shortest_interval": m.shortest, "trials": m.trials, "converged": m.converged, "seed": seed});
        }
        if let Some((passed, d_low, d_high, delta)) = verdict {
            out["validation"] = json!(if passed { "passed" } else { "failed" });
            out["validation_detail"] =
                json!({"d_low": d_low, "d_high": d_high, "tolerance": delta, "digits": digits});
        }
        println!("{out}");
    } else {
        println!("model: {}", file.expression);
        println!(
            "{:<16} {:>14} {:>12} {:<12} {:>12} {:>12} {:>7}",
            "input", "estimate", "u", "distribution", "sensitivity", "contribution", "share"
        );
        for b in &g.budget {
            println!(
                "{:<16} {:>14.6e} {:>12.4e} {:<12} {:>12.4e} {:>12.4e} {:>6.1}%",
                b.name,
                b.estimate,
                b.u,
                b.distribution,
                b.sensitivity,
                b.contribution,
                b.share * 100.0
            );
        }
        let nu = g
            .nu_eff
            .map(|v| format!("{v:.1}"))
            .unwrap_or_else(|| "∞".into());
        // Values with two digits more than the reported expanded uncertainty.
        let d = (decimals + 2).max(0) as usize;
        let v = |x: f64| format!("{x:.d$}");
        println!(
            "GUM: y = {}, u = {:.3e}, ν_eff = {nu}, k = {:.3}, U = {:.3e}, interval [{}, {}]",
            v(g.y),
            g.u,
            g.k,
            g.expanded,
            v(g.interval[0]),
            v(g.interval[1])
        );
        println!(
            "reported (ILAC-P14): y = {y_reported} ± {u_reported} (k = {:.2}, p = {})",
            g.k, file.problem.probability
        );
        if let Some(m) = &m {
            println!(
                "Monte Carlo: y = {}, u = {:.3e}, interval [{}, {}], shortest [{}, {}], {} trials{}",
                v(m.y),
                m.u,
                v(m.interval[0]),
                v(m.interval[1]),
                v(m.shortest[0]),
                v(m.shortest[1]),
                m.trials,
                if m.converged { "" } else { " (NOT converged)" }
            );
        }
        if let Some((passed, d_low, d_high, delta)) = verdict {
            println!(
                "validation of the GUM result (JCGM 101 §8, {digits} digits): {} (d_low {d_low:.2e}, d_high {d_high:.2e}, tolerance {delta:.2e})",
                if passed {
                    "passed"
                } else {
                    "FAILED — report the Monte Carlo result"
                }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
