//! The report model as a PDF certificate (krilla; DejaVu Sans embedded, so the output is the
//! same on every machine): A4 pages with the laboratory, the certificate number and "page x
//! of y" on each, the sections of the HTML rendering as text and tables, the I-V and P-V
//! curves as vector graphics, and a watermark on drafts. Layout is done here: lines are
//! wrapped by an estimate of DejaVu Sans's advance widths (wider than the true mean, so text
//! never overruns its column).

use std::sync::Arc;

use super::content::{curves_svg, figures, number, opt, opt_display, rows};
use super::model::Report;
use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Size, Transform};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};
use krilla_svg::{SurfaceExt, SvgSettings};

const W: f32 = 595.0;
const H: f32 = 842.0;
const MARGIN: f32 = 48.0;
const TOP: f32 = 86.0;
const BOTTOM: f32 = 60.0;
/// Mean advance of DejaVu Sans per em, rounded up (its digits are 0.636 em, lower case
/// ≈ 0.55 em).
const EM: f32 = 0.6;

enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        text: String,
    },
    Rule {
        x1: f32,
        x2: f32,
        y: f32,
    },
    Svg {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        svg: String,
    },
}

struct Layout {
    pages: Vec<Vec<Op>>,
    y: f32,
}

/// Split `text` into lines of at most `width` points at `size`.
fn wrap(text: &str, size: f32, width: f32) -> Vec<String> {
    let max = ((width / (size * EM)).floor() as usize).max(4);
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split(' ') {
            let mut word = word.to_string();
            // A word longer than the column (hashes, JSON) is cut.
            while word.chars().count() > max {
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                let head: String = word.chars().take(max).collect();
                word = word.chars().skip(max).collect();
                lines.push(head);
            }
            let needed =
                line.chars().count() + usize::from(!line.is_empty()) + word.chars().count();
            if needed > max && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&word);
        }
        lines.push(line);
    }
    lines
}

impl Layout {
    fn new() -> Layout {
        Layout {
            pages: vec![Vec::new()],
            y: TOP,
        }
    }

    fn page(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn ensure(&mut self, height: f32) {
        if self.y + height > H - BOTTOM {
            self.pages.push(Vec::new());
            self.y = TOP;
        }
    }

    fn text(&mut self, x: f32, size: f32, bold: bool, text: &str) {
        let y = self.y;
        self.page().push(Op::Text {
            x,
            y,
            size,
            bold,
            text: text.to_string(),
        });
    }

    fn heading(&mut self, text: &str) {
        self.ensure(40.0);
        self.y += 14.0;
        self.text(MARGIN, 11.5, true, text);
        self.y += 4.0;
        let y = self.y;
        self.page().push(Op::Rule {
            x1: MARGIN,
            x2: W - MARGIN,
            y,
        });
        self.y += 12.0;
    }

    fn para(&mut self, text: &str, size: f32) {
        for line in wrap(text, size, W - 2.0 * MARGIN) {
            self.ensure(size * 1.35);
            self.text(MARGIN, size, false, &line);
            self.y += size * 1.35;
        }
        self.y += 3.0;
    }

    /// A table with relative column widths; cells wrap, rows never split across pages.
    fn table(&mut self, head: &[&str], widths: &[f32], rows: &[Vec<String>], size: f32) {
        let total: f32 = widths.iter().sum();
        let usable = W - 2.0 * MARGIN;
        let cols: Vec<f32> = widths.iter().map(|w| w / total * usable).collect();
        let line = size * 1.3;
        let draw_row = |l: &mut Layout, cells: &[String], bold: bool| {
            let wrapped: Vec<Vec<String>> = cells
                .iter()
                .zip(&cols)
                .map(|(c, w)| wrap(c, size, w - 4.0))
                .collect();
            let height = wrapped.iter().map(Vec::len).max().unwrap_or(1) as f32 * line + 3.0;
            l.ensure(height);
            let mut x = MARGIN;
            for (cell, w) in wrapped.iter().zip(&cols) {
                for (k, text) in cell.iter().enumerate() {
                    let y = l.y + k as f32 * line;
                    l.page().push(Op::Text {
                        x: x + 2.0,
                        y,
                        size,
                        bold,
                        text: text.clone(),
                    });
                }
                x += w;
            }
            l.y += height;
            let y = l.y - line + 2.0;
            l.page().push(Op::Rule {
                x1: MARGIN,
                x2: W - MARGIN,
                y,
            });
        };
        let head: Vec<String> = head.iter().map(|h| h.to_string()).collect();
        if !head.iter().all(String::is_empty) {
            draw_row(self, &head, true);
        }
        for r in rows {
            draw_row(self, r, false);
        }
        self.y += 6.0;
    }

    fn svg(&mut self, svg: String, height: f32) {
        self.ensure(height + 8.0);
        let (x, y, w) = (MARGIN, self.y - 8.0, W - 2.0 * MARGIN);
        self.page().push(Op::Svg {
            x,
            y,
            w,
            h: height,
            svg,
        });
        self.y += height + 4.0;
    }
}

fn kv(l: &mut Layout, rows: &[(&str, String)]) {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|(k, v)| vec![k.to_string(), v.clone()])
        .collect();
    l.table(&["", ""], &[1.0, 3.0], &rows, 8.5);
}

