//! kawatch's keepalive probes against Wireshark's.
//!
//! On every capture under `fixtures/`, the frames kawatch calls `probe`
//! (`kawatch report --format events`) must be the frames tshark marks
//! `tcp.analysis.keep_alive`, except where Wireshark is known to be wrong.
//! Each exception is listed below with its reason (see
//! /work/shared/KEEPALIVE-FACTS.md, items 9, 10 and 18).
//!
//! Without tshark the tests print `SKIP <test>: tshark not installed` and
//! pass, unless `KAWATCH_STRICT=1`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::ErrorKind;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use kawatch_synth::{cases, Role};
use serde_json::Value;

fn crate_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Why Wireshark disagrees with the truth on some frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WiresharkError {
    /// Item 9: Linux zero-window probes have a keepalive's bytes (0 bytes
    /// at snd_una - 1); Wireshark calls them "TCP keep-alive segment". They
    /// follow the peer's zero window and back off from one RTO.
    ZeroWindowProbe,
    /// Item 10: a 1-byte data segment retransmitted because its ACK was
    /// lost sits at next seq - 1 with length 1; Wireshark calls it
    /// keep-alive, but that byte was never acknowledged.
    OneByteRetransmission,
    /// Item 18: when the capture starts on an idle connection, Wireshark
    /// has no "next seq" yet: the first probe sets it, and the repeats are
    /// "Duplicate ACK". kawatch recognises them from the answer (ack =
    /// probe seq + 1) or from the same seq/ack repeating at steady spacing.
    MidIdleStart,
    /// Wireshark 4.0 keeps "next seq" = 0 as "not known": when snd_nxt is
    /// exactly 2^32 (probe seq 0xffffffff), only the first probe is labelled
    /// and the repeats are "Duplicate ACK". Seen in fixtures/synth/
    /// seq_wraparound.pcap; with snd_nxt = 1 or 2^32 - 1 Wireshark is right.
    NextSeqZero,
    /// Item 21: a Windows 1-byte probe at capture start, answered without a
    /// D-SACK, reads as new data acknowledged; Wireshark labels only the
    /// repeats. Its repeats at the same seq, a timer's spacing later, show
    /// it was a probe too.
    LoneByteAtStart,
}

/// Synthetic cases where Wireshark misses real probes, and why.
const MISSED_PROBES: &[(&str, WiresharkError)] = &[
    ("mid_idle_start", WiresharkError::MidIdleStart),
    ("mid_idle_unanswered", WiresharkError::MidIdleStart),
    ("seq_wraparound", WiresharkError::NextSeqZero),
    ("lone_byte_probes_at_start", WiresharkError::LoneByteAtStart),
];

/// Captures not made by kawatch_synth::cases (kernel captures...) where
/// Wireshark misses real probes: (path, frames, reason). Its mislabels need
/// no entry: [`mislabels`] finds them from the capture itself.
const OTHER_MISSED_PROBES: &[(&str, &[u64], WiresharkError)] = &[];

enum Tshark {
    Missing,
    Frames(BTreeSet<u64>),
}

/// `tshark -r FILE -Y tcp.analysis.keep_alive -T fields -e frame.number`.
fn tshark_keepalives(capture: &str) -> Result<Tshark, String> {
    let out = match Command::new("tshark")
        .args([
            "-n",
            "-o",
            "tcp.analyze_sequence_numbers:TRUE",
            "-r",
            capture,
        ])
        .args([
            "-Y",
            "tcp.analysis.keep_alive",
            "-T",
            "fields",
            "-e",
            "frame.number",
        ])
        .current_dir(crate_root())
        .output()
    {
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Tshark::Missing),
        Err(e) => return Err(format!("cannot run tshark: {e}")),
        Ok(out) => out,
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    // tshark exits non-zero on a file cut off mid-packet, after printing
    // what it read.
    if !out.status.success() && !stderr.contains("cut short in the middle of a packet") {
        return Err(format!("{capture}: tshark failed: {stderr}"));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.trim()
                .parse()
                .map_err(|_| format!("{capture}: unexpected tshark output line {l:?}"))
        })
        .collect::<Result<_, _>>()
        .map(Tshark::Frames)
}

/// What Wireshark decodes of one frame's TCP header.
struct Segment {
    frame: u64,
    stream: u64,
    sport: u16,
    dport: u16,
    seq: u32,
    ack: Option<u32>,
    len: u32,
    window: u32,
    /// Capture time, epoch seconds.
    ts: f64,
}

