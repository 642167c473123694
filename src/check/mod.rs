//! `kawatch check`: keepalive rules over a report's flows, for tests and CI.
//!
//! A [`Policy`] is a list of [`Rule`]s (from command-line flags, or a TOML
//! file); [`Policy::evaluate`] holds each rule against every flow it
//! selects in one or more [`Report`]s and gives a [`CheckReport`]: every
//! finding, passed or failed, with the flow, the rule, the observed value
//! and the limit. Pure: no I/O.
//!
//! ```
//! use kawatch::check::Policy;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let policy = Policy::from_toml(r#"
//!     [[rule]]
//!     name = "the service notices a dead peer within 10 s"
//!     port = 5000
//!     keepalive = "required"
//!     max_detection = "10s"
//! "#)?;
//! let json = std::fs::read_to_string("fixtures/expected/synth/dead_give_up.pcap.json")?;
//! let report: kawatch::report::Report = serde_json::from_str(&json)?;
//! let result = policy.evaluate(&[report]);
//! assert!(result.passed, "{:?}", result.failures().collect::<Vec<_>>());
//! # Ok(())
//! # }
//! ```

mod output;

pub use output::{write_junit, write_text};

use crate::report::{FlowReport, ProberReport, Report, SocketReport};
use kawatch_core::{BadPathTimeout, Endpoint, Outcome, PathTimeout, PathVerdict};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt::Write as _;
use std::net::IpAddr;

/// Version of the `kawatch check --format json` contract.
pub const CHECK_VERSION: u32 = 1;

/// What a [`Finding`] may be about: a rule's requirements, and `min_flows`.
pub const REQUIREMENTS: [&str; 10] = [
    "keepalive",
    "max_idle",
    "max_intvl",
    "max_probes",
    "max_detection",
    "outcome",
    "max_silence",
    "survives",
    "min_flows",
    "whole_input",
];

/// Rules to hold.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
#[schemars(
    description = "A `kawatch check --policy FILE` policy: TOML, one `[[rule]]` \
    table per rule (this schema describes the TOML's data)."
)]
pub struct Policy {
    /// The rules, each `[[rule]]` in a policy file.
    #[serde(rename = "rule", default)]
    pub rules: Vec<Rule>,
}

/// One rule: which flows it applies to, and what must hold for them.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// What the rule is called in the output.
    #[serde(default)]
    pub name: Option<String>,
    /// Flows with one of these ports at either end; any port when empty.
    #[serde(default, deserialize_with = "one_or_many")]
    #[schemars(with = "OneOrMany<u16>")]
    pub port: Vec<u16>,
    /// Flows with one of these addresses at either end; any when empty.
    #[serde(default, deserialize_with = "one_or_many")]
    #[schemars(with = "OneOrMany<IpAddr>")]
    pub host: Vec<IpAddr>,
    /// Whose keepalive the settings rules look at.
    #[serde(default)]
    pub side: Side,
    /// Keepalive must be on (some side probes; live, the local socket has
    /// it on), or must not be.
    #[serde(default)]
    pub keepalive: Option<Requirement>,
    /// The keepalive idle is at most this many seconds.
    #[serde(default, deserialize_with = "seconds")]
    #[schemars(with = "Option<DurationText>")]
    pub max_idle: Option<f64>,
    /// The interval between unanswered probes is at most this.
    #[serde(default, deserialize_with = "seconds")]
    #[schemars(with = "Option<DurationText>")]
    pub max_intvl: Option<f64>,
    /// At most this many unanswered probes before giving up.
    #[serde(default)]
    pub max_probes: Option<u32>,
    /// A dead peer is noticed within this long: idle + intvl x probes (or
    /// the observed time from the last activity to the give-up).
    #[serde(default, deserialize_with = "seconds")]
    #[schemars(with = "Option<DurationText>")]
    pub max_detection: Option<f64>,
    /// The outcomes allowed (e.g. `["alive"]`, or `["alive", "probing"]`).
    #[serde(default)]
    pub outcome: Option<Vec<Outcome>>,
    /// No flow is silent (no segment either way) longer than this.
    #[serde(default, deserialize_with = "seconds")]
    #[schemars(with = "Option<DurationText>")]
    pub max_silence: Option<f64>,
    /// The flow survives each of these path idle timeouts: its keepalive
    /// idle or a heartbeat's period is below the timeout, and no silence
    /// longer than it was seen. Presets (`aws-nlb`, `azure-lb`, `gcp-fw`,
    /// ...), durations (`300s`) or `name=duration`.
    #[serde(default, deserialize_with = "some_one_or_many")]
    #[schemars(with = "Option<OneOrMany<String>>")]
    pub survives: Option<Vec<String>>,
    /// At least this many flows match, or the rule fails: a rule whose
    /// selectors match nothing must not pass silently.
    #[serde(default = "one")]
    pub min_flows: u32,
    /// What a value the capture cannot show counts as.
    #[serde(default)]
    pub unknown: Unknown,
}

/// A duration: seconds as a number, or text with a unit (`90s`, `2m`,
/// `250ms`, `2h`).
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum DurationText {
    Seconds(#[schemars(range(min = 0))] f64),
    Text(#[schemars(regex(pattern = DURATION_PATTERN))] String),
}

/// What [`parse_seconds`] takes, as a JSON Schema pattern.
const DURATION_PATTERN: &str = r"^\s*\+?((\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|((\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*(ms|s|m|h|d)\s*)+)\s*$";

/// One value, or a list of them (`port = 5432`, `port = [5432, 6432]`).
#[derive(JsonSchema)]
#[serde(untagged)]
#[schemars(inline)]
#[allow(dead_code)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

fn one() -> u32 {
    1
}

impl Default for Rule {
    fn default() -> Rule {
        Rule {
            name: None,
            port: Vec::new(),
            host: Vec::new(),
            side: Side::Either,
            keepalive: None,
            max_idle: None,
            max_intvl: None,
            max_probes: None,
            max_detection: None,
            outcome: None,
            max_silence: None,
            survives: None,
            min_flows: 1,
            unknown: Unknown::Fail,
        }
    }
}

/// Whose keepalive a rule looks at.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[derive(clap::ValueEnum)]
pub enum Side {
    /// The end not on the rule's port when only the other end is on it;
    /// else the flow's initiator (`a`: the side whose SYN was seen, else the
    /// end the ports show connected, else the first sender).
    Client,
    /// The end on the rule's port when only it is; else `b`.
    Server,
    /// Either: every side that probes.
    #[default]
    Either,
}

/// Keepalive on or off.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Requirement {
    /// Some side probes (or, live, its socket has keepalive on).
    Required,
    /// No side does.
    Forbidden,
}

/// What a value the capture cannot show counts as.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[derive(clap::ValueEnum)]
pub enum Unknown {
    /// A failure (the default: a test must not pass on what it cannot see).
    #[default]
    Fail,
    /// A pass.
    Pass,
    /// A warning: shown, but the check passes.
    Warn,
}

/// How one finding came out.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The rule holds.
    Pass,
    /// It does not.
    Fail,
    /// It could not be told, and the rule says to warn.
    Warn,
}

