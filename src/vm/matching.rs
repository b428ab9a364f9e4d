//! The `match` instruction: a whole rule, `candidates ∩ S₀ ∩ S₁ ∩ …`, in one pass.
//!
//! Each stage `Sᵢ` is the union of its tags' rows (every server when it names none) and a
//! threshold on the running set. Both executors run a rule as one pass over the words with the
//! running set in registers, storing it once (the word executor's kernels each out of line,
//! compiled for the CPU's features):
//! - **one word**: the rows are single `u64`s; "at least one" and "at least two" are bit tests;
//! - **words**: the one-stage shapes policies are made of (one tag, two tags, no tag) run the
//!   word kernels fed straight from the candidates; other rules of up to
//!   [`MAX_STAGES`](kernels::MAX_STAGES) stages run the one-pass chain kernel, which reads
//!   the stages and rows where they lie and counts after each stage whose threshold is more
//!   than "not empty". Longer rules, and rules naming a tag the snapshot predates, run stage
//!   by stage.
//!
//! Only the stages whose `min` is above 1 and the last need a count: a set that is not empty
//! after the last stage was not empty after any earlier one.

use super::kernels::{self, MAX_STAGES, Rule};
use crate::bytecode::{Program, Stage};
use crate::cpu::Isa;
use crate::topology::{TagId, TagMatrix};

/// What a `match` left: the number of servers in the accumulator, and whether every stage met
/// its threshold (the rule answers).
#[derive(Clone, Copy, Debug)]
pub(super) struct Outcome {
    pub(super) count: u32,
    pub(super) passes: bool,
}

/// The rule over one word: the set, and whether every stage met its threshold.
///
/// # Safety
/// `stages` are stages of `program`.
#[inline(always)]
pub(super) unsafe fn one_word(
    program: &Program,
    stages: &[Stage],
    row: impl Fn(TagId) -> u64,
    cand: u64,
) -> (u64, bool) {
    // SAFETY: `stage` is one of `program`'s, by the caller's contract.
    let union = |stage: &Stage| match unsafe { program.stage_tags(stage) } {
        [] => u64::MAX,
        [a] => row(*a),
        [a, b] => row(*a) | row(*b),
        tags => tags.iter().fold(0, |u, &t| u | row(t)),
    };
    if let [stage] = stages {
        let set = cand & union(stage);
        return (set, at_least(set, stage.min));
    }
    stages.iter().fold((cand, true), |(acc, passes), stage| {
        let acc = acc & union(stage);
        (acc, passes && at_least(acc, stage.min))
    })
}

/// Whether `word` has at least `min` bits set: bit tests for 1 and 2, which need no `popcnt`.
#[inline(always)]
pub(super) fn at_least(word: u64, min: u32) -> bool {
    match min {
        1 => word != 0,
        2 => word & word.wrapping_sub(1) != 0,
        min => word.count_ones() >= min,
    }
}

/// The rule over words: `out = cand ∩ S₀ ∩ …`.
///
/// # Safety
/// `stages` are stages of `program`; when `KNOWN`, every tag id of `program` is below
/// `matrix.tag_count()`. `cand` and `out` have `matrix.words()` words.
#[inline(always)]
pub(super) unsafe fn words<const KNOWN: bool, I: Isa>(
    isa: I,
    program: &Program,
    stages: &[Stage],
    matrix: &TagMatrix,
    cand: &[u64],
    out: &mut [u64],
) -> Outcome {
    if KNOWN {
        // SAFETY: `KNOWN` means every tag id has a row.
        let row = |t: &TagId| unsafe { matrix.row_unchecked(t.as_u32()) };
        if let [stage] = stages {
            // SAFETY: `stage` is one of `program`'s.
            let count = match unsafe { program.stage_tags(stage) } {
                [] => Some(isa.run4((&mut *out, cand, (), ()), |out, cand, (), ()| {
                    kernels::copy_from(isa, out, cand)
                })),
                [a] => Some(isa.run4((&mut *out, cand, row(a), ()), |out, cand, a, ()| {
                    kernels::and_from(isa, out, cand, a)
                })),
                [a, b] => Some(
                    isa.run4((&mut *out, cand, row(a), row(b)), |out, cand, a, b| {
                        kernels::and_union2_from(isa, out, cand, a, b)
                    }),
                ),
                _ => None,
            };
            if let Some(count) = count {
                return Outcome {
                    count,
                    passes: count >= stage.min,
                };
            }
        }
        if stages.len() <= MAX_STAGES {
            let rule = Rule {
                stages,
                pool: program.pool(),
                bits: matrix.bits(),
                stride: matrix.stride(),
            };
            let counts = isa.run4((&mut *out, cand, &rule, ()), |out, cand, rule, ()| {
                let mut counts = [0u32; MAX_STAGES];
                kernels::chain(isa, out, cand, rule, &mut counts);
                counts
            });
            let passes = stages
                .iter()
                .zip(counts)
                .enumerate()
                .all(|(s, (stage, count))| !rule.counted(s) || count >= stage.min);
            let last = stages.len().saturating_sub(1);
            return Outcome {
                count: counts.get(last).copied().unwrap_or(0),
                passes,
            };
        }
    }
    // SAFETY: the caller's contract.
    unsafe { stage_by_stage::<KNOWN, I>(isa, program, stages, matrix, cand, out) }
}

/// The rule one stage at a time, each a pass writing the accumulator: for rules the one-pass
/// kernel does not hold, and for tags the snapshot predates (read as empty). Stops once the set
/// is empty, which no later stage changes.
///
/// # Safety
/// As [`words`].
#[inline(always)]
unsafe fn stage_by_stage<const KNOWN: bool, I: Isa>(
    isa: I,
    program: &Program,
    stages: &[Stage],
    matrix: &TagMatrix,
    cand: &[u64],
    out: &mut [u64],
) -> Outcome {
    let mut from = Some(cand);
    let mut outcome = Outcome {
        count: 0,
        passes: true,
    };
    for stage in stages {
        // SAFETY: `stage` is one of `program`'s.
        let tags = unsafe { program.stage_tags(stage) };
        outcome.count = match (tags, from) {
            ([], Some(cand)) => isa.run4((&mut *out, cand, (), ()), |out, cand, (), ()| {
                kernels::copy_from(isa, out, cand)
            }),
            ([], None) => outcome.count,
            // SAFETY: the caller's contract on tags when `KNOWN`.
            (tags, from) => unsafe { super::and_any::<KNOWN, I>(isa, tags, matrix, from, out) },
        };
        from = None;
        outcome.passes &= outcome.count >= stage.min;
        if outcome.count == 0 {
            break;
        }
    }
    outcome
}
