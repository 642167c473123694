//! Ctrl-C (and, as tcpdump takes them, SIGTERM and SIGHUP): the first asks
//! kawatch to stop and report what it read; a second exits at once.

// The OS calls here need unsafe: registering the signals' action (its code
// runs in a signal handler), clearing SA_RESTART on it (sigaction), and
// reading the clock there (clock_gettime, async-signal-safe).
#![allow(unsafe_code)]

use crate::exit::INTERRUPTED;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Set by the first Ctrl-C, SIGTERM or SIGHUP.
pub(crate) static STOP: AtomicBool = AtomicBool::new(false);

/// When the first came (`CLOCK_MONOTONIC`, nanoseconds; 0: none yet).
static FIRST_AT: AtomicU64 = AtomicU64::new(0);

/// A second signal this soon after the first is the same stop delivered
/// twice, not a person insisting: `timeout(1)` signals its command and
/// then the command's process group, so a script's `timeout 60 kawatch
/// report -i eth0` delivers its SIGTERM twice, microseconds apart.
const SAME_STOP_NS: u64 = 100_000_000;

/// Installs the handler of Ctrl-C, SIGTERM and SIGHUP (signal-hook): the
/// first sets [`STOP`], so a read gives up and the report of what was read
/// is written (a `kill` or a closed terminal loses nothing, as with
/// tcpdump); a second, from [`SAME_STOP_NS`] after it, exits at once with
/// status 130.
///
/// Without `SA_RESTART`: signal-hook installs its handlers with it
/// (signal-hook-registry 1.4, `Slot::new`), and under it a `read` waiting on
/// a pipe or FIFO that sends nothing resumes after the handler and never
/// returns. Cleared, the read fails with `EINTR` and kawatch reports.
pub(crate) fn install_sigint() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    for sig in [SIGINT, SIGTERM, SIGHUP] {
        // SAFETY: the action is async-signal-safe: clock_gettime, atomics,
        // then _exit.
        let registered = unsafe {
            signal_hook::low_level::register(sig, || {
                let now = monotonic_ns().max(1);
                match FIRST_AT.compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed) {
                    Ok(_) => {}
                    // A second signal: the user means it.
                    Err(first) if now.saturating_sub(first) >= SAME_STOP_NS => {
                        signal_hook::low_level::exit(INTERRUPTED.into());
                    }
                    Err(_) => {}
                }
                STOP.store(true, Ordering::Relaxed);
            })
        };
        if let Err(e) = registered.and_then(|_| interrupt_reads(sig)) {
            to_stderr!("kawatch: warning: signal {sig} may not stop a read that waits: {e}");
        }
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds (async-signal-safe).
fn monotonic_ns() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the one timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) };
    u64::try_from(t.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(t.tv_nsec).unwrap_or(0)
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
