//! End to end against a generated capture: `kawatch report --format json` on
//! 3000 synthetic flows (`kawatch_synth::Generator`), every prober checked
//! against the truth the generator made them from.
//!
//! What is checked, per flow: the flow is reported; its zero-window probe
//! count; the probers are exactly the sides that sent keepalive probes (none
//! on zero-window, retransmission or keepalive-off flows). Per prober: the
//! outcome, probes sent and answered, the probe count on a give-up, and the
//! likely idle / interval / probe count wherever the capture shows them.
//! Where the wire cannot tell (a setting whose 0-3 % lateness reaches the
//! next second, a mid-capture probe nothing vouches for), the check is the
//! range the truth allows, or a note instead of a failure.

use kawatch_synth::truth::{FlowTruth, KeepaliveConfig, ProberTruth, Truth};
use kawatch_synth::{write_capture, Config};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::BufWriter;
use std::process::Command;

const FLOWS: u32 = 3000;
const PACKETS: u64 = 150_000;
const SEED: u64 = 5;

/// One prober as the truth and the report have it.
struct Case<'a> {
    flow: &'a FlowTruth,
    ka: KeepaliveConfig,
    truth: &'a ProberTruth,
    got: &'a Value,
}

enum Verdict {
    Pass,
    /// Not applicable to this prober.
    Skip,
    /// The wire does not settle it; worth a look, not a failure.
    Note(String),
    Fail(String),
}
use Verdict::{Fail, Note, Pass, Skip};

type Check = fn(&Case) -> Verdict;

/// The per-prober checks, by name.
const PROBER_CHECKS: &[(&str, Check)] = &[
    ("outcome", check_outcome),
    ("probes_sent", check_sent),
    ("probes_answered", check_answered),
    ("give-up probe count", check_give_up_count),
    ("likely.probes", check_likely_probes),
    ("idle", check_idle),
    ("idle claimed where unobservable", check_idle_claim),
    ("intvl observed", check_intvl_observed),
    ("likely.intvl", check_likely_intvl),
];

fn u(v: &Value) -> Option<u64> {
    v.as_u64()
}

fn likely<'v>(got: &'v Value, key: &str) -> &'v Value {
    &got["likely"][key]
}

fn check_outcome(c: &Case) -> Verdict {
    let want = c.truth.outcome.as_str();
    match c.got["outcome"].as_str() {
        Some(got) if got == want => Pass,
        got => Fail(format!("outcome {got:?}, want {want:?}")),
    }
}

fn check_sent(c: &Case) -> Verdict {
    let want = c.truth.probes_sent as u64;
    match u(&c.got["probes_sent"]) {
        Some(got) if got == want => Pass,
        got => Fail(format!("probes_sent {got:?}, want {want}")),
    }
}

fn check_answered(c: &Case) -> Verdict {
    let want = c.truth.probes_answered as u64;
    match u(&c.got["probes_answered"]) {
        Some(got) if got == want => Pass,
        got => Fail(format!("probes_answered {got:?}, want {want}")),
    }
}

fn check_give_up_count(c: &Case) -> Verdict {
    let Some(want) = c.truth.give_up_probes else {
        return Skip;
    };
    match u(&c.got["probes"]) {
        Some(got) if got == want as u64 => Pass,
        got => Fail(format!(
            "probes (unanswered before give-up) {got:?}, want {want}"
        )),
    }
}

fn check_likely_probes(c: &Case) -> Verdict {
    let got = u(likely(c.got, "probes"));
    let kernel = c.truth.give_up_probes_kernel.map(u64::from);
    match (got, kernel) {
        (Some(g), Some(k)) if g == k => Pass,
        (Some(g), _) => Fail(format!(
            "likely.probes {g}, but the kernel gave up after {kernel:?} (probes={}, user timeout {:?})",
            c.ka.probes, c.ka.user_timeout_ms
        )),
        (None, Some(k)) if c.truth.give_up_run_whole && !c.flow.started_before_capture => Fail(
            format!("likely.probes null, but the whole run of {k} unanswered probes is in the capture"),
        ),
        (None, _) => Skip,
    }
}

/// Whole seconds an observation of a setting can read as: the setting itself
/// when determinable, else up to the latest observation plus kawatch's early allowance.
fn allowed(setting: u32, exact: bool, max_observed: f64) -> (u64, u64) {
    let hi = if exact {
        setting as u64
    } else {
        (max_observed + 0.2).floor() as u64
    };
    (setting as u64, hi)
}

fn check_idle(c: &Case) -> Verdict {
    if !c.truth.idle_observable {
        return Skip;
    }
    let (lo, hi) = allowed(c.ka.idle_s, c.truth.idle_exact, c.truth.idle_observed_max_s);
    match u(likely(c.got, "idle_s")) {
        Some(g) if (lo..=hi).contains(&g) => Pass,
        g => Fail(format!(
            "likely.idle_s {g:?} (idle_s {}), want {lo}..={hi}: configured {} s and an episode shows it",
            c.got["idle_s"], c.ka.idle_s
        )),
    }
}

