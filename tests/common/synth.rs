//! Synthetic captures for kawatch's tests.
//!
//! Three parts, top to bottom:
//!
//! 1. [`Conversation`]: a TCP conversation between two endpoints, written as
//!    a script. It tracks the sequence numbers of both sides, so a probe is
//!    simply `c.probe(A)` and lands at `snd_nxt - 1` with the right ack.
//! 2. [`Capture`]: puts the packets of one or more conversations into a
//!    pcap (µs or ns) or pcapng file, under one of several link layers.
//! 3. [`cases`]: the named cases checked in under `fixtures/synth/`.
//!
//! ```ignore
//! let mut c = Conversation::new(cases::client(), cases::server());
//! c.handshake();
//! c.wait(0.001).data(A, 120);
//! c.wait(0.0004).data(B, 240);
//! c.wait(2.04).probe(A); // keepalive: seq = snd_nxt - 1, no data
//! c.wait(0.0002).probe_ack(B);
//! let bytes = Capture::new(LinkType::Ethernet, Format::PcapMicro).with(c).to_bytes();
//! ```
//!
//! Every packet carries a [`Role`]: the ground truth the tests hold kawatch's
//! classification to. Everything here is deterministic, so regenerating a
//! case reproduces the checked-in file byte for byte.

use std::net::IpAddr;

use etherparse::{IpNumber, Ipv4Header, Ipv6FlowLabel, Ipv6Header, TcpHeader, TcpOptionElement};

// ---------------------------------------------------------------------------
// Endpoints and roles
// ---------------------------------------------------------------------------

/// One end of a conversation.
#[derive(Clone, Copy, Debug)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: u16,
    pub mac: [u8; 6],
}

impl Endpoint {
    pub fn v4(ip: [u8; 4], port: u16, mac_suffix: u8) -> Self {
        Endpoint {
            ip: IpAddr::from(ip),
            port,
            mac: [0x02, 0, 0, 0, 0, mac_suffix],
        }
    }

    pub fn v6(ip: &str, port: u16, mac_suffix: u8) -> Self {
        Endpoint {
            ip: ip.parse().expect("IPv6 address"),
            port,
            mac: [0x02, 0, 0, 0, 0, mac_suffix],
        }
    }
}

/// Formats as kawatch's report does: `198.18.0.1:40000`, `[2001:db8::1]:40000`.
impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.ip {
            IpAddr::V4(ip) => write!(f, "{ip}:{}", self.port),
            IpAddr::V6(ip) => write!(f, "[{ip}]:{}", self.port),
        }
    }
}

/// The two sides of a conversation. A is the client (it sends the SYN).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    A,
    B,
}
pub use Side::{A, B};

impl Side {
    fn index(self) -> usize {
        self as usize
    }
    fn peer(self) -> Side {
        match self {
            A => B,
            B => A,
        }
    }
}

/// What a packet is, as far as keepalive analysis goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Handshake, data, plain ACKs, FIN, window updates.
    Other,
    /// A keepalive probe (0 or 1 byte at snd_nxt - 1, that byte acknowledged).
    Probe,
    /// The peer's (duplicate) ACK answering a probe.
    ProbeAck,
    /// The peer's RST answering a probe: it has lost the connection.
    ProbeRst,
    /// The prober's RST after its probes went unanswered.
    GiveUp,
    /// A persist-timer probe into a zero window: same bytes as a keepalive.
    ZeroWindowProbe,
    /// A retransmitted data segment (its bytes were never acknowledged).
    Retransmission,
}

impl Role {
    /// The `kind` kawatch's `--format events` gives this role, if any.
    pub fn event_kind(self) -> Option<&'static str> {
        match self {
            Role::Probe => Some("probe"),
            Role::ProbeAck => Some("probe_ack"),
            Role::ProbeRst => Some("probe_rst"),
            Role::GiveUp => Some("give_up"),
            Role::ZeroWindowProbe => Some("zero_window_probe"),
            Role::Other | Role::Retransmission => None,
        }
    }
}

/// One 802.1Q / 802.1ad tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VlanTag {
    pub tpid: u16,
    pub id: u16,
}

/// An 802.1Q (customer) tag.
pub fn dot1q(id: u16) -> VlanTag {
    VlanTag { tpid: 0x8100, id }
}

/// An 802.1ad (service, QinQ outer) tag.
pub fn dot1ad(id: u16) -> VlanTag {
    VlanTag { tpid: 0x88a8, id }
}

/// IPv6 extension headers a conversation can put before TCP. Each one is
/// 8 bytes: next header, length 0, and a 4-byte PadN option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ipv6Ext {
    HopByHop,
    DestinationOptions,
}

impl Ipv6Ext {
    fn protocol(self) -> u8 {
        match self {
            Ipv6Ext::HopByHop => 0,
            Ipv6Ext::DestinationOptions => 60,
        }
    }
}

/// An IP packet on its way into a capture, with what the link layer needs.
#[derive(Clone, Debug)]
pub struct Packet {
    pub ts_ns: u64,
    pub ip: Vec<u8>,
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    pub vlan: Vec<VlanTag>,
    /// Sent by the capturing host (Linux "cooked" captures record this).
    pub outgoing: bool,
    pub role: Role,
}

// ---------------------------------------------------------------------------
// Conversation builder
// ---------------------------------------------------------------------------

/// 2023-11-14 22:13:20 UTC, in nanoseconds: where every case's clock starts.
pub const T0_NS: u64 = 1_700_000_000_000_000_000;

/// Window advertised in SYNs, and the scaled window (x 128) used afterwards.
const SYN_WINDOW: u16 = 64240;
const WINDOW: u16 = 502;

fn secs_to_ns(secs: f64) -> u64 {
    assert!(secs >= 0.0, "time runs forward only ({secs})");
    (secs * 1e9).round() as u64
}

#[derive(Clone, Debug)]
struct Half {
    ep: Endpoint,
    /// Next sequence number this side sends (snd_nxt).
    nxt: u32,
    /// Next sequence number this side expects (the ack it sends).
    rcv_nxt: u32,
    window: u16,
    ip_id: u16,
    /// Payload of the last data segment, for retransmissions.
    last_payload: Vec<u8>,
}

