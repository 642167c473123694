//! Large synthetic captures, and the truth they were made from.
//!
//! A streaming generator for benchmarks and end-to-end truth tests: tens of
//! thousands of overlapping TCP flows (IPv4, some IPv6, some VLAN-tagged),
//! each simulated by a small model of two Linux TCP endpoints and a capture
//! point on the path between them. Frames come out in capture-time order,
//! built with etherparse; nothing holds more than the flows alive at a moment.
//!
//! What the model does, per KEEPALIVE-FACTS:
//! - keepalive timers as `tcp_keepalive_timer` runs them (items 1-8): idle is
//!   counted from the last segment a side *accepted*; a probe is 0 bytes (or,
//!   rarely, 1 byte) at `snd_una - 1`; unanswered probes every `intvl`; an RST
//!   when the timer fires with `cnt` probes out (or past TCP_USER_TIMEOUT);
//!   an answer resets the count, so answered probes recur every
//!   `max(idle, intvl)`; no probe while data is in flight or queued; a
//!   received probe is dropped out of window and answered with a duplicate ACK
//!   without touching the receiver's idle clock; every timer fires 0-3 % late;
//! - peers that vanish (silent: the prober gives up) or reboot (they answer
//!   the next probe with a bare RST at the probe's ack number, item 12);
//! - probes lost after the capture point (unanswered on the wire);
//! - zero-window probes with exponential backoff (item 9), tail-loss
//!   retransmissions and a 1-byte segment resent because its ACK was lost
//!   (item 10), application heartbeats (item 11): none of them keepalives;
//! - flows that started before the capture (no handshake, mid-idle, item 18).
//!
//! The [`Truth`] is not re-derived from the wire: the model knows which
//! segment is a probe, an answer, a give-up, and what each side's kernel
//! measured. Per flow and per prober it says the configured settings, what
//! the capture shows of them, and the expected outcome.
//!
//! ```no_run
//! use kawatch::synth::{Config, Generator};
//! let mut gen = Generator::new(Config::new(1000, 50_000, 7));
//! let mut frame = Vec::new();
//! while let Some(ts) = gen.next_frame(&mut frame) {
//!     let _ = (ts, &frame);
//! }
//! let truth = gen.finish();
//! println!("{} flows", truth.flows.len());
//! ```

use etherparse::{
    IpHeaders, IpNumber, Ipv4Header, PacketBuilder, PacketBuilderStep, TcpOptionElement,
};
use kawatch_core::Endpoint;
use kawatch_core::Outcome;
use kawatch_core::Timestamp;
use serde::Serialize;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const NS: i64 = 1_000_000_000;
const MS: i64 = 1_000_000;
const US: i64 = 1_000;

/// Epoch second of capture time 0.
pub const EPOCH_BASE_S: i64 = 1_700_000_000;

/// Timers fire late by up to this fraction of their timeout (item 7).
pub const MAX_LATE: f64 = 0.03;

/// How early an observation may be read without changing its whole second:
/// capture jitter and other stacks' coarse timers (kawatch allows 0.5 %, at
/// least 50 ms and at most 200 ms). A setting is determinable from the wire
/// when its latest observation plus this stays below the next whole second.
fn early_allowance(observed: f64) -> f64 {
    (observed * 0.005).clamp(0.05, 0.2)
}

/// Whether `setting` seconds is the only whole second an observation up to
/// `max_observed` can come from (OS defaults are taken as known).
fn whole_second_determinable(setting: u32, max_observed: f64) -> bool {
    max_observed + early_allowance(max_observed) < setting as f64 + 1.0 || is_os_default(setting)
}

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

/// Window scale both sides announce; windows on the wire are bytes >> this.
const WSCALE: u8 = 7;
/// An ordinary advertised window (scaled), 64 KiB.
const WINDOW: u16 = 502;
/// Receive buffer of a side whose application stops reading.
const SMALL_RCVBUF: u32 = 16 * 1024;
const ZEROS: [u8; 1500] = [0; 1500];

// ---------------------------------------------------------------------------
// Randomness

/// One step of splitmix64: mixes a seed into well-spread 64-bit values.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A small seeded PRNG (xorshift64*), seeded through splitmix64.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`; equal seeds give equal streams.
    pub fn new(seed: u64) -> Rng {
        let mut s = seed;
        let x = splitmix64(&mut s);
        Rng(if x == 0 { 0x853C_49E6_748F_EA9B } else { x })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Log-uniform in `[lo, hi)` (both > 0).
    pub fn log_uniform(&mut self, lo: f64, hi: f64) -> f64 {
        (lo.ln() + (hi.ln() - lo.ln()) * self.unit()).exp()
    }

    /// One of `xs`, uniformly.
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }

    /// One of `xs`, with the given weights.
    pub fn weighted<T: Copy>(&mut self, xs: &[(u32, T)]) -> T {
        let total: u64 = xs.iter().map(|&(w, _)| w as u64).sum();
        let mut r = self.below(total);
        for &(w, x) in xs {
            if r < w as u64 {
                return x;
            }
            r -= w as u64;
        }
        xs[xs.len() - 1].1
    }
}

fn to_epoch_s(t: i64) -> f64 {
    (EPOCH_BASE_S * NS + t) as f64 / NS as f64
}

fn secs(s: f64) -> i64 {
    (s * NS as f64) as i64
}

fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

fn seq_le(a: u32, b: u32) -> bool {
    !seq_lt(b, a)
}

// ---------------------------------------------------------------------------
// Configuration and truth

/// What to generate.
#[derive(Clone, Debug)]
pub struct Config {
    /// Flows to start (flows that started before the capture included).
    pub flows: u32,
    /// Frames to write at most; the capture is cut there if it comes first.
    pub packets: u64,
    /// PRNG seed: equal configs give byte-identical captures.
    pub seed: u64,
    /// Capture length in seconds.
    pub duration_s: u32,
}

impl Config {
    /// `flows` flows and about `packets` frames over three hours.
    pub fn new(flows: u32, packets: u64, seed: u64) -> Config {
        Config {
            flows,
            packets,
            seed,
            duration_s: 3 * 3600,
        }
    }
}

/// What a flow was made to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowKind {
    /// Requests and responses with idle gaps; short keepalive settings on one or both sides.
    Keepalive,
    /// Long idle gaps; long keepalive settings (including Linux's 7200/75/9).
    KeepaliveLong,
    /// A pooled connection: small requests, long idle gaps, no keepalive.
    Plain,
    /// Large responses in quick succession, no keepalive.
    Bulk,
    /// Application heartbeats (new data), no keepalive (item 11).
    Heartbeat,
    /// Uploads into a receiver that stops reading: zero-window probes (item 9).
    ZeroWindow,
    /// Tail losses and a 1-byte segment resent because its ACK was lost (item 10).
    Retransmission,
}

/// A side's keepalive settings (TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_KEEPCNT).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct KeepaliveConfig {
    /// Idle time before the first probe, seconds.
    pub idle_s: u32,
    /// Interval between unanswered probes, seconds.
    pub intvl_s: u32,
    /// Unanswered probes before giving up.
    pub probes: u32,
    /// TCP_USER_TIMEOUT, if set: give up once idle reaches it with a probe out (item 8).
    pub user_timeout_ms: Option<u32>,
    /// Probe payload: 0 (Linux) or 1 garbage byte (Windows and old BSD, item 14).
    pub probe_len: u8,
}

/// The whole capture's truth.
#[derive(Clone, Debug, Serialize)]
pub struct Truth {
    /// The seed.
    pub seed: u64,
    /// Flows asked for.
    pub flows_requested: u32,
    /// Frames written.
    pub frames: u64,
    /// Frame bytes written (full frames, before any snaplen).
    pub bytes: u64,
    /// Epoch seconds of the first frame.
    pub first_ts: Option<f64>,
    /// Epoch seconds of the last frame.
    pub last_ts: Option<f64>,
    /// Most flows the generator simulated at one moment.
    pub max_simulated_flows: usize,
    /// Most connections open at one moment in the capture (from a flow's
    /// first frame to its last, or to the end when it was left open).
    pub max_open_flows: usize,
    /// Flows with at least one frame in the capture, by id.
    pub flows: Vec<FlowTruth>,
}

/// How a flow ended, as far as the capture goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowEnd {
    /// Still open when the capture ended.
    Open,
    /// FIN exchange.
    Closed,
    /// An application abort (RST).
    Aborted,
    /// A keepalive gave up (RST).
    Dead,
    /// A rebooted peer answered with RST.
    Reset,
}

