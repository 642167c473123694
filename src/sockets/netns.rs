//! Entering another network namespace (a container's, a pod's) for the
//! capture, the socket listing and the sysctls: `--netns NAME|PATH` or
//! `--pid PID`.

// The OS calls here need unsafe: setns(2).
#![allow(unsafe_code)]

use super::SocketsError;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

/// Which namespace to enter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Netns {
    /// A name under /run/netns (`ip netns add NAME`), or a path to a
    /// namespace file (e.g. /proc/PID/ns/net).
    Named(String),
    /// The network namespace of this process.
    OfPid(u32),
}

impl Netns {
    fn path(&self) -> PathBuf {
        match self {
            Netns::Named(n) if n.contains('/') => PathBuf::from(n),
            Netns::Named(n) => PathBuf::from("/run/netns").join(n),
            Netns::OfPid(pid) => PathBuf::from(format!("/proc/{pid}/ns/net")),
        }
    }
}

/// What a refusal to enter a namespace means.
const NEEDS_ROOT: &str = " (entering a network namespace needs root or CAP_SYS_ADMIN)";

/// Moves the calling thread into `ns`. Call it before any other thread
/// starts: threads spawned afterwards are in the new namespace too.
pub fn enter(ns: &Netns) -> Result<(), SocketsError> {
    let path = ns.path();
    let fail = |reason: String| SocketsError::Netns {
        netns: path.display().to_string(),
        reason,
    };
    let f = File::open(&path).map_err(|e| {
        fail(match e.kind() {
            std::io::ErrorKind::PermissionDenied => format!("{e}{NEEDS_ROOT}"),
            std::io::ErrorKind::NotFound => match ns {
                Netns::OfPid(pid) => format!("{e} (no process {pid}: no such namespace)"),
                Netns::Named(_) => {
                    format!("{e} (no such namespace: `ip netns list` names them)")
                }
            },
            _ => e.to_string(),
        })
    })?;
    // SAFETY: setns(2) on a descriptor we hold open; it affects this thread.
    if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        let e = std::io::Error::last_os_error();
        let hint = match e.raw_os_error() {
            Some(libc::EPERM) => NEEDS_ROOT,
            // (A file that is no network namespace: not a usage the
            // kernel can take.)
            Some(libc::EINVAL) => {
                " (not a network namespace: give a name under /run/netns, \
                 /proc/PID/ns/net, or --pid PID)"
            }
            _ => "",
        };
        return Err(fail(format!("{e}{hint}")));
    }
    Ok(())
}

/// This thread's network namespace, as `net:[INODE]`.
pub fn current() -> String {
    std::fs::read_link("/proc/thread-self/ns/net")
        .map_or_else(|_| "unknown".to_owned(), |p| p.display().to_string())
}
