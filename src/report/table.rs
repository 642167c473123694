//! The default, human-readable report.

use super::json::{flow as flow_report, Local};
use super::summary::{SourceInfo, Totals};
use super::types::FlowReport;
use super::{NOT_APPLICABLE, UNKNOWN};
use kawatch_core::path::duration_text as duration;
use kawatch_core::{
    likely_text, prober_silence_s, FlowView, Outcome, PathTimeout, PathVerdict, ProberView,
    SettingsFrom, TcpState, Timestamp,
};
use std::io::{self, Write};

/// A capture timestamp in UTC, ISO 8601 with milliseconds (cut, not
/// rounded): `2023-11-14T22:13:22.123Z`.
fn utc(ts: Option<Timestamp>) -> String {
    ts.and_then(|t| jiff::Timestamp::from_nanosecond(t.0).ok())
        .map_or_else(|| UNKNOWN.into(), |t| format!("{t:.3}"))
}

/// An observed timing; `?` when not observed.
fn secs(v: Option<f64>) -> String {
    v.map_or_else(|| UNKNOWN.into(), |s| format!("{s:.3}s"))
}

fn whole(v: Option<u32>, unit: &str) -> String {
    v.map_or_else(|| UNKNOWN.into(), |n| format!("{n}{unit}"))
}

/// Last activity to give-up: `-` for a prober that has not given up,
/// `?` for one that did after activity the capture did not show.
fn detection(p: &ProberView) -> String {
    match (p.detection_s, p.outcome) {
        (Some(_), _) | (None, Outcome::Dead) => secs(p.detection_s),
        (None, _) => NOT_APPLICABLE.into(),
    }
}

fn settings(p: &ProberView) -> String {
    let l = &p.likely;
    let mut s = format!(
        "{}/{}/{}",
        likely_text(p.idle_s, l.idle_s),
        likely_text(p.intvl_s, l.intvl_s),
        whole(l.probes, "")
    );
    if !p.os_defaults.is_empty() {
        s.push_str(&format!(" ({} default)", p.os_defaults.join("|")));
    }
    s
}

/// Flows without keepalives whose zero-window probes the table names.
const ZWP_NAMED: usize = 3;

/// The IDLE cell of a prober all of whose probes came sooner after traffic
/// than a keepalive timer fires ([`ProberView::timer_shown`]).
const TOO_SOON: &str = "<0.9s";

