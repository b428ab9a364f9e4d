//! `tagroute explain --topology T --policy DSL`: each rule and filter with the servers it
//! kept, and which rule answered.

use tagroute::compile::compile;
use tagroute::span::Span;
use tagroute::topology::{ServerSet, Snapshot};
use tagroute::vm::{self, Answer};

use super::{load_topology, parse_policy};
use crate::args::ExplainArgs;
use crate::report::{Console, Failure};

pub fn run(args: &ExplainArgs, console: &mut Console<'_>) -> Result<(), Failure> {
    let snapshot = load_topology(&args.topology)?;
    let policy = parse_policy(
        &args.policy,
        args.strict.strictness(),
        Some(&snapshot),
        console,
    )?;
    let program =
        compile(&policy, snapshot.interner()).map_err(|e| Failure::Invalid(e.to_string()))?;
    let trace = vm::explain(&program, &snapshot, snapshot.available())
        .map_err(|e| Failure::Invalid(e.to_string()))?;
    let text = |span: Option<Span>| span.and_then(|s| args.policy.get(s.range())).unwrap_or("?");
    let out = &mut *console.out;
    writeln!(out, "policy: {policy}")?;
    writeln!(out, "candidates: {}", list(&snapshot, snapshot.available()))?;
    for (i, rule) in trace.rules.iter().enumerate() {
        writeln!(out, "rule {}: {}", i + 1, text(rule.span))?;
        for step in &rule.steps {
            writeln!(
                out,
                "  {:<32} kept {}",
                text(step.span),
                list(&snapshot, &step.kept)
            )?;
        }
    }
    match trace.answer {
        Answer::Rule(i) => writeln!(out, "answer: rule {}", i + 1)?,
        Answer::Candidates(None) => writeln!(
            out,
            "answer: no rule answered; the implicit all() returns every candidate"
        )?,
        Answer::Candidates(Some(span)) => writeln!(
            out,
            "answer: `{}` returns every candidate",
            text(Some(span))
        )?,
        Answer::Nothing(_) => writeln!(
            out,
            "answer: no rule answered and the policy halts: nothing"
        )?,
    }
    writeln!(out, "result: {}", list(&snapshot, &trace.result))?;
    Ok(())
}

fn list(snapshot: &Snapshot, set: &ServerSet) -> String {
    let names = snapshot.names(set);
    format!("{} [{}]", names.len(), names.join(", "))
}
