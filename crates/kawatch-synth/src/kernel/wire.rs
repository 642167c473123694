//! A flow's segments as frames: Ethernet (maybe VLAN-tagged), IPv4 or IPv6,
//! TCP with the options the handshake agreed on.

use std::net::{IpAddr, Ipv4Addr};

use etherparse::{
    IpHeaders, IpNumber, Ipv4Header, PacketBuilder, PacketBuilderStep, TcpOptionElement,
};

use super::{Pkt, ACK, FIN, PSH, RST, SYN, WSCALE};

const ZEROS: [u8; 1500] = [0; 1500];

/// How a flow's segments look on the wire.
pub(super) struct Wire {
    pub(super) vlan: Option<u16>,
    /// Client, then server.
    pub(super) ip: [IpAddr; 2],
    pub(super) port: [u16; 2],
    pub(super) mac: [[u8; 6]; 2],
    /// TCP timestamps and SACK negotiated.
    pub(super) ts_on: bool,
    pub(super) sack_on: bool,
    /// Largest payload of a segment.
    pub(super) mss: u32,
}

impl Wire {
    /// The frame of `p` into `buf`.
    pub(super) fn build(&self, p: &Pkt, buf: &mut Vec<u8>) {
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
}
