//! Flows: identity (4-tuple and VLAN tags) and per-side state.
//!
//! A flow's state is small and fixed-size; a side's keepalive record and its
//! mid-capture candidates are boxed, so only the sides that probe pay for
//! them, and so is the flow's heartbeat record, made only when a side sends
//! a small data segment.

use crate::classify::candidates::{Candidate, Pending};
use crate::classify::SideView;
use crate::heartbeat::Heartbeats;
use crate::prober::Prober;
use crate::segment::{Endpoint, Segment, Vlan};
use crate::seq::SeqNumber;
use crate::time::{OptTick, Span, Tick, Timestamp};
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A flow's identity: the two endpoints in a canonical order (the lower
/// first, as [`Endpoint`]'s order has it), and the VLAN tags. Held as
/// aligned words, not as [`Endpoint`]s (an `IpAddr` is a 17-byte enum): a
/// key is made, compared and hashed on every segment, so it is made with
/// no branch on the family beyond reading it, compared as six words, and
/// hashed the same way.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct FlowKey {
    /// Each endpoint's address, high and low 64 bits (IPv4 in the low 32).
    addr: [[u64; 2]; 2],
    /// Each endpoint's port, with [`V6`] set for an IPv6 address.
    port: [u32; 2],
    /// VLAN tags (the same 4-tuple on two VLANs is two flows), as their
    /// [`Vlan::word`].
    vlan: u64,
}

/// [`FlowKey::port`]'s bit for an IPv6 endpoint: above the port, so that
/// comparing (family, address, port) orders as [`Endpoint`] does (IPv4 first).
const V6: u32 = 1 << 16;

/// Without the handshake, whether the sender (on port `src`) is the end
/// that connected: a client connects from its system's ephemeral range
/// (32768 and up on Linux, the BSDs, macOS and Windows), and servers
/// mostly listen below it. `Some(true)` when only the sender's port is in
/// that range, `Some(false)` when only the receiver's is, `None` when the
/// ports do not tell (both or neither). Ports under 1024 tell nothing of
/// their own: NFS and other clients connect from them too.
pub(crate) fn connected_by_ports(src: u16, dst: u16) -> Option<bool> {
    let ephemeral = |p: u16| p >= 32768;
    (ephemeral(src) != ephemeral(dst)).then_some(ephemeral(src))
}

/// An endpoint as a key holds it.
#[inline]
fn words(e: &Endpoint) -> ([u64; 2], u32) {
    match e.ip {
        IpAddr::V4(a) => ([0, u64::from(u32::from(a))], u32::from(e.port)),
        IpAddr::V6(a) => {
            let v = u128::from(a);
            ([(v >> 64) as u64, v as u64], V6 | u32::from(e.port))
        }
    }
}

impl FlowKey {
    /// The key of a segment's flow, and which side sent it (0 = the lower
    /// endpoint, 1 = the higher).
    #[inline]
    pub(crate) fn of(seg: &Segment) -> (FlowKey, usize) {
        let (sa, sp) = words(&seg.src);
        let (da, dp) = words(&seg.dst);
        let tx = usize::from((sp & V6, sa, sp) > (dp & V6, da, dp));
        let (addr, port) = if tx == 0 {
            ([sa, da], [sp, dp])
        } else {
            ([da, sa], [dp, sp])
        };
        let key = FlowKey {
            addr,
            port,
            vlan: seg.vlan.word(),
        };
        (key, tx)
    }

    /// The key of the flow between `lo` and `hi` (`lo` the lower).
    #[cfg(test)]
    pub(crate) fn new(lo: Endpoint, hi: Endpoint, vlan: Vlan) -> FlowKey {
        debug_assert!(lo <= hi, "{lo} is not below {hi}");
        let ((a, p), (b, q)) = (words(&lo), words(&hi));
        FlowKey {
            addr: [a, b],
            port: [p, q],
            vlan: vlan.word(),
        }
    }

    /// Endpoint `i`: 0 the lower, 1 the higher.
    #[inline]
    pub(crate) fn endpoint(&self, i: usize) -> Endpoint {
        let ([hi, lo], port) = (self.addr[i], self.port[i]);
        let ip = if port & V6 == 0 {
            IpAddr::V4(Ipv4Addr::from(lo as u32))
        } else {
            IpAddr::V6(Ipv6Addr::from(u128::from(hi) << 64 | u128::from(lo)))
        };
        Endpoint::new(ip, port as u16)
    }

    /// The VLAN tags.
    #[inline]
    pub(crate) fn vlan(&self) -> Vlan {
        Vlan::from_word(self.vlan)
    }

