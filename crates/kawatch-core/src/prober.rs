//! Per-prober keepalive timing: what one side's probes tell about its
//! idle time, interval and probe count (KEEPALIVE-FACTS items 2-8, 12-13).
//!
//! State is fixed-size: counters, the last probe, and two bounded rings of
//! gaps in milliseconds. Nothing here grows with the number of packets.

use crate::seq::SeqNumber;
use crate::time::{OptSpan, OptTick, Span, Tick};

/// Gaps shorter than this cannot come from a keepalive timer: configured
/// values are whole seconds and timers never fire early. (The capture
/// timestamps may jitter a little, hence not exactly 1 s.)
pub(crate) const MIN_TIMER_GAP: Span = Span(900_000_000);

/// How a prober's probing has ended so far.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema),
    serde(rename_all = "snake_case")
)]
pub enum Outcome {
    /// The peer was heard after the last probe: its answer, or other
    /// traffic (the answer itself may be missing from the capture).
    Alive,
    /// Unanswered probes are outstanding.
    Probing,
    /// The prober gave up: it sent an RST after unanswered probes.
    Dead,
    /// The peer answered a probe with RST: it had lost the connection.
    Reset,
}

impl Outcome {
    /// The word reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Alive => "alive",
            Outcome::Probing => "probing",
            Outcome::Dead => "dead",
            Outcome::Reset => "reset",
        }
    }
}

/// Gaps a [`GapRing`] keeps.
const GAPS: usize = 14;

/// A bounded ring of gaps in milliseconds; keeps the most recent [`GAPS`].
/// Packed to 2-byte alignment (58 bytes, not 60): the gaps are copied out
/// and back, never borrowed.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C, packed(2))]
pub(crate) struct GapRing {
    gaps: [u32; GAPS],
    len: u8,
    next: u8,
}

impl GapRing {
    /// Records a gap.
    pub(crate) fn push(&mut self, gap: Span) {
        self.push_millis(gap.as_millis_u32());
    }

    /// Records a gap of `ms` milliseconds.
    fn push_millis(&mut self, ms: u32) {
        let mut gaps = self.gaps;
        gaps[self.next as usize] = ms;
        self.gaps = gaps;
        self.next = (self.next + 1) % GAPS as u8;
        self.len = (self.len + 1).min(GAPS as u8);
    }

    /// Takes back the latest gap recorded (in milliseconds), if any is held.
    fn pop(&mut self) -> Option<u32> {
        if self.len == 0 {
            return None;
        }
        self.next = (self.next + GAPS as u8 - 1) % GAPS as u8;
        self.len -= 1;
        let gaps = self.gaps;
        Some(gaps[self.next as usize])
    }

    /// The shortest and longest of the latest `n` gaps (of those held),
    /// none when `n` is 0.
    fn latest(&self, n: usize) -> Option<(Span, Span)> {
        let n = n.min(usize::from(self.len));
        let gaps = self.gaps;
        let ms = (1..=n).map(|back| gaps[(usize::from(self.next) + GAPS - back) % GAPS]);
        let lo = ms.clone().min()?;
        let hi = ms.max()?;
        Some((Span::from_millis(lo), Span::from_millis(hi)))
    }

    /// The latest `n` gaps held, in milliseconds, the newest first.
    fn newest(&self, n: usize) -> impl Iterator<Item = u32> {
        let n = n.min(usize::from(self.len));
        let (gaps, next) = (self.gaps, usize::from(self.next));
        (1..=n).map(move |back| gaps[(next + GAPS - back) % GAPS])
    }

    /// Whether no gap is held.
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Median in seconds (lower median for an even count: timers are late, not early).
    pub(crate) fn median_secs(&self) -> Option<f64> {
        if self.len == 0 {
            return None;
        }
        let mut v = self.gaps;
        let held = &mut v[..self.len as usize];
        held.sort_unstable();
        Some(held[(held.len() - 1) / 2] as f64 / 1e3)
    }
}

/// What happened to a prober, kept for the timeline of a detail view.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mark {
    /// A probe was sent.
    Probe,
    /// The peer answered with an ACK (or any other activity).
    Answer,
    /// The peer answered with RST.
    PeerReset,
    /// The prober gave up.
    GiveUp,
}

