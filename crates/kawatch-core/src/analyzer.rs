//! The analysis core: decode -> flow table -> classify -> timing -> snapshot.
//!
//! **No I/O and no clock.** Frames come in as bytes with their capture
//! timestamps; time advances only with them (and with the `now` a caller
//! passes to [`Analyzer::snapshot`]). File reports, live capture and the TUI
//! all drive this same code, and tests drive it with no files or devices.
//!
//! Entry points: [`Analyzer::ingest_frame`] (bytes; with their wire length,
//! [`Analyzer::ingest_frame_with_len`]) or [`Analyzer::ingest`]
//! (an already decoded [`Segment`]), each returning the [`Event`]s the segment
//! decided; [`Analyzer::snapshot`] for the state of every flow at a moment.

use crate::classify::candidates::{self, Candidate, Verdict, MAX_CANDIDATES};
use crate::classify::{classify, gave_up_unheard, Class, SideView};
use crate::decode::{decode_with_len, LinkType};
use crate::event::{Event, EventKind};
use crate::flow::{Flow, FlowKey, LoneByte, RecentSegments, Side, Signature, TcpState};
use crate::heartbeat;
use crate::prober::{Prober, MIN_TIMER_GAP};
use crate::segment::{Endpoint, Segment};
use crate::snapshot::{flow_view, Counters, FlowView, Snapshot};
use crate::table::FlowTable;
use crate::time::{Epoch, Span, Tick, Timestamp};
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};

/// Bounds on the flow table.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Most flows tracked at once; when full, the flows idle longest leave
    /// (closed and reset ones first). The keys of flows that leave and are
    /// not kept whole (see `max_retired`) are remembered, the latest 8 to 16
    /// times this many when the table is full, so that a later segment of
    /// one starts a flow marked [`FlowView::partial`]: in two Bloom filters
    /// of about 32 bytes per flow in the table (2 MiB at the default), made
    /// at the first eviction. A flow in the table costs about 216 bytes
    /// (its state and the table's index), and each side that probed about
    /// 264 more (a report's; the live screen's keep a timeline, about 150
    /// more): the default of 65,536 keeps a full table of flows that all
    /// probe under 48 MiB (issue 14's budget: 96 MiB in all for a flood).
    pub max_flows: usize,
    /// Most flows with keepalives kept whole after they left the table:
    /// [`RETIRED_FLOW_BYTES`] (320 bytes) each, and about 264 more per side
    /// that probed, so about 600 bytes for a flow with one prober (128 more
    /// when its sides sent small data: its heartbeat record). They are listed,
    /// and one seen again goes back in the table and continues as if it had
    /// never left (it left while silent, so none of its segments was
    /// missed). When full, the one kept longest is dropped and counted in
    /// [`Counters::keepalive_flows_lost`]. May be 0: keep none.
    pub max_retired: usize,
    /// [`Analyzer::expire`] drops open flows idle longer than this. At least
    /// RFC 5382's 2 h 4 min, so a connection on Linux's default 2 h idle is
    /// still tracked when its first probe comes (item 16).
    pub idle_timeout: Span,
    /// [`Analyzer::expire`] drops closed and reset flows quiet for longer than this.
    pub closed_linger: Span,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_flows: 65_536,
            max_retired: 16_384,
            // 2 h 15 min: Linux's 7200 s default idle plus the timer's 12.5 % slack.
            idle_timeout: Span(8_100 * 1_000_000_000),
            closed_linger: Span(60 * 1_000_000_000),
        }
    }
}

/// The shortest idle timeout [`Limits`] may have (RFC 5382: 2 h 4 min).
pub const MIN_IDLE_TIMEOUT: Span = Span(7_440 * 1_000_000_000);

/// What a flow kept whole after it left the table costs, in bytes, besides
/// its keepalive records (one per side that probed, about 264 bytes each)
/// and its heartbeat record (120 bytes, when a side sent small data): the
/// flow's state and its entries in the store and in the store's order.
pub const RETIRED_FLOW_BYTES: usize = std::mem::size_of::<Flow>()
    + std::mem::size_of::<(FlowKey, (u64, Box<Flow>))>()
    + std::mem::size_of::<(u64, FlowKey)>();

/// Flows with keepalives that left the table, whole, until their connection
/// is seen again; the oldest leave first when the store is full.
#[derive(Debug, Default)]
struct Retired {
    /// The flows, each with the number of its retirement.
    flows: FxHashMap<FlowKey, (u64, Box<Flow>)>,
    /// Retirements, oldest first; an entry whose number differs from its
    /// flow's (or whose flow was restored) is stale and skipped.
    order: VecDeque<(u64, FlowKey)>,
    /// The next retirement's number.
    next: u64,
}

impl Retired {
    /// Takes a flow out to go back in the table.
    fn take(&mut self, key: &FlowKey) -> Option<Box<Flow>> {
        if self.flows.is_empty() {
            return None;
        }
        self.flows.remove(key).map(|(_, f)| f)
    }

    /// Keeps `flow`, at most `cap` flows in all: returns the key of the flow
    /// dropped to make room (`flow`'s own when `cap` is 0).
    fn put(&mut self, flow: Box<Flow>, cap: usize) -> Option<FlowKey> {
        if cap == 0 {
            return Some(flow.key);
        }
        let mut dropped = None;
        if self.flows.len() >= cap {
            while let Some((n, key)) = self.order.pop_front() {
                if self.flows.get(&key).is_some_and(|(m, _)| *m == n) {
                    self.flows.remove(&key);
                    dropped = Some(key);
                    break;
                }
            }
        }
        let (n, key) = (self.next, flow.key);
        self.next += 1;
        self.flows.insert(key, (n, flow));
        self.order.push_back((n, key));
        // Restored flows leave stale entries behind: when they outnumber the
        // live ones, sweep them (amortised O(1) per retirement).
        if self.order.len() > 2 * self.flows.len() + 64 {
            let flows = &self.flows;
            self.order
                .retain(|(n, key)| flows.get(key).is_some_and(|(m, _)| m == n));
        }
        dropped
    }

    fn iter(&self) -> impl Iterator<Item = &Flow> {
        self.flows.values().map(|(_, f)| &**f)
    }
}

/// The keys of flows that left the table and were not kept whole, so that a
/// later segment of one starts a flow marked partial: two Bloom filters, the
/// one filling and the one before it. A filter is made (at the first
/// eviction, then each time the filling one is full, when the older is
/// dropped) to take [`FORGOTTEN_PER_FLOW`] keys per flow in the table then,
/// or per [`FORGOTTEN_MIN_FLOWS`] if fewer: so the latest 8 to 16 x
/// `max_flows` keys are remembered when the table is full, in 24 to 48 bytes
/// per flow. A key added is never missed while remembered; a key never added
/// is reported present under 1 % of the time at worst (a flow wrongly
/// called partial: it did start mid-connection, but not after an eviction),
/// typically about once in 2,000.
#[derive(Debug, Default)]
struct Forgotten {
    /// The filling filter's bits, then the older one's; empty until made.
    bits: [Vec<u64>; 2],
    /// Keys the filling filter takes.
    cap: usize,
    /// Keys added to the filling filter.
    added: usize,
}

/// How many keys a filter of [`Forgotten`] takes, per flow in the table.
const FORGOTTEN_PER_FLOW: usize = 8;

/// A filter of [`Forgotten`] takes keys for at least this many flows.
const FORGOTTEN_MIN_FLOWS: usize = 64;

/// Bits set per key in a filter of [`Forgotten`]. With at least 12 bits a
/// key (the filter's size is rounded up to a power of two), a full filter
/// answers "present" for an absent key about 0.3 % of the time at most,
/// and the pair together 0.6 %; typically far less, as the filling filter
/// is part full.
const FORGOTTEN_HASHES: u64 = 8;

impl Forgotten {
    /// Remembers a key; `flows` (the table's size) sizes a new filter.
    fn remember(&mut self, key: &FlowKey, flows: usize) {
        if self.added >= self.cap {
            let cap = flows
                .max(FORGOTTEN_MIN_FLOWS)
                .saturating_mul(FORGOTTEN_PER_FLOW);
            // At least 12 bits a key, a power of two of them, in u64 words.
            let words = (cap.saturating_mul(12) / 64).next_power_of_two();
            let older = std::mem::replace(&mut self.bits[0], vec![0; words]);
            self.bits[1] = older;
            (self.cap, self.added) = (cap, 0);
        }
        let filling = &mut self.bits[0];
        for bit in bit_indices(key_hash(key), filling.len()) {
            filling[bit / 64] |= 1 << (bit % 64);
        }
        self.added += 1;
    }

    /// Whether the key was remembered (or, rarely, one that shares its bits).
    fn contains(&self, key: &FlowKey) -> bool {
        if self.bits[0].is_empty() {
            return false;
        }
        let h = key_hash(key);
        self.bits.iter().filter(|f| !f.is_empty()).any(|filter| {
            bit_indices(h, filter.len()).all(|bit| filter[bit / 64] & (1 << (bit % 64)) != 0)
        })
    }
}

/// The bits of a key's hash in a filter of `words` u64 words (a power of
/// two): double hashing of the hash's two halves.
fn bit_indices(h: u64, words: usize) -> impl Iterator<Item = usize> {
    let mask = (words as u64 * 64) - 1;
    let (h1, h2) = (h & 0xffff_ffff, (h >> 32) | 1);
    (0..FORGOTTEN_HASHES).map(move |i| (h1.wrapping_add(i.wrapping_mul(h2)) & mask) as usize)
}

/// A flow key's 64-bit hash (std's SipHash with fixed keys: well spread, and
/// deterministic).
fn key_hash(key: &FlowKey) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

/// The times flows' times count from ([`Tick`]s, 8 bytes, not a
/// [`Timestamp`]'s 16): the first segment's, and another for a flow first
/// seen more than 146 years from every one so far (a frame with a garbage
/// time, say), so that one such frame does not put every other flow out of
/// range. Each flow names its epoch in a byte; past [`MAX_EPOCHS`] a new
/// flow counts from the first, and its times clamp if out of its range.
#[derive(Debug, Default)]
struct Epochs(Vec<Epoch>);

/// The most epochs [`Epochs`] makes.
const MAX_EPOCHS: usize = 256;

impl Epochs {
    /// The epoch of a flow first seen at `ts`.
    fn for_new(&mut self, ts: Timestamp) -> u8 {
        if let Some(i) = self.0.iter().position(|e| e.holds(ts)) {
            return i as u8;
        }
        if self.0.len() < MAX_EPOCHS {
            self.0.push(Epoch::at(ts));
            return (self.0.len() - 1) as u8;
        }
        0
    }

    /// Epoch `i` (the default before any flow: no tick refers to it).
    #[inline]
    fn get(&self, i: u8) -> Epoch {
        self.0.get(usize::from(i)).copied().unwrap_or_default()
    }

    /// A flow's time as nanoseconds from the first epoch, to order flows
    /// of different epochs (clamped: exact within 292 years of it).
    fn order(&self, i: u8, t: Tick) -> i64 {
        let offset = self.get(0).tick(self.get(i).time(Tick(0)));
        offset.0.saturating_add(t.0)
    }
}

/// The keepalive analyser for one capture.
#[derive(Debug)]
pub struct Analyzer {
    link: LinkType,
    limits: Limits,
    flows: FlowTable,
    /// Flows with keepalives that left the table, whole.
    retired: Retired,
    /// Keys of the other flows that left the table.
    forgotten: Forgotten,
    events: Vec<Event>,
    counters: Counters,
    /// The earliest and latest capture timestamps seen.
    range: Option<(Timestamp, Timestamp)>,
    /// The times flows' times count from.
    epochs: Epochs,
    /// Whether probers keep their recent marks ([`Analyzer::keep_timelines`]).
    timelines: bool,
    /// The bit of the input frames come from now ([`Analyzer::set_input`]).
    input_bit: u32,
    /// Frames of the input not handed in ([`Analyzer::skip_frames`]).
    skipped: u64,
    /// The last segment's frame number and flow slot.
    last: (u64, u32),
    /// The segments seen lately: the same frame captured twice counts once.
    recent: RecentSegments,
}

/// Why a flow leaves the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Leaving {
    /// The table was full.
    Evicted,
    /// It timed out ([`Analyzer::expire`]).
    Expired,
}

/// [`Analyzer::last`] when the last frame was no segment.
const NO_LAST: (u64, u32) = (0, u32::MAX);

