//! The applications at both ends: request/response rounds shaped by the
//! flow's kind, idle gaps, closes, and the fates of hosts that vanish.

use super::{Cause, Ev, Flow, Gone, Loss, ACK, RST, SMALL_RCVBUF, WINDOW};
use crate::time::{secs, NS};
use crate::truth::{FlowEnd, FlowKind};

/// Per-flow plan of what the applications do.
#[derive(Clone, Debug)]
pub(super) struct App {
    rounds: u32,
    srv_expect: u32,
    srv_reply: u32,
    srv_think: i64,
    cli_expect: u32,
    respond_scheduled: bool,
    /// No more rounds: a side vanished, or the flow is winding down.
    pub(super) stopped: bool,
    heartbeat_every: i64,
}

impl App {
    pub(super) fn new(heartbeat_every: i64) -> App {
        App {
            rounds: 0,
            srv_expect: 0,
            srv_reply: 0,
            srv_think: 0,
            cli_expect: 0,
            respond_scheduled: false,
            stopped: false,
            heartbeat_every,
        }
    }
}

impl Flow {
    /// Side `r`'s application reads `len` bytes.
    pub(super) fn app_data(&mut self, r: usize, len: u32) {
        if r == 1 {
            self.app.srv_expect = self.app.srv_expect.saturating_sub(len);
            self.maybe_respond();
        } else if self.app.cli_expect > 0 {
            self.app.cli_expect = self.app.cli_expect.saturating_sub(len);
            if self.app.cli_expect == 0 {
                self.round_done();
            }
        }
    }

    fn maybe_respond(&mut self) {
        if self.app.srv_expect == 0
            && self.app.srv_reply > 0
            && !self.sides[1].app_paused
            && !self.app.respond_scheduled
        {
            self.app.respond_scheduled = true;
            self.schedule(self.now + self.app.srv_think, Ev::Respond);
        }
    }

    /// The server writes its response.
    pub(super) fn respond(&mut self) {
        self.app.respond_scheduled = false;
        let n = self.app.srv_reply;
        self.app.srv_reply = 0;
        self.write(1, n);
    }

    /// The server's application reads again: a window update if it shrank.
    pub(super) fn resume(&mut self) {
        let srv = &mut self.sides[1];
        srv.app_paused = false;
        srv.unread = 0;
        if srv.adv_win < WINDOW / 2 && srv.alive() {
            self.send_ack(1, Cause::WinUpdate, None);
        }
        self.maybe_respond();
    }

    /// The client sends the next request.
    pub(super) fn round(&mut self) {
        if self.app.stopped || !self.sides[0].alive() || !self.sides[1].alive() {
            return;
        }
        if self.sent >= self.budget {
            self.wind_down();
            return;
        }
        self.app.rounds += 1;
        let rng = &mut self.rng;
        let (req, reply) = match self.kind {
            FlowKind::Heartbeat => {
                let n = rng.range(1, 8) as u32;
                (n, if rng.chance(0.5) { n } else { 0 })
            }
            FlowKind::ZeroWindow => {
                let req = SMALL_RCVBUF + rng.range(2_000, 30_000) as u32;
                (req, rng.range(2, 200) as u32)
            }
            FlowKind::Retransmission if rng.chance(0.4) => {
                // A 1-byte message the server does not answer, whose ACK is lost (item 10).
                self.sides[1].lose_acks = if rng.chance(0.3) { 2 } else { 1 };
                (1, 0)
            }
            FlowKind::Bulk => {
                let req = rng.log_uniform(50.0, 1500.0) as u32;
                let reply = rng.log_uniform(5_000.0, 120_000.0) as u32;
                (req, reply)
            }
            FlowKind::Plain => {
                let req = rng.log_uniform(20.0, 1000.0) as u32;
                let reply = rng.log_uniform(2.0, 3000.0) as u32;
                (req, reply)
            }
            _ => {
                let req = rng.log_uniform(20.0, 3000.0) as u32;
                let reply = rng.log_uniform(2.0, 20_000.0) as u32;
                (req, reply)
            }
        };
        self.app.srv_expect = req;
        self.app.srv_reply = reply;
        self.app.srv_think = secs(self.rng.log_uniform(5e-5, 0.08));
        self.app.cli_expect = reply;
        if self.kind == FlowKind::ZeroWindow {
            // The server's application stops reading for a while.
            self.sides[1].app_paused = true;
            let pause = secs(self.rng.uniform(0.5, 40.0));
            self.schedule(self.now + pause, Ev::Resume);
        }
        self.write(0, req);
        if reply == 0 {
            self.round_done();
        }
    }

