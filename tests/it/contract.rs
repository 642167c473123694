//! The JSON contracts against their JSON Schemas (docs/schemas/), and the
//! Rust types against the JSON:
//!
//! * `schemas_are_current`: the checked-in schemas are what schemars makes
//!   of the types today (`KAWATCH_BLESS=1` rewrites them).
//! * `schemas_say_what_the_contract_says`: endpoints are strings, enums list
//!   their values, unknowns may be null, seconds are numbers.
//! * real outputs validate against them: every golden report, events lines,
//!   `kawatch check --format json` passing and failing, a sockets listing
//!   (built in-process, and `kawatch sockets` where the kernel lets it run),
//!   and a `kawatch check --policy` file (the policy schema refuses what the
//!   policy reader refuses).
//!   The test closes every object (no member the schema does not name), so
//!   an output member the types do not declare fails here; the published
//!   schemas stay open, as the contract lets versions add members.
//! * every golden report deserialises into [`Report`] and serialises back to
//!   the same JSON, and the library API (`kawatch::analyse_file`,
//!   `kawatch::events_of_file`) gives the same reports and events as the
//!   command line.

use crate::support::{run, skip};
use kawatch::check::{CheckReport, Policy};
use kawatch::report::{EventReport, Report, SocketReport, SocketsReport, Sysctl};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

fn crate_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The contracts: a name (`docs/schemas/NAME.schema.json`) and the schema
/// generated from its Rust type.
fn generated() -> Vec<(&'static str, Value)> {
    fn schema<T: schemars::JsonSchema>() -> Value {
        serde_json::to_value(schemars::schema_for!(T)).expect("a schema is JSON")
    }
    vec![
        ("report", schema::<Report>()),
        ("events", schema::<EventReport>()),
        ("sockets", schema::<SocketsReport>()),
        ("check", schema::<CheckReport>()),
        ("policy", schema::<Policy>()),
    ]
}

fn schema_path(name: &str) -> PathBuf {
    crate_root().join(format!("docs/schemas/{name}.schema.json"))
}

/// The checked-in schema `name`.
fn published(name: &str) -> Value {
    let path = schema_path(name);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with KAWATCH_BLESS=1 to write it",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("serialise");
    s.push('\n');
    s
}

#[test]
fn schemas_are_current() {
    let bless = std::env::var_os("KAWATCH_BLESS").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for (name, schema) in generated() {
        let path = schema_path(name);
        let text = pretty(&schema);
        if bless {
            fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir docs/schemas");
            // Written whole, then renamed: the other tests read them meanwhile.
            let tmp = path.with_extension("json.tmp");
            fs::write(&tmp, &text).expect("write the schema");
            fs::rename(&tmp, &path).expect("replace the schema");
            eprintln!("blessed {}", path.display());
        } else if fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(format!("docs/schemas/{name}.schema.json"));
        }
    }
    assert!(
        stale.is_empty(),
        "{} differ from what the Rust types generate: if the types changed on purpose, \
         run `KAWATCH_BLESS=1 cargo test --test it contract::` and check the diff",
        stale.join(", ")
    );
}

/// The schema at `pointer` in `schema`, following one `$ref` into `$defs`.
fn at<'a>(schema: &'a Value, pointer: &str) -> &'a Value {
    let v = schema
        .pointer(pointer)
        .unwrap_or_else(|| panic!("no {pointer} in the schema"));
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => schema
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("{pointer}: dangling $ref {r}")),
        None => v,
    }
}

/// The JSON types a member's schema allows (`type`, or each of `anyOf`,
/// following `$ref`s), sorted.
fn types(schema: &Value, pointer: &str) -> Vec<String> {
    fn of(schema: &Value, s: &Value, out: &mut Vec<String>) {
        if let Some(r) = s.get("$ref").and_then(Value::as_str) {
            let target = schema.pointer(r.trim_start_matches('#')).expect("$ref");
            return of(schema, target, out);
        }
        match s.get("type") {
            Some(Value::String(t)) => out.push(t.clone()),
            Some(Value::Array(ts)) => {
                out.extend(ts.iter().filter_map(|t| t.as_str().map(String::from)));
            }
            _ => {}
        }
        for key in ["anyOf", "oneOf"] {
            for alt in s.get(key).and_then(Value::as_array).into_iter().flatten() {
                of(schema, alt, out);
            }
        }
        if s.get("enum").is_some() && s.get("type").is_none() {
            out.push("enum".into());
        }
    }
    let mut out = Vec::new();
    of(
        schema,
        schema
            .pointer(pointer)
            .unwrap_or_else(|| panic!("no {pointer}")),
        &mut out,
    );
    out.sort();
    out.dedup();
    out
}

