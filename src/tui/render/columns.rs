//! The table's columns, defined once: [`COLUMNS`]. Each entry says what the
//! column is called, how its text sits, whether it stays on a narrow
//! terminal, what the help screen's legend says about it, and how a row's
//! cell is made. The table, the fitting and the legend all read this list;
//! adding a column is adding an entry.

use super::survival;
use crate::tui::fmt::{self, coarse, precise_or_unknown};
use crate::tui::render::Theme;
use kawatch_core::status::{self, State};
use kawatch_core::Timestamp;
use kawatch_core::{FlowView, LocalSocket, ProberView, SettingsFrom, SocketIndex};
use kawatch_core::{Outcome, PathTimeout};
use ratatui::layout::Alignment;
use ratatui::style::Style;
use std::borrow::Cow;

/// One cell: text and style.
pub(crate) type Cell = (String, Style);

/// What a cell is made from: one row of the table.
pub(crate) struct Row<'a> {
    /// The connection.
    pub(crate) flow: &'a FlowView,
    /// Its state at `now`.
    pub(crate) state: State,
    /// The snapshot's time.
    pub(crate) now: Timestamp,
    /// The side whose keepalives the row shows ([`status::primary`]).
    pub(crate) prober: Option<&'a ProberView>,
    /// The connection's socket on this box, as the kernel reports it: the
    /// probing side's when it is local, else either local side's.
    pub(crate) socket: Option<&'a LocalSocket>,
    /// The replay reached the end of its capture: nothing counts down.
    pub(crate) ended: bool,
    /// A live capture: a silence under way counts toward the path verdict.
    pub(crate) live: bool,
    /// The path timeout in focus, if any.
    pub(crate) path: Option<&'a PathTimeout>,
    /// Styles.
    pub(crate) theme: Theme,
}

/// A connection's socket on this box, as the kernel reports it: the
/// probing side's when it is local, else either local side's.
pub(crate) fn socket_for<'a>(flow: &FlowView, local: &SocketIndex<'a>) -> Option<&'a LocalSocket> {
    status::primary(flow)
        .map(|i| &flow.probers[i])
        .and_then(|p| local.socket_at(p.endpoint, p.peer))
        .or_else(|| local.socket_of(flow))
}

impl<'a> Row<'a> {
    /// The row of `flow` in state `state` at `now`, with the local sockets,
    /// judged against the path timeout `path`.
    pub(crate) fn new(
        flow: &'a FlowView,
        state: State,
        now: Timestamp,
        local: &SocketIndex<'a>,
        path: Option<&'a PathTimeout>,
        theme: Theme,
    ) -> Row<'a> {
        Row {
            flow,
            state,
            now,
            prober: status::primary(flow).map(|i| &flow.probers[i]),
            socket: socket_for(flow, local),
            ended: false,
            live: false,
            path,
            theme,
        }
    }

    /// The cells of every column, in [`COLUMNS`] order.
    pub(crate) fn cells(&self) -> Vec<Cell> {
        COLUMNS.iter().map(|c| (c.cell)(self)).collect()
    }
}

/// Which columns stay when the terminal is narrow.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Priority {
    /// Always shown; when the always-shown columns alone do not fit, these
    /// give way first (cut in the middle of the address, keeping the port).
    Shrinks,
    /// Always shown, whole.
    Always,
    /// Shown while it fits, rank 1 first; the first that does not fit ends
    /// the list (strict priority: no later, narrower column jumps in).
    Rank(u8),
    /// As `Rank`, but left out while no row on screen has text in it.
    RankIfUsed(u8),
}

/// A column of the table.
pub(crate) struct Column {
    /// Header text; empty for none. Its name in the help and the tests.
    pub(crate) header: &'static str,
    /// The header on screen when it names the path in focus instead.
    pub(crate) heading: Option<fn(&PathTimeout) -> String>,
    /// How text sits in the column.
    pub(crate) align: Alignment,
    /// Whether it stays on a narrow terminal.
    pub(crate) priority: Priority,
    /// Its line in the help screen's column legend: (name, meaning).
    /// Neighbours with the same meaning share one line.
    pub(crate) help: Option<(&'static str, &'static str)>,
    /// Its cell on a row.
    pub(crate) cell: fn(&Row) -> Cell,
}