    /// The key as six words, for the flow table's hash.
    #[inline]
    pub(crate) fn as_words(&self) -> [u64; 6] {
        let [[a, b], [c, d]] = self.addr;
        let ports = u64::from(self.port[0]) << 32 | u64::from(self.port[1]);
        [a, b, c, d, ports, self.vlan]
    }
}

/// The endpoints and tags, not the words.
impl std::fmt::Debug for FlowKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "FlowKey({} {} {:?})",
            self.endpoint(0),
            self.endpoint(1),
            self.vlan()
        )
    }
}

/// Hashes the endpoints and tags, as the key held them before it held
/// words: the retired flows' map and the forgotten keys' filter hash with
/// it (the table has its own hash of the words). Equal keys have equal
/// endpoints and tags, so this agrees with `Eq`.
impl Hash for FlowKey {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.endpoint(0).hash(h);
        self.endpoint(1).hash(h);
        self.vlan().hash(h);
    }
}

/// Two identical segments from one side closer than this are one segment
/// captured twice: no TCP timer fires that fast (retransmissions wait >= 200 ms).
pub(crate) const DUPLICATE_WINDOW: crate::time::Span = crate::time::Span(1_000_000);

/// As [`DUPLICATE_WINDOW`], for segments that carry an IPv4
/// identification: a second sending (a retransmission, another duplicate
/// ACK) has a new one, so identical ones further apart are still one
/// sending seen twice (a capture through two paths, 10 ms apart in
/// psiphon3.pcap).
pub(crate) const IDENTIFIED_DUPLICATE_WINDOW: crate::time::Span = crate::time::Span(50_000_000);

/// The segments seen lately, to tell the same frame captured twice: on a
/// bridge and its port with `-i any`, by two capture points merged. The
/// copy comes within [`DUPLICATE_WINDOW`] of the first, but not always
/// straight after it: other segments of the flow, of the same side too,
/// can come between. A fixed table of digests of (flow slot, side,
/// [`Signature`]) with their times, in sets of four (a cache line) placed
/// by the digest, the oldest let go: a copy is missed only when four other
/// segments landed in its set in between.
#[derive(Debug)]
pub(crate) struct RecentSegments {
    sets: Box<[RecentSet]>,
}

/// Four (digest, time in nanoseconds modulo 2^64), the latest first.
#[derive(Clone, Copy, Debug)]
#[repr(align(64))]
struct RecentSet([(u64, i64); 4]);

impl Default for RecentSegments {
    fn default() -> RecentSegments {
        RecentSegments {
            sets: vec![RecentSet([(0, i64::MIN); 4]); RecentSegments::SETS].into_boxed_slice(),
        }
    }
}

impl RecentSegments {
    /// Sets held (a power of two; 64 KiB in all).
    const SETS: usize = 1024;

    /// Whether side `tx` of the flow in `slot` sent a segment of signature
    /// `sig` within [`DUPLICATE_WINDOW`] of `ts` (within
    /// [`IDENTIFIED_DUPLICATE_WINDOW`] when the segment is `identified`:
    /// it carries an IPv4 identification): this is a copy. Else the
    /// segment is remembered.
    #[inline]
    pub(crate) fn is_copy(
        &mut self,
        slot: u32,
        tx: usize,
        sig: Signature,
        ts: Timestamp,
        identified: bool,
    ) -> bool {
        const K: u64 = 0x9E37_79B9_7F4A_7C15;
        let digest = sig.0 ^ (u64::from(slot) << 1 | tx as u64).wrapping_mul(K);
        let set = &mut self.sets[(digest >> 54) as usize & (Self::SETS - 1)].0;
        // (Nanoseconds modulo 2^64: a difference is right while under 292 years.)
        let ns = ts.0 as i64;
        let window = if identified {
            IDENTIFIED_DUPLICATE_WINDOW
        } else {
            DUPLICATE_WINDOW
        };
        let near = |at: i64| ns.wrapping_sub(at).unsigned_abs() < window.0 as u64;
        if set.iter().any(|&(d, at)| d == digest && near(at)) {
            return true;
        }
        set.copy_within(0..3, 1);
        set[0] = (digest, ns);
        false
    }
}

/// Connection state as the wire shows it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema),
    serde(rename_all = "snake_case")
)]
pub enum TcpState {
    /// SYN seen, handshake not complete.
    SynSent,
    /// Handshake complete, or the capture started mid-connection.
    Established,
    /// One side sent FIN.
    Closing,
    /// Both sides sent FIN.
    Closed,
    /// An RST ended it.
    Reset,
}

