//! The certificate's annex: every result's uncertainty budget as a table (GUM 7.2.6 rounding:
//! estimates to six significant digits, the rest to four), each input numbered with where its
//! value and uncertainty came from (certificate, datasheet, station or module file), as
//! ISO/IEC 17025 §7.8.4.1 and EA-4/02 §5 ask a budget to be traceable line by line.

use super::document::{Block, STC_RESULTS, Table, p, trim_zeros};
use super::model::Report;
use super::text::{Text, g, gf};
use crate::model::stated::{fixed, significant};

pub fn budgets(r: &Report, b: &mut Vec<Block>) {
    // Estimates to six significant digits (a 1.0002 Ω shunt is not "1"), the rest to four.
    let num = |x: f64| {
        significant(x, 4)
            .map(|s| trim_zeros(&s))
            .unwrap_or_else(|| x.to_string())
    };
    let estimate = |x: f64| {
        significant(x, 6)
            .map(|s| trim_zeros(&s))
            .unwrap_or_else(|| x.to_string())
    };
    for (name, e) in &r.results {
        let Some(lines) = e.budget() else { continue };
        let title = if STC_RESULTS.contains(&name.as_str()) {
            g(name)
        } else {
            p(name.clone())
        };
        b.push(Block::Heading(Text {
            zh: gf("annex_budget", &[("name", &title.zh)]).zh,
            en: gf("annex_budget", &[("name", &title.en)]).en,
        }));
        // Each input's source as a numbered note below the table (the same certificate or
        // file serves several inputs; a ninth column would not fit the page).
        let mut sources: Vec<&str> = Vec::new();
        let rows = lines
            .iter()
            .map(|l| {
                let mut input = l.name.replace('_', " ");
                if let Some(source) = l.source.as_deref().filter(|s| !s.trim().is_empty()) {
                    let n = match sources.iter().position(|s| *s == source) {
                        Some(n) => n,
                        None => {
                            sources.push(source);
                            sources.len() - 1
                        }
                    };
                    input = format!("{input} [{}]", n + 1);
                }
                vec![
                    p(input),
                    p(estimate(l.estimate)),
                    p(l.unit.clone().unwrap_or_default()),
                    p(num(l.u)),
                    p(l.distribution.clone()),
                    p(num(l.sensitivity)),
                    p(num(l.contribution)),
                    p(format!(
                        "{} %",
                        fixed(l.share * 100.0, 1).unwrap_or_default()
                    )),
                ]
            })
            .collect();
        b.push(Block::Table(Table {
            head: vec![
                g("input"),
                g("estimate"),
                g("unit"),
                p("u(x)"),
                g("distribution"),
                g("sensitivity"),
                g("contribution"),
                g("share"),
            ],
            widths: vec![1.7, 1.1, 0.6, 1.0, 1.1, 1.1, 1.0, 0.7],
            rows,
            small: true,
        }));
        if !sources.is_empty() {
            let list = sources
                .iter()
                .enumerate()
                .map(|(n, s)| format!("[{}] {s}", n + 1))
                .collect::<Vec<_>>();
            // One list under a bilingual label: the sources are names and numbers, the
            // same in every language.
            b.push(Block::Fields(vec![(
                g("budget_sources"),
                p(list.join("; ")),
            )]));
        }
    }
}
