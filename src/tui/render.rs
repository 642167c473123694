//! Drawing: a pure function of the snapshot, the source's status and the
//! view state. No I/O, no clock: the time is the snapshot's. Only the rows
//! on screen are formatted, so thousands of connections cost little.

use crate::tui::app::{FlowId, RowRef, ViewState};
use crate::tui::feed::FeedStatus;
use crate::tui::fmt::{self, coarse, precise, precise_or_dash};
use kawatch_core::status::{self, State};
use kawatch_core::Timestamp;
use kawatch_core::{FlowView, ProberView, Snapshot};
use kawatch_core::{Mark, Outcome};
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;
use std::path::Path;

/// Where things go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Areas {
    /// Title bar: counts per state, sort, filter.
    pub title: Rect,
    /// The table or the detail view.
    pub body: Rect,
    /// Source, packets, drops, flows.
    pub status: Rect,
    /// Key hints, or the filter being typed.
    pub keys: Rect,
}

/// Splits the screen.
pub fn areas(area: Rect) -> Areas {
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

/// Table rows that fit on a screen of this size (the header takes one line).
pub fn table_rows(area: Rect) -> usize {
    areas(area).body.height.saturating_sub(1) as usize
}

/// Styles, with or without colour (`NO_COLOR`).
#[derive(Clone, Copy, Debug)]
struct Theme {
    color: bool,
}

impl Theme {
    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    fn state(&self, s: State) -> Style {
        let bold = Modifier::BOLD;
        match s {
            State::Dead => self.fg(Color::Red).add_modifier(bold),
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

    fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }

    fn bar(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    fn header(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }

    fn key(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    fn label(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    fn warn(&self) -> Style {
        self.fg(Color::Yellow)
    }
}

/// Draws the whole screen.
pub fn draw(f: &mut Frame, snap: &Snapshot, status: &FeedStatus, view: &ViewState) {
    let theme = Theme { color: view.color };
    let a = areas(f.area());
    title(f, a.title, snap, view, theme);
    let detail = view
        .detail
        .and_then(|id| snap.flows.iter().find(|fl| FlowId::of(fl) == id));
    match (view.detail, detail) {
        (Some(_), Some(flow)) => detail_view(f, a.body, snap, flow, view, theme),
        (Some(_), None) => {
            let msg = "That connection is no longer tracked. Esc goes back.";
            f.render_widget(Paragraph::new(msg), a.body);
        }
        (None, _) => table(f, a.body, snap, status, view, theme),
    }
    status_line(f, a.status, snap, status, view, theme);
    keys_line(f, a.keys, view, theme);
    if view.help {
        help(f, f.area(), theme);
    }
}

const RANK_LABELS: [(&str, State); State::RANKS] = [
    ("dead", State::Dead),
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

fn title(f: &mut Frame, area: Rect, snap: &Snapshot, view: &ViewState, t: Theme) {
    let width = area.width as usize;
    let mut right = Vec::new();
    if !view.filter.is_empty() {
        right.push(format!("filter: {}", view.filter));
    }
    if view.keepalive_only {
        right.push("keepalive only".to_string());
    }
    right.push(format!(
        "sort: {} {}",
        view.sort.name(),
        if view.reverse { "↑" } else { "↓" }
    ));
    if view.detail.is_none() && view.rows.len() > view.page {
        let end = (view.offset + view.page).min(view.rows.len());
        right.push(format!(
            "{}-{} of {}",
            view.offset + 1,
            end,
            fmt::count(view.rows.len() as u64)
        ));
    }
    let mut right = format!("{} ", right.join(" · "));
    let total = snap.flows.len();
    let head = format!(
        " kawatch  {} connection{}",
        fmt::count(total as u64),
        if total == 1 { "" } else { "s" }
    );
    if head.chars().count() + right.chars().count() + 2 > width {
        right.clear();
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

/// Table columns, in display order.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Col {
    A,
    Arrow,
    B,
    Vlan,
    State,
    Quiet,
    Idle,
    Intvl,
    Cnt,
    Likely,
    AnsSent,
    LastProbe,
    Next,
}

const COLS: [Col; 13] = [
    Col::A,
    Col::Arrow,
    Col::B,
    Col::Vlan,
    Col::State,
    Col::Quiet,
    Col::Idle,
    Col::Intvl,
    Col::Cnt,
    Col::Likely,
    Col::AnsSent,
    Col::LastProbe,
    Col::Next,
];

/// What stays when the terminal is narrow, most important first.
const PRIORITY: [Col; 13] = [
    Col::A,
    Col::B,
    Col::State,
    Col::Arrow,
    Col::Vlan,
    Col::Next,
    Col::LastProbe,
    Col::Likely,
    Col::AnsSent,
    Col::Idle,
    Col::Intvl,
    Col::Cnt,
    Col::Quiet,
];

impl Col {
    fn header(self) -> &'static str {
        match self {
            Col::A => "ENDPOINT A",
            Col::Arrow => "",
            Col::B => "ENDPOINT B",
            Col::Vlan => "VLAN",
            Col::State => "STATE",
            Col::Quiet => "QUIET",
            Col::Idle => "IDLE",
            Col::Intvl => "INTVL",
            Col::Cnt => "CNT",
            Col::Likely => "LIKELY idle/intvl/cnt",
            Col::AnsSent => "ANS/SENT",
            Col::LastProbe => "LAST PROBE",
            Col::Next => "NEXT",
        }
    }

    fn right_aligned(self) -> bool {
        matches!(
            self,
            Col::Quiet | Col::Idle | Col::Intvl | Col::Cnt | Col::AnsSent | Col::LastProbe
        )
    }
}

const GAP: usize = 2;

/// One cell: text and style.
type Cell = (String, Style);

fn arrow(f: &FlowView) -> &'static str {
    let a = f.probers.iter().any(|p| p.endpoint == f.a);
    let b = f.probers.iter().any(|p| p.endpoint == f.b);
    match (a, b) {
        (true, true) => "⇄",
        (true, false) => "→",
        (false, true) => "←",
        (false, false) => "",
    }
}

/// What comes next for a row: a countdown, a lateness, or how it ended.
fn next_text(f: &FlowView, p: Option<&ProberView>, st: State, now: Timestamp) -> String {
    let Some(p) = p else {
        return String::new();
    };
    match st {
        State::Dead => p.detection_s.map_or_else(
            || "gave up".into(),
            |d| format!("gave up after {}", coarse(d)),
        ),
        State::Reset { by_peer: true } => "RST from peer".into(),
        State::Probing { .. } => match p.give_up_at {
            Some((at, assumed)) => {
                let tilde = if assumed { "~" } else { "" };
                let d = fmt::secs_between(at, now);
                if d >= 0.0 {
                    format!("dead in {tilde}{}", coarse(d))
                } else {
                    format!("dead {tilde}{} ago?", coarse(-d))
                }
            }
            None => String::new(),
        },
        State::Overdue => match status::next_due(f, p) {
            Some(due) => {
                let what = if p.outcome == Outcome::Probing {
                    "probe/RST"
                } else {
                    "probe"
                };
                format!("{what} {} late", coarse(fmt::secs_between(now, due.at)))
            }
            None => String::new(),
        },
        State::Alive | State::Idle | State::Active => match status::next_due(f, p) {
            Some(due) => {
                let d = fmt::secs_between(due.at, now);
                if d > 0.05 {
                    format!("probe in {}", coarse(d))
                } else {
                    "probe due".into()
                }
            }
            None => String::new(),
        },
        _ => String::new(),
    }
}

fn cells(f: &FlowView, st: State, now: Timestamp, t: Theme) -> [Cell; 13] {
    let p = status::primary(f).map(|i| &f.probers[i]);
    let plain = |s: String| (s, Style::new());
    let dash_dim = |s: String| {
        let style = if s == "-" { t.dim() } else { Style::new() };
        (s, style)
    };
    let (act, lower) = status::last_activity(f);
    let quiet = format!(
        "{}{}",
        if lower { ">" } else { "" },
        coarse(fmt::secs_between(now, act))
    );
    let vlan = f
        .vlan
        .ids()
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(".");
    let next = next_text(f, p, st, now);
    let next_style = match st {
        State::Probing { .. } | State::Overdue | State::Dead => t.state(st),
        _ => Style::new(),
    };
    let per_prober = |g: &dyn Fn(&ProberView) -> String| p.map_or_else(String::new, g);
    [
        plain(f.a.to_string()),
        plain(arrow(f).to_string()),
        plain(f.b.to_string()),
        plain(vlan),
        (st.word(), t.state(st)),
        plain(quiet),
        dash_dim(per_prober(&|p| precise_or_dash(p.idle_s))),
        dash_dim(per_prober(&|p| precise_or_dash(p.intvl_s))),
        dash_dim(per_prober(&|p| {
            p.probes.map_or_else(|| "-".into(), |n| n.to_string())
        })),
        plain(per_prober(&fmt::settings_with_os)),
        plain(per_prober(&|p| {
            format!("{}/{}", p.probes_answered, p.probes_sent)
        })),
        plain(per_prober(&|p| {
            p.last_probe.map_or_else(
                || "-".into(),
                |l| format!("{} ago", coarse(fmt::secs_between(now, l))),
            )
        })),
        (next, next_style),
    ]
}

/// Chooses the columns that fit `width` and their widths.
fn fit_columns(width: usize, rows: &[[Cell; 13]]) -> Vec<(Col, usize)> {
    let idx = |c: Col| COLS.iter().position(|&x| x == c).unwrap_or(0);
    let mut w = [0usize; 13];
    for (i, c) in COLS.iter().enumerate() {
        w[i] = c.header().chars().count();
        for r in rows {
            w[i] = w[i].max(r[i].0.chars().count());
        }
    }
    // Endpoints, state and the arrow always show; endpoints give way first.
    let must = w[idx(Col::A)] + w[idx(Col::B)] + w[idx(Col::State)] + 2 * GAP;
    if must > width {
        let for_both = width.saturating_sub(must - w[idx(Col::A)] - w[idx(Col::B)]);
        let half = (for_both / 2).max(6);
        w[idx(Col::A)] = w[idx(Col::A)].min(half);
        w[idx(Col::B)] = w[idx(Col::B)].min(for_both.saturating_sub(w[idx(Col::A)]).max(6));
    }
    let any_vlan = rows.iter().any(|r| !r[3].0.is_empty());
    let mut chosen: Vec<Col> = Vec::new();
    let mut used = 0;
    for c in PRIORITY {
        if c == Col::Vlan && !any_vlan {
            continue;
        }
        let need = w[idx(c)] + if chosen.is_empty() { 0 } else { GAP };
        let always = matches!(c, Col::A | Col::B | Col::State);
        if used + need <= width || always {
            used += need;
            chosen.push(c);
        } else {
            // Strict priority: a column that does not fit ends the list.
            break;
        }
    }
    COLS.iter()
        .filter(|c| chosen.contains(c))
        .map(|&c| (c, w[idx(c)]))
        .collect()
}

fn pad(s: &str, w: usize, right: bool) -> String {
    let s = fmt::fit_endpoint(s, w);
    if right {
        format!("{s:>w$}")
    } else {
        format!("{s:<w$}")
    }
}

fn table(
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
    let page = area.height.saturating_sub(1) as usize;
    let offset = view.offset.min(view.rows.len().saturating_sub(1));
    let visible: &[RowRef] = &view.rows[offset..(offset + page).min(view.rows.len())];
    let rows: Vec<[Cell; 13]> = visible
        .iter()
        .map(|r| cells(&snap.flows[r.flow], r.state, snap.now, t))
        .collect();
    let cols = fit_columns(area.width.saturating_sub(1) as usize, &rows);
    let idx = |c: Col| COLS.iter().position(|&x| x == c).unwrap_or(0);
    let mut lines = Vec::with_capacity(rows.len() + 1);
    let mut header = vec![Span::raw(" ")];
    for (i, (c, w)) in cols.iter().enumerate() {
        if i > 0 {
            header.push(Span::raw(" ".repeat(GAP)));
        }
        let style = if c.header().is_empty() {
            Style::new()
        } else {
            t.header()
        };
        header.push(Span::styled(pad(c.header(), *w, c.right_aligned()), style));
    }
    lines.push(Line::from(header));
    for (n, r) in rows.iter().enumerate() {
        let selected = offset + n == view.cursor;
        let mut spans = vec![Span::raw(if selected { "▌" } else { " " })];
        for (i, (c, w)) in cols.iter().enumerate() {
            if i > 0 {
                spans.push(Span::raw(" ".repeat(GAP)));
            }
            let (text, style) = &r[idx(*c)];
            spans.push(Span::styled(pad(text, *w, c.right_aligned()), *style));
        }
        let mut line = Line::from(spans);
        if selected {
            line = line.style(Style::new().add_modifier(Modifier::REVERSED));
        }
        lines.push(line);
    }
    f.render_widget(Paragraph::new(lines), area);
}

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
        if !view.filter.is_empty() {
            lines.push(Line::from(format!(
                "No connection matches \"{}\".",
                view.filter
            )));
            lines.push(Line::styled("Esc clears the filter.", t.dim()));
        } else {
            lines.push(Line::from("No connection has sent a keepalive probe yet."));
            lines.push(Line::styled(
                format!(
                    "Press a to show all {} connections.",
                    fmt::count(snap.flows.len() as u64)
                ),
                t.dim(),
            ));
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

fn status_line(
    f: &mut Frame,
    area: Rect,
    snap: &Snapshot,
    status: &FeedStatus,
    view: &ViewState,
    t: Theme,
) {
    let mut line = Line::from(status_spans(snap, status, view, t, false));
    if line.width() > area.width as usize {
        line = Line::from(status_spans(snap, status, view, t, true));
    }
    f.render_widget(Paragraph::new(line), area);
}

fn status_spans(
    snap: &Snapshot,
    status: &FeedStatus,
    view: &ViewState,
    t: Theme,
    compact: bool,
) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    let plural = |n: u64, one: &str, many: &str| {
        format!("{} {}", fmt::count(n), if n == 1 { one } else { many })
    };
    if view.paused {
        spans.push(Span::styled(
            " PAUSED ",
            t.warn().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        ));
    }
    let sep = || Span::styled(" · ", t.dim());
    if status.live {
        spans.push(Span::styled(" live ", t.label()));
        let iface = status.source.trim_start_matches("interface:");
        spans.push(Span::raw(if compact {
            iface.to_string()
        } else {
            format!("{iface} ({})", status.link)
        }));
    } else {
        spans.push(Span::styled(" replay ", t.label()));
        let name = if status.source == "-" {
            "standard input".to_string()
        } else if compact {
            Path::new(&status.source)
                .file_name()
                .map_or_else(|| status.source.clone(), |n| n.to_string_lossy().into())
        } else {
            format!("{} ({})", status.source, status.link)
        };
        spans.push(Span::raw(name));
        spans.push(sep());
        spans.push(Span::raw(match status.speed {
            Some(s) => format!("{}×", trim_float(s)),
            None if compact => "max".into(),
            None => "full speed".into(),
        }));
        if let Some(first) = snap.first_ts {
            let clock = fmt::clock(snap.now, view.utc_offset);
            spans.push(sep());
            spans.push(Span::raw(if compact {
                clock
            } else {
                format!(
                    "clock {clock} (t+{})",
                    coarse(fmt::secs_between(snap.now, first))
                )
            }));
        }
    }
    if let Some(e) = &status.error {
        spans.push(sep());
        spans.push(Span::styled(format!("capture stopped: {e}"), t.error()));
    }
    spans.push(sep());
    let frames = snap.counters.frames;
    spans.push(Span::raw(if compact {
        plural(frames, "pkt", "pkts")
    } else {
        plural(frames, "packet", "packets")
    }));
    if let Some(d) = status.drops {
        spans.push(sep());
        let style = if d > 0 { t.warn() } else { Style::new() };
        let text = if compact {
            plural(d, "drop", "drops")
        } else {
            format!("{} dropped by kernel", fmt::count(d))
        };
        spans.push(Span::styled(text, style));
    }
    spans.push(sep());
    let n = snap.flows.len() as u64;
    spans.push(Span::raw(if compact {
        plural(n, "flow", "flows")
    } else {
        format!("{} tracked", plural(n, "flow", "flows"))
    }));
    let evicted = snap.counters.evicted;
    if evicted > 0 {
        spans.push(sep());
        spans.push(Span::styled(
            if compact {
                format!("{} evicted", fmt::count(evicted))
            } else {
                format!("{} evicted (--max-flows)", fmt::count(evicted))
            },
            t.warn(),
        ));
    }
    if status.finished && !status.live {
        spans.push(sep());
        spans.push(Span::styled(
            if compact { "end" } else { "end of capture" },
            t.label(),
        ));
    }
    if status.warning.is_some() {
        spans.push(sep());
        spans.push(Span::styled(
            if compact {
                "cut off"
            } else {
                "input cut off mid-packet"
            },
            t.warn(),
        ));
    }
    spans
}

fn trim_float(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn keys_line(f: &mut Frame, area: Rect, view: &ViewState, t: Theme) {
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

fn detail_view(
    f: &mut Frame,
    area: Rect,
    snap: &Snapshot,
    flow: &FlowView,
    view: &ViewState,
    t: Theme,
) {
    let lines = detail_lines(snap, flow, view, t);
    let scroll = view
        .detail_scroll
        .min((lines.len() as u16).saturating_sub(area.height.max(1)));
    f.render_widget(Paragraph::new(lines).scroll((scroll, 0)), area);
}

/// How far the detail view can scroll on a screen of this size.
pub fn detail_max_scroll(area: Rect, snap: &Snapshot, view: &ViewState) -> u16 {
    let body = areas(area).body;
    let flow = view
        .detail
        .and_then(|id| snap.flows.iter().find(|fl| FlowId::of(fl) == id));
    flow.map_or(0, |flow| {
        let n = detail_lines(snap, flow, view, Theme { color: false }).len() as u16;
        n.saturating_sub(body.height.max(1))
    })
}

fn detail_lines(
    snap: &Snapshot,
    flow: &FlowView,
    view: &ViewState,
    t: Theme,
) -> Vec<Line<'static>> {
    let now = snap.now;
    let off = view.utc_offset;
    let st = status::state(flow, now);
    let label = |s: &str| Span::styled(format!("  {s:<12}"), t.label());
    let mut lines: Vec<Line> = Vec::new();
    let mut head = vec![
        Span::styled(format!(" {}", flow.a), t.label()),
        Span::raw(format!(
            "  {}  ",
            match arrow(flow) {
                "" => "—",
                a => a,
            }
        )),
        Span::styled(flow.b.to_string(), t.label()),
    ];
    if !flow.vlan.ids().is_empty() {
        let ids: Vec<String> = flow.vlan.ids().iter().map(u16::to_string).collect();
        head.push(Span::raw(format!("   vlan {}", ids.join("."))));
    }
    lines.push(Line::from(head));
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        label("State"),
        Span::styled(st.word(), t.state(st)),
        Span::raw(format!("   {}", explain(st))),
    ]));
    lines.push(Line::from(vec![
        label("Connection"),
        Span::raw(format!(
            "{} · {} segments · first seen {} · last seen {} ({} ago)",
            flow.state.as_str().replace('_', " "),
            fmt::count(flow.segments),
            fmt::clock(flow.first_seen, off),
            fmt::clock(flow.last_seen, off),
            coarse(fmt::secs_between(now, flow.last_seen)),
        )),
    ]));
    let data = match flow.last_data {
        Some(d) => format!(
            "last payload {} ({} ago)",
            fmt::clock(d, off),
            coarse(fmt::secs_between(now, d))
        ),
        None => "no payload seen".into(),
    };
    let zwp = if flow.zero_window_probes > 0 {
        format!(
            " · {} zero-window probes (not keepalives)",
            flow.zero_window_probes
        )
    } else {
        String::new()
    };
    lines.push(Line::from(vec![label("Data"), Span::raw(data + &zwp)]));
    if flow.probers.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            "  No keepalive probes seen from either side. A side that probes shows here with its",
            t.dim(),
        ));
        lines.push(Line::styled(
            "  timing and likely settings as soon as its first probe is recognised.",
            t.dim(),
        ));
    }
    for p in &flow.probers {
        lines.push(Line::raw(""));
        prober_block(&mut lines, flow, p, now, off, t);
    }
    lines
}

