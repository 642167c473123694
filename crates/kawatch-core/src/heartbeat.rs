//! Application heartbeats: small segments an application sends at a steady
//! period to keep a connection's silences short (issue 13). They are what
//! keeps a middlebox's idle timer from firing when TCP keepalive is off or
//! too slow, so a flow's allowed silence counts them ([`crate::path`]).
//!
//! Heartbeats are found by their cadence, per side, and named by their first
//! bytes where the bytes say so. They are never TCP keepalive probes: a
//! segment the classifier calls a probe, a zero-window probe or a probe
//! candidate never reaches this module, and nothing here touches a side's
//! keepalive record.
//!
//! # What counts
//!
//! A **beat** is a data segment of 1 to [`MAX_BEAT_LEN`] bytes that is new
//! (it reaches past what its side had sent: no retransmission) and that the
//! classifier called plain data. A beat from one side that follows a beat of
//! the other within [`ANSWER_WINDOW`] is that beat's **answer** instead (not
//! a beat of its own), unless its bytes say it is itself a ping (an HTTP/2
//! PING without ACK, a WebSocket ping, MQTT PINGREQ, an AMQP heartbeat,
//! Redis `PING`): both sides may ping.
//!
//! A side's beats form a **run** while they keep a steady period: every gap
//! between two beats of the run lies within [`tolerance`] (5 %, at least
//! 50 ms) of the run's mean gap. (The mean, not the median: the run keeps
//! only its first and last beat and its shortest and longest gap, so it
//! costs the same whatever its length; with every gap within the tolerance
//! of the mean, the median is too.) A run of at least [`MIN_BEATS`] beats
//! whose period is at least [`MIN_PERIOD`] is a **heartbeat**; one more
//! beat when the bytes name no protocol and the peer answered at most half
//! of them (three small one-way messages evenly spaced by chance, say chat
//! lines, are not a heartbeat; a small request answered by a small response
//! at a steady period is).
//!
//! - A beat that breaks the cadence (a gap outside the tolerance: a one-off
//!   small write, a doubling backoff) ends the run; a new run starts with
//!   that beat. Doubling gaps therefore never make a run of three.
//! - Data larger than [`MAX_BEAT_LEN`] from either side ends both sides'
//!   runs; the next run starts with the next beat after it. So a heartbeat
//!   interrupted by a large write is found again after three more beats.
//! - Runs of the same cadence (the same protocol, periods within the
//!   tolerance) add up: a heartbeat interrupted by data now and then is
//!   reported once, with all its beats. A run of another cadence replaces
//!   the earlier one: each side reports its most recent heartbeat.
//!
//! A heartbeat is **answered** when more than half of its beats were. Its
//! count leaves out the beats before the first whose bytes named its
//! protocol (an MQTT client's CONNECT, sent one keepalive period before its
//! first PINGREQ): they set the cadence going, and its period counts them,
//! but they are not heartbeats.
//!
//! # Names
//!
//! [`HeartbeatProtocol`] names the protocol where the beats' bytes say so
//! (cleartext HTTP/2 PING, gRPC's included; WebSocket ping/pong; MQTT
//! PINGREQ/PINGRESP; AMQP heartbeat frames; Redis `PING`/`+PONG`), else by
//! what can be told of encrypted beats: `tls-periodic` for TLS application
//! data records, `ssh-periodic` when the flow's first data was an SSH
//! banner, and `periodic` otherwise. A run's name is the one its named beats
//! agree on; unnamed beats (a protocol's other small frames) do not change
//! it, and beats named differently make it `periodic`.

use crate::segment::Endpoint;
use crate::time::{Epoch, Span, Tick, Timestamp};

/// The largest payload that may be a beat, bytes. Cleartext heartbeats are
/// tiny (MQTT PINGREQ 2, AMQP 8, Redis `PING` 14, HTTP/2 PING 17,
/// a client's masked WebSocket ping 6 and its payload); encrypted ones carry
/// the record's overhead: a TLS 1.3 record holding an HTTP/2 PING is 39
/// bytes (a 5-byte header, the frame, the content type byte and a 16-byte
/// tag), an OpenSSH `keepalive@openssh.com` request 36 to about 100
/// depending on the cipher and MAC. 128 holds them all and leaves out
/// nearly every request or response that carries real data.
pub const MAX_BEAT_LEN: u32 = 128;

/// The fewest beats that make a heartbeat (two gaps: a cadence, not a coincidence).
pub const MIN_BEATS: u32 = 3;

/// The shortest period that makes a heartbeat: faster small segments are
/// interactive traffic (typing, streaming), not a timer's, and no path
/// times out that fast.
pub const MIN_PERIOD: Span = Span(1_000_000_000);

/// How soon the other side's small segment must follow a beat to be its
/// answer: a round trip and the peer's turnaround, generously.
pub const ANSWER_WINDOW: Span = Span(1_000_000_000);

/// How far a gap may stray from a run's period: 5 % of it, at least 50 ms
/// (capture timestamps and application timers jitter).
pub fn tolerance(period: Span) -> Span {
    Span((period.0 / 20).max(50_000_000))
}

/// The protocol a heartbeat's bytes name. Every name says "heartbeat":
/// none of them is TCP keepalive.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)
)]
pub enum HeartbeatProtocol {
    /// `http2-ping`: HTTP/2 PING frames on cleartext HTTP/2 (h2c), gRPC's
    /// keepalive included; the answer is the PING with the ACK flag.
    #[cfg_attr(feature = "serde", serde(rename = "http2-ping"))]
    Http2Ping,
    /// `websocket-ping`: WebSocket ping (opcode 0x9) answered by pong (0xA),
    /// or unsolicited pongs as a one-way heartbeat (RFC 6455 5.5.3).
    #[cfg_attr(feature = "serde", serde(rename = "websocket-ping"))]
    WebsocketPing,
    /// `mqtt-ping`: MQTT PINGREQ answered by PINGRESP.
    #[cfg_attr(feature = "serde", serde(rename = "mqtt-ping"))]
    MqttPing,
    /// `amqp-heartbeat`: AMQP 0-9-1 heartbeat frames (type 8), or AMQP 1.0
    /// empty frames; each side sends its own, unanswered.
    #[cfg_attr(feature = "serde", serde(rename = "amqp-heartbeat"))]
    AmqpHeartbeat,
    /// `redis-ping`: Redis `PING` (RESP or inline) answered by `+PONG`.
    #[cfg_attr(feature = "serde", serde(rename = "redis-ping"))]
    RedisPing,
    /// `tls-periodic`: TLS application data records, contents unknown.
    #[cfg_attr(feature = "serde", serde(rename = "tls-periodic"))]
    TlsPeriodic,
    /// `ssh-periodic`: encrypted SSH packets (the flow began with an SSH
    /// banner), such as OpenSSH's `keepalive@openssh.com` requests.
    #[cfg_attr(feature = "serde", serde(rename = "ssh-periodic"))]
    SshPeriodic,
    /// `periodic`: small segments whose bytes name nothing known.
    #[cfg_attr(feature = "serde", serde(rename = "periodic"))]
    Periodic,
}

