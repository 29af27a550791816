//! The console's state machine, driven by keys and engine events as the loop drives it.

use std::collections::BTreeMap;

use serde_json::Value;

use super::*;
use crate::engine::events::{CurveData, InterruptionKind, RunStatus};
use crate::tui::state::{HISTORY, InstrumentRow, ParamRow, ProcedureRow};

fn app() -> App {
    let mut a = App::new("Test station");
    a.procedures.rows = vec![
        ProcedureRow {
            name: "outdoor-pmax".into(),
            description: "Pmax at STC".into(),
            parameters: vec![
                ParamRow {
                    name: "sweeps".into(),
                    kind: "int".into(),
                    unit: "1".into(),
                    default: "3".into(),
                    limits: "1 … 50".into(),
                },
                ParamRow {
                    name: "nplc".into(),
                    kind: "float".into(),
                    unit: "PLC".into(),
                    default: "1.0".into(),
                    limits: "0.01 … 10".into(),
                },
            ],
        },
        ProcedureRow {
            name: "bit-calibration".into(),
            description: "battery tester".into(),
            parameters: Vec::new(),
        },
    ];
    a.queue.rows = vec![
        QueueRow {
            id: 1,
            status: QueueStatus::Pending,
            procedure: "outdoor-pmax".into(),
            window: "any".into(),
        },
        QueueRow {
            id: 2,
            status: QueueStatus::Completed,
            procedure: "bit-calibration".into(),
            window: "any".into(),
        },
    ];
    a
}

fn press(a: &mut App, k: Key) -> Command {
    match a.action_for(k) {
        Some(action) => a.update(action),
        None => Command::None,
    }
}

fn started(a: &mut App, run: &str) {
    a.apply(&Event::Started {
        run_id: run.into(),
        procedure: "outdoor-pmax".into(),
        resumed: false,
        journaled: 0,
    });
}

fn finished(results: BTreeMap<String, Value>) -> Event {
    Event::Finished {
        run_id: "R1".into(),
        status: RunStatus::Completed,
        reason: None,
        results,
    }
}

#[test]
fn screens_by_tab_backtab_and_digits() {
    let mut a = app();
    assert_eq!(a.screen, Screen::Station);
    press(&mut a, Key::Tab);
    assert_eq!(a.screen, Screen::Live);
    press(&mut a, Key::BackTab);
    press(&mut a, Key::BackTab);
    assert_eq!(a.screen, Screen::Log, "wraps around");
    for (k, s) in ('1'..='6').zip(Screen::ALL) {
        press(&mut a, Key::Char(k));
        assert_eq!(a.screen, s);
    }
}

#[test]
fn help_opens_and_closes_and_swallows_other_keys() {
    let mut a = app();
    press(&mut a, Key::Char('?'));
    assert!(a.help);
    assert_eq!(a.action_for(Key::Tab), None);
    press(&mut a, Key::Esc);
    assert!(!a.help);
    press(&mut a, Key::Char('?'));
    press(&mut a, Key::Char('?'));
    assert!(!a.help);
}

#[test]
fn procedures_select_start_and_dry_run() {
    let mut a = app();
    press(&mut a, Key::Char('3'));
    press(&mut a, Key::Up);
    assert_eq!(a.procedures.selected, 0);
    press(&mut a, Key::Down);
    press(&mut a, Key::Char('j'));
    assert_eq!(a.procedures.selected, 1, "stops at the last");
    press(&mut a, Key::Char('k'));
    assert_eq!(
        press(&mut a, Key::Char('d')),
        Command::DryRun("outdoor-pmax".into(), vec![])
    );
    assert_eq!(
        press(&mut a, Key::Enter),
        Command::Start("outdoor-pmax".into(), vec![])
    );
    a.apply_outcome(Outcome::Started);
    assert_eq!(a.screen, Screen::Live);
    a.live.run = Some("R1".into());
    a.screen = Screen::Procedures;
    assert_eq!(
        press(&mut a, Key::Char('s')),
        Command::None,
        "one run at a time"
    );
    assert!(a.status.contains("a run is active"));
}

