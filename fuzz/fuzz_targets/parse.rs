//! Raw text into the parser, in both modes, and the lints.
//!
//! - Nothing panics.
//! - Strict mode accepts exactly what Neo4j's parser (`reference::parse_neo4j`) accepts, with
//!   the same normal form.
//! - Default mode accepts exactly what the reference accepts after removing the two whitespace
//!   leniencies, with the same rules; it accepts a text strict mode rejects only with a
//!   `neo4j-compat` warning, and reads a text both accept the same way.
//! - In both modes, linting the text rule by rule (`lint_text`, which never holds the tree)
//!   finds the lints of the tree, in the same order with the same spans, or the same error.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tagroute::syntax::{self, LintKind, ParseError, Policy};
use tagroute::{Strictness, reference};
use tagroute_fuzz::normal_form;

fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes);
    let strict = syntax::parse(&text, Strictness::Strict);
    let default = syntax::parse(&text, Strictness::Default);

    let neo4j = reference::parse_neo4j(&text);
    assert_eq!(
        strict.as_ref().ok().map(normal_form),
        neo4j.as_ref().ok().cloned(),
        "strict mode and Neo4j on {text:?}: {:?} vs {:?}",
        strict.as_ref().err(),
        neo4j.as_ref().err(),
    );
    let lenient = reference::parse(&text, Strictness::Default);
    assert_eq!(
        default.as_ref().ok().map(normal_form),
        lenient.as_ref().ok().cloned(),
        "default mode and the reference on {text:?}: {:?} vs {:?}",
        default.as_ref().err(),
        lenient.as_ref().err(),
    );

    streamed_lints(&text, Strictness::Strict, &strict);
    streamed_lints(&text, Strictness::Default, &default);

    match (&strict, &default) {
        (_, Ok(policy)) => {
            let lints = syntax::lint(policy);
            let compat = lints.iter().any(|l| l.kind == LintKind::Neo4jCompat);
            assert_eq!(
                compat,
                strict.is_err(),
                "neo4j-compat on {text:?}: {lints:?}"
            );
            if let Ok(strict) = &strict {
                assert_eq!(strict.normalize(), policy.normalize(), "{text:?}");
            }
        }
        (Ok(_), Err(e)) => panic!("strict mode accepts what default mode rejects ({e}): {text:?}"),
        (Err(_), Err(_)) => {}
    }
});

/// `lint_text` finds what `lint` finds on the tree `parsed`, or fails as it did.
fn streamed_lints(text: &str, strictness: Strictness, parsed: &Result<Policy, ParseError>) {
    let mut lints = Vec::new();
    let streamed = syntax::lint_text(text, strictness, |lint| lints.push(lint));
    match parsed {
        Ok(policy) => {
            assert_eq!(streamed, Ok(()), "{text:?} ({strictness:?})");
            assert_eq!(lints, syntax::lint(policy), "{text:?} ({strictness:?})");
        }
        Err(error) => {
            assert_eq!(streamed.as_ref().err(), Some(error), "{text:?} ({strictness:?})");
            assert!(lints.is_empty(), "{text:?} ({strictness:?}): {lints:?}");
        }
    }
}