/// A TCP conversation between A (client) and B (server), written as a script.
///
/// Each segment method sends one segment at the current time from the given
/// side and returns `&mut Self`, so steps chain: `c.wait(2.04).probe(A)`.
/// Sequence numbers are tracked per side: data advances the sender's
/// `snd_nxt` and (being delivered) the receiver's `rcv_nxt`. A segment that
/// the script does not send was lost before the capture point.
///
/// Without [`Conversation::handshake`] the conversation is already
/// established when the capture starts (a mid-idle capture).
#[derive(Clone, Debug)]
pub struct Conversation {
    half: [Half; 2],
    start_ns: u64,
    now_ns: u64,
    vlan: Vec<VlanTag>,
    ipv6_ext: Vec<Ipv6Ext>,
    captured_at: Side,
    packets: Vec<Packet>,
}

/// Options Linux puts in a SYN when TCP timestamps are off:
/// MSS, NOP, NOP, SACK permitted, NOP, window scale 7.
fn syn_options() -> [TcpOptionElement; 6] {
    [
        TcpOptionElement::MaximumSegmentSize(1460),
        TcpOptionElement::Noop,
        TcpOptionElement::Noop,
        TcpOptionElement::SelectiveAcknowledgementPermitted,
        TcpOptionElement::Noop,
        TcpOptionElement::WindowScale(7),
    ]
}

/// Which segment to send; the sequence state decides the numbers.
#[derive(Clone, Copy)]
struct Segment<'p> {
    seq: u32,
    ack: Option<u32>,
    syn: bool,
    fin: bool,
    rst: bool,
    /// Set on data; a 1-byte probe carries its byte without PSH.
    psh: bool,
    payload: &'p [u8],
    /// One SACK block (left, right), e.g. a D-SACK for a duplicate byte.
    sack: Option<(u32, u32)>,
}

impl<'p> Segment<'p> {
    fn ack(seq: u32, ack: u32) -> Self {
        Segment {
            seq,
            ack: Some(ack),
            syn: false,
            fin: false,
            rst: false,
            psh: false,
            payload: &[],
            sack: None,
        }
    }
}

impl Conversation {
    /// A conversation from `a` (the client) to `b`, with fixed ISNs (see
    /// [`Self::isns`]), starting at [`T0_NS`], captured on A's host.
    pub fn new(a: Endpoint, b: Endpoint) -> Self {
        assert_eq!(
            a.ip.is_ipv4(),
            b.ip.is_ipv4(),
            "both endpoints must use the same IP version"
        );
        let mut c = Conversation {
            half: [Self::half(a, 0x3a10), Self::half(b, 0x7c20)],
            start_ns: T0_NS,
            now_ns: T0_NS,
            vlan: Vec::new(),
            ipv6_ext: Vec::new(),
            captured_at: A,
            packets: Vec::new(),
        };
        c.isns(0x1a2b_3c4d, 0x5e6f_7081);
        c
    }

    fn half(ep: Endpoint, ip_id: u16) -> Half {
        Half {
            ep,
            nxt: 0,
            rcv_nxt: 0,
            window: WINDOW,
            ip_id,
            last_payload: Vec::new(),
        }
    }

    /// Initial sequence numbers. Call before the first segment.
    pub fn isns(&mut self, a: u32, b: u32) -> &mut Self {
        assert!(self.packets.is_empty(), "set ISNs before the first segment");
        // After the handshake each side's snd_nxt is ISN + 1.
        self.half[0].nxt = a.wrapping_add(1);
        self.half[0].rcv_nxt = b.wrapping_add(1);
        self.half[1].nxt = b.wrapping_add(1);
        self.half[1].rcv_nxt = a.wrapping_add(1);
        self
    }

    /// Moves the conversation's clock: offsets given to [`Self::at`] count
    /// from here. Call before the first segment.
    pub fn starting_at_ns(&mut self, epoch_ns: u64) -> &mut Self {
        assert!(
            self.packets.is_empty(),
            "set the start before the first segment"
        );
        self.start_ns = epoch_ns;
        self.now_ns = epoch_ns;
        self
    }

    /// 802.1Q/802.1ad tags, outermost first, for the packets sent from now on.
    pub fn vlan(&mut self, tags: &[VlanTag]) -> &mut Self {
        self.vlan = tags.to_vec();
        self
    }

    /// IPv6 extension headers for the packets sent from now on.
    pub fn ipv6_ext(&mut self, exts: &[Ipv6Ext]) -> &mut Self {
        assert!(self.half[0].ep.ip.is_ipv6(), "extension headers need IPv6");
        self.ipv6_ext = exts.to_vec();
        self
    }

    /// The host the capture was taken on (default A): its packets are
    /// "outgoing" in Linux cooked captures.
    pub fn captured_at(&mut self, side: Side) -> &mut Self {
        self.captured_at = side;
        self
    }

    /// The window `side` advertises from now on (raw value, scaled by 128).
    pub fn window(&mut self, side: Side, window: u16) -> &mut Self {
        self.half[side.index()].window = window;
        self
    }

    /// Advances the clock by `secs`.
    pub fn wait(&mut self, secs: f64) -> &mut Self {
        self.now_ns += secs_to_ns(secs);
        self
    }

    /// Sets the clock to `secs` after the conversation's start.
    pub fn at(&mut self, secs: f64) -> &mut Self {
        let t = self.start_ns + secs_to_ns(secs);
        assert!(t >= self.now_ns, "at({secs}) is before the current time");
        self.now_ns = t;
        self
    }

    /// Seconds since the conversation's start.
    pub fn now(&self) -> f64 {
        (self.now_ns - self.start_ns) as f64 / 1e9
    }

    /// SYN from A, SYN-ACK from B 200 µs later, ACK from A 30 µs after that.
    pub fn handshake(&mut self) -> &mut Self {
        assert!(self.packets.is_empty(), "the handshake comes first");
        let a_isn = self.half[0].nxt.wrapping_sub(1);
        let b_isn = self.half[1].nxt.wrapping_sub(1);
        let syn = Segment {
            seq: a_isn,
            ack: None,
            syn: true,
            fin: false,
            rst: false,
            psh: false,
            payload: &[],
            sack: None,
        };
        self.emit(A, syn, Role::Other);
        self.wait(0.0002);
        let syn_ack = Segment {
            seq: b_isn,
            ack: Some(a_isn.wrapping_add(1)),
            syn: true,
            ..syn
        };
        self.emit(B, syn_ack, Role::Other);
        self.wait(0.00003);
        self.ack(A)
    }

