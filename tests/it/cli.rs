//! The command line on bad and unusual input: clear errors on stderr with a
//! non-zero exit, never a panic; partial input still yields a report.

use crate::support::*;
use etherparse::PacketBuilder;
use kawatch::Timestamp;
use kawatch_synth::{Format, LinkType, Writer, T0};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A keepalive conversation: handshake, idle, probe, reply (Ethernet, IPv4).
fn frames() -> Vec<(f64, Vec<u8>)> {
    let c = ([198, 18, 0, 1], 40000u16);
    let s = ([198, 18, 0, 2], 5000u16);
    let pkt = |from_client: bool, seq: u32, ack: u32, syn: bool| {
        let (src, dst) = if from_client { (c, s) } else { (s, c) };
        let mut b = PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4(src.0, dst.0, 64)
            .tcp(src.1, dst.1, seq, 1000);
        if syn {
            b = b.syn();
        }
        if ack != 0 {
            b = b.ack(ack);
        }
        let mut out = Vec::new();
        b.write(&mut out, &[]).unwrap();
        out
    };
    vec![
        (0.0, pkt(true, 100, 0, true)),
        (0.001, pkt(false, 500, 101, true)),
        (0.002, pkt(true, 101, 501, false)),
        (2.05, pkt(true, 100, 501, false)),
        (2.051, pkt(false, 501, 101, false)),
    ]
}

/// `frames` (seconds after T0, Ethernet bytes) as a microsecond pcap of
/// `link`, its last `cut` bytes cut off. The snapshot length is libpcap's for
/// a dead handle (65535).
fn pcap(link: LinkType, frames: &[(f64, Vec<u8>)], cut: usize) -> Vec<u8> {
    let mut w = Writer::new(Vec::new(), Format::PcapMicro, link)
        .snaplen(65535)
        .cut_tail(cut);
    for (t, data) in frames {
        w.write(at(*t), data).unwrap();
    }
    w.finish().unwrap()
}

/// `t` seconds after T0, to the microsecond (as [`frames`] are written).
fn at(t: f64) -> Timestamp {
    let us = (t * 1e6).round() as i64;
    Timestamp(T0.0 + i128::from(us) * 1000)
}

fn write_pcap(path: &Path, link: LinkType, frames: &[(f64, Vec<u8>)]) {
    std::fs::write(path, pcap(link, frames, 0)).unwrap();
}

fn temp(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    (dir, path)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_clean_failure(o: &Output, needle: &str) {
    let err = stderr(o);
    assert!(
        !o.status.success(),
        "expected failure, got success; stderr: {err}"
    );
    assert!(!err.contains("panicked"), "panic: {err}");
    assert!(
        err.contains(needle),
        "stderr should mention {needle:?}: {err}"
    );
}

#[test]
fn bad_inputs_fail_clearly() {
    let (_d, dir) = temp("x");
    std::fs::create_dir(&dir).unwrap();
    let text = dir.join("notes.txt");
    std::fs::write(&text, "this is not a capture\n").unwrap();
    let empty = dir.join("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    let wifi = dir.join("wifi.pcap");
    write_pcap(&wifi, LinkType::Other(105), &[]); // IEEE 802.11
    let empty_gz = dir.join("empty.pcap.gz");
    // (gzip of nothing: a member holding no bytes.)
    std::fs::write(
        &empty_gz,
        [
            0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ],
    )
    .unwrap();
    let xz = dir.join("c.pcap.xz");
    std::fs::write(&xz, [0xfd, b'7', b'z', b'X', b'Z', 0, 0, 4]).unwrap();
    let gz_gz = dir.join("c.pcap.gz.gz");
    {
        use flate2::{write::GzEncoder, Compression};
        let mut inner = GzEncoder::new(Vec::new(), Compression::fast());
        inner
            .write_all(&pcap(LinkType::Ethernet, &frames(), 0))
            .unwrap();
        let mut outer = GzEncoder::new(Vec::new(), Compression::fast());
        outer.write_all(&inner.finish().unwrap()).unwrap();
        std::fs::write(&gz_gz, outer.finish().unwrap()).unwrap();
    }
    let gz = dir.join("c.pcap.gz");
    std::fs::write(&gz, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0]).unwrap();
    let good = dir.join("good.pcap");
    write_pcap(&good, LinkType::Ethernet, &frames());
    // A caplen libpcap refuses in the first record: nothing to report.
    let bad_first = dir.join("bad_first.pcap");
    std::fs::write(&bad_first, corrupt_record(Format::PcapMicro, 0)).unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let cases: Vec<(&str, Vec<String>, &str)> =
        vec![
        (
            "missing file",
            vec!["report".into(), "/nonexistent/x.pcap".into()],
            "cannot read /nonexistent/x.pcap",
        ),
        (
            "directory",
            vec!["report".into(), s(&dir)],
            "Is a directory",
        ),
        (
            "not a capture",
            vec!["report".into(), s(&text)],
            "not a pcap or pcapng capture",
        ),
        (
            "empty file",
            vec!["report".into(), s(&empty)],
            "is not a pcap or pcapng capture (it is empty)",
        ),
        (
            "empty gzip file",
            vec!["report".into(), s(&empty_gz)],
            "is not a pcap or pcapng capture (it is empty)",
        ),
        (
            "unsupported link type",
            vec!["report".into(), s(&wifi)],
            "link type 105",
        ),
        (
            "a file reader for a live capture",
            vec!["report".into(), "-i".into(), "lo".into(), "--reader".into(), "native".into()],
            "cannot be used with '--reader",
        ),
        // A negative value is read as the value it is, not as an option.
        (
            "a negative count",
            vec!["report".into(), "-c".into(), "-1".into(), s(&good)],
            "give a number of packets, 1 or more",
        ),
        (
            "a negative path timeout",
            vec!["report".into(), "--path-timeout".into(), "-5s".into(), s(&good)],
            "a timeout is more than 0",
        ),
        (
            "a negative check duration",
            vec!["check".into(), "--max-idle".into(), "-5s".into(), s(&good)],
            "\"-5s\": a duration is 0 or more",
        ),
        // A value forgotten: the next option is not taken for it.
        (
            "a duration forgotten before the next option",
            vec!["check".into(), "--max-idle".into(), "--require-keepalive".into(), s(&good)],
            "\"--require-keepalive\" is the next option, not a value",
        ),
        (
            "a plus and nothing",
            vec!["check".into(), "--max-idle".into(), "+".into(), s(&good)],
            "\"+\" is not a duration",
        ),
        (
            "standard input twice",
            vec!["report".into(), "-".into(), "-".into()],
            "standard input (`-`) is given more than once",
        ),
        (
            "a second capture after -r",
            vec!["report".into(), "-r".into(), s(&good), s(&good)],
            "is a file, read here as a word of the filter",
        ),
        (
            "xz-compressed",
            vec!["report".into(), s(&xz)],
            "it is xz-compressed, which kawatch does not read: decompress it first, e.g. `xz -dc",
        ),
        (
            "xz-compressed, given to libpcap",
            vec!["report".into(), "--reader".into(), "libpcap".into(), s(&xz)],
            "it is xz-compressed, which kawatch does not read",
        ),
        (
            "gzip of gzip",
            vec!["report".into(), s(&gz_gz)],
            "it is gzip-compressed twice",
        ),
        (
            "gzip that does not decompress",
            vec!["report".into(), s(&gz)],
            "begins as gzip but does not decompress",
        ),
        (
            "gzip given to libpcap",
            vec!["report".into(), "--reader".into(), "libpcap".into(), s(&gz)],
            "leave out --reader libpcap",
        ),
        (
            "bad filter",
            vec![
                "report".into(),
                s(&good),
                "tcp".into(),
                "port".into(),
                "banana".into(),
            ],
            "bad filter",
        ),
        (
            "no capture given",
            vec!["report".into()],
            "no capture given",
        ),
        (
            "duration without interface",
            vec!["report".into(), "-d".into(), "5".into(), s(&good)],
            "--duration goes with --interface",
        ),
        (
            "bad duration",
            vec![
                "report".into(),
                "-i".into(),
                "lo".into(),
                "-d".into(),
                "5 parsecs".into(),
            ],
            "unknown unit",
        ),
        (
            "bad format",
            vec!["report".into(), "--format".into(), "xml".into(), s(&good)],
            "xml",
        ),
        (
            "unknown interface",
            vec![
                "report".into(),
                "-i".into(),
                "nosuch0".into(),
                "-d".into(),
                "1".into(),
            ],
            "nosuch0",
        ),
        (
            "no such network namespace",
            vec![
                "sockets".into(),
                "--netns".into(),
                "kawatch-no-such-ns".into(),
            ],
            "cannot enter network namespace /run/netns/kawatch-no-such-ns",
        ),
        (
            "--netns with a file",
            vec!["report".into(), "--netns".into(), "x".into(), s(&good)],
            "--netns or --pid goes with --interface",
        ),
        (
            "snap length with a file",
            vec!["report".into(), "-s".into(), "100".into(), s(&good)],
            "--snaplen goes with --interface",
        ),
        // Sizes as tcpdump takes them (the value is read before the file
        // is found to want none).
        (
            "snap length 0 (the most) with a file",
            vec!["report".into(), "-s".into(), "0".into(), s(&good)],
            "--snaplen goes with --interface",
        ),
        (
            "buffer size in MiB with a file",
            vec!["report".into(), "--buffer-size".into(), "32MiB".into(), s(&good)],
            "--buffer-size goes with --interface",
        ),
        (
            "buffer size in an unknown unit",
            vec!["report".into(), "--buffer-size".into(), "32MB".into(), s(&good)],
            "in bytes or with KiB, MiB or GiB",
        ),
        (
            "sockets: bad port",
            vec!["sockets".into(), "--port".into(), "http".into()],
            "http",
        ),
        (
            "corrupt before the first frame",
            vec!["report".into(), s(&bad_first)],
            "the first packet cannot be read (invalid packet capture length",
        ),
    ];
    for (name, args, needle) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = run(&args);
        assert_clean_failure(&o, needle);
        eprintln!("ok: {name}");
    }
    // Standard input is told apart as a file is, by either reader (libpcap
    // said "unknown file format" of a compressed stream, and "truncated
    // dump file" of an empty one).
    for (input, reader, needle) in [
        (
            &xz,
            "native",
            "- is not a pcap or pcapng capture (it is xz-compressed",
        ),
        (
            &xz,
            "libpcap",
            "- is not a pcap or pcapng capture (it is xz-compressed",
        ),
        (
            &gz,
            "libpcap",
            "- is gzip-compressed, which libpcap does not read",
        ),
        (
            &empty,
            "native",
            "- is not a pcap or pcapng capture (it is empty)",
        ),
        (
            &empty,
            "libpcap",
            "- is not a pcap or pcapng capture (it is empty)",
        ),
    ] {
        let o = kawatch()
            .args(["report", "--reader", reader, "-"])
            .stdin(std::fs::File::open(input).unwrap())
            .output()
            .unwrap();
        assert_clean_failure(&o, needle);
        eprintln!("ok: {} on standard input, {reader}", input.display());
    }
}

