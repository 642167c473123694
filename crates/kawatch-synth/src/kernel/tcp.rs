//! Segments out and in: what each side's TCP sends, and what it does with
//! what arrives (KEEPALIVE-FACTS items 6 and 12 on the receiving end).

use super::{seq_le, seq_lt, Cause, Ev, Flow, Gone, Loss, Pkt, ACK, FIN, PSH, RST, SYN, WSCALE};
use crate::time::{secs, MS, NS, US};
use crate::truth::{FlowEnd, FlowKind};

impl Flow {
    /// A segment from side `s` now, acknowledging what it received.
    pub(super) fn pkt(&self, s: usize, flags: u8, seq: u32, len: u16, cause: Cause) -> Pkt {
        let side = &self.sides[s];
        Pkt {
            from: s as u8,
            flags,
            seq,
            ack: if flags & ACK != 0 { side.rcv_nxt } else { 0 },
            win: side.window(),
            len,
            sack: None,
            tsval: 0,
            tsecr: 0,
            ip_id: 0,
            cause,
            sent_at: self.now,
        }
    }

    /// Puts `p` on the path: captured unless lost before the capture point,
    /// delivered unless lost anywhere.
    pub(super) fn send(&mut self, mut p: Pkt, loss: Loss) {
        let s = p.from as usize;
        if self.sides[s].gone == Gone::Silent {
            return;
        }
        if self.wire.ts_on {
            let side = &self.sides[s];
            p.tsval = side.ts_base.wrapping_add((self.now / MS) as u32);
            p.tsecr = if p.flags & SYN != 0 && p.flags & ACK == 0 {
                0
            } else {
                side.ts_recent
            };
        }
        let loss = if let Some((_, near)) = self.partition.filter(|&(t, _)| self.now >= t) {
            if s as u8 == near {
                Loss::AfterCapture
            } else {
                Loss::BeforeCapture
            }
        } else if matches!(p.cause, Cause::Ack | Cause::DupAck) && self.sides[s].lose_acks > 0 {
            self.sides[s].lose_acks -= 1;
            Loss::BeforeCapture
        } else {
            loss
        };
        if self.now >= 0 {
            self.sent += 1;
        }
        p.ip_id = self.sides[s].ip_id;
        self.sides[s].ip_id = p.ip_id.wrapping_add(1);
        if loss != Loss::BeforeCapture {
            self.out.push(self.now + self.off[s], p);
        }
        if loss == Loss::None {
            let at = self.now + self.d + self.stack_delay[1 - s];
            self.schedule(at, Ev::Deliver(p));
        }
        if p.flags & ACK != 0 {
            let side = &mut self.sides[s];
            side.rx_unacked = 0;
            side.delack_gen = side.delack_gen.wrapping_add(1);
            side.adv_win = p.win;
        }
    }

    pub(super) fn send_ack(&mut self, s: usize, cause: Cause, sack: Option<(u32, u32)>) {
        let seq = self.sides[s].snd_nxt;
        let mut p = self.pkt(s, ACK, seq, 0, cause);
        if self.wire.sack_on {
            p.sack = sack;
        }
        self.send(p, Loss::None);
    }

    pub(super) fn send_fin(&mut self, s: usize) {
        let seq = self.sides[s].snd_nxt;
        let p = self.pkt(s, FIN | ACK, seq, 0, Cause::Fin);
        self.sides[s].snd_nxt = seq.wrapping_add(1);
        self.sides[s].fin_sent = true;
        self.send(p, Loss::None);
    }

    /// The client's SYN.
    pub(super) fn connect(&mut self) {
        let p = self.pkt(0, SYN, self.sides[0].snd_nxt, 0, Cause::Syn);
        self.sides[0].snd_nxt = self.sides[0].snd_nxt.wrapping_add(1);
        self.send(p, Loss::None);
    }

    /// The application on side `s` writes `bytes`.
    pub(super) fn write(&mut self, s: usize, bytes: u32) {
        if bytes == 0 || !self.sides[s].alive() {
            return;
        }
        self.sides[s].pending_tx += bytes;
        self.kick_xmit(s);
    }

    pub(super) fn kick_xmit(&mut self, s: usize) {
        if !self.sides[s].xmit_scheduled && self.sides[s].pending_tx > 0 {
            self.sides[s].xmit_scheduled = true;
            self.schedule(self.now, Ev::Xmit { side: s as u8 });
        }
    }