fn layout(report: &Report) -> Layout {
    let mut l = Layout::new();
    let lab = &report.laboratory;
    l.text(MARGIN, 17.0, true, &report.title);
    l.y += 24.0;
    kv(
        &mut l,
        &[
            ("Laboratory", opt(&lab.name)),
            ("Address", opt(&lab.address)),
            ("Location of the activity", lab.location.clone()),
            (
                "Customer",
                format!(
                    "{} <{}>",
                    opt(&report.customer),
                    opt(&report.customer_email)
                ),
            ),
            ("Item", opt(&report.item.identification)),
            ("Date of receipt", opt_display(&report.dates.receipt)),
            (
                "Date(s) of measurement",
                format!(
                    "{} – {}",
                    report.dates.measurement_start, report.dates.measurement_end
                ),
            ),
            ("Date of issue", report.dates.issue.to_string()),
            ("Replaces", opt(&report.certificate.previous)),
        ],
    );
    let m = &report.method;
    l.heading("Method");
    l.para(
        &format!(
            "Procedure {} ({}, SHA-256 {}), run {} by {} with {} {}. Parameters: {}",
            m.procedure,
            m.script,
            m.script_sha256,
            report.run.id,
            report.run.operator,
            report.run.software.name,
            report.run.software.version,
            m.parameters
        ),
        8.0,
    );
    l.heading("Conditions during the measurement");
    let conditions = rows::conditions(report);
    l.table(
        &["Quantity", "Range", "Unit"],
        &[2.0, 2.0, 1.0],
        &conditions,
        8.5,
    );
    l.heading("Results");
    let results = rows::results(report);
    l.table(
        &["Quantity", "Value", "Unit", "U", "k", "Verdict"],
        &[2.2, 1.6, 0.8, 1.3, 0.8, 1.0],
        &results,
        8.5,
    );
    l.para(
        "U is the expanded uncertainty: the combined standard uncertainty multiplied by the coverage factor k for a coverage probability of about 95 % (JCGM 100:2008).",
        8.0,
    );
    let svg = curves_svg(report);
    if !svg.is_empty() {
        let height = (W - 2.0 * MARGIN) * 500.0 / 1200.0;
        // Keep the heading with its figure.
        l.ensure(height + 48.0);
        l.heading("Measured and STC-translated I-V and P-V curves");
        l.svg(svg, height);
    }
    for (title, svg) in figures(report) {
        // Each figure keeps its own aspect ratio (width 1200 px in the SVG).
        let ratio = svg_ratio(&svg).unwrap_or(0.35);
        let height = (W - 2.0 * MARGIN) * ratio;
        l.ensure(height + 48.0);
        l.heading(&title);
        l.svg(svg, height);
    }
    for (name, budget) in rows::budgets(report) {
        l.heading(&format!("Uncertainty budget: {name}"));
        l.table(
            &rows::BUDGET_HEAD,
            &[1.6, 1.2, 0.6, 1.1, 1.1, 1.1, 1.0, 0.7],
            &budget,
            7.0,
        );
    }
    l.heading("Metrological traceability");
    l.para(
        "The results are traceable to the SI through the reference standards below, calibrated by the laboratories named.",
        8.5,
    );
    let refs: Vec<Vec<String>> = report
        .traceability
        .iter()
        .map(|r| {
            let c = &r.certificate;
            vec![
                format!("{} ({})", r.id, r.serial_number),
                format!("{}, {}", c.number, c.laboratory),
                format!(
                    "{} {} ± {} (k = {})",
                    number(c.value),
                    c.unit,
                    number(c.expanded_uncertainty),
                    number(c.coverage_factor)
                ),
                c.calibration_date.to_string(),
                c.due_date.to_string(),
            ]
        })
        .collect();
    l.table(
        &["Reference", "Certificate", "Value", "Calibrated", "Due"],
        &[1.4, 2.6, 1.8, 0.9, 0.9],
        &refs,
        7.5,
    );
    l.heading("Statement of conformity");
    let conformity = rows::conformity(report);
    l.table(
        &["Result", "Verdict", "Decision rule (ILAC-G8:09/2019)"],
        &[1.5, 1.0, 3.0],
        &conformity,
        8.5,
    );
    l.heading("Deviations and interruptions");
    let deviations = rows::deviations(report);
    if deviations.is_empty() {
        l.para("None.", 8.5);
    } else {
        l.table(
            &["Activity", "Kind", "Details"],
            &[0.7, 1.3, 4.0],
            &deviations,
            7.0,
        );
    }
    l.heading("Statements");
    for s in &report.statements {
        l.para(s, 8.5);
    }
    l.heading("Authorisation");
    l.para(
        &format!(
            "{}, {}. {} raw records, each identified by its SHA-256 in the JSON rendering of this certificate.",
            opt(&report.signatory.name),
            opt(&report.signatory.role),
            report.raw_data.len()
        ),
        8.5,
    );
    l.para(
        &format!("End of certificate {}.", report.certificate.number),
        8.5,
    );
    l
}

