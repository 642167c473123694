//! Scripted conversations: one TCP connection written step by step.
//!
//! The script tracks both sides' sequence numbers, so a keepalive probe is
//! simply `c.probe(A)` and lands at `snd_nxt - 1` with the right ack.
//!
//! ```
//! use kawatch_synth::conversation::{Conversation, Host, A, B};
//! let mut c = Conversation::new(
//!     Host::v4([198, 18, 0, 1], 40000, 1),
//!     Host::v4([198, 18, 0, 2], 5000, 2),
//! );
//! c.handshake();
//! c.wait(0.001).data(A, 120);
//! c.wait(0.0004).data(B, 240);
//! c.wait(2.04).probe(A); // keepalive: seq = snd_nxt - 1, no data
//! c.wait(0.0002).probe_ack(B);
//! assert_eq!(c.packets().len(), 7);
//! ```
//!
//! Every packet carries its [`Role`]; a [`Capture`](crate::Capture) puts
//! conversations into a file.

use std::fmt;
use std::net::IpAddr;

use etherparse::{IpNumber, Ipv4Header, Ipv6FlowLabel, Ipv6Header, TcpHeader, TcpOptionElement};
use kawatch_core::{Endpoint, Timestamp};

use crate::link::{Headers, VlanTag};
use crate::time::T0;
pub use crate::truth::Role;

/// One end of a conversation: its address and port, and the MAC it sends from.
#[derive(Clone, Copy, Debug)]
pub struct Host {
    /// Address and port.
    pub endpoint: Endpoint,
    /// Ethernet address.
    pub mac: [u8; 6],
}

impl Host {
    /// An IPv4 host with MAC 02:00:00:00:00:`mac_suffix`.
    pub fn v4(ip: [u8; 4], port: u16, mac_suffix: u8) -> Host {
        Host {
            endpoint: Endpoint::new(IpAddr::from(ip), port),
            mac: [0x02, 0, 0, 0, 0, mac_suffix],
        }
    }

    /// An IPv6 host (`ip` in text form) with MAC 02:00:00:00:00:`mac_suffix`.
    pub fn v6(ip: &str, port: u16, mac_suffix: u8) -> Host {
        Host {
            endpoint: Endpoint::new(ip.parse().expect("IPv6 address"), port),
            mac: [0x02, 0, 0, 0, 0, mac_suffix],
        }
    }
}

/// Formats as kawatch's report does: `198.18.0.1:40000`, `[2001:db8::1]:40000`.
impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.endpoint.fmt(f)
    }
}

/// The two sides of a conversation. A is the client (it sends the SYN).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The client.
    A,
    /// The server.
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

/// IPv6 extension headers a conversation can put before TCP. Each one is
/// 8 bytes: next header, length 0, and a 4-byte PadN option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ipv6Ext {
    /// Hop-by-hop options (next header 0).
    HopByHop,
    /// Destination options (next header 60).
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
    /// When the capture saw it.
    pub ts: Timestamp,
    /// The IP packet.
    pub ip: Vec<u8>,
    /// Sender's MAC.
    pub src_mac: [u8; 6],
    /// Receiver's MAC.
    pub dst_mac: [u8; 6],
    /// VLAN tags, outermost first.
    pub vlan: Vec<VlanTag>,
    /// Sent by the capturing host (Linux "cooked" captures record this).
    pub outgoing: bool,
    /// What it is.
    pub role: Role,
}

impl Packet {
    /// What a link layer needs to frame it.
    pub(crate) fn headers(&self) -> Headers<'_> {
        Headers {
            ip: &self.ip,
            src_mac: self.src_mac,
            dst_mac: self.dst_mac,
            vlan: &self.vlan,
            outgoing: self.outgoing,
        }
    }
}

/// Window advertised in SYNs, and the scaled window (x 128) used afterwards.
const SYN_WINDOW: u16 = 64240;
/// The window both sides advertise unless a script says otherwise.
pub const WINDOW: u16 = 502;

fn secs_to_ns(secs: f64) -> i64 {
    assert!(secs >= 0.0, "time runs forward only ({secs})");
    (secs * 1e9).round() as i64
}

