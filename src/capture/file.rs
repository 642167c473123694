//! kawatch's own reader of capture files: classic pcap (µs or ns, either
//! byte order, and the modified format of Alexey Kuznetzov's patches) and
//! pcapng with every section and interface it holds (link types, snapshot
//! lengths, byte orders and timestamp resolutions may differ between them).
//!
//! Records are parsed in place, in one buffer read 256 KiB at a time or in
//! the file's pages mapped ([`super::mapped`]: a regular file, on one
//! core), and each frame is handed out as a slice of them. What libpcap
//! 1.10 gets wrong here is read as the formats define it: a pcap record's
//! seconds are unsigned (past 2038), and a pcapng file may mix link types
//! and byte orders (libpcap refuses such files). Everything else follows
//! libpcap, which stays the reference reader (`--reader libpcap`): the same
//! limits on captured lengths and block sizes, records longer than their
//! interface's snapshot length cut to it, and a differential test holding
//! both readers to the same frames.

use super::mapped::Mapping;
use kawatch_core::Timestamp;
use std::io::{self, Read};
use std::ops::Range;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Bytes the buffer holds; it grows only for a record larger than this.
const CHUNK: usize = 256 << 10;

/// How far ahead of the record it parses a mapped file's reader asks for
/// the file's bytes ([`FileReader::fetch_ahead`]): a few records.
const FETCH_AHEAD: usize = 4 << 10;

/// The largest captured length a record may have, and the snapshot length
/// of an interface that states none (libpcap's `max_snaplen_for_dlt` for
/// every link type kawatch decodes).
pub(crate) const MAX_SNAPLEN: u32 = 262_144;

/// The largest pcapng block accepted (libpcap's initial maximum).
const MAX_BLOCK: u32 = 16 << 20;

const NS: i128 = 1_000_000_000;

/// pcapng block types.
const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 1;
const OPB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;

/// Why a read stopped short. Each says what was wrong, in libpcap's words
/// where libpcap has some.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The input's first bytes are not a pcap or pcapng header.
    NotACapture(String),
    /// The input ended inside a record.
    Truncated(String),
    /// A record or block is malformed.
    Damaged(String),
    /// Reading the input failed.
    Io(io::Error),
    /// The stop flag was set while a read waited (Ctrl-C).
    Interrupted,
    /// Nothing came within [`FileReader::wake_when_quiet`]'s wait: no
    /// error, the record is read on at the next call.
    Quiet,
}

/// A timestamp unit: 10^-n or 2^-n of a second (pcapng's `if_tsresol`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Resolution {
    Decimal(u8),
    Binary(u8),
}

impl Resolution {
    /// `units` of this resolution, in nanoseconds.
    #[inline]
    fn nanos(self, units: u64) -> i128 {
        let units = i128::from(units);
        match self {
            // (pcap's two: no power worked out for each frame.)
            Resolution::Decimal(6) => units * 1_000,
            Resolution::Decimal(9) => units,
            Resolution::Decimal(e) if e <= 9 => units * 10i128.pow(9 - u32::from(e)),
            // Finer than a nanosecond: 10^38 is the largest power an i128 holds.
            Resolution::Decimal(e) => match 10i128.checked_pow(u32::from(e) - 9) {
                Some(div) => units / div,
                None => 0,
            },
            Resolution::Binary(b) => (units * NS) >> b.min(127),
        }
    }
}

/// One interface: a classic pcap file has one, a pcapng section any number
/// (a packet names its interface by its index in the section).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Interface {
    /// Its LINKTYPE_ number.
    pub(crate) link: u32,
    /// Bytes kept per frame at most: the stated snapshot length, or
    /// [`MAX_SNAPLEN`] where it states none (0) or more.
    pub(crate) snaplen: u32,
    resolution: Resolution,
    /// Seconds added to every timestamp (pcapng's `if_tsoffset`).
    offset_s: i64,
}

impl Interface {
    fn new(link: u32, snaplen: u32, resolution: Resolution) -> Interface {
        let snaplen = if snaplen == 0 || snaplen > MAX_SNAPLEN {
            MAX_SNAPLEN
        } else {
            snaplen
        };
        Interface {
            link,
            snaplen,
            resolution,
            offset_s: 0,
        }
    }
}

/// One record: a frame as captured. Its bytes stay in the reader's buffer
/// until the next read ([`FileReader::data`]).
#[derive(Clone, Debug)]
pub(crate) struct Record {
    /// Capture timestamp.
    pub(crate) ts: Timestamp,
    /// Where the bytes captured are in the buffer (at most the interface's
    /// snapshot length of them).
    data: Range<usize>,
    /// The frame's length on the wire.
    pub(crate) wire_len: u32,
    /// Its interface's LINKTYPE_ number.
    pub(crate) link: u32,
}

/// The file's format, as its header says.
#[derive(Clone, Copy, Debug)]
enum Layout {
    /// Classic pcap.
    Pcap {
        /// The header and records are big-endian.
        big_endian: bool,
        /// The record header's size: 16, or 24 in Kuznetzov's format.
        header: usize,
    },
    /// pcapng; the byte order is the current section's.
    Pcapng { big_endian: bool },
}

/// What one pcapng block was.
enum Block {
    /// The input ended between blocks.
    End,
    /// A packet.
    Packet(Record),
    /// Any other block (its contents, if they matter, are taken in).
    Other,
}

/// Reads frames from a pcap or pcapng input, record by record.
pub(crate) struct FileReader<R> {
    input: R,
    buf: Store,
    /// The first byte not yet parsed.
    pos: usize,
    /// The end of the bytes read.
    end: usize,
    /// The input has ended.
    eof: bool,
    layout: Layout,
    interfaces: Vec<Interface>,
    /// Set (by a Ctrl-C handler) to end a read waiting on a pipe.
    stop: Option<&'static AtomicBool>,
    /// [`FileReader::wake_when_quiet`]'s descriptor and wait.
    wake: Option<(RawFd, Duration)>,
    /// Of a mapped file, the bytes below this offset were asked for ahead
    /// ([`FileReader::fetch_ahead`]).
    fetched: usize,
    /// pcapng simple packet blocks read: packets that carry no time.
    untimed: u64,
}

/// The compressor whose magic number a file begins with, and its command
/// line tool: what a capture compressed by other than gzip (which kawatch
/// reads) looks like.
fn compressed_by(magic: [u8; 4]) -> Option<(&'static str, &'static str)> {
    match magic {
        [0x1f, 0x8b, ..] => Some(("gzip", "gzip")),
        [0xfd, b'7', b'z', b'X'] => Some(("xz", "xz")),
        [b'B', b'Z', b'h', _] => Some(("bzip2", "bzip2")),
        [0x28, 0xb5, 0x2f, 0xfd] => Some(("zstd", "zstd")),
        [0x04, 0x22, 0x4d, 0x18] => Some(("lz4", "lz4")),
        _ => None,
    }
}

/// Why a file beginning with `magic` is no capture, when a compressor
/// other than gzip made it: which, and how to decompress it.
pub(super) fn compressed_reason(magic: [u8; 4]) -> Option<String> {
    match compressed_by(magic)? {
        ("gzip", _) => None,
        (what, tool) => Some(format!(
            "it is {what}-compressed, which kawatch does not read: decompress it first, \
             e.g. `{tool} -dc FILE | kawatch report -`"
        )),
    }
}

