//! Frames from capture files (pcap, pcapng), standard input, and live
//! interfaces. The only module that touches libpcap: live interfaces and BPF
//! are libpcap's; files are read by kawatch's own reader ([`file`]), or by
//! libpcap when asked ([`Reader::Libpcap`], the reference).

// The OS calls here need unsafe: libpcap takes an open descriptor (a
// duplicated stdin, a file opened once, a pipe), files are opened with open(2)
// so a wait for a FIFO's writer can be interrupted, a pipe's feeder thread is
// started with SIGINT blocked, and a live read waits in poll(2).
#![allow(unsafe_code)]

mod ahead;
mod bpf;
mod file;
mod mapped;
mod merge;

pub use ahead::{read_ahead, read_batched, Ahead, Batch, Decode, Fed};
use bpf::Filter;
pub use bpf::{InterfaceScope, LeftOut, SocketFilter};
use file::{FileReader, ReadError, Record};
use flate2::bufread::GzDecoder;
use kawatch_core::LinkType;
use kawatch_core::{Analyzer, Event, Timestamp};
pub use merge::Merged;
use pcap::{Activated, Capture, Device, Offline, Precision};
use std::ffi::CString;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use thiserror::Error;

/// Why a capture could not be opened or read. Each message says what to do.
#[derive(Debug, Error)]
pub enum CaptureError {
    /// The file is missing or unreadable.
    #[error("cannot read {path}: {reason}")]
    Unreadable {
        /// The path given.
        path: String,
        /// What the OS said.
        reason: String,
    },
    /// The input is not a pcap or pcapng capture.
    #[error("{name} is not a pcap or pcapng capture ({reason})")]
    NotACapture {
        /// The input's name.
        name: String,
        /// What libpcap said.
        reason: String,
    },
    /// A gzip-compressed capture given to libpcap, which reads no gzip.
    #[error(
        "{name} is gzip-compressed, which libpcap does not read: leave out --reader libpcap (kawatch's own reader decompresses it), or decompress it first, e.g. `zcat {} | kawatch report --reader libpcap -`",
        if name == "-" { "FILE" } else { name }
    )]
    Compressed {
        /// The input's name.
        name: String,
    },
    /// The capture's link type is not one kawatch decodes.
    #[error("{name}: link type {dlt} ({dlt_name}) is not supported; kawatch decodes Ethernet (with VLAN tags), Linux cooked SLL/SLL2, BSD NULL/LOOP and raw IPv4/IPv6")]
    UnsupportedLink {
        /// The input's name.
        name: String,
        /// DLT value.
        dlt: i32,
        /// DLT name.
        dlt_name: String,
    },
    /// The BPF filter did not compile.
    #[error("bad filter {filter:?}: {reason}")]
    BadFilter {
        /// The filter text.
        filter: String,
        /// What libpcap said.
        reason: String,
    },
    /// No permission to capture.
    #[error("no permission to capture on {interface}: run as root, or let the binary capture: sudo setcap cap_net_raw,cap_net_admin=eip {exe}")]
    Permission {
        /// The interface.
        interface: String,
        /// This executable's path.
        exe: String,
    },
    /// No such interface.
    #[error("no interface named {interface}; interfaces here: {available}")]
    NoSuchInterface {
        /// The name given.
        interface: String,
        /// The names that exist.
        available: String,
    },
    /// The input ended in the middle of a record. The frames before it were
    /// read.
    #[error("{name} ends in the middle of a packet ({reason}); reporting what was read")]
    Truncated {
        /// The input's name.
        name: String,
        /// What libpcap said.
        reason: String,
    },
    /// A record after the first could not be read (libpcap refused it, e.g.
    /// a captured length larger than any snapshot length, or reading the
    /// input failed). The frames before it were read.
    #[error("{name} cannot be read past packet {after} ({reason}); reporting the {after} packets before it")]
    Damaged {
        /// The input's name.
        name: String,
        /// Frames read before the record that failed.
        after: u64,
        /// What libpcap or the OS said.
        reason: String,
    },
    /// The first record could not be read (for the reasons of
    /// [`CaptureError::Damaged`]): nothing to report.
    #[error("{name}: the first packet cannot be read ({reason}); there is nothing to report")]
    DamagedAtStart {
        /// The input's name.
        name: String,
        /// What libpcap or the OS said.
        reason: String,
    },
    /// One of several pieces merged as one input (`--merge`) could not be
    /// read to its end ([`CaptureError::Truncated`] or
    /// [`CaptureError::Damaged`]): its frames before stand, and the reason
    /// names the piece.
    #[error("{message}")]
    InPiece {
        /// The piece's name.
        name: String,
        /// Why it stopped, as the piece's own report would say it.
        reason: String,
        /// The piece's error, as said on its own.
        message: String,
    },
    /// One of several pieces merged as one input (`--merge`) could not be
    /// read at all; the others were merged without it.
    #[error("{reason}; the other pieces are merged without {name}")]
    PieceUnread {
        /// The piece's name.
        name: String,
        /// Why it could not be read.
        reason: String,
    },
    /// Stopped (Ctrl-C) while opening: waiting for a FIFO's writer, or for
    /// the capture's header from a pipe. Nothing was read.
    #[error("interrupted before a capture header was read from {name}: nothing to report")]
    Interrupted {
        /// The input's name.
        name: String,
    },
    /// Any other libpcap failure.
    #[error("{name}: {reason}")]
    Pcap {
        /// The input's name.
        name: String,
        /// What libpcap said.
        reason: String,
    },
}

impl CaptureError {
    /// Whether the input could not be read to its end but the frames read
    /// before the failure stand: [`CaptureError::Truncated`] and
    /// [`CaptureError::Damaged`], and a piece of a merge left out
    /// ([`CaptureError::PieceUnread`]). A report of them is a partial report.
    pub fn is_partial(&self) -> bool {
        matches!(
            self,
            CaptureError::Truncated { .. }
                | CaptureError::Damaged { .. }
                | CaptureError::InPiece { .. }
                | CaptureError::PieceUnread { .. }
        )
    }

    /// For a partial read ([`CaptureError::is_partial`]), why it stopped, as
    /// the report's `truncated_reason` says it: `cut off in the middle of a
    /// packet: ...` or `unreadable after packet N: ...`, with libpcap's or the
    /// OS's words.
    pub fn partial_reason(&self) -> Option<String> {
        match self {
            CaptureError::Truncated { reason, .. } => {
                Some(format!("cut off in the middle of a packet: {reason}"))
            }
            CaptureError::Damaged { after, reason, .. } => {
                Some(format!("unreadable after packet {after}: {reason}"))
            }
            CaptureError::InPiece { name, reason, .. } => Some(format!("{name}: {reason}")),
            CaptureError::PieceUnread { reason, .. } => {
                Some(format!("a piece could not be read: {reason}"))
            }
            _ => None,
        }
    }
}

/// How long a live read waits for a packet before returning [`Next::Timeout`];
/// also how long the kernel holds a ring block that is not full before it
/// hands it over (libpcap's read timeout is TPACKET_V3's block timeout), so
/// a frame reaches kawatch at most about this late.
const POLL_MS: i32 = 100;

/// Bytes kept per live frame unless `--snaplen` says otherwise: every header
/// kawatch decodes (Ethernet with VLAN tags or SLL2, IPv6 with extension
/// headers, TCP with options) and the first bytes of payload. Segment lengths
/// come from the IP header, so a cut frame loses nothing kawatch reads.
///
/// The ring (TPACKET_V3) packs frames by the bytes kept of each, so a small
/// snaplen also means more frames held while the reader waits for a CPU.
pub const LIVE_SNAPLEN: i32 = 256;

/// Kernel ring for live captures unless `--buffer-size` says otherwise:
/// about 24,000 frames of [`LIVE_SNAPLEN`] bytes, so the reader can lose the
/// CPU for tens of milliseconds at 100k packets/s without a kernel drop.
pub const LIVE_BUFFER_BYTES: i32 = 8 << 20;

