//! Byte spans into a source text, and the one renderer that turns a span into `line:column`
//! with the source line and a caret under it.
//!
//! Every diagnostic of tagroute (policy parse errors, lints, configuration errors) carries a
//! [`Span`]; only this module knows how to show one to a person. Columns count characters, not
//! bytes, so a caret lines up under non-ASCII text too.

use std::fmt;
use std::ops::Range;

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

/// The line that holds byte `offset`: its number, its start and its end (before the line break).
fn line_of(text: &str, offset: usize) -> (usize, usize, usize) {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let bytes = text.as_bytes();
    let mut line = 1;
    let mut start = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i).filter(|_| i < offset) {
        if b == b'\n' || b == b'\r' {
            let break_end = if b == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                i + 2
            } else {
                i + 1
            };
            if break_end > offset {
                break; // `offset` is inside this line's break: it belongs to this line
            }
            line += 1;
            start = break_end;
            i = break_end;
        } else {
            i += 1;
        }
    }
    let end = text
        .get(start..)
        .and_then(|rest| rest.find(['\n', '\r']))
        .map_or(text.len(), |n| start + n);
    (line, start, end)
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The `line:column` of byte `offset` in `text` (clamped to the text).
pub fn line_col(text: &str, offset: usize) -> LineCol {
    let (line, start, _) = line_of(text, offset);
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let column = text.get(start..offset).map_or(0, |s| s.chars().count()) + 1;
    LineCol { line, column }
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snippet {
    /// Where the span starts.
    pub at: LineCol,
    /// The source line holding the start of the span, without its line break; control
    /// characters other than tabs are shown as spaces so the caret stays aligned.
    pub source_line: String,
    /// Spaces and carets: a caret under every character of the span on that line (at least one).
    pub carets: String,
}

/// A line longer than this many characters is not shown whole: a snippet shows at most
/// [`CONTEXT`] characters of it on each side of the span and marks at most [`MAX_MARKED`], so
/// that a diagnostic about a 100 KB line stays a few lines long; `...` stands for what is left
/// out.
const MAX_LINE: usize = 160;
/// See [`MAX_LINE`].
const CONTEXT: usize = 60;
/// See [`CONTEXT`].
const MAX_MARKED: usize = 80;
const ELLIPSIS: &str = "...";

impl Snippet {
    /// Places `span` in `text`.
    pub fn new(text: &str, span: Span) -> Snippet {
        let at = line_col(text, span.start);
        let (_, line_start, line_end) = line_of(text, span.start);
        let line = text.get(line_start..line_end).unwrap_or("");
        let span_end = span.end.clamp(span.start, line_end.max(span.start));
        let width = text
            .get(
                floor_char_boundary(text, span.start.min(text.len()))
                    ..floor_char_boundary(text, span_end.min(text.len())),
            )
            .map_or(0, |s| s.chars().count())
            .max(1);
        let (column, marked) = (at.column - 1, width.min(MAX_MARKED));
        let total = line.chars().count();
        let (from, to) = if total <= MAX_LINE {
            (0, total)
        } else {
            let from = column.saturating_sub(CONTEXT);
            (from, (column + marked + CONTEXT).min(total))
        };
        let open = if from > 0 { ELLIPSIS } else { "" };
        let close = if to < total { ELLIPSIS } else { "" };
        let shown: String = line
            .chars()
            .skip(from)
            .take(to.saturating_sub(from))
            .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
            .collect();
        let lead: String = line
            .chars()
            .skip(from)
            .take(column - from)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        Snippet {
            at,
            source_line: format!("{open}{shown}{close}"),
            carets: format!("{}{lead}{}", " ".repeat(open.len()), "^".repeat(marked)),
        }
    }
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
/// command line.
pub fn render(
    source: &str,
    origin: Option<&str>,
    span: Span,
    severity: Severity,
    message: &dyn fmt::Display,
    help: Option<&str>,
) -> String {
    let snippet = Snippet::new(source, span);
    let origin = origin.map(|o| format!("{o}:")).unwrap_or_default();
    let mut out = format!("{origin}{}: {severity}: {message}\n{snippet}", snippet.at);
    if let Some(help) = help {
        out.push_str(&format!("\n  help: {help}"));
    }
    out
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
    fn a_long_line_is_shown_as_a_window_around_the_caret() {
        let line = format!("{}tgas(b){}", "x;".repeat(50_000), "->y".repeat(20_000));
        let start = 100_000;
        let s = Snippet::new(&line, Span::new(start, start + 4));
        assert_eq!(
            s.at,
            LineCol {
                line: 1,
                column: start + 1
            }
        );
        let before = "x;".repeat(30);
        let after = format!("(b){}", "->y".repeat(30))
            .chars()
            .take(60)
            .collect::<String>();
        assert_eq!(s.source_line, format!("...{before}tgas{after}..."));
        assert_eq!(s.carets, format!("{}^^^^", " ".repeat(3 + 60)));
        let huge = Snippet::new(&line, Span::new(0, line.len()));
        assert_eq!(huge.carets, "^".repeat(80));
        assert_eq!(huge.source_line.chars().count(), 80 + 60 + 3);
        let short = "y".repeat(MAX_LINE);
        assert_eq!(
            Snippet::new(&short, Span::at(MAX_LINE - 1)).source_line,
            short
        );
    }

    #[test]
    fn a_span_past_its_line_stops_at_the_line_end() {
        let s = Snippet::new("ab\ncd", Span::new(1, 5));
        assert_eq!(s.source_line, "ab");
        assert_eq!(s.carets, " ^");
    }
}
