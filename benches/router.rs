//! Decisions, per cluster size (DESIGN section 11): the cached router decision against the
//! memoised floor (a flat array of ids, one draw, one multiply-shift) and the ideal decision
//! (the best ideal evaluation plus one uniform pick); a decision evaluated afresh; and counting a
//! set with the CPU's best kernel against the default build's `count_ones`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark fails loudly on what it did not expect"
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tagroute::bench_support::{
    DATABASE, Ideal, IdealKernel, POLICY, POLICY_NAME, SIZES, service, topology,
};
use tagroute::rng::Rng;
use tagroute::router::Pick;
use tagroute::topology::{Snapshot, TagInterner};

fn decisions(c: &mut Criterion) {
    for servers in SIZES {
        let snapshot =
            Snapshot::build(&topology(servers), &TagInterner::new()).expect("valid workload");
        let mut ideal = Ideal::new(&snapshot, &snapshot.all(), IdealKernel::widest());
        ideal.eval();
        let mut floor = ideal.memo_floor(1);
        let router = service(snapshot.clone(), POLICY)
            .expect("compiles")
            .router();
        let (policy, db) = (
            router.policy(POLICY_NAME).expect("exists"),
            router.database(DATABASE).expect("exists"),
        );

        let mut group = c.benchmark_group(format!("decide/{servers}"));
        group.bench_function("memo-floor", |b| b.iter(|| black_box(&mut floor).decide()));
        let mut rng = Rng::seeded(1);
        group.bench_function("ideal", |b| {
            b.iter(|| black_box(&mut ideal).decide(&mut rng))
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
        // Evaluated afresh: the VM, then a count and a select over the selection.
        group.bench_function("router-excluding", |b| {
            b.iter(|| {
                decider
                    .decide_excluding(black_box(policy), black_box(&db), &[], Pick::Random)
                    .map(|d| d.index())
            })
        });
        group.finish();

        // Counting a set: the CPU's best kernel against the default build's `count_ones`.
        let all = snapshot.all();
        let mut group = c.benchmark_group(format!("count/{servers}"));
        group.bench_function("server-set-len", |b| b.iter(|| black_box(&all).len()));
        group.bench_function("count-ones-loop", |b| {
            b.iter(|| {
                let words = black_box(&all).words();
                words.iter().map(|w| w.count_ones() as usize).sum::<usize>()
            })
        });
        group.finish();
    }
}

criterion_group!(benches, decisions);
criterion_main!(benches);
