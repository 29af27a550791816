//! Drawing the console from `&App`: tabs, the screen, a status line with the keys that matter
//! there, and the modal dialogs (help, operator prompt, confirmation). Only the terminal's
//! default colours plus one accent are used, so it reads on dark and light terminals.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, Borders, Cell, Chart, Clear, Dataset, GraphType, Paragraph, Row, Table, Tabs, Wrap,
};

use super::app::{App, Confirm, Screen};
use super::keys;
use super::state::Use;
use crate::instruments::station::CertificateStatus;

const ACCENT: Color = Color::Cyan;

fn bold() -> Style {
    Style::default().add_modifier(Modifier::BOLD)
}

fn block(title: &str) -> Block<'_> {
    Block::default().borders(Borders::ALL).title(title)
}

/// Draw the whole console.
pub fn draw(frame: &mut Frame, app: &App) {
    let [tabs, body, status] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Min(5),
        Constraint::Length(2),
    ])
    .areas(frame.area());
    let selected = Screen::ALL
        .iter()
        .position(|s| *s == app.screen)
        .unwrap_or(0);
    frame.render_widget(
        Tabs::new(Screen::ALL.iter().map(|s| s.title()))
            .select(selected)
            .highlight_style(bold().fg(ACCENT))
            .block(block(&format!(" pvstation — {} ", app.station.name))),
        tabs,
    );
    match app.screen {
        Screen::Station => station(frame, app, body),
        Screen::Live => live(frame, app, body),
        Screen::Procedures => procedures(frame, app, body),
        Screen::Queue => queue(frame, app, body),
        Screen::Runs => runs(frame, app, body),
        Screen::Log => log(frame, app, body),
    }
    let run = app
        .live
        .run
        .as_deref()
        .map(|r| format!("● {r}  "))
        .unwrap_or_default();
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(vec![
                Span::styled(run, bold().fg(ACCENT)),
                Span::raw(app.status.clone()),
            ]),
            Line::from(keys::hints(app)),
        ]),
        status,
    );
    if app.help {
        help(frame);
    }
    if let Some(c) = &app.confirm {
        let text = match c {
            Confirm::Abort => "Abort the run? The current activity finishes, every instrument is made safe, and the stop is recorded as aborted.".to_string(),
            Confirm::RemoveQueueItem(id) => format!("Remove queue item {id}? (recorded in the audit trail)"),
            Confirm::Quit => "A run is active. Quit the console? The run is aborted safely first.".to_string(),
        };
        dialog(frame, " Confirm ", &format!("{text}\n\ny = yes   n = no"));
    }
    if let Some(p) = &app.prompt {
        dialog(
            frame,
            &format!(" Operator prompt: {} ", p.id),
            &format!("{}\n\n> {}▏", p.text, p.answer),
        );
    }
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn dialog(frame: &mut Frame, title: &str, text: &str) {
    let area = centered(frame.area(), 64, 9);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(text.to_string())
            .wrap(Wrap { trim: false })
            .block(block(title).border_style(Style::default().fg(ACCENT))),
        area,
    );
}

fn help(frame: &mut Frame) {
    let lines = keys::help_lines();
    let width = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0) + 2;
    let area = centered(
        frame.area(),
        u16::try_from(width).unwrap_or(u16::MAX),
        u16::try_from(lines.len() + 2).unwrap_or(u16::MAX),
    );
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines.join("\n")).block(block(" Keys ")),
        area,
    );
}

/// A certificate's status as the station screen shows it.
fn certificate_text(status: CertificateStatus) -> String {
    match status {
        CertificateStatus::Valid => "valid".into(),
        CertificateStatus::DueSoon { days_left } => format!("DUE in {days_left} days"),
        CertificateStatus::Expired { days_ago } => format!("EXPIRED {days_ago} days ago"),
    }
}