/// The probes of a give-up whose answers, seen on the wire, never reached
/// the prober ([`Prober::unheard_run`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct UnheardRun {
    /// Probes in the run (their gaps are one fewer).
    pub probes: u16,
    /// The shortest and longest gap between them.
    pub lo: Span,
    pub hi: Span,
    /// Whether it is the whole quiet run (its idle seen before it).
    pub whole: bool,
}

/// A give-up: the prober's RST after a run of unanswered probes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct GiveUp {
    /// When the RST was sent.
    pub ts: Tick,
    /// Unanswered probes seen in the run before it.
    pub probes: u32,
    /// When the run's first probe was sent.
    pub run_start: Tick,
    /// Activity before the run was seen: the whole run is in the capture.
    pub run_start_seen: bool,
    /// Detection time: last activity received to the give-up.
    pub detection: Option<Span>,
}

/// The last probe sent.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LastProbe {
    /// When it was sent.
    pub ts: Tick,
    /// Its sequence number (snd_una - 1).
    pub seq: SeqNumber,
    /// Its acknowledgment number (the prober's rcv_nxt).
    pub ack: SeqNumber,
}

/// One side's keepalive record.
#[derive(Clone, Debug, Default)]
pub(crate) struct Prober {
    /// Probes sent: the record is this side's keepalive record once one
    /// was ([`Side::prober`](crate::flow::Side::prober)).
    pub sent: u32,
    /// Zero-window probes this side sent: not keepalives, counted beside
    /// them, whether or not the side ever sent one.
    pub zero_window_probes: u32,
    /// Probes answered by the peer's ACK.
    pub answered: u32,
    /// The earliest probe's timestamp ([`Prober::first_probe`]).
    first_probe: OptTick,
    /// The latest probe's timestamp (not always the last one's: clocks step
    /// back, merged files interleave).
    last_probe: OptTick,
    /// The last probe sent, in capture order ([`Prober::last`]): when
    /// (none before the first), its sequence and acknowledgment numbers.
    last_ts: OptTick,
    last_seq: SeqNumber,
    last_ack: SeqNumber,
    /// Whether the last probe is still unanswered.
    pub outstanding: bool,
    /// Whether its probes carry a byte (Windows, old BSD: item 14), which
    /// tells its stack (`analyzer::idle_clock`).
    pub one_byte: bool,
    /// Consecutive unanswered probes in the current run.
    pub run: u32,
    /// The longest run seen, counting the probe that ended it answered:
    /// each was sent with the ones before it out, so the probe count
    /// before a give-up is at least this.
    longest_run: u16,
    /// Probes sent sooner after the last activity it received than a
    /// keepalive timer fires ([`MIN_TIMER_GAP`]): keepalive-shaped, but no
    /// idle timer's (an SSH client's empty ACKs one byte behind, a spliced
    /// trace); a prober all of whose probes came so soon shows no timer.
    too_soon: u16,
    /// When the current run's first probe was sent.
    run_start: OptTick,
    /// Whether activity was seen before the current run's first probe, so no
    /// earlier probe of the run can have gone unseen.
    pub run_start_seen: bool,
    /// Smallest idle observed: first probe of an episode minus the last
    /// activity received (other than the reply to this side's own probe).
    idle_min: OptSpan,
    /// Probes since the last activity received other than their answers,
    /// how many of the gaps between them went to `cadence` (the latest
    /// there), when the first of them was sent and that activity (when
    /// seen): what a give-up counts when the answers the wire shows never
    /// reached the prober ([`crate::classify::gave_up_unheard`]).
    quiet_run: u16,
    quiet_cadence: u8,
    quiet_start: OptTick,
    quiet_rx: OptTick,
    /// Spacing of consecutive unanswered probes.
    pub intvl: GapRing,
    /// Spacing of probes that follow an answered probe with nothing heard since the reply.
    pub cadence: GapRing,
    /// When the last answer arrived.
    last_answer: OptTick,
    /// Give-up: when, after how many unanswered probes, when that run began,
    /// whether activity before the run was seen, and the detection time
    /// (boxed: most probers never give up).
    pub gave_up: Option<Box<GiveUp>>,
    /// Whether the peer answered with RST.
    peer_reset: bool,
    /// Recent marks, for a detail view: kept only when asked for
    /// ([`Prober::keep_timeline`]), as a report shows none.
    timeline: Option<Box<Timeline>>,
}