/// The result of a check: `kawatch check --format json`, version
/// [`CHECK_VERSION`].
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[schemars(
    description = "The result of a check: `kawatch check --format json`, version 1. \
    Members may be added within a version."
)]
pub struct CheckReport {
    /// The contract's version: [`CHECK_VERSION`].
    #[schemars(
        description = "The contract's version: 1.",
        extend("const" = CHECK_VERSION)
    )]
    pub kawatch_check: u32,
    /// Every rule held (warnings allowed), over the whole input: never when
    /// `interrupted`.
    pub passed: bool,
    /// A signal (Ctrl-C, SIGTERM, SIGHUP) cut a file or pipe short: the
    /// rules covered only what was read, so the check did not pass (exit 130).
    #[serde(default)]
    pub interrupted: bool,
    /// The inputs the flows came from.
    pub inputs: Vec<String>,
    /// What kept an input from being read whole (cut off, damaged,
    /// interrupted, flows lost to the flow table's bounds): the check covers
    /// only what was read.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// One entry per rule, in the policy's order.
    pub rules: Vec<RuleResult>,
}

/// One rule's findings.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct RuleResult {
    /// The rule's name (its selectors when it has none).
    pub name: String,
    /// Flows it selected.
    pub flows_matched: u32,
    /// Every finding, one per flow (and prober) and requirement.
    pub findings: Vec<Finding>,
}

/// One requirement held against one flow (or prober).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct Finding {
    /// The flow, `a <-> b` (with its input when several are read); null for
    /// a finding about the rule as a whole (`min_flows`).
    pub flow: Option<String>,
    /// The prober the finding is about, if one.
    pub prober: Option<Endpoint>,
    /// The requirement: `keepalive`, `max_idle`, `max_intvl`, `max_probes`,
    /// `max_detection`, `outcome`, `max_silence`, `survives`,
    /// `min_flows` ([`REQUIREMENTS`]).
    #[schemars(extend("enum" = REQUIREMENTS))]
    pub requirement: String,
    /// How it came out.
    pub status: Status,
    /// The value seen (seconds, a count), if any.
    pub observed: Option<f64>,
    /// The limit.
    pub limit: Option<f64>,
    /// `survives`: the path timeout's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// In words: what was seen, against what, and where the value came from.
    pub message: String,
}

/// Why a policy could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Not TOML, or not a policy.
    #[error("the policy is not valid: {0}")]
    Invalid(String),
    /// A rule that requires nothing.
    #[error("rule {0} requires nothing: give keepalive, max_idle, max_intvl, max_probes, max_detection, outcome, max_silence, survives or min_flows above 1")]
    Empty(String),
    /// A `survives` entry that names no path timeout, or one path twice.
    #[error("rule {0}: survives: {1}")]
    Path(String, String),
}

impl Policy {
    /// Reads a policy file's text: `[[rule]]` tables.
    pub fn from_toml(text: &str) -> Result<Policy, PolicyError> {
        let policy: Policy =
            toml::from_str(text).map_err(|e| PolicyError::Invalid(e.to_string()))?;
        policy.validate()?;
        Ok(policy)
    }

    /// Every rule requires something, and there is at least one.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.rules.is_empty() {
            return Err(PolicyError::Invalid("it has no [[rule]]".into()));
        }
        for r in &self.rules {
            if !r.requires_something() {
                return Err(PolicyError::Empty(r.title()));
            }
            for (key, v) in [
                ("max_idle", r.max_idle),
                ("max_intvl", r.max_intvl),
                ("max_detection", r.max_detection),
                ("max_silence", r.max_silence),
            ] {
                if v.is_some_and(|v| !(v.is_finite() && v >= 0.0)) {
                    return Err(PolicyError::Invalid(format!(
                        "rule {}: {key} must be a duration of 0 s or more",
                        r.title()
                    )));
                }
            }
            r.survives().map_err(|e| PolicyError::Path(r.title(), e))?;
            if r.survives.as_ref().is_some_and(Vec::is_empty) {
                return Err(PolicyError::Invalid(format!(
                    "rule {}: survives names no path timeout",
                    r.title()
                )));
            }
        }
        Ok(())
    }

    /// Holds every rule against the flows of `reports`. The policy should
    /// be one [`Policy::validate`] accepts ([`Policy::from_toml`] checks): a
    /// path timeout it cannot name fails its rule;
    /// `warnings` lists what kept an input from being read whole, as the
    /// reports' sources say.
    pub fn evaluate(&self, reports: &[Report]) -> CheckReport {
        let several = reports.len() > 1;
        let rules: Vec<RuleResult> = self
            .rules
            .iter()
            .map(|rule| rule.evaluate(reports, several))
            .collect();
        let interrupted = reports.iter().any(|r| r.source.interrupted);
        let passed = !interrupted
            && rules
                .iter()
                .all(|r| r.findings.iter().all(|f| f.status != Status::Fail));
        CheckReport {
            kawatch_check: CHECK_VERSION,
            passed,
            interrupted,
            // (Files merged: each of them, not their joined name.)
            inputs: reports
                .iter()
                .flat_map(|r| match r.source.files.as_slice() {
                    [] => std::slice::from_ref(&r.source.name),
                    files => files,
                })
                .cloned()
                .collect(),
            warnings: reports.iter().flat_map(gaps).collect(),
            rules,
        }
    }
}

impl CheckReport {
    /// The findings that failed, with their rule's name.
    pub fn failures(&self) -> impl Iterator<Item = (&str, &Finding)> {
        self.with_status(Status::Fail)
    }

    /// The findings that warn, with their rule's name.
    pub fn warnings(&self) -> impl Iterator<Item = (&str, &Finding)> {
        self.with_status(Status::Warn)
    }

    fn with_status(&self, status: Status) -> impl Iterator<Item = (&str, &Finding)> {
        self.rules.iter().flat_map(move |r| {
            r.findings
                .iter()
                .filter(move |f| f.status == status)
                .map(move |f| (r.name.as_str(), f))
        })
    }
}

/// What keeps `r` from covering its whole input: a capture cut off, flows
/// that left the full flow table. (Ctrl-C is [`CheckReport::interrupted`].)
fn gaps(r: &Report) -> Vec<String> {
    let src = &r.source;
    let mut out = Vec::new();
    if src.truncated {
        out.push(format!(
            "{}: read only in part ({}): the rules cannot see what was cut off",
            src.name,
            src.truncated_reason.as_deref().unwrap_or("cut off")
        ));
    }
    if src.keepalive_flows_lost > 0 {
        let n = src.keepalive_flows_lost;
        out.push(format!(
            "{}: {n} flow{} with keepalives left the full flow table unkept: the rules cannot \
             see {} (raise --max-retired or --max-flows)",
            src.name,
            if n == 1 { "" } else { "s" },
            if n == 1 { "it" } else { "them" },
        ));
    } else if src.evicted > 0 {
        // Flows without keepalives are not kept when they leave: a rule
        // requiring keepalive cannot see them, and a later segment of one
        // starts a partial flow.
        out.push(format!(
            "{}: {} flow{} left the full flow table: those not kept are not in the report, \
             and the rules cannot see them (raise --max-flows)",
            src.name,
            src.evicted,
            if src.evicted == 1 { "" } else { "s" },
        ));
    }
    out
}

