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
            KeyCode::Char('?') | KeyCode::Esc | KeyCode::Enter | KeyCode::Char('h') => {
                Some(Action::ToggleHelp)
            }
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
        KeyCode::Char('r') | KeyCode::Char('S') => Some(Action::ReverseSort),
        KeyCode::Char('a') => Some(Action::ToggleKeepaliveOnly),
        _ => None,
    }
}
