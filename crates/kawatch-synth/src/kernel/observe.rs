//! What the capture shows, frame by frame, and the truth made of it.
//!
//! The model knows what each captured segment is ([`Cause`]); this keeps
//! count per flow and per prober, and at the end states it as a
//! [`FlowTruth`].

use kawatch_core::Endpoint;

use super::{Cause, Flow, Pkt, ACK, FIN, MAX_LATE, SYN};
use crate::time::{to_epoch_s, MS, NS};
use crate::truth::{
    whole_second_determinable, FlowEnd, FlowTruth, KeepaliveConfig, Outcome, ProberTruth, SideTruth,
};

/// What the capture shows of one flow so far.
#[derive(Clone, Debug, Default)]
pub(super) struct Observed {
    sides: [SideAcc; 2],
    /// Segments in the capture.
    pub(super) segments: u64,
    first_cap: i64,
    last_cap: i64,
    zero_window_probes: u32,
    retransmissions: u32,
}

#[derive(Clone, Debug, Default)]
struct SideAcc {
    prober: Option<ProberAcc>,
    /// A segment from the peer acknowledging this side's data is in the capture.
    peer_ack_seen: bool,
}

/// What the capture shows of one side as a prober, accumulated frame by frame.
#[derive(Clone, Debug, Default)]
struct ProberAcc {
    sent: u32,
    answered: u32,
    outstanding: bool,
    /// The outstanding probe's seq + 1: what the peer's answer acknowledges.
    probed: u32,
    run: u32,
    max_run: u32,
    intvl_seen: bool,
    idle_tight: bool,
    idle_any: bool,
    gave_up: Option<(u32, u32)>,
    reset: bool,
    first: i64,
    last: i64,
    peer_ack_seen: bool,
}

impl Observed {
    /// `p`, captured at `t`. A peer's RST ends the flow as reset (`end`).
    pub(super) fn record(&mut self, p: &Pkt, t: i64, end: &mut FlowEnd) {
        if self.segments == 0 {
            self.first_cap = t;
        }
        self.last_cap = t;
        self.segments += 1;
        let s = p.from as usize;
        let r = 1 - s;
        match p.cause {
            Cause::Probe {
                tight,
                rx_cap,
                after_reply,
            } => {
                let peer_ack_seen = self.sides[s].peer_ack_seen;
                let pr = self.sides[s].prober.get_or_insert_with(|| ProberAcc {
                    first: t,
                    peer_ack_seen,
                    ..Default::default()
                });
                pr.sent += 1;
                if pr.outstanding {
                    pr.run += 1;
                    pr.intvl_seen = true;
                } else {
                    pr.run = 1;
                    if rx_cap >= 0 && !after_reply {
                        pr.idle_any = true;
                        pr.idle_tight |= tight;
                    }
                }
                pr.max_run = pr.max_run.max(pr.run);
                pr.outstanding = true;
                pr.probed = p.seq.wrapping_add(1);
                pr.last = t;
            }
            Cause::GiveUp { probes_out } => {
                if let Some(pr) = self.sides[s].prober.as_mut() {
                    pr.gave_up = Some((if pr.outstanding { pr.run } else { 0 }, probes_out));
                }
            }
            Cause::ProbeRst | Cause::RebootRst => {
                // The peer lost the connection and says so while a probe is out.
                if let Some(pr) = self.sides[r].prober.as_mut() {
                    if pr.outstanding || p.cause == Cause::ProbeRst {
                        pr.reset = true;
                    }
                    pr.outstanding = false;
                }
                if *end == FlowEnd::Open {
                    *end = FlowEnd::Reset;
                }
            }
            Cause::ZeroWindowProbe => self.zero_window_probes += 1,
            Cause::Retransmission => self.retransmissions += 1,
            Cause::AppRst => {}
            Cause::Syn
            | Cause::Data
            | Cause::Ack
            | Cause::Fin
            | Cause::ProbeAck
            | Cause::ZeroWindowAck
            | Cause::DupAck
            | Cause::WinUpdate => {
                // Accepted by the peer's kernel: its probe count starts again.
                // A pure ACK of probe seq + 1 (nothing new, no FIN) is the
                // answer the contract counts; anything else is activity.
                if p.flags & ACK != 0 {
                    self.sides[r].peer_ack_seen = true;
                }
                if let Some(pr) = self.sides[r].prober.as_mut() {
                    if p.flags & ACK != 0 {
                        pr.peer_ack_seen = true;
                    }
                    if pr.outstanding {
                        if p.len == 0 && p.flags & (FIN | SYN) == 0 && p.ack == pr.probed {
                            pr.answered += 1;
                        }
                        pr.outstanding = false;
                        pr.run = 0;
                    }
                }
            }
        }
    }
}

