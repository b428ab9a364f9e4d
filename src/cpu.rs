//! CPU features picked at run time, so the default build is the fast build.
//!
//! - `popcnt`: the VM's counting loops are compiled twice, with and without it.
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
}

/// The features of the CPU we run on, detected once.
pub fn features() -> Features {
    static FEATURES: OnceLock<Features> = OnceLock::new();
    *FEATURES.get_or_init(detect)
}

#[cfg(target_arch = "x86_64")]
fn detect() -> Features {
    Features {
        popcnt: std::arch::is_x86_feature_detected!("popcnt"),
        fast_pdep: std::arch::is_x86_feature_detected!("bmi2") && pdep_is_fast(),
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> Features {
    Features {
        popcnt: false,
        fast_pdep: false,
    }
}

/// Intel, or AMD family 0x19 (Zen 3) and later.
#[cfg(target_arch = "x86_64")]
fn pdep_is_fast() -> bool {
    use std::arch::x86_64::__cpuid;
    let vendor = __cpuid(0);
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
            let eax = __cpuid(1).eax;
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

/// How the word executor runs a kernel: out of line, compiled for a set of CPU features. Each
/// kernel gets a function of its own, so its loop keeps its pointers in registers however
/// large the executor around it is.
// PERF: inlined into the executor, the two-tag loop reloaded a pointer from the stack twice per
// iteration; out of line, the benchmark workload takes 1187 instead of 1354 instructions per
// evaluation at 8192 servers and 293 instead of 347 at 1024 (callgrind), and the VM's time
// against the ideal loop went from about 1.73x to 1.44x at 1024 (interleaved timing).
pub(crate) trait Isa: Copy {
    /// Runs `kernel`, a word loop returning a count.
    fn run(self, kernel: impl FnOnce() -> u32) -> u32;
}

/// Kernels compiled for the baseline CPU.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Portable;

impl Isa for Portable {
    #[inline(always)]
    fn run(self, kernel: impl FnOnce() -> u32) -> u32 {
        out_of_line(kernel)
    }
}

#[inline(never)]
fn out_of_line(kernel: impl FnOnce() -> u32) -> u32 {
    kernel()
}

/// Kernels compiled with `popcnt`; a value exists only on a CPU that has it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Popcnt(());

impl Popcnt {
    /// The token, if this CPU has `popcnt`.
    pub(crate) fn detect() -> Option<Popcnt> {
        features().popcnt.then_some(Popcnt(()))
    }
}

impl Isa for Popcnt {
    #[inline(always)]
    fn run(self, kernel: impl FnOnce() -> u32) -> u32 {
        // SAFETY: a `Popcnt` is only made by `detect`, after the CPU was found to have
        // `popcnt`, all `out_of_line_popcnt` requires.
        unsafe { out_of_line_popcnt(kernel) }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
#[inline(never)]
fn out_of_line_popcnt(kernel: impl FnOnce() -> u32) -> u32 {
    kernel()
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(never)]
unsafe fn out_of_line_popcnt(kernel: impl FnOnce() -> u32) -> u32 {
    kernel()
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
