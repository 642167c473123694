//! The report contract as Rust types: what `kawatch report --format json`,
//! `--format events` and `kawatch sockets --format json` write, and what
//! other Rust tools read back. The JSON and these types are one definition
//! (docs/report-contract.md says what each field means; docs/schemas/ has the
//! JSON Schemas, generated from these types).
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let json = std::fs::read_to_string("fixtures/expected/synth/dead_give_up.pcap.json")?;
//! let report: kawatch::report::Report = serde_json::from_str(&json)?;
//! let prober = &report.flows[0].keepalive[0];
//! assert_eq!(prober.outcome, kawatch::Outcome::Dead);
//! assert_eq!(prober.likely.probes, Some(3));
//! # Ok(())
//! # }
//! ```

use super::summary::micros;
use kawatch_core::{allowed_silence_s, Endpoint, Event, HeartbeatProtocol, HeartbeatView};
use kawatch_core::{
    EventKind, FlowView, Outcome, PathTimeout, PathVerdict, ProberView, Settings, SettingsFrom,
    SocketState, TcpState, TimerKind, Timestamp,
};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

/// Version of the JSON report contract (`kawatch_report`).
pub const REPORT_VERSION: u32 = 1;

/// A whole report: `kawatch report --format json`, version [`REPORT_VERSION`].
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[schemars(
    description = "A whole report: `kawatch report --format json`, version 1 \
    (docs/report-contract.md). Members may be added within a version."
)]
pub struct Report {
    /// The contract's version: [`REPORT_VERSION`].
    #[schemars(
        description = "The contract's version: 1.",
        extend("const" = REPORT_VERSION)
    )]
    pub kawatch_report: u32,
    /// The input and its totals.
    pub source: SourceReport,
    /// Every flow, by first seen.
    pub flows: Vec<FlowReport>,
}

/// What a report says of its input.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct SourceReport {
    /// Path, `-` for standard input, `interface:IF` when live; several
    /// files merged are joined with `+`.
    pub name: String,
    /// Several files read as one (`--merge`): each, in the order given (a
    /// name may hold a `+` itself). Absent otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// libpcap's DLT name; several joined by `,` in the order met.
    pub linktype: String,
    /// Frames read.
    pub frames: u64,
    /// Frames decoded to a TCP segment.
    pub tcp_segments: u64,
    /// Frames that did not decode to TCP.
    pub undecoded: u64,
    /// TCP segments ignored as the same frame captured twice.
    pub duplicates: u64,
    /// Evictions from the flow table (`--max-flows` reached).
    pub evicted: u64,
    /// Flows with keepalives evicted beyond `--max-retired`: not listed.
    #[serde(default)]
    pub keepalive_flows_lost: u64,
    /// The input could not be read to its end.
    pub truncated: bool,
    /// Why, when truncated.
    #[serde(default)]
    pub truncated_reason: Option<String>,
    /// Ctrl-C stopped the read of a file or stdin before its end.
    #[serde(default)]
    pub interrupted: bool,
    /// Live captures: packets the kernel dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_drops: Option<u64>,
    /// Epoch seconds of the earliest frame.
    pub first_ts: Option<f64>,
    /// Epoch seconds of the latest frame.
    pub last_ts: Option<f64>,
}