#[test]
fn report_formats_agree() {
    let (_d, path) = temp("ka.pcap");
    write_pcap(&path, LinkType::Ethernet, &frames());
    let p = path.to_str().unwrap();
    let json: Value =
        serde_json::from_slice(&run(&["report", "--format", "json", p]).stdout).unwrap();
    assert_eq!(json["kawatch_report"], 1);
    assert_eq!(json["source"]["frames"], 5);
    let flow = &json["flows"][0];
    assert_eq!(
        (flow["a"].as_str(), flow["b"].as_str()),
        (Some("198.18.0.1:40000"), Some("198.18.0.2:5000"))
    );
    let ka = &flow["keepalive"][0];
    assert_eq!(
        (ka["prober"].as_str(), ka["outcome"].as_str()),
        (Some("198.18.0.1:40000"), Some("alive"))
    );
    assert_eq!(ka["likely"]["idle_s"], 2);

    let csv = String::from_utf8(run(&["report", "--format", "csv", p]).stdout).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[0].starts_with("a,b,vlan,prober,probes_sent"));
    assert!(
        lines[0].ends_with(
            ",partial,longest_silence_s,allowed_silence_s,heartbeats,path,probes_too_soon"
        ),
        "{csv}"
    );
    // Its silences and what keeps it alive: keepalive idle 2 s, safe on
    // every default path, as the JSON says.
    assert_eq!(flow["silence"]["allowed_s"], 2.0);
    let verdicts: Vec<String> = flow["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{}={}",
                p["name"].as_str().unwrap(),
                p["verdict"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        verdicts.join("/"),
        "azure-lb=safe/aws-nlb=safe/gcp-fw=safe/rfc5382=safe"
    );
    assert!(
        lines[1].ends_with(&format!(",false,2.048,2,,{},0", verdicts.join("/"))),
        "{csv}"
    );
    assert!(
        lines[1].starts_with(
            "198.18.0.1:40000,198.18.0.2:5000,,198.18.0.1:40000,1,1,0,2.049,,,alive,2"
        ),
        "{csv}"
    );
    let fields = |l: &str| l.split(',').count();
    assert_eq!(fields(lines[0]), fields(lines[1]), "{csv}");

    let events = String::from_utf8(run(&["report", "--format", "events", p]).stdout).unwrap();
    let kinds: Vec<(u64, String)> = events
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|e| {
            (
                e["frame"].as_u64().unwrap(),
                e["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [(4, "probe".to_string()), (5, "probe_ack".to_string())]
    );

    let table = String::from_utf8(run(&["report", p]).stdout).unwrap();
    assert!(
        table.contains("198.18.0.1:40000") && table.contains("alive") && table.contains("2s/?/?"),
        "{table}"
    );
}

#[test]
fn filter_applies_to_files() {
    let (_d, path) = temp("ka.pcap");
    write_pcap(&path, LinkType::Ethernet, &frames());
    let p = path.to_str().unwrap();
    let all: Value = serde_json::from_slice(
        &run(&["report", "--format", "json", p, "tcp", "port", "5000"]).stdout,
    )
    .unwrap();
    assert_eq!(all["source"]["frames"], 5);
    let none: Value = serde_json::from_slice(
        &run(&["report", "--format", "json", p, "tcp", "port", "443"]).stdout,
    )
    .unwrap();
    assert_eq!(none["source"]["frames"], 0);
    assert_eq!(none["flows"], serde_json::json!([]));
}

#[test]
fn standard_input_is_read_with_dash() {
    let (_d, path) = temp("ka.pcap");
    write_pcap(&path, LinkType::Ethernet, &frames());
    for reader in ["native", "libpcap"] {
        let mut child = kawatch()
            .args(["report", "--format", "json", "--reader", reader, "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(&std::fs::read(&path).unwrap())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{reader}: {}", stderr(&out));
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            (r["source"]["name"].as_str(), r["source"]["frames"].as_u64()),
            (Some("-"), Some(5)),
            "{reader}"
        );
    }
}

#[test]
fn a_file_cut_mid_packet_reports_what_was_read_and_warns() {
    let (_d, path) = temp("cut.pcap");
    std::fs::write(&path, pcap(LinkType::Ethernet, &frames(), 20)).unwrap();
    let o = run(&["report", "--format", "json", path.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning") && stderr(&o).contains("middle of a packet"),
        "{}",
        stderr(&o)
    );
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (
            r["source"]["frames"].as_u64(),
            r["source"]["truncated"].as_bool()
        ),
        (Some(4), Some(true))
    );
    assert_eq!(
        r["flows"][0]["keepalive"][0]["probes_sent"], 1,
        "the probe before the cut is reported"
    );
}

#[test]
fn no_arguments_prints_help_not_a_panic() {
    let o = run(&["--help"]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("report"));
}

/// `frames()` as a `format` file with record `n` (0-based) made unreadable:
/// a pcap record's captured length, or a pcapng block's total length, far
/// beyond what libpcap accepts (it refuses them with an error, not as a
/// file cut short).
fn corrupt_record(format: Format, n: usize) -> Vec<u8> {
    let mut w = Writer::new(Vec::new(), format, LinkType::Ethernet).snaplen(65535);
    for (t, data) in frames() {
        let us = (t * 1e6).round() as i128;
        w.write(Timestamp(T0.0 + us * 1000), &data).unwrap();
    }
    let mut bytes = w.finish().unwrap();
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let mut records = Vec::new();
    match format {
        Format::PcapMicro | Format::PcapNano => {
            let mut pos = 24;
            while pos + 16 <= bytes.len() {
                records.push(pos + 8); // caplen
                pos += 16 + u32_at(&bytes, pos + 8) as usize;
            }
        }
        Format::Pcapng { .. } => {
            let mut pos = 0;
            while pos + 8 <= bytes.len() {
                if u32_at(&bytes, pos) == 6 {
                    records.push(pos + 4); // an EPB's total length
                }
                pos += u32_at(&bytes, pos + 4) as usize;
            }
        }
    }
    assert_eq!(records.len(), frames().len(), "every record found");
    bytes[records[n]..records[n] + 4].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    bytes
}

/// Waits for `child` to exit, at most `limit`; kills it and gives `None`
/// when it does not.
fn exit_within(mut child: Child, limit: Duration) -> Option<Output> {
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(child.wait_with_output().unwrap())
}

/// `kawatch ARGS` with its output captured and stdin closed.
fn spawn(args: &[&str]) -> Child {
    kawatch()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Sends SIGINT to `child` once it has run for 300 ms and sleeps (blocked
/// reading its input), or after 5 s at the latest.
fn ctrl_c_when_blocked(child: &Child) {
    signal_when_blocked(child, "INT");
}

/// Sends `kill -SIGNAL` to `child` once it has run for 300 ms and sleeps,
/// or after 5 s at the latest.
fn signal_when_blocked(child: &Child, signal: &str) {
    let started = Instant::now();
    let stat = format!("/proc/{}/stat", child.id());
    let sleeping = || {
        std::fs::read_to_string(&stat).is_ok_and(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('S'))
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    while !sleeping() && started.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    // Let the read that blocks settle in.
    std::thread::sleep(Duration::from_millis(100));
    let sent = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -{signal} failed");
}

/// Sends `signal` to `child` with kill(2): at once, where a kill(1) may
/// be slow to start on a busy machine.
fn send_signal(child: &Child, signal: libc::c_int) {
    #[allow(unsafe_code)]
    // SAFETY: kill(2) on the pid of a child not yet waited for.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
}

/// Waits until `child` has taken `signal`, sent to it: pending neither for
/// the process nor for a thread (`/proc/PID/status`); 5 s at most.
fn until_taken(child: &Child, signal: libc::c_int) {
    let bit = 1u64 << (signal - 1);
    let status = format!("/proc/{}/status", child.id());
    let pending = || {
        std::fs::read_to_string(&status).is_ok_and(|s| {
            s.lines()
                .filter_map(|l| l.strip_prefix("SigPnd:").or(l.strip_prefix("ShdPnd:")))
                .any(|mask| u64::from_str_radix(mask.trim(), 16).is_ok_and(|m| m & bit != 0))
        })
    };
    let began = Instant::now();
    while pending() && began.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Waits until `stdout`, a pipe from kawatch this test does not read, is
/// full: kawatch has read its input and is blocked writing its report.
/// 10 s at most.
fn until_full(stdout: &std::process::ChildStdout) {
    use std::os::fd::AsRawFd;
    let fd = stdout.as_raw_fd();
    let size_and_queued = || {
        let mut queued: libc::c_int = 0;
        #[allow(unsafe_code)]
        // SAFETY: fcntl(2) and ioctl(2) on an open pipe; FIONREAD writes
        // one c_int.
        let size = unsafe {
            libc::ioctl(fd, libc::FIONREAD, &mut queued);
            libc::fcntl(fd, libc::F_GETPIPE_SZ)
        };
        (size, queued)
    };
    let began = Instant::now();
    loop {
        let (size, queued) = size_and_queued();
        // Full but for a page at most: the tail of one write may sit in a
        // page of its own.
        if (size > 0 && queued > size - 4096) || began.elapsed() > Duration::from_secs(10) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(made.success(), "mkfifo {}", path.display());
}

/// Lets a writer blocked opening `fifo` (its reader never came) go on.
fn release_writer(fifo: &Path) {
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(fifo);
}

/// A filter that left out every record before the damaged one: still
/// damage after 4 records read, not at the start (no exit 3, no "first
/// packet cannot be read").
#[test]
fn a_corrupt_record_after_records_a_filter_left_out_is_no_damage_at_the_start() {
    for format in [Format::PcapMicro, Format::Pcapng { tsresol: 6 }] {
        let (_d, path) = temp("corrupt-filtered");
        std::fs::write(&path, corrupt_record(format, 4)).unwrap();
        let o = run(&[
            "report",
            "--format",
            "json",
            path.to_str().unwrap(),
            "port 1",
        ]);
        assert!(o.status.success(), "{format:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("cannot be read past packet 4"),
            "{format:?}: {}",
            stderr(&o)
        );
        let r: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(
            (
                r["source"]["frames"].as_u64(),
                r["source"]["truncated"].as_bool()
            ),
            (Some(0), Some(true)),
            "{format:?}"
        );
    }
}

#[test]
fn a_corrupt_record_mid_file_reports_what_was_read_and_warns() {
    for format in [Format::PcapMicro, Format::Pcapng { tsresol: 6 }] {
        let (_d, path) = temp("corrupt");
        std::fs::write(&path, corrupt_record(format, 4)).unwrap();
        let p = path.to_str().unwrap();
        let o = run(&["report", "--format", "json", p]);
        assert!(o.status.success(), "{format:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("warning:") && stderr(&o).contains("cannot be read past packet 4"),
            "{format:?}: {}",
            stderr(&o)
        );
        let r: Value = serde_json::from_slice(&o.stdout).unwrap();
        let src = &r["source"];
        assert_eq!(
            (
                src["frames"].as_u64(),
                src["truncated"].as_bool(),
                src["interrupted"].as_bool()
            ),
            (Some(4), Some(true), Some(false)),
            "{format:?}: {src}"
        );
        let reason = src["truncated_reason"].as_str().unwrap_or_default();
        assert!(
            reason.starts_with("unreadable after packet 4: "),
            "{format:?}: {reason}"
        );
        assert_eq!(
            r["flows"][0]["keepalive"][0]["probes_sent"], 1,
            "{format:?}: the probe before the bad record is reported"
        );
        let table = String::from_utf8(run(&["report", p]).stdout).unwrap();
        assert!(
            table
                .lines()
                .next()
                .is_some_and(|l| l.contains("4 frames") && l.contains("unreadable after packet 4")),
            "{format:?}: {table}"
        );
    }
    // A file cut off mid-packet says so in the same field.
    let (_d, path) = temp("cut.pcap");
    std::fs::write(&path, pcap(LinkType::Ethernet, &frames(), 20)).unwrap();
    let r = report_json(&path);
    let reason = r["source"]["truncated_reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("cut off in the middle of a packet: "),
        "{reason}"
    );
    // A whole file: no reason, not interrupted.
    let (_d, path) = temp("ka.pcap");
    write_pcap(&path, LinkType::Ethernet, &frames());
    let r = report_json(&path);
    assert_eq!(r["source"]["truncated_reason"], Value::Null);
    assert_eq!(r["source"]["interrupted"], false);
}

#[test]
fn a_fifo_is_opened_once() {
    let (_d, fifo) = temp("capture.fifo");
    mkfifo(&fifo);
    let bytes = pcap(LinkType::Ethernet, &frames(), 0);
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(&fifo, &bytes))
    };
    let child = spawn(&["report", "--format", "json", fifo.to_str().unwrap()]);
    let out = exit_within(child, Duration::from_secs(10));
    release_writer(&fifo);
    let _ = writer.join();
    let out = out.expect("kawatch report FIFO did not finish within 10 s");
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["source"]["frames"], 5, "{r}");
    assert_eq!(r["source"]["truncated"], false);
}

#[test]
fn process_substitution_is_read() {
    let (_d, path) = temp("ka.pcap");
    write_pcap(&path, LinkType::Ethernet, &frames());
    let child = Command::new("bash")
        .args([
            "-c",
            r#"exec "$0" report --format json <(cat "$1")"#,
            env!("CARGO_BIN_EXE_kawatch"),
            path.to_str().unwrap(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = exit_within(child, Duration::from_secs(10))
        .expect("kawatch report <(cat FILE) did not finish within 10 s");
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["source"]["frames"], 5, "{r}");
    assert!(
        r["source"]["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("/dev/fd/")),
        "{r}"
    );
}

/// The header and the first four frames of `frames()`: a writer that then
/// stalls.
fn first_four_frames() -> Vec<u8> {
    let all = pcap(LinkType::Ethernet, &frames(), 0);
    let last = frames().last().map_or(0, |(_, f)| f.len());
    all[..all.len() - 16 - last].to_vec()
}

/// Starts `cmd` reading standard input, a pipe that gets
/// [`first_four_frames`] and is then kept open, silent; the pipe's end is
/// handed back, to drop once the child has exited.
fn on_a_stalled_pipe(cmd: &mut Command) -> (Child, std::process::ChildStdin) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&first_four_frames()).unwrap();
    stdin.flush().unwrap();
    (child, stdin)
}

#[test]
fn ctrl_c_on_a_stalled_pipe_reports_what_was_read() {
    stopped_on_a_stalled_pipe_reports_what_was_read("INT");
}

/// As tcpdump: `kill` (SIGTERM) and a closed terminal (SIGHUP) stop a
/// capture as Ctrl-C does, with the report of what was read.
#[test]
fn sigterm_and_sighup_report_what_was_read_as_ctrl_c_does() {
    for signal in ["TERM", "HUP"] {
        stopped_on_a_stalled_pipe_reports_what_was_read(signal);
    }
}

fn stopped_on_a_stalled_pipe_reports_what_was_read(signal: &str) {
    let (child, stdin) = on_a_stalled_pipe(kawatch().args(["report", "--format", "json", "-"]));
    signal_when_blocked(&child, signal);
    let out = exit_within(child, Duration::from_secs(5))
        .unwrap_or_else(|| panic!("kawatch report - ignored SIG{signal} on a stalled pipe"));
    drop(stdin);
    assert_stopped_with_the_report(&out, &format!("SIG{signal}"));
}

/// A stop delivered twice at once is one stop: `timeout(1)` signals its
/// command and then the command's process group, so a script's `timeout 60
/// kawatch report ...` sends its SIGTERM twice, microseconds apart. kawatch
/// reports what it read, as for one; only a second signal from a tenth of a
/// second after the first exits at once ([`a_second_ctrl_c_exits_at_once`]).
#[test]
fn a_stop_signalled_twice_at_once_still_reports() {
    // Twice while kawatch writes a report to a pipe not read yet, the
    // second as soon as the first is taken: the first has been handled
    // when the second comes, and kawatch is still there to take it.
    let (_d, path) = temp("many.pcap");
    write_pcap(&path, LinkType::Ethernet, &many_syns(3000));
    let mut child = spawn(&["report", "--format", "json", path.to_str().unwrap()]);
    let mut stdout = child.stdout.take().expect("piped");
    until_full(&stdout);
    send_signal(&child, libc::SIGTERM);
    until_taken(&child, libc::SIGTERM);
    send_signal(&child, libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the same stop twice is one stop: the report is still being written"
    );
    let reader = std::thread::spawn(move || {
        let mut report = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut report).unwrap();
        report
    });
    let out = exit_within(child, Duration::from_secs(10)).expect("kawatch report finishes");
    let report: Value = serde_json::from_slice(&reader.join().unwrap()).expect("a whole report");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(report["flows"].as_array().map(Vec::len), Some(3000));
    // As a CI job's timeout sends it (its status kawatch's).
    let (child, stdin) = on_a_stalled_pipe(
        Command::new("timeout")
            .args(["--preserve-status", "-s", "TERM", "3"])
            .arg(env!("CARGO_BIN_EXE_kawatch"))
            .args(["report", "--format", "json", "-"]),
    );
    let out = exit_within(child, Duration::from_secs(10)).expect("timeout(1) did not stop kawatch");
    drop(stdin);
    assert_stopped_with_the_report(&out, "timeout -s TERM");
}

/// `out` is a report stopped after the stalled pipe's four frames, exit 0.
fn assert_stopped_with_the_report(out: &Output, how: &str) {
    assert_eq!(out.status.code(), Some(0), "{how}: {}", stderr(out));
    assert!(
        stderr(out).contains("warning: interrupted after 4 packets"),
        "{}",
        stderr(out)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            r["source"]["frames"].as_u64(),
            r["source"]["interrupted"].as_bool(),
            r["source"]["truncated"].as_bool()
        ),
        (Some(4), Some(true), Some(false)),
        "{}",
        r["source"]
    );
    assert_eq!(r["flows"][0]["keepalive"][0]["probes_sent"], 1);
}

#[test]
fn ctrl_c_before_a_capture_header_says_nothing_was_read() {
    let mut child = kawatch()
        .args(["report", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    ctrl_c_when_blocked(&child);
    let out = exit_within(child, Duration::from_secs(5))
        .expect("kawatch report - ignored Ctrl-C while waiting for a header");
    drop(stdin);
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("interrupted before a capture header was read from -"),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty(), "no report");
}

/// Ctrl-C stops a read of FIFOs whose writers fell silent, with the report
/// of what was read: one FIFO; with `-U` (whose reader wakes every quarter
/// second to write what waited); and two merged with `-U`.
#[test]
fn ctrl_c_on_a_stalled_fifo_reports_what_was_read() {
    let cases: [(&str, &[&str], usize); 3] = [
        ("one FIFO", &[], 1),
        ("-U", &["-U", "-w", "WRITE"], 1),
        ("--merge -U", &["--merge", "-U", "-w", "WRITE"], 2),
    ];
    for (name, args, fifos) in cases {
        let dir = tempfile::tempdir().unwrap();
        let written = dir.path().join("labelled.pcapng");
        let paths: Vec<PathBuf> = (0..fifos)
            .map(|i| dir.path().join(format!("stalled{i}.fifo")))
            .collect();
        let (done, wait) = std::sync::mpsc::channel::<()>();
        let wait = std::sync::Arc::new(std::sync::Mutex::new(wait));
        let (written_tx, written_rx) = std::sync::mpsc::channel::<()>();
        let writers: Vec<_> = paths
            .iter()
            .map(|fifo| {
                mkfifo(fifo);
                let (fifo, wait) = (fifo.clone(), std::sync::Arc::clone(&wait));
                let written = written_tx.clone();
                std::thread::spawn(move || {
                    let mut f = std::fs::OpenOptions::new().write(true).open(&fifo)?;
                    f.write_all(&first_four_frames())?;
                    let _ = written.send(());
                    // Held open, silent, until the test is done.
                    let _ = wait.lock().unwrap().recv_timeout(Duration::from_secs(20));
                    std::io::Result::Ok(())
                })
            })
            .collect();
        let mut argv = vec!["report"];
        argv.extend(args.iter().map(|&a| {
            if a == "WRITE" {
                written.to_str().unwrap()
            } else {
                a
            }
        }));
        argv.extend(paths.iter().map(|p| p.to_str().unwrap()));
        let child = spawn(&argv);
        // Every FIFO's frames written (kawatch opens them one by one), and
        // kawatch blocked on the silence after them.
        for _ in 0..fifos {
            let _ = written_rx.recv_timeout(Duration::from_secs(10));
        }
        ctrl_c_when_blocked(&child);
        let out = exit_within(child, Duration::from_secs(5));
        for _ in 0..fifos {
            let _ = done.send(());
        }
        for fifo in &paths {
            release_writer(fifo);
        }
        for w in writers {
            let _ = w.join();
        }
        let out = out.unwrap_or_else(|| panic!("{name}: Ctrl-C ignored on a silent writer"));
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        // Merged, each input's next frame is read ahead to choose the
        // earliest. The stop comes while the first FIFO is read: the
        // others' frames read ahead are left out (the first's next could
        // have come before them), and the warning counts them.
        let held = fifos - 1;
        let frames = 4 * fifos - held;
        let table = String::from_utf8_lossy(&out.stdout);
        let summary = table.lines().next().unwrap_or_default();
        assert!(
            summary.contains(&format!("{frames} frames")) && summary.contains("interrupted"),
            "{name}: {table}"
        );
        assert!(
            stderr(&out).contains(&format!("warning: interrupted after {frames} packets")),
            "{name}: {}",
            stderr(&out)
        );
        assert_eq!(
            stderr(&out).contains(&format!("{held} packet read ahead")),
            held > 0,
            "{name}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn absurd_durations_are_usage_errors() {
    let (_d, path) = temp("ka.pcap");
    write_pcap(&path, LinkType::Ethernet, &frames());
    for d in ["99999999999999999999", "1e300s", "inf", "nan", "87601h"] {
        let o = run(&["report", "-d", d, path.to_str().unwrap()]);
        let err = stderr(&o);
        assert!(!err.contains("panicked"), "-d {d}: {err}");
        assert_eq!(o.status.code(), Some(2), "-d {d}: {err}");
        assert!(
            err.contains("the longest duration accepted is 87600h"),
            "-d {d}: {err}"
        );
    }
}

/// Keepalive conversations one after another, 20 s apart, each a handshake
/// and a probe 10 s later, answered: client 198.18.0.1:(40000 + i), server
/// 198.18.0.2:5000. With `comeback`, the first one probes again at 200 s.
fn keepalive_flows(n: u16, comeback: bool) -> Vec<(f64, Vec<u8>)> {
    let pkt = |port: u16, from_client: bool, seq: u32, ack: u32, syn: bool| {
        let (c, s) = (([198, 18, 0, 1], port), ([198, 18, 0, 2], 5000u16));
        let (src, dst) = if from_client { (c, s) } else { (s, c) };
        let mut b = PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4(src.0, dst.0, 64)
            .tcp(src.1, dst.1, seq, 1000);
        if syn {
            b = b.syn();
        }
        if ack != 0 {
            b = b.ack(ack);
        }
        let mut out = Vec::new();
        b.write(&mut out, &[]).unwrap();
        out
    };
    let mut frames = Vec::new();
    for i in 0..n {
        let (port, t) = (40000 + i, 20.0 * f64::from(i));
        frames.extend([
            (t, pkt(port, true, 100, 0, true)),
            (t + 0.001, pkt(port, false, 500, 101, true)),
            (t + 0.002, pkt(port, true, 101, 501, false)),
            (t + 10.0, pkt(port, true, 100, 501, false)),
            (t + 10.001, pkt(port, false, 501, 101, false)),
        ]);
    }
    if comeback {
        frames.extend([
            (200.0, pkt(40000, true, 100, 501, false)),
            (200.001, pkt(40000, false, 501, 101, false)),
        ]);
    }
    frames
}

/// The client ports of a JSON report's flows, and whether each is partial.
fn listed(r: &Value) -> Vec<(u64, bool)> {
    r["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let a = f["a"].as_str().unwrap();
            let port = a.rsplit(':').next().unwrap().parse().unwrap();
            (port, f["partial"].as_bool().unwrap())
        })
        .collect()
}

#[test]
fn keepalive_flows_beyond_the_bounds_are_counted_and_warned_of() {
    let (_d, path) = temp("six.pcap");
    write_pcap(&path, LinkType::Ethernet, &keepalive_flows(6, false));
    let p = path.to_str().unwrap();

    // Two flows in the table and one kept: of six, three are lost.
    let out = run(&[
        "report",
        "--format",
        "json",
        "--max-flows",
        "2",
        "--max-retired",
        "1",
        p,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["source"]["keepalive_flows_lost"], 3, "{:#}", r["source"]);
    assert_eq!(listed(&r), [(40003, false), (40004, false), (40005, false)]);
    let err = stderr(&out);
    assert!(
        err.contains("warning: 3 flows with keepalives")
            && err.contains("raise --max-retired or --max-flows"),
        "{err}"
    );

    // Unbounded: all six, and nothing to warn of.
    let out = run(&["report", "--format", "json", p]);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["source"]["keepalive_flows_lost"], 0);
    assert_eq!(listed(&r).len(), 6);
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));

    for bad in ["-1", "many", ""] {
        let o = run(&["report", "--max-retired", bad, p]);
        assert_eq!(
            o.status.code(),
            Some(2),
            "--max-retired {bad:?}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn a_flow_back_after_its_record_was_lost_is_marked_partial() {
    let (_d, path) = temp("comeback.pcap");
    write_pcap(&path, LinkType::Ethernet, &keepalive_flows(8, true));
    let p = path.to_str().unwrap();
    let bounds = ["--max-flows", "4", "--max-retired", "1"];

    // Of eight, 40000-40002 are lost and 40003 kept; 40000 comes back,
    // 40004 is kept and 40003 lost: 40000 is listed as a fragment.
    let out = run(&[&["report", "--format", "json"], &bounds[..], &[p]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["source"]["keepalive_flows_lost"], 4, "{:#}", r["source"]);
    assert_eq!(
        listed(&r),
        [
            (40004, false),
            (40005, false),
            (40006, false),
            (40007, false),
            (40000, true),
        ]
    );

    // The table says so too, and the CSV marks the fragment.
    let out = run(&[&["report"], &bounds[..], &[p]].concat());
    let table = String::from_utf8(out.stdout).unwrap();
    let summary = table.lines().next().unwrap();
    assert!(
        summary.contains("4 more lost") && summary.contains("1 partial"),
        "{table}"
    );
    let out = run(&[&["report", "--format", "csv"], &bounds[..], &[p]].concat());
    let csv = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows.iter().all(|r| r.split(',').count() == 25), "{csv}");
    assert!(
        rows[5].starts_with("198.18.0.1:40000,") && rows[5].split(',').nth(19) == Some("true"),
        "{csv}"
    );
}

/// A capture of `n` connections that only say SYN: a report of them is
/// large (a few hundred bytes of JSON each).
fn many_syns(n: u16) -> Vec<(f64, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let mut out = Vec::new();
            PacketBuilder::ethernet2([1; 6], [2; 6])
                .ipv4([198, 18, 0, 1], [198, 18, 0, 2], 64)
                .tcp(10_000 + i, 5000, 100, 1000)
                .syn()
                .write(&mut out, &[])
                .unwrap();
            (f64::from(i) * 0.001, out)
        })
        .collect()
}

/// A second Ctrl-C exits at once with 130, whatever kawatch waits on: here
/// writing a report to a pipe nobody reads (a write that a signal
/// interrupts is retried, so the first Ctrl-C cannot end that wait).
#[test]
fn a_second_ctrl_c_exits_at_once() {
    let (_d, path) = temp("many.pcap");
    write_pcap(&path, LinkType::Ethernet, &many_syns(3000));
    let mut child = spawn(&["report", "--format", "json", path.to_str().unwrap()]);
    // Its standard output is a pipe this test never reads: the report
    // (more than a pipe holds) blocks in a write.
    let stdout = child.stdout.take().expect("piped");
    until_full(&stdout);
    send_signal(&child, libc::SIGINT);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the first Ctrl-C asks to stop reading; the write goes on"
    );
    send_signal(&child, libc::SIGINT);
    let out = exit_within(child, Duration::from_secs(5))
        .expect("kawatch ignored a second Ctrl-C while blocked writing");
    drop(stdout);
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
}

/// A check that a signal cuts short (a CI job's `timeout` sends SIGTERM)
/// writes its result of what was read but is no pass: exit 130,
/// `"passed": false, "interrupted": true`, and a failed JUnit case.
#[test]
fn a_check_cut_short_by_a_signal_does_not_pass() {
    let (_d, junit) = temp("junit.xml");
    // The probe is in what was read.
    let (child, stdin) = on_a_stalled_pipe(
        kawatch()
            .args(["check", "--require-keepalive", "-T", "json", "--junit"])
            .arg(&junit)
            .arg("-"),
    );
    signal_when_blocked(&child, "TERM");
    let out = exit_within(child, Duration::from_secs(5)).expect("kawatch check ignored SIGTERM");
    drop(stdin);
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (r["passed"].as_bool(), r["interrupted"].as_bool()),
        (Some(false), Some(true)),
        "{r:#}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("read whole") && xml.contains("interrupted before the end"),
        "{xml}"
    );
}

/// pcapng simple packet blocks carry no time: their packets are read (at
/// time 0), and a warning says how many and what that means for timing;
/// a file with none says nothing of them.
#[test]
fn packets_with_no_time_are_read_and_warned_of() {
    let (_d, dir) = temp("x");
    std::fs::create_dir(&dir).unwrap();
    let fr = frames();
    // The first three with their times, the last two in simple packet blocks.
    let mut w = Writer::new(
        Vec::new(),
        Format::Pcapng { tsresol: 6 },
        LinkType::Ethernet,
    );
    for (i, (t, data)) in fr.iter().enumerate() {
        if i < 3 {
            w.write(at(*t), data).unwrap();
        } else {
            w.write_simple(data).unwrap();
        }
    }
    let mixed = dir.join("spb.pcapng");
    std::fs::write(&mixed, w.finish().unwrap()).unwrap();
    let out = kawatch()
        .args(["report", "--format", "json"])
        .arg(&mixed)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("2 packets came in pcapng simple packet blocks, which carry no time"),
        "{err}"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["source"]["frames"], 5, "every packet read");

    let timed = dir.join("timed.pcap");
    write_pcap(&timed, LinkType::Ethernet, &fr);
    let out = kawatch().arg("report").arg(&timed).output().unwrap();
    assert!(out.status.success());
    assert!(!stderr(&out).contains("simple packet"), "{}", stderr(&out));

    // Merged with another file: said once, when the file ends.
    let out = kawatch()
        .args(["report", "--merge"])
        .arg(&mixed)
        .arg(&timed)
        .output()
        .unwrap();
    assert_eq!(
        stderr(&out).matches("simple packet blocks").count(),
        1,
        "{}",
        stderr(&out)
    );
    // And a check's result carries it, as its other warnings.
    let out = kawatch()
        .args(["check", "-T", "json", "--require-keepalive"])
        .arg(&mixed)
        .output()
        .unwrap();
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    let warnings = result["warnings"].to_string();
    assert!(warnings.contains("simple packet blocks"), "{warnings}");
}

