//! Every key binding of the console, in one table. The key handling (`action_for`), the footer
//! hints (`hints`) and the `?` help (`help_lines`) are all read from it, so a binding cannot be
//! handled without being shown, or shown without being handled.
//!
//! Keys go to a *view*: the dialog on top (prompt, confirmation, value editor, log filter, run
//! detail, help) or else the screen, where the procedures screen is two views (the list and the
//! parameter form) and the station and live screens differ only in whether a run is active.

use super::app::{App, Screen};

/// A key as the console sees it (independent of the terminal library). The variants are the
/// keys' names.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A character.
    Char(char),
    Enter,
    Esc,
    Tab,
    /// Shift-Tab.
    BackTab,
    Up,
    Down,
    Left,
    Right,
    Backspace,
    /// Ctrl-C (abort a run, or quit).
    CtrlC,
}

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    /// Leave the console (asks first while a run is active).
    Quit,
    /// Go to a screen.
    Show(Screen),
    /// Go to the next screen (wraps around).
    NextScreen,
    /// Go to the previous screen (wraps around).
    PreviousScreen,
    /// Move the selection.
    Up,
    /// Move the selection.
    Down,
    /// Toggle the key-binding help.
    Help,
    /// Start the selected procedure.
    Start,
    /// Dry-run the selected procedure.
    DryRun,
    /// Ask to abort the active run.
    Abort,
    /// Ask to remove the selected queue item.
    RemoveQueueItem,
    /// Confirm the pending question.
    Confirm,
    /// Close a dialog (a value being edited keeps its old value).
    Cancel,
    /// Type into the open prompt, value or filter.
    Type(char),
    /// Delete the last character typed.
    Erase,
    /// Submit the prompt answer or the edited value.
    Submit,
    /// Start editing the log filter.
    Filter,
    /// Move the focus between the procedure list and its parameters.
    Focus,
    /// Open the selected run's results, budget and reports.
    OpenRun,
    /// Add the selected procedure (with the form's values) to the queue.
    QueueAdd,
    /// Move the selected queue item up.
    QueueUp,
    /// Move the selected queue item down.
    QueueDown,
    /// Run the queue (headless runs, one after the other).
    RunQueue,
    /// Write a draft report of the selected run.
    DraftReport,
    /// Switch the log between engine events and the instrument I/O log.
    ToggleIo,
    /// Switch the runs screen between this station's runs and the lab store's.
    ToggleLab,
    /// Edit the selected parameter.
    Edit,
}

/// Where keys go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// An operator prompt is open.
    Prompt,
    /// A question waits for y/n.
    Confirm,
    /// A parameter value is being typed.
    Value,
    /// The log filter is being typed.
    Filter,
    /// A run's details are open.
    Detail,
    /// The key help is open.
    Help,
    /// The station or live screen, no run active.
    Overview,
    /// The station or live screen while a run is active.
    Running,
    /// The procedures screen, the list has the focus.
    ProcedureList,
    /// The procedures screen, the parameter form has the focus.
    Parameters,
    /// The queue screen.
    Queue,
    /// The run history.
    Runs,
    /// The event log or the instrument I/O log.
    Log,
}

use View::*;

/// Every view that is a screen (no dialog open).
const SCREENS: &[View] = &[
    Overview,
    Running,
    ProcedureList,
    Parameters,
    Queue,
    Runs,
    Log,
];
/// Every view.
const ALL: &[View] = &[
    Prompt,
    Confirm,
    Value,
    Filter,
    Detail,
    Help,
    Overview,
    Running,
    ProcedureList,
    Parameters,
    Queue,
    Runs,
    Log,
];

