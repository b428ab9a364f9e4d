//! A set of servers as a bitset over server indices: the representation everything fast runs on.
//!
//! `tags(a,b)` is a word-wide OR of two of these, a chain of filters a word-wide AND, `min(n)`
//! a popcount. A plain `Vec<u64>` beats generic bit-vector crates on exactly these loops (the
//! `sets` benchmark), and keeps the word layout in the open for the VM's kernels.

use std::fmt;

use crate::aligned::AlignedWords;
use crate::cpu::{self, select_in_word};
use crate::rng::Rng;

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
            self.clear_beyond_universe();
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
        cpu::count_ones(&self.words)
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
        // Whole blocks are skipped with the CPU's best count, then words one by one.
        const BLOCK: usize = 64;
        for (b, block) in self.words.chunks(BLOCK).enumerate() {
            let in_block = cpu::count_ones(block);
            if n >= in_block {
                n -= in_block;
                continue;
            }
            for (w, &word) in block.iter().enumerate() {
                let count = word.count_ones() as usize;
                if n < count {
                    let bit = select_in_word(word, n as u32) as usize;
                    return ServerIdx::new((b * BLOCK + w) * 64 + bit);
                }
                n -= count;
            }
        }
        None
    }

    /// A uniformly random member of the set, or `None` when it is empty.
    pub fn pick(&self, rng: &mut Rng) -> Option<ServerIdx> {
        match self.len() {
            0 => None,
            n => self.nth(rng.index(n)),
        }
    }

    /// `self ∪= other`. Sets over different universes (servers of different snapshots) are an
    /// error, and `self` is left as it was.
    pub fn union_with(&mut self, other: &ServerSet) -> Result<(), UniverseMismatch> {
        self.same_universe(other)?;
        self.union_same(other);
        Ok(())
    }

    /// `self ∩= other`; an error for sets over different universes, leaving `self` as it was.
    pub fn intersect_with(&mut self, other: &ServerSet) -> Result<(), UniverseMismatch> {
        self.same_universe(other)?;
        self.intersect_same(other);
        Ok(())
    }

    /// `self ∖= other`; an error for sets over different universes, leaving `self` as it was.
    pub fn subtract(&mut self, other: &ServerSet) -> Result<(), UniverseMismatch> {
        self.same_universe(other)?;
        self.subtract_same(other);
        Ok(())
    }

    /// [`ServerSet::union_with`] for sets the caller built over one snapshot. Should the
    /// universes differ anyway, bits of `other` beyond `self`'s universe are left out, so the
    /// invariant holds whatever the caller passes.
    pub(crate) fn union_same(&mut self, other: &ServerSet) {
        self.union_with_words(&other.words);
    }

    /// `self ∪= words`, a bitset of the same layout (a tag row of the snapshot); bits beyond
    /// the universe are left out.
    pub(crate) fn union_with_words(&mut self, words: &[u64]) {
        self.words.iter_mut().zip(words).for_each(|(a, b)| *a |= b);
        self.clear_beyond_universe();
    }

    /// [`ServerSet::intersect_with`] for sets of one snapshot (an intersection never sets a bit).
    pub(crate) fn intersect_same(&mut self, other: &ServerSet) {
        let n = other.words.len();
        self.words
            .iter_mut()
            .zip(other.words.iter())
            .for_each(|(a, b)| *a &= b);
        self.words.iter_mut().skip(n).for_each(|a| *a = 0);
    }

    /// [`ServerSet::subtract`] for sets of one snapshot (a difference never sets a bit).
    pub(crate) fn subtract_same(&mut self, other: &ServerSet) {
        self.words
            .iter_mut()
            .zip(other.words.iter())
            .for_each(|(a, b)| *a &= !b);
    }

    fn same_universe(&self, other: &ServerSet) -> Result<(), UniverseMismatch> {
        if self.universe == other.universe {
            Ok(())
        } else {
            Err(UniverseMismatch {
                left: self.universe,
                right: other.universe,
            })
        }
    }

    /// The same set over `universe` servers: indices at or beyond it are dropped, new ones
    /// are absent. For a snapshot that gained or lost servers at the end.
    pub(crate) fn resize(&mut self, universe: usize) {
        self.words.resize_zeroed(words_for(universe));
        self.universe = universe;
        self.clear_beyond_universe();
    }

    /// Removes server `idx` and renumbers the ones after it down by one; the universe shrinks
    /// by one. For a snapshot that lost server `idx`.
    pub(crate) fn remove_renumbering(&mut self, idx: ServerIdx) {
        if idx.index() < self.universe {
            remove_bit(&mut self.words, idx.index());
            self.resize(self.universe - 1);
        }
    }

    fn clear_beyond_universe(&mut self) {
        let used = self.universe % 64;
        if let (Some(last), true) = (self.words.last_mut(), used != 0) {
            *last &= (1u64 << used) - 1;
        }
    }
}

/// Two server sets over different universes were combined: they describe servers of different
/// snapshots, and their indices do not mean the same servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UniverseMismatch {
    left: usize,
    right: usize,
}

