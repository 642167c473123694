//! BPF filters on the frames of kawatch's own file reader, exactly as
//! libpcap applies them to a file it reads: a program compiled by libpcap for
//! the frame's link type, run by `pcap_offline_filter` over the captured
//! bytes with the frame's wire length (what `len`, `greater` and `less` see).

// pcap_offline_filter is called directly: the pcap crate's wrapper passes the
// captured length as the wire length, which `greater`/`less` would misread.
#![allow(unsafe_code)]

use pcap::{BpfProgram, Capture, Linktype};

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
    /// (DLT, program), one per link type met so far.
    programs: Vec<(i32, BpfProgram)>,
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

    /// Compiles the expression for link type `dlt` (once); the index of its
    /// program for [`Filter::matches`], or libpcap's reason it does not
    /// compile.
    pub(crate) fn program(&mut self, dlt: i32) -> Result<usize, String> {
        if let Some(i) = self.programs.iter().position(|(d, _)| *d == dlt) {
            return Ok(i);
        }
        let dead = Capture::dead(Linktype(dlt)).map_err(|e| e.to_string())?;
        let prog = dead.compile(&self.text, true).map_err(|e| match e {
            pcap::Error::PcapError(reason) => reason,
            e => e.to_string(),
        })?;
        self.programs.push((dlt, prog));
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
        unsafe { pcap_offline_filter(&self.programs[i].1, &hdr, data.as_ptr()) > 0 }
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
