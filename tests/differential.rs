//! Property tests: the fast path (tokenising parser, compiler, verifier, VM) against the
//! reference interpreter (Neo4j's split-based parser, set evaluation) on random input.

use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use tagroute::compile::compile;
use tagroute::topology::{ServerIdx, ServerSet, ServerSpec, Snapshot, TagInterner, TopologySpec};
use tagroute::{Strictness, reference, syntax, vm};

use crate::util::{reference_rules_json, rules_json};

/// Tags of the random topologies; policies also name `ghost`, which no server carries.
const TAGS: [&str; 6] = ["north", "north1", "north2", "south", "x-y", "_7"];

/// A cluster of `n` servers; each carries each tag with probability 1/3 and is available with
/// probability 7/8.
fn topology(sizes: impl Strategy<Value = usize>) -> impl Strategy<Value = TopologySpec> {
    sizes
        .prop_flat_map(|n| prop::collection::vec((any::<u8>(), 0..8u8), n))
        .prop_map(|servers| TopologySpec {
            servers: servers
                .into_iter()
                .enumerate()
                .map(|(i, (tags, up))| {
                    let tags = TAGS
                        .iter()
                        .enumerate()
                        .filter(|(t, _)| (tags >> t) % 3 == 0)
                        .map(|(_, t)| *t);
                    ServerSpec::new(format!("s{i}"), format!("s{i}.example:7687"))
                        .with_tags(tags)
                        .with_available(up != 0)
                })
                .collect(),
            databases: vec![],
        })
}

/// A random valid policy text, in one of several spellings.
fn policy_text() -> impl Strategy<Value = String> {
    policy_text_of(0..4, 1..4, true)
}

/// [`policy_text`] with `filters` filters a rule and `tags` tags a filter, naming `ghost`
/// (which no server carries, so the snapshot predates it) only when `ghost`.
fn policy_text_of(
    filters: std::ops::Range<usize>,
    tags: std::ops::Range<usize>,
    ghost: bool,
) -> impl Strategy<Value = String> {
    let names = ["north", "north1", "north2", "south", "x-y", "_7", "ghost"];
    let tag = prop::sample::select(names[..names.len() - usize::from(!ghost)].to_vec());
    let filter = prop_oneof![
        3 => (prop::collection::vec(tag, tags), any::<bool>())
            .prop_map(|(tags, groups)| format!("{}({})", if groups { "groups" } else { "tags" }, tags.join(","))),
        1 => prop_oneof![-2..7i32, Just(i32::MIN), Just(i32::MAX)].prop_map(|n| format!("min({n})")),
    ];
    let rule =
        (any::<bool>(), prop::collection::vec(filter, filters)).prop_map(|(all, filters)| {
            let mut parts = filters;
            if all || parts.is_empty() {
                parts.insert(0, "all()".into());
            }
            parts.join("->")
        });
    (
        prop::collection::vec(rule, 0..5),
        any::<bool>(),
        0..3usize,
        0..3usize,
    )
        .prop_map(|(mut rules, halt, style, trailing)| {
            if halt || rules.is_empty() {
                rules.push("halt()".into());
            }
            let separator = ["; ", ";", " ;\t"][style];
            let text = rules
                .join(separator)
                .replace("->", ["->", " -> ", "->\n"][style]);
            text + &";".repeat(trailing)
        })
}

/// Parses with both parsers and checks they read the same rules; returns both.
fn parse_both(text: &str) -> (syntax::Policy, reference::Policy) {
    let ours = syntax::parse(text, Strictness::Default).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    let oracle =
        reference::parse(text, Strictness::Default).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    let normal = ours.normalize();
    assert_eq!(
        (rules_json(&normal), normal.halts),
        (reference_rules_json(&oracle), oracle.halts),
        "{text:?}"
    );
    (ours, oracle)
}

/// VM and reference on the available servers and on an arbitrary candidate set.
fn check_agreement(text: &str, spec: &TopologySpec, pick: &[bool]) {
    let (ours, oracle) = parse_both(text);
    let snapshot = Snapshot::build(spec, &TagInterner::new()).expect("valid topology");
    let program = compile(&ours, snapshot.interner()).expect("compiles");
    let chosen = ServerSet::from_indices(
        snapshot.len(),
        pick.iter()
            .enumerate()
            .filter(|(_, on)| **on)
            .filter_map(|(i, _)| ServerIdx::new(i)),
    );
    let mut out = ServerSet::default();
    for candidates in [snapshot.available().clone(), chosen] {
        vm::eval(&program, &snapshot, &candidates, &mut out).expect("evaluates");
        let names: BTreeSet<String> = snapshot
            .names(&candidates)
            .into_iter()
            .map(str::to_owned)
            .collect();
        let expected = reference::evaluate_on(&oracle, spec, &names);
        let got: BTreeSet<String> = snapshot
            .names(&out)
            .into_iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(got, expected, "{text:?} on {} servers", spec.servers.len());
    }
}