/// The values an enum's schema lists (`enum`, or `oneOf` of `const`s).
fn enum_values(schema: &Value) -> Vec<String> {
    let mut out: Vec<String> = schema
        .get("enum")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(String::from))
        .collect();
    for alt in schema
        .get("oneOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out.extend(alt.get("const").and_then(Value::as_str).map(String::from));
        out.extend(enum_values(alt));
    }
    out
}

#[test]
fn schemas_say_what_the_contract_says() {
    let report = published("report");
    let flow = "/$defs/FlowReport/properties";
    let prober = "/$defs/ProberReport/properties";
    // Endpoints: strings, described.
    let endpoint = at(&report, &format!("{flow}/a"));
    assert_eq!(endpoint["type"], "string");
    assert!(endpoint["description"]
        .as_str()
        .is_some_and(|d| d.contains("ip:port")));
    // Enums list their values.
    assert_eq!(
        enum_values(at(&report, &format!("{prober}/outcome"))),
        ["alive", "probing", "dead", "reset"]
    );
    assert_eq!(
        enum_values(at(&report, &format!("{flow}/state"))),
        ["syn_sent", "established", "closing", "closed", "reset"]
    );
    // Unknowns may be null; seconds are numbers; counts are integers.
    assert_eq!(
        types(&report, &format!("{prober}/idle_s")),
        ["null", "number"]
    );
    assert_eq!(
        types(&report, &format!("{prober}/probes")),
        ["integer", "null"]
    );
    assert_eq!(types(&report, &format!("{flow}/first_seen")), ["number"]);
    assert_eq!(
        types(&report, "/$defs/SourceReport/properties/first_ts"),
        ["null", "number"]
    );
    assert_eq!(
        types(&report, "/$defs/SourceReport/properties/truncated_reason"),
        ["null", "string"]
    );
    assert_eq!(
        types(&report, "/$defs/Settings/properties/idle_s"),
        ["integer", "null"]
    );
    // A live flow's socket: an object, or null for a flow that is not this
    // box's; absent from file reports.
    assert_eq!(
        types(&report, &format!("{flow}/socket")),
        ["null", "object"]
    );
    let required = |s: &Value, def: &str| -> Vec<String> {
        s.pointer(&format!("/$defs/{def}/required"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(String::from))
            .collect()
    };
    let flow_required = required(&report, "FlowReport");
    for member in ["a", "b", "state", "keepalive"] {
        assert!(
            flow_required.iter().any(|r| r == member),
            "{member} required"
        );
    }
    for member in ["socket", "disagreements", "partial", "silence"] {
        assert!(
            !flow_required.iter().any(|r| r == member),
            "{member} is additive: not required"
        );
    }

    let events = published("events");
    assert_eq!(
        enum_values(at(&events, "/properties/kind")),
        [
            "probe",
            "probe_ack",
            "probe_rst",
            "give_up",
            "zero_window_probe"
        ]
    );
    assert_eq!(types(&events, "/properties/ts"), ["number"]);
    assert_eq!(at(&events, "/properties/src")["type"], "string");

    let sockets = published("sockets");
    assert_eq!(
        types(&sockets, "/$defs/SocketReport/properties/keepalive"),
        ["boolean", "null"]
    );
    assert_eq!(
        types(&sockets, "/$defs/SocketReport/properties/next_probe_in_s"),
        ["null", "number"]
    );
    assert_eq!(types(&sockets, "/properties/sysctl"), ["null", "object"]);

    let check = published("check");
    assert_eq!(
        enum_values(at(&check, "/$defs/Finding/properties/status")),
        ["pass", "fail", "warn"]
    );
    assert_eq!(
        types(&check, "/$defs/Finding/properties/observed"),
        ["null", "number"]
    );
    assert_eq!(
        types(&check, "/$defs/Finding/properties/prober"),
        ["null", "string"]
    );
    let requirements = check["$defs"]["Finding"]["properties"]["requirement"]["enum"].clone();
    assert_eq!(
        requirements,
        serde_json::json!(kawatch::check::REQUIREMENTS)
    );

    let policy = published("policy");
    for duration in ["max_idle", "max_intvl", "max_detection", "max_silence"] {
        assert_eq!(
            types(&policy, &format!("/$defs/Rule/properties/{duration}")),
            ["null", "number", "string"],
            "{duration}: seconds, or text with a unit"
        );
    }
    assert_eq!(
        types(&policy, "/$defs/Rule/properties/port"),
        ["array", "integer"]
    );
    assert_eq!(
        types(&policy, "/$defs/Rule/properties/host"),
        ["array", "string"]
    );
}

/// A validator of `schema` with every object closed: no member the schema
/// does not name.
fn strict_validator(schema: &Value) -> jsonschema::Validator {
    fn close(v: &mut Value) {
        match v {
            Value::Object(m) => {
                if m.contains_key("properties") && !m.contains_key("additionalProperties") {
                    m.insert("additionalProperties".into(), Value::Bool(false));
                }
                m.values_mut().for_each(close);
            }
            Value::Array(a) => a.iter_mut().for_each(close),
            _ => {}
        }
    }
    jsonschema::meta::validate(schema).expect("the schema is a valid JSON Schema");
    let mut closed = schema.clone();
    close(&mut closed);
    jsonschema::validator_for(&closed).expect("the schema compiles")
}

/// Every way `instance` breaks the schema, one line each; empty when valid.
fn violations(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("at {}: {e}", e.instance_path()))
        .collect()
}

