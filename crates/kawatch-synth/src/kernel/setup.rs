//! Drawing a flow: its kind, start, addresses, path and settings.
//!
//! Every flow draws from its own RNG, seeded from (seed, id) alone, so start
//! times can be planned before any flow exists and the draws of one flow
//! never shift another's.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::app::App;
use super::observe::Observed;
use super::queue::Queue;
use super::wire::Wire;
use super::{Ev, Flow, Params, Tcb, SMALL_RCVBUF};
use crate::generator::Profile;
use crate::rng::{splitmix64, Rng};
use crate::time::{secs, NS, US};
use crate::truth::{FlowEnd, FlowKind, KeepaliveConfig};

const KA_IDLE_SHORT: [(u32, u32); 9] = [
    (12, 1),
    (14, 2),
    (10, 3),
    (6, 4),
    (12, 5),
    (6, 7),
    (10, 10),
    (6, 15),
    (6, 20),
];
const KA_INTVL_SHORT: [(u32, u32); 6] = [(16, 1), (12, 2), (10, 3), (10, 5), (6, 10), (4, 15)];
const KA_IDLE_LONG: [(u32, u32); 8] = [
    (6, 30),
    (3, 45),
    (6, 60),
    (3, 75),
    (5, 120),
    (5, 300),
    (3, 600),
    (8, 7200),
];
const KA_INTVL_LONG: [(u32, u32); 6] = [(4, 5), (5, 10), (3, 15), (4, 30), (2, 60), (5, 75)];
const SERVICE_PORTS: [u16; 8] = [22, 443, 5432, 6379, 3306, 8080, 9092, 5672];

