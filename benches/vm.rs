//! Evaluation: the ideal loop, the VM and the reference interpreter in one group per cluster
//! size (DESIGN section 11), then the VM on the seed's documented policies.

use std::collections::{BTreeMap, BTreeSet};
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use tagroute::bench_support::{IdealRows, POLICY, SIZES, ideal_eval, topology, words};
use tagroute::compile::compile;
use tagroute::topology::{ServerSet, Snapshot, TagInterner};
use tagroute::{Strictness, reference, syntax, vm};

/// The Neo4j documentation's policies, as the seed lists them.
const SEED_POLICIES: [&str; 4] = [
    "tags(north2); tags(north); halt()",
    "tags(north1)->min(2); halt();",
    "tags(north2)->min(3); tags(north)->min(3); all();",
    "groups(north1,north2)->min(2); groups(north); halt()",
];

fn evaluation(c: &mut Criterion) {
    for servers in SIZES {
        let spec = topology(servers);
        let snapshot = Snapshot::build(&spec, &TagInterner::new()).expect("valid workload");
        let candidates = snapshot.all();
        let row = |tag: &str| snapshot.tagged_by_name(tag).words().to_vec();
        let rows = IdealRows {
            north1: row("north1"),
            north2: row("north2"),
            north: row("north"),
        };
        let program = compile(
            &syntax::parse(POLICY, Strictness::Strict).expect("valid"),
            snapshot.interner(),
        )
        .expect("compiles");
        let oracle = reference::parse(POLICY, Strictness::Strict).expect("valid");
        let tags_of: BTreeMap<String, BTreeSet<String>> = spec
            .servers
            .iter()
            .map(|s| (s.name.clone(), s.tags.iter().cloned().collect()))
            .collect();
        let names = reference::available(&spec);

        let mut group = c.benchmark_group(format!("eval/{servers}"));
        let mut ideal_out = vec![0u64; words(servers)];
        group.bench_function("ideal", |b| {
            b.iter(|| {
                ideal_eval(
                    black_box(&rows),
                    black_box(candidates.words()),
                    &mut ideal_out,
                )
            })
        });
        let mut out = ServerSet::empty(servers);
        group.bench_function("vm", |b| {
            b.iter(|| {
                // Checked like a caller would (and like `tagroute bench`), not kept whole.
                vm::eval(
                    black_box(&program),
                    black_box(&snapshot),
                    black_box(&candidates),
                    &mut out,
                )
                .is_ok()
            })
        });
        group.bench_function("reference", |b| {
            b.iter(|| {
                reference::evaluate(black_box(&oracle), black_box(&tags_of), black_box(&names))
            })
        });
        group.finish();
    }
}

fn seed_policies(c: &mut Criterion) {
    let snapshot = Snapshot::build(&topology(1024), &TagInterner::new()).expect("valid workload");
    let candidates = snapshot.all();
    let mut out = ServerSet::empty(snapshot.len());
    let mut group = c.benchmark_group("seed-policies/1024");
    for text in SEED_POLICIES {
        let program = compile(
            &syntax::parse(text, Strictness::Default).expect("valid"),
            snapshot.interner(),
        )
        .expect("compiles");
        group.bench_with_input(BenchmarkId::from_parameter(text), &program, |b, program| {
            b.iter(|| {
                vm::eval(
                    black_box(program),
                    &snapshot,
                    black_box(&candidates),
                    &mut out,
                )
                .is_ok()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, evaluation, seed_policies);
criterion_main!(benches);
