//! The certificate document as a PDF (krilla): A4 pages with the laboratory, the certificate
//! number, "page x of y" and a QR code (number + verification code) on each; text laid out by
//! the true advances of the embedded fonts (DejaVu Sans, the Noto Sans SC subset for Chinese)
//! and broken only where Unicode line breaking (UAX #14) allows — between words, and between
//! ideographs; tables whose header never sits alone at a page foot and is repeated on a
//! continued table; figures as vector graphics; the JSON certificate embedded as an attachment;
//! title and language in the document metadata; a watermark on drafts. The laboratory's
//! signature is added afterwards (`pades`).

use krilla::Document;
use krilla::color::rgb;
use krilla::embed::{AssociationKind, EmbeddedFile, MimeType};
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};
use krilla_svg::{SurfaceExt, SvgSettings};

use super::document::{Block, Doc, Table};
use super::fonts::{self, Face};
use super::text::{Text, g, gf};

const W: f32 = 595.0;
const H: f32 = 842.0;
const MARGIN: f32 = 48.0;
const TOP: f32 = 92.0;
const BOTTOM: f32 = 64.0;
/// Side of the QR code on every page [pt].
const QR: f32 = 54.0;

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
    lang: super::text::Lang,
}

/// Split `text` into lines no wider than `width` points, breaking only at UAX #14 break
/// opportunities (a token longer than the line is cut as a last resort); `\n` ends a line.
pub fn wrap(text: &str, size: f32, bold: bool, width: f32) -> Vec<String> {
    let w = |s: &str| fonts::width(s, size, bold);
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        let mut last = 0;
        for (pos, _) in unicode_linebreak::linebreaks(paragraph) {
            // Identifiers stay whole: no break after a hyphen followed by a capital or a
            // digit ("NIM-PV-2026-0311"); "four-terminal" may still break.
            if paragraph[..pos].ends_with('-')
                && paragraph[pos..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            {
                continue;
            }
            let segment = &paragraph[last..pos];
            last = pos;
            let candidate = format!("{line}{segment}");
            if w(candidate.trim_end()) <= width {
                line = candidate;
                continue;
            }
            if !line.trim().is_empty() {
                lines.push(line.trim_end().to_string());
            }
            line = String::new();
            // A segment wider than the line on its own (a hash, a long number) is cut.
            for c in segment.chars() {
                let mut next = line.clone();
                next.push(c);
                if w(next.trim_end()) > width && !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                line.push(c);
            }
        }
        lines.push(line.trim_end().to_string());
    }
    lines
}

impl Layout {
    fn new(lang: super::text::Lang) -> Layout {
        Layout {
            pages: vec![Vec::new()],
            y: TOP,
            lang,
        }
    }

