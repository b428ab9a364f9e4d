//! CPU features picked at run time, so the default build is the fast build.
//!
//! - The VM's word kernels are compiled four times: portable, with `popcnt`, with AVX2 and with
//!   AVX-512F + VPOPCNTDQ; [`Kernels::best`] picks the widest the CPU has, once. A token type per
//!   set of features ([`Isa`]) can only be made after detection, which is what makes calling
//!   the compiled-for-features code sound.
//! - BMI2 `pdep` selects the n-th set bit of a word in one instruction, but only where it is
//!   fast: Intel, and AMD from family 0x19 (Zen 3) on. Earlier AMD parts microcode it (tens to
//!   hundreds of cycles), so they keep the portable loop.

use std::sync::OnceLock;

/// What this CPU offers the VM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Features {
    /// The `popcnt` instruction.
    pub popcnt: bool,
    /// BMI2 `pdep`, and it is fast on this CPU.
    pub fast_pdep: bool,
    /// AVX2 (with `popcnt`).
    pub avx2: bool,
    /// AVX-512F with VPOPCNTDQ (with `popcnt`).
    pub avx512: bool,
}

impl Features {
    /// The names of the features this CPU has, as `/proc/cpuinfo` spells them: what
    /// benchmarks print beside their figures.
    pub fn names(&self) -> Vec<&'static str> {
        [
            (self.popcnt, "popcnt"),
            (self.avx2, "avx2"),
            (self.avx512, "avx512f"),
            (self.avx512, "avx512_vpopcntdq"),
            (self.fast_pdep, "bmi2 (fast pdep)"),
        ]
        .into_iter()
        .filter_map(|(has, name)| has.then_some(name))
        .collect()
    }
}

/// The CPU's name as it reports it (`cpuid` leaves 0x80000002-4), if it does.
#[cfg(all(target_arch = "x86_64", any(test, feature = "bench")))]
pub(crate) fn brand() -> Option<String> {
    if cpuid(0x8000_0000).eax < 0x8000_0004 {
        return None;
    }
    let bytes: Vec<u8> = (0x8000_0002..=0x8000_0004)
        .map(cpuid)
        .flat_map(|r| [r.eax, r.ebx, r.ecx, r.edx])
        .flat_map(u32::to_le_bytes)
        .collect();
    let name = String::from_utf8_lossy(&bytes);
    let name = name.trim_matches(char::from(0)).trim();
    (!name.is_empty()).then(|| name.to_owned())
}

#[cfg(all(not(target_arch = "x86_64"), any(test, feature = "bench")))]
pub(crate) fn brand() -> Option<String> {
    None
}

/// The features of the CPU we run on, detected once.
pub fn features() -> Features {
    static FEATURES: OnceLock<Features> = OnceLock::new();
    *FEATURES.get_or_init(detect)
}

#[cfg(target_arch = "x86_64")]
fn detect() -> Features {
    use std::arch::is_x86_feature_detected as has;
    let popcnt = has!("popcnt");
    Features {
        popcnt,
        fast_pdep: has!("bmi2") && pdep_is_fast(),
        avx2: popcnt && has!("avx2"),
        avx512: popcnt && has!("avx512f") && has!("avx512vpopcntdq"),
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> Features {
    Features {
        popcnt: false,
        fast_pdep: false,
        avx2: false,
        avx512: false,
    }
}

/// The `cpuid` leaf `leaf`.
#[cfg(target_arch = "x86_64")]
#[allow(
    unused_unsafe,
    reason = "`__cpuid` is a safe function from Rust 1.94 on, and unsafe in the older Rusts that `rust-version` admits"
)]
fn cpuid(leaf: u32) -> std::arch::x86_64::CpuidResult {
    // SAFETY: every x86_64 CPU has the `cpuid` instruction; a leaf it does not have returns
    // unspecified values, never faults (callers check the highest leaf first where it matters).
    unsafe { std::arch::x86_64::__cpuid(leaf) }
}

