//! BPF filters on the frames of kawatch's own file reader, exactly as
//! libpcap applies them to a file it reads: a program compiled by libpcap for
//! the frame's link type, run by `pcap_offline_filter` over the captured
//! bytes with the frame's wire length (what `len`, `greater` and `less` see).
//!
//! libpcap compiles some expressions differently for a file than for a live
//! capture: on BSD loopback (`NULL`, `LOOP`) the address family is in the
//! writer's byte order and IPv6 has three values (24, 28, 30), and
//! `inbound`/`outbound` have no meaning on most link types. So a file's
//! program is compiled on a libpcap handle reading a file too: a pcap
//! header of the frame's link type in the file's byte order, in memory.

// pcap_offline_filter is called directly: the pcap crate's wrapper passes the
// captured length as the wire length, which `greater`/`less` would misread;
// the in-memory file for compiling is made with memfd_create(2).
#![allow(unsafe_code)]

use pcap::{BpfProgram, Capture, Linktype, Offline};
use std::io::{Seek, SeekFrom, Write};
use std::net::IpAddr;
use std::os::fd::{FromRawFd, IntoRawFd};

/// The packet header pcap_offline_filter reads (`struct pcap_pkthdr`).
#[repr(C)]
struct PktHdr {
    ts: libc::timeval,
    caplen: u32,
    len: u32,
}

extern "C" {
    // From libpcap, which the pcap crate links.
    fn pcap_offline_filter(
        prog: *const BpfProgram,
        h: *const PktHdr,
        pkt: *const u8,
    ) -> libc::c_int;
}

/// One filter expression, compiled for each link type it meets.
pub(crate) struct Filter {
    text: String,
    /// (DLT, how it was compiled, program), one per link type and byte
    /// order met so far.
    programs: Vec<(i32, Flavour, BpfProgram)>,
}

/// What a program is compiled for: libpcap's code differs (see above).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavour {
    /// A live capture's frames.
    Live,
    /// A file's, written in this byte order (`true`: big-endian).
    File { big_endian: bool },
}

impl Filter {
    /// The expression `text`, not yet compiled.
    pub(crate) fn new(text: &str) -> Filter {
        Filter {
            text: text.to_string(),
            programs: Vec::new(),
        }
    }

    /// The expression.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Compiles the expression for link type `dlt` (once), as libpcap
    /// compiles it for `flavour`'s frames; the index of its program for
    /// [`Filter::matches`], or libpcap's reason it does not compile.
    pub(crate) fn program(&mut self, dlt: i32, flavour: Flavour) -> Result<usize, String> {
        if let Some(i) = self
            .programs
            .iter()
            .position(|(d, f, _)| (*d, *f) == (dlt, flavour))
        {
            return Ok(i);
        }
        let reason = |e: pcap::Error| match e {
            pcap::Error::PcapError(reason) => reason,
            e => e.to_string(),
        };
        let prog = match flavour {
            Flavour::File { big_endian } => match savefile(dlt, big_endian) {
                Some(file) => file.compile(&self.text, true),
                // (No in-memory file here: compiled as for a live capture.)
                None => Capture::dead(Linktype(dlt))
                    .map_err(reason)?
                    .compile(&self.text, true),
            },
            Flavour::Live => Capture::dead(Linktype(dlt))
                .map_err(reason)?
                .compile(&self.text, true),
        }
        .map_err(reason)?;
        self.programs.push((dlt, flavour, prog));
        Ok(self.programs.len() - 1)
    }

    /// Whether program `i` accepts a frame of `data` captured from
    /// `wire_len` bytes on the wire.
    pub(crate) fn matches(&self, i: usize, data: &[u8], wire_len: u32) -> bool {
        let hdr = PktHdr {
            ts: libc::timeval {
                tv_sec: 0,
                tv_usec: 0,
            },
            caplen: u32::try_from(data.len()).unwrap_or(u32::MAX),
            len: wire_len,
        };
        // SAFETY: BpfProgram is a transparent wrapper of libpcap's
        // `struct bpf_program`, alive while `self` is; the header says how
        // many bytes of `data` may be read, and `data` has them.
        unsafe { pcap_offline_filter(&self.programs[i].2, &hdr, data.as_ptr()) > 0 }
    }
}

