//! Arbitrary neo4j.conf text into the configuration loader, in the mode that the low bit of its
//! first byte picks (default when 0, strict when 1): the two modes read a file the same way but
//! for its policies, so loading each input in both did the same work twice; each mode still
//! gets half the inputs, and a mutation of the first byte moves an input to the other.
//!
//! - It loads or lists at least one error, never panics, and every diagnostic's span lies in the
//!   source and renders.
//! - When it loads, every policy parses again from its `text` to the same policy, and each
//!   character of that text maps (`file_span`) to the same character of the file, through line
//!   continuations, or to the whole escape that stands for it (`\u002C`, `\t`, `\ `).

#![no_main]

use std::path::Path;
use libfuzzer_sys::fuzz_target;
use tagroute::config::{Config, ConfigDiagnostic};
use tagroute::span::{LineIndex, Span};
use tagroute::{Strictness, syntax};

/// Every span lies in the source.
fn check_bounds(source: &str, diagnostics: &[ConfigDiagnostic]) {
    for d in diagnostics {
        assert!(
            d.span.start <= d.span.end && d.span.end <= source.len(),
            "{source:?}: {d:?} is outside the source"
        );
    }
}

/// Every diagnostic renders, once, with the file's one line index: `render` builds an index of
/// the whole file per call, which made a file of n diagnostics cost n times its size (a 37 KB
/// file of 800 unknown keys took seconds). The first also goes through `render` itself, which
/// must agree.
fn check_rendering(source: &str, lines: &LineIndex, diagnostics: &[ConfigDiagnostic]) {
    for (i, d) in diagnostics.iter().enumerate() {
        let rendered = d.render_in("fuzz.conf", lines);
        if i == 0 {
            assert_eq!(d.render("fuzz.conf", source), rendered, "{source:?}: {d:?}");
        }
    }
}

/// The character that the escape `written` stands for, as Java's properties reader decodes it:
/// `\uXXXX` (two of them for a surrogate pair), `\t`, `\n`, `\r`, `\f`, or a backslash before
/// the character itself.
fn unescape(written: &str) -> Option<char> {
    let unit = |hex: &str| u32::from_str_radix(hex.get(..4)?, 16).ok();
    match written.strip_prefix('\\')? {
        "t" => Some('\t'),
        "n" => Some('\n'),
        "r" => Some('\r'),
        "f" => Some('\x0c'),
        rest if rest.starts_with('u') && rest.len() == 5 => char::from_u32(unit(&rest[1..])?),
        rest if rest.starts_with('u') && rest.len() == 11 => {
            let (high, low) = (unit(&rest[1..])?, unit(rest.get(7..)?)?);
            char::from_u32(0x10000 + ((high.checked_sub(0xD800)?) << 10) + low.checked_sub(0xDC00)?)
        }
        rest => {
            let mut chars = rest.chars();
            chars.next().filter(|_| chars.next().is_none())
        }
    }
}

fuzz_target!(|bytes: &[u8]| {
    let source = String::from_utf8_lossy(bytes);
    let strictness = match bytes.first().map(|b| b & 1) {
        Some(1) => Strictness::Strict,
        _ => Strictness::Default,
    };
    let config = match Config::parse(&source, Path::new("fuzz.conf"), strictness) {
        Ok(config) => config,
        Err(errors) => {
            assert!(
                !errors.errors().is_empty(),
                "{source:?} fails without an error"
            );
            check_bounds(&source, errors.errors());
            check_bounds(&source, errors.warnings());
            // Renders every error and warning, with the loader's own line index.
            let all = errors.render_all();
            let first = errors.errors()[0].render("fuzz.conf", &source);
            assert!(all.starts_with(&first), "{source:?}: {all:?} and {first:?}");
            return;
        }
    };
    check_bounds(&source, config.warnings());
    check_rendering(&source, config.line_index(), config.warnings());
    for (name, configured) in config.policies() {
        let text = configured.text();
        let again = syntax::parse(text, strictness)
            .unwrap_or_else(|e| panic!("{source:?} loads {name} = {text:?}, which fails: {e}"));
        assert_eq!(again, configured.policy(), "{source:?}: {name} = {text:?}");
        if configured.is_builtin() {
            continue;
        }
        for (at, c) in text.char_indices() {
            let span = configured.file_span(Span::new(at, at + c.len_utf8()));
            let written = source.get(span.range()).unwrap_or_default();
            assert!(
                written.chars().eq([c]) || unescape(written) == Some(c),
                "{source:?}: byte {at} of {name} = {text:?} maps to {span:?}, {written:?}"
            );
        }
    }
});
