//! Arbitrary bytecode into the verifier: rejected, or safe to run.
//!
//! Byte 0 picks one of four fixed clusters (0, 5, 64 and 1,100 servers, the last two 64-byte
//! lines and a tail of words for the vector kernels; tags `t0`..`t3`, and a
//! tag `late` interned after the snapshot was built) and whether the rest is the binary form
//! as is, or a recipe that makes acceptance likely: byte 1 the instruction count, byte 2 the
//! pool length, byte 3 the stage count, then six small operands per instruction (opcode, flags,
//! length, operand, `min`, target), one per pool entry and three per stage (start, length,
//! `min`), encoded with the header `Program::to_bytes` writes. Whatever `Program::from_bytes` accepts runs on the
//! VM without panicking, on the available servers and on a subset, and returns a subset of the
//! candidates: exactly what a plain interpretation of the instructions over sets returns.
//! Every 2^20 inputs it prints how many were accepted.

#![no_main]

use std::collections::BTreeSet;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use libfuzzer_sys::fuzz_target;
use tagroute::bytecode::{Flags, INSN_SIZE, Opcode, Program, Stage};
use tagroute::topology::{
    ServerIdx, ServerSet, ServerSpec, Snapshot, TagId, TagInterner, TopologySpec,
};
use tagroute::vm;

/// A snapshot, and each interned tag's servers as plain sets.
struct Fixture {
    snapshot: Snapshot,
    rows: Vec<BTreeSet<usize>>,
}

fn fixture(servers: usize) -> Fixture {
    let interner = TagInterner::new();
    let tags = ["t0", "t1", "t2", "t3"];
    let spec = TopologySpec {
        servers: (0..servers)
            .map(|i| {
                let carried = (0..4).filter(|t| (i * 7 + t * 3) % (t + 2) == 0);
                ServerSpec::new(format!("s{i}"), format!("s{i}:7687"))
                    .with_tags(carried.map(|t| tags[t]))
                    .with_available(i % 9 != 4)
            })
            .collect(),
        databases: vec![],
    };
    for tag in tags {
        interner.intern(tag).expect("room");
    }
    let snapshot = Snapshot::build(&spec, &interner).expect("a valid cluster");
    interner.intern("late").expect("room");
    let rows = (0..interner.len())
        .map(|t| {
            let name = TagId::new(t).and_then(|t| interner.name(t));
            let carries = |s: &ServerSpec| {
                name.as_deref()
                    .is_some_and(|n| s.tags.iter().any(|x| x == n))
            };
            spec.servers
                .iter()
                .enumerate()
                .filter(|(_, s)| carries(s))
                .map(|(i, _)| i)
                .collect()
        })
        .collect();
    Fixture { snapshot, rows }
}

static FIXTURES: LazyLock<[Fixture; 4]> =
    LazyLock::new(|| [fixture(0), fixture(5), fixture(64), fixture(1100)]);
static INPUTS: AtomicU64 = AtomicU64::new(0);
static ACCEPTED: AtomicU64 = AtomicU64::new(0);

/// The binary form of the program the recipe describes, and the bytes left over.
fn assemble(recipe: &[u8]) -> (Vec<u8>, &[u8]) {
    let mut bytes = recipe.iter().copied();
    let mut next = || bytes.next().unwrap_or(0);
    let count = 1 + usize::from(next() % 12);
    let pool_len = usize::from(next() % 6);
    let stage_count = usize::from(next() % 5);
    let mut out = Vec::new();
    out.extend_from_slice(&(count as u32).to_le_bytes());
    out.extend_from_slice(&(pool_len as u32).to_le_bytes());
    for _ in 0..count {
        let mut insn = [0u8; INSN_SIZE];
        insn[0] = next() % 9;
        insn[1] = next() % 4;
        insn[2] = next() % 3;
        insn[4] = next() % 7;
        insn[8] = next() % 4;
        insn[12] = next() % (count as u8 + 2);
        out.extend_from_slice(&insn);
    }
    for _ in 0..pool_len {
        out.extend_from_slice(&u32::from(next() % 7).to_le_bytes());
    }
    for _ in 0..stage_count {
        let stage = Stage {
            start: u32::from(next() % 7),
            len: u16::from(next() % 4),
            min: u32::from(next() % 4),
        };
        out.extend_from_slice(&stage.encode());
    }
    let used = (3 + count * 6 + pool_len + stage_count * 3).min(recipe.len());
    (out, &recipe[used..])
}

