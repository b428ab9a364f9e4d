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
