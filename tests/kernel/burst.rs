//! kawatch capturing live while traffic pours in, stopped in the middle of it
//! by its own `--duration` or by SIGINT: every packet the kernel accepted up to
//! the stop is read ("captured" equals "received by filter") and none is
//! dropped by the kernel.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;
use socket2::{Domain, Socket};

use crate::capture::{CaptureSpec, RunningCapture};
use crate::expect::kawatch_bin;
use crate::sys::{tcp_socket_in, NetnsPair, ADDR_A4, ADDR_B4, VETH_A};

/// How the capture is stopped.
#[derive(Clone, Copy, Debug)]
pub(crate) enum StopBy {
    /// `--duration` ends it.
    Duration,
    /// SIGINT ends it.
    Sigint,
}

/// Connections that pour data across the veth pair until told to stop, in
/// bursts of small segments (NODELAY) with short pauses; the longest it runs
/// is bounded.
struct Traffic {
    stop: Arc<AtomicBool>,
    writes: Arc<AtomicU64>,
    threads: Vec<JoinHandle<Result<(), String>>>,
}

const CONNECTIONS: usize = 4;
const TRAFFIC_LIMIT: Duration = Duration::from_secs(20);

impl Traffic {
    fn start(pair: &NetnsPair, port: u16) -> Result<Traffic, String> {
        let (listener, server) = listen_in(&pair.b, port, 16)?;
        let stop = Arc::new(AtomicBool::new(false));
        let writes = Arc::new(AtomicU64::new(0));
        let mut threads = Vec::new();
        let accepts = std::thread::spawn(move || -> Result<(), String> {
            let mut readers = Vec::new();
            for _ in 0..CONNECTIONS {
                let (conn, _) = listener.accept().map_err(|e| format!("accept: {e}"))?;
                readers.push(std::thread::spawn(move || {
                    let mut conn: std::net::TcpStream = conn.into();
                    let _ = conn.set_read_timeout(Some(TRAFFIC_LIMIT));
                    let mut buf = [0u8; 65536];
                    while matches!(conn.read(&mut buf), Ok(n) if n > 0) {}
                }));
            }
            for r in readers {
                let _ = r.join();
            }
            Ok(())
        });
        threads.push(accepts);
        for _ in 0..CONNECTIONS {
            let sock = tcp_socket_in(&pair.a, Domain::IPV4).map_err(|e| e.to_string())?;
            let local: SocketAddr = format!("{ADDR_A4}:0").parse().expect("address");
            sock.bind(&local.into()).map_err(|e| e.to_string())?;
            sock.set_tcp_nodelay(true).map_err(|e| e.to_string())?;
            sock.connect_timeout(&server.into(), Duration::from_secs(5))
                .map_err(|e| format!("connect {server}: {e}"))?;
            let (stop, writes) = (Arc::clone(&stop), Arc::clone(&writes));
            threads.push(std::thread::spawn(move || pour(sock, &stop, &writes)));
        }
        Ok(Traffic {
            stop,
            writes,
            threads,
        })
    }

    fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    fn finish(self) -> Result<(), String> {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            t.join().map_err(|_| "a traffic thread panicked")??;
        }
        Ok(())
    }
}

