//! The canonical printer and the binary form round-trip.
//!
//! For any text that parses (default mode): its canonical print parses in strict mode to the
//! same normal form and compiles to the same instructions and tag pool, and a compiled
//! program's bytes load back (`Program::from_bytes`) as the same program.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tagroute::bytecode::Program;
use tagroute::compile::compile;
use tagroute::topology::TagInterner;
use tagroute::{Strictness, syntax};

fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes);
    let Ok(policy) = syntax::parse(&text, Strictness::Default) else {
        return;
    };
    let printed = policy.to_string();
    let reparsed = syntax::parse(&printed, Strictness::Strict)
        .unwrap_or_else(|e| panic!("{text:?} prints as {printed:?}, which fails: {e}"));
    assert_eq!(
        reparsed.normalize(),
        policy.normalize(),
        "{text:?} prints as {printed:?}"
    );

    let interner = TagInterner::new();
    let program = compile(&policy, &interner).expect("a parsed policy compiles");
    let again = compile(&reparsed, &interner).expect("a parsed policy compiles");
    assert_eq!(
        program.insns(),
        again.insns(),
        "{text:?} prints as {printed:?}"
    );
    assert_eq!(
        program.pool(),
        again.pool(),
        "{text:?} prints as {printed:?}"
    );

    let loaded = Program::from_bytes(&program.to_bytes(), &interner)
        .unwrap_or_else(|e| panic!("{text:?} compiles to bytes that fail: {e}"));
    assert_eq!(loaded, program, "{text:?}");
});
