//! The instruction set: fixed-width instructions over one accumulator set.
//!
//! A program evaluates a policy against a *candidate* set. It has one register, the
//! accumulator `acc` (a set of servers), and a count `|acc|` that every filter instruction
//! leaves behind, so `min(n)` costs nothing extra. The compiler makes each rule one `match`
//! instruction, which the VM runs in a single pass over the words (see `vm`), and which jumps
//! to the next rule when its set is too small:
//!
//! ```text
//! 0000  match         north1, north2  min 2  else 0001
//! 0001  match         north  else 0002
//! 0002  ret.empty
//! ```
//!
//! Every instruction is 16 bytes, [`INSN_SIZE`]:
//!
//! ```text
//! byte  0      1        2..4        4..8          8..12         12..16
//!       op     flags    len (u16)   a (u32)       min (u32)     target (u32)
//! ```
//!
//! | op | mnemonic | operands | effect | ends the program |
//! |----|----------|----------|--------|------------------|
//! | 1 | `rule` | none | `acc ← candidates` | no |
//! | 2 | `and` | tag `a`, `min`, `target` | `acc ← acc ∩ T[a]`; if `\|acc\| < min` jump to `target` | no |
//! | 3 | `and.any` | tags `pool[a..a+len]`, `min`, `target` | `acc ← acc ∩ (T[p₀] ∪ … ∪ T[pₗₑₙ₋₁])`; if `\|acc\| < min` jump to `target` | no |
//! | 4 | `min` | `min`, `target` | if `\|acc\| < min` jump to `target` | no |
//! | 5 | `ret` | none | if `acc ≠ ∅` return `acc` | when `acc ≠ ∅` |
//! | 6 | `ret.cand` | none | return the candidates | yes |
//! | 7 | `ret.empty` | none | return `∅` | yes |
//! | 8 | `match` | stages `stages[a..a+len]`, `target` | a whole rule: `acc ← candidates ∩ S₀ ∩ … ∩ Sₗₑₙ₋₁`; if some `\|candidates ∩ S₀ ∩ … ∩ Sᵢ\| < minᵢ` jump to `target`, else return `acc` | when it returns |
//!
//! A *stage* ([`Stage`]) is one filter of a rule: the union `Sᵢ` of its tags
//! `pool[start..start+len]` (the whole set when it names none: a leading `min(n)`), and the
//! threshold `minᵢ` its running set must reach. `match` is the superinstruction of the shapes
//! policies are made of (a union of tags, an optional `min`, a chain of those): one dispatch per
//! rule, the accumulator written once. After a `match` that jumps, `acc` holds the whole chain's
//! set all the same.
//!
//! The three filters (`and`, `and.any`, `min`) take two modifiers in the flags byte, which fuse
//! the instructions around them into one dispatch ([`Flags`]):
//! - `rule` (bit 0): `acc ← candidates` first, as if a `rule` instruction came before;
//! - `ret` (bit 1): when the filter passes, return `acc`, as if a `ret` came after.
//!
//! These filters, their modifiers and `rule` and `ret` as instructions of their own are the
//! step-by-step form of a rule, for hand-written bytecode; the compiler emits `match`.
//!
//! `T[t]` is the set of servers carrying tag `t` in the snapshot (empty for a tag the snapshot
//! predates). Every `min` is at least 1: a filter or stage that empties the accumulator always
//! jumps, which is how a rule fails when its set is empty; a following `min(n)` is folded into
//! it. Jumps go forward to the next rule. Unused operands and flags are zero. A [`Program`] is
//! only ever made by the verifier (see [`verify`]), which proves every jump forward and in
//! range, every tag, pool and stage operand in range, and that the last instruction returns
//! unconditionally.

mod disasm;
pub(crate) mod verify;

use std::fmt;
use std::ops::BitOr;

pub use disasm::{DisasmLine, DisasmStage};
pub use verify::{VerifyError, VerifyErrorKind, verify};

use crate::span::Span;
use crate::topology::{TagId, TagLease};

/// The position of an instruction in a program: what verifier errors, source spans and the
/// VM's program counter are indexed by. Programs have at most [`PROGRAM_MAX_INSNS`]
/// instructions, so it fits 32 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InsnIdx(u32);

impl InsnIdx {
    /// The first instruction, where every program starts.
    pub const START: InsnIdx = InsnIdx(0);

