//! Word-at-a-time loops: AND with one row or a union of rows, counting as they write.
//!
//! Each kernel writes every word of `dst` and returns the number of set bits written, so a
//! filter, its `min` and the early exit on an empty set cost one pass. The word executor runs
//! them out of line (`cpu::Isa`), compiled with `popcnt` where the CPU has it.
// PERF: out of line, safe zipped loops are as fast as unchecked index loops (1126 against 1187
// instructions per evaluation of the benchmark workload at 8192 servers, 285 against 293 at
// 1024, equal times; callgrind and interleaved timing), so the kernels have no `unsafe`.

/// `dst = src ∩ row`.
#[inline(always)]
pub fn and_from(dst: &mut [u64], src: &[u64], row: &[u64]) -> u32 {
    let mut count = 0;
    for ((d, s), r) in dst.iter_mut().zip(src).zip(row) {
        *d = s & r;
        count += d.count_ones();
    }
    count
}

/// `dst ∩= row`.
#[inline(always)]
pub fn and_in_place(dst: &mut [u64], row: &[u64]) -> u32 {
    let mut count = 0;
    for (d, r) in dst.iter_mut().zip(row) {
        *d &= r;
        count += d.count_ones();
    }
    count
}

/// `dst = src ∩ (a ∪ b)`.
#[inline(always)]
pub fn and_union2_from(dst: &mut [u64], src: &[u64], a: &[u64], b: &[u64]) -> u32 {
    let mut count = 0;
    for (((d, s), x), y) in dst.iter_mut().zip(src).zip(a).zip(b) {
        *d = s & (x | y);
        count += d.count_ones();
    }
    count
}

/// `dst ∩= (a ∪ b)`.
#[inline(always)]
pub fn and_union2_in_place(dst: &mut [u64], a: &[u64], b: &[u64]) -> u32 {
    let mut count = 0;
    for ((d, x), y) in dst.iter_mut().zip(a).zip(b) {
        *d &= x | y;
        count += d.count_ones();
    }
    count
}

/// `dst = src ∩ ⋃ rows`, where `rows(w)` is the union of the rows' word `w`.
#[inline(always)]
pub fn and_union_from(dst: &mut [u64], src: &[u64], union_at: impl Fn(usize) -> u64) -> u32 {
    let mut count = 0;
    for (w, (d, s)) in dst.iter_mut().zip(src).enumerate() {
        *d = s & union_at(w);
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
