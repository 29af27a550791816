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
    /// Data.
    pub data: &'a IvData,
    /// Dashed (e.g. translated curves) or solid (measured).
    pub dashed: bool,
}

static FONT: Once = Once::new();

/// Register the embedded font under "sans-serif" (once per process).
pub fn register_font() {
    FONT.call_once(|| {
        // Failure only means text falls back to nothing; plotting then reports the error.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
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

/// Draw I-V and P-V side by side into `path` (`.svg` or `.png`).
pub fn plot_iv(path: &Path, traces: &[Trace]) -> Result<(), String> {
    register_font();
    if traces.iter().all(|t| t.data.is_empty()) {
        return Err("nothing to plot".into());
    }
    let size = (1200u32, 500u32);
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("svg") => draw(SVGBackend::new(path, size).into_drawing_area(), traces),
        Some("png") => draw(BitMapBackend::new(path, size).into_drawing_area(), traces),
        _ => Err(format!(
            "{}: the plot file must end in .svg or .png",
            path.display()
        )),
    }
}