/// A prober's recent marks, oldest first once full (a ring of the last 16):
/// their times and marks, 9 bytes a mark.
#[derive(Clone, Debug, Default)]
struct Timeline {
    ts: [Tick; 16],
    marks: [Option<Mark>; 16],
    next: u8,
}

impl Prober {
    /// A probe was sent at `ts`; `last_rx` is the last activity this side received.
    pub(crate) fn on_probe(
        &mut self,
        ts: Tick,
        seq: SeqNumber,
        ack: SeqNumber,
        last_rx: Option<Tick>,
    ) {
        // Nothing but answers heard since the previous probe: the quiet run
        // goes on.
        let quiet =
            self.outstanding || (self.last_answer().is_some() && last_rx == self.last_answer());
        if self.last().is_some() && quiet {
            self.quiet_run = self.quiet_run.saturating_add(1);
        } else {
            self.quiet_run = 1;
            self.quiet_cadence = 0;
            self.quiet_start = OptTick::some(ts);
            self.quiet_rx = last_rx
                .filter(|&rx| rx < ts)
                .map_or(OptTick::default(), OptTick::some);
        }
        match self.last() {
            Some(prev) if self.outstanding => {
                // A gap that runs backwards (the clock stepped back) is no
                // timer's: like a sub-second one, it is not measured.
                let gap = ts - prev.ts;
                if gap >= MIN_TIMER_GAP {
                    self.intvl.push(gap);
                }
                self.run += 1;
            }
            prev => {
                // A cadence gap is one where the reply was the last thing heard:
                // anything later restarted the idle clock.
                let heard_only_reply =
                    self.last_answer().is_some() && last_rx == self.last_answer();
                if let Some(prev) = prev.filter(|_| heard_only_reply) {
                    let gap = ts - prev.ts;
                    if gap >= MIN_TIMER_GAP {
                        self.cadence.push(gap);
                        self.quiet_cadence = self.quiet_cadence.saturating_add(1);
                    }
                }
                // Idle is measured from activity, not from the reply to our own
                // previous probe: that gap is max(idle, intvl) (item 5).
                if let Some(rx) = last_rx.filter(|&rx| rx < ts && !heard_only_reply) {
                    let idle = ts - rx;
                    if idle >= MIN_TIMER_GAP {
                        let min = self.idle_min().map_or(idle, |m| m.min(idle));
                        self.idle_min = Some(min).into();
                    }
                }
                self.run = 1;
                self.run_start = OptTick::some(ts);
                self.run_start_seen = last_rx.is_some_and(|rx| rx < ts);
            }
        }
        self.longest_run = self
            .longest_run
            .max(u16::try_from(self.run).unwrap_or(u16::MAX));
        self.sent += 1;
        self.first_probe = OptTick::some(self.first_probe().map_or(ts, |f| f.min(ts)));
        self.last_probe = OptTick::some(self.last_probe().map_or(ts, |l| l.max(ts)));
        (self.last_ts, self.last_seq, self.last_ack) = (OptTick::some(ts), seq, ack);
        self.outstanding = true;
        self.mark(ts, Mark::Probe);
    }

    /// The peer answered the outstanding probe (any accepted segment does).
    pub(crate) fn on_answer(&mut self, ts: Tick) {
        if self.outstanding {
            self.answered += 1;
            self.outstanding = false;
            self.run = 0;
            self.last_answer = OptTick::some(ts);
            self.mark(ts, Mark::Answer);
        }
    }

    /// Other activity from the peer after a probe: not a reply, but the
    /// kernel's probe count starts again (probes_out = 0).
    pub(crate) fn on_activity(&mut self) {
        if self.outstanding {
            self.outstanding = false;
            self.run = 0;
        }
    }

