//! The one capture-file writer: classic pcap (µs or ns) and pcapng, for any
//! link type, streaming.
//!
//! ```
//! use kawatch_synth::{Format, LinkType, Writer, T0};
//! let mut w = Writer::new(Vec::new(), Format::PcapNano, LinkType::Ethernet).snaplen(60);
//! w.write(T0, &[0u8; 80]).unwrap(); // recorded as 60 bytes of an 80-byte frame
//! let file = w.finish().unwrap();
//! assert_eq!(file.len(), 24 + 16 + 60);
//! ```
//!
//! Edge cases it writes on purpose: nanosecond pcap (magic `a1b23c4d`),
//! pcapng with an `if_tsresol` option, records cut to the snapshot length
//! (the original length kept, as `tcpdump -s` does), a file whose last
//! bytes are cut off mid-record ([`Writer::cut_tail`]), big-endian files
//! ([`Writer::big_endian`]), and pcapng files with several interfaces of
//! different link types and snapshot lengths ([`Writer::interface`]) and
//! several sections of different byte orders ([`Writer::section`]).

use std::io::{self, Write};

use kawatch_core::Timestamp;

use crate::link::LinkType;
use crate::time::NS;

/// libpcap's default snapshot length.
pub const DEFAULT_SNAPLEN: u32 = 262_144;

/// The file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Classic pcap, microsecond timestamps (magic a1b2c3d4).
    PcapMicro,
    /// Classic pcap, nanosecond timestamps (magic a1b23c4d).
    PcapNano,
    /// pcapng: one SHB, one IDB with `if_tsresol` = 10^-`tsresol` s, EPBs.
    Pcapng {
        /// Decimal digits of a second the timestamps hold (at most 9).
        tsresol: u8,
    },
}

impl Format {
    /// The file name extension: `pcap` or `pcapng`.
    pub fn extension(self) -> &'static str {
        match self {
            Format::PcapMicro | Format::PcapNano => "pcap",
            Format::Pcapng { .. } => "pcapng",
        }
    }

    /// Nanoseconds per timestamp unit.
    fn unit_ns(self) -> i128 {
        match self {
            Format::PcapMicro => 1000,
            Format::PcapNano => 1,
            Format::Pcapng { tsresol } => 10i128.pow(9 - u32::from(tsresol)),
        }
    }
}

/// Writes frames into a capture file as they come.
///
/// The file header goes out with the first record (or at
/// [`Writer::finish`], which an empty file needs too).
pub struct Writer<W: Write> {
    out: W,
    format: Format,
    link: LinkType,
    snaplen: u32,
    /// Bytes to drop from the end of the file.
    cut_tail: usize,
    /// The file's last bytes, held back while a tail is to be cut.
    held: Vec<u8>,
    /// Bytes of the file so far, held ones included.
    len: u64,
    started: bool,
    /// Every number in the file is big-endian (the current section's, in pcapng).
    big_endian: bool,
    /// pcapng: the interfaces declared, (link type, snapshot length); the
    /// first is the writer's own.
    interfaces: Vec<(LinkType, u32)>,
    /// One record, assembled before it goes out.
    scratch: Vec<u8>,
}

impl<W: Write> Writer<W> {
    /// A `format` file of `link` frames, snapshot length [`DEFAULT_SNAPLEN`].
    pub fn new(out: W, format: Format, link: LinkType) -> Writer<W> {
        if let Format::Pcapng { tsresol } = format {
            assert!(
                tsresol <= 9,
                "if_tsresol finer than 1 ns is not supported here"
            );
        }
        Writer {
            out,
            format,
            link,
            snaplen: DEFAULT_SNAPLEN,
            cut_tail: 0,
            held: Vec::new(),
            len: 0,
            started: false,
            big_endian: false,
            interfaces: Vec::new(),
            scratch: Vec::with_capacity(64),
        }
    }

    /// Every number in the file big-endian, as a big-endian machine writes
    /// it (the first section, in pcapng).
    pub fn big_endian(mut self) -> Writer<W> {
        assert!(!self.started, "set the byte order before writing");
        self.big_endian = true;
        self
    }

