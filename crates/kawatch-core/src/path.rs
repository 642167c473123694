//! Will a connection survive its path? The idle timeouts of the middleboxes
//! a connection may cross (load balancers, NAT gateways, stateful firewalls,
//! connection tracking), and a verdict per flow for each (issue 13;
//! KEEPALIVE-FACTS item 25).
//!
//! Most such boxes drop an idle flow silently: no RST, and the next send
//! after the silence retransmits into nothing. What keeps a flow's silences
//! below a path's timeout is TCP keepalive (a probe after the idle time) or
//! an application heartbeat ([`crate::heartbeat`]); [`allowed_silence_s`]
//! is the longest silence they allow, and [`verdict`] compares it, and the
//! longest silence observed, with a [`PathTimeout`].
//!
//! Pure: plain values in, plain values out.

use crate::flow::TcpState;
use crate::local::{KeepaliveSettings, TimerKind};
use crate::settings::Settings;
use crate::snapshot::FlowView;
use std::fmt;

/// A named path timeout with the documentation its figure comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preset {
    /// The name `--path` and policies use.
    pub name: &'static str,
    /// The idle timeout for established TCP, seconds.
    pub timeout_s: u32,
    /// What applies it.
    pub what: &'static str,
    /// Where the figure comes from.
    pub source: &'static str,
}

/// The named path timeouts, shortest first. Each figure is the vendor's
/// default for established TCP as its documentation stated it when this was
/// written (KEEPALIVE-FACTS item 25); most are configurable, so a path with
/// another setting is given as a duration instead.
///
/// - `azure-lb`, 240 s: Azure Load Balancer's TCP idle timeout, "The default
///   setting is 4 minutes" (configurable 4 to 100 minutes); Azure NAT
///   Gateway's default is the same 4 minutes. Microsoft Learn, "Load
///   Balancer TCP Reset and Idle Timeout" and "Configure TCP reset and idle
///   timeout for Azure Load Balancer",
///   <https://learn.microsoft.com/azure/load-balancer/load-balancer-tcp-reset>.
/// - `aws-nlb`, 350 s: AWS Network Load Balancer, "The default idle timeout
///   value for TCP flows is 350 seconds" (configurable 60 to 6000 s for TCP
///   listeners; fixed for TLS listeners). Elastic Load Balancing User Guide,
///   "Update the TCP idle timeout for your Network Load Balancer listener",
///   <https://docs.aws.amazon.com/elasticloadbalancing/latest/network/update-idle-timeout.html>.
/// - `aws-nat`, 350 s: AWS NAT gateway, "If a connection that's using a NAT
///   gateway is idle for 350 seconds or more, the connection times out"
///   (not configurable). Amazon VPC User Guide, "Troubleshoot NAT gateways",
///   <https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateway-troubleshooting.html>.
/// - `gcp-fw`, 600 s: Google Cloud VPC firewall rules are stateful, and a
///   tracked connection stays active "if at least one packet is sent every
///   10 minutes". Cloud NGFW, "VPC firewall rules overview" (connection
///   tracking), <https://cloud.google.com/firewall/docs/firewalls>.
/// - `gcp-nat`, 1200 s: Cloud NAT's `tcp-established-idle-timeout`, default
///   1200 seconds (20 minutes). Cloud NAT, "Tune NAT configuration" (NAT
///   timeouts), <https://cloud.google.com/nat/docs/tune-nat-configuration#nat-timeouts>.
/// - `rfc5382`, 7440 s: RFC 5382 REQ-5: a NAT's "established connection
///   idle-timeout" for TCP "MUST NOT be less than 2 hours 4 minutes" (the
///   floor a compliant NAT keeps; many boxes above drop far sooner).
///   <https://www.rfc-editor.org/rfc/rfc5382#section-5>.
/// - `conntrack`, 432000 s: Linux netfilter connection tracking (iptables
///   and nftables NAT, Docker and Kubernetes nodes),
///   `nf_conntrack_tcp_timeout_established`, default 432000 (5 days). Linux
///   kernel documentation, "Netfilter Conntrack Sysfs variables",
///   <https://docs.kernel.org/networking/nf_conntrack-sysctl.html>.
pub const PRESETS: [Preset; 7] = [
    Preset {
        name: "azure-lb",
        timeout_s: 240,
        what: "Azure Load Balancer (and NAT Gateway), default idle timeout",
        source: "Microsoft Learn, Load Balancer TCP Reset and Idle Timeout: default 4 minutes",
    },
    Preset {
        name: "aws-nlb",
        timeout_s: 350,
        what: "AWS Network Load Balancer, default TCP idle timeout",
        source: "AWS ELB User Guide, Update the TCP idle timeout: default 350 seconds",
    },
    Preset {
        name: "aws-nat",
        timeout_s: 350,
        what: "AWS NAT gateway idle timeout",
        source: "Amazon VPC User Guide, Troubleshoot NAT gateways: idle 350 seconds or more",
    },
    Preset {
        name: "gcp-fw",
        timeout_s: 600,
        what: "Google Cloud VPC firewall connection tracking",
        source: "Cloud NGFW, VPC firewall rules overview: a packet every 10 minutes",
    },
    Preset {
        name: "gcp-nat",
        timeout_s: 1_200,
        what: "Google Cloud NAT, established TCP idle timeout",
        source: "Cloud NAT, Tune NAT configuration: tcp-established-idle-timeout 1200 s",
    },
    Preset {
        name: "rfc5382",
        timeout_s: 7_440,
        what: "the least an RFC 5382 compliant NAT keeps established TCP",
        source: "RFC 5382 REQ-5: MUST NOT be less than 2 hours 4 minutes",
    },
    Preset {
        name: "conntrack",
        timeout_s: 432_000,
        what: "Linux nf_conntrack (iptables/nftables NAT), established TCP",
        source: "Linux nf_conntrack-sysctl: nf_conntrack_tcp_timeout_established 432000",
    },
];

