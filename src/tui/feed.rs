//! The capture thread: it owns the [`Source`] and the [`Analyzer`] (the one
//! place packets are understood), paces a replay, and publishes a snapshot
//! taken at the current clock about four times a second, or at once on
//! request. Publishing swaps a slot under a mutex; the UI takes the latest
//! whenever it draws, so neither side ever waits on the other.

use crate::analyzer::Analyzer;
use crate::capture::{CaptureError, Next, Source};
use crate::run::wall_clock;
use crate::snapshot::Snapshot;
use crate::time::Timestamp;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often a snapshot is published.
pub const PUBLISH_EVERY: Duration = Duration::from_millis(250);

/// Frames ingested between looks at the clock and the control channel.
const BATCH: usize = 1024;

/// What the footer says about the source.
#[derive(Clone, Debug, Default)]
pub struct FeedStatus {
    /// The input's name: a path, `-`, or `interface:IF`.
    pub source: String,
    /// libpcap's name for the link type.
    pub link: String,
    /// A live capture (else a replay).
    pub live: bool,
    /// Replay speed (times real time); `None` for as fast as it reads.
    pub speed: Option<f64>,
    /// The replay reached the end of the input.
    pub finished: bool,
    /// The replay clock is stopped.
    pub paused: bool,
    /// Packets the kernel dropped (live only).
    pub drops: Option<u64>,
    /// A non-fatal problem (the file ended mid-packet).
    pub warning: Option<String>,
    /// Capture failed; the screen keeps the last state.
    pub error: Option<String>,
}

/// A snapshot and the source's status, as published.
#[derive(Clone, Debug)]
pub struct Published {
    /// Every flow at the clock's current time.
    pub snap: Snapshot,
    /// The source.
    pub status: FeedStatus,
}

/// Messages to the capture thread.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Control {
    /// Stop (true) or restart (false) the replay clock.
    Pause(bool),
    /// Publish a snapshot now.
    Publish,
    /// Finish.
    Quit,
}

/// Maps wall time to capture time for a replay at `speed` times real time.
#[derive(Clone, Copy, Debug)]
pub struct Pacer {
    wall: Instant,
    capture: Timestamp,
    speed: f64,
}

impl Pacer {
    /// Capture time `capture` is shown at wall time `wall`.
    pub fn new(wall: Instant, capture: Timestamp, speed: f64) -> Pacer {
        Pacer {
            wall,
            capture,
            speed,
        }
    }

    /// The capture clock at wall time `at`.
    pub fn capture_time(&self, at: Instant) -> Timestamp {
        let elapsed = at.saturating_duration_since(self.wall).as_secs_f64();
        self.capture.add_secs(elapsed * self.speed)
    }

    /// The wall time at which capture time `ts` is due.
    pub fn wall_time(&self, ts: Timestamp) -> Instant {
        let ahead = (ts - self.capture).as_secs_f64() / self.speed;
        if ahead <= 0.0 {
            self.wall
        } else {
            // Bounded: a capture with a gap of years still gives a valid Instant.
            self.wall + Duration::from_secs_f64(ahead.min(1e9))
        }
    }
}

/// The running capture thread, seen from the UI.
pub struct Feed {
    slot: Arc<Mutex<Option<Published>>>,
    ctl: Sender<Control>,
    done: Receiver<()>,
    handle: Option<JoinHandle<()>>,
}

impl Feed {
    /// Starts the capture thread on `src`; `speed` paces a replay.
    pub fn spawn(src: Source, speed: Option<f64>) -> std::io::Result<Feed> {
        let slot = Arc::new(Mutex::new(None));
        let (ctl, ctl_rx) = mpsc::channel();
        let (done_tx, done) = mpsc::channel();
        let out = Arc::clone(&slot);
        let handle = std::thread::Builder::new()
            .name("kawatch-capture".into())
            .spawn(move || {
                Worker::new(src, speed, out, ctl_rx).run();
                let _ = done_tx.send(());
            })?;
        Ok(Feed {
            slot,
            ctl,
            done,
            handle: Some(handle),
        })
    }

    /// The latest publication, if any arrived since the last call.
    pub fn take(&self) -> Option<Published> {
        self.slot.lock().ok().and_then(|mut s| s.take())
    }

    /// Sends a control message (ignored once the thread has ended).
    pub fn send(&self, c: Control) {
        let _ = self.ctl.send(c);
    }

    /// Whether the capture thread has ended (normally only after `Quit`).
    pub fn ended(&self) -> bool {
        self.handle.as_ref().is_none_or(|h| h.is_finished())
    }

    /// Asks the thread to finish and waits up to `wait` for it. A thread
    /// blocked reading a pipe is left behind; the process exits anyway.
    pub fn stop(mut self, wait: Duration) {
        self.send(Control::Quit);
        if self.done.recv_timeout(wait).is_ok() {
            if let Some(h) = self.handle.take() {
                let _ = h.join();
            }
        }
    }
}

struct Worker {
    src: Source,
    an: Analyzer,
    status: FeedStatus,
    speed: Option<f64>,
    out: Arc<Mutex<Option<Published>>>,
    ctl: Receiver<Control>,
    paused: bool,
    quit: bool,
    publish_now: bool,
    next_publish: Instant,
    /// Replay: the capture clock.
    clock: Option<Timestamp>,
    /// Replay: the next frame, read but not yet due.
    held: Option<(Timestamp, Vec<u8>)>,
    pacer: Option<Pacer>,
    /// Replay: a frame buffer to reuse.
    spare: Option<Vec<u8>>,
}

