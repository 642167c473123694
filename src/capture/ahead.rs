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
//!
//! A live capture is read the same way, so reading and decoding take
//! nothing from the analysis (the kernel's ring drains twice as fast): a
//! batch is handed over once [`LIVE_FLUSH`] passed since its first frame or
//! the capture went quiet, so frames wait at most that long; the analysis
//! side sees [`Next::Timeout`] while nothing comes; [`Ahead::stop`] ends the
//! capture at its stop point ([`FrameSource::stop`]) from the reader's side.

use super::{CaptureError, Decoded, Frame, FrameSource, Next};
use kawatch_core::{decode_with_len, LinkType, Timestamp};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Frames a batch holds at most.
pub(crate) const BATCH_FRAMES: usize = 1024;
/// Bytes of frames a batch holds (one larger frame goes alone).
pub(crate) const BATCH_BYTES: usize = 256 << 10;
/// Batches filled ahead of the analysis, at most.
const AHEAD: usize = 4;
/// Live: how long a frame may wait in a batch that is not full.
pub(crate) const LIVE_FLUSH: Duration = Duration::from_millis(20);
/// Live: how long the analysis side waits for a batch before it hears
/// [`Next::Timeout`] (and looks at Ctrl-C, `--duration`, the screen).
const LIVE_WAIT: Duration = Duration::from_millis(100);

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

/// The analysis side: frames as [`FrameSource::next_frame`] gives them.
#[derive(Debug)]
pub struct Ahead {
    full: Receiver<Batch>,
    empty: SyncSender<Batch>,
    batch: Batch,
    next: usize,
    ended: bool,
    /// A live capture: waits end in [`Next::Timeout`].
    live: bool,
    /// Live: asks the reader to end the capture at its stop point.
    end_at_stop: Arc<AtomicBool>,
}

impl Ahead {
    /// Live captures: end at the stop point, as [`FrameSource::stop`] does
    /// (the reader calls it before its next read); frames up to it still
    /// come, then [`Next::End`]. Nothing for files.
    pub fn stop(&mut self) {
        self.end_at_stop.store(true, Ordering::Relaxed);
    }

    /// The next frame, or the end of the input (or the error that ended it).
    pub fn next_frame(&mut self) -> Result<Next<'_>, CaptureError> {
        if self.next == self.batch.frames.len() {
            if let Some(end) = self.batch.end.take() {
                self.ended = true;
                return end.map(|()| Next::End);
            }
            if self.ended {
                return Ok(Next::End);
            }
            let received = if self.live {
                self.full.recv_timeout(LIVE_WAIT)
            } else {
                self.full.recv().map_err(RecvTimeoutError::from)
            };
            let full = match received {
                Ok(full) => full,
                Err(RecvTimeoutError::Timeout) => return Ok(Next::Timeout),
                // The reader stopped (it panicked): no more frames.
                Err(RecvTimeoutError::Disconnected) => {
                    self.ended = true;
                    return Ok(Next::End);
                }
            };
            let mut old = std::mem::replace(&mut self.batch, full);
            old.clear();
            // The reader may have stopped: then the batch is not needed.
            let _ = self.empty.try_send(old);
            self.next = 0;
            return self.next_frame();
        }
        let m = &self.batch.frames[self.next];
        self.next += 1;
        Ok(Next::Frame(Frame {
            ts: m.ts,
            data: &self.batch.bytes[m.start as usize..m.end as usize],
            wire_len: m.wire_len,
            link: m.link,
            input: usize::from(m.input),
            skipped: m.skipped,
            decoded: m.decoded.as_ref(),
        }))
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
    let end_at_stop = Arc::new(AtomicBool::new(false));
    let live = src.is_live();
    let (full_tx, full_rx) = sync_channel::<Batch>(AHEAD);
    let (empty_tx, empty_rx) = sync_channel::<Batch>(AHEAD + 2);
    std::thread::scope(|s| {
        let stop = &stop;
        let reader = Reader {
            decode,
            live,
            end_at_stop: Arc::clone(&end_at_stop),
        };
        s.spawn(move || reader.fill(src, &full_tx, &empty_rx, stop));
        let mut ahead = Ahead {
            full: full_rx,
            empty: empty_tx,
            batch: Batch::default(),
            next: 0,
            ended: false,
            live,
            end_at_stop,
        };
        let r = analyse(&mut ahead);
        stop.store(true, Ordering::Relaxed);
        // Dropping the channels' ends wakes a reader waiting on either.
        drop(ahead);
        r
    })
}

/// The reading side's settings.
struct Reader {
    decode: Decode,
    live: bool,
    end_at_stop: Arc<AtomicBool>,
}

impl Reader {
    /// Fills batches until the input ends, it fails, or `stop`.
    fn fill(
        &self,
        src: &mut dyn FrameSource,
        full: &SyncSender<Batch>,
        empty: &Receiver<Batch>,
        stop: &AtomicBool,
    ) {
        let mut made = 0;
        let mut stopped_src = false;
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
            let mut first_at = None;
            while batch.frames.len() < BATCH_FRAMES
                && batch.bytes.len() < BATCH_BYTES
                && batch.end.is_none()
            {
                if self.live && !stopped_src && self.end_at_stop.load(Ordering::Relaxed) {
                    src.stop();
                    stopped_src = true;
                }
                match src.next_frame() {
                    Ok(Next::Frame(f)) => {
                        self.push(&mut batch, &f);
                        if self.live {
                            let first = *first_at.get_or_insert_with(Instant::now);
                            if batch.frames.len() % 16 == 0 && first.elapsed() >= LIVE_FLUSH {
                                break;
                            }
                        }
                    }
                    // Live and quiet: hand over what there is; with nothing,
                    // wait on unless the analysis is over.
                    Ok(Next::Timeout) => {
                        if !batch.frames.is_empty() {
                            break;
                        }
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                    }
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

    /// Adds a frame to `batch`: its segment, decoded here, or its bytes.
    fn push(&self, batch: &mut Batch, f: &Frame<'_>) {
        let start = batch.bytes.len();
        let decoded = match (self.decode, f.link) {
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
}
