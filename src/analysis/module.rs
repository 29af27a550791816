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
//! [spectral_response]         # relative, for the spectral mismatch (IEC 60904-7)
//! wavelength = [300.0, 310.0, …]   # nm
//! value = [0.05, 0.08, …]
//! u_relative = 0.01           # relative standard uncertainty of each value
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

/// Module files shipped with pvstation (`instruments/modules/NAME.toml`), by name: the
/// simulated stations' modules under test.
pub const BUILT_IN: [(&str, &str); 1] = [(
    "cs5p-220m",
    include_str!("../../instruments/modules/cs5p-220m.toml"),
)];

/// A module file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Module {
    /// Module type as the manufacturer names it (report and DCC item).
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
    /// Relative spectral responsivity (spectral mismatch, IEC 60904-7).
    #[serde(default)]
    pub spectral_response: Option<crate::model::spectrum::ResponseTable>,
}

impl Module {
    /// The built-in module file `name`, parsed.
    pub fn built_in(name: &str) -> Option<Result<Module, AnalysisError>> {
        BUILT_IN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, text)| Module::from_toml(text))
    }

    /// Parse and check a module file's text.
    pub fn from_toml(text: &str) -> Result<Module, AnalysisError> {
        let m: Module = toml::from_str(text)
            .map_err(|e| AnalysisError::Invalid(e.to_string().trim_end().to_string()))?;
        m.check_ranges()?;
        if let Some(sr) = &m.spectral_response {
            sr.check()
                .map_err(|e| AnalysisError::Invalid(format!("spectral_response: {e}")))?;
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

    /// Every number within its physical range, the key named when not (a NaN, an infinity or a
    /// negative resistance would otherwise surface later as "the translated curve: only 0
    /// point(s)", or worse as a result). The ranges are wide: they catch impossible values,
    /// not unusual modules.
    fn check_ranges(&self) -> Result<(), AnalysisError> {
        let bad = |key: &str, value: f64, want: &str| {
            AnalysisError::Invalid(format!("{key} = {}: {want}", crate::model::shown(value)))
        };
        let within = |key: &str, value: Option<f64>, lo: f64, hi: f64, want: &str| match value {
            Some(v) if !(v.is_finite() && v >= lo && v <= hi) => Err(bad(key, v, want)),
            _ => Ok(()),
        };
        if !(1..=10_000).contains(&self.cells_in_series) {
            return Err(AnalysisError::Invalid(format!(
                "cells_in_series = {}: must be 1 to 10000",
                self.cells_in_series
            )));
        }
        within(
            "isc_stc",
            self.isc_stc,
            f64::MIN_POSITIVE,
            1e3,
            "must be a positive current [A] (Isc at STC)",
        )?;
        within(
            "voc_stc",
            self.voc_stc,
            f64::MIN_POSITIVE,
            1e4,
            "must be a positive voltage [V] (Voc at STC)",
        )?;
        within(
            "p_mp_stc",
            self.p_mp_stc,
            f64::MIN_POSITIVE,
            1e6,
            "must be a positive power [W] (nameplate Pmax)",
        )?;
        // Isc grows slightly with temperature (c-Si +0.05 %/K, thin film up to ~0.1 %/K).
        within(
            "alpha_isc_rel",
            self.alpha_isc_rel,
            -0.01,
            0.01,
            "must lie within ±0.01 1/K (±1 %/K; c-Si ≈ +0.0005 1/K) — a percentage? divide by 100",
        )?;
        within(
            "alpha_isc",
            self.alpha_isc,
            -1.0,
            1.0,
            "must lie within ±1 A/K (c-Si ≈ +0.0005·Isc per K)",
        )?;
        // Voc falls with temperature: β < 0 (c-Si ≈ −0.3 %/K).
        within(
            "beta_voc_rel",
            self.beta_voc_rel,
            -0.02,
            -1e-6,
            "must be negative, within −0.02 1/K (c-Si ≈ −0.003 1/K) — a percentage? divide by 100",
        )?;
        within(
            "beta_voc",
            self.beta_voc,
            -100.0,
            -1e-9,
            "must be negative [V/K] (Voc falls as the module warms; c-Si ≈ −0.0023 V/K per cell)",
        )?;
        if let Some(p) = &self.procedure1 {
            within(
                "procedure1.rs",
                Some(p.rs),
                0.0,
                1e3,
                "must be ≥ 0 Ω (an internal series resistance)",
            )?;
            within(
                "procedure1.kappa",
                Some(p.kappa),
                -1.0,
                1.0,
                "must lie within ±1 Ω/K (a curve correction factor, typically 0.001–0.02 Ω/K)",
            )?;
        }
        if let Some(p) = &self.procedure2 {
            within(
                "procedure2.a",
                p.a,
                -1.0,
                1.0,
                "must lie within ±1 (an irradiance correction factor, typically 0.03–0.07)",
            )?;
            within(
                "procedure2.b1",
                p.b1,
                -10.0,
                10.0,
                "must be a finite coefficient within ±10",
            )?;
            within(
                "procedure2.b2",
                p.b2,
                -10.0,
                10.0,
                "must be a finite coefficient within ±10",
            )?;
            within(
                "procedure2.rs",
                Some(p.rs),
                0.0,
                1e3,
                "must be ≥ 0 Ω (an internal series resistance R's)",
            )?;
            within(
                "procedure2.kappa",
                Some(p.kappa),
                -1.0,
                1.0,
                "must lie within ±1 Ω/K (κ')",
            )?;
        }
        if let Some(p) = &self.procedure4 {
            within(
                "procedure4.epsilon",
                Some(p.epsilon),
                0.1,
                5.0,
                "must lie within 0.1–5 V per cell (c-Si 1.232 V)",
            )?;
            within("procedure4.rs", p.rs, 0.0, 1e3, "must be ≥ 0 Ω")?;
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "name = \"M\"\ncells_in_series = 96\nalpha_isc = 0.004539\nbeta_voc = -0.222156\nisc_stc = 5.1\nvoc_stc = 59.4\n[procedure1]\nrs = 1.29\nkappa = 0.0093\n[procedure4]\nepsilon = 1.232\n";

    /// Regression (issue 11, defect 10): these were accepted and failed later (or gave
    /// results).
    #[test]
    fn impossible_values_are_refused_naming_the_key() {
        Module::from_toml(BASE).expect("valid");
        for (from, to, key) in [
            ("alpha_isc = 0.004539", "alpha_isc = nan", "alpha_isc = NaN"),
            ("beta_voc = -0.222156", "beta_voc = inf", "beta_voc = inf"),
            (
                "beta_voc = -0.222156",
                "beta_voc = 0.2",
                "beta_voc = 0.2: must be negative",
            ),
            ("rs = 1.29", "rs = -1e308", "procedure1.rs = -1e308"),
            ("epsilon = 1.232", "epsilon = 0", "procedure4.epsilon = 0"),
            ("isc_stc = 5.1", "isc_stc = -5.1", "isc_stc = -5.1"),
            (
                "cells_in_series = 96",
                "cells_in_series = 0",
                "cells_in_series = 0",
            ),
        ] {
            let text = BASE.replace(from, to);
            let err = Module::from_toml(&text).expect_err(to).to_string();
            assert!(err.contains(key), "{to}: {err}");
        }
    }
}
