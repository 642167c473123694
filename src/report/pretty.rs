//! A flow's JSON written straight into a buffer: byte for byte what
//! serde_json's pretty printer writes of the same [`FlowReport`] inside the
//! report, at about twice its speed (no dispatch per member, no scan of
//! member names for escapes). The report's flows are most of a large
//! report's writing, and it follows the capture's reading, so this is
//! wall time.
//!
//! The types stay the one definition of the contract: every member is
//! named here (one added to a type and not written here does not compile),
//! the tests hold this writer to serde_json's output of the same values
//! (every golden report, and generated flows with any strings and
//! numbers), and what only a live report has (the socket) is written by
//! serde here too.

use super::json::Indented;
use super::types::{FlowReport, HeartbeatReport, PathReport, ProberReport, Silence};
use kawatch_core::{Endpoint, Settings};
use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Writes flows' JSON. What the flows of a report share, their path
/// timeouts' names and seconds, is written once and copied after: four
/// path timeouts by default, a float and a string each, in every flow.
#[derive(Debug, Default)]
pub(crate) struct FlowWriter {
    paths: Vec<PathText>,
}

/// A path timeout's text up to its verdict: from its opening brace to its
/// `timeout_s`, at `depth`.
#[derive(Debug)]
struct PathText {
    depth: usize,
    name: String,
    timeout_bits: u64,
    text: Vec<u8>,
}

impl FlowWriter {
    /// Path timeouts kept written, at most (a report has a few).
    const PATHS_KEPT: usize = 32;

    /// Appends `f`'s JSON, its opening brace at `depth` levels of two
    /// spaces (its members one deeper), as serde_json's pretty printer lays
    /// it out.
    pub(crate) fn flow(&mut self, out: &mut Vec<u8>, depth: usize, f: &FlowReport) {
        flow(out, depth, f, &mut self.paths);
    }
}

fn flow(out: &mut Vec<u8>, depth: usize, f: &FlowReport, paths_written: &mut Vec<PathText>) {
    // Every member named, so that one added to the type and not written
    // here does not compile.
    let FlowReport {
        a,
        b,
        vlan,
        first_seen,
        last_seen,
        state,
        segments,
        zero_window_probes,
        partial,
        silence: Silence {
            longest_s,
            allowed_s,
        },
        heartbeats,
        path: paths,
        files,
        keepalive,
        socket,
        peer_socket,
        disagreements,
    } = f;
    let mut w = Pretty { out, depth };
    let mut o = w.open(b'{');
    w.key(&mut o, "a");
    w.endpoint(a);
    w.key(&mut o, "b");
    w.endpoint(b);
    w.key(&mut o, "vlan");
    w.array(vlan, |w, &id| w.u64(u64::from(id)));
    w.key(&mut o, "first_seen");
    w.f64(*first_seen);
    w.key(&mut o, "last_seen");
    w.f64(*last_seen);
    w.key(&mut o, "state");
    w.name(state.as_str());
    w.key(&mut o, "segments");
    w.u64(*segments);
    w.key(&mut o, "zero_window_probes");
    w.u64(u64::from(*zero_window_probes));
    w.key(&mut o, "partial");
    w.bool(*partial);
    w.key(&mut o, "silence");
    let mut s = w.open(b'{');
    w.key(&mut s, "longest_s");
    w.f64(*longest_s);
    w.key(&mut s, "allowed_s");
    w.opt_f64(*allowed_s);
    w.close(s, b'}');
    w.key(&mut o, "heartbeats");
    w.array(heartbeats, heartbeat);
    w.key(&mut o, "path");
    w.array(paths, |w, p| path(w, p, paths_written));
    if !files.is_empty() {
        w.key(&mut o, "files");
        w.array(files, |w, s| w.str(s));
    }
    w.key(&mut o, "keepalive");
    w.array(keepalive, prober);
    if let Some(socket) = socket {
        w.key(&mut o, "socket");
        w.serde(socket);
    }
    if let Some(peer) = peer_socket {
        w.key(&mut o, "peer_socket");
        w.serde(peer);
    }
    if let Some(notes) = disagreements {
        w.key(&mut o, "disagreements");
        w.array(notes, |w, s| w.str(s));
    }
    w.close(o, b'}');
}

