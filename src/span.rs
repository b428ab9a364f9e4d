//! Byte spans into a source text, and the one renderer that turns a span into `line:column`
//! with the source line and a caret under it.
//!
//! Every diagnostic of tagroute (policy parse errors, lints, configuration errors) carries a
//! [`Span`]; only this module knows how to show one to a person. Columns count characters, not
//! bytes, so a caret lines up under non-ASCII text too. Positions come from a [`LineIndex`],
//! built once per text, so placing every diagnostic of a large file stays linear; a snippet of a
//! very long line shows a window around the caret, never the whole line.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// A half-open byte range `start..end` into a source text.
///
/// Spans never take part in the equality of the syntax tree: two trees that differ only in
/// where their nodes were written are equal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
}

impl Span {
    /// The span `start..end`.
    pub const fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The empty span at `at`.
    pub const fn at(at: usize) -> Span {
        Span { start: at, end: at }
    }

    /// The smallest span covering both `self` and `other`.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    /// The span as a `Range`, for slicing.
    pub fn range(self) -> Range<usize> {
        self.start..self.end
    }

    /// Whether the span covers no byte.
    pub fn is_empty(self) -> bool {
        self.start >= self.end
    }

    /// The span moved `by` bytes to the right (a span in a value, placed in its file).
    pub fn shifted(self, by: usize) -> Span {
        Span::new(self.start + by, self.end + by)
    }
}

impl From<Range<usize>> for Span {
    fn from(r: Range<usize>) -> Span {
        Span::new(r.start, r.end)
    }
}

/// A 1-based line and column; the column counts characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineCol {
    /// Line number, from 1. Lines end at `\n`, `\r\n` or `\r`.
    pub line: usize,
    /// Column number, from 1, in characters.
    pub column: usize,
}

impl fmt::Display for LineCol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Where every line of a text starts, built once in one pass so that any offset finds its line
/// in `O(log lines)`.
///
/// Lines end at `\n`, `\r\n` or `\r`. Build one per text and use it for every diagnostic of
/// that text: finding a line by scanning from the start instead makes placing `n` diagnostics
/// quadratic.
///
/// ```
/// use tagroute::span::{LineCol, LineIndex};
///
/// let index = LineIndex::new("a=1\r\nb=2\rc=3");
/// assert_eq!(index.line_col(7), LineCol { line: 2, column: 3 });
/// assert_eq!(index.lines(), 3);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineIndex {
    text: Arc<str>,
    /// INVARIANT: starts with 0, strictly increasing, each the first byte after a line break.
    starts: Box<[usize]>,
    /// Per line, whether it is all ASCII, so that a column is a subtraction there instead of a
    /// count of the characters before it (which on one long line made placing `n` diagnostics
    /// quadratic).
    ascii: Box<[bool]>,
}

