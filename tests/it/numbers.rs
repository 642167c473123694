//! Numbers that must not mislead (issue 11, items 9-11), end to end: capture
//! files written by kawatch-synth's writer, read through libpcap by the real
//! binary, and the report's numbers checked.
//!
//! * times: pcap seconds past 2038, pcapng past 2262, clocks that run back;
//! * a whole frame whose IP header claims 65535 bytes;
//! * three VLAN tags beside two on the same addresses.

use crate::support::*;
use kawatch::capture::{Next, Source};
use kawatch::Timestamp;
use kawatch_synth::conversation::{Host, A, B};
use kawatch_synth::link::{dot1ad, dot1q, VlanTag};
use kawatch_synth::{Capture, Conversation, Format, Frame, LinkType, Role, Writer};
use serde_json::Value;
use std::path::{Path, PathBuf};

const CLIENT: &str = "198.18.0.1:40000";

/// 2040-01-01T00:00:00Z: past 2^31 seconds (2038-01-19).
const Y2040: i64 = 2_208_988_800;
/// 2300-01-01T00:00:00Z: past 2^63 nanoseconds (2262-04-11).
const Y2300: i64 = 10_413_792_000;

/// Linux, idle 2 s, intvl 1 s, cnt 3, peer gone (as `linux_dead` in
/// kawatch_synth::cases): handshake at `start`, request and response, A's
/// delayed ACK, probes 2.03, 3.06 and 4.09 s after the response, A's RST at
/// 5.12 s. Ten frames; the response comes 1.63 ms after `start`.
fn dead(start: Timestamp, tags: &[VlanTag]) -> Conversation {
    let mut c = Conversation::new(
        Host::v4([198, 18, 0, 1], 40000, 1),
        Host::v4([198, 18, 0, 2], 5000, 2),
    );
    c.starting_at(start).vlan(tags);
    c.handshake();
    c.wait(0.001).data(A, 120);
    c.wait(0.0004).data(B, 240);
    let last_rx = c.now();
    c.wait(0.04).ack(A);
    for t in [2.03, 3.06, 4.09] {
        c.at(last_rx + t).probe(A);
    }
    c.at(last_rx + 5.12).give_up(A);
    c
}

/// When `dead`'s response comes, after its start.
const RESPONSE: f64 = 0.00163;

/// `frames` written as `format` under Ethernet into `dir/name`.
fn write(dir: &Path, name: &str, format: Format, snaplen: u32, frames: &[Frame]) -> PathBuf {
    let mut w = Writer::new(Vec::new(), format, LinkType::Ethernet).snaplen(snaplen);
    for f in frames {
        w.write_record(f.ts, &f.data, f.orig_len).unwrap();
    }
    let path = dir.join(name);
    std::fs::write(&path, w.finish().unwrap()).unwrap();
    path
}

/// The one keepalive entry of `report` by `prober`, with its flow.
fn prober<'a>(report: &'a Value, prober: &str) -> (&'a Value, &'a Value) {
    let found: Vec<(&Value, &Value)> = report["flows"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| {
            f["keepalive"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |k| (f, k))
        })
        .filter(|(_, k)| k["prober"] == prober)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one keepalive entry for {prober}: {report:#}"
    );
    found[0]
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"))
}

fn close(got: &Value, want: f64, what: &str) {
    let got = f(got);
    // Report times are epoch seconds in an f64: ~2 µs apart in 2300.
    assert!((got - want).abs() < 1e-4, "{what}: {got} != {want}");
}

/// The prober of `dead`, as the report must show it: dead after 3 probes,
/// idle 2.03 s, intvl 1.03 s, probes from `start`.
fn check_dead(report: &Value, start: f64) {
    let (_, k) = prober(report, CLIENT);
    assert_eq!(k["outcome"], "dead", "{k:#}");
    assert_eq!(
        (&k["probes_sent"], &k["probes"]),
        (&3.into(), &3.into()),
        "{k:#}"
    );
    close(&k["idle_s"], 2.03, "idle_s");
    close(&k["intvl_s"], 1.03, "intvl_s");
    close(&k["first_probe"], start + RESPONSE + 2.03, "first_probe");
    close(&k["last_probe"], start + RESPONSE + 4.09, "last_probe");
}

