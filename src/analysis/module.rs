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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Procedure1Parameters {
    /// Internal series resistance Rs [Ω] (a fitting parameter, not the single-diode Rs).
    pub rs: f64,
    /// Curve correction factor κ [Ω/K].
    pub kappa: f64,
    /// u(Rs) [Ω], standard uncertainty from the parameters' determination.
    #[serde(default)]
    pub u_rs: Option<f64>,
    /// u(κ) [Ω/K].
    #[serde(default)]
    pub u_kappa: Option<f64>,
    /// IEC 60891 model error: relative half-width per W/m² of |G − G_target| [1/(W/m²)]
    /// (from the residual spread of the parameter fit over its span).
    #[serde(default)]
    pub model_error_irradiance: Option<f64>,
    /// … and per kelvin of |T − T_target| [1/K].
    #[serde(default)]
    pub model_error_temperature: Option<f64>,
    /// Where the values came from: "datasheet", "iec60891-params run ID", "standard default".
    #[serde(default)]
    pub source: Option<String>,
}

/// `[procedure2]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
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
    /// u(a) [1].
    #[serde(default)]
    pub u_a: Option<f64>,
    /// u(R's) [Ω].
    #[serde(default)]
    pub u_rs: Option<f64>,
    /// u(κ') [Ω/K].
    #[serde(default)]
    pub u_kappa: Option<f64>,
    /// IEC 60891 model error: relative half-width per W/m² of |G − G_target| [1/(W/m²)]
    /// (from the residual spread of the parameter fit over its span).
    #[serde(default)]
    pub model_error_irradiance: Option<f64>,
    /// … and per kelvin of |T − T_target| [1/K].
    #[serde(default)]
    pub model_error_temperature: Option<f64>,
    /// Where the values came from.
    #[serde(default)]
    pub source: Option<String>,
}

/// `[procedure4]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Procedure4Parameters {
    /// Extrapolated band-gap voltage per cell ε [V] (c-Si 1.232 V, as in `ivcorrection`).
    #[serde(default = "default_epsilon")]
    pub epsilon: f64,
    /// Rs [Ω]; defaults to procedure 1's.
    #[serde(default)]
    pub rs: Option<f64>,
    /// u(ε) [V].
    #[serde(default)]
    pub u_epsilon: Option<f64>,
    /// u(Rs) [Ω]; defaults to procedure 1's with its Rs.
    #[serde(default)]
    pub u_rs: Option<f64>,
    /// IEC 60891 model error: relative half-width per W/m² of |G − G_target| [1/(W/m²)]
    /// (from the residual spread of the parameter fit over its span).
    #[serde(default)]
    pub model_error_irradiance: Option<f64>,
    /// … and per kelvin of |T − T_target| [1/K].
    #[serde(default)]
    pub model_error_temperature: Option<f64>,
    /// Where the values came from.
    #[serde(default)]
    pub source: Option<String>,
}

/// `[temperature]`: cell temperature from the back-of-module sensors,
/// `T_cell = T_back + (G_POA / 1000 W/m²)·ΔT` (King, Boyson, Kratochvil, SAND2004-3535, the
/// Sandia array performance model; pvlib `temperature.sapm_cell_from_module`; standards.md
/// §12.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackToCell {
    /// ΔT at 1000 W/m² [K] (SAPM: 3 K open-rack glass/cell/polymer sheet and glass/cell/glass,
    /// 1 K close-roof glass/glass, 0 K insulated back).
    pub delta_t: f64,
    /// Half-width of its rectangular uncertainty at 1000 W/m² [K] (standards.md §12.2: its own
    /// size unless measured for the module type).
    pub half_width: f64,
    /// Where ΔT came from.
    pub source: String,
}

/// `[angular_response]`: Martin & Ruiz (2001) incidence-angle modifier
/// `IAM(θ) = (1 − exp(−cos θ / a_r)) / (1 − exp(−1 / a_r))` (standards.md §12.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AngularResponse {
    /// Angular losses coefficient a_r [1] (pvlib default 0.16 for glass).
    pub a_r: f64,
    /// u(a_r) [1].
    pub u_a_r: f64,
    /// Where a_r came from.
    pub source: String,
}

/// `[mismatch]`: the spectral mismatch factor to apply when no spectrum is measured
/// (IEC 60904-7), against the station's reference device type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatedMismatch {
    /// SMM [1].
    pub smm: f64,
    /// u(SMM) [1].
    pub u: f64,
    /// Where it came from.
    pub source: String,
}

fn default_epsilon() -> f64 {
    1.232
}

