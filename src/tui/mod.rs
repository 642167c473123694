//! The live terminal UI: `kawatch [--interface IF] [FILTER]` and
//! `kawatch --read FILE`.
//!
//! * [`feed`]: the capture thread. It owns the [`Source`] and the
//!   [`Analyzer`](crate::Analyzer), paces replays, and publishes snapshots
//!   taken at the current clock (wall clock live, capture clock in a replay).
//! * [`app`]: view state and the actions that change it, applied in one place.
//! * [`keys`]: key -> action.
//! * [`state`]: a connection's state in words at a moment.
//! * [`render`]: a pure function of (snapshot, status, view state) -> screen.
//! * [`term`]: raw mode and the alternate screen, restored on every exit.

pub mod app;
pub mod feed;
pub mod fmt;
pub mod keys;
pub mod render;

pub mod term;

use crate::capture::Source;
use app::ViewState;
use feed::{Control, Feed, FeedStatus};
use kawatch_core::Snapshot;
use kawatch_core::Timestamp;
use ratatui::crossterm::event::{self, Event, KeyEventKind};
use std::time::{Duration, Instant};

/// How often the screen is redrawn without input.
pub const TICK: Duration = Duration::from_millis(200);

/// How to run the UI.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Replay speed in times real time; `None` reads as fast as it can.
    pub speed: Option<f64>,
    /// Colours allowed (`NO_COLOR` unset or empty).
    pub color: bool,
    /// Flow-table bounds.
    pub limits: kawatch_core::Limits,
}

/// Whether colour is allowed: `NO_COLOR` (https://no-color.org) unset or empty.
pub fn color_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// An empty snapshot, shown until the first one arrives.
pub fn empty_snapshot() -> Snapshot {
    Snapshot {
        now: Timestamp::default(),
        counters: Default::default(),
        first_ts: None,
        last_ts: None,
        flows: Vec::new(),
    }
}

/// Runs the UI on `src` until the user quits. The terminal is restored on
/// every way out; a capture failure is returned after it is.
pub fn run(src: Source, opts: Options) -> anyhow::Result<()> {
    let initial = FeedStatus {
        source: src.name().to_string(),
        link: src.link_name().to_string(),
        live: src.is_live(),
        speed: if src.is_live() { None } else { opts.speed },
        ..FeedStatus::default()
    };
    let feed = Feed::spawn(src, opts.speed, opts.limits)?;
    let result = ui(&feed, initial, opts);
    feed.stop(Duration::from_millis(500));
    let status = result?;
    match status.error {
        Some(e) => Err(anyhow::anyhow!("capture stopped: {e}")),
        None => {
            if let Some(w) = status.warning {
                eprintln!("kawatch: warning: {w}");
            }
            Ok(())
        }
    }
}

fn ui(feed: &Feed, mut status: FeedStatus, opts: Options) -> anyhow::Result<FeedStatus> {
    let mut tty = term::Tty::enter()?;
    let mut snap = empty_snapshot();
    let mut view = ViewState::new(opts.color);
    view.utc_offset = local_utc_offset();
    loop {
        if !term::active() {
            // Only the panic hook gives the terminal back behind our back.
            anyhow::bail!("a capture thread panicked (its message is above)");
        }
        if term::signalled() {
            break;
        }
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
        let size = tty.terminal.size()?;
        view.set_page(render::table_rows(size.into()));
        tty.terminal
            .draw(|f| render::draw(f, &snap, &status, &view))?;
        // Input until the next tick; a key redraws at once.
        let deadline = Instant::now() + TICK;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            // A hung-up terminal first (crossterm would spin on it), then
            // events crossterm already buffered, then wait for more bytes.
            if term::wait_input(Duration::ZERO)? == term::Input::Gone {
                return Ok(status);
            }
            if !event::poll(Duration::ZERO)? {
                match term::wait_input(left)? {
                    term::Input::Gone => return Ok(status),
                    term::Input::Timeout => break,
                    term::Input::Ready => continue,
                }
            }
            match event::read()? {
                Event::Key(k) if k.kind != KeyEventKind::Release => {
                    if let Some(a) = keys::action(k, &view) {
                        let was_paused = view.paused;
                        view.apply(a, &snap);
                        let area = tty.terminal.size()?.into();
                        let max = render::detail_max_scroll(area, &snap, &view);
                        view.detail_scroll = view.detail_scroll.min(max);
                        if view.paused != was_paused {
                            feed.send(Control::Pause(view.paused));
                        }
                    }
                    if view.quit {
                        return Ok(status);
                    }
                    // Drain what else is queued before drawing.
                    if !event::poll(Duration::ZERO)? {
                        break;
                    }
                }
                Event::Resize(..) => break,
                _ => {}
            }
        }
    }
    Ok(status)
}

/// Local time's offset from UTC now, seconds east (0 if unknown).
pub fn local_utc_offset() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as libc::time_t);
    // SAFETY: localtime_r writes only into the `tm` it is given.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&now, &mut tm).is_null() {
            0
        } else {
            tm.tm_gmtoff as i64
        }
    }
}