impl<R: Read> FileReader<R> {
    /// Reads the capture's header from `head` (bytes already read from the
    /// input, e.g. to recognise a gzip file) and then `input`.
    ///
    /// A read that fails with `EINTR` is retried unless `stop` is set, in
    /// which case it is [`ReadError::Interrupted`].
    pub(crate) fn open(
        input: R,
        head: &[u8],
        stop: Option<&'static AtomicBool>,
    ) -> Result<FileReader<R>, ReadError> {
        let mut buf = vec![0u8; CHUNK.max(head.len())];
        buf[..head.len()].copy_from_slice(head);
        FileReader::start(input, Store::Read(buf), head.len(), stop)
    }

    /// Reads the capture in place from `mapping`, `input`'s bytes mapped.
    pub(crate) fn open_mapped(
        input: R,
        mapping: Mapping,
        stop: Option<&'static AtomicBool>,
    ) -> Result<FileReader<R>, ReadError> {
        FileReader::start(input, Store::Mapped(mapping), 0, stop)
    }

    /// Reads the capture's header from `buf`, its first `end` bytes read.
    fn start(
        input: R,
        buf: Store,
        end: usize,
        stop: Option<&'static AtomicBool>,
    ) -> Result<FileReader<R>, ReadError> {
        let mut r = FileReader {
            input,
            buf,
            pos: 0,
            end,
            eof: false,
            layout: Layout::Pcap {
                big_endian: false,
                header: 16,
            },
            interfaces: Vec::new(),
            stop,
            wake: None,
            fetched: 0,
            untimed: 0,
        };
        if !r.fill(4)? {
            return Err(ReadError::NotACapture(match r.available() {
                0 => "it is empty".into(),
                n => {
                    format!("truncated dump file; tried to read 4 file header bytes, only got {n}")
                }
            }));
        }
        let magic = &r.buf[..4];
        let le = u32::from_le_bytes(magic.try_into().expect("4 bytes"));
        let be = u32::from_be_bytes(magic.try_into().expect("4 bytes"));
        if le == SHB {
            r.layout = Layout::Pcapng { big_endian: false };
            // The section header is read as the first block.
            return Ok(r);
        }
        // (magic, nanoseconds, record header size)
        let pcap = |m: u32| match m {
            0xa1b2_c3d4 => Some((false, 16)),
            0xa1b2_3c4d => Some((true, 16)),
            0xa1b2_cd34 => Some((false, 24)),
            _ => None,
        };
        let (big_endian, (nanos, header)) = match (pcap(le), pcap(be)) {
            (Some(f), _) => (false, f),
            (None, Some(f)) => (true, f),
            (None, None) => {
                let magic = le.to_le_bytes();
                return Err(ReadError::NotACapture(match compressed_by(magic) {
                    // (A gzip file's own bytes are decompressed before this.)
                    Some(("gzip", _)) => "it is gzip-compressed twice, and kawatch decompresses \
                        once: decompress it first, e.g. `gzip -dc FILE | kawatch report -`"
                        .into(),
                    _ => compressed_reason(magic).unwrap_or_else(|| "unknown file format".into()),
                }));
            }
        };
        if !r.fill(24)? {
            return Err(ReadError::NotACapture(format!(
                "truncated dump file; tried to read 24 file header bytes, only got {}",
                r.available()
            )));
        }
        let h = &r.buf[..24];
        let (major, minor) = (u16_at(h, 4, big_endian), u16_at(h, 6, big_endian));
        if !(major == 2 && minor <= 4 || major == 543 && minor == 0) {
            return Err(ReadError::NotACapture(format!(
                "unsupported pcap savefile version {major}.{minor}"
            )));
        }
        let snaplen = u32_at(h, 16, big_endian);
        // The upper bits carry FCS information, not the link type.
        let link = u32_at(h, 20, big_endian) & 0x03ff_ffff;
        let resolution = Resolution::Decimal(if nanos { 9 } else { 6 });
        r.interfaces.push(Interface::new(link, snaplen, resolution));
        r.layout = Layout::Pcap { big_endian, header };
        r.pos = 24;
        Ok(r)
    }

    /// The interfaces declared before the first packet (a pcapng file
    /// declares them in the blocks that lead its packets).
    pub(crate) fn leading_interfaces(&mut self) -> Result<&[Interface], ReadError> {
        if let Layout::Pcapng { .. } = self.layout {
            // Up to the first packet block, which stays unparsed. Blocks of
            // other kinds may come before the interfaces: the secrets
            // `editcap --inject-secrets` puts first, name resolution,
            // custom blocks; a reader skips what it does not know.
            while self.fill(8)? {
                let big_endian = self.block_order()?;
                let t = u32_at(&self.buf[self.pos..], 0, big_endian);
                if matches!(t, EPB | OPB | SPB) {
                    break;
                }
                self.block()?;
            }
        }
        Ok(&self.interfaces)
    }

    /// The bytes of `record`, the last one [`FileReader::next`] gave.
    pub(crate) fn data(&self, record: &Record) -> &[u8] {
        &self.buf[record.data.clone()]
    }

    /// From now on, a read that would wait longer than `wait` for `fd`
    /// (the input's descriptor: a pipe) is [`ReadError::Quiet`] instead, the
    /// record read on at the next call: so that a caller with something to
    /// do when its input falls silent gets to do it.
    pub(crate) fn wake_when_quiet(&mut self, fd: RawFd, wait: Duration) {
        self.wake = Some((fd, wait));
    }

    /// The next frame; `None` at the end of the input.
    #[inline]
    pub(crate) fn next(&mut self) -> Result<Option<Record>, ReadError> {
        match self.layout {
            Layout::Pcap { big_endian, header } => self.next_pcap(big_endian, header),
            Layout::Pcapng { .. } => self.next_pcapng(),
        }
    }

    /// A classic pcap record. A whole record already in the buffer (nearly
    /// always) is taken here; reading on, the input's end and damage are
    /// [`FileReader::next_pcap_slow`]'s.
    #[inline(always)]
    fn next_pcap(&mut self, big_endian: bool, header: usize) -> Result<Option<Record>, ReadError> {
        // (The fields are in the first 16 bytes of the header, 16 or 24 long.)
        debug_assert!(header >= 16, "a pcap record header of {header} bytes");
        if let Some(h) = self.buf[self.pos..self.end].first_chunk::<16>() {
            let caplen = u32_at(h, 8, big_endian);
            // (No bytes captured: rare, and what a mapped file cut short
            // reads; the slow path tells which.)
            if caplen.wrapping_sub(1) < MAX_SNAPLEN && self.available() >= header + caplen as usize
            {
                return Ok(Some(self.take_pcap(big_endian, header)));
            }
        }
        self.next_pcap_slow(big_endian, header)
    }

