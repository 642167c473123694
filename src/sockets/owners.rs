//! Which process holds a socket: its inode among the `/proc/PID/fd` links,
//! as `ss -p` finds it (the procfs crate does the walking).

use kawatch_core::Owner;
use std::collections::HashMap;

/// Socket inode -> the first process (lowest pid) and descriptor holding it.
/// Processes this user may not look into are skipped; `skipped` counts them.
pub(crate) fn by_inode() -> (HashMap<u64, Owner>, usize) {
    let mut owners: HashMap<u64, Owner> = HashMap::new();
    let mut skipped = 0;
    let Ok(all) = procfs::process::all_processes() else {
        return (owners, 0);
    };
    let mut procs: Vec<_> = all.flatten().collect();
    procs.sort_by_key(|p| p.pid);
    for p in procs {
        let Ok(fds) = p.fd() else {
            skipped += 1;
            continue;
        };
        let mut comm = None;
        for fd in fds.flatten() {
            if let procfs::process::FDTarget::Socket(inode) = fd.target {
                owners.entry(inode).or_insert_with(|| Owner {
                    pid: p.pid as u32,
                    fd: fd.fd,
                    process: comm
                        .get_or_insert_with(|| p.stat().map_or_else(|_| "?".to_owned(), |s| s.comm))
                        .clone(),
                });
            }
        }
    }
    (owners, skipped)
}
