//! Text for durations, counts, settings and times: short, aligned, and
//! honest about what is a lower bound (`>`), an assumption (`~`), unknown
//! (`?`) or does not apply (`-`).

pub(crate) use crate::report::{NOT_APPLICABLE, UNKNOWN};
use jiff::tz::TimeZone;
use kawatch_core::likely_text;
use kawatch_core::Timestamp;
use kawatch_core::{ProberView, Snapshot};

/// A coarse duration for "how long ago" and countdowns: `0.4s`, `42s`,
/// `3m05s`, `2h05m`, `3d04h`.
pub(crate) fn coarse(secs: f64) -> String {
    let s = secs.max(0.0);
    if s < 10.0 {
        format!("{s:.1}s")
    } else if s < 60.0 {
        format!("{}s", s.floor() as u64)
    } else if s < 3600.0 {
        let t = s.floor() as u64;
        format!("{}m{:02}s", t / 60, t % 60)
    } else if s < 86_400.0 {
        let t = (s / 60.0).floor() as u64;
        format!("{}h{:02}m", t / 60, t % 60)
    } else {
        let t = (s / 3600.0).floor() as u64;
        format!("{}d{:02}h", t / 24, t % 24)
    }
}

/// An observed timing, in seconds with the precision it deserves:
/// `2.031s`, `75.02s`, `7200.4s`.
pub(crate) fn precise(secs: f64) -> String {
    if secs < 10.0 {
        format!("{secs:.3}s")
    } else if secs < 100.0 {
        format!("{secs:.2}s")
    } else if secs < 10_000.0 {
        format!("{secs:.1}s")
    } else {
        format!("{secs:.0}s")
    }
}

/// An optional observed timing; `?` when unknown.
pub(crate) fn precise_or_unknown(secs: Option<f64>) -> String {
    secs.map_or_else(|| UNKNOWN.into(), precise)
}

/// An optional count; `?` when unknown.
pub(crate) fn count_or_unknown(n: Option<u32>) -> String {
    n.map_or_else(|| UNKNOWN.into(), |n| n.to_string())
}

/// Seconds between two timestamps.
pub(crate) fn secs_between(later: Timestamp, earlier: Timestamp) -> f64 {
    (later - earlier).as_secs_f64()
}

/// How a screen writes capture timestamps: in a time zone, each at the
/// offset in force at its own instant (a June timestamp read in winter is
/// still at summer time), with the date when the capture spans days there.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock<'a> {
    zone: &'a TimeZone,
    dated: bool,
}