fn explain(st: State) -> &'static str {
    match st {
        State::Dead => "the prober gave up on its peer and reset the connection",
        State::Overdue => "a keepalive was due by the observed schedule and none was seen",
        State::Probing { .. } => "probes are going unanswered",
        State::Reset { by_peer: true } => {
            "the peer answered a probe with RST: it had lost the connection"
        }
        State::Reset { by_peer: false } => "an RST ended the connection",
        State::Alive => "the last keepalive probe was answered",
        State::Idle => "no data for a while",
        State::Active => "data is moving",
        State::Opening => "SYN seen, handshake not complete",
        State::Closing => "one side sent FIN",
        State::Closed => "both sides sent FIN",
    }
}

fn prober_block(
    lines: &mut Vec<Line<'static>>,
    flow: &FlowView,
    p: &ProberView,
    now: Timestamp,
    off: i64,
    t: Theme,
) {
    let label = |s: &str| Span::styled(format!("    {s:<10}"), t.label());
    let outcome_style = match p.outcome {
        Outcome::Dead => t.state(State::Dead),
        Outcome::Reset => t.state(State::Reset { by_peer: true }),
        Outcome::Probing => t.state(State::Probing {
            unanswered: 0,
            of: 0,
            assumed: false,
        }),
        Outcome::Alive => t.state(State::Alive),
    };
    lines.push(Line::from(vec![
        Span::styled(format!("  ▶ {}", p.endpoint), t.label()),
        Span::raw(format!(" probes {}", p.peer)),
    ]));
    let outcome = match p.outcome {
        Outcome::Probing => format!("probing, {} unanswered", p.unanswered),
        Outcome::Dead => format!(
            "dead: gave up after {} unanswered probes",
            p.probes.map_or_else(|| "?".into(), |n| n.to_string())
        ),
        Outcome::Reset => "reset: the peer answered with RST".into(),
        Outcome::Alive => "alive: last probe answered".into(),
    };
    let mut o = vec![
        label("Outcome"),
        Span::styled(outcome, outcome_style),
        Span::raw(format!(
            " · {} sent, {} answered",
            p.probes_sent, p.probes_answered
        )),
    ];
    if p.zero_window_probes > 0 {
        o.push(Span::raw(format!(
            " · {} zero-window probes",
            p.zero_window_probes
        )));
    }
    lines.push(Line::from(o));
    lines.push(Line::from(vec![
        label("Observed"),
        Span::raw(format!(
            "idle {} · interval {} · probes {} · answered every {} · detection {}",
            precise_or_dash(p.idle_s),
            precise_or_dash(p.intvl_s),
            p.probes.map_or_else(|| "-".into(), |n| n.to_string()),
            precise_or_dash(p.cadence_s),
            precise_or_dash(p.detection_s),
        )),
    ]));
    let l = &p.likely;
    let secs = |v: Option<u32>| v.map_or_else(|| "?".into(), |n| format!("{n}s"));
    let os = match p.os_defaults.as_slice() {
        [] if l.idle_s.is_some() || l.intvl_s.is_some() || l.probes.is_some() => {
            "not an OS default".to_string()
        }
        [] => "nothing known yet".to_string(),
        list => format!("matches the {} default", list.join(" / ")),
    };
    lines.push(Line::from(vec![
        label("Likely"),
        Span::raw(format!(
            "idle {} · interval {} · probes {}   ({os})",
            secs(l.idle_s),
            secs(l.intvl_s),
            l.probes.map_or_else(|| "?".into(), |n| n.to_string()),
        )),
    ]));
    let mut unknown = Vec::new();
    if l.intvl_s.is_none() {
        unknown.push("interval: needs two unanswered probes in a row");
    }
    if l.probes.is_none() {
        unknown.push("probes: seen only when the prober gives up");
    }
    if !unknown.is_empty() {
        lines.push(Line::from(vec![
            Span::raw(format!("    {:<10}", "")),
            Span::styled(format!("? = unknown ({})", unknown.join("; ")), t.dim()),
        ]));
    }
    lines.push(Line::from(vec![
        label("Next"),
        Span::raw(next_detail(flow, p, now, off)),
    ]));
    lines.push(Line::from(vec![
        label("Timeline"),
        Span::styled(
            format!(
                "{} most recent event{}",
                p.timeline.len(),
                if p.timeline.len() == 1 { "" } else { "s" }
            ),
            t.dim(),
        ),
    ]));
    let mut prev_probe: Option<Timestamp> = None;
    let mut prev: Option<Timestamp> = None;
    for &(ts, mark) in &p.timeline {
        let (arrow, what, style) = match mark {
            Mark::Probe => ("→", "probe", Style::new()),
            Mark::Answer => ("←", "answered (ACK)", t.state(State::Alive)),
            Mark::PeerReset => (
                "←",
                "RST: peer lost the connection",
                t.state(State::Reset { by_peer: true }),
            ),
            Mark::GiveUp => ("→", "RST: gave up", t.state(State::Dead)),
        };
        let note = match (mark, prev_probe, prev) {
            (Mark::Probe, Some(pp), _) => format!(
                "+{} since previous probe",
                precise(fmt::secs_between(ts, pp))
            ),
            (Mark::Answer | Mark::PeerReset, _, Some(pv)) => {
                format!("after {}", short_span(fmt::secs_between(ts, pv)))
            }
            (Mark::GiveUp, Some(pp), _) => {
                format!("+{} after last probe", precise(fmt::secs_between(ts, pp)))
            }
            _ => String::new(),
        };
        lines.push(Line::from(vec![
            Span::raw(format!("      {:>12}  {arrow} ", fmt::clock(ts, off))),
            Span::styled(format!("{what:<30}"), style),
            Span::styled(note, t.dim()),
        ]));
        if mark == Mark::Probe {
            prev_probe = Some(ts);
        }
        prev = Some(ts);
    }
}

