//! The capture side: threads that own the [`FrameSource`] and the [`Analyzer`]
//! (the one place packets are understood), pace a replay, and publish a
//! snapshot taken at the current clock about four times a second, or at once
//! on request. Publishing swaps a slot under a mutex; the UI takes the latest
//! whenever it draws, so neither side ever waits on the other.
//!
//! * Replay: one thread reads, paces and publishes.
//! * Live: a capture thread reads and feeds the analyser, and a publisher
//!   thread snapshots it on the wall clock. Two threads because a libpcap
//!   read may block until a packet arrives (on Linux with TPACKET_V3 the
//!   read timeout never fires on an idle interface), and the screen must
//!   keep moving with the clock all the same. Told to
//!   stop, the capture thread reads on to the stop point (what the kernel
//!   accepted until then) and leaves tcpdump's counts ([`Counts`]), which
//!   the screen prints on stderr once it has closed.
//!
//! A replay's time is the wall clock (`Timing::Real`), or moves only when
//! the UI steps it (`Timing::Stepped`, for a scripted UI): each
//! `Feed::step` does everything due by then and waits for it, so what a
//! scripted run shows depends on the script alone.

use crate::capture::{CaptureError, Frame, LeftOut, Next, SocketFilter};
use crate::run::wall_clock;
use crate::tui::source::FrameSource;
use kawatch_core::Snapshot;
use kawatch_core::{with_sockets_where, Analyzer, Limits};
use kawatch_core::{Endpoint, LinkType, LocalSocket, SocketState, Timestamp};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often a snapshot is published.
pub(crate) const PUBLISH_EVERY: Duration = Duration::from_millis(250);

/// How often flows that ended or went quiet are let go.
const EXPIRE_EVERY: Duration = Duration::from_secs(5);

/// Frames ingested between looks at the clock and the control channel.
const BATCH: usize = 1024;

/// Stepped time: the longest [`Feed::step`] waits for the replay thread
/// (a source whose read blocks must not hang the UI).
const STEP_LIMIT: Duration = Duration::from_secs(30);

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
    /// The replay can start again from the first frame (a file).
    pub restartable: bool,
    /// The replay reached the end of the input.
    pub finished: bool,
    /// The replay clock is stopped.
    pub paused: bool,
    /// Packets the kernel dropped (live only).
    pub drops: Option<u64>,
    /// A non-fatal problem (the file ended mid-packet, a filter that does
    /// not apply to a link type, packets with no time), said again on
    /// leaving the screen.
    pub warning: Option<String>,
    /// The warning is of an input cut off mid-packet (what the footer says).
    pub cut_off: bool,
    /// Capture failed; the screen keeps the last state.
    pub error: Option<String>,
    /// Live: what reading this box's sockets gave: how many, or why not,
    /// and what limited it (e.g. no ptrace rights: settings from the timer).
    pub local: Option<LocalStatus>,
    /// Live, once the capture has ended (the screen closed): its packet
    /// counts. Never on screen.
    pub counts: Option<Counts>,
}

/// A live capture's packet counts at its end, as tcpdump prints them when
/// it exits (and `kawatch report --interface` does).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Frames read and analysed.
    pub captured: u64,
    /// Packets the filter accepted, as the kernel counts them (the dropped
    /// included).
    pub received: u64,
    /// Packets the kernel dropped: no room in the buffer, or at the interface.
    pub dropped: u64,
}

impl std::fmt::Display for Counts {
    /// tcpdump's three lines.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{} packets captured", self.captured)?;
        writeln!(f, "{} packets received by filter", self.received)?;
        writeln!(f, "{} packets dropped by kernel", self.dropped)
    }
}

/// What the live screen could read of this box's sockets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LocalStatus {
    /// Read: this many sockets, with the listing's notes.
    Read {
        /// Sockets listed that the capture's filter does not leave out.
        sockets: usize,
        /// What limited the listing, and how to lift it.
        notes: Vec<String>,
    },
    /// Not read, and why.
    Failed(String),
}

/// A snapshot and the source's status, as published.
#[derive(Clone, Debug)]
pub(crate) struct Published {
    /// Every flow at the clock's current time.
    pub(crate) snap: Snapshot,
    /// The source.
    pub(crate) status: FeedStatus,
}

/// Messages to the capture thread.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(crate) enum Control {
    /// Stop (true) or restart (false) the replay clock.
    Pause(bool),
    /// Replay at this speed from now on; `None`: as fast as it reads.
    Speed(Option<f64>),
    /// Replay again from the first frame, with a fresh analyser.
    Restart,
    /// Stepped time: it is now this; do what is due and answer.
    Step(Instant),
    /// Finish.
    Quit,
}

/// How a replay's time moves.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Timing {
    /// With the wall clock: the threads sleep and wake on their own.
    Real,
    /// Only by [`Feed::step`], from this instant on. A live capture ignores
    /// it: its clock is the wall clock.
    Stepped(Instant),
}

/// Maps wall time to capture time for a replay at `speed` times real time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pacer {
    wall: Instant,
    capture: Timestamp,
    speed: f64,
}

impl Pacer {
    /// Capture time `capture` is shown at wall time `wall`.
    pub(crate) fn new(wall: Instant, capture: Timestamp, speed: f64) -> Pacer {
        Pacer {
            wall,
            capture,
            speed,
        }
    }