    #[cold]
    #[inline(never)]
    fn next_pcap_slow(
        &mut self,
        big_endian: bool,
        header: usize,
    ) -> Result<Option<Record>, ReadError> {
        if !self.fill(header)? {
            return match self.available() {
                0 => Ok(None),
                n => Err(ReadError::Truncated(format!(
                    "truncated dump file; tried to read {header} header bytes, only got {n}"
                ))),
            };
        }
        let caplen = u32_at(&self.buf[self.pos..], 8, big_endian);
        if caplen == 0 && u32_at(&self.buf[self.pos..], 12, big_endian) == 0 {
            if let Some(cut) = self.cut_at(self.pos, header) {
                return Err(cut);
            }
        }
        if caplen > MAX_SNAPLEN {
            return Err(ReadError::Damaged(format!(
                "invalid packet capture length {caplen}, bigger than maximum of {MAX_SNAPLEN}"
            )));
        }
        if !self.fill(header + caplen as usize)? {
            return Err(ReadError::Truncated(format!(
                "truncated dump file; tried to read {caplen} captured bytes, only got {}",
                self.available() - header
            )));
        }
        Ok(Some(self.take_pcap(big_endian, header)))
    }

    /// A classic pcap file's byte order (big-endian?) and record header
    /// size; `None` for pcapng.
    /// Whether the file (a pcapng file: its current section) is written
    /// big-endian.
    pub(crate) fn big_endian(&self) -> bool {
        match self.layout {
            Layout::Pcap { big_endian, .. } | Layout::Pcapng { big_endian } => big_endian,
        }
    }

    /// Packets read so far that carry no time (pcapng simple packet
    /// blocks: read at time 0).
    pub(crate) fn untimed(&self) -> u64 {
        self.untimed
    }

    pub(crate) fn pcap_layout(&self) -> Option<(bool, usize)> {
        match self.layout {
            Layout::Pcap { big_endian, header } => Some((big_endian, header)),
            Layout::Pcapng { .. } => None,
        }
    }

    /// A classic pcap file's next record (in the byte order its layout
    /// states, [`FileReader::pcap_layout`]) when it is whole in the buffer:
    /// [`FileReader::next`] for a caller taking many in a row, no `Result`
    /// made a record. `None`: reading on, the end or damage, which are
    /// [`FileReader::next`]'s.
    #[inline(always)]
    pub(crate) fn next_whole_pcap<const BIG_ENDIAN: bool>(
        &mut self,
        header: usize,
    ) -> Option<Record> {
        self.fetch_ahead();
        let h = self.buf[self.pos..self.end].first_chunk::<16>()?;
        let caplen = u32_at(h, 8, BIG_ENDIAN);
        // (As in `next_pcap`: none captured goes the slow way.)
        if caplen.wrapping_sub(1) >= MAX_SNAPLEN || self.available() < header + caplen as usize {
            return None;
        }
        Some(self.take_pcap(BIG_ENDIAN, header))
    }

    /// Of a mapped file, asks the CPU for the cache lines of the next
    /// [`FETCH_AHEAD`] bytes, the records the reader comes to next, each
    /// line once: pages the kernel only just mapped are not in any cache,
    /// and a record's header is read the moment its turn comes, so each one
    /// waited on memory (a seventh of the time on one core, measured). A
    /// buffer the kernel has just copied into is in the cache already.
    #[inline(always)]
    fn fetch_ahead(&mut self) {
        if let Store::Mapped(m) = &self.buf {
            let bytes = &m.bytes()[..self.end];
            let to = (self.pos + FETCH_AHEAD).min(bytes.len());
            let mut at = self.fetched.max(self.pos);
            while at < to {
                super::prefetch(&bytes[at]);
                at += 64;
            }
            self.fetched = at;
        }
    }

    /// The pcap record at `pos`, whole in the buffer and its length checked.
    #[inline(always)]
    fn take_pcap(&mut self, big_endian: bool, header: usize) -> Record {
        let h: &[u8; 16] = self.buf[self.pos..self.pos + 16]
            .try_into()
            .expect("16 bytes");
        let secs = u32_at(h, 0, big_endian);
        let frac = u32_at(h, 4, big_endian);
        let caplen = u32_at(h, 8, big_endian);
        let wire_len = u32_at(h, 12, big_endian);
        let iface = &self.interfaces[0];
        let start = self.pos + header;
        self.pos = start + caplen as usize;
        Record {
            ts: Timestamp(i128::from(secs) * NS + iface.resolution.nanos(u64::from(frac))),
            data: start..start + caplen.min(iface.snaplen) as usize,
            wire_len,
            link: iface.link,
        }
    }

    /// The byte order of the block at `pos` (8 bytes available): a section
    /// header states its own; any other block has its section's.
    fn block_order(&mut self) -> Result<bool, ReadError> {
        let Layout::Pcapng { big_endian } = self.layout else {
            unreachable!("pcapng only")
        };
        if u32::from_le_bytes(
            self.buf[self.pos..self.pos + 4]
                .try_into()
                .expect("4 bytes"),
        ) != SHB
        {
            return Ok(big_endian);
        }
        if !self.fill(12)? {
            return Err(self.cut_block(12));
        }
        match &self.buf[self.pos + 8..self.pos + 12] {
            [0x4d, 0x3c, 0x2b, 0x1a] => Ok(false),
            [0x1a, 0x2b, 0x3c, 0x4d] => Ok(true),
            _ => Err(ReadError::Damaged(
                "a section header block has an unknown byte-order magic".into(),
            )),
        }
    }

    fn cut_block(&self, wanted: usize) -> ReadError {
        ReadError::Truncated(format!(
            "truncated pcapng dump file; tried to read {wanted} bytes, only got {}",
            self.available()
        ))
    }

    fn next_pcapng(&mut self) -> Result<Option<Record>, ReadError> {
        loop {
            match self.block()? {
                Block::End => return Ok(None),
                Block::Other => {}
                Block::Packet(record) => return Ok(Some(record)),
            }
        }
    }

    /// Parses the next pcapng block. A mapped file cut inside the block's
    /// first 12 bytes (read as zeros) ends as cut, not as damaged.
    fn block(&mut self) -> Result<Block, ReadError> {
        let at = self.pos;
        match self.block_inner() {
            Err(e @ (ReadError::Damaged(_) | ReadError::NotACapture(_))) => {
                Err(self.cut_at(at, 12).unwrap_or(e))
            }
            r => r,
        }
    }

    fn block_inner(&mut self) -> Result<Block, ReadError> {
        if !self.fill(8)? {
            return match self.available() {
                0 => Ok(Block::End),
                _ => Err(self.cut_block(8)),
            };
        }
        let big_endian = self.block_order()?;
        let at = self.pos;
        let block_type = u32_at(&self.buf[at..], 0, big_endian);
        let total = u32_at(&self.buf[at..], 4, big_endian);
        if total < 12 || !total.is_multiple_of(4) {
            return Err(ReadError::Damaged(format!(
                "a pcapng block has a length of {total}, not a multiple of 4 of at least 12"
            )));
        }
        if total > MAX_BLOCK {
            return Err(ReadError::Damaged(format!(
                "pcapng block size {total} > maximum {MAX_BLOCK}"
            )));
        }
        if !self.fill(total as usize)? {
            return Err(self.cut_block(total as usize));
        }
        // Filling may have moved the block to the buffer's start.
        let at = self.pos;
        // A block's length ends it too; where it does not (zeros in a
        // mapped file cut inside the block), the file may have been cut.
        if u32_at(&self.buf[at + total as usize - 4..], 0, big_endian) != total {
            return Err(self.cut_at(at, total as usize).unwrap_or_else(|| {
                ReadError::Damaged("block total length in header and trailer don't match".into())
            }));
        }
        self.pos += total as usize;
        let body = at + 8..at + total as usize - 4;
        match block_type {
            SHB => self.section(body, big_endian)?,
            IDB => self.interface(body, big_endian)?,
            EPB | OPB | SPB => {
                self.untimed += u64::from(block_type == SPB);
                return self.packet(block_type, body, big_endian);
            }
            // Name resolution, statistics, secrets, custom blocks.
            _ => {}
        }
        Ok(Block::Other)
    }

