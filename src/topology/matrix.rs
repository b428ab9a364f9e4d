//! Tag membership: for every tag id a snapshot knows, the row of bits over its servers.
//!
//! The VM reads rows without bounds checks ([`TagMatrix::row_unchecked`]), so this module owns
//! the invariant it relies on:
//!
//! - **Invariant:** `bits.len() == tag_count * stride`, `words == words_for(universe)` for
//!   the snapshot's server count, and `stride` is `words` rounded up to whole 64-byte lines
//!   (one word when `words` is 1, so a one-word matrix stays dense for the one-word executor);
//!   row `t` is `bits[t * stride..t * stride + words]`, and `bits` starts on a 64-byte line, so
//!   every row of more than one word does too. Every constructor and mutator below keeps it,
//!   and nothing outside this module can reach the fields.
//! - No bit at or above the universe is set in any row (rows are `ServerSet` words).
//!
//! A tag id at or beyond `tag_count` (interned after the snapshot was built, or carried by no
//! server of it) has no row and reads as the empty set.

use super::server_set::{ServerIdx, words_for};
use super::tags::TagId;
use crate::aligned::{AlignedWords, LINE_WORDS};

/// Tag membership: one row of `words` words per tag id, each starting on a 64-byte line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TagMatrix {
    words: usize,
    stride: usize,
    tag_count: usize,
    bits: AlignedWords,
}

impl TagMatrix {
    pub(super) fn new(tag_count: usize, universe: usize) -> TagMatrix {
        let words = words_for(universe);
        let stride = if words <= 1 {
            words
        } else {
            words.next_multiple_of(LINE_WORDS)
        };
        TagMatrix {
            words,
            stride,
            tag_count,
            bits: AlignedWords::zeroed(tag_count * stride),
        }
    }

    /// Words per row.
    #[cfg(test)]
    pub(crate) fn words(&self) -> usize {
        self.words
    }

    /// Words from the start of one row to the start of the next.
    pub(crate) fn stride(&self) -> usize {
        self.stride
    }

    /// Rows, one per tag id known to the snapshot.
    pub(crate) fn tag_count(&self) -> usize {
        self.tag_count
    }

    /// The whole matrix, tag-major, `stride` words a row.
    pub(crate) fn bits(&self) -> &[u64] {
        &self.bits
    }

    /// The servers carrying `tag`, or `None` for a tag interned after the snapshot was built.
    pub(crate) fn row(&self, tag: TagId) -> Option<&[u64]> {
        let start = tag.index() * self.stride;
        self.bits.get(start..start + self.words)
    }

    /// The row of tag `tag` without a bounds check.
    ///
    /// # Safety
    /// `tag` is below [`TagMatrix::tag_count`].
    #[inline(always)]
    pub(crate) unsafe fn row_unchecked(&self, tag: u32) -> &[u64] {
        let start = tag as usize * self.stride;
        // SAFETY: the matrix holds `tag_count * stride` words, `words <= stride` and
        // `tag < tag_count`.
        unsafe { self.bits.get_unchecked(start..start + self.words) }
    }

    /// [`TagMatrix::row`] for a tag id as bytecode stores it.
    pub(crate) fn row_of(&self, tag: u32) -> Option<&[u64]> {
        self.row(TagId::new(tag as usize)?)
    }

    pub(super) fn grow_to(&mut self, tag_count: usize) {
        if tag_count > self.tag_count {
            self.bits.resize_zeroed(tag_count * self.stride);
            self.tag_count = tag_count;
        }
    }

    pub(super) fn set(&mut self, tag: TagId, server: ServerIdx, on: bool) {
        let bit = 1u64 << (server.index() % 64);
        if let Some(word) = self
            .bits
            .get_mut(tag.index() * self.stride + server.index() / 64)
            .filter(|_| server.index() / 64 < self.words)
        {
            if on { *word |= bit } else { *word &= !bit }
        }
    }

    /// Whether `server` carries `tag` (false for a tag the snapshot predates).
    pub(crate) fn has(&self, tag: TagId, server: ServerIdx) -> bool {
        self.row(tag)
            .and_then(|row| row.get(server.index() / 64))
            .is_some_and(|w| w & (1u64 << (server.index() % 64)) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(n: usize) -> TagId {
        TagId::new(n).unwrap_or_else(|| unreachable!())
    }

    fn server(n: usize) -> ServerIdx {
        ServerIdx::new(n).unwrap_or_else(|| unreachable!())
    }

    #[test]
    fn rows_are_tag_major_and_unknown_tags_have_none() {
        let mut matrix = TagMatrix::new(2, 130);
        matrix.set(tag(1), server(129), true);
        matrix.set(tag(0), server(64), true);
        assert_eq!((matrix.words(), matrix.tag_count()), (3, 2));
        assert_eq!(matrix.row(tag(0)), Some(&[0, 1, 0][..]));
        assert_eq!(matrix.row(tag(1)), Some(&[0, 0, 2][..]));
        assert_eq!(matrix.row(tag(2)), None);
        assert_eq!(matrix.row_of(1), matrix.row(tag(1)));
        // SAFETY: tag 1 is below the tag count of 2.
        assert_eq!(unsafe { matrix.row_unchecked(1) }, &[0, 0, 2]);
        assert!(matrix.has(tag(1), server(129)) && !matrix.has(tag(0), server(129)));
        assert!(!matrix.has(tag(5), server(0)));
    }

    #[test]
    fn rows_of_more_than_a_word_start_on_a_line() {
        for universe in [65, 130, 1000, 8192] {
            let mut matrix = TagMatrix::new(5, universe);
            matrix.grow_to(9);
            for t in 0..9 {
                let row = matrix.row(tag(t)).unwrap_or_else(|| unreachable!());
                assert_eq!(row.as_ptr() as usize % 64, 0, "{universe} {t}");
                assert_eq!(row.len(), words_for(universe));
            }
        }
        assert_eq!(
            TagMatrix::new(3, 64).bits().len(),
            3,
            "one-word rows stay dense"
        );
    }

    #[test]
    fn growing_adds_empty_rows_and_keeps_the_old_ones() {
        let mut matrix = TagMatrix::new(1, 70);
        matrix.set(tag(0), server(69), true);
        matrix.grow_to(3);
        matrix.grow_to(2);
        assert_eq!(matrix.tag_count(), 3);
        assert_eq!(matrix.bits().len(), 3 * 8);
        assert_eq!(matrix.row(tag(2)), Some(&[0, 0][..]));
        matrix.set(tag(0), server(69), false);
        assert_eq!(matrix.row(tag(0)), Some(&[0, 0][..]));
    }
}