impl ProberAcc {
    /// The truth about a prober configured with `ka`, `off` ns from the
    /// capture point.
    fn truth(&self, ka: KeepaliveConfig, off: i64) -> ProberTruth {
        let outcome = if self.reset {
            Outcome::Reset
        } else if self.gave_up.is_some() {
            Outcome::Dead
        } else if self.outstanding {
            Outcome::Probing
        } else {
            Outcome::Alive
        };
        // A tight episode shows idle * (1 + lateness) plus twice this side's
        // distance to the capture point.
        let offset = 2.0 * off as f64 / NS as f64;
        let idle = ka.idle_s as f64;
        let idle_observed_max_s = idle * (1.0 + MAX_LATE) + offset;
        let intvl_observed_max_s = ka.intvl_s as f64 * (1.0 + MAX_LATE);
        ProberTruth {
            probes_sent: self.sent,
            probes_answered: self.answered,
            outcome,
            give_up_probes: self.gave_up.map(|g| g.0),
            give_up_probes_kernel: self.gave_up.map(|g| g.1),
            give_up_run_whole: self.gave_up.is_some_and(|(seen, kernel)| seen == kernel),
            idle_observable: self.idle_tight,
            idle_bounded: self.idle_any,
            idle_exact: whole_second_determinable(ka.idle_s, idle_observed_max_s),
            idle_observed_max_s,
            intvl_observable: self.intvl_seen,
            intvl_exact: whole_second_determinable(ka.intvl_s, intvl_observed_max_s),
            intvl_observed_max_s,
            recognisable: self.peer_ack_seen
                || self.answered > 0
                || self.max_run >= 3
                || self.gave_up.is_some()
                || self.reset,
            first_probe: to_epoch_s(self.first),
            last_probe: to_epoch_s(self.last),
        }
    }
}

impl Flow {
    /// The flow's truth, as far as the capture has gone.
    pub(crate) fn truth(&self) -> FlowTruth {
        let ep = |s: usize| Endpoint::new(self.wire.ip[s], self.wire.port[s]).to_string();
        let side = |s: usize| SideTruth {
            endpoint: ep(s),
            keepalive: self.sides[s].ka,
            prober: self.seen.sides[s].prober.as_ref().map(|pr| {
                let ka = self.sides[s]
                    .ka
                    .expect("only sides with keepalive on send probes");
                pr.truth(ka, self.off[s])
            }),
        };
        let seen = &self.seen;
        FlowTruth {
            id: self.id,
            kind: self.kind,
            client: ep(0),
            server: ep(1),
            vlan: self.wire.vlan,
            started_before_capture: self.pre,
            rtt_ms: 2.0 * self.d as f64 / MS as f64,
            capture_at: self.capture_at,
            first_ts: to_epoch_s(seen.first_cap),
            last_ts: to_epoch_s(seen.last_cap),
            segments: seen.segments,
            zero_window_probes: seen.zero_window_probes,
            retransmissions: seen.retransmissions,
            end: self.end,
            sides: [side(0), side(1)],
        }
    }
}
