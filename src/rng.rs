//! The small, seedable, fast generator that routing, catch-up and the router draw from.
//!
//! wyrand: one 64-bit add and one 128-bit multiply per number, passes BigCrush and PractRand,
//! and its whole state is one `u64`, so every `Decider` and selector owns one at no cost.
//! Bounded draws use Lemire's multiply-and-reject, which is exactly uniform.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

/// A seedable pseudo-random generator. Not for cryptography.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator whose sequence is fixed by `seed`.
    pub fn seeded(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// A generator seeded from the operating system's randomness (through the standard
    /// library's hash-map seeds), different in every process and every call.
    pub fn from_os() -> Rng {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(0x7461_6772_6f75_7465);
        Rng::seeded(hasher.finish())
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0xa076_1d64_78bd_642f);
        let product = u128::from(self.state) * u128::from(self.state ^ 0xe703_7ed1_a0b4_28db);
        (product as u64) ^ ((product >> 64) as u64)
    }

    /// A uniform number in `0..n`; `n` must not be zero (then the result is 0).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        loop {
            let product = u128::from(self.next_u64()) * u128::from(n);
            let low = product as u64;
            // Reject the few low values that would make some results one draw more likely.
            if low >= n || low >= n.wrapping_neg() % n {
                return (product >> 64) as u64;
            }
        }
    }

    /// An index into a slice of length `len` (0 when it is empty) by one multiply-shift: no
    /// rejection loop, so one draw always, at a bias below `len / 2^64` (for any slice a
    /// machine can hold, far below anything measurable).
    #[inline]
    pub fn scaled(&mut self, len: usize) -> usize {
        ((u128::from(self.next_u64()) * len as u128) >> 64) as usize
    }

    /// A uniform index into a slice of length `len` (0 when it is empty).
    #[inline]
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// Shuffles `items` into a uniformly random permutation (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.index(i + 1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_fixes_the_sequence() {
        let (mut a, mut b) = (Rng::seeded(42), Rng::seeded(42));
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        assert_eq!(xs, (0..8).map(|_| b.next_u64()).collect::<Vec<_>>());
        assert_ne!(Rng::seeded(43).next_u64(), xs[0]);
    }

    #[test]
    fn below_is_uniform_by_chi_square() {
        let mut rng = Rng::seeded(7);
        let mut counts = [0u32; 10];
        let draws = 100_000;
        for _ in 0..draws {
            counts[rng.index(10)] += 1;
        }
        let expected = f64::from(draws) / 10.0;
        let chi2: f64 = counts
            .iter()
            .map(|&c| (f64::from(c) - expected).powi(2) / expected)
            .sum();
        // 9 degrees of freedom: the 99.9th percentile is 27.88.
        assert!(chi2 < 27.88, "chi-square {chi2} for {counts:?}");
    }

    #[test]
    fn shuffle_is_a_uniform_permutation() {
        let mut rng = Rng::seeded(11);
        let mut counts = std::collections::HashMap::new();
        for _ in 0..60_000 {
            let mut items = [0, 1, 2];
            rng.shuffle(&mut items);
            *counts.entry(items).or_insert(0u32) += 1;
        }
        assert_eq!(counts.len(), 6);
        let chi2: f64 = counts
            .values()
            .map(|&c| (f64::from(c) - 10_000.0).powi(2) / 10_000.0)
            .sum();
        // 5 degrees of freedom: the 99.9th percentile is 20.52.
        assert!(chi2 < 20.52, "chi-square {chi2} for {counts:?}");
    }

    #[test]
    fn below_stays_in_range_at_the_edges() {
        let mut rng = Rng::seeded(3);
        assert_eq!(rng.below(0), 0);
        assert_eq!(rng.below(1), 0);
        assert!((0..1000).all(|_| rng.below(u64::MAX) < u64::MAX));
    }
}
