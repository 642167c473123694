//! The kernel model: one TCP flow between two simulated Linux endpoints,
//! seen from a capture point on the path between them.
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
//! By concern: `setup` draws a flow, `tcp` sends and receives segments,
//! `timers` runs the keepalive, persist, delayed-ACK and retransmission
//! timers, `app` is what the applications do, `wire` builds the frames,
//! and `observe` records what the capture shows into the truth. Here: the
//! flow's state and its event loop.

mod app;
mod observe;
mod queue;
mod setup;
mod tcp;
mod timers;
mod wire;

use crate::rng::Rng;
use crate::truth::{FlowEnd, FlowKind, KeepaliveConfig, Role};
use app::App;
use observe::Observed;
use queue::Queue;
pub(crate) use setup::start_time;
use wire::Wire;

/// Timers fire late by up to this fraction of their timeout (item 7).
pub const MAX_LATE: f64 = 0.03;

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

fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

fn seq_le(a: u32, b: u32) -> bool {
    !seq_lt(b, a)
}

/// What every flow of one capture shares.
pub(crate) struct Params {
    /// The capture's seed.
    pub(crate) seed: u64,
    /// Capture length in seconds.
    pub(crate) duration_s: u32,
    /// Packets an average flow aims for.
    pub(crate) budget_scale: f64,
    /// The mix of flow kinds.
    pub(crate) profile: crate::generator::Profile,
}

/// Why the model sent a segment: a [`Role`] with the detail the model needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cause {
    Syn,
    Data,
    Ack,
    Fin,
    /// An application abort.
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
    ProbeAck,
    GiveUp {
        probes_out: u32,
    },
    /// A rebooted peer's RST answering a probe.
    ProbeRst,
    /// A rebooted peer's RST answering something other than a probe.
    RebootRst,
    ZeroWindowProbe,
    /// The duplicate ACK answering a zero-window probe.
    ZeroWindowAck,
    Retransmission,
    DupAck,
    WinUpdate,
}

impl Cause {
    /// The segment's role in the shared vocabulary.
    fn role(self) -> Role {
        match self {
            Cause::Probe { .. } => Role::Probe,
            Cause::ProbeAck => Role::ProbeAck,
            Cause::ProbeRst => Role::ProbeRst,
            Cause::GiveUp { .. } => Role::GiveUp,
            Cause::ZeroWindowProbe => Role::ZeroWindowProbe,
            Cause::Retransmission => Role::Retransmission,
            Cause::Syn
            | Cause::Data
            | Cause::Ack
            | Cause::Fin
            | Cause::AppRst
            | Cause::RebootRst
            | Cause::ZeroWindowAck
            | Cause::DupAck
            | Cause::WinUpdate => Role::Other,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Loss {
    None,
    /// Lost past the capture point: captured, never delivered.
    AfterCapture,
    /// Lost before the capture point: neither captured nor delivered.
    BeforeCapture,
}

/// A segment as the model sends it.
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
    cause: Cause,
    sent_at: i64,
}

/// Something that happens at a moment of the flow's life.
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Gone {
    No,
    Silent,
    Rebooted,
}

/// One side's TCP state: what its kernel keeps for the connection.
#[derive(Clone, Debug)]
struct Tcb {
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

impl Tcb {
    fn new(iss: u32, ts_base: u32, ka: Option<KeepaliveConfig>) -> Tcb {
        Tcb {
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

/// One simulated flow: two endpoints' kernels and applications, the path
/// between them, and what the capture has seen of it so far.
pub(crate) struct Flow {
    id: u32,
    kind: FlowKind,
    rng: Rng,
    /// Connected before the capture started.
    pre: bool,
    wire: Wire,
    /// One-way delay.
    d: i64,
    /// Delay from each side to the capture point.
    off: [i64; 2],
    capture_at: f64,
    probe_loss: f64,
    /// From this time the path is cut (a NAT or firewall dropped the flow's
    /// state): the near side's segments are captured and lost past the
    /// capture point, the far side's are lost before it. (time, near side)
    partition: Option<(i64, u8)>,
    /// Receive processing delay per side: a reply leaves this long after the
    /// segment it answers arrived.
    stack_delay: [i64; 2],
    sides: [Tcb; 2],
    events: Queue<Ev>,
    /// Captured segments, by capture time.
    out: Queue<Pkt>,
    now: i64,
    end_ns: i64,
    /// Segments to send before winding down, and sent so far.
    budget: u64,
    sent: u64,
    app: App,
    seen: Observed,
    end: FlowEnd,
}

impl Flow {
    fn schedule(&mut self, t: i64, ev: Ev) {
        self.events.push(t, ev);
    }

    /// `dur`, 0-3 % late.
    fn late(&mut self, dur: i64) -> i64 {
        dur + (dur as f64 * MAX_LATE * self.rng.unit()) as i64
    }

    fn rto(&self) -> i64 {
        200 * crate::time::MS + 2 * self.d
    }

    /// Capture time of the next frame, running the model as far as needed; `None` when done.
    pub(crate) fn advance(&mut self) -> Option<i64> {
        let min_off = self.off[0].min(self.off[1]);
        loop {
            let next_ev = self.events.peek_time();
            // A frame is final once no event left can send one before it.
            let ready = match (self.out.peek_time(), next_ev) {
                (Some(p), Some(te)) => p <= te + min_off,
                (Some(_), None) => true,
                (None, _) => false,
            };
            if ready {
                let p = self.out.peek_time().expect("ready");
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
            let (t, ev) = self.events.pop().expect("peeked");
            self.now = t;
            self.handle(ev);
        }
    }

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Deliver(p) => self.deliver(p),
            Ev::KaTimer { side, gen } => self.keepalive_timer(side as usize, gen),
            Ev::Persist { side, gen } => self.persist_timer(side as usize, gen),
            Ev::DelAck { side, gen } => self.delayed_ack(side as usize, gen),
            Ev::Rto {
                side,
                seq,
                len,
                attempt,
            } => self.retransmission_timer(side, seq, len, attempt),
            Ev::Xmit { side } => self.xmit(side as usize),
            Ev::Connect => self.connect(),
            Ev::Round => self.round(),
            Ev::Respond => self.respond(),
            Ev::Resume => self.resume(),
            Ev::Close { side, abort } => self.close(side, abort),
            Ev::Vanish { side, reboot } => self.vanish(side as usize, reboot),
        }
    }

    /// Takes the next captured frame (after `advance` said there is one),
    /// records it in the truth and builds its bytes into `buf`: its capture
    /// time and role.
    pub(crate) fn emit(&mut self, buf: &mut Vec<u8>) -> (i64, Role) {
        let (t, p) = self.out.pop().expect("advance found a frame");
        self.seen.record(&p, t, &mut self.end);
        self.wire.build(&p, buf);
        (t, p.cause.role())
    }

    /// Whether any of its frames is in the capture.
    pub(crate) fn captured(&self) -> bool {
        self.seen.segments > 0
    }
}
