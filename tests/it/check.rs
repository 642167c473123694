//! `kawatch check` on synthetic and real-kernel captures: rules that hold,
//! rules that fail, and rules whose value the capture cannot show; exit
//! codes, the policy file, JSON and JUnit output.

use crate::support::*;
use serde_json::Value;
use std::process::Output;

fn synth(name: &str) -> String {
    fixture(&format!("fixtures/synth/{name}"))
}

fn kernel(name: &str) -> String {
    fixture(&format!("fixtures/kernel/{name}"))
}

fn fixture(rel: &str) -> String {
    crate::fixtures::crate_root()
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// (name, arguments after `check`, exit code, words the output must hold).
type Case = (&'static str, Vec<String>, i32, Vec<&'static str>);

fn case(name: &'static str, args: &[&str], file: &str, code: i32, words: &[&'static str]) -> Case {
    let mut v: Vec<String> = args.iter().map(|s| (*s).to_string()).collect();
    v.push(file.to_string());
    (name, v, code, words.to_vec())
}

#[test]
fn rules_hold_fail_or_cannot_be_told() {
    let (alive, dead, challenge) = (
        synth("alive.pcap"),
        synth("dead_give_up.pcap"),
        synth("challenge_ack.pcap"),
    );
    // Real-kernel captures (tests/kernel.rs made them; settings.json beside
    // each says what the sockets were set to). seed4: port 5002's server
    // probes with idle 1, intvl 2, cnt 3 and gives up; port 5001's client
    // probes (idle 2, intvl 1, cnt 5) and is answered, so its interval
    // never shows on the wire.
    let seed4 = kernel("seed4-eth.pcap");
    let cases: Vec<Case> = vec![
        case(
            "a dead peer is noticed in time",
            &["--require-keepalive", "--max-detection", "10s"],
            &dead,
            0,
            &["passed"],
        ),
        case(
            "keepalive required where none probes",
            &["--require-keepalive"],
            &challenge,
            1,
            &["keepalive required: no keepalive probe seen", "FAILED"],
        ),
        case(
            "keepalive forbidden where it probes",
            &["--forbid-keepalive"],
            &alive,
            1,
            &["keepalive forbidden: 198.18.0.1:40000 probes"],
        ),
        case(
            "idle too long",
            &["--max-idle", "1s"],
            &alive,
            1,
            &["idle 2s (likely setting) against at most 1s"],
        ),
        case("idle short enough", &["--max-idle", "2s"], &alive, 0, &["passed"]),
        case(
            "the count cannot be told from answered probes: fails by default",
            &["--max-probes", "9"],
            &alive,
            1,
            &["probes: not observable from this capture"],
        ),
        case(
            "... warns when asked",
            &["--max-probes", "9", "--unknown", "warn"],
            &alive,
            0,
            &["warn", "not observable", "1 warning"],
        ),
        case(
            "... passes when asked",
            &["--max-probes", "9", "--unknown", "pass"],
            &alive,
            0,
            &["passed"],
        ),
        case(
            "selectors that match nothing fail",
            &["--port", "9999", "--require-keepalive"],
            &alive,
            1,
            &["0 flows matched rule \"port 9999\", at least 1 required"],
        ),
        case("no dead: a give-up fails", &["--no-dead"], &dead, 1, &["outcome dead"]),
        case("no dead: alive passes", &["--no-dead"], &alive, 0, &["passed"]),
        case(
            "silence within the limit",
            &["--max-silence", "3.1s"],
            &alive,
            0,
            &["passed"],
        ),
        case(
            "silence beyond it",
            &["--max-silence", "3s"],
            &alive,
            1,
            &["longest silence 3.07s against at most 3s"],
        ),
        case(
            "survives a path: keepalive idle 2 s under 350 s",
            &["--survives", "aws-nlb"],
            &alive,
            0,
            &["passed"],
        ),
        case(
            "exceeds a path shorter than a silence seen",
            &["--survives", "aws-nlb,3s"],
            &alive,
            1,
            &["survives: exceeded 3s: silent for 3.07s"],
        ),
        case(
            "heartbeats keep flows alive: every flow survives",
            &["--survives", "azure-lb", "--min-flows", "3"],
            &synth("heartbeats.pcap"),
            0,
            &["3 flows matched"],
        ),
        case(
            "a keepalive too close to the timeout: a late timer passes it",
            &["--survives", "corp=3.3s"],
            &alive,
            1,
            &["at risk on corp 3.3s: its keepalive or heartbeat allows silences of 3.07s, too close"],
        ),
        case(
            "nothing keeps a flow alive: at risk",
            &["--survives", "rfc5382", "--port", "5009"],
            &seed4,
            1,
            &["at risk on rfc5382 2h4m: no keepalive or heartbeat seen"],
        ),
        case(
            "real kernel: detection within 8 s (idle 1 + intvl 2 x 3)",
            &["--port", "5002", "--side", "server", "--max-detection", "8s"],
            &seed4,
            0,
            &["passed"],
        ),
        case(
            "real kernel: not within 6 s",
            &["--port", "5002", "--side", "server", "--max-detection", "6s"],
            &seed4,
            1,
            &["dead peer noticed after 7.045s (observed: last activity to give-up) against at most 6s"],
        ),
        case(
            "real kernel: the client side of port 5002 does not probe",
            &["--port", "5002", "--side", "client", "--max-idle", "5s"],
            &seed4,
            1,
            &["not observable from this capture (the side the rule looks at sent no keepalive probe)"],
        ),
        case(
            "real kernel: an interval answered probes cannot show",
            &["--port", "5001", "--max-intvl", "5s"],
            &seed4,
            1,
            &["interval: not observable from this capture"],
        ),
        case(
            "real kernel: flows that never probe cannot show an idle",
            &["--max-idle", "2s"],
            &seed4,
            1,
            &["198.18.0.1:49144 <-> 198.18.0.2:5009: max_idle: idle: not observable from this capture (no keepalive probe seen)"],
        ),
        case(
            "real kernel: every prober's idle is at most 2 s",
            &["--max-idle", "2s", "--unknown", "pass"],
            &seed4,
            0,
            &["passed"],
        ),
    ];
    for (name, args, code, words) in cases {
        let mut all = vec!["check".to_string()];
        all.extend(args);
        let argv: Vec<&str> = all.iter().map(String::as_str).collect();
        let o = run(&argv);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(code), "{name}: {out}");
        for w in words {
            assert!(out.contains(w), "{name}: no {w:?} in:\n{out}");
        }
    }
}

