//! `tagroute disasm --policy DSL`: the bytecode, one instruction a line, tags by name.

use tagroute::compile::compile;
use tagroute::topology::TagInterner;

use super::parse_policy;
use crate::args::DisasmArgs;
use crate::report::{Console, Failure};

pub fn run(args: &DisasmArgs, console: &mut Console<'_>) -> Result<(), Failure> {
    let policy = parse_policy(&args.policy, args.strict.strictness(), None, console)?;
    let interner = TagInterner::new();
    let program = compile(&policy, &interner).map_err(|e| Failure::Invalid(e.to_string()))?;
    for line in program.disassemble(Some(&interner)) {
        writeln!(console.out, "{line}")?;
    }
    Ok(())
}
