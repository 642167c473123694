//! The analysis core: decode -> flow table -> classify -> timing -> snapshot.
//!
//! **No I/O and no clock.** Frames come in as bytes with their capture
//! timestamps; time advances only with them (and with the `now` a caller
//! passes to [`Analyzer::snapshot`]). File reports, live capture and the TUI
//! all drive this same code, and tests drive it with no files or devices.
//!
//! Entry points: [`Analyzer::ingest_frame`] (bytes) or [`Analyzer::ingest`]
//! (an already decoded [`Segment`]), each returning the [`Event`]s the segment
//! decided; [`Analyzer::snapshot`] for the state of every flow at a moment.

use crate::classify::{classify, Class};
use crate::decode::{decode, LinkType};
use crate::flow::{
    Candidate, Flow, FlowKey, Side, Signature, TcpState, DUPLICATE_WINDOW, MAX_CANDIDATES,
};
use crate::prober::MIN_TIMER_GAP;
use crate::segment::{Endpoint, Segment};
use crate::time::Timestamp;
use rustc_hash::FxHashMap;

/// What a classified segment was.
#[derive(Clone, Copy, PartialEq, Eq, Debug, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A keepalive probe.
    Probe,
    /// The peer's ACK answering a probe.
    ProbeAck,
    /// The peer's RST answering a probe (it lost the connection).
    ProbeRst,
    /// The prober's RST after unanswered probes.
    GiveUp,
    /// A zero-window probe (same bytes as a keepalive; not one).
    ZeroWindowProbe,
}

impl EventKind {
    /// The word reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Probe => "probe",
            EventKind::ProbeAck => "probe_ack",
            EventKind::ProbeRst => "probe_rst",
            EventKind::GiveUp => "give_up",
            EventKind::ZeroWindowProbe => "zero_window_probe",
        }
    }
}

/// A classified segment.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Event {
    /// 1-based frame number in the input.
    pub frame: u64,
    /// Capture timestamp of that frame.
    pub ts: Timestamp,
    /// What it was.
    pub kind: EventKind,
    /// Sender.
    pub src: Endpoint,
    /// Receiver.
    pub dst: Endpoint,
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
}

/// The keepalive analyser for one capture.
#[derive(Debug)]
pub struct Analyzer {
    link: LinkType,
    flows: FxHashMap<FlowKey, Flow>,
    events: Vec<Event>,
    counters: Counters,
    first_ts: Option<Timestamp>,
    last_ts: Option<Timestamp>,
}

impl Analyzer {
    /// An analyser for frames of the given link type.
    pub fn new(link: LinkType) -> Analyzer {
        Analyzer {
            link,
            flows: FxHashMap::default(),
            events: Vec::with_capacity(16),
            counters: Counters::default(),
            first_ts: None,
            last_ts: None,
        }
    }

    /// Feeds one captured frame; returns the events it decided.
    pub fn ingest_frame(&mut self, ts: Timestamp, data: &[u8]) -> &[Event] {
        self.counters.frames += 1;
        self.first_ts.get_or_insert(ts);
        self.last_ts = Some(self.last_ts.map_or(ts, |l| l.max(ts)));
        match decode(self.link, self.counters.frames, ts, data) {
            Some(seg) => {
                self.counters.tcp_segments += 1;
                self.process(&seg);
            }
            None => {
                self.counters.undecoded += 1;
                self.events.clear();
            }
        }
        &self.events
    }

    /// Feeds one decoded segment; returns the events it decided.
    pub fn ingest(&mut self, seg: &Segment) -> &[Event] {
        self.first_ts.get_or_insert(seg.ts);
        self.last_ts = Some(self.last_ts.map_or(seg.ts, |l| l.max(seg.ts)));
        self.process(seg);
        &self.events
    }

    /// Frame counts so far.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// First and last capture timestamps seen.
    pub fn time_range(&self) -> (Option<Timestamp>, Option<Timestamp>) {
        (self.first_ts, self.last_ts)
    }

    /// The flows tracked, in no particular order.
    pub fn flows(&self) -> impl Iterator<Item = &Flow> {
        self.flows.values()
    }

    /// Number of flows tracked.
    pub fn flow_count(&self) -> usize {
        self.flows.len()
    }

