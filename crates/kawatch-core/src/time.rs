//! Capture time. The core never reads a clock: time enters only as each
//! packet's capture timestamp, so replay, live capture and tests run the same code.

use std::fmt;
use std::ops::Sub;

/// Nanoseconds in a second.
const NS: i128 = 1_000_000_000;

/// A capture timestamp: nanoseconds since the Unix epoch.
///
/// An `i128`, so every time a capture file can state keeps its nanoseconds:
/// pcapng's 64-bit timestamps reach past 2262, where `i64` nanoseconds end,
/// and two frames a nanosecond apart stay two frames. Differences between
/// timestamps are [`Span`]s (`i64`, ±292 years), which is all the timing needs.
///
/// Packed to 8-byte alignment, so the per-flow state holding timestamps is
/// not padded to 16-byte boundaries (where an `i128` alone would align).
/// The field cannot be borrowed, only copied: `{ ts.0 }`, not `&ts.0`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(C, packed(8))]
pub struct Timestamp(pub i128);

impl Timestamp {
    /// From seconds and nanoseconds, as libpcap hands them over (`nanos`
    /// may be out of 0..1e9; it is carried into the seconds).
    pub fn from_parts(secs: i64, nanos: i64) -> Timestamp {
        Timestamp(i128::from(secs) * NS + i128::from(nanos))
    }

    /// From nanoseconds since the epoch.
    pub const fn from_nanos(nanos: i64) -> Timestamp {
        Timestamp(nanos as i128)
    }

    /// From floating-point epoch seconds.
    pub fn from_secs_f64(secs: f64) -> Timestamp {
        Timestamp((secs * 1e9).round() as i128)
    }

    /// Epoch seconds as a float (what reports print).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// This timestamp moved by `secs` seconds.
    pub fn add_secs(self, secs: f64) -> Timestamp {
        Timestamp(self.0.saturating_add((secs * 1e9).round() as i128))
    }

    /// This timestamp moved by `span`.
    pub fn add_span(self, span: Span) -> Timestamp {
        Timestamp(self.0.saturating_add(i128::from(span.0)))
    }
}

impl Sub for Timestamp {
    type Output = Span;
    /// The signed difference, clamped to ±`i64::MAX` nanoseconds (±292
    /// years), so that `abs()` of any span is defined.
    #[inline]
    fn sub(self, rhs: Timestamp) -> Span {
        const MAX: i128 = i64::MAX as i128;
        // Timestamps from seconds and nanoseconds stay within ±2^94 ns, so
        // the difference cannot wrap but for made-up extremes.
        let d = self.0.wrapping_sub(rhs.0);
        Span(d.clamp(-MAX, MAX) as i64)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.6}", self.as_secs_f64())
    }
}

/// Epoch seconds with all nine digits of the nanoseconds, exactly
/// (`1700000000.002824000`; `-0.500000000` before the epoch), as
/// tshark's `frame.time_epoch` prints them.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = { self.0 };
        let sign = if ns < 0 { "-" } else { "" };
        let (secs, frac) = (
            ns.unsigned_abs() / 1_000_000_000,
            ns.unsigned_abs() % 1_000_000_000,
        );
        write!(f, "{sign}{secs}.{frac:09}")
    }
}

/// The analyser's time origin: its first segment's capture time. Per-flow
/// state holds times as [`Tick`]s from it, 8 bytes each rather than a
/// [`Timestamp`]'s 16, and every time converts back exactly.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) struct Epoch(Timestamp);

impl Epoch {
    /// The epoch at `ts`.
    pub(crate) fn at(ts: Timestamp) -> Epoch {
        Epoch(ts)
    }

    /// `ts` as nanoseconds from the epoch. Exact within 292 years of it;
    /// beyond, clamped to ±`i64::MAX` as every [`Span`] is (no capture
    /// spans that much: only a made-up file mixing such dates would).
    #[inline]
    pub(crate) fn tick(self, ts: Timestamp) -> Tick {
        Tick((ts - self.0).0)
    }