impl Analyzer {
    /// An analyser for frames of the given link type.
    pub fn new(link: LinkType) -> Analyzer {
        Analyzer::with_limits(link, Limits::default())
    }

    /// An analyser with explicit flow-table bounds (the idle timeout is raised
    /// to [`MIN_IDLE_TIMEOUT`] if set lower).
    pub fn with_limits(link: LinkType, mut limits: Limits) -> Analyzer {
        limits.max_flows = limits.max_flows.max(1);
        limits.idle_timeout = limits.idle_timeout.max(MIN_IDLE_TIMEOUT);
        Analyzer {
            link,
            limits,
            flows: FlowTable::default(),
            retired: Retired::default(),
            forgotten: Forgotten::default(),
            events: Vec::with_capacity(16),
            counters: Counters::default(),
            range: None,
            epochs: Epochs::default(),
            last: NO_LAST,
            timelines: true,
            input_bit: 1,
            skipped: 0,
            recent: RecentSegments::default(),
        }
    }

    /// Whether each prober keeps its recent probes and answers, the
    /// timeline of a detail view ([`ProberView::timeline`](crate::ProberView::timeline)):
    /// yes unless told otherwise. A report, which shows none, saves about
    /// 150 bytes a prober by saying no before the first frame.
    pub fn keep_timelines(&mut self, keep: bool) {
        self.timelines = keep;
    }

    /// Says that `n` frames of the input were left out before the next one
    /// (a filter or a time window): frame numbers count them, so an event's
    /// frame is its position in the input, as Wireshark numbers it.
    pub fn skip_frames(&mut self, n: u64) {
        self.skipped += n;
    }

    /// The number the next frame handed in will have in its input.
    pub fn next_frame_number(&self) -> u64 {
        self.counters.frames + self.skipped + 1
    }

    /// Frames from now on come from input `index` of several read as one
    /// (files merged: 0, 1, ...); each flow records which inputs it was seen
    /// in ([`FlowView::inputs`](crate::FlowView::inputs)). Inputs from the
    /// 32nd on share the last bit.
    pub fn set_input(&mut self, index: usize) {
        self.input_bit = 1 << index.min(31);
    }

    /// Feeds one whole captured frame (`data` is all it had on the wire);
    /// returns the events it decided. A frame the snaplen cut goes through
    /// [`Analyzer::ingest_frame_with_len`].
    pub fn ingest_frame(&mut self, ts: Timestamp, data: &[u8]) -> &[Event] {
        self.ingest_frame_with_len(ts, data, u32::try_from(data.len()).unwrap_or(u32::MAX))
    }

    /// Feeds one captured frame that was `wire_len` bytes on the wire, of
    /// which `data` was captured (libpcap's `len` and `caplen`); returns the
    /// events it decided. Payload lengths come from the IP header as far as
    /// the wire length allows (see [`crate::decode_with_len`]).
    pub fn ingest_frame_with_len(&mut self, ts: Timestamp, data: &[u8], wire_len: u32) -> &[Event] {
        self.ingest_link_frame(self.link, ts, data, wire_len)
    }

    /// As [`Analyzer::ingest_frame_with_len`], for a frame of link type
    /// `link` rather than the analyser's: a capture whose interfaces differ
    /// (pcapng) hands each frame with its own.
    pub fn ingest_link_frame(
        &mut self,
        link: LinkType,
        ts: Timestamp,
        data: &[u8],
        wire_len: u32,
    ) -> &[Event] {
        let seg = decode_with_len(link, self.next_frame_number(), ts, data, wire_len);
        self.ingest_decoded(ts, seg)
    }

    /// As [`Analyzer::ingest_link_frame`], for a frame decoded already
    /// (elsewhere: another thread) with [`crate::decode_with_len`]: `seg`
    /// is what it decoded to (`None`: not a TCP segment kawatch decodes),
    /// its frame number anything (it gets the frame's number here). The
    /// same frames give the same events and counts either way.
    pub fn ingest_decoded(&mut self, ts: Timestamp, seg: Option<Segment>) -> &[Event] {
        self.ingest_decoded_ref(ts, seg.as_ref())
    }

    /// As [`Analyzer::ingest_decoded`], the segment lent rather than given
    /// (read where the reading thread left it, not copied).
    pub fn ingest_decoded_ref(&mut self, ts: Timestamp, seg: Option<&Segment>) -> &[Event] {
        let number = self.next_frame_number();
        self.counters.frames += 1;
        self.saw(ts);
        match seg {
            Some(seg) => {
                self.counters.tcp_segments += 1;
                self.process(seg, number);
            }
            None => {
                self.counters.undecoded += 1;
                self.last = NO_LAST;
                self.events.clear();
            }
        }
        &self.events
    }

    /// Counts a frame that cannot be decoded at all (its link type is not one
    /// kawatch decodes) as undecoded, so no frame goes uncounted.
    pub fn ingest_undecodable(&mut self, ts: Timestamp) -> &[Event] {
        self.counters.frames += 1;
        self.counters.undecoded += 1;
        self.last = NO_LAST;
        self.saw(ts);
        self.events.clear();
        &self.events
    }

    /// Feeds one decoded segment, a frame of its own (counted as one, and
    /// as a TCP segment), numbered as the segment says (its `frame`, which
    /// its events carry); returns the events it decided.
    pub fn ingest(&mut self, seg: &Segment) -> &[Event] {
        self.counters.frames += 1;
        self.counters.tcp_segments += 1;
        self.saw(seg.ts);
        self.process(seg, seg.frame);
        &self.events
    }

    /// Widens the capture's time range to `ts`: the earliest and latest
    /// timestamps, whatever order they came in (clocks step back; merged
    /// files interleave).
    #[inline]
    fn saw(&mut self, ts: Timestamp) {
        match &mut self.range {
            Some((first, last)) => {
                if ts < *first {
                    *first = ts;
                } else if ts > *last {
                    *last = ts;
                }
            }
            None => self.range = Some((ts, ts)),
        }
    }

    /// Frame counts so far.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// The earliest and latest capture timestamps seen.
    pub fn time_range(&self) -> (Option<Timestamp>, Option<Timestamp>) {
        (self.range.map(|r| r.0), self.range.map(|r| r.1))
    }

    /// Number of flows tracked.
    pub fn flow_count(&self) -> usize {
        self.flows.len()
    }

    /// Flows in the table with a heartbeat record.
    #[cfg(test)]
    pub(crate) fn heartbeat_records(&self) -> usize {
        self.flows.iter().filter(|f| f.heartbeats.is_some()).count()
    }

    /// Puts in `out` (cleared first; in no order) the frames a later event
    /// may still name: the mid-capture candidates not decided yet, and the
    /// lone bytes held with their answers (item 21), of the flows in the
    /// table and of those kept after leaving it. Every other frame's events
    /// have all come. Reads every flow: call it now and then, not per frame.
    pub fn undecided_frames(&self, out: &mut Vec<u64>) {
        out.clear();
        for flow in self.flows.iter().chain(self.retired.iter()) {
            for side in &flow.sides {
                out.extend(side.undecided_frames());
            }
        }
    }

    /// Whether the frame last analysed is among
    /// [`Analyzer::undecided_frames`]: a later event may name it. What `-w`
    /// keeps a copy of, beside the frames named at once.
    pub fn last_frame_undecided(&self) -> bool {
        let (frame, slot) = self.last;
        self.flows.get(slot).is_some_and(|f| {
            f.sides
                .iter()
                .any(|s| s.undecided_frames().any(|n| n == frame))
        })
    }

    /// Drops closed flows quiet past the linger time and open flows idle past
    /// the idle timeout, as of `now`. Returns how many left. Live shells call
    /// this now and then; file reports need not.
    pub fn expire(&mut self, now: Timestamp) -> usize {
        let limits = self.limits;
        let epochs = &self.epochs;
        let gone: Vec<FlowKey> = self
            .flows
            .iter()
            .filter(|f| {
                let quiet = now - epochs.get(f.epoch).time(f.last_seen);
                if is_closed(f) {
                    quiet > limits.closed_linger
                } else {
                    quiet > limits.idle_timeout
                }
            })
            .map(|f| f.key)
            .collect();
        for key in &gone {
            self.retire(key, Leaving::Expired);
        }
        gone.len()
    }

    /// Makes room when the table is full: the oldest sixteenth leaves at once
    /// (closed and reset flows first, then the idle longest), so the scan
    /// costs O(1) per new flow over time.
    fn make_room(&mut self) {
        // Slots, not keys: 24 bytes a flow for the scan, not 72.
        let epochs = &self.epochs;
        let mut by_age: Vec<(bool, i64, u32)> = self
            .flows
            .iter_slots()
            .map(|(i, f)| (!is_closed(f), epochs.order(f.epoch, f.last_seen), i))
            .collect();
        let n = (by_age.len() / 16).max(1);
        if n < by_age.len() {
            by_age.select_nth_unstable_by_key(n - 1, |&(open, seen, _)| (open, seen));
        }
        for (_, _, i) in by_age.into_iter().take(n) {
            let key = self.flows.at_mut(i).key;
            self.retire(&key, Leaving::Evicted);
        }
    }

    /// A flow leaves the table. One with keepalives is kept whole (dropping
    /// the one kept longest when the store is full); the key of one that is
    /// not is remembered, to mark a later segment's flow partial.
    fn retire(&mut self, key: &FlowKey, why: Leaving) {
        let Some(flow) = self.flows.remove(key) else {
            return;
        };
        match why {
            Leaving::Evicted => self.counters.evicted += 1,
            // (One with keepalives is still listed.)
            Leaving::Expired if !flow.probed() => self.counters.expired += 1,
            Leaving::Expired => {}
        }
        // What a new filter of forgotten keys is sized by.
        let cap = self.flows.len() + 1;
        if flow.probed() {
            if let Some(lost) = self.retired.put(Box::new(flow), self.limits.max_retired) {
                self.counters.keepalive_flows_lost += 1;
                self.forgotten.remember(&lost, cap);
            }
        } else {
            self.forgotten.remember(key, cap);
        }
    }

    /// The flow of a segment whose key is not in the table: the flow kept
    /// since it left, or a new one (partial when the key's flow left
    /// unkept, unless the segment is a SYN starting a new connection).
    /// Makes room first when the table is full.
    fn admit(&mut self, key: FlowKey, seg: &Segment, tx_i: usize) -> u32 {
        // Before making room: retiring may forget this very key.
        let flow = match self.retired.take(&key) {
            Some(flow) => *flow,
            None => {
                let epoch = self.epochs.for_new(seg.ts);
                let now = self.epochs.get(epoch).tick(seg.ts);
                let mut flow = Flow::new(key, seg, (epoch, now), tx_i);
                flow.partial = !seg.flags.syn() && self.forgotten.contains(&key);
                flow
            }
        };
        if self.flows.len() >= self.limits.max_flows {
            self.make_room();
        }
        self.flows.insert(flow)
    }

