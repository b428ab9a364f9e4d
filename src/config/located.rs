//! Text taken from the file, that still knows where each of its bytes came from.
//!
//! A key or value in neo4j.conf is not a slice of the file: line continuations drop the
//! backslash, the line break and the next line's leading blanks, and escapes such as `\u0070`
//! or `\=` stand for one character written with several. A [`SourceMap`] remembers the pieces,
//! so that a span in the value (a policy parse error, say) becomes a span in the file, and the
//! caret lands under what the user wrote.

use std::borrow::Cow;
use std::ops::Range;

use smallvec::SmallVec;

use crate::span::Span;
use crate::syntax::is_whitespace;

/// Maps byte offsets in a value back to byte offsets in the file it was read from.
///
/// The value is a concatenation of pieces: runs copied from the file, where offsets map one to
/// one, and escapes, where one character of the value stands for several bytes of the file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceMap {
    // INVARIANT: in text order and contiguous: each piece starts where the previous one ends.
    // Most keys and values are one piece of one line: it is kept inline.
    pieces: SmallVec<[Piece; 1]>,
}

/// Offsets as `u32`: a configuration is smaller than 4 GiB (`Config::parse` refuses larger), and
/// a piece per line of a file of many short lines must stay small.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Piece {
    text_start: u32,
    file_start: u32,
    text_len: u32,
    /// Equal to `text_len` for a run copied from the file; larger for an escape.
    file_len: u32,
}

fn wide(n: u32) -> usize {
    n as usize
}

fn narrow(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Piece {
    fn text_end(&self) -> usize {
        wide(self.text_start) + wide(self.text_len)
    }

    fn file_end(&self) -> usize {
        wide(self.file_start) + wide(self.file_len)
    }

    fn is_copy(&self) -> bool {
        self.text_len == self.file_len
    }

    /// Where byte `at` of the text (inside this piece, or at its end) is in the file.
    fn file_offset(&self, at: usize) -> usize {
        let into = at.saturating_sub(wide(self.text_start));
        if !self.is_copy() {
            return if into == 0 {
                wide(self.file_start)
            } else {
                self.file_end()
            };
        }
        wide(self.file_start) + into.min(wide(self.text_len))
    }
}

impl SourceMap {
    /// The span in the file of the bytes `span` of the value.
    ///
    /// A span that crosses a line continuation reaches from its start on one line to its end on
    /// another; an escape is covered whole; an empty span at the end of the value is placed
    /// right after its last character.
    pub fn file_span(&self, span: Span) -> Span {
        let start = self.file_offset(span.start);
        let end = span.end.min(self.text_len());
        if end <= span.start {
            return Span::at(start);
        }
        let end = match self.holder(end - 1) {
            Some(p) if p.is_copy() => p.file_offset(end - 1) + 1,
            Some(p) => p.file_end(),
            None => start,
        };
        Span::new(start, end.max(start))
    }

    fn text_len(&self) -> usize {
        self.pieces.last().map_or(0, Piece::text_end)
    }

    /// The piece holding byte `at` of the text (the last piece for an offset past the end).
    fn holder(&self, at: usize) -> Option<&Piece> {
        let after = self.pieces.partition_point(|p| wide(p.text_start) <= at);
        self.pieces.get(after.saturating_sub(1))
    }

    /// Where byte `at` of the value is in the file: inside its piece, or the end of the last
    /// piece for an offset at or past the end of the value.
    fn file_offset(&self, at: usize) -> usize {
        if at >= self.text_len() {
            return self.pieces.last().map_or(0, Piece::file_end);
        }
        self.holder(at).map_or(0, |p| p.file_offset(at))
    }

    /// The map of the sub-value `range`, whose offsets start again at zero.
    fn slice(&self, range: Range<usize>) -> SourceMap {
        let first = self.pieces.partition_point(|p| p.text_end() <= range.start);
        let last = self
            .pieces
            .partition_point(|p| wide(p.text_start) < range.end);
        // Exactly the pieces it needs: a list of a million short items keeps a million maps.
        let mut pieces: SmallVec<[Piece; 1]> =
            SmallVec::with_capacity(last.saturating_sub(first).max(1));
        for p in self.pieces.get(first..).unwrap_or(&[]) {
            if wide(p.text_start) >= range.end {
                break;
            }
            let start = wide(p.text_start).max(range.start);
            let end = p.text_end().min(range.end);
            if start >= end {
                continue;
            }
            let piece = if p.is_copy() {
                let file_start = wide(p.file_start) + (start - wide(p.text_start));
                Piece {
                    text_start: narrow(start - range.start),
                    file_start: narrow(file_start),
                    text_len: narrow(end - start),
                    file_len: narrow(end - start),
                }
            } else {
                Piece {
                    text_start: narrow(start - range.start),
                    ..*p
                }
            };
            pieces.push(piece);
        }
        if pieces.is_empty() {
            pieces.push(Piece {
                text_start: 0,
                file_start: narrow(self.file_offset(range.start)),
                text_len: 0,
                file_len: 0,
            });
        }
        SourceMap { pieces }
    }

    /// Makes room for `pieces` more pieces, exactly.
    pub(super) fn reserve_exact(&mut self, pieces: usize) {
        self.pieces.reserve_exact(pieces);
    }

    /// Appends a run of `len` bytes copied from the file at `file_start`, merging it with the
    /// previous run when they touch.
    pub(super) fn push_copy(&mut self, file_start: usize, len: usize) {
        if let Some(last) = self.pieces.last_mut() {
            if last.is_copy() && last.file_end() == file_start {
                last.text_len += narrow(len);
                last.file_len += narrow(len);
                return;
            }
            if last.text_len == 0 {
                self.pieces.pop();
            }
        }
        self.push(file_start, len, len);
    }

    /// Appends one character of `text_len` bytes written as the `file_len` bytes at `file_start`
    /// (an escape).
    pub(super) fn push_escape(&mut self, file_start: usize, text_len: usize, file_len: usize) {
        if self.pieces.last().is_some_and(|p| p.text_len == 0) {
            self.pieces.pop();
        }
        self.push(file_start, text_len, file_len);
    }

    /// Places the empty text at `file_start` (only while the map is empty).
    pub(super) fn place_empty(&mut self, file_start: usize) {
        if self.pieces.is_empty() {
            self.push(file_start, 0, 0);
        }
    }

    fn push(&mut self, file_start: usize, text_len: usize, file_len: usize) {
        self.pieces.push(Piece {
            text_start: narrow(self.text_len()),
            file_start: narrow(file_start),
            text_len: narrow(text_len),
            file_len: narrow(file_len),
        });
    }
}

/// A piece of configuration text (a key, a value, a list item) and where it came from. The text
/// is borrowed from the file when it is written there as it reads (one line, no escape), and
/// from the value it was sliced from; only joined lines and decoded escapes own theirs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Located<'s> {
    /// The text, line continuations joined and escapes decoded.
    pub text: Cow<'s, str>,
    /// Where each of its bytes is in the file: its own map, or the one of the text it borrows.
    pub map: Cow<'s, SourceMap>,
}

