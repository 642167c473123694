//! Units of the model's clock and where capture time 0 lies.
//!
//! The simulation runs on `i64` nanoseconds from capture time 0; captures
//! stamp frames with epoch [`Timestamp`]s, capture time 0 being [`T0`].

use kawatch_core::Timestamp;

pub(crate) const NS: i64 = 1_000_000_000;
pub(crate) const MS: i64 = 1_000_000;
pub(crate) const US: i64 = 1_000;

/// Epoch second of capture time 0.
pub const EPOCH_BASE_S: i64 = 1_700_000_000;

/// Capture time 0, 2023-11-14 22:13:20 UTC: where every synthetic capture's
/// clock starts.
pub const T0: Timestamp = Timestamp::from_nanos(EPOCH_BASE_S * NS);

/// Seconds to nanoseconds, truncating (the simulation's conversion).
pub(crate) fn secs(s: f64) -> i64 {
    (s * NS as f64) as i64
}

/// Capture time (ns from [`T0`]) to the capture's timestamp.
pub(crate) fn stamp(t: i64) -> Timestamp {
    Timestamp(T0.0 + i128::from(t))
}

/// Capture time (ns from [`T0`]) to epoch seconds, as the truth states times.
pub(crate) fn to_epoch_s(t: i64) -> f64 {
    (T0.0 + i128::from(t)) as f64 / NS as f64
}
