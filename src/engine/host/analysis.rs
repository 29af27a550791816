//! Pure analysis for scripts: ASTM E1036 extraction, IEC 60891 translation, forward/reverse
//! hysteresis, the station's GUM budgets, ILAC-G8 decisions, IEC 60891 parameter fits from
//! natural-sunlight series, and a few statistics. No activity: these are recomputed from the
//! journaled results on every run, resumed or verified.

use rhai::{Array, Dynamic, Engine, Map};
use serde::Deserialize;
use serde_json::{Value, json};

use super::args::{curve_arg, floats, from_dyn, gum_value, method, num, series_arg, to_dyn};
use super::{HostResult, fail};
use crate::analysis::curve::hysteresis;
use crate::analysis::extract::extract;
use crate::analysis::iec60891::{Conditions, translate_and_extract};
use crate::analysis::module::Module;
use crate::uncertainty::decision::{Rule, Tolerance, decide};
use crate::uncertainty::fits::{SeriesPoint, natural_sunlight_fit};
use crate::uncertainty::gum::{gum, gum_branches};
use crate::uncertainty::station::{
    Influence, PmaxModel, PmaxSetup, ResistancePoint, Spec, StcQuantity, VoltagePoint,
};
use crate::uncertainty::{McmOptions, mcm, validate};