/// Bursts of 50 writes of 64 bytes, 20 ms apart, until `stop` (bounded):
/// with four connections about 10,000 segments a second, arriving in bursts
/// far larger than the ring libpcap used to be given.
fn pour(sock: Socket, stop: &AtomicBool, writes: &AtomicU64) -> Result<(), String> {
    let mut conn: std::net::TcpStream = sock.into();
    let started = Instant::now();
    let chunk = [0x5au8; 64];
    while !stop.load(Ordering::Relaxed) && started.elapsed() < TRAFFIC_LIMIT {
        for _ in 0..50 {
            conn.write_all(&chunk).map_err(|e| format!("write: {e}"))?;
            writes.fetch_add(1, Ordering::Relaxed);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Runs one burst capture; returns kawatch's stderr, or what went wrong.
pub(crate) fn burst_capture(how: StopBy, dir: &Path, port: u16) -> Result<String, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let tag = match how {
        StopBy::Duration => "burst-d",
        StopBy::Sigint => "burst-i",
    };
    let pair = NetnsPair::create(tag)?;
    let report = dir.join(format!("{tag}.json"));
    let duration = match how {
        StopBy::Duration => "2",
        StopBy::Sigint => "60",
    };
    let spec = CaptureSpec {
        name: "kawatch-burst",
        netns: pair.a.clone(),
        program: "sh",
        args: vec![
            "-c".to_owned(),
            format!(
                "exec '{}' report --interface {VETH_A} --duration {duration} --format json > '{}'",
                kawatch_bin(),
                report.display()
            ),
        ],
        file: report.clone(),
        linktype: "EN10MB",
        ready_line: "kawatch: listening on",
        ready_needs_file: false,
    };
    let cap = RunningCapture::start(spec, Duration::from_secs(10))?;
    let traffic = Traffic::start(&pair, port)?;
    let stopped = match how {
        StopBy::Duration => cap.wait_exit(Duration::from_secs(15), "after --duration 2"),
        StopBy::Sigint => {
            std::thread::sleep(Duration::from_millis(1500));
            cap.stop(Duration::from_secs(10))
        }
    };
    // The traffic must still be flowing when the capture has ended: the stop
    // fell in the middle of it.
    let at_stop = traffic.writes();
    std::thread::sleep(Duration::from_millis(100));
    let after = traffic.writes();
    traffic.finish()?;
    let stderr = stopped?;
    if after <= at_stop {
        return Err(format!(
            "traffic had stopped before the capture did ({at_stop} writes): not a stop mid-burst"
        ));
    }
    let count = |pat: &str| -> Option<u64> {
        stderr
            .lines()
            .find(|l| l.contains(pat))
            .and_then(|l| l.split_whitespace().next()?.parse().ok())
    };
    let received = count("packets received by filter").unwrap_or(0);
    if received < 500 {
        return Err(format!(
            "only {received} packets seen: the burst never got going\n{stderr}"
        ));
    }
    let text =
        std::fs::read_to_string(&report).map_err(|e| format!("{}: {e}", report.display()))?;
    let json: Value =
        serde_json::from_str(&text).map_err(|e| format!("the report is not JSON ({e}): {text}"))?;
    let frames = json["source"]["frames"].as_u64();
    if frames != Some(received) {
        return Err(format!(
            "the report read {frames:?} frames, the kernel accepted {received}"
        ));
    }
    if json["source"]["kernel_drops"].as_u64() != Some(0) {
        return Err(format!(
            "the report says kernel_drops {}",
            json["source"]["kernel_drops"]
        ));
    }
    Ok(stderr)
}

/// How long lone frames on a quiet interface take to reach kawatch's
/// reader, with a ring of `buffer` bytes (the default when `None`): `count`
/// UDP datagrams on `lo`, 30 ms apart, each alone in the ring, timed from
/// its sending to its reading. In blocks (the default ring) the kernel
/// hands each over on its block timeout (libpcap's read timeout), not when
/// the block is full; frame by frame (a small ring) at once. `Err` when one
/// does not come within `limit`, or the capture cannot be opened.
pub(crate) fn lone_frame_delays(
    buffer: Option<i32>,
    count: usize,
    limit: Duration,
) -> Result<Vec<Duration>, String> {
    use kawatch::capture::{LiveOptions, Next, Source};
    use std::net::UdpSocket;
    let receiver = UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    let port = receiver.local_addr().map_err(|e| e.to_string())?.port();
    let opts = LiveOptions {
        interface: Some("lo".to_owned()),
        buffer_size: buffer,
        ..LiveOptions::default()
    };
    let mut src = Source::open_live(&opts, Some(&format!("udp and dst port {port}")))
        .map_err(|e| format!("opening a capture on lo: {e}"))?;
    let sender = UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    let mut delays = Vec::with_capacity(count);
    for _ in 0..count {
        std::thread::sleep(Duration::from_millis(30));
        let sent = Instant::now();
        sender
            .send_to(b"kawatch", ("127.0.0.1", port))
            .map_err(|e| format!("send: {e}"))?;
        loop {
            if sent.elapsed() > limit {
                return Err(format!(
                    "a datagram sent on lo did not reach the reader within {limit:?}"
                ));
            }
            match src.next_frame().map_err(|e| e.to_string())? {
                Next::Frame(_) => break,
                Next::Timeout => {}
                Next::End => return Err("the capture ended".to_owned()),
            }
        }
        delays.push(sent.elapsed());
    }
    Ok(delays)
}

/// What [`first_live_event`] reads from `kawatch report -i`'s stdout.
#[derive(Clone, Copy, Debug)]
pub(crate) enum LiveOutput {
    /// `--format events`: the probe's event.
    Events,
    /// `-w -`: the probe's frame, labelled, in the pcapng stream.
    Frames,
}

/// `kawatch report -i` on a live capture (`--format events` or `-w -`), a
/// connection with keepalive every second across the pair: how long after
/// kawatch started its first probe could be read from its stdout, and
/// whether kawatch was still running then. `Err` when no probe came within
/// `limit`.
pub(crate) fn first_live_event(
    limit: Duration,
    output: LiveOutput,
) -> Result<(Duration, bool), String> {
    use std::process::{Command, Stdio};
    use std::sync::mpsc;
    let pair = NetnsPair::create(match output {
        LiveOutput::Events => "events",
        LiveOutput::Frames => "frames",
    })?;
    let port = 7201;
    let (listener, server) = listen_in(&pair.b, port, 1)?;
    let mut child = Command::new(kawatch_bin())
        .args(["report", "--netns", &pair.a, "-i", VETH_A])
        .args(match output {
            LiveOutput::Events => ["--format", "events"],
            LiveOutput::Frames => ["-w", "-"],
        })
        .args(["--no-sockets", "--duration", "20"])
        .args([format!("tcp port {port}")])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("kawatch: {e}"))?;
    let started = Instant::now();
    let (tx, rx) = mpsc::channel::<(bool, String)>();
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    send_lines(stdout, tx.clone(), |line| (true, line));
    send_lines(stderr, tx, |line| (false, line));
    let mut result = Err(format!("no probe event within {limit:?}"));
    let mut connected = None;
    while started.elapsed() < limit {
        let Ok((is_out, line)) = rx.recv_timeout(Duration::from_millis(100)) else {
            continue;
        };
        if !is_out && line.contains("listening on") && connected.is_none() {
            // Capturing: the connection, its SYN seen, then idle with keepalive.
            let sock = tcp_socket_in(&pair.a, Domain::IPV4).map_err(|e| e.to_string())?;
            let ka = socket2::TcpKeepalive::new()
                .with_time(Duration::from_secs(1))
                .with_interval(Duration::from_secs(1));
            sock.set_tcp_keepalive(&ka).map_err(|e| e.to_string())?;
            sock.connect_timeout(&server.into(), Duration::from_secs(5))
                .map_err(|e| format!("connect {server}: {e}"))?;
            let (peer, _) = listener.accept().map_err(|e| format!("accept: {e}"))?;
            connected = Some((sock, peer));
        }
        let probe = match output {
            LiveOutput::Events => "\"kind\":\"probe\"",
            LiveOutput::Frames => "kawatch: keepalive probe (",
        };
        if is_out && line.contains(probe) {
            let running = matches!(child.try_wait(), Ok(None));
            result = Ok((started.elapsed(), running));
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    drop(connected);
    result
}

/// `kawatch report -i lo` stopped by SIGINT while a datagram arrives every
/// 100 ms: how long it takes to exit after the signal. On `lo` the kernel
/// counts each packet twice, so the stop point is never reached by count;
/// the first frame stamped after the stop ends the drain. `Err` when it
/// does not start or exit within its bounds.
pub(crate) fn lo_stop_delay() -> Result<Duration, String> {
    use std::net::UdpSocket;
    use std::process::{Command, Stdio};
    let receiver = UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    let port = receiver.local_addr().map_err(|e| e.to_string())?.port();
    let mut child = Command::new(kawatch_bin())
        .args(["report", "-i", "lo", "--format", "json", "--no-sockets"])
        .arg(format!("udp and dst port {port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("kawatch: {e}"))?;
    let stderr = child.stderr.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    send_lines(stderr, tx, |line| line);
    let began = Instant::now();
    while !rx
        .recv_timeout(Duration::from_millis(100))
        .is_ok_and(|l| l.contains("listening on"))
    {
        if began.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            return Err("kawatch did not start listening on lo".to_owned());
        }
    }
    let sender = UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    let send = |n: u32| -> Result<(), String> {
        for _ in 0..n {
            sender
                .send_to(b"kawatch", ("127.0.0.1", port))
                .map_err(|e| format!("send: {e}"))?;
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    };
    send(15)?;
    let signalled = Instant::now();
    // SAFETY: kill(2) on the pid of a child not yet waited for (sent from
    // here: a kill(1) slow to start would count against kawatch).
    if unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) } != 0 {
        return Err(format!("kill: {}", std::io::Error::last_os_error()));
    }
    // Traffic goes on while kawatch stops; bounded.
    let mut exited = None;
    for _ in 0..50 {
        if let Ok(Some(_)) = child.try_wait() {
            exited = Some(signalled.elapsed());
            break;
        }
        send(1)?;
    }
    match exited {
        Some(after) => Ok(after),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            Err("kawatch did not exit within 5 s of SIGINT".to_owned())
        }
    }
}

/// A TCP listener on `ADDR_B4:port` in namespace `ns`.
fn listen_in(ns: &str, port: u16, backlog: i32) -> Result<(Socket, SocketAddr), String> {
    let listener = tcp_socket_in(ns, Domain::IPV4).map_err(|e| e.to_string())?;
    let server: SocketAddr = format!("{ADDR_B4}:{port}").parse().expect("address");
    listener
        .set_reuse_address(true)
        .map_err(|e| e.to_string())?;
    listener
        .bind(&server.into())
        .map_err(|e| format!("bind {server}: {e}"))?;
    listener.listen(backlog).map_err(|e| e.to_string())?;
    Ok((listener, server))
}

/// Sends each line read from `from` to `to`, as `each` makes it, on a
/// thread of its own, until the end or the receiver is gone.
fn send_lines<T: Send + 'static>(
    from: impl Read + Send + 'static,
    to: std::sync::mpsc::Sender<T>,
    each: fn(String) -> T,
) {
    use std::io::BufRead;
    std::thread::spawn(move || {
        // Split at newlines, not read as text: `-w -` writes pcapng.
        for line in std::io::BufReader::new(from)
            .split(b'\n')
            .map_while(Result::ok)
        {
            if to
                .send(each(String::from_utf8_lossy(&line).into_owned()))
                .is_err()
            {
                break;
            }
        }
    });
}