/// The wall clock as a capture timestamp: the clock a live capture's
/// frames are stamped by.
pub fn wall_clock() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_parts(
        i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        i64::from(d.subsec_nanos()),
    )
}

/// A ring smaller than this is read frame by frame (libpcap's immediate
/// mode, TPACKET_V2). Otherwise the kernel hands frames over in blocks of
/// 256 KiB (libpcap's size), and a ring of a few blocks drops frames while
/// kawatch reads one: at 256 KiB, one block, a steady 19 k packets/s lost
/// hundreds a second that immediate mode kept.
pub const IMMEDIATE_BELOW_BYTES: i32 = 2 << 20;

/// After [`Source::stop`], how long to wait for frames the kernel counted but
/// has not yet handed over: being copied into the ring, or in a block not
/// yet full, which the kernel hands over within about [`POLL_MS`] of its
/// first frame.
const STOP_QUIET: Duration = Duration::from_millis(2 * POLL_MS as u64);

/// After [`Source::stop`], the longest the drain may take in all.
const STOP_LIMIT: Duration = Duration::from_secs(2);

/// Options for a live capture.
#[derive(Clone, Debug, Default)]
pub struct LiveOptions {
    /// Interface name; `None` picks the default as tcpdump does.
    pub interface: Option<String>,
    /// Promiscuous mode (off unless asked).
    pub promisc: bool,
    /// Kernel buffer size in bytes; [`LIVE_BUFFER_BYTES`] when `None`.
    pub buffer_size: Option<i32>,
    /// Bytes kept per frame; [`LIVE_SNAPLEN`] when `None`.
    pub snaplen: Option<i32>,
}

/// One captured frame, borrowed from libpcap's buffer.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// Capture timestamp.
    pub ts: Timestamp,
    /// Captured bytes (may be fewer than were on the wire).
    pub data: &'a [u8],
    /// The frame's length on the wire (libpcap's `len`): more than
    /// `data.len()` when the snaplen cut it.
    pub wire_len: u32,
    /// Its link type; `None` when kawatch does not decode it (an interface
    /// of a pcapng file with several).
    pub link: Option<LinkType>,
    /// Which of [`FrameSource::input_names`] it came from (several read as
    /// one: [`Merged`]); 0 otherwise.
    pub input: usize,
    /// Frames of the input the filter left out just before this one (so
    /// frame numbers stay positions in the input).
    pub skipped: u64,
    /// Decoded already, on the thread that read it ([`read_ahead`]): what
    /// [`decode_with_len`](kawatch_core::decode_with_len) made of it, and
    /// `data` is then empty.
    pub decoded: Option<&'a Decoded>,
}

/// A frame decoded on the thread that read it: its segment (`None`: not a
/// TCP segment kawatch decodes) and how many bytes were captured.
#[derive(Clone, Copy, Debug)]
pub struct Decoded {
    /// The segment; its frame number is set when it is ingested.
    pub segment: Option<kawatch_core::Segment>,
    /// Bytes captured.
    pub caplen: u32,
}

impl Frame<'_> {
    /// Bytes captured.
    pub fn captured(&self) -> usize {
        self.decoded.map_or(self.data.len(), |d| d.caplen as usize)
    }
}

impl Frame<'_> {
    /// Feeds the frame to `an`; the events it decided. A frame of a link
    /// type kawatch does not decode counts as undecoded.
    pub fn ingest<'a>(&self, an: &'a mut Analyzer) -> &'a [Event] {
        match (self.link, self.decoded) {
            (Some(_), Some(d)) => ingest_decoded(an, self.input, self.skipped, self.ts, d),
            (Some(link), None) => {
                an.set_input(self.input);
                an.skip_frames(self.skipped);
                an.ingest_link_frame(link, self.ts, self.data, self.wire_len)
            }
            (None, _) => {
                an.set_input(self.input);
                an.skip_frames(self.skipped);
                an.ingest_undecodable(self.ts)
            }
        }
    }
}

/// [`Frame::ingest`] of a frame of a link type kawatch decodes, decoded
/// already: from input `input`, after `skipped` frames the filter left out.
#[inline(always)]
pub(crate) fn ingest_decoded<'a>(
    an: &'a mut Analyzer,
    input: usize,
    skipped: u64,
    ts: Timestamp,
    d: &Decoded,
) -> &'a [Event] {
    an.set_input(input);
    an.skip_frames(skipped);
    an.ingest_decoded_ref(ts, d.segment.as_ref())
}

/// Which reader reads capture files and standard input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Reader {
    /// kawatch's own: faster, reads pcap seconds past 2038, and pcapng files
    /// whose interfaces have different link types or whose sections have
    /// different byte orders.
    #[default]
    Native,
    /// libpcap's `pcap_fopen_offline`, the reference.
    Libpcap,
}

/// How to open a capture file or standard input.
#[derive(Clone, Copy, Debug, Default)]
pub struct OpenOptions<'a> {
    /// A BPF filter, as tcpdump takes it.
    pub filter: Option<&'a str>,
    /// Which reader reads it.
    pub reader: Reader,
    /// Set (by a Ctrl-C handler installed without `SA_RESTART`) to give up
    /// a wait: for a FIFO's writer, or for bytes from a pipe.
    pub stop: Option<&'static AtomicBool>,
    /// A pipe or FIFO read by kawatch's own reader: when nothing comes for
    /// this long, [`Source::next_frame`] gives [`Next::Timeout`], as a
    /// live capture does (`report -U` writes what waited).
    pub wake: Option<Duration>,
}

/// What the next read gave.
#[derive(Debug)]
pub enum Next<'a> {
    /// A frame.
    Frame(Frame<'a>),
    /// Live capture: no frame within 100 ms; a pipe opened with
    /// [`OpenOptions::wake`]: none within that.
    Timeout,
    /// End of the input.
    End,
}

/// Packet counts from the kernel for a live capture.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Packets the filter accepted.
    pub received: u32,
    /// Dropped for lack of buffer space.
    pub dropped: u32,
    /// Dropped by the interface or driver.
    pub if_dropped: u32,
}

/// An open capture.
pub struct Source {
    input: Input,
    link: LinkType,
    dlt_name: String,
    name: String,
    live: bool,
    /// Live captures: the descriptor to wait on between non-blocking reads.
    poll_fd: Option<RawFd>,
    /// Frames handed out so far.
    frames: u64,
    /// Set by [`Source::stop`]: where a live capture ends.
    stop: Option<StopPoint>,
    /// An input that is not a regular file, replayed to libpcap through a
    /// pipe by a thread of its own.
    feeder: Option<Feeder>,
    /// A regular file: how to open it again ([`Source::reopen`]).
    reopen: Option<Reopen>,
    /// A live capture's filter ([`FrameSource::capture_filter`]).
    live_filter: Option<String>,
}

/// How a regular capture file was opened, to open it again.
#[derive(Clone, Debug)]
struct Reopen {
    path: std::path::PathBuf,
    filter: Option<String>,
    reader: Reader,
    stop: Option<&'static AtomicBool>,
}

/// What frames are read from.
enum Input {
    /// libpcap: a live interface, or a file with [`Reader::Libpcap`].
    Libpcap(Capture<dyn Activated>),
    /// kawatch's own file reader.
    File(Box<NativeFile>),
}

impl Source {
    /// How libpcap compiles a filter for this source's frames
    /// ([`bpf::Flavour`]): a file's in its byte order, a live capture's as
    /// such.
    pub(crate) fn filter_flavour(&self) -> bpf::Flavour {
        match &self.input {
            Input::File(f) => bpf::Flavour::File {
                big_endian: f.reader.big_endian(),
            },
            Input::Libpcap(_) if self.live => bpf::Flavour::Live,
            Input::Libpcap(c) => bpf::Flavour::File {
                // (A file read by libpcap: written in the other byte order
                // than this machine's when it swaps.)
                big_endian: cfg!(target_endian = "big") != libpcap_swapped(c),
            },
        }
    }
}

extern "C" {
    // From libpcap, which the pcap crate links.
    fn pcap_is_swapped(p: *mut std::ffi::c_void) -> libc::c_int;
}

