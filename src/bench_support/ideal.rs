//! The yardsticks of the README's performance section, hand-written for exactly the workload's policy
//! `tags(north1,north2)->min(2); tags(north); halt()`:
//!
//! - the **ideal evaluations**: per word `(north1 | north2) & candidates`, summing popcounts; if
//!   the sum is at least 2 that is the result, else `north & candidates`. One per kernel this CPU
//!   runs ([`IdealKernel::available`]): AVX-512 with VPOPCNTDQ and AVX2 (a nibble-table popcount)
//!   over 64-byte aligned rows padded to whole lines, each compiled for its features and called
//!   out of line, and scalar words (with `popcnt` where the CPU has it). Each has a one-word
//!   path for clusters of up to 64 servers: the three words in registers, "at least two" as a
//!   bit test, no count, no loop; the scalar one is inlined into its caller. The benchmarks time
//!   every one and compare the VM with the fastest, so the VM cannot look faster than "the best"
//!   merely because a wide kernel is slow on a small cluster;
//! - the **ideal decision**: an evaluation and one uniform pick (select the k-th set bit);
//! - the **memoised floor**: what a cached decision cannot beat: the selected ids as a flat
//!   array, one wyrand draw, one multiply-shift to an index.

use crate::aligned::{AlignedWords, LINE_WORDS};
use crate::cpu::{Kernels, select_in_word};
use crate::rng::Rng;
use crate::topology::{ServerSet, Snapshot};

/// One 64-byte line of words.
type Line = [u64; LINE_WORDS];

/// Which code an ideal evaluation runs.
#[derive(Clone, Copy, Debug)]
pub struct IdealKernel(Kernels);

impl IdealKernel {
    /// Every kernel this CPU runs, widest first: `avx512`, `avx2`, then `scalar`.
    pub fn available() -> Vec<IdealKernel> {
        let mut kernels: Vec<IdealKernel> = Vec::new();
        for k in Kernels::available() {
            let scalar = matches!(k, Kernels::Popcnt(_) | Kernels::Portable(_));
            if !(scalar && kernels.iter().any(|k| k.is_scalar())) {
                kernels.push(IdealKernel(k));
            }
        }
        kernels
    }

    /// The widest kernel this CPU runs (not necessarily the fastest: time them all).
    pub fn widest() -> IdealKernel {
        IdealKernel(Kernels::best())
    }

    /// The scalar kernel: words, with `popcnt` where the CPU has it.
    pub fn scalar() -> IdealKernel {
        IdealKernel::available()
            .into_iter()
            .find(|k| k.is_scalar())
            .unwrap_or_else(IdealKernel::widest)
    }

    /// What runs: `avx512`, `avx2` or `scalar`.
    pub fn name(self) -> &'static str {
        if self.is_scalar() {
            "scalar"
        } else {
            self.0.name()
        }
    }

    fn is_scalar(self) -> bool {
        matches!(self.0, Kernels::Popcnt(_) | Kernels::Portable(_))
    }
}

/// The workload's rows, candidates and output, aligned and padded, with the kernel to run.
#[derive(Clone, Debug)]
pub struct Ideal {
    kernel: IdealKernel,
    north1: AlignedWords,
    north2: AlignedWords,
    north: AlignedWords,
    candidates: AlignedWords,
    out: AlignedWords,
}

/// The lines an evaluation reads and writes, and how many words hold servers.
struct Rows<'a> {
    words: usize,
    north1: &'a [Line],
    north2: &'a [Line],
    north: &'a [Line],
    candidates: &'a [Line],
    out: &'a mut [Line],
}

impl Ideal {
    /// The ideal evaluation of the workload's policy on `snapshot` over `candidates`.
    pub fn new(snapshot: &Snapshot, candidates: &ServerSet, kernel: IdealKernel) -> Ideal {
        let copy = |words: &[u64]| words.iter().copied().collect::<AlignedWords>();
        let row = |tag: &str| copy(snapshot.tagged_by_name(tag).words());
        Ideal {
            kernel,
            north1: row("north1"),
            north2: row("north2"),
            north: row("north"),
            candidates: copy(candidates.words()),
            out: AlignedWords::zeroed(candidates.words().len()),
        }
    }