/// A standard error nobody reads (a pipe whose reader left) loses the
/// messages, never the exit status: the same as with one read, and no
/// panic (101), for an error as for a warning.
#[test]
fn a_closed_stderr_keeps_the_exit_status() {
    let (_d, dir) = temp("x");
    std::fs::create_dir(&dir).unwrap();
    let cut = dir.join("cut.pcap");
    std::fs::write(&cut, pcap(LinkType::Ethernet, &frames(), 10)).unwrap();
    let cases: [(&str, Vec<&std::ffi::OsStr>); 3] = [
        (
            "missing file",
            vec!["report".as_ref(), "/nonexistent/x.pcap".as_ref()],
        ),
        ("a warning", vec!["report".as_ref(), cut.as_os_str()]),
        (
            "check with a warning",
            vec![
                "check".as_ref(),
                "--require-keepalive".as_ref(),
                cut.as_os_str(),
            ],
        ),
    ];
    for (name, args) in cases {
        let heard = kawatch().args(&args).output().unwrap();
        assert!(!heard.stderr.is_empty(), "{name}: something to say");
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let unheard = kawatch()
            .args(&args)
            .stdout(Stdio::null())
            .stderr(writer)
            .status()
            .unwrap();
        assert_eq!(unheard.code(), heard.status.code(), "{name}");
    }
}

