//! What a capture was made with (`NAME.settings.json`), running `kawatch
//! report --format json` on it, and checking the report against the socket
//! settings.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::sys::run_with_timeout;

pub(crate) const SETTINGS_FORMAT: u32 = 1;

/// Timer slack: a kernel timer never fires early; the capture's timestamps
/// may jitter by a few ms; the timer wheel may add up to 12.5 %.
pub(crate) const EARLY_S: f64 = 0.02;
pub(crate) const LATE_FACTOR: f64 = 1.125;
pub(crate) const LATE_S: f64 = 0.1;

pub(crate) fn within_slack(observed: f64, configured: f64) -> bool {
    observed >= configured - EARLY_S && observed <= configured * LATE_FACTOR + LATE_S
}

fn slack_text(configured: f64) -> String {
    format!(
        "[{:.3}, {:.3}]",
        configured - EARLY_S,
        configured * LATE_FACTOR + LATE_S
    )
}

/// The content of `NAME.settings.json`, written beside each capture.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub(crate) struct CaptureSettings {
    pub kawatch_kernel_fixture: u32,
    pub seed: u64,
    pub kernel: String,
    /// File name of the capture, in the same folder as this file.
    pub capture_file: String,
    pub capture_command: String,
    /// libpcap DLT name kawatch must report as `source.linktype`.
    pub linktype: String,
    /// Epoch seconds: traffic started (captures were running).
    pub traffic_start: f64,
    /// Epoch seconds: the last exchange of every flow (then idle).
    pub data_phase_end: f64,
    /// Epoch seconds: the cut point for the mid-idle variant (after the
    /// handshakes and exchanges, before any keepalive probe).
    pub cut_at: f64,
    pub flows: Vec<FlowSpec>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub(crate) struct FlowSpec {
    pub scenario: String,
    pub summary: String,
    /// "ip:port" / "[ip]:port" of the connecting side.
    pub client: String,
    pub server: String,
    /// Every socket of this flow with SO_KEEPALIVE on, and its settings.
    pub keepalive_sockets: Vec<KeepaliveSocket>,
    /// The endpoints that must be reported as probers; none others.
    pub probers: Vec<ProberSpec>,
    /// What the applications saw (informational).
    pub app: Vec<String>,
    /// Zero-window probes the whole capture must show on this flow (the
    /// flow's `zero_window_probes`); a cut capture must show at least one
    /// when this is > 0, and none may be reported where this is 0.
    #[serde(default)]
    pub min_zero_window_probes: u32,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub(crate) struct KeepaliveSocket {
    pub endpoint: String,
    pub idle_s: u32,
    pub intvl_s: u32,
    pub cnt: u32,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub(crate) struct ProberSpec {
    pub endpoint: String,
    /// TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_KEEPCNT of the prober.
    pub idle_s: u32,
    pub intvl_s: u32,
    pub cnt: u32,
    /// alive | dead | reset
    pub outcome: String,
    /// Exact probe count when the scenario fixes it (dead: cnt; reset: 2).
    pub probes_sent: Option<u32>,
    /// Exact answered count when fixed (dead: 0; reset: 1, the RST answer
    /// not counting). Otherwise (alive): all of them.
    pub probes_answered: Option<u32>,
    /// Lower bound otherwise (alive: the capture ran long enough for this many).
    pub min_probes_sent: u32,
}

impl CaptureSettings {
    pub(crate) fn load(path: &Path) -> Result<CaptureSettings, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let s: CaptureSettings = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a kernel settings file: {e}", path.display()))?;
        if s.kawatch_kernel_fixture != SETTINGS_FORMAT {
            return Err(format!(
                "{}: unknown settings format {}",
                path.display(),
                s.kawatch_kernel_fixture
            ));
        }
        Ok(s)
    }

    pub(crate) fn flow(&self, scenario: &str) -> Vec<&FlowSpec> {
        self.flows
            .iter()
            .filter(|f| f.scenario == scenario)
            .collect()
    }
}

/// One capture file (whole or cut) with kawatch's report on it.
pub(crate) struct Variant {
    pub label: String,
    pub path: PathBuf,
    pub cut: bool,
    pub settings: CaptureSettings,
    pub report: Result<Value, String>,
}

pub(crate) fn kawatch_bin() -> &'static str {
    env!("CARGO_BIN_EXE_kawatch")
}

