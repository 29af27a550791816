//! The fonts of the reports and plots, shipped in `reports/fonts/` and embedded here, and the
//! choice of font for each character: DejaVu Sans for Latin, Greek and symbols; the Noto Sans
//! SC subset (GB 2312 + the glossary) for Chinese; a system CJK font for a Chinese character
//! outside the subset when one is installed; otherwise the character is named in an error —
//! a certificate never shows a missing-glyph box.

use std::sync::OnceLock;

/// DejaVu Sans 2.37.
pub const REGULAR: &[u8] = include_bytes!("../../reports/fonts/DejaVuSans.ttf");
/// DejaVu Sans Bold 2.37.
pub const BOLD: &[u8] = include_bytes!("../../reports/fonts/DejaVuSans-Bold.ttf");
/// Noto Sans CJK SC Regular, subset (`reports/fonts/make-cjk-subset.py`).
pub const CJK: &[u8] = include_bytes!("../../reports/fonts/NotoSansSC-Subset.otf");

/// Where a system CJK font is looked for (Debian `fonts-noto-cjk`), with its face index.
const SYSTEM_CJK: [(&str, u32); 2] = [
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    (
        "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
        0,
    ),
];

/// Which of the fonts draws a piece of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Face {
    /// DejaVu Sans (bold when asked).
    Latin,
    /// The embedded CJK subset.
    Cjk,
    /// The system CJK font.
    SystemCjk,
}

/// A parsed font: its bytes, face index and metrics.
pub struct Metrics {
    /// The font file.
    pub data: &'static [u8],
    /// Face index in a collection.
    pub index: u32,
    face: ttf_parser::Face<'static>,
}

impl Metrics {
    fn load(data: &'static [u8], index: u32) -> Option<Metrics> {
        let face = ttf_parser::Face::parse(data, index).ok()?;
        Some(Metrics { data, index, face })
    }

    /// Whether the font has a glyph for `c`.
    pub fn has(&self, c: char) -> bool {
        self.face.glyph_index(c).is_some()
    }

    /// Advance width of `c` at `size` points (0 when the font lacks it).
    pub fn advance(&self, c: char, size: f32) -> f32 {
        let units = f32::from(self.face.units_per_em());
        self.face
            .glyph_index(c)
            .and_then(|g| self.face.glyph_hor_advance(g))
            .map_or(0.0, |a| f32::from(a) / units * size)
    }
}

fn cached(
    cell: &'static OnceLock<Option<Metrics>>,
    f: impl FnOnce() -> Option<Metrics>,
) -> Option<&'static Metrics> {
    cell.get_or_init(f).as_ref()
}

/// The metrics of a face (None: the system CJK font is not installed, or a font cannot be
/// parsed).
pub fn metrics(face: Face, bold: bool) -> Option<&'static Metrics> {
    static LATIN: OnceLock<Option<Metrics>> = OnceLock::new();
    static LATIN_BOLD: OnceLock<Option<Metrics>> = OnceLock::new();
    static CJK_FACE: OnceLock<Option<Metrics>> = OnceLock::new();
    static SYSTEM: OnceLock<Option<Metrics>> = OnceLock::new();
    match face {
        Face::Latin if bold => cached(&LATIN_BOLD, || Metrics::load(BOLD, 0)),
        Face::Latin => cached(&LATIN, || Metrics::load(REGULAR, 0)),
        Face::Cjk => cached(&CJK_FACE, || Metrics::load(CJK, 0)),
        Face::SystemCjk => cached(&SYSTEM, || {
            SYSTEM_CJK.iter().find_map(|(path, index)| {
                let bytes: &'static [u8] = Box::leak(std::fs::read(path).ok()?.into_boxed_slice());
                Metrics::load(bytes, *index)
            })
        }),
    }
}

/// The face that draws `c`: DejaVu when it has the glyph, else the CJK subset, else the system
/// CJK font. Err names the character no font has.
pub fn face_for(c: char) -> Result<Face, String> {
    if c.is_whitespace() || c.is_control() {
        return Ok(Face::Latin);
    }
    for face in [Face::Latin, Face::Cjk, Face::SystemCjk] {
        if metrics(face, false).is_some_and(|m| m.has(c)) {
            return Ok(face);
        }
    }
    Err(format!(
        "the character '{c}' (U+{:04X}) is in no font the certificate can embed: neither DejaVu Sans nor the Noto Sans SC subset has it, and no system CJK font is installed (apt-get install fonts-noto-cjk), or rephrase the text",
        u32::from(c)
    ))
}

/// Split `text` into runs of one face each.
pub fn runs(text: &str) -> Result<Vec<(Face, String)>, String> {
    let mut out: Vec<(Face, String)> = Vec::new();
    for c in text.chars() {
        let mut face = face_for(c)?;
        // Spaces join the run they are in.
        if c == ' '
            && let Some((last, _)) = out.last()
        {
            face = *last;
        }
        match out.last_mut() {
            Some((f, s)) if *f == face => s.push(c),
            _ => out.push((face, c.to_string())),
        }
    }
    Ok(out)
}

/// Width of `text` at `size` points, by the advances of the faces that draw it.
pub fn width(text: &str, size: f32, bold: bool) -> f32 {
    text.chars()
        .map(|c| {
            let face = face_for(c).unwrap_or(Face::Latin);
            metrics(face, bold && face == Face::Latin)
                .or_else(|| metrics(Face::Latin, false))
                .map_or(size * 0.6, |m| m.advance(c, size))
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_glossary_character_has_a_face_in_the_embedded_fonts() {
        let latin = metrics(Face::Latin, false).expect("DejaVu parses");
        let cjk = metrics(Face::Cjk, false).expect("the CJK subset parses");
        for c in crate::report::text::glossary_characters() {
            if c.is_whitespace() {
                continue;
            }
            assert!(latin.has(c) || cjk.has(c), "'{c}' U+{:04X}", u32::from(c));
        }
        // GB 2312's first and last hanzi are in the subset.
        assert!(cjk.has('啊') && cjk.has('齄'));
    }

    #[test]
    fn text_splits_into_runs_by_face_and_measures_by_advance() {
        let r = runs("校准证书 Calibration").expect("drawable");
        assert_eq!(r[0].0, Face::Cjk);
        assert_eq!(r.last().map(|x| x.0), Some(Face::Latin));
        // An ideograph is one em wide; DejaVu's 'i' is narrower than its 'W'.
        assert!((width("校", 10.0, false) - 10.0).abs() < 0.01);
        assert!(width("i", 10.0, false) < width("W", 10.0, false));
        assert!(width("W", 10.0, true) > width("W", 10.0, false));
    }
}