/// Validates `instances` (named) against the schema `name`; panics with every
/// violation.
fn assert_valid<'a>(name: &str, instances: impl IntoIterator<Item = (String, &'a Value)>) {
    let validator = strict_validator(&published(name));
    let mut failures = Vec::new();
    let mut count = 0;
    for (what, v) in instances {
        count += 1;
        for e in violations(&validator, v) {
            failures.push(format!("{what}: {e}"));
        }
    }
    assert!(count > 0, "nothing to validate against {name}");
    assert!(
        failures.is_empty(),
        "{} violation(s) of docs/schemas/{name}.schema.json:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

/// Every golden report under fixtures/expected/, by path.
fn goldens() -> Vec<(String, Value)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in fs::read_dir(dir).expect("read fixtures/expected") {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    let mut paths = Vec::new();
    walk(&crate_root().join("fixtures/expected"), &mut paths);
    paths.sort();
    assert!(paths.len() > 30, "too few golden reports: {paths:?}");
    paths
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(crate_root()).unwrap().display().to_string();
            let text = fs::read_to_string(&p).expect("read a golden report");
            let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}"));
            (rel, v)
        })
        .collect()
}

#[test]
fn golden_reports_match_the_schema() {
    let goldens = goldens();
    assert_valid("report", goldens.iter().map(|(p, v)| (p.clone(), v)));
}

#[test]
fn the_schema_refuses_what_the_contract_does_not_say() {
    let validator = strict_validator(&published("report"));
    let (_, good) = goldens()
        .into_iter()
        .find(|(p, _)| p.ends_with("dead_give_up.pcap.json"))
        .expect("the dead_give_up golden");
    assert!(violations(&validator, &good).is_empty());
    type Breaking = fn(&mut Value);
    let broken: [(&str, Breaking); 7] = [
        ("an undeclared member", |v| {
            v["flows"][0]["bogus"] = 1.into();
        }),
        ("an unknown outcome", |v| {
            v["flows"][0]["keepalive"][0]["outcome"] = "gone".into();
        }),
        ("a time as text", |v| {
            v["source"]["first_ts"] = "x".into();
        }),
        ("an endpoint as a number", |v| {
            v["flows"][0]["a"] = 5000.into();
        }),
        ("null where a value is required", |v| {
            v["flows"][0]["segments"] = Value::Null;
        }),
        ("another version", |v| {
            v["kawatch_report"] = 2.into();
        }),
        ("a missing member", |v| {
            v["source"].as_object_mut().unwrap().remove("frames");
        }),
    ];
    for (what, breaking) in broken {
        let mut v = good.clone();
        breaking(&mut v);
        assert!(
            !violations(&validator, &v).is_empty(),
            "the schema takes {what}"
        );
    }
}

