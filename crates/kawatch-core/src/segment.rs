//! The one parsed form of a packet the core looks at: a small validated TCP
//! [`Segment`]. The classifier never sees bytes.

use crate::seq::SeqNumber;
use crate::time::Timestamp;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;

/// One end of a connection: address and port.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Endpoint {
    /// IPv4 or IPv6 address.
    pub ip: IpAddr,
    /// TCP port.
    pub port: u16,
}

impl Endpoint {
    /// An endpoint from an address and a port.
    pub fn new(ip: IpAddr, port: u16) -> Endpoint {
        Endpoint { ip, port }
    }
}

impl fmt::Display for Endpoint {
    /// `ip:port`, IPv6 as `[ip]:port`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            IpAddr::V4(ip) => write!(f, "{ip}:{}", self.port),
            IpAddr::V6(ip) => write!(f, "[{ip}]:{}", self.port),
        }
    }
}

/// An endpoint that is not `ip:port` (`[ip]:port` for IPv6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadEndpoint(pub String);

impl fmt::Display for BadEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not ip:port ([ip]:port for IPv6)", self.0)
    }
}

impl std::error::Error for BadEndpoint {}

impl std::str::FromStr for Endpoint {
    type Err = BadEndpoint;

    /// `198.18.0.1:40000` or `[2001:db8::1]:40000`, as [`Endpoint`]'s
    /// `Display` writes it.
    fn from_str(s: &str) -> Result<Endpoint, BadEndpoint> {
        let addr: std::net::SocketAddr = s.parse().map_err(|_| BadEndpoint(s.to_string()))?;
        Ok(Endpoint::new(addr.ip(), addr.port()))
    }
}

/// As the report contract writes it: a string, `ip:port`.
#[cfg(feature = "serde")]
impl serde::Serialize for Endpoint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Endpoint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Endpoint, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "serde")]
impl schemars::JsonSchema for Endpoint {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Endpoint".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "ip:port, IPv6 as [ip]:port",
            "examples": ["198.18.0.1:40000", "[2001:db8::1]:40000"]
        })
    }
}

/// A frame's VLAN ids (802.1ad / 802.1Q tags), outermost first: up to
/// [`Vlan::MAX_TAGS`].
///
/// Part of a flow's identity: the same 4-tuple on two VLANs is two flows, and
/// so is the same 4-tuple under two and under three tags. A frame with more
/// tags than kept is not decoded (etherparse, which slices the general path,
/// stops at three link extensions too), so no tag is ever dropped from an
/// identity. A priority tag (VLAN id 0: 802.1p priority, no VLAN, as IEEE
/// 802.1Q defines it) is no part of one: a host that tags its frames with a
/// priority and a peer that does not are one flow ([`Vlan::push_tag`]).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Default)]
pub struct Vlan {
    ids: [u16; Vlan::MAX_TAGS],
    len: u8,
}

impl Vlan {
    /// The most tags a frame may carry and still be decoded: QinQ's two, and
    /// one more for provider networks that stack a third.
    pub const MAX_TAGS: usize = 3;

    /// No tags.
    pub const NONE: Vlan = Vlan {
        ids: [0; Vlan::MAX_TAGS],
        len: 0,
    };

    /// Adds a tag (inner after outer). Returns `false`, keeping the tags as
    /// they were, when [`Vlan::MAX_TAGS`] are held already.
    pub fn push(&mut self, id: u16) -> bool {
        if (self.len as usize) < self.ids.len() {
            self.ids[self.len as usize] = id;
            self.len += 1;
            true
        } else {
            false
        }
    }

    /// Adds a frame's tag (inner after outer) as a flow's identity holds it:
    /// a priority tag (id 0) adds nothing. Returns [`Vlan::push`]'s `false`
    /// when [`Vlan::MAX_TAGS`] are held already.
    #[inline]
    pub fn push_tag(&mut self, id: u16) -> bool {
        id == 0 || self.push(id)
    }

