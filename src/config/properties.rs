//! The subset of Java properties that neo4j.conf uses, with every key and value placed in the
//! file.
//!
//! - Lines end at `\n`, `\r\n` or `\r`. A line whose first non-blank character is `#` or `!` is
//!   a comment, and a comment never continues.
//! - A line ending in an odd number of backslashes continues on the next line, whose leading
//!   blanks are dropped; the last backslash is removed. No other escape is interpreted.
//! - `key=value` or `key:value`, blanks allowed around the separator; the value loses its
//!   leading blanks and keeps its trailing ones, as Neo4j reads it.
//!
//! Blanks are what Java's properties reader skips: space, tab and form feed. Unlike Java, a line
//! without `=` or `:` is an error rather than a key separated by a blank.

use std::collections::BTreeMap;
use std::ops::Range;

use super::error::{ConfigDiagnostic, ConfigDiagnosticKind as Kind, Diagnostics};
use super::located::Located;
use crate::span::line_col;

/// One `key=value` line (or lines, through continuations).
#[derive(Clone, Debug)]
pub(super) struct Property {
    /// The key, trailing blanks removed.
    pub key: Located,
    /// The value, leading blanks removed, trailing ones kept.
    pub value: Located,
}

/// The properties of a file: for each key, the last value given.
#[derive(Clone, Debug, Default)]
pub(super) struct Properties {
    /// Every property, in file order, duplicates included.
    all: Vec<Property>,
    /// For each key, the index in `all` of its last occurrence.
    last: BTreeMap<String, usize>,
}

impl Properties {
    /// The property that sets `key`, if any (the last one when it is given twice).
    pub fn get(&self, key: &str) -> Option<&Property> {
        self.last.get(key).and_then(|&i| self.all.get(i))
    }

    /// The properties that count (the last of each key), in file order.
    pub fn iter(&self) -> impl Iterator<Item = &Property> {
        self.all
            .iter()
            .enumerate()
            .filter(|(i, p)| self.last.get(&p.key.text) == Some(i))
            .map(|(_, p)| p)
    }

    fn insert(&mut self, property: Property, diagnostics: &mut Diagnostics, source: &str) {
        if let Some(earlier) = self.get(&property.key.text) {
            let line = line_col(source, earlier.key.span().start).line;
            diagnostics.push(ConfigDiagnostic::warning(
                Kind::DuplicateKey,
                property.key.span(),
                format!(
                    "`{}` is set again; the value on line {line} is ignored",
                    property.key.text
                ),
            ));
        }
        self.last.insert(property.key.text.clone(), self.all.len());
        self.all.push(property);
    }
}

/// Reads the properties of `source`, reporting lines that are not properties.
pub(super) fn read(source: &str, diagnostics: &mut Diagnostics) -> Properties {
    let mut properties = Properties::default();
    let lines = physical_lines(source);
    let mut next = lines.iter();
    while let Some(line) = next.next() {
        let start = skip_blanks(source, line.clone());
        if start == line.end || matches!(source.as_bytes().get(start), Some(b'#' | b'!')) {
            continue;
        }
        let logical = logical_line(source, start..line.end, &mut next);
        if let Some(property) = split(logical, diagnostics) {
            properties.insert(property, diagnostics, source);
        }
    }
    properties
}

/// The byte ranges of the lines of `source`, without their line breaks.
fn physical_lines(source: &str) -> Vec<Range<usize>> {
    let bytes = source.as_bytes();
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'\n' || b == b'\r' {
            lines.push(start..i);
            let crlf = b == b'\r' && bytes.get(i + 1) == Some(&b'\n');
            i += if crlf { 2 } else { 1 };
            start = i;
        } else {
            i += 1;
        }
    }
    if start < bytes.len() {
        lines.push(start..bytes.len());
    }
    lines
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0c')
}

/// The first byte of `line` that is not a blank (`line.end` when there is none).
fn skip_blanks(source: &str, line: Range<usize>) -> usize {
    let bytes = source.as_bytes();
    (line.start..line.end)
        .find(|&i| bytes.get(i).is_some_and(|&b| !is_blank(char::from(b))))
        .unwrap_or(line.end)
}

/// Whether `line` ends in an odd number of backslashes.
fn continues(source: &str, line: &Range<usize>) -> bool {
    let text = source.get(line.clone()).unwrap_or_default();
    let backslashes = text.len() - text.trim_end_matches('\\').len();
    backslashes % 2 == 1
}

/// The logical line that starts with `first`, taking continuation lines from `rest`.
fn logical_line<'l>(
    source: &str,
    first: Range<usize>,
    rest: &mut impl Iterator<Item = &'l Range<usize>>,
) -> Located {
    let mut pieces = Vec::new();
    let mut line = first;
    while continues(source, &line) {
        pieces.push(line.start..line.end - 1);
        match rest.next() {
            Some(next) => line = skip_blanks(source, next.clone())..next.end,
            None => return Located::from_pieces(source, &pieces),
        }
    }
    pieces.push(line);
    Located::from_pieces(source, &pieces)
}

