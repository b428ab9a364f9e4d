//! The VM: a verified [`Program`] × a [`Snapshot`] × candidates → a [`ServerSet`], allocating
//! nothing.
//!
//! The program and the snapshot are shared and read-only; the caller owns the output set,
//! which doubles as the accumulator, and sizes it once. Two executors run the same
//! instruction set:
//! - **one word**, for clusters of up to 64 servers whose snapshot knows every tag of the
//!   program: the accumulator, the candidates and every tag row are single `u64`s in registers;
//! - **words**, for everything else: a rule (`match`) is one pass over the words, its running
//!   set in registers and stored once (see `matching`); a filter of the step-by-step form is
//!   one pass of its own, and anything whose set is too small jumps straight to the next rule.
//!
//! The one-word executor tests the common thresholds (`min` 1 and 2) with bit tricks and needs
//! no popcount for them. Both executors run out of line, and [`eval`] inlines into its caller
//! as the checks and one call. The word executor runs each kernel out of line, compiled for the
//! widest kernels the CPU has ([`features`]: AVX-512, AVX2, `popcnt`), its operands passed in
//! registers, so each loop has its registers to itself. The check that every tag of the program is known to the
//! snapshot is made once per evaluation (the program's tag bound against the snapshot's tag
//! count), never per instruction.

mod explain;
mod kernels;
mod matching;

pub use crate::cpu::{Features, features, select_in_word};

use crate::cpu::{self, Isa, Kernels, Portable, with_isa};
pub use explain::{Answer, Explanation, FilterTrace, RuleOutcome, RuleTrace, Step, explain};

use std::fmt;

use crate::bytecode::{Flags, Insn, InsnIdx, Opcode, Program};
use crate::topology::{ServerSet, Snapshot, TagId, TagMatrix};
use matching::at_least;

/// Why an evaluation could not run.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EvalError {
    /// The program was compiled against another tag interner than the snapshot's.
    ForeignProgram,
    /// The candidate set ranges over another number of servers than the snapshot has.
    UniverseMismatch {
        /// The candidates' universe (saturated at `u32::MAX`: no snapshot is larger).
        candidates: u32,
        /// The snapshot's server count.
        servers: u32,
    },
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalError::ForeignProgram => write!(
                f,
                "the program was compiled against another topology's tags"
            ),
            EvalError::UniverseMismatch {
                candidates,
                servers,
            } => {
                write!(
                    f,
                    "candidates range over {candidates} servers, the snapshot has {servers}"
                )
            }
        }
    }
}

impl std::error::Error for EvalError {}

/// Applies `program` to `candidates` on `snapshot`, writing the result into `out`.
///
/// `out` is resized to the snapshot's server count, which allocates only when it has never
/// been that large; evaluation itself never allocates.
// PERF: in line, so the caller pays neither a frame of its own nor a result returned through
// memory: what is left is the checks and one call, to the one-word or the word executor, each
// out of line with the registers it needs.
#[inline]
pub fn eval(
    program: &Program,
    snapshot: &Snapshot,
    candidates: &ServerSet,
    out: &mut ServerSet,
) -> Result<(), EvalError> {
    check(program, snapshot, candidates)?;
    if out.universe() != snapshot.len() {
        size(out, snapshot.len());
    }
    let matrix = snapshot.tag_matrix();
    let (cand, out) = (candidates.words(), out.words_mut());
    if program.tag_bound() > matrix.tag_count() {
        // Some tag was interned after the snapshot was built. Settled here, once, so the
        // executors below check no tag at all.
        eval_with_unknown_tags(program, matrix, cand, out);
        return Ok(());
    }
    // SAFETY: the line above proved every tag id of the program (all below `tag_bound`, as the
    // verifier computed it) has a row in `matrix`; `check` and `prepare` made `cand` and `out`
    // exactly as long as the matrix's rows.
    unsafe { run_known(program, matrix, cand, out) };
    Ok(())
}

