//! One test per bug a fuzz target found, named after it, with its root cause.

use tagroute::bytecode::{InsnIdx, Program};
use tagroute::compile::compile;
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
