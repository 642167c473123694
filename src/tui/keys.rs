//! Keys to [`Action`]s. What a key means depends only on the view's mode
//! (typing a filter, help shown, detail view, table).

use crate::tui::app::{Action, ViewState};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

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
            _ => None,
        };
    }
    let common = match key.code {
        KeyCode::Char('q') => Some(Action::Quit),
        KeyCode::Char('?') => Some(Action::ToggleHelp),
        KeyCode::Char(' ') => Some(Action::TogglePause),
        KeyCode::Up | KeyCode::Char('k') => Some(Action::Up),
        KeyCode::Down | KeyCode::Char('j') => Some(Action::Down),
        KeyCode::PageUp => Some(Action::PageUp),
        KeyCode::PageDown => Some(Action::PageDown),
        KeyCode::Home | KeyCode::Char('g') => Some(Action::Top),
        KeyCode::End | KeyCode::Char('G') => Some(Action::Bottom),
        _ => None,
    };
    if common.is_some() {
        return common;
    }
    if view.detail.is_some() {
        return match key.code {
            KeyCode::Esc | KeyCode::Enter | KeyCode::Backspace | KeyCode::Left => {
                Some(Action::CloseDetail)
            }
            KeyCode::Char('n') | KeyCode::Tab => Some(Action::NextFlow),
            KeyCode::Char('p') | KeyCode::BackTab => Some(Action::PrevFlow),
            _ => None,
        };
    }
    match key.code {
        KeyCode::Enter | KeyCode::Right => Some(Action::OpenDetail),
        KeyCode::Char('/') => Some(Action::FilterStart),
        KeyCode::Esc if !view.filter.is_empty() => Some(Action::FilterClear),
        KeyCode::Char('s') => Some(Action::CycleSort),
        KeyCode::Char('r' | 'S') => Some(Action::ReverseSort),
        KeyCode::Char('a') => Some(Action::ToggleKeepaliveOnly),
        _ => None,
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
}
