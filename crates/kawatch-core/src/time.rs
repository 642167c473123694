//! Capture time. The core never reads a clock: time enters only as each
//! packet's capture timestamp, so replay, live capture and tests run the same code.

use std::fmt;
use std::ops::Sub;

/// A capture timestamp: nanoseconds since the Unix epoch.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// From seconds and nanoseconds, as libpcap hands them over.
    pub fn from_parts(secs: i64, nanos: i64) -> Timestamp {
        Timestamp(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
    }

    /// From floating-point epoch seconds.
    pub fn from_secs_f64(secs: f64) -> Timestamp {
        Timestamp((secs * 1e9).round() as i64)
    }

    /// Epoch seconds as a float (what reports print).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// This timestamp moved by `secs` seconds.
    pub fn add_secs(self, secs: f64) -> Timestamp {
        Timestamp(self.0.saturating_add((secs * 1e9).round() as i64))
    }
}

impl Sub for Timestamp {
    type Output = Span;
    fn sub(self, rhs: Timestamp) -> Span {
        Span(self.0.saturating_sub(rhs.0))
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.6}", self.as_secs_f64())
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
}