#[test]
fn parameters_are_edited_in_the_form_and_passed_as_sets() {
    let mut a = app();
    press(&mut a, Key::Char('3'));
    press(&mut a, Key::Right);
    assert!(a.procedures.focus_parameters);
    press(&mut a, Key::Down);
    assert_eq!(a.procedures.selected_parameter, 1);
    press(&mut a, Key::Up);
    press(&mut a, Key::Enter);
    assert_eq!(
        a.procedures.editing.as_deref(),
        Some("3"),
        "starts from the default"
    );
    press(&mut a, Key::Backspace);
    press(&mut a, Key::Char('5'));
    assert_eq!(
        press(&mut a, Key::Char('q')),
        Command::None,
        "q is text while editing"
    );
    press(&mut a, Key::Backspace);
    press(&mut a, Key::Enter);
    assert_eq!(a.procedures.editing, None);
    press(&mut a, Key::Char('e'));
    press(&mut a, Key::Esc);
    assert_eq!(
        a.procedures.sets("outdoor-pmax"),
        vec![("sweeps".into(), "5".into())],
        "Esc keeps the old value"
    );
    press(&mut a, Key::Enter);
    press(&mut a, Key::Backspace);
    press(&mut a, Key::Char('3'));
    press(&mut a, Key::Enter);
    assert!(
        a.procedures.sets("outdoor-pmax").is_empty(),
        "typing the default back removes the edit"
    );
    press(&mut a, Key::Enter);
    press(&mut a, Key::Backspace);
    press(&mut a, Key::Char('5'));
    press(&mut a, Key::Enter);
    press(&mut a, Key::Left);
    assert!(!a.procedures.focus_parameters);
    assert_eq!(
        press(&mut a, Key::Char('s')),
        Command::Start("outdoor-pmax".into(), vec![("sweeps".into(), "5".into())])
    );
}

#[test]
fn a_procedure_without_parameters_keeps_the_focus_on_the_list() {
    let mut a = app();
    press(&mut a, Key::Char('3'));
    press(&mut a, Key::Down);
    press(&mut a, Key::Right);
    assert!(!a.procedures.focus_parameters);
}

#[test]
fn quitting_and_aborting_ask_first_while_a_run_is_active() {
    let mut a = app();
    assert_eq!(press(&mut a, Key::Char('q')), Command::Quit);
    assert_eq!(press(&mut a, Key::CtrlC), Command::Quit);
    a.live.run = Some("R1".into());
    assert_eq!(press(&mut a, Key::Char('q')), Command::None);
    assert_eq!(a.confirm, Some(Confirm::Quit));
    assert_eq!(press(&mut a, Key::Char('n')), Command::None);
    assert_eq!(a.confirm, None);
    press(&mut a, Key::Char('a'));
    assert_eq!(a.confirm, Some(Confirm::Abort));
    assert_eq!(
        press(&mut a, Key::Tab),
        Command::None,
        "the dialog holds the keys"
    );
    assert_eq!(press(&mut a, Key::Char('y')), Command::Abort);
    press(&mut a, Key::CtrlC);
    assert_eq!(a.confirm, Some(Confirm::Abort));
    press(&mut a, Key::Esc);
    assert_eq!(a.confirm, None);
}

#[test]
fn queue_items_are_removed_after_confirmation_only_when_pending() {
    let mut a = app();
    press(&mut a, Key::Char('4'));
    press(&mut a, Key::Char('x'));
    assert_eq!(a.confirm, Some(Confirm::RemoveQueueItem(1)));
    assert_eq!(press(&mut a, Key::Char('y')), Command::RemoveQueueItem(1));
    press(&mut a, Key::Down);
    press(&mut a, Key::Char('x'));
    assert_eq!(a.confirm, None, "a completed item stays");
    a.apply_outcome(Outcome::Removed(1));
    assert_eq!(a.queue.rows.len(), 1);
    assert_eq!(a.queue.selected, 0, "the selection stays on a row");
    assert_eq!(a.status, "queue item 1 removed");
}

