//! kawatch's own capture-file reader against libpcap's, the reference: the
//! same frames from every capture libpcap reads (fixtures and the corpus,
//! with and without a filter), and what libpcap refuses read as the formats
//! define it (issue 11, item 4).

use crate::fixtures::{crate_root, fixture_captures};
use crate::support::*;
use kawatch::capture::{CaptureError, Next, OpenOptions, Reader, Source};
use kawatch::Timestamp;
use kawatch_synth::{cases, Conversation, Format, LinkType, Writer, T0};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Every frame a reader hands over, and how the read ended.
#[derive(Debug, PartialEq)]
struct Read {
    frames: Vec<(Timestamp, u32, Vec<u8>)>,
    /// `None` at a clean end; the error's kind otherwise.
    end: Option<String>,
}

fn read_all(path: &Path, reader: Reader, filter: Option<&str>) -> Result<Read, CaptureError> {
    let mut src = Source::open_file_with(
        path,
        &OpenOptions {
            filter,
            reader,
            stop: None,
            wake: None,
        },
    )?;
    let mut frames = Vec::new();
    let end = loop {
        match src.next_frame() {
            Ok(Next::Frame(f)) => frames.push((f.ts, f.wire_len, f.data.to_vec())),
            Ok(Next::Timeout) => {}
            Ok(Next::End) => break None,
            // The kind, not the words: libpcap's and kawatch's differ.
            Err(e) => {
                break Some(
                    format!("{e:?}")
                        .split([' ', '{'])
                        .next()
                        .unwrap()
                        .to_string(),
                )
            }
        }
    };
    Ok(Read { frames, end })
}

/// Every capture under fixtures/, and the corpus's where it is present.
/// A filter that reads the wire length (`greater`), the link layer and TCP.
const FILTER: &str = "greater 100 or tcp[tcpflags] & tcp-syn != 0";

/// Every capture of [`all_captures`], with no filter and with [`FILTER`].
fn captures_and_filters() -> impl Iterator<Item = (PathBuf, Option<&'static str>)> {
    all_captures()
        .into_iter()
        .flat_map(|p| [None, Some(FILTER)].map(|f| (p.clone(), f)))
}

fn all_captures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fixture_captures()
        .iter()
        .map(|rel| crate_root().join(rel))
        .collect();
    match corpus_dir() {
        Some(dir) => {
            let mut corpus: Vec<PathBuf> = std::fs::read_dir(dir)
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
                .collect();
            corpus.sort();
            assert!(corpus.len() >= 30, "the corpus has its captures");
            v.extend(corpus);
        }
        None => skip(
            "reader::corpus",
            "../shared/corpus is not beside the repository: fixtures only",
        ),
    }
    v
}

/// Where libpcap reads a capture, kawatch's reader hands over the same
/// frames, byte for byte, with the same times and wire lengths, and ends the
/// same way; where libpcap gives up (a pcapng mixing link types or byte
/// orders), kawatch reads at least what libpcap read, and on.
#[test]
fn both_readers_hand_over_the_same_frames() {
    let captures = all_captures();
    let mut compared = 0;
    let mut libpcap_refused = Vec::new();
    // No filter; and one that reads the wire length (`greater`), the link
    // layer and TCP: cut frames must be filtered by their wire length.
    for filter in [None, Some(FILTER)] {
        for path in &captures {
            let name = path.display();
            let native = read_all(path, Reader::Native, filter)
                .unwrap_or_else(|e| panic!("{name} ({filter:?}): kawatch's reader: {e}"));
            match read_all(path, Reader::Libpcap, filter) {
                Ok(lib) if lib.end.is_none() || lib.end == native.end => {
                    assert_eq!(
                        native.frames.len(),
                        lib.frames.len(),
                        "{name} ({filter:?}): frame counts"
                    );
                    for (i, (n, l)) in native.frames.iter().zip(&lib.frames).enumerate() {
                        assert_eq!(n, l, "{name} ({filter:?}): frame {}", i + 1);
                    }
                    assert_eq!(native.end, lib.end, "{name} ({filter:?}): how it ended");
                    compared += 1;
                }
                // libpcap gave up where kawatch did not.
                Ok(lib) => {
                    assert!(
                        native.frames.starts_with(&lib.frames) && native.end.is_none(),
                        "{name} ({filter:?}): libpcap ended with {:?}, kawatch with {:?}",
                        lib.end,
                        native.end
                    );
                    libpcap_refused.push(path.clone());
                }
                Err(_) => libpcap_refused.push(path.clone()),
            }
        }
    }
    libpcap_refused.sort();
    libpcap_refused.dedup();
    let refused: Vec<String> = libpcap_refused
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    // Only the files made for what libpcap 1.10 cannot read.
    assert_eq!(
        refused,
        ["pcapng_byte_orders.pcapng", "pcapng_interfaces.pcapng"],
        "captures libpcap did not read to the end"
    );
    assert!(compared >= 2 * 40, "{compared} comparisons");
}

