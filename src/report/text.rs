//! The languages of a certificate and its texts: every label and statement comes from the
//! reviewed glossary (`reports/glossary.toml`, Chinese and English), never from strings
//! scattered through the renderers. A [`Text`] holds both languages; a renderer shows one or
//! both as [`Lang`] says.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

/// The glossary as shipped.
pub const GLOSSARY: &str = include_str!("../../reports/glossary.toml");

/// The language(s) of a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Chinese.
    Zh,
    /// Chinese with English (each label: Chinese, then English).
    ZhEn,
}

impl Lang {
    /// From `en`, `zh` or `zh-en`.
    pub fn parse(text: &str) -> Result<Lang, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "en" => Ok(Lang::En),
            "zh" => Ok(Lang::Zh),
            "zh-en" | "zh_en" => Ok(Lang::ZhEn),
            other => Err(format!(
                "language `{other}`: use en, zh or zh-en (Chinese with English)"
            )),
        }
    }

    /// `en`, `zh` or `zh-en`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
            Lang::ZhEn => "zh-en",
        }
    }

    /// The ISO 639-1 codes it uses, first the main one.
    pub fn iso639(self) -> &'static [&'static str] {
        match self {
            Lang::En => &["en"],
            Lang::Zh => &["zh"],
            Lang::ZhEn => &["zh", "en"],
        }
    }
}

/// A text in both languages (a number or a name: the same in both).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Text {
    /// Chinese.
    pub zh: String,
    /// English.
    pub en: String,
}

impl Text {
    /// The same text in every language.
    pub fn plain(text: impl Into<String>) -> Text {
        let t = text.into();
        Text {
            zh: t.clone(),
            en: t,
        }
    }

    /// The parts to show in `lang`: (ISO 639-1 code, text); one part when both languages
    /// say the same.
    pub fn parts(&self, lang: Lang) -> Vec<(&'static str, &str)> {
        match lang {
            Lang::En => vec![("en", self.en.as_str())],
            Lang::Zh => vec![("zh", self.zh.as_str())],
            Lang::ZhEn if self.zh == self.en => vec![("zh", self.zh.as_str())],
            Lang::ZhEn => vec![("zh", self.zh.as_str()), ("en", self.en.as_str())],
        }
    }

    /// One line of text in `lang` (zh-en: "中文 English").
    pub fn line(&self, lang: Lang) -> String {
        self.parts(lang)
            .iter()
            .map(|(_, t)| *t)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Text on separate lines (zh-en: Chinese, then English on the next line).
    pub fn lines(&self, lang: Lang) -> String {
        self.parts(lang)
            .iter()
            .map(|(_, t)| *t)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Join texts language by language.
    pub fn join(texts: &[Text], sep: &str) -> Text {
        Text {
            zh: texts
                .iter()
                .map(|t| t.zh.as_str())
                .collect::<Vec<_>>()
                .join(sep),
            en: texts
                .iter()
                .map(|t| t.en.as_str())
                .collect::<Vec<_>>()
                .join(sep),
        }
    }

    /// Each language followed by `suffix` (the same text).
    pub fn with(mut self, suffix: &str) -> Text {
        self.zh.push_str(suffix);
        self.en.push_str(suffix);
        self
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    zh: String,
    en: String,
}

fn glossary() -> &'static BTreeMap<String, Entry> {
    static G: OnceLock<BTreeMap<String, Entry>> = OnceLock::new();
    // The shipped glossary parses (the test below proves it); a broken edit shows as the keys
    // themselves in the output, which the tests catch too.
    G.get_or_init(|| toml::from_str(GLOSSARY).unwrap_or_default())
}

/// The glossary's text for `key` (a missing key shows as `⟦key⟧`, which tests look for).
pub fn g(key: &str) -> Text {
    match glossary().get(key) {
        Some(e) => Text {
            zh: e.zh.clone(),
            en: e.en.clone(),
        },
        None => Text::plain(format!("⟦{key}⟧")),
    }
}

/// The glossary's text for `key` with `{name}` placeholders filled in (the same value in both
/// languages).
pub fn gf(key: &str, values: &[(&str, &str)]) -> Text {
    let mut t = g(key);
    for (name, value) in values {
        let placeholder = format!("{{{name}}}");
        t.zh = t.zh.replace(&placeholder, value);
        t.en = t.en.replace(&placeholder, value);
    }
    t
}

/// Every character the glossary uses (the CJK font subset must hold them all).
pub fn glossary_characters() -> std::collections::BTreeSet<char> {
    glossary()
        .values()
        .flat_map(|e| e.zh.chars().chain(e.en.chars()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_glossary_parses_and_every_entry_has_both_languages() {
        let parsed: BTreeMap<String, Entry> = toml::from_str(GLOSSARY).expect("glossary parses");
        assert!(parsed.len() > 100, "{} entries", parsed.len());
        for (key, e) in &parsed {
            assert!(!e.zh.trim().is_empty() && !e.en.trim().is_empty(), "{key}");
            // Placeholders agree between the languages.
            let holes = |t: &str| -> Vec<String> {
                let mut out: Vec<String> = t
                    .split('{')
                    .skip(1)
                    .filter_map(|s| s.split_once('}').map(|(n, _)| n.to_string()))
                    .collect();
                out.sort();
                out
            };
            assert_eq!(holes(&e.zh), holes(&e.en), "{key}");
        }
    }

    #[test]
    fn texts_show_as_the_language_asks() {
        let t = g("certificate_title");
        assert_eq!(t.line(Lang::En), "Calibration certificate");
        assert_eq!(t.line(Lang::Zh), "校准证书");
        assert_eq!(t.lines(Lang::ZhEn), "校准证书\nCalibration certificate");
        assert_eq!(Text::plain("3.3").parts(Lang::ZhEn), vec![("zh", "3.3")]);
        assert_eq!(g("no such key").en, "⟦no such key⟧");
        assert_eq!(
            gf("page_of", &[("page", "1"), ("pages", "4")]).zh,
            "第 1 页 共 4 页"
        );
        assert_eq!(Lang::parse("ZH-EN"), Ok(Lang::ZhEn));
        assert!(Lang::parse("fr").is_err());
    }
}
