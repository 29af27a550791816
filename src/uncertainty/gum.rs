//! The GUM law of propagation of uncertainty (JCGM 100:2008 §5, G.4).
//!
//! # Equations
//! - Sensitivity coefficients c_i = ∂f/∂x_i at the estimates, by central differences with
//!   step h_i = u(x_i)/100 refined by one Richardson extrapolation:
//!   c = [4·D(h/2) − D(h)]/3 with D(h) = [f(x + h) − f(x − h)]/(2h) (error O(h⁴)).
//! - u_c²(y) = Σ c_i²·u²(x_i) + 2·Σ_{i<j} c_i·c_j·r_ij·u(x_i)·u(x_j)   (5.2, 5.3)
//! - ν_eff = u_c⁴ / Σ (c_i·u(x_i))⁴/ν_i   (Welch–Satterthwaite, G.4.1, eq. G.2b)
//! - k = t_p(ν_eff); U = k·u_c.
//!
//! # Deviations
//! With correlated inputs Welch–Satterthwaite is not defined (it assumes independence): ν_eff
//! is then reported as absent and k = 2 is used, as standards.md §6.1 says (or use Monte Carlo).

use serde::Serialize;

use super::special::coverage_factor;
use super::{Problem, UncertaintyError};

/// One line of an uncertainty budget.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetLine {
    /// Input name.
    pub name: String,
    /// Estimate x_i.
    pub estimate: f64,
    /// Standard uncertainty u(x_i).
    pub u: f64,
    /// Unit of x_i.
    pub unit: Option<String>,
    /// Probability distribution of the input (normal, rectangular, …).
    pub distribution: &'static str,
    /// Degrees of freedom ν_i (None = ∞).
    pub dof: Option<f64>,
    /// Sensitivity coefficient c_i.
    pub sensitivity: f64,
    /// Contribution |c_i|·u(x_i), in the unit of y.
    pub contribution: f64,
    /// Share of the variance c_i²u²/Σ c_j²u_j² [1].
    pub share: f64,
    /// Where the input came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// The GUM result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GumResult {
    /// Estimate y = f(x).
    pub y: f64,
    /// Combined standard uncertainty u_c(y).
    pub u: f64,
    /// Effective degrees of freedom (None = ∞ or undefined with correlations).
    pub nu_eff: Option<f64>,
    /// Coverage factor k.
    pub k: f64,
    /// Expanded uncertainty U = k·u_c.
    #[serde(rename = "U")]
    pub expanded: f64,
    /// Coverage interval [y − U, y + U].
    pub interval: [f64; 2],
    /// The budget.
    pub budget: Vec<BudgetLine>,
}

fn eval(
    model: &dyn Fn(&[f64]) -> Result<f64, String>,
    x: &[f64],
    at: &str,
) -> Result<f64, UncertaintyError> {
    let y = model(x).map_err(|problem| UncertaintyError::Model {
        at: at.into(),
        problem,
    })?;
    if !y.is_finite() {
        return Err(UncertaintyError::Model {
            at: at.into(),
            problem: format!("the result is {y}"),
        });
    }
    Ok(y)
}

/// Evaluate a problem with the law of propagation of uncertainty.
pub fn gum(
    problem: &Problem,
    model: &dyn Fn(&[f64]) -> Result<f64, String>,
) -> Result<GumResult, UncertaintyError> {
    problem.check()?;
    let x0: Vec<f64> = problem.inputs.iter().map(|i| i.value).collect();
    let y = eval(model, &x0, "at the estimates")?;
    let n = x0.len();
    let mut c = vec![0.0; n];
    let mut x = x0.clone();
    for k in 0..n {
        let u = problem.inputs[k].u();
        let h = if u > 0.0 {
            u / 100.0
        } else {
            1e-6 * x0[k].abs().max(1.0)
        };
        let at = |x: &mut Vec<f64>, dx: f64| -> Result<f64, UncertaintyError> {
            x[k] = x0[k] + dx;
            let v = eval(
                model,
                x,
                &format!(
                    "while differentiating with respect to `{}`",
                    problem.inputs[k].name
                ),
            );
            x[k] = x0[k];
            v
        };
        let d = |x: &mut Vec<f64>, h: f64| -> Result<f64, UncertaintyError> {
            Ok((at(x, h)? - at(x, -h)?) / (2.0 * h))
        };
        let d1 = d(&mut x, h)?;
        let d2 = d(&mut x, h / 2.0)?;
        c[k] = (4.0 * d2 - d1) / 3.0;
    }
    let u: Vec<f64> = problem.inputs.iter().map(|i| i.u()).collect();
    let mut variance: f64 = (0..n).map(|k| (c[k] * u[k]).powi(2)).sum();
    let uncorrelated = variance;
    for &(i, j, r) in &problem.correlations {
        variance += 2.0 * c[i] * c[j] * r * u[i] * u[j];
    }
    if variance < 0.0 {
        return Err(UncertaintyError::Correlation(
            "the correlations make the combined variance negative".into(),
        ));
    }
    let uc = variance.sqrt();
    let nu_eff = if problem.correlations.is_empty() {
        let denom: f64 = (0..n)
            .filter(|&k| problem.inputs[k].dof.is_finite())
            .map(|k| (c[k] * u[k]).powi(4) / problem.inputs[k].dof)
            .sum();
        if denom > 0.0 {
            Some(uc.powi(4) / denom)
        } else {
            None
        }
    } else {
        None
    };
    let k = if problem.correlations.is_empty() {
        coverage_factor(problem.probability, nu_eff.unwrap_or(f64::INFINITY))
    } else {
        2.0
    };
    let expanded = k * uc;
    let budget = problem
        .inputs
        .iter()
        .enumerate()
        .map(|(i, input)| BudgetLine {
            name: input.name.clone(),
            estimate: input.value,
            u: u[i],
            unit: input.unit.clone(),
            source: input.source.clone(),
            distribution: input.distribution_name(),
            dof: input.dof.is_finite().then_some(input.dof),
            sensitivity: c[i],
            contribution: (c[i] * u[i]).abs(),
            share: if uncorrelated > 0.0 {
                (c[i] * u[i]).powi(2) / uncorrelated
            } else {
                0.0
            },
        })
        .collect();
    Ok(GumResult {
        y,
        u: uc,
        nu_eff,
        k,
        expanded,
        interval: [y - expanded, y + expanded],
        budget,
    })
}