    fn page(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    /// Start a new page unless `height` still fits; true when a page was started.
    fn ensure(&mut self, height: f32) -> bool {
        if self.y + height > H - BOTTOM {
            self.pages.push(Vec::new());
            self.y = TOP;
            return true;
        }
        false
    }

    fn text_at(&mut self, x: f32, size: f32, bold: bool, text: &str) {
        let y = self.y;
        self.page().push(Op::Text {
            x,
            y,
            size,
            bold,
            text: text.to_string(),
        });
    }

    fn rule(&mut self, y: f32) {
        self.page().push(Op::Rule {
            x1: MARGIN,
            x2: W - MARGIN,
            y,
        });
    }

    /// A heading, kept with at least `keep` points of what follows.
    fn heading(&mut self, text: &Text, keep: f32) {
        let lines = wrap(&text.line(self.lang), 11.0, true, W - 2.0 * MARGIN);
        let height = lines.len() as f32 * 14.0 + 16.0;
        self.ensure(height + keep);
        self.y += 12.0;
        for line in lines {
            self.text_at(MARGIN, 11.0, true, &line);
            self.y += 14.0;
        }
        let y = self.y - 10.0;
        self.rule(y);
        self.y += 4.0;
    }

    /// A paragraph; in two languages, the second follows the first after a small gap.
    fn para(&mut self, text: &Text, size: f32) {
        for (_, part) in text.parts(self.lang) {
            for line in wrap(part, size, false, W - 2.0 * MARGIN) {
                self.ensure(size * 1.4);
                self.text_at(MARGIN, size, false, &line);
                self.y += size * 1.4;
            }
            self.y += 2.5;
        }
        self.y += 2.0;
    }

    /// A table: cells wrap, a row never splits across pages, the header is kept with the
    /// first row and repeated at the top of every continued page.
    fn table(&mut self, t: &Table) {
        let size = if t.small { 7.0 } else { 8.5 };
        let total: f32 = t.widths.iter().sum();
        let usable = W - 2.0 * MARGIN;
        let cols: Vec<f32> = t.widths.iter().map(|w| w / total * usable).collect();
        let line = size * 1.35;
        let lang = self.lang;
        let wrap_row = |cells: &[Text], bold: bool| -> Vec<Vec<String>> {
            cells
                .iter()
                .zip(&cols)
                .map(|(c, w)| wrap(&c.lines(lang), size, bold, w - 5.0))
                .collect()
        };
        let height = |rows: &Vec<Vec<String>>| {
            rows.iter().map(Vec::len).max().unwrap_or(1) as f32 * line + 4.0
        };
        let head = (!t.head.iter().all(|h| h.en.is_empty())).then(|| wrap_row(&t.head, true));
        let draw = |l: &mut Layout, cells: &Vec<Vec<String>>, bold: bool| {
            let h = height(cells);
            let mut x = MARGIN;
            for (cell, w) in cells.iter().zip(&cols) {
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
            l.y += h;
            let y = l.y - line + 2.0;
            l.rule(y);
        };
        let rows: Vec<Vec<Vec<String>>> = t.rows.iter().map(|r| wrap_row(r, false)).collect();
        let head_height = head.as_ref().map_or(0.0, height);
        let first = rows.first().map_or(0.0, height);
        // A short table is kept whole on one page; a long one keeps its header with the
        // first row.
        let whole = head_height + rows.iter().map(height).sum::<f32>();
        self.ensure(if whole < 260.0 {
            whole
        } else {
            head_height + first
        });
        if let Some(h) = &head {
            draw(self, h, true);
        }
        let n = rows.len();
        for (k, r) in rows.iter().enumerate() {
            // The last row never starts a page alone: it moves with the one before it.
            let need = if k + 2 == n {
                height(r) + height(&rows[k + 1])
            } else {
                height(r)
            };
            if self.ensure(need)
                && let Some(h) = &head
            {
                let mut continued = h.clone();
                if let Some(first_cell) = continued.first_mut().and_then(|c| c.first_mut()) {
                    if first_cell.ends_with(|c: char| c.is_ascii_alphanumeric()) {
                        first_cell.push(' ');
                    }
                    first_cell.push_str(&g("continued").line(lang));
                }
                draw(self, &continued, true);
            }
            draw(self, r, false);
        }
        self.y += 6.0;
    }

    fn svg(&mut self, title: &Text, svg: String) {
        let ratio = svg_ratio(&svg).unwrap_or(0.35);
        let height = (W - 2.0 * MARGIN) * ratio;
        self.heading(title, height + 8.0);
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

/// The height a block needs before anything may follow it on the same page: a paragraph's
/// lines, a short table whole, a long table's header and first row, a figure whole.
fn needed(block: &Block, lang: super::text::Lang) -> f32 {
    let usable = W - 2.0 * MARGIN;
    let para = |t: &Text, size: f32| -> f32 {
        t.parts(lang)
            .iter()
            .map(|(_, part)| wrap(part, size, false, usable).len() as f32 * size * 1.4 + 2.5)
            .sum::<f32>()
            + 2.0
    };
    match block {
        Block::Heading(t) => para(t, 11.0) + 16.0,
        Block::Para(t) => para(t, 8.5),
        Block::Table(t) => {
            let size = if t.small { 7.0 } else { 8.5 };
            let total: f32 = t.widths.iter().sum();
            let row = |cells: &[Text]| -> f32 {
                cells
                    .iter()
                    .zip(&t.widths)
                    .map(|(c, w)| wrap(&c.lines(lang), size, false, w / total * usable - 5.0).len())
                    .max()
                    .unwrap_or(1) as f32
                    * size
                    * 1.35
                    + 4.0
            };
            let rows: Vec<f32> = t.rows.iter().map(|r| row(r)).collect();
            let whole = row(&t.head) + rows.iter().sum::<f32>();
            if whole < 260.0 {
                whole
            } else {
                row(&t.head) + rows.first().copied().unwrap_or(0.0)
            }
        }
        Block::Fields(f) => f.len() as f32 * 24.0,
        Block::Figure(_, svg) => usable * svg_ratio(svg).unwrap_or(0.35) + 30.0,
        Block::Signatures(s) => 40.0 + s.len() as f32 * 24.0,
    }
}

fn layout(doc: &Doc) -> Layout {
    let mut l = Layout::new(doc.lang);
    for line in wrap(&doc.title.lines(doc.lang), 18.0, true, W - 2.0 * MARGIN) {
        l.y += 6.0;
        l.text_at(MARGIN, 18.0, true, &line);
        l.y += 20.0;
    }
    l.y += 6.0;
    for (k, block) in doc.blocks.iter().enumerate() {
        match block {
            Block::Heading(t) => {
                // Kept with what follows up to its first table or figure (paragraphs that
                // introduce a table stay with it), at most half a page.
                let mut keep = 0.0;
                for next in &doc.blocks[k + 1..] {
                    keep += needed(next, doc.lang);
                    if !matches!(next, Block::Para(_)) {
                        break;
                    }
                }
                l.heading(t, keep.min(380.0));
            }
            Block::Para(t) => l.para(t, 8.5),
            Block::Fields(fields) => l.table(&Table {
                head: vec![Text::default(), Text::default()],
                widths: vec![1.3, 3.0],
                rows: fields
                    .iter()
                    .map(|(k, v)| vec![k.clone(), v.clone()])
                    .collect(),
                small: false,
            }),
            Block::Table(t) => l.table(t),
            Block::Figure(title, svg) => l.svg(title, svg.clone()),
            Block::Signatures(s) => {
                l.heading(&g("authorisation"), 60.0);
                l.table(&Table {
                    head: vec![g("function"), g("signatory_name"), g("signature_date")],
                    widths: vec![1.2, 2.4, 1.0],
                    rows: s
                        .iter()
                        .map(|(f, name, date)| {
                            vec![
                                f.clone(),
                                Text::plain(name.clone()),
                                Text::plain(date.clone()),
                            ]
                        })
                        .collect(),
                    small: false,
                });
            }
        }
    }
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

/// The fonts a page draws with.
struct Fonts {
    regular: Font,
    bold: Font,
    cjk: Font,
    system: Option<Font>,
}

impl Fonts {
    fn load() -> Result<Fonts, String> {
        let load = |data: &'static [u8], index: u32, what: &str| {
            Font::new(data.into(), index)
                .ok_or_else(|| format!("the embedded {what} font cannot be loaded"))
        };
        Ok(Fonts {
            regular: load(fonts::REGULAR, 0, "DejaVu Sans")?,
            bold: load(fonts::BOLD, 0, "DejaVu Sans Bold")?,
            cjk: load(fonts::CJK, 0, "Noto Sans SC")?,
            system: fonts::metrics(Face::SystemCjk, false)
                .and_then(|m| Font::new(m.data.into(), m.index)),
        })
    }

    /// Draw `text` at (x, y) [baseline], run by run in the face that has each character.
    fn draw(
        &self,
        s: &mut krilla::surface::Surface,
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        text: &str,
    ) -> Result<(), String> {
        let mut x = x;
        for (face, run) in fonts::runs(text)? {
            let font = match face {
                Face::Latin if bold => self.bold.clone(),
                Face::Latin => self.regular.clone(),
                Face::Cjk => self.cjk.clone(),
                Face::SystemCjk => self.system.clone().ok_or("no system CJK font")?,
            };
            s.draw_text(
                Point::from_xy(x, y),
                font,
                size,
                &run,
                false,
                TextDirection::Auto,
            );
            x += fonts::width(&run, size, bold);
        }
        Ok(())
    }
}

/// The QR code of `text` as filled squares at (x, y) with side `side`.
fn draw_qr(
    s: &mut krilla::surface::Surface,
    text: &str,
    x: f32,
    y: f32,
    side: f32,
) -> Result<(), String> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| format!("QR code: {e}"))?;
    let n = code.width();
    // Four modules of quiet zone on every side (ISO/IEC 18004).
    let module = side / (n as f32 + 8.0);
    let mut pb = PathBuilder::new();
    for (k, color) in code.to_colors().iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (row, col) = ((k / n) as f32, (k % n) as f32);
            if let Some(r) = Rect::from_xywh(
                x + (col + 4.0) * module,
                y + (row + 4.0) * module,
                module,
                module,
            ) {
                pb.push_rect(r);
            }
        }
    }
    if let Some(path) = pb.finish() {
        s.set_fill(Some(fill(0, 1.0)));
        s.draw_path(&path);
    }
    Ok(())
}

