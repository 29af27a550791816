//! Plots as vector (SVG) or raster (PNG) graphics with plotters and an embedded DejaVu font,
//! so that output is identical on every machine (no system fonts).

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::analysis::curve::IvData;

/// One curve to draw.
#[derive(Debug, Clone)]
pub struct Trace<'a> {
    /// Legend label.
    pub label: String,
    /// The curve to draw.
    pub data: &'a IvData,
    /// Dashed (e.g. translated curves) or solid (measured).
    pub dashed: bool,
}

static FONT: Once = Once::new();

/// Register the embedded font under "sans-serif" (once per process).
fn register_font() {
    FONT.call_once(|| {
        // Failure only means text falls back to nothing; plotting then reports the error.
        let _ =
            plotters::style::register_font("sans-serif", FontStyle::Normal, super::fonts::REGULAR);
    });
}

/// Text sizes [px]: figures are 1200 px wide and printed 499 pt wide (1 px ≈ 0.42 pt), so
/// 18 px is 7.5 pt on paper — the smallest text of a figure.
const TITLE: u32 = 26;
const LABEL: u32 = 20;
const SMALL: u32 = 18;

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
];

/// The first quadrant of the traces plus a small margin: voltage from 0 to the largest
/// voltage at which current still flows forward (Voc) + 4 %, y from 0 to its maximum + 8 %.
fn bounds(traces: &[Trace], y: impl Fn(f64, f64) -> f64) -> ((f64, f64), (f64, f64)) {
    let mut x_max = 0.0f64;
    let mut y_max = 0.0f64;
    for t in traces {
        for (v, i) in t.data.voltage.iter().zip(&t.data.current) {
            if *i >= 0.0 && *v >= 0.0 {
                x_max = x_max.max(*v);
                y_max = y_max.max(y(*v, *i));
            }
        }
    }
    let (x_max, y_max) = (x_max.max(1e-9), y_max.max(1e-9));
    ((-0.01 * x_max, 1.04 * x_max), (-0.01 * y_max, 1.08 * y_max))
}

/// The maximum-power point of a trace: (V, P).
fn mpp(t: &Trace) -> Option<(f64, f64)> {
    t.data
        .voltage
        .iter()
        .zip(&t.data.current)
        .map(|(v, i)| (*v, v * i))
        .filter(|(_, p)| p.is_finite())
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    traces: &[Trace],
    title: &str,
    y_desc: &str,
    y: impl Fn(f64, f64) -> f64 + Copy,
) -> Result<(), String> {
    let ((x0, x1), (y0, y1)) = bounds(traces, y);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", TITLE))
        .margin(14)
        .x_label_area_size(52)
        .y_label_area_size(72)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| format!("{e:?}"))?;
    chart
        .configure_mesh()
        .x_desc("Voltage / V")
        .y_desc(y_desc)
        .label_style(("sans-serif", SMALL))
        .axis_desc_style(("sans-serif", LABEL))
        .draw()
        .map_err(|e| format!("{e:?}"))?;
    // The same colour for the curves of one sweep; measured solid, translated dashed.
    for (t, color) in traces.iter().zip(colours(traces)) {
        let points: Vec<(f64, f64)> = t
            .data
            .voltage
            .iter()
            .zip(&t.data.current)
            .map(|(v, i)| (*v, y(*v, *i)))
            .filter(|(v, p)| *v >= x0 && *v <= x1 && *p >= y0 && *p <= y1)
            .collect();
        let style = ShapeStyle {
            color: color.to_rgba(),
            filled: false,
            stroke_width: 2,
        };
        let series = if t.dashed {
            chart.draw_series(DashedLineSeries::new(points, 6, 4, style))
        } else {
            chart.draw_series(LineSeries::new(points, style))
        };
        series.map_err(|e| format!("{e:?}"))?;
    }
    // The maximum-power point of the first translated curve (else the first curve), marked
    // with its value.
    let marked = traces.iter().find(|t| t.dashed).or(traces.first());
    if let Some((v, p)) = marked.and_then(mpp) {
        let at = (v, y(v, p / v.max(1e-12)));
        chart
            .draw_series([Circle::new(at, 7, BLACK.filled())])
            .map_err(|e| format!("{e:?}"))?;
        let which = if marked.is_some_and(|t| t.dashed) {
            "MPP at STC"
        } else {
            "MPP"
        };
        let text = if y(1.0, 1.0) == 1.0 && y(2.0, 1.0) == 2.0 {
            format!("{which}: {p:.1} W at {v:.1} V")
        } else {
            format!("{which}: {:.3} A at {v:.1} V", p / v.max(1e-12))
        };
        chart
            .draw_series([Text::new(
                text,
                (at.0 - 0.62 * (x1 - x0), at.1 + 0.02 * (y1 - y0)),
                ("sans-serif", LABEL),
            )])
            .map_err(|e| format!("{e:?}"))?;
    }
    Ok(())
}

