//! Module files (TOML, a contract of DESIGN.md): the device's temperature coefficients and
//! its IEC 60891 correction parameters. Parsing text only; reading the file is the caller's.
//!
//! ```toml
//! name = "CS5P-220M"
//! cells_in_series = 96
//! alpha_isc = 0.004539        # A/K   (or alpha_isc_rel [1/K] with isc_stc [A])
//! beta_voc = -0.222156        # V/K   (or beta_voc_rel [1/K] with voc_stc [V])
//! isc_stc = 5.1               # A
//! voc_stc = 59.4              # V
//! [procedure1]
//! rs = 1.290                  # Ω
//! kappa = 0.0093              # Ω/K
//! [procedure2]                # Ed. 2 form with `a`, or Ed. 3 form with `b1`, `b2` [R]
//! a = 0.046
//! rs = 1.080
//! kappa = 0.0177
//! [procedure4]
//! epsilon = 1.232             # V per cell (c-Si)
//! rs = 1.290                  # Ω (default: procedure 1's rs)
//! ```

use serde::{Deserialize, Serialize};

use super::AnalysisError;

/// `[procedure1]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Procedure1Parameters {
    /// Internal series resistance Rs [Ω] (a fitting parameter, not the single-diode Rs).
    pub rs: f64,
    /// Curve correction factor κ [Ω/K].
    pub kappa: f64,
}

/// `[procedure2]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Procedure2Parameters {
    /// Irradiance correction factor a of Ed. 2 [1].
    #[serde(default)]
    pub a: Option<f64>,
    /// Ed. 3 irradiance coefficient B1 [1] [R].
    #[serde(default)]
    pub b1: Option<f64>,
    /// Ed. 3 irradiance coefficient B2 [1] [R].
    #[serde(default)]
    pub b2: Option<f64>,
    /// R's [Ω].
    pub rs: f64,
    /// κ' [Ω/K].
    pub kappa: f64,
}

/// `[procedure4]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Procedure4Parameters {
    /// Extrapolated band-gap voltage per cell ε [V] (c-Si 1.232 V, as in `ivcorrection`).
    #[serde(default = "default_epsilon")]
    pub epsilon: f64,
    /// Rs [Ω]; defaults to procedure 1's.
    #[serde(default)]
    pub rs: Option<f64>,
}

fn default_epsilon() -> f64 {
    1.232
}

/// A module file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Module {
    /// Name.
    pub name: String,
    /// Cells in series Ns.
    pub cells_in_series: u32,
    /// α, absolute [A/K].
    #[serde(default)]
    pub alpha_isc: Option<f64>,
    /// β, absolute [V/K].
    #[serde(default)]
    pub beta_voc: Option<f64>,
    /// α_rel [1/K].
    #[serde(default)]
    pub alpha_isc_rel: Option<f64>,
    /// β_rel [1/K].
    #[serde(default)]
    pub beta_voc_rel: Option<f64>,
    /// Isc at STC [A].
    #[serde(default)]
    pub isc_stc: Option<f64>,
    /// Voc at STC [V].
    #[serde(default)]
    pub voc_stc: Option<f64>,
    /// Nameplate Pmax at STC [W].
    #[serde(default)]
    pub p_mp_stc: Option<f64>,
    /// Procedure 1 parameters.
    #[serde(default)]
    pub procedure1: Option<Procedure1Parameters>,
    /// Procedure 2 parameters.
    #[serde(default)]
    pub procedure2: Option<Procedure2Parameters>,
    /// Procedure 4 parameters.
    #[serde(default)]
    pub procedure4: Option<Procedure4Parameters>,
}

impl Module {
    /// Parse and check a module file's text.
    pub fn from_toml(text: &str) -> Result<Module, AnalysisError> {
        let m: Module = toml::from_str(text)
            .map_err(|e| AnalysisError::Invalid(e.to_string().trim_end().to_string()))?;
        if m.cells_in_series == 0 {
            return Err(AnalysisError::Invalid(
                "cells_in_series must be at least 1".into(),
            ));
        }
        if m.alpha_isc.is_none() && (m.alpha_isc_rel.is_none() || m.isc_stc.is_none()) {
            return Err(AnalysisError::Invalid(
                "give alpha_isc [A/K], or alpha_isc_rel [1/K] with isc_stc [A]".into(),
            ));
        }
        if m.beta_voc.is_none() && (m.beta_voc_rel.is_none() || m.voc_stc.is_none()) {
            return Err(AnalysisError::Invalid(
                "give beta_voc [V/K], or beta_voc_rel [1/K] with voc_stc [V]".into(),
            ));
        }
        Ok(m)
    }

    /// α [A/K].
    pub fn alpha(&self) -> f64 {
        self.alpha_isc
            .or_else(|| Some(self.alpha_isc_rel? * self.isc_stc?))
            .unwrap_or(0.0)
    }

    /// β [V/K].
    pub fn beta(&self) -> f64 {
        self.beta_voc
            .or_else(|| Some(self.beta_voc_rel? * self.voc_stc?))
            .unwrap_or(0.0)
    }

    /// α_rel [1/K] (from α / Isc,STC when only the absolute value is given).
    pub fn alpha_rel(&self) -> Result<f64, AnalysisError> {
        self.alpha_isc_rel
            .or_else(|| Some(self.alpha_isc? / self.isc_stc?))
            .ok_or_else(|| {
                AnalysisError::Invalid(
                    "procedure 2 needs alpha_isc_rel, or alpha_isc with isc_stc".into(),
                )
            })
    }

    /// β_rel [1/K].
    pub fn beta_rel(&self) -> Result<f64, AnalysisError> {
        self.beta_voc_rel
            .or_else(|| Some(self.beta_voc? / self.voc_stc?))
            .ok_or_else(|| {
                AnalysisError::Invalid(
                    "procedure 2 needs beta_voc_rel, or beta_voc with voc_stc".into(),
                )
            })
    }
}
