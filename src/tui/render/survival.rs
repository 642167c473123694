//! Will a connection survive its path (issue 13)? What keeps its silences
//! short ([`Keeper`]: TCP keepalive or an application heartbeat) and the
//! verdict against a path's idle timeout, for the table's `KEPT BY` and
//! path columns and the detail view's picture.
//!
//! The wire's part is the core's ([`kawatch_core::allowed_silence_s`]); live,
//! a local socket whose keepalive was read from it (getsockopt) adds its
//! exact idle, as [`PathVerdict::of`] says. An idle inferred from the
//! kernel's timer (`≈`) is shown when nothing else is, but never counts: it
//! is an underestimate until the timer has fired.

use crate::tui::fmt;
use kawatch_core::status::State;
use kawatch_core::{
    prober_silence_s, socket_silence_s, FlowView, HeartbeatProtocol, LocalSocket, SettingsFrom,
    Timestamp,
};
use kawatch_core::{PathTimeout, PathVerdict};

/// Where a keepalive idle comes from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum IdleFrom {
    /// This box's socket, read with getsockopt: exact.
    Socket,
    /// The likely whole-second idle of a side the wire saw probe.
    Wire,
    /// How often a side's answered probes recur (the capture began
    /// mid-idle: no idle seen).
    Cadence,
    /// This box's socket, inferred from the kernel's timer: does not count.
    Timer,
    /// A side the wire saw probe, neither its idle nor its cadence shown
    /// (one probe, mid-idle): it keeps the flow alive, how often is not
    /// known, so it does not count.
    Unknown,
}

/// What keeps a connection's silences short.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(crate) enum Kind {
    /// TCP keepalive.
    Keepalive(IdleFrom),
    /// An application heartbeat.
    Heartbeat(HeartbeatProtocol),
}

/// One thing that keeps a connection's silences short, and how short.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(crate) struct Keeper {
    /// What it is.
    pub(crate) kind: Kind,
    /// The longest silence it allows, seconds: the keepalive's
    /// ([`keepalive_silence_s`]: the larger of idle and interval, or the
    /// answered probes' cadence) or the heartbeat's period.
    pub(crate) secs: f64,
}

impl Keeper {
    /// Whether it counts for the verdict (not a timer's estimate).
    pub(crate) fn counts(&self) -> bool {
        !matches!(
            self.kind,
            Kind::Keepalive(IdleFrom::Timer | IdleFrom::Unknown)
        )
    }

    /// `ka 60s`, `ka ≈60s` (from the kernel's timer), `h2 ping 30s`.
    pub(crate) fn text(&self) -> String {
        let what = match self.kind {
            Kind::Keepalive(IdleFrom::Timer) => {
                return format!("ka {}{}", crate::report::FROM_TIMER, span(self.secs));
            }
            Kind::Keepalive(IdleFrom::Unknown) => return format!("ka {}", fmt::UNKNOWN),
            Kind::Keepalive(_) => "ka",
            Kind::Heartbeat(p) => short(p),
        };
        format!("{what} {}", span(self.secs))
    }

    /// In words, for the detail view: `TCP keepalive, idle 60s read from
    /// this box's socket`.
    pub(crate) fn describe(&self) -> String {
        let t = span(self.secs);
        match self.kind {
            Kind::Keepalive(IdleFrom::Socket) => {
                format!("TCP keepalive, keeps silences to {t} (this box's socket's settings)")
            }
            Kind::Keepalive(IdleFrom::Wire) => {
                format!("TCP keepalive, keeps silences to {t} (its likely settings)")
            }
            Kind::Keepalive(IdleFrom::Cadence) => {
                format!("TCP keepalive, answered probes every {t}")
            }
            Kind::Keepalive(IdleFrom::Timer) => format!(
                "TCP keepalive, idle ≈{t} from the kernel's timer (not counted: \
                 read the socket as root)"
            ),
            Kind::Keepalive(IdleFrom::Unknown) => {
                "TCP keepalive, how often unknown: neither its idle nor the cadence of \
                 its answered probes showed (not counted)"
                    .into()
            }
            Kind::Heartbeat(p) => format!("{} heartbeat every {t}", p.as_str()),
        }
    }
}

/// A heartbeat protocol's short name: `h2 ping`, `ws ping`, `amqp hb`.
pub(crate) fn short(p: HeartbeatProtocol) -> &'static str {
    match p {
        HeartbeatProtocol::Http2Ping => "h2 ping",
        HeartbeatProtocol::WebsocketPing => "ws ping",
        HeartbeatProtocol::MqttPing => "mqtt ping",
        HeartbeatProtocol::AmqpHeartbeat => "amqp hb",
        HeartbeatProtocol::RedisPing => "redis ping",
        HeartbeatProtocol::TlsPeriodic => "tls",
        HeartbeatProtocol::SshPeriodic => "ssh",
        HeartbeatProtocol::Periodic => "periodic",
    }
}

