//! Evaluation, one group per cluster size (DESIGN section 11): the VM against every ideal
//! kernel this CPU runs (`ideal-avx512`, `ideal-avx2`, `ideal-scalar`, each with its one-word
//! path; the fastest is the yardstick), the same policy written with `fixedbitset` and with
//! `roaring` (what a Rust user would write instead of tagroute), and the reference interpreter;
//! then the VM on the seed's documented policies and on a chain. The CPU and the features the
//! kernels use are printed first.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark fails loudly on what it did not expect"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use fixedbitset::FixedBitSet;
use roaring::RoaringBitmap;
use tagroute::bench_support::{Ideal, IdealKernel, POLICY, SIZES, topology};
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

/// Rules of several filters: one `match` each, a one-pass chain.
const CHAINS: [&str; 2] = [
    "tags(north)->tags(ssd,gpu,blue)->min(3); halt()",
    "min(5)->tags(north1)->tags(ssd,hdd)->min(2); tags(south)",
];

/// The workload's policy over `fixedbitset`, as its documentation suggests writing it.
struct FixedBitSetPeer {
    north1: FixedBitSet,
    north2: FixedBitSet,
    north: FixedBitSet,
    candidates: FixedBitSet,
    out: FixedBitSet,
}

impl FixedBitSetPeer {
    fn new(snapshot: &Snapshot, candidates: &ServerSet) -> FixedBitSetPeer {
        let set = |servers: &ServerSet| {
            let mut set = FixedBitSet::with_capacity(snapshot.len());
            set.extend(servers.iter().map(|i| i.index()));
            set
        };
        FixedBitSetPeer {
            north1: set(&snapshot.tagged_by_name("north1")),
            north2: set(&snapshot.tagged_by_name("north2")),
            north: set(&snapshot.tagged_by_name("north")),
            candidates: set(candidates),
            out: FixedBitSet::with_capacity(snapshot.len()),
        }
    }

    fn eval(&mut self) -> usize {
        self.out.clone_from(&self.north1);
        self.out.union_with(&self.north2);
        self.out.intersect_with(&self.candidates);
        let count = self.out.count_ones(..);
        if count >= 2 {
            return count;
        }
        self.out.clone_from(&self.north);
        self.out.intersect_with(&self.candidates);
        self.out.count_ones(..)
    }
}

/// The workload's policy over `roaring`, with its set operators.
struct RoaringPeer {
    north1: RoaringBitmap,
    north2: RoaringBitmap,
    north: RoaringBitmap,
    candidates: RoaringBitmap,
}

impl RoaringPeer {
    fn new(snapshot: &Snapshot, candidates: &ServerSet) -> RoaringPeer {
        let set = |servers: &ServerSet| servers.iter().map(|i| i.index() as u32).collect();
        RoaringPeer {
            north1: set(&snapshot.tagged_by_name("north1")),
            north2: set(&snapshot.tagged_by_name("north2")),
            north: set(&snapshot.tagged_by_name("north")),
            candidates: set(candidates),
        }
    }

    fn eval(&self) -> RoaringBitmap {
        let selected = &(&self.north1 | &self.north2) & &self.candidates;
        if selected.len() >= 2 {
            return selected;
        }
        &self.north & &self.candidates
    }
}

fn evaluation(c: &mut Criterion) {
    eprintln!("{}", tagroute::bench_support::cpu_line());
    for servers in SIZES {
        let spec = topology(servers);
        let snapshot = Snapshot::build(&spec, &TagInterner::new()).expect("valid workload");
        let candidates = snapshot.all();
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
        for kernel in IdealKernel::available() {
            let mut ideal = Ideal::new(&snapshot, &candidates, kernel);
            group.bench_function(format!("ideal-{}", kernel.name()), |b| {
                b.iter(|| black_box(&mut ideal).eval())
            });
        }
        let mut out = ServerSet::empty(servers);
        // Evaluated once here, so the peers are checked against it even when a filter skips
        // the "vm" function below.
        vm::eval(&program, &snapshot, &candidates, &mut out).expect("evaluates");
        let expected = out.len();
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
        let mut fixed = FixedBitSetPeer::new(&snapshot, &candidates);
        assert_eq!(fixed.eval(), expected, "the fixedbitset peer agrees");
        group.bench_function("fixedbitset", |b| b.iter(|| black_box(&mut fixed).eval()));
        let roaring = RoaringPeer::new(&snapshot, &candidates);
        assert_eq!(
            roaring.eval().len() as usize,
            expected,
            "the roaring peer agrees"
        );
        group.bench_function("roaring", |b| b.iter(|| black_box(&roaring).eval().len()));
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
    for text in SEED_POLICIES.into_iter().chain(CHAINS) {
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
