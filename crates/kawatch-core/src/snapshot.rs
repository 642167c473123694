//! A point-in-time view of every flow and prober: what reports print and the
//! TUI draws. Plain data, derived from the analyser's state and `now`.

use crate::flow::{Flow, TcpState};
use crate::heartbeat::HeartbeatView;
use crate::local::LocalSocket;
use crate::prober::{GiveUp, Mark, Outcome, Prober};
use crate::segment::{Endpoint, Vlan};
use crate::settings::{
    likely_secs, matching_defaults, Settings, LATE_CONSTANT, LATE_FRACTION, OS_DEFAULTS,
};
use crate::time::{Epoch, Timestamp};

/// Every flow at a moment.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// The moment (capture time).
    pub now: Timestamp,
    /// Frame counts.
    pub counters: Counters,
    /// The earliest capture timestamp.
    pub first_ts: Option<Timestamp>,
    /// The latest capture timestamp.
    pub last_ts: Option<Timestamp>,
    /// Flows, by first seen; on a live screen also this box's connections
    /// the wire has not shown yet ([`FlowView::segments`] 0).
    pub flows: Vec<FlowView>,
    /// This box's TCP sockets as the kernel reported them at `now` (live
    /// captures that could read them; empty otherwise).
    pub local: Vec<LocalSocket>,
}

/// One flow.
#[derive(Clone, Debug)]
pub struct FlowView {
    /// Initiator (when its SYN was seen), else the end the ports show
    /// connected, else the first sender.
    pub a: Endpoint,
    /// The other end.
    pub b: Endpoint,
    /// VLAN tags.
    pub vlan: Vlan,
    /// The earliest segment's time.
    pub first_seen: Timestamp,
    /// The latest segment's time.
    pub last_seen: Timestamp,
    /// Last segment with payload (not a probe).
    pub last_data: Option<Timestamp>,
    /// Connection state.
    pub state: TcpState,
    /// Segments seen.
    pub segments: u64,
    /// Earlier segments of this connection were seen but left the flow table
    /// unkept ([`Limits::max_flows`], [`Limits::max_retired`]): this record
    /// starts mid-connection, and what came before it is not in it. (A flow
    /// that began before the capture is marked too, under 1 % of the time at
    /// worst: the keys of evicted flows are remembered in Bloom filters.)
    ///
    /// [`Limits::max_flows`]: crate::Limits::max_flows
    /// [`Limits::max_retired`]: crate::Limits::max_retired
    pub partial: bool,
    /// The longest gap between two of its segments, in either direction
    /// (what a middlebox's idle timer would have seen), seconds.
    pub longest_silence_s: f64,
    /// The inputs it was seen in, a bit each (several files read as one:
    /// [`crate::Analyzer::set_input`]; bit 0 otherwise; none for a local
    /// socket the wire has not shown).
    pub inputs: u32,
    /// Whether side `a`, and side `b`, sent a FIN (of the connection the
    /// flow holds now).
    pub fin: [bool; 2],
    /// Zero-window probes seen, both directions.
    pub zero_window_probes: u32,
    /// Sides that probed, by first probe.
    pub probers: Vec<ProberView>,
    /// Application heartbeats, at most one per side (side `a`'s first):
    /// small segments at a steady period. Never TCP keepalive probes (those
    /// are [`FlowView::probers`]), and a heartbeat makes no prober.
    pub heartbeats: Vec<HeartbeatView>,
}

impl FlowView {
    /// Whether this box's end `local` of the flow closed with no FIN or RST
    /// on the wire, its socket `socket` (the kernel lists it no more): the
    /// kernel gave up on probes that never reached the wire, or what it
    /// sent was dropped before the capture point. (A connection never
    /// opened is not one.)
    pub fn closed_unseen(&self, socket: &crate::LocalSocket) -> bool {
        let sent_fin = match socket.local {
            e if e == self.a => self.fin[0],
            e if e == self.b => self.fin[1],
            _ => return false,
        };
        socket.state == crate::SocketState::Close
            && !sent_fin
            && matches!(self.state, TcpState::Established | TcpState::Closing)
    }
}

