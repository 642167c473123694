//! The keys line: hints for the mode, or the filter being typed.

use super::Theme;
use crate::tui::app::ViewState;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub(super) fn keys_line(f: &mut Frame, area: Rect, view: &ViewState, t: Theme) {
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
    let hints: &[(&str, &str)] = if view.detail.is_some() {
        &[
            ("esc", "back"),
            ("n/p", "next/prev connection"),
            ("↑↓", "scroll"),
            ("space", "pause"),
            ("?", "help"),
            ("q", "quit"),
        ]
    } else {
        &[
            ("↑↓", "select"),
            ("enter", "details"),
            ("/", "filter"),
            ("s", "sort"),
            ("r", "reverse"),
            ("a", "keepalive only"),
            ("space", "pause"),
            ("?", "help"),
            ("q", "quit"),
        ]
    };
    // Hints that do not fit leave from the middle: help and quit stay.
    let width = area.width as usize;
    let cost = |h: &(&str, &str)| h.0.chars().count() + h.1.chars().count() + 3;
    let mut keep: Vec<bool> = vec![true; hints.len()];
    let mut total: usize = 1 + hints.iter().map(cost).sum::<usize>();
    let mut drop_at = hints.len().saturating_sub(3);
    while total > width && drop_at > 0 {
        keep[drop_at] = false;
        total -= cost(&hints[drop_at]);
        drop_at -= 1;
    }
    spans.push(Span::raw(" "));
    for (i, (k, what)) in hints.iter().enumerate().filter(|(i, _)| keep[*i]) {
        if i > 0 && spans.len() > 1 {
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled(*k, t.key()));
        spans.push(Span::raw(format!(" {what}")));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}
