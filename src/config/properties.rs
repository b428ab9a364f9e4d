//! neo4j.conf's file format, which is Java's: what `java.util.Properties.load` reads, with every
//! key and value placed in the file.
//!
//! - Lines end at `\n`, `\r\n` or `\r`. Blank lines are skipped. A line whose first non-blank
//!   character is `#` or `!` is a comment, and a comment never continues. So is a line continued
//!   from a line holding only a backslash, when its first non-blank character is `#` or `!`.
//! - A line ending in an odd number of backslashes continues on the next line: the last
//!   backslash and the line break are dropped, and so are the next line's leading blanks. A
//!   continued line that is empty ends the logical line.
//! - The key ends at the first unescaped `=`, `:` or blank; blanks around the separator are
//!   skipped, and one `=` or `:` after blanks is the separator. A line without a separator is a
//!   key with the empty value. The value keeps its trailing blanks.
//! - Keys and values are unescaped: `\t`, `\n`, `\r`, `\f`, `\uXXXX` (exactly four hex digits,
//!   or the file is refused, as Java refuses it), and a backslash before any other character
//!   stands for that character (`\=`, `\:`, `\ `, `\#`, `\\`).
//!
//! Blanks are what Java's reader skips: space, tab and form feed. The text is already decoded
//! (`Config::load` reads ISO-8859-1, as Neo4j does by default). One deliberate difference: Java
//! strings may hold a lone UTF-16 surrogate (`\uD800` alone), Rust strings cannot, so that
//! escape is an error here. The reader is one pass over the text; properties keep their keys and
//! values, a sorted index answers "the last value of this key", and nothing is quadratic.

use super::error::{ConfigDiagnostic, ConfigDiagnosticKind as Kind, Diagnostics};
use super::located::Located;
use crate::span::Span;

/// One `key=value` logical line.
#[derive(Clone, Debug)]
pub(super) struct Property<'s> {
    /// The key, unescaped.
    pub key: Located<'s>,
    /// The value, unescaped; leading blanks removed, trailing ones kept.
    pub value: Located<'s>,
    /// Whether the line had `=` or `:` (a line `key` alone has not).
    pub has_separator: bool,
}

/// The properties of a file, in file order, and for each key its last value.
///
/// Stored compactly, since a file of millions of short lines must cost a few bytes a line: a
/// key or value written in the file as it reads is its place in the file (8 bytes), and only
/// one with an escape or a continuation keeps its own text. A [`Property`] is made when asked
/// for, borrowing the file or the kept text.
#[derive(Clone, Debug, Default)]
pub(super) struct Properties<'s> {
    source: &'s str,
    /// Every property, in file order, duplicates included.
    entries: Vec<Entry>,
    /// The keys and values that are not verbatim text of the file.
    owned: Vec<Located<'s>>,
    /// Indices into `entries`, sorted by key, then by position in the file.
    by_key: Vec<u32>,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    key: Text,
    value: Text,
    has_separator: bool,
}

/// Where a key's or value's text is: bytes of the file, or, when `len` is [`Text::OWNED`], the
/// `start`-th owned text.
#[derive(Clone, Copy, Debug)]
struct Text {
    start: u32,
    len: u32,
}

impl Text {
    const OWNED: u32 = u32::MAX;
}

impl<'s> Properties<'s> {
    fn new(source: &'s str) -> Properties<'s> {
        // At most one property a line that is not continued: room for all of them at once, so
        // that the entries are never copied to grow (nor kept with room for twice as many).
        // (Counted with `memchr`: a byte at a time, this was a tenth of a fuzzed load.)
        let bytes = source.as_bytes();
        let continued = |i: usize| i.checked_sub(1).and_then(|p| bytes.get(p)) == Some(&b'\\');
        let ends = |ending| {
            let breaks = source.match_indices(ending);
            breaks.filter(|(i, _)| !continued(*i)).count()
        };
        Properties {
            source,
            entries: Vec::with_capacity(ends('\n') + ends('\r') + 1),
            ..Properties::default()
        }
    }

    fn push(&mut self, property: Property<'s>) {
        let key = self.keep(property.key);
        let value = self.keep(property.value);
        self.entries.push(Entry {
            key,
            value,
            has_separator: property.has_separator,
        });
    }

    /// Sorts the keys, once every property is in.
    fn finish(mut self) -> Properties<'s> {
        self.entries.shrink_to_fit();
        self.owned.shrink_to_fit();
        let mut by_key: Vec<u32> = (0..narrow(self.entries.len())).collect();
        by_key.sort_by(|&a, &b| {
            let key = |i| self.key_text(i);
            key(a).cmp(key(b)).then(a.cmp(&b))
        });
        self.by_key = by_key;
        self
    }