fn check(program: &Program, snapshot: &Snapshot, candidates: &ServerSet) -> Result<(), EvalError> {
    if program.interner_identity() != snapshot.interner().identity() {
        return Err(EvalError::ForeignProgram);
    }
    if candidates.universe() != snapshot.len() {
        // `u32`s keep `Result<(), EvalError>` at 12 bytes, returned in registers.
        let size = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        return Err(EvalError::UniverseMismatch {
            candidates: size(candidates.universe()),
            servers: size(snapshot.len()),
        });
    }
    Ok(())
}

/// Sizes `out` for a snapshot of `servers` servers: once per buffer and cluster size, so out of
/// line.
// PERF: inlined, the resizing made `eval` save six registers and reserve a stack frame on every
// call, one-word clusters included.
#[cold]
#[inline(never)]
fn size(out: &mut ServerSet, servers: usize) {
    out.prepare(servers);
}

/// The rare case of a program naming tags the snapshot predates: the checked executor reads
/// them as the empty set. Out of line, so the hot path stays small.
#[cold]
#[inline(never)]
fn eval_with_unknown_tags(program: &Program, matrix: &TagMatrix, cand: &[u64], out: &mut [u64]) {
    // SAFETY: `eval` checked `cand` and sized `out` to the snapshot's words; the checked
    // executor (`KNOWN = false`) assumes nothing about tags.
    unsafe { words::<false, _>(program, matrix, cand, out, Portable) }
}

/// Picks the executor for the cluster's size and the CPU.
///
/// # Safety
/// Every tag id of `program` is below `matrix.tag_count()`, and `cand` and `out` have
/// `matrix.words()` words each.
#[inline(always)]
unsafe fn run_known(program: &Program, matrix: &TagMatrix, cand: &[u64], out: &mut [u64]) {
    if let ([cand], [result]) = (cand, &mut *out) {
        // SAFETY: the contract of `run_known` is that of `one_word`.
        *result = unsafe { one_word(program, matrix.bits(), *cand) };
        return;
    }
    // SAFETY: the contract of `run_known` is that of `run_words`.
    unsafe { run_words(program, matrix, cand, out) }
}

/// The word executor with the best kernels of this CPU.
///
/// # Safety
/// As [`run_known`].
// PERF: out of line, apart from the one-word executor: with the four kernel sets' executors
// inlined beside it, a one-word evaluation pushed six registers and reserved a 1.2 KB frame.
#[inline(never)]
unsafe fn run_words(program: &Program, matrix: &TagMatrix, cand: &[u64], out: &mut [u64]) {
    // SAFETY: the contract of `run_known` is that of the executors (`KNOWN = true`).
    with_isa!(Kernels::best(), |isa| unsafe {
        words::<true, _>(program, matrix, cand, out, isa)
    })
}

/// The executor for one-word clusters: `rows[t]` is tag `t`'s single word, the accumulator
/// and the candidates live in registers.
///
/// # Safety
/// Every tag id of `program` is below `rows.len()`.
// PERF: out of line, so `eval` inlines into its caller as checks and a call.
#[inline(never)]
unsafe fn one_word(program: &Program, rows: &[u64], cand: u64) -> u64 {
    // SAFETY: tag ids are below `rows.len()` by the caller's contract.
    let row = |t: u32| unsafe { *rows.get_unchecked(t as usize) };
    let start = |acc: u64, insn: &Insn| {
        if insn.flags.contains(Flags::RULE) {
            cand
        } else {
            acc
        }
    };
    let mut acc = 0u64;
    let mut pc = InsnIdx::START;
    loop {
        // SAFETY: `pc` is 0, a jump target or the successor of an instruction that did not
        // return: the verifier's proofs keep all of those inside the program.
        let insn = unsafe { program.fetch(pc) };
        let flow = match insn.op {
            Opcode::Rule => {
                acc = cand;
                Some(pc.next())
            }
            Opcode::And => {
                acc = start(acc, insn) & row(insn.a);
                one_word_next(acc, insn, pc)
            }
            Opcode::AndAny => {
                // SAFETY: `insn` is an `and.any` of `program`.
                let union = match unsafe { program.pool_tags(insn) } {
                    [a, b] => row(a.as_u32()) | row(b.as_u32()),
                    tags => tags.iter().fold(0, |u, t| u | row(t.as_u32())),
                };
                acc = start(acc, insn) & union;
                one_word_next(acc, insn, pc)
            }
            Opcode::Min => {
                acc = start(acc, insn);
                one_word_next(acc, insn, pc)
            }
            Opcode::Match => {
                // SAFETY: `insn` is a `match` of `program`, so are its stages; tag ids are
                // below `rows.len()` by the caller's contract.
                let (set, passes) = unsafe {
                    let stages = program.match_stages(insn);
                    matching::one_word(program, stages, |t| row(t.as_u32()), cand)
                };
                if passes {
                    return set;
                }
                acc = set;
                Some(InsnIdx::of_target(insn.target))
            }
            Opcode::Ret => (acc == 0).then_some(pc.next()),
            Opcode::RetCand => return cand,
            Opcode::RetEmpty => return 0,
        };
        match flow {
            Some(next) => pc = next,
            None => return acc,
        }
    }
}

