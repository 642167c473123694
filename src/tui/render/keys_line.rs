//! The keys line: hints for the screen (from [`KEYS`]), or the filter
//! being typed.

use super::Theme;
use crate::tui::app::ViewState;
use crate::tui::keys::KEYS;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub(super) fn keys_line(
    f: &mut Frame,
    area: Rect,
    view: &ViewState,
    hidden_columns: bool,
    ended: bool,
    t: Theme,
) {
    let mut spans = Vec::new();
    if view.editing {
        spans.push(Span::styled(" filter: ", t.label()));
        spans.push(Span::raw(view.filter.clone()));
        spans.push(Span::styled("▏", t.key()));
        spans.push(Span::styled(
            "   enter keeps it · esc clears it · ↑↓ move",
            t.dim(),
        ));
        f.render_widget(Paragraph::new(Line::from(spans)), area);
        return;
    }
    let hints: Vec<(&str, &str, u8)> = KEYS
        .iter()
        .filter(|k| k.hinted(view, hidden_columns, ended))
        .filter_map(|k| k.hint)
        .collect();
    // Hints that do not fit leave, highest rank first.
    let width = area.width as usize;
    let cost = |h: &(&str, &str, u8)| h.0.chars().count() + h.1.chars().count() + 3;
    let mut keep: Vec<bool> = vec![true; hints.len()];
    let mut total: usize = 1 + hints.iter().map(cost).sum::<usize>();
    let mut by_rank: Vec<usize> = (0..hints.len()).filter(|&i| hints[i].2 > 0).collect();
    // Highest rank first; of equal ranks, the later first.
    by_rank.sort_by_key(|&i| std::cmp::Reverse((hints[i].2, i)));
    for i in by_rank {
        if total <= width {
            break;
        }
        keep[i] = false;
        total -= cost(&hints[i]);
    }
    spans.push(Span::raw(" "));
    for (k, what, _) in hints.iter().zip(&keep).filter(|(_, k)| **k).map(|(h, _)| h) {
        if spans.len() > 1 {
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled(*k, t.key()));
        spans.push(Span::raw(format!(" {what}")));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}
