//! Packet captures made by tcpdump and dumpcap inside a namespace, and cutting
//! a capture so that it starts at a given time.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kawatch::Timestamp;
use kawatch_synth::{Format, LinkType, Writer};

/// How one capture of a session is made.
#[derive(Clone, Debug)]
pub(crate) struct CaptureSpec {
    /// Short name, also the capture's file stem.
    pub name: &'static str,
    pub netns: String,
    pub program: &'static str,
    pub args: Vec<String>,
    pub file: PathBuf,
    /// The libpcap DLT name kawatch must report.
    pub linktype: &'static str,
    /// What readiness looks like on stderr.
    pub ready_line: &'static str,
    /// dumpcap prints its banner before it opens the device, so its readiness
    /// is also judged by the file's header having been written.
    pub ready_needs_file: bool,
}

impl CaptureSpec {
    /// tcpdump on `dev` in namespace `ns`, TCP into `file` (Ethernet pcap,
    /// 128 bytes a frame). In immediate mode: what is still in the ring at
    /// SIGINT is lost otherwise.
    pub(crate) fn tcpdump(ns: &str, dev: &str, file: &Path) -> CaptureSpec {
        let args = [
            "-i",
            dev,
            "--immediate-mode",
            "-s",
            "128",
            "-U",
            "-n",
            "-Z",
            "root",
            "-w",
        ];
        CaptureSpec {
            name: "tcpdump",
            netns: ns.to_owned(),
            program: "tcpdump",
            args: args
                .iter()
                .map(|s| (*s).to_owned())
                .chain([file.display().to_string(), "tcp".to_owned()])
                .collect(),
            file: file.to_path_buf(),
            linktype: "EN10MB",
            ready_line: "listening on",
            ready_needs_file: false,
        }
    }

    pub(crate) fn command_line(&self) -> String {
        format!(
            "ip netns exec NS {} {}",
            self.program,
            self.args
                .iter()
                .map(|a| if a.contains('/') {
                    Path::new(a)
                        .file_name()
                        .map_or_else(|| a.clone(), |f| f.to_string_lossy().into_owned())
                } else {
                    a.clone()
                })
                .collect::<Vec<_>>()
                .join(" ")
        )
    }
}

/// A running capture; killed on drop if it was not stopped.
pub(crate) struct RunningCapture {
    pub spec: CaptureSpec,
    child: Option<Child>,
    stderr: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl RunningCapture {
    pub(crate) fn start(spec: CaptureSpec, limit: Duration) -> Result<RunningCapture, String> {
        // If this test process dies without cleaning up, it must not go on.
        let mut cmd = crate::sys::dies_with_us(Command::new("ip"));
        let mut child = cmd
            .args(["netns", "exec", &spec.netns, spec.program])
            .args(&spec.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", spec.program))?;
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let pipe = child.stderr.take().expect("stderr is piped");
        let sink = Arc::clone(&stderr);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                match line {
                    Ok(l) => sink
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(l),
                    Err(_) => break,
                }
            }
        });
        let mut cap = RunningCapture {
            spec,
            child: Some(child),
            stderr,
            reader: Some(reader),
        };
        let deadline = Instant::now() + limit;
        loop {
            let said_ready = cap
                .stderr_text()
                .lines()
                .any(|l| l.contains(cap.spec.ready_line));
            let file_ready = !cap.spec.ready_needs_file
                || std::fs::metadata(&cap.spec.file).is_ok_and(|m| m.len() >= 28);
            if said_ready && file_ready {
                return Ok(cap);
            }
            if let Some(status) = cap.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                return Err(format!(
                    "{} exited ({status}) before capturing: {}",
                    cap.spec.command_line(),
                    cap.stderr_text()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{} not ready after {limit:?}; stderr so far: {}",
                    cap.spec.command_line(),
                    cap.stderr_text()
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub(crate) fn stderr_text(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .join("\n")
    }

    /// Stops with SIGINT and waits (bounded) for the file to be flushed and
    /// closed. Returns the program's stderr.
    pub(crate) fn stop(self, limit: Duration) -> Result<String, String> {
        let child = self.child.as_ref().expect("capture running");
        // `ip netns exec` execs the program, so this pid is tcpdump's/dumpcap's.
        // SAFETY: kill(2) on our own, not yet reaped, child.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGINT);
        }
        self.wait_exit(limit, "after SIGINT")
    }

    /// Waits (bounded) for the program to end by itself (e.g. its own
    /// `--duration`), then checks it lost nothing. Returns its stderr.
    pub(crate) fn wait_exit(mut self, limit: Duration, why: &str) -> Result<String, String> {
        let mut child = self.child.take().expect("capture running");
        let deadline = Instant::now() + limit;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "{} did not stop within {limit:?} {why}",
                        self.spec.command_line()
                    ));
                }
            }
        };
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        let text = self.stderr_text();
        // tcpdump exits 0 on SIGINT; dumpcap too.
        if !status.success() {
            return Err(format!(
                "{} exited with {status}: {text}",
                self.spec.command_line()
            ));
        }
        check_counts(&text).map_err(|e| format!("{}: {e}", self.spec.command_line()))?;
        Ok(text)
    }
}

