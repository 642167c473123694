//! Frame bytes to [`Segment`]: link layer, IPv4/IPv6, TCP header.
//!
//! Uses etherparse's lax slicing, so frames cut short by the snaplen still
//! decode as far as their TCP header reaches; the payload length comes from the
//! IP length fields, never from the captured length (Ethernet trailers and
//! snaplen cuts both lie about it).

use crate::segment::{Endpoint, Segment, TcpFlags, Vlan};
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
}

/// Decodes one frame. `None` when it is not a TCP segment whose header is
/// complete (other protocols, fragments, frames cut inside the TCP header).
///
/// The common shapes (Ethernet with up to two VLAN tags, or raw IP; IPv4
/// unfragmented or IPv6 without extension headers; a complete TCP header) take
/// a direct path; everything else goes through etherparse's lax slicer. Both
/// give the same answer (see the property test).
pub fn decode(link: LinkType, frame: u64, ts: Timestamp, data: &[u8]) -> Option<Segment> {
    match fast::decode(link, frame, ts, data) {
        Some(seg) => Some(seg),
        None => decode_lax(link, frame, ts, data),
    }
}

/// The general path: etherparse's lax slicing.
fn decode_lax(link: LinkType, frame: u64, ts: Timestamp, data: &[u8]) -> Option<Segment> {
    let sliced = match link {
        LinkType::Ethernet => LaxSlicedPacket::from_ethernet(data).ok()?,
        LinkType::LinuxSll => {
            let proto = u16::from_be_bytes([*data.get(14)?, *data.get(15)?]);
            LaxSlicedPacket::from_ether_type(EtherType(proto), data.get(16..)?)
        }
        LinkType::LinuxSll2 => {
            let proto = u16::from_be_bytes([*data.first()?, *data.get(1)?]);
            LaxSlicedPacket::from_ether_type(EtherType(proto), data.get(20..)?)
        }
        // The 4-byte family field's byte order depends on the capturing host;
        // the IP version nibble says the same thing unambiguously.
        LinkType::Null | LinkType::Loop => LaxSlicedPacket::from_ip(data.get(4..)?).ok()?,
        LinkType::RawIp => LaxSlicedPacket::from_ip(data).ok()?,
    };
    let Some(TransportSlice::Tcp(tcp)) = &sliced.transport else {
        return None;
    };
    let (src, dst, payload_len) = match sliced.net.as_ref()? {
        LaxNetSlice::Ipv4(ip) => {
            let h = ip.header();
            let ip_payload = if ip.payload().incomplete {
                (h.total_len() as usize).saturating_sub(h.ihl() as usize * 4)
            } else {
                ip.payload().payload.len()
            };
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                ip_payload,
            )
        }
        LaxNetSlice::Ipv6(ip) => {
            let h = ip.header();
            let ip_payload = if ip.payload().incomplete {
                (h.payload_length() as usize).saturating_sub(ip.extensions().slice().len())
            } else {
                ip.payload().payload.len()
            };
            (
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
                ip_payload,
            )
        }
        LaxNetSlice::Arp(_) => return None,
    };
    let header_len = tcp.header_slice().len();
    let mut vlan = Vlan::NONE;
    for ext in &sliced.link_exts {
        if let LaxLinkExtSlice::Vlan(tag) = ext {
            vlan.push(tag.vlan_identifier().value());
        }
    }
    let payload_len = payload_len.saturating_sub(header_len) as u32;
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
    })
}

fn flags(tcp: &TcpSlice<'_>) -> TcpFlags {
    // Byte 13 of the TCP header holds CWR ECE URG ACK PSH RST SYN FIN.
    TcpFlags(tcp.header_slice()[13] & 0x1f)
}

mod fast {
    //! The direct path for the shapes nearly every capture holds.

    use super::LinkType;
    use crate::segment::{Endpoint, Segment, TcpFlags, Vlan};
    use crate::seq::SeqNumber;
    use crate::time::Timestamp;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    fn be16(d: &[u8], at: usize) -> u16 {
        u16::from_be_bytes([d[at], d[at + 1]])
    }