    /// `len` bytes of new data (PSH, ACK).
    pub fn data(&mut self, side: Side, len: usize) -> &mut Self {
        let payload: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
        self.send_bytes(side, &payload)
    }

    /// New data with the given bytes (PSH, ACK).
    pub fn send_bytes(&mut self, side: Side, payload: &[u8]) -> &mut Self {
        let h = &self.half[side.index()];
        let seg = Segment {
            psh: true,
            payload,
            ..Segment::ack(h.nxt, h.rcv_nxt)
        };
        self.emit(side, seg, Role::Other);
        let len = payload.len() as u32;
        let h = &mut self.half[side.index()];
        h.nxt = h.nxt.wrapping_add(len);
        h.last_payload = payload.to_vec();
        self.half[side.peer().index()].rcv_nxt = self.half[side.index()].nxt;
        self
    }

    /// The last data segment again, at its original sequence number.
    pub fn retransmit(&mut self, side: Side) -> &mut Self {
        let h = &self.half[side.index()];
        let payload = h.last_payload.clone();
        assert!(!payload.is_empty(), "nothing to retransmit");
        let seq = h.nxt.wrapping_sub(payload.len() as u32);
        let seg = Segment {
            psh: true,
            payload: &payload,
            ..Segment::ack(seq, h.rcv_nxt)
        };
        self.emit(side, seg, Role::Retransmission)
    }

    /// A pure ACK of everything received.
    pub fn ack(&mut self, side: Side) -> &mut Self {
        let seg = self.pure_ack(side, false);
        self.emit(side, seg, Role::Other)
    }

    /// A pure ACK with a D-SACK block for the last byte received, as a Linux
    /// receiver answers a duplicate byte.
    pub fn ack_dsack(&mut self, side: Side) -> &mut Self {
        let seg = self.pure_ack(side, true);
        self.emit(side, seg, Role::Other)
    }

    /// A Linux keepalive probe: no data, seq = snd_nxt - 1.
    pub fn probe(&mut self, side: Side) -> &mut Self {
        let seg = self.probe_segment(side, &[]);
        self.emit(side, seg, Role::Probe)
    }

    /// A Windows/BSD style 1-byte probe: seq = snd_nxt - 1, carrying `byte`
    /// in place of the already-acknowledged last byte.
    pub fn probe_byte(&mut self, side: Side, byte: u8) -> &mut Self {
        let payload = [byte];
        let seg = self.probe_segment(side, &payload);
        self.emit(side, seg, Role::Probe)
    }

    /// A persist-timer probe into the peer's zero window (Linux
    /// `tcp_xmit_probe_skb`): byte for byte a keepalive probe.
    pub fn zero_window_probe(&mut self, side: Side) -> &mut Self {
        assert_eq!(
            self.half[side.peer().index()].window,
            0,
            "a zero-window probe needs the peer's window at 0"
        );
        let seg = self.probe_segment(side, &[]);
        self.emit(side, seg, Role::ZeroWindowProbe)
    }

    /// The (duplicate) ACK answering a probe.
    pub fn probe_ack(&mut self, side: Side) -> &mut Self {
        let seg = self.pure_ack(side, false);
        self.emit(side, seg, Role::ProbeAck)
    }

    /// The duplicate ACK answering a 1-byte probe, with a D-SACK block for
    /// the probe's byte.
    pub fn probe_ack_dsack(&mut self, side: Side) -> &mut Self {
        let seg = self.pure_ack(side, true);
        self.emit(side, seg, Role::ProbeAck)
    }

    /// The RST of a peer that lost the connection, answering a probe: no ACK
    /// flag, seq = the probe's ack number.
    pub fn probe_rst(&mut self, side: Side) -> &mut Self {
        let probes_ack = self.half[side.peer().index()].rcv_nxt;
        let seg = Segment {
            ack: None,
            rst: true,
            ..Segment::ack(probes_ack, 0)
        };
        self.emit(side, seg, Role::ProbeRst)
    }

    /// The prober giving up (Linux `tcp_send_active_reset`): RST, ACK at
    /// snd_nxt, i.e. the probes' seq + 1.
    pub fn give_up(&mut self, side: Side) -> &mut Self {
        let h = &self.half[side.index()];
        let seg = Segment {
            rst: true,
            ..Segment::ack(h.nxt, h.rcv_nxt)
        };
        self.emit(side, seg, Role::GiveUp)
    }

    /// FIN, ACK.
    pub fn fin(&mut self, side: Side) -> &mut Self {
        let h = &self.half[side.index()];
        let seg = Segment {
            fin: true,
            ..Segment::ack(h.nxt, h.rcv_nxt)
        };
        self.emit(side, seg, Role::Other);
        let h = &mut self.half[side.index()];
        h.nxt = h.nxt.wrapping_add(1);
        self.half[side.peer().index()].rcv_nxt = self.half[side.index()].nxt;
        self
    }

    /// The packets so far.
    pub fn packets(&self) -> &[Packet] {
        &self.packets
    }