    /// The ids, outermost first.
    pub fn ids(&self) -> &[u16] {
        &self.ids[..self.len as usize]
    }
}

impl Vlan {
    /// The ids and the count in one word, for hashing.
    #[inline]
    pub(crate) fn word(&self) -> u64 {
        self.ids
            .iter()
            .fold(u64::from(self.len), |w, &id| w << 16 | u64::from(id))
    }

    /// The tags whose [`Vlan::word`] is `w`.
    #[inline]
    pub(crate) fn from_word(w: u64) -> Vlan {
        Vlan {
            ids: [(w >> 32) as u16, (w >> 16) as u16, w as u16],
            len: (w >> 48) as u8,
        }
    }
}

impl Hash for Vlan {
    /// One word for the flow table's hasher: the ids and the count.
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.word());
    }
}

/// TCP flags the core cares about.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// FIN
    pub const FIN: u8 = 0x01;
    /// SYN
    pub const SYN: u8 = 0x02;
    /// RST
    pub const RST: u8 = 0x04;
    /// PSH
    pub const PSH: u8 = 0x08;
    /// ACK
    pub const ACK: u8 = 0x10;

    /// Whether every bit of `mask` is set.
    #[inline]
    pub fn has(self, mask: u8) -> bool {
        self.0 & mask == mask
    }
    /// SYN set.
    #[inline]
    pub fn syn(self) -> bool {
        self.has(Self::SYN)
    }
    /// FIN set.
    #[inline]
    pub fn fin(self) -> bool {
        self.has(Self::FIN)
    }
    /// RST set.
    #[inline]
    pub fn rst(self) -> bool {
        self.has(Self::RST)
    }
    /// ACK set.
    #[inline]
    pub fn ack(self) -> bool {
        self.has(Self::ACK)
    }
}

impl fmt::Debug for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (Self::SYN, "S"),
            (Self::FIN, "F"),
            (Self::RST, "R"),
            (Self::PSH, "P"),
            (Self::ACK, "."),
        ];
        for (bit, name) in names {
            if self.has(bit) {
                f.write_str(name)?;
            }
        }
        Ok(())
    }
}

/// A decoded TCP segment: everything the core needs, nothing more.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Segment {
    /// 1-based position of the frame in its capture, as Wireshark numbers it.
    pub frame: u64,
    /// Capture timestamp.
    pub ts: Timestamp,
    /// Sender.
    pub src: Endpoint,
    /// Receiver.
    pub dst: Endpoint,
    /// VLAN tags the frame carried.
    pub vlan: Vlan,
    /// Sequence number.
    pub seq: SeqNumber,
    /// Acknowledgment number (meaningful when ACK is set).
    pub ack: SeqNumber,
    /// Flags.
    pub flags: TcpFlags,
    /// Advertised window, unscaled (only zero / non-zero matters here).
    pub window: u16,
    /// Payload length from the IP length fields, capped at what the frame
    /// held on the wire (never the captured length alone: see [`crate::decode`]).
    pub payload_len: u32,
    /// First SACK block, if any (a D-SACK when it lies below `ack`).
    pub sack: Option<(SeqNumber, SeqNumber)>,
    /// The payload's first bytes, as far as they were captured (up to
    /// [`PayloadHead::MAX`]): what names an application heartbeat's protocol.
    pub head: PayloadHead,
    /// The IPv4 header's identification (0 for IPv6). With `tsval`, what
    /// tells two sendings of one segment (a retransmission, a second
    /// duplicate ACK) from two captures of one sending, which share them.
    pub ip_id: u16,
    /// The TCP timestamp option's value (TSval), 0 without the option.
    pub tsval: u32,
}

impl Segment {
    /// Sequence space the segment occupies: payload plus SYN and FIN.
    #[inline]
    pub fn seq_len(&self) -> u32 {
        // (Wrapping, as sequence space does: a segment made by hand may
        // claim any length.)
        self.payload_len
            .wrapping_add(u32::from(self.flags.syn()))
            .wrapping_add(u32::from(self.flags.fin()))
    }
}