    /// The text's place in the file when it is the file's bytes as they read (or empty), else
    /// kept.
    fn keep(&mut self, located: Located<'s>) -> Text {
        let span = located.span();
        if span.end - span.start == located.text.len()
            && Located::borrowed(self.source, span.range()) == located
        {
            return Text {
                start: narrow(span.start),
                len: narrow(span.end - span.start),
            };
        }
        self.owned.push(located);
        Text {
            start: narrow(self.owned.len() - 1),
            len: Text::OWNED,
        }
    }

    fn located(&self, text: Text) -> Located<'_> {
        if text.len == Text::OWNED {
            return self
                .owned
                .get(text.start as usize)
                .map(Located::borrow)
                .unwrap_or_default();
        }
        let start = text.start as usize;
        Located::borrowed(self.source, start..start + text.len as usize)
    }

    fn key_text(&self, i: u32) -> &str {
        let Some(entry) = self.entries.get(i as usize) else {
            return "";
        };
        let text = entry.key;
        if text.len == Text::OWNED {
            return self
                .owned
                .get(text.start as usize)
                .map_or("", |located| &located.text);
        }
        let start = text.start as usize;
        self.source
            .get(start..start + text.len as usize)
            .unwrap_or_default()
    }

    fn property(&self, i: u32) -> Option<Property<'_>> {
        let entry = self.entries.get(i as usize)?;
        Some(Property {
            key: self.located(entry.key),
            value: self.located(entry.value),
            has_separator: entry.has_separator,
        })
    }

    /// The positions in `by_key` of the properties that set `key`.
    fn range_of(&self, key: &str) -> std::ops::Range<usize> {
        let start = self.by_key.partition_point(|&i| self.key_text(i) < key);
        let end = self.by_key.partition_point(|&i| self.key_text(i) <= key);
        start..end
    }

    /// The property that sets `key`, if any (the last one when it is given twice).
    pub fn get(&self, key: &str) -> Option<Property<'_>> {
        let range = self.range_of(key);
        let last = self.by_key.get(range.end.checked_sub(1)?)?;
        (range.start < range.end)
            .then(|| self.property(*last))
            .flatten()
    }

    /// Every property, in file order, keys given twice included.
    pub fn all(&self) -> impl Iterator<Item = Property<'_>> {
        (0..narrow(self.entries.len())).filter_map(|i| self.property(i))
    }

    /// The properties that count (the last of each key), in file order.
    pub fn iter(&self) -> impl Iterator<Item = Property<'_>> {
        let last = self.last_of_each_key();
        (0..narrow(self.entries.len()))
            .zip(last)
            .filter_map(|(i, last)| last.then(|| self.property(i)).flatten())
    }

    /// For each property, whether it is the last of its key.
    fn last_of_each_key(&self) -> Vec<bool> {
        let mut last = vec![false; self.entries.len()];
        for pair in self.by_key.windows(2) {
            if let [a, b] = pair
                && self.key_text(*a) != self.key_text(*b)
                && let Some(flag) = last.get_mut(*a as usize)
            {
                *flag = true;
            }
        }
        if let Some(flag) = self.by_key.last().and_then(|&i| last.get_mut(i as usize)) {
            *flag = true;
        }
        last
    }

    /// The keys that count (of the last of each key), in file order: [`Properties::iter`]'s
    /// keys, without making the properties.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        let last = self.last_of_each_key();
        (0..narrow(self.entries.len()))
            .zip(last)
            .filter(|&(_, last)| last)
            .map(|(i, _)| self.key_text(i))
    }

    /// Each key given more than once: every occurrence after the first, with the one before it.
    pub fn repeats(&self) -> impl Iterator<Item = (Property<'_>, Property<'_>)> {
        self.by_key.windows(2).filter_map(|pair| match pair {
            [a, b] if self.key_text(*a) == self.key_text(*b) => {
                Some((self.property(*a)?, self.property(*b)?))
            }
            _ => None,
        })
    }
}

