//! The wire view and the kernel view of the same connection, side by side:
//! which local socket a flow is, and where the two disagree. Pure functions
//! over plain values; the tool reads the sockets, the core compares.

use crate::flow::TcpState;
use crate::local::{LocalSocket, SettingsFrom, SocketState};
use crate::segment::{Endpoint, Vlan};
use crate::snapshot::{FlowView, ProberView, Snapshot};
use crate::time::Timestamp;
use std::collections::{HashMap, HashSet};

/// The local sockets of a moment, found by their 4-tuple.
#[derive(Debug, Default)]
pub struct SocketIndex<'a> {
    by_ends: HashMap<(Endpoint, Endpoint), &'a LocalSocket>,
}

impl<'a> SocketIndex<'a> {
    /// Indexes `sockets` by (local, remote).
    pub fn new(sockets: &'a [LocalSocket]) -> SocketIndex<'a> {
        SocketIndex {
            by_ends: sockets.iter().map(|s| ((s.local, s.remote), s)).collect(),
        }
    }

    /// The local socket at `end` talking to `peer`, if this box holds it.
    pub fn socket_at(&self, end: Endpoint, peer: Endpoint) -> Option<&'a LocalSocket> {
        self.by_ends.get(&(end, peer)).copied()
    }

    /// The flow's local socket: side `a`'s when it is local, else side `b`'s.
    /// On loopback both ends are local: then the one with keepalive on, when
    /// only one has it (the end that keeps the connection alive), else side
    /// `a`'s ([`SocketIndex::socket_at`] gives each).
    pub fn socket_of(&self, f: &FlowView) -> Option<&'a LocalSocket> {
        self.sockets_of(f).0
    }

    /// The flow's local socket ([`SocketIndex::socket_of`]) and, when both
    /// ends are this box's, the other end's: each end's own keepalive
    /// counts, the accepting end's as much as the connecting one's.
    pub fn sockets_of(&self, f: &FlowView) -> (Option<&'a LocalSocket>, Option<&'a LocalSocket>) {
        let on = |s: &LocalSocket| s.keepalive.on == Some(true);
        match (self.socket_at(f.a, f.b), self.socket_at(f.b, f.a)) {
            (Some(a), Some(b)) if on(b) && !on(a) => (Some(b), Some(a)),
            (a, None) => (a, None),
            (None, b) => (b, None),
            (a, b) => (a, b),
        }
    }
}

/// Adds the kernel's sockets to a snapshot: every socket is kept in
/// [`Snapshot::local`], and each established-or-closing connection the wire
/// has not shown becomes a flow of its own with no segments, so a live screen
/// lists this box's connections from its first second, idle ones included.
/// Such a flow's last activity is the newer of the socket's last data sent
/// and received. Listening sockets among `sockets` make no flow; their ports
/// tell the accepting end of a loopback connection from the connecting one,
/// its side `a`.
pub fn with_sockets(snap: Snapshot, sockets: Vec<LocalSocket>) -> Snapshot {
    with_sockets_where(snap, sockets, |_| true)
}