impl TcpState {
    /// The word reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            TcpState::SynSent => "syn_sent",
            TcpState::Established => "established",
            TcpState::Closing => "closing",
            TcpState::Closed => "closed",
            TcpState::Reset => "reset",
        }
    }
}

/// A lone 1-byte candidate held after the peer acknowledged it as data.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LoneByte {
    /// The segment.
    pub(crate) cand: Candidate,
    /// The peer's ACK of it: frame and time.
    pub(crate) answer: (u64, Timestamp),
}

/// What one side has sent, and its keepalive record.
///
/// The part every segment touches is inline (48 bytes); what only
/// probers, undecided candidates and zero-window probes need is behind one
/// pointer ([`SideCold`]), made when first needed. The side's address and
/// port are its flow's key's (`lo` for side 0, `hi` for side 1).
#[derive(Clone, Debug)]
pub(crate) struct Side {
    /// Last segment received from the peer that the kernel counts as activity
    /// (not the peer's probes: item 6; see `analyzer::idle_clock`).
    last_rx_activity: OptTick,
    /// When the last segment this side sent was seen; none yet when absent.
    sent_at: OptTick,
    /// [`Side::snd_nxt`], [`Side::acked`] and [`Side::syn_pending`], each
    /// held when its bit of `has` is set (12 bytes, not 24).
    seqs: [u32; 3],
    /// [`Side::window`], held when its bit of `has` is set.
    window: u16,
    /// Which of `seqs` and `window` are held, and FIN sent ([`Side::fin`]).
    has: u8,
    /// The byte below [`Side::acked`] is being retransmitted, and how far
    /// apart its last two copies were, rounded up to a power of two
    /// milliseconds ([`Side::set_retransmitting`]); 0 when not.
    retx: u8,
    /// The keepalive record and candidates, once needed.
    cold: Option<Box<SideCold>>,
}

/// The longest a retransmission timer waits (Linux's `TCP_RTO_MAX`, 120 s,
/// and some slack): a copy later than this after the last is no backoff.
const RETX_LONGEST: Span = Span(150_000_000_000);
/// `Side::retx`'s largest exponent (2^17 ms, about 131 s).
const RETX_MAX_SHIFT: u8 = 18;

/// `Side::seqs`' indices (and bits of `Side::has`), and `has`' other bits.
const SND_NXT: usize = 0;
const ACKED: usize = 1;
const SYN_PENDING: usize = 2;
const HAS_WINDOW: u8 = 1 << 3;
const FIN: u8 = 1 << 4;
/// What the cold part holds, mirrored in `has` so that a segment reads the
/// cold part (a cache miss or more) only when it has
/// something to read there: undecided candidates, a lone byte, or a probe
/// still unanswered (the prober's [`Prober::outstanding`]).
const PENDING: u8 = 1 << 5;
const LONE_BYTE: u8 = 1 << 6;
const OUTSTANDING: u8 = 1 << 7;

/// What only a side that probed or sent candidates needs. The keepalive
/// record is inline (one allocation and one pointer to follow, not two):
/// nearly every side with a cold part probes.
#[derive(Clone, Debug, Default)]
pub(crate) struct SideCold {
    /// Keepalive record, this side's once it sent a probe ([`Side::prober`]);
    /// and its count of zero-window probes.
    prober: Prober,
    /// Undecided mid-capture candidates.
    pending: Option<Box<Pending>>,
    /// A lone 1-byte candidate the peer acknowledged without a D-SACK, and
    /// its answer: data, unless the same byte comes again as a probe (item 21).
    lone_byte: Option<Box<LoneByte>>,
}

/// What identifies a segment on the wire, to recognise duplicate captures:
/// a 64-bit digest of its sequence and acknowledgment numbers, length,
/// flags, window, SACK block, IPv4 identification and TCP timestamp (the
/// last two tell a second sending, a retransmission or another duplicate
/// ACK, from a second capture of one). Two different segments of one side
/// within [`DUPLICATE_WINDOW`] share a digest once in 2^64.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) struct Signature(u64);

impl Signature {
    /// The signature of a segment.
    #[inline]
    pub(crate) fn of(seg: &Segment) -> Signature {
        const K: u64 = 0x9E37_79B9_7F4A_7C15;
        let (sack, has_sack) = seg
            .sack
            .map_or((0, 0), |(l, r)| (u64::from(l.0) << 32 | u64::from(r.0), 1));
        let a = u64::from(seg.seq.0) << 32 | u64::from(seg.ack.0);
        let b = u64::from(seg.payload_len) << 32
            | u64::from(seg.window) << 16
            | u64::from(seg.flags.0) << 8
            | has_sack;
        // What tells two sendings apart: two captures of one share them.
        let c = u64::from(seg.ip_id) << 32 | u64::from(seg.tsval);
        // Each word folded in by an odd multiplier and a rotation, then
        // murmur3's finaliser: distinct inputs collide only by chance.
        let mut h = (a ^ K).wrapping_mul(K);
        h = (h.rotate_left(29) ^ b).wrapping_mul(K);
        h = (h.rotate_left(29) ^ sack).wrapping_mul(K);
        h = (h.rotate_left(29) ^ c).wrapping_mul(K);
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        Signature(h ^ (h >> 33))
    }
}

