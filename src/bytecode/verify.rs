//! The verifier: the only way to make a [`Program`].
//!
//! It proves, for every instruction, what the VM relies on without checking again:
//! - the program is not empty, no longer than [`PROGRAM_MAX_INSNS`], and starts with `rule`,
//!   a filter marked `rule`, or a return, so the accumulator is defined before it is read;
//! - every `and` tag id, and every pool entry, names a tag of the interner now, and the program
//!   holds it (so it keeps that name) for as long as the program lives;
//! - every `and.any` pool range lies inside the pool and names at least one tag;
//! - every `match` stage range lies inside the stage table and names at least one stage, and
//!   every stage's pool range lies inside the pool (a stage may name no tag);
//! - every `min`, of a filter or a stage, is at least 1, and every jump goes forward to an
//!   instruction of the program;
//! - the last instruction returns unconditionally, so with forward jumps every path ends in a
//!   return;
//! - operands an opcode does not use are zero, and only filters carry flags (one encoding per
//!   program).
//!
//! It does not prove that the program means anything: a hand-written program may jump into the
//! middle of a rule. That is safe, only odd; the compiler never does it.

use std::fmt;

use super::{
    Flags, INSN_SIZE, Insn, InsnIdx, Opcode, Origins, PROGRAM_MAX_INSNS, Program, STAGE_SIZE, Stage,
};
use crate::topology::{TagId, TagInterner, TagLease};

/// Why a program was rejected, and at which instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyError {
    at: Option<InsnIdx>,
    kind: VerifyErrorKind,
}

impl VerifyError {
    /// The instruction at fault; `None` for faults of the whole program.
    pub fn at(&self) -> Option<InsnIdx> {
        self.at
    }

    /// What is wrong.
    pub fn kind(&self) -> &VerifyErrorKind {
        &self.kind
    }
}

/// What is wrong with a program.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyErrorKind {
    /// No instructions.
    Empty,
    /// More than [`PROGRAM_MAX_INSNS`] instructions.
    TooLong(usize),
    /// The binary form is cut short or has bytes left over.
    BadLength,
    /// An instruction whose bytes do not decode (unknown opcode, nonzero padding).
    BadEncoding,
    /// The first instruction reads the accumulator before any `rule` set it.
    NoRuleFirst,
    /// An operand the opcode does not use is not zero.
    UnusedOperand,
    /// A tag id that names no tag of the interner.
    TagOutOfRange(u32),
    /// An `and.any` pool range outside the pool, or empty; or a stage's outside the pool.
    PoolOutOfRange,
    /// A `match` stage range outside the stage table, or empty.
    StageOutOfRange,
    /// A `min` of zero.
    ZeroMin,
    /// A jump backwards or to itself.
    JumpNotForward(u32),
    /// A jump past the last instruction.
    JumpOutOfRange(u32),
    /// The last instruction does not return unconditionally.
    FallsOffTheEnd,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use VerifyErrorKind::*;
        if let Some(at) = self.at {
            write!(f, "insn #{at}: ")?;
        }
        match &self.kind {
            Empty => write!(f, "the program has no instructions"),
            TooLong(n) => write!(f, "{n} instructions, more than {PROGRAM_MAX_INSNS}"),
            BadLength => write!(f, "the binary form has the wrong length"),
            BadEncoding => write!(f, "unknown opcode or nonzero padding"),
            NoRuleFirst => write!(f, "the accumulator is read before any `rule`"),
            UnusedOperand => write!(f, "an operand this opcode does not use is not zero"),
            TagOutOfRange(t) => write!(f, "tag id {t} names no tag"),
            PoolOutOfRange => write!(f, "tag pool range outside the pool or empty"),
            StageOutOfRange => write!(f, "stage range outside the stage table or empty"),
            ZeroMin => write!(f, "`min` must be at least 1"),
            JumpNotForward(t) => write!(f, "jump to {t} does not go forward"),
            JumpOutOfRange(t) => write!(f, "jump to {t} is past the end of the program"),
            FallsOffTheEnd => write!(f, "the last instruction does not always return"),
        }
    }
}