/// The path timeouts checked when none are given: the big three clouds'
/// shortest common defaults (Azure's 4 minutes, AWS's 350 s for both NLB
/// and NAT gateway, Google's firewall 10 minutes) and RFC 5382's floor for
/// any NAT (2 h 4 min, which a Linux default 2 h keepalive just meets).
/// `aws-nat` would repeat `aws-nlb`, and a flow safe under `gcp-fw` is safe
/// under `gcp-nat`; `conntrack`'s 5 days tells little about a keepalive.
pub const DEFAULT_PATHS: [&str; 4] = ["azure-lb", "aws-nlb", "gcp-fw", "rfc5382"];

/// A path's idle timeout: how long a flow may stay silent on it.
#[derive(Clone, Debug, PartialEq)]
pub struct PathTimeout {
    /// A preset's name, the name given (`corp-fw=30m`), or for a bare
    /// duration the duration as written (`300s`, `5m`; a unitless number
    /// gets `s`).
    pub name: String,
    /// The timeout, seconds.
    pub timeout_s: f64,
}

impl PathTimeout {
    /// The preset of that name (any letter case).
    pub fn preset(name: &str) -> Option<PathTimeout> {
        PRESETS
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| PathTimeout {
                name: p.name.to_owned(),
                timeout_s: f64::from(p.timeout_s),
            })
    }

    /// [`DEFAULT_PATHS`].
    pub fn defaults() -> Vec<PathTimeout> {
        DEFAULT_PATHS
            .iter()
            .map(|n| PathTimeout::preset(n).expect("a default is a preset"))
            .collect()
    }

    /// Reads a preset's name (`aws-nlb`), a duration (`300s`, `5m`, `2h`,
    /// `2h4m`, `1.5h`, `300`, `5700ms`; units `ms`, `s`, `m`, `h`, `d`), or a name for a
    /// duration (`corp-fw=30m`). See [`PRESETS`].
    pub fn parse(s: &str) -> Result<PathTimeout, BadPathTimeout> {
        let text = s.trim();
        let bad = |reason| BadPathTimeout {
            input: s.to_owned(),
            reason,
        };
        if text.is_empty() {
            return Err(bad("empty"));
        }
        if let Some((name, duration)) = text.split_once('=') {
            let name = name.trim();
            if name.is_empty() {
                return Err(bad("the name before = is missing (corp-fw=30m)"));
            }
            if !name.chars().all(|c| c.is_ascii_graphic()) {
                return Err(bad("a name is letters, digits and punctuation"));
            }
            if PathTimeout::preset(name).is_some() || name.eq_ignore_ascii_case("defaults") {
                return Err(bad("that name is taken: give the path a name of its own"));
            }
            let timeout_s =
                duration_s(duration.trim()).ok_or(bad(not_a_timeout(duration.trim())))?;
            return Ok(PathTimeout {
                name: name.to_owned(),
                timeout_s,
            });
        }
        if let Some(p) = PathTimeout::preset(text) {
            return Ok(p);
        }
        match duration_s(text) {
            Some(timeout_s) => {
                let unitless = text.bytes().all(|b| b.is_ascii_digit() || b == b'.');
                Ok(PathTimeout {
                    name: if unitless {
                        format!("{text}s")
                    } else {
                        text.to_owned()
                    },
                    timeout_s,
                })
            }
            None if text.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.') => {
                Err(bad(not_a_timeout(text)))
            }
            None => Err(bad("no such preset")),
        }
    }
}