impl HeartbeatProtocol {
    /// Every protocol, in the order of the documentation.
    pub const ALL: [HeartbeatProtocol; 8] = [
        HeartbeatProtocol::Http2Ping,
        HeartbeatProtocol::WebsocketPing,
        HeartbeatProtocol::MqttPing,
        HeartbeatProtocol::AmqpHeartbeat,
        HeartbeatProtocol::RedisPing,
        HeartbeatProtocol::TlsPeriodic,
        HeartbeatProtocol::SshPeriodic,
        HeartbeatProtocol::Periodic,
    ];

    /// The name reports use (as serde spells it).
    pub fn as_str(self) -> &'static str {
        match self {
            HeartbeatProtocol::Http2Ping => "http2-ping",
            HeartbeatProtocol::WebsocketPing => "websocket-ping",
            HeartbeatProtocol::MqttPing => "mqtt-ping",
            HeartbeatProtocol::AmqpHeartbeat => "amqp-heartbeat",
            HeartbeatProtocol::RedisPing => "redis-ping",
            HeartbeatProtocol::TlsPeriodic => "tls-periodic",
            HeartbeatProtocol::SshPeriodic => "ssh-periodic",
            HeartbeatProtocol::Periodic => "periodic",
        }
    }

    /// Whether its pings are answered by pongs its bytes name (HTTP/2 PING
    /// ACK, WebSocket pong, MQTT PINGRESP, Redis `+PONG`): then no other
    /// data is an answer.
    fn has_pongs(self) -> bool {
        matches!(
            self,
            HeartbeatProtocol::Http2Ping
                | HeartbeatProtocol::WebsocketPing
                | HeartbeatProtocol::MqttPing
                | HeartbeatProtocol::RedisPing
        )
    }

    /// Whether the bytes name the protocol (not `tls-periodic`,
    /// `ssh-periodic` or `periodic`, which only its size and rhythm tell).
    pub fn is_named(self) -> bool {
        !matches!(
            self,
            HeartbeatProtocol::TlsPeriodic
                | HeartbeatProtocol::SshPeriodic
                | HeartbeatProtocol::Periodic
        )
    }

    /// The name two beats of one run agree on: a named beat beats an
    /// unnamed one, and two different names make `periodic`.
    fn merge(self, other: HeartbeatProtocol) -> HeartbeatProtocol {
        use HeartbeatProtocol::Periodic;
        match (self, other) {
            (a, b) if a == b => a,
            (Periodic, b) => b,
            (a, Periodic) => a,
            _ => Periodic,
        }
    }
}

impl std::fmt::Display for HeartbeatProtocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a small segment's bytes say it is, besides its protocol.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Role {
    /// A ping: never taken for an answer.
    Ask,
    /// A pong.
    Answer,
    /// The bytes do not say (encrypted, or unknown).
    Either,
}

/// One row of [`name`]'s table.
struct Rule {
    protocol: HeartbeatProtocol,
    role: Role,
    /// Whether a payload of this length, beginning with these bytes (as
    /// many as were captured, at most [`crate::PayloadHead::MAX`]), is one.
    matches: fn(&[u8], u32) -> bool,
}

/// HTTP/2 PING: a 9-byte frame header (length 8, type 6, stream 0) and its
/// 8 bytes of opaque data; the only flag PING defines is ACK (0x1).
fn http2_ping(h: &[u8], len: u32, flags: u8) -> bool {
    len == 17 && h.len() >= 9 && h[..5] == [0, 0, 8, 6, flags] && h[5..9] == [0; 4]
}

/// A WebSocket control frame with FIN set and `opcode`, whole in the
/// segment: 2 header bytes, the mask when set (client to server), and a
/// payload of at most 125 bytes.
fn websocket(h: &[u8], len: u32, opcode: u8) -> bool {
    let [b0, b1, ..] = *h else {
        return false;
    };
    let masked = u32::from(b1 >> 7) * 4;
    b0 == 0x80 | opcode && len == 2 + masked + u32::from(b1 & 0x7f)
}

/// Exactly these bytes (all of them captured).
fn exactly(h: &[u8], len: u32, bytes: &[u8]) -> bool {
    len as usize == bytes.len() && h == bytes
}

/// These bytes, any letter case (all of them captured).
fn exactly_any_case(h: &[u8], len: u32, bytes: &[u8]) -> bool {
    len as usize == bytes.len() && h.eq_ignore_ascii_case(bytes)
}

/// A TLS application data record (type 23, version 3.1 to 3.4) whose
/// length fits in the segment.
fn tls_record(h: &[u8], len: u32) -> bool {
    let [23, 3, minor, hi, lo, ..] = *h else {
        return false;
    };
    let record = u32::from(u16::from_be_bytes([hi, lo]));
    (1..=4).contains(&minor) && record > 0 && record + 5 <= len
}

/// How payloads are named, first match wins; none matching is `periodic`.
const RULES: &[Rule] = {
    use HeartbeatProtocol::*;
    use Role::*;
    &[
        Rule {
            protocol: Http2Ping,
            role: Ask,
            matches: |h, n| http2_ping(h, n, 0),
        },
        Rule {
            protocol: Http2Ping,
            role: Answer,
            matches: |h, n| http2_ping(h, n, 1),
        },
        Rule {
            protocol: WebsocketPing,
            role: Ask,
            matches: |h, n| websocket(h, n, 0x9),
        },
        Rule {
            protocol: WebsocketPing,
            role: Answer,
            matches: |h, n| websocket(h, n, 0xa),
        },
        Rule {
            protocol: MqttPing,
            role: Ask,
            matches: |h, n| exactly(h, n, &[0xc0, 0]),
        },
        Rule {
            protocol: MqttPing,
            role: Answer,
            matches: |h, n| exactly(h, n, &[0xd0, 0]),
        },
        Rule {
            // AMQP 0-9-1: type 8, channel 0, size 0, frame end 0xce.
            protocol: AmqpHeartbeat,
            role: Ask,
            matches: |h, n| exactly(h, n, &[8, 0, 0, 0, 0, 0, 0, 0xce]),
        },
        Rule {
            // AMQP 1.0: an empty frame (size 8, data offset 2, type 0, channel 0).
            protocol: AmqpHeartbeat,
            role: Ask,
            matches: |h, n| exactly(h, n, &[0, 0, 0, 8, 2, 0, 0, 0]),
        },
        Rule {
            protocol: RedisPing,
            role: Ask,
            matches: |h, n| exactly_any_case(h, n, b"*1\r\n$4\r\nPING\r\n"),
        },
        Rule {
            // The inline form, as `redis-cli` and telnet send it.
            protocol: RedisPing,
            role: Ask,
            matches: |h, n| exactly_any_case(h, n, b"PING\r\n"),
        },
        Rule {
            protocol: RedisPing,
            role: Answer,
            matches: |h, n| exactly(h, n, b"+PONG\r\n"),
        },
        Rule {
            // In subscribed mode: `*2 $4 pong $0 ""` (20 bytes; 14 tell).
            protocol: RedisPing,
            role: Answer,
            matches: |h, n| n == 20 && h.starts_with(b"*2\r\n$4\r\npong\r\n"),
        },
        Rule {
            protocol: TlsPeriodic,
            role: Either,
            matches: tls_record,
        },
    ]
};

