//! Snapshot tests of every console screen at 80×24 and 160×48 (ratatui `TestBackend`),
//! including an open operator prompt and a live sweep. `PVSTATION_BLESS=1 cargo test tui::`
//! rewrites the snapshots after an intended change; review the diff.

use pvstation::engine::events::{CurveData, Event};
use pvstation::instruments::station::CertificateStatus;
use pvstation::tui::app::{App, Outcome, Screen};
use pvstation::tui::state::{
    InstrumentRow, ParamRow, ProcedureRow, QueueRow, ReferenceRow, RunRow, Use,
};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn fixture() -> App {
    let mut a = App::new("Plateau outdoor PV + battery-tester bench (simulated)");
    for (name, role, idn) in [
        (
            "smu",
            "iv_tracer",
            "KEITHLEY INSTRUMENTS,MODEL 2460,04410001,1.7.12b",
        ),
        (
            "irradiance-dmm",
            "irradiance_meter",
            "Keysight Technologies,34465A,MY60012345,A.03",
        ),
        (
            "daq",
            "thermometer",
            "Keysight Technologies,DAQ970A,MY58001234,A.03",
        ),
        ("tester", "resistance_meter", "HIOKI,BT3562,0,V1.07"),
    ] {
        a.station.instruments.push(InstrumentRow {
            name: name.into(),
            role: role.into(),
            identity: Some(idn.into()),
            state: Use::Idle,
            last: String::new(),
        });
    }
    for (id, cert, due, status) in [
        (
            "RC-01",
            "NIM-PV-2026-0311",
            "2027-03-11",
            CertificateStatus::Valid,
        ),
        (
            "SR-1m",
            "PIM-R-2026-1101",
            "2026-12-20",
            CertificateStatus::DueSoon { days_left: 22 },
        ),
        (
            "CAL-5522A",
            "PIM-E-2026-0877",
            "2026-11-02",
            CertificateStatus::Expired { days_ago: 26 },
        ),
    ] {
        a.station.references.push(ReferenceRow {
            id: id.into(),
            certificate: cert.into(),
            due: due.into(),
            status,
        });
    }
    a.procedures.rows = vec![
        ProcedureRow {
            name: "outdoor-pmax".into(),
            description: "Pmax at STC of a PV module measured outdoors".into(),
            parameters: vec![
                ParamRow {
                    name: "sweeps".into(),
                    kind: "int".into(),
                    unit: "1".into(),
                    default: "3".into(),
                    limits: "1 … 50".into(),
                },
                ParamRow {
                    name: "decision_rule".into(),
                    kind: "string".into(),
                    unit: String::new(),
                    default: "guarded".into(),
                    limits: "simple | guarded | non_binary".into(),
                },
            ],
        },
        ProcedureRow {
            name: "bit-calibration".into(),
            description: "Battery internal-resistance tester calibration".into(),
            parameters: Vec::new(),
        },
    ];
    a.procedures
        .edits
        .entry("outdoor-pmax".into())
        .or_default()
        .insert("sweeps".into(), "5".into());
    a.queue.rows = vec![QueueRow {
        id: 1,
        status: pvstation::model::QueueStatus::Pending,
        procedure: "outdoor-pmax".into(),
        window: "10:30-14:00".into(),
    }];
    a.runs.rows = vec![RunRow {
        id: "R20261128-101502-3fa9".into(),
        procedure: "outdoor-pmax".into(),
        status: Some(pvstation::model::RunStatus::Completed),
        headline: "p_mp_stc = 221.02 W".into(),
    }];
    a.apply(&Event::Started {
        run_id: "R20261128-120000-0001".into(),
        procedure: "outdoor-pmax".into(),
        resumed: false,
        journaled: 0,
    });
    for k in 0..120 {
        let t = 1.78e9 + k as f64;
        a.apply(&Event::Conditions {
            time: t,
            irradiance: 700.0 + k as f64,
            module_temperature: Some(40.0 + 0.02 * k as f64),
        });
    }
    a.apply(&Event::Waiting {
        message: "waiting for stable sun: 743 W/m², need ≥ 800 W/m² for 10 s".into(),
        gate: pvstation::engine::host::gate::Gate::default(),
    });
    let voltage: Vec<f64> = (0..60).map(|k| k as f64).collect();
    let current: Vec<f64> = voltage
        .iter()
        .map(|v| 5.7 * (1.0 - ((v - 59.0) / 3.0).exp()))
        .collect();
    a.apply(&Event::Sweep {
        curves: vec![CurveData {
            direction: "forward".into(),
            start_time: 1.78e9,
            time: vec![0.0; voltage.len()],
            voltage,
            current,
        }],
    });
    a.apply(&Event::Log {
        message: "sweep 1 forward: 1103.9 W/m², module 44.18 °C → Pmax(STC) 220.413 W".into(),
    });
    a.status = "run R20261128-120000-0001 started".into();
    a
}

