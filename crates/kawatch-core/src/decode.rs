//! Frame bytes to [`Segment`]: link layer, IPv4/IPv6, TCP header.
//!
//! Uses etherparse's lax slicing, so frames cut short by the snaplen still
//! decode as far as their TCP header reaches. The payload length comes from
//! the IP length fields, not from the captured length (Ethernet padding and
//! trailers lie about it), but only as far as the frame's length on the wire
//! allows: a whole frame (captured length = wire length) whose IP header
//! claims more than it holds (a total length of 65535 from segmentation
//! offload, say) carries only what it holds.

use crate::segment::{Endpoint, PayloadHead, Segment, TcpFlags, Vlan};
use crate::seq::SeqNumber;
use crate::time::Timestamp;
use etherparse::{
    EtherType, LaxLinkExtSlice, LaxNetSlice, LaxSlicedPacket, TcpOptionElement, TcpSlice,
    TransportSlice,
};
use std::net::IpAddr;

/// Link-layer framings kawatch decodes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LinkType {
    /// Ethernet II, with 802.1Q / 802.1ad tags (DLT_EN10MB).
    Ethernet,
    /// Linux cooked capture v1 (DLT_LINUX_SLL).
    LinuxSll,
    /// Linux cooked capture v2 (DLT_LINUX_SLL2), what `tcpdump -i any` writes.
    LinuxSll2,
    /// BSD loopback, host-order family (DLT_NULL).
    Null,
    /// OpenBSD loopback, network-order family (DLT_LOOP).
    Loop,
    /// Raw IPv4 or IPv6 (DLT_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6).
    RawIp,
}

impl LinkType {
    /// The link type for a libpcap DLT value, if kawatch decodes it.
    pub fn from_dlt(dlt: i32) -> Option<LinkType> {
        Some(match dlt {
            1 => LinkType::Ethernet,
            113 => LinkType::LinuxSll,
            276 => LinkType::LinuxSll2,
            0 => LinkType::Null,
            108 => LinkType::Loop,
            // DLT_RAW is 12 on most systems, 14 on OpenBSD; 101 is LINKTYPE_RAW;
            // 228 / 229 are LINKTYPE_IPV4 / LINKTYPE_IPV6.
            12 | 14 | 101 | 228 | 229 => LinkType::RawIp,
            _ => return None,
        })
    }

    /// The LINKTYPE_ number a capture file states for it (raw IP as
    /// LINKTYPE_RAW, either version).
    pub fn linktype(self) -> u16 {
        match self {
            LinkType::Ethernet => 1,
            LinkType::LinuxSll => 113,
            LinkType::LinuxSll2 => 276,
            LinkType::Null => 0,
            LinkType::Loop => 108,
            LinkType::RawIp => 101,
        }
    }
}

/// Decodes one whole frame: `data` is every byte it had on the wire (as
/// [`decode_with_len`] with `wire_len` = `data.len()`).
pub fn decode(link: LinkType, frame: u64, ts: Timestamp, data: &[u8]) -> Option<Segment> {
    decode_cut(link, frame, ts, data, 0)
}

/// Decodes one frame of `wire_len` bytes on the wire, of which `data` was
/// captured (fewer when the snaplen cut it). `None` when it is not a TCP
/// segment whose header is complete (other protocols, fragments, frames cut
/// inside the TCP header, more than [`Vlan::MAX_TAGS`] VLAN tags).
///
/// The payload length is the IP header's, capped at what the frame held on
/// the wire past the TCP header.
///
/// The common shapes (Ethernet with up to three VLAN tags, or raw IP; IPv4
/// unfragmented or IPv6 without extension headers; a complete TCP header) take
/// a direct path; everything else goes through etherparse's lax slicer. Both
/// give the same answer (see the property test).
#[inline]
pub fn decode_with_len(
    link: LinkType,
    frame: u64,
    ts: Timestamp,
    data: &[u8],
    wire_len: u32,
) -> Option<Segment> {
    let cut = (wire_len as usize).saturating_sub(data.len());
    decode_cut(link, frame, ts, data, cut)
}

/// Decodes a frame of which the last `cut` bytes were not captured.
#[inline]
fn decode_cut(
    link: LinkType,
    frame: u64,
    ts: Timestamp,
    data: &[u8],
    cut: usize,
) -> Option<Segment> {
    match fast::decode(link, frame, ts, data, cut) {
        Some(seg) => Some(seg),
        None => decode_lax(link, frame, ts, data, cut),
    }
}

