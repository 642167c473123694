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
pub fn decode(link: LinkType, frame: u64, ts: Timestamp, data: &[u8]) -> Option<Segment> {
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

    #[test]
    fn unknown_dlt_is_refused() {
        assert_eq!(LinkType::from_dlt(105), None);
        assert_eq!(LinkType::from_dlt(276), Some(LinkType::LinuxSll2));
    }
}