/// The protocol and role a small payload's bytes name: `head` is its first
/// bytes as captured, `len` its whole length.
pub(crate) fn name(head: &[u8], len: u32) -> (HeartbeatProtocol, Role) {
    RULES
        .iter()
        .find(|r| (r.matches)(head, len))
        .map_or((HeartbeatProtocol::Periodic, Role::Either), |r| {
            (r.protocol, r.role)
        })
}

/// A heartbeat: a run of beats, or runs of one cadence added up.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Cadence {
    /// Mean gap between beats.
    period: Span,
    /// Gaps measured (beats less one per run).
    gaps: u32,
    /// Beats.
    count: u32,
    /// Beats answered.
    answered: u32,
    protocol: HeartbeatProtocol,
    /// The latest beat.
    last: Tick,
}

impl Cadence {
    /// Whether `other` is the same heartbeat: same protocol, periods within the tolerance.
    fn same_as(&self, other: &Cadence) -> bool {
        let (lo, hi) = (
            self.period.0.min(other.period.0),
            self.period.0.max(other.period.0),
        );
        self.protocol == other.protocol && hi - lo <= tolerance(Span(hi)).0
    }

    /// The two added up; `later` is the more recent.
    fn add(self, later: Cadence) -> Cadence {
        let gaps = self.gaps + later.gaps;
        let total = i128::from(self.period.0) * i128::from(self.gaps)
            + i128::from(later.period.0) * i128::from(later.gaps);
        Cadence {
            period: Span((total / i128::from(gaps.max(1))) as i64),
            gaps,
            count: self.count + later.count,
            answered: self.answered + later.answered,
            protocol: later.protocol,
            last: later.last,
        }
    }
}

/// One side's current run of beats: small segments at a steady period so far.
#[derive(Clone, Copy, Debug)]
struct Run {
    /// The first beat.
    first: Tick,
    /// The last beat.
    last: Tick,
    /// Beats in the run (0: no run).
    count: u32,
    /// Beats answered.
    answered: u32,
    /// Whether the last beat has been answered.
    last_answered: bool,
    /// The shortest and longest gap.
    min_gap: Span,
    max_gap: Span,
    /// What its beats' bytes agree on.
    protocol: HeartbeatProtocol,
    /// Beats before the first whose bytes named the run's protocol (an MQTT
    /// CONNECT before the PINGREQs): part of its cadence, not counted as
    /// its beats.
    lead: u32,
    /// A beat of the run named a protocol.
    named: bool,
}

impl Run {
    const EMPTY: Run = Run {
        first: Tick(0),
        last: Tick(0),
        count: 0,
        answered: 0,
        last_answered: false,
        min_gap: Span(0),
        max_gap: Span(0),
        protocol: HeartbeatProtocol::Periodic,
        lead: 0,
        named: false,
    };

    /// A run of one beat.
    fn start(ts: Tick, protocol: HeartbeatProtocol) -> Run {
        Run {
            first: ts,
            last: ts,
            count: 1,
            protocol,
            named: protocol.is_named(),
            ..Run::EMPTY
        }
    }

    /// Whether a next beat `gap` after the last keeps the run steady.
    fn steady_with(&self, gap: Span) -> bool {
        if self.count < 2 {
            return true;
        }
        let total = (self.last - self.first).0.saturating_add(gap.0);
        let mean = total / i64::from(self.count);
        let tol = tolerance(Span(mean)).0;
        let (min, max) = (self.min_gap.0.min(gap.0), self.max_gap.0.max(gap.0));
        max - mean <= tol && mean - min <= tol
    }

    /// Adds a beat `gap` after the last.
    fn push(&mut self, ts: Tick, gap: Span, protocol: HeartbeatProtocol) {
        if self.count < 2 {
            (self.min_gap, self.max_gap) = (gap, gap);
        } else {
            self.min_gap = self.min_gap.min(gap);
            self.max_gap = self.max_gap.max(gap);
        }
        if !self.named && protocol.is_named() {
            // The first beat that names the protocol: the ones before lead.
            self.lead = self.count;
            self.named = true;
        }
        self.last = ts;
        self.count += 1;
        self.last_answered = false;
        self.protocol = self.protocol.merge(protocol);
    }

    /// The other side answered at `ts`, if that is after the last beat and
    /// within `window` of it (any time after it when `None`, where the
    /// answer names itself one: then only the first answer is the beat's):
    /// then the beat counts as answered (once).
    fn answered_by(&mut self, ts: Tick, window: Option<Span>) -> bool {
        let gap = ts - self.last;
        let in_window = window.map_or(!self.last_answered, |w| gap <= w);
        if self.count == 0 || gap.0 < 0 || !in_window {
            return false;
        }
        if !self.last_answered {
            self.last_answered = true;
            self.answered += 1;
        }
        true
    }

    /// The run as a heartbeat, if it is one: [`MIN_BEATS`] beats, one more
    /// when their bytes name no protocol and the peer did not answer most.
    fn cadence(&self) -> Option<Cadence> {
        let weak = !self.protocol.is_named() && self.answered * 2 <= self.count;
        if self.count < MIN_BEATS + u32::from(weak) {
            return None;
        }
        let gaps = self.count - 1;
        let period = Span((self.last - self.first).0 / i64::from(gaps));
        // The lead beats set the cadence going but are not the protocol's.
        let count = if self.protocol.is_named() {
            self.count - self.lead
        } else {
            self.count
        };
        (period >= MIN_PERIOD).then_some(Cadence {
            period,
            gaps,
            count,
            answered: self.answered.min(count),
            protocol: self.protocol,
            last: self.last,
        })
    }
}