/// One flow.
#[derive(Clone, Debug, Serialize)]
pub struct FlowTruth {
    /// Generator flow id.
    pub id: u32,
    /// What it was made to do.
    pub kind: FlowKind,
    /// Client (initiator) endpoint, as kawatch prints endpoints.
    pub client: String,
    /// Server endpoint.
    pub server: String,
    /// VLAN id, if tagged.
    pub vlan: Option<u16>,
    /// Connected before the capture started (no handshake in it).
    pub started_before_capture: bool,
    /// Round-trip time, ms.
    pub rtt_ms: f64,
    /// Where the capture sits: 0 = at the client, 1 = at the server.
    pub capture_at: f64,
    /// First frame of the flow in the capture, epoch seconds.
    pub first_ts: f64,
    /// Last frame of the flow in the capture, epoch seconds.
    pub last_ts: f64,
    /// Segments in the capture.
    pub segments: u64,
    /// Zero-window probes in the capture.
    pub zero_window_probes: u32,
    /// Retransmitted data segments in the capture.
    pub retransmissions: u32,
    /// How it ended.
    pub end: FlowEnd,
    /// Client side, then server side.
    pub sides: [SideTruth; 2],
}

/// One side of a flow.
#[derive(Clone, Debug, Serialize)]
pub struct SideTruth {
    /// The endpoint.
    pub endpoint: String,
    /// Keepalive settings; `None` = keepalive off.
    pub keepalive: Option<KeepaliveConfig>,
    /// What its probes in the capture show; `None` when it sent none there.
    pub prober: Option<ProberTruth>,
}

/// What one prober's probes in the capture show.
#[derive(Clone, Debug, Serialize)]
pub struct ProberTruth {
    /// Keepalive probes in the capture.
    pub probes_sent: u32,
    /// Of those, answered in the capture (by the peer's ACK, any accepted segment, or RST).
    pub probes_answered: u32,
    /// Where probing stands at the end of the capture.
    pub outcome: Outcome,
    /// On give-up: unanswered probes of the final run that are in the capture.
    pub give_up_probes: Option<u32>,
    /// On give-up: the kernel's count of unanswered probes (`probes_out`).
    pub give_up_probes_kernel: Option<u32>,
    /// On give-up: every probe of the final run is in the capture.
    pub give_up_run_whole: bool,
    /// Some episode's first probe came when the timer had run the configured idle
    /// (not later, as when the timer was on the interval's beat), and the
    /// segment that started that idle is in the capture and is not the answer
    /// to the prober's previous probe (then the gap is max(idle, intvl), item 5).
    pub idle_observable: bool,
    /// Some first probe has its last received segment in the capture (tight or not).
    pub idle_bounded: bool,
    /// The whole-second idle is determinable from an observation: 0-3 % late,
    /// plus the capture offset, plus a small early allowance stays under the
    /// next second; or it is an OS default.
    pub idle_exact: bool,
    /// Largest observed idle a tight episode can show, seconds.
    pub idle_observed_max_s: f64,
    /// Two consecutive probes in the capture, the first unanswered.
    pub intvl_observable: bool,
    /// The whole-second interval is determinable (as for idle, without the offset).
    pub intvl_exact: bool,
    /// Largest spacing unanswered probes can show, seconds.
    pub intvl_observed_max_s: f64,
    /// The wire proves these are probes even without the start of the flow
    /// (item 18): the peer's ACK of the probed byte is in the capture, or three
    /// unanswered in a row, or a give-up, or a peer RST.
    pub recognisable: bool,
    /// First probe in the capture, epoch seconds.
    pub first_probe: f64,
    /// Last probe in the capture, epoch seconds.
    pub last_probe: f64,
}

// ---------------------------------------------------------------------------
// Packets and events of one flow

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Syn,
    Data,
    Ack,
    Fin,
    AppRst,
    /// `tight`: the kernel's idle at the probe was within lateness of the
    /// setting; `rx_cap`: capture time of the segment that started the idle.
    /// `after_reply`: that segment was the peer's answer to this side's own
    /// probe, so the gap to this probe is max(idle, intvl), not idle (item 5).
    Probe {
        tight: bool,
        rx_cap: i64,
        after_reply: bool,
    },
    ProbeAnswer,
    GiveUp {
        probes_out: u32,
    },
    PeerRst,
    /// A rebooted peer's RST answering something other than a probe.
    RebootRst,
    Zwp,
    ZwpAnswer,
    Retrans,
    DupAck,
    WinUpdate,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Loss {
    None,
    /// Lost past the capture point: captured, never delivered.
    AfterCapture,
    /// Lost before the capture point: neither captured nor delivered.
    BeforeCapture,
}

#[derive(Clone, Copy, Debug)]
struct Pkt {
    from: u8,
    flags: u8,
    seq: u32,
    ack: u32,
    win: u16,
    len: u16,
    sack: Option<(u32, u32)>,
    tsval: u32,
    tsecr: u32,
    ip_id: u16,
    role: Role,
    sent_at: i64,
}

#[derive(Clone, Copy, Debug)]
enum Ev {
    Deliver(Pkt),
    KaTimer {
        side: u8,
        gen: u32,
    },
    Persist {
        side: u8,
        gen: u32,
    },
    DelAck {
        side: u8,
        gen: u32,
    },
    Rto {
        side: u8,
        seq: u32,
        len: u16,
        attempt: u8,
    },
    Xmit {
        side: u8,
    },
    Connect,
    Round,
    Respond,
    Resume,
    Close {
        side: u8,
        abort: bool,
    },
    Vanish {
        side: u8,
        reboot: bool,
    },
}

struct Timed<T> {
    t: i64,
    n: u32,
    v: T,
}

