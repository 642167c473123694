//! The terminal: raw mode and the alternate screen on the way in, and the
//! way back out on every exit: normal return, error, panic (a hook), and
//! SIGTERM / SIGHUP / SIGINT (a flag the UI loop checks).

use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::cursor::{Hide, Show};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::Terminal;
use std::io::{self, Stdout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

static ACTIVE: AtomicBool = AtomicBool::new(false);
static SIGNALLED: AtomicBool = AtomicBool::new(false);
static HOOKS: Once = Once::new();

/// The full-screen terminal; dropping it restores the terminal.
pub struct Tty {
    /// The ratatui terminal drawing to standard output.
    pub terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl Tty {
    /// Enters raw mode and the alternate screen.
    pub fn enter() -> io::Result<Tty> {
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
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = execute!(io::stdout(), LeaveAlternateScreen, Show);
        let _ = disable_raw_mode();
    }
}

/// Whether the terminal is still ours to draw on (a panic elsewhere gives it back).
pub fn active() -> bool {
    ACTIVE.load(Ordering::SeqCst)
}

/// Whether SIGTERM, SIGHUP or SIGINT arrived.
pub fn signalled() -> bool {
    SIGNALLED.load(Ordering::SeqCst)
}

extern "C" fn on_signal(_: libc::c_int) {
    SIGNALLED.store(true, Ordering::SeqCst);
}

fn install_hooks() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // Give the terminal back first, so the message is readable.
        restore();
        previous(info);
    }));
    for sig in [libc::SIGTERM, libc::SIGHUP, libc::SIGINT] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            libc::signal(sig, on_signal as *const () as libc::sighandler_t);
        }
    }
}

/// What waiting on the terminal gave.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Input {
    /// Bytes are waiting: crossterm can read an event without blocking.
    Ready,
    /// Nothing came within the timeout.
    Timeout,
    /// The terminal hung up or went away.
    Gone,
}

/// Waits up to `timeout` for input on the terminal (standard input).
///
/// crossterm 0.29's event source re-reads a vanished terminal forever
/// (`read` returns 0 and its `poll` never times out: crossterm issue #793),
/// so kawatch checks the descriptor itself first and only hands crossterm a
/// terminal that has bytes to give.
pub fn wait_input(timeout: std::time::Duration) -> std::io::Result<Input> {
    let mut pfd = libc::pollfd {
        fd: libc::STDIN_FILENO,
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut pfd, 1, ms) };
    if n < 0 {
        let e = std::io::Error::last_os_error();
        return if e.kind() == std::io::ErrorKind::Interrupted {
            Ok(Input::Timeout)
        } else {
            Err(e)
        };
    }
    if pfd.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 {
        return Ok(Input::Gone);
    }
    Ok(if pfd.revents & libc::POLLIN != 0 {
        Input::Ready
    } else {
        Input::Timeout
    })
}