    /// The position `n` (saturating at `u32::MAX`, past the end of any program).
    pub fn new(n: usize) -> InsnIdx {
        InsnIdx(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// The target of a jump, as an instruction stores it.
    #[inline(always)]
    pub const fn of_target(target: u32) -> InsnIdx {
        InsnIdx(target)
    }

    /// The position as a `usize`.
    #[inline(always)]
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// The instruction after this one.
    #[inline(always)]
    pub const fn next(self) -> InsnIdx {
        InsnIdx(self.0.saturating_add(1))
    }
}

impl fmt::Display for InsnIdx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The size of one encoded instruction, in bytes.
pub const INSN_SIZE: usize = 16;

/// The largest number of instructions in a program.
pub const PROGRAM_MAX_INSNS: usize = 1 << 24;

/// An operation; see the module documentation for each one's operands and effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Opcode {
    /// `rule`: start a rule, `acc ← candidates`.
    Rule = 1,
    /// `and`: intersect with one tag's servers.
    And = 2,
    /// `and.any`: intersect with the union of several tags' servers.
    AndAny = 3,
    /// `min`: keep going only if the accumulator has at least `min` servers.
    Min = 4,
    /// `ret`: return the accumulator if it is not empty.
    Ret = 5,
    /// `ret.cand`: return the candidate set.
    RetCand = 6,
    /// `ret.empty`: return the empty set.
    RetEmpty = 7,
    /// `match`: a whole rule, its stages in one pass.
    Match = 8,
}

impl Opcode {
    /// The opcode numbered `byte`, if there is one.
    pub fn from_u8(byte: u8) -> Option<Opcode> {
        Some(match byte {
            1 => Opcode::Rule,
            2 => Opcode::And,
            3 => Opcode::AndAny,
            4 => Opcode::Min,
            5 => Opcode::Ret,
            6 => Opcode::RetCand,
            7 => Opcode::RetEmpty,
            8 => Opcode::Match,
            _ => return None,
        })
    }

    /// The mnemonic the disassembler prints.
    pub fn mnemonic(self) -> &'static str {
        match self {
            Opcode::Rule => "rule",
            Opcode::And => "and",
            Opcode::AndAny => "and.any",
            Opcode::Min => "min",
            Opcode::Ret => "ret",
            Opcode::RetCand => "ret.cand",
            Opcode::RetEmpty => "ret.empty",
            Opcode::Match => "match",
        }
    }

    /// Whether this is a filter (`and`, `and.any`, `min`): it may jump and take modifiers.
    pub fn is_filter(self) -> bool {
        matches!(self, Opcode::And | Opcode::AndAny | Opcode::Min)
    }

    /// Whether the instruction may jump: a filter, or `match`.
    pub fn jumps(self) -> bool {
        self.is_filter() || self == Opcode::Match
    }
}

/// The modifiers of a filter instruction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags(u8);

impl Flags {
    /// No modifier.
    pub const NONE: Flags = Flags(0);
    /// Start the rule: `acc ← candidates` before filtering.
    pub const RULE: Flags = Flags(1);
    /// End the rule: return `acc` when the filter passes.
    pub const RET: Flags = Flags(2);

    /// The flags of `bits`, if every set bit is a known flag.
    pub fn from_bits(bits: u8) -> Option<Flags> {
        (bits & !(Flags::RULE.0 | Flags::RET.0) == 0).then_some(Flags(bits))
    }

    /// The flags as the byte the binary form stores.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// Whether every flag of `other` is set.
    #[inline(always)]
    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for Flags {
    type Output = Flags;
    fn bitor(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }
}

/// One instruction. Fields that an opcode does not use are zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct Insn {
    /// What to do.
    pub op: Opcode,
    /// Filters: whether the instruction also starts and ends its rule.
    pub flags: Flags,
    /// `and.any`: how many tags, from `pool[a]` on; `match`: how many stages, from
    /// `stages[a]` on.
    pub len: u16,
    /// `and`: the tag id; `and.any`: the first tag's index in the pool; `match`: the first
    /// stage's index in the stage table.
    pub a: u32,
    /// `and`, `and.any`, `min`: the least size of the accumulator to go on with.
    pub min: u32,
    /// `and`, `and.any`, `min`, `match`: where to jump when the accumulator is smaller than
    /// its threshold.
    pub target: u32,
}

impl Insn {
    /// An instruction with no operands.
    pub const fn bare(op: Opcode) -> Insn {
        Insn {
            op,
            flags: Flags::NONE,
            len: 0,
            a: 0,
            min: 0,
            target: 0,
        }
    }