/// Writes a summary line and a table of every prober, one row each (a
/// flow that is [`FlowView::partial`] says so after its outcome): its FIRST
/// and LAST PROBE (UTC), IDLE (first probe after activity), INTVL (between
/// unanswered probes), EVERY
/// (between answered probes), PROBES (unanswered before give-up, `≥` when
/// only a least count shows), DETECT
/// (last activity to give-up) and the likely settings. `?` marks what is
/// unknown, `-` what does not apply. Then, when any flow has keepalives or
/// heartbeats or was silent longer than a path timeout, what keeps each
/// such flow alive and its verdict on each path.
pub fn write_table(
    totals: &Totals,
    flows: impl Iterator<Item = FlowView>,
    src: &SourceInfo,
    local: Option<&Local<'_>>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut paths = Paths::default();
    let c = totals.counters;
    let (mut n_flows, mut with_ka, mut partial) = (0, 0, 0);
    // Zero-window probes of flows without keepalives (no row shows them).
    let (mut zwp_flows, mut zwp_probes, mut zwp_names) = (0, 0, Vec::new());
    // Several files merged: a last column says which each flow was in.
    let merged = src.inputs.len() > 1;
    let mut rows: Vec<Vec<String>> = Vec::new();
    for f in flows {
        n_flows += 1;
        paths.add(&flow_report(&f, local, src));
        with_ka += usize::from(!f.probers.is_empty());
        if f.probers.is_empty() && f.zero_window_probes > 0 {
            zwp_flows += 1;
            zwp_probes += f.zero_window_probes;
            if zwp_names.len() < ZWP_NAMED {
                zwp_names.push(format!("{} <> {}{}", f.a, f.b, on_vlan(f.vlan.ids())));
            }
        }
        partial += usize::from(f.partial);
        let mut zwp = if f.zero_window_probes > 0 {
            format!(" +{} zwp", f.zero_window_probes)
        } else {
            String::new()
        };
        if f.partial {
            zwp.push_str(" (partial)");
        }
        for p in &f.probers {
            let peer = format!("{}{}", p.peer, on_vlan(f.vlan.ids()));
            let mut row = vec![
                p.endpoint.to_string(),
                peer,
                format!("{}{zwp}", p.outcome.as_str()),
                format!("{}/{}", p.probes_answered, p.probes_sent),
                utc(p.first_probe),
                utc(p.last_probe),
                if p.timer_shown() {
                    secs(p.idle_s)
                } else {
                    TOO_SOON.to_string()
                },
                secs(p.intvl_s),
                secs(p.cadence_s),
                super::probes_seen(p),
                detection(p),
                settings(p),
            ];
            if merged {
                row.push(src.row_name(f.inputs));
            }
            rows.push(row);
        }
    }
    let mut incomplete = String::new();
    if src.truncated {
        match &src.truncated_reason {
            Some(reason) => incomplete.push_str(&format!(" (incomplete: {reason})")),
            None => incomplete.push_str(" (input cut off mid-packet)"),
        }
    }
    if src.interrupted {
        incomplete.push_str(" (interrupted before the end of the input)");
    }
    let mut bounded = String::new();
    if c.keepalive_flows_lost > 0 {
        bounded.push_str(&format!(
            ", {} more lost to the flow table's bounds (raise --max-retired or --max-flows)",
            c.keepalive_flows_lost
        ));
    }
    if partial > 0 {
        let whose = if partial == 1 { "its" } else { "their" };
        bounded.push_str(&format!("; {partial} partial ({whose} start was evicted)"));
    }
    // (A blank line sets it apart from the report before it.)
    if src.continues {
        writeln!(out)?;
    }
    writeln!(
        out,
        "{} ({}): {} frames, {} TCP segments, {} undecoded; {} flow{}, {} with keepalives{bounded}{incomplete}",
        src.name, src.linktype, c.frames, c.tcp_segments, c.undecoded, n_flows,
        if n_flows == 1 { "" } else { "s" }, with_ka,
    )?;
    // (A stalled receiver's zero-window probes look like keepalives and
    // are none: said, as they are the story of such a flow.)
    let stalled = match (zwp_flows, zwp_probes) {
        (0, _) => String::new(),
        (flows, probes) => format!(
            "; {probes} zero-window probe{} on {flows} flow{} without keepalives (a \
             receiver's full window, not keepalive): {}{}",
            if probes == 1 { "" } else { "s" },
            if flows == 1 { "" } else { "s" },
            zwp_names.join(", "),
            match flows - zwp_names.len() {
                0 => String::new(),
                more => format!(" and {more} more"),
            },
        ),
    };
    if with_ka == 0 {
        writeln!(
            out,
            "{}{stalled}",
            if c.keepalive_flows_lost > 0 {
                "no keepalive probes in the flows kept"
            } else {
                "no keepalive probes seen"
            }
        )?;
        return paths.write(src, out);
    }
    let mut header = vec![
        "PROBER",
        "PEER",
        "OUTCOME",
        "ANS/SENT",
        "FIRST PROBE",
        "LAST PROBE",
        "IDLE",
        "INTVL",
        "EVERY",
        "PROBES",
        "DETECT",
        "LIKELY idle/intvl/cnt",
    ];
    if merged {
        header.push("FILE");
    }
    let mut width: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, cell) in width.iter_mut().zip(r) {
            *w = (*w).max(cell.len());
        }
    }
    writeln!(out)?;
    let line = |cells: &[&str]| -> String {
        let mut s = String::new();
        for (i, (cell, &w)) in cells.iter().zip(&width).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  "));
            }
        }
        s
    };
    writeln!(out, "{}", line(&header))?;
    for r in &rows {
        let cells: Vec<&str> = r.iter().map(String::as_str).collect();
        writeln!(out, "{}", line(&cells))?;
    }
    writeln!(out)?;
    // (`≥N` and `<0.9s` only where a cell shows them.)
    let at_least = rows.iter().flatten().any(|c| c.starts_with('≥'));
    let too_soon = rows.iter().any(|r| r[6] == TOO_SOON);
    writeln!(
        out,
        "{UNKNOWN} unknown (not observed) · {NOT_APPLICABLE} does not apply{}{} · times in UTC",
        if at_least {
            " · ≥N at least N (part of the run was seen)"
        } else {
            ""
        },
        if too_soon {
            " · <0.9s every probe came that soon after traffic, sooner than a keepalive \
             timer fires: keepalive-shaped, no timer"
        } else {
            ""
        }
    )?;
    if let Some(line) = stalled.strip_prefix("; ") {
        writeln!(out, "{line}")?;
    }
    paths.write(src, out)
}