/// A frame of each interface is decoded by the interface's own link type
/// and cut by its own snapshot length; a filter is compiled per link type.
#[test]
fn pcapng_interfaces_each_with_its_link_type() {
    let path = crate_root().join("fixtures/synth/pcapng_interfaces.pcapng");
    let p = path.to_str().unwrap();
    let r = report_json(&path);
    assert_eq!(r["source"]["linktype"], "EN10MB,LINUX_SLL2,RAW");
    assert_eq!(r["source"]["undecoded"], 0);
    // The cooked interface's snaplen (128) cut its data frames; the wire
    // length says how long they were.
    let read = read_all(&path, Reader::Native, None).unwrap();
    assert!(read
        .frames
        .iter()
        .any(|(_, wire, data)| data.len() == 128 && *wire > 128));
    // A filter on each link type's headers: port 5001 is on the cooked
    // interface, IPv6 on the raw one.
    for (filter, prober) in [
        ("tcp port 5001", "198.18.1.1:40001"),
        ("ip6", "[2001:db8::1]:40000"),
        // Not on a cooked or raw interface: it matches none of theirs, and
        // says so.
        ("ether host 02:00:00:00:00:01", "198.18.0.1:40000"),
    ] {
        let o = run(&["report", "--format", "json", p, filter]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{filter}: {stderr}");
        assert_eq!(
            stderr.contains("does not apply to link type RAW"),
            filter.starts_with("ether"),
            "{filter}: {stderr}"
        );
        let r: Value = serde_json::from_slice(&o.stdout).unwrap();
        let probers: Vec<&str> = probers(&r)
            .iter()
            .map(|k| k["prober"].as_str().unwrap())
            .collect();
        assert_eq!(probers, [prober], "{filter}");
    }
    // libpcap 1.10, the reference reader, refuses the file: the old failure.
    let o = run(&["report", "--reader", "libpcap", p]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("different from the type of the first interface"));
}

/// A filter on one link type's headers, in a pcapng file of two: a warning
/// for the other, whichever interface the file declares first; an error
/// only where it applies to no link type of the file (tcpdump's refusal).
#[test]
fn a_filter_for_one_link_type_of_two_warns_in_either_order() {
    use kawatch_synth::conversation::{Host, A, B};
    let conversation = |n: u8, start_s: f64| {
        let mut c = Conversation::new(
            Host::v4([198, 18, 0, n], 40000, n),
            Host::v4([198, 18, 0, n + 1], 5000, n + 1),
        );
        c.starting_at(T0.add_secs(start_s))
            .handshake()
            .wait(2.0)
            .probe(A)
            .probe_ack(B);
        c
    };
    let dir = tempfile::tempdir().unwrap();
    let eth_first = kawatch_synth::Capture::new(LinkType::Ethernet, Format::Pcapng { tsresol: 6 })
        .with(conversation(1, 0.0))
        .with_on(LinkType::Raw, 96, conversation(3, 0.5));
    let raw_first = kawatch_synth::Capture::new(LinkType::Raw, Format::Pcapng { tsresol: 6 })
        .with(conversation(3, 0.5))
        .with_on(LinkType::Ethernet, 262_144, conversation(1, 0.0));
    let raw_only = kawatch_synth::Capture::new(LinkType::Raw, Format::Pcapng { tsresol: 6 })
        .with(conversation(3, 0.5));
    for (name, capture, ok) in [
        ("Ethernet first", eth_first, true),
        ("raw IP first", raw_first, true),
        ("raw IP only", raw_only, false),
    ] {
        let path = dir.path().join(format!("{name}.pcapng"));
        std::fs::write(&path, capture.to_bytes()).unwrap();
        let o = run(&[
            "report",
            "--format",
            "json",
            path.to_str().unwrap(),
            "ether host 02:00:00:00:00:01",
        ]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        if !ok {
            assert_eq!(o.status.code(), Some(2), "{name}: {stderr}");
            assert!(stderr.contains("bad filter"), "{name}: {stderr}");
            continue;
        }
        assert!(o.status.success(), "{name}: {stderr}");
        assert!(
            stderr.contains("does not apply to link type RAW"),
            "{name}: {stderr}"
        );
        let r: Value = serde_json::from_slice(&o.stdout).unwrap();
        let probers: Vec<&str> = probers(&r)
            .iter()
            .map(|k| k["prober"].as_str().unwrap())
            .collect();
        assert_eq!(probers, ["198.18.0.1:40000"], "{name}");
    }
}

/// BSD loopback files are filtered as libpcap filters them, whatever
/// system wrote them: NULL's address family in the writer's byte order and
/// IPv6's three values (24, 28, 30), LOOP's in network order; and
/// `inbound` on Ethernet, which libpcap refuses for a file, is refused.
/// (Compiled as for a live capture, every IPv6 frame and every frame of a
/// big-endian file went missing without a word.)
#[test]
fn bsd_loopback_files_filter_as_libpcap_filters_them() {
    let dir = tempfile::tempdir().unwrap();
    let null = std::fs::read(crate_root().join("fixtures/synth/null.pcap")).unwrap();
    let mut files = vec![crate_root().join("fixtures/synth/loop.pcap")];
    for family6 in [24u32, 28, 30] {
        for big_endian in [false, true] {
            let path = dir.path().join(format!(
                "null-{family6}-{}.pcap",
                if big_endian { "be" } else { "le" }
            ));
            std::fs::write(&path, rewrite_null(&null, family6, big_endian)).unwrap();
            files.push(path);
        }
    }
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy();
        for filter in ["ip6", "ip", "tcp port 5000", "ip6 and tcp"] {
            let native = read_all(path, Reader::Native, Some(filter));
            let lib = read_all(path, Reader::Libpcap, Some(filter));
            match (native, lib) {
                (Ok(native), Ok(lib)) => {
                    assert_eq!(native, lib, "{name} [{filter}]");
                    if name.starts_with("null") {
                        assert!(
                            !native.frames.is_empty(),
                            "{name} [{filter}]: nothing passed"
                        );
                    }
                }
                (native, lib) => panic!("{name} [{filter}]: {native:?} against libpcap's {lib:?}"),
            }
        }
    }
    let ethernet = crate_root().join("fixtures/synth/alive.pcap");
    for reader in [Reader::Native, Reader::Libpcap] {
        match read_all(&ethernet, reader, Some("inbound")) {
            Err(CaptureError::BadFilter { reason, .. }) => {
                assert!(reason.contains("inbound/outbound"), "{reason}");
            }
            other => panic!("{reader:?}: inbound on an Ethernet file: {other:?}"),
        }
    }
}

/// The NULL capture `pcap` (little-endian, microseconds) with its IPv6
/// frames' family made `family6`, written in either byte order (the family
/// too: NULL's is in the writer's order).
fn rewrite_null(pcap: &[u8], family6: u32, big_endian: bool) -> Vec<u8> {
    let le = |at: usize| u32::from_le_bytes(pcap[at..at + 4].try_into().unwrap());
    let word = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut out = Vec::with_capacity(pcap.len());
    out.extend_from_slice(&word(le(0)));
    for half in [4, 6] {
        let v = u16::from_le_bytes([pcap[half], pcap[half + 1]]);
        out.extend_from_slice(&if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }
    for at in [8, 12, 16, 20] {
        out.extend_from_slice(&word(le(at)));
    }
    let mut at = 24;
    while at < pcap.len() {
        let caplen = le(at + 8) as usize;
        for field in 0..4 {
            out.extend_from_slice(&word(le(at + 4 * field)));
        }
        let family = match le(at + 16) {
            2 => 2,
            _ => family6,
        };
        out.extend_from_slice(&word(family));
        out.extend_from_slice(&pcap[at + 20..at + 16 + caplen]);
        at += 16 + caplen;
    }
    out
}

/// Sections of different byte orders read as one capture: the same report
/// as the same conversation in one little-endian section.
#[test]
fn pcapng_sections_of_either_byte_order() {
    let mixed = report_json(&crate_root().join("fixtures/synth/pcapng_byte_orders.pcapng"));
    let dir = tempfile::tempdir().unwrap();
    let case = cases::by_file_name("pcapng_byte_orders.pcapng").unwrap();
    let one = dir.path().join("one.pcapng");
    let mut w = Writer::new(
        Vec::new(),
        Format::Pcapng { tsresol: 9 },
        LinkType::Ethernet,
    );
    for f in (case.build)().frames() {
        w.write_record(f.ts, &f.data, f.orig_len).unwrap();
    }
    std::fs::write(&one, w.finish().unwrap()).unwrap();
    let single = report_json(&one);
    assert_eq!(mixed["flows"], single["flows"]);
    assert_eq!(mixed["source"]["frames"], 10);
}

/// A conversation between two test hosts (198.18.0.1:40000 and
/// 198.18.0.2:5000), nothing sent yet.
fn two_hosts() -> Conversation {
    Conversation::new(
        kawatch_synth::conversation::Host::v4([198, 18, 0, 1], 40000, 1),
        kawatch_synth::conversation::Host::v4([198, 18, 0, 2], 5000, 2),
    )
}

/// An interface of a link type kawatch does not decode (802.11 here) does
/// not refuse the file: its frames are counted as undecoded, the others
/// read. A file with no interface kawatch decodes is refused, naming it.
#[test]
fn an_interface_kawatch_cannot_decode_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = two_hosts();
    c.handshake()
        .wait(2.0)
        .probe(kawatch_synth::conversation::A);
    c.wait(0.001).probe_ack(kawatch_synth::conversation::B);
    let frames = kawatch_synth::Capture::new(LinkType::Ethernet, Format::PcapMicro)
        .with(c)
        .frames();
    let mut w = Writer::new(
        Vec::new(),
        Format::Pcapng { tsresol: 6 },
        LinkType::Ethernet,
    );
    let wifi = w.interface(LinkType::Other(105), 65535).unwrap();
    for (i, f) in frames.iter().enumerate() {
        w.write_record(f.ts, &f.data, f.orig_len).unwrap();
        if i < 2 {
            w.write_record_on(wifi, f.ts, &[0x80, 0, 0, 0], 4).unwrap();
        }
    }
    let path = dir.path().join("mixed.pcapng");
    std::fs::write(&path, w.finish().unwrap()).unwrap();
    let r = report_json(&path);
    assert_eq!(r["source"]["linktype"], "EN10MB,IEEE802_11");
    assert_eq!(
        (&r["source"]["frames"], &r["source"]["undecoded"]),
        (&Value::from(frames.len() + 2), &Value::from(2))
    );
    assert_eq!(r["flows"][0]["keepalive"][0]["probes_answered"], 1);

    let mut w = Writer::new(
        Vec::new(),
        Format::Pcapng { tsresol: 6 },
        LinkType::Other(105),
    );
    w.write(T0, &[0x80, 0, 0, 0]).unwrap();
    let only_wifi = dir.path().join("wifi.pcapng");
    std::fs::write(&only_wifi, w.finish().unwrap()).unwrap();
    let o = run(&["report", only_wifi.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("link type 105 (IEEE802_11) is not supported")
    );
}

/// What the analyser made of a capture: its counts, the next frame's
/// number (frames a filter left out count), and every flow's view.
fn analysed(an: &kawatch::Analyzer) -> String {
    let flows: Vec<String> = an.flow_views().map(|f| format!("{f:?}")).collect();
    format!(
        "{:?} next frame {}\n{}",
        an.counters(),
        an.next_frame_number(),
        flows.join("\n")
    )
}

/// The batch feed (`Ahead::ingest_batch`, what a plain report of a file
/// uses, batches read on a second thread or, on one core, on this one)
/// gives the analyser what frame-by-frame reading gives it, on every
/// fixture and corpus capture, with and without a filter; and a stop
/// mid-batch feeds exactly the frames before it, the rest following when
/// fed on.
#[test]
fn the_batch_feed_gives_what_frame_by_frame_reading_gives() {
    use kawatch::capture::{read_ahead, read_batched, Ahead, Decode, Fed};
    use kawatch::Analyzer;
    use std::cell::Cell;
    for (path, filter) in captures_and_filters() {
        let open = |path: &Path| Source::open_file(path, filter).expect("opens");
        let mut src = open(&path);
        let mut by_frame = Analyzer::new(src.link_type());
        loop {
            match src.next_frame() {
                Ok(Next::Frame(f)) => {
                    f.ingest(&mut by_frame);
                }
                Ok(Next::Timeout) => {}
                Ok(Next::End) | Err(_) => break,
            }
        }
        for on_thread in [true, false] {
            let name = format!("{} ({filter:?}, on a thread: {on_thread})", path.display());
            // Stopped after every 700th frame (mid-batch: batches hold
            // 1,024), then fed on.
            let mut src = open(&path);
            let mut batched = Analyzer::new(src.link_type());
            let asked = Cell::new(0u64);
            let feed = |ahead: &mut Ahead<'_>| {
                let (mut stops, mut total) = (0u64, 0u64);
                loop {
                    let stop = || {
                        asked.set(asked.get() + 1);
                        asked.get().is_multiple_of(700)
                    };
                    match ahead.ingest_batch(&mut batched, stop) {
                        Ok(Fed::Batch { .. }) => {}
                        Ok(Fed::Stopped { .. }) => stops += 1,
                        Ok(Fed::End) | Err(_) => break,
                    }
                    total = batched.counters().frames;
                }
                (stops, total)
            };
            let (stops, total) = if on_thread {
                read_ahead(&mut src, Decode::Segments, feed)
            } else {
                read_batched(&mut src, Decode::Segments, feed)
            };
            assert_eq!(analysed(&batched), analysed(&by_frame), "{name}");
            // (Each stop asks again before the frame it held back.)
            assert_eq!(
                stops,
                (total + stops) / 700,
                "{name}: every 700th ask stopped"
            );
        }
    }
}

/// Each frame a batch holds (read on a second thread, or on this one) is
/// the frame the source hands out, decoded there as the analyser decodes
/// it: its time, lengths, link type, frames skipped before it, and segment
/// (its payload's length from the wire's, where the snaplen cut it); on
/// every fixture and corpus capture, with and without a filter.
#[test]
fn a_batch_holds_each_frame_the_source_gives() {
    use kawatch::capture::{read_ahead, read_batched, Ahead, Decode};
    use kawatch_core::decode_with_len;
    for (path, filter) in captures_and_filters() {
        let open = |path: &Path| Source::open_file(path, filter).expect("opens");
        let mut src = open(&path);
        let mut want = Vec::new();
        while let Ok(Next::Frame(f)) = src.next_frame() {
            let seg = f
                .link
                .and_then(|l| decode_with_len(l, 0, f.ts, f.data, f.wire_len));
            want.push(format!(
                "{:?} {} {:?} {} {} {seg:?}",
                f.ts,
                f.wire_len,
                f.link,
                f.skipped,
                f.captured()
            ));
        }
        for on_thread in [true, false] {
            let name = format!("{} ({filter:?}, on a thread: {on_thread})", path.display());
            let mut src = open(&path);
            let held = |ahead: &mut Ahead<'_>| {
                let mut held = Vec::new();
                while let Ok(Next::Frame(f)) = ahead.next_frame() {
                    let seg = match f.link {
                        Some(_) => f.decoded.expect("decoded on the reading side").segment,
                        None => None,
                    };
                    held.push(format!(
                        "{:?} {} {:?} {} {} {:?}",
                        f.ts,
                        f.wire_len,
                        f.link,
                        f.skipped,
                        f.captured(),
                        seg
                    ));
                }
                held
            };
            let held = if on_thread {
                read_ahead(&mut src, Decode::Segments, held)
            } else {
                read_batched(&mut src, Decode::Segments, held)
            };
            assert_eq!(held.len(), want.len(), "{name}: frames");
            for (i, (h, w)) in held.iter().zip(&want).enumerate() {
                assert_eq!(h, w, "{name}: frame {}", i + 1);
            }
        }
    }
}