    /// Evaluates the policy; returns whether it selected any server.
    #[inline]
    pub fn eval(&mut self) -> bool {
        fn lines(words: &AlignedWords) -> &[Line] {
            words.padded().as_chunks().0
        }
        let words = self.out.len();
        let rows = Rows {
            words,
            north1: lines(&self.north1),
            north2: lines(&self.north2),
            north: lines(&self.north),
            candidates: lines(&self.candidates),
            out: self.out.padded_mut().as_chunks_mut().0,
        };
        match self.kernel.0 {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: an `Avx512` token exists only on a CPU with AVX-512F and VPOPCNTDQ.
            Kernels::Avx512(_) => unsafe { x86::eval_avx512(rows) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: an `Avx2` token exists only on a CPU with AVX2.
            Kernels::Avx2(_) => unsafe { x86::eval_avx2(rows) },
            _ if words == 1 => one_word(rows),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: a `Popcnt` token exists only on a CPU with `popcnt`.
            Kernels::Popcnt(_) => unsafe { x86::eval_popcnt(rows) },
            _ => evaluate(rows, pass_scalar),
        }
    }

    /// The number of servers the last evaluation selected.
    pub fn count(&self) -> u32 {
        self.out.iter().map(|w| w.count_ones()).sum()
    }

    /// The ideal decision: evaluates, then picks one selected server uniformly.
    #[inline]
    pub fn decide(&mut self, rng: &mut Rng) -> Option<usize> {
        self.eval();
        let mut k = rng.below(u64::from(self.count())) as u32;
        for (w, &word) in self.out.iter().enumerate() {
            let ones = word.count_ones();
            if k < ones {
                return Some(w * 64 + select_in_word(word, k) as usize);
            }
            k -= ones;
        }
        None
    }

    /// The words of the last evaluation's result.
    pub fn selected(&self) -> &[u64] {
        &self.out
    }

    /// The memoised floor of a decision over the last evaluation's result.
    pub fn memo_floor(&self, seed: u64) -> MemoFloor {
        let ids = self
            .out
            .iter()
            .enumerate()
            .flat_map(|(w, &word)| {
                (0..64u32)
                    .filter(move |bit| word & (1 << bit) != 0)
                    .map(move |bit| w as u32 * 64 + bit)
            })
            .collect();
        MemoFloor {
            ids,
            rng: Rng::seeded(seed),
        }
    }
}

/// The policy over one word: three loads, OR, AND, a bit test for "at least two", a store.
#[inline(always)]
fn one_word(rows: Rows<'_>) -> bool {
    let word = |lines: &[Line]| lines.first().map_or(0, |l| l[0]);
    let candidates = word(rows.candidates);
    let first = (word(rows.north1) | word(rows.north2)) & candidates;
    let result = if first & first.wrapping_sub(1) != 0 {
        first
    } else {
        word(rows.north) & candidates
    };
    if let Some(line) = rows.out.first_mut() {
        line[0] = result;
    }
    result != 0
}

/// The policy with `pass` over whole lines, or over one word when that is all there is.
#[inline(always)]
fn evaluate(
    rows: Rows<'_>,
    pass: impl Fn(&[Line], Option<&[Line]>, &[Line], &mut [Line]) -> u32,
) -> bool {
    if rows.words == 1 {
        return one_word(rows);
    }
    if pass(rows.north1, Some(rows.north2), rows.candidates, rows.out) >= 2 {
        return true;
    }
    pass(rows.north, None, rows.candidates, rows.out) > 0
}

/// A decision at its floor: a flat array of ids, one draw, one multiply-shift.
#[derive(Clone, Debug)]
pub struct MemoFloor {
    ids: Vec<u32>,
    rng: Rng,
}

impl MemoFloor {
    /// One uniformly random id of the selection (`None` if it is empty).
    #[inline]
    pub fn decide(&mut self) -> Option<u32> {
        let at = self.rng.scaled(self.ids.len());
        self.ids.get(at).copied()
    }
}

/// `out = (a | b) & c` (or `a & c` without `b`) over whole lines, returning the set bits.
#[inline(always)]
fn pass_scalar(a: &[Line], b: Option<&[Line]>, c: &[Line], out: &mut [Line]) -> u32 {
    let (a, c, out) = (a.as_flattened(), c.as_flattened(), out.as_flattened_mut());
    let mut count = 0;
    match b {
        Some(b) => {
            for (((o, a), b), c) in out.iter_mut().zip(a).zip(b.as_flattened()).zip(c) {
                *o = (a | b) & c;
                count += o.count_ones();
            }
        }
        None => {
            for ((o, a), c) in out.iter_mut().zip(a).zip(c) {
                *o = a & c;
                count += o.count_ones();
            }
        }
    }
    count
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{Line, Rows, evaluate, pass_scalar};

    /// Half a line: one AVX2 register.
    type Half = [u64; 4];

    #[target_feature(enable = "popcnt")]
    pub(super) fn eval_popcnt(rows: Rows<'_>) -> bool {
        evaluate(rows, pass_scalar)
    }

    #[target_feature(enable = "avx512f,avx512vpopcntdq,popcnt")]
    pub(super) fn eval_avx512(rows: Rows<'_>) -> bool {
        evaluate(rows, |a, b, c, out| pass_avx512(a, b, c, out))
    }

    #[target_feature(enable = "avx2,popcnt")]
    pub(super) fn eval_avx2(rows: Rows<'_>) -> bool {
        evaluate(rows, |a, b, c, out| pass_avx2(a, b, c, out))
    }

    #[target_feature(enable = "avx512f,avx512vpopcntdq")]
    #[inline]
    fn pass_avx512(a: &[Line], b: Option<&[Line]>, c: &[Line], out: &mut [Line]) -> u32 {
        let load = |line: &Line| {
            // SAFETY: a line is 64 readable bytes; AVX-512F is enabled here.
            unsafe { _mm512_loadu_si512(line.as_ptr().cast()) }
        };
        let mut counts = _mm512_setzero_si512();
        let mut store = |o: &mut Line, v: __m512i| {
            // SAFETY: a line is 64 writable bytes; AVX-512F is enabled here.
            unsafe { _mm512_storeu_si512(o.as_mut_ptr().cast(), v) };
            counts = _mm512_add_epi64(counts, _mm512_popcnt_epi64(v));
        };
        match b {
            Some(b) => {
                for (((o, a), b), c) in out.iter_mut().zip(a).zip(b).zip(c) {
                    store(
                        o,
                        _mm512_and_si512(_mm512_or_si512(load(a), load(b)), load(c)),
                    );
                }
            }
            None => {
                for ((o, a), c) in out.iter_mut().zip(a).zip(c) {
                    store(o, _mm512_and_si512(load(a), load(c)));
                }
            }
        }
        _mm512_reduce_add_epi64(counts) as u32
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn pass_avx2(a: &[Line], b: Option<&[Line]>, c: &[Line], out: &mut [Line]) -> u32 {
        fn halves(lines: &[Line]) -> &[Half] {
            lines.as_flattened().as_chunks().0
        }
        let load = |half: &Half| {
            // SAFETY: half a line is 32 readable bytes; AVX2 is enabled here.
            unsafe { _mm256_loadu_si256(half.as_ptr().cast()) }
        };
        let table = _mm256_setr_epi8(
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2,
            3, 3, 4,
        );
        let nibble = _mm256_set1_epi8(0x0f);
        let mut counts = _mm256_setzero_si256();
        let mut store = |o: &mut Half, v: __m256i| {
            // SAFETY: half a line is 32 writable bytes; AVX2 is enabled here.
            unsafe { _mm256_storeu_si256(o.as_mut_ptr().cast(), v) };
            let low = _mm256_shuffle_epi8(table, _mm256_and_si256(v, nibble));
            let high =
                _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble));
            let bytes = _mm256_add_epi8(low, high);
            counts = _mm256_add_epi64(counts, _mm256_sad_epu8(bytes, _mm256_setzero_si256()));
        };
        let out = out.as_flattened_mut().as_chunks_mut::<4>().0;
        match b {
            Some(b) => {
                for (((o, a), b), c) in out.iter_mut().zip(halves(a)).zip(halves(b)).zip(halves(c))
                {
                    store(
                        o,
                        _mm256_and_si256(_mm256_or_si256(load(a), load(b)), load(c)),
                    );
                }
            }
            None => {
                for ((o, a), c) in out.iter_mut().zip(halves(a)).zip(halves(c)) {
                    store(o, _mm256_and_si256(load(a), load(c)));
                }
            }
        }
        let lanes = [
            _mm256_extract_epi64::<0>(counts),
            _mm256_extract_epi64::<1>(counts),
            _mm256_extract_epi64::<2>(counts),
            _mm256_extract_epi64::<3>(counts),
        ];
        lanes.iter().sum::<i64>() as u32
    }
}