fn render(app: &App, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    terminal
        .draw(|f| pvstation::tui::ui::draw(f, app))
        .expect("draw");
    let buffer = terminal.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        let line: String = (0..w)
            .map(|x| buffer[(x, y)].symbol().to_string())
            .collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn snapshot(name: &str, text: &str) {
    crate::golden::check(&format!("tui/{name}.txt"), text);
}

#[test]
fn every_screen_at_two_sizes() {
    for (w, h) in [(80u16, 24u16), (160, 48)] {
        for screen in Screen::ALL {
            let mut app = fixture();
            app.screen = screen;
            let text = render(&app, w, h);
            assert!(text.contains("pvstation"), "{text}");
            snapshot(&format!("{screen:?}-{w}x{h}").to_lowercase(), &text);
        }
        let mut app = fixture();
        app.screen = Screen::Live;
        app.apply_outcome(Outcome::Ask(
            "lab_temperature".into(),
            "Lab temperature at the standards (°C)?".into(),
        ));
        let text = render(&app, w, h);
        assert!(text.contains("Operator prompt: lab_temperature"), "{text}");
        snapshot(&format!("prompt-{w}x{h}"), &text);
        let mut app = fixture();
        app.help = true;
        let text = render(&app, w, h);
        assert!(text.contains("Tab / Shift-Tab"), "{text}");
        snapshot(&format!("help-{w}x{h}"), &text);
    }
    // The live screen shows what the gate waits for and the sweep.
    let mut app = fixture();
    app.screen = Screen::Live;
    let text = render(&app, 160, 48);
    assert!(text.contains("waiting for stable sun: 743 W/m², need ≥ 800 W/m² for 10 s"));
    assert!(text.contains("I-V (forward)"));
    // Expired certificates stand out on the station screen.
    let text = render(&fixture(), 160, 48);
    assert!(text.contains("EXPIRED 26 days ago"));
}

/// A tmux session, killed on drop.
struct Tmux(String);

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = std::process::Command::new("tmux")
            .args(["kill-session", "-t", &self.0])
            .output();
    }
}