/// The first bytes of a segment's payload, as far as they were captured: at
/// most [`PayloadHead::MAX`], never past the payload's length (an Ethernet
/// trailer is no payload). Fixed-size, so a [`Segment`] stays `Copy` and
/// decoding allocates nothing.
///
/// Sixteen bytes hold every heartbeat's tell-tale: an HTTP/2 frame header
/// (9 bytes), a WebSocket header with its mask (6), an MQTT fixed header
/// (2), an AMQP heartbeat frame (8), Redis's `*1\r\n$4\r\nPING\r\n` (14), a
/// TLS record header (5) and an SSH banner's `SSH-2.0-` (8). A live capture
/// keeps 256 bytes of each frame, so they are there.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PayloadHead {
    bytes: [u8; PayloadHead::MAX],
    len: u8,
}

impl PayloadHead {
    /// The most bytes kept.
    pub const MAX: usize = 16;

    /// No bytes (no payload, or none of it captured).
    pub const EMPTY: PayloadHead = PayloadHead {
        bytes: [0; PayloadHead::MAX],
        len: 0,
    };

    /// The first [`PayloadHead::MAX`] bytes of `payload` (all of them when fewer).
    #[inline]
    pub fn new(payload: &[u8]) -> PayloadHead {
        let n = payload.len().min(Self::MAX);
        let mut bytes = [0; Self::MAX];
        // (A copy of a size known here when the payload is long enough,
        // none when there is none: a call to `memcpy` only for the rest.)
        match payload.first_chunk::<{ Self::MAX }>() {
            Some(head) => bytes = *head,
            None if n > 0 => bytes[..n].copy_from_slice(&payload[..n]),
            None => {}
        }
        PayloadHead {
            bytes,
            len: n as u8,
        }
    }

    /// The bytes kept.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    /// How many bytes are kept.
    #[inline]
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether no byte is kept.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Debug for PayloadHead {
    /// The bytes in hex, as `[c0 00]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, b) in self.as_bytes().iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{b:02x}")?;
        }
        f.write_str("]")
    }
}

/// Tests' segment: a bare ACK from `src` to `dst` (sequence and
/// acknowledgment 1, window 1000, untagged, at time 0); a test changes
/// what it needs with struct update syntax.
#[cfg(test)]
impl Segment {
    pub(crate) fn test_ack(src: Endpoint, dst: Endpoint) -> Segment {
        Segment {
            frame: 1,
            ts: Timestamp(0),
            src,
            dst,
            vlan: Vlan::NONE,
            seq: SeqNumber(1),
            ack: SeqNumber(1),
            flags: TcpFlags(TcpFlags::ACK),
            window: 1000,
            payload_len: 0,
            sack: None,
            head: PayloadHead::EMPTY,
            ip_id: 0,
            tsval: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_head_keeps_at_most_sixteen_bytes() {
        assert_eq!(PayloadHead::new(&[]).as_bytes(), &[] as &[u8]);
        assert_eq!(PayloadHead::new(&[0xc0, 0]).as_bytes(), &[0xc0, 0]);
        let long: Vec<u8> = (1..=40).collect();
        assert_eq!(PayloadHead::new(&long).as_bytes(), &long[..16]);
        // Every length either side of the kept sixteen: the bytes there
        // are, and zeros past them (heads compare whole).
        for n in 0..=17 {
            let head = PayloadHead::new(&long[..n]);
            assert_eq!(head.as_bytes(), &long[..n.min(16)], "{n} bytes");
            let mut want = PayloadHead::EMPTY;
            want.bytes[..n.min(16)].copy_from_slice(&long[..n.min(16)]);
            want.len = n.min(16) as u8;
            assert_eq!(head, want, "{n} bytes");
        }
        assert_eq!(format!("{:?}", PayloadHead::new(&[0xc0, 0])), "[c0 00]");
        assert!(
            std::mem::size_of::<Segment>() <= 128,
            "{}",
            std::mem::size_of::<Segment>()
        );
    }
}