    /// Processes `seg`, frame `frame` of the input (its own `frame` unread).
    fn process(&mut self, seg: &Segment, frame: u64) {
        self.events.clear();
        let (key, tx_i) = FlowKey::of(seg);
        let slot = match self.flows.find(&key) {
            Some(slot) => slot,
            None => self.admit(key, seg, tx_i),
        };
        self.last = (frame, slot);
        let flow = self.flows.at_mut(slot);
        let epoch = self.epochs.get(flow.epoch);
        let now = epoch.tick(seg.ts);
        let cx = Cx {
            epoch,
            timelines: self.timelines,
            frame,
        };
        let ev = &mut self.events;
        // (A TCP timestamp alone does not widen its window: coarse clocks
        // give two sendings tens of milliseconds apart the same one.)
        let identified = seg.ip_id != 0;
        if self
            .recent
            .is_copy(slot, tx_i, Signature::of(seg), seg.ts, identified)
        {
            self.counters.duplicates += 1;
            return;
        }
        let since_sent = flow.sides[tx_i].sent_at().map(|at| now - at);
        flow.sides[tx_i].set_sent_at(now);
        let flow_had_no_data = flow.last_data().is_none();
        flow.segments += 1;
        flow.inputs |= self.input_bit;
        flow.first_seen = flow.first_seen.min(now);
        // A SYN after the connection closed or was reset opens a new one on
        // the same 4-tuple: the time between them is no connection's
        // silence, and the new one's initiator is side `a`.
        let reopens = seg.flags.syn() && !seg.flags.ack() && is_closed(flow);
        let gap = now - flow.last_seen;
        if gap > flow.longest_silence && !reopens {
            flow.longest_silence = gap;
        }
        if reopens {
            flow.state = TcpState::SynSent;
            flow.set_a(tx_i);
            for side in &mut flow.sides {
                side.clear_fin();
            }
        }
        flow.last_seen = flow.last_seen.max(now);
        let (tx, rx) = flow.split(tx_i);

        // 1. The sender's own undecided candidates, in the light of what it sends now.
        settle_own_candidates(tx, rx, seg, cx, ev);
        // 2. The receiver's candidates, in the light of the sender's ACK or RST.
        settle_peer_candidates(rx, tx, seg, cx, ev);
        // 3. This segment.
        let class = classify(
            seg,
            &SideView {
                since_sent,
                ..tx.view(now)
            },
            &rx.view(now),
        );
        // (An RST's, only: other segments leave the prober's record unread.)
        let class = match class {
            Class::Other
                if seg.flags.rst()
                    && tx.prober().is_some_and(|p| {
                        gave_up_unheard(
                            seg,
                            p,
                            now,
                            since_sent,
                            (tx.last_rx_activity(), rx.snd_nxt()),
                        )
                    }) =>
            {
                Class::GiveUp
            }
            class => class,
        };
        // Data the classifier calls data, reaching past what the sender had
        // sent (no retransmission): what application heartbeats are made of.
        let f = seg.flags;
        let new_data = seg.payload_len > 0
            && class == Class::Other
            && !f.syn()
            && !f.rst()
            && tx.snd_nxt().is_none_or(|n| n < seg.seq + seg.payload_len);
        let event = |kind| Event {
            frame,
            ts: seg.ts,
            kind,
            src: seg.src,
            dst: seg.dst,
        };
        match class {
            Class::Probe => {
                confirm_lone_byte(tx, seg, cx, ev);
                let one_byte = seg.payload_len == 1;
                let last_rx = heard_since_answer(tx, rx, seg).or(idle_clock(tx, rx, one_byte));
                // Data of the peer's that the probe does not acknowledge had
                // not reached the prober when it sent it (it crossed the
                // probe, or was lost past the capture point): a probe soon
                // after it is no sign of a timer too quick.
                let crossed = rx.snd_nxt().is_some_and(|n| n > seg.ack);
                let soon = !crossed && too_soon(now, last_rx);
                tx.update_prober(cx.timelines, |p| {
                    p.one_byte = one_byte;
                    p.on_probe(now, seg.seq, seg.ack, last_rx);
                    if soon {
                        p.note_too_soon();
                    }
                });
                if one_byte {
                    one_byte_probe_received(rx, cx);
                }
                ev.push(event(EventKind::Probe));
            }
            Class::ZeroWindowProbe => {
                tx.count_zero_window_probe();
                ev.push(event(EventKind::ZeroWindowProbe));
            }
            Class::Candidate => {
                let c = Candidate {
                    frame,
                    ts: seg.ts,
                    seq: seg.seq,
                    ack: seg.ack,
                    len: seg.payload_len as u8,
                };
                // When full, the oldest is let go: too old to vouch for.
                let _ = tx.pending_mut().push(c);
                confirm_steady_candidates(tx, rx, seg, cx, ev);
            }
            Class::GiveUp => {
                let last_rx = idle_clock(tx, rx, tx.prober().is_some_and(|p| p.one_byte));
                tx.update_prober(cx.timelines, |p| p.on_give_up(now, last_rx));
                ev.push(event(EventKind::GiveUp));
            }
            Class::PeerReset => {
                rx.update_prober(cx.timelines, |p| p.on_peer_reset(now));
                ev.push(event(EventKind::ProbeRst));
            }
            Class::Reply => {
                rx.set_last_rx_activity(now);
                rx.update_prober(cx.timelines, |p| p.on_answer(now));
                ev.push(event(EventKind::ProbeAck));
            }
            Class::Other | Class::Retransmission => {
                if !seg.flags.rst() {
                    rx.set_last_rx_activity(now);
                    // (Activity matters to a prober only after a probe.)
                    if rx.outstanding() {
                        rx.update_prober(cx.timelines, Prober::on_activity);
                    }
                }
            }
        }

        // A byte resent too soon starts a run of retransmissions, each copy
        // remembered with its gap: the run lasts while the copies follow as
        // a backing-off timer would, until the sender shows the
        // acknowledgment arrived (new data, an empty probe, a new
        // connection), or the peer acknowledges more (below).
        if class == Class::Retransmission {
            if seg.payload_len == 1 {
                tx.set_retransmitting(since_sent);
            }
        } else if seg.payload_len > 0 || class == Class::Probe || f.syn() {
            tx.set_retransmitting(None);
        }

        // A lone byte waits for its repeat; anything else the sender sends
        // with data shows it was data.
        if class != Class::Probe && seg.payload_len > 0 {
            tx.take_lone_byte();
        }

        // 4. Sequence state. Probes and candidates repeat old sequence space.
        if f.syn() {
            // A new connection starts on this 4-tuple: this side's numbers
            // start again, and its SYN waits for the peer's (item 19).
            tx.set_snd_nxt(Some(seg.seq + seg.seq_len()));
            tx.set_acked(None);
            tx.set_syn_pending((!f.ack()).then_some(seg.seq));
            if f.ack() {
                rx.set_syn_pending(None);
            }
        } else if !matches!(
            class,
            Class::Probe | Class::ZeroWindowProbe | Class::Candidate
        ) {
            let end = seg.seq + seg.seq_len();
            tx.set_snd_nxt(Some(tx.snd_nxt().map_or(end, |n| n.max(end))));
        }
        if !f.syn() && !f.rst() && f.ack() {
            if rx.syn_pending().is_some_and(|isn| seg.ack == isn + 1) {
                rx.set_syn_pending(None);
            }
            // The SYN's sender acknowledging the peer: synchronised.
            if tx.syn_pending().is_some() && rx.snd_nxt().is_some_and(|n| seg.ack == n) {
                tx.set_syn_pending(None);
            }
        }
        if f.ack() {
            let acked = rx.acked().map_or(seg.ack, |a| a.max(seg.ack));
            if rx.acked() != Some(acked) {
                rx.set_retransmitting(None);
            }
            rx.set_acked(Some(acked));
        }
        if f.ack() || f.syn() {
            tx.set_window(seg.window);
        }
        if f.fin() {
            tx.set_fin();
        }
        if seg.payload_len > 0
            && matches!(class, Class::Other | Class::Reply | Class::Retransmission)
        {
            flow.set_last_data(now);
        }
        flow.state = next_state(flow, seg);

        // 5. Application heartbeats: small new data only makes a record;
        // larger data ends the runs of one that exists. Never a probe.
        if new_data {
            let open = flow.beats_open();
            let open = heartbeat::on_data(
                &mut flow.heartbeats,
                open,
                (tx_i, now),
                seg.head.as_bytes(),
                seg.payload_len,
                flow_had_no_data,
            );
            flow.set_beats_open(open);
        }
        debug_assert_eq!(
            flow.beats_open(),
            flow.heartbeats.as_ref().is_some_and(|h| h.runs_going()),
            "the flow's bit disagrees with its heartbeat record after frame {frame}"
        );
        debug_assert!(
            flow.sides.iter().all(Side::mirrors_cold),
            "a side's bits disagree with its cold part after frame {frame}"
        );
    }

    /// Every flow's state at `now` (normally the last capture timestamp).
    pub fn snapshot(&self, now: Timestamp) -> Snapshot {
        let (first_ts, last_ts) = self.time_range();
        Snapshot {
            now,
            counters: self.counters(),
            first_ts,
            last_ts,
            flows: self.flow_views().collect(),
            local: Vec::new(),
        }
    }

    /// Every flow's view in report order (first seen, then endpoints), each
    /// built only when the iterator reaches it: a report streams them without
    /// holding them all.
    pub fn flow_views(&self) -> impl Iterator<Item = FlowView> + '_ {
        self.report_order().into_views()
    }

    /// Every flow in report order (as [`Analyzer::flow_views`]), its view
    /// built when asked for by position: a report written on several
    /// threads has each build the views of the flows it writes.
    pub fn report_order(&self) -> ReportOrder<'_> {
        let epochs = &self.epochs;
        let mut flows: Vec<&Flow> = self.flows.iter().chain(self.retired.iter()).collect();
        flows.sort_unstable_by_key(|f| {
            let (a, b) = (f.endpoint(f.a()), f.endpoint(1 - f.a()));
            (epochs.get(f.epoch).time(f.first_seen), a, b, f.key.vlan())
        });
        ReportOrder {
            flows,
            epochs,
            first_ts: self.time_range().0,
        }
    }
}

/// An analyser's flows in report order ([`Analyzer::report_order`]), each
/// one's [`FlowView`] built on demand, on any thread.
#[derive(Debug)]
pub struct ReportOrder<'a> {
    flows: Vec<&'a Flow>,
    epochs: &'a Epochs,
    first_ts: Option<Timestamp>,
}

impl<'a> ReportOrder<'a> {
    /// Flows.
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// The view of the `i`th flow in report order, or `None` past the last.
    pub fn view(&self, i: usize) -> Option<FlowView> {
        let f = *self.flows.get(i)?;
        Some(flow_view(f, self.epochs.get(f.epoch), self.first_ts))
    }

    /// Every flow's view, in order, each built when reached.
    pub fn into_views(self) -> impl Iterator<Item = FlowView> + 'a {
        let (epochs, first_ts) = (self.epochs, self.first_ts);
        self.flows
            .into_iter()
            .map(move |f| flow_view(f, epochs.get(f.epoch), first_ts))
    }
}

/// What the steps of a segment's processing need beside the segment: the
/// analyser's epoch for its flow, whether probers keep timelines, and the
/// segment's frame number.
#[derive(Clone, Copy, Debug)]
struct Cx {
    epoch: Epoch,
    timelines: bool,
    frame: u64,
}

fn is_closed(f: &Flow) -> bool {
    matches!(f.state, TcpState::Closed | TcpState::Reset)
}

fn next_state(flow: &Flow, seg: &Segment) -> TcpState {
    let f = seg.flags;
    match flow.state {
        _ if f.rst() => TcpState::Reset,
        TcpState::Reset => TcpState::Reset,
        _ if flow.sides[0].fin() && flow.sides[1].fin() => TcpState::Closed,
        _ if flow.sides[0].fin() || flow.sides[1].fin() => TcpState::Closing,
        TcpState::SynSent if f.ack() && !f.syn() => TcpState::Established,
        s => s,
    }
}

/// Registers up to `upto` of `side`'s candidates, oldest first, as probes sent
/// to `dst` (or as zero-window probes when the peer's window was 0).
/// The last one stays outstanding, for what follows to answer.
fn confirm(
    side: &mut Side,
    peer: &mut Side,
    (src, dst): (Endpoint, Endpoint),
    peer_window_zero: bool,
    upto: usize,
    cx: Cx,
    ev: &mut Vec<Event>,
) {
    let Some(pending) = side.take_pending() else {
        return;
    };
    for c in pending.as_slice().iter().take(upto) {
        let kind = if peer_window_zero {
            side.count_zero_window_probe();
            EventKind::ZeroWindowProbe
        } else {
            let one_byte = c.len == 1;
            let last_rx = idle_clock(side, peer, one_byte);
            side.update_prober(cx.timelines, |p| {
                p.one_byte = one_byte;
                let at = cx.epoch.tick(c.ts);
                p.on_probe(at, c.seq, c.ack, last_rx);
                if too_soon(at, last_rx) {
                    p.note_too_soon();
                }
            });
            if one_byte {
                one_byte_probe_received(peer, cx);
            }
            EventKind::Probe
        };
        ev.push(Event {
            frame: c.frame,
            ts: c.ts,
            kind,
            src,
            dst,
        });
    }
}

/// Whether a probe sent at `at` came sooner after the last activity its
/// prober received (`last_rx`) than a keepalive timer fires. (A gap that
/// runs backwards says nothing, as for the classifier.)
fn too_soon(at: Tick, last_rx: Option<Tick>) -> bool {
    last_rx.is_some_and(|rx| rx <= at && at - rx < MIN_TIMER_GAP)
}

