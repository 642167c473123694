//! Ctrl-C: the first asks kawatch to stop and report what it read; a second
//! exits at once.

// The OS calls here need unsafe: installing the SIGINT handler (sigaction)
// and its _exit.
#![allow(unsafe_code)]

use crate::exit::INTERRUPTED;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by the first Ctrl-C.
pub(crate) static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    if STOP.swap(true, Ordering::Relaxed) {
        // A second Ctrl-C: the user means it.
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(i32::from(INTERRUPTED)) };
    }
}

/// Installs the Ctrl-C handler with sigaction and without `SA_RESTART`: a
/// read waiting on a pipe or FIFO that sends nothing returns `EINTR`, so the
/// report of what was read is written instead of waiting forever.
pub(crate) fn install_sigint() {
    // SAFETY: a zeroed sigaction is "no flags"; its mask is emptied by
    // sigemptyset; the handler only touches an atomic and calls _exit.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::sigemptyset(&mut action.sa_mask);
        action.sa_flags = 0;
        libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut());
    }
}