impl Side {
    fn new() -> Side {
        Side {
            last_rx_activity: OptTick::NONE,
            sent_at: OptTick::NONE,
            seqs: [0; 3],
            window: 0,
            has: 0,
            retx: 0,
            cold: None,
        }
    }

    /// What the classifier needs to know of this side, at `now`.
    pub(crate) fn view(&self, now: Tick) -> SideView {
        SideView {
            quiet: self.last_rx_activity().map(|t| now - t),
            retransmitting: self.retransmission_bound(),
            since_sent: None, // the analyser's to fill: it knows the segment before
            snd_nxt: self.snd_nxt(),
            acked: self.acked(),
            window: self.window(),
            syn_pending: self.syn_pending(),
            outstanding_probe: if self.outstanding() {
                self.prober().and_then(Prober::last).map(|l| (l.seq, l.ack))
            } else {
                None
            },
        }
    }

    #[inline]
    fn seq(&self, i: usize) -> Option<SeqNumber> {
        (self.has & 1 << i != 0).then_some(SeqNumber(self.seqs[i]))
    }

    #[inline]
    fn set_seq(&mut self, i: usize, v: Option<SeqNumber>) {
        match v {
            Some(SeqNumber(n)) => {
                self.seqs[i] = n;
                self.has |= 1 << i;
            }
            None => self.has &= !(1 << i),
        }
    }

    /// Highest seq + len this side has sent.
    #[inline]
    pub(crate) fn snd_nxt(&self) -> Option<SeqNumber> {
        self.seq(SND_NXT)
    }

    /// Sets [`Side::snd_nxt`].
    #[inline]
    pub(crate) fn set_snd_nxt(&mut self, v: Option<SeqNumber>) {
        self.set_seq(SND_NXT, v);
    }

    /// Highest ACK the other side has sent for this side's data.
    #[inline]
    pub(crate) fn acked(&self) -> Option<SeqNumber> {
        self.seq(ACKED)
    }

    /// Sets [`Side::acked`].
    #[inline]
    pub(crate) fn set_acked(&mut self, v: Option<SeqNumber>) {
        self.set_seq(ACKED, v);
    }

    /// The sequence number of a SYN this side sent that the peer has not
    /// synchronised with yet (no SYN-ACK, no ACK of it): item 19.
    #[inline]
    pub(crate) fn syn_pending(&self) -> Option<SeqNumber> {
        self.seq(SYN_PENDING)
    }

    /// Sets [`Side::syn_pending`].
    #[inline]
    pub(crate) fn set_syn_pending(&mut self, v: Option<SeqNumber>) {
        self.set_seq(SYN_PENDING, v);
    }

    /// Window this side last advertised.
    #[inline]
    pub(crate) fn window(&self) -> Option<u16> {
        (self.has & HAS_WINDOW != 0).then_some(self.window)
    }

    /// Sets [`Side::window`].
    #[inline]
    pub(crate) fn set_window(&mut self, w: u16) {
        self.window = w;
        self.has |= HAS_WINDOW;
    }

    /// FIN sent.
    #[inline]
    pub(crate) fn fin(&self) -> bool {
        self.has & FIN != 0
    }

    /// Records a FIN sent.
    #[inline]
    pub(crate) fn set_fin(&mut self) {
        self.has |= FIN;
    }

    /// Forgets the FIN: a new connection on the same 4-tuple.
    #[inline]
    pub(crate) fn clear_fin(&mut self) {
        self.has &= !FIN;
    }

    /// Sets whether this side is retransmitting the byte just below what
    /// the peer acknowledged on the wire (it resent that byte sooner than
    /// any keepalive timer fires, so the acknowledgment did not reach it,
    /// item 10), with the gap since its copy before: `None` when not.
    #[inline]
    pub(crate) fn set_retransmitting(&mut self, gap: Option<Span>) {
        self.retx = gap.map_or(0, |g| {
            // Kept as k + 1, 2^k ms being the gap rounded up to a power of
            // two (at least the gap, under twice it).
            let ms = (g.0.max(0) as u64).div_ceil(1_000_000).max(1);
            (ms.next_power_of_two().trailing_zeros() as u8 + 1).min(RETX_MAX_SHIFT)
        });
    }

