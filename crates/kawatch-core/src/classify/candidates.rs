//! Mid-capture candidates: keepalive-shaped segments whose meaning the
//! capture cannot show yet, because it started after the peer's last ACK for
//! the sender (item 18). [`classify`](super::classify) calls a segment a
//! [`Class::Candidate`](super::Class::Candidate); the rules here decide, from
//! what follows, whether the candidates were probes. The analyser only
//! applies the verdicts.

use crate::prober::MIN_TIMER_GAP;
use crate::segment::Segment;
use crate::seq::SeqNumber;
use crate::time::Timestamp;

/// A keepalive-shaped segment sent before the peer's ACK for this side was
/// seen (capture started mid-connection), waiting for what follows to decide.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Candidate {
    /// Frame number.
    pub(crate) frame: u64,
    /// Capture timestamp.
    pub(crate) ts: Timestamp,
    /// Sequence number.
    pub(crate) seq: SeqNumber,
    /// Acknowledgment number.
    pub(crate) ack: SeqNumber,
    /// Payload length (0 or 1).
    pub(crate) len: u8,
}

/// Candidates held per side; more than this are not needed to see a steady spacing.
pub(crate) const MAX_CANDIDATES: usize = 6;

/// One side's undecided candidates, oldest first.
#[derive(Clone, Debug, Default)]
pub(crate) struct Pending {
    cands: [Candidate; MAX_CANDIDATES],
    len: usize,
}

impl Pending {
    /// The candidates, oldest first.
    pub(crate) fn as_slice(&self) -> &[Candidate] {
        &self.cands[..self.len]
    }

    /// Adds one; when full, the oldest is returned to be let go.
    pub(crate) fn push(&mut self, c: Candidate) -> Option<Candidate> {
        let dropped = if self.len == MAX_CANDIDATES {
            let first = self.cands[0];
            self.cands.copy_within(1.., 0);
            self.len -= 1;
            Some(first)
        } else {
            None
        };
        self.cands[self.len] = c;
        self.len += 1;
        dropped
    }
}

/// What the segment that follows says about a side's candidates.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Verdict {
    /// Nothing yet: keep waiting.
    Wait,
    /// They were probes (zero-window probes when the peer's window was 0).
    Probes {
        /// The peer's window was 0: persist-timer probes, not keepalives.
        zero_window: bool,
    },
    /// They were ordinary segments.
    NotProbes,
    /// A lone 1-byte candidate acknowledged at seq + 1 without a D-SACK: it
    /// reads as new data, unless the same byte comes again later, at a
    /// timer's spacing, when it proves to have been a Windows-style 1-byte
    /// probe (item 21).
    LoneByte,
}

/// The sender's own candidates (oldest first), in the light of what it
/// sends next: a repeat waits; its RST at candidate seq + 1 (a give-up, item
/// 13) or its next segment at seq + 1 after a 0-byte candidate shows they sat
/// one below snd_nxt: probes, if a keepalive timer could have spaced them.
/// Anything else: they were not.
pub(crate) fn by_own_next(
    pending: &[Candidate],
    seg: &Segment,
    peer_window: Option<u16>,
) -> Verdict {
    let Some(&last) = pending.last() else {
        return Verdict::Wait;
    };
    let f = seg.flags;
    let plain = !f.rst() && !f.fin() && !f.syn();
    if plain && seg.seq == last.seq && seg.ack == last.ack && seg.payload_len == u32::from(last.len)
    {
        return Verdict::Wait; // a repeat: classified as a candidate again
    }
    let give_up = f.rst() && seg.seq == last.seq + 1;
    let next_after_empty = !f.rst() && last.len == 0 && seg.seq == last.seq + 1;
    if give_up || next_after_empty {
        probes(pending, peer_window == Some(0))
    } else {
        Verdict::NotProbes
    }
}