/// A value for a settings rule, and where it came from.
struct Value {
    v: f64,
    from: &'static str,
    /// The most it may be: above `v` when the capture allows two whole
    /// seconds (`59-60s`), so a limit between them is not shown to hold.
    hi: f64,
    /// `v` is only the least it may be (an unanswered run the capture began
    /// inside): it can show a limit broken, never held.
    at_least: bool,
}

impl Value {
    fn exact(v: f64, from: &'static str) -> Value {
        Value {
            v,
            from,
            hi: v,
            at_least: false,
        }
    }
}

impl Rule {
    /// Whether the rule requires anything at all.
    pub fn requires_something(&self) -> bool {
        self.keepalive.is_some()
            || self.max_idle.is_some()
            || self.max_intvl.is_some()
            || self.max_probes.is_some()
            || self.max_detection.is_some()
            || self.outcome.is_some()
            || self.max_silence.is_some()
            || self.survives.is_some()
            || self.min_flows > 1
    }

    /// The path timeouts `survives` names, each once.
    pub fn survives(&self) -> Result<Vec<PathTimeout>, String> {
        let given = self
            .survives
            .iter()
            .flatten()
            .map(|p| PathTimeout::parse(p))
            .collect::<Result<Vec<_>, BadPathTimeout>>()
            .map_err(|e| e.to_string())?;
        PathTimeout::distinct(given)
    }

    /// The rule's name, or what it selects.
    pub fn title(&self) -> String {
        if let Some(n) = &self.name {
            return n.clone();
        }
        let mut t = String::new();
        if !self.port.is_empty() {
            let ports: Vec<String> = self.port.iter().map(u16::to_string).collect();
            let _ = write!(t, "port {} ", ports.join(","));
        }
        if !self.host.is_empty() {
            let hosts: Vec<String> = self.host.iter().map(IpAddr::to_string).collect();
            let _ = write!(t, "host {} ", hosts.join(","));
        }
        if self.side != Side::Either {
            let _ = write!(t, "{:?} side ", self.side);
        }
        match t.trim() {
            "" => "every flow".to_string(),
            s => s.to_lowercase(),
        }
    }

    /// Whether the rule applies to `f`.
    pub fn selects(&self, f: &FlowReport) -> bool {
        let ends = [f.a, f.b];
        (self.port.is_empty() || ends.iter().any(|e| self.port.contains(&e.port)))
            && (self.host.is_empty()
                || ends
                    .iter()
                    .any(|e| self.host.iter().any(|h| h.to_canonical() == e.ip)))
    }

    /// The flow's client and server ends: the server is on the rule's port
    /// when only one end is (a capture that began after the SYN names `a`
    /// by the ports, or the first sender, sometimes the server); else `a`
    /// and `b`.
    fn ends(&self, f: &FlowReport) -> (Endpoint, Endpoint) {
        let on = |e: &Endpoint| self.port.contains(&e.port);
        if on(&f.a) && !on(&f.b) {
            (f.b, f.a)
        } else {
            (f.a, f.b)
        }
    }

    /// Whether `end` of `f` is the side this rule looks at.
    fn looks_at(&self, f: &FlowReport, end: Endpoint) -> bool {
        let (client, server) = self.ends(f);
        match self.side {
            Side::Client => end == client,
            Side::Server => end == server,
            Side::Either => true,
        }
    }

    /// The probers of `f` this rule looks at.
    fn probers<'a>(&'a self, f: &'a FlowReport) -> impl Iterator<Item = &'a ProberReport> {
        f.keepalive
            .iter()
            .filter(move |p| self.looks_at(f, p.prober))
    }

    fn evaluate(&self, reports: &[Report], several: bool) -> RuleResult {
        let mut findings = Vec::new();
        let mut matched = 0u32;
        for report in reports {
            for f in report.flows.iter().filter(|f| self.selects(f)) {
                matched += 1;
                let mut label = format!("{} <-> {}", f.a, f.b);
                if !f.vlan.is_empty() {
                    let ids: Vec<String> = f.vlan.iter().map(u16::to_string).collect();
                    label.push_str(&format!(" vlan {}", ids.join("/")));
                }
                if several {
                    label.push_str(&format!(" ({})", report.source.name));
                }
                self.hold(f, &label, &mut findings);
            }
        }
        // An input read only in part: what the rule cannot see counts as
        // `unknown` says (a cut-off capture must not turn into a pass).
        for gap in reports.iter().flat_map(gaps) {
            findings.push(Finding::of_rule("whole_input", self.unknown.status(), gap));
        }
        let enough = matched >= self.min_flows;
        findings.push(Finding {
            observed: Some(f64::from(matched)),
            limit: Some(f64::from(self.min_flows)),
            ..Finding::of_rule(
                "min_flows",
                Status::of(enough),
                if enough {
                    format!(
                        "{matched} flow{} matched (at least {})",
                        if matched == 1 { "" } else { "s" },
                        self.min_flows
                    )
                } else {
                    format!(
                        "{matched} flow{} matched rule \"{}\", at least {} required",
                        if matched == 1 { "" } else { "s" },
                        self.title(),
                        self.min_flows
                    )
                },
            )
        });
        RuleResult {
            name: self.title(),
            flows_matched: matched,
            findings,
        }
    }