/// Whether libpcap swaps the byte order of the file `c` reads.
fn libpcap_swapped(c: &Capture<dyn Activated>) -> bool {
    // SAFETY: `c`'s handle is live while `c` is; the call only reads it.
    unsafe { pcap_is_swapped(c.as_ptr().cast()) == 1 }
}

/// What kawatch's own reader reads: a file or standard input as it is, or
/// gzip-compressed (as tshark reads a `.pcap.gz`), decompressed as it is
/// read; its first bytes, read to tell, come again first.
enum Stream {
    Plain(File),
    Gzip(Box<GzipMembers>),
}

/// gzip's magic number.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

impl Stream {
    /// `file`, whose first bytes `head` were read, decompressed.
    fn gzip(file: File, head: Vec<u8>) -> Stream {
        let compressed = BufReader::with_capacity(64 << 10, io::Cursor::new(head).chain(file));
        Stream::Gzip(Box::new(GzipMembers {
            member: Some(GzDecoder::new(compressed)),
        }))
    }

    /// The file read (compressed, when it is).
    fn file(&self) -> Option<&File> {
        match self {
            Stream::Plain(f) => Some(f),
            Stream::Gzip(g) => g.member.as_ref().map(|m| m.get_ref().get_ref().get_ref().1),
        }
    }
}

/// What a gzip file holds, compressed: its first bytes again, then the rest.
type Compressed = BufReader<io::Chain<io::Cursor<Vec<u8>>, File>>;

/// A gzip file's members decompressed one after another, as `gzip -d`
/// reads them: zero bytes after the last member are padding (tape
/// blocks; `gzip -t` calls the file OK), and anything else after it is an
/// error that says so (gzip's "trailing garbage"), after every frame
/// before it was read.
struct GzipMembers {
    /// The member being read (`None` only while the next replaces it).
    member: Option<GzDecoder<Compressed>>,
}

impl Read for GzipMembers {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(member) = self.member.as_mut() else {
                return Ok(0);
            };
            let n = member.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            // The member ended: the file does, or zero padding, or another member.
            let rest = member.get_mut();
            let mut zeros = 0u64;
            let next = loop {
                let b = rest.fill_buf()?;
                let Some(&first) = b.first() else {
                    break None;
                };
                let z = b.iter().take_while(|&&x| x == 0).count();
                if z == 0 {
                    break Some(first);
                }
                zeros += z as u64;
                rest.consume(z);
            };
            match next {
                None => return Ok(0),
                Some(0x1f) if zeros == 0 => {
                    let rest = self.member.take().map(GzDecoder::into_inner);
                    self.member = rest.map(GzDecoder::new);
                }
                Some(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "after the last gzip member{} come bytes that are not another member \
                             (gzip's \"trailing garbage\"): the capture may have been cut and \
                             something else appended",
                            if zeros > 0 {
                                format!(" and {zeros} zero bytes")
                            } else {
                                String::new()
                            }
                        ),
                    ))
                }
            }
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(f) => f.read(buf),
            Stream::Gzip(g) => g.read(buf),
        }
    }
}

/// A file or standard input read by kawatch's own reader.
struct NativeFile {
    reader: FileReader<Stream>,
    filter: Option<Filter>,
    /// Per LINKTYPE_ met: its link type (if decoded) and filter program.
    links: Vec<LinkState>,
    /// What the caller should be told (see [`Source::take_warnings`]).
    warnings: Vec<String>,
    /// Frames the filter left out before the input fell silent
    /// ([`Passing::Quiet`]).
    skipped_quiet: u64,
    /// Frames the filter left out so far: with those it passed, the
    /// records read (a record that cannot be read after some were is no
    /// damage at the start, whether or not any passed).
    left_out: u64,
    /// Why the filter did not compile for the first link type it did not.
    refused: Option<String>,
    /// Packets with no time ([`FileReader::untimed`]) already warned of.
    untimed_told: u64,
    /// Frames passed of each LINKTYPE_ kawatch does not decode (pcapng
    /// interfaces beside others it does), not yet warned of.
    undecodable: Vec<(u32, u64)>,
}

/// What [`NativeFile::next_passing`] read.
enum Passing {
    /// A record that passes the filter, its link type, and how many the
    /// filter left out before it.
    Frame(Record, Option<LinkType>, u64),
    /// A pipe fell silent ([`OpenOptions::wake`]).
    Quiet,
    /// The end of the input.
    End,
}

#[derive(Clone, Copy, Debug)]
struct LinkState {
    linktype: u32,
    link: Option<LinkType>,
    program: Pass,
}

/// Which frames of a link type the filter lets through.
#[derive(Clone, Copy, Debug)]
enum Pass {
    /// No filter.
    All,
    /// Those the filter's program for this link type accepts.
    Program(usize),
    /// None: the filter does not apply to this link type.
    None,
}

/// The thread that copies a FIFO, pipe or character device into the pipe
/// libpcap reads, after the bytes read from its start to recognise it: such
/// an input can be opened and read only once.
#[derive(Debug)]
struct Feeder {
    /// Why reading the input failed, if it did; set before the pipe closes,
    /// so that libpcap's early end is known to be a failure.
    error: Arc<Mutex<Option<String>>>,
}

impl Feeder {
    /// Starts copying `head` and then the rest of `input`; returns the pipe's
    /// read end. The thread ends at the input's end, on a read error, or
    /// when the read end is closed.
    fn start(input: File, head: Vec<u8>) -> io::Result<(File, Feeder)> {
        let (read_end, write_end) = pipe()?;
        let error = Arc::new(Mutex::new(None));
        let failed = Arc::clone(&error);
        // Born with SIGINT blocked, so a Ctrl-C reaches (and interrupts) the
        // thread reading the pipe, never this one.
        without_sigint(|| {
            std::thread::Builder::new()
                .name("kawatch-input".into())
                .spawn(move || copy_input(input, &head, write_end, &failed))
        })?;
        Ok((read_end, Feeder { error }))
    }

    fn error(&self) -> Option<String> {
        self.error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The feeder thread: `head`, then `input` to its end, into `out`.
fn copy_input(mut input: File, head: &[u8], mut out: File, failed: &Mutex<Option<String>>) {
    if out.write_all(head).is_err() {
        return; // libpcap closed the pipe: it has read all it wants.
    }
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                *failed.lock().unwrap_or_else(PoisonError::into_inner) = Some(e.to_string());
                return;
            }
        };
        if out.write_all(&buf[..n]).is_err() {
            return;
        }
    }
}

/// The end of a live capture: the kernel's counts at the moment it was told
/// to stop. Everything counted then is read; nothing after it.
#[derive(Clone, Copy, Debug)]
struct StopPoint {
    /// Counts at the stop; what [`Source::stats`] reports from then on.
    stats: Stats,
    /// Frames to have read in all when the drain is complete.
    target: u64,
    /// The stop's moment on the wall clock, the kernel's timestamps' clock:
    /// a frame stamped later came after the stop, and so did every frame
    /// behind it in the ring. It ends the drain where the count cannot (on
    /// `lo` the kernel counts each packet twice, and libpcap keeps one).
    at: Timestamp,
    /// When the drain gives up waiting for the rest.
    deadline: Instant,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("name", &self.name)
            .field("link", &self.link)
            .finish()
    }
}

impl Source {
    /// Opens a capture file with kawatch's own reader, applying an optional
    /// BPF filter.
    pub fn open_file(path: &Path, filter: Option<&str>) -> Result<Source, CaptureError> {
        Source::open_file_with(
            path,
            &OpenOptions {
                filter,
                ..OpenOptions::default()
            },
        )
    }