fn runner(cases: u32) -> TestRunner {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]))
}

#[test]
fn vm_equals_reference_on_small_and_word_boundary_clusters() {
    let sizes = prop_oneof![
        1..=130usize,
        prop::sample::select(vec![63, 64, 65, 127, 128, 129])
    ];
    let input = (
        policy_text(),
        topology(sizes),
        prop::collection::vec(any::<bool>(), 130),
    );
    runner(10_000)
        .run(&input, |(text, spec, pick)| {
            check_agreement(&text, &spec, &pick);
            Ok(())
        })
        .expect("VM and reference agree");
}

/// Rules of up to 14 filters of up to 6 tags: `match`es the one-pass chain kernel holds (up
/// to 8 stages, 16 rows) and longer ones, which run stage by stage.
#[test]
fn vm_equals_reference_on_long_chains() {
    let sizes = prop_oneof![
        1..=70usize,
        prop::sample::select(vec![127, 128, 129, 520, 1000])
    ];
    let input = (
        policy_text_of(4..14, 1..7, false),
        topology(sizes),
        prop::collection::vec(any::<bool>(), 1000),
    );
    runner(1_500)
        .run(&input, |(text, spec, pick)| {
            check_agreement(&text, &spec, &pick);
            Ok(())
        })
        .expect("VM and reference agree");
}

#[test]
fn vm_equals_reference_on_large_clusters() {
    let sizes = prop::sample::select(vec![1000, 4095, 4097, 10_000]);
    let input = (
        policy_text(),
        topology(sizes),
        prop::collection::vec(any::<bool>(), 10_000),
    );
    runner(48)
        .run(&input, |(text, spec, pick)| {
            check_agreement(&text, &spec, &pick);
            Ok(())
        })
        .expect("VM and reference agree");
}

/// Texts made of the language's pieces, glued at random: mostly invalid, and exactly where the
/// two parsers could disagree.
fn token_soup() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "tags",
        "groups",
        "min",
        "all",
        "halt",
        "TAGS",
        "ta-gs",
        "(",
        ")",
        ",",
        ";",
        "->",
        "-",
        ">",
        " ",
        "\t",
        "\n",
        "\u{1}",
        "a",
        "b-",
        "1",
        "-1",
        "007",
        "2147483648",
        "x%",
        "é",
        "\u{a0}",
        "((",
        "()",
        "(a)",
        "tags(a)",
        "min(2)",
        "all()",
        "halt()",
        "->->",
        "-> ->",
        "; ;",
    ]);
    prop::collection::vec(piece, 0..14).prop_map(|pieces| pieces.concat())
}

#[test]
fn the_parser_accepts_exactly_what_the_reference_accepts_in_both_modes() {
    runner(20_000)
        .run(&token_soup(), |text| {
            for strictness in [Strictness::Strict, Strictness::Default] {
                let ours = syntax::parse(&text, strictness).map(|p| p.normalize());
                let oracle = reference::parse(&text, strictness);
                let ours = ours.ok().map(|n| (rules_json(&n), n.halts));
                let oracle = oracle.ok().map(|p| (reference_rules_json(&p), p.halts));
                prop_assert_eq!(ours, oracle, "{:?} in {:?}", text, strictness);
            }
            Ok(())
        })
        .expect("the parsers agree");
}

#[test]
fn default_mode_accepts_more_only_with_a_neo4j_compat_warning() {
    runner(5_000)
        .run(&token_soup(), |text| {
            let strict = syntax::parse(&text, Strictness::Strict);
            if let Ok(policy) = syntax::parse(&text, Strictness::Default) {
                let warned = syntax::lint(&policy)
                    .iter()
                    .any(|l| l.kind == syntax::LintKind::Neo4jCompat);
                prop_assert_eq!(strict.is_err(), warned, "{:?}", text);
                if let Ok(strict) = strict {
                    prop_assert_eq!(strict.normalize(), policy.normalize());
                }
            } else {
                prop_assert!(strict.is_err());
            }
            Ok(())
        })
        .expect("default mode is strict mode plus warned leniencies");
}

#[test]
fn the_printer_round_trips_to_the_same_rules_and_bytecode() {
    runner(5_000)
        .run(&prop_oneof![policy_text(), token_soup()], |text| {
            let Ok(policy) = syntax::parse(&text, Strictness::Default) else {
                return Ok(());
            };
            let printed = policy.to_string();
            let reparsed = syntax::parse(&printed, Strictness::Strict)
                .expect("the canonical form is strict Neo4j");
            prop_assert_eq!(
                reparsed.normalize(),
                policy.normalize(),
                "{:?} printed as {:?}",
                text,
                printed
            );
            let interner = TagInterner::new();
            let (a, b) = (
                compile(&policy, &interner).expect("compiles"),
                compile(&reparsed, &interner).expect("compiles"),
            );
            prop_assert_eq!(a.insns(), b.insns());
            prop_assert_eq!(a.pool(), b.pool());
            Ok(())
        })
        .expect("print(parse(x)) reads back the same");
}

