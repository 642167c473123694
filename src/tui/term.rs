//! The terminal: raw mode and the alternate screen on the way in, and the
//! way back out on every exit: normal return, error, panic (a hook), and
//! SIGTERM / SIGHUP / SIGINT (a flag [`TtyEvents`] checks). [`TtyEvents`]
//! is the terminal as an [`EventSource`]: its keys and the wall clock.

// The OS call here needs unsafe: poll(2) on the terminal (`wait_input`).
#![allow(unsafe_code)]

use crate::tui::events::{EventSource, Input};
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::cursor::{Hide, Show};
use ratatui::crossterm::event::{self, Event, KeyEventKind};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::Terminal;
use std::fs::File;
use std::io::{self, IsTerminal, Stdout};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Once};
use std::time::{Duration, Instant};

static ACTIVE: AtomicBool = AtomicBool::new(false);
/// Set by SIGTERM, SIGHUP or SIGINT (signal-hook's flag).
static SIGNALLED: LazyLock<Arc<AtomicBool>> = LazyLock::new(Arc::default);
static HOOKS: Once = Once::new();

/// The full-screen terminal; dropping it restores the terminal.
pub(crate) struct Tty {
    /// The ratatui terminal drawing to standard output.
    pub(crate) terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl Tty {
    /// Enters raw mode and the alternate screen.
    pub(crate) fn enter() -> io::Result<Tty> {
        HOOKS.call_once(install_hooks);
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let setup = execute!(io::stdout(), EnterAlternateScreen, Hide)
            .and_then(|_| Terminal::new(CrosstermBackend::new(io::stdout())));
        match setup {
            Ok(terminal) => Ok(Tty { terminal }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }
}

impl Drop for Tty {
    fn drop(&mut self) {
        restore();
    }
}

/// Leaves the alternate screen and raw mode, once; safe to call again.
pub(crate) fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = execute!(io::stdout(), LeaveAlternateScreen, Show);
        let _ = disable_raw_mode();
    }
}

/// Whether the terminal is still ours to draw on (a panic elsewhere gives it back).
pub(crate) fn active() -> bool {
    ACTIVE.load(Ordering::SeqCst)
}

/// Whether SIGTERM, SIGHUP or SIGINT arrived.
pub(crate) fn signalled() -> bool {
    SIGNALLED.load(Ordering::SeqCst)
}

fn install_hooks() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // Give the terminal back first, so the message is readable.
        restore();
        previous(info);
    }));
    // The handlers only set a flag, which `TtyEvents` looks at at least
    // every tick: its wait is a poll(2), which a signal interrupts whether
    // or not the handler asks for SA_RESTART (signal-hook does).
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    for sig in [SIGTERM, SIGHUP, SIGINT] {
        if let Err(e) = signal_hook::flag::register(sig, Arc::clone(&SIGNALLED)) {
            to_stderr!("kawatch: warning: signal {sig} will not restore the terminal: {e}");
        }
    }
}

/// What waiting on the terminal gave.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Waited {
    /// Bytes are waiting: crossterm can read an event without blocking.
    Ready,
    /// Nothing came within the timeout.
    Timeout,
    /// The terminal hung up or went away.
    Gone,
}

/// The terminal's descriptor, where crossterm reads the keys: standard
/// input when it is a terminal, else `/dev/tty` (`--read -` reads the
/// capture from standard input: its end, or a file always ready, says
/// nothing of the terminal).
fn tty_fd() -> RawFd {
    static TTY: LazyLock<Option<File>> = LazyLock::new(|| {
        if io::stdin().is_terminal() {
            None
        } else {
            File::open("/dev/tty").ok()
        }
    });
    TTY.as_ref().map_or(libc::STDIN_FILENO, AsRawFd::as_raw_fd)
}

/// Waits up to `timeout` for input on the terminal ([`tty_fd`]).
///
/// crossterm 0.29's event source re-reads a vanished terminal forever
/// (`read` returns 0 and its `poll` never times out: crossterm issue #793),
/// so kawatch checks the descriptor itself first and only hands crossterm a
/// terminal that has bytes to give.
pub(crate) fn wait_input(timeout: Duration) -> io::Result<Waited> {
    let mut pfd = libc::pollfd {
        fd: tty_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut pfd, 1, ms) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted {
            Ok(Waited::Timeout)
        } else {
            Err(e)
        };
    }
    if pfd.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 {
        return Ok(Waited::Gone);
    }
    Ok(if pfd.revents & libc::POLLIN != 0 {
        Waited::Ready
    } else {
        Waited::Timeout
    })
}

/// The terminal's keys, on the wall clock. A hang-up or a signal ends the
/// input; a panic on another thread (which gave the terminal back) is an
/// error.
#[derive(Debug, Default)]
pub(crate) struct TtyEvents;

impl EventSource for TtyEvents {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn next(&mut self, deadline: Instant) -> io::Result<Option<Input>> {
        loop {
            if !active() {
                // Only the panic hook gives the terminal back behind our back.
                return Err(io::Error::other(
                    "a capture thread panicked (its message is above)",
                ));
            }
            if signalled() {
                return Ok(Some(Input::End));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            // A hung-up terminal first (crossterm would spin on it), then
            // events crossterm already buffered, then wait for more bytes.
            if wait_input(Duration::ZERO)? == Waited::Gone {
                return Ok(Some(Input::End));
            }
            if !event::poll(Duration::ZERO)? {
                match wait_input(left)? {
                    Waited::Gone => return Ok(Some(Input::End)),
                    // The deadline, or a signal: looked at above.
                    Waited::Timeout | Waited::Ready => continue,
                }
            }
            match event::read()? {
                Event::Key(k) if k.kind != KeyEventKind::Release => return Ok(Some(Input::Key(k))),
                Event::Resize(..) => return Ok(Some(Input::Resize)),
                _ => {}
            }
        }
    }

    fn pending(&mut self) -> io::Result<bool> {
        event::poll(Duration::ZERO)
    }
}