/// Which keys a binding takes.
#[derive(Debug, Clone, Copy)]
enum Keys {
    These(&'static [Key]),
    /// Any character (typing).
    AnyChar,
}

/// One binding: the keys, what they do in which views, and how the footer and the help show it.
struct Binding {
    keys: Keys,
    /// The action for the key pressed (the key matters for typing, moving and jumping; the
    /// state for Ctrl-C, which aborts a run or quits).
    does: fn(Key, &App) -> Option<Action>,
    /// Views in which the keys do it.
    active: &'static [View],
    /// Views whose footer shows `label what`.
    footer: &'static [View],
    label: &'static str,
    what: &'static str,
    /// A line of the `?` help: its place, the keys and what they do.
    help: Option<(u8, &'static str, &'static str)>,
}

/// The bindings, in the order the footers list them; the first that is active in the view and
/// takes the key wins.
static BINDINGS: &[Binding] = &[
    Binding {
        keys: Keys::These(&[Key::CtrlC]),
        does: |_, app| {
            Some(if app.live.run.is_some() {
                Action::Abort
            } else {
                Action::Quit
            })
        },
        active: ALL,
        footer: &[],
        label: "Ctrl-C",
        what: "abort or quit",
        help: None,
    },
    // Dialogs.
    Binding {
        keys: Keys::AnyChar,
        does: typing,
        active: &[Prompt, Value, Filter],
        footer: &[Prompt, Value],
        label: "type",
        what: "",
        help: None,
    },
    Binding {
        keys: Keys::These(&[Key::Backspace]),
        does: |_, _| Some(Action::Erase),
        active: &[Prompt, Value, Filter],
        footer: &[],
        label: "Backspace",
        what: "erase",
        help: None,
    },
    Binding {
        keys: Keys::These(&[Key::Enter]),
        does: |_, _| Some(Action::Submit),
        active: &[Prompt],
        footer: &[Prompt],
        label: "Enter",
        what: "submit",
        help: None,
    },
    Binding {
        keys: Keys::These(&[Key::Char('y'), Key::Char('Y')]),
        does: |_, _| Some(Action::Confirm),
        active: &[Confirm],
        footer: &[Confirm],
        label: "y",
        what: "confirm",
        help: None,
    },
    Binding {
        keys: Keys::These(&[Key::Char('n'), Key::Char('N'), Key::Esc]),
        does: |_, _| Some(Action::Cancel),
        active: &[Confirm],
        footer: &[Confirm],
        label: "n",
        what: "cancel",
        help: None,
    },
    Binding {
        keys: Keys::These(&[Key::Enter]),
        does: |_, _| Some(Action::Submit),
        active: &[Value],
        footer: &[Value],
        label: "Enter",
        what: "set",
        help: None,
    },
    Binding {
        keys: Keys::These(&[Key::Esc]),
        does: |_, _| Some(Action::Cancel),
        active: &[Value],
        footer: &[Value],
        label: "Esc",
        what: "keep the old one",
        help: None,
    },
    Binding {
        keys: Keys::These(&[Key::Enter, Key::Esc]),
        does: |_, _| Some(Action::Cancel),
        active: &[Filter],
        footer: &[],
        label: "Enter",
        what: "done",
        help: None,
    },
    Binding {
        keys: Keys::These(&[Key::Char('?'), Key::Esc, Key::Char('q')]),
        does: |_, _| Some(Action::Help),
        active: &[Help],
        footer: &[],
        label: "?",
        what: "close",
        help: None,
    },
    // Screens.
    Binding {
        keys: Keys::These(&[Key::Up, Key::Down, Key::Char('k'), Key::Char('j')]),
        does: moving,
        active: &[Parameters],
        footer: &[Parameters],
        label: "↑↓",
        what: "parameter",
        help: None,
    },
    Binding {
        keys: Keys::These(&[Key::Up, Key::Down, Key::Char('k'), Key::Char('j')]),
        does: moving,
        active: SCREENS,
        footer: &[ProcedureList, Queue, Runs],
        label: "↑↓",
        what: "select",
        help: Some((3, "↑ ↓ (j k)", "select")),
    },
    Binding {
        keys: Keys::These(&[Key::Enter, Key::Char('e')]),
        does: |_, _| Some(Action::Edit),
        active: &[Parameters],
        footer: &[Parameters],
        label: "Enter",
        what: "edit",
        help: None,
    },
    Binding {
        keys: Keys::These(&[Key::Enter, Key::Char('s')]),
        does: |_, _| Some(Action::Start),
        active: &[ProcedureList],
        footer: &[ProcedureList],
        label: "Enter",
        what: "start",
        help: Some((4, "Enter / s", "start the selected procedure")),
    },
    Binding {
        keys: Keys::These(&[Key::Left, Key::Right]),
        does: |_, _| Some(Action::Focus),
        active: &[Parameters],
        footer: &[Parameters],
        label: "←",
        what: "procedures",
        help: None,
    },
    Binding {
        keys: Keys::These(&[Key::Char('s')]),
        does: |_, _| Some(Action::Start),
        active: &[Parameters],
        footer: &[Parameters],
        label: "s",
        what: "start",
        help: None,
    },
    Binding {
        keys: Keys::These(&[Key::Char('d')]),
        does: |_, _| Some(Action::DryRun),
        active: &[ProcedureList, Parameters],
        footer: &[ProcedureList, Parameters],
        label: "d",
        what: "dry run",
        help: Some((6, "d", "dry-run it (no instrument touched)")),
    },
    Binding {
        keys: Keys::These(&[Key::Char('+')]),
        does: |_, _| Some(Action::QueueAdd),
        active: &[ProcedureList, Parameters],
        footer: &[ProcedureList],
        label: "+",
        what: "queue",
        help: None,
    },
    Binding {
        keys: Keys::These(&[Key::Left, Key::Right]),
        does: |_, _| Some(Action::Focus),
        active: &[ProcedureList],
        footer: &[ProcedureList],
        label: "→",
        what: "parameters",
        help: Some((5, "→ ←", "parameters / procedures; Enter edits")),
    },
    Binding {
        keys: Keys::These(&[Key::Char('K'), Key::Char('J')]),
        does: |key, _| {
            Some(if key == Key::Char('K') {
                Action::QueueUp
            } else {
                Action::QueueDown
            })
        },
        active: &[Queue],
        footer: &[Queue],
        label: "K J",
        what: "move",
        help: None,
    },
    Binding {
        keys: Keys::These(&[Key::Char('x')]),
        does: |_, _| Some(Action::RemoveQueueItem),
        active: &[Queue],
        footer: &[Queue],
        label: "x",
        what: "remove",
        help: Some((
            8,
            "x  K J  S  +",
            "queue: remove, move up/down, run; + adds a procedure",
        )),
    },
    Binding {
        keys: Keys::These(&[Key::Char('S')]),
        does: |_, _| Some(Action::RunQueue),
        active: &[Queue],
        footer: &[Queue],
        label: "S",
        what: "run the queue",
        help: None,
    },
    Binding {
        keys: Keys::These(&[Key::Enter]),
        does: |_, _| Some(Action::OpenRun),
        active: &[Runs],
        footer: &[Runs],
        label: "Enter",
        what: "open",
        help: Some((
            9,
            "Enter / r / l",
            "runs: open / draft report / every station's (lab store)",
        )),
    },
    Binding {
        keys: Keys::These(&[Key::Char('l')]),
        does: |_, _| Some(Action::ToggleLab),
        active: &[Runs],
        footer: &[Runs],
        label: "l",
        what: "lab store",
        help: None,
    },
    Binding {
        keys: Keys::These(&[Key::Char('r')]),
        does: |_, _| Some(Action::DraftReport),
        active: &[Runs, Detail],
        footer: &[Runs, Detail],
        label: "r",
        what: "draft report",
        help: None,
    },
    Binding {
        keys: Keys::These(&[Key::Esc, Key::Enter, Key::Char('q')]),
        does: |_, _| Some(Action::Cancel),
        active: &[Detail],
        footer: &[Detail],
        label: "Esc",
        what: "back",
        help: None,
    },
    Binding {
        keys: Keys::These(&[Key::Char('/')]),
        does: |_, _| Some(Action::Filter),
        active: &[Log],
        footer: &[Log],
        label: "/",
        what: "filter",
        help: Some((10, "/  i", "filter the log / instrument I/O log")),
    },
    Binding {
        keys: Keys::These(&[Key::Char('i')]),
        does: |_, _| Some(Action::ToggleIo),
        active: &[Log],
        footer: &[Log],
        label: "i",
        what: "instrument I/O log",
        help: None,
    },
    Binding {
        keys: Keys::These(&[Key::Char('a')]),
        does: |_, app| app.live.run.is_some().then_some(Action::Abort),
        active: SCREENS,
        footer: &[Running],
        label: "a",
        what: "abort",
        help: Some((7, "a / Ctrl-C", "abort the active run (asks first)")),
    },
    Binding {
        keys: Keys::These(&[Key::Tab, Key::BackTab]),
        does: |key, _| {
            Some(if key == Key::Tab {
                Action::NextScreen
            } else {
                Action::PreviousScreen
            })
        },
        active: SCREENS,
        footer: &[Log, Runs, Running, Overview],
        label: "Tab",
        what: "screens",
        help: Some((1, "Tab / Shift-Tab", "next / previous screen")),
    },
    Binding {
        keys: Keys::These(&[
            Key::Char('1'),
            Key::Char('2'),
            Key::Char('3'),
            Key::Char('4'),
            Key::Char('5'),
            Key::Char('6'),
        ]),
        does: |key, _| match key {
            Key::Char(c @ '1'..='6') => Some(Action::Show(Screen::ALL[c as usize - '1' as usize])),
            _ => None,
        },
        active: SCREENS,
        footer: &[Overview],
        label: "1-6",
        what: "jump",
        help: Some((2, "1-6", "jump to a screen")),
    },
    Binding {
        keys: Keys::These(&[Key::Char('?')]),
        does: |_, _| Some(Action::Help),
        active: SCREENS,
        footer: &[
            Parameters,
            ProcedureList,
            Queue,
            Log,
            Runs,
            Running,
            Overview,
        ],
        label: "?",
        what: "help",
        help: Some((11, "?", "this help")),
    },
    Binding {
        keys: Keys::These(&[Key::Char('q')]),
        does: |_, _| Some(Action::Quit),
        active: SCREENS,
        footer: &[ProcedureList, Queue, Log, Running, Overview],
        label: "q",
        what: "quit",
        help: Some((12, "q", "quit")),
    },
];

fn typing(key: Key, _: &App) -> Option<Action> {
    match key {
        Key::Char(c) => Some(Action::Type(c)),
        _ => None,
    }
}

fn moving(key: Key, _: &App) -> Option<Action> {
    match key {
        Key::Up | Key::Char('k') => Some(Action::Up),
        Key::Down | Key::Char('j') => Some(Action::Down),
        _ => None,
    }
}

/// The words a footer shows after a `type` label.
fn typing_what(view: View) -> &'static str {
    match view {
        Prompt => "the answer",
        _ => "the value",
    }
}

