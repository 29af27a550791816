//! `pvstation iv …`: I-V curve analysis from files (a contract: other tools call it exactly
//! so). JSON output is one object per line with pvlib key names in SI units.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::analysis::curve::IvData;
use crate::analysis::extract::{IvParameters, extract};
use crate::analysis::iec60891::{
    BetaTerm, Conditions, Method, procedure3_three, procedure3_two, translate,
};
use crate::analysis::module::Module;
use crate::analysis::params::{
    SeriesCurve, fit_p1_kappa, fit_p1_rs, fit_p2, temperature_coefficients,
};
use crate::report::plot::{Trace, plot_iv};
use crate::store::batch::run_batch;
use crate::store::curves::{read_curves, read_single_curve, write_curve_csv};

/// `pvstation iv …`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Extract Isc, Voc, Imp, Vmp, Pmax, FF (ASTM E1036) and slope Rs, Rsh from curve files.
    Params {
        /// Curve files (CSV or Parquet; long format with `curve_id` gives one result per curve).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Translate a curve to other conditions (IEC 60891:2021 procedure 1, 2, 3 or 4).
    Translate(TranslateArgs),
    /// Determine IEC 60891 correction parameters from irradiance and temperature series.
    FitParams(FitArgs),
    /// Temperature coefficients α, β, γ from a temperature series.
    Tempco {
        /// Curve files at one irradiance and different temperatures.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Extract (and optionally translate) every curve of a long-format table, in parallel.
    Batch(BatchArgs),
    /// Plot I-V and P-V curves, measured and translated, to SVG or PNG.
    Plot(PlotArgs),
}

/// Arguments of `iv translate`.
#[derive(Debug, clap::Args)]
pub struct TranslateArgs {
    /// The curve (procedure 1, 2, 4), or two or three curves (procedure 3).
    #[arg(required = true, num_args = 1..=3)]
    files: Vec<PathBuf>,
    /// Module file (TOML) with coefficients and correction parameters.
    #[arg(long)]
    module: Option<PathBuf>,
    /// IEC 60891 procedure: 1, 2, 3 or 4.
    #[arg(long)]
    procedure: u8,
    /// Measured conditions `G,T` [W/m², °C] (default: the mean of the file's columns).
    #[arg(long, value_parser = parse_conditions)]
    from: Option<Conditions>,
    /// Target conditions `G,T` [W/m², °C], e.g. `1000,25`.
    #[arg(long, value_parser = parse_conditions)]
    to: Conditions,
    /// Write the translated curve to this CSV file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Procedure 2, Ed. 3 form: β term times f(G) (`f`, as ivcorrection) or divided (`inv-f`) [R].
    #[arg(long, default_value = "f")]
    p2_beta_term: String,
    /// One JSON object.
    #[arg(long)]
    json: bool,
}

/// Arguments of `iv fit-params`.
#[derive(Debug, clap::Args)]
pub struct FitArgs {
    /// 1 (Rs, κ) or 2 (a, R's, κ').
    #[arg(long)]
    procedure: u8,
    /// Module file (coefficients).
    #[arg(long)]
    module: PathBuf,
    /// Curves at one temperature and different irradiances.
    #[arg(long, required = true, num_args = 1..)]
    irradiance_series: Vec<PathBuf>,
    /// Curves at one irradiance and different temperatures.
    #[arg(long, required = true, num_args = 1..)]
    temperature_series: Vec<PathBuf>,
    /// One JSON object.
    #[arg(long)]
    json: bool,
}

/// Arguments of `iv batch`.
#[derive(Debug, clap::Args)]
pub struct BatchArgs {
    /// Long-format CSV or Parquet: `curve_id`, `voltage`, `current`, `irradiance`, `temperature`.
    input: PathBuf,
    /// Output Parquet file, one row per curve.
    #[arg(long)]
    out: PathBuf,
    /// Translate each curve with this IEC 60891 procedure (1, 2 or 4) before extraction.
    #[arg(long, requires_all = ["module", "to"])]
    procedure: Option<u8>,
    /// Module file for the translation.
    #[arg(long)]
    module: Option<PathBuf>,
    /// Target conditions `G,T`.
    #[arg(long, value_parser = parse_conditions)]
    to: Option<Conditions>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

/// Arguments of `iv plot`.
#[derive(Debug, clap::Args)]
pub struct PlotArgs {
    /// Curve files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Output `.svg` or `.png`.
    #[arg(long)]
    out: PathBuf,
    /// Also draw each curve translated with this procedure (1, 2 or 4).
    #[arg(long, requires_all = ["module", "to"])]
    procedure: Option<u8>,
    /// Module file for the translation.
    #[arg(long)]
    module: Option<PathBuf>,
    /// Measured conditions `G,T` (default: the file's columns).
    #[arg(long, value_parser = parse_conditions)]
    from: Option<Conditions>,
    /// Target conditions `G,T`.
    #[arg(long, value_parser = parse_conditions)]
    to: Option<Conditions>,
}

/// Parse `G,T` [W/m², °C].
fn parse_conditions(text: &str) -> Result<Conditions, String> {
    let (g, t) = text
        .split_once(',')
        .ok_or_else(|| format!("`{text}`: write irradiance,temperature, e.g. 1000,25"))?;
    let irradiance: f64 = g
        .trim()
        .parse()
        .map_err(|_| format!("`{g}` is not an irradiance in W/m²"))?;
    let temperature: f64 = t
        .trim()
        .parse()
        .map_err(|_| format!("`{t}` is not a temperature in °C"))?;
    if !(irradiance.is_finite() && irradiance > 0.0) {
        return Err(format!("irradiance {irradiance} W/m² must be > 0"));
    }
    if !(temperature.is_finite() && (-60.0..=150.0).contains(&temperature)) {
        return Err(format!(
            "temperature {temperature} °C is outside −60 … 150 °C"
        ));
    }
    Ok(Conditions {
        irradiance,
        temperature,
    })
}

fn load_module(path: &Path) -> anyhow::Result<Module> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read module file {}", path.display()))?;
    Module::from_toml(&text).with_context(|| format!("module file {}", path.display()))
}

/// Sign-normalise and validate a curve read from `file`.
fn prepared(mut data: IvData, file: &Path) -> anyhow::Result<(IvData, bool)> {
    let flipped = data.normalise_sign();
    data.validate()
        .with_context(|| file.display().to_string())?;
    Ok((data, flipped))
}

fn parameters_json(p: &IvParameters) -> Value {
    json!({
        "i_sc": p.i_sc, "v_oc": p.v_oc, "i_mp": p.i_mp, "v_mp": p.v_mp, "p_mp": p.p_mp, "ff": p.ff,
        "r_s": p.r_s, "r_sh": p.r_sh, "mp_fit_residual": p.mp_fit_residual, "mp_points": p.mp_points,
        "flags": p.flags,
    })
}

fn merge(mut a: Value, b: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

fn print_parameters(label: &str, p: &IvParameters) {
    println!(
        "{label}\n  Isc {:.5} A   Voc {:.4} V   Imp {:.5} A   Vmp {:.4} V   Pmax {:.4} W   FF {:.4}\n  Rs(slope) {:.4} Ω   Rsh(slope) {:.1} Ω   MPP fit: {} points, residual {:.3e} W",
        p.i_sc, p.v_oc, p.i_mp, p.v_mp, p.p_mp, p.ff, p.r_s, p.r_sh, p.mp_points, p.mp_fit_residual
    );
    for f in &p.flags {
        println!("  warning: {f}");
    }
}

/// Run `pvstation iv …`.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Params { files, json } => params(&files, json),
        Command::Translate(args) => translate_cmd(args),
        Command::FitParams(args) => fit_params(args),
        Command::Tempco { files, json } => tempco(&files, json),
        Command::Batch(args) => batch(args),
        Command::Plot(args) => plot(args),
    }
}