/// The instructions' meaning over plain sets, read straight from the module documentation.
fn interpret(
    program: &Program,
    rows: &[BTreeSet<usize>],
    cand: &BTreeSet<usize>,
) -> BTreeSet<usize> {
    let row = |t: u32| rows.get(t as usize).cloned().unwrap_or_default();
    let union = |start: u32, len: usize| -> BTreeSet<usize> {
        let tags = &program.pool()[start as usize..][..len];
        tags.iter().flat_map(|t| row(t.as_u32())).collect()
    };
    let mut acc = BTreeSet::new();
    let mut pc = 0;
    loop {
        let insn = program.insns()[pc];
        if insn.flags.contains(Flags::RULE) {
            acc = cand.clone();
        }
        let keep = match insn.op {
            Opcode::Rule => Some(cand.clone()),
            Opcode::And => Some(&acc & &row(insn.a)),
            Opcode::AndAny => Some(&acc & &union(insn.a, usize::from(insn.len))),
            Opcode::Match => {
                let stages = &program.stages()[insn.a as usize..][..usize::from(insn.len)];
                let mut passes = true;
                acc = cand.clone();
                for stage in stages {
                    if stage.len > 0 {
                        acc = &acc & &union(stage.start, usize::from(stage.len));
                    }
                    passes &= acc.len() >= stage.min as usize;
                }
                if passes {
                    return acc;
                }
                pc = insn.target as usize;
                continue;
            }
            Opcode::Min => None,
            Opcode::Ret if !acc.is_empty() => return acc,
            Opcode::Ret => None,
            Opcode::RetCand => return cand.clone(),
            Opcode::RetEmpty => return BTreeSet::new(),
        };
        if let Some(set) = keep {
            acc = set;
        }
        let filter = matches!(insn.op, Opcode::And | Opcode::AndAny | Opcode::Min);
        pc = if filter && acc.len() < insn.min as usize {
            insn.target as usize
        } else if filter && insn.flags.contains(Flags::RET) {
            return acc;
        } else {
            pc + 1
        };
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&flags, rest)) = input.split_first() else {
        return;
    };
    let fixture = &FIXTURES[usize::from(flags % 4)];
    let snapshot = &fixture.snapshot;
    let (bytes, extra) = if flags & 4 != 0 {
        (rest.to_vec(), rest)
    } else {
        assemble(rest)
    };
    let inputs = INPUTS.fetch_add(1, Ordering::Relaxed) + 1;
    if inputs.is_multiple_of(1 << 20) {
        eprintln!(
            "verify: {} of {inputs} inputs accepted",
            ACCEPTED.load(Ordering::Relaxed)
        );
    }
    let Ok(program) = Program::from_bytes(&bytes, snapshot.interner()) else {
        return;
    };
    ACCEPTED.fetch_add(1, Ordering::Relaxed);

    let picked =
        (0..snapshot.len()).filter(|i| extra.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0));
    let picked = ServerSet::from_indices(snapshot.len(), picked.filter_map(ServerIdx::new));
    let mut out = ServerSet::full(snapshot.len() + 200);
    for candidates in [snapshot.available().clone(), picked] {
        vm::eval(&program, snapshot, &candidates, &mut out).expect("same interner and universe");
        let got: BTreeSet<usize> = out.iter().map(ServerIdx::index).collect();
        let cand: BTreeSet<usize> = candidates.iter().map(ServerIdx::index).collect();
        assert!(
            got.is_subset(&cand),
            "{program} returned {got:?} from {cand:?}"
        );
        assert_eq!(got, interpret(&program, &fixture.rows, &cand), "{program}");
    }
});