impl<T> PartialEq for Timed<T> {
    fn eq(&self, o: &Self) -> bool {
        (self.t, self.n) == (o.t, o.n)
    }
}
impl<T> Eq for Timed<T> {}
impl<T> PartialOrd for Timed<T> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<T> Ord for Timed<T> {
    // Reversed: BinaryHeap pops the earliest.
    fn cmp(&self, o: &Self) -> Ordering {
        (o.t, o.n).cmp(&(self.t, self.n))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Gone {
    No,
    Silent,
    Rebooted,
}

#[derive(Clone, Debug)]
struct Side {
    snd_una: u32,
    snd_nxt: u32,
    rcv_nxt: u32,
    established: bool,
    closed: bool,
    fin_sent: bool,
    fin_rcvd: bool,
    gone: Gone,
    /// Peer's window in bytes.
    peer_wnd: u32,
    /// Bytes the application wrote that are not sent yet.
    pending_tx: u32,
    xmit_scheduled: bool,
    /// Receive buffer, and bytes in it the application has not read.
    rcvbuf: u32,
    unread: u32,
    app_paused: bool,
    /// Window this side last advertised.
    adv_win: u16,
    last_rx: i64,
    last_rx_cap: i64,
    /// The last accepted segment was the peer's answer to this side's probe.
    last_rx_reply: bool,
    ka: Option<KeepaliveConfig>,
    probes_out: u32,
    ka_gen: u32,
    persist_gen: u32,
    persist_running: bool,
    persist_backoff: u32,
    delack_gen: u32,
    rx_unacked: u32,
    ts_recent: u32,
    ts_base: u32,
    /// IPv4 identification of the next segment (Linux: a per-socket counter).
    ip_id: u16,
    /// ACKs this side sends that are to be lost before the capture point.
    lose_acks: u8,
}

impl Side {
    fn new(iss: u32, ts_base: u32, ka: Option<KeepaliveConfig>) -> Side {
        Side {
            snd_una: iss,
            snd_nxt: iss,
            rcv_nxt: 0,
            established: false,
            closed: false,
            fin_sent: false,
            fin_rcvd: false,
            gone: Gone::No,
            peer_wnd: 65535,
            pending_tx: 0,
            xmit_scheduled: false,
            rcvbuf: (WINDOW as u32) << WSCALE,
            unread: 0,
            app_paused: false,
            adv_win: WINDOW,
            last_rx: i64::MIN / 4,
            last_rx_cap: i64::MIN / 4,
            last_rx_reply: false,
            ka,
            probes_out: 0,
            ka_gen: 0,
            persist_gen: 0,
            persist_running: false,
            persist_backoff: 0,
            delack_gen: 0,
            rx_unacked: 0,
            ts_recent: 0,
            ts_base,
            ip_id: ts_base as u16,
            lose_acks: 0,
        }
    }

    fn window(&self) -> u16 {
        let free = self.rcvbuf.saturating_sub(self.unread);
        ((free >> WSCALE) as u16).min(WINDOW)
    }

    fn alive(&self) -> bool {
        self.gone == Gone::No && !self.closed
    }
}

/// What the capture shows of one side as a prober, accumulated frame by frame.
#[derive(Clone, Debug, Default)]
struct ProberAcc {
    sent: u32,
    answered: u32,
    outstanding: bool,
    /// The outstanding probe's seq + 1: what the peer's answer acknowledges.
    probed: u32,
    run: u32,
    max_run: u32,
    intvl_seen: bool,
    idle_tight: bool,
    idle_any: bool,
    gave_up: Option<(u32, u32)>,
    reset: bool,
    first: i64,
    last: i64,
    peer_ack_seen: bool,
}

#[derive(Clone, Debug, Default)]
struct SideAcc {
    prober: Option<ProberAcc>,
    /// A segment from the peer acknowledging this side's data is in the capture.
    peer_ack_seen: bool,
}

/// Per-flow plan of what the application does.
#[derive(Clone, Debug)]
struct App {
    rounds: u32,
    srv_expect: u32,
    srv_reply: u32,
    srv_think: i64,
    cli_expect: u32,
    respond_scheduled: bool,
    /// No more rounds: a side vanished, or the flow is winding down.
    stopped: bool,
    heartbeat_every: i64,
}

struct Flow {
    id: u32,
    kind: FlowKind,
    rng: Rng,
    pre: bool,
    vlan: Option<u16>,
    ip: [IpAddr; 2],
    port: [u16; 2],
    mac: [[u8; 6]; 2],
    d: i64,
    off: [i64; 2],
    capture_at: f64,
    ts_on: bool,
    sack_on: bool,
    mss: u32,
    probe_loss: f64,
    /// From this time the path is cut (a NAT or firewall dropped the flow's
    /// state): the near side's segments are captured and lost past the
    /// capture point, the far side's are lost before it. (time, near side)
    partition: Option<(i64, u8)>,
    /// Receive processing delay per side: a reply leaves this long after the
    /// segment it answers arrived.
    stack_delay: [i64; 2],
    sides: [Side; 2],
    events: BinaryHeap<Timed<Ev>>,
    nev: u32,
    out: BinaryHeap<Timed<Pkt>>,
    nout: u32,
    now: i64,
    end_ns: i64,
    budget: u64,
    sent: u64,
    app: App,
    // truth
    acc: [SideAcc; 2],
    segments: u64,
    first_cap: i64,
    last_cap: i64,
    zwp: u32,
    retrans: u32,
    end: FlowEnd,
}

const KA_IDLE_SHORT: [(u32, u32); 9] = [
    (12, 1),
    (14, 2),
    (10, 3),
    (6, 4),
    (12, 5),
    (6, 7),
    (10, 10),
    (6, 15),
    (6, 20),
];
const KA_INTVL_SHORT: [(u32, u32); 6] = [(16, 1), (12, 2), (10, 3), (10, 5), (6, 10), (4, 15)];
const KA_IDLE_LONG: [(u32, u32); 8] = [
    (6, 30),
    (3, 45),
    (6, 60),
    (3, 75),
    (5, 120),
    (5, 300),
    (3, 600),
    (8, 7200),
];
const KA_INTVL_LONG: [(u32, u32); 6] = [(4, 5), (5, 10), (3, 15), (4, 30), (2, 60), (5, 75)];
const SERVICE_PORTS: [u16; 8] = [22, 443, 5432, 6379, 3306, 8080, 9092, 5672];

/// Values kawatch's OS-default table holds (idle 7200, intvl 75 / 1).
fn is_os_default(v: u32) -> bool {
    matches!(v, 1 | 75 | 7200)
}

/// The draws every flow starts with: reproducible from (seed, id) alone, so
/// start times can be planned before any flow exists.
fn flow_head(cfg: &Config, id: u32) -> (Rng, FlowKind, bool, i64) {
    let mut s = cfg.seed ^ 0x6B61_7761_7463_6821;
    let base = splitmix64(&mut s);
    let mut rng = Rng::new(base ^ (id as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
    let kind = rng.weighted(&[
        (24, FlowKind::Keepalive),
        (18, FlowKind::KeepaliveLong),
        (28, FlowKind::Plain),
        (8, FlowKind::Bulk),
        (8, FlowKind::Heartbeat),
        (7, FlowKind::ZeroWindow),
        (7, FlowKind::Retransmission),
    ]);
    let d = cfg.duration_s as f64;
    let pre = match kind {
        FlowKind::KeepaliveLong => rng.chance(0.5),
        FlowKind::Plain => rng.chance(0.4),
        FlowKind::Keepalive | FlowKind::Heartbeat => rng.chance(0.1),
        _ => false,
    };
    let start = match (kind, pre) {
        (FlowKind::KeepaliveLong, true) => -rng.uniform(1.0, 3.0 * 3600.0),
        (FlowKind::Plain, true) => -rng.uniform(1.0, 3600.0),
        (FlowKind::KeepaliveLong | FlowKind::Plain, false) => rng.uniform(0.0, 0.6 * d),
        (_, true) => -rng.uniform(1.0, 900.0),
        (_, false) => rng.uniform(0.0, 0.92 * d),
    };
    (rng, kind, pre, secs(start))
}

impl Flow {
    fn new(cfg: &Config, id: u32, budget_scale: f64) -> Flow {
        let (mut rng, kind, pre, start) = flow_head(cfg, id);
        let v6 = rng.chance(0.15);
        let vlan = rng.chance(0.05).then(|| rng.range(10, 4000) as u16);
        let host = id % 4093;
        let cport = 32768 + (id / 4093) as u16;
        let srv = rng.below(64) as u8;
        let sport = rng.pick(&SERVICE_PORTS);
        let ip = if v6 {
            let c = Ipv6Addr::new(0x2001, 0xdb8, 0xc, 0, 0, 0, 0, host as u16 + 1);
            let s = Ipv6Addr::new(0x2001, 0xdb8, 0x5, 0, 0, 0, 0, srv as u16 + 1);
            [IpAddr::V6(c), IpAddr::V6(s)]
        } else {
            let c = Ipv4Addr::new(198, 18, (host >> 8) as u8, (host & 0xff) as u8);
            let s = Ipv4Addr::new(198, 19, srv, 1);
            [IpAddr::V4(c), IpAddr::V4(s)]
        };
        let mac = [
            [0x02, 0, 0, 0, (host >> 8) as u8, host as u8],
            [0x02, 0xff, 0, 0, 0, 1],
        ];
        // One-way delay, and where the capture sits on the path.
        let d = secs(rng.log_uniform(50e-6, 0.04));
        let capture_at = match kind {
            // The capture at the sender of the probes/retransmissions shows
            // exactly what that sender's kernel saw, in its order.
            FlowKind::ZeroWindow | FlowKind::Retransmission => 0.0,
            _ => rng.weighted(&[(5, 0.0), (3, 1.0), (2, -1.0)]),
        };
        let capture_at = if capture_at < 0.0 {
            rng.uniform(0.1, 0.9)
        } else {
            capture_at
        };
        let off0 = (d as f64 * capture_at) as i64;
        let ts_on = rng.chance(0.85);
        let sack_on = rng.chance(0.9);
        let mss = (if v6 { 1440 } else { 1460 }) - if ts_on { 12 } else { 0 };

        let mut ka = [None, None];
        match kind {
            FlowKind::Keepalive => {
                let who = rng.weighted(&[(50, 0usize), (25, 1), (25, 2)]);
                for (s, k) in ka.iter_mut().enumerate() {
                    if who == s || who == 2 {
                        let mut cfg = short_keepalive(&mut rng);
                        // Stacks that send a garbage octet also do SACK, and
                        // only a D-SACK tells their answered probe from new data.
                        if sack_on && rng.chance(0.05) {
                            cfg.probe_len = 1;
                        }
                        *k = Some(cfg);
                    }
                }
            }
            FlowKind::KeepaliveLong => {
                let who = rng.weighted(&[(60, 0usize), (25, 1), (15, 2)]);
                for (s, k) in ka.iter_mut().enumerate() {
                    if who == s || who == 2 {
                        *k = Some(long_keepalive(&mut rng));
                    }
                }
            }
            _ => {}
        }
        let probe_loss = if ka.iter().any(Option::is_some) && rng.chance(0.15) {
            0.25
        } else {
            0.0
        };
        let iss = [rng.next_u64() as u32, rng.next_u64() as u32];
        let tsb = [rng.next_u64() as u32, rng.next_u64() as u32];
        let mut sides = [
            Side::new(iss[0], tsb[0], ka[0]),
            Side::new(iss[1], tsb[1], ka[1]),
        ];
        if kind == FlowKind::ZeroWindow {
            sides[1].rcvbuf = SMALL_RCVBUF;
        }
        let mean = budget_scale * kind_weight(kind);
        let budget = (mean * rng.uniform(0.4, 1.6)).max(8.0) as u64;
        let heartbeat_every = secs(rng.pick(&[1.0, 5.0, 10.0, 30.0, 60.0, 120.0]));
        let stack_delay = [rng.range(4, 40) as i64 * US, rng.range(4, 40) as i64 * US];
        let end_ns = cfg.duration_s as i64 * NS;
        let mut f = Flow {
            id,
            kind,
            rng,
            pre,
            vlan,
            ip,
            port: [cport, sport],
            mac,
            d,
            off: [off0, d - off0],
            capture_at,
            ts_on,
            sack_on,
            mss,
            probe_loss,
            partition: None,
            stack_delay,
            sides,
            events: BinaryHeap::new(),
            nev: 0,
            out: BinaryHeap::new(),
            nout: 0,
            now: start,
            end_ns,
            budget,
            sent: 0,
            app: App {
                rounds: 0,
                srv_expect: 0,
                srv_reply: 0,
                srv_think: 0,
                cli_expect: 0,
                respond_scheduled: false,
                stopped: false,
                heartbeat_every,
            },
            acc: Default::default(),
            segments: 0,
            first_cap: 0,
            last_cap: 0,
            zwp: 0,
            retrans: 0,
            end: FlowEnd::Open,
        };
        f.schedule(start, Ev::Connect);
        f
    }

    fn schedule(&mut self, t: i64, ev: Ev) {
        self.nev = self.nev.wrapping_add(1);
        self.events.push(Timed {
            t,
            n: self.nev,
            v: ev,
        });
    }

    fn late(&mut self, dur: i64) -> i64 {
        dur + (dur as f64 * MAX_LATE * self.rng.unit()) as i64
    }

    fn rto(&self) -> i64 {
        200 * MS + 2 * self.d
    }

    /// Capture time of the next frame, running the model as far as needed; `None` when done.
    fn advance(&mut self) -> Option<i64> {
        let min_off = self.off[0].min(self.off[1]);
        loop {
            let next_ev = self.events.peek().map(|e| e.t);
            // A frame is final once no event left can send one before it.
            let ready = match (self.out.peek().map(|p| p.t), next_ev) {
                (Some(p), Some(te)) => p <= te + min_off,
                (Some(_), None) => true,
                (None, _) => false,
            };
            if ready {
                let p = self.out.peek().map(|p| p.t).expect("ready");
                if p < 0 {
                    // Before the capture started: not in it.
                    self.out.pop();
                    continue;
                }
                if p >= self.end_ns {
                    self.out.clear();
                    self.events.clear();
                    return None;
                }
                return Some(p);
            }
            let te = next_ev?;
            if te >= self.end_ns {
                // Whatever these would send lies past the end of the capture.
                self.events.clear();
                continue;
            }
            let e = self.events.pop().expect("peeked");
            self.now = e.t;
            self.handle(e.v);
        }
    }

    // --- sending -----------------------------------------------------------

    fn pkt(&self, s: usize, flags: u8, seq: u32, len: u16, role: Role) -> Pkt {
        let side = &self.sides[s];
        Pkt {
            from: s as u8,
            flags,
            seq,
            ack: if flags & ACK != 0 { side.rcv_nxt } else { 0 },
            win: side.window(),
            len,
            sack: None,
            tsval: 0,
            tsecr: 0,
            ip_id: 0,
            role,
            sent_at: self.now,
        }
    }

    fn send(&mut self, mut p: Pkt, loss: Loss) {
        let s = p.from as usize;
        if self.sides[s].gone == Gone::Silent {
            return;
        }
        if self.ts_on {
            let side = &self.sides[s];
            p.tsval = side.ts_base.wrapping_add((self.now / MS) as u32);
            p.tsecr = if p.flags & SYN != 0 && p.flags & ACK == 0 {
                0
            } else {
                side.ts_recent
            };
        }
        let loss = if let Some((_, near)) = self.partition.filter(|&(t, _)| self.now >= t) {
            if s as u8 == near {
                Loss::AfterCapture
            } else {
                Loss::BeforeCapture
            }
        } else if matches!(p.role, Role::Ack | Role::DupAck) && self.sides[s].lose_acks > 0 {
            self.sides[s].lose_acks -= 1;
            Loss::BeforeCapture
        } else {
            loss
        };
        if self.now >= 0 {
            self.sent += 1;
        }
        p.ip_id = self.sides[s].ip_id;
        self.sides[s].ip_id = p.ip_id.wrapping_add(1);
        if loss != Loss::BeforeCapture {
            self.nout = self.nout.wrapping_add(1);
            self.out.push(Timed {
                t: self.now + self.off[s],
                n: self.nout,
                v: p,
            });
        }
        if loss == Loss::None {
            let at = self.now + self.d + self.stack_delay[1 - s];
            self.schedule(at, Ev::Deliver(p));
        }
        if p.flags & ACK != 0 {
            let side = &mut self.sides[s];
            side.rx_unacked = 0;
            side.delack_gen = side.delack_gen.wrapping_add(1);
            side.adv_win = p.win;
        }
    }

    fn send_ack(&mut self, s: usize, role: Role, sack: Option<(u32, u32)>) {
        let seq = self.sides[s].snd_nxt;
        let mut p = self.pkt(s, ACK, seq, 0, role);
        if self.sack_on {
            p.sack = sack;
        }
        self.send(p, Loss::None);
    }

    fn write(&mut self, s: usize, bytes: u32) {
        if bytes == 0 || !self.sides[s].alive() {
            return;
        }
        self.sides[s].pending_tx += bytes;
        self.kick_xmit(s);
    }

    fn kick_xmit(&mut self, s: usize) {
        if !self.sides[s].xmit_scheduled && self.sides[s].pending_tx > 0 {
            self.sides[s].xmit_scheduled = true;
            self.schedule(self.now, Ev::Xmit { side: s as u8 });
        }
    }

    fn xmit(&mut self, s: usize) {
        self.sides[s].xmit_scheduled = false;
        if !self.sides[s].alive() || self.sides[s].pending_tx == 0 {
            return;
        }
        let side = &self.sides[s];
        let in_flight = side.snd_nxt.wrapping_sub(side.snd_una);
        let usable = side.peer_wnd.saturating_sub(in_flight);
        let chunk = self.mss.min(side.pending_tx).min(usable);
        if chunk == 0 {
            if side.peer_wnd == 0 && in_flight == 0 && !side.persist_running {
                self.start_persist(s);
            }
            return; // an ACK that opens the window kicks it again
        }
        let last = chunk == side.pending_tx;
        let seq = side.snd_nxt;
        let flags = ACK | if last { PSH } else { 0 };
        let p = self.pkt(s, flags, seq, chunk as u16, Role::Data);
        let loss = self.data_loss(s, last);
        self.sides[s].snd_nxt = seq.wrapping_add(chunk);
        self.sides[s].pending_tx -= chunk;
        self.send(p, loss);
        if self.kind == FlowKind::Retransmission {
            let rto = self.rto();
            self.schedule(
                self.now + rto,
                Ev::Rto {
                    side: s as u8,
                    seq,
                    len: chunk as u16,
                    attempt: 1,
                },
            );
        }
        if self.sides[s].pending_tx > 0 {
            self.sides[s].xmit_scheduled = true;
            self.schedule(self.now + 12 * US, Ev::Xmit { side: s as u8 });
        }
    }

    /// Tail losses in retransmission flows: the client's are past the capture
    /// point (seen twice), the server's before it (seen once).
    fn data_loss(&mut self, s: usize, last: bool) -> Loss {
        if self.kind != FlowKind::Retransmission || !last || !self.rng.chance(0.3) {
            return Loss::None;
        }
        if s == 0 {
            Loss::AfterCapture
        } else {
            Loss::BeforeCapture
        }
    }

    fn start_persist(&mut self, s: usize) {
        let side = &mut self.sides[s];
        side.persist_running = true;
        side.persist_backoff = 0;
        side.persist_gen = side.persist_gen.wrapping_add(1);
        let gen = side.persist_gen;
        let t = self.now + self.rto();
        self.schedule(t, Ev::Persist { side: s as u8, gen });
    }

    fn arm_ka(&mut self, s: usize, dur: i64) {
        let t = self.now + self.late(dur);
        let side = &mut self.sides[s];
        side.ka_gen = side.ka_gen.wrapping_add(1);
        let gen = side.ka_gen;
        self.schedule(t, Ev::KaTimer { side: s as u8, gen });
    }

    // --- the model ---------------------------------------------------------

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Deliver(p) => self.deliver(p),
            Ev::KaTimer { side, gen } => self.keepalive_timer(side as usize, gen),
            Ev::Persist { side, gen } => self.persist_timer(side as usize, gen),
            Ev::DelAck { side, gen } => {
                let s = side as usize;
                if self.sides[s].delack_gen == gen
                    && self.sides[s].rx_unacked > 0
                    && self.sides[s].alive()
                {
                    self.send_ack(s, Role::Ack, None);
                }
            }
            Ev::Rto {
                side,
                seq,
                len,
                attempt,
            } => {
                let s = side as usize;
                let sd = &self.sides[s];
                if !sd.alive() || seq_le(seq.wrapping_add(len as u32), sd.snd_una) {
                    return;
                }
                let p = self.pkt(s, ACK | PSH, seq, len, Role::Retrans);
                self.send(p, Loss::None);
                let next = self.rto() << attempt.min(6);
                self.schedule(
                    self.now + next,
                    Ev::Rto {
                        side,
                        seq,
                        len,
                        attempt: attempt + 1,
                    },
                );
            }
            Ev::Xmit { side } => self.xmit(side as usize),
            Ev::Connect => {
                let p = self.pkt(0, SYN, self.sides[0].snd_nxt, 0, Role::Syn);
                self.sides[0].snd_nxt = self.sides[0].snd_nxt.wrapping_add(1);
                self.send(p, Loss::None);
            }
            Ev::Round => self.round(),
            Ev::Respond => {
                self.app.respond_scheduled = false;
                let n = self.app.srv_reply;
                self.app.srv_reply = 0;
                self.write(1, n);
            }
            Ev::Resume => {
                let srv = &mut self.sides[1];
                srv.app_paused = false;
                srv.unread = 0;
                if srv.adv_win < WINDOW / 2 && srv.alive() {
                    self.send_ack(1, Role::WinUpdate, None);
                }
                self.maybe_respond();
            }
            Ev::Close { side, abort } => {
                let s = side as usize;
                if !self.sides[s].alive() || self.sides[s].fin_sent {
                    return;
                }
                if self.sides.iter().any(|x| x.probes_out > 0) {
                    // An application close with a probe out would read as a
                    // give-up on the wire: wait for the answer (or the end).
                    self.schedule(self.now + NS, Ev::Close { side, abort });
                    return;
                }
                if abort {
                    let seq = self.sides[s].snd_nxt;
                    let p = self.pkt(s, RST | ACK, seq, 0, Role::AppRst);
                    self.send(p, Loss::None);
                    self.sides[s].closed = true;
                    self.end = FlowEnd::Aborted;
                } else {
                    self.send_fin(s);
                }
            }
            Ev::Vanish { side, reboot } => {
                let s = side as usize;
                if self.sides[s].alive() {
                    self.sides[s].gone = if reboot { Gone::Rebooted } else { Gone::Silent };
                }
            }
        }
    }

    fn send_fin(&mut self, s: usize) {
        let seq = self.sides[s].snd_nxt;
        let p = self.pkt(s, FIN | ACK, seq, 0, Role::Fin);
        self.sides[s].snd_nxt = seq.wrapping_add(1);
        self.sides[s].fin_sent = true;
        self.send(p, Loss::None);
    }

    fn deliver(&mut self, p: Pkt) {
        let r = 1 - p.from as usize;
        let cap = p.sent_at + self.off[p.from as usize];
        debug_assert!(cap <= self.now);
        match self.sides[r].gone {
            Gone::Silent => return,
            Gone::Rebooted => {
                if p.flags & RST == 0 {
                    // No socket any more: RST at the segment's ack number (item 12).
                    let (flags, seq, ack) = if p.flags & ACK != 0 {
                        (RST, p.ack, 0)
                    } else {
                        (RST | ACK, 0, p.seq.wrapping_add(p.len as u32))
                    };
                    let role = if matches!(p.role, Role::Probe { .. }) {
                        Role::PeerRst
                    } else {
                        Role::RebootRst
                    };
                    let mut q = self.pkt(r, flags, seq, 0, role);
                    q.ack = ack;
                    q.win = 0;
                    self.send(q, Loss::None);
                }
                return;
            }
            Gone::No => {}
        }
        if self.sides[r].closed {
            return;
        }
        if p.flags & RST != 0 {
            self.sides[r].closed = true;
            self.sides[1 - r].closed = true;
            return;
        }
        if self.ts_on && p.tsval != 0 {
            self.sides[r].ts_recent = p.tsval;
        }
        if p.flags & SYN != 0 {
            self.deliver_syn(r, p);
            return;
        }
        let side = &self.sides[r];
        let end = p.seq.wrapping_add(p.len as u32);
        // Out of window: a keepalive or zero-window probe, or data already
        // received. Answered with a duplicate ACK, dropped, no idle reset (item 6).
        let old = if p.len == 0 {
            p.flags & FIN == 0 && seq_lt(p.seq, side.rcv_nxt)
        } else {
            seq_le(end, side.rcv_nxt)
        };
        if old {
            let role = match p.role {
                Role::Probe { .. } => Role::ProbeAnswer,
                Role::Zwp => Role::ZwpAnswer,
                _ => Role::DupAck,
            };
            let dsack = (p.len > 0).then_some((p.seq, end));
            self.send_ack(r, role, dsack);
            return;
        }
        // Accepted.
        let now = self.now;
        let side = &mut self.sides[r];
        side.last_rx = now;
        side.last_rx_cap = cap;
        side.last_rx_reply = p.role == Role::ProbeAnswer;
        if p.flags & ACK != 0 && !seq_lt(p.ack, side.snd_una) {
            side.snd_una = p.ack;
            side.probes_out = 0;
            side.peer_wnd = (p.win as u32) << WSCALE;
            if p.win > 0 {
                side.persist_running = false;
                side.persist_gen = side.persist_gen.wrapping_add(1);
            }
            if !side.established {
                // The server: the handshake's last ACK.
                side.established = true;
                if let Some(ka) = side.ka {
                    self.arm_ka(r, ka.idle_s as i64 * NS);
                }
            }
            let side = &self.sides[r];
            if side.pending_tx > 0 {
                let in_flight = side.snd_nxt.wrapping_sub(side.snd_una);
                if side.peer_wnd == 0 && in_flight == 0 && !side.persist_running {
                    self.start_persist(r);
                } else {
                    self.kick_xmit(r);
                }
            }
        }
        if p.len > 0 {
            let side = &mut self.sides[r];
            side.rcv_nxt = end;
            if side.app_paused {
                side.unread += p.len as u32;
            }
            side.rx_unacked += 1;
            if side.rx_unacked >= 2 {
                self.send_ack(r, Role::Ack, None);
            } else {
                let gen = side.delack_gen;
                self.schedule(now + 40 * MS, Ev::DelAck { side: r as u8, gen });
            }
            self.app_data(r, p.len as u32);
        }
        if p.flags & FIN != 0 {
            let side = &mut self.sides[r];
            side.rcv_nxt = side.rcv_nxt.wrapping_add(1);
            side.fin_rcvd = true;
            if side.fin_sent {
                side.closed = true;
                self.send_ack(r, Role::Ack, None);
            } else {
                self.send_fin(r);
            }
            self.app.stopped = true;
            if self.end == FlowEnd::Open {
                self.end = FlowEnd::Closed;
            }
        }
    }

    fn deliver_syn(&mut self, r: usize, p: Pkt) {
        self.sides[r].rcv_nxt = p.seq.wrapping_add(1);
        self.sides[r].last_rx = self.now;
        self.sides[r].last_rx_cap = p.sent_at + self.off[p.from as usize];
        if p.flags & ACK == 0 {
            // Server: SYN-ACK.
            let seq = self.sides[r].snd_nxt;
            let q = self.pkt(r, SYN | ACK, seq, 0, Role::Syn);
            self.sides[r].snd_nxt = seq.wrapping_add(1);
            self.send(q, Loss::None);
        } else {
            // Client: established.
            let side = &mut self.sides[r];
            side.snd_una = p.ack;
            side.established = true;
            side.peer_wnd = (p.win as u32) << WSCALE;
            if let Some(ka) = side.ka {
                self.arm_ka(r, ka.idle_s as i64 * NS);
            }
            self.send_ack(r, Role::Ack, None);
            let think = secs(self.rng.log_uniform(1e-4, 0.05));
            self.schedule(self.now + think, Ev::Round);
        }
    }

    /// `tcp_keepalive_timer`, KEEPALIVE-FACTS items 1-3 and 8.
    fn keepalive_timer(&mut self, s: usize, gen: u32) {
        let side = &self.sides[s];
        if gen != side.ka_gen || !side.alive() || side.fin_sent || side.fin_rcvd {
            return;
        }
        let Some(ka) = side.ka else { return };
        let idle = ka.idle_s as i64 * NS;
        if side.snd_nxt != side.snd_una || side.pending_tx > 0 {
            // Data in flight or queued: the retransmission or persist timer is in charge.
            self.arm_ka(s, idle);
            return;
        }
        let elapsed = self.now - side.last_rx;
        if elapsed < idle {
            self.arm_ka(s, idle - elapsed);
            return;
        }
        let give_up = match ka.user_timeout_ms {
            Some(ut) => elapsed >= ut as i64 * MS && side.probes_out > 0,
            None => side.probes_out >= ka.probes,
        };
        if give_up {
            let seq = side.snd_nxt;
            let probes_out = side.probes_out;
            let p = self.pkt(s, RST | ACK, seq, 0, Role::GiveUp { probes_out });
            self.send(p, Loss::None);
            self.sides[s].closed = true;
            self.end = FlowEnd::Dead;
            return;
        }
        let tight = elapsed - idle <= (idle as f64 * MAX_LATE) as i64 + US;
        let role = Role::Probe {
            tight,
            rx_cap: side.last_rx_cap,
            after_reply: side.last_rx_reply,
        };
        let seq = side.snd_una.wrapping_sub(1);
        let p = self.pkt(s, ACK, seq, ka.probe_len as u16, role);
        let loss = if self.probe_loss > 0.0 && self.rng.chance(self.probe_loss) {
            Loss::AfterCapture
        } else {
            Loss::None
        };
        self.send(p, loss);
        self.sides[s].probes_out += 1;
        self.arm_ka(s, ka.intvl_s as i64 * NS);
    }

    /// The persist timer: zero-window probes at snd_una - 1 with backoff (item 9).
    fn persist_timer(&mut self, s: usize, gen: u32) {
        let side = &self.sides[s];
        if gen != side.persist_gen || !side.persist_running || !side.alive() {
            return;
        }
        if side.peer_wnd > 0 || side.pending_tx == 0 {
            self.sides[s].persist_running = false;
            return;
        }
        let seq = side.snd_una.wrapping_sub(1);
        let p = self.pkt(s, ACK, seq, 0, Role::Zwp);
        self.send(p, Loss::None);
        let rto = self.rto();
        let side = &mut self.sides[s];
        side.persist_backoff += 1;
        let next = (rto << side.persist_backoff.min(10)).min(120 * NS);
        self.schedule(self.now + next, Ev::Persist { side: s as u8, gen });
    }

    // --- the applications --------------------------------------------------

    fn app_data(&mut self, r: usize, len: u32) {
        if r == 1 {
            self.app.srv_expect = self.app.srv_expect.saturating_sub(len);
            self.maybe_respond();
        } else if self.app.cli_expect > 0 {
            self.app.cli_expect = self.app.cli_expect.saturating_sub(len);
            if self.app.cli_expect == 0 {
                self.round_done();
            }
        }
    }

    fn maybe_respond(&mut self) {
        if self.app.srv_expect == 0
            && self.app.srv_reply > 0
            && !self.sides[1].app_paused
            && !self.app.respond_scheduled
        {
            self.app.respond_scheduled = true;
            self.schedule(self.now + self.app.srv_think, Ev::Respond);
        }
    }

    fn round(&mut self) {
        if self.app.stopped || !self.sides[0].alive() || !self.sides[1].alive() {
            return;
        }
        if self.sent >= self.budget {
            self.wind_down();
            return;
        }
        self.app.rounds += 1;
        let rng = &mut self.rng;
        let (req, reply) = match self.kind {
            FlowKind::Heartbeat => {
                let n = rng.range(1, 8) as u32;
                (n, if rng.chance(0.5) { n } else { 0 })
            }
            FlowKind::ZeroWindow => {
                let req = SMALL_RCVBUF + rng.range(2_000, 30_000) as u32;
                (req, rng.range(2, 200) as u32)
            }
            FlowKind::Retransmission if rng.chance(0.4) => {
                // A 1-byte message the server does not answer, whose ACK is lost (item 10).
                self.sides[1].lose_acks = if rng.chance(0.3) { 2 } else { 1 };
                (1, 0)
            }
            FlowKind::Bulk => {
                let req = rng.log_uniform(50.0, 1500.0) as u32;
                let reply = rng.log_uniform(5_000.0, 120_000.0) as u32;
                (req, reply)
            }
            FlowKind::Plain => {
                let req = rng.log_uniform(20.0, 1000.0) as u32;
                let reply = rng.log_uniform(2.0, 3000.0) as u32;
                (req, reply)
            }
            _ => {
                let req = rng.log_uniform(20.0, 3000.0) as u32;
                let reply = rng.log_uniform(2.0, 20_000.0) as u32;
                (req, reply)
            }
        };
        self.app.srv_expect = req;
        self.app.srv_reply = reply;
        self.app.srv_think = secs(self.rng.log_uniform(5e-5, 0.08));
        self.app.cli_expect = reply;
        if self.kind == FlowKind::ZeroWindow {
            // The server's application stops reading for a while.
            self.sides[1].app_paused = true;
            let pause = secs(self.rng.uniform(0.5, 40.0));
            self.schedule(self.now + pause, Ev::Resume);
        }
        self.write(0, req);
        if reply == 0 {
            self.round_done();
        }
    }

    fn round_done(&mut self) {
        if self.app.stopped {
            return;
        }
        let gap = self.gap();
        if let Some((side, reboot, at)) = self.fate(gap) {
            self.app.stopped = true;
            if self.rng.chance(0.3) {
                // Not a host but the path between them goes.
                self.partition = Some((self.now + at, side));
            } else {
                self.schedule(self.now + at, Ev::Vanish { side, reboot });
            }
            return;
        }
        self.schedule(self.now + gap, Ev::Round);
    }

    /// Idle time before the next round.
    fn gap(&mut self) -> i64 {
        let min_idle = self
            .sides
            .iter()
            .filter_map(|s| s.ka)
            .map(|k| k.idle_s)
            .min();
        let rng = &mut self.rng;
        let g = match self.kind {
            FlowKind::Keepalive => min_idle.unwrap_or(5) as f64 * rng.uniform(0.2, 6.0),
            FlowKind::KeepaliveLong => min_idle.unwrap_or(60) as f64 * rng.uniform(0.3, 2.5),
            FlowKind::Plain => rng.log_uniform(0.5, 3600.0),
            FlowKind::Bulk => rng.log_uniform(0.001, 5.0),
            FlowKind::Heartbeat => {
                let every = self.app.heartbeat_every as f64 / NS as f64;
                every * rng.uniform(0.98, 1.02)
            }
            FlowKind::ZeroWindow => rng.log_uniform(0.01, 30.0),
            FlowKind::Retransmission => rng.uniform(2.0, 60.0),
        };
        secs(g)
    }

    /// Whether a side vanishes in this gap: (side, rebooted, after).
    fn fate(&mut self, gap: i64) -> Option<(u8, bool, i64)> {
        let p = match self.kind {
            FlowKind::Keepalive => 0.1,
            FlowKind::KeepaliveLong => 0.06,
            FlowKind::Plain => 0.01,
            _ => 0.0,
        };
        if !self.rng.chance(p) {
            return None;
        }
        let probers: Vec<u8> = (0..2u8)
            .filter(|&s| self.sides[s as usize].ka.is_some())
            .collect();
        // Mostly the prober's peer vanishes; sometimes the prober itself.
        let side = match probers.as_slice() {
            [s] if self.rng.chance(0.85) => 1 - s,
            [s] => *s,
            _ => self.rng.below(2) as u8,
        };
        let reboot = self.rng.chance(0.4);
        let at = (gap as f64 * self.rng.uniform(0.05, 0.95)) as i64;
        Some((side, reboot, at))
    }

    fn wind_down(&mut self) {
        self.app.stopped = true;
        let long_idle = self
            .sides
            .iter()
            .filter_map(|s| s.ka)
            .all(|k| k.idle_s.max(k.intvl_s) >= 120);
        let leave_open = match self.kind {
            FlowKind::Keepalive | FlowKind::ZeroWindow | FlowKind::Retransmission => false,
            FlowKind::KeepaliveLong => long_idle && self.rng.chance(0.5),
            FlowKind::Plain => self.rng.chance(0.6),
            FlowKind::Bulk | FlowKind::Heartbeat => self.rng.chance(0.2),
        };
        if leave_open {
            return;
        }
        let side = if self.rng.chance(0.3) { 1 } else { 0 };
        let abort = self.rng.chance(0.12);
        self.schedule(self.now, Ev::Close { side, abort });
    }

    // --- the capture -------------------------------------------------------

    /// Takes the next captured frame (after `advance` said there is one),
    /// records it in the truth and builds its bytes into `buf`.
    fn emit(&mut self, buf: &mut Vec<u8>) -> i64 {
        let Timed { t, v: p, .. } = self.out.pop().expect("advance found a frame");
        self.record(&p, t);
        self.build(&p, buf);
        t
    }

    fn record(&mut self, p: &Pkt, t: i64) {
        if self.segments == 0 {
            self.first_cap = t;
        }
        self.last_cap = t;
        self.segments += 1;
        let s = p.from as usize;
        let r = 1 - s;
        match p.role {
            Role::Probe {
                tight,
                rx_cap,
                after_reply,
            } => {
                let peer_ack_seen = self.acc[s].peer_ack_seen;
                let pr = self.acc[s].prober.get_or_insert_with(|| ProberAcc {
                    first: t,
                    peer_ack_seen,
                    ..Default::default()
                });
                pr.sent += 1;
                if pr.outstanding {
                    pr.run += 1;
                    pr.intvl_seen = true;
                } else {
                    pr.run = 1;
                    if rx_cap >= 0 && !after_reply {
                        pr.idle_any = true;
                        pr.idle_tight |= tight;
                    }
                }
                pr.max_run = pr.max_run.max(pr.run);
                pr.outstanding = true;
                pr.probed = p.seq.wrapping_add(1);
                pr.last = t;
            }
            Role::GiveUp { probes_out } => {
                if let Some(pr) = self.acc[s].prober.as_mut() {
                    pr.gave_up = Some((if pr.outstanding { pr.run } else { 0 }, probes_out));
                }
            }
            Role::PeerRst | Role::RebootRst => {
                // The peer lost the connection and says so while a probe is out.
                if let Some(pr) = self.acc[r].prober.as_mut() {
                    if pr.outstanding || p.role == Role::PeerRst {
                        pr.reset = true;
                    }
                    pr.outstanding = false;
                }
                if self.end == FlowEnd::Open {
                    self.end = FlowEnd::Reset;
                }
            }
            Role::Zwp => self.zwp += 1,
            Role::Retrans => self.retrans += 1,
            Role::AppRst => {}
            Role::Syn
            | Role::Data
            | Role::Ack
            | Role::Fin
            | Role::ProbeAnswer
            | Role::ZwpAnswer
            | Role::DupAck
            | Role::WinUpdate => {
                // Accepted by the peer's kernel: its probe count starts again.
                // A pure ACK of probe seq + 1 (nothing new, no FIN) is the
                // answer the contract counts; anything else is activity.
                if p.flags & ACK != 0 {
                    self.acc[r].peer_ack_seen = true;
                }
                if let Some(pr) = self.acc[r].prober.as_mut() {
                    if p.flags & ACK != 0 {
                        pr.peer_ack_seen = true;
                    }
                    if pr.outstanding {
                        if p.len == 0 && p.flags & (FIN | SYN) == 0 && p.ack == pr.probed {
                            pr.answered += 1;
                        }
                        pr.outstanding = false;
                        pr.run = 0;
                    }
                }
            }
        }
    }

    fn build(&self, p: &Pkt, buf: &mut Vec<u8>) {
        buf.clear();
        let s = p.from as usize;
        let (src, dst) = (s, 1 - s);
        let eth = PacketBuilder::ethernet2(self.mac[src], self.mac[dst]);
        let v4 = |a: Ipv4Addr, b: Ipv4Addr| {
            let mut h = Ipv4Header::new(0, 64, IpNumber::TCP, a.octets(), b.octets())
                .expect("empty payload fits");
            h.identification = p.ip_id;
            IpHeaders::Ipv4(h, Default::default())
        };
        let ip: PacketBuilderStep<IpHeaders> = match (self.vlan, self.ip[src], self.ip[dst]) {
            (None, IpAddr::V4(a), IpAddr::V4(b)) => eth.ip(v4(a, b)),
            (None, IpAddr::V6(a), IpAddr::V6(b)) => eth.ipv6(a.octets(), b.octets(), 64),
            (Some(v), IpAddr::V4(a), IpAddr::V4(b)) => eth
                .single_vlan(v.try_into().expect("vlan id < 4096"))
                .ip(v4(a, b)),
            (Some(v), IpAddr::V6(a), IpAddr::V6(b)) => eth
                .single_vlan(v.try_into().expect("vlan id < 4096"))
                .ipv6(a.octets(), b.octets(), 64),
            _ => unreachable!("both ends of a flow share a family"),
        };
        let mut tcp = ip.tcp(self.port[src], self.port[dst], p.seq, p.win);
        if p.flags & ACK != 0 {
            tcp = tcp.ack(p.ack);
        }
        if p.flags & SYN != 0 {
            tcp = tcp.syn();
        }
        if p.flags & FIN != 0 {
            tcp = tcp.fin();
        }
        if p.flags & RST != 0 {
            tcp = tcp.rst();
        }
        if p.flags & PSH != 0 {
            tcp = tcp.psh();
        }
        let mut opts: [TcpOptionElement; 8] = [const { TcpOptionElement::Noop }; 8];
        let mut n = 0;
        let mut push = |o: TcpOptionElement| {
            opts[n] = o;
            n += 1;
        };
        if p.flags & SYN != 0 {
            push(TcpOptionElement::MaximumSegmentSize(
                (self.mss + if self.ts_on { 12 } else { 0 }) as u16,
            ));
            if self.sack_on {
                push(TcpOptionElement::SelectiveAcknowledgementPermitted);
            }
            if self.ts_on {
                push(TcpOptionElement::Timestamp(p.tsval, p.tsecr));
            }
            push(TcpOptionElement::Noop);
            push(TcpOptionElement::WindowScale(WSCALE));
        } else if p.flags & RST == 0 {
            if self.ts_on {
                push(TcpOptionElement::Noop);
                push(TcpOptionElement::Noop);
                push(TcpOptionElement::Timestamp(p.tsval, p.tsecr));
            }
            if let Some(block) = p.sack {
                push(TcpOptionElement::Noop);
                push(TcpOptionElement::Noop);
                push(TcpOptionElement::SelectiveAcknowledgement(block, [None; 3]));
            }
        }
        if n > 0 {
            tcp = tcp.options(&opts[..n]).expect("options fit in 40 bytes");
        }
        // Probes of 1 byte carry one garbage octet (0x00), like everything here.
        tcp.write(buf, &ZEROS[..p.len as usize])
            .expect("writing to a Vec cannot fail");
    }

    fn truth(&self) -> FlowTruth {
        let ep = |s: usize| Endpoint::new(self.ip[s], self.port[s]).to_string();
        let side = |s: usize| SideTruth {
            endpoint: ep(s),
            keepalive: self.sides[s].ka,
            prober: self.acc[s]
                .prober
                .as_ref()
                .map(|pr| self.prober_truth(s, pr)),
        };
        FlowTruth {
            id: self.id,
            kind: self.kind,
            client: ep(0),
            server: ep(1),
            vlan: self.vlan,
            started_before_capture: self.pre,
            rtt_ms: 2.0 * self.d as f64 / MS as f64,
            capture_at: self.capture_at,
            first_ts: to_epoch_s(self.first_cap),
            last_ts: to_epoch_s(self.last_cap),
            segments: self.segments,
            zero_window_probes: self.zwp,
            retransmissions: self.retrans,
            end: self.end,
            sides: [side(0), side(1)],
        }
    }

    fn prober_truth(&self, s: usize, pr: &ProberAcc) -> ProberTruth {
        let ka = self.sides[s]
            .ka
            .expect("only sides with keepalive on send probes");
        let outcome = if pr.reset {
            Outcome::Reset
        } else if pr.gave_up.is_some() {
            Outcome::Dead
        } else if pr.outstanding {
            Outcome::Probing
        } else {
            Outcome::Alive
        };
        // A tight episode shows idle * (1 + lateness) plus twice this side's
        // distance to the capture point.
        let offset = 2.0 * self.off[s] as f64 / NS as f64;
        let idle = ka.idle_s as f64;
        let idle_observed_max_s = idle * (1.0 + MAX_LATE) + offset;
        let intvl_observed_max_s = ka.intvl_s as f64 * (1.0 + MAX_LATE);
        let to_s = to_epoch_s;
        ProberTruth {
            probes_sent: pr.sent,
            probes_answered: pr.answered,
            outcome,
            give_up_probes: pr.gave_up.map(|g| g.0),
            give_up_probes_kernel: pr.gave_up.map(|g| g.1),
            give_up_run_whole: pr.gave_up.is_some_and(|(seen, kernel)| seen == kernel),
            idle_observable: pr.idle_tight,
            idle_bounded: pr.idle_any,
            idle_exact: whole_second_determinable(ka.idle_s, idle_observed_max_s),
            idle_observed_max_s,
            intvl_observable: pr.intvl_seen,
            intvl_exact: whole_second_determinable(ka.intvl_s, intvl_observed_max_s),
            intvl_observed_max_s,
            recognisable: pr.peer_ack_seen
                || pr.answered > 0
                || pr.max_run >= 3
                || pr.gave_up.is_some()
                || pr.reset,
            first_probe: to_s(pr.first),
            last_probe: to_s(pr.last),
        }
    }
}

/// Packets a flow of this kind aims for, relative to the average.
fn kind_weight(kind: FlowKind) -> f64 {
    match kind {
        FlowKind::Keepalive => 1.0,
        FlowKind::KeepaliveLong => 0.5,
        FlowKind::Plain => 0.5,
        FlowKind::Bulk => 3.0,
        FlowKind::Heartbeat => 0.8,
        FlowKind::ZeroWindow => 1.2,
        FlowKind::Retransmission => 0.8,
    }
}

fn short_keepalive(rng: &mut Rng) -> KeepaliveConfig {
    let idle_s = rng.weighted(&KA_IDLE_SHORT);
    let intvl_s = rng.weighted(&KA_INTVL_SHORT);
    let probes = rng.weighted(&[
        (4, 1u32),
        (8, 2),
        (12, 3),
        (10, 4),
        (10, 5),
        (6, 6),
        (4, 7),
        (3, 8),
        (5, 9),
    ]);
    let user_timeout_ms = (probes >= 3 && rng.chance(0.06)).then(|| {
        let k = rng.range(1, probes as u64 - 1) as u32;
        (idle_s + intvl_s * k) * 1000 - 300
    });
    KeepaliveConfig {
        idle_s,
        intvl_s,
        probes,
        user_timeout_ms,
        probe_len: 0,
    }
}

fn long_keepalive(rng: &mut Rng) -> KeepaliveConfig {
    if rng.chance(0.3) {
        return KeepaliveConfig {
            idle_s: 7200,
            intvl_s: 75,
            probes: 9,
            user_timeout_ms: None,
            probe_len: 0,
        };
    }
    KeepaliveConfig {
        idle_s: rng.weighted(&KA_IDLE_LONG),
        intvl_s: rng.weighted(&KA_INTVL_LONG),
        probes: rng.pick(&[3, 5, 8, 9]),
        user_timeout_ms: None,
        probe_len: 0,
    }
}

// ---------------------------------------------------------------------------
// The generator

/// Streams a capture's frames in time order; [`Generator::finish`] gives the truth.
pub struct Generator {
    cfg: Config,
    budget_scale: f64,
    /// (start, id), earliest first.
    starts: Vec<(i64, u32)>,
    next_start: usize,
    slots: Vec<Option<Flow>>,
    free: Vec<usize>,
    heap: BinaryHeap<Reverse<(i64, usize)>>,
    truth: Vec<FlowTruth>,
    frames: u64,
    bytes: u64,
    first_ts: Option<i64>,
    last_ts: Option<i64>,
    active: usize,
    max_active: usize,
    done: bool,
}

impl Generator {
    /// A generator for `cfg`.
    pub fn new(cfg: Config) -> Generator {
        let mut starts: Vec<(i64, u32)> = (0..cfg.flows)
            .map(|id| (flow_head(&cfg, id).3, id))
            .collect();
        starts.sort_unstable();
        // Packets per flow the flows aim for, before the capture's cut; the
        // factor makes up for flows cut short by the capture's end.
        let budget_scale = 1.05 * cfg.packets as f64 / cfg.flows.max(1) as f64;
        Generator {
            cfg,
            budget_scale,
            starts,
            next_start: 0,
            slots: Vec::new(),
            free: Vec::new(),
            heap: BinaryHeap::new(),
            truth: Vec::new(),
            frames: 0,
            bytes: 0,
            first_ts: None,
            last_ts: None,
            active: 0,
            max_active: 0,
            done: false,
        }
    }

    /// Writes the next frame into `buf` and returns its timestamp; `None` at the end.
    pub fn next_frame(&mut self, buf: &mut Vec<u8>) -> Option<Timestamp> {
        if self.done {
            return None;
        }
        if self.frames >= self.cfg.packets {
            self.stop();
            return None;
        }
        loop {
            let top = self.heap.peek().map(|Reverse((t, _))| *t);
            match self.starts.get(self.next_start) {
                Some(&(start, id)) if top.is_none_or(|t| start <= t) => {
                    self.next_start += 1;
                    self.activate(id);
                    continue;
                }
                _ => {}
            }
            let Some(Reverse((_, slot))) = self.heap.pop() else {
                self.stop();
                return None;
            };
            let flow = self.slots[slot].as_mut().expect("live slot");
            let t = flow.emit(buf);
            match flow.advance() {
                Some(next) => self.heap.push(Reverse((next, slot))),
                None => self.retire(slot),
            }
            self.frames += 1;
            self.bytes += buf.len() as u64;
            self.first_ts.get_or_insert(t);
            self.last_ts = Some(t);
            return Some(Timestamp(EPOCH_BASE_S * NS + t));
        }
    }

    fn activate(&mut self, id: u32) {
        let mut flow = Flow::new(&self.cfg, id, self.budget_scale);
        let next = flow.advance();
        let slot = match self.free.pop() {
            Some(i) => {
                self.slots[i] = Some(flow);
                i
            }
            None => {
                self.slots.push(Some(flow));
                self.slots.len() - 1
            }
        };
        self.active += 1;
        self.max_active = self.max_active.max(self.active);
        match next {
            Some(t) => self.heap.push(Reverse((t, slot))),
            None => self.retire(slot),
        }
    }

    fn retire(&mut self, slot: usize) {
        let flow = self.slots[slot].take().expect("live slot");
        self.active -= 1;
        self.free.push(slot);
        if flow.segments > 0 {
            self.truth.push(flow.truth());
        }
    }

    /// The capture ends: every flow still going is cut here.
    fn stop(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        self.heap.clear();
        for slot in 0..self.slots.len() {
            if self.slots[slot].is_some() {
                self.retire(slot);
            }
        }
    }

    /// Frames produced so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Flows open now.
    pub fn active_flows(&self) -> usize {
        self.active
    }

    /// Ends the capture (if frames remain) and returns the truth, flows by id.
    pub fn finish(mut self) -> Truth {
        self.stop();
        let mut flows = std::mem::take(&mut self.truth);
        flows.sort_by_key(|f| f.id);
        let to_s = to_epoch_s;
        let end = self.last_ts.map_or(0.0, to_s);
        let mut edges: Vec<(f64, i32)> = flows
            .iter()
            .flat_map(|f| {
                let last = if f.end == FlowEnd::Open {
                    end
                } else {
                    f.last_ts
                };
                [(f.first_ts, 1), (last, -1)]
            })
            .collect();
        edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut open = 0i64;
        let mut max_open = 0;
        for (_, d) in edges {
            open += d as i64;
            max_open = max_open.max(open as usize);
        }
        Truth {
            seed: self.cfg.seed,
            flows_requested: self.cfg.flows,
            frames: self.frames,
            bytes: self.bytes,
            first_ts: self.first_ts.map(to_s),
            last_ts: self.last_ts.map(to_s),
            max_simulated_flows: self.max_active,
            max_open_flows: max_open,
            flows,
        }
    }
}

// ---------------------------------------------------------------------------
// Writing

/// A minimal pcap writer: nanosecond timestamps, Ethernet link type.
pub struct PcapWriter<W: Write> {
    out: W,
    snaplen: u32,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header; frames longer than `snaplen` are cut to it
    /// (their original length is kept, as tcpdump -s does).
    pub fn new(mut out: W, snaplen: u32) -> io::Result<PcapWriter<W>> {
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&0xa1b2_3c4du32.to_le_bytes()); // nanosecond pcap
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&snaplen.to_le_bytes());
        h.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
        out.write_all(&h)?;
        Ok(PcapWriter { out, snaplen })
    }

