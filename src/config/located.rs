//! Text taken from the file, that still knows where each of its bytes came from.
//!
//! A value in neo4j.conf may be continued over several lines: the backslash, the line break and
//! the next line's leading blanks are not part of it. A [`SourceMap`] remembers the pieces, so
//! that a span in the value (a policy parse error, say) becomes a span in the file, and the
//! caret lands under the character the user wrote.

use std::ops::Range;

use crate::span::Span;
use crate::syntax::is_whitespace;

/// Maps byte offsets in a value back to byte offsets in the file it was read from.
///
/// The value is a concatenation of pieces of the file (one per physical line); within a piece,
/// offsets map one to one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceMap {
    // INVARIANT: in text order and contiguous: each piece starts where the previous one ends.
    pieces: Vec<Piece>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Piece {
    text_start: usize,
    file_start: usize,
    len: usize,
}

impl Piece {
    fn text_end(&self) -> usize {
        self.text_start + self.len
    }
}

impl SourceMap {
    /// The span in the file of the bytes `span` of the value.
    ///
    /// A span that crosses a line continuation reaches from its start on one line to its end on
    /// another; an empty span at the end of the value is placed right after its last character.
    pub fn file_span(&self, span: Span) -> Span {
        let start = self.file_offset(span.start);
        let end = span.end.min(self.text_len());
        if end <= span.start {
            return Span::at(start);
        }
        Span::new(start, (self.file_offset(end - 1) + 1).max(start))
    }

    fn text_len(&self) -> usize {
        self.pieces.last().map_or(0, Piece::text_end)
    }

    /// Where byte `at` of the value is in the file: the start of the piece that holds it, or the
    /// end of the last piece for an offset at or past the end of the value.
    fn file_offset(&self, at: usize) -> usize {
        let holder = self.pieces.iter().rev().find(|p| p.text_start <= at);
        match holder.or(self.pieces.first()) {
            Some(p) => p.file_start + at.saturating_sub(p.text_start).min(p.len),
            None => 0,
        }
    }

    /// The map of the sub-value `range`, whose offsets start again at zero.
    fn slice(&self, range: Range<usize>) -> SourceMap {
        let mut pieces: Vec<Piece> = self
            .pieces
            .iter()
            .filter_map(|p| {
                let start = p.text_start.max(range.start);
                let end = p.text_end().min(range.end);
                (start < end).then(|| Piece {
                    text_start: start - range.start,
                    file_start: p.file_start + (start - p.text_start),
                    len: end - start,
                })
            })
            .collect();
        if pieces.is_empty() {
            pieces.push(Piece {
                text_start: 0,
                file_start: self.file_offset(range.start),
                len: 0,
            });
        }
        SourceMap { pieces }
    }
}

/// A piece of configuration text (a key, a value, a list item) and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Located {
    /// The text, line continuations resolved.
    pub text: String,
    /// Where each of its bytes is in the file.
    pub map: SourceMap,
}

impl Located {
    /// The concatenation of the byte ranges `pieces` of `source`, in order. An empty piece is
    /// kept only when it is the first (it places an empty value).
    pub fn from_pieces(source: &str, pieces: &[Range<usize>]) -> Located {
        let mut text = String::new();
        let mut map = SourceMap::default();
        for piece in pieces {
            let Some(part) = source.get(piece.clone()) else {
                continue;
            };
            if part.is_empty() && !map.pieces.is_empty() {
                continue;
            }
            map.pieces.push(Piece {
                text_start: text.len(),
                file_start: piece.start,
                len: part.len(),
            });
            text.push_str(part);
        }
        Located { text, map }
    }

    /// Where the whole text is in the file.
    pub fn span(&self) -> Span {
        self.map.file_span(Span::new(0, self.text.len()))
    }

    /// Where the bytes `span` of the text are in the file.
    pub fn file_span(&self, span: Span) -> Span {
        self.map.file_span(span)
    }

    /// The bytes `range` of the text; empty (placed at `range.start`) when `range` is not a
    /// range of the text on character boundaries.
    pub fn slice(&self, range: Range<usize>) -> Located {
        let text = self.text.get(range.clone()).unwrap_or_default();
        let range = range.start..range.start + text.len();
        Located {
            text: text.to_owned(),
            map: self.map.slice(range),
        }
    }

    /// The text without leading characters that match `strip`.
    pub fn trim_start_matches(&self, strip: impl Fn(char) -> bool) -> Located {
        let start = self.text.len() - self.text.trim_start_matches(strip).len();
        self.slice(start..self.text.len())
    }

    /// The text without trailing characters that match `strip`.
    pub fn trim_end_matches(&self, strip: impl Fn(char) -> bool) -> Located {
        self.slice(0..self.text.trim_end_matches(strip).len())
    }

    /// The text without leading or trailing whitespace, as Java's `String.trim` removes it
    /// (every character up to U+0020).
    pub fn trim(&self) -> Located {
        self.trim_start_matches(is_whitespace)
            .trim_end_matches(is_whitespace)
    }

    /// The items of a comma-separated list, each trimmed; empty items are left out.
    pub fn list_items(&self) -> Vec<Located> {
        let mut items = Vec::new();
        let mut start = 0;
        for (comma, _) in self.text.match_indices(',').chain([(self.text.len(), "")]) {
            let item = self.slice(start..comma).trim();
            if !item.text.is_empty() {
                items.push(item);
            }
            start = comma + 1;
        }
        items
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::testing::located;

    /// `key=ab\` / `  cd` with its two pieces: `ab` at 4..6 and `cd` at 10..12.
    fn continued() -> (&'static str, Located) {
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
        let texts: Vec<&str> = items.iter().map(|i| i.text.as_str()).collect();
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