    /// How long after its last copy a next copy of the byte still belongs
    /// to the retransmissions (their timer backs off, about doubling: three
    /// times the last gap, rounded up, and never past the longest
    /// retransmission timeout); `None` when not retransmitting.
    #[inline]
    fn retransmission_bound(&self) -> Option<Span> {
        (self.retx > 0).then(|| {
            let ms = 3i64 << (self.retx - 1);
            Span((ms * 1_000_000).min(RETX_LONGEST.0))
        })
    }

    /// Last activity received from the peer (see the field).
    #[inline]
    pub(crate) fn last_rx_activity(&self) -> Option<Tick> {
        self.last_rx_activity.get()
    }

    /// Sets the last activity received from the peer.
    #[inline]
    pub(crate) fn set_last_rx_activity(&mut self, t: Tick) {
        self.last_rx_activity = OptTick::some(t);
    }

    /// When this side last sent a segment.
    #[inline]
    pub(crate) fn sent_at(&self) -> Option<Tick> {
        self.sent_at.get()
    }

    /// Records that this side sent a segment at `at`.
    #[inline]
    pub(crate) fn set_sent_at(&mut self, at: Tick) {
        self.sent_at = OptTick::some(at);
    }

    /// Zero-window probes this side sent.
    #[inline]
    pub(crate) fn zero_window_probes(&self) -> u32 {
        self.cold
            .as_deref()
            .map_or(0, |c| c.prober.zero_window_probes)
    }

    /// Counts a zero-window probe this side sent.
    pub(crate) fn count_zero_window_probe(&mut self) {
        self.cold_mut().prober.zero_window_probes += 1;
    }

    /// The newest undecided candidate, if any.
    pub(crate) fn last_candidate(&self) -> Option<Candidate> {
        self.pending().and_then(|p| p.as_slice().last().copied())
    }

    fn cold_mut(&mut self) -> &mut SideCold {
        self.cold.get_or_insert_with(Default::default)
    }

    /// The keepalive record, if this side probed.
    #[inline]
    pub(crate) fn prober(&self) -> Option<&Prober> {
        // Every change but a probe needs one outstanding (the classifier
        // calls nothing a reply, a peer's RST or a give-up without one).
        self.cold
            .as_deref()
            .map(|c| &c.prober)
            .filter(|p| p.sent > 0)
    }

    /// Whether this side's last probe is unanswered (its prober's
    /// [`Prober::outstanding`], read without reading the prober).
    #[inline]
    pub(crate) fn outstanding(&self) -> bool {
        self.has & OUTSTANDING != 0
    }

    /// Updates the keepalive record (made on first use, keeping a timeline
    /// when `timeline`) with `f`: the only way to change it, so that
    /// [`Side::outstanding`] follows it.
    pub(crate) fn update_prober<R>(
        &mut self,
        timeline: bool,
        f: impl FnOnce(&mut Prober) -> R,
    ) -> R {
        let cold = self.cold_mut();
        if timeline && cold.prober.sent == 0 {
            cold.prober.keep_timeline();
        }
        let r = f(&mut cold.prober);
        let outstanding = cold.prober.outstanding;
        self.set_bit(OUTSTANDING, outstanding);
        r
    }

    #[inline]
    fn set_bit(&mut self, bit: u8, on: bool) {
        if on {
            self.has |= bit;
        } else {
            self.has &= !bit;
        }
    }

    /// The undecided candidates, if any.
    #[inline]
    pub(crate) fn pending(&self) -> Option<&Pending> {
        if self.has & PENDING == 0 {
            return None;
        }
        self.cold.as_deref()?.pending.as_deref()
    }

    /// The undecided candidates, created on first use.
    pub(crate) fn pending_mut(&mut self) -> &mut Pending {
        self.has |= PENDING;
        self.cold_mut().pending.get_or_insert_with(Default::default)
    }

    /// Takes the undecided candidates out.
    pub(crate) fn take_pending(&mut self) -> Option<Box<Pending>> {
        if self.has & PENDING == 0 {
            return None;
        }
        self.has &= !PENDING;
        self.cold.as_deref_mut()?.pending.take()
    }