/// One flow.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct FlowReport {
    /// The initiator when its SYN was seen, else the one end on an ephemeral
    /// port (32768 and up) when only one is, else the first sender seen.
    pub a: Endpoint,
    /// The other end.
    pub b: Endpoint,
    /// VLAN ids, outermost first; empty when untagged.
    pub vlan: Vec<u16>,
    /// Epoch seconds of the flow's earliest segment.
    pub first_seen: f64,
    /// Its latest.
    pub last_seen: f64,
    /// Connection state as the wire shows it.
    pub state: TcpState,
    /// Segments seen.
    pub segments: u64,
    /// Zero-window probes seen in either direction.
    pub zero_window_probes: u32,
    /// Earlier segments of this connection were evicted and not kept: this
    /// record starts mid-connection.
    #[serde(default)]
    pub partial: bool,
    /// How long the flow went quiet, and how long its keepalive and
    /// heartbeats allow.
    #[serde(default)]
    pub silence: Silence,
    /// Application heartbeats, one per side that sends them; empty when
    /// none were seen. Never TCP keepalive (that is `keepalive`).
    #[serde(default)]
    pub heartbeats: Vec<HeartbeatReport>,
    /// Whether the flow survives each path timeout in force, in the order
    /// given; none for a connection that never opened (`syn_sent`).
    #[serde(default)]
    pub path: Vec<PathReport>,
    /// Several files read as one (`--merge`): the ones the flow was seen in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// One entry per side that probed; empty when none did.
    pub keepalive: Vec<ProberReport>,
    /// Live reports: the flow's local socket as the kernel reported it
    /// (`Some(None)`: the flow is not this box's). Absent from file reports.
    #[schemars(
        description = "Live reports: the flow's local socket as the kernel reported it; \
        null when neither end is a socket of this box. Absent from file reports."
    )]
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub socket: Option<Option<SocketReport>>,
    /// Live reports, a connection with both ends on this box (loopback):
    /// the other end's socket. Absent otherwise.
    #[schemars(
        description = "Live reports, a connection with both ends on this box (loopback): \
        the other end's socket (`socket` is the end with keepalive on when only one has it, \
        else side a's). Absent otherwise."
    )]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_socket: Option<SocketReport>,
    /// Live reports: where the socket and the wire disagree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disagreements: Option<Vec<String>>,
}

/// A flow's silences: what a middlebox's idle timer sees.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Default)]
pub struct Silence {
    /// The longest gap between two of its segments, either direction,
    /// seconds (observed; the time before its first segment and after its
    /// last is not counted, nor the time from a close or reset to a new
    /// connection's SYN on the same 4-tuple).
    pub longest_s: f64,
    /// The longest silence the flow's own mechanisms allow, seconds: the
    /// smallest of each side's keepalive ([`kawatch_core::keepalive_silence_s`]:
    /// the larger of its idle and interval, from a local socket's exact
    /// settings in a live report or the likely settings from the wire, and
    /// the cadence of its answered probes) and each heartbeat's period; null
    /// where nothing keeps the flow alive.
    pub allowed_s: Option<f64>,
}

/// One side's application heartbeat: small segments at a steady period.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct HeartbeatReport {
    /// The side that sends them.
    pub side: Endpoint,
    /// What the bytes say they are (`periodic` when they say nothing known,
    /// `tls-periodic` or `ssh-periodic` when encrypted).
    pub protocol: HeartbeatProtocol,
    /// Mean time between beats, seconds.
    pub period_s: f64,
    /// Beats seen.
    pub count: u32,
    /// More than half of the beats were answered by the peer.
    pub answered: bool,
}

/// A flow's verdict against one path timeout.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct PathReport {
    /// The preset's name (`aws-nlb`), the name given (`corp-fw=30m` gives
    /// `corp-fw`), or a bare duration as written (`300s`).
    pub name: String,
    /// The path's idle timeout, seconds.
    pub timeout_s: f64,
    /// `safe`: the allowed silence, a kernel timer's 12.5 % late, is below
    /// the timeout; `at_risk`: nothing seen keeps silences below it; `exceeded`:
    /// a longer silence was observed (on that path the flow would already
    /// have been dropped).
    pub verdict: PathVerdict,
}

/// One side that sent keepalive probes.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct ProberReport {
    /// The prober.
    pub prober: Endpoint,
    /// Probes sent.
    pub probes_sent: u32,
    /// Probes answered by the peer's ACK.
    pub probes_answered: u32,
    /// Of the probes, those sent within 0.9 s of the last segment the
    /// prober received: sooner than a keepalive timer fires (idle settings
    /// are whole seconds), so keepalive-shaped but no timer's. When it is
    /// every probe, the prober shows no keepalive timer: no timing, and
    /// nothing it keeps alive.
    #[serde(default)]
    pub probes_too_soon: u32,
    /// Zero-window probes from this side (not counted as probes).
    pub zero_window_probes: u32,
    /// First probe - last activity received, seconds (min over episodes).
    pub idle_s: Option<f64>,
    /// Median spacing of consecutive unanswered probes, seconds.
    pub intvl_s: Option<f64>,
    /// Unanswered probes seen before the give-up.
    pub probes: Option<u32>,
    /// The least the probe count before a give-up can be: the longest run
    /// of probes seen each sent while the ones before it were unanswered
    /// (a prober sends the k-th only with k - 1 out), or the give-up's.
    pub probes_at_least: u32,
    /// Where probing stands.
    pub outcome: Outcome,
    /// Whole-second settings the observations allow.
    pub likely: Settings,
    /// OS default sets the likely settings match.
    pub os_defaults: Vec<String>,
    /// Median spacing of answered probes, seconds.
    pub cadence_s: Option<f64>,
    /// Last activity received to the give-up RST, seconds.
    pub detection_s: Option<f64>,
    /// Epoch seconds of the earliest probe.
    pub first_probe: Option<f64>,
    /// Epoch seconds of the latest probe.
    pub last_probe: Option<f64>,
}

