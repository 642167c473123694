//! A peer's keepalive probe, empty or carrying one byte, arriving at a Linux
//! socket whose own keepalive timer runs: which of the two restarts its idle
//! clock. Linux probes empty; Windows and old BSD stacks probe with a byte
//! the receiver already has (KEEPALIVE-FACTS item 14). A client-side raw
//! socket sends that probe into a real connection, at the sequence numbers
//! the client's socket holds (read with TCP_REPAIR), while tcpdump captures
//! the server's side.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

use socket2::{Domain, SockAddr, Socket, Type};

use super::capture::{CaptureSpec, RunningCapture};
use super::sockets::{connect, keepalive, listener};
use super::sys::{socket_in, wait_all_acked, NetnsPair, ADDR_A4, ADDR_B4, VETH_B};

const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// One connection of the test: the server's keepalive idle, the length of
/// the probe sent to it, and what was seen.
#[derive(Debug)]
pub(crate) struct Run {
    /// Bytes the injected probe carries (0 or 1).
    pub probe_len: u32,
    /// The server's port.
    pub port: u16,
    /// Capture times (s) of the last data segment the server received, the
    /// injected probe, and the server's first keepalive probe after it.
    pub quiet_ts: f64,
    pub injected_ts: f64,
    pub server_probe_ts: f64,
}

/// The next sequence number `s` sends and the next it expects, read in
/// TCP_REPAIR mode and left without a window probe (needs CAP_NET_ADMIN).
fn queue_seqs(s: &Socket) -> Result<(u32, u32), String> {
    const TCP_REPAIR_QUEUE: libc::c_int = 20;
    const TCP_QUEUE_SEQ: libc::c_int = 21;
    const TCP_RECV_QUEUE: libc::c_int = 1;
    const TCP_SEND_QUEUE: libc::c_int = 2;
    const TCP_REPAIR_OFF_NO_WP: libc::c_int = -1;
    let fd = s.as_raw_fd();
    let set = |opt: libc::c_int, v: libc::c_int| -> Result<(), String> {
        // SAFETY: setsockopt(2) on a valid socket with an int option.
        let r = unsafe {
            libc::setsockopt(
                fd,
                libc::IPPROTO_TCP,
                opt,
                std::ptr::from_ref(&v).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if r == 0 {
            Ok(())
        } else {
            Err(format!(
                "setsockopt({opt}, {v}): {}",
                std::io::Error::last_os_error()
            ))
        }
    };
    let get_seq = || -> Result<u32, String> {
        let mut v: u32 = 0;
        let mut len = std::mem::size_of::<u32>() as libc::socklen_t;
        // SAFETY: getsockopt(2) into a u32 of the size given.
        let r = unsafe {
            libc::getsockopt(
                fd,
                libc::IPPROTO_TCP,
                TCP_QUEUE_SEQ,
                std::ptr::from_mut(&mut v).cast(),
                &mut len,
            )
        };
        if r == 0 {
            Ok(v)
        } else {
            Err(format!(
                "TCP_QUEUE_SEQ: {}",
                std::io::Error::last_os_error()
            ))
        }
    };
    set(libc::TCP_REPAIR, 1)?;
    let seqs = (|| {
        set(TCP_REPAIR_QUEUE, TCP_SEND_QUEUE)?;
        let snd = get_seq()?;
        set(TCP_REPAIR_QUEUE, TCP_RECV_QUEUE)?;
        let rcv = get_seq()?;
        Ok::<_, String>((snd, rcv))
    })();
    set(libc::TCP_REPAIR, TCP_REPAIR_OFF_NO_WP)?;
    seqs
}

/// The ones' complement sum of `bytes` (RFC 1071), folded.
fn ones_sum(bytes: &[u8], mut sum: u32) -> u32 {
    for pair in bytes.chunks(2) {
        let hi = u32::from(pair[0]) << 8;
        sum += hi | pair.get(1).map_or(0, |&b| u32::from(b));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum
}

/// A keepalive probe from `src` to `dst`: ACK set, one below `snd_nxt`,
/// carrying `len` zero bytes (0 or 1), as a TCP header and payload.
fn probe_segment(
    src: SocketAddrV4,
    dst: SocketAddrV4,
    snd_nxt: u32,
    rcv_nxt: u32,
    len: u32,
) -> Vec<u8> {
    let mut tcp = Vec::with_capacity(21);
    tcp.extend(src.port().to_be_bytes());
    tcp.extend(dst.port().to_be_bytes());
    tcp.extend(snd_nxt.wrapping_sub(1).to_be_bytes());
    tcp.extend(rcv_nxt.to_be_bytes());
    tcp.extend([5 << 4, 0x10]); // data offset 5 words; ACK
    tcp.extend(502u16.to_be_bytes()); // window
    tcp.extend([0, 0, 0, 0]); // checksum, urgent pointer
    tcp.extend(std::iter::repeat_n(0u8, len as usize));
    let mut pseudo = Vec::with_capacity(12);
    pseudo.extend(src.ip().octets());
    pseudo.extend(dst.ip().octets());
    pseudo.extend([0, libc::IPPROTO_TCP as u8]);
    pseudo.extend((tcp.len() as u16).to_be_bytes());
    let sum = !(ones_sum(&tcp, ones_sum(&pseudo, 0)) as u16);
    tcp[16..18].copy_from_slice(&sum.to_be_bytes());
    tcp
}

/// Capture time of a frame in seconds.
fn ts_of(h: &pcap::PacketHeader) -> f64 {
    h.ts.tv_sec as f64 + h.ts.tv_usec as f64 * 1e-9
}

/// From the capture: per run, when the server last received data, when the
/// injected probe came, and the server's first empty segment at least half
/// a second after it (its keepalive probe; its answer to the injected
/// probe comes within milliseconds).
fn read_times(path: &Path, runs: &mut [Run], client_seq: &[u32]) -> Result<(), String> {
    let mut cap = pcap::Capture::from_file_with_precision(path, pcap::Precision::Nano)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    while let Ok(p) = cap.next_packet() {
        let (h, d) = (*p.header, p.data);
        // Ethernet, IPv4 without options (tcpdump on the veth).
        if d.len() < 14 + 20 + 20 || d[12..14] != [0x08, 0x00] || d[23] != 6 {
            continue;
        }
        let ip = &d[14..];
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        let tcp = &ip[ihl..];
        let (sport, dport) = (
            u16::from_be_bytes([tcp[0], tcp[1]]),
            u16::from_be_bytes([tcp[2], tcp[3]]),
        );
        let seq = u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]]);
        let len = total - ihl - usize::from(tcp[12] >> 4) * 4;
        let t = ts_of(&h);
        for (run, &snd) in runs.iter_mut().zip(client_seq) {
            if dport == run.port && len > 0 && seq != snd.wrapping_sub(1) {
                run.quiet_ts = t;
            }
            if dport == run.port && seq == snd.wrapping_sub(1) && len == run.probe_len as usize {
                run.injected_ts = t;
            }
            if sport == run.port
                && len == 0
                && run.injected_ts > 0.0
                && run.server_probe_ts == 0.0
                && t > run.injected_ts + 0.5
            {
                run.server_probe_ts = t;
            }
        }
    }
    Ok(())
}