    fn section(&mut self, body: Range<usize>, big_endian: bool) -> Result<(), ReadError> {
        let b = &self.buf[body];
        if b.len() < 16 {
            return Err(ReadError::Damaged(
                "a section header block is too short".into(),
            ));
        }
        let (major, minor) = (u16_at(b, 4, big_endian), u16_at(b, 6, big_endian));
        if major != 1 || minor > 2 {
            return Err(ReadError::Damaged(format!(
                "unsupported pcapng savefile version {major}.{minor}"
            )));
        }
        self.layout = Layout::Pcapng { big_endian };
        self.interfaces.clear();
        Ok(())
    }

    fn interface(&mut self, body: Range<usize>, big_endian: bool) -> Result<(), ReadError> {
        let b = &self.buf[body];
        if b.len() < 8 {
            return Err(ReadError::Damaged(
                "an interface description block is too short".into(),
            ));
        }
        let link = u32::from(u16_at(b, 0, big_endian));
        let mut iface = Interface::new(link, u32_at(b, 4, big_endian), Resolution::Decimal(6));
        let mut opts = &b[8..];
        while opts.len() >= 4 {
            let code = u16_at(opts, 0, big_endian);
            let len = usize::from(u16_at(opts, 2, big_endian));
            if code == 0 {
                break;
            }
            let Some(value) = opts.get(4..4 + len) else {
                return Err(ReadError::Damaged(format!(
                    "an interface description block's option {code} runs past the block"
                )));
            };
            match (code, value) {
                (9, [r, ..]) => {
                    iface.resolution = if r & 0x80 == 0 {
                        Resolution::Decimal(*r)
                    } else {
                        Resolution::Binary(r & 0x7f)
                    };
                }
                (14, v) if v.len() == 8 => {
                    let raw: [u8; 8] = v.try_into().expect("8 bytes");
                    iface.offset_s = if big_endian {
                        i64::from_be_bytes(raw)
                    } else {
                        i64::from_le_bytes(raw)
                    };
                }
                _ => {}
            }
            opts = opts.get(4 + len.next_multiple_of(4)..).unwrap_or_default();
        }
        self.interfaces.push(iface);
        Ok(())
    }

    /// A packet block: its timestamp, data, wire length and interface.
    fn packet(
        &self,
        block_type: u32,
        body: Range<usize>,
        big_endian: bool,
    ) -> Result<Block, ReadError> {
        let b = &self.buf[body.clone()];
        let damaged = |what: &str| ReadError::Damaged(format!("a packet block {what}"));
        // (interface, timestamp units, captured length, wire length, data offset)
        let (interface, units, caplen, wire_len, data_at) = match block_type {
            EPB => {
                if b.len() < 20 {
                    return Err(damaged("is too short"));
                }
                let units = (u64::from(u32_at(b, 4, big_endian)) << 32)
                    | u64::from(u32_at(b, 8, big_endian));
                let caplen = u32_at(b, 12, big_endian);
                (
                    u32_at(b, 0, big_endian) as usize,
                    Some(units),
                    caplen,
                    u32_at(b, 16, big_endian),
                    20,
                )
            }
            OPB => {
                if b.len() < 20 {
                    return Err(damaged("is too short"));
                }
                let units = (u64::from(u32_at(b, 4, big_endian)) << 32)
                    | u64::from(u32_at(b, 8, big_endian));
                let caplen = u32_at(b, 12, big_endian);
                (
                    usize::from(u16_at(b, 0, big_endian)),
                    Some(units),
                    caplen,
                    u32_at(b, 16, big_endian),
                    20,
                )
            }
            _ => {
                // A simple packet block: interface 0, no timestamp, the
                // captured length implied by the snapshot length.
                if b.len() < 4 {
                    return Err(damaged("is too short"));
                }
                let wire_len = u32_at(b, 0, big_endian);
                let snaplen = self.interfaces.first().map_or(MAX_SNAPLEN, |i| i.snaplen);
                let room = u32::try_from(b.len() - 4).unwrap_or(u32::MAX);
                (0, None, wire_len.min(snaplen).min(room), wire_len, 4)
            }
        };
        let Some(iface) = self.interfaces.get(interface) else {
            return Err(ReadError::Damaged(format!(
                "a packet arrived on interface {interface}, but there's no interface description block for it"
            )));
        };
        if caplen as usize > b.len() - data_at {
            return Err(damaged(&format!(
                "has a captured length of {caplen}, more than the block holds"
            )));
        }
        let ts = match units {
            Some(u) => Timestamp(iface.resolution.nanos(u) + i128::from(iface.offset_s) * NS),
            None => Timestamp(0),
        };
        let start = body.start + data_at;
        Ok(Block::Packet(Record {
            ts,
            data: start..start + caplen.min(iface.snaplen) as usize,
            wire_len,
            link: iface.link,
        }))
    }

    /// Of a mapped file: the error that ends it when it was cut short
    /// before `at + need` (the end of what is being parsed) while it was
    /// read, so that what follows reads as zeros (see [`super::mapped`]);
    /// `None` when it was not, or it is read.
    #[cold]
    fn cut_at(&self, at: usize, need: usize) -> Option<ReadError> {
        let Store::Mapped(m) = &self.buf else {
            return None;
        };
        // Where the file's bytes end: its size now, or where zeros stand in
        // for its pages (after a cut, even if it grew back since).
        let size = m.size_now().ok()?.min(m.zeroed_from() as u64);
        if size >= (at + need) as u64 {
            return None;
        }
        let mut reason = format!("the file was cut to {size} bytes while kawatch read it");
        // (What was read before the size was last checked was read whole.)
        let from = size.max(m.checked_at() as u64);
        if at as u64 > from {
            reason += &format!(
                "; the frames read from its bytes {from} to {at} may have been read after the cut, as zeros"
            );
        }
        Some(ReadError::Truncated(reason))
    }

    /// Bytes read and not yet parsed.
    #[inline]
    fn available(&self) -> usize {
        self.end - self.pos
    }

    /// Makes `n` bytes from `pos` available; `false` when the input ends first.
    #[inline]
    fn fill(&mut self, n: usize) -> Result<bool, ReadError> {
        if self.available() >= n {
            return Ok(true);
        }
        self.read_more(n)
    }