/// Intel, or AMD family 0x19 (Zen 3) and later.
#[cfg(target_arch = "x86_64")]
fn pdep_is_fast() -> bool {
    let vendor = cpuid(0);
    let mut name = [0u8; 12];
    for (chunk, register) in name
        .chunks_exact_mut(4)
        .zip([vendor.ebx, vendor.edx, vendor.ecx])
    {
        chunk.copy_from_slice(&register.to_le_bytes());
    }
    match &name {
        b"GenuineIntel" => true,
        b"AuthenticAMD" | b"HygonGenuine" => {
            let eax = cpuid(1).eax;
            let base = (eax >> 8) & 0xf;
            let family = if base == 0xf {
                base + ((eax >> 20) & 0xff)
            } else {
                base
            };
            family >= 0x19
        }
        _ => false,
    }
}

/// Words in one 64-byte line: one AVX-512 register, two AVX2 registers.
pub(crate) const LINE_WORDS: usize = 8;

/// How the word executor runs a kernel: out of line, compiled for a set of CPU features, and
/// how a kernel counts the bits of a 64-byte line with them. Each kernel gets a function of
/// its own, so its loop keeps its pointers in registers however large the executor around it
/// is. A token of a type other than [`Portable`] exists only on a CPU with its features.
// PERF: inlined into the executor, the two-tag loop reloaded a pointer from the stack twice per
// iteration; out of line, the benchmark workload takes 1187 instead of 1354 instructions per
// evaluation at 8192 servers and 293 instead of 347 at 1024 (callgrind), and the VM's time
// against the ideal loop went from about 1.73x to 1.44x at 1024 (interleaved timing).
pub(crate) trait Isa: Copy {
    /// A running count of set bits.
    type Counter: Copy;
    /// Runs `kernel` out of line, compiled with the token's features.
    fn run<R>(self, kernel: impl FnOnce() -> R) -> R;
    /// Runs `kernel(a, b, c, d)` out of line, compiled with the token's features: for a kernel
    /// whose arguments are many, since they travel in registers (a slice takes two, `()` for an
    /// argument a kernel does not have takes none), where [`Isa::run`]'s captures are stored to
    /// the stack and read back.
    // PERF: the word kernels through `run4` instead of `run`: the benchmark workload takes 226
    // instead of 237 instructions per evaluation at 1,024 servers on the AVX-512 path (a
    // benchmark loop stepped under gdb, `scripts/stepi_count.py`), 11.0 instead of 12.3 ns.
    fn run4<A, B, C, D, R>(self, args: (A, B, C, D), kernel: impl FnOnce(A, B, C, D) -> R) -> R;
    /// A counter at zero.
    fn zero(self) -> Self::Counter;
    /// `counter` plus the set bits of `line`.
    fn add_line(self, counter: Self::Counter, line: &[u64; LINE_WORDS]) -> Self::Counter;
    /// The count.
    fn total(self, counter: Self::Counter) -> u32;
}

/// Per-lane counts, one per word of a line: what LLVM turns into vector code by itself
/// (a nibble-table popcount under AVX2).
type Lanes = [u64; LINE_WORDS];

#[inline(always)]
fn add_lanes(mut lanes: Lanes, line: &[u64; LINE_WORDS]) -> Lanes {
    for (lane, word) in lanes.iter_mut().zip(line) {
        *lane += u64::from(word.count_ones());
    }
    lanes
}

#[inline(always)]
fn total_lanes(lanes: Lanes) -> u32 {
    // A line has at most 512 bits and sets have fewer than 2^32 servers: no truncation.
    lanes.iter().sum::<u64>() as u32
}

/// Implements the counter of [`Isa`] with [`Lanes`].
macro_rules! lanes_counter {
    () => {
        type Counter = Lanes;
        #[inline(always)]
        fn zero(self) -> Lanes {
            [0; LINE_WORDS]
        }
        #[inline(always)]
        fn add_line(self, lanes: Lanes, line: &[u64; LINE_WORDS]) -> Lanes {
            add_lanes(lanes, line)
        }
        #[inline(always)]
        fn total(self, lanes: Lanes) -> u32 {
            total_lanes(lanes)
        }
    };
}

/// Kernels compiled for the baseline CPU.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Portable;