/// Height over width of an SVG document from its `width` and `height` attributes.
fn svg_ratio(svg: &str) -> Option<f32> {
    let attr = |name: &str| -> Option<f32> {
        let start = svg.find(&format!("{name}=\""))? + name.len() + 2;
        let end = svg[start..].find('"')? + start;
        svg[start..end].trim_end_matches("px").parse().ok()
    };
    Some(attr("height")? / attr("width")?)
}

fn fill(gray: u8, opacity: f32) -> Fill {
    Fill {
        paint: rgb::Color::new(gray, gray, gray).into(),
        opacity: NormalizedF32::new(opacity).unwrap_or(NormalizedF32::ONE),
        rule: Default::default(),
    }
}

/// Render the model as PDF bytes.
pub fn pdf(report: &Report) -> Result<Vec<u8>, String> {
    let regular = Font::new(Arc::new(super::fonts::REGULAR.to_vec()).into(), 0)
        .ok_or("the embedded DejaVu Sans font cannot be loaded")?;
    let bold = Font::new(Arc::new(super::fonts::BOLD.to_vec()).into(), 0)
        .ok_or("the embedded DejaVu Sans Bold font cannot be loaded")?;
    let mut svg_options = usvg::Options::default();
    svg_options
        .fontdb_mut()
        .load_font_data(super::fonts::REGULAR.to_vec());
    svg_options
        .fontdb_mut()
        .set_sans_serif_family("DejaVu Sans");
    let l = layout(report);
    let total = l.pages.len();
    let number = report.certificate.number.clone();
    let lab = opt(&report.laboratory.name);
    let draft = report.certificate.draft;
    let mut document = Document::new();
    for (k, ops) in l.pages.iter().enumerate() {
        let settings = PageSettings::from_wh(W, H).ok_or("bad page size")?;
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        let text =
            |s: &mut krilla::surface::Surface, x: f32, y: f32, size: f32, b: bool, t: &str| {
                s.draw_text(
                    Point::from_xy(x, y),
                    if b { bold.clone() } else { regular.clone() },
                    size,
                    t,
                    false,
                    TextDirection::Auto,
                );
            };
        surface.set_fill(Some(fill(0, 1.0)));
        text(&mut surface, MARGIN, 36.0, 8.5, true, &lab);
        text(
            &mut surface,
            MARGIN,
            50.0,
            8.5,
            false,
            &format!("Certificate {number} — page {} of {total}", k + 1),
        );
        for op in ops {
            match op {
                Op::Text {
                    x,
                    y,
                    size,
                    bold: b,
                    text: t,
                } => text(&mut surface, *x, *y, *size, *b, t),
                Op::Rule { x1, x2, y } => {
                    let mut pb = PathBuilder::new();
                    pb.move_to(*x1, *y);
                    pb.line_to(*x2, *y);
                    if let Some(path) = pb.finish() {
                        surface.set_fill(None);
                        surface.set_stroke(Some(Stroke {
                            paint: rgb::Color::new(170, 170, 170).into(),
                            width: 0.5,
                            ..Default::default()
                        }));
                        surface.draw_path(&path);
                        surface.set_stroke(None);
                        surface.set_fill(Some(fill(0, 1.0)));
                    }
                }
                Op::Svg { x, y, w, h, svg } => {
                    let tree = usvg::Tree::from_str(svg, &svg_options)
                        .map_err(|e| format!("plot: {e}"))?;
                    surface.push_transform(&Transform::from_translate(*x, *y));
                    surface.draw_svg(
                        &tree,
                        Size::from_wh(*w, *h).ok_or("bad plot size")?,
                        SvgSettings::default(),
                    );
                    surface.pop();
                    surface.set_fill(Some(fill(0, 1.0)));
                }
            }
        }
        text(
            &mut surface,
            MARGIN,
            H - 30.0,
            7.5,
            false,
            &format!(
                "{number} — page {} of {total}. The results relate only to the item calibrated.",
                k + 1
            ),
        );
        if draft {
            surface.set_fill(Some(fill(200, 0.35)));
            surface.push_transform(&Transform::from_row(0.8, -0.6, 0.6, 0.8, 120.0, 620.0));
            text(&mut surface, 0.0, 0.0, 110.0, true, "DRAFT");
            surface.pop();
        }
        surface.finish();
        page.finish();
    }
    document.finish().map_err(|e| format!("PDF: {e:?}"))
}
