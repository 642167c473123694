//! From observed timings to the whole-second settings that produced them,
//! and the OS defaults they match (KEEPALIVE-FACTS items 7 and 15).

/// Keepalive settings: idle time, interval, probe count.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)
)]
pub struct Settings {
    /// TCP_KEEPIDLE / keepalive_time, seconds.
    pub idle_s: Option<u32>,
    /// TCP_KEEPINTVL / keepalive_intvl, seconds.
    pub intvl_s: Option<u32>,
    /// TCP_KEEPCNT / keepalive_probes.
    pub probes: Option<u32>,
}

/// Known OS defaults (idle, interval, probes).
pub const OS_DEFAULTS: [(&str, u32, u32, u32); 3] = [
    ("linux", 7200, 75, 9),
    ("macos", 7200, 75, 8),
    ("windows", 7200, 1, 10),
];

/// How late a kernel timer may fire: a fraction of the timeout plus a constant.
pub(crate) const LATE_FRACTION: f64 = 0.125;
/// Constant part of the lateness allowance, seconds.
pub(crate) const LATE_CONSTANT: f64 = 0.1;
/// Allowance for a timer read as a little early, seconds: capture jitter, and
/// stacks other than Linux whose coarse timers may run a hair early.
pub(crate) const EARLY_JITTER: f64 = 0.05;
/// The same allowance as a fraction of the observation (the larger applies, up to [`EARLY_MAX`]).
pub(crate) const EARLY_FRACTION: f64 = 0.005;
/// The most that allowance may be, seconds.
pub(crate) const EARLY_MAX: f64 = 0.2;

/// The whole-second setting most likely to have produced `observed` seconds.
///
/// A timer configured to `c` fires at `c ..= c * 1.125 + 0.1`. An OS default
/// within that slack wins; otherwise the whole second just below the
/// observation (short timers run only a few % late).
pub fn likely_secs(observed: f64) -> Option<u32> {
    if !observed.is_finite() || observed <= 0.0 {
        return None;
    }
    let early = (observed * EARLY_FRACTION).clamp(EARLY_JITTER, EARLY_MAX);
    let hi = (observed + early).floor();
    let lo = ((observed - LATE_CONSTANT) / (1.0 + LATE_FRACTION))
        .ceil()
        .max(1.0);
    if lo > hi {
        return None;
    }
    let (lo, hi) = (lo as u32, hi as u32);
    let defaults = OS_DEFAULTS.iter().flat_map(|&(_, i, v, _)| [i, v]);
    defaults
        .filter(|d| (lo..=hi).contains(d))
        .max()
        .or(Some(hi))
}

/// How early another stack's coarse timer may fire: a fraction of the
/// timeout, at least [`EARLY_JITTER`], at most half a second.
const OTHER_STACK_EARLY: f64 = 0.01;

/// The whole seconds `observed` allows across stacks: [`likely_secs`]'s
/// pick (Linux timers fire late, never early), and the next second up when
/// a timer a little early could also have produced it: the coarse timers of
/// other stacks (up to 1%, at most 0.5 s). `59.67` allows `(59, 60)`;
/// `2.06` only `(2, 2)`.
pub fn likely_range(observed: f64) -> Option<(u32, u32)> {
    let best = likely_secs(observed)?;
    let up = observed.ceil();
    let early = (observed * OTHER_STACK_EARLY).clamp(EARLY_JITTER, 0.5);
    if up > observed && up - observed <= early && up as u32 > best {
        Some((best, up as u32))
    } else {
        Some((best, best))
    }
}

/// A setting as the observation allows it: `59s`, `59-60s` when two whole
/// seconds fit (see [`likely_range`]), or `?` when unknown.
pub fn likely_text(observed: Option<f64>, likely: Option<u32>) -> String {
    let Some(likely) = likely else {
        return "?".to_owned();
    };
    match observed.and_then(likely_range) {
        Some((lo, hi)) if lo == likely && hi > lo => format!("{lo}-{hi}s"),
        _ => format!("{likely}s"),
    }
}

/// The OS names whose defaults agree with every known value (none if nothing is known).
pub fn matching_defaults(s: &Settings) -> Vec<&'static str> {
    // One interval or count alone is too common a choice to name a
    // system by (a 1 s interval is Windows' default and many a test's); an
    // idle of hours is not.
    let known = [s.idle_s, s.intvl_s, s.probes].iter().flatten().count();
    if known == 0 || (known == 1 && s.idle_s.is_none()) {
        return Vec::new();
    }
    OS_DEFAULTS
        .iter()
        .filter(|&&(_, i, v, n)| {
            s.idle_s.is_none_or(|x| x == i)
                && s.intvl_s.is_none_or(|x| x == v)
                && s.probes.is_none_or(|x| x == n)
        })
        .map(|&(name, ..)| name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn likely_settings_from_late_timers() {
        let cases = [
            ("short, 3 % late", 2.06, Some(2)),
            ("exact", 1.0, Some(1)),
            ("jitter reads early", 2.99, Some(3)),
            ("fact 5 cadence", 3.07, Some(3)),
            ("linux intvl late", 76.4, Some(75)),
            ("linux idle late", 7560.0, Some(7200)),
            ("15 s, 2 % late", 15.3, Some(15)),
            ("windows app timer", 187.3, Some(187)),
            ("coarse timer a hair early", 29.91, Some(30)),
            ("sub-second", 0.2, None),
            ("nonsense", -1.0, None),
        ];
        for (name, observed, want) in cases {
            assert_eq!(likely_secs(observed), want, "{name}");
        }
    }

    #[test]
    fn two_whole_seconds_when_either_stack_fits() {
        let cases = [
            (
                "a non-Linux timer a third of a second early",
                59.67,
                Some((59, 60)),
            ),
            ("Linux, 3 % late", 2.06, Some((2, 2))),
            (
                "a hair early: the jitter already rounds up",
                29.91,
                Some((30, 30)),
            ),
            ("Linux default, late", 7560.0, Some((7200, 7200))),
            ("exact", 45.0, Some((45, 45))),
            ("sub-second", 0.2, None),
        ];
        for (name, observed, want) in cases {
            assert_eq!(likely_range(observed), want, "{name}");
        }
        assert_eq!(likely_text(Some(59.67), Some(59)), "59-60s");
        assert_eq!(likely_text(Some(2.06), Some(2)), "2s");
        assert_eq!(likely_text(None, Some(75)), "75s");
        assert_eq!(likely_text(Some(3.0), None), "?");
    }

    #[test]
    fn defaults_match_by_os() {
        let s = |i, v, n| Settings {
            idle_s: i,
            intvl_s: v,
            probes: n,
        };
        let cases = [
            (
                "linux full",
                s(Some(7200), Some(75), Some(9)),
                vec!["linux"],
            ),
            (
                "idle only",
                s(Some(7200), None, None),
                vec!["linux", "macos", "windows"],
            ),
            // An interval or a count alone names no system (a 1 s
            // interval is also many a Linux test's).
            ("an interval alone", s(None, Some(1), None), vec![]),
            ("a count alone", s(None, None, Some(9)), vec![]),
            (
                "windows idle and interval",
                s(Some(7200), Some(1), None),
                vec!["windows"],
            ),
            (
                "linux interval and count",
                s(None, Some(75), Some(9)),
                vec!["linux"],
            ),
            ("custom", s(Some(2), Some(1), Some(3)), vec![]),
            ("nothing known", s(None, None, None), vec![]),
        ];
        for (name, settings, want) in cases {
            assert_eq!(matching_defaults(&settings), want, "{name}");
        }
    }
}
