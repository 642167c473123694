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

use super::{CaptureError, Decoded, Frame, FrameSource, Next};
use kawatch_core::{decode_with_len, Analyzer, LinkType, Timestamp};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Frames a batch holds at most.
pub(crate) const BATCH_FRAMES: usize = 1024;
/// Bytes of frames a batch holds (one larger frame goes alone).
pub(crate) const BATCH_BYTES: usize = 256 << 10;
/// Batches filled ahead of the analysis, at most.
const AHEAD: usize = 4;

/// What the reader's thread hands over of each frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decode {
    /// Its segment, decoded there ([`Frame::decoded`]).
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
    decoded: Option<Decoded>,
}

/// Frames read ahead, and how the reading ended if it did.
#[derive(Debug, Default)]
struct Batch {
    frames: Vec<Meta>,
    bytes: Vec<u8>,
    /// After the frames: the input ended (`Ok`) or could not be read on.
    end: Option<Result<(), CaptureError>>,
}

impl Batch {
    fn new() -> Batch {
        Batch {
            frames: Vec::with_capacity(BATCH_FRAMES),
            bytes: Vec::with_capacity(BATCH_BYTES),
            end: None,
        }
    }

    fn clear(&mut self) {
        self.frames.clear();
        self.bytes.clear();
        self.end = None;
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
#[derive(Debug)]
pub struct Ahead {
    full: Receiver<Batch>,
    empty: SyncSender<Batch>,
    batch: Batch,
    next: usize,
    ended: bool,
}

impl Ahead {
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
        for i in self.next..self.batch.frames.len() {
            if stop() {
                self.next = i;
                return Ok(Fed::Stopped { bytes });
            }
            let f = self.frame(i);
            bytes += 16 + f.captured() as u64;
            f.ingest(an);
        }
        self.next = self.batch.frames.len();
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
            decoded: m.decoded.as_ref(),
        }
    }

    /// Makes the next frame the batch's (the next batch taken when this
    /// one is done); `false` at the end of the input, the error that ended
    /// it once its frames are all given.
    fn advance(&mut self) -> Result<bool, CaptureError> {
        while self.next == self.batch.frames.len() {
            if let Some(end) = self.batch.end.take() {
                self.ended = true;
                return end.map(|()| false);
            }
            if self.ended {
                return Ok(false);
            }
            let Ok(full) = self.full.recv() else {
                // The reader stopped (it panicked): no more frames.
                self.ended = true;
                return Ok(false);
            };
            let mut old = std::mem::replace(&mut self.batch, full);
            old.clear();
            // The reader may have stopped: then the batch is not needed.
            let _ = self.empty.try_send(old);
            self.next = 0;
        }
        Ok(true)
    }
}

/// Runs `analyse` over `src`'s frames with `src` read on a second thread.
/// When `analyse` returns (at the end, or early: Ctrl-C, a frame count),
/// the reader stops at its next batch; `src` is then the caller's again
/// (for its warnings and statistics).
pub fn read_ahead<R>(
    src: &mut dyn FrameSource,
    decode: Decode,
    analyse: impl FnOnce(&mut Ahead) -> R,
) -> R {
    let stop = AtomicBool::new(false);
    let (full_tx, full_rx) = sync_channel::<Batch>(AHEAD);
    let (empty_tx, empty_rx) = sync_channel::<Batch>(AHEAD + 2);
    std::thread::scope(|s| {
        let stop = &stop;
        s.spawn(move || fill(src, decode, &full_tx, &empty_rx, stop));
        let mut ahead = Ahead {
            full: full_rx,
            empty: empty_tx,
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
                Batch::new()
            }
            Err(_) => match empty.recv() {
                Ok(b) => b,
                Err(_) => return,
            },
        };
        while batch.frames.len() < BATCH_FRAMES
            && batch.bytes.len() < BATCH_BYTES
            && batch.end.is_none()
        {
            match src.next_frame() {
                Ok(Next::Frame(f)) => {
                    let start = batch.bytes.len();
                    let decoded = match (decode, f.link) {
                        (Decode::Segments, Some(link)) if f.decoded.is_none() => Some(Decoded {
                            segment: decode_with_len(link, 0, f.ts, f.data, f.wire_len),
                            caplen: f.data.len() as u32,
                        }),
                        _ => {
                            batch.bytes.extend_from_slice(f.data);
                            f.decoded.copied()
                        }
                    };
                    batch.frames.push(Meta {
                        decoded,
                        ts: f.ts,
                        wire_len: f.wire_len,
                        link: f.link,
                        // (Merged inputs are numbered in a byte.)
                        input: u16::try_from(f.input).unwrap_or(u16::MAX),
                        skipped: f.skipped,
                        start: start as u32,
                        end: batch.bytes.len() as u32,
                    });
                }
                // (Files only: no live timeouts.)
                Ok(Next::Timeout) => {}
                Ok(Next::End) => batch.end = Some(Ok(())),
                Err(e) => batch.end = Some(Err(e)),
            }
        }
        let last = batch.end.is_some();
        if full.send(batch).is_err() || last || stop.load(Ordering::Relaxed) {
            return;
        }
    }
}
