//! The timers of each side's TCP: keepalive (KEEPALIVE-FACTS items 1-3, 7
//! and 8), persist (item 9), delayed ACK and retransmission.

use super::{seq_le, Cause, Ev, Flow, Loss, ACK, MAX_LATE, PSH, RST};
use crate::time::{MS, NS, US};
use crate::truth::FlowEnd;

impl Flow {
    /// (Re)starts side `s`'s keepalive timer: it fires `dur` from now, a
    /// little late.
    pub(super) fn arm_ka(&mut self, s: usize, dur: i64) {
        let t = self.now + self.late(dur);
        let side = &mut self.sides[s];
        side.ka_gen = side.ka_gen.wrapping_add(1);
        let gen = side.ka_gen;
        self.schedule(t, Ev::KaTimer { side: s as u8, gen });
    }

    /// `tcp_keepalive_timer`, KEEPALIVE-FACTS items 1-3 and 8.
    pub(super) fn keepalive_timer(&mut self, s: usize, gen: u32) {
        let side = &self.sides[s];
        if gen != side.ka_gen || !side.alive() || side.fin_sent || side.fin_rcvd {
            return;
        }
        let Some(ka) = side.ka else { return };
        let idle = ka.idle_s as i64 * NS;
        if side.snd_nxt != side.snd_una || side.pending_tx > 0 {
            // Data in flight or queued: the retransmission or persist timer is in charge.
            self.arm_ka(s, idle);
            return;
        }
        let elapsed = self.now - side.last_rx;
        if elapsed < idle {
            self.arm_ka(s, idle - elapsed);
            return;
        }
        let give_up = match ka.user_timeout_ms {
            Some(ut) => elapsed >= ut as i64 * MS && side.probes_out > 0,
            None => side.probes_out >= ka.probes,
        };
        if give_up {
            let seq = side.snd_nxt;
            let probes_out = side.probes_out;
            let p = self.pkt(s, RST | ACK, seq, 0, Cause::GiveUp { probes_out });
            self.send(p, Loss::None);
            self.sides[s].closed = true;
            self.end = FlowEnd::Dead;
            return;
        }
        let tight = elapsed - idle <= (idle as f64 * MAX_LATE) as i64 + US;
        let cause = Cause::Probe {
            tight,
            rx_cap: side.last_rx_cap,
            after_reply: side.last_rx_reply,
        };
        let seq = side.snd_una.wrapping_sub(1);
        let p = self.pkt(s, ACK, seq, ka.probe_len as u16, cause);
        let loss = if self.probe_loss > 0.0 && self.rng.chance(self.probe_loss) {
            Loss::AfterCapture
        } else {
            Loss::None
        };
        self.send(p, loss);
        self.sides[s].probes_out += 1;
        self.arm_ka(s, ka.intvl_s as i64 * NS);
    }

    /// Starts side `s`'s persist timer: the peer's window is zero.
    pub(super) fn start_persist(&mut self, s: usize) {
        let side = &mut self.sides[s];
        side.persist_running = true;
        side.persist_backoff = 0;
        side.persist_gen = side.persist_gen.wrapping_add(1);
        let gen = side.persist_gen;
        let t = self.now + self.rto();
        self.schedule(t, Ev::Persist { side: s as u8, gen });
    }

    /// The persist timer: zero-window probes at snd_una - 1 with backoff (item 9).
    pub(super) fn persist_timer(&mut self, s: usize, gen: u32) {
        let side = &self.sides[s];
        if gen != side.persist_gen || !side.persist_running || !side.alive() {
            return;
        }
        if side.peer_wnd > 0 || side.pending_tx == 0 {
            self.sides[s].persist_running = false;
            return;
        }
        let seq = side.snd_una.wrapping_sub(1);
        let p = self.pkt(s, ACK, seq, 0, Cause::ZeroWindowProbe);
        self.send(p, Loss::None);
        let rto = self.rto();
        let side = &mut self.sides[s];
        side.persist_backoff += 1;
        let next = (rto << side.persist_backoff.min(10)).min(120 * NS);
        self.schedule(self.now + next, Ev::Persist { side: s as u8, gen });
    }

    /// The delayed ACK, unless something acknowledged the data since.
    pub(super) fn delayed_ack(&mut self, s: usize, gen: u32) {
        if self.sides[s].delack_gen == gen && self.sides[s].rx_unacked > 0 && self.sides[s].alive()
        {
            self.send_ack(s, Cause::Ack, None);
        }
    }

    /// The retransmission timer of a data segment, with exponential backoff.
    pub(super) fn retransmission_timer(&mut self, side: u8, seq: u32, len: u16, attempt: u8) {
        let s = side as usize;
        let sd = &self.sides[s];
        if !sd.alive() || seq_le(seq.wrapping_add(len as u32), sd.snd_una) {
            return;
        }
        let p = self.pkt(s, ACK | PSH, seq, len, Cause::Retransmission);
        self.send(p, Loss::None);
        let next = self.rto() << attempt.min(6);
        self.schedule(
            self.now + next,
            Ev::Rto {
                side,
                seq,
                len,
                attempt: attempt + 1,
            },
        );
    }
}
