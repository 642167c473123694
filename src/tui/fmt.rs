//! Text for durations, counts and settings: short, aligned, and honest about
//! what is a lower bound (`>`) or an assumption (`~`).

use kawatch_core::likely_text;
use kawatch_core::ProberView;
use kawatch_core::Timestamp;

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

/// An optional observed timing; `-` when unknown.
pub(crate) fn precise_or_dash(secs: Option<f64>) -> String {
    secs.map_or_else(|| "-".into(), precise)
}

/// Seconds between two timestamps.
pub(crate) fn secs_between(later: Timestamp, earlier: Timestamp) -> f64 {
    (later - earlier).as_secs_f64()
}

/// A time of day, `HH:MM:SS.mmm`, at `utc_offset` seconds east of UTC.
pub(crate) fn clock(ts: Timestamp, utc_offset: i64) -> String {
    let ms = (ts.0.div_euclid(1_000_000) + i128::from(utc_offset) * 1000).rem_euclid(86_400_000);
    let (s, ms) = (ms / 1000, ms % 1000);
    format!("{:02}:{:02}:{:02}.{ms:03}", s / 3600, s / 60 % 60, s % 60)
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
    let n = p
        .likely
        .probes
        .map_or_else(|| "?".into(), |n| n.to_string());
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

    #[test]
    fn clock_times() {
        let t = Timestamp::from_parts(1_700_000_000, 250_000_000);
        assert_eq!(clock(t, 0), "22:13:20.250");
        assert_eq!(clock(t, 3600), "23:13:20.250");
        assert_eq!(clock(t, -23 * 3600), "23:13:20.250");
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
