//! Word-at-a-time loops: AND with one row or a union of rows, counting as they write.
//!
//! Each kernel writes every word of `dst` and returns the number of set bits written, so a
//! filter, its `min` and the early exit on an empty set cost one pass. They work a 64-byte line
//! (eight words) at a time, then the words left over; the line's popcount goes to the
//! [`Isa`]'s counter (vector popcounts under AVX-512, per-lane counts that LLVM vectorises under
//! AVX2, `popcnt` or the portable count otherwise). The word executor runs them out of line
//! through the `Isa`, compiled for its CPU features.
// PERF: written as lines of fixed-size arrays, the AVX2 build is one load per input, the fused
// OR/AND, one store and a nibble-table popcount per 32 bytes; the AVX-512 build one `vpternlogq`
// and one `vpopcntq` per line. Left to the loop vectoriser without the counter, the AVX-512
// build vectorised across lines with gathers.

use crate::cpu::{Isa, LINE_WORDS};

/// `dst[w] = word(dst[w], [inputs[0][w], ...])` for every word, returning the set bits written.
/// Stops at the shortest of `dst` and the inputs.
#[inline(always)]
fn fused<const N: usize, I: Isa>(
    isa: I,
    dst: &mut [u64],
    inputs: [&[u64]; N],
    word: impl Fn(u64, [u64; N]) -> u64,
) -> u32 {
    let len = inputs.iter().fold(dst.len(), |n, s| n.min(s.len()));
    let (dst, _) = dst.split_at_mut(len);
    let inputs = inputs.map(|s| s.split_at(len).0);
    let (dst_lines, dst_tail) = dst.as_chunks_mut::<LINE_WORDS>();
    let lines = inputs.map(|s| s.as_chunks::<LINE_WORDS>());
    let mut counter = isa.zero();
    for (i, d) in dst_lines.iter_mut().enumerate() {
        // Every input has as many lines as `dst`: all are `len` words long.
        let sources = lines.map(|(l, _)| l[i]);
        for (k, d) in d.iter_mut().enumerate() {
            *d = word(*d, sources.map(|s| s[k]));
        }
        counter = isa.add_line(counter, d);
    }
    let mut count = isa.total(counter);
    for (i, d) in dst_tail.iter_mut().enumerate() {
        *d = word(*d, lines.map(|(_, tail)| tail[i]));
        count += d.count_ones();
    }
    count
}

/// `dst = src ∩ row`.
#[inline(always)]
pub(crate) fn and_from<I: Isa>(isa: I, dst: &mut [u64], src: &[u64], row: &[u64]) -> u32 {
    fused(isa, dst, [src, row], |_, [s, r]| s & r)
}

/// `dst ∩= row`.
#[inline(always)]
pub(crate) fn and_in_place<I: Isa>(isa: I, dst: &mut [u64], row: &[u64]) -> u32 {
    fused(isa, dst, [row], |d, [r]| d & r)
}

/// `dst = src ∩ (a ∪ b)`.
#[inline(always)]
pub(crate) fn and_union2_from<I: Isa>(
    isa: I,
    dst: &mut [u64],
    src: &[u64],
    a: &[u64],
    b: &[u64],
) -> u32 {
    fused(isa, dst, [src, a, b], |_, [s, x, y]| s & (x | y))
}

/// `dst ∩= (a ∪ b)`.
#[inline(always)]
pub(crate) fn and_union2_in_place<I: Isa>(isa: I, dst: &mut [u64], a: &[u64], b: &[u64]) -> u32 {
    fused(isa, dst, [a, b], |d, [x, y]| d & (x | y))
}

/// `dst = src ∩ ⋃ rows`, where `union_at(w)` is the union of the rows' word `w`.
#[inline(always)]
pub(crate) fn and_union_from(dst: &mut [u64], src: &[u64], union_at: impl Fn(usize) -> u64) -> u32 {
    let mut count = 0;
    for (w, (d, s)) in dst.iter_mut().zip(src).enumerate() {
        *d = s & union_at(w);
        count += d.count_ones();
    }
    count
}

/// `dst ∩= ⋃ rows`.
#[inline(always)]
pub(crate) fn and_union_in_place(dst: &mut [u64], union_at: impl Fn(usize) -> u64) -> u32 {
    let mut count = 0;
    for (w, d) in dst.iter_mut().enumerate() {
        *d &= union_at(w);
        count += d.count_ones();
    }
    count
}

/// The most stages the one-pass chain kernel holds; longer rules go stage by stage.
pub(crate) const MAX_STAGES: usize = 8;

/// The most tag rows, over all stages, the one-pass chain kernel holds.
pub(crate) const MAX_ROWS: usize = 16;

