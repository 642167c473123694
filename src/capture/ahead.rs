//! Reading a capture file on a thread of its own while the caller analyses:
//! the reader decodes frames ([`Decode::Segments`]: into compact segments,
//! about 120 bytes each whatever the frame's size) or copies them
//! ([`Decode::Bytes`]: for a caller that needs the bytes) into batches (up
//! to [`BATCH_FRAMES`] frames or [`BATCH_BYTES`] bytes) and hands them over
//! a bounded channel; emptied batches come back to be filled again, so
//! nothing is allocated per frame once the few batches exist. Frames keep
//! their order, timestamps, lengths, link types, inputs and skipped counts
//! (the analyser numbers them as it ingests them); the reader's end (the
//! end of the input, or its error) comes after its last frame.

use super::{ingest_decoded, CaptureError, Decoded, Frame, FrameSource, Next};
use kawatch_core::{decode_with_len, Analyzer, LinkType, Timestamp};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};

/// Frames a batch holds at most.
pub(crate) const BATCH_FRAMES: usize = 1024;
/// Bytes of frames a batch holds (one larger frame goes alone).
pub(crate) const BATCH_BYTES: usize = 256 << 10;
/// Batches filled ahead of the analysis, at most.
const AHEAD: usize = 4;
/// Emptied batches go back to the reader this many at a time (all of them
/// before the analysis waits for the next): a reader faster than the
/// analysis, out of batches to fill, is woken once for that many rather
/// than once a batch (a wake-up is dear in a virtual machine).
const RETURN_AT: usize = 3;

/// What the reader's thread hands over of each frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Decode {
    /// Its segment, decoded there ([`Frame::decoded`]).
    #[default]
    Segments,
    /// Its bytes.
    Bytes,
}

/// One frame of a batch: all of [`Frame`] but its bytes, which are
/// `bytes[start..end]` of the batch (none when decoded).
#[derive(Clone, Copy, Debug)]
struct Meta {
    ts: Timestamp,
    wire_len: u32,
    link: Option<LinkType>,
    input: u16,
    skipped: u64,
    start: u32,
    end: u32,
    /// Whether `decoded` is the frame's.
    is_decoded: bool,
    decoded: Decoded,
}

impl Meta {
    /// A slot not yet filled.
    const EMPTY: Meta = Meta {
        ts: Timestamp(0),
        wire_len: 0,
        link: None,
        input: 0,
        skipped: 0,
        start: 0,
        end: 0,
        is_decoded: false,
        decoded: Decoded {
            segment: None,
            caplen: 0,
        },
    };
}

/// Frames read ahead, and how the reading ended if it did: what the
/// reader's thread fills ([`FrameSource::fill_batch`]) and hands over.
#[derive(Debug, Default)]
pub struct Batch {
    /// Slots for [`BATCH_FRAMES`] frames (none in a batch never filled),
    /// written in place: the first `len` hold frames.
    frames: Vec<Meta>,
    len: usize,
    bytes: Vec<u8>,
    /// After the frames: the input ended (`Ok`) or could not be read on.
    end: Option<Result<(), CaptureError>>,
    /// What to make of each frame.
    decode: Decode,
}

impl Batch {
    fn new(decode: Decode) -> Batch {
        Batch {
            frames: vec![Meta::EMPTY; BATCH_FRAMES],
            len: 0,
            bytes: Vec::with_capacity(BATCH_BYTES),
            end: None,
            decode,
        }
    }

    fn clear(&mut self) {
        self.len = 0;
        self.bytes.clear();
        self.end = None;
    }

    /// Whether the batch takes another frame: it has room, and the input
    /// has not ended.
    #[inline]
    pub(crate) fn wants_more(&self) -> bool {
        self.len < self.frames.len() && self.bytes.len() < BATCH_BYTES && self.end.is_none()
    }

    /// Adds `f`: its segment, decoded here when the batch decodes and `f`
    /// is not yet, else its bytes. The frame's slot is written in place.
    #[inline(always)]
    pub(crate) fn push(&mut self, f: &Frame<'_>) {
        let m = &mut self.frames[self.len];
        self.len += 1;
        m.ts = f.ts;
        m.wire_len = f.wire_len;
        m.link = f.link;
        // (Merged inputs are numbered in a byte.)
        m.input = u16::try_from(f.input).unwrap_or(u16::MAX);
        m.skipped = f.skipped;
        m.start = self.bytes.len() as u32;
        match (self.decode, f.link, f.decoded) {
            (Decode::Segments, Some(link), None) => {
                m.decoded.segment = decode_with_len(link, 0, f.ts, f.data, f.wire_len);
                m.decoded.caplen = f.data.len() as u32;
                m.is_decoded = true;
            }
            (_, _, decoded) => {
                self.bytes.extend_from_slice(f.data);
                m.is_decoded = decoded.is_some();
                if let Some(d) = decoded {
                    m.decoded = *d;
                }
            }
        }
        m.end = self.bytes.len() as u32;
    }