/// A frame count stops the reading at the count, on one core as on two: a
/// link type whose interface a pcapng file declares only past it is not
/// named, nor is a filter said not to apply to it (a file read ahead, on a
/// thread or in batches, would have met it).
#[test]
fn a_frame_count_reads_nothing_past_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = two_hosts();
    c.handshake()
        .wait(1.0)
        .data(kawatch_synth::conversation::A, 10);
    let frames = kawatch_synth::Capture::new(LinkType::Ethernet, Format::PcapMicro)
        .with(c)
        .frames();
    assert!(frames.len() >= 4, "{} frames", frames.len());
    let mut w = Writer::new(
        Vec::new(),
        Format::Pcapng { tsresol: 6 },
        LinkType::Ethernet,
    );
    for f in &frames {
        w.write_record(f.ts, &f.data, f.orig_len).unwrap();
    }
    // An interface of raw IP declared after the Ethernet frames, and a frame on it.
    let raw = w.interface(LinkType::Other(101), 65535).unwrap();
    w.write_record_on(raw, frames[0].ts, &[0x45, 0, 0, 20], 20)
        .unwrap();
    let path = dir.path().join("late-interface.pcapng");
    std::fs::write(&path, w.finish().unwrap()).unwrap();
    let p = path.to_str().unwrap();
    let filter = "ether host 02:00:00:00:00:01";
    let kawatch = env!("CARGO_BIN_EXE_kawatch");
    // Two cores as the machine has them; one, where taskset is there to pin it.
    let pinned = std::process::Command::new("taskset")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !pinned {
        eprintln!("a_frame_count_reads_nothing_past_it: one core skipped: no taskset");
    }
    for one_core in [false, true].into_iter().filter(|&one| !one || pinned) {
        let read = |args: &[&str]| {
            let mut cmd = if one_core {
                let mut c = std::process::Command::new("taskset");
                c.args(["-c", "0", kawatch]);
                c
            } else {
                std::process::Command::new(kawatch)
            };
            let o = cmd.args(args).output().expect("runs kawatch");
            assert!(
                o.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            let r: Value = serde_json::from_slice(&o.stdout).unwrap();
            (r, String::from_utf8_lossy(&o.stderr).into_owned())
        };
        let (all, _) = read(&["report", "--format", "json", p]);
        assert_eq!(
            all["source"]["linktype"], "EN10MB,RAW",
            "one core: {one_core}"
        );
        let (counted, stderr) = read(&["report", "--format", "json", "-c", "2", p, filter]);
        assert_eq!(
            counted["source"]["linktype"], "EN10MB",
            "one core: {one_core}"
        );
        assert_eq!(counted["source"]["frames"], 2, "one core: {one_core}");
        assert!(
            !stderr.contains("does not apply"),
            "one core: {one_core}: {stderr}"
        );
    }
}