    /// Opens a capture file as `opts` say.
    ///
    /// The path is opened once, so FIFOs, `/dev/fd/N` (a shell's `<(...)`)
    /// and character devices work: the first bytes are read to recognise a
    /// gzip file, and the reader goes on from them. (libpcap, which must
    /// read the descriptor itself, is handed a regular file from its start
    /// again, or a pipe that replays those bytes and copies the rest.)
    ///
    /// With `opts.stop`, opening gives up with [`CaptureError::Interrupted`]
    /// when it is set while a wait (for a FIFO's writer, or for the first
    /// bytes of a pipe) is interrupted.
    pub fn open_file_with(path: &Path, opts: &OpenOptions<'_>) -> Result<Source, CaptureError> {
        let mut src = Source::open_path(path, opts)?;
        if std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
            src.reopen = Some(Reopen {
                path: path.to_path_buf(),
                filter: opts.filter.map(str::to_owned),
                reader: opts.reader,
                stop: opts.stop,
            });
        }
        Ok(src)
    }

    /// Whether [`Source::reopen`] can open it again: a regular file.
    pub fn can_reopen(&self) -> bool {
        self.reopen.is_some()
    }

    /// A regular file opened again as it was first (path, filter, reader),
    /// to read it from its start; `None` for any other input (standard
    /// input, a pipe or FIFO, a live capture), which cannot be read twice.
    pub fn reopen(&self) -> Option<Result<Source, CaptureError>> {
        let r = self.reopen.as_ref()?;
        let opts = OpenOptions {
            filter: r.filter.as_deref(),
            reader: r.reader,
            stop: r.stop,
            wake: None,
        };
        Some(Source::open_file_with(&r.path, &opts))
    }

    fn open_path(path: &Path, opts: &OpenOptions<'_>) -> Result<Source, CaptureError> {
        let name = path.display().to_string();
        let unreadable = |e: io::Error| CaptureError::Unreadable {
            path: name.clone(),
            reason: e.to_string(),
        };
        let interrupted = || CaptureError::Interrupted { name: name.clone() };
        let mut file = match open_read(path, opts.stop) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(interrupted()),
            r => r.map_err(unreadable)?,
        };
        let regular = file.metadata().map_err(unreadable)?.is_file();
        let head = match read_head(&mut file, 4, opts.stop) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(interrupted()),
            r => r.map_err(unreadable)?,
        };
        match opts.reader {
            Reader::Native if head.starts_with(&GZIP_MAGIC) => Source::gzip(file, head, name, opts),
            Reader::Native => Source::native(Stream::Plain(file), &head, name, opts, regular),
            Reader::Libpcap => Source::libpcap(file, head, name, opts, regular),
        }
    }

    /// libpcap's reader over `file`, whose first bytes `head` (at least 4
    /// where the input has them) were read: from its start again when
    /// `regular`, else fed through a pipe after `head`. A compressed input
    /// is named here (libpcap would say only "unknown file format").
    fn libpcap(
        mut file: File,
        head: Vec<u8>,
        name: String,
        opts: &OpenOptions<'_>,
        regular: bool,
    ) -> Result<Source, CaptureError> {
        if head.is_empty() {
            let reason = "it is empty".into();
            return Err(CaptureError::NotACapture { name, reason });
        }
        if head.starts_with(&GZIP_MAGIC) {
            return Err(CaptureError::Compressed { name });
        }
        let other = <[u8; 4]>::try_from(head.as_slice())
            .ok()
            .and_then(file::compressed_reason);
        if let Some(reason) = other {
            return Err(CaptureError::NotACapture { name, reason });
        }
        let (fd, feeder) = if regular {
            file.seek(SeekFrom::Start(0))
                .map_err(|e| CaptureError::Unreadable {
                    path: name.clone(),
                    reason: e.to_string(),
                })?;
            (file.into_raw_fd(), None)
        } else {
            let (read_end, feeder) =
                Feeder::start(file, head).map_err(|e| CaptureError::Unreadable {
                    path: name.clone(),
                    reason: e.to_string(),
                })?;
            (read_end.into_raw_fd(), Some(feeder))
        };
        let cap = offline(fd, &name, opts.stop).map_err(|e| {
            // A pipe that failed to read shows to libpcap as a short file.
            match feeder.as_ref().and_then(Feeder::error) {
                Some(reason) => CaptureError::Unreadable {
                    path: name.clone(),
                    reason,
                },
                None => e,
            }
        })?;
        let mut src = Source::finish(cap.into(), name, opts.filter, false)?;
        src.feeder = feeder;
        Ok(src)
    }

    /// Opens standard input as a capture (`tcpdump -w - | kawatch report -`).
    pub fn open_stdin(filter: Option<&str>) -> Result<Source, CaptureError> {
        Source::open_stdin_with(&OpenOptions {
            filter,
            ..OpenOptions::default()
        })
    }

    /// Opens standard input as `opts` say (see [`Source::open_file_with`]).
    pub fn open_stdin_with(opts: &OpenOptions<'_>) -> Result<Source, CaptureError> {
        let name = "-".to_string();
        // SAFETY: a duplicate of fd 0 is owned by what reads it, so closing
        // the capture never closes the process's own standard input.
        let fd = unsafe { libc::dup(0) };
        if fd < 0 {
            return Err(CaptureError::Unreadable {
                path: name,
                reason: std::io::Error::last_os_error().to_string(),
            });
        }
        // SAFETY: `fd` was just made by dup and nothing else owns it.
        let mut file = unsafe { File::from_raw_fd(fd) };
        let head = match read_head(&mut file, 4, opts.stop) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                return Err(CaptureError::Interrupted { name })
            }
            Err(e) => {
                return Err(CaptureError::Unreadable {
                    path: name,
                    reason: e.to_string(),
                })
            }
            Ok(head) => head,
        };
        match opts.reader {
            Reader::Native if head.starts_with(&GZIP_MAGIC) => Source::gzip(file, head, name, opts),
            Reader::Native => Source::native(Stream::Plain(file), &head, name, opts, false),
            Reader::Libpcap => Source::libpcap(file, head, name, opts, false),
        }
    }

    /// kawatch's own reader over gzip-compressed `file`, whose first bytes
    /// `head` were read.
    fn gzip(
        file: File,
        head: Vec<u8>,
        name: String,
        opts: &OpenOptions<'_>,
    ) -> Result<Source, CaptureError> {
        let mut stream = Stream::gzip(file, head);
        let head = match read_head(&mut stream, 2, opts.stop) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                return Err(CaptureError::Interrupted { name })
            }
            Err(e) => {
                return Err(CaptureError::NotACapture {
                    name,
                    reason: format!("it begins as gzip but does not decompress: {e}"),
                })
            }
            Ok(head) => head,
        };
        Source::native(stream, &head, name, opts, false)
    }

    /// kawatch's own reader over `file`, whose first bytes `head` were
    /// read; in place, its pages mapped, when `map` (a regular file) and
    /// the process has [`one_core`].
    fn native(
        file: Stream,
        head: &[u8],
        name: String,
        opts: &OpenOptions<'_>,
        map: bool,
    ) -> Result<Source, CaptureError> {
        let read_error = |e: ReadError| match e {
            ReadError::NotACapture(reason) => CaptureError::NotACapture {
                name: name.clone(),
                reason,
            },
            ReadError::Interrupted => CaptureError::Interrupted { name: name.clone() },
            // Cut off before its first packet: nothing to report.
            ReadError::Truncated(reason) => CaptureError::DamagedAtStart {
                name: name.clone(),
                reason: format!("cut off before its first packet: {reason}"),
            },
            e => read_failure(&name, 0, e),
        };
        let mapping = match &file {
            Stream::Plain(f) if map && one_core() => mapped::Mapping::new(f),
            _ => None,
        };
        // (A regular file is always readable: only a pipe waits.)
        let wake = opts.wake.and_then(|wait| {
            let f = file.file()?;
            f.metadata()
                .is_ok_and(|m| !m.is_file())
                .then(|| (f.as_raw_fd(), wait))
        });
        let mut reader = match mapping {
            Some(m) => FileReader::open_mapped(file, m, opts.stop),
            None => FileReader::open(file, head, opts.stop),
        }
        .map_err(read_error)?;
        let leading: Vec<u32> = reader
            .leading_interfaces()
            .map_err(read_error)?
            .iter()
            .map(|i| i.link)
            .collect();
        // (Only now: opening waits for the leading blocks, however long a
        // pcapng writer takes to its first packet.)
        if let Some((fd, wait)) = wake {
            reader.wake_when_quiet(fd, wait);
        }
        let Some(&first) = leading.first() else {
            return Err(CaptureError::NotACapture {
                name,
                reason: "it has no interface description block".into(),
            });
        };
        // The first link type kawatch decodes; refused only if none is.
        let Some(link) = leading
            .iter()
            .find_map(|&l| LinkType::from_dlt(bpf::dlt_of_linktype(l)))
        else {
            let dlt = bpf::dlt_of_linktype(first);
            return Err(CaptureError::UnsupportedLink {
                name,
                dlt,
                dlt_name: bpf::dlt_name(dlt),
            });
        };
        let filter = opts
            .filter
            .filter(|f| !f.trim().is_empty())
            .map(Filter::new);
        let mut native = NativeFile {
            reader,
            filter,
            links: Vec::new(),
            warnings: Vec::new(),
            skipped_quiet: 0,
            left_out: 0,
            refused: None,
            untimed_told: 0,
            undecodable: Vec::new(),
        };
        let mut names = String::new();
        for l in leading {
            native.link_state(l, &mut names);
        }
        native.filter_applies()?;
        Ok(Source {
            input: Input::File(Box::new(native)),
            link,
            dlt_name: names,
            name,
            live: false,
            poll_fd: None,
            frames: 0,
            stop: None,
            feeder: None,
            reopen: None,
            live_filter: None,
        })
    }

    /// Opens a live capture. Not in libpcap's immediate mode (unless the
    /// ring is smaller than [`IMMEDIATE_BELOW_BYTES`]): the kernel hands
    /// frames over a ring block at a time (TPACKET_V3), when the block is
    /// full or within about 100 ms of its first frame, so kawatch wakes once
    /// a block, not once a frame. Measured with `scripts/bench`'s live part,
    /// it spends a quarter of the CPU a packet that immediate mode did, and
    /// the sender, whose CPU copies each frame into the ring, sends more; a
    /// probe shows at most about 100 ms late. The price: at low rates each
    /// 100 ms with a frame takes a block, so a reader stopped for longer
    /// than the ring's blocks times 100 ms (3.2 s at the default 8 MiB, e.g.
    /// suspended by Ctrl-Z) loses frames, counted as the kernel's drops.
    pub fn open_live(opts: &LiveOptions, filter: Option<&str>) -> Result<Source, CaptureError> {
        let devices = Device::list().unwrap_or_default();
        let interface = match &opts.interface {
            Some(i) => i.clone(),
            None => Device::lookup()
                .ok()
                .flatten()
                .map(|d| d.name)
                .ok_or_else(|| CaptureError::NoSuchInterface {
                    interface: "(default)".into(),
                    available: names(&devices),
                })?,
        };
        if !devices.iter().any(|d| d.name == interface) {
            return Err(CaptureError::NoSuchInterface {
                interface,
                available: names(&devices),
            });
        }
        let buffer = opts.buffer_size.unwrap_or(LIVE_BUFFER_BYTES);
        let inactive = Capture::from_device(interface.as_str())
            .map_err(|e| CaptureError::Pcap {
                name: interface.clone(),
                reason: e.to_string(),
            })?
            .immediate_mode(buffer < IMMEDIATE_BELOW_BYTES)
            .promisc(opts.promisc)
            .snaplen(opts.snaplen.unwrap_or(LIVE_SNAPLEN))
            .timeout(POLL_MS)
            .precision(Precision::Nano)
            .buffer_size(buffer);
        let cap = inactive.open().map_err(|e| {
            let reason = e.to_string();
            if reason.to_lowercase().contains("permission")
                || reason.contains("Operation not permitted")
            {
                let exe = std::env::current_exe()
                    .map_or_else(|_| "kawatch".into(), |p| p.display().to_string());
                CaptureError::Permission {
                    interface: interface.clone(),
                    exe,
                }
            } else {
                CaptureError::Pcap {
                    name: interface.clone(),
                    reason,
                }
            }
        })?;
        // libpcap's read timeout need not fire while no packet comes (with
        // TPACKET_V3 on an idle interface it never does), so reads are
        // non-blocking and `next_frame` waits in poll(2).
        let cap = cap.setnonblock().map_err(|e| CaptureError::Pcap {
            name: interface.clone(),
            reason: e.to_string(),
        })?;
        let mut cap = cap;
        if interface == "any" {
            // Cooked v2 (as `tcpdump -i any` writes) carries the interface index;
            // libpcap defaults to v1. Either decodes, so a refusal is harmless.
            let _ = cap.set_datalink(pcap::Linktype::LINUX_SLL2);
        }
        let fd = cap.as_raw_fd();
        let mut src = Source::finish(cap.into(), format!("interface:{interface}"), filter, true)?;
        src.poll_fd = Some(fd);
        Ok(src)
    }

    fn finish(
        mut cap: Capture<dyn Activated>,
        name: String,
        filter: Option<&str>,
        live: bool,
    ) -> Result<Source, CaptureError> {
        let dlt = cap.get_datalink();
        let dlt_name = dlt.get_name().unwrap_or_else(|_| format!("DLT {}", dlt.0));
        let link = LinkType::from_dlt(dlt.0).ok_or_else(|| CaptureError::UnsupportedLink {
            name: name.clone(),
            dlt: dlt.0,
            dlt_name: dlt_name.clone(),
        })?;
        if let Some(f) = filter.filter(|f| !f.trim().is_empty()) {
            cap.filter(f, true).map_err(|e| CaptureError::BadFilter {
                filter: f.to_string(),
                reason: e.to_string(),
            })?;
        }
        let live_filter = filter
            .filter(|f| live && !f.trim().is_empty())
            .map(str::to_owned);
        Ok(Source {
            input: Input::Libpcap(cap),
            link,
            dlt_name,
            name,
            live,
            poll_fd: None,
            frames: 0,
            stop: None,
            feeder: None,
            reopen: None,
            live_filter,
        })
    }

    /// The next frame, a live read timeout, or the end of the input.
    ///
    /// After [`Source::stop`], a live capture hands out the frames the kernel
    /// had accepted up to the stop, waiting briefly for any still being
    /// copied, and then [`Next::End`].
    pub fn next_frame(&mut self) -> Result<Next<'_>, CaptureError> {
        if let Some(stop) = self.stop {
            if self.frames >= stop.target || Instant::now() >= stop.deadline {
                return Ok(Next::End);
            }
        }
        let cap = match &mut self.input {
            Input::File(f) => {
                return f.next_frame(&mut self.frames, &mut self.dlt_name, &self.name)
            }
            Input::Libpcap(cap) => cap,
        };
        let (poll_fd, stop) = (self.poll_fd, self.stop);
        match cap.next_packet() {
            Ok(p) => {
                // time_t and suseconds_t are i64 here but not on every target.
                #[allow(clippy::unnecessary_cast)]
                let (secs, nanos) = (p.header.ts.tv_sec as i64, p.header.ts.tv_usec as i64);
                // libpcap 1.10 reads a pcap record's 32-bit seconds as signed,
                // so times after 2038-01-19 come out negative. The field is
                // unsigned (no pcap record is from before 1970), and neither
                // pcapng nor a live capture gives negative seconds.
                let secs = if (i64::from(i32::MIN)..0).contains(&secs) {
                    secs + (1 << 32)
                } else {
                    secs
                };
                let ts = Timestamp::from_parts(secs, nanos);
                if let Some(stop) = stop.filter(|s| ts > s.at) {
                    // After the stop: everything before it has been read.
                    self.stop = Some(StopPoint {
                        deadline: Instant::now(),
                        ..stop
                    });
                    return Ok(Next::End);
                }
                self.frames += 1;
                Ok(Next::Frame(Frame {
                    ts,
                    data: p.data,
                    wire_len: p.header.len,
                    link: Some(self.link),
                    input: 0,
                    skipped: 0,
                    decoded: None,
                }))
            }
            Err(pcap::Error::TimeoutExpired) => {
                let wait = match stop {
                    // Counted but not yet in the ring: the kernel counts a
                    // frame when it reserves its slot, then copies it in.
                    Some(stop) => {
                        let quiet = STOP_QUIET.min(stop.deadline - Instant::now());
                        if !wait_readable(poll_fd, quiet.as_millis() as i32) {
                            // Nothing came: what is missing was dropped on the
                            // way (libpcap skips looped-back duplicates that
                            // the kernel counted), not delayed.
                            self.stop = Some(StopPoint {
                                deadline: Instant::now(),
                                ..stop
                            });
                        }
                        return Ok(Next::Timeout);
                    }
                    None => POLL_MS,
                };
                wait_readable(poll_fd, wait);
                Ok(Next::Timeout)
            }
            Err(pcap::Error::NoMorePackets) => {
                match self.feeder.as_ref().and_then(Feeder::error) {
                    // The pipe ended because reading the input failed.
                    Some(reason) => Err(read_error(&self.name, self.live, self.frames, reason)),
                    None => Ok(Next::End),
                }
            }
            Err(e) => {
                let reason = self
                    .feeder
                    .as_ref()
                    .and_then(Feeder::error)
                    .unwrap_or_else(|| libpcap_reason(e));
                Err(read_error(&self.name, self.live, self.frames, reason))
            }
        }
    }

    /// Ends a live capture here: from now on [`Source::next_frame`] hands out
    /// what the kernel accepted before this call and then [`Next::End`], and
    /// [`Source::stats`] reports the counts as they were at this call, so
    /// "captured" and "received by filter" speak of the same packets. A file
    /// read is not affected.
    pub fn stop(&mut self) {
        if !self.live || self.stop.is_some() {
            return;
        }
        let Some(stats) = self.kernel_stats() else {
            return;
        };
        // Read after the counts: a frame they count was stamped before.
        let at = wall_clock();
        // Received counts the dropped too; those never reach the ring.
        let accepted = u64::from(stats.received).saturating_sub(u64::from(stats.dropped));
        self.stop = Some(StopPoint {
            stats,
            target: accepted.max(self.frames),
            deadline: Instant::now() + STOP_LIMIT,
            at,
        });
    }

    /// Kernel packet counts (live captures only); after [`Source::stop`],
    /// the counts at the stop.
    pub fn stats(&mut self) -> Option<Stats> {
        match self.stop {
            Some(stop) => Some(stop.stats),
            None => self.kernel_stats(),
        }
    }

    /// Problems met while reading that did not stop it, each once (e.g. a
    /// filter that does not apply to one interface's link type); taken.
    pub fn take_warnings(&mut self) -> Vec<String> {
        match &mut self.input {
            Input::File(f) => std::mem::take(&mut f.warnings),
            Input::Libpcap(_) => Vec::new(),
        }
    }

    /// Frames handed out so far.
    pub fn frames_read(&self) -> u64 {
        self.frames
    }

    fn kernel_stats(&mut self) -> Option<Stats> {
        let Input::Libpcap(cap) = &mut self.input else {
            return None;
        };
        if !self.live {
            return None;
        }
        cap.stats().ok().map(|s| Stats {
            received: s.received,
            dropped: s.dropped,
            if_dropped: s.if_dropped,
        })
    }

    /// The link type frames are decoded as.
    pub fn link_type(&self) -> LinkType {
        self.link
    }

    /// libpcap's name for the link type (e.g. `EN10MB`).
    pub fn link_name(&self) -> &str {
        &self.dlt_name
    }

    /// The input's name: its path, `-`, or `interface:IF`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this is a live capture.
    pub fn is_live(&self) -> bool {
        self.live
    }
}

