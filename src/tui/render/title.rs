//! The title bar: connections per state, then sort, filter and position.

use super::Theme;
use crate::tui::app::ViewState;
use crate::tui::fmt;
use kawatch_core::status::State;
use kawatch_core::Snapshot;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

const RANK_LABELS: [(&str, State); State::RANKS] = [
    ("dead", State::Dead),
    ("gone", State::Gone),
    ("overdue", State::Overdue),
    (
        "probing",
        State::Probing {
            unanswered: 0,
            of: 0,
            assumed: false,
        },
    ),
    ("reset by peer", State::Reset { by_peer: true }),
    ("alive", State::Alive),
    ("idle", State::Idle),
    ("active", State::Active),
    ("opening", State::Opening),
    ("closing", State::Closing),
    ("reset", State::Reset { by_peer: false }),
    ("closed", State::Closed),
];

pub(super) fn title(f: &mut Frame, area: Rect, snap: &Snapshot, view: &ViewState, t: Theme) {
    let width = area.width as usize;
    // The right side's parts, each with its rank: where they do not all
    // fit, the least needed go first (the sort, the position), and what
    // narrows the table (the filter, keepalive only, how many it shows)
    // last.
    let mut parts: Vec<(u8, String)> = Vec::new();
    if !view.filter.is_empty() {
        parts.push((3, format!("filter: {}", view.filter)));
    }
    if view.keepalive_only {
        parts.push((3, "keepalive only".to_string()));
    }
    // (Of the connections counted on the left, those the table lists.)
    if (!view.filter.is_empty() || view.keepalive_only) && view.rows.len() < snap.flows.len() {
        parts.push((2, format!("{} shown", fmt::count(view.rows.len() as u64))));
    }
    parts.push((
        0,
        format!(
            "sort: {} {}",
            view.sort.name(),
            if view.reverse { "↑" } else { "↓" }
        ),
    ));
    if view.detail.is_none() && view.rows.len() > view.page {
        let end = (view.offset + view.page).min(view.rows.len());
        parts.push((
            1,
            format!(
                "{}-{} of {}",
                view.offset + 1,
                end,
                fmt::count(view.rows.len() as u64)
            ),
        ));
    }
    let total = snap.flows.len();
    let head = format!(
        " kawatch  {} connection{}",
        fmt::count(total as u64),
        if total == 1 { "" } else { "s" }
    );
    let joined = |parts: &[(u8, String)]| {
        let texts: Vec<&str> = parts.iter().map(|(_, p)| p.as_str()).collect();
        format!("{} ", texts.join(" · "))
    };
    // (Past rank 3 nothing is left: the right side is empty.)
    let mut right = joined(&parts);
    for least in 0..=3 {
        if head.chars().count() + right.chars().count() + 2 <= width {
            break;
        }
        parts.retain(|&(rank, _)| rank > least);
        right = if parts.is_empty() {
            String::new()
        } else {
            joined(&parts)
        };
    }
    let room = width.saturating_sub(right.chars().count() + 1);
    let mut used = head.chars().count();
    let mut left = vec![
        Span::styled(" kawatch ", t.label()),
        Span::raw(head[" kawatch ".len()..].to_string()),
    ];
    let mut first = true;
    for (i, (label, st)) in RANK_LABELS.iter().enumerate() {
        let n = view.counts[i];
        if n == 0 {
            continue;
        }
        let sep = if first { ": " } else { " · " };
        let item = format!("{n} {label}");
        let need = sep.chars().count() + item.chars().count();
        if used + need + 2 > room {
            left.push(Span::raw(" …"));
            break;
        }
        used += need;
        first = false;
        left.push(Span::raw(sep));
        left.push(Span::styled(item, t.state(*st)));
    }
    f.render_widget(Paragraph::new(Line::from(left)).style(t.bar()), area);
    if !right.is_empty() {
        let r = Paragraph::new(right)
            .style(t.bar())
            .alignment(Alignment::Right);
        f.render_widget(r, area);
    }
}