impl<'s> Located<'s> {
    /// The bytes `range` of `source`, written in the file as they read.
    pub fn borrowed(source: &'s str, range: Range<usize>) -> Located<'s> {
        let text = source.get(range.clone()).unwrap_or_default();
        let mut map = SourceMap::default();
        map.place_empty(range.start);
        if !text.is_empty() {
            map.push_copy(range.start, text.len());
        }
        Located {
            text: Cow::Borrowed(text),
            map: Cow::Owned(map),
        }
    }

    /// The concatenation of the byte ranges `pieces` of `source`, in order, copied as they are.
    #[cfg(test)]
    pub fn from_pieces(source: &str, pieces: &[Range<usize>]) -> Located<'static> {
        let mut located = Located::default();
        for piece in pieces {
            let Some(part) = source.get(piece.clone()) else {
                continue;
            };
            located.map.to_mut().place_empty(piece.start);
            if !part.is_empty() {
                located.map.to_mut().push_copy(piece.start, part.len());
            }
            located.text.to_mut().push_str(part);
        }
        located
    }

    /// The same text and places, borrowed.
    pub fn borrow(&self) -> Located<'_> {
        Located {
            text: Cow::Borrowed(&self.text),
            map: Cow::Borrowed(&self.map),
        }
    }

    /// Where the whole text is in the file.
    pub fn span(&self) -> Span {
        self.map.file_span(Span::new(0, self.text.len()))
    }

    /// Where the bytes `span` of the text are in the file.
    pub fn file_span(&self, span: Span) -> Span {
        self.map.file_span(span)
    }

    /// The bytes `range` of the text, borrowing it; empty (placed at `range.start`) when
    /// `range` is not a range of the text on character boundaries.
    pub fn slice(&self, range: Range<usize>) -> Located<'_> {
        let text = self.text.get(range.clone()).unwrap_or_default();
        let range = range.start..range.start + text.len();
        Located {
            text: Cow::Borrowed(text),
            map: Cow::Owned(self.map.slice(range)),
        }
    }

    /// The text without leading or trailing whitespace, as Java's `String.trim` removes it
    /// (every character up to U+0020).
    pub fn trim(&self) -> Located<'_> {
        self.slice(trimmed(&self.text, 0..self.text.len()))
    }

    /// The items of a comma-separated list, each trimmed; empty items are left out.
    pub fn list_items(&self) -> Vec<Located<'_>> {
        self.list_item_ranges()
            .map(|item| self.slice(item))
            .collect()
    }

    /// Where in the text each item of [`Located::list_items`] is, one at a time: a list of a
    /// million items costs nothing per item until an item is wanted.
    pub fn list_item_ranges(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        let ends = self.text.match_indices(',').map(|(comma, _)| comma);
        let mut start = 0;
        ends.chain([self.text.len()]).filter_map(move |end| {
            let item = trimmed(&self.text, start..end);
            start = end + 1;
            (!item.is_empty()).then_some(item)
        })
    }
}

