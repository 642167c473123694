//! The help overlay: keys (from the key table), states, the column legend
//! (from the column table, so a new column documents itself) and the marks.
//! It scrolls when it does not fit.

use super::columns;
use super::Theme;
use crate::tui::keys::KEYS;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

const STATES: &[(&str, &str)] = &[
    ("alive", "the last keepalive probe was answered"),
    (
        "probing n/m",
        "n probes unanswered; the prober gives up after m",
    ),
    (
        "overdue",
        "a probe (or the give-up) was due and none was seen",
    ),
    (
        "dead",
        "the prober gave up after unanswered probes (sent RST)",
    ),
    ("reset", "an RST ended it (by peer: it answered a probe)"),
    (
        "idle, active",
        "no probe yet: quiet, or data in the last second",
    ),
    ("closing, closed", "FIN from one side, from both"),
];

/// Width of the first column (key, state or column name).
const NAME_WIDTH: usize = 15;

pub(super) fn help(f: &mut Frame, area: Rect, scroll: u16, t: Theme) {
    let lines = help_lines(t);
    let n = lines.len() as u16;
    let r = help_rect(area, n);
    let inner = r.height.saturating_sub(2);
    let scroll = scroll.min(n.saturating_sub(inner));
    f.render_widget(Clear, r);
    let title = if n > inner {
        " kawatch help · ↑↓ scroll · ? or esc closes "
    } else {
        " kawatch help · ? or esc closes "
    };
    let block = Block::bordered().title(Span::styled(title, t.label()));
    f.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), r);
}

/// How far the help can scroll on a screen of this size.
pub(crate) fn help_max_scroll(area: Rect) -> u16 {
    let n = help_lines(Theme { color: false }).len() as u16;
    n.saturating_sub(help_rect(area, n).height.saturating_sub(2))
}

/// The overlay's box for `n` lines, centred.
fn help_rect(area: Rect, n: u16) -> Rect {
    let w = 86.min(area.width.saturating_sub(2));
    let h = (n + 2).min(area.height.saturating_sub(1));
    Rect::new(
        area.x + (area.width.saturating_sub(w)) / 2,
        area.y + (area.height.saturating_sub(h)) / 2,
        w,
        h,
    )
}

fn help_lines(t: Theme) -> Vec<Line<'static>> {
    let mut lines: Vec<Line> = Vec::new();
    let section = |lines: &mut Vec<Line>, name: &str, rows: &[(&str, &str)], kw: usize| {
        lines.push(Line::styled(format!(" {name}"), t.header()));
        for (k, v) in rows {
            lines.push(Line::from(vec![
                Span::styled(format!("  {k:<kw$} "), t.key()),
                Span::raw(v.to_string()),
            ]));
        }
    };
    let keys: Vec<(&str, &str)> = KEYS
        .iter()
        .filter_map(|k| k.help.map(|h| (k.name, h)))
        .collect();
    section(&mut lines, "Keys", &keys, NAME_WIDTH);
    section(&mut lines, "States", STATES, NAME_WIDTH);
    let legend = columns::legend();
    let legend: Vec<(&str, &str)> = legend.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    section(&mut lines, "Columns", &legend, NAME_WIDTH);
    let marks: Vec<(&str, &str)> = columns::MARKS.iter().map(|m| (m.symbol, m.long)).collect();
    section(&mut lines, "Marks", &marks, NAME_WIDTH);
    lines
}