    fn pure_ack(&self, side: Side, dsack: bool) -> Segment<'static> {
        let h = &self.half[side.index()];
        Segment {
            sack: dsack.then(|| (h.rcv_nxt.wrapping_sub(1), h.rcv_nxt)),
            ..Segment::ack(h.nxt, h.rcv_nxt)
        }
    }

    fn probe_segment<'p>(&self, side: Side, payload: &'p [u8]) -> Segment<'p> {
        let h = &self.half[side.index()];
        Segment {
            payload,
            ..Segment::ack(h.nxt.wrapping_sub(1), h.rcv_nxt)
        }
    }

    fn emit(&mut self, side: Side, seg: Segment<'_>, role: Role) -> &mut Self {
        let ip = self.ip_packet(side, &seg);
        let (from, to) = (&self.half[side.index()], &self.half[side.peer().index()]);
        self.packets.push(Packet {
            ts_ns: self.now_ns,
            ip,
            src_mac: from.ep.mac,
            dst_mac: to.ep.mac,
            vlan: self.vlan.clone(),
            outgoing: side == self.captured_at,
            role,
        });
        let h = &mut self.half[side.index()];
        h.ip_id = h.ip_id.wrapping_add(1);
        self
    }

    fn tcp_header(&self, side: Side, seg: &Segment<'_>) -> TcpHeader {
        let (from, to) = (&self.half[side.index()], &self.half[side.peer().index()]);
        let window = if seg.syn { SYN_WINDOW } else { from.window };
        let mut tcp = TcpHeader::new(from.ep.port, to.ep.port, seg.seq, window);
        tcp.syn = seg.syn;
        tcp.fin = seg.fin;
        tcp.rst = seg.rst;
        tcp.psh = seg.psh;
        if let Some(ack) = seg.ack {
            tcp.ack = true;
            tcp.acknowledgment_number = ack;
        }
        if seg.rst {
            tcp.window_size = 0;
        }
        if seg.syn {
            tcp.set_options(&syn_options()).expect("SYN options fit");
        }
        if let Some(block) = seg.sack {
            let sack = [
                TcpOptionElement::Noop,
                TcpOptionElement::Noop,
                TcpOptionElement::SelectiveAcknowledgement(block, [None; 3]),
            ];
            tcp.set_options(&sack).expect("SACK option fits");
        }
        tcp
    }

    fn ip_packet(&self, side: Side, seg: &Segment<'_>) -> Vec<u8> {
        let mut tcp = self.tcp_header(side, seg);
        let (from, to) = (&self.half[side.index()], &self.half[side.peer().index()]);
        let tcp_len = tcp.header_len() + seg.payload.len();
        let mut out = Vec::with_capacity(60 + tcp_len);
        match (from.ep.ip, to.ep.ip) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => {
                let mut ip = Ipv4Header::new(
                    tcp_len as u16,
                    64,
                    IpNumber::TCP,
                    src.octets(),
                    dst.octets(),
                )
                .expect("IPv4 payload fits");
                ip.identification = from.ip_id;
                ip.header_checksum = ip.calc_header_checksum();
                tcp.checksum = tcp
                    .calc_checksum_ipv4(&ip, seg.payload)
                    .expect("TCP segment fits");
                ip.write(&mut out).expect("write to Vec");
            }
            (IpAddr::V6(src), IpAddr::V6(dst)) => {
                let ext_len = 8 * self.ipv6_ext.len();
                let first = self.ipv6_ext.first().map_or(6, |e| e.protocol());
                let ip = Ipv6Header {
                    traffic_class: 0,
                    flow_label: Ipv6FlowLabel::ZERO,
                    payload_length: (ext_len + tcp_len) as u16,
                    next_header: IpNumber(first),
                    hop_limit: 64,
                    source: src.octets(),
                    destination: dst.octets(),
                };
                tcp.checksum = tcp
                    .calc_checksum_ipv6(&ip, seg.payload)
                    .expect("TCP segment fits");
                ip.write(&mut out).expect("write to Vec");
                for (i, _) in self.ipv6_ext.iter().enumerate() {
                    let next = self.ipv6_ext.get(i + 1).map_or(6, |e| e.protocol());
                    // Next header, length (8-byte units beyond the first), PadN(4).
                    out.extend_from_slice(&[next, 0, 1, 4, 0, 0, 0, 0]);
                }
            }
            _ => unreachable!("checked in Conversation::new"),
        }
        tcp.write(&mut out).expect("write to Vec");
        out.extend_from_slice(seg.payload);
        out
    }
}

// ---------------------------------------------------------------------------
// Capture files
// ---------------------------------------------------------------------------

/// The link layer of a capture file, with its LINKTYPE_ number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkType {
    /// 1: Ethernet, with the packets' VLAN tags.
    Ethernet,
    /// 113: Linux cooked capture v1.
    LinuxSll,
    /// 276: Linux cooked capture v2.
    LinuxSll2,
    /// 0: BSD loopback, 4-byte family in the capturing host's byte order
    /// (little-endian here, like the file): 2 for IPv4, 30 (macOS) for IPv6.
    Null,
    /// 108: OpenBSD loopback, 4-byte family in network byte order:
    /// 2 for IPv4, 24 for IPv6.
    Loop,
    /// 101: raw IP, version from the first nibble.
    Raw,
    /// 228: raw IPv4.
    Ipv4,
    /// 229: raw IPv6.
    Ipv6,
}

impl LinkType {
    pub fn code(self) -> u16 {
        match self {
            LinkType::Ethernet => 1,
            LinkType::LinuxSll => 113,
            LinkType::LinuxSll2 => 276,
            LinkType::Null => 0,
            LinkType::Loop => 108,
            LinkType::Raw => 101,
            LinkType::Ipv4 => 228,
            LinkType::Ipv6 => 229,
        }
    }
}

/// The file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Classic pcap, microsecond timestamps (magic a1b2c3d4).
    PcapMicro,
    /// Classic pcap, nanosecond timestamps (magic a1b23c4d).
    PcapNano,
    /// pcapng: one SHB, one IDB with `if_tsresol` = 10^-`tsresol` s, EPBs.
    Pcapng { tsresol: u8 },
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::PcapMicro | Format::PcapNano => "pcap",
            Format::Pcapng { .. } => "pcapng",
        }
    }

    /// Nanoseconds per timestamp unit.
    fn unit_ns(self) -> u64 {
        match self {
            Format::PcapMicro => 1000,
            Format::PcapNano => 1,
            Format::Pcapng { tsresol } => {
                assert!(
                    tsresol <= 9,
                    "if_tsresol finer than 1 ns is not supported here"
                );
                10u64.pow(9 - u32::from(tsresol))
            }
        }
    }
}

/// One record of the file: the captured bytes (at most snaplen) and the
/// length the frame had on the wire.
#[derive(Clone, Debug)]
pub struct Frame {
    pub ts_ns: u64,
    pub data: Vec<u8>,
    pub orig_len: u32,
    pub role: Role,
}

/// A capture file under construction.
#[derive(Clone, Debug)]
pub struct Capture {
    link: LinkType,
    format: Format,
    snaplen: u32,
    ethernet_padding: Option<u8>,
    ethernet_trailer: Vec<u8>,
    cut_tail: usize,
    packets: Vec<Packet>,
}