    /// Every requirement against one flow.
    fn hold(&self, f: &FlowReport, label: &str, out: &mut Vec<Finding>) {
        let at = Scope {
            flow: label,
            unknown: self.unknown,
        };
        // The local sockets of the side the rule looks at: on loopback both
        // ends are this box's, and each counts for its own side.
        let sockets: Vec<&SocketReport> = f
            .local_sockets()
            .filter(|s| self.looks_at(f, s.local))
            .collect();
        let probers: Vec<&ProberReport> = self.probers(f).collect();
        if let Some(req) = self.keepalive {
            // On when any counted socket has it on; off when one says off
            // and none on; unknown when none says.
            let says = |on: bool| sockets.iter().find(|s| s.keepalive == Some(on));
            let socket_on = says(true).or_else(|| says(false));
            // (A prober all of whose probes came sooner after traffic than
            // a keepalive timer fires shows no timer.)
            let timed = probers.iter().find(|p| p.timer_shown());
            // A live socket's keepalive off now outweighs probes seen before
            // (turned off since: nothing keeps the connection alive on).
            let off_now = socket_on.filter(|s| s.keepalive == Some(false));
            let on = (timed.is_some() && off_now.is_none())
                || socket_on.is_some_and(|s| s.keepalive == Some(true));
            let seen = match (timed, probers.first(), socket_on) {
                (Some(p), _, Some(s)) if off_now.is_some() => format!(
                    "{} probed, but the local socket has keepalive off now ({}): turned off since it probed",
                    p.prober, s.local
                ),
                (Some(p), _, _) => format!("{} probes", p.prober),
                (None, Some(p), None) => format!(
                    "{}'s {} keepalive-shaped segment{} came within 0.9 s of traffic, sooner \
                     than a keepalive timer fires: no keepalive timer shown",
                    p.prober,
                    p.probes_sent,
                    if p.probes_sent == 1 { "" } else { "s" }
                ),
                (None, _, Some(s)) => format!(
                    "the local socket has keepalive {} ({})",
                    if s.keepalive == Some(true) {
                        "on"
                    } else {
                        "off"
                    },
                    s.local
                ),
                (None, None, None) => {
                    let (client, server) = self.ends(f);
                    match self.side {
                        Side::Either => "no keepalive probe seen".to_string(),
                        Side::Client => format!("no keepalive probe seen from the client {client}"),
                        Side::Server => format!("no keepalive probe seen from the server {server}"),
                    }
                }
            };
            let (ok, want) = match req {
                Requirement::Required => (on, "required"),
                Requirement::Forbidden => (!on, "forbidden"),
            };
            out.push(at.finding(
                "keepalive",
                None,
                Status::of(ok),
                format!("keepalive {want}: {seen}"),
            ));
        }
        if let Some(limit) = self.max_silence {
            let seen = f.silence.longest_s;
            out.push(at.measured(
                "max_silence",
                None,
                seen,
                limit,
                format!(
                    "longest silence {} against at most {}",
                    secs(seen),
                    secs(limit)
                ),
            ));
        }
        // (A policy made or changed in code may not have been validated: a
        // path it cannot name fails, never passes unread.)
        match self.survives() {
            Ok(paths) => {
                for path in paths {
                    out.push(survives(&at, f, &path));
                }
            }
            Err(e) => out.push(at.finding(
                "survives",
                None,
                Status::Fail,
                format!("survives: {e} (the policy was not validated)"),
            )),
        }
        // The settings, per prober (a local socket's exact value first);
        // unknown where neither shows them.
        let exact = |get: fn(&SocketReport) -> Option<f64>| {
            sockets
                .iter()
                .filter(|s| s.keepalive == Some(true))
                .filter_map(|s| Some((s.local, get(s)?)))
                .collect::<Vec<_>>()
        };
        let limits = [
            Limit {
                requirement: "max_idle",
                limit: self.max_idle,
                pick: idle,
                exact: exact(|s| s.idle_s.map(f64::from)),
            },
            Limit {
                requirement: "max_intvl",
                limit: self.max_intvl,
                pick: intvl,
                exact: exact(|s| s.intvl_s.map(f64::from)),
            },
            // (With TCP_USER_TIMEOUT set, the count and the time it allows.)
            Limit {
                requirement: "max_probes",
                limit: self.max_probes.map(f64::from),
                pick: probes,
                exact: exact(|s| s.settings().probes_to_give_up().map(f64::from)),
            },
            Limit {
                requirement: "max_detection",
                limit: self.max_detection,
                pick: detection,
                exact: exact(|s| s.settings().detection_s()),
            },
        ];
        for l in &limits {
            if let Some(limit) = l.limit {
                l.hold(&at, f, &probers, limit, out);
            }
        }
        if let Some(allowed) = &self.outcome {
            let names: Vec<&str> = allowed.iter().map(|o| o.as_str()).collect();
            for p in &probers {
                out.push(at.finding(
                    "outcome",
                    Some(p.prober),
                    Status::of(allowed.contains(&p.outcome)),
                    format!(
                        "outcome {} (allowed: {})",
                        p.outcome.as_str(),
                        names.join(", ")
                    ),
                ));
            }
        }
    }
}

/// Whether `f` survives `path`: what keeps it alive (the report's
/// `silence.allowed_s`: keepalive idle, a live socket's exact idle, or a
/// heartbeat's period) against the timeout, and no longer silence seen.
fn survives(at: &Scope<'_>, f: &FlowReport, path: &PathTimeout) -> Finding {
    let (longest, allowed) = (f.silence.longest_s, f.silence.allowed_s);
    let timeout = path.timeout_s;
    let on = path.label();
    if !kawatch_core::path::opened(f.state) {
        return Finding {
            limit: Some(timeout),
            path: Some(path.name.clone()),
            ..at.finding(
                "survives",
                None,
                Status::Pass,
                format!("never opened (its handshake was not completed): no idle connection for {on} to drop"),
            )
        };
    }
    let verdict = PathVerdict::of(longest, allowed, timeout);
    let seen = secs(longest);
    let (observed, message) = match (verdict, allowed) {
        (PathVerdict::Exceeded, _) => (
            Some(longest),
            format!("exceeded {on}: silent for {seen}, longer than its timeout"),
        ),
        (PathVerdict::Safe, Some(a)) => (
            Some(a),
            format!(
                "survives {on}: its keepalive or heartbeat allows silences of at most {} \
                 (the longest seen: {seen})",
                secs(a)
            ),
        ),
        (_, Some(a)) if longest > a * (1.0 + kawatch_core::TIMER_SLACK) => (
            Some(longest),
            format!(
                "at risk on {on}: silent for {seen}, longer than its keepalive or heartbeat \
                 allows ({}), and too close to the timeout",
                secs(a)
            ),
        ),
        (_, Some(a)) if a < timeout => (
            Some(a),
            format!(
                "at risk on {on}: its keepalive or heartbeat allows silences of {}, too close \
                 to the timeout (a timer up to 12.5 % late passes it)",
                secs(a)
            ),
        ),
        (_, Some(a)) => (
            Some(a),
            format!(
                "at risk on {on}: its keepalive or heartbeat allows silences of {}, not below \
                 the timeout",
                secs(a)
            ),
        ),
        (_, None) => (
            None,
            format!(
                "at risk on {on}: no keepalive or heartbeat seen keeps its silences below the \
                 timeout (the longest seen: {seen})"
            ),
        ),
    };
    Finding {
        observed,
        limit: Some(timeout),
        path: Some(path.name.clone()),
        ..at.finding(
            "survives",
            None,
            Status::of(verdict == PathVerdict::Safe),
            message,
        )
    }
}

impl Unknown {
    /// How a value the capture cannot show comes out.
    fn status(self) -> Status {
        match self {
            Unknown::Fail => Status::Fail,
            Unknown::Pass => Status::Pass,
            Unknown::Warn => Status::Warn,
        }
    }
}

impl Finding {
    /// A finding about a rule as a whole (`min_flows`, `whole_input`): no
    /// flow, no prober.
    pub fn of_rule(requirement: &str, status: Status, message: String) -> Finding {
        Finding {
            flow: None,
            prober: None,
            requirement: requirement.to_string(),
            status,
            observed: None,
            limit: None,
            path: None,
            message,
        }
    }
}

