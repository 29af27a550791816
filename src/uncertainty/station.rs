//! The station's measurement models with their inputs:
//! 1. Pmax at STC of a module measured outdoors, propagated through the *whole* chain for every
//!    trial: irradiance from the reference cell (CV, shunt, DMM, cell temperature and
//!    coefficient, spectral mismatch, instability), module temperature (sensor, non-uniformity,
//!    back-of-module vs cell), the I-V tracer's voltage and current errors applied to every
//!    point, the IEC 60891 procedure-1 parameters α, β, Rs, κ, the maximum-power fit residual and
//!    the repeatability of repeated sweeps; each trial translates the perturbed curve and
//!    re-extracts Pmax (standards.md §6.4).
//! 2. A battery internal-resistance tester calibration point: resistance against a standard
//!    resistor, and DC voltage against a calibrator.
//!
//! Accuracy specifications "±(a % of reading + b % of range)" are rectangular half-widths
//! (JCGM 100 4.3.7); certificates give normal distributions with u = U/k.

use std::cell::RefCell;

use serde::{Deserialize, Serialize};

use super::{Distribution, Input, Problem, UncertaintyError};
use crate::analysis::curve::{IvData, rectify_into};
use crate::analysis::extract::{ExtractOptions, Workspace, axes, extract, extract_in};
use crate::analysis::iec60891::{Conditions, Method, correct_point};
use crate::analysis::irradiance::irradiance_from_reference;

/// A model function as the GUM and Monte Carlo evaluate it.
pub type BoxedModel = Box<dyn Fn(&[f64]) -> Result<f64, String> + Sync + Send>;

/// An accuracy specification ±(reading·|x| + range·full_scale).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    /// Fraction of reading [1].
    pub reading: f64,
    /// Fraction of range [1].
    pub range: f64,
    /// Full scale of the range used [unit of x].
    pub full_scale: f64,
}

impl Spec {
    /// Half-width of the rectangular distribution at reading `x`.
    pub fn half_width(&self, x: f64) -> f64 {
        self.reading * x.abs() + self.range * self.full_scale
    }
}

/// The quantity at STC a model evaluates (IEC 60904-1:2020 clause 8 parameters of the I-V
/// curve, extracted as ASTM E1036-15 does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StcQuantity {
    /// Maximum power Pmax [W].
    #[default]
    PMp,
    /// Short-circuit current Isc [A].
    ISc,
    /// Open-circuit voltage Voc [V].
    VOc,
    /// Current at maximum power Impp [A].
    IMp,
    /// Voltage at maximum power Vmpp [V].
    VMp,
    /// Fill factor FF [1].
    Ff,
}

impl StcQuantity {
    /// All of them, Pmax first.
    pub const ALL: [StcQuantity; 6] = [
        StcQuantity::PMp,
        StcQuantity::ISc,
        StcQuantity::VOc,
        StcQuantity::IMp,
        StcQuantity::VMp,
        StcQuantity::Ff,
    ];

    /// Its unit symbol.
    pub fn unit(self) -> &'static str {
        match self {
            StcQuantity::PMp => "W",
            StcQuantity::ISc | StcQuantity::IMp => "A",
            StcQuantity::VOc | StcQuantity::VMp => "V",
            StcQuantity::Ff => "1",
        }
    }

    /// Its value among extracted parameters.
    pub fn of(self, p: &crate::analysis::extract::IvParameters) -> f64 {
        match self {
            StcQuantity::PMp => p.p_mp,
            StcQuantity::ISc => p.i_sc,
            StcQuantity::VOc => p.v_oc,
            StcQuantity::IMp => p.i_mp,
            StcQuantity::VMp => p.v_mp,
            StcQuantity::Ff => p.ff,
        }
    }

    /// Whether the maximum-power fit residual enters it: Pmax and FF = Pmax/(Isc·Voc) carry the
    /// quartic fit's residual; Isc and Voc come from line fits near the axes, and Impp/Vmpp
    /// from the location of the maximum, whose residual term is not modelled [U].
    fn carries_mp_fit(self) -> bool {
        matches!(self, StcQuantity::PMp | StcQuantity::Ff)
    }
}