    /// [`FileReader::fill`] when the bytes are not there yet: reads on.
    fn read_more(&mut self, n: usize) -> Result<bool, ReadError> {
        while self.available() < n {
            if self.eof {
                return Ok(false);
            }
            let buf = match &mut self.buf {
                Store::Read(buf) => buf,
                Store::Mapped(m) => {
                    let end = m.advance(self.pos, self.pos + n).map_err(ReadError::Io)?;
                    if end < self.pos {
                        // Cut short below what was read already.
                        if let Some(cut) = self.cut_at(self.pos, 0) {
                            return Err(cut);
                        }
                    }
                    // (Fewer than before when the file was cut short.)
                    self.end = end.max(self.pos);
                    self.eof = self.available() < n;
                    continue;
                }
            };
            if self.pos + n > buf.len() {
                // Move what is left to the front, and grow for a record
                // larger than the buffer.
                buf.copy_within(self.pos..self.end, 0);
                self.end -= self.pos;
                self.pos = 0;
                if n > buf.len() {
                    buf.resize(n.next_multiple_of(CHUNK), 0);
                }
            }
            if let Some((fd, wait)) = self.wake {
                let ms = i32::try_from(wait.as_millis()).unwrap_or(i32::MAX);
                if !super::wait_readable(Some(fd), ms) {
                    // Silent, or a signal woke the wait: Ctrl-C stops here,
                    // as it stops a read.
                    if self.stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
                        return Err(ReadError::Interrupted);
                    }
                    return Err(ReadError::Quiet);
                }
            }
            match self.input.read(&mut buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(got) => self.end += got,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    if self.stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
                        return Err(ReadError::Interrupted);
                    }
                }
                Err(e) => return Err(ReadError::Io(e)),
            }
        }
        Ok(true)
    }
}

/// Where the records are parsed from.
enum Store {
    /// A buffer the input is read into, [`CHUNK`] at a time.
    Read(Vec<u8>),
    /// The file's pages, mapped.
    Mapped(Mapping),
}

impl std::ops::Deref for Store {
    type Target = [u8];

    #[inline(always)]
    fn deref(&self) -> &[u8] {
        match self {
            Store::Read(buf) => buf,
            Store::Mapped(m) => m.bytes(),
        }
    }
}

#[inline]
fn u16_at(b: &[u8], at: usize, big_endian: bool) -> u16 {
    let raw: [u8; 2] = b[at..at + 2].try_into().expect("two bytes");
    if big_endian {
        u16::from_be_bytes(raw)
    } else {
        u16::from_le_bytes(raw)
    }
}

