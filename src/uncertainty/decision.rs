//! Decision rules for statements of conformity (ILAC-G8:09/2019; ISO/IEC 17025:2017 7.8.6;
//! JCGM 106 for the risks), with the DCC conformity vocabulary (standards.md §7.2, §8.2).
//!
//! The measurand's probability density given the measurement is taken as normal with mean y
//! and standard deviation u (JCGM 106 §7). The probability that the true value lies outside
//! the tolerance is the specific risk: the probability of false acceptance when the item is
//! accepted, of false rejection when it is rejected.

use serde::Serialize;

use super::special::normal_cdf;

/// A tolerance (specification) interval; one side may be open.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Tolerance {
    /// Lower tolerance limit.
    pub lower: Option<f64>,
    /// Upper tolerance limit.
    pub upper: Option<f64>,
}

impl Tolerance {
    /// Nominal ± absolute tolerance.
    pub fn symmetric(nominal: f64, tolerance: f64) -> Tolerance {
        Tolerance {
            lower: Some(nominal - tolerance),
            upper: Some(nominal + tolerance),
        }
    }

    fn contains(&self, x: f64) -> bool {
        self.lower.is_none_or(|l| x >= l) && self.upper.is_none_or(|u| x <= u)
    }
}

/// The decision rule (ILAC-G8 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Rule {
    /// Binary, simple acceptance (w = 0, "shared risk", PFA up to 50 % at the limit).
    SimpleAcceptance,
    /// Binary with guard band w (default w = U): acceptance limits shrink by w.
    GuardedAcceptance {
        /// Guard band; None means the expanded uncertainty U.
        w: Option<f64>,
    },
    /// Non-binary: pass / conditional pass / conditional fail / fail by the position of
    /// y ± U relative to the limits.
    NonBinary,
}

/// The statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    /// Conforms.
    #[serde(rename = "pass")]
    Pass,
    /// Conforms, but y ± U crosses a limit.
    #[serde(rename = "conditionalPass")]
    ConditionalPass,
    /// Does not conform, but y ± U reaches into the tolerance.
    #[serde(rename = "conditionalFail")]
    ConditionalFail,
    /// Does not conform.
    #[serde(rename = "fail")]
    Fail,
}

impl Verdict {
    /// The DCC `conformity` value (dcc.xsd `statementMetaDataType`).
    pub fn dcc(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::ConditionalPass => "conditionalPass",
            Verdict::ConditionalFail => "conditionalFail",
            Verdict::Fail => "fail",
        }
    }
}

/// A decision with its risk.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Decision {
    /// The statement.
    pub verdict: Verdict,
    /// The rule applied.
    pub rule: Rule,
    /// Acceptance limits used (after any guard band).
    pub acceptance: Tolerance,
    /// Probability that the true value lies outside the tolerance (specific risk).
    pub probability_nonconforming: f64,
    /// Probability of a wrong decision: false acceptance if accepted, false rejection if not.
    pub probability_wrong_decision: f64,
}

/// Decide conformity of y (standard uncertainty `u`, expanded `expanded`) with `tolerance`.
pub fn decide(y: f64, u: f64, expanded: f64, tolerance: Tolerance, rule: Rule) -> Decision {
    let outside = if u > 0.0 {
        tolerance
            .lower
            .map(|l| normal_cdf((l - y) / u))
            .unwrap_or(0.0)
            + tolerance
                .upper
                .map(|h| 1.0 - normal_cdf((h - y) / u))
                .unwrap_or(0.0)
    } else if tolerance.contains(y) {
        0.0
    } else {
        1.0
    };
    let (verdict, acceptance) = match rule {
        Rule::SimpleAcceptance => (
            if tolerance.contains(y) {
                Verdict::Pass
            } else {
                Verdict::Fail
            },
            tolerance,
        ),
        Rule::GuardedAcceptance { w } => {
            let w = w.unwrap_or(expanded);
            let acceptance = Tolerance {
                lower: tolerance.lower.map(|l| l + w),
                upper: tolerance.upper.map(|h| h - w),
            };
            (
                if acceptance.contains(y) {
                    Verdict::Pass
                } else {
                    Verdict::Fail
                },
                acceptance,
            )
        }
        Rule::NonBinary => {
            let (lo, hi) = (y - expanded, y + expanded);
            let inside = tolerance.contains(y);
            let interval_inside = tolerance.contains(lo) && tolerance.contains(hi);
            let interval_outside =
                tolerance.lower.is_some_and(|l| hi < l) || tolerance.upper.is_some_and(|h| lo > h);
            let verdict = match (inside, interval_inside, interval_outside) {
                (true, true, _) => Verdict::Pass,
                (true, false, _) => Verdict::ConditionalPass,
                (false, _, false) => Verdict::ConditionalFail,
                (false, _, true) => Verdict::Fail,
            };
            (verdict, tolerance)
        }
    };
    let accepted = matches!(verdict, Verdict::Pass | Verdict::ConditionalPass);
    Decision {
        verdict,
        rule,
        acceptance,
        probability_nonconforming: outside,
        probability_wrong_decision: if accepted { outside } else { 1.0 - outside },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ilac_g8_rules_at_and_near_the_limit() {
        let tol = Tolerance::symmetric(100.0, 1.0);
        // At the limit, simple acceptance passes with 50 % risk (ILAC-G8 "shared risk").
        let d = decide(101.0, 0.25, 0.5, tol, Rule::SimpleAcceptance);
        assert_eq!(d.verdict, Verdict::Pass);
        assert!((d.probability_wrong_decision - 0.5).abs() < 1e-9);
        // Guarded acceptance with w = U: the same reading fails; inside the guard band passes
        // with PFA below 2.5 %.
        assert_eq!(
            decide(101.0, 0.25, 0.5, tol, Rule::GuardedAcceptance { w: None }).verdict,
            Verdict::Fail
        );
        let d = decide(100.5, 0.25, 0.5, tol, Rule::GuardedAcceptance { w: None });
        assert_eq!(d.verdict, Verdict::Pass);
        assert!(
            d.probability_wrong_decision < 0.025 && d.probability_wrong_decision > 0.022,
            "{d:?}"
        );
        // Non-binary zones.
        let nb = |y: f64| decide(y, 0.25, 0.5, tol, Rule::NonBinary).verdict;
        assert_eq!(nb(100.2), Verdict::Pass);
        assert_eq!(nb(100.8), Verdict::ConditionalPass);
        assert_eq!(nb(101.3), Verdict::ConditionalFail);
        assert_eq!(nb(101.8), Verdict::Fail);
        assert_eq!(Verdict::ConditionalFail.dcc(), "conditionalFail");
    }
}