/// Two connections, the server's keepalive `idle` s (interval 1 s, nine
/// probes), the client's off; `delay` s after the last data, a probe of one
/// byte goes to the first server and an empty one to the second. Returns
/// both runs and the capture's path.
pub(crate) fn run(
    idle: u32,
    delay: Duration,
    dir: &Path,
) -> Result<(Vec<Run>, std::path::PathBuf), String> {
    let pair = NetnsPair::create("onebyte")?;
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let file = dir.join("onebyte.pcap");
    let capture = RunningCapture::start(CaptureSpec::tcpdump(&pair.b, VETH_B, &file), IO_TIMEOUT)?;
    let server_ip: Ipv4Addr = ADDR_B4.parse().expect("address");
    let client_ip: Ipv4Addr = ADDR_A4.parse().expect("address");
    let mut conns = Vec::new();
    for (probe_len, port) in [(1u32, 7501u16), (0, 7502)] {
        let (client, server) = connect(&pair.a, &listener(&pair.b, ADDR_B4, port)?)?;
        keepalive(&server, idle, 1, 9)?;
        for s in [&client, &server] {
            s.set_read_timeout(Some(IO_TIMEOUT))
                .map_err(|e| e.to_string())?;
        }
        conns.push((probe_len, port, client, server));
    }
    // Data both ways, everything acknowledged: the idle clocks start.
    for (_, _, client, server) in &conns {
        let mut buf = [0u8; 4];
        for (from, to) in [(client, server), (server, client)] {
            (&*from)
                .write_all(b"ping")
                .map_err(|e| format!("send: {e}"))?;
            (&*to)
                .read_exact(&mut buf)
                .map_err(|e| format!("recv: {e}"))?;
        }
    }
    let sockets: Vec<&Socket> = conns.iter().flat_map(|(_, _, c, s)| [c, s]).collect();
    wait_all_acked(&sockets, Duration::from_secs(2))?;
    let quiet = Instant::now();
    let mut seqs = Vec::new();
    for (_, _, client, _) in &conns {
        seqs.push(queue_seqs(client)?);
    }
    let raw =
        socket_in(&pair.a, Domain::IPV4, Type::RAW).map_err(|e| format!("raw socket: {e}"))?;
    std::thread::sleep(delay.saturating_sub(quiet.elapsed()));
    let mut runs = Vec::new();
    for ((probe_len, port, client, _), &(snd, rcv)) in conns.iter().zip(&seqs) {
        let src = match client.local_addr().ok().and_then(|a| a.as_socket()) {
            Some(SocketAddr::V4(a)) => a,
            other => return Err(format!("client address {other:?}")),
        };
        let dst = SocketAddrV4::new(server_ip, *port);
        debug_assert_eq!(*src.ip(), client_ip);
        let seg = probe_segment(src, dst, snd, rcv, *probe_len);
        raw.send_to(
            &seg,
            &SockAddr::from(SocketAddr::V4(SocketAddrV4::new(server_ip, 0))),
        )
        .map_err(|e| format!("raw send: {e}"))?;
        runs.push(Run {
            probe_len: *probe_len,
            port: *port,
            quiet_ts: 0.0,
            injected_ts: 0.0,
            server_probe_ts: 0.0,
        });
    }
    // The later of the two servers' probes: a whole idle after the
    // injection, the timer's lateness and a margin.
    std::thread::sleep(Duration::from_secs_f64(f64::from(idle) * 1.15 + 0.8));
    // Closed, and quiet, before the capture stops: tcpdump counts what
    // arrives while it stops without writing it.
    drop(conns);
    std::thread::sleep(Duration::from_millis(300));
    capture.stop(IO_TIMEOUT)?;
    let client_seqs: Vec<u32> = seqs.iter().map(|s| s.0).collect();
    read_times(&file, &mut runs, &client_seqs)?;
    drop(pair);
    Ok((runs, file))
}