impl Tmux {
    fn screen(&self) -> String {
        std::process::Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.0])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            let ok = std::process::Command::new("tmux")
                .args(["send-keys", "-t", &self.0, k])
                .status()
                .expect("tmux send-keys")
                .success();
            assert!(ok);
            std::thread::sleep(std::time::Duration::from_millis(150));
        }
    }

    fn wait_for(&self, needle: &str, seconds: u64) -> String {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
        loop {
            let s = self.screen();
            if s.contains(needle) {
                return s;
            }
            assert!(
                std::time::Instant::now() < until,
                "`{needle}` did not appear within {seconds} s:\n{s}"
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }
}

/// The real console in tmux on the simulated station: start the battery-tester calibration,
/// answer its prompts, then start outdoor-pmax and read its Pmax and verdict off the screen.
#[test]
fn the_console_runs_procedures_and_takes_prompt_answers_in_tmux() {
    if !crate::tools::have("tmux", "tmux", "the console end-to-end test") {
        return;
    }
    let dir = crate::cli::tempdir("tui-tmux");
    let db = dir.join("s.db");
    let name = format!("pvstation-it-{}", std::process::id());
    let command = format!(
        "{} tui --speed 50 --db {}",
        env!("CARGO_BIN_EXE_pvstation"),
        db.display()
    );
    let ok = std::process::Command::new("tmux")
        .args([
            "new-session",
            "-d",
            "-s",
            &name,
            "-x",
            "160",
            "-y",
            "48",
            &command,
        ])
        .status()
        .expect("tmux")
        .success();
    assert!(ok);
    let t = Tmux(name);
    t.wait_for("Reference devices", 20);
    t.keys(&["3", "Down", "Enter"]);
    t.wait_for("Operator prompt: lab_temperature", 30);
    t.keys(&["23.0", "Enter"]);
    t.wait_for("Operator prompt: lab_humidity", 30);
    t.keys(&["45", "Enter"]);
    t.wait_for("Operator prompt: connect", 30);
    t.keys(&["ok", "Enter"]);
    t.wait_for("completed", 90);
    // outdoor-pmax with one dual sweep, set in the parameter form.
    t.keys(&[
        "3", "Up", "Right", "Enter", "BSpace", "1", "Enter", "Left", "Enter",
    ]);
    let screen = t.wait_for("verdict: ", 120);
    assert!(screen.contains("Pmax(STC) = 22"), "{screen}");
    assert!(
        screen.contains(", U = ") && screen.contains(" W (k = "),
        "{screen}"
    );
    t.wait_for("completed", 60);
    t.keys(&["5"]);
    let runs = t.wait_for("bit-calibration", 10);
    assert!(
        runs.contains("outdoor-pmax") && runs.contains("Pmax(STC) = 22"),
        "{runs}"
    );
    // The queue: add outdoor-pmax (with the form's sweeps = 1) and run it from the console.
    t.keys(&["3", "Up", "+"]);
    t.wait_for("queued item 1: outdoor-pmax", 10);
    t.keys(&["4", "S"]);
    t.wait_for("queue finished: 1 run, 0 not completed", 120);
    t.keys(&["5"]);
    // The run's details, a draft report, and the instrument I/O log.
    t.keys(&["Enter"]);
    t.wait_for("Pmax(STC) = ", 10);
    t.keys(&["r"]);
    t.wait_for("draft report of", 30);
    // The run's sky readings (Modbus frames at every gate sample) fill most of the log: the
    // filter finds the tracer's data transfer.
    t.keys(&["Escape", "6", "i", "/", "T", "R", "A", "C", "Enter"]);
    t.wait_for(":TRAC:DATA?", 10);
    let conn = rusqlite::Connection::open(&db).expect("db");
    // The queued run is the last outdoor-pmax run recorded: its draft is the one just written
    // (started_at is simulated time, the same for every run of the simulated day).
    let (run_id, parameters): (String, String) = conn
        .query_row(
            "SELECT id, parameters FROM runs WHERE procedure = 'outdoor-pmax' ORDER BY rowid DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("run");
    assert!(parameters.contains("\"sweeps\":1"), "{parameters}");
    let drafts = dir.join("reports").join(&run_id);
    let pdf = std::fs::read(drafts.join(format!("DRAFT-{run_id}.pdf"))).expect("draft PDF");
    assert!(pdf.starts_with(b"%PDF-"));
    let html =
        std::fs::read_to_string(drafts.join(format!("DRAFT-{run_id}.html"))).expect("draft HTML");
    assert!(
        html.contains("class=\"watermark\">DRAFT"),
        "the draft is watermarked"
    );
    drop(conn);
    t.keys(&["q"]);
    // The answers are in the audit trail.
    let conn = rusqlite::Connection::open(&db).expect("db");
    let answers: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM audit WHERE action = 'prompt.answer'",
            [],
            |r| r.get(0),
        )
        .expect("audit");
    assert_eq!(answers, 3, "lab temperature, humidity, connect");
}

#[test]
fn the_console_refuses_to_start_without_a_terminal() {
    let out = crate::cli::bin()
        .args(["tui", "--db"])
        .arg(crate::cli::tempdir("tui-no-tty").join("s.db"))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the console needs a terminal"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