/// Left-aligned columns, two spaces apart, the last one unpadded.
fn columns(rows: &[Vec<String>]) -> Vec<String> {
    let mut width: Vec<usize> = Vec::new();
    for r in rows {
        for (i, cell) in r.iter().enumerate() {
            let n = cell.chars().count();
            match width.get_mut(i) {
                Some(w) => *w = (*w).max(n),
                None => width.push(n),
            }
        }
    }
    rows.iter()
        .map(|r| {
            let mut s = String::new();
            for (i, (cell, &w)) in r.iter().zip(&width).enumerate() {
                if i + 1 == r.len() {
                    s.push_str(cell);
                } else {
                    s.push_str(&format!("{cell:<w$}  "));
                }
            }
            s
        })
        .collect()
}

/// The "what keeps each flow alive" table: one row per flow that has a
/// keepalive or a heartbeat or was silent longer than a path timeout; the
/// other flows (nothing seen keeps them alive, and no silence was long
/// enough to matter yet) are counted.
#[derive(Default)]
struct Paths {
    rows: Vec<Vec<String>>,
    /// Flows with nothing keeping them alive and no silence past a timeout.
    unprotected: usize,
    /// Connections that never opened: no path applies.
    unopened: usize,
    /// The path timeouts' names and timeouts, from the first flow.
    header: Vec<String>,
}

/// A flow's VLAN tags as its rows name them after its endpoints (the same
/// 4-tuple on two VLANs is two flows): ` vlan 100/200`, or nothing.
fn on_vlan(ids: &[u16]) -> String {
    if ids.is_empty() {
        return String::new();
    }
    let ids: Vec<String> = ids.iter().map(u16::to_string).collect();
    format!(" vlan {}", ids.join("/"))
}

impl Paths {
    fn add(&mut self, f: &FlowReport) {
        if !kawatch_core::path::opened(f.state) {
            self.unopened += 1;
            return;
        }
        if self.header.is_empty() {
            self.header = f
                .path
                .iter()
                .map(|p| {
                    PathTimeout {
                        name: p.name.clone(),
                        timeout_s: p.timeout_s,
                    }
                    .label()
                })
                .collect();
        }
        let exceeded = f.path.iter().any(|p| p.verdict == PathVerdict::Exceeded);
        let kept_by = kept_alive_by(f);
        if kept_by.is_none() && !exceeded {
            self.unprotected += 1;
            return;
        }
        // A connection already over: what kept it says little now.
        let over = if f.keepalive.iter().any(|p| p.outcome == Outcome::Dead) {
            " (gave up)"
        } else if matches!(f.state, TcpState::Reset | TcpState::Closed) {
            " (closed)"
        } else {
            ""
        };
        // (Rounded to a timeout it is not, it would read as that timeout
        // beside "exceeded": 5.0056 s on a 5 s path.)
        let longest = f.silence.longest_s;
        let rounded = (longest * 10.0).round() / 10.0;
        let longest = if f
            .path
            .iter()
            .any(|p| rounded == p.timeout_s && longest != p.timeout_s)
        {
            format!("{longest:.3}s")
        } else {
            format!("{longest:.1}s")
        };
        let mut row = vec![
            format!("{} <> {}{}", f.a, f.b, on_vlan(&f.vlan)),
            kept_by.unwrap_or_else(|| "nothing".into()) + over,
            longest,
        ];
        row.extend(f.path.iter().map(|p| p.verdict.as_str().replace('_', " ")));
        self.rows.push(row);
    }