/// `check`'s result to a reader that left (`| head`) keeps the status the
/// rules gave, quietly; to a full disk it is an error that says what was
/// being written (exit 5).
#[test]
fn check_output_closed_or_full() {
    let alive = crate::fixtures::crate_root().join("fixtures/synth/alive.pcap");
    for (rule, want) in [("--forbid-keepalive", 1), ("--require-keepalive", 0)] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = kawatch()
            .args(["check", rule])
            .arg(&alive)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(want), "{rule}: {}", stderr(&out));
        assert!(!stderr(&out).contains("Broken pipe"), "{}", stderr(&out));
    }
    if let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") {
        let out = kawatch()
            .args(["check", "--require-keepalive"])
            .arg(&alive)
            .stdout(full)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(5));
        assert!(
            stderr(&out).contains("writing the check's result"),
            "{}",
            stderr(&out)
        );
    }
}

/// Several files, the first unreadable: the report of the next is written as
/// a first one would be: a CSV header, no blank line before a table.
#[test]
fn a_first_input_unread_leaves_the_next_report_whole() {
    let (_d, dir) = temp("x");
    std::fs::create_dir(&dir).unwrap();
    let good = dir.join("good.pcap");
    write_pcap(&good, LinkType::Ethernet, &frames());
    let missing = dir.join("missing.pcap");
    let table = format!("{} (EN10MB)", good.display());
    for (format, starts) in [("csv", "a,b,vlan,"), ("table", table.as_str())] {
        let out = kawatch()
            .args(["report", "-T", format])
            .arg(&missing)
            .arg(&good)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{format}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.starts_with(starts), "{format}: {text}");
    }
}

