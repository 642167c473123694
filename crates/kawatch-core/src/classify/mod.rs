//! Segment classification: a pure function of one segment and what has been
//! seen of the two sides (KEEPALIVE-FACTS items 1, 3, 6, 9-13, 17-18).
//!
//! Keepalive tests run first: a probe repeats old sequence space and would
//! otherwise pass for a retransmission or a duplicate ACK.

pub(crate) mod candidates;

use crate::prober::{Prober, UnheardRun, MIN_TIMER_GAP};
use crate::segment::Segment;
use crate::seq::SeqNumber;
use crate::time::{Span, Tick};

/// What the classifier knows of one side of a flow, before this segment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SideView {
    /// Time since the side last received a segment the kernel counts as
    /// activity (the peer's probes do not count), if one was seen.
    pub quiet: Option<Span>,
    /// The side is resending the byte below what the peer acknowledged
    /// (its first copy came too soon for a keepalive timer: the
    /// acknowledgment did not reach it): how soon after its last copy a
    /// next one still belongs to the retransmissions' backoff.
    pub retransmitting: Option<Span>,
    /// Time since the side last sent a segment, if it did.
    pub since_sent: Option<Span>,
    /// Highest sequence number the side has sent up to (seq + len), if seen.
    pub snd_nxt: Option<SeqNumber>,
    /// Highest ACK the other side has sent for this side's data: its snd_una as seen on the wire.
    pub acked: Option<SeqNumber>,
    /// Window this side last advertised.
    pub window: Option<u16>,
    /// This side's unanswered probe, if one is outstanding: (seq, ack).
    pub outstanding_probe: Option<(SeqNumber, SeqNumber)>,
    /// A SYN this side sent that the peer has not synchronised with.
    pub syn_pending: Option<SeqNumber>,
}

/// What a segment is, from the keepalive point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// A keepalive probe: 0 or 1 byte at one below what the peer has acknowledged.
    Probe,
    /// A zero-window probe: the same bytes as a probe, but the peer's window is 0.
    ZeroWindowProbe,
    /// A 1-byte probe's shape, but sent sooner after the sender last
    /// received anything than a keepalive timer can fire (its idle is whole
    /// seconds), or a byte the sender is retransmitting: a retransmission
    /// whose acknowledgment was lost past the capture point (items 7, 10, 20).
    Retransmission,
    /// Keepalive-shaped, but the peer's ACK for this side is not known yet
    /// (capture started mid-connection): decided by what follows.
    Candidate,
    /// The sender's RST after its own unanswered probes: it gave up.
    GiveUp,
    /// The sender's RST answering the other side's probe: it lost the connection.
    PeerReset,
    /// The peer's ACK answering the other side's outstanding probe.
    Reply,
    /// Anything else.
    Other,
}