/// [`with_sockets`], where only the sockets `shown` accepts become flows
/// of their own (those a capture filter lets through); a flow the wire
/// shows finds its socket among all of them.
pub fn with_sockets_where(
    mut snap: Snapshot,
    sockets: Vec<LocalSocket>,
    shown: impl Fn(&LocalSocket) -> bool,
) -> Snapshot {
    // This box's ends on a listening socket's port: the accepting ends.
    let listening: Vec<Endpoint> = sockets
        .iter()
        .filter(|s| s.state == SocketState::Listen)
        .map(|s| s.local)
        .collect();
    let local: HashSet<Endpoint> = sockets
        .iter()
        .filter(|s| s.state != SocketState::Listen)
        .map(|s| s.local)
        .collect();
    let accepted = |end: Endpoint| {
        local.contains(&end)
            && listening
                .iter()
                .any(|l| l.port == end.port && (l.ip == end.ip || l.ip.is_unspecified()))
    };
    let connecting = |end: Endpoint| local.contains(&end) && !accepted(end);
    // A flow whose SYN the wire missed has as side `a` the end its ports
    // suggest, or its first sender, sometimes the server (its probe, its
    // answer): the connecting end is side `a` where this box tells them
    // apart, by its end that accepted or its end that connected.
    for f in &mut snap.flows {
        if (accepted(f.a) && !accepted(f.b)) || (connecting(f.b) && !connecting(f.a)) {
            std::mem::swap(&mut f.a, &mut f.b);
        }
    }
    let seen: HashSet<(Endpoint, Endpoint)> = snap
        .flows
        .iter()
        .flat_map(|f| [(f.a, f.b), (f.b, f.a)])
        .collect();
    let now = snap.now;
    let mut unseen: Vec<FlowView> = sockets
        .iter()
        .filter(|s| !seen.contains(&(s.local, s.remote)) && shown(s))
        .filter_map(|s| {
            let state = match s.state {
                SocketState::Established => TcpState::Established,
                SocketState::SynSent | SocketState::SynRecv | SocketState::NewSynRecv => {
                    TcpState::SynSent
                }
                SocketState::FinWait1
                | SocketState::FinWait2
                | SocketState::CloseWait
                | SocketState::LastAck
                | SocketState::Closing => TcpState::Closing,
                // Nothing left to watch.
                SocketState::TimeWait | SocketState::Close | SocketState::Listen => return None,
            };
            let quiet_ms = match (s.last_data_recv_ms, s.last_data_sent_ms) {
                (Some(r), Some(t)) => Some(r.min(t)),
                (r, t) => r.or(t),
            };
            let last = quiet_ms.map(|ms| now.add_secs(-f64::from(ms) / 1e3));
            // Its last segment: data either way, or an ACK received (a
            // probe's answer: keepalive moves no data, and a connection it
            // keeps is not silent since its last data).
            let heard = [quiet_ms, s.last_ack_recv_ms]
                .into_iter()
                .flatten()
                .min()
                .map(|ms| now.add_secs(-f64::from(ms) / 1e3));
            // The connecting end is side `a`: the remote one, when this
            // end was accepted.
            let (a, b) = if accepted(s.local) && !accepted(s.remote) {
                (s.remote, s.local)
            } else {
                (s.local, s.remote)
            };
            Some(FlowView {
                a,
                b,
                vlan: Vlan::default(),
                first_seen: last.or(heard).unwrap_or(now),
                last_seen: heard.or(last).unwrap_or(now),
                last_data: last,
                state,
                segments: 0,
                partial: false,
                longest_silence_s: 0.0,
                inputs: 0,
                zero_window_probes: 0,
                fin: [false; 2],
                probers: Vec::new(),
                heartbeats: Vec::new(),
            })
        })
        .collect();
    // A connection between two local sockets is one flow, its side `a` the
    // connecting end (as a flow whose SYN was seen has it): not the end on
    // a listening socket's port, when one is.
    unseen.sort_by_key(|f| {
        let (lo, hi) = if f.a <= f.b { (f.a, f.b) } else { (f.b, f.a) };
        (lo, hi, accepted(f.a), f.a)
    });
    unseen.dedup_by_key(|f| if f.a <= f.b { (f.a, f.b) } else { (f.b, f.a) });
    snap.flows.extend(unseen);
    snap.local = sockets;
    snap
}

/// Where the kernel's and the wire's views of a side disagree.
#[derive(Clone, Debug, PartialEq)]
pub enum Disagreement {
    /// The socket has keepalive on and its keepalive timer armed, the flow has
    /// been silent longer than its idle time (plus timer slack), and no probe
    /// from it reached the wire:
    /// a capture filter, an offloaded path, or a capture in another namespace.
    ProbesMissing {
        /// The socket's TCP_KEEPIDLE, seconds.
        idle_s: u32,
        /// How long the flow has been silent on the wire, seconds.
        silent_s: f64,
    },
    /// Probes from this side on the wire, but its socket has keepalive off
    /// (another socket on the same 4-tuple, or a middlebox probing for it).
    ProbesFromSocketWithKeepaliveOff {
        /// Probes seen.
        probes: u32,
    },
    /// The socket closed (the kernel lists it no more) while the wire
    /// shows its connection open, no FIN or RST: the kernel gave up on
    /// probes that never reached the wire (dropped on the way out, the link
    /// down), or what it sent was dropped before the capture point.
    ClosedUnseen,
    /// The wire's likely setting differs from the socket's exact one.
    Setting {
        /// `idle`, `intvl` or `probes`.
        what: &'static str,
        /// The socket's value.
        socket: u32,
        /// What the wire shows.
        wire: u32,
    },
}