/// `T` read from `v` and written back: the same JSON.
fn assert_round_trip<T: Serialize + DeserializeOwned>(what: &str, v: &Value) -> T {
    let typed: T = serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("{what}: does not deserialise: {e}"));
    let back = serde_json::to_value(&typed).expect("serialise");
    assert_eq!(&back, v, "{what}: not the same JSON after a round trip");
    typed
}

#[test]
fn golden_reports_round_trip() {
    for (path, v) in goldens() {
        let report: Report = assert_round_trip(&path, &v);
        assert_eq!(report.kawatch_report, kawatch::report::REPORT_VERSION);
    }
}

/// Runs `kawatch ARGS` from the crate root; its stdout, and whether it
/// exited with `code`.
fn kawatch(args: &[&str], code: i32) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kawatch"))
        .args(args)
        .current_dir(crate_root())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run kawatch");
    assert_eq!(
        out.status.code(),
        Some(code),
        "kawatch {}: stderr:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

#[test]
fn events_match_the_schema() {
    let runs: &[&[&str]] = &[
        &["fixtures/synth/alive.pcap"],
        &["fixtures/synth/dead_give_up.pcap"],
        &["fixtures/synth/reset_by_peer.pcap"],
        &["fixtures/synth/zero_window_probes.pcap"],
        &["fixtures/synth/both_sides_probing.pcap"],
        // Several inputs: each line names its file.
        &[
            "fixtures/synth/alive.pcap",
            "fixtures/synth/ipv6_ext_headers.pcap",
        ],
    ];
    let mut lines = Vec::new();
    for files in runs {
        let mut args = vec!["report", "--format", "events"];
        args.extend_from_slice(files);
        for line in kawatch(&args, 0).lines() {
            let v: Value = serde_json::from_str(line).expect("an event line is JSON");
            assert_round_trip::<EventReport>(line, &v);
            lines.push((format!("{files:?}: {line}"), v));
        }
    }
    let kinds: std::collections::BTreeSet<&str> = lines
        .iter()
        .filter_map(|(_, v)| v["kind"].as_str())
        .collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        [
            "give_up",
            "probe",
            "probe_ack",
            "probe_rst",
            "zero_window_probe"
        ],
        "every kind of event is validated"
    );
    assert!(lines.iter().any(|(_, v)| v.get("file").is_some()));
    assert_valid("events", lines.iter().map(|(w, v)| (w.clone(), v)));
}

#[test]
fn check_output_matches_the_schema() {
    let file = "fixtures/synth/dead_give_up.pcap";
    let passing = kawatch(
        &[
            "check",
            "--format",
            "json",
            "--port",
            "5000",
            "--require-keepalive",
            "--max-detection",
            "10s",
            file,
        ],
        0,
    );
    // A dead peer fails --no-dead; the flow that never probes has no
    // idle to show (unknown: fails); and a rule for a port no flow uses
    // matches nothing.
    let policy = tempfile::NamedTempFile::new().expect("temp file");
    fs::write(
        policy.path(),
        r#"
        [[rule]]
        name = "no dead peer"
        outcome = ["alive", "probing"]

        [[rule]]
        port = 6000
        max_idle = 60

        [[rule]]
        name = "idle unknown warns"
        max_idle = "2m"
        unknown = "warn"
        "#,
    )
    .expect("write the policy");
    let failing = kawatch(
        &[
            "check",
            "--format",
            "json",
            "--policy",
            policy.path().to_str().unwrap(),
            file,
            "fixtures/synth/zero_window_probes.pcap",
        ],
        1,
    );
    let mut docs = Vec::new();
    for (what, text) in [("passing", &passing), ("failing", &failing)] {
        let v: Value = serde_json::from_str(text).expect("check output is JSON");
        let r: CheckReport = assert_round_trip(what, &v);
        assert_eq!(r.passed, what == "passing", "{what}: {text}");
        docs.push((what.to_string(), v));
    }
    let failing = &docs[1].1;
    let statuses: Vec<&str> = failing["rules"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["findings"].as_array().unwrap())
        .filter_map(|f| f["status"].as_str())
        .collect();
    for s in ["pass", "fail", "warn"] {
        assert!(
            statuses.contains(&s),
            "no {s} finding to validate: {failing}"
        );
    }
    assert_valid("check", docs.iter().map(|(w, v)| (w.clone(), v)));
}