    /// pcapng: declares another interface, of link type `link` with
    /// snapshot length `snaplen`; returns its index for
    /// [`Writer::write_record_on`]. Interface 0 is the writer's own.
    pub fn interface(&mut self, link: LinkType, snaplen: u32) -> io::Result<u32> {
        assert!(
            matches!(self.format, Format::Pcapng { .. }),
            "only pcapng has several interfaces"
        );
        self.start()?;
        self.interfaces.push((link, snaplen));
        self.idb(link, snaplen)?;
        Ok(self.interfaces.len() as u32 - 1)
    }

    /// pcapng: starts a new section in the given byte order, declaring the
    /// same interfaces again, in the same order.
    pub fn section(&mut self, big_endian: bool) -> io::Result<()> {
        assert!(
            matches!(self.format, Format::Pcapng { .. }),
            "only pcapng has sections"
        );
        self.start()?;
        self.big_endian = big_endian;
        self.shb()?;
        for (link, snaplen) in self.interfaces.clone() {
            self.idb(link, snaplen)?;
        }
        Ok(())
    }

    /// Records longer than `snaplen` are cut to it; the file header says so.
    pub fn snaplen(mut self, snaplen: u32) -> Writer<W> {
        assert!(!self.started, "set the snapshot length before writing");
        self.snaplen = snaplen;
        self
    }

    /// Drops the last `bytes` of the file, so it ends mid-record.
    pub fn cut_tail(mut self, bytes: usize) -> Writer<W> {
        assert!(!self.started, "set the cut before writing");
        self.cut_tail = bytes;
        self
    }

    /// Writes one frame, cut to the snapshot length.
    pub fn write(&mut self, ts: Timestamp, frame: &[u8]) -> io::Result<()> {
        self.write_record(ts, frame, frame.len() as u32)
    }

    /// Writes a record of `captured` bytes from a frame that was `orig_len`
    /// bytes on the wire (`captured` is cut to the snapshot length too).
    ///
    /// Fails on a timestamp the format cannot hold, rather than rounding or
    /// wrapping it silently: digits finer than its unit, or a time outside
    /// its range (pcap: unsigned 32-bit seconds, 1970 to 2106; pcapng:
    /// unsigned 64-bit units from 1970, to 2554 in nanoseconds).
    pub fn write_record(
        &mut self,
        ts: Timestamp,
        captured: &[u8],
        orig_len: u32,
    ) -> io::Result<()> {
        self.write_record_on(0, ts, captured, orig_len)
    }

