//! The live terminal UI: `kawatch [--interface IF] [FILTER]` and
//! `kawatch --read FILE`.
//!
//! * [`feed`]: the capture threads. They own the [`FrameSource`] and the
//!   [`Analyzer`](crate::Analyzer), pace replays, and publish snapshots taken
//!   at the current clock (wall clock live, capture clock in a replay).
//! * [`source`]: [`FrameSource`], a libpcap [`Source`](crate::capture::Source)
//!   or [`Frames`](source::Frames) in memory.
//! * [`events`]: [`EventSource`], keys and time: the terminal's, or a script's.
//! * [`app`]: view state and the actions that change it, applied in one place.
//! * [`keys`]: key -> action.
//! * [`render`]: a pure function of (snapshot, status, view state) -> screen.
//! * `term`: raw mode and the alternate screen, restored on every exit.
//!
//! [`run_with`] is the whole UI over any ratatui backend, frame source and
//! event source; [`run`] is it on the real terminal.

pub mod app;
pub mod events;
pub mod feed;
pub(crate) mod fmt;
pub mod keys;
pub mod render;
pub mod source;
pub(crate) mod term;

use app::{Request, ViewState};
use events::{EventSource, Input};
use feed::{Control, Feed, FeedStatus, Timing};
use jiff::tz::TimeZone;
use kawatch_core::Snapshot;
use kawatch_core::Timestamp;
use ratatui::backend::Backend;
use ratatui::Terminal;
pub use source::FrameSource;
use std::time::Duration;

/// How often the screen is redrawn without input.
pub const TICK: Duration = Duration::from_millis(200);

/// How long leaving waits for the capture threads.
const STOP_WAIT: Duration = Duration::from_millis(500);

/// Live, how long leaving waits for the capture thread to read what the
/// kernel accepted before the stop (libpcap sources give up after 2 s).
const LIVE_STOP_WAIT: Duration = Duration::from_millis(2500);

/// How to run the UI.
#[derive(Clone, Debug)]
pub struct Options {
    /// Replay speed in times real time; `None` reads as fast as it can.
    pub speed: Option<f64>,
    /// Colours allowed (`NO_COLOR` unset or empty).
    pub color: bool,
    /// Flow-table bounds.
    pub limits: kawatch_core::Limits,
    /// The time zone capture timestamps are shown in ([`local_zone`], or
    /// `TimeZone::UTC` for `--utc`); each at the offset in force at its
    /// instant.
    pub zone: TimeZone,
    /// Live: read this box's sockets from the kernel beside the capture.
    pub local_sockets: bool,
    /// The path timeouts each connection's survival is judged against; the
    /// first is in focus, and a key cycles through them. None: no mark.
    pub paths: Vec<kawatch_core::PathTimeout>,
}

/// Whether colour is allowed: `NO_COLOR` (<https://no-color.org>) unset or empty.
pub fn color_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// An empty snapshot, shown until the first one arrives.
pub(crate) fn empty_snapshot() -> Snapshot {
    Snapshot {
        now: Timestamp::default(),
        counters: Default::default(),
        first_ts: None,
        last_ts: None,
        flows: Vec::new(),
        local: Vec::new(),
    }
}

/// Runs the UI on the real terminal until the user quits: enters raw mode
/// and the alternate screen, runs [`run_with`] on them and the terminal's
/// keys, and restores the terminal on every way out. Then, live, prints the
/// capture's counts on stderr as tcpdump does (and `kawatch report`): so
/// many captured, received by filter, dropped by kernel. A capture failure
/// is returned after that.
pub fn run(src: impl FrameSource + 'static, opts: Options) -> anyhow::Result<()> {
    let mut tty = term::Tty::enter()?;
    let result = run_with(&mut tty.terminal, src, opts, &mut term::TtyEvents);
    drop(tty);
    let status = result?;
    if let Some(counts) = status.counts {
        // Not eprint!: a terminal that hung up must not turn leaving into a panic.
        use std::io::Write;
        let _ = write!(std::io::stderr(), "{counts}");
    }
    match status.error {
        Some(e) => Err(anyhow::anyhow!("capture stopped: {e}")),
        None => {
            if let Some(w) = status.warning {
                to_stderr!("kawatch: warning: {w}");
            }
            Ok(())
        }
    }
}