impl Column {
    /// The header on screen, with `path` in focus.
    pub(crate) fn title(&self, path: Option<&PathTimeout>) -> Cow<'static, str> {
        match (self.heading, path) {
            (Some(h), Some(p)) => Cow::Owned(h(p)),
            _ => Cow::Borrowed(self.header),
        }
    }
}

const OBSERVED: &str = "observed keepalive idle, interval, probe count";

/// The table's columns, in display order.
pub(crate) const COLUMNS: &[Column] = &[
    Column {
        header: "ENDPOINT A",
        heading: None,
        align: Alignment::Left,
        priority: Priority::Shrinks,
        help: None,
        cell: |r| plain(r.flow.a.to_string()),
    },
    Column {
        header: "",
        heading: None,
        align: Alignment::Left,
        // Which side the timings are of: kept however narrow.
        priority: Priority::Always,
        help: Some((
            "→  ←  ⇄",
            "between the endpoints: A probes B, B probes A, both probe",
        )),
        cell: |r| plain(arrow(r.flow).to_string()),
    },
    Column {
        header: "ENDPOINT B",
        heading: None,
        align: Alignment::Left,
        priority: Priority::Shrinks,
        help: None,
        cell: |r| plain(r.flow.b.to_string()),
    },
    Column {
        header: "VLAN",
        heading: None,
        align: Alignment::Left,
        priority: Priority::RankIfUsed(2),
        help: None,
        cell: |r| plain(vlan(r.flow)),
    },
    Column {
        header: "STATE",
        heading: None,
        align: Alignment::Left,
        priority: Priority::Always,
        help: None,
        cell: |r| (r.state.word(), r.theme.state(r.state)),
    },
    Column {
        header: "KEPT BY",
        heading: None,
        align: Alignment::Left,
        priority: Priority::Rank(3),
        help: Some((
            "KEPT BY",
            "what keeps silences short: ka = keepalive idle, or a heartbeat",
        )),
        cell: |r| match survival::keeper(r.flow, r.socket) {
            Some(k) => plain(k.text()),
            None => plain("nothing".into()),
        },
    },
    Column {
        header: "PATH",
        heading: Some(survival::heading),
        align: Alignment::Left,
        priority: Priority::RankIfUsed(4),
        help: Some((
            "PATH",
            "against the path timeout in focus: ✓ safe, ! at risk, ✗ exceeded (a keeper ≈ from the kernel's timer, a guess, does not count)",
        )),
        cell: |r| match r.path {
            // Never opened: no idle connection for a path to drop.
            Some(_) if !kawatch_core::path::opened(r.flow.state) => ("-".into(), r.theme.dim()),
            Some(p) => {
                let v = survival::verdict(r.flow, r.state, r.now, r.live, r.socket, p);
                // A connection no longer open: what it survived, dimmed.
                let over = matches!(
                    r.state,
                    State::Dead | State::Gone | State::Reset { .. } | State::Closed | State::Closing
                );
                let style = if over {
                    r.theme.dim()
                } else {
                    r.theme.verdict(v)
                };
                (survival::mark(v).into(), style)
            }
            None => plain(String::new()),
        },
    },
    Column {
        header: "QUIET",
        heading: None,
        align: Alignment::Right,
        priority: Priority::Rank(14),
        help: Some(("QUIET", "time since data was last seen")),
        cell: |r| {
            let (act, lower) = status::last_activity(r.flow);
            let since = coarse(fmt::secs_between(r.now, act));
            plain(format!("{}{since}", if lower { ">" } else { "" }))
        },
    },
    Column {
        header: "IDLE",
        heading: None,
        align: Alignment::Right,
        priority: Priority::Rank(11),
        help: Some(("IDLE", OBSERVED)),
        cell: |r| dim_unknown(r, per_prober(r, |p| precise_or_unknown(p.idle_s))),
    },
    Column {
        header: "INTVL",
        heading: None,
        align: Alignment::Right,
        priority: Priority::Rank(12),
        help: Some(("INTVL", OBSERVED)),
        cell: |r| dim_unknown(r, per_prober(r, |p| precise_or_unknown(p.intvl_s))),
    },
    Column {
        header: "CNT",
        heading: None,
        align: Alignment::Right,
        priority: Priority::Rank(13),
        help: Some(("CNT", OBSERVED)),
        cell: |r| dim_unknown(r, per_prober(r, crate::report::probes_seen)),
    },
    Column {
        header: "LIKELY idle/intvl/cnt",
        heading: None,
        align: Alignment::Left,
        priority: Priority::Rank(8),
        help: Some(("LIKELY", "whole-second settings: TCP_KEEPIDLE/INTVL/CNT")),
        cell: |r| plain(per_prober(r, fmt::settings_with_os)),
    },
    Column {
        header: "KEEPALIVE",
        heading: None,
        align: Alignment::Left,
        priority: Priority::RankIfUsed(6),
        help: Some((
            "KEEPALIVE",
            "local socket's idle/intvl/cnt: = read from it, ≈ from its timer",
        )),
        cell: |r| {
            r.socket
                .map_or_else(|| plain(String::new()), |s| socket_keepalive(r, s))
        },
    },
    Column {
        header: "PROCESS",
        heading: None,
        align: Alignment::Left,
        priority: Priority::RankIfUsed(9),
        help: Some((
            "PROCESS",
            "the process on this box holding the socket [pid]",
        )),
        cell: |r| {
            plain(
                r.socket
                    .and_then(|s| s.owner.as_ref())
                    .map_or_else(String::new, |o| format!("{}[{}]", o.process, o.pid)),
            )
        },
    },
    Column {
        header: "ANS/SENT",
        heading: None,
        align: Alignment::Right,
        priority: Priority::Rank(10),
        help: None,
        cell: |r| {
            plain(per_prober(r, |p| {
                format!("{}/{}", p.probes_answered, p.probes_sent)
            }))
        },
    },
    Column {
        header: "LAST PROBE",
        heading: None,
        align: Alignment::Right,
        priority: Priority::Rank(7),
        help: None,
        cell: |r| {
            plain(per_prober(r, |p| {
                p.last_probe.map_or_else(
                    || fmt::NOT_APPLICABLE.into(),
                    |l| format!("{} ago", coarse(fmt::secs_between(r.now, l))),
                )
            }))
        },
    },
    Column {
        header: "NEXT",
        heading: None,
        align: Alignment::Left,
        priority: Priority::Rank(5),
        help: Some((
            "NEXT",
            "next probe or give-up; the count unseen, the give-up at the earliest (≥, \
             'dead any time' once it may come); this box's sockets: by the kernel's timer",
        )),
        cell: |r| {
            let style = match r.state {
                State::Probing { .. } | State::Overdue | State::Dead | State::Gone => {
                    r.theme.state(r.state)
                }
                _ => Style::new(),
            };
            let kernel = match r.state {
                State::Dead | State::Gone | State::Reset { .. } | State::Closed | State::Closing => {
                    None
                }
                // The socket is read twice a second: while the wire shows
                // probing, its timer speaks only once it has probes out too.
                State::Probing { .. } | State::Overdue => r
                    .socket
                    .filter(|s| s.timer.probes_out > 0)
                    .and_then(kernel_next),
                _ => r.socket.and_then(kernel_next),
            };
            // This box's socket with keepalive off now (turned off since it
            // probed): no probe comes, whatever the wire's schedule says.
            let off = r.prober.is_some() && r.socket.is_some_and(|s| s.keepalive.off());
            let text = match (r.ended && r.prober.is_some(), r.state) {
                (true, State::Probing { unanswered, .. }) => {
                    format!("capture ended, {unanswered} unanswered")
                }
                (true, State::Overdue | State::Alive | State::Idle | State::Active) => {
                    "capture ended".into()
                }
                (false, State::Alive | State::Idle | State::Active) if off && kernel.is_none() => {
                    "keepalive off".into()
                }
                _ => kernel.unwrap_or_else(|| next_text(r.flow, r.prober, r.state, r.now)),
            };
            (text, style)
        },
    },
];