/// Every keeper of a flow, the socket's first, then each prober's, then
/// each heartbeat's. `socket`: the flow's socket on this box, if any.
pub(crate) fn keepers(flow: &FlowView, socket: Option<&LocalSocket>) -> Vec<Keeper> {
    let ka = |from, secs| Keeper {
        kind: Kind::Keepalive(from),
        secs,
    };
    let mut out = Vec::new();
    if let Some(s) = socket {
        let k = &s.keepalive;
        if let Some(secs) = socket_silence_s(k, s.timer.kind) {
            match k.from {
                Some(SettingsFrom::Socket) => out.push(ka(IdleFrom::Socket, secs)),
                Some(SettingsFrom::Timer) => out.push(ka(IdleFrom::Timer, secs)),
                None => {}
            }
        }
    }
    // A prober whose socket here has keepalive off now (turned off since
    // it probed) keeps nothing alive any more.
    let off_now = |p: &&kawatch_core::ProberView| {
        socket.is_some_and(|s| s.local == p.endpoint && s.keepalive.off())
    };
    for p in flow.probers.iter().filter(|p| !off_now(p)) {
        let secs = prober_silence_s(&p.likely, p.cadence_s);
        match (p.likely.idle_s, secs) {
            (Some(_), Some(secs)) => out.push(ka(IdleFrom::Wire, secs)),
            (None, Some(secs)) => out.push(ka(IdleFrom::Cadence, secs)),
            // (Last among equals: it keeps nothing below any timeout.)
            (_, None) => out.push(ka(IdleFrom::Unknown, f64::INFINITY)),
        }
    }
    out.extend(flow.heartbeats.iter().map(|h| Keeper {
        kind: Kind::Heartbeat(h.protocol),
        secs: h.period_s,
    }));
    out
}

/// What keeps the flow's silences shortest: the shortest keeper that
/// counts (the first of equals), else a timer's estimate; `None`: nothing
/// seen.
pub(crate) fn keeper(flow: &FlowView, socket: Option<&LocalSocket>) -> Option<Keeper> {
    let all = keepers(flow, socket);
    let shortest = |it: &mut dyn Iterator<Item = Keeper>| {
        it.reduce(|best, k| if k.secs < best.secs { k } else { best })
    };
    shortest(&mut all.iter().copied().filter(Keeper::counts))
        .or_else(|| shortest(&mut all.iter().copied()))
}

/// The longest silence what keeps the flow allows, seconds: the core's
/// [`kawatch_core::allowed_silence_s`], or the socket's exact idle when
/// shorter. `None`: nothing keeps it.
pub(crate) fn allowed_s(flow: &FlowView, socket: Option<&LocalSocket>) -> Option<f64> {
    keeper(flow, socket).filter(Keeper::counts).map(|k| k.secs)
}

/// The longest silence seen: between two of the flow's segments, and live,
/// while it is open, since its last one (a silence under way counts as soon
/// as it is longer). A replay counts only the gaps between segments, as
/// `kawatch report` does: a file's end says nothing of what came after.
pub(crate) fn silence_s(flow: &FlowView, state: State, now: Timestamp, live: bool) -> f64 {
    let open = matches!(
        state,
        State::Alive | State::Idle | State::Active | State::Probing { .. } | State::Overdue
    );
    let current = if open && live {
        fmt::secs_between(now, flow.last_seen).max(0.0)
    } else {
        0.0
    };
    flow.longest_silence_s.max(current)
}

/// Whether the flow survives `path`: [`PathVerdict::of`] its longest
/// silence ([`silence_s`]) and what keeps it ([`allowed_s`]).
pub(crate) fn verdict(
    flow: &FlowView,
    state: State,
    now: Timestamp,
    live: bool,
    socket: Option<&LocalSocket>,
    path: &PathTimeout,
) -> PathVerdict {
    PathVerdict::of(
        silence_s(flow, state, now, live),
        allowed_s(flow, socket),
        path.timeout_s,
    )
}

/// The verdict's mark: `✓ safe`, `! at risk`, `✗ exceeded`.
pub(crate) fn mark(v: PathVerdict) -> &'static str {
    match v {
        PathVerdict::Safe => "✓ safe",
        PathVerdict::AtRisk => "! at risk",
        PathVerdict::Exceeded => "✗ exceeded",
    }
}

/// A path as a column header: its name in capitals and its timeout,
/// `AWS-NLB 350s`, `RFC5382 2h4m`.
pub(crate) fn heading(path: &PathTimeout) -> String {
    if path.name.starts_with(|c: char| c.is_ascii_digit()) {
        // A bare duration is its own name.
        path.name.clone()
    } else {
        format!("{} {}", path.name.to_uppercase(), span(path.timeout_s))
    }
}

/// A period or timeout, short ([`kawatch_core::path::duration_text`]).
pub(crate) fn span(secs: f64) -> String {
    kawatch_core::path::duration_text(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_name_the_path_and_its_timeout() {
        let h: Vec<String> = PathTimeout::defaults().iter().map(heading).collect();
        assert_eq!(
            h,
            [
                "AZURE-LB 240s",
                "AWS-NLB 350s",
                "GCP-FW 600s",
                "RFC5382 2h4m"
            ]
        );
    }

    #[test]
    fn every_protocol_has_a_short_name_of_its_own() {
        let mut names: Vec<&str> = HeartbeatProtocol::ALL.iter().map(|&p| short(p)).collect();
        assert_eq!(names[0], "h2 ping");
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), HeartbeatProtocol::ALL.len());
    }
}
