//! TCP sequence numbers: 32-bit, compared modulo 2^32 (RFC 9293 §3.4).

use std::cmp::Ordering;
use std::fmt;
use std::ops::{Add, Sub};

/// A TCP sequence or acknowledgment number.
///
/// Ordering is wrap-aware: `a < b` when `b` lies less than 2^31 ahead of `a`,
/// so comparisons stay right across the 2^32 wrap.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNumber(pub u32);

impl SeqNumber {
    /// Signed distance from `other` to `self` (positive when `self` is ahead).
    #[inline]
    pub fn diff(self, other: SeqNumber) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }

    /// The later of two sequence numbers.
    #[inline]
    pub fn max(self, other: SeqNumber) -> SeqNumber {
        if self.diff(other) >= 0 {
            self
        } else {
            other
        }
    }
}

impl PartialOrd for SeqNumber {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.diff(*other).cmp(&0))
    }
}

impl Add<u32> for SeqNumber {
    type Output = SeqNumber;
    #[inline]
    fn add(self, rhs: u32) -> SeqNumber {
        SeqNumber(self.0.wrapping_add(rhs))
    }
}

impl Sub<u32> for SeqNumber {
    type Output = SeqNumber;
    #[inline]
    fn sub(self, rhs: u32) -> SeqNumber {
        SeqNumber(self.0.wrapping_sub(rhs))
    }
}

impl fmt::Debug for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ordering_across_the_wrap() {
        let cases = [
            ("plain", 10u32, 20u32, Ordering::Less),
            ("equal", 7, 7, Ordering::Equal),
            ("wrap", u32::MAX - 5, 3, Ordering::Less),
            ("wrap reversed", 3, u32::MAX - 5, Ordering::Greater),
            (
                "just under half the space",
                0,
                (1 << 31) - 1,
                Ordering::Less,
            ),
        ];
        for (name, a, b, want) in cases {
            assert_eq!(
                SeqNumber(a).partial_cmp(&SeqNumber(b)),
                Some(want),
                "{name}"
            );
        }
    }

    #[test]
    fn arithmetic_wraps() {
        assert_eq!(SeqNumber(u32::MAX) + 1, SeqNumber(0));
        assert_eq!(SeqNumber(0) - 1, SeqNumber(u32::MAX));
        assert_eq!(SeqNumber(5).max(SeqNumber(u32::MAX)), SeqNumber(5));
    }

    proptest! {
        #[test]
        fn adding_moves_ahead(a: u32, n in 1u32..(1 << 31)) {
            let s = SeqNumber(a);
            prop_assert!(s + n > s);
            prop_assert!(s < s + n);
            prop_assert_eq!((s + n).diff(s), n as i32);
            prop_assert_eq!((s + n) - n, s);
        }

        #[test]
        fn max_is_symmetric(a: u32, b: u32) {
            prop_assume!(a.wrapping_sub(b) != 1 << 31);
            prop_assert_eq!(SeqNumber(a).max(SeqNumber(b)), SeqNumber(b).max(SeqNumber(a)));
        }
    }
}