    /// The peer answered a probe with RST.
    pub(crate) fn on_peer_reset(&mut self, ts: Tick) {
        self.outstanding = false;
        self.peer_reset = true;
        self.mark(ts, Mark::PeerReset);
    }

    /// The prober sent its RST after unanswered probes: those the wire
    /// shows unanswered, or, when the last was answered on the wire, its
    /// whole quiet run (the answers never reached it).
    pub(crate) fn on_give_up(&mut self, ts: Tick, last_rx: Option<Tick>) {
        let unheard = (!self.outstanding).then(|| self.unheard_run()).flatten();
        let (probes, start, seen, last_rx) = match unheard {
            None if self.outstanding => (self.run, self.run_start, self.run_start_seen, last_rx),
            // The answers never reached it: the gaps after them were its
            // interval's.
            Some(UnheardRun {
                probes,
                whole: false,
                ..
            }) => {
                // Only the run's last probes: the one before them was
                // heard, its answer the last thing the prober received
                // (not in the capture's terms: no detection time).
                let mut spent = 0i64;
                for _ in 1..probes {
                    if let Some(ms) = self.cadence.pop() {
                        self.intvl.push_millis(ms);
                        spent += i64::from(ms) * 1_000_000;
                    }
                }
                self.quiet_cadence = self.quiet_cadence.saturating_sub((probes - 1) as u8);
                let first = self.last_ts.get().map(|t| Tick(t.0 - spent));
                (
                    u32::from(probes),
                    first.map_or(OptTick::default(), OptTick::some),
                    true,
                    None,
                )
            }
            _ => {
                for _ in 0..self.quiet_cadence {
                    if let Some(ms) = self.cadence.pop() {
                        self.intvl.push_millis(ms);
                    }
                }
                self.quiet_cadence = 0;
                let rx = self.quiet_rx.get();
                (
                    u32::from(self.quiet_run),
                    self.quiet_start,
                    rx.is_some(),
                    rx,
                )
            }
        };
        self.gave_up = Some(Box::new(GiveUp {
            ts,
            probes,
            run_start: start.get().unwrap_or(ts),
            run_start_seen: seen,
            detection: last_rx.filter(|&rx| rx < ts).map(|rx| ts - rx),
        }));
        self.mark(ts, Mark::GiveUp);
    }

    /// The last probe sent, in capture order.
    #[inline]
    pub(crate) fn last(&self) -> Option<LastProbe> {
        self.last_ts.get().map(|ts| LastProbe {
            ts,
            seq: self.last_seq,
            ack: self.last_ack,
        })
    }

    /// The quiet run's length, and the shortest and longest of its gaps
    /// when each was a probe's after an answer (as many as `cadence` holds).
    pub(crate) fn quiet_run(&self) -> (u16, Option<(Span, Span)>) {
        let gaps = u16::from(self.quiet_cadence);
        let answered = gaps + 1 == self.quiet_run;
        let lo_hi = self
            .cadence
            .latest(usize::from(self.quiet_cadence))
            .filter(|_| answered);
        (self.quiet_run, lo_hi)
    }

    /// The probes at the end of the quiet run whose answers, seen on the
    /// wire, never reached the prober, as their spacing shows: a prober
    /// that hears its answer waits a whole idle before its next probe (item
    /// 5), one that does not waits its interval. The whole run when its
    /// gaps are steady and well under the idle seen before it; else its
    /// newest steady gaps, when the gap before them is well over them (the
    /// idle after an answer that arrived: answered probes at the idle's
    /// beat, then the answers lost and probes at the interval's).
    pub(crate) fn unheard_run(&self) -> Option<UnheardRun> {
        let steady = |lo: u32, hi: u32| u64::from(hi) * 100 <= u64::from(lo) * 115;
        let well_under = |hi: u32, idle: Span| i64::from(hi) * 1_125_000 < idle.0;
        let (run, gaps) = self.quiet_run();
        if let (Some((lo, hi)), Some(idle)) = (gaps, self.quiet_idle()) {
            if steady(lo.as_millis_u32(), hi.as_millis_u32())
                && well_under(hi.as_millis_u32(), idle)
            {
                return Some(UnheardRun {
                    probes: run,
                    lo,
                    hi,
                    whole: true,
                });
            }
        }
        // (Only where every gap of the run is a probe's after an answer.)
        gaps?;
        let mut newest = self.cadence.newest(usize::from(self.quiet_cadence));
        let first = newest.next()?;
        let (mut lo, mut hi, mut n) = (first, first, 1u16);
        for g in newest {
            if steady(lo.min(g), hi.max(g)) {
                (lo, hi, n) = (lo.min(g), hi.max(g), n + 1);
                continue;
            }
            // The gap before the tail: an idle's, after an answer heard.
            return well_under(hi, Span::from_millis(g)).then(|| UnheardRun {
                probes: n + 1,
                lo: Span::from_millis(lo),
                hi: Span::from_millis(hi),
                whole: false,
            });
        }
        None
    }