    /// Whether `ts` is within 146 years of the epoch, half a tick's
    /// range: a flow first seen then keeps exact times for 146 years more.
    #[inline]
    pub(crate) fn holds(self, ts: Timestamp) -> bool {
        (ts - self.0).0.unsigned_abs() <= (i64::MAX / 2) as u64
    }

    /// The capture time of a tick (the inverse of [`Epoch::tick`]).
    #[inline]
    pub(crate) fn time(self, t: Tick) -> Timestamp {
        self.0.add_span(Span(t.0))
    }
}

/// A capture time as nanoseconds from the analyser's [`Epoch`]: what a
/// flow's state stores.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug)]
pub(crate) struct Tick(pub(crate) i64);

impl Sub for Tick {
    type Output = Span;
    /// The signed difference, clamped to ±`i64::MAX` nanoseconds (as
    /// [`Timestamp`]'s).
    #[inline]
    fn sub(self, rhs: Tick) -> Span {
        Span(self.0.saturating_sub(rhs.0).max(-i64::MAX))
    }
}

/// An optional [`Tick`] in 8 bytes: `i64::MIN`, which [`Epoch::tick`]
/// never gives, is none.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct OptTick(i64);

impl Default for OptTick {
    fn default() -> OptTick {
        OptTick::NONE
    }
}

impl OptTick {
    /// None.
    pub(crate) const NONE: OptTick = OptTick(i64::MIN);

    /// `t`.
    #[inline]
    pub(crate) fn some(t: Tick) -> OptTick {
        debug_assert!(t.0 != i64::MIN);
        OptTick(t.0)
    }

    /// As an `Option`.
    #[inline]
    pub(crate) fn get(self) -> Option<Tick> {
        (self != OptTick::NONE).then_some(Tick(self.0))
    }
}

/// An optional [`Span`] in 8 bytes: `i64::MIN`, which no difference of
/// times gives (they clamp to ±`i64::MAX`), is none.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct OptSpan(i64);

impl Default for OptSpan {
    fn default() -> OptSpan {
        OptSpan(i64::MIN)
    }
}

impl From<Option<Span>> for OptSpan {
    #[inline]
    fn from(s: Option<Span>) -> OptSpan {
        OptSpan(s.map_or(i64::MIN, |s| s.0.max(-i64::MAX)))
    }
}

impl OptSpan {
    /// As an `Option`.
    #[inline]
    pub(crate) fn get(self) -> Option<Span> {
        (self.0 != i64::MIN).then_some(Span(self.0))
    }
}

/// A signed time difference in nanoseconds.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug)]
pub struct Span(pub i64);

impl Span {
    /// Seconds as a float.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// Whole milliseconds, clamped into `u32` (what per-prober history stores).
    pub fn as_millis_u32(self) -> u32 {
        (self.0 / 1_000_000).clamp(0, u32::MAX as i64) as u32
    }

    /// A span of `ms` milliseconds.
    pub(crate) fn from_millis(ms: u32) -> Span {
        Span(i64::from(ms) * 1_000_000)
    }
}