    /// The frames a later event may still name: its undecided candidates',
    /// and its held lone byte's with that byte's answer.
    pub(crate) fn undecided_frames(&self) -> impl Iterator<Item = u64> + '_ {
        let pending = self.pending().map(Pending::as_slice).unwrap_or_default();
        let lone = (self.has & LONE_BYTE != 0)
            .then(|| self.cold.as_deref()?.lone_byte.as_deref())
            .flatten();
        pending
            .iter()
            .map(|c| c.frame)
            .chain(lone.into_iter().flat_map(|l| [l.cand.frame, l.answer.0]))
    }

    /// Takes the held lone byte out.
    #[inline]
    pub(crate) fn take_lone_byte(&mut self) -> Option<LoneByte> {
        if self.has & LONE_BYTE == 0 {
            return None;
        }
        self.has &= !LONE_BYTE;
        self.cold.as_deref_mut()?.lone_byte.take().map(|b| *b)
    }

    /// Holds a lone byte.
    pub(crate) fn set_lone_byte(&mut self, lone: LoneByte) {
        self.has |= LONE_BYTE;
        self.cold_mut().lone_byte = Some(Box::new(lone));
    }

    /// Whether the bits of `has` that mirror the cold part say what it
    /// holds (checked after every segment in debug builds: every test).
    pub(crate) fn mirrors_cold(&self) -> bool {
        let cold = self.cold.as_deref();
        (self.has & PENDING != 0) == cold.is_some_and(|c| c.pending.is_some())
            && (self.has & LONE_BYTE != 0) == cold.is_some_and(|c| c.lone_byte.is_some())
            && self.outstanding() == self.prober().is_some_and(|p| p.outstanding)
    }
}

/// [`Flow`]'s bit set while a side of its heartbeat record has a run of
/// beats going: data larger than a beat reads the record only then (most
/// data is large, and the record is another cache line).
const BEATS_OPEN: u8 = 2;

/// One connection.
///
/// Laid out in this order (`repr(C)`): the key and the byte that tells a
/// table slot in use (`state`'s niche) share the record's first cache line,
/// so a lookup that finds another key reads one line of the record, not its
/// last and its first.
#[derive(Clone, Debug)]
#[repr(C)]
pub(crate) struct Flow {
    /// Identity.
    pub key: FlowKey,
    /// Connection state.
    pub state: TcpState,
    /// Bit 0: the index of side `a` (the initiator when its SYN was seen,
    /// else by the ports, else the first sender): [`Flow::a`]. Bit 1:
    /// [`BEATS_OPEN`].
    bits: u8,
    /// Which of the analyser's epochs its times count from.
    pub epoch: u8,
    /// Started partway through a connection whose earlier segments were seen
    /// but left the table unkept.
    pub partial: bool,
    /// The inputs it was seen in, a bit each ([`crate::Analyzer::set_input`]).
    pub inputs: u32,
    /// Earliest segment's time.
    pub first_seen: Tick,
    /// Latest segment's time.
    pub last_seen: Tick,
    /// Last segment carrying payload that was not a probe.
    last_data: OptTick,
    /// Segments seen.
    pub segments: u64,
    /// The longest gap between two of its segments (either direction).
    pub longest_silence: Span,
    /// Application heartbeats, both sides: made when a side first sends a
    /// small data segment (see [`crate::heartbeat`]).
    pub heartbeats: Option<Box<Heartbeats>>,
    /// The two sides: 0 = the key's lower endpoint, 1 = its higher.
    pub sides: [Side; 2],
}

impl Flow {
    /// A flow first seen with `seg` (at `now` of epoch `epoch`), sent by side `tx`.
    pub(crate) fn new(key: FlowKey, seg: &Segment, (epoch, now): (u8, Tick), tx: usize) -> Flow {
        let a = match (seg.flags.syn(), seg.flags.ack()) {
            (true, true) => 1 - tx,
            (true, false) => tx,
            // No handshake: the ports may tell who connected.
            _ => match connected_by_ports(seg.src.port, seg.dst.port) {
                Some(false) => 1 - tx,
                _ => tx,
            },
        };
        Flow {
            key,
            bits: a as u8,
            epoch,
            first_seen: now,
            last_seen: now,
            last_data: OptTick::NONE,
            segments: 0,
            longest_silence: Span(0),
            inputs: 0,
            state: if seg.flags.syn() {
                TcpState::SynSent
            } else {
                TcpState::Established
            },
            partial: false,
            sides: [Side::new(), Side::new()],
            heartbeats: None,
        }
    }

    /// Index of side `a` (the initiator when its SYN was seen, else the end
    /// the ports show connected ([`connected_by_ports`]), else the first
    /// sender).
    #[inline]
    pub(crate) fn a(&self) -> usize {
        usize::from(self.bits & 1)
    }

    /// Makes side `tx` side `a`: the initiator of a new connection.
    #[inline]
    pub(crate) fn set_a(&mut self, tx: usize) {
        self.bits = self.bits & !1 | tx as u8;
    }