    /// Sends the next segment of queued data the peer's window allows.
    pub(super) fn xmit(&mut self, s: usize) {
        self.sides[s].xmit_scheduled = false;
        if !self.sides[s].alive() || self.sides[s].pending_tx == 0 {
            return;
        }
        let side = &self.sides[s];
        let in_flight = side.snd_nxt.wrapping_sub(side.snd_una);
        let usable = side.peer_wnd.saturating_sub(in_flight);
        let chunk = self.wire.mss.min(side.pending_tx).min(usable);
        if chunk == 0 {
            if side.peer_wnd == 0 && in_flight == 0 && !side.persist_running {
                self.start_persist(s);
            }
            return; // an ACK that opens the window kicks it again
        }
        let last = chunk == side.pending_tx;
        let seq = side.snd_nxt;
        let flags = ACK | if last { PSH } else { 0 };
        let p = self.pkt(s, flags, seq, chunk as u16, Cause::Data);
        let loss = self.data_loss(s, last);
        self.sides[s].snd_nxt = seq.wrapping_add(chunk);
        self.sides[s].pending_tx -= chunk;
        self.send(p, loss);
        if self.kind == FlowKind::Retransmission {
            let rto = self.rto();
            self.schedule(
                self.now + rto,
                Ev::Rto {
                    side: s as u8,
                    seq,
                    len: chunk as u16,
                    attempt: 1,
                },
            );
        }
        if self.sides[s].pending_tx > 0 {
            self.sides[s].xmit_scheduled = true;
            self.schedule(self.now + 12 * US, Ev::Xmit { side: s as u8 });
        }
    }

    /// Tail losses in retransmission flows: the client's are past the capture
    /// point (seen twice), the server's before it (seen once).
    fn data_loss(&mut self, s: usize, last: bool) -> Loss {
        if self.kind != FlowKind::Retransmission || !last || !self.rng.chance(0.3) {
            return Loss::None;
        }
        if s == 0 {
            Loss::AfterCapture
        } else {
            Loss::BeforeCapture
        }
    }

    /// `p` arrives at the other side.
    pub(super) fn deliver(&mut self, p: Pkt) {
        let r = 1 - p.from as usize;
        let cap = p.sent_at + self.off[p.from as usize];
        debug_assert!(cap <= self.now);
        match self.sides[r].gone {
            Gone::Silent => return,
            Gone::Rebooted => {
                self.answer_without_socket(r, &p);
                return;
            }
            Gone::No => {}
        }
        if self.sides[r].closed {
            return;
        }
        if p.flags & RST != 0 {
            self.sides[r].closed = true;
            self.sides[1 - r].closed = true;
            return;
        }
        if self.wire.ts_on && p.tsval != 0 {
            self.sides[r].ts_recent = p.tsval;
        }
        if p.flags & SYN != 0 {
            self.deliver_syn(r, p);
            return;
        }
        if self.out_of_window(r, &p) {
            // Bytes ending at rcv_nxt (a 1-byte probe, a byte sent again)
            // reach into the window: Linux processes their ACK, which
            // restarts the idle clock and the probe count (`tcp_ack`). A
            // stack that probes with a byte itself (Windows) lets its
            // peer's 1-byte probes pass (kawatch-core's `idle_clock`).
            let side = &mut self.sides[r];
            let probe = matches!(p.cause, Cause::Probe { .. });
            let ours_one_byte = side.ka.is_some_and(|k| k.probe_len > 0);
            if p.len > 0
                && p.seq.wrapping_add(p.len as u32) == side.rcv_nxt
                && !(probe && ours_one_byte)
            {
                side.last_rx = self.now;
                side.last_rx_cap = cap;
                side.last_rx_reply = false;
                side.probes_out = 0;
            }
            return;
        }
        // Accepted.
        let side = &mut self.sides[r];
        side.last_rx = self.now;
        side.last_rx_cap = cap;
        side.last_rx_reply = p.cause == Cause::ProbeAck;
        if p.flags & ACK != 0 && !seq_lt(p.ack, side.snd_una) {
            self.accept_ack(r, &p);
        }
        if p.len > 0 {
            self.accept_data(r, &p);
        }
        if p.flags & FIN != 0 {
            self.accept_fin(r);
        }
    }

    /// A rebooted host has no socket any more: it answers anything but an
    /// RST with an RST at the segment's ack number (item 12).
    fn answer_without_socket(&mut self, r: usize, p: &Pkt) {
        if p.flags & RST != 0 {
            return;
        }
        let (flags, seq, ack) = if p.flags & ACK != 0 {
            (RST, p.ack, 0)
        } else {
            (RST | ACK, 0, p.seq.wrapping_add(p.len as u32))
        };
        let cause = if matches!(p.cause, Cause::Probe { .. }) {
            Cause::ProbeRst
        } else {
            Cause::RebootRst
        };
        let mut q = self.pkt(r, flags, seq, 0, cause);
        q.ack = ack;
        q.win = 0;
        self.send(q, Loss::None);
    }