fn heartbeat(w: &mut Pretty<'_>, h: &HeartbeatReport) {
    let HeartbeatReport {
        side,
        protocol,
        period_s,
        count,
        answered,
    } = h;
    let mut o = w.open(b'{');
    w.key(&mut o, "side");
    w.endpoint(side);
    w.key(&mut o, "protocol");
    w.name(protocol.as_str());
    w.key(&mut o, "period_s");
    w.f64(*period_s);
    w.key(&mut o, "count");
    w.u64(u64::from(*count));
    w.key(&mut o, "answered");
    w.bool(*answered);
    w.close(o, b'}');
}

/// A path timeout's verdict; its name and seconds copied when written
/// before at this depth.
fn path(w: &mut Pretty<'_>, p: &PathReport, written: &mut Vec<PathText>) {
    let PathReport {
        name,
        timeout_s,
        verdict,
    } = p;
    let (depth, timeout_bits) = (w.depth, timeout_s.to_bits());
    let mut o = match written
        .iter()
        .find(|t| t.depth == depth && t.timeout_bits == timeout_bits && t.name == *name)
    {
        Some(t) => {
            w.out.extend_from_slice(&t.text);
            w.depth += 1;
            Open { empty: false }
        }
        None => {
            let start = w.out.len();
            let mut o = w.open(b'{');
            w.key(&mut o, "name");
            w.str(name);
            w.key(&mut o, "timeout_s");
            w.f64(*timeout_s);
            if written.len() < FlowWriter::PATHS_KEPT {
                written.push(PathText {
                    depth,
                    name: name.clone(),
                    timeout_bits,
                    text: w.out[start..].to_vec(),
                });
            }
            o
        }
    };
    w.key(&mut o, "verdict");
    w.name(verdict.as_str());
    w.close(o, b'}');
}

fn prober(w: &mut Pretty<'_>, p: &ProberReport) {
    let ProberReport {
        prober,
        probes_sent,
        probes_answered,
        probes_too_soon,
        zero_window_probes,
        idle_s,
        intvl_s,
        probes,
        probes_at_least,
        outcome,
        likely:
            Settings {
                idle_s: likely_idle_s,
                intvl_s: likely_intvl_s,
                probes: likely_probes,
            },
        os_defaults,
        cadence_s,
        detection_s,
        first_probe,
        last_probe,
    } = p;
    let mut o = w.open(b'{');
    w.key(&mut o, "prober");
    w.endpoint(prober);
    w.key(&mut o, "probes_sent");
    w.u64(u64::from(*probes_sent));
    w.key(&mut o, "probes_answered");
    w.u64(u64::from(*probes_answered));
    w.key(&mut o, "probes_too_soon");
    w.u64(u64::from(*probes_too_soon));
    w.key(&mut o, "zero_window_probes");
    w.u64(u64::from(*zero_window_probes));
    w.key(&mut o, "idle_s");
    w.opt_f64(*idle_s);
    w.key(&mut o, "intvl_s");
    w.opt_f64(*intvl_s);
    w.key(&mut o, "probes");
    w.opt_u32(*probes);
    w.key(&mut o, "probes_at_least");
    w.u64(u64::from(*probes_at_least));
    w.key(&mut o, "outcome");
    w.name(outcome.as_str());
    w.key(&mut o, "likely");
    let mut l = w.open(b'{');
    w.key(&mut l, "idle_s");
    w.opt_u32(*likely_idle_s);
    w.key(&mut l, "intvl_s");
    w.opt_u32(*likely_intvl_s);
    w.key(&mut l, "probes");
    w.opt_u32(*likely_probes);
    w.close(l, b'}');
    w.key(&mut o, "os_defaults");
    w.array(os_defaults, |w, s| w.str(s));
    w.key(&mut o, "cadence_s");
    w.opt_f64(*cadence_s);
    w.key(&mut o, "detection_s");
    w.opt_f64(*detection_s);
    w.key(&mut o, "first_probe");
    w.opt_f64(*first_probe);
    w.key(&mut o, "last_probe");
    w.opt_f64(*last_probe);
    w.close(o, b'}');
}