/// A listing with every member set, and one with every unknown null.
fn sockets_listing() -> SocketsReport {
    let full = SocketReport {
        local: "198.18.0.1:40000".parse().unwrap(),
        remote: "[2001:db8::1]:5432".parse().unwrap(),
        state: "established".into(),
        pid: Some(4242),
        process: Some("psql".into()),
        keepalive: Some(true),
        idle_s: Some(60),
        intvl_s: Some(10),
        probes: Some(5),
        user_timeout_ms: Some(0),
        settings_from: Some(kawatch::core::SettingsFrom::Socket),
        timer: "keepalive".into(),
        next_probe_in_s: Some(57.25),
        probes_out: Some(0),
        last_data_recv_s: Some(2.8),
        last_data_sent_s: Some(2.8),
    };
    let unknown = SocketReport {
        state: "time_wait".into(),
        pid: None,
        process: None,
        keepalive: None,
        idle_s: None,
        intvl_s: None,
        probes: None,
        user_timeout_ms: None,
        settings_from: None,
        timer: "time_wait".into(),
        next_probe_in_s: None,
        probes_out: None,
        last_data_recv_s: None,
        last_data_sent_s: None,
        ..full.clone()
    };
    SocketsReport {
        kawatch_sockets: kawatch::report::SOCKETS_VERSION,
        netns: "net:[4026531833]".into(),
        sysctl: Some(Sysctl {
            keepalive_time: 7200,
            keepalive_intvl: 75,
            keepalive_probes: 9,
        }),
        sockets: vec![full, unknown],
        notes: vec!["a note".into()],
    }
}