#[test]
fn prompts_take_typing_and_answer_on_enter() {
    let mut a = app();
    a.apply_outcome(Outcome::Ask(
        "lab_temperature".into(),
        "Lab temperature?".into(),
    ));
    for c in "23.x".chars() {
        press(&mut a, Key::Char(c));
    }
    press(&mut a, Key::Backspace);
    press(&mut a, Key::Char('4'));
    assert_eq!(
        press(&mut a, Key::Char('q')),
        Command::None,
        "q is text here"
    );
    press(&mut a, Key::Backspace);
    assert_eq!(
        press(&mut a, Key::Enter),
        Command::Answer("lab_temperature".into(), "23.4".into())
    );
    assert!(a.prompt.is_none());
}

#[test]
fn runs_open_their_details_and_draft_reports() {
    let mut a = app();
    a.runs.rows = ["R2", "R1"]
        .into_iter()
        .map(|id| RunRow {
            id: id.into(),
            procedure: "outdoor-pmax".into(),
            status: Some(RunStatus::Completed),
            headline: String::new(),
        })
        .collect();
    press(&mut a, Key::Char('5'));
    press(&mut a, Key::Down);
    assert_eq!(press(&mut a, Key::Enter), Command::OpenRun("R1".into()));
    a.apply_outcome(Outcome::RunDetail(RunDetail {
        id: "R1".into(),
        lines: vec!["p_mp_stc = 221 W".into()],
    }));
    assert_eq!(
        press(&mut a, Key::Tab),
        Command::None,
        "the detail holds the keys"
    );
    assert_eq!(
        press(&mut a, Key::Char('r')),
        Command::DraftReport("R1".into())
    );
    press(&mut a, Key::Esc);
    assert!(a.runs.detail.is_none());
    assert_eq!(
        press(&mut a, Key::Char('r')),
        Command::DraftReport("R1".into())
    );
}

#[test]
fn the_log_switches_to_the_instrument_io_log() {
    let mut a = app();
    press(&mut a, Key::Char('6'));
    assert_eq!(press(&mut a, Key::Char('i')), Command::None, "no run yet");
    assert!(a.log.show_io);
    press(&mut a, Key::Char('i'));
    started(&mut a, "R1");
    assert_eq!(press(&mut a, Key::Char('i')), Command::LoadIo("R1".into()));
    a.apply_outcome(Outcome::IoLog(vec![
        "smu write :OUTP OFF".into(),
        "daq read +2.1E+01".into(),
    ]));
    assert_eq!(
        a.apply(&Event::Activity {
            seq: 1,
            kind: crate::engine::events::ActivityKind::Sweep,
            status: crate::engine::events::ActivityStatus::Ok,
            replayed: false,
        }),
        vec![Command::LoadIo("R1".into())],
        "the I/O log on screen grows with every activity"
    );
    press(&mut a, Key::Char('/'));
    for c in "outp".chars() {
        press(&mut a, Key::Char(c));
    }
    press(&mut a, Key::Enter);
    assert_eq!(a.log.visible().count(), 1);
    assert_eq!(press(&mut a, Key::Char('i')), Command::None);
    assert!(!a.log.show_io);
}