/// `extract`, `translate`, `hysteresis`, `pmax_budget`, `resistance_budget`, `voltage_budget`,
/// `decide`, `fit_iec60891`, `mean`, `stdev`, `sqrt`, `stated`, `sig`.
pub(super) fn register(engine: &mut Engine) {
    engine.register_fn("extract", |curve: Map| -> HostResult<Dynamic> {
        let c = curve_arg(&Dynamic::from_map(curve))?;
        let p = extract(&c.data()).map_err(|e| e.to_string())?;
        to_dyn(&p)
    });
    engine.register_fn(
        "translate",
        |curve: Map, irradiance: Dynamic, temperature: Dynamic, m: Map| -> HostResult<Dynamic> {
            let c = curve_arg(&Dynamic::from_map(curve))?;
            let from = Conditions {
                irradiance: num("irradiance", &irradiance)?,
                temperature: num("temperature", &temperature)?,
            };
            let m = method(&Dynamic::from_map(m))?;
            let (t, p) = translate_and_extract(&c.data(), &m, Some(from), Conditions::STC)
                .map_err(|e| e.to_string())?;
            let mut out = serde_json::to_value(&p).unwrap_or_default();
            out["voltage"] = json!(t.data.voltage);
            out["current"] = json!(t.data.current);
            out["warnings"] = serde_json::to_value(&t.warnings).unwrap_or_default();
            out["from"] = json!(from);
            to_dyn(&out)
        },
    );
    engine.register_fn("hysteresis", |fwd: Map, rev: Map| -> HostResult<Dynamic> {
        let f = curve_arg(&Dynamic::from_map(fwd))?;
        let r = curve_arg(&Dynamic::from_map(rev))?;
        to_dyn(&hysteresis(&f.data(), &r.data()).map_err(|e| e.to_string())?)
    });
    engine.register_fn(
        "pmax_budget",
        |curve: Map, conditions: Map, m: Map, inputs: Map| -> HostResult<Dynamic> {
            let c = curve_arg(&Dynamic::from_map(curve))?;
            let cond: Value = rhai::serde::from_dynamic(&Dynamic::from_map(conditions))?;
            let m = method(&Dynamic::from_map(m))?;
            let i: PmaxInputs = from_dyn("pmax_budget inputs", &Dynamic::from_map(inputs))?;
            let get = |k: &str| -> HostResult<f64> {
                cond.get(k)
                    .and_then(Value::as_f64)
                    .ok_or_else(|| format!("pmax_budget conditions: `{k}` missing").into())
            };
            let setup = PmaxSetup {
                curve: c.data(),
                to: Conditions::STC,
                method: m,
                u_parameters: i.u_parameters,
                shunt_voltage: get("shunt_voltage")?,
                dmm: i.dmm,
                cv: i.cv,
                u_cv: i.u_cv,
                cv_drift: i.cv_drift,
                cv_drift_correction: i.cv_drift_correction,
                r_shunt: i.r_shunt,
                u_r_shunt: i.u_r_shunt,
                alpha_ref: i.alpha_ref,
                u_alpha_ref: i.u_alpha_ref,
                t_ref: get("cell_temperature")?,
                u_t_ref: i.u_t_ref,
                smm: i.smm,
                u_smm: i.u_smm,
                irradiance_instability: get("irradiance_instability")?,
                module_temperature: get("module_temperature")?,
                u_temperature_sensor: i.u_temperature_sensor,
                temperature_nonuniformity: get("module_spread")? / 2.0,
                back_to_cell: i.back_to_cell,
                back_to_cell_half_width: i.back_to_cell_half_width,
                tracer_voltage: i.tracer_voltage,
                tracer_current: i.tracer_current,
                quantity: i.quantity,
                repeated: i.repeated_p_mp,
                influences: i.influences,
                sources: i.sources,
            };
            let model = PmaxModel::new(setup).map_err(|e| e.to_string())?;
            let r = gum_branches(model.problem(), &|x| model.eval_branch(x))
                .map_err(|e| e.to_string())?;
            let Some(digits) = i.mc_digits else {
                return gum_value(&r);
            };
            // JCGM 101 §8: the GUM result validated by the adaptive Monte Carlo method.
            let options = McmOptions {
                adaptive: Some(digits),
                seed: i.mc_seed,
                max_trials: i.mc_max_trials,
                ..McmOptions::default()
            };
            let mc = mcm(model.problem(), &|x| model.eval(x), &options)
                .map_err(|e| format!("Monte Carlo validation of the budget: {e}"))?;
            let (validated, d_low, d_high, delta) = validate(&r, &mc, digits);
            let mut out = serde_json::to_value(&r).map_err(|e| e.to_string())?;
            out["mcm"] = json!({
                "y": mc.y, "u": mc.u, "interval": mc.interval, "shortest": mc.shortest,
                "trials": mc.trials, "converged": mc.converged, "digits": digits,
                "validated": validated, "d_low": d_low, "d_high": d_high, "delta": delta,
                "method": "JCGM 101:2008 adaptive Monte Carlo (§7.9), GUM validation (§8)",
            });
            to_dyn(&out)
        },
    );
    // `spectral_mismatch(spectrum, dut_sr, ref_sr)`: SMM (IEC 60904-7) of a measured spectrum
    // (a `read_spectrum()` entry: wavelength, irradiance, u_tilt, u_point) for the DUT's and the
    // reference's spectral responses (wavelength, value, u_relative), with its standard
    // uncertainty by Monte Carlo over the spectral data (`uncertainty::spectral`).
    engine.register_fn(
        "spectral_mismatch",
        |spectrum: Map, dut: Map, reference: Map| -> HostResult<Dynamic> {
            use crate::analysis::irradiance::Spectrum;
            use crate::model::spectrum::ResponseTable;
            use crate::uncertainty::spectral::{SpectralErrors, mismatch_with_uncertainty};
            #[derive(Deserialize)]
            struct Measured {
                wavelength: Vec<f64>,
                irradiance: Vec<f64>,
                #[serde(default)]
                u_tilt: f64,
                #[serde(default)]
                u_point: f64,
            }
            let m: Measured = from_dyn("spectrum", &Dynamic::from_map(spectrum))?;
            let measured =
                Spectrum::new(m.wavelength, m.irradiance).map_err(|e| format!("spectrum: {e}"))?;
            let table = |name: &str, map: Map| -> HostResult<(Spectrum, SpectralErrors)> {
                let t: ResponseTable = from_dyn(name, &Dynamic::from_map(map))?;
                t.check().map_err(|e| format!("{name}: {e}"))?;
                Ok((
                    t.spectrum(),
                    SpectralErrors {
                        u_tilt: t.u_relative,
                        u_point: t.u_relative,
                    },
                ))
            };
            let dut = table("dut spectral response", dut)?;
            let reference = table("reference spectral response", reference)?;
            let r = mismatch_with_uncertainty(
                (
                    &measured,
                    SpectralErrors {
                        u_tilt: m.u_tilt,
                        u_point: m.u_point,
                    },
                ),
                (&dut.0, dut.1),
                (&reference.0, reference.1),
                &Spectrum::am15g(),
                // 400 trials: the standard deviation to ~4 % of itself (JCGM 101 §7.9 would
                // adapt; a mismatch u of 0.03 % is then known to 0.001 %).
                400,
                1,
            )
            .map_err(|e| e.to_string())?;
            to_dyn(&r)
        },
    );
    // `correction(module, procedure)`: the IEC 60891 method of a module file for procedure
    // 1, 2 or 4 with its parameters' standard uncertainties and sources, and the stated model
    // error: #{method, u_parameters, source, model_error: #{irradiance, temperature} | ()}.
    engine.register_fn(
        "correction",
        |module: Map, procedure: i64| -> HostResult<Dynamic> {
            use crate::analysis::iec60891::{BetaTerm, Method};
            let module: Module = from_dyn("module", &Dynamic::from_map(module))?;
            let number = u8::try_from(procedure).unwrap_or(0);
            let m = Method::from_module(&module, number, BetaTerm::default())
                .map_err(|e| e.to_string())?;
            let (u, source) = module
                .parameter_uncertainties(&m)
                .map_err(|e| e.to_string())?;
            let mut map = serde_json::Map::new();
            map.insert("procedure".into(), json!(number));
            for (name, _, value) in m.parameters() {
                map.insert(name.into(), json!(value));
            }
            if let Method::P4 {
                cells_in_series, ..
            } = m
            {
                map.insert("cells_in_series".into(), json!(cells_in_series));
            }
            to_dyn(&json!({
                "method": map,
                "u_parameters": u,
                "source": source,
                "model_error": module.model_error(number)
                    .map(|(g, t)| json!({"irradiance": g, "temperature": t})),
            }))
        },
    );
    // `ect(v_oc, irradiance, u_irradiance_rel, module)`: equivalent cell temperature from Voc
    // (IEC 60904-5, standards.md §3.4) against the module's STC Voc, with its standard
    // uncertainty by the GUM from u(Voc,STC), u(β), u(n) and the irradiance's relative u:
    // #{temperature, u, budget}.
    engine.register_fn(
        "ect",
        |v_oc: Dynamic, irradiance: Dynamic, u_g: Dynamic, module: Map| -> HostResult<Dynamic> {
            use crate::analysis::irradiance::{VocReference, equivalent_cell_temperature};
            use crate::uncertainty::{Distribution, Input, Problem};
            let module: Module = from_dyn("module", &Dynamic::from_map(module))?;
            let (v_oc, g, u_g) = (
                num("v_oc", &v_oc)?,
                num("irradiance", &irradiance)?,
                num("u_irradiance_rel", &u_g)?,
            );
            if !v_oc.is_finite() {
                return fail(
                    "the equivalent cell temperature needs the curve's Voc, which could not be fitted (voc_not_fitted): retake the sweep beyond Voc",
                );
            }
            let need = |key: &str, x: Option<f64>| {
                x.ok_or_else(|| {
                    format!(
                        "the equivalent cell temperature needs `{key}` in module `{}`",
                        module.name
                    )
                })
            };
            let voc1 = need("voc_stc", module.voc_stc)?;
            let n = need("ideality", module.ideality)?;
            let u_beta = need("u_beta_voc", module.u_beta_voc)?;
            // u(β) as stated; with β_rel only, relative to Voc,STC.
            let u_beta = if module.beta_voc.is_some() {
                u_beta
            } else {
                u_beta * voc1
            };
            let normal = |name: &str, value: f64, u: f64| {
                Input::new(name, value, Distribution::Normal { u })
            };
            let problem = Problem {
                inputs: vec![
                    normal("voc_stc", voc1, need("u_voc_stc", module.u_voc_stc)?),
                    normal("beta", module.beta(), u_beta),
                    normal("ideality", n, need("u_ideality", module.u_ideality)?),
                    normal("irradiance", g, u_g * g),
                ],
                correlations: Vec::new(),
                probability: 0.95,
            };
            let model = |x: &[f64]| {
                equivalent_cell_temperature(
                    v_oc,
                    x[3],
                    &VocReference {
                        v_oc: x[0],
                        irradiance: 1000.0,
                        temperature: 25.0,
                        beta: x[1],
                        cells_in_series: module.cells_in_series,
                        ideality: x[2],
                    },
                )
                .map_err(|e| e.to_string())
            };
            let r = gum(&problem, &model).map_err(|e| e.to_string())?;
            to_dyn(&json!({"temperature": r.y, "u": r.u, "budget": r.budget}))
        },
    );
    // `angular_mismatch(aoi, diffuse_fraction, tilt, a_r_dut, a_r_reference)`: relative
    // difference of the irradiance the module converts and the reference reads from their
    // angular responses (Martin–Ruiz), standards.md §12.1.
    engine.register_fn(
        "angular_mismatch",
        |aoi: Dynamic,
         f: Dynamic,
         tilt: Dynamic,
         a_dut: Dynamic,
         a_ref: Dynamic|
         -> HostResult<f64> {
            Ok(crate::analysis::iam::angular_mismatch(
                num("aoi", &aoi)?,
                num("diffuse_fraction", &f)?,
                num("tilt", &tilt)?,
                num("a_r_dut", &a_dut)?,
                num("a_r_reference", &a_ref)?,
            ))
        },
    );
    engine.register_fn("resistance_budget", |point: Map| -> HostResult<Dynamic> {
        let p: ResistancePoint = from_dyn("resistance point", &Dynamic::from_map(point))?;
        let (problem, model) = p.problem().map_err(|e| e.to_string())?;
        gum_value(&gum(&problem, &*model).map_err(|e| e.to_string())?)
    });
    engine.register_fn("voltage_budget", |point: Map| -> HostResult<Dynamic> {
        let p: VoltagePoint = from_dyn("voltage point", &Dynamic::from_map(point))?;
        let (problem, model) = p.problem().map_err(|e| e.to_string())?;
        gum_value(&gum(&problem, &*model).map_err(|e| e.to_string())?)
    });
    engine.register_fn(
        "decide",
        |y: Dynamic,
         u: Dynamic,
         expanded: Dynamic,
         lower: Dynamic,
         upper: Dynamic,
         rule: &str|
         -> HostResult<Dynamic> {
            let rule = match rule {
                "simple" => Rule::SimpleAcceptance,
                "guarded" => Rule::GuardedAcceptance { w: None },
                "non_binary" => Rule::NonBinary,
                r => {
                    return fail(format!(
                        "decision rule `{r}`: use simple, guarded or non_binary (ILAC-G8:09/2019)"
                    ));
                }
            };
            let tol = Tolerance {
                lower: Some(num("lower", &lower)?),
                upper: Some(num("upper", &upper)?),
            };
            to_dyn(&decide(
                num("y", &y)?,
                num("u", &u)?,
                num("U", &expanded)?,
                tol,
                rule,
            ))
        },
    );
    // `fit_iec60891(temperature_series, irradiance_series, g_ref[, procedure])`: α, β, γ, Rs,
    // κ (procedure 1) from natural-sunlight series; with procedure 2 also a, R's, κ'.
    fn fit(t: &Array, g: &Array, g_ref: &Dynamic, procedure: i64) -> HostResult<Dynamic> {
        let g_ref = num("reference irradiance", g_ref)?;
        let points = |a: &Array| -> HostResult<Vec<SeriesPoint>> {
            Ok(series_arg(a)?
                .into_iter()
                .map(|s| SeriesPoint {
                    data: s.curve.data(),
                    irradiance: s.irradiance,
                    temperature: s.temperature,
                })
                .collect())
        };
        if !matches!(procedure, 1 | 2) {
            return fail(format!(
                "fit_iec60891: procedure {procedure}: natural-sunlight series fit procedures 1 and 2"
            ));
        }
        let fit = natural_sunlight_fit(&points(t)?, &points(g)?, g_ref, procedure == 2)?;
        to_dyn(&fit)
    }
    engine.register_fn(
        "fit_iec60891",
        |t: Array, g: Array, g_ref: Dynamic| -> HostResult<Dynamic> { fit(&t, &g, &g_ref, 1) },
    );
    engine.register_fn(
        "fit_iec60891",
        |t: Array, g: Array, g_ref: Dynamic, procedure: i64| -> HostResult<Dynamic> {
            fit(&t, &g, &g_ref, procedure)
        },
    );
    engine.register_fn("mean", |a: Array| -> HostResult<f64> {
        let x = floats("mean", &a)?;
        if x.is_empty() {
            return fail("mean of an empty array");
        }
        Ok(x.iter().sum::<f64>() / x.len() as f64)
    });
    engine.register_fn("stdev", |a: Array| -> HostResult<f64> {
        // Experimental standard deviation s (JCGM 100 4.2.2), n − 1 in the denominator.
        let x = floats("stdev", &a)?;
        if x.len() < 2 {
            return fail("stdev needs at least 2 values");
        }
        // Identical readings (quantised by the display) have s = 0 exactly, not the
        // rounding residue of their mean.
        if x.iter().all(|v| *v == x[0]) {
            return Ok(0.0);
        }
        let m = x.iter().sum::<f64>() / x.len() as f64;
        Ok((x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() - 1) as f64).sqrt())
    });
    engine.register_fn("sqrt", |x: f64| x.sqrt());
    // `stated(y, U, k, unit, nominal)`: "0.0031 mΩ, U = 0.0014 mΩ (k = 2.3)" — a result as the
    // certificate states it (GUM 7.2.6: U two digits rounded up, y to the same place).
    engine.register_fn(
        "stated",
        |y: Dynamic,
         expanded: Dynamic,
         k: Dynamic,
         unit: &str,
         nominal: Dynamic|
         -> HostResult<String> {
            let result = json!({
                "value": num("stated", &y)?, "U": num("stated", &expanded)?,
                "k": num("stated", &k)?, "unit": unit, "nominal": num("stated", &nominal)?,
            });
            crate::model::stated::of_result(&result)
                .map(|s| s.line())
                .ok_or_else(|| "stated: U must be a positive number".into())
        },
    );
    // `sig(x, n)`: x with n significant digits, as text (for logs; results keep full precision).
    engine.register_fn("sig", |x: Dynamic, n: i64| -> HostResult<String> {
        let x = num("sig", &x)?;
        let n = n.clamp(1, 17) as i32;
        if x == 0.0 || !x.is_finite() {
            return Ok(format!("{x}"));
        }
        let decimals = (n - 1 - x.abs().log10().floor() as i32).max(0) as usize;
        Ok(format!(
            "{:.*}",
            decimals,
            crate::uncertainty::round_significant(x, n)
        ))
    });
}