/// A short span: `31µs`, `0.7ms`, `12.0ms`, `1.030s`.
fn short_span(secs: f64) -> String {
    if secs < 0.001 {
        format!("{:.0}µs", secs * 1e6)
    } else if secs < 1.0 {
        format!("{:.1}ms", secs * 1e3)
    } else {
        precise(secs)
    }
}

fn next_detail(flow: &FlowView, p: &ProberView, now: Timestamp, off: i64) -> String {
    match p.outcome {
        Outcome::Dead => match p.detection_s {
            Some(d) => format!(
                "nothing: it gave up {} after the last sign of life from the peer",
                precise(d)
            ),
            None => "nothing: the prober gave up".into(),
        },
        Outcome::Reset => "nothing: the peer reset the connection".into(),
        Outcome::Probing => {
            let mut s = match p.give_up_at {
                Some((at, assumed)) => {
                    let d = fmt::secs_between(at, now);
                    let when = if d >= 0.0 {
                        format!("declares the peer dead in {}{}", if assumed { "~" } else { "" }, coarse(d))
                    } else {
                        format!("should have declared the peer dead {} ago", coarse(-d))
                    };
                    let why = if assumed {
                        let (n, _) = status::probe_count(p);
                        let step = match p.likely.intvl_s {
                            Some(_) => String::new(),
                            None => " and 75 s apart".into(),
                        };
                        format!(" (~ assumes Linux's {n} probes{step})")
                    } else {
                        String::new()
                    };
                    format!("{when}, at {}{why}", fmt::clock(at, off))
                }
                None => "unknown".into(),
            };
            if let Some(due) = status::next_due(flow, p).filter(|d| d.late(now)) {
                s = format!(
                    "a probe or the give-up RST was due at {}; nothing seen for {} — {}",
                    fmt::clock(due.at, off),
                    coarse(fmt::secs_between(now, due.at)),
                    "the prober may be gone, or its packets miss this capture point"
                );
            }
            s
        }
        Outcome::Alive => match status::next_due(flow, p) {
            Some(due) if due.late(now) => format!(
                "a probe was due at {}; none seen for {} — the prober may be gone, or its probes miss this capture point",
                fmt::clock(due.at, off),
                coarse(fmt::secs_between(now, due.at))
            ),
            Some(due) if fmt::secs_between(due.at, now) > 0.05 => format!(
                "probe expected in about {}, at {}",
                coarse(fmt::secs_between(due.at, now)),
                fmt::clock(due.at, off)
            ),
            Some(due) => format!("probe due now (at {})", fmt::clock(due.at, off)),
            None => "next probe: unknown until the idle time or the answered cadence is seen"
                .into(),
        },
    }
}

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

const COLUMNS: &[(&str, &str)] = &[
    (
        "→  ←  ⇄",
        "between the endpoints: A probes B, B probes A, both probe",
    ),
    ("QUIET", "time since data (> : none seen, so at least)"),
    (
        "IDLE INTVL CNT",
        "observed keepalive idle, interval, probe count",
    ),
    ("LIKELY", "whole-second settings: TCP_KEEPIDLE/INTVL/CNT"),
    ("NEXT", "countdown to the next probe or to give-up"),
    ("~", "assumed: Linux defaults stand in for the unseen"),
];

fn help(f: &mut Frame, area: Rect, t: Theme) {
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
    section(&mut lines, "Keys", HELP, 15);
    lines.push(Line::raw(""));
    section(&mut lines, "States", STATES, 15);
    lines.push(Line::raw(""));
    section(&mut lines, "Columns", COLUMNS, 15);
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