impl LineIndex {
    /// Indexes the lines of `text`, which it keeps (shared, when given as an `Arc<str>`).
    pub fn new(text: impl Into<Arc<str>>) -> LineIndex {
        let text: Arc<str> = text.into();
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        let mut ascii = Vec::new();
        let mut line_ascii = true;
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            i += 1;
            line_ascii &= b.is_ascii();
            if b == b'\r' && bytes.get(i) == Some(&b'\n') {
                i += 1;
            }
            if b == b'\n' || b == b'\r' {
                starts.push(i);
                ascii.push(std::mem::replace(&mut line_ascii, true));
            }
        }
        ascii.push(line_ascii);
        LineIndex {
            text,
            starts: starts.into_boxed_slice(),
            ascii: ascii.into_boxed_slice(),
        }
    }

    /// The text indexed.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// How many lines the text has (an empty text, or one ending in a line break, counts its
    /// last, empty line too).
    pub fn lines(&self) -> usize {
        self.starts.len()
    }

    /// The line that holds byte `offset` (clamped to the text, moved back to a character
    /// boundary): its number from 1, its start, and its end before the line break. An offset
    /// inside a line break belongs to the line the break ends.
    fn line_of(&self, offset: usize) -> (usize, usize, usize) {
        let offset = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let line = self.starts.partition_point(|&start| start <= offset).max(1);
        let start = self.starts.get(line - 1).copied().unwrap_or(0);
        let next = self.starts.get(line).copied().unwrap_or(self.text.len());
        let content = self.text.get(start..next).unwrap_or("");
        let end = start + content.trim_end_matches(['\n', '\r']).len();
        (line, start, end)
    }

    /// The `line:column` of byte `offset` (clamped to the text); the column counts characters.
    pub fn line_col(&self, offset: usize) -> LineCol {
        let (line, start, _) = self.line_of(offset);
        let offset = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let before = offset.saturating_sub(start);
        let column = if self.ascii.get(line - 1).copied().unwrap_or(false) {
            before
        } else {
            self.text
                .get(start..offset)
                .map_or(0, |s| s.chars().count())
        } + 1;
        LineCol { line, column }
    }

    /// Places `span` in the text (see [`Snippet`]).
    pub fn snippet(&self, span: Span) -> Snippet {
        Snippet::place(self, span)
    }

    /// Renders one diagnostic of the text, as [`render`] does.
    pub fn render(
        &self,
        origin: Option<&str>,
        span: Span,
        severity: Severity,
        message: &dyn fmt::Display,
        help: Option<&str>,
    ) -> String {
        use fmt::Write as _;
        let snippet = self.snippet(span);
        let mut out = String::with_capacity(
            origin.map_or(0, str::len) + snippet.source_line.len() + snippet.carets.len() + 128,
        );
        // Writing to a `String` cannot fail.
        if let Some(origin) = origin {
            let _ = write!(out, "{origin}:");
        }
        let _ = write!(out, "{}: {severity}: {message}\n{snippet}", snippet.at);
        if let Some(help) = help {
            let _ = write!(out, "\n  help: {help}");
        }
        out
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The `line:column` of byte `offset` in `text` (clamped to the text).
///
/// This indexes `text` for one answer; for several positions in one text, build a
/// [`LineIndex`] once.
pub fn line_col(text: &str, offset: usize) -> LineCol {
    LineIndex::new(text).line_col(offset)
}

/// A diagnostic placed in its source: position, the source line, and a caret line.
///
/// Its `Display` is the whole rendering:
///
/// ```text
/// 1:21: unknown filter `tgas`
///   tags(a)->min(2);  tgas(b)
///                     ^^^^
/// ```
///
/// A line longer than [`SNIPPET_WIDTH`] characters is shown as a window around the span, with
/// `...` where it was cut.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snippet {
    /// Where the span starts.
    pub at: LineCol,
    /// The source line holding the start of the span (or the window of it shown), without its
    /// line break; control characters other than tabs are shown as spaces so the caret stays
    /// aligned.
    pub source_line: String,
    /// Spaces and carets: a caret under every character of the span on that line (at least one).
    pub carets: String,
}

/// The most characters of a source line a snippet shows; a longer line is cut to a window
/// around the span, so that a diagnostic in a 100 KB line stays a few lines long.
pub const SNIPPET_WIDTH: usize = 120;

impl Snippet {
    /// Places `span` in `text` (indexing `text` for this one snippet; see [`LineIndex`]).
    pub fn new(text: &str, span: Span) -> Snippet {
        LineIndex::new(text).snippet(span)
    }