fn check_idle_claim(c: &Case) -> Verdict {
    if c.truth.idle_observable {
        return Skip;
    }
    let Some(g) = u(likely(c.got, "idle_s")) else {
        return Pass;
    };
    if g < c.ka.idle_s as u64 {
        // Timers never fire early: no observation can be below the setting.
        Fail(format!(
            "likely.idle_s {g} below the configured {} s",
            c.ka.idle_s
        ))
    } else if g != c.ka.idle_s as u64 {
        Note(format!(
            "likely.idle_s {g} (idle_s {}), configured {} s: no episode shows the idle on its own \
             (the timer ran on the {} s interval's beat), so this is only an upper bound",
            c.got["idle_s"], c.ka.idle_s, c.ka.intvl_s
        ))
    } else {
        Pass
    }
}

fn check_intvl_observed(c: &Case) -> Verdict {
    let got = !c.got["intvl_s"].is_null();
    match (got, c.truth.intvl_observable) {
        (true, true) | (false, false) => Pass,
        (false, true) => Fail(
            "intvl_s null, but two consecutive probes, the first unanswered, are in the capture"
                .into(),
        ),
        (true, false) => Fail(format!(
            "intvl_s {} from unanswered probes, but no probe followed an unanswered one",
            c.got["intvl_s"]
        )),
    }
}

fn check_likely_intvl(c: &Case) -> Verdict {
    let got = u(likely(c.got, "intvl_s"));
    let (lo, hi) = allowed(
        c.ka.intvl_s,
        c.truth.intvl_exact,
        c.truth.intvl_observed_max_s,
    );
    match got {
        Some(g) if (lo..=hi).contains(&g) => Pass,
        Some(g) => Fail(format!(
            "likely.intvl_s {g} (intvl_s {}, cadence_s {}), want {lo}..={hi}",
            c.got["intvl_s"], c.got["cadence_s"]
        )),
        None if c.truth.intvl_observable => Fail(format!(
            "likely.intvl_s null, want {lo}..={hi}: unanswered probes show it"
        )),
        None => Skip,
    }
}

#[derive(Default)]
struct Tally {
    pass: usize,
    skip: usize,
    notes: Vec<String>,
    failures: Vec<String>,
}

fn flow_key(a: &str, b: &str, vlan: Option<u64>) -> (String, String, Option<u64>) {
    let (x, y) = if a <= b { (a, b) } else { (b, a) };
    (x.to_string(), y.to_string(), vlan)
}

fn describe(flow: &FlowTruth, got: Option<&Value>) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "    truth:  {}",
        serde_json::to_string(flow).unwrap_or_default()
    );
    let _ = writeln!(
        s,
        "    report: {}",
        got.map_or_else(|| "(no flow)".into(), Value::to_string)
    );
    s
}

fn generate() -> (tempfile::TempDir, std::path::PathBuf, Truth) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("generated.pcap");
    let file = File::create(&path).expect("create capture");
    let truth = write_capture(
        Config::new(FLOWS, PACKETS, SEED),
        BufWriter::new(file),
        262_144,
    )
    .expect("write capture");
    (dir, path, truth)
}

