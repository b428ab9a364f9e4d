//! Word-at-a-time loops: AND with one row or a union of rows, counting as they write.
//!
//! Each kernel writes every word of `dst` and returns the number of set bits written, so a
//! filter, its `min` and the early exit on an empty set cost one pass.
//!
//! # Safety
//! Every kernel reads `dst.len()` words from each of its other slices. The executors only
//! pass slices of exactly that length: the candidates and the output are checked against the
//! snapshot's server count at the start of an evaluation, and every row of the tag matrix has
//! the same number of words. Reading by index without a per-slice bound keeps the loops, and
//! the executor that inlines them all, free of length bookkeeping.
// PERF: against the same loops over zipped iterators, index loops cut the instructions per
// evaluation of the benchmark workload from 375 to 353 at 1024 servers and from 1316 to 1242
// at 8192 (callgrind, same binary otherwise): the executor that inlines every kernel variant
// no longer computes and keeps the shortest length of each combination of slices.

/// Word `w` of `words`.
///
/// # Safety
/// `w < words.len()`.
#[inline(always)]
unsafe fn at(words: &[u64], w: usize) -> u64 {
    // SAFETY: the caller keeps `w` below the length.
    unsafe { *words.get_unchecked(w) }
}

/// `dst = src ∩ row`.
///
/// # Safety
/// `src` and `row` have at least `dst.len()` words.
#[inline(always)]
pub unsafe fn and_from(dst: &mut [u64], src: &[u64], row: &[u64]) -> u32 {
    let mut count = 0;
    for (w, d) in dst.iter_mut().enumerate() {
        // SAFETY: `w < dst.len()`, and the other slices are at least that long.
        *d = unsafe { at(src, w) & at(row, w) };
        count += d.count_ones();
    }
    count
}

/// `dst ∩= row`.
///
/// # Safety
/// `row` has at least `dst.len()` words.
#[inline(always)]
pub unsafe fn and_in_place(dst: &mut [u64], row: &[u64]) -> u32 {
    let mut count = 0;
    for (w, d) in dst.iter_mut().enumerate() {
        // SAFETY: as in `and_from`.
        *d &= unsafe { at(row, w) };
        count += d.count_ones();
    }
    count
}

/// `dst = src ∩ (a ∪ b)`.
///
/// # Safety
/// `src`, `a` and `b` have at least `dst.len()` words.
#[inline(always)]
pub unsafe fn and_union2_from(dst: &mut [u64], src: &[u64], a: &[u64], b: &[u64]) -> u32 {
    let mut count = 0;
    for (w, d) in dst.iter_mut().enumerate() {
        // SAFETY: as in `and_from`.
        *d = unsafe { at(src, w) & (at(a, w) | at(b, w)) };
        count += d.count_ones();
    }
    count
}

/// `dst ∩= (a ∪ b)`.
///
/// # Safety
/// `a` and `b` have at least `dst.len()` words.
#[inline(always)]
pub unsafe fn and_union2_in_place(dst: &mut [u64], a: &[u64], b: &[u64]) -> u32 {
    let mut count = 0;
    for (w, d) in dst.iter_mut().enumerate() {
        // SAFETY: as in `and_from`.
        *d &= unsafe { at(a, w) | at(b, w) };
        count += d.count_ones();
    }
    count
}

/// `dst = src ∩ ⋃ rows`, where `union_at(w)` is the union of the rows' word `w`.
///
/// # Safety
/// `src` has at least `dst.len()` words.
#[inline(always)]
pub unsafe fn and_union_from(dst: &mut [u64], src: &[u64], union_at: impl Fn(usize) -> u64) -> u32 {
    let mut count = 0;
    for (w, d) in dst.iter_mut().enumerate() {
        // SAFETY: as in `and_from`.
        *d = unsafe { at(src, w) } & union_at(w);
        count += d.count_ones();
    }
    count
}

/// `dst ∩= ⋃ rows`.
#[inline(always)]
pub fn and_union_in_place(dst: &mut [u64], union_at: impl Fn(usize) -> u64) -> u32 {
    let mut count = 0;
    for (w, d) in dst.iter_mut().enumerate() {
        *d &= union_at(w);
        count += d.count_ones();
    }
    count
}

/// The number of set bits.
#[inline(always)]
pub fn count(words: &[u64]) -> u32 {
    words.iter().map(|w| w.count_ones()).sum()
}