/// The last segment `side` received that restarted its keepalive idle
/// clock, for a side whose own probes carry a byte or not (`one_byte`).
/// An empty probe received never does (item 6: it is out of window). A
/// 1-byte probe's byte ends at the receiver's next expected sequence
/// number: Linux processes its ACK (`tcp_ack` sets `rcv_tstamp`), and BSD
/// and macOS restart the clock on any segment. Measured on Linux 6.18: a
/// prober's next probe came a whole idle after a 1-byte probe it received,
/// and on time after an empty one. A stack that probes with a byte itself
/// (Windows) does not: its probes were seen keeping their spacing 16 ms
/// after the peer's.
fn idle_clock(side: &Side, peer: &Side, one_byte: bool) -> Option<Tick> {
    let rx = side.last_rx_activity();
    if one_byte {
        return rx;
    }
    let peer_probe = peer
        .prober()
        .filter(|p| p.one_byte)
        .and_then(Prober::last_probe);
    match (rx, peer_probe) {
        (Some(r), Some(p)) => Some(r.max(p)),
        (r, p) => r.or(p),
    }
}

/// When `seg`, a probe of `side`'s, shows that nothing `peer` sent since
/// `side`'s last answer reached it: the last answer's time. A probe
/// acknowledges all its sender received, so the peer's data past its
/// acknowledgment had not arrived; with the acknowledgment where the
/// previous probe's was, the prober heard nothing since that probe but
/// (perhaps) its answer. Seen with a Redis client whose requests, resent,
/// were lost past the capture point with the answers to the server's
/// probes: the server's probes kept their interval and it gave up.
fn heard_since_answer(side: &Side, peer: &Side, seg: &Segment) -> Option<Tick> {
    let p = side.prober()?;
    let answer = p.last_answer()?;
    let unheard = peer.snd_nxt().is_some_and(|n| n > seg.ack);
    (unheard && p.last()?.ack == seg.ack && side.last_rx_activity() > Some(answer))
        .then_some(answer)
}

/// A 1-byte probe reached `rx`: a stack that restarts its idle clock on
/// it ([`idle_clock`]) also starts its probe count again (`tcp_ack`:
/// `probes_out = 0`), as any segment received does.
fn one_byte_probe_received(rx: &mut Side, cx: Cx) {
    if rx.outstanding() && rx.prober().is_some_and(|p| !p.one_byte) {
        rx.update_prober(cx.timelines, Prober::on_activity);
    }
}

/// Candidates that turned out not to be probes were ordinary segments the
/// peer received: activity for the peer's own idle clock.
fn release(side: &mut Side, peer: &mut Side, cx: Cx) {
    if let Some(last) = side.last_candidate() {
        side.take_pending();
        let at = cx.epoch.tick(last.ts);
        peer.set_last_rx_activity(peer.last_rx_activity().map_or(at, |t| t.max(at)));
    }
}

/// The sender's own candidates, in the light of what it sends now.
fn settle_own_candidates(tx: &mut Side, rx: &mut Side, seg: &Segment, cx: Cx, ev: &mut Vec<Event>) {
    let Some(pending) = tx.pending() else {
        return;
    };
    match candidates::by_own_next(pending.as_slice(), seg, rx.window()) {
        Verdict::Wait => {}
        Verdict::Probes { zero_window } => {
            confirm(
                tx,
                rx,
                (seg.src, seg.dst),
                zero_window,
                MAX_CANDIDATES,
                cx,
                ev,
            );
        }
        Verdict::NotProbes | Verdict::LoneByte => release(tx, rx, cx),
    }
}

/// The receiver's candidates, in the light of the sender's ACK or RST. When
/// they are probes, the segment itself is then classified as the reply.
fn settle_peer_candidates(
    rx: &mut Side,
    tx: &mut Side,
    seg: &Segment,
    cx: Cx,
    ev: &mut Vec<Event>,
) {
    let Some(pending) = rx.pending() else {
        return;
    };
    match candidates::by_peer_answer(pending.as_slice(), seg) {
        Verdict::Wait => {}
        Verdict::Probes { zero_window } => {
            confirm(
                rx,
                tx,
                (seg.dst, seg.src),
                zero_window,
                MAX_CANDIDATES,
                cx,
                ev,
            );
        }
        Verdict::LoneByte => {
            if let Some(cand) = rx.last_candidate() {
                rx.set_lone_byte(LoneByte {
                    cand,
                    answer: (cx.frame, seg.ts),
                });
            }
            release(rx, tx, cx);
        }
        Verdict::NotProbes => release(rx, tx, cx),
    }
}

/// Item 21: a lone byte the peer acknowledged as data proves to have been a
/// 1-byte probe when the same byte comes again as a probe, at a timer's
/// spacing: it is registered, with its answer, before the probe that proves it.
fn confirm_lone_byte(tx: &mut Side, seg: &Segment, cx: Cx, ev: &mut Vec<Event>) {
    let Some(lone) = tx.take_lone_byte() else {
        return;
    };
    let c = lone.cand;
    let same = seg.seq == c.seq && seg.payload_len == 1 && c.len == 1;
    if !same || !candidates::timer_spaced(&[c, Candidate { ts: seg.ts, ..c }]) {
        return;
    }
    tx.update_prober(cx.timelines, |p| {
        p.one_byte = true;
        p.on_probe(cx.epoch.tick(c.ts), c.seq, c.ack, None);
        p.on_answer(cx.epoch.tick(lone.answer.1));
    });
    ev.push(Event {
        frame: c.frame,
        ts: c.ts,
        kind: EventKind::Probe,
        src: seg.src,
        dst: seg.dst,
    });
    ev.push(Event {
        frame: lone.answer.0,
        ts: lone.answer.1,
        kind: EventKind::ProbeAck,
        src: seg.dst,
        dst: seg.src,
    });
}

/// Candidates repeating at a steady, timer-like spacing are probes.
fn confirm_steady_candidates(
    tx: &mut Side,
    rx: &mut Side,
    seg: &Segment,
    cx: Cx,
    ev: &mut Vec<Event>,
) {
    let Some(p) = tx.pending() else {
        return;
    };
    if !candidates::steady(p.as_slice()) {
        return;
    }
    let probed = p.as_slice()[0].seq + 1;
    let peer_window_zero = rx.window() == Some(0);
    confirm(
        tx,
        rx,
        (seg.src, seg.dst),
        peer_window_zero,
        MAX_CANDIDATES,
        cx,
        ev,
    );
    // The peer has acknowledged the probed byte: later repeats classify directly.
    tx.set_acked(Some(probed));
}

#[cfg(test)]
mod tests {
    //! Scenario tests of the core, one per KEEPALIVE-FACTS item where the
    //! item is about what the wire shows.
    use super::*;
    use crate::segment::{PayloadHead, TcpFlags, Vlan};
    use crate::seq::SeqNumber;
    use crate::{Mark, Outcome};

    const A: u8 = TcpFlags::ACK;
    const S: u8 = TcpFlags::SYN;
    const R: u8 = TcpFlags::RST;
    const F: u8 = TcpFlags::FIN;

    /// A two-party script: `c` (client, 198.18.0.1:40000) and `s` (server, 198.18.0.2:5000).
    struct Wire {
        an: Analyzer,
        frame: u64,
        events: Vec<(u64, EventKind)>,
    }

    /// Who sends.
    #[derive(Clone, Copy)]
    enum By {
        C,
        S,
    }

    impl Wire {
        fn new() -> Wire {
            Wire {
                an: Analyzer::new(LinkType::Ethernet),
                frame: 0,
                events: Vec::new(),
            }
        }

        #[allow(clippy::too_many_arguments)]
        fn send(
            &mut self,
            at: f64,
            by: By,
            flags: u8,
            seq: u32,
            ack: u32,
            len: u32,
            window: u16,
        ) -> &mut Self {
            self.frame += 1;
            let seg = Segment {
                frame: self.frame,
                window,
                ..seg_at(at, by, flags, seq, ack, len)
            };
            let evs: Vec<_> = self
                .an
                .ingest(&seg)
                .iter()
                .map(|e| (e.frame, e.kind))
                .collect();
            self.events.extend(evs);
            self
        }

        /// Handshake and one exchange: client next seq 101, server next seq 501, at t = 0.
        fn established(&mut self) -> &mut Self {
            self.send(0.0, By::C, S, 100, 0, 0, 1000)
                .send(0.0, By::S, S | A, 500, 101, 0, 1000)
                .send(0.0, By::C, A, 101, 501, 0, 1000)
        }

        fn prober(&self, port: u16) -> crate::ProberView {
            let snap = self.an.snapshot(Timestamp::from_secs_f64(2_000_000.0));
            snap.flows
                .iter()
                .flat_map(|f| f.probers.iter())
                .find(|p| p.endpoint.port == port)
                .cloned()
                .unwrap_or_else(|| panic!("no prober on port {port}; events {:?}", self.events))
        }

        fn probers(&self) -> usize {
            let snap = self.an.snapshot(Timestamp::default());
            snap.flows.iter().map(|f| f.probers.len()).sum()
        }

        fn kinds(&self) -> Vec<(u64, EventKind)> {
            let mut v = self.events.clone();
            v.sort_by_key(|e| e.0);
            v
        }
    }

