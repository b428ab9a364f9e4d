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
//!
//! The rules come one at a time, so that a policy parsed rule by rule is compiled in the memory
//! of its program (and of the interner's new tags), never of its tree: earlier rules are known by
//! the hash of their folded steps and compared in the code emitted for them.

use std::borrow::Borrow;
use std::collections::BTreeSet;
use std::fmt;
use std::hash::Hasher;

use hashbrown::HashTable;
use rustc_hash::FxHasher;

use crate::bytecode::{
    Flags, Insn, Opcode, Origin, Origins, Program, Stage, VerifyError,
    verify::{Code, verify_with_origins},
};
use crate::grow;
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

    /// The step without its span, to compare rules: the tags and the threshold (no tags for a
    /// `min` step; a tag step names at least one).
    fn shape(&self) -> (&[TagId], u32) {
        match self {
            Step::Tags { tags, min, .. } => (tags, *min),
            Step::Min { min, .. } => (&[], *min),
        }
    }
}

impl Step {
    /// Whether the step, spans aside, is these tag ids (none for a `min` step) and this
    /// threshold.
    fn is(&self, ids: &[u32], threshold: u32) -> bool {
        let (tags, min) = self.shape();
        min == threshold && tags.iter().map(|t| t.as_u32()).eq(ids.iter().copied())
    }
}

/// Compiles a parsed policy against `interner`. The program holds the tags it names: they keep
/// their ids while it lives, and a policy that does not compile leaves no name behind.
pub fn compile(policy: &Policy, interner: &TagInterner) -> Result<Program, CompileError> {
    compile_staged(&policy.rules, &mut interner.stage())
}

/// [`compile`] as part of a larger change (a configuration reload), whose `stage` holds the
/// tags until every program of the change holds its own. The rules come one at a time, so that
/// a caller parsing a policy rule by rule ([`crate::syntax::Rules`]) never holds its whole
/// tree: what is kept is the program and a hash for each distinct rule.
pub(crate) fn compile_staged<R: Borrow<Rule>>(
    rules: impl IntoIterator<Item = R>,
    interner: &mut TagStage<'_>,
) -> Result<Program, CompileError> {
    compile_with(rules, interner, Origins::kept())
}

/// [`compile_staged`] for a caller that only asks whether the rules compile: the program
/// knows no instruction's origin, and is smaller by it (16 bytes an instruction).
pub(crate) fn compile_unplaced<R: Borrow<Rule>>(
    rules: impl IntoIterator<Item = R>,
    interner: &mut TagStage<'_>,
) -> Result<Program, CompileError> {
    compile_with(rules, interner, Origins::Unknown)
}

fn compile_with<R: Borrow<Rule>>(
    rules: impl IntoIterator<Item = R>,
    interner: &mut TagStage<'_>,
    origins: Origins,
) -> Result<Program, CompileError> {
    let mut emitter = Emitter {
        origins,
        ..Emitter::default()
    };
    // Hashed, so a policy of n rules compiles in O(n), not O(n²): policies arrive in reloads.
    let mut seen = Seen::default();
    let mut halt: Option<Span> = None;
    for rule in rules {
        let rule = rule.borrow();
        if rule.is_halt() {
            halt = halt.or(Some(rule.span));
        }
        if rule.is_dropped() {
            continue;
        }
        let steps = fold_rule(rule, interner)?;
        let hash = hash_of(&steps);
        if seen.contains(hash, &steps, &emitter) {
            continue;
        }
        if steps.is_empty() {
            let origin = Origin {
                filter: Some(rule.span),
                rule: Some(rule.span),
            };
            emitter.emit(Insn::bare(Opcode::RetCand), origin);
            drop(seen);
            return emitter.finish(interner);
        }
        let start = u32::try_from(emitter.insns.len())
            .map_err(|_| CompileError::FilterTooWide(rule.span))?;
        match u16::try_from(steps.len()) {
            Ok(stages) => emitter.emit_match(&steps, stages, rule.span)?,
            Err(_) => emitter.emit_rule(&steps, rule.span)?,
        }
        seen.insert(hash, start, &emitter);
    }
    let origin = Origin {
        filter: halt,
        rule: None,
    };
    match halt {
        Some(_) if !seen.is_empty() => emitter.emit(Insn::bare(Opcode::RetEmpty), origin),
        _ => emitter.emit(Insn::bare(Opcode::RetCand), origin),
    };
    // Let go before the verifier makes the program's tables.
    drop(seen);
    emitter.finish(interner)
}

/// The rules emitted so far, each known by the instruction that starts it and found by the hash
/// of its folded steps, which is worked out again from the code when the table grows: a policy
/// of a million distinct rules keeps 4 bytes for each here, not each rule's steps. A rule is
/// compared with an earlier one of the same hash in the code emitted for that one.
#[derive(Default)]
struct Seen {
    first: HashTable<u32>,
}

impl Seen {
    fn contains(&self, hash: u64, steps: &[Step], emitter: &Emitter) -> bool {
        let same = |&at: &u32| emitter.emitted_as(at as usize, steps);
        self.first.find(hash, same).is_some()
    }