/// The UI on `terminal`: captures from `src` on threads of its own, draws
/// on every tick of `events`' clock and after keys, and applies the keys,
/// until they say quit or the input ends. Returns the source's last status
/// (how the capture ended: `finished`, `warning`, `error`; live, the
/// `counts` it ended with).
pub fn run_with<B, S, E>(
    terminal: &mut Terminal<B>,
    src: S,
    opts: Options,
    events: &mut E,
) -> anyhow::Result<FeedStatus>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
    S: FrameSource + 'static,
    E: EventSource + ?Sized,
{
    let initial = FeedStatus {
        source: src.name().to_string(),
        link: src.link_name().to_string(),
        live: src.is_live(),
        speed: if src.is_live() { None } else { opts.speed },
        restartable: !src.is_live() && src.can_restart(),
        ..FeedStatus::default()
    };
    let timing = if events.stepped() {
        Timing::Stepped(events.now())
    } else {
        Timing::Real
    };
    let live = initial.live;
    let feed = Feed::spawn(src, opts.speed, opts.limits, timing, opts.local_sockets)?;
    let result = ui(terminal, &feed, initial, opts, events);
    let counts = feed.stop(if live { LIVE_STOP_WAIT } else { STOP_WAIT });
    result.map(|status| FeedStatus { counts, ..status })
}

fn ui<B, E>(
    terminal: &mut Terminal<B>,
    feed: &Feed,
    mut status: FeedStatus,
    opts: Options,
    events: &mut E,
) -> anyhow::Result<FeedStatus>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
    E: EventSource + ?Sized,
{
    let mut snap = empty_snapshot();
    let mut view = ViewState::new(opts.color);
    view.zone = opts.zone.clone();
    view.paths = opts.paths.clone();
    view.live = status.live;
    view.speed = status.speed;
    view.restartable = status.restartable;
    loop {
        feed.step(events.now());
        if let Some(p) = feed.take() {
            if !view.paused {
                snap = p.snap;
            }
            status = p.status;
            view.sync(&snap);
        }
        if feed.ended() && status.error.is_none() && !status.finished {
            // The capture thread is gone without saying why (it panicked).
            status.error = Some("the capture thread stopped unexpectedly".into());
        }
        let size = terminal.size()?;
        view.set_page(render::table_rows(size.into()));
        view.set_columns(render::column_steps(size.into(), &snap, &status, &view));
        let frame = terminal.draw(|f| render::draw(f, &snap, &status, &view))?;
        events.shown(frame.buffer);
        // Input until the next tick; a key draws at once.
        let deadline = events.now() + TICK;
        loop {
            match events.next(deadline)? {
                None | Some(Input::Resize) => break,
                Some(Input::End) => return Ok(status),
                Some(Input::Key(k)) => {
                    if let Some(a) = keys::action(k, &view) {
                        let request = view.apply(a, &snap);
                        let area = terminal.size()?.into();
                        let ended = status.finished && !status.live;
                        let max = render::detail_max_scroll(area, &snap, &view, ended);
                        view.detail_scroll = view.detail_scroll.min(max);
                        view.help_scroll = view.help_scroll.min(render::help_max_scroll(area));
                        view.set_columns(render::column_steps(area, &snap, &status, &view));
                        match request {
                            // The replay stops, goes on or changes speed at
                            // the key's time.
                            Some(Request::Pause(p)) => {
                                feed.step(events.now());
                                feed.send(Control::Pause(p));
                            }
                            Some(Request::Speed(s)) => {
                                feed.step(events.now());
                                feed.send(Control::Speed(s));
                            }
                            Some(Request::Restart) => feed.send(Control::Restart),
                            None => {}
                        }
                    }
                    if view.quit {
                        return Ok(status);
                    }
                    // Apply what else is queued before drawing.
                    if !events.pending()? {
                        break;
                    }
                }
            }
        }
    }
}

/// This machine's time zone: `TZ`, else `/etc/localtime`, read from the
/// system's time zone database (`/usr/share/zoneinfo`, or `TZDIR`); UTC when
/// neither says.
pub fn local_zone() -> TimeZone {
    TimeZone::system()
}
