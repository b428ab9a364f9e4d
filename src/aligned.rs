//! Bitset words on 64-byte boundaries: the storage of tag rows and server sets that the vector
//! kernels read.
//!
//! A 64-byte line is one AVX-512 register and two AVX2 registers, so a row that starts on one
//! never splits a load across two cache lines. [`AlignedWords`] is a `Vec<u64>` in behaviour
//! (length, zero-filled growth, reused capacity) whose allocation starts on a line and whose
//! capacity is a whole number of lines; the words past the length are always zero.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::{Deref, DerefMut};

pub(crate) use crate::cpu::LINE_WORDS;

/// One 64-byte line of words, aligned to 64 bytes.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
#[repr(C, align(64))]
struct Line([u64; LINE_WORDS]);

/// A growable run of `u64` words that starts on a 64-byte boundary.
///
/// Invariant: `len <= lines.len() * LINE_WORDS`, and every word at or past `len` is zero.
#[derive(Clone, Default)]
pub(crate) struct AlignedWords {
    lines: Vec<Line>,
    len: usize,
}

impl AlignedWords {
    /// `len` zero words.
    pub(crate) fn zeroed(len: usize) -> AlignedWords {
        AlignedWords {
            lines: vec![Line::default(); len.div_ceil(LINE_WORDS)],
            len,
        }
    }

    /// Resizes to `len` words, new words zero; keeps the allocation when shrinking (but not the
    /// lines past the length, so a clone copies only what is in use).
    pub(crate) fn resize_zeroed(&mut self, len: usize) {
        if len < self.len {
            self.as_mut_slice_padded()
                .get_mut(len..)
                .into_iter()
                .flatten()
                .for_each(|w| *w = 0);
        }
        self.lines.resize(len.div_ceil(LINE_WORDS), Line::default());
        self.len = len;
    }

    /// Gives back the allocation past the lines in use.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.lines.shrink_to_fit();
    }

    /// Words the allocation holds without growing.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.lines.capacity() * LINE_WORDS
    }

    /// The words, then zeros up to the end of the last line: a whole number of lines.
    #[cfg(any(test, feature = "bench"))]
    pub(crate) fn padded(&self) -> &[u64] {
        let words = self.lines.len() * LINE_WORDS;
        // SAFETY: `Line` is `repr(C)` around `[u64; 8]`: 64 bytes, no padding, every bit
        // pattern valid, so `lines.len()` lines are `8 * lines.len()` initialised `u64`s at an
        // address aligned for `u64`, borrowed for as long as `self`.
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr().cast::<u64>(), words) }
    }

    /// [`AlignedWords::padded`], writable: writers must leave the words past the length zero.
    #[cfg(feature = "bench")]
    pub(crate) fn padded_mut(&mut self) -> &mut [u64] {
        self.as_mut_slice_padded()
    }

    fn as_mut_slice_padded(&mut self) -> &mut [u64] {
        let words = self.lines.len() * LINE_WORDS;
        // SAFETY: as in `padded`, and the borrow is unique because `self` is.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr().cast::<u64>(), words) }
    }
}

// PERF: the words are read on every evaluation (the candidates, the output, the tag matrix):
// built straight from the pointer and the length, not by slicing the padded words, a
// deref is two loads instead of a multiply, a compare and a select (callgrind: 6 fewer
// instructions a `vm::eval` at 64 servers, which reads three).
impl Deref for AlignedWords {
    type Target = [u64];

    #[inline(always)]
    fn deref(&self) -> &[u64] {
        // SAFETY: the type's invariant `len <= lines.len() * LINE_WORDS`: the first `len` words
        // of the lines are initialised `u64`s (see `padded`), borrowed for as long as `self`.
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr().cast::<u64>(), self.len) }
    }
}

impl DerefMut for AlignedWords {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut [u64] {
        // SAFETY: as in `deref`, and the borrow is unique because `self` is.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr().cast::<u64>(), self.len) }
    }
}

impl PartialEq for AlignedWords {
    fn eq(&self, other: &AlignedWords) -> bool {
        **self == **other
    }
}

impl Eq for AlignedWords {}

impl Hash for AlignedWords {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state);
    }
}

impl fmt::Debug for AlignedWords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl FromIterator<u64> for AlignedWords {
    fn from_iter<I: IntoIterator<Item = u64>>(words: I) -> AlignedWords {
        let words: Vec<u64> = words.into_iter().collect();
        let mut aligned = AlignedWords::zeroed(words.len());
        aligned.copy_from_slice(&words);
        aligned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_start_on_a_line_and_stay_zero_past_the_length() {
        for len in [0, 1, 7, 8, 9, 16, 129] {
            let mut words = AlignedWords::zeroed(len);
            assert_eq!(words.len(), len);
            assert_eq!(words.padded().as_ptr() as usize % 64, 0);
            assert_eq!(words.padded().len(), len.div_ceil(8) * 8);
            words.fill(u64::MAX);
            words.resize_zeroed(len / 2);
            assert!(
                words
                    .padded()
                    .get(len / 2..)
                    .into_iter()
                    .flatten()
                    .all(|&w| w == 0)
            );
            words.resize_zeroed(len);
            assert!(words.get(len / 2..).into_iter().flatten().all(|&w| w == 0));
            assert!(words.iter().take(len / 2).all(|&w| w == u64::MAX));
        }
    }

    #[test]
    fn shrinking_keeps_the_allocation_until_asked_and_clones_copy_what_is_in_use() {
        let mut words = AlignedWords::zeroed(100);
        let capacity = words.capacity();
        words.resize_zeroed(3);
        assert_eq!(words.capacity(), capacity);
        assert_eq!(words, [0u64; 3].into_iter().collect());
        assert_eq!(words.clone().capacity(), LINE_WORDS);
        words.shrink_to_fit();
        assert_eq!(words.capacity(), LINE_WORDS);
        words.resize_zeroed(20);
        assert!(words.iter().all(|&w| w == 0) && words.padded().len() == 24);
    }
}