    fn process(&mut self, seg: &Segment) {
        self.events.clear();
        let (key, tx_i) = FlowKey::of(seg);
        let flow = self
            .flows
            .entry(key)
            .or_insert_with(|| Flow::new(key, seg, tx_i));
        let ev = &mut self.events;
        let sig = Signature::of(seg);
        let since = seg.ts - flow.last_sent_ts[tx_i];
        if flow.sides[tx_i].last_sent == Some(sig) && since.0.abs() < DUPLICATE_WINDOW.0 {
            flow.duplicates += 1;
            self.counters.duplicates += 1;
            return;
        }
        flow.sides[tx_i].last_sent = Some(sig);
        flow.last_sent_ts[tx_i] = seg.ts;
        flow.segments += 1;
        flow.last_seen = flow.last_seen.max(seg.ts);
        let (tx, rx) = flow.split(tx_i);

        // 1. The sender's own undecided candidates, in the light of what it sends now.
        settle_own_candidates(tx, rx, seg, ev);
        // 2. The receiver's candidates, in the light of the sender's ACK or RST.
        settle_peer_candidates(rx, tx, seg, ev);
        // 3. This segment.
        let class = classify(seg, &tx.view(), &rx.view());
        let event = |kind| Event {
            frame: seg.frame,
            ts: seg.ts,
            kind,
            src: seg.src,
            dst: seg.dst,
        };
        match class {
            Class::Probe => {
                let last_rx = tx.last_rx_activity;
                tx.prober_mut().on_probe(seg.ts, seg.seq, seg.ack, last_rx);
                ev.push(event(EventKind::Probe));
            }
            Class::ZeroWindowProbe => {
                tx.zero_window_probes += 1;
                ev.push(event(EventKind::ZeroWindowProbe));
            }
            Class::Candidate => {
                let c = Candidate {
                    frame: seg.frame,
                    ts: seg.ts,
                    seq: seg.seq,
                    ack: seg.ack,
                    len: seg.payload_len as u8,
                };
                // When full, the oldest is let go: too old to vouch for.
                let _ = tx.pending.get_or_insert_with(Default::default).push(c);
                confirm_steady_candidates(tx, rx, ev);
            }
            Class::GiveUp => {
                let last_rx = tx.last_rx_activity;
                tx.prober_mut().on_give_up(seg.ts, last_rx);
                ev.push(event(EventKind::GiveUp));
            }
            Class::PeerReset => {
                rx.prober_mut().on_peer_reset(seg.ts);
                ev.push(event(EventKind::ProbeRst));
            }
            Class::Reply => {
                rx.last_rx_activity = Some(seg.ts);
                rx.prober_mut().on_answer(seg.ts);
                ev.push(event(EventKind::ProbeAck));
            }
            Class::Other => {
                if !seg.flags.rst() {
                    rx.last_rx_activity = Some(seg.ts);
                }
            }
        }

        // 4. Sequence state. Probes and candidates repeat old sequence space.
        let f = seg.flags;
        if !matches!(
            class,
            Class::Probe | Class::ZeroWindowProbe | Class::Candidate
        ) {
            let end = seg.seq + seg.seq_len();
            tx.snd_nxt = Some(tx.snd_nxt.map_or(end, |n| n.max(end)));
        }
        if f.ack() {
            rx.acked = Some(rx.acked.map_or(seg.ack, |a| a.max(seg.ack)));
        }
        if f.ack() || f.syn() {
            tx.window = Some(seg.window);
        }
        tx.fin |= f.fin();
        if seg.payload_len > 0 && matches!(class, Class::Other | Class::Reply) {
            flow.last_data = Some(seg.ts);
        }
        flow.state = next_state(flow, seg);
    }

    /// Every flow's state at `now` (normally the last capture timestamp).
    pub fn snapshot(&self, now: Timestamp) -> crate::Snapshot {
        crate::snapshot::build(self, now)
    }
}

fn next_state(flow: &Flow, seg: &Segment) -> TcpState {
    let f = seg.flags;
    match flow.state {
        _ if f.rst() => TcpState::Reset,
        TcpState::Reset => TcpState::Reset,
        _ if flow.sides[0].fin && flow.sides[1].fin => TcpState::Closed,
        _ if flow.sides[0].fin || flow.sides[1].fin => TcpState::Closing,
        TcpState::SynSent if f.ack() && !f.syn() => TcpState::Established,
        s => s,
    }
}