/// Every TCP segment of a capture, in frame order, as tshark decodes it.
fn tshark_segments(capture: &str) -> Result<Vec<Segment>, String> {
    let fields = [
        "frame.number",
        "tcp.stream",
        "tcp.srcport",
        "tcp.dstport",
        "tcp.seq_raw",
        "tcp.ack_raw",
        "tcp.flags.ack",
        "tcp.len",
        "tcp.window_size_value",
        "frame.time_epoch",
    ];
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-r", capture, "-T", "fields"]);
    for field in fields {
        cmd.args(["-e", field]);
    }
    let out = cmd
        .current_dir(crate_root())
        .output()
        .map_err(|e| format!("cannot run tshark: {e}"))?;
    let mut segments = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() != fields.len() || cols[1].is_empty() {
            continue; // not TCP
        }
        let num = |i: usize| -> Result<u64, String> {
            cols[i]
                .parse()
                .map_err(|_| format!("{capture}: tshark field {} is {:?}", fields[i], cols[i]))
        };
        let has_ack = matches!(cols[6], "1" | "True");
        segments.push(Segment {
            frame: num(0)?,
            stream: num(1)?,
            sport: num(2)? as u16,
            dport: num(3)? as u16,
            seq: num(4)? as u32,
            ack: has_ack.then(|| num(5)).transpose()?.map(|a| a as u32),
            len: num(7)? as u32,
            window: num(8)? as u32,
            ts: cols[9]
                .parse()
                .map_err(|_| format!("{capture}: tshark's frame.time_epoch is {:?}", cols[9]))?,
        });
    }
    Ok(segments)
}

/// Frames Wireshark marks keep-alive that the capture itself shows are not
/// probes:
/// * no data, and the receiver's last segment advertised a zero window: a
///   zero-window probe (item 9);
/// * one byte that the receiver has not acknowledged yet: a retransmission
///   (item 10). A real 1-byte probe repeats an acknowledged byte.
fn mislabels(segments: &[Segment], marked: &BTreeSet<u64>) -> BTreeMap<u64, WiresharkError> {
    // Per direction (stream, source port): last window, highest ack, when
    // its last segment other than a keep-alive was seen.
    type Last = (u32, Option<u32>, Option<f64>);
    let mut last: BTreeMap<(u64, u16), Last> = BTreeMap::new();
    // Per direction: the byte it resent too soon for a keepalive timer.
    let mut resending: BTreeMap<(u64, u16), u32> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for seg in segments {
        let this = (seg.stream, seg.sport);
        if marked.contains(&seg.frame) {
            let receiver = last.get(&(seg.stream, seg.dport));
            let zero_window = receiver.is_some_and(|(window, _, _)| *window == 0);
            // Acknowledged means the receiver's ack is past this byte.
            let acknowledged = receiver
                .and_then(|(_, ack, _)| *ack)
                .is_some_and(|ack| (ack.wrapping_sub(seg.seq) as i32) > 0);
            // A byte resent within 0.9 s of the sender's last receiving
            // anything: no keepalive timer fires that soon (item 7), so
            // the acknowledgment was lost past the capture point (item 10),
            // and its later copies are retransmissions too.
            let too_soon = receiver
                .and_then(|(_, _, at)| *at)
                .is_some_and(|at| (0.0..0.9).contains(&(seg.ts - at)));
            if seg.len == 0 && zero_window {
                out.insert(seg.frame, WiresharkError::ZeroWindowProbe);
            } else if seg.len == 1
                && (!acknowledged || too_soon || resending.get(&this) == Some(&seg.seq))
            {
                out.insert(seg.frame, WiresharkError::OneByteRetransmission);
                if acknowledged {
                    resending.insert(this, seg.seq);
                }
            }
        } else if seg.len > 0 {
            resending.remove(&this);
        }
        let entry = last.entry(this).or_insert((0, None, None));
        entry.0 = seg.window;
        if !marked.contains(&seg.frame) {
            entry.2 = Some(seg.ts);
        }
        if let Some(ack) = seg.ack {
            let newer = entry.1.is_none_or(|old| (ack.wrapping_sub(old) as i32) > 0);
            if newer {
                entry.1 = Some(ack);
            }
        }
    }
    out
}