    /// A round is over: idle, then the next one, unless a host vanishes.
    fn round_done(&mut self) {
        if self.app.stopped {
            return;
        }
        let gap = self.gap();
        if let Some((side, reboot, at)) = self.fate(gap) {
            self.app.stopped = true;
            if self.rng.chance(0.3) {
                // Not a host but the path between them goes.
                self.partition = Some((self.now + at, side));
            } else {
                self.schedule(self.now + at, Ev::Vanish { side, reboot });
            }
            return;
        }
        self.schedule(self.now + gap, Ev::Round);
    }

    /// Idle time before the next round.
    fn gap(&mut self) -> i64 {
        let min_idle = self
            .sides
            .iter()
            .filter_map(|s| s.ka)
            .map(|k| k.idle_s)
            .min();
        let rng = &mut self.rng;
        let g = match self.kind {
            FlowKind::Keepalive => min_idle.unwrap_or(5) as f64 * rng.uniform(0.2, 6.0),
            FlowKind::KeepaliveLong => min_idle.unwrap_or(60) as f64 * rng.uniform(0.3, 2.5),
            FlowKind::Plain => rng.log_uniform(0.5, 3600.0),
            FlowKind::Bulk => rng.log_uniform(0.001, 5.0),
            FlowKind::Heartbeat => {
                let every = self.app.heartbeat_every as f64 / NS as f64;
                every * rng.uniform(0.98, 1.02)
            }
            FlowKind::ZeroWindow => rng.log_uniform(0.01, 30.0),
            FlowKind::Retransmission => rng.uniform(2.0, 60.0),
        };
        secs(g)
    }

    /// Whether a side vanishes in this gap: (side, rebooted, after).
    fn fate(&mut self, gap: i64) -> Option<(u8, bool, i64)> {
        let p = match self.kind {
            FlowKind::Keepalive => 0.1,
            FlowKind::KeepaliveLong => 0.06,
            FlowKind::Plain => 0.01,
            _ => 0.0,
        };
        if !self.rng.chance(p) {
            return None;
        }
        let probers: Vec<u8> = (0..2u8)
            .filter(|&s| self.sides[s as usize].ka.is_some())
            .collect();
        // Mostly the prober's peer vanishes; sometimes the prober itself.
        let side = match probers.as_slice() {
            [s] if self.rng.chance(0.85) => 1 - s,
            [s] => *s,
            _ => self.rng.below(2) as u8,
        };
        let reboot = self.rng.chance(0.4);
        let at = (gap as f64 * self.rng.uniform(0.05, 0.95)) as i64;
        Some((side, reboot, at))
    }

    /// Side `s`'s host goes away: silently, or rebooted (no socket any more).
    pub(super) fn vanish(&mut self, s: usize, reboot: bool) {
        if self.sides[s].alive() {
            self.sides[s].gone = if reboot { Gone::Rebooted } else { Gone::Silent };
        }
    }

    /// The budget is spent: close, abort, or leave the connection open.
    fn wind_down(&mut self) {
        self.app.stopped = true;
        let long_idle = self
            .sides
            .iter()
            .filter_map(|s| s.ka)
            .all(|k| k.idle_s.max(k.intvl_s) >= 120);
        let leave_open = match self.kind {
            FlowKind::Keepalive | FlowKind::ZeroWindow | FlowKind::Retransmission => false,
            FlowKind::KeepaliveLong => long_idle && self.rng.chance(0.5),
            FlowKind::Plain => self.rng.chance(0.6),
            FlowKind::Bulk | FlowKind::Heartbeat => self.rng.chance(0.2),
        };
        if leave_open {
            return;
        }
        let side = u8::from(self.rng.chance(0.3));
        let abort = self.rng.chance(0.12);
        self.schedule(self.now, Ev::Close { side, abort });
    }

    /// Side `side`'s application closes (FIN) or aborts (RST).
    pub(super) fn close(&mut self, side: u8, abort: bool) {
        let s = side as usize;
        if !self.sides[s].alive() || self.sides[s].fin_sent {
            return;
        }
        if self.sides.iter().any(|x| x.probes_out > 0) {
            // An application close with a probe out would read as a
            // give-up on the wire: wait for the answer (or the end).
            self.schedule(self.now + NS, Ev::Close { side, abort });
            return;
        }
        if abort {
            let seq = self.sides[s].snd_nxt;
            let p = self.pkt(s, RST | ACK, seq, 0, Cause::AppRst);
            self.send(p, Loss::None);
            self.sides[s].closed = true;
            self.end = FlowEnd::Aborted;
        } else {
            self.send_fin(s);
        }
    }
}
