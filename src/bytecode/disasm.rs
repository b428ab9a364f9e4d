//! The disassembler: a program as structured lines first, text second.
//!
//! ```text
//! 0000  match         north1, north2  min 2  else 0001
//! 0001  match         north -> ssd, gpu  min 3  else 0002
//! 0002  match         all  min 3 -> south  else 0003
//! 0003  ret.empty
//! ```
//!
//! A `match` prints its stages joined by `->`, as the rule's filters were written; a stage that
//! names no tag (a leading `min(n)`) prints as `all`.

use std::fmt;

use super::{Flags, InsnIdx, Opcode, Program};
use crate::span::Span;
use crate::topology::{TagId, TagInterner};

/// One instruction, its operands spelled out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisasmLine {
    /// The instruction's index.
    pub at: InsnIdx,
    /// Its opcode.
    pub op: Opcode,
    /// Whether a filter starts its rule (`acc ← candidates` first).
    pub rule: bool,
    /// Whether a filter ends its rule (returns when it passes).
    pub ret: bool,
    /// What it intersects with and the threshold of each step: one stage for a filter, a
    /// `match`'s stages in order, none for other instructions.
    pub stages: Vec<DisasmStage>,
    /// Where it jumps when the accumulator is too small.
    pub target: Option<u32>,
    /// The source text it was compiled from, if known.
    pub span: Option<Span>,
}

/// One filter of a disassembled instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisasmStage {
    /// The tags it intersects with, by name when an interner was given, else `#id`; empty for
    /// a stage that only counts.
    pub tags: Vec<String>,
    /// The least size to go on with, when it is more than "not empty" (always for `min`).
    pub min: Option<u32>,
}

impl Program {
    /// The program, one line per instruction; tag names come from `interner` when given.
    pub fn disassemble(&self, interner: Option<&TagInterner>) -> Vec<DisasmLine> {
        let name = |tag: TagId| {
            interner
                .and_then(|i| i.name(tag))
                .map_or_else(|| tag.to_string(), |n| n.to_string())
        };
        let pooled = |start: u32, len: u16| -> Vec<String> {
            let range = start as usize..start as usize + len as usize;
            self.pool
                .get(range)
                .unwrap_or_default()
                .iter()
                .map(|&t| name(t))
                .collect()
        };
        let threshold = |min: u32| (min > 1).then_some(min);
        self.insns
            .iter()
            .enumerate()
            .map(|(at, insn)| {
                let at = InsnIdx::new(at);
                let stages = match insn.op {
                    Opcode::And => vec![DisasmStage {
                        tags: TagId::new(insn.a as usize).map(name).into_iter().collect(),
                        min: threshold(insn.min),
                    }],
                    Opcode::AndAny => vec![DisasmStage {
                        tags: pooled(insn.a, insn.len),
                        min: threshold(insn.min),
                    }],
                    Opcode::Min => vec![DisasmStage {
                        tags: Vec::new(),
                        min: Some(insn.min),
                    }],
                    Opcode::Match => {
                        let range = insn.a as usize..insn.a as usize + insn.len as usize;
                        self.stages
                            .get(range)
                            .unwrap_or_default()
                            .iter()
                            .map(|s| DisasmStage {
                                tags: pooled(s.start, s.len),
                                min: threshold(s.min),
                            })
                            .collect()
                    }
                    Opcode::Rule | Opcode::Ret | Opcode::RetCand | Opcode::RetEmpty => Vec::new(),
                };
                let filter = insn.op.is_filter();
                DisasmLine {
                    at,
                    op: insn.op,
                    rule: filter && insn.flags.contains(Flags::RULE),
                    ret: filter && insn.flags.contains(Flags::RET),
                    stages,
                    target: insn.op.jumps().then_some(insn.target),
                    span: self.span(at),
                }
            })
            .collect()
    }
}

impl fmt::Display for DisasmStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.tags.is_empty(), self.min) {
            (false, Some(min)) => write!(f, "{}  min {min}", self.tags.join(", ")),
            (false, None) => f.write_str(&self.tags.join(", ")),
            (true, Some(min)) => write!(f, "all  min {min}"),
            (true, None) => f.write_str("all"),
        }
    }
}

impl fmt::Display for DisasmLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mnemonic = if self.rule {
            format!("rule {}", self.op.mnemonic())
        } else {
            self.op.mnemonic().into()
        };
        let mut text = format!("{:04}  {mnemonic:<13}", self.at);
        let stages: Vec<String> = self.stages.iter().map(ToString::to_string).collect();
        match (self.op, stages.as_slice()) {
            // `min`'s one stage has no tags: its threshold alone, not `all`.
            (Opcode::Min, _) => text.push_str(&format!(
                "  min {}",
                self.stages.first().and_then(|s| s.min).unwrap_or(0)
            )),
            (_, []) => {}
            _ => text.push_str(&format!(" {}", stages.join(" -> "))),
        }
        if self.ret {
            text.push_str("  ret");
        }
        if let Some(target) = self.target {
            text.push_str(&format!("  else {target:04}"));
        }
        f.write_str(text.trim_end())
    }
}