/// [`next`] for a one-word accumulator. "At least one" and "at least two" are bit tests, so
/// the one-word executor needs no `popcnt` for the thresholds policies use most.
#[inline(always)]
fn one_word_next(acc: u64, insn: &Insn, pc: InsnIdx) -> Option<InsnIdx> {
    filter_flow(at_least(acc, insn.min), insn, pc)
}

/// Where a filter goes: on, or to its target when the set is smaller than its `min`.
#[inline(always)]
fn next(count: u32, insn: &Insn, pc: InsnIdx) -> Option<InsnIdx> {
    filter_flow(count >= insn.min, insn, pc)
}

/// After a filter: to its target when it failed, out of the program (`None`, returning the
/// accumulator) when it passed and ends its rule, else on.
#[inline(always)]
fn filter_flow(passes: bool, insn: &Insn, pc: InsnIdx) -> Option<InsnIdx> {
    if !passes {
        Some(InsnIdx::of_target(insn.target))
    } else if insn.flags.contains(Flags::RET) {
        None
    } else {
        Some(pc.next())
    }
}

/// The executor for any cluster. `out` is the accumulator; after `rule` it stands for the
/// candidates without a copy (`from_cand`), and the next filter reads the candidates instead.
///
/// `cand` and `out` must have `matrix.words()` words each (the kernels stop at the shortest).
///
/// # Safety
/// When `KNOWN`, every tag id of `program` is below `matrix.tag_count()` (otherwise tags are
/// looked up checked and unknown ones read as empty).
#[inline(always)]
pub(crate) unsafe fn words<const KNOWN: bool, I: Isa>(
    program: &Program,
    matrix: &TagMatrix,
    cand: &[u64],
    out: &mut [u64],
    isa: I,
) {
    let mut from_cand = false;
    let mut count = 0u32;
    let mut cand_count = None;
    let mut pc = InsnIdx::START;
    loop {
        // SAFETY: `pc` is 0, a jump target or the successor of an instruction that did not
        // return: the verifier's proofs keep all of those inside the program.
        let insn = unsafe { program.fetch(pc) };
        from_cand |= insn.starts_rule();
        let flow = match insn.op {
            Opcode::Rule => Some(pc.next()),
            Opcode::Match => {
                // SAFETY: `insn` is a `match` of `program`; the tag contract is the caller's.
                let outcome = unsafe {
                    let stages = program.match_stages(insn);
                    matching::words::<KNOWN, I>(isa, program, stages, matrix, cand, out)
                };
                if outcome.passes {
                    return;
                }
                (from_cand, count) = (false, outcome.count);
                Some(InsnIdx::of_target(insn.target))
            }
            Opcode::And => {
                let from = from_cand.then_some(cand);
                // The verifier made `a` a tag id (`TagId::new` accepted it).
                let tags = TagId::new(insn.a as usize).map(|t| [t]);
                // SAFETY: `insn.a` is a tag id of `program`; the tag contract is the caller's.
                count = unsafe {
                    and_any::<KNOWN, I>(isa, tags.as_slice().as_flattened(), matrix, from, out)
                };
                from_cand = false;
                next(count, insn, pc)
            }
            Opcode::AndAny => {
                // SAFETY: `insn` is an `and.any` of `program`; the tag contract is the caller's.
                count = unsafe {
                    let tags = program.pool_tags(insn);
                    and_any::<KNOWN, I>(isa, tags, matrix, from_cand.then_some(cand), out)
                };
                from_cand = false;
                next(count, insn, pc)
            }
            Opcode::Min => {
                let count = current(isa, cand, from_cand.then_some(&mut cand_count), count);
                next(count, insn, pc)
            }
            Opcode::Ret => {
                let count = current(isa, cand, from_cand.then_some(&mut cand_count), count);
                (count == 0).then_some(pc.next())
            }
            Opcode::RetCand => {
                out.copy_from_slice(cand);
                return;
            }
            Opcode::RetEmpty => {
                out.fill(0);
                return;
            }
        };
        match flow {
            Some(next) => pc = next,
            None => {
                if from_cand {
                    out.copy_from_slice(cand);
                }
                return;
            }
        }
    }
}