    /// Remembers the rule of `steps`, emitted from instruction `at` on.
    fn insert(&mut self, hash: u64, at: u32, emitter: &Emitter) {
        let rehash = |&at: &u32| emitter.hash_at(at as usize);
        self.first.insert_unique(hash, at, rehash);
    }

    fn is_empty(&self) -> bool {
        self.first.is_empty()
    }
}

/// Hashes one step's shape: the same for a step and for the code emitted for it.
fn hash_step(hasher: &mut FxHasher, tags: impl Iterator<Item = u32>, min: u32) {
    for tag in tags {
        hasher.write_u32(tag);
    }
    hasher.write_u32(min);
    hasher.write_u8(0xff);
}

/// The hash of the steps' shapes: equal for rules that fold to the same steps.
fn hash_of(steps: &[Step]) -> u64 {
    let mut hasher = FxHasher::default();
    for step in steps {
        let (tags, min) = step.shape();
        hash_step(&mut hasher, tags.iter().map(|t| t.as_u32()), min);
    }
    hasher.finish()
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
    origins: Origins,
    pool: Vec<u32>,
    stages: Vec<Stage>,
}

impl Emitter {
    fn emit(&mut self, insn: Insn, origin: Origin) -> usize {
        grow::push(&mut self.insns, insn);
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
            grow::push(&mut self.stages, stage);
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

    /// Whether the rule emitted from instruction `at` on is made of exactly `steps` (spans
    /// aside): one `match` whose stages are the steps, or one instruction a step.
    fn emitted_as(&self, at: usize, steps: &[Step]) -> bool {
        let mut emitted = self.emitted_steps(at);
        let same = steps.iter().all(|step| {
            emitted
                .next()
                .is_some_and(|(tags, min)| tags.is_some_and(|t| step.is(t, min)))
        });
        same && emitted.next().is_none()
    }

    /// The hash of the rule emitted from instruction `at` on, as [`hash_of`] its steps.
    fn hash_at(&self, at: usize) -> u64 {
        let mut hasher = FxHasher::default();
        for (tags, min) in self.emitted_steps(at) {
            hash_step(&mut hasher, tags.unwrap_or(&[]).iter().copied(), min);
        }
        hasher.finish()
    }

    /// The steps of the rule emitted from instruction `at` on, each as its tag ids (none for a
    /// `min`; `None` for an instruction that is no step) and its threshold: the stages of its
    /// `match`, or its instructions up to the one that returns.
    fn emitted_steps(&self, at: usize) -> impl Iterator<Item = (Option<&[u32]>, u32)> + '_ {
        let first = self.insns.get(at);
        let matched = first
            .filter(|insn| insn.op == Opcode::Match)
            .and_then(|insn| {
                let start = insn.a as usize;
                self.stages.get(start..start + usize::from(insn.len))
            })
            .unwrap_or_default()
            .iter()
            .map(|stage| {
                let tags = self.pool_slice(stage.start, usize::from(stage.len));
                (tags, stage.min)
            });
        let filtered = first
            .filter(|insn| insn.op != Opcode::Match)
            .and_then(|_| self.insns.get(at..))
            .unwrap_or_default()
            .iter()
            .scan(false, |returned, insn| {
                (!*returned).then(|| {
                    *returned = insn.flags.contains(Flags::RET);
                    insn
                })
            })
            .map(|insn| {
                let tags = match insn.op {
                    Opcode::Min => Some(&[][..]),
                    Opcode::And => Some(std::slice::from_ref(&insn.a)),
                    Opcode::AndAny => self.pool_slice(insn.a, usize::from(insn.len)),
                    _ => None,
                };
                (tags, insn.min)
            });
        matched.chain(filtered)
    }

    /// The tag ids `pool[start..start + len]`.
    fn pool_slice(&self, start: u32, len: usize) -> Option<&[u32]> {
        let start = start as usize;
        self.pool.get(start..start + len)
    }

    /// `tags` appended to the pool: where they start and how many.
    fn pool_tags(&mut self, tags: &[TagId], span: Span) -> Result<(u32, u16), CompileError> {
        let len = u16::try_from(tags.len()).map_err(|_| CompileError::FilterTooWide(span))?;
        let start =
            u32::try_from(self.pool.len()).map_err(|_| CompileError::FilterTooWide(span))?;
        grow::reserve(&mut self.pool, tags.len());
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

    fn finish(mut self, interner: &TagStage<'_>) -> Result<Program, CompileError> {
        // Cut to size one table at a time, smallest first, before the verifier makes anything:
        // the program keeps them so, and a shrunk table briefly takes its old room and its new.
        self.pool.shrink_to_fit();
        self.stages.shrink_to_fit();
        self.origins.fit(self.insns.len());
        self.insns.shrink_to_fit();
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
        let long = filters.join("->");
        let others: Vec<String> = (0..100)
            .map(|i| format!("tags(u{i}); tags(u{i})"))
            .collect();
        let text = format!("{long}; tags(north); {}; {long}", others.join("; "));
        let lines = listing(&text);
        // Each rule repeated is found in the code emitted for its first (the table of rules
        // seen growing meanwhile, rehashed from that code) and cut.
        assert_eq!(lines.len(), 32 + 65_536 + 1 + 100 + 1);
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