    /// Whether the instruction starts its rule: `rule`, `match`, or a filter marked `rule`.
    #[inline(always)]
    pub fn starts_rule(&self) -> bool {
        matches!(self.op, Opcode::Rule | Opcode::Match) || self.flags.contains(Flags::RULE)
    }

    /// The little-endian encoding of the instruction.
    pub fn encode(&self) -> [u8; INSN_SIZE] {
        let mut bytes = [0u8; INSN_SIZE];
        bytes[0] = self.op as u8;
        bytes[1] = self.flags.bits();
        bytes[2..4].copy_from_slice(&self.len.to_le_bytes());
        bytes[4..8].copy_from_slice(&self.a.to_le_bytes());
        bytes[8..12].copy_from_slice(&self.min.to_le_bytes());
        bytes[12..16].copy_from_slice(&self.target.to_le_bytes());
        bytes
    }

    /// Decodes one instruction; `None` for an unknown opcode or unknown flag bits.
    pub fn decode(bytes: [u8; INSN_SIZE]) -> Option<Insn> {
        let [
            op,
            flags,
            l0,
            l1,
            a0,
            a1,
            a2,
            a3,
            m0,
            m1,
            m2,
            m3,
            t0,
            t1,
            t2,
            t3,
        ] = bytes;
        Some(Insn {
            op: Opcode::from_u8(op)?,
            flags: Flags::from_bits(flags)?,
            len: u16::from_le_bytes([l0, l1]),
            a: u32::from_le_bytes([a0, a1, a2, a3]),
            min: u32::from_le_bytes([m0, m1, m2, m3]),
            target: u32::from_le_bytes([t0, t1, t2, t3]),
        })
    }
}

/// The size of one encoded stage, in bytes.
pub const STAGE_SIZE: usize = 12;

/// One filter of a `match` rule: the union of the tags `pool[start..start+len]` (the whole set
/// when `len` is 0), then at least `min` servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Stage {
    /// The first tag's index in the pool.
    pub start: u32,
    /// How many tags; 0 for a stage that only counts.
    pub len: u16,
    /// The least size of the running set; at least 1.
    pub min: u32,
}

impl Stage {
    /// The little-endian encoding: `start`, `len`, two zero bytes, `min`.
    pub fn encode(&self) -> [u8; STAGE_SIZE] {
        let mut bytes = [0u8; STAGE_SIZE];
        bytes[0..4].copy_from_slice(&self.start.to_le_bytes());
        bytes[4..6].copy_from_slice(&self.len.to_le_bytes());
        bytes[8..12].copy_from_slice(&self.min.to_le_bytes());
        bytes
    }

    /// Decodes one stage; `None` when its padding is not zero.
    pub fn decode(bytes: [u8; STAGE_SIZE]) -> Option<Stage> {
        let [s0, s1, s2, s3, l0, l1, p0, p1, m0, m1, m2, m3] = bytes;
        (p0 == 0 && p1 == 0).then(|| Stage {
            start: u32::from_le_bytes([s0, s1, s2, s3]),
            len: u16::from_le_bytes([l0, l1]),
            min: u32::from_le_bytes([m0, m1, m2, m3]),
        })
    }
}

/// Where an instruction came from in the policy text, when it was compiled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    /// The filter (or the `halt()` of a `ret.empty`, the rule of a `ret.cand`).
    pub filter: Option<Span>,
    /// The whole rule, on the instruction that starts it.
    pub rule: Option<Span>,
}

/// Where each instruction of a program came from: four `u32`s an instruction (`u32::MAX` for an
/// unknown span) while every offset fits, [`Origin`]s otherwise, or nothing at all when no
/// origin is known (a program read from bytes, or compiled only to see that it compiles). A
/// policy of a million rules keeps 16 bytes a rule here, not 48.
#[derive(Clone, Debug, Default)]
pub(crate) enum Origins {
    /// Every origin unknown.
    #[default]
    Unknown,
    Narrow(Vec<[u32; 4]>),
    Wide(Vec<Origin>),
}

impl Origins {
    const UNKNOWN: u32 = u32::MAX;

    /// A table to which origins are pushed.
    pub(crate) fn kept() -> Origins {
        Origins::Narrow(Vec::new())
    }

    /// Appends the origin of the next instruction (nothing, to a table of unknown origins).
    pub(crate) fn push(&mut self, origin: Origin) {
        match self {
            Origins::Unknown => {}
            Origins::Narrow(narrow) => match Self::narrow(origin) {
                Some(packed) => crate::grow::push(narrow, packed),
                None => {
                    let mut wide: Vec<Origin> = narrow.iter().map(|&o| Self::wide(o)).collect();
                    wide.push(origin);
                    *self = Origins::Wide(wide);
                }
            },
            Origins::Wide(wide) => wide.push(origin),
        }
    }

