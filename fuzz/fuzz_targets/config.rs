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
use tagroute::span::Span;
use tagroute::{Strictness, syntax};

fn check_spans(source: &str, diagnostics: &[ConfigDiagnostic]) {
    for d in diagnostics {
        assert!(
            d.span.start <= d.span.end && d.span.end <= source.len(),
            "{source:?}: {d:?} is outside the source"
        );
        d.render("fuzz.conf", source);
    }
}

fuzz_target!(|bytes: &[u8]| {
    let source = String::from_utf8_lossy(bytes);
    for strictness in [Strictness::Default, Strictness::Strict] {
        let config = match Config::parse(&source, "fuzz.conf", strictness) {
            Ok(config) => config,
            Err(errors) => {
                assert!(
                    !errors.errors().is_empty(),
                    "{source:?} fails without an error"
                );
                check_spans(&source, errors.errors());
                check_spans(&source, errors.warnings());
                errors.render_all();
                continue;
            }
        };
        check_spans(&source, config.warnings());
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