impl Status {
    fn of(ok: bool) -> Status {
        if ok {
            Status::Pass
        } else {
            Status::Fail
        }
    }
}

/// Where findings are made: one flow, under one rule.
struct Scope<'a> {
    flow: &'a str,
    unknown: Unknown,
}

impl Scope<'_> {
    fn finding(
        &self,
        requirement: &str,
        prober: Option<Endpoint>,
        status: Status,
        message: String,
    ) -> Finding {
        Finding {
            flow: Some(self.flow.to_string()),
            prober,
            requirement: requirement.to_string(),
            status,
            observed: None,
            limit: None,
            path: None,
            message,
        }
    }

    /// A value held against a limit.
    fn measured(
        &self,
        requirement: &str,
        prober: Option<Endpoint>,
        seen: f64,
        limit: f64,
        message: String,
    ) -> Finding {
        Finding {
            observed: Some(seen),
            limit: Some(limit),
            ..self.finding(requirement, prober, Status::of(seen <= limit), message)
        }
    }

    /// A value the capture does not show: as the rule says.
    fn unknown(
        &self,
        requirement: &str,
        prober: Option<Endpoint>,
        limit: f64,
        message: String,
    ) -> Finding {
        Finding {
            limit: Some(limit),
            ..self.finding(requirement, prober, self.unknown.status(), message)
        }
    }
}

/// A limit on a keepalive setting.
struct Limit {
    requirement: &'static str,
    limit: Option<f64>,
    /// The value a prober shows, and where it comes from.
    pick: fn(&ProberReport) -> Option<Value>,
    /// The local sockets' exact values (live), and their endpoints.
    exact: Vec<(Endpoint, f64)>,
}

impl Limit {
    /// Holds the limit against each prober (or the local socket's exact
    /// value); unknown where neither shows it.
    fn hold(
        &self,
        at: &Scope<'_>,
        f: &FlowReport,
        probers: &[&ProberReport],
        limit: f64,
        out: &mut Vec<Finding>,
    ) {
        let (req, what) = (self.requirement, what(self.requirement));
        let show = |v: f64| num(req, v);
        for &(end, v) in &self.exact {
            out.push(at.measured(
                req,
                Some(end),
                v,
                limit,
                format!(
                    "{what} {} (the local socket's setting) against at most {}",
                    show(v),
                    show(limit)
                ),
            ));
        }
        for p in probers {
            if self.exact.iter().any(|&(end, _)| end == p.prober) {
                continue;
            }
            out.push(match (self.pick)(p) {
                // A lower bound over the limit: broken, whatever the rest.
                Some(Value {
                    v,
                    from,
                    at_least: true,
                    ..
                }) if v > limit => at.measured(
                    req,
                    Some(p.prober),
                    v,
                    limit,
                    format!(
                        "{what} at least {} ({from}) against at most {}",
                        show(v),
                        show(limit)
                    ),
                ),
                Some(Value {
                    v,
                    from,
                    at_least: true,
                    ..
                }) => at.unknown(
                    req,
                    Some(p.prober),
                    limit,
                    format!(
                        "{what} at least {} ({from}): not enough to show at most {}",
                        show(v),
                        show(limit)
                    ),
                ),
                Some(Value { v, from, hi, .. }) if v <= limit && hi > limit => at.unknown(
                    req,
                    Some(p.prober),
                    limit,
                    format!(
                        "{what} {}-{} ({from}; the capture cannot tell which) against at most {}",
                        show(v).trim_end_matches('s'),
                        show(hi),
                        show(limit)
                    ),
                ),
                Some(Value { v, from, .. }) => at.measured(
                    req,
                    Some(p.prober),
                    v,
                    limit,
                    format!(
                        "{what} {} ({from}) against at most {}",
                        show(v),
                        show(limit)
                    ),
                ),
                None => at.unknown(
                    req,
                    Some(p.prober),
                    limit,
                    format!(
                        "{what}: not observable from this capture{}",
                        unseen(req, p.outcome)
                    ),
                ),
            });
        }
        if self.exact.is_empty() && probers.is_empty() {
            let why = if f.keepalive.is_empty() {
                "no keepalive probe seen"
            } else {
                "the side the rule looks at sent no keepalive probe"
            };
            out.push(at.unknown(
                req,
                None,
                limit,
                format!("{what}: not observable from this capture ({why})"),
            ));
        }
    }
}

/// The idle: the likely whole-second setting, else the observed gap.
fn idle(p: &ProberReport) -> Option<Value> {
    setting(p.likely.idle_s, p.idle_s)
}

/// The interval: likely setting, else the observed spacing.
fn intvl(p: &ProberReport) -> Option<Value> {
    setting(p.likely.intvl_s, p.intvl_s)
}

/// The probe count: the likely setting. The unanswered run observed is the
/// setting only when all of it is in the capture, and then the likely
/// setting says so; otherwise (the capture began inside the run, or ended
/// before it did) it is the least the setting may be: a prober sends at
/// most its count of unanswered probes.
fn probes(p: &ProberReport) -> Option<Value> {
    let seen = p.probes.unwrap_or(0).max(p.probes_at_least);
    match p.likely.probes {
        Some(n) => Some(Value::exact(f64::from(n), "likely setting")),
        // One probe shows nothing: every prober sends one.
        None if seen > 1 => Some(Value {
            at_least: true,
            ..Value::exact(f64::from(seen), "unanswered probes seen")
        }),
        None => None,
    }
}

/// Detection: observed (last activity to give-up) when the prober gave up,
/// else idle + intvl x probes from the settings (at least intvl x the
/// unanswered probes seen, when the idle or the count is not known).
fn detection(p: &ProberReport) -> Option<Value> {
    if let Some(v) = p.detection_s {
        return Some(Value::exact(v, "observed: last activity to give-up"));
    }
    let (n, c) = (intvl(p)?, probes(p)?);
    match idle(p) {
        Some(i) if !c.at_least => Some(Value {
            v: i.v + n.v * c.v,
            from: "idle + intvl x probes, likely settings",
            hi: i.hi + n.hi * c.v,
            at_least: false,
        }),
        i => Some(Value {
            at_least: true,
            ..Value::exact(
                i.map_or(0.0, |i| i.v) + n.v * c.v,
                "idle + intvl x the unanswered probes seen",
            )
        }),
    }
}

/// A whole-second setting: the likely one (up to the next second when the
/// observation allows both), else the observed time.
fn setting(likely: Option<u32>, observed: Option<f64>) -> Option<Value> {
    match (likely, observed) {
        (Some(v), _) => {
            let hi = observed
                .and_then(kawatch_core::likely_range)
                .map_or(v, |(_, hi)| hi.max(v));
            Some(Value {
                hi: f64::from(hi),
                ..Value::exact(f64::from(v), "likely setting")
            })
        }
        (None, Some(v)) => Some(Value::exact(v, "observed")),
        (None, None) => None,
    }
}

