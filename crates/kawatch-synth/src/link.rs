//! Link layers: the LINKTYPE_ of a file, and the header each one puts
//! around a scripted conversation's IP packets.

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
    /// Any other LINKTYPE_ number: frames are written as given (a
    /// conversation cannot be put under it).
    Other(u16),
}

impl LinkType {
    /// The LINKTYPE_ number files carry.
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
            LinkType::Other(code) => code,
        }
    }

    /// The link type with LINKTYPE_ number `code` ([`LinkType::Other`] if
    /// none of the others).
    pub fn from_code(code: u16) -> LinkType {
        [
            LinkType::Ethernet,
            LinkType::LinuxSll,
            LinkType::LinuxSll2,
            LinkType::Null,
            LinkType::Loop,
            LinkType::Raw,
            LinkType::Ipv4,
            LinkType::Ipv6,
        ]
        .into_iter()
        .find(|l| l.code() == code)
        .unwrap_or(LinkType::Other(code))
    }

    /// The frame of `p` under this link layer. On Ethernet, frames shorter
    /// than the 60-byte minimum are padded with `pad` (if given), then
    /// `trailer` follows the frame.
    pub(crate) fn frame(self, p: &Headers<'_>, pad: Option<u8>, trailer: &[u8]) -> Vec<u8> {
        let version = p.ip[0] >> 4;
        let ethertype: u16 = if version == 4 { 0x0800 } else { 0x86dd };
        let mut f = Vec::with_capacity(p.ip.len() + 40);
        match self {
            LinkType::Ethernet => {
                f.extend_from_slice(&p.dst_mac);
                f.extend_from_slice(&p.src_mac);
                for tag in p.vlan {
                    f.extend_from_slice(&tag.tpid.to_be_bytes());
                    f.extend_from_slice(&tag.id.to_be_bytes()); // PCP 0, DEI 0
                }
                f.extend_from_slice(&ethertype.to_be_bytes());
                f.extend_from_slice(p.ip);
                if let Some(pad) = pad {
                    f.resize(f.len().max(60), pad);
                }
                f.extend_from_slice(trailer);
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
            LinkType::Other(code) => {
                panic!("LINKTYPE {code}: no way to put an IP packet under it")
            }
        }
        assert!(p.vlan.is_empty(), "VLAN tags need an Ethernet link layer");
        f.extend_from_slice(p.ip);
        f
    }
}

/// What a link layer needs of a packet to frame it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Headers<'a> {
    /// The IP packet.
    pub(crate) ip: &'a [u8],
    /// Sender's MAC.
    pub(crate) src_mac: [u8; 6],
    /// Receiver's MAC.
    pub(crate) dst_mac: [u8; 6],
    /// VLAN tags, outermost first.
    pub(crate) vlan: &'a [VlanTag],
    /// Sent by the capturing host (cooked captures record it).
    pub(crate) outgoing: bool,
}

/// One 802.1Q / 802.1ad tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VlanTag {
    /// Tag protocol identifier: 0x8100 (802.1Q) or 0x88a8 (802.1ad).
    pub tpid: u16,
    /// VLAN id (priority and DEI 0).
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