/// Why `text` is no timeout: a zero one (no path drops a connection
/// before it is silent), or no duration at all.
fn not_a_timeout(text: &str) -> &'static str {
    let number = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    if number.parse::<f64>().is_ok_and(|n| n <= 0.0) {
        "a timeout is more than 0"
    } else {
        "not a duration"
    }
}

impl PathTimeout {
    /// How reports name the path with its timeout: `aws-nlb 350s`,
    /// `corp-fw 30m`; a bare duration is its own name (`300s`).
    pub fn label(&self) -> String {
        if self.name.starts_with(|c: char| c.is_ascii_digit()) {
            self.name.clone()
        } else {
            format!("{} {}", self.name, duration_text(self.timeout_s))
        }
    }

    /// The paths given, in order, each once: the same name twice with
    /// different timeouts is refused (a name is one path).
    pub fn distinct(
        given: impl IntoIterator<Item = PathTimeout>,
    ) -> Result<Vec<PathTimeout>, String> {
        let mut out: Vec<PathTimeout> = Vec::new();
        for p in given {
            match out.iter().find(|q| q.name == p.name) {
                Some(q) if q.timeout_s == p.timeout_s => {}
                Some(q) => {
                    return Err(format!(
                        "path {:?} is given twice, as {} and as {}: give each path once",
                        p.name,
                        duration_text(q.timeout_s),
                        duration_text(p.timeout_s)
                    ))
                }
                None => out.push(p),
            }
        }
        Ok(out)
    }
}

impl std::str::FromStr for PathTimeout {
    type Err = BadPathTimeout;

    fn from_str(s: &str) -> Result<PathTimeout, BadPathTimeout> {
        PathTimeout::parse(s)
    }
}

impl fmt::Display for PathTimeout {
    /// What [`PathTimeout::parse`] reads back: the preset's name or the
    /// duration as written, else `name=<seconds>s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let by_name = PathTimeout::preset(&self.name).is_some_and(|p| p == *self)
            || duration_s(&self.name) == Some(self.timeout_s);
        if by_name {
            f.write_str(&self.name)
        } else {
            write!(f, "{}={}s", self.name, self.timeout_s)
        }
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for PathTimeout {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for PathTimeout {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<PathTimeout, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        PathTimeout::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "serde")]
impl schemars::JsonSchema for PathTimeout {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PathTimeout".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "a preset (azure-lb, aws-nlb, aws-nat, gcp-fw, gcp-nat, rfc5382, \
                            conntrack), a duration (300s, 5m, 2h4m), or name=duration",
            "examples": ["aws-nlb", "300s", "corp-fw=30m"]
        })
    }
}