impl Drop for RunningCapture {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

fn leading_number(s: &str) -> Option<u64> {
    s.split_whitespace().next()?.parse().ok()
}

/// Every packet the capture's filter accepted was written, none dropped:
/// tcpdump's "N packets captured / N packets received by filter / 0 packets
/// dropped by kernel", dumpcap's "Packets captured: N" and "Packets
/// received/dropped on interface 'X': N/0".
pub(crate) fn check_counts(stderr: &str) -> Result<(), String> {
    let find = |pat: &str| stderr.lines().map(str::trim).find(|l| l.contains(pat));
    if let (Some(cap), Some(recv)) = (find("packets captured"), find("packets received by filter"))
    {
        let dropped = find("dropped by kernel").and_then(leading_number);
        let (c, r) = (leading_number(cap), leading_number(recv));
        if c.is_none() || c != r || dropped != Some(0) {
            return Err(format!("packets lost: {cap}; {recv}; dropped {dropped:?}"));
        }
        return Ok(());
    }
    if let (Some(cap), Some(recv)) = (find("Packets captured:"), find("Packets received/dropped")) {
        let c: Option<u64> = cap.rsplit(':').next().and_then(|x| x.trim().parse().ok());
        let counts = recv
            .split("': ")
            .nth(1)
            .and_then(|x| x.split_whitespace().next())
            .unwrap_or("");
        let mut it = counts.split('/').map(|x| x.parse::<u64>().ok());
        let (r, d) = (it.next().flatten(), it.next().flatten());
        if c.is_none() || c != r || d != Some(0) {
            return Err(format!("packets lost: {cap}; {recv}"));
        }
        return Ok(());
    }
    Err(format!("no packet counts on stderr: {stderr}"))
}

/// Epoch nanoseconds, as a capture timestamp.
pub(crate) fn epoch_ns(t: std::time::SystemTime) -> i128 {
    match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

pub(crate) fn secs_to_ns(s: f64) -> i128 {
    (s * 1e9).round() as i128
}

/// Copies the frames of `input` stamped at or after `from_epoch_s` into a new
/// nanosecond pcap `output` of the same link type. Returns (kept, dropped).
pub(crate) fn cut_capture(
    input: &Path,
    output: &Path,
    from_epoch_s: f64,
) -> Result<(usize, usize), String> {
    let from_ns = secs_to_ns(from_epoch_s);
    let mut cap = pcap::Capture::from_file_with_precision(input, pcap::Precision::Nano)
        .map_err(|e| format!("cannot read {}: {e}", input.display()))?;
    let link = LinkType::from_code(cap.get_datalink().0 as u16);
    let file = std::fs::File::create(output)
        .map_err(|e| format!("cannot write {}: {e}", output.display()))?;
    // The snapshot length of libpcap's dead handle: records are kept within
    // it (kawatch reads segment lengths from the IP header, not the record).
    let mut out = Writer::new(std::io::BufWriter::new(file), Format::PcapNano, link).snaplen(65535);
    let (mut kept, mut dropped) = (0usize, 0usize);
    loop {
        let packet = match cap.next_packet() {
            Ok(p) => p,
            Err(pcap::Error::NoMorePackets) => break,
            Err(e) => return Err(format!("reading {}: {e}", input.display())),
        };
        let ts = i128::from(packet.header.ts.tv_sec) * 1_000_000_000
            + i128::from(packet.header.ts.tv_usec);
        if ts < from_ns {
            dropped += 1;
            continue;
        }
        out.write_record(Timestamp(ts), packet.data, packet.header.len)
            .map_err(|e| format!("writing {}: {e}", output.display()))?;
        kept += 1;
    }
    out.finish()
        .map_err(|e| format!("flushing {}: {e}", output.display()))?;
    Ok((kept, dropped))
}
