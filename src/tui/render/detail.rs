//! The detail view of one connection: its state explained, and each probing
//! side's timing, likely settings, what comes next and its probe timeline.

use super::columns::{arrow, socket_for};
use super::{areas, survival, Theme};
use crate::tui::app::{FlowId, ViewState};
use crate::tui::fmt::{self, coarse, count_or_unknown, precise, precise_or_unknown};
use kawatch_core::status::{self, State};
use kawatch_core::{disagreements, LocalSocket, SettingsFrom, SocketIndex};
use kawatch_core::{FlowView, HeartbeatView, PathVerdict, ProberView, Snapshot};
use kawatch_core::{Mark, Outcome};
use kawatch_core::{TcpState, Timestamp};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub(super) fn detail_view(
    f: &mut Frame,
    area: Rect,
    snap: &Snapshot,
    flow: &FlowView,
    view: &ViewState,
    ended: bool,
    t: Theme,
) {
    let lines = detail_lines(snap, flow, view, ended, usize::from(area.width), t);
    let scroll = view
        .detail_scroll
        .min((lines.len() as u16).saturating_sub(area.height.max(1)));
    f.render_widget(Paragraph::new(lines).scroll((scroll, 0)), area);
}

/// `line` broken at spaces into lines of at most `width` columns (a word
/// longer than a line is cut), each after the first indented as far as its
/// text begins after the label: the first span, when it is only a label
/// padded with spaces.
fn wrap(line: Line<'static>, width: usize) -> Vec<Line<'static>> {
    if line.width() <= width || width == 0 {
        return vec![line];
    }
    let first = line.spans.first().map_or("", |s| s.content.as_ref());
    let indent = if line.spans.len() > 1 && first.ends_with(' ') {
        Span::raw(first).width()
    } else {
        first.len() - first.trim_start().len()
    }
    .min(width / 2);
    // (character, its width, its style)
    let chars: Vec<(char, usize, Style)> = line
        .spans
        .iter()
        .flat_map(|sp| {
            sp.content
                .chars()
                .map(move |c| (c, Span::raw(c.to_string()).width(), sp.style))
        })
        .collect();
    let mut out = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        let lead = if out.is_empty() { 0 } else { indent };
        let room = width - lead;
        // As many characters as fit, then back to the last space among them.
        let (mut end, mut used) = (at, 0);
        while end < chars.len() && used + chars[end].1 <= room {
            used += chars[end].1;
            end += 1;
        }
        if end < chars.len() {
            if let Some(space) = (at + 1..end).rev().find(|&i| chars[i].0 == ' ') {
                end = space;
            }
        }
        end = end.max(at + 1);
        let mut spans = vec![Span::raw(" ".repeat(lead))];
        for &(c, _, style) in &chars[at..end] {
            let joins = spans.len() > 1 && spans.last().is_some_and(|l| l.style == style);
            match spans.last_mut() {
                Some(last) if joins => last.content.to_mut().push(c),
                _ => spans.push(Span::styled(c.to_string(), style)),
            }
        }
        out.push(Line::from(spans).style(line.style));
        // The space a line broke at starts no line.
        at = end;
        while at < chars.len() && chars[at].0 == ' ' && !out.is_empty() {
            at += 1;
        }
    }
    out
}

/// How far the detail view can scroll on a screen of this size.
pub(crate) fn detail_max_scroll(area: Rect, snap: &Snapshot, view: &ViewState, ended: bool) -> u16 {
    let body = areas(area).body;
    let flow = view
        .detail
        .and_then(|id| snap.flows.iter().find(|fl| FlowId::of(fl) == id));
    flow.map_or(0, |flow| {
        let t = Theme { color: false };
        let n = detail_lines(snap, flow, view, ended, usize::from(body.width), t).len() as u16;
        n.saturating_sub(body.height.max(1))
    })
}