    /// The capture clock at wall time `at`.
    pub(crate) fn capture_time(&self, at: Instant) -> Timestamp {
        let elapsed = at.saturating_duration_since(self.wall).as_secs_f64();
        self.capture.add_secs(elapsed * self.speed)
    }

    /// The wall time at which capture time `ts` is due.
    pub(crate) fn wall_time(&self, ts: Timestamp) -> Instant {
        let ahead = (ts - self.capture).as_secs_f64() / self.speed;
        if ahead <= 0.0 {
            self.wall
        } else {
            // Bounded: a capture with a gap of years still gives a valid Instant.
            self.wall + Duration::from_secs_f64(ahead.min(1e9))
        }
    }
}

/// The running capture threads, seen from the UI.
pub(crate) struct Feed {
    slot: Arc<Mutex<Option<Published>>>,
    ctl: Sender<Control>,
    done: Receiver<()>,
    handles: Vec<JoinHandle<()>>,
    /// Stepped time: the replay thread's answers to [`Control::Step`].
    steps: Option<Receiver<Instant>>,
    /// Live: the capture thread's status, where it leaves its counts.
    live: Option<Arc<Live>>,
}

impl Feed {
    /// Starts capturing from `src`; `speed` paces a replay, whose time
    /// moves as `timing` says.
    pub(crate) fn spawn<S: FrameSource + 'static>(
        src: S,
        speed: Option<f64>,
        limits: Limits,
        timing: Timing,
        sockets: bool,
    ) -> std::io::Result<Feed> {
        let slot = Arc::new(Mutex::new(None));
        let (ctl, ctl_rx) = mpsc::channel();
        let (done_tx, done) = mpsc::channel();
        let out = Arc::clone(&slot);
        let mut steps = None;
        let mut live = None;
        let handles = if src.is_live() {
            let (handles, l) = spawn_live(src, limits, sockets, out, ctl_rx, done_tx)?;
            live = Some(l);
            handles
        } else {
            let (time, answer) = match timing {
                Timing::Real => (Time::Real, None),
                Timing::Stepped(start) => {
                    let (tx, rx) = mpsc::channel();
                    steps = Some(rx);
                    (Time::Stepped(start), Some(tx))
                }
            };
            let h = std::thread::Builder::new()
                .name("kawatch-replay".into())
                .spawn(move || {
                    let w = Worker::new(src, speed, limits, out, ctl_rx, time);
                    match answer {
                        None => w.run(),
                        Some(answer) => w.run_stepped(&answer),
                    }
                    let _ = done_tx.send(());
                })?;
            vec![h]
        };
        Ok(Feed {
            slot,
            ctl,
            done,
            handles,
            steps,
            live,
        })
    }

    /// The latest publication, if any arrived since the last call.
    pub(crate) fn take(&self) -> Option<Published> {
        lock(&self.slot).take()
    }

    /// Sends a control message (ignored once the threads have ended).
    pub(crate) fn send(&self, c: Control) {
        let _ = self.ctl.send(c);
    }

    /// Stepped time: moves the replay's clock to `now` and waits until the
    /// thread has done all that is due by then, publishing too if that is
    /// due. Nothing on the wall clock.
    pub(crate) fn step(&self, now: Instant) {
        let Some(steps) = &self.steps else { return };
        self.send(Control::Step(now));
        let limit = Instant::now() + STEP_LIMIT;
        // Answers to steps that timed out earlier are passed over.
        while let Ok(done) = steps.recv_timeout(limit.saturating_duration_since(Instant::now())) {
            if done >= now {
                return;
            }
        }
    }

    /// Whether a capture thread has ended. Before `Quit` that happens only
    /// when capture failed (the status says why) or a thread panicked.
    pub(crate) fn ended(&self) -> bool {
        self.handles
            .iter()
            .any(std::thread::JoinHandle::is_finished)
    }

    /// Asks the threads to finish and waits up to `wait` for each to say
    /// so. A thread blocked in a read (a quiet pipe) is left behind; the
    /// process exits anyway. Live: the capture thread first reads what the
    /// kernel accepted before the stop ([`FrameSource::stop`]), and the
    /// counts it ends with are returned (`None` if it had not ended by then).
    pub(crate) fn stop(self, wait: Duration) -> Option<Counts> {
        self.send(Control::Quit);
        let deadline = Instant::now() + wait;
        for _ in 0..self.handles.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            if self.done.recv_timeout(left).is_err() {
                break;
            }
        }
        for h in self.handles {
            if h.is_finished() {
                let _ = h.join();
            }
        }
        self.live.and_then(|l| lock(&l.status).counts)
    }
}

/// Locks a mutex, also after a thread panicked holding it (the data is
/// still the best there is).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Live capture: what the capture thread and the publisher share.
struct Live {
    an: Mutex<Analyzer>,
    status: Mutex<FeedStatus>,
    stop: AtomicBool,
    /// Read this box's sockets beside the capture.
    sockets: bool,
    /// The capture's filter and interface, which the sockets shown pass
    /// and cross too.
    filter: Option<String>,
    interface: Option<String>,
}

/// How often the live screen reads this box's sockets from the kernel.
const SOCKETS_EVERY: Duration = Duration::from_millis(500);