/// Classifies `seg`, sent by the side `tx` to the side `rx`.
#[inline]
pub(crate) fn classify(seg: &Segment, tx: &SideView, rx: &SideView) -> Class {
    let f = seg.flags;
    if f.syn() {
        return Class::Other;
    }
    // Item 19: a segment answering a SYN without acknowledging it (a
    // challenge ACK, an old duplicate of an earlier connection), and the SYN
    // sender's RST to it: no synchronised connection exists, so no keepalive.
    let unsynchronised = rx
        .syn_pending
        .is_some_and(|isn| !(f.ack() && seg.ack == isn + 1));
    if unsynchronised || (f.rst() && tx.syn_pending.is_some()) {
        return Class::Other;
    }
    if f.rst() {
        // Item 12: a peer that lost the connection answers with RST, no ACK,
        // at the probe's ack number. (A give-up is RST|ACK: when both sides
        // probe, its seq can equal the other side's probe ack too.)
        if !f.ack() && rx.outstanding_probe.is_some_and(|(_, ack)| seg.seq == ack) {
            return Class::PeerReset;
        }
        if tx
            .outstanding_probe
            .is_some_and(|(seq, _)| seg.seq == seq + 1)
        {
            return Class::GiveUp;
        }
        return Class::Other;
    }
    if f.fin() || !f.ack() {
        return Class::Other;
    }
    if seg.payload_len <= 1 {
        match tx.acked {
            // One below what the peer has acknowledged, with nothing outstanding
            // (item 1: no probe while data is unacknowledged).
            Some(acked) if seg.seq + 1 == acked && tx.snd_nxt.is_none_or(|n| n <= acked) => {
                // A keepalive timer sends only once the side has received
                // nothing for its idle, at least a second (whole seconds;
                // a gap that runs backwards says nothing). A byte resent
                // sooner is a retransmission whose acknowledgment was lost
                // past the capture point. (An empty segment is never a
                // retransmission: one that comes too soon is still
                // probe-shaped, and gives no timing: the prober's rule.)
                let too_soon = tx.quiet.is_some_and(|q| q.0 >= 0 && q < MIN_TIMER_GAP);
                return if rx.window == Some(0) {
                    Class::ZeroWindowProbe
                } else if seg.payload_len == 1 && (too_soon || backs_off(tx)) {
                    Class::Retransmission
                } else {
                    Class::Probe
                };
            }
            // Windows-style zero-window probe: one new byte into a closed window.
            Some(_)
                if seg.payload_len == 1 && rx.window == Some(0) && tx.snd_nxt == Some(seg.seq) =>
            {
                return Class::ZeroWindowProbe;
            }
            Some(_) => {}
            None if tx.snd_nxt.is_none_or(|n| seg.seq + 1 == n) => return Class::Candidate,
            None => {}
        }
    }
    // Item 12: the reply is the peer's ACK of snd_nxt, which is probe seq + 1,
    // carrying nothing new.
    if seg.payload_len == 0
        && rx
            .outstanding_probe
            .is_some_and(|(seq, _)| seg.ack == seq + 1)
    {
        return Class::Reply;
    }
    Class::Other
}

/// Whether the side's segment now follows its last copy of a retransmitted
/// byte as a retransmission timer's backoff would (a copy much later is a
/// keepalive probe of that byte, once the acknowledgment got through).
fn backs_off(tx: &SideView) -> bool {
    tx.retransmitting
        .zip(tx.since_sent)
        .is_some_and(|(bound, since)| since.0 >= 0 && since <= bound)
}

