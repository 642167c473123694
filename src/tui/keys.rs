//! Keys to [`Action`]s, from one table: [`KEYS`] says which keys do what
//! on which screen, what the help says about them and what the keys line
//! hints; [`action`] looks keys up in it. Typing a filter and the help
//! overlay have keys of their own.

use crate::tui::app::{Action, ViewState};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// The screen a key works on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum On {
    /// The table and the detail view.
    Both,
    /// The table.
    Table,
    /// The detail view.
    Detail,
}

/// What a key needs beside its screen.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Needs {
    /// Nothing.
    Nothing,
    /// A replay (not a live capture).
    Replay,
    /// A replay that can start again (a file, not standard input); its
    /// hint waits for the end of the replay.
    Restartable,
    /// Columns hidden on a narrow screen (the key works anyway; only its
    /// hint waits for them).
    HiddenColumns,
    /// More than one path timeout to choose from.
    SeveralPaths,
}

/// Keys documented together: one line of the help, and a hint on the keys
/// line.
pub struct Keys {
    /// The keys, as the help names them.
    pub name: &'static str,
    /// What they do, in the help; `None`: said by another entry's line.
    pub help: Option<&'static str>,
    /// On the keys line: the key, a word, and a rank (hints that do not fit
    /// leave highest rank first; 0 always stays).
    pub hint: Option<(&'static str, &'static str, u8)>,
    /// Where they work.
    pub on: On,
    /// What else they need.
    pub needs: Needs,
    /// Each key and its action.
    pub bind: &'static [(KeyCode, Action)],
}

const MOVE: &[(KeyCode, Action)] = &[
    (KeyCode::Up, Action::Up),
    (KeyCode::Char('k'), Action::Up),
    (KeyCode::Down, Action::Down),
    (KeyCode::Char('j'), Action::Down),
    (KeyCode::PageUp, Action::PageUp),
    (KeyCode::PageDown, Action::PageDown),
    (KeyCode::Home, Action::Top),
    (KeyCode::Char('g'), Action::Top),
    (KeyCode::End, Action::Bottom),
    (KeyCode::Char('G'), Action::Bottom),
];