impl Worker {
    fn new(
        src: Source,
        speed: Option<f64>,
        out: Arc<Mutex<Option<Published>>>,
        ctl: Receiver<Control>,
    ) -> Worker {
        let status = FeedStatus {
            source: src.name().to_string(),
            link: src.link_name().to_string(),
            live: src.is_live(),
            speed: if src.is_live() { None } else { speed },
            ..FeedStatus::default()
        };
        Worker {
            an: Analyzer::new(src.link_type()),
            src,
            status,
            speed,
            out,
            ctl,
            paused: false,
            quit: false,
            publish_now: true,
            next_publish: Instant::now(),
            clock: None,
            held: None,
            pacer: None,
            spare: None,
        }
    }

    fn run(mut self) {
        while !self.quit {
            self.drain_controls();
            if self.quit {
                break;
            }
            if self.status.live && self.status.error.is_none() {
                self.live_step();
            } else if !self.status.live && !self.paused && !self.status.finished {
                match self.speed {
                    None => self.replay_fast(),
                    Some(speed) => self.replay_paced(speed),
                }
            } else {
                // Nothing to read: wait for the UI, publishing on schedule.
                self.wait_until(self.next_publish);
            }
            if self.publish_now || Instant::now() >= self.next_publish {
                self.publish();
            }
        }
    }

    fn handle(&mut self, c: Control) {
        match c {
            Control::Pause(p) => {
                if self.paused && !p {
                    // Resume where the clock stopped.
                    if let (Some(pacer), Some(clock)) = (&mut self.pacer, self.clock) {
                        *pacer = Pacer::new(Instant::now(), clock, pacer.speed);
                    }
                }
                self.paused = p;
                self.status.paused = p && !self.status.live;
                self.publish_now = true;
            }
            Control::Publish => self.publish_now = true,
            Control::Quit => self.quit = true,
        }
    }

    fn drain_controls(&mut self) {
        loop {
            match self.ctl.try_recv() {
                Ok(c) => self.handle(c),
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => {
                    self.quit = true;
                    return;
                }
            }
        }
    }

    /// Sleeps until `until`, waking for control messages.
    fn wait_until(&mut self, until: Instant) {
        let wait = until.saturating_duration_since(Instant::now());
        match self.ctl.recv_timeout(wait) {
            Ok(c) => self.handle(c),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => self.quit = true,
        }
    }

    fn fail(&mut self, e: CaptureError) {
        match e {
            CaptureError::Truncated { .. } => self.status.warning = Some(e.to_string()),
            e => self.status.error = Some(e.to_string()),
        }
        self.finish();
    }

    fn finish(&mut self) {
        self.status.finished = true;
        if !self.status.live {
            self.clock = self.an.time_range().1.or(self.clock);
        }
        self.publish_now = true;
    }

    fn live_step(&mut self) {
        for _ in 0..BATCH {
            match self.src.next_frame() {
                Ok(Next::Frame(f)) => {
                    self.an.ingest_frame(f.ts, f.data);
                }
                Ok(Next::Timeout) => return,
                Ok(Next::End) => return self.finish(),
                Err(e) => return self.fail(e),
            }
            if Instant::now() >= self.next_publish {
                return;
            }
        }
    }

    /// As fast as frames can be read; the clock is the last frame's time.
    fn replay_fast(&mut self) {
        for _ in 0..BATCH {
            match self.src.next_frame() {
                Ok(Next::Frame(f)) => {
                    self.an.ingest_frame(f.ts, f.data);
                }
                Ok(Next::Timeout) => break,
                Ok(Next::End) => {
                    self.finish();
                    break;
                }
                Err(e) => {
                    self.fail(e);
                    break;
                }
            }
        }
        if !self.status.finished {
            self.clock = self.an.time_range().1;
        }
    }

    /// At `speed` times real time: frames are fed when the capture clock
    /// reaches them, and the clock runs on between them.
    fn replay_paced(&mut self, speed: f64) {
        let mut fed = 0;
        loop {
            if self.held.is_none() {
                match self.src.next_frame() {
                    Ok(Next::Frame(f)) => {
                        let ts = f.ts;
                        let mut buf = self.spare.take().unwrap_or_default();
                        buf.clear();
                        buf.extend_from_slice(f.data);
                        self.held = Some((ts, buf));
                    }
                    Ok(Next::Timeout) => return,
                    Ok(Next::End) => return self.finish(),
                    Err(e) => return self.fail(e),
                }
            }
            let Some((ts, _)) = &self.held else { return };
            let ts = *ts;
            let pacer = *self
                .pacer
                .get_or_insert_with(|| Pacer::new(Instant::now(), ts, speed));
            let now = Instant::now();
            let clock = pacer.capture_time(now);
            self.clock = Some(clock.max(self.clock.unwrap_or(clock)));
            if ts > clock {
                // Not due yet: sleep until it is, or until the next publication.
                let due = pacer.wall_time(ts).min(self.next_publish);
                self.wait_until(due);
                return;
            }
            if let Some((ts, data)) = self.held.take() {
                self.an.ingest_frame(ts, &data);
                self.spare = Some(data);
            }
            fed += 1;
            if fed >= BATCH || Instant::now() >= self.next_publish {
                return;
            }
        }
    }

    fn publish(&mut self) {
        let now = if self.status.live {
            wall_clock()
        } else {
            self.clock.unwrap_or_default()
        };
        if self.status.live {
            self.status.drops = self
                .src
                .stats()
                .map(|s| s.dropped as u64 + s.if_dropped as u64);
        }
        let p = Published {
            snap: self.an.snapshot(now),
            status: self.status.clone(),
        };
        if let Ok(mut slot) = self.out.lock() {
            *slot = Some(p);
        }
        self.publish_now = false;
        self.next_publish = Instant::now() + PUBLISH_EVERY;
    }
}