fn station(frame: &mut Frame, app: &App, area: Rect) {
    // Every instrument, when the screen allows, with at least two reference rows below; the
    // references get the rest, the ones that need attention first.
    let instruments_need = app.station.instruments.len() as u16 + 3;
    let references_need = app.station.references.len() as u16 + 3;
    let instruments_height = if area.height >= instruments_need + references_need {
        instruments_need
    } else {
        instruments_need.min(area.height.saturating_sub(5))
    };
    let [top, bottom] =
        Layout::vertical([Constraint::Length(instruments_height), Constraint::Min(0)]).areas(area);
    let rows = app.station.instruments.iter().map(|i| {
        let state = if i.state == Use::Fault {
            bold().fg(Color::Red)
        } else {
            Style::default()
        };
        Row::new(vec![
            Cell::from(i.name.clone()),
            Cell::from(i.role.clone()),
            Cell::from(i.state.as_str()).style(state),
            Cell::from(i.last.clone()),
            Cell::from(i.identity.clone().unwrap_or_else(|| "—".into())),
        ])
    });
    // The name column as wide as the longest name ("diffuse-pyranometer"), 15 to 21 columns.
    let name_width = app
        .station
        .instruments
        .iter()
        .map(|i| i.name.chars().count() as u16 + 1)
        .max()
        .unwrap_or(15)
        .clamp(15, 21);
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(name_width),
                Constraint::Length(17),
                Constraint::Length(7),
                Constraint::Length(22),
                Constraint::Min(10),
            ],
        )
        .header(Row::new(["Instrument", "Role", "State", "Last reading", "Identity"]).style(bold()))
        .block(block(" Instruments ")),
        top,
    );
    let mut references: Vec<_> = app.station.references.iter().collect();
    let shown = bottom.height.saturating_sub(3) as usize;
    let title = if shown < references.len() {
        references.sort_by_key(|r| match r.status {
            CertificateStatus::Expired { .. } => 0,
            CertificateStatus::DueSoon { .. } => 1,
            CertificateStatus::Valid => 2,
        });
        let hidden = &references[shown..];
        let all_valid = hidden.iter().all(|r| r.status == CertificateStatus::Valid);
        format!(
            " Reference devices ({shown} of {}; {} more{}) ",
            references.len(),
            hidden.len(),
            if all_valid { ", all valid" } else { "" }
        )
    } else {
        " Reference devices ".to_string()
    };
    let rows = references.into_iter().map(|r| {
        let style = match r.status {
            CertificateStatus::Expired { .. } => bold().fg(Color::Red),
            CertificateStatus::DueSoon { .. } => bold().fg(Color::Yellow),
            CertificateStatus::Valid => Style::default(),
        };
        Row::new(vec![
            Cell::from(r.id.clone()),
            Cell::from(r.certificate.clone()),
            Cell::from(r.due.clone()),
            Cell::from(certificate_text(r.status)).style(style),
        ])
    });
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(10),
                Constraint::Length(18),
                Constraint::Length(11),
                Constraint::Min(8),
            ],
        )
        .header(Row::new(["Reference", "Certificate", "Due", "Status"]).style(bold()))
        .block(block(&title)),
        bottom,
    );
}

fn strip(
    frame: &mut Frame,
    title: &str,
    unit: &str,
    data: &[(f64, f64)],
    band: Option<(f64, f64, f64)>,
    area: Rect,
) {
    let (t0, t1) = data
        .first()
        .zip(data.last())
        .map(|(a, b)| (a.0, b.0.max(a.0 + 1.0)))
        .unwrap_or((0.0, 1.0));
    let (mut lo, mut hi) = data
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.1), b.max(p.1))
        });
    if let Some((min, a, b)) = band {
        lo = lo.min(min).min(a);
        hi = hi.max(min).max(b);
    }
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.1).max(1e-6);
    let points: Vec<(f64, f64)> = data.iter().map(|(t, v)| (t - t0, *v)).collect();
    // Gate: the minimum (yellow) and the band the last samples must stay in (green).
    let band_lines: Vec<(Vec<(f64, f64)>, Color)> = band
        .map(|(min, a, b)| {
            let span = t1 - t0;
            vec![
                (vec![(0.0, min), (span, min)], Color::Yellow),
                (vec![(0.0, a), (span, a)], Color::Green),
                (vec![(0.0, b), (span, b)], Color::Green),
            ]
        })
        .unwrap_or_default();
    let mut datasets = vec![
        Dataset::default()
            .marker(symbols::Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::default().fg(ACCENT))
            .data(&points),
    ];
    for (line, color) in &band_lines {
        datasets.push(
            Dataset::default()
                .marker(symbols::Marker::Dot)
                .graph_type(GraphType::Line)
                .style(Style::default().fg(*color))
                .data(line),
        );
    }
    let last = data
        .last()
        .map(|p| format!("{:.1} {unit}", p.1))
        .unwrap_or_else(|| "—".into());
    frame.render_widget(
        Chart::new(datasets)
            .block(block(&format!(" {title}: {last} ")))
            .x_axis(
                Axis::default()
                    .bounds([0.0, t1 - t0])
                    .labels(["0 s".to_string(), format!("{:.0} s", t1 - t0)]),
            )
            .y_axis(
                Axis::default()
                    .bounds([lo - pad, hi + pad])
                    .labels([format!("{:.0}", lo - pad), format!("{:.0}", hi + pad)]),
            ),
        area,
    );
}