/// Reads the properties of `source`; a malformed escape is an error, and its line is skipped.
pub(super) fn read<'s>(source: &'s str, diagnostics: &mut Diagnostics) -> Properties<'s> {
    let mut properties = Properties::new(source);
    let mut lines = LogicalLines::new(source);
    while let Some(line) = lines.next_line() {
        match split(source, &line) {
            Ok(property) => properties.push(property),
            Err(error) => diagnostics.push(error),
        }
    }
    properties.finish()
}

/// Space, tab and form feed: what Java's properties reader skips.
fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0c')
}

/// One logical line: its text with continuations resolved (the backslash, the break and the
/// next line's leading blanks are not in it), and where each of its runs came from in the file.
///
/// Runs, not characters: a value continued over a million lines keeps one run per line, so a
/// logical line costs little more than its text.
#[derive(Debug, Default)]
struct LogicalLine {
    text: String,
    /// Where each run starts: in the text, and in the file. Within a run, text and file advance
    /// together.
    // INVARIANT: in text order, the first at text offset 0, none empty.
    runs: Vec<Run>,
    /// Where the logical line ends in the file (before its line break).
    end: usize,
}

/// Offsets as `u32`: a configuration is smaller than 4 GiB (`Config::parse` refuses larger).
#[derive(Clone, Copy, Debug)]
struct Run {
    text: u32,
    file: u32,
}

fn narrow(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl LogicalLine {
    fn push(&mut self, c: char, at: usize) {
        let contiguous = self
            .runs
            .last()
            .is_some_and(|run| run.file as usize + (self.text.len() - run.text as usize) == at);
        if !contiguous {
            self.runs.push(Run {
                text: narrow(self.text.len()),
                file: narrow(at),
            });
        }
        self.text.push(c);
    }

    /// Drops the last character (a continuation's backslash).
    fn pop(&mut self) {
        self.text.pop();
        if self
            .runs
            .last()
            .is_some_and(|run| run.text as usize >= self.text.len())
        {
            self.runs.pop();
        }
    }

    fn clear(&mut self) {
        self.text.clear();
        self.runs.clear();
    }

    /// The file offset of byte `i` of the text (the line's end for the end of the text).
    fn file_at(&self, i: usize) -> usize {
        match self.run_at(i).filter(|_| i < self.text.len()) {
            Some((_, run, _)) => run.file as usize + (i - run.text as usize),
            None => self.end,
        }
    }

    /// The file offset just after the character that ends at byte `j` of the text.
    fn file_end(&self, j: usize) -> usize {
        let last = (0..j)
            .rev()
            .find(|&k| self.text.is_char_boundary(k))
            .unwrap_or(0);
        self.file_at(last) + (j - last)
    }

    /// The run holding byte `i` of the text: its index, the run, and where it ends in the
    /// text.
    fn run_at(&self, i: usize) -> Option<(usize, Run, usize)> {
        let k = self
            .runs
            .partition_point(|run| run.text as usize <= i)
            .checked_sub(1)?;
        let (run, end) = self.run(k)?;
        Some((k, run, end))
    }

    /// Run `k`, and where it ends in the text.
    fn run(&self, k: usize) -> Option<(Run, usize)> {
        let run = *self.runs.get(k)?;
        let end = self
            .runs
            .get(k + 1)
            .map_or(self.text.len(), |r| r.text as usize);
        Some((run, end))
    }

    /// Appends the text `range` (on character boundaries) to `out`, one piece per run.
    fn copy_into(&self, range: std::ops::Range<usize>, out: &mut Located<'_>) {
        let Some(text) = self.text.get(range.clone()).filter(|t| !t.is_empty()) else {
            return;
        };
        out.text.to_mut().push_str(text);
        let Some((first, ..)) = self.run_at(range.start) else {
            return;
        };
        let mut at = range.start;
        for k in first..self.runs.len() {
            let Some((run, run_end)) = self.run(k).filter(|_| at < range.end) else {
                break;
            };
            let end = range.end.min(run_end);
            out.map
                .to_mut()
                .push_copy(run.file as usize + (at - run.text as usize), end - at);
            at = end;
        }
    }

    /// How many runs the text `range` touches.
    fn runs_in(&self, range: std::ops::Range<usize>) -> usize {
        let first = self.run_at(range.start).map_or(0, |(k, ..)| k);
        let last = self
            .run_at(range.end.saturating_sub(1))
            .map_or(0, |(k, ..)| k);
        last + 1 - first.min(last)
    }

    /// The character at byte `i` of the text, if `i < end`, with its file offset.
    fn char_at(&self, i: usize, end: usize) -> Option<(char, usize)> {
        let c = self.text.get(i..end)?.chars().next()?;
        Some((c, self.file_at(i)))
    }
}

/// Java's line reader: one logical line at a time, comments and blank lines skipped.
///
/// This follows `Properties.load`'s own state machine, corner cases included: an empty
/// continued line ends the logical line; a logical line that is still empty at a line break is
/// skipped; a line ending in one backslash right at the end of the file is read as the empty
/// key, but not when the break before the end is `\r\n`.
struct LogicalLines<'s> {
    source: &'s str,
    at: usize,
    /// The next `\r` and the next backslash at or after `at` (the text's length if none),
    /// found with `memchr` and searched again only once `at` passes them.
    next_cr: Next,
    next_backslash: Next,
}