impl<'a> Clock<'a> {
    /// Times of `snap` in `zone`: dated when its first timestamp and its
    /// latest (or its clock, if later) fall on different days there.
    pub(crate) fn of(snap: &Snapshot, zone: &'a TimeZone) -> Clock<'a> {
        let last = match (snap.last_ts, snap.first_ts) {
            (Some(l), Some(_)) => Some(l.max(snap.now)),
            (l, _) => l,
        };
        Clock {
            zone,
            dated: spans_days(snap.first_ts, last, zone),
        }
    }

    /// `ts` as [`clock`] writes it.
    pub(crate) fn at(&self, ts: Timestamp) -> String {
        clock(ts, self.zone, self.dated)
    }
}

/// A capture timestamp in `zone` at the offset in force at that instant:
/// the time of day, `HH:MM:SS.mmm`, or with `dated` also the date,
/// `2026-06-01 14:03:07.123`. Milliseconds are cut, not rounded; a time
/// beyond the years -9999..=9999 is `?`.
pub(crate) fn clock(ts: Timestamp, zone: &TimeZone, dated: bool) -> String {
    let Ok(t) = jiff::Timestamp::from_nanosecond(ts.0) else {
        return UNKNOWN.into();
    };
    let dt = zone.to_datetime(t);
    let ms = dt.subsec_nanosecond() / 1_000_000;
    let time = format!(
        "{:02}:{:02}:{:02}.{ms:03}",
        dt.hour(),
        dt.minute(),
        dt.second()
    );
    if dated {
        format!("{:04}-{:02}-{:02} {time}", dt.year(), dt.month(), dt.day())
    } else {
        time
    }
}

/// Whether `first` and `last` fall on different days in `zone`.
pub(crate) fn spans_days(
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    zone: &TimeZone,
) -> bool {
    let day = |ts: Timestamp| {
        jiff::Timestamp::from_nanosecond(ts.0)
            .ok()
            .map(|t| zone.to_datetime(t).date())
    };
    match (first, last) {
        (Some(f), Some(l)) => day(f) != day(l),
        _ => false,
    }
}

/// A count with thousands separators: `1,234,567`.
pub(crate) fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A prober's likely settings, a range where two whole seconds fit what was
/// observed (`59-60s/?/?`).
pub(crate) fn observed_settings(p: &ProberView) -> String {
    let n = count_or_unknown(p.likely.probes);
    format!(
        "{}/{}/{n}",
        likely_text(p.idle_s, p.likely.idle_s),
        likely_text(p.intvl_s, p.likely.intvl_s)
    )
}

/// Likely settings with the OS default they match: one OS by name, several
/// as `default` (e.g. only the 7200 s idle is known).
pub(crate) fn settings_with_os(p: &ProberView) -> String {
    let mut s = observed_settings(p);
    match p.os_defaults.as_slice() {
        [] => {}
        [one] => {
            s.push(' ');
            s.push_str(one);
        }
        _ => s.push_str(" default"),
    }
    s
}

/// Shortens `s` to at most `width` characters, marking the cut with `…`.
pub(crate) fn fit(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// Shortens an `address:port` to `width`, keeping the port: the address is
/// cut in its middle (`198.1…0.17:40800`). Other text is cut at the end.
pub(crate) fn fit_endpoint(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        return s.to_string();
    }
    let Some(colon) = s.rfind(':') else {
        return fit(s, width);
    };
    let (addr, port) = s.split_at(colon);
    let port_n = port.chars().count();
    if !port[1..].chars().all(|c| c.is_ascii_digit()) || width < port_n + 4 {
        return fit(s, width);
    }
    let keep = width - port_n - 1;
    let head = keep.div_ceil(2);
    let tail = keep - head;
    let chars: Vec<char> = addr.chars().collect();
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[chars.len() - tail..]);
    out.push_str(port);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let cases = [
            (0.04, "0.0s", "0.040s"),
            (2.031, "2.0s", "2.031s"),
            (42.7, "42s", "42.70s"),
            (185.0, "3m05s", "185.0s"),
            (7200.4, "2h00m", "7200.4s"),
            (97_000.0, "1d02h", "97000s"),
        ];
        for (secs, want_coarse, want_precise) in cases {
            assert_eq!(coarse(secs), want_coarse, "{secs}");
            assert_eq!(precise(secs), want_precise, "{secs}");
        }
        assert_eq!(coarse(-3.0), "0.0s");
    }

    /// A timestamp from an RFC 3339 text.
    fn ts(s: &str) -> Timestamp {
        let t: jiff::Timestamp = s.parse().expect("a timestamp");
        Timestamp(t.as_nanosecond())
    }

    /// A zone from the system's time zone database, or `None` (and why,
    /// printed) when this machine has none.
    fn zone(name: &str) -> Option<TimeZone> {
        match TimeZone::get(name) {
            Ok(z) => Some(z),
            Err(e) => {
                eprintln!("SKIP: time zone {name} not available (is tzdata installed?): {e}");
                None
            }
        }
    }

    #[test]
    fn clock_times() {
        let utc = TimeZone::UTC;
        let t = Timestamp::from_parts(1_700_000_000, 250_000_000);
        assert_eq!(clock(t, &utc, false), "22:13:20.250");
        assert_eq!(clock(t, &utc, true), "2023-11-14 22:13:20.250");
        let plus1 = TimeZone::fixed(jiff::tz::offset(1));
        assert_eq!(clock(t, &plus1, false), "23:13:20.250");
        let minus23 = TimeZone::fixed(jiff::tz::offset(-23));
        assert_eq!(clock(t, &minus23, true), "2023-11-13 23:13:20.250");
        // Milliseconds are cut, before the epoch too.
        assert_eq!(
            clock(ts("1969-12-31T23:59:59.9996Z"), &utc, true),
            "1969-12-31 23:59:59.999"
        );
        assert_eq!(clock(Timestamp(i128::MAX), &utc, false), "?");
    }

    /// One view, one zone: each timestamp at the offset of its own moment.
    #[test]
    fn clock_times_at_the_offset_of_their_moment() {
        let Some(berlin) = zone("Europe/Berlin") else {
            return;
        };
        let utc = TimeZone::UTC;
        let cases: &[(&str, &TimeZone, bool, &str)] = &[
            // Summer time, +02:00.
            ("2026-06-01T12:03:07.123Z", &berlin, false, "14:03:07.123"),
            (
                "2026-06-01T12:03:07.123Z",
                &berlin,
                true,
                "2026-06-01 14:03:07.123",
            ),
            // Winter time, +01:00, in the same zone.
            ("2026-01-15T12:00:00.5Z", &berlin, false, "13:00:00.500"),
            (
                "2026-01-15T23:30:00Z",
                &berlin,
                true,
                "2026-01-16 00:30:00.000",
            ),
            // The hour summer time begins: 01:59:59 +01:00, then 03:00 +02:00.
            ("2026-03-29T00:59:59Z", &berlin, false, "01:59:59.000"),
            ("2026-03-29T01:00:00Z", &berlin, false, "03:00:00.000"),
            // --utc.
            ("2026-06-01T12:03:07.123Z", &utc, false, "12:03:07.123"),
            (
                "2026-06-01T12:03:07.123Z",
                &utc,
                true,
                "2026-06-01 12:03:07.123",
            ),
        ];
        for (at, z, dated, want) in cases {
            assert_eq!(clock(ts(at), z, *dated), *want, "{at} dated={dated}");
        }
    }

    #[test]
    fn the_date_shows_when_a_capture_spans_days_in_the_zone() {
        let Some(berlin) = zone("Europe/Berlin") else {
            return;
        };
        let utc = TimeZone::UTC;
        let span = |a: &str, b: &str, z: &TimeZone| spans_days(Some(ts(a)), Some(ts(b)), z);
        // 21:30-22:30 UTC is 23:30-00:30 in Berlin in June.
        let (a, b) = ("2026-06-01T21:30:00Z", "2026-06-01T22:30:00Z");
        assert!(!span(a, b, &utc));
        assert!(span(a, b, &berlin));
        assert!(!span(a, a, &berlin));
        assert!(span("2026-01-15T12:00:00Z", "2026-06-01T12:00:00Z", &utc));
        assert!(!spans_days(None, Some(ts(a)), &utc));
        // A snapshot: its clock counts as its latest time.
        let snap = |first: &str, last: &str, now: &str| Snapshot {
            now: ts(now),
            counters: Default::default(),
            first_ts: Some(ts(first)),
            last_ts: Some(ts(last)),
            flows: Vec::new(),
            local: Vec::new(),
        };
        let s = snap(a, a, "2026-06-01T21:45:00Z");
        assert_eq!(Clock::of(&s, &berlin).at(ts(a)), "23:30:00.000");
        let s = snap(a, a, b);
        assert_eq!(Clock::of(&s, &berlin).at(ts(a)), "2026-06-01 23:30:00.000");
        assert_eq!(Clock::of(&s, &utc).at(ts(a)), "21:30:00.000");
    }

    #[test]
    fn counts_and_fit() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(fit("198.18.0.1:40000", 10), "198.18.0.…");
        assert_eq!(fit("abc", 3), "abc");
        assert_eq!(fit_endpoint("198.18.0.17:40800", 17), "198.18.0.17:40800");
        assert_eq!(fit_endpoint("198.18.0.17:40800", 14), "198.….17:40800");
        assert_eq!(fit_endpoint("[2001:db8::a]:50000", 15), "[200…::a]:50000");
        assert_eq!(fit_endpoint("probing 3/~9", 8), "probing…");
    }
}