/// A path timeout that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadPathTimeout {
    /// What was given.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for BadPathTimeout {
    /// The reason, and every preset with its timeout.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "path timeout {:?}: {}; give a preset (",
            self.input, self.reason
        )?;
        for (i, p) in PRESETS.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{} {}", p.name, duration_text(f64::from(p.timeout_s)))?;
        }
        f.write_str("), a duration (300s, 5m, 2h4m) or a named one (corp-fw=30m)")
    }
}

impl std::error::Error for BadPathTimeout {}

/// A period or timeout as reports and the screen write it, short: `2.5s`,
/// `30s`, `350s`, `20m`, `2h`, `2h4m`, `5d`. Under 1000 s in seconds (whole,
/// or tenths under 10 s); above, in days, hours and minutes when it is whole
/// minutes.
pub fn duration_text(secs: f64) -> String {
    let s = secs.max(0.0);
    if s < 10.0 && (s - s.round()).abs() >= 0.05 {
        return format!("{s:.1}s");
    }
    let n = s.round() as u64;
    if n < 1000 || !n.is_multiple_of(60) {
        return format!("{n}s");
    }
    let mut out = String::new();
    let mut rest = n;
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if rest >= size {
            out += &format!("{}{unit}", rest / size);
            rest %= size;
        }
    }
    out
}

/// Seconds in a duration: numbers with units `ms`, `s`, `m`, `h`, `d`
/// (`2h4m`, `1.5h`, `5700ms`), or one unitless number of seconds. Positive
/// and finite only.
fn duration_s(text: &str) -> Option<f64> {
    crate::parse_seconds(text).filter(|&s| s > 0.0)
}

/// Whether a flow survives a path.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema),
    serde(rename_all = "snake_case")
)]
pub enum PathVerdict {
    /// Its keepalive or a heartbeat keeps its silences below the timeout,
    /// with [`TIMER_SLACK`] to spare.
    Safe,
    /// Nothing seen keeps its silences below the timeout.
    AtRisk,
    /// A silence longer than the timeout was observed: on that path the flow
    /// would already have been dropped.
    Exceeded,
}

impl PathVerdict {
    /// The word reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            PathVerdict::Safe => "safe",
            PathVerdict::AtRisk => "at_risk",
            PathVerdict::Exceeded => "exceeded",
        }
    }

    /// The verdict from a flow's longest observed silence, the longest
    /// silence its keepalive or heartbeats allow (none: nothing keeps it
    /// short), and a path's timeout, all seconds: exceeded when a silence
    /// was longer than the timeout; else safe when the allowed silence,
    /// [`TIMER_SLACK`] late, is still below it; else at risk. A silence
    /// seen longer than the allowed one even with that slack shows the
    /// flow's mechanisms do not hold it so short: then that silence is
    /// judged in its place. [`verdict`] takes them from a flow; a live
    /// report whose local socket states its exact idle passes the smaller
    /// of that and [`allowed_silence_s`].
    pub fn of(
        longest_silence_s: f64,
        allowed_silence_s: Option<f64>,
        timeout_s: f64,
    ) -> PathVerdict {
        let late = 1.0 + TIMER_SLACK;
        // What the capture shows is possible, when more than what keeps
        // the flow allows.
        let allowed = allowed_silence_s.map(|a| {
            if longest_silence_s > a * late {
                longest_silence_s
            } else {
                a
            }
        });
        if longest_silence_s > timeout_s {
            PathVerdict::Exceeded
        } else if allowed.is_some_and(|a| a * late < timeout_s) {
            PathVerdict::Safe
        } else {
            PathVerdict::AtRisk
        }
    }
}

impl fmt::Display for PathVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How late a kernel timer may fire, as a share of its timeout: the timer
/// wheel rounds long timeouts up by up to 12.5 % (KEEPALIVE-FACTS item 7).
/// A flow is safe on a path only with this margin: a 340 s keepalive idle
/// behind a 350 s load balancer fires late often enough to lose the flow.
pub const TIMER_SLACK: f64 = 0.125;