/// A libpcap handle reading a capture file of link type `dlt` written in
/// that byte order (its header only, in memory): what libpcap compiles a
/// file's filters on. `None` where no in-memory file can be made.
fn savefile(dlt: i32, big_endian: bool) -> Option<Capture<Offline>> {
    let linktype = u32::try_from(linktype_of_dlt(dlt)).ok()?;
    let word = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let half = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut header = Vec::with_capacity(24);
    header.extend_from_slice(&word(0xa1b2_c3d4));
    header.extend_from_slice(&half(2));
    header.extend_from_slice(&half(4));
    header.extend_from_slice(&[0; 8]); // thiszone, sigfigs
    header.extend_from_slice(&word(262_144));
    header.extend_from_slice(&word(linktype));
    // SAFETY: memfd_create takes a NUL-terminated name and flags; the
    // descriptor it returns is owned by the `File` made of it.
    let fd = unsafe { libc::memfd_create(c"kawatch-filter".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return None;
    }
    // SAFETY: `fd` is a new descriptor no one else owns.
    let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
    file.write_all(&header).ok()?;
    file.seek(SeekFrom::Start(0)).ok()?;
    // SAFETY: the handle takes the descriptor over (the `File` gives it up)
    // and closes it when dropped.
    unsafe { Capture::from_raw_fd(file.into_raw_fd()) }.ok()
}

/// A file's LINKTYPE_ value for libpcap's DLT_ (the inverse of
/// [`dlt_of_linktype`]).
fn linktype_of_dlt(dlt: i32) -> i32 {
    match dlt {
        12 | 14 => 101, // DLT_RAW (and OpenBSD's): LINKTYPE_RAW
        11 => 100,
        d => d,
    }
}

/// libpcap's DLT_ value for a file's LINKTYPE_ value (they differ only for a
/// few old types; of those kawatch decodes, raw IP).
pub(crate) fn dlt_of_linktype(link: u32) -> i32 {
    match link {
        101 => 12, // LINKTYPE_RAW: DLT_RAW
        100 => 11, // LINKTYPE_ATM_RFC1483
        l => i32::try_from(l).unwrap_or(i32::MAX),
    }
}

/// libpcap's name for a DLT (`EN10MB`), or `DLT n`.
pub(crate) fn dlt_name(dlt: i32) -> String {
    Linktype(dlt)
        .get_name()
        .unwrap_or_else(|_| format!("DLT {dlt}"))
}

/// The sockets a capture's filter leaves out, by (local, remote): they make
/// no flow of their own, but a flow the wire shows still finds its socket
/// among them.
pub type LeftOut = std::collections::HashSet<(kawatch_core::Endpoint, kawatch_core::Endpoint)>;

/// Which of this box's sockets a live capture sees: those whose packets
/// cross its interface ([`InterfaceScope`]) and pass its filter, in either
/// direction. For the filter, an empty ACK as Linux sends it (with
/// timestamps: 66 bytes for IPv4) on Ethernet with no MAC addresses and no
/// VLAN tag stands for the connection, so filters on addresses, ports,
/// protocols and lengths decide as they would on the wire; those on the
/// link layer (`ether host`, `vlan`) decide as on loopback, whose frames
/// have zero MAC addresses.
#[derive(Default)]
pub struct SocketFilter {
    /// The capture's filter, compiled for Ethernet.
    filter: Option<Filter>,
    /// Where the capture's interface sees packets.
    scope: Option<InterfaceScope>,
}

impl SocketFilter {
    /// `text` compiled for Ethernet; `None` when it does not compile there
    /// (a filter for another link type's headers): then it decides nothing.
    pub fn new(text: &str) -> Option<SocketFilter> {
        let mut filter = Filter::new(text);
        filter.program(1, Flavour::Live).ok()?; // DLT_EN10MB
        Some(SocketFilter {
            filter: Some(filter),
            scope: None,
        })
    }

    /// A live capture's: its filter (as [`SocketFilter::new`]) and its
    /// interface's scope ([`InterfaceScope::of`]); either may decide
    /// nothing.
    pub fn for_capture(filter: Option<&str>, interface: Option<&str>) -> SocketFilter {
        SocketFilter {
            scope: interface.and_then(InterfaceScope::of),
            ..filter.and_then(SocketFilter::new).unwrap_or_default()
        }
    }

    /// Whether the capture sees packets of the connection from `local` to
    /// `remote`, or back.
    pub fn admits(&self, local: kawatch_core::Endpoint, remote: kawatch_core::Endpoint) -> bool {
        let crosses = self.scope.as_ref().is_none_or(|s| s.sees(remote));
        crosses
            && self.filter.as_ref().is_none_or(|filter| {
                [(local, remote), (remote, local)]
                    .into_iter()
                    .any(|(from, to)| {
                        let frame = empty_ack(from, to);
                        filter.matches(0, &frame, frame.len() as u32)
                    })
            })
    }

    /// Those of `sockets` the filter leaves out.
    pub fn left_out(&self, sockets: &[kawatch_core::LocalSocket]) -> LeftOut {
        sockets
            .iter()
            .filter(|s| !self.admits(s.local, s.remote))
            .map(|s| (s.local, s.remote))
            .collect()
    }
}

/// Which connections' packets cross a live capture's interface: Linux
/// sends a packet to one of the box's own addresses over loopback, and
/// every other over another interface. So a capture on loopback sees the
/// connections between two of the box's addresses, and one on any other
/// interface (but `any`) sees none of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceScope {
    /// The interface is a loopback one.
    pub loopback: bool,
    /// The box's addresses (in the capture's network namespace).
    pub local: std::collections::HashSet<IpAddr>,
}

