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
//! - `counts[t]` is the number of bits set in row `t`, and the matrix holds (in the interner)
//!   exactly the ids whose count is not zero, once [`TagMatrix::hold_carried`] has run after a
//!   change: an id is reused for another name only when no live matrix has a bit in its row.
//!
//! Rows stop at the highest tag some server carries ([`TagMatrix::trim`]): a tag id at or
//! beyond `tag_count` (interned after the snapshot was built, named only by policies, or
//! carried by no server any more) has no row and reads as the empty set. Ids are reused lowest
//! first, so a row no server carries below the highest is soon a new tag's. The matrix grows
//! with the tags servers carry, not with everything ever interned, and its allocation shrinks
//! when they go.

use super::server_set::{ServerIdx, remove_bit, words_for};
use super::tags::{TagId, TagInterner, TagLease, TooManyTags};
use crate::aligned::{AlignedWords, LINE_WORDS};

/// Tag membership: one row of `words` words per tag id, each starting on a 64-byte line.
#[derive(Clone, Debug)]
pub(crate) struct TagMatrix {
    words: usize,
    stride: usize,
    tag_count: usize,
    bits: AlignedWords,
    /// Bits set per row.
    counts: Vec<u32>,
    /// The ids of the rows whose count is not zero, held in the interner.
    held: TagLease,
}

/// Two matrices are equal when their rows are; what they hold follows from the rows.
impl PartialEq for TagMatrix {
    fn eq(&self, other: &TagMatrix) -> bool {
        (self.words, self.stride, self.tag_count) == (other.words, other.stride, other.tag_count)
            && self.bits == other.bits
    }
}

impl Eq for TagMatrix {}

/// Words from one row's start to the next: `words` rounded up to whole 64-byte lines, except
/// that a one-word matrix stays dense for the one-word executor.
fn stride_for(words: usize) -> usize {
    if words <= 1 {
        words
    } else {
        words.next_multiple_of(LINE_WORDS)
    }
}

/// The bytes a matrix of `tag_count` rows over `universe` servers allocates (saturating).
pub(super) fn bytes_for(tag_count: usize, universe: usize) -> usize {
    let words = tag_count.saturating_mul(stride_for(words_for(universe)));
    words.div_ceil(LINE_WORDS).saturating_mul(LINE_WORDS * 8)
}

/// Whether a matrix of `tag_count` rows over `universe` servers fits in `interner`'s limit.
pub(super) fn check_size(
    tag_count: usize,
    universe: usize,
    interner: &TagInterner,
) -> Result<(), TooManyTags> {
    let (bytes, limit) = (bytes_for(tag_count, universe), interner.matrix_limit());
    if bytes > limit {
        return Err(TooManyTags::matrix(tag_count, universe, bytes, limit));
    }
    Ok(())
}