/// libpcap's default snapshot length.
const DEFAULT_SNAPLEN: u32 = 262_144;

impl Capture {
    pub fn new(link: LinkType, format: Format) -> Self {
        Capture {
            link,
            format,
            snaplen: DEFAULT_SNAPLEN,
            ethernet_padding: None,
            ethernet_trailer: Vec::new(),
            cut_tail: 0,
            packets: Vec::new(),
        }
    }

    /// Adds a conversation's packets.
    pub fn with(mut self, conversation: Conversation) -> Self {
        self.packets.extend(conversation.packets);
        self
    }

    /// Frames longer than `snaplen` are cut to it (orig_len keeps the length).
    pub fn snaplen(mut self, snaplen: u32) -> Self {
        self.snaplen = snaplen;
        self
    }

    /// Ethernet frames shorter than the 60-byte minimum are padded with
    /// `pad`, and every frame then gets `trailer` appended: bytes after the
    /// IP packet that are not part of it.
    pub fn ethernet_trailer(mut self, pad: u8, trailer: &[u8]) -> Self {
        assert_eq!(self.link, LinkType::Ethernet);
        self.ethernet_padding = Some(pad);
        self.ethernet_trailer = trailer.to_vec();
        self
    }

    /// Drops the last `bytes` of the file, so it ends mid-record.
    pub fn cut_off(mut self, bytes: usize) -> Self {
        self.cut_tail = bytes;
        self
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// The records, in time order (frame number = index + 1).
    pub fn frames(&self) -> Vec<Frame> {
        let mut packets: Vec<&Packet> = self.packets.iter().collect();
        packets.sort_by_key(|p| p.ts_ns); // stable: equal times keep script order
        packets
            .into_iter()
            .map(|p| {
                let mut data = self.link_frame(p);
                let orig_len = data.len() as u32;
                data.truncate(self.snaplen as usize);
                Frame {
                    ts_ns: p.ts_ns,
                    data,
                    orig_len,
                    role: p.role,
                }
            })
            .collect()
    }

    /// The file. Frames that the file cannot hold whole are not in it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let frames = self.frames();
        let mut out = match self.format {
            Format::PcapMicro | Format::PcapNano => self.pcap(&frames),
            Format::Pcapng { tsresol } => self.pcapng(&frames, tsresol),
        };
        assert!(self.cut_tail < out.len());
        out.truncate(out.len() - self.cut_tail);
        out
    }

    fn link_frame(&self, p: &Packet) -> Vec<u8> {
        let version = p.ip[0] >> 4;
        let ethertype: u16 = if version == 4 { 0x0800 } else { 0x86dd };
        let mut f = Vec::with_capacity(p.ip.len() + 40);
        match self.link {
            LinkType::Ethernet => {
                f.extend_from_slice(&p.dst_mac);
                f.extend_from_slice(&p.src_mac);
                for tag in &p.vlan {
                    f.extend_from_slice(&tag.tpid.to_be_bytes());
                    f.extend_from_slice(&tag.id.to_be_bytes()); // PCP 0, DEI 0
                }
                f.extend_from_slice(&ethertype.to_be_bytes());
                f.extend_from_slice(&p.ip);
                if let Some(pad) = self.ethernet_padding {
                    f.resize(f.len().max(60), pad);
                }
                f.extend_from_slice(&self.ethernet_trailer);
                return f;
            }
            LinkType::LinuxSll => {
                let packet_type: u16 = if p.outgoing { 4 } else { 0 };
                f.extend_from_slice(&packet_type.to_be_bytes());
                f.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
                f.extend_from_slice(&6u16.to_be_bytes()); // address length
                f.extend_from_slice(&p.src_mac);
                f.extend_from_slice(&[0, 0]);
                f.extend_from_slice(&ethertype.to_be_bytes());
            }
            LinkType::LinuxSll2 => {
                f.extend_from_slice(&ethertype.to_be_bytes());
                f.extend_from_slice(&[0, 0]); // reserved
                f.extend_from_slice(&2u32.to_be_bytes()); // interface index
                f.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
                f.push(if p.outgoing { 4 } else { 0 });
                f.push(6); // address length
                f.extend_from_slice(&p.src_mac);
                f.extend_from_slice(&[0, 0]);
            }
            LinkType::Null => {
                let family: u32 = if version == 4 { 2 } else { 30 };
                f.extend_from_slice(&family.to_le_bytes());
            }
            LinkType::Loop => {
                let family: u32 = if version == 4 { 2 } else { 24 };
                f.extend_from_slice(&family.to_be_bytes());
            }
            LinkType::Raw => {}
            LinkType::Ipv4 => assert_eq!(version, 4, "LINKTYPE_IPV4 carries IPv4 only"),
            LinkType::Ipv6 => assert_eq!(version, 6, "LINKTYPE_IPV6 carries IPv6 only"),
        }
        assert!(p.vlan.is_empty(), "VLAN tags need an Ethernet link layer");
        f.extend_from_slice(&p.ip);
        f
    }

    /// Timestamp in file units, refusing to lose precision silently.
    fn ts_units(&self, ts_ns: u64) -> u64 {
        let unit = self.format.unit_ns();
        assert_eq!(
            ts_ns % unit,
            0,
            "timestamp {ts_ns} ns has digits this format cannot hold"
        );
        ts_ns / unit
    }

    fn pcap(&self, frames: &[Frame]) -> Vec<u8> {
        let magic: u32 = match self.format {
            Format::PcapMicro => 0xa1b2_c3d4,
            _ => 0xa1b2_3c4d,
        };
        let mut out = Vec::new();
        out.extend_from_slice(&magic.to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes()); // version 2.4
        out.extend_from_slice(&4u16.to_le_bytes());
        out.extend_from_slice(&0i32.to_le_bytes()); // thiszone
        out.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        out.extend_from_slice(&self.snaplen.to_le_bytes());
        out.extend_from_slice(&u32::from(self.link.code()).to_le_bytes());
        let per_sec = 1_000_000_000 / self.format.unit_ns();
        for frame in frames {
            let units = self.ts_units(frame.ts_ns);
            out.extend_from_slice(&((units / per_sec) as u32).to_le_bytes());
            out.extend_from_slice(&((units % per_sec) as u32).to_le_bytes());
            out.extend_from_slice(&(frame.data.len() as u32).to_le_bytes());
            out.extend_from_slice(&frame.orig_len.to_le_bytes());
            out.extend_from_slice(&frame.data);
        }
        out
    }