    /// The origin of instruction `at`, if it is known.
    fn get(&self, at: usize) -> Option<Origin> {
        match self {
            Origins::Unknown => None,
            Origins::Narrow(narrow) => narrow.get(at).map(|&o| Self::wide(o)),
            Origins::Wide(wide) => wide.get(at).copied(),
        }
    }

    /// Makes the table exactly `len` long, unknown origins added at the end, and no larger
    /// than it needs to be.
    pub(crate) fn fit(&mut self, len: usize) {
        match self {
            Origins::Unknown => {}
            Origins::Narrow(narrow) => {
                narrow.resize(len, [Self::UNKNOWN; 4]);
                narrow.shrink_to_fit();
            }
            Origins::Wide(wide) => {
                wide.resize(len, Origin::default());
                wide.shrink_to_fit();
            }
        }
    }

    fn narrow(origin: Origin) -> Option<[u32; 4]> {
        let span = |span: Option<Span>| match span {
            None => Some([Self::UNKNOWN; 2]),
            Some(span) => {
                let start = u32::try_from(span.start)
                    .ok()
                    .filter(|&s| s != Self::UNKNOWN)?;
                Some([start, u32::try_from(span.end).ok()?])
            }
        };
        let ([a, b], [c, d]) = (span(origin.filter)?, span(origin.rule)?);
        Some([a, b, c, d])
    }

    fn wide([a, b, c, d]: [u32; 4]) -> Origin {
        let span = |start: u32, end: u32| {
            (start != Self::UNKNOWN).then(|| Span::new(start as usize, end as usize))
        };
        Origin {
            filter: span(a, b),
            rule: span(c, d),
        }
    }
}

/// A verified program: it can only be made by [`verify`] (the compiler's output goes through it
/// too), so the VM may rely on every guarantee the verifier states.
///
/// Two programs are equal when they run the same: the source spans are left out, so a compiled
/// program equals the one [`Program::from_bytes`] reads back from its bytes.
#[derive(Clone, Debug)]
pub struct Program {
    insns: Box<[Insn]>,
    pool: Box<[TagId]>,
    stages: Box<[Stage]>,
    /// The interner whose ids the tag operands are.
    interner: u64,
    /// The tags the program names, held in that interner for as long as the program lives, so
    /// that their ids keep their names.
    _held: TagLease,
    /// One more than the highest tag id referenced, 0 if none: the VM compares it once per
    /// evaluation with the snapshot's tag count.
    tag_bound: usize,
    /// For each instruction, the source text it came from, when it was compiled.
    origins: Origins,
}

impl PartialEq for Program {
    fn eq(&self, other: &Program) -> bool {
        self.insns == other.insns
            && self.pool == other.pool
            && self.stages == other.stages
            && self.interner == other.interner
            && self.tag_bound == other.tag_bound
    }
}

impl Eq for Program {}

impl Program {
    /// The instructions.
    pub fn insns(&self) -> &[Insn] {
        &self.insns
    }

    /// The tag pool that `and.any` instructions and stages index.
    pub fn pool(&self) -> &[TagId] {
        &self.pool
    }

    /// The stage table that `match` instructions index.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// The instruction at `at`, if there is one.
    pub fn insn(&self, at: InsnIdx) -> Option<&Insn> {
        self.insns.get(at.index())
    }

    /// The source span of the filter instruction `at` was compiled from, if known.
    pub fn span(&self, at: InsnIdx) -> Option<Span> {
        self.origins.get(at.index()).and_then(|o| o.filter)
    }

    /// The source span of the rule that instruction `at` starts, if it starts one and is known.
    pub fn rule_span(&self, at: InsnIdx) -> Option<Span> {
        self.origins.get(at.index()).and_then(|o| o.rule)
    }

    /// One more than the highest tag id the program names, 0 if none.
    #[inline(always)]
    pub(crate) fn tag_bound(&self) -> usize {
        self.tag_bound
    }

    /// The instruction at `pc`, unchecked: the VM's fetch.
    ///
    /// # Safety
    /// `pc` is a program counter the verifier's proofs reach: [`InsnIdx::START`], a jump
    /// target of an instruction, or the successor of an instruction that does not return
    /// unconditionally. The verifier proved (`verify::check_first`, `verify::check_jump`,
    /// `verify::verify_with_origins`) that the program is not empty, that every jump target is
    /// below its length, and that its last instruction returns unconditionally, so each of
    /// those is in bounds.
    #[inline(always)]
    pub(crate) unsafe fn fetch(&self, pc: InsnIdx) -> &Insn {
        // SAFETY: by the contract above, `pc` is below `insns.len()`.
        unsafe { self.insns.get_unchecked(pc.index()) }
    }