/// Splits a logical line at its first `=` or `:`.
fn split(line: Located, diagnostics: &mut Diagnostics) -> Option<Property> {
    let Some(separator) = line.text.find(['=', ':']) else {
        diagnostics.push(
            ConfigDiagnostic::error(
                Kind::MissingSeparator,
                line.span(),
                "expected `=` or `:` after the key".into(),
            )
            .with_help("write `key=value`; a comment starts with `#`"),
        );
        return None;
    };
    let key = line.slice(0..separator).trim_end_matches(is_blank);
    if key.text.is_empty() {
        let at = line.slice(separator..separator + 1).span();
        diagnostics.push(ConfigDiagnostic::error(
            Kind::EmptyKey,
            at,
            "the line has a value but no key".into(),
        ));
        return None;
    }
    let value = line
        .slice(separator + 1..line.text.len())
        .trim_start_matches(is_blank);
    Some(Property { key, value })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::testing::{position, under};
    use crate::span::Span;

    fn read_ok(source: &str) -> Properties {
        let mut diagnostics = Diagnostics::default();
        let properties = read(source, &mut diagnostics);
        assert_eq!(diagnostics.finish("t", source).map(|w| w.len()), Ok(0));
        properties
    }

    fn pairs(properties: &Properties) -> Vec<(String, String)> {
        properties
            .iter()
            .map(|p| (p.key.text.clone(), p.value.text.clone()))
            .collect()
    }

    fn pair(key: &str, value: &str) -> (String, String) {
        (key.to_owned(), value.to_owned())
    }

    #[test]
    fn lines_end_at_lf_crlf_and_cr() {
        let properties = read_ok("a=1\nb=2\r\nc=3\rd=4");
        assert_eq!(
            pairs(&properties),
            [
                pair("a", "1"),
                pair("b", "2"),
                pair("c", "3"),
                pair("d", "4")
            ]
        );
    }

    #[test]
    fn separators_and_blanks_around_them() {
        let properties = read_ok("  a = 1\nb:2\nc\t:\t x = y \nd=\ne: \x0b v");
        assert_eq!(
            pairs(&properties),
            [
                pair("a", "1"),
                pair("b", "2"),
                pair("c", "x = y "),
                pair("d", ""),
                pair("e", "\x0b v")
            ]
        );
    }

    #[test]
    fn comments_and_blank_lines_are_skipped_and_never_continue() {
        let properties = read_ok("# a=1 \\\n  ! b=2\\\nc=3\n \t\n\x0c\nd=4");
        assert_eq!(pairs(&properties), [pair("c", "3"), pair("d", "4")]);
    }

    #[test]
    fn an_odd_run_of_backslashes_continues_the_line() {
        let source = "a=x\\\n   y\nb=x\\\\\nc=1\\\\\\\n\t z\\\r\n#not a comment\nd=\\";
        let properties = read_ok(source);
        assert_eq!(
            pairs(&properties),
            [
                pair("a", "xy"),
                pair("b", "x\\\\"),
                pair("c", "1\\\\z#not a comment"),
                pair("d", "")
            ]
        );
    }

    #[test]
    fn a_continued_line_keeps_every_position() {
        let source = "# c\ndbms.x=tags(a);\\\n    tgas(b)\n";
        let properties = read_ok(source);
        let value = &properties.get("dbms.x").unwrap().value;
        assert_eq!(value.text, "tags(a);tgas(b)");
        let span = value.file_span(Span::new(8, 12));
        assert_eq!(under(source, span), "tgas");
        assert_eq!(position(source, span), "3:5");
    }

    #[test]
    fn a_key_can_be_continued_too() {
        let source = "dbms.\\\n  x = 1";
        let properties = read_ok(source);
        let property = properties.get("dbms.x").unwrap();
        assert_eq!(property.value.text, "1");
        assert_eq!(position(source, property.value.span()), "2:7");
    }

    #[test]
    fn a_line_without_separator_is_an_error_and_reading_goes_on() {
        let source = "a=1\njust words\n=x\nb=2";
        let mut diagnostics = Diagnostics::default();
        let properties = read(source, &mut diagnostics);
        assert_eq!(pairs(&properties), [pair("a", "1"), pair("b", "2")]);
        let errors = diagnostics.finish("t", source).unwrap_err();
        let found: Vec<_> = errors
            .errors()
            .iter()
            .map(|d| (d.kind, under(source, d.span), position(source, d.span)))
            .collect();
        assert_eq!(
            found,
            [
                (Kind::MissingSeparator, "just words", "2:1".to_owned()),
                (Kind::EmptyKey, "=", "3:1".to_owned())
            ]
        );
    }

    #[test]
    fn a_key_given_twice_keeps_the_last_value_with_a_warning() {
        let source = "a=1\nb=2\n a = 3\n";
        let mut diagnostics = Diagnostics::default();
        let properties = read(source, &mut diagnostics);
        assert_eq!(pairs(&properties), [pair("b", "2"), pair("a", "3")]);
        let warnings = diagnostics.finish("t", source).unwrap();
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].kind, Kind::DuplicateKey);
        assert_eq!(
            warnings[0].message,
            "`a` is set again; the value on line 1 is ignored"
        );
        assert_eq!(position(source, warnings[0].span), "3:2");
    }
}