/// The next position of a byte, as far as it was last searched.
#[derive(Clone, Copy)]
struct Next {
    byte: char,
    at: usize,
    searched: bool,
}

impl Next {
    fn new(byte: char) -> Next {
        Next {
            byte,
            at: 0,
            searched: false,
        }
    }

    /// The position of the first `byte` of `source` at or after `from`.
    fn from(&mut self, source: &str, from: usize) -> usize {
        if !self.searched || self.at < from {
            let rest = source.get(from..).unwrap_or_default();
            self.at = rest.find(self.byte).map_or(source.len(), |k| from + k);
            self.searched = true;
        }
        self.at
    }
}

/// Where the reader is within the current logical line.
#[derive(Default)]
struct LineState {
    skip_blanks: bool,
    continued: bool,
    comment: bool,
    skip_lf: bool,
    odd_backslashes: bool,
}

impl LineState {
    fn start() -> LineState {
        LineState {
            skip_blanks: true,
            ..LineState::default()
        }
    }
}

impl<'s> LogicalLines<'s> {
    fn new(source: &'s str) -> LogicalLines<'s> {
        LogicalLines {
            source,
            at: 0,
            next_cr: Next::new('\r'),
            next_backslash: Next::new('\\'),
        }
    }

    /// The next logical line when it is one physical line without a backslash (most lines), read
    /// a line at a time with `memchr` rather than a character at a time; comments and blank
    /// lines before it are skipped. `None` when the next line needs the character reader.
    fn plain_line(&mut self) -> Option<Option<LogicalLine>> {
        loop {
            let rest = self.source.get(self.at..)?;
            let blank = |c: char| is_blank(c) || c == '\n' || c == '\r';
            let start = self.at + (rest.len() - rest.trim_start_matches(blank).len());
            let rest = self.source.get(start..)?;
            if rest.is_empty() {
                self.at = start;
                return Some(None);
            }
            let lf = rest.find('\n').map_or(self.source.len(), |k| start + k);
            let end = lf.min(self.next_cr.from(self.source, start));
            if rest.starts_with(['#', '!']) {
                self.at = end;
                continue;
            }
            if self.next_backslash.from(self.source, start) < end {
                self.at = start;
                return None;
            }
            self.at = end;
            let text = self.source.get(start..end)?.to_owned();
            let runs = vec![Run {
                text: 0,
                file: narrow(start),
            }];
            return Some(Some(LogicalLine { text, runs, end }));
        }
    }

    fn bump(&mut self) -> Option<(char, usize)> {
        let c = self.source.get(self.at..).and_then(|s| s.chars().next())?;
        let at = self.at;
        self.at += c.len_utf8();
        Some((c, at))
    }

    /// The next logical line that is neither blank nor a comment.
    fn next_line(&mut self) -> Option<LogicalLine> {
        if let Some(plain) = self.plain_line() {
            return plain;
        }
        let mut line = LogicalLine::default();
        let mut state = LineState::start();
        loop {
            let Some((c, at)) = self.bump() else {
                if line.text.is_empty() || state.comment {
                    return None;
                }
                if state.odd_backslashes {
                    line.pop();
                }
                line.end = self.at;
                return Some(line);
            };
            if std::mem::take(&mut state.skip_lf) && c == '\n' {
                continue;
            }
            let is_break = c == '\n' || c == '\r';
            if state.skip_blanks {
                if is_blank(c) || (!state.continued && is_break) {
                    continue;
                }
                state.skip_blanks = false;
                state.continued = false;
            }
            // Java asks "is the logical line still empty?", so a line continued from a lone
            // backslash can still turn into a comment.
            if line.text.is_empty() && (c == '#' || c == '!') {
                state.comment = true;
            }
            if !is_break {
                if !state.comment {
                    line.push(c, at);
                }
                state.odd_backslashes = c == '\\' && !state.odd_backslashes;
                continue;
            }
            if state.comment || line.text.is_empty() {
                line.clear();
                state = LineState::start();
                continue;
            }
            if self.at >= self.source.len() || !state.odd_backslashes {
                if state.odd_backslashes {
                    line.pop();
                }
                line.end = at;
                return Some(line);
            }
            line.pop();
            state = LineState {
                skip_blanks: true,
                continued: true,
                skip_lf: c == '\r',
                ..LineState::default()
            };
        }
    }
}

/// Splits a logical line into its key and value, unescaping both.
fn split<'s>(source: &'s str, line: &LogicalLine) -> Result<Property<'s>, ConfigDiagnostic> {
    let text = line.text.as_str();
    let mut key_end = text.len();
    let mut value_start = text.len();
    let mut has_separator = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if !escaped && (c == '=' || c == ':' || is_blank(c)) {
            key_end = i;
            value_start = i + 1;
            has_separator = !is_blank(c);
            break;
        }
        escaped = c == '\\' && !escaped;
    }
    while let Some(c) = text.get(value_start..).and_then(|rest| rest.chars().next()) {
        if is_blank(c) {
            value_start += 1;
        } else if !has_separator && (c == '=' || c == ':') {
            has_separator = true;
            value_start += 1;
        } else {
            break;
        }
    }
    let key = unescape(source, Part::new(line, 0, key_end))?;
    let value = unescape(source, Part::new(line, value_start, text.len()))?;
    Ok(Property {
        key,
        value,
        has_separator,
    })
}