fn live(frame: &mut Frame, app: &App, area: Rect) {
    let live = &app.live;
    // What ended runs said stays above the charts (the newest four lines).
    let kept: Vec<&String> = live.finished.iter().rev().take(4).rev().collect();
    let mut lines = vec![Line::from(vec![
        Span::styled("Now: ", bold()),
        Span::raw(live.activity.clone()),
    ])];
    if let Some(w) = &live.waiting {
        lines.push(Line::from(vec![
            Span::styled("Gate: ", bold().fg(Color::Yellow)),
            Span::raw(w.clone()),
        ]));
    }
    if let Some(p) = live.results.get("p_mp_stc") {
        let stated = crate::model::stated::result_line("p_mp_stc", p);
        lines.push(Line::from(vec![
            Span::styled("Result: ", bold()),
            Span::raw(format!(
                "{stated}   verdict: {}",
                live.results
                    .get("conformity")
                    .and_then(|c| c["value"].as_str())
                    .unwrap_or("—")
            )),
        ]));
    }
    if let Some(sky) = &live.sky {
        lines.push(Line::from(vec![
            Span::styled("Sky: ", bold()),
            Span::raw(sky.clone()),
        ]));
    }
    for k in kept {
        lines.push(Line::from(vec![
            Span::styled("Done: ", bold().fg(Color::Green)),
            Span::raw(k.clone()),
        ]));
    }
    // As many rows as there are lines (a small terminal keeps its rows for the charts).
    let [info, charts] = Layout::vertical([
        Constraint::Length(lines.len() as u16 + 1),
        Constraint::Min(4),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(lines).block(Block::default()), info);
    let wide = charts.width >= 120;
    // A run that samples no irradiance or temperature (sky-survey) gives the curves the room.
    if live.irradiance.is_empty() && live.temperature.is_empty() {
        curves(frame, app, charts);
        return;
    }
    let [left, right] = if wide {
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(charts)
    } else {
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(charts)
    };
    let [g_area, t_area] =
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(left);
    let g: Vec<(f64, f64)> = live.irradiance.iter().copied().collect();
    let t: Vec<(f64, f64)> = live.temperature.iter().copied().collect();
    // The active gate: its minimum irradiance, and its band (± largest variation) around
    // the mean of the last samples.
    let band = live.gate.map(|gate| {
        let (min, variation) = (gate.min_irradiance, gate.max_variation);
        let recent: Vec<f64> = g.iter().rev().take(10).map(|p| p.1).collect();
        let mean = if recent.is_empty() {
            min
        } else {
            recent.iter().sum::<f64>() / recent.len() as f64
        };
        (min, mean * (1.0 - variation), mean * (1.0 + variation))
    });
    strip(frame, "Irradiance", "W/m²", &g, band, g_area);
    strip(frame, "Module temperature", "°C", &t, None, t_area);
    curves(frame, app, right);
}

/// The last sweep and the last spectrum: whichever exists, or both one above the other.
fn curves(frame: &mut Frame, app: &App, area: Rect) {
    match (&app.live.curve, &app.live.spectrum) {
        // Too little room for two charts (an 80×24 terminal after a run): the sweep alone.
        (Some(_), Some(_)) if area.height < 10 => iv(frame, app, area),
        (Some(_), Some(spectrum)) => {
            let [iv_area, spectrum_area] =
                Layout::vertical([Constraint::Percentage(60), Constraint::Percentage(40)])
                    .areas(area);
            iv(frame, app, iv_area);
            spectrum_chart(frame, spectrum, spectrum_area);
        }
        (None, Some(spectrum)) => spectrum_chart(frame, spectrum, area),
        _ => iv(frame, app, area),
    }
}

/// The latest spectrum, spectral irradiance over wavelength.
fn spectrum_chart(frame: &mut Frame, (instrument, points): &(String, Vec<(f64, f64)>), area: Rect) {
    let (x0, x1) = (
        points.first().map_or(300.0, |p| p.0),
        points.last().map_or(1100.0, |p| p.0),
    );
    let top = points.iter().fold(0.1f64, |m, p| m.max(p.1)) * 1.05;
    frame.render_widget(
        Chart::new(vec![
            Dataset::default()
                .marker(symbols::Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::default().fg(ACCENT))
                .data(points),
        ])
        .block(block(&format!(" Spectrum ({instrument}) W·m⁻²·nm⁻¹ ")))
        .x_axis(
            Axis::default()
                .bounds([x0, x1])
                .labels([format!("{x0:.0} nm"), format!("{x1:.0} nm")]),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, top])
                .labels(["0".to_string(), format!("{top:.2}")]),
        ),
        area,
    );
}

