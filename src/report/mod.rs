//! Reports: the typed report model built from stored data (`build`), its renderings — PDF,
//! self-contained HTML, JSON, DCC XML — with the figures and rows they share (`content`,
//! `plot`), and manifest signatures (`sign`).

mod annex;
pub mod build;
pub mod content;
pub mod dcc;
pub mod der;
pub mod document;
pub mod fonts;
pub mod html;
pub mod model;
mod outdoor;
pub mod pades;
pub mod pdf;
pub mod plot;
pub mod sign;
pub mod text;

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

/// The verification code of a JSON certificate: the first 16 hex digits of its SHA-256 (what
/// the QR code on every page and the manifest carry).
pub fn verification_code(json: &[u8]) -> String {
    crate::store::db::sha256_hex(json)
        .chars()
        .take(16)
        .collect()
}

/// The laboratory's document signature for the PDF.
pub struct LabSigning<'a> {
    /// Its key and certificate.
    pub key: &'a pades::LabKey,
    /// A demo key (said so on the certificate).
    pub demo: bool,
    /// Signing time [s since epoch].
    pub at: f64,
}

/// Render the report in each format: (file name, bytes), plus remarks. A draft without what
/// the DCC schema needs gets no DCC (a remark says why); a final report must have it. The PDF
/// and HTML show the verification code of the JSON rendering, and the PDF embeds it and, with
/// a laboratory key, carries the laboratory's signature.
pub fn render_all(
    report: &Report,
    formats: &[Format],
    draft: bool,
    lab: Option<&LabSigning>,
) -> Result<Rendered, String> {
    let number = &report.certificate.number;
    let json = report.to_json().into_bytes();
    let code = verification_code(&json);
    let mut doc = document::document(report);
    if let Some(l) = lab {
        let mut signer = l.key.signer();
        if l.demo {
            signer = format!("{signer}, {}", text::g("demo_key").line(doc.lang));
        }
        let at = doc.blocks.len().saturating_sub(1);
        doc.blocks.insert(
            at,
            document::Block::Para(text::gf("digital_signature", &[("signer", &signer)])),
        );
    }
    // Before "End of certificate", the last block.
    let at = doc.blocks.len().saturating_sub(1);
    doc.blocks
        .insert(at, document::Block::Para(text::g("verify_how")));
    let json_name = format!("{number}.json");
    let mut out = Vec::new();
    let mut notes = Vec::new();
    for f in formats {
        let name = format!("{number}.{}", f.extension());
        match f {
            Format::Json => out.push((name, json.clone())),
            Format::Html => out.push((name, html::html(&doc, &code).into_bytes())),
            Format::Pdf => {
                let bytes = pdf::pdf(&doc, &code, Some((&json_name, &json)))?;
                let bytes = match lab {
                    Some(l) => pades::sign_pdf(
                        &bytes,
                        l.key,
                        &format!("calibration certificate {number}"),
                        l.at,
                    )?,
                    None => bytes,
                };
                out.push((name, bytes));
            }
            Format::Dcc => match dcc::dcc(report) {
                Ok(xml) => out.push((name, xml.into_bytes())),
                Err(e) if draft => notes.push(format!("draft: no DCC written: {e}")),
                Err(e) => return Err(e),
            },
        }
    }
    Ok((out, notes))
}