    fn pcapng(&self, frames: &[Frame], tsresol: u8) -> Vec<u8> {
        let mut out = Vec::new();
        // Section Header Block: byte-order magic, version 1.0, length unknown.
        let mut shb = Vec::new();
        shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&0u16.to_le_bytes());
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        pcapng_block(&mut out, 0x0a0d_0d0a, &shb);
        // Interface Description Block: link type, snaplen, if_tsresol.
        let mut idb = Vec::new();
        idb.extend_from_slice(&self.link.code().to_le_bytes());
        idb.extend_from_slice(&0u16.to_le_bytes());
        idb.extend_from_slice(&self.snaplen.to_le_bytes());
        idb.extend_from_slice(&9u16.to_le_bytes()); // if_tsresol
        idb.extend_from_slice(&1u16.to_le_bytes());
        idb.extend_from_slice(&[tsresol, 0, 0, 0]);
        idb.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
        pcapng_block(&mut out, 1, &idb);
        // One Enhanced Packet Block per frame, on interface 0.
        for frame in frames {
            let units = self.ts_units(frame.ts_ns);
            let mut epb = Vec::new();
            epb.extend_from_slice(&0u32.to_le_bytes());
            epb.extend_from_slice(&((units >> 32) as u32).to_le_bytes());
            epb.extend_from_slice(&(units as u32).to_le_bytes());
            epb.extend_from_slice(&(frame.data.len() as u32).to_le_bytes());
            epb.extend_from_slice(&frame.orig_len.to_le_bytes());
            epb.extend_from_slice(&frame.data);
            epb.resize(epb.len().next_multiple_of(4), 0);
            pcapng_block(&mut out, 6, &epb);
        }
        out
    }
}

/// Type, total length, body (already 32-bit aligned), total length again.
fn pcapng_block(out: &mut Vec<u8>, block_type: u32, body: &[u8]) {
    assert_eq!(body.len() % 4, 0);
    let total = (12 + body.len()) as u32;
    out.extend_from_slice(&block_type.to_le_bytes());
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&total.to_le_bytes());
}

// ---------------------------------------------------------------------------
// The named cases (fixtures/synth/<name>.<ext>)
// ---------------------------------------------------------------------------

/// A named synthetic capture.
pub struct Case {
    pub name: &'static str,
    pub build: fn() -> Capture,
}

impl Case {
    /// `alive.pcap`, `pcapng.pcapng`, ...
    pub fn file_name(&self) -> String {
        format!("{}.{}", self.name, (self.build)().format().extension())
    }
}

/// Every named case, in the order the fixtures are listed.
pub fn cases() -> Vec<Case> {
    use cases::*;
    macro_rules! case {
        ($name:ident) => {
            Case {
                name: stringify!($name),
                build: $name,
            }
        };
    }
    vec![
        case!(alive),
        case!(dead_give_up),
        case!(reset_by_peer),
        case!(both_sides_probing),
        case!(mid_idle_start),
        case!(mid_idle_unanswered),
        case!(one_byte_probe),
        case!(zero_window_probes),
        case!(zero_window_then_keepalive),
        case!(one_byte_retransmission),
        case!(ipv6_ext_headers),
        case!(vlan),
        case!(qinq),
        case!(sll),
        case!(sll2),
        case!(null),
        case!(loop_),
        case!(raw_ipv4),
        case!(linktype_ipv4),
        case!(linktype_ipv6),
        case!(pcapng),
        case!(pcap_nanosecond),
        case!(seq_wraparound),
        case!(cut_off),
        case!(ethernet_trailer),
        case!(snaplen_cut),
    ]
    .into_iter()
    .map(|c| Case {
        name: c.name.trim_end_matches('_'), // `loop` is a keyword
        ..c
    })
    .collect()
}

/// The case scripts. Timings are Linux's unless a case says otherwise:
/// kernel timers fire 1-3 % late, the LAN round trip is about 0.2 ms, and
/// delayed ACKs go out 40 ms after the data.
pub mod cases {
    use super::*;

    pub fn client() -> Endpoint {
        Endpoint::v4([198, 18, 0, 1], 40000, 1)
    }
    pub fn server() -> Endpoint {
        Endpoint::v4([198, 18, 0, 2], 5000, 2)
    }
    pub fn client6() -> Endpoint {
        Endpoint::v6("2001:db8::1", 40000, 1)
    }
    pub fn server6() -> Endpoint {
        Endpoint::v6("2001:db8::2", 5000, 2)
    }

    fn ethernet() -> Capture {
        Capture::new(LinkType::Ethernet, Format::PcapMicro)
    }

    /// Handshake, a request from A and B's response, A's delayed ACK.
    /// Returns the time of B's response: the last segment A received, where
    /// A's idle clock starts (its own delayed ACK does not reset it).
    fn opening(c: &mut Conversation) -> f64 {
        c.handshake();
        c.wait(0.001).data(A, 120);
        c.wait(0.0004).data(B, 240);
        let last_rx = c.now();
        c.wait(0.04).ack(A);
        last_rx
    }

    /// A probes with idle 2 s, intvl 3 s; B answers each probe. Probes go
    /// out 2.04 s after the last segment A received, then every 3.07 s:
    /// max(idle, intvl), because the timer is re-armed for intvl.
    fn linux_alive(c: &mut Conversation, probes: usize) {
        let last_rx = opening(c);
        let mut next = last_rx + 2.04;
        for _ in 0..probes {
            c.at(next).probe(A).wait(0.0002).probe_ack(B);
            next += 3.07;
        }
    }

    /// A probes with idle 2 s, intvl 1 s, cnt 3; B is gone. Probes at +2.03,
    /// +3.06, +4.09 s, A's RST one interval after the last: +5.12 s.
    fn linux_dead(c: &mut Conversation) {
        let last_rx = opening(c);
        for t in [2.03, 3.06, 4.09] {
            c.at(last_rx + t).probe(A);
        }
        c.at(last_rx + 5.12).give_up(A);
    }