impl NativeFile {
    /// The next frame that passes the filter, or the end.
    fn next_frame<'a>(
        &'a mut self,
        frames: &mut u64,
        names: &mut String,
        name: &str,
    ) -> Result<Next<'a>, CaptureError> {
        Ok(match self.next_passing(frames, names, name)? {
            Passing::Frame(record, link, skipped) => {
                Next::Frame(self.frame(&record, link, skipped))
            }
            Passing::Quiet => Next::Timeout,
            Passing::End => Next::End,
        })
    }

    /// As [`NativeFile::next_frame`] into `batch` until it is full or the
    /// input ends, with no frame handed out between.
    fn fill_batch(&mut self, frames: &mut u64, names: &mut String, name: &str, batch: &mut Batch) {
        while batch.wants_more() {
            // No filter, and the link type met (a classic pcap file has
            // one): the records whole in the buffer go straight in.
            if let (None, Some(&state), Some((big_endian, header))) =
                (&self.filter, self.links.first(), self.reader.pcap_layout())
            {
                if big_endian {
                    self.fill_whole::<true>(header, frames, state, batch);
                } else {
                    self.fill_whole::<false>(header, frames, state, batch);
                }
                if !batch.wants_more() {
                    break;
                }
            }
            // One the general way: reading on, the end, pcapng, a filter.
            match self.next_passing(frames, names, name) {
                Ok(Passing::Frame(record, link, skipped)) => {
                    batch.push(&self.frame(&record, link, skipped));
                }
                // A pipe fell silent: what the batch holds goes now.
                Ok(Passing::Quiet) => return,
                Ok(Passing::End) => batch.end(Ok(())),
                Err(e) => batch.end(Err(e)),
            }
        }
    }

    /// Of a classic pcap file read with no filter: the records whole in
    /// the buffer into `batch`, until it is full or none is; `state` the
    /// file's link type's (all its records have it).
    #[inline(always)]
    fn fill_whole<const BIG_ENDIAN: bool>(
        &mut self,
        header: usize,
        frames: &mut u64,
        state: LinkState,
        batch: &mut Batch,
    ) {
        while let Some(record) = self.reader.next_whole_pcap::<BIG_ENDIAN>(header) {
            debug_assert_eq!(record.link, state.linktype);
            *frames += 1;
            batch.push(&self.frame(&record, state.link, 0));
            if !batch.wants_more() {
                return;
            }
        }
    }

    /// `record` as a frame of link type `link`, after `skipped` frames the
    /// filter left out.
    #[inline(always)]
    fn frame(&self, record: &Record, link: Option<LinkType>, skipped: u64) -> Frame<'_> {
        Frame {
            ts: record.ts,
            data: self.reader.data(record),
            wire_len: record.wire_len,
            link,
            input: 0,
            skipped,
            decoded: None,
        }
    }

    /// The next record that passes the filter, its link type, and how many
    /// the filter left out before it; or the input's silence, or its end.
    #[inline(always)]
    fn next_passing(
        &mut self,
        frames: &mut u64,
        names: &mut String,
        name: &str,
    ) -> Result<Passing, CaptureError> {
        let mut skipped = std::mem::take(&mut self.skipped_quiet);
        loop {
            let record = match self.reader.next() {
                Ok(Some(r)) => r,
                Ok(None) => {
                    self.note_untimed(name);
                    self.note_undecodable(name);
                    return Ok(Passing::End);
                }
                // (Those the filter left out so far are counted with the
                // frame that passes.)
                Err(ReadError::Quiet) => {
                    self.skipped_quiet = skipped;
                    return Ok(Passing::Quiet);
                }
                Err(ReadError::Interrupted) => {
                    return Err(CaptureError::Interrupted {
                        name: name.to_string(),
                    })
                }
                Err(e) => {
                    self.note_untimed(name);
                    self.note_undecodable(name);
                    return Err(read_failure(name, *frames + self.left_out, e));
                }
            };
            let state = match self.links.first() {
                // (The file's first link type, nearly always its only one.)
                Some(&s) if s.linktype == record.link => s,
                _ => {
                    let s = self.link_state(record.link, names);
                    if self.links.len() == 1 {
                        self.filter_applies()?;
                    }
                    s
                }
            };
            let pass = match (&self.filter, state.program) {
                (Some(filter), Pass::Program(p)) => {
                    filter.matches(p, self.reader.data(&record), record.wire_len)
                }
                (_, Pass::None) => false,
                _ => true,
            };
            if !pass {
                skipped += 1;
                self.left_out += 1;
                continue;
            }
            *frames += 1;
            if state.link.is_none() {
                self.count_undecodable(record.link);
            }
            return Ok(Passing::Frame(record, state.link, skipped));
        }
    }

    /// Once the input ends: a warning of the packets it held with no time
    /// (pcapng simple packet blocks), if any.
    fn note_untimed(&mut self, name: &str) {
        let untimed = self.reader.untimed() - self.untimed_told;
        if untimed == 0 {
            return;
        }
        self.untimed_told += untimed;
        let one = untimed == 1;
        self.warnings.push(format!(
            "{name}: {untimed} packet{} came in pcapng simple packet blocks, which carry no \
             time; {} read at time 0, so no idle, interval or other timing worked out from {} \
             means anything (and repeats of a segment among them count as duplicate captures)",
            if one { "" } else { "s" },
            if one { "it is" } else { "they are" },
            if one { "it" } else { "them" },
        ));
    }

    /// Counts a frame of LINKTYPE_ `linktype`, which kawatch does not decode.
    #[cold]
    fn count_undecodable(&mut self, linktype: u32) {
        match self.undecodable.iter_mut().find(|(l, _)| *l == linktype) {
            Some((_, n)) => *n += 1,
            None => self.undecodable.push((linktype, 1)),
        }
    }

    /// Once the input ends: a warning for each link type whose frames were
    /// passed undecoded (a pcapng interface of a link type kawatch does not
    /// decode, beside others it does): what they hold is not in the report.
    fn note_undecodable(&mut self, name: &str) {
        for (linktype, n) in std::mem::take(&mut self.undecodable) {
            let dlt = bpf::dlt_name(bpf::dlt_of_linktype(linktype));
            self.warnings.push(format!(
                "{name}: {n} frame{} of link type {dlt} (LINKTYPE {linktype}) not analysed: \
                 kawatch does not decode that link type, so connections whose segments came on \
                 that interface are missing or one-sided here (counted as undecoded); capture them \
                 on an Ethernet, Linux cooked (-i any) or raw IP interface",
                if n == 1 { "" } else { "s" },
            ));
        }
    }

    /// What is known of LINKTYPE_ `linktype`: met before, or now (its name is
    /// added to `names`, and the filter compiled for it).
    fn link_state(&mut self, linktype: u32, names: &mut String) -> LinkState {
        if let Some(s) = self.links.iter().find(|s| s.linktype == linktype) {
            return *s;
        }
        let dlt = bpf::dlt_of_linktype(linktype);
        let dlt_name = bpf::dlt_name(dlt);
        let program = match &mut self.filter {
            None => Pass::All,
            Some(f) => match f.program(
                dlt,
                bpf::Flavour::File {
                    big_endian: self.reader.big_endian(),
                },
            ) {
                Ok(i) => Pass::Program(i),
                // The filter cannot match there (and if it can match no
                // link type the file has, it is wrong: `filter_applies`).
                Err(reason) => {
                    self.refused.get_or_insert_with(|| reason.clone());
                    self.warnings.push(format!(
                        "the filter {:?} does not apply to link type {dlt_name} ({reason}): \
                         no frame of that link type is read",
                        f.text()
                    ));
                    Pass::None
                }
            },
        };
        let state = LinkState {
            linktype,
            link: LinkType::from_dlt(dlt),
            program,
        };
        if !names.split(',').any(|n| n == dlt_name) {
            if !names.is_empty() {
                names.push(',');
            }
            names.push_str(&dlt_name);
        }
        self.links.push(state);
        state
    }

    /// A filter that compiles for none of the link types met so far (those
    /// the file declares before its first packet) is wrong: an error, as
    /// tcpdump's. Where it compiles for one of them, the others were warned
    /// of, whatever their order.
    fn filter_applies(&mut self) -> Result<(), CaptureError> {
        match (&self.filter, &self.refused) {
            (Some(f), Some(reason))
                if self.links.iter().all(|l| matches!(l.program, Pass::None)) =>
            {
                Err(CaptureError::BadFilter {
                    filter: f.text().to_string(),
                    reason: reason.clone(),
                })
            }
            _ => Ok(()),
        }
    }
}

