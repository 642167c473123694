//! The help overlay: keys, states, and the column legend (from the column
//! table, so a new column documents itself).

use super::columns;
use super::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

const HELP: &[(&str, &str)] = &[
    (
        "↑↓ j k",
        "select a connection · PgUp/PgDn a page · g/G first/last",
    ),
    (
        "enter",
        "details: both sides' timing, likely settings, probe timeline",
    ),
    ("/", "filter by text (endpoint, port, state); esc clears"),
    (
        "s  r",
        "sort by state → idle → last activity → endpoint; reverse",
    ),
    ("a", "all connections, or only those with keepalive probes"),
    (
        "space",
        "pause: a replay's clock stops; live, the screen freezes",
    ),
    ("?  q", "this help; quit (also ctrl-c)"),
];

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

pub(super) fn help(f: &mut Frame, area: Rect, t: Theme) {
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
    section(&mut lines, "Keys", HELP, NAME_WIDTH);
    lines.push(Line::raw(""));
    section(&mut lines, "States", STATES, NAME_WIDTH);
    lines.push(Line::raw(""));
    let legend = columns::legend();
    let legend: Vec<(&str, &str)> = legend.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    section(&mut lines, "Columns", &legend, NAME_WIDTH);
    lines.push(Line::raw(""));
    let marks: Vec<(&str, &str)> = columns::MARKS.iter().map(|m| (m.symbol, m.long)).collect();
    section(&mut lines, "Marks", &marks, NAME_WIDTH);
    let w = 86.min(area.width.saturating_sub(2));
    let h = (lines.len() as u16 + 2).min(area.height.saturating_sub(1));
    let r = Rect::new(
        area.x + (area.width.saturating_sub(w)) / 2,
        area.y + (area.height.saturating_sub(h)) / 2,
        w,
        h,
    );
    f.render_widget(Clear, r);
    let block =
        Block::bordered().title(Span::styled(" kawatch help · ? or esc closes ", t.label()));
    f.render_widget(Paragraph::new(lines).block(block), r);
}
