//! Seeded data: the same every run, different between seeds.

/// xorshift64*: a deterministic PRNG, enough for randomised tests without a dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` (any value, zero included).
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0), near enough.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// `len` bytes that differ between seeds and positions, so a misplaced or swapped byte
/// shows in a comparison.
pub fn pattern(seed: usize, len: usize) -> Vec<u8> {
    let mut rng = Rng::new(seed as u64);
    (0..len).map(|_| (rng.next_u64() >> 56) as u8).collect()
}

/// FNV-1a over `data`.
pub fn checksum(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_differ_between_seeds_and_repeat_for_one() {
        assert_eq!(pattern(3, 64), pattern(3, 64));
        assert_ne!(pattern(3, 64), pattern(4, 64));
        assert_ne!(checksum(&pattern(3, 64)), checksum(&pattern(4, 64)));
        let mut rng = Rng::new(0);
        assert!((0..1000).all(|_| rng.below(7) < 7));
    }
}