/// Item 9: libpcap 1.10 reads a pcap record's seconds as signed 32 bits, so
/// a capture made after 2038-01-19 came out in 1901.
#[test]
fn pcap_seconds_past_2038_are_not_negative() {
    let dir = tempfile::tempdir().unwrap();
    let start = Timestamp::from_parts(Y2040, 250_000_000);
    for format in [Format::PcapMicro, Format::PcapNano] {
        let capture = Capture::new(LinkType::Ethernet, format).with(dead(start, &[]));
        let path = write(dir.path(), "y2040.pcap", format, 65535, &capture.frames());
        let report = report_json(&path);
        let t0 = Y2040 as f64 + 0.25;
        close(&report["source"]["first_ts"], t0, "first_ts");
        close(
            &report["source"]["last_ts"],
            t0 + RESPONSE + 5.12,
            "last_ts",
        );
        check_dead(&report, t0);
        let out = run(&["report", "--format", "events", path.to_str().unwrap()]);
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let ev: Value = serde_json::from_str(line).unwrap();
            assert!(f(&ev["ts"]) > t0, "event before the capture began: {line}");
        }
    }
}

/// Item 9: pcapng timestamps are 64-bit; past 2262 they no longer fit `i64`
/// nanoseconds, and saturated ones made every frame a duplicate of the last.
#[test]
fn pcapng_dated_2300_is_analysed() {
    let dir = tempfile::tempdir().unwrap();
    let start = Timestamp::from_parts(Y2300, 123_456_789);
    let capture =
        Capture::new(LinkType::Ethernet, Format::Pcapng { tsresol: 9 }).with(dead(start, &[]));
    let path = write(
        dir.path(),
        "y2300.pcapng",
        Format::Pcapng { tsresol: 9 },
        65535,
        &capture.frames(),
    );
    let report = report_json(&path);
    let source = &report["source"];
    assert_eq!(
        (
            &source["frames"],
            &source["tcp_segments"],
            &source["duplicates"]
        ),
        (&10.into(), &10.into(), &0.into()),
        "{source:#}"
    );
    let t0 = Y2300 as f64 + 0.123_456_789;
    close(&source["first_ts"], t0, "first_ts");
    close(&source["last_ts"], t0 + RESPONSE + 5.12, "last_ts");
    check_dead(&report, t0);
    assert_eq!(event_frames(&path, "probe"), [7, 8, 9]);
    assert_eq!(event_frames(&path, "give_up"), [10]);

    // Through the library too: every frame keeps its own nanosecond.
    let mut src = Source::open_file(&path, None).unwrap();
    let mut stamps = Vec::new();
    while let Next::Frame(fr) = src.next_frame().unwrap() {
        stamps.push(fr.ts);
    }
    let written: Vec<Timestamp> = capture.frames().iter().map(|fr| fr.ts).collect();
    assert_eq!(stamps, written);
}

