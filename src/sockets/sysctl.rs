//! The namespace's keepalive defaults: `net.ipv4.tcp_keepalive_time`,
//! `_intvl` and `_probes` (per network namespace; read from /proc/sys after
//! entering the namespace, they are that namespace's).

use std::path::Path;

/// The defaults a socket inherits when it never set its own.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Defaults {
    /// `tcp_keepalive_time`, seconds.
    pub keepalive_time: u32,
    /// `tcp_keepalive_intvl`, seconds.
    pub keepalive_intvl: u32,
    /// `tcp_keepalive_probes`.
    pub keepalive_probes: u32,
}

/// Reads them from /proc/sys/net/ipv4 (None when /proc is not there).
pub fn read() -> Option<Defaults> {
    let dir = Path::new("/proc/sys/net/ipv4");
    let get = |name: &str| -> Option<u32> {
        std::fs::read_to_string(dir.join(name))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    Some(Defaults {
        keepalive_time: get("tcp_keepalive_time")?,
        keepalive_intvl: get("tcp_keepalive_intvl")?,
        keepalive_probes: get("tcp_keepalive_probes")?,
    })
}