    /// Item 4's wire: idle 2, intvl 1, cnt 3, the peer silent; the client
    /// gives up with an RST.
    fn silent_peer_until_give_up(w: &mut Wire) {
        w.established()
            .send(2.00, By::C, A, 100, 501, 0, 1000)
            .send(3.03, By::C, A, 100, 501, 0, 1000)
            .send(4.06, By::C, A, 100, 501, 0, 1000)
            .send(5.08, By::C, R | A, 101, 501, 0, 0);
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-6)
    }

    /// A report keeps no prober timelines (`keep_timelines(false)`); the
    /// screen does. Nothing else may differ: same events, same numbers.
    #[test]
    fn timelines_are_kept_unless_told_not_and_change_nothing_else() {
        let script = |w: &mut Wire| {
            w.established()
                // The client's probes answered twice, then unanswered to a give-up.
                .send(2.00, By::C, A, 100, 501, 0, 1000)
                .send(2.01, By::S, A, 501, 101, 0, 1000)
                .send(4.02, By::C, A, 100, 501, 0, 1000)
                .send(4.03, By::S, A, 501, 101, 0, 1000)
                .send(6.04, By::C, A, 100, 501, 0, 1000)
                .send(7.05, By::C, A, 100, 501, 0, 1000)
                .send(8.06, By::C, R | A, 101, 501, 0, 0);
        };
        let (mut kept, mut not) = (Wire::new(), Wire::new());
        not.an.keep_timelines(false);
        script(&mut kept);
        script(&mut not);
        assert_eq!(kept.kinds(), not.kinds());
        let now = Timestamp::from_secs_f64(2_000_000.0);
        let mut with = kept.an.snapshot(now);
        let without = not.an.snapshot(now);
        let marks: Vec<Mark> = with.flows[0].probers[0]
            .timeline
            .iter()
            .map(|m| m.1)
            .collect();
        use Mark::{Answer, GiveUp, Probe};
        assert_eq!(
            marks,
            [Probe, Answer, Probe, Answer, Probe, Probe, GiveUp],
            "the screen's timeline"
        );
        assert!(without.flows[0].probers[0].timeline.is_empty());
        with.flows[0].probers[0].timeline.clear();
        assert_eq!(format!("{with:?}"), format!("{without:?}"));
    }

    /// A frame with a garbage time (a corrupt pcapng block, 10^11 years
    /// off) seen first puts no other flow out of its times' range: the
    /// capture's own flow reads as it does without it.
    #[test]
    fn a_garbage_time_first_puts_no_other_flow_out_of_range() {
        let garbage_at = Timestamp::from_parts(i64::MAX / 4, 7);
        let garbage = Segment {
            ts: garbage_at,
            src: Endpoint::new([198, 18, 0, 9].into(), 40009),
            ..seg_at(0.0, By::C, A, 1, 1, 0)
        };
        let (mut clean, mut dirty) = (Wire::new(), Wire::new());
        silent_peer_until_give_up(&mut clean);
        dirty.an.ingest(&garbage);
        silent_peer_until_give_up(&mut dirty);
        assert_eq!(clean.kinds(), dirty.kinds());
        let now = Timestamp::from_secs_f64(2_000_000.0);
        let (a, b) = (clean.an.snapshot(now), dirty.an.snapshot(now));
        let own = |s: &Snapshot| {
            let f = s.flows.iter().find(|f| f.a.port == 40000).cloned();
            format!("{f:?}")
        };
        assert_eq!(own(&a), own(&b));
        let g = b.flows.iter().find(|f| f.a.port == 40009).unwrap();
        assert_eq!((g.first_seen, g.last_seen), (garbage_at, garbage_at));
    }

    #[test]
    fn item_4_silent_peer_until_give_up() {
        let mut w = Wire::new();
        silent_peer_until_give_up(&mut w);
        let p = w.prober(40000);
        assert_eq!(p.outcome, Outcome::Dead);
        assert_eq!(
            (p.probes_sent, p.probes_answered, p.probes),
            (3, 0, Some(3))
        );
        assert!(close(p.idle_s, 2.0), "{:?}", p.idle_s);
        assert!(close(p.intvl_s, 1.03), "{:?}", p.intvl_s);
        assert!(close(p.detection_s, 5.08));
        assert_eq!(
            (p.likely.idle_s, p.likely.intvl_s, p.likely.probes),
            (Some(2), Some(1), Some(3))
        );
        assert_eq!(w.kinds().last(), Some(&(7, EventKind::GiveUp)));
    }

    #[test]
    fn item_5_answered_probes_recur_at_max_idle_intvl() {
        let mut w = Wire::new();
        w.established();
        for k in 0..3 {
            let t = 2.0 + 3.07 * k as f64;
            w.send(t, By::C, A, 100, 501, 0, 1000)
                .send(t + 0.001, By::S, A, 501, 101, 0, 1000);
        }
        let p = w.prober(40000);
        assert_eq!((p.outcome, p.probes_answered), (Outcome::Alive, 3));
        assert_eq!(p.intvl_s, None, "answered cadence is not the interval");
        assert!(close(p.cadence_s, 3.07));
        assert!(close(p.idle_s, 2.0));
        assert_eq!(
            p.likely.intvl_s,
            Some(3),
            "a cadence beyond idle's slack is the interval"
        );
    }

    #[test]
    fn item_2_own_sends_do_not_reset_idle() {
        let mut w = Wire::new();
        w.established()
            .send(1.0, By::S, A, 501, 101, 10, 1000) // data to the prober
            .send(1.2, By::C, A, 101, 511, 0, 1000) // the prober's delayed ACK
            .send(3.0, By::C, A, 100, 511, 0, 1000); // probe: idle counts from 1.0
        assert!(close(w.prober(40000).idle_s, 2.0));
    }

    #[test]
    fn item_6_both_sides_probe_and_a_probe_is_no_activity() {
        let mut w = Wire::new();
        w.established()
            .send(2.0, By::S, A, 500, 101, 0, 1000) // server probe
            .send(2.001, By::C, A, 101, 501, 0, 1000) // client's reply
            .send(3.0, By::C, A, 100, 501, 0, 1000) // client probe, idle from 2.0? no: from 0.0
            .send(3.001, By::S, A, 501, 101, 0, 1000);
        // The client's last received activity is the handshake's last segment
        // from the server (t = 0): the server's probe at 2.0 does not count.
        assert!(
            close(w.prober(40000).idle_s, 3.0),
            "{:?}",
            w.prober(40000).idle_s
        );
        assert!(close(w.prober(5000).idle_s, 2.0));
        assert_eq!(w.probers(), 2);
        let kinds: Vec<_> = w.kinds().into_iter().map(|e| e.1).collect();
        use EventKind::*;
        assert_eq!(kinds, [Probe, ProbeAck, Probe, ProbeAck]);
    }

    /// A peer's 1-byte probe is in the receiver's window: it restarts the
    /// idle clock of a stack that probes empty (Linux, measured on a real
    /// kernel in `tests/kernel.rs`), not of one that probes with a byte
    /// itself (Windows), and an empty one restarts nobody's (item 6).
    #[test]
    fn a_peers_probe_restarts_the_idle_of_an_empty_prober_only_when_it_carries_a_byte() {
        // (the server's probe length, the client's, the server's idle).
        let cases = [
            ("1-byte probe to an empty prober", 1, 0, 2.0),
            ("1-byte probe to a 1-byte prober", 1, 1, 3.0),
            ("empty probe to an empty prober", 0, 0, 3.0),
            ("empty probe to a 1-byte prober", 0, 1, 3.0),
        ];
        for (name, peer_len, own_len, idle) in cases {
            let mut w = Wire::new();
            // The client's probe at 1.0 (seq one below its next, 101),
            // answered; the server's own probe at 3.0, answered.
            w.established()
                .send(1.0, By::C, A, 100, 501, peer_len, 1000)
                .send(1.001, By::S, A, 501, 101, 0, 1000)
                .send(3.0, By::S, A, 500, 101, own_len, 1000)
                .send(3.001, By::C, A, 101, 501, 0, 1000);
            let server = w.prober(5000);
            assert_eq!(server.probes_sent, 1, "{name}: {:?}", w.kinds());
            assert!(
                close(server.idle_s, idle),
                "{name}: idle {:?}",
                server.idle_s
            );
        }
    }

    /// A 1-byte probe received while the receiver's own empty probes go
    /// unanswered starts its count again (Linux: `probes_out = 0`), so a
    /// give-up counts only the probes after it.
    #[test]
    fn a_peers_1_byte_probe_starts_an_empty_probers_count_again() {
        let mut w = Wire::new();
        w.established()
            .send(2.0, By::S, A, 500, 101, 0, 1000) // server probe 1, unanswered
            .send(3.0, By::S, A, 500, 101, 0, 1000) // server probe 2, unanswered
            .send(3.5, By::C, A, 100, 501, 1, 1000) // the client's 1-byte probe
            .send(5.5, By::S, A, 500, 101, 0, 1000) // probe 1 of a new run
            .send(6.5, By::S, R | A, 501, 101, 0, 0);
        let server = w.prober(5000);
        assert_eq!(server.outcome, Outcome::Dead, "{:?}", w.kinds());
        assert_eq!(server.probes, Some(1), "{server:?}");
    }

    /// Item 3 when the answers the wire shows never reached the prober:
    /// three probes a second apart after a 2 s idle, each answered on the
    /// wire, then the prober's RST one more second on, is its give-up
    /// (answers it heard would have put a whole idle between its probes).
    #[test]
    fn a_give_up_after_answers_lost_past_the_capture_point() {
        // (name, probe times, RST time, dead?)
        let cases: [(&str, &[f64], f64, bool); 6] = [
            (
                "interval spacing, RST on time",
                &[2.0, 3.02, 4.04],
                5.06,
                true,
            ),
            (
                "RST one spacing late by 30 %",
                &[2.0, 3.02, 4.04],
                5.4,
                false,
            ),
            ("RST early", &[2.0, 3.02, 4.04], 4.6, false),
            (
                "spacing of the idle: answers heard",
                &[2.0, 4.02, 6.04],
                8.06,
                false,
            ),
            ("one probe only", &[2.0], 3.02, false),
            ("unsteady spacing", &[2.0, 3.02, 4.6], 5.62, false),
        ];
        for (name, probes, rst, dead) in cases {
            let mut w = Wire::new();
            w.established();
            for &t in probes {
                w.send(t, By::C, A, 100, 501, 0, 1000)
                    .send(t + 0.001, By::S, A, 501, 101, 0, 1000);
            }
            w.send(rst, By::C, R | A, 101, 501, 0, 0);
            let p = w.prober(40000);
            assert_eq!(p.outcome == Outcome::Dead, dead, "{name}: {p:?}");
            if dead {
                assert_eq!(p.probes, Some(3), "{name}");
                assert!(close(p.detection_s, rst), "{name}: {:?}", p.detection_s);
                assert!(close(p.intvl_s, 1.02), "{name}: {:?}", p.intvl_s);
                assert_eq!(p.cadence_s, None, "{name}");
                assert_eq!(
                    w.kinds().last(),
                    Some(&(w.frame, EventKind::GiveUp)),
                    "{name}"
                );
            }
        }
        // Nothing before the probes was seen (a capture begun mid-idle):
        // no idle to compare the spacing with, so an abort cannot be told
        // from a give-up.
        let mut w = Wire::new();
        for t in [12.0, 13.02, 14.04] {
            w.send(t, By::C, A, 100, 501, 0, 1000)
                .send(t + 0.001, By::S, A, 501, 101, 0, 1000);
        }
        w.send(15.06, By::C, R | A, 101, 501, 0, 0);
        let p = w.prober(40000);
        assert_eq!((p.probes_sent, p.outcome), (3, Outcome::Alive), "mid-idle");

        // The peer's request between the probes, lost with the answers (and
        // resent): the probes' acknowledgment stays below it, so the prober
        // heard none of it. Where a probe acknowledges it, it was heard.
        for (name, probe_ack, dead) in [
            ("request unheard", 501, true),
            ("request heard", 515, false),
        ] {
            let mut w = Wire::new();
            w.established();
            w.send(2.0, By::C, A, 100, 501, 0, 1000)
                .send(2.001, By::S, A, 501, 101, 0, 1000)
                .send(3.02, By::C, A, 100, 501, 0, 1000)
                .send(3.021, By::S, A, 501, 101, 0, 1000)
                .send(3.5, By::S, A, 501, 101, 14, 1000)
                .send(4.04, By::C, A, 100, probe_ack, 0, 1000)
                .send(4.041, By::S, A, 515, 101, 0, 1000)
                .send(4.3, By::S, A, 501, 101, 14, 1000)
                .send(5.06, By::C, R | A, 101, probe_ack, 0, 0);
            let p = w.prober(40000);
            assert_eq!(p.outcome == Outcome::Dead, dead, "{name}: {p:?}");
            if dead {
                assert_eq!(p.probes, Some(3), "{name}");
                assert!(close(p.intvl_s, 1.02), "{name}: {:?}", p.intvl_s);
                assert!(close(p.detection_s, 5.06), "{name}: {:?}", p.detection_s);
            }
        }
    }

    /// Item 5: answered probes recur every max(idle, intvl). An idle seen
    /// longer than that cadence (keepalive turned on in the middle of a
    /// silence, a setting changed, a probe unseen) is no setting: no likely
    /// idle is claimed from it, while one that fits is.
    #[test]
    fn an_idle_longer_than_the_answered_cadence_is_no_likely_setting() {
        // (name, first probe, the answered probes' spacing, likely idle).
        let cases = [
            (
                "keepalive on after 5 s of silence, then every 1.02 s",
                5.0,
                1.02,
                None,
            ),
            ("idle 2 s, answered every 2.04 s", 2.0, 2.04, Some(2)),
            (
                "idle 2 s, interval 3 s: answered every 3.06 s",
                2.0,
                3.06,
                Some(2),
            ),
        ];
        for (name, first, every, likely) in cases {
            let mut w = Wire::new();
            w.established();
            for k in 0..4 {
                let t = first + every * f64::from(k);
                w.send(t, By::C, A, 100, 501, 0, 1000)
                    .send(t + 0.001, By::S, A, 501, 101, 0, 1000);
            }
            let p = w.prober(40000);
            assert!(close(p.idle_s, first), "{name}: {:?}", p.idle_s);
            assert!(close(p.cadence_s, every), "{name}: {:?}", p.cadence_s);
            assert_eq!(p.likely.idle_s, likely, "{name}");
        }
    }

    /// A capture that begins after the handshake names as side `a` the end
    /// the ports show connected, whoever sends first; the first sender when
    /// they do not tell.
    #[test]
    fn without_the_handshake_the_ports_tell_who_connected() {
        let ep = |port: u16| Endpoint::new([198, 18, 0, 1].into(), port);
        // (name, first sender's port, the other's, the first sender is a).
        let cases = [
            (
                "the server on a well-known port sends first",
                443,
                50000,
                false,
            ),
            // An NFS client connects from a port under 1024; an old stack
            // from 1024 to 5000: ports under 32768 tell nothing.
            ("a port under 1024 alone: the first sender", 2049, 800, true),
            ("a client on 1089 to 102: the first sender", 102, 1089, true),
            (
                "the server on 5432 sends first to an ephemeral port",
                5432,
                40000,
                false,
            ),
            (
                "the client on an ephemeral port sends first",
                59004,
                5003,
                true,
            ),
            ("both ephemeral: the first sender", 50051, 40000, true),
            ("neither tells: the first sender", 5432, 6379, true),
        ];
        for (name, first, other, first_is_a) in cases {
            let mut an = Analyzer::new(LinkType::Ethernet);
            let seg = Segment {
                src: ep(first),
                dst: Endpoint::new([198, 18, 0, 2].into(), other),
                ..seg_at(1.0, By::C, A, 100, 501, 0)
            };
            an.ingest(&seg);
            let snap = an.snapshot(Timestamp::default());
            assert_eq!(
                snap.flows[0].a == seg.src,
                first_is_a,
                "{name}: {:?}",
                snap.flows[0]
            );
        }
    }

    /// The kernel sends its k-th probe only with k - 1 out: a run of four,
    /// the fourth answered, shows a count of at least four with no
    /// give-up; answered probes show no more than one.
    #[test]
    fn a_run_of_probes_shows_the_least_count() {
        let mut w = Wire::new();
        w.established();
        for t in [2.0, 3.0, 4.0, 5.0] {
            w.send(t, By::C, A, 100, 501, 0, 1000);
        }
        w.send(5.001, By::S, A, 501, 101, 0, 1000);
        for t in [7.0, 9.0] {
            w.send(t, By::C, A, 100, 501, 0, 1000)
                .send(t + 0.001, By::S, A, 501, 101, 0, 1000);
        }
        let p = w.prober(40000);
        assert_eq!(
            (p.outcome, p.probes, p.probes_at_least),
            (Outcome::Alive, None, 4)
        );
        let mut w = Wire::new();
        w.established().send(2.0, By::C, A, 100, 501, 0, 1000).send(
            2.001,
            By::S,
            A,
            501,
            101,
            0,
            1000,
        );
        assert_eq!(w.prober(40000).probes_at_least, 1);
    }

    #[test]
    fn item_12_peer_lost_the_connection() {
        let mut w = Wire::new();
        w.established()
            .send(2.0, By::C, A, 100, 501, 0, 1000)
            .send(2.001, By::S, R, 501, 0, 0, 0);
        let p = w.prober(40000);
        assert_eq!((p.outcome, p.probes_answered), (Outcome::Reset, 0));
        assert_eq!(w.kinds().last(), Some(&(5, EventKind::ProbeRst)));
    }

    #[test]
    fn item_9_zero_window_probes_are_their_own_kind() {
        let mut w = Wire::new();
        w.established()
            .send(0.1, By::C, A, 101, 501, 1000, 1000)
            .send(0.2, By::S, A, 501, 1101, 0, 0);
        for t in [0.4, 0.8, 1.6, 3.2] {
            w.send(t, By::C, A, 1100, 501, 0, 1000)
                .send(t + 0.001, By::S, A, 501, 1101, 0, 0);
        }
        assert_eq!(w.probers(), 0);
        let snap = w.an.snapshot(Timestamp::default());
        assert_eq!(snap.flows[0].zero_window_probes, 4);
    }

    /// A connection closed with FINs, and 400 s later a new one on the same
    /// 4-tuple (its ISNs new): no connection was quiet 400 s, and the new
    /// one is established, its SYN's sender side `a`.
    #[test]
    fn a_new_connection_on_a_closed_4_tuple_is_no_silence() {
        let mut w = Wire::new();
        w.established()
            .send(1.0, By::C, A | F, 101, 501, 0, 1000)
            .send(1.001, By::S, A | F, 501, 102, 0, 1000)
            .send(1.002, By::C, A, 102, 502, 0, 1000);
        let quiet = |w: &Wire| {
            let snap = w.an.snapshot(Timestamp::default());
            let f = &snap.flows[0];
            (f.state, f.longest_silence_s.round() as u64, f.a.port)
        };
        assert_eq!(quiet(&w), (TcpState::Closed, 1, 40000));
        // Reopened by the server's port this time: it is side `a` now.
        w.send(401.0, By::S, S, 9000, 0, 0, 1000)
            .send(401.0, By::C, S | A, 7000, 9001, 0, 1000)
            .send(401.0, By::S, A, 9001, 7001, 0, 1000)
            .send(402.0, By::S, A | TcpFlags::PSH, 9001, 7001, 10, 1000);
        assert_eq!(quiet(&w), (TcpState::Established, 1, 5000));
    }

    /// Item 10 past the capture point: the byte's ACK is captured but lost,
    /// so the copies (0.2 and 0.6 s on) are retransmissions; two hours
    /// later the same byte, as a Windows-style probe, is a probe again,
    /// and the prober's give-up shows.
    #[test]
    fn a_byte_resent_too_soon_then_probed_hours_later() {
        let p = A | TcpFlags::PSH;
        let mut w = Wire::new();
        w.established();
        for t in [1.0, 1.2, 1.6] {
            w.send(t, By::C, p, 101, 501, 1, 1000)
                .send(t + 0.0005, By::S, A, 501, 102, 0, 1000);
        }
        assert_eq!(w.probers(), 0, "{:?}", w.kinds());
        for t in [7201.6, 7202.6, 7203.6] {
            w.send(t, By::C, A, 101, 501, 1, 1000);
        }
        w.send(7204.6, By::C, R | A, 102, 501, 0, 0);
        let pr = w.prober(40000);
        assert_eq!(
            (pr.probes_sent, pr.outcome, pr.probes),
            (3, Outcome::Dead, Some(3)),
            "{:?}",
            w.kinds()
        );
    }

    #[test]
    fn item_10_one_byte_retransmission_is_not_a_probe() {
        let mut w = Wire::new();
        w.established();
        for t in [1.0, 1.2, 1.6, 2.4] {
            w.send(t, By::C, A | TcpFlags::PSH, 101, 501, 1, 1000); // the byte is never ACKed
        }
        assert_eq!(w.probers(), 0);
    }

    #[test]
    fn item_14_windows_one_byte_probe() {
        let mut w = Wire::new();
        w.established()
            .send(0.5, By::C, A, 101, 501, 1, 1000)
            .send(0.6, By::S, A, 501, 102, 0, 1000)
            .send(10.6, By::C, A, 101, 501, 1, 1000) // the acknowledged byte again
            .send(10.61, By::S, A, 501, 102, 0, 1000);
        let p = w.prober(40000);
        assert_eq!((p.probes_sent, p.probes_answered), (1, 1));
        assert!(close(p.idle_s, 10.0));
    }

    #[test]
    fn item_18_mid_idle_start_recognised_by_reply_give_up_or_spacing() {
        // The reply acknowledges probe seq + 1.
        let mut w = Wire::new();
        w.send(0.0, By::C, A, 100, 501, 0, 1000)
            .send(0.01, By::S, A, 501, 101, 0, 1000);
        assert_eq!(w.kinds(), [(1, EventKind::Probe), (2, EventKind::ProbeAck)]);

        // Unanswered, then the prober's RST at seq + 1.
        let mut w = Wire::new();
        w.send(0.0, By::C, A, 100, 501, 0, 1000)
            .send(1.02, By::C, A, 100, 501, 0, 1000)
            .send(2.04, By::C, R, 101, 0, 0, 0);
        let p = w.prober(40000);
        assert_eq!(
            (p.outcome, p.probes, p.intvl_s.is_some()),
            (Outcome::Dead, Some(2), true)
        );

        // Unanswered, steady spacing, capture ends while probing.
        let mut w = Wire::new();
        for t in [0.0, 5.1, 10.2, 15.3] {
            w.send(t, By::C, A, 100, 501, 0, 1000);
        }
        let p = w.prober(40000);
        assert_eq!((p.outcome, p.probes_sent), (Outcome::Probing, 4));
        assert_eq!(p.likely.intvl_s, Some(5));

        // Doubling spacing (zero-window or retransmission backoff) is not steady.
        let mut w = Wire::new();
        for t in [0.0, 0.4, 1.2, 2.8] {
            w.send(t, By::C, A, 100, 501, 0, 1000);
        }
        assert_eq!(w.probers(), 0);

        // A plain ACK at snd_nxt, answered by data: not a probe.
        let mut w = Wire::new();
        w.send(0.0, By::C, A, 101, 501, 0, 1000)
            .send(0.01, By::S, A, 501, 101, 10, 1000);
        assert_eq!(w.probers(), 0);
    }

    #[test]
    fn item_19_challenge_ack_to_a_syn_is_no_probe() {
        // The server still holds an older connection on this 4-tuple: it
        // answers the client's new SYN with a bare ACK at its old numbers;
        // the client resets at that ack number and retries.
        let mut w = Wire::new();
        w.send(0.0, By::C, S, 7000, 0, 0, 1000)
            .send(0.0002, By::S, A, 501, 101, 0, 1000)
            .send(0.0004, By::C, R, 101, 0, 0, 0)
            .send(1.0, By::C, S, 7000, 0, 0, 1000)
            .send(1.0002, By::S, S | A, 9000, 7001, 0, 1000)
            .send(1.0004, By::C, A, 7001, 9001, 0, 1000);
        assert_eq!(w.kinds(), [], "neither the ACK nor the RST is keepalive");
        assert_eq!(w.probers(), 0);
    }

    #[test]
    fn item_20_retransmission_backoff_mid_idle_is_no_probe() {
        // Capture starts mid-connection: a 1-byte segment resent with
        // exponential backoff, then acknowledged (with a D-SACK, since the
        // receiver had it).
        let mut w = Wire::new();
        for t in [0.0, 0.2, 0.6, 1.4, 3.0] {
            w.send(t, By::C, A, 100, 501, 1, 1000);
        }
        let ack = Segment {
            sack: Some((SeqNumber(100), SeqNumber(101))),
            ..seg_at(3.0002, By::S, A, 501, 101, 0)
        };
        w.an.ingest(&ack);
        assert_eq!(
            w.probers(),
            0,
            "doubling spacing is a backoff: {:?}",
            w.kinds()
        );

        // Spacing under a second is no keepalive timer either, whatever answers.
        let mut w = Wire::new();
        for t in [0.0, 0.3, 0.6] {
            w.send(t, By::C, A, 100, 501, 0, 1000);
        }
        w.send(0.6002, By::S, A, 501, 101, 0, 1000);
        assert_eq!(w.probers(), 0, "{:?}", w.kinds());
    }

    #[test]
    fn item_21_windows_one_byte_probe_at_capture_start() {
        // A lone byte at S, answered with ack S + 1 and no D-SACK (it looks
        // like new data acknowledged), then the same byte again at a steady
        // 45 s: every one of them was a probe, the first included.
        let mut w = Wire::new();
        for k in 0..4 {
            let t = 45.0 * f64::from(k);
            w.send(t, By::C, A, 100, 501, 1, 1000)
                .send(t + 0.0002, By::S, A, 501, 101, 0, 1000);
        }
        let p = w.prober(40000);
        assert_eq!(
            (p.probes_sent, p.probes_answered),
            (4, 4),
            "{:?}",
            w.kinds()
        );
        assert_eq!(w.kinds().first(), Some(&(1, EventKind::Probe)));
    }

    #[test]
    fn undecided_frames_are_those_a_later_event_may_name() {
        let undecided = |w: &Wire| {
            let mut v = Vec::new();
            w.an.undecided_frames(&mut v);
            v.sort_unstable();
            v
        };
        // Mid-capture candidates wait for what decides them.
        let mut w = Wire::new();
        w.send(0.0, By::C, A, 100, 501, 0, 1000)
            .send(1.02, By::C, A, 100, 501, 0, 1000);
        assert_eq!(undecided(&w), [1, 2]);
        assert!(w.an.last_frame_undecided());
        assert_eq!(w.kinds(), []);
        // The prober's RST decides them: probes, named then.
        w.send(2.04, By::C, R, 101, 0, 0, 0);
        assert_eq!(undecided(&w), [] as [u64; 0]);
        assert!(!w.an.last_frame_undecided());
        assert_eq!(
            w.kinds(),
            [
                (1, EventKind::Probe),
                (2, EventKind::Probe),
                (3, EventKind::GiveUp)
            ]
        );
        // Not probes: let go, and never named.
        let mut w = Wire::new();
        w.send(0.0, By::C, A, 101, 501, 0, 1000);
        assert_eq!(undecided(&w), [1]);
        w.send(0.01, By::S, A, 501, 101, 10, 1000);
        assert_eq!((undecided(&w), w.kinds()), (vec![], vec![]));
        // A lone byte acknowledged as data is held with its answer (item 21)
        // until the same byte comes again.
        let mut w = Wire::new();
        w.send(0.0, By::C, A, 100, 501, 1, 1000)
            .send(0.0002, By::S, A, 501, 101, 0, 1000);
        assert_eq!(undecided(&w), [1, 2]);
        assert!(w.an.last_frame_undecided(), "the answer is held");
        w.an.ingest_undecodable(Timestamp::from_secs_f64(1_000_001.0));
        assert!(!w.an.last_frame_undecided(), "no segment");
        w.send(45.0, By::C, A, 100, 501, 1, 1000);
        assert!(w
            .kinds()
            .starts_with(&[(1, EventKind::Probe), (2, EventKind::ProbeAck)]));
        assert!(!undecided(&w).contains(&1), "{:?}", undecided(&w));
    }

    /// A segment from `by` at `at` with no SACK.
    fn seg_at(at: f64, by: By, flags: u8, seq: u32, ack: u32, len: u32) -> Segment {
        let c = Endpoint::new([198, 18, 0, 1].into(), 40000);
        let s = Endpoint::new([198, 18, 0, 2].into(), 5000);
        let (src, dst) = match by {
            By::C => (c, s),
            By::S => (s, c),
        };
        Segment {
            frame: 99,
            ts: Timestamp::from_secs_f64(1_000_000.0 + at),
            src,
            dst,
            vlan: Vlan::NONE,
            seq: SeqNumber(seq),
            ack: SeqNumber(ack),
            flags: TcpFlags(flags),
            window: 1000,
            payload_len: len,
            sack: None,
            head: PayloadHead::EMPTY,
            ip_id: 0,
            tsval: 0,
        }
    }

    /// A probe that crossed the peer's data (its ack below that data: the
    /// prober had not heard it) is no probe too soon, though it follows
    /// the data on the wire by 30 ms (found by a review: a capture near the
    /// peer failed `check --require-keepalive` on such a connection); one
    /// that acknowledges the data it follows by 0.15 s is.
    #[test]
    fn a_probe_crossing_the_peers_data_is_not_too_soon() {
        let mut w = Wire::new();
        w.established()
            .send(10.0, By::S, A, 501, 101, 5, 1000)
            .send(10.03, By::C, A, 100, 501, 0, 1000)
            .send(10.031, By::S, A, 506, 101, 0, 1000)
            .send(10.05, By::C, A, 101, 506, 0, 1000);
        let p = w.prober(40000);
        assert_eq!((p.probes_sent, p.probes_too_soon), (1, 0), "{p:?}");
        let mut w = Wire::new();
        w.established()
            .send(10.0, By::S, A, 501, 101, 5, 1000)
            .send(10.15, By::C, A, 100, 506, 0, 1000)
            .send(10.151, By::S, A, 506, 101, 0, 1000);
        let p = w.prober(40000);
        assert_eq!((p.probes_sent, p.probes_too_soon), (1, 1), "{p:?}");
    }

    #[test]
    fn duplicate_captures_count_once() {
        let mut w = Wire::new();
        w.established();
        for t in [2.0, 3.0, 4.0] {
            w.send(t, By::C, A, 100, 501, 0, 1000)
                .send(t, By::C, A, 100, 501, 0, 1000);
        }
        w.send(5.0, By::C, R, 101, 0, 0, 0);
        assert_eq!(w.prober(40000).probes, Some(3));
        assert_eq!(w.an.counters().duplicates, 3);
    }

    #[test]
    fn segments_fed_decoded_count_as_frames_do() {
        let segs: Vec<Segment> = keepalive_flow(1, 0.0);
        let mut by_segment = Analyzer::new(LinkType::Ethernet);
        let mut by_decoded = Analyzer::new(LinkType::Ethernet);
        for s in &segs {
            by_segment.ingest(s);
            by_decoded.ingest_decoded_ref(s.ts, Some(s));
        }
        by_decoded.ingest_decoded(segs[0].ts, None);
        let (c, d) = (by_segment.counters(), by_decoded.counters());
        assert_eq!(
            (c.frames, c.tcp_segments, c.undecoded),
            (segs.len() as u64, segs.len() as u64, 0)
        );
        assert_eq!(
            (d.frames, d.tcp_segments, d.undecoded),
            (c.frames + 1, c.tcp_segments, 1)
        );
    }

    #[test]
    fn sequence_wraparound() {
        let mut w = Wire::new();
        let isn = u32::MAX - 1; // the handshake's SYN makes the next seq wrap to 0
        w.send(0.0, By::C, S, isn, 0, 0, 1000)
            .send(0.0, By::S, S | A, 500, isn.wrapping_add(1), 0, 1000)
            .send(0.0, By::C, A, isn.wrapping_add(1), 501, 5, 1000)
            .send(0.1, By::S, A, 501, isn.wrapping_add(6), 0, 1000)
            .send(2.1, By::C, A, isn.wrapping_add(5), 501, 0, 1000)
            .send(2.2, By::S, A, 501, isn.wrapping_add(6), 0, 1000);
        let p = w.prober(40000);
        assert_eq!((p.probes_sent, p.probes_answered), (1, 1));
    }

    #[test]
    fn fin_and_syn_are_never_probes() {
        let mut w = Wire::new();
        w.established()
            .send(2.0, By::C, A | F, 100, 501, 0, 1000)
            .send(2.1, By::C, S, 100, 0, 0, 1000);
        assert_eq!(w.probers(), 0);
    }

    fn flow_seg(i: u32, at: f64, flags: u8) -> Segment {
        Segment {
            frame: i as u64 + 1,
            ts: Timestamp::from_secs_f64(at),
            src: Endpoint::new([198, 18, 0, 1].into(), 10_000 + i as u16),
            dst: Endpoint::new([198, 18, 0, 2].into(), 80),
            vlan: Vlan::NONE,
            seq: SeqNumber(1),
            ack: SeqNumber(1),
            flags: TcpFlags(flags),
            window: 100,
            payload_len: 0,
            sack: None,
            head: PayloadHead::EMPTY,
            ip_id: 0,
            tsval: 0,
        }
    }

    #[test]
    fn report_order_views_each_flow_as_flow_views_does() {
        let mut an = Analyzer::new(LinkType::Ethernet);
        // First seen out of the order they are held in.
        for i in 0..13 {
            an.ingest(&flow_seg(i, f64::from(7 * i % 13), A));
        }
        let order = an.report_order();
        assert_eq!(order.len(), 13);
        assert!(!order.is_empty());
        let views: Vec<FlowView> = an.flow_views().collect();
        for (i, v) in views.iter().enumerate() {
            let by_position = order.view(i).expect("a flow at every position");
            assert_eq!(format!("{by_position:?}"), format!("{v:?}"), "flow {i}");
        }
        assert!(order.view(13).is_none(), "nothing past the last flow");
        assert!(
            views.windows(2).all(|w| w[0].first_seen < w[1].first_seen),
            "first seen first"
        );
        let by_iterator: Vec<String> = order.into_views().map(|v| format!("{v:?}")).collect();
        let expected: Vec<String> = views.iter().map(|v| format!("{v:?}")).collect();
        assert_eq!(by_iterator, expected);
        assert!(Analyzer::new(LinkType::Ethernet).report_order().is_empty());
    }

    #[test]
    fn full_table_evicts_closed_then_idle_longest() {
        let limits = Limits {
            max_flows: 16,
            ..Limits::default()
        };
        let mut an = Analyzer::with_limits(LinkType::Ethernet, limits);
        an.ingest(&flow_seg(0, 0.0, R)); // closed, but most recent activity later
        for i in 1..16 {
            an.ingest(&flow_seg(i, i as f64, A));
        }
        an.ingest(&flow_seg(0, 100.0, R));
        an.ingest(&flow_seg(99, 200.0, A)); // table full: one must go
        assert_eq!(an.counters().evicted, 1);
        assert!(
            an.flows.iter().all(|f| f.endpoint(0).port != 10_000),
            "the reset flow leaves first"
        );
        an.ingest(&flow_seg(98, 201.0, A));
        assert!(
            an.flows.iter().all(|f| f.endpoint(0).port != 10_001),
            "then the idle longest"
        );
    }

    #[test]
    fn expiry_keeps_idle_flows_past_rfc_5382() {
        let mut an = Analyzer::new(LinkType::Ethernet);
        an.ingest(&flow_seg(1, 0.0, A));
        an.ingest(&flow_seg(2, 0.0, R));
        assert_eq!(
            an.expire(Timestamp::from_secs_f64(61.0)),
            1,
            "reset flow leaves after a minute"
        );
        assert_eq!(
            an.expire(Timestamp::from_secs_f64(7_440.0)),
            0,
            "idle flow stays 2 h 4 min"
        );
        assert_eq!(an.expire(Timestamp::from_secs_f64(9_000.0)), 1);
        assert_eq!(an.flow_count(), 0);
        // Timed out, not evicted: the table was never full.
        assert_eq!((an.counters().expired, an.counters().evicted), (2, 0));
    }

    /// Flow `i`'s segment: its client is 198.18.1.1:(20000 + i), its server
    /// 198.18.1.2:5000; `at` is seconds.
    fn conn_seg(i: u32, at: f64, by: By, flags: u8, seq: u32, ack: u32, len: u32) -> Segment {
        let c = Endpoint::new([198, 18, 1, 1].into(), 20_000 + i as u16);
        let s = Endpoint::new([198, 18, 1, 2].into(), 5000);
        let (src, dst) = match by {
            By::C => (c, s),
            By::S => (s, c),
        };
        Segment {
            src,
            dst,
            ..seg_at(at, by, flags, seq, ack, len)
        }
    }

    /// Flow `i`'s handshake at `t0` (client next seq 101, server 501).
    fn handshake(i: u32, t0: f64) -> Vec<Segment> {
        vec![
            conn_seg(i, t0, By::C, S, 100, 0, 0),
            conn_seg(i, t0 + 0.001, By::S, S | A, 500, 101, 0),
            conn_seg(i, t0 + 0.002, By::C, A, 101, 501, 0),
        ]
    }

    /// Flow `i`'s client probes at `at` and the server answers.
    fn probe(i: u32, at: f64) -> Vec<Segment> {
        vec![
            conn_seg(i, at, By::C, A, 100, 501, 0),
            conn_seg(i, at + 0.001, By::S, A, 501, 101, 0),
        ]
    }

    /// Flow `i` from its handshake at `t0` to a first probe 10 s later, answered.
    fn keepalive_flow(i: u32, t0: f64) -> Vec<Segment> {
        [handshake(i, t0), probe(i, t0 + 10.0)].concat()
    }

    fn limited(max_flows: usize, max_retired: usize) -> Analyzer {
        let limits = Limits {
            max_flows,
            max_retired,
            ..Limits::default()
        };
        Analyzer::with_limits(LinkType::Ethernet, limits)
    }

    fn feed(an: &mut Analyzer, segs: &[Segment]) {
        for seg in segs {
            an.ingest(seg);
        }
    }

    /// The listed flows of client port 20000 + `i`.
    fn views_of(an: &Analyzer, i: u32) -> Vec<FlowView> {
        an.flow_views()
            .filter(|f| f.a.port == 20_000 + i as u16)
            .collect()
    }

    #[test]
    fn a_keepalive_flow_that_left_the_table_comes_back_whole() {
        // Flow 0 probes once, leaves the table while silent, and probes
        // again: one flow, as an unbounded table would have it.
        fn later(i: u32) -> Segment {
            conn_seg(i, 15.0, By::C, A, 101, 501, 0)
        }
        type Leave = fn(&mut Analyzer);
        // How it left: evicted, or timed out (then not counted as gone: it
        // is still listed).
        let cases: [(&str, Analyzer, Leave, (u64, u64)); 2] = [
            (
                "table full",
                limited(2, 8),
                |an| {
                    feed(an, &[later(1), later(2)]);
                },
                (1, 0),
            ),
            (
                "expired",
                limited(16, 8),
                |an| {
                    assert_eq!(
                        an.expire(Timestamp::from_secs_f64(1_000_000.0 + 9_000.0)),
                        1
                    );
                },
                (0, 0),
            ),
        ];
        for (name, mut an, leave, (evicted, expired)) in cases {
            let mut whole = limited(1024, 0);
            let before = keepalive_flow(0, 0.0);
            let after = probe(0, 9_100.0);
            feed(&mut an, &before);
            feed(&mut whole, &before);
            leave(&mut an);
            let c = an.counters();
            assert_eq!((c.evicted, c.expired), (evicted, expired), "{name}");
            assert!(
                an.flows.iter().all(|f| f.endpoint(0).port != 20_000),
                "{name}"
            );
            feed(&mut an, &after);
            feed(&mut whole, &after);

            let [got] = views_of(&an, 0).try_into().unwrap_or_else(|v: Vec<_>| {
                panic!("{name}: flow 0 listed {} times: {v:#?}", v.len())
            });
            let p = &got.probers[0];
            assert_eq!((p.probes_sent, p.probes_answered), (2, 2), "{name}");
            // From the server's SYN-ACK to the first probe.
            assert!(close(p.idle_s, 10.0 - 0.001), "{name}: {:?}", p.idle_s);
            assert_eq!(got.segments, 7, "{name}: segments of both parts");
            assert!(!got.partial, "{name}");
            let [unbounded] = views_of(&whole, 0).try_into().unwrap();
            assert_eq!(format!("{got:?}"), format!("{unbounded:?}"), "{name}");
            assert_eq!(an.counters().keepalive_flows_lost, 0, "{name}");
        }
    }

    #[test]
    fn keepalive_flows_beyond_the_store_are_counted_lost() {
        // (max_flows, max_retired, keepalive flows): below 32 flows the
        // table makes room one flow at a time, so it ends full.
        let cases = [
            (2, 1, 6),
            (4, 3, 20),
            (16, 0, 40),
            (16, 10, 40),
            (16, 100, 40),
            (8, 8, 16),
        ];
        for (max_flows, max_retired, n) in cases {
            let mut an = limited(max_flows, max_retired);
            for i in 0..n {
                feed(&mut an, &keepalive_flow(i, f64::from(i) * 20.0));
            }
            let listed = an.flow_views().filter(|f| !f.probers.is_empty()).count();
            let lost = an.counters().keepalive_flows_lost;
            let case = format!("max_flows {max_flows}, max_retired {max_retired}, {n} flows");
            let kept = (max_flows + max_retired).min(n as usize);
            assert_eq!(listed, kept, "{case}");
            assert_eq!(lost, u64::from(n) - kept as u64, "{case}");
            assert_eq!(
                listed as u64 + lost,
                u64::from(n),
                "{case}: none vanish uncounted"
            );
            // The newest are the ones listed.
            let oldest_listed = an.flow_views().map(|f| f.a.port - 20_000).min();
            assert_eq!(oldest_listed, Some((n as usize - kept) as u16), "{case}");
        }
    }

    #[test]
    fn the_store_drops_the_flow_kept_longest() {
        // One flow in the table, two kept. A leaves, comes back and leaves
        // again after B: B has been kept longest, so B is the one dropped
        // (A's first retirement is stale).
        let mut an = limited(1, 2);
        feed(&mut an, &keepalive_flow(0, 0.0)); // A
        feed(&mut an, &keepalive_flow(1, 20.0)); // B: A leaves
        feed(&mut an, &probe(0, 40.0)); // A back: B leaves
        feed(&mut an, &keepalive_flow(2, 60.0)); // C: A leaves again
        feed(&mut an, &keepalive_flow(3, 80.0)); // D: C leaves, B dropped
        assert_eq!(an.counters().keepalive_flows_lost, 1);
        let mut listed: Vec<(u16, u32)> = an
            .flow_views()
            .map(|f| (f.a.port - 20_000, f.probers[0].probes_sent))
            .collect();
        listed.sort_unstable();
        assert_eq!(listed, [(0, 2), (2, 1), (3, 1)]);
    }

    #[test]
    fn a_flow_back_after_its_record_was_dropped_is_partial() {
        let data = |i, at| {
            vec![
                conn_seg(i, at, By::C, A, 101, 501, 10),
                conn_seg(i, at + 0.001, By::S, A, 501, 111, 0),
            ]
        };
        let probe_after_data = |i, at| {
            vec![
                conn_seg(i, at, By::C, A, 110, 501, 0),
                conn_seg(i, at + 0.001, By::S, A, 501, 111, 0),
            ]
        };
        let other = |i| conn_seg(i, 50.0 + f64::from(i) / 100.0, By::C, A, 101, 501, 0);
        struct Case {
            name: &'static str,
            max_retired: usize,
            before: Vec<Segment>,
            /// Flows that follow, in a table of two.
            others: u32,
            after: Vec<Segment>,
            partial: bool,
        }
        let cases = [
            Case {
                name: "no keepalives when it left, its first probe later",
                max_retired: 8,
                before: [handshake(0, 0.0), data(0, 1.0)].concat(),
                others: 2,
                after: probe_after_data(0, 100.0),
                partial: true,
            },
            Case {
                name: "keepalives, but its record was dropped",
                max_retired: 0,
                before: keepalive_flow(0, 0.0),
                others: 2,
                after: probe(0, 100.0),
                partial: true,
            },
            Case {
                // Its key went in the older filter, and the filling one is
                // full: making room for it drops the older, so it is looked
                // up first. (The first other flow evicts nothing; each
                // filter of this small table takes the minimum of keys.)
                name: "its key about to be forgotten when it comes back",
                max_retired: 0,
                before: keepalive_flow(0, 0.0),
                others: 1 + 2 * (FORGOTTEN_MIN_FLOWS * FORGOTTEN_PER_FLOW) as u32,
                after: probe(0, 100.0),
                partial: true,
            },
            Case {
                name: "a new connection on the key (SYN)",
                max_retired: 0,
                before: keepalive_flow(0, 0.0),
                others: 2,
                after: [handshake(0, 100.0), probe(0, 110.0)].concat(),
                partial: false,
            },
            Case {
                name: "never left: a capture that starts mid-connection",
                max_retired: 0,
                before: Vec::new(),
                others: 2,
                after: probe(0, 100.0),
                partial: false,
            },
        ];
        for c in cases {
            let mut an = limited(2, c.max_retired);
            feed(&mut an, &c.before);
            let others: Vec<Segment> = (1..=c.others).map(other).collect();
            feed(&mut an, &others);
            feed(&mut an, &c.after);
            let flows = views_of(&an, 0);
            let f = flows
                .last()
                .unwrap_or_else(|| panic!("{}: not listed", c.name));
            assert_eq!(f.partial, c.partial, "{}", c.name);
            let p = &f.probers[0];
            assert_eq!((p.probes_sent, p.probes_answered), (1, 1), "{}", c.name);
            if c.partial || c.before.is_empty() {
                // A fragment starts after the activity its first probe's
                // idle counts from: it has no idle to tell.
                assert_eq!(p.idle_s, None, "{}", c.name);
                assert_eq!(f.segments, 2, "{}", c.name);
            }
        }
    }

    #[test]
    fn flows_leaving_and_coming_back_keep_the_stores_bounded() {
        // Two keepalive flows and a table of one: every probe brings one
        // back and sends the other away.
        let mut an = limited(1, 4);
        feed(&mut an, &keepalive_flow(0, 0.0));
        feed(&mut an, &keepalive_flow(1, 1.0));
        for k in 0..2_000 {
            feed(&mut an, &probe(k % 2, 20.0 + f64::from(k)));
        }
        assert_eq!(an.counters().evicted, 2_001);
        assert_eq!(an.counters().keepalive_flows_lost, 0);
        assert_eq!(an.retired.flows.len(), 1);
        assert!(
            an.retired.order.len() <= 2 + 64 + 1,
            "{}",
            an.retired.order.len()
        );
        let sent: Vec<u32> = an.flow_views().map(|f| f.probers[0].probes_sent).collect();
        assert_eq!(sent, [1_001, 1_001]);

        // Keys not kept are remembered, at most max_flows of them.
        let mut an = limited(4, 0);
        for i in 0..100 {
            an.ingest(&flow_seg(i, f64::from(i), A));
        }
        // 64 flows x 8 keys x 12 bits, in a power of two of words.
        assert_eq!(an.forgotten.bits.map(|b| b.len()), [128, 0]);

        // Sized by the flows in the table, not the bound: expiring a flow
        // under an unbounded table makes a small filter.
        let mut an = limited(usize::MAX, usize::MAX);
        an.ingest(&flow_seg(1, 0.0, R));
        assert_eq!(an.expire(Timestamp::from_secs_f64(61.0)), 1);
        assert_eq!(an.forgotten.bits.map(|b| b.len()), [128, 0]);
    }

    #[test]
    fn a_kept_flow_costs_what_the_docs_say() {
        // Limits::max_retired and `--max-retired`'s help state these figures.
        let prober = std::mem::size_of::<crate::prober::Prober>();
        let heartbeats = std::mem::size_of::<crate::heartbeat::Heartbeats>();
        eprintln!(
            "kept flow {RETIRED_FLOW_BYTES} bytes + {prober} per prober + {heartbeats} of heartbeats"
        );
        const { assert!(RETIRED_FLOW_BYTES <= 320) };
        assert!(
            heartbeats <= 120,
            "a heartbeat record is {heartbeats} bytes"
        );
        // A side that probed: its cold part, the record inline (one
        // allocation).
        let side = std::mem::size_of::<crate::flow::SideCold>();
        assert!(prober <= 232, "a prober is {prober} bytes");
        assert!(
            RETIRED_FLOW_BYTES + side <= 600,
            "a kept flow with one prober is {} bytes, over 600",
            RETIRED_FLOW_BYTES + side
        );
        assert!(
            RETIRED_FLOW_BYTES + 2 * side <= 850,
            "a kept flow with two probers is {} bytes, over 850",
            RETIRED_FLOW_BYTES + 2 * side
        );
    }

    #[test]
    fn forgotten_keys_are_remembered_without_misses_and_few_false_hits() {
        let key = |n: u32| {
            let [a, b, c, d] = n.to_be_bytes();
            FlowKey::new(
                Endpoint::new([10, a, b, c].into(), 1000 + u16::from(d)),
                Endpoint::new([198, 18, 0, 2].into(), 443),
                Vlan::NONE,
            )
        };
        let flows = 1_000;
        let per_filter = flows * FORGOTTEN_PER_FLOW;
        let mut f = Forgotten::default();
        assert!(!f.contains(&key(0)), "nothing before the first eviction");
        let added = 5 * per_filter as u32 / 2;
        for n in 0..added {
            f.remember(&key(n), flows);
        }
        // The latest per_filter keys at least: never missed.
        let latest = (added - per_filter as u32)..added;
        assert!(latest.clone().all(|n| f.contains(&key(n))));
        // Keys never added: rarely present.
        let false_hits = (added..added + 100_000)
            .filter(|&n| f.contains(&key(n)))
            .count();
        assert!(false_hits < 600, "{false_hits} false hits in 100,000");
        eprintln!("{false_hits} false hits in 100,000");
    }
}

