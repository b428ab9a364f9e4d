//! The disassembler: a program as structured lines first, text second.
//!
//! ```text
//! 0000  rule and.any  north1, north2  min 2  ret  else 0001
//! 0001  rule and      north  ret  else 0002
//! 0002  ret.empty
//! ```

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
    /// The tags it intersects with: names when an interner was given, else `#id`.
    pub tags: Vec<String>,
    /// The least size to go on with, when it is more than "not empty".
    pub min: Option<u32>,
    /// Where it jumps when the accumulator is too small.
    pub target: Option<u32>,
    /// The source text it was compiled from, if known.
    pub span: Option<Span>,
}

impl Program {
    /// The program, one line per instruction; tag names come from `interner` when given.
    pub fn disassemble(&self, interner: Option<&TagInterner>) -> Vec<DisasmLine> {
        let name = |tag: TagId| {
            interner
                .and_then(|i| i.name(tag))
                .map_or_else(|| tag.to_string(), |n| n.to_string())
        };
        self.insns
            .iter()
            .enumerate()
            .map(|(at, insn)| {
                let at = InsnIdx::new(at);
                let tags = match insn.op {
                    Opcode::And => TagId::new(insn.a as usize).map(name).into_iter().collect(),
                    Opcode::AndAny => {
                        let range = insn.a as usize..insn.a as usize + insn.len as usize;
                        self.pool
                            .get(range)
                            .unwrap_or_default()
                            .iter()
                            .map(|&t| name(t))
                            .collect()
                    }
                    _ => Vec::new(),
                };
                let filter = insn.op.is_filter();
                DisasmLine {
                    at,
                    op: insn.op,
                    rule: filter && insn.flags.contains(Flags::RULE),
                    ret: filter && insn.flags.contains(Flags::RET),
                    tags,
                    min: (insn.op == Opcode::Min || (filter && insn.min > 1)).then_some(insn.min),
                    target: filter.then_some(insn.target),
                    span: self.span(at),
                }
            })
            .collect()
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
        if !self.tags.is_empty() {
            text.push_str(&format!(" {}", self.tags.join(", ")));
        }
        if let Some(min) = self.min {
            text.push_str(&format!("  min {min}"));
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