/// The longest silence a side's keepalive allows, seconds, from its idle,
/// its interval and the cadence of its answered probes, whichever are known:
/// the first probe comes `idle` after the last segment received, and while
/// the peer answers, probes recur every max(idle, intvl) (the timer re-arms
/// for the interval after each probe: item 5), which the cadence measures.
/// So the largest of them. `None` when neither the idle nor the cadence is
/// known (one probe, mid-idle).
pub fn keepalive_silence_s(
    idle_s: Option<f64>,
    intvl_s: Option<f64>,
    cadence_s: Option<f64>,
) -> Option<f64> {
    if idle_s.is_none() && cadence_s.is_none() {
        return None;
    }
    [idle_s, intvl_s, cadence_s]
        .into_iter()
        .flatten()
        .reduce(f64::max)
}

/// [`keepalive_silence_s`] of a local socket, from its settings `k` and the
/// timer armed on it: `None` when keepalive is off or unknown, or while a
/// zero-window timer is armed (data is queued for a closed window:
/// keepalive waits, item 1, and the persist timer's backoff, up to two
/// minutes, paces the connection).
pub fn socket_silence_s(k: &KeepaliveSettings, timer: TimerKind) -> Option<f64> {
    if k.on != Some(true) || timer == TimerKind::ZeroWindow {
        return None;
    }
    keepalive_silence_s(k.idle_s.map(f64::from), k.intvl_s.map(f64::from), None)
}

/// [`keepalive_silence_s`] of a side the wire saw probe: its likely
/// whole-second idle and interval, and the cadence of its answered probes.
pub fn prober_silence_s(likely: &Settings, cadence_s: Option<f64>) -> Option<f64> {
    keepalive_silence_s(
        likely.idle_s.map(f64::from),
        likely.intvl_s.map(f64::from),
        cadence_s,
    )
}

/// The longest silence what the wire showed keeps a flow below, seconds:
/// the smallest of each prober's [`keepalive_silence_s`] (its likely
/// whole-second idle and interval, and the cadence of its answered probes)
/// and each heartbeat's period. `None` when the flow has neither.
pub fn allowed_silence_s(flow: &FlowView) -> Option<f64> {
    let keepalive = flow
        .probers
        .iter()
        .filter_map(|p| prober_silence_s(&p.likely, p.cadence_s));
    let heartbeats = flow.heartbeats.iter().map(|h| h.period_s);
    keepalive.chain(heartbeats).reduce(f64::min)
}

/// Whether a flow in `state` is a connection a path could hold idle: not
/// one that never opened (its handshake not completed, as far as the wire
/// shows: SYNs unanswered), which no middlebox keeps an idle entry for.
/// Reports give such a flow no path verdicts.
pub fn opened(state: TcpState) -> bool {
    state != TcpState::SynSent
}