/// Several files, one unreadable from its first packet: the others are read
/// all the same (as for one that does not open), its error said, exit 3;
/// by `report` and by `check`, whose result lists all three.
#[test]
fn an_input_unreadable_from_its_first_packet_leaves_the_others_read() {
    let (_d, dir) = temp("x");
    std::fs::create_dir(&dir).unwrap();
    let good = dir.join("good.pcap");
    write_pcap(&good, LinkType::Ethernet, &frames());
    let bad = dir.join("bad_first.pcap");
    std::fs::write(&bad, corrupt_record(Format::PcapMicro, 0)).unwrap();
    let out = kawatch()
        .args(["report", "-T", "csv"])
        .args([&good, &bad, &good])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the first packet cannot be read"),
        "{}",
        stderr(&out)
    );
    let csv = String::from_utf8_lossy(&out.stdout);
    assert_eq!(csv.matches("a,b,vlan,").count(), 1, "one header:\n{csv}");
    assert_eq!(
        csv.matches("good.pcap").count(),
        2,
        "both good files:\n{csv}"
    );
    let out = kawatch()
        .args(["report"])
        .args([&good, &bad, &good])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    let head = format!("{} (EN10MB)", good.display());
    assert!(table.starts_with(&head), "{table}");
    assert_eq!(
        table.matches(&format!("\n\n{head}")).count(),
        1,
        "set apart once:\n{table}"
    );
    let out = kawatch()
        .args(["check", "-T", "json", "--require-keepalive"])
        .args([&good, &bad, &good])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        result["inputs"].as_array().map(Vec::len),
        Some(3),
        "{result}"
    );
}