impl TagMatrix {
    /// Empty rows for `tag_count` tags over `universe` servers, holding nothing yet.
    pub(super) fn new(tag_count: usize, universe: usize) -> TagMatrix {
        let words = words_for(universe);
        let stride = stride_for(words);
        TagMatrix {
            words,
            stride,
            tag_count,
            bits: AlignedWords::zeroed(tag_count * stride),
            counts: vec![0; tag_count],
            held: TagLease::default(),
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

    /// The ids some server carries, in order.
    pub(crate) fn carried(&self) -> impl Iterator<Item = TagId> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, count)| **count > 0)
            .filter_map(|(t, _)| TagId::new(t))
    }

    /// Holds, in `interner`, the ids some server carries, and lets go of the others: run after
    /// every change of the rows, before the matrix is shared.
    pub(super) fn hold_carried(&mut self, interner: &TagInterner) {
        if self.carried().eq(self.held.ids().iter().copied()) {
            return;
        }
        match interner.lease(self.carried().collect()) {
            Ok(held) => self.held = held,
            // Every carried id was interned by the change that set its bit, or is held by the
            // matrix this one was copied from: an id without a name here is a bug, and keeping
            // the old lease is the safe side of it (an id held too long is only kept).
            Err(_) => debug_assert!(false, "a carried tag id names no tag"),
        }
    }

    pub(super) fn grow_to(&mut self, tag_count: usize) {
        if tag_count > self.tag_count {
            self.bits.resize_zeroed(tag_count * self.stride);
            self.counts.resize(tag_count, 0);
            self.tag_count = tag_count;
        }
    }

    pub(super) fn set(&mut self, tag: TagId, server: ServerIdx, on: bool) {
        let bit = 1u64 << (server.index() % 64);
        let Some(word) = self
            .bits
            .get_mut(tag.index() * self.stride + server.index() / 64)
            .filter(|_| server.index() / 64 < self.words)
        else {
            return;
        };
        let was = *word & bit != 0;
        if on {
            *word |= bit
        } else {
            *word &= !bit
        }
        if let Some(count) = self.counts.get_mut(tag.index()) {
            match (was, on) {
                (false, true) => *count += 1,
                (true, false) => *count -= 1,
                _ => {}
            }
        }
    }

    /// Removes `server` from every row.
    pub(super) fn clear_server(&mut self, server: ServerIdx) {
        let (w, bit) = (server.index() / 64, 1u64 << (server.index() % 64));
        for (row, count) in rows_mut(&mut self.bits, self.words, self.stride).zip(&mut self.counts)
        {
            if let Some(word) = row.get_mut(w).filter(|word| **word & bit != 0) {
                *word &= !bit;
                *count -= 1;
            }
        }
    }

    /// Drops the trailing rows no server carries, so rows end at the highest tag carried, and
    /// gives back the memory they took.
    pub(super) fn trim(&mut self) {
        let carried = self
            .counts
            .iter()
            .rposition(|&c| c > 0)
            .map_or(0, |t| t + 1);
        if carried < self.tag_count {
            self.tag_count = carried;
            self.counts.truncate(carried);
            self.counts.shrink_to_fit();
            self.bits.resize_zeroed(carried * self.stride);
            self.bits.shrink_to_fit();
        }
    }

    /// Lays the rows out for `universe` servers: bits below it are kept, new ones are absent.
    pub(super) fn resize_universe(&mut self, universe: usize) {
        let (words, before) = (words_for(universe), self.words);
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
        let mut dropped = words < before;
        if used != 0 {
            let mask = (1u64 << used) - 1;
            rows_mut(&mut self.bits, self.words, self.stride).for_each(|row| {
                if let Some(last) = row.last_mut() {
                    dropped |= *last & !mask != 0;
                    *last &= mask;
                }
            });
        }
        if dropped {
            let rows = rows_mut(&mut self.bits, self.words, self.stride);
            for (count, row) in self.counts.iter_mut().zip(rows) {
                *count = row.iter().map(|w| w.count_ones()).sum();
            }
            if self.words == 0 {
                self.counts.fill(0);
            }
        }
    }

    /// Removes `server` from every row and renumbers the servers after it down by one, for a
    /// universe of `universe` servers before the removal.
    pub(super) fn remove_server(&mut self, server: ServerIdx, universe: usize) {
        self.clear_server(server);
        for row in rows_mut(&mut self.bits, self.words, self.stride) {
            remove_bit(row, server.index());
        }
        self.resize_universe(universe.saturating_sub(1));
    }

    /// Whether `server` carries `tag` (false for a tag the snapshot predates).
    pub(crate) fn has(&self, tag: TagId, server: ServerIdx) -> bool {
        self.row(tag)
            .and_then(|row| row.get(server.index() / 64))
            .is_some_and(|w| w & (1u64 << (server.index() % 64)) != 0)
    }

    /// The bytes the matrix allocates: its rows and their counts.
    #[cfg(test)]
    pub(crate) fn heap_bytes(&self) -> usize {
        self.bits.capacity() * 8 + self.counts.capacity() * 4
    }
}

/// The rows of `bits`, `words` words each, `stride` apart.
fn rows_mut(bits: &mut [u64], words: usize, stride: usize) -> impl Iterator<Item = &mut [u64]> {
    // `chunks_exact_mut` needs a non-zero size; a zero-word matrix has nothing to visit.
    bits.chunks_exact_mut(stride.max(1))
        .filter_map(move |row| row.get_mut(..words))
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

    /// Issue 22: a matrix kept the widest allocation it ever had, and its clone (every tag
    /// update) copied all of it.
    #[test]
    fn trimming_gives_the_rows_memory_back() {
        let mut matrix = TagMatrix::new(1, 8192);
        matrix.grow_to(5000);
        matrix.set(tag(4999), server(1), true);
        matrix.set(tag(0), server(2), true);
        let wide = matrix.heap_bytes();
        assert_eq!(wide, 5000 * 128 * 8 + 5000 * 4);
        matrix.set(tag(4999), server(1), false);
        matrix.trim();
        assert_eq!(matrix.tag_count(), 1);
        assert_eq!(matrix.heap_bytes(), 128 * 8 + 4);
        assert_eq!(matrix.clone().heap_bytes(), 128 * 8 + 4);
        assert_eq!(bytes_for(5000, 8192), 5000 * 128 * 8);
        assert_eq!(bytes_for(9, 64), 2 * 64, "one-word rows are dense");
        assert_eq!(bytes_for(usize::MAX, 8192), usize::MAX);
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