/// Whether `flow` survives `path`: [`PathVerdict::of`] its longest silence
/// and [`allowed_silence_s`] (for a flow that [`opened`]).
pub fn verdict(flow: &FlowView, path: &PathTimeout) -> PathVerdict {
    PathVerdict::of(
        flow.longest_silence_s,
        allowed_silence_s(flow),
        path.timeout_s,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heartbeat::{HeartbeatProtocol, HeartbeatView};
    use crate::prober::Outcome;
    use crate::segment::{Endpoint, Vlan};
    use crate::settings::Settings;
    use crate::snapshot::ProberView;
    use crate::time::Timestamp;
    use crate::TcpState;

    /// A socket keeps its connection's silences below its keepalive's,
    /// unless keepalive is off, or waits behind a zero-window timer.
    #[test]
    fn a_socket_s_keepalive_while_it_can_probe() {
        let k = |on| KeepaliveSettings {
            on: Some(on),
            idle_s: Some(3),
            intvl_s: Some(1),
            probes: Some(3),
            ..KeepaliveSettings::default()
        };
        let cases = [
            (
                "on, its timer armed",
                k(true),
                TimerKind::Keepalive,
                Some(3.0),
            ),
            (
                "on, data in flight for now",
                k(true),
                TimerKind::Retransmit,
                Some(3.0),
            ),
            (
                "on, but data queued for a closed window",
                k(true),
                TimerKind::ZeroWindow,
                None,
            ),
            ("off", k(false), TimerKind::None, None),
        ];
        for (name, k, timer, want) in cases {
            assert_eq!(socket_silence_s(&k, timer), want, "{name}");
        }
    }

    #[test]
    fn presets_and_durations_parse() {
        let cases = [
            ("aws-nlb", "aws-nlb", 350.0),
            ("aws-nat", "aws-nat", 350.0),
            ("azure-lb", "azure-lb", 240.0),
            ("gcp-fw", "gcp-fw", 600.0),
            ("gcp-nat", "gcp-nat", 1_200.0),
            ("conntrack", "conntrack", 432_000.0),
            ("rfc5382", "rfc5382", 7_440.0),
            ("AWS-NLB", "aws-nlb", 350.0),
            (" gcp-fw ", "gcp-fw", 600.0),
            ("300s", "300s", 300.0),
            ("5m", "5m", 300.0),
            ("2h", "2h", 7_200.0),
            ("2h4m", "2h4m", 7_440.0),
            ("1.5h", "1.5h", 5_400.0),
            ("1d", "1d", 86_400.0),
            ("5700ms", "5700ms", 5.7),
            ("1m30s250ms", "1m30s250ms", 90.25),
            ("300", "300s", 300.0),
            ("corp-fw=30m", "corp-fw", 1_800.0),
            ("corp-fw = 90", "corp-fw", 90.0),
        ];
        for (input, name, timeout_s) in cases {
            let got = PathTimeout::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(
                got,
                PathTimeout {
                    name: name.into(),
                    timeout_s
                },
                "{input}"
            );
            // Display reads back.
            assert_eq!(got.to_string().parse::<PathTimeout>(), Ok(got), "{input}");
        }
    }

    #[test]
    fn unknown_names_and_bad_durations_are_refused_listing_the_presets() {
        let cases = [
            ("aws-alb", "no such preset"),
            ("", "empty"),
            ("0s", "a timeout is more than 0"),
            ("corp=0m", "a timeout is more than 0"),
            ("5x", "not a duration"),
            ("5m3", "not a duration"),
            ("5mss", "not a duration"),
            ("1..5h", "not a duration"),
            ("-5m", "a timeout is more than 0"),
            ("=5m", "the name before = is missing (corp-fw=30m)"),
            ("corp fw=5m", "a name is letters, digits and punctuation"),
            (
                "aws-nlb=10s",
                "that name is taken: give the path a name of its own",
            ),
            (
                "defaults=5m",
                "that name is taken: give the path a name of its own",
            ),
            ("corp=fast", "not a duration"),
        ];
        for (input, reason) in cases {
            let err = PathTimeout::parse(input).expect_err(input);
            assert_eq!(err.reason, reason, "{input}");
            let text = err.to_string();
            for p in PRESETS {
                assert!(text.contains(p.name), "{input}: {text}");
            }
        }
        assert_eq!(
            PathTimeout::parse("aws-alb").unwrap_err().to_string(),
            "path timeout \"aws-alb\": no such preset; give a preset (azure-lb 240s, \
             aws-nlb 350s, aws-nat 350s, gcp-fw 600s, gcp-nat 20m, rfc5382 2h4m, \
             conntrack 5d), a duration (300s, 5m, 2h4m) or a named one (corp-fw=30m)"
        );
    }

    #[test]
    fn durations_are_short() {
        let cases = [
            (2.5, "2.5s"),
            (5.02, "5s"),
            (29.97, "30s"),
            (45.02, "45s"),
            (350.0, "350s"),
            (600.0, "600s"),
            (1_200.0, "20m"),
            (7_200.0, "2h"),
            (7_440.0, "2h4m"),
            (432_000.0, "5d"),
            (1_001.0, "1001s"),
        ];
        for (secs, want) in cases {
            assert_eq!(duration_text(secs), want, "{secs}");
        }
    }

    #[test]
    fn labels_and_duplicates() {
        let p = |s: &str| PathTimeout::parse(s).unwrap();
        assert_eq!(p("aws-nlb").label(), "aws-nlb 350s");
        assert_eq!(p("corp=30m").label(), "corp 30m");
        assert_eq!(p("10s").label(), "10s");
        let same = PathTimeout::distinct([p("a=5m"), p("aws-nlb"), p("a=300s")]).unwrap();
        assert_eq!(same, [p("a=5m"), p("aws-nlb")]);
        let err = PathTimeout::distinct([p("a=5m"), p("a=6m")]).unwrap_err();
        assert_eq!(
            err,
            "path \"a\" is given twice, as 300s and as 360s: give each path once"
        );
    }

    #[test]
    fn the_defaults_are_presets_shortest_first() {
        let d = PathTimeout::defaults();
        let names: Vec<&str> = d.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, DEFAULT_PATHS);
        assert!(d.windows(2).all(|w| w[0].timeout_s < w[1].timeout_s));
        assert!(PRESETS.windows(2).all(|w| w[0].timeout_s <= w[1].timeout_s));
    }

    fn ep(port: u16) -> Endpoint {
        Endpoint::new([198, 18, 0, 1].into(), port)
    }

    /// A prober whose likely idle (and answered cadence) is as given.
    fn prober(idle_s: Option<u32>, cadence_s: Option<f64>) -> ProberView {
        ProberView {
            endpoint: ep(40000),
            peer: ep(443),
            probes_sent: 3,
            probes_answered: 3,
            probes_too_soon: 0,
            zero_window_probes: 0,
            probes_at_least: 1,
            idle_s: idle_s.map(f64::from),
            intvl_s: None,
            probes: None,
            outcome: Outcome::Alive,
            likely: Settings {
                idle_s,
                ..Settings::default()
            },
            os_defaults: Vec::new(),
            cadence_s,
            detection_s: None,
            first_probe: None,
            last_probe: None,
            unanswered: 0,
            give_up_at: None,
            timeline: Vec::new(),
        }
    }

    fn heartbeat(period_s: f64) -> HeartbeatView {
        HeartbeatView {
            endpoint: ep(40000),
            peer: ep(443),
            protocol: HeartbeatProtocol::Http2Ping,
            period_s,
            count: 10,
            answers: 10,
            answered: true,
            last_beat: Timestamp::default(),
        }
    }

    fn flow(longest_s: f64, probers: Vec<ProberView>, heartbeats: Vec<HeartbeatView>) -> FlowView {
        FlowView {
            a: ep(40000),
            b: ep(443),
            vlan: Vlan::NONE,
            first_seen: Timestamp::default(),
            last_seen: Timestamp::default(),
            last_data: None,
            state: TcpState::Established,
            segments: 10,
            partial: false,
            longest_silence_s: longest_s,
            inputs: 1,
            zero_window_probes: 0,
            fin: [false; 2],
            probers,
            heartbeats,
        }
    }

    #[test]
    fn verdicts() {
        use PathVerdict::*;
        // Against azure-lb 240, aws-nlb 350, gcp-fw 600, rfc5382 7440.
        let cases = [
            (
                "keepalive idle 300: under AWS, not Azure",
                flow(30.0, vec![prober(Some(300), None)], vec![]),
                Some(300.0),
                [AtRisk, Safe, Safe, Safe],
            ),
            (
                "keepalive idle 300, but once silent 400 s",
                flow(400.0, vec![prober(Some(300), None)], vec![]),
                Some(300.0),
                [Exceeded, Exceeded, Safe, Safe],
            ),
            (
                "keepalive 60, quiet since",
                flow(61.0, vec![prober(Some(60), None)], vec![]),
                Some(60.0),
                [Safe; 4],
            ),
            (
                "Linux default keepalive, 2 h: a late timer may pass even \
                 RFC 5382's 2 h 4 min (a 2 h timer rounds up by up to 4 min 22 s at HZ=1000)",
                flow(30.0, vec![prober(Some(7_200), None)], vec![]),
                Some(7_200.0),
                [AtRisk, AtRisk, AtRisk, AtRisk],
            ),
            (
                "keepalive 6000 s: RFC 5382's floor with 12.5 % to spare",
                flow(30.0, vec![prober(Some(6_000), None)], vec![]),
                Some(6_000.0),
                [AtRisk, AtRisk, AtRisk, Safe],
            ),
            (
                "keepalive 320 s behind a 350 s NLB: a late timer may pass it",
                flow(30.0, vec![prober(Some(320), None)], vec![]),
                Some(320.0),
                [AtRisk, AtRisk, Safe, Safe],
            ),
            (
                "answered probes recur every max(idle, intvl): idle 200, intvl 300",
                flow(
                    30.0,
                    vec![ProberView {
                        likely: Settings {
                            idle_s: Some(200),
                            intvl_s: Some(300),
                            probes: None,
                        },
                        ..prober(Some(200), None)
                    }],
                    vec![],
                ),
                Some(300.0),
                [AtRisk, Safe, Safe, Safe],
            ),
            (
                "the shorter of two probers",
                flow(
                    30.0,
                    vec![prober(Some(7_200), None), prober(Some(200), None)],
                    vec![],
                ),
                Some(200.0),
                [Safe; 4],
            ),
            (
                "mid-idle capture: no idle seen, answered probes every 45 s",
                flow(45.0, vec![prober(None, Some(45.0))], vec![]),
                Some(45.0),
                [Safe; 4],
            ),
            (
                "heartbeat every 30 s",
                flow(30.2, vec![], vec![heartbeat(30.0)]),
                Some(30.0),
                [Safe; 4],
            ),
            (
                "heartbeat 30 s beats a 2 h keepalive",
                flow(30.2, vec![prober(Some(7_200), None)], vec![heartbeat(30.0)]),
                Some(30.0),
                [Safe; 4],
            ),
            (
                "heartbeat every 5 min",
                flow(300.0, vec![], vec![heartbeat(300.0)]),
                Some(300.0),
                [Exceeded, Safe, Safe, Safe],
            ),
            (
                "unprotected, busy",
                flow(2.0, vec![], vec![]),
                None,
                [AtRisk; 4],
            ),
            (
                "unprotected, once quiet for 15 min",
                flow(900.0, vec![], vec![]),
                None,
                [Exceeded, Exceeded, Exceeded, AtRisk],
            ),
            (
                "a timeout equal to the idle is no margin",
                flow(10.0, vec![prober(Some(240), None)], vec![]),
                Some(240.0),
                [AtRisk, Safe, Safe, Safe],
            ),
        ];
        let paths = PathTimeout::defaults();
        for (case, f, allowed, want) in cases {
            assert_eq!(allowed_silence_s(&f), allowed, "{case}");
            let got: Vec<PathVerdict> = paths.iter().map(|p| verdict(&f, p)).collect();
            assert_eq!(got, want, "{case}");
        }
        // A live report's exact idle, smaller than the wire's.
        assert_eq!(PathVerdict::of(10.0, Some(120.0), 240.0), Safe);
        // HTTP/2 PINGs every 7.01 s, but 8.976 s of silence seen before
        // the first: the pings do not hold it to 7 s, and a 9 s path came
        // within 0.3 % (a real client and server). Judged by what was seen.
        for (timeout, want) in [(9.0, AtRisk), (9.5, AtRisk), (10.5, Safe), (8.9, Exceeded)] {
            assert_eq!(
                PathVerdict::of(8.976, Some(7.01), timeout),
                want,
                "{timeout}"
            );
        }
        // A silence within the slack of the allowed one is the timer's
        // lateness: the allowed one is judged (60 s keepalive, 60.5 s seen).
        assert_eq!(PathVerdict::of(60.5, Some(60.0), 68.0), Safe);
        assert_eq!(Exceeded.as_str(), "exceeded");
        assert_eq!(AtRisk.to_string(), "at_risk");
    }
}
