//! Plots as vector (SVG) or raster (PNG) graphics with plotters and an embedded DejaVu font,
//! so that output is identical on every machine (no system fonts).

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

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

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
];

fn bounds(traces: &[Trace], y: impl Fn(f64, f64) -> f64) -> ((f64, f64), (f64, f64)) {
    let mut x = (f64::INFINITY, f64::NEG_INFINITY);
    let mut yy = (0.0f64, f64::NEG_INFINITY);
    for t in traces {
        for (v, i) in t.data.voltage.iter().zip(&t.data.current) {
            x = (x.0.min(*v), x.1.max(*v));
            let value = y(*v, *i);
            yy = (yy.0.min(value), yy.1.max(value));
        }
    }
    let pad = |(a, b): (f64, f64)| {
        let span = (b - a).abs().max(1e-9);
        (a - 0.03 * span, b + 0.05 * span)
    };
    (pad(x), pad(yy))
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
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| format!("{e:?}"))?;
    chart
        .configure_mesh()
        .x_desc("Voltage [V]")
        .y_desc(y_desc)
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(|e| format!("{e:?}"))?;
    for (k, t) in traces.iter().enumerate() {
        let color = COLORS[k % COLORS.len()];
        let points: Vec<(f64, f64)> = t
            .data
            .voltage
            .iter()
            .zip(&t.data.current)
            .map(|(v, i)| (*v, y(*v, *i)))
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
        series
            .map_err(|e| format!("{e:?}"))?
            .label(t.label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 12))
        .position(SeriesLabelPosition::LowerLeft)
        .draw()
        .map_err(|e| format!("{e:?}"))?;
    Ok(())
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, traces: &[Trace]) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| format!("{e:?}"))?;
    let (w, _) = root.dim_in_pixel();
    let (left, right) = root.split_horizontally(w / 2);
    panel(&left, traces, "Current–voltage", "Current [A]", |_, i| i)?;
    panel(&right, traces, "Power–voltage", "Power [W]", |v, i| v * i)?;
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
        SVGBackend::with_string(&mut out, (1200u32, 500u32)).into_drawing_area(),
        traces,
    )?;
    Ok(out)
}

/// I-V and P-V side by side as the bytes of a file named `path` (`.svg` or `.png`); the
/// caller writes them (safely, atomically).
pub fn plot_iv(path: &Path, traces: &[Trace]) -> Result<Vec<u8>, String> {
    let (width, height) = (1200u32, 500u32);
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
        let root = SVGBackend::with_string(&mut out, (1200, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (top, bottom) = root.split_vertically(210);
        let panels = [
            (&top, irradiance, "Irradiance [W/m²]", COLORS[0]),
            (&bottom, temperature, "Module temperature [°C]", COLORS[1]),
        ];
        for (area, data, desc, color) in panels {
            let y = span(data.iter().map(|p| p.1));
            let mut chart = ChartBuilder::on(area)
                .margin(8)
                .x_label_area_size(32)
                .y_label_area_size(64)
                .build_cartesian_2d(x.0..x.1, y.0..y.1)
                .map_err(err)?;
            chart
                .configure_mesh()
                .x_desc("Time from the first sample [min]")
                .y_desc(desc)
                .label_style(("sans-serif", 12))
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
        let height = (60 + 24 * n) as u32;
        let root = SVGBackend::with_string(&mut out, (1200, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(190)
            .build_cartesian_2d(0.0..max, 0.0..n as f64)
            .map_err(err)?;
        let labels: Vec<String> = items.iter().map(|(name, _)| name.clone()).collect();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
            .y_label_formatter(&|y: &f64| {
                let k = (n as f64 - y - 0.5).round();
                if k >= 0.0 && (k as usize) < labels.len() && (y.fract() - 0.5).abs() < 0.01 {
                    labels[k as usize].clone()
                } else {
                    String::new()
                }
            })
            .x_desc(format!("Contribution |c·u(x)| [{unit}]"))
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(items.iter().enumerate().map(|(k, (_, c))| {
                let y = (n - k) as f64;
                Rectangle::new([(0.0, y - 0.8), (*c, y - 0.2)], COLORS[0].filled())
            }))
            .map_err(err)?;
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
        let root = SVGBackend::with_string(&mut out, (1200, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("Error of indication: {quantity}"),
                ("sans-serif", 18),
            )
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d(x.0..x.1, y.0..y.1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_label_formatter(&|v: &f64| format!("{:.3e}", 10f64.powf(*v)))
            .x_desc(format!("Standard value [{unit}] (log scale)"))
            .y_desc("Error / standard value [%]")
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(err)?;
        for sign in [1.0, -1.0] {
            chart
                .draw_series(LineSeries::new(
                    pts.iter().map(|p| (p.0.log10(), sign * p.3)),
                    COLORS[1].stroke_width(2),
                ))
                .map_err(err)?
                .label(if sign > 0.0 { "± MPE" } else { "" })
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], COLORS[1].stroke_width(2))
                });
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
            .label_font(("sans-serif", 12))
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(out)
}