/// On one core a file is read on the analysis' thread and in place (its
/// pages mapped, not copied); on two, read on a thread of its own into a
/// buffer. Both give the same report, stderr and exit status, on every
/// fixture and corpus capture, with and without a filter.
#[test]
fn one_core_and_two_give_the_same_reports() {
    let pinned = std::process::Command::new("taskset")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !pinned {
        skip(
            "reader::one_core_and_two_give_the_same_reports",
            "no taskset to pin kawatch to one core",
        );
        return;
    }
    if std::thread::available_parallelism().map_or(true, |n| n.get() < 2) {
        skip(
            "reader::one_core_and_two_give_the_same_reports",
            "this process has one core: both runs would read the same way",
        );
        return;
    }
    let kawatch = env!("CARGO_BIN_EXE_kawatch");
    let mut compared = 0;
    for (path, filter) in captures_and_filters() {
        let mut args = vec!["report", "--format", "json", path.to_str().unwrap()];
        args.extend(filter);
        let two = std::process::Command::new(kawatch)
            .args(&args)
            .output()
            .unwrap();
        let one = std::process::Command::new("taskset")
            .args(["-c", "0", kawatch])
            .args(&args)
            .output()
            .unwrap();
        let name = format!("{} ({filter:?})", path.display());
        assert_eq!(one.status.code(), two.status.code(), "{name}");
        assert!(one.stdout == two.stdout, "{name}: the reports differ");
        assert_eq!(
            String::from_utf8_lossy(&one.stderr),
            String::from_utf8_lossy(&two.stderr),
            "{name}"
        );
        compared += 1;
    }
    assert!(compared >= 20, "{compared} reports compared");
}