/// One classified segment: a line of `kawatch report --format events`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct EventReport {
    /// With several inputs: the one it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based frame number in the input.
    pub frame: u64,
    /// Epoch seconds.
    pub ts: f64,
    /// What it was.
    pub kind: EventKind,
    /// Sender.
    pub src: Endpoint,
    /// Receiver.
    pub dst: Endpoint,
}

/// One socket in `kawatch sockets --format json`; also each local flow's
/// `"socket"` in a live report.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct SocketReport {
    /// This side.
    pub local: Endpoint,
    /// The peer.
    pub remote: Endpoint,
    /// TCP state, as `ss` names it.
    #[schemars(with = "SocketState")]
    pub state: String,
    /// Owning process id.
    pub pid: Option<u32>,
    /// Owning process's command name.
    pub process: Option<String>,
    /// SO_KEEPALIVE; null when it could not be told.
    pub keepalive: Option<bool>,
    /// TCP_KEEPIDLE, seconds.
    pub idle_s: Option<u32>,
    /// TCP_KEEPINTVL, seconds.
    pub intvl_s: Option<u32>,
    /// TCP_KEEPCNT.
    pub probes: Option<u32>,
    /// TCP_USER_TIMEOUT, ms (0: not set).
    pub user_timeout_ms: Option<u32>,
    /// `socket` (exact, getsockopt) or `timer` (inferred).
    pub settings_from: Option<SettingsFrom>,
    /// The armed timer: keepalive, retransmit, zero_window, time_wait or none.
    #[schemars(with = "TimerKind")]
    pub timer: String,
    /// Seconds until the next keepalive probe (or give-up).
    pub next_probe_in_s: Option<f64>,
    /// Keepalive probes out, unanswered.
    pub probes_out: Option<u32>,
    /// Seconds since data was last received.
    pub last_data_recv_s: Option<f64>,
    /// Seconds since data was last sent.
    pub last_data_sent_s: Option<f64>,
}

impl SocketReport {
    /// The longest silence its keepalive allows now
    /// ([`kawatch_core::socket_silence_s`]).
    pub fn keeps_silence_s(&self) -> Option<f64> {
        let timer = kawatch_core::TimerKind::from_name(&self.timer)?;
        kawatch_core::socket_silence_s(&self.settings(), timer)
    }

    /// The keepalive settings it reports.
    pub fn settings(&self) -> kawatch_core::KeepaliveSettings {
        kawatch_core::KeepaliveSettings {
            on: self.keepalive,
            idle_s: self.idle_s,
            intvl_s: self.intvl_s,
            probes: self.probes,
            user_timeout_ms: self.user_timeout_ms,
            from: self.settings_from,
        }
    }
}

/// `kawatch sockets --format json`, version [`SOCKETS_VERSION`].
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[schemars(description = "`kawatch sockets --format json`, version 1 \
    (docs/report-contract.md). Members may be added within a version.")]
pub struct SocketsReport {
    /// The contract's version: [`SOCKETS_VERSION`].
    #[schemars(
        description = "The contract's version: 1.",
        extend("const" = SOCKETS_VERSION)
    )]
    pub kawatch_sockets: u32,
    /// The network namespace listed.
    pub netns: String,
    /// The namespace's keepalive sysctls (null when unreadable).
    pub sysctl: Option<Sysctl>,
    /// Every TCP connection (listeners left out).
    pub sockets: Vec<SocketReport>,
    /// What could not be read, and why.
    pub notes: Vec<String>,
}

