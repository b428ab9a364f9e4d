//! Traced evaluation for `tagroute explain`: why a rule answered or did not, filter by filter.
//!
//! The trace follows the policy as written, not the bytecode: the compiler folds `min`s into
//! the filter before them, drops redundant tags and skips repeated rules, and "why did rule 1
//! not answer?" is a question about the text. So each rule is walked over ordinary server
//! sets, every filter recording what it kept (and a `min(n)` the count it saw), while the
//! result is the VM's own run of the compiled program. The two agree (a test holds the
//! trace's answer to the VM's over every conformance vector); never on the hot path.

use super::EvalError;
use crate::bytecode::Program;
use crate::span::Span;
use crate::syntax::{FilterKind, Policy, Rule};
use crate::topology::{ServerSet, Snapshot};

/// A traced evaluation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// Every rule of the policy as written, dropped ones and the `halt()` rule included.
    pub rules: Vec<RuleTrace>,
    /// How the evaluation ended.
    pub answer: Answer,
    /// The result, as the VM computed it.
    pub result: ServerSet,
}

/// How an evaluation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The rule at this index of [`Explanation::rules`] answered.
    Rule(usize),
    /// No rule answered and the policy returned every candidate: the implicit final `all()`
    /// (`None`), or a policy whose rules were all dropped, at its `halt()`.
    Candidates(Option<Span>),
    /// No rule answered and the policy halts, at this `halt()`.
    Nothing(Option<Span>),
}

/// One rule, as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleTrace {
    /// The rule's source text.
    pub span: Span,
    /// What became of it.
    pub outcome: RuleOutcome,
    /// Its filters with what each kept; empty unless the rule ran.
    pub filters: Vec<FilterTrace>,
}

/// What became of a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleOutcome {
    /// It kept some servers: it is the answer.
    Answered,
    /// It kept nothing; the next rule was tried.
    Empty,
    /// It takes no part (only `all()`, or nothing but arrows).
    Dropped,
    /// The `halt()` rule: nothing after it, and no implicit `all()`.
    Halt,
    /// An earlier rule answered.
    NotReached,
}

/// One filter's run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterTrace {
    /// The filter's source text.
    pub span: Span,
    /// What the filter did.
    pub step: Step,
    /// The servers left after it.
    pub kept: ServerSet,
}

/// What one filter did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// `tags(...)`: kept the servers carrying a listed tag.
    Tags,
    /// `min(n)`: saw `saw` servers and passed them on if `saw >= n` (always when `n <= 0`),
    /// else emptied the set.
    Min {
        /// The threshold as written.
        n: i32,
        /// How many servers reached it.
        saw: usize,
        /// Whether it let them through.
        passed: bool,
    },
    /// `all()`: changed nothing.
    All,
}

/// Explains `policy` on `candidates`; `program` must be `policy` compiled against the
/// snapshot's interner (it gives the result).
pub fn explain(
    policy: &Policy,
    program: &Program,
    snapshot: &Snapshot,
    candidates: &ServerSet,
) -> Result<Explanation, EvalError> {
    let result = run(program, snapshot, candidates)?;
    let mut rules = Vec::with_capacity(policy.rules.len());
    let mut answer = None;
    for (i, rule) in policy.rules.iter().enumerate() {
        let trace = if answer.is_some() {
            untraced(rule, RuleOutcome::NotReached)
        } else if rule.is_halt() {
            untraced(rule, RuleOutcome::Halt)
        } else if rule.is_dropped() {
            untraced(rule, RuleOutcome::Dropped)
        } else {
            walk(rule, snapshot, candidates)
        };
        if trace.outcome == RuleOutcome::Answered {
            answer = Some(Answer::Rule(i));
        }
        rules.push(trace);
    }
    let halt = policy.rules.iter().find(|r| r.is_halt()).map(|r| r.span);
    let answer = answer.unwrap_or(match halt {
        Some(_) if policy.rules.iter().any(|r| !r.is_dropped()) => Answer::Nothing(halt),
        _ => Answer::Candidates(halt),
    });
    Ok(Explanation {
        rules,
        answer,
        result,
    })
}