    /// Writes one frame record.
    pub fn write(&mut self, ts: Timestamp, frame: &[u8]) -> io::Result<()> {
        let incl = frame.len().min(self.snaplen as usize);
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&(ts.0.div_euclid(NS) as u32).to_le_bytes());
        h[4..8].copy_from_slice(&(ts.0.rem_euclid(NS) as u32).to_le_bytes());
        h[8..12].copy_from_slice(&(incl as u32).to_le_bytes());
        h[12..16].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        self.out.write_all(&h)?;
        self.out.write_all(&frame[..incl])
    }

    /// Flushes and returns the inner writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Generates `cfg`'s capture into `out` as pcap and returns its truth.
pub fn write_capture<W: Write>(cfg: Config, out: W, snaplen: u32) -> io::Result<Truth> {
    let mut w = PcapWriter::new(out, snaplen)?;
    let mut gen = Generator::new(cfg);
    let mut buf = Vec::with_capacity(1600);
    while let Some(ts) = gen.next_frame(&mut buf) {
        w.write(ts, &buf)?;
    }
    w.into_inner()?;
    Ok(gen.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_reproducible_and_spread() {
        let (mut a, mut b) = (Rng::new(5), Rng::new(5));
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let mut r = Rng::new(1);
        let mean: f64 = (0..10_000).map(|_| r.unit()).sum::<f64>() / 10_000.0;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
        assert!((0..1000).all(|_| r.range(3, 5) >= 3));
    }

    #[test]
    fn frames_come_in_time_order_and_decode() {
        let mut gen = Generator::new(Config::new(300, 20_000, 3));
        let mut buf = Vec::new();
        let mut last = Timestamp(i64::MIN);
        while let Some(ts) = gen.next_frame(&mut buf) {
            assert!(ts >= last, "out of order: {ts:?} after {last:?}");
            last = ts;
            let seg = kawatch_core::decode(crate::LinkType::Ethernet, 1, ts, &buf);
            assert!(seg.is_some(), "undecodable frame {buf:02x?}");
        }
        let truth = gen.finish();
        assert!(truth.frames > 10_000, "{}", truth.frames);
        assert!(truth
            .flows
            .iter()
            .any(|f| f.sides.iter().any(|s| s.prober.is_some())));
    }

    #[test]
    fn equal_seeds_give_equal_captures() {
        let run = |seed| {
            let mut out = Vec::new();
            let truth = write_capture(Config::new(50, 3000, seed), &mut out, 65535).unwrap();
            (out, truth.frames)
        };
        assert_eq!(run(9), run(9));
        assert_ne!(run(9).0, run(10).0);
    }
}