/// The keepalive sysctls of a network namespace.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sysctl {
    /// net.ipv4.tcp_keepalive_time, seconds.
    pub keepalive_time: u32,
    /// net.ipv4.tcp_keepalive_intvl, seconds.
    pub keepalive_intvl: u32,
    /// net.ipv4.tcp_keepalive_probes.
    pub keepalive_probes: u32,
}

/// Version of the `kawatch sockets --format json` contract.
pub const SOCKETS_VERSION: u32 = 1;

/// A member that may be present and null (`Some(None)`), not merely absent
/// (`None`, from `default`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Epoch seconds to the microsecond, as the contract writes times.
pub(crate) fn ts(t: Timestamp) -> f64 {
    micros(t.as_secs_f64())
}

impl FlowReport {
    /// This box's sockets of the flow, live: its own and, when both ends
    /// are this box's, the other end's.
    pub fn local_sockets(&self) -> impl Iterator<Item = &SocketReport> {
        self.socket.iter().flatten().chain(&self.peer_socket)
    }

    /// Whether this box's socket at `end` has keepalive off now (turned
    /// off since, when that end probed): it keeps nothing alive any more.
    pub fn keepalive_off_at(&self, end: Endpoint) -> bool {
        self.local_sockets()
            .any(|s| s.local == end && s.keepalive == Some(false))
    }

    /// The contract's view of a flow (no socket: see [`super::Local`]),
    /// judged against the default path timeouts ([`PathTimeout::defaults`];
    /// [`FlowReport::judge`] others).
    pub fn of(f: &FlowView) -> FlowReport {
        let mut report = FlowReport::unjudged(f);
        report.judge(&PathTimeout::defaults());
        report
    }

    /// As [`FlowReport::of`], `path` left empty for [`FlowReport::judge`].
    pub(crate) fn unjudged(f: &FlowView) -> FlowReport {
        FlowReport::unjudged_in(f, Spare::default())
    }

    /// As [`FlowReport::unjudged`], in `spare`'s allocations (its `path`
    /// kept for [`FlowReport::judge`] to write over).
    pub(crate) fn unjudged_in(f: &FlowView, spare: Spare) -> FlowReport {
        let Spare {
            mut vlan,
            mut heartbeats,
            path,
            mut keepalive,
        } = spare;
        vlan.clear();
        vlan.extend_from_slice(f.vlan.ids());
        heartbeats.clear();
        heartbeats.extend(f.heartbeats.iter().map(HeartbeatReport::of));
        keepalive.clear();
        keepalive.extend(f.probers.iter().map(ProberReport::of));
        FlowReport {
            a: f.a,
            b: f.b,
            vlan,
            first_seen: ts(f.first_seen),
            last_seen: ts(f.last_seen),
            state: f.state,
            segments: f.segments,
            zero_window_probes: f.zero_window_probes,
            partial: f.partial,
            silence: Silence {
                longest_s: micros(f.longest_silence_s),
                allowed_s: allowed_silence_s(f).map(micros),
            },
            heartbeats,
            path,
            files: Vec::new(),
            keepalive,
            socket: None,
            peer_socket: None,
            disagreements: None,
        }
    }

    /// Sets `path`: the verdict against each of `paths`, from `silence`
    /// (so a live report's exact socket idle counts once set there). A
    /// connection that never opened (its handshake not completed, as far
    /// as the wire shows) has none: no path holds it idle.
    pub fn judge(&mut self, paths: &[PathTimeout]) {
        if !kawatch_core::path::opened(self.state) {
            self.path.clear();
            return;
        }
        let (longest, allowed) = (self.silence.longest_s, self.silence.allowed_s);
        self.path.truncate(paths.len());
        for (i, p) in paths.iter().enumerate() {
            let verdict = PathVerdict::of(longest, allowed, p.timeout_s);
            match self.path.get_mut(i) {
                // (An earlier report's entry: its name's allocation used again.)
                Some(r) => {
                    r.name.clone_from(&p.name);
                    r.timeout_s = p.timeout_s;
                    r.verdict = verdict;
                }
                None => self.path.push(PathReport {
                    name: p.name.clone(),
                    timeout_s: p.timeout_s,
                    verdict,
                }),
            }
        }
    }

    /// What of this report's allocations a next one can use.
    pub(crate) fn into_spare(self) -> Spare {
        Spare {
            vlan: self.vlan,
            heartbeats: self.heartbeats,
            path: self.path,
            keepalive: self.keepalive,
        }
    }
}