impl InterfaceScope {
    /// Capturing on `interface`: its flags and every interface's addresses,
    /// from libpcap's list; `None` for `any` and an interface not listed
    /// (then it decides nothing).
    pub fn of(interface: &str) -> Option<InterfaceScope> {
        if interface == "any" {
            return None;
        }
        let devices = pcap::Device::list().ok()?;
        let loopback = devices
            .iter()
            .find(|d| d.name == interface)?
            .flags
            .is_loopback();
        let local = devices
            .iter()
            .flat_map(|d| &d.addresses)
            .map(|a| canonical(a.addr))
            .collect();
        Some(InterfaceScope { loopback, local })
    }

    /// Whether packets to and from `remote` cross the interface.
    pub fn sees(&self, remote: kawatch_core::Endpoint) -> bool {
        let ip = canonical(remote.ip);
        let to_self = ip.is_loopback() || self.local.contains(&ip);
        to_self == self.loopback
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 one.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// An Ethernet frame holding a TCP empty ACK from `from` to `to` (IPv4 when
/// both are IPv4 addresses, else IPv6).
fn empty_ack(from: kawatch_core::Endpoint, to: kawatch_core::Endpoint) -> Vec<u8> {
    let mut f = vec![0u8; 12]; // destination and source MAC
    match (from.ip, to.ip) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            f.extend_from_slice(&[0x08, 0x00]);
            // Version 4, 20 bytes; total length 52; TTL 64; TCP.
            f.extend_from_slice(&[0x45, 0, 0, 52, 0, 0, 0x40, 0, 64, 6, 0, 0]);
            f.extend_from_slice(&s.octets());
            f.extend_from_slice(&d.octets());
        }
        (s, d) => {
            let v6 = |ip: IpAddr| match ip {
                IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                IpAddr::V6(v6) => v6,
            };
            f.extend_from_slice(&[0x86, 0xdd]);
            // Version 6; payload length 32; next header TCP; hop limit 64.
            f.extend_from_slice(&[0x60, 0, 0, 0, 0, 32, 6, 64]);
            f.extend_from_slice(&v6(s).octets());
            f.extend_from_slice(&v6(d).octets());
        }
    }
    f.extend_from_slice(&from.port.to_be_bytes());
    f.extend_from_slice(&to.port.to_be_bytes());
    // Sequence and acknowledgment numbers; a 32-byte header; ACK; a window;
    // then the timestamps Linux puts on every segment (NOP, NOP, TS), so
    // that lengths (`less`, `greater`, `len`) see a real empty ACK's.
    f.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 0x80, 0x10, 0xff, 0xff, 0, 0, 0, 0]);
    f.extend_from_slice(&[1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 1]);
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use kawatch_core::Endpoint;

    fn ep(s: &str) -> Endpoint {
        let a: std::net::SocketAddr = s.parse().unwrap();
        Endpoint::new(a.ip(), a.port())
    }

    /// Filters decide a socket as they would its connection's packets.
    #[test]
    fn a_socket_passes_as_its_packets_would() {
        let v4 = (ep("127.0.0.1:43008"), ep("127.0.0.1:7301"));
        let v6 = (ep("[2001:db8::1]:43008"), ep("[2001:db8::2]:443"));
        let cases = [
            ("tcp port 7301", v4, true),
            ("tcp port 9", v4, false),
            ("port 43008", v4, true),
            ("dst port 7301", v4, true), // the local end's packets
            ("src port 7301", v4, true), // the peer's packets
            ("udp", v4, false),
            ("host 127.0.0.1 and tcp", v4, true),
            ("net 198.18.0.0/15", v4, false),
            ("ip6", v4, false),
            ("tcp port 443", v6, true),
            ("ip6 host 2001:db8::2", v6, true),
            ("ip", v6, false),
            ("tcp[tcpflags] & tcp-syn != 0", v4, false),
            ("ether host 00:11:22:33:44:55", v4, false),
            ("less 60", v4, false),
            ("greater 60 and port 7301", v4, true),
            ("len == 66", v4, true),
            ("len == 86", v6, true),
        ];
        for (text, (local, remote), want) in cases {
            let f = SocketFilter::new(text).expect(text);
            assert_eq!(f.admits(local, remote), want, "{text}");
        }
        assert!(SocketFilter::new("no such filter").is_none());
    }

    /// A capture on loopback sees the connections between the box's own
    /// addresses; one on another interface sees the others.
    #[test]
    fn an_interface_sees_the_connections_that_cross_it() {
        let local: std::collections::HashSet<IpAddr> = ["198.18.10.2", "2001:db8:10::2"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        let (lo, veth) = (
            InterfaceScope {
                loopback: true,
                local: local.clone(),
            },
            InterfaceScope {
                loopback: false,
                local,
            },
        );
        let cases = [
            ("127.0.0.1:7301", true),
            ("127.0.0.53:53", true),
            ("[::1]:7301", true),
            ("[::ffff:127.0.0.1]:7301", true),
            ("198.18.10.2:7002", true), // the box's own address
            ("[::ffff:198.18.10.2]:7002", true),
            ("[2001:db8:10::2]:7002", true),
            ("198.18.10.1:7002", false), // the peer across the veth
            ("[2001:db8:10::1]:7002", false),
        ];
        for (remote, to_self) in cases {
            assert_eq!(lo.sees(ep(remote)), to_self, "lo: {remote}");
            assert_eq!(veth.sees(ep(remote)), !to_self, "veth: {remote}");
        }
        // Both decide: the interface, then the filter.
        let f = SocketFilter {
            scope: Some(lo),
            ..SocketFilter::new("tcp port 7301").unwrap()
        };
        assert!(f.admits(ep("127.0.0.1:43008"), ep("127.0.0.1:7301")));
        assert!(!f.admits(ep("127.0.0.1:43008"), ep("127.0.0.1:7302")));
        assert!(!f.admits(ep("198.18.10.2:43008"), ep("198.18.10.1:7301")));
        // This box's own loopback interface, found by name; `any` sees all.
        let mine = InterfaceScope::of("lo").expect("lo is listed");
        assert!(mine.loopback && mine.sees(ep("127.0.0.1:1")));
        assert!(InterfaceScope::of("any").is_none());
        assert!(InterfaceScope::of("no-such-interface0").is_none());
    }
}