/// What a failed read of `name` after `frames` frames means (see
/// [`read_error`]).
fn read_failure(name: &str, frames: u64, e: ReadError) -> CaptureError {
    let name = name.to_string();
    match e {
        ReadError::Truncated(reason) => CaptureError::Truncated { name, reason },
        ReadError::Interrupted => CaptureError::Interrupted { name },
        // (Only where nothing can wait: what was read is the report's.)
        ReadError::Quiet => CaptureError::Truncated {
            name,
            reason: "the input fell silent where it could not be waited for".into(),
        },
        ReadError::NotACapture(reason) | ReadError::Damaged(reason) if frames == 0 => {
            CaptureError::DamagedAtStart { name, reason }
        }
        ReadError::Io(e) if frames == 0 => CaptureError::DamagedAtStart {
            name,
            reason: e.to_string(),
        },
        ReadError::NotACapture(reason) | ReadError::Damaged(reason) => CaptureError::Damaged {
            name,
            after: frames,
            reason,
        },
        ReadError::Io(e) => CaptureError::Damaged {
            name,
            after: frames,
            reason: e.to_string(),
        },
    }
}

/// Whether this process has only one core to run on (its CPU affinity or
/// quota): the reading of a file then shares the analysis' core, so it is
/// read in batches on the analysis' thread ([`read_batched`]), and in place
/// (mapped, not copied by the kernel first).
pub fn one_core() -> bool {
    std::thread::available_parallelism().map_or(true, |n| n.get() == 1)
}