/// Starts the capture thread and the publisher; each says on `done` when it
/// has ended.
fn spawn_live<S: FrameSource + 'static>(
    src: S,
    limits: Limits,
    sockets: bool,
    out: Arc<Mutex<Option<Published>>>,
    ctl: Receiver<Control>,
    done: Sender<()>,
) -> std::io::Result<(Vec<JoinHandle<()>>, Arc<Live>)> {
    let live = Arc::new(Live {
        an: Mutex::new(Analyzer::with_limits(src.link_type(), limits)),
        status: Mutex::new(FeedStatus {
            source: src.name().to_string(),
            link: src.link_name().to_string(),
            live: true,
            ..FeedStatus::default()
        }),
        stop: AtomicBool::new(false),
        sockets,
        filter: src.capture_filter().map(str::to_owned),
        interface: src.capture_interface().map(str::to_owned),
    });
    let (l, captured) = (Arc::clone(&live), done.clone());
    let capture = std::thread::Builder::new()
        .name("kawatch-capture".into())
        .spawn(move || {
            live_capture(src, &l);
            let _ = captured.send(());
        })?;
    let l = Arc::clone(&live);
    let publisher = std::thread::Builder::new()
        .name("kawatch-publish".into())
        .spawn(move || {
            live_publish(&l, &out, &ctl);
            let _ = done.send(());
        })?;
    Ok((vec![capture, publisher], live))
}

/// Reads frames into the analyser until capture ends or fails. Told to
/// stop, it stops the source and reads on to its end: what the kernel
/// accepted before the stop. However it ends, the counts are left in the
/// status.
fn live_capture(mut src: impl FrameSource, live: &Live) {
    let mut next_stats = Instant::now();
    let mut captured: u64 = 0;
    let mut stopping = false;
    loop {
        if !stopping && live.stop.load(Ordering::Relaxed) {
            src.stop();
            stopping = true;
        }
        if !stopping && Instant::now() >= next_stats {
            let drops = src.stats().map(|s| s.dropped as u64 + s.if_dropped as u64);
            lock(&live.status).drops = drops;
            next_stats = Instant::now() + PUBLISH_EVERY;
        }
        match src.next_frame() {
            Ok(Next::Frame(f)) => {
                captured += 1;
                f.ingest(&mut lock(&live.an));
            }
            Ok(Next::Timeout) => {}
            Ok(Next::End) => {
                // Asked to stop, the end is the stop point's, not the input's.
                if !stopping {
                    lock(&live.status).finished = true;
                }
                break;
            }
            Err(e) => {
                lock(&live.status).error = Some(e.to_string());
                break;
            }
        }
    }
    lock(&live.status).counts = src.stats().map(|s| Counts {
        captured,
        received: u64::from(s.received),
        dropped: u64::from(s.dropped) + u64::from(s.if_dropped),
    });
}

/// How long a socket the kernel lists no more waits before its row may say
/// `gone`: the FIN or RST that closed it may reach the capture after the
/// socket left the kernel's list.
const GONE_AFTER: Duration = Duration::from_secs(1);

/// Publishes a snapshot at the wall clock on schedule and on request.
fn live_publish(live: &Live, out: &Mutex<Option<Published>>, ctl: &Receiver<Control>) {
    let mut next_expire = Instant::now() + EXPIRE_EVERY;
    let mut next_sockets = Instant::now();
    let (mut sockets, mut left_out) = (Vec::<LocalSocket>::new(), LeftOut::new());
    // Connections the kernel listed and lists no more (closed since), as
    // last read: while the wire shows them, their rows know the socket
    // closed (with no FIN or RST on the wire: `gone`).
    let mut gone: HashMap<(Endpoint, Endpoint), (LocalSocket, Instant)> = HashMap::new();
    let mut read_at = Instant::now();
    let filter = SocketFilter::for_capture(live.filter.as_deref(), live.interface.as_deref());
    loop {
        let started = Instant::now();
        if live.sockets && started >= next_sockets {
            // Read outside the analyser's lock: capture goes on meanwhile.
            let local = match crate::sockets::list() {
                Ok(l) => {
                    // What the last reading knew better stays.
                    let earlier: HashMap<_, _> =
                        sockets.iter().map(|s| ((s.local, s.remote), s)).collect();
                    let mut now = l.sockets;
                    for s in &mut now {
                        if let Some(e) = earlier.get(&(s.local, s.remote)) {
                            s.carry_over(e);
                        }
                    }
                    let listed: HashSet<_> = now.iter().map(|s| (s.local, s.remote)).collect();
                    gone.retain(|k, _| !listed.contains(k));
                    for s in sockets.iter().filter(|s| s.state != SocketState::Listen) {
                        if !listed.contains(&(s.local, s.remote)) {
                            gone.insert((s.local, s.remote), (s.gone(), started));
                        }
                    }
                    sockets = now;
                    read_at = started;
                    left_out = filter.left_out(&sockets);
                    // (Those the capture's filter leaves out are not shown.)
                    let read = sockets
                        .iter()
                        .filter(|s| !left_out.contains(&(s.local, s.remote)))
                        .count();
                    sockets.extend(l.listening);
                    LocalStatus::Read {
                        sockets: read,
                        notes: l.notes,
                    }
                }
                Err(e) => LocalStatus::Failed(e.to_string()),
            };
            lock(&live.status).local = Some(local);
            next_sockets = started + SOCKETS_EVERY;
        }
        let now = wall_clock();
        let snap = {
            let mut an = lock(&live.an);
            if started >= next_expire {
                // Closed flows leave after a minute, idle ones after the
                // core's idle timeout; those with keepalives stay listed.
                an.expire(now);
                next_expire = started + EXPIRE_EVERY;
            }
            an.snapshot(now)
        };
        // Those the capture's filter leaves out make no flow of their own;
        // a flow the wire shows still finds its socket.
        // The reading as it stands now (its timers ran on since).
        let age = u32::try_from(started.duration_since(read_at).as_millis()).unwrap_or(u32::MAX);
        // (A closed one only while the wire shows its connection; it makes
        // no row of its own.)
        if !gone.is_empty() {
            let on_wire: HashSet<(Endpoint, Endpoint)> = snap
                .flows
                .iter()
                .flat_map(|f| [(f.a, f.b), (f.b, f.a)])
                .collect();
            gone.retain(|k, _| on_wire.contains(k));
        }
        // (After a second: a close's FIN or RST is on the wire by then,
        // where the socket's vanishing came first.)
        let aged = sockets
            .iter()
            .map(|s| s.aged(age))
            .chain(
                gone.values()
                    .filter(|(_, at)| started.duration_since(*at) >= GONE_AFTER)
                    .map(|(s, _)| s.clone()),
            )
            .collect();
        let snap = with_sockets_where(snap, aged, |s| {
            let ends = (s.local, s.remote);
            !left_out.contains(&ends) && !gone.contains_key(&ends)
        });
        let status = lock(&live.status).clone();
        *lock(out) = Some(Published { snap, status });
        // A huge table makes snapshots costly: then publish less often, so
        // capture keeps at least three quarters of the analyser's time.
        let wait = PUBLISH_EVERY.max(started.elapsed() * 3);
        match ctl.recv_timeout(wait) {
            Ok(Control::Quit) | Err(RecvTimeoutError::Disconnected) => {
                live.stop.store(true, Ordering::Relaxed);
                return;
            }
            // Live, pausing freezes only the screen; capture goes on at
            // its own pace, from where it is.
            Ok(Control::Pause(_) | Control::Speed(_) | Control::Restart | Control::Step(_))
            | Err(RecvTimeoutError::Timeout) => {}
        }
    }
}