/// JSON text in serde_json's pretty layout: an object's members and an
/// array's items each on a line of its own, two spaces a level.
struct Pretty<'a> {
    out: &'a mut Vec<u8>,
    depth: usize,
}

/// An object or array being written: whether it has a member yet.
struct Open {
    empty: bool,
}

impl Pretty<'_> {
    fn open(&mut self, bracket: u8) -> Open {
        self.out.push(bracket);
        self.depth += 1;
        Open { empty: true }
    }

    fn close(&mut self, open: Open, bracket: u8) {
        self.depth -= 1;
        if !open.empty {
            self.newline();
        }
        self.out.push(bracket);
    }

    /// A line break and the indentation, as one fixed-size copy cut to
    /// length (a copy of a length known only at run time is a call to
    /// `memset`, one for every line: a sixth of the writing).
    #[inline]
    fn newline(&mut self) {
        const LINE: [u8; 16] = *b"\n               ";
        let indent = self.depth * 2;
        if indent < LINE.len() {
            let end = self.out.len() + 1 + indent;
            self.out.extend_from_slice(&LINE);
            self.out.truncate(end);
        } else {
            self.out.push(b'\n');
            self.out.resize(self.out.len() + indent, b' ');
        }
    }

    /// Starts an array's next item.
    #[inline]
    fn item(&mut self, open: &mut Open) {
        if !std::mem::replace(&mut open.empty, false) {
            self.out.push(b',');
        }
        self.newline();
    }

    /// Starts an object's next member (`name` needs no escaping; inlined,
    /// so its copy is of a known size).
    #[inline(always)]
    fn key(&mut self, open: &mut Open, name: &str) {
        self.item(open);
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\": ");
    }

    fn array<T>(&mut self, items: &[T], mut each: impl FnMut(&mut Self, &T)) {
        let mut a = self.open(b'[');
        for item in items {
            self.item(&mut a);
            each(self, item);
        }
        self.close(a, b']');
    }

    fn u64(&mut self, v: u64) {
        write_ok(CompactFormatter.write_u64(self.out, v));
    }

    fn opt_u32(&mut self, v: Option<u32>) {
        match v {
            Some(v) => self.u64(u64::from(v)),
            None => self.out.extend_from_slice(b"null"),
        }
    }

    /// As serde_json writes an `f64`: shortest round-trip digits, `null`
    /// when not finite.
    fn f64(&mut self, v: f64) {
        if v.is_finite() {
            write_ok(CompactFormatter.write_f64(self.out, v));
        } else {
            self.out.extend_from_slice(b"null");
        }
    }

    fn opt_f64(&mut self, v: Option<f64>) {
        match v {
            Some(v) => self.f64(v),
            None => self.out.extend_from_slice(b"null"),
        }
    }

    fn bool(&mut self, v: bool) {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
    }

    /// An endpoint as its `Display` writes it (`192.0.2.1:80`,
    /// `[2001:db8::1]:80`; RFC 5952's form for IPv6, as std's), digits
    /// written here rather than through `fmt`: nothing in it to escape.
    fn endpoint(&mut self, e: &Endpoint) {
        self.out.push(b'"');
        match e.ip {
            IpAddr::V4(a) => self.ipv4(a),
            IpAddr::V6(a) => {
                self.out.push(b'[');
                self.ipv6(a);
                self.out.push(b']');
            }
        }
        self.out.push(b':');
        self.u64(u64::from(e.port));
        self.out.push(b'"');
    }

    fn ipv4(&mut self, a: Ipv4Addr) {
        for (i, octet) in a.octets().into_iter().enumerate() {
            if i > 0 {
                self.out.push(b'.');
            }
            if octet >= 100 {
                self.out.push(b'0' + octet / 100);
            }
            if octet >= 10 {
                self.out.push(b'0' + octet / 10 % 10);
            }
            self.out.push(b'0' + octet % 10);
        }
    }

    /// As std writes an IPv6 address: an IPv4-mapped one as
    /// `::ffff:a.b.c.d`; otherwise groups in lowercase hex without leading
    /// zeros, the first longest run of two or more zero groups as `::`.
    fn ipv6(&mut self, a: Ipv6Addr) {
        if let Some(v4) = a.to_ipv4_mapped() {
            self.out.extend_from_slice(b"::ffff:");
            return self.ipv4(v4);
        }
        let groups = a.segments();
        let (mut zeros, mut run) = ((0, 0), (0, 0));
        for (i, &g) in groups.iter().enumerate() {
            if g == 0 {
                if run.1 == 0 {
                    run.0 = i;
                }
                run.1 += 1;
                if run.1 > zeros.1 {
                    zeros = run;
                }
            } else {
                run.1 = 0;
            }
        }
        if zeros.1 > 1 {
            self.hex_groups(&groups[..zeros.0]);
            self.out.extend_from_slice(b"::");
            self.hex_groups(&groups[zeros.0 + zeros.1..]);
        } else {
            self.hex_groups(&groups);
        }
    }

    fn hex_groups(&mut self, groups: &[u16]) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for (i, &g) in groups.iter().enumerate() {
            if i > 0 {
                self.out.push(b':');
            }
            let digits = (4 - g.leading_zeros() / 4).max(1);
            for d in (0..digits).rev() {
                self.out.push(HEX[usize::from((g >> (4 * d)) & 0xF)]);
            }
        }
    }

    /// A string, escaped as serde_json escapes: `"`, `\` and control
    /// characters (`\n`-style where JSON has one, else `\u00XX`).
    fn str(&mut self, s: &str) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        self.out.push(b'"');
        let bytes = s.as_bytes();
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let short = match b {
                b'"' => b'"',
                b'\\' => b'\\',
                0x08 => b'b',
                0x09 => b't',
                0x0A => b'n',
                0x0C => b'f',
                0x0D => b'r',
                0x00..=0x1F => b'u',
                _ => continue,
            };
            self.out.extend_from_slice(&bytes[start..i]);
            self.out.extend_from_slice(&[b'\\', short]);
            if short == b'u' {
                self.out.extend_from_slice(&[
                    b'0',
                    b'0',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 0xF)],
                ]);
            }
            start = i + 1;
        }
        self.out.extend_from_slice(&bytes[start..]);
        self.out.push(b'"');
    }

    /// An enum's name (its `as_str`, which is its serde name: the tests
    /// hold every variant to it), which needs no escaping.
    fn name(&mut self, name: &str) {
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(b'"');
    }

    /// Anything else (a live report's socket) as serde writes it here.
    fn serde<T: Serialize>(&mut self, v: &T) {
        let mut ser =
            serde_json::Serializer::with_formatter(&mut *self.out, Indented::at(self.depth));
        write_ok(v.serialize(&mut ser).map_err(std::io::Error::from));
    }
}