#[cfg(test)]
mod any_segments {
    use super::*;
    use crate::segment::{Endpoint, PayloadHead, Segment, TcpFlags, Vlan};
    use crate::seq::SeqNumber;
    use proptest::prelude::*;

    /// A 32-bit value, its edges as likely as the rest.
    fn edgy() -> impl Strategy<Value = u32> {
        prop_oneof![
            0u32..3,
            u32::MAX - 2..,
            0x7fff_fffe_u32..0x8000_0002,
            any::<u32>()
        ]
    }

    /// Any segment a library caller can make by hand, between two of three
    /// endpoints: every field any value.
    fn segment() -> impl Strategy<Value = Segment> {
        let ends = [
            Endpoint::new([198, 18, 0, 1].into(), 40000),
            Endpoint::new([198, 18, 0, 2].into(), 5000),
            Endpoint::new([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1].into(), 5000),
        ];
        (
            (0usize..3, 0usize..3, any::<i64>(), any::<u8>()),
            (edgy(), edgy(), any::<u16>(), edgy()),
            (any::<Option<(u32, u32)>>(), any::<u16>(), any::<u32>()),
        )
            .prop_map(
                move |((s, d, ts, flags), (seq, ack, window, len), (sack, id, tsval))| Segment {
                    frame: 0,
                    ts: Timestamp::from_nanos(ts),
                    src: ends[s],
                    dst: ends[d],
                    vlan: Vlan::NONE,
                    seq: SeqNumber(seq),
                    ack: SeqNumber(ack),
                    flags: TcpFlags(flags),
                    window,
                    payload_len: len,
                    sack: sack.map(|(l, r)| (SeqNumber(l), SeqNumber(r))),
                    head: PayloadHead::EMPTY,
                    ip_id: id,
                    tsval,
                },
            )
    }

    proptest! {
        /// Whatever segments come, in whatever order, the analyser neither
        /// panics nor overflows (tests run with overflow checks), and its
        /// views and snapshot can be taken.
        #[test]
        fn any_segments_are_taken(segs in proptest::collection::vec(segment(), 1..40)) {
            let mut an = Analyzer::new(LinkType::Ethernet);
            for s in &segs {
                an.ingest(s);
            }
            let _ = an.flow_views().count();
            let _ = an.snapshot(Timestamp::from_nanos(i64::MAX));
            an.expire(Timestamp::from_nanos(0));
        }
    }
}