fn iv(frame: &mut Frame, app: &App, area: Rect) {
    let Some(c) = &app.live.curve else {
        frame.render_widget(
            Paragraph::new("no sweep yet").block(block(" I-V curve ")),
            area,
        );
        return;
    };
    let iv: Vec<(f64, f64)> = c
        .voltage
        .iter()
        .zip(&c.current)
        .map(|(v, i)| (*v, *i))
        .collect();
    let pv: Vec<(f64, f64)> = c
        .voltage
        .iter()
        .zip(&c.current)
        .map(|(v, i)| (*v, v * i / 50.0))
        .collect();
    // The power quadrant (the points beyond Voc and below Isc's axis are off the chart).
    let iv: Vec<(f64, f64)> = iv
        .into_iter()
        .filter(|p| p.0 >= 0.0 && p.1 >= 0.0)
        .collect();
    let pv: Vec<(f64, f64)> = pv
        .into_iter()
        .filter(|p| p.0 >= 0.0 && p.1 >= 0.0)
        .collect();
    let (v0, v1) = (0.0, iv.iter().fold(1.0f64, |b, p| b.max(p.0)));
    let (i0, i1) = (0.0, iv.iter().chain(&pv).fold(1.0f64, |b, p| b.max(p.1)));
    let title = format!(
        " I-V ({}) and P-V/50 — {} points —{}",
        c.direction,
        c.voltage.len(),
        app.live.curve_parameters
    );
    frame.render_widget(
        Chart::new(vec![
            Dataset::default()
                .name("I [A]")
                .marker(symbols::Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::default().fg(ACCENT))
                .data(&iv),
            Dataset::default()
                .name("P/50 [W]")
                .marker(symbols::Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::default().fg(Color::Yellow))
                .data(&pv),
        ])
        .block(block(&title))
        .x_axis(
            Axis::default()
                .bounds([v0, v1])
                .labels([format!("{v0:.0} V"), format!("{v1:.0} V")]),
        )
        .y_axis(
            Axis::default()
                .bounds([i0, i1 * 1.05])
                .labels([format!("{i0:.1}"), format!("{:.1}", i1 * 1.05)]),
        ),
        area,
    );
}

fn procedures(frame: &mut Frame, app: &App, area: Rect) {
    let p = &app.procedures;
    let [list, form] =
        Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(area);
    let rows = p.rows.iter().enumerate().map(|(k, row)| {
        let style = if k == p.selected {
            let s = bold().fg(ACCENT);
            if p.focus_parameters {
                s
            } else {
                s.add_modifier(Modifier::REVERSED)
            }
        } else {
            Style::default()
        };
        Row::new(vec![
            Cell::from(row.name.clone()),
            Cell::from(row.description.clone()),
        ])
        .style(style)
    });
    frame.render_widget(
        Table::new(rows, [Constraint::Length(16), Constraint::Min(10)])
            .header(Row::new(["Procedure", "What it does"]).style(bold()))
            .block(block(" Procedures (Enter start, d dry run, → parameters) ")),
        list,
    );
    let edits = p.current().and_then(|c| p.edits.get(&c.name));
    let rows = p.parameters().iter().enumerate().map(|(k, param)| {
        let selected = p.focus_parameters && k == p.selected_parameter;
        let value = match (&p.editing, selected) {
            (Some(v), true) => format!("{v}▏"),
            _ => p.value(param),
        };
        let changed = edits.is_some_and(|e| e.contains_key(&param.name));
        let mut style = if changed {
            bold().fg(ACCENT)
        } else {
            Style::default()
        };
        if selected {
            style = style.add_modifier(Modifier::REVERSED);
        }
        Row::new(vec![
            Cell::from(param.name.clone()),
            Cell::from(value),
            Cell::from(param.unit.clone()),
            Cell::from(param.limits.clone()),
        ])
        .style(style)
    });
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(22),
                Constraint::Length(12),
                Constraint::Length(6),
                Constraint::Min(6),
            ],
        )
        .header(Row::new(["Parameter", "Value", "Unit", "Limits"]).style(bold()))
        .block(block(" Parameters (Enter edit, checked when starting) ")),
        form,
    );
}

