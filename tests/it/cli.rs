//! The command line on bad and unusual input: clear errors on stderr with a
//! non-zero exit, never a panic; partial input still yields a report.

use crate::support::*;
use etherparse::PacketBuilder;
use kawatch::Timestamp;
use kawatch_synth::{Format, LinkType, Writer, T0};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

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
        let us = (t * 1e6).round() as i64;
        w.write(Timestamp(T0.0 + i128::from(us) * 1000), data)
            .unwrap();
    }
    w.finish().unwrap()
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
    let gz = dir.join("c.pcap.gz");
    std::fs::write(&gz, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0]).unwrap();
    let good = dir.join("good.pcap");
    write_pcap(&good, LinkType::Ethernet, &frames());
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let cases: Vec<(&str, Vec<String>, &str)> = vec![
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
            "not a pcap or pcapng capture",
        ),
        (
            "unsupported link type",
            vec!["report".into(), s(&wifi)],
            "link type 105",
        ),
        ("gzip", vec!["report".into(), s(&gz)], "zcat"),
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
            "go with --interface",
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
            "--netns and --pid go with --interface",
        ),
        (
            "sockets: bad port",
            vec!["sockets".into(), "--port".into(), "http".into()],
            "http",
        ),
    ];
    for (name, args, needle) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = run(&args);
        assert_clean_failure(&o, needle);
        eprintln!("ok: {name}");
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
        lines[1].starts_with(
            "198.18.0.1:40000,198.18.0.2:5000,,198.18.0.1:40000,1,1,0,2.049,,,alive,2"
        ),
        "{csv}"
    );

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
    let mut child = kawatch()
        .args(["report", "--format", "json", "-"])
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
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (r["source"]["name"].as_str(), r["source"]["frames"].as_u64()),
        (Some("-"), Some(5))
    );
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