/// One side that sent keepalive probes.
#[derive(Clone, Debug)]
pub struct ProberView {
    /// The prober.
    pub endpoint: Endpoint,
    /// Its peer.
    pub peer: Endpoint,
    /// Probes sent.
    pub probes_sent: u32,
    /// Probes answered.
    pub probes_answered: u32,
    /// Probes sent sooner after the last segment the prober received than
    /// a keepalive timer fires (0.9 s: idle settings are whole seconds):
    /// keepalive-shaped, but no idle timer's. When every probe came so soon
    /// the prober shows no keepalive timer ([`ProberView::timer_shown`]).
    pub probes_too_soon: u32,
    /// Zero-window probes this side sent.
    pub zero_window_probes: u32,
    /// Observed idle, seconds.
    pub idle_s: Option<f64>,
    /// Observed interval (median of unanswered spacing), seconds.
    pub intvl_s: Option<f64>,
    /// Unanswered probes seen before give-up.
    pub probes: Option<u32>,
    /// The least its probe count before a give-up can be: the longest run
    /// of probes seen each sent while the ones before it were unanswered
    /// (the kernel sends the k-th only with k - 1 out; answered or not, the
    /// run's last counts), or the give-up's run.
    pub probes_at_least: u32,
    /// Where probing stands.
    pub outcome: Outcome,
    /// Whole-second settings the observations allow.
    pub likely: Settings,
    /// OS defaults the likely settings match.
    pub os_defaults: Vec<&'static str>,
    /// Median spacing of answered probes, seconds.
    pub cadence_s: Option<f64>,
    /// Last activity received to give-up, seconds.
    pub detection_s: Option<f64>,
    /// The earliest probe's time.
    pub first_probe: Option<Timestamp>,
    /// The latest probe's time.
    pub last_probe: Option<Timestamp>,
    /// Unanswered probes outstanding now.
    pub unanswered: u32,
    /// When the prober will declare the peer dead, if probing: (time, assumed),
    /// where `assumed` means Linux defaults stood in for what was not observed.
    pub give_up_at: Option<(Timestamp, bool)>,
    /// Recent probes and answers, oldest first.
    pub timeline: Vec<(Timestamp, Mark)>,
}

impl ProberView {
    /// Whether some probe came late enough after the prober last received
    /// anything for a keepalive timer to have sent it: a prober whose every
    /// probe came sooner sent keepalive-shaped segments, no keepalive.
    pub fn timer_shown(&self) -> bool {
        self.probes_too_soon < self.probes_sent
    }
}

/// Frame and segment counts.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Counters {
    /// Frames handed in.
    pub frames: u64,
    /// Frames that decoded to a TCP segment.
    pub tcp_segments: u64,
    /// Frames that did not.
    pub undecoded: u64,
    /// Segments ignored as the same frame captured twice.
    pub duplicates: u64,
    /// Times a flow left the table because it was full
    /// ([`crate::Limits::max_flows`]). Flows with keepalives are kept whole
    /// and still listed, up to [`crate::Limits::max_retired`].
    pub evicted: u64,
    /// Flows without keepalives that timed out and are listed no more
    /// ([`crate::Analyzer::expire`]: closed ones after the linger time, open
    /// ones after the idle timeout), as a live screen lets them go.
    pub expired: u64,
    /// Flows with keepalives that left the table and could not be kept (the
    /// store of [`crate::Limits::max_retired`] flows was full): not listed,
    /// their probes in no report. A later segment of one starts a flow
    /// marked [`FlowView::partial`].
    pub keepalive_flows_lost: u64,
}

/// One flow's view; `capture_start` is the capture's earliest timestamp.
pub(crate) fn flow_view(f: &Flow, epoch: Epoch, capture_start: Option<Timestamp>) -> FlowView {
    let ai = f.a();
    let (a, b) = (&f.sides[ai], &f.sides[1 - ai]);
    let (a_ep, b_ep) = (f.endpoint(ai), f.endpoint(1 - ai));
    let mut probers: Vec<ProberView> = [(a, a_ep), (b, b_ep)]
        .into_iter()
        .filter_map(|(s, ep)| {
            let p = s.prober()?;
            let peer = if ep == a_ep { b_ep } else { a_ep };
            Some(prober_view(
                (ep, peer),
                s.zero_window_probes(),
                p,
                epoch,
                capture_start,
            ))
        })
        .collect();
    probers.sort_by_key(|p| p.first_probe);
    let heartbeats = match f.heartbeats.as_deref() {
        Some(h) => [(ai, a_ep, b_ep), (1 - ai, b_ep, a_ep)]
            .into_iter()
            .filter_map(|(i, side, peer)| h.view(i, (side, peer), epoch))
            .collect(),
        None => Vec::new(),
    };
    FlowView {
        a: a_ep,
        b: b_ep,
        vlan: f.key.vlan(),
        first_seen: epoch.time(f.first_seen),
        last_seen: epoch.time(f.last_seen),
        last_data: f.last_data().map(|t| epoch.time(t)),
        state: f.state,
        segments: f.segments,
        partial: f.partial,
        longest_silence_s: f.longest_silence.as_secs_f64(),
        inputs: f.inputs,
        fin: [a.fin(), b.fin()],
        zero_window_probes: a.zero_window_probes() + b.zero_window_probes(),
        probers,
        heartbeats,
    }
}