/// The accumulator's count: `count`, or when it stands for the candidates (`cand_count` given),
/// theirs, counted once.
#[inline(always)]
fn current<I: Isa>(isa: I, cand: &[u64], cand_count: Option<&mut Option<u32>>, count: u32) -> u32 {
    match cand_count {
        Some(Some(counted)) => *counted,
        Some(slot) => *slot.insert(isa.run(|| cpu::count(isa, cand))),
        None => count,
    }
}

/// `acc ∩ (T[t₀] ∪ …)`, from the candidates (`from`) or in place, returning its count. One or
/// two known tags, the common cases, run a fused vector kernel; any other number, or a tag the
/// snapshot predates (read as empty), the general loop.
///
/// # Safety
/// When `KNOWN`, every id of `tags` is below `matrix.tag_count()`.
#[inline(always)]
unsafe fn and_any<const KNOWN: bool, I: Isa>(
    isa: I,
    tags: &[TagId],
    matrix: &TagMatrix,
    from: Option<&[u64]>,
    out: &mut [u64],
) -> u32 {
    let row = |t: &TagId| {
        if KNOWN {
            // SAFETY: `KNOWN` means every tag id has a row.
            Some(unsafe { matrix.row_unchecked(t.as_u32()) })
        } else {
            matrix.row_of(t.as_u32())
        }
    };
    if let [a] = tags
        && let Some(a) = row(a)
    {
        return match from {
            Some(cand) => isa.run4((out, cand, a, ()), |out, cand, a, ()| {
                kernels::and_from(isa, out, cand, a)
            }),
            None => isa.run4((out, a, (), ()), |out, a, (), ()| {
                kernels::and_in_place(isa, out, a)
            }),
        };
    }
    if let [a, b] = tags
        && let (Some(a), Some(b)) = (row(a), row(b))
    {
        return match from {
            Some(cand) => isa.run4((out, cand, a, b), |out, cand, a, b| {
                kernels::and_union2_from(isa, out, cand, a, b)
            }),
            None => isa.run4((out, a, b, ()), |out, a, b, ()| {
                kernels::and_union2_in_place(isa, out, a, b)
            }),
        };
    }
    isa.run(|| and_union(tags, matrix, from, out))
}