/// One side's beats: its current run, and its latest heartbeat before it
/// (boxed: most flows' small segments never make one, and a record is made
/// for every flow that sends one).
#[derive(Clone, Debug)]
struct Beats {
    run: Run,
    found: Option<Box<Cadence>>,
}

impl Beats {
    const EMPTY: Beats = Beats {
        run: Run::EMPTY,
        found: None,
    };

    /// A beat at `ts`.
    fn beat(&mut self, ts: Tick, protocol: HeartbeatProtocol) {
        let gap = ts - self.run.last;
        if self.run.count > 0 && gap.0 > 0 && self.run.steady_with(gap) {
            self.run.push(ts, gap, protocol);
        } else {
            // The first beat, a cadence broken, or a clock that stepped back.
            self.end_run();
            self.run = Run::start(ts, protocol);
        }
    }

    /// Ends the current run, keeping it if it was a heartbeat.
    fn end_run(&mut self) {
        let run = std::mem::replace(&mut self.run, Run::EMPTY);
        if let Some(c) = run.cadence() {
            match &mut self.found {
                Some(f) if f.same_as(&c) => **f = f.add(c),
                Some(f) => **f = c,
                None => self.found = Some(Box::new(c)),
            }
        }
    }

    /// The side's heartbeat: the current run's (with the earlier runs of
    /// its cadence), else the latest found.
    fn heartbeat(&self) -> Option<Cadence> {
        match (self.found.as_deref().copied(), self.run.cadence()) {
            (Some(f), Some(c)) if f.same_as(&c) => Some(f.add(c)),
            (_, Some(c)) => Some(c),
            (f, None) => f,
        }
    }
}

/// A flow's heartbeat record: both sides' beats (0 = the flow key's `lo`,
/// 1 = `hi`, as the flow's sides). Boxed in the flow, and made only when a
/// side sends a small data segment.
#[derive(Clone, Debug)]
pub(crate) struct Heartbeats {
    sides: [Beats; 2],
    /// The flow's first data was an SSH banner: its beats are SSH packets.
    ssh: bool,
}

impl Default for Heartbeats {
    fn default() -> Heartbeats {
        Heartbeats {
            sides: [Beats::EMPTY, Beats::EMPTY],
            ssh: false,
        }
    }
}

impl Heartbeats {
    /// A small data segment (1 to [`MAX_BEAT_LEN`] bytes) from side `tx`,
    /// new and not a probe; `first_data` when it is the flow's first data.
    fn on_small(&mut self, tx: usize, ts: Tick, head: &[u8], len: u32, first_data: bool) {
        if first_data && head.starts_with(b"SSH-") {
            self.ssh = true;
        }
        let (mut protocol, role) = name(head, len);
        if self.ssh && protocol == HeartbeatProtocol::Periodic {
            protocol = HeartbeatProtocol::SshPeriodic;
        }
        let [lo, hi] = &mut self.sides;
        let (me, peer) = if tx == 0 { (lo, hi) } else { (hi, lo) };
        let answer = match role {
            Role::Ask => false,
            // A pong answers the last ping however late (gRPC's PING ACKs
            // were seen 2 s after the PING); one answering none is a beat
            // of its own (RFC 6455 allows unsolicited pongs as one).
            Role::Answer => peer.run.answered_by(ts, None),
            // Where the peer's pings have pongs of their own, other small
            // data is none (a Redis replica's REPLCONF ACKs after its
            // master's PINGs): else a small segment soon after is.
            Role::Either => {
                !peer.run.protocol.has_pongs() && peer.run.answered_by(ts, Some(ANSWER_WINDOW))
            }
        };
        if !answer {
            me.beat(ts, protocol);
        }
    }

    /// Whether a side has a run of beats going ([`crate::flow::Flow::beats_open`]).
    pub(crate) fn runs_going(&self) -> bool {
        self.sides.iter().any(|s| s.run.count > 0)
    }

    /// Data larger than a beat, from either side: both sides' runs end.
    fn on_large(&mut self) {
        for side in &mut self.sides {
            side.end_run();
        }
    }

    /// Side `i`'s heartbeat, if it has one.
    pub(crate) fn view(
        &self,
        i: usize,
        (endpoint, peer): (Endpoint, Endpoint),
        epoch: Epoch,
    ) -> Option<HeartbeatView> {
        let c = self.sides[i].heartbeat()?;
        Some(HeartbeatView {
            endpoint,
            peer,
            protocol: c.protocol,
            period_s: c.period.as_secs_f64(),
            count: c.count,
            answers: c.answered,
            answered: c.answered * 2 > c.count,
            last_beat: epoch.time(c.last),
        })
    }
}

/// A data segment of `len` bytes from side `tx` at `ts`, beginning with
/// `head`: new (no retransmission), and neither a probe nor a probe
/// candidate. A small one is a beat (the record made if need be); a larger
/// one ends the runs of a record that exists. `first_data` when no data was
/// seen on the flow before. `open`: whether a run of the record may be
/// going (a larger segment reads the record only then); returns it after
/// the segment.
pub(crate) fn on_data(
    record: &mut Option<Box<Heartbeats>>,
    open: bool,
    (tx, ts): (usize, Tick),
    head: &[u8],
    len: u32,
    first_data: bool,
) -> bool {
    if len == 0 {
        return open;
    }
    if len <= MAX_BEAT_LEN {
        record
            .get_or_insert_with(Default::default)
            .on_small(tx, ts, head, len, first_data);
        // A beat starts or extends a run, or answers the peer's going one.
        true
    } else {
        if open {
            if let Some(r) = record.as_deref_mut() {
                r.on_large();
            }
        }
        false
    }
}

/// One side's application heartbeat: small segments it sends at a steady
/// period (never TCP keepalive probes: see [`crate::ProberView`] for those).
#[derive(Clone, Debug, PartialEq)]
pub struct HeartbeatView {
    /// The side that sends the heartbeats.
    pub endpoint: Endpoint,
    /// Its peer.
    pub peer: Endpoint,
    /// What the beats' bytes say they are.
    pub protocol: HeartbeatProtocol,
    /// The mean gap between beats, seconds.
    pub period_s: f64,
    /// Beats seen (of this cadence: runs interrupted by data add up).
    pub count: u32,
    /// Beats the peer answered (a small segment within [`ANSWER_WINDOW`]).
    pub answers: u32,
    /// More than half of the beats were answered.
    pub answered: bool,
    /// The latest beat's time.
    pub last_beat: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;
    use HeartbeatProtocol::*;

