//! Drawing: a pure function of the snapshot, the source's status and the
//! view state. No I/O, no clock: the time is the snapshot's. Only the rows
//! on screen are formatted, so thousands of connections cost little.
//!
//! One file per part of the screen: `title` (top line), `table` (the
//! connections, in the columns of `columns`), `detail` (one connection),
//! `status_line` and `keys_line` (the bottom two lines), `help` (the
//! overlay).

mod columns;
mod detail;
mod help;
mod keys_line;
mod status_line;
mod survival;
mod table;
mod title;

pub(crate) use detail::detail_max_scroll;
pub(crate) use help::help_max_scroll;
pub use table::column_steps;

use crate::tui::app::{FlowId, ViewState};
use crate::tui::feed::FeedStatus;
use kawatch_core::status::State;
use kawatch_core::Snapshot;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// Where things go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Areas {
    /// Title bar: counts per state, sort, filter.
    pub(crate) title: Rect,
    /// The table or the detail view.
    pub(crate) body: Rect,
    /// Source, packets, drops, flows.
    pub(crate) status: Rect,
    /// Key hints, or the filter being typed.
    pub(crate) keys: Rect,
}

/// Splits the screen.
pub(crate) fn areas(area: Rect) -> Areas {
    let line = |y: u16| Rect::new(area.x, y, area.width, 1.min(area.height));
    let h = area.height;
    let body_h = h.saturating_sub(3);
    Areas {
        title: line(area.y),
        body: Rect::new(area.x, area.y + 1.min(h), area.width, body_h),
        status: line(area.y + h.saturating_sub(2)),
        keys: line(area.y + h.saturating_sub(1)),
    }
}

/// Table rows that fit on a screen of this size (the header and the legend
/// line under the rows take one line each).
pub fn table_rows(area: Rect) -> usize {
    areas(area).body.height.saturating_sub(2) as usize
}

/// Styles, with or without colour (`NO_COLOR`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Theme {
    color: bool,
}

impl Theme {
    pub(crate) fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub(crate) fn state(&self, s: State) -> Style {
        let bold = Modifier::BOLD;
        match s {
            State::Dead | State::Gone => self.fg(Color::Red).add_modifier(bold),
            State::Overdue => self.fg(Color::Magenta).add_modifier(bold),
            State::Probing { .. } => self.fg(Color::Yellow).add_modifier(bold),
            State::Reset { by_peer: true } => self.fg(Color::Red),
            State::Alive => self.fg(Color::Green),
            State::Active => self.fg(Color::Cyan),
            State::Idle => Style::new(),
            State::Reset { by_peer: false } | State::Opening | State::Closing | State::Closed => {
                self.dim()
            }
        }
    }

    /// A survival mark: safe green, at risk yellow, exceeded red and bold.
    pub(crate) fn verdict(&self, v: kawatch_core::PathVerdict) -> Style {
        use kawatch_core::PathVerdict::*;
        match v {
            Safe => self.fg(Color::Green),
            AtRisk => self.fg(Color::Yellow),
            Exceeded => self.fg(Color::Red).add_modifier(Modifier::BOLD),
        }
    }

    pub(crate) fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }

    pub(crate) fn bar(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub(crate) fn header(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }

    pub(crate) fn key(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub(crate) fn label(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    pub(crate) fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub(crate) fn warn(&self) -> Style {
        self.fg(Color::Yellow)
    }
}

/// Draws the whole screen.
pub fn draw(f: &mut Frame, snap: &Snapshot, status: &FeedStatus, view: &ViewState) {
    let theme = Theme { color: view.color };
    let a = areas(f.area());
    let mut hidden = false;
    title::title(f, a.title, snap, view, theme);
    let detail = view
        .detail
        .and_then(|id| snap.flows.iter().find(|fl| FlowId::of(fl) == id));
    let ended = status.finished && !status.live;
    match (view.detail, detail) {
        (Some(_), Some(flow)) => detail::detail_view(f, a.body, snap, flow, view, ended, theme),
        (Some(_), None) => {
            let msg = "That connection is no longer tracked. Esc goes back.";
            f.render_widget(Paragraph::new(msg), a.body);
        }
        (None, _) => hidden = table::table(f, a.body, snap, status, view, theme),
    }
    status_line::status_line(f, a.status, snap, status, view, theme);
    keys_line::keys_line(f, a.keys, view, hidden, ended, theme);
    if view.help {
        help::help(f, f.area(), view.help_scroll, theme);
    }
}