impl Keys {
    fn take(self, key: Key) -> bool {
        match self {
            Keys::These(keys) => keys.contains(&key),
            Keys::AnyChar => matches!(key, Key::Char(_)),
        }
    }
}

/// The screen's view (no dialog).
fn screen_view(app: &App) -> View {
    match app.screen {
        Screen::Station | Screen::Live if app.live.run.is_some() => Running,
        Screen::Station | Screen::Live => Overview,
        Screen::Procedures if app.procedures.focus_parameters => Parameters,
        Screen::Procedures => ProcedureList,
        Screen::Queue => Queue,
        Screen::Runs => Runs,
        Screen::Log => Log,
    }
}

/// The view keys go to: the topmost dialog, else the screen.
fn view(app: &App) -> View {
    if app.prompt.is_some() {
        Prompt
    } else if app.confirm.is_some() {
        Confirm
    } else if app.procedures.editing.is_some() {
        Value
    } else if app.log.editing_filter {
        Filter
    } else if app.runs.detail.is_some() {
        Detail
    } else if app.help {
        Help
    } else {
        screen_view(app)
    }
}

/// The view whose footer shows: the help and the log filter keep the screen's footer.
fn footer_view(app: &App) -> View {
    match view(app) {
        Help | Filter => screen_view(app),
        v => v,
    }
}