    pub fn alive() -> Capture {
        let mut c = Conversation::new(client(), server());
        linux_alive(&mut c, 4);
        ethernet().with(c)
    }

    pub fn dead_give_up() -> Capture {
        let mut c = Conversation::new(client(), server());
        linux_dead(&mut c);
        ethernet().with(c)
    }

    /// B answers A's first probe, then reboots: the second probe meets a RST
    /// without ACK whose seq is the probe's ack number.
    pub fn reset_by_peer() -> Capture {
        let mut c = Conversation::new(client(), server());
        let last_rx = opening(&mut c);
        c.at(last_rx + 2.04).probe(A).wait(0.0002).probe_ack(B);
        c.at(last_rx + 2.04 + 3.07)
            .probe(A)
            .wait(0.0002)
            .probe_rst(B);
        ethernet().with(c)
    }

    /// A probes with idle 2 s, intvl 2 s; B with idle 5 s, intvl 5 s. Each
    /// answer resets the prober's clock; a probe received does not (it is
    /// out of window), so B's schedule ignores A's probes.
    pub fn both_sides_probing() -> Capture {
        let mut c = Conversation::new(client(), server());
        let t = opening(&mut c); // A last received B's response at t
        let b_rx = t + 0.04; // B last received A's delayed ACK
        c.at(t + 2.04).probe(A).wait(0.0002).probe_ack(B);
        c.at(t + 4.0802).probe(A).wait(0.0002).probe_ack(B);
        c.at(b_rx + 5.10).probe(B).wait(0.0002).probe_ack(A);
        c.at(t + 6.1204).probe(A).wait(0.0002).probe_ack(B);
        c.at(t + 8.1606).probe(A).wait(0.0002).probe_ack(B);
        c.at(t + 10.2008).probe(A).wait(0.0002).probe_ack(B);
        c.at(b_rx + 5.1002 + 5.10)
            .probe(B)
            .wait(0.0002)
            .probe_ack(A);
        ethernet().with(c)
    }

    /// The capture starts on an idle connection with A's probe (idle 5 s,
    /// intvl 1 s, peer alive: a probe every ~5.1 s). Only B's answer, which
    /// acknowledges probe seq + 1, shows frame 1 is a probe.
    pub fn mid_idle_start() -> Capture {
        let mut c = Conversation::new(client(), server());
        c.probe(A).wait(0.0002).probe_ack(B);
        c.wait(5.10).probe(A).wait(0.0002).probe_ack(B);
        c.wait(5.10).probe(A).wait(0.0002).probe_ack(B);
        c.wait(1.3).data(B, 64);
        c.wait(0.04).ack(A);
        ethernet().with(c)
    }

    /// The capture starts during unanswered probing (idle 30 s, intvl 10 s,
    /// cnt 5, from the third probe on): the same seq/ack every 10.2 s, then
    /// A's RST.
    pub fn mid_idle_unanswered() -> Capture {
        let mut c = Conversation::new(client(), server());
        c.probe(A);
        c.at(10.2).probe(A);
        c.at(20.4).probe(A);
        c.at(30.6).give_up(A);
        ethernet().with(c)
    }

    /// A Windows client (SIO_KEEPALIVE_VALS: 10 s, 1 s) sends 1-byte probes
    /// (0x00 at snd_nxt - 1, a byte B has acknowledged); the Linux server
    /// answers each with a duplicate ACK carrying a D-SACK block. Windows
    /// timers tick in ~15.6 ms steps: probes come 10.014 s after the last
    /// segment received.
    pub fn one_byte_probe() -> Capture {
        let windows = Endpoint::v4([198, 18, 1, 10], 50123, 0x10);
        let linux = Endpoint::v4([198, 18, 1, 5], 443, 0x05);
        let mut c = Conversation::new(windows, linux);
        let mut last_rx = opening(&mut c);
        for _ in 0..3 {
            c.at(last_rx + 10.014).probe_byte(A, 0x00);
            c.wait(0.0002).probe_ack_dsack(B);
            last_rx = c.now();
        }
        ethernet().with(c)
    }

    /// B's application stops reading and B advertises a zero window. A's
    /// persist timer sends zero-window probes, byte for byte keepalives, but
    /// starting one RTO (~0.2 s) after the zero window and doubling. Then B
    /// reads, opens the window, and the transfer goes on. Not keepalives.
    pub fn zero_window_probes() -> Capture {
        let mut c = Conversation::new(client(), server());
        zero_window_episode(&mut c);
        ethernet().with(c)
    }

    fn zero_window_episode(c: &mut Conversation) {
        c.handshake();
        c.wait(0.001).data(A, 1000).wait(0.00001).data(A, 1000);
        c.wait(0.00001).data(A, 1000);
        c.wait(0.0002).window(B, 0).ack(B);
        let mut gap = 0.206;
        for _ in 0..5 {
            c.wait(gap).zero_window_probe(A).wait(0.0002).ack(B);
            gap *= 2.0;
        }
        c.wait(1.0).window(B, WINDOW).ack(B); // window update
        c.wait(0.0001).data(A, 1000);
        c.wait(0.04).ack(B);
    }

    /// `zero_window_probes`, then the connection goes idle and A, which has
    /// keepalive on (idle 2 s, intvl 3 s), probes: one side sends both kinds,
    /// and only the last two are keepalives.
    pub fn zero_window_then_keepalive() -> Capture {
        let mut c = Conversation::new(client(), server());
        zero_window_episode(&mut c);
        let last_rx = c.now();
        c.at(last_rx + 2.04).probe(A).wait(0.0002).probe_ack(B);
        c.at(last_rx + 2.04 + 3.07)
            .probe(A)
            .wait(0.0002)
            .probe_ack(B);
        ethernet().with(c)
    }

    /// A sends one byte (a keystroke); B's ACK is lost, so A retransmits it
    /// with RTO backoff until an ACK (with D-SACK) gets through. Each
    /// retransmission is 1 byte at snd_nxt - 1, but that byte was never
    /// acknowledged: not a keepalive.
    pub fn one_byte_retransmission() -> Capture {
        let mut c = Conversation::new(client(), server());
        opening(&mut c);
        c.wait(1.5).send_bytes(A, b"x");
        c.wait(0.206).retransmit(A);
        c.wait(0.412).retransmit(A);
        c.wait(0.824).retransmit(A);
        c.wait(0.0002).ack_dsack(B);
        c.wait(0.0003).send_bytes(B, b"x"); // the echo
        c.wait(0.04).ack(A);
        ethernet().with(c)
    }