    /// As [`Writer::write_record`], on interface `iface` (pcapng; see
    /// [`Writer::interface`]), cut to that interface's snapshot length.
    pub fn write_record_on(
        &mut self,
        iface: u32,
        ts: Timestamp,
        captured: &[u8],
        orig_len: u32,
    ) -> io::Result<()> {
        self.start()?;
        let snaplen = match self.interfaces.get(iface as usize) {
            Some(&(_, snaplen)) => snaplen,
            None if iface == 0 => self.snaplen,
            None => panic!("interface {iface} was not declared"),
        };
        let data = &captured[..captured.len().min(snaplen as usize)];
        let unit = self.format.unit_ns();
        let ns = ts.0;
        let refuse = |what: &str| {
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("timestamp {ns} ns {what}"),
            ))
        };
        if ns.rem_euclid(unit) != 0 {
            return refuse("has digits this format cannot hold");
        }
        let units = ns.div_euclid(unit);
        match self.format {
            Format::PcapMicro | Format::PcapNano => {
                let per_sec = i128::from(NS) / unit;
                let Ok(secs) = u32::try_from(units.div_euclid(per_sec)) else {
                    return refuse("is outside pcap's unsigned 32-bit seconds");
                };
                let mut h = [0u8; 16];
                h[0..4].copy_from_slice(&self.u32b(secs));
                h[4..8].copy_from_slice(&self.u32b(units.rem_euclid(per_sec) as u32));
                h[8..12].copy_from_slice(&self.u32b(data.len() as u32));
                h[12..16].copy_from_slice(&self.u32b(orig_len));
                self.put(&h)?;
                self.put(data)
            }
            Format::Pcapng { .. } => {
                // Enhanced Packet Block.
                let Ok(units) = u64::try_from(units) else {
                    return refuse("is outside pcapng's unsigned 64-bit units");
                };
                let mut epb = std::mem::take(&mut self.scratch);
                epb.clear();
                epb.extend_from_slice(&self.u32b(iface));
                epb.extend_from_slice(&self.u32b((units >> 32) as u32));
                epb.extend_from_slice(&self.u32b(units as u32));
                epb.extend_from_slice(&self.u32b(data.len() as u32));
                epb.extend_from_slice(&self.u32b(orig_len));
                epb.extend_from_slice(data);
                epb.resize(epb.len().next_multiple_of(4), 0);
                let r = self.block(6, &epb);
                self.scratch = epb;
                r
            }
        }
    }

    /// Writes `frame` in a pcapng Simple Packet Block: interface 0, whole
    /// on the wire, cut to its snapshot length, and no timestamp (the
    /// block has none). Classic pcap has no such record: refused.
    pub fn write_simple(&mut self, frame: &[u8]) -> io::Result<()> {
        if !matches!(self.format, Format::Pcapng { .. }) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a simple packet block is pcapng's only",
            ));
        }
        self.start()?;
        let snaplen = self.interfaces.first().map_or(self.snaplen, |&(_, s)| s);
        let mut spb = self.u32b(frame.len() as u32).to_vec();
        spb.extend_from_slice(&frame[..frame.len().min(snaplen as usize)]);
        spb.resize(spb.len().next_multiple_of(4), 0);
        self.block(3, &spb)
    }

    /// Writes what is left (the header of an empty file), drops the cut
    /// tail, flushes, and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.start()?;
        if self.cut_tail > 0 && self.len <= self.cut_tail as u64 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "cannot cut {} bytes off a {}-byte file",
                    self.cut_tail, self.len
                ),
            ));
        }
        self.out.flush()?;
        Ok(self.out)
    }

    /// The file header, once.
    fn start(&mut self) -> io::Result<()> {
        if self.started {
            return Ok(());
        }
        self.started = true;
        match self.format {
            Format::PcapMicro | Format::PcapNano => {
                let magic: u32 = match self.format {
                    Format::PcapMicro => 0xa1b2_c3d4,
                    _ => 0xa1b2_3c4d,
                };
                let mut h = Vec::with_capacity(24);
                h.extend_from_slice(&self.u32b(magic));
                h.extend_from_slice(&self.u16b(2)); // version 2.4
                h.extend_from_slice(&self.u16b(4));
                h.extend_from_slice(&self.u32b(0)); // thiszone
                h.extend_from_slice(&self.u32b(0)); // sigfigs
                h.extend_from_slice(&self.u32b(self.snaplen));
                h.extend_from_slice(&self.u32b(u32::from(self.link.code())));
                self.put(&h)
            }
            Format::Pcapng { .. } => {
                self.interfaces.push((self.link, self.snaplen));
                self.shb()?;
                self.idb(self.link, self.snaplen)
            }
        }
    }

    /// Section Header Block: byte-order magic, version 1.0, length unknown.
    fn shb(&mut self) -> io::Result<()> {
        let mut shb = Vec::new();
        shb.extend_from_slice(&self.u32b(0x1a2b_3c4d));
        shb.extend_from_slice(&self.u16b(1));
        shb.extend_from_slice(&self.u16b(0));
        shb.extend_from_slice(&[0xff; 8]); // -1 in either byte order
        self.block(0x0a0d_0d0a, &shb)
    }

    /// Interface Description Block: link type, snaplen, if_tsresol.
    fn idb(&mut self, link: LinkType, snaplen: u32) -> io::Result<()> {
        let Format::Pcapng { tsresol } = self.format else {
            unreachable!("pcapng only")
        };
        let mut idb = Vec::new();
        idb.extend_from_slice(&self.u16b(link.code()));
        idb.extend_from_slice(&self.u16b(0));
        idb.extend_from_slice(&self.u32b(snaplen));
        idb.extend_from_slice(&self.u16b(9)); // if_tsresol
        idb.extend_from_slice(&self.u16b(1));
        idb.extend_from_slice(&[tsresol, 0, 0, 0]);
        idb.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
        self.block(1, &idb)
    }

    fn u16b(&self, v: u16) -> [u8; 2] {
        if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    fn u32b(&self, v: u32) -> [u8; 4] {
        if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    /// A pcapng block: type, total length, body (32-bit aligned), total length again.
    fn block(&mut self, block_type: u32, body: &[u8]) -> io::Result<()> {
        assert_eq!(body.len() % 4, 0);
        let total = self.u32b((12 + body.len()) as u32);
        self.put(&self.u32b(block_type))?;
        self.put(&total)?;
        self.put(body)?;
        self.put(&total)
    }

    /// Bytes of the file, in order; the last `cut_tail` of them are held back.
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.len += bytes.len() as u64;
        if self.cut_tail == 0 {
            return self.out.write_all(bytes);
        }
        self.held.extend_from_slice(bytes);
        if self.held.len() > self.cut_tail {
            let n = self.held.len() - self.cut_tail;
            self.out.write_all(&self.held[..n])?;
            self.held.drain(..n);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::T0;

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn pcap_header_and_records() {
        let ts = Timestamp(T0.0 + 1_500_000_123);
        let mut w = Writer::new(Vec::new(), Format::PcapNano, LinkType::LinuxSll2).snaplen(4);
        w.write(ts, &[1, 2, 3, 4, 5, 6]).unwrap();
        let f = w.finish().unwrap();
        assert_eq!(f.len(), 24 + 16 + 4);
        assert_eq!(u32_at(&f, 0), 0xa1b2_3c4d);
        assert_eq!(u32_at(&f, 16), 4, "snaplen");
        assert_eq!(u32_at(&f, 20), 276, "link type");
        assert_eq!(u32_at(&f, 24), 1_700_000_001);
        assert_eq!(u32_at(&f, 28), 500_000_123);
        assert_eq!((u32_at(&f, 32), u32_at(&f, 36)), (4, 6), "caplen, len");
        assert_eq!(&f[40..], &[1, 2, 3, 4]);
    }

    #[test]
    fn microseconds_refuse_nanosecond_digits() {
        let mut w = Writer::new(Vec::new(), Format::PcapMicro, LinkType::Raw);
        w.write(Timestamp(T0.0 + 2_000), &[0x45]).unwrap();
        let e = w.write(Timestamp(T0.0 + 2_001), &[0x45]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        let f = w.finish().unwrap();
        assert_eq!(u32_at(&f, 0), 0xa1b2_c3d4);
        assert_eq!(u32_at(&f, 28), 2, "µs");
    }

    #[test]
    fn pcapng_blocks_are_aligned_and_stamped_in_tsresol_units() {
        let mut w = Writer::new(
            Vec::new(),
            Format::Pcapng { tsresol: 6 },
            LinkType::Ethernet,
        );
        w.write(Timestamp(T0.0 + 7_000), &[9; 5]).unwrap();
        let f = w.finish().unwrap();
        let shb = u32_at(&f, 4) as usize;
        let idb = u32_at(&f, shb + 4) as usize;
        assert_eq!(f[shb + 16..shb + 20], [9, 0, 1, 0], "if_tsresol option");
        assert_eq!(f[shb + 20], 6);
        let epb = &f[shb + idb..];
        assert_eq!(u32_at(epb, 0), 6);
        assert_eq!(u32_at(epb, 4) as usize, epb.len());
        assert_eq!(epb.len() % 4, 0);
        let units = (u64::from(u32_at(epb, 12)) << 32) | u64::from(u32_at(epb, 16));
        assert_eq!(units, 1_700_000_000_000_007);
    }

    #[test]
    fn the_tail_is_cut_off() {
        let write = |cut| {
            let mut w =
                Writer::new(Vec::new(), Format::PcapMicro, LinkType::Ethernet).cut_tail(cut);
            for i in 0..3 {
                w.write(Timestamp(T0.0 + i * 1000), &[i as u8; 30]).unwrap();
            }
            w.finish()
        };
        let whole = write(0).unwrap();
        let cut = write(100).unwrap();
        assert_eq!(cut[..], whole[..whole.len() - 100]);
        assert!(write(whole.len()).is_err());
    }
}