    fn place(index: &LineIndex, span: Span) -> Snippet {
        let text = index.text();
        let at = index.line_col(span.start);
        let (line_number, line_start, line_end) = index.line_of(span.start);
        let line_text = text.get(line_start..line_end).unwrap_or("");
        let ascii = index.ascii.get(line_number - 1).copied().unwrap_or(false);
        let chars = |s: &str| if ascii { s.len() } else { s.chars().count() };
        let span_end = span.end.clamp(span.start, line_end.max(span.start));
        let width = text
            .get(
                floor_char_boundary(text, span.start.min(text.len()))
                    ..floor_char_boundary(text, span_end.min(text.len())),
            )
            .map_or(0, chars)
            .max(1);
        let caret = at.column - 1;
        let len = chars(line_text);
        let (from, to) = window(len, caret, width);
        // Only the window is materialised: on a long line, every diagnostic stays this size.
        let byte_at = |n: usize| {
            line_text
                .char_indices()
                .nth(n)
                .map_or(line_text.len(), |(i, _)| i)
        };
        let shown = if ascii {
            line_text.get(from..to).unwrap_or("")
        } else {
            line_text.get(byte_at(from)..byte_at(to)).unwrap_or("")
        };
        let cut_left = if from > 0 { "..." } else { "" };
        let cut_right = if to < len { "..." } else { "" };
        let mut source_line = String::with_capacity(line_text.len().min(4 * (to - from)) + 6);
        source_line.push_str(cut_left);
        source_line.extend(
            shown
                .chars()
                .map(|c| if c.is_control() && c != '\t' { ' ' } else { c }),
        );
        source_line.push_str(cut_right);
        let carets = if to > from {
            width.min(to.max(caret + 1) - caret)
        } else {
            width
        }
        .max(1);
        let lead = shown
            .chars()
            .take(caret - from)
            .map(|c| if c == '\t' { '\t' } else { ' ' });
        let mut marks = String::with_capacity(cut_left.len() + (caret - from) + carets);
        marks.extend(cut_left.chars().map(|_| ' '));
        marks.extend(lead);
        marks.extend(std::iter::repeat_n('^', carets));
        Snippet {
            at,
            source_line,
            carets: marks,
        }
    }
}

/// The characters `from..to` of a line of `len` characters to show for a span `width`
/// characters wide starting at character `caret`: the whole line when it fits in
/// [`SNIPPET_WIDTH`], otherwise a window of that width starting a little before the caret.
fn window(len: usize, caret: usize, width: usize) -> (usize, usize) {
    if len <= SNIPPET_WIDTH {
        return (0, len);
    }
    let before = SNIPPET_WIDTH / 4;
    let from = caret
        .saturating_sub(before)
        .min(len.saturating_sub(SNIPPET_WIDTH))
        .min(caret);
    let wanted = SNIPPET_WIDTH.max((caret - from + width).min(SNIPPET_WIDTH));
    (from, (from + wanted).min(len))
}

impl fmt::Display for Snippet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "  {}", self.source_line)?;
        write!(f, "  {}", self.carets)
    }
}

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The input is rejected.
    Error,
    /// The input is accepted, but probably not what was meant.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// Renders one diagnostic, the only way tagroute shows a position to a person:
