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

use crate::bytecode::Stage;
use crate::cpu::{Isa, LINE_WORDS};
use crate::topology::TagId;

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

/// The most stages the one-pass chain kernel counts; longer rules go stage by stage.
pub(crate) const MAX_STAGES: usize = 8;

/// A rule for the one-pass kernel, read where it lies: its stages, the pool their tags index,
/// and the tag matrix (tag `t`'s row from word `t × stride` of `bits`; a tag without a row
/// reads as empty).
#[derive(Clone, Copy)]
pub(crate) struct Rule<'a> {
    pub(crate) stages: &'a [Stage],
    pub(crate) pool: &'a [TagId],
    pub(crate) bits: &'a [u64],
    pub(crate) stride: usize,
}

impl Rule<'_> {
    /// The tags of a stage (none when its range is outside the pool, which the verifier rules
    /// out).
    #[inline(always)]
    fn tags(&self, stage: &Stage) -> &[TagId] {
        let start = stage.start as usize;
        self.pool
            .get(start..start + usize::from(stage.len))
            .unwrap_or_default()
    }

    /// Whether the set after stage `s` is counted: a threshold above "not empty", or the last.
    #[inline(always)]
    pub(crate) fn counted(&self, s: usize) -> bool {
        self.stages.get(s).is_some_and(|stage| stage.min > 1) || s + 1 == self.stages.len()
    }

    /// Word `w` of `tag`'s row.
    #[inline(always)]
    fn word(&self, tag: TagId, w: usize) -> u64 {
        self.bits
            .get(tag.index() * self.stride + w)
            .copied()
            .unwrap_or(0)
    }

    /// Line `i` of `tag`'s row.
    #[inline(always)]
    fn line(&self, tag: TagId, i: usize) -> Option<&[u64; LINE_WORDS]> {
        let start = tag.index() * self.stride + i * LINE_WORDS;
        self.bits.get(start..)?.first_chunk::<LINE_WORDS>()
    }
}

/// `dst = src ∩ S₀ ∩ S₁ ∩ …` over `rule`, in one pass: each line's running set stays in
/// registers through every stage and is stored once. `counts[s]` gets the set bits after stage
/// `s` for each counted stage (untouched otherwise); stages past [`MAX_STAGES`] are not
/// counted. Stops at the shortest of `dst` and `src`, which must not be longer than a row.
#[inline(always)]
pub(crate) fn chain<I: Isa>(
    isa: I,
    dst: &mut [u64],
    src: &[u64],
    rule: &Rule<'_>,
    counts: &mut [u32; MAX_STAGES],
) {
    let len = dst.len().min(src.len());
    let (dst, _) = dst.split_at_mut(len);
    let (dst_lines, dst_tail) = dst.as_chunks_mut::<LINE_WORDS>();
    let src_lines = src.split_at(len).0.as_chunks::<LINE_WORDS>().0;
    let mut counters = [isa.zero(); MAX_STAGES];
    for (i, (d, s)) in dst_lines.iter_mut().zip(src_lines).enumerate() {
        let mut acc = *s;
        for (k, stage) in rule.stages.iter().enumerate() {
            let tags = rule.tags(stage);
            if !tags.is_empty() {
                let mut union = [0u64; LINE_WORDS];
                for line in tags.iter().filter_map(|&t| rule.line(t, i)) {
                    for (u, r) in union.iter_mut().zip(line) {
                        *u |= r;
                    }
                }
                for (a, u) in acc.iter_mut().zip(union) {
                    *a &= u;
                }
            }
            if rule.counted(k)
                && let Some(counter) = counters.get_mut(k)
            {
                *counter = isa.add_line(*counter, &acc);
            }
        }
        *d = acc;
    }
    for (k, (counter, count)) in counters.into_iter().zip(counts.iter_mut()).enumerate() {
        if rule.counted(k) {
            *count = isa.total(counter);
        }
    }
    let base = dst_lines.len() * LINE_WORDS;
    for (j, d) in dst_tail.iter_mut().enumerate() {
        let w = base + j;
        let mut acc = src.get(w).copied().unwrap_or(0);
        for (k, stage) in rule.stages.iter().enumerate() {
            let tags = rule.tags(stage);
            if !tags.is_empty() {
                acc &= tags.iter().fold(0, |u, &t| u | rule.word(t, w));
            }
            if rule.counted(k)
                && let Some(count) = counts.get_mut(k)
            {
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
                // A chain: `a` (counted: min 2), then a stage that only counts (min 1: not
                // counted), then `b ∪ old` (counted: the last), over a matrix of rows `len`
                // words apart, so rows start anywhere in a line.
                let bits: Vec<u64> = [a, b, old].concat();
                let tag = |t: usize| TagId::new(t).expect("a small id");
                let pool = [tag(0), tag(1), tag(2)];
                let stage = |start, len, min| Stage { start, len, min };
                let stages = [stage(0, 1, 2), stage(1, 0, 1), stage(1, 2, 1)];
                let rule = Rule {
                    stages: &stages,
                    pool: &pool,
                    bits: &bits,
                    stride: len,
                };
                let (mut dst, mut counts) = (old.to_vec(), [u32::MAX; MAX_STAGES]);
                dispatch!(kernels, |isa| {
                    chain(isa, &mut dst, src, &rule, &mut counts);
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