/// The key or the value of a logical line: its bytes `start..end`.
#[derive(Clone, Copy)]
struct Part<'l> {
    line: &'l LogicalLine,
    start: usize,
    end: usize,
}

impl<'l> Part<'l> {
    fn new(line: &'l LogicalLine, start: usize, end: usize) -> Part<'l> {
        Part { line, start, end }
    }

    fn char_at(&self, i: usize) -> Option<(char, usize)> {
        self.line.char_at(i, self.end)
    }

    /// Where the part is in the file, when the file holds it as it reads: not empty (an empty
    /// part is placed like any other), inside one run (no continuation) and without a
    /// backslash (no escape).
    fn verbatim(&self) -> Option<std::ops::Range<usize>> {
        let text = self.line.text.get(self.start..self.end)?;
        if text.is_empty() || text.contains('\\') {
            return None;
        }
        let (_, run, run_end) = self.line.run_at(self.start)?;
        let file = run.file as usize + (self.start - run.text as usize);
        (self.end <= run_end).then_some(file..file + text.len())
    }

    fn byte(&self, i: usize) -> Option<u8> {
        (i < self.end).then(|| self.line.text.as_bytes().get(i).copied())?
    }

    /// The span in the file of the `count` characters from byte `i` (at least one).
    fn span(&self, source: &str, i: usize, count: usize) -> Span {
        let Some(rest) = self.line.text.get(i..self.end).filter(|r| !r.is_empty()) else {
            return Span::at(source.len());
        };
        let taken = rest
            .char_indices()
            .nth(count.max(1))
            .map_or(rest.len(), |(k, _)| k);
        Span::new(self.line.file_at(i), self.line.file_end(i + taken))
    }
}

/// Decodes the escapes of `part`, keeping where every character came from. Text written in the
/// file as it reads (one run, no backslash) is borrowed from the file; otherwise the text
/// between escapes is copied a run at a time.
fn unescape<'s>(source: &'s str, part: Part<'_>) -> Result<Located<'s>, ConfigDiagnostic> {
    if let Some(range) = part.verbatim() {
        return Ok(Located::borrowed(source, range));
    }
    let mut out = Located::default();
    // Room for the text and a piece per line it spans, as it will be at most: a value
    // continued over a million lines is not copied again to grow.
    out.text.to_mut().reserve_exact(part.end - part.start);
    let lines = part.line.runs_in(part.start..part.end);
    let map = out.map.to_mut();
    map.reserve_exact(lines);
    map.place_empty(part.line.file_at(part.start));
    let mut i = part.start;
    while i < part.end {
        let plain = part.line.text.get(i..part.end).unwrap_or_default();
        let escape_at = plain.find('\\').map_or(part.end, |k| i + k);
        part.line.copy_into(i..escape_at, &mut out);
        i = escape_at;
        let Some((escape, _)) = part.char_at(i + 1) else {
            // A lone trailing backslash: Java drops it (only reachable at the end of the file).
            break;
        };
        let (decoded, used) = match escape {
            'u' => unicode_escape(source, part, i)?,
            't' => ('\t', 2),
            'n' => ('\n', 2),
            'r' => ('\r', 2),
            'f' => ('\x0c', 2),
            other => (other, 1 + other.len_utf8()),
        };
        let (at, end) = (part.line.file_at(i), part.line.file_end(i + used));
        out.text.to_mut().push(decoded);
        out.map
            .to_mut()
            .push_escape(at, decoded.len_utf8(), end - at);
        i += used;
    }
    Ok(out)
}

/// The character of the `\uXXXX` escape at byte `i` of `part`, and how many bytes it used: 6,
/// or 12 for a surrogate pair written as two escapes.
fn unicode_escape(
    source: &str,
    part: Part<'_>,
    i: usize,
) -> Result<(char, usize), ConfigDiagnostic> {
    let unit = hex4(part, i + 2).ok_or_else(|| malformed(source, part, i))?;
    if let Some(c) = char::from_u32(unit) {
        return Ok((c, 6));
    }
    let low = match (part.byte(i + 6), part.byte(i + 7)) {
        (Some(b'\\'), Some(b'u')) => hex4(part, i + 8),
        _ => None,
    };
    let pair = low
        .filter(|low| (0xD800..0xDC00).contains(&unit) && (0xDC00..0xE000).contains(low))
        .and_then(|low| char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)));
    pair.map(|c| (c, 12)).ok_or_else(|| {
        ConfigDiagnostic::error(
            Kind::LoneSurrogate,
            part.span(source, i, 6),
            format!("`\\u{unit:04X}` is half of a UTF-16 surrogate pair"),
        )
        .with_help(
            "tagroute reads only complete characters; write the whole pair, as in `\\uD83D\\uDE00`",
        )
    })
}