/// Inputs of the Pmax budget that are not measured during the run (certificates, instrument
/// specifications, parameter uncertainties), SI units; see [`PmaxSetup`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PmaxInputs {
    u_parameters: Vec<f64>,
    dmm: Spec,
    cv: f64,
    u_cv: f64,
    /// Relative half-width of the reference's drift since calibration (`reference(id).drift`).
    #[serde(default)]
    cv_drift: f64,
    /// The irradiance correction the drift predicts (`reference(id).drift.correction`),
    /// applied by the procedure to what it reports (0: not applied).
    #[serde(default)]
    cv_drift_correction: f64,
    r_shunt: f64,
    u_r_shunt: f64,
    alpha_ref: f64,
    u_alpha_ref: f64,
    u_t_ref: f64,
    smm: f64,
    u_smm: f64,
    u_temperature_sensor: f64,
    back_to_cell: f64,
    back_to_cell_half_width: f64,
    tracer_voltage: Spec,
    tracer_current: Spec,
    /// The quantity at STC from repeated sweeps (`repeated`; `repeated_p_mp` in procedures
    /// written before other quantities than Pmax were budgeted).
    #[serde(alias = "repeated")]
    repeated_p_mp: Vec<f64>,
    /// Which quantity: `p_mp` (default), `i_sc`, `v_oc`, `i_mp`, `v_mp` or `ff`.
    #[serde(default)]
    quantity: StcQuantity,
    /// Further influences (`[#{name, acts_on, half_width | u, estimate?, source}]`).
    #[serde(default)]
    influences: Vec<Influence>,
    /// Sources of the standard inputs, by input name.
    #[serde(default)]
    sources: std::collections::BTreeMap<String, String>,
    /// Validate the GUM result with the adaptive Monte Carlo method to this many significant
    /// digits (JCGM 101 §7.9, §8); absent: GUM only.
    #[serde(default)]
    mc_digits: Option<u32>,
    /// Seed of the Monte Carlo method (same seed, same result on re-execution).
    #[serde(default = "default_mc_seed")]
    mc_seed: u64,
    /// Upper bound of the adaptive procedure's trials.
    #[serde(default = "default_mc_max_trials")]
    mc_max_trials: usize,
}

fn default_mc_seed() -> u64 {
    1
}

fn default_mc_max_trials() -> usize {
    1_000_000
}
