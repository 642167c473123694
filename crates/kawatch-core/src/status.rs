//! A connection's state at a moment, in words: derived from a [`FlowView`]
//! and the snapshot's clock, so states advance while no packet arrives (a
//! probe that is overdue, a countdown that runs out).

use crate::flow::TcpState;
use crate::local::{KeepaliveSettings, LocalSocket, SettingsFrom};
use crate::merge::SocketIndex;
use crate::prober::{Mark, Outcome};
use crate::settings::{likely_secs, OS_DEFAULTS};
use crate::snapshot::{FlowView, ProberView};
use crate::time::Timestamp;

/// The earliest a probing side can give up, from what the capture shows: one
/// interval after its last probe (the count may already be reached, since it
/// is only seen at the give-up), with the observed interval, or one second
/// (TCP_KEEPINTVL's least) while none has been seen. A lower bound, never an
/// estimate: Linux's defaults can put the real give-up 100 times later, and a
/// number that jumps from `~11m` to `7s` when the interval shows misleads.
pub fn earliest_give_up(p: &ProberView) -> Option<Timestamp> {
    if p.outcome != Outcome::Probing {
        return None;
    }
    let intvl = p.likely.intvl_s.map_or(1.0, f64::from);
    Some(p.last_probe?.add_secs(intvl))
}

/// Data within this many seconds makes a connection `active`.
pub const ACTIVE_SECS: f64 = 1.0;

/// What a row says about its connection.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum State {
    /// The prober gave up: it sent an RST after unanswered probes.
    Dead,
    /// This box's socket closed (the kernel lists it no more) while the
    /// wire shows no FIN or RST: the kernel gave up on probes that never
    /// reached the wire, or what it sent was dropped before the capture.
    Gone,
    /// A probe or the give-up RST was due by the observed schedule, and none
    /// was seen.
    Overdue,
    /// Unanswered probes are outstanding.
    Probing {
        /// Probes unanswered so far.
        unanswered: u32,
        /// Probes the prober sends before it gives up.
        of: u32,
        /// Whether `of` is Linux's default standing in for an unseen count.
        assumed: bool,
    },
    /// An RST ended the connection; `by_peer` when it answered a probe (the
    /// peer had lost the connection).
    Reset {
        /// The peer answered a keepalive probe with RST.
        by_peer: bool,
    },
    /// The last probe was answered and no data has moved since.
    Alive,
    /// No data for at least [`ACTIVE_SECS`].
    Idle,
    /// Data within the last [`ACTIVE_SECS`].
    Active,
    /// Only a SYN seen so far.
    Opening,
    /// One side sent FIN.
    Closing,
    /// Both sides sent FIN.
    Closed,
}

impl State {
    /// The word(s) the table shows.
    pub fn word(self) -> String {
        match self {
            State::Dead => "dead".into(),
            State::Gone => "gone".into(),
            State::Overdue => "overdue".into(),
            State::Probing {
                unanswered,
                of,
                assumed,
            } => format!(
                "probing {unanswered}/{}{of}",
                if assumed { "~" } else { "" }
            ),
            State::Reset { .. } => "reset".into(),
            State::Alive => "alive".into(),
            State::Idle => "idle".into(),
            State::Active => "active".into(),
            State::Opening => "opening".into(),
            State::Closing => "closing".into(),
            State::Closed => "closed".into(),
        }
    }

    /// Sort rank: what needs attention first.
    pub fn rank(self) -> u8 {
        match self {
            State::Dead => 0,
            State::Gone => 1,
            State::Overdue => 2,
            State::Probing { .. } => 3,
            State::Reset { by_peer: true } => 4,
            State::Alive => 5,
            State::Idle => 6,
            State::Active => 7,
            State::Opening => 8,
            State::Closing => 9,
            State::Reset { by_peer: false } => 10,
            State::Closed => 11,
        }
    }

    /// Number of distinct ranks (for per-state counts).
    pub const RANKS: usize = 12;
}

/// What is due next from a prober, by its observed schedule.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Due {
    /// When it is expected.
    pub at: Timestamp,
    /// How late a kernel timer may still fire, seconds.
    pub slack: f64,
    /// A probe (or, while probing, the probe or give-up that follows).
    pub probe: bool,
}

impl Due {
    /// Whether it is overdue at `now`.
    pub fn late(&self, now: Timestamp) -> bool {
        (now - self.at).as_secs_f64() > self.slack
    }
}

/// The prober a row speaks for: the one whose outcome matters most (dead,
/// reset, probing, alive), the first to probe on a tie.
pub fn primary(f: &FlowView) -> Option<usize> {
    let weight = |o: Outcome| match o {
        Outcome::Dead => 0,
        Outcome::Reset => 1,
        Outcome::Probing => 2,
        Outcome::Alive => 3,
    };
    (0..f.probers.len()).min_by_key(|&i| (weight(f.probers[i].outcome), i))
}