/// Item 9: a clock that steps back (or files merged without sorting) must
/// not invert the capture's or a prober's time range, and the backward gap
/// is not an interval.
#[test]
fn time_running_backwards_gives_earliest_and_latest() {
    let dir = tempfile::tempdir().unwrap();
    let start = Timestamp::from_parts(1_700_000_000, 0);
    let mut frames = Capture::new(LinkType::Ethernet, Format::PcapNano)
        .with(dead(start, &[]))
        .frames();
    // The clock steps back an hour after the second probe (frame 8).
    for fr in &mut frames[8..] {
        fr.ts = fr.ts.add_secs(-3600.0);
    }
    // And a capture of another connection, an hour earlier still, is appended.
    let mut other = Conversation::new(
        Host::v4([198, 18, 0, 3], 40001, 3),
        Host::v4([198, 18, 0, 2], 5000, 2),
    );
    other.starting_at(start.add_secs(-7200.0)).handshake();
    frames.extend(
        Capture::new(LinkType::Ethernet, Format::PcapNano)
            .with(other)
            .frames(),
    );
    let path = write(
        dir.path(),
        "backwards.pcap",
        Format::PcapNano,
        65535,
        &frames,
    );
    let report = report_json(&path);

    let t0 = 1_700_000_000.0;
    close(
        &report["source"]["first_ts"],
        t0 - 7200.0,
        "first_ts: the earliest",
    );
    close(
        &report["source"]["last_ts"],
        t0 + RESPONSE + 3.06,
        "last_ts: the latest",
    );
    let (flow, k) = prober(&report, CLIENT);
    close(
        &k["first_probe"],
        t0 + RESPONSE + 4.09 - 3600.0,
        "first_probe: the earliest",
    );
    close(
        &k["last_probe"],
        t0 + RESPONSE + 3.06,
        "last_probe: the latest",
    );
    close(
        &flow["first_seen"],
        t0 + RESPONSE + 4.09 - 3600.0,
        "first_seen",
    );
    close(&flow["last_seen"], t0 + RESPONSE + 3.06, "last_seen");
    // The gap from the second probe to the third ran back an hour: not an
    // interval, and nothing measured across it is negative or zero.
    close(&k["intvl_s"], 1.03, "intvl_s");
    close(&k["idle_s"], 2.03, "idle_s");
    assert_eq!((&k["probes"], &k["outcome"]), (&3.into(), &"dead".into()));
    for field in ["idle_s", "intvl_s", "detection_s"] {
        assert!(k[field].is_null() || f(&k[field]) > 0.9, "{field}: {k:#}");
    }
    // Flows are listed by first seen: the earlier connection first.
    assert_eq!(report["flows"][0]["a"], "198.18.0.3:40001");
}

/// Item 10: a whole frame (captured length = wire length) whose IP header
/// claims 65535 bytes (segmentation offload writes such lengths) holds only
/// what it holds: the probe stays a probe, the prober stays. Frames cut by
/// the snaplen still take their length from the IP header.
#[test]
fn a_lying_ip_length_on_a_whole_frame_keeps_the_probe() {
    let dir = tempfile::tempdir().unwrap();
    let start = Timestamp::from_parts(1_700_000_000, 0);
    let mut frames = Capture::new(LinkType::Ethernet, Format::PcapNano)
        .with(dead(start, &[]))
        .frames();
    for fr in frames.iter_mut().filter(|fr| fr.role == Role::Probe) {
        assert_eq!(fr.data.len() as u32, fr.orig_len, "whole");
        fr.data[16..18].copy_from_slice(&65535u16.to_be_bytes()); // IPv4 total length
    }
    let path = write(dir.path(), "lying.pcap", Format::PcapNano, 65535, &frames);
    check_dead(&report_json(&path), 1_700_000_000.0);
    assert_eq!(event_frames(&path, "probe"), [7, 8, 9]);

    // Snaplen 60: the 120- and 240-byte data frames are cut, and libpcap's
    // wire length reaches the analyser with them.
    let path = write(dir.path(), "cut.pcap", Format::PcapNano, 60, &frames);
    let mut src = Source::open_file(&path, None).unwrap();
    let mut cut = Vec::new();
    while let Next::Frame(fr) = src.next_frame().unwrap() {
        if fr.data.len() < fr.wire_len as usize {
            cut.push((fr.data.len(), fr.wire_len));
        }
    }
    assert_eq!(
        cut,
        [(60, 66), (60, 66), (60, 174), (60, 294)],
        "SYN, SYN-ACK, request, response"
    );
    let report = report_json(&path);
    // (SYN and SYN-ACK, cut in their options: segments all the same.)
    assert_eq!(
        (
            &report["source"]["undecoded"],
            &report["source"]["tcp_segments"]
        ),
        (&0.into(), &10.into())
    );
    check_dead(&report, 1_700_000_000.0);
}