/// A receiver that stopped reading: the sender's zero-window probes look
/// like keepalives and are none. The table named nothing of them ("no
/// keepalive probes seen", found by a review); now it says how many, on
/// how many flows, whether or not another flow has keepalives.
#[test]
fn a_stalled_receivers_zero_window_probes_are_named_in_the_table() {
    use kawatch_synth::conversation::{Host, A, B};
    use kawatch_synth::{Capture, Conversation};
    let stalled = |n: u8| {
        let mut c = Conversation::new(
            Host::v4([198, 18, 0, n], 40000, n),
            Host::v4([198, 18, 0, 100 + n], 80, 100 + n),
        );
        c.starting_at(T0)
            .handshake()
            .data(A, 100)
            .window(B, 0)
            .ack(B);
        for gap in [0.2, 0.4, 0.8] {
            c.wait(gap).zero_window_probe(A).ack(B);
        }
        c
    };
    let mut kept = Conversation::new(
        Host::v4([198, 18, 0, 9], 40009, 9),
        Host::v4([198, 18, 0, 109], 5000, 109),
    );
    kept.starting_at(T0)
        .handshake()
        .wait(2.0)
        .probe(A)
        .probe_ack(B);
    let dir = tempfile::tempdir().unwrap();
    for (name, capture, line) in [
        (
            "alone",
            Capture::new(LinkType::Ethernet, Format::PcapMicro).with(stalled(1)),
            "no keepalive probes seen; 3 zero-window probes on 1 flow without keepalives \
             (a receiver's full window, not keepalive): 198.18.0.1:40000 <> 198.18.0.101:80",
        ),
        (
            "beside a keepalive",
            Capture::new(LinkType::Ethernet, Format::PcapMicro)
                .with(stalled(1))
                .with(stalled(2))
                .with(kept.clone()),
            "6 zero-window probes on 2 flows without keepalives (a receiver's full window, \
             not keepalive): 198.18.0.1:40000 <> 198.18.0.101:80, 198.18.0.2:40000 <> \
             198.18.0.102:80",
        ),
    ] {
        let path = dir.path().join(format!("{name}.pcap"));
        std::fs::write(&path, capture.to_bytes()).unwrap();
        let o = run(&["report", path.to_str().unwrap()]);
        let table = String::from_utf8_lossy(&o.stdout);
        assert!(
            table.lines().any(|l| l == line),
            "{name}: no line {line:?} in\n{table}"
        );
    }
}