/// The value of the four hex digits at bytes `from..from + 4` of `part`.
fn hex4(part: Part<'_>, from: usize) -> Option<u32> {
    (0..4).try_fold(0, |value, k| {
        let digit = char::from(part.byte(from + k)?).to_digit(16)?;
        Some(value * 16 + digit)
    })
}

fn malformed(source: &str, part: Part<'_>, i: usize) -> ConfigDiagnostic {
    ConfigDiagnostic::error(
        Kind::MalformedEscape,
        part.span(source, i, 6),
        "malformed `\\uXXXX` escape: Java's properties reader refuses the file, and Neo4j does not start".into(),
    )
    .with_help("`\\u` takes exactly four hex digits; write `\\\\u` for a backslash followed by `u`")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::testing::{position, under};

    fn read_ok(source: &str) -> Properties<'_> {
        let mut diagnostics = Diagnostics::default();
        let properties = read(source, &mut diagnostics);
        assert_eq!(diagnostics.finish("t", source).map(|w| w.len()), Ok(0));
        properties
    }

    fn pairs(properties: &Properties) -> Vec<(String, String)> {
        properties
            .all()
            .map(|p| (p.key.text.to_string(), p.value.text.to_string()))
            .collect()
    }

    fn pair(key: &str, value: &str) -> (String, String) {
        (key.to_owned(), value.to_owned())
    }

    /// Issue 22: a property cost about 110 bytes, five times a line of `server.x1=value1`.
    #[test]
    fn text_written_as_it_reads_is_kept_as_its_place_in_the_file() {
        let source = "a=plain\nb=con\\\n  tinued\nc\\u0070=x\n";
        let properties = read_ok(source);
        assert_eq!(
            pairs(&properties),
            [pair("a", "plain"), pair("b", "continued"), pair("cp", "x")]
        );
        let kept: Vec<&str> = properties.owned.iter().map(|l| &*l.text).collect();
        assert_eq!(
            kept,
            ["continued", "cp"],
            "only what the file does not hold as it reads"
        );
        let all: Vec<Property> = properties.all().collect();
        assert_eq!(under(source, all[0].value.span()), "plain");
        assert_eq!(under(source, all[1].value.span()), "con\\\n  tinued");
        assert_eq!(under(source, all[2].key.span()), "c\\u0070");
        assert_eq!(under(source, all[2].value.span()), "x");
        assert_eq!(
            size_of::<Entry>() + size_of::<u32>(),
            24,
            "bytes a property costs"
        );
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
        let properties =
            read_ok("  a = 1\nb:2\nc\t:\t x = y \nd=\ne: \x0b v\nf g h\ni  =  =j\nk\nl :: m\n=n");
        assert_eq!(
            pairs(&properties),
            [
                pair("a", "1"),
                pair("b", "2"),
                pair("c", "x = y "),
                pair("d", ""),
                pair("e", "\x0b v"),
                pair("f", "g h"),
                pair("i", "=j"),
                pair("k", ""),
                pair("l", ": m"),
                pair("", "n"),
            ]
        );
        let separated: Vec<bool> = properties.all().map(|p| p.has_separator).collect();
        assert_eq!(
            separated,
            [true, true, true, true, true, false, true, false, true, true]
        );
    }

    #[test]
    fn comments_and_blank_lines_are_skipped_and_never_continue() {
        let properties = read_ok("# a=1 \\\n  ! b=2\\\nc=3\n \t\n\x0c\nd=4\n#");
        assert_eq!(pairs(&properties), [pair("c", "3"), pair("d", "4")]);
    }

    #[test]
    fn a_line_continued_from_a_lone_backslash_can_be_a_comment() {
        let properties = read_ok("\\\r\n  !x=1\n\\\n#y=2\n\\\nz=3");
        assert_eq!(pairs(&properties), [pair("z", "3")]);
    }

    #[test]
    fn an_odd_run_of_backslashes_continues_the_line() {
        let source = "a=x\\\n   y\nb=x\\\\\nc=1\\\\\\\n\t z\\\r\n#not a comment\nd=\\";
        let properties = read_ok(source);
        assert_eq!(
            pairs(&properties),
            [
                pair("a", "xy"),
                pair("b", "x\\"),
                pair("c", "1\\z#not a comment"),
                pair("d", "")
            ]
        );
    }

    #[test]
    fn an_empty_continued_line_ends_the_logical_line() {
        let properties = read_ok("a=x\\\n\nb=2\nc=y\\\n \t \nd=3");
        assert_eq!(
            pairs(&properties),
            [
                pair("a", "x"),
                pair("b", "2"),
                pair("c", "y"),
                pair("d", "3")
            ]
        );
    }

    #[test]
    fn every_escape_is_decoded() {
        let source = "\\u0070\\=\\:\\ k = \\t\\n\\r\\f\\u00e9\\\\\\#\\q\\\"\\uD83D\\uDE00x";
        let properties = read_ok(source);
        assert_eq!(pairs(&properties), [pair("p=: k", "\t\n\r\x0cé\\#q\"😀x")]);
    }

    #[test]
    fn escapes_keep_their_place_in_the_file() {
        let source = "dbms.x=\\u0074ags(a);\\\n    t\\u0067as(b)";
        let properties = read_ok(source);
        let value = &properties.get("dbms.x").unwrap().value;
        assert_eq!(value.text, "tags(a);tgas(b)");
        // `t` is written `\u0074`: its span is the whole escape.
        assert_eq!(under(source, value.file_span(Span::new(0, 1))), "\\u0074");
        let tgas = value.file_span(Span::new(8, 12));
        assert_eq!(under(source, tgas), "t\\u0067as");
        assert_eq!(position(source, tgas), "2:5");
        assert_eq!(
            under(source, value.file_span(Span::new(0, 4))),
            "\\u0074ags"
        );
    }

    #[test]
    fn a_unicode_escape_may_be_continued() {
        let source = "a=\\u00\\\n   41b";
        assert_eq!(pairs(&read_ok(source)), [pair("a", "Ab")]);
    }

    #[test]
    fn a_malformed_unicode_escape_is_an_error_and_reading_goes_on() {
        let source = "a=1\nb=\\u12g4\nc\\u00=2\nd=\\u\ne=\\uD800x\nf=2";
        let mut diagnostics = Diagnostics::default();
        let properties = read(source, &mut diagnostics);
        assert_eq!(pairs(&properties), [pair("a", "1"), pair("f", "2")]);
        let errors = diagnostics.finish("t", source).unwrap_err();
        let found: Vec<_> = errors
            .errors()
            .iter()
            .map(|d| (d.kind, under(source, d.span), position(source, d.span)))
            .collect();
        assert_eq!(
            found,
            [
                (Kind::MalformedEscape, "\\u12g4", "2:3".to_owned()),
                (Kind::MalformedEscape, "\\u00", "3:2".to_owned()),
                (Kind::MalformedEscape, "\\u", "4:3".to_owned()),
                (Kind::LoneSurrogate, "\\uD800", "5:3".to_owned()),
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
    fn the_last_value_of_a_key_counts_and_repeats_are_listed() {
        let source = "a=1\nb=2\n a = 3\nc=4\na=5";
        let properties = read_ok(source);
        assert_eq!(
            properties.get("a").map(|p| p.value.text.to_string()),
            Some("5".into())
        );
        assert_eq!(
            properties.get("b").map(|p| p.value.text.to_string()),
            Some("2".into())
        );
        assert!(properties.get("z").is_none());
        let counting: Vec<String> = properties.iter().map(|p| p.key.text.to_string()).collect();
        assert_eq!(counting, ["b", "c", "a"]);
        let repeats: Vec<(String, String)> = properties
            .repeats()
            .map(|(before, again)| {
                (
                    position(source, before.key.span()),
                    position(source, again.key.span()),
                )
            })
            .collect();
        assert_eq!(
            repeats,
            [
                ("1:1".to_owned(), "3:2".to_owned()),
                ("3:2".to_owned(), "5:1".to_owned())
            ]
        );
    }

    #[test]
    fn empty_keys_and_values_are_placed() {
        let source = "k=\n=v";
        let properties = read_ok(source);
        let all: Vec<Property> = properties.all().collect();
        assert_eq!(all[0].value.span(), Span::at(2));
        assert_eq!(all[1].key.span(), Span::at(3));
    }
}