    /// Ends the batch's frames: the input ended (`Ok`), or it could not be
    /// read on.
    pub(crate) fn end(&mut self, how: Result<(), CaptureError>) {
        self.end = Some(how);
    }
}

/// Fills `batch` from `src` a frame at a time, until it is full or the
/// input ends: [`FrameSource::fill_batch`] where a source has no faster way.
pub(crate) fn fill_frame_by_frame<S: FrameSource + ?Sized>(src: &mut S, batch: &mut Batch) {
    while batch.wants_more() {
        match src.next_frame() {
            Ok(Next::Frame(f)) => batch.push(&f),
            // (Files only: no live timeouts.)
            Ok(Next::Timeout) => {}
            Ok(Next::End) => batch.end(Ok(())),
            Err(e) => batch.end(Err(e)),
        }
    }
}

/// What [`Ahead::ingest_batch`] did; `bytes`: an estimate of the file's
/// bytes fed, for a progress bar (each frame's captured bytes and 16 of
/// record header, whatever the format's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fed {
    /// A batch's frames.
    Batch {
        /// Bytes fed.
        bytes: u64,
    },
    /// Frames up to a stop.
    Stopped {
        /// Bytes fed.
        bytes: u64,
    },
    /// None: the input ended.
    End,
}

/// The analysis side: frames as [`FrameSource::next_frame`] gives them.
pub struct Ahead<'a> {
    feed: Feed<'a>,
    batch: Batch,
    next: usize,
    ended: bool,
}

/// Where an [`Ahead`]'s batches come from.
enum Feed<'a> {
    /// The reader's thread ([`read_ahead`]).
    Thread {
        full: Receiver<Batch>,
        empty: SyncSender<Batch>,
        /// Emptied batches not yet given back ([`RETURN_AT`]).
        spent: Vec<Batch>,
    },
    /// This thread, a batch at a time ([`read_batched`]).
    Here(&'a mut dyn FrameSource, Decode),
}

impl std::fmt::Debug for Ahead<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ahead")
            .field("on_thread", &matches!(self.feed, Feed::Thread { .. }))
            .field("batch", &self.batch)
            .field("next", &self.next)
            .field("ended", &self.ended)
            .finish()
    }
}

impl Ahead<'_> {
    /// The next frame, or the end of the input (or the error that ended it).
    pub fn next_frame(&mut self) -> Result<Next<'_>, CaptureError> {
        if !self.advance()? {
            return Ok(Next::End);
        }
        self.next += 1;
        Ok(Next::Frame(self.frame(self.next - 1)))
    }

    /// Feeds the frames of a batch to `an`, as [`Frame::ingest`] does (the
    /// rest of the current one, else the next), `stop` checked before each:
    /// what a caller with nothing else to do per frame calls, no frame
    /// handed out. The input's end, or the error that ended it, comes once
    /// every frame is fed.
    pub fn ingest_batch(
        &mut self,
        an: &mut Analyzer,
        stop: impl Fn() -> bool,
    ) -> Result<Fed, CaptureError> {
        if !self.advance()? {
            return Ok(Fed::End);
        }
        let mut bytes = 0;
        let batch = &self.batch;
        for (i, m) in batch.frames[..batch.len].iter().enumerate().skip(self.next) {
            if stop() {
                self.next = i;
                return Ok(Fed::Stopped { bytes });
            }
            // (Nearly every frame: read from its slot, no frame made.)
            if let (Some(_), true) = (m.link, m.is_decoded) {
                bytes += 16 + u64::from(m.decoded.caplen);
                ingest_decoded(an, usize::from(m.input), m.skipped, m.ts, &m.decoded);
            } else {
                let f = self.frame(i);
                bytes += 16 + f.captured() as u64;
                f.ingest(an);
            }
        }
        self.next = self.batch.len;
        Ok(Fed::Batch { bytes })
    }

    /// Frame `i` of the batch.
    #[inline]
    fn frame(&self, i: usize) -> Frame<'_> {
        let m = &self.batch.frames[i];
        Frame {
            ts: m.ts,
            data: &self.batch.bytes[m.start as usize..m.end as usize],
            wire_len: m.wire_len,
            link: m.link,
            input: usize::from(m.input),
            skipped: m.skipped,
            decoded: m.is_decoded.then_some(&m.decoded),
        }
    }

    /// Makes the next frame the batch's (the next batch taken when this
    /// one is done); `false` at the end of the input, the error that ended
    /// it once its frames are all given.
    fn advance(&mut self) -> Result<bool, CaptureError> {
        while self.next == self.batch.len {
            if let Some(end) = self.batch.end.take() {
                self.ended = true;
                return end.map(|()| false);
            }
            if self.ended {
                return Ok(false);
            }
            match &mut self.feed {
                Feed::Thread { full, empty, spent } => {
                    let next = match full.try_recv() {
                        Ok(b) => Ok(b),
                        Err(TryRecvError::Empty) => {
                            // About to wait: the reader gets every
                            // emptied batch first.
                            give_back(spent, empty);
                            full.recv().map_err(|_| ())
                        }
                        Err(TryRecvError::Disconnected) => Err(()),
                    };
                    let Ok(full) = next else {
                        // The reader stopped (it panicked): no more frames.
                        self.ended = true;
                        return Ok(false);
                    };
                    let mut old = std::mem::replace(&mut self.batch, full);
                    old.clear();
                    // (The first, never filled, has no slots.)
                    if !old.frames.is_empty() {
                        spent.push(old);
                        if spent.len() >= RETURN_AT {
                            give_back(spent, empty);
                        }
                    }
                }
                Feed::Here(src, decode) => {
                    if self.batch.frames.is_empty() {
                        self.batch = Batch::new(*decode);
                    }
                    self.batch.clear();
                    src.fill_batch(&mut self.batch);
                }
            }
            self.next = 0;
        }
        Ok(true)
    }
}

