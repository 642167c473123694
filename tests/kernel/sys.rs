//! Processes with time limits, the namespace pair (with its Drop guard),
//! sockets made inside a namespace, iptables rules and TCP_INFO.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

/// Every namespace this suite makes starts with this; the pid follows.
pub(crate) const NETNS_PREFIX: &str = "kawatch-kt-";

/// Inside the namespaces; the veth pair is made directly in them, so these
/// names never exist in the host's namespace.
pub(crate) const VETH_A: &str = "kwa";
pub(crate) const VETH_B: &str = "kwb";

/// Test addresses: 198.18.0.0/15 (benchmarking) and 2001:db8::/32 (documentation) only.
pub(crate) const ADDR_A4: &str = "198.18.0.1";
pub(crate) const ADDR_B4: &str = "198.18.0.2";
pub(crate) const ADDR_A6: &str = "2001:db8:4b:1::1";
pub(crate) const ADDR_B6: &str = "2001:db8:4b:1::2";

/// A command that gets SIGKILL when this test process dies (SIGKILL,
/// abort), so that a capture or a server it started never outlives it.
pub(crate) fn dies_with_us(mut cmd: Command) -> Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: only async-signal-safe prctl(2) between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

/// Runs a command, killing it when it outlives `timeout`.
pub(crate) fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> Result<Output, String> {
    let shown = format!("{cmd:?}");
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    let pid = child.id() as libc::pid_t;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(timeout) {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(e)) => Err(format!("waiting for {shown}: {e}")),
        Err(_) => {
            // SAFETY: plain kill(2) on the child we started; it has not been reaped yet
            // because the waiting thread has not returned.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
            let _ = rx.recv_timeout(Duration::from_secs(5));
            Err(format!("{shown} did not finish within {timeout:?}; killed"))
        }
    }
}

