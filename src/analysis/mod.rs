//! The metrology core: I-V curves, ASTM E1036 parameter extraction, IEC 60891 translation and
//! parameter determination, irradiance, equivalent cell temperature, spectral mismatch and
//! validity checks of natural-sunlight measurements.
//!
//! Pure numerics: no I/O, no logging, no clock, no async. Every formula names its source and
//! the confidence tag of `../shared/reference/standards.md` ([V] verified, [X] two public
//! implementations agree, [R] recollection of paywalled text, behind a named option).

pub mod curve;
pub mod extract;
pub mod iam;
pub mod iec60891;
pub mod irradiance;
pub mod linalg;
pub mod module;
pub mod params;
pub mod sun;
pub mod validity;

/// Errors of the metrology core.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnalysisError {
    /// No data.
    #[error("the curve is empty")]
    Empty,
    /// A required column is missing.
    #[error(
        "missing column `{column}` (header: `{header}`); a curve file needs `voltage` and `current`"
    )]
    MissingColumn {
        /// The column.
        column: String,
        /// The header found.
        header: String,
    },
    /// A problem on one line of a file.
    #[error("line {line}: {problem}")]
    AtLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        problem: String,
    },
    /// A non-finite value.
    #[error("point {index}: `{column}` is not a finite number")]
    NotFinite {
        /// The column holding the value (`voltage`, `current`, …).
        column: &'static str,
        /// 0-based point index.
        index: usize,
    },
    /// Negative irradiance.
    #[error("point {index}: negative irradiance {value} W/m²")]
    NegativeIrradiance {
        /// 0-based point index.
        index: usize,
        /// The value.
        value: f64,
    },
    /// Too few points.
    #[error("only {points} point(s); a curve needs at least {needed}")]
    TooFewPoints {
        /// Points given.
        points: usize,
        /// Points needed.
        needed: usize,
    },
    /// The curve does not approach V = 0.
    #[error(
        "the curve never reaches Isc: the point nearest to V = 0 is at {nearest_voltage} V; sweep from (slightly below) 0 V"
    )]
    NeverReachesIsc {
        /// Smallest |V| [V].
        nearest_voltage: f64,
    },
    /// The curve does not approach I = 0.
    #[error(
        "the curve never reaches Voc: the smallest current is {nearest_current} A; sweep to (beyond) open circuit"
    )]
    NeverReachesVoc {
        /// Smallest |I| [A].
        nearest_current: f64,
    },
    /// Too few points around the maximum-power point.
    #[error(
        "only {points} point(s) in the maximum-power window; the fit needs {needed}: measure more points near the knee"
    )]
    SparseMaximum {
        /// Points in the window.
        points: usize,
        /// Points needed.
        needed: usize,
    },
    /// The P(V) fit has no maximum inside the window.
    #[error(
        "the power fit has no maximum inside the maximum-power window (noisy or distorted curve)"
    )]
    NoMaximum,
    /// Anything else, with its explanation.
    #[error("{0}")]
    Invalid(String),
}