/// The general path: etherparse's lax slicing.
#[cold]
#[inline(never)]
fn decode_lax(
    link: LinkType,
    frame: u64,
    ts: Timestamp,
    data: &[u8],
    cut: usize,
) -> Option<Segment> {
    // (The SLL header's protocol: the ether type that follows it.)
    let (sliced, protocol) = match link {
        LinkType::Ethernet => (LaxSlicedPacket::from_ethernet(data).ok()?, None),
        LinkType::LinuxSll => {
            let proto = EtherType(u16::from_be_bytes([*data.get(14)?, *data.get(15)?]));
            let sliced = LaxSlicedPacket::from_ether_type(proto, data.get(16..)?);
            (sliced, Some(proto))
        }
        LinkType::LinuxSll2 => {
            let proto = EtherType(u16::from_be_bytes([*data.first()?, *data.get(1)?]));
            let sliced = LaxSlicedPacket::from_ether_type(proto, data.get(20..)?);
            (sliced, Some(proto))
        }
        // The 4-byte family field's byte order depends on the capturing host;
        // the IP version nibble says the same thing unambiguously.
        LinkType::Null | LinkType::Loop => (LaxSlicedPacket::from_ip(data.get(4..)?).ok()?, None),
        LinkType::RawIp => (LaxSlicedPacket::from_ip(data).ok()?, None),
    };
    let Some(TransportSlice::Tcp(tcp)) = &sliced.transport else {
        return None;
    };
    // Where an ether type names the IP version, the header must be of it,
    // as for libpcap's `tcp` (etherparse goes by the header's version
    // nibble; Wireshark flags the mismatch, "Bogus IPv4 version", as an
    // error and dissects on).
    let carried = sliced.ether_payload().map(|p| p.ether_type).or(protocol);
    match (carried, sliced.net.as_ref()?) {
        (Some(EtherType::IPV4), LaxNetSlice::Ipv6(_))
        | (Some(EtherType::IPV6), LaxNetSlice::Ipv4(_)) => return None,
        _ => {}
    }
    let (src, dst, payload_len, ip_id) = match sliced.net.as_ref()? {
        LaxNetSlice::Ipv4(ip) => {
            let h = ip.header();
            // Incomplete: the header claims more than was captured. Believe
            // it as far as the uncaptured bytes reach.
            let ip_payload = if ip.payload().incomplete {
                (h.total_len() as usize)
                    .saturating_sub(h.ihl() as usize * 4)
                    .min(ip.payload().payload.len() + cut)
            } else {
                ip.payload().payload.len()
            };
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                ip_payload,
                h.identification(),
            )
        }
        LaxNetSlice::Ipv6(ip) => {
            let h = ip.header();
            let ip_payload = if ip.payload().incomplete {
                (h.payload_length() as usize)
                    .saturating_sub(ip.extensions().slice().len())
                    .min(ip.payload().payload.len() + cut)
            } else {
                ip.payload().payload.len()
            };
            (
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
                ip_payload,
                0,
            )
        }
        LaxNetSlice::Arp(_) => return None,
    };
    let header_len = tcp.header_slice().len();
    let mut vlan = Vlan::NONE;
    let mut tags = 0;
    for ext in &sliced.link_exts {
        if let LaxLinkExtSlice::Vlan(tag) = ext {
            tags += 1;
            if tags > Vlan::MAX_TAGS {
                return None;
            }
            vlan.push_tag(tag.vlan_identifier().value());
        }
    }
    let payload_len = payload_len.saturating_sub(header_len) as u32;
    let captured = tcp.payload();
    let head = PayloadHead::new(&captured[..captured.len().min(payload_len as usize)]);
    Some(Segment {
        frame,
        ts,
        src: Endpoint::new(src, tcp.source_port()),
        dst: Endpoint::new(dst, tcp.destination_port()),
        vlan,
        seq: SeqNumber(tcp.sequence_number()),
        ack: SeqNumber(tcp.acknowledgment_number()),
        flags: flags(tcp),
        window: tcp.window_size(),
        payload_len,
        sack: if payload_len == 0 {
            first_sack(tcp)
        } else {
            None
        },
        head,
        ip_id,
        tsval: fast::tsval(tcp.options()),
    })
}

fn flags(tcp: &TcpSlice<'_>) -> TcpFlags {
    // Byte 13 of the TCP header holds CWR ECE URG ACK PSH RST SYN FIN.
    TcpFlags(tcp.header_slice()[13] & 0x1f)
}

mod fast {
    //! The direct path for the shapes nearly every capture holds.

    use super::LinkType;
    use crate::segment::{Endpoint, PayloadHead, Segment, TcpFlags, Vlan};
    use crate::seq::SeqNumber;
    use crate::time::Timestamp;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    fn be16(d: &[u8], at: usize) -> u16 {
        u16::from_be_bytes([d[at], d[at + 1]])
    }

