//! Tag membership: for every tag id a snapshot knows, the row of bits over its servers.
//!
//! The VM reads rows without bounds checks ([`TagMatrix::row_unchecked`]), so this module owns
//! the invariant it relies on:
//!
//! - **Invariant:** `bits.len() == tag_count * words`, and `words == words_for(universe)` for
//!   the snapshot's server count; row `t` is `bits[t * words..(t + 1) * words]`. Every
//!   constructor and mutator below keeps it, and nothing outside this module can reach the
//!   fields.
//! - No bit at or above the universe is set in any row (rows are `ServerSet` words).
//!
//! A tag id at or beyond `tag_count` (interned after the snapshot was built, or carried by no
//! server of it) has no row and reads as the empty set.

use super::server_set::{ServerIdx, words_for};
use super::tags::TagId;

/// Tag membership: one row of `words` words per tag id, rows laid out back to back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TagMatrix {
    words: usize,
    tag_count: usize,
    bits: Vec<u64>,
}

impl TagMatrix {
    pub(super) fn new(tag_count: usize, universe: usize) -> TagMatrix {
        let words = words_for(universe);
        TagMatrix {
            words,
            tag_count,
            bits: vec![0; tag_count * words],
        }
    }

    /// Words per row.
    pub(crate) fn words(&self) -> usize {
        self.words
    }

    /// Rows, one per tag id known to the snapshot.
    pub(crate) fn tag_count(&self) -> usize {
        self.tag_count
    }

    /// The whole matrix, tag-major.
    pub(crate) fn bits(&self) -> &[u64] {
        &self.bits
    }

    /// The servers carrying `tag`, or `None` for a tag interned after the snapshot was built.
    pub(crate) fn row(&self, tag: TagId) -> Option<&[u64]> {
        self.bits
            .get(tag.index() * self.words..(tag.index() + 1) * self.words)
    }

    /// The row of tag `tag` without a bounds check.
    ///
    /// # Safety
    /// `tag` is below [`TagMatrix::tag_count`].
    #[inline(always)]
    pub(crate) unsafe fn row_unchecked(&self, tag: u32) -> &[u64] {
        let start = tag as usize * self.words;
        // SAFETY: the matrix holds `tag_count * words` words and `tag < tag_count`.
        unsafe { self.bits.get_unchecked(start..start + self.words) }
    }

    /// [`TagMatrix::row`] for a tag id as bytecode stores it.
    pub(crate) fn row_of(&self, tag: u32) -> Option<&[u64]> {
        self.row(TagId::new(tag as usize)?)
    }

    pub(super) fn grow_to(&mut self, tag_count: usize) {
        if tag_count > self.tag_count {
            self.bits.resize(tag_count * self.words, 0);
            self.tag_count = tag_count;
        }
    }

    pub(super) fn set(&mut self, tag: TagId, server: ServerIdx, on: bool) {
        let bit = 1u64 << (server.index() % 64);
        if let Some(word) = self
            .bits
            .get_mut(tag.index() * self.words + server.index() / 64)
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
    fn growing_adds_empty_rows_and_keeps_the_old_ones() {
        let mut matrix = TagMatrix::new(1, 70);
        matrix.set(tag(0), server(69), true);
        matrix.grow_to(3);
        matrix.grow_to(2);
        assert_eq!(matrix.tag_count(), 3);
        assert_eq!(matrix.bits().len(), 3 * 2);
        assert_eq!(matrix.row(tag(2)), Some(&[0, 0][..]));
        matrix.set(tag(0), server(69), false);
        assert_eq!(matrix.row(tag(0)), Some(&[0, 0][..]));
    }
}