fn untraced(rule: &Rule, outcome: RuleOutcome) -> RuleTrace {
    RuleTrace {
        span: rule.span,
        outcome,
        filters: Vec::new(),
    }
}

/// One rule's filters, left to right, from the whole candidate set.
fn walk(rule: &Rule, snapshot: &Snapshot, candidates: &ServerSet) -> RuleTrace {
    let mut set = candidates.clone();
    let mut filters = Vec::with_capacity(rule.filters.len());
    for filter in &rule.filters {
        let step = match &filter.kind {
            FilterKind::Tags { tags, .. } => {
                let mut union = ServerSet::empty(snapshot.len());
                for tag in tags {
                    union.union_same(&snapshot.tagged_by_name(&tag.name));
                }
                set.intersect_same(&union);
                Step::Tags
            }
            FilterKind::Min(count) => {
                let saw = set.len();
                let passed = usize::try_from(count.value).map_or(true, |n| saw >= n);
                if !passed {
                    set.clear();
                }
                Step::Min {
                    n: count.value,
                    saw,
                    passed,
                }
            }
            FilterKind::All | FilterKind::Halt => Step::All,
        };
        filters.push(FilterTrace {
            span: filter.span,
            step,
            kept: set.clone(),
        });
    }
    let outcome = if set.is_empty() {
        RuleOutcome::Empty
    } else {
        RuleOutcome::Answered
    };
    RuleTrace {
        span: rule.span,
        outcome,
        filters,
    }
}