/// The receiver's candidates (oldest first), in the light of the peer's ACK
/// or RST: an ACK of candidate seq + 1 (with a D-SACK for a 1-byte one)
/// answers a probe (item 12); an RST without ACK at the candidate's ack
/// number is a peer that lost the connection. Either makes them probes, if a
/// keepalive timer could have spaced them. An ACK of a lone 1-byte candidate
/// without a D-SACK leaves it open ([`Verdict::LoneByte`]). Any other ACK or
/// RST: they were not probes.
pub(crate) fn by_peer_answer(pending: &[Candidate], seg: &Segment) -> Verdict {
    let Some(&last) = pending.last() else {
        return Verdict::Wait;
    };
    let f = seg.flags;
    let answers = !f.rst() && f.ack() && seg.ack == last.seq + 1;
    let acked = answers && (last.len == 0 || seg.sack == Some((last.seq, last.seq + 1)));
    let reset = f.rst() && !f.ack() && seg.seq == last.ack && last.len == 0;
    if acked || reset {
        probes(pending, acked && seg.window == 0)
    } else if answers && last.len == 1 && pending.len() == 1 {
        Verdict::LoneByte
    } else if f.ack() || f.rst() {
        Verdict::NotProbes
    } else {
        Verdict::Wait
    }
}

/// Probes, unless their spacing rules out a keepalive timer (zero-window
/// probes back off, so for them it does not).
fn probes(pending: &[Candidate], zero_window: bool) -> Verdict {
    if zero_window || timer_spaced(pending) {
        Verdict::Probes { zero_window }
    } else {
        Verdict::NotProbes
    }
}

/// Item 20: whether a keepalive timer could have spaced these repeats. Its
/// interval is whole seconds (TCP_KEEPINTVL >= 1) and steady; a gap under
/// [`MIN_TIMER_GAP`], or gaps that keep doubling, are a retransmission's or a
/// zero-window probe's backoff, whatever later acknowledges them.
pub(crate) fn timer_spaced(c: &[Candidate]) -> bool {
    let gap = |a: &Candidate, b: &Candidate| (b.ts - a.ts).0;
    if c.windows(2).any(|w| gap(&w[0], &w[1]) < MIN_TIMER_GAP.0) {
        return false;
    }
    // Three gaps at least: one doubled gap alone may be a probe the capture
    // missed.
    let doubling = c.len() >= 4
        && c.windows(3)
            .all(|w| gap(&w[1], &w[2]) as f64 >= 1.6 * gap(&w[0], &w[1]) as f64);
    !doubling
}

/// Item 18: unanswered probes repeat the same seq/ack at a steady spacing.
/// Three in a row, timer-spaced and steady (not doubling like a zero-window
/// or retransmission backoff, item 20), are probes.
pub(crate) fn steady(c: &[Candidate]) -> bool {
    if c.len() < 3 {
        return false;
    }
    let (min, max) = c
        .windows(2)
        .map(|w| (w[1].ts - w[0].ts).0)
        .fold((i64::MAX, 0), |(lo, hi), g| (lo.min(g), hi.max(g)));
    min >= MIN_TIMER_GAP.0 && max as f64 <= 1.5 * min as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    fn at(times: &[f64]) -> Vec<Candidate> {
        times
            .iter()
            .map(|&t| Candidate {
                ts: Timestamp::from_secs_f64(t),
                ..Candidate::default()
            })
            .collect()
    }

    #[test]
    fn timer_spacing() {
        let cases: &[(&str, &[f64], bool)] = &[
            ("one alone", &[0.0], true),
            ("steady 75 s", &[0.0, 75.1, 150.2, 225.3], true),
            ("steady 1 s, a little late", &[0.0, 1.02, 2.05], true),
            (
                "retransmission backoff from 200 ms",
                &[0.0, 0.2, 0.6, 1.4],
                false,
            ),
            ("doubling above a second", &[0.0, 1.6, 4.8, 11.2], false),
            ("any gap under a second", &[0.0, 5.0, 5.3], false),
            (
                "one gap doubled: a probe the capture missed",
                &[0.0, 75.0, 225.0],
                true,
            ),
        ];
        for (name, times, want) in cases {
            assert_eq!(timer_spaced(&at(times)), *want, "{name}");
        }
    }
}
