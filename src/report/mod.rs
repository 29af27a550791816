//! Reports: the typed report model built from stored data (`build`), its renderings — PDF,
//! self-contained HTML, JSON, DCC XML — with the figures and rows they share (`content`,
//! `plot`), and manifest signatures (`sign`).

pub mod build;
pub mod content;
pub mod dcc;
pub mod fonts;
pub mod html;
pub mod model;
pub mod pdf;
pub mod plot;
pub mod sign;

use model::Report;

/// A rendering of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// PDF certificate.
    Pdf,
    /// Self-contained HTML.
    Html,
    /// The complete model as JSON.
    Json,
    /// PTB Digital Calibration Certificate (XML).
    Dcc,
}

impl Format {
    /// Every format, in the order files are written.
    pub const ALL: [Format; 4] = [Format::Pdf, Format::Html, Format::Json, Format::Dcc];

    /// From its name (`pdf`, `html`, `json`, `dcc`; any case).
    pub fn parse(name: &str) -> Result<Format, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "pdf" => Ok(Format::Pdf),
            "html" => Ok(Format::Html),
            "json" => Ok(Format::Json),
            "dcc" => Ok(Format::Dcc),
            other => Err(format!("{other}: use pdf, html, json, dcc")),
        }
    }

    /// A comma-separated list (`pdf,html`).
    pub fn parse_list(list: &str) -> Result<Vec<Format>, String> {
        list.split(',')
            .filter(|f| !f.trim().is_empty())
            .map(Format::parse)
            .collect()
    }

    /// The file name ending.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Html => "html",
            Format::Json => "json",
            Format::Dcc => "dcc.xml",
        }
    }
}

/// Rendered files (name, bytes) and remarks.
pub type Rendered = (Vec<(String, Vec<u8>)>, Vec<String>);

/// Render the report in each format: (file name, bytes), plus remarks. A draft without what
/// the DCC schema needs gets no DCC (a remark says why); a final report must have it.
pub fn render_all(report: &Report, formats: &[Format], draft: bool) -> Result<Rendered, String> {
    let number = &report.certificate.number;
    let mut out = Vec::new();
    let mut notes = Vec::new();
    for f in formats {
        let name = format!("{number}.{}", f.extension());
        match f {
            Format::Json => out.push((name, report.to_json().into_bytes())),
            Format::Html => out.push((name, html::html(report).into_bytes())),
            Format::Pdf => out.push((name, pdf::pdf(report)?)),
            Format::Dcc => match dcc::dcc(report) {
                Ok(xml) => out.push((name, xml.into_bytes())),
                Err(e) if draft => notes.push(format!("draft: no DCC written: {e}")),
                Err(e) => return Err(e),
            },
        }
    }
    Ok((out, notes))
}