/// Everything the Pmax-at-STC model needs (values and standard uncertainties in SI units).
#[derive(Debug, Clone, Serialize)]
pub struct PmaxSetup {
    /// The measured curve (generator convention).
    pub curve: IvData,
    /// Target conditions (STC).
    pub to: Conditions,
    /// The IEC 60891 procedure (1, 2 or 4) with its parameters' estimates.
    pub method: Method,
    /// Standard uncertainties of the procedure's parameters, in the order of
    /// [`Method::parameters`] (P1: α [A/K], β [V/K], Rs [Ω], κ [Ω/K]).
    pub u_parameters: Vec<f64>,
    /// Mean reference-cell shunt voltage during the sweep [V].
    pub shunt_voltage: f64,
    /// DMM specification for the shunt voltage.
    pub dmm: Spec,
    /// Reference-cell calibration value CV [A] and its standard uncertainty.
    pub cv: f64,
    /// u(CV) [A].
    pub u_cv: f64,
    /// Drift of the reference since its calibration: half-width of a rectangular relative
    /// change [1] (0: none stated; the input is then left out).
    #[serde(default)]
    pub cv_drift: f64,
    /// The relative change of the irradiance the drift predicts, applied as a correction
    /// ([`crate::instruments::station::Drift::correction`]; 0: not applied).
    #[serde(default)]
    pub cv_drift_correction: f64,
    /// Shunt resistance [Ω] and its standard uncertainty.
    pub r_shunt: f64,
    /// u(R_shunt) [Ω].
    pub u_r_shunt: f64,
    /// Reference-cell α_rel [1/K] and its standard uncertainty.
    pub alpha_ref: f64,
    /// u(α_rel).
    pub u_alpha_ref: f64,
    /// Reference-cell temperature [°C] and its standard uncertainty.
    pub t_ref: f64,
    /// u(T_ref) [K].
    pub u_t_ref: f64,
    /// Spectral mismatch factor and its standard uncertainty (SMM = 1 still has one).
    pub smm: f64,
    /// Standard uncertainty of the spectral mismatch factor [1].
    pub u_smm: f64,
    /// Irradiance instability during the sweep: relative half-width [1].
    pub irradiance_instability: f64,
    /// Mean module (back-of-module sensor) temperature [°C].
    pub module_temperature: f64,
    /// Sensor calibration standard uncertainty [K].
    pub u_temperature_sensor: f64,
    /// Non-uniformity over the module: half-width [K].
    pub temperature_nonuniformity: f64,
    /// Cell minus back-of-module temperature: estimate [K].
    pub back_to_cell: f64,
    /// … and its half-width [K].
    pub back_to_cell_half_width: f64,
    /// I-V tracer voltage specification.
    pub tracer_voltage: Spec,
    /// I-V tracer current specification.
    pub tracer_current: Spec,
    /// The quantity evaluated (Pmax unless said otherwise).
    #[serde(default)]
    pub quantity: StcQuantity,
    /// The quantity at STC from repeated sweeps, in its unit (Type A repeatability; fewer
    /// than 2 = none).
    pub repeated: Vec<f64>,
    /// Further influences, each a relative change of the irradiance or of the result, or an
    /// additive change of the cell temperature (linearity, non-uniformity, coplanarity, angular
    /// response, IEC 60891 model error, forward/reverse disagreement…; standards.md §12.1).
    #[serde(default)]
    pub influences: Vec<Influence>,
    /// Where each standard input came from, by input name (shown in the budget).
    #[serde(default)]
    pub sources: std::collections::BTreeMap<String, String>,
}

/// What an [`Influence`] changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActsOn {
    /// The irradiance of the translation, relatively: G·(1 + x).
    Irradiance,
    /// The cell temperature of the translation, additively: T + x [K].
    Temperature,
    /// The result, relatively: y·(1 + x).
    Result,
}

