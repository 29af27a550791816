//! The Monte Carlo method of GUM Supplement 1 (JCGM 101:2008): propagation of distributions,
//! probabilistically symmetric and shortest coverage intervals (§7.7), the adaptive procedure
//! (§7.9) and the validation of the GUM uncertainty framework (§8).
//!
//! Reproducibility: trials are drawn in blocks of [`BLOCK`]; block b uses its own generator
//! seeded from (seed, b) by SplitMix64, and blocks are concatenated in order, so the numbers do
//! not depend on how many threads ran them.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution as _, StandardNormal};
use rayon::prelude::*;
use serde::Serialize;

use super::gum::GumResult;
use super::{Problem, UncertaintyError, last_digit_exponent};

/// Trials per block (the unit of parallel work and of seeding).
pub const BLOCK: usize = 10_000;

/// How to run the Monte Carlo method.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct McmOptions {
    /// Number of trials (rounded up to whole blocks); ignored when `adaptive`.
    pub trials: usize,
    /// Adaptive procedure with this many significant digits (JCGM 101 §7.9).
    pub adaptive: Option<u32>,
    /// Seed of the pseudo-random generator (same seed, same result).
    pub seed: u64,
    /// Upper bound on the trials of the adaptive procedure.
    pub max_trials: usize,
}

/// The most Monte Carlo trials one evaluation may ask for (80 MB of model values).
pub const MAX_TRIALS: usize = 10_000_000;

impl Default for McmOptions {
    fn default() -> Self {
        McmOptions {
            trials: 1_000_000,
            adaptive: None,
            seed: 1,
            max_trials: MAX_TRIALS,
        }
    }
}

/// Result of the Monte Carlo method.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct McmResult {
    /// Average of the model values.
    pub y: f64,
    /// Standard deviation of the model values.
    pub u: f64,
    /// Probabilistically symmetric coverage interval.
    pub interval: [f64; 2],
    /// Shortest coverage interval.
    pub shortest: [f64; 2],
    /// Trials used.
    pub trials: usize,
    /// The adaptive procedure reached its tolerance (always true without it).
    pub converged: bool,
    /// Sequences of the adaptive procedure (1 without it).
    pub sequences: usize,
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Model values of blocks `first..first + count`.
fn run_blocks(
    problem: &Problem,
    chol: &Option<Vec<Vec<f64>>>,
    model: &(dyn Fn(&[f64]) -> Result<f64, String> + Sync),
    seed: u64,
    first: usize,
    count: usize,
) -> Result<Vec<f64>, UncertaintyError> {
    let blocks: Vec<Result<Vec<f64>, UncertaintyError>> = (first..first + count)
        .into_par_iter()
        .map(|b| {
            let mut rng = StdRng::seed_from_u64(splitmix(seed ^ splitmix(b as u64)));
            let n = problem.inputs.len();
            let mut x = vec![0.0; n];
            let mut z = vec![0.0; n];
            let mut out = Vec::with_capacity(BLOCK);
            for trial in 0..BLOCK {
                match chol {
                    None => {
                        for (xi, input) in x.iter_mut().zip(&problem.inputs) {
                            *xi = input.sample(&mut rng);
                        }
                    }
                    Some(l) => {
                        // Gaussian copula: correlated standard normals, then each marginal.
                        for zi in z.iter_mut() {
                            *zi = StandardNormal.sample(&mut rng);
                        }
                        for i in 0..n {
                            let zi: f64 = (0..=i).map(|k| l[i][k] * z[k]).sum();
                            x[i] = problem.inputs[i].from_normal(zi);
                        }
                    }
                }
                let y = model(&x).map_err(|problem| UncertaintyError::Model {
                    at: format!("in trial {}", b * BLOCK + trial + 1),
                    problem,
                })?;
                if !y.is_finite() {
                    return Err(UncertaintyError::Model {
                        at: format!("in trial {}", b * BLOCK + trial + 1),
                        problem: format!("the result is {y}"),
                    });
                }
                out.push(y);
            }
            Ok(out)
        })
        .collect();
    let mut values = Vec::with_capacity(count * BLOCK);
    for b in blocks {
        values.extend(b?);
    }
    Ok(values)
}

/// Summary statistics of model values: mean, standard deviation, symmetric and shortest
/// intervals (JCGM 101 §7.6, §7.7: q = pM rounded, r = (M − q)/2).
pub fn summarise(values: &mut [f64], probability: f64) -> (f64, f64, [f64; 2], [f64; 2]) {
    let m = values.len();
    let mean = values.iter().sum::<f64>() / m as f64;
    let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>()
        / (m.saturating_sub(1)).max(1) as f64)
        .sqrt();
    values.sort_unstable_by(f64::total_cmp);
    let q = ((probability * m as f64) + 0.5).floor() as usize;
    let q = q.clamp(1, m);
    let r = (m - q) / 2;
    let symmetric = [values[r], values[(r + q).min(m - 1)]];
    let mut best = (f64::INFINITY, 0);
    for start in 0..m - q.min(m - 1) {
        let width = values[(start + q).min(m - 1)] - values[start];
        if width < best.0 {
            best = (width, start);
        }
    }
    let shortest = [values[best.1], values[(best.1 + q).min(m - 1)]];
    (mean, sd, symmetric, shortest)
}

