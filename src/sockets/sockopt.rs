//! A socket's exact keepalive options, read through a duplicate of its
//! descriptor: `pidfd_open` + `pidfd_getfd` (Linux 5.6+, ptrace rights over
//! the owner: root or CAP_SYS_PTRACE), then getsockopt. The duplicate is
//! closed at once; the socket is never changed.

// The OS calls here need unsafe: pidfd_open(2) and pidfd_getfd(2), and owning the descriptors they return.
#![allow(unsafe_code)]

use kawatch_core::{KeepaliveSettings, Owner, SettingsFrom};
use socket2::SockRef;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// Why the options could not be read.
#[derive(Debug)]
pub(crate) enum Denied {
    /// No ptrace rights over the owner (EPERM).
    Permission,
    /// The kernel has no pidfd_getfd (ENOSYS: older than 5.6).
    Unsupported,
    /// The process or its descriptor went away meanwhile, or anything else.
    Gone,
}

/// SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT and
/// TCP_USER_TIMEOUT of the socket `owner` holds.
pub(crate) fn read(owner: &Owner) -> Result<KeepaliveSettings, Denied> {
    let dup = duplicate(owner)?;
    let sock = SockRef::from(&dup);
    let secs =
        |d: io::Result<std::time::Duration>| d.ok().and_then(|d| u32::try_from(d.as_secs()).ok());
    let settings = KeepaliveSettings {
        on: sock.keepalive().ok(),
        idle_s: secs(sock.tcp_keepalive_time()),
        intvl_s: secs(sock.tcp_keepalive_interval()),
        probes: sock.tcp_keepalive_retries().ok(),
        user_timeout_ms: sock
            .tcp_user_timeout()
            .ok()
            .map(|t| t.map_or(0, |d| u32::try_from(d.as_millis()).unwrap_or(u32::MAX))),
        from: Some(SettingsFrom::Socket),
    };
    drop(dup);
    Ok(settings)
}

fn duplicate(owner: &Owner) -> Result<OwnedFd, Denied> {
    let classify = |e: io::Error| match e.raw_os_error() {
        Some(libc::EPERM | libc::EACCES) => Denied::Permission,
        Some(libc::ENOSYS) => Denied::Unsupported,
        _ => Denied::Gone,
    };
    // SAFETY: plain syscalls with integer arguments; each returns a new
    // descriptor this function then owns, or -1.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, owner.pid as libc::pid_t, 0) };
    if pidfd < 0 {
        return Err(classify(io::Error::last_os_error()));
    }
    // SAFETY: `pidfd` is a fresh descriptor owned from here on.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd as i32) };
    let raw = {
        use std::os::fd::AsRawFd;
        // SAFETY: as above.
        unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), owner.fd, 0) }
    };
    if raw < 0 {
        return Err(classify(io::Error::last_os_error()));
    }
    // SAFETY: pidfd_getfd returned a new descriptor in this process.
    Ok(unsafe { OwnedFd::from_raw_fd(raw as i32) })
}