    /// The tags of an `and.any` instruction, unchecked.
    ///
    /// # Safety
    /// `insn` is an `and.any` instruction of this program. The verifier proved
    /// (`verify::check`, `PoolOutOfRange`) that `a + len <= pool.len()` for every one.
    #[inline(always)]
    pub(crate) unsafe fn pool_tags(&self, insn: &Insn) -> &[TagId] {
        let start = insn.a as usize;
        // SAFETY: by the contract above, the range is inside the pool.
        unsafe { self.pool.get_unchecked(start..start + insn.len as usize) }
    }

    /// The stages of a `match` instruction, unchecked.
    ///
    /// # Safety
    /// `insn` is a `match` instruction of this program. The verifier proved
    /// (`verify::check`, `StageOutOfRange`) that `a + len <= stages.len()` for every one.
    #[inline(always)]
    pub(crate) unsafe fn match_stages(&self, insn: &Insn) -> &[Stage] {
        let start = insn.a as usize;
        // SAFETY: by the contract above, the range is inside the stage table.
        unsafe { self.stages.get_unchecked(start..start + insn.len as usize) }
    }

    /// The tags of a stage of this program, unchecked.
    ///
    /// # Safety
    /// `stage` is in this program's stage table. The verifier proved (`verify::check_stages`,
    /// `PoolOutOfRange`) that `start + len <= pool.len()` for every one.
    #[inline(always)]
    pub(crate) unsafe fn stage_tags(&self, stage: &Stage) -> &[TagId] {
        let start = stage.start as usize;
        // SAFETY: by the contract above, the range is inside the pool.
        unsafe { self.pool.get_unchecked(start..start + stage.len as usize) }
    }

    /// The identity of the tag interner the program's tag ids belong to.
    pub fn interner_identity(&self) -> u64 {
        self.interner
    }

    /// The program in its binary form: instruction count and pool length (`u32` each,
    /// little-endian), the instructions, the pool's tag ids (`u32` each), then the stages
    /// ([`STAGE_SIZE`] bytes each) up to the end: a program without `match` reads as it did
    /// before stages existed.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(
            8 + self.insns.len() * INSN_SIZE + self.pool.len() * 4 + self.stages.len() * STAGE_SIZE,
        );
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes();
        bytes.extend_from_slice(&count(self.insns.len()));
        bytes.extend_from_slice(&count(self.pool.len()));
        self.insns
            .iter()
            .for_each(|insn| bytes.extend_from_slice(&insn.encode()));
        self.pool
            .iter()
            .for_each(|tag| bytes.extend_from_slice(&tag.as_u32().to_le_bytes()));
        self.stages
            .iter()
            .for_each(|stage| bytes.extend_from_slice(&stage.encode()));
        bytes
    }
}

impl fmt::Display for Program {
    /// The disassembly with tag ids (see [`Program::disassemble`] for tag names).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in self.disassemble(None) {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_kept_narrow_until_an_offset_does_not_fit() {
        let span = |start, end| Some(Span::new(start, end));
        let narrow = [
            Origin {
                filter: span(0, 7),
                rule: span(0, 7),
            },
            Origin {
                filter: span(9, 15),
                rule: None,
            },
            Origin::default(),
        ];
        let mut origins = Origins::kept();
        narrow.iter().for_each(|&o| origins.push(o));
        assert!(matches!(origins, Origins::Narrow(_)));
        let wide = Origin {
            filter: span(1 << 33, (1 << 33) + 4),
            rule: span(u32::MAX as usize, u32::MAX as usize + 1),
        };
        origins.push(wide);
        assert!(matches!(origins, Origins::Wide(_)));
        origins.fit(5);
        let read: Vec<Option<Origin>> = (0..6).map(|at| origins.get(at)).collect();
        let mut expected: Vec<Option<Origin>> = narrow.iter().copied().map(Some).collect();
        expected.extend([Some(wide), Some(Origin::default()), None]);
        assert_eq!(read, expected);

        let mut unknown = Origins::Unknown;
        unknown.push(narrow[0]);
        unknown.fit(3);
        assert_eq!(unknown.get(0), None);
    }
}