impl Isa for Portable {
    lanes_counter!();
    #[inline(always)]
    fn run<R>(self, kernel: impl FnOnce() -> R) -> R {
        out_of_line(kernel)
    }
    #[inline(always)]
    fn run4<A, B, C, D, R>(
        self,
        (a, b, c, d): (A, B, C, D),
        kernel: impl FnOnce(A, B, C, D) -> R,
    ) -> R {
        out_of_line4(a, b, c, d, kernel)
    }
}

#[inline(never)]
fn out_of_line<R>(kernel: impl FnOnce() -> R) -> R {
    kernel()
}

#[inline(never)]
fn out_of_line4<A, B, C, D, R>(a: A, b: B, c: C, d: D, kernel: impl FnOnce(A, B, C, D) -> R) -> R {
    kernel(a, b, c, d)
}

/// Kernels compiled with `popcnt`; a value exists only on a CPU that has it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Popcnt(());

impl Isa for Popcnt {
    lanes_counter!();
    #[inline(always)]
    fn run<R>(self, kernel: impl FnOnce() -> R) -> R {
        // SAFETY: a `Popcnt` is only made by `Kernels::available`, after the CPU was found to have
        // `popcnt`, all `out_of_line_popcnt` requires.
        unsafe { out_of_line_popcnt(kernel) }
    }
    #[inline(always)]
    fn run4<A, B, C, D, R>(
        self,
        (a, b, c, d): (A, B, C, D),
        kernel: impl FnOnce(A, B, C, D) -> R,
    ) -> R {
        // SAFETY: as in `run`.
        unsafe { out_of_line4_popcnt(a, b, c, d, kernel) }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
#[inline(never)]
fn out_of_line_popcnt<R>(kernel: impl FnOnce() -> R) -> R {
    kernel()
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(never)]
unsafe fn out_of_line_popcnt<R>(kernel: impl FnOnce() -> R) -> R {
    kernel()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
#[inline(never)]
fn out_of_line4_popcnt<A, B, C, D, R>(
    a: A,
    b: B,
    c: C,
    d: D,
    kernel: impl FnOnce(A, B, C, D) -> R,
) -> R {
    kernel(a, b, c, d)
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(never)]
unsafe fn out_of_line4_popcnt<A, B, C, D, R>(
    a: A,
    b: B,
    c: C,
    d: D,
    kernel: impl FnOnce(A, B, C, D) -> R,
) -> R {
    kernel(a, b, c, d)
}

/// Kernels compiled with AVX2 (and `popcnt`), counting a line with a nibble-table popcount; a
/// value exists only on a CPU that has both.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx2(());

#[cfg(target_arch = "x86_64")]
impl Isa for Avx2 {
    type Counter = std::arch::x86_64::__m256i;

    #[inline(always)]
    fn zero(self) -> Self::Counter {
        // SAFETY: the token proves AVX2 (see `run`).
        unsafe { std::arch::x86_64::_mm256_setzero_si256() }
    }

    /// Mula's nibble-table popcount: two table lookups per byte, then `vpsadbw` sums the
    /// bytes of each word into the counter's four lanes.
    #[inline(always)]
    fn add_line(self, counter: Self::Counter, line: &[u64; LINE_WORDS]) -> Self::Counter {
        use std::arch::x86_64::*;
        // SAFETY: the token proves AVX2 (see `run`); each half of `line` is 32 readable bytes,
        // exactly what each unaligned load reads.
        unsafe {
            let table = _mm256_setr_epi8(
                0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3,
                2, 3, 3, 4,
            );
            let nibble = _mm256_set1_epi8(0x0f);
            // No closure for the two halves: it would be compiled without AVX2 (see `count`).
            let (first, second) = line.split_at(LINE_WORDS / 2);
            let a = _mm256_loadu_si256(first.as_ptr().cast());
            let b = _mm256_loadu_si256(second.as_ptr().cast());
            let a_low = _mm256_shuffle_epi8(table, _mm256_and_si256(a, nibble));
            let a_high =
                _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(a, 4), nibble));
            let b_low = _mm256_shuffle_epi8(table, _mm256_and_si256(b, nibble));
            let b_high =
                _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(b, 4), nibble));
            let bytes = _mm256_add_epi8(
                _mm256_add_epi8(a_low, a_high),
                _mm256_add_epi8(b_low, b_high),
            );
            _mm256_add_epi64(counter, _mm256_sad_epu8(bytes, _mm256_setzero_si256()))
        }
    }

    #[inline(always)]
    fn total(self, counter: Self::Counter) -> u32 {
        use std::arch::x86_64::_mm256_extract_epi64;
        // SAFETY: the token proves AVX2 (see `run`).
        let lanes = unsafe {
            [
                _mm256_extract_epi64::<0>(counter),
                _mm256_extract_epi64::<1>(counter),
                _mm256_extract_epi64::<2>(counter),
                _mm256_extract_epi64::<3>(counter),
            ]
        };
        // Counts of sets of fewer than 2^32 servers: no truncation.
        lanes.iter().sum::<i64>() as u32
    }

    #[inline(always)]
    fn run<R>(self, kernel: impl FnOnce() -> R) -> R {
        // SAFETY: an `Avx2` is only made by `Kernels::available`, after the CPU was found to have
        // AVX2 and `popcnt`, all `out_of_line_avx2` requires.
        unsafe { out_of_line_avx2(kernel) }
    }

    #[inline(always)]
    fn run4<A, B, C, D, R>(
        self,
        (a, b, c, d): (A, B, C, D),
        kernel: impl FnOnce(A, B, C, D) -> R,
    ) -> R {
        // SAFETY: as in `run`.
        unsafe { out_of_line4_avx2(a, b, c, d, kernel) }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
#[inline(never)]
fn out_of_line_avx2<R>(kernel: impl FnOnce() -> R) -> R {
    kernel()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
#[inline(never)]
fn out_of_line4_avx2<A, B, C, D, R>(
    a: A,
    b: B,
    c: C,
    d: D,
    kernel: impl FnOnce(A, B, C, D) -> R,
) -> R {
    kernel(a, b, c, d)
}

/// Kernels compiled with AVX-512F and VPOPCNTDQ (and `popcnt`), counting a line with one
/// `vpopcntq`; a value exists only on a CPU that has all three.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx512(());

#[cfg(target_arch = "x86_64")]
impl Isa for Avx512 {
    type Counter = std::arch::x86_64::__m512i;

    #[inline(always)]
    fn run<R>(self, kernel: impl FnOnce() -> R) -> R {
        // SAFETY: an `Avx512` is only made by `Kernels::available`, after the CPU was found to
        // have AVX-512F, VPOPCNTDQ and `popcnt`, all `out_of_line_avx512` requires.
        unsafe { out_of_line_avx512(kernel) }
    }

    #[inline(always)]
    fn run4<A, B, C, D, R>(
        self,
        (a, b, c, d): (A, B, C, D),
        kernel: impl FnOnce(A, B, C, D) -> R,
    ) -> R {
        // SAFETY: as in `run`.
        unsafe { out_of_line4_avx512(a, b, c, d, kernel) }
    }

    #[inline(always)]
    fn zero(self) -> Self::Counter {
        // SAFETY: the token proves AVX-512F (see `run`).
        unsafe { std::arch::x86_64::_mm512_setzero_si512() }
    }

    #[inline(always)]
    fn add_line(self, counter: Self::Counter, line: &[u64; LINE_WORDS]) -> Self::Counter {
        use std::arch::x86_64::{_mm512_add_epi64, _mm512_loadu_si512, _mm512_popcnt_epi64};
        // SAFETY: the token proves AVX-512F and VPOPCNTDQ (see `run`); `line` is 64 readable
        // bytes, exactly what the unaligned load reads.
        unsafe {
            let words = _mm512_loadu_si512(line.as_ptr().cast());
            _mm512_add_epi64(counter, _mm512_popcnt_epi64(words))
        }
    }

    #[inline(always)]
    fn total(self, counter: Self::Counter) -> u32 {
        // SAFETY: the token proves AVX-512F (see `run`).
        let sum = unsafe { std::arch::x86_64::_mm512_reduce_add_epi64(counter) };
        // Counts of sets of fewer than 2^32 servers: no truncation.
        sum as u32
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vpopcntdq,popcnt")]
#[inline(never)]
fn out_of_line_avx512<R>(kernel: impl FnOnce() -> R) -> R {
    kernel()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vpopcntdq,popcnt")]
#[inline(never)]
fn out_of_line4_avx512<A, B, C, D, R>(
    a: A,
    b: B,
    c: C,
    d: D,
    kernel: impl FnOnce(A, B, C, D) -> R,
) -> R {
    kernel(a, b, c, d)
}

/// The widest kernels this CPU runs, detected once: what the word executor and the benchmark's
/// ideal kernel run.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kernels {
    /// AVX-512F with VPOPCNTDQ.
    #[cfg(target_arch = "x86_64")]
    Avx512(Avx512),
    /// AVX2.
    #[cfg(target_arch = "x86_64")]
    Avx2(Avx2),
    /// Scalar, with `popcnt`.
    Popcnt(Popcnt),
    /// Scalar, baseline.
    Portable(Portable),
}

/// `$body` with `$isa` bound to the token of `$kernels`: one copy of `$body` per kernel set,
/// each compiled for its features.
macro_rules! with_isa {
    ($kernels:expr, |$isa:ident| $body:expr) => {
        match $kernels {
            #[cfg(target_arch = "x86_64")]
            $crate::cpu::Kernels::Avx512($isa) => $body,
            #[cfg(target_arch = "x86_64")]
            $crate::cpu::Kernels::Avx2($isa) => $body,
            $crate::cpu::Kernels::Popcnt($isa) => $body,
            $crate::cpu::Kernels::Portable($isa) => $body,
        }
    };
}
pub(crate) use with_isa;

impl Kernels {
    /// The best kernels of this CPU.
    #[inline(always)]
    pub(crate) fn best() -> Kernels {
        static BEST: OnceLock<Kernels> = OnceLock::new();
        *BEST.get_or_init(|| {
            Kernels::available()
                .first()
                .copied()
                .unwrap_or(Kernels::Portable(Portable))
        })
    }

    /// Every kernel set this CPU runs, best first (for tests and benchmarks).
    pub(crate) fn available() -> Vec<Kernels> {
        let cpu = features();
        let mut all = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if cpu.avx512 {
                all.push(Kernels::Avx512(Avx512(())));
            }
            if cpu.avx2 {
                all.push(Kernels::Avx2(Avx2(())));
            }
        }
        if cpu.popcnt {
            all.push(Kernels::Popcnt(Popcnt(())));
        }
        all.push(Kernels::Portable(Portable));
        all
    }

    /// The kernels' name as reports print it: `avx512`, `avx2`, `popcnt` or `portable`.
    #[cfg(any(test, feature = "bench"))]
    pub(crate) fn name(self) -> &'static str {
        match self {
            #[cfg(target_arch = "x86_64")]
            Kernels::Avx512(_) => "avx512",
            #[cfg(target_arch = "x86_64")]
            Kernels::Avx2(_) => "avx2",
            Kernels::Popcnt(_) => "popcnt",
            Kernels::Portable(_) => "portable",
        }
    }
}

/// The number of set bits of `words`, with the kernels of `isa`.
// PERF: plain loops, no closures: a closure is a function of its own, compiled without the
// kernel's target features, so the vector intrinsics inside it were calls (with `fold` here and
// a closure in the AVX2 `add_line`, counting 8,192 bits took 1.6 µs instead of tens of ns).
#[inline(always)]
pub(crate) fn count<I: Isa>(isa: I, words: &[u64]) -> u32 {
    let (lines, tail) = words.as_chunks::<LINE_WORDS>();
    let mut counter = isa.zero();
    for line in lines {
        counter = isa.add_line(counter, line);
    }
    let mut total = isa.total(counter);
    for word in tail {
        total += word.count_ones();
    }
    total
}

/// The number of set bits of `words`, with the best kernels of this CPU: the default build's
/// `count_ones` is a sequence of shifts and masks, not `popcnt`. Fewer than a line of words
/// are counted in place (the kernel's call costs more than they do).
pub(crate) fn count_ones(words: &[u64]) -> usize {
    if words.len() < LINE_WORDS {
        return words.iter().map(|w| w.count_ones() as usize).sum();
    }
    with_isa!(Kernels::best(), |isa| isa.run(|| count(isa, words))) as usize
}

/// The position of the `n`-th set bit of `word` (from 0, counting from the least significant
/// bit); 64 when `word` has `n` or fewer. One `pdep` where BMI2 is fast, else a binary search
/// on popcounts (six halvings, no loop over the bits).
#[inline]
pub fn select_in_word(word: u64, n: u32) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if features().fast_pdep {
        // SAFETY: `fast_pdep` is only true when `is_x86_feature_detected!("bmi2")` said the
        // CPU has BMI2, which is all `select_pdep` requires.
        return unsafe { select_pdep(word, n) };
    }
    select_portable(word, n)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "bmi2")]
