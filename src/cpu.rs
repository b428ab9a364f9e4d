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

/// The `cpuid` leaf `leaf`.
#[cfg(target_arch = "x86_64")]
#[allow(
    unused_unsafe,
    reason = "`__cpuid` is a safe function from Rust 1.94 on, and unsafe in the older Rusts that `rust-version` admits"
)]
fn cpuid(leaf: u32) -> std::arch::x86_64::CpuidResult {
    // SAFETY: every x86_64 CPU has the `cpuid` instruction, and leaves 0 and 1 always exist.
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

/// The position of the `n`-th set bit of `word` (from 0); 64 when `word` has `n` or fewer.
pub fn select_in_word(word: u64, n: u32) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if features().fast_pdep {
        // SAFETY: `fast_pdep` is only true when `is_x86_feature_detected!("bmi2")` said the
        // CPU has BMI2, which is all `select_pdep` requires.
        return unsafe { select_pdep(word, n) };
    }
    crate::topology::select_in_word(word, n)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "bmi2")]
fn select_pdep(word: u64, n: u32) -> u32 {
    if n >= 64 {
        return 64;
    }
    std::arch::x86_64::_pdep_u64(1u64 << n, word).trailing_zeros()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_select_agrees_with_the_portable_one() {
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
                    crate::topology::select_in_word(word, n),
                    "{word:#x} {n}"
                );
            }
        }
    }
}
