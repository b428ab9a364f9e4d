//! Syntax tree → bytecode → verified [`Program`], with the folding that pays.
//!
//! Per rule: tags are deduplicated and interned; `min(n)` with `n <= 1` is dropped (it never
//! changes a set); a `min` right after another filter becomes that filter's threshold, so
//! `tags(a,b)->min(2)` is one instruction; a tag filter that can only keep what an earlier one
//! of the rule already kept (`tags(a)->tags(a,b)`) is dropped. Across rules: a rule equal to an
//! earlier one can never answer and is dropped; a rule with nothing left answers with the
//! candidates whenever there are any, so it becomes `ret.cand` and everything after it is
//! dead. Each remaining rule becomes one `match` instruction, its folded filters the stages,
//! which jumps to the next rule when a stage's set is too small (a rule of more than 65,535
//! stages, beyond what `match` counts, is emitted filter by filter instead). The output goes
//! through the verifier like any other bytecode.

use std::collections::BTreeSet;
use std::fmt;

use rustc_hash::FxHashSet;

use crate::bytecode::{
    Flags, Insn, Opcode, Origin, Program, Stage, VerifyError,
    verify::{Code, verify_with_origins},
};
use crate::span::Span;
use crate::syntax::{FilterKind, Policy, Rule};
use crate::topology::{TagId, TagInterner, TagStage, TooManyTags};

/// A policy that cannot be compiled (it parsed, but exceeds a limit of the bytecode).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CompileError {
    /// The policy names more tags than ids can number.
    TooManyTags(TooManyTags),
    /// One filter names more than 65,535 distinct tags.
    FilterTooWide(Span),
    /// The compiler produced bytecode the verifier rejects: a bug in tagroute.
    Unverifiable(VerifyError),
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompileError::TooManyTags(e) => write!(f, "{e}"),
            CompileError::FilterTooWide(_) => {
                write!(f, "a filter names more than {} tags", u16::MAX)
            }
            CompileError::Unverifiable(e) => {
                write!(f, "internal error, compiled bytecode does not verify: {e}")
            }
        }
    }
}

impl std::error::Error for CompileError {}

/// One folded filter of a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    /// Intersect with the union of these tags (sorted, distinct), then require `min`.
    Tags {
        tags: Vec<TagId>,
        min: u32,
        span: Span,
    },
    /// Require at least `min` servers (before any tag filter of the rule).
    Min { min: u32, span: Span },
}

impl Step {
    fn raise_min(&mut self, n: u32) {
        match self {
            Step::Tags { min, .. } | Step::Min { min, .. } => *min = (*min).max(n),
        }
    }

    /// The step without its span, to compare rules.
    fn shape(&self) -> (Vec<TagId>, u32) {
        match self {
            Step::Tags { tags, min, .. } => (tags.clone(), *min),
            Step::Min { min, .. } => (Vec::new(), *min),
        }
    }
}

/// Compiles a parsed policy against `interner`. The program holds the tags it names: they keep
/// their ids while it lives, and a policy that does not compile leaves no name behind.
pub fn compile(policy: &Policy, interner: &TagInterner) -> Result<Program, CompileError> {
    compile_staged(policy, &mut interner.stage())
}

/// [`compile`] as part of a larger change (a configuration reload), whose `stage` holds the
/// tags until every program of the change holds its own.
pub(crate) fn compile_staged(
    policy: &Policy,
    interner: &mut TagStage<'_>,
) -> Result<Program, CompileError> {
    let mut emitter = Emitter::default();
    // Hashed, so a policy of n rules compiles in O(n), not O(n²): policies arrive in reloads.
    let mut seen: FxHashSet<Vec<(Vec<TagId>, u32)>> = FxHashSet::default();
    for rule in policy.rules.iter().filter(|r| !r.is_dropped()) {
        let steps = fold_rule(rule, interner)?;
        let shape: Vec<_> = steps.iter().map(Step::shape).collect();
        if seen.contains(&shape) {
            continue;
        }
        if steps.is_empty() {
            let origin = Origin {
                filter: Some(rule.span),
                rule: Some(rule.span),
            };
            emitter.emit(Insn::bare(Opcode::RetCand), origin);
            return emitter.finish(interner);
        }
        match u16::try_from(steps.len()) {
            Ok(stages) => emitter.emit_match(&steps, stages, rule.span)?,
            Err(_) => emitter.emit_rule(&steps, rule.span)?,
        }
        seen.insert(shape);
    }
    let halt = policy.rules.iter().find(|r| r.is_halt()).map(|r| r.span);
    let origin = Origin {
        filter: halt,
        rule: None,
    };
    match halt {
        Some(_) if !seen.is_empty() => emitter.emit(Insn::bare(Opcode::RetEmpty), origin),
        _ => emitter.emit(Insn::bare(Opcode::RetCand), origin),
    };
    emitter.finish(interner)
}