fn select_pdep(word: u64, n: u32) -> u32 {
    if n >= 64 {
        return 64;
    }
    std::arch::x86_64::_pdep_u64(1u64 << n, word).trailing_zeros()
}

/// [`select_in_word`] without BMI2: halve the window towards the bit, by popcount.
fn select_portable(word: u64, mut n: u32) -> u32 {
    if n >= word.count_ones() {
        return 64;
    }
    let (mut at, mut rest) = (0u32, word);
    for width in [32u32, 16, 8, 4, 2, 1] {
        let low = (rest & ((1u64 << width) - 1)).count_ones();
        if n >= low {
            n -= low;
            at += width;
            rest >>= width;
        }
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition: drop the lowest set bit `n` times, then take the lowest.
    fn select_by_definition(mut word: u64, n: u32) -> u32 {
        for _ in 0..n {
            if word == 0 {
                return 64;
            }
            word &= word - 1;
        }
        word.trailing_zeros()
    }

    #[test]
    fn count_ones_counts_every_length_with_every_kernel() {
        let mut rng = crate::rng::Rng::seeded(11);
        let words: Vec<u64> = (0..300).map(|_| rng.next_u64() & rng.next_u64()).collect();
        for len in 0..=words.len() {
            for start in [0, 1, 3] {
                let slice = words.get(start..len.max(start)).unwrap_or_default();
                let want: u32 = slice.iter().map(|w| w.count_ones()).sum();
                assert_eq!(count_ones(slice), want as usize, "len {len} from {start}");
                for kernels in Kernels::available() {
                    let counted = with_isa!(kernels, |isa| isa.run(|| count(isa, slice)));
                    assert_eq!(counted, want, "{} len {len}", kernels.name());
                }
            }
        }
    }

    #[test]
    fn select_finds_each_set_bit() {
        let word = 0b1011_0100u64 | (1 << 63);
        let positions: Vec<u32> = (0..6).map(|n| select_in_word(word, n)).collect();
        assert_eq!(positions, [2, 4, 5, 7, 63, 64]);
    }

    #[test]
    fn both_selects_agree_with_the_definition() {
        let mut rng = crate::rng::Rng::seeded(7);
        let words = [
            0u64,
            1,
            u64::MAX,
            0x8000_0000_0000_0001,
            0xdead_beef_f00d_cafe,
        ]
        .into_iter()
        .chain((0..200).map(|_| rng.next_u64() & rng.next_u64()));
        for word in words {
            for n in 0..66 {
                let wanted = select_by_definition(word, n);
                assert_eq!(select_portable(word, n), wanted, "{word:#x} {n}");
                assert_eq!(select_in_word(word, n), wanted, "{word:#x} {n}");
            }
        }
    }

    #[test]
    fn the_fast_select_agrees_with_the_portable_one_on_this_cpu() {
        let words = [
            0u64,
            1,
            u64::MAX,
            0x8000_0000_0000_0001,
            0xdead_beef_f00d_cafe,
        ];
        for word in words {
            for n in 0..66 {
                assert_eq!(
                    select_in_word(word, n),
                    select_portable(word, n),
                    "{word:#x} {n}"
                );
            }
        }
    }
}