/// `acc ∩ (T[t₀] ∪ …)` for any number of tags, reading unknown tags as empty.
fn and_union(tags: &[TagId], matrix: &TagMatrix, from: Option<&[u64]>, out: &mut [u64]) -> u32 {
    let (bits, stride) = (matrix.bits(), matrix.stride());
    let union_at = |w: usize| {
        tags.iter().fold(0, |u, t| {
            u | bits.get(t.index() * stride + w).copied().unwrap_or(0)
        })
    };
    match from {
        Some(cand) => kernels::and_union_from(out, cand, union_at),
        None => kernels::and_union_in_place(out, union_at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::compile;
    use crate::syntax::Strictness;
    use crate::syntax::parse;
    use crate::topology::{ServerSpec, TopologySpec};

    /// `n` servers `s0..`; server `i` carries `north` if `i % 2 == 0`, `north1` if
    /// `i % 3 == 0`, `north2` if `i % 5 == 0`.
    fn cluster(n: usize) -> Snapshot {
        let servers = (0..n)
            .map(|i| {
                let tags = [("north", 2), ("north1", 3), ("north2", 5)]
                    .into_iter()
                    .filter(|(_, m)| i % m == 0)
                    .map(|(t, _)| t);
                ServerSpec::new(format!("s{i}"), format!("s{i}:7687")).with_tags(tags)
            })
            .collect();
        Snapshot::build(
            &TopologySpec {
                servers,
                databases: vec![],
            },
            &crate::topology::TagInterner::new(),
        )
        .expect("valid")
    }

    fn run(text: &str, snapshot: &Snapshot) -> Vec<usize> {
        let program = compile(
            &parse(text, Strictness::Default).expect("valid"),
            snapshot.interner(),
        )
        .expect("compiles");
        let mut out = ServerSet::default();
        eval(&program, snapshot, snapshot.available(), &mut out).expect("same interner");
        out.iter().map(|i| i.index()).collect()
    }

    fn expect(n: usize, keep: impl Fn(usize) -> bool) -> Vec<usize> {
        (0..n).filter(|&i| keep(i)).collect()
    }

    #[test]
    fn both_executors_follow_the_rules_on_every_word_boundary() {
        for n in [1, 2, 63, 64, 65, 127, 128, 129, 1000] {
            let snapshot = cluster(n);
            let both = |i: usize| i.is_multiple_of(3) || i.is_multiple_of(5);
            let wanted = if expect(n, both).len() >= 2 {
                expect(n, both)
            } else {
                expect(n, |i| i % 2 == 0)
            };
            assert_eq!(
                run(
                    "tags(north1,north2)->min(2); tags(north); halt()",
                    &snapshot
                ),
                wanted,
                "n = {n}"
            );
            assert_eq!(
                run("tags(north)->tags(north1)->min(2)", &snapshot),
                if expect(n, |i| i % 6 == 0).len() >= 2 {
                    expect(n, |i| i % 6 == 0)
                } else {
                    expect(n, |_| true)
                }
            );
            assert_eq!(run("tags(west); halt()", &snapshot), Vec::<usize>::new());
            assert_eq!(
                run("min(3)->tags(north1,north2,north)", &snapshot),
                if n >= 3 {
                    expect(n, |i| both(i) || i % 2 == 0)
                } else {
                    expect(n, |_| true)
                }
            );
        }
    }

    #[test]
    fn tags_interned_after_the_snapshot_are_empty() {
        let snapshot = cluster(10);
        assert_eq!(
            run("tags(brand_new); halt()", &snapshot),
            Vec::<usize>::new()
        );
        assert_eq!(run("tags(brand_new, north1)", &snapshot), [0, 3, 6, 9]);
    }

    #[test]
    fn misuse_is_an_error_not_a_wrong_answer() {
        let snapshot = cluster(10);
        let other = cluster(10);
        let program = compile(
            &parse("tags(north)", Strictness::Default).expect("valid"),
            other.interner(),
        )
        .expect("compiles");
        let mut out = ServerSet::default();
        assert_eq!(
            eval(&program, &snapshot, snapshot.available(), &mut out),
            Err(EvalError::ForeignProgram)
        );
        let program = compile(
            &parse("tags(north)", Strictness::Default).expect("valid"),
            snapshot.interner(),
        )
        .expect("compiles");
        assert_eq!(
            eval(&program, &snapshot, &ServerSet::full(11), &mut out),
            Err(EvalError::UniverseMismatch {
                candidates: 11,
                servers: 10
            })
        );
    }
}