/// A duration in seconds as kawatch's options and policies take it:
/// seconds (`90`, `1.5`, `1e3`), or numbers each with a unit, `ms`, `s`,
/// `m`, `h` or `d`, added up (`250ms`, `2m`, `1h30m`, `1s500ms`; spaces
/// between them allowed). `None` when `text` is none of these, negative or
/// not finite; 0 is 0 (a caller that needs more says so).
pub fn parse_seconds(text: &str) -> Option<f64> {
    let text = text.trim();
    if let Ok(n) = text.parse::<f64>() {
        // (Not "inf" or "nan", which parse.)
        return (n.is_finite()
            && n >= 0.0
            && text.starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == '+'))
        .then_some(n);
    }
    let mut total = 0.0;
    let mut rest = text.strip_prefix('+').unwrap_or(text).trim_start();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        // A number: digits and a point, and an exponent.
        let b = rest.as_bytes();
        let mut end = b
            .iter()
            .take_while(|c| c.is_ascii_digit() || **c == b'.')
            .count();
        if matches!(b.get(end), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(b.get(end + 1), Some(b'+' | b'-')));
            if b.get(end + 1 + sign).is_some_and(u8::is_ascii_digit) {
                end += 1 + sign;
                end += b[end..].iter().take_while(|c| c.is_ascii_digit()).count();
            }
        }
        let number: f64 = rest[..end].parse().ok()?;
        rest = rest[end..].trim_start();
        let (unit, len) = if rest.starts_with("ms") {
            (0.001, 2)
        } else {
            match rest.as_bytes().first()? {
                b's' => (1.0, 1),
                b'm' => (60.0, 1),
                b'h' => (3_600.0, 1),
                b'd' => (86_400.0, 1),
                _ => return None,
            }
        };
        rest = rest[len..].trim_start();
        total += number * unit;
    }
    total.is_finite().then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2300-01-01T00:00:00Z.
    const Y2300: i64 = 10_413_792_000;

    #[test]
    fn times_after_2262_keep_their_nanoseconds() {
        let a = Timestamp::from_parts(Y2300, 5);
        let b = Timestamp::from_parts(Y2300, 6);
        assert!(a < b, "one nanosecond apart, in order");
        assert_eq!(b - a, Span(1));
        assert_eq!(a - b, Span(-1));
        assert_eq!(a.as_secs_f64(), Y2300 as f64);
        assert_eq!(
            Timestamp::from_parts(Y2300, 1_500_000_000),
            Timestamp::from_parts(Y2300 + 1, 500_000_000),
            "nanoseconds past a second carry"
        );
        assert_eq!(a.add_span(Span(1)), b);
    }

    #[test]
    fn timestamps_display_as_exact_epoch_seconds() {
        for (ns, text) in [
            (1_700_000_000_002_824_000i128, "1700000000.002824000"),
            (0, "0.000000000"),
            (-500_000_000, "-0.500000000"),
            (-1_000_000_001, "-1.000000001"),
            (20_000_000_000_000_000_001, "20000000000.000000001"),
        ] {
            assert_eq!(Timestamp(ns).to_string(), text);
        }
    }

    #[test]
    fn spans_clamp_and_stay_negatable() {
        let far = Timestamp::from_parts(i64::MAX, 0);
        let near = Timestamp::from_parts(i64::MIN, 0);
        assert_eq!(far - near, Span(i64::MAX));
        assert_eq!((near - far).0.checked_abs(), Some(i64::MAX));
    }

    #[test]
    fn ticks_convert_back_exactly_and_clamp_beyond_292_years() {
        let epoch = Epoch::at(Timestamp::from_parts(Y2300, 7));
        for ts in [
            Timestamp::from_parts(Y2300, 7),
            Timestamp::from_parts(Y2300 - 3600, 999_999_999),
            Timestamp::from_parts(Y2300 + 86_400 * 365 * 200, 1),
        ] {
            assert_eq!(epoch.time(epoch.tick(ts)), ts);
        }
        let far = epoch.tick(Timestamp::from_parts(i64::MAX, 0));
        let near = epoch.tick(Timestamp::from_parts(i64::MIN, 0));
        assert_eq!((far, near), (Tick(i64::MAX), Tick(-i64::MAX)));
        assert_eq!(OptTick::some(near).get(), Some(near), "never the none mark");
        assert_eq!(far - near, Span(i64::MAX));
        assert_eq!(near - far, Span(-i64::MAX));
    }

    #[test]
    fn the_layout_is_that_of_two_words() {
        assert_eq!(std::mem::align_of::<Timestamp>(), 8);
        assert_eq!(std::mem::size_of::<Timestamp>(), 16);
    }
}