/// Registers up to `upto` of `side`'s candidates, oldest first, as probes sent
/// to `dst` (or as zero-window probes when the peer's window was 0).
/// The last one stays outstanding, for what follows to answer.
fn confirm(
    side: &mut Side,
    dst: Endpoint,
    peer_window_zero: bool,
    upto: usize,
    ev: &mut Vec<Event>,
) {
    let Some(pending) = side.pending.take() else {
        return;
    };
    for c in pending.as_slice().iter().take(upto) {
        let kind = if peer_window_zero {
            side.zero_window_probes += 1;
            EventKind::ZeroWindowProbe
        } else {
            let last_rx = side.last_rx_activity;
            side.prober_mut().on_probe(c.ts, c.seq, c.ack, last_rx);
            EventKind::Probe
        };
        ev.push(Event {
            frame: c.frame,
            ts: c.ts,
            kind,
            src: side.endpoint,
            dst,
        });
    }
}

/// Candidates that turned out not to be probes were ordinary segments the
/// peer received: activity for the peer's own idle clock.
fn release(side: &mut Side, peer: &mut Side) {
    if let Some(last) = side
        .pending
        .take()
        .and_then(|p| p.as_slice().last().copied())
    {
        peer.last_rx_activity = Some(peer.last_rx_activity.map_or(last.ts, |t| t.max(last.ts)));
    }
}

/// The sender's own candidates, in the light of what it sends now: a repeat
/// waits; its RST at candidate seq + 1 (a give-up) or its next segment at
/// seq + 1 after a 0-byte candidate shows they sat one below snd_nxt: probes.
fn settle_own_candidates(tx: &mut Side, rx: &mut Side, seg: &Segment, ev: &mut Vec<Event>) {
    let Some(last) = tx
        .pending
        .as_deref()
        .and_then(|p| p.as_slice().last().copied())
    else {
        return;
    };
    let f = seg.flags;
    let plain = !f.rst() && !f.fin() && !f.syn();
    if plain && seg.seq == last.seq && seg.ack == last.ack && seg.payload_len == last.len as u32 {
        return; // a repeat: classified as a candidate again
    }
    let give_up = f.rst() && seg.seq == last.seq + 1;
    let next_after_empty = !f.rst() && last.len == 0 && seg.seq == last.seq + 1;
    if give_up || next_after_empty {
        confirm(tx, rx.endpoint, rx.window == Some(0), MAX_CANDIDATES, ev);
    } else {
        release(tx, rx);
    }
}

/// The receiver's candidates, in the light of the sender's ACK or RST: an ACK
/// of candidate seq + 1 (with a D-SACK for a 1-byte one) answers a probe; an
/// RST without ACK at the candidate's ack number is a peer that lost the
/// connection (item 12). The segment itself is then classified as the reply.
fn settle_peer_candidates(rx: &mut Side, tx: &mut Side, seg: &Segment, ev: &mut Vec<Event>) {
    let Some(last) = rx
        .pending
        .as_deref()
        .and_then(|p| p.as_slice().last().copied())
    else {
        return;
    };
    let f = seg.flags;
    let acked = !f.rst()
        && f.ack()
        && seg.ack == last.seq + 1
        && (last.len == 0 || seg.sack == Some((last.seq, last.seq + 1)));
    let reset = f.rst() && !f.ack() && seg.seq == last.ack && last.len == 0;
    if acked || reset {
        confirm(
            rx,
            tx.endpoint,
            acked && seg.window == 0,
            MAX_CANDIDATES,
            ev,
        );
    } else if f.ack() || f.rst() {
        release(rx, tx);
    }
}

/// Item 18: unanswered probes repeat the same seq/ack at a steady spacing.
/// Three in a row, timer-spaced and steady (not doubling like a zero-window
/// or retransmission backoff), are probes.
fn confirm_steady_candidates(tx: &mut Side, rx: &Side, ev: &mut Vec<Event>) {
    let Some(p) = tx.pending.as_deref() else {
        return;
    };
    let c = p.as_slice();
    if c.len() < 3 {
        return;
    }
    let (min, max) = c
        .windows(2)
        .map(|w| (w[1].ts - w[0].ts).0)
        .fold((i64::MAX, 0), |(lo, hi), g| (lo.min(g), hi.max(g)));
    if min < MIN_TIMER_GAP.0 || max as f64 > 1.5 * min as f64 {
        return;
    }
    let probed = c[0].seq + 1;
    confirm(tx, rx.endpoint, rx.window == Some(0), MAX_CANDIDATES, ev);
    // The peer has acknowledged the probed byte: later repeats classify directly.
    tx.acked = Some(probed);
}