#[test]
fn instruments_show_their_last_reading_and_faults() {
    let mut a = app();
    for (name, role) in [
        ("smu", "iv_tracer"),
        ("dmm", "irradiance_meter"),
        ("daq", "thermometer"),
    ] {
        a.station.instruments.push(InstrumentRow {
            name: name.into(),
            role: role.into(),
            identity: None,
            state: Use::Idle,
            last: String::new(),
        });
    }
    started(&mut a, "R1");
    assert_eq!(a.station.instruments[0].state, Use::InUse);
    a.apply(&Event::Conditions {
        time: 1.0,
        irradiance: 1003.25,
        module_temperature: Some(44.123),
    });
    assert_eq!(a.station.instruments[1].last, "1003.2 W/m²");
    assert_eq!(a.station.instruments[2].last, "44.12 °C module mean");
    // The fault is matched on the instrument the engine names, not on message text: a
    // message naming `daq` marks nothing.
    a.apply(&Event::Interruption {
        seq: 2,
        kind: InterruptionKind::InstrumentFault,
        details: serde_json::json!({"error": "daq: I/O error on `*OPC?`"}),
        instrument: Some("smu".into()),
    });
    assert_eq!(a.station.instruments[0].state, Use::Fault);
    assert_eq!(a.station.instruments[2].state, Use::InUse);
    let commands = a.apply(&finished(BTreeMap::new()));
    assert_eq!(commands, vec![Command::LoadIdentities("R1".into())]);
    assert_eq!(
        a.station.instruments[0].state,
        Use::Fault,
        "a fault stays visible"
    );
    assert_eq!(a.station.instruments[1].state, Use::Idle);
    a.apply_outcome(Outcome::Identities(vec![(
        "dmm".into(),
        "Keysight Technologies,34465A,MY1,A.03".into(),
    )]));
    assert_eq!(
        a.station.instruments[1].identity.as_deref(),
        Some("Keysight Technologies,34465A,MY1,A.03")
    );
}

#[test]
fn the_queue_is_filled_reordered_and_started() {
    let mut a = app();
    press(&mut a, Key::Char('3'));
    a.procedures
        .edits
        .entry("outdoor-pmax".into())
        .or_default()
        .insert("sweeps".into(), "2".into());
    assert_eq!(
        press(&mut a, Key::Char('+')),
        Command::QueueAdd("outdoor-pmax".into(), vec![("sweeps".into(), "2".into())])
    );
    press(&mut a, Key::Char('4'));
    assert_eq!(press(&mut a, Key::Char('J')), Command::QueueMove(1, false));
    assert_eq!(a.queue.selected, 1, "the selection follows the item");
    assert_eq!(press(&mut a, Key::Char('K')), Command::QueueMove(2, true));
    assert_eq!(press(&mut a, Key::Char('S')), Command::RunQueue);
    assert_eq!(a.screen, Screen::Live);
    a.apply_outcome(Outcome::Queue(Vec::new()));
    a.screen = Screen::Queue;
    assert_eq!(press(&mut a, Key::Char('S')), Command::None);
    assert!(a.status.contains("queue is empty"));
}

#[test]
fn the_log_filters() {
    let mut a = app();
    a.apply(&Event::Log {
        message: "sweep 1 forward".into(),
    });
    a.apply(&Event::Warning {
        message: "certificate due".into(),
    });
    press(&mut a, Key::Char('6'));
    press(&mut a, Key::Char('/'));
    for c in "sweep".chars() {
        press(&mut a, Key::Char(c));
    }
    press(&mut a, Key::Enter);
    assert!(!a.log.editing_filter);
    assert_eq!(a.log.visible().count(), 1);
}