/// One way to break a verified program, applied at instruction `at` (modulo the length).
#[derive(Clone, Copy, Debug)]
enum Corruption {
    JumpBackward,
    JumpPastTheEnd,
    TagNeverInterned,
    PoolPastTheEnd,
    StagesPastTheEnd,
    ZeroMin,
    DropTheFinalReturn,
    FlagsOnAReturn,
    UnknownOpcodeByte,
}

fn corrupt(
    program: &tagroute::bytecode::Program,
    how: Corruption,
    at: usize,
    tags: usize,
) -> Option<Vec<u8>> {
    use tagroute::bytecode::{INSN_SIZE, Opcode, STAGE_SIZE};
    let insns = program.insns();
    let jumps: Vec<usize> = (0..insns.len()).filter(|&i| insns[i].op.jumps()).collect();
    let jump = jumps.get(at % jumps.len().max(1)).copied();
    let mut bytes = program.to_bytes();
    let field = |i: usize, offset: usize| 8 + i * INSN_SIZE + offset;
    let pool_at = |i: usize| 8 + insns.len() * INSN_SIZE + i * 4;
    let stage_at =
        |i: usize, offset: usize| pool_at(program.pool().len()) + i * STAGE_SIZE + offset;
    let write = |bytes: &mut Vec<u8>, at: usize, value: u32| {
        bytes[at..at + 4].copy_from_slice(&value.to_le_bytes())
    };
    // A stage of `match` `i` that names tags.
    let tagged_stage = |i: usize| {
        let insn = insns[i];
        (insn.a as usize..insn.a as usize + usize::from(insn.len))
            .find(|&s| program.stages()[s].len > 0)
    };
    match how {
        Corruption::JumpBackward => {
            let i = jump?;
            write(&mut bytes, field(i, 12), i as u32);
        }
        Corruption::JumpPastTheEnd => write(&mut bytes, field(jump?, 12), insns.len() as u32),
        Corruption::TagNeverInterned => {
            if program.pool().is_empty() {
                let i = jumps
                    .iter()
                    .copied()
                    .find(|&i| insns[i].op == Opcode::And)?;
                write(&mut bytes, field(i, 4), tags as u32);
            } else {
                write(&mut bytes, pool_at(at % program.pool().len()), tags as u32);
            }
        }
        Corruption::PoolPastTheEnd => {
            let i = jump.filter(|&i| insns[i].op == Opcode::Match)?;
            let stage = tagged_stage(i)?;
            write(&mut bytes, stage_at(stage, 0), program.pool().len() as u32);
        }
        Corruption::StagesPastTheEnd => {
            let i = jump.filter(|&i| insns[i].op == Opcode::Match)?;
            write(&mut bytes, field(i, 4), program.stages().len() as u32);
        }
        Corruption::ZeroMin => match program.stages().len() {
            0 => write(&mut bytes, field(jump?, 8), 0),
            n => write(&mut bytes, stage_at(at % n, 8), 0),
        },
        Corruption::DropTheFinalReturn => {
            let last = insns.len() - 1;
            bytes[field(last, 0)] = Opcode::Ret as u8;
        }
        Corruption::FlagsOnAReturn => {
            let last = insns.len() - 1;
            bytes[field(last, 1)] = 2;
        }
        Corruption::UnknownOpcodeByte => bytes[field(at % insns.len(), 0)] = 0x7f,
    }
    Some(bytes)
}

#[test]
fn the_verifier_rejects_every_corrupted_program() {
    use tagroute::bytecode::Program;
    let corruption = prop::sample::select(vec![
        Corruption::JumpBackward,
        Corruption::JumpPastTheEnd,
        Corruption::TagNeverInterned,
        Corruption::PoolPastTheEnd,
        Corruption::StagesPastTheEnd,
        Corruption::ZeroMin,
        Corruption::DropTheFinalReturn,
        Corruption::FlagsOnAReturn,
        Corruption::UnknownOpcodeByte,
    ]);
    let applied = std::cell::Cell::new(0u32);
    runner(3_000)
        .run(
            &(policy_text(), corruption, 0..64usize),
            |(text, how, at)| {
                let interner = TagInterner::new();
                let policy = syntax::parse(&text, Strictness::Default).expect("valid");
                let program = compile(&policy, &interner).expect("every compiled program verifies");
                let reloaded = Program::from_bytes(&program.to_bytes(), &interner);
                prop_assert_eq!(reloaded.as_ref(), Ok(&program));
                if let Some(bytes) = corrupt(&program, how, at, interner.id_bound()) {
                    applied.set(applied.get() + 1);
                    prop_assert!(
                        Program::from_bytes(&bytes, &interner).is_err(),
                        "{:?} of {:?} verified",
                        how,
                        text
                    );
                }
                Ok(())
            },
        )
        .expect("corrupted programs are rejected");
    assert!(
        applied.get() > 1_500,
        "only {} corruptions applied",
        applied.get()
    );
}