/// How many earlier tag filters of a rule a new one is checked against for redundancy.
const REDUNDANCY_WINDOW: usize = 32;

/// Parses nothing, folds one rule's filters into steps.
fn fold_rule(rule: &Rule, interner: &mut TagStage<'_>) -> Result<Vec<Step>, CompileError> {
    let mut steps: Vec<Step> = Vec::new();
    for filter in &rule.filters {
        match &filter.kind {
            FilterKind::Tags { tags, .. } => {
                let ids: BTreeSet<TagId> = tags
                    .iter()
                    .map(|t| interner.intern(&t.name).map_err(CompileError::TooManyTags))
                    .collect::<Result<_, _>>()?;
                // Only the first steps are compared, so a rule of n filters folds in O(n):
                // folding is an optimisation, and real rules are far shorter than the bound.
                let redundant = steps.iter().take(REDUNDANCY_WINDOW).any(
                    |s| matches!(s, Step::Tags { tags, .. } if tags.iter().all(|t| ids.contains(t))),
                );
                if !redundant {
                    steps.push(Step::Tags {
                        tags: ids.into_iter().collect(),
                        min: 1,
                        span: filter.span,
                    });
                }
            }
            FilterKind::Min(count) if count.value > 1 => {
                let n = count.value.unsigned_abs();
                match steps.last_mut() {
                    Some(last) => last.raise_min(n),
                    None => steps.push(Step::Min {
                        min: n,
                        span: filter.span,
                    }),
                }
            }
            FilterKind::Min(_) | FilterKind::All | FilterKind::Halt => {}
        }
    }
    Ok(steps)
}

/// Collects instructions, where each came from, the tag pool and the stage table.
#[derive(Default)]
struct Emitter {
    insns: Vec<Insn>,
    origins: Vec<Origin>,
    pool: Vec<u32>,
    stages: Vec<Stage>,
}

impl Emitter {
    fn emit(&mut self, insn: Insn, origin: Origin) -> usize {
        self.insns.push(insn);
        self.origins.push(origin);
        self.insns.len() - 1
    }

    /// The rule as one `match` of `count` stages (the steps), jumping past itself when a
    /// stage's set is too small.
    fn emit_match(&mut self, steps: &[Step], count: u16, span: Span) -> Result<(), CompileError> {
        let first =
            u32::try_from(self.stages.len()).map_err(|_| CompileError::FilterTooWide(span))?;
        for step in steps {
            let stage = match step {
                Step::Min { min, .. } => Stage {
                    start: 0,
                    len: 0,
                    min: *min,
                },
                Step::Tags { tags, min, span } => {
                    let (start, len) = self.pool_tags(tags, *span)?;
                    Stage {
                        start,
                        len,
                        min: *min,
                    }
                }
            };
            self.stages.push(stage);
        }
        let at = self.emit(
            Insn {
                op: Opcode::Match,
                flags: Flags::NONE,
                len: count,
                a: first,
                min: 0,
                target: 0,
            },
            Origin {
                filter: Some(span),
                rule: Some(span),
            },
        );
        let next_rule = u32::try_from(at + 1).map_err(|_| CompileError::FilterTooWide(span))?;
        if let Some(insn) = self.insns.get_mut(at) {
            insn.target = next_rule;
        }
        Ok(())
    }

    /// `tags` appended to the pool: where they start and how many.
    fn pool_tags(&mut self, tags: &[TagId], span: Span) -> Result<(u32, u16), CompileError> {
        let len = u16::try_from(tags.len()).map_err(|_| CompileError::FilterTooWide(span))?;
        let start =
            u32::try_from(self.pool.len()).map_err(|_| CompileError::FilterTooWide(span))?;
        self.pool.extend(tags.iter().map(|t| t.as_u32()));
        Ok((start, len))
    }

    /// One instruction per step, the first marked `rule`, the last `ret`, each jumping past the
    /// rule when its set is too small: the form of rules too long for one `match`.
    fn emit_rule(&mut self, steps: &[Step], span: Span) -> Result<(), CompileError> {
        let last = steps.len().saturating_sub(1);
        let jumps: Vec<usize> = steps
            .iter()
            .enumerate()
            .map(|(i, step)| {
                let first = if i == 0 { Flags::RULE } else { Flags::NONE };
                let flags = if i == last { first | Flags::RET } else { first };
                let rule = (i == 0).then_some(span);
                self.emit_step(step, flags, rule)
            })
            .collect::<Result<_, _>>()?;
        let next_rule =
            u32::try_from(self.insns.len()).map_err(|_| CompileError::FilterTooWide(span))?;
        for at in jumps {
            if let Some(insn) = self.insns.get_mut(at) {
                insn.target = next_rule;
            }
        }
        Ok(())
    }