/// Gives the emptied batches back to the reader. It may have stopped: then
/// they are not needed.
fn give_back(spent: &mut Vec<Batch>, empty: &SyncSender<Batch>) {
    for b in spent.drain(..) {
        let _ = empty.try_send(b);
    }
}

/// Runs `analyse` over `src`'s frames with `src` read on a second thread.
/// When `analyse` returns (at the end, or early: Ctrl-C, a frame count),
/// the reader stops at its next batch; `src` is then the caller's again
/// (for its warnings and statistics).
pub fn read_ahead<R>(
    src: &mut dyn FrameSource,
    decode: Decode,
    analyse: impl FnOnce(&mut Ahead<'_>) -> R,
) -> R {
    let stop = AtomicBool::new(false);
    // Room in both channels for every batch made: the reader waits only
    // for an emptied batch, never to hand over a full one.
    let (full_tx, full_rx) = sync_channel::<Batch>(AHEAD + 2);
    let (empty_tx, empty_rx) = sync_channel::<Batch>(AHEAD + 2);
    std::thread::scope(|s| {
        let stop = &stop;
        s.spawn(move || fill(src, decode, &full_tx, &empty_rx, stop));
        let mut ahead = Ahead {
            feed: Feed::Thread {
                full: full_rx,
                empty: empty_tx,
                spent: Vec::with_capacity(AHEAD + 2),
            },
            batch: Batch::default(),
            next: 0,
            ended: false,
        };
        let r = analyse(&mut ahead);
        stop.store(true, Ordering::Relaxed);
        // Dropping the channels' ends wakes a reader waiting on either.
        drop(ahead);
        r
    })
}

/// Runs `analyse` over `src`'s frames as [`read_ahead`] does, each batch
/// read on this thread when the last is done: for one core, where a
/// second thread only takes turns with this one, the frames still go
/// straight from the file's buffer into a batch (and are decoded there)
/// rather than one call each.
pub fn read_batched<R>(
    src: &mut dyn FrameSource,
    decode: Decode,
    analyse: impl FnOnce(&mut Ahead<'_>) -> R,
) -> R {
    analyse(&mut Ahead {
        feed: Feed::Here(src, decode),
        batch: Batch::default(),
        next: 0,
        ended: false,
    })
}

/// The reader: fills batches until the input ends, it fails, or `stop`.
fn fill(
    src: &mut dyn FrameSource,
    decode: Decode,
    full: &SyncSender<Batch>,
    empty: &Receiver<Batch>,
    stop: &AtomicBool,
) {
    let mut made = 0;
    loop {
        let mut batch = match empty.try_recv() {
            Ok(b) => b,
            Err(_) if made < AHEAD + 2 => {
                made += 1;
                Batch::new(decode)
            }
            Err(_) => match empty.recv() {
                Ok(b) => b,
                Err(_) => return,
            },
        };
        src.fill_batch(&mut batch);
        let last = batch.end.is_some();
        if full.send(batch).is_err() || last || stop.load(Ordering::Relaxed) {
            return;
        }
    }
}
