//! xorshift64*: a tiny deterministic generator, so every run of an experiment or a
//! benchmark files the same deadlines and picks the same victims.
//!
//! std-only on purpose: the bench compiles this file too (`#[path]` in
//! `bench/src/lib.rs`).

use std::time::Duration;

/// xorshift64* (Marsaglia's xorshift with a multiplicative output step).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` (any value, zero included).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A deadline offset in [1 s, 1 h), in whole multiples of `step` (1 ms, 1 µs, ...).
    ///
    /// # Panics
    ///
    /// If `step` is zero or more than an hour.
    pub fn offset(&mut self, step: Duration) -> Duration {
        let steps = (Duration::from_secs(3_599).as_nanos() / step.as_nanos()) as u64;
        assert!(steps > 0, "offset step {step:?} is more than an hour");
        let step_ns = u64::try_from(step.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_secs(1) + Duration::from_nanos(step_ns * (self.next_u64() % steps))
    }

    /// A random permutation of `0..n` (Fisher-Yates).
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
        v
    }
}