    /// IPv6 with a hop-by-hop header on every packet, and hop-by-hop plus
    /// destination options on the probes and the RST. Dead peer, as in
    /// `dead_give_up`.
    pub fn ipv6_ext_headers() -> Capture {
        let mut c = Conversation::new(client6(), server6());
        c.ipv6_ext(&[Ipv6Ext::HopByHop]);
        let last_rx = opening(&mut c);
        c.ipv6_ext(&[Ipv6Ext::HopByHop, Ipv6Ext::DestinationOptions]);
        for t in [2.03, 3.06, 4.09] {
            c.at(last_rx + t).probe(A);
        }
        c.at(last_rx + 5.12).give_up(A);
        ethernet().with(c)
    }

    pub fn vlan() -> Capture {
        let mut c = Conversation::new(client(), server());
        c.vlan(&[dot1q(42)]);
        linux_alive(&mut c, 3);
        ethernet().with(c)
    }

    /// The same dead flow seen twice, as on a mirror port that sees both
    /// sides of a QinQ edge: untagged, and 40 µs later with an 802.1ad
    /// outer tag 100 and an 802.1Q inner tag 42. Two flows, not one.
    pub fn qinq() -> Capture {
        let mut untagged = Conversation::new(client(), server());
        linux_dead(&mut untagged);
        let mut tagged = Conversation::new(client(), server());
        tagged
            .starting_at_ns(T0_NS + 40_000)
            .vlan(&[dot1ad(100), dot1q(42)]);
        linux_dead(&mut tagged);
        ethernet().with(untagged).with(tagged)
    }

    pub fn sll() -> Capture {
        let mut c = Conversation::new(client(), server());
        linux_dead(&mut c);
        Capture::new(LinkType::LinuxSll, Format::PcapMicro).with(c)
    }

    /// Captured on B this time (B's packets are the outgoing ones).
    pub fn sll2() -> Capture {
        let mut c = Conversation::new(client(), server());
        c.captured_at(B);
        linux_alive(&mut c, 3);
        Capture::new(LinkType::LinuxSll2, Format::PcapMicro).with(c)
    }

    /// An IPv4 flow (family 2) and, half a second later, an IPv6 flow
    /// (family 30, as macOS writes it).
    pub fn null() -> Capture {
        let mut v4 = Conversation::new(client(), server());
        linux_alive(&mut v4, 3);
        let mut v6 = Conversation::new(client6(), server6());
        v6.starting_at_ns(T0_NS + 500_000_000);
        linux_dead(&mut v6);
        Capture::new(LinkType::Null, Format::PcapMicro)
            .with(v4)
            .with(v6)
    }

    pub fn loop_() -> Capture {
        let mut c = Conversation::new(client(), server());
        linux_dead(&mut c);
        Capture::new(LinkType::Loop, Format::PcapMicro).with(c)
    }

    pub fn raw_ipv4() -> Capture {
        let mut c = Conversation::new(client(), server());
        linux_alive(&mut c, 3);
        Capture::new(LinkType::Raw, Format::PcapMicro).with(c)
    }

    pub fn linktype_ipv4() -> Capture {
        let mut c = Conversation::new(client(), server());
        linux_dead(&mut c);
        Capture::new(LinkType::Ipv4, Format::PcapMicro).with(c)
    }

    pub fn linktype_ipv6() -> Capture {
        let mut c = Conversation::new(client6(), server6());
        linux_alive(&mut c, 3);
        Capture::new(LinkType::Ipv6, Format::PcapMicro).with(c)
    }

    /// pcapng with nanosecond timestamps (if_tsresol = 9).
    pub fn pcapng() -> Capture {
        let mut c = Conversation::new(client(), server());
        c.starting_at_ns(T0_NS + 987_654_321);
        linux_alive(&mut c, 3);
        Capture::new(LinkType::Ethernet, Format::Pcapng { tsresol: 9 }).with(c)
    }

    /// Every timestamp has a sub-microsecond part (…456789 ns).
    pub fn pcap_nanosecond() -> Capture {
        let mut c = Conversation::new(client(), server());
        c.starting_at_ns(T0_NS + 123_456_789);
        linux_dead(&mut c);
        Capture::new(LinkType::Ethernet, Format::PcapNano).with(c)
    }

    /// A's 120-byte request brings its snd_nxt to exactly 2^32, so its probes
    /// have seq 0xffffffff and its RST seq 0; B's response wraps too.
    pub fn seq_wraparound() -> Capture {
        let mut c = Conversation::new(client(), server());
        c.isns(0u32.wrapping_sub(121), 0xffff_fff0);
        linux_dead(&mut c);
        ethernet().with(c)
    }

    /// Three answered probes, then B's data segment, cut 100 bytes before
    /// its end: the file ends mid-record.
    pub fn cut_off() -> Capture {
        let mut c = Conversation::new(client(), server());
        linux_alive(&mut c, 3);
        c.wait(0.5).data(B, 240);
        ethernet().with(c).cut_off(100)
    }

    /// Frames padded to 60 bytes with 0x5a and followed by a 4-byte trailer:
    /// a probe's frame holds 10 bytes past its TCP header, yet it carries no
    /// data (the IP total length says so).
    pub fn ethernet_trailer() -> Capture {
        let mut c = Conversation::new(client(), server());
        linux_alive(&mut c, 3);
        ethernet()
            .with(c)
            .ethernet_trailer(0x5a, &[0xde, 0xad, 0xbe, 0xef])
    }

    /// Snaplen 60: data frames lose their payload but keep a whole TCP
    /// header and still decode (lengths from the IP header); the SYN and
    /// SYN-ACK (66 bytes with options) are cut inside the TCP header and
    /// count as undecoded.
    pub fn snaplen_cut() -> Capture {
        let mut c = Conversation::new(client(), server());
        linux_alive(&mut c, 3);
        ethernet().with(c).snaplen(60)
    }
}