/// The VM's result.
fn run(
    program: &Program,
    snapshot: &Snapshot,
    candidates: &ServerSet,
) -> Result<ServerSet, EvalError> {
    let mut result = ServerSet::empty(snapshot.len());
    super::eval(program, snapshot, candidates, &mut result)?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::compile;
    use crate::syntax::Strictness;
    use crate::syntax::parse;
    use crate::topology::{ServerSpec, TagInterner, TopologySpec};

    fn cluster() -> Snapshot {
        let servers = vec![
            ServerSpec::new("a", "a:1").with_tags(["north", "north1"]),
            ServerSpec::new("b", "b:1").with_tags(["north", "north2"]),
            ServerSpec::new("c", "c:1").with_tags(["south"]),
        ];
        let spec = TopologySpec {
            servers,
            databases: vec![],
        };
        Snapshot::build(&spec, &TagInterner::new()).expect("valid")
    }

    fn explained(text: &str, snapshot: &Snapshot, candidates: &ServerSet) -> Explanation {
        let policy = parse(text, Strictness::Default).expect("valid");
        let program = compile(&policy, snapshot.interner()).expect("compiles");
        explain(&policy, &program, snapshot, candidates).expect("runs")
    }

    /// Each filter as its text, what it did, and the servers it kept.
    fn shown<'s>(
        text: &str,
        snapshot: &'s Snapshot,
        rule: &RuleTrace,
    ) -> Vec<(String, Step, Vec<&'s str>)> {
        rule.filters
            .iter()
            .map(|f| {
                let source = text[f.span.range()].to_owned();
                (source, f.step, snapshot.names(&f.kept))
            })
            .collect()
    }

    #[test]
    fn every_filter_and_every_min_shows_what_it_saw_and_why_a_rule_did_not_answer() {
        let snapshot = cluster();
        let text = "tags(north1)->min(2); tags(north)->tags(north2); halt()";
        let explanation = explained(text, &snapshot, snapshot.available());
        let outcomes: Vec<RuleOutcome> = explanation.rules.iter().map(|r| r.outcome).collect();
        use RuleOutcome::*;
        assert_eq!(outcomes, [Empty, Answered, NotReached]);
        assert_eq!(
            shown(text, &snapshot, &explanation.rules[0]),
            [
                ("tags(north1)".to_owned(), Step::Tags, vec!["a"]),
                (
                    "min(2)".to_owned(),
                    Step::Min {
                        n: 2,
                        saw: 1,
                        passed: false
                    },
                    vec![]
                ),
            ]
        );
        assert_eq!(
            shown(text, &snapshot, &explanation.rules[1]),
            [
                ("tags(north)".to_owned(), Step::Tags, vec!["a", "b"]),
                ("tags(north2)".to_owned(), Step::Tags, vec!["b"]),
            ]
        );
        assert_eq!(explanation.answer, Answer::Rule(1));
        assert_eq!(snapshot.names(&explanation.result), ["b"]);
    }

    #[test]
    fn without_a_server_a_min_that_passed_fails_and_the_policy_halts() {
        let snapshot = cluster();
        let text = "tags(north)->min(2); halt()";
        let all = explained(text, &snapshot, snapshot.available());
        assert_eq!(all.answer, Answer::Rule(0));
        let mut without_b = snapshot.available().clone();
        without_b.remove(snapshot.index_of("b").expect("b"));
        let down = explained(text, &snapshot, &without_b);
        assert_eq!(
            down.rules[0].filters[1].step,
            Step::Min {
                n: 2,
                saw: 1,
                passed: false
            }
        );
        assert_eq!(down.rules[1].outcome, RuleOutcome::Halt);
        assert!(matches!(down.answer, Answer::Nothing(Some(_))));
        assert!(down.result.is_empty());
    }

    #[test]
    fn dropped_rules_the_implicit_all_and_a_halt_only_policy() {
        let snapshot = cluster();
        let implicit = explained("all(); tags(west)", &snapshot, snapshot.available());
        assert_eq!(implicit.rules[0].outcome, RuleOutcome::Dropped);
        assert_eq!(implicit.rules[1].outcome, RuleOutcome::Empty);
        assert_eq!(implicit.answer, Answer::Candidates(None));
        assert_eq!(implicit.result.len(), 3);
        let halt_only = explained("halt()", &snapshot, snapshot.available());
        assert!(matches!(halt_only.answer, Answer::Candidates(Some(_))));
        assert_eq!(halt_only.result.len(), 3);
    }

    /// The trace's answer gives the VM's result, for every generated policy on every topology
    /// of the conformance vectors.
    #[test]
    #[cfg(feature = "json")]
    fn the_trace_agrees_with_the_vm_on_every_conformance_vector() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/random");
        let mut snapshots = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("random/") {
            let path = entry.expect("entry").path();
            if path.to_string_lossy().ends_with(".topology.json") {
                let spec =
                    crate::topology::from_json(&std::fs::read_to_string(&path).expect("read"))
                        .expect("topology");
                snapshots.push(Snapshot::build(&spec, &TagInterner::new()).expect("valid"));
            }
        }
        let cases = std::fs::read_to_string(dir.join("policies.jsonl")).expect("vectors");
        let mut checked = 0;
        for line in cases.lines().filter(|l| !l.trim().is_empty()) {
            let case: serde_json::Value = serde_json::from_str(line).expect("json");
            let Ok(policy) = parse(case["policy"].as_str().expect("text"), Strictness::Default)
            else {
                continue;
            };
            for snapshot in &snapshots {
                let program = compile(&policy, snapshot.interner()).expect("compiles");
                let candidates = snapshot.available();
                let e = explain(&policy, &program, snapshot, candidates).expect("runs");
                let from_trace = match e.answer {
                    Answer::Rule(i) => e.rules[i].filters.last().expect("a filter").kept.clone(),
                    Answer::Candidates(_) => candidates.clone(),
                    Answer::Nothing(_) => ServerSet::empty(snapshot.len()),
                };
                assert_eq!(
                    snapshot.names(&from_trace),
                    snapshot.names(&e.result),
                    "{line}"
                );
                checked += 1;
            }
        }
        assert!(checked > 1000, "only {checked}");
    }
}