/// The detail view's lines for a screen `width` columns wide, wrapped to it;
/// `ended`: a replay that has read its whole capture.
fn detail_lines(
    snap: &Snapshot,
    flow: &FlowView,
    view: &ViewState,
    ended: bool,
    width: usize,
    t: Theme,
) -> Vec<Line<'static>> {
    // The pictures (silences, timelines) fit the width: a label, then this.
    let picture = width.saturating_sub(16).clamp(12, PICTURE);
    unwrapped_lines(snap, flow, view, ended, picture, t)
        .into_iter()
        .flat_map(|l| wrap(l, width))
        .collect()
}

fn unwrapped_lines(
    snap: &Snapshot,
    flow: &FlowView,
    view: &ViewState,
    ended: bool,
    picture: usize,
    t: Theme,
) -> Vec<Line<'static>> {
    let now = snap.now;
    let times = fmt::Clock::of(snap, &view.zone);
    let local = SocketIndex::new(&snap.local);
    let st = status::state_with(flow, now, &local);
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
    // A local socket the wire has not shown: its times are the kernel's.
    let socket_only = flow.segments == 0;
    let connection = if socket_only {
        format!(
            "{} · not seen on the wire yet: from the kernel's socket table",
            flow.state.as_str().replace('_', " "),
        )
    } else {
        format!(
            "{} · {} segments · first seen {} · last seen {} ({} ago)",
            flow.state.as_str().replace('_', " "),
            fmt::count(flow.segments),
            times.at(flow.first_seen),
            times.at(flow.last_seen),
            coarse(fmt::secs_between(now, flow.last_seen)),
        )
    };
    lines.push(Line::from(vec![label("Connection"), Span::raw(connection)]));
    let data = match flow.last_data {
        // (The kernel counts from the connection's start when no data has
        // moved yet.)
        Some(d) if socket_only => format!(
            "last sent or received {} ago, the kernel says (or the connection opened then)",
            coarse(fmt::secs_between(now, d))
        ),
        Some(d) => format!(
            "last payload {} ({} ago)",
            times.at(d),
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
    lines.push(Line::raw(""));
    let socket = socket_for(flow, &local);
    survival_block(&mut lines, flow, st, now, socket, view, picture, t);
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
        prober_block(&mut lines, flow, p, now, times, ended, t);
    }
    for h in &flow.heartbeats {
        lines.push(Line::raw(""));
        heartbeat_block(&mut lines, h, now, times, t);
    }
    for (end, peer) in [(flow.a, flow.b), (flow.b, flow.a)] {
        if let Some(s) = local.socket_at(end, peer) {
            lines.push(Line::raw(""));
            socket_block(&mut lines, flow, s, now, t);
        }
    }
    lines
}

