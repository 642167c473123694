//! The named cases checked in under `fixtures/synth/<name>.<ext>`.
//!
//! Timings are Linux's unless a case says otherwise: kernel timers fire
//! 1-3 % late, the LAN round trip is about 0.2 ms, and delayed ACKs go out
//! 40 ms after the data. Everything is deterministic: building a case again
//! reproduces its checked-in file byte for byte.

use kawatch_core::Timestamp;

use crate::capture::Capture;
use crate::conversation::{Conversation, Host, Ipv6Ext, A, B, WINDOW};
use crate::link::LinkType;
use crate::link::{dot1ad, dot1q};
use crate::time::T0;
use crate::writer::Format;

/// A named synthetic capture.
pub struct Case {
    /// The case's name; its file is `fixtures/synth/<name>.<ext>`.
    pub name: &'static str,
    /// Builds the capture.
    pub build: fn() -> Capture,
}

impl Case {
    /// `alive.pcap`, `pcapng.pcapng`, ...
    pub fn file_name(&self) -> String {
        format!("{}.{}", self.name, (self.build)().format().extension())
    }
}

/// Every named case, in the order the fixtures are listed.
pub fn all() -> Vec<Case> {
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
        case!(one_byte_ack_lost),
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
        case!(pcap_big_endian),
        case!(pcapng_interfaces),
        case!(pcapng_byte_orders),
        case!(seq_wraparound),
        case!(cut_off),
        case!(ethernet_trailer),
        case!(snaplen_cut),
        case!(challenge_ack),
        case!(backoff_mid_idle),
        case!(lone_byte_probes_at_start),
        case!(early_timer_other_stack),
        case!(heartbeats),
    ]
    .into_iter()
    .map(|c| Case {
        name: c.name.trim_end_matches('_'), // `loop` is a keyword
        ..c
    })
    .collect()
}

/// The case whose file is `file_name` (`alive.pcap`, ...).
pub fn by_file_name(file_name: &str) -> Option<Case> {
    all().into_iter().find(|c| c.file_name() == file_name)
}

/// `ns` nanoseconds after [`T0`].
fn t0_plus_ns(ns: i64) -> Timestamp {
    Timestamp(T0.0 + i128::from(ns))
}