/// A rule's tag rows, resolved for one pass: stage `s` intersects with the union of
/// `rows[stage[s].0..stage[s].1]`, and with nothing when that is empty (a stage that only
/// counts).
#[derive(Clone, Copy)]
pub(crate) struct Chain<'m> {
    rows: [&'m [u64]; MAX_ROWS],
    /// Per stage: its rows' range in `rows`, and whether the set after it is counted.
    stages: [(usize, usize, bool); MAX_STAGES],
    len: usize,
}

impl<'m> Chain<'m> {
    /// An empty chain.
    pub(crate) fn new() -> Chain<'m> {
        Chain {
            rows: [&[]; MAX_ROWS],
            stages: [(0, 0, false); MAX_STAGES],
            len: 0,
        }
    }

    /// Adds a stage of `rows`, its set counted when `counted`; `None` (and the chain not to be
    /// used) when it holds no more.
    pub(crate) fn push(
        &mut self,
        rows: impl ExactSizeIterator<Item = &'m [u64]>,
        counted: bool,
    ) -> Option<()> {
        let start = match self.len {
            0 => 0,
            n => self.stages.get(n - 1)?.1,
        };
        let end = start + rows.len();
        let slots = self.rows.get_mut(start..end)?;
        for (slot, row) in slots.iter_mut().zip(rows) {
            *slot = row;
        }
        *self.stages.get_mut(self.len)? = (start, end, counted);
        self.len += 1;
        Some(())
    }

    /// The stages in use.
    fn stages(&self) -> &[(usize, usize, bool)] {
        self.stages.get(..self.len).unwrap_or_default()
    }

    /// The rows of a stage.
    #[inline(always)]
    fn rows_of(&self, (start, end, _): (usize, usize, bool)) -> &[&'m [u64]] {
        self.rows.get(start..end).unwrap_or_default()
    }
}

/// `dst = src ∩ S₀ ∩ S₁ ∩ …` over `chain`, in one pass: each line's running set stays in
/// registers through every stage and is stored once. `counts[s]` gets the set bits after stage
/// `s` for each counted stage (untouched otherwise). Stops at the shortest of `dst`, `src`
/// and the rows.
#[inline(always)]
pub(crate) fn chain<I: Isa>(
    isa: I,
    dst: &mut [u64],
    src: &[u64],
    chain: &Chain<'_>,
    counts: &mut [u32; MAX_STAGES],
) {
    let stages = chain.stages();
    let used = chain.rows.get(..stages.last().map_or(0, |s| s.1));
    let len = used
        .unwrap_or_default()
        .iter()
        .fold(dst.len().min(src.len()), |n, r| n.min(r.len()));
    let (dst, _) = dst.split_at_mut(len);
    let (dst_lines, dst_tail) = dst.as_chunks_mut::<LINE_WORDS>();
    let src_lines = src.split_at(len).0.as_chunks::<LINE_WORDS>().0;
    // Each used row's whole lines, split once, not once a line.
    let mut row_lines: [&[[u64; LINE_WORDS]]; MAX_ROWS] = [&[]; MAX_ROWS];
    for (lines, row) in row_lines.iter_mut().zip(used.unwrap_or_default()) {
        *lines = row.as_chunks::<LINE_WORDS>().0;
    }
    let mut counters = [isa.zero(); MAX_STAGES];
    for (i, (d, s)) in dst_lines.iter_mut().zip(src_lines).enumerate() {
        let mut acc = *s;
        for (&stage, counter) in stages.iter().zip(counters.iter_mut()) {
            let (start, end, _) = stage;
            if start < end {
                let mut union = [0u64; LINE_WORDS];
                for lines in row_lines.get(start..end).unwrap_or_default() {
                    for (u, r) in union.iter_mut().zip(lines.get(i).into_iter().flatten()) {
                        *u |= r;
                    }
                }
                for (a, u) in acc.iter_mut().zip(union) {
                    *a &= u;
                }
            }
            if stage.2 {
                *counter = isa.add_line(*counter, &acc);
            }
        }
        *d = acc;
    }
    for ((&stage, counter), count) in stages.iter().zip(counters).zip(counts.iter_mut()) {
        if stage.2 {
            *count = isa.total(counter);
        }
    }
    let base = dst_lines.len() * LINE_WORDS;
    for (k, d) in dst_tail.iter_mut().enumerate() {
        let w = base + k;
        let mut acc = src.get(w).copied().unwrap_or(0);
        for (&stage, count) in stages.iter().zip(counts.iter_mut()) {
            let rows = chain.rows_of(stage);
            if !rows.is_empty() {
                acc &= rows
                    .iter()
                    .fold(0, |u, row| u | row.get(w).copied().unwrap_or(0));
            }
            if stage.2 {
                *count += acc.count_ones();
            }
        }
        *d = acc;
    }
}

