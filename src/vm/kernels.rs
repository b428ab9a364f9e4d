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