/// Every key of the table and the detail view, in the order the help and
/// the keys line show them.
pub const KEYS: &[Keys] = &[
    Keys {
        name: "↑↓ j k",
        help: Some("select (details: scroll) · PgUp/PgDn a page · g/G first/last"),
        hint: Some(("↑↓", "select", 1)),
        on: On::Table,
        needs: Needs::Nothing,
        bind: MOVE,
    },
    Keys {
        name: "↑↓ j k",
        help: None,
        hint: Some(("↑↓", "scroll", 3)),
        on: On::Detail,
        needs: Needs::Nothing,
        bind: MOVE,
    },
    Keys {
        name: "enter",
        help: Some("details: timing, likely settings, probe timeline; esc back"),
        hint: Some(("enter", "details", 2)),
        on: On::Table,
        needs: Needs::Nothing,
        bind: &[
            (KeyCode::Enter, Action::OpenDetail),
            (KeyCode::Right, Action::OpenDetail),
        ],
    },
    Keys {
        name: "esc",
        help: None,
        hint: Some(("esc", "back", 1)),
        on: On::Detail,
        needs: Needs::Nothing,
        bind: &[
            (KeyCode::Esc, Action::CloseDetail),
            (KeyCode::Enter, Action::CloseDetail),
            (KeyCode::Backspace, Action::CloseDetail),
            (KeyCode::Left, Action::CloseDetail),
        ],
    },
    Keys {
        name: "n p",
        help: Some("details: the next, the previous connection (also tab, shift-tab)"),
        hint: Some(("n/p", "next/prev connection", 2)),
        on: On::Detail,
        needs: Needs::Nothing,
        bind: &[
            (KeyCode::Char('n'), Action::NextFlow),
            (KeyCode::Tab, Action::NextFlow),
            (KeyCode::Char('p'), Action::PrevFlow),
            (KeyCode::BackTab, Action::PrevFlow),
        ],
    },
    Keys {
        name: "/",
        help: Some("filter by text (endpoint, port, state); esc clears"),
        hint: Some(("/", "filter", 3)),
        on: On::Table,
        needs: Needs::Nothing,
        bind: &[
            (KeyCode::Char('/'), Action::FilterStart),
            (KeyCode::Esc, Action::FilterClear),
        ],
    },
    Keys {
        name: "s  r",
        help: Some("sort by state → idle → last activity → endpoint; reverse"),
        hint: Some(("s", "sort", 5)),
        on: On::Table,
        needs: Needs::Nothing,
        bind: &[(KeyCode::Char('s'), Action::CycleSort)],
    },
    Keys {
        name: "r",
        help: None,
        hint: Some(("r", "reverse", 7)),
        on: On::Table,
        needs: Needs::Nothing,
        bind: &[
            (KeyCode::Char('r'), Action::ReverseSort),
            (KeyCode::Char('S'), Action::ReverseSort),
        ],
    },
    Keys {
        name: "a",
        help: Some("all connections, or only those with keepalive probes"),
        hint: Some(("a", "keepalive only", 8)),
        on: On::Table,
        needs: Needs::Nothing,
        bind: &[(KeyCode::Char('a'), Action::ToggleKeepaliveOnly)],
    },
    Keys {
        name: "t",
        help: Some("the next path timeout: the one the survival marks are against"),
        hint: Some(("t", "path", 5)),
        on: On::Both,
        needs: Needs::SeveralPaths,
        bind: &[(KeyCode::Char('t'), Action::CyclePath)],
    },
    Keys {
        name: "< >",
        help: Some("narrow screen: shift hidden columns into view, and back"),
        hint: Some(("< >", "columns", 1)),
        on: On::Table,
        needs: Needs::HiddenColumns,
        bind: &[
            (KeyCode::Char('>'), Action::ColumnsRight),
            (KeyCode::Char('<'), Action::ColumnsLeft),
        ],
    },
    Keys {
        name: "space",
        help: Some("pause: a replay's clock stops; live, the screen freezes"),
        hint: Some(("space", "pause", 4)),
        on: On::Both,
        needs: Needs::Nothing,
        bind: &[(KeyCode::Char(' '), Action::TogglePause)],
    },
    Keys {
        name: "+ -",
        help: Some("replay faster, slower: 1/64× to 1024×, then as fast as it reads"),
        hint: Some(("+/-", "speed", 6)),
        on: On::Both,
        needs: Needs::Replay,
        bind: &[
            (KeyCode::Char('+'), Action::Faster),
            (KeyCode::Char('='), Action::Faster),
            (KeyCode::Char('-'), Action::Slower),
        ],
    },
    Keys {
        name: "R",
        help: Some("replay again from the start (sort and filter stay)"),
        hint: Some(("R", "replay again", 2)),
        on: On::Both,
        needs: Needs::Restartable,
        bind: &[(KeyCode::Char('R'), Action::Restart)],
    },
    Keys {
        name: "?  q",
        help: Some("this help (↑↓ scroll it); quit (also ctrl-c)"),
        hint: Some(("?", "help", 0)),
        on: On::Both,
        needs: Needs::Nothing,
        bind: &[(KeyCode::Char('?'), Action::ToggleHelp)],
    },
    Keys {
        name: "q",
        help: None,
        hint: Some(("q", "quit", 0)),
        on: On::Both,
        needs: Needs::Nothing,
        bind: &[(KeyCode::Char('q'), Action::Quit)],
    },
];

impl Keys {
    /// Whether these keys work on the view's screen now. `hidden_columns`:
    /// whether the table hides columns (for hints; the keys work anyway).
    pub fn apply_to(&self, view: &ViewState, hidden_columns: bool) -> bool {
        let screen = match self.on {
            On::Both => true,
            On::Table => view.detail.is_none(),
            On::Detail => view.detail.is_some(),
        };
        screen
            && match self.needs {
                Needs::Nothing => true,
                Needs::Replay => !view.live,
                Needs::Restartable => !view.live && view.restartable,
                Needs::HiddenColumns => hidden_columns,
                Needs::SeveralPaths => view.paths.len() > 1,
            }
    }
}

