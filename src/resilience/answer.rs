//! One policy on one set of candidates, with the rule that answered.
//!
//! [`vm::eval`] gives the servers a policy selects; an analysis also wants to know which rule
//! selected them, numbered as written. A [`RuleWise`] policy is compiled one rule at a time
//! (each rule followed by `halt()`), so evaluating the rules in order until one selects
//! someone gives both the answer and its rule, with the VM's own allocation-free evaluation;
//! rules the language drops (`all()`, `->`, `halt()`) keep their number but never run.

use std::fmt;

use crate::bytecode::Program;
use crate::compile::{CompileError, compile};
use crate::syntax::{Filter, FilterKind, Policy, Rule};
use crate::topology::{ServerSet, Snapshot, TagInterner};
use crate::vm::{self, EvalError};

/// What answered a policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Answer {
    /// The rule at this 1-based position as written (dropped rules counted).
    Rule(usize),
    /// No rule answered and the policy returned every candidate: the implicit final `all()`,
    /// or a policy whose rules are all dropped.
    Implicit,
    /// Nothing answered: every rule was empty and the policy halts, or there were no
    /// candidates.
    Nothing,
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Rule(n) => write!(f, "rule {n}"),
            Answer::Implicit => f.write_str("implicit all()"),
            Answer::Nothing => f.write_str("nothing"),
        }
    }
}

/// A policy compiled rule by rule.
#[derive(Clone, Debug)]
pub struct RuleWise {
    rules: Vec<(usize, Program)>,
    halts: bool,
    no_rules: bool,
}

impl RuleWise {
    /// Compiles each rule of `policy` that takes part in evaluation, against `interner`.
    pub fn compile(policy: &Policy, interner: &TagInterner) -> Result<RuleWise, CompileError> {
        let mut rules = Vec::new();
        for (i, rule) in policy.rules.iter().enumerate() {
            if rule.is_dropped() {
                continue;
            }
            let alone = Policy {
                rules: vec![rule.clone(), halt_rule(rule)],
                compat: Vec::new(),
            };
            rules.push((i + 1, compile(&alone, interner)?));
        }
        Ok(RuleWise {
            no_rules: rules.is_empty(),
            rules,
            halts: policy.halts(),
        })
    }

    /// How many rules the policy has as written (dropped ones included): the highest number
    /// an [`Answer::Rule`] can carry.
    pub fn written_rules(&self) -> usize {
        self.rules.last().map_or(0, |(n, _)| *n)
    }

    /// Applies the policy to `candidates`, writing the selected servers into `out`; returns
    /// what answered. Allocates nothing once `out` has held a set of the snapshot's size.
    pub fn eval(
        &self,
        snapshot: &Snapshot,
        candidates: &ServerSet,
        out: &mut ServerSet,
    ) -> Result<Answer, EvalError> {
        for (number, program) in &self.rules {
            vm::eval(program, snapshot, candidates, out)?;
            if !out.is_empty() {
                return Ok(Answer::Rule(*number));
            }
        }
        out.reset(snapshot.len());
        if (self.no_rules || !self.halts) && !candidates.is_empty() {
            out.union_same(candidates);
            return Ok(Answer::Implicit);
        }
        Ok(Answer::Nothing)
    }
}

/// A `halt()` rule placed at the end of `after`, so that `after` alone never falls back.
fn halt_rule(after: &Rule) -> Rule {
    let at = crate::span::Span::at(after.span.end);
    Rule {
        filters: vec![Filter {
            kind: FilterKind::Halt,
            span: at,
            name_span: at,
            stray_open: None,
        }],
        span: at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::Strictness;
    use crate::syntax::parse;
    use crate::topology::testing::cluster;

    fn snapshot() -> Snapshot {
        cluster()
            .server("a", &["x"])
            .server("b", &["x"])
            .server("c", &["y"])
            .snapshot()
    }

    fn run(text: &str, candidates: &[&str]) -> (Answer, Vec<String>) {
        let s = snapshot();
        let policy = parse(text, Strictness::Default).expect("valid");
        let rules = RuleWise::compile(&policy, s.interner()).expect("compiles");
        let candidates = s.set_of(candidates.iter().copied()).expect("known");
        let mut out = ServerSet::default();
        let answer = rules.eval(&s, &candidates, &mut out).expect("runs");
        // The same servers as the whole program.
        let program = compile(&policy, s.interner()).expect("compiles");
        let mut whole = ServerSet::default();
        vm::eval(&program, &s, &candidates, &mut whole).expect("runs");
        assert_eq!(out, whole, "{text}");
        (
            answer,
            s.names(&out).into_iter().map(str::to_owned).collect(),
        )
    }

    #[test]
    fn rules_are_numbered_as_written_dropped_ones_included() {
        assert_eq!(
            run("tags(x)->min(3); tags(y)", &["a", "b", "c"]).0,
            Answer::Rule(2)
        );
        assert_eq!(run("all(); tags(y)", &["a", "c"]).0, Answer::Rule(2));
        assert_eq!(
            run("tags(x)->min(2); tags(y); halt()", &["a", "b", "c"]),
            (Answer::Rule(1), vec!["a".to_owned(), "b".to_owned()])
        );
    }

    #[test]
    fn fallbacks_and_halts() {
        assert_eq!(run("tags(z)", &["a", "c"]).0, Answer::Implicit);
        assert_eq!(
            run("tags(z); halt()", &["a", "c"]),
            (Answer::Nothing, vec![])
        );
        assert_eq!(
            run("halt()", &["a"]),
            (Answer::Implicit, vec!["a".to_owned()])
        );
        assert_eq!(run("tags(x)", &[]), (Answer::Nothing, vec![]));
        assert_eq!(run("min(0)", &["c"]).0, Answer::Rule(1));
    }
}