/// Item 3 when the answers the wire shows never reached the prober (lost
/// past the capture point): a prober that hears its answers never gives up
/// and waits a whole idle before its next probe (item 5). So probes after
/// a seen idle, at a steady spacing well under it, show that none of their
/// answers arrived; its RST at the last one's seq + 1, one such spacing
/// later, with nothing sent since and nothing but answers heard, is its
/// give-up (seen on Linux: idle 2 s, interval 1 s, three probes answered
/// on the wire 1 s apart, the RST 1 s after the third). Where the idle was
/// not seen, or the spacing is the idle's, nothing tells lost answers from
/// an application's abort: the RST stays an RST.
///
/// The peer's data the RST does not acknowledge was not heard either (the
/// RST acknowledges all the prober received): with its acknowledgment
/// where the last probe's was and the peer's data past it, what the peer
/// sent after the last answer (its data, resent; seen with a Redis client
/// whose requests were lost with the answers) went the answers' way.
pub(crate) fn gave_up_unheard(
    seg: &Segment,
    prober: &Prober,
    now: Tick,
    since_sent: Option<Span>,
    (last_rx, peer_snd_nxt): (Option<Tick>, Option<SeqNumber>),
) -> bool {
    let Some(last) = prober.last() else {
        return false;
    };
    let Some(UnheardRun { probes, lo, hi, .. }) = prober.unheard_run() else {
        return false;
    };
    let gap = now - last.ts;
    let steady = |g: Span| g.0 * 100 >= lo.0 * 97 && g.0 * 100 <= hi.0 * 115;
    let heard_only_answers = last_rx.is_some_and(|rx| Some(rx) == prober.last_answer())
        || (seg.flags.ack()
            && seg.ack == last.ack
            && peer_snd_nxt.is_some_and(|n| n > seg.ack)
            && prober.last_answer().is_some());
    seg.flags.rst()
        && !prober.outstanding
        && seg.seq == last.seq + 1
        && since_sent == Some(gap)
        && heard_only_answers
        && probes >= 2
        && lo >= MIN_TIMER_GAP
        && steady(gap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::{Endpoint, PayloadHead, TcpFlags, Vlan};
    use crate::time::Timestamp;

    const A: u8 = TcpFlags::ACK;
    const R: u8 = TcpFlags::RST;

    fn seg(flags: u8, seq: u32, ack: u32, len: u32) -> Segment {
        let e = Endpoint::new([198, 18, 0, 1].into(), 1);
        Segment {
            frame: 1,
            ts: Timestamp(0),
            src: e,
            dst: e,
            vlan: Vlan::NONE,
            seq: SeqNumber(seq),
            ack: SeqNumber(ack),
            flags: TcpFlags(flags),
            window: 100,
            payload_len: len,
            sack: None,
            head: PayloadHead::EMPTY,
            ip_id: 0,
            tsval: 0,
        }
    }

    fn side(snd_nxt: u32, acked: u32, window: u16) -> SideView {
        SideView {
            snd_nxt: Some(SeqNumber(snd_nxt)),
            acked: Some(SeqNumber(acked)),
            window: Some(window),
            outstanding_probe: None,
            syn_pending: None,
            ..SideView::default()
        }
    }

    /// `s`, having last received something `ms` milliseconds ago.
    fn quiet(s: SideView, ms: i64) -> SideView {
        SideView {
            quiet: Some(Span(ms * 1_000_000)),
            ..s
        }
    }

    #[test]
    fn table() {
        let idle = side(1000, 1000, 500);
        let peer = side(7000, 7000, 500);
        let closed_peer = side(7000, 7000, 0);
        let with_probe = |mut s: SideView, seq: u32, ack: u32| {
            s.outstanding_probe = Some((SeqNumber(seq), SeqNumber(ack)));
            s
        };
        let unknown = SideView::default();
        let cases: &[(&str, Segment, SideView, SideView, Class)] = &[
            (
                "linux 0-byte probe",
                seg(A, 999, 7000, 0),
                idle,
                peer,
                Class::Probe,
            ),
            (
                "windows 1-byte probe",
                seg(A, 999, 7000, 1),
                idle,
                peer,
                Class::Probe,
            ),
            (
                "... a second after the sender last received",
                seg(A, 999, 7000, 1),
                quiet(idle, 1_000),
                peer,
                Class::Probe,
            ),
            (
                "the byte resent 0.2 s after: a retransmission (item 10)",
                seg(A, 999, 7000, 1),
                quiet(idle, 200),
                peer,
                Class::Retransmission,
            ),
            (
                "... and its later copies, as the timer backs off",
                seg(A, 999, 7000, 1),
                SideView {
                    retransmitting: Some(Span(5_000_000_000)),
                    since_sent: Some(Span(3_000_000_000)),
                    ..quiet(idle, 3_000)
                },
                peer,
                Class::Retransmission,
            ),
            (
                "... but not a copy long after the backoff: a probe again",
                seg(A, 999, 7000, 1),
                SideView {
                    retransmitting: Some(Span(5_000_000_000)),
                    since_sent: Some(Span(7_200_000_000_000)),
                    ..quiet(idle, 7_200_000)
                },
                peer,
                Class::Probe,
            ),
            (
                "an empty probe that soon is still probe-shaped",
                seg(A, 999, 7000, 0),
                quiet(idle, 200),
                peer,
                Class::Probe,
            ),
            (
                "a clock that ran backwards says nothing",
                seg(A, 999, 7000, 1),
                quiet(idle, -200),
                peer,
                Class::Probe,
            ),
            (
                "probe across the wrap",
                seg(A, u32::MAX, 7000, 0),
                side(0, 0, 9),
                peer,
                Class::Probe,
            ),
            (
                "plain ack at snd_nxt",
                seg(A, 1000, 7000, 0),
                idle,
                peer,
                Class::Other,
            ),
            (
                "zero-window probe (item 9)",
                seg(A, 999, 7000, 0),
                idle,
                closed_peer,
                Class::ZeroWindowProbe,
            ),
            (
                "windows zero-window probe",
                seg(A, 1000, 7000, 1),
                idle,
                closed_peer,
                Class::ZeroWindowProbe,
            ),
            // Item 19: the peer's SYN is unanswered: a bare ACK that does not
            // acknowledge it is a challenge ACK, not a keepalive...
            (
                "challenge ACK to an unanswered SYN",
                seg(A, 999, 7000, 0),
                idle,
                SideView {
                    syn_pending: Some(SeqNumber(4000)),
                    ..unknown
                },
                Class::Other,
            ),
            // ...and the SYN sender's RST to it is no peer reset.
            (
                "RST from the side whose SYN is unanswered",
                seg(R, 7000, 0, 0),
                SideView {
                    syn_pending: Some(SeqNumber(4000)),
                    ..peer
                },
                with_probe(idle, 999, 7000),
                Class::Other,
            ),
            // Item 10: a 1-byte retransmission: the byte was never acknowledged.
            (
                "1-byte retransmission",
                seg(A, 999, 7000, 1),
                side(1000, 999, 9),
                peer,
                Class::Other,
            ),
            // Item 1: no probe while data is outstanding.
            (
                "data outstanding",
                seg(A, 999, 7000, 0),
                side(1500, 1000, 9),
                peer,
                Class::Other,
            ),
            (
                "2 bytes is data",
                seg(A, 998, 7000, 2),
                idle,
                peer,
                Class::Other,
            ),
            (
                "fin is not a probe",
                seg(A | TcpFlags::FIN, 999, 7000, 0),
                idle,
                peer,
                Class::Other,
            ),
            (
                "mid-capture candidate",
                seg(A, 999, 7000, 0),
                unknown,
                unknown,
                Class::Candidate,
            ),
            (
                "mid-capture, not one behind",
                seg(A, 1000, 7000, 0),
                side(1000, 0, 9).with_acked(None),
                peer,
                Class::Other,
            ),
            (
                "reply to peer's probe",
                seg(A, 1000, 7000, 0),
                idle,
                with_probe(peer, 6999, 1000),
                Class::Reply,
            ),
            (
                "peer's probe is no reply (item 6)",
                seg(A, 999, 7000, 0),
                idle,
                with_probe(peer, 6999, 1000),
                Class::Probe,
            ),
            (
                "peer reset (item 12)",
                seg(R, 1000, 0, 0),
                idle,
                with_probe(peer, 6999, 1000),
                Class::PeerReset,
            ),
            (
                "give-up (item 13)",
                seg(R | A, 1000, 7000, 0),
                with_probe(idle, 999, 7000),
                peer,
                Class::GiveUp,
            ),
            ("unrelated reset", seg(R, 5, 0, 0), idle, peer, Class::Other),
            // Both sides probing: the give-up's seq is also the peer's probe ack.
            (
                "give-up, not a peer reset",
                seg(R | A, 1000, 7000, 0),
                with_probe(idle, 999, 7000),
                with_probe(peer, 6999, 1000),
                Class::GiveUp,
            ),
            (
                "an abort with ACK is no answer",
                seg(R | A, 1000, 7000, 0),
                idle,
                with_probe(peer, 6999, 1000),
                Class::Other,
            ),
        ];
        for (name, s, tx, rx, want) in cases {
            assert_eq!(classify(s, tx, rx), *want, "{name}");
        }
    }

    impl SideView {
        fn with_acked(mut self, acked: Option<SeqNumber>) -> Self {
            self.acked = acked;
            self
        }
    }
}