/// Runs a command that must succeed; returns its stdout.
pub(crate) fn run_ok(cmd: &mut Command, timeout: Duration) -> Result<String, String> {
    let shown = format!("{cmd:?}");
    let out = run_with_timeout(cmd, timeout)?;
    if !out.status.success() {
        return Err(format!(
            "{shown} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn ip(args: &[&str]) -> Result<String, String> {
    run_ok(Command::new("ip").args(args), Duration::from_secs(10))
}

/// `ip netns exec NS ARGS...`
pub(crate) fn netns_exec(ns: &str, args: &[&str]) -> Result<String, String> {
    run_ok(
        Command::new("ip").args(["netns", "exec", ns]).args(args),
        Duration::from_secs(10),
    )
}

fn netns_names() -> Result<Vec<String>, String> {
    let out = ip(&["netns", "list"])?;
    Ok(out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect())
}

fn pid_is_kernel_suite(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/comm")) {
        Ok(comm) => comm.trim().starts_with("kernel"),
        Err(_) => false,
    }
}

/// Deletes namespaces left by earlier runs of this suite whose process is gone
/// (a run killed before its Drop guard could clean up). Namespaces of runs that
/// are still going are left alone.
pub(crate) fn remove_stale_namespaces() -> Result<Vec<String>, String> {
    let mut removed = Vec::new();
    for name in netns_names()? {
        let Some(rest) = name.strip_prefix(NETNS_PREFIX) else {
            continue;
        };
        let pid: Option<u32> = rest.split('-').next().and_then(|p| p.parse().ok());
        let stale = match pid {
            Some(pid) => pid != std::process::id() && !pid_is_kernel_suite(pid),
            None => true,
        };
        if stale {
            ip(&["netns", "del", &name])?;
            removed.push(name);
        }
    }
    Ok(removed)
}

/// Two namespaces joined by a veth pair; both are deleted on drop, also when a
/// test panics.
pub(crate) struct NetnsPair {
    pub a: String,
    pub b: String,
    created: Vec<String>,
}

impl NetnsPair {
    pub(crate) fn create(run_tag: &str) -> Result<NetnsPair, String> {
        let a = format!("{NETNS_PREFIX}{}-{run_tag}-a", std::process::id());
        let b = format!("{NETNS_PREFIX}{}-{run_tag}-b", std::process::id());
        let mut pair = NetnsPair {
            a: a.clone(),
            b: b.clone(),
            created: Vec::new(),
        };
        for ns in [&a, &b] {
            ip(&["netns", "add", ns]).map_err(|e| {
                format!(
                    "cannot create network namespace {ns}: {e}\n\
                     The kernel tests need root and `ip netns add` \
                     (iproute2, CAP_SYS_ADMIN, /run/netns writable)."
                )
            })?;
            pair.created.push(ns.clone());
        }
        ip(&[
            "link", "add", VETH_A, "netns", &a, "type", "veth", "peer", "name", VETH_B, "netns", &b,
        ])?;
        for (ns, dev, v4, v6) in [
            (&a, VETH_A, ADDR_A4, ADDR_A6),
            (&b, VETH_B, ADDR_B4, ADDR_B6),
        ] {
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
            // No router solicitations or DAD delays on this private link.
            netns_exec(ns, &["sysctl", "-q", "-w", "net.ipv6.conf.all.accept_ra=0"])?;
            ip(&["-n", ns, "addr", "add", &format!("{v4}/24"), "dev", dev])?;
            ip(&[
                "-n",
                ns,
                "addr",
                "add",
                &format!("{v6}/64"),
                "dev",
                dev,
                "nodad",
            ])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
        }
        // Wait (bounded) until both ends report carrier.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let la = ip(&["-n", &a, "link", "show", VETH_A])?;
            let lb = ip(&["-n", &b, "link", "show", VETH_B])?;
            if la.contains("LOWER_UP") && lb.contains("LOWER_UP") {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("veth pair did not come up:\n{la}\n{lb}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(pair)
    }

    pub(crate) fn path(ns: &str) -> PathBuf {
        PathBuf::from("/run/netns").join(ns)
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        for ns in self.created.drain(..) {
            if let Err(e) = ip(&["netns", "del", &ns]) {
                eprintln!("kernel tests: could not delete namespace {ns}: {e}");
            }
        }
    }
}

/// A TCP socket created inside namespace `ns` ([`socket_in`]).
pub(crate) fn tcp_socket_in(ns: &str, domain: Domain) -> io::Result<Socket> {
    socket_in(ns, domain, Type::STREAM)
}

/// A socket of `ty` (TCP protocol) created inside namespace `ns`: a
/// short-lived thread joins the namespace with setns(2) and creates it
/// there; the socket stays in that namespace whichever thread uses it later.
pub(crate) fn socket_in(ns: &str, domain: Domain, ty: Type) -> io::Result<Socket> {
    let path = NetnsPair::path(ns);
    std::thread::spawn(move || -> io::Result<Socket> {
        let f = File::open(&path)?;
        // SAFETY: setns(2) on a valid fd, affecting only this (short-lived) thread.
        if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Socket::new(domain, ty, Some(Protocol::TCP))
    })
    .join()
    .map_err(|_| io::Error::other("namespace thread panicked"))?
}

/// iptables/ip6tables calls are serialised: nf_tables transactions from
/// parallel scenarios would otherwise race.
static IPTABLES: Mutex<()> = Mutex::new(());

/// `ip netns exec NS iptables|ip6tables -w RULE...`
pub(crate) fn iptables(ns: &str, v6: bool, rule: &[&str]) -> Result<(), String> {
    let _guard = IPTABLES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let tool = if v6 { "ip6tables" } else { "iptables" };
    let mut args = vec![tool, "-w", "5"];
    args.extend_from_slice(rule);
    netns_exec(ns, &args).map(|_| ())
}

/// The firewall mark that [`drop_marked`]'s rules drop on output.
const DROP_MARK: u32 = 0x4b;

/// In `ns`, drops every packet a socket marked by [`set_dropped`] sends
/// (IPv4 and IPv6): a scenario then cuts a socket off, and lets it speak
/// again, with no program started in its timed window.
pub(crate) fn drop_marked(ns: &str) -> Result<(), String> {
    let mark = DROP_MARK.to_string();
    for v6 in [false, true] {
        iptables(
            ns,
            v6,
            &["-A", "OUTPUT", "-m", "mark", "--mark", &mark, "-j", "DROP"],
        )?;
    }
    Ok(())
}

/// Whether what `socket` sends (its ACKs and RSTs too) is dropped on
/// output, by its namespace's [`drop_marked`] rules.
pub(crate) fn set_dropped(socket: &Socket, dropped: bool) -> Result<(), String> {
    socket
        .set_mark(if dropped { DROP_MARK } else { 0 })
        .map_err(|e| format!("SO_MARK: {e}"))
}

/// The subset of `struct tcp_info` this suite reads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TcpInfo {
    pub state: u8,
    pub unacked: u32,
    pub last_ack_recv_ms: u32,
    pub notsent_bytes: u32,
    pub total_retrans: u32,
}

pub(crate) fn tcp_info(fd: RawFd) -> io::Result<TcpInfo> {
    // SAFETY: tcp_info is plain old data; getsockopt writes at most `len` bytes.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(TcpInfo {
        state: info.tcpi_state,
        unacked: info.tcpi_unacked,
        last_ack_recv_ms: info.tcpi_last_ack_recv,
        notsent_bytes: info.tcpi_notsent_bytes,
        total_retrans: info.tcpi_total_retrans,
    })
}

/// Waits (bounded) until none of `sockets` has data in flight or queued.
pub(crate) fn wait_all_acked(sockets: &[&Socket], limit: Duration) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    loop {
        let mut busy = Vec::new();
        for s in sockets {
            let info = tcp_info(s.as_raw_fd()).map_err(|e| format!("TCP_INFO: {e}"))?;
            if info.unacked != 0 || info.notsent_bytes != 0 {
                busy.push(info);
            }
        }
        if busy.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "data still unacknowledged after {limit:?}: {busy:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub(crate) fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or_else(|_| "unknown".to_owned(), |s| s.trim().to_owned())
}