/// The same 4-tuple on two VLANs is two flows: the path table named both
/// `a <> b` alike, one safe and one exceeded, and one could not tell which
/// (found by a review); its rows carry the tags as the prober rows do. A
/// priority tag (VLAN id 0, 802.1p) is no VLAN: no tags in the report.
#[test]
fn flows_on_two_vlans_are_told_apart_in_the_path_table() {
    use kawatch_synth::conversation::{Host, A, B};
    use kawatch_synth::link::dot1q;
    use kawatch_synth::{Capture, Conversation};
    let on = |id: u16, idle: f64| {
        let mut c = Conversation::new(
            Host::v4([198, 18, 0, 1], 40000, 1),
            Host::v4([198, 18, 0, 2], 5432, 2),
        );
        c.starting_at(T0).vlan(&[dot1q(id)]).handshake();
        for _ in 0..2 {
            c.wait(idle).probe(A).probe_ack(B);
        }
        c
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two-vlans.pcap");
    let capture = Capture::new(LinkType::Ethernet, Format::PcapMicro)
        .with(on(100, 10.0))
        .with(on(200, 400.0));
    std::fs::write(&path, capture.to_bytes()).unwrap();
    let o = run(&["report", path.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    for (vlan, verdicts) in [(100, "safe"), (200, "exceeded")] {
        let row = format!("198.18.0.1:40000 <> 198.18.0.2:5432 vlan {vlan} ");
        assert!(
            table
                .lines()
                .any(|l| l.starts_with(&row) && l.contains(verdicts)),
            "no path row {row:?} ({verdicts}) in\n{table}"
        );
    }

    let path = dir.path().join("priority.pcap");
    let capture = Capture::new(LinkType::Ethernet, Format::PcapMicro).with(on(0, 10.0));
    std::fs::write(&path, capture.to_bytes()).unwrap();
    let report = report_json(&path);
    assert_eq!(
        report["flows"][0]["vlan"],
        serde_json::json!([]),
        "{report}"
    );
    assert_eq!(
        report["flows"][0]["keepalive"][0]["probes_answered"], 2,
        "{report}"
    );
}

/// A pcapng file whose interfaces include one of a link type kawatch does
/// not decode (PPP beside Ethernet): that interface's frames were counted
/// as undecoded with no word, the connections they carried one-sided (a
/// review's capture: a prober that gave up read "probing", and a check
/// passed). Now a warning names the link type and how many frames, on
/// stderr and in a check's result; the rest is analysed as before.
#[test]
fn frames_of_an_undecoded_link_type_beside_others_are_warned_of() {
    let (_d, dir) = temp("x");
    std::fs::create_dir(&dir).unwrap();
    let fr = frames();
    let mut w = Writer::new(
        Vec::new(),
        Format::Pcapng { tsresol: 6 },
        LinkType::Ethernet,
    );
    // The first three on Ethernet, the last two on PPP.
    let ppp = w.interface(LinkType::Other(9), 65535).unwrap();
    for (i, (t, data)) in fr.iter().enumerate() {
        let iface = if i < 3 { 0 } else { ppp };
        w.write_record_on(iface, at(*t), data, data.len() as u32)
            .unwrap();
    }
    let file = dir.join("eth-ppp.pcapng");
    std::fs::write(&file, w.finish().unwrap()).unwrap();
    let out = kawatch()
        .args(["report", "--format", "json"])
        .arg(&file)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert_eq!(
        err.matches("2 frames of link type PPP (LINKTYPE 9) not analysed")
            .count(),
        1,
        "{err}"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["source"]["frames"], 5, "{report}");
    assert_eq!(report["source"]["undecoded"], 2, "{report}");

    let out = kawatch()
        .args(["check", "-T", "json", "--require-keepalive"])
        .arg(&file)
        .output()
        .unwrap();
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        result
            .to_string()
            .contains("not analysed: kawatch does not decode that link type"),
        "{result}"
    );

    // One link type only, decoded: no such warning.
    let timed = dir.join("timed.pcap");
    write_pcap(&timed, LinkType::Ethernet, &fr);
    let out = kawatch().arg("report").arg(&timed).output().unwrap();
    assert!(!stderr(&out).contains("not analysed"), "{}", stderr(&out));
}