///
/// ```text
/// neo4j.conf:3:61: error: unknown filter `tgas`
///   dbms.routing.load_balancing.config.server_policies.north=tgas(north)
///                                                            ^^^^
///   help: did you mean `tags`?
/// ```
///
/// `origin` (a file name) is left out when there is none, as for a policy given on the
/// command line. This indexes `source` for one diagnostic; to render several of one text, build
/// a [`LineIndex`] once and call [`LineIndex::render`].
pub fn render(
    source: &str,
    origin: Option<&str>,
    span: Span,
    severity: Severity,
    message: &dyn fmt::Display,
    help: Option<&str>,
) -> String {
    LineIndex::new(source).render(origin, span, severity, message, help)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_and_every_line_break() {
        let text = "ab\ncd\r\nef\rgé h";
        assert_eq!(line_col(text, 0), LineCol { line: 1, column: 1 });
        assert_eq!(line_col(text, 4), LineCol { line: 2, column: 2 });
        assert_eq!(line_col(text, 7), LineCol { line: 3, column: 1 });
        assert_eq!(line_col(text, 10), LineCol { line: 4, column: 1 });
        // `é` is two bytes; `h` is the fourth character of its line.
        assert_eq!(line_col(text, 14), LineCol { line: 4, column: 4 });
        assert_eq!(line_col(text, 999), LineCol { line: 4, column: 5 });
    }

    #[test]
    fn snippet_puts_the_caret_under_the_span() {
        let text = "tags(a);\n  tgas(b) -> min(1)";
        let s = Snippet::new(text, Span::new(11, 15));
        assert_eq!(s.at, LineCol { line: 2, column: 3 });
        assert_eq!(s.to_string(), "    tgas(b) -> min(1)\n    ^^^^");
    }

    #[test]
    fn render_shows_origin_position_line_caret_and_help() {
        let source = "a=1\np=tgas(x)";
        let out = render(
            source,
            Some("neo4j.conf"),
            Span::new(6, 10),
            Severity::Error,
            &"unknown filter `tgas`",
            Some("did you mean `tags`?"),
        );
        assert_eq!(
            out,
            "neo4j.conf:2:3: error: unknown filter `tgas`\n  p=tgas(x)\n    ^^^^\n  help: did you mean `tags`?"
        );
        assert_eq!(
            render("x", None, Span::at(0), Severity::Warning, &"w", None),
            "1:1: warning: w\n  x\n  ^"
        );
    }

    #[test]
    fn an_empty_span_still_gets_one_caret() {
        let s = Snippet::new("abc", Span::at(3));
        assert_eq!(s.carets, "   ^");
    }

    #[test]
    fn a_span_past_its_line_stops_at_the_line_end() {
        let s = Snippet::new("ab\ncd", Span::new(1, 5));
        assert_eq!(s.source_line, "ab");
        assert_eq!(s.carets, " ^");
    }

    /// The line and column by walking the text from the start (the renderer before the index):
    /// the model the index must match.
    fn walked(text: &str, offset: usize) -> LineCol {
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let bytes = text.as_bytes();
        let (mut line, mut start, mut i) = (1, 0, 0);
        while i < offset {
            let b = bytes[i];
            if b == b'\n' || b == b'\r' {
                let crlf = b == b'\r' && bytes.get(i + 1) == Some(&b'\n');
                let break_end = i + if crlf { 2 } else { 1 };
                if break_end > offset {
                    break;
                }
                (line, start, i) = (line + 1, break_end, break_end);
            } else {
                i += 1;
            }
        }
        let column = text[start..offset].chars().count() + 1;
        LineCol { line, column }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 512,
            failure_persistence: None,
            rng_seed: proptest::test_runner::RngSeed::Fixed(0x11e5),
            ..Default::default()
        })]

        #[test]
        fn the_index_places_every_offset_like_a_walk_from_the_start(
            text in "([a\r\n]|é|\r\n){0,40}",
            offset in 0usize..60,
        ) {
            proptest::prop_assert_eq!(LineIndex::new(text.as_str()).line_col(offset), walked(&text, offset));
        }
    }

    #[test]
    fn a_long_non_ascii_line_is_windowed_by_characters_as_an_ascii_one_is() {
        let window_of = |filler: &str| {
            let line = format!("p={}tgas(x){}", filler.repeat(1_000), filler.repeat(1_000));
            let at = line.find("tgas").unwrap();
            let snippet = LineIndex::new(line.as_str()).snippet(Span::new(at, at + 4));
            (
                snippet.at,
                snippet.source_line.replace(filler, "_"),
                snippet.carets,
            )
        };
        assert_eq!(window_of("é"), window_of("e"));
        assert_eq!(
            window_of("e").0,
            LineCol {
                line: 1,
                column: 1_003
            }
        );
    }

    #[test]
    fn a_long_line_is_shown_as_a_window_around_the_caret() {
        let line = format!("p={}tgas(x){}", "a".repeat(100_000), "b".repeat(100_000));
        let at = line.find("tgas").unwrap();
        let out = render(
            &line,
            Some("c"),
            Span::new(at, at + 4),
            Severity::Error,
            &"m",
            None,
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "c:1:100003: error: m");
        assert!(lines[1].len() < SNIPPET_WIDTH + 10, "{}", lines[1].len());
        assert!(lines[1].starts_with("  ...a") && lines[1].ends_with("b..."));
        let caret = lines[2].find('^').unwrap();
        assert_eq!(&lines[1][caret..caret + 4], "tgas");
        assert_eq!(lines[2].trim_start(), "^^^^");
        // At the very start and at the very end of a long line.
        let start = Snippet::new(&line, Span::new(0, 1));
        assert!(start.source_line.starts_with("p=aa") && start.source_line.ends_with("..."));
        assert_eq!(start.carets, "^");
        let end = Snippet::new(&line, Span::at(line.len()));
        assert!(end.source_line.starts_with("...") && end.source_line.ends_with("bbb"));
        assert_eq!(end.carets.len(), end.source_line.chars().count() + 1);
    }
}