    #[test]
    fn each_protocol_is_named_by_its_bytes() {
        let ws_ping_masked = [0x89, 0x84, 1, 2, 3, 4, b'p', b'i', b'n', b'g'];
        let ws_pong = [0x8a, 0x04, b'p', b'i', b'n', b'g'];
        let mut h2_ping = vec![0, 0, 8, 6, 0, 0, 0, 0, 0];
        h2_ping.extend_from_slice(&[7; 8]);
        let mut h2_ack = h2_ping.clone();
        h2_ack[4] = 1;
        let mut h2_settings = h2_ping.clone();
        h2_settings[3] = 4;
        let mut tls = vec![0x17, 0x03, 0x03, 0x00, 0x22];
        tls.extend_from_slice(&[0xab; 34]);
        let redis_pubsub_pong = b"*2\r\n$4\r\npong\r\n$0\r\n\r\n";
        let cases: &[(&str, &[u8], (HeartbeatProtocol, Role))] = &[
            ("http2 ping", &h2_ping, (Http2Ping, Role::Ask)),
            ("http2 ping ack", &h2_ack, (Http2Ping, Role::Answer)),
            ("http2 settings", &h2_settings, (Periodic, Role::Either)),
            (
                "http2 ping, more frames after it",
                &[&h2_ping[..], &[0; 4]].concat(),
                (Periodic, Role::Either),
            ),
            (
                "websocket ping, masked",
                &ws_ping_masked,
                (WebsocketPing, Role::Ask),
            ),
            (
                "websocket ping, empty",
                &[0x89, 0x00],
                (WebsocketPing, Role::Ask),
            ),
            ("websocket pong", &ws_pong, (WebsocketPing, Role::Answer)),
            (
                "websocket ping without FIN",
                &[0x09, 0x00],
                (Periodic, Role::Either),
            ),
            (
                "websocket text frame",
                &[0x81, 0x02, b'h', b'i'],
                (Periodic, Role::Either),
            ),
            ("mqtt pingreq", &[0xc0, 0x00], (MqttPing, Role::Ask)),
            ("mqtt pingresp", &[0xd0, 0x00], (MqttPing, Role::Answer)),
            (
                "mqtt pingreq, trailing byte",
                &[0xc0, 0x00, 0x00],
                (Periodic, Role::Either),
            ),
            (
                "amqp 0-9-1 heartbeat",
                &[8, 0, 0, 0, 0, 0, 0, 0xce],
                (AmqpHeartbeat, Role::Ask),
            ),
            (
                "amqp 1.0 empty frame",
                &[0, 0, 0, 8, 2, 0, 0, 0],
                (AmqpHeartbeat, Role::Ask),
            ),
            (
                "amqp heartbeat, bad frame end",
                &[8, 0, 0, 0, 0, 0, 0, 0xcd],
                (Periodic, Role::Either),
            ),
            (
                "redis PING",
                b"*1\r\n$4\r\nPING\r\n",
                (RedisPing, Role::Ask),
            ),
            (
                "redis ping, lower case",
                b"*1\r\n$4\r\nping\r\n",
                (RedisPing, Role::Ask),
            ),
            ("redis inline PING", b"PING\r\n", (RedisPing, Role::Ask)),
            ("redis +PONG", b"+PONG\r\n", (RedisPing, Role::Answer)),
            (
                "redis pong, subscribed",
                redis_pubsub_pong,
                (RedisPing, Role::Answer),
            ),
            ("redis +OK", b"+OK\r\n", (Periodic, Role::Either)),
            ("tls application data", &tls, (TlsPeriodic, Role::Either)),
            (
                "tls alert",
                &[0x15, 0x03, 0x03, 0x00, 0x02, 1, 0],
                (Periodic, Role::Either),
            ),
            (
                "tls record longer than the segment",
                &tls[..20],
                (Periodic, Role::Either),
            ),
            ("anything else", b"hello", (Periodic, Role::Either)),
        ];
        for &(case, bytes, want) in cases {
            let head = &bytes[..bytes.len().min(crate::PayloadHead::MAX)];
            assert_eq!(name(head, bytes.len() as u32), want, "{case}");
        }
    }

    #[test]
    fn names_are_as_documented() {
        let names: Vec<&str> = HeartbeatProtocol::ALL.iter().map(|p| p.as_str()).collect();
        assert_eq!(
            names,
            [
                "http2-ping",
                "websocket-ping",
                "mqtt-ping",
                "amqp-heartbeat",
                "redis-ping",
                "tls-periodic",
                "ssh-periodic",
                "periodic"
            ]
        );
        for p in HeartbeatProtocol::ALL {
            assert!(
                !p.as_str().contains("keepalive"),
                "a heartbeat is never called a keepalive"
            );
        }
    }

    #[test]
    fn a_runs_name_is_what_its_named_beats_agree_on() {
        assert_eq!(Periodic.merge(MqttPing), MqttPing);
        assert_eq!(MqttPing.merge(Periodic), MqttPing);
        assert_eq!(MqttPing.merge(MqttPing), MqttPing);
        assert_eq!(MqttPing.merge(RedisPing), Periodic);
    }

    /// `t` seconds after a time 1000 s from the epoch.
    fn tick(t: f64) -> Tick {
        Tick((1e9 * (1_000.0 + t)).round() as i64)
    }

    /// A side's beats at these seconds, fed to one side's detector, their
    /// bytes naming a protocol (MQTT PINGREQ).
    fn beats(at: &[f64]) -> Beats {
        beats_of(at, MqttPing, false)
    }

    /// A side's beats at these seconds, of `protocol`, each answered or not.
    fn beats_of(at: &[f64], protocol: HeartbeatProtocol, answered: bool) -> Beats {
        let mut b = Beats::EMPTY;
        for &t in at {
            let ts = tick(t);
            b.beat(ts, protocol);
            if answered {
                assert!(b
                    .run
                    .answered_by(Tick(ts.0 + 20_000_000), Some(ANSWER_WINDOW)));
            }
        }
        b
    }