/// The style of a list row: reversed when selected.
fn selectable(selected: bool) -> Style {
    if selected {
        bold().add_modifier(Modifier::REVERSED)
    } else {
        Style::default()
    }
}

fn queue(frame: &mut Frame, app: &App, area: Rect) {
    let rows = app.queue.rows.iter().enumerate().map(|(k, q)| {
        Row::new(vec![
            Cell::from(q.id.to_string()),
            Cell::from(q.status.as_str()),
            Cell::from(q.procedure.clone()),
            Cell::from(q.window.clone()),
        ])
        .style(selectable(k == app.queue.selected))
    });
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(5),
                Constraint::Length(10),
                Constraint::Length(18),
                Constraint::Min(8),
            ],
        )
        .header(Row::new(["Item", "Status", "Procedure", "Window · ETA"]).style(bold()))
        .block(block(
            " Queue (S runs it · K J reorder · x remove · + on procedures adds) ",
        )),
        area,
    );
}

fn runs(frame: &mut Frame, app: &App, area: Rect) {
    if let Some(detail) = &app.runs.detail {
        let text: Vec<Line> = detail.lines.iter().map(|l| Line::from(l.clone())).collect();
        frame.render_widget(
            Paragraph::new(text)
                .wrap(Wrap { trim: false })
                .block(block(&format!(
                    " Run {} (r draft report · Esc back) ",
                    detail.id
                ))),
            area,
        );
        return;
    }
    if let Some(lab) = &app.runs.lab {
        let rows = lab.iter().map(|r| {
            Row::new(vec![
                Cell::from(r.id.clone()),
                Cell::from(r.station.clone()),
                Cell::from(r.procedure.clone()),
                Cell::from(r.status.clone()),
                Cell::from(r.started.clone()),
            ])
        });
        frame.render_widget(
            Table::new(
                rows,
                [
                    Constraint::Length(22),
                    Constraint::Max(34),
                    Constraint::Length(16),
                    Constraint::Length(10),
                    Constraint::Length(10),
                ],
            )
            .header(Row::new(["Run", "Station", "Procedure", "Status", "Started"]).style(bold()))
            .block(block(" Lab store: every station's runs (l this station) ")),
            area,
        );
        return;
    }
    let rows = app.runs.rows.iter().enumerate().map(|(k, r)| {
        Row::new(vec![
            Cell::from(r.id.clone()),
            Cell::from(r.procedure.clone()),
            Cell::from(r.status_text()),
            Cell::from(r.headline.clone()),
        ])
        .style(selectable(k == app.runs.selected))
    });
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(22),
                Constraint::Length(16),
                Constraint::Length(10),
                Constraint::Min(10),
            ],
        )
        .header(Row::new(["Run", "Procedure", "Status", "Result"]).style(bold()))
        .block(block(" Runs (Enter open · r draft report) ")),
        area,
    );
}

fn log(frame: &mut Frame, app: &App, area: Rect) {
    let log = &app.log;
    let height = area.height.saturating_sub(2) as usize;
    let visible: Vec<&String> = log.visible().collect();
    let skip = visible.len().saturating_sub(height);
    let lines: Vec<Line> = visible[skip..]
        .iter()
        .map(|l| Line::from(l.as_str()))
        .collect();
    let what = if log.show_io {
        "Instrument I/O log"
    } else {
        "Log"
    };
    let title = if log.filter.is_empty() && !log.editing_filter {
        format!(" {what} (i switches, / filters) ")
    } else {
        format!(
            " {what} — filter: {}{} ",
            log.filter,
            if log.editing_filter { "▏" } else { "" }
        )
    };
    frame.render_widget(Paragraph::new(lines).block(block(&title)), area);
}