    fn emit_step(
        &mut self,
        step: &Step,
        flags: Flags,
        rule: Option<Span>,
    ) -> Result<usize, CompileError> {
        let filter = |op, len, a, min| Insn {
            op,
            flags,
            len,
            a,
            min,
            target: 0,
        };
        let (insn, span) = match step {
            Step::Min { min, span } => (filter(Opcode::Min, 0, 0, *min), *span),
            Step::Tags { tags, min, span } => match tags.as_slice() {
                [tag] => (filter(Opcode::And, 0, tag.as_u32(), *min), *span),
                _ => {
                    let (a, len) = self.pool_tags(tags, *span)?;
                    (filter(Opcode::AndAny, len, a, *min), *span)
                }
            },
        };
        Ok(self.emit(
            insn,
            Origin {
                filter: Some(span),
                rule,
            },
        ))
    }

    fn finish(self, interner: &TagStage<'_>) -> Result<Program, CompileError> {
        let code = Code {
            insns: self.insns,
            pool: self.pool,
            stages: self.stages,
        };
        verify_with_origins(code, interner.interner(), self.origins)
            .map_err(CompileError::Unverifiable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytecode::InsnIdx;
    use crate::syntax::Strictness;
    use crate::syntax::parse;

    fn listing(text: &str) -> Vec<String> {
        let interner = TagInterner::new();
        for tag in ["north", "north1", "north2", "south"] {
            interner.intern(tag).expect("room");
        }
        let policy = parse(text, Strictness::Default).expect("valid");
        let program = compile(&policy, &interner).expect("compiles");
        program
            .disassemble(Some(&interner))
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn the_benchmark_policy_compiles_to_one_instruction_per_rule() {
        assert_eq!(
            listing("tags(north1,north2)->min(2); tags(north); halt()"),
            [
                "0000  match         north1, north2  min 2  else 0001",
                "0001  match         north  else 0002",
                "0002  ret.empty",
            ]
        );
    }

    #[test]
    fn a_chain_of_filters_is_one_match_with_a_stage_each() {
        assert_eq!(
            listing("tags(north)->min(2)->tags(north1,north2)->min(3); min(4)->tags(south)"),
            [
                "0000  match         north  min 2 -> north1, north2  min 3  else 0001",
                "0001  match         all  min 4 -> south  else 0002",
                "0002  ret.cand",
            ]
        );
    }

    #[test]
    fn no_op_mins_duplicate_tags_and_redundant_filters_fold_away() {
        assert_eq!(
            listing("tags(south,south)->min(1)->tags(south,north)->min(0)->min(3)->min(2)"),
            [
                "0000  match         south  min 3  else 0001",
                "0001  ret.cand"
            ]
        );
        assert_eq!(
            listing("min(3)->tags(north)"),
            [
                "0000  match         all  min 3 -> north  else 0001",
                "0001  ret.cand"
            ]
        );
    }

    #[test]
    fn dead_and_duplicate_rules_are_cut() {
        assert_eq!(
            listing("tags(north); groups(north); min(1); tags(south)"),
            ["0000  match         north  else 0001", "0001  ret.cand"]
        );
    }

    #[test]
    fn a_rule_of_more_stages_than_match_counts_is_emitted_filter_by_filter() {
        // 32 single tags, then one more repeated: none is redundant within the window, so the
        // rule has 65,568 stages, more than `match`'s 16-bit count.
        let mut filters: Vec<String> = (0..32).map(|i| format!("tags(t{i})")).collect();
        filters.extend((0..65_536).map(|_| "tags(t32)".to_owned()));
        let text = format!("{}; tags(north)", filters.join("->"));
        let lines = listing(&text);
        assert_eq!(lines.len(), 32 + 65_536 + 2);
        assert_eq!(lines[0], "0000  rule and      t0  else 65568");
        assert_eq!(lines[65_567], "65567  and           t32  ret  else 65568");
        assert_eq!(lines[65_568], "65568  match         north  else 65569");
    }

    #[test]
    fn zero_rule_policies_return_the_candidates_and_halts_return_nothing() {
        assert_eq!(listing("halt()"), ["0000  ret.cand"]);
        assert_eq!(listing("all()"), ["0000  ret.cand"]);
        assert_eq!(
            listing("tags(south); halt()").last().map(String::as_str),
            Some("0001  ret.empty")
        );
    }

    #[test]
    fn new_tags_are_interned_and_spans_kept() {
        let interner = TagInterner::new();
        let text = "tags(east) -> min(2) -> tags(west); halt()";
        let program =
            compile(&parse(text, Strictness::Strict).expect("valid"), &interner).expect("compiles");
        assert_eq!(interner.get("east").map(TagId::index), Some(0));
        let under = |span: Option<Span>| span.map(|s| &text[s.range()]);
        let rule = Some("tags(east) -> min(2) -> tags(west)");
        assert_eq!(under(program.span(InsnIdx::new(0))), rule);
        assert_eq!(under(program.rule_span(InsnIdx::new(0))), rule);
        assert_eq!(under(program.span(InsnIdx::new(1))), Some("halt()"));
        assert_eq!(under(program.rule_span(InsnIdx::new(1))), None);
    }
}