/// Module files shipped with pvstation (`instruments/modules/NAME.toml`), by name: the
/// simulated stations' modules under test.
pub const BUILT_IN: [(&str, &str); 2] = [
    (
        "cs5p-220m",
        include_str!("../../instruments/modules/cs5p-220m.toml"),
    ),
    (
        "fs-4117-3",
        include_str!("../../instruments/modules/fs-4117-3.toml"),
    ),
];

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
    /// Rated tolerance of the nameplate Pmax, ± as a fraction of it [1] (0.03 = ±3 %).
    #[serde(default)]
    pub tolerance: Option<f64>,
    /// Cell technology as the certificate names it ("mono-Si", "CdTe", …).
    #[serde(default)]
    pub technology: Option<String>,
    /// u(α) [A/K] (or with `alpha_isc_rel`: u(α_rel) [1/K]), standard uncertainty.
    #[serde(default)]
    pub u_alpha_isc: Option<f64>,
    /// u(β) [V/K] (or with `beta_voc_rel`: u(β_rel) [1/K]).
    #[serde(default)]
    pub u_beta_voc: Option<f64>,
    /// Where α and β came from.
    #[serde(default)]
    pub coefficients_source: Option<String>,
    /// u(Voc at STC) [V] (the equivalent cell temperature's reference point).
    #[serde(default)]
    pub u_voc_stc: Option<f64>,
    /// Diode ideality factor per cell n [1] (equivalent cell temperature, IEC 60904-5).
    #[serde(default)]
    pub ideality: Option<f64>,
    /// u(n) [1].
    #[serde(default)]
    pub u_ideality: Option<f64>,
    /// Back-of-module to cell temperature model.
    #[serde(default)]
    pub temperature: Option<BackToCell>,
    /// Angular response of the module (its front glass).
    #[serde(default)]
    pub angular_response: Option<AngularResponse>,
    /// Spectral mismatch factor for stations without a spectroradiometer.
    #[serde(default)]
    pub mismatch: Option<StatedMismatch>,
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
        let nonnegative = |key: &str, value: Option<f64>| {
            within(key, value, 0.0, 1e6, "must be a standard uncertainty ≥ 0")
        };
        for (key, value) in [
            ("u_alpha_isc", self.u_alpha_isc),
            ("u_beta_voc", self.u_beta_voc),
            ("u_voc_stc", self.u_voc_stc),
            ("u_ideality", self.u_ideality),
            (
                "procedure1.u_rs",
                self.procedure1.as_ref().and_then(|p| p.u_rs),
            ),
            (
                "procedure1.u_kappa",
                self.procedure1.as_ref().and_then(|p| p.u_kappa),
            ),
            (
                "procedure2.u_a",
                self.procedure2.as_ref().and_then(|p| p.u_a),
            ),
            (
                "procedure2.u_rs",
                self.procedure2.as_ref().and_then(|p| p.u_rs),
            ),
            (
                "procedure2.u_kappa",
                self.procedure2.as_ref().and_then(|p| p.u_kappa),
            ),
            (
                "procedure4.u_epsilon",
                self.procedure4.as_ref().and_then(|p| p.u_epsilon),
            ),
            (
                "procedure4.u_rs",
                self.procedure4.as_ref().and_then(|p| p.u_rs),
            ),
            (
                "angular_response.u_a_r",
                self.angular_response.as_ref().map(|a| a.u_a_r),
            ),
            ("mismatch.u", self.mismatch.as_ref().map(|m| m.u)),
            (
                "temperature.half_width",
                self.temperature.as_ref().map(|t| t.half_width),
            ),
        ] {
            nonnegative(key, value)?;
        }
        within(
            "tolerance",
            self.tolerance,
            0.0,
            0.5,
            "must be a fraction of the rating within 0–0.5 (0.03 = ±3 %) — a percentage? divide by 100",
        )?;
        within(
            "ideality",
            self.ideality,
            0.5,
            5.0,
            "must lie within 0.5–5 (a diode ideality factor per cell, c-Si ≈ 1.0–1.3)",
        )?;
        within(
            "temperature.delta_t",
            self.temperature.as_ref().map(|t| t.delta_t),
            0.0,
            20.0,
            "must lie within 0–20 K (cell minus back of module at 1000 W/m²; SAPM open rack 3 K)",
        )?;
        within(
            "angular_response.a_r",
            self.angular_response.as_ref().map(|a| a.a_r),
            0.01,
            1.0,
            "must lie within 0.01–1 (Martin–Ruiz a_r; glass ≈ 0.16)",
        )?;
        within(
            "mismatch.smm",
            self.mismatch.as_ref().map(|m| m.smm),
            0.5,
            1.5,
            "must lie within 0.5–1.5 (a spectral mismatch factor)",
        )?;
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

    /// The standard uncertainties of `method`'s parameters in the order of
    /// [`Method::parameters`], and where the values came from, for an uncertainty budget.
    /// Every u must be in the module file: a missing one is named, never assumed.
    pub fn parameter_uncertainties(
        &self,
        method: &super::iec60891::Method,
    ) -> Result<(Vec<f64>, String), AnalysisError> {
        use super::iec60891::Method;
        let need = |key: &str, value: Option<f64>| {
            value.ok_or_else(|| {
                AnalysisError::Invalid(format!(
                    "module `{}` gives no {key}: an uncertainty budget needs the standard uncertainty of every correction parameter (add it to the module file)",
                    self.name
                ))
            })
        };
        // u(α), u(β) as stated, converted to the form the method uses.
        let u_alpha_abs = || -> Result<f64, AnalysisError> {
            let u = need("u_alpha_isc", self.u_alpha_isc)?;
            Ok(match (self.alpha_isc, self.isc_stc) {
                (None, Some(isc)) => u * isc,
                _ => u,
            })
        };
        let u_beta_abs = || -> Result<f64, AnalysisError> {
            let u = need("u_beta_voc", self.u_beta_voc)?;
            Ok(match (self.beta_voc, self.voc_stc) {
                (None, Some(voc)) => u * voc,
                _ => u,
            })
        };
        let relative = |u: f64, of: Option<f64>, key: &str| -> Result<f64, AnalysisError> {
            Ok(u / need(key, of)?)
        };
        let coefficients = self
            .coefficients_source
            .clone()
            .unwrap_or_else(|| "not stated".into());
        let source = |table: Option<&String>| {
            format!(
                "α, β: {coefficients}; correction parameters: {}",
                table.map(String::as_str).unwrap_or("not stated")
            )
        };
        match method {
            Method::P1 { .. } => {
                let p = self.procedure1.as_ref();
                Ok((
                    vec![
                        u_alpha_abs()?,
                        u_beta_abs()?,
                        need("procedure1.u_rs", p.and_then(|p| p.u_rs))?,
                        need("procedure1.u_kappa", p.and_then(|p| p.u_kappa))?,
                    ],
                    source(p.and_then(|p| p.source.as_ref())),
                ))
            }
            Method::P2Ed2 { .. } | Method::P2Ed3 { .. } => {
                let p = self.procedure2.as_ref();
                let mut u = vec![
                    relative(u_alpha_abs()?, self.isc_stc, "isc_stc")?,
                    relative(u_beta_abs()?, self.voc_stc, "voc_stc")?,
                ];
                if matches!(method, Method::P2Ed3 { .. }) {
                    return Err(AnalysisError::Invalid(
                        "the budget of the Ed. 3 procedure 2 (b1, b2) is not modelled: give `a` (Ed. 2 form) in [procedure2]".into(),
                    ));
                }
                u.extend([
                    need("procedure2.u_a", p.and_then(|p| p.u_a))?,
                    need("procedure2.u_rs", p.and_then(|p| p.u_rs))?,
                    need("procedure2.u_kappa", p.and_then(|p| p.u_kappa))?,
                ]);
                Ok((u, source(p.and_then(|p| p.source.as_ref()))))
            }
            Method::P4 { .. } => {
                let p = self.procedure4.as_ref();
                let u_rs = p
                    .and_then(|p| p.u_rs)
                    .or_else(|| self.procedure1.as_ref().and_then(|p| p.u_rs));
                Ok((
                    vec![
                        u_alpha_abs()?,
                        need("procedure4.u_epsilon", p.and_then(|p| p.u_epsilon))?,
                        need("procedure4.u_rs (or procedure1.u_rs)", u_rs)?,
                    ],
                    source(p.and_then(|p| p.source.as_ref())),
                ))
            }
        }
    }

    /// The IEC 60891 model error coefficients of procedure `procedure` (per W/m², per K), when
    /// the module file states them.
    pub fn model_error(&self, procedure: u8) -> Option<(f64, f64)> {
        let (g, t) = match procedure {
            1 => self
                .procedure1
                .as_ref()
                .map(|p| (p.model_error_irradiance, p.model_error_temperature))?,
            2 => self
                .procedure2
                .as_ref()
                .map(|p| (p.model_error_irradiance, p.model_error_temperature))?,
            4 => self
                .procedure4
                .as_ref()
                .map(|p| (p.model_error_irradiance, p.model_error_temperature))?,
            _ => return None,
        };
        Some((g?, t?))
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