impl std::fmt::Display for Disagreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Disagreement::ProbesMissing { idle_s, silent_s } => write!(
                f,
                "the socket probes after {idle_s}s idle, the flow has been silent {silent_s:.0}s, \
                 and no probe reached the wire (a capture filter, an offloaded path, or another namespace?)"
            ),
            Disagreement::ProbesFromSocketWithKeepaliveOff { probes } => write!(
                f,
                "{probes} probe(s) on the wire, but the socket's keepalive is off (turned off \
                 since they were sent, or another socket on these ends probed?)"
            ),
            Disagreement::ClosedUnseen => write!(
                f,
                "the socket closed with no FIN or RST on the wire: the kernel gave up on probes \
                 that never reached it (dropped on the way out, the link down?), or what it \
                 sent was dropped before the capture point"
            ),
            Disagreement::Setting { what, socket, wire } => {
                write!(f, "{what}: socket {socket}, wire shows {wire}")
            }
        }
    }
}

/// Timer slack allowed before a missing probe counts (item 7): 12.5% + 1 s.
fn late_allowance(idle_s: u32) -> f64 {
    f64::from(idle_s) * 0.125 + 1.0
}

/// Compares one side's socket (exact settings) with what the wire showed of
/// that side (`prober`, when it probed) at `now`, in the flow `f`.
pub fn disagreements(
    f: &FlowView,
    socket: &LocalSocket,
    prober: Option<&ProberView>,
    now: Timestamp,
) -> Vec<Disagreement> {
    let mut out = Vec::new();
    if f.closed_unseen(socket) {
        out.push(Disagreement::ClosedUnseen);
    }
    let k = &socket.keepalive;
    let exact = k.from == Some(SettingsFrom::Socket);
    match (k.on, prober) {
        (Some(false), Some(p)) if exact && p.probes_sent > 0 => {
            out.push(Disagreement::ProbesFromSocketWithKeepaliveOff {
                probes: p.probes_sent,
            });
        }
        // Only while the keepalive timer is the one armed: a retransmission
        // or zero-window timer means data is in flight or queued, and
        // keepalive waits (item 1).
        (Some(true), None) if socket.keepalive_timer() => {
            if let Some(idle_s) = k.idle_s {
                let silent_s = (now - f.last_seen).as_secs_f64();
                if silent_s > f64::from(idle_s) + late_allowance(idle_s) {
                    out.push(Disagreement::ProbesMissing { idle_s, silent_s });
                }
            }
        }
        (Some(true), Some(p)) if exact => {
            let pairs = [
                ("idle", k.idle_s, p.likely.idle_s),
                ("intvl", k.intvl_s, p.likely.intvl_s),
                // (With TCP_USER_TIMEOUT set, the count it allows.)
                ("probes", k.probes_to_give_up(), p.likely.probes),
            ];
            // An interval the wire read only from answered probes' cadence
            // (no two unanswered in a row) says just that max(idle, intvl)
            // is that long (item 5): a socket whose idle is that long agrees.
            let from_cadence = p.intvl_s.is_none();
            let agrees = |what: &str, socket: u32, wire: u32| {
                socket == wire
                    || (what == "intvl"
                        && from_cadence
                        && k.idle_s.map(|i| i.max(socket)) == Some(wire))
            };
            for (what, socket, wire) in pairs {
                if let (Some(socket), Some(wire)) = (socket, wire) {
                    if !agrees(what, socket, wire) {
                        out.push(Disagreement::Setting { what, socket, wire });
                    }
                }
            }
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::TcpState;
    use crate::local::{KeepaliveSettings, KernelTimer, SocketState, TimerKind};
    use crate::prober::Outcome;
    use crate::segment::Vlan;
    use crate::settings::Settings;
    use std::net::{IpAddr, Ipv4Addr};

    fn ep(port: u16) -> Endpoint {
        Endpoint::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)), port)
    }

    fn flow(last_seen_s: f64) -> FlowView {
        FlowView {
            a: ep(40000),
            b: ep(5432),
            vlan: Vlan::default(),
            first_seen: Timestamp::from_secs_f64(0.0),
            last_seen: Timestamp::from_secs_f64(last_seen_s),
            last_data: None,
            state: TcpState::Established,
            segments: 3,
            partial: false,
            longest_silence_s: 0.0,
            inputs: 0,
            zero_window_probes: 0,
            fin: [false; 2],
            probers: Vec::new(),
            heartbeats: Vec::new(),
        }
    }

    fn socket(on: bool, idle: u32, intvl: u32, probes: u32, from: SettingsFrom) -> LocalSocket {
        LocalSocket {
            local: ep(40000),
            remote: ep(5432),
            state: SocketState::Established,
            inode: 1,
            uid: 0,
            owner: None,
            timer: KernelTimer {
                kind: if on {
                    TimerKind::Keepalive
                } else {
                    TimerKind::None
                },
                expires_ms: 0,
                probes_out: 0,
            },
            keepalive: KeepaliveSettings {
                on: Some(on),
                idle_s: Some(idle),
                intvl_s: Some(intvl),
                probes: Some(probes),
                user_timeout_ms: Some(0),
                from: Some(from),
            },
            last_data_recv_ms: None,
            last_ack_recv_ms: None,
            last_data_sent_ms: None,
            unacked: None,
        }
    }

    fn prober(sent: u32, likely: (u32, u32, u32)) -> ProberView {
        ProberView {
            endpoint: ep(40000),
            peer: ep(5432),
            probes_sent: sent,
            probes_answered: 0,
            probes_too_soon: 0,
            zero_window_probes: 0,
            probes_at_least: 1,
            idle_s: None,
            intvl_s: None,
            probes: None,
            outcome: Outcome::Probing,
            likely: Settings {
                idle_s: Some(likely.0),
                intvl_s: Some(likely.1),
                probes: Some(likely.2),
            },
            os_defaults: Vec::new(),
            cadence_s: None,
            detection_s: None,
            first_probe: None,
            last_probe: None,
            unanswered: 0,
            give_up_at: None,
            timeline: Vec::new(),
        }
    }

    /// A named case: the flow, its local socket, the wire's prober, the verdict.
    type Case = (
        &'static str,
        FlowView,
        LocalSocket,
        Option<ProberView>,
        Vec<Disagreement>,
    );

    #[test]
    fn rules() {
        let now = Timestamp::from_secs_f64(100.0);
        let cases: Vec<Case> = vec![
            (
                "on, silent past idle + slack, no probe on the wire",
                flow(10.0),
                socket(true, 60, 10, 5, SettingsFrom::Socket),
                None,
                vec![Disagreement::ProbesMissing {
                    idle_s: 60,
                    silent_s: 90.0,
                }],
            ),
            (
                "on, silent, but a zero-window timer is armed: data is queued, keepalive waits",
                flow(10.0),
                LocalSocket {
                    timer: KernelTimer {
                        kind: TimerKind::ZeroWindow,
                        expires_ms: 3_200,
                        probes_out: 0,
                    },
                    ..socket(true, 60, 10, 5, SettingsFrom::Socket)
                },
                None,
                vec![],
            ),
            (
                "on, silent but within timer slack: not yet",
                flow(35.0),
                socket(true, 60, 10, 5, SettingsFrom::Socket),
                None,
                vec![],
            ),
            (
                "off, yet probes on the wire",
                flow(90.0),
                socket(false, 7200, 75, 9, SettingsFrom::Socket),
                Some(prober(3, (60, 10, 5))),
                vec![Disagreement::ProbesFromSocketWithKeepaliveOff { probes: 3 }],
            ),
            (
                "off inferred from the timer is not contradicted by the wire",
                flow(90.0),
                socket(false, 7200, 75, 9, SettingsFrom::Timer),
                Some(prober(3, (60, 10, 5))),
                vec![],
            ),
            (
                "settings agree",
                flow(90.0),
                socket(true, 60, 10, 5, SettingsFrom::Socket),
                Some(prober(5, (60, 10, 5))),
                vec![],
            ),
            (
                "idle raised since the wire saw it: the cadence-read interval is the new idle",
                flow(90.0),
                socket(true, 6, 1, 3, SettingsFrom::Socket),
                Some(ProberView {
                    likely: Settings {
                        idle_s: Some(2),
                        intvl_s: Some(6),
                        probes: None,
                    },
                    ..prober(5, (2, 6, 3))
                }),
                vec![Disagreement::Setting {
                    what: "idle",
                    socket: 6,
                    wire: 2,
                }],
            ),
            (
                "an interval seen between unanswered probes is the interval",
                flow(90.0),
                socket(true, 6, 1, 3, SettingsFrom::Socket),
                Some(ProberView {
                    intvl_s: Some(6.0),
                    ..prober(5, (6, 6, 3))
                }),
                vec![Disagreement::Setting {
                    what: "intvl",
                    socket: 1,
                    wire: 6,
                }],
            ),
            (
                "the wire's interval differs",
                flow(90.0),
                socket(true, 60, 10, 5, SettingsFrom::Socket),
                Some(prober(5, (60, 11, 5))),
                vec![Disagreement::Setting {
                    what: "intvl",
                    socket: 10,
                    wire: 11,
                }],
            ),
            (
                "TCP_USER_TIMEOUT, not the count, decides the give-up: 5 probes in 12 s after 3 s idle, 2 s apart",
                flow(90.0),
                LocalSocket {
                    keepalive: KeepaliveSettings {
                        user_timeout_ms: Some(12_000),
                        ..socket(true, 3, 2, 2, SettingsFrom::Socket).keepalive
                    },
                    ..socket(true, 3, 2, 2, SettingsFrom::Socket)
                },
                Some(prober(5, (3, 2, 5))),
                vec![],
            ),
        ];
        for (name, f, s, p, want) in cases {
            assert_eq!(disagreements(&f, &s, p.as_ref(), now), want, "{name}");
        }
        // Closed on this box with the wire showing it open: said; closed
        // with a FIN seen: nothing to say.
        let gone = socket(true, 6, 1, 3, SettingsFrom::Socket).gone();
        assert_eq!(
            disagreements(&flow(90.0), &gone, None, now),
            vec![Disagreement::ClosedUnseen]
        );
        let closed = FlowView {
            state: TcpState::Closed,
            ..flow(90.0)
        };
        assert_eq!(disagreements(&closed, &gone, None, now), vec![]);
    }

    /// An answered prober whose next probe the wire's settings put in the
    /// past is overdue, unless its own socket's keepalive timer still runs
    /// (TCP_KEEPIDLE raised since: the kernel's timer is the fact).
    #[test]
    fn the_kernel_s_running_timer_is_no_overdue() {
        use crate::status::{state_with, State};
        let now = Timestamp::from_secs_f64(100.0);
        // Idle 2 s on the wire; its last probe, answered, 5 s ago.
        let alive = ProberView {
            outcome: Outcome::Alive,
            probes_sent: 3,
            probes_answered: 3,
            probes_too_soon: 0,
            cadence_s: Some(2.0),
            last_probe: Some(Timestamp::from_secs_f64(95.0)),
            first_probe: Some(Timestamp::from_secs_f64(91.0)),
            ..prober(3, (2, 1, 3))
        };
        let f = FlowView {
            probers: vec![alive],
            ..flow(95.0)
        };
        let running = |expires_ms| LocalSocket {
            timer: KernelTimer {
                kind: TimerKind::Keepalive,
                expires_ms,
                probes_out: 0,
            },
            ..socket(true, 6, 1, 3, SettingsFrom::Socket)
        };
        let cases = [
            ("no socket", vec![], State::Overdue),
            (
                "timer running, 3 s to go",
                vec![running(3_000)],
                State::Alive,
            ),
            // Aged to its expiry between two readings: the probe is going
            // out (a row flickered "overdue, probe 4 due" at every probe;
            // found by a live review).
            ("timer at its expiry", vec![running(0)], State::Alive),
            // Turned off since (found by a review: "overdue, probe 9.9s
            // late" beside the socket's `=off`): no probe is due.
            (
                "keepalive off",
                vec![socket(false, 6, 1, 3, SettingsFrom::Socket)],
                State::Alive,
            ),
            // The kernel lists it no more, and the wire shows no FIN or RST
            // (its probes dropped on the way out: it gave up unseen).
            ("socket gone", vec![running(0).gone()], State::Gone),
        ];
        for (name, sockets, want) in cases {
            assert_eq!(
                state_with(&f, now, &SocketIndex::new(&sockets)),
                want,
                "{name}"
            );
        }
        // Gone still when the peer's FIN came after (the row turned
        // "closing" for good; found by a live review); not when this
        // box's end sent its FIN.
        let gone = [running(0).gone()];
        for (fin, want) in [
            ([false, true], State::Gone),
            ([true, false], State::Closing),
        ] {
            let closing = FlowView {
                state: TcpState::Closing,
                fin,
                ..f.clone()
            };
            assert_eq!(
                state_with(&closing, now, &SocketIndex::new(&gone)),
                want,
                "{fin:?}"
            );
        }
    }

    #[test]
    fn sockets_the_wire_has_not_shown_become_flows() {
        let now = Timestamp::from_secs_f64(100.0);
        let snap = |flows| Snapshot {
            now,
            counters: Default::default(),
            first_ts: None,
            last_ts: None,
            flows,
            local: Vec::new(),
        };
        let idle = LocalSocket {
            last_data_recv_ms: Some(30_000),
            last_data_sent_ms: Some(20_000),
            ..socket(true, 7200, 75, 9, SettingsFrom::Socket)
        };
        // Its other end on this box too (loopback): one flow, not two.
        let peer = LocalSocket {
            local: idle.remote,
            remote: idle.local,
            ..idle.clone()
        };
        let gone = LocalSocket {
            local: ep(40001),
            state: SocketState::TimeWait,
            ..idle.clone()
        };
        let seen = LocalSocket {
            local: ep(40002),
            ..idle.clone()
        };
        let mut wire = flow(99.0);
        wire.a = ep(40002);
        let out = with_sockets(snap(vec![wire]), vec![idle, peer, gone, seen]);
        assert_eq!(out.local.len(), 4, "every socket is kept");
        assert_eq!(out.flows.len(), 2, "the wire's flow and one unseen flow");
        let new = &out.flows[1];
        assert_eq!((new.segments, new.state), (0, TcpState::Established));
        assert_eq!(
            new.last_data,
            Some(now.add_secs(-20.0)),
            "newer of sent and received"
        );
        // Its keepalive's answers, 2 s ago, are segments too: a connection
        // on an interface the capture does not see, kept alive, was
        // judged silent since its data (found by a live review).
        let kept = LocalSocket {
            last_ack_recv_ms: Some(2_000),
            last_data_recv_ms: Some(20_000),
            ..socket(true, 3, 1, 3, SettingsFrom::Socket)
        };
        let out = with_sockets(snap(vec![]), vec![kept]);
        let f = &out.flows[0];
        assert_eq!(
            (f.last_seen, f.last_data),
            (now.add_secs(-2.0), Some(now.add_secs(-20.0)))
        );
    }

    /// A loopback connection, both ends this box's: one flow whose side `a`
    /// is the connecting end, and whose socket is the end with keepalive on.
    #[test]
    fn a_loopback_connection_is_the_client_s_with_keepalive() {
        let snap = Snapshot {
            now: Timestamp::from_secs_f64(100.0),
            counters: Default::default(),
            first_ts: None,
            last_ts: None,
            flows: Vec::new(),
            local: Vec::new(),
        };
        // The server's port sorts first, so a choice by order alone would
        // make it side `a`.
        let server_end = ep(7301);
        let client_end = ep(34484);
        let client = LocalSocket {
            local: client_end,
            remote: server_end,
            ..socket(true, 60, 10, 5, SettingsFrom::Socket)
        };
        let server = LocalSocket {
            local: server_end,
            remote: client_end,
            ..socket(false, 7200, 75, 9, SettingsFrom::Socket)
        };
        let listener = LocalSocket {
            local: Endpoint::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 7301),
            remote: Endpoint::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
            state: SocketState::Listen,
            ..server.clone()
        };
        for sockets in [
            vec![server.clone(), client.clone(), listener.clone()],
            vec![listener.clone(), client.clone(), server.clone()],
        ] {
            let out = with_sockets(snap.clone(), sockets);
            assert_eq!(out.flows.len(), 1, "one flow for the two ends");
            assert_eq!((out.flows[0].a, out.flows[0].b), (client_end, server_end));
        }
        // A flow the wire shows, its SYN missed: its first sender, the
        // server, was side `a`; the listener tells the connecting end. So it
        // does where only the server is this box's.
        let remote_client = ep(50000);
        let remote_client =
            Endpoint::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 9)), remote_client.port);
        let server_of_remote = LocalSocket {
            remote: remote_client,
            ..server.clone()
        };
        // And where only the client is this box's: the end that connected.
        let remote_server = Endpoint::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 9)), 40003);
        let client_of_remote = LocalSocket {
            remote: remote_server,
            ..client.clone()
        };
        for (sockets, client_end, server_end) in [
            (
                vec![server.clone(), client.clone(), listener.clone()],
                client_end,
                server_end,
            ),
            (
                vec![server_of_remote.clone(), listener.clone()],
                remote_client,
                server_end,
            ),
            (vec![client_of_remote.clone()], client_end, remote_server),
        ] {
            let wire = FlowView {
                a: server_end,
                b: client_end,
                segments: 3,
                ..flow(99.0)
            };
            let out = with_sockets(
                Snapshot {
                    flows: vec![wire],
                    ..snap.clone()
                },
                sockets,
            );
            assert_eq!(out.flows.len(), 1);
            assert_eq!((out.flows[0].a, out.flows[0].b), (client_end, server_end));
        }
        // Not on the wire at all: the same.
        let out = with_sockets(snap.clone(), vec![server_of_remote, listener.clone()]);
        assert_eq!(out.flows.len(), 1);
        assert_eq!(
            (out.flows[0].a, out.flows[0].b),
            (remote_client, server_end)
        );
        // Whichever end is side `a` (a capture that missed the SYN names
        // the first sender), the flow's socket is the one with keepalive on.
        let both = [server.clone(), client.clone()];
        let index = SocketIndex::new(&both);
        for (a, b) in [(client_end, server_end), (server_end, client_end)] {
            let f = FlowView { a, b, ..flow(99.0) };
            assert_eq!(index.socket_of(&f).map(|s| s.local), Some(client_end));
            let (_, peer) = index.sockets_of(&f);
            assert_eq!(peer.map(|s| s.local), Some(server_end), "the other end");
        }
        // Both on, or both off: side `a`'s.
        let off = LocalSocket {
            keepalive: server.keepalive,
            ..client.clone()
        };
        let both_off = [server, off];
        let index = SocketIndex::new(&both_off);
        let f = FlowView {
            a: server_end,
            b: client_end,
            ..flow(99.0)
        };
        assert_eq!(index.socket_of(&f).map(|s| s.local), Some(server_end));
        assert_eq!(
            index.sockets_of(&f).1.map(|s| s.local),
            Some(client_end),
            "the other end"
        );
        // One end local: no other.
        let one = [client.clone()];
        let index = SocketIndex::new(&one);
        for (a, b) in [(client_end, server_end), (server_end, client_end)] {
            let f = FlowView { a, b, ..flow(99.0) };
            let (socket, peer) = index.sockets_of(&f);
            assert_eq!(socket.map(|s| s.local), Some(client_end));
            assert!(peer.is_none());
        }
    }

    /// A probing side's state counts to its socket's exact probe count
    /// when the capture has not shown one, not to Linux's default.
    #[test]
    fn a_probing_state_counts_to_the_socket_s_count() {
        use crate::status::{state_with, State};
        let mut f = flow(50.0);
        f.probers = vec![ProberView {
            unanswered: 2,
            likely: Settings {
                probes: None,
                ..prober(2, (3, 1, 0)).likely
            },
            last_probe: Some(Timestamp::from_secs_f64(50.0)),
            ..prober(2, (3, 1, 0))
        }];
        let now = Timestamp::from_secs_f64(50.5);
        let with_ut = LocalSocket {
            keepalive: KeepaliveSettings {
                user_timeout_ms: Some(8_000),
                ..socket(true, 3, 1, 9, SettingsFrom::Socket).keepalive
            },
            ..socket(true, 3, 1, 9, SettingsFrom::Socket)
        };
        let cases = [
            ("no socket", vec![], (9, true)),
            (
                "exact count",
                vec![socket(true, 3, 1, 3, SettingsFrom::Socket)],
                (3, false),
            ),
            ("a user timeout's count", vec![with_ut], (5, false)),
            (
                "inferred from the timer: unknown",
                vec![socket(true, 3, 1, 3, SettingsFrom::Timer)],
                (9, true),
            ),
        ];
        for (name, sockets, (of, assumed)) in cases {
            let st = state_with(&f, now, &SocketIndex::new(&sockets));
            assert_eq!(
                st,
                State::Probing {
                    unanswered: 2,
                    of,
                    assumed
                },
                "{name}"
            );
        }
    }

    #[test]
    fn index_finds_either_side() {
        let s = [socket(true, 60, 10, 5, SettingsFrom::Socket)];
        let idx = SocketIndex::new(&s);
        let mut f = flow(0.0);
        assert!(idx.socket_of(&f).is_some());
        std::mem::swap(&mut f.a, &mut f.b);
        assert!(idx.socket_of(&f).is_some(), "the local side is b");
        f.a = ep(1);
        assert!(idx.socket_of(&f).is_none());
    }
}