/// A socket's keepalive: `=off`, `=60s/10s/5`, `≈60s/?/?`; the mark says
/// where it came from (= the socket itself, ≈ its timer).
fn socket_keepalive(r: &Row, s: &LocalSocket) -> Cell {
    let k = &s.keepalive;
    let mark = match k.from {
        Some(SettingsFrom::Socket) => "=",
        Some(SettingsFrom::Timer) => crate::report::FROM_TIMER,
        None => "",
    };
    match k.on {
        // A retransmission timer hides the keepalive timer.
        None => dim_unknown(r, fmt::UNKNOWN.to_owned()),
        Some(false) => (format!("{mark}off"), r.theme.dim()),
        Some(true) => plain(format!("{mark}{}", k.triple())),
    }
}

fn plain(s: String) -> Cell {
    (s, Style::new())
}

/// Unknown (`?`) or not applicable (`-`), dimmed.
fn dim_unknown(r: &Row, s: String) -> Cell {
    let style = if s == fmt::UNKNOWN || s == fmt::NOT_APPLICABLE {
        r.theme.dim()
    } else {
        Style::new()
    };
    (s, style)
}

/// Text about the row's prober; empty when no side probes.
fn per_prober(r: &Row, text: impl Fn(&ProberView) -> String) -> String {
    r.prober.map_or_else(String::new, text)
}

