//! The connection table: the rows on screen, in the columns that fit
//! ([`super::columns`]), or a word on why there are none.

use super::columns::{self, Cell, Priority, Row, COLUMNS};
use super::Theme;
use crate::tui::app::{ColumnSteps, RowRef, ViewState};
use crate::tui::feed::FeedStatus;
use crate::tui::fmt;
use kawatch_core::Snapshot;
use kawatch_core::SocketIndex;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;
use std::borrow::Cow;

/// Spaces between columns.
const GAP: usize = 2;

/// Narrowest a shrinking column (an endpoint) is cut to.
const MIN_SHRUNK: usize = 6;

/// Narrowest a column scrolled into view is cut to.
const MIN_CUT: usize = 4;

/// Draws the table; returns whether columns are hidden (scrolled out, or
/// not fitting).
pub(super) fn table(
    f: &mut Frame,
    area: Rect,
    snap: &Snapshot,
    status: &FeedStatus,
    view: &ViewState,
    t: Theme,
) -> bool {
    if area.height == 0 {
        return false;
    }
    if view.rows.is_empty() {
        empty(f, area, snap, status, view, t);
        return false;
    }
    let (offset, rows) = visible_cells(area, snap, status, view, t);
    let heads = headers(view);
    let width = area.width.saturating_sub(1) as usize;
    let fit = fit_columns(
        width,
        &heads,
        &rows,
        view.hscroll.min(max_skip(width, &heads, &rows)),
    );
    let widths = &fit.widths;
    // Each line is the shown columns' texts, in display order, GAP apart.
    let line = |first: &'static str, texts: &mut dyn Iterator<Item = (&str, Style)>| {
        let mut spans = vec![Span::raw(first)];
        for ((c, (text, style)), w) in COLUMNS.iter().zip(texts).zip(widths) {
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
        // Columns scrolled out on the left.
        if fit.left > 0 { "◀" } else { " " },
        &mut heads.iter().map(|h| {
            let style = if h.is_empty() {
                Style::new()
            } else {
                t.header()
            };
            (h.as_ref(), style)
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
    let hidden = hidden_text(&fit, t);
    let hidden_w = Line::from(hidden.clone()).width();
    let room = (legend_area.width as usize).saturating_sub(hidden_w + 2);
    f.render_widget(Paragraph::new(legend(&rows, widths, room, t)), legend_area);
    if hidden_w > 0 {
        f.render_widget(
            Paragraph::new(Line::from(hidden)).alignment(Alignment::Right),
            legend_area,
        );
    }
    fit.hides()
}

/// The rows on screen: the first one's index and every column's cell of
/// each.
fn visible_cells(
    area: Rect,
    snap: &Snapshot,
    status: &FeedStatus,
    view: &ViewState,
    t: Theme,
) -> (usize, Vec<Vec<Cell>>) {
    // The header, the rows, and the legend line under them.
    let page = area.height.saturating_sub(2) as usize;
    let offset = view.offset.min(view.rows.len().saturating_sub(1));
    let visible: &[RowRef] = &view.rows[offset..(offset + page).min(view.rows.len())];
    let local = SocketIndex::new(&snap.local);
    let rows = visible
        .iter()
        .map(|r| {
            let flow = &snap.flows[r.flow];
            let path = view.focused_path();
            let mut row = Row::new(flow, r.state, snap.now, &local, path, t);
            row.ended = status.finished && !status.live;
            row.live = status.live;
            row.cells()
        })
        .collect();
    (offset, rows)
}

/// Where the table's columns can scroll on a screen of this size, from
/// where they are: the least scroll that brings the next hidden column into
/// view, and the least that shows the last.
pub fn column_steps(
    area: Rect,
    snap: &Snapshot,
    status: &FeedStatus,
    view: &ViewState,
) -> ColumnSteps {
    let body = super::areas(area).body;
    if view.detail.is_some() || view.rows.is_empty() || body.height == 0 {
        return ColumnSteps { next: 0, max: 0 };
    }
    let (_, rows) = visible_cells(body, snap, status, view, Theme { color: false });
    let heads = headers(view);
    let width = body.width.saturating_sub(1) as usize;
    let max = max_skip(width, &heads, &rows);
    let now = view.hscroll.min(max);
    let next = fit_columns(width, &heads, &rows, now)
        .next_right
        .map_or(now, |col| {
            (now + 1..=max)
                .find(|&s| fit_columns(width, &heads, &rows, s).widths[col].is_some())
                // The first column of all, too wide unscrolled: past it.
                .unwrap_or((now + 1).min(max))
        });
    ColumnSteps { next, max }
}

/// Every column's header on screen, in [`COLUMNS`] order (the path
/// column's names the path in focus).
fn headers(view: &ViewState) -> Vec<Cow<'static, str>> {
    COLUMNS
        .iter()
        .map(|c| c.title(view.focused_path()))
        .collect()
}

/// What is hidden on either side, for the right of the legend line:
/// `◀ 2 more columns · 5 more columns ▶`, `5 more columns ▶`.
fn hidden_text(fit: &Fit, t: Theme) -> Vec<Span<'static>> {
    let n = |k: usize| format!("{k} more column{}", if k == 1 { "" } else { "s" });
    let mut spans = Vec::new();
    match (fit.left, fit.right) {
        (0, 0) => return spans,
        (l, 0) => {
            spans.push(Span::styled("◀ ", t.key()));
            spans.push(Span::styled(n(l), t.dim()));
        }
        (0, r) => {
            spans.push(Span::styled(n(r), t.dim()));
            spans.push(Span::styled(" ▶", t.key()));
        }
        (l, r) => {
            spans.push(Span::styled("◀ ", t.key()));
            spans.push(Span::styled(format!("{} · {}", n(l), n(r)), t.dim()));
            spans.push(Span::styled(" ▶", t.key()));
        }
    }
    spans.push(Span::raw(" "));
    spans
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

/// The columns chosen for a width.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Fit {
    /// Each column's width, in [`COLUMNS`] order; `None` for one left out.
    pub(crate) widths: Vec<Option<usize>>,
    /// Optional columns of higher priority scrolled out of view.
    pub(crate) left: usize,
    /// Optional columns of lower priority that do not fit.
    pub(crate) right: usize,
    /// The first of those, the next to scroll into view.
    pub(crate) next_right: Option<usize>,
}

impl Fit {
    /// Whether any column is hidden on either side.
    pub(crate) fn hides(&self) -> bool {
        self.left + self.right > 0
    }
}

/// Chooses the columns that fit `width`. `heads` and `rows` hold every
/// column's header and cell, in [`COLUMNS`] order.
///
/// The endpoints and the state always show. The optional columns (those
/// shown only when used, once some row uses them) come in priority order
/// after the first `skip` of them, scrolled out of view: the first after
/// those always shows (the endpoints give way to it, and it is cut if it
/// must), then each while it fits; the first that does not fit ends the
/// list (strict priority: no later, narrower column jumps in).
fn fit_columns(width: usize, heads: &[Cow<str>], rows: &[Vec<Cell>], skip: usize) -> Fit {
    let mut w: Vec<usize> = heads
        .iter()
        .enumerate()
        .map(|(i, h)| {
            rows.iter()
                .map(|r| r[i].0.chars().count())
                .fold(h.chars().count(), usize::max)
        })
        .collect();
    let mut ranked: Vec<(u8, usize)> = (0..COLUMNS.len())
        .filter_map(|i| match COLUMNS[i].priority {
            Priority::Rank(r) => Some((r, i)),
            Priority::RankIfUsed(r) if rows.iter().any(|row| !row[i].0.is_empty()) => Some((r, i)),
            _ => None,
        })
        .collect();
    ranked.sort_unstable();
    let ranked: Vec<usize> = ranked.into_iter().map(|(_, i)| i).collect();
    let skip = skip.min(ranked.len());
    // Scrolled: the first column after those scrolled out shows. When the
    // first of all did not fit unscrolled, the first step brings it, so
    // none is passed over.
    let lead = usize::from(
        skip > 0
            && ranked
                .first()
                .is_some_and(|&i| fit_columns(width, heads, rows, 0).widths[i].is_none()),
    );
    let skip = skip - lead;
    let first = (skip + lead > 0)
        .then(|| ranked.get(skip).copied())
        .flatten();
    let must: Vec<usize> = (0..COLUMNS.len())
        .filter(|&i| {
            matches!(COLUMNS[i].priority, Priority::Shrinks | Priority::Always) || Some(i) == first
        })
        .collect();
    let spaced = |widths: usize, n: usize| widths + GAP * n.saturating_sub(1);
    let need = |w: &[usize]| spaced(must.iter().map(|&i| w[i]).sum(), must.len());
    if need(&w) > width {
        // The shrinking columns share what the others leave, in order.
        let shrink: Vec<usize> = (0..COLUMNS.len())
            .filter(|&i| COLUMNS[i].priority == Priority::Shrinks)
            .collect();
        let fixed = need(&w) - shrink.iter().map(|&i| w[i]).sum::<usize>();
        let mut left = width.saturating_sub(fixed);
        for (k, &i) in shrink.iter().enumerate() {
            let share = (left / (shrink.len() - k)).max(MIN_SHRUNK);
            w[i] = w[i].min(share);
            left = left.saturating_sub(w[i]);
        }
    }
    if let Some(i) = first {
        // Still too wide: the scrolled-to column is cut, down to a few
        // characters.
        let over = need(&w).saturating_sub(width);
        w[i] = w[i].saturating_sub(over).max(MIN_CUT.min(w[i]));
    }
    let mut chosen = vec![false; COLUMNS.len()];
    for &i in &must {
        chosen[i] = true;
    }
    let mut used = need(&w);
    let mut right = 0;
    let mut next_right = None;
    for &i in &ranked[skip..] {
        if chosen[i] {
            continue;
        }
        if right > 0 || used + GAP + w[i] > width {
            // Strict priority: a column that does not fit ends the list.
            right += 1;
            next_right = next_right.or(Some(i));
            continue;
        }
        used += GAP + w[i];
        chosen[i] = true;
    }
    Fit {
        widths: w
            .into_iter()
            .zip(chosen)
            .map(|(w, keep)| keep.then_some(w))
            .collect(),
        left: skip,
        right,
        next_right,
    }
}

/// How far the optional columns of `rows` can scroll in `width`: the least
/// scroll that hides none on the right.
fn max_skip(width: usize, heads: &[Cow<str>], rows: &[Vec<Cell>]) -> usize {
    (0..COLUMNS.len())
        .find(|&s| fit_columns(width, heads, rows, s).right == 0)
        .unwrap_or(0)
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

    fn heads() -> Vec<Cow<'static, str>> {
        COLUMNS.iter().map(|c| Cow::Borrowed(c.header)).collect()
    }

    fn fit(width: usize, rows: &[Vec<Cell>]) -> Fit {
        fit_columns(width, &heads(), rows, 0)
    }

    fn shown(widths: &[Option<usize>]) -> Vec<&'static str> {
        COLUMNS
            .iter()
            .zip(widths)
            .filter(|(_, w)| w.is_some())
            .map(|(c, _)| c.header)
            .collect()
    }

    /// Where no optional column fits unscrolled, the first step right
    /// brings the first of them, and each next step the next.
    #[test]
    fn scrolling_passes_over_no_column() {
        let rows = rows_with("ENDPOINT A", "198.18.0.17:40800");
        let at = |skip| {
            let f = fit_columns(40, &heads(), &rows, skip);
            (shown(&f.widths), f.left)
        };
        let (start, _) = at(0);
        assert_eq!(start, ["ENDPOINT A", "", "ENDPOINT B", "STATE"]);
        let (one, left) = at(1);
        assert_eq!((one.last().copied(), left), (Some("KEPT BY"), 0), "{one:?}");
        let (two, left) = at(2);
        assert!(!two.contains(&"KEPT BY") && left == 1, "{two:?}");
    }

    #[test]
    fn a_column_shown_only_when_used_waits_for_text() {
        let wide = 500;
        assert!(!shown(&fit(wide, &rows_with("VLAN", "")).widths).contains(&"VLAN"));
        assert!(shown(&fit(wide, &rows_with("VLAN", "100.200")).widths).contains(&"VLAN"));
    }

    #[test]
    fn narrow_keeps_the_always_shown_in_display_order_and_stops_at_the_first_misfit() {
        let rows = rows_with("ENDPOINT A", "198.18.0.17:40800");
        let all = shown(&fit(500, &rows).widths);
        assert_eq!(
            all.len(),
            COLUMNS.len() - 4,
            "all but those shown only when used: VLAN, PATH, KEEPALIVE, PROCESS"
        );
        let narrow = shown(&fit(40, &rows).widths);
        assert_eq!(narrow, ["ENDPOINT A", "", "ENDPOINT B", "STATE"]);
        let tiny = fit(10, &rows).widths;
        assert_eq!(shown(&tiny), ["ENDPOINT A", "", "ENDPOINT B", "STATE"]);
        let a = COLUMNS.iter().position(|c| c.header == "ENDPOINT A");
        assert_eq!(
            a.and_then(|i| tiny[i]),
            Some(MIN_SHRUNK),
            "endpoints give way, down to a floor"
        );
    }
}