/// `kawatch report --format json FILE`, parsed.
pub(crate) fn kawatch_report(path: &Path) -> Result<Value, String> {
    let out = run_with_timeout(
        Command::new(kawatch_bin())
            .args(["report", "--format", "json"])
            .arg(path),
        Duration::from_secs(120),
    )?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!(
            "`kawatch report --format json {}` exited with {}\nstderr:\n{stderr}\nstdout:\n{stdout}",
            path.display(),
            out.status
        ));
    }
    serde_json::from_str(&stdout).map_err(|e| {
        format!(
            "`kawatch report --format json {}` printed no JSON object ({e})\nstderr:\n{stderr}\nstdout:\n{stdout}",
            path.display()
        )
    })
}

impl Variant {
    pub(crate) fn new(
        label: String,
        path: PathBuf,
        cut: bool,
        settings: CaptureSettings,
    ) -> Variant {
        let report = kawatch_report(&path);
        Variant::with_report(label, path, cut, settings, report)
    }

    /// A report kawatch already wrote, e.g. while capturing live.
    pub(crate) fn from_report_file(
        label: String,
        path: PathBuf,
        settings: CaptureSettings,
    ) -> Variant {
        let report = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))
            .and_then(|text| {
                serde_json::from_str(&text)
                    .map_err(|e| format!("{} holds no JSON report ({e}):\n{text}", path.display()))
            });
        Variant::with_report(label, path, false, settings, report)
    }

    fn with_report(
        label: String,
        path: PathBuf,
        cut: bool,
        settings: CaptureSettings,
        report: Result<Value, String>,
    ) -> Variant {
        Variant {
            label,
            path,
            cut,
            settings,
            report,
        }
    }

    fn header(&self) -> String {
        format!(
            "capture {} ({}; seed {}; made with `{}`; kernel {})\n  re-run: {} report --format json {}",
            self.label,
            if self.cut {
                format!("cut to start at {:.6}", self.settings.cut_at)
            } else {
                "whole".to_owned()
            },
            self.settings.seed,
            self.settings.capture_command,
            self.settings.kernel,
            kawatch_bin(),
            self.path.display()
        )
    }

    /// Problems for one scenario in this variant, each ready to print.
    pub(crate) fn scenario_problems(&self, scenario: &str) -> Vec<String> {
        let flows = self.settings.flow(scenario);
        if flows.is_empty() {
            return vec![format!(
                "{}\n  the settings describe no flow for scenario {scenario}",
                self.header()
            )];
        }
        let report = match &self.report {
            Ok(r) => r,
            Err(e) => return vec![format!("{}\n  {e}", self.header())],
        };
        let mut out = Vec::new();
        for spec in flows {
            let found = find_flow(report, spec);
            let problems = check_flow(found, spec, self.cut, &self.settings);
            if !problems.is_empty() {
                let kawatch_part = match found {
                    Some(f) => format!(
                        "kawatch's flow:\n{}",
                        serde_json::to_string_pretty(f).unwrap_or_default()
                    ),
                    None => format!(
                        "kawatch's whole report:\n{}",
                        serde_json::to_string_pretty(report).unwrap_or_default()
                    ),
                };
                out.push(format!(
                    "{}\n  scenario {scenario} ({}):\n    - {}\n  settings:\n{}\n  {kawatch_part}",
                    self.header(),
                    spec.summary,
                    problems.join("\n    - "),
                    serde_json::to_string_pretty(spec).unwrap_or_default(),
                ));
            }
        }
        out
    }

    /// Problems with the report as a whole: source block, and every flow in
    /// the report belonging to a scenario (and, whole captures, every
    /// scenario's flow being in the report).
    pub(crate) fn whole_report_problems(&self) -> Vec<String> {
        let report = match &self.report {
            Ok(r) => r,
            Err(e) => return vec![format!("{}\n  {e}", self.header())],
        };
        let mut p = Vec::new();
        if report["kawatch_report"] != 1 {
            p.push(format!(
                "kawatch_report is {}, expected 1",
                report["kawatch_report"]
            ));
        }
        let src = &report["source"];
        if src["linktype"].as_str() != Some(self.settings.linktype.as_str()) {
            p.push(format!(
                "source.linktype is {}, expected {:?}",
                src["linktype"], self.settings.linktype
            ));
        }
        if src["truncated"] != Value::Bool(false) {
            p.push(format!(
                "source.truncated is {}, expected false",
                src["truncated"]
            ));
        }
        if src["frames"].as_u64().unwrap_or(0) == 0
            || src["tcp_segments"].as_u64().unwrap_or(0) == 0
        {
            p.push(format!(
                "source.frames {} / tcp_segments {}: expected both > 0",
                src["frames"], src["tcp_segments"]
            ));
        }
        if let Some(first) = src["first_ts"].as_f64() {
            if self.cut && first < self.settings.cut_at - 1e-6 {
                p.push(format!(
                    "source.first_ts {first:.6} is before the cut at {:.6}",
                    self.settings.cut_at
                ));
            }
        }
        let flows = report["flows"].as_array().cloned().unwrap_or_default();
        if report["flows"].as_array().is_none() {
            p.push("flows is not an array".to_owned());
        }
        p.extend(socket_cross_check(&flows));
        for f in &flows {
            let ends = [
                f["a"].as_str().unwrap_or("?").to_owned(),
                f["b"].as_str().unwrap_or("?").to_owned(),
            ];
            let known = self.settings.flows.iter().any(|s| same_ends(&ends, s));
            if !known {
                p.push(format!(
                    "flow {} <-> {} belongs to no scenario of this capture (keepalive: {})",
                    ends[0], ends[1], f["keepalive"]
                ));
            }
        }
        if !self.cut {
            for s in &self.settings.flows {
                if find_flow(report, s).is_none() {
                    p.push(format!(
                        "scenario {}: flow {} <-> {} missing from the report",
                        s.scenario, s.client, s.server
                    ));
                }
            }
        }
        if p.is_empty() {
            Vec::new()
        } else {
            vec![format!(
                "{}\n    - {}\n  kawatch's whole report:\n{}",
                self.header(),
                p.join("\n    - "),
                serde_json::to_string_pretty(report).unwrap_or_default()
            )]
        }
    }
}