#[test]
fn report_matches_generated_truth() {
    let (_dir, path, truth) = generate();
    let out = Command::new(env!("CARGO_BIN_EXE_kawatch"))
        .args(["report", "--format", "json"])
        .arg(&path)
        .output()
        .expect("run kawatch");
    assert!(
        out.status.success(),
        "kawatch failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The CLI writes its flows' JSON in batches on several threads: byte
    // for byte what serde_json writes of the library's whole report.
    let whole = kawatch::analyse_file(&path).expect("library report");
    let mut expected = serde_json::to_string_pretty(&whole).expect("serialise");
    expected.push('\n');
    assert!(
        out.stdout == expected.as_bytes(),
        "the CLI's JSON differs from the library report's serde_json text"
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(
        u(&report["source"]["frames"]),
        Some(truth.frames),
        "frames read"
    );

    let mut by_key: HashMap<_, &Value> = HashMap::new();
    for f in report["flows"].as_array().expect("flows") {
        let vlan = f["vlan"].as_array().and_then(|v| v.first()).and_then(u);
        let key = flow_key(
            f["a"].as_str().unwrap_or(""),
            f["b"].as_str().unwrap_or(""),
            vlan,
        );
        by_key.insert(key, f);
    }

    let mut tallies: Vec<Tally> = PROBER_CHECKS.iter().map(|_| Tally::default()).collect();
    let mut flow_failures = Vec::new();
    let mut flow_notes = Vec::new();
    let mut probers = 0;
    for flow in &truth.flows {
        let key = flow_key(&flow.client, &flow.server, flow.vlan.map(u64::from));
        let Some(&got) = by_key.get(&key) else {
            flow_failures.push(format!(
                "flow {} ({:?}) not in the report\n{}",
                flow.id,
                flow.kind,
                describe(flow, None)
            ));
            continue;
        };
        if u(&got["zero_window_probes"]) != Some(flow.zero_window_probes as u64) {
            flow_failures.push(format!(
                "flow {} ({:?}): zero_window_probes {}, want {}\n{}",
                flow.id,
                flow.kind,
                got["zero_window_probes"],
                flow.zero_window_probes,
                describe(flow, Some(got))
            ));
        }
        if u(&got["segments"]) != Some(flow.segments) {
            flow_notes.push(format!(
                "flow {} ({:?}): segments {}, want {} (identical segments <1 ms apart read as a duplicate capture?)",
                flow.id, flow.kind, got["segments"], flow.segments
            ));
        }
        let reported: HashMap<&str, &Value> = got["keepalive"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|p| (p["prober"].as_str().unwrap_or(""), p))
                    .collect()
            })
            .unwrap_or_default();
        for side in &flow.sides {
            let rep = reported.get(side.endpoint.as_str()).copied();
            let (Some(truth_p), Some(ka)) = (&side.prober, side.keepalive) else {
                if let Some(rep) = rep {
                    flow_failures.push(format!(
                        "flow {} ({:?}): {} reported as a prober ({} probes), but it sent no keepalive probe (keepalive {})\n{}",
                        flow.id,
                        flow.kind,
                        side.endpoint,
                        rep["probes_sent"],
                        if side.keepalive.is_some() { "on" } else { "off" },
                        describe(flow, Some(got))
                    ));
                }
                continue;
            };
            let Some(rep) = rep else {
                let msg = format!(
                    "flow {} ({:?}): prober {} missing ({} probes in the capture)",
                    flow.id, flow.kind, side.endpoint, truth_p.probes_sent
                );
                if truth_p.recognisable {
                    flow_failures.push(format!("{msg}\n{}", describe(flow, Some(got))));
                } else {
                    flow_notes.push(format!("{msg}; nothing on the wire vouches for them"));
                }
                continue;
            };
            probers += 1;
            let case = Case {
                flow,
                ka,
                truth: truth_p,
                got: rep,
            };
            for ((name, check), tally) in PROBER_CHECKS.iter().zip(&mut tallies) {
                match check(&case) {
                    Pass => tally.pass += 1,
                    Skip => tally.skip += 1,
                    Note(n) => tally
                        .notes
                        .push(format!("flow {} prober {}: {n}", flow.id, side.endpoint)),
                    Fail(why) => tally.failures.push(format!(
                        "[{name}] flow {} ({:?}) prober {}: {why}\n{}",
                        flow.id,
                        flow.kind,
                        side.endpoint,
                        describe(flow, Some(got))
                    )),
                }
            }
        }
    }

    let mut summary = format!(
        "{} frames, {} flows, {} probers checked\n",
        truth.frames,
        truth.flows.len(),
        probers
    );
    for ((name, _), t) in PROBER_CHECKS.iter().zip(&tallies) {
        let _ = writeln!(
            summary,
            "  {name:<34} {:>5} pass {:>5} n/a {:>3} notes {:>3} FAIL",
            t.pass,
            t.skip,
            t.notes.len(),
            t.failures.len()
        );
    }
    let _ = writeln!(
        summary,
        "  {:<34} {:>3} notes {:>3} FAIL",
        "flows and their probers",
        flow_notes.len(),
        flow_failures.len()
    );
    eprintln!("{summary}");
    let notes: Vec<&String> = flow_notes
        .iter()
        .chain(tallies.iter().flat_map(|t| &t.notes))
        .collect();
    for n in notes.iter().take(10) {
        eprintln!("note: {n}");
    }
    let failures: Vec<&String> = flow_failures
        .iter()
        .chain(tallies.iter().flat_map(|t| &t.failures))
        .collect();
    if !failures.is_empty() {
        let shown: Vec<&str> = failures.iter().take(12).map(|s| s.as_str()).collect();
        panic!(
            "{} mismatches against the generated truth (seed {SEED}); first {}:\n{}\n{summary}",
            failures.len(),
            shown.len(),
            shown.join("\n")
        );
    }
}

#[test]
fn generation_is_deterministic() {
    let run = || {
        let mut out = Vec::new();
        let truth = write_capture(Config::new(200, 8_000, 11), &mut out, 262_144).unwrap();
        (out, serde_json::to_string(&truth).unwrap())
    };
    assert!(run() == run(), "same seed, different capture or truth");
}
