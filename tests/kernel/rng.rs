//! A tiny deterministic PRNG (SplitMix64) so the socket settings of a run can
//! be drawn at random and replayed from the printed seed.

pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform-enough integer in `lo..=hi` (the modulo bias is irrelevant at these sizes).
    pub(crate) fn range(&mut self, lo: u32, hi: u32) -> u32 {
        assert!(lo <= hi);
        let span = u64::from(hi - lo) + 1;
        lo + (self.next_u64() % span) as u32
    }
}

/// The seed of this run: `KAWATCH_SEED` (decimal or 0x-hex) when set, else
/// drawn from the clock and the pid.
pub(crate) fn seed_from_env_or_clock() -> Result<u64, String> {
    if let Ok(text) = std::env::var("KAWATCH_SEED") {
        let text = text.trim();
        let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => text.parse::<u64>(),
        };
        return parsed.map_err(|e| format!("KAWATCH_SEED={text:?} is not a u64: {e}"));
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut mix = SplitMix64::new(nanos ^ (u64::from(std::process::id()) << 32));
    // Keep seeds short enough to retype.
    Ok(mix.next_u64() % 1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::SplitMix64;

    #[test]
    fn rng_is_deterministic_and_in_range() {
        let mut a = SplitMix64::new(42);
        let mut b = SplitMix64::new(42);
        for _ in 0..1000 {
            let x = a.range(1, 3);
            assert_eq!(x, b.range(1, 3));
            assert!((1..=3).contains(&x));
        }
    }
}
