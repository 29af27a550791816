//! Input quantities and their probability distributions (JCGM 100 §4.2–4.3; JCGM 101 §6.4).

use rand::RngExt;
use rand::rngs::StdRng;
use rand_distr::{Distribution as _, Normal, StudentT};
use serde::Serialize;

use super::UncertaintyError;
use super::special::{coverage_factor, normal_cdf};

/// The distribution of an input's deviation from its estimate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "distribution", rename_all = "snake_case")]
pub enum Distribution {
    /// Gaussian with standard uncertainty `u` (from a certificate: U/k).
    Normal {
        /// Standard uncertainty.
        u: f64,
    },
    /// Rectangular on ±`half_width`: u = a/√3 (JCGM 100 4.3.7).
    Rectangular {
        /// Half-width a.
        half_width: f64,
    },
    /// Symmetric triangular on ±`half_width`: u = a/√6 (JCGM 100 4.3.9).
    Triangular {
        /// Half-width a.
        half_width: f64,
    },
    /// Arcsine (U-shaped) on ±`half_width`: u = a/√2 (JCGM 101 6.4.6).
    Arcsine {
        /// Half-width a.
        half_width: f64,
    },
    /// Scaled and shifted t (JCGM 101 6.4.9): the GUM takes u = `scale` with `dof` degrees of
    /// freedom (Type A: s/√n with n − 1).
    StudentT {
        /// Scale (the GUM standard uncertainty).
        scale: f64,
        /// Degrees of freedom ν.
        dof: f64,
    },
}

/// An input quantity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Input {
    /// Input quantity name as the budget lists it.
    pub name: String,
    /// Estimate x.
    pub value: f64,
    /// Distribution of the deviation from x.
    #[serde(flatten)]
    pub distribution: Distribution,
    /// Degrees of freedom of u(x) (∞ for Type B unless stated).
    pub dof: f64,
    /// Unit, for budgets.
    pub unit: Option<String>,
    /// Where the value and its uncertainty came from (certificate, specification, file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl Input {
    /// An input with ν = ∞ (or the t distribution's ν).
    pub fn new(name: &str, value: f64, distribution: Distribution) -> Input {
        let dof = match distribution {
            Distribution::StudentT { dof, .. } => dof,
            _ => f64::INFINITY,
        };
        Input {
            name: name.to_string(),
            value,
            distribution,
            dof,
            unit: None,
            source: None,
        }
    }

    /// A Type A input from repeated observations: mean, s/√n, ν = n − 1 (JCGM 100 4.2),
    /// sampled in Monte Carlo as a scaled and shifted t (JCGM 101 6.4.9.7).
    pub fn type_a(name: &str, observations: &[f64]) -> Result<Input, UncertaintyError> {
        let n = observations.len();
        if n < 2 {
            return Err(UncertaintyError::Input {
                input: name.into(),
                problem: format!("Type A needs at least 2 observations, got {n}"),
            });
        }
        if observations.iter().any(|x| !x.is_finite()) {
            return Err(UncertaintyError::Input {
                input: name.into(),
                problem: "observations must be finite numbers".into(),
            });
        }
        let mean = observations.iter().sum::<f64>() / n as f64;
        let s =
            (observations.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
        Ok(Input::new(
            name,
            mean,
            Distribution::StudentT {
                scale: s / (n as f64).sqrt(),
                dof: (n - 1) as f64,
            },
        ))
    }

    /// Standard uncertainty u(x) as the GUM uses it.
    pub fn u(&self) -> f64 {
        match self.distribution {
            Distribution::Normal { u } => u,
            Distribution::Rectangular { half_width } => half_width / 3f64.sqrt(),
            Distribution::Triangular { half_width } => half_width / 6f64.sqrt(),
            Distribution::Arcsine { half_width } => half_width / 2f64.sqrt(),
            Distribution::StudentT { scale, .. } => scale,
        }
    }

    /// Name of the distribution, for budgets.
    pub fn distribution_name(&self) -> &'static str {
        match self.distribution {
            Distribution::Normal { .. } => "normal",
            Distribution::Rectangular { .. } => "rectangular",
            Distribution::Triangular { .. } => "triangular",
            Distribution::Arcsine { .. } => "arcsine",
            Distribution::StudentT { .. } => "t",
        }
    }

    /// Check the parameters; messages name the input.
    pub fn check(&self) -> Result<(), UncertaintyError> {
        let fail = |problem: String| {
            Err(UncertaintyError::Input {
                input: self.name.clone(),
                problem,
            })
        };
        if !self.value.is_finite() {
            return fail("the value must be a finite number".into());
        }
        match self.distribution {
            Distribution::Normal { u } if u.is_nan() || u < 0.0 || !u.is_finite() => {
                fail(format!("standard uncertainty {u} must be ≥ 0"))
            }
            Distribution::Rectangular { half_width }
            | Distribution::Triangular { half_width }
            | Distribution::Arcsine { half_width }
                if half_width.is_nan() || half_width < 0.0 || !half_width.is_finite() =>
            {
                fail(format!("half_width {half_width} must be ≥ 0"))
            }
            Distribution::StudentT { scale, .. }
                if scale.is_nan() || scale < 0.0 || !scale.is_finite() =>
            {
                fail(format!("u (scale) {scale} must be ≥ 0"))
            }
            Distribution::StudentT { dof, .. } if dof.is_nan() || dof <= 0.0 => {
                fail(format!("dof {dof} must be > 0"))
            }
            _ if self.dof.is_nan() || self.dof <= 0.0 => {
                fail(format!("dof {} must be > 0", self.dof))
            }
            _ => Ok(()),
        }
    }

    /// One Monte Carlo draw of the input (JCGM 101 6.4).
    pub fn sample(&self, rng: &mut StdRng) -> f64 {
        self.value
            + match self.distribution {
                Distribution::Normal { u } => {
                    Normal::new(0.0, u).map(|d| d.sample(rng)).unwrap_or(0.0)
                }
                Distribution::Rectangular { half_width } => {
                    half_width * (2.0 * rng.random::<f64>() - 1.0)
                }
                // Sum of two independent rectangulars (JCGM 101 6.4.4).
                Distribution::Triangular { half_width } => {
                    half_width * (rng.random::<f64>() + rng.random::<f64>() - 1.0)
                }
                Distribution::Arcsine { half_width } => {
                    half_width * (std::f64::consts::PI * (rng.random::<f64>() - 0.5)).sin()
                }
                Distribution::StudentT { scale, dof } => {
                    scale * StudentT::new(dof).map(|d| d.sample(rng)).unwrap_or(0.0)
                }
            }
    }

    /// The value whose cumulative probability is that of a standard normal `z` (Gaussian
    /// copula for correlated inputs).
    pub fn from_normal(&self, z: f64) -> f64 {
        let p = normal_cdf(z).clamp(1e-300, 1.0 - 1e-16);
        self.value
            + match self.distribution {
                Distribution::Normal { u } => u * z,
                Distribution::Rectangular { half_width } => half_width * (2.0 * p - 1.0),
                Distribution::Triangular { half_width } => {
                    if p < 0.5 {
                        half_width * ((2.0 * p).sqrt() - 1.0)
                    } else {
                        half_width * (1.0 - (2.0 * (1.0 - p)).sqrt())
                    }
                }
                Distribution::Arcsine { half_width } => {
                    half_width * (std::f64::consts::PI * (p - 0.5)).sin()
                }
                Distribution::StudentT { scale, dof } => {
                    let t = coverage_factor((2.0 * p - 1.0).abs(), dof);
                    scale * if p < 0.5 { -t } else { t }
                }
            }
    }
}