/// The action a key means now, if any.
pub fn action_for(app: &App, key: Key) -> Option<Action> {
    let view = view(app);
    BINDINGS
        .iter()
        .filter(|b| b.active.contains(&view) && b.keys.take(key))
        .find_map(|b| (b.does)(key, app))
}

/// The footer's key hints for the current view.
pub fn hints(app: &App) -> String {
    let view = footer_view(app);
    BINDINGS
        .iter()
        .filter(|b| b.footer.contains(&view))
        .map(|b| match b.keys {
            Keys::AnyChar => format!("{} {}", b.label, typing_what(view)),
            Keys::These(_) => format!("{} {}", b.label, b.what),
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The `?` help, one line per entry: the keys padded to one column, then what they do.
pub fn help_lines() -> Vec<String> {
    let mut entries: Vec<(u8, &str, &str)> = BINDINGS.iter().filter_map(|b| b.help).collect();
    entries.sort_by_key(|e| e.0);
    let width = entries
        .iter()
        .map(|e| e.1.chars().count())
        .max()
        .unwrap_or(0)
        + 2;
    entries
        .iter()
        .map(|(_, keys, what)| format!("{keys:<width$}{what}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::{Command, Outcome};

    #[test]
    fn every_binding_is_active_where_its_footer_shows_it() {
        for b in BINDINGS {
            for v in b.footer {
                assert!(
                    b.active.contains(v),
                    "`{} {}` shown in {v:?} but not handled there",
                    b.label,
                    b.what
                );
            }
        }
    }

    #[test]
    fn help_lines_are_numbered_once_each() {
        let mut places: Vec<u8> = BINDINGS
            .iter()
            .filter_map(|b| b.help.map(|h| h.0))
            .collect();
        places.sort_unstable();
        let n = places.len();
        places.dedup();
        assert_eq!(places.len(), n, "two help lines share a place");
        assert_eq!(places, (1..=n as u8).collect::<Vec<_>>());
        let lines = help_lines();
        assert!(lines[0].starts_with("Tab / Shift-Tab  next"), "{lines:?}");
        assert!(
            lines
                .iter()
                .all(|l| l.chars().nth(17).is_some_and(|c| c != ' '))
        );
    }

    #[test]
    fn every_footer_key_does_something_in_its_view() {
        // A footer hint names a key that works: for each view's footer, the view's first
        // binding for that label's keys yields an action on a fresh console put in the view.
        let mut app = App::new("s");
        app.procedures.rows.push(super::super::state::ProcedureRow {
            name: "p".into(),
            description: String::new(),
            parameters: Vec::new(),
        });
        app.screen = Screen::Procedures;
        assert_eq!(view(&app), ProcedureList);
        assert_eq!(action_for(&app, Key::Char('d')), Some(Action::DryRun));
        assert_eq!(
            action_for(&app, Key::Char('e')),
            None,
            "e edits in the form only"
        );
        app.procedures.focus_parameters = true;
        assert_eq!(action_for(&app, Key::Enter), Some(Action::Edit));
        assert_eq!(action_for(&app, Key::Char('s')), Some(Action::Start));
        assert_eq!(action_for(&app, Key::Char('a')), None, "no run to abort");
        app.live.run = Some("R1".into());
        assert_eq!(action_for(&app, Key::Char('a')), Some(Action::Abort));
    }

    #[test]
    fn l_switches_the_runs_screen_to_the_lab_store_and_back() {
        let mut app = App::new("s");
        app.screen = Screen::Runs;
        assert_eq!(action_for(&app, Key::Char('l')), Some(Action::ToggleLab));
        assert_eq!(app.update(Action::ToggleLab), Command::LoadLabRuns);
        app.apply_outcome(Outcome::LabRuns(vec![super::super::state::LabRunRow {
            id: "R1".into(),
            station: "Outdoor field B".into(),
            procedure: "outdoor-pmax".into(),
            status: "completed".into(),
            started: "2026-06-21".into(),
        }]));
        assert_eq!(app.runs.lab.as_ref().map(Vec::len), Some(1));
        assert_eq!(app.update(Action::ToggleLab), Command::None);
        assert!(app.runs.lab.is_none(), "back to this station's runs");
    }
}