/// A local socket as the kernel reports it, and where it and the wire
/// disagree.
fn socket_block(
    lines: &mut Vec<Line<'static>>,
    flow: &FlowView,
    s: &LocalSocket,
    now: Timestamp,
    t: Theme,
) {
    let label = |x: &str| Span::styled(format!("  {x:<12}"), t.label());
    let owner = s.owner.as_ref().map_or_else(
        || "process unknown".to_owned(),
        |o| format!("{} [pid {}, fd {}]", o.process, o.pid, o.fd),
    );
    lines.push(Line::from(vec![
        Span::styled(format!(" {} on this box", s.local), t.label()),
        Span::raw(format!(
            "   {owner} · {}",
            s.state.as_str().replace('_', " ")
        )),
    ]));
    let k = &s.keepalive;
    let from = match k.from {
        Some(SettingsFrom::Socket) => "read from the socket (getsockopt)",
        Some(SettingsFrom::Timer) => {
            "inferred from the kernel's timer: run as root (or with CAP_SYS_PTRACE) to read them exactly"
        }
        None => "unknown",
    };
    let settings = match k.on {
        Some(true) => format!(
            "on: idle/intvl/probes {}{}",
            k.triple(),
            match k.user_timeout_ms {
                Some(ms) if ms > 0 =>
                    format!(" · TCP_USER_TIMEOUT {}", coarse(f64::from(ms) / 1e3)),
                _ => String::new(),
            }
        ),
        Some(false) => "off".to_owned(),
        None => "unknown (a retransmission timer hides the keepalive timer)".to_owned(),
    };
    lines.push(Line::from(vec![label("Keepalive"), Span::raw(settings)]));
    lines.push(Line::from(vec![
        label(""),
        Span::styled(from.to_owned(), t.dim()),
    ]));
    let timer = match (s.next_probe_in_s(), s.probes_out()) {
        (Some(next), Some(0)) => format!("keepalive: next probe in {}", coarse(next)),
        (Some(next), Some(out)) => format!(
            "keepalive: {out} probe(s) out, timer fires in {}",
            coarse(next)
        ),
        _ => s.timer.kind.as_str().replace('_', " "),
    };
    lines.push(Line::from(vec![label("Timer"), Span::raw(timer)]));
    let prober = flow.probers.iter().find(|p| p.endpoint == s.local);
    let found = disagreements(flow, s, prober, now);
    if found.is_empty() {
        if prober.is_some() && k.from == Some(SettingsFrom::Socket) {
            lines.push(Line::from(vec![
                label("Wire"),
                Span::raw("agrees with the socket"),
            ]));
        }
    } else {
        for d in found {
            lines.push(Line::from(vec![
                label("Disagrees"),
                Span::styled(d.to_string(), t.warn()),
            ]));
        }
    }
}