/// Item 11: a third VLAN tag is part of the identity; a fourth makes a frame
/// undecodable rather than merged with the three-tag flow.
#[test]
fn three_vlan_tags_and_two_are_two_flows() {
    let dir = tempfile::tempdir().unwrap();
    let start = Timestamp::from_parts(1_700_000_000, 0);
    // The same outer two ids: a frame's first two tags alone merged them.
    let two = [dot1ad(100), dot1q(42)];
    let three = [dot1ad(100), dot1ad(42), dot1q(7)];
    let four = [dot1ad(100), dot1ad(42), dot1ad(7), dot1q(8)];
    let capture = Capture::new(LinkType::Ethernet, Format::PcapNano)
        .with(dead(start, &two))
        .with(dead(start.add_secs(40e-6), &three))
        .with(dead(start.add_secs(80e-6), &four));
    let path = write(
        dir.path(),
        "vlans.pcap",
        Format::PcapNano,
        65535,
        &capture.frames(),
    );
    let report = report_json(&path);
    let source = &report["source"];
    assert_eq!(
        (
            &source["frames"],
            &source["undecoded"],
            &source["duplicates"]
        ),
        (&30.into(), &10.into(), &0.into()),
        "{source:#}"
    );
    let vlans: Vec<&Value> = report["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["vlan"])
        .collect();
    assert_eq!(
        vlans,
        [
            &serde_json::json!([100, 42]),
            &serde_json::json!([100, 42, 7])
        ]
    );
    for flow in report["flows"].as_array().unwrap() {
        let k = &flow["keepalive"][0];
        assert_eq!(
            (&k["outcome"], &k["probes"]),
            (&"dead".into(), &3.into()),
            "{flow:#}"
        );
    }
}

/// Every frame captured twice, the copy 0.5 ms later (`-i any` on a bridge
/// and its port, a SPAN of both directions): copies come between other
/// frames, not straight after their originals, and count as duplicates
/// all the same. Before, a copy after another segment of the same side was
/// taken as new: copies of the closing ACKs read as answered probes, and
/// each probe counted twice. Two captures of the same traffic merged give
/// the same.
#[test]
fn copies_between_other_frames_are_duplicates() {
    use kawatch_synth::T0;
    let conversation = |n: u8, at: f64| {
        let mut c = Conversation::new(
            Host::v4([198, 18, 0, n], 40000, n),
            Host::v4([198, 18, 0, 100 + n], 6379, 100 + n),
        );
        c.starting_at(T0.add_secs(at)).handshake();
        // A run of one side's segments closer together than the copies' lag.
        c.data(A, 20)
            .data(A, 30)
            .wait(0.0001)
            .ack(B)
            .data(B, 40)
            .wait(0.0002)
            .ack(A);
        c.wait(2.0)
            .probe(A)
            .probe_ack(B)
            .wait(2.0)
            .probe(A)
            .probe_ack(B);
        c.wait(0.5)
            .data(A, 10)
            .wait(0.0001)
            .fin(B)
            .fin(A)
            .wait(0.0001)
            .ack(B);
        c
    };
    let dir = tempfile::tempdir().unwrap();
    let once = Capture::new(LinkType::Ethernet, Format::PcapNano)
        .with(conversation(1, 0.0))
        .with(conversation(2, 0.0002));
    let twice = Capture::new(LinkType::Ethernet, Format::PcapNano)
        .with(conversation(1, 0.0))
        .with(conversation(2, 0.0002))
        .with(conversation(1, 0.0005))
        .with(conversation(2, 0.0007));
    let (a, b) = (dir.path().join("once.pcap"), dir.path().join("twice.pcap"));
    std::fs::write(&a, once.to_bytes()).unwrap();
    std::fs::write(&b, twice.to_bytes()).unwrap();
    let (r1, r2) = (report_json(&a), report_json(&b));
    let n = r1["source"]["tcp_segments"].as_u64().unwrap();
    assert_eq!(r1["source"]["duplicates"], 0);
    assert_eq!(r2["source"]["duplicates"], n, "{:#}", r2["source"]);
    assert_eq!(r1["flows"], r2["flows"], "the copies changed the analysis");
    assert_eq!(probers(&r2).len(), 2);
    assert_eq!(event_frames(&b, "probe").len(), 4);
}