/// kawatch's events by kind: kind -> frames.
fn kawatch_events(capture: &str) -> Result<BTreeMap<String, BTreeSet<u64>>, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_kawatch"))
        .args(["report", "--format", "events", capture])
        .current_dir(crate_root())
        .output()
        .map_err(|e| format!("cannot run kawatch: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{capture}: kawatch failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let mut by_kind: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if line.trim().is_empty() {
            continue;
        }
        let event: Value = serde_json::from_str(line)
            .map_err(|e| format!("{capture}: event is not JSON ({e}): {line}"))?;
        match (event["frame"].as_u64(), event["kind"].as_str()) {
            (Some(frame), Some(kind)) => {
                by_kind.entry(kind.to_string()).or_default().insert(frame);
            }
            _ => return Err(format!("{capture}: event without frame/kind: {line}")),
        }
    }
    Ok(by_kind)
}

/// Every capture under fixtures/, relative to the crate root, sorted.
fn fixture_captures() -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("pcap" | "pcapng")
            ) {
                let rel = path.strip_prefix(root).expect("under the crate root");
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(&crate_root().join("fixtures"), crate_root(), &mut out);
    out.sort();
    out
}

/// Ground truth for a synthetic capture: frames of each role, plus the
/// probes Wireshark is known to miss. `None` for other captures.
struct Truth {
    probes: BTreeSet<u64>,
    /// Not probes, but Wireshark marks them keep-alive.
    mislabelled: BTreeMap<u64, WiresharkError>,
    /// Probes Wireshark does not mark.
    missed: BTreeMap<u64, WiresharkError>,
}

fn synthetic_truth(capture: &str) -> Option<Truth> {
    let file = capture.strip_prefix("fixtures/synth/")?;
    let case = cases::by_file_name(file)?;
    let missed_reason = MISSED_PROBES
        .iter()
        .find(|(name, _)| *name == case.name)
        .map(|(_, why)| *why);
    let mut truth = Truth {
        probes: BTreeSet::new(),
        mislabelled: BTreeMap::new(),
        missed: BTreeMap::new(),
    };
    for (i, frame) in (case.build)().frames().iter().enumerate() {
        let n = i as u64 + 1;
        match frame.role {
            Role::Probe => {
                truth.probes.insert(n);
                if let Some(why) = missed_reason {
                    truth.missed.insert(n, why);
                }
            }
            Role::ZeroWindowProbe => {
                truth.mislabelled.insert(n, WiresharkError::ZeroWindowProbe);
            }
            // The cases retransmit only single bytes.
            Role::Retransmission => {
                truth
                    .mislabelled
                    .insert(n, WiresharkError::OneByteRetransmission);
            }
            _ => {}
        }
    }
    Some(truth)
}

fn strict() -> bool {
    std::env::var("KAWATCH_STRICT").is_ok_and(|v| v == "1")
}

fn skip_or_fail(test: &str) {
    assert!(
        !strict(),
        "{test}: tshark not installed (KAWATCH_STRICT=1 requires it)"
    );
    eprintln!("SKIP {test}: tshark not installed");
}

/// Differences between `ours` and Wireshark's `theirs`, less the excused ones.
fn unexcused(
    ours: &BTreeSet<u64>,
    theirs: &BTreeSet<u64>,
    wireshark_only_ok: &dyn Fn(u64) -> bool,
    ours_only_ok: &dyn Fn(u64) -> bool,
) -> Option<String> {
    let extra: Vec<u64> = theirs
        .difference(ours)
        .copied()
        .filter(|&f| !wireshark_only_ok(f))
        .collect();
    let missing: Vec<u64> = ours
        .difference(theirs)
        .copied()
        .filter(|&f| !ours_only_ok(f))
        .collect();
    (!extra.is_empty() || !missing.is_empty()).then(|| {
        format!(
            "only Wireshark marks frames {extra:?}; only the other side marks frames \
             {missing:?} (Wireshark: {theirs:?}, other side: {ours:?})"
        )
    })
}

/// What tshark says about one capture.
struct Wireshark {
    /// Frames marked `tcp.analysis.keep_alive`.
    marked: BTreeSet<u64>,
    segments: Vec<Segment>,
}

/// Runs both tshark passes; `None` when tshark is not installed.
fn wireshark(capture: &str) -> Result<Option<Wireshark>, String> {
    match tshark_keepalives(capture)? {
        Tshark::Missing => Ok(None),
        Tshark::Frames(marked) => Ok(Some(Wireshark {
            marked,
            segments: tshark_segments(capture)?,
        })),
    }
}

/// The result of checking one capture.
enum Check {
    Pass,
    Fail(String),
    NoTshark,
}