    /// The least its probe count before a give-up can be: its longest run
    /// of probes each sent with the ones before it unanswered, or its
    /// give-up's.
    pub(crate) fn probes_at_least(&self) -> u32 {
        let give_up = self.gave_up.as_ref().map_or(0, |g| g.probes);
        u32::from(self.longest_run).max(give_up)
    }

    /// Counts the probe just sent as sent sooner after the last activity
    /// it received than a keepalive timer fires.
    pub(crate) fn note_too_soon(&mut self) {
        self.too_soon = self.too_soon.saturating_add(1);
    }

    /// Probes sent sooner after the last activity it received than a
    /// keepalive timer fires.
    pub(crate) fn too_soon(&self) -> u32 {
        u32::from(self.too_soon)
    }

    /// The idle before the quiet run, when the activity before it was seen.
    pub(crate) fn quiet_idle(&self) -> Option<Span> {
        Some(self.quiet_start.get()? - self.quiet_rx.get()?)
    }

    /// Smallest idle observed: first probe of an episode minus the last
    /// activity received (other than the reply to this side's own probe).
    pub(crate) fn idle_min(&self) -> Option<Span> {
        self.idle_min.get()
    }

    /// Detection time: last activity received to the give-up.
    pub(crate) fn detection(&self) -> Option<Span> {
        self.gave_up.as_ref()?.detection
    }

    /// The earliest probe's timestamp.
    pub(crate) fn first_probe(&self) -> Option<Tick> {
        self.first_probe.get()
    }

    /// The latest probe's timestamp (not always the last one's: clocks step
    /// back, merged files interleave).
    pub(crate) fn last_probe(&self) -> Option<Tick> {
        self.last_probe.get()
    }

    /// When the last answer arrived.
    pub(crate) fn last_answer(&self) -> Option<Tick> {
        self.last_answer.get()
    }

    /// Where the probing stands.
    pub(crate) fn outcome(&self) -> Outcome {
        if self.peer_reset {
            Outcome::Reset
        } else if self.gave_up.is_some() {
            Outcome::Dead
        } else if self.outstanding {
            Outcome::Probing
        } else {
            Outcome::Alive
        }
    }

    /// Keeps the recent marks from now on ([`Prober::timeline`]).
    pub(crate) fn keep_timeline(&mut self) {
        self.timeline.get_or_insert_with(Default::default);
    }