    /// An MQTT client's CONNECT starts its keepalive timer: it sets the
    /// cadence going (the period counts it) but is not a PINGREQ.
    #[test]
    fn the_message_that_starts_a_cadence_is_not_counted() {
        let mut b = Beats::EMPTY;
        let at = tick;
        b.beat(at(1.0), Periodic); // CONNECT
        for t in [61.0, 121.0, 181.0] {
            b.beat(at(t), MqttPing);
        }
        let c = b.heartbeat().unwrap();
        assert_eq!(
            (c.protocol, c.count, c.period),
            (MqttPing, 3, Span(60_000_000_000))
        );
        // Two unnamed, then named: both lead.
        let mut b = Beats::EMPTY;
        for (t, p) in [
            (0.0, Periodic),
            (10.0, Periodic),
            (20.0, MqttPing),
            (30.0, MqttPing),
        ] {
            b.beat(at(t), p);
        }
        assert_eq!(b.heartbeat().map(|c| c.count), Some(2));
        // Names that disagree make it periodic, every beat counted.
        let mut b = Beats::EMPTY;
        for (t, p) in [
            (0.0, Periodic),
            (10.0, MqttPing),
            (20.0, RedisPing),
            (30.0, Periodic),
        ] {
            b.beat(at(t), p);
        }
        let c = b.heartbeat().unwrap();
        assert_eq!((c.protocol, c.count), (Periodic, 4));
    }

    /// Three unnamed beats the peer does not answer may be chance (chat
    /// lines evenly spaced); a fourth, or answers, or a name make them a
    /// heartbeat.
    #[test]
    fn unnamed_one_way_beats_need_one_more() {
        let three = [0.0, 2.24, 4.49];
        let four = [0.0, 2.24, 4.49, 6.72];
        let cases = [
            (
                "periodic, three, unanswered",
                &three[..],
                Periodic,
                false,
                None,
            ),
            (
                "periodic, four, unanswered",
                &four[..],
                Periodic,
                false,
                Some(4),
            ),
            (
                "periodic, three, answered",
                &three[..],
                Periodic,
                true,
                Some(3),
            ),
            (
                "tls, three, unanswered",
                &three[..],
                TlsPeriodic,
                false,
                None,
            ),
            (
                "ssh, three, answered",
                &three[..],
                SshPeriodic,
                true,
                Some(3),
            ),
            (
                "amqp, three, unanswered",
                &three[..],
                AmqpHeartbeat,
                false,
                Some(3),
            ),
        ];
        for (case, at, protocol, answered, want) in cases {
            let got = beats_of(at, protocol, answered)
                .heartbeat()
                .map(|c| c.count);
            assert_eq!(got, want, "{case}");
        }
    }

    /// A cadence case: its name, the beats' times, and the heartbeat
    /// found: (period, count), or none.
    type CadenceCase<'a> = (&'a str, &'a [f64], Option<(f64, u32)>);

    #[test]
    fn cadences() {
        let cases: &[CadenceCase] = &[
            ("steady", &[0.0, 30.0, 60.0, 90.0], Some((30.0, 4))),
            (
                "three beats are enough",
                &[0.0, 15.0, 30.0],
                Some((15.0, 3)),
            ),
            ("two are not", &[0.0, 15.0], None),
            (
                "jitter within 5 %",
                &[0.0, 29.2, 60.1, 89.5, 120.6],
                Some((30.15, 5)),
            ),
            ("jitter beyond 5 %", &[0.0, 27.0, 60.0, 87.0, 120.0], None),
            (
                "short periods: 50 ms of jitter",
                &[0.0, 1.03, 1.99, 3.02],
                Some((1.007, 4)),
            ),
            ("doubling backoff", &[0.0, 1.0, 3.0, 7.0, 15.0, 31.0], None),
            ("one-off small writes", &[0.0, 4.0, 11.0, 12.5, 40.0], None),
            ("faster than a second", &[0.0, 0.5, 1.0, 1.5, 2.0], None),
            (
                "a one-off write breaks it; a new run starts with the write \
                 (as an MQTT client's timer restarts with each packet sent)",
                &[0.0, 30.0, 60.0, 70.0, 100.0, 130.0],
                Some((30.0, 6)),
            ),
            (
                "the period changes: the newer is reported",
                &[0.0, 10.0, 20.0, 30.0, 90.0, 150.0, 210.0],
                Some((60.0, 3)),
            ),
        ];
        for &(case, at, want) in cases {
            let got = beats(at)
                .heartbeat()
                .map(|c| ((c.period.as_secs_f64() * 1e3).round() / 1e3, c.count));
            assert_eq!(got, want, "{case}");
        }
    }

    #[test]
    fn a_clock_stepping_back_starts_a_new_run() {
        let b = beats(&[0.0, 10.0, 20.0, -100.0, -90.0]);
        let c = b.heartbeat().unwrap();
        assert_eq!((c.count, c.period), (3, Span(10_000_000_000)));
    }

    /// A two-party script through the analyser: the client
    /// (198.18.0.1:40000, side 0) and the server (198.18.0.2:5000, side 1),
    /// each side's next sequence number tracked, the handshake at t = 0.
    mod script {
        use crate::segment::{Endpoint, PayloadHead, Segment, TcpFlags, Vlan};
        use crate::seq::SeqNumber;
        use crate::time::Timestamp;
        use crate::{Analyzer, FlowView, LinkType};

        pub(super) const C: usize = 0;
        pub(super) const S: usize = 1;

        pub(super) struct Script {
            pub(super) an: Analyzer,
            nxt: [u32; 2],
            frame: u64,
        }

        impl Script {
            pub(super) fn new() -> Script {
                let mut s = Script {
                    an: Analyzer::new(LinkType::RawIp),
                    nxt: [100, 500],
                    frame: 0,
                };
                s.segment(0.0, C, TcpFlags::SYN, 100, 0, &[]);
                s.segment(0.0001, S, TcpFlags::SYN | TcpFlags::ACK, 500, 101, &[]);
                s.nxt = [101, 501];
                s.ack(0.0002, C);
                s
            }

            fn ends(by: usize) -> (Endpoint, Endpoint) {
                let c = Endpoint::new([198, 18, 0, 1].into(), 40000);
                let s = Endpoint::new([198, 18, 0, 2].into(), 5000);
                if by == C {
                    (c, s)
                } else {
                    (s, c)
                }
            }

            fn segment(
                &mut self,
                at: f64,
                by: usize,
                flags: u8,
                seq: u32,
                ack: u32,
                payload: &[u8],
            ) {
                self.frame += 1;
                let (src, dst) = Self::ends(by);
                self.an.ingest(&Segment {
                    frame: self.frame,
                    ts: Timestamp::from_secs_f64(1_000_000.0 + at),
                    src,
                    dst,
                    vlan: Vlan::NONE,
                    seq: SeqNumber(seq),
                    ack: SeqNumber(ack),
                    flags: TcpFlags(flags),
                    window: 1000,
                    payload_len: payload.len() as u32,
                    sack: None,
                    head: PayloadHead::new(payload),
                    ip_id: 0,
                    tsval: 0,
                });
            }