    /// Whether a side of its heartbeat record may have a run of beats
    /// going ([`BEATS_OPEN`]).
    #[inline]
    pub(crate) fn beats_open(&self) -> bool {
        self.bits & BEATS_OPEN != 0
    }

    /// Sets [`Flow::beats_open`].
    #[inline]
    pub(crate) fn set_beats_open(&mut self, open: bool) {
        self.bits = self.bits & !BEATS_OPEN | if open { BEATS_OPEN } else { 0 };
    }

    /// Side `i`'s address and port.
    #[inline]
    pub(crate) fn endpoint(&self, i: usize) -> Endpoint {
        self.key.endpoint(i)
    }

    /// The last segment carrying payload that was not a probe.
    #[inline]
    pub(crate) fn last_data(&self) -> Option<Tick> {
        self.last_data.get()
    }

    /// Sets the last segment carrying payload that was not a probe.
    #[inline]
    pub(crate) fn set_last_data(&mut self, t: Tick) {
        self.last_data = OptTick::some(t);
    }

    /// Whether a side probed.
    pub(crate) fn probed(&self) -> bool {
        self.sides.iter().any(|s| s.prober().is_some())
    }

    /// The sending side and the receiving side of a segment sent by side `tx`.
    pub(crate) fn split(&mut self, tx: usize) -> (&mut Side, &mut Side) {
        let [lo, hi] = &mut self.sides;
        if tx == 0 {
            (lo, hi)
        } else {
            (hi, lo)
        }
    }
}

#[cfg(test)]
mod signature_tests {
    use super::Signature;
    use crate::segment::{Endpoint, Segment, TcpFlags};
    use crate::seq::SeqNumber;
    use crate::time::Timestamp;

    fn seg() -> Segment {
        Segment {
            ts: Timestamp::from_secs_f64(1_000.0),
            seq: SeqNumber(1000),
            ack: SeqNumber(2000),
            window: 512,
            ..Segment::test_ack(
                Endpoint::new([198, 18, 0, 1].into(), 40000),
                Endpoint::new([198, 18, 0, 2].into(), 5000),
            )
        }
    }

    /// The digest tells apart segments that differ in any field it covers
    /// (fields shifted into one another's place included); the same segment
    /// captured again, as another frame a little later, has the same one.
    #[test]
    fn segments_differing_in_one_field_differ_in_signature() {
        let base = seg();
        let variants: [(&str, Segment); 11] = [
            (
                "seq",
                Segment {
                    seq: SeqNumber(1001),
                    ..base
                },
            ),
            (
                "ack",
                Segment {
                    ack: SeqNumber(2001),
                    ..base
                },
            ),
            (
                "length",
                Segment {
                    payload_len: 1,
                    ..base
                },
            ),
            (
                "flags",
                Segment {
                    flags: TcpFlags(TcpFlags::ACK | TcpFlags::PSH),
                    ..base
                },
            ),
            (
                "window",
                Segment {
                    window: 513,
                    ..base
                },
            ),
            (
                "a SACK block",
                Segment {
                    sack: Some((SeqNumber(0), SeqNumber(0))),
                    ..base
                },
            ),
            (
                "seq and ack swapped",
                Segment {
                    seq: SeqNumber(2000),
                    ack: SeqNumber(1000),
                    ..base
                },
            ),
            (
                "length in the window",
                Segment {
                    payload_len: 512,
                    window: 0,
                    ..base
                },
            ),
            (
                "window in the flags",
                Segment {
                    window: 0x10,
                    flags: TcpFlags(0),
                    ..base
                },
            ),
            // A second sending: the same segment but for these.
            (
                "IP identification",
                Segment {
                    ip_id: 0x1234,
                    ..base
                },
            ),
            ("TCP timestamp", Segment { tsval: 77, ..base }),
        ];
        let mut seen = vec![Signature::of(&base)];
        for (what, v) in &variants {
            let sig = Signature::of(v);
            assert!(!seen.contains(&sig), "{what}: a signature seen already");
            seen.push(sig);
        }
        let sacked = Segment {
            sack: Some((SeqNumber(5), SeqNumber(9))),
            ..base
        };
        let other = Segment {
            sack: Some((SeqNumber(5), SeqNumber(10))),
            ..base
        };
        assert_ne!(Signature::of(&sacked), Signature::of(&other), "SACK edges");
        let again = Segment {
            frame: 2,
            ts: Timestamp::from_secs_f64(1_000.000_1),
            ..base
        };
        assert_eq!(
            Signature::of(&again),
            Signature::of(&base),
            "the same segment again"
        );
    }
}

