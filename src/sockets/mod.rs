//! Local sockets from the kernel itself: every TCP connection of the network
//! namespace with its keepalive state, settings and timer. The only module
//! that speaks netlink or calls pidfd; it hands the core plain
//! [`LocalSocket`] values.
//!
//! - `diag`: the sockets, their timers and `tcp_info` (sock_diag);
//! - `owners`: the process holding each (/proc/PID/fd);
//! - `sockopt`: exact settings through a duplicated descriptor (pidfd);
//! - [`sysctl`]: the namespace's defaults;
//! - [`netns`]: entering another namespace.

mod diag;
pub mod netns;
mod owners;
mod sockopt;
pub mod sysctl;

use kawatch_core::{infer_from_timer, Endpoint, LocalSocket, SocketState};
use std::collections::HashSet;
use thiserror::Error;

pub use netns::Netns;
pub use sysctl::Defaults;

/// Why the sockets could not be listed. Each message says what to do.
#[derive(Debug, Error)]
pub enum SocketsError {
    /// sock_diag failed.
    #[error("reading sockets from the kernel (sock_diag): {0}")]
    Netlink(String),
    /// The namespace could not be entered.
    #[error("cannot enter network namespace {netns}: {reason}")]
    Netns {
        /// The path tried.
        netns: String,
        /// What the OS said.
        reason: String,
    },
}

/// Every TCP socket of the namespace, with what could be learnt of each.
#[derive(Clone, Debug)]
pub struct Listing {
    /// The namespace read (`net:[INODE]`, or the name asked for).
    pub netns: String,
    /// The namespace's keepalive defaults.
    pub sysctl: Option<Defaults>,
    /// The sockets, by local then remote endpoint; listeners are not here.
    pub sockets: Vec<LocalSocket>,
    /// The listening sockets, as the kernel reports them (no process or
    /// settings read): what tells the accepting end of a loopback connection
    /// from the connecting one ([`kawatch_core::with_sockets`] takes them
    /// among the sockets).
    pub listening: Vec<LocalSocket>,
    /// What limited the listing, and how to lift it.
    pub notes: Vec<String>,
    /// Why some sockets' settings could not be read: the notes of part of
    /// the listing ([`Unread::notes`]).
    pub unread: Unread,
}

/// Why some sockets' settings could not be read.
#[derive(Clone, Debug, Default)]
pub struct Unread {
    /// Processes hidden from this user (/proc).
    pub hidden: usize,
    /// The kernel has no pidfd_getfd.
    pub unsupported: bool,
    /// Sockets whose owner this user has no ptrace rights over, by (local,
    /// remote).
    pub denied: HashSet<(Endpoint, Endpoint)>,
}

impl Unread {
    /// What limited the listing of `shown`, and how to lift it: counts of
    /// those shown, not of the whole namespace.
    pub fn notes<'a>(&self, shown: impl Iterator<Item = &'a LocalSocket>) -> Vec<String> {
        let (mut denied, mut ownerless) = (0usize, 0usize);
        for s in shown {
            denied += usize::from(self.denied.contains(&(s.local, s.remote)));
            ownerless += usize::from(s.owner.is_none() && s.inode != 0);
        }
        let hidden = self.hidden;
        let mut notes = Vec::new();
        if denied > 0 {
            notes.push(format!(
                "{denied} socket(s): no ptrace rights over the owning process, so settings are \
                 inferred from the kernel's timer; run as root (or with CAP_SYS_PTRACE) to read them exactly"
            ));
        }
        if ownerless > 0 && hidden > 0 {
            notes.push(format!(
                "{ownerless} socket(s) held by processes this user cannot look into ({hidden} processes \
                 hidden from it): \
                 no process shown and settings inferred from the kernel's timer; run as root to see \
                 them exactly"
            ));
        }
        if self.unsupported {
            notes.push(
                "this kernel has no pidfd_getfd (Linux 5.6+): settings inferred from the kernel's timer"
                    .to_owned(),
            );
        }
        notes
    }
}

/// Lists the sockets of the current namespace, the listeners apart.
pub fn list() -> Result<Listing, SocketsError> {
    let (listening, mut sockets): (Vec<LocalSocket>, Vec<LocalSocket>) = diag::dump()?
        .into_iter()
        .partition(|s| s.state == SocketState::Listen);
    let (owners, hidden) = owners::by_inode();
    let mut denied = HashSet::new();
    let mut unsupported = false;
    for s in &mut sockets {
        s.owner = (s.inode != 0)
            .then(|| owners.get(&s.inode).cloned())
            .flatten();
        let exact = match &s.owner {
            Some(owner) => match sockopt::read(owner) {
                Ok(k) => Some(k),
                Err(sockopt::Denied::Permission) => {
                    denied.insert((s.local, s.remote));
                    None
                }
                Err(sockopt::Denied::Unsupported) => {
                    unsupported = true;
                    None
                }
                Err(sockopt::Denied::Gone) => None,
            },
            None => None,
        };
        s.keepalive = exact.unwrap_or_else(|| infer_from_timer(s));
    }
    sockets.sort_by_key(|s| (s.local, s.remote));
    let unread = Unread {
        hidden,
        unsupported,
        denied,
    };
    let notes = unread.notes(sockets.iter());
    Ok(Listing {
        netns: netns::current(),
        sysctl: sysctl::read(),
        sockets,
        listening,
        notes,
        unread,
    })
}