impl Keys {
    /// Whether the keys line hints these keys now: they work, and a
    /// restart's hint waits for the replay to have `ended`.
    pub fn hinted(&self, view: &ViewState, hidden_columns: bool, ended: bool) -> bool {
        self.apply_to(view, hidden_columns) && (self.needs != Needs::Restartable || ended)
    }
}

/// The action a key asks for, if any.
pub fn action(key: KeyEvent, view: &ViewState) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && matches!(key.code, KeyCode::Char('c' | 'C')) {
        return Some(Action::Quit);
    }
    if view.editing {
        return match key.code {
            KeyCode::Enter => Some(Action::FilterAccept),
            KeyCode::Esc => Some(Action::FilterClear),
            KeyCode::Backspace => Some(Action::FilterBackspace),
            KeyCode::Char('u') if ctrl => Some(Action::FilterErase),
            KeyCode::Up => Some(Action::Up),
            KeyCode::Down => Some(Action::Down),
            KeyCode::Char(c) if !ctrl => Some(Action::FilterInput(c)),
            _ => None,
        };
    }
    if view.help {
        return match key.code {
            KeyCode::Char('q') => Some(Action::Quit),
            KeyCode::Char('?' | 'h') | KeyCode::Esc | KeyCode::Enter => Some(Action::ToggleHelp),
            // The help scrolls when it does not fit.
            code => MOVE.iter().find(|(k, _)| *k == code).map(|&(_, a)| a),
        };
    }
    if ctrl {
        return None;
    }
    let found = KEYS
        .iter()
        .filter(|k| k.apply_to(view, true))
        .flat_map(|k| k.bind.iter())
        .find(|(k, _)| *k == key.code)
        .map(|&(_, a)| a);
    match found {
        // Esc on the table clears a filter, if there is one.
        Some(Action::FilterClear) if view.filter.is_empty() => None,
        a => a,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::FlowId;

    fn k(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn keys_by_mode() {
        let table = ViewState::new(false);
        let mut typing = ViewState::new(false);
        typing.editing = true;
        let mut help = ViewState::new(false);
        help.help = true;
        let mut detail = ViewState::new(false);
        let e = crate::Endpoint::new([198, 18, 0, 1].into(), 1);
        detail.detail = Some(FlowId {
            a: e,
            b: e,
            vlan: Default::default(),
        });
        let mut filtered = ViewState::new(false);
        filtered.filter = "x".into();
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        let ctrl_u = KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL);
        let release = KeyEvent {
            kind: KeyEventKind::Release,
            ..k(KeyCode::Char('q'))
        };
        let cases: &[(&str, &ViewState, KeyEvent, Option<Action>)] = &[
            ("table q", &table, k(KeyCode::Char('q')), Some(Action::Quit)),
            ("table ctrl-c", &table, ctrl_c, Some(Action::Quit)),
            ("key release ignored", &table, release, None),
            (
                "table enter",
                &table,
                k(KeyCode::Enter),
                Some(Action::OpenDetail),
            ),
            (
                "table /",
                &table,
                k(KeyCode::Char('/')),
                Some(Action::FilterStart),
            ),
            ("table esc, no filter", &table, k(KeyCode::Esc), None),
            (
                "table esc, filter",
                &filtered,
                k(KeyCode::Esc),
                Some(Action::FilterClear),
            ),
            (
                "table s",
                &table,
                k(KeyCode::Char('s')),
                Some(Action::CycleSort),
            ),
            (
                "table S",
                &table,
                k(KeyCode::Char('S')),
                Some(Action::ReverseSort),
            ),
            (
                "table space",
                &table,
                k(KeyCode::Char(' ')),
                Some(Action::TogglePause),
            ),
            (
                "table ?",
                &table,
                k(KeyCode::Char('?')),
                Some(Action::ToggleHelp),
            ),
            (
                "table pgdn",
                &table,
                k(KeyCode::PageDown),
                Some(Action::PageDown),
            ),
            ("table home", &table, k(KeyCode::Home), Some(Action::Top)),
            (
                "typing q",
                &typing,
                k(KeyCode::Char('q')),
                Some(Action::FilterInput('q')),
            ),
            (
                "typing space",
                &typing,
                k(KeyCode::Char(' ')),
                Some(Action::FilterInput(' ')),
            ),
            ("typing ctrl-c", &typing, ctrl_c, Some(Action::Quit)),
            ("typing ctrl-u", &typing, ctrl_u, Some(Action::FilterErase)),
            (
                "typing enter",
                &typing,
                k(KeyCode::Enter),
                Some(Action::FilterAccept),
            ),
            (
                "typing esc",
                &typing,
                k(KeyCode::Esc),
                Some(Action::FilterClear),
            ),
            ("typing down", &typing, k(KeyCode::Down), Some(Action::Down)),
            (
                "help ?",
                &help,
                k(KeyCode::Char('?')),
                Some(Action::ToggleHelp),
            ),
            ("help esc", &help, k(KeyCode::Esc), Some(Action::ToggleHelp)),
            ("help q", &help, k(KeyCode::Char('q')), Some(Action::Quit)),
            ("help s", &help, k(KeyCode::Char('s')), None),
            (
                "detail esc",
                &detail,
                k(KeyCode::Esc),
                Some(Action::CloseDetail),
            ),
            (
                "detail enter",
                &detail,
                k(KeyCode::Enter),
                Some(Action::CloseDetail),
            ),
            (
                "detail n",
                &detail,
                k(KeyCode::Char('n')),
                Some(Action::NextFlow),
            ),
            (
                "detail p",
                &detail,
                k(KeyCode::Char('p')),
                Some(Action::PrevFlow),
            ),
            ("detail down", &detail, k(KeyCode::Down), Some(Action::Down)),
            ("detail /", &detail, k(KeyCode::Char('/')), None),
            (
                "detail q",
                &detail,
                k(KeyCode::Char('q')),
                Some(Action::Quit),
            ),
        ];
        for (name, view, key, want) in cases {
            assert_eq!(action(*key, view), *want, "{name}");
        }
    }

    #[test]
    fn replay_and_column_keys() {
        let mut replay = ViewState::new(false);
        replay.restartable = true;
        let mut stdin = ViewState::new(false);
        stdin.restartable = false;
        let mut live = ViewState::new(false);
        live.live = true;
        let mut help = ViewState::new(false);
        help.help = true;
        let c = |ch| k(KeyCode::Char(ch));
        let cases: &[(&str, &ViewState, KeyEvent, Option<Action>)] = &[
            ("+", &replay, c('+'), Some(Action::Faster)),
            ("= (+ unshifted)", &replay, c('='), Some(Action::Faster)),
            ("-", &replay, c('-'), Some(Action::Slower)),
            ("R", &replay, c('R'), Some(Action::Restart)),
            ("R, standard input", &stdin, c('R'), None),
            ("+ live", &live, c('+'), None),
            ("R live", &live, c('R'), None),
            ("> columns", &replay, c('>'), Some(Action::ColumnsRight)),
            ("< columns", &live, c('<'), Some(Action::ColumnsLeft)),
            (
                "help down scrolls",
                &help,
                k(KeyCode::Down),
                Some(Action::Down),
            ),
            ("help + waits", &help, c('+'), None),
        ];
        for (name, view, key, want) in cases {
            assert_eq!(action(*key, view), *want, "{name}");
        }
    }

    /// No key means two things on one screen.
    #[test]
    fn one_meaning_per_key_and_screen() {
        for (i, a) in KEYS.iter().enumerate() {
            for b in &KEYS[i + 1..] {
                let overlap = a.on == On::Both || b.on == On::Both || a.on == b.on;
                if !overlap {
                    continue;
                }
                for (ka, aa) in a.bind {
                    for (kb, ab) in b.bind {
                        assert!(
                            ka != kb || aa == ab,
                            "{ka:?}: {aa:?} ({}) and {ab:?} ({})",
                            a.name,
                            b.name
                        );
                    }
                }
            }
        }
    }
}
