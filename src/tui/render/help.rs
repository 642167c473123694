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
    ("alive", "the peer was heard after the last keepalive probe"),
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
    (
        "gone",
        "this box's socket closed with no FIN or RST on the wire (a give-up whose \
         probes never reached the wire?)",
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
    let (r, lines) = layout(area, t);
    let n = lines.len() as u16;
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
    let (r, lines) = layout(area, Theme { color: false });
    (lines.len() as u16).saturating_sub(r.height.saturating_sub(2))
}

/// The overlay's box, centred, and its lines wrapped to fit it.
fn layout(area: Rect, t: Theme) -> (Rect, Vec<Line<'static>>) {
    let w = 86.min(area.width.saturating_sub(2));
    let lines = help_lines(t, w.saturating_sub(2) as usize);
    let h = (lines.len() as u16 + 2).min(area.height.saturating_sub(1));
    let r = Rect::new(
        area.x + (area.width.saturating_sub(w)) / 2,
        area.y + (area.height.saturating_sub(h)) / 2,
        w,
        h,
    );
    (r, lines)
}

/// `text` in lines of at most `width` characters, broken at spaces (a word
/// longer than that stays whole, and is cut on screen).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(8);
    let mut out: Vec<String> = vec![String::new()];
    for word in text.split(' ') {
        let n = out.last().map_or(0, |l| l.chars().count());
        if n > 0 && n + 1 + word.chars().count() > width {
            out.push(String::new());
        }
        if let Some(line) = out.last_mut() {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    out
}

/// The help's lines, `width` characters wide: long texts go on under
/// their own start.
fn help_lines(t: Theme, width: usize) -> Vec<Line<'static>> {
    let mut lines: Vec<Line> = Vec::new();
    let section = |lines: &mut Vec<Line>, name: &str, rows: &[(&str, &str)], kw: usize| {
        lines.push(Line::styled(format!(" {name}"), t.header()));
        let indent = kw + 3;
        for (k, v) in rows {
            for (i, part) in wrap(v, width.saturating_sub(indent))
                .into_iter()
                .enumerate()
            {
                let key = if i == 0 { *k } else { "" };
                lines.push(Line::from(vec![
                    Span::styled(format!("  {key:<kw$} "), t.key()),
                    Span::raw(part),
                ]));
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_wrap_at_spaces() {
        assert_eq!(wrap("a bb ccc dddd", 8), ["a bb ccc", "dddd"]);
        assert_eq!(wrap("short", 20), ["short"]);
        let text = "replay faster, slower: 1/64× to 1024×, then as fast as it reads";
        for line in wrap(text, 30) {
            assert!(line.chars().count() <= 30, "{line}");
        }
    }
}
