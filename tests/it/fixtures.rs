//! The fixture runner.
//!
//! * `reports_match_expected`: every capture under `fixtures/` (synthetic,
//!   kernel, ...) goes through the real binary, `kawatch report --format
//!   json`, and must give the checked-in `fixtures/expected/<path>.json`.
//!   `KAWATCH_BLESS=1` rewrites those files (never for a synthetic case
//!   whose report breaks its semantics below): read every diff before you
//!   commit one. `KAWATCH_FIXTURES=<substring>` limits the run to matching
//!   captures, e.g. `KAWATCH_FIXTURES=fixtures/synth/`.
//! * `synthetic_cases_mean_what_they_say`: for each named synthetic case, a
//!   table of what the report must say (probers, outcomes, counts, timings)
//!   and the exact events the generator knows to be true, so a golden file
//!   can never bless a wrong answer.
//! * `synthetic_fixtures_are_reproducible`: the named cases of
//!   `kawatch_synth::cases` reproduce `fixtures/synth/` byte for byte.
//!   `KAWATCH_REGEN=1` rewrites them.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use kawatch_synth::cases::{self, Case};
use serde_json::Value;

pub(crate) fn crate_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1")
}

/// Every `.pcap`/`.pcapng` under `fixtures/` (but not `fixtures/expected/`),
/// relative to the crate root, with `/` separators, sorted.
pub(crate) fn fixture_captures() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("pcap" | "pcapng")
            ) {
                out.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(&crate_root().join("fixtures"), &mut found);
    let expected_dir = crate_root().join("fixtures/expected");
    let mut rel: Vec<String> = found
        .into_iter()
        .filter(|p| !p.starts_with(&expected_dir))
        .map(|p| {
            let r = p.strip_prefix(crate_root()).expect("under the crate root");
            r.components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect();
    rel.sort();
    rel
}

/// `fixtures/synth/alive.pcap` -> `fixtures/expected/synth/alive.pcap.json`.
fn expected_path(capture: &str) -> String {
    let inner = capture
        .strip_prefix("fixtures/")
        .expect("captures live under fixtures/");
    format!("fixtures/expected/{inner}.json")
}

struct Output {
    ok: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs the real binary from the crate root.
fn kawatch(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_kawatch"))
        .args(args)
        .current_dir(crate_root())
        .output()
        .expect("run kawatch");
    Output {
        ok: out.status.success(),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `kawatch report --format json`, with `source.name` set to the capture's
/// path relative to the crate root.
fn json_report(capture: &str) -> Result<(Value, Output), String> {
    let out = kawatch(&["report", "--format", "json", capture]);
    if !out.ok {
        return Err(format!(
            "{capture}: kawatch exited with {:?}\nstderr:\n{}",
            out.code, out.stderr
        ));
    }
    let mut report: Value = serde_json::from_str(&out.stdout)
        .map_err(|e| format!("{capture}: report is not JSON ({e}):\n{}", out.stdout))?;
    match report.pointer_mut("/source/name") {
        Some(name) => *name = Value::from(capture),
        None => return Err(format!("{capture}: report has no source.name")),
    }
    Ok((report, out))
}

/// `kawatch report --format events`: (frame, kind) pairs, sorted.
fn events(capture: &str) -> Result<BTreeSet<(u64, String)>, String> {
    let out = kawatch(&["report", "--format", "events", capture]);
    if !out.ok {
        return Err(format!(
            "{capture}: kawatch --format events exited with {:?}\nstderr:\n{}",
            out.code, out.stderr
        ));
    }
    out.stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let v: Value = serde_json::from_str(line)
                .map_err(|e| format!("{capture}: event line is not JSON ({e}): {line}"))?;
            match (v["frame"].as_u64(), v["kind"].as_str()) {
                (Some(frame), Some(kind)) => Ok((frame, kind.to_string())),
                _ => Err(format!("{capture}: event without frame/kind: {line}")),
            }
        })
        .collect()
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("serialise");
    s.push('\n');
    s
}

/// The first lines where two texts differ, with a little context.
fn first_difference(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let at = (0..e.len().max(a.len()))
        .find(|&i| e.get(i) != a.get(i))
        .unwrap_or(0);
    let from = at.saturating_sub(3);
    let mut out = format!("first difference at line {}:\n", at + 1);
    for i in from..(at + 4) {
        if let Some(line) = e.get(i) {
            out += &format!("  expected {:>4} | {line}\n", i + 1);
        }
        if let Some(line) = a.get(i) {
            out += &format!("  actual   {:>4} | {line}\n", i + 1);
        }
    }
    out
}

fn fail_all(failures: Vec<String>) {
    if !failures.is_empty() {
        panic!(
            "{} problem(s):\n\n{}",
            failures.len(),
            failures.join("\n\n")
        );
    }
}

// ---------------------------------------------------------------------------
// Golden reports
// ---------------------------------------------------------------------------

#[test]
fn reports_match_expected() {
    let bless = env_flag("KAWATCH_BLESS");
    let only = std::env::var("KAWATCH_FIXTURES").ok();
    let captures: Vec<String> = fixture_captures()
        .into_iter()
        .filter(|c| only.as_ref().is_none_or(|only| c.contains(only.as_str())))
        .collect();
    assert!(!captures.is_empty(), "no captures under fixtures/");
    let mut failures = Vec::new();
    let mut expected_files = BTreeSet::new();
    for capture in &captures {
        let expected_file = expected_path(capture);
        expected_files.insert(expected_file.clone());
        let (report, _) = match json_report(capture) {
            Ok(r) => r,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        let actual = pretty(&report);
        let path = crate_root().join(&expected_file);
        if bless {
            // A synthetic case must mean what it says before it is blessed.
            if let Some(Err(errs)) = check_synthetic(capture) {
                failures.push(format!(
                    "{capture}: not blessed, the report is wrong:\n  {}",
                    errs.join("\n  ")
                ));
                continue;
            }
            fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
            fs::write(&path, &actual).expect("write expected report");
            eprintln!("blessed {expected_file}");
            continue;
        }
        match fs::read_to_string(&path) {
            Err(_) => failures.push(format!(
                "{capture}: no {expected_file}; check the report, then run with KAWATCH_BLESS=1"
            )),
            Ok(text) => {
                let expected: Value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{expected_file} is not JSON: {e}"));
                if expected != report {
                    failures.push(format!(
                        "{capture}: report differs from {expected_file}\n{}\
                         (if the new report is right, rerun with KAWATCH_BLESS=1)",
                        first_difference(&pretty(&expected), &actual)
                    ));
                }
            }
        }
    }
    // An expected report without its capture is a leftover.
    if only.is_none() {
        let mut on_disk = Vec::new();
        collect_json(&crate_root().join("fixtures/expected"), &mut on_disk);
        for file in on_disk {
            let rel = file
                .strip_prefix(crate_root())
                .expect("under the crate root")
                .to_string_lossy()
                .replace('\\', "/");
            if !expected_files.contains(&rel) {
                failures.push(format!(
                    "{rel}: expected report without a capture; delete it"
                ));
            }
        }
    }
    fail_all(failures);
}

fn collect_json(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_json(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

// ---------------------------------------------------------------------------
// Synthetic fixtures are what the generator makes
// ---------------------------------------------------------------------------

#[test]
fn synthetic_fixtures_are_reproducible() {
    let regen = env_flag("KAWATCH_REGEN");
    let dir = crate_root().join("fixtures/synth");
    let mut failures = Vec::new();
    let mut names = BTreeSet::new();
    for case in cases::all() {
        let file = case.file_name();
        names.insert(file.clone());
        let bytes = (case.build)().to_bytes();
        assert_eq!(
            bytes,
            (case.build)().to_bytes(),
            "{}: the generator is not deterministic",
            case.name
        );
        let path = dir.join(&file);
        if regen {
            fs::create_dir_all(&dir).expect("mkdir fixtures/synth");
            fs::write(&path, &bytes).expect("write fixture");
            eprintln!("wrote fixtures/synth/{file}");
        } else {
            match fs::read(&path) {
                Ok(on_disk) if on_disk == bytes => {}
                Ok(_) => failures.push(format!(
                    "fixtures/synth/{file} differs from what kawatch_synth::cases makes; \
                     if the generator change is intended, run with KAWATCH_REGEN=1"
                )),
                Err(_) => failures.push(format!(
                    "fixtures/synth/{file} is missing; run with KAWATCH_REGEN=1"
                )),
            }
        }
    }
    for entry in fs::read_dir(&dir).expect("fixtures/synth").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !names.contains(&name) {
            failures.push(format!(
                "fixtures/synth/{name} is not made by any case in kawatch_synth::cases"
            ));
        }
    }
    fail_all(failures);
}

// ---------------------------------------------------------------------------
// What each synthetic case must report
// ---------------------------------------------------------------------------

/// Seconds of slack on timings. The scripts place every packet exactly, so
/// this only covers rounding in the report.
const TOL: f64 = 0.005;

/// One prober of a case, as the report must show it.
#[derive(Clone, Debug)]
struct Prober {
    endpoint: &'static str,
    /// VLAN ids of its flow, outermost first.
    vlan: &'static [u64],
    outcome: &'static str,
    sent: u64,
    answered: u64,
    zero_window: u64,
    /// `None`: must be null.
    idle: Option<f64>,
    intvl: Option<f64>,
    probes: Option<u64>,
    cadence: Option<f64>,
    detection: Option<f64>,
    /// `likely`: [idle_s, intvl_s, probes].
    likely: [Likely; 3],
}

/// One value of `likely`, the whole-second settings the timings allow.
#[derive(Clone, Copy, Debug)]
enum Likely {
    Is(u64),
    /// Unknown: the capture does not show it.
    Null,
    /// Either a value the case allows or null; not pinned down here.
    Any,
}

const CLIENT: &str = "198.18.0.1:40000";
const CLIENT6: &str = "[2001:db8::1]:40000";

/// Linux, idle 2 s, intvl 3 s, peer alive (`linux_alive` in kawatch_synth::cases).
fn alive(endpoint: &'static str, vlan: &'static [u64], probes: u64) -> Prober {
    Prober {
        endpoint,
        vlan,
        outcome: "alive",
        sent: probes,
        answered: probes,
        zero_window: 0,
        idle: Some(2.04),
        intvl: None,
        probes: None,
        cadence: Some(3.07),
        detection: None,
        // intvl could be read from cadence > idle; the probe count cannot
        // be known while the peer answers.
        likely: [Likely::Is(2), Likely::Any, Likely::Null],
    }
}

/// Linux, idle 2 s, intvl 1 s, cnt 3, peer gone (`linux_dead` in kawatch_synth::cases).
fn dead(endpoint: &'static str, vlan: &'static [u64]) -> Prober {
    Prober {
        endpoint,
        vlan,
        outcome: "dead",
        sent: 3,
        answered: 0,
        zero_window: 0,
        idle: Some(2.03),
        intvl: Some(1.03),
        probes: Some(3),
        cadence: None,
        detection: Some(5.12),
        likely: [Likely::Is(2), Likely::Is(1), Likely::Is(3)],
    }
}

struct Semantics {
    case: &'static str,
    /// Frames in the file (read whole).
    frames: u64,
    undecoded: u64,
    truncated: bool,
    flows: usize,
    probers: Vec<Prober>,
    /// A side that sent only zero-window probes: (endpoint, count). It may
    /// be left out of `keepalive` (it probed nothing), but if it is listed
    /// it must show 0 probes and this many zero-window probes.
    zero_window_only: Option<(&'static str, u64)>,
}

fn case(case: &'static str, frames: u64, flows: usize, probers: Vec<Prober>) -> Semantics {
    Semantics {
        case,
        frames,
        undecoded: 0,
        truncated: false,
        flows,
        probers,
        zero_window_only: None,
    }
}

fn semantics() -> Vec<Semantics> {
    vec![
        case("alive", 14, 1, vec![alive(CLIENT, &[], 4)]),
        case("dead_give_up", 10, 1, vec![dead(CLIENT, &[])]),
        case(
            "reset_by_peer",
            10,
            1,
            // Answered counts ACKs; the RST answer shows in the outcome.
            // The second probe follows the first, answered one, at the
            // cadence.
            vec![Prober {
                outcome: "reset",
                answered: 1,
                ..alive(CLIENT, &[], 2)
            }],
        ),
        case(
            "both_sides_probing",
            20,
            1,
            vec![
                Prober {
                    cadence: Some(2.0402),
                    ..alive(CLIENT, &[], 5)
                },
                // B's idle counts from A's last ACK: A's probes are not
                // activity for B.
                Prober {
                    idle: Some(5.10),
                    cadence: Some(5.1002),
                    likely: [Likely::Is(5), Likely::Any, Likely::Null],
                    ..alive("198.18.0.2:5000", &[], 2)
                },
            ],
        ),
        case(
            "mid_idle_start",
            8,
            1,
            vec![Prober {
                // The activity before the first probe is not in the capture, and
                // the gap from a reply to the next probe is max(idle, intvl)
                // (fact 5), not idle: idle is unknown here.
                idle: None,
                cadence: Some(5.1002),
                likely: [Likely::Null, Likely::Any, Likely::Null],
                ..alive(CLIENT, &[], 3)
            }],
        ),
        case(
            "mid_idle_unanswered",
            4,
            1,
            // The capture starts during the run of unanswered probes (the
            // script's cnt is 5; the first two are before the capture):
            // `probes` is what was seen before the give-up, but the setting
            // (likely.probes) is unknown, like idle and detection.
            vec![Prober {
                sent: 3,
                idle: None,
                intvl: Some(10.2),
                probes: Some(3),
                detection: None,
                likely: [Likely::Null, Likely::Is(10), Likely::Null],
                ..dead(CLIENT, &[])
            }],
        ),
        case(
            "one_byte_probe",
            12,
            1,
            vec![Prober {
                idle: Some(10.014),
                cadence: Some(10.0142),
                likely: [Likely::Is(10), Likely::Any, Likely::Null],
                ..alive("198.18.1.10:50123", &[], 3)
            }],
        ),
        Semantics {
            zero_window_only: Some((CLIENT, 5)),
            ..case("zero_window_probes", 20, 1, vec![])
        },
        case(
            "zero_window_then_keepalive",
            24,
            1,
            vec![Prober {
                zero_window: 5,
                ..alive(CLIENT, &[], 2)
            }],
        ),
        case("one_byte_retransmission", 13, 1, vec![]),
        // Its acknowledgment lost past the capture point: the copies come
        // too soon for a keepalive timer, the later ones repeat them.
        case("one_byte_ack_lost", 20, 1, vec![]),
        case("ipv6_ext_headers", 10, 1, vec![dead(CLIENT6, &[])]),
        case("vlan", 12, 1, vec![alive(CLIENT, &[42], 3)]),
        case(
            "qinq",
            20,
            2,
            vec![dead(CLIENT, &[]), dead(CLIENT, &[100, 42])],
        ),
        case("sll", 10, 1, vec![dead(CLIENT, &[])]),
        case("sll2", 12, 1, vec![alive(CLIENT, &[], 3)]),
        case(
            "null",
            22,
            2,
            vec![alive(CLIENT, &[], 3), dead(CLIENT6, &[])],
        ),
        case("loop", 10, 1, vec![dead(CLIENT, &[])]),
        case("raw_ipv4", 12, 1, vec![alive(CLIENT, &[], 3)]),
        case("linktype_ipv4", 10, 1, vec![dead(CLIENT, &[])]),
        case("linktype_ipv6", 12, 1, vec![alive(CLIENT6, &[], 3)]),
        case("pcapng", 12, 1, vec![alive(CLIENT, &[], 3)]),
        case("pcap_nanosecond", 10, 1, vec![dead(CLIENT, &[])]),
        case("pcap_big_endian", 10, 1, vec![dead(CLIENT, &[])]),
        // Item 4 of issue 11: each frame decoded by its own interface's link
        // type and cut by its own snaplen.
        case(
            "pcapng_interfaces",
            32,
            3,
            vec![
                alive(CLIENT, &[], 3),
                dead("198.18.1.1:40001", &[]),
                alive(CLIENT6, &[], 2),
            ],
        ),
        case("pcapng_byte_orders", 10, 1, vec![dead(CLIENT, &[])]),
        case("seq_wraparound", 10, 1, vec![dead(CLIENT, &[])]),
        Semantics {
            truncated: true,
            ..case("cut_off", 12, 1, vec![alive(CLIENT, &[], 3)])
        },
        case("ethernet_trailer", 12, 1, vec![alive(CLIENT, &[], 3)]),
        Semantics {
            // SYN and SYN-ACK, cut inside their TCP options: segments
            // still, with what the fixed header says.
            undecoded: 0,
            ..case("snaplen_cut", 12, 1, vec![alive(CLIENT, &[], 3)])
        },
        // Item 19: the challenge ACK and the RST to it are no keepalive.
        case("challenge_ack", 9, 1, vec![]),
        // Item 20: a retransmission backoff, whatever acknowledges it.
        case("backoff_mid_idle", 5, 1, vec![]),
        // Item 21: every 1-byte probe, the first (acknowledged as if it were
        // data) included; no idle, since none follows a data exchange.
        case(
            "lone_byte_probes_at_start",
            8,
            1,
            vec![Prober {
                endpoint: "198.18.1.30:50200",
                vlan: &[],
                outcome: "alive",
                sent: 4,
                answered: 4,
                zero_window: 0,
                idle: None,
                intvl: None,
                probes: None,
                cadence: Some(45.016),
                detection: None,
                likely: [Likely::Null, Likely::Any, Likely::Null],
            }],
        ),
        // Item 13: 59.67 s fits 59 s (Linux, late) and 60 s (early).
        case(
            "early_timer_other_stack",
            8,
            1,
            vec![Prober {
                endpoint: "198.18.1.40:50300",
                vlan: &[],
                outcome: "alive",
                sent: 1,
                answered: 1,
                zero_window: 0,
                idle: Some(59.67),
                intvl: None,
                probes: None,
                cadence: None,
                detection: None,
                likely: [Likely::Is(59), Likely::Null, Likely::Null],
            }],
        ),
        // Issue 13: application heartbeats (gRPC, MQTT, WebSocket) and no
        // TCP keepalive: no prober, no keepalive event. (What the report
        // says of the heartbeats is checked once it prints them.)
        case("heartbeats", 52, 3, vec![]),
    ]
}

#[test]
fn every_synthetic_case_has_semantics() {
    let table: BTreeSet<&str> = semantics().iter().map(|s| s.case).collect();
    let cases: BTreeSet<&str> = cases::all().iter().map(|c| c.name).collect();
    assert_eq!(
        table, cases,
        "the semantics table and kawatch_synth::cases::all() differ"
    );
}

#[test]
fn synthetic_cases_mean_what_they_say() {
    let mut failures = Vec::new();
    for case in cases::all() {
        let capture = format!("fixtures/synth/{}", case.file_name());
        if let Some(Err(e)) = check_synthetic(&capture) {
            failures.push(format!("{capture}:\n  {}", e.join("\n  ")));
        }
    }
    fail_all(failures);
}

/// Checks a synthetic capture against its row of the table; `None` when
/// the capture is not a synthetic case.
fn check_synthetic(capture: &str) -> Option<Result<(), Vec<String>>> {
    let file = capture.strip_prefix("fixtures/synth/")?;
    let case = cases::by_file_name(file)?;
    let expect = semantics().into_iter().find(|s| s.case == case.name)?;
    Some(check_case(&expect, &case, capture))
}

fn check_case(expect: &Semantics, case: &Case, capture: &str) -> Result<(), Vec<String>> {
    let mut errs = Vec::new();
    let (report, out) = json_report(capture).map_err(|e| vec![e])?;

    // The file itself.
    let source = &report["source"];
    let mut check_source = |field: &str, want: Value| {
        if source[field] != want {
            errs.push(format!(
                "source.{field} is {}, expected {want}",
                source[field]
            ));
        }
    };
    check_source("frames", expect.frames.into());
    check_source("undecoded", expect.undecoded.into());
    check_source("tcp_segments", (expect.frames - expect.undecoded).into());
    check_source("truncated", expect.truncated.into());
    // `warning:` may follow a program-name prefix (`kawatch: warning: ...`).
    let warned = out.stderr.lines().any(|l| l.contains("warning:"));
    if warned != expect.truncated {
        errs.push(format!(
            "stderr {} a `warning:` line, expected {}:\n{}",
            if warned { "has" } else { "lacks" },
            if expect.truncated {
                "one (the file is cut off)"
            } else {
                "none"
            },
            out.stderr
        ));
    }

    // Flows and probers.
    let flows = report["flows"].as_array().cloned().unwrap_or_default();
    if flows.len() != expect.flows {
        errs.push(format!("{} flows, expected {}", flows.len(), expect.flows));
    }
    let mut listed = Vec::new(); // (endpoint, vlan, entry)
    for flow in &flows {
        for entry in flow["keepalive"].as_array().into_iter().flatten() {
            listed.push((entry["prober"].clone(), flow["vlan"].clone(), entry.clone()));
        }
    }
    for want in &expect.probers {
        let vlan = Value::from(want.vlan.to_vec());
        let found: Vec<&Value> = listed
            .iter()
            .filter(|(p, v, _)| p == want.endpoint && *v == vlan)
            .map(|(_, _, e)| e)
            .collect();
        match found.as_slice() {
            [entry] => check_prober(want, entry, &mut errs),
            [] => errs.push(format!(
                "no keepalive entry for prober {} in vlan {vlan}",
                want.endpoint
            )),
            _ => errs.push(format!(
                "{} keepalive entries for prober {} in vlan {vlan}",
                found.len(),
                want.endpoint
            )),
        }
    }
    for (prober, vlan, entry) in &listed {
        let expected = expect
            .probers
            .iter()
            .any(|w| prober == w.endpoint && *vlan == Value::from(w.vlan.to_vec()));
        let zero_window_only = expect.zero_window_only.filter(|(ep, _)| prober == *ep);
        if expected {
            continue;
        }
        if let Some((_, count)) = zero_window_only {
            if entry["probes_sent"] != 0 || entry["zero_window_probes"] != count {
                errs.push(format!(
                    "{prober} sent only zero-window probes ({count}), but its entry says \
                     probes_sent {}, zero_window_probes {}",
                    entry["probes_sent"], entry["zero_window_probes"]
                ));
            }
            continue;
        }
        errs.push(format!(
            "unexpected keepalive entry for {prober} in vlan {vlan}: {entry}"
        ));
    }

    // Every classified segment, against the generator's ground truth.
    let truth: BTreeSet<(u64, String)> = (case.build)()
        .frames()
        .iter()
        .enumerate()
        .take(expect.frames as usize)
        .filter_map(|(i, f)| {
            f.role
                .event_kind()
                .map(|kind| (i as u64 + 1, kind.to_string()))
        })
        .collect();
    match events(capture) {
        Err(e) => errs.push(e),
        Ok(got) if got != truth => {
            let missing: Vec<_> = truth.difference(&got).collect();
            let extra: Vec<_> = got.difference(&truth).collect();
            errs.push(format!(
                "events differ from the script: missing {missing:?}, unexpected {extra:?}"
            ));
        }
        Ok(_) => {}
    }

    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs)
    }
}

fn check_prober(want: &Prober, entry: &Value, errs: &mut Vec<String>) {
    let who = format!("prober {} (vlan {:?})", want.endpoint, want.vlan);
    let mut exact = |field: &str, value: Value| {
        if entry[field] != value {
            errs.push(format!(
                "{who}: {field} is {}, expected {value}",
                entry[field]
            ));
        }
    };
    exact("outcome", want.outcome.into());
    exact("probes_sent", want.sent.into());
    exact("probes_answered", want.answered.into());
    exact("zero_window_probes", want.zero_window.into());
    exact("probes", want.probes.into());
    for (key, want) in ["idle_s", "intvl_s", "probes"].into_iter().zip(want.likely) {
        let got = &entry["likely"][key];
        let ok = match want {
            Likely::Is(v) => got.as_f64() == Some(v as f64),
            Likely::Null => got.is_null(),
            Likely::Any => true,
        };
        if !ok {
            errs.push(format!("{who}: likely.{key} is {got}, expected {want:?}"));
        }
    }
    let timings = [
        ("idle_s", want.idle),
        ("intvl_s", want.intvl),
        ("cadence_s", want.cadence),
        ("detection_s", want.detection),
    ];
    for (field, value) in timings {
        let got = &entry[field];
        let ok = match (value, got.as_f64()) {
            (None, _) => got.is_null(),
            (Some(v), Some(g)) => (g - v).abs() <= TOL,
            (Some(_), None) => false,
        };
        if !ok {
            let wanted = value.map_or("null".to_string(), |v| format!("{v} ± {TOL}"));
            errs.push(format!("{who}: {field} is {got}, expected {wanted}"));
        }
    }
}

/// `-` reads the capture from standard input and gives the same report.
#[test]
fn stdin_gives_the_same_report() {
    use std::io::Write;
    use std::process::Stdio;
    for capture in [
        "fixtures/synth/dead_give_up.pcap",
        "fixtures/synth/pcapng.pcapng",
    ] {
        let (mut from_file, _) = json_report(capture).unwrap_or_else(|e| panic!("{e}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_kawatch"))
            .args(["report", "--format", "json", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run kawatch");
        let bytes = fs::read(crate_root().join(capture)).expect("read capture");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(&bytes)
            .expect("write to kawatch");
        let out = child.wait_with_output().expect("wait for kawatch");
        assert!(
            out.status.success(),
            "{capture} on stdin: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let from_stdin: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
        assert_eq!(from_stdin["source"]["name"], "-");
        from_file["source"]["name"] = "-".into();
        assert_eq!(
            from_stdin, from_file,
            "{capture}: stdin and file reports differ"
        );
    }
}

/// The table report of a kernel capture: every prober with its first and
/// last probe (UTC, ISO 8601, milliseconds), its timings and likely
/// settings; `?` where a value is unknown, `-` where it does not apply.
#[test]
fn table_report() {
    let capture = "fixtures/kernel/seed4-eth.pcap";
    let out = kawatch(&["report", capture]);
    assert!(out.ok, "{capture}: {}", out.stderr);
    let (json, _) = json_report(capture).unwrap_or_else(|e| panic!("{e}"));
    // The first prober's first and last probe, as the JSON gives them in
    // seconds, written in UTC.
    let ka = &json["flows"][0]["keepalive"][0];
    let prober = ka["prober"].as_str().expect("a prober");
    let at = |field: &str| {
        let secs = ka[field]
            .as_f64()
            .unwrap_or_else(|| panic!("{field}: {ka}"));
        // A microsecond capture: whole microseconds, exact after rounding.
        let ns = (secs * 1e6).round() as i128 * 1000;
        let t = jiff::Timestamp::from_nanosecond(ns).expect("in range");
        format!("{t:.3}")
    };
    let row = out
        .stdout
        .lines()
        .find(|l| l.starts_with(prober))
        .unwrap_or_else(|| panic!("no row for {prober}:\n{}", out.stdout));
    for field in ["first_probe", "last_probe"] {
        let want = at(field);
        assert!(want.ends_with('Z') && want.len() == 24, "{want}");
        assert!(row.contains(&want), "{field} {want} missing: {row}");
    }
    insta::assert_snapshot!("table_report_seed4", out.stdout);
}