/// A further input of the outdoor budget: its estimate (a correction applied; zero when none
/// is) with a rectangular half-width or a normal standard uncertainty around it, and its
/// source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Influence {
    /// Input name as the budget lists it.
    pub name: String,
    /// What it changes.
    pub acts_on: ActsOn,
    /// Rectangular half-width (relative, or K for the temperature).
    #[serde(default)]
    pub half_width: Option<f64>,
    /// Normal standard uncertainty (relative, or K for the temperature).
    #[serde(default)]
    pub u: Option<f64>,
    /// The correction applied (relative, or K for the temperature); 0 when not given. The
    /// procedure applies the same correction to what it reports, so the model and the result
    /// agree.
    #[serde(default)]
    pub estimate: Option<f64>,
    /// Where it came from.
    pub source: String,
}

impl Influence {
    fn input(&self) -> Result<Input, UncertaintyError> {
        let distribution = match (self.half_width, self.u) {
            (Some(w), None) if w.is_finite() && w >= 0.0 => {
                Distribution::Rectangular { half_width: w }
            }
            (None, Some(u)) if u.is_finite() && u >= 0.0 => Distribution::Normal { u },
            _ => {
                return Err(UncertaintyError::Input {
                    input: self.name.clone(),
                    problem:
                        "give either `half_width` (rectangular) or `u` (normal), finite and ≥ 0"
                            .into(),
                });
            }
        };
        Ok(Input {
            unit: Some(
                if self.acts_on == ActsOn::Temperature {
                    "K"
                } else {
                    "1"
                }
                .into(),
            ),
            source: Some(self.source.clone()),
            ..Input::new(&self.name, self.estimate.unwrap_or(0.0), distribution)
        })
    }
}

struct Buffers {
    v: Vec<f64>,
    i: Vec<f64>,
    rv: Vec<f64>,
    ri: Vec<f64>,
    tv: Vec<f64>,
    ti: Vec<f64>,
    ws: Workspace,
}

thread_local! {
    static BUFFERS: RefCell<Buffers> = RefCell::new(Buffers {
        v: Vec::new(), i: Vec::new(), rv: Vec::new(), ri: Vec::new(), tv: Vec::new(), ti: Vec::new(), ws: Workspace::default(),
    });
}

/// The Pmax-at-STC model: `problem()` gives the inputs, `eval` one evaluation.
#[derive(Debug, Clone)]
pub struct PmaxModel {
    setup: PmaxSetup,
    problem: Problem,
    /// Number of correction parameters (inputs 14 … 14 + m − 1).
    m: usize,
    /// Index of the first [`Influence`] input.
    first_influence: usize,
}