fn client() -> Host {
    Host::v4([198, 18, 0, 1], 40000, 1)
}
fn server() -> Host {
    Host::v4([198, 18, 0, 2], 5000, 2)
}
fn client6() -> Host {
    Host::v6("2001:db8::1", 40000, 1)
}
fn server6() -> Host {
    Host::v6("2001:db8::2", 5000, 2)
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

fn alive() -> Capture {
    let mut c = Conversation::new(client(), server());
    linux_alive(&mut c, 4);
    ethernet().with(c)
}

fn dead_give_up() -> Capture {
    let mut c = Conversation::new(client(), server());
    linux_dead(&mut c);
    ethernet().with(c)
}

/// B answers A's first probe, then reboots: the second probe meets a RST
/// without ACK whose seq is the probe's ack number.
fn reset_by_peer() -> Capture {
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
fn both_sides_probing() -> Capture {
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
fn mid_idle_start() -> Capture {
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
fn mid_idle_unanswered() -> Capture {
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
fn one_byte_probe() -> Capture {
    let windows = Host::v4([198, 18, 1, 10], 50123, 0x10);
    let linux = Host::v4([198, 18, 1, 5], 443, 0x05);
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
fn zero_window_probes() -> Capture {
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
fn zero_window_then_keepalive() -> Capture {
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
fn one_byte_retransmission() -> Capture {
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

/// A 1-byte segment whose acknowledgment is captured but lost on its way
/// to the sender (as a real kernel showed, item 10): the sender resends the
/// byte at its retransmission timer's doubling spacing, and the receiver
/// answers each copy with a D-SACK. Every copy has a 1-byte probe's shape
/// (one below what the wire shows acknowledged), but the first comes sooner
/// after the sender last received anything than a keepalive timer can
/// fire, and the rest repeat it: no probes.
fn one_byte_ack_lost() -> Capture {
    let mut c = Conversation::new(client(), server());
    opening(&mut c);
    c.wait(0.8).send_bytes(A, b"x");
    c.wait(0.00005).ack(B);
    for gap in [0.205, 0.208, 0.424, 0.836, 1.664, 3.356] {
        c.wait(gap).retransmit(A).wait(0.00002).ack_dsack(B);
    }
    ethernet().with(c)
}

/// IPv6 with a hop-by-hop header on every packet, and hop-by-hop plus
/// destination options on the probes and the RST. Dead peer, as in
/// `dead_give_up`.
fn ipv6_ext_headers() -> Capture {
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

fn vlan() -> Capture {
    let mut c = Conversation::new(client(), server());
    c.vlan(&[dot1q(42)]);
    linux_alive(&mut c, 3);
    ethernet().with(c)
}

/// The same dead flow seen twice, as on a mirror port that sees both
/// sides of a QinQ edge: untagged, and 40 µs later with an 802.1ad
/// outer tag 100 and an 802.1Q inner tag 42. Two flows, not one.
fn qinq() -> Capture {
    let mut untagged = Conversation::new(client(), server());
    linux_dead(&mut untagged);
    let mut tagged = Conversation::new(client(), server());
    tagged
        .starting_at(t0_plus_ns(40_000))
        .vlan(&[dot1ad(100), dot1q(42)]);
    linux_dead(&mut tagged);
    ethernet().with(untagged).with(tagged)
}

fn sll() -> Capture {
    let mut c = Conversation::new(client(), server());
    linux_dead(&mut c);
    Capture::new(LinkType::LinuxSll, Format::PcapMicro).with(c)
}

/// Captured on B this time (B's packets are the outgoing ones).
fn sll2() -> Capture {
    let mut c = Conversation::new(client(), server());
    c.captured_at(B);
    linux_alive(&mut c, 3);
    Capture::new(LinkType::LinuxSll2, Format::PcapMicro).with(c)
}

/// An IPv4 flow (family 2) and, half a second later, an IPv6 flow
/// (family 30, as macOS writes it).
fn null() -> Capture {
    let mut v4 = Conversation::new(client(), server());
    linux_alive(&mut v4, 3);
    let mut v6 = Conversation::new(client6(), server6());
    v6.starting_at(t0_plus_ns(500_000_000));
    linux_dead(&mut v6);
    Capture::new(LinkType::Null, Format::PcapMicro)
        .with(v4)
        .with(v6)
}

fn loop_() -> Capture {
    let mut c = Conversation::new(client(), server());
    linux_dead(&mut c);
    Capture::new(LinkType::Loop, Format::PcapMicro).with(c)
}

fn raw_ipv4() -> Capture {
    let mut c = Conversation::new(client(), server());
    linux_alive(&mut c, 3);
    Capture::new(LinkType::Raw, Format::PcapMicro).with(c)
}

fn linktype_ipv4() -> Capture {
    let mut c = Conversation::new(client(), server());
    linux_dead(&mut c);
    Capture::new(LinkType::Ipv4, Format::PcapMicro).with(c)
}

fn linktype_ipv6() -> Capture {
    let mut c = Conversation::new(client6(), server6());
    linux_alive(&mut c, 3);
    Capture::new(LinkType::Ipv6, Format::PcapMicro).with(c)
}

/// pcapng with nanosecond timestamps (if_tsresol = 9).
fn pcapng() -> Capture {
    let mut c = Conversation::new(client(), server());
    c.starting_at(t0_plus_ns(987_654_321));
    linux_alive(&mut c, 3);
    Capture::new(LinkType::Ethernet, Format::Pcapng { tsresol: 9 }).with(c)
}

/// Every timestamp has a sub-microsecond part (…456789 ns).
fn pcap_nanosecond() -> Capture {
    let mut c = Conversation::new(client(), server());
    c.starting_at(t0_plus_ns(123_456_789));
    linux_dead(&mut c);
    Capture::new(LinkType::Ethernet, Format::PcapNano).with(c)
}

/// A classic pcap written by a big-endian machine (magic a1b2c3d4 read
/// as d4c3b2a1 here), every header field big-endian.
fn pcap_big_endian() -> Capture {
    let mut c = Conversation::new(client(), server());
    linux_dead(&mut c);
    ethernet().big_endian().with(c)
}

/// pcapng with three interfaces, as `dumpcap -i eth0 -i any -i tun0`
/// writes it: Ethernet (snaplen 262144), Linux cooked v2 (snaplen 128) and
/// raw IP (snaplen 96), in microseconds. A keepalive flow on each; the
/// cooked one's frames are cut by its interface's snaplen, the raw one's
/// are not (they are shorter). libpcap 1.10 refuses such a file.
fn pcapng_interfaces() -> Capture {
    let mut eth = Conversation::new(client(), server());
    linux_alive(&mut eth, 3);
    let mut sll2 = Conversation::new(
        Host::v4([198, 18, 1, 1], 40001, 3),
        Host::v4([198, 18, 1, 2], 5001, 4),
    );
    sll2.starting_at(t0_plus_ns(250_000_000)).captured_at(B);
    linux_dead(&mut sll2);
    let mut raw = Conversation::new(client6(), server6());
    raw.starting_at(t0_plus_ns(500_000_000));
    linux_alive(&mut raw, 2);
    Capture::new(LinkType::Ethernet, Format::Pcapng { tsresol: 6 })
        .with(eth)
        .with_on(LinkType::LinuxSll2, 128, sll2)
        .with_on(LinkType::Raw, 96, raw)
}

/// pcapng whose sections alternate byte order every 4 records (as when
/// captures from a little- and a big-endian machine are concatenated with
/// `cat`); each section declares its interface again. libpcap 1.10 refuses
/// such a file.
fn pcapng_byte_orders() -> Capture {
    let mut c = Conversation::new(client(), server());
    c.starting_at(t0_plus_ns(987_654_321));
    linux_dead(&mut c);
    Capture::new(LinkType::Ethernet, Format::Pcapng { tsresol: 9 })
        .with(c)
        .section_every(4)
}

/// A's 120-byte request brings its snd_nxt to exactly 2^32, so its probes
/// have seq 0xffffffff and its RST seq 0; B's response wraps too.
fn seq_wraparound() -> Capture {
    let mut c = Conversation::new(client(), server());
    c.isns(0u32.wrapping_sub(121), 0xffff_fff0);
    linux_dead(&mut c);
    ethernet().with(c)
}

/// Three answered probes, then B's data segment, cut 100 bytes before
/// its end: the file ends mid-record.
fn cut_off() -> Capture {
    let mut c = Conversation::new(client(), server());
    linux_alive(&mut c, 3);
    c.wait(0.5).data(B, 240);
    ethernet().with(c).cut_off(100)
}

/// Frames padded to 60 bytes with 0x5a and followed by a 4-byte trailer:
/// a probe's frame holds 10 bytes past its TCP header, yet it carries no
/// data (the IP total length says so).
fn ethernet_trailer() -> Capture {
    let mut c = Conversation::new(client(), server());
    linux_alive(&mut c, 3);
    ethernet()
        .with(c)
        .ethernet_trailer(0x5a, &[0xde, 0xad, 0xbe, 0xef])
}

/// Snaplen 60: data frames lose their payload but keep a whole TCP
/// header and still decode (lengths from the IP header); the SYN and
/// SYN-ACK (66 bytes with options) are cut inside their options and
/// still decode, from their fixed header.
fn snaplen_cut() -> Capture {
    let mut c = Conversation::new(client(), server());
    linux_alive(&mut c, 3);
    ethernet().with(c).snaplen(60)
}

/// KEEPALIVE-FACTS item 19. The server still holds an older connection on
/// this 4-tuple (the client rebooted): it answers the client's new SYN with a
/// bare ACK carrying the old connection's numbers (a challenge ACK); the
/// client resets at that ack number, retries a second later, and the new
/// connection opens. None of it is keepalive.
fn challenge_ack() -> Capture {
    let mut old = Conversation::new(client(), server());
    old.isns(0x0bad_0000, 0x0dd0_0000);
    old.at(0.0002).ack(B).wait(0.0002).reset_to_ack(A);
    let mut first = Conversation::new(client(), server());
    first.isns(0x1a2b_3c4d, 0x5e6f_7081).syn(A);
    let mut retry = Conversation::new(client(), server());
    retry.isns(0x1a2b_3c4d, 0x2222_0000).at(1.0).handshake();
    retry
        .wait(0.001)
        .data(A, 64)
        .wait(0.0002)
        .data(B, 128)
        .wait(0.04)
        .ack(A);
    ethernet().with(first).with(old).with(retry)
}

/// KEEPALIVE-FACTS item 20. The capture starts mid-connection, after a
/// 1-byte segment whose ACKs were lost: what it shows first are the
/// retransmissions, 0.2, 0.4 and 0.8 s apart, and then the receiver's ACK
/// with a D-SACK (it had the byte). A backoff, not keepalive probes.
fn backoff_mid_idle() -> Capture {
    let mut c = Conversation::new(client(), server());
    c.send_bytes(A, b"x");
    c.wait(0.206).retransmit(A);
    c.wait(0.412).retransmit(A);
    c.wait(0.824).retransmit(A);
    c.wait(1.648).retransmit(A);
    c.wait(0.0002).ack_dsack(B);
    c.drop_first(1);
    ethernet().with(c)
}

/// KEEPALIVE-FACTS item 21. A Windows client's 1-byte probes (0x00 at
/// snd_nxt - 1) every 45 s, answered by a server without SACK: the first one
/// the capture shows looks like new data acknowledged. Its repeats, at the
/// same sequence number and a timer's spacing, show that every one was a
/// probe, the first included.
fn lone_byte_probes_at_start() -> Capture {
    let windows = Host::v4([198, 18, 1, 30], 50200, 0x30);
    let linux = Host::v4([198, 18, 1, 31], 8883, 0x31);
    let mut c = Conversation::new(windows, linux);
    for k in 0..4 {
        c.at(45.016 * f64::from(k)).probe_byte(A, 0x00);
        c.wait(0.0003).probe_ack(B);
    }
    ethernet().with(c)
}

/// Issue 11 item 13. A non-Linux stack with a 60 s keepalive idle whose
/// coarse timer fires a third of a second early: probes 59.67 s after the
/// last segment it received, each answered (with a D-SACK for its byte).
/// Linux timers are never early, so 59 s fits too: either is possible.
fn early_timer_other_stack() -> Capture {
    let mut c = Conversation::new(Host::v4([198, 18, 1, 40], 50300, 0x40), server());
    let last_rx = opening(&mut c);
    c.at(last_rx + 59.67).probe_byte(A, 0x00);
    c.wait(0.0002).probe_ack_dsack(B);
    ethernet().with(c)
}

/// Issue 13: application heartbeats, no TCP keepalive. Three connections,
/// each with its protocol's own bytes:
///
/// - gRPC on cleartext HTTP/2: after its request, the client pings (HTTP/2
///   PING) every 20 s, four times, each answered 0.3 ms later by the PING
///   with the ACK flag; the client's delayed ACK 40 ms after that.
/// - MQTT: after CONNECT (keepalive 60 s) and CONNACK, the client's
///   PINGREQ every 60 s, three times, each answered by PINGRESP. The
///   CONNECT (18 bytes) begins the cadence: the client's keepalive timer
///   counts from the last packet it sent, so the heartbeat has four beats.
/// - WebSocket: the server pings every 25 s, four times, with 2 % jitter;
///   the client answers each with a masked pong.
///
/// A server's answer is never a heartbeat of its own, and none of these
/// segments is a keepalive probe.
fn heartbeats() -> Capture {
    let mut ping = vec![0, 0, 8, 6, 0, 0, 0, 0, 0];
    ping.extend_from_slice(b"grpc-kap");
    let mut ping_ack = ping.clone();
    ping_ack[4] = 1;
    let mut grpc = Conversation::new(client(), server());
    grpc.handshake();
    grpc.wait(0.001)
        .send_bytes(A, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    grpc.wait(0.0001).data(A, 180); // SETTINGS, HEADERS, DATA
    grpc.wait(0.0004).data(B, 260); // SETTINGS, HEADERS, DATA, trailers
    grpc.wait(0.04).ack(A);
    let start = grpc.now();
    for k in 0..4 {
        grpc.at(start + 20.0 * f64::from(k + 1));
        grpc.send_bytes(A, &ping);
        grpc.wait(0.0003).send_bytes(B, &ping_ack);
        grpc.wait(0.04).ack(A);
    }

    let mut mqtt = Conversation::new(
        Host::v4([198, 18, 2, 1], 41000, 0x21),
        Host::v4([198, 18, 2, 2], 1883, 0x22),
    );
    mqtt.starting_at(t0_plus_ns(1_000_000_000)).handshake();
    let connect = [
        0x10, 0x10, 0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 60, 0, 4, b'k', b'a', b'w', b'a',
    ];
    mqtt.wait(0.001).send_bytes(A, &connect);
    mqtt.wait(0.0004).send_bytes(B, &[0x20, 0x02, 0, 0]);
    mqtt.wait(0.04).ack(A);
    let start = mqtt.now();
    for k in 0..3 {
        mqtt.at(start + 60.0 * f64::from(k + 1));
        mqtt.send_bytes(A, &[0xc0, 0x00]);
        mqtt.wait(0.0004).send_bytes(B, &[0xd0, 0x00]);
        mqtt.wait(0.04).ack(A);
    }

    let mut ws = Conversation::new(
        Host::v4([198, 18, 3, 1], 42000, 0x31),
        Host::v4([198, 18, 3, 2], 443, 0x32),
    );
    ws.starting_at(t0_plus_ns(2_000_000_000)).handshake();
    ws.wait(0.001).data(A, 210); // the upgrade request
    ws.wait(0.0004).data(B, 160); // 101 Switching Protocols
    ws.wait(0.04).ack(A);
    let start = ws.now();
    for (k, jitter) in [0.3, -0.4, 0.5, -0.2].into_iter().enumerate() {
        ws.at(start + 25.0 * (k + 1) as f64 + jitter);
        ws.send_bytes(B, &[0x89, 0x02, b'h', b'b']);
        ws.wait(0.0003)
            .send_bytes(A, &[0x8a, 0x82, 9, 8, 7, 6, b'h' ^ 9, b'b' ^ 8]);
        ws.wait(0.04).ack(B);
    }

    ethernet().with(grpc).with(mqtt).with(ws)
}