fn same_ends(ends: &[String; 2], spec: &FlowSpec) -> bool {
    (ends[0] == spec.client && ends[1] == spec.server)
        || (ends[0] == spec.server && ends[1] == spec.client)
}

fn find_flow<'a>(report: &'a Value, spec: &FlowSpec) -> Option<&'a Value> {
    report["flows"].as_array()?.iter().find(|f| {
        let ends = [
            f["a"].as_str().unwrap_or("").to_owned(),
            f["b"].as_str().unwrap_or("").to_owned(),
        ];
        same_ends(&ends, spec)
    })
}

/// A field that must exist; `Ok(None)` when it is null.
fn opt_f64(v: &Value, key: &str, p: &mut Vec<String>, who: &str) -> Option<f64> {
    match v.get(key) {
        None => {
            p.push(format!("{who}: field {key} missing"));
            None
        }
        Some(Value::Null) => None,
        Some(x) => match x.as_f64() {
            Some(f) => Some(f),
            None => {
                p.push(format!("{who}: {key} = {x} is not a number"));
                None
            }
        },
    }
}

fn check_flow(
    found: Option<&Value>,
    spec: &FlowSpec,
    cut: bool,
    settings: &CaptureSettings,
) -> Vec<String> {
    let mut p = Vec::new();
    let Some(flow) = found else {
        // In a cut capture a flow that stayed silent after the cut does not
        // appear; that is only allowed where no prober is expected.
        if !(cut && spec.probers.is_empty()) {
            p.push(format!(
                "no flow {} <-> {} in the report",
                spec.client, spec.server
            ));
        }
        return p;
    };
    let zwp = flow["zero_window_probes"].as_u64();
    let want_zwp = if cut {
        spec.min_zero_window_probes.min(1)
    } else {
        spec.min_zero_window_probes
    };
    match zwp {
        None => p.push(format!(
            "zero_window_probes = {}, expected a count",
            flow["zero_window_probes"]
        )),
        Some(n) if spec.min_zero_window_probes == 0 && n != 0 => p.push(format!(
            "zero_window_probes = {n}, expected 0 (no zero window on this flow)"
        )),
        Some(n) if n < u64::from(want_zwp) => p.push(format!(
            "zero_window_probes = {n}, expected at least {want_zwp} (the persist timer probed the closed window)"
        )),
        _ => {}
    }
    let probers = flow["keepalive"].as_array().cloned().unwrap_or_default();
    if flow["keepalive"].as_array().is_none() {
        p.push(format!("keepalive is not an array: {}", flow["keepalive"]));
    }
    let mut reported: Vec<String> = probers
        .iter()
        .map(|k| k["prober"].as_str().unwrap_or("?").to_owned())
        .collect();
    reported.sort();
    let mut expected: Vec<String> = spec.probers.iter().map(|x| x.endpoint.clone()).collect();
    expected.sort();
    if reported != expected {
        p.push(format!(
            "probers reported {reported:?}, expected exactly {expected:?}"
        ));
    }
    if !cut {
        if flow["a"].as_str() != Some(spec.client.as_str()) {
            p.push(format!(
                "a = {}, expected the initiator {} (its SYN is in the capture)",
                flow["a"], spec.client
            ));
        }
        let ended_by_rst = spec
            .probers
            .iter()
            .any(|x| x.outcome == "dead" || x.outcome == "reset");
        let want_state = if ended_by_rst { "reset" } else { "established" };
        if flow["state"].as_str() != Some(want_state) {
            p.push(format!(
                "state = {}, expected {want_state:?}",
                flow["state"]
            ));
        }
    }
    for x in &spec.probers {
        if let Some(k) = probers
            .iter()
            .find(|k| k["prober"].as_str() == Some(x.endpoint.as_str()))
        {
            check_prober(k, x, cut, settings, &mut p);
        }
    }
    p
}