/// `dst = src`, returning the set bits.
#[inline(always)]
pub(crate) fn copy_from<I: Isa>(isa: I, dst: &mut [u64], src: &[u64]) -> u32 {
    fused(isa, dst, [src], |_, [s]| s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::{Isa, Kernels, count, with_isa};
    use crate::rng::Rng;

    /// Runs `kernel` with the token of `kernels`, out of line as the executor does.
    macro_rules! dispatch {
        ($kernels:expr, |$isa:ident| $body:expr) => {
            with_isa!($kernels, |$isa| $isa.run(|| $body))
        };
    }

    /// The kernels, one word at a time, as the definitions say.
    fn scalar(dst: &mut [u64], f: impl Fn(usize, u64) -> u64) -> u32 {
        dst.iter_mut()
            .enumerate()
            .map(|(w, d)| {
                *d = f(w, *d);
                d.count_ones()
            })
            .sum()
    }

    fn random_words(rng: &mut Rng, len: usize) -> Vec<u64> {
        // Sparse, dense and mixed words, so counts vary and lines differ.
        (0..len)
            .map(|_| match rng.below(4) {
                0 => 0,
                1 => u64::MAX,
                2 => rng.next_u64() & rng.next_u64(),
                _ => rng.next_u64(),
            })
            .collect()
    }

    /// Every fused kernel of every kernel set this CPU runs agrees with the scalar definition
    /// at every length from 1 to 300 words and at every offset of a line (so unaligned
    /// starts and every length of tail).
    #[test]
    fn every_kernel_set_agrees_with_the_definition_at_every_length_and_offset() {
        let mut rng = Rng::seeded(10);
        for kernels in Kernels::available() {
            for len in 1..=300 {
                let offset = len % LINE_WORDS;
                let pool: Vec<Vec<u64>> = (0..4)
                    .map(|_| random_words(&mut rng, len + offset))
                    .collect();
                let [src, a, b, old] = [0, 1, 2, 3].map(|i| &pool[i][offset..]);
                let check = |name: &str, got: (u32, Vec<u64>), want: (u32, Vec<u64>)| {
                    assert_eq!(
                        got,
                        want,
                        "{} {name} len {len} offset {offset}",
                        kernels.name()
                    );
                };
                let run = |kernel: &dyn Fn(&mut [u64]) -> u32| {
                    let mut dst = old.to_vec();
                    (kernel(&mut dst), dst)
                };
                let want = |f: &dyn Fn(usize, u64) -> u64| {
                    let mut dst = old.to_vec();
                    (scalar(&mut dst, f), dst)
                };
                check(
                    "and_from",
                    run(&|d| dispatch!(kernels, |isa| and_from(isa, d, src, a))),
                    want(&|w, _| src[w] & a[w]),
                );
                check(
                    "and_in_place",
                    run(&|d| dispatch!(kernels, |isa| and_in_place(isa, d, a))),
                    want(&|w, d| d & a[w]),
                );
                check(
                    "and_union2_from",
                    run(&|d| dispatch!(kernels, |isa| and_union2_from(isa, d, src, a, b))),
                    want(&|w, _| src[w] & (a[w] | b[w])),
                );
                check(
                    "and_union2_in_place",
                    run(&|d| dispatch!(kernels, |isa| and_union2_in_place(isa, d, a, b))),
                    want(&|w, d| d & (a[w] | b[w])),
                );
                // A chain: `a`, then a stage that only counts, then `b ∪ old`, uncounted in
                // the middle.
                let mut stages = Chain::new();
                for (rows, counted) in [(&[a][..], true), (&[], false), (&[b, old], true)] {
                    stages.push(rows.iter().copied(), counted).expect("room");
                }
                let (mut dst, mut counts) = (old.to_vec(), [u32::MAX; MAX_STAGES]);
                dispatch!(kernels, |isa| {
                    chain(isa, &mut dst, src, &stages, &mut counts);
                    0
                });
                let first: Vec<u64> = (0..len).map(|w| src[w] & a[w]).collect();
                let last: Vec<u64> = (0..len).map(|w| first[w] & (b[w] | old[w])).collect();
                let ones = |words: &[u64]| words.iter().map(|w| w.count_ones()).sum::<u32>();
                assert_eq!(
                    (dst, counts[..3].to_vec()),
                    (last.clone(), vec![ones(&first), u32::MAX, ones(&last)]),
                    "{} chain len {len} offset {offset}",
                    kernels.name()
                );
                let counted = dispatch!(kernels, |isa| count(isa, src));
                assert_eq!(
                    counted,
                    scalar(&mut src.to_vec(), |_, d| d),
                    "count len {len}"
                );
            }
        }
    }
}