#[derive(Clone, Debug)]
struct Half {
    host: Host,
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
    /// Epoch ns of the script's time 0, and of now.
    start_ns: i128,
    now_ns: i128,
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

impl Segment<'_> {
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
    /// [`Self::isns`]), starting at [`T0`], captured on A's host.
    pub fn new(a: Host, b: Host) -> Self {
        assert_eq!(
            a.endpoint.ip.is_ipv4(),
            b.endpoint.ip.is_ipv4(),
            "both endpoints must use the same IP version"
        );
        let mut c = Conversation {
            half: [Self::half(a, 0x3a10), Self::half(b, 0x7c20)],
            start_ns: T0.0,
            now_ns: T0.0,
            vlan: Vec::new(),
            ipv6_ext: Vec::new(),
            captured_at: A,
            packets: Vec::new(),
        };
        c.isns(0x1a2b_3c4d, 0x5e6f_7081);
        c
    }

    fn half(host: Host, ip_id: u16) -> Half {
        Half {
            host,
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
    pub fn starting_at(&mut self, start: Timestamp) -> &mut Self {
        assert!(
            self.packets.is_empty(),
            "set the start before the first segment"
        );
        self.start_ns = start.0;
        self.now_ns = start.0;
        self
    }

    /// 802.1Q/802.1ad tags, outermost first, for the packets sent from now on.
    pub fn vlan(&mut self, tags: &[VlanTag]) -> &mut Self {
        self.vlan = tags.to_vec();
        self
    }

    /// IPv6 extension headers for the packets sent from now on.
    pub fn ipv6_ext(&mut self, exts: &[Ipv6Ext]) -> &mut Self {
        assert!(
            self.half[0].host.endpoint.ip.is_ipv6(),
            "extension headers need IPv6"
        );
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
        self.now_ns += i128::from(secs_to_ns(secs));
        self
    }

    /// Sets the clock to `secs` after the conversation's start.
    pub fn at(&mut self, secs: f64) -> &mut Self {
        let t = self.start_ns + i128::from(secs_to_ns(secs));
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
        self.syn(A);
        self.wait(0.0002);
        let syn_ack = Segment {
            ack: Some(a_isn.wrapping_add(1)),
            ..Self::syn_segment(b_isn)
        };
        self.emit(B, syn_ack, Role::Other);
        self.wait(0.00003);
        self.ack(A)
    }

    /// A lone SYN from `side` at its ISN, as a client opens (or reopens) a
    /// connection; nothing answers it here.
    pub fn syn(&mut self, side: Side) -> &mut Self {
        let isn = self.half[side.index()].nxt.wrapping_sub(1);
        self.emit(side, Self::syn_segment(isn), Role::Other)
    }

    /// A SYN at `isn`, no ACK.
    fn syn_segment(isn: u32) -> Segment<'static> {
        Segment {
            seq: isn,
            ack: None,
            syn: true,
            fin: false,
            rst: false,
            psh: false,
            payload: &[],
            sack: None,
        }
    }

    /// An RST answering an unexpected ACK (RFC 793, 3.4): seq = that ACK's
    /// ack number, which is the peer's idea of this side's snd_nxt; no ACK
    /// flag. What a host sends back to a challenge ACK (KEEPALIVE-FACTS item
    /// 19): no keepalive reply.
    pub fn reset_to_ack(&mut self, side: Side) -> &mut Self {
        self.rst_at_peers_ack(side, Role::Other)
    }

    /// An RST from `side` with no ACK flag at the peer's ack number (the
    /// peer's idea of this side's snd_nxt), as RFC 793 answers an ACK that
    /// fits no connection.
    fn rst_at_peers_ack(&mut self, side: Side, role: Role) -> &mut Self {
        let acked = self.half[side.peer().index()].rcv_nxt;
        let seg = Segment {
            ack: None,
            rst: true,
            ..Segment::ack(acked, 0)
        };
        self.emit(side, seg, role)
    }

    /// Leaves out the first `n` packets written so far: the capture starts
    /// after them (a capture that begins mid-episode).
    pub(crate) fn drop_first(&mut self, n: usize) -> &mut Self {
        self.packets.drain(..n.min(self.packets.len()));
        self
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
        self.rst_at_peers_ack(side, Role::ProbeRst)
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

    /// The packets, handed over to a capture.
    pub(crate) fn into_packets(self) -> Vec<Packet> {
        self.packets
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
            ts: Timestamp(self.now_ns),
            ip,
            src_mac: from.host.mac,
            dst_mac: to.host.mac,
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
        let mut tcp = TcpHeader::new(
            from.host.endpoint.port,
            to.host.endpoint.port,
            seg.seq,
            window,
        );
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
        match (from.host.endpoint.ip, to.host.endpoint.ip) {
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