/// A written report's lists, to be filled again
/// ([`FlowReport::unjudged_in`]): a report of many flows allocates for
/// the first only.
#[derive(Debug, Default)]
pub(crate) struct Spare {
    vlan: Vec<u16>,
    heartbeats: Vec<HeartbeatReport>,
    path: Vec<PathReport>,
    keepalive: Vec<ProberReport>,
}

impl HeartbeatReport {
    /// The contract's view of a heartbeat.
    pub fn of(h: &HeartbeatView) -> HeartbeatReport {
        HeartbeatReport {
            side: h.endpoint,
            protocol: h.protocol,
            period_s: micros(h.period_s),
            count: h.count,
            answered: h.answered,
        }
    }
}

impl ProberReport {
    /// Whether some probe came late enough after the prober last received
    /// anything for a keepalive timer to have sent it (see
    /// [`ProberReport::probes_too_soon`]).
    pub fn timer_shown(&self) -> bool {
        self.probes_too_soon < self.probes_sent
    }

    /// The contract's view of a prober.
    pub fn of(p: &ProberView) -> ProberReport {
        ProberReport {
            prober: p.endpoint,
            probes_sent: p.probes_sent,
            probes_answered: p.probes_answered,
            probes_too_soon: p.probes_too_soon,
            zero_window_probes: p.zero_window_probes,
            idle_s: p.idle_s.map(micros),
            intvl_s: p.intvl_s.map(micros),
            probes: p.probes,
            probes_at_least: p.probes_at_least,
            outcome: p.outcome,
            likely: p.likely,
            os_defaults: p.os_defaults.iter().map(|s| (*s).to_string()).collect(),
            cadence_s: p.cadence_s.map(micros),
            detection_s: p.detection_s.map(micros),
            first_probe: p.first_probe.map(ts),
            last_probe: p.last_probe.map(ts),
        }
    }
}

impl EventReport {
    /// The contract's view of an event; `file` names its input when several
    /// are read.
    pub fn of(ev: &Event, file: Option<&str>) -> EventReport {
        EventReport {
            file: file.map(str::to_string),
            frame: ev.frame,
            ts: ts(ev.ts),
            kind: ev.kind,
            src: ev.src,
            dst: ev.dst,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{Next, Source};
    use kawatch_core::Analyzer;

    /// Every flow of the fixtures that have probers, heartbeats and tags.
    fn flows() -> Vec<FlowView> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut flows = Vec::new();
        for name in ["both_sides_probing", "heartbeats", "vlan", "dead_give_up"] {
            let path = root.join(format!("fixtures/synth/{name}.pcap"));
            let mut src = Source::open_file(&path, None).expect("opens");
            let mut an = Analyzer::new(src.link_type());
            while let Ok(Next::Frame(f)) = src.next_frame() {
                f.ingest(&mut an);
            }
            flows.extend(an.flow_views());
        }
        flows
    }

    /// A report made in an earlier one's allocations, and judged against
    /// more, fewer or other path timeouts than it was, is the report made
    /// anew.
    #[test]
    fn a_report_in_spare_allocations_is_the_report_made_anew() {
        let path = |s: &str| PathTimeout::parse(s).expect("a path timeout");
        let judged_against = [
            PathTimeout::defaults(),
            vec![path("corp-fw=30m"), path("300s")],
            Vec::new(),
            vec![
                path("5m"),
                path("aws-nlb"),
                path("a=1s"),
                path("b=2h"),
                path("7s"),
            ],
        ];
        let flows = flows();
        assert!(flows.iter().any(|f| !f.heartbeats.is_empty()));
        assert!(flows.iter().any(|f| f.probers.len() == 2));
        assert!(flows.iter().any(|f| !f.vlan.ids().is_empty()));
        let mut spare = Spare::default();
        for (i, f) in flows.iter().enumerate() {
            let paths = &judged_against[i % judged_against.len()];
            let mut anew = FlowReport::unjudged(f);
            anew.judge(paths);
            let mut again = FlowReport::unjudged_in(f, spare);
            again.judge(paths);
            assert_eq!(again, anew, "flow {i}");
            spare = again.into_spare();
        }
    }
}