fn params(files: &[PathBuf], json_out: bool) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    for file in files {
        let outcome = (|| -> anyhow::Result<Vec<(String, IvParameters, bool)>> {
            let mut out = Vec::new();
            for curve in read_curves(file)? {
                let (data, flipped) = prepared(curve.data, file).map_err(|e| {
                    if curve.id.is_empty() {
                        e
                    } else {
                        e.context(format!("curve `{}`", curve.id))
                    }
                })?;
                let p = extract(&data).with_context(|| {
                    format!(
                        "{}{}",
                        file.display(),
                        if curve.id.is_empty() {
                            String::new()
                        } else {
                            format!(" curve `{}`", curve.id)
                        }
                    )
                })?;
                out.push((curve.id, p, flipped));
            }
            Ok(out)
        })();
        match outcome {
            Ok(results) => {
                for (id, p, flipped) in results {
                    if json_out {
                        let mut head = json!({"file": file.display().to_string()});
                        if !id.is_empty() {
                            head["curve_id"] = json!(id);
                        }
                        head["sign_normalised"] = json!(flipped);
                        println!("{}", merge(head, parameters_json(&p)));
                    } else {
                        let label = if id.is_empty() {
                            file.display().to_string()
                        } else {
                            format!("{} curve {id}", file.display())
                        };
                        print_parameters(&label, &p);
                    }
                }
            }
            Err(e) => {
                failed = true;
                eprintln!("error: {}", super::error_text(&e));
                if json_out {
                    println!(
                        "{}",
                        json!({"file": file.display().to_string(), "error": super::error_text(&e)})
                    );
                }
            }
        }
    }
    Ok(if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn beta_term(text: &str) -> anyhow::Result<BetaTerm> {
    match text {
        "f" => Ok(BetaTerm::TimesF),
        "inv-f" => Ok(BetaTerm::DividedByF),
        other => bail!("--p2-beta-term {other}: use `f` or `inv-f`"),
    }
}

fn conditions_from_columns(data: &IvData, file: &Path) -> anyhow::Result<Conditions> {
    match (data.mean_irradiance(), data.mean_temperature()) {
        (Some(irradiance), Some(temperature)) => Ok(Conditions {
            irradiance,
            temperature,
        }),
        _ => bail!(
            "{}: no `irradiance` and `temperature` columns; give --from G,T",
            file.display()
        ),
    }
}

fn translate_cmd(a: TranslateArgs) -> anyhow::Result<ExitCode> {
    let beta = beta_term(&a.p2_beta_term)?;
    let (curve, result, from_json, extra) = if a.procedure == 3 {
        if !(2..=3).contains(&a.files.len()) {
            bail!("procedure 3 interpolates between two or three curves; give 2 or 3 files");
        }
        let mut curves = Vec::new();
        for f in &a.files {
            let (data, _) = prepared(read_single_curve(f)?, f)?;
            let c = conditions_from_columns(&data, f)?;
            curves.push((data, c));
        }
        let (curve, reached, a_weight, warnings) = if curves.len() == 2 {
            let (curve, reached, aw, w) = procedure3_two(
                (&curves[0].0, curves[0].1),
                (&curves[1].0, curves[1].1),
                a.to,
            )?;
            (curve, reached, Some(aw), w)
        } else {
            let (curve, reached, w) = procedure3_three(
                [
                    (&curves[0].0, curves[0].1),
                    (&curves[1].0, curves[1].1),
                    (&curves[2].0, curves[2].1),
                ],
                a.to,
            )?;
            (curve, reached, None, w)
        };
        let p = extract(&curve).context("the interpolated curve")?;
        let from: Vec<Value> = curves.iter().map(|(_, c)| json!(c)).collect();
        (
            curve,
            p,
            json!(from),
            json!({"a": a_weight, "reached": reached, "warnings": warnings}),
        )
    } else {
        if a.files.len() != 1 {
            bail!(
                "procedure {} translates one curve; give one file",
                a.procedure
            );
        }
        let module_path = a
            .module
            .as_ref()
            .context("--module M.toml is required for procedures 1, 2 and 4")?;
        let module = load_module(module_path)?;
        let method = Method::from_module(&module, a.procedure, beta)?;
        let file = &a.files[0];
        let (data, _) = prepared(read_single_curve(file)?, file)?;
        if a.from.is_none() {
            conditions_from_columns(&data, file)?;
        }
        let t =
            translate(&data, &method, a.from, a.to).with_context(|| file.display().to_string())?;
        let p = extract(&t.data).context("the translated curve")?;
        let form = match method {
            Method::P2Ed2 { .. } => Some("ed2"),
            Method::P2Ed3 { .. } => Some("ed3"),
            _ => None,
        };
        let measured = extract(&data).context("the measured curve")?;
        let extra = json!({"warnings": t.warnings, "edition": "IEC 60891:2021", "p2_form": form, "measured": parameters_json(&measured)});
        (t.data, p, json!(t.from), extra)
    };
    if let Some(out) = &a.out {
        let mut c = curve.clone();
        c.irradiance = Some(vec![a.to.irradiance; c.len()]);
        c.temperature = Some(vec![a.to.temperature; c.len()]);
        write_curve_csv(out, &c)?;
    }
    if a.json {
        let head = json!({"procedure": a.procedure, "from": from_json, "to": a.to});
        println!("{}", merge(merge(head, parameters_json(&result)), extra));
    } else {
        println!(
            "IEC 60891:2021 procedure {} → {} W/m², {} °C",
            a.procedure, a.to.irradiance, a.to.temperature
        );
        print_parameters("translated", &result);
        if let Some(w) = extra["warnings"].as_array() {
            for w in w {
                println!("  warning: {}", w.as_str().unwrap_or_default());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn load_series(files: &[PathBuf]) -> anyhow::Result<Vec<(IvData, Conditions)>> {
    files
        .iter()
        .map(|f| {
            let (data, _) = prepared(read_single_curve(f)?, f)?;
            let c = conditions_from_columns(&data, f)?;
            Ok((data, c))
        })
        .collect()
}

fn fit_params(a: FitArgs) -> anyhow::Result<ExitCode> {
    let module = load_module(&a.module)?;
    let irr = load_series(&a.irradiance_series)?;
    let tmp = load_series(&a.temperature_series)?;
    let irr: Vec<SeriesCurve> = irr
        .iter()
        .map(|(d, c)| SeriesCurve {
            data: d,
            conditions: *c,
        })
        .collect();
    let tmp: Vec<SeriesCurve> = tmp
        .iter()
        .map(|(d, c)| SeriesCurve {
            data: d,
            conditions: *c,
        })
        .collect();
    let counts = json!({"irradiance": irr.len(), "temperature": tmp.len()});
    let out = match a.procedure {
        1 => {
            let rs = fit_p1_rs(&irr, module.alpha(), module.beta())?;
            let kappa = fit_p1_kappa(&tmp, module.alpha(), module.beta(), rs.value, None)?;
            json!({"procedure": 1, "rs": rs.value, "kappa": kappa.value, "rs_spread": rs.spread, "kappa_spread": kappa.spread, "curves": counts})
        }
        2 => {
            let f = fit_p2(&irr, &tmp, module.alpha_rel()?, module.beta_rel()?)?;
            json!({"procedure": 2, "a": f.a.value, "rs": f.rs.value, "kappa": f.kappa.value, "a_spread": f.a.spread, "rs_spread": f.rs.spread, "kappa_spread": f.kappa.spread, "curves": counts})
        }
        other => bail!("--procedure {other}: parameters are determined for procedures 1 and 2"),
    };
    if a.json {
        println!("{out}");
    } else {
        println!("IEC 60891 procedure {} parameters", a.procedure);
        if let Some(v) = out["a"].as_f64() {
            println!(
                "  a     = {v:.5}        (translated Voc spread {:.4} %)",
                out["a_spread"].as_f64().unwrap_or(f64::NAN) * 100.0
            );
        }
        println!(
            "  rs    = {:.4} Ω      (translated Pmax spread {:.4} %, {} curves)",
            out["rs"].as_f64().unwrap_or(f64::NAN),
            out["rs_spread"].as_f64().unwrap_or(f64::NAN) * 100.0,
            irr.len()
        );
        println!(
            "  kappa = {:.5} Ω/K   (translated Pmax spread {:.4} %, {} curves)",
            out["kappa"].as_f64().unwrap_or(f64::NAN),
            out["kappa_spread"].as_f64().unwrap_or(f64::NAN) * 100.0,
            tmp.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn tempco(files: &[PathBuf], json_out: bool) -> anyhow::Result<ExitCode> {
    let series = load_series(files)?;
    let s: Vec<SeriesCurve> = series
        .iter()
        .map(|(d, c)| SeriesCurve {
            data: d,
            conditions: *c,
        })
        .collect();
    let t = temperature_coefficients(&s)?;
    if json_out {
        println!(
            "{}",
            json!({
                "alpha_isc": t.alpha_isc.value, "u_alpha_isc": t.alpha_isc.u,
                "alpha_isc_rel": t.alpha_isc.relative, "u_alpha_isc_rel": t.alpha_isc.u_relative,
                "beta_voc": t.beta_voc.value, "u_beta_voc": t.beta_voc.u,
                "beta_voc_rel": t.beta_voc.relative, "u_beta_voc_rel": t.beta_voc.u_relative,
                "gamma_pmp": t.gamma_pmp.value, "u_gamma_pmp": t.gamma_pmp.u,
                "gamma_pmp_rel": t.gamma_pmp.relative, "u_gamma_pmp_rel": t.gamma_pmp.u_relative,
                "curves": t.curves, "temperature_span": t.temperature_span, "irradiance_spread": t.irradiance_spread,
            })
        );
    } else {
        println!(
            "temperature coefficients from {} curves over {:.1} K (standard uncertainties):",
            t.curves, t.temperature_span
        );
        println!(
            "  α = {:.6} ± {:.6} A/K   ({:.4} ± {:.4} %/K)",
            t.alpha_isc.value,
            t.alpha_isc.u,
            t.alpha_isc.relative * 100.0,
            t.alpha_isc.u_relative * 100.0
        );
        println!(
            "  β = {:.5} ± {:.5} V/K   ({:.4} ± {:.4} %/K)",
            t.beta_voc.value,
            t.beta_voc.u,
            t.beta_voc.relative * 100.0,
            t.beta_voc.u_relative * 100.0
        );
        println!(
            "  γ = {:.4} ± {:.4} W/K   ({:.4} ± {:.4} %/K)",
            t.gamma_pmp.value,
            t.gamma_pmp.u,
            t.gamma_pmp.relative * 100.0,
            t.gamma_pmp.u_relative * 100.0
        );
        if t.irradiance_spread > 0.01 {
            println!(
                "  warning: the curves' irradiance varies by {:.1} %; coefficients assume one irradiance",
                t.irradiance_spread * 100.0
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Most worker threads `iv batch` starts (each costs a stack; more than the cores gains nothing).
const MAX_THREADS: usize = 256;

fn batch(a: BatchArgs) -> anyhow::Result<ExitCode> {
    let method = match (a.procedure, &a.module) {
        (Some(p), Some(m)) => Some(Method::from_module(&load_module(m)?, p, BetaTerm::TimesF)?),
        _ => None,
    };
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} curves  {per_sec}  ETA {eta}",
        ) {
            bar.set_style(style);
        }
        bar
    });
    let progress = |done: u64, total: u64| {
        if let Some(b) = &bar {
            b.set_length(total);
            b.set_position(done);
        }
    };
    if crate::store::same_file(&a.input, &a.out) {
        anyhow::bail!(
            "--out {} is the input file: the batch result would overwrite the curves; give another file",
            a.out.display()
        );
    }
    let threads = a.threads.unwrap_or(0);
    if threads > MAX_THREADS {
        anyhow::bail!(
            "--threads {threads}: at most {MAX_THREADS} (this machine has {} cores; 0 or nothing uses them all)",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        );
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start worker threads")?;
    let summary = pool.install(|| run_batch(&a.input, &a.out, method.as_ref(), a.to, &progress))?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    eprintln!(
        "{} curves, {} failed (see the `error` column), written to {} in {:.2} s (read {:.3} s, analysis {:.3} s, write {:.3} s)",
        summary.curves,
        summary.failed,
        a.out.display(),
        summary.seconds,
        summary.read_seconds,
        summary.analyse_seconds,
        summary.write_seconds
    );
    Ok(ExitCode::SUCCESS)
}

fn plot(a: PlotArgs) -> anyhow::Result<ExitCode> {
    let method = match (a.procedure, &a.module) {
        (Some(p), Some(m)) => Some(Method::from_module(&load_module(m)?, p, BetaTerm::TimesF)?),
        _ => None,
    };
    let mut measured = Vec::new();
    for f in &a.files {
        for c in read_curves(f)? {
            let (data, _) = prepared(c.data, f)?;
            let name = f
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("curve")
                .to_string();
            let label = if c.id.is_empty() {
                name
            } else {
                format!("{name} {}", c.id)
            };
            measured.push((label, data));
        }
    }
    let mut translated = Vec::new();
    if let (Some(m), Some(to)) = (&method, a.to) {
        for (label, data) in &measured {
            let t =
                translate(data, m, a.from, to).with_context(|| format!("translating {label}"))?;
            translated.push((
                format!(
                    "{label} → {:.0} W/m², {:.0} °C (P{})",
                    to.irradiance,
                    to.temperature,
                    m.number()
                ),
                t.data,
            ));
        }
    }
    let mut traces: Vec<Trace> = measured
        .iter()
        .map(|(l, d)| Trace {
            label: l.clone(),
            data: d,
            dashed: false,
        })
        .collect();
    traces.extend(translated.iter().map(|(l, d)| Trace {
        label: l.clone(),
        data: d,
        dashed: true,
    }));
    let bytes =
        plot_iv(&a.out, &traces).map_err(|e| anyhow::anyhow!("{}: {e}", a.out.display()))?;
    crate::store::write_atomically(&a.out, &bytes)?;
    eprintln!("wrote {}", a.out.display());
    Ok(ExitCode::SUCCESS)
}