    fn be32(d: &[u8], at: usize) -> u32 {
        u32::from_be_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]])
    }

    /// `None` when the frame is not of a shape this path handles; `cut`
    /// bytes of it were not captured. (Inlined where the segment is to be
    /// kept, so that it is written there rather than copied.)
    #[inline(always)]
    pub(super) fn decode(
        link: LinkType,
        frame: u64,
        ts: Timestamp,
        d: &[u8],
        cut: usize,
    ) -> Option<Segment> {
        let mut vlan = Vlan::NONE;
        let (at, v6) = match link {
            LinkType::Ethernet => {
                let mut at = 12;
                let mut ether_type = be16(d.get(..14)?, 12);
                // Past the last tag kept, a tag is no IP: not this path's shape.
                for _ in 0..Vlan::MAX_TAGS {
                    if ether_type != 0x8100 && ether_type != 0x88a8 {
                        break;
                    }
                    d.get(at + 6)?;
                    vlan.push_tag(be16(d, at + 2) & 0x0fff);
                    ether_type = be16(d, at + 4);
                    at += 4;
                }
                match ether_type {
                    0x0800 => (at + 2, false),
                    0x86dd => (at + 2, true),
                    _ => return None,
                }
            }
            // Linux cooked: the protocol (an ether type) at 14 in SLL, at 0
            // in SLL2.
            LinkType::LinuxSll | LinkType::LinuxSll2 => {
                let (len, at) = if link == LinkType::LinuxSll {
                    (16, 14)
                } else {
                    (20, 0)
                };
                match be16(d.get(..len)?, at) {
                    0x0800 => (len, false),
                    0x86dd => (len, true),
                    _ => return None,
                }
            }
            // BSD loopback: the IP version nibble says what the host-order
            // family field says.
            LinkType::Null | LinkType::Loop => (4, *d.get(4)? >> 4 == 6),
            LinkType::RawIp => (0, d.first()? >> 4 == 6),
        };
        let (src, dst, tcp_at, ip_payload) = if v6 { ipv6(d, at)? } else { ipv4(d, at)? };
        let ip_id = if v6 { 0 } else { be16(d, at + 4) };
        let tcp = d.get(tcp_at..tcp_at + 20)?;
        let header_len = (tcp[12] >> 4) as usize * 4;
        if header_len < 20 {
            return None;
        }
        // The IP header's length, as far as the frame on the wire reaches;
        // a TCP header that does not fit in it is no TCP header.
        let ip_payload = ip_payload.min(d.len() - tcp_at + cut);
        if ip_payload < header_len {
            return None;
        }
        let payload_len = ip_payload.saturating_sub(header_len) as u32;
        // The options as far as they were captured: a snap length that
        // keeps the fixed header (54 bytes on Ethernet) cuts them, and what
        // the fixed header says is all there (tcpdump prints it, `[|tcp]`).
        // An option cut short reads as none.
        let options = &d[tcp_at + 20..(tcp_at + header_len).min(d.len())];
        // What was captured of the payload (a trailer past it is not).
        let payload_at = tcp_at + header_len;
        let captured = d.len().saturating_sub(payload_at).min(payload_len as usize);
        let head = PayloadHead::new(d.get(payload_at..payload_at + captured).unwrap_or(&[]));
        Some(Segment {
            frame,
            ts,
            src: Endpoint::new(src, be16(tcp, 0)),
            dst: Endpoint::new(dst, be16(tcp, 2)),
            vlan,
            seq: SeqNumber(be32(tcp, 4)),
            ack: SeqNumber(be32(tcp, 8)),
            flags: TcpFlags(tcp[13] & 0x1f),
            window: be16(tcp, 14),
            payload_len,
            sack: if payload_len == 0 {
                first_sack(options)
            } else {
                None
            },
            head,
            ip_id,
            tsval: tsval(options),
        })
    }

    /// The timestamp option's TSval among TCP options, 0 without one (or
    /// past anything malformed). Most segments carrying it put it first,
    /// after two NOPs.
    #[inline]
    pub(super) fn tsval(o: &[u8]) -> u32 {
        if let [1, 1, 8, 10, a, b, c, d, ..] = *o {
            return u32::from_be_bytes([a, b, c, d]);
        }
        let mut o = o;
        while let Some(&kind) = o.first() {
            match kind {
                0 => return 0,
                1 => o = &o[1..],
                _ => {
                    let Some(len) = o.get(1).map(|&l| l as usize) else {
                        return 0;
                    };
                    if len < 2 || len > o.len() {
                        return 0;
                    }
                    if kind == 8 && len == 10 {
                        return be32(o, 2);
                    }
                    o = &o[len..];
                }
            }
        }
        0
    }

    /// Addresses, where TCP starts, and the IP payload length the header states.
    fn ipv4(d: &[u8], at: usize) -> Option<(IpAddr, IpAddr, usize, usize)> {
        let h = d.get(at..at + 20)?;
        let ihl = (h[0] & 0x0f) as usize * 4;
        let total = be16(h, 2) as usize;
        let fragment = be16(h, 6) & 0x3fff != 0;
        if h[0] >> 4 != 4 || ihl < 20 || total < ihl || fragment || h[9] != 6 || d.len() < at + ihl
        {
            return None;
        }
        let src = Ipv4Addr::new(h[12], h[13], h[14], h[15]);
        let dst = Ipv4Addr::new(h[16], h[17], h[18], h[19]);
        Some((src.into(), dst.into(), at + ihl, total - ihl))
    }

    fn ipv6(d: &[u8], at: usize) -> Option<(IpAddr, IpAddr, usize, usize)> {
        let h = d.get(at..at + 40)?;
        let payload = be16(h, 4) as usize;
        if h[0] >> 4 != 6 || h[6] != 6 || payload == 0 {
            return None;
        }
        let addr = |o: usize| -> IpAddr {
            let b: [u8; 16] = h[o..o + 16].try_into().expect("16 bytes");
            Ipv6Addr::from(b).into()
        };
        Some((addr(8), addr(24), at + 40, payload))
    }

    /// The first SACK block among TCP options, stopping at anything malformed.
    fn first_sack(mut o: &[u8]) -> Option<(SeqNumber, SeqNumber)> {
        while let Some(&kind) = o.first() {
            match kind {
                0 => return None,
                1 => o = &o[1..],
                _ => {
                    let len = *o.get(1)? as usize;
                    if len < 2 || len > o.len() {
                        return None;
                    }
                    if kind == 5 && len >= 10 {
                        return Some((SeqNumber(be32(o, 2)), SeqNumber(be32(o, 6))));
                    }
                    o = &o[len..];
                }
            }
        }
        None
    }
}