#[cfg(test)]
mod size_tests {
    #[test]
    fn flow_state_stays_small() {
        let flow = std::mem::size_of::<super::Flow>();
        let key = std::mem::size_of::<super::FlowKey>();
        let prober = std::mem::size_of::<crate::prober::Prober>();
        let beats = std::mem::size_of::<crate::heartbeat::Heartbeats>();
        eprintln!("Flow {flow} B, FlowKey {key} B, Prober {prober} B, Heartbeats {beats} B");
        // Every segment touches it: 184 bytes, the key's 48 included (448
        // before the side's endpoints came from the key, optional times and
        // sequence numbers were packed, the prober, candidates and lone
        // byte went behind one pointer a side, times became 8-byte ticks,
        // and the duplicates' signatures moved to the analyser's table of
        // recent segments). What only probing sides need is apart.
        assert!(flow <= 184, "Flow grew to {flow} bytes");
        let cold = std::mem::size_of::<super::SideCold>();
        assert!(cold <= 248, "a side's cold part grew to {cold} bytes");
        assert!(prober <= 232, "Prober grew to {prober} bytes");
        assert!(beats <= 120, "Heartbeats grew to {beats} bytes");
    }
}

#[cfg(test)]
mod key_tests {
    use super::FlowKey;
    use crate::segment::{Endpoint, Segment, Vlan};
    use proptest::prelude::*;
    use std::hash::{BuildHasher, Hash};
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    fn seg(src: Endpoint, dst: Endpoint, vlan: Vlan) -> Segment {
        Segment {
            vlan,
            ..Segment::test_ack(src, dst)
        }
    }

    /// Addresses near each other and across families, so that the order's
    /// every step (family, high word, low word, port) decides some pairs.
    fn endpoint() -> impl Strategy<Value = Endpoint> {
        let ip = prop_oneof![
            (0u32..4).prop_map(|a| IpAddr::V4(Ipv4Addr::from(0xC612_0000 + a))),
            any::<u32>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
            (0u128..3, 0u128..3).prop_map(|(h, l)| IpAddr::V6(Ipv6Addr::from(h << 64 | l))),
            // An IPv4-mapped IPv6 address is not its IPv4 address.
            any::<u32>().prop_map(|a| IpAddr::V6(Ipv4Addr::from(a).to_ipv6_mapped())),
            any::<u128>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a))),
        ];
        (ip, prop_oneof![0u16..3, any::<u16>()]).prop_map(|(ip, port)| Endpoint { ip, port })
    }

    fn hash_of(v: &impl Hash) -> u64 {
        std::hash::BuildHasherDefault::<std::hash::DefaultHasher>::default().hash_one(v)
    }

    proptest! {
        /// The key orders its endpoints as `Endpoint`'s order does, names
        /// the sender's side, gives the endpoints back, tells keys apart
        /// exactly when their endpoints or tags differ, and hashes as the
        /// endpoints and tags do (the retired map and the forgotten filter
        /// rely on that hash).
        #[test]
        fn keys_are_their_endpoints_in_order(
            a in endpoint(),
            b in endpoint(),
            c in endpoint(),
            tag in proptest::option::of(any::<u16>()),
        ) {
            let mut vlan = Vlan::NONE;
            if let Some(t) = tag {
                vlan.push(t);
            }
            let (key, tx) = FlowKey::of(&seg(a, b, vlan));
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            prop_assert_eq!(tx, usize::from(a > b));
            prop_assert_eq!((key.endpoint(0), key.endpoint(1)), (lo, hi));
            // (A segment from an endpoint to itself is sent by side 0 either way.)
            let back = if a == b { tx } else { 1 - tx };
            prop_assert_eq!(FlowKey::of(&seg(b, a, vlan)), (key, back), "the same flow from its other side");
            let other = FlowKey::of(&seg(a, c, vlan)).0;
            prop_assert_eq!(key == other, (lo, hi) == if a <= c { (a, c) } else { (c, a) });
            prop_assert_eq!(hash_of(&key), hash_of(&(lo, hi, vlan)));
        }
    }

    #[test]
    fn vlan_tags_tell_flows_apart() {
        let (a, b) = (
            Endpoint::new([198, 18, 0, 1].into(), 40000),
            Endpoint::new([198, 18, 0, 2].into(), 22),
        );
        let mut tagged = Vlan::NONE;
        tagged.push(7);
        assert_ne!(
            FlowKey::of(&seg(a, b, Vlan::NONE)).0,
            FlowKey::of(&seg(a, b, tagged)).0
        );
    }
}