            /// New data from `by`, acknowledging all the peer sent.
            pub(super) fn send(&mut self, at: f64, by: usize, payload: &[u8]) -> &mut Self {
                let (seq, ack) = (self.nxt[by], self.nxt[1 - by]);
                self.segment(at, by, TcpFlags::ACK | TcpFlags::PSH, seq, ack, payload);
                self.nxt[by] = seq.wrapping_add(payload.len() as u32);
                self
            }

            /// `by`'s last data segment again.
            pub(super) fn resend(&mut self, at: f64, by: usize, payload: &[u8]) -> &mut Self {
                let seq = self.nxt[by].wrapping_sub(payload.len() as u32);
                let ack = self.nxt[1 - by];
                self.segment(at, by, TcpFlags::ACK | TcpFlags::PSH, seq, ack, payload);
                self
            }

            /// A pure ACK.
            pub(super) fn ack(&mut self, at: f64, by: usize) -> &mut Self {
                let (seq, ack) = (self.nxt[by], self.nxt[1 - by]);
                self.segment(at, by, TcpFlags::ACK, seq, ack, &[]);
                self
            }

            /// A keepalive probe (seq = snd_nxt - 1, no data), and the peer's reply.
            pub(super) fn probe(&mut self, at: f64, by: usize) -> &mut Self {
                let (seq, ack) = (self.nxt[by].wrapping_sub(1), self.nxt[1 - by]);
                self.segment(at, by, TcpFlags::ACK, seq, ack, &[]);
                self.ack(at + 0.0002, 1 - by)
            }

            pub(super) fn flow(&self) -> FlowView {
                let mut flows: Vec<FlowView> = self.an.flow_views().collect();
                assert_eq!(flows.len(), 1);
                flows.remove(0)
            }
        }
    }

    use script::{Script, C, S};

    /// An HTTP/2 PING frame (ACK: its answer).
    fn h2_ping(ack: bool) -> Vec<u8> {
        let mut f = vec![0, 0, 8, 6, u8::from(ack), 0, 0, 0, 0];
        f.extend_from_slice(b"12345678");
        f
    }

    /// A TLS 1.3 application data record of `len` bytes in all.
    fn tls(len: usize) -> Vec<u8> {
        let mut r = vec![0x17, 0x03, 0x03];
        r.extend_from_slice(&((len - 5) as u16).to_be_bytes());
        r.resize(len, 0x5a);
        r
    }

    const PINGREQ: &[u8] = &[0xc0, 0x00];
    const PINGRESP: &[u8] = &[0xd0, 0x00];

    /// (side, protocol, period rounded to 10 ms, count, answered)
    type Want = (usize, HeartbeatProtocol, f64, u32, bool);

