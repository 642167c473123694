//! Ctrl-C (and, as tcpdump takes them, SIGTERM and SIGHUP): the first asks
//! kawatch to stop and report what it read; a second exits at once.

// The OS calls here need unsafe: registering the signals' action (its code
// runs in a signal handler) and clearing SA_RESTART on it (sigaction).
#![allow(unsafe_code)]

use crate::exit::INTERRUPTED;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by the first Ctrl-C, SIGTERM or SIGHUP.
pub(crate) static STOP: AtomicBool = AtomicBool::new(false);

/// Installs the handler of Ctrl-C, SIGTERM and SIGHUP (signal-hook): the
/// first sets [`STOP`], so a read gives up and the report of what was read
/// is written (a `kill` or a closed terminal loses nothing, as with
/// tcpdump); a second exits at once with status 130.
///
/// Without `SA_RESTART`: signal-hook installs its handlers with it
/// (signal-hook-registry 1.4, `Slot::new`), and under it a `read` waiting on
/// a pipe or FIFO that sends nothing resumes after the handler and never
/// returns. Cleared, the read fails with `EINTR` and kawatch reports.
pub(crate) fn install_sigint() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    for sig in [SIGINT, SIGTERM, SIGHUP] {
        // SAFETY: the action is async-signal-safe: an atomic swap, then _exit.
        let registered = unsafe {
            signal_hook::low_level::register(sig, || {
                if STOP.swap(true, Ordering::Relaxed) {
                    // A second signal: the user means it.
                    signal_hook::low_level::exit(INTERRUPTED.into());
                }
            })
        };
        if let Err(e) = registered.and_then(|_| interrupt_reads(sig)) {
            eprintln!("kawatch: warning: signal {sig} may not stop a read that waits: {e}");
        }
    }
}

/// Clears `SA_RESTART` on the action installed for `sig`, keeping its
/// handler, mask and other flags: a blocking read the signal interrupts
/// returns `EINTR` instead of resuming.
fn interrupt_reads(sig: libc::c_int) -> io::Result<()> {
    // SAFETY: sigaction fills a zeroed struct with the installed action,
    // which is installed again with only SA_RESTART cleared.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(sig, std::ptr::null(), &mut action) != 0 {
            return Err(io::Error::last_os_error());
        }
        action.sa_flags &= !libc::SA_RESTART;
        if libc::sigaction(sig, &action, std::ptr::null_mut()) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
