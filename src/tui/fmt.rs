//! Text for durations, counts and settings: short, aligned, and honest about
//! what is a lower bound (`>`) or an assumption (`~`).

use crate::settings::Settings;
use crate::snapshot::ProberView;
use crate::time::{Span, Timestamp};

/// A coarse duration for "how long ago" and countdowns: `0.4s`, `42s`,
/// `3m05s`, `2h05m`, `3d04h`.
pub fn coarse(secs: f64) -> String {
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
pub fn precise(secs: f64) -> String {
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

/// An optional observed timing; `-` when unknown.
pub fn precise_or_dash(secs: Option<f64>) -> String {
    secs.map_or_else(|| "-".into(), precise)
}

/// Seconds between two timestamps.
pub fn secs_between(later: Timestamp, earlier: Timestamp) -> f64 {
    (later - earlier).as_secs_f64()
}

/// A span in seconds.
pub fn span_secs(s: Span) -> f64 {
    s.as_secs_f64()
}

/// A capture time relative to the start of the capture: `t+12.345s`.
pub fn rel(ts: Timestamp, origin: Option<Timestamp>) -> String {
    match origin {
        Some(o) => {
            let d = secs_between(ts, o);
            if d.abs() < 10_000.0 {
                format!("t+{d:.3}s")
            } else {
                format!("t+{}", coarse(d))
            }
        }
        None => format!("{:.3}", ts.as_secs_f64()),
    }
}

/// A count with thousands separators: `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Likely settings as `idle/intvl/cnt`, seconds, `?` where unknown: `2s/1s/3`.
pub fn settings(s: &Settings) -> String {
    let secs = |v: Option<u32>| v.map_or_else(|| "?".into(), |n| format!("{n}s"));
    let n = s.probes.map_or_else(|| "?".into(), |n| n.to_string());
    format!("{}/{}/{}", secs(s.idle_s), secs(s.intvl_s), n)
}

/// Likely settings with the OS default they match: one OS by name, several
/// as `default` (e.g. only the 7200 s idle is known).
pub fn settings_with_os(p: &ProberView) -> String {
    let mut s = settings(&p.likely);
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
pub fn fit(s: &str, width: usize) -> String {
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

    #[test]
    fn counts_and_fit() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(fit("198.18.0.1:40000", 10), "198.18.0.…");
        assert_eq!(fit("abc", 3), "abc");
    }

    #[test]
    fn likely_settings() {
        let s = Settings {
            idle_s: Some(2),
            intvl_s: None,
            probes: Some(3),
        };
        assert_eq!(settings(&s), "2s/?/3");
    }
}