#[test]
fn a_policy_file_json_and_junit() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("kawatch.toml");
    std::fs::write(
        &policy,
        r#"
# The service on port 5002 must notice a dead client within 8 s.
[[rule]]
name = "5002 detects dead peers"
port = 5002
side = "server"
keepalive = "required"
max_detection = "8s"

# Every connection's keepalive probes every 2 s at most, and nobody gives up.
[[rule]]
name = "short idle, nobody dead"
max_idle = 2
outcome = ["alive", "probing"]
unknown = "pass"   # flows that never probe
"#,
    )
    .unwrap();
    let junit = dir.path().join("junit.xml");
    let seed4 = kernel("seed4-eth.pcap");
    let o = run(&[
        "check",
        "--policy",
        policy.to_str().unwrap(),
        "-T",
        "json",
        "--junit",
        junit.to_str().unwrap(),
        &seed4,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["kawatch_check"], 1);
    assert_eq!(r["passed"], false);
    let rules = r["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 2);
    let failed = |rule: &Value| -> Vec<String> {
        rule["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["status"] == "fail")
            .map(|f| format!("{} {}", f["requirement"].as_str().unwrap(), f["prober"]))
            .collect()
    };
    assert!(failed(&rules[0]).is_empty(), "{:?}", failed(&rules[0]));
    assert_eq!(rules[0]["flows_matched"], 1);
    // The give-ups and the peer reset on ports 5002, 5003 and 5006.
    let mut outcomes = failed(&rules[1]);
    outcomes.sort();
    assert_eq!(
        outcomes,
        [
            "outcome \"198.18.0.1:44388\"",
            "outcome \"198.18.0.2:5002\"",
            "outcome \"[2001:db8:4b:1::1]:51842\"",
        ],
        "{r}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(
        xml.contains(r#"<testsuite name="5002 detects dead peers""#),
        "{xml}"
    );
    assert_eq!(xml.matches("<failure").count(), 3, "{xml}");
    if have("xmllint") {
        let lint = std::process::Command::new("xmllint")
            .args(["--noout", junit.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(lint.status.success(), "{}", text(&lint));
    }
}

#[test]
fn bad_policies_and_no_rules_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let alive = synth("alive.pcap");
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_string_lossy().into_owned()
    };
    let unknown_key = write("a.toml", "[[rule]]\nmax_idel = \"5s\"\n");
    let not_toml = write("b.toml", "this is not toml [");
    let empty_rule = write("c.toml", "[[rule]]\nport = 5432\n");
    let bad_duration = write("d.toml", "[[rule]]\nmax_idle = \"soon\"\n");
    let bad_path = write("e.toml", "[[rule]]\nsurvives = [\"aws-alb\"]\n");
    // A value of the wrong kind, out of range, or not an address, alone or
    // in a list: named as such (each said only "one value, or a list").
    let port_text = write(
        "f.toml",
        "[[rule]]\nport = \"5002\"\nkeepalive = \"required\"\n",
    );
    let port_big = write(
        "g.toml",
        "[[rule]]\nport = 70000\nkeepalive = \"required\"\n",
    );
    let host_bad = write(
        "h.toml",
        "[[rule]]\nhost = \"1.2.3\"\nkeepalive = \"required\"\n",
    );
    let port_list = write(
        "i.toml",
        "[[rule]]\nport = [5432, \"x\"]\nkeepalive = \"required\"\n",
    );
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        ("no rule", vec!["check", &alive], "no rule given"),
        (
            "a port as text",
            vec!["check", "--policy", &port_text, &alive],
            "invalid type: string \"5002\", expected u16",
        ),
        (
            "a port out of range",
            vec!["check", "--policy", &port_big, &alive],
            "invalid value: integer `70000`, expected u16",
        ),
        (
            "a host that is no address",
            vec!["check", "--policy", &host_bad, &alive],
            "invalid IP address syntax",
        ),
        (
            "a list with text in it",
            vec!["check", "--policy", &port_list, &alive],
            "invalid type: string \"x\", expected u16",
        ),
        (
            "a misspelt key",
            vec!["check", "--policy", &unknown_key, &alive],
            "max_idel",
        ),
        (
            "not TOML",
            vec!["check", "--policy", &not_toml, &alive],
            "not valid",
        ),
        (
            "a rule requiring nothing",
            vec!["check", "--policy", &empty_rule, &alive],
            "requires nothing",
        ),
        (
            "a bad duration",
            vec!["check", "--policy", &bad_duration, &alive],
            "not a duration",
        ),
        (
            "a path timeout that names nothing",
            vec!["check", "--policy", &bad_path, &alive],
            "survives: path timeout \"aws-alb\": no such preset; give a preset (azure-lb 240s",
        ),
        (
            "a bad --survives",
            vec!["check", "--survives", "5x", &alive],
            "not a duration",
        ),
        (
            "a bad --path-timeout",
            vec!["report", "--path-timeout", "aws", &alive],
            "no such preset",
        ),
        (
            "a bad flag value",
            vec!["check", "--max-idle", "soon", &alive],
            "not a duration",
        ),
        (
            "a missing policy",
            vec!["check", "--policy", "/nonexistent.toml", &alive],
            "cannot read the policy",
        ),
        (
            "selectors without a requirement",
            vec!["check", "--port", "5", &alive],
            "requires nothing",
        ),
    ];
    for (name, args, words) in cases {
        let o = run(&args);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {out}");
        assert!(out.contains(words), "{name}: no {words:?} in {out}");
    }
    // An input that cannot be read: 3, not a rule failure.
    let o = run(&["check", "--require-keepalive", "/nonexistent/x.pcap"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
}

/// The README's policy example is a policy kawatch reads.
#[test]
fn the_readme_policy_example_reads() {
    let readme = std::fs::read_to_string(crate::fixtures::crate_root().join("README.md")).unwrap();
    let start = readme.find("```toml\n# kawatch.toml").expect("the example") + "```toml\n".len();
    let end = start + readme[start..].find("```").unwrap();
    let policy = kawatch::check::Policy::from_toml(&readme[start..end]).unwrap();
    assert_eq!(policy.rules.len(), 2);
    assert_eq!(policy.rules[0].max_detection, Some(90.0));
    assert_eq!(policy.rules[1].max_silence, Some(300.0));
}

/// Found by a fresh pair of eyes (issue 12): a probe count the capture shows
/// only a lower bound of must not pass; flags that shape the flags' rule
/// must not be dropped silently beside a policy.
#[test]
fn lower_bounds_and_stray_flags() {
    let mid = synth("mid_idle_unanswered.pcap");
    let o = run(&["check", "--max-probes", "5", &mid]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("probes at least 3 (unanswered probes seen): not enough"),
        "{}",
        text(&o)
    );
    // ... and enough to break a lower limit, whatever --unknown says.
    let o = run(&["check", "--max-probes", "2", "--unknown", "pass", &mid]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.toml");
    std::fs::write(&policy, "[[rule]]\nmax_intvl = \"5s\"\n").unwrap();
    for flag in [
        &["--unknown", "warn"][..],
        &["--min-flows", "1"],
        &["--side", "client"],
    ] {
        let mut args = vec!["check", "--policy", policy.to_str().unwrap()];
        args.extend(flag);
        args.push(&mid);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{flag:?}: {}", text(&o));
        assert!(text(&o).contains("shape the flags' rule"), "{}", text(&o));
    }
    // More than one flow is a requirement of its own.
    let o = run(&["check", "--min-flows", "2", &mid]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("at least 2 required"), "{}", text(&o));
    // Two flows on the same addresses in different VLANs are told apart.
    let o = run(&["check", "--forbid-keepalive", &synth("qinq.pcap")]);
    assert!(text(&o).contains(" vlan "), "{}", text(&o));
}

/// A check over an input that could not be read whole says so in its
/// result, not only on stderr.
#[test]
fn a_cut_input_is_named_in_the_result() {
    let o = run(&[
        "check",
        "--require-keepalive",
        "-T",
        "json",
        &synth("cut_off.pcap"),
    ]);
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    let w = r["warnings"].as_array().unwrap();
    assert!(
        w.iter()
            .any(|w| w.as_str().unwrap().contains("middle of a packet")),
        "{r}"
    );
    // What was cut off cannot be seen: a fail, unless --unknown says not.
    let findings = r["rules"][0]["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["requirement"] == "whole_input" && f["status"] == "fail"),
        "{r}"
    );
    assert_eq!(r["passed"], false, "{r}");
    assert_eq!(o.status.code(), Some(1), "{r}");
    let text = run(&["check", "--require-keepalive", &synth("cut_off.pcap")]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("warning: "));
    let o = run(&[
        "check",
        "--require-keepalive",
        "--unknown",
        "warn",
        &synth("cut_off.pcap"),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// One input of several that cannot be read fails every rule, and the
/// result of the others is still written, as JSON and as JUnit, so a CI
/// system shows the failure where it shows the rest; the exit status is the
/// unreadable input's (3).
#[test]
fn an_unreadable_input_among_several_is_a_failure_in_the_result() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("j.xml");
    let missing = dir.path().join("missing.pcap");
    let o = run(&[
        "check",
        "--no-dead",
        "-T",
        "json",
        "--junit",
        junit.to_str().unwrap(),
        &synth("alive.pcap"),
        missing.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["passed"], false, "{r}");
    let findings = r["rules"][0]["findings"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| f["requirement"] == "whole_input"
            && f["status"] == "fail"
            && f["message"]
                .as_str()
                .unwrap()
                .starts_with("input not read: cannot read ")),
        "{r}"
    );
    // In the contract's order: the inputs read in part, then min_flows.
    let order: Vec<&str> = findings
        .iter()
        .map(|f| f["requirement"].as_str().unwrap())
        .collect();
    assert_eq!(
        order[order.len() - 2..],
        ["whole_input", "min_flows"],
        "{r}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("input not read"), "{xml}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("1 of 2 inputs could not be read"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Probe-shaped segments each sent within 0.9 s of traffic (an SSH
/// client's empty ACKs one byte behind, 0.15 s after each exchange) are
/// counted, but show no keepalive timer: `--require-keepalive` fails on
/// them, saying why; a connection that also sends one after 2 s of quiet
/// passes.
#[test]
fn probes_too_soon_after_traffic_show_no_keepalive_timer() {
    use kawatch_synth::conversation::{Host, A, B};
    use kawatch_synth::{Capture, Conversation, Format, LinkType, T0};
    let flow = |n: u8, timed: bool| {
        let mut c = Conversation::new(
            Host::v4([198, 18, 0, n], 40000 + u16::from(n), n),
            Host::v4([198, 18, 0, 100 + n], 22, 100 + n),
        );
        c.starting_at(T0.add_secs(f64::from(n))).handshake();
        for _ in 0..3 {
            c.wait(0.5)
                .data(A, 40)
                .wait(0.01)
                .data(B, 40)
                .wait(0.15)
                .probe(A)
                .probe_ack(B);
        }
        if timed {
            c.wait(2.0).probe(A).probe_ack(B);
        }
        c
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("soon.pcap");
    let capture = Capture::new(LinkType::Ethernet, Format::PcapMicro)
        .with(flow(1, false))
        .with(flow(2, true));
    std::fs::write(&path, capture.to_bytes()).unwrap();
    let p = path.to_str().unwrap();
    let r = report_json(&path);
    let soon: Vec<(u64, u64)> = probers(&r)
        .iter()
        .map(|k| {
            (
                k["probes_sent"].as_u64().unwrap(),
                k["probes_too_soon"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(soon, [(3, 3), (4, 3)], "{r:#}");
    let o = run(&["check", "--require-keepalive", p]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains(
            "198.18.0.1:40001's 3 keepalive-shaped segments came within 0.9 s of traffic, \
             sooner than a keepalive timer fires: no keepalive timer shown"
        ),
        "{out}"
    );
    assert!(out.contains("2 flows matched, 3 checks, 1 failed"), "{out}");
    assert!(!out.contains("198.18.0.2:40002's"), "{out}");
    // The table says so in its IDLE column and legend; the timed one has an idle.
    let t = run(&["report", p]);
    let table = String::from_utf8_lossy(&t.stdout);
    assert!(
        table.contains("<0.9s every probe came that soon after traffic"),
        "{table}"
    );
}