fn first_sack(tcp: &TcpSlice<'_>) -> Option<(SeqNumber, SeqNumber)> {
    if tcp.options().is_empty() {
        return None;
    }
    tcp.options_iterator().find_map(|opt| match opt {
        Ok(TcpOptionElement::SelectiveAcknowledgement((l, r), _)) => {
            Some((SeqNumber(l), SeqNumber(r)))
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn tcp_v4(payload: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([198, 18, 0, 1], [198, 18, 0, 2], 64)
            .tcp(40000, 5000, 1000, 512)
            .ack(77);
        let mut out = Vec::new();
        b.write(&mut out, payload).unwrap();
        out
    }

    /// As [`tcp_v4`], between 2001:db8::1 and 2001:db8::2.
    fn tcp_v6(payload: &[u8]) -> Vec<u8> {
        let host = |h| [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, h];
        let b = PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv6(host(1), host(2), 64)
            .tcp(40000, 5000, 1000, 512)
            .ack(77);
        let mut out = Vec::new();
        b.write(&mut out, payload).unwrap();
        out
    }

    #[test]
    fn decodes_ethernet_ipv4() {
        let frame = tcp_v4(&[0]);
        let s = decode(LinkType::Ethernet, 1, Timestamp(5), &frame).unwrap();
        assert_eq!(s.src.to_string(), "198.18.0.1:40000");
        assert_eq!(s.dst.to_string(), "198.18.0.2:5000");
        assert_eq!(
            (s.seq, s.ack, s.payload_len, s.window),
            (SeqNumber(1000), SeqNumber(77), 1, 512)
        );
        assert!(s.flags.ack() && !s.flags.syn());
    }

    /// The IPv4 identification and the TCP timestamp are read on both
    /// paths (they tell a second sending from a second capture), wherever
    /// the timestamp option sits, and 0 where absent or malformed.
    #[test]
    fn identification_and_timestamp_are_read() {
        use etherparse::TcpOptionElement::{Noop, SelectiveAcknowledgement, Timestamp as Ts};
        let with = |ip_id: u16, options: &[etherparse::TcpOptionElement]| {
            let mut ip = etherparse::Ipv4Header::new(
                0,
                64,
                etherparse::IpNumber::TCP,
                [198, 18, 0, 1],
                [198, 18, 0, 2],
            )
            .unwrap();
            ip.identification = ip_id;
            let mut tcp = etherparse::TcpHeader::new(40000, 5000, 1000, 512);
            tcp.ack = true;
            tcp.set_options(options).unwrap();
            let b = PacketBuilder::ethernet2([1; 6], [2; 6])
                .ip(etherparse::IpHeaders::Ipv4(ip, Default::default()))
                .tcp_header(tcp);
            let mut out = Vec::new();
            b.write(&mut out, &[]).unwrap();
            out
        };
        let sack = SelectiveAcknowledgement((5, 9), [None; 3]);
        for (what, frame, want) in [
            ("none", with(7, &[]), (7, 0)),
            (
                "first, after two NOPs",
                with(8, &[Noop, Noop, Ts(123_456, 9)]),
                (8, 123_456),
            ),
            (
                "after a SACK block",
                with(9, &[Noop, Noop, sack, Noop, Noop, Ts(42, 1)]),
                (9, 42),
            ),
            ("IPv6: no identification", tcp_v6(&[]), (0, 0)),
        ] {
            let fast = super::fast::decode(LinkType::Ethernet, 1, Timestamp(5), &frame, 0)
                .unwrap_or_else(|| panic!("{what}: the direct path"));
            let lax = decode_lax(LinkType::Ethernet, 1, Timestamp(5), &frame, 0).unwrap();
            assert_eq!((fast.ip_id, fast.tsval), want, "{what}");
            assert_eq!((lax.ip_id, lax.tsval), want, "{what}, etherparse");
        }
        // An option whose length runs past the header: no timestamp read.
        assert_eq!(super::fast::tsval(&[8, 12, 0, 0, 0, 1, 0, 0, 0, 0]), 0);
        assert_eq!(
            super::fast::tsval(&[3, 3, 7, 8, 10, 0, 0, 1, 0, 0, 0, 0, 0]),
            256
        );
    }

    #[test]
    fn common_frames_take_the_direct_path() {
        let cases = [
            ("plain", tcp_v4(&[0]), 0),
            ("trailer", [tcp_v4(&[]), vec![0xaa; 6]].concat(), 0),
            (
                "cut after the tcp header",
                tcp_v4(&[1; 100])[..54].to_vec(),
                100,
            ),
            ("lying length", with_ip_len(tcp_v4(&[]), 14, 65_535), 0),
            ("three tags", tagged(&tcp_v4(&[]), &[7, 8, 9]), 0),
        ];
        for (name, frame, cut) in cases {
            let fast = fast::decode(LinkType::Ethernet, 1, Timestamp(0), &frame, cut);
            assert!(fast.is_some(), "{name}");
            assert_eq!(
                fast,
                decode_lax(LinkType::Ethernet, 1, Timestamp(0), &frame, cut),
                "{name}"
            );
        }
    }

    /// Cooked (SLL, SLL2) and BSD loopback (NULL, LOOP) frames take the
    /// direct path too, as etherparse reads them; and on every link type a
    /// snap length that keeps the fixed TCP header but cuts its options
    /// (tcpdump `-s 54`: a reply's timestamps) still gives the segment,
    /// which etherparse's slicer gives up on.
    #[test]
    fn cooked_and_loopback_frames_and_cut_options() {
        let with_options = |payload: &[u8]| {
            let b = PacketBuilder::ethernet2([1; 6], [2; 6])
                .ipv4([198, 18, 0, 1], [198, 18, 0, 2], 64)
                .tcp(40000, 5000, 1000, 512)
                .ack(77)
                .options(&[
                    etherparse::TcpOptionElement::Noop,
                    etherparse::TcpOptionElement::Noop,
                    etherparse::TcpOptionElement::Timestamp(5, 6),
                ])
                .unwrap();
            let mut out = Vec::new();
            b.write(&mut out, payload).unwrap();
            out
        };
        let links = |eth: &[u8]| {
            let ip = &eth[14..];
            let proto = [eth[12], eth[13]];
            let v6 = ip[0] >> 4 == 6;
            let mut sll = vec![0; 14];
            sll.extend_from_slice(&proto);
            sll.extend_from_slice(ip);
            let mut sll2 = proto.to_vec();
            sll2.resize(20, 0);
            sll2.extend_from_slice(ip);
            let mut null = if v6 { 30u32 } else { 2 }.to_le_bytes().to_vec();
            null.extend_from_slice(ip);
            let mut lo = if v6 { 30u32 } else { 2 }.to_be_bytes().to_vec();
            lo.extend_from_slice(ip);
            [
                (LinkType::Ethernet, eth.to_vec()),
                (LinkType::LinuxSll, sll),
                (LinkType::LinuxSll2, sll2),
                (LinkType::Null, null),
                (LinkType::Loop, lo),
                (LinkType::RawIp, ip.to_vec()),
            ]
        };
        for (name, eth) in [
            ("IPv4", tcp_v4(&[1, 2, 3])),
            ("IPv6", tcp_v6(&[1, 2, 3])),
            ("IPv4 with timestamps", with_options(&[1, 2, 3])),
        ] {
            for (link, frame) in links(&eth) {
                let fast = fast::decode(link, 1, Timestamp(0), &frame, 0);
                assert!(fast.is_some(), "{name} {link:?}");
                assert_eq!(
                    fast,
                    decode_lax(link, 1, Timestamp(0), &frame, 0),
                    "{name} {link:?}"
                );
            }
        }
        // A pure ACK with timestamps, cut at the end of its fixed header.
        let ack = with_options(&[]);
        for (link, frame) in links(&ack) {
            let whole = decode(link, 1, Timestamp(0), &frame).unwrap();
            let keep = frame.len() - 12;
            let cut = decode_with_len(link, 1, Timestamp(0), &frame[..keep], frame.len() as u32);
            assert_eq!(
                cut,
                Some(Segment { tsval: 0, ..whole }),
                "{link:?}: options cut"
            );
            assert_eq!(whole.tsval, 5, "{link:?}");
            // Cut inside the fixed header: no segment.
            let short = decode_with_len(
                link,
                1,
                Timestamp(0),
                &frame[..keep - 1],
                frame.len() as u32,
            );
            assert_eq!(short, None, "{link:?}: fixed header cut");
        }
    }

    /// `frame` with the IP length field (total length for IPv4, payload
    /// length for IPv6) of the header at `ip_at` set to `len`.
    fn with_ip_len(mut frame: Vec<u8>, ip_at: usize, len: u16) -> Vec<u8> {
        let field = if frame[ip_at] >> 4 == 6 { 4 } else { 2 };
        frame[ip_at + field..ip_at + field + 2].copy_from_slice(&len.to_be_bytes());
        frame
    }

    /// An untagged Ethernet frame with `ids` pushed in as tags, outermost
    /// first (802.1ad outside, 802.1Q innermost).
    fn tagged(frame: &[u8], ids: &[u16]) -> Vec<u8> {
        let mut tags = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let tpid: u16 = if i + 1 == ids.len() { 0x8100 } else { 0x88a8 };
            tags.extend_from_slice(&tpid.to_be_bytes());
            tags.extend_from_slice(&id.to_be_bytes());
        }
        let mut out = frame.to_vec();
        out.splice(12..12, tags);
        out
    }

    /// An IP header whose version is not the one its ether type names is
    /// no TCP segment (as for libpcap's `tcp`; Wireshark calls it an error),
    /// on every link that carries an ether type; where none does, the
    /// version nibble decides.
    #[test]
    fn ip_version_must_be_the_ether_types() {
        let v4 = tcp_v4(&[]);
        let v6 = tcp_v6(&[]);
        // The untagged frame with its ether type set to `et`.
        let relabel = |frame: &[u8], et: u16| {
            let mut f = frame.to_vec();
            f[12..14].copy_from_slice(&et.to_be_bytes());
            f
        };
        // SLL: 16 bytes, the protocol last; SLL2: 20, the protocol first.
        let sll = |frame: &[u8]| [&[0u8; 14][..], &frame[12..14], &frame[14..]].concat();
        let sll2 = |frame: &[u8]| [&frame[12..14], &[0u8; 18][..], &frame[14..]].concat();
        let cases = [
            ("v4 as v4", LinkType::Ethernet, v4.clone(), true),
            ("v6 as v6", LinkType::Ethernet, v6.clone(), true),
            ("v6 as v4", LinkType::Ethernet, relabel(&v6, 0x0800), false),
            ("v4 as v6", LinkType::Ethernet, relabel(&v4, 0x86dd), false),
            (
                "tagged v6 as v4",
                LinkType::Ethernet,
                tagged(&relabel(&v6, 0x0800), &[7]),
                false,
            ),
            (
                "tagged v4 as v4",
                LinkType::Ethernet,
                tagged(&v4, &[7]),
                true,
            ),
            (
                "sll v6 as v4",
                LinkType::LinuxSll,
                sll(&relabel(&v6, 0x0800)),
                false,
            ),
            ("sll v6 as v6", LinkType::LinuxSll, sll(&v6), true),
            (
                "sll2 v4 as v6",
                LinkType::LinuxSll2,
                sll2(&relabel(&v4, 0x86dd)),
                false,
            ),
            ("sll2 v4 as v4", LinkType::LinuxSll2, sll2(&v4), true),
            ("raw v6", LinkType::RawIp, v6[14..].to_vec(), true),
        ];
        for (name, link, frame, tcp) in cases {
            let got = decode(link, 1, Timestamp(0), &frame);
            assert_eq!(got.is_some(), tcp, "{name}: {got:?}");
        }
    }

    #[test]
    fn payload_length_ignores_trailer_and_snaplen() {
        let frame = tcp_v4(&[]);
        let full = tcp_v4(&[1; 100]);
        let wire = full.len() as u32;
        let cases = [
            (
                "ethernet trailer",
                [frame.clone(), vec![0xaa; 6]].concat(),
                frame.len() as u32 + 6,
                Some(0),
            ),
            ("cut after tcp header", full[..54].to_vec(), wire, Some(100)),
            ("cut inside tcp header", frame[..40].to_vec(), 54, None),
            ("cut inside ip header", frame[..20].to_vec(), 54, None),
        ];
        for (name, bytes, wire_len, want) in cases {
            let got = decode_with_len(LinkType::Ethernet, 1, Timestamp(0), &bytes, wire_len)
                .map(|s| s.payload_len);
            assert_eq!(got, want, "{name}");
        }
    }

    /// Issue 11, item 10: an IP length larger than the frame (65535 from
    /// segmentation offload, or a lie) is believed only as far as the frame
    /// on the wire reaches.
    #[test]
    fn ip_length_is_capped_by_the_wire_length() {
        let probe = with_ip_len(tcp_v4(&[]), 14, 65_535);
        let probe_v6 = with_ip_len(tcp_v6(&[]), 14, 65_535);
        let data = tcp_v4(&[1; 100]);
        let cut_data = with_ip_len(data.clone(), 14, 65_535)[..60].to_vec();
        let cases = [
            // Whole frames: the frame is all there was.
            ("ipv4 probe, whole", probe.clone(), probe.len() as u32, 0),
            (
                "ipv6 probe, whole",
                probe_v6.clone(),
                probe_v6.len() as u32,
                0,
            ),
            // Cut by the snaplen: the header is the source, up to the wire length.
            (
                "ipv4 data, cut",
                data[..60].to_vec(),
                data.len() as u32,
                100,
            ),
            ("ipv4 data, cut, lying", cut_data, data.len() as u32, 100),
        ];
        for (name, bytes, wire_len, want) in cases {
            let got = decode_with_len(LinkType::Ethernet, 1, Timestamp(0), &bytes, wire_len)
                .map(|s| s.payload_len);
            assert_eq!(got, Some(want), "{name}");
        }
        // `decode` takes the bytes it gets as the whole frame.
        let got = decode(LinkType::Ethernet, 1, Timestamp(0), &probe).map(|s| s.payload_len);
        assert_eq!(got, Some(0));
    }

    /// Issue 11, item 11: every tag up to three is part of the identity;
    /// a fourth makes the frame undecodable rather than merge it with others.
    #[test]
    fn up_to_three_vlan_tags_are_kept_and_more_are_refused() {
        let frame = tcp_v4(&[]);
        let ids = |tags: &[u16]| {
            decode(LinkType::Ethernet, 1, Timestamp(0), &tagged(&frame, tags))
                .map(|s| s.vlan.ids().to_vec())
        };
        assert_eq!(ids(&[10, 20]), Some(vec![10, 20]));
        assert_eq!(ids(&[10, 20, 30]), Some(vec![10, 20, 30]));
        assert_eq!(ids(&[10, 20, 30, 40]), None);
        // Through the general path too (an IPv6 extension header sends it there).
        let b = PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv6(
                [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
                64,
            )
            .tcp(1, 2, 3, 4);
        let mut v6 = Vec::new();
        b.write(&mut v6, &[]).unwrap();
        // Hop-by-hop header (8 bytes, PadN) between IPv6 and TCP.
        v6[14 + 6] = 0;
        v6.splice(54..54, [6, 0, 1, 4, 0, 0, 0, 0]);
        v6[18..20].copy_from_slice(&28u16.to_be_bytes());
        let three = tagged(&v6, &[10, 20, 30]);
        assert!(fast::decode(LinkType::Ethernet, 1, Timestamp(0), &three, 0).is_none());
        let lax =
            decode(LinkType::Ethernet, 1, Timestamp(0), &three).map(|s| s.vlan.ids().to_vec());
        assert_eq!(lax, Some(vec![10, 20, 30]));
        assert_eq!(
            decode(
                LinkType::Ethernet,
                1,
                Timestamp(0),
                &tagged(&v6, &[1, 2, 3, 4])
            ),
            None
        );
    }

    #[test]
    fn decodes_ipv6_raw_and_cooked() {
        let b = PacketBuilder::ipv6(
            [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
            64,
        )
        .tcp(1, 2, 3, 4);
        let mut ip = Vec::new();
        b.write(&mut ip, &[]).unwrap();
        let mut sll2 = vec![0x86, 0xdd];
        sll2.resize(20, 0);
        sll2.extend_from_slice(&ip);
        let mut sll = vec![0; 14];
        sll.extend_from_slice(&[0x86, 0xdd]);
        sll.extend_from_slice(&ip);
        let mut null = 30u32.to_le_bytes().to_vec();
        null.extend_from_slice(&ip);
        for (name, link, bytes) in [
            ("raw", LinkType::RawIp, ip.clone()),
            ("sll2", LinkType::LinuxSll2, sll2),
            ("sll", LinkType::LinuxSll, sll),
            ("null", LinkType::Null, null),
        ] {
            let s = decode(link, 1, Timestamp(0), &bytes).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(s.src.to_string(), "[2001:db8::1]:1", "{name}");
        }
    }

    #[test]
    fn vlan_tags_are_kept_outermost_first() {
        let b = PacketBuilder::ethernet2([1; 6], [2; 6])
            .double_vlan(10.try_into().unwrap(), 20.try_into().unwrap())
            .ipv4([198, 18, 0, 1], [198, 18, 0, 2], 64)
            .tcp(1, 2, 3, 4);
        let mut f = Vec::new();
        b.write(&mut f, &[]).unwrap();
        let s = decode(LinkType::Ethernet, 1, Timestamp(0), &f).unwrap();
        assert_eq!(s.vlan.ids(), &[10, 20]);
    }

    /// A priority tag (802.1p: VLAN id 0, no VLAN) is no part of a flow's
    /// identity: a host that priority-tags its frames and a peer that does
    /// not are one flow. It still counts towards the tags a frame may carry.
    #[test]
    fn priority_tags_are_no_vlan() {
        let b = PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([198, 18, 0, 1], [198, 18, 0, 2], 64)
            .tcp(1, 2, 3, 4);
        let mut plain = Vec::new();
        b.write(&mut plain, &[]).unwrap();
        for (ids, want) in [
            (&[0][..], Some(&[][..])),
            (&[100, 0], Some(&[100][..])),
            (&[0, 100], Some(&[100][..])),
            (&[0, 0, 0], Some(&[][..])),
            (&[0, 0, 0, 0], None),
        ] {
            let f = tagged(&plain, ids);
            let fast = fast::decode(LinkType::Ethernet, 1, Timestamp(0), &f, 0);
            let lax = decode_lax(LinkType::Ethernet, 1, Timestamp(0), &f, 0);
            assert_eq!(fast, lax, "{ids:?}");
            assert_eq!(fast.as_ref().map(|s| s.vlan.ids()), want, "{ids:?}");
        }
    }

    proptest::proptest! {
        /// The direct path and etherparse's lax slicer agree on every frame the
        /// direct path takes: any tags (up to one more than are kept),
        /// versions, options, payloads, lying IP lengths, and cuts by the
        /// snaplen (the wire length kept).
        #[test]
        fn fast_path_agrees_with_etherparse(
            v6 in proptest::bool::ANY,
            tags in 0usize..=Vlan::MAX_TAGS + 1,
            seq in proptest::num::u32::ANY,
            ack in proptest::num::u32::ANY,
            window in proptest::num::u16::ANY,
            flags in 0u8..32,
            payload in proptest::collection::vec(proptest::num::u8::ANY, 0..40),
            sack in proptest::bool::ANY,
            trailer in 0usize..8,
            ip_len in proptest::option::of(proptest::num::u16::ANY),
            cut in proptest::option::of(0usize..120),
        ) {
            let ip = PacketBuilder::ethernet2([1; 6], [2; 6]);
            let ip = if v6 {
                ip.ipv6([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], 64)
            } else {
                ip.ipv4([198, 18, 0, 1], [198, 18, 0, 2], 64)
            };
            let mut tcp = ip.tcp(40000, 5000, seq, window);
            if flags & 0x10 != 0 { tcp = tcp.ack(ack); }
            if flags & 0x01 != 0 { tcp = tcp.fin(); }
            if flags & 0x02 != 0 { tcp = tcp.syn(); }
            if flags & 0x04 != 0 { tcp = tcp.rst(); }
            if flags & 0x08 != 0 { tcp = tcp.psh(); }
            if sack {
                let block = (seq.wrapping_sub(1), seq);
                tcp = tcp.options(&[
                    etherparse::TcpOptionElement::Noop,
                    etherparse::TcpOptionElement::Noop,
                    etherparse::TcpOptionElement::SelectiveAcknowledgement(block, [None, None, None]),
                ]).unwrap();
            }
            let mut frame = Vec::new();
            tcp.write(&mut frame, &payload).unwrap();
            if let Some(len) = ip_len {
                frame = with_ip_len(frame, 14, len);
            }
            // VLAN tags go between the MAC addresses and the ether type.
            let ids: Vec<u16> = (0..tags as u16).map(|i| 10 + i).collect();
            let mut frame = tagged(&frame, &ids);
            frame.extend(std::iter::repeat_n(0xee, trailer));
            let wire_len = frame.len();
            let whole = frame.clone();
            if let Some(c) = cut { frame.truncate(c); }
            let cut = wire_len - frame.len();
            let fast = fast::decode(LinkType::Ethernet, 1, Timestamp(0), &frame, cut);
            let lax = decode_lax(LinkType::Ethernet, 1, Timestamp(0), &frame, cut);
            // The payload's bytes on the wire (the trailer too, when a lying
            // IP length claims it), and where they start.
            let on_wire: Vec<u8> = payload.iter().copied().chain(std::iter::repeat_n(0xee, trailer)).collect();
            let payload_at = 14 + 4 * tags + if v6 { 40 } else { 20 } + if sack { 32 } else { 20 };
            match fast {
                // Options cut by the snaplen: etherparse takes no such
                // segment; the direct path reads the fixed header as the
                // whole frame gives it, with no SACK and no payload.
                Some(f) if frame.len() < payload_at => {
                    let w = fast::decode(LinkType::Ethernet, 1, Timestamp(0), &whole, 0).unwrap();
                    proptest::prop_assert_eq!(f, Segment { sack: None, head: PayloadHead::EMPTY, ..w });
                }
                Some(f) => proptest::prop_assert_eq!(Some(f), lax),
                None => {}
            }
            for s in [fast, lax].into_iter().flatten() {
                proptest::prop_assert!(tags <= Vlan::MAX_TAGS, "{} tags decoded", tags);
                proptest::prop_assert_eq!(s.vlan.ids(), &ids[..]);
                // Never more payload than the wire held past the headers.
                proptest::prop_assert!(s.payload_len as usize + 54 + 4 * tags <= wire_len);
                // The head: the payload's first bytes, as far as they were
                // captured and no further than the payload's length.
                let captured = frame.len().saturating_sub(payload_at);
                let want = PayloadHead::MAX.min(s.payload_len as usize).min(captured);
                proptest::prop_assert_eq!(s.head.as_bytes(), &on_wire[..want]);
            }
            // Raw IP: the same frame without its link layer.
            let raw = &frame[(14 + 4 * tags).min(frame.len())..];
            if let Some(f) = fast::decode(LinkType::RawIp, 1, Timestamp(0), raw, cut) {
                if frame.len() < payload_at {
                    let w = fast::decode(LinkType::RawIp, 1, Timestamp(0), &whole[14 + 4 * tags..], 0).unwrap();
                    proptest::prop_assert_eq!(f, Segment { sack: None, head: PayloadHead::EMPTY, ..w });
                } else {
                    let mut lax = decode_lax(LinkType::RawIp, 1, Timestamp(0), raw, cut).unwrap();
                    lax.vlan = f.vlan;
                    proptest::prop_assert_eq!(f, lax);
                }
            }
        }
    }

    #[test]
    fn unknown_dlt_is_refused() {
        assert_eq!(LinkType::from_dlt(105), None);
        assert_eq!(LinkType::from_dlt(276), Some(LinkType::LinuxSll2));
    }
}
