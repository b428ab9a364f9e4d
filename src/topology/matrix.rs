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
//! Rows stop at the highest tag some server carries ([`TagMatrix::trim`]): a tag id at or
//! beyond `tag_count` (interned after the snapshot was built, named only by policies, or
//! carried by no server any more) has no row and reads as the empty set. So the matrix grows
//! with the tags servers carry, not with everything ever interned.

use super::server_set::{ServerIdx, remove_bit, words_for};
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

/// Words from one row's start to the next: `words` rounded up to whole 64-byte lines, except
/// that a one-word matrix stays dense for the one-word executor.
fn stride_for(words: usize) -> usize {
    if words <= 1 {
        words
    } else {
        words.next_multiple_of(LINE_WORDS)
    }
}

impl TagMatrix {
    pub(super) fn new(tag_count: usize, universe: usize) -> TagMatrix {
        let words = words_for(universe);
        let stride = stride_for(words);
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

    /// Removes `server` from every row.
    pub(super) fn clear_server(&mut self, server: ServerIdx) {
        let (w, bit) = (server.index() / 64, 1u64 << (server.index() % 64));
        for row in self.rows_mut() {
            if let Some(word) = row.get_mut(w) {
                *word &= !bit;
            }
        }
    }

    /// Drops the trailing rows no server carries, so rows end at the highest tag carried.
    pub(super) fn trim(&mut self) {
        while self.tag_count > 0 {
            let last = (self.tag_count - 1) * self.stride;
            if self
                .bits
                .get(last..last + self.words)
                .is_some_and(|row| row.iter().any(|&w| w != 0))
            {
                break;
            }
            self.tag_count -= 1;
        }
        self.bits.resize_zeroed(self.tag_count * self.stride);
    }

    /// Lays the rows out for `universe` servers: bits below it are kept, new ones are absent.
    pub(super) fn resize_universe(&mut self, universe: usize) {
        let words = words_for(universe);
        if words != self.words {
            let stride = stride_for(words);
            let mut bits = AlignedWords::zeroed(self.tag_count * stride);
            if stride > 0 && self.stride > 0 {
                for (new, old) in bits
                    .chunks_exact_mut(stride)
                    .zip(self.bits.chunks_exact(self.stride))
                {
                    let kept = words.min(self.words);
                    new.iter_mut()
                        .zip(old)
                        .take(kept)
                        .for_each(|(n, o)| *n = *o);
                }
            }
            self.words = words;
            self.stride = stride;
            self.bits = bits;
        }
        let used = universe % 64;
        if used != 0 {
            let mask = (1u64 << used) - 1;
            self.rows_mut().for_each(|row| {
                if let Some(last) = row.last_mut() {
                    *last &= mask;
                }
            });
        }
    }

    /// Removes `server` from every row and renumbers the servers after it down by one, for a
    /// universe of `universe` servers before the removal.
    pub(super) fn remove_server(&mut self, server: ServerIdx, universe: usize) {
        for row in self.rows_mut() {
            remove_bit(row, server.index());
        }
        self.resize_universe(universe.saturating_sub(1));
    }

    fn rows_mut(&mut self) -> impl Iterator<Item = &mut [u64]> {
        // `chunks_exact_mut` needs a non-zero size; a zero-word matrix has nothing to visit.
        let words = self.words;
        self.bits
            .chunks_exact_mut(self.stride.max(1))
            .filter_map(move |row| row.get_mut(..words))
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

    #[test]
    fn trimming_drops_trailing_rows_no_server_carries() {
        let mut matrix = TagMatrix::new(4, 10);
        matrix.set(tag(1), server(3), true);
        matrix.trim();
        assert_eq!((matrix.tag_count(), matrix.bits().len()), (2, 2));
        matrix.clear_server(server(3));
        matrix.trim();
        assert_eq!((matrix.tag_count(), matrix.bits().len()), (0, 0));
    }

    #[test]
    fn servers_come_and_go_at_word_boundaries() {
        let mut matrix = TagMatrix::new(2, 64);
        matrix.set(tag(0), server(63), true);
        matrix.set(tag(1), server(0), true);
        matrix.resize_universe(65);
        matrix.set(tag(1), server(64), true);
        assert_eq!(matrix.row(tag(1)), Some(&[1, 1][..]));
        matrix.remove_server(server(0), 65);
        assert_eq!(matrix.words(), 1);
        assert_eq!(matrix.row(tag(0)), Some(&[1 << 62][..]));
        assert_eq!(matrix.row(tag(1)), Some(&[1 << 63][..]));
        matrix.remove_server(server(63), 64);
        assert_eq!(matrix.row(tag(1)), Some(&[0][..]));
        matrix.resize_universe(0);
        assert_eq!((matrix.words(), matrix.bits().len()), (0, 0));
        matrix.clear_server(server(0));
        matrix.trim();
        assert_eq!(matrix.tag_count(), 0);
    }
}
