//! Reports: the report model built from stored data, its renderers, and the plots.

pub mod dcc;
pub mod fonts;
pub mod model;
pub mod pdf;
pub mod plot;
pub mod render;
pub mod sign;

/// Rendered files (name, bytes) and remarks.
pub type Rendered = (Vec<(String, Vec<u8>)>, Vec<String>);

/// Render the model in each format (`pdf`, `html`, `json`, `dcc`): (file name, bytes), plus
/// remarks. A draft without what the DCC schema needs gets no DCC (a remark says why); a
/// final report must have it.
pub fn render_all(
    report: &serde_json::Value,
    formats: &[String],
    draft: bool,
) -> Result<Rendered, String> {
    let number = render::show(&report["certificate"]["number"]);
    let mut out = Vec::new();
    let mut notes = Vec::new();
    for f in formats {
        match f.as_str() {
            "json" => out.push((format!("{number}.json"), render::json(report).into_bytes())),
            "html" => out.push((format!("{number}.html"), render::html(report).into_bytes())),
            "pdf" => out.push((format!("{number}.pdf"), pdf::pdf(report)?)),
            "dcc" => match dcc::dcc(report) {
                Ok(xml) => out.push((format!("{number}.dcc.xml"), xml.into_bytes())),
                Err(e) if draft => notes.push(format!("draft: no DCC written: {e}")),
                Err(e) => return Err(e),
            },
            other => return Err(format!("format `{other}`: use pdf, html, json, dcc")),
        }
    }
    Ok((out, notes))
}