/// Run the Monte Carlo method.
pub fn mcm(
    problem: &Problem,
    model: &(dyn Fn(&[f64]) -> Result<f64, String> + Sync),
    options: &McmOptions,
) -> Result<McmResult, UncertaintyError> {
    let chol = problem.check()?;
    let p = problem.probability;
    // JCGM 101 §7.2.2: M large compared with 1/(1 − p), at least J = ⌈100/(1 − p)⌉ (2 000 for
    // 95 %); and a bound, so that a mistyped count neither exhausts memory (8 bytes a trial)
    // nor runs for days.
    let least = (100.0 / (1.0 - p)).ceil() as usize;
    if options.adaptive.is_none() && !(least..=MAX_TRIALS).contains(&options.trials) {
        return Err(UncertaintyError::Invalid(format!(
            "{} Monte Carlo trials: give between {least} (JCGM 101 §7.2.2: M ≫ 1/(1 − p) for p = {p}) and {MAX_TRIALS}, or use the adaptive procedure",
            options.trials
        )));
    }
    if options.max_trials > MAX_TRIALS {
        return Err(UncertaintyError::Invalid(format!(
            "at most {MAX_TRIALS} Monte Carlo trials"
        )));
    }
    match options.adaptive {
        None => {
            let blocks = options.trials.div_ceil(BLOCK).max(1);
            let mut values = run_blocks(problem, &chol, model, options.seed, 0, blocks)?;
            let (y, u, interval, shortest) = summarise(&mut values, p);
            Ok(McmResult {
                y,
                u,
                interval,
                shortest,
                trials: values.len(),
                converged: true,
                sequences: 1,
            })
        }
        Some(ndig) => {
            // §7.9.1: M = max(J, 10⁴) per sequence with J = ⌈100/(1 − p)⌉; whole blocks here.
            let j = (100.0 / (1.0 - p)).ceil() as usize;
            let per_sequence = j.max(10_000).div_ceil(BLOCK);
            let mut all: Vec<f64> = Vec::new();
            let mut stats: Vec<[f64; 4]> = Vec::new();
            let mut h = 0;
            loop {
                let mut seq = run_blocks(
                    problem,
                    &chol,
                    model,
                    options.seed,
                    h * per_sequence,
                    per_sequence,
                )?;
                all.extend_from_slice(&seq);
                let (y, u, iv, _) = summarise(&mut seq, p);
                stats.push([y, u, iv[0], iv[1]]);
                h += 1;
                if h >= 2 {
                    // §7.9.4: the standard deviation of the average of each quantity over the
                    // h sequences, s² = Σ(x⁽ʳ⁾ − x̄)²/(h(h − 1)); stop when 2s ≤ δ for all four,
                    // δ = ½·10^l with u(y) = c·10^l, c an ndig-digit integer (§7.9.2).
                    let (_, u_all, _, _) = summarise(&mut all.clone(), p);
                    let delta = 0.5 * 10f64.powi(last_digit_exponent(u_all, ndig as i32));
                    let hf = h as f64;
                    let converged = (0..4).all(|q| {
                        let mean = stats.iter().map(|s| s[q]).sum::<f64>() / hf;
                        let s2 = stats.iter().map(|s| (s[q] - mean).powi(2)).sum::<f64>()
                            / (hf * (hf - 1.0));
                        2.0 * s2.sqrt() <= delta
                    });
                    if converged || all.len() >= options.max_trials {
                        let (y, u, interval, shortest) = summarise(&mut all, p);
                        return Ok(McmResult {
                            y,
                            u,
                            interval,
                            shortest,
                            trials: all.len(),
                            converged,
                            sequences: h,
                        });
                    }
                }
            }
        }
    }
}

/// Validation of the GUM uncertainty framework against Monte Carlo (JCGM 101 §8):
/// d_low = |y − U − y_low|, d_high = |y + U − y_high|; validated when both are at most the
/// numerical tolerance δ of u(y) with `ndig` significant digits. Returns (passed, d_low,
/// d_high, δ).
pub fn validate(gum: &GumResult, mcm: &McmResult, ndig: u32) -> (bool, f64, f64, f64) {
    // δ comes from the GUM's u(y); when first-order propagation gives u = 0 (vanishing
    // sensitivities of a non-linear model) the Monte Carlo u sets the scale instead.
    let scale = if gum.u > 0.0 { gum.u } else { mcm.u };
    let delta = 0.5 * 10f64.powi(last_digit_exponent(scale, ndig as i32));
    let d_low = (gum.y - gum.expanded - mcm.interval[0]).abs();
    let d_high = (gum.y + gum.expanded - mcm.interval[1]).abs();
    (d_low <= delta && d_high <= delta, d_low, d_high, delta)
}
