//! Traced evaluation for `tagroute explain`: which servers each rule and filter kept, and
//! which rule answered. It runs the same executor as [`eval`](super::eval), with an observer
//! that records; never on the hot path.

use super::{EvalError, Observer, check, words};
use crate::bytecode::{InsnIdx, Opcode, Program};
use crate::cpu::Portable;
use crate::span::Span;
use crate::topology::{ServerSet, Snapshot};

/// A traced evaluation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// The rules that ran, in order.
    pub rules: Vec<RuleTrace>,
    /// How the evaluation ended.
    pub answer: Answer,
    /// The result.
    pub result: ServerSet,
}

/// How an evaluation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The rule at this index of [`Explanation::rules`] answered.
    Rule(usize),
    /// No rule answered and the policy returned every candidate (the implicit `all()`, a rule
    /// that always answers, or a policy with no rules), from the instruction at this span.
    Candidates(Option<Span>),
    /// No rule answered and the policy halts.
    Nothing(Option<Span>),
}

/// One rule's run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleTrace {
    /// The rule's source text.
    pub span: Option<Span>,
    /// Its filters (after folding), with what each kept.
    pub steps: Vec<StepTrace>,
}

/// One filter instruction's effect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepTrace {
    /// The instruction.
    pub at: InsnIdx,
    /// The filter's source text.
    pub span: Option<Span>,
    /// The servers it kept.
    pub kept: ServerSet,
}

/// Runs `program` on `candidates`, recording every step.
pub fn explain(
    program: &Program,
    snapshot: &Snapshot,
    candidates: &ServerSet,
) -> Result<Explanation, EvalError> {
    check(program, snapshot, candidates)?;
    let mut result = ServerSet::empty(snapshot.len());
    let mut recorder = Recorder {
        program,
        universe: snapshot.len(),
        rules: Vec::new(),
        answer: None,
    };
    let (matrix, cand) = (snapshot.tag_matrix(), candidates.words());
    // SAFETY: `check` proved the candidates span the snapshot's words, `result` was made for
    // them too, and the checked executor (`KNOWN = false`) assumes nothing about tags.
    unsafe {
        words::<false, _, _>(
            program,
            matrix,
            cand,
            result.words_mut(),
            &mut recorder,
            Portable,
        )
    };
    let answer = recorder.answer.unwrap_or(Answer::Nothing(None));
    Ok(Explanation {
        rules: recorder.rules,
        answer,
        result,
    })
}

struct Recorder<'p> {
    program: &'p Program,
    universe: usize,
    rules: Vec<RuleTrace>,
    answer: Option<Answer>,
}

impl Observer for Recorder<'_> {
    const WATCHING: bool = true;

    fn after(&mut self, at: InsnIdx, acc: &[u64], _count: u32) {
        let Some(insn) = self.program.insn(at) else {
            return;
        };
        if insn.starts_rule() {
            self.rules.push(RuleTrace {
                span: self.program.rule_span(at),
                steps: Vec::new(),
            });
        }
        if insn.op.is_filter() {
            let mut kept = ServerSet::empty(self.universe);
            kept.words_mut().copy_from_slice(acc);
            if let Some(rule) = self.rules.last_mut() {
                rule.steps.push(StepTrace {
                    at,
                    span: self.program.span(at),
                    kept,
                });
            }
        }
    }

    fn returned(&mut self, at: InsnIdx) {
        let span = self.program.span(at);
        self.answer = Some(match self.program.insn(at).map(|i| i.op) {
            Some(Opcode::Ret | Opcode::And | Opcode::AndAny | Opcode::Min) => {
                Answer::Rule(self.rules.len().saturating_sub(1))
            }
            Some(Opcode::RetCand) => Answer::Candidates(span),
            _ => Answer::Nothing(span),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Strictness;
    use crate::compile::compile;
    use crate::syntax::parse;
    use crate::topology::{ServerSpec, TagInterner, TopologySpec};

    /// A rule's text, and each filter's text with the servers it kept.
    type RuleShown<'s> = (String, Vec<(String, Vec<&'s str>)>);

    #[test]
    fn each_filter_shows_what_it_kept_and_the_answering_rule_is_named() {
        let servers = vec![
            ServerSpec::new("a", "a:1").with_tags(["north", "north1"]),
            ServerSpec::new("b", "b:1").with_tags(["north", "north2"]),
            ServerSpec::new("c", "c:1").with_tags(["south"]),
        ];
        let snapshot = Snapshot::build(
            &TopologySpec {
                servers,
                databases: vec![],
            },
            &TagInterner::new(),
        )
        .expect("valid");
        let text = "tags(north1)->min(2); tags(north)->tags(north2); halt()";
        let program = compile(
            &parse(text, Strictness::Default).expect("valid"),
            snapshot.interner(),
        )
        .expect("compiles");
        let explanation = explain(&program, &snapshot, snapshot.available()).expect("runs");
        let shown: Vec<RuleShown> = explanation
            .rules
            .iter()
            .map(|r| {
                let steps = r
                    .steps
                    .iter()
                    .map(|s| {
                        (
                            text[s.span.expect("span").range()].to_owned(),
                            snapshot.names(&s.kept),
                        )
                    })
                    .collect();
                (text[r.span.expect("span").range()].to_owned(), steps)
            })
            .collect();
        assert_eq!(
            shown,
            vec![
                (
                    "tags(north1)->min(2)".to_owned(),
                    vec![("tags(north1)".to_owned(), vec!["a"])]
                ),
                (
                    "tags(north)->tags(north2)".to_owned(),
                    vec![
                        ("tags(north)".to_owned(), vec!["a", "b"]),
                        ("tags(north2)".to_owned(), vec!["b"])
                    ]
                ),
            ]
        );
        assert_eq!(explanation.answer, Answer::Rule(1));
        assert_eq!(snapshot.names(&explanation.result), ["b"]);
    }
}