    /// The recent marks, oldest first (none unless kept).
    pub(crate) fn timeline(&self) -> impl Iterator<Item = (Tick, Mark)> + '_ {
        self.timeline.iter().flat_map(|t| {
            let n = t.marks.len();
            (0..n).filter_map(move |i| {
                let at = (t.next as usize + i) % n;
                t.marks[at].map(|m| (t.ts[at], m))
            })
        })
    }

    fn mark(&mut self, ts: Tick, mark: Mark) {
        if let Some(t) = self.timeline.as_deref_mut() {
            t.ts[t.next as usize] = ts;
            t.marks[t.next as usize] = Some(mark);
            t.next = (t.next + 1) % t.marks.len() as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: f64) -> Tick {
        Tick((1e9 * (1000.0 + secs)).round() as i64)
    }

    #[test]
    fn silent_peer_gives_intvl_idle_and_count() {
        // KEEPALIVE-FACTS item 4: idle 2, intvl 1, cnt 3, silent peer.
        let mut p = Prober::default();
        let rx = Some(t(0.0));
        for at in [2.00, 3.03, 4.06] {
            p.on_probe(t(at), SeqNumber(9), SeqNumber(5), rx);
        }
        p.on_give_up(t(5.08), rx);
        assert_eq!(p.outcome(), Outcome::Dead);
        assert_eq!(
            p.gave_up.as_ref().map(|g| (g.probes, g.run_start_seen)),
            Some((3, true))
        );
        assert_eq!(
            p.idle_min().map(super::super::time::Span::as_millis_u32),
            Some(2000)
        );
        assert_eq!(p.intvl.median_secs(), Some(1.03));
        assert_eq!(
            p.detection().map(super::super::time::Span::as_millis_u32),
            Some(5080)
        );
    }

    #[test]
    fn answered_probes_give_cadence_not_intvl() {
        // Item 5: idle 2, intvl 3, peer alive: probes every ~3.07 s.
        let mut p = Prober::default();
        let mut rx = t(0.0);
        for at in [2.0, 5.07, 8.14] {
            p.on_probe(t(at), SeqNumber(9), SeqNumber(5), Some(rx));
            rx = t(at + 0.001);
            p.on_answer(rx);
        }
        assert_eq!(p.outcome(), Outcome::Alive);
        assert!(p.intvl.is_empty());
        assert_eq!(p.cadence.median_secs(), Some(3.07));
        assert_eq!(
            p.idle_min().map(super::super::time::Span::as_millis_u32),
            Some(2000)
        );
        assert_eq!(p.answered, 3);
    }

    #[test]
    fn a_reply_is_no_start_of_idle() {
        // idle 1, intvl 2, capture started mid-idle: the gap from a reply to
        // the next probe is the interval, not idle.
        let mut p = Prober::default();
        p.on_probe(t(0.0), SeqNumber(9), SeqNumber(5), None);
        p.on_answer(t(0.001));
        p.on_probe(t(2.02), SeqNumber(9), SeqNumber(5), Some(t(0.001)));
        assert_eq!(p.idle_min(), None);
        assert_eq!(p.cadence.median_secs(), Some(2.02));
    }

    #[test]
    fn sub_second_gaps_are_not_timer_gaps() {
        let mut p = Prober::default();
        p.on_probe(t(0.14), SeqNumber(1), SeqNumber(1), Some(t(0.0)));
        p.on_answer(t(0.15));
        p.on_probe(t(0.35), SeqNumber(1), SeqNumber(1), Some(t(0.15)));
        assert_eq!(p.idle_min(), None);
        assert!(p.cadence.is_empty());
    }

    #[test]
    fn a_clock_stepping_back_neither_inverts_the_range_nor_makes_an_interval() {
        // Unanswered probes 1.03 s apart; the clock steps back an hour
        // before the third, then runs on.
        let mut p = Prober::default();
        let rx = Some(t(0.0));
        for at in [2.0, 3.03, 4.06 - 3600.0, 5.09 - 3600.0] {
            p.on_probe(t(at), SeqNumber(9), SeqNumber(5), rx);
        }
        assert_eq!(
            (p.first_probe(), p.last_probe()),
            (Some(t(4.06 - 3600.0)), Some(t(3.03)))
        );
        assert_eq!(
            p.intvl.median_secs(),
            Some(1.03),
            "the backward gap is no interval"
        );
        assert_eq!(p.idle_min().map(Span::as_millis_u32), Some(2000));
        assert_eq!(p.run, 4);
    }

    #[test]
    fn timeline_keeps_the_last_sixteen_in_order() {
        let mut p = Prober::default();
        p.on_probe(t(0.0), SeqNumber(1), SeqNumber(1), None);
        assert_eq!(p.timeline().count(), 0, "none kept unless asked for");
        p.keep_timeline();
        for i in 0..20 {
            p.on_probe(t(i as f64 * 2.0), SeqNumber(1), SeqNumber(1), None);
        }
        let marks: Vec<_> = p.timeline().collect();
        assert_eq!(marks.len(), 16);
        assert_eq!(marks[0].0, t(8.0));
        assert_eq!(marks[15].0, t(38.0));
    }
}