    fn be32(d: &[u8], at: usize) -> u32 {
        u32::from_be_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]])
    }

    /// `None` when the frame is not of a shape this path handles.
    pub(super) fn decode(link: LinkType, frame: u64, ts: Timestamp, d: &[u8]) -> Option<Segment> {
        let mut vlan = Vlan::NONE;
        let (at, v6) = match link {
            LinkType::Ethernet => {
                let mut at = 12;
                let mut ether_type = be16(d.get(..14)?, 12);
                for _ in 0..2 {
                    if ether_type != 0x8100 && ether_type != 0x88a8 {
                        break;
                    }
                    d.get(at + 6)?;
                    vlan.push(be16(d, at + 2) & 0x0fff);
                    ether_type = be16(d, at + 4);
                    at += 4;
                }
                match ether_type {
                    0x0800 => (at + 2, false),
                    0x86dd => (at + 2, true),
                    _ => return None,
                }
            }
            LinkType::RawIp => (0, d.first()? >> 4 == 6),
            _ => return None,
        };
        let (src, dst, tcp_at, ip_payload) = if v6 { ipv6(d, at)? } else { ipv4(d, at)? };
        let tcp = d.get(tcp_at..tcp_at + 20)?;
        let header_len = (tcp[12] >> 4) as usize * 4;
        if header_len < 20 || d.len() < tcp_at + header_len {
            return None;
        }
        let payload_len = ip_payload.saturating_sub(header_len) as u32;
        let options = &d[tcp_at + 20..tcp_at + header_len];
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
        })
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

    #[test]
    fn common_frames_take_the_direct_path() {
        let cases = [
            ("plain", tcp_v4(&[0])),
            ("trailer", [tcp_v4(&[]), vec![0xaa; 6]].concat()),
            ("cut after the tcp header", tcp_v4(&[1; 100])[..54].to_vec()),
        ];
        for (name, frame) in cases {
            let fast = fast::decode(LinkType::Ethernet, 1, Timestamp(0), &frame);
            assert!(fast.is_some(), "{name}");
            assert_eq!(
                fast,
                decode_lax(LinkType::Ethernet, 1, Timestamp(0), &frame),
                "{name}"
            );
        }
    }

    #[test]
    fn payload_length_ignores_trailer_and_snaplen() {
        let frame = tcp_v4(&[]);
        let cases = [
            (
                "ethernet trailer",
                [frame.clone(), vec![0xaa; 6]].concat(),
                Some(0),
            ),
            (
                "cut after tcp header",
                tcp_v4(&[1; 100])[..54].to_vec(),
                Some(100),
            ),
            ("cut inside tcp header", frame[..40].to_vec(), None),
            ("cut inside ip header", frame[..20].to_vec(), None),
        ];
        for (name, bytes, want) in cases {
            let got = decode(LinkType::Ethernet, 1, Timestamp(0), &bytes).map(|s| s.payload_len);
            assert_eq!(got, want, "{name}");
        }
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

    proptest::proptest! {
        /// The direct path and etherparse's lax slicer agree on every frame the
        /// direct path takes: any tags, versions, options, payloads and cuts.
        #[test]
        fn fast_path_agrees_with_etherparse(
            v6 in proptest::bool::ANY,
            tags in 0usize..3,
            seq in proptest::num::u32::ANY,
            ack in proptest::num::u32::ANY,
            window in proptest::num::u16::ANY,
            flags in 0u8..32,
            payload in proptest::collection::vec(proptest::num::u8::ANY, 0..40),
            sack in proptest::bool::ANY,
            trailer in 0usize..8,
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
            // VLAN tags go between the MAC addresses and the ether type.
            let tag_bytes: &[u8] = &[0x88, 0xa8, 0x00, 10, 0x81, 0x00, 0x00, 20];
            let tag_bytes = &tag_bytes[8 - 4 * tags..];
            frame.splice(12..12, tag_bytes.iter().copied());
            frame.extend(std::iter::repeat_n(0xee, trailer));
            if let Some(c) = cut { frame.truncate(c); }
            let fast = fast::decode(LinkType::Ethernet, 1, Timestamp(0), &frame);
            if let Some(f) = fast {
                proptest::prop_assert_eq!(Some(f), decode_lax(LinkType::Ethernet, 1, Timestamp(0), &frame));
            }
            // Raw IP: the same frame without its link layer.
            let raw = &frame[(14 + 4 * tags).min(frame.len())..];
            if let Some(f) = fast::decode(LinkType::RawIp, 1, Timestamp(0), raw) {
                let mut lax = decode_lax(LinkType::RawIp, 1, Timestamp(0), raw).unwrap();
                lax.vlan = f.vlan;
                proptest::prop_assert_eq!(f, lax);
            }
        }
    }

    #[test]
    fn unknown_dlt_is_refused() {
        assert_eq!(LinkType::from_dlt(105), None);
        assert_eq!(LinkType::from_dlt(276), Some(LinkType::LinuxSll2));
    }
}
