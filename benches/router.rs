//! Decisions: the ideal decision (ideal evaluation plus one uniform pick) against the cached
//! router decision, per cluster size (DESIGN section 11).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use tagroute::Strictness;
use tagroute::bench_support::{
    DATABASE, IdealRows, POLICY, SIZES, ideal_decision, topology, words,
};
use tagroute::config::RoutingSettings;
use tagroute::rng::Rng;
use tagroute::router::{Pick, Router};
use tagroute::routing::policies::{PolicyRegistry, PolicySource};
use tagroute::topology::{Snapshot, TagInterner, Topology};

fn decisions(c: &mut Criterion) {
    for servers in SIZES {
        let snapshot =
            Snapshot::build(&topology(servers), &TagInterner::new()).expect("valid workload");
        let row = |tag: &str| snapshot.tagged_by_name(tag).words().to_vec();
        let rows = IdealRows {
            north1: row("north1"),
            north2: row("north2"),
            north: row("north"),
        };
        let candidates = snapshot.all();
        let source = PolicySource::parse("bench", POLICY, Strictness::Strict).expect("valid");
        let topology = Arc::new(Topology::from_snapshot(snapshot.clone()));
        let policies =
            Arc::new(PolicyRegistry::new(&[source], topology.interner()).expect("compiles"));
        let router = Router::new(topology, policies, RoutingSettings::default());
        let (policy, db) = (
            router.policy("bench").expect("exists"),
            router.database(DATABASE),
        );

        let mut group = c.benchmark_group(format!("decide/{servers}"));
        let mut scratch = vec![0u64; words(servers)];
        let mut rng = Rng::seeded(1);
        group.bench_function("ideal", |b| {
            b.iter(|| {
                ideal_decision(
                    black_box(&rows),
                    black_box(candidates.words()),
                    &mut scratch,
                    &mut rng,
                )
            })
        });
        let mut decider = router.decider_seeded(1);
        group.bench_function("router", |b| {
            b.iter(|| {
                decider
                    .decide(black_box(policy), black_box(&db), Pick::Random)
                    .map(|d| d.index())
            })
        });
        group.bench_function("router-round-robin", |b| {
            b.iter(|| {
                decider
                    .decide(black_box(policy), black_box(&db), Pick::RoundRobin)
                    .map(|d| d.index())
            })
        });
        group.finish();
    }
}

criterion_group!(benches, decisions);
criterion_main!(benches);
