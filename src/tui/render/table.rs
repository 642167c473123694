//! The connection table: the rows on screen, in the columns that fit
//! ([`super::columns`]), or a word on why there are none.

use super::columns::{self, Cell, Priority, Row, COLUMNS};
use super::Theme;
use crate::tui::app::{RowRef, ViewState};
use crate::tui::feed::FeedStatus;
use crate::tui::fmt;
use kawatch_core::Snapshot;
use kawatch_core::SocketIndex;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

/// Spaces between columns.
const GAP: usize = 2;

/// Narrowest a shrinking column (an endpoint) is cut to.
const MIN_SHRUNK: usize = 6;

pub(super) fn table(
    f: &mut Frame,
    area: Rect,
    snap: &Snapshot,
    status: &FeedStatus,
    view: &ViewState,
    t: Theme,
) {
    if area.height == 0 {
        return;
    }
    if view.rows.is_empty() {
        return empty(f, area, snap, status, view, t);
    }
    // The header, the rows, and the legend line under them.
    let page = area.height.saturating_sub(2) as usize;
    let offset = view.offset.min(view.rows.len().saturating_sub(1));
    let visible: &[RowRef] = &view.rows[offset..(offset + page).min(view.rows.len())];
    let local = SocketIndex::new(&snap.local);
    let rows: Vec<Vec<Cell>> = visible
        .iter()
        .map(|r| {
            let mut row = Row::new(&snap.flows[r.flow], r.state, snap.now, &local, t);
            row.ended = status.finished && !status.live;
            row.cells()
        })
        .collect();
    let widths = fit_columns(area.width.saturating_sub(1) as usize, &rows);
    // Each line is the shown columns' texts, in display order, GAP apart.
    let line = |first: &'static str, texts: &mut dyn Iterator<Item = (&str, Style)>| {
        let mut spans = vec![Span::raw(first)];
        for ((c, (text, style)), w) in COLUMNS.iter().zip(texts).zip(&widths) {
            let Some(w) = *w else { continue };
            if spans.len() > 1 {
                spans.push(Span::raw(" ".repeat(GAP)));
            }
            spans.push(Span::styled(pad(text, w, c.align), style));
        }
        Line::from(spans)
    };
    let mut lines = Vec::with_capacity(rows.len() + 1);
    lines.push(line(
        " ",
        &mut COLUMNS.iter().map(|c| {
            let style = if c.header.is_empty() {
                Style::new()
            } else {
                t.header()
            };
            (c.header, style)
        }),
    ));
    for (n, cells) in rows.iter().enumerate() {
        let selected = offset + n == view.cursor;
        let mut texts = cells.iter().map(|(text, style)| (text.as_str(), *style));
        let mut l = line(if selected { "▌" } else { " " }, &mut texts);
        if selected {
            l = l.style(Style::new().add_modifier(Modifier::REVERSED));
        }
        lines.push(l);
    }
    let (body, legend_area) = split_legend(area);
    f.render_widget(Paragraph::new(lines), body);
    let legend = legend(&rows, &widths, legend_area.width as usize, t);
    f.render_widget(Paragraph::new(legend), legend_area);
}

/// The table's area and, under it, the legend line's.
fn split_legend(area: Rect) -> (Rect, Rect) {
    let h = area.height.saturating_sub(1);
    (
        Rect::new(area.x, area.y, area.width, h),
        Rect::new(area.x, area.y + h, area.width, area.height.min(1)),
    )
}

/// The legend line: what each mark in the shown cells means
/// ([`columns::MARKS`]), as many as fit in `width`.
fn legend(rows: &[Vec<Cell>], widths: &[Option<usize>], width: usize, t: Theme) -> Line<'static> {
    let shown = |m: &columns::Mark| {
        rows.iter().any(|r| {
            r.iter()
                .zip(widths)
                .any(|((text, _), w)| w.is_some() && (m.in_cell)(text))
        })
    };
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    for m in columns::MARKS.iter().filter(|m| shown(m)) {
        let sep = if used > 1 { "  " } else { "" };
        let need = sep.len() + m.symbol.chars().count() + 1 + m.short.chars().count();
        if used + need > width {
            break;
        }
        used += need;
        spans.push(Span::raw(sep));
        spans.push(Span::styled(m.symbol, t.key()));
        spans.push(Span::styled(format!(" {}", m.short), t.dim()));
    }
    Line::from(spans)
}