/// A replay thread's time.
#[derive(Clone, Copy, Debug)]
enum Time {
    /// The wall clock.
    Real,
    /// As the UI last stepped it.
    Stepped(Instant),
}

/// What a replay thread does next.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Work {
    /// Read on.
    More,
    /// Nothing to read now (a live read timed out).
    Stalled,
    /// The next frame is due at this time.
    Due(Instant),
    /// Paused, or the input is done: nothing until the UI says.
    Idle,
}

/// Replay: reads, paces and publishes.
struct Worker<S> {
    src: S,
    an: Analyzer,
    limits: Limits,
    status: FeedStatus,
    speed: Option<f64>,
    out: Arc<Mutex<Option<Published>>>,
    ctl: Receiver<Control>,
    time: Time,
    paused: bool,
    quit: bool,
    publish_now: bool,
    next_publish: Instant,
    next_expire: Instant,
    /// The capture clock flows were last expired at.
    expired_at: Option<Timestamp>,
    /// Replay: the capture clock.
    clock: Option<Timestamp>,
    /// Replay: the next frame (time, length on the wire, link type, bytes),
    /// read but not yet due.
    held: Option<(Timestamp, u32, Option<LinkType>, Vec<u8>)>,
    pacer: Option<Pacer>,
    /// Replay: a frame buffer to reuse.
    spare: Option<Vec<u8>>,
}

impl<S: FrameSource> Worker<S> {
    fn new(
        src: S,
        speed: Option<f64>,
        limits: Limits,
        out: Arc<Mutex<Option<Published>>>,
        ctl: Receiver<Control>,
        time: Time,
    ) -> Worker<S> {
        let status = FeedStatus {
            source: src.name().to_string(),
            link: src.link_name().to_string(),
            speed,
            restartable: src.can_restart(),
            ..FeedStatus::default()
        };
        let mut w = Worker {
            an: Analyzer::with_limits(src.link_type(), limits),
            limits,
            src,
            status,
            speed,
            out,
            ctl,
            time,
            paused: false,
            quit: false,
            publish_now: true,
            next_publish: Instant::now(),
            next_expire: Instant::now(),
            expired_at: None,
            clock: None,
            held: None,
            pacer: None,
            spare: None,
        };
        w.next_publish = w.now();
        w.next_expire = w.now() + EXPIRE_EVERY;
        w
    }

    fn now(&self) -> Instant {
        match self.time {
            Time::Real => Instant::now(),
            Time::Stepped(now) => now,
        }
    }

    /// On the wall clock, until told to quit.
    fn run(mut self) {
        while !self.quit {
            self.drain_controls();
            if self.quit {
                break;
            }
            match self.work() {
                Work::More | Work::Stalled => {}
                // Not due yet: sleep until it is, or until the next publication.
                Work::Due(at) => self.wait_until(at.min(self.next_publish)),
                // Nothing to read: wait for the UI, publishing on schedule.
                Work::Idle => self.wait_until(self.next_publish),
            }
            if self.publish_now || self.now() >= self.next_publish {
                self.publish();
            }
        }
    }

