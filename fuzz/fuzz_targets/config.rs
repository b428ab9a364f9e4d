//! Arbitrary neo4j.conf text into the configuration loader, in both modes.
//!
//! - It loads or lists at least one error, never panics, and every diagnostic's span lies in the
//!   source and renders.
//! - When it loads, every policy parses again from its `text` to the same policy, and each
//!   character of that text maps (`file_span`) to the same character of the file, through line
//!   continuations.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tagroute::config::{Config, ConfigDiagnostic};
use tagroute::span::{LineIndex, Span};
use tagroute::{Strictness, syntax};

/// Every span lies in the source and renders, with the file's one line index: `render` builds
/// an index of the whole file per call, which made a file of n diagnostics cost n times its
/// size (a 37 KB file of 800 unknown keys took seconds). The first diagnostic also goes
/// through `render` itself, which must agree.
fn check_spans(source: &str, lines: &LineIndex, diagnostics: &[ConfigDiagnostic]) {
    for (i, d) in diagnostics.iter().enumerate() {
        assert!(
            d.span.start <= d.span.end && d.span.end <= source.len(),
            "{source:?}: {d:?} is outside the source"
        );
        let rendered = d.render_in("fuzz.conf", lines);
        if i == 0 {
            assert_eq!(d.render("fuzz.conf", source), rendered, "{source:?}: {d:?}");
        }
    }
}

fuzz_target!(|bytes: &[u8]| {
    let source = String::from_utf8_lossy(bytes);
    let lines = LineIndex::new(&*source);
    for strictness in [Strictness::Default, Strictness::Strict] {
        let config = match Config::parse(&source, "fuzz.conf", strictness) {
            Ok(config) => config,
            Err(errors) => {
                assert!(
                    !errors.errors().is_empty(),
                    "{source:?} fails without an error"
                );
                check_spans(&source, &lines, errors.errors());
                check_spans(&source, &lines, errors.warnings());
                errors.render_all();
                continue;
            }
        };
        check_spans(&source, &lines, config.warnings());
        for (name, configured) in config.policies() {
            let text = &configured.text;
            let again = syntax::parse(text, strictness)
                .unwrap_or_else(|e| panic!("{source:?} loads {name} = {text:?}, which fails: {e}"));
            assert_eq!(again, configured.policy, "{source:?}: {name} = {text:?}");
            if configured.is_builtin() {
                continue;
            }
            for (at, c) in text.char_indices() {
                let span = configured.file_span(Span::new(at, at + c.len_utf8()));
                assert_eq!(
                    source.get(span.range()),
                    Some(c.encode_utf8(&mut [0; 4]) as &str),
                    "{source:?}: byte {at} of {name} = {text:?} maps to {span:?}"
                );
            }
        }
    }
});