fn check_prober(
    k: &Value,
    x: &ProberSpec,
    cut: bool,
    settings: &CaptureSettings,
    p: &mut Vec<String>,
) {
    let who = format!(
        "prober {} (idle {} s, intvl {} s, cnt {}, {})",
        x.endpoint, x.idle_s, x.intvl_s, x.cnt, x.outcome
    );
    let who = who.as_str();
    let idle = f64::from(x.idle_s);
    let intvl = f64::from(x.intvl_s);
    let cadence = idle.max(intvl);

    if k["outcome"].as_str() != Some(x.outcome.as_str()) {
        p.push(format!(
            "{who}: outcome = {}, expected {:?}",
            k["outcome"], x.outcome
        ));
    }
    let sent = k["probes_sent"].as_u64();
    let answered = k["probes_answered"].as_u64();
    match x.probes_sent {
        Some(n) if sent != Some(u64::from(n)) => p.push(format!(
            "{who}: probes_sent = {}, expected {n}",
            k["probes_sent"]
        )),
        None if sent.unwrap_or(0) < u64::from(x.min_probes_sent) => p.push(format!(
            "{who}: probes_sent = {}, expected at least {}",
            k["probes_sent"], x.min_probes_sent
        )),
        _ => {}
    }
    match x.probes_answered {
        Some(n) if answered != Some(u64::from(n)) => p.push(format!(
            "{who}: probes_answered = {}, expected {n}",
            k["probes_answered"]
        )),
        None if x.outcome == "alive" && answered != sent => p.push(format!(
            "{who}: probes_answered = {} but probes_sent = {}; the peer answered every probe",
            k["probes_answered"], k["probes_sent"]
        )),
        _ => {}
    }
    if k["zero_window_probes"].as_u64() != Some(0) {
        p.push(format!(
            "{who}: zero_window_probes = {}, expected 0",
            k["zero_window_probes"]
        ));
    }

    // idle_s: first probe - last activity received.
    let idle_obs = opt_f64(k, "idle_s", p, who);
    match idle_obs {
        Some(v) if !within_slack(v, idle) => p.push(format!(
            "{who}: idle_s = {v:.3}, configured {idle} s allows {}",
            slack_text(idle)
        )),
        None if !cut => p.push(format!(
            "{who}: idle_s is null, but the whole capture shows the idle time before the first probe"
        )),
        _ => {}
    }

    // intvl_s: spacing of consecutive unanswered probes.
    let intvl_obs = opt_f64(k, "intvl_s", p, who);
    match (x.outcome.as_str(), intvl_obs) {
        ("dead", None) => p.push(format!(
            "{who}: intvl_s is null, but {} unanswered probes were sent",
            x.cnt
        )),
        ("alive", Some(v)) => p.push(format!(
            "{who}: intvl_s = {v:.3}, expected null: every probe was answered (answered probes recur every ~max(idle, intvl) = {cadence} s)"
        )),
        (_, Some(v)) if !within_slack(v, intvl) => p.push(format!(
            "{who}: intvl_s = {v:.3}, configured {intvl} s allows {}",
            slack_text(intvl)
        )),
        _ => {}
    }

    // probes: unanswered probes before the give-up.
    let probes_obs = k.get("probes").cloned().unwrap_or(Value::Null);
    if x.outcome == "dead" {
        if probes_obs.as_u64() != Some(u64::from(x.cnt)) {
            p.push(format!("{who}: probes = {probes_obs}, expected {}", x.cnt));
        }
    } else if !probes_obs.is_null() {
        p.push(format!(
            "{who}: probes = {probes_obs}, expected null (the prober did not give up)"
        ));
    }

    // detection_s: last activity received -> give-up RST.
    let detection = opt_f64(k, "detection_s", p, who);
    let total = idle + intvl * f64::from(x.cnt);
    match (x.outcome.as_str(), detection) {
        ("dead", None) if !cut => p.push(format!(
            "{who}: detection_s is null; expected ~{total} s (idle + intvl x cnt)"
        )),
        ("dead", Some(v)) if !within_slack(v, total) => p.push(format!(
            "{who}: detection_s = {v:.3}, idle + intvl x cnt = {total} s allows {}",
            slack_text(total)
        )),
        ("alive" | "reset", Some(v)) => p.push(format!(
            "{who}: detection_s = {v:.3}, expected null (the prober did not give up)"
        )),
        _ => {}
    }

    // cadence_s: spacing of answered probes, ~max(idle, intvl) on Linux.
    let cadence_obs = opt_f64(k, "cadence_s", p, who);
    match cadence_obs {
        Some(v) if !within_slack(v, cadence) => p.push(format!(
            "{who}: cadence_s = {v:.3}, max(idle, intvl) = {cadence} s allows {}",
            slack_text(cadence)
        )),
        None if x.outcome == "alive" && answered.unwrap_or(0) >= 2 => p.push(format!(
            "{who}: cadence_s is null with {} answered probes",
            k["probes_answered"]
        )),
        _ => {}
    }

    // likely: whole-second settings; any value given must be the configured
    // one, and a value must be given wherever the measurement is there.
    // likely: whole-second settings. Any value given must be the configured
    // one; a value must be given wherever the measurement is there, except
    // likely.probes in a cut capture (a run seen from its middle may have
    // had earlier probes, so the count is only known for whole runs).
    let likely = &k["likely"];
    let mut known: Vec<(&str, f64)> = Vec::new();
    if likely.is_object() {
        for (key, measured, configured) in [
            ("idle_s", idle_obs.is_some(), x.idle_s),
            ("intvl_s", intvl_obs.is_some(), x.intvl_s),
            ("probes", !probes_obs.is_null() && !cut, x.cnt),
        ] {
            match likely.get(key) {
                None => p.push(format!("{who}: likely.{key} missing")),
                Some(Value::Null) if measured => p.push(format!(
                    "{who}: likely.{key} is null although {key} was measured; expected {configured}"
                )),
                Some(Value::Null) => {}
                Some(v) => {
                    if v.as_f64() != Some(f64::from(configured)) {
                        p.push(format!(
                            "{who}: likely.{key} = {v}, the socket was set to {configured}"
                        ));
                    }
                    known.push((key, v.as_f64().unwrap_or(f64::NAN)));
                }
            }
        }
    } else {
        p.push(format!("{who}: likely = {likely}, expected an object"));
    }
    // os_defaults: the sockets used 1-3 s / 1-2 s / 2-5, no OS's defaults,
    // so an OS may be listed only where the likely values that are known
    // agree with its defaults (the others being unknown).
    match k["os_defaults"].as_array() {
        None => p.push(format!(
            "{who}: os_defaults = {}, expected a list",
            k["os_defaults"]
        )),
        Some(list) => {
            for os in list {
                let defaults: Option<[(&str, f64); 3]> = match os.as_str() {
                    Some("linux") => Some([("idle_s", 7200.0), ("intvl_s", 75.0), ("probes", 9.0)]),
                    Some("macos") => Some([("idle_s", 7200.0), ("intvl_s", 75.0), ("probes", 8.0)]),
                    Some("windows") => {
                        Some([("idle_s", 7200.0), ("intvl_s", 1.0), ("probes", 10.0)])
                    }
                    _ => None,
                };
                let Some(defaults) = defaults else {
                    p.push(format!("{who}: os_defaults lists unknown {os}"));
                    continue;
                };
                let clash: Vec<String> = known
                    .iter()
                    .filter(|(key, v)| defaults.iter().any(|(dk, dv)| dk == key && dv != v))
                    .map(|(key, v)| format!("likely.{key} = {v}"))
                    .collect();
                if !clash.is_empty() || known.len() == 3 {
                    p.push(format!(
                        "{who}: os_defaults lists {os}, but {} (the socket: {} s / {} s / {})",
                        if clash.is_empty() {
                            "all likely settings are known".to_owned()
                        } else {
                            format!("{} differs from its defaults", clash.join(", "))
                        },
                        x.idle_s,
                        x.intvl_s,
                        x.cnt
                    ));
                }
            }
        }
    }

    // first_probe: after the idle time, after the cut.
    let first = opt_f64(k, "first_probe", p, who);
    let last = opt_f64(k, "last_probe", p, who);
    match (first, last) {
        (Some(f), Some(l)) => {
            if l < f {
                p.push(format!("{who}: last_probe {l:.6} < first_probe {f:.6}"));
            }
            if cut && f < settings.cut_at {
                p.push(format!(
                    "{who}: first_probe {f:.6} is before the cut at {:.6}",
                    settings.cut_at
                ));
            }
            if f < settings.data_phase_end + idle - EARLY_S {
                p.push(format!(
                    "{who}: first_probe {f:.6} comes less than idle = {idle} s after the last exchange ({:.6})",
                    settings.data_phase_end
                ));
            }
        }
        _ => p.push(format!("{who}: first_probe/last_probe missing or null")),
    }
}