    /// On stepped time: each step does what is due by then, publishes if
    /// that is due, and answers.
    fn run_stepped(mut self, answer: &Sender<Instant>) {
        while !self.quit {
            match self.ctl.recv() {
                Ok(Control::Step(now)) => {
                    self.time = Time::Stepped(now);
                    while self.work() == Work::More {}
                    if self.publish_now || now >= self.next_publish {
                        self.publish();
                    }
                    if answer.send(now).is_err() {
                        return;
                    }
                }
                Ok(c) => self.handle(c),
                Err(_) => return,
            }
        }
    }

    /// Reads a batch: as fast as it can, or what is due at `speed`.
    fn work(&mut self) -> Work {
        if self.paused || self.status.finished {
            return Work::Idle;
        }
        match self.speed {
            None => self.replay_fast(),
            Some(speed) => self.replay_paced(speed),
        }
    }

    fn handle(&mut self, c: Control) {
        match c {
            Control::Pause(p) => {
                if self.paused && !p {
                    // Resume where the clock stopped.
                    let now = self.now();
                    if let (Some(pacer), Some(clock)) = (&mut self.pacer, self.clock) {
                        *pacer = Pacer::new(now, clock, pacer.speed);
                    }
                }
                self.paused = p;
                self.status.paused = p;
                self.publish_now = true;
            }
            Control::Speed(to) => self.set_speed(to),
            Control::Restart => self.restart(),
            // Only a stepped thread is stepped (`run_stepped`).
            Control::Step(_) => {}
            Control::Quit => self.quit = true,
        }
    }

    /// Replays at `to` from now on: the clock goes on from where the old
    /// speed had it.
    fn set_speed(&mut self, to: Option<f64>) {
        let now = self.now();
        if let (Some(p), false, false) = (self.pacer, self.paused, self.status.finished) {
            let at = p.capture_time(now);
            self.clock = Some(self.clock.map_or(at, |c| c.max(at)));
        }
        self.speed = to;
        self.status.speed = to;
        // As fast as it reads has no pacer; a paused one is anchored again
        // on resume, at its speed.
        self.pacer = match (to, self.clock) {
            (Some(speed), Some(clock)) => Some(Pacer::new(now, clock, speed)),
            _ => None,
        };
        self.publish_now = true;
    }

    /// Reads the input again from its first frame into a fresh analyser,
    /// at the same speed, resumed. A warning (the input is cut off) stands:
    /// it is the same input.
    fn restart(&mut self) {
        match self.src.restart() {
            Ok(true) => {
                self.an = Analyzer::with_limits(self.src.link_type(), self.limits);
                self.clock = None;
                self.held = None;
                self.pacer = None;
                self.paused = false;
                self.status.paused = false;
                self.status.finished = false;
                self.status.error = None;
                self.next_expire = self.now() + EXPIRE_EVERY;
                self.expired_at = None;
            }
            Ok(false) => {}
            Err(e) => {
                self.status.error = Some(format!("cannot replay again: {e}"));
                self.status.finished = true;
            }
        }
        self.publish_now = true;
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
        let wait = until.saturating_duration_since(self.now());
        match self.ctl.recv_timeout(wait) {
            Ok(c) => self.handle(c),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => self.quit = true,
        }
    }

    fn fail(&mut self, e: CaptureError) {
        // A capture cut off or damaged after its first frames keeps what was
        // read: a warning, not a failure.
        if e.is_partial() {
            self.status.cut_off = matches!(e, CaptureError::Truncated { .. });
            self.warn(e.to_string());
        } else {
            self.status.error = Some(e.to_string());
        }
        self.finish();
    }

    /// Adds `w` to what the screen warns of, once.
    fn warn(&mut self, w: String) {
        match &mut self.status.warning {
            Some(said) if said.contains(&w) => {}
            Some(said) => {
                said.push_str("\nkawatch: warning: ");
                said.push_str(&w);
            }
            None => self.status.warning = Some(w),
        }
    }

    fn finish(&mut self) {
        for w in self.src.take_warnings() {
            self.warn(w);
        }
        self.status.finished = true;
        self.clock = self.an.time_range().1.or(self.clock);
        self.publish_now = true;
    }

    /// Feeds the frame read ahead, if any, and keeps its buffer for reuse.
    fn feed_held(&mut self) {
        if let Some((ts, wire_len, link, data)) = self.held.take() {
            let frame = Frame {
                ts,
                data: &data,
                wire_len,
                link,
                input: 0,
                skipped: 0,
                decoded: None,
            };
            frame.ingest(&mut self.an);
            self.spare = Some(data);
        }
    }