impl UniverseMismatch {
    /// The universes of the receiver and of the argument, in that order.
    pub fn universes(&self) -> (usize, usize) {
        (self.left, self.right)
    }
}

impl fmt::Display for UniverseMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "server sets over {} and {} servers cannot be combined",
            self.left, self.right
        )
    }
}

impl std::error::Error for UniverseMismatch {}

/// Removes bit `bit` of the bitset `words`, moving every higher bit down by one (the last
/// word's top bit becomes 0). Used to renumber servers after a removal, on sets and tag rows.
pub(crate) fn remove_bit(words: &mut [u64], bit: usize) {
    let (first, offset) = (bit / 64, bit % 64);
    let Some(tail) = words.get_mut(first..) else {
        return;
    };
    let mut carry = 0u64;
    for (i, word) in tail.iter_mut().enumerate().rev() {
        let next_carry = *word & 1;
        *word = if i == 0 {
            let low = *word & ((1u64 << offset) - 1);
            let high = (*word >> 1) & !((1u64 << offset) - 1);
            low | high | (carry << 63)
        } else {
            (*word >> 1) | (carry << 63)
        };
        carry = next_carry;
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
        union.union_with(&b).expect("one universe");
        assert_eq!(
            union.iter().map(|i| i.0).collect::<Vec<_>>(),
            [0, 5, 63, 64, 129]
        );
        a.intersect_with(&b).expect("one universe");
        assert_eq!(a, set(130, &[63, 129]));
        union.subtract(&b).expect("one universe");
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

    #[test]
    fn nth_and_len_agree_with_iteration_across_blocks() {
        let mut rng = Rng::seeded(3);
        for universe in [1, 64, 4095, 4096, 4097, 8192, 10_000] {
            let members: Vec<u32> = (0..universe as u32).filter(|_| rng.below(3) == 0).collect();
            let set = set(universe, &members);
            assert_eq!(set.len(), members.len(), "universe {universe}");
            for (n, &member) in members.iter().enumerate() {
                assert_eq!(
                    set.nth(n),
                    Some(ServerIdx(member)),
                    "universe {universe}, n {n}"
                );
            }
            assert_eq!(set.nth(members.len()), None);
        }
    }

    #[test]
    fn pick_is_none_only_for_the_empty_set() {
        let mut rng = Rng::seeded(5);
        assert_eq!(ServerSet::empty(70).pick(&mut rng), None);
        let one = set(70, &[69]);
        assert_eq!(one.pick(&mut rng), ServerIdx::new(69));
    }

    /// Issue 14: empty(10) ∪ full(128) had 64 members over a universe of 10.
    #[test]
    fn sets_of_different_universes_do_not_combine() {
        let mut small = ServerSet::empty(10);
        let full = ServerSet::full(128);
        let err = small.union_with(&full).expect_err("universes differ");
        assert_eq!(err.universes(), (10, 128));
        assert_eq!(
            err.to_string(),
            "server sets over 10 and 128 servers cannot be combined"
        );
        assert!(small.intersect_with(&full).is_err() && small.subtract(&full).is_err());
        assert!(small.is_empty() && small.words() == [0]);
        // The crate-internal forms keep the invariant even when misused.
        small.union_same(&full);
        assert_eq!((small.len(), small.words()), (10, &[0x3ff][..]));
    }

    #[test]
    fn removing_a_bit_moves_the_higher_ones_down_across_words() {
        for removed in [0, 5, 63, 64, 100, 129] {
            let members = [0, 5, 62, 63, 64, 65, 100, 128, 129];
            let mut s = set(130, &members);
            s.remove_renumbering(ServerIdx(removed));
            let expected: Vec<u32> = members
                .iter()
                .filter(|&&m| m != removed)
                .map(|&m| if m > removed { m - 1 } else { m })
                .collect();
            assert_eq!(s, set(129, &expected), "removing {removed}");
        }
        let mut s = set(65, &[64]);
        s.remove_renumbering(ServerIdx(0));
        assert_eq!((s.words(), s.universe()), (&[1u64 << 63][..], 64));
    }

    #[test]
    fn resizing_keeps_members_below_the_new_universe() {
        let mut s = ServerSet::full(130);
        s.resize(70);
        assert_eq!((s.len(), s.words().len()), (70, 2));
        s.resize(200);
        assert_eq!((s.len(), s.universe()), (70, 200));
    }

    mod model {
        use std::collections::BTreeSet;

        use proptest::prelude::*;

        use super::*;

        const UNIVERSES: [usize; 7] = [0, 1, 10, 63, 64, 65, 130];

        #[derive(Clone, Debug)]
        enum Op {
            Insert(usize, u32),
            Remove(usize, u32),
            Union(usize, usize),
            Intersect(usize, usize),
            Subtract(usize, usize),
            Reset(usize, usize),
            Full(usize, usize),
            Resize(usize, usize),
            RemoveRenumbering(usize, u32),
        }

        fn op() -> impl Strategy<Value = Op> {
            let (s, u, i) = (0..4usize, 0..UNIVERSES.len(), 0..140u32);
            prop_oneof![
                (s.clone(), i.clone()).prop_map(|(s, i)| Op::Insert(s, i)),
                (s.clone(), i.clone()).prop_map(|(s, i)| Op::Remove(s, i)),
                (s.clone(), s.clone()).prop_map(|(a, b)| Op::Union(a, b)),
                (s.clone(), s.clone()).prop_map(|(a, b)| Op::Intersect(a, b)),
                (s.clone(), s.clone()).prop_map(|(a, b)| Op::Subtract(a, b)),
                (s.clone(), u.clone()).prop_map(|(s, u)| Op::Reset(s, u)),
                (s.clone(), u.clone()).prop_map(|(s, u)| Op::Full(s, u)),
                (s.clone(), u).prop_map(|(s, u)| Op::Resize(s, u)),
                (s, i).prop_map(|(s, i)| Op::RemoveRenumbering(s, i)),
            ]
        }

        /// A set and its model: the universe and the members.
        type Pair = (ServerSet, (usize, BTreeSet<u32>));

        fn binary(pairs: &mut [Pair], a: usize, b: usize, op: &Op) {
            let (other, (other_universe, other_members)) = pairs[b].clone();
            let (set, (universe, members)) = &mut pairs[a];
            let before = set.clone();
            let result = match op {
                Op::Union(..) => set.union_with(&other),
                Op::Intersect(..) => set.intersect_with(&other),
                _ => set.subtract(&other),
            };
            if *universe != other_universe {
                assert!(result.is_err(), "{op:?} across universes must fail");
                assert_eq!(*set, before, "a failed {op:?} changes nothing");
                return;
            }
            assert!(result.is_ok());
            *members = match op {
                Op::Union(..) => members.union(&other_members).copied().collect(),
                Op::Intersect(..) => members.intersection(&other_members).copied().collect(),
                _ => members.difference(&other_members).copied().collect(),
            };
        }

        fn step(pairs: &mut [Pair], op: &Op) {
            match *op {
                Op::Union(a, b) | Op::Intersect(a, b) | Op::Subtract(a, b) => {
                    binary(pairs, a, b, op)
                }
                Op::Insert(s, i) => {
                    let (set, (universe, members)) = &mut pairs[s];
                    let added = (i as usize) < *universe && members.insert(i);
                    assert_eq!(set.insert(ServerIdx(i)), added);
                }
                Op::Remove(s, i) => {
                    let (set, (_, members)) = &mut pairs[s];
                    assert_eq!(set.remove(ServerIdx(i)), members.remove(&i));
                }
                Op::Reset(s, u) => {
                    pairs[s].0.reset(UNIVERSES[u]);
                    pairs[s].1 = (UNIVERSES[u], BTreeSet::new());
                }
                Op::Full(s, u) => {
                    pairs[s].0 = ServerSet::full(UNIVERSES[u]);
                    pairs[s].1 = (UNIVERSES[u], (0..UNIVERSES[u] as u32).collect());
                }
                Op::Resize(s, u) => {
                    let universe = UNIVERSES[u];
                    pairs[s].0.resize(universe);
                    pairs[s].1.0 = universe;
                    pairs[s].1.1.retain(|&m| (m as usize) < universe);
                }
                Op::RemoveRenumbering(s, i) => {
                    let (set, (universe, members)) = &mut pairs[s];
                    set.remove_renumbering(ServerIdx(i));
                    if (i as usize) < *universe {
                        *universe -= 1;
                        *members = members
                            .iter()
                            .filter(|&&m| m != i)
                            .map(|&m| if m > i { m - 1 } else { m })
                            .collect();
                    }
                }
            }
        }

        fn agrees(set: &ServerSet, (universe, members): &(usize, BTreeSet<u32>)) {
            assert_eq!(set.universe(), *universe);
            assert_eq!(set.words().len(), words_for(*universe));
            let listed: Vec<u32> = set.iter().map(|i| i.0).collect();
            assert_eq!(listed, members.iter().copied().collect::<Vec<_>>());
            assert_eq!(set.len(), members.len());
            assert!(
                listed.iter().all(|&m| (m as usize) < *universe),
                "bit past the universe"
            );
            let n = members.len();
            assert_eq!(set.nth(n), None);
            if let Some(&last) = members.iter().next_back() {
                assert_eq!(set.nth(n - 1), Some(ServerIdx(last)));
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 2000, rng_seed: proptest::test_runner::RngSeed::Fixed(14), ..ProptestConfig::default() })]
            #[test]
            fn sets_agree_with_a_btreeset_model(
                universes in proptest::collection::vec(0..UNIVERSES.len(), 4),
                ops in proptest::collection::vec(op(), 0..40),
            ) {
                let mut pairs: Vec<Pair> = universes
                    .iter()
                    .map(|&u| (ServerSet::empty(UNIVERSES[u]), (UNIVERSES[u], BTreeSet::new())))
                    .collect();
                for op in &ops {
                    step(&mut pairs, op);
                    for (set, model) in &pairs {
                        agrees(set, model);
                    }
                }
            }
        }
    }
}
