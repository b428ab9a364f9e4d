//! A set of servers as a bitset over server indices: the representation everything fast runs on.
//!
//! `tags(a,b)` is a word-wide OR of two of these, a chain of filters a word-wide AND, `min(n)`
//! a popcount. A plain `Vec<u64>` beats generic bit-vector crates on exactly these loops (DESIGN
//! section 12), and keeps the word layout in the open for the VM's kernels.

use std::fmt;

use crate::aligned::AlignedWords;
use crate::cpu::select_in_word;

/// A dense server number, `0..snapshot.len()`, in the order servers were added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerIdx(u32);

impl ServerIdx {
    /// One more than the largest index.
    pub const LIMIT: usize = u32::MAX as usize;

    /// The index `n`, if it is below [`ServerIdx::LIMIT`].
    pub fn new(n: usize) -> Option<ServerIdx> {
        u32::try_from(n)
            .ok()
            .filter(|&n| (n as usize) < Self::LIMIT)
            .map(ServerIdx)
    }

    /// The index as a `usize`.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for ServerIdx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// How many 64-bit words hold `universe` bits.
pub const fn words_for(universe: usize) -> usize {
    universe.div_ceil(64)
}

/// A set of server indices below a fixed `universe` (the number of servers of a snapshot).
///
/// Invariant: no bit at or above `universe` is ever set.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct ServerSet {
    /// On a 64-byte line (for the VM's vector kernels), `words_for(universe)` long.
    words: AlignedWords,
    universe: usize,
}

impl fmt::Debug for ServerSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter().map(|i| i.0)).finish()
    }
}

impl ServerSet {
    /// The empty set over `universe` servers.
    pub fn empty(universe: usize) -> ServerSet {
        ServerSet {
            words: AlignedWords::zeroed(words_for(universe)),
            universe,
        }
    }

    /// The set of all `universe` servers.
    pub fn full(universe: usize) -> ServerSet {
        let mut set = ServerSet::empty(universe);
        set.words.fill(u64::MAX);
        set.clear_beyond_universe();
        set
    }

    /// The set of the given indices; indices outside the universe are left out.
    pub fn from_indices(
        universe: usize,
        indices: impl IntoIterator<Item = ServerIdx>,
    ) -> ServerSet {
        let mut set = ServerSet::empty(universe);
        for i in indices {
            set.insert(i);
        }
        set
    }

    /// Makes this the empty set over `universe` servers, reusing the allocation when it is
    /// large enough (so a buffer sized once never allocates again).
    pub fn reset(&mut self, universe: usize) {
        self.words.fill(0);
        self.words.resize_zeroed(words_for(universe));
        self.universe = universe;
    }

    /// Sizes the set for `universe` servers without clearing it, reusing the allocation: for
    /// writers that overwrite every word (the VM).
    #[inline]
    pub(crate) fn prepare(&mut self, universe: usize) {
        // INVARIANT: `words.len() == words_for(universe)` in every set, so an unchanged
        // universe needs nothing.
        if self.universe != universe {
            self.words.resize_zeroed(words_for(universe));
            self.universe = universe;
        }
    }

    /// The number of servers the set ranges over.
    pub fn universe(&self) -> usize {
        self.universe
    }

    /// The words of the bitset; bit `i % 64` of word `i / 64` is server `i`.
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// The words, for kernels that keep the invariant (no bit at or above the universe).
    pub(crate) fn words_mut(&mut self) -> &mut [u64] {
        &mut self.words
    }

    /// Adds server `i`; returns whether it was added (false if present or outside the universe).
    pub fn insert(&mut self, i: ServerIdx) -> bool {
        let (w, bit) = (i.index() / 64, 1u64 << (i.index() % 64));
        match self.words.get_mut(w).filter(|_| i.index() < self.universe) {
            Some(word) if *word & bit == 0 => {
                *word |= bit;
                true
            }
            _ => false,
        }
    }

    /// Removes server `i`; returns whether it was present.
    pub fn remove(&mut self, i: ServerIdx) -> bool {
        let (w, bit) = (i.index() / 64, 1u64 << (i.index() % 64));
        match self.words.get_mut(w) {
            Some(word) if *word & bit != 0 => {
                *word &= !bit;
                true
            }
            _ => false,
        }
    }