/// When the prober last heard from its peer in answer to a probe.
pub fn last_answer(p: &ProberView) -> Option<Timestamp> {
    p.timeline
        .iter()
        .rev()
        .find(|(_, m)| *m == Mark::Answer)
        .map(|(t, _)| *t)
}

/// The last keepalive exchange: the later of the last probe and its answer.
pub fn last_keepalive(p: &ProberView) -> Option<Timestamp> {
    match (p.last_probe, last_answer(p)) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// The timer slack allowed before a due probe counts as overdue: the timer
/// wheel's 12.5 % and then some, plus a second for capture jitter.
fn slack(period: f64) -> f64 {
    0.25 * period + 1.0
}

/// What the prober is expected to send next, and when; `None` when its
/// schedule is not known well enough to say.
pub fn next_due(f: &FlowView, p: &ProberView) -> Option<Due> {
    match p.outcome {
        Outcome::Probing => {
            // The next probe, or the give-up RST, one interval after the last probe.
            let intvl = p.likely.intvl_s? as f64;
            Some(Due {
                at: p.last_probe?.add_secs(intvl),
                slack: slack(intvl),
                probe: true,
            })
        }
        Outcome::Alive => {
            let idle = p.likely.idle_s.map(f64::from);
            let intvl = p.likely.intvl_s.map(f64::from);
            // Answered probes recur about every max(idle, intvl) (item 5).
            let cadence = p.cadence_s.and_then(likely_secs).map(f64::from);
            let last_ka = last_keepalive(p)?;
            if let Some(d) = f.last_data.filter(|&d| d > last_ka) {
                // Data since: the idle clock restarted then (at the latest).
                let idle = idle?;
                return Some(Due {
                    at: d.add_secs(idle),
                    slack: slack(idle),
                    probe: true,
                });
            }
            let period = [idle, intvl, cadence]
                .into_iter()
                .flatten()
                .reduce(f64::max)?;
            let from = if cadence.is_some() || intvl.is_some() {
                p.last_probe?
            } else {
                last_answer(p).unwrap_or(last_ka)
            };
            Some(Due {
                at: from.add_secs(period),
                slack: slack(period),
                probe: true,
            })
        }
        Outcome::Dead | Outcome::Reset => None,
    }
}

/// The probe count a prober gives up after: observed, else Linux's default.
pub fn probe_count(p: &ProberView) -> (u32, bool) {
    match p.likely.probes {
        Some(n) => (n, false),
        None => (OS_DEFAULTS[0].3, true),
    }
}

/// The time of last activity the row shows, and whether it is only a lower
/// bound on how quiet the connection has been: its last data; with none
/// seen, its last segment, unless keepalive or zero-window probes were all
/// it carried (they move no data: then it has been quiet since before the
/// capture showed it, at least).
pub fn last_activity(f: &FlowView) -> (Timestamp, bool) {
    match f.last_data {
        Some(d) => (d, false),
        None if !f.probers.is_empty() || f.zero_window_probes > 0 => (f.first_seen, true),
        None => (f.last_seen, false),
    }
}

fn by_recency(last: Timestamp, now: Timestamp) -> State {
    if (now - last).as_secs_f64() < ACTIVE_SECS {
        State::Active
    } else {
        State::Idle
    }
}

/// The state of a connection at `now`.
pub fn state(f: &FlowView, now: Timestamp) -> State {
    state_with(f, now, &SocketIndex::default())
}

/// [`state`], where the probing side's local socket among `local`, its
/// settings read exactly from the kernel, tells the probe count the capture
/// has not shown ([`KeepaliveSettings::probes_to_give_up`]).
pub fn state_with(f: &FlowView, now: Timestamp, local: &SocketIndex<'_>) -> State {
    let p = primary(f).map(|i| &f.probers[i]);
    // Late by what the wire showed, unless the prober's own socket has its
    // keepalive timer armed (its settings changed since, or the reading
    // aged to its expiry between two readings, the probe going out: the
    // kernel's timer is the fact, the wire's settings history), or its
    // keepalive off now (turned off since: no probe is due).
    let overdue = |p: &ProberView| {
        let socket = local.socket_at(p.endpoint, p.peer);
        next_due(f, p).is_some_and(|d| d.late(now))
            && socket.and_then(LocalSocket::next_probe_in_s).is_none()
            && !socket.is_some_and(|s| s.keepalive.off())
    };
    // This box's end closed with nothing on the wire to say so.
    let (mine, other) = local.sockets_of(f);
    let gone = [mine, other]
        .into_iter()
        .flatten()
        .any(|s| f.closed_unseen(s));
    if let Some(p) = p {
        match p.outcome {
            Outcome::Dead => return State::Dead,
            Outcome::Reset => return State::Reset { by_peer: true },
            _ if gone => return State::Gone,
            Outcome::Probing => {
                if overdue(p) {
                    return State::Overdue;
                }
                let exact = local
                    .socket_at(p.endpoint, p.peer)
                    .map(|s| &s.keepalive)
                    .filter(|k| k.from == Some(SettingsFrom::Socket))
                    .and_then(KeepaliveSettings::probes_to_give_up);
                let (of, assumed) = match (p.likely.probes, exact) {
                    (None, Some(n)) => (n, false),
                    _ => probe_count(p),
                };
                return State::Probing {
                    unanswered: p.unanswered,
                    of,
                    assumed,
                };
            }
            Outcome::Alive => {}
        }
    }
    if gone {
        return State::Gone;
    }
    match f.state {
        TcpState::Reset => return State::Reset { by_peer: false },
        TcpState::Closed => return State::Closed,
        TcpState::Closing => return State::Closing,
        TcpState::SynSent => return State::Opening,
        TcpState::Established => {}
    }
    match p {
        Some(p) => {
            if overdue(p) {
                return State::Overdue;
            }
            let last_ka = last_keepalive(p);
            match f.last_data {
                Some(d) if last_ka.is_none_or(|k| d > k) => by_recency(d, now),
                _ => State::Alive,
            }
        }
        // (Zero-window probes and their answers keep a stalled connection
        // talking, not its data moving.)
        None => by_recency(last_activity(f).0, now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::Endpoint;
    use crate::settings::Settings;

    fn probing(last: f64, intvl: Option<u32>) -> ProberView {
        let ep = Endpoint::new([198, 18, 0, 1].into(), 1);
        ProberView {
            endpoint: ep,
            peer: ep,
            probes_sent: 1,
            probes_answered: 0,
            probes_too_soon: 0,
            zero_window_probes: 0,
            probes_at_least: 1,
            idle_s: None,
            intvl_s: None,
            probes: None,
            outcome: Outcome::Probing,
            likely: Settings {
                intvl_s: intvl,
                ..Settings::default()
            },
            os_defaults: Vec::new(),
            cadence_s: None,
            detection_s: None,
            first_probe: None,
            last_probe: Some(Timestamp::from_secs_f64(last)),
            unanswered: 1,
            give_up_at: None,
            timeline: Vec::new(),
        }
    }

    /// A connection with no keepalives: active while data moves; zero-window
    /// probes (and their answers) are talk, not data, so a stalled one goes
    /// idle from its last data however busy its probes keep it; with no data
    /// seen at all, its segments stand in, unless they were such probes.
    #[test]
    fn activity_is_data_not_zero_window_probes() {
        let ep = |port| Endpoint::new([198, 18, 0, 1].into(), port);
        let t = Timestamp::from_secs_f64;
        let flow = |last_data: Option<f64>, last_seen: f64, zero_window_probes: u32| FlowView {
            a: ep(1),
            b: ep(2),
            vlan: crate::Vlan::default(),
            first_seen: t(100.0),
            last_seen: t(last_seen),
            last_data: last_data.map(t),
            state: TcpState::Established,
            segments: 10,
            partial: false,
            longest_silence_s: 0.0,
            inputs: 1,
            fin: [false; 2],
            zero_window_probes,
            probers: Vec::new(),
            heartbeats: Vec::new(),
        };
        let now = t(130.0);
        let cases = [
            (
                "data just now",
                flow(Some(129.5), 129.6, 0),
                State::Active,
                (129.5, false),
            ),
            (
                "data long ago",
                flow(Some(110.0), 110.0, 0),
                State::Idle,
                (110.0, false),
            ),
            (
                "stalled: zero-window probes",
                flow(Some(110.0), 129.5, 5),
                State::Idle,
                (110.0, false),
            ),
            (
                "only zero-window probes",
                flow(None, 129.5, 3),
                State::Idle,
                (100.0, true),
            ),
            (
                "acks only, recent",
                flow(None, 129.6, 0),
                State::Active,
                (129.6, false),
            ),
        ];
        for (name, f, want, (act, lower)) in cases {
            assert_eq!(state(&f, now), want, "{name}");
            assert_eq!(last_activity(&f), (t(act), lower), "{name}");
        }
    }

    #[test]
    fn earliest_give_up_is_a_lower_bound() {
        let at = |p: &ProberView| earliest_give_up(p).map(Timestamp::as_secs_f64);
        assert_eq!(
            at(&probing(100.0, None)),
            Some(101.0),
            "interval unseen: 1 s"
        );
        assert_eq!(at(&probing(100.0, Some(5))), Some(105.0), "one interval");
        let alive = ProberView {
            outcome: Outcome::Alive,
            ..probing(100.0, Some(5))
        };
        assert_eq!(at(&alive), None, "only while probing");
    }
}