    /// Out of window: a keepalive or zero-window probe, or data already
    /// received. Answered with a duplicate ACK and dropped; an empty probe
    /// restarts no idle clock (item 6), bytes ending at rcv_nxt may
    /// (see `deliver`).
    fn out_of_window(&mut self, r: usize, p: &Pkt) -> bool {
        let rcv_nxt = self.sides[r].rcv_nxt;
        let end = p.seq.wrapping_add(p.len as u32);
        let old = if p.len == 0 {
            p.flags & FIN == 0 && seq_lt(p.seq, rcv_nxt)
        } else {
            seq_le(end, rcv_nxt)
        };
        if old {
            let cause = match p.cause {
                Cause::Probe { .. } => Cause::ProbeAck,
                Cause::ZeroWindowProbe => Cause::ZeroWindowAck,
                _ => Cause::DupAck,
            };
            let dsack = (p.len > 0).then_some((p.seq, end));
            self.send_ack(r, cause, dsack);
        }
        old
    }

    /// An ACK of new data (or of nothing new): the probe count starts
    /// again, and queued data may go out.
    fn accept_ack(&mut self, r: usize, p: &Pkt) {
        let side = &mut self.sides[r];
        side.snd_una = p.ack;
        side.probes_out = 0;
        side.peer_wnd = (p.win as u32) << WSCALE;
        if p.win > 0 {
            side.persist_running = false;
            side.persist_gen = side.persist_gen.wrapping_add(1);
        }
        if !side.established {
            // The server: the handshake's last ACK.
            side.established = true;
            if let Some(ka) = side.ka {
                self.arm_ka(r, ka.idle_s as i64 * NS);
            }
        }
        let side = &self.sides[r];
        if side.pending_tx > 0 {
            let in_flight = side.snd_nxt.wrapping_sub(side.snd_una);
            if side.peer_wnd == 0 && in_flight == 0 && !side.persist_running {
                self.start_persist(r);
            } else {
                self.kick_xmit(r);
            }
        }
    }

    /// New data: acknowledged (delayed, or every second segment) and handed
    /// to the application.
    fn accept_data(&mut self, r: usize, p: &Pkt) {
        let now = self.now;
        let side = &mut self.sides[r];
        side.rcv_nxt = p.seq.wrapping_add(p.len as u32);
        if side.app_paused {
            side.unread += p.len as u32;
        }
        side.rx_unacked += 1;
        if side.rx_unacked >= 2 {
            self.send_ack(r, Cause::Ack, None);
        } else {
            let gen = side.delack_gen;
            self.schedule(now + 40 * MS, Ev::DelAck { side: r as u8, gen });
        }
        self.app_data(r, p.len as u32);
    }

    /// The peer closes: FIN back, or the last ACK when this side closed first.
    fn accept_fin(&mut self, r: usize) {
        let side = &mut self.sides[r];
        side.rcv_nxt = side.rcv_nxt.wrapping_add(1);
        side.fin_rcvd = true;
        if side.fin_sent {
            side.closed = true;
            self.send_ack(r, Cause::Ack, None);
        } else {
            self.send_fin(r);
        }
        self.app.stopped = true;
        if self.end == FlowEnd::Open {
            self.end = FlowEnd::Closed;
        }
    }

    fn deliver_syn(&mut self, r: usize, p: Pkt) {
        self.sides[r].rcv_nxt = p.seq.wrapping_add(1);
        self.sides[r].last_rx = self.now;
        self.sides[r].last_rx_cap = p.sent_at + self.off[p.from as usize];
        if p.flags & ACK == 0 {
            // Server: SYN-ACK.
            let seq = self.sides[r].snd_nxt;
            let q = self.pkt(r, SYN | ACK, seq, 0, Cause::Syn);
            self.sides[r].snd_nxt = seq.wrapping_add(1);
            self.send(q, Loss::None);
        } else {
            // Client: established.
            let side = &mut self.sides[r];
            side.snd_una = p.ack;
            side.established = true;
            side.peer_wnd = (p.win as u32) << WSCALE;
            if let Some(ka) = side.ka {
                self.arm_ka(r, ka.idle_s as i64 * NS);
            }
            self.send_ack(r, Cause::Ack, None);
            let think = secs(self.rng.log_uniform(1e-4, 0.05));
            self.schedule(self.now + think, Ev::Round);
        }
    }
}