impl std::error::Error for VerifyError {}

/// Verifies raw instructions, a tag pool (ids of `interner`) and a stage table into a
/// [`Program`].
pub fn verify(
    insns: Vec<Insn>,
    pool: Vec<u32>,
    stages: Vec<Stage>,
    interner: &TagInterner,
) -> Result<Program, VerifyError> {
    verify_with_origins(
        Code {
            insns,
            pool,
            stages,
        },
        interner,
        Origins::default(),
    )
}

/// A program's parts before verification.
pub(crate) struct Code {
    pub(crate) insns: Vec<Insn>,
    pub(crate) pool: Vec<u32>,
    pub(crate) stages: Vec<Stage>,
}

/// [`verify`], keeping the compiler's side table of where each instruction came from.
pub(crate) fn verify_with_origins(
    code: Code,
    interner: &TagInterner,
    origins: Origins,
) -> Result<Program, VerifyError> {
    let Code {
        insns,
        pool,
        stages,
    } = code;
    let whole = |kind| VerifyError { at: None, kind };
    if insns.is_empty() {
        return Err(whole(VerifyErrorKind::Empty));
    }
    if insns.len() > PROGRAM_MAX_INSNS {
        return Err(whole(VerifyErrorKind::TooLong(insns.len())));
    }
    let tag_count = interner.id_bound();
    let pool = check_pool(pool, tag_count).map_err(whole)?;
    check_stages(&stages, pool.len()).map_err(whole)?;
    check_first(&insns).map_err(|kind| VerifyError {
        at: Some(InsnIdx::START),
        kind,
    })?;
    for (at, insn) in insns.iter().enumerate() {
        let sizes = Sizes {
            insns: insns.len(),
            pool: pool.len(),
            stages: stages.len(),
            tags: tag_count,
        };
        check(at, insn, sizes).map_err(|kind| VerifyError {
            at: Some(InsnIdx::new(at)),
            kind,
        })?;
    }
    let last = insns.len() - 1;
    if !matches!(
        insns.get(last).map(|i| i.op),
        Some(Opcode::RetCand | Opcode::RetEmpty)
    ) {
        return Err(VerifyError {
            at: Some(InsnIdx::new(last)),
            kind: VerifyErrorKind::FallsOffTheEnd,
        });
    }
    let tag_bound = insns
        .iter()
        .filter(|i| i.op == Opcode::And)
        .map(|i| i.a as usize + 1)
        .chain(pool.iter().map(|t| t.index() + 1))
        .max()
        .unwrap_or(0);
    let held = hold_tags(&insns, &pool, interner)?;
    let mut origins = origins;
    origins.fit(insns.len());
    Ok(Program {
        insns: insns.into(),
        pool: pool.into(),
        stages: stages.into(),
        interner: interner.identity(),
        _held: held,
        tag_bound,
        origins,
    })
}

/// Holds every tag the program names; an id below the interner's bound that names no tag (its
/// tag was let go) is rejected where it is first named.
fn hold_tags(
    insns: &[Insn],
    pool: &[TagId],
    interner: &TagInterner,
) -> Result<TagLease, VerifyError> {
    let named = |insn: &Insn| (insn.op == Opcode::And).then_some(insn.a);
    // Room made once: the ids of a million tags are not grown to twice their size.
    let mut ids: Vec<TagId> =
        Vec::with_capacity(insns.iter().filter_map(named).count() + pool.len());
    ids.extend(
        insns
            .iter()
            .filter_map(named)
            .chain(pool.iter().map(|t| t.as_u32()))
            .filter_map(|t| TagId::new(t as usize)),
    );
    ids.sort_unstable();
    ids.dedup();
    interner.lease(ids).map_err(|missing| VerifyError {
        at: insns
            .iter()
            .position(|insn| named(insn) == Some(missing.as_u32()))
            .map(InsnIdx::new),
        kind: VerifyErrorKind::TagOutOfRange(missing.as_u32()),
    })
}

