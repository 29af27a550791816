//! The certificate document as a self-contained HTML page (inline SVG figures, print CSS),
//! readable on screen and printable; every text carries its `lang` so that a browser picks
//! the right fonts and a screen reader the right voice.

use super::document::{Block, Doc, Table};
use super::text::{Lang, Text, g};

/// Escape text for HTML.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A text in its language(s): one `<span lang>` per language, on separate lines.
fn t(text: &Text, lang: Lang) -> String {
    text.parts(lang)
        .iter()
        .map(|(code, s)| {
            format!(
                "<span lang=\"{code}\">{}</span>",
                esc(s).replace('\n', "<br>")
            )
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

fn table(tb: &Table, lang: Lang) -> String {
    let head = if tb.head.iter().all(|h| h.en.is_empty()) {
        String::new()
    } else {
        let ths: String = tb
            .head
            .iter()
            .map(|h| format!("<th>{}</th>", t(h, lang)))
            .collect();
        format!("<thead><tr>{ths}</tr></thead>")
    };
    let body: String = tb
        .rows
        .iter()
        .map(|r| {
            let tds: String = r
                .iter()
                .map(|c| format!("<td>{}</td>", t(c, lang)))
                .collect();
            format!("<tr>{tds}</tr>\n")
        })
        .collect();
    let class = if tb.small { " class=\"small\"" } else { "" };
    format!("<table{class}>{head}<tbody>\n{body}</tbody></table>\n")
}

/// The document as a self-contained HTML page; `code` is the verification code.
pub fn html(doc: &Doc, code: &str) -> String {
    let lang = doc.lang;
    let mut body = String::new();
    body.push_str(&format!(
        "<header><p class=\"lab\">{}</p><h1>{}</h1><p class=\"number\">{} {}</p></header>\n",
        t(&doc.laboratory, lang),
        t(&doc.title, lang),
        t(&g("certificate_no"), lang),
        esc(&doc.number)
    ));
    for block in &doc.blocks {
        match block {
            Block::Heading(h) => body.push_str(&format!("<h2>{}</h2>\n", t(h, lang))),
            Block::Para(p) => body.push_str(&format!("<p>{}</p>\n", t(p, lang))),
            Block::Fields(f) => body.push_str(&table(
                &Table {
                    head: vec![Text::default(), Text::default()],
                    widths: vec![],
                    rows: f.iter().map(|(k, v)| vec![k.clone(), v.clone()]).collect(),
                    small: false,
                },
                lang,
            )),
            Block::Table(tb) => body.push_str(&table(tb, lang)),
            Block::Figure(title, svg) => body.push_str(&format!(
                "<figure><figcaption>{}</figcaption>{svg}</figure>\n",
                t(title, lang)
            )),
            Block::Signatures(s) => {
                body.push_str(&format!("<h2>{}</h2>\n", t(&g("authorisation"), lang)));
                body.push_str(&table(
                    &Table {
                        head: vec![g("function"), g("signatory_name"), g("signature_date")],
                        widths: vec![],
                        rows: s
                            .iter()
                            .map(|(f, n, d)| {
                                vec![f.clone(), Text::plain(n.clone()), Text::plain(d.clone())]
                            })
                            .collect(),
                        small: false,
                    },
                    lang,
                ));
            }
        }
    }
    let watermark = if doc.draft {
        "<div class=\"watermark\">DRAFT</div>\n"
    } else {
        ""
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{} {}</title>\n<style>{STYLE}</style></head>\n<body>\n{watermark}{body}<footer>{} {} — {}: <code>{code}</code></footer>\n</body></html>\n",
        lang.iso639()[0],
        esc(&doc.title.line(lang)),
        esc(&doc.number),
        esc(&doc.number),
        t(&g("end_of_certificate"), lang),
        t(&g("verify_code"), lang),
    )
}

const STYLE: &str = "body{font-family:'DejaVu Sans','Noto Sans CJK SC','Noto Sans SC',Helvetica,Arial,sans-serif;max-width:60em;margin:2em auto;color:#111;background:#fff}\
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.1em;border-bottom:1px solid #999;margin-top:1.6em;break-after:avoid}\
table{border-collapse:collapse;width:100%;font-size:.9em;margin:.4em 0}td,th{border:1px solid #bbb;padding:.25em .5em;text-align:left;vertical-align:top}\
table.small{font-size:.78em}th{background:#eee}thead{display:table-header-group}tr{break-inside:avoid}\
code{font-size:.85em;word-break:break-all}figure{margin:0;break-inside:avoid}figcaption{font-weight:bold;margin:.8em 0 .3em}svg{max-width:100%;height:auto}\
.lab{font-weight:bold;margin:0}.number{font-weight:bold}.watermark{position:fixed;top:40%;left:10%;font-size:9em;color:rgba(200,0,0,.15);transform:rotate(-30deg);pointer-events:none}\
span[lang=en]{color:#333}footer{margin-top:2em;font-size:.8em;color:#555}@media print{body{margin:0;max-width:none}}";