/// Why a setting may not show, and where it does.
fn unseen(requirement: &str, outcome: Outcome) -> &'static str {
    match requirement {
        // Probes going unanswered when the capture ended: the count shows
        // only at the give-up.
        "max_probes" | "max_detection" if outcome == Outcome::Probing => {
            " (the probe count shows only at a give-up, and the capture ended while \
             probes went unanswered; a live check reads it from the socket)"
        }
        "max_intvl" | "max_probes" | "max_detection" => {
            " (the interval and the probe count show only when probes go unanswered; \
             a live check reads them from the socket)"
        }
        _ => "",
    }
}

/// What a requirement limits, in words.
fn what(requirement: &str) -> &'static str {
    match requirement {
        "max_idle" => "idle",
        "max_intvl" => "interval",
        "max_probes" => "probes",
        "max_detection" => "dead peer noticed after",
        _ => "value",
    }
}

/// A value as the requirement counts it: a count, or seconds.
fn num(requirement: &str, v: f64) -> String {
    if requirement == "max_probes" {
        format!("{v}")
    } else {
        secs(v)
    }
}

/// Seconds, shortly: `90s`, `2.04s`.
fn secs(v: f64) -> String {
    format!("{}s", (v * 1000.0).round() / 1000.0)
}

/// A list member that may also be given alone: `port = 5432` or
/// `port = [5432, 6432]`. A value of the wrong kind or out of range is
/// named as the member's own type names it (`invalid value: integer
/// 70000, expected u16`), not as a shape.
fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    use serde::de::value::SeqAccessDeserializer;
    use serde::de::{Error, IntoDeserializer, SeqAccess, Visitor};
    struct OneOrMany<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> OneOrMany<T> {
        fn one<E: Error>(d: impl Deserializer<'de, Error = E>) -> Result<Vec<T>, E> {
            T::deserialize(d).map(|t| vec![t])
        }
    }
    impl<'de, T: Deserialize<'de>> Visitor<'de> for OneOrMany<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("one value, or a list of them (port = 5432, host = [\"198.18.0.1\"])")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Vec<T>, A::Error> {
            Vec::<T>::deserialize(SeqAccessDeserializer::new(seq))
        }
        fn visit_i64<E: Error>(self, v: i64) -> Result<Vec<T>, E> {
            Self::one(v.into_deserializer())
        }
        fn visit_u64<E: Error>(self, v: u64) -> Result<Vec<T>, E> {
            Self::one(v.into_deserializer())
        }
        fn visit_f64<E: Error>(self, v: f64) -> Result<Vec<T>, E> {
            Self::one(v.into_deserializer())
        }
        fn visit_bool<E: Error>(self, v: bool) -> Result<Vec<T>, E> {
            Self::one(v.into_deserializer())
        }
        fn visit_str<E: Error>(self, v: &str) -> Result<Vec<T>, E> {
            Self::one(v.into_deserializer())
        }
    }
    d.deserialize_any(OneOrMany(std::marker::PhantomData))
}

/// [`one_or_many`], present.
fn some_one_or_many<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    one_or_many(d).map(Some)
}

/// A duration: seconds as a number, or text with a unit.
fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(
        untagged,
        expecting = "a duration: seconds, or text with a unit (90s, 2m, 250ms)"
    )]
    enum Given {
        Seconds(f64),
        Text(String),
    }
    let secs = match Given::deserialize(d)? {
        Given::Seconds(s) => s,
        Given::Text(t) => parse_seconds(&t).map_err(serde::de::Error::custom)?,
    };
    if secs.is_finite() && secs >= 0.0 {
        Ok(Some(secs))
    } else {
        Err(serde::de::Error::custom("a duration is 0 or more"))
    }
}