#[test]
fn engine_events_drive_the_state() {
    let mut a = app();
    started(&mut a, "R1");
    assert_eq!(a.live.run.as_deref(), Some("R1"));
    a.apply(&Event::Waiting {
        message: "waiting for stable sun: 743 W/m²".into(),
        gate: crate::engine::host::gate::Gate::default(),
    });
    assert_eq!(
        a.live.gate,
        Some(GateBand {
            min_irradiance: 800.0,
            max_variation: 0.01
        })
    );
    assert!(a.live.waiting.as_deref().unwrap_or("").contains("743"));
    for k in 0..(HISTORY + 10) {
        a.apply(&Event::Conditions {
            time: k as f64,
            irradiance: 1000.0,
            module_temperature: Some(40.0),
        });
    }
    assert_eq!(a.live.irradiance.len(), HISTORY, "history is bounded");
    a.apply(&Event::Sweep {
        curves: vec![CurveData {
            direction: "forward".into(),
            start_time: 0.0,
            voltage: vec![0.0, 30.0],
            current: vec![5.0, 4.0],
            time: vec![0.0, 0.1],
        }],
    });
    assert!(a.live.curve.is_some());
    let results: BTreeMap<String, Value> = [(
        "p_mp_stc".to_string(),
        serde_json::json!({"value": 220.1, "U": 3.2, "k": 2.0, "unit": "W"}),
    )]
    .into();
    a.apply(&finished(results));
    assert_eq!(a.live.run, None);
    // The last sweep and the stated result stay on Live after the run.
    assert!(a.live.curve.is_some());
    assert!(
        a.live
            .finished
            .iter()
            .any(|l| l.contains("Pmax(STC) = 220.1 W, U = 3.2 W (k = 2.0)")),
        "{:?}",
        a.live.finished
    );
    assert!(
        a.runs.rows[0]
            .headline
            .contains("Pmax(STC) = 220.1 W, U = 3.2 W (k = 2.0)"),
        "{:?}",
        a.runs.rows[0]
    );
    assert_eq!(a.runs.rows[0].procedure, "outdoor-pmax");
    a.apply_outcome(Outcome::DemoDone);
    assert!(
        a.status
            .ends_with("the demo runs are done and certified: q quits")
    );
    a.apply_outcome(Outcome::Certified(
        "outdoor-pmax: certificate in reports/".into(),
    ));
    assert_eq!(
        a.live.finished.last().map(String::as_str),
        Some("outdoor-pmax: certificate in reports/")
    );
}

#[test]
fn a_sky_reading_shows_on_live_and_on_the_instruments_rows() {
    let mut a = app();
    a.station.instruments.push(InstrumentRow {
        name: "poa-pyranometer".into(),
        role: "pyranometer".into(),
        identity: None,
        state: Use::Idle,
        last: String::new(),
    });
    a.apply(&Event::Sky {
        time: 0.0,
        readings: serde_json::json!({
            "poa-pyranometer": {"irradiance": 1103.8, "body_temperature": 26.1},
            "weather": {"wind_speed": 3.1, "ambient_temperature": 12.3,
                        "relative_humidity": 40.0, "pressure": 775.2, "wind_direction": 220.0},
            "sun": {"zenith": 13.46, "angle_of_incidence": 0.0, "air_mass_absolute": 0.79},
        }),
    });
    assert_eq!(
        a.live.sky.as_deref(),
        Some(
            "poa-pyranometer 1104 W/m² · sun zenith 13.5°, AOI 0.0°, AM 0.79 · weather: wind 3.1 m/s, 12.3 °C, 40 % RH, 775 hPa"
        )
    );
    let row = a
        .station
        .instruments
        .iter()
        .find(|r| r.name == "poa-pyranometer")
        .expect("row");
    assert_eq!(row.last, "1104 W/m²");
    // A spectrum: the chart's points and the instrument's row.
    a.station.instruments.push(InstrumentRow {
        name: "spectroradiometer".into(),
        role: "spectroradiometer".into(),
        identity: None,
        state: Use::Idle,
        last: String::new(),
    });
    a.apply(&Event::Spectrum {
        time: 0.0,
        instrument: "spectroradiometer".into(),
        wavelength: vec![300.0, 700.0, 1100.0],
        irradiance: vec![0.0, 1.5, 0.5],
    });
    let (name, points) = a.live.spectrum.as_ref().expect("spectrum");
    assert_eq!((name.as_str(), points.len()), ("spectroradiometer", 3));
    let row = a
        .station
        .instruments
        .iter()
        .find(|r| r.name == "spectroradiometer")
        .expect("row");
    // ∫ = 0.5·1.5·400 + 0.5·2.0·400 = 700 W/m².
    assert_eq!(row.last, "∫ 700 W/m² 300–1100 nm");
}