/// A live report (kawatch capturing in the namespace of one side) carries
/// each flow's local socket: the wire's view of a side must agree with its
/// socket's exact settings, and at least one probing side must have been
/// compared, or the check proves nothing.
fn socket_cross_check(flows: &[Value]) -> Vec<String> {
    if !flows.iter().any(|f| f.get("socket").is_some()) {
        return Vec::new(); // a file report: no local sockets
    }
    let mut p = Vec::new();
    let mut compared = 0;
    for f in flows {
        if f.get("socket").is_none() {
            p.push(format!(
                "flow {} - {} has no \"socket\" key in a live report",
                f["a"], f["b"]
            ));
            continue;
        }
        if let Some(d) = f["disagreements"].as_array().filter(|d| !d.is_empty()) {
            p.push(format!(
                "flow {} - {}: the wire and the socket disagree: {d:?}\n  socket: {}\n  keepalive: {}",
                f["a"], f["b"], f["socket"], f["keepalive"]
            ));
        }
        let s = &f["socket"];
        if s["settings_from"] == "socket"
            && s["keepalive"] == true
            && f["keepalive"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|pr| pr["prober"] == s["local"]))
        {
            compared += 1;
        }
    }
    if compared == 0 {
        p.push("no probing side with an exact socket to compare the wire with".to_owned());
    }
    p
}