/// Asks the CPU to bring the cache line holding `at` in: a hint, which
/// reads nothing the program sees and cannot fault; nothing where the CPU
/// has no such instruction this code knows.
#[inline(always)]
pub(crate) fn prefetch(at: &u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 needs SSE, which every x86-64 CPU has; it neither
    // reads memory the program sees nor faults, and `at` is a live byte.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            std::ptr::from_ref(at).cast(),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = at;
}

/// A stream of captured frames: a [`Source`], frames in memory, several
/// files merged. What reports and the live screen read.
pub trait FrameSource: Send {
    /// The next frame, a live read timeout, or the end of the input.
    fn next_frame(&mut self) -> Result<Next<'_>, CaptureError>;
    /// The link type frames are decoded as.
    fn link_type(&self) -> LinkType;
    /// libpcap's name for the link type (e.g. `EN10MB`).
    fn link_name(&self) -> &str;
    /// The input's name: a path, `-`, or `interface:IF`.
    fn name(&self) -> &str;
    /// Whether this is a live capture (else a replay).
    fn is_live(&self) -> bool;
    /// Kernel packet counts (live captures only).
    fn stats(&mut self) -> Option<Stats> {
        None
    }
    /// Live captures: end here (see [`Source::stop`]); nothing for files.
    fn stop(&mut self) {}
    /// A live capture's BPF filter, which this box's sockets shown beside
    /// it pass too ([`SocketFilter`]); `None` without one, and for files.
    fn capture_filter(&self) -> Option<&str> {
        None
    }
    /// A live capture's interface, whose scope the sockets shown beside it
    /// are in too ([`SocketFilter::for_capture`]); `None` for files.
    fn capture_interface(&self) -> Option<&str> {
        None
    }
    /// Frames read and not handed out yet: a merged read's frame read ahead
    /// from each input, to hand out the earliest. A stopped read leaves
    /// them out (another input's earlier frame may not have been read), and
    /// its warning counts them.
    fn frames_held(&self) -> usize {
        0
    }
    /// Problems met while reading that did not stop it; taken.
    fn take_warnings(&mut self) -> Vec<String> {
        Vec::new()
    }
    /// The inputs read: one, or several files merged.
    fn input_names(&self) -> Vec<String> {
        vec![self.name().to_string()]
    }
    /// Whether [`restart`](FrameSource::restart) can read the input again
    /// from its first frame (a file can; standard input, a pipe and a live
    /// capture cannot).
    fn can_restart(&self) -> bool {
        false
    }
    /// Reads the input again from its first frame: `Ok(false)` when it
    /// cannot ([`can_restart`](FrameSource::can_restart)).
    fn restart(&mut self) -> Result<bool, CaptureError> {
        Ok(false)
    }
    /// Reads frames into `batch` until it is full or the input ends (the
    /// end, or the error, kept in it): what [`read_ahead`]'s reader calls.
    /// The default reads them with [`next_frame`](FrameSource::next_frame).
    fn fill_batch(&mut self, batch: &mut Batch) {
        ahead::fill_frame_by_frame(self, batch);
    }
}