    /// Whether server `i` is in the set.
    pub fn contains(&self, i: ServerIdx) -> bool {
        self.words
            .get(i.index() / 64)
            .is_some_and(|w| w & (1u64 << (i.index() % 64)) != 0)
    }

    /// The number of servers in the set.
    pub fn len(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }

    /// Removes every server.
    pub fn clear(&mut self) {
        self.words.fill(0);
    }

    /// The servers in ascending index order (the order of the topology).
    pub fn iter(&self) -> impl Iterator<Item = ServerIdx> + '_ {
        self.words.iter().enumerate().flat_map(|(w, &word)| {
            let mut rest = word;
            std::iter::from_fn(move || {
                (rest != 0).then(|| {
                    let bit = rest.trailing_zeros() as usize;
                    rest &= rest - 1;
                    ServerIdx((w * 64 + bit) as u32)
                })
            })
        })
    }

    /// The `n`-th server of the set in ascending order (from 0), if the set has more than `n`.
    pub fn nth(&self, mut n: usize) -> Option<ServerIdx> {
        for (w, &word) in self.words.iter().enumerate() {
            let count = word.count_ones() as usize;
            if n < count {
                return ServerIdx::new(w * 64 + select_in_word(word, n as u32) as usize);
            }
            n -= count;
        }
        None
    }

    /// `self ∪= other`; both must have the same universe (extra words of `other` are ignored).
    pub fn union_with(&mut self, other: &ServerSet) {
        self.union_with_words(&other.words);
    }

    /// `self ∪= words`, a bitset of the same layout (a tag row of the snapshot).
    pub(crate) fn union_with_words(&mut self, words: &[u64]) {
        self.words.iter_mut().zip(words).for_each(|(a, b)| *a |= b);
    }

    /// `self ∩= other`.
    pub fn intersect_with(&mut self, other: &ServerSet) {
        let n = other.words.len();
        self.words
            .iter_mut()
            .zip(other.words.iter())
            .for_each(|(a, b)| *a &= b);
        self.words.iter_mut().skip(n).for_each(|a| *a = 0);
    }

    /// `self ∖= other`.
    pub fn subtract(&mut self, other: &ServerSet) {
        self.words
            .iter_mut()
            .zip(other.words.iter())
            .for_each(|(a, b)| *a &= !b);
    }

    fn clear_beyond_universe(&mut self) {
        let used = self.universe % 64;
        if let (Some(last), true) = (self.words.last_mut(), used != 0) {
            *last &= (1u64 << used) - 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(universe: usize, indices: &[u32]) -> ServerSet {
        ServerSet::from_indices(universe, indices.iter().map(|&i| ServerIdx(i)))
    }

    #[test]
    fn full_sets_stop_at_the_universe_on_every_word_boundary() {
        for universe in [0, 1, 63, 64, 65, 127, 128, 129] {
            let full = ServerSet::full(universe);
            assert_eq!(full.len(), universe);
            assert_eq!(full.words().len(), words_for(universe));
            assert_eq!(full.iter().count(), universe);
        }
    }

    #[test]
    fn set_operations_work_word_by_word() {
        let mut a = set(130, &[0, 63, 64, 129]);
        let b = set(130, &[63, 129, 5]);
        assert!(!a.insert(ServerIdx(130)) && !a.contains(ServerIdx(130)));
        let mut union = a.clone();
        union.union_with(&b);
        assert_eq!(
            union.iter().map(|i| i.0).collect::<Vec<_>>(),
            [0, 5, 63, 64, 129]
        );
        a.intersect_with(&b);
        assert_eq!(a, set(130, &[63, 129]));
        union.subtract(&b);
        assert_eq!(union, set(130, &[0, 64]));
        assert_eq!(union.nth(1), Some(ServerIdx(64)));
        assert_eq!(union.nth(2), None);
    }

    #[test]
    fn reset_reuses_the_allocation() {
        let mut s = ServerSet::full(1000);
        let capacity = s.words.capacity();
        s.reset(640);
        assert!(s.is_empty() && s.universe() == 640 && s.words.capacity() == capacity);
    }
}