fn explain(st: State) -> &'static str {
    match st {
        State::Dead => "the prober gave up on its peer and reset the connection",
        State::Gone => {
            "this box's socket closed with no FIN or RST on the wire: the kernel gave up on \
             probes that never reached it, or what it sent was dropped before the capture"
        }
        State::Overdue => "a keepalive was due by the observed schedule and none was seen",
        State::Probing { .. } => "probes are going unanswered",
        State::Reset { by_peer: true } => {
            "the peer answered a probe with RST: it had lost the connection"
        }
        State::Reset { by_peer: false } => "an RST ended the connection",
        State::Alive => "the peer was heard after the last keepalive probe",
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
    times: fmt::Clock,
    ended: bool,
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
            crate::report::probes_seen(p)
        ),
        Outcome::Reset => "reset: the peer answered with RST".into(),
        Outcome::Alive => "alive: the peer was heard after the last probe".into(),
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
            precise_or_unknown(p.idle_s),
            precise_or_unknown(p.intvl_s),
            crate::report::probes_seen(p),
            precise_or_unknown(p.cadence_s),
            match (p.detection_s, p.outcome) {
                (None, Outcome::Dead) | (Some(_), _) => precise_or_unknown(p.detection_s),
                // Only a prober that gave up has a detection time.
                (None, _) => fmt::NOT_APPLICABLE.into(),
            },
        )),
    ]));
    let l = &p.likely;
    let secs = |v: Option<u32>| v.map_or_else(|| fmt::UNKNOWN.into(), |n| format!("{n}s"));
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
            count_or_unknown(l.probes),
        )),
    ]));
    let mut unknown = Vec::new();
    if l.intvl_s.is_none() {
        unknown.push("interval: needs two unanswered probes in a row");
    }
    match (l.probes, p.probes) {
        (Some(_), _) => {}
        (None, Some(_)) => unknown.push("probes: the run began before the capture showed it"),
        (None, None) => unknown.push("probes: seen only when the prober gives up"),
    }
    if !unknown.is_empty() {
        lines.push(Line::from(vec![
            Span::raw(format!("    {:<10}", "")),
            Span::styled(format!("? = unknown ({})", unknown.join("; ")), t.dim()),
        ]));
    }
    lines.push(Line::from(vec![
        label("Next"),
        Span::raw(next_detail(flow, p, now, times, ended)),
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
            Span::raw(format!("      {:>12}  {arrow} ", times.at(ts))),
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

fn next_detail(
    flow: &FlowView,
    p: &ProberView,
    now: Timestamp,
    times: fmt::Clock,
    ended: bool,
) -> String {
    // A connection that ended sends no more probes (the other side's
    // give-up, say).
    let closed = match flow.state {
        TcpState::Reset => Some("nothing: the connection was reset"),
        TcpState::Closed => Some("nothing: the connection is closed"),
        _ => None,
    };
    if let (Some(closed), Outcome::Alive | Outcome::Probing) = (closed, p.outcome) {
        return closed.into();
    }
    // A replay read to its end: what came next is not in the capture.
    if ended {
        match p.outcome {
            Outcome::Probing => {
                return format!(
                    "nothing more in the capture: it ended with {} unanswered probe{} out, \
                     before any give-up",
                    p.unanswered,
                    if p.unanswered == 1 { "" } else { "s" }
                )
            }
            Outcome::Alive => {
                return match status::next_due(flow, p) {
                    Some(due) if due.at > now => format!(
                        "nothing more in the capture: it ended before the next probe, \
                         expected at {}",
                        times.at(due.at)
                    ),
                    _ => "nothing more in the capture: it ended here".into(),
                }
            }
            Outcome::Dead | Outcome::Reset => {}
        }
    }
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
            let mut s = match status::earliest_give_up(p) {
                Some(at) => {
                    let d = fmt::secs_between(at, now);
                    let when = if d > 0.05 {
                        format!("declares the peer dead in ≥{}", coarse(d))
                    } else {
                        "may declare the peer dead at any time".to_owned()
                    };
                    let linux = match p.give_up_at {
                        Some((at, _)) => {
                            let (n, _) = status::probe_count(p);
                            let apart = if p.likely.intvl_s.is_some() { "" } else { ", 75 s apart" };
                            format!(" · with Linux's {n} probes{apart}: at {}", times.at(at))
                        }
                        None => String::new(),
                    };
                    format!("{when} (if its count is reached: it shows only at the give-up){linux}")
                }
                None => "unknown".into(),
            };
            if let Some(due) = status::next_due(flow, p).filter(|d| d.late(now)) {
                s = format!(
                    "a probe or the give-up RST was due at {}; nothing seen for {} — {}",
                    times.at(due.at),
                    coarse(fmt::secs_between(now, due.at)),
                    "the prober may be gone, or its packets miss this capture point"
                );
            }
            s
        }
        Outcome::Alive => match status::next_due(flow, p) {
            Some(due) if due.late(now) => format!(
                "a probe was due at {}; none seen for {} — the prober may be gone, or its probes miss this capture point",
                times.at(due.at),
                coarse(fmt::secs_between(now, due.at))
            ),
            Some(due) if fmt::secs_between(due.at, now) > 0.05 => format!(
                "probe expected in about {}, at {}",
                coarse(fmt::secs_between(due.at, now)),
                times.at(due.at)
            ),
            Some(due) => format!("probe due now (at {})", times.at(due.at)),
            None => "next probe: unknown until the idle time or the answered cadence is seen"
                .into(),
        },
    }
}

/// Cells of the detail view's pictures (the silence bar, the timelines).
/// The widest the pictures (silences, timelines) are drawn, in columns.
const PICTURE: usize = 50;

/// Survival against the path timeout in focus: what keeps the silences
/// short, the verdict (and the other paths'), a bar of the longest silence
/// with the timeout and the allowed silence marked on it, and the timelines
/// of keepalive probes and heartbeat beats over the timeout's window.
#[allow(clippy::too_many_arguments)] // (what the block shows, and how wide)
fn survival_block(
    lines: &mut Vec<Line<'static>>,
    flow: &FlowView,
    st: State,
    now: Timestamp,
    socket: Option<&LocalSocket>,
    view: &ViewState,
    picture: usize,
    t: Theme,
) {
    let label = |s: &str| Span::styled(format!("  {s:<12}"), t.label());
    let keeper = survival::keeper(flow, socket);
    let kept = match keeper {
        Some(k) => Span::raw(k.describe()),
        None => Span::styled(
            "nothing seen: no keepalive probe, no heartbeat".to_owned(),
            t.dim(),
        ),
    };
    lines.push(Line::from(vec![label("Kept by"), kept]));
    let silence = survival::silence_s(flow, st, now, view.live);
    let allowed = survival::allowed_s(flow, socket);
    let Some(path) = view.focused_path() else {
        return;
    };
    let v = survival::verdict(flow, st, now, view.live, socket, path);
    let why = match (v, keeper.filter(survival::Keeper::counts)) {
        (PathVerdict::Exceeded, _) => format!(
            "a silence of {} was longer: it would have been dropped",
            survival::span(silence)
        ),
        (PathVerdict::Safe, Some(k)) => format!("{} keeps silences below it", k.text()),
        (_, Some(k)) if k.secs < path.timeout_s => format!(
            "{} is too close to it: a late timer (up to 12.5 %) may pass it",
            k.text()
        ),
        (_, Some(k)) => format!("{} does not keep silences below it", k.text()),
        (_, None) => "nothing seen keeps silences below it".to_owned(),
    };
    lines.push(Line::from(vec![
        label("Path"),
        Span::styled(survival::mark(v), t.verdict(v)),
        Span::raw(format!(" on {}: {why}", path.label())),
    ]));
    if view.paths.len() > 1 {
        let mut others = vec![label("")];
        for (i, p) in view.paths.iter().enumerate() {
            let pv = survival::verdict(flow, st, now, view.live, socket, p);
            others.push(Span::raw(if others.len() > 1 { " · " } else { "" }));
            let name = p.label();
            others.push(if i == view.path {
                Span::styled(format!("[{name}]"), t.label())
            } else {
                Span::raw(name)
            });
            others.push(Span::raw(" "));
            others.push(Span::styled(
                survival::mark(pv)
                    .split(' ')
                    .next()
                    .unwrap_or("")
                    .to_owned(),
                t.verdict(pv),
            ));
        }
        others.push(Span::styled("   t: the next".to_owned(), t.dim()));
        lines.push(Line::from(others));
    }
    // The bar: one cell a slice of the longest of the three, with room after it.
    let scale = path.timeout_s.max(silence).max(allowed.unwrap_or(0.0)) * 1.15;
    let at = |secs: f64| ((secs / scale * picture as f64) as usize).min(picture - 1);
    let filled = ((silence / scale * picture as f64).ceil() as usize).min(picture);
    let mut bar = vec![label("Silences")];
    for i in 0..picture {
        let past = i > at(path.timeout_s);
        let (c, style) = if i == at(path.timeout_s) {
            ("┃", t.label())
        } else if allowed.is_some_and(|a| i == at(a)) {
            ("┆", t.label())
        } else if i < filled {
            ("█", t.verdict(if past { PathVerdict::Exceeded } else { v }))
        } else {
            ("·", t.dim())
        };
        bar.push(Span::styled(c, style));
    }
    lines.push(Line::from(bar));
    let under_way = silence > flow.longest_silence_s;
    let mut legend = vec![
        label(""),
        Span::raw(format!(
            "█ longest silence {}{}",
            survival::span(silence),
            if under_way { " (under way)" } else { "" }
        )),
    ];
    legend.push(Span::raw(match allowed {
        Some(a) => format!("  ┆ allowed {}", survival::span(a)),
        None => "  ┆ allowed: nothing keeps it short".to_owned(),
    }));
    legend.push(Span::raw(format!("  ┃ {}", path.label())));
    lines.push(Line::from(legend));
    timelines(lines, flow, now, path.timeout_s, picture, t);
}

/// The keepalive probes of each prober and the beats of each heartbeat, one
/// row each, over the window a path's timeout watches: the last `span`
/// seconds. A heartbeat's beats are placed back from its last one at its
/// period (as many as it counted).
fn timelines(
    lines: &mut Vec<Line<'static>>,
    flow: &FlowView,
    now: Timestamp,
    span: f64,
    picture: usize,
    t: Theme,
) {
    if flow.probers.is_empty() && flow.heartbeats.is_empty() {
        return;
    }
    let cell = span / picture as f64;
    // The cell of something `age` seconds before now, if in the window.
    let slot = |age: f64| {
        (age >= 0.0 && age < span).then(|| picture - 1 - ((age / cell) as usize).min(picture - 1))
    };
    let before = fmt::secs_between(now, flow.first_seen);
    let dir = |from: kawatch_core::Endpoint| if from == flow.a { "→" } else { "←" };
    let row = |name: String, ticks: Vec<usize>, style: Style| {
        let mut spans = vec![Span::styled(format!("    {name:<10}"), t.label())];
        for i in 0..picture {
            let age = (picture - 1 - i) as f64 * cell;
            spans.push(if ticks.contains(&i) {
                Span::styled("│", style)
            } else if age > before {
                Span::raw(" ")
            } else {
                Span::styled("·", t.dim())
            });
        }
        Line::from(spans)
    };
    lines.push(Line::from(vec![
        Span::styled(format!("  {:<12}", "Timeline"), t.label()),
        Span::styled(
            format!(
                "the last {} (the path's timeout): a packet in every stretch this long keeps it",
                survival::span(span)
            ),
            t.dim(),
        ),
    ]));
    for p in &flow.probers {
        let ticks = p
            .timeline
            .iter()
            .filter(|(_, m)| *m == Mark::Probe)
            .filter_map(|&(ts, _)| slot(fmt::secs_between(now, ts)))
            .collect();
        lines.push(row(format!("ka {}", dir(p.endpoint)), ticks, Style::new()));
    }
    for h in &flow.heartbeats {
        let last = fmt::secs_between(now, h.last_beat);
        let ticks = (0..h.count)
            .map(|k| last + f64::from(k) * h.period_s)
            .take_while(|&age| age < span)
            .filter_map(slot)
            .collect();
        let name = format!("{} {}", survival::short(h.protocol), dir(h.endpoint));
        lines.push(row(name, ticks, t.state(State::Alive)));
    }
    lines.push(Line::from(vec![
        Span::raw(format!("    {:<10}", "")),
        Span::styled(
            format!(
                "{:<w$}now",
                format!("{} ago", survival::span(span)),
                w = picture - 3
            ),
            t.dim(),
        ),
    ]));
}

/// A heartbeat: who beats whom, its protocol, period, beats and answers.
fn heartbeat_block(
    lines: &mut Vec<Line<'static>>,
    h: &HeartbeatView,
    now: Timestamp,
    times: fmt::Clock,
    t: Theme,
) {
    let label = |s: &str| Span::styled(format!("    {s:<10}"), t.label());
    lines.push(Line::from(vec![
        Span::styled(format!("  ♥ {}", h.endpoint), t.label()),
        Span::raw(format!(" beats to {}", h.peer)),
    ]));
    lines.push(Line::from(vec![
        label("Heartbeat"),
        Span::raw(format!(
            "{} every {} · {} beats, {} answered{}",
            h.protocol.as_str(),
            precise(h.period_s),
            h.count,
            h.answers,
            if h.answered {
                ""
            } else {
                " (mostly unanswered)"
            }
        )),
    ]));
    lines.push(Line::from(vec![
        label("Last beat"),
        Span::raw(format!(
            "{} ({} ago)",
            times.at(h.last_beat),
            coarse(fmt::secs_between(now, h.last_beat))
        )),
    ]));
}