fn vlan(f: &FlowView) -> String {
    let ids: Vec<String> = f.vlan.ids().iter().map(u16::to_string).collect();
    ids.join(".")
}

/// Who probes whom: `→` A probes B, `←` B probes A, `⇄` both.
pub(crate) fn arrow(f: &FlowView) -> &'static str {
    let a = f.probers.iter().any(|p| p.endpoint == f.a);
    let b = f.probers.iter().any(|p| p.endpoint == f.b);
    match (a, b) {
        (true, true) => "⇄",
        (true, false) => "→",
        (false, true) => "←",
        (false, false) => "",
    }
}

/// What the kernel's keepalive timer on a local socket says comes next: a
/// probe, or the give-up RST once every probe is out.
fn kernel_next(s: &LocalSocket) -> Option<String> {
    let secs = s.next_probe_in_s()?;
    let out = u32::from(s.timer.probes_out);
    let what = match s.keepalive.probes_to_give_up() {
        _ if out == 0 => "probe".to_owned(),
        Some(cnt) if out >= cnt => "RST".to_owned(),
        _ => format!("probe {}", out + 1),
    };
    // (A reading aged to its timer: sent, or about to be, until the next.)
    Some(if secs > 0.05 {
        format!("{what} in {}", coarse(secs))
    } else {
        format!("{what} due")
    })
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
        State::Gone => "socket closed, wire silent".into(),
        State::Probing { .. } => match status::earliest_give_up(p) {
            Some(at) => {
                let d = fmt::secs_between(at, now);
                if d > 0.05 {
                    format!("dead in ≥{}", coarse(d))
                } else {
                    "dead any time".into()
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

/// A mark a cell may carry. The help screen lists them all; the legend line
/// under the table, those on screen.
pub(crate) struct Mark {
    /// The mark.
    pub(crate) symbol: &'static str,
    /// What it means, on the legend line.
    pub(crate) short: &'static str,
    /// What it means, in the help.
    pub(crate) long: &'static str,
    /// Whether a cell's text carries it.
    pub(crate) in_cell: fn(&str) -> bool,
}

/// Every mark, in the order legends list them. One symbol for one meaning
/// on the whole screen (and in `kawatch report` and `kawatch sockets`).
pub(crate) const MARKS: &[Mark] = &[
    Mark {
        symbol: fmt::UNKNOWN,
        short: "unknown",
        long: "unknown: not observable, or not observed yet",
        in_cell: |c| c.contains('?'),
    },
    Mark {
        symbol: fmt::NOT_APPLICABLE,
        short: "does not apply",
        long: "does not apply (e.g. a detection time before any give-up)",
        in_cell: |c| c == fmt::NOT_APPLICABLE,
    },
    Mark {
        symbol: "~",
        short: "assumed (Linux default)",
        long: "assumed: Linux defaults stand in for the unseen (probing 2/~9)",
        in_cell: |c| c.contains('~'),
    },
    Mark {
        symbol: ">",
        short: "at least (no data seen)",
        long: "at least: no data seen in the capture (QUIET)",
        in_cell: |c| c.starts_with('>'),
    },
    Mark {
        symbol: "≥",
        short: "at least",
        long: "at least: part of a probe run seen (CNT); a give-up at the earliest (NEXT)",
        in_cell: |c| c.contains('≥'),
    },
    Mark {
        symbol: crate::report::FROM_TIMER,
        short: "from the kernel's timer",
        long: "from the kernel's timer, not read from the socket (KEEPALIVE)",
        in_cell: |c| c.contains(crate::report::FROM_TIMER),
    },
];

/// The help screen's column legend: each column's line, in display order,
/// neighbours with the same meaning on one line (`IDLE INTVL CNT`).
pub(crate) fn legend() -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = Vec::new();
    let mut last: Option<&'static str> = None;
    for c in COLUMNS {
        let Some((name, text)) = c.help else {
            last = None;
            continue;
        };
        match out.last_mut() {
            Some((names, _)) if last == Some(text) => {
                names.push(' ');
                names.push_str(name);
            }
            _ => out.push((name.to_string(), text)),
        }
        last = Some(text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_column_has_a_unique_rank_or_is_always_shown() {
        let mut ranks: Vec<u8> = COLUMNS
            .iter()
            .filter_map(|c| match c.priority {
                Priority::Rank(n) | Priority::RankIfUsed(n) => Some(n),
                Priority::Shrinks | Priority::Always => None,
            })
            .collect();
        let n = ranks.len();
        ranks.sort_unstable();
        ranks.dedup();
        assert_eq!(ranks.len(), n, "ranks are unique");
    }

    /// The kernel's timer, as NEXT says it: what comes, and when.
    #[test]
    fn what_the_kernel_sends_next() {
        use kawatch_core::{KeepaliveSettings, KernelTimer, SocketState, TimerKind};
        let ep = kawatch_core::Endpoint::new([198, 18, 0, 1].into(), 40000);
        let socket = |expires_ms, probes_out| LocalSocket {
            local: ep,
            remote: ep,
            state: SocketState::Established,
            inode: 1,
            uid: 0,
            owner: None,
            timer: KernelTimer {
                kind: TimerKind::Keepalive,
                expires_ms,
                probes_out,
            },
            keepalive: KeepaliveSettings {
                on: Some(true),
                idle_s: Some(7),
                intvl_s: Some(3),
                probes: Some(3),
                user_timeout_ms: Some(0),
                from: Some(SettingsFrom::Socket),
            },
            last_data_recv_ms: Some(9_000),
            last_ack_recv_ms: Some(9_000),
            last_data_sent_ms: Some(9_000),
            unacked: Some(0),
        };
        let cases = [
            ("idle running", socket(2_500, 0), "probe in 2.5s"),
            ("one out", socket(1_200, 1), "probe 2 in 1.2s"),
            ("all out: the give-up next", socket(1_200, 3), "RST in 1.2s"),
            ("aged to its timer", socket(0, 2), "probe 3 due"),
        ];
        for (name, s, want) in cases {
            assert_eq!(kernel_next(&s).as_deref(), Some(want), "{name}");
        }
    }

    #[test]
    fn legend_joins_neighbours_that_mean_the_same() {
        let names: Vec<String> = legend().into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "→  ←  ⇄",
                "KEPT BY",
                "PATH",
                "QUIET",
                "IDLE INTVL CNT",
                "LIKELY",
                "KEEPALIVE",
                "PROCESS",
                "NEXT"
            ]
        );
    }
}

#[cfg(test)]
mod mark_tests {
    use super::*;

    #[test]
    fn each_mark_is_found_only_where_it_means_what_it_says() {
        let found = |cell: &str| -> Vec<&str> {
            MARKS
                .iter()
                .filter(|m| (m.in_cell)(cell))
                .map(|m| m.symbol)
                .collect()
        };
        let cases: &[(&str, &[&str])] = &[
            ("59-60s/?/?", &["?"]),
            ("-", &["-"]),
            ("probing 2/~9", &["~"]),
            (">3m05s", &[">"]),
            ("dead in ≥4.1s", &["≥"]),
            ("≈60s/?/?", &["?", "≈"]),
            ("=off", &[]),
            ("2.031s", &[]),
        ];
        for (cell, want) in cases {
            assert_eq!(found(cell), *want, "{cell}");
        }
        let mut symbols: Vec<&str> = MARKS.iter().map(|m| m.symbol).collect();
        symbols.sort_unstable();
        symbols.dedup();
        assert_eq!(symbols.len(), MARKS.len(), "one meaning per symbol");
    }
}