    /// As fast as frames can be read; the clock is the last frame's time.
    fn replay_fast(&mut self) -> Work {
        // A frame read while paced (the speed went up to full since).
        self.feed_held();
        let mut work = Work::More;
        for _ in 0..BATCH {
            match self.src.next_frame() {
                Ok(Next::Frame(f)) => {
                    f.ingest(&mut self.an);
                }
                Ok(Next::Timeout) => {
                    work = Work::Stalled;
                    break;
                }
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
            // Never back: a paced clock may have run past the last frame.
            self.clock = self.clock.max(self.an.time_range().1);
        }
        work
    }

    /// At `speed` times real time: frames are fed when the capture clock
    /// reaches them, and the clock runs on between them.
    fn replay_paced(&mut self, speed: f64) -> Work {
        let mut fed = 0;
        loop {
            if self.held.is_none() {
                match self.src.next_frame() {
                    Ok(Next::Frame(f)) => {
                        let (ts, wire_len, link) = (f.ts, f.wire_len, f.link);
                        let mut buf = self.spare.take().unwrap_or_default();
                        buf.clear();
                        buf.extend_from_slice(f.data);
                        self.held = Some((ts, wire_len, link, buf));
                    }
                    Ok(Next::Timeout) => return Work::Stalled,
                    Ok(Next::End) => {
                        self.finish();
                        return Work::More;
                    }
                    Err(e) => {
                        self.fail(e);
                        return Work::More;
                    }
                }
            }
            let Some((ts, ..)) = &self.held else {
                return Work::More;
            };
            let ts = *ts;
            let now = self.now();
            let pacer = *self.pacer.get_or_insert_with(|| Pacer::new(now, ts, speed));
            let clock = pacer.capture_time(now);
            self.clock = Some(clock.max(self.clock.unwrap_or(clock)));
            if ts > clock {
                return Work::Due(pacer.wall_time(ts));
            }
            self.feed_held();
            fed += 1;
            if fed >= BATCH || self.now() >= self.next_publish {
                return Work::More;
            }
        }
    }

    fn publish(&mut self) {
        let started = self.now();
        let now = self.clock.unwrap_or_default();
        // Closed flows leave after a minute, idle ones after the core's
        // idle timeout; those with keepalives stay listed (retired). Now
        // and then while the clock runs; at once when it stops (the end,
        // a pause), so a stopped clock's screen does not change later.
        let stopped = self.status.finished || self.paused;
        if self.expired_at != Some(now) && (stopped || started >= self.next_expire) {
            self.an.expire(now);
            self.expired_at = Some(now);
            self.next_expire = started + EXPIRE_EVERY;
        }
        let p = Published {
            snap: self.an.snapshot(now),
            status: self.status.clone(),
        };
        *lock(&self.out) = Some(p);
        self.publish_now = false;
        // A huge table makes snapshots costly: then publish less often, so
        // capture keeps at least three quarters of this thread's time.
        let cost = self.now().saturating_duration_since(started);
        self.next_publish = self.now() + PUBLISH_EVERY.max(cost * 3);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Source;
    use crate::tui::source::Frames;
    use std::path::Path;

    fn fixture(name: &str) -> Source {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/synth")
            .join(name);
        Source::open_file(&path, None).expect("fixture opens")
    }

    /// Takes publications until one satisfies `done`, for at most `limit`.
    fn until(feed: &Feed, limit: Duration, done: impl Fn(&Published) -> bool) -> Published {
        let start = Instant::now();
        let mut last = None;
        while start.elapsed() < limit {
            if let Some(p) = feed.take() {
                if done(&p) {
                    return p;
                }
                last = Some(p);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("no matching publication within {limit:?}; last {last:?}");
    }

    /// A stepped replay of a fixture at `speed`, and its time 0.
    fn stepped(name: &str, speed: Option<f64>) -> (Feed, Instant) {
        let start = Instant::now();
        let frames = Frames::read(&mut fixture(name));
        let feed = Feed::spawn(
            frames,
            speed,
            Limits::default(),
            Timing::Stepped(start),
            false,
        )
        .expect("thread");
        (feed, start)
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn pacer_maps_both_ways() {
        let wall = Instant::now();
        let cap = Timestamp::from_parts(1_700_000_000, 0);
        let p = Pacer::new(wall, cap, 10.0);
        let later = wall + Duration::from_millis(500);
        assert_eq!(p.capture_time(later), cap.add_secs(5.0));
        assert_eq!(p.wall_time(cap.add_secs(5.0)), later);
        assert_eq!(
            p.wall_time(cap.add_secs(-3.0)),
            wall,
            "past frames are due now"
        );
    }

    /// On the wall clock, with libpcap reading: the threads as `kawatch --read` runs them.
    #[test]
    fn full_speed_replay_ends_on_the_last_frame() {
        let feed = Feed::spawn(
            fixture("null.pcap"),
            None,
            Limits::default(),
            Timing::Real,
            false,
        )
        .expect("thread");
        let p = until(&feed, Duration::from_secs(10), |p| p.status.finished);
        assert_eq!(p.snap.flows.len(), 2);
        assert_eq!(Some(p.snap.now), p.snap.last_ts, "clock stops at the end");
        assert_eq!(p.snap.counters.frames, 22);
        assert!(p.status.error.is_none());
        feed.stop(Duration::from_secs(2));
    }

    /// The screen's detail view shows each prober's recent probes and
    /// answers: its analyser keeps the timelines a report's leaves out.
    #[test]
    fn the_screen_keeps_probe_timelines() {
        let (feed, start) = stepped("dead_give_up.pcap", None);
        feed.step(start);
        let p = until(&feed, Duration::from_secs(10), |p| p.status.finished);
        let marks: Vec<_> = p
            .snap
            .flows
            .iter()
            .flat_map(|f| &f.probers)
            .flat_map(|pr| pr.timeline.iter().map(|m| m.1))
            .collect();
        assert!(
            marks.contains(&kawatch_core::Mark::Probe)
                && marks.contains(&kawatch_core::Mark::GiveUp),
            "{marks:?}"
        );
        feed.stop(Duration::from_secs(2));
    }

    #[test]
    fn paced_wall_clock_replay_reaches_the_end() {
        // 8.2 s of capture at 40x: about 0.2 s.
        let feed = Feed::spawn(
            fixture("null.pcap"),
            Some(40.0),
            Limits::default(),
            Timing::Real,
            false,
        )
        .expect("thread");
        let first = until(&feed, Duration::from_secs(5), |p| p.snap.first_ts.is_some());
        let p = until(&feed, Duration::from_secs(10), |p| p.status.finished);
        assert!(p.snap.now > first.snap.now);
        assert_eq!(Some(p.snap.now), p.snap.last_ts);
        feed.stop(Duration::from_secs(2));
    }

    #[test]
    fn stepped_replay_moves_the_clock_with_the_steps() {
        // 8.2 s of capture at 20x: 0.41 s.
        let (feed, start) = stepped("null.pcap", Some(20.0));
        feed.step(start);
        let first = feed.take().expect("the first step publishes");
        let t0 = first.snap.first_ts.expect("the first frame is due at once");
        assert_eq!(first.snap.now, t0);
        feed.step(start + ms(100));
        assert!(
            feed.take().is_none(),
            "the next publication is due at 250 ms"
        );
        feed.step(start + ms(250));
        let p = feed.take().expect("due at 250 ms");
        assert_eq!(p.snap.now, t0.add_secs(0.25 * 20.0));
        assert!(!p.status.finished);
        feed.step(start + ms(1000));
        let p = feed.take().expect("published");
        assert!(p.status.finished);
        assert_eq!(Some(p.snap.now), p.snap.last_ts, "clock stops at the end");
        assert_eq!(p.snap.counters.frames, 22);
        feed.stop(Duration::from_secs(2));
    }

    #[test]
    fn stepped_full_speed_replay_reads_to_the_end_at_once() {
        let (feed, start) = stepped("null.pcap", None);
        feed.step(start);
        let p = feed.take().expect("published");
        assert!(p.status.finished);
        assert_eq!(p.snap.counters.frames, 22);
        feed.stop(Duration::from_secs(2));
    }

    #[test]
    fn paused_replay_holds_its_clock() {
        let (feed, start) = stepped("null.pcap", Some(2.0));
        feed.step(start);
        feed.step(start + ms(500));
        let before = feed.take().expect("published");
        feed.send(Control::Pause(true));
        feed.step(start + ms(600));
        let paused = feed.take().expect("a pause publishes at once");
        assert!(paused.status.paused);
        assert_eq!(paused.snap.now, before.snap.now, "clock stopped");
        feed.step(start + ms(5000));
        let still = feed.take().expect("published on schedule");
        assert_eq!(still.snap.now, paused.snap.now, "clock still stopped");
        assert!(!still.status.finished);
        feed.send(Control::Pause(false));
        feed.step(start + ms(5250));
        let resumed = feed.take().expect("published");
        assert!(!resumed.status.paused);
        assert_eq!(
            resumed.snap.now,
            paused.snap.now.add_secs(0.25 * 2.0),
            "resumed where it stopped"
        );
        feed.stop(Duration::from_secs(2));
    }

    /// Flows that go quiet leave as they would live, counted as expired
    /// (not evicted: the table was never full), and a replay's end shows
    /// the screen as it stays: nothing leaves later on a stopped clock.
    #[test]
    fn a_replay_expires_quiet_flows_at_its_end_and_no_later() {
        let start = Instant::now();
        // Three flows without keepalives; the first speaks again 3 h on.
        let mut frames = Frames::read(&mut fixture("heartbeats.pcap"));
        let (ts, _, _, first) = frames.frames[0].clone();
        let last = frames.frames.last().expect("frames").0;
        frames.push(last.max(ts).add_secs(3.0 * 3600.0), first);
        let feed = Feed::spawn(
            frames,
            None,
            Limits::default(),
            Timing::Stepped(start),
            false,
        )
        .expect("thread");
        feed.step(start);
        let end = feed.take().expect("published");
        assert!(end.status.finished);
        let c = end.snap.counters;
        assert_eq!(
            (end.snap.flows.len(), c.expired, c.evicted),
            (1, 2, 0),
            "the two quiet for 3 h left at once"
        );
        for later in [ms(5_000), ms(60_000)] {
            feed.step(start + later);
            if let Some(p) = feed.take() {
                assert_eq!(p.snap.flows.len(), 1, "{later:?}");
                assert_eq!(p.snap.counters, c, "{later:?}");
            }
        }
        feed.stop(Duration::from_secs(2));
    }

    /// A file opened through libpcap's reader or kawatch's is opened again
    /// by a restart: the same frames, into a fresh analyser.
    #[test]
    fn restart_reads_the_file_again() {
        let feed = Feed::spawn(
            fixture("null.pcap"),
            None,
            Limits::default(),
            Timing::Real,
            false,
        )
        .expect("thread");
        let first = until(&feed, Duration::from_secs(10), |p| p.status.finished);
        assert!(first.status.restartable);
        feed.send(Control::Restart);
        let again = until(&feed, Duration::from_secs(10), |p| {
            p.status.finished && p.snap.counters.frames > 0
        });
        assert_eq!(again.snap.counters.frames, 22, "counted once, afresh");
        assert_eq!(again.snap.flows.len(), 2);
        feed.stop(Duration::from_secs(2));
    }

    /// Speed changes on the way: the clock goes on from where it was.
    #[test]
    fn speed_changes_keep_the_clock() {
        let (feed, start) = stepped("null.pcap", Some(1.0));
        feed.step(start);
        let t0 = feed.take().expect("published").snap.now;
        feed.step(start + ms(1000));
        assert_eq!(feed.take().expect("published").snap.now, t0.add_secs(1.0));
        feed.send(Control::Speed(Some(4.0)));
        feed.step(start + ms(1000));
        let p = feed.take().expect("a speed change publishes at once");
        assert_eq!(p.status.speed, Some(4.0));
        assert_eq!(p.snap.now, t0.add_secs(1.0));
        feed.step(start + ms(1500));
        assert_eq!(feed.take().expect("published").snap.now, t0.add_secs(3.0));
        feed.send(Control::Speed(None));
        feed.step(start + ms(1500));
        let p = feed.take().expect("published");
        assert!(p.status.finished, "as fast as it reads: to the end");
        assert_eq!(p.snap.counters.frames, 22);
        feed.stop(Duration::from_secs(2));
    }

    /// A live capture held in memory: the first `before` frames come at
    /// once, then only read timeouts until [`FrameSource::stop`], then the
    /// rest (accepted by the kernel before the stop, still to be read), then
    /// the end. The kernel counts every frame and `dropped` more.
    struct InMemoryLive {
        frames: Frames,
        before: usize,
        read: usize,
        stopped: bool,
        dropped: u32,
    }

    impl FrameSource for InMemoryLive {
        fn next_frame(&mut self) -> Result<Next<'_>, CaptureError> {
            if self.read == self.before && !self.stopped {
                std::thread::sleep(ms(5));
                return Ok(Next::Timeout);
            }
            self.read += 1;
            self.frames.next_frame()
        }
        fn link_type(&self) -> LinkType {
            self.frames.link_type()
        }
        fn link_name(&self) -> &str {
            self.frames.link_name()
        }
        fn name(&self) -> &str {
            "interface:kw0"
        }
        fn is_live(&self) -> bool {
            true
        }
        fn stats(&mut self) -> Option<crate::capture::Stats> {
            let all = u32::try_from(self.frames.len()).expect("a small fixture");
            Some(crate::capture::Stats {
                received: all + self.dropped,
                dropped: self.dropped,
                if_dropped: 0,
            })
        }
        fn stop(&mut self) {
            self.stopped = true;
        }
    }

    /// Leaving a live capture reads what the kernel accepted before the
    /// stop, and gives the counts as tcpdump prints them.
    #[test]
    fn a_live_capture_ends_with_its_counts() {
        let frames = Frames::read(&mut fixture("null.pcap"));
        let src = InMemoryLive {
            frames,
            before: 10,
            read: 0,
            stopped: false,
            dropped: 3,
        };
        let feed = Feed::spawn(src, None, Limits::default(), Timing::Real, false).expect("threads");
        let p = until(&feed, Duration::from_secs(10), |p| {
            p.snap.counters.frames == 10 && p.status.drops == Some(3)
        });
        assert!(p.status.counts.is_none(), "only at the end");
        let counts = feed.stop(Duration::from_secs(5));
        let want = Counts {
            captured: 22,
            received: 25,
            dropped: 3,
        };
        assert_eq!(counts, Some(want), "the 12 frames after the stop read too");
        assert_eq!(
            want.to_string(),
            "22 packets captured\n25 packets received by filter\n3 packets dropped by kernel\n"
        );
    }

    /// A replay has no counts.
    #[test]
    fn a_replay_ends_without_counts() {
        let (feed, start) = stepped("null.pcap", None);
        feed.step(start);
        assert!(feed.take().expect("published").status.finished);
        assert_eq!(feed.stop(Duration::from_secs(2)), None);
    }

    /// What a file's reading warns of (here: packets with no time, in
    /// pcapng simple packet blocks) reaches the screen, not only a cut.
    #[test]
    fn a_replay_warns_of_what_its_reading_found() {
        use kawatch_synth::{Format, LinkType as Link, Writer};
        let mut w = Writer::new(Vec::new(), Format::Pcapng { tsresol: 6 }, Link::Ethernet);
        for _ in 0..2 {
            w.write_simple(&[0; 60]).expect("written");
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("spb.pcapng");
        std::fs::write(&path, w.finish().expect("written")).expect("written");
        let src = Source::open_file(&path, None).expect("opens");
        let feed = Feed::spawn(src, None, Limits::default(), Timing::Real, false).expect("thread");
        let p = until(&feed, Duration::from_secs(10), |p| p.status.finished);
        let warning = p.status.warning.clone().unwrap_or_default();
        assert!(
            warning.contains("2 packets came in pcapng simple packet blocks"),
            "{warning}"
        );
        assert!(!p.status.cut_off);
        feed.stop(Duration::from_secs(2));
    }

    #[test]
    fn a_cut_off_file_warns_and_keeps_what_was_read() {
        let feed = Feed::spawn(
            fixture("cut_off.pcap"),
            None,
            Limits::default(),
            Timing::Real,
            false,
        )
        .expect("thread");
        let p = until(&feed, Duration::from_secs(10), |p| p.status.finished);
        assert!(p.status.warning.is_some(), "{:?}", p.status);
        assert!(p.status.cut_off);
        assert!(p.status.error.is_none());
        assert_eq!(p.snap.flows.len(), 1);
        feed.stop(Duration::from_secs(2));
    }
}
