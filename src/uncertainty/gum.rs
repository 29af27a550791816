//! The GUM law of propagation of uncertainty (JCGM 100:2008 §5, G.4).
//!
//! # Equations
//! - Sensitivity coefficients c_i = ∂f/∂x_i at the estimates, by central differences with
//!   step h_i = u(x_i)/100 refined by one Richardson extrapolation:
//!   c = [4·D(h/2) − D(h)]/3 with D(h) = [f(x + h) − f(x − h)]/(2h) (error O(h⁴)).
//! - A model that is only piecewise smooth (the Pmax fit keeps the points inside a window
//!   around the largest-power point, and a point crossing the window's edge moves Pmax by a
//!   step) names its branch with every value ([`gum_branches`]). The derivative is the one of
//!   the branch the estimate lies on: a step whose ends land on another branch is halved (down
//!   to 10⁻⁶ of the first), and where one side cannot be reached the one-sided difference of
//!   the other is used, c = 2·D₊(h/2) − D₊(h) with D₊(h) = [f(x + h) − f(x)]/h (error O(h²)).
//!   A central difference across a step of size s would give s/(2h) instead: with h = u/100 a
//!   0.01 W jump reads as 0.5 W per u.
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

/// A piecewise-smooth model: the value and the branch it lies on ([`gum_branches`]).
pub type BranchModel<'a> = &'a dyn Fn(&[f64]) -> Result<(f64, u64), String>;

fn eval(model: BranchModel<'_>, x: &[f64], at: &str) -> Result<(f64, u64), UncertaintyError> {
    let (y, branch) = model(x).map_err(|problem| UncertaintyError::Model {
        at: at.into(),
        problem,
    })?;
    if !y.is_finite() {
        return Err(UncertaintyError::Model {
            at: at.into(),
            problem: format!("the result is {y}"),
        });
    }
    Ok((y, branch))
}

/// Evaluate a problem with the law of propagation of uncertainty.
pub fn gum(
    problem: &Problem,
    model: &dyn Fn(&[f64]) -> Result<f64, String>,
) -> Result<GumResult, UncertaintyError> {
    gum_branches(problem, &|x| model(x).map(|y| (y, 0)))
}

/// Halvings of the step before a sensitivity gives up on reaching the estimate's branch from
/// both sides: 2⁻²⁰ ≈ 10⁻⁶ of the first step.
const MAX_HALVINGS: usize = 20;

/// [`gum`] for a piecewise-smooth model: `model` returns the value and the branch it lies on
/// (any number that changes exactly where the model jumps); sensitivities never difference
/// across branches (module docs).
pub fn gum_branches(
    problem: &Problem,
    model: BranchModel<'_>,
) -> Result<GumResult, UncertaintyError> {
    problem.check()?;
    let x0: Vec<f64> = problem.inputs.iter().map(|i| i.value).collect();
    let (y, branch) = eval(model, &x0, "at the estimates")?;
    let n = x0.len();
    let mut c = vec![0.0; n];
    let mut x = x0.clone();
    for k in 0..n {
        let u = problem.inputs[k].u();
        let mut h = if u > 0.0 {
            u / 100.0
        } else {
            1e-6 * x0[k].abs().max(1.0)
        };
        let name = &problem.inputs[k].name;
        let mut at = |dx: f64| -> Result<(f64, u64), UncertaintyError> {
            x[k] = x0[k] + dx;
            let v = eval(
                model,
                &x,
                &format!("while differentiating with respect to `{name}`"),
            );
            x[k] = x0[k];
            v
        };
        let mut found = None;
        for _ in 0..=MAX_HALVINGS {
            let [p1, m1, p2, m2] = [at(h)?, at(-h)?, at(h / 2.0)?, at(-h / 2.0)?];
            let on = |v: (f64, u64)| v.1 == branch;
            if on(p1) && on(m1) && on(p2) && on(m2) {
                let (d1, d2) = ((p1.0 - m1.0) / (2.0 * h), (p2.0 - m2.0) / h);
                found = Some((4.0 * d2 - d1) / 3.0);
            } else if on(p1) && on(p2) {
                found = Some(2.0 * (p2.0 - y) / (h / 2.0) - (p1.0 - y) / h);
            } else if on(m1) && on(m2) {
                found = Some(2.0 * (y - m2.0) / (h / 2.0) - (y - m1.0) / h);
            }
            if found.is_some() {
                break;
            }
            h /= 2.0;
        }
        c[k] = found.ok_or_else(|| UncertaintyError::Model {
            at: format!("while differentiating with respect to `{name}`"),
            problem: format!(
                "the model jumps on both sides of the estimate within {h:e} (no smooth branch to differentiate)"
            ),
        })?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uncertainty::{Distribution, Input};

    fn one_input(value: f64, u: f64) -> Problem {
        Problem {
            inputs: vec![Input::new("x", value, Distribution::Normal { u })],
            correlations: Vec::new(),
            probability: 0.95,
        }
    }

    /// y = 3·x with a step of 0.01 where x crosses 1e-4 (above the estimate 0, within the
    /// first step u/100 = 0.01): differencing across the step would read c = 3 + 0.01/(2h)
    /// ≈ 3.5 (Richardson: ≈ 3.7); the branch-aware sensitivity is the slope, 3.
    #[test]
    fn sensitivities_never_difference_across_a_jump() {
        let jump = |x: &[f64]| {
            let above = x[0] > 1e-4;
            Ok((3.0 * x[0] + if above { 0.01 } else { 0.0 }, above as u64))
        };
        let plain = gum(&one_input(0.0, 1.0), &|x| jump(x).map(|(y, _)| y)).expect("gum");
        assert!(plain.budget[0].sensitivity > 3.3, "{:?}", plain.budget[0]);
        let aware = gum_branches(&one_input(0.0, 1.0), &jump).expect("gum");
        assert!(
            (aware.budget[0].sensitivity - 3.0).abs() < 1e-9,
            "{:?}",
            aware.budget[0]
        );
        assert!((aware.u - 3.0).abs() < 1e-9);
        // Jumps close on both sides: an error naming the input, not a number.
        let both = |x: &[f64]| {
            Ok((
                x[0],
                (x[0].abs() > 1e-12) as u64 * (x[0] > 0.0) as u64 + (x[0] < -1e-12) as u64 * 2,
            ))
        };
        let err = gum_branches(&one_input(0.0, 1.0), &both).expect_err("no branch");
        assert!(err.to_string().contains("`x`"), "{err}");
    }
}