    fn write(&self, src: &SourceInfo, out: &mut dyn Write) -> io::Result<()> {
        if src.paths.is_empty() || (self.rows.is_empty() && self.unprotected == 0) {
            return Ok(());
        }
        let unopened = match self.unopened {
            0 => String::new(),
            1 => "; 1 connection never opened (no path applies)".to_owned(),
            n => format!("; {n} connections never opened (no path applies)"),
        };
        writeln!(out)?;
        if !self.rows.is_empty() {
            let mut table = vec![["FLOW", "KEPT ALIVE BY", "LONGEST SILENCE"]
                .iter()
                .map(ToString::to_string)
                .chain(self.header.iter().cloned())
                .collect::<Vec<String>>()];
            table.extend(self.rows.iter().cloned());
            for line in columns(&table) {
                writeln!(out, "{line}")?;
            }
        }
        if self.unprotected > 0 {
            let (n, them) = match self.unprotected {
                1 => ("1 flow".to_string(), "it"),
                n => (format!("{n} flows"), "them"),
            };
            let lead = if self.rows.is_empty() { "" } else { "and " };
            writeln!(
                out,
                "{lead}{n}: nothing seen keeps {them} alive (at risk on every path; no silence \
                 longer than a timeout yet){unopened}"
            )?;
        } else if !unopened.is_empty() {
            writeln!(out, "{}", &unopened[2..])?;
        }
        writeln!(
            out,
            "safe: kept below the timeout, 12.5 % to spare for late timers · at risk: nothing \
             seen keeps silences below it so · exceeded: a longer silence was seen"
        )
    }
}

/// What keeps a flow alive, shortest period first: `keepalive 60s` (the
/// longest silence it allows, [`keepalive_silence_s`], from a local
/// socket's exact settings or the likely settings from the wire),
/// `keepalive every 45s` (the cadence of answered probes, when the capture
/// showed no idle), `keepalive, idle ?` (neither showed), `http2-ping 30s`;
/// `None` when nothing does.
fn kept_alive_by(f: &FlowReport) -> Option<String> {
    let mut ways: Vec<(f64, String)> = Vec::new();
    for s in f.local_sockets() {
        if let (Some(secs), Some(SettingsFrom::Socket)) = (s.keeps_silence_s(), s.settings_from) {
            ways.push((secs, format!("keepalive {} (socket)", duration(secs))));
        }
    }
    // (Probes that all came too soon after traffic show no timer; a side
    // whose socket has keepalive off now keeps nothing alive any more.)
    for p in f
        .keepalive
        .iter()
        .filter(|p| p.timer_shown() && !f.keepalive_off_at(p.prober))
    {
        let secs = prober_silence_s(&p.likely, p.cadence_s);
        match (p.likely.idle_s, secs) {
            (Some(_), Some(secs)) => ways.push((secs, format!("keepalive {}", duration(secs)))),
            (None, Some(every)) => {
                ways.push((every, format!("keepalive every {}", duration(every))));
            }
            // Probes, but neither their idle nor their cadence showed.
            _ => ways.push((f64::INFINITY, format!("keepalive, idle {UNKNOWN}"))),
        }
    }
    for h in &f.heartbeats {
        ways.push((
            h.period_s,
            format!("{} {}", h.protocol.as_str(), duration(h.period_s)),
        ));
    }
    ways.sort_by(|a, b| a.0.total_cmp(&b.0));
    ways.dedup_by(|a, b| a.1 == b.1);
    (!ways.is_empty()).then(|| {
        ways.into_iter()
            .map(|(_, w)| w)
            .collect::<Vec<_>>()
            .join(", ")
    })
}