#[test]
fn sockets_listing_matches_the_schema() {
    let listing = sockets_listing();
    let no_sysctl = SocketsReport {
        sysctl: None,
        sockets: Vec::new(),
        ..listing.clone()
    };
    let mut docs = Vec::new();
    for (what, l) in [("in-process", &listing), ("no sysctl", &no_sysctl)] {
        let v = serde_json::to_value(l).expect("serialise");
        let back: SocketsReport = assert_round_trip(what, &v);
        assert_eq!(&back, l);
        docs.push((what.to_string(), v));
    }

    // The real command, over a loopback connection with keepalive on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen on loopback");
    let port = listener.local_addr().unwrap().port();
    let client = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let _server = listener.accept().expect("accept");
    socket2::SockRef::from(&client)
        .set_tcp_keepalive(
            &socket2::TcpKeepalive::new()
                .with_time(std::time::Duration::from_secs(600))
                .with_interval(std::time::Duration::from_secs(30)),
        )
        .expect("set keepalive");
    let out = run(&["sockets", "--format", "json", "--port", &port.to_string()]);
    if out.status.success() {
        let v: Value = serde_json::from_slice(&out.stdout).expect("sockets output is JSON");
        assert_round_trip::<SocketsReport>("kawatch sockets", &v);
        let sockets = v["sockets"].as_array().expect("sockets");
        assert_eq!(
            sockets.len(),
            2,
            "both ends of the loopback connection: {v}"
        );
        let local = client.local_addr().unwrap().to_string();
        let ours = sockets
            .iter()
            .find(|s| s["local"] == local.as_str())
            .unwrap_or_else(|| panic!("no socket {local}: {v}"));
        assert_eq!(ours["keepalive"], true, "{ours}");
        if ours["settings_from"] == "socket" {
            assert_eq!(
                (&ours["idle_s"], &ours["intvl_s"]),
                (&600.into(), &30.into())
            );
        }
        docs.push(("kawatch sockets".to_string(), v));
    } else {
        skip(
            "sockets_listing_matches_the_schema (kawatch sockets)",
            &format!(
                "kawatch sockets failed here: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        );
    }
    assert_valid("sockets", docs.iter().map(|(w, v)| (w.clone(), v)));
}

#[test]
fn policies_match_the_schema() {
    let policy = r#"
        [[rule]]
        name = "postgres clients notice a dead server within 90 s"
        port = 5432
        side = "client"
        keepalive = "required"
        max_detection = "90s"
        outcome = ["alive", "probing"]

        [[rule]]
        port = [5432, 6432]
        host = ["198.18.0.2", "2001:db8::1"]
        max_idle = 60
        max_intvl = "1.5m"
        max_probes = 5
        max_silence = "250ms"
        unknown = "warn"
        min_flows = 0
    "#;
    Policy::from_toml(policy).expect("a valid policy");
    let v: Value = toml::from_str(policy).expect("TOML");
    assert_valid("policy", [("policy".to_string(), &v)]);

    // What the policy reader refuses, the schema refuses too.
    let validator = jsonschema::validator_for(&published("policy")).expect("compiles");
    for bad in [
        "[[rule]]\nmax_idel = 60",
        "[[rule]]\nmax_idle = -1",
        "[[rule]]\nmax_idle = \"a minute\"",
        "[[rule]]\nside = \"both\"",
        "[[rule]]\noutcome = [\"gone\"]",
        "[[rule]]\nport = 70000\nkeepalive = \"required\"",
        "[rules]\nkeepalive = \"required\"",
    ] {
        assert!(Policy::from_toml(bad).is_err(), "the reader takes {bad:?}");
        let v: Value = toml::from_str(bad).expect("TOML");
        assert!(!validator.is_valid(&v), "the schema takes {bad:?}");
    }
}

#[test]
fn duration_pattern_agrees_with_the_reader() {
    let policy = published("policy");
    let text = at(&policy, "/$defs/DurationText/anyOf/1");
    let validator = jsonschema::validator_for(text).expect("compiles");
    for s in [
        "90", "90s", " 90 s ", "1.5m", "250ms", "2h", ".5s", "1e3ms", "0", "+5s", "90x", "ninety",
        "-5s", "inf", "NaN", "", "s", "1.2.3s", "5 min", "1h30m", "1s500ms", "2h 4m", "1d", "1h30",
        "+1h+2m", "1e3s5ms", "-0", "+", "+ ",
    ] {
        let reader = kawatch::check::parse_seconds(s).is_ok();
        let schema = validator.is_valid(&Value::from(s));
        assert_eq!(
            schema, reader,
            "{s:?}: the schema says {schema}, the reader {reader}"
        );
    }
}

#[test]
fn socket_states_and_timers_are_named_as_the_schema_names_them() {
    use kawatch::core::{SocketState, TimerKind};
    let sockets = published("sockets");
    let states = enum_values(at(&sockets, "/$defs/SocketReport/properties/state"));
    let timers = enum_values(at(&sockets, "/$defs/SocketReport/properties/timer"));
    let mut named = Vec::new();
    for n in 0..=255u8 {
        if let Some(s) = SocketState::from_kernel(n) {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            named.push(s.as_str().to_string());
        }
    }
    named.sort();
    let mut listed = states.clone();
    listed.sort();
    assert_eq!(named, listed, "socket states");
    for n in 0..=255u8 {
        let t = TimerKind::from_kernel(n);
        assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        assert!(timers.iter().any(|v| v == t.as_str()), "{}", t.as_str());
    }
}

/// The library API gives what the command line writes: every golden report
/// (a cut-off file's too, marked truncated), and the same events.
#[test]
fn the_library_gives_the_golden_reports() {
    let mut truncated = 0;
    for (golden, expected) in goldens() {
        let capture = golden
            .strip_prefix("fixtures/expected/")
            .and_then(|p| p.strip_suffix(".json"))
            .map(|p| format!("fixtures/{p}"))
            .expect("a golden's capture");
        let mut report = kawatch::analyse_file(crate_root().join(&capture))
            .unwrap_or_else(|e| panic!("{capture}: {e}"));
        report.source.name = capture.clone();
        truncated += usize::from(report.source.truncated);
        let actual = serde_json::to_value(&report).expect("serialise");
        assert_eq!(
            actual, expected,
            "{capture}: analyse_file differs from {golden}"
        );
    }
    assert!(truncated > 0, "no cut-off capture among the goldens");
}

#[test]
fn the_library_gives_the_cli_events() {
    for capture in [
        "fixtures/synth/alive.pcap",
        "fixtures/synth/dead_give_up.pcap",
        "fixtures/synth/mid_idle_start.pcap",
        "fixtures/synth/both_sides_probing.pcap",
        "fixtures/synth/cut_off.pcap",
    ] {
        let cli: Vec<EventReport> = kawatch(&["report", "--format", "events", capture], 0)
            .lines()
            .map(|l| serde_json::from_str(l).expect("an event"))
            .collect();
        let mut events = kawatch::events_of_file(crate_root().join(capture)).expect("opens");
        let lib: Vec<EventReport> = events
            .by_ref()
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{capture}: {e}"));
        assert!(!lib.is_empty(), "{capture}: no events");
        assert_eq!(lib, cli, "{capture}");
        // One pass gives the report too.
        let mut report = events.report();
        report.source.name = capture.into();
        let golden = format!(
            "fixtures/expected/{}.json",
            capture.trim_start_matches("fixtures/")
        );
        let expected: Report =
            serde_json::from_str(&fs::read_to_string(crate_root().join(&golden)).unwrap()).unwrap();
        assert_eq!(
            report, expected,
            "{capture}: Events::report differs from {golden}"
        );
        assert_eq!(
            events.truncated_reason(),
            expected.source.truncated_reason.as_deref()
        );
    }
}

/// `report --format json` writes its flows in batches on several threads;
/// the text is serde_json's of the library's whole report, byte for byte,
/// with flows (a fixture, the heartbeats fixture's several paths) and with
/// none (a filter no frame passes). (A capture of thousands of flows, many
/// batches, is compared in `generated`.)
#[test]
fn the_cli_writes_the_library_report_byte_for_byte() {
    struct Case {
        name: &'static str,
        file: &'static str,
        filter: Option<&'static str>,
    }
    let cases = [
        Case {
            name: "flows",
            file: "fixtures/kernel/seed4-eth.pcap",
            filter: None,
        },
        Case {
            name: "heartbeats",
            file: "fixtures/synth/heartbeats.pcap",
            filter: None,
        },
        Case {
            name: "no flows",
            file: "fixtures/kernel/seed4-eth.pcap",
            filter: Some("udp"),
        },
    ];
    for case in cases {
        let mut args = vec!["report", "--format", "json", case.file];
        let mut lib = kawatch::Analysis::new(crate_root().join(case.file));
        if let Some(f) = case.filter {
            args.push(f);
            lib = lib.filter(f);
        }
        let mut report = lib.run().expect("library report");
        // The library was given the file's absolute path.
        report.source.name = case.file.to_string();
        let mut expected = serde_json::to_string_pretty(&report).expect("serialise");
        expected.push('\n');
        let got = kawatch(&args, 0);
        assert!(
            got == expected,
            "{}: the CLI's JSON differs from the library's:\n{got}\n---\n{expected}",
            case.name
        );
    }
}

/// Frames fed by hand to an analyser give, through `Report::of`, the
/// report `analyse_file` gives of the file (a review of the library found
/// no documented way to a `Report`, and so to `check::Policy`, without a
/// file).
#[test]
fn a_report_of_frames_fed_by_hand_is_the_files() {
    use kawatch::capture::{Next, Source};
    use kawatch::report::{Report, SourceInfo};
    let path = crate::fixtures::crate_root().join("fixtures/synth/dead_give_up.pcap");
    let mut src = Source::open_file(&path, None).unwrap();
    let mut an = kawatch::core::Analyzer::new(src.link_type());
    while let Next::Frame(f) = src.next_frame().unwrap() {
        an.ingest_frame_with_len(f.ts, f.data, f.wire_len);
    }
    let info = SourceInfo {
        name: path.display().to_string(),
        linktype: src.link_name().to_string(),
        ..SourceInfo::default()
    };
    let by_hand = Report::of(&an, &info);
    let file = kawatch::analyse_file(&path).unwrap();
    assert_eq!(by_hand.flows, file.flows);
    assert_eq!(by_hand.source, file.source);
    let policy =
        kawatch::check::Policy::from_toml("[[rule]]\noutcome = [\"alive\", \"probing\"]\n");
    let result = policy.unwrap().evaluate(&[by_hand]);
    assert!(!result.passed, "the prober gave up: {result:?}");
}