/// Parses `90`, `90s`, `1.5m`, `250ms`, `2h`, `1h30m` into seconds
/// ([`kawatch_core::parse_seconds`], as every duration kawatch takes).
pub fn parse_seconds(s: &str) -> Result<f64, String> {
    if s.trim().starts_with('-') {
        return Err(format!("{:?}: a duration is 0 or more", s.trim()));
    }
    kawatch_core::parse_seconds(s).ok_or_else(|| {
        format!(
            "{:?} is not a duration: give seconds, or numbers with ms, s, m, h or d (90s, 2m, 1h30m)",
            s.trim()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Silence, SocketReport, SourceReport};
    use kawatch_core::{Settings, TcpState};

    fn ep(s: &str) -> Endpoint {
        s.parse().unwrap()
    }

    /// A flow 198.18.0.1:40000 -> 198.18.0.2:5432 with the given probers and
    /// (live) local socket.
    fn report(probers: Vec<ProberReport>, socket: Option<Option<SocketReport>>) -> Report {
        Report {
            kawatch_report: 1,
            source: SourceReport {
                name: "interface:lo".into(),
                files: vec![],
                linktype: "EN10MB".into(),
                frames: 0,
                tcp_segments: 0,
                undecoded: 0,
                duplicates: 0,
                evicted: 0,
                keepalive_flows_lost: 0,
                truncated: false,
                truncated_reason: None,
                interrupted: false,
                kernel_drops: None,
                first_ts: None,
                last_ts: None,
            },
            flows: vec![FlowReport {
                a: ep("198.18.0.1:40000"),
                b: ep("198.18.0.2:5432"),
                vlan: vec![],
                first_seen: 0.0,
                last_seen: 10.0,
                state: TcpState::Established,
                segments: 5,
                zero_window_probes: 0,
                partial: false,
                silence: Silence::default(),
                heartbeats: vec![],
                path: vec![],
                files: vec![],
                keepalive: probers,
                socket,
                peer_socket: None,
                disagreements: None,
            }],
        }
    }

    fn prober(end: &str, idle: u32) -> ProberReport {
        ProberReport {
            prober: ep(end),
            probes_sent: 1,
            probes_answered: 1,
            probes_too_soon: 0,
            zero_window_probes: 0,
            idle_s: Some(f64::from(idle) + 0.02),
            intvl_s: None,
            probes: None,
            probes_at_least: 1,
            outcome: Outcome::Alive,
            likely: Settings {
                idle_s: Some(idle),
                intvl_s: None,
                probes: None,
            },
            os_defaults: vec![],
            cadence_s: None,
            detection_s: None,
            first_probe: None,
            last_probe: None,
        }
    }

    /// `r`'s flow as a capture that began after the SYN names it when the
    /// server sent first: the server is side `a`.
    fn first_sender_server(mut r: Report) -> Report {
        let f = &mut r.flows[0];
        std::mem::swap(&mut f.a, &mut f.b);
        r
    }

    /// [`report`]'s flow on loopback: both ends' sockets.
    fn loopback(socket: SocketReport, peer: SocketReport) -> Report {
        let mut r = report(vec![], Some(Some(socket)));
        r.flows[0].peer_socket = Some(peer);
        r
    }

    fn socket(local: &str, on: bool, idle: u32) -> SocketReport {
        let (client, server) = ("198.18.0.1:40000", "198.18.0.2:5432");
        SocketReport {
            local: ep(local),
            remote: ep(if local == client { server } else { client }),
            state: "ESTAB".into(),
            pid: Some(1),
            process: Some("psql".into()),
            keepalive: Some(on),
            idle_s: Some(idle),
            intvl_s: Some(10),
            probes: Some(3),
            user_timeout_ms: Some(0),
            settings_from: None,
            timer: "keepalive".into(),
            next_probe_in_s: None,
            probes_out: None,
            last_data_recv_s: None,
            last_data_sent_s: None,
        }
    }

    fn rule(side: Side, f: impl FnOnce(&mut Rule)) -> Policy {
        let mut r = Rule {
            side,
            ..Rule::default()
        };
        f(&mut r);
        Policy { rules: vec![r] }
    }

    /// Each case's policy over its report: whether it passed, and words in
    /// one of its first rule's findings.
    fn holds(cases: Vec<(&str, Policy, Report, bool, &str)>) {
        for (name, policy, report, passed, words) in cases {
            let r = policy.evaluate(&[report]);
            assert_eq!(r.passed, passed, "{name}: {r:#?}");
            assert!(
                r.rules[0]
                    .findings
                    .iter()
                    .any(|f| f.message.contains(words)),
                "{name}: no {words:?} in {r:#?}"
            );
        }
    }

    /// A silence seen longer than what keeps the flow allows is judged in
    /// its place (HTTP/2 PINGs every 7.01 s, 8.976 s seen before the
    /// first, on a 9 s path).
    #[test]
    fn a_silence_seen_beyond_what_keeps_the_flow() {
        let mut r = report(vec![], None);
        r.flows[0].silence = Silence {
            longest_s: 8.976,
            allowed_s: Some(7.01),
        };
        let on = |path: &str| rule(Side::Either, |rule| rule.survives = Some(vec![path.into()]));
        holds(vec![
            (
                "9 s: at risk, by what was seen",
                on("corp=9s"),
                r.clone(),
                false,
                "at risk on corp 9s: silent for 8.976s, longer than its keepalive or heartbeat allows (7.01s)",
            ),
            (
                "11 s: survives",
                on("corp=11s"),
                r,
                true,
                "survives corp 11s",
            ),
        ]);
    }

    /// A policy changed in code and not validated: a path timeout it cannot
    /// name fails the rule, saying why (it was skipped, and the rule passed).
    #[test]
    fn a_path_not_named_fails_an_unvalidated_policy() {
        let r = report(vec![], None);
        holds(vec![(
            "a misspelt preset",
            rule(Side::Either, |rule| {
                rule.survives = Some(vec!["aws-nbl".into()]);
            }),
            r,
            false,
            "the policy was not validated",
        )]);
    }

    /// A connection that never opened (SYNs unanswered) has no idle
    /// connection for a path to drop: its report judges no path, and
    /// `survives` passes it, saying why (it read "at risk").
    #[test]
    fn a_connection_never_opened_survives_every_path() {
        let mut r = report(vec![], None);
        r.flows[0].state = TcpState::SynSent;
        r.flows[0].silence = Silence {
            longest_s: 8.2,
            allowed_s: None,
        };
        let paths = [PathTimeout::parse("aws-nlb").unwrap()];
        r.flows[0].judge(&paths);
        assert!(r.flows[0].path.is_empty(), "{:?}", r.flows[0].path);
        holds(vec![(
            "never opened",
            rule(Side::Either, |rule| {
                rule.survives = Some(vec!["aws-nlb".into()]);
            }),
            r,
            true,
            "never opened",
        )]);
    }

    /// (name, policy, report, passed, words in a finding's message)
    #[test]
    fn sides_and_live_sockets() {
        let client = "198.18.0.1:40000";
        let server = "198.18.0.2:5432";
        let required = |r: &mut Rule| r.keepalive = Some(Requirement::Required);
        let forbidden = |r: &mut Rule| r.keepalive = Some(Requirement::Forbidden);
        let idle_30 = |r: &mut Rule| r.max_idle = Some(30.0);
        // Idle 10 s, intvl 10 s, count 3, user timeout 45 s: 4 probes, 50 s.
        let with_user_timeout = report(
            vec![],
            Some(Some(SocketReport {
                user_timeout_ms: Some(45_000),
                ..socket(client, true, 10)
            })),
        );
        let cases: Vec<(&str, Policy, Report, bool, &str)> = vec![
            (
                "the server probes: required on either side holds",
                rule(Side::Either, required),
                report(vec![prober(server, 60)], None),
                true,
                "198.18.0.2:5432 probes",
            ),
            (
                "... but not on the client's",
                rule(Side::Client, required),
                report(vec![prober(server, 60)], None),
                false,
                "no keepalive probe seen",
            ),
            (
                "live: no probe yet, the local socket has keepalive on",
                rule(Side::Client, required),
                report(vec![], Some(Some(socket(client, true, 7200)))),
                true,
                "the local socket has keepalive on",
            ),
            (
                "live: the socket's exact idle beats the wire",
                rule(Side::Either, idle_30),
                report(vec![], Some(Some(socket(client, true, 7200)))),
                false,
                "idle 7200s (the local socket's setting) against at most 30s",
            ),
            (
                "live: TCP_USER_TIMEOUT, not the count, bounds the probes",
                rule(Side::Either, |r| r.max_probes = Some(3)),
                with_user_timeout.clone(),
                false,
                "probes 4 (the local socket's setting) against at most 3",
            ),
            (
                "live: ... and the time to notice a dead peer",
                rule(Side::Either, |r| r.max_detection = Some(40.0)),
                with_user_timeout.clone(),
                false,
                "dead peer noticed after 50s (the local socket's setting) against at most 40s",
            ),
            (
                "live: keepalive off on the socket",
                rule(Side::Either, required),
                report(vec![], Some(Some(socket(client, false, 7200)))),
                false,
                "the local socket has keepalive off",
            ),
            // It probed, then was turned off (found by a live review: the
            // requirement held on the probes seen before).
            (
                "live: keepalive turned off after probes",
                rule(Side::Either, required),
                report(
                    vec![prober(client, 20)],
                    Some(Some(socket(client, false, 7200))),
                ),
                false,
                "198.18.0.1:40000 probed, but the local socket has keepalive off now",
            ),
            (
                "live: a flow that is not this box's",
                rule(Side::Either, idle_30),
                report(vec![prober(client, 20)], Some(None)),
                true,
                "idle 20s (likely setting) against at most 30s",
            ),
            (
                "the server's socket does not count for the client side",
                rule(Side::Client, idle_30),
                report(vec![], Some(Some(socket(server, true, 10)))),
                false,
                "not observable",
            ),
            (
                "the server on the rule's port, though the capture named it a",
                rule(Side::Server, |r| {
                    r.port = vec![5432];
                    r.keepalive = Some(Requirement::Forbidden);
                }),
                first_sender_server(report(vec![prober(server, 60)], None)),
                false,
                "198.18.0.2:5432 probes",
            ),
            (
                "... and the client is the other end",
                rule(Side::Client, |r| {
                    r.port = vec![5432];
                    r.keepalive = Some(Requirement::Forbidden);
                }),
                first_sender_server(report(vec![prober(server, 60)], None)),
                true,
                "no keepalive probe seen",
            ),
            (
                "without a port, the first sender is the client",
                rule(Side::Client, |r| r.keepalive = Some(Requirement::Forbidden)),
                first_sender_server(report(vec![prober(server, 60)], None)),
                false,
                "198.18.0.2:5432 probes",
            ),
            (
                "loopback: the server's own socket counts for the server side",
                rule(Side::Server, forbidden),
                loopback(socket(client, true, 10), socket(server, true, 10)),
                false,
                "the local socket has keepalive on (198.18.0.2:5432)",
            ),
            (
                "loopback: ... and not the client's",
                rule(Side::Server, forbidden),
                loopback(socket(client, true, 10), socket(server, false, 10)),
                true,
                "the local socket has keepalive off (198.18.0.2:5432)",
            ),
            (
                "loopback: the client's socket, given as the other end",
                rule(Side::Client, required),
                loopback(socket(server, false, 10), socket(client, true, 10)),
                true,
                "the local socket has keepalive on (198.18.0.1:40000)",
            ),
            (
                "loopback: the server's exact idle for the server side",
                rule(Side::Server, idle_30),
                loopback(socket(client, true, 10), socket(server, true, 7200)),
                false,
                "idle 7200s (the local socket's setting) against at most 30s",
            ),
            (
                "loopback: either side: each end's exact idle",
                rule(Side::Either, idle_30),
                loopback(socket(client, true, 10), socket(server, true, 7200)),
                false,
                "idle 10s (the local socket's setting) against at most 30s",
            ),
        ];
        holds(cases);
    }

    /// (name, policy, report, passed, words in a finding's message)
    #[test]
    fn lower_bounds_ranges_and_inputs_read_in_part() {
        let client = "198.18.0.1:40000";
        let run = |n: u32| {
            let mut p = prober(client, 10);
            p.probes = Some(n);
            p.intvl_s = Some(5.01);
            p.likely.intvl_s = Some(5);
            vec![p]
        };
        let early = {
            let mut p = prober(client, 59);
            p.idle_s = Some(59.67);
            vec![p]
        };
        let probes = |n: u32| move |r: &mut Rule| r.max_probes = Some(n);
        let idle = |s: f64| move |r: &mut Rule| r.max_idle = Some(s);
        let detection = |s: f64| move |r: &mut Rule| r.max_detection = Some(s);
        let truncated = {
            let mut r = report(vec![prober(client, 10)], None);
            r.source.truncated = true;
            r.source.truncated_reason = Some("unreadable after packet 7".into());
            r
        };
        let lost = {
            let mut r = report(vec![prober(client, 10)], None);
            r.source.keepalive_flows_lost = 2;
            r
        };
        let warn = |r: &mut Rule| {
            r.max_idle = Some(60.0);
            r.unknown = Unknown::Warn;
        };
        let cases: Vec<(&str, Policy, Report, bool, &str)> = vec![
            (
                "an unanswered run longer than the limit breaks it",
                rule(Side::Either, probes(2)),
                report(run(3), None),
                false,
                "probes at least 3 (unanswered probes seen) against at most 2",
            ),
            (
                "... one within it shows nothing",
                rule(Side::Either, probes(3)),
                report(run(3), None),
                false,
                "probes at least 3 (unanswered probes seen): not enough to show at most 3",
            ),
            (
                "a run of four whose last was answered: at least four, no give-up",
                rule(Side::Either, |r: &mut Rule| {
                    r.max_probes = Some(3);
                    r.unknown = Unknown::Pass;
                }),
                report(
                    {
                        let mut p = run(4);
                        p[0].probes = None;
                        p[0].probes_at_least = 4;
                        p[0].outcome = Outcome::Alive;
                        p
                    },
                    None,
                ),
                false,
                "probes at least 4 (unanswered probes seen) against at most 3",
            ),
            (
                "detection: at least idle + intvl x the run",
                rule(Side::Either, detection(20.0)),
                report(run(3), None),
                false,
                "dead peer noticed after at least 25s",
            ),
            (
                "a run the capture ended in: no count, and it says why",
                rule(Side::Either, probes(2)),
                report(
                    {
                        let mut p = run(4);
                        p[0].probes = None;
                        p[0].outcome = Outcome::Probing;
                        p
                    },
                    None,
                ),
                false,
                "shows only at a give-up, and the capture ended while probes went unanswered",
            ),
            (
                "two whole seconds fit, the limit between them",
                rule(Side::Either, idle(59.0)),
                report(early.clone(), None),
                false,
                "idle 59-60s (likely setting; the capture cannot tell which) against at most 59s",
            ),
            (
                "... both within it",
                rule(Side::Either, idle(60.0)),
                report(early, None),
                true,
                "idle 59s (likely setting) against at most 60s",
            ),
            (
                "a capture cut off",
                rule(Side::Either, idle(60.0)),
                truncated.clone(),
                false,
                "read only in part (unreadable after packet 7)",
            ),
            (
                "... accepted with unknown = warn",
                rule(Side::Either, warn),
                truncated,
                true,
                "the rules cannot see what was cut off",
            ),
            (
                "flows that left the full table",
                rule(Side::Either, idle(60.0)),
                {
                    let mut r = report(vec![prober(client, 10)], None);
                    r.source.evicted = 3;
                    r
                },
                false,
                "3 flows left the full flow table",
            ),
            (
                "keepalive flows the table could not keep",
                rule(Side::Either, idle(60.0)),
                lost,
                false,
                "2 flows with keepalives left the full flow table unkept",
            ),
        ];
        holds(cases);
    }

    #[test]
    fn durations_in_policies() {
        for (text, secs) in [
            ("90", 90.0),
            ("90s", 90.0),
            ("1.5m", 90.0),
            ("250ms", 0.25),
            ("2h", 7200.0),
            ("1h30m", 5400.0),
            ("1s500ms", 1.5),
            ("2h 4m", 7440.0),
            ("1d", 86400.0),
            ("1e3", 1000.0),
            ("0", 0.0),
        ] {
            assert_eq!(parse_seconds(text), Ok(secs), "{text}");
        }
        for bad in [
            "", "soon", "-5s", "5 x", "NaN", "inf", "1h30", "m", "5s-", "-0", "+", "+ ",
        ] {
            assert!(parse_seconds(bad).is_err(), "{bad:?}");
        }
        let p = Policy::from_toml(
            "[[rule]]\nport = [5432, 6432]\nmax_idle = 60\nmax_intvl = \"10s\"\n",
        )
        .unwrap();
        assert_eq!(p.rules[0].port, [5432, 6432]);
        assert_eq!(
            (p.rules[0].max_idle, p.rules[0].max_intvl),
            (Some(60.0), Some(10.0))
        );
        assert_eq!(
            p.rules[0].min_flows, 1,
            "a rule must match something by default"
        );
    }
}