/// Chooses the columns that fit `width`: each column's width, in [`COLUMNS`]
/// order, `None` for one left out. `rows` hold every column's cell, in that
/// order too.
fn fit_columns(width: usize, rows: &[Vec<Cell>]) -> Vec<Option<usize>> {
    let mut w: Vec<usize> = COLUMNS
        .iter()
        .enumerate()
        .map(|(i, c)| {
            rows.iter()
                .map(|r| r[i].0.chars().count())
                .fold(c.header.chars().count(), usize::max)
        })
        .collect();
    let always = |p: Priority| matches!(p, Priority::Shrinks | Priority::Always);
    let shown_always: Vec<usize> = (0..COLUMNS.len())
        .filter(|&i| always(COLUMNS[i].priority))
        .collect();
    let spaced = |widths: usize, n: usize| widths + GAP * n.saturating_sub(1);
    let must = spaced(shown_always.iter().map(|&i| w[i]).sum(), shown_always.len());
    if must > width {
        // The shrinking columns share what the others leave, in order.
        let shrink: Vec<usize> = (0..COLUMNS.len())
            .filter(|&i| COLUMNS[i].priority == Priority::Shrinks)
            .collect();
        let fixed = must - shrink.iter().map(|&i| w[i]).sum::<usize>();
        let mut left = width.saturating_sub(fixed);
        for (k, &i) in shrink.iter().enumerate() {
            let share = (left / (shrink.len() - k)).max(MIN_SHRUNK);
            w[i] = w[i].min(share);
            left = left.saturating_sub(w[i]);
        }
    }
    let mut chosen = vec![false; COLUMNS.len()];
    for &i in &shown_always {
        chosen[i] = true;
    }
    let mut used = spaced(shown_always.iter().map(|&i| w[i]).sum(), shown_always.len());
    let mut ranked: Vec<(u8, usize)> = (0..COLUMNS.len())
        .filter_map(|i| match COLUMNS[i].priority {
            Priority::Rank(r) | Priority::RankIfUsed(r) => Some((r, i)),
            Priority::Shrinks | Priority::Always => None,
        })
        .collect();
    ranked.sort();
    for (_, i) in ranked {
        let c = &COLUMNS[i];
        if matches!(c.priority, Priority::RankIfUsed(_)) && rows.iter().all(|r| r[i].0.is_empty()) {
            continue;
        }
        let need = w[i] + if chosen.iter().any(|&k| k) { GAP } else { 0 };
        if used + need > width {
            // Strict priority: a column that does not fit ends the list.
            break;
        }
        used += need;
        chosen[i] = true;
    }
    w.into_iter()
        .zip(chosen)
        .map(|(w, keep)| keep.then_some(w))
        .collect()
}

/// `s` in `w` columns, cut to fit (an endpoint keeps its port).
fn pad(s: &str, w: usize, align: Alignment) -> String {
    let s = fmt::fit_endpoint(s, w);
    match align {
        Alignment::Left => format!("{s:<w$}"),
        Alignment::Center => format!("{s:^w$}"),
        Alignment::Right => format!("{s:>w$}"),
    }
}

/// No rows: why, centred.
fn empty(
    f: &mut Frame,
    area: Rect,
    snap: &Snapshot,
    status: &FeedStatus,
    view: &ViewState,
    t: Theme,
) {
    let mut lines: Vec<Line> = Vec::new();
    if !snap.flows.is_empty() {
        if view.filter.is_empty() {
            lines.push(Line::from("No connection has sent a keepalive probe yet."));
            lines.push(Line::styled(
                format!(
                    "Press a to show all {} connections.",
                    fmt::count(snap.flows.len() as u64)
                ),
                t.dim(),
            ));
        } else {
            lines.push(Line::from(format!(
                "No connection matches \"{}\".",
                view.filter
            )));
            lines.push(Line::styled("Esc clears the filter.", t.dim()));
        }
    } else if status.live {
        lines.push(Line::from(format!(
            "Watching {} — no TCP segment yet.",
            status.source.trim_start_matches("interface:")
        )));
        lines.push(Line::styled(
            "Connections appear with their first segment; idle ones as soon as they probe.",
            t.dim(),
        ));
    } else if status.finished || status.error.is_some() {
        lines.push(Line::from("No TCP connections in this capture."));
        if !status.source.is_empty() {
            lines.push(Line::styled(
                format!(
                    "{} frames read from {}.",
                    fmt::count(snap.counters.frames),
                    status.source
                ),
                t.dim(),
            ));
        }
    } else {
        lines.push(Line::from(format!("Reading {}…", status.source)));
    }
    let h = lines.len() as u16;
    let y = area.y + area.height.saturating_sub(h) / 3;
    let r = Rect::new(area.x, y, area.width, h.min(area.height));
    f.render_widget(
        Paragraph::new(lines)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true }),
        r,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows whose cells are empty but for `text` in the column headed `header`.
    fn rows_with(header: &str, text: &str) -> Vec<Vec<Cell>> {
        let row = COLUMNS
            .iter()
            .map(|c| {
                let s = if c.header == header { text } else { "" };
                (s.to_string(), Style::new())
            })
            .collect();
        vec![row]
    }

    fn shown(widths: &[Option<usize>]) -> Vec<&'static str> {
        COLUMNS
            .iter()
            .zip(widths)
            .filter(|(_, w)| w.is_some())
            .map(|(c, _)| c.header)
            .collect()
    }

    #[test]
    fn a_column_shown_only_when_used_waits_for_text() {
        let wide = 500;
        assert!(!shown(&fit_columns(wide, &rows_with("VLAN", ""))).contains(&"VLAN"));
        assert!(shown(&fit_columns(wide, &rows_with("VLAN", "100.200"))).contains(&"VLAN"));
    }

    #[test]
    fn narrow_keeps_the_always_shown_in_display_order_and_stops_at_the_first_misfit() {
        let rows = rows_with("ENDPOINT A", "198.18.0.17:40800");
        let all = shown(&fit_columns(500, &rows));
        assert_eq!(
            all.len(),
            COLUMNS.len() - 3,
            "all but those shown only when used: VLAN, KEEPALIVE, PROCESS"
        );
        let narrow = shown(&fit_columns(40, &rows));
        assert_eq!(narrow, ["ENDPOINT A", "", "ENDPOINT B", "STATE"]);
        let tiny = fit_columns(10, &rows);
        assert_eq!(shown(&tiny), ["ENDPOINT A", "ENDPOINT B", "STATE"]);
        let a = COLUMNS.iter().position(|c| c.header == "ENDPOINT A");
        assert_eq!(
            a.and_then(|i| tiny[i]),
            Some(MIN_SHRUNK),
            "endpoints give way, down to a floor"
        );
    }
}