/// A gzip-compressed capture (as tshark reads a `.pcap.gz`) hands over the
/// frames of the capture decompressed, ended the same way: one gzip member,
/// or several concatenated (`cat a.gz b.gz`, `gzip` of a stream in parts);
/// cut short, it ends where the compressed bytes do, with what was read
/// before. libpcap, which reads no gzip, refuses it and says what to do.
#[test]
fn gzip_compressed_captures_read_as_the_capture() {
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let gzip = |parts: &[&[u8]]| {
        let mut out = Vec::new();
        for part in parts {
            let mut e = GzEncoder::new(Vec::new(), Compression::fast());
            e.write_all(part).unwrap();
            out.extend(e.finish().unwrap());
        }
        out
    };
    let mut compared = 0;
    for path in all_captures() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let plain = read_all(&path, Reader::Native, None).map_err(|e| format!("{e:?}"));
        let (a, b) = bytes.split_at(bytes.len() / 2);
        let padded = [gzip(&[&bytes]), vec![0; 3000]].concat();
        for (how, gz) in [
            ("one member", gzip(&[&bytes])),
            ("two members", gzip(&[a, b])),
            // (As a tape block pads it: gzip -t calls it OK.)
            ("zero bytes after the member", padded),
        ] {
            let gz_path = dir.join(format!("{name}.gz"));
            std::fs::write(&gz_path, gz).unwrap();
            let got = read_all(&gz_path, Reader::Native, None).map_err(|e| format!("{e:?}"));
            match (&plain, &got) {
                (Ok(p), Ok(g)) => assert!(p == g, "{name} ({how}): different frames or end"),
                // (The error names the file: compare its kind.)
                (Err(p), Err(g)) => assert_eq!(
                    p.split([' ', '{']).next(),
                    g.split([' ', '{']).next(),
                    "{name} ({how})"
                ),
                _ => panic!("{name} ({how}): plain {plain:?}, gzip {got:?}"),
            }
            compared += 1;
        }
    }
    assert!(compared >= 20, "{compared} compared");

    // Cut inside the compressed stream: the frames before the cut.
    let path = crate_root().join(&fixture_captures()[0]);
    let bytes = std::fs::read(&path).unwrap();
    let whole = gzip(&[&bytes]);
    let cut = dir.join("cut.pcap.gz");
    std::fs::write(&cut, &whole[..whole.len() * 2 / 3]).unwrap();
    let got = read_all(&cut, Reader::Native, None).unwrap();
    let all = read_all(&path, Reader::Native, None).unwrap();
    assert!(got.end.is_some(), "a cut stream ends in an error");
    assert!(!got.frames.is_empty() && got.frames.len() < all.frames.len());
    assert_eq!(got.frames[..], all.frames[..got.frames.len()]);

    // Bytes after the last member that are no member: every frame, then
    // an error that says what they are (zeros before them or not).
    for tail in [&b"not gzip"[..], &[0, 0, 0, 0x1f, 0x8b, 8, 0][..]] {
        let garbage = dir.join("garbage.pcap.gz");
        std::fs::write(&garbage, [&whole[..], tail].concat()).unwrap();
        let got = read_all(&garbage, Reader::Native, None).unwrap();
        assert_eq!(got.frames, all.frames, "{tail:?}");
        assert_eq!(got.end.as_deref(), Some("Damaged"), "{tail:?}");
        let mut src = Source::open_file(&garbage, None).unwrap();
        let end = loop {
            match src.next_frame() {
                Ok(Next::End) => panic!("{tail:?}: ended cleanly"),
                Err(e) => break e.to_string(),
                Ok(_) => {}
            }
        };
        assert!(end.contains("trailing garbage"), "{tail:?}: {end}");
    }

    // libpcap reads no gzip.
    let gz_path = dir.join("whole.pcap.gz");
    std::fs::write(&gz_path, &whole).unwrap();
    let err = read_all(&gz_path, Reader::Libpcap, None).unwrap_err();
    assert!(matches!(err, CaptureError::Compressed { .. }), "{err:?}");
    assert!(
        err.to_string().contains("leave out --reader libpcap"),
        "{err}"
    );
}
