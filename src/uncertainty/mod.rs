//! Measurement uncertainty: the GUM law of propagation (JCGM 100:2008), the Monte Carlo
//! method of GUM Supplement 1 (JCGM 101:2008) with its adaptive procedure and the validation
//! of the GUM result, uncertainty budgets, and ILAC-G8 decision rules.
//!
//! Pure numerics: a model is any `Fn(&[f64]) -> Result<f64, String>`; inputs are
//! distributions. Monte Carlo draws come from per-block seeded generators, so results are
//! reproducible and identical whatever the number of threads.

pub mod decision;
pub mod distribution;
pub mod fits;
pub mod gum;
pub mod mcm;
pub mod model_file;
pub mod special;
pub mod spectral;
pub mod station;

pub use distribution::{Distribution, Input};
pub use gum::{BudgetLine, GumResult, gum, gum_branches};
pub use mcm::{McmOptions, McmResult, mcm, validate};

/// Errors of the uncertainty engine.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UncertaintyError {
    /// An input is ill-defined.
    #[error("input `{input}`: {problem}")]
    Input {
        /// Input name.
        input: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// The correlation matrix is not usable.
    #[error("correlations: {0}")]
    Correlation(String),
    /// The model failed to evaluate.
    #[error("the model cannot be evaluated {at}: {problem}")]
    Model {
        /// Where (at the estimates, in trial n, …).
        at: String,
        /// The model's message.
        problem: String,
    },
    /// Anything else.
    #[error("{0}")]
    Invalid(String),
}

/// A measurement model with its inputs: what the GUM and Monte Carlo evaluate.
#[derive(Debug, Clone)]
pub struct Problem {
    /// Inputs in the order the model receives them.
    pub inputs: Vec<Input>,
    /// Correlation coefficients (i, j, r) between inputs i ≠ j.
    pub correlations: Vec<(usize, usize, f64)>,
    /// Coverage probability p (e.g. 0.95).
    pub probability: f64,
}

impl Problem {
    /// Check inputs, probability and correlations; returns the Cholesky factor of the
    /// correlation matrix when there are correlations.
    pub fn check(&self) -> Result<Option<Vec<Vec<f64>>>, UncertaintyError> {
        if !(self.probability > 0.0 && self.probability < 1.0) {
            return Err(UncertaintyError::Invalid(format!(
                "coverage probability {} must be between 0 and 1 (e.g. 0.95)",
                self.probability
            )));
        }
        for input in &self.inputs {
            input.check()?;
        }
        if self.correlations.is_empty() {
            return Ok(None);
        }
        let n = self.inputs.len();
        let mut r = vec![vec![0.0; n]; n];
        for (i, row) in r.iter_mut().enumerate() {
            row[i] = 1.0;
        }
        for &(i, j, rho) in &self.correlations {
            if i == j || i >= n || j >= n {
                return Err(UncertaintyError::Correlation(
                    "a correlation needs two different inputs".into(),
                ));
            }
            if !(-1.0..=1.0).contains(&rho) {
                return Err(UncertaintyError::Correlation(format!(
                    "r = {rho} between `{}` and `{}` must lie in [−1, 1]",
                    self.inputs[i].name, self.inputs[j].name
                )));
            }
            r[i][j] = rho;
            r[j][i] = rho;
        }
        cholesky(&r).map(Some).ok_or_else(|| {
            UncertaintyError::Correlation("the correlation matrix is not positive definite: the coefficients contradict each other".into())
        })
    }
}

/// Lower-triangular Cholesky factor of a symmetric positive-definite matrix.
pub fn cholesky(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = a.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = a[i][i] - s;
                if d <= 1e-12 {
                    return None;
                }
                l[i][j] = d.sqrt();
            } else {
                l[i][j] = (a[i][j] - s) / l[j][j];
            }
        }
    }
    Some(l)
}

/// Round to `digits` significant digits (ILAC-P14: the expanded uncertainty with at most two).
pub fn round_significant(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(digits - 1 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}

/// The decimal exponent of the last significant digit of `x` with `digits` digits.
pub fn last_digit_exponent(x: f64, digits: i32) -> i32 {
    x.abs().log10().floor() as i32 - (digits - 1)
}