impl Program {
    /// Decodes and verifies the binary form written by [`Program::to_bytes`].
    pub fn from_bytes(bytes: &[u8], interner: &TagInterner) -> Result<Program, VerifyError> {
        let bad_length = VerifyError {
            at: None,
            kind: VerifyErrorKind::BadLength,
        };
        let header = |i: usize| -> Result<usize, VerifyError> {
            let word: [u8; 4] = bytes
                .get(i..i + 4)
                .and_then(|b| b.try_into().ok())
                .ok_or(bad_length.clone())?;
            Ok(u32::from_le_bytes(word) as usize)
        };
        let (insn_count, pool_len) = (header(0)?, header(4)?);
        if insn_count > PROGRAM_MAX_INSNS {
            return Err(VerifyError {
                at: None,
                kind: VerifyErrorKind::TooLong(insn_count),
            });
        }
        let body = bytes.get(8..).unwrap_or(&[]);
        let fixed = insn_count as u128 * INSN_SIZE as u128 + pool_len as u128 * 4;
        let Some(stage_bytes) = (body.len() as u128).checked_sub(fixed) else {
            return Err(bad_length);
        };
        if stage_bytes % STAGE_SIZE as u128 != 0 {
            return Err(bad_length);
        }
        let (code, rest) = body.split_at(insn_count * INSN_SIZE);
        let (pool, stages) = rest.split_at(pool_len * 4);
        let insns = code
            .chunks_exact(INSN_SIZE)
            .enumerate()
            .map(|(at, chunk)| {
                chunk
                    .try_into()
                    .ok()
                    .and_then(Insn::decode)
                    .ok_or(VerifyError {
                        at: Some(InsnIdx::new(at)),
                        kind: VerifyErrorKind::BadEncoding,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let pool = pool
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let stages = stages
            .chunks_exact(STAGE_SIZE)
            .map(|chunk| {
                chunk
                    .try_into()
                    .ok()
                    .and_then(Stage::decode)
                    .ok_or(VerifyError {
                        at: None,
                        kind: VerifyErrorKind::BadEncoding,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        verify(insns, pool, stages, interner)
    }
}

fn check_pool(pool: Vec<u32>, tag_count: usize) -> Result<Vec<TagId>, VerifyErrorKind> {
    // Converted where it lies: a pool of a million tags is not copied.
    pool.into_iter().map(|t| check_tag(t, tag_count)).collect()
}

/// Every stage names a range of the pool (possibly empty) and a `min` of at least 1.
fn check_stages(stages: &[Stage], pool_len: usize) -> Result<(), VerifyErrorKind> {
    stages.iter().try_for_each(|stage| {
        if stage.start as usize + stage.len as usize > pool_len {
            return Err(VerifyErrorKind::PoolOutOfRange);
        }
        check_min(stage.min)
    })
}

fn check_first(insns: &[Insn]) -> Result<(), VerifyErrorKind> {
    match insns.first() {
        Some(first)
            if first.starts_rule() || matches!(first.op, Opcode::RetCand | Opcode::RetEmpty) =>
        {
            Ok(())
        }
        _ => Err(VerifyErrorKind::NoRuleFirst),
    }
}

/// The lengths an instruction's operands are checked against.
#[derive(Clone, Copy)]
struct Sizes {
    insns: usize,
    pool: usize,
    stages: usize,
    tags: usize,
}

/// The checks of one instruction; every opcode is listed.
fn check(at: usize, insn: &Insn, sizes: Sizes) -> Result<(), VerifyErrorKind> {
    let Sizes {
        insns: len,
        pool: pool_len,
        stages: stage_count,
        tags: tag_count,
    } = sizes;
    match insn.op {
        Opcode::Rule | Opcode::Ret | Opcode::RetCand | Opcode::RetEmpty => {
            let zero = insn.flags == Flags::NONE && insn.len == 0 && insn.a == 0;
            check_unused(zero && insn.min == 0 && insn.target == 0)
        }
        Opcode::And => {
            check_unused(insn.len == 0)?;
            check_tag(insn.a, tag_count)?;
            check_min(insn.min)?;
            check_jump(at, insn.target, len)
        }
        Opcode::AndAny => {
            check_pool_range(insn.a, insn.len, pool_len)?;
            check_min(insn.min)?;
            check_jump(at, insn.target, len)
        }
        Opcode::Min => {
            check_unused(insn.len == 0 && insn.a == 0)?;
            check_min(insn.min)?;
            check_jump(at, insn.target, len)
        }
        Opcode::Match => {
            check_unused(insn.flags == Flags::NONE && insn.min == 0)?;
            let end = insn.a as usize + insn.len as usize;
            if insn.len == 0 || end > stage_count {
                return Err(VerifyErrorKind::StageOutOfRange);
            }
            check_jump(at, insn.target, len)
        }
    }
}

fn check_unused(all_zero: bool) -> Result<(), VerifyErrorKind> {
    if all_zero {
        Ok(())
    } else {
        Err(VerifyErrorKind::UnusedOperand)
    }
}

fn check_tag(tag: u32, tag_count: usize) -> Result<TagId, VerifyErrorKind> {
    TagId::new(tag as usize)
        .filter(|t| t.index() < tag_count)
        .ok_or(VerifyErrorKind::TagOutOfRange(tag))
}

fn check_pool_range(start: u32, len: u16, pool_len: usize) -> Result<(), VerifyErrorKind> {
    let end = start as usize + len as usize;
    if len == 0 || end > pool_len {
        Err(VerifyErrorKind::PoolOutOfRange)
    } else {
        Ok(())
    }
}

fn check_min(min: u32) -> Result<(), VerifyErrorKind> {
    if min == 0 {
        Err(VerifyErrorKind::ZeroMin)
    } else {
        Ok(())
    }
}

fn check_jump(at: usize, target: u32, len: usize) -> Result<(), VerifyErrorKind> {
    let t = target as usize;
    if t <= at {
        Err(VerifyErrorKind::JumpNotForward(target))
    } else if t >= len {
        Err(VerifyErrorKind::JumpOutOfRange(target))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interner(tags: usize) -> TagInterner {
        let interner = TagInterner::new();
        for i in 0..tags {
            interner.intern(&format!("t{i}")).expect("room");
        }
        interner
    }

    fn and(tag: u32, min: u32, target: u32) -> Insn {
        Insn {
            op: Opcode::And,
            flags: Flags::NONE,
            len: 0,
            a: tag,
            min,
            target,
        }
    }

    /// `rule; and t0 else 3; ret; ret.empty`, with one instruction replaced.
    fn program_with(at: usize, insn: Insn) -> Vec<Insn> {
        let mut insns = vec![
            Insn::bare(Opcode::Rule),
            and(0, 1, 3),
            Insn::bare(Opcode::Ret),
            Insn::bare(Opcode::RetEmpty),
        ];
        insns[at] = insn;
        insns
    }

    fn rejection(insns: Vec<Insn>, pool: Vec<u32>) -> (Option<usize>, VerifyErrorKind) {
        let e = verify(insns, pool, vec![], &interner(2)).expect_err("must be rejected");
        (e.at.map(InsnIdx::index), e.kind)
    }

    #[test]
    fn a_well_formed_program_verifies_and_round_trips_through_bytes() {
        let interner = interner(2);
        let any = Insn {
            op: Opcode::AndAny,
            flags: Flags::NONE,
            len: 2,
            a: 0,
            min: 2,
            target: 3,
        };
        let program = verify(program_with(1, any), vec![0, 1], vec![], &interner).expect("valid");
        assert_eq!(program.tag_bound, 2);
        assert_eq!(
            Program::from_bytes(&program.to_bytes(), &interner),
            Ok(program)
        );
    }

    #[test]
    fn each_broken_invariant_is_rejected_at_its_instruction() {
        use VerifyErrorKind::*;
        assert_eq!(rejection(vec![], vec![]), (None, Empty));
        assert_eq!(
            rejection(program_with(0, Insn::bare(Opcode::Ret)), vec![]),
            (Some(0), NoRuleFirst)
        );
        assert_eq!(
            rejection(program_with(1, and(2, 1, 3)), vec![]),
            (Some(1), TagOutOfRange(2))
        );
        assert_eq!(
            rejection(program_with(1, and(0, 0, 3)), vec![]),
            (Some(1), ZeroMin)
        );
        assert_eq!(
            rejection(program_with(1, and(0, 1, 1)), vec![]),
            (Some(1), JumpNotForward(1))
        );
        assert_eq!(
            rejection(program_with(1, and(0, 1, 4)), vec![]),
            (Some(1), JumpOutOfRange(4))
        );
        assert_eq!(
            rejection(program_with(3, Insn::bare(Opcode::Ret)), vec![]),
            (Some(3), FallsOffTheEnd)
        );
        let wide = Insn {
            op: Opcode::AndAny,
            flags: Flags::NONE,
            len: 3,
            a: 0,
            min: 1,
            target: 3,
        };
        assert_eq!(
            rejection(program_with(1, wide), vec![0, 1]),
            (Some(1), PoolOutOfRange)
        );
        let none = Insn {
            op: Opcode::AndAny,
            flags: Flags::NONE,
            len: 0,
            a: 0,
            min: 1,
            target: 3,
        };
        assert_eq!(
            rejection(program_with(1, none), vec![0]),
            (Some(1), PoolOutOfRange)
        );
        assert_eq!(
            rejection(program_with(1, and(0, 1, 3)), vec![9]),
            (None, TagOutOfRange(9))
        );
        let mut padded = Insn::bare(Opcode::Ret);
        padded.min = 1;
        assert_eq!(
            rejection(program_with(2, padded), vec![]),
            (Some(2), UnusedOperand)
        );
        let mut flagged = Insn::bare(Opcode::Ret);
        flagged.flags = Flags::RET;
        assert_eq!(
            rejection(program_with(2, flagged), vec![]),
            (Some(2), UnusedOperand)
        );
        assert_eq!(
            rejection(vec![and(0, 1, 1), Insn::bare(Opcode::RetEmpty)], vec![]),
            (Some(0), NoRuleFirst)
        );
    }

    #[test]
    fn a_filter_may_start_and_end_its_rule() {
        let fused = Insn {
            flags: Flags::RULE | Flags::RET,
            ..and(1, 2, 1)
        };
        let program = verify(
            vec![fused, Insn::bare(Opcode::RetEmpty)],
            vec![],
            vec![],
            &interner(2),
        )
        .expect("valid");
        assert!(program.insns()[0].starts_rule());
        assert_eq!(
            Program::from_bytes(&program.to_bytes(), &interner(2)).map(|p| p.insns().to_vec()),
            Ok(program.insns().to_vec())
        );
    }

    fn matching(a: u32, len: u16, target: u32) -> Insn {
        Insn {
            op: Opcode::Match,
            flags: Flags::NONE,
            len,
            a,
            min: 0,
            target,
        }
    }

    fn stage(start: u32, len: u16, min: u32) -> Stage {
        Stage { start, len, min }
    }

    /// `match` over `stages` else 1; `ret.empty`, with the pool `[0, 1]`.
    fn match_rejection(insn: Insn, stages: Vec<Stage>) -> (Option<usize>, VerifyErrorKind) {
        let insns = vec![insn, Insn::bare(Opcode::RetEmpty)];
        let e = verify(insns, vec![0, 1], stages, &interner(2)).expect_err("must be rejected");
        (e.at.map(InsnIdx::index), e.kind)
    }

    #[test]
    fn a_match_rule_verifies_round_trips_and_counts_its_stage_tags() {
        let interner = interner(3);
        let stages = vec![stage(0, 0, 3), stage(0, 2, 1), stage(2, 1, 2)];
        let insns = vec![matching(0, 3, 1), Insn::bare(Opcode::RetCand)];
        let program = verify(insns, vec![0, 1, 2], stages, &interner).expect("valid");
        assert!(program.insns()[0].starts_rule());
        assert_eq!(program.tag_bound, 3);
        let bytes = program.to_bytes();
        assert_eq!(bytes.len(), 8 + 2 * INSN_SIZE + 3 * 4 + 3 * STAGE_SIZE);
        assert_eq!(Program::from_bytes(&bytes, &interner), Ok(program));
    }

    #[test]
    fn each_broken_match_invariant_is_rejected() {
        use VerifyErrorKind::*;
        let fine = vec![stage(0, 2, 1)];
        assert_eq!(
            match_rejection(matching(0, 2, 1), fine.clone()),
            (Some(0), StageOutOfRange)
        );
        assert_eq!(
            match_rejection(matching(0, 0, 1), fine.clone()),
            (Some(0), StageOutOfRange)
        );
        assert_eq!(
            match_rejection(matching(1, 1, 1), fine.clone()),
            (Some(0), StageOutOfRange)
        );
        assert_eq!(
            match_rejection(matching(0, 1, 0), fine.clone()),
            (Some(0), JumpNotForward(0))
        );
        assert_eq!(
            match_rejection(matching(0, 1, 2), fine.clone()),
            (Some(0), JumpOutOfRange(2))
        );
        let mut with_min = matching(0, 1, 1);
        with_min.min = 2;
        assert_eq!(
            match_rejection(with_min, fine.clone()),
            (Some(0), UnusedOperand)
        );
        let mut flagged = matching(0, 1, 1);
        flagged.flags = Flags::RET;
        assert_eq!(match_rejection(flagged, fine), (Some(0), UnusedOperand));
        assert_eq!(
            match_rejection(matching(0, 1, 1), vec![stage(1, 2, 1)]),
            (None, PoolOutOfRange)
        );
        assert_eq!(
            match_rejection(matching(0, 1, 1), vec![stage(0, 1, 0)]),
            (None, ZeroMin)
        );
    }

    #[test]
    fn stage_bytes_are_whole_and_their_padding_zero() {
        let interner = interner(2);
        let insns = vec![matching(0, 1, 1), Insn::bare(Opcode::RetEmpty)];
        let program = verify(insns, vec![1], vec![stage(0, 1, 2)], &interner).expect("valid");
        let mut bytes = program.to_bytes();
        bytes.push(0);
        assert_eq!(
            Program::from_bytes(&bytes, &interner).map_err(|e| e.kind),
            Err(VerifyErrorKind::BadLength)
        );
        let mut bytes = program.to_bytes();
        let padding = 8 + 2 * INSN_SIZE + 4 + 6;
        bytes[padding] = 1;
        assert_eq!(
            Program::from_bytes(&bytes, &interner).map_err(|e| e.kind),
            Err(VerifyErrorKind::BadEncoding)
        );
    }

    #[test]
    fn bad_binary_forms_are_rejected() {
        let interner = interner(1);
        let program =
            verify(program_with(1, and(0, 1, 3)), vec![], vec![], &interner).expect("valid");
        let mut bytes = program.to_bytes();
        bytes.pop();
        assert_eq!(
            Program::from_bytes(&bytes, &interner).map_err(|e| e.kind),
            Err(VerifyErrorKind::BadLength)
        );
        let mut bytes = program.to_bytes();
        bytes[8] = 99;
        assert_eq!(
            Program::from_bytes(&bytes, &interner).map_err(|e| (e.at.map(InsnIdx::index), e.kind)),
            Err((Some(0), VerifyErrorKind::BadEncoding))
        );
        assert_eq!(
            Program::from_bytes(&[1, 2], &interner).map_err(|e| e.kind),
            Err(VerifyErrorKind::BadLength)
        );
        let mut bytes = program.to_bytes();
        bytes[8 + INSN_SIZE + 1] = 4;
        assert_eq!(
            Program::from_bytes(&bytes, &interner).map_err(|e| (e.at.map(InsnIdx::index), e.kind)),
            Err((Some(1), VerifyErrorKind::BadEncoding)),
            "unknown flag bits"
        );
    }
}