/// The bytes `range` of `text` without the whitespace `String.trim` removes at either end.
fn trimmed(text: &str, range: Range<usize>) -> Range<usize> {
    let part = text.get(range.clone()).unwrap_or_default();
    let start = range.start + (part.len() - part.trim_start_matches(is_whitespace).len());
    let end = range.start + part.trim_end_matches(is_whitespace).len();
    start..end.max(start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::testing::located;

    /// `key=ab\` / `  cd` with its two pieces: `ab` at 4..6 and `cd` at 10..12.
    fn continued() -> (&'static str, Located<'static>) {
        let source = "key=ab\\\n  cd";
        (source, Located::from_pieces(source, &[4..6, 10..12]))
    }

    #[test]
    fn offsets_map_through_a_continuation() {
        let (source, value) = continued();
        assert_eq!(value.text, "abcd");
        assert_eq!(value.file_span(Span::new(0, 1)), Span::new(4, 5));
        assert_eq!(value.file_span(Span::new(2, 4)), Span::new(10, 12));
        assert_eq!(&source[value.file_span(Span::new(3, 4)).range()], "d");
        // A span across the break runs from its start on one line to its end on the next.
        assert_eq!(value.file_span(Span::new(1, 3)), Span::new(5, 11));
        // The end of the value is right after its last character.
        assert_eq!(value.file_span(Span::at(4)), Span::at(12));
        assert_eq!(value.span(), Span::new(4, 12));
    }

    #[test]
    fn a_span_ending_at_a_line_break_stays_on_its_line() {
        let (_, value) = continued();
        assert_eq!(value.file_span(Span::new(0, 2)), Span::new(4, 6));
    }

    #[test]
    fn slices_keep_their_place_in_the_file() {
        let (_, value) = continued();
        let tail = value.slice(1..4);
        assert_eq!(tail.text, "bcd");
        assert_eq!(tail.file_span(Span::new(0, 1)), Span::new(5, 6));
        assert_eq!(tail.file_span(Span::new(1, 2)), Span::new(10, 11));
        let empty = value.slice(2..2);
        assert_eq!(empty.text, "");
        assert_eq!(empty.span(), Span::at(10));
        assert_eq!(value.slice(3..99).text, "");
    }

    #[test]
    fn an_empty_value_is_placed_where_it_would_start() {
        let value = located("key=", 4..4);
        assert_eq!(value.text, "");
        assert_eq!(value.span(), Span::at(4));
        assert_eq!(value.file_span(Span::new(0, 3)), Span::at(4));
        assert_eq!(SourceMap::default().file_span(Span::new(2, 3)), Span::at(0));
    }

    #[test]
    fn list_items_are_trimmed_and_placed() {
        let source = "k= a ,, b\t,";
        let value = located(source, 2..source.len());
        let items = value.list_items();
        let texts: Vec<&str> = items.iter().map(|i| &*i.text).collect();
        assert_eq!(texts, ["a", "b"]);
        assert_eq!(items[0].span(), Span::new(3, 4));
        assert_eq!(items[1].span(), Span::new(8, 9));
        assert!(located(" , ", 0..3).list_items().is_empty());
    }

    #[test]
    fn trim_removes_everything_up_to_u0020_but_not_nbsp() {
        let source = "\u{b} x\u{1}\u{a0}";
        let value = located(source, 0..source.len());
        let trimmed = value.trim();
        assert_eq!(trimmed.text, "x\u{1}\u{a0}");
        assert_eq!(trimmed.span(), Span::new(2, source.len()));
    }
}