#[inline]
fn u32_at(b: &[u8], at: usize, big_endian: bool) -> u32 {
    let raw: [u8; 4] = b[at..at + 4].try_into().expect("four bytes");
    if big_endian {
        u32::from_be_bytes(raw)
    } else {
        u32::from_le_bytes(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pcapng block in little-endian order: type, length, body, length.
    fn block(t: u32, body: &[u8]) -> Vec<u8> {
        let mut body = body.to_vec();
        body.resize(body.len().next_multiple_of(4), 0);
        let total = (12 + body.len()) as u32;
        [
            &t.to_le_bytes()[..],
            &total.to_le_bytes(),
            &body,
            &total.to_le_bytes(),
        ]
        .concat()
    }

    fn shb() -> Vec<u8> {
        block(
            SHB,
            &[&0x1a2b_3c4du32.to_le_bytes()[..], &[1, 0, 0, 0], &[0xff; 8]].concat(),
        )
    }

    /// An IDB of `link`, `snaplen`, with raw option bytes.
    fn idb(link: u16, snaplen: u32, options: &[u8]) -> Vec<u8> {
        block(
            IDB,
            &[
                &link.to_le_bytes()[..],
                &[0, 0],
                &snaplen.to_le_bytes(),
                options,
            ]
            .concat(),
        )
    }

    fn option(code: u16, value: &[u8]) -> Vec<u8> {
        let mut v = [
            &code.to_le_bytes()[..],
            &(value.len() as u16).to_le_bytes(),
            value,
        ]
        .concat();
        v.resize(v.len().next_multiple_of(4), 0);
        v
    }

    fn epb(iface: u32, units: u64, data: &[u8], wire_len: u32) -> Vec<u8> {
        let head = [
            iface,
            (units >> 32) as u32,
            units as u32,
            data.len() as u32,
            wire_len,
        ];
        let head: Vec<u8> = head.iter().flat_map(|v| v.to_le_bytes()).collect();
        block(EPB, &[&head[..], data].concat())
    }

    /// A classic pcap header: magic, version 2.4, snaplen, link type.
    fn pcap_header(magic: u32, snaplen: u32, link: u32) -> Vec<u8> {
        [
            &magic.to_le_bytes()[..],
            &2u16.to_le_bytes(),
            &4u16.to_le_bytes(),
            &[0; 8],
            &snaplen.to_le_bytes(),
            &link.to_le_bytes(),
        ]
        .concat()
    }

    /// Hands out its bytes `step` at a time, with an `EINTR` before each.
    struct Trickle {
        bytes: Vec<u8>,
        at: usize,
        step: usize,
        interrupt: bool,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.interrupt = !self.interrupt;
            if self.interrupt {
                return Err(io::Error::from(io::ErrorKind::Interrupted));
            }
            let n = self.step.min(buf.len()).min(self.bytes.len() - self.at);
            buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    /// (ts in ns, captured bytes, wire length, link) of every frame, and
    /// the error the read ended with.
    type Frames = Vec<(i128, Vec<u8>, u32, u32)>;

    fn read_all(r: &mut FileReader<impl Read>) -> (Frames, Option<ReadError>) {
        let mut out = Vec::new();
        loop {
            match r.next() {
                Ok(Some(rec)) => {
                    out.push((rec.ts.0, r.data(&rec).to_vec(), rec.wire_len, rec.link));
                }
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    fn read_bytes(bytes: &[u8]) -> (Frames, Option<ReadError>) {
        let mut r = FileReader::open(bytes, &[], None).expect("a capture header");
        read_all(&mut r)
    }

    #[test]
    fn formats_read_as_defined() {
        const S: i128 = 1_000_000_000;
        let kuznetzov = [
            pcap_header(0xa1b2_cd34, 65535, 1),
            // secs, µs, caplen, len, then ifindex, protocol, pkt_type, pad.
            [7u32, 5, 3, 3]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
            vec![0; 8],
            vec![1, 2, 3],
        ]
        .concat();
        let binary_resolution = [
            shb(),
            // 2^-10 s units; 100 s added to every time.
            idb(
                1,
                0,
                &[option(9, &[0x8a]), option(14, &100i64.to_le_bytes())].concat(),
            ),
            epb(0, 3 * 1024 + 512, &[9], 1),
        ]
        .concat();
        let simple_and_obsolete = [
            shb(),
            idb(101, 4, &[]),
            // A simple packet block: no time, cut to interface 0's snaplen.
            block(
                SPB,
                &[&6u32.to_le_bytes()[..], &[1, 2, 3, 4, 5, 6]].concat(),
            ),
            // An obsolete packet block: 16-bit interface, 16-bit drops.
            block(
                OPB,
                &[
                    &0u16.to_le_bytes()[..],
                    &0u16.to_le_bytes(),
                    &0u32.to_le_bytes(),
                    &2_000_000u32.to_le_bytes(),
                    &2u32.to_le_bytes(),
                    &2u32.to_le_bytes(),
                    &[7, 8],
                ]
                .concat(),
            ),
        ]
        .concat();
        let skipped_blocks = [
            shb(),
            block(4, &[0; 8]), // name resolution
            idb(1, 0, &[]),
            block(5, &[0; 12]), // interface statistics
            epb(0, 1, &[1], 1),
            block(0x4000_0bad, &[0; 4]), // custom
        ]
        .concat();
        let cases: Vec<(&str, Vec<u8>, Frames)> = vec![
            (
                "kuznetzov",
                kuznetzov,
                vec![(7 * S + 5_000, vec![1, 2, 3], 3, 1)],
            ),
            (
                "binary resolution and offset",
                binary_resolution,
                vec![(103 * S + S / 2, vec![9], 1, 1)],
            ),
            (
                "simple and obsolete packet blocks",
                simple_and_obsolete,
                vec![(0, vec![1, 2, 3, 4], 6, 101), (2 * S, vec![7, 8], 2, 101)],
            ),
            (
                "blocks not of packets",
                skipped_blocks,
                vec![(1_000, vec![1], 1, 1)],
            ),
        ];
        for (name, bytes, want) in cases {
            let (got, err) = read_bytes(&bytes);
            assert!(err.is_none(), "{name}: {err:?}");
            assert_eq!(got, want, "{name}");
        }
    }

    /// The interfaces a pcapng file declares before its first packet,
    /// whatever blocks come before them (the secrets `editcap
    /// --inject-secrets` writes first, name resolution, custom, unknown).
    #[test]
    fn interfaces_after_other_leading_blocks_are_found() {
        for (name, lead) in [
            ("none", vec![]),
            ("decryption secrets", block(0x0a, &[0; 12])),
            ("name resolution", block(4, &[0; 4])),
            ("custom", block(0x4000_0bad, &[0; 8])),
            ("unknown", block(0x77, &[])),
        ] {
            let bytes = [shb(), lead, idb(1, 0, &[]), epb(0, 1, &[1], 1)].concat();
            let mut r = FileReader::open(&bytes[..], &[], None).expect("a capture header");
            let links: Vec<u32> = r
                .leading_interfaces()
                .unwrap_or_else(|e| panic!("{name}: {e:?}"))
                .iter()
                .map(|i| i.link)
                .collect();
            assert_eq!(links, [1], "{name}");
            assert_eq!(read_all(&mut r).0.len(), 1, "{name}: the packet after them");
        }
    }

    #[test]
    fn damaged_and_cut_records_say_why() {
        let pcap_ok = pcap_header(0xa1b2_c3d4, 0, 1);
        let record = |caplen: u32| -> Vec<u8> {
            [0u32, 0, caplen, caplen]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect()
        };
        let mut unaligned = epb(0, 0, &[1], 1);
        unaligned[4] = 30;
        let mut bad_bom = shb();
        bad_bom[8] = 0;
        let cases: Vec<(&str, Vec<u8>, usize, &str)> = vec![
            (
                "caplen past any snaplen",
                [pcap_ok.clone(), record(300_000)].concat(),
                0,
                "invalid packet capture length 300000",
            ),
            (
                "cut inside a record",
                [pcap_ok.clone(), record(4), vec![1, 2]].concat(),
                0,
                "tried to read 4 captured bytes, only got 2",
            ),
            (
                "cut inside a record header",
                [pcap_ok, vec![0; 5]].concat(),
                0,
                "tried to read 16 header bytes, only got 5",
            ),
            (
                "no interface for the packet",
                [
                    shb(),
                    idb(1, 0, &[]),
                    epb(0, 0, &[1], 1),
                    epb(1, 0, &[1], 1),
                ]
                .concat(),
                1,
                "interface 1",
            ),
            (
                "block length not a multiple of 4",
                [shb(), idb(1, 0, &[]), unaligned].concat(),
                0,
                "length of 30",
            ),
            (
                "cut inside a block",
                [shb(), idb(1, 0, &[]), epb(0, 0, &[1], 1)[..20].to_vec()].concat(),
                0,
                "tried to read 36 bytes, only got 20",
            ),
            (
                "lengths in a block's header and trailer differ",
                [shb(), idb(1, 0, &[]), epb(0, 0, &[1], 1), {
                    let mut b = epb(0, 1, &[2], 1);
                    let end = b.len();
                    b[end - 4] ^= 8;
                    b
                }]
                .concat(),
                1,
                "header and trailer don't match",
            ),
            (
                "unknown byte-order magic",
                [shb(), idb(1, 0, &[]), epb(0, 0, &[1], 1), bad_bom].concat(),
                1,
                "byte-order magic",
            ),
        ];
        for (name, bytes, frames, words) in cases {
            let (got, err) = read_bytes(&bytes);
            assert_eq!(got.len(), frames, "{name}: frames before the failure");
            let err = format!("{:?}", err.unwrap_or_else(|| panic!("{name}: no error")));
            assert!(err.contains(words), "{name}: {err}");
        }
    }

    #[test]
    fn not_captures_are_refused_at_open() {
        for (name, bytes) in [
            ("empty", &b""[..]),
            ("text", &b"hello, world\n"[..]),
            ("archaic pcap", &[0xd4, 0xc3, 0xb2, 0xa1, 1, 0, 0, 0][..]),
        ] {
            let padded = [bytes, &[0u8; 24][..]].concat();
            let input = if name == "archaic pcap" {
                &padded[..]
            } else {
                bytes
            };
            match FileReader::open(input, &[], None) {
                Err(ReadError::NotACapture(_)) => {}
                r => panic!("{name}: {:?}", r.err()),
            }
        }
    }

    /// Records cross the buffer's end and arrive a few bytes per read, with
    /// an `EINTR` before each (retried: no stop was asked); a record larger
    /// than the buffer grows it; the frames are those of one whole read.
    #[test]
    fn reads_in_pieces_give_the_same_frames() {
        let big = vec![0xab; CHUNK + 4096];
        let mut bytes = [shb(), idb(1, 0, &[])].concat();
        for i in 0..200u32 {
            bytes.extend(epb(
                0,
                u64::from(i),
                &vec![i as u8; (i as usize * 37) % 1500],
                1500,
            ));
        }
        bytes.extend(epb(0, 1000, &big, big.len() as u32));
        let (whole, err) = read_bytes(&bytes);
        assert!(err.is_none(), "after {} frames: {err:?}", whole.len());
        assert_eq!(whole.len(), 201);
        assert_eq!(
            whole[200].1.len(),
            MAX_SNAPLEN as usize,
            "cut to the snaplen"
        );
        for step in [1, 7, 4096, 1 << 20] {
            let input = Trickle {
                bytes: bytes.clone(),
                at: 0,
                step,
                interrupt: false,
            };
            let mut r = FileReader::open(input, &[], None).unwrap();
            let (got, err) = read_all(&mut r);
            assert!(err.is_none(), "step {step}: {err:?}");
            assert!(got == whole, "step {step}: different frames");
        }
    }

    /// With a stop asked, an `EINTR` ends the read: Ctrl-C on a pipe.
    #[test]
    fn an_interrupted_read_stops_when_asked() {
        static STOP: AtomicBool = AtomicBool::new(false);
        let bytes = [shb(), idb(1, 0, &[]), epb(0, 0, &[1], 1)].concat();
        // The first read is the section header's 28 bytes.
        let input = Trickle {
            bytes,
            at: 0,
            step: 28,
            interrupt: false,
        };
        let mut r = FileReader::open(input, &[], Some(&STOP)).unwrap();
        STOP.store(true, Ordering::Relaxed);
        // The header was read whole; the next read is interrupted.
        assert!(matches!(r.next(), Err(ReadError::Interrupted)));
    }

    /// `bytes` written to `path`, and a reader of it mapped.
    fn mapped_file(path: &std::path::Path, bytes: &[u8]) -> FileReader<std::fs::File> {
        std::fs::write(path, bytes).unwrap();
        let file = std::fs::File::open(path).unwrap();
        let mapping = Mapping::new(&file).expect("a regular file with bytes maps");
        FileReader::open_mapped(file, mapping, None).unwrap()
    }

    /// Cuts the file at `path` to `len` bytes, as `truncate` would.
    fn cut_file(path: &std::path::Path, len: usize) {
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .unwrap()
            .set_len(len as u64)
            .unwrap();
    }

    /// `bytes` as a file, and the frames read from it both ways: read
    /// into the buffer, and mapped.
    fn read_file_both_ways(bytes: &[u8]) -> [(Frames, Option<String>); 2] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("capture");
        std::fs::write(&path, bytes).unwrap();
        let both = read_path_both_ways(&path);
        both.map(|(frames, err)| (frames, err.map(|e| format!("{e:?}"))))
    }

    /// The frames of the capture at `path` read into the buffer, and mapped.
    fn read_path_both_ways(path: &std::path::Path) -> [(Frames, Option<ReadError>); 2] {
        let file = std::fs::File::open(path).unwrap();
        let read = FileReader::open(&file, &[], None).map(|mut r| read_all(&mut r));
        let mapping = Mapping::new(&file).expect("a regular file with bytes maps");
        let mapped = FileReader::open_mapped(&file, mapping, None).map(|mut r| read_all(&mut r));
        [read, mapped].map(|r| r.unwrap_or_else(|e| (Vec::new(), Some(e))))
    }

    /// A file mapped reads as the same file read, record for record, and
    /// ends the same way: every fixture and corpus capture, records across
    /// windows and one larger than a window, and damaged files.
    #[test]
    fn a_mapped_file_reads_as_the_file_read() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut paths = Vec::new();
        let mut dirs = vec![root.join("fixtures")];
        let corpus = root.join("../shared/corpus");
        if corpus.is_dir() {
            dirs.push(corpus);
        } else {
            eprintln!("SKIP file::a_mapped_file_reads_as_the_file_read corpus: ../shared/corpus is not beside the repository");
        }
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let p = entry.path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|e| e == "pcap" || e == "pcapng") {
                    paths.push(p);
                }
            }
        }
        assert!(paths.len() >= 10, "captures found: {}", paths.len());
        for path in &paths {
            let [read, mapped] = read_path_both_ways(path);
            let name = path.display();
            assert!(read.0 == mapped.0, "{name}: different frames");
            assert_eq!(
                format!("{:?}", read.1),
                format!("{:?}", mapped.1),
                "{name}: different ends"
            );
        }
        // Records across the window's edges, and one larger than a window.
        let mut bytes = [shb(), idb(1, 0, &[])].concat();
        for i in 0..2_000u32 {
            bytes.extend(epb(
                0,
                u64::from(i),
                &vec![i as u8; (i as usize * 37) % 1500],
                1500,
            ));
        }
        let big = vec![0xab; 600 << 10];
        bytes.extend(epb(0, 1 << 20, &big, big.len() as u32));
        bytes.extend(epb(0, 1 << 21, &[1, 2, 3], 3));
        let classic: Vec<u8> = [pcap_header(0xa1b2_c3d4, 0, 1)]
            .into_iter()
            .chain((0..3_000u32).map(|i| {
                let data = vec![i as u8; (i as usize * 53) % 1200];
                let n = data.len() as u32;
                [&[i, 0, n, n + 4].map(u32::to_le_bytes).concat()[..], &data].concat()
            }))
            .collect::<Vec<_>>()
            .concat();
        let cut = classic.len() - 7;
        for (name, bytes) in [
            ("pcapng", &bytes[..]),
            ("pcap", &classic[..]),
            ("pcap cut inside its last record", &classic[..cut]),
            (
                "pcapng cut inside its large block",
                &bytes[..bytes.len() - 300_000],
            ),
        ] {
            let [read, mapped] = read_file_both_ways(bytes);
            assert!(read.0.len() > 1_000, "{name}: {} frames", read.0.len());
            assert!(read.0 == mapped.0, "{name}: different frames");
            assert_eq!(read.1, mapped.1, "{name}: different ends");
            assert_eq!(
                read.1.is_some(),
                name.contains("cut"),
                "{name}: {:?}",
                read.1
            );
        }
    }

    /// A file cut short after it was mapped ends where it was cut, read as
    /// a truncated capture (no bus error); one that grew is read on. As
    /// read(2) would.
    #[test]
    fn a_mapped_file_cut_short_or_grown_is_read_as_it_is_now() {
        use std::io::Write;
        let record = |i: u32| {
            let data = vec![i as u8; 1000];
            [
                &[i, 0, 1000, 1000].map(u32::to_le_bytes).concat()[..],
                &data,
            ]
            .concat()
        };
        let head = pcap_header(0xa1b2_c3d4, 0, 1);
        let bytes: Vec<u8> = [head.clone()]
            .into_iter()
            .chain((0..4_000).map(record))
            .collect::<Vec<_>>()
            .concat();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("capture");

        // Cut 2 MB in, in the middle of a record, after the first was read.
        let mut r = mapped_file(&path, &bytes);
        let first = r.next().unwrap().unwrap();
        assert_eq!(r.data(&first), &[0u8; 1000][..]);
        let cut = 24 + 2_000 * 1016 + 500;
        cut_file(&path, cut);
        let (rest, end) = read_all(&mut r);
        assert_eq!(rest.len(), 1_999, "the records before the cut");
        let end = format!("{end:?}");
        assert!(
            end.contains("Truncated")
                && end.contains("tried to read 1000 captured bytes, only got 484"),
            "{end}"
        );

        // Grown after it was mapped: the records added are read too.
        let mut r = mapped_file(&path, &bytes[..24 + 10 * 1016]);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(&bytes[24 + 10 * 1016..])
            .unwrap();
        let (all, end) = read_all(&mut r);
        assert!(end.is_none(), "{end:?}");
        assert_eq!(all.len(), 4_000);
        assert_eq!(all[3_999].1, vec![3_999u32 as u8; 1000]);
    }

    /// A file cut inside the window the reader was already shown (its pages
    /// read as zeros past the cut: `mapped`'s handler) ends as truncated,
    /// saying where it was cut and which bytes read after the cut may be
    /// wrong: cut to nothing, inside a record, and between two records. A
    /// record of no bytes in a file not cut is read as before.
    #[test]
    fn a_mapped_file_cut_inside_its_window_ends_as_truncated() {
        let record = |i: u32| {
            let data = vec![i as u8 | 1; 1000];
            [
                &[i + 1, 0, 1000, 1000].map(u32::to_le_bytes).concat()[..],
                &data,
            ]
            .concat()
        };
        let bytes: Vec<u8> = [pcap_header(0xa1b2_c3d4, 0, 1)]
            .into_iter()
            .chain((0..400).map(record))
            .collect::<Vec<_>>()
            .concat();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("capture");
        // (cut, frames in all, the error's words)
        let at = |i: usize| 24 + i * 1016;
        let cases = [
            (0, 1, "cut to 0 bytes while kawatch read it; the frames read from its bytes 0 to 1040 may have been read after the cut"),
            // Inside the fourth record, whose bytes past the cut read as
            // zeros in the page the cut left.
            (at(3) + 500, 4, "cut to 3572 bytes while kawatch read it; the frames read from its bytes 3572 to 4088 may have been read after the cut"),
            (at(50), 50, "cut to 50824 bytes while kawatch read it"),
        ];
        for (cut, frames, words) in cases {
            let mut r = mapped_file(&path, &bytes);
            let first = r.next().unwrap().unwrap();
            assert_eq!(r.data(&first), &[1u8; 1000][..]);
            cut_file(&path, cut);
            let (rest, end) = read_all(&mut r);
            let end = format!("{end:?}");
            assert_eq!(rest.len() + 1, frames, "cut at {cut}: {end}");
            assert!(
                end.contains("Truncated") && end.contains(words),
                "cut at {cut}: {end}"
            );
            if cut == at(50) {
                assert!(!end.contains("may have been"), "{end}");
                assert!(rest.iter().all(|f| f.1.len() == 1000 && f.1[0] != 0));
            }
        }
        // Cut inside the third record's header: its lengths read as zeros,
        // not as a record of no bytes from 1970. Read record by record
        // and as `fill_whole` reads (whole records first).
        for cut in [at(2) + 1, at(2) + 7, at(2) + 8, at(2) + 12] {
            for whole_first in [false, true] {
                let mut r = mapped_file(&path, &bytes);
                assert!(r.next().unwrap().is_some());
                cut_file(&path, cut);
                let mut got = Vec::new();
                if whole_first {
                    while let Some(rec) = r.next_whole_pcap::<false>(16) {
                        got.push(rec.ts.0);
                    }
                }
                let (rest, end) = read_all(&mut r);
                got.extend(rest.iter().map(|f| f.0));
                let end = format!("{end:?}");
                assert!(
                    end.contains("Truncated") && end.contains(&format!("cut to {cut} bytes")),
                    "cut at {cut}: {end}"
                );
                assert!(
                    got.iter().all(|&ts| ts >= 1_000_000_000),
                    "cut at {cut}: a frame from 1970: {got:?}"
                );
                assert!(got.len() <= 2, "cut at {cut}: {} frames", got.len());
            }
        }
        // Cut, a page read as zeros, then the file written again whole
        // before the reader came to the zeros: they are still a cut.
        let mut r = mapped_file(&path, &bytes);
        assert!(r.next().unwrap().is_some());
        cut_file(&path, 0);
        assert_eq!(std::hint::black_box(r.buf[5000]), 0, "zeros past the cut");
        std::fs::write(&path, &bytes).unwrap();
        let (rest, end) = read_all(&mut r);
        let end = format!("{end:?}");
        assert!(
            end.contains("Truncated") && end.contains("cut to 4096 bytes"),
            "{end}"
        );
        assert_eq!(rest.len(), 3, "the records before the zeros: {end}");

        // Cut to nothing once the reader is past its first window: only
        // what it read since the size was last checked is in doubt.
        let mut r = mapped_file(&path, &bytes);
        for _ in 0..300 {
            assert!(r.next().unwrap().is_some());
        }
        cut_file(&path, 0);
        let (_, end) = read_all(&mut r);
        let end = format!("{end:?}");
        let from: u64 = end
            .split("from its bytes ")
            .nth(1)
            .and_then(|t| t.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{end}"));
        assert!((200_000..at(300) as u64).contains(&from), "{end}");

        // A record of no bytes (nor wire length) in a whole file.
        let empty: Vec<u8> = [0u32, 0, 0, 0].map(u32::to_le_bytes).concat();
        let whole = [&bytes[..at(2)], &empty, &bytes[at(2)..]].concat();
        let [read, mapped] = read_file_both_ways(&whole);
        assert!(read.1.is_none(), "{:?}", read.1);
        assert_eq!(read.0.len(), 401);
        assert!(read.0 == mapped.0 && read.1 == mapped.1);
    }

    /// A pcapng file cut inside a block (a packet's, a section's or an
    /// interface's header, read as zeros) ends as cut, not as damaged and
    /// not with a frame from 1970.
    #[test]
    fn a_mapped_pcapng_cut_inside_a_block_ends_as_truncated() {
        let epbs = |n: u64| -> Vec<u8> {
            (0..n)
                .flat_map(|i| epb(0, 1_700_000_000_000_000 + i, &vec![7u8; 997], 997))
                .collect()
        };
        let head = [shb(), idb(1, 0, &option(9, &[6])), epbs(3)].concat();
        let second = [shb(), idb(1, 0, &option(9, &[6])), epbs(3)].concat();
        let bytes = [&head[..], &second].concat();
        let epb_len = epbs(1).len();
        let first_epb = shb().len() + idb(1, 0, &option(9, &[6])).len();
        let cases = [
            ("a packet's interface", first_epb + epb_len + 8),
            ("a packet's time", first_epb + epb_len + 17),
            ("a packet's lengths", first_epb + epb_len + 22),
            ("a section's byte-order magic", head.len() + 8),
            ("a section's version", head.len() + 13),
            ("an interface's link type", head.len() + shb().len() + 9),
        ];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("capture");
        for (name, cut) in cases {
            let mut r = mapped_file(&path, &bytes);
            assert!(r.next().unwrap().is_some(), "{name}");
            cut_file(&path, cut);
            let (rest, end) = read_all(&mut r);
            let end = format!("{end:?}");
            assert!(
                end.contains("Truncated") && end.contains(&format!("cut to {cut} bytes")),
                "{name}: {end}"
            );
            assert!(
                rest.iter().all(|f| f.0 > 1_000_000_000 * 1_000_000_000),
                "{name}: {rest:?}"
            );
        }
    }

    proptest::proptest! {
        /// Any bytes after a valid header, and any byte of a valid file
        /// changed: the reader never panics, and ends (a frame per record
        /// at most, then the end or an error).
        #[test]
        fn damaged_input_never_panics(
            tail in proptest::collection::vec(proptest::num::u8::ANY, 0..600),
            flips in proptest::collection::vec((0usize..2000, proptest::num::u8::ANY), 0..8),
            pcapng in proptest::bool::ANY,
        ) {
            let mut bytes = if pcapng {
                [shb(), idb(1, 0, &option(9, &[9])), epb(0, 5, &[1; 60], 60), epb(0, 6, &[2; 40], 90)].concat()
            } else {
                let rec: Vec<u8> = [1u32, 2, 60, 60].iter().flat_map(|v| v.to_le_bytes()).collect();
                [pcap_header(0xa1b2_3c4d, 0, 1), rec, vec![3; 60]].concat()
            };
            bytes.extend(&tail);
            for (at, b) in flips {
                let n = bytes.len();
                bytes[at % n] = b;
            }
            if let Ok(mut r) = FileReader::open(&bytes[..], &[], None) {
                let (frames, _) = read_all(&mut r);
                proptest::prop_assert!(frames.len() <= bytes.len() / 16);
            }
        }
    }
}
