//! One test per bug a fuzz target found, named after it, with its root cause.

use std::path::Path;
use tagroute::bytecode::{InsnIdx, Program};
use tagroute::compile::compile;
use tagroute::config::{Config, ConfigDiagnostic};
use tagroute::topology::TagInterner;
use tagroute::{Strictness, syntax};

/// Found by `fuzz/fuzz_targets/roundtrip.rs` on its first valid input, `tags(a)`.
///
/// Root cause: `Program` derived `PartialEq`, so equality compared the side table of source
/// spans that only the compiler fills in; a program read back from its own bytes (no spans)
/// was "different" from the compiled one although every instruction was the same. Equality
/// now leaves the spans out, as the syntax tree's does.
#[test]
fn a_compiled_program_equals_the_one_read_back_from_its_bytes() {
    let interner = TagInterner::new();
    let policy = syntax::parse("tags(a)", Strictness::Default).expect("valid");
    let program = compile(&policy, &interner).expect("compiles");
    let loaded = Program::from_bytes(&program.to_bytes(), &interner).expect("verifies");
    assert_eq!(loaded, program);
    assert_eq!(program.span(InsnIdx::new(0)).map(|s| s.range()), Some(0..7));
    assert_eq!(loaded.span(InsnIdx::new(0)), None);

    let other = compile(
        &syntax::parse("tags(b)", Strictness::Default).expect("valid"),
        &interner,
    )
    .expect("compiles");
    assert_ne!(other, program);
}

/// Found by `fuzz/fuzz_targets/config.rs` while measuring its speed (issue 14): an unknown key
/// in tagroute's namespaces with a long last segment, `dbms.routing.aaa…` (8,000 characters),
/// took 21 s in the instrumented target, and time quadratic in its length in any build.
///
/// Root cause: "did you mean" compared the key with every known key, prefix settings completed
/// with the key's last segment, by a full Levenshtein table: time quadratic in the key's length.
/// `suggest::closest` now skips the common prefix and suffix and stops once the distance is
/// over its limit; the suggestions are the same.
#[test]
fn an_unknown_key_with_a_long_last_segment_is_diagnosed() {
    let tail = "a".repeat(30_000);
    let source = format!("dbms.routing.{tail}=x\n");
    // How long it takes is benches/config.rs's `long-unknown-key` (tests assert no timings).
    for strictness in [Strictness::Default, Strictness::Strict] {
        let found = diagnostics(&source, strictness);
        assert!(
            found.iter().any(|d| d.message.contains("unknown setting")),
            "{found:?}"
        );
    }

    let typo = "dbms.routing.load_balancing.shuffle_enabld=true\n";
    let help: Vec<_> = diagnostics(typo, Strictness::Default)
        .into_iter()
        .filter_map(|d| d.help)
        .collect();
    assert!(
        help.iter()
            .any(|h| h.contains("`dbms.routing.load_balancing.shuffle_enabled`")),
        "{help:?}"
    );
}

/// Every diagnostic of loading `source`, errors and warnings.
fn diagnostics(source: &str, strictness: Strictness) -> Vec<ConfigDiagnostic> {
    match Config::parse(source, Path::new("fuzz.conf"), strictness) {
        Ok(config) => config.warnings().to_vec(),
        Err(errors) => errors
            .errors()
            .iter()
            .chain(errors.warnings())
            .cloned()
            .collect(),
    }
}