/// A write into a `Vec` cannot fail, nor can serialising the report's
/// types (no maps with non-string keys, no failing `Serialize`).
fn write_ok(r: std::io::Result<()>) {
    debug_assert!(r.is_ok(), "writing JSON into memory failed: {r:?}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::types::SocketReport;
    use kawatch_core::{HeartbeatProtocol, Outcome, PathVerdict, TcpState};
    use proptest::prelude::*;

    /// serde_json's text of `f`, placed as the report places a flow.
    fn by_serde(f: &FlowReport) -> Vec<u8> {
        by_serde_at(f, 2)
    }

    fn by_serde_at(f: &FlowReport, depth: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut out, Indented::at(depth));
        f.serialize(&mut ser).expect("serialises");
        out
    }

    fn by_hand(f: &FlowReport) -> Vec<u8> {
        let mut out = Vec::new();
        FlowWriter::default().flow(&mut out, 2, f);
        out
    }

    // Every variant of the enums written by name (the writer's `as_str`
    // must be serde's name for each).
    const STATES: [TcpState; 5] = [
        TcpState::SynSent,
        TcpState::Established,
        TcpState::Closing,
        TcpState::Closed,
        TcpState::Reset,
    ];
    const OUTCOMES: [Outcome; 4] = [
        Outcome::Alive,
        Outcome::Probing,
        Outcome::Dead,
        Outcome::Reset,
    ];
    const VERDICTS: [PathVerdict; 3] = [
        PathVerdict::Safe,
        PathVerdict::AtRisk,
        PathVerdict::Exceeded,
    ];

    /// Fails to compile when a variant is added and not listed above.
    #[allow(dead_code)]
    fn every_variant_is_listed(s: TcpState, o: Outcome, v: PathVerdict) {
        use {Outcome as O, PathVerdict as V, TcpState as S};
        match s {
            S::SynSent | S::Established | S::Closing | S::Closed | S::Reset => {}
        }
        match o {
            O::Alive | O::Probing | O::Dead | O::Reset => {}
        }
        match v {
            V::Safe | V::AtRisk | V::Exceeded => {}
        }
    }

    fn endpoint() -> impl Strategy<Value = Endpoint> {
        let ip = prop_oneof![
            any::<u32>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
            // IPv4-mapped and -compatible, and a few groups: the special forms.
            any::<u32>().prop_map(|a| IpAddr::V6(Ipv4Addr::from(a).to_ipv6_mapped())),
            any::<u32>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(u128::from(a)))),
            (0u128..4, 0usize..8).prop_map(|(g, at)| IpAddr::V6(Ipv6Addr::from(g << (16 * at)))),
            // Groups zeroed at random, so `::` shortening is exercised.
            (any::<u128>(), any::<u8>()).prop_map(|(v, zeros)| {
                let mask = (0..8)
                    .filter(|g| zeros & (1 << g) != 0)
                    .fold(0u128, |m, g| m | 0xFFFF << (16 * g));
                IpAddr::V6(Ipv6Addr::from(v & !mask))
            }),
        ];
        (ip, any::<u16>()).prop_map(|(ip, port)| Endpoint { ip, port })
    }

    /// Any number, the ones serde_json writes specially included.
    fn number() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<f64>(),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(-0.0),
            Just(1e21),
            Just(5e-324),
            (0u64..4_000_000_000_000).prop_map(|us| us as f64 / 1e6),
        ]
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![any::<String>(), "[\"\\\\\u{0}-\u{1f}\u{7f}é✓a-z]{0,12}"]
    }

    fn prober() -> impl Strategy<Value = ProberReport> {
        (
            (
                endpoint(),
                any::<(u32, u32, u32)>(),
                proptest::option::of(number()),
                proptest::option::of(number()),
            ),
            (
                proptest::option::of(any::<u32>()),
                0..OUTCOMES.len(),
                any::<[Option<u32>; 3]>(),
            ),
            (
                proptest::collection::vec(text(), 0..3),
                proptest::collection::vec(proptest::option::of(number()), 4),
            ),
        )
            .prop_map(
                |(
                    (prober, (sent, answered, zwp), idle_s, intvl_s),
                    (probes, outcome, likely),
                    (os_defaults, t),
                )| {
                    ProberReport {
                        prober,
                        probes_sent: sent,
                        probes_answered: answered,
                        probes_too_soon: sent / 2,
                        zero_window_probes: zwp,
                        idle_s,
                        intvl_s,
                        probes,
                        probes_at_least: sent / 3,
                        outcome: OUTCOMES[outcome],
                        likely: Settings {
                            idle_s: likely[0],
                            intvl_s: likely[1],
                            probes: likely[2],
                        },
                        os_defaults,
                        cadence_s: t[0],
                        detection_s: t[1],
                        first_probe: t[2],
                        last_probe: t[3],
                    }
                },
            )
    }

    fn path_report() -> impl Strategy<Value = PathReport> {
        (text(), number(), 0..VERDICTS.len()).prop_map(|(name, timeout_s, v)| PathReport {
            name,
            timeout_s,
            verdict: VERDICTS[v],
        })
    }

    fn flow_report() -> impl Strategy<Value = FlowReport> {
        let heartbeat = (
            endpoint(),
            number(),
            any::<u32>(),
            any::<bool>(),
            0..HeartbeatProtocol::ALL.len(),
        )
            .prop_map(|(side, period_s, count, answered, p)| HeartbeatReport {
                side,
                protocol: HeartbeatProtocol::ALL[p],
                period_s,
                count,
                answered,
            });
        let path = path_report();
        (
            (
                endpoint(),
                endpoint(),
                proptest::collection::vec(any::<u16>(), 0..3),
                number(),
                number(),
            ),
            (
                0..STATES.len(),
                any::<u64>(),
                any::<u32>(),
                any::<bool>(),
                number(),
                proptest::option::of(number()),
            ),
            (
                proptest::collection::vec(heartbeat, 0..3),
                proptest::collection::vec(path, 0..4),
                proptest::collection::vec(text(), 0..3),
                proptest::collection::vec(prober(), 0..3),
            ),
            (
                0..3usize,
                any::<bool>(),
                proptest::option::of(proptest::collection::vec(text(), 0..3)),
            ),
        )
            .prop_map(
                |(
                    (a, b, vlan, first_seen, last_seen),
                    (state, segments, zwp, partial, longest_s, allowed_s),
                    (heartbeats, path, files, keepalive),
                    (socket, peer, disagreements),
                )| {
                    FlowReport {
                        a,
                        b,
                        vlan,
                        first_seen,
                        last_seen,
                        state: STATES[state],
                        segments,
                        zero_window_probes: zwp,
                        partial,
                        silence: Silence {
                            longest_s,
                            allowed_s,
                        },
                        heartbeats,
                        path,
                        files,
                        keepalive,
                        socket: [None, Some(None), Some(Some(socket_report(a, b)))][socket].clone(),
                        peer_socket: peer.then(|| socket_report(b, a)),
                        disagreements,
                    }
                },
            )
    }

    fn socket_report(local: Endpoint, remote: Endpoint) -> SocketReport {
        SocketReport {
            local,
            remote,
            state: "established".into(),
            pid: Some(4242),
            process: Some("sshd \"x\"".into()),
            keepalive: Some(true),
            idle_s: Some(7200),
            intvl_s: Some(75),
            probes: None,
            user_timeout_ms: None,
            settings_from: None,
            timer: "keepalive".into(),
            next_probe_in_s: Some(12.5),
            probes_out: Some(0),
            last_data_recv_s: None,
            last_data_sent_s: Some(0.25),
        }
    }

    #[test]
    fn lines_are_indented_two_spaces_a_level_at_any_depth() {
        for depth in 0..12 {
            let mut out = b"x".to_vec();
            Pretty {
                out: &mut out,
                depth,
            }
            .newline();
            let want = format!("x\n{}", " ".repeat(2 * depth));
            assert_eq!(String::from_utf8_lossy(&out), want, "depth {depth}");
        }
    }

    proptest! {
        #[test]
        fn writes_what_serde_writes(f in flow_report()) {
            let (hand, serde) = (by_hand(&f), by_serde(&f));
            prop_assert_eq!(String::from_utf8_lossy(&hand), String::from_utf8_lossy(&serde));
        }

        /// Flows written one after another by one writer, at one depth
        /// or another, sharing some path timeouts (what it writes once and
        /// copies after) and not others: each as serde writes it alone.
        #[test]
        fn each_of_several_flows_is_what_serde_writes(
            flows in proptest::collection::vec(flow_report(), 1..6),
            shared in proptest::collection::vec(path_report(), 0..3),
        ) {
            let mut writer = FlowWriter::default();
            for (i, mut f) in flows.into_iter().enumerate() {
                // Every other flow has the shared ones first, with its own verdicts.
                if i % 2 == 0 {
                    let verdicts = f.path.iter().map(|p| p.verdict).chain(VERDICTS);
                    let mut path: Vec<PathReport> = shared
                        .iter()
                        .zip(verdicts)
                        .map(|(p, verdict)| PathReport { verdict, ..p.clone() })
                        .collect();
                    path.append(&mut f.path);
                    f.path = path;
                }
                let depth = [2, 2, 1, 2, 3][i % 5];
                let mut hand = Vec::new();
                writer.flow(&mut hand, depth, &f);
                let serde = by_serde_at(&f, depth);
                prop_assert_eq!(
                    String::from_utf8_lossy(&hand),
                    String::from_utf8_lossy(&serde),
                    "flow {}", i
                );
            }
        }
    }
}