/// Item 5: answered probes recur every max(idle, intvl). A cadence clearly
/// beyond idle's timer slack can only be the interval.
fn intvl_from_cadence(idle_s: Option<f64>, cadence_s: Option<f64>) -> Option<f64> {
    let (idle, cadence) = (idle_s?, cadence_s?);
    (cadence > idle * (1.0 + LATE_FRACTION) + LATE_CONSTANT).then_some(cadence)
}

/// Whether a give-up's run of unanswered probes is wholly in the capture: the
/// activity before it was seen, or it began more than an interval after the
/// capture did (an earlier probe of the run would have been captured).
fn whole_run_seen(
    g: &GiveUp,
    intvl_s: Option<f64>,
    epoch: Epoch,
    capture_start: Option<Timestamp>,
) -> bool {
    if g.run_start_seen {
        return true;
    }
    match (intvl_s, capture_start) {
        (Some(intvl), Some(start)) => {
            (epoch.time(g.run_start) - start).as_secs_f64() > intvl * 1.05
        }
        _ => false,
    }
}

fn prober_view(
    (endpoint, peer): (Endpoint, Endpoint),
    zwp: u32,
    p: &Prober,
    epoch: Epoch,
    capture_start: Option<Timestamp>,
) -> ProberView {
    let idle_s = p.idle_min().map(super::time::Span::as_secs_f64);
    let intvl_s = p.intvl.median_secs();
    let cadence_s = p.cadence.median_secs();
    let probes = p.gave_up.as_ref().map(|g| g.probes);
    // Item 5: answered probes recur every max(idle, intvl), so an idle seen
    // longer than their cadence is no setting: the setting changed,
    // keepalive came on in the middle of a silence, a probe went unseen, or
    // the answers never reached the prober. No likely idle is claimed.
    let idle_fits = match (idle_s, cadence_s) {
        (Some(idle), Some(cadence)) => idle <= cadence * (1.0 + LATE_FRACTION) + LATE_CONSTANT,
        _ => true,
    };
    let likely = Settings {
        idle_s: idle_s.filter(|_| idle_fits).and_then(likely_secs),
        intvl_s: intvl_s
            .or_else(|| intvl_from_cadence(idle_s, cadence_s))
            .and_then(likely_secs),
        probes: p
            .gave_up
            .as_deref()
            .filter(|g| whole_run_seen(g, intvl_s, epoch, capture_start))
            .map(|g| g.probes),
    };
    let outcome = p.outcome();
    let give_up_at = match (outcome, p.last()) {
        // (No timer shown, none to foretell.)
        (Outcome::Probing, Some(last)) if p.too_soon() < p.sent => {
            let (_, _, linux_intvl, linux_probes) = OS_DEFAULTS[0];
            // The probe count is only seen at a give-up, which ends probing,
            // so while probing Linux's default always stands in for it (and
            // for the interval until two unanswered probes show it).
            let remaining = linux_probes.saturating_sub(p.run) + 1;
            let step = likely.intvl_s.map_or(linux_intvl as f64, f64::from);
            Some((epoch.time(last.ts).add_secs(step * remaining as f64), true))
        }
        _ => None,
    };
    ProberView {
        endpoint,
        peer,
        probes_sent: p.sent,
        probes_answered: p.answered,
        probes_too_soon: p.too_soon(),
        zero_window_probes: zwp,
        idle_s,
        intvl_s,
        probes,
        probes_at_least: p.probes_at_least(),
        outcome,
        os_defaults: matching_defaults(&likely),
        likely,
        cadence_s,
        // Observed when the give-up and the activity before it were both seen;
        // else idle + intvl x probes where all three are known.
        detection_s: p.detection().map(super::time::Span::as_secs_f64).or(
            match (idle_s, intvl_s, probes) {
                (Some(i), Some(v), Some(n)) => Some(i + v * n as f64),
                _ => None,
            },
        ),
        first_probe: p.first_probe().map(|t| epoch.time(t)),
        last_probe: p.last_probe().map(|t| epoch.time(t)),
        unanswered: if p.outstanding { p.run } else { 0 },
        give_up_at,
        timeline: p.timeline().map(|(t, m)| (epoch.time(t), m)).collect(),
    }
}