/// The text of every page's QR code: certificate number and verification code.
pub fn qr_text(number: &str, code: &str) -> String {
    format!("PVSTATION-CERT:{number};SHA256:{code}")
}

/// Render the document as PDF bytes. `code` is the verification code (first 16 hex digits of
/// the JSON certificate's SHA-256), `json` the JSON certificate to embed (None: no attachment).
pub fn pdf(doc: &Doc, code: &str, json: Option<(&str, &[u8])>) -> Result<Vec<u8>, String> {
    let fonts_ = Fonts::load()?;
    let mut svg_options = usvg::Options::default();
    svg_options
        .fontdb_mut()
        .load_font_data(fonts::REGULAR.to_vec());
    svg_options
        .fontdb_mut()
        .set_sans_serif_family("DejaVu Sans");
    let l = layout(doc);
    let lang = doc.lang;
    let total = l.pages.len();
    let mut document = Document::new();
    let qr = qr_text(&doc.number, code);
    for (k, ops) in l.pages.iter().enumerate() {
        let settings = PageSettings::from_wh(W, H).ok_or("bad page size")?;
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        surface.set_fill(Some(fill(0, 1.0)));
        let page_of = gf(
            "page_of",
            &[
                ("page", &(k + 1).to_string()),
                ("pages", &total.to_string()),
            ],
        )
        .line(lang);
        let mut y = 28.0;
        for line in wrap(
            &doc.laboratory.lines(lang),
            8.0,
            true,
            W - 2.0 * MARGIN - QR - 8.0,
        ) {
            fonts_.draw(&mut surface, MARGIN, y, 8.0, true, &line)?;
            y += 10.0;
        }
        fonts_.draw(
            &mut surface,
            MARGIN,
            y + 2.0,
            8.0,
            false,
            &format!(
                "{} {} — {page_of}",
                g("certificate_no").line(lang),
                doc.number
            ),
        )?;
        draw_qr(&mut surface, &qr, W - MARGIN - QR + 8.0, 12.0, QR)?;
        for op in ops {
            match op {
                Op::Text {
                    x,
                    y,
                    size,
                    bold,
                    text,
                } => fonts_.draw(&mut surface, *x, *y, *size, *bold, text)?,
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
        let footer = format!(
            "{} — {page_of} — {}: {code}",
            doc.number,
            g("verify_code").line(lang)
        );
        fonts_.draw(&mut surface, MARGIN, H - 34.0, 7.5, false, &footer)?;
        fonts_.draw(
            &mut surface,
            MARGIN,
            H - 24.0,
            7.0,
            false,
            &g("only_item").line(lang),
        )?;
        if doc.draft {
            surface.set_fill(Some(fill(200, 0.35)));
            surface.push_transform(&Transform::from_row(0.8, -0.6, 0.6, 0.8, 120.0, 620.0));
            fonts_.draw(&mut surface, 0.0, 0.0, 110.0, true, "DRAFT")?;
            surface.pop();
        }
        surface.finish();
        page.finish();
    }
    let title = format!("{} {}", doc.title.line(lang), doc.number);
    document.set_metadata(
        Metadata::new()
            .title(title)
            .language(lang.iso639()[0].to_string())
            .creator(format!("pvstation {}", env!("CARGO_PKG_VERSION")))
            .keywords(vec![qr.clone()])
            .authors(vec![doc.laboratory.line(lang)]),
    );
    if let Some((name, bytes)) = json {
        document.embed_file(EmbeddedFile {
            path: name.to_string(),
            mime_type: MimeType::new("application/json"),
            description: Some(format!("JSON certificate {}", doc.number)),
            association_kind: AssociationKind::Source,
            data: bytes.to_vec().into(),
            modification_date: None,
            // Stored as it is: `report verify` reads it back without a decompressor.
            compress: Some(false),
            location: None,
        });
    }
    document.finish().map_err(|e| format!("PDF: {e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_break_between_words_and_ideographs_never_inside_a_word() {
        let text = "The expanded uncertainty U is the combined standard uncertainty multiplied by the coverage factor k";
        let lines = wrap(text, 8.5, false, 150.0);
        assert!(lines.len() > 2);
        for l in &lines {
            assert!(fonts::width(l, 8.5, false) <= 150.0, "{l}");
        }
        // Every word survives whole.
        let words: Vec<&str> = lines.iter().flat_map(|l| l.split(' ')).collect();
        assert_eq!(words, text.split(' ').collect::<Vec<_>>());
        let zh = "本证书的校准结果仅对所校准的对象有效。未经本实验室书面批准，不得部分复制本证书。";
        let lines = wrap(zh, 10.0, false, 100.0);
        assert!(lines.len() >= 4, "{lines:?}");
        // No line starts with a closing punctuation mark (UAX #14 keeps it with the text).
        assert!(
            lines
                .iter()
                .all(|l| !l.starts_with('，') && !l.starts_with('。')),
            "{lines:?}"
        );
        assert_eq!(lines.concat(), zh);
        // A certificate number is not split at its hyphens.
        let lines = wrap("certificate NIM-PV-2026-0311 by NIM", 8.5, false, 100.0);
        assert!(
            lines.iter().any(|l| l.contains("NIM-PV-2026-0311")),
            "{lines:?}"
        );
    }
}