    #[test]
    fn heartbeats_through_the_analyser() {
        type Build = fn(&mut Script);
        let cases: &[(&str, Build, &[Want])] = &[
            (
                "steady, one way (MQTT PINGREQ, only ACKed)",
                |w| {
                    for k in 0..5 {
                        let t = 1.0 + 30.0 * f64::from(k);
                        w.send(t, C, PINGREQ).ack(t + 0.04, S);
                    }
                },
                &[(C, MqttPing, 30.0, 5, false)],
            ),
            (
                "both ways: HTTP/2 PING and its ACK (the ACK is no heartbeat)",
                |w| {
                    for k in 0..4 {
                        let t = 1.0 + 20.0 * f64::from(k);
                        w.send(t, C, &h2_ping(false))
                            .send(t + 0.02, S, &h2_ping(true))
                            .ack(t + 0.06, C);
                    }
                },
                &[(C, Http2Ping, 20.0, 4, true)],
            ),
            (
                "MQTT PINGREQ answered by PINGRESP",
                |w| {
                    for k in 0..3 {
                        let t = 1.0 + 60.0 * f64::from(k);
                        w.send(t, C, PINGREQ).send(t + 0.05, S, PINGRESP);
                    }
                },
                &[(C, MqttPing, 60.0, 3, true)],
            ),
            (
                "each side its own (AMQP heartbeats, unanswered)",
                |w| {
                    let hb = [8, 0, 0, 0, 0, 0, 0, 0xce];
                    for k in 0..4 {
                        let t = 1.0 + 30.0 * f64::from(k);
                        w.send(t, C, &hb).send(t + 7.0, S, &hb);
                    }
                },
                &[
                    (C, AmqpHeartbeat, 30.0, 4, false),
                    (S, AmqpHeartbeat, 30.0, 4, false),
                ],
            ),
            (
                "both ping at once (HTTP/2): two heartbeats, each answered",
                |w| {
                    for k in 0..3 {
                        let t = 1.0 + 10.0 * f64::from(k);
                        w.send(t, C, &h2_ping(false))
                            .send(t + 0.01, S, &h2_ping(false))
                            .send(t + 0.02, S, &h2_ping(true))
                            .send(t + 0.03, C, &h2_ping(true));
                    }
                },
                &[(C, Http2Ping, 10.0, 3, true), (S, Http2Ping, 10.0, 3, true)],
            ),
            (
                "gRPC: both ping, the client's ACKs 2 s late (answers, not beats)",
                |w| {
                    for k in 0..10 {
                        let t = 3.0 + 5.0 * f64::from(k);
                        w.send(t, C, &h2_ping(false))
                            .send(t + 0.01, S, &h2_ping(true));
                        if k % 2 == 0 {
                            w.send(t + 0.5, S, &h2_ping(false))
                                .send(t + 2.5, C, &h2_ping(true));
                        }
                    }
                },
                &[(C, Http2Ping, 5.0, 10, true), (S, Http2Ping, 10.0, 5, true)],
            ),
            (
                "a Redis replica's REPLCONF ACKs after its master's PINGs: no pongs",
                |w| {
                    let ack = b"*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$2\r\n42\r\n";
                    for k in 0..12 {
                        let t = 1.0 + f64::from(k);
                        if k % 3 == 0 {
                            w.send(t, S, b"*1\r\n$4\r\nping\r\n");
                        }
                        w.send(t + 0.2, C, ack);
                    }
                },
                &[(C, Periodic, 1.0, 12, false), (S, RedisPing, 3.0, 4, false)],
            ),
            (
                "unsolicited WebSocket pongs: a one-way heartbeat (RFC 6455)",
                |w| {
                    for k in 0..4 {
                        let t = 1.0 + 20.0 * f64::from(k);
                        w.send(t, S, &[0x8a, 0x00]).ack(t + 0.03, C);
                    }
                },
                &[(S, WebsocketPing, 20.0, 4, false)],
            ),
            (
                "jittered within bounds (WebSocket ping from the server)",
                |w| {
                    let ping = [0x89, 0x00];
                    let pong = [0x8a, 0x84, 1, 2, 3, 4, 0, 0, 0, 0];
                    for (k, jitter) in [0.0, 0.4, -0.3, 0.5, -0.2, 0.1].iter().enumerate() {
                        let t = 1.0 + 25.0 * k as f64 + jitter;
                        w.send(t, S, &ping).send(t + 0.03, C, &pong);
                    }
                },
                &[(S, WebsocketPing, 25.02, 6, true)],
            ),
            (
                "doubling backoff: no heartbeat",
                |w| {
                    for t in [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0] {
                        w.send(t, C, b"retry?").ack(t + 0.01, S);
                    }
                },
                &[],
            ),
            (
                "one-off small writes: no heartbeat",
                |w| {
                    for t in [1.0, 3.5, 11.0, 12.0, 40.0, 41.5, 90.0] {
                        w.send(t, C, b"GET /x").send(t + 0.01, S, b"+OK\r\n");
                    }
                },
                &[],
            ),
            (
                "interrupted by a large write: found again three beats after it",
                |w| {
                    for t in [1.0, 31.0, 61.0] {
                        w.send(t, C, PINGREQ).send(t + 0.05, S, PINGRESP);
                    }
                    w.send(70.0, S, &[0x30; 600]).ack(70.04, C);
                    for t in [91.0, 121.0, 151.0] {
                        w.send(t, C, PINGREQ).send(t + 0.05, S, PINGRESP);
                    }
                },
                &[(C, MqttPing, 30.0, 6, true)],
            ),
            (
                "interrupted before three beats: none",
                |w| {
                    for t in [1.0, 31.0] {
                        w.send(t, C, PINGREQ).ack(t + 0.05, S);
                    }
                    w.send(40.0, C, &[0x30; 300]).ack(40.04, S);
                    for t in [70.0, 100.0] {
                        w.send(t, C, PINGREQ).ack(t + 0.05, S);
                    }
                    w.send(110.0, S, &[0x30; 300]).ack(110.04, C);
                },
                &[],
            ),
            (
                "retransmitted beats count once",
                |w| {
                    for k in 0..4 {
                        let t = 1.0 + 30.0 * f64::from(k);
                        w.send(t, C, PINGREQ)
                            .resend(t + 0.3, C, PINGREQ)
                            .ack(t + 0.35, S);
                    }
                },
                &[(C, MqttPing, 30.0, 4, false)],
            ),
            (
                "TLS records: tls-periodic, answered",
                |w| {
                    w.send(0.1, C, &tls(517)).send(0.2, S, &tls(1400));
                    for k in 0..3 {
                        let t = 10.0 + 15.0 * f64::from(k);
                        w.send(t, C, &tls(39)).send(t + 0.04, S, &tls(39));
                    }
                },
                &[(C, TlsPeriodic, 15.0, 3, true)],
            ),
            (
                "SSH: the banner names the flow's encrypted beats",
                |w| {
                    w.send(0.01, S, b"SSH-2.0-OpenSSH_9.6\r\n")
                        .send(0.02, C, b"SSH-2.0-OpenSSH_9.6\r\n")
                        .send(0.03, C, &[0x11; 1500])
                        .send(0.04, S, &[0x22; 1100]);
                    for k in 0..3 {
                        let t = 10.0 + 15.0 * f64::from(k);
                        w.send(t, C, &[0x33; 52]).send(t + 0.04, S, &[0x44; 28]);
                    }
                },
                &[(C, SshPeriodic, 15.0, 3, true)],
            ),
            (
                "unnamed small frames do not rename a named run",
                |w| {
                    // An MQTT CONNECT, then PINGREQs at its keepalive.
                    w.send(
                        0.01,
                        C,
                        &[0x10, 0x0c, 0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 60, 0, 0],
                    );
                    w.send(0.02, S, &[0x20, 0x02, 0, 0]);
                    for t in [60.01, 120.01, 180.01] {
                        w.send(t, C, PINGREQ).send(t + 0.05, S, PINGRESP);
                    }
                },
                &[(C, MqttPing, 60.0, 3, true)],
            ),
        ];
        for &(case, build, want) in cases {
            let mut w = Script::new();
            build(&mut w);
            let f = w.flow();
            let got: Vec<Want> = f
                .heartbeats
                .iter()
                .map(|h| {
                    let side = if h.endpoint == f.a { C } else { S };
                    let period = (h.period_s * 100.0).round() / 100.0;
                    (side, h.protocol, period, h.count, h.answered)
                })
                .collect();
            assert_eq!(got, want, "{case}");
            assert!(f.probers.is_empty(), "{case}: a heartbeat makes no prober");
        }
    }

    #[test]
    fn keepalive_probes_alongside_are_no_beats() {
        // Client heartbeats every 30 s (TLS, answered), and client keepalive
        // probes at 10 s idle (intvl 10 s) in between, answered.
        let mut w = Script::new();
        for k in 0..4 {
            let t = 1.0 + 30.0 * f64::from(k);
            w.send(t, C, &tls(39)).send(t + 0.05, S, &tls(39));
            w.probe(t + 10.05, C).probe(t + 20.05, C);
        }
        let f = w.flow();
        assert_eq!(f.heartbeats.len(), 1, "{:?}", f.heartbeats);
        let h = &f.heartbeats[0];
        assert_eq!(
            (h.endpoint.port, h.protocol, h.count, h.answered, h.answers),
            (40000, TlsPeriodic, 4, true, 4)
        );
        assert!((h.period_s - 30.0).abs() < 1e-9);
        assert_eq!(f.probers.len(), 1);
        assert_eq!(
            (f.probers[0].probes_sent, f.probers[0].probes_answered),
            (8, 8)
        );

        // Probes alone, however steady, are no heartbeat.
        let mut w = Script::new();
        w.send(0.5, C, b"hello").ack(0.6, S);
        for k in 0..6 {
            w.probe(10.6 + 10.0 * f64::from(k), C);
        }
        let f = w.flow();
        assert!(f.heartbeats.is_empty(), "{:?}", f.heartbeats);
        assert_eq!(f.probers[0].probes_sent, 6);
    }

    #[test]
    fn the_record_is_made_only_for_small_data_and_stays_small() {
        let size = std::mem::size_of::<Heartbeats>();
        eprintln!("heartbeat record {size} bytes");
        assert!(size <= 256, "{size}");
        let mut w = Script::new();
        w.send(0.1, C, &[0; 1000])
            .send(0.2, S, &[0; 1400])
            .probe(10.0, C);
        assert_eq!(w.an.heartbeat_records(), 0);
        w.send(20.0, C, PINGREQ);
        assert_eq!(w.an.heartbeat_records(), 1);
    }
}