impl FrameSource for Source {
    fn next_frame(&mut self) -> Result<Next<'_>, CaptureError> {
        Source::next_frame(self)
    }

    fn capture_filter(&self) -> Option<&str> {
        self.live_filter.as_deref()
    }

    fn capture_interface(&self) -> Option<&str> {
        self.live
            .then(|| self.name.strip_prefix("interface:"))
            .flatten()
    }

    fn link_type(&self) -> LinkType {
        Source::link_type(self)
    }

    fn link_name(&self) -> &str {
        Source::link_name(self)
    }

    fn name(&self) -> &str {
        Source::name(self)
    }

    fn is_live(&self) -> bool {
        Source::is_live(self)
    }

    fn stats(&mut self) -> Option<Stats> {
        Source::stats(self)
    }

    fn stop(&mut self) {
        Source::stop(self);
    }

    fn take_warnings(&mut self) -> Vec<String> {
        Source::take_warnings(self)
    }

    fn can_restart(&self) -> bool {
        self.can_reopen()
    }

    /// A file's frames go straight from its buffer into the batch.
    fn fill_batch(&mut self, batch: &mut Batch) {
        match (&mut self.input, self.stop) {
            (Input::File(f), None) => {
                f.fill_batch(&mut self.frames, &mut self.dlt_name, &self.name, batch);
            }
            _ => ahead::fill_frame_by_frame(self, batch),
        }
    }

    /// Opens the file again (a regular file, as it was opened).
    fn restart(&mut self) -> Result<bool, CaptureError> {
        match self.reopen() {
            Some(again) => {
                *self = again?;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

/// The interfaces libpcap can capture on: (name, description), in
/// libpcap's order (as `tcpdump -D` lists them).
pub fn interfaces() -> Result<Vec<(String, Option<String>)>, CaptureError> {
    let devices = Device::list().map_err(|e| CaptureError::Pcap {
        name: "interfaces".into(),
        reason: e.to_string(),
    })?;
    Ok(devices.into_iter().map(|d| (d.name, d.desc)).collect())
}

/// libpcap's own words for its version (`libpcap version 1.10.3 (with
/// TPACKET_V3)`).
pub fn libpcap_version() -> String {
    extern "C" {
        fn pcap_lib_version() -> *const libc::c_char;
    }
    // SAFETY: pcap_lib_version returns a pointer to a static NUL-terminated
    // string that lives as long as the program.
    let v = unsafe { std::ffi::CStr::from_ptr(pcap_lib_version()) };
    v.to_string_lossy().into_owned()
}

/// Live captures: waits up to `ms` for a frame to read; whether one came.
fn wait_readable(poll_fd: Option<RawFd>, ms: i32) -> bool {
    let Some(fd) = poll_fd else {
        return false;
    };
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd on the capture's descriptor, open while the
    // capture is.
    unsafe { libc::poll(&mut pfd, 1, ms) > 0 }
}

fn not_a_capture(name: &str, e: pcap::Error) -> CaptureError {
    CaptureError::NotACapture {
        name: name.to_string(),
        reason: e.to_string(),
    }
}

/// What a failed read of `name` after `frames` frames means: for a file, the
/// input cut off mid-record, or a record that cannot be read (before the
/// first frame: nothing to report).
fn read_error(name: &str, live: bool, frames: u64, reason: String) -> CaptureError {
    let name = name.to_string();
    // libpcap 1.10 refuses a pcapng file's interfaces of another link type
    // than the first: the file is whole, and kawatch's own reader reads it.
    let reason = if reason.contains("different from the type of the first interface") {
        format!(
            "{reason}: libpcap reads one link type a file; without --reader libpcap, \
             kawatch reads every interface"
        )
    } else {
        reason
    };
    if live {
        CaptureError::Pcap { name, reason }
    } else if reason.contains("truncated") {
        CaptureError::Truncated { name, reason }
    } else if frames == 0 {
        CaptureError::DamagedAtStart { name, reason }
    } else {
        CaptureError::Damaged {
            name,
            after: frames,
            reason,
        }
    }
}

/// libpcap's own words, without the crate's "libpcap error: " prefix.
fn libpcap_reason(e: pcap::Error) -> String {
    match e {
        pcap::Error::PcapError(reason) => reason,
        e => e.to_string(),
    }
}

fn is_set(stop: Option<&AtomicBool>) -> bool {
    stop.is_some_and(|s| s.load(Ordering::Relaxed))
}

/// Hands `fd` (owned) to libpcap, which reads the capture's header from it.
/// A read interrupted by a stop is [`CaptureError::Interrupted`].
fn offline(
    fd: RawFd,
    name: &str,
    stop: Option<&AtomicBool>,
) -> Result<Capture<Offline>, CaptureError> {
    // SAFETY: `fd` is a descriptor this call owns and hands over.
    unsafe { Capture::from_raw_fd_with_precision(fd, Precision::Nano) }.map_err(|e| {
        // libpcap leaves the descriptor open when it refuses it; close it
        // (a pipe's feeder then stops writing).
        // SAFETY: `fd` is still ours: libpcap failed and keeps no use of it.
        unsafe { libc::close(fd) };
        if is_set(stop) {
            CaptureError::Interrupted {
                name: name.to_string(),
            }
        } else {
            not_a_capture(name, e)
        }
    })
}

/// Opens `path` for reading with open(2), which, unlike [`File::open`], does
/// not retry `EINTR`: a wait for a FIFO's writer ends with
/// [`io::ErrorKind::Interrupted`] once `stop` is set.
fn open_read(path: &Path, stop: Option<&AtomicBool>) -> io::Result<File> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "the path contains a NUL byte"))?;
    loop {
        // SAFETY: a valid NUL-terminated path; the descriptor returned is new
        // and owned by the File made from it.
        let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        if fd >= 0 {
            // SAFETY: `fd` was just opened and nothing else owns it.
            return Ok(unsafe { File::from_raw_fd(fd) });
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted || is_set(stop) {
            return Err(e);
        }
    }
}

/// Reads up to `n` bytes from the start of `file` (fewer only at its end).
/// `EINTR` is retried unless `stop` is set.
fn read_head(file: &mut impl Read, n: usize, stop: Option<&AtomicBool>) -> io::Result<Vec<u8>> {
    let mut head = vec![0u8; n];
    let mut got = 0;
    while got < n {
        match file.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted && !is_set(stop) => {}
            Err(e) => return Err(e),
        }
    }
    head.truncate(got);
    Ok(head)
}

/// A pipe: (read end, write end), both close-on-exec.
fn pipe() -> io::Result<(File, File)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just made and nothing else owns them.
    Ok(unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) })
}

/// Runs `f` with SIGINT blocked in this thread; a thread started by `f`
/// inherits the mask, so it never takes the signal: Ctrl-C goes to the thread
/// that reads the capture, whose wait it must interrupt.
pub(crate) fn without_sigint<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: sigset_t is plain data, initialised by sigemptyset before use;
    // pthread_sigmask changes only this thread's mask, restored below.
    let old = unsafe {
        let mut block: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut block);
        libc::sigaddset(&mut block, libc::SIGINT);
        libc::pthread_sigmask(libc::SIG_BLOCK, &block, &mut old);
        old
    };
    let r = f();
    // SAFETY: `old` is the mask pthread_sigmask reported above.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    r
}

fn names(devices: &[Device]) -> String {
    let v: Vec<&str> = devices.iter().map(|d| d.name.as_str()).collect();
    if v.is_empty() {
        "none visible (are you allowed to capture?)".into()
    } else {
        v.join(", ")
    }
}
