//! Console frame time (issue 7 target: a full frame with a 10 000-point I-V chart and two
//! 3 600-point strip charts ≤ 3 ms), drawn into ratatui's `TestBackend` at 160×48.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use pvstation::engine::events::{CurveData, Event};
use pvstation::tui::app::{App, Screen};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn frame(c: &mut Criterion) {
    let mut app = App::new("bench station");
    app.screen = Screen::Live;
    for k in 0..3600 {
        app.apply(&Event::Conditions {
            time: k as f64,
            irradiance: 1000.0 + (k as f64 / 30.0).sin() * 20.0,
            module_temperature: Some(40.0 + k as f64 * 1e-3),
        });
    }
    let voltage: Vec<f64> = (0..10_000).map(|k| k as f64 * 62.0 / 10_000.0).collect();
    let current: Vec<f64> = voltage
        .iter()
        .map(|v| 5.7 * (1.0 - ((v - 59.0) / 3.0).exp()))
        .collect();
    app.apply(&Event::Sweep {
        curves: vec![CurveData {
            direction: "forward".into(),
            start_time: 0.0,
            time: vec![0.0; voltage.len()],
            voltage,
            current,
        }],
    });
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
    c.bench_function("console_frame_10000_point_iv_two_3600_point_strips", |b| {
        b.iter(|| {
            terminal
                .draw(|f| pvstation::tui::ui::draw(f, &app))
                .expect("draw");
        })
    });
}

criterion_group!(benches, frame);
criterion_main!(benches);