impl PmaxModel {
    /// Build the model and its inputs.
    pub fn new(setup: PmaxSetup) -> Result<PmaxModel, UncertaintyError> {
        let measured = extract(&setup.curve).map_err(|e| UncertaintyError::Model {
            at: "on the measured curve".into(),
            problem: e.to_string(),
        })?;
        let (vmax, imax) = setup
            .curve
            .voltage
            .iter()
            .zip(&setup.curve.current)
            .fold((0.0f64, 0.0f64), |(a, b), (v, i)| {
                (a.max(v.abs()), b.max(i.abs()))
            });
        let rect = |name: &str, value: f64, half_width: f64| {
            Input::new(name, value, Distribution::Rectangular { half_width })
        };
        let normal =
            |name: &str, value: f64, u: f64| Input::new(name, value, Distribution::Normal { u });
        let s = &setup;
        let repeatability = if s.repeated.len() >= 2 {
            let mean = s.repeated.iter().sum::<f64>() / s.repeated.len() as f64;
            let rel: Vec<f64> = s.repeated.iter().map(|p| p / mean - 1.0).collect();
            Input::type_a("repeatability", &rel)?
        } else {
            normal("repeatability", 0.0, 0.0)
        };
        let repeatability = Input {
            value: 0.0,
            ..repeatability
        };
        let inputs = vec![
            normal("cv", s.cv, s.u_cv),
            normal("r_shunt", s.r_shunt, s.u_r_shunt),
            rect("dmm_shunt_voltage", 0.0, s.dmm.half_width(s.shunt_voltage)),
            normal("alpha_ref", s.alpha_ref, s.u_alpha_ref),
            normal("t_ref", s.t_ref, s.u_t_ref),
            normal("smm", s.smm, s.u_smm),
            rect("irradiance_instability", 0.0, s.irradiance_instability),
            normal("t_sensor", 0.0, s.u_temperature_sensor),
            rect("t_nonuniformity", 0.0, s.temperature_nonuniformity),
            rect("t_back_to_cell", s.back_to_cell, s.back_to_cell_half_width),
            rect("tracer_v_gain", 0.0, s.tracer_voltage.reading),
            rect(
                "tracer_v_offset",
                0.0,
                s.tracer_voltage.range * s.tracer_voltage.full_scale.max(vmax),
            ),
            rect("tracer_i_gain", 0.0, s.tracer_current.reading),
            rect(
                "tracer_i_offset",
                0.0,
                s.tracer_current.range * s.tracer_current.full_scale.max(imax),
            ),
        ];
        let parameters = s.method.parameters();
        if s.u_parameters.len() != parameters.len() {
            return Err(UncertaintyError::Invalid(format!(
                "procedure {} has {} parameters ({}); give as many standard uncertainties",
                s.method.number(),
                parameters.len(),
                parameters
                    .iter()
                    .map(|p| p.0)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let m = parameters.len();
        let mut inputs = inputs;
        for ((name, unit, value), u) in parameters.iter().zip(&s.u_parameters) {
            inputs.push(Input {
                unit: Some((*unit).to_string()),
                ..normal(name, *value, *u)
            });
        }
        inputs.extend([
            normal(
                "mp_fit",
                0.0,
                if s.quantity.carries_mp_fit() {
                    measured.mp_fit_residual / measured.p_mp
                } else {
                    0.0
                },
            ),
            repeatability,
            // The measured shunt voltage and module temperature as exact inputs (their
            // uncertainties are the DMM and sensor terms above).
            normal("shunt_voltage", s.shunt_voltage, 0.0),
            normal("module_temperature", s.module_temperature, 0.0),
        ]);
        // The reference's drift since calibration, when its history states one: a relative
        // change of its sensitivity, rectangular (Metro-PV 19ENG01; standards.md §12.1).
        if s.cv_drift > 0.0 {
            inputs.push(Input {
                unit: Some("1".into()),
                ..rect("cv_drift", s.cv_drift_correction, s.cv_drift)
            });
        }
        let units = [
            "A", "Ω", "V", "1/K", "°C", "1", "1", "K", "K", "K", "1", "V", "1", "A",
        ];
        for (input, unit) in inputs.iter_mut().zip(units) {
            input.unit = Some(unit.to_string());
        }
        for (input, unit) in inputs[14 + m..].iter_mut().zip(["1", "1", "V", "°C"]) {
            input.unit = Some(unit.to_string());
        }
        let first_influence = inputs.len();
        for influence in &s.influences {
            inputs.push(influence.input()?);
        }
        for input in &mut inputs {
            if let Some(source) = s.sources.get(&input.name) {
                input.source = Some(source.clone());
            }
        }
        Ok(PmaxModel {
            first_influence,
            problem: Problem {
                inputs,
                correlations: Vec::new(),
                probability: 0.95,
            },
            setup,
            m,
        })
    }

    /// The inputs (for GUM and Monte Carlo).
    pub fn problem(&self) -> &Problem {
        &self.problem
    }

    /// Irradiance [W/m²] and module cell temperature [°C] of a trial.
    pub fn conditions(&self, x: &[f64]) -> Conditions {
        let m = self.m;
        let shunt = x[16 + m] + x[2];
        let isc = shunt / x[1];
        let drift = if self.first_influence > 18 + m {
            x[18 + m]
        } else {
            0.0
        };
        let mut g =
            irradiance_from_reference(isc, x[0], x[3], x[4], x[5]) * (1.0 + x[6]) * (1.0 + drift);
        let mut t = x[17 + m] + x[7] + x[8] + x[9];
        for (influence, dx) in self.setup.influences.iter().zip(&x[self.first_influence..]) {
            match influence.acts_on {
                ActsOn::Irradiance => g *= 1.0 + dx,
                ActsOn::Temperature => t += dx,
                ActsOn::Result => {}
            }
        }
        Conditions {
            irradiance: g,
            temperature: t,
        }
    }

    /// The product of the relative changes of the result in a trial.
    fn result_factor(&self, x: &[f64]) -> f64 {
        self.setup
            .influences
            .iter()
            .zip(&x[self.first_influence..])
            .filter(|(i, _)| i.acts_on == ActsOn::Result)
            .map(|(_, dx)| 1.0 + dx)
            .product()
    }

    /// The quantity (Pmax unless the setup says otherwise) at the target conditions for input
    /// values `x` (order of [`PmaxModel::problem`]).
    pub fn eval(&self, x: &[f64]) -> Result<f64, String> {
        self.eval_branch(x).map(|(y, _)| y)
    }

    /// [`PmaxModel::eval`] and the translated curve's maximum-power window
    /// (`IvParameters::mp_window`): the branch for [`crate::uncertainty::gum_branches`], so
    /// that no sensitivity steps across a point entering or leaving the window.
    pub fn eval_branch(&self, x: &[f64]) -> Result<(f64, u64), String> {
        let from = self.conditions(x);
        if from.irradiance.is_nan() || from.irradiance <= 0.0 {
            return Err(format!(
                "irradiance {} W/m² is not positive",
                from.irradiance
            ));
        }
        let m = self.m;
        let method = self.setup.method.with_parameters(&x[14..14 + m]);
        let curve = &self.setup.curve;
        BUFFERS.with(|b| {
            let mut guard = b.borrow_mut();
            let Buffers {
                v,
                i,
                rv,
                ri,
                tv,
                ti,
                ws,
            } = &mut *guard;
            let n = curve.voltage.len().min(curve.current.len());
            v.resize(n, 0.0);
            i.resize(n, 0.0);
            let (gv, ov, gi, oi) = (1.0 + x[10], x[11], 1.0 + x[12], x[13]);
            for k in 0..n {
                v[k] = curve.voltage[k] * gv + ov;
                i[k] = curve.current[k] * gi + oi;
            }
            rectify_into(v, i, rv, ri);
            let options = ExtractOptions {
                diagnostics: false,
                ..ExtractOptions::default()
            };
            let measured = axes(rv, ri, &options).map_err(|e| e.to_string())?;
            tv.resize(n, 0.0);
            ti.resize(n, 0.0);
            for k in 0..n {
                let (i2, v2) = correct_point(
                    &method,
                    v[k],
                    i[k],
                    from.irradiance,
                    from.temperature,
                    self.setup.to,
                    measured.i_sc,
                    measured.v_oc,
                    from.irradiance,
                );
                tv[k] = v2;
                ti[k] = i2;
            }
            let p = extract_in(ws, tv, ti, &options).map_err(|e| e.to_string())?;
            let y = self.setup.quantity.of(&p)
                * (1.0 + x[14 + m])
                * (1.0 + x[15 + m])
                * self.result_factor(x);
            Ok((y, p.mp_window))
        })
    }
}

/// A resistance calibration point of a battery internal-resistance tester:
/// E = R_ind + δR_res − R_std·(1 + α_std·(T − T_cal)) − δR_drift [Ω].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResistancePoint {
    /// Tester readings [Ω] (Type A: mean, s/√n, n − 1).
    pub readings: Vec<f64>,
    /// Resolution of the tester at this range [Ω].
    pub resolution: f64,
    /// Standard resistor's certified value [Ω], expanded uncertainty [Ω] and k.
    pub standard: f64,
    /// U of the certificate [Ω].
    pub standard_expanded: f64,
    /// k of the certificate.
    pub standard_k: f64,
    /// Drift since calibration: half-width [Ω].
    pub drift: f64,
    /// Temperature coefficient of the standard [1/K] and its half-width.
    pub alpha_std: f64,
    /// Half-width of α_std [1/K].
    pub alpha_std_half_width: f64,
    /// Temperature during the measurement [°C] and its standard uncertainty.
    pub temperature: f64,
    /// u(T) [K].
    pub u_temperature: f64,
    /// Calibration temperature of the standard [°C].
    pub calibration_temperature: f64,
}

impl ResistancePoint {
    /// The problem and model of the error of indication.
    pub fn problem(&self) -> Result<(Problem, BoxedModel), UncertaintyError> {
        let reading = Input::type_a("reading", &self.readings)?;
        let inputs = vec![
            Input {
                unit: Some("Ω".into()),
                ..reading
            },
            Input {
                unit: Some("Ω".into()),
                ..Input::new(
                    "resolution",
                    0.0,
                    Distribution::Rectangular {
                        half_width: self.resolution / 2.0,
                    },
                )
            },
            Input {
                unit: Some("Ω".into()),
                ..Input::new(
                    "standard",
                    self.standard,
                    Distribution::Normal {
                        u: self.standard_expanded / self.standard_k,
                    },
                )
            },
            Input {
                unit: Some("Ω".into()),
                ..Input::new(
                    "drift",
                    0.0,
                    Distribution::Rectangular {
                        half_width: self.drift,
                    },
                )
            },
            Input {
                unit: Some("1/K".into()),
                ..Input::new(
                    "alpha_std",
                    self.alpha_std,
                    Distribution::Rectangular {
                        half_width: self.alpha_std_half_width,
                    },
                )
            },
            Input {
                unit: Some("°C".into()),
                ..Input::new(
                    "temperature",
                    self.temperature,
                    Distribution::Normal {
                        u: self.u_temperature,
                    },
                )
            },
        ];
        let t_cal = self.calibration_temperature;
        let model = move |x: &[f64]| -> Result<f64, String> {
            Ok(x[0] + x[1] - x[2] * (1.0 + x[4] * (x[5] - t_cal)) - x[3])
        };
        Ok((
            Problem {
                inputs,
                correlations: Vec::new(),
                probability: 0.95,
            },
            Box::new(model),
        ))
    }
}

/// A DC voltage calibration point: E = V_ind + δV_res − V_set·(1 + δ_cal) [V], with the
/// calibrator's specification ±(reading + range) as a rectangular δ_cal.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoltagePoint {
    /// Tester readings [V].
    pub readings: Vec<f64>,
    /// Resolution [V].
    pub resolution: f64,
    /// Calibrator setting [V].
    pub setting: f64,
    /// Calibrator specification.
    pub calibrator: Spec,
}

impl VoltagePoint {
    /// The problem and model of the error of indication.
    pub fn problem(&self) -> Result<(Problem, BoxedModel), UncertaintyError> {
        let reading = Input::type_a("reading", &self.readings)?;
        let relative =
            self.calibrator.half_width(self.setting) / self.setting.abs().max(f64::MIN_POSITIVE);
        let inputs = vec![
            Input {
                unit: Some("V".into()),
                ..reading
            },
            Input {
                unit: Some("V".into()),
                ..Input::new(
                    "resolution",
                    0.0,
                    Distribution::Rectangular {
                        half_width: self.resolution / 2.0,
                    },
                )
            },
            Input {
                unit: Some("V".into()),
                ..Input::new("setting", self.setting, Distribution::Normal { u: 0.0 })
            },
            Input {
                unit: Some("1".into()),
                ..Input::new(
                    "calibrator",
                    0.0,
                    Distribution::Rectangular {
                        half_width: relative,
                    },
                )
            },
        ];
        let model = |x: &[f64]| -> Result<f64, String> { Ok(x[0] + x[1] - x[2] * (1.0 + x[3])) };
        Ok((
            Problem {
                inputs,
                correlations: Vec::new(),
                probability: 0.95,
            },
            Box::new(model),
        ))
    }
}