/// The colour of a trace: one per sweep (the label's first part, "sweep 2").
fn colours(traces: &[Trace]) -> Vec<RGBColor> {
    let mut of = std::collections::BTreeMap::new();
    traces
        .iter()
        .map(|t| {
            let key = t.label.split(',').next().unwrap_or_default().to_string();
            let next = of.len();
            COLORS[*of.entry(key).or_insert(next) % COLORS.len()]
        })
        .collect()
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, traces: &[Trace]) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| format!("{e:?}"))?;
    let (w, h) = root.dim_in_pixel();
    // The legend goes in a strip under both panels, three entries to a row.
    let rows = traces.len().div_ceil(3) as u32;
    let (plots, legend) = root.split_vertically(h - 12 - 26 * rows);
    let (left, right) = plots.split_horizontally(w / 2);
    panel(&left, traces, "Current–voltage", "Current / A", |_, i| i)?;
    panel(&right, traces, "Power–voltage", "Power / W", |v, i| v * i)?;
    for (k, (t, color)) in traces.iter().zip(colours(traces)).enumerate() {
        let (x, y) = (80 + 380 * (k % 3) as i32, 14 + 26 * (k / 3) as i32);
        let style = color.stroke_width(3);
        let map = |e| format!("{e:?}");
        if t.dashed {
            for dx in [0, 16, 32] {
                legend
                    .draw(&PathElement::new(vec![(x + dx, y), (x + dx + 9, y)], style))
                    .map_err(map)?;
            }
        } else {
            legend
                .draw(&PathElement::new(vec![(x, y), (x + 41, y)], style))
                .map_err(map)?;
        }
        legend
            .draw(&Text::new(
                t.label.clone(),
                (x + 52, y),
                TextStyle::from(("sans-serif", SMALL).into_font())
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(map)?;
    }
    root.present().map_err(|e| format!("{e:?}"))
}

/// Draw I-V and P-V side by side as an SVG document (for inline use in HTML reports).
pub fn plot_iv_svg(traces: &[Trace]) -> Result<String, String> {
    register_font();
    if traces.iter().all(|t| t.data.is_empty()) {
        return Err("nothing to plot".into());
    }
    let mut out = String::new();
    draw(
        SVGBackend::with_string(&mut out, (1200u32, 720u32)).into_drawing_area(),
        traces,
    )?;
    Ok(out)
}

/// I-V and P-V side by side as the bytes of a file named `path` (`.svg` or `.png`); the
/// caller writes them (safely, atomically).
pub fn plot_iv(path: &Path, traces: &[Trace]) -> Result<Vec<u8>, String> {
    let (width, height) = (1200u32, 720u32);
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("svg") => plot_iv_svg(traces).map(String::into_bytes),
        Some("png") => {
            register_font();
            if traces.iter().all(|t| t.data.is_empty()) {
                return Err("nothing to plot".into());
            }
            let mut rgb = vec![0u8; (width * height * 3) as usize];
            draw(
                BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area(),
                traces,
            )?;
            let mut png = Vec::new();
            image::ImageEncoder::write_image(
                image::codecs::png::PngEncoder::new(&mut png),
                &rgb,
                width,
                height,
                image::ColorType::Rgb8,
            )
            .map_err(|e| format!("PNG encoding: {e}"))?;
            Ok(png)
        }
        _ => Err("the plot file must end in .svg or .png".into()),
    }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn span(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo).abs() * 0.08).max(hi.abs() * 1e-3).max(1e-9);
    (lo - pad, hi + pad)
}