/// The draws every flow starts with: its RNG, kind, whether it started
/// before the capture, and its start time.
fn flow_head(seed: u64, duration_s: u32, profile: Profile, id: u32) -> (Rng, FlowKind, bool, i64) {
    let mut s = seed ^ 0x6B61_7761_7463_6821;
    let base = splitmix64(&mut s);
    let mut rng = Rng::new(base ^ (id as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
    let kind = match profile {
        Profile::Mixed => rng.weighted(&[
            (24, FlowKind::Keepalive),
            (18, FlowKind::KeepaliveLong),
            (28, FlowKind::Plain),
            (8, FlowKind::Bulk),
            (8, FlowKind::Heartbeat),
            (7, FlowKind::ZeroWindow),
            (7, FlowKind::Retransmission),
        ]),
        Profile::SmallFrames => rng.weighted(&[
            (52, FlowKind::Keepalive),
            (35, FlowKind::KeepaliveLong),
            (6, FlowKind::Plain),
            (1, FlowKind::Bulk),
            (4, FlowKind::Heartbeat),
            (1, FlowKind::ZeroWindow),
            (1, FlowKind::Retransmission),
        ]),
    };
    let d = duration_s as f64;
    let pre = match kind {
        FlowKind::KeepaliveLong => rng.chance(0.5),
        FlowKind::Plain => rng.chance(0.4),
        FlowKind::Keepalive | FlowKind::Heartbeat => rng.chance(0.1),
        _ => false,
    };
    let start = match (kind, pre) {
        (FlowKind::KeepaliveLong, true) => -rng.uniform(1.0, 3.0 * 3600.0),
        (FlowKind::Plain, true) => -rng.uniform(1.0, 3600.0),
        (FlowKind::KeepaliveLong | FlowKind::Plain, false) => rng.uniform(0.0, 0.6 * d),
        (_, true) => -rng.uniform(1.0, 900.0),
        (_, false) => rng.uniform(0.0, 0.92 * d),
    };
    (rng, kind, pre, secs(start))
}

/// When flow `id` connects (capture time, ns; negative before the capture).
pub(crate) fn start_time(seed: u64, duration_s: u32, profile: Profile, id: u32) -> i64 {
    flow_head(seed, duration_s, profile, id).3
}

impl Flow {
    /// Flow `id` of the capture, about to connect.
    pub(crate) fn new(params: &Params, id: u32) -> Flow {
        let (mut rng, kind, pre, start) =
            flow_head(params.seed, params.duration_s, params.profile, id);
        let v6 = rng.chance(0.15);
        let vlan = rng.chance(0.05).then(|| rng.range(10, 4000) as u16);
        let (ip, port, mac) = addresses(&mut rng, id, v6);
        // One-way delay, and where the capture sits on the path.
        let d = secs(rng.log_uniform(50e-6, 0.04));
        let capture_at = capture_point(&mut rng, kind);
        let off0 = (d as f64 * capture_at) as i64;
        let ts_on = rng.chance(0.85);
        let sack_on = rng.chance(0.9);
        let mss = (if v6 { 1440 } else { 1460 }) - if ts_on { 12 } else { 0 };
        let ka = keepalive_settings(&mut rng, kind, sack_on);
        let probe_loss = if ka.iter().any(Option::is_some) && rng.chance(0.15) {
            0.25
        } else {
            0.0
        };
        let iss = [rng.next_u64() as u32, rng.next_u64() as u32];
        let tsb = [rng.next_u64() as u32, rng.next_u64() as u32];
        let mut sides = [
            Tcb::new(iss[0], tsb[0], ka[0]),
            Tcb::new(iss[1], tsb[1], ka[1]),
        ];
        if kind == FlowKind::ZeroWindow {
            sides[1].rcvbuf = SMALL_RCVBUF;
        }
        let mean = params.budget_scale * kind_weight(kind);
        let budget = (mean * rng.uniform(0.4, 1.6)).max(8.0) as u64;
        let heartbeat_every = secs(rng.pick(&[1.0, 5.0, 10.0, 30.0, 60.0, 120.0]));
        let stack_delay = [rng.range(4, 40) as i64 * US, rng.range(4, 40) as i64 * US];
        let mut f = Flow {
            id,
            kind,
            rng,
            pre,
            wire: Wire {
                vlan,
                ip,
                port,
                mac,
                ts_on,
                sack_on,
                mss,
            },
            d,
            off: [off0, d - off0],
            capture_at,
            probe_loss,
            partition: None,
            stack_delay,
            sides,
            events: Queue::new(),
            out: Queue::new(),
            now: start,
            end_ns: params.duration_s as i64 * NS,
            budget,
            sent: 0,
            app: App::new(heartbeat_every),
            seen: Observed::default(),
            end: FlowEnd::Open,
        };
        f.schedule(start, Ev::Connect);
        f
    }
}

/// Client then server: addresses, ports, MACs.
type Addresses = ([IpAddr; 2], [u16; 2], [[u8; 6]; 2]);

/// The addresses of flow `id`.
fn addresses(rng: &mut Rng, id: u32, v6: bool) -> Addresses {
    let host = id % 4093;
    let cport = 32768 + (id / 4093) as u16;
    let srv = rng.below(64) as u8;
    let sport = rng.pick(&SERVICE_PORTS);
    let ip = if v6 {
        let c = Ipv6Addr::new(0x2001, 0xdb8, 0xc, 0, 0, 0, 0, host as u16 + 1);
        let s = Ipv6Addr::new(0x2001, 0xdb8, 0x5, 0, 0, 0, 0, srv as u16 + 1);
        [IpAddr::V6(c), IpAddr::V6(s)]
    } else {
        let c = Ipv4Addr::new(198, 18, (host >> 8) as u8, (host & 0xff) as u8);
        let s = Ipv4Addr::new(198, 19, srv, 1);
        [IpAddr::V4(c), IpAddr::V4(s)]
    };
    let mac = [
        [0x02, 0, 0, 0, (host >> 8) as u8, host as u8],
        [0x02, 0xff, 0, 0, 0, 1],
    ];
    (ip, [cport, sport], mac)
}

/// Where the capture sits: 0 = at the client, 1 = at the server.
fn capture_point(rng: &mut Rng, kind: FlowKind) -> f64 {
    let at = match kind {
        // The capture at the sender of the probes/retransmissions shows
        // exactly what that sender's kernel saw, in its order.
        FlowKind::ZeroWindow | FlowKind::Retransmission => 0.0,
        _ => rng.weighted(&[(5, 0.0), (3, 1.0), (2, -1.0)]),
    };
    if at < 0.0 {
        rng.uniform(0.1, 0.9)
    } else {
        at
    }
}

/// Each side's keepalive settings (`None`: off).
fn keepalive_settings(
    rng: &mut Rng,
    kind: FlowKind,
    sack_on: bool,
) -> [Option<KeepaliveConfig>; 2] {
    let mut ka = [None, None];
    match kind {
        FlowKind::Keepalive => {
            let who = rng.weighted(&[(50, 0usize), (25, 1), (25, 2)]);
            for (s, k) in ka.iter_mut().enumerate() {
                if who == s || who == 2 {
                    let mut cfg = short_keepalive(rng);
                    // Stacks that send a garbage octet also do SACK, and
                    // only a D-SACK tells their answered probe from new data.
                    if sack_on && rng.chance(0.05) {
                        cfg.probe_len = 1;
                    }
                    *k = Some(cfg);
                }
            }
        }
        FlowKind::KeepaliveLong => {
            let who = rng.weighted(&[(60, 0usize), (25, 1), (15, 2)]);
            for (s, k) in ka.iter_mut().enumerate() {
                if who == s || who == 2 {
                    *k = Some(long_keepalive(rng));
                }
            }
        }
        _ => {}
    }
    ka
}

/// Packets a flow of this kind aims for, relative to the average.
fn kind_weight(kind: FlowKind) -> f64 {
    match kind {
        FlowKind::Keepalive => 1.0,
        FlowKind::KeepaliveLong => 0.5,
        FlowKind::Plain => 0.5,
        FlowKind::Bulk => 3.0,
        FlowKind::Heartbeat => 0.8,
        FlowKind::ZeroWindow => 1.2,
        FlowKind::Retransmission => 0.8,
    }
}

fn short_keepalive(rng: &mut Rng) -> KeepaliveConfig {
    let idle_s = rng.weighted(&KA_IDLE_SHORT);
    let intvl_s = rng.weighted(&KA_INTVL_SHORT);
    let probes = rng.weighted(&[
        (4, 1u32),
        (8, 2),
        (12, 3),
        (10, 4),
        (10, 5),
        (6, 6),
        (4, 7),
        (3, 8),
        (5, 9),
    ]);
    let user_timeout_ms = (probes >= 3 && rng.chance(0.06)).then(|| {
        let k = rng.range(1, probes as u64 - 1) as u32;
        (idle_s + intvl_s * k) * 1000 - 300
    });
    KeepaliveConfig {
        idle_s,
        intvl_s,
        probes,
        user_timeout_ms,
        probe_len: 0,
    }
}

fn long_keepalive(rng: &mut Rng) -> KeepaliveConfig {
    if rng.chance(0.3) {
        return KeepaliveConfig {
            idle_s: 7200,
            intvl_s: 75,
            probes: 9,
            user_timeout_ms: None,
            probe_len: 0,
        };
    }
    KeepaliveConfig {
        idle_s: rng.weighted(&KA_IDLE_LONG),
        intvl_s: rng.weighted(&KA_INTVL_LONG),
        probes: rng.pick(&[3, 5, 8, 9]),
        user_timeout_ms: None,
        probe_len: 0,
    }
}