/// Checks every capture, a few at a time (tshark is slow to start), and
/// fails with every problem found; skips when tshark is not installed.
fn check_all(test: &str, captures: &[String], check: impl Fn(&str) -> Check + Sync) {
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    let results: Vec<Check> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(capture) = captures.get(i) else {
                            return done;
                        };
                        done.push(check(capture));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("checker thread"))
            .collect()
    });
    if results.iter().any(|r| matches!(r, Check::NoTshark)) {
        return skip_or_fail(test);
    }
    let mut failures: Vec<&str> = results
        .iter()
        .filter_map(|r| match r {
            Check::Fail(e) => Some(e.as_str()),
            _ => None,
        })
        .collect();
    failures.sort();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn kawatch_probes_match_wireshark_keepalives() {
    check_all(
        "kawatch_probes_match_wireshark_keepalives",
        &fixture_captures(),
        check_kawatch,
    );
}

fn check_kawatch(capture: &str) -> Check {
    let Wireshark { marked, segments } = match wireshark(capture) {
        Ok(Some(w)) => w,
        Ok(None) => return Check::NoTshark,
        Err(e) => return Check::Fail(e),
    };
    let probes = match kawatch_events(capture) {
        Ok(mut events) => events.remove("probe").unwrap_or_default(),
        Err(e) => return Check::Fail(e),
    };
    let mislabelled = mislabels(&segments, &marked);
    let truth = synthetic_truth(capture);
    let other = OTHER_MISSED_PROBES
        .iter()
        .find(|(path, ..)| *path == capture);
    let missed_ok = |f: u64| {
        truth.as_ref().is_some_and(|t| t.missed.contains_key(&f))
            || other.is_some_and(|(_, frames, _)| frames.contains(&f))
    };
    match unexcused(
        &probes,
        &marked,
        &|f| mislabelled.contains_key(&f),
        &missed_ok,
    ) {
        Some(diff) => Check::Fail(format!("{capture}: kawatch vs Wireshark: {diff}")),
        None => Check::Pass,
    }
}

/// The synthetic fixtures themselves, against Wireshark and without kawatch:
/// Wireshark marks every scripted probe except the documented misses, and
/// nothing else except the documented mislabels, which [`mislabels`] must
/// find. This keeps the fixtures honest and shows that each exception
/// really happens.
#[test]
fn synthetic_probes_match_wireshark_keepalives() {
    let captures: Vec<String> = cases::all()
        .iter()
        .map(|case| format!("fixtures/synth/{}", case.file_name()))
        .collect();
    check_all(
        "synthetic_probes_match_wireshark_keepalives",
        &captures,
        check_script,
    );
}

fn check_script(capture: &str) -> Check {
    let Wireshark { marked, segments } = match wireshark(capture) {
        Ok(Some(w)) => w,
        Ok(None) => return Check::NoTshark,
        Err(e) => return Check::Fail(e),
    };
    let truth = synthetic_truth(capture).expect("a synthetic case");
    let mut problems = Vec::new();
    if let Some(diff) = unexcused(
        &truth.probes,
        &marked,
        &|f| truth.mislabelled.contains_key(&f),
        &|f| truth.missed.contains_key(&f),
    ) {
        problems.push(format!("script vs Wireshark: {diff}"));
    }
    let found = mislabels(&segments, &marked);
    let scripted: BTreeMap<u64, WiresharkError> = truth
        .mislabelled
        .iter()
        .filter(|(f, _)| marked.contains(f))
        .map(|(f, why)| (*f, *why))
        .collect();
    if found != scripted {
        problems.push(format!(
            "mislabels() finds {found:?}, the script says {scripted:?}"
        ));
    }
    // Each documented error must show on at least one of its frames, or the
    // exception is stale.
    let mislabel_shows = truth.mislabelled.keys().any(|f| marked.contains(f));
    let miss_shows = truth.missed.keys().any(|f| !marked.contains(f));
    if (!truth.mislabelled.is_empty() && !mislabel_shows)
        || (!truth.missed.is_empty() && !miss_shows)
    {
        problems.push(format!(
            "Wireshark no longer makes the documented error; remove the exception \
             (mislabelled {:?}, missed {:?})",
            truth.mislabelled, truth.missed
        ));
    }
    if problems.is_empty() {
        Check::Pass
    } else {
        Check::Fail(format!("{capture}: {}", problems.join("; ")))
    }
}