/// Irradiance and module temperature against time (minutes from the first sample), with the
/// stability windows the gate accepted shaded: an SVG document.
pub fn conditions_svg(
    irradiance: &[(f64, f64)],
    temperature: &[(f64, f64)],
    windows: &[(f64, f64)],
) -> Result<String, String> {
    register_font();
    if irradiance.is_empty() {
        return Err("no conditions to plot".into());
    }
    let t0 = irradiance
        .iter()
        .chain(temperature)
        .map(|p| p.0)
        .fold(f64::INFINITY, f64::min);
    let minutes = |t: f64| (t - t0) / 60.0;
    let x = span(irradiance.iter().chain(temperature).map(|p| minutes(p.0)));
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (1200, 560)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (top, bottom) = root.split_vertically(280);
        let panels = [
            (&top, irradiance, "Irradiance / (W/m²)", COLORS[0]),
            (&bottom, temperature, "Module temp. / °C", COLORS[1]),
        ];
        for (area, data, desc, color) in panels {
            let y = span(data.iter().map(|p| p.1));
            let mut chart = ChartBuilder::on(area)
                .margin(10)
                .x_label_area_size(50)
                .y_label_area_size(100)
                .build_cartesian_2d(x.0..x.1, y.0..y.1)
                .map_err(err)?;
            chart
                .configure_mesh()
                .x_desc("Time from the first sample / min")
                .y_desc(desc)
                .label_style(("sans-serif", SMALL))
                .axis_desc_style(("sans-serif", LABEL))
                .draw()
                .map_err(err)?;
            chart
                .draw_series(windows.iter().map(|(a, b)| {
                    Rectangle::new(
                        [(minutes(*a), y.0), (minutes(*b), y.1)],
                        COLORS[2].mix(0.15).filled(),
                    )
                }))
                .map_err(err)?;
            chart
                .draw_series(LineSeries::new(
                    data.iter().map(|(t, v)| (minutes(*t), *v)),
                    color.stroke_width(2),
                ))
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(out)
}

/// Uncertainty contributions |c·u| of a budget as horizontal bars, largest first.
pub fn contributions_svg(items: &[(String, f64)], unit: &str) -> Result<String, String> {
    register_font();
    let mut items: Vec<&(String, f64)> = items.iter().filter(|(_, c)| *c > 0.0).collect();
    items.sort_by(|a, b| b.1.total_cmp(&a.1));
    if items.is_empty() {
        return Err("no contributions".into());
    }
    let n = items.len();
    let max = items[0].1 * 1.1;
    let mut out = String::new();
    {
        let height = (80 + 30 * n) as u32;
        let root = SVGBackend::with_string(&mut out, (1200, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        // Bar labels go in a left column drawn by hand: plotters' own y labels sit at tick
        // positions, not at the bars.
        let (names, bars) = root.split_horizontally(300);
        let mut chart = ChartBuilder::on(&bars)
            .margin(10)
            .x_label_area_size(50)
            .build_cartesian_2d(0.0..max, 0.0..n as f64)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .disable_y_axis()
            .x_desc(format!("Contribution |c·u(x)| / {unit}"))
            .label_style(("sans-serif", SMALL))
            .axis_desc_style(("sans-serif", LABEL))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(items.iter().enumerate().map(|(k, (_, c))| {
                let y = (n - k) as f64;
                Rectangle::new([(0.0, y - 0.8), (*c, y - 0.2)], COLORS[0].filled())
            }))
            .map_err(err)?;
        // The plotting area spans from the top margin (10 px) to the x label area.
        let plot_height = f64::from(height) - 10.0 - 10.0 - 50.0;
        for (k, (name, _)) in items.iter().enumerate() {
            let y = 10.0 + plot_height * (k as f64 + 0.5) / n as f64;
            names
                .draw(&Text::new(
                    name.replace('_', " "),
                    (8, y as i32),
                    TextStyle::from(("sans-serif", SMALL).into_font())
                        .pos(Pos::new(HPos::Left, VPos::Center)),
                ))
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(out)
}

/// Battery-tester calibration: relative error of indication [%] against the standard's
/// value (log scale), with U as error bars and the ±MPE band.
/// `points`: (standard value, error, U, MPE), all in the quantity's unit.
pub fn errors_svg(
    points: &[(f64, f64, f64, f64)],
    quantity: &str,
    unit: &str,
) -> Result<String, String> {
    register_font();
    let mut pts: Vec<(f64, f64, f64, f64)> = points
        .iter()
        .filter(|p| p.0 > 0.0 && p.0.is_finite())
        .map(|(x, e, u, m)| (*x, 100.0 * e / x, 100.0 * u / x, 100.0 * m / x))
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    if pts.is_empty() {
        return Err("no calibration points".into());
    }
    let x = span(pts.iter().map(|p| p.0.log10()));
    let y = span(pts.iter().flat_map(|p| [p.1 - p.2, p.1 + p.2, p.3, -p.3]));
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (1200, 480)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("Error of indication: {quantity}"),
                ("sans-serif", TITLE),
            )
            .margin(12)
            .x_label_area_size(52)
            .y_label_area_size(90)
            .build_cartesian_2d(x.0..x.1, y.0..y.1)
            .map_err(err)?;
        // Ticks at whole decades only, written with an SI prefix (1 mΩ, 10 mΩ, 1 Ω).
        let decades = (x.1.floor() - x.0.ceil()).max(0.0) as usize + 1;
        chart
            .configure_mesh()
            .x_labels(decades.max(2) * 4)
            .x_label_formatter(&|v: &f64| {
                if (v - v.round()).abs() > 1e-6 {
                    return String::new();
                }
                let value = 10f64.powi(v.round() as i32);
                let prefix = crate::model::stated::Prefix::for_magnitude(unit, value);
                format!(
                    "{} {}{unit}",
                    crate::model::stated::significant(value / prefix.factor(), 1)
                        .unwrap_or_default(),
                    prefix.symbol()
                )
            })
            .x_desc(format!("Standard value / {unit} (log scale)"))
            .y_desc("Error / standard value / %")
            .label_style(("sans-serif", SMALL))
            .axis_desc_style(("sans-serif", LABEL))
            .draw()
            .map_err(err)?;
        for sign in [1.0, -1.0] {
            let series = chart
                .draw_series(LineSeries::new(
                    pts.iter().map(|p| (p.0.log10(), sign * p.3)),
                    COLORS[1].stroke_width(2),
                ))
                .map_err(err)?;
            // One legend entry for the band.
            if sign > 0.0 {
                series.label("± MPE").legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], COLORS[1].stroke_width(2))
                });
            }
        }
        chart
            .draw_series(pts.iter().map(|p| {
                PathElement::new(
                    vec![(p.0.log10(), p.1 - p.2), (p.0.log10(), p.1 + p.2)],
                    COLORS[0].stroke_width(2),
                )
            }))
            .map_err(err)?;
        chart
            .draw_series(
                pts.iter()
                    .map(|p| Circle::new((p.0.log10(), p.1), 4, COLORS[0].filled())),
            )
            .map_err(err)?
            .label("error ± U")
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], COLORS[0].stroke_width(2))
            });
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", SMALL))
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(out)
}
